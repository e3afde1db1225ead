//! Automatic backups of the application's earlier TypeScript service: before an overwrite with
//! `backup: true` it wrote `backups/auto/<key>_<ms>.json`, the key's old value as the app saw it
//! (pretty-printed JSON, no envelope, no checksum). They are listed beside the snapshots and
//! restored by turning one into a manual snapshot scoped to its key.

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use serde_json::Value;
use statevault_core::Key;

use crate::error::{Error, Result};
use crate::id::{BackupId, BackupKind};
use crate::snapshot::{BackupInfo, Backups, Classify, Encode, FileSet};
use crate::{AUTO_DIR, MANUAL_DIR};

/// The key and time a legacy automatic backup's file stem names: `<key>_<ms>`.
fn key_and_time(stem: &str) -> Option<(Key, u64)> {
    let (key, ms) = stem.rsplit_once('_')?;
    if ms.is_empty() || !ms.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((Key::parse(key).ok()?, ms.parse().ok()?))
}

fn path(id: &BackupId) -> PathBuf {
    Path::new(AUTO_DIR).join(format!("{id}.json"))
}

impl Backups<'_> {
    /// Every automatic backup the legacy service left in `backups/auto/`, as
    /// [`BackupKind::Legacy`] backups of one key each (one that does not parse has
    /// [`BackupInfo::damaged`] set), in no particular order.
    pub fn list_legacy_auto(&self) -> Result<Vec<BackupInfo>> {
        let mut found = Vec::new();
        for entry in self.storage.files().list_dir(Path::new(AUTO_DIR))? {
            let Some(stem) = entry.name.strip_suffix(".json") else {
                continue;
            };
            if !entry.is_file || stem.ends_with(".manifest") {
                continue;
            }
            let (Some((_, timestamp)), Ok(id)) = (key_and_time(stem), BackupId::parse(stem)) else {
                continue;
            };
            let (size, damaged) = match self.read_legacy_auto(&id) {
                Ok((_, _, size)) => (size, None),
                Err(e) => (0, Some(e.to_string())),
            };
            found.push(BackupInfo {
                id,
                name: None,
                kind: BackupKind::Legacy,
                reason: Some("automatic backup of the earlier service".to_owned()),
                timestamp,
                size,
                file_count: usize::from(damaged.is_none()),
                compressed: false,
                encrypted: false,
                damaged,
            });
        }
        Ok(found)
    }

    /// Whether `id` names an automatic backup of the legacy service (and no manual one of the
    /// same name, which takes precedence).
    pub fn is_legacy_auto(&self, id: &BackupId) -> Result<bool> {
        if key_and_time(id.as_str()).is_none() {
            return Ok(false);
        }
        let manual = Path::new(MANUAL_DIR).join(format!("{id}.json"));
        Ok(self.file_meta(&manual)?.is_none()
            && self.file_meta(&path(id))?.is_some_and(|m| !m.is_dir))
    }

    /// The key, value and file size of the legacy automatic backup `id`.
    fn read_legacy_auto(&self, id: &BackupId) -> Result<(Key, Value, u64)> {
        let (key, _) =
            key_and_time(id.as_str()).ok_or_else(|| Error::NotFound { id: id.to_string() })?;
        let bytes = self
            .storage
            .files()
            .read_file(&path(id))?
            .ok_or_else(|| Error::NotFound { id: id.to_string() })?;
        let value: Value = serde_json::from_slice(&bytes)
            .map_err(|e| Error::damaged(id.as_str(), format!("legacy automatic backup: {e}")))?;
        Ok((key, value, bytes.len() as u64))
    }

    /// Turns the legacy automatic backup `id` into a manual snapshot of its one key (scoped to
    /// that key, so restoring it changes no other key). `encode` makes the key's file from the
    /// value (the facade's codec); `classify` flags it. The legacy file is left as it is.
    pub fn import_legacy_auto(
        &self,
        id: &BackupId,
        encode: Encode<'_>,
        classify: Classify<'_>,
    ) -> Result<BackupInfo> {
        let _lock = self.begin_write()?;
        let (key, value, _) = self.read_legacy_auto(id)?;
        let bytes = encode(&key, &value).map_err(|source| Error::Transform {
            key: key.to_string(),
            source,
        })?;
        let mut files = FileSet::default();
        files.add(key.clone(), Cow::Owned(bytes), classify);
        self.write_snapshot(
            files,
            BackupKind::Manual,
            Some(id.to_string()),
            Some(format!("imported from legacy automatic backup {id}")),
            Some(vec![key]),
            &|_| {},
        )
    }
}

#[cfg(test)]
mod tests {
    use super::key_and_time;

    #[test]
    fn file_stems_name_a_key_and_a_time() {
        let check = |stem: &str, expected: Option<(&str, u64)>| {
            let got = key_and_time(stem).map(|(k, t)| (k.to_string(), t));
            assert_eq!(got, expected.map(|(k, t)| (k.to_owned(), t)), "{stem}");
        };
        check(
            "layout.default_1732000004000",
            Some(("layout.default", 1_732_000_004_000)),
        );
        check(
            "settings.key_bindings_17",
            Some(("settings.key_bindings", 17)),
        );
        check("backup_1732000003000", None);
        check("layout.default_", None);
        check("layout.default_12a", None);
        check("legacy-looking", None);
        check("Layout.default_1", None);
    }
}
