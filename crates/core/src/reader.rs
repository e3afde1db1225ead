//! A reader's index of the journal: what a handle that does not write (a read-only handle, a
//! writer poisoned by a failed sync) knows of the journal on disk, kept between reads and
//! extended from where it stopped, so a read costs what was committed since the previous one,
//! not the journal's size.
//!
//! For each journal file with a run, the index keeps the run's generation and the offset after
//! the last complete record it read. A read lists the journal folder, reads each file's first
//! header (the run it starts) and, when file and run are those the index knows, only the bytes
//! after the offset. Anything else (a run ended by a checkpoint and a new one started, a file
//! gone or new out of order, a first header that does not read) rebuilds the index from the
//! files' starts, as a first read does. All of it runs under `apply.lock` shared, so no
//! checkpoint replaces files or ends a run meanwhile; the writer may append, and a record
//! being written is not complete and not read until a later read finds it whole. A read that
//! raced two appends can see a record's bytes from before its append and a later record whole;
//! such "damage" is read again before it is reported (see `extend`).

use std::collections::HashMap;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use crate::backend::ReadHandle;
use crate::error::{Error, Result};
use crate::folder::Folder;
use crate::pending::{Pending, apply_record};
use crate::record::{self, RunMark, ScanEnd};
use crate::wal;

/// Where the index stands in one journal file.
#[derive(Debug, Clone, PartialEq, Eq)]
struct FileMark {
    path: PathBuf,
    /// The generation of the file's run, as its first header names it (`None`: that header
    /// did not read).
    generation: Option<u64>,
    /// The end of the last complete record read (0: none yet).
    offset: u64,
    /// The run's last record read (`None`: none yet).
    last_sequence: Option<u64>,
}

/// A reader's index of the journal (see the module's doc).
#[derive(Debug, Default)]
pub(crate) struct ReaderIndex {
    /// The files read, in the order of the journal (oldest first).
    files: Vec<FileMark>,
    pending: Pending,
    /// How many records the index holds.
    records: usize,
    /// The journal files kept open between reads.
    handles: Handles,
}

impl ReaderIndex {
    /// The keys the journal holds, as of the last [`ReaderIndex::refresh`].
    pub(crate) fn pending(&self) -> &Pending {
        &self.pending
    }

    /// How many committed records the journal held at the last refresh.
    pub(crate) fn records(&self) -> usize {
        self.records
    }

    /// Brings the index up to date with the journal files in `dir`. Must run under
    /// `apply.lock` shared. A damaged record (one followed by a record of its run) is
    /// [`Error::CorruptMetadata`], as for any reader; the index is then rebuilt by the next
    /// refresh.
    pub(crate) fn refresh(&mut self, folder: &Folder, dir: &Path) -> Result<()> {
        let runs = self.live_runs(folder, dir)?;
        // The files the index read must still be the journal's first ones, each with the run
        // it read; the writer only ever appends to its last file or starts a newer one.
        let known = runs.len() >= self.files.len()
            && self
                .files
                .iter()
                .zip(&runs)
                .all(|(mark, (path, generation))| {
                    &mark.path == path && mark.generation == *generation
                });
        if !known {
            self.forget();
        }
        let result = self.extend(folder, &runs);
        if result.is_err() {
            self.forget();
        }
        result
    }

    /// Forgets what was read (the open files stay open: their names are never reused).
    fn forget(&mut self) {
        let handles = std::mem::take(&mut self.handles);
        *self = ReaderIndex {
            handles,
            ..ReaderIndex::default()
        };
    }

    /// The journal files in `dir` that hold a run, oldest first, each with the generation its
    /// first header names (`None` where that header does not read: scanned whole).
    fn live_runs(&mut self, folder: &Folder, dir: &Path) -> Result<Vec<(PathBuf, Option<u64>)>> {
        let files = wal::journal_files(folder, dir)?;
        self.handles.keep_only(&files);
        let mut runs = Vec::new();
        for path in files {
            let Some(head) = self.handles.read(folder, &path, 0, record::HEADER_LEN)? else {
                continue;
            };
            if record::ended_run(&head) {
                continue;
            }
            let generation = record::run_of(&head);
            runs.push((path, generation));
        }
        Ok(runs)
    }

