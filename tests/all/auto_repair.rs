//! Integrity checks and automatic repair: a load that finds its key's file damaged restores it
//! from the newest intact snapshot, keeps the damaged file, and says what it did.

use statevault::schema::{GridLayoutState, UserPreferencesState};
use statevault::{ErrorKind, Store, StoreOptions};

use super::common::{file_of, grid_layout, preferences};

/// Damages the file of `key` in the middle of its data; returns the damaged bytes.
fn damage(store: &Store, key: &str) -> Vec<u8> {
    let path = file_of(store, key);
    let mut bytes = std::fs::read(&path).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 0x04;
    std::fs::write(&path, &bytes).unwrap();
    bytes
}

#[test]
fn a_damaged_file_is_restored_from_the_newest_intact_snapshot_on_load() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let mut layout = grid_layout();
    layout.metadata.name = "first".into();
    store.save("layout.default", &layout).unwrap();
    store.create_backup(Some("older")).unwrap();
    layout.metadata.name = "second".into();
    store.save("layout.default", &layout).unwrap();
    store.create_backup(Some("newer")).unwrap();
    let damaged = damage(&store, "layout.default");

    let reported = store
        .load_reported::<GridLayoutState>("layout.default")
        .unwrap()
        .expect("the key exists");
    assert_eq!(
        reported.value.metadata.name, "second",
        "the newest intact copy"
    );
    let repaired = reported.repaired.expect("the load says it repaired");
    assert_eq!(repaired.key, "layout.default");
    let newer = store
        .list_backups()
        .unwrap()
        .into_iter()
        .find(|b| b.name.as_deref() == Some("newer"))
        .unwrap();
    assert_eq!(repaired.from, newer.id.to_string());
    assert!(!repaired.problem.is_empty());

    // The repair is in the audit log, and the next load finds an intact file.
    let audit = store.verify_audit().unwrap();
    assert!(audit.entries.iter().any(|e| e.op == "auto-repair"));
    let again = store
        .load_reported::<GridLayoutState>("layout.default")
        .unwrap()
        .unwrap();
    assert_eq!(again.repaired, None);

    // The damaged file was kept, never deleted: its snapshot gives back exactly those bytes.
    let path = file_of(&store, "layout.default");
    store.restore_backup(&repaired.damaged_kept_in).unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), damaged);
}

#[test]
fn without_an_intact_copy_the_load_fails_and_the_file_is_left_as_it_is() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    store.save("settings.preferences", &preferences()).unwrap();
    let damaged = damage(&store, "settings.preferences");
    let error = store
        .load::<UserPreferencesState>("settings.preferences")
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Corrupt, "{error}");
    let path = file_of(&store, "settings.preferences");
    assert_eq!(std::fs::read(path).unwrap(), damaged);
    assert!(store.list_backups().unwrap().is_empty(), "nothing to keep");
}

#[test]
fn with_the_option_off_or_on_a_read_only_handle_nothing_is_repaired() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    store.save("settings.preferences", &preferences()).unwrap();
    store.create_backup(None).unwrap();
    let damaged = damage(&store, "settings.preferences");
    let path = file_of(&store, "settings.preferences");

    let reader = Store::open_with(dir.path(), StoreOptions::new().read_only(true)).unwrap();
    let error = reader
        .load::<UserPreferencesState>("settings.preferences")
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Corrupt, "{error}");
    drop(reader);
    drop(store);

    let store = Store::open_with(dir.path(), StoreOptions::new().auto_repair(false)).unwrap();
    let error = store
        .load::<UserPreferencesState>("settings.preferences")
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Corrupt, "{error}");
    assert_eq!(std::fs::read(path).unwrap(), damaged);
}

#[test]
fn repair_takes_copies_from_the_snapshot_named() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_with(dir.path(), StoreOptions::new().auto_repair(false)).unwrap();
    let mut layout = grid_layout();
    layout.metadata.name = "first".into();
    store.save("layout.default", &layout).unwrap();
    store.create_backup(Some("older")).unwrap();
    layout.metadata.name = "second".into();
    store.save("layout.default", &layout).unwrap();
    store.create_backup(Some("newer")).unwrap();
    damage(&store, "layout.default");
    let error = store
        .repair_with_progress(Some("no-such-snapshot"), false, &|_, _| {})
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::NotFound, "{error}");
    let report = store
        .repair_with_progress(Some("older"), false, &|_, _| {})
        .unwrap();
    assert_eq!(report.keys.len(), 1);
    let loaded: GridLayoutState = store.load("layout.default").unwrap().unwrap();
    assert_eq!(loaded.metadata.name, "first");
}
