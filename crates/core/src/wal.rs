//! The journal's files in `.statevault/journal/`: their names, the writer's file being
//! appended to (and restarted after a checkpoint), and the reading of what is on disk.
//! What a record holds and how it is encoded is `record.rs`; when to append, checkpoint or
//! recover is `journal.rs`.

use std::io;
use std::path::{Path, PathBuf};

use crate::backend::FileHandle;
use crate::durability::Durability;
use crate::error::{Error, Result};
use crate::folder::Folder;
use crate::record::{self, OpRef};

/// The file-name suffix of a journal file.
const WAL_SUFFIX: &str = ".wal";
/// The suffix a journal file is renamed to when recovery finds it damaged (kept for inspection).
const DAMAGED_SUFFIX: &str = ".wal.damaged";

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

impl Wal {
    /// Bytes of records written since the last checkpoint.
    pub(crate) fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Whether a checkpoint has nothing to do: no journal file, or (when the file is kept) only
    /// the current one with an empty run.
    pub(crate) fn is_settled(&self, after: AfterCheckpoint) -> bool {
        let reused_and_empty = self.files.len() == 1
            && self.current.as_ref().is_some_and(|c| c.len == 0)
            && after == AfterCheckpoint::Reuse;
        self.files.is_empty() || reused_and_empty
    }

    /// Counts a journal file recovery found (its records are pending), so that the next
    /// checkpoint ends it.
    pub(crate) fn adopt(&mut self, path: PathBuf) {
        self.files.push(path);
    }

