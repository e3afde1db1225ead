//! The one commit path: every change (a single save, a delete, a batch) is a record of a
//! write-ahead journal that carries the values; checkpoints bring the keys' files up to date;
//! recovery; reads that never see a commit half applied. `docs/durability.md` states the
//! protocol and its promises; decisions 0010 and 0016 say why it is built this way.
//!
//! A commit is one record in the journal file `.statevault/journal/<sequence>.wal`:
//!
//! 1. *Commit*: write the record (every value, with a checksum) after the last record of the
//!    file's current run, sync the file. That sync is the commit point; the first record of a
//!    journal file also syncs the journal folder first, so the file's name is durable before
//!    anything in it is promised.
//! 2. The change is now visible: the writer keeps its values in memory (`Pending`), and readers
//!    in other processes read the journal file (through their index of it, `reader.rs`).
//!    Nothing else is written.
//! 3. *Checkpoint*, once the journal holds [`OpenOptions::checkpoint_bytes`] (8 MiB by default),
//!    after the journal has been quiet for the idle time (`idle.rs`), when the writer is
//!    dropped, and at the next writer's open after a crash: write the latest value of every key
//!    the journal holds to a temp file, sync them as a group, rename them into place, sync the
//!    folders, then end the run (zero the first record's header and sync it; the next commit
//!    starts a new run at offset 0, over blocks that exist, so its sync flushes data only). The
//!    drop and recovery remove the journal files instead.
//!
//! A failure while writing a record leaves it incomplete: it was never acknowledged, the file is
//! cut back to its complete records, and the next commit starts a new journal file, so a torn
//! record is always the last of its run. A failed sync of the journal poisons the handle: the
//! record may or may not be on the medium, so the handle reads the journal as it stands on disk,
//! as the next open will.
//!
//! [`Journal`] owns the journal's state (its files, the pending values, the sequence numbers,
//! the lock that orders commits and checkpoints); `Storage` calls in through its methods and
//! changes files only through the [`Folder`] it passes.
//!
//! [`OpenOptions::checkpoint_bytes`]: crate::OpenOptions::checkpoint_bytes

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::backend::{LockGuard, LockMode};
use crate::batch::{BatchOp, Commit};
use crate::checkpoint;
use crate::durability::Durability;
use crate::error::{Error, Result};
use crate::fold::Folding;
use crate::folder::Folder;
use crate::idle::{IdleSignal, Outcome};
use crate::key::Key;
use crate::pending::{Entry, Pending, apply_op, apply_record};
use crate::reader::ReaderIndex;
use crate::record::{self, OpRef, RecordOp, ScanEnd};
use crate::unique::now_ns;
use crate::view::View;
use crate::wal::{self, AfterCheckpoint, Wal};

/// The journal's folder, inside `.statevault/`.
const JOURNAL_DIR: &str = "journal";
/// The lock a checkpoint holds exclusively while it replaces files and readers hold shared.
const APPLY_LOCK: &str = "apply.lock";
/// How many bytes of journal make the writer checkpoint. A checkpoint costs about one single
/// save per distinct key it writes, whatever the journal's size, so a larger journal spreads it
/// over more batches; a smaller one bounds the journal's disk space and what a read-only
/// handle parses per read. At 8 MiB, 80 batches of 100 keys of 1 KiB share one checkpoint
/// (SQLite's default is 4 MiB of pages, each checkpointed in place, which costs it less).
pub const DEFAULT_CHECKPOINT_BYTES: u64 = 8 * 1024 * 1024;

/// What a writer's [`Storage::open`](crate::Storage::open) found in the journal and did about
/// it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Recovery {
    /// Committed batches found in the journal and applied to the keys' files (a writer that
    /// stopped without its final checkpoint leaves some; that is not an error).
    pub replayed: usize,
    /// Incomplete records dropped: batches whose append a crash or an I/O error interrupted
    /// (they were never acknowledged, and nothing of them was ever visible).
    pub discarded: usize,
    /// Journal files with a damaged record followed by intact ones, renamed to
    /// `<sequence>.wal.damaged`. The records before the damage were applied; none from it on.
    /// Only a failing or lying medium leaves one.
    pub quarantined: Vec<PathBuf>,
}

