//! Checking the store without changing it: every key's health, and what a file says about
//! itself.

use serde::Serialize;
use serde_json::Value;
use statevault_codec as codec;
use statevault_core::Key;

use crate::Store;
use crate::error::{Error, Result};
use crate::format::FileFormat;
use crate::key::parse_key;

/// A key's file as [`Store::inspect`] describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyInfo {
    /// The key.
    pub key: String,
    /// Bytes on disk.
    pub size: u64,
    /// How the file is stored ([`FileFormat::Unreadable`] when its header cannot be read).
    pub format: FileFormat,
    /// The schema version the file declares.
    pub schema_version: Option<String>,
    /// When it was saved (milliseconds since the Unix epoch), as the file declares.
    pub saved_at: Option<u64>,
    /// The encryption key id, for an encrypted file.
    pub key_id: Option<u32>,
    /// Whether the checksum matches (legacy files have none and count as intact).
    pub intact: bool,
    /// Whether the value is committed in the journal and not yet checkpointed into the key's
    /// file (the file still holds the previous value).
    pub pending: bool,
}

/// The outcome of checking one key with [`Store::verify`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyReport {
    /// The key.
    pub key: String,
    /// What was found.
    #[serde(flatten)]
    pub status: KeyStatus,
}

/// The state of one key's file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
#[non_exhaustive]
pub enum KeyStatus {
    /// Intact, decodes, and (for a registered key) valid at the current version.
    Ok {
        /// How the file is stored.
        format: FileFormat,
    },
    /// Intact, but older than the current version; the next load migrates it.
    NeedsMigration {
        /// The stored version.
        stored: String,
        /// The current version.
        current: String,
    },
    /// The bytes are damaged.
    Corrupt {
        /// What is wrong.
        detail: String,
    },
    /// Intact but does not decrypt (wrong or missing key, tampering).
    Undecryptable {
        /// What the codec said.
        detail: String,
    },
    /// Decodes, but does not match its schema (or cannot be migrated to it).
    Invalid {
        /// Every violation, or the failed migration.
        detail: String,
    },
    /// Could not be checked: the keychain or the disk failed.
    Unreadable {
        /// What failed.
        detail: String,
    },
    /// Written by a newer program.
    Newer {
        /// The stored version.
        stored: String,
    },
    /// Not a key: a journal file the writer's recovery found damaged and kept as
    /// `<sequence>.wal.damaged` ([`Store::quarantined_journals`]); the report's `key` is its
    /// path inside the store. Committed batches from the damage on were never applied.
    QuarantinedJournal {
        /// What it means.
        detail: String,
    },
}

impl KeyStatus {
    /// Whether the key is healthy (intact and readable now or after migration).
    pub fn is_ok(&self) -> bool {
        matches!(
            self,
            KeyStatus::Ok { .. } | KeyStatus::NeedsMigration { .. }
        )
    }
}

impl Store {
    /// Checks every key: checksum, decryption where a key is available, version, schema; then
    /// reports each quarantined journal file ([`KeyStatus::QuarantinedJournal`]). Nothing is
    /// changed.
    pub fn verify(&self) -> Result<Vec<KeyReport>> {
        self.verify_with_progress(&|_, _| {})
    }

    /// [`Store::verify`], calling `progress(done, total)` after each key (for a progress bar).
    pub fn verify_with_progress(&self, progress: &dyn Fn(u64, u64)) -> Result<Vec<KeyReport>> {
        let mut reports = Vec::new();
        self.each_stored(self.storage().list("")?, progress, |key, bytes| {
            let status = self.check(&key, &bytes);
            reports.push(KeyReport {
                key: key.to_string(),
                status,
            });
            Ok(())
        })?;
        for path in self.quarantined_journals()? {
            let relative = path.strip_prefix(self.storage().root()).unwrap_or(&path);
            reports.push(KeyReport {
                key: relative.to_string_lossy().replace('\\', "/"),
                status: KeyStatus::QuarantinedJournal {
                    detail: "a damaged journal file: the committed batches from the damage on \
                             were never applied"
                        .to_owned(),
                },
            });
        }
        Ok(reports)
    }

    /// The journal files the writer's recovery found damaged and kept as
    /// `.statevault/journal/<sequence>.wal.damaged` (absolute paths, oldest first). Each
    /// holds committed batches that were never applied; they stay until removed by hand.
    pub fn quarantined_journals(&self) -> Result<Vec<std::path::PathBuf>> {
        Ok(self.storage().quarantined_journals()?)
    }

    /// What a key's file says about itself, read from its header without keys: format, size,
    /// schema version, save time, key id. `None` if the key does not exist.
    pub fn inspect(&self, key: &str) -> Result<Option<KeyInfo>> {
        let key = parse_key(key)?;
        let Some(bytes) = self.storage().read(&key)? else {
            return Ok(None);
        };
        let size = bytes.len() as u64;
        let pending = self.storage().is_pending(&key)?;
        Ok(Some(match codec::inspect(&bytes) {
            Ok(inspected) => KeyInfo {
                key: key.to_string(),
                size,
                format: FileFormat::from(&inspected.format),
                schema_version: Some(inspected.meta.schema_version),
                saved_at: Some(inspected.meta.saved_at_ms),
                key_id: inspected.format.key_id().map(|id| id.0),
                intact: inspected.checksum_ok != Some(false),
                pending,
            },
            Err(_) => KeyInfo {
                key: key.to_string(),
                size,
                format: FileFormat::Unreadable,
                schema_version: None,
                saved_at: None,
                key_id: None,
                intact: false,
                pending,
            },
        }))
    }

    /// The health of one key's bytes.
    fn check(&self, key: &Key, bytes: &[u8]) -> KeyStatus {
        let decoded = match self.pipeline().decode_file(key, bytes) {
            Ok(decoded) => decoded,
            Err(Error::Corrupt { detail, .. }) => return KeyStatus::Corrupt { detail },
            Err(e @ Error::Decrypt { .. }) => {
                return KeyStatus::Undecryptable {
                    detail: e.to_string(),
                };
            }
            Err(e) => {
                return KeyStatus::Unreadable {
                    detail: e.to_string(),
                };
            }
        };
        let format = FileFormat::from(&decoded.format);
        let Some(document) = self.pipeline().document(key) else {
            return KeyStatus::Ok { format };
        };
        let value: Value = match serde_json::from_slice(&decoded.data) {
            Ok(value) => value,
            Err(e) => {
                return KeyStatus::Corrupt {
                    detail: e.to_string(),
                };
            }
        };
        match self.pipeline().upgrade(key, document, value, &decoded.meta) {
            Ok((_, None)) => KeyStatus::Ok { format },
            Ok((_, Some(stored))) => KeyStatus::NeedsMigration {
                stored: stored.to_string(),
                current: document.version().to_string(),
            },
            Err(Error::NewerVersion { stored, .. }) => KeyStatus::Newer { stored },
            Err(e) => KeyStatus::Invalid {
                detail: e.to_string(),
            },
        }
    }
}
