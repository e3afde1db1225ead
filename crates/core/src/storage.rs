//! `Storage`, the handle of an open store: opening (identity, writer lock, recovery, stray temp
//! files, the legacy service's file names) and the operations on keys, as bytes. It holds the
//! store's [`Folder`] and its [`Journal`] and calls into them; neither reaches back.

use std::collections::HashSet;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::backend::{Backend, Confined, FsBackend, Metadata};
use crate::batch::{BatchOp, Commit};
use crate::durability::Durability;
use crate::error::{Error, Result};
use crate::files::StoreFiles;
use crate::fold::{Fold, Folding, Layers};
use crate::folder::Folder;
use crate::idle::IdleCheckpointer;
use crate::info::{self, IdentityRecovery, StoreInfo};
use crate::journal::{DEFAULT_CHECKPOINT_BYTES, Journal, Recovery};
use crate::key::{Key, folder_namespace};
use crate::pending::Entry;
use crate::view::View;

/// The folder of the store's own bookkeeping, inside the root.
pub const META_DIR: &str = ".statevault";

/// The namespace folders created with every store, from the module specification's layout.
const LAYOUT_DIRS: &[&str] = &["layouts", "settings", "history", "config"];

/// The backup folders created with every store (0700), as the module specification's layout
/// shows them: snapshots the store takes itself, and those a person asked for.
const BACKUP_DIRS: &[&str] = &["backups/auto", "backups/manual"];

/// How long a writer's journal stays quiet (no commit) before the idle checkpoint brings the
/// keys' files up to date, unless [`OpenOptions::idle_checkpoint`] says otherwise.
pub const DEFAULT_IDLE_CHECKPOINT: Duration = Duration::from_secs(2);

/// How [`Storage::open_with`] opens a store.
#[derive(Debug, Clone)]
pub struct OpenOptions {
    backend: Arc<dyn Backend>,
    read_only: bool,
    checkpoint_bytes: u64,
    idle_checkpoint: Option<Duration>,
    fold: Option<Arc<dyn Fold>>,
}

impl Default for OpenOptions {
    fn default() -> OpenOptions {
        OpenOptions {
            backend: Arc::new(FsBackend),
            read_only: false,
            checkpoint_bytes: DEFAULT_CHECKPOINT_BYTES,
            idle_checkpoint: Some(DEFAULT_IDLE_CHECKPOINT),
            fold: None,
        }
    }
}

impl OpenOptions {
    /// The defaults: the real file system, opened for writing.
    pub fn new() -> OpenOptions {
        OpenOptions::default()
    }

    /// Uses another backend (tests: fault injection, power-loss simulation).
    pub fn backend(mut self, backend: Arc<dyn Backend>) -> OpenOptions {
        self.backend = backend;
        self
    }

    /// How amendments ([`BatchOp::Amend`]) are folded into values: at a checkpoint, and when
    /// [`Storage::read`] asks for an amended value. Without one, a store whose journal holds
    /// amendments cannot checkpoint them, and a plain read of an amended key is
    /// [`Error::Fold`]; [`Storage::read_layers`] works either way.
    pub fn fold(mut self, fold: Arc<dyn Fold>) -> OpenOptions {
        self.fold = Some(fold);
        self
    }

    /// Opens without the writer lock and without creating or changing anything, for a
    /// process that only reads a store another process may be writing.
    pub fn read_only(mut self, read_only: bool) -> OpenOptions {
        self.read_only = read_only;
        self
    }

    /// How many bytes of batches the journal holds before the writer checkpoints them into
    /// the keys' files ([`DEFAULT_CHECKPOINT_BYTES`], 8 MiB, unless set). Smaller means less
    /// memory for pending values and more file replacements; `0` checkpoints every batch at
    /// once (the protocol of a journal of renames, at its cost).
    pub fn checkpoint_bytes(mut self, bytes: u64) -> OpenOptions {
        self.checkpoint_bytes = bytes;
        self
    }

