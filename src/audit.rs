//! The audit log: one hash-chained JSON line per change, never values.
//!
//! `.statevault/audit.log` holds the newest lines; when it passes the rotation size it is
//! renamed to `.statevault/audit.<first seq>.log` and a new file continues the chain (its first
//! line's `prev` is the hash of the last line of the rotated file).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use statevault_core::{FileHandle, META_DIR, Storage, timestamp_ms};

use crate::error::{Error, Result};

/// The file name of the live log inside `.statevault/`.
const LOG_NAME: &str = "audit.log";
/// The operation of the line a writer adds after a torn tail: it records how many bytes of a
/// line a crash cut off, so the chain goes on from the last whole line and verifies.
const GAP_OP: &str = "gap";
/// The `prev` of the very first line.
const GENESIS: &str = "blake3:0000000000000000000000000000000000000000000000000000000000000000";

/// One line of the audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// 1, 2, 3, … across rotations.
    pub seq: u64,
    /// When, in milliseconds since the Unix epoch.
    pub time: u64,
    /// `save`, `delete`, `batch-save`, `batch-delete`, `restore-save`, `restore-delete`, …
    pub op: String,
    /// The key changed.
    pub key: String,
    /// Size of the new bytes (0 for a delete).
    pub size: u64,
    /// BLAKE3 of the new bytes as stored (empty for a delete). Never the value itself.
    pub checksum: String,
    /// The `hash` of the previous line.
    pub prev: String,
    /// BLAKE3 of this line's other fields, in this order, as compact JSON.
    pub hash: String,
}

/// The fields hashed into [`AuditEntry::hash`], in a fixed order.
#[derive(Serialize)]
struct Hashed<'a> {
    seq: u64,
    time: u64,
    op: &'a str,
    key: &'a str,
    size: u64,
    checksum: &'a str,
    prev: &'a str,
}

fn hash_of(entry: &AuditEntry) -> String {
    let hashed = Hashed {
        seq: entry.seq,
        time: entry.time,
        op: &entry.op,
        key: &entry.key,
        size: entry.size,
        checksum: &entry.checksum,
        prev: &entry.prev,
    };
    hashed_line(&hashed).1
}

/// The compact JSON of `hashed` and the hash of it that becomes the line's `hash`.
fn hashed_line(hashed: &Hashed<'_>) -> (Vec<u8>, String) {
    let bytes = serde_json::to_vec(hashed).expect("plain fields always serialize");
    let hash = format!("blake3:{}", blake3::hash(&bytes).to_hex());
    (bytes, hash)
}

/// What the log records of a new value: its size and hash, never the value.
#[derive(Debug, Clone)]
pub(crate) struct Fingerprint {
    size: u64,
    checksum: String,
}

