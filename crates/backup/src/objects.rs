//! The object store: each file's content once, named by its BLAKE3 hash
//! (`backups/objects/<first 2 hex>/<64 hex>`), written for a snapshot and read back checked.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::Serialize;
use statevault_core::{Durability, Metadata, Storage};

use crate::error::{Result, io_error};
use crate::manifest::ContentHash;
use crate::pool::parallel_map;
use crate::{BACKUPS_DIR, OBJECTS_DIR};

/// What an object holds when it is not what a manifest expects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Found {
    /// No object with that hash.
    Missing,
    /// Other bytes.
    Different {
        /// Their hash.
        #[serde(serialize_with = "crate::ser_display")]
        hash: ContentHash,
        /// Their size.
        size: u64,
    },
}

impl fmt::Display for Found {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Found::Missing => f.write_str("missing"),
            Found::Different { hash, size } => write!(f, "{hash} ({size} bytes)"),
        }
    }
}

/// An object's bytes if it holds what its name says, else what it holds.
pub(crate) fn read(
    storage: &Storage,
    hash: &ContentHash,
    size: u64,
) -> Result<std::result::Result<Vec<u8>, Found>> {
    let Some(bytes) = storage.files().read_file(&hash.object_path())? else {
        return Ok(Err(Found::Missing));
    };
    let found = ContentHash::of(&bytes);
    if found == *hash && bytes.len() as u64 == size {
        Ok(Ok(bytes))
    } else {
        Ok(Err(Found::Different {
            hash: found,
            size: bytes.len() as u64,
        }))
    }
}

/// The metadata of a file of the store, `None` if it does not exist.
pub(crate) fn file_meta(storage: &Storage, relative: &Path) -> Result<Option<Metadata>> {
    let path = storage.root().join(relative);
    match storage.backend().metadata(&path) {
        Ok(meta) => Ok(Some(meta)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_error("stat", path, e)),
    }
}

/// Writes objects for one snapshot (from several threads) and remembers which folders must
/// be synced before its manifest is written.
pub(crate) struct ObjectWriter<'s> {
    storage: &'s Storage,
    state: Mutex<WriterState>,
}

#[derive(Default)]
struct WriterState {
    /// The two-hex-digit folders that received a new object.
    dirs: BTreeSet<String>,
    /// Objects already checked or written by this snapshot, with their sizes.
    known: BTreeMap<ContentHash, u64>,
}

impl<'s> ObjectWriter<'s> {
    /// A writer for one snapshot's objects in `storage`.
    pub(crate) fn new(storage: &'s Storage) -> Self {
        ObjectWriter {
            storage,
            state: Mutex::new(WriterState::default()),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, WriterState> {
        // The state is a cache of facts about files; a panic elsewhere cannot make it wrong.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether the object exists intact, so a snapshot may name it. Its size is checked
    /// always (a `stat`); its content is re-hashed the first time this process reuses it, and
    /// again whenever its file changed since (another inode, size or mtime). A damaged object
    /// is `false`: the caller stores the content again, which replaces it.
    pub(crate) fn has(&self, hash: &ContentHash, size: u64) -> Result<bool> {
        if self.state().known.get(hash) == Some(&size) {
            return Ok(true);
        }
        let Some(meta) =
            file_meta(self.storage, &hash.object_path())?.filter(|m| !m.is_dir && m.len == size)
        else {
            return Ok(false);
        };
        if !verified::is_current(self.storage, hash, &meta) {
            match read(self.storage, hash, size)? {
                Ok(_) => verified::record(self.storage, hash, &meta),
                Err(found) => {
                    verified::forget(self.storage, hash);
                    tracing::warn!(object = %hash, %found, "a damaged object is not reused; it is written again");
                    return Ok(false);
                }
            }
        }
        self.state().known.insert(*hash, size);
        Ok(true)
    }

    /// Stores `bytes` as object `hash` unless an object of that size is already there. A copy,
    /// never a link: a live file edited in place must not change a snapshot. Two threads
    /// storing the same content at once both succeed: each renames a whole copy into place.
    pub(crate) fn put(&self, hash: &ContentHash, bytes: &[u8]) -> Result<()> {
        if self.has(hash, bytes.len() as u64)? {
            return Ok(());
        }
        // Durability::Normal: the file is fsynced before its rename; the folders are synced
        // once for the whole snapshot in `sync`, before the manifest.
        self.storage
            .files()
            .write_file(&hash.object_path(), bytes, Durability::Normal)?;
        if let Some(meta) = file_meta(self.storage, &hash.object_path())? {
            verified::record(self.storage, hash, &meta);
        }
        let mut state = self.state();
        state.dirs.insert(hash.to_hex()[..2].to_owned());
        state.known.insert(*hash, bytes.len() as u64);
        Ok(())
    }

    /// Fsyncs every folder that gained an object, then their parents (which may have gained
    /// the folders), so every object is durable before a manifest names it.
    pub(crate) fn sync(self) -> Result<()> {
        let dirs = self
            .state
            .into_inner()
            .unwrap_or_else(|e| e.into_inner())
            .dirs;
        if dirs.is_empty() {
            return Ok(());
        }
        let storage = self.storage;
        let objects = storage.root().join(OBJECTS_DIR);
        let fanout: Vec<PathBuf> = dirs.iter().map(|d| objects.join(d)).collect();
        let sync = |dir: &PathBuf| {
            storage
                .backend()
                .sync_dir(dir)
                .map_err(|e| io_error("fsync folder", dir, e))
        };
        parallel_map(&fanout, sync)?;
        for dir in [objects, storage.root().join(BACKUPS_DIR)] {
            sync(&dir)?;
        }
        Ok(())
    }
}

/// The objects this process has hashed and found intact, with the `stat` they had then: an
/// object is re-hashed before it is reused only the first time, or when its file changed.
pub(crate) mod verified {
    use std::collections::HashMap;
    use std::sync::{LazyLock, Mutex};

    use statevault_core::{Metadata, Storage};

    use crate::manifest::ContentHash;

    /// What identifies one state of an object's file.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    struct Stamp {
        len: u64,
        inode: u64,
        modified_ns: i128,
    }

    impl Stamp {
        fn of(meta: &Metadata) -> Stamp {
            Stamp {
                len: meta.len,
                inode: meta.inode,
                modified_ns: meta.modified_ns,
            }
        }
    }

    /// Keyed by store id (random per store, so two stores at one path, as the in-memory test
    /// backends make, never share entries) and hash.
    type Verified = HashMap<(String, ContentHash), Stamp>;
    static VERIFIED: LazyLock<Mutex<Verified>> = LazyLock::new(Mutex::default);

    fn with<T>(f: impl FnOnce(&mut Verified) -> T) -> T {
        // A cache of facts about files; a panic elsewhere cannot make it wrong.
        f(&mut VERIFIED.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Whether `hash` was found intact with exactly this `stat`.
    pub(crate) fn is_current(storage: &Storage, hash: &ContentHash, meta: &Metadata) -> bool {
        with(|v| v.get(&(storage.store_id().to_owned(), *hash)) == Some(&Stamp::of(meta)))
    }

    /// Records that `hash` holds its content with this `stat`.
    pub(crate) fn record(storage: &Storage, hash: &ContentHash, meta: &Metadata) {
        with(|v| v.insert((storage.store_id().to_owned(), *hash), Stamp::of(meta)));
    }

    /// Forgets `hash` (found damaged).
    pub(crate) fn forget(storage: &Storage, hash: &ContentHash) {
        with(|v| v.remove(&(storage.store_id().to_owned(), *hash)));
    }
}