    /// How long the journal of a writer stays quiet before a thread of the writer checkpoints
    /// it ([`DEFAULT_IDLE_CHECKPOINT`], 2 s, unless set): a key's file then lags its last
    /// save by about that much while the application runs. `None` starts no thread: the
    /// files are brought up to date only when the journal is full, by
    /// [`Storage::checkpoint`] and when the writer is dropped (tests that count operations
    /// need that).
    pub fn idle_checkpoint(mut self, idle: Option<Duration>) -> OpenOptions {
        self.idle_checkpoint = idle;
        self
    }
}

/// An open store folder: the raw operations on keys, as bytes.
///
/// A writer holds `.statevault/lock` exclusively for as long as the `Storage` lives, so a
/// second writer, in this process or another, is refused with [`Error::Locked`].
#[derive(Debug)]
pub struct Storage {
    /// The root, the I/O seam, the writer lock and the poison flag (shared with the idle
    /// checkpoint thread).
    folder: Arc<Folder>,
    /// The journal: its files and the values they hold that the keys' files do not yet.
    journal: Arc<Journal>,
    /// A writer's idle checkpoint thread.
    idle: Option<IdleCheckpointer>,
    info: Option<StoreInfo>,
    recovery: Recovery,
    temp_files_removed: usize,
    legacy_files_adopted: usize,
}

impl Storage {
    /// Opens (creating if needed) the store at `root` for writing.
    pub fn open(root: impl AsRef<Path>) -> Result<Storage> {
        Storage::open_with(root, OpenOptions::new())
    }

    /// Opens the store at `root` with `options`.
    pub fn open_with(root: impl AsRef<Path>, options: OpenOptions) -> Result<Storage> {
        let root = absolute(root.as_ref())?;
        let journal = Journal::new(
            &root.join(META_DIR),
            options.checkpoint_bytes,
            Folding::new(options.fold),
        );
        let backend = Arc::new(Confined::new(root.clone(), options.backend));
        let mut storage = Storage {
            folder: Arc::new(Folder::new(root, backend)),
            journal: Arc::new(journal),
            idle: None,
            info: None,
            recovery: Recovery::default(),
            temp_files_removed: 0,
            legacy_files_adopted: 0,
        };
        if options.read_only {
            storage.open_reader()?;
        } else {
            storage.open_writer()?;
            if let Some(idle) = options.idle_checkpoint {
                storage.start_idle_checkpoint(idle)?;
            }
        }
        Ok(storage)
    }

    /// Restores the identity of the store at `root` (`.statevault/store.json`) from its copy
    /// `.statevault/store.json.bak` when it is missing or damaged: the repair an open that
    /// failed with [`Error::CorruptMetadata`] on `store.json` asks for. Takes the writer lock
    /// ([`Error::Locked`] while a writer has the store open) and changes nothing else; an
    /// intact `store.json` is left as it is (its copy is brought up to date).
    ///
    /// # Errors
    /// [`Error::NotAStore`] without a `.statevault` folder; [`Error::CorruptMetadata`] naming
    /// the copy when it is missing or damaged too (nothing is written then: a new identity
    /// would make every encrypted value unreadable).
    pub fn recover_identity(
        root: impl AsRef<Path>,
        options: OpenOptions,
    ) -> Result<IdentityRecovery> {
        let root = absolute(root.as_ref())?;
        let backend = Arc::new(Confined::new(root.clone(), options.backend));
        let mut folder = Folder::new(root, backend);
        let meta_dir = folder.root().join(META_DIR);
        match folder.backend().metadata(&meta_dir) {
            Ok(meta) if meta.is_dir => {}
            Ok(_) => {
                return Err(Error::NotAStore {
                    dir: folder.root().to_path_buf(),
                });
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(Error::NotAStore {
                    dir: folder.root().to_path_buf(),
                });
            }
            Err(e) => return Err(Error::io("open", &meta_dir, e)),
        }
        folder.take_writer_lock(&meta_dir.join("lock"))?;
        info::recover(&folder, &meta_dir)
    }

