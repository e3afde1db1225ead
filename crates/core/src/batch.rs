//! Atomic batches through a write-ahead journal that carries the values, checkpoints that bring
//! the keys' files up to date, recovery, and reads that never see a batch half applied.
//! `docs/durability.md` states the protocol and its promises;
//! `docs/decisions/0010-values-in-the-journal.md` says why it is built this way.
//!
//! A batch is one record in the journal file `.statevault/journal/<sequence>.wal`:
//!
//! 1. *Commit*: write the record (every value of the batch, with a checksum) after the last
//!    record of the file's current run, sync the file. That sync is the commit point; the first
//!    record of a journal file also syncs the journal folder first, so the file's name is durable
//!    before anything in it is promised.
//! 2. The batch is now visible: the writer keeps its values in memory (`Pending`), and readers
//!    in other processes read the journal file. Nothing else is written.
//! 3. *Checkpoint*, once the journal holds [`OpenOptions::checkpoint_bytes`] (8 MiB by default),
//!    before a single save or delete of a key the journal holds, when the writer is dropped, and
//!    at the next writer's open after a crash: write the latest value of every key the journal
//!    holds to a temp file, sync them as a group, rename them into place, sync the folders, then
//!    end the run (zero the first record's header and sync it; the next batch starts a new run
//!    at offset 0, over blocks that exist, so its sync flushes data only). The drop and
//!    recovery remove the journal files instead.
//!
//! A failure while writing a record leaves it incomplete: it was never acknowledged, and the
//! next batch starts a new journal file, so a torn record is always the last of its run. A
//! failed sync of the journal poisons the handle: the record may or may not be on the medium, so
//! the handle reads the journal as it stands on disk, as the next open will.
//!
//! [`OpenOptions::checkpoint_bytes`]: crate::OpenOptions::checkpoint_bytes

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fmt;
use std::io;
use std::ops::{Deref, DerefMut};
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::backend::{FileHandle, LockGuard, LockMode, Metadata};
use crate::error::{Error, Result};
use crate::record::{
    self, DAMAGED_SUFFIX, OpRef, Record, RecordOp, ScanEnd, leading_sequence, wal_name,
    wal_sequence,
};
use crate::key::Key;
use crate::storage::{Durability, Storage, temp_path};

/// The journal's folder, inside `.statevault/`.
pub(crate) const JOURNAL_DIR: &str = "journal";
/// The lock a checkpoint holds exclusively while it replaces files and readers hold shared.
pub(crate) const APPLY_LOCK: &str = "apply.lock";
/// How many bytes of journal make the writer checkpoint. A checkpoint costs about one single
/// save per distinct key it writes, whatever the journal's size, so a larger journal spreads it
/// over more batches; a smaller one bounds the journal's disk space and what a read-only
/// handle parses per read. At 8 MiB, 80 batches of 100 keys of 1 KiB share one checkpoint
/// (SQLite's default is 4 MiB of pages, each checkpointed in place, which costs it less).
pub const DEFAULT_CHECKPOINT_BYTES: u64 = 8 * 1024 * 1024;

/// One operation of a batch (see [`Storage::commit_batch`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BatchOp {
    /// Set `key` to `bytes`.
    Put {
        /// The key.
        key: Key,
        /// Its new value.
        bytes: Vec<u8>,
    },
    /// Remove `key` (nothing happens if it does not exist).
    Delete {
        /// The key.
        key: Key,
    },
}

impl BatchOp {
    /// The key the operation changes.
    pub fn key(&self) -> &Key {
        match self {
            BatchOp::Put { key, .. } | BatchOp::Delete { key } => key,
        }
    }
}

/// What a writer's [`Storage::open`] found in the journal and did about it.
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

/// The latest operation the journal holds for a key.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    /// The value, `None` for a delete.
    pub(crate) value: Option<Arc<Vec<u8>>>,
    /// The record's sequence number (reported as the modification time).
    pub(crate) sequence: u64,
}

