//! Taking, listing, verifying snapshots; dedup; the stat index; in-place edits.

use std::io::{Seek, SeekFrom, Write};
use std::sync::Arc;

use statevault_backup::{
    BackupId, BackupKind, Backups, ContentHash, CreateOptions, Error, Found, RestoreOptions,
};
use statevault_core::{Durability, OpenOptions, Storage};

use super::support::*;

#[test]
fn a_snapshot_records_every_key_with_its_hash_size_and_flags() {
    let (_dir, storage) = store();
    fill(&storage, &sample_state());
    let info = snapshot(&storage, Some("first"));
    assert_eq!(info.kind, BackupKind::Manual);
    assert_eq!(info.name.as_deref(), Some("first"));
    assert_eq!(info.file_count, 5);
    let total: usize = sample_state().values().map(Vec::len).sum();
    assert_eq!(info.size, total as u64);
    assert!(info.encrypted, "the envelope-like value is flagged");
    assert!(!info.compressed);
    assert!(info.id.is_native());
    assert_eq!(info.id.timestamp_ms(), Some(info.timestamp));

    let manifest = Backups::new(&storage).get(&info.id).unwrap();
    let recorded: Vec<(String, u64, ContentHash)> = manifest
        .entries
        .iter()
        .map(|e| (e.key.to_string(), e.size, e.hash))
        .collect();
    let expected: Vec<(String, u64, ContentHash)> = sample_state()
        .into_iter()
        .map(|(k, v)| (k, v.len() as u64, ContentHash::of(&v)))
        .collect();
    assert_eq!(recorded, expected);
    assert_eq!(manifest.scope, None);
    let flagged: Vec<&str> = manifest
        .entries
        .iter()
        .filter(|e| e.flags.encrypted)
        .map(|e| e.key.as_str())
        .collect();
    assert_eq!(flagged, ["history.conversations.ab12"]);
    assert!(Backups::new(&storage).verify(&info.id).unwrap().is_ok());
}

#[test]
fn objects_are_named_by_their_hash_and_stored_once() {
    let (dir, storage) = store();
    put(&storage, "settings.a", b"same bytes");
    put(&storage, "settings.b", b"same bytes");
    put(&storage, "settings.c", b"other bytes");
    snapshot(&storage, None);
    let mut names: Vec<String> = objects(dir.path())
        .iter()
        .map(|p| p.file_name().unwrap().to_str().unwrap().to_owned())
        .collect();
    names.sort();
    let mut expected = vec![
        ContentHash::of(b"same bytes").to_hex(),
        ContentHash::of(b"other bytes").to_hex(),
    ];
    expected.sort();
    assert_eq!(names, expected);
    for path in objects(dir.path()) {
        let name = path.file_name().unwrap().to_str().unwrap();
        let fanout = path
            .parent()
            .unwrap()
            .file_name()
            .unwrap()
            .to_str()
            .unwrap();
        assert_eq!(&name[..2], fanout);
        assert_eq!(
            ContentHash::of(&std::fs::read(&path).unwrap()).to_hex(),
            name
        );
    }
}

#[test]
fn a_second_snapshot_after_one_change_adds_one_object_and_a_manifest() {
    let (dir, storage) = store();
    for i in 0..20 {
        put(
            &storage,
            &format!("history.c{i:02}"),
            &vec![i as u8; 10_000],
        );
    }
    let first = snapshot(&storage, None);
    let objects_dir = dir.path().join("backups/objects");
    let (objects_before, bytes_before) = (objects(dir.path()).len(), bytes_under(&objects_dir));
    let manifests_before = bytes_under(&dir.path().join("backups/manual"));

    put(&storage, "history.c07", &vec![0xEE; 12_345]);
    let second = snapshot(&storage, None);

    assert_eq!(objects(dir.path()).len(), objects_before + 1);
    assert_eq!(
        bytes_under(&objects_dir) - bytes_before,
        12_345,
        "only the changed value is copied"
    );
    let manifest_added = bytes_under(&dir.path().join("backups/manual")) - manifests_before;
    let second_manifest = std::fs::metadata(manifest_file(dir.path(), &second))
        .unwrap()
        .len();
    assert_eq!(manifest_added, second_manifest);
    assert!(second.id > first.id);
    assert_eq!(second.size, 19 * 10_000 + 12_345);
}

