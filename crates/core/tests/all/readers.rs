//! Readers in another handle: the index a read-only handle keeps of the journal, and reads
//! that race the writer's appends.

use std::io;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use statevault_core::{
    Backend, DirEntry, Durability, Error, FileHandle, FsBackend, LockGuard, LockMode, Metadata,
    OpenOptions, Storage,
};

use super::batch::{key, put, reader, wal_files};

#[test]
fn a_reader_kept_open_follows_commits_checkpoints_new_runs_and_new_files() {
    let dir = tempfile::tempdir().unwrap();
    let keys = [key("config.a"), key("config.b"), key("layout.c")];
    let r = reader(dir.path());
    let s = Storage::open_with(dir.path(), OpenOptions::new().idle_checkpoint(None)).unwrap();
    let same = |s: &Storage, what: &str| {
        assert_eq!(
            r.read_many(&keys).unwrap(),
            s.read_many(&keys).unwrap(),
            "{what}"
        );
    };
    s.commit_batch(
        vec![put("config.a", b"1"), put("config.b", b"1")],
        Durability::Full,
    )
    .unwrap();
    same(&s, "first record");
    s.write(&key("config.a"), b"2", Durability::Full).unwrap();
    same(&s, "a record after the ones the reader read");
    // Records longer than what a reader reads at once, two in a row.
    s.write(&key("layout.c"), &vec![b'z'; 40 * 1024], Durability::Full)
        .unwrap();
    s.write(&key("config.b"), &vec![b'y'; 20 * 1024], Durability::Full)
        .unwrap();
    same(&s, "records longer than a reader's window");
    assert!(s.delete(&key("config.b"), Durability::Full).unwrap());
    assert_eq!(r.journal_records().unwrap(), 5);
    same(&s, "a delete");
    s.checkpoint().unwrap();
    same(&s, "the run ended");
    assert_eq!(r.journal_records().unwrap(), 0);
    s.write(&key("layout.c"), b"3", Durability::Full).unwrap();
    same(&s, "a new run over the same file");
    assert_eq!(r.journal_records().unwrap(), 1);
    drop(s);
    let s = Storage::open_with(dir.path(), OpenOptions::new().idle_checkpoint(None)).unwrap();
    same(&s, "the journal removed at close");
    s.write(&key("config.b"), b"4", Durability::Full).unwrap();
    same(&s, "a new journal file");
    assert_eq!(
        r.read_many(&keys).unwrap(),
        vec![
            Some(b"2".to_vec()),
            Some(b"4".to_vec()),
            Some(b"3".to_vec())
        ]
    );
}

#[test]
fn a_reader_kept_open_reports_a_record_damaged_after_it_read_past_it() {
    let dir = tempfile::tempdir().unwrap();
    let r = reader(dir.path());
    let s = Storage::open_with(dir.path(), OpenOptions::new().idle_checkpoint(None)).unwrap();
    s.write(&key("config.a"), b"1", Durability::Full).unwrap();
    s.write(&key("config.b"), b"2", Durability::Full).unwrap();
    assert_eq!(r.read(&key("config.b")).unwrap().unwrap(), b"2");
    // The first record's value byte is flipped on disk, a third record follows.
    let wal = dir
        .path()
        .join(".statevault/journal")
        .join(&wal_files(dir.path())[0]);
    let mut bytes = std::fs::read(&wal).unwrap();
    let name = bytes.windows(8).position(|w| w == b"config.a").unwrap();
    // The key, the value's length (8 bytes), then the value.
    let at = name + 8 + 8;
    assert_eq!(bytes[at], b'1');
    bytes[at] ^= 0x01;
    std::fs::write(&wal, &bytes).unwrap();
    s.write(&key("config.c"), b"3", Durability::Full).unwrap();
    // The index reads only what follows what it read: it does not see the damage behind it.
    // A new reader reads the whole journal and reports it.
    assert_eq!(r.read(&key("config.c")).unwrap().unwrap(), b"3");
    let err = reader(dir.path()).read(&key("config.c")).unwrap_err();
    assert!(matches!(err, Error::CorruptMetadata { .. }), "{err:?}");
    drop(s);
}

