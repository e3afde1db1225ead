//! Atomic batches: the journal protocol of DESIGN §5, its recovery, and reads that never see
//! a batch half applied. `docs/durability.md` states the protocol and its promises.
//!
//! A batch goes through these steps; the record's rename into the journal is the commit point.
//!
//! 1. *Stage*: write every temp file and the record (as a temp file in the journal folder);
//!    start writeback of all of them, then sync each, then sync the folders holding the temps
//!    (the record promises recovery will find them). A failure here removes the temps and
//!    leaves the store as it was.
//! 2. *Commit*: take `apply.lock` exclusively, rename the record to `<sequence>.rec`, sync
//!    the journal folder.
//! 3. *Apply*: the renames and removals, then sync every folder they touched.
//! 4. Remove the record. Its removal is made durable lazily, before the next change that could
//!    overwrite one of its targets (`Storage::journal_unsynced`), or by the next batch's commit.
//!
//! A failure after the commit point poisons the handle: the record stays, and whoever opens the
//! store next (a writer, or a reader while no writer holds the store) finishes the batch.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

use crate::backend::{FileHandle, LockGuard, LockMode};
use crate::error::{Error, Result};
use crate::journal::{
    DAMAGED_SUFFIX, Record, RecordOp, leading_sequence, record_name, record_sequence,
};
use crate::key::Key;
use crate::storage::{Durability, Storage, is_temp_name, now_ms, temp_path};

/// The journal's folder, inside `.statevault/`.
pub(crate) const JOURNAL_DIR: &str = "journal";
/// The lock a batch holds exclusively while it is applied and readers hold shared.
pub(crate) const APPLY_LOCK: &str = "apply.lock";

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
    /// Complete records replayed: their batches are now wholly applied.
    pub replayed: usize,
    /// Incomplete records removed: batches that never reached their commit point (nothing of
    /// them was ever visible).
    pub discarded: usize,
    /// Records that could not be replayed (damaged, or naming a value that is neither in its
    /// temp file nor in its target), renamed to `<sequence>.rec.damaged` with nothing of them
    /// applied. Only a lying or failing medium, or a power loss after a
    /// [`Durability::None`] batch, leaves one.
    pub quarantined: Vec<PathBuf>,
}

/// Where a Put of a complete record stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PutState {
    /// The temp file is still there: the rename is to be done.
    Pending,
    /// The temp file is gone and the target holds the recorded bytes: done.
    Applied,
}

/// Where the value of a key named by a pending record is to be read.
enum Source {
    /// In this temp file (or in the target, once the temp was renamed).
    Put(PathBuf),
    Deleted,
}

