//! Migrations through the store: an application's own document, its version graph, and what
//! happens to the file on disk.

use super::common::file_of;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use statevault::{
    DocumentInfo, Error, FileFormat, KeyStatus, Registry, Store, StoreOptions, Version,
};

/// The application's notes, at version 2.0.0. Version 1.0.0 was `{version, text}`; 1.1.0 added
/// `title` (the first line); 2.0.0 split the rest of `text` into `body` lines and added `pinned`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Notes {
    version: String,
    title: String,
    body: Vec<String>,
    pinned: bool,
}

fn notes_schema() -> Value {
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "Notes",
        "type": "object",
        "properties": {
            "version": {"type": "string"},
            "title": {"type": "string", "minLength": 1},
            "body": {"type": "array", "items": {"type": "string"}},
            "pinned": {"type": "boolean"}
        },
        "required": ["version", "title", "body", "pinned"],
        "additionalProperties": false
    })
}

fn v(text: &str) -> Version {
    Version::parse(text).unwrap()
}

/// How often each migration ran.
#[derive(Default)]
struct Calls {
    to_1_1: AtomicUsize,
    to_2_0: AtomicUsize,
    shortcut: AtomicUsize,
}

fn text_of(value: &Value) -> Result<&str, String> {
    value["text"]
        .as_str()
        .ok_or_else(|| "`text` must be a string".to_owned())
}

fn first_line(text: &str) -> String {
    text.lines().next().unwrap_or("untitled").to_owned()
}

fn rest(text: &str) -> Vec<Value> {
    text.lines().skip(1).map(|l| json!(l)).collect()
}

/// A store that knows `Notes` at 2.0.0 under `notes.*`, with its three migrations.
fn notes_options(calls: &Arc<Calls>) -> StoreOptions {
    let mut registry = Registry::builtin();
    registry
        .register_info(
            "notes.*",
            Arc::new(DocumentInfo::from_schema("Notes", "2.0.0", notes_schema()).unwrap()),
        )
        .unwrap();
    let (a, b, c) = (calls.clone(), calls.clone(), calls.clone());
    StoreOptions::new()
        .registry(registry)
        .migration(
            "Notes",
            v("1.0.0"),
            v("1.1.0"),
            "title from the first line",
            move |mut value: Value| {
                a.to_1_1.fetch_add(1, Ordering::SeqCst);
                let title = first_line(text_of(&value)?);
                value["title"] = json!(title);
                value["version"] = json!("1.1.0");
                Ok::<_, String>(value)
            },
        )
        .unwrap()
        .migration(
            "Notes",
            v("1.1.0"),
            v("2.0.0"),
            "body lines and pinned",
            move |value: Value| {
                b.to_2_0.fetch_add(1, Ordering::SeqCst);
                let body = rest(text_of(&value)?);
                Ok::<_, String>(json!({
                    "version": "2.0.0",
                    "title": value["title"],
                    "body": body,
                    "pinned": false,
                }))
            },
        )
        .unwrap()
        .migration(
            "Notes",
            v("1.0.0"),
            v("2.0.0"),
            "1.0.0 to 2.0.0 at once",
            move |value: Value| {
                c.shortcut.fetch_add(1, Ordering::SeqCst);
                let text = text_of(&value)?;
                Ok::<_, String>(json!({
                    "version": "2.0.0",
                    "title": first_line(text),
                    "body": rest(text),
                    "pinned": false,
                }))
            },
        )
        .unwrap()
}

/// Writes `data` under `key` through a store that does not know `Notes` (so it is stored as
/// untyped JSON, exactly as given).
fn write_unregistered(dir: &Path, key: &str, data: &Value) {
    let store = Store::open(dir).unwrap();
    store.save(key, data).unwrap();
}

fn file_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn expected_notes() -> Notes {
    Notes {
        version: "2.0.0".into(),
        title: "Groceries".into(),
        body: vec!["milk".into(), "bread".into()],
        pinned: false,
    }
}

