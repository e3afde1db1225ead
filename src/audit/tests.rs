//! The audit log's tests: the chain, its breaks, torn tails, rotation, old lines.

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
    assert_eq!(lines.len(), 14, "13 changes, then a batch in one line");
    for line in &lines {
        let entry: super::AuditEntry = serde_json::from_str(line).unwrap();
        assert_eq!(serde_json::to_string(&entry).unwrap(), *line);
        assert_eq!(super::line::hash_of(&entry), entry.hash);
        assert_eq!(entry.v, 2);
    }
    assert!(lines[13].contains("\"op\":\"batch\""));
    assert!(lines[13].contains("\"keys\":[\"plugins.b\",\"plugins.c\",\"plugins.d\"]"));
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
    assert_eq!(report.entries.len(), 14);
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert_eq!(report.entries[12].op, "delete");
    assert_eq!(report.entries[13].op, "batch");
    assert_eq!(
        report.entries[13].subjects(),
        ["plugins.b", "plugins.c", "plugins.d"]
    );
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
    assert_eq!(report.entries.len(), 28);
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    let seqs: Vec<u64> = report.entries.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (1..=28).collect::<Vec<_>>());
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
    // The torn line (seq 14) is replaced by the gap, then the new change follows.
    assert_eq!(ops[ops.len() - 2..], ["gap", "save"]);
    let gap = &report.entries[report.entries.len() - 2];
    assert_eq!(
        (gap.seq, gap.size),
        (14, bytes.len() as u64 - last_newline(&bytes))
    );
    // The new line starts on a line of its own.
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        text.lines()
            .last()
            .unwrap()
            .starts_with("{\"v\":2,\"seq\":15,")
    );
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

#[test]
fn each_commit_line_carries_its_journal_record_and_never_a_value() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    store
        .save("plugins.a", &json!({"secret": "s3cr3t"}))
        .unwrap();
    let report = store.verify_audit().unwrap();
    let line = &report.entries[0];
    assert_eq!((line.v, line.op.as_str()), (2, "save"));
    assert_eq!(line.subjects(), ["plugins.a"]);
    // The size and BLAKE3 of the record: header, key, value, checksum; more than the value.
    let value_len = store.read_raw("plugins.a").unwrap().unwrap().len() as u64;
    assert!(line.size > value_len, "{} <= {value_len}", line.size);
    assert!(line.checksum.starts_with("blake3:") && line.checksum.len() == 71);
    let text = std::fs::read_to_string(live_log(dir.path())).unwrap();
    assert!(!text.contains("s3cr3t"));
}

#[test]
fn a_log_of_version_1_lines_still_verifies_and_the_chain_goes_on_in_version_2() {
    // Lines as the per-key format wrote them (no `v`, a `key`, the gap's `key` empty), chained.
    let dir = tempfile::tempdir().unwrap();
    drop(Store::open(dir.path()).unwrap());
    let mut prev = super::line::GENESIS.to_owned();
    let mut text = String::new();
    for (seq, op, key, size) in [
        (1, "save", "plugins.a", 12),
        (2, "batch-save", "plugins.b", 3),
        (3, "batch-delete", "plugins.c", 0),
        (4, "gap", "", 17),
    ] {
        let checksum = if size > 0 && !key.is_empty() {
            format!("blake3:{}", blake3::hash(key.as_bytes()).to_hex())
        } else {
            String::new()
        };
        let hashed = super::line::Hashed {
            v: 1,
            seq,
            time: 1_700_000_000_000,
            op,
            key: Some(key),
            keys: None,
            ops: None,
            size,
            checksum: &checksum,
            prev: &prev,
        };
        let (bytes, hash) = super::line::hashed_line(&hashed);
        let line = String::from_utf8(bytes).unwrap();
        assert!(line.starts_with("{\"seq\":"), "{line}");
        text.push_str(&line[..line.len() - 1]);
        text.push_str(&format!(",\"hash\":\"{hash}\"}}\n"));
        prev = hash;
    }
    std::fs::write(live_log(dir.path()), &text).unwrap();
    let store = Store::open(dir.path()).unwrap();
    store.save("plugins.d", &json!({"d": 1})).unwrap();
    let report = store.verify_audit().unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    let versions: Vec<u32> = report.entries.iter().map(|e| e.v).collect();
    assert_eq!(versions, [1, 1, 1, 1, 2]);
    assert_eq!(report.entries[1].subjects(), ["plugins.b"]);
    assert!(report.entries[3].subjects().is_empty());
    // An edited old line is still caught.
    let edited = text.replacen("\"op\":\"save\"", "\"op\":\"delete\"", 1);
    std::fs::write(live_log(dir.path()), &edited).unwrap();
    let report = store.verify_audit().unwrap();
    assert!(
        report.problems.iter().any(|p| p.seq == 1),
        "{:?}",
        report.problems
    );
}
