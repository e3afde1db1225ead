//! Backups through the store: snapshot, change, restore; automatic snapshots before an
//! overwrite and a migration; archives between stores with encrypted keys.

use std::sync::Arc;

use serde_json::{Value, json};
use statevault::schema::{ConversationHistoryState, UserPreferencesState};
use statevault::{
    BackupKind, DataKey, KeyId, KeySet, SaveOptions, StaticKeyProvider, Store, StoreOptions,
    Zeroizing,
};

use super::common::{file_of, grid_layout, history, preferences};

fn keys(byte: u8) -> KeySet {
    KeySet::single(DataKey::new(KeyId(1), Zeroizing::new([byte; 32])).unwrap())
}

fn encrypted_store(dir: &std::path::Path, byte: u8) -> Store {
    Store::open_with(
        dir,
        StoreOptions::new()
            .key_provider(Arc::new(StaticKeyProvider::new(keys(byte))))
            .policy(
                "history.*",
                SaveOptions {
                    encrypt: Some(true),
                    compress: Some(true),
                    backup: None,
                },
            ),
    )
    .unwrap()
}

fn snapshot_of_files(store: &Store) -> Vec<(String, Vec<u8>)> {
    store
        .keys("")
        .unwrap()
        .into_iter()
        .map(|k| {
            let bytes = std::fs::read(file_of(store, k.as_str())).unwrap();
            (k.to_string(), bytes)
        })
        .collect()
}

#[test]
fn backup_change_restore_gives_exactly_the_backed_up_state() {
    let dir = tempfile::tempdir().unwrap();
    let store = encrypted_store(dir.path(), 7);
    store.save("layout.default", &grid_layout()).unwrap();
    store.save("settings.preferences", &preferences()).unwrap();
    store.save("history.conversations", &history()).unwrap();
    let before = snapshot_of_files(&store);
    let backup = store
        .create_backup_with_progress(Some("before the experiment"), &|_, _| {})
        .unwrap();
    assert_eq!(backup.file_count, 3);
    assert!(backup.encrypted && backup.compressed);

    let mut changed = preferences();
    changed.language = "fr".into();
    store.save("settings.preferences", &changed).unwrap();
    store.delete("layout.default").unwrap();
    store.save("plugins.extra", &json!({"x": 1})).unwrap();

    let report = store.restore_backup(backup.id.as_str()).unwrap();
    assert!(
        report.pre_restore.is_some(),
        "the present state was snapshotted first"
    );
    assert_eq!(
        snapshot_of_files(&store),
        before,
        "keys and bytes as backed up"
    );
    let prefs: UserPreferencesState = store.load("settings.preferences").unwrap().unwrap();
    assert_eq!(prefs, preferences());
    let hist: ConversationHistoryState = store.load("history.conversations").unwrap().unwrap();
    assert_eq!(hist, history());
    let kinds: Vec<BackupKind> = store
        .list_backups()
        .unwrap()
        .iter()
        .map(|b| b.kind)
        .collect();
    assert!(kinds.contains(&BackupKind::Auto) && kinds.contains(&BackupKind::Manual));
    assert!(store.verify_backup(backup.id.as_str()).unwrap().is_ok());
}

#[test]
fn a_damaged_snapshot_is_refused_and_the_store_is_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    store.save("settings.preferences", &preferences()).unwrap();
    let backup = store.create_backup(None).unwrap();
    let mut changed = preferences();
    changed.language = "de".into();
    store.save("settings.preferences", &changed).unwrap();
    let live = snapshot_of_files(&store);
    // Damage every object of the snapshot.
    let objects = dir.path().join("backups/objects");
    for entry in walk(&objects) {
        let mut bytes = std::fs::read(&entry).unwrap();
        bytes[0] ^= 0x20;
        std::fs::write(&entry, bytes).unwrap();
    }
    assert!(!store.verify_backup(&backup).unwrap().is_ok());
    assert!(store.restore_backup(&backup).is_err());
    assert_eq!(
        snapshot_of_files(&store),
        live,
        "the live store is untouched"
    );
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

