use std::path::{Path, PathBuf};

use statevault_schema::Violation;

/// Everything that can go wrong in a [`Store`](crate::Store): the superset of the layers'
/// errors, with the key and path added where the layer did not know them.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The file of `key` is damaged (checksum mismatch, truncation, not a format statevault
    /// reads). It was left exactly as it is.
    #[error("{key}: corrupt data in {}: {detail}", path.display())]
    Corrupt {
        /// The key.
        key: String,
        /// Its file.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
    /// The file of `key` is intact but does not decrypt: a wrong key, or tampering, or a file
    /// copied from another key or store.
    #[error("{key}: cannot decrypt {}: {source}", path.display())]
    Decrypt {
        /// The key.
        key: String,
        /// Its file.
        path: PathBuf,
        /// The codec's account.
        #[source]
        source: statevault_codec::Error,
    },
    /// The value does not match the schema of the document registered for its key. Nothing was
    /// written.
    #[error("{key}: {source}")]
    Validation {
        /// The key.
        key: String,
        /// Every violation, with its JSON pointer.
        #[source]
        source: statevault_schema::ValidationError,
    },
    /// The stored document is newer than this program understands; it is never overwritten by
    /// an older program unless the caller forces it.
    #[error(
        "{key}: stored version {stored} is newer than the {supported} this program supports; \
         upgrade the application to read it"
    )]
    NewerVersion {
        /// The key.
        key: String,
        /// The version in the file.
        stored: String,
        /// The newest version this program knows.
        supported: String,
    },
    /// A stored version string is not semver.
    #[error("{key}: stored version {stored:?} is not a semantic version")]
    BadVersion {
        /// The key.
        key: String,
        /// What the file says.
        stored: String,
    },
    /// Migrating the stored document to the current version failed; nothing was written.
    #[error("{key}: {source}")]
    Migration {
        /// The key.
        key: String,
        /// The failed step or missing path.
        #[source]
        source: Box<statevault_migrate::Error>,
    },
    /// The JSON in the file is well formed but is not the type asked for, or a value could not
    /// be serialized.
    #[error("{key}: {source}")]
    Serde {
        /// The key.
        key: String,
        /// What serde said.
        #[source]
        source: serde_json::Error,
    },
    /// JSON text handed to the store is not exactly one JSON value, or repeats a key in an
    /// object; nothing was written.
    #[error("{key}: invalid JSON: {source}")]
    InvalidJson {
        /// The key it was to be saved under.
        key: String,
        /// What is wrong, with its line and column.
        #[source]
        source: serde_json::Error,
    },
    /// The change was committed (it is durable and every read sees it) but its audit line could
    /// not be written. The line is kept and written before the next change's.
    #[error(
        "{}: the change is saved, but the audit log could not record it (retried with the next change): {source}",
        keys.join(", ")
    )]
    NotAudited {
        /// The keys the committed change wrote.
        keys: Vec<String>,
        /// Why the line could not be written.
        #[source]
        source: Box<Error>,
    },
    /// A patch (or an append) was given for a key that does not exist; nothing was written.
    #[error("{key}: no such key to patch")]
    KeyNotFound {
        /// The key.
        key: String,
    },
    /// An operation of a JSON Patch failed (a `test` that did not match, a path or `from`
    /// that does not exist); no operation of the patch was applied and nothing was written.
    #[error("{key}: the patch was not applied: {source}")]
    PatchFailed {
        /// The key.
        key: String,
        /// Which operation failed, and why.
        #[source]
        source: crate::patch::PatchError,
    },
    /// No document of that name is registered.
    #[error("no document called {name:?} is registered")]
    UnknownDocument {
        /// The name asked for.
        name: String,
    },
    /// A save would take the store past its quota; nothing was written.
    #[error(
        "saving {} would take the store to {needed} bytes, over its quota of {quota}",
        keys.join(", ")
    )]
    QuotaExceeded {
        /// The keys the refused change writes (one for a single save, each of a batch's).
        keys: Vec<String>,
        /// The size the store would have.
        needed: u64,
        /// The quota.
        quota: u64,
    },
    /// Encoding, keys or the keychain failed.
    #[error(transparent)]
    Codec(#[from] statevault_codec::Error),
    /// The storage engine failed (I/O, the writer lock, an invalid key, a full disk).
    #[error(transparent)]
    Core(#[from] statevault_core::Error),
    /// Registering a document or a migration failed.
    #[error(transparent)]
    Schema(#[from] statevault_schema::Error),
    /// Registering a migration failed.
    #[error(transparent)]
    Migrate(Box<statevault_migrate::Error>),
    /// A backup operation failed (a damaged snapshot, an unknown id, …).
    #[cfg(feature = "backup")]
    #[error(transparent)]
    Backup(Box<statevault_backup::Error>),
    /// The operation needs a layer this build of statevault leaves out (a Cargo feature that is
    /// off). Nothing was changed.
    #[error("{operation} needs the `{feature}` feature of statevault, which this build leaves out")]
    FeatureDisabled {
        /// The Cargo feature: `backup`, `schema`, `encryption` or `compression`.
        feature: &'static str,
        /// What was asked for.
        operation: String,
    },
}

#[cfg(feature = "backup")]
impl From<statevault_backup::Error> for Error {
    fn from(error: statevault_backup::Error) -> Error {
        Error::Backup(Box::new(error))
    }
}

impl From<statevault_migrate::Error> for Error {
    fn from(error: statevault_migrate::Error) -> Error {
        Error::Migrate(Box::new(error))
    }
}

/// What kind of failure an [`Error`] is: the one table by which callers classify errors.
///
/// The command line maps a kind to its exit status ([`ErrorKind::exit_status`]) and the Node
/// binding to its `code` string ([`ErrorKind::code`]); neither matches a layer's inner error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A backup, a key to patch (or another named thing) that does not exist.
    NotFound,
    /// The string is not a valid key; no path was built from it.
    InvalidKey,
    /// Input that is not what the operation takes: a malformed backup id, invalid options,
    /// a key twice in one batch.
    InvalidInput,
    /// A value does not match its document's schema; nothing was written.
    Validation,
    /// JSON text that is not exactly one JSON value, or repeats a key; nothing was written.
    InvalidJson,
    /// An operation of a JSON Patch failed; nothing was written.
    PatchFailed,
    /// Stored bytes are damaged: a key's file, the store's own files, a backup.
    Corrupt,
    /// Another process holds the store's writer lock.
    Locked,
    /// A save would take the store past its quota; nothing was written.
    Quota,
    /// Intact data that does not decrypt with the keys at hand.
    WrongKey,
    /// No encryption key can be had: none stored, or the keychain cannot be reached.
    KeyUnavailable,
    /// Data or a store written by a newer program than this one.
    NewerVersion,
    /// The folder is not a statevault store.
    NotAStore,
    /// The store was opened read-only.
    ReadOnly,
    /// A migration failed or no migration path exists.
    Migration,
    /// JSON that is well formed but not of the type asked for, or a value that cannot be
    /// serialized.
    Type,
    /// The disk is full; nothing was changed.
    NoSpace,
    /// Any other I/O failure, including a handle that refuses writes after a failed fsync.
    Io,
    /// The change was committed, but the audit log could not record it yet.
    NotAudited,
    /// The store was closed; nothing more can be done with that handle.
    Closed,
    /// The caller may not touch that key or operation (a renderer outside its allow list).
    Forbidden,
    /// The operation needs a Cargo feature this build leaves out; nothing was changed.
    FeatureDisabled,
    /// Everything else (registering documents or migrations, a failed random source, …).
    Other,
}

/// The one table: each kind with its binding code and its command-line exit status.
const KINDS: &[(ErrorKind, &str, u8)] = &[
    (ErrorKind::NotFound, "E_NOT_FOUND", 3),
    (ErrorKind::InvalidKey, "E_INVALID_KEY", 2),
    (ErrorKind::InvalidInput, "E_INVALID_INPUT", 2),
    (ErrorKind::Validation, "E_VALIDATION", 4),
    (ErrorKind::InvalidJson, "E_INVALID_JSON", 4),
    (ErrorKind::PatchFailed, "E_PATCH", 4),
    (ErrorKind::Corrupt, "E_CORRUPT", 5),
    (ErrorKind::Locked, "E_LOCKED", 6),
    (ErrorKind::Quota, "E_QUOTA", 7),
    (ErrorKind::WrongKey, "E_WRONG_KEY", 8),
    (ErrorKind::KeyUnavailable, "E_KEY_UNAVAILABLE", 8),
    (ErrorKind::NewerVersion, "E_NEWER_VERSION", 1),
    (ErrorKind::NotAStore, "E_NOT_A_STORE", 1),
    (ErrorKind::ReadOnly, "E_READ_ONLY", 1),
    (ErrorKind::Migration, "E_MIGRATION", 1),
    (ErrorKind::Type, "E_TYPE", 1),
    (ErrorKind::NoSpace, "E_NO_SPACE", 1),
    (ErrorKind::Io, "E_IO", 1),
    (ErrorKind::NotAudited, "E_NOT_AUDITED", 1),
    (ErrorKind::Closed, "E_CLOSED", 1),
    (ErrorKind::Forbidden, "E_FORBIDDEN", 1),
    (ErrorKind::FeatureDisabled, "E_FEATURE_DISABLED", 1),
    (ErrorKind::Other, "E_OTHER", 1),
];

impl ErrorKind {
    fn row(self) -> &'static (ErrorKind, &'static str, u8) {
        KINDS
            .iter()
            .find(|(kind, _, _)| *kind == self)
            .expect("every kind has a row in KINDS")
    }

    /// The stable code of this kind, such as `E_CORRUPT`: what the Node binding puts in an
    /// error's `code`.
    pub fn code(self) -> &'static str {
        self.row().1
    }

    /// The `statevault` command line's exit status for this kind (1 for kinds without one of
    /// their own).
    pub fn exit_status(self) -> u8 {
        self.row().2
    }
}