#[test]
fn an_old_document_invalid_under_the_new_schema_is_migrated_then_validated_and_rewritten() {
    let dir = tempfile::tempdir().unwrap();
    let old = json!({"version": "1.0.0", "text": "Groceries\nmilk\nbread"});
    write_unregistered(dir.path(), "notes.daily", &old);
    let calls = Arc::new(Calls::default());
    let store = Store::open_with(dir.path(), notes_options(&calls)).unwrap();
    // Under the 2.0.0 schema the old data is invalid: validating before migrating would fail.
    assert!(store.validate_as_document(&old, "Notes").unwrap().is_err());
    assert!(matches!(
        store.verify().unwrap()[0].status,
        KeyStatus::NeedsMigration { ref stored, ref current } if stored == "1.0.0" && current == "2.0.0"
    ));

    // `verify` runs the migration to check the result, and writes nothing.
    assert_eq!(calls.shortcut.load(Ordering::SeqCst), 1);
    assert_eq!(
        file_json(&file_of(&store, "notes.daily"))["data"],
        old,
        "verify changes nothing"
    );

    assert_eq!(
        store.load::<Notes>("notes.daily").unwrap(),
        Some(expected_notes())
    );
    // The shortest path: the shortcut alone, not 1.0.0 → 1.1.0 → 2.0.0.
    assert_eq!(calls.shortcut.load(Ordering::SeqCst), 2);
    assert_eq!(calls.to_1_1.load(Ordering::SeqCst), 0);
    assert_eq!(calls.to_2_0.load(Ordering::SeqCst), 0);

    // Written back at 2.0.0, in the plain format.
    let file = file_json(&file_of(&store, "notes.daily"));
    assert_eq!(file["schema_version"], "2.0.0");
    assert_eq!(
        file["data"],
        serde_json::to_value(expected_notes()).unwrap()
    );
    drop(store);
    let store = Store::open_with(dir.path(), notes_options(&calls)).unwrap();
    assert_eq!(
        store.load::<Notes>("notes.daily").unwrap(),
        Some(expected_notes())
    );
    assert_eq!(
        calls.shortcut.load(Ordering::SeqCst),
        2,
        "no further migration"
    );
    assert_eq!(
        store.verify().unwrap()[0].status,
        KeyStatus::Ok {
            format: FileFormat::Plain
        }
    );
}

#[test]
fn a_middle_version_takes_the_remaining_step() {
    let dir = tempfile::tempdir().unwrap();
    write_unregistered(
        dir.path(),
        "notes.daily",
        &json!({"version": "1.1.0", "title": "Groceries", "text": "ignored first line\nmilk\nbread"}),
    );
    let calls = Arc::new(Calls::default());
    let store = Store::open_with(dir.path(), notes_options(&calls)).unwrap();
    assert_eq!(
        store.load::<Notes>("notes.daily").unwrap(),
        Some(expected_notes())
    );
    assert_eq!(calls.to_2_0.load(Ordering::SeqCst), 1);
    assert_eq!(calls.to_1_1.load(Ordering::SeqCst), 0);
    assert_eq!(calls.shortcut.load(Ordering::SeqCst), 0);
}

#[test]
fn a_hand_written_legacy_file_at_1_0_0_is_migrated_and_rewritten() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("notes")).unwrap();
    let legacy = "{\n  \"version\": \"1.0.0\",\n  \"timestamp\": 1732000000000,\n  \"data\": {\n    \
                  \"version\": \"1.0.0\",\n    \"text\": \"Groceries\\nmilk\\nbread\"\n  }\n}";
    std::fs::write(dir.path().join("notes/weekly.json"), legacy).unwrap();
    let calls = Arc::new(Calls::default());
    let store = Store::open_with(dir.path(), notes_options(&calls)).unwrap();
    assert_eq!(
        store.load::<Notes>("notes.weekly").unwrap(),
        Some(expected_notes())
    );
    store.checkpoint().unwrap();
    let bytes = std::fs::read(dir.path().join("notes/weekly.json")).unwrap();
    assert!(
        bytes.starts_with(b"{\"statevault\":1,"),
        "rewritten in the current format"
    );
    assert_eq!(
        file_json(&dir.path().join("notes/weekly.json"))["data"]["version"],
        "2.0.0"
    );
}

