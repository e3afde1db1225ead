//! Full backups written by the earlier TypeScript service.

use serde_json::{Value, json};
use statevault_backup::{BackupId, BackupKind, Backups, BoxError, Error, RestoreOptions};
use statevault_core::Key;

use super::support::*;

fn legacy_file(timestamp: u64, data: Value) -> Vec<u8> {
    // What `JSON.stringify(backup, null, 2)` wrote.
    serde_json::to_vec_pretty(&json!({
        "version": "1.0.0",
        "timestamp": timestamp,
        "type": "full",
        "data": data,
    }))
    .unwrap()
}

fn encode(_key: &Key, value: &Value) -> Result<Vec<u8>, BoxError> {
    Ok(serde_json::to_vec(value)?)
}

#[test]
fn legacy_backups_are_listed_and_readable() {
    let (dir, storage) = store();
    let manual = dir.path().join("backups/manual");
    std::fs::create_dir_all(&manual).unwrap();
    let data = json!({
        "settings.preferences": {"theme": "dark"},
        "layout.default": {"version": "1.0.0", "layout": {}},
    });
    std::fs::write(
        manual.join("backup_1759741200000.json"),
        legacy_file(1_759_741_200_000, data),
    )
    .unwrap();
    std::fs::write(
        manual.join("before update.json"),
        legacy_file(1_759_000_000_000, json!({})),
    )
    .unwrap();
    std::fs::write(manual.join("broken.json"), b"{\"version\":").unwrap();
    std::fs::write(manual.join("..json"), legacy_file(1, json!({}))).unwrap();

    let backups = Backups::new(&storage);
    let listed = backups.list().unwrap();
    let ids: Vec<&str> = listed.iter().map(|b| b.id.as_str()).collect();
    assert_eq!(ids, ["backup_1759741200000", "before update", "broken"]);
    let first = &listed[0];
    assert_eq!(first.kind, BackupKind::Legacy);
    assert_eq!(first.timestamp, 1_759_741_200_000);
    assert_eq!(first.file_count, 2);
    assert!(first.damaged.is_none());
    assert!(listed[2].damaged.is_some());
    assert_eq!(listed[2].kind, BackupKind::Legacy);

    let id = BackupId::parse("backup_1759741200000").unwrap();
    let values = backups.read_legacy(&id).unwrap();
    assert_eq!(
        values,
        vec![
            (
                k("layout.default"),
                json!({"version": "1.0.0", "layout": {}})
            ),
            (k("settings.preferences"), json!({"theme": "dark"})),
        ]
    );
    let report = backups.verify(&id).unwrap();
    assert_eq!((report.kind, report.files), (BackupKind::Legacy, 2));
    assert!(matches!(
        backups.verify(&BackupId::parse("broken").unwrap()),
        Err(Error::Damaged { .. })
    ));
    assert!(matches!(
        backups.restore(&id, &RestoreOptions::default()),
        Err(Error::LegacyNeedsEncoding { .. })
    ));
    assert!(matches!(
        backups.get(&id),
        Err(Error::LegacyNeedsEncoding { .. })
    ));
}

#[test]
fn a_legacy_backup_is_imported_then_restored() {
    let (dir, storage) = store();
    let manual = dir.path().join("backups/manual");
    std::fs::create_dir_all(&manual).unwrap();
    let data = json!({
        "settings.preferences": {"theme": "dark"},
        "history.conversations.ab12": {"conversations": []},
    });
    std::fs::write(
        manual.join("backup_1759741200000.json"),
        legacy_file(1_759_741_200_000, data),
    )
    .unwrap();
    put(&storage, "settings.preferences", b"{\"theme\":\"light\"}");
    put(&storage, "config.app", b"{}");

    let backups = Backups::new(&storage);
    let id = BackupId::parse("backup_1759741200000").unwrap();
    let info = backups.import_legacy(&id, &encode, &classify).unwrap();
    assert_eq!(info.kind, BackupKind::Manual);
    assert_eq!(info.name.as_deref(), Some("backup_1759741200000"));
    assert_eq!(info.file_count, 2);
    backups
        .restore(&info.id, &RestoreOptions::default())
        .unwrap();
    let expected: State = [
        (
            "history.conversations.ab12",
            b"{\"conversations\":[]}".to_vec(),
        ),
        ("settings.preferences", b"{\"theme\":\"dark\"}".to_vec()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    assert_eq!(state(&storage), expected);
    // The legacy file stays, and can be deleted by id.
    assert_eq!(backups.list().unwrap().len(), 3);
    backups.delete(&id).unwrap();
    assert!(!manual.join("backup_1759741200000.json").exists());
}

#[test]
fn an_encoder_failure_writes_nothing() {
    let (dir, storage) = store();
    let manual = dir.path().join("backups/manual");
    std::fs::create_dir_all(&manual).unwrap();
    std::fs::write(
        manual.join("old.json"),
        legacy_file(1, json!({"settings.a": 1, "settings.b": 2})),
    )
    .unwrap();
    let failing = |key: &Key, value: &Value| -> Result<Vec<u8>, BoxError> {
        if key.as_str() == "settings.b" {
            Err("no schema for this value".into())
        } else {
            encode(key, value)
        }
    };
    let backups = Backups::new(&storage);
    match backups.import_legacy(&BackupId::parse("old").unwrap(), &failing, &classify) {
        Err(Error::Transform { key, source }) => {
            assert_eq!(key, "settings.b");
            assert_eq!(source.to_string(), "no schema for this value");
        }
        other => panic!("{other:?}"),
    }
    assert!(objects(dir.path()).is_empty());
    assert_eq!(backups.list().unwrap().len(), 1);
}