    fn open_reader(&mut self) -> Result<()> {
        let root = self.folder.root();
        match self.folder.backend().metadata(root) {
            // The root may be a link to the folder (see `Folder::create_dirs`).
            Ok(meta) if meta.is_dir || meta.is_symlink => {}
            Ok(_) => {
                return Err(Error::NotAStore {
                    dir: root.to_path_buf(),
                });
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(Error::NotAStore {
                    dir: root.to_path_buf(),
                });
            }
            Err(e) => return Err(Error::io("open", root, e)),
        }
        self.info = info::open(&self.folder, &self.folder.root().join(META_DIR), false)?;
        if let Some(info) = &self.info {
            self.journal.folding().set_store_id(&info.store_id);
        }
        Ok(())
    }

    fn open_writer(&mut self) -> Result<()> {
        let meta_dir = self.folder.root().join(META_DIR);
        self.folder.create_dirs(&meta_dir, Durability::Full)?;
        Arc::get_mut(&mut self.folder)
            .expect("nothing shares the folder while it opens")
            .take_writer_lock(&meta_dir.join("lock"))?;
        self.info = match info::open(&self.folder, &meta_dir, true)? {
            Some(info) => Some(info),
            None => Some(info::create(&self.folder, &meta_dir)?),
        };
        if let Some(info) = &self.info {
            self.journal.folding().set_store_id(&info.store_id);
        }
        for dir in LAYOUT_DIRS.iter().chain(BACKUP_DIRS) {
            self.folder
                .create_dirs(&self.folder.root().join(dir), Durability::Full)?;
        }
        // Batches the journal still holds are applied to the keys' files first (a crash, or a
        // writer that stopped without its last checkpoint).
        self.folder
            .create_dirs(self.journal.dir(), Durability::Full)?;
        self.recovery = self.journal.recover(&self.folder)?;
        self.temp_files_removed = self.folder.remove_stray_temp_files(self.folder.root())?;
        self.legacy_files_adopted = self.adopt_legacy_files()?;
        Ok(())
    }

    /// Moves files the application's earlier TypeScript service kept under dotted names into
    /// the paths their keys map to. That service dropped the namespace and kept the other
    /// segments as the file name, so `history.conversations.ab12` lived in
    /// `history/conversations.ab12.json`, where no key maps; here it becomes
    /// `history/conversations/ab12.json`. Only the namespace folders of the module
    /// specification are looked at (their folder names the namespace); the bytes are not
    /// touched (a rename); a file whose key already has a file of its own is left alone (the
    /// newer value wins, the old file is never read).
    fn adopt_legacy_files(&self) -> Result<usize> {
        let mut adopted = 0;
        for folder in LAYOUT_DIRS {
            let dir = self.folder.root().join(folder);
            for entry in self.folder.read_dir_or_empty(&dir)? {
                if !entry.is_file {
                    continue;
                }
                let Some(key) = Key::from_legacy_file(folder, &entry.name) else {
                    continue;
                };
                let target = self.path_of(&key);
                if self.metadata(&key)?.is_some() {
                    continue;
                }
                let target_dir = target.parent().expect("a key's path has a parent");
                self.folder.create_dirs(target_dir, Durability::Full)?;
                let from = dir.join(&entry.name);
                self.folder
                    .backend()
                    .rename(&from, &target)
                    .map_err(|e| Error::io("rename", &from, e))?;
                self.folder.sync_dir_or_poison(target_dir)?;
                self.folder.sync_dir_or_poison(&dir)?;
                tracing::info!(key = %key, from = %from.display(), "adopted a file of the legacy service");
                adopted += 1;
            }
        }
        Ok(adopted)
    }

