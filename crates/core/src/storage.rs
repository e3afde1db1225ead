//! The store folder: identity, writer lock, atomic durable replace, raw key operations.

use std::io;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::backend::{Backend, FileHandle, FsBackend, LockGuard, LockMode, Metadata};
use crate::batch::{APPLY_LOCK, DEFAULT_CHECKPOINT_BYTES, JOURNAL_DIR, Journal, Recovery};
use crate::error::{Error, Result};
use crate::key::{Key, folder_namespace};

/// The store format this build writes and the newest it reads (`.statevault/store.json`).
pub const STORE_FORMAT: u32 = 1;

/// The folder of the store's own bookkeeping, inside the root.
pub const META_DIR: &str = ".statevault";

/// How long a writer's open waits for a writer lock held by someone else before it reports
/// [`Error::Locked`].
const LOCK_GRACE_MS: u64 = 100;

/// The namespace folders created with every store, from the module specification's layout.
const LAYOUT_DIRS: &[&str] = &["layouts", "settings", "history", "config"];

/// How hard a write works to survive a power loss. The guarantee is in each variant's doc.
///
/// Whatever the level, a key is never left torn or empty by a crash of the process: the new
/// value is written to a fresh file that replaces the old one by a rename.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Durability {
    /// Survives power loss once the call returns: the file is fsynced before the rename and
    /// its folder after it. The default.
    #[default]
    Full,
    /// The file is fsynced before the rename, the folder is not: after a power loss the key
    /// holds its old or its new value, never a torn one, but a returned save may be undone.
    Normal,
    /// No fsync: safe against a crash of the process, not against power loss, where the key
    /// may come back with its old value, or (on some file systems) empty.
    None,
}

/// The identity of a store, kept in `.statevault/store.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreInfo {
    /// The store format (see [`STORE_FORMAT`]).
    pub format: u32,
    /// 128 random bits in hex; encrypted files are bound to it.
    pub store_id: String,
    /// When the store was created, in milliseconds since the Unix epoch.
    pub created_at: u64,
}

/// How [`Storage::open_with`] opens a store.
#[derive(Debug, Clone)]
pub struct OpenOptions {
    backend: Arc<dyn Backend>,
    read_only: bool,
    checkpoint_bytes: u64,
}

