//! Unit tests of the store handle: metrics, size accounting, batches, downgrade protection.

use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use serde_json::json;

use crate::metric;
use crate::{Error, Store, StoreOptions};

/// A store with the module specification's documents, as its application opens one.
fn spec_store(dir: &std::path::Path) -> Store {
    Store::open_with(dir, StoreOptions::new().with_builtin_documents()).unwrap()
}

#[test]
fn metrics_carry_the_dashboard_names_and_values() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let dir = tempfile::tempdir().unwrap();
    metrics::with_local_recorder(&recorder, || {
        let store = Store::open_with(dir.path(), StoreOptions::new().quota_bytes(400)).unwrap();
        store.save("plugins.a", &json!({"x": "y"})).unwrap();
        store.save("plugins.b", &json!({"x": "z"})).unwrap();
        let _: Option<serde_json::Value> = store.load("plugins.a").unwrap();
        let big = "x".repeat(500);
        assert!(matches!(
            store.save("plugins.c", &json!({ "big": big })),
            Err(Error::QuotaExceeded { .. })
        ));
        assert!(!store.exists("plugins.c").unwrap(), "nothing written");
        // The files hold the saves once checkpointed; damage one of them.
        store.checkpoint().unwrap();
        let path = store.path_of("plugins.a").unwrap();
        let mut bytes = std::fs::read(&path).unwrap();
        let at = bytes.len() - 3;
        bytes[at] ^= 0x01;
        std::fs::write(&path, &bytes).unwrap();
        assert!(matches!(
            store.load::<serde_json::Value>("plugins.a"),
            Err(Error::Corrupt { .. })
        ));
        let expected: u64 = ["plugins.a", "plugins.b"]
            .iter()
            .map(|k| std::fs::metadata(store.path_of(k).unwrap()).unwrap().len())
            .sum();
        assert_eq!(store.size_bytes(), expected);
    });
    let snapshot = snapshotter.snapshot().into_hashmap();
    let find = |name: &str| {
        snapshot
            .iter()
            .find(|(key, _)| key.key().name() == name)
            .map(|(_, (_, _, value))| value)
            .unwrap_or_else(|| panic!("metric {name} was not recorded"))
    };
    match find(metric::SAVE_DURATION_MS) {
        DebugValue::Histogram(values) => assert_eq!(values.len(), 3, "three saves timed"),
        other => panic!("{other:?}"),
    }
    match find(metric::LOAD_DURATION_MS) {
        DebugValue::Histogram(values) => assert_eq!(values.len(), 2),
        other => panic!("{other:?}"),
    }
    match find(metric::STORAGE_SIZE_BYTES) {
        DebugValue::Gauge(value) => {
            let value = *value;
            let files: u64 = ["plugins/a.json", "plugins/b.json"]
                .iter()
                .map(|p| std::fs::metadata(dir.path().join(p)).unwrap().len())
                .sum();
            assert_eq!(value.into_inner(), files as f64);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        find(metric::QUOTA_EXCEEDED),
        &DebugValue::Counter(1),
        "one refused save"
    );
    assert_eq!(find(metric::CORRUPTION_DETECTED), &DebugValue::Counter(1));
}

#[test]
fn the_size_is_scanned_once_at_open_and_kept_by_deletes() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = Store::open(dir.path()).unwrap();
        store.save("plugins.a", &json!([1, 2, 3])).unwrap();
        store.save("plugins.b", &json!([4])).unwrap();
    }
    let store = Store::open(dir.path()).unwrap();
    let b = std::fs::metadata(dir.path().join("plugins/b.json"))
        .unwrap()
        .len();
    let a = std::fs::metadata(dir.path().join("plugins/a.json"))
        .unwrap()
        .len();
    assert_eq!(store.size_bytes(), a + b);
    store.delete("plugins.a").unwrap();
    assert_eq!(store.size_bytes(), b);
}

/// Needs the validator (the `schema` feature).
#[cfg(feature = "schema")]
#[test]
fn a_batch_is_applied_whole_and_an_invalid_value_rejects_all_of_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = spec_store(dir.path());
    store.save("plugins.old", &json!(1)).unwrap();
    let mut batch = crate::Batch::new();
    batch.save("plugins.a", &json!({"a": 1})).unwrap();
    batch.save("plugins.b", &json!([2])).unwrap();
    batch.delete("plugins.old").unwrap();
    store.save_batch(batch).unwrap();
    let loaded = store
        .load_batch::<serde_json::Value>(&["plugins.a", "plugins.b", "plugins.old"])
        .unwrap();
    assert_eq!(loaded.len(), 2, "a missing key is absent from the map");
    assert_eq!(loaded[&"plugins.a".parse().unwrap()], json!({"a": 1}));

    let mut bad = crate::Batch::new();
    bad.save("plugins.c", &json!("c")).unwrap();
    bad.save("settings.preferences", &json!({"theme": "neon"}))
        .unwrap();
    assert!(matches!(
        store.save_batch(bad),
        Err(Error::Validation { .. })
    ));
    assert!(
        !store.exists("plugins.c").unwrap(),
        "nothing of the batch was written"
    );
    let report = store.verify_audit().unwrap();
    let ops: Vec<&str> = report.entries.iter().map(|e| e.op.as_str()).collect();
    assert_eq!(ops, ["save", "batch"]);
    assert_eq!(
        report.entries[1].subjects(),
        ["plugins.a", "plugins.b", "plugins.old"]
    );
}