impl Entry {
    pub(crate) fn metadata(&self) -> Option<Metadata> {
        self.value.as_ref().map(|value| Metadata {
            len: value.len() as u64,
            is_dir: false,
            is_symlink: false,
            inode: 0,
            modified_ns: i128::from(self.sequence),
        })
    }
}

/// Keys whose latest value is in the journal, not yet in their files. Ordered, so a checkpoint
/// makes its operations in the same order every time (the fault sweeps count on it).
pub(crate) type Pending = BTreeMap<Key, Entry>;

fn apply_record(pending: &mut Pending, record: Record) {
    for op in record.ops {
        let (key, value) = match op {
            RecordOp::Put { key, value } => (key, Some(value)),
            RecordOp::Delete { key } => (key, None),
        };
        pending.insert(
            key,
            Entry {
                value,
                sequence: record.sequence,
            },
        );
    }
}

/// The journal file being written.
struct Current {
    path: PathBuf,
    file: Box<dyn FileHandle>,
    /// Whether the file's name is durable in the journal folder.
    name_synced: bool,
    /// Where the next record goes: the end of the current run's complete records (0 when the
    /// run has none).
    len: u64,
    /// The current run's generation (the sequence of its first record).
    generation: Option<u64>,
    /// The file's size: the largest end ever written.
    size: u64,
}

/// The writer's journal files.
#[derive(Default)]
pub(crate) struct Wal {
    current: Option<Current>,
    /// Every journal file that exists, oldest first (the current one included).
    files: Vec<PathBuf>,
    /// Bytes of records written since the last checkpoint.
    bytes: u64,
}

/// Whether a checkpoint may keep the current journal file for the next run (rewriting it from
/// the start) or removes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AfterCheckpoint {
    /// Keep the file (unless it grew past twice the checkpoint size): the next batch overwrites
    /// blocks that exist, so its sync flushes data only.
    Reuse,
    /// Remove every journal file (the writer's drop: a closed store leaves no journal).
    Remove,
}

/// The writer's half of the journal.
#[derive(Default)]
pub(crate) struct Journal {
    /// Held exclusively by batches and checkpoints, shared by single saves and deletes: a
    /// single save of a key runs beside other single saves, never beside a batch or a
    /// checkpoint, so it can neither miss that its key became pending nor be overwritten by a
    /// checkpoint of an older value.
    gate: RwLock<()>,
    wal: Mutex<Wal>,
    /// What the journal holds that the keys' files do not, yet.
    pub(crate) pending: RwLock<Pending>,
}

/// The journal held exclusively (see [`Journal::lock_wal`]).
pub(crate) struct WalGuard<'a> {
    _gate: RwLockWriteGuard<'a, ()>,
    wal: MutexGuard<'a, Wal>,
}

impl Deref for WalGuard<'_> {
    type Target = Wal;

    fn deref(&self) -> &Wal {
        &self.wal
    }
}

impl DerefMut for WalGuard<'_> {
    fn deref_mut(&mut self) -> &mut Wal {
        &mut self.wal
    }
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
    /// The journal for a batch or a checkpoint: no other change of this handle runs meanwhile.
    pub(crate) fn lock_wal(&self) -> WalGuard<'_> {
        let gate = self.gate.write().unwrap_or_else(|e| e.into_inner());
        let wal = self.wal.lock().unwrap_or_else(|e| e.into_inner());
        WalGuard { _gate: gate, wal }
    }

    /// The journal shared, for a single save or delete: batches and checkpoints wait.
    pub(crate) fn share(&self) -> RwLockReadGuard<'_, ()> {
        self.gate.read().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn read_pending(&self) -> RwLockReadGuard<'_, Pending> {
        self.pending.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write_pending(&self) -> std::sync::RwLockWriteGuard<'_, Pending> {
        self.pending.write().unwrap_or_else(|e| e.into_inner())
    }
}

/// How a handle sees the keys the journal holds while it reads.
pub(crate) enum View<'a> {
    /// The writer's own pending values.
    Memory(RwLockReadGuard<'a, Pending>),
    /// The journal as it stands on disk, read under `apply.lock` (held until the view drops).
    Disk {
        pending: Pending,
        _lock: Option<LockGuard>,
    },
}