impl Default for OpenOptions {
    fn default() -> OpenOptions {
        OpenOptions {
            backend: Arc::new(FsBackend),
            read_only: false,
            checkpoint_bytes: DEFAULT_CHECKPOINT_BYTES,
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
}

/// An open store folder: the raw operations on keys, as bytes.
///
/// A writer holds `.statevault/lock` exclusively for as long as the `Storage` lives, so a
/// second writer, in this process or another, is refused with [`Error::Locked`].
#[derive(Debug)]
pub struct Storage {
    pub(crate) root: PathBuf,
    pub(crate) backend: Arc<dyn Backend>,
    info: Option<StoreInfo>,
    writer_lock: Option<LockGuard>,
    pub(crate) poisoned: AtomicBool,
    /// The writer's journal files and the values they hold that the keys' files do not yet.
    pub(crate) journal: Journal,
    /// The journal size at which a batch is followed by a checkpoint.
    pub(crate) checkpoint_bytes: u64,
    /// The sequence number of the last journal record written or found.
    pub(crate) next_sequence: AtomicU64,
    pub(crate) recovery: Recovery,
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
        let mut storage = Storage {
            root,
            backend: options.backend,
            info: None,
            writer_lock: None,
            poisoned: AtomicBool::new(false),
            journal: Journal::default(),
            checkpoint_bytes: options.checkpoint_bytes,
            next_sequence: AtomicU64::new(0),
            recovery: Recovery::default(),
            temp_files_removed: 0,
            legacy_files_adopted: 0,
        };
        if options.read_only {
            storage.open_reader()?;
        } else {
            storage.open_writer()?;
        }
        Ok(storage)
    }

    fn open_reader(&mut self) -> Result<()> {
        match self.backend.metadata(&self.root) {
            Ok(meta) if meta.is_dir => {}
            Ok(_) => {
                return Err(Error::NotAStore {
                    dir: self.root.clone(),
                });
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(Error::NotAStore {
                    dir: self.root.clone(),
                });
            }
            Err(e) => return Err(Error::io("open", &self.root, e)),
        }
        self.info = self.read_info()?;
        Ok(())
    }

    fn open_writer(&mut self) -> Result<()> {
        let meta_dir = self.root.join(META_DIR);
        self.create_dirs(&meta_dir, Durability::Full)?;
        let lock_path = meta_dir.join("lock");
        // The lock can be held for a moment by a process that is not a writer: a reader
        // recovering a batch a crash interrupted, or a child process forked by the previous
        // holder that still has the lock's descriptor until it execs. A short grace period
        // (about 100 ms) tells those from a real second writer, which holds it for long.
        let mut waited_ms = 0;
        let lock = loop {
            match self.backend.lock(&lock_path, LockMode::Exclusive, false) {
                Ok(lock) => break lock,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if waited_ms >= LOCK_GRACE_MS {
                        return Err(Error::Locked {
                            dir: self.root.clone(),
                        });
                    }
                    let pause = (waited_ms / 2).clamp(1, 25);
                    std::thread::sleep(std::time::Duration::from_millis(pause));
                    waited_ms += pause;
                }
                Err(e) => return Err(Error::io("lock", &lock_path, e)),
            }
        };
        self.writer_lock = Some(lock);
        self.info = match self.read_info()? {
            Some(info) => Some(info),
            None => Some(self.create_info()?),
        };
        for dir in LAYOUT_DIRS {
            self.create_dirs(&self.root.join(dir), Durability::Full)?;
        }
        // Batches the journal still holds are applied to the keys' files first (a crash, or a
        // writer that stopped without its last checkpoint).
        self.create_dirs(&self.journal_dir(), Durability::Full)?;
        self.recovery = self.recover_at_open()?;
        self.temp_files_removed = self.remove_stray_temp_files(&self.root.clone())?;
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
            let dir = self.root.join(folder);
            for entry in self.read_dir_or_empty(&dir)? {
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
                self.create_dirs(target_dir, Durability::Full)?;
                let from = dir.join(&entry.name);
                self.backend
                    .rename(&from, &target)
                    .map_err(|e| Error::io("rename", &from, e))?;
                self.sync_dir_or_poison(target_dir)?;
                self.sync_dir_or_poison(&dir)?;
                tracing::info!(key = %key, from = %from.display(), "adopted a file of the legacy service");
                adopted += 1;
            }
        }
        Ok(adopted)
    }

    /// How many files of the legacy service, kept under dotted names, this writer's open moved
    /// to the paths of their keys.
    pub fn legacy_files_adopted(&self) -> usize {
        self.legacy_files_adopted
    }

    /// `.statevault/journal/`.
    pub(crate) fn journal_dir(&self) -> PathBuf {
        self.root.join(META_DIR).join(JOURNAL_DIR)
    }

    /// Takes `.statevault/apply.lock`, waiting for its holders.
    pub(crate) fn lock_apply(&self, mode: LockMode) -> Result<LockGuard> {
        let path = self.root.join(META_DIR).join(APPLY_LOCK);
        self.backend
            .lock(&path, mode, true)
            .map_err(|e| Error::io("lock", path, e))
    }

    fn read_info(&self) -> Result<Option<StoreInfo>> {
        let path = self.root.join(META_DIR).join("store.json");
        let bytes = match self.backend.read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io("read", path, e)),
        };
        // Read the format alone first, so a newer store whose other fields changed is
        // reported as newer rather than as damaged.
        #[derive(Deserialize)]
        struct FormatOnly {
            format: u32,
        }
        let corrupt = |e: serde_json::Error| Error::CorruptMetadata {
            path: path.clone(),
            detail: e.to_string(),
        };
        let format: FormatOnly = serde_json::from_slice(&bytes).map_err(corrupt)?;
        if format.format > STORE_FORMAT {
            return Err(Error::NewerStoreFormat {
                dir: self.root.clone(),
                found: format.format,
                supported: STORE_FORMAT,
            });
        }
        let info: StoreInfo = serde_json::from_slice(&bytes).map_err(corrupt)?;
        Ok(Some(info))
    }

    fn create_info(&self) -> Result<StoreInfo> {
        let info = StoreInfo {
            format: STORE_FORMAT,
            store_id: random_hex::<16>()?,
            created_at: now_ms(),
        };
        let mut bytes = serde_json::to_vec_pretty(&info).expect("StoreInfo always serializes");
        bytes.push(b'\n');
        let path = self.root.join(META_DIR).join("store.json");
        self.replace(&path, &bytes, Durability::Full)?;
        Ok(info)
    }

    /// The store's root folder (absolute).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The store's identity; `None` only for a read-only open of a folder no statevault
    /// writer has opened yet (one written by the legacy service alone).
    pub fn info(&self) -> Option<&StoreInfo> {
        self.info.as_ref()
    }

    /// The store id, or the empty string where [`Storage::info`] is `None`.
    pub fn store_id(&self) -> &str {
        self.info.as_ref().map_or("", |i| i.store_id.as_str())
    }

    /// Whether this handle holds the writer lock.
    pub fn is_writer(&self) -> bool {
        self.writer_lock.is_some()
    }

    /// The backend all I/O goes through.
    pub fn backend(&self) -> &Arc<dyn Backend> {
        &self.backend
    }

    /// The absolute path of a key's file.
    pub fn path_of(&self, key: &Key) -> PathBuf {
        self.root.join(key.relative_path())
    }

    /// Replaces the value of `key` atomically: see [`Durability`] for what survives what.
    ///
    /// A key whose latest value is still in the journal (a batch not yet checkpointed) is
    /// checkpointed first, so a replay of the journal can never bring back its older value.
    pub fn write(&self, key: &Key, bytes: &[u8], durability: Durability) -> Result<()> {
        self.settled(key, || self.replace(&self.path_of(key), bytes, durability))
    }

    /// Reads the bytes of `key`, `None` if it does not exist.
    ///
    /// The writer reads a value a batch left in the journal from memory, anything else from
    /// the key's file. A read-only handle reads the journal on disk first, under `apply.lock`
    /// (see [`Storage::read_many`]).
    pub fn read(&self, key: &Key) -> Result<Option<Vec<u8>>> {
        let view = self.view()?;
        match view.get(key) {
            Some(entry) => Ok(entry.value.as_ref().map(|v| v.to_vec())),
            None => self.read_direct(key),
        }
    }

    /// Reads the file of `key` as it stands.
    pub(crate) fn read_direct(&self, key: &Key) -> Result<Option<Vec<u8>>> {
        self.on_file(key, "read", |path| self.backend.read(path))
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
            key.legacy_relative_path().map(|p| self.root.join(p))
        };
        std::iter::once(self.path_of(key)).chain(legacy)
    }

    /// Reads at most the first `len` bytes of `key` (its header), `None` if it does not exist.
    pub fn read_prefix(&self, key: &Key, len: usize) -> Result<Option<Vec<u8>>> {
        let view = self.view()?;
        if let Some(entry) = view.get(key) {
            return Ok(entry.value.as_ref().map(|v| v[..len.min(v.len())].to_vec()));
        }
        self.on_file(key, "read", |path| self.backend.read_prefix(path, len))
    }

    /// Deletes `key`; returns whether it existed. Like [`Storage::write`], a key the journal
    /// holds is checkpointed first.
    pub fn delete(&self, key: &Key, durability: Durability) -> Result<bool> {
        self.settled(key, || {
            self.remove_durably(&self.path_of(key), durability, "delete")
        })
    }

    /// Whether `key` exists.
    pub fn exists(&self, key: &Key) -> Result<bool> {
        Ok(self.metadata(key)?.is_some())
    }

    /// The file metadata of `key` (size, inode, modification time), `None` if it does not
    /// exist. For a value still in the journal (a batch not yet checkpointed) the size is the
    /// value's, the inode 0 and the modification time the batch's sequence number, which grows
    /// with every batch; [`Storage::checkpoint`] first where the file's own metadata matters.
    pub fn metadata(&self, key: &Key) -> Result<Option<Metadata>> {
        let view = self.view()?;
        if let Some(entry) = view.get(key) {
            return Ok(entry.metadata());
        }
        drop(view);
        Ok(self
            .on_file(key, "stat", |path| self.backend.metadata(path))?
            .filter(|meta| !meta.is_dir))
    }

    /// Every key whose text starts with `prefix`, sorted. `""` lists every key.
    ///
    /// Files whose names no key maps to (a stray `notes.txt`, `Upper.json`) are not listed.
    pub fn list(&self, prefix: &str) -> Result<Vec<Key>> {
        let view = self.view()?;
        let mut keys = Vec::new();
        // With a complete namespace in the prefix only that namespace's folder is walked.
        let namespace_filter = prefix.split_once('.').map(|(ns, _)| ns);
        for entry in self.read_dir_or_empty(&self.root)? {
            if !entry.is_dir {
                continue;
            }
            let Some(namespace) = folder_namespace(&entry.name) else {
                continue;
            };
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
        keys.retain(|key| pending.get(key).is_none_or(|entry| entry.value.is_some()));
        keys.extend(
            pending
                .iter()
                .filter(|(key, entry)| entry.value.is_some() && key.as_str().starts_with(prefix))
                .map(|(key, _)| key.clone()),
        );
        keys.sort();
        keys.dedup();
        Ok(keys)
    }

    fn collect_keys(&self, relative: &Path, prefix: &str, keys: &mut Vec<Key>) -> Result<()> {
        let top = relative.components().count() == 1;
        for entry in self.read_dir_or_empty(&self.root.join(relative))? {
            let path = relative.join(&entry.name);
            if entry.is_dir {
                self.collect_keys(&path, prefix, keys)?;
                continue;
            }
            if !entry.is_file {
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

    pub(crate) fn read_dir_or_empty(&self, dir: &Path) -> Result<Vec<crate::backend::DirEntry>> {
        match self.backend.read_dir(dir) {
            Ok(entries) => Ok(entries),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(Error::io("list", dir, e)),
        }
    }

    /// Writes a file of the store that is not a key (a backup object, a manifest) atomically,
    /// at `relative`, a path of plain components inside the root.
    pub fn write_file(&self, relative: &Path, bytes: &[u8], durability: Durability) -> Result<()> {
        self.check_writable()?;
        let path = self.inside(relative)?;
        self.replace(&path, bytes, durability)
    }

    /// Reads a file of the store that is not a key; `None` if it does not exist.
    pub fn read_file(&self, relative: &Path) -> Result<Option<Vec<u8>>> {
        let path = self.inside(relative)?;
        match self.backend.read(&path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io("read", path, e)),
        }
    }

    /// Removes a file of the store that is not a key; returns whether it existed.
    pub fn remove_file(&self, relative: &Path, durability: Durability) -> Result<bool> {
        self.check_writable()?;
        self.remove_durably(&self.inside(relative)?, durability, "remove")
    }

    /// Removes a file and, with [`Durability::Full`], fsyncs its folder; returns whether the
    /// file existed.
    fn remove_durably(
        &self,
        path: &Path,
        durability: Durability,
        op: &'static str,
    ) -> Result<bool> {
        if !self.remove_if_present(path, op)? {
            return Ok(false);
        }
        if durability == Durability::Full {
            let dir = path.parent().expect("a file inside the root has a parent");
            self.sync_dir_or_poison(dir)?;
        }
        Ok(true)
    }

    /// Removes a file that may already be gone; returns whether it was there.
    pub(crate) fn remove_if_present(&self, path: &Path, op: &'static str) -> Result<bool> {
        match self.backend.remove_file(path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(Error::io(op, path, e)),
        }
    }

    /// Lists a folder of the store (names, no recursion); empty if it does not exist. An empty
    /// path lists the root.
    pub fn list_dir(&self, relative: &Path) -> Result<Vec<crate::backend::DirEntry>> {
        if relative.as_os_str().is_empty() {
            return self.read_dir_or_empty(&self.root);
        }
        let path = self.inside(relative)?;
        self.read_dir_or_empty(&path)
    }

    /// How many temp files left by a crash this writer's open removed.
    pub fn temp_files_removed(&self) -> usize {
        self.temp_files_removed
    }

    fn inside(&self, relative: &Path) -> Result<PathBuf> {
        let plain = relative.components().count() > 0
            && relative
                .components()
                .all(|c| matches!(c, Component::Normal(_)));
        if !plain {
            return Err(Error::io(
                "use",
                relative,
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "not a plain relative path inside the store",
                ),
            ));
        }
        Ok(self.root.join(relative))
    }

    pub(crate) fn check_writable(&self) -> Result<()> {
        if self.writer_lock.is_none() {
            return Err(Error::ReadOnly {
                dir: self.root.clone(),
            });
        }
        if self.poisoned.load(Ordering::SeqCst) {
            return Err(Error::Poisoned {
                dir: self.root.clone(),
            });
        }
        Ok(())
    }

    /// The atomic replace of DESIGN §5: temp file, write, fsync, rename, fsync the folder.
    fn replace(&self, path: &Path, bytes: &[u8], durability: Durability) -> Result<()> {
        let dir = path.parent().expect("a path inside the root has a parent");
        let temp = temp_path(path)?;
        let mut file = self.create_temp(&temp, durability)?;
        let written = file
            .write_all(bytes)
            .map_err(|e| ("write", e))
            .and_then(|()| {
                if durability == Durability::None {
                    Ok(())
                } else {
                    // A failed fsync is never retried on this descriptor (the kernel may have
                    // dropped the dirty pages and would report success); the temp file goes
                    // away and the caller may write the value again from memory.
                    file.sync().map_err(|e| ("fsync", e))
                }
            });
        drop(file);
        if let Err((op, e)) = written {
            self.discard(&temp);
            return Err(Error::io(op, &temp, e));
        }
        if let Err(e) = self.backend.rename(&temp, path) {
            self.discard(&temp);
            return Err(Error::io("rename", path, e));
        }
        if durability == Durability::Full {
            self.sync_dir_or_poison(dir)?;
        }
        Ok(())
    }

    /// Creates the temp file `temp`, and its folder if missing.
    pub(crate) fn create_temp(
        &self,
        temp: &Path,
        durability: Durability,
    ) -> Result<Box<dyn FileHandle>> {
        match self.backend.create_new(temp) {
            Ok(file) => Ok(file),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let dir = temp.parent().expect("a path inside the root has a parent");
                self.create_dirs(dir, durability)?;
                self.backend
                    .create_new(temp)
                    .map_err(|e| Error::io("create", temp, e))
            }
            Err(e) => Err(Error::io("create", temp, e)),
        }
    }

    /// Fsyncs a folder after a change was made in it. When that fails the change may or may
    /// not survive a power loss and the page cache can no longer be trusted to say which, so
    /// the store refuses further writes until it is reopened.
    pub(crate) fn sync_dir_or_poison(&self, dir: &Path) -> Result<()> {
        self.backend.sync_dir(dir).map_err(|e| {
            self.poisoned.store(true, Ordering::SeqCst);
            tracing::error!(dir = %dir.display(), error = %e, "folder fsync failed; the store refuses writes until reopened");
            Error::io("fsync folder", dir, e)
        })
    }

    /// Removes a temp file after a failure; a failure to remove it is left for the next open.
    pub(crate) fn discard(&self, temp: &Path) {
        if let Err(e) = self.backend.remove_file(temp)
            && e.kind() != io::ErrorKind::NotFound
        {
            tracing::warn!(path = %temp.display(), error = %e, "could not remove a temp file; the next open removes it");
        }
    }

    /// Creates `dir` and its missing ancestors (0700). With [`Durability::Full`] each new
    /// folder's parent is fsynced, so the new entry survives a power loss.
    fn create_dirs(&self, dir: &Path, durability: Durability) -> Result<()> {
        let mut missing = Vec::new();
        let mut current = dir;
        loop {
            match self.backend.metadata(current) {
                Ok(meta) if meta.is_dir => break,
                Ok(_) => {
                    return Err(Error::io(
                        "create folder",
                        current,
                        io::Error::new(io::ErrorKind::AlreadyExists, "a file is in the way"),
                    ));
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    missing.push(current);
                    match current.parent() {
                        Some(parent) => current = parent,
                        None => break,
                    }
                }
                Err(e) => return Err(Error::io("stat", current, e)),
            }
        }
        for folder in missing.into_iter().rev() {
            match self.backend.create_dir(folder) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(Error::io("create folder", folder, e)),
            }
            if durability == Durability::Full
                && let Some(parent) = folder.parent()
            {
                self.backend
                    .sync_dir(parent)
                    .map_err(|e| Error::io("fsync folder", parent, e))?;
            }
        }
        Ok(())
    }

    /// Removes temp files a crash left behind, anywhere in the store. They are never a value
    /// of a key: a value only becomes visible when its temp file is renamed into place.
    fn remove_stray_temp_files(&self, dir: &Path) -> Result<usize> {
        let mut removed = 0;
        for entry in self.read_dir_or_empty(dir)? {
            let path = dir.join(&entry.name);
            if entry.is_dir {
                removed += self.remove_stray_temp_files(&path)?;
            } else if entry.is_file && is_temp_name(&entry.name) {
                tracing::info!(path = %path.display(), "removing a temp file left by a crash");
                removed += usize::from(self.remove_if_present(&path, "remove")?);
            }
        }
        Ok(removed)
    }
}

