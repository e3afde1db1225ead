//! The wire types of the module specification's `StatePersistenceAPI`, shared by the facade (which
//! accepts them) and the generated TypeScript (which produces them).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::builtin::MAX_SAFE_INTEGER;

/// A statevault key (`docs/ARCHITECTURE.md`, "The data directory"): dot-separated segments `[a-z0-9][a-z0-9_-]{0,63}`, at least two.
/// The store applies further rules (length, reserved namespaces); this is the shape only.
const KEY_PATTERN: &str = r"^[a-z0-9][a-z0-9_-]{0,63}(\.[a-z0-9][a-z0-9_-]{0,63})+$";

/// How one value is saved. Each option left out takes the store's default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SaveOptions {
    /// Encrypt the value at rest with the store's key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "bool")]
    pub encrypt: Option<bool>,
    /// Compress the value (gzip). Named `compression` on the wire, as in the module
    /// specification; `compress` is accepted when reading.
    #[serde(
        default,
        rename = "compression",
        alias = "compress",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(with = "bool")]
    pub compress: Option<bool>,
    /// Take an automatic backup of the old value before overwriting it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "bool")]
    pub backup: Option<bool>,
}

/// One operation of an all-or-nothing batch.
///
/// The module specification types `data` as optional on both operations; here a save carries its
/// data and a delete carries none, so a malformed batch is refused before anything is written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
pub enum BatchOperation {
    /// Save `data` under `key`.
    Save {
        /// Target key.
        #[schemars(pattern(KEY_PATTERN), length(max = 255))]
        key: String,
        /// The value (JSON).
        data: Value,
        /// How to save it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schemars(with = "SaveOptions")]
        options: Option<SaveOptions>,
    },
    /// Delete `key` (nothing happens when it does not exist).
    Delete {
        /// Target key.
        #[schemars(pattern(KEY_PATTERN), length(max = 255))]
        key: String,
    },
    /// Apply an RFC 6902 JSON Patch to the value of `key` (which must exist).
    Patch {
        /// Target key.
        #[schemars(pattern(KEY_PATTERN), length(max = 255))]
        key: String,
        /// The operations, applied in order, all or none.
        patch: Vec<PatchOperation>,
    },
}

/// One operation of an RFC 6902 JSON Patch. Paths are JSON pointers (RFC 6901); `-` as the last
/// token of an `add`'s path appends to an array.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "op", rename_all = "lowercase")]
pub enum PatchOperation {
    /// Add `value` at `path` (insert into an array, set an object member).
    Add {
        /// Where.
        path: String,
        /// The value (JSON).
        value: Value,
    },
    /// Remove the value at `path`.
    Remove {
        /// Where.
        path: String,
    },
    /// Replace the value at `path` (which must exist) with `value`.
    Replace {
        /// Where.
        path: String,
        /// The value (JSON).
        value: Value,
    },
    /// Move the value at `from` to `path`.
    Move {
        /// From where.
        from: String,
        /// To where.
        path: String,
    },
    /// Copy the value at `from` to `path`.
    Copy {
        /// From where.
        from: String,
        /// To where.
        path: String,
    },
    /// Check that the value at `path` equals `value`; the whole patch fails if not.
    Test {
        /// Where.
        path: String,
        /// The value expected (JSON).
        value: Value,
    },
}

/// A backup (snapshot) as `listBackups` reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BackupInfo {
    /// Snapshot id, as `restoreBackup` takes it.
    #[schemars(length(min = 1))]
    pub id: String,
    /// Name given when it was created; `""` when none was given.
    pub name: String,
    /// When it was taken, in milliseconds since the Unix epoch.
    #[schemars(range(max = MAX_SAFE_INTEGER))]
    pub timestamp: u64,
    /// Total size of the files it holds, in bytes.
    #[schemars(range(max = MAX_SAFE_INTEGER))]
    pub size: u64,
    /// Whether any file in it is compressed.
    pub compressed: bool,
    /// Whether any file in it is encrypted.
    pub encrypted: bool,
    /// Who made it.
    pub kind: BackupKind,
    /// Number of files (keys) it holds.
    #[schemars(range(max = MAX_SAFE_INTEGER))]
    pub file_count: u64,
}

/// Who made a backup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum BackupKind {
    /// Asked for by the user or the application (`createBackup`).
    Manual,
    /// Taken by the store before an overwrite, a migration or a restore.
    Auto,
}
