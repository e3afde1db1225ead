//! Full backups written by the application's earlier TypeScript service.
//!
//! `createBackup(name)` wrote `backups/manual/<name or backup_<ms>>.json`, pretty-printed:
//! `{"version":"1.0.0","timestamp":<ms>,"type":"full","data":{<key>: <value>, …}}`, where `data`
//! maps each key (`layout.default`) to its value as the app saw it (no envelope). There is no
//! checksum, so damage that leaves valid JSON is not detectable.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::{Map, Value};
use statevault_core::{Key, Storage};

use crate::MANUAL_DIR;
use crate::error::{Error, Result};
use crate::id::BackupId;

/// A parsed legacy backup.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct LegacyBackup {
    pub timestamp: u64,
    pub entries: Vec<(Key, Value)>,
}

#[derive(Deserialize)]
struct Wire {
    version: String,
    timestamp: u64,
    #[serde(rename = "type")]
    kind: String,
    data: Map<String, Value>,
}

/// Parses a legacy backup file; anything unexpected is [`Error::Damaged`].
pub(crate) fn parse(id: &str, bytes: &[u8]) -> Result<LegacyBackup> {
    let damaged = |detail: String| Error::damaged(id, detail);
    let wire: Wire =
        serde_json::from_slice(bytes).map_err(|e| damaged(format!("legacy backup: {e}")))?;
    if wire.version.is_empty() {
        return Err(damaged("legacy backup: empty version".into()));
    }
    if wire.kind != "full" {
        return Err(damaged(format!(
            "legacy backup of type {:?}: only \"full\" backups are understood",
            wire.kind
        )));
    }
    let mut entries = Vec::with_capacity(wire.data.len());
    for (key, value) in wire.data {
        let key = Key::parse(&key)
            .map_err(|e| damaged(format!("legacy backup: {key:?} is not a key: {e}")))?;
        entries.push((key, value));
    }
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(LegacyBackup {
        timestamp: wire.timestamp,
        entries,
    })
}

/// `backups/manual/<id>.json`.
pub(crate) fn path(id: &BackupId) -> PathBuf {
    Path::new(MANUAL_DIR).join(format!("{id}.json"))
}

/// The bytes of the legacy backup `id`.
pub(crate) fn read(storage: &Storage, id: &BackupId) -> Result<Vec<u8>> {
    storage
        .files()
        .read_file(&path(id))?
        .ok_or_else(|| Error::NotFound { id: id.to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expected: std::result::Result<Vec<&str>, &str>) {
        match (parse("b", input.as_bytes()), expected) {
            (Ok(backup), Ok(keys)) => {
                let got: Vec<&str> = backup.entries.iter().map(|(k, _)| k.as_str()).collect();
                assert_eq!(got, keys, "{input}");
            }
            (Err(Error::Damaged { detail, .. }), Err(needle)) => {
                assert!(detail.contains(needle), "{detail:?} lacks {needle:?}")
            }
            (got, want) => panic!("{input}: got {got:?}, want {want:?}"),
        }
    }

    #[test]
    fn legacy_files() {
        let full = r#"{"version":"1.0.0","timestamp":1759741200000,"type":"full","data":
            {"settings.preferences":{"theme":"dark"},"layout.default":{"version":"1.0.0"}}}"#;
        check(full, Ok(vec!["layout.default", "settings.preferences"]));
        check(
            r#"{"version":"1.0.0","timestamp":1,"type":"full","data":{}}"#,
            Ok(vec![]),
        );
        check(
            r#"{"version":"1.0.0","timestamp":1,"type":"partial","data":{}}"#,
            Err("only \"full\""),
        );
        check(
            r#"{"version":"1.0.0","timestamp":1,"type":"full","data":{"../x":1}}"#,
            Err("is not a key"),
        );
        check(
            r#"{"version":"1.0.0","timestamp":-1,"type":"full","data":{}}"#,
            Err("legacy backup"),
        );
        check(
            r#"{"version":"1.0.0","timestamp":1,"type":"full"}"#,
            Err("missing field"),
        );
        check(
            r#"{"version":"","timestamp":1,"type":"full","data":{}}"#,
            Err("empty version"),
        );
        check("", Err("legacy backup"));
        check("[]", Err("legacy backup"));
    }
}