#[test]
fn save_with_backup_snapshots_the_old_value_first() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let backup = SaveOptions {
        backup: Some(true),
        ..SaveOptions::default()
    };
    store.save_with("plugins.a", &json!(1), &backup).unwrap();
    assert!(
        store.list_backups().unwrap().is_empty(),
        "nothing to back up yet"
    );
    store.save_with("plugins.a", &json!(2), &backup).unwrap();
    let backups = store.list_backups().unwrap();
    assert_eq!(backups.len(), 1);
    assert_eq!(backups[0].kind, BackupKind::Auto);
    assert_eq!(backups[0].file_count, 1);
    store.restore_backup(backups[0].id.as_str()).unwrap();
    assert_eq!(
        store.load::<serde_json::Value>("plugins.a").unwrap(),
        Some(json!(1))
    );
}

#[test]
fn an_archive_moves_encrypted_keys_to_another_store_under_its_own_key() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let source = encrypted_store(a.path(), 1);
    source.save("history.conversations", &history()).unwrap();
    source.save("settings.preferences", &preferences()).unwrap();
    let backup = source.create_backup(Some("move")).unwrap();
    let archive_key = keys(9);

    let mut refused = Vec::new();
    assert!(
        source.export_backup(&backup, &mut refused, None).is_err(),
        "encrypted keys never leave without an archive key"
    );
    let mut archive = Vec::new();
    source
        .export_backup(&backup, &mut archive, Some(&archive_key))
        .unwrap();
    let plaintext = serde_json::to_vec(&history()).unwrap();
    assert!(
        super::common::shares_a_substring(&archive, &plaintext, 16).is_none(),
        "the archive is encrypted"
    );

    let target = encrypted_store(b.path(), 2);
    assert!(
        target.import_backup(&archive, Some(&keys(3))).is_err(),
        "wrong archive key"
    );
    let mut damaged = archive.clone();
    let at = damaged.len() / 2;
    damaged[at] ^= 1;
    assert!(target.import_backup(&damaged, Some(&archive_key)).is_err());
    assert!(target.list_backups().unwrap().is_empty(), "nothing written");

    let imported = target.import_backup(&archive, Some(&archive_key)).unwrap();
    target.restore_backup(imported.id.as_str()).unwrap();
    let hist: ConversationHistoryState = target.load("history.conversations").unwrap().unwrap();
    assert_eq!(hist, history());
    // Re-encrypted under the target store's key and id: its own key opens it, and the file is
    // still encrypted.
    let info = target.inspect("history.conversations").unwrap().unwrap();
    assert_eq!(info.format.name(), "compressed+encrypted");
}

#[test]
fn a_legacy_full_backup_is_listed_and_restorable() {
    let dir = tempfile::tempdir().unwrap();
    let manual = dir.path().join("backups/manual");
    std::fs::create_dir_all(&manual).unwrap();
    let prefs = serde_json::to_value(preferences()).unwrap();
    std::fs::write(
        manual.join("backup_1764126784000.json"),
        serde_json::to_vec_pretty(&json!({
            "version": "1.0.0",
            "timestamp": 1_764_126_784_000u64,
            "type": "full",
            "data": { "settings.preferences": prefs, "plugins.notes": {"n": 1} }
        }))
        .unwrap(),
    )
    .unwrap();
    let store = Store::open(dir.path()).unwrap();
    let listed = store.list_backups().unwrap();
    let legacy = listed
        .iter()
        .find(|b| b.kind == BackupKind::Legacy)
        .expect("the legacy backup is listed");
    store.restore_backup(legacy.id.as_str()).unwrap();
    let loaded: UserPreferencesState = store.load("settings.preferences").unwrap().unwrap();
    assert_eq!(loaded, preferences());
    assert_eq!(
        store.load::<serde_json::Value>("plugins.notes").unwrap(),
        Some(json!({"n": 1}))
    );
}

