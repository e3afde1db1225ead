//! The store's folder as this handle may change it: the root, the backend every call goes
//! through, the writer lock, the poison flag, and the primitives built on them (the atomic
//! replace, temp files, folder creation and fsync, removal).
//!
//! Every other module changes files through a [`Folder`], so the rules live in one place: what
//! a read-only or poisoned handle refuses, and that a failed folder fsync poisons the handle.

use std::io;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::backend::{Backend, DirEntry, FileHandle, LockGuard, LockMode};
use crate::durability::Durability;
use crate::error::{Error, Result};
use crate::key::Key;
use crate::unique::random_hex;

/// How long a writer's open waits for a writer lock held by someone else before it reports
/// [`Error::Locked`].
const LOCK_GRACE_MS: u64 = 100;

/// The length of the random part of a temp file's name, in hex digits.
const TEMP_RANDOM_LEN: usize = 16;

/// The root folder of a store, the I/O seam to it, and whether this handle may change it.
#[derive(Debug)]
pub(crate) struct Folder {
    root: PathBuf,
    backend: Arc<dyn Backend>,
    /// `.statevault/lock`, held exclusively by a writer for as long as it lives.
    writer_lock: Option<LockGuard>,
    /// Set when a change may or may not survive a power loss and the page cache no longer says
    /// which: the handle then refuses writes until the store is reopened.
    poisoned: AtomicBool,
}

impl Folder {
    /// The folder at `root` (absolute), read-only until [`Folder::take_writer_lock`].
    pub(crate) fn new(root: PathBuf, backend: Arc<dyn Backend>) -> Folder {
        Folder {
            root,
            backend,
            writer_lock: None,
            poisoned: AtomicBool::new(false),
        }
    }

    /// The store's root folder (absolute).
    pub(crate) fn root(&self) -> &Path {
        &self.root
    }

    /// The backend all I/O goes through.
    pub(crate) fn backend(&self) -> &Arc<dyn Backend> {
        &self.backend
    }

    /// The absolute path of a key's file.
    pub(crate) fn path_of(&self, key: &Key) -> PathBuf {
        self.root.join(key.relative_path())
    }

    /// Whether this handle holds the writer lock.
    pub(crate) fn is_writer(&self) -> bool {
        self.writer_lock.is_some()
    }

    /// Takes the writer lock at `lock_path` for as long as this folder lives.
    ///
    /// The lock can be held for a moment by a process that is not a writer: a reader
    /// recovering a batch a crash interrupted, or a child process forked by the previous holder
    /// that still has the lock's descriptor until it execs. A short grace period (about 100 ms)
    /// tells those from a real second writer, which holds it for long.
    pub(crate) fn take_writer_lock(&mut self, lock_path: &Path) -> Result<()> {
        let mut waited_ms = 0;
        let lock = loop {
            match self.backend.lock(lock_path, LockMode::Exclusive, false) {
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
                Err(e) => return Err(Error::io("lock", lock_path, e)),
            }
        };
        self.writer_lock = Some(lock);
        Ok(())
    }

    /// Whether a failed sync poisoned this handle.
    pub(crate) fn is_poisoned(&self) -> bool {
        self.poisoned.load(Ordering::SeqCst)
    }

    /// Refuses every further write of this handle (the caller logs why).
    pub(crate) fn poison(&self) {
        self.poisoned.store(true, Ordering::SeqCst);
    }

    /// [`Error::ReadOnly`] for a handle without the writer lock, [`Error::Poisoned`] for a
    /// poisoned one.
    pub(crate) fn check_writable(&self) -> Result<()> {
        if self.writer_lock.is_none() {
            return Err(Error::ReadOnly {
                dir: self.root.clone(),
            });
        }
        if self.is_poisoned() {
            return Err(Error::Poisoned {
                dir: self.root.clone(),
            });
        }
        Ok(())
    }

    /// `relative` inside the root, refused unless it is a path of plain components.
    pub(crate) fn inside(&self, relative: &Path) -> Result<PathBuf> {
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

    /// [`Error::Symlink`] when `path` is a symbolic link (a listing found it where a folder or
    /// file of the store would be); nothing for anything else.
    pub(crate) fn refuse_link(&self, path: &Path) -> Result<()> {
        match self.backend.metadata(path) {
            Ok(meta) if meta.is_symlink => Err(Error::Symlink {
                path: path.to_path_buf(),
            }),
            Ok(_) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::io("stat", path, e)),
        }
    }

    /// [`Error::Symlink`] when a folder between the root and `path` is a symbolic link (a
    /// link at `path` itself is replaced by the rename that writes it, never written through).
    pub(crate) fn refuse_links_to(&self, path: &Path) -> Result<()> {
        self.backend
            .check_no_links(&self.root, path, false)
            .map_err(|e| Error::io("use", path, e))
    }

    /// Lists a folder; empty if it does not exist.
    pub(crate) fn read_dir_or_empty(&self, dir: &Path) -> Result<Vec<DirEntry>> {
        match self.backend.read_dir(dir) {
            Ok(entries) => Ok(entries),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(Error::io("list", dir, e)),
        }
    }

    /// The atomic replace (`docs/durability.md`, "Single saves"): temp file, write, fsync,
    /// rename, fsync the folder.
    pub(crate) fn replace(&self, path: &Path, bytes: &[u8], durability: Durability) -> Result<()> {
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
            self.poison();
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
    pub(crate) fn create_dirs(&self, dir: &Path, durability: Durability) -> Result<()> {
        let mut missing = Vec::new();
        let mut current = dir;
        loop {
            match self.backend.metadata(current) {
                Ok(meta) if meta.is_dir => break,
                // The root (or a folder above it) may be a link: users point their data folder
                // elsewhere that way. Links inside the root are refused by the backend.
                Ok(meta) if meta.is_symlink && self.root.starts_with(current) => break,
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

    /// Removes a file and, with [`Durability::Full`], fsyncs its folder; returns whether the
    /// file existed.
    pub(crate) fn remove_durably(
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

    /// Removes temp files a crash left behind, anywhere below `dir`. They are never a value
    /// of a key: a value only becomes visible when its temp file is renamed into place.
    pub(crate) fn remove_stray_temp_files(&self, dir: &Path) -> Result<usize> {
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
pub(crate) fn is_temp_name(name: &str) -> bool {
    let Some(rest) = name.strip_prefix('.').and_then(|n| n.strip_suffix(".tmp")) else {
        return false;
    };
    let Some((_, random)) = rest.rsplit_once('.') else {
        return false;
    };
    random.len() == TEMP_RANDOM_LEN && random.bytes().all(|b| b.is_ascii_hexdigit())
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