    /// Writes one record after the current run's last one (starting a journal file in `dir` if
    /// needed) and syncs it. Returns the record's length and its BLAKE3 digest.
    ///
    /// A failed write leaves the record incomplete, and the next record starts a new file; a
    /// failed sync poisons `folder` (the record may or may not be on the medium).
    pub(crate) fn append(
        &mut self,
        folder: &Folder,
        dir: &Path,
        sequence: u64,
        ops: &[OpRef<'_>],
        durability: Durability,
    ) -> Result<(u64, [u8; 32])> {
        let sync = durability != Durability::None;
        if self.current.is_none() {
            let path = dir.join(wal_name(sequence));
            let file = folder
                .backend()
                .create_new(&path)
                .map_err(|e| Error::io("create", &path, e))?;
            self.files.push(path.clone());
            self.current = Some(Current {
                path,
                file,
                name_synced: false,
                len: 0,
                generation: None,
                size: 0,
            });
        }
        let current = self.current.as_mut().expect("a journal file is open");
        if sync && !current.name_synced {
            // Before the first promise made in a file, its name must survive a power loss. A
            // failure here publishes nothing: the file is empty or holds records already
            // synced under a name that is merely not durable yet, which the next sync covers.
            folder
                .backend()
                .sync_dir(dir)
                .map_err(|e| Error::io("fsync folder", dir, e))?;
            current.name_synced = true;
        }
        let generation = current.generation.unwrap_or(sequence);
        let mut encoded = record::encode(sequence, generation, ops);
        let mut digest = blake3::Hasher::new();
        for piece in &encoded.pieces {
            digest.update(piece.bytes());
        }
        // The record is followed by a zeroed header, in the same write: where a run ends is
        // then plain to see, over stale records of an earlier run too, and a reader that
        // follows the file stops there without reading on (`reader.rs`).
        if let Some(record::Piece::Owned(last)) = encoded.pieces.last_mut() {
            last.extend_from_slice(&[0; record::HEADER_LEN]);
        }
        let mut at = current.len;
        let mut written = Ok(());
        for piece in &encoded.pieces {
            let bytes = piece.bytes();
            written = current.file.write_all_at(at, bytes);
            if written.is_err() {
                break;
            }
            at += bytes.len() as u64;
        }
        let marked = at;
        at = current.len + encoded.len;
        // Past the file's end, the file grows ahead of the records by zeros: a record written
        // over blocks that exist costs a data-only sync, where one that grows the file makes
        // the sync commit its new size and blocks too (the first record after a growth pays
        // that, once per chunk).
        let mut ahead = preallocation_end(current.size, marked);
        if written.is_ok()
            && ahead > marked.max(current.size)
            && let Err(e) = write_zeros(&mut *current.file, marked.max(current.size), ahead)
        {
            // Only a saving for later commits: a disk too full to grow the file ahead of the
            // record still takes the record.
            tracing::debug!(error = %e, "the journal file could not grow ahead of its records");
            ahead = marked;
        }
        if let Err(e) = written {
            // The record is incomplete: never replayed. The next commit starts a new file, so
            // the torn record stays the last record of its run in this one; a file that holds
            // nothing else of its run goes (if that fails too, the next open drops it). One
            // that does is cut back to its complete records, which frees what the torn one took
            // of a full disk (a cut that does not reach the medium leaves the torn record
            // last, as before).
            let path = current.path.clone();
            let empty = current.len == 0;
            if !empty {
                let _ = current.file.set_len(current.len);
            }
            self.current = None;
            if empty && folder.backend().remove_file(&path).is_ok() {
                self.files.retain(|p| p != &path);
            }
            return Err(Error::io("write", path, e));
        }
        if sync && let Err(e) = current.file.sync() {
            // The record may or may not be on the medium, and the page cache no longer says
            // which: refuse writes until reopened, and read what the disk holds.
            let path = current.path.clone();
            self.current = None;
            folder.poison();
            tracing::error!(journal = %path.display(), error = %e, "journal fsync failed; the store refuses writes until reopened");
            return Err(Error::io("fsync", path, e));
        }
        current.generation = Some(generation);
        current.len = at;
        current.size = current.size.max(marked).max(ahead);
        self.bytes += encoded.len;
        Ok((encoded.len, *digest.finalize().as_bytes()))
    }

    /// Ends the journal after a checkpoint made its values durable in the keys' files: every
    /// file but the current one removed, then the current one restarted (its first record's
    /// header zeroed, so it reads as empty) or, with [`AfterCheckpoint::Remove`] or once it
    /// grew past twice `checkpoint_bytes`, removed too.
    pub(crate) fn end_run(
        &mut self,
        folder: &Folder,
        dir: &Path,
        after: AfterCheckpoint,
        checkpoint_bytes: u64,
    ) -> Result<()> {
        let reuse_limit = checkpoint_bytes.saturating_mul(2).max(1024 * 1024);
        let keep = match &self.current {
            Some(current) if after == AfterCheckpoint::Reuse && current.size <= reuse_limit => {
                Some(current.path.clone())
            }
            _ => None,
        };
        // The journal's files end oldest first, each durably before the next: were an older
        // one to come back after a power loss while a newer one is gone, its old values would
        // be replayed over the newer ones. (Only a write that failed part way leaves more than
        // one file.)
        for path in &self.files {
            if Some(path) == keep.as_ref() {
                continue;
            }
            folder.remove_if_present(path, "remove")?;
            folder.sync_dir_or_poison(dir)?;
        }
        match self.current.as_mut() {
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
            _ => self.current = None,
        }
        self.files = keep.into_iter().collect();
        self.bytes = 0;
        Ok(())
    }
}

/// The journal files in `dir`, oldest first, and the largest sequence number any journal
/// file's name carries (damaged ones included), for recovery.
pub(crate) fn files_for_recovery(folder: &Folder, dir: &Path) -> Result<(Vec<PathBuf>, u64)> {
    let mut files: Vec<(u64, PathBuf)> = Vec::new();
    let mut last = 0;
    for entry in folder.read_dir_or_empty(dir)? {
        if !entry.is_file {
            continue;
        }
        if let Some(sequence) = wal_sequence(&entry.name) {
            files.push((sequence, dir.join(&entry.name)));
        }
        if let Some(sequence) = leading_sequence(&entry.name) {
            last = last.max(sequence);
        }
    }
    files.sort();
    Ok((files.into_iter().map(|(_, path)| path).collect(), last))
}

/// Renames a damaged journal file `<sequence>.wal.damaged`; returns its new path.
pub(crate) fn quarantine(folder: &Folder, path: &Path) -> Result<PathBuf> {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.strip_suffix(WAL_SUFFIX))
        .expect("journal files are named <sequence>.wal");
    let to = path.with_file_name(format!("{name}{DAMAGED_SUFFIX}"));
    folder
        .backend()
        .rename(path, &to)
        .map_err(|e| Error::io("rename", path, e))?;
    Ok(to)
}