impl Fingerprint {
    pub(crate) fn of(bytes: &[u8]) -> Fingerprint {
        Fingerprint {
            size: bytes.len() as u64,
            checksum: format!("blake3:{}", blake3::hash(bytes).to_hex()),
        }
    }
}

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
    unrecorded: Vec<(String, String, Option<Fingerprint>)>,
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

    /// Appends one line. The line is written but not fsynced: the log must not double the cost
    /// of a durable save, and a power loss can only cut lines off its end, which `verify`
    /// reports as an incomplete tail rather than as tampering.
    pub(crate) fn append(
        &mut self,
        storage: &Storage,
        op: &str,
        key: &str,
        new_bytes: Option<&Fingerprint>,
    ) -> Result<()> {
        self.append_many(storage, &[(op, key, new_bytes)])
    }

    /// Appends one line per change, in order, with one write (a batch's changes). The lines
    /// are written but not fsynced, as [`AuditLog::append`]'s.
    ///
    /// The changes are already committed when this runs. If the lines cannot be written the
    /// error is [`Error::NotAudited`], which says so; the lines are kept and written before
    /// the next change's.
    pub(crate) fn append_many(
        &mut self,
        storage: &Storage,
        changes: &[(&str, &str, Option<&Fingerprint>)],
    ) -> Result<()> {
        if changes.is_empty() {
            return Ok(());
        }
        self.unrecorded.extend(
            changes
                .iter()
                .map(|&(op, key, new)| (op.to_owned(), key.to_owned(), new.cloned())),
        );
        self.write_unrecorded(storage).map_err(|source| {
            let keys: Vec<&str> = changes.iter().map(|&(_, key, _)| key).collect();
            tracing::error!(keys = ?keys, error = %source, "a committed change could not be written to the audit log; it is retried with the next change");
            Error::NotAudited {
                keys: keys.into_iter().map(str::to_owned).collect(),
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
        let gap = self.torn_tail.map(|bytes| Fingerprint {
            size: bytes,
            checksum: String::new(),
        });
        let gap = gap.as_ref().map(|gap| (GAP_OP, "", Some(gap)));
        let changes = self
            .unrecorded
            .iter()
            .map(|(op, key, new)| (op.as_str(), key.as_str(), new.as_ref()));
        for (op, key, new_bytes) in gap.into_iter().chain(changes) {
            let hashed = Hashed {
                seq,
                time,
                op,
                key,
                size: new_bytes.map_or(0, |f| f.size),
                checksum: new_bytes.map_or("", |f| f.checksum.as_str()),
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
mod tests {
    use serde_json::json;

    use crate::{Store, StoreOptions};

    fn store_with_changes(dir: &std::path::Path, rotate: u64) -> Store {
        let store = Store::open_with(dir, StoreOptions::new().audit_rotate_bytes(rotate)).unwrap();
        for i in 0..12 {
            store.save("plugins.a", &json!({ "i": i })).unwrap();
        }
        store.delete("plugins.a").unwrap();
        let mut batch = crate::Batch::new();
        batch.save("plugins.b", &json!({ "b": 1 })).unwrap();
        batch.save("plugins.c", &json!({ "c": 1 })).unwrap();
        batch.delete("plugins.d").unwrap();
        store.save_batch(batch).unwrap();
        store
    }

    #[test]
    fn each_line_is_exactly_its_entry_as_compact_json() {
        let dir = tempfile::tempdir().unwrap();
        drop(store_with_changes(dir.path(), u64::MAX));
        let text = std::fs::read_to_string(live_log(dir.path())).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines.len(),
            16,
            "13 changes, then a batch of 3 in one write"
        );
        for line in &lines {
            let entry: super::AuditEntry = serde_json::from_str(line).unwrap();
            assert_eq!(serde_json::to_string(&entry).unwrap(), *line);
            assert_eq!(super::hash_of(&entry), entry.hash);
        }
        assert!(lines[13].contains("\"op\":\"batch-save\""));
        assert!(lines[15].contains("\"op\":\"batch-delete\""));
    }

    fn live_log(dir: &std::path::Path) -> std::path::PathBuf {
        dir.join(".statevault/audit.log")
    }

    fn problems_after(edit: impl FnOnce(&mut Vec<String>)) -> Vec<(u64, String)> {
        let dir = tempfile::tempdir().unwrap();
        let store = store_with_changes(dir.path(), u64::MAX);
        let text = std::fs::read_to_string(live_log(dir.path())).unwrap();
        let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
        edit(&mut lines);
        std::fs::write(live_log(dir.path()), lines.join("\n") + "\n").unwrap();
        store
            .verify_audit()
            .unwrap()
            .problems
            .into_iter()
            .map(|p| (p.seq, p.detail))
            .collect()
    }

    #[test]
    fn an_intact_log_verifies_and_holds_no_values() {
        let dir = tempfile::tempdir().unwrap();
        let store = store_with_changes(dir.path(), u64::MAX);
        let report = store.verify_audit().unwrap();
        assert_eq!(report.entries.len(), 16);
        assert!(report.problems.is_empty(), "{:?}", report.problems);
        assert_eq!(report.entries[12].op, "delete");
        assert_eq!(report.entries[15].op, "batch-delete");
        let text = std::fs::read_to_string(live_log(dir.path())).unwrap();
        assert!(!text.contains("\"i\""), "values never enter the log");
    }

    #[test]
    fn an_edited_line_is_reported_with_its_sequence_number() {
        let problems = problems_after(|lines| {
            lines[4] = lines[4].replace("\"op\":\"save\"", "\"op\":\"delete\"");
        });
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].0, 5);
        assert!(problems[0].1.contains("edited"), "{problems:?}");
    }

    #[test]
    fn a_removed_line_is_reported() {
        let problems = problems_after(|lines| {
            lines.remove(6);
        });
        assert_eq!(problems[0].0, 8, "{problems:?}");
        assert!(problems[0].1.contains("7 was expected"), "{problems:?}");
    }

    #[test]
    fn reordered_lines_are_reported() {
        let problems = problems_after(|lines| lines.swap(2, 3));
        assert!(problems.iter().any(|p| p.0 == 4), "{problems:?}");
    }

    #[test]
    fn the_chain_continues_across_rotated_files_and_reopens() {
        let dir = tempfile::tempdir().unwrap();
        drop(store_with_changes(dir.path(), 600));
        let store = store_with_changes(dir.path(), 600);
        let rotated = std::fs::read_dir(dir.path().join(".statevault"))
            .unwrap()
            .filter(|e| {
                let name = e.as_ref().unwrap().file_name().into_string().unwrap();
                name.starts_with("audit.0")
            })
            .count();
        assert!(rotated >= 2, "{rotated} rotated files");
        let report = store.verify_audit().unwrap();
        assert_eq!(report.entries.len(), 32);
        assert!(report.problems.is_empty(), "{:?}", report.problems);
        let seqs: Vec<u64> = report.entries.iter().map(|e| e.seq).collect();
        assert_eq!(seqs, (1..=32).collect::<Vec<_>>());
    }

    #[test]
    fn a_torn_last_line_is_an_incomplete_tail_and_the_chain_goes_on() {
        let dir = tempfile::tempdir().unwrap();
        drop(store_with_changes(dir.path(), u64::MAX));
        let path = live_log(dir.path());
        let mut bytes = std::fs::read(&path).unwrap();
        bytes.truncate(bytes.len() - 20);
        std::fs::write(&path, &bytes).unwrap();
        let store = Store::open(dir.path()).unwrap();
        let report = store.verify_audit().unwrap();
        assert_eq!(report.problems.len(), 1);
        assert!(report.problems[0].detail.contains("incomplete"));
    }

    #[test]
    fn a_torn_tail_is_recorded_as_a_gap_and_the_chain_verifies_after_it() {
        let dir = tempfile::tempdir().unwrap();
        drop(store_with_changes(dir.path(), u64::MAX));
        let path = live_log(dir.path());
        let mut bytes = std::fs::read(&path).unwrap();
        bytes.truncate(bytes.len() - 20);
        std::fs::write(&path, &bytes).unwrap();
        let store = Store::open(dir.path()).unwrap();
        store
            .save("plugins.after", &json!({"after": true}))
            .unwrap();
        let report = store.verify_audit().unwrap();
        assert!(report.problems.is_empty(), "{:?}", report.problems);
        let ops: Vec<&str> = report.entries.iter().map(|e| e.op.as_str()).collect();
        // The torn line (seq 16) is replaced by the gap, then the new change follows.
        assert_eq!(ops[ops.len() - 2..], ["gap", "save"]);
        let gap = &report.entries[report.entries.len() - 2];
        assert_eq!(
            (gap.seq, gap.size),
            (16, bytes.len() as u64 - last_newline(&bytes))
        );
        // The new line starts on a line of its own.
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.lines().last().unwrap().starts_with("{\"seq\":17,"));
    }

    fn last_newline(bytes: &[u8]) -> u64 {
        bytes.iter().rposition(|b| *b == b'\n').unwrap() as u64 + 1
    }

    #[test]
    fn a_save_whose_audit_line_fails_says_it_is_saved_and_the_line_is_written_later() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        store.save("plugins.a", &json!({"v": 1})).unwrap();
        drop(store);
        let store = Store::open(dir.path()).unwrap();
        // The log cannot be appended to: its name is taken by a folder.
        let path = live_log(dir.path());
        let kept = std::fs::read(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        std::fs::create_dir(&path).unwrap();
        let error = store.save("plugins.a", &json!({"v": 2})).unwrap_err();
        assert_eq!(error.kind(), crate::ErrorKind::NotAudited, "{error}");
        assert_eq!(error.key(), Some("plugins.a"));
        assert!(error.to_string().contains("the change is saved"), "{error}");
        // The change is committed, as the error says.
        let value: serde_json::Value = store.load("plugins.a").unwrap().unwrap();
        assert_eq!(value, json!({"v": 2}));
        // Once the log can be written again, the missed line comes first.
        std::fs::remove_dir(&path).unwrap();
        std::fs::write(&path, kept).unwrap();
        store.delete("plugins.a").unwrap();
        let report = store.verify_audit().unwrap();
        assert!(report.problems.is_empty(), "{:?}", report.problems);
        let ops: Vec<&str> = report.entries.iter().map(|e| e.op.as_str()).collect();
        assert_eq!(ops, ["save", "save", "delete"]);
    }
}
