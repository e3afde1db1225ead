//! The files' side of a checkpoint: the journal's latest values written into the keys' files
//! (temp files synced as a group, renamed into place, folders synced). The journal decides
//! when, holds the locks, and ends its run afterwards (`journal.rs`).

use std::collections::BTreeSet;
use std::path::PathBuf;

use crate::backend::FileHandle;
use crate::durability::Durability;
use crate::error::{Error, Result};
use crate::fold::Folding;
use crate::folder::{Folder, temp_path};
use crate::key::Key;
use crate::pending::Entry;

/// Writes and syncs a temp file for every value to checkpoint. Returns the temp of each
/// entry (`None` for a delete); every temp created, even on an error, is in `created`.
///
/// A value with amendments is folded first (its base read from the key's file where the
/// journal does not hold it): every fold happens before any file is replaced, so one that
/// fails leaves everything as it was.
pub(crate) fn stage(
    folder: &Folder,
    folding: &Folding,
    entries: &[(Key, Entry)],
    created: &mut Vec<PathBuf>,
) -> Result<Vec<Option<PathBuf>>> {
    let mut files: Vec<(PathBuf, Box<dyn FileHandle>)> = Vec::new();
    let mut temps = Vec::with_capacity(entries.len());
    for (key, entry) in entries {
        let folded;
        let value: &[u8] = match (&entry.value, entry.amendments.is_empty()) {
            (None, true) => {
                temps.push(None);
                continue;
            }
            (Some(value), true) => value,
            (base, false) => {
                let base = match base {
                    Some(value) => value.to_vec(),
                    None => {
                        let path = folder.path_of(key);
                        folder
                            .backend()
                            .read(&path)
                            .map_err(|e| Error::io("read", &path, e))?
                    }
                };
                folded = folding.fold(key, base, &entry.amendments)?;
                &folded
            }
        };
        let temp = temp_path(&folder.path_of(key))?;
        // A new folder is made durable in its parent now; the renames' folders are synced
        // after the renames.
        let mut file = folder.create_temp(&temp, Durability::Full)?;
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

/// The renames and removals of a checkpoint, then the syncs of every folder they touched.
/// Once this returns, every value is durable in its key's file and the journal may end.
pub(crate) fn replace(
    folder: &Folder,
    entries: &[(Key, Entry)],
    temps: &[Option<PathBuf>],
) -> Result<()> {
    let mut dirs = BTreeSet::new();
    for ((key, _), temp) in entries.iter().zip(temps) {
        let target = folder.path_of(key);
        match temp {
            Some(temp) => folder
                .backend()
                .rename(temp, &target)
                .map_err(|e| Error::io("rename", &target, e))?,
            None => {
                if !folder.remove_if_present(&target, "delete")? {
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
        folder.sync_dir_or_poison(dir)?;
    }
    Ok(())
}
