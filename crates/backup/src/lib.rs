//! statevault's backups: deduplicated snapshots, retention, verified atomic restore, and
//! export/import archives.
//!
//! A snapshot copies each file of the store into `backups/objects/`, named by the BLAKE3 hash
//! of its content, so each distinct content is stored once; its manifest
//! (`backups/manual/<id>.manifest.json` or `backups/auto/…`) lists every key with its size,
//! hash and codec flags, plus a checksum of its own. The manifest is written last and is the
//! commit point. An index of each file's inode, size and mtime at the previous snapshot makes
//! an unchanged file cost a `stat`, so a snapshot costs what changed, in time and in space.
//!
//! Restore verifies every object against its hash, takes an automatic snapshot of the present
//! state, and applies the snapshot as one journaled batch of the storage engine
//! ([`Storage::commit_batch`](statevault_core::Storage::commit_batch)): a crash leaves the
//! store wholly before or wholly after. Retention ([`Policy`], restic's `forget` semantics)
//! runs per kind, with a size bound for automatic snapshots; objects no manifest references
//! are then collected.
//!
//! This layer moves bytes; it never decodes them. The `statevault` facade passes its codec's
//! view of a file ([`EntryFlags`]) and, for archives, a transform that decrypts or re-encrypts.
//!
//! ```
//! use statevault_backup::{Backups, CreateOptions, RestoreOptions};
//! use statevault_core::{Durability, Key, Storage};
//!
//! let dir = tempfile::tempdir()?;
//! let storage = Storage::open(dir.path())?;
//! let key = Key::parse("settings.preferences")?;
//! storage.write(&key, br#"{"theme":"dark"}"#, Durability::Full)?;
//!
//! let backups = Backups::new(&storage);
//! let snapshot = backups.create(&CreateOptions { name: Some("before theme change"), ..Default::default() })?;
//! assert_eq!(snapshot.file_count, 1);
//!
//! storage.write(&key, br#"{"theme":"light"}"#, Durability::Full)?;
//! let report = backups.restore(&snapshot.id, &RestoreOptions::default())?;
//! assert_eq!(storage.read(&key)?.as_deref(), Some(&br#"{"theme":"dark"}"#[..]));
//! // The state before the restore was kept as an automatic snapshot.
//! assert!(report.pre_restore.is_some());
//! assert!(backups.verify(&snapshot.id)?.is_ok());
//! assert_eq!(backups.list()?.len(), 2);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Retention
//!
//! Given the snapshots of a store (an id and a time each) and a [`Policy`] with restic's
//! `forget` semantics (keep-last, -hourly, -daily, -weekly, -monthly, -yearly, -within; rules
//! OR'd; UTC calendar boundaries), [`Policy::plan`] decides which to keep, with the reasons,
//! and which to remove. [`Backups::prune`] applies one policy per kind ([`Policies`]).
//!
//! ```
//! use std::time::Duration;
//! use statevault_backup::{Period, Policy, Reason, SnapshotRef};
//!
//! const DAY: i64 = 86_400_000;
//! // One snapshot a day at noon for ten days, starting 2024-06-01 (UTC).
//! let start = 19_875 * DAY + 12 * 3_600_000;
//! let snapshots: Vec<_> = (0..10)
//!     .map(|i| SnapshotRef { id: format!("snap-{i}"), time_ms: start + i * DAY })
//!     .collect();
//!
//! let policy = Policy {
//!     keep_last: Some(2),
//!     keep_weekly: Some(2),
//!     keep_within: Some(Duration::from_secs(3 * 86_400)),
//!     ..Policy::default()
//! };
//! let decision = policy.plan(&snapshots);
//!
//! // The newest is kept by every rule; 2024-06-10 is a Monday, so the previous ISO week's
//! // newest snapshot is Sunday 2024-06-09, which keep_last already keeps.
//! assert_eq!(decision.keep[0].0, "snap-9");
//! let within = Reason::Within(Duration::from_secs(3 * 86_400));
//! assert_eq!(decision.keep[0].1, [within, Reason::Last, Reason::Newest(Period::Week)]);
//! assert_eq!(decision.keep[0].1[2].to_string(), "weekly snapshot");
//! let kept: Vec<&str> = decision.keep.iter().map(|(id, _)| id.as_str()).collect();
//! assert_eq!(kept, ["snap-9", "snap-8", "snap-7"]);
//! assert_eq!(decision.remove.len(), 7);
//! ```
//!
//! # Limitations
//!
//! - Objects are plain copies written through the atomic replace (on a few threads, to overlap
//!   their fsyncs); a reflink clone (which would make the first snapshot nearly free on Btrfs,
//!   XFS and APFS) is not used yet.
//! - Restore, export and import hold the whole snapshot in memory.
//! - A new snapshot re-hashes an existing object before it reuses it the first time in a
//!   process (and when its file's `stat` changed since); damage that keeps the inode, size and
//!   mtime of an object this process already checked is found by `verify`, which heals it
//!   from a live file with the same hash when there is one.
//! - Changes are serialised within a process by `backups/lock` and across processes by the
//!   store's writer lock; a reader (`list`, `verify`) running during a prune may see a
//!   snapshot disappear under it.
//! - While a manifest cannot be read (damaged, or written by a newer statevault), garbage
//!   collection removes nothing; delete the damaged backup to unblock it.
//! - Retention measures `keep_within` from the newest snapshot, not from the clock: a snapshot
//!   stamped in the future (a wrong clock) becomes the reference point.
//! - `keep_within` is an exact [`Duration`](std::time::Duration), not a calendar span; there
//!   are no restic-style `keep-within-daily` rules, tags or groups.
//! - Calendar periods are UTC; a user's local midnight is not a boundary.
#![deny(missing_docs)]

