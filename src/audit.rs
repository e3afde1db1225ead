//! The audit log: one hash-chained JSON line per commit, never values.
//!
//! `.statevault/audit.log` holds the newest lines; when it passes the rotation size it is
//! renamed to `.statevault/audit.<first seq>.log` and a new file continues the chain (its first
//! line's `prev` is the hash of the last line of the rotated file). A line's fields and its two
//! versions are `audit/line.rs`.

mod line;

use std::path::{Path, PathBuf};

use serde::Serialize;
use statevault_core::{Commit, FileHandle, META_DIR, Storage, timestamp_ms};

use crate::error::{Error, Result};
pub use line::AuditEntry;
use line::{Change, GENESIS, Hashed, VERSION, hash_of, hashed_line};

/// The file name of the live log inside `.statevault/`.
const LOG_NAME: &str = "audit.log";
/// The operation of the line a writer adds after a torn tail: it records how many bytes of a
/// line a crash cut off, so the chain goes on from the last whole line and verifies.
const GAP_OP: &str = "gap";

/// The writer's end of the log.
pub(crate) struct AuditLog {
    dir: PathBuf,
    file: Option<Box<dyn FileHandle>>,
    next_seq: u64,
    last_hash: String,
    live_bytes: u64,
    rotate_bytes: u64,
    /// Bytes of a line a crash cut off at the end of the live file, found at open: the next
    /// write starts on a fresh line and records them as a gap.
    torn_tail: Option<u64>,
    /// Changes that were committed but whose lines could not be written: written first by the
    /// next append, so the log never silently misses a committed change.
    unrecorded: Vec<Change>,
}

impl std::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditLog")
            .field("next_seq", &self.next_seq)
            .finish_non_exhaustive()
    }
}

impl AuditLog {
    /// Opens the log of `storage` (a writer), reading where the chain stands.
    pub(crate) fn open(storage: &Storage, rotate_bytes: u64) -> Result<AuditLog> {
        let dir = storage.root().join(META_DIR);
        let tail = last_entry(storage)?;
        let (next_seq, last_hash) = match tail.entry {
            Some(entry) => (entry.seq + 1, entry.hash),
            None => (1, GENESIS.to_owned()),
        };
        Ok(AuditLog {
            dir,
            file: None,
            next_seq,
            last_hash,
            live_bytes: tail.live_bytes,
            rotate_bytes,
            torn_tail: (tail.torn_bytes > 0).then_some(tail.torn_bytes),
            unrecorded: Vec::new(),
        })
    }

    /// Records one commit: `op` names what it was, `keys` what it changed, `commit` the
    /// journal record (its length and BLAKE3 go into the line), `ops` the operations of a
    /// patch. The line is written but not fsynced: the log must not double the cost of a
    /// durable save, and a power loss can only cut lines off its end, which `verify` reports
    /// as an incomplete tail rather than as tampering.
    ///
    /// The commit is already made when this runs. If the line cannot be written the error is
    /// [`Error::NotAudited`], which says so; the line is kept and written before the next one.
    pub(crate) fn append_commit(
        &mut self,
        storage: &Storage,
        op: &str,
        keys: Vec<String>,
        commit: &Commit,
        ops: Option<u64>,
    ) -> Result<()> {
        self.append(
            storage,
            Change {
                op: op.to_owned(),
                keys,
                ops,
                size: commit.len,
                checksum: commit.digest_hex(),
            },
        )
    }

    #[cfg(feature = "backup")]
    /// Records an event that names something other than a commit (a restore names its
    /// snapshot), with no size or checksum.
    pub(crate) fn append_event(
        &mut self,
        storage: &Storage,
        op: &str,
        subject: &str,
    ) -> Result<()> {
        self.append(
            storage,
            Change {
                op: op.to_owned(),
                keys: vec![subject.to_owned()],
                ops: None,
                size: 0,
                checksum: String::new(),
            },
        )
    }

    fn append(&mut self, storage: &Storage, change: Change) -> Result<()> {
        let keys = change.keys.clone();
        self.unrecorded.push(change);
        self.write_unrecorded(storage).map_err(|source| {
            tracing::error!(keys = ?keys, error = %source, "a committed change could not be written to the audit log; it is retried with the next change");
            Error::NotAudited {
                keys,
                source: Box::new(source),
            }
        })
    }