#[test]
fn an_unchanged_file_costs_a_stat_not_a_read() {
    let counting = CountingBackend::new();
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::open_with(
        dir.path(),
        OpenOptions::new()
            .idle_checkpoint(None)
            .backend(counting.clone()),
    )
    .unwrap();
    for i in 0..10 {
        put(
            &storage,
            &format!("settings.k{i}"),
            format!("value {i}").as_bytes(),
        );
    }
    // The values reach the keys' files at the checkpoint.
    storage.checkpoint().unwrap();
    // Files written in the same clock tick as the index are re-read once ("racy clean"),
    // so let the clock move on before the first snapshot's index is written.
    std::thread::sleep(std::time::Duration::from_millis(20));
    snapshot(&storage, None);
    put(&storage, "settings.k3", b"changed");
    storage.checkpoint().unwrap();
    counting.take_reads();
    snapshot(&storage, None);
    let key_reads: Vec<_> = counting
        .take_reads()
        .into_iter()
        .filter(|p| p.starts_with(dir.path().join("settings")))
        .collect();
    assert_eq!(key_reads, [dir.path().join("settings/k3.json")]);
}

#[test]
fn a_damaged_index_only_costs_time() {
    let (dir, storage) = store();
    fill(&storage, &sample_state());
    snapshot(&storage, None);
    let index = dir.path().join("backups/index.json");
    let text = std::fs::read_to_string(&index).unwrap();
    // Point every entry at the hash of other content: the checksum no longer matches, so
    // the index is ignored rather than trusted.
    let forged = text.replace(
        &ContentHash::of(b"{\"theme\":\"dark\"}").to_hex(),
        &ContentHash::of(b"[1,2,3]").to_hex(),
    );
    assert_ne!(forged, text);
    std::fs::write(&index, forged).unwrap();
    let second = snapshot(&storage, None);
    let manifest = Backups::new(&storage).get(&second.id).unwrap();
    let prefs = manifest
        .entries
        .iter()
        .find(|e| e.key.as_str() == "settings.preferences")
        .unwrap();
    assert_eq!(prefs.hash, ContentHash::of(b"{\"theme\":\"dark\"}"));
    std::fs::write(&index, b"\0\0\0").unwrap();
    assert!(
        Backups::new(&storage)
            .verify(&snapshot(&storage, None).id)
            .unwrap()
            .is_ok()
    );
}

#[test]
fn editing_a_live_file_in_place_changes_no_snapshot() {
    let (dir, storage) = store();
    put(&storage, "settings.preferences", b"{\"theme\":\"dark\"}");
    storage.checkpoint().unwrap();
    let first = snapshot(&storage, None);
    let path = dir.path().join("settings/preferences.json");

    // An editor that writes in place: same inode, same size, different bytes.
    let mut file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    file.write_all(b"{\"theme\":\"LITE\"}").unwrap();
    drop(file);
    let backups = Backups::new(&storage);
    assert!(
        backups.verify(&first.id).unwrap().is_ok(),
        "the object is a copy"
    );
    let second = snapshot(&storage, None);
    assert_eq!(
        backups.get(&second.id).unwrap().entries[0].hash,
        ContentHash::of(b"{\"theme\":\"LITE\"}"),
        "the next snapshot notices the change"
    );

    // And in place with a different size.
    let mut file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    file.seek(SeekFrom::End(0)).unwrap();
    file.write_all(b"\n").unwrap();
    drop(file);
    let third = snapshot(&storage, None);
    assert_eq!(
        backups.get(&third.id).unwrap().entries[0].hash,
        ContentHash::of(b"{\"theme\":\"LITE\"}\n")
    );
    assert!(backups.verify(&first.id).unwrap().is_ok());
    assert!(backups.verify(&second.id).unwrap().is_ok());
    let restored = backups
        .restore(&first.id, &RestoreOptions::default())
        .unwrap();
    assert_eq!(restored.written, 1);
    assert_eq!(std::fs::read(&path).unwrap(), b"{\"theme\":\"dark\"}");
}