/// `settings.preferences` as a program two major versions ahead wrote it, in the plain format.
fn preferences_of_version_2() -> Vec<u8> {
    statevault_codec::encode(
        br#"{"version":"2.0.0","whatever":"a future field"}"#,
        &statevault_codec::Meta {
            schema_version: "2.0.0".to_owned(),
            saved_at_ms: 1,
        },
        &statevault_codec::EncodeOptions::default(),
        &statevault_codec::Context {
            store_id: "",
            key_name: "settings.preferences",
        },
        None,
    )
    .expect("a plain file encodes")
}

#[test]
fn a_document_written_by_a_newer_program_is_not_overwritten_unless_forced() {
    let dir = tempfile::tempdir().unwrap();
    let newer = preferences_of_version_2();
    let path = dir.path().join("settings/preferences.json");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, &newer).unwrap();
    let store = spec_store(dir.path());
    let prefs = crate::schema::UserPreferencesState::default();
    assert!(matches!(
        store.save("settings.preferences", &prefs),
        Err(Error::NewerVersion { .. })
    ));
    assert!(matches!(
        store.load::<crate::schema::UserPreferencesState>("settings.preferences"),
        Err(Error::NewerVersion { .. })
    ));
    assert_eq!(std::fs::read(&path).unwrap(), newer, "untouched");
    drop(store);
    let forced = Store::open_with(dir.path(), StoreOptions::new().overwrite_newer(true)).unwrap();
    forced.save("settings.preferences", &prefs).unwrap();
    assert_eq!(
        forced
            .load::<crate::schema::UserPreferencesState>("settings.preferences")
            .unwrap(),
        Some(prefs)
    );
}

#[test]
fn the_save_path_decides_newer_as_the_load_path_does_for_every_format() {
    let plain = preferences_of_version_2();
    // The plain format laid out by a person (the data's bytes, which the checksum covers,
    // unchanged), and the legacy service's format, which has no header to peek at.
    let by_hand = String::from_utf8(plain)
        .unwrap()
        .replacen("{\"statevault\":", "{\n  \"statevault\": ", 1)
        .into_bytes();
    let legacy = br#"{"version":"2.0.0","timestamp":1764000000000,"data":{"version":"2.0.0","whatever":"x"}}"#;
    for (name, file) in [("by hand", by_hand), ("legacy", legacy.to_vec())] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("settings/preferences.json");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &file).unwrap();
        let store = spec_store(dir.path());
        let load = store.load::<crate::schema::UserPreferencesState>("settings.preferences");
        assert!(
            matches!(load, Err(Error::NewerVersion { .. })),
            "{name}: load {load:?}"
        );
        let prefs = crate::schema::UserPreferencesState::default();
        let save = store.save("settings.preferences", &prefs);
        assert!(
            matches!(save, Err(Error::NewerVersion { .. })),
            "{name}: save {save:?}"
        );
        let json = store.save_json(
            "settings.preferences",
            &serde_json::to_vec(&prefs).unwrap(),
            &Default::default(),
        );
        assert!(
            matches!(json, Err(Error::NewerVersion { .. })),
            "{name}: {json:?}"
        );
        let mut batch = crate::Batch::new();
        batch.save("settings.preferences", &prefs).unwrap();
        let batch = store.save_batch(batch);
        assert!(
            matches!(batch, Err(Error::NewerVersion { .. })),
            "{name}: {batch:?}"
        );
        assert_eq!(std::fs::read(&path).unwrap(), file, "{name}: untouched");
    }
}

/// An application's own document, registered by type.
#[cfg(feature = "schema")]
#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
struct Note {
    version: String,
    #[schemars(length(min = 1))]
    title: String,
}

#[cfg(feature = "schema")]
impl statevault_schema::Document for Note {
    const NAME: &'static str = "Note";
    const VERSION: &'static str = "1.0.0";
}

/// Needs the validator (the `schema` feature).
#[cfg(feature = "schema")]
#[test]
fn an_application_registers_its_own_document_type() {
    let dir = tempfile::tempdir().unwrap();
    let options = StoreOptions::new().register::<Note>("notes.*").unwrap();
    let store = Store::open_with(dir.path(), options).unwrap();
    let note = Note {
        version: "1.0.0".into(),
        title: "groceries".into(),
    };
    store.save("notes.today", &note).unwrap();
    assert_eq!(store.load::<Note>("notes.today").unwrap(), Some(note));
    let empty = Note {
        version: "1.0.0".into(),
        title: String::new(),
    };
    match store.save("notes.today", &empty) {
        Err(Error::Validation { source, .. }) => {
            assert_eq!(source.violations[0].pointer, "/title");
        }
        other => panic!("{other:?}"),
    }
    // An untyped save of the same key is validated too.
    assert!(matches!(
        store.save("notes.other", &json!({"version": "1.0.0"})),
        Err(Error::Validation { .. })
    ));
    assert!(matches!(
        StoreOptions::new()
            .with_builtin_documents()
            .register::<Note>("layout.*"),
        Err(Error::Schema(_))
    ));
}