#[test]
fn an_encrypted_document_stays_encrypted_when_migrated() {
    let dir = tempfile::tempdir().unwrap();
    let key = || {
        Arc::new(statevault::StaticKeyProvider::from_bytes(
            statevault::Zeroizing::new([11; 32]),
        ))
    };
    {
        let store = Store::open_with(dir.path(), StoreOptions::new().key_provider(key())).unwrap();
        let options = statevault::SaveOptions {
            encrypt: Some(true),
            compress: Some(true),
            backup: None,
        };
        store
            .save_with(
                "notes.secret",
                &json!({"version": "1.0.0", "text": "Groceries\nmilk\nbread"}),
                &options,
            )
            .unwrap();
    }
    let calls = Arc::new(Calls::default());
    let store = Store::open_with(dir.path(), notes_options(&calls).key_provider(key())).unwrap();
    assert_eq!(
        store.load::<Notes>("notes.secret").unwrap(),
        Some(expected_notes())
    );
    let bytes = std::fs::read(file_of(&store, "notes.secret")).unwrap();
    assert!(matches!(
        statevault::layers::codec::inspect(&bytes).unwrap().format,
        statevault::layers::codec::Format::Envelope {
            encrypted: true,
            compressed: true,
            ..
        }
    ));
    drop(store);
    let store = Store::open_with(dir.path(), notes_options(&calls).key_provider(key())).unwrap();
    assert_eq!(
        store.load::<Notes>("notes.secret").unwrap(),
        Some(expected_notes())
    );
    assert_eq!(calls.shortcut.load(Ordering::SeqCst), 1);
}

#[test]
fn a_newer_document_is_refused_and_never_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    write_unregistered(
        dir.path(),
        "notes.future",
        &json!({"version": "3.0.0", "title": "from the future", "body": [], "pinned": true, "color": "red"}),
    );
    let calls = Arc::new(Calls::default());
    let store = Store::open_with(dir.path(), notes_options(&calls)).unwrap();
    let path = file_of(&store, "notes.future");
    let before = std::fs::read(&path).unwrap();
    match store.load::<Notes>("notes.future").unwrap_err() {
        Error::NewerVersion {
            key,
            stored,
            supported,
        } => {
            assert_eq!(key, "notes.future");
            assert_eq!(stored, "3.0.0");
            assert_eq!(supported, "2.0.0");
        }
        other => panic!("expected NewerVersion, got {other:?}"),
    }
    assert!(matches!(
        store.load::<Value>("notes.future"),
        Err(Error::NewerVersion { .. })
    ));
    assert!(matches!(
        store.verify().unwrap()[0].status,
        KeyStatus::Newer { ref stored } if stored == "3.0.0"
    ));
    assert_eq!(std::fs::read(&path).unwrap(), before);
}

#[test]
fn a_failing_step_names_itself_and_leaves_the_file_untouched() {
    let dir = tempfile::tempdir().unwrap();
    // `text` is not a string: the 1.0.0 → 2.0.0 step refuses it.
    write_unregistered(
        dir.path(),
        "notes.broken",
        &json!({"version": "1.0.0", "text": 42}),
    );
    let calls = Arc::new(Calls::default());
    let store = Store::open_with(dir.path(), notes_options(&calls)).unwrap();
    let path = file_of(&store, "notes.broken");
    let before = std::fs::read(&path).unwrap();
    let err = store.load::<Notes>("notes.broken").unwrap_err();
    match &err {
        Error::Migration { key, source } => {
            assert_eq!(key, "notes.broken");
            assert!(
                matches!(**source, statevault::layers::migrate::Error::Step { .. }),
                "{source:?}"
            );
        }
        other => panic!("expected Migration, got {other:?}"),
    }
    let message = err.to_string();
    assert!(
        message.contains("1.0.0 -> 2.0.0"),
        "names the step: {message}"
    );
    assert!(message.contains("`text` must be a string"), "{message}");
    assert_eq!(std::fs::read(&path).unwrap(), before);
    assert!(matches!(
        store.verify().unwrap()[0].status,
        KeyStatus::Invalid { .. }
    ));
    assert_eq!(std::fs::read(&path).unwrap(), before);
}