/// A backend whose next `raced` reads of a journal file see the first record's value as it was
/// before the append wrote it: what a read that races the writer sees when it copied that page
/// before the append reached it and the pages after it once the next append was done. (This
/// backend cannot keep files open, so a reader reads journal files whole, by path: first for the
/// run's header, which the change does not reach, then for the records.)
#[derive(Debug)]
struct RacedRead {
    raced: AtomicUsize,
}

impl Backend for RacedRead {
    fn create_new(&self, path: &Path) -> io::Result<Box<dyn FileHandle>> {
        FsBackend.create_new(path)
    }
    fn open_append(&self, path: &Path) -> io::Result<Box<dyn FileHandle>> {
        FsBackend.open_append(path)
    }
    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        let mut bytes = FsBackend.read(path)?;
        let journal = path.extension().is_some_and(|e| e == "wal");
        let left = self.raced.load(Ordering::SeqCst);
        if journal && left > 0 {
            self.raced.store(left - 1, Ordering::SeqCst);
            stale_first_value(&mut bytes);
        }
        Ok(bytes)
    }
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        FsBackend.rename(from, to)
    }
    fn remove_file(&self, path: &Path) -> io::Result<()> {
        FsBackend.remove_file(path)
    }
    fn create_dir(&self, path: &Path) -> io::Result<()> {
        FsBackend.create_dir(path)
    }
    fn sync_dir(&self, path: &Path) -> io::Result<()> {
        FsBackend.sync_dir(path)
    }
    fn read_dir(&self, path: &Path) -> io::Result<Vec<DirEntry>> {
        FsBackend.read_dir(path)
    }
    fn metadata(&self, path: &Path) -> io::Result<Metadata> {
        FsBackend.metadata(path)
    }
    fn lock(&self, path: &Path, mode: LockMode, wait: bool) -> io::Result<LockGuard> {
        FsBackend.lock(path, mode, wait)
    }
}

#[test]
fn a_read_that_races_appends_is_read_again_not_reported_as_damage() {
    let dir = tempfile::tempdir().unwrap();
    let s = Storage::open_with(dir.path(), OpenOptions::new().idle_checkpoint(None)).unwrap();
    s.write(&key("config.a"), b"1", Durability::Full).unwrap();
    s.write(&key("config.b"), b"2", Durability::Full).unwrap();
    let raced = Arc::new(RacedRead {
        raced: AtomicUsize::new(2),
    });
    let r = Storage::open_with(
        dir.path(),
        OpenOptions::new().read_only(true).backend(raced.clone()),
    )
    .unwrap();
    // The first read saw "damage followed by a record of the run"; the second read of the same
    // bytes is whole, so it was an append under way.
    assert_eq!(
        r.read_many(&[key("config.a"), key("config.b")]).unwrap(),
        vec![Some(b"1".to_vec()), Some(b"2".to_vec())]
    );
    assert_eq!(
        raced.raced.load(Ordering::SeqCst),
        0,
        "the raced read happened"
    );
    // Damage that is there on every read is still damage.
    let wal = dir
        .path()
        .join(".statevault/journal")
        .join(&wal_files(dir.path())[0]);
    let mut bytes = std::fs::read(&wal).unwrap();
    stale_first_value(&mut bytes);
    std::fs::write(&wal, &bytes).unwrap();
    let err = reader(dir.path()).read(&key("config.b")).unwrap_err();
    assert!(matches!(err, Error::CorruptMetadata { .. }), "{err:?}");
    drop(s);
}

/// Changes the value of the journal's first record (`config.a`, value `1`) in `bytes`.
fn stale_first_value(bytes: &mut [u8]) {
    let Some(name) = bytes.windows(8).position(|w| w == b"config.a") else {
        return;
    };
    // The key, the value's length (8 bytes), then the value.
    let at = name + 8 + 8;
    if at < bytes.len() {
        bytes[at] ^= 0x01;
    }
}