impl View<'_> {
    pub(crate) fn get(&self, key: &Key) -> Option<&Entry> {
        match self {
            View::Memory(pending) => pending.get(key),
            View::Disk { pending, .. } => pending.get(key),
        }
    }

    pub(crate) fn entries(&self) -> &Pending {
        match self {
            View::Memory(pending) => pending,
            View::Disk { pending, .. } => pending,
        }
    }
}

impl Storage {
    /// Applies `ops` all-or-nothing: after a crash or power loss at any point, every operation
    /// or none is visible. A key may appear only once ([`Error::DuplicateInBatch`]); an empty
    /// batch does nothing.
    ///
    /// The batch is one record written to the journal; with [`Durability::Full`] and
    /// [`Durability::Normal`] the journal is synced before this returns (one sync, whatever the
    /// number of keys), so the batch survives a power loss. With [`Durability::None`] nothing
    /// is synced: the batch is all-or-nothing against a crash of the process, not against a
    /// power loss. The keys' files are brought up to date later by a checkpoint (see
    /// [`Storage::checkpoint`]); every read of every handle sees the batch at once.
    ///
    /// An error while appending leaves nothing visible. An error syncing the journal poisons
    /// the handle ([`Error::Poisoned`] for further writes): whether the batch survives is then
    /// unknown, and this handle reads what the disk holds, as the next open will. A checkpoint
    /// this batch starts that fails is logged, not returned: the batch itself is committed.
    pub fn commit_batch(&self, ops: Vec<BatchOp>, durability: Durability) -> Result<()> {
        self.check_writable()?;
        if ops.is_empty() {
            return Ok(());
        }
        let mut seen = HashSet::with_capacity(ops.len());
        for op in &ops {
            if !seen.insert(op.key()) {
                return Err(Error::DuplicateInBatch {
                    key: op.key().clone(),
                });
            }
        }
        drop(seen);
        let mut wal = self.journal.lock_wal();
        self.check_writable()?;
        let sequence = self.next_sequence();
        let refs: Vec<OpRef<'_>> = ops
            .iter()
            .map(|op| match op {
                BatchOp::Put { key, bytes } => OpRef::Put { key, value: bytes },
                BatchOp::Delete { key } => OpRef::Delete { key },
            })
            .collect();
        let written = self.append(&mut wal, sequence, &refs, durability)?;
        wal.bytes += written;
        drop(refs);
        // Committed: from here on every read sees the batch.
        {
            let mut pending = self.journal.write_pending();
            for op in ops {
                let (key, value) = match op {
                    BatchOp::Put { key, bytes } => (key, Some(Arc::new(bytes))),
                    BatchOp::Delete { key } => (key, None),
                };
                pending.insert(key, Entry { value, sequence });
            }
        }
        if wal.bytes >= self.checkpoint_bytes
            && let Err(e) = self.checkpoint_locked(&mut wal, AfterCheckpoint::Reuse)
        {
            tracing::warn!(error = %e, "a checkpoint after a batch failed; the batch is committed in the journal");
        }
        Ok(())
    }