#[test]
fn a_version_with_no_path_is_a_migration_error() {
    let dir = tempfile::tempdir().unwrap();
    write_unregistered(
        dir.path(),
        "notes.ancient",
        &json!({"version": "0.9.0", "text": "x"}),
    );
    let calls = Arc::new(Calls::default());
    let store = Store::open_with(dir.path(), notes_options(&calls)).unwrap();
    let before = std::fs::read(file_of(&store, "notes.ancient")).unwrap();
    match store.load::<Notes>("notes.ancient") {
        Err(Error::Migration { source, .. }) => assert!(
            matches!(*source, statevault::layers::migrate::Error::NoPath { .. }),
            "{source:?}"
        ),
        other => panic!("expected a Migration error, got {other:?}"),
    }
    assert_eq!(
        std::fs::read(file_of(&store, "notes.ancient")).unwrap(),
        before
    );
}

#[test]
fn without_write_back_or_read_only_the_file_stays_old() {
    let dir = tempfile::tempdir().unwrap();
    write_unregistered(
        dir.path(),
        "notes.daily",
        &json!({"version": "1.0.0", "text": "Groceries\nmilk\nbread"}),
    );
    let path = dir.path().join("notes/daily.json");
    let before = std::fs::read(&path).unwrap();
    let calls = Arc::new(Calls::default());
    {
        let store = Store::open_with(
            dir.path(),
            notes_options(&calls).write_back_migrations(false),
        )
        .unwrap();
        assert_eq!(
            store.load::<Notes>("notes.daily").unwrap(),
            Some(expected_notes())
        );
    }
    assert_eq!(std::fs::read(&path).unwrap(), before);
    {
        let store = Store::open_with(dir.path(), notes_options(&calls).read_only(true)).unwrap();
        assert_eq!(
            store.load::<Notes>("notes.daily").unwrap(),
            Some(expected_notes())
        );
    }
    assert_eq!(std::fs::read(&path).unwrap(), before);
    assert_eq!(calls.shortcut.load(Ordering::SeqCst), 2);
}

/// A crash at any step of a migration's write-back (the automatic backup, the atomic write, the
/// audit line) leaves the original or the migrated document, never a mix; and loading again
/// after the failure is safe and completes the migration. SQLite's I/O-error method: fail
/// operation N for every N, once and for good.
#[test]
fn fault_sweep_over_a_migration_write_back() {
    use statevault::layers::storage::{FaultBackend, FaultError, FaultKind, FsBackend};

    let old = json!({"version": "1.0.0", "text": "Groceries\nmilk\nbread"});
    let mut points = 0;
    for kind in [FaultKind::Transient, FaultKind::Permanent] {
        for n in 0.. {
            let dir = tempfile::tempdir().unwrap();
            write_unregistered(dir.path(), "notes.daily", &old);
            let path = dir.path().join("notes/daily.json");
            let original = std::fs::read(&path).unwrap();
            let faults = FaultBackend::new(Arc::new(FsBackend));
            let calls = Arc::new(Calls::default());
            let store = Store::open_with(
                dir.path(),
                notes_options(&calls).backend(Arc::new(faults.clone())),
            )
            .unwrap();
            faults.fail_at(n, kind, FaultError::Io);
            let result = store.load::<Notes>("notes.daily");
            let injected = faults.injected() > 0;
            faults.heal();
            drop(store);
            if !injected {
                assert_eq!(result.unwrap(), Some(expected_notes()));
                points += n;
                break;
            }
            // Whatever happened, the file is one whole document: the original bytes, or the
            // migrated document at 2.0.0.
            let now = std::fs::read(&path).unwrap();
            if now != original {
                let data = &file_json(&path)["data"];
                assert_eq!(data["version"], "2.0.0", "n={n} {kind:?}: {data}");
            }
            // Re-running is safe: a healthy store loads the migrated value (and finishes the
            // write-back if it had not happened).
            let store = Store::open_with(dir.path(), notes_options(&calls)).unwrap();
            assert_eq!(
                store.load::<Notes>("notes.daily").unwrap(),
                Some(expected_notes()),
                "n={n} {kind:?}"
            );
            store.checkpoint().unwrap();
            assert_eq!(file_json(&path)["data"]["version"], "2.0.0");
        }
    }
    eprintln!("migration write-back fault sweep: {points} failure points, 0 violations");
}
