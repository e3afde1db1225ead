//! Batches: behaviour, the journal and its checkpoints, recovery, and reader isolation.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use statevault_core::{
    BatchOp, DEFAULT_CHECKPOINT_BYTES, Durability, Error, FaultBackend, FaultError, FaultKind,
    FsBackend, Key, OpenOptions, Storage,
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

/// Files in `.statevault/journal/` (journal files, damaged ones).
pub(crate) fn journal_files(root: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(root.join(".statevault/journal"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

/// The journal files (`<sequence>.wal`) in `.statevault/journal/`.
pub(crate) fn wal_files(root: &Path) -> Vec<String> {
    journal_files(root)
        .into_iter()
        .filter(|n| n.ends_with(".wal"))
        .collect()
}

/// The bytes in the key's own file (not through the journal).
pub(crate) fn file_of(root: &Path, k: &Key) -> Option<Vec<u8>> {
    std::fs::read(root.join(k.relative_path())).ok()
}

pub(crate) fn reader(root: &Path) -> Storage {
    Storage::open_with(root, OpenOptions::new().read_only(true)).unwrap()
}

/// A writer on the real file system whose operations `FaultBackend` can fail.
fn faulty_writer(root: &Path, options: OpenOptions) -> (FaultBackend, Storage) {
    let faults = FaultBackend::new(Arc::new(FsBackend));
    let s = Storage::open_with(
        root,
        options
            .idle_checkpoint(None)
            .backend(Arc::new(faults.clone())),
    )
    .unwrap();
    (faults, s)
}

#[test]
fn a_batch_applies_puts_and_deletes() {
    let dir = tempfile::tempdir().unwrap();
    let s = Storage::open(dir.path()).unwrap();
    s.write(&key("settings.old"), b"old", Durability::Full)
        .unwrap();
    s.checkpoint().unwrap();
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
    assert_eq!(
        wal_files(dir.path()).len(),
        1,
        "the batch is in the journal"
    );
    assert_eq!(
        file_of(dir.path(), &keys[2]).as_deref(),
        Some(&b"old"[..]),
        "and not yet in the files"
    );
    s.checkpoint().unwrap();
    for (k, v) in keys.iter().zip(&values) {
        assert_eq!(&file_of(dir.path(), k), v, "{k}");
    }
    assert_eq!(s.read_many(&keys).unwrap(), values);
    assert!(temp_files(dir.path()).is_empty());
    assert_eq!(
        pending_records(dir.path()),
        0,
        "the checkpoint ends the journal's run"
    );
    assert_eq!(
        wal_files(dir.path()).len(),
        1,
        "its file is kept for the next"
    );
    drop(s);
    assert!(
        journal_files(dir.path()).is_empty(),
        "a closed store leaves no journal"
    );
}

#[test]
fn every_read_sees_pending_values_on_the_writer_and_on_a_reader() {
    let dir = tempfile::tempdir().unwrap();
    let s = Storage::open(dir.path()).unwrap();
    s.write(&key("settings.gone"), b"old", Durability::Full)
        .unwrap();
    s.write(&key("settings.kept"), b"kept", Durability::Full)
        .unwrap();
    s.checkpoint().unwrap();
    s.commit_batch(
        vec![
            put("settings.new", b"twelve bytes"),
            del("settings.gone"),
            put("layout.default", b"L"),
        ],
        Durability::Full,
    )
    .unwrap();
    let r = reader(dir.path());
    for handle in [&s, &r] {
        assert_eq!(
            handle.list("settings").unwrap(),
            vec![key("settings.kept"), key("settings.new")]
        );
        assert_eq!(
            handle.list("").unwrap(),
            vec![
                key("layout.default"),
                key("settings.kept"),
                key("settings.new")
            ]
        );
        assert!(handle.exists(&key("settings.new")).unwrap());
        assert!(!handle.exists(&key("settings.gone")).unwrap());
        let meta = handle.metadata(&key("settings.new")).unwrap().unwrap();
        assert_eq!(meta.len, 12);
        assert_eq!(meta.inode, 0, "no file yet");
        assert_eq!(handle.metadata(&key("settings.gone")).unwrap(), None);
        assert_eq!(
            handle
                .read_prefix(&key("settings.new"), 6)
                .unwrap()
                .unwrap(),
            b"twelve"
        );
        assert_eq!(handle.read(&key("settings.gone")).unwrap(), None);
    }
    assert_eq!(r.journal_records().unwrap(), 1);
    // A later batch's sequence number (the modification time reported) is larger.
    let before = s.metadata(&key("settings.new")).unwrap().unwrap();
    s.commit_batch(vec![put("settings.new", b"twelve bytez")], Durability::Full)
        .unwrap();
    let after = s.metadata(&key("settings.new")).unwrap().unwrap();
    assert!(after.modified_ns > before.modified_ns);
    assert_eq!(r.journal_records().unwrap(), 2);
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
    assert_eq!(wal_files(dir.path()).len(), 1, "one journal file for all");
    // A single save of a key the journal holds is one more record of it.
    s.write(&key("config.a"), b"single", Durability::Full)
        .unwrap();
    assert_eq!(pending_records(dir.path()), 4);
    assert_eq!(s.read(&key("config.a")).unwrap().unwrap(), b"single");
    assert_eq!(file_of(dir.path(), &key("config.b")), None);
    drop(s);
    assert_eq!(file_of(dir.path(), &key("config.a")).unwrap(), b"single");
    assert_eq!(file_of(dir.path(), &key("config.b")).unwrap(), b"2");
    let s = Storage::open(dir.path()).unwrap();
    assert_eq!(s.recovery().replayed, 0);
    assert_eq!(s.read(&key("config.a")).unwrap().unwrap(), b"single");
}

#[test]
fn single_saves_and_deletes_are_records_of_the_same_journal() {
    let dir = tempfile::tempdir().unwrap();
    let s = Storage::open(dir.path()).unwrap();
    s.commit_batch(vec![put("config.a", b"1")], Durability::Full)
        .unwrap();
    s.write(&key("config.b"), b"2", Durability::Full).unwrap();
    assert!(
        !s.delete(&key("config.c"), Durability::Full).unwrap(),
        "a delete of a key that does not exist writes nothing"
    );
    assert_eq!(wal_files(dir.path()).len(), 1);
    assert_eq!(pending_records(dir.path()), 2);
    assert!(s.delete(&key("config.a"), Durability::Full).unwrap());
    assert_eq!(pending_records(dir.path()), 3);
    assert_eq!(s.read(&key("config.a")).unwrap(), None);
    assert_eq!(file_of(dir.path(), &key("config.b")), None, "not yet");
    assert_eq!(
        reader(dir.path()).read(&key("config.b")).unwrap().unwrap(),
        b"2"
    );
    s.checkpoint().unwrap();
    assert_eq!(file_of(dir.path(), &key("config.a")), None);
    assert_eq!(file_of(dir.path(), &key("config.b")).unwrap(), b"2");
}

#[test]
fn the_journal_is_checkpointed_once_it_holds_enough() {
    let dir = tempfile::tempdir().unwrap();
    let s = Storage::open_with(dir.path(), OpenOptions::new().checkpoint_bytes(1000)).unwrap();
    s.commit_batch(vec![put("config.a", &[b'a'; 100])], Durability::Full)
        .unwrap();
    assert_eq!(wal_files(dir.path()).len(), 1);
    assert_eq!(file_of(dir.path(), &key("config.a")), None);
    s.commit_batch(vec![put("config.b", &[b'b'; 1000])], Durability::Full)
        .unwrap();
    assert_eq!(pending_records(dir.path()), 0);
    assert_eq!(file_of(dir.path(), &key("config.a")).unwrap(), [b'a'; 100]);
    assert_eq!(file_of(dir.path(), &key("config.b")).unwrap(), [b'b'; 1000]);
    // The next batch rewrites the same journal file from its start: a new run, over blocks
    // that exist; the stale records after it are never read again.
    let name = wal_files(dir.path());
    let size = std::fs::metadata(dir.path().join(".statevault/journal").join(&name[0]))
        .unwrap()
        .len();
    s.commit_batch(vec![put("config.c", b"c")], Durability::Full)
        .unwrap();
    assert_eq!(wal_files(dir.path()), name);
    let path = dir.path().join(".statevault/journal").join(&name[0]);
    assert_eq!(std::fs::metadata(&path).unwrap().len(), size, "not grown");
    assert_eq!(pending_records(dir.path()), 1);
    let r = reader(dir.path());
    assert_eq!(
        r.read_many(&[key("config.a"), key("config.b"), key("config.c")])
            .unwrap(),
        vec![
            Some(vec![b'a'; 100]),
            Some(vec![b'b'; 1000]),
            Some(b"c".to_vec())
        ]
    );
}

/// Committed batches the journal on disk holds (what a reader would apply over the files).
fn pending_records(root: &Path) -> usize {
    reader(root).journal_records().unwrap()
}

#[test]
fn dropping_the_writer_checkpoints_and_the_next_open_has_nothing_to_replay() {
    let dir = tempfile::tempdir().unwrap();
    let s = Storage::open(dir.path()).unwrap();
    s.commit_batch(
        vec![put("config.a", b"1"), put("config.b", b"2")],
        Durability::Full,
    )
    .unwrap();
    drop(s);
    assert!(journal_files(dir.path()).is_empty());
    assert_eq!(file_of(dir.path(), &key("config.b")).unwrap(), b"2");
    assert_eq!(Storage::open(dir.path()).unwrap().recovery().replayed, 0);
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

/// Leaves `dir` as a writer that died without checkpointing leaves it: two batches in the
/// journal, none of their values in the keys' files. Returns the keys and their values.
pub(crate) fn crash_before_checkpoint(dir: &Path) -> (Vec<Key>, Vec<Option<Vec<u8>>>) {
    let keys = vec![key("layout.a"), key("settings.b"), key("history.c.d")];
    {
        let s = Storage::open(dir).unwrap();
        for k in &keys {
            s.write(k, b"old", Durability::Full).unwrap();
        }
    }
    let (faults, s) = faulty_writer(dir, OpenOptions::new());
    s.commit_batch(
        vec![put("layout.a", b"first"), put("settings.b", b"first")],
        Durability::Full,
    )
    .unwrap();
    s.commit_batch(
        vec![put("settings.b", b"second"), del("history.c.d")],
        Durability::Full,
    )
    .unwrap();
    // The process dies: its final checkpoint never gets to do anything.
    faults.fail_at(0, FaultKind::Permanent, FaultError::Io);
    drop(s);
    faults.heal();
    assert_eq!(wal_files(dir).len(), 1);
    (
        keys,
        vec![Some(b"first".to_vec()), Some(b"second".to_vec()), None],
    )
}

/// Leaves `dir` as a crash in the middle of a checkpoint leaves it: the batch in the journal,
/// the first of its values renamed into place, the others not. Returns the batch's keys and
/// their new values.
pub(crate) fn crash_mid_checkpoint(dir: &Path) -> (Vec<Key>, Vec<Option<Vec<u8>>>) {
    let keys = vec![
        key("layout.a"),
        key("settings.b"),
        key("history.c.d"),
        key("config.gone"),
    ];
    let reset = || {
        let s = Storage::open(dir).unwrap();
        for k in &keys {
            s.write(k, b"old", Durability::Full).unwrap();
        }
    };
    reset();
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
    // The operation to fail is found by counting (the n at which exactly one file holds its
    // new value and the journal is still there); operation counts are deterministic.
    let attempt = |n: u64| {
        let (faults, s) = faulty_writer(dir, OpenOptions::new());
        s.commit_batch(ops.clone(), Durability::Full).unwrap();
        faults.fail_at(n, FaultKind::Permanent, FaultError::Io);
        let _ = s.checkpoint();
        // Still failing: the final checkpoint of the drop does nothing either.
        drop(s);
        faults.heal();
        let renamed = keys[..3]
            .iter()
            .filter(|k| file_of(dir, k).as_deref() != Some(b"old"))
            .count();
        pending_records(dir) > 0 && renamed == 1
    };
    for n in 0..200 {
        if attempt(n) {
            return (keys, new);
        }
        reset();
    }
    panic!("no operation of the checkpoint stops it after its first rename")
}

#[test]
fn the_next_writer_replays_what_the_journal_holds() {
    let dir = tempfile::tempdir().unwrap();
    let (keys, new) = crash_before_checkpoint(dir.path());
    assert_eq!(reader(dir.path()).read_many(&keys).unwrap(), new);
    let w = Storage::open(dir.path()).unwrap();
    assert_eq!(w.recovery().replayed, 2);
    assert_eq!(w.read_many(&keys).unwrap(), new);
    for (k, v) in keys.iter().zip(&new) {
        assert_eq!(&file_of(dir.path(), k), v);
    }
    assert!(journal_files(dir.path()).is_empty());
    drop(w);
    assert_eq!(Storage::open(dir.path()).unwrap().recovery().replayed, 0);
}

#[test]
fn the_next_writer_finishes_an_interrupted_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let (keys, new) = crash_mid_checkpoint(dir.path());
    let w = Storage::open(dir.path()).unwrap();
    assert_eq!(w.recovery().replayed, 1);
    assert!(w.recovery().quarantined.is_empty());
    assert_eq!(w.read_many(&keys).unwrap(), new);
    assert!(temp_files(dir.path()).is_empty());
    assert!(journal_files(dir.path()).is_empty());
    drop(w);
    assert_eq!(Storage::open(dir.path()).unwrap().recovery().replayed, 0);
}

#[test]
fn readers_see_an_interrupted_checkpoint_whole() {
    let dir = tempfile::tempdir().unwrap();
    let (keys, new) = crash_mid_checkpoint(dir.path());
    // With or without a writer holding the store, a reader reads through the journal; it
    // never writes.
    let lock = std::fs::File::open(dir.path().join(".statevault/lock")).unwrap();
    lock.lock().unwrap();
    let r = reader(dir.path());
    assert_eq!(r.read_many(&keys).unwrap(), new, "read through the journal");
    assert_eq!(r.read(&keys[1]).unwrap(), new[1], "a single read too");
    drop(lock);
    assert_eq!(r.read_many(&keys).unwrap(), new);
    assert_eq!(wal_files(dir.path()).len(), 1, "the reader changed nothing");
}

#[test]
fn a_poisoned_writer_reads_its_committed_batch_whole_and_refuses_writes() {
    let dir = tempfile::tempdir().unwrap();
    let (faults, s) = faulty_writer(dir.path(), OpenOptions::new().checkpoint_bytes(0));
    s.write(&key("layout.a"), b"old", Durability::Full).unwrap();
    s.write(&key("layout.b"), b"old", Durability::Full).unwrap();
    // Count a batch's operations (append, checkpoint) once the journal file exists, then fail
    // the sync of the folder the renames touched: the third operation from the end (then the
    // journal's reset, a write and a sync).
    s.commit_batch(vec![put("layout.a", b"0")], Durability::Full)
        .unwrap();
    faults.heal();
    s.commit_batch(
        vec![put("layout.a", b"1"), put("layout.b", b"1")],
        Durability::Full,
    )
    .unwrap();
    let total = faults.ops();
    faults.fail_at(total - 3, FaultKind::Transient, FaultError::Io);
    s.commit_batch(
        vec![put("layout.a", b"2"), put("layout.b", b"2")],
        Durability::Full,
    )
    .expect("the batch is committed; its checkpoint's failure is logged");
    assert_eq!(faults.injected(), 1);
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
fn a_failed_journal_sync_poisons_and_the_handle_reads_what_the_next_open_finds() {
    let dir = tempfile::tempdir().unwrap();
    let (faults, s) = faulty_writer(dir.path(), OpenOptions::new());
    s.commit_batch(vec![put("layout.a", b"1")], Durability::Full)
        .unwrap();
    // An append to an open journal file: write, then sync.
    faults.fail_at(1, FaultKind::Transient, FaultError::Io);
    let err = s
        .commit_batch(vec![put("layout.a", b"2")], Durability::Full)
        .unwrap_err();
    assert!(err.to_string().contains("fsync"), "{err}");
    assert!(matches!(
        s.commit_batch(vec![put("layout.a", b"3")], Durability::Full),
        Err(Error::Poisoned { .. })
    ));
    let seen = s.read(&key("layout.a")).unwrap();
    drop(s);
    assert_eq!(
        Storage::open(dir.path())
            .unwrap()
            .read(&key("layout.a"))
            .unwrap(),
        seen
    );
}

#[test]
fn a_failed_append_leaves_nothing_and_the_next_batch_starts_a_new_file() {
    let dir = tempfile::tempdir().unwrap();
    let (faults, s) = faulty_writer(dir.path(), OpenOptions::new());
    let big = vec![b'x'; 200 * 1024];
    s.commit_batch(vec![put("layout.a", b"1")], Durability::Full)
        .unwrap();
    // A record with a large value is written in pieces: fail the second, after the first
    // reached the file.
    faults.fail_at(1, FaultKind::Transient, FaultError::NoSpace);
    let err = s
        .commit_batch(
            vec![put("layout.a", b"2"), put("history.big", &big)],
            Durability::Full,
        )
        .unwrap_err();
    faults.heal();
    assert!(matches!(err, Error::NoSpace { .. }), "{err:?}");
    assert_eq!(s.read(&key("layout.a")).unwrap().unwrap(), b"1");
    assert_eq!(s.read(&key("history.big")).unwrap(), None);
    s.commit_batch(vec![put("layout.b", b"3")], Durability::Full)
        .expect("not poisoned");
    assert_eq!(
        wal_files(dir.path()).len(),
        2,
        "{:?}",
        journal_files(dir.path())
    );
    // The writer dies before its checkpoint: the next open applies the batches before and
    // after the failed one. The failed write cut its torn record off (freeing what it took of
    // the disk); were that cut lost, the torn record would be the last of its file and dropped.
    faults.fail_at(0, FaultKind::Permanent, FaultError::Io);
    drop(s);
    faults.heal();
    let s = Storage::open(dir.path()).unwrap();
    assert_eq!(s.recovery().replayed, 2);
    assert_eq!(s.recovery().discarded, 0);
    assert_eq!(
        s.read_many(&[key("layout.a"), key("layout.b"), key("history.big")])
            .unwrap(),
        vec![Some(b"1".to_vec()), Some(b"3".to_vec()), None]
    );
}

#[test]
fn a_failed_temp_fsync_in_a_checkpoint_is_never_followed_by_a_rename() {
    let dir = tempfile::tempdir().unwrap();
    let (faults, s) = faulty_writer(dir.path(), OpenOptions::new());
    s.write(&key("layout.a"), b"old", Durability::Full).unwrap();
    s.write(&key("layout.b"), b"old", Durability::Full).unwrap();
    s.checkpoint().unwrap();
    s.commit_batch(
        vec![put("layout.a", b"1"), put("layout.b", b"1")],
        Durability::Full,
    )
    .unwrap();
    // Operations of the checkpoint: lock, create, write (a), create, write (b), start × 2,
    // sync × 2. Fail each of the syncs in turn.
    for n in 7..9 {
        faults.fail_at(n, FaultKind::Transient, FaultError::Io);
        let err = s.checkpoint().unwrap_err();
        faults.heal();
        assert!(err.to_string().contains("fsync"), "{err}");
        for k in ["layout.a", "layout.b"] {
            assert_eq!(file_of(dir.path(), &key(k)).unwrap(), b"old");
        }
        assert_eq!(
            s.read_many(&[key("layout.a"), key("layout.b")]).unwrap(),
            vec![Some(b"1".to_vec()), Some(b"1".to_vec())],
            "the journal still holds the batch"
        );
        assert!(temp_files(dir.path()).is_empty());
    }
    // Not poisoned: nothing was replaced.
    s.checkpoint().unwrap();
    assert_eq!(file_of(dir.path(), &key("layout.b")).unwrap(), b"1");
}

#[test]
fn an_incomplete_record_is_discarded() {
    let dir = tempfile::tempdir().unwrap();
    let (keys, _) = crash_before_checkpoint(dir.path());
    let name = wal_files(dir.path()).pop().unwrap();
    let wal = dir.path().join(".statevault/journal").join(name);
    // The first record's header and a few bytes of it: a write cut short.
    let bytes = std::fs::read(&wal).unwrap();
    std::fs::write(&wal, &bytes[..60]).unwrap();
    assert_eq!(pending_records(dir.path()), 0);
    let s = Storage::open(dir.path()).unwrap();
    assert_eq!(s.recovery().discarded, 1);
    assert_eq!(s.recovery().replayed, 0);
    assert!(!wal.exists());
    assert_eq!(s.read_many(&keys).unwrap(), vec![Some(b"old".to_vec()); 3]);
    drop(s);
    // Less than a header is not even a record: nothing to report.
    std::fs::write(&wal, b"\x89SVWAL\r\npartial").unwrap();
    let s = Storage::open(dir.path()).unwrap();
    assert_eq!(s.recovery().discarded, 0);
    assert!(!wal.exists());
}

#[test]
fn a_damaged_record_is_quarantined_and_nothing_from_it_on_is_applied() {
    let dir = tempfile::tempdir().unwrap();
    let (keys, _) = crash_before_checkpoint(dir.path());
    let journal = dir.path().join(".statevault/journal");
    let name = wal_files(dir.path()).pop().unwrap();
    let mut bytes = std::fs::read(journal.join(&name)).unwrap();
    // A byte of the first record's first value ("first"): the second record is intact.
    let at = bytes.windows(5).position(|w| w == b"first").unwrap();
    bytes[at] ^= 0x20;
    std::fs::write(journal.join(&name), &bytes).unwrap();
    let old = vec![Some(b"old".to_vec()); 3];
    assert!(
        matches!(
            reader(dir.path()).read_many(&keys),
            Err(Error::CorruptMetadata { .. })
        ),
        "a reader reports the damage instead of showing the older state"
    );
    let s = Storage::open(dir.path()).unwrap();
    assert_eq!(s.recovery().replayed, 0);
    assert_eq!(s.recovery().quarantined.len(), 1);
    assert!(journal.join(format!("{name}.damaged")).exists());
    assert_eq!(
        s.read_many(&keys).unwrap(),
        old,
        "nothing from the damage on"
    );
    // A new batch after it works and does not reuse the quarantined name.
    s.commit_batch(vec![put("layout.a", b"z")], Durability::Full)
        .unwrap();
    drop(s);
    assert!(journal.join(format!("{name}.damaged")).exists());
    assert_eq!(
        Storage::open(dir.path())
            .unwrap()
            .read(&keys[0])
            .unwrap()
            .unwrap(),
        b"z"
    );
}

#[test]
fn a_damaged_record_followed_by_records_is_quarantined_never_discarded() {
    // One flipped bit in the first record's header (its body length among them): the record
    // cannot be parsed, and a whole record of its run follows.
    for at in [0, 9, 14, 22, 30, 35, 41] {
        let dir = tempfile::tempdir().unwrap();
        let (keys, _) = crash_before_checkpoint(dir.path());
        let journal = dir.path().join(".statevault/journal");
        let name = wal_files(dir.path()).pop().unwrap();
        let mut bytes = std::fs::read(journal.join(&name)).unwrap();
        bytes[at] ^= 0x04;
        std::fs::write(journal.join(&name), &bytes).unwrap();
        let reader = reader(dir.path());
        for result in [
            reader.read_many(&keys).map(drop),
            reader.read(&keys[0]).map(drop),
            reader.list("").map(drop),
            reader.journal_records().map(drop),
        ] {
            match result {
                Err(Error::CorruptMetadata { path, detail }) => {
                    assert_eq!(path, journal.join(&name), "byte {at}");
                    assert!(detail.contains(".wal.damaged"), "{detail}");
                }
                other => panic!("byte {at}: a reader must report the damage, got {other:?}"),
            }
        }
        drop(reader);
        let s = Storage::open(dir.path()).unwrap();
        assert_eq!(s.recovery().replayed, 0, "byte {at}");
        assert_eq!(s.recovery().discarded, 0, "byte {at}");
        let quarantined = journal.join(format!("{name}.damaged"));
        assert_eq!(s.recovery().quarantined, vec![quarantined.clone()]);
        assert_eq!(
            std::fs::read(&quarantined).unwrap(),
            bytes,
            "kept as it was"
        );
        assert_eq!(s.quarantined_journals().unwrap(), vec![quarantined.clone()]);
        assert_eq!(
            s.read_many(&keys).unwrap(),
            vec![Some(b"old".to_vec()); 3],
            "nothing from the damage on"
        );
        drop(s);
        assert_eq!(
            Storage::open_with(dir.path(), OpenOptions::new().read_only(true))
                .unwrap()
                .quarantined_journals()
                .unwrap(),
            vec![quarantined]
        );
    }
}

#[test]
fn damage_to_the_last_record_cannot_be_told_from_a_torn_append() {
    // The last record has nothing after it to show it was complete once: like SQLite's WAL,
    // the journal then drops it as an append a crash interrupted (its batch was acknowledged,
    // so only a medium that damages synced data loses it).
    let dir = tempfile::tempdir().unwrap();
    let (keys, _) = crash_before_checkpoint(dir.path());
    let journal = dir.path().join(".statevault/journal");
    let name = wal_files(dir.path()).pop().unwrap();
    let mut bytes = std::fs::read(journal.join(&name)).unwrap();
    let at = bytes.windows(6).position(|w| w == b"second").unwrap();
    bytes[at] ^= 0x20;
    std::fs::write(journal.join(&name), &bytes).unwrap();
    let s = Storage::open(dir.path()).unwrap();
    assert_eq!(s.recovery().replayed, 1);
    assert_eq!(s.recovery().discarded, 1);
    assert_eq!(
        s.read_many(&keys).unwrap(),
        vec![
            Some(b"first".to_vec()),
            Some(b"first".to_vec()),
            Some(b"old".to_vec())
        ]
    );
}

/// Every batch sets all keys to the same value: a reader that sees two different values saw a
/// batch half applied. Counts its reads in `reads`.
fn hammer(reader: &Storage, keys: &[Key], stop: &AtomicBool, reads: &AtomicU64) {
    while !stop.load(Ordering::SeqCst) {
        let values = reader.read_many(keys).unwrap();
        let first = &values[0];
        assert!(
            values.iter().all(|v| v == first),
            "a batch was seen half applied: {values:?}"
        );
        reads.fetch_add(1, Ordering::SeqCst);
    }
}

fn isolation(read_only_reader: bool, checkpoint_bytes: u64) {
    const BATCHES: u64 = 200;
    let dir = tempfile::tempdir().unwrap();
    let writer = Arc::new(
        Storage::open_with(
            dir.path(),
            OpenOptions::new().checkpoint_bytes(checkpoint_bytes),
        )
        .unwrap(),
    );
    let keys: Vec<Key> = (0..8).map(|i| key(&format!("settings.k{i}"))).collect();
    let stop = Arc::new(AtomicBool::new(false));
    let reads = Arc::new(AtomicU64::new(0));
    let reader_handle = {
        let (stop, reads) = (stop.clone(), reads.clone());
        let keys = keys.clone();
        let root = dir.path().to_path_buf();
        let writer = writer.clone();
        std::thread::spawn(move || {
            if read_only_reader {
                hammer(&reader(&root), &keys, &stop, &reads);
            } else {
                hammer(&writer, &keys, &stop, &reads);
            }
        })
    };
    for i in 0..BATCHES {
        // The reader keeps up (one read per two batches at least), so reads and batches
        // interleave however fast either side is.
        while reads.load(Ordering::SeqCst) < i / 2 {
            std::thread::yield_now();
        }
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
    reader_handle.join().unwrap();
    let reads = reads.load(Ordering::SeqCst);
    assert!(reads >= BATCHES / 2 - 1, "{reads} reads");
    eprintln!(
        "reader isolation (read-only handle: {read_only_reader}, checkpoint every {checkpoint_bytes} bytes): {BATCHES} batches, {reads} consistent reads"
    );
}

#[test]
fn the_writers_own_readers_never_see_a_batch_half_applied() {
    // Checkpoints after every batch, every few batches, and (the default) never in the test.
    for bytes in [0, 300, DEFAULT_CHECKPOINT_BYTES] {
        isolation(false, bytes);
    }
}

#[test]
fn a_read_only_handle_never_sees_a_batch_half_applied() {
    for bytes in [0, 300, DEFAULT_CHECKPOINT_BYTES] {
        isolation(true, bytes);
    }
}

#[test]
fn the_idle_checkpoint_brings_the_files_up_to_date_without_a_caller() {
    let dir = tempfile::tempdir().unwrap();
    let idle = std::time::Duration::from_millis(50);
    let s = Storage::open_with(dir.path(), OpenOptions::new().idle_checkpoint(Some(idle))).unwrap();
    s.write(&key("config.a"), b"1", Durability::Full).unwrap();
    s.commit_batch(vec![put("config.b", b"2")], Durability::Full)
        .unwrap();
    assert_eq!(file_of(dir.path(), &key("config.a")), None);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while pending_records(dir.path()) > 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "no idle checkpoint within 20 s of a 50 ms idle time"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert_eq!(file_of(dir.path(), &key("config.a")).unwrap(), b"1");
    assert_eq!(file_of(dir.path(), &key("config.b")).unwrap(), b"2");
    // It comes again after the next commit, and the writer goes on working meanwhile.
    s.write(&key("config.a"), b"3", Durability::Full).unwrap();
    assert_eq!(s.read(&key("config.a")).unwrap().unwrap(), b"3");
    while file_of(dir.path(), &key("config.a")).as_deref() != Some(&b"3"[..]) {
        assert!(
            std::time::Instant::now() < deadline,
            "no second idle checkpoint"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    drop(s);
    assert!(journal_files(dir.path()).is_empty());
}