    /// Reads what the index has not read of each file in `runs` (in order): the bytes after
    /// its mark, or the whole file for one it does not know yet.
    fn extend(&mut self, folder: &Folder, runs: &[(PathBuf, Option<u64>)]) -> Result<()> {
        for (index, (path, generation)) in runs.iter().enumerate() {
            let mut mark = self.files.get(index).cloned().unwrap_or(FileMark {
                path: path.clone(),
                generation: *generation,
                offset: 0,
                last_sequence: None,
            });
            // A file read for the first time is read whole, so damage anywhere in it is
            // reported; after that, what follows the mark.
            let mut want = if mark.last_sequence.is_none() {
                usize::MAX
            } else {
                WINDOW
            };
            // `None`: removed since it was listed. Only a checkpoint removes journal files, and
            // none runs under our shared lock, so this is a writer's failed first append
            // cleaning up.
            // Where the previous read of this file saw damage, if it did.
            let mut damage_seen: Option<u64> = None;
            while let Some(bytes) = self.handles.read(folder, path, mark.offset, want)? {
                let at_end = bytes.len() < want;
                let scan = record::scan_from(&bytes, 0, run_mark(&mark));
                let start = mark.offset;
                mark.offset += scan.consumed as u64;
                for record in scan.records {
                    mark.last_sequence = Some(record.sequence);
                    self.records += 1;
                    apply_record(&mut self.pending, record);
                }
                if let ScanEnd::Damaged { at, detail } = &scan.end {
                    // A read is not atomic with the writer's appends: one read can copy a
                    // record's pages before an append reached them and a later record's after
                    // the next append finished, and so see "damage followed by a record of the
                    // run". That later record proves every append before it returned, so the
                    // same bytes read again are final: damage seen twice at one offset is
                    // damage; anything else was an append under way.
                    let at_abs = start.saturating_add(*at as u64);
                    if damage_seen == Some(at_abs) {
                        let at = usize::try_from(at_abs).unwrap_or(usize::MAX);
                        return Err(wal::damaged(path, at, detail));
                    }
                    damage_seen = Some(at_abs);
                    want = usize::MAX;
                    continue;
                }
                if at_end {
                    break;
                }
                want = match next_read(&bytes[scan.consumed..]) {
                    Next::Done => break,
                    Next::Window(len) => len,
                    // Something that is not the run's end right after it: an append under way,
                    // or damage. Read the rest of the file, as recovery would, to tell which.
                    Next::Rest => usize::MAX,
                };
            }
            match self.files.get_mut(index) {
                Some(slot) => *slot = mark,
                None => self.files.push(mark),
            }
        }
        Ok(())
    }
}

/// How much a read that follows a file reads at once: a few commits' worth.
const WINDOW: usize = 16 * 1024;

/// What a reader reads next, after a window whose scan stopped before the window's end, given
/// the bytes left in the window from where it stopped.
enum Next {
    /// The run ends here: bytes never written, or the zeros a writer leaves after its last
    /// record (`wal.rs`), so what follows is not read.
    Done,
    /// The window cut a record or a header: read again from where the scan stopped.
    Window(usize),
    /// Read the rest of the file.
    Rest,
}

fn next_read(rest: &[u8]) -> Next {
    if rest.len() < record::HEADER_LEN {
        return Next::Window(WINDOW);
    }
    if rest[..record::HEADER_LEN].iter().all(|&b| b == 0) {
        return Next::Done;
    }
    match record::record_len(rest) {
        Some(len) if len > rest.len() => Next::Window(len.max(WINDOW)),
        _ => Next::Rest,
    }
}

fn run_mark(mark: &FileMark) -> Option<RunMark> {
    match (mark.generation, mark.last_sequence) {
        (Some(generation), Some(last_sequence)) => Some(RunMark {
            generation,
            last_sequence,
        }),
        _ => None,
    }
}

/// The journal files a reader keeps open, by path (a journal file's name is never reused, so
/// an open file is the one its name lists). Where the backend cannot keep files open, reads go
/// by path.
#[derive(Default)]
struct Handles {
    open: HashMap<PathBuf, Box<dyn ReadHandle>>,
    by_path: bool,
}

impl fmt::Debug for Handles {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handles")
            .field("open", &self.open.len())
            .field("by_path", &self.by_path)
            .finish()
    }
}

impl Handles {
    /// Closes the files no longer listed.
    fn keep_only(&mut self, listed: &[PathBuf]) {
        self.open.retain(|path, _| listed.contains(path));
    }

    /// At most `len` bytes of `path` from `offset`; `None` when the file is gone.
    fn read(
        &mut self,
        folder: &Folder,
        path: &Path,
        offset: u64,
        len: usize,
    ) -> Result<Option<Vec<u8>>> {
        if !self.by_path && !self.open.contains_key(path) {
            match folder.backend().open_read(path) {
                Ok(handle) => {
                    self.open.insert(path.to_path_buf(), handle);
                }
                Err(e) if e.kind() == io::ErrorKind::Unsupported => self.by_path = true,
                Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
                Err(e) => return Err(Error::io("open", path, e)),
            }
        }
        match self.open.get_mut(path) {
            Some(handle) => handle
                .read_at(offset, len)
                .map(Some)
                .map_err(|e| Error::io("read", path, e)),
            None => read_at(folder, path, offset, len),
        }
    }
}

/// At most `len` bytes of `path` from `offset`, by path (the whole file read and cut); `None`
/// when the file is gone.
fn read_at(folder: &Folder, path: &Path, offset: u64, len: usize) -> Result<Option<Vec<u8>>> {
    match folder.backend().read(path) {
        Ok(bytes) => {
            let start = usize::try_from(offset).map_or(bytes.len(), |o| o.min(bytes.len()));
            let end = start.saturating_add(len).min(bytes.len());
            Ok(Some(bytes[start..end].to_vec()))
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io("read", path, e)),
    }
}
