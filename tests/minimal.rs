//! The facade in every feature set: what it does without its optional layers, and what it
//! refuses (with `Error::FeatureDisabled`, changing nothing) when a layer is left out.
//!
//! CI runs this file with `--no-default-features`, with each feature alone and with all of
//! them (`cargo xtask ci`, "features"); `tests/all.rs` needs every feature.

use std::path::Path;
use std::sync::Arc;

use serde_json::{Value, json};
use statevault::{
    Batch, DocumentInfo, ErrorKind, Patch, Registry, SaveOptions, StaticKeyProvider, Store,
    StoreOptions, Version, Zeroizing,
};

fn notes_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "version": {"type": "string"},
            "title": {"type": "string", "minLength": 1},
        },
        "required": ["version", "title"],
    })
}

/// A store with one document of its own, `Notes` 2.0.0 under `notes.*`, whose 1.0.0 had `text`
/// where 2.0.0 has `title`; a static key, so no keychain is needed.
fn notes_store(dir: &Path) -> Store {
    let mut registry = Registry::empty();
    registry
        .register_info(
            "notes.*",
            Arc::new(DocumentInfo::from_schema("Notes", "2.0.0", notes_schema()).unwrap()),
        )
        .unwrap();
    let options = StoreOptions::new()
        .registry(registry)
        .key_provider(Arc::new(StaticKeyProvider::from_bytes(Zeroizing::new(
            [7; 32],
        ))))
        .migration(
            "Notes",
            Version::new(1, 0, 0),
            Version::new(2, 0, 0),
            "text becomes title",
            |mut doc: Value| -> Result<Value, String> {
                doc["title"] = doc["text"].take();
                doc.as_object_mut().unwrap().remove("text");
                doc["version"] = json!("2.0.0");
                Ok(doc)
            },
        );
    Store::open_with(dir, options.unwrap()).unwrap()
}

/// Save options that ask for one thing (a layer the build may leave out).
fn asking_for(set: fn(&mut SaveOptions)) -> SaveOptions {
    let mut options = SaveOptions::default();
    set(&mut options);
    options
}

#[test]
fn plain_json_is_saved_loaded_batched_and_patched() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    store
        .save("settings.window", &json!({"width": 800, "height": 600}))
        .unwrap();
    let mut batch = Batch::new();
    batch.save("settings.a", &json!({"n": 1})).unwrap();
    batch.save("settings.b", &json!({"n": 2})).unwrap();
    store.save_batch(batch).unwrap();
    store
        .patch(
            "settings.window",
            &serde_json::from_value::<Patch>(json!([
                {"op": "replace", "path": "/width", "value": 1024}
            ]))
            .unwrap(),
        )
        .unwrap();
    drop(store);

    let store = Store::open(dir.path()).unwrap();
    let window: Value = store.load("settings.window").unwrap().unwrap();
    assert_eq!(window, json!({"width": 1024, "height": 600}));
    let b: Value = store.load("settings.b").unwrap().unwrap();
    assert_eq!(b, json!({"n": 2}));
    store.delete("settings.a").unwrap();
    assert!(store.load::<Value>("settings.a").unwrap().is_none());
}

#[test]
fn an_older_document_is_migrated_on_load() {
    let dir = tempfile::tempdir().unwrap();
    {
        // Written by the program's previous version, which had no `Notes` document yet.
        let store = Store::open(dir.path()).unwrap();
        store
            .save("notes.a", &json!({"version": "1.0.0", "text": "groceries"}))
            .unwrap();
    }
    let store = notes_store(dir.path());
    let loaded: Value = store.load("notes.a").unwrap().unwrap();
    assert_eq!(loaded, json!({"version": "2.0.0", "title": "groceries"}));
    // And again, whether the first load wrote it back (with backups) or not (without).
    let again: Value = store.load("notes.a").unwrap().unwrap();
    assert_eq!(again, loaded);
    // `migrateData` of the specification, outside any key.
    let migrated = store
        .migrate_data(json!({"version": "1.0.0", "text": "x"}), "1.0.0", "2.0.0")
        .unwrap();
    assert_eq!(migrated["title"], "x");
}

#[cfg(not(feature = "encryption"))]
#[test]
fn without_encryption_an_encrypted_save_is_refused_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = notes_store(dir.path());
    let options = asking_for(|o| o.encrypt = Some(true));
    let error = store
        .save_with("secrets.token", &json!({"t": "s3cret"}), &options)
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::FeatureDisabled, "{error}");
    assert!(
        error.to_string().contains("`encryption` feature"),
        "{error}"
    );
    assert!(store.load::<Value>("secrets.token").unwrap().is_none());
    store.checkpoint().unwrap();
    assert!(!dir.path().join("secrets/token.json").exists());
}