impl Error {
    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        #[cfg(feature = "backup")]
        use statevault_backup::Error as Backup;
        match self {
            Error::Corrupt { .. } => ErrorKind::Corrupt,
            Error::Decrypt { source, .. } => codec_kind(source),
            Error::Validation { .. } => ErrorKind::Validation,
            Error::NewerVersion { .. } => ErrorKind::NewerVersion,
            Error::BadVersion { .. } => ErrorKind::Corrupt,
            Error::Migration { .. } | Error::Migrate(_) => ErrorKind::Migration,
            Error::Serde { .. } => ErrorKind::Type,
            Error::InvalidJson { .. } => ErrorKind::InvalidJson,
            Error::KeyNotFound { .. } => ErrorKind::NotFound,
            Error::PatchFailed { .. } => ErrorKind::PatchFailed,
            Error::NotAudited { .. } => ErrorKind::NotAudited,
            Error::UnknownDocument { .. } => ErrorKind::NotFound,
            Error::QuotaExceeded { .. } => ErrorKind::Quota,
            Error::Codec(codec) => codec_kind(codec),
            Error::Core(core) => core_kind(core),
            Error::Schema(_) => ErrorKind::Other,
            Error::FeatureDisabled { .. } => ErrorKind::FeatureDisabled,
            #[cfg(feature = "backup")]
            Error::Backup(backup) => match backup.as_ref() {
                Backup::NotFound { .. } => ErrorKind::NotFound,
                Backup::InvalidId { .. } => ErrorKind::InvalidInput,
                Backup::Damaged { .. } | Backup::ObjectMismatch { .. } => ErrorKind::Corrupt,
                Backup::NewerFormat { .. } => ErrorKind::NewerVersion,
                Backup::Core(core) => core_kind(core),
                Backup::Write(_) => ErrorKind::Io,
                _ => ErrorKind::Other,
            },
        }
    }

    /// The key the error is about, where there is one.
    pub fn key(&self) -> Option<&str> {
        match self {
            Error::Corrupt { key, .. }
            | Error::Decrypt { key, .. }
            | Error::Validation { key, .. }
            | Error::NewerVersion { key, .. }
            | Error::BadVersion { key, .. }
            | Error::Migration { key, .. }
            | Error::Serde { key, .. }
            | Error::InvalidJson { key, .. }
            | Error::KeyNotFound { key }
            | Error::PatchFailed { key, .. } => Some(key),
            Error::QuotaExceeded { keys, .. } | Error::NotAudited { keys, .. } => {
                keys.first().map(String::as_str)
            }
            Error::Core(statevault_core::Error::InvalidKey { key, .. }) => Some(key),
            Error::Core(
                statevault_core::Error::DuplicateInBatch { key }
                | statevault_core::Error::NothingToAmend { key }
                | statevault_core::Error::Fold { key, .. },
            ) => Some(key.as_str()),
            _ => None,
        }
    }

    /// The file or folder the error is about, where there is one.
    pub fn path(&self) -> Option<&Path> {
        match self {
            Error::Corrupt { path, .. } | Error::Decrypt { path, .. } => Some(path),
            Error::Core(error) => core_path(error),
            #[cfg(feature = "backup")]
            Error::Backup(backup) => match backup.as_ref() {
                statevault_backup::Error::Core(error) => core_path(error),
                _ => None,
            },
            _ => None,
        }
    }

    /// The index (from 0) of the operation of a patch that failed, for an
    /// [`ErrorKind::PatchFailed`] error.
    pub fn patch_operation(&self) -> Option<usize> {
        match self {
            Error::PatchFailed { source, .. } => Some(source.index),
            _ => None,
        }
    }

    /// Every schema violation, for a [`ErrorKind::Validation`] error.
    pub fn violations(&self) -> &[Violation] {
        match self {
            Error::Validation { source, .. } => &source.violations,
            _ => &[],
        }
    }
}