    /// Writes the lines of every change not yet recorded, after a gap line for a torn tail.
    fn write_unrecorded(&mut self, storage: &Storage) -> Result<()> {
        if self.live_bytes >= self.rotate_bytes {
            self.rotate(storage)?;
        }
        let mut lines = Vec::with_capacity(self.unrecorded.len() * 320 + 1);
        if self.torn_tail.is_some() && self.live_bytes > 0 {
            // The torn line gets its end of line, so the new lines stand on their own.
            lines.push(b'\n');
        }
        let mut seq = self.next_seq;
        let mut prev = self.last_hash.clone();
        let time = timestamp_ms();
        let gap = self.torn_tail.map(|bytes| Change {
            op: GAP_OP.to_owned(),
            keys: Vec::new(),
            ops: None,
            size: bytes,
            checksum: String::new(),
        });
        for change in gap.iter().chain(&self.unrecorded) {
            let hashed = Hashed {
                v: VERSION,
                seq,
                time,
                op: &change.op,
                key: None,
                keys: Some(&change.keys),
                ops: change.ops,
                size: change.size,
                checksum: &change.checksum,
                prev: &prev,
            };
            let (hashed, hash) = hashed_line(&hashed);
            // The line is the hashed object with `hash` added last: the same bytes serde
            // writes for an `AuditEntry` (its fields are `Hashed`'s, in the same order, then
            // `hash`), without serializing it twice.
            lines.extend_from_slice(&hashed[..hashed.len() - 1]);
            lines.extend_from_slice(b",\"hash\":\"");
            lines.extend_from_slice(hash.as_bytes());
            lines.extend_from_slice(b"\"}\n");
            seq += 1;
            prev = hash;
        }
        let path = self.dir.join(LOG_NAME);
        let written = (|| {
            if self.file.is_none() {
                let file = storage
                    .backend()
                    .open_append(&path)
                    .map_err(|e| io_error("open", &path, e))?;
                self.file = Some(file);
            }
            let file = self.file.as_mut().expect("opened above");
            file.write_all(&lines)
                .map_err(|e| io_error("append to", &path, e))
        })();
        // On an error nothing of the chain moved: the next line links to the last one written.
        written?;
        self.next_seq = seq;
        self.last_hash = prev;
        self.live_bytes += lines.len() as u64;
        self.torn_tail = None;
        self.unrecorded.clear();
        Ok(())
    }

    fn rotate(&mut self, storage: &Storage) -> Result<()> {
        self.file = None;
        let first = first_seq_of_live(storage)?.unwrap_or(self.next_seq);
        // A torn last line moves with the file it ends; the new file needs no line break.
        let from = self.dir.join(LOG_NAME);
        let to = self.dir.join(format!("audit.{first:020}.log"));
        storage
            .backend()
            .rename(&from, &to)
            .map_err(|e| io_error("rotate", &from, e))?;
        self.live_bytes = 0;
        Ok(())
    }
}

fn io_error(op: &'static str, path: &Path, source: std::io::Error) -> Error {
    Error::Core(statevault_core::Error::Io {
        op,
        path: path.to_path_buf(),
        source,
    })
}

/// The log files in chain order: rotated ones by their first sequence number, then the live one.
fn log_files(storage: &Storage) -> Result<Vec<PathBuf>> {
    let mut rotated: Vec<String> = storage
        .files()
        .list_dir(Path::new(META_DIR))?
        .into_iter()
        .filter(|e| e.is_file && e.name.starts_with("audit.") && e.name != LOG_NAME)
        .filter(|e| e.name.ends_with(".log"))
        .map(|e| e.name)
        .collect();
    rotated.sort();
    let mut files: Vec<PathBuf> = rotated
        .into_iter()
        .map(|n| Path::new(META_DIR).join(n))
        .collect();
    files.push(Path::new(META_DIR).join(LOG_NAME));
    Ok(files)
}

fn read_lines(storage: &Storage, relative: &Path) -> Result<Vec<String>> {
    Ok(match storage.files().read_file(relative)? {
        None => Vec::new(),
        Some(bytes) => String::from_utf8_lossy(&bytes)
            .split_inclusive('\n')
            .map(str::to_owned)
            .collect(),
    })
}

/// Where the chain stands: its last whole line, the live file's size, and the bytes a crash
/// cut off at the end of the live file.
struct Tail {
    entry: Option<AuditEntry>,
    live_bytes: u64,
    torn_bytes: u64,
}