/// A store's journal: its files, the values it holds that the keys' files do not yet, and the
/// locks that order batches, checkpoints and single saves within the process.
pub(crate) struct Journal {
    /// `.statevault/journal/`.
    dir: PathBuf,
    /// `.statevault/apply.lock`.
    apply_lock: PathBuf,
    /// The journal size at which a commit is followed by a checkpoint.
    checkpoint_bytes: u64,
    /// The writer's journal files. Every commit and checkpoint holds it: one at a time, in
    /// sequence order.
    wal: Mutex<Wal>,
    /// What the journal holds that the keys' files do not, yet.
    pending: RwLock<Pending>,
    /// The sequence number of the last journal record written or found.
    last_sequence: AtomicU64,
    /// What a handle that reads the journal on disk knows of it (see `reader.rs`).
    reader: Mutex<ReaderIndex>,
    /// Tells the idle checkpoint thread of commits and checkpoints.
    idle: Arc<IdleSignal>,
    /// Folds amendments into values at a checkpoint (see `fold.rs`).
    folding: Folding,
}

impl fmt::Debug for Journal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pending = self.pending.read().map_or(0, |p| p.len());
        f.debug_struct("Journal")
            .field("pending_keys", &pending)
            .finish_non_exhaustive()
    }
}

impl Journal {
    /// The journal of the store whose bookkeeping folder is `meta_dir` (`.statevault/`),
    /// holding nothing until [`Journal::recover`].
    pub(crate) fn new(meta_dir: &Path, checkpoint_bytes: u64, folding: Folding) -> Journal {
        Journal {
            dir: meta_dir.join(JOURNAL_DIR),
            apply_lock: meta_dir.join(APPLY_LOCK),
            checkpoint_bytes,
            wal: Mutex::new(Wal::default()),
            pending: RwLock::new(Pending::new()),
            last_sequence: AtomicU64::new(0),
            reader: Mutex::new(ReaderIndex::default()),
            idle: Arc::new(IdleSignal::default()),
            folding,
        }
    }

    /// How amendments are folded into values.
    pub(crate) fn folding(&self) -> &Folding {
        &self.folding
    }

    /// `.statevault/journal/`.
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// What the idle checkpoint thread waits on.
    pub(crate) fn idle_signal(&self) -> Arc<IdleSignal> {
        self.idle.clone()
    }

    /// The journal for a commit or a checkpoint: no other change of this handle runs
    /// meanwhile.
    fn lock_wal(&self) -> MutexGuard<'_, Wal> {
        self.wal.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn read_pending(&self) -> RwLockReadGuard<'_, Pending> {
        self.pending.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write_pending(&self) -> RwLockWriteGuard<'_, Pending> {
        self.pending.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Commits `ops` (checked by the caller: not empty, no key twice) as one record, then makes
    /// them visible to every read; checkpoints when the journal has reached its size.
    pub(crate) fn commit(
        &self,
        folder: &Folder,
        ops: Vec<BatchOp>,
        durability: Durability,
    ) -> Result<Commit> {
        let mut wal = self.lock_wal();
        folder.check_writable()?;
        for op in &ops {
            if let BatchOp::Amend { key, .. } = op
                && !self.exists_locked(folder, key)?
            {
                return Err(Error::NothingToAmend { key: key.clone() });
            }
        }
        self.commit_locked(folder, &mut wal, ops, durability)
    }

    /// Whether `key` exists, in the journal or in its file; the caller holds the wal lock, so
    /// no commit of this handle changes it meanwhile.
    fn exists_locked(&self, folder: &Folder, key: &Key) -> Result<bool> {
        if let Some(entry) = self.read_pending().get(key) {
            return Ok(entry.exists());
        }
        match folder.backend().metadata(&folder.path_of(key)) {
            Ok(meta) => Ok(!meta.is_dir),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(Error::io("stat", folder.path_of(key), e)),
        }
    }

    /// Deletes `key` as a record of its own when it exists (in the journal or in its file);
    /// returns the commit, `None` when it did not exist.
    pub(crate) fn delete(
        &self,
        folder: &Folder,
        key: &Key,
        durability: Durability,
    ) -> Result<Option<Commit>> {
        let mut wal = self.lock_wal();
        folder.check_writable()?;
        if !self.exists_locked(folder, key)? {
            return Ok(None);
        }
        let ops = vec![BatchOp::Delete { key: key.clone() }];
        self.commit_locked(folder, &mut wal, ops, durability)
            .map(Some)
    }