/// The length of the random part of a temp file's name, in hex digits.
const TEMP_RANDOM_LEN: usize = 16;

/// `.<name>.<16 hex digits>.tmp` beside the target: a name no key maps to (keys never
/// start with a dot) and no other writer picks.
pub(crate) fn temp_path(path: &Path) -> Result<PathBuf> {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .expect("store paths end in a UTF-8 file name");
    Ok(path.with_file_name(format!(".{name}.{}.tmp", random_hex::<8>()?)))
}

/// Whether `name` has the shape of a temp file of this crate (`.<name>.<16 hex>.tmp`).
pub fn is_temp_name(name: &str) -> bool {
    let Some(rest) = name.strip_prefix('.').and_then(|n| n.strip_suffix(".tmp")) else {
        return false;
    };
    let Some((_, random)) = rest.rsplit_once('.') else {
        return false;
    };
    random.len() == TEMP_RANDOM_LEN && random.bytes().all(|b| b.is_ascii_hexdigit())
}

/// `N` random bytes from the operating system, in lower-case hex.
pub fn random_hex<const N: usize>() -> Result<String> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|e| {
        Error::io(
            "draw random bytes for",
            "a file name",
            io::Error::other(e.to_string()),
        )
    })?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Nanoseconds since the Unix epoch.
pub(crate) fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

impl Drop for Storage {
    /// A writer checkpoints the journal before it lets go of the store, so the keys' files
    /// hold every value once the program has closed it. A failure is logged; the next open
    /// finishes the work.
    fn drop(&mut self) {
        self.checkpoint_on_drop();
    }
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn absolute(path: &Path) -> Result<PathBuf> {
    std::path::absolute(path).map_err(|e| Error::io("resolve", path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temp_names_are_recognised() {
        let temp = temp_path(Path::new("/s/layouts/default.json")).unwrap();
        let name = temp.file_name().unwrap().to_str().unwrap();
        assert!(is_temp_name(name), "{name}");
        assert!(!is_temp_name("default.json"));
        assert!(!is_temp_name(".default.json.tmp"));
        assert!(!is_temp_name(".default.json.0123456789abcdeg.tmp"));
        assert!(!is_temp_name("x.0123456789abcdef.tmp"));
    }
}
