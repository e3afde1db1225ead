//! Validation on the save path, the load path, and on demand.

use serde_json::{Value, json};
use statevault::schema::UserPreferencesState;
use statevault::{Error, KeyStatus, Registry, Store, StoreOptions};

use super::common::{file_of, grid_layout, preferences, spec_store};

fn pointers(err: &Error) -> Vec<String> {
    match err {
        Error::Validation { source, .. } => source
            .violations
            .iter()
            .map(|v| v.pointer.clone())
            .collect(),
        other => panic!("expected Error::Validation, got {other:?}"),
    }
}

fn prefs_with(pointer: &str, value: Value) -> Value {
    let mut prefs = serde_json::to_value(preferences()).unwrap();
    *prefs.pointer_mut(pointer).unwrap() = value;
    prefs
}

#[test]
fn an_invalid_preferences_value_is_refused_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let store = spec_store(dir.path());

    // A new key: nothing at all is written.
    let neon = prefs_with("/theme", json!("neon"));
    let err = store.save("settings.preferences", &neon).unwrap_err();
    assert_eq!(pointers(&err), ["/theme"]);
    assert!(err.to_string().contains("settings.preferences"), "{err}");
    assert!(err.to_string().contains("/theme"), "{err}");
    assert!(!store.exists("settings.preferences").unwrap());
    assert!(super::common::files_below(&dir.path().join("settings")).is_empty());

    // An existing key: the old value stays, byte for byte.
    store.save("settings.preferences", &preferences()).unwrap();
    let path = file_of(&store, "settings.preferences");
    let before = std::fs::read(&path).unwrap();
    let err = store.save("settings.preferences", &neon).unwrap_err();
    assert_eq!(pointers(&err), ["/theme"]);
    assert_eq!(std::fs::read(&path).unwrap(), before);
    assert_eq!(
        store
            .load::<UserPreferencesState>("settings.preferences")
            .unwrap(),
        Some(preferences())
    );
}

#[test]
fn every_violation_is_listed_with_its_pointer() {
    let dir = tempfile::tempdir().unwrap();
    let store = spec_store(dir.path());
    for (pointer, bad, expected) in [
        ("/theme", json!("neon"), vec!["/theme"]),
        ("/ui/gridDensity", json!("huge"), vec!["/ui/gridDensity"]),
        (
            "/privacy/telemetryEnabled",
            json!("yes"),
            vec!["/privacy/telemetryEnabled"],
        ),
        (
            "/keyBindings",
            json!({"save": 5}),
            vec!["/keyBindings/save"],
        ),
        ("/version", json!("one"), vec!["/version"]),
        ("/language", json!(""), vec!["/language"]),
    ] {
        let err = store
            .save("settings.preferences", &prefs_with(pointer, bad))
            .unwrap_err();
        assert_eq!(pointers(&err), expected, "{pointer}");
    }
    // Several at once: all of them, not just the first.
    let mut two = prefs_with("/theme", json!("neon"));
    two["ui"]["gridDensity"] = json!("huge");
    let mut found = pointers(&store.save("settings.preferences", &two).unwrap_err());
    found.sort();
    assert_eq!(found, ["/theme", "/ui/gridDensity"]);
    // An unknown field (the schemas deny them) and a missing one.
    let mut extra = serde_json::to_value(preferences()).unwrap();
    extra["fontSize"] = json!(14);
    assert!(!pointers(&store.save("settings.preferences", &extra).unwrap_err()).is_empty());
    let mut missing = serde_json::to_value(preferences()).unwrap();
    missing.as_object_mut().unwrap().remove("privacy");
    assert_eq!(
        pointers(&store.save("settings.preferences", &missing).unwrap_err()),
        [""]
    );
    // An invalid layout under any `layout.*` key.
    let mut layout = serde_json::to_value(grid_layout()).unwrap();
    layout["layout"]["chart-1"]["w"] = json!(0);
    assert_eq!(
        pointers(&store.save("layout.workspace-1", &layout).unwrap_err()),
        ["/layout/chart-1/w"]
    );
    assert!(store.keys("").unwrap().is_empty());
}

#[test]
fn an_unregistered_key_takes_any_json() {
    let dir = tempfile::tempdir().unwrap();
    let store = spec_store(dir.path());
    store
        .save("plugins.anything", &json!({"theme": "neon"}))
        .unwrap();
    assert_eq!(
        store.load::<Value>("plugins.anything").unwrap(),
        Some(json!({"theme": "neon"}))
    );
}