    fn commit_locked(
        &self,
        folder: &Folder,
        wal: &mut Wal,
        ops: Vec<BatchOp>,
        durability: Durability,
    ) -> Result<Commit> {
        let commit = self.append_locked(folder, wal, ops, durability)?;
        self.idle.committed();
        if wal.bytes() >= self.checkpoint_bytes
            && let Err(e) = self.checkpoint_locked(folder, wal, AfterCheckpoint::Reuse)
        {
            tracing::warn!(error = %e, "a checkpoint after a commit failed; the commit is in the journal");
        }
        Ok(commit)
    }

    /// Appends `ops` as one record and makes them visible to every read of this handle.
    fn append_locked(
        &self,
        folder: &Folder,
        wal: &mut Wal,
        ops: Vec<BatchOp>,
        durability: Durability,
    ) -> Result<Commit> {
        let sequence = self.next_sequence();
        let refs: Vec<OpRef<'_>> = ops
            .iter()
            .map(|op| match op {
                BatchOp::Put { key, bytes } => OpRef::Put { key, value: bytes },
                BatchOp::Delete { key } => OpRef::Delete { key },
                BatchOp::Amend { key, bytes } => OpRef::Amend {
                    key,
                    amendment: bytes,
                },
            })
            .collect();
        let (len, digest) = wal.append(folder, &self.dir, sequence, &refs, durability)?;
        drop(refs);
        // Committed: from here on every read sees it.
        {
            let mut pending = self.write_pending();
            for op in ops {
                let op = match op {
                    BatchOp::Put { key, bytes } => RecordOp::Put {
                        key,
                        value: Arc::new(bytes),
                    },
                    BatchOp::Delete { key } => RecordOp::Delete { key },
                    BatchOp::Amend { key, bytes } => RecordOp::Amend {
                        key,
                        amendment: Arc::new(bytes),
                    },
                };
                apply_op(&mut pending, op, sequence);
            }
        }
        Ok(Commit {
            sequence,
            len,
            digest,
        })
    }

