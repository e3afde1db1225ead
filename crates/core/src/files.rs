//! Files of the store that are not keys (backup objects and manifests, the audit log), by
//! their paths inside the root: the API other layers keep their own files through.

use std::io;
use std::path::Path;

use crate::backend::DirEntry;
use crate::durability::Durability;
use crate::error::{Error, Result};
use crate::folder::{Folder, is_temp_name};

/// The files of a store that are not keys, at paths of plain components inside its root
/// (from [`Storage::files`](crate::Storage::files)).
///
/// Writes are atomic and durable as a key's ([`Durability`]) and are refused, like a key's, by
/// a read-only or poisoned handle. Nothing here goes through the journal: these files are
/// never part of a batch.
#[derive(Debug, Clone, Copy)]
pub struct StoreFiles<'a> {
    folder: &'a Folder,
}

impl<'a> StoreFiles<'a> {
    pub(crate) fn new(folder: &'a Folder) -> StoreFiles<'a> {
        StoreFiles { folder }
    }

    /// Writes a file of the store that is not a key (a backup object, a manifest) atomically,
    /// at `relative`, a path of plain components inside the root.
    pub fn write_file(&self, relative: &Path, bytes: &[u8], durability: Durability) -> Result<()> {
        self.folder.check_writable()?;
        let path = self.folder.inside(relative)?;
        self.folder.replace(&path, bytes, durability)
    }

    /// Reads a file of the store that is not a key; `None` if it does not exist.
    pub fn read_file(&self, relative: &Path) -> Result<Option<Vec<u8>>> {
        let path = self.folder.inside(relative)?;
        match self.folder.backend().read(&path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io("read", path, e)),
        }
    }

    /// Removes a file of the store that is not a key; returns whether it existed.
    pub fn remove_file(&self, relative: &Path, durability: Durability) -> Result<bool> {
        self.folder.check_writable()?;
        self.folder
            .remove_durably(&self.folder.inside(relative)?, durability, "remove")
    }

    /// Lists a folder of the store (names, no recursion); empty if it does not exist. An empty
    /// path lists the root. Below the root, a symbolic link among the entries is
    /// [`Error::Symlink`](crate::Error::Symlink).
    pub fn list_dir(&self, relative: &Path) -> Result<Vec<DirEntry>> {
        if relative.as_os_str().is_empty() {
            return self.folder.read_dir_or_empty(self.folder.root());
        }
        let path = self.folder.inside(relative)?;
        let entries = self.folder.read_dir_or_empty(&path)?;
        // A link among the store's files is reported, never skipped in silence.
        for entry in entries.iter().filter(|e| !e.is_dir && !e.is_file) {
            self.folder.refuse_link(&path.join(&entry.name))?;
        }
        Ok(entries)
    }

    /// Whether `file_name`, as [`StoreFiles::list_dir`] lists it, is the temp file of an atomic
    /// write that was not renamed into place: one being written right now, or one a crash left
    /// (the next writer's open removes those). It is never a file of its own: a layer that
    /// lists the store's folders skips it, or counts it as left by a crash.
    pub fn is_unfinished_write(file_name: &str) -> bool {
        is_temp_name(file_name)
    }
}