#[cfg(feature = "encryption")]
#[test]
fn with_encryption_a_value_is_sealed_and_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let store = notes_store(dir.path());
    let options = asking_for(|o| o.encrypt = Some(true));
    store
        .save_with("secrets.token", &json!({"t": "s3cret"}), &options)
        .unwrap();
    store.checkpoint().unwrap();
    let bytes = std::fs::read(dir.path().join("secrets/token.json")).unwrap();
    assert!(!bytes.windows(6).any(|w| w == b"s3cret"));
    let back: Value = store.load("secrets.token").unwrap().unwrap();
    assert_eq!(back, json!({"t": "s3cret"}));
}

#[cfg(not(feature = "compression"))]
#[test]
fn without_compression_a_compressed_save_is_refused_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = notes_store(dir.path());
    let options = asking_for(|o| o.compress = Some(true));
    let error = store
        .save_with("history.big", &json!({"m": "x".repeat(4096)}), &options)
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::FeatureDisabled, "{error}");
    assert!(
        error.to_string().contains("`compression` feature"),
        "{error}"
    );
    assert!(store.load::<Value>("history.big").unwrap().is_none());
}

#[cfg(feature = "compression")]
#[test]
fn with_compression_a_value_is_compressed_and_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let store = notes_store(dir.path());
    let options = asking_for(|o| o.compress = Some(true));
    let value = json!({"m": "x".repeat(4096)});
    store.save_with("history.big", &value, &options).unwrap();
    store.checkpoint().unwrap();
    let size = std::fs::metadata(dir.path().join("history/big.json"))
        .unwrap()
        .len();
    assert!(size < 1024, "{size} bytes");
    let back: Value = store.load("history.big").unwrap().unwrap();
    assert_eq!(back, value);
}

#[cfg(not(feature = "backup"))]
#[test]
fn without_backups_a_save_that_asks_for_one_is_refused_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    store.save("settings.a", &json!({"n": 1})).unwrap();
    let options = asking_for(|o| o.backup = Some(true));
    let error = store
        .save_with("settings.a", &json!({"n": 2}), &options)
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::FeatureDisabled, "{error}");
    assert!(error.to_string().contains("`backup` feature"), "{error}");
    let kept: Value = store.load("settings.a").unwrap().unwrap();
    assert_eq!(kept, json!({"n": 1}));
    // A store-wide migration keeps the originals in a snapshot: refused too.
    drop(store);
    {
        let store = Store::open(dir.path()).unwrap();
        store
            .save("notes.a", &json!({"version": "1.0.0", "text": "t"}))
            .unwrap();
    }
    let store = notes_store(dir.path());
    let error = store.migrate_all(None, false).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::FeatureDisabled, "{error}");
    store.checkpoint().unwrap();
    let file = std::fs::read_to_string(dir.path().join("notes/a.json")).unwrap();
    assert!(file.contains("\"1.0.0\""), "{file}");
}

#[cfg(feature = "backup")]
#[test]
fn with_backups_a_save_that_asks_for_one_keeps_the_old_value() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    store.save("settings.a", &json!({"n": 1})).unwrap();
    let options = asking_for(|o| o.backup = Some(true));
    store
        .save_with("settings.a", &json!({"n": 2}), &options)
        .unwrap();
    assert_eq!(store.list_backups().unwrap().len(), 1);
}

#[cfg(not(feature = "schema"))]
#[test]
fn without_a_validator_documents_are_versioned_not_validated_and_validation_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = notes_store(dir.path());
    // An empty title breaks `minLength`; with no validator the save goes through, as the
    // crate docs and decision 0018 say.
    store
        .save("notes.b", &json!({"version": "2.0.0", "title": ""}))
        .unwrap();
    // The version is still checked: a document saved at another version would be read back
    // as one it never had.
    let error = store
        .save("notes.c", &json!({"version": "1.0.0", "title": "x"}))
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Validation, "{error}");
    assert_eq!(error.violations()[0].pointer, "/version");
    // Asking for validation is never answered "valid".
    let error = store
        .validate_data(&json!({"title": ""}), &notes_schema())
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::FeatureDisabled, "{error}");
    let report = store
        .patch(
            "notes.b",
            &serde_json::from_value::<Patch>(json!([
                {"op": "replace", "path": "/title", "value": "t"}
            ]))
            .unwrap(),
        )
        .unwrap();
    assert_eq!(report.validation, statevault::PatchValidation::NotValidated);
}

#[cfg(feature = "schema")]
#[test]
fn with_a_validator_an_invalid_document_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = notes_store(dir.path());
    let error = store
        .save("notes.b", &json!({"version": "2.0.0", "title": ""}))
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Validation, "{error}");
    assert!(
        store
            .validate_data(&json!({"title": ""}), &notes_schema())
            .unwrap()
            .is_err()
    );
}