fn core_path(error: &statevault_core::Error) -> Option<&Path> {
    use statevault_core::Error as Core;
    match error {
        Core::Locked { dir }
        | Core::NewerStoreFormat { dir, .. }
        | Core::Poisoned { dir }
        | Core::ReadOnly { dir }
        | Core::NotAStore { dir } => Some(dir),
        Core::NoSpace { path, .. }
        | Core::Io { path, .. }
        | Core::CorruptMetadata { path, .. }
        | Core::Symlink { path } => Some(path),
        _ => None,
    }
}

fn core_kind(error: &statevault_core::Error) -> ErrorKind {
    use statevault_core::Error as Core;
    match error {
        Core::InvalidKey { .. } => ErrorKind::InvalidKey,
        Core::Locked { .. } => ErrorKind::Locked,
        Core::NoSpace { .. } => ErrorKind::NoSpace,
        Core::NewerStoreFormat { .. } => ErrorKind::NewerVersion,
        // A link planted inside the store's folder: the folder is not as statevault keeps it.
        Core::CorruptMetadata { .. } | Core::Symlink { .. } => ErrorKind::Corrupt,
        Core::ReadOnly { .. } => ErrorKind::ReadOnly,
        Core::DuplicateInBatch { .. } => ErrorKind::InvalidInput,
        Core::NotAStore { .. } => ErrorKind::NotAStore,
        Core::NothingToAmend { .. } => ErrorKind::NotFound,
        // The key's file or a patch the journal holds does not read.
        Core::Fold { .. } => ErrorKind::Corrupt,
        Core::Io { .. } | Core::Poisoned { .. } => ErrorKind::Io,
        _ => ErrorKind::Other,
    }
}

