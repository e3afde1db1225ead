use std::path::PathBuf;

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
    /// No document of that name is registered.
    #[error("no document called {name:?} is registered")]
    UnknownDocument {
        /// The name asked for.
        name: String,
    },
    /// A save would take the store past its quota; nothing was written.
    #[error("saving {key} would take the store to {needed} bytes, over its quota of {quota}")]
    QuotaExceeded {
        /// The key.
        key: String,
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
    #[error(transparent)]
    Backup(Box<statevault_backup::Error>),
}

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

/// The result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