fn last_entry(storage: &Storage) -> Result<Tail> {
    let files = log_files(storage)?;
    let (live, rotated) = files.split_last().expect("the live log is always listed");
    let live_lines = read_lines(storage, live)?;
    let live_bytes = live_lines.iter().map(|l| l.len() as u64).sum();
    let torn_bytes = live_lines
        .last()
        .filter(|l| !l.ends_with('\n'))
        .map_or(0, |l| l.len() as u64);
    let tail = |entry| Tail {
        entry,
        live_bytes,
        torn_bytes,
    };
    // The live file is read anyway (its size decides the next rotation); a rotated one only
    // when the live file holds no whole line yet.
    if let Some(entry) = last_whole_line(&live_lines) {
        return Ok(tail(Some(entry)));
    }
    for file in rotated.iter().rev() {
        if let Some(entry) = last_whole_line(&read_lines(storage, file)?) {
            return Ok(tail(Some(entry)));
        }
    }
    Ok(tail(None))
}

/// The last line that parses: a torn last line (power loss) is skipped, and the chain continues
/// from the last whole one.
fn last_whole_line(lines: &[String]) -> Option<AuditEntry> {
    lines
        .iter()
        .rev()
        .find_map(|l| serde_json::from_str::<AuditEntry>(l.trim_end()).ok())
}

fn first_seq_of_live(storage: &Storage) -> Result<Option<u64>> {
    Ok(read_lines(storage, &Path::new(META_DIR).join(LOG_NAME))?
        .first()
        .and_then(|l| serde_json::from_str::<AuditEntry>(l.trim_end()).ok())
        .map(|e| e.seq))
}

/// A break in the chain found by [`Store::verify_audit`](crate::Store::verify_audit).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditProblem {
    /// The sequence number of the line where the chain breaks (of the line found there, or the
    /// one expected where a line is missing or unreadable).
    pub seq: u64,
    /// The file.
    pub file: String,
    /// What is wrong.
    pub detail: String,
}

/// What [`Store::verify_audit`](crate::Store::verify_audit) found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditReport {
    /// Every line read, in order.
    pub entries: Vec<AuditEntry>,
    /// Breaks of the chain; empty when the log is intact.
    pub problems: Vec<AuditProblem>,
}

/// Reads every log file and checks the chain: contiguous sequence numbers, each line's hash,
/// each `prev` equal to the previous line's hash.
pub fn verify(storage: &Storage) -> Result<AuditReport> {
    let mut entries = Vec::new();
    let mut problems = Vec::new();
    let mut expected_seq = 1;
    let mut prev_hash = GENESIS.to_owned();
    let files = log_files(storage)?;
    let count = files.len();
    // A line a crash cut off, waiting to see whether the writer recorded it as a gap.
    let mut torn: Option<AuditProblem> = None;
    for (index, file) in files.iter().enumerate() {
        let lines = read_lines(storage, file)?;
        let name = file.display().to_string();
        let line_count = lines.len();
        for (line_no, line) in lines.into_iter().enumerate() {
            let last_of_all = index + 1 == count && line_no + 1 == line_count;
            let entry = match serde_json::from_str::<AuditEntry>(line.trim_end()) {
                Ok(entry) => entry,
                Err(e) => {
                    let detail = if last_of_all && !line.ends_with('\n') {
                        "incomplete last line (cut off by a crash)".to_owned()
                    } else {
                        format!("unreadable line {}: {e}", line_no + 1)
                    };
                    problems.extend(torn.take());
                    torn = Some(AuditProblem {
                        seq: expected_seq,
                        file: name.clone(),
                        detail,
                    });
                    continue;
                }
            };
            // The writer that found the torn line recorded it: the gap is part of the chain.
            if entry.op != GAP_OP || entry.seq != expected_seq {
                problems.extend(torn.take());
            }
            torn = None;
            let mut detail = Vec::new();
            if entry.seq != expected_seq {
                detail.push(format!(
                    "sequence {} where {expected_seq} was expected (a line removed or reordered)",
                    entry.seq
                ));
            }
            if entry.prev != prev_hash {
                detail.push("does not chain to the line before it".to_owned());
            }
            if hash_of(&entry) != entry.hash {
                detail.push("its content does not match its hash (edited)".to_owned());
            }
            if !detail.is_empty() {
                problems.push(AuditProblem {
                    seq: entry.seq,
                    file: name.clone(),
                    detail: detail.join("; "),
                });
            }
            expected_seq = entry.seq + 1;
            prev_hash = entry.hash.clone();
            entries.push(entry);
        }
    }
    problems.extend(torn);
    Ok(AuditReport { entries, problems })
}

#[cfg(test)]
mod tests;