    /// Writes one record after the current run's last one (starting a journal file if needed)
    /// and syncs it. Returns the record's length.
    fn append(
        &self,
        wal: &mut Wal,
        sequence: u64,
        ops: &[OpRef<'_>],
        durability: Durability,
    ) -> Result<u64> {
        let sync = durability != Durability::None;
        if wal.current.is_none() {
            let path = self.journal_dir().join(wal_name(sequence));
            let file = self
                .backend
                .create_new(&path)
                .map_err(|e| Error::io("create", &path, e))?;
            wal.files.push(path.clone());
            wal.current = Some(Current {
                path,
                file,
                name_synced: false,
                len: 0,
                generation: None,
                size: 0,
            });
        }
        let current = wal.current.as_mut().expect("a journal file is open");
        if sync && !current.name_synced {
            // Before the first promise made in a file, its name must survive a power loss. A
            // failure here publishes nothing: the file is empty or holds records already
            // synced under a name that is merely not durable yet, which the next sync covers.
            let dir = self.journal_dir();
            self.backend
                .sync_dir(&dir)
                .map_err(|e| Error::io("fsync folder", &dir, e))?;
            current.name_synced = true;
        }
        let generation = current.generation.unwrap_or(sequence);
        let encoded = record::encode(sequence, generation, ops);
        let mut at = current.len;
        for piece in &encoded.pieces {
            let bytes = piece.bytes();
            if let Err(e) = current.file.write_all_at(at, bytes) {
                // The record is incomplete: never replayed. The next batch starts a new file,
                // so the torn record stays the last record of its run in this one; a file
                // that holds nothing else of its run goes (if that fails too, the next open
                // drops it).
                let path = current.path.clone();
                let empty = current.len == 0;
                wal.current = None;
                if empty && self.backend.remove_file(&path).is_ok() {
                    wal.files.retain(|p| p != &path);
                }
                return Err(Error::io("write", path, e));
            }
            at += bytes.len() as u64;
        }
        if sync && let Err(e) = current.file.sync() {
            // The record may or may not be on the medium, and the page cache no longer says
            // which: refuse writes until reopened, and read what the disk holds.
            let path = current.path.clone();
            wal.current = None;
            self.poisoned.store(true, Ordering::SeqCst);
            tracing::error!(journal = %path.display(), error = %e, "journal fsync failed; the store refuses writes until reopened");
            return Err(Error::io("fsync", path, e));
        }
        current.generation = Some(generation);
        current.len = at;
        current.size = current.size.max(at);
        Ok(encoded.len)
    }

    /// A sequence number larger than any this handle used: nanoseconds since the epoch, or the
    /// last one plus one.
    fn next_sequence(&self) -> u64 {
        let now = crate::storage::now_ns();
        let previous = self
            .next_sequence
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |last| {
                Some(last.max(now.saturating_sub(1)).saturating_add(1))
            })
            .expect("the update always succeeds");
        previous.max(now.saturating_sub(1)).saturating_add(1)
    }

    /// Brings the keys' files up to date with the journal and empties it. Batches are
    /// checkpointed on their own (see [`Storage::commit_batch`]); call this to have every
    /// file hold its key's value now, for a program that reads the files directly.
    pub fn checkpoint(&self) -> Result<()> {
        let mut wal = self.journal.lock_wal();
        self.check_writable()?;
        self.checkpoint_locked(&mut wal, AfterCheckpoint::Reuse)
    }

    /// Whether the journal holds a value of `key` the key's file does not, yet.
    fn is_pending(&self, key: &Key) -> bool {
        self.journal.read_pending().contains_key(key)
    }

    /// Runs `change`, a single save or delete of `key`, once no value of `key` is pending in
    /// the journal (checkpointing first if one is), with no batch or checkpoint running.
    pub(crate) fn settled<R>(&self, key: &Key, change: impl FnOnce() -> Result<R>) -> Result<R> {
        {
            let _shared = self.journal.share();
            self.check_writable()?;
            if !self.is_pending(key) {
                return change();
            }
        }
        let mut wal = self.journal.lock_wal();
        self.check_writable()?;
        if self.is_pending(key) {
            self.checkpoint_locked(&mut wal, AfterCheckpoint::Reuse)?;
        }
        change()
    }

