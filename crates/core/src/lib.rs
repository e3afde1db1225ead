//! The storage engine of statevault: keys mapped safely to paths, atomic durable writes,
//! the writer lock, and the I/O seam every file-system call goes through.
//!
//! This layer stores bytes. It knows nothing of JSON, schemas, compression or encryption:
//! the `statevault` facade composes those. Use it alone when all you need is a folder of
//! files that are replaced atomically and durably.
//!
//! ```
//! use statevault_core::{BatchOp, Durability, Key, Storage};
//!
//! let dir = tempfile::tempdir()?;
//! let storage = Storage::open(dir.path())?;
//! let key = Key::parse("settings.preferences")?;
//! storage.write(&key, br#"{"theme":"dark"}"#, Durability::Full)?;
//! assert_eq!(storage.read(&key)?.as_deref(), Some(&br#"{"theme":"dark"}"#[..]));
//! assert_eq!(storage.list("settings")?, vec![key.clone()]);
//!
//! // Several keys all-or-nothing, read back as one consistent view.
//! let layout = Key::parse("layout.default")?;
//! storage.commit_batch(
//!     vec![
//!         BatchOp::Put { key: layout.clone(), bytes: b"{}".to_vec() },
//!         BatchOp::Delete { key: key.clone() },
//!     ],
//!     Durability::Full,
//! )?;
//! assert_eq!(storage.read_many(&[layout, key])?, vec![Some(b"{}".to_vec()), None]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Guarantees
//! - A [`Key`] is validated before any path exists, and always maps strictly inside the root.
//! - [`Storage::write`] never leaves a key torn: a new value goes to a fresh temp file that is
//!   renamed over the old one. What survives a power loss is said by [`Durability`].
//! - A failed folder fsync poisons the handle: further writes fail with
//!   [`Error::Poisoned`] until the store is reopened.
//! - [`Storage::commit_batch`] applies several saves and deletes all-or-nothing: one record,
//!   carrying every value, appended to the journal and synced (the commit point). Checkpoints
//!   bring the keys' files up to date later; [`Storage::open`] applies what a crash left.
//! - No reader sees a batch half applied: the writer reads pending values from memory, and a
//!   read-only handle reads the journal on disk under `apply.lock`, which checkpoints wait for.
//! - One writer per store: a second [`Storage::open`] fails with [`Error::Locked`] (after a
//!   grace period of about 100 ms, for holders that are not writers).
//! - Files are created 0600 and folders 0700 (Unix), whatever the umask.
//! - A folder that holds data never gets a new identity implicitly: a missing or damaged
//!   `.statevault/store.json` there is [`Error::CorruptMetadata`], and
//!   [`Storage::recover_identity`] restores it from its copy.
//! - A damaged journal record followed by records of its run is quarantined by the next
//!   writer ([`Storage::quarantined_journals`]) and reported by every reader before that.
//!
//! # Limitations
//! - Symbolic links inside the store's folder are refused ([`Error::Symlink`]), never
//!   followed: every folder between the root and a file is checked, and files are opened with
//!   `O_NOFOLLOW`. The check and the open are two steps, so a link swapped in between by a
//!   process racing the store is not caught: the store's folder belongs to its user.
//! - On Windows the folder fsync is a no-op and renames are not write-through.
//! - The writer lock is advisory: a process that ignores it (an editor) is not stopped.
//! - Until a checkpoint, a batch's values are in the journal, not in the keys' files: a program
//!   that reads the files directly (not through this crate) sees them after the checkpoint
//!   ([`Storage::checkpoint`], or the writer's drop).
//! - The crash-safety proofs (the test doubles `FaultBackend` and `SimBackend`) model a file
//!   system that honours fsync and renames atomically; `docs/durability.md` lists the
//!   assumptions.
//!
//! # Features
//! - `testing` (off by default): the test doubles `FaultBackend`, which fails the N-th
//!   operation, and `SimBackend`, a simulated disk that loses what was not synced, for the
//!   crash and fault tests of this crate and of the crates built on it.
#![deny(missing_docs)]

mod backend;
mod batch;
mod checkpoint;
mod durability;
mod error;
#[cfg(feature = "testing")]
mod fault;
mod files;
mod fold;
mod folder;
mod idle;
mod info;
mod journal;
mod key;
mod pending;
mod reader;
mod record;
#[cfg(feature = "testing")]
mod sim;
mod storage;
mod unique;
mod view;
mod wal;

pub use backend::{
    Backend, DirEntry, FileHandle, FsBackend, LockGuard, LockMode, Metadata, ReadHandle,
};
pub use batch::{BatchOp, Commit};
pub use durability::Durability;
pub use error::{Error, Result};
#[cfg(feature = "testing")]
pub use fault::{FaultBackend, FaultError, FaultKind};
pub use files::StoreFiles;
pub use fold::{Fold, Layers};
pub use info::{IdentityRecovery, STORE_FORMAT, StoreInfo};
pub use journal::{DEFAULT_CHECKPOINT_BYTES, Recovery};
pub use key::{
    Key, KeyError, LEGACY_NAMESPACES, MAX_KEY_LEN, MAX_SEGMENT_LEN, folder_namespace,
    namespace_folder,
};
#[cfg(feature = "testing")]
pub use sim::{CrashMode, SimBackend};
pub use storage::{DEFAULT_IDLE_CHECKPOINT, META_DIR, OpenOptions, Storage};
pub use unique::{random_id_bits, timestamp_ms};

/// The README's example, compiled and run as a test so that it stays true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