impl Storage {
    /// Applies `ops` all-or-nothing: after a crash or power loss at any point, every operation
    /// or none is visible (once the store is recovered: by the next writer's open, or by the
    /// next read). A key may appear only once ([`Error::DuplicateInBatch`]); an empty batch does
    /// nothing.
    ///
    /// With [`Durability::Full`] and [`Durability::Normal`] the batch survives a power loss
    /// once this returns (a batch cannot skip the folder syncs a Normal single save skips
    /// without giving up atomicity, so both levels commit the same way). With
    /// [`Durability::None`] nothing is synced: the batch is all-or-nothing against a crash of
    /// the process, not against a power loss.
    ///
    /// An error before the commit point leaves nothing visible and removes the temp files. An
    /// error after it (a rename, a folder sync) poisons the handle ([`Error::Poisoned`] for
    /// further writes): the batch is committed, reads of this handle already see it whole, and
    /// the next open finishes applying it.
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
        let mut created = Vec::new();
        let staged = self.stage(&ops, durability, &mut created);
        drop(ops);
        let (record, record_temp, dirs) = match staged {
            Ok(staged) => staged,
            Err(e) => {
                created.iter().for_each(|temp| self.discard(temp));
                return Err(e);
            }
        };
        // Readers of this process (`read_many`) and of others (`apply.lock`) wait from here
        // until the record is gone.
        let _in_process = self.apply.write().unwrap_or_else(|e| e.into_inner());
        let committed = self.lock_apply(LockMode::Exclusive).and_then(|lock| {
            let record_path = self.journal_dir().join(record_name(record.sequence));
            match self.backend.rename(&record_temp, &record_path) {
                Ok(()) => Ok((lock, record_path)),
                Err(e) => Err(Error::io("rename", &record_path, e)),
            }
        });
        let (_lock, record_path): (LockGuard, PathBuf) = match committed {
            Ok(committed) => committed,
            Err(e) => {
                created.iter().for_each(|temp| self.discard(temp));
                return Err(e);
            }
        };
        // The commit point is passed: from here on a failure leaves the batch to recovery.
        self.apply_committed(&record, &record_path, &dirs, durability)
            .inspect_err(|e| {
                self.poisoned.store(true, Ordering::SeqCst);
                tracing::error!(record = %record_path.display(), error = %e,
                    "a committed batch could not be applied; the store refuses writes until reopened, which finishes it");
            })
    }

    /// Writes and syncs every temp file and the record's temp file. Returns the record, the
    /// record's temp file, and every folder the batch touches.
    fn stage(
        &self,
        ops: &[BatchOp],
        durability: Durability,
        created: &mut Vec<PathBuf>,
    ) -> Result<(Record, PathBuf, BTreeSet<PathBuf>)> {
        let mut files: Vec<(PathBuf, Box<dyn FileHandle>)> = Vec::new();
        let mut record_ops = Vec::with_capacity(ops.len());
        let mut dirs = BTreeSet::new();
        let mut temp_dirs = BTreeSet::new();
        for op in ops {
            let target = self.path_of(op.key());
            let dir = target
                .parent()
                .expect("a key's path has a parent")
                .to_path_buf();
            match op {
                BatchOp::Put { key, bytes } => {
                    let temp = temp_path(&target)?;
                    // A new folder must be durable before the record is, whatever the level
                    // (but None): the apply phase syncs the folder's entries, not its own name
                    // in its parent.
                    let folders = match durability {
                        Durability::None => Durability::None,
                        _ => Durability::Full,
                    };
                    let mut file = self.create_temp(&temp, folders)?;
                    created.push(temp.clone());
                    file.write_all(bytes)
                        .map_err(|e| Error::io("write", &temp, e))?;
                    record_ops.push(RecordOp::Put {
                        key: key.clone(),
                        temp: file_name(&temp),
                        len: bytes.len() as u64,
                        crc: crc32c::crc32c(bytes),
                    });
                    files.push((temp, file));
                    temp_dirs.insert(dir.clone());
                }
                BatchOp::Delete { key } => record_ops.push(RecordOp::Delete { key: key.clone() }),
            }
            dirs.insert(dir);
        }
        let record = Record {
            sequence: self.next_sequence.fetch_add(1, Ordering::SeqCst),
            ops: record_ops,
        };
        let record_temp = temp_path(&self.journal_dir().join(record_name(record.sequence)))?;
        let mut file = self
            .backend
            .create_new(&record_temp)
            .map_err(|e| Error::io("create", &record_temp, e))?;
        created.push(record_temp.clone());
        file.write_all(&record.encode())
            .map_err(|e| Error::io("write", &record_temp, e))?;
        files.push((record_temp.clone(), file));
        if durability != Durability::None {
            // Start every file's writeback first, then wait for each: the group costs about
            // one sync, not one per file. A failed sync is never retried: the temps go away and
            // the caller still has the values in memory.
            for (path, file) in &mut files {
                file.start_sync()
                    .map_err(|e| Error::io("fsync", &*path, e))?;
            }
            for (path, file) in &mut files {
                file.sync().map_err(|e| Error::io("fsync", &*path, e))?;
            }
            drop(files);
            // The record will promise that recovery finds the temp files, so their names must
            // be durable before it is. Nothing is published yet: a failure here is not poison.
            for dir in &temp_dirs {
                self.backend
                    .sync_dir(dir)
                    .map_err(|e| Error::io("fsync folder", dir, e))?;
            }
        }
        Ok((record, record_temp, dirs))
    }

    /// Steps after the commit point: make it durable, apply, sync, remove the record.
    fn apply_committed(
        &self,
        record: &Record,
        record_path: &Path,
        dirs: &BTreeSet<PathBuf>,
        durability: Durability,
    ) -> Result<()> {
        let sync = durability != Durability::None;
        if sync {
            self.sync_dir_or_poison(&self.journal_dir())?;
        }
        for op in &record.ops {
            let target = self.path_of(op.key());
            match op {
                RecordOp::Put { temp, .. } => {
                    let temp = target.with_file_name(temp);
                    self.backend
                        .rename(&temp, &target)
                        .map_err(|e| Error::io("rename", &target, e))?;
                }
                RecordOp::Delete { .. } => {
                    self.remove_if_present(&target, "delete")?;
                }
            }
        }
        // The record may only go once every rename and removal is durable: otherwise a power
        // loss could keep the record's removal and lose some of the renames.
        if sync {
            for dir in dirs {
                self.sync_dir_or_poison(dir)?;
            }
        }
        self.backend
            .remove_file(record_path)
            .map_err(|e| Error::io("remove", record_path, e))?;
        self.journal_unsynced.store(true, Ordering::SeqCst);
        Ok(())
    }

    /// Reads several keys as one consistent view: no batch is ever seen half applied, by this
    /// process or another. The values come in the order of `keys` (`None`: no such key).
    ///
    /// On the writer this holds an in-process lock against the writer's own batches. On a
    /// read-only handle it holds `apply.lock` shared while reading; when it finds a journal
    /// record (a batch a crash interrupted) and no writer holds the store, it recovers the
    /// store first (taking the writer lock for that moment); where it may not, it reads through
    /// the record (a Put's value is in its temp file, a Delete means absent).
    pub fn read_many(&self, keys: &[Key]) -> Result<Vec<Option<Vec<u8>>>> {
        if self.is_writer() {
            let _in_process = self.apply.read().unwrap_or_else(|e| e.into_inner());
            if self.poisoned.load(Ordering::SeqCst) {
                // A batch of this handle may have stopped after its commit point: what is
                // on disk is the record, and it says what the store holds.
                return self.read_through(keys);
            }
            return keys.iter().map(|key| self.read_direct(key)).collect();
        }
        let mut recovered = false;
        loop {
            let lock = self.shared_apply_lock()?;
            if !self.has_records()? {
                let values = keys.iter().map(|key| self.read_direct(key)).collect();
                drop(lock);
                return values;
            }
            if recovered {
                let values = self.read_through(keys);
                drop(lock);
                return values;
            }
            drop(lock);
            recovered = true;
            self.recover_as_reader();
        }
    }

    /// What [`Storage::open`] found in the journal (all zero for a read-only handle).
    pub fn recovery(&self) -> &Recovery {
        &self.recovery
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

    fn has_records(&self) -> Result<bool> {
        Ok(self
            .read_dir_or_empty(&self.journal_dir())?
            .iter()
            .any(|e| e.is_file && record_sequence(&e.name).is_some()))
    }

    /// A read-only handle found a record: finish its batch if no writer holds the store.
    /// Any failure (the store is held, no permission to write) leaves reading through.
    fn recover_as_reader(&self) {
        let _writer = match self.try_lock_writer() {
            Ok(lock) => lock,
            Err(e) => {
                tracing::debug!(error = %e, "a journal record is pending and the store cannot be recovered now; reading through it");
                return;
            }
        };
        let result = self.lock_apply(LockMode::Exclusive).and_then(|_apply| {
            let recovery = self.replay_journal()?;
            self.backend
                .sync_dir(&self.journal_dir())
                .map_err(|e| Error::io("fsync folder", self.journal_dir(), e))?;
            Ok(recovery)
        });
        match result {
            Ok(recovery) => {
                tracing::info!(
                    replayed = recovery.replayed,
                    quarantined = recovery.quarantined.len(),
                    "a reader recovered batches a crash interrupted"
                );
            }
            Err(e) => {
                tracing::warn!(error = %e, "a reader could not recover the journal; reading through it");
            }
        }
    }

    /// The writer's recovery at open, under `apply.lock`: replay complete records, remove
    /// incomplete ones, make all of it durable, and pick the next sequence number.
    pub(crate) fn recover_at_open(&self) -> Result<Recovery> {
        let _apply = self.lock_apply(LockMode::Exclusive)?;
        let mut recovery = self.replay_journal()?;
        let journal = self.journal_dir();
        let mut last = 0;
        for entry in self.read_dir_or_empty(&journal)? {
            if !entry.is_file {
                continue;
            }
            if is_temp_name(&entry.name) {
                // A record that never reached its commit point.
                let path = journal.join(&entry.name);
                recovery.discarded += usize::from(self.remove_if_present(&path, "remove")?);
            } else if let Some(sequence) = leading_sequence(&entry.name) {
                last = last.max(sequence);
            }
        }
        // Also makes durable the removal of the last record of an earlier session, before
        // this one changes anything (the rule `journal_unsynced` keeps within a session).
        self.backend
            .sync_dir(&journal)
            .map_err(|e| Error::io("fsync folder", &journal, e))?;
        // Sequence numbers grow across sessions too (microseconds since the epoch), so a new
        // record never takes the name of a quarantined one.
        let start = (now_ms().saturating_mul(1000)).max(last.saturating_add(1));
        self.next_sequence.store(start, Ordering::SeqCst);
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

    /// Replays every complete record, oldest first. The caller holds `apply.lock` exclusively
    /// and the writer lock.
    fn replay_journal(&self) -> Result<Recovery> {
        let journal = self.journal_dir();
        let mut records: Vec<(u64, PathBuf)> = self
            .read_dir_or_empty(&journal)?
            .into_iter()
            .filter(|e| e.is_file)
            .filter_map(|e| record_sequence(&e.name).map(|s| (s, journal.join(&e.name))))
            .collect();
        records.sort();
        let mut recovery = Recovery::default();
        for (_, path) in records {
            match self.replay_record(&path)? {
                None => recovery.replayed += 1,
                Some(quarantined) => recovery.quarantined.push(quarantined),
            }
        }
        Ok(recovery)
    }

    /// Replays one record idempotently. Returns where it was quarantined, if it was.
    fn replay_record(&self, path: &Path) -> Result<Option<PathBuf>> {
        let bytes = self
            .backend
            .read(path)
            .map_err(|e| Error::io("read", path, e))?;
        let record = match Record::decode(&bytes) {
            Ok(record) => record,
            Err(detail) => return self.quarantine(path, &detail).map(Some),
        };
        let states = match self.check_record(&record)? {
            Ok(states) => states,
            Err(detail) => return self.quarantine(path, &detail).map(Some),
        };
        let mut dirs = BTreeSet::new();
        for (op, state) in record.ops.iter().zip(states) {
            let target = self.path_of(op.key());
            match op {
                RecordOp::Put { temp, .. } => {
                    if state == Some(PutState::Pending) {
                        let temp = target.with_file_name(temp);
                        self.backend
                            .rename(&temp, &target)
                            .map_err(|e| Error::io("rename", &target, e))?;
                    }
                }
                RecordOp::Delete { .. } => {
                    self.remove_if_present(&target, "delete")?;
                }
            }
            dirs.insert(
                target
                    .parent()
                    .expect("a key's path has a parent")
                    .to_path_buf(),
            );
        }
        for dir in &dirs {
            match self.backend.sync_dir(dir) {
                Ok(()) => {}
                // A batch of deletes only may name a folder that never existed.
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::io("fsync folder", dir, e)),
            }
        }
        self.backend
            .remove_file(path)
            .map_err(|e| Error::io("remove", path, e))?;
        tracing::info!(record = %path.display(), operations = record.ops.len(), "replayed a committed batch");
        Ok(None)
    }

    /// Checks that every Put of `record` can be completed: its temp file is there, or its target
    /// already holds the recorded bytes. `Ok(Err(detail))` when one cannot: the record is then
    /// not applied at all (a partial replay would be exactly the half-applied batch this
    /// protects against).
    fn check_record(
        &self,
        record: &Record,
    ) -> Result<std::result::Result<Vec<Option<PutState>>, String>> {
        let mut states = Vec::with_capacity(record.ops.len());
        for op in &record.ops {
            let RecordOp::Put {
                key,
                temp,
                len,
                crc,
            } = op
            else {
                states.push(None);
                continue;
            };
            let target = self.path_of(key);
            let temp = target.with_file_name(temp);
            match self.backend.metadata(&temp) {
                Ok(meta) if !meta.is_dir && !meta.is_symlink => {
                    states.push(Some(PutState::Pending));
                    continue;
                }
                Ok(_) => {
                    return Ok(Err(format!("{} is not a regular file", temp.display())));
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::io("stat", temp, e)),
            }
            // The temp is gone: the rename was done, and the target must hold the value.
            let held = match self.backend.read(&target) {
                Ok(bytes) => bytes,
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    return Ok(Err(format!(
                        "key {key}: neither its temp file nor its file exists"
                    )));
                }
                Err(e) => return Err(Error::io("read", target, e)),
            };
            if held.len() as u64 != *len || crc32c::crc32c(&held) != *crc {
                return Ok(Err(format!(
                    "key {key}: its temp file is gone and its file does not hold the recorded \
                     value ({} bytes, crc32c {:08x}; recorded {len} bytes, {crc:08x})",
                    held.len(),
                    crc32c::crc32c(&held)
                )));
            }
            states.push(Some(PutState::Applied));
        }
        Ok(Ok(states))
    }

    fn quarantine(&self, path: &Path, detail: &str) -> Result<PathBuf> {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".rec"))
            .expect("records are named <sequence>.rec");
        let to = path.with_file_name(format!("{name}{DAMAGED_SUFFIX}"));
        tracing::error!(record = %path.display(), quarantined = %to.display(), detail,
            "a journal record cannot be replayed; nothing of it was applied");
        self.backend
            .rename(path, &to)
            .map_err(|e| Error::io("rename", path, e))?;
        Ok(to)
    }

    /// Reads `keys` as the pending records say the store holds them. The caller keeps the
    /// records from changing (it holds `apply.lock` shared, or it is the poisoned writer).
    fn read_through(&self, keys: &[Key]) -> Result<Vec<Option<Vec<u8>>>> {
        let journal = self.journal_dir();
        let mut records: Vec<(u64, PathBuf)> = self
            .read_dir_or_empty(&journal)?
            .into_iter()
            .filter(|e| e.is_file)
            .filter_map(|e| record_sequence(&e.name).map(|s| (s, journal.join(&e.name))))
            .collect();
        records.sort();
        let mut overlay: HashMap<Key, Source> = HashMap::new();
        for (_, path) in records {
            let bytes = match self.backend.read(&path) {
                Ok(bytes) => bytes,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(Error::io("read", path, e)),
            };
            // A record recovery would quarantine is one it would not apply: skip it too.
            let Ok(record) = Record::decode(&bytes) else {
                continue;
            };
            if self.check_record(&record)?.is_err() {
                continue;
            }
            for op in record.ops {
                let source = match &op {
                    RecordOp::Put { key, temp, .. } => {
                        Source::Put(self.path_of(key).with_file_name(temp))
                    }
                    RecordOp::Delete { .. } => Source::Deleted,
                };
                overlay.insert(op.key().clone(), source);
            }
        }
        keys.iter()
            .map(|key| match overlay.get(key) {
                None => self.read_direct(key),
                Some(Source::Deleted) => Ok(None),
                Some(Source::Put(temp)) => match self.backend.read(temp) {
                    Ok(bytes) => Ok(Some(bytes)),
                    // Renamed since the check: the target holds it now.
                    Err(e) if e.kind() == io::ErrorKind::NotFound => self.read_direct(key),
                    Err(e) => Err(Error::io("read", temp, e)),
                },
            })
            .collect()
    }
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .and_then(|n| n.to_str())
        .expect("temp names are UTF-8")
        .to_owned()
}