    /// The checkpoint, with the journal's lock held. A failure before the first rename leaves
    /// everything as it was; a failure after it poisons the handle (the journal still holds
    /// every value, and the next open finishes the checkpoint).
    pub(crate) fn checkpoint_locked(&self, wal: &mut Wal, after: AfterCheckpoint) -> Result<()> {
        let reused_and_empty = wal.files.len() == 1
            && wal.current.as_ref().is_some_and(|c| c.len == 0)
            && after == AfterCheckpoint::Reuse;
        if wal.files.is_empty() || reused_and_empty {
            return Ok(());
        }
        let started = std::time::Instant::now();
        let entries: Vec<(Key, Entry)> = self
            .journal
            .read_pending()
            .iter()
            .map(|(k, e)| (k.clone(), e.clone()))
            .collect();
        // Readers in other processes wait while files are replaced, so none sees some keys of
        // a batch in their files and others not yet.
        let _apply = self.lock_apply(LockMode::Exclusive)?;
        let mut created = Vec::new();
        let staged = self.stage(&entries, &mut created);
        let temps = match staged {
            Ok(temps) => temps,
            Err(e) => {
                created.iter().for_each(|temp| self.discard(temp));
                return Err(e);
            }
        };
        self.replace_all(&entries, &temps, wal, after).inspect_err(|e| {
            self.poisoned.store(true, Ordering::SeqCst);
            tracing::error!(error = %e, "a checkpoint failed half way; the store refuses writes until reopened, which finishes it");
        })?;
        self.journal.write_pending().clear();
        tracing::debug!(
            keys = entries.len(),
            ms = started.elapsed().as_secs_f64() * 1e3,
            "checkpoint: the journal's values are in the keys' files"
        );
        Ok(())
    }

    /// Writes and syncs a temp file for every value to checkpoint. Returns the temp of each
    /// entry (`None` for a delete).
    fn stage(
        &self,
        entries: &[(Key, Entry)],
        created: &mut Vec<PathBuf>,
    ) -> Result<Vec<Option<PathBuf>>> {
        let mut files: Vec<(PathBuf, Box<dyn FileHandle>)> = Vec::new();
        let mut temps = Vec::with_capacity(entries.len());
        for (key, entry) in entries {
            let Some(value) = &entry.value else {
                temps.push(None);
                continue;
            };
            let temp = temp_path(&self.path_of(key))?;
            // A new folder is made durable in its parent now; the renames' folders are synced
            // after the renames.
            let mut file = self.create_temp(&temp, Durability::Full)?;
            created.push(temp.clone());
            file.write_all(value)
                .map_err(|e| Error::io("write", &temp, e))?;
            temps.push(Some(temp.clone()));
            files.push((temp, file));
        }
        // Start every file's writeback first, then wait for each: the group costs about one
        // sync, not one per file. A failed sync is never retried: the temps go away and the
        // journal still holds the values.
        for (path, file) in &mut files {
            file.start_sync()
                .map_err(|e| Error::io("fsync", &*path, e))?;
        }
        for (path, file) in &mut files {
            file.sync().map_err(|e| Error::io("fsync", &*path, e))?;
        }
        Ok(temps)
    }

    /// The renames and removals of a checkpoint, the folder syncs, and the journal's end: the
    /// current file restarted (its first record's header zeroed, so it reads as empty), every
    /// other one removed.
    fn replace_all(
        &self,
        entries: &[(Key, Entry)],
        temps: &[Option<PathBuf>],
        wal: &mut Wal,
        after: AfterCheckpoint,
    ) -> Result<()> {
        let mut dirs = BTreeSet::new();
        for ((key, _), temp) in entries.iter().zip(temps) {
            let target = self.path_of(key);
            match temp {
                Some(temp) => self
                    .backend
                    .rename(temp, &target)
                    .map_err(|e| Error::io("rename", &target, e))?,
                None => {
                    if !self.remove_if_present(&target, "delete")? {
                        continue;
                    }
                }
            }
            dirs.insert(
                target
                    .parent()
                    .expect("a key's path has a parent")
                    .to_path_buf(),
            );
        }
        // The journal may only end once every rename and removal is durable: otherwise a power
        // loss could keep the journal's end and lose some of the renames.
        for dir in &dirs {
            self.sync_dir_or_poison(dir)?;
        }
        let reuse_limit = self.checkpoint_bytes.saturating_mul(2).max(1024 * 1024);
        let keep = match &wal.current {
            Some(current) if after == AfterCheckpoint::Reuse && current.size <= reuse_limit => {
                Some(current.path.clone())
            }
            _ => None,
        };
        // The journal's files end oldest first, each durably before the next: were an older
        // one to come back after a power loss while a newer one is gone, its old values would
        // be replayed over the newer ones. (Only a write that failed part way leaves more than
        // one file.)
        let journal_dir = self.journal_dir();
        for path in &wal.files {
            if Some(path) == keep.as_ref() {
                continue;
            }
            self.remove_if_present(path, "remove")?;
            self.sync_dir_or_poison(&journal_dir)?;
        }
        match wal.current.as_mut() {
            Some(current) if keep.is_some() => {
                if current.len > 0 {
                    // Durable before anything else changes, as the removals above.
                    current
                        .file
                        .write_all_at(0, &[0; record::HEADER_LEN])
                        .and_then(|()| current.file.sync())
                        .map_err(|e| Error::io("reset", &current.path, e))?;
                    current.len = 0;
                    current.generation = None;
                }
            }
            _ => wal.current = None,
        }
        wal.files = keep.into_iter().collect();
        wal.bytes = 0;
        Ok(())
    }