#[test]
fn list_is_newest_first_and_ids_keep_creation_order() {
    let (_dir, storage) = store();
    put(&storage, "settings.a", b"1");
    let backups = Backups::new(&storage);
    let mut created = Vec::new();
    for i in 0..6 {
        let kind = if i % 2 == 0 {
            BackupKind::Manual
        } else {
            BackupKind::Auto
        };
        let reason = format!("test {i}");
        created.push(
            backups
                .create(&CreateOptions {
                    kind,
                    reason: Some(&reason),
                    ..CreateOptions::default()
                })
                .unwrap(),
        );
    }
    let listed: Vec<BackupId> = backups.list().unwrap().into_iter().map(|b| b.id).collect();
    let mut expected: Vec<BackupId> = created.iter().map(|b| b.id.clone()).collect();
    expected.reverse();
    assert_eq!(
        listed, expected,
        "ids are strictly increasing even within one millisecond"
    );
    let auto = backups.get(&created[1].id).unwrap();
    assert_eq!(auto.kind, BackupKind::Auto);
    assert_eq!(auto.reason.as_deref(), Some("test 1"));
}

#[test]
fn a_partial_snapshot_covers_only_its_keys() {
    let (_dir, storage) = store();
    fill(&storage, &sample_state());
    let backups = Backups::new(&storage);
    let keys = [k("settings.preferences"), k("settings.not-yet")];
    let info = backups
        .create(&CreateOptions {
            kind: BackupKind::Auto,
            reason: Some("before overwrite of settings.preferences"),
            keys: Some(&keys),
            ..CreateOptions::default()
        })
        .unwrap();
    assert_eq!(info.file_count, 1);
    let manifest = backups.get(&info.id).unwrap();
    assert_eq!(
        manifest.scope,
        Some(vec![k("settings.not-yet"), k("settings.preferences")])
    );

    put(&storage, "settings.preferences", b"{}");
    put(&storage, "settings.not-yet", b"{}");
    put(&storage, "layout.default", b"{\"changed\":1}");
    let report = backups
        .restore(&info.id, &RestoreOptions::default())
        .unwrap();
    assert_eq!((report.written, report.deleted), (1, 1));
    let mut expected = sample_state();
    expected.insert("layout.default".into(), b"{\"changed\":1}".to_vec());
    assert_eq!(
        state(&storage),
        expected,
        "keys outside the scope are left alone"
    );
    // The pre-restore snapshot has the same scope, so it undoes exactly this restore.
    let pre = report.pre_restore.unwrap();
    assert_eq!(backups.get(&pre.id).unwrap().scope, manifest.scope);
}

#[test]
fn an_empty_store_has_an_empty_snapshot() {
    let (_dir, storage) = store();
    let info = snapshot(&storage, None);
    assert_eq!((info.file_count, info.size), (0, 0));
    assert!(Backups::new(&storage).verify(&info.id).unwrap().is_ok());
}

#[test]
fn a_reader_can_list_and_verify_but_not_change() {
    let (dir, storage) = store();
    fill(&storage, &sample_state());
    let info = snapshot(&storage, None);
    let reader = Storage::open_with(dir.path(), OpenOptions::new().read_only(true)).unwrap();
    let backups = Backups::new(&reader);
    assert_eq!(backups.list().unwrap().len(), 1);
    assert!(backups.verify(&info.id).unwrap().is_ok());
    let mut out = Vec::new();
    backups
        .export(&info.id, &mut out, &Default::default())
        .unwrap();
    assert!(matches!(
        backups.create(&CreateOptions::default()),
        Err(Error::NotWriter)
    ));
    assert!(matches!(
        backups.restore(&info.id, &RestoreOptions::default()),
        Err(Error::NotWriter)
    ));
    assert!(matches!(backups.delete(&info.id), Err(Error::NotWriter)));
    assert!(matches!(backups.gc(), Err(Error::NotWriter)));
    drop(storage);
}