    /// A sequence number larger than any this handle used: nanoseconds since the epoch, or the
    /// last one plus one.
    fn next_sequence(&self) -> u64 {
        let now = now_ns();
        let previous = self
            .last_sequence
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |last| {
                Some(last.max(now.saturating_sub(1)).saturating_add(1))
            })
            .expect("the update always succeeds");
        previous.max(now.saturating_sub(1)).saturating_add(1)
    }

    /// Brings the keys' files up to date with the journal and empties it.
    pub(crate) fn checkpoint(&self, folder: &Folder) -> Result<()> {
        let mut wal = self.lock_wal();
        folder.check_writable()?;
        self.checkpoint_locked(folder, &mut wal, AfterCheckpoint::Reuse)
    }

    /// The idle thread's checkpoint: [`Outcome::Stop`] once this handle cannot write.
    pub(crate) fn idle_checkpoint(&self, folder: &Folder) -> Outcome {
        if folder.check_writable().is_err() {
            return Outcome::Stop;
        }
        match self.checkpoint(folder) {
            Ok(()) => Outcome::Done,
            Err(e) => {
                tracing::warn!(error = %e, "the idle checkpoint failed; it is tried again later");
                if folder.is_poisoned() {
                    Outcome::Stop
                } else {
                    Outcome::Retry
                }
            }
        }
    }

    /// The checkpoint, with the journal's lock held. A failure before the first rename leaves
    /// everything as it was; a failure after it poisons the handle (the journal still holds
    /// every value, and the next open finishes the checkpoint).
    fn checkpoint_locked(
        &self,
        folder: &Folder,
        wal: &mut Wal,
        after: AfterCheckpoint,
    ) -> Result<()> {
        if wal.is_settled(after) {
            return Ok(());
        }
        let started = std::time::Instant::now();
        self.settle_amended_files(folder, wal)?;
        let entries: Vec<(Key, Entry)> = self
            .read_pending()
            .iter()
            .map(|(k, e)| (k.clone(), e.clone()))
            .collect();
        // Readers in other processes wait while files are replaced, so none sees some keys of
        // a batch in their files and others not yet.
        let _apply = self.lock_apply(folder, LockMode::Exclusive)?;
        let mut created = Vec::new();
        let staged = checkpoint::stage(folder, &self.folding, &entries, &mut created);
        let temps = match staged {
            Ok(temps) => temps,
            Err(e) => {
                created.iter().for_each(|temp| folder.discard(temp));
                return Err(e);
            }
        };
        checkpoint::replace(folder, &entries, &temps)
            .and_then(|()| wal.end_run(folder, &self.dir, after, self.checkpoint_bytes))
            .inspect_err(|e| {
                folder.poison();
                tracing::error!(error = %e, "a checkpoint failed half way; the store refuses writes until reopened, which finishes it");
            })?;
        self.write_pending().clear();
        self.idle.settled();
        tracing::debug!(
            keys = entries.len(),
            ms = started.elapsed().as_secs_f64() * 1e3,
            "checkpoint: the journal's values are in the keys' files"
        );
        Ok(())
    }

    /// Folds the amendments of every key whose base is its file, and commits the results as
    /// one record of plain values, synced, before a checkpoint replaces any file.
    ///
    /// Replaying a journal must give the same values whether or not a checkpoint got as far as
    /// some renames before a crash: a value or a delete replays to itself, but an amendment of
    /// the key's file would be applied a second time to a file that already holds it. Once the
    /// folded values are in the journal, the amendments before them no longer count. A fold
    /// that fails changes nothing (the checkpoint fails with it).
    fn settle_amended_files(&self, folder: &Folder, wal: &mut Wal) -> Result<()> {
        let amended: Vec<(Key, Vec<Arc<Vec<u8>>>)> = self
            .read_pending()
            .iter()
            .filter(|(_, entry)| entry.amends_file())
            .map(|(key, entry)| (key.clone(), entry.amendments.clone()))
            .collect();
        if amended.is_empty() {
            return Ok(());
        }
        let mut ops = Vec::with_capacity(amended.len());
        for (key, amendments) in amended {
            let path = folder.path_of(&key);
            let base = folder
                .backend()
                .read(&path)
                .map_err(|e| Error::io("read", &path, e))?;
            let bytes = self.folding.fold(&key, base, &amendments)?;
            ops.push(BatchOp::Put { key, bytes });
        }
        self.append_locked(folder, wal, ops, Durability::Full)
            .map(drop)
    }

    /// Takes `.statevault/apply.lock`, waiting for its holders.
    fn lock_apply(&self, folder: &Folder, mode: LockMode) -> Result<LockGuard> {
        folder
            .backend()
            .lock(&self.apply_lock, mode, true)
            .map_err(|e| Error::io("lock", &self.apply_lock, e))
    }

    /// The writer's recovery at open: apply what the journal holds, drop torn records,
    /// quarantine damaged files, and pick the next sequence number.
    pub(crate) fn recover(&self, folder: &Folder) -> Result<Recovery> {
        let (files, mut last) = wal::files_for_recovery(folder, &self.dir)?;
        let mut recovery = Recovery::default();
        let mut pending = Pending::new();
        let mut wal = self.lock_wal();
        let mut quarantine = Vec::new();
        for path in files {
            if !quarantine.is_empty() {
                // After a damaged file nothing is applied: its later batches may depend on the
                // ones lost in the damage.
                quarantine.push(path);
                continue;
            }
            let bytes = folder
                .backend()
                .read(&path)
                .map_err(|e| Error::io("read", &path, e))?;
            let scan = record::scan(&bytes);
            for record in scan.records {
                last = last.max(record.sequence);
                recovery.replayed += 1;
                apply_record(&mut pending, record);
            }
            match scan.end {
                ScanEnd::Clean => wal.adopt(path),
                ScanEnd::Torn { at } => {
                    tracing::info!(journal = %path.display(), offset = at, "dropping a batch whose append a crash interrupted");
                    recovery.discarded += 1;
                    wal.adopt(path);
                }
                ScanEnd::Damaged { at, detail } => {
                    tracing::error!(journal = %path.display(), offset = at, detail,
                        "a journal record is damaged; the batches before it are applied, none from it on");
                    quarantine.push(path);
                }
            }
        }
        *self.write_pending() = pending;
        match self.checkpoint_locked(folder, &mut wal, AfterCheckpoint::Remove) {
            Ok(()) => {}
            // A full disk does not keep the store from opening: the journal's values are read
            // from memory, and the next checkpoint (a batch, a save of one of its keys, the
            // drop) tries again once there is space.
            Err(e @ Error::NoSpace { .. }) if !folder.is_poisoned() => {
                tracing::warn!(error = %e, "the journal cannot be checkpointed for lack of space; its values stay in it");
            }
            // Nor do amendments that cannot be folded now (a keychain not yet unlocked for an
            // encrypted key): the journal keeps them, and reads see them.
            Err(e @ Error::Fold { .. }) if !folder.is_poisoned() => {
                tracing::warn!(error = %e, "the journal cannot be checkpointed: amendments cannot be folded; they stay in it");
            }
            Err(e) => return Err(e),
        }
        for path in quarantine {
            recovery.quarantined.push(wal::quarantine(folder, &path)?);
        }
        if !recovery.quarantined.is_empty() {
            folder.sync_dir_or_poison(&self.dir)?;
        }
        self.last_sequence.store(last, Ordering::SeqCst);
        if recovery != Recovery::default() {
            tracing::info!(
                replayed = recovery.replayed,
                discarded = recovery.discarded,
                quarantined = recovery.quarantined.len(),
                "journal recovered"
            );
        }
        Ok(recovery)
    }

    /// How the keys the journal holds are seen by this handle: the writer's own pending values,
    /// or (a read-only handle, a poisoned writer) the journal on disk, under `apply.lock`,
    /// through the handle's index of it, extended by what was committed since its last read.
    pub(crate) fn view(&self, folder: &Folder) -> Result<View<'_>> {
        if folder.is_writer() && !folder.is_poisoned() {
            return Ok(View::Memory(self.read_pending()));
        }
        let lock = self.shared_apply_lock(folder)?;
        let mut index = self.reader.lock().unwrap_or_else(|e| e.into_inner());
        index.refresh(folder, &self.dir)?;
        Ok(View::Disk { index, _lock: lock })
    }

    /// How many committed records the journal on disk holds that are not yet in the keys'
    /// files.
    pub(crate) fn records_on_disk(&self, folder: &Folder) -> Result<usize> {
        let _lock = self.shared_apply_lock(folder)?;
        let mut index = self.reader.lock().unwrap_or_else(|e| e.into_inner());
        index.refresh(folder, &self.dir)?;
        Ok(index.records())
    }

    /// The journal files recovery quarantined (`<sequence>.wal.damaged`), oldest first.
    pub(crate) fn quarantined(&self, folder: &Folder) -> Result<Vec<PathBuf>> {
        wal::quarantined_files(folder, &self.dir)
    }

    /// The shared `apply.lock` of a read-only handle. `None` where the lock file cannot be
    /// opened because it does not exist and cannot be created (no writer of this format ever
    /// opened the store, so no batch can be in flight) or the file system is read-only.
    fn shared_apply_lock(&self, folder: &Folder) -> Result<Option<LockGuard>> {
        match self.lock_apply(folder, LockMode::Shared) {
            Ok(lock) => Ok(Some(lock)),
            Err(Error::Io { source, .. })
                if matches!(
                    source.kind(),
                    io::ErrorKind::NotFound
                        | io::ErrorKind::PermissionDenied
                        | io::ErrorKind::ReadOnlyFilesystem
                ) =>
            {
                tracing::debug!(error = %source, "reading without apply.lock");
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// The final checkpoint of a writer that is dropped; a failure is left to the next open.
    pub(crate) fn close(&self, folder: &Folder) {
        if !folder.is_writer() || folder.is_poisoned() {
            return;
        }
        let mut wal = self.lock_wal();
        if let Err(e) = self.checkpoint_locked(folder, &mut wal, AfterCheckpoint::Remove) {
            tracing::warn!(error = %e, "the final checkpoint failed; the next open finishes it");
        }
    }
}
