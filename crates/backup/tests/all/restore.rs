//! Restore: exact state back, the automatic snapshot first, damaged snapshots refused.

use statevault_backup::{BackupKind, Backups, Error, RestoreOptions};

use super::support::*;

#[test]
fn restore_gives_back_exactly_the_backed_up_state() {
    let (_dir, storage) = store();
    fill(&storage, &sample_state());
    let info = snapshot(&storage, Some("good"));
    set_state(&storage, &changed_state());
    assert_ne!(state(&storage), sample_state());

    let backups = Backups::new(&storage);
    let report = backups
        .restore(&info.id, &RestoreOptions::default())
        .unwrap();
    assert_eq!(state(&storage), sample_state());
    // settings.preferences and config.app written back, the new conversation deleted.
    assert_eq!(
        (report.written, report.deleted, report.unchanged),
        (2, 1, 3)
    );

    // The state before the restore is an automatic snapshot, and restoring it undoes the
    // restore.
    let pre = report.pre_restore.expect("an automatic snapshot was taken");
    assert_eq!(pre.kind, BackupKind::Auto);
    assert_eq!(pre.reason, Some(format!("before restore of {}", info.id)));
    assert!(backups.verify(&pre.id).unwrap().is_ok());
    let listed = backups.list().unwrap();
    assert_eq!(listed[0].id, pre.id, "the automatic snapshot is the newest");
    backups
        .restore(&pre.id, &RestoreOptions::default())
        .unwrap();
    assert_eq!(state(&storage), changed_state());
}

#[test]
fn restoring_the_present_state_changes_nothing() {
    let (_dir, storage) = store();
    fill(&storage, &sample_state());
    let info = snapshot(&storage, None);
    let backups = Backups::new(&storage);
    let report = backups
        .restore(&info.id, &RestoreOptions::default())
        .unwrap();
    assert_eq!(
        (report.written, report.deleted, report.unchanged),
        (0, 0, 5)
    );
    assert!(report.pre_restore.is_none());
    assert_eq!(backups.list().unwrap().len(), 1);
}

#[test]
fn the_automatic_snapshot_can_be_skipped() {
    let (_dir, storage) = store();
    fill(&storage, &sample_state());
    let info = snapshot(&storage, None);
    set_state(&storage, &changed_state());
    let backups = Backups::new(&storage);
    let options = RestoreOptions {
        auto_snapshot_first: false,
        ..RestoreOptions::default()
    };
    let report = backups.restore(&info.id, &options).unwrap();
    assert!(report.pre_restore.is_none());
    assert_eq!(state(&storage), sample_state());
    assert_eq!(backups.list().unwrap().len(), 1);
}

#[test]
fn the_automatic_snapshot_is_classified_by_the_callers_codec() {
    let (_dir, storage) = store();
    put(&storage, "settings.a", b"{}");
    let info = snapshot(&storage, None);
    put(&storage, "settings.a", &[0x89, 1, 2]);
    let options = RestoreOptions {
        classify: &classify,
        ..RestoreOptions::default()
    };
    let report = Backups::new(&storage).restore(&info.id, &options).unwrap();
    assert!(report.pre_restore.unwrap().encrypted);
}

#[test]
fn a_damaged_object_is_refused_and_the_store_is_untouched() {
    let (dir, storage) = store();
    fill(&storage, &sample_state());
    let info = snapshot(&storage, None);
    set_state(&storage, &changed_state());
    let before = state(&storage);
    let folder_before = snapshot_of_folder(dir.path());

    let backups = Backups::new(&storage);
    let manifest = backups.get(&info.id).unwrap();
    let victim = manifest
        .entries
        .iter()
        .find(|e| e.key.as_str() == "custom.deep.nested.value")
        .unwrap();
    let hex = victim.hash.to_hex();
    let object = dir
        .path()
        .join("backups/objects")
        .join(&hex[..2])
        .join(&hex);
    flip_byte(&object, 1);
    let folder_before: std::collections::BTreeMap<_, _> = folder_before
        .into_iter()
        .map(|(p, b)| {
            let b = if p == object {
                std::fs::read(&object).unwrap()
            } else {
                b
            };
            (p, b)
        })
        .collect();

    match backups.restore(&info.id, &RestoreOptions::default()) {
        Err(Error::ObjectMismatch {
            key,
            expected,
            found,
            ..
        }) => {
            assert_eq!(key, "custom.deep.nested.value");
            assert!(expected.contains(&hex));
            assert!(!found.contains(&hex));
        }
        other => panic!("expected ObjectMismatch, got {other:?}"),
    }
    assert_eq!(state(&storage), before, "live keys untouched");
    assert_eq!(
        snapshot_of_folder(dir.path()),
        folder_before,
        "nothing at all written (not even the automatic snapshot)"
    );
    // With no live file left to heal it from, verify reports it.
    put(&storage, "custom.deep.nested.value", b"[4]");
    let report = backups.verify(&info.id).unwrap();
    assert_eq!(report.problems.len(), 1);
}

#[test]
fn a_missing_object_is_refused() {
    let (dir, storage) = store();
    fill(&storage, &sample_state());
    let info = snapshot(&storage, None);
    set_state(&storage, &changed_state());
    for object in objects(dir.path()) {
        std::fs::remove_file(object).unwrap();
    }
    match Backups::new(&storage).restore(&info.id, &RestoreOptions::default()) {
        Err(Error::ObjectMismatch { found, .. }) => assert_eq!(found, "missing"),
        other => panic!("{other:?}"),
    }
    assert_eq!(state(&storage), changed_state());
}

#[test]
fn a_restored_store_survives_a_reopen() {
    let (dir, storage) = store();
    fill(&storage, &sample_state());
    let info = snapshot(&storage, None);
    set_state(&storage, &changed_state());
    Backups::new(&storage)
        .restore(&info.id, &RestoreOptions::default())
        .unwrap();
    drop(storage);
    let reopened = statevault_core::Storage::open(dir.path()).unwrap();
    assert_eq!(state(&reopened), sample_state());
}