mod archive;
mod error;
mod id;
mod index;
mod legacy;
mod legacy_auto;
mod legacy_import;
mod manifest;
mod objects;
mod pool;
mod prune;
mod restore;
mod retention;
mod snapshot;

pub use archive::{
    ARCHIVE_MAGIC, ARCHIVE_VERSION, ExportOptions, ExportReport, ImportOptions, Transform,
    keep_bytes,
};
pub use error::{BoxError, Error, Result};
pub use id::{BackupId, BackupKind, MAX_ID_LEN};
pub use manifest::{ContentHash, Entry, EntryFlags, MANIFEST_FORMAT, Manifest};
pub use objects::Found;
pub use prune::{GcReport, Kept, Policies, PruneReport, RemovalCause, Removed};
pub use restore::{RestoreOptions, RestoreReport};
pub use retention::{Decision, Period, Policy, Reason, SnapshotRef};
pub use snapshot::{
    BackupInfo, Backups, Classify, CreateOptions, Encode, Healed, OnProgress, Problem, Progress,
    VerifyReport, no_flags,
};

/// The folder of everything this crate writes, relative to the store's root.
pub(crate) const BACKUPS_DIR: &str = "backups";
/// Content-addressed objects: `backups/objects/<first 2 hex>/<64 hex>`.
pub(crate) const OBJECTS_DIR: &str = "backups/objects";
/// Manual snapshots' manifests, and the legacy service's backups.
pub(crate) const MANUAL_DIR: &str = "backups/manual";
/// Automatic snapshots' manifests.
pub(crate) const AUTO_DIR: &str = "backups/auto";
/// Held while a backup operation changes anything.
pub(crate) const LOCK_FILE: &str = "backups/lock";

/// Serializes a field through its `Display` (keys and hashes in reports).
pub(crate) fn ser_display<T: std::fmt::Display, S: serde::Serializer>(
    value: &T,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    s.collect_str(value)
}

/// The README's example, compiled and run as a test so that it stays true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