    fn start_idle_checkpoint(&mut self, idle: Duration) -> Result<()> {
        let (folder, journal) = (self.folder.clone(), self.journal.clone());
        let checkpointer = IdleCheckpointer::start(self.journal.idle_signal(), idle, move || {
            journal.idle_checkpoint(&folder)
        })
        .map_err(|e| Error::io("start the checkpoint thread of", self.folder.root(), e))?;
        self.idle = Some(checkpointer);
        Ok(())
    }

    /// How many files of the legacy service, kept under dotted names, this writer's open moved
    /// to the paths of their keys.
    pub fn legacy_files_adopted(&self) -> usize {
        self.legacy_files_adopted
    }

    /// The store's root folder (absolute).
    pub fn root(&self) -> &Path {
        self.folder.root()
    }

    /// The store's identity; `None` only for a read-only open of a folder no statevault
    /// writer has opened yet (one written by the legacy service alone). A folder that holds
    /// data never opens without it: a missing or damaged `store.json` there is
    /// [`Error::CorruptMetadata`] (see [`Storage::recover_identity`]).
    pub fn info(&self) -> Option<&StoreInfo> {
        self.info.as_ref()
    }

    /// The store id, or the empty string where [`Storage::info`] is `None`.
    pub fn store_id(&self) -> &str {
        self.info.as_ref().map_or("", |i| i.store_id.as_str())
    }

    /// Whether this handle holds the writer lock.
    pub fn is_writer(&self) -> bool {
        self.folder.is_writer()
    }

    /// The backend all I/O goes through.
    pub fn backend(&self) -> &Arc<dyn Backend> {
        self.folder.backend()
    }

    /// The absolute path of a key's file.
    pub fn path_of(&self, key: &Key) -> PathBuf {
        self.folder.path_of(key)
    }

