//! SQLite's I/O-error method on the single atomic replace: fail operation N, for every N,
//! once and for good, and check that the key holds exactly its old or its new value.

use std::sync::Arc;

use statevault_core::{
    Durability, Error, FaultBackend, FaultError, FaultKind, FsBackend, Key, OpenOptions, Storage,
};

use super::store::temp_files;

const OLD: &[u8] = b"{\"old\":true}";
const NEW: &[u8] = b"{\"new\":true,\"padding\":\"xxxxxxxxxxxxxxxxxxxxxxxx\"}";

fn key() -> Key {
    Key::parse("history.conversations.ab12").unwrap()
}

#[test]
fn fault_sweep_over_a_single_save() {
    let mut points = 0;
    for durability in [Durability::Full, Durability::Normal, Durability::None] {
        for kind in [FaultKind::Transient, FaultKind::Permanent] {
            for error in [FaultError::NoSpace, FaultError::Io] {
                points += sweep(durability, kind, error);
            }
        }
    }
    eprintln!("single-save fault sweep: {points} failure points, 0 violations");
}

/// Returns how many failure points were checked.
fn sweep(durability: Durability, kind: FaultKind, error: FaultError) -> u32 {
    for n in 0.. {
        let dir = tempfile::tempdir().unwrap();
        {
            let s = Storage::open(dir.path()).unwrap();
            s.write(&key(), OLD, Durability::Full).unwrap();
        }
        let faults = FaultBackend::new(Arc::new(FsBackend));
        let s = Storage::open_with(
            dir.path(),
            OpenOptions::new().backend(Arc::new(faults.clone())),
        )
        .unwrap();
        faults.fail_at(n, kind, error);
        let result = s.write(&key(), NEW, durability);
        let injected = faults.injected() > 0;
        faults.heal();
        if !injected {
            result.expect("no failure was injected, so the write succeeds");
            assert_eq!(s.read(&key()).unwrap().unwrap(), NEW);
            return u32::try_from(n).unwrap();
        }
        let err = result.expect_err("an injected failure reaches the caller");
        if error == FaultError::NoSpace {
            assert!(matches!(err, Error::NoSpace { .. }), "n={n}: {err:?}");
            assert!(err.to_string().contains("no space left"), "{err}");
        }
        drop(s);
        let reopened = Storage::open(dir.path()).expect("reopen succeeds");
        let value = reopened
            .read(&key())
            .unwrap()
            .expect("the key never disappears");
        assert!(
            value == OLD || value == NEW,
            "n={n} {durability:?} {kind:?}: torn value {value:?}"
        );
        assert!(
            temp_files(dir.path()).is_empty(),
            "n={n}: a temp file survived a reopen"
        );
    }
    unreachable!("the loop returns once no failure is injected")
}

/// A store on a fault-injecting backend whose key holds `OLD`.
fn store_holding_old(dir: &std::path::Path) -> (FaultBackend, Storage) {
    let faults = FaultBackend::new(Arc::new(FsBackend));
    let s = Storage::open_with(dir, OpenOptions::new().backend(Arc::new(faults.clone()))).unwrap();
    s.write(&key(), OLD, Durability::Full).unwrap();
    (faults, s)
}

#[test]
fn a_failed_file_fsync_is_never_followed_by_the_rename() {
    // Operations of a write to an existing folder: create, write, sync, rename, sync folder.
    let dir = tempfile::tempdir().unwrap();
    let (faults, s) = store_holding_old(dir.path());
    faults.fail_at(2, FaultKind::Transient, FaultError::Io);
    let err = s.write(&key(), NEW, Durability::Full).unwrap_err();
    assert!(err.to_string().contains("fsync"), "{err}");
    assert_eq!(
        s.read(&key()).unwrap().unwrap(),
        OLD,
        "the rename did not happen"
    );
    assert!(
        temp_files(dir.path()).is_empty(),
        "the temp file was removed"
    );
    // Not poisoned: the value was never published, so writing it again from memory is safe.
    s.write(&key(), NEW, Durability::Full).unwrap();
    assert_eq!(s.read(&key()).unwrap().unwrap(), NEW);
}

#[test]
fn a_failed_folder_fsync_poisons_the_store_until_reopened() {
    let dir = tempfile::tempdir().unwrap();
    let (faults, s) = store_holding_old(dir.path());
    faults.fail_at(4, FaultKind::Transient, FaultError::Io);
    let err = s.write(&key(), NEW, Durability::Full).unwrap_err();
    assert!(err.to_string().contains("fsync folder"), "{err}");
    let again = s.write(&key(), OLD, Durability::Full).unwrap_err();
    assert!(matches!(again, Error::Poisoned { .. }), "{again:?}");
    assert!(matches!(
        s.delete(&key(), Durability::Full),
        Err(Error::Poisoned { .. })
    ));
    drop(s);
    let s = Storage::open(dir.path()).unwrap();
    s.write(&key(), OLD, Durability::Full).unwrap();
}