/// The earlier service also wrote `backups/auto/<key>_<ms>.json` (one key's old value) before an
/// overwrite with `backup: true`: listed as a legacy backup of that key, and restoring it changes
/// that key only.
#[test]
fn a_legacy_automatic_backup_is_listed_and_restores_its_one_key() {
    let dir = tempfile::tempdir().unwrap();
    let auto = dir.path().join("backups/auto");
    std::fs::create_dir_all(&auto).unwrap();
    let old = json!({"n": 1});
    std::fs::write(
        auto.join("plugins.notes_1764126784000.json"),
        serde_json::to_vec_pretty(&old).unwrap(),
    )
    .unwrap();
    // Not the service's naming: ignored.
    std::fs::write(auto.join("notes.json"), b"{}").unwrap();
    let store = Store::open(dir.path()).unwrap();
    store.save("plugins.notes", &json!({"n": 2})).unwrap();
    store.save("plugins.other", &json!("kept")).unwrap();

    let listed = store.list_backups().unwrap();
    assert_eq!(listed.len(), 1, "{listed:?}");
    let legacy = &listed[0];
    assert_eq!(legacy.id.as_str(), "plugins.notes_1764126784000");
    assert_eq!(legacy.kind, BackupKind::Legacy);
    assert_eq!(legacy.timestamp, 1_764_126_784_000);
    assert_eq!(legacy.file_count, 1);
    assert_eq!(legacy.damaged, None);
    assert_eq!(serde_json::to_value(legacy).unwrap()["name"], "");

    store.restore_backup(legacy.id.as_str()).unwrap();
    assert_eq!(
        store.load::<serde_json::Value>("plugins.notes").unwrap(),
        Some(old)
    );
    assert_eq!(
        store.load::<serde_json::Value>("plugins.other").unwrap(),
        Some(json!("kept")),
        "a backup of one key restores that key only"
    );
    assert!(
        auto.join("plugins.notes_1764126784000.json").is_file(),
        "the legacy file stays"
    );

    // A damaged one is listed as damaged, and restoring it is refused with the store untouched.
    std::fs::write(auto.join("plugins.notes_1764126790000.json"), b"{\"n\":").unwrap();
    let damaged = store
        .list_backups()
        .unwrap()
        .into_iter()
        .find(|b| b.id.as_str() == "plugins.notes_1764126790000")
        .expect("listed");
    assert!(damaged.damaged.is_some());
    assert!(store.restore_backup(damaged.id.as_str()).is_err());
    assert_eq!(
        store.load::<serde_json::Value>("plugins.notes").unwrap(),
        Some(json!({"n": 1}))
    );
}

#[test]
fn automatic_snapshots_are_kept_by_the_retention_policy() {
    let dir = tempfile::tempdir().unwrap();
    let policies = statevault::Policies {
        auto: statevault::Policy {
            keep_last: Some(3),
            ..statevault::Policy::default()
        },
        ..statevault::Policies::default()
    };
    let store =
        Store::open_with(dir.path(), StoreOptions::new().backup_policies(policies)).unwrap();
    let backup = SaveOptions {
        backup: Some(true),
        ..SaveOptions::default()
    };
    let manual = store.create_backup(Some("keep me")).unwrap();
    for i in 0..8 {
        store.save_with("plugins.a", &json!(i), &backup).unwrap();
    }
    let backups = store.list_backups().unwrap();
    let auto = backups
        .iter()
        .filter(|b| b.kind == BackupKind::Auto)
        .count();
    assert_eq!(auto, 3, "only the last three automatic snapshots are kept");
    assert!(
        backups.iter().any(|b| b.id.as_str() == manual),
        "manual snapshots are not pruned"
    );
    // The newest automatic snapshot holds the value before the last save.
    store.restore_backup(backups[0].id.as_str()).unwrap();
    assert_eq!(
        store.load::<serde_json::Value>("plugins.a").unwrap(),
        Some(json!(6))
    );
}

#[test]
fn a_batch_save_with_backup_snapshots_the_old_values_first() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    store.save("plugins.a", &json!(1)).unwrap();
    store.save("plugins.b", &json!(2)).unwrap();
    let backup = SaveOptions {
        backup: Some(true),
        ..SaveOptions::default()
    };
    let mut batch = statevault::Batch::new();
    batch.save_with("plugins.a", &json!(10), &backup).unwrap();
    batch.save_with("plugins.b", &json!(20), &backup).unwrap();
    batch.save_with("plugins.c", &json!(30), &backup).unwrap();
    store.save_batch(batch).unwrap();
    let backups = store.list_backups().unwrap();
    assert_eq!(backups.len(), 1, "one snapshot for the whole batch");
    assert_eq!(backups[0].file_count, 2, "only the keys that existed");
    store.restore_backup(backups[0].id.as_str()).unwrap();
    assert_eq!(
        store.load::<serde_json::Value>("plugins.a").unwrap(),
        Some(json!(1))
    );
    assert_eq!(
        store.load::<serde_json::Value>("plugins.b").unwrap(),
        Some(json!(2))
    );
}