#[test]
fn damaged_and_missing_objects_are_reported_by_verify() {
    let (dir, storage) = store();
    fill(&storage, &sample_state());
    let info = snapshot(&storage, None);
    let backups = Backups::new(&storage);
    let prefs = ContentHash::of(b"{\"theme\":\"dark\"}").to_hex();
    let layout = ContentHash::of(b"{\"version\":\"1.0.0\",\"layout\":{}}").to_hex();
    let object = |hex: &str| dir.path().join("backups/objects").join(&hex[..2]).join(hex);
    flip_byte(&object(&prefs), 3);
    std::fs::remove_file(object(&layout)).unwrap();
    // No live file holds either content any more, so verify cannot heal them.
    put(&storage, "settings.preferences", b"{\"theme\":\"light\"}");
    put(&storage, "layout.default", b"{}");

    let report = backups.verify(&info.id).unwrap();
    assert!(!report.is_ok());
    let problems: Vec<(&str, &Found)> = report
        .problems
        .iter()
        .map(|p| (p.key.as_str(), &p.found))
        .collect();
    assert_eq!(problems.len(), 2);
    assert_eq!(problems[0], ("layout.default", &Found::Missing));
    assert_eq!(problems[1].0, "settings.preferences");
    assert!(matches!(problems[1].1, Found::Different { size: 16, .. }));
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["problems"][0]["key"], "layout.default");
    assert_eq!(json["problems"][0]["found"], "missing");
}

#[test]
fn a_damaged_manifest_is_reported_never_used() {
    let (dir, storage) = store();
    fill(&storage, &sample_state());
    let info = snapshot(&storage, None);
    let good = snapshot(&storage, Some("good"));
    flip_byte(&manifest_file(dir.path(), &info), 200);
    let backups = Backups::new(&storage);
    assert!(matches!(
        backups.verify(&info.id),
        Err(Error::Damaged { .. })
    ));
    assert!(matches!(backups.get(&info.id), Err(Error::Damaged { .. })));
    set_state(&storage, &changed_state());
    assert!(matches!(
        backups.restore(&info.id, &RestoreOptions::default()),
        Err(Error::Damaged { .. })
    ));
    assert_eq!(state(&storage), changed_state());
    let listed = backups.list().unwrap();
    let damaged = listed.iter().find(|b| b.id == info.id).unwrap();
    assert!(
        damaged.damaged.as_deref().unwrap().contains("damaged"),
        "{damaged:?}"
    );
    assert_eq!(
        damaged.timestamp, info.timestamp,
        "the time comes from the id"
    );
    assert!(
        listed
            .iter()
            .find(|b| b.id == good.id)
            .unwrap()
            .damaged
            .is_none()
    );
    // A manifest copied under another id names its real id: refused, not used.
    let copy = dir
        .path()
        .join("backups/manual/20200101T000000000Z-000000.manifest.json");
    std::fs::copy(manifest_file(dir.path(), &good), &copy).unwrap();
    let copied = BackupId::parse("20200101T000000000Z-000000").unwrap();
    match backups.get(&copied) {
        Err(Error::Damaged { detail, .. }) => assert!(detail.contains("says it is backup")),
        other => panic!("{other:?}"),
    }
    // Deleting a damaged backup works.
    backups.delete(&info.id).unwrap();
    backups.delete(&copied).unwrap();
    assert!(matches!(backups.get(&info.id), Err(Error::NotFound { .. })));
}

#[test]
fn unknown_ids_are_not_found_and_names_that_are_not_ids_are_ignored() {
    let (dir, storage) = store();
    let backups = Backups::new(&storage);
    let id = BackupId::parse("20250101T000000000Z-abcdef").unwrap();
    assert!(matches!(backups.get(&id), Err(Error::NotFound { .. })));
    assert!(matches!(backups.verify(&id), Err(Error::NotFound { .. })));
    assert!(matches!(backups.delete(&id), Err(Error::NotFound { .. })));
    snapshot(&storage, None);
    std::fs::write(
        dir.path().join("backups/manual/.hidden.manifest.json"),
        b"{}",
    )
    .unwrap();
    std::fs::write(dir.path().join("backups/manual/notes.txt"), b"hello").unwrap();
    std::fs::create_dir_all(dir.path().join("backups/auto")).unwrap();
    std::fs::write(dir.path().join("backups/auto/legacy-looking.json"), b"{}").unwrap();
    assert_eq!(backups.list().unwrap().len(), 1);
}

#[test]
fn progress_is_reported_per_file() {
    let (_dir, storage) = store();
    fill(&storage, &sample_state());
    let seen = std::sync::Mutex::new(Vec::new());
    let progress = |p: statevault_backup::Progress| seen.lock().unwrap().push((p.done, p.total));
    Backups::new(&storage)
        .create(&CreateOptions {
            progress: Some(&progress),
            ..CreateOptions::default()
        })
        .unwrap();
    assert_eq!(
        *seen.lock().unwrap(),
        (1..=5).map(|i| (i, 5)).collect::<Vec<_>>()
    );
}

