//! Amendments: journal records of a change's own size, folded into the value by the fold the
//! store was opened with, at a checkpoint or when a plain read asks.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use statevault_core::{BatchOp, Durability, Error, Fold, Key, OpenOptions, Storage};

use super::batch::{key, wal_files};
use super::sweeps::Concat;

fn open(root: &Path) -> Storage {
    Storage::open_with(
        root,
        OpenOptions::new()
            .idle_checkpoint(None)
            .fold(Arc::new(Concat)),
    )
    .unwrap()
}

#[test]
fn an_amendment_of_a_large_value_writes_a_record_of_its_own_size() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(dir.path());
    let k = key("history.conversations.long");
    let big = vec![b'x'; 1024 * 1024];
    s.write(&k, &big, Durability::Full).unwrap();
    s.checkpoint().unwrap();
    let commit = s.amend(&k, b"+one".to_vec(), Durability::Full).unwrap();
    assert!(commit.len < 200, "a record of {} bytes", commit.len);
    assert_eq!(s.journal_records().unwrap(), 1);
    // The key's file is untouched until a checkpoint; every read sees the amendment.
    assert_eq!(
        std::fs::read(dir.path().join(k.relative_path())).unwrap(),
        big
    );
    let mut expected = big.clone();
    expected.extend_from_slice(b"+one");
    assert_eq!(s.read(&k).unwrap().unwrap(), expected);
    let layers = s.read_layers(&k).unwrap().unwrap();
    assert_eq!(layers.base, big);
    assert_eq!(layers.amendments, vec![Arc::new(b"+one".to_vec())]);
    assert_eq!(s.metadata(&k).unwrap().unwrap().len, expected.len() as u64);
    s.checkpoint().unwrap();
    assert_eq!(
        std::fs::read(dir.path().join(k.relative_path())).unwrap(),
        expected
    );
    assert!(s.read_layers(&k).unwrap().unwrap().amendments.is_empty());
}

#[test]
fn amendments_follow_values_deletes_and_batches_in_order_and_survive_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (key("config.a"), key("config.b"));
    {
        let s = open(dir.path());
        s.write(&a, b"a", Durability::Full).unwrap();
        s.amend(&a, b"1".to_vec(), Durability::Full).unwrap();
        s.commit_batch(
            vec![
                BatchOp::Amend {
                    key: a.clone(),
                    bytes: b"2".to_vec(),
                },
                BatchOp::Put {
                    key: b.clone(),
                    bytes: b"b".to_vec(),
                },
            ],
            Durability::Full,
        )
        .unwrap();
        s.amend(&b, b"3".to_vec(), Durability::Full).unwrap();
        assert_eq!(
            s.read_many(&[a.clone(), b.clone()]).unwrap(),
            vec![Some(b"a12".to_vec()), Some(b"b3".to_vec())]
        );
        // A writer that stops without its checkpoint (a crash) leaves the journal as it is.
        std::mem::forget(s);
    }
    // Another process takes the store over: the lock of a forgotten handle is this process's,
    // so read the journal through a read-only handle, then a writer after the drop.
    let r = Storage::open_with(
        dir.path(),
        OpenOptions::new().read_only(true).fold(Arc::new(Concat)),
    )
    .unwrap();
    assert_eq!(r.read(&a).unwrap().unwrap(), b"a12");
    assert_eq!(r.read(&b).unwrap().unwrap(), b"b3");
    // Without a fold a reader still reads the layers; a plain read is a typed error.
    let bare = Storage::open_with(dir.path(), OpenOptions::new().read_only(true)).unwrap();
    assert_eq!(bare.read_layers(&a).unwrap().unwrap().amendments.len(), 2);
    let err = bare.read(&a).unwrap_err();
    assert!(matches!(err, Error::Fold { .. }), "{err:?}");
}

#[test]
fn an_amendment_of_a_key_that_does_not_exist_is_refused_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(dir.path());
    let k = key("config.gone");
    let err = s.amend(&k, b"x".to_vec(), Durability::Full).unwrap_err();
    assert!(matches!(err, Error::NothingToAmend { .. }), "{err:?}");
    s.write(&k, b"v", Durability::Full).unwrap();
    s.delete(&k, Durability::Full).unwrap();
    let err = s
        .commit_batch(
            vec![BatchOp::Amend {
                key: k.clone(),
                bytes: b"x".to_vec(),
            }],
            Durability::Full,
        )
        .unwrap_err();
    assert!(matches!(err, Error::NothingToAmend { .. }), "{err:?}");
    assert_eq!(s.read(&k).unwrap(), None);
    assert_eq!(
        s.journal_records().unwrap(),
        2,
        "the save and the delete only"
    );
}

/// A fold that fails while `failing` is set (a keychain not yet unlocked).
#[derive(Debug, Default)]
struct Flaky {
    failing: AtomicBool,
}

impl Fold for Flaky {
    fn fold(
        &self,
        store_id: &str,
        key: &Key,
        base: Vec<u8>,
        amendments: &[Arc<Vec<u8>>],
    ) -> Result<Vec<u8>, String> {
        if self.failing.load(Ordering::SeqCst) {
            return Err("the keychain is locked".into());
        }
        Concat.fold(store_id, key, base, amendments)
    }
}

#[test]
fn a_fold_that_fails_changes_nothing_and_the_store_still_opens_and_reads() {
    let dir = tempfile::tempdir().unwrap();
    let k = key("settings.big");
    let flaky = Arc::new(Flaky::default());
    let options = || OpenOptions::new().idle_checkpoint(None).fold(flaky.clone());
    {
        let s = Storage::open_with(dir.path(), options()).unwrap();
        s.write(&k, b"base", Durability::Full).unwrap();
        s.checkpoint().unwrap();
        s.amend(&k, b"+1".to_vec(), Durability::Full).unwrap();
        flaky.failing.store(true, Ordering::SeqCst);
        let err = s.checkpoint().unwrap_err();
        assert!(matches!(err, Error::Fold { .. }), "{err:?}");
        assert_eq!(
            std::fs::read(dir.path().join(k.relative_path())).unwrap(),
            b"base"
        );
        // The store goes on: more amendments, and reads of the parts.
        s.amend(&k, b"+2".to_vec(), Durability::Full).unwrap();
        assert_eq!(s.read_layers(&k).unwrap().unwrap().amendments.len(), 2);
    }
    // The drop's checkpoint failed too; the next open (the fold still failing) opens, keeps
    // the amendments in the journal and reads them.
    {
        let s = Storage::open_with(dir.path(), options()).unwrap();
        assert_eq!(s.read_layers(&k).unwrap().unwrap().amendments.len(), 2);
        assert!(!wal_files(dir.path()).is_empty());
        flaky.failing.store(false, Ordering::SeqCst);
        assert_eq!(s.read(&k).unwrap().unwrap(), b"base+1+2");
    }
    // Once the fold works, the checkpoint (the drop's) writes the value.
    assert_eq!(
        std::fs::read(dir.path().join(k.relative_path())).unwrap(),
        b"base+1+2"
    );
    assert!(wal_files(dir.path()).is_empty());
}
