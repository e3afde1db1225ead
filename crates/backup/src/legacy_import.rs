//! A legacy backup turned into a snapshot: its values read for the facade to encode, and
//! stored as a manual snapshot.

use std::borrow::Cow;

use statevault_core::Key;

use crate::error::{Error, Result};
use crate::id::{BackupId, BackupKind};
use crate::legacy;
use crate::snapshot::{BackupInfo, Backups, Classify, Encode, FileSet, Location};

impl Backups<'_> {
    /// The values of a legacy backup (`backups/manual/<id>.json`), sorted by key, for the
    /// facade to encode; see [`Backups::import_legacy`].
    pub fn read_legacy(&self, id: &BackupId) -> Result<Vec<(Key, serde_json::Value)>> {
        if self.locate(id)? != Location::Legacy {
            return Err(Error::NotFound { id: id.to_string() });
        }
        let bytes = legacy::read(self.storage, id)?;
        Ok(legacy::parse(id.as_str(), &bytes)?.entries)
    }

    /// Turns a legacy backup into a manual snapshot (whole-store scope) that
    /// [`Backups::restore`] and [`Backups::export`] then handle like any other. `encode`
    /// makes a key's file from its value (the facade's codec); `classify` flags the result.
    /// The legacy file is left as it is.
    pub fn import_legacy(
        &self,
        id: &BackupId,
        encode: Encode<'_>,
        classify: Classify<'_>,
    ) -> Result<BackupInfo> {
        let _lock = self.begin_write()?;
        let values = self.read_legacy(id)?;
        let mut files = FileSet::default();
        for (key, value) in values {
            let bytes = encode(&key, &value).map_err(|source| Error::Transform {
                key: key.to_string(),
                source,
            })?;
            files.add(key, Cow::Owned(bytes), classify);
        }
        self.write_snapshot(
            files,
            BackupKind::Manual,
            Some(id.to_string()),
            Some(format!("imported from legacy backup {id}")),
            None,
            &|_| {},
        )
    }
}