    /// The files of the store that are not keys (backup objects and manifests, the audit
    /// log), by their paths inside the root.
    pub fn files(&self) -> StoreFiles<'_> {
        StoreFiles::new(&self.folder)
    }

    /// Replaces the value of `key` atomically: see [`Durability`] for what survives what.
    ///
    /// A single write is a batch of one ([`Storage::commit_batch`]): one record appended to
    /// the journal and synced, visible at once to every read, in the key's file after the next
    /// checkpoint.
    pub fn write(&self, key: &Key, bytes: &[u8], durability: Durability) -> Result<Commit> {
        self.write_owned(key, bytes.to_vec(), durability)
    }

    /// [`Storage::write`] of a value the caller gives away (no copy is made).
    pub fn write_owned(&self, key: &Key, bytes: Vec<u8>, durability: Durability) -> Result<Commit> {
        self.folder.check_writable()?;
        self.folder.refuse_links_to(&self.path_of(key))?;
        let ops = vec![BatchOp::Put {
            key: key.clone(),
            bytes,
        }];
        self.journal.commit(&self.folder, ops, durability)
    }

    /// Amends the value of `key` by `amendment` ([`BatchOp::Amend`]): a journal record of the
    /// amendment's size, whatever the value's. [`Error::NothingToAmend`] when the key does not
    /// exist.
    pub fn amend(&self, key: &Key, amendment: Vec<u8>, durability: Durability) -> Result<Commit> {
        self.folder.check_writable()?;
        self.folder.refuse_links_to(&self.path_of(key))?;
        let ops = vec![BatchOp::Amend {
            key: key.clone(),
            bytes: amendment,
        }];
        self.journal.commit(&self.folder, ops, durability)
    }

    /// Reads the bytes of `key`, `None` if it does not exist.
    ///
    /// The writer reads a value a batch left in the journal from memory, anything else from
    /// the key's file. A read-only handle reads the journal on disk first, under `apply.lock`
    /// (see [`Storage::read_many`]).
    ///
    /// An amended value ([`BatchOp::Amend`]) is folded with the store's [`Fold`] (each read
    /// folds it anew until a checkpoint writes it: [`Storage::read_layers`] gives the parts).
    pub fn read(&self, key: &Key) -> Result<Option<Vec<u8>>> {
        match self.read_layers(key)? {
            None => Ok(None),
            Some(layers) => self
                .journal
                .folding()
                .fold(key, layers.base, &layers.amendments)
                .map(Some),
        }
    }

    /// Reads the value of `key` as its base and the amendments committed after it (none for a
    /// value that is whole), `None` if it does not exist. Costs what [`Storage::read`] costs
    /// for a value without amendments; nothing is folded.
    pub fn read_layers(&self, key: &Key) -> Result<Option<Layers>> {
        let view = self.view()?;
        self.layers_in(&view, key)
    }

    /// [`Storage::read_many`] as [`Layers`]: one consistent view of several keys.
    pub fn read_many_layers(&self, keys: &[Key]) -> Result<Vec<Option<Layers>>> {
        let view = self.view()?;
        keys.iter().map(|key| self.layers_in(&view, key)).collect()
    }

    /// The layers of `key` as `view` and the files show them.
    fn layers_in(&self, view: &View<'_>, key: &Key) -> Result<Option<Layers>> {
        let Some(entry) = view.get(key) else {
            return Ok(self.read_direct(key)?.map(|base| Layers {
                base,
                amendments: Vec::new(),
            }));
        };
        let base = match &entry.value {
            Some(value) => value.to_vec(),
            None if entry.amendments.is_empty() => return Ok(None),
            None => match self.read_direct(key)? {
                Some(base) => base,
                None => {
                    return Err(Error::Fold {
                        key: key.clone(),
                        detail: "amendments are in the journal but the key's file is gone".into(),
                    });
                }
            },
        };
        Ok(Some(Layers {
            base,
            amendments: entry.amendments.clone(),
        }))
    }

    /// Reads the file of `key` as it stands.
    fn read_direct(&self, key: &Key) -> Result<Option<Vec<u8>>> {
        self.on_file(key, "read", |path| self.folder.backend().read(path))
    }

    /// `op` on the first of `key`'s paths ([`Storage::paths_for_reading`]) that exists; `None`
    /// when none does.
    fn on_file<T>(
        &self,
        key: &Key,
        name: &'static str,
        op: impl Fn(&Path) -> io::Result<T>,
    ) -> Result<Option<T>> {
        for path in self.paths_for_reading(key) {
            match op(&path) {
                Ok(found) => return Ok(Some(found)),
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::io(name, path, e)),
            }
        }
        Ok(None)
    }

    /// Where the file of `key` may be, in order: its own path, then, for a read-only handle,
    /// where the legacy service kept it under a dotted name (a writer moves such files to their
    /// keys' paths when it opens; a reader of a folder no writer has opened yet looks there).
    fn paths_for_reading(&self, key: &Key) -> impl Iterator<Item = PathBuf> {
        let legacy = if self.is_writer() {
            None
        } else {
            key.legacy_relative_path()
                .map(|p| self.folder.root().join(p))
        };
        std::iter::once(self.path_of(key)).chain(legacy)
    }

    /// Reads at most the first `len` bytes of `key` (its header), `None` if it does not exist.
    pub fn read_prefix(&self, key: &Key, len: usize) -> Result<Option<Vec<u8>>> {
        let view = self.view()?;
        if let Some(entry) = view.get(key)
            && !entry.amends_file()
        {
            return Ok(entry.value.as_ref().map(|v| v[..len.min(v.len())].to_vec()));
        }
        self.on_file(key, "read", |path| {
            self.folder.backend().read_prefix(path, len)
        })
    }

    /// Deletes `key`; returns whether it existed. Like [`Storage::write`], a delete of a key
    /// that exists is a record of its own in the journal; its file goes at the next checkpoint.
    pub fn delete(&self, key: &Key, durability: Durability) -> Result<bool> {
        Ok(self.delete_committed(key, durability)?.is_some())
    }

    /// [`Storage::delete`], returning the commit (`None`: the key did not exist, and nothing
    /// was written).
    pub fn delete_committed(&self, key: &Key, durability: Durability) -> Result<Option<Commit>> {
        self.folder.check_writable()?;
        self.folder.refuse_links_to(&self.path_of(key))?;
        self.journal.delete(&self.folder, key, durability)
    }

    /// Whether `key` exists.
    pub fn exists(&self, key: &Key) -> Result<bool> {
        Ok(self.metadata(key)?.is_some())
    }

    /// The sequence number of the journal record that last changed `key` ([`Commit::sequence`]),
    /// while the journal holds it; `None` once a checkpoint wrote it into the key's file, or
    /// for a key the journal does not hold.
    pub fn pending_sequence(&self, key: &Key) -> Result<Option<u64>> {
        Ok(self.view()?.get(key).map(|entry| entry.sequence))
    }

    /// Whether the latest change of `key` (a value or a delete) is still only in the journal,
    /// committed but not yet checkpointed into the key's file.
    pub fn is_pending(&self, key: &Key) -> Result<bool> {
        Ok(self.view()?.get(key).is_some())
    }

    /// The file metadata of `key` (size, inode, modification time), `None` if it does not
    /// exist. For a value still in the journal (a batch not yet checkpointed) the size is the
    /// value's, the inode 0 and the modification time the batch's sequence number, which grows
    /// with every batch; [`Storage::checkpoint`] first where the file's own metadata matters.
    pub fn metadata(&self, key: &Key) -> Result<Option<Metadata>> {
        let view = self.view()?;
        let mut amended_by = 0;
        if let Some(entry) = view.get(key) {
            if !entry.amends_file() {
                return Ok(entry.metadata());
            }
            amended_by = entry.amendment_bytes();
        }
        drop(view);
        Ok(self
            .on_file(key, "stat", |path| self.folder.backend().metadata(path))?
            .filter(|meta| !meta.is_dir)
            .map(|mut meta| {
                meta.len += amended_by;
                meta
            }))
    }

    /// Every key whose text starts with `prefix`, sorted. `""` lists every key.
    ///
    /// Files whose names no key maps to (a stray `notes.txt`, `Upper.json`) are not listed.
    pub fn list(&self, prefix: &str) -> Result<Vec<Key>> {
        let view = self.view()?;
        let mut keys = Vec::new();
        // With a complete namespace in the prefix only that namespace's folder is walked.
        let namespace_filter = prefix.split_once('.').map(|(ns, _)| ns);
        for entry in self.folder.read_dir_or_empty(self.folder.root())? {
            let Some(namespace) = folder_namespace(&entry.name) else {
                continue;
            };
            if !entry.is_dir {
                // A namespace folder that is a link is reported, never walked.
                self.folder
                    .refuse_link(&self.folder.root().join(&entry.name))?;
                continue;
            }
            let wanted = match namespace_filter {
                Some(ns) => ns == namespace,
                None => namespace.starts_with(prefix),
            };
            if wanted {
                let folder = PathBuf::from(&entry.name);
                self.collect_keys(&folder, prefix, &mut keys)?;
            }
        }
        let pending = view.entries();
        keys.retain(|key| pending.get(key).is_none_or(Entry::exists));
        keys.extend(
            pending
                .iter()
                .filter(|(key, entry)| entry.exists() && key.as_str().starts_with(prefix))
                .map(|(key, _)| key.clone()),
        );
        keys.sort();
        keys.dedup();
        Ok(keys)
    }

    fn collect_keys(&self, relative: &Path, prefix: &str, keys: &mut Vec<Key>) -> Result<()> {
        let top = relative.components().count() == 1;
        for entry in self
            .folder
            .read_dir_or_empty(&self.folder.root().join(relative))?
        {
            let path = relative.join(&entry.name);
            if entry.is_dir {
                self.collect_keys(&path, prefix, keys)?;
                continue;
            }
            if !entry.is_file {
                self.folder.refuse_link(&self.folder.root().join(&path))?;
                continue;
            }
            // A read-only handle also lists the legacy service's files under dotted names
            // (see `paths_for_reading`); a key with both files is listed once.
            let key = Key::from_relative_path(&path).or_else(|| {
                (top && !self.is_writer())
                    .then(|| relative.to_str())
                    .flatten()
                    .and_then(|folder| Key::from_legacy_file(folder, &entry.name))
            });
            if let Some(key) = key
                && key.as_str().starts_with(prefix)
            {
                keys.push(key);
            }
        }
        Ok(())
    }

    /// How many temp files left by a crash this writer's open removed.
    pub fn temp_files_removed(&self) -> usize {
        self.temp_files_removed
    }

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
    pub fn commit_batch(
        &self,
        ops: Vec<BatchOp>,
        durability: Durability,
    ) -> Result<Option<Commit>> {
        self.folder.check_writable()?;
        if ops.is_empty() {
            return Ok(None);
        }
        let mut seen = HashSet::with_capacity(ops.len());
        for op in &ops {
            // Refused now, not when a checkpoint would meet the link.
            self.folder.refuse_links_to(&self.path_of(op.key()))?;
            if !seen.insert(op.key()) {
                return Err(Error::DuplicateInBatch {
                    key: op.key().clone(),
                });
            }
        }
        drop(seen);
        self.journal.commit(&self.folder, ops, durability).map(Some)
    }

    /// Brings the keys' files up to date with the journal and empties it. Batches are
    /// checkpointed on their own (see [`Storage::commit_batch`]); call this to have every
    /// file hold its key's value now, for a program that reads the files directly.
    pub fn checkpoint(&self) -> Result<()> {
        self.journal.checkpoint(&self.folder)
    }

    /// What [`Storage::open`] found in the journal (all zero for a read-only handle).
    pub fn recovery(&self) -> &Recovery {
        &self.recovery
    }

    /// How many committed batches the journal on disk holds that are not yet in the keys'
    /// files (a writer checkpoints them; see [`Storage::checkpoint`]).
    pub fn journal_records(&self) -> Result<usize> {
        self.journal.records_on_disk(&self.folder)
    }

    /// The journal files a writer's recovery found damaged and kept as
    /// `.statevault/journal/<sequence>.wal.damaged`, oldest first. Each holds committed batches
    /// that were never applied (see [`Recovery::quarantined`]); they stay until someone removes
    /// them, so a check of the store (`statevault verify`) can report every one.
    pub fn quarantined_journals(&self) -> Result<Vec<PathBuf>> {
        self.journal.quarantined(&self.folder)
    }

    /// Reads several keys as one consistent view: no batch is ever seen half applied, by this
    /// process or another. The values come in the order of `keys` (`None`: no such key).
    ///
    /// The writer reads its pending values and the files under an in-process lock its batches
    /// wait for. A read-only handle holds `apply.lock` shared (checkpoints wait for it) and
    /// reads the journal on disk before the files.
    pub fn read_many(&self, keys: &[Key]) -> Result<Vec<Option<Vec<u8>>>> {
        let view = self.view()?;
        let folding = self.journal.folding();
        keys.iter()
            .map(|key| {
                self.layers_in(&view, key)?
                    .map(|layers| folding.fold(key, layers.base, &layers.amendments))
                    .transpose()
            })
            .collect()
    }

    /// How the keys the journal holds are seen by this handle while it reads.
    fn view(&self) -> Result<View<'_>> {
        self.journal.view(&self.folder)
    }
}

impl Drop for Storage {
    /// A writer checkpoints the journal before it lets go of the store, so the keys' files
    /// hold every value once the program has closed it. A failure is logged; the next open
    /// finishes the work.
    fn drop(&mut self) {
        if let Some(mut idle) = self.idle.take() {
            idle.stop();
        }
        self.journal.close(&self.folder);
    }
}

fn absolute(path: &Path) -> Result<PathBuf> {
    std::path::absolute(path).map_err(|e| Error::io("resolve", path, e))
}