#[test]
fn validate_as_document_checks_a_value_against_a_named_document() {
    let dir = tempfile::tempdir().unwrap();
    let store = spec_store(dir.path());
    let good = serde_json::to_value(preferences()).unwrap();
    assert_eq!(
        store
            .validate_as_document(&good, "UserPreferencesState")
            .unwrap(),
        Ok(())
    );
    let bad = prefs_with("/theme", json!("neon"));
    let violations = store
        .validate_as_document(&bad, "UserPreferencesState")
        .unwrap()
        .unwrap_err();
    assert_eq!(violations.document, "UserPreferencesState");
    assert_eq!(
        violations
            .violations
            .iter()
            .map(|v| v.pointer.as_str())
            .collect::<Vec<_>>(),
        ["/theme"]
    );
    // A preferences value is not a layout.
    assert!(
        store
            .validate_as_document(&good, "GridLayoutState")
            .unwrap()
            .is_err()
    );
    assert!(matches!(
        store.validate_as_document(&good, "NoSuchDocument"),
        Err(Error::UnknownDocument { name }) if name == "NoSuchDocument"
    ));
    // Nothing was written by any of it.
    assert!(store.keys("").unwrap().is_empty());
}

#[test]
fn an_invalid_file_on_disk_fails_validation_on_load_and_stays() {
    let dir = tempfile::tempdir().unwrap();
    // Written through a store that validates nothing (an older or foreign writer).
    {
        let untyped =
            Store::open_with(dir.path(), StoreOptions::new().registry(Registry::empty())).unwrap();
        untyped
            .save("settings.preferences", &prefs_with("/theme", json!("neon")))
            .unwrap();
    }
    let store = spec_store(dir.path());
    let path = file_of(&store, "settings.preferences");
    let before = std::fs::read(&path).unwrap();
    let err = store
        .load::<UserPreferencesState>("settings.preferences")
        .unwrap_err();
    assert_eq!(pointers(&err), ["/theme"]);
    // Untyped loads of a registered key are validated too.
    assert_eq!(
        pointers(&store.load::<Value>("settings.preferences").unwrap_err()),
        ["/theme"]
    );
    assert!(matches!(
        store.verify().unwrap()[0].status,
        KeyStatus::Invalid { .. }
    ));
    assert_eq!(std::fs::read(&path).unwrap(), before);
}

/// Regression: `save` accepted a document whose own `version` field was not the current
/// version (the schema only asks for a semantic version), and the next `load` then refused the
/// file it had just written (`Migration`/`NoPath` for an older version, `NewerVersion` for a
/// newer one). What `save` accepts, `load` must return.
#[test]
fn a_value_save_accepts_always_loads_back() {
    let dir = tempfile::tempdir().unwrap();
    let store = spec_store(dir.path());
    for version in ["1.0.0", "0.9.0", "1.0.1", "2.0.0"] {
        let mut layout = grid_layout();
        layout.version = version.into();
        let key = format!("layout.v{}", version.replace('.', "-"));
        match store.save(&key, &layout) {
            Ok(()) => match store.load::<statevault::schema::GridLayoutState>(&key) {
                Ok(back) => assert_eq!(back.as_ref(), Some(&layout), "{version}"),
                Err(e) => panic!("saved with version {version}, then not loadable: {e}"),
            },
            Err(e) => assert!(
                !store.exists(&key).unwrap(),
                "{version}: refused ({e}) yet written"
            ),
        }
    }
}

/// An application that did not ask for the specification's documents keeps its own shapes under
/// the same key names: `settings.preferences` is its own JSON, not the Electron app's type.
#[test]
fn a_generic_store_holds_its_own_json_under_the_specifications_key_names() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let mine = json!({"volume": 11, "theme": "neon"});
    store.save("settings.preferences", &mine).unwrap();
    assert_eq!(
        store.load::<Value>("settings.preferences").unwrap(),
        Some(mine)
    );
    assert!(store.registry().lookup("settings.preferences").is_none());
    drop(store);
    // The same folder, opened as the specification's application opens it, holds it to the
    // built-in document.
    let spec = spec_store(dir.path());
    assert!(spec.load::<Value>("settings.preferences").is_err());
}

/// `validateData(data, schema)`: the schema is a JSON Schema given by the caller, not a name.
#[test]
fn validate_data_checks_a_value_against_a_json_schema() {
    let dir = tempfile::tempdir().unwrap();
    let store = spec_store(dir.path());
    let schema = json!({
        "type": "object",
        "properties": {"volume": {"type": "integer", "maximum": 10}},
        "required": ["volume"]
    });
    assert_eq!(
        store.validate_data(&json!({"volume": 7}), &schema).unwrap(),
        Ok(())
    );
    let violations = store
        .validate_data(&json!({"volume": 11}), &schema)
        .unwrap()
        .unwrap_err();
    assert_eq!(
        violations
            .violations
            .iter()
            .map(|v| v.pointer.as_str())
            .collect::<Vec<_>>(),
        ["/volume"]
    );
    // A built-in document's published schema works as well as its name.
    let prefs = serde_json::to_value(preferences()).unwrap();
    let published = store
        .registry()
        .get("UserPreferencesState")
        .unwrap()
        .schema()
        .clone();
    assert_eq!(store.validate_data(&prefs, &published).unwrap(), Ok(()));
    assert!(
        store
            .validate_data(&prefs_with("/theme", json!("neon")), &published)
            .unwrap()
            .is_err()
    );
    // A schema that does not compile is an error, not a verdict on the data.
    assert!(store.validate_data(&prefs, &json!({"type": 12})).is_err());
    assert!(store.keys("").unwrap().is_empty());
}
