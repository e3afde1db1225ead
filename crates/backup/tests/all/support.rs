//! Shared helpers: stores in temp folders, their state as a map, folder sizes, a backend that
//! counts reads.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use statevault_backup::{BackupInfo, Backups, CreateOptions, EntryFlags};
use statevault_core::{
    Backend, DirEntry, Durability, FileHandle, FsBackend, Key, LockGuard, LockMode, Metadata,
    Storage,
};

pub fn k(s: &str) -> Key {
    Key::parse(s).unwrap()
}

pub fn store() -> (tempfile::TempDir, Storage) {
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::open(dir.path()).unwrap();
    (dir, storage)
}

pub fn put(storage: &Storage, key: &str, bytes: &[u8]) {
    storage.write(&k(key), bytes, Durability::Full).unwrap();
}

/// Every key of the store with its bytes.
pub type State = BTreeMap<String, Vec<u8>>;

pub fn state(storage: &Storage) -> State {
    storage
        .list("")
        .unwrap()
        .into_iter()
        .map(|key| {
            let bytes = storage.read(&key).unwrap().unwrap();
            (key.to_string(), bytes)
        })
        .collect()
}

/// Writes `state` into an empty store.
pub fn fill(storage: &Storage, state: &State) {
    for (key, bytes) in state {
        put(storage, key, bytes);
    }
}

/// A small store: nested keys, an empty value, a binary (envelope-like) value.
pub fn sample_state() -> State {
    [
        (
            "layout.default",
            b"{\"version\":\"1.0.0\",\"layout\":{}}".to_vec(),
        ),
        ("settings.preferences", b"{\"theme\":\"dark\"}".to_vec()),
        (
            "history.conversations.ab12",
            vec![0x89, b'S', b'V', 0, 1, 2, 3],
        ),
        ("config.app", Vec::new()),
        ("custom.deep.nested.value", b"[1,2,3]".to_vec()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

/// The sample state changed: one key edited, one deleted, one added.
pub fn changed_state() -> State {
    let mut s = sample_state();
    s.insert(
        "settings.preferences".into(),
        b"{\"theme\":\"light\"}".to_vec(),
    );
    s.remove("config.app");
    s.insert(
        "history.conversations.cd34".into(),
        b"{\"new\":true}".to_vec(),
    );
    s
}

/// Replaces the store's keys with `target` (writes and deletes).
pub fn set_state(storage: &Storage, target: &State) {
    for key in storage.list("").unwrap() {
        if !target.contains_key(key.as_str()) {
            storage.delete(&key, Durability::Full).unwrap();
        }
    }
    fill(storage, target);
}

/// Flags a file as encrypted when it starts like an envelope, as the facade's codec would.
pub fn classify(bytes: &[u8]) -> EntryFlags {
    if bytes.first() == Some(&0x89) {
        EntryFlags {
            compressed: false,
            encrypted: true,
            key_id: Some(1),
        }
    } else {
        EntryFlags::default()
    }
}

pub fn snapshot(storage: &Storage, name: Option<&str>) -> BackupInfo {
    Backups::new(storage)
        .create(&CreateOptions {
            name,
            classify: &classify,
            ..CreateOptions::default()
        })
        .unwrap()
}

/// Every regular file under `dir`, recursively, sorted.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries {
        let entry = entry.unwrap();
        let path = entry.path();
        if entry.file_type().unwrap().is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out.sort();
    out
}

/// Total size of the regular files under `dir`.
pub fn bytes_under(dir: &Path) -> u64 {
    files_under(dir)
        .iter()
        .map(|p| std::fs::metadata(p).unwrap().len())
        .sum()
}

/// Every file under `dir` with its content, for "nothing changed" checks.
pub fn snapshot_of_folder(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    files_under(dir)
        .into_iter()
        .filter(|p| p.file_name().unwrap() != "lock")
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap();
            (p, bytes)
        })
        .collect()
}

/// Flips one bit of a file in place.
pub fn flip_byte(path: &Path, at: usize) {
    let mut bytes = std::fs::read(path).unwrap();
    let at = at % bytes.len();
    bytes[at] ^= 0x01;
    std::fs::write(path, bytes).unwrap();
}

/// The file of a manifest.
pub fn manifest_file(root: &Path, info: &BackupInfo) -> PathBuf {
    root.join("backups")
        .join(info.kind.to_string())
        .join(format!("{}.manifest.json", info.id))
}

/// The object files of the store.
pub fn objects(root: &Path) -> Vec<PathBuf> {
    files_under(&root.join("backups/objects"))
}

/// A backend that records which files are read.
#[derive(Debug, Default)]
pub struct CountingBackend {
    pub reads: Mutex<Vec<PathBuf>>,
    pub metadata_calls: AtomicU64,
}

impl CountingBackend {
    pub fn new() -> Arc<CountingBackend> {
        Arc::new(CountingBackend::default())
    }

    pub fn take_reads(&self) -> Vec<PathBuf> {
        std::mem::take(&mut *self.reads.lock().unwrap())
    }
}

impl Backend for CountingBackend {
    fn create_new(&self, path: &Path) -> io::Result<Box<dyn FileHandle>> {
        FsBackend.create_new(path)
    }
    fn open_append(&self, path: &Path) -> io::Result<Box<dyn FileHandle>> {
        FsBackend.open_append(path)
    }
    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        self.reads.lock().unwrap().push(path.to_owned());
        FsBackend.read(path)
    }
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        FsBackend.rename(from, to)
    }
    fn remove_file(&self, path: &Path) -> io::Result<()> {
        FsBackend.remove_file(path)
    }
    fn create_dir(&self, path: &Path) -> io::Result<()> {
        FsBackend.create_dir(path)
    }
    fn sync_dir(&self, path: &Path) -> io::Result<()> {
        FsBackend.sync_dir(path)
    }
    fn read_dir(&self, path: &Path) -> io::Result<Vec<DirEntry>> {
        FsBackend.read_dir(path)
    }
    fn metadata(&self, path: &Path) -> io::Result<Metadata> {
        self.metadata_calls.fetch_add(1, Ordering::SeqCst);
        FsBackend.metadata(path)
    }
    fn lock(&self, path: &Path, mode: LockMode, wait: bool) -> io::Result<LockGuard> {
        FsBackend.lock(path, mode, wait)
    }
}