    /// The writer's recovery at open: apply what the journal holds, drop torn records,
    /// quarantine damaged files, and pick the next sequence number.
    pub(crate) fn recover_at_open(&self) -> Result<Recovery> {
        let journal_dir = self.journal_dir();
        let mut files: Vec<(u64, PathBuf)> = Vec::new();
        let mut last = 0;
        for entry in self.read_dir_or_empty(&journal_dir)? {
            if !entry.is_file {
                continue;
            }
            if let Some(sequence) = wal_sequence(&entry.name) {
                files.push((sequence, journal_dir.join(&entry.name)));
            }
            if let Some(sequence) = leading_sequence(&entry.name) {
                last = last.max(sequence);
            }
        }
        files.sort();
        let mut recovery = Recovery::default();
        let mut pending = Pending::new();
        let mut wal = self.journal.lock_wal();
        let mut quarantine = Vec::new();
        for (_, path) in files {
            if !quarantine.is_empty() {
                // After a damaged file nothing is applied: its later batches may depend on the
                // ones lost in the damage.
                quarantine.push(path);
                continue;
            }
            let bytes = self
                .backend
                .read(&path)
                .map_err(|e| Error::io("read", &path, e))?;
            let scan = record::scan(&bytes);
            for record in scan.records {
                last = last.max(record.sequence);
                recovery.replayed += 1;
                apply_record(&mut pending, record);
            }
            match scan.end {
                ScanEnd::Clean => wal.files.push(path),
                ScanEnd::Torn { at } => {
                    tracing::info!(journal = %path.display(), offset = at, "dropping a batch whose append a crash interrupted");
                    recovery.discarded += 1;
                    wal.files.push(path);
                }
                ScanEnd::Damaged { at, detail } => {
                    tracing::error!(journal = %path.display(), offset = at, detail,
                        "a journal record is damaged; the batches before it are applied, none from it on");
                    quarantine.push(path);
                }
            }
        }
        *self.journal.write_pending() = pending;
        match self.checkpoint_locked(&mut wal, AfterCheckpoint::Remove) {
            Ok(()) => {}
            // A full disk does not keep the store from opening: the journal's values are read
            // from memory, and the next checkpoint (a batch, a save of one of its keys, the
            // drop) tries again once there is space.
            Err(e @ Error::NoSpace { .. }) if !self.poisoned.load(Ordering::SeqCst) => {
                tracing::warn!(error = %e, "the journal cannot be checkpointed for lack of space; its values stay in it");
            }
            Err(e) => return Err(e),
        }
        for path in quarantine {
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_suffix(record::WAL_SUFFIX))
                .expect("journal files are named <sequence>.wal");
            let to = path.with_file_name(format!("{name}{DAMAGED_SUFFIX}"));
            self.backend
                .rename(&path, &to)
                .map_err(|e| Error::io("rename", &path, e))?;
            recovery.quarantined.push(to);
        }
        if !recovery.quarantined.is_empty() {
            self.sync_dir_or_poison(&journal_dir)?;
        }
        self.next_sequence.store(last, Ordering::SeqCst);
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

    /// What [`Storage::open`] found in the journal (all zero for a read-only handle).
    pub fn recovery(&self) -> &Recovery {
        &self.recovery
    }

