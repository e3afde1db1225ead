use std::io;
use std::path::PathBuf;

use crate::backend::LinkRefused;
use crate::key::{Key, KeyError};

/// Everything that can go wrong in `statevault-core`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The string is not a valid key; no path was built from it.
    #[error("invalid key {key:?}: {reason}")]
    InvalidKey {
        /// The rejected string.
        key: String,
        /// Why it was rejected.
        reason: KeyError,
    },
    /// Another process holds the store's writer lock.
    #[error(
        "the store at {} is locked by another process (only one process may write a store at a time)",
        dir.display()
    )]
    Locked {
        /// The store's folder.
        dir: PathBuf,
    },
    /// The disk (or quota of the file system) is full; nothing was changed.
    #[error("no space left on the device while trying to {op} {}", path.display())]
    NoSpace {
        /// What was being done.
        op: &'static str,
        /// The file or folder involved.
        path: PathBuf,
    },
    /// Any other I/O failure.
    #[error("could not {op} {}: {source}", path.display())]
    Io {
        /// What was being done.
        op: &'static str,
        /// The file or folder involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// The folder was written by a newer statevault with a store format this one cannot read.
    #[error(
        "the store at {} has format {found}, newer than the {supported} this program supports; \
         upgrade statevault to open it",
        dir.display()
    )]
    NewerStoreFormat {
        /// The store's folder.
        dir: PathBuf,
        /// The format found in `store.json`.
        found: u32,
        /// The newest format this build supports.
        supported: u32,
    },
    /// A file of the store's own bookkeeping (`store.json`, a journal record) is damaged.
    #[error("damaged store file {}: {detail}", path.display())]
    CorruptMetadata {
        /// The damaged file.
        path: PathBuf,
        /// What is wrong with it.
        detail: String,
    },
    /// A write failed at a point where its outcome on disk is unknown (a folder fsync after
    /// the rename); the store refuses further writes until it is reopened.
    #[error(
        "the store at {} refuses writes after an earlier failed fsync; reopen it",
        dir.display()
    )]
    Poisoned {
        /// The store's folder.
        dir: PathBuf,
    },
    /// The store was opened read-only.
    #[error("the store at {} is open read-only", dir.display())]
    ReadOnly {
        /// The store's folder.
        dir: PathBuf,
    },
    /// A key appears more than once in one batch; nothing was written.
    #[error("key {key} appears more than once in the batch")]
    DuplicateInBatch {
        /// The repeated key.
        key: Key,
    },
    /// A symbolic link inside the store's folder where the store would read or write: a
    /// namespace folder, a key's file, `backups/`, the audit log. Nothing was read or written
    /// through it (the store's root itself may be a link; nothing below it may).
    #[error(
        "{} is a symbolic link inside the store; statevault never reads or writes through a \
         link inside its folder (replace it with the folder or file itself)",
        path.display()
    )]
    Symlink {
        /// The link.
        path: PathBuf,
    },
    /// There is no store at the path (read-only opens never create one).
    #[error("no statevault store at {}", dir.display())]
    NotAStore {
        /// The folder.
        dir: PathBuf,
    },
    /// An amendment ([`BatchOp::Amend`](crate::BatchOp::Amend)) of a key that does not exist.
    #[error("{key} does not exist: there is no value to amend")]
    NothingToAmend {
        /// The key.
        key: Key,
    },
    /// The amendments of a key could not be folded into its value (see [`crate::Fold`]), or
    /// the store was opened without a [`Fold`](crate::Fold) and a read needs one. Nothing was
    /// changed: the journal keeps the amendments.
    #[error("the amendments of {key} cannot be applied: {detail}")]
    Fold {
        /// The key.
        key: Key,
        /// Why.
        detail: String,
    },
}

impl Error {
    /// Wraps an I/O error with what was being done, classifying a full disk.
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Error {
        let path = path.into();
        if let Some(link) = source
            .get_ref()
            .and_then(|e| e.downcast_ref::<LinkRefused>())
        {
            return Error::Symlink {
                path: link.0.clone(),
            };
        }
        // `O_NOFOLLOW` on a link at the end of the path.
        #[cfg(unix)]
        if source.raw_os_error() == Some(libc::ELOOP) {
            return Error::Symlink { path };
        }
        if is_no_space(&source) {
            Error::NoSpace { op, path }
        } else {
            Error::Io { op, path, source }
        }
    }
}

/// `ENOSPC` and `EDQUOT` both mean the data did not fit.
fn is_no_space(e: &io::Error) -> bool {
    if e.kind() == io::ErrorKind::StorageFull || e.kind() == io::ErrorKind::QuotaExceeded {
        return true;
    }
    #[cfg(unix)]
    if let Some(code) = e.raw_os_error() {
        return code == libc::ENOSPC || code == libc::EDQUOT;
    }
    false
}

/// The result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