fn codec_kind(error: &statevault_codec::Error) -> ErrorKind {
    use statevault_codec::Error as Codec;
    match error {
        Codec::Corrupt { .. } | Codec::TooLarge { .. } => ErrorKind::Corrupt,
        Codec::Decrypt { .. } | Codec::UnknownKey { .. } => ErrorKind::WrongKey,
        Codec::NoKey | Codec::Keychain { .. } => ErrorKind::KeyUnavailable,
        Codec::UnsupportedVersion { .. } => ErrorKind::NewerVersion,
        Codec::KeyFormat { .. } => ErrorKind::Corrupt,
        Codec::InvalidInput { .. } => ErrorKind::InvalidInput,
        Codec::Io { .. } => ErrorKind::Io,
        Codec::FeatureDisabled { .. } => ErrorKind::FeatureDisabled,
        _ => ErrorKind::Other,
    }
}

/// The result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_one_row_and_a_code_of_its_own() {
        let codes: std::collections::BTreeSet<_> = KINDS.iter().map(|(_, code, _)| code).collect();
        assert_eq!(codes.len(), KINDS.len(), "codes are unique");
        for (kind, code, status) in KINDS {
            assert_eq!(KINDS.iter().filter(|(k, _, _)| k == kind).count(), 1);
            assert_eq!(kind.code(), *code);
            assert_eq!(kind.exit_status(), *status);
            assert!(code.starts_with("E_"));
        }
    }

    #[test]
    fn a_locked_store_is_locked_whatever_layer_reports_it() {
        let locked = || statevault_core::Error::Locked { dir: "/s".into() };
        assert_eq!(Error::Core(locked()).kind(), ErrorKind::Locked);
        #[cfg(feature = "backup")]
        {
            let via_backup = Error::from(statevault_backup::Error::Core(locked()));
            assert_eq!(via_backup.kind(), ErrorKind::Locked);
            assert_eq!(via_backup.path(), Some(Path::new("/s")));
        }
        assert_eq!(ErrorKind::Locked.code(), "E_LOCKED");
        assert_eq!(ErrorKind::Locked.exit_status(), 6);
    }
}
