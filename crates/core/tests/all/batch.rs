//! Batches: behaviour, recovery of interrupted batches, and reader isolation.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use statevault_core::{
    BatchOp, Durability, Error, FaultBackend, FaultError, FaultKind, FsBackend, Key, OpenOptions,
    Storage,
};

use super::store::temp_files;

pub(crate) fn key(s: &str) -> Key {
    Key::parse(s).unwrap()
}

pub(crate) fn put(k: &str, v: &[u8]) -> BatchOp {
    BatchOp::Put {
        key: key(k),
        bytes: v.to_vec(),
    }
}

pub(crate) fn del(k: &str) -> BatchOp {
    BatchOp::Delete { key: key(k) }
}

/// Files in `.statevault/journal/` (records, damaged records, record temps).
pub(crate) fn journal_files(root: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(root.join(".statevault/journal"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

fn reader(root: &Path) -> Storage {
    Storage::open_with(root, OpenOptions::new().read_only(true)).unwrap()
}

#[test]
fn a_batch_applies_puts_and_deletes() {
    let dir = tempfile::tempdir().unwrap();
    let s = Storage::open(dir.path()).unwrap();
    s.write(&key("settings.old"), b"old", Durability::Full)
        .unwrap();
    s.commit_batch(
        vec![
            put("layout.default", b"L"),
            put("plugins.deep.nested.value", b"P"),
            del("settings.old"),
            del("settings.never-existed"),
        ],
        Durability::Full,
    )
    .unwrap();
    let keys = [
        key("layout.default"),
        key("plugins.deep.nested.value"),
        key("settings.old"),
        key("settings.never-existed"),
    ];
    let values = s.read_many(&keys).unwrap();
    assert_eq!(
        values,
        vec![Some(b"L".to_vec()), Some(b"P".to_vec()), None, None]
    );
    assert_eq!(reader(dir.path()).read_many(&keys).unwrap(), values);
    assert!(temp_files(dir.path()).is_empty());
    assert!(
        journal_files(dir.path()).is_empty(),
        "the record is removed"
    );
}

#[test]
fn every_durability_level_commits_a_batch() {
    let dir = tempfile::tempdir().unwrap();
    let s = Storage::open(dir.path()).unwrap();
    for (i, d) in [Durability::Full, Durability::Normal, Durability::None]
        .into_iter()
        .enumerate()
    {
        let v = format!("{i}");
        s.commit_batch(
            vec![put("config.a", v.as_bytes()), put("config.b", v.as_bytes())],
            d,
        )
        .unwrap();
        assert_eq!(
            s.read_many(&[key("config.a"), key("config.b")]).unwrap(),
            vec![Some(v.clone().into_bytes()), Some(v.into_bytes())]
        );
    }
    // A single save after a batch makes the record's removal durable first; nothing breaks.
    s.write(&key("config.a"), b"single", Durability::Full)
        .unwrap();
    assert_eq!(s.read(&key("config.a")).unwrap().unwrap(), b"single");
}

#[test]
fn an_empty_batch_does_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let s = Storage::open(dir.path()).unwrap();
    s.commit_batch(Vec::new(), Durability::Full).unwrap();
    assert!(journal_files(dir.path()).is_empty());
}

#[test]
fn a_key_twice_in_a_batch_is_refused_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let s = Storage::open(dir.path()).unwrap();
    let err = s
        .commit_batch(
            vec![
                put("layout.a", b"1"),
                put("layout.b", b"2"),
                del("layout.a"),
            ],
            Durability::Full,
        )
        .unwrap_err();
    match &err {
        Error::DuplicateInBatch { key } => assert_eq!(key.as_str(), "layout.a"),
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().contains("layout.a"), "{err}");
    assert_eq!(s.read(&key("layout.b")).unwrap(), None);
    assert!(temp_files(dir.path()).is_empty());
}

#[test]
fn a_read_only_handle_cannot_commit() {
    let dir = tempfile::tempdir().unwrap();
    drop(Storage::open(dir.path()).unwrap());
    let r = reader(dir.path());
    assert!(matches!(
        r.commit_batch(vec![put("layout.a", b"1")], Durability::Full),
        Err(Error::ReadOnly { .. })
    ));
}

/// Leaves `dir` as a crash in the middle of applying a batch leaves it: the record committed,
/// the first rename done, the rest not. Returns the batch's keys and their new values.
pub(crate) fn crash_mid_apply(dir: &Path) -> (Vec<Key>, Vec<Option<Vec<u8>>>) {
    let keys = vec![
        key("layout.a"),
        key("settings.b"),
        key("history.c.d"),
        key("config.gone"),
    ];
    {
        let s = Storage::open(dir).unwrap();
        for k in &keys {
            s.write(k, b"old", Durability::Full).unwrap();
        }
    }
    let new = vec![
        Some(b"new a".to_vec()),
        Some(b"new b".to_vec()),
        Some(b"new c".to_vec()),
        None,
    ];
    let ops = vec![
        put("layout.a", b"new a"),
        put("settings.b", b"new b"),
        put("history.c.d", b"new c"),
        del("config.gone"),
    ];
    // The operation to fail is found once by counting (the n at which exactly one target
    // holds its new value and the record exists); operation counts are deterministic.
    static AT: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    let fail = |n: u64| {
        let faults = FaultBackend::new(Arc::new(FsBackend));
        let s =
            Storage::open_with(dir, OpenOptions::new().backend(Arc::new(faults.clone()))).unwrap();
        faults.fail_at(n, FaultKind::Permanent, FaultError::Io);
        let result = s.commit_batch(ops.clone(), Durability::Full);
        faults.heal();
        assert!(
            result.is_err(),
            "the batch stopped before the apply phase ended"
        );
        let renamed = keys[..3]
            .iter()
            .filter(|k| std::fs::read(s.path_of(k)).unwrap() != b"old")
            .count();
        let has_record = journal_files(dir).iter().any(|n| n.ends_with(".rec"));
        has_record && renamed == 1
    };
    let n = *AT.get_or_init(|| {
        for n in 0.. {
            if fail(n) {
                return n;
            }
            // Not there yet: reopen (which finishes or forgets the batch) and reset.
            let s = Storage::open(dir).unwrap();
            for k in &keys {
                s.write(k, b"old", Durability::Full).unwrap();
            }
        }
        unreachable!()
    });
    if AT.get() == Some(&n) && !journal_files(dir).iter().any(|n| n.ends_with(".rec")) {
        assert!(
            fail(n),
            "the same operation stops the batch at the same point"
        );
    }
    (keys, new)
}

#[test]
fn a_poisoned_writer_and_readers_see_an_interrupted_batch_whole() {
    let dir = tempfile::tempdir().unwrap();
    let (keys, new) = crash_mid_apply(dir.path());
    // The crashed writer is gone; a writer that holds the store (here: the lock taken by hand,
    // as a poisoned writer holds it) keeps readers from recovering: they read through.
    let lock = std::fs::File::open(dir.path().join(".statevault/lock")).unwrap();
    lock.lock().unwrap();
    let r = reader(dir.path());
    assert_eq!(r.read_many(&keys).unwrap(), new, "read through the record");
    assert_eq!(r.read(&keys[1]).unwrap(), new[1], "a single read too");
    assert!(
        journal_files(dir.path())
            .iter()
            .any(|n| n.ends_with(".rec")),
        "the reader did not recover while the store was held"
    );
    drop(lock);
    // Now no writer holds it: the reader recovers it.
    assert_eq!(r.read_many(&keys).unwrap(), new);
    assert!(
        journal_files(dir.path()).is_empty(),
        "{:?}",
        journal_files(dir.path())
    );
    for (k, v) in keys.iter().zip(&new) {
        assert_eq!(std::fs::read(dir.path().join(k.relative_path())).ok(), *v);
    }
    let w = Storage::open(dir.path()).unwrap();
    assert_eq!(w.recovery().replayed, 0, "already recovered by the reader");
    assert!(temp_files(dir.path()).is_empty());
}

#[test]
fn the_next_writer_replays_an_interrupted_batch() {
    let dir = tempfile::tempdir().unwrap();
    let (keys, new) = crash_mid_apply(dir.path());
    let w = Storage::open(dir.path()).unwrap();
    assert_eq!(w.recovery().replayed, 1);
    assert!(w.recovery().quarantined.is_empty());
    assert_eq!(w.read_many(&keys).unwrap(), new);
    assert!(temp_files(dir.path()).is_empty());
    assert!(journal_files(dir.path()).is_empty());
    // Replaying is idempotent: nothing is left to do.
    drop(w);
    assert_eq!(Storage::open(dir.path()).unwrap().recovery().replayed, 0);
}

#[test]
fn a_poisoned_writer_reads_its_committed_batch_whole_and_refuses_writes() {
    let dir = tempfile::tempdir().unwrap();
    let faults = FaultBackend::new(Arc::new(FsBackend));
    let s = Storage::open_with(
        dir.path(),
        OpenOptions::new().backend(Arc::new(faults.clone())),
    )
    .unwrap();
    s.write(&key("layout.a"), b"old", Durability::Full).unwrap();
    s.write(&key("layout.b"), b"old", Durability::Full).unwrap();
    // Count the batch's operations, then fail the folder sync after the renames.
    faults.heal();
    s.commit_batch(
        vec![put("layout.a", b"1"), put("layout.b", b"1")],
        Durability::Full,
    )
    .unwrap();
    let total = faults.ops();
    // A batch's last two operations are the sync of the folder the renames touched and the
    // removal of the record.
    faults.fail_at(total - 2, FaultKind::Transient, FaultError::Io);
    let err = s
        .commit_batch(
            vec![put("layout.a", b"2"), put("layout.b", b"2")],
            Durability::Full,
        )
        .unwrap_err();
    assert!(err.to_string().contains("fsync folder"), "{err}");
    assert!(matches!(
        s.write(&key("layout.a"), b"x", Durability::Full),
        Err(Error::Poisoned { .. })
    ));
    assert!(matches!(
        s.commit_batch(vec![put("layout.a", b"x")], Durability::Full),
        Err(Error::Poisoned { .. })
    ));
    let both = s.read_many(&[key("layout.a"), key("layout.b")]).unwrap();
    assert_eq!(both, vec![Some(b"2".to_vec()), Some(b"2".to_vec())]);
    assert_eq!(s.read(&key("layout.b")).unwrap().unwrap(), b"2");
    drop(s);
    let s = Storage::open(dir.path()).unwrap();
    assert_eq!(
        s.read_many(&[key("layout.a"), key("layout.b")]).unwrap(),
        both
    );
}

#[test]
fn a_failed_temp_fsync_in_a_batch_is_never_followed_by_a_rename() {
    let dir = tempfile::tempdir().unwrap();
    let faults = FaultBackend::new(Arc::new(FsBackend));
    let s = Storage::open_with(
        dir.path(),
        OpenOptions::new().backend(Arc::new(faults.clone())),
    )
    .unwrap();
    s.write(&key("layout.a"), b"old", Durability::Full).unwrap();
    s.write(&key("layout.b"), b"old", Durability::Full).unwrap();
    // Operations of the batch: create, write (a), create, write (b), create, write (record),
    // start × 3, sync × 3. Fail each of the syncs in turn.
    for n in 9..12 {
        faults.fail_at(n, FaultKind::Transient, FaultError::Io);
        let err = s
            .commit_batch(
                vec![put("layout.a", b"1"), put("layout.b", b"1")],
                Durability::Full,
            )
            .unwrap_err();
        faults.heal();
        assert!(err.to_string().contains("fsync"), "{err}");
        assert_eq!(
            s.read_many(&[key("layout.a"), key("layout.b")]).unwrap(),
            vec![Some(b"old".to_vec()), Some(b"old".to_vec())]
        );
        assert!(temp_files(dir.path()).is_empty());
        assert!(journal_files(dir.path()).is_empty());
    }
    // Not poisoned: nothing was published.
    s.commit_batch(
        vec![put("layout.a", b"1"), put("layout.b", b"1")],
        Durability::Full,
    )
    .unwrap();
}

#[test]
fn an_incomplete_record_is_discarded() {
    let dir = tempfile::tempdir().unwrap();
    drop(Storage::open(dir.path()).unwrap());
    let temp = dir
        .path()
        .join(".statevault/journal/.0000000000000001.rec.0123456789abcdef.tmp");
    std::fs::write(&temp, b"\x89SVJRNL\npartial").unwrap();
    let s = Storage::open(dir.path()).unwrap();
    assert_eq!(s.recovery().discarded, 1);
    assert!(!temp.exists());
}

#[test]
fn a_damaged_record_is_quarantined_and_nothing_of_it_applied() {
    let dir = tempfile::tempdir().unwrap();
    let (keys, _) = crash_mid_apply(dir.path());
    let journal = dir.path().join(".statevault/journal");
    let name = journal_files(dir.path())
        .into_iter()
        .find(|n| n.ends_with(".rec"))
        .unwrap();
    let before: Vec<_> = keys
        .iter()
        .map(|k| std::fs::read(dir.path().join(k.relative_path())).ok())
        .collect();
    let mut bytes = std::fs::read(journal.join(&name)).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(journal.join(&name), &bytes).unwrap();
    let s = Storage::open(dir.path()).unwrap();
    assert_eq!(s.recovery().replayed, 0);
    assert_eq!(s.recovery().quarantined.len(), 1);
    assert!(journal.join(format!("{name}.damaged")).exists());
    let after: Vec<_> = keys
        .iter()
        .map(|k| std::fs::read(dir.path().join(k.relative_path())).ok())
        .collect();
    assert_eq!(before, after, "nothing of a damaged record is applied");
    // A new batch after it works and does not reuse the quarantined name.
    s.commit_batch(vec![put("layout.a", b"z")], Durability::Full)
        .unwrap();
    assert!(journal.join(format!("{name}.damaged")).exists());
}

#[test]
fn a_record_whose_values_are_gone_is_not_applied_half() {
    let dir = tempfile::tempdir().unwrap();
    let (keys, _) = crash_mid_apply(dir.path());
    // Remove one of the pending temp files: the batch can no longer be completed, so none of
    // the pending renames may happen.
    let temps = temp_files(dir.path());
    assert!(temps.len() >= 2, "{temps:?}");
    std::fs::remove_file(&temps[0]).unwrap();
    let before: Vec<_> = keys
        .iter()
        .map(|k| std::fs::read(dir.path().join(k.relative_path())).ok())
        .collect();
    let s = Storage::open(dir.path()).unwrap();
    assert_eq!(s.recovery().quarantined.len(), 1);
    let after: Vec<_> = keys
        .iter()
        .map(|k| std::fs::read(dir.path().join(k.relative_path())).ok())
        .collect();
    assert_eq!(before, after);
}

/// Every batch sets all keys to the same value: a reader that sees two different values saw a
/// batch half applied.
fn hammer(reader: &Storage, keys: &[Key], stop: &AtomicBool) -> u32 {
    let mut reads = 0;
    while !stop.load(Ordering::SeqCst) {
        let values = reader.read_many(keys).unwrap();
        let first = &values[0];
        assert!(
            values.iter().all(|v| v == first),
            "a batch was seen half applied: {values:?}"
        );
        reads += 1;
    }
    reads
}

fn isolation(read_only_reader: bool) {
    let dir = tempfile::tempdir().unwrap();
    let writer = Arc::new(Storage::open(dir.path()).unwrap());
    let keys: Vec<Key> = (0..8).map(|i| key(&format!("settings.k{i}"))).collect();
    let stop = Arc::new(AtomicBool::new(false));
    let reader_handle = {
        let stop = stop.clone();
        let keys = keys.clone();
        let root = dir.path().to_path_buf();
        let writer = writer.clone();
        std::thread::spawn(move || {
            if read_only_reader {
                hammer(&reader(&root), &keys, &stop)
            } else {
                hammer(&writer, &keys, &stop)
            }
        })
    };
    for i in 0..200u32 {
        let ops = keys
            .iter()
            .map(|k| BatchOp::Put {
                key: k.clone(),
                bytes: i.to_le_bytes().to_vec(),
            })
            .collect();
        writer.commit_batch(ops, Durability::None).unwrap();
    }
    stop.store(true, Ordering::SeqCst);
    let reads = reader_handle.join().unwrap();
    eprintln!(
        "reader isolation (read-only handle: {read_only_reader}): 200 batches, {reads} consistent reads"
    );
}

#[test]
fn the_writers_own_readers_never_see_a_batch_half_applied() {
    isolation(false);
}

#[test]
fn a_read_only_handle_never_sees_a_batch_half_applied() {
    isolation(true);
}