#[test]
fn snapshots_from_two_threads_are_serialised() {
    let (_dir, storage) = store();
    fill(&storage, &sample_state());
    let storage = Arc::new(storage);
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let storage = storage.clone();
            std::thread::spawn(move || snapshot(&storage, None).id)
        })
        .collect();
    let ids: Vec<BackupId> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    let backups = Backups::new(&storage);
    assert_eq!(backups.list().unwrap().len(), 4);
    for id in ids {
        assert!(backups.verify(&id).unwrap().is_ok());
    }
    storage
        .write(&k("settings.x"), b"1", Durability::Full)
        .unwrap();
}

/// Damages every non-empty object of the store (one bit each, in place).
fn damage_objects(root: &std::path::Path) {
    for object in objects(root) {
        if std::fs::metadata(&object).unwrap().len() > 0 {
            flip_byte(&object, 3);
        }
    }
}

/// Whether every object `id` names holds what its name says (read directly, healing nothing).
fn intact(
    storage: &statevault_core::Storage,
    root: &std::path::Path,
    id: &statevault_backup::BackupId,
) -> bool {
    Backups::new(storage)
        .get(id)
        .unwrap()
        .entries
        .iter()
        .all(|e| {
            let hex = e.hash.to_hex();
            let bytes =
                std::fs::read(root.join("backups/objects").join(&hex[..2]).join(&hex)).unwrap();
            blake3::hash(&bytes).to_hex().as_str() == hex
        })
}

#[test]
fn a_new_snapshot_never_references_a_damaged_object() {
    let (dir, storage) = store();
    fill(&storage, &sample_state());
    snapshot(&storage, None);
    damage_objects(dir.path());
    // The index says every file is unchanged; the objects it names are damaged.
    let second = snapshot(&storage, None);
    assert!(
        intact(&storage, dir.path(), &second.id),
        "the objects were written again"
    );
    // Without the index too.
    damage_objects(dir.path());
    std::fs::remove_file(dir.path().join("backups/index.json")).unwrap();
    let third = snapshot(&storage, None);
    assert!(intact(&storage, dir.path(), &third.id));
    let backups = Backups::new(&storage);
    backups
        .restore(&second.id, &statevault_backup::RestoreOptions::default())
        .unwrap();
    assert_eq!(state(&storage), sample_state());
}

#[test]
fn verify_heals_a_damaged_object_from_a_live_file_with_the_same_hash() {
    let (dir, storage) = store();
    fill(&storage, &sample_state());
    let info = snapshot(&storage, None);
    let backups = Backups::new(&storage);
    let prefs = k("settings.preferences");
    let entry = backups
        .get(&info.id)
        .unwrap()
        .entries
        .into_iter()
        .find(|e| e.key == prefs)
        .unwrap();
    let hex = entry.hash.to_hex();
    let object = dir
        .path()
        .join("backups/objects")
        .join(&hex[..2])
        .join(&hex);

    // From the key's own live file.
    flip_byte(&object, 3);
    let report = backups.verify(&info.id).unwrap();
    assert!(report.is_ok(), "{report:?}");
    assert_eq!(report.healed.len(), 1, "{report:?}");
    assert_eq!(
        (&report.healed[0].key, &report.healed[0].from),
        (&prefs, &prefs)
    );
    assert!(
        backups.verify(&info.id).unwrap().healed.is_empty(),
        "healed for good"
    );

    // From another key holding the same bytes.
    let old = sample_state()["settings.preferences"].clone();
    put(&storage, "config.other", &old);
    put(&storage, "settings.preferences", b"{\"theme\":\"light\"}");
    flip_byte(&object, 3);
    let report = backups.verify(&info.id).unwrap();
    assert!(report.is_ok(), "{report:?}");
    assert_eq!(report.healed[0].from, k("config.other"));

    // No intact source: reported, not healed; a read-only handle never heals.
    put(&storage, "config.other", b"[]");
    std::fs::remove_file(&object).unwrap();
    let report = backups.verify(&info.id).unwrap();
    assert!(report.healed.is_empty());
    assert_eq!(report.problems.len(), 1);
    assert_eq!(report.problems[0].found, statevault_backup::Found::Missing);
}