#[test]
fn a_snapshot_taken_while_batches_are_still_in_the_journal_holds_their_values() {
    use statevault::Batch;
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let batch_of = |n: u64| {
        let mut batch = Batch::new();
        for key in ["plugins.a", "plugins.b"] {
            batch.save(key, &json!({ "n": n })).unwrap();
        }
        batch
    };
    store.save_batch(batch_of(1)).unwrap();
    let first = store
        .create_backup_with_progress(Some("one"), &|_, _| {})
        .unwrap();
    assert_eq!(first.file_count, 2);
    // Same lengths, new values, still pending: the snapshot's index must not take them for the
    // values it saw before.
    store.save_batch(batch_of(2)).unwrap();
    let second = store.create_backup(Some("two")).unwrap();
    store.save_batch(batch_of(3)).unwrap();
    store.restore_backup(first.id.as_str()).unwrap();
    let a: serde_json::Value = store.load("plugins.a").unwrap().unwrap();
    assert_eq!(a, json!({ "n": 1 }));
    store.restore_backup(&second).unwrap();
    let b: serde_json::Value = store.load("plugins.b").unwrap().unwrap();
    assert_eq!(b, json!({ "n": 2 }));
    let report = store.verify_backup(&second).unwrap();
    assert_eq!(report.files, 2);
    assert!(report.problems.is_empty(), "{:?}", report.problems);
}

#[test]
fn backup_import_inflates_no_more_than_the_stores_cap() {
    use statevault::layers::codec;
    let dir = tempfile::tempdir().unwrap();
    let cap = 1 << 20;
    let store = Store::open_with(dir.path(), StoreOptions::new().max_inflated_bytes(cap)).unwrap();
    // A gzip bomb in the archive's envelope, which needs no key when it is only compressed:
    // 16 MiB of zeros in about 16 KiB.
    let bomb = codec::encode(
        &vec![0u8; 16 << 20],
        &codec::Meta {
            schema_version: "1.0.0".to_owned(),
            saved_at_ms: 0,
        },
        &codec::EncodeOptions {
            compression: Some(codec::Compression::Best),
            encrypt: false,
        },
        &codec::Context {
            store_id: "statevault-archive",
            key_name: "statevault-archive",
        },
        None,
    )
    .unwrap();
    assert!(bomb.len() < 64 << 10, "{} bytes", bomb.len());
    for key in [None, Some(&keys(9))] {
        let err = store.import_backup(&bomb, key).unwrap_err();
        assert!(
            matches!(&err, statevault::Error::Codec(codec::Error::TooLarge { limit }) if *limit == cap),
            "refused at the cap, before the archive is parsed: {err:?}"
        );
        assert_eq!(err.kind(), statevault::ErrorKind::Corrupt);
    }
    assert!(store.list_backups().unwrap().is_empty(), "nothing written");
}

/// `createBackup` resolves to the backup's id, and `listBackups` gives the specification's
/// `BackupInfo`: `id`, `name`, `timestamp`, `size`, `compressed`, `encrypted`, with a backup made
/// without a name named `""`, never `null`.
#[test]
fn create_backup_returns_the_id_and_list_backups_has_the_specifications_shape() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    store.save("settings.preferences", &preferences()).unwrap();
    let named: String = store.create_backup(Some("nightly")).unwrap();
    let unnamed: String = store.create_backup(None).unwrap();
    assert_ne!(named, unnamed);

    let listed = serde_json::to_value(store.list_backups().unwrap()).unwrap();
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), 2);
    for backup in listed {
        for (field, is_type) in [
            ("id", Value::is_string as fn(&Value) -> bool),
            ("name", Value::is_string),
            ("timestamp", Value::is_u64),
            ("size", Value::is_u64),
            ("compressed", Value::is_boolean),
            ("encrypted", Value::is_boolean),
        ] {
            assert!(is_type(&backup[field]), "{field} in {backup}");
        }
    }
    let by_id = |id: &str| {
        listed
            .iter()
            .find(|b| b["id"] == id)
            .unwrap_or_else(|| panic!("{id} listed"))
    };
    assert_eq!(by_id(&named)["name"], "nightly");
    assert_eq!(
        by_id(&unnamed)["name"],
        "",
        "a missing name is empty, not null"
    );
    assert!(by_id(&named)["size"].as_u64().unwrap() > 0);

    // The id is what `restore_backup` takes.
    store.delete("settings.preferences").unwrap();
    store.restore_backup(&named).unwrap();
    assert_eq!(
        store
            .load::<UserPreferencesState>("settings.preferences")
            .unwrap(),
        Some(preferences())
    );
}
