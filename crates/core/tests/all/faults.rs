//! SQLite's I/O-error method on the single save (a journal record) and its checkpoint (the
//! atomic replace of the key's file): fail operation N, for every N, once and for good, and
//! check that the key holds exactly its old or its new value.

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
            OpenOptions::new()
                .idle_checkpoint(None)
                .backend(Arc::new(faults.clone())),
        )
        .unwrap();
        faults.fail_at(n, kind, error);
        let result = s
            .write(&key(), NEW, durability)
            .and_then(|_| s.checkpoint());
        let injected = faults.injected() > 0;
        faults.heal();
        if !injected {
            result.expect("no failure was injected, so the write succeeds");
            assert_eq!(s.read(&key()).unwrap().unwrap(), NEW);
            assert_eq!(
                std::fs::read(dir.path().join(key().relative_path())).unwrap(),
                NEW
            );
            return u32::try_from(n).unwrap();
        }
        let Err(err) = result else {
            // A failure the store absorbs (growing the journal ahead of its records, an
            // optimization): the save is then whole, now and after a reopen.
            assert_eq!(s.read(&key()).unwrap().unwrap(), NEW, "n={n}");
            drop(s);
            let reopened = Storage::open(dir.path()).unwrap();
            assert_eq!(reopened.read(&key()).unwrap().unwrap(), NEW, "n={n}");
            continue;
        };
        if error == FaultError::NoSpace {
            assert!(matches!(err, Error::NoSpace { .. }), "n={n}: {err:?}");
            assert!(err.to_string().contains("no space left"), "{err}");
        }
        let seen = s.read(&key()).unwrap();
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
        assert_eq!(
            seen.as_deref(),
            Some(&value[..]),
            "n={n}: the failed handle read another value"
        );
        let file = std::fs::read(dir.path().join(key().relative_path())).unwrap();
        assert_eq!(
            file, value,
            "n={n}: the reopened store's file lags its value"
        );
        assert!(
            temp_files(dir.path()).is_empty(),
            "n={n}: a temp file survived a reopen"
        );
    }
    unreachable!("the loop returns once no failure is injected")
}

/// A store on a fault-injecting backend whose key holds `OLD` in its file.
fn store_holding_old(dir: &std::path::Path) -> (FaultBackend, Storage) {
    let faults = FaultBackend::new(Arc::new(FsBackend));
    let s = Storage::open_with(
        dir,
        OpenOptions::new()
            .idle_checkpoint(None)
            .backend(Arc::new(faults.clone())),
    )
    .unwrap();
    s.write(&key(), OLD, Durability::Full).unwrap();
    s.checkpoint().unwrap();
    (faults, s)
}

#[test]
fn a_failed_sync_of_a_single_save_poisons_and_the_next_open_decides() {
    // Operations of a single save into the journal file a checkpoint kept: write, sync.
    let dir = tempfile::tempdir().unwrap();
    let (faults, s) = store_holding_old(dir.path());
    faults.fail_at(1, FaultKind::Transient, FaultError::Io);
    let err = s.write(&key(), NEW, Durability::Full).unwrap_err();
    faults.heal();
    assert!(err.to_string().contains("fsync"), "{err}");
    // The record may or may not be on the medium: no further write, and reads show the disk.
    let again = s.write(&key(), OLD, Durability::Full).unwrap_err();
    assert!(matches!(again, Error::Poisoned { .. }), "{again:?}");
    assert!(matches!(
        s.delete(&key(), Durability::Full),
        Err(Error::Poisoned { .. })
    ));
    let seen = s.read(&key()).unwrap().unwrap();
    drop(s);
    let s = Storage::open(dir.path()).unwrap();
    assert_eq!(s.read(&key()).unwrap().unwrap(), seen);
    s.write(&key(), OLD, Durability::Full).unwrap();
}

#[test]
fn a_failed_temp_fsync_in_the_checkpoint_of_a_single_save_is_never_followed_by_the_rename() {
    let dir = tempfile::tempdir().unwrap();
    let (faults, s) = store_holding_old(dir.path());
    s.write(&key(), NEW, Durability::Full).unwrap();
    // Operations of the checkpoint: lock, create the temp, write it, start its sync, sync it.
    faults.fail_at(4, FaultKind::Transient, FaultError::Io);
    let err = s.checkpoint().unwrap_err();
    faults.heal();
    assert!(err.to_string().contains("fsync"), "{err}");
    let file = dir.path().join(key().relative_path());
    assert_eq!(
        std::fs::read(&file).unwrap(),
        OLD,
        "the rename did not happen"
    );
    assert!(
        temp_files(dir.path()).is_empty(),
        "the temp file was removed"
    );
    // Not poisoned: the journal still holds the value, and the next checkpoint writes it.
    assert_eq!(s.read(&key()).unwrap().unwrap(), NEW);
    s.checkpoint().unwrap();
    assert_eq!(std::fs::read(&file).unwrap(), NEW);
}

#[test]
fn a_failed_folder_fsync_in_a_checkpoint_poisons_the_store_until_reopened() {
    let dir = tempfile::tempdir().unwrap();
    let (faults, s) = store_holding_old(dir.path());
    s.write(&key(), NEW, Durability::Full).unwrap();
    // Operations of the checkpoint: lock, create, write, start sync, sync, rename, sync folder.
    faults.fail_at(6, FaultKind::Transient, FaultError::Io);
    let err = s.checkpoint().unwrap_err();
    faults.heal();
    assert!(err.to_string().contains("fsync folder"), "{err}");
    let again = s.write(&key(), OLD, Durability::Full).unwrap_err();
    assert!(matches!(again, Error::Poisoned { .. }), "{again:?}");
    assert_eq!(s.read(&key()).unwrap().unwrap(), NEW);
    drop(s);
    let s = Storage::open(dir.path()).unwrap();
    assert_eq!(
        s.read(&key()).unwrap().unwrap(),
        NEW,
        "the journal still held it"
    );
    s.write(&key(), OLD, Durability::Full).unwrap();
}