/// The journal files in `dir` (`<sequence>.wal`), oldest first.
pub(crate) fn journal_files(folder: &Folder, dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files: Vec<(u64, PathBuf)> = folder
        .read_dir_or_empty(dir)?
        .into_iter()
        .filter(|e| e.is_file)
        .filter_map(|e| wal_sequence(&e.name).map(|s| (s, dir.join(&e.name))))
        .collect();
    files.sort();
    Ok(files.into_iter().map(|(_, path)| path).collect())
}

/// The error a reader reports for a journal file with a damaged record.
pub(crate) fn damaged(path: &Path, at: usize, detail: &str) -> Error {
    Error::CorruptMetadata {
        path: path.to_path_buf(),
        detail: format!(
            "journal record at byte {at} is damaged ({detail}) and committed batches follow it; \
             they cannot be read. The next writer's open keeps the file as {}{DAMAGED_SUFFIX} and \
             applies none of them",
            path.file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or("<sequence>"),
        ),
    }
}

/// The quarantined journal files (`<sequence>.wal.damaged`) in `dir`, oldest first.
pub(crate) fn quarantined_files(folder: &Folder, dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = folder
        .read_dir_or_empty(dir)?
        .into_iter()
        .filter(|e| !e.is_dir && e.name.ends_with(DAMAGED_SUFFIX))
        .map(|e| dir.join(e.name))
        .collect();
    files.sort();
    Ok(files)
}

/// The name of the journal file whose first record is `sequence`.
fn wal_name(sequence: u64) -> String {
    format!("{sequence:020}{WAL_SUFFIX}")
}

/// The first sequence number of a journal file's name (`None` for anything else).
fn wal_sequence(name: &str) -> Option<u64> {
    let digits = name.strip_suffix(WAL_SUFFIX)?;
    if digits.len() != 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// The sequence number at the start of any journal file name (journals, damaged journals).
fn leading_sequence(name: &str) -> Option<u64> {
    let digits = name.get(..20)?;
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// The smallest growth ahead of the records: 64 KiB, then as much as the file holds, up to
/// 1 MiB at a time.
const GROWTH_MIN: u64 = 64 * 1024;
const GROWTH_MAX: u64 = 1024 * 1024;

/// Where a journal file of `size` bytes whose records now end at `end` should end: `size`
/// while the records fit, else `end` plus a chunk that grows with the file.
fn preallocation_end(size: u64, end: u64) -> u64 {
    if end <= size {
        return size;
    }
    end + size.clamp(GROWTH_MIN, GROWTH_MAX)
}

/// Writes zeros over `from..to`.
fn write_zeros(file: &mut dyn FileHandle, from: u64, to: u64) -> io::Result<()> {
    static ZEROS: [u8; 64 * 1024] = [0; 64 * 1024];
    let mut at = from;
    while at < to {
        let n = (to - at).min(ZEROS.len() as u64);
        file.write_all_at(at, &ZEROS[..n as usize])?;
        at += n;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn journal_names_round_trip_and_nothing_else_is_a_journal() {
        assert_eq!(wal_name(31), "00000000000000000031.wal");
        assert_eq!(wal_sequence(&wal_name(u64::MAX)), Some(u64::MAX));
        for not in [
            "31.wal",
            "00000000000000000031.wal.damaged",
            ".00000000000000000031.wal.0123456789abcdef.tmp",
            "0000000000000000003x.wal",
        ] {
            assert_eq!(wal_sequence(not), None, "{not}");
        }
        assert_eq!(
            leading_sequence("00000000000000000031.wal.damaged"),
            Some(31)
        );
    }
}
