//! The one error type of this crate.

/// A boxed error from a caller's callback (the facade's codec, in practice).
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Everything that can go wrong in `statevault-backup`.
///
/// Every variant says which backup it concerns; a damaged backup is always reported, never
/// silently skipped or repaired.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No backup has this id.
    #[error("no backup with id {id:?}")]
    NotFound {
        /// The id asked for.
        id: String,
    },
    /// The text is not a backup id (ids are names, never paths).
    #[error("invalid backup id {id:?}: {reason}")]
    InvalidId {
        /// The rejected text.
        id: String,
        /// Why it was rejected.
        reason: &'static str,
    },
    /// A manifest, legacy backup file or archive is damaged: it does not parse, its checksum
    /// does not match, or it contradicts itself.
    #[error("backup {id} is damaged: {detail}")]
    Damaged {
        /// The backup (or, for an archive, `"archive"`).
        id: String,
        /// What is wrong.
        detail: String,
    },
    /// An object a snapshot needs does not hold the bytes the manifest names.
    #[error(
        "backup {id} is damaged: the copy of {key} should have BLAKE3 {expected} but has {found}"
    )]
    ObjectMismatch {
        /// The snapshot.
        id: String,
        /// The key whose copy is damaged.
        key: String,
        /// The hash (and size) the manifest records.
        expected: String,
        /// What the object holds (a hash and size, or `missing`).
        found: String,
    },
    /// The options ask for something this crate does not do.
    #[error("invalid backup options: {reason}")]
    InvalidOptions {
        /// What is wrong.
        reason: &'static str,
    },
    /// The operation changes the store, and this handle does not hold the writer lock.
    #[error("backups can only be changed by the process that holds the store's writer lock")]
    NotWriter,
    /// A legacy backup holds values, not files: restore it with `restore_legacy`, which
    /// encodes them.
    #[error(
        "backup {id} was written by the earlier TypeScript service; its values must be encoded \
         before they are restored"
    )]
    LegacyNeedsEncoding {
        /// The legacy backup.
        id: String,
    },
    /// A manifest or archive was written by a newer statevault.
    #[error(
        "{what} has format {found}, newer than the {supported} this program supports; upgrade \
         statevault to read it"
    )]
    NewerFormat {
        /// Which kind of file.
        what: &'static str,
        /// The format found.
        found: u64,
        /// The newest format this build reads.
        supported: u64,
    },
    /// The caller's transform or encoder failed for a key.
    #[error("could not transform the value of {key}: {source}")]
    Transform {
        /// The key.
        key: String,
        /// The callback's error.
        #[source]
        source: BoxError,
    },
    /// Writing the archive to its destination failed.
    #[error("could not write the archive: {0}")]
    Write(#[source] std::io::Error),
    /// The storage engine failed (I/O, full disk, lock, read-only handle).
    #[error(transparent)]
    Core(#[from] statevault_core::Error),
}

/// The result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn damaged(id: impl Into<String>, detail: impl Into<String>) -> Error {
        Error::Damaged {
            id: id.into(),
            detail: detail.into(),
        }
    }
}

/// A core I/O error: the operation, the path, the cause.
pub(crate) fn io_error(
    op: &'static str,
    path: impl Into<std::path::PathBuf>,
    source: std::io::Error,
) -> Error {
    Error::Core(statevault_core::Error::Io {
        op,
        path: path.into(),
        source,
    })
}
