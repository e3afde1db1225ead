//! Restore: verify, snapshot the present, apply as one journaled batch.

use std::collections::BTreeSet;
use std::fmt;

use serde::Serialize;
use statevault_core::{BatchOp, Durability, Key};

use crate::error::{Error, Result};
use crate::id::{BackupId, BackupKind};
use crate::snapshot::{
    BackupInfo, Backups, Classify, CreateOptions, Location, OnProgress, no_flags,
};

/// How [`Backups::restore`] works. Construct with `..RestoreOptions::default()`.
#[derive(Clone, Copy)]
pub struct RestoreOptions<'a> {
    /// Take an automatic snapshot of the present state first (default `true`), so a restore
    /// can itself be undone.
    pub auto_snapshot_first: bool,
    /// Flags the files of that automatic snapshot (see [`CreateOptions::classify`]).
    pub classify: Classify<'a>,
    /// Called while the snapshot's objects are verified (files done of files in all).
    pub progress: Option<OnProgress<'a>>,
}

impl Default for RestoreOptions<'_> {
    fn default() -> Self {
        RestoreOptions {
            auto_snapshot_first: true,
            classify: &no_flags,
            progress: None,
        }
    }
}

impl fmt::Debug for RestoreOptions<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RestoreOptions")
            .field("auto_snapshot_first", &self.auto_snapshot_first)
            .finish_non_exhaustive()
    }
}

/// What [`Backups::restore`] did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct RestoreReport {
    /// The snapshot restored.
    pub id: BackupId,
    /// The automatic snapshot of the state before the restore, if one was taken (none is
    /// taken when the store already equals the snapshot).
    pub pre_restore: Option<BackupInfo>,
    /// Keys written with the snapshot's bytes.
    pub written: usize,
    /// Live keys deleted because the snapshot does not hold them.
    pub deleted: usize,
    /// Keys that already held the snapshot's bytes.
    pub unchanged: usize,
}

impl Backups<'_> {
    /// Restores a snapshot: every object is verified first (a damaged snapshot is refused and
    /// the store is untouched), then an automatic snapshot of the present state is taken, then
    /// the snapshot is applied as one journaled batch: each of its keys gets its bytes back,
    /// and live keys it does not hold are deleted (for a snapshot of some keys only: those of
    /// its scope that did not exist then). A crash leaves the store wholly before or wholly
    /// after. A legacy backup must first be imported with [`Backups::import_legacy`].
    pub fn restore(&self, id: &BackupId, options: &RestoreOptions<'_>) -> Result<RestoreReport> {
        let _lock = self.begin_write()?;
        let manifest = match self.locate(id)? {
            Location::Native(kind) => self.load_manifest(id, kind)?,
            Location::Legacy => return Err(Error::LegacyNeedsEncoding { id: id.to_string() }),
        };
        let objects = self.read_verified(&manifest, options.progress)?;

        let live: Vec<Key> = match &manifest.scope {
            None => self.storage.list("")?,
            Some(scope) => {
                let mut live = Vec::new();
                for key in scope {
                    if self.storage.exists(key)? {
                        live.push(key.clone());
                    }
                }
                live
            }
        };
        let in_snapshot: BTreeSet<&Key> = manifest.entries.iter().map(|e| &e.key).collect();
        let mut ops = Vec::new();
        let (mut written, mut unchanged) = (0, 0);
        for entry in &manifest.entries {
            let bytes = &objects[&entry.hash];
            if self.storage.read(&entry.key)?.as_ref() == Some(bytes) {
                unchanged += 1;
            } else {
                written += 1;
                ops.push(BatchOp::Put {
                    key: entry.key.clone(),
                    bytes: bytes.clone(),
                });
            }
        }
        let mut deleted = 0;
        for key in live.into_iter().filter(|k| !in_snapshot.contains(k)) {
            deleted += 1;
            ops.push(BatchOp::Delete { key });
        }
        if ops.is_empty() {
            tracing::info!(%id, "the store already equals the snapshot; nothing to restore");
            return Ok(RestoreReport {
                id: id.clone(),
                pre_restore: None,
                written,
                deleted,
                unchanged,
            });
        }

        let pre_restore = if options.auto_snapshot_first {
            let reason = format!("before restore of {id}");
            Some(self.create_locked(&CreateOptions {
                kind: BackupKind::Auto,
                reason: Some(&reason),
                keys: manifest.scope.as_deref(),
                classify: options.classify,
                ..CreateOptions::default()
            })?)
        } else {
            None
        };
        self.storage.commit_batch(ops, Durability::Full)?;
        // A restore is rare and large: the keys' files get their values now, for whoever looks
        // at them directly. The restore is committed whatever happens here; a checkpoint that
        // fails is finished later (the next batch, the drop, the next open).
        if let Err(e) = self.storage.checkpoint() {
            tracing::warn!(error = %e, "the restore is committed in the journal; its checkpoint failed");
        }
        tracing::info!(%id, written, deleted, unchanged, "snapshot restored");
        Ok(RestoreReport {
            id: id.clone(),
            pre_restore,
            written,
            deleted,
            unchanged,
        })
    }
}