    /// How the keys the journal holds are seen by this handle: the writer's own pending values,
    /// or (a read-only handle, a poisoned writer) the journal on disk, under `apply.lock`.
    pub(crate) fn view(&self) -> Result<View<'_>> {
        if self.is_writer() && !self.poisoned.load(Ordering::SeqCst) {
            return Ok(View::Memory(self.journal.read_pending()));
        }
        let lock = self.shared_apply_lock()?;
        let pending = self.journal_on_disk()?;
        Ok(View::Disk {
            pending,
            _lock: lock,
        })
    }

    /// The journal as it stands on disk, as recovery would apply it (up to a damaged record;
    /// a record being written right now is not complete and not seen).
    fn journal_on_disk(&self) -> Result<Pending> {
        let mut pending = Pending::new();
        for scan in self.scan_journal()? {
            for record in scan.records {
                apply_record(&mut pending, record);
            }
        }
        Ok(pending)
    }

    /// The scans of the journal files on disk, oldest first, up to and including the first
    /// with a damaged record (recovery applies nothing after it).
    fn scan_journal(&self) -> Result<Vec<record::Scan>> {
        let journal_dir = self.journal_dir();
        let mut files: Vec<(u64, PathBuf)> = self
            .read_dir_or_empty(&journal_dir)?
            .into_iter()
            .filter(|e| e.is_file)
            .filter_map(|e| wal_sequence(&e.name).map(|s| (s, journal_dir.join(&e.name))))
            .collect();
        files.sort();
        let mut scans = Vec::with_capacity(files.len());
        for (_, path) in files {
            // A file whose run has ended (its first header zeroed by a checkpoint) holds only
            // stale bytes, up to twice the checkpoint size: its header says so.
            let head = match self.backend.read_prefix(&path, record::HEADER_LEN) {
                Ok(head) => head,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(Error::io("read", path, e)),
            };
            if !record::starts_a_run(&head) {
                continue;
            }
            let bytes = match self.backend.read(&path) {
                Ok(bytes) => bytes,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(Error::io("read", path, e)),
            };
            let scan = record::scan(&bytes);
            let damaged = matches!(scan.end, ScanEnd::Damaged { .. });
            scans.push(scan);
            if damaged {
                break;
            }
        }
        Ok(scans)
    }

    /// How many committed batches the journal on disk holds that are not yet in the keys'
    /// files (a writer checkpoints them; see [`Storage::checkpoint`]).
    pub fn journal_records(&self) -> Result<usize> {
        let _lock = self.shared_apply_lock()?;
        Ok(self.scan_journal()?.iter().map(|s| s.records.len()).sum())
    }

    /// Reads several keys as one consistent view: no batch is ever seen half applied, by this
    /// process or another. The values come in the order of `keys` (`None`: no such key).
    ///
    /// The writer reads its pending values and the files under an in-process lock its batches
    /// wait for. A read-only handle holds `apply.lock` shared (checkpoints wait for it) and
    /// reads the journal on disk before the files.
    pub fn read_many(&self, keys: &[Key]) -> Result<Vec<Option<Vec<u8>>>> {
        let view = self.view()?;
        keys.iter()
            .map(|key| match view.get(key) {
                Some(entry) => Ok(entry.value.as_ref().map(|v| v.to_vec())),
                None => self.read_direct(key),
            })
            .collect()
    }

    /// The shared `apply.lock` of a read-only handle. `None` where the lock file cannot be
    /// opened because it does not exist and cannot be created (no writer of this format ever
    /// opened the store, so no batch can be in flight) or the file system is read-only.
    fn shared_apply_lock(&self) -> Result<Option<LockGuard>> {
        match self.lock_apply(LockMode::Shared) {
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
    pub(crate) fn checkpoint_on_drop(&self) {
        if !self.is_writer() || self.poisoned.load(Ordering::SeqCst) {
            return;
        }
        let mut wal = self.journal.lock_wal();
        if let Err(e) = self.checkpoint_locked(&mut wal, AfterCheckpoint::Remove) {
            tracing::warn!(error = %e, "the final checkpoint failed; the next open finishes it");
        }
    }
}
