//! [`Store::patch`] and [`Store::append`]: what is stored after a patch, and what is not after
//! one that fails.

use std::sync::Arc;

use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use serde_json::{Value, json};
use statevault_migrate::Version;
use statevault_schema::{DocumentInfo, Registry};

use crate::{Batch, Error, ErrorKind, Patch, PatchValidation, Store, StoreOptions};

fn patch(operations: Value) -> Patch {
    serde_json::from_value(operations).expect("a patch")
}

fn spec_store(dir: &std::path::Path) -> Store {
    Store::open_with(dir, StoreOptions::new().with_builtin_documents()).unwrap()
}

fn load(store: &Store, key: &str) -> Value {
    store.load(key).unwrap().expect("the key exists")
}

/// A conversation history with `n` messages.
fn history(n: usize) -> Value {
    let messages: Vec<Value> = (0..n)
        .map(|i| json!({"id": format!("m{i}"), "role": "user", "content": "hello", "timestamp": i}))
        .collect();
    json!({
        "version": "1.0.0",
        "conversations": [{"id": "c", "createdAt": 0, "updatedAt": 0, "messages": messages}],
        "metadata": {"totalCount": 1, "lastUpdated": 0, "totalTokens": 0}
    })
}

#[test]
fn every_kind_of_operation_is_applied_and_saved() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    store
        .save(
            "plugins.a",
            &json!({"title": "t", "items": ["a", "b"], "meta": {"n": 1}}),
        )
        .unwrap();
    let report = store
        .patch(
            "plugins.a",
            &patch(json!([
                {"op": "test", "path": "/title", "value": "t"},
                {"op": "add", "path": "/items/-", "value": "c"},
                {"op": "remove", "path": "/items/0"},
                {"op": "replace", "path": "/meta/n", "value": 2},
                {"op": "move", "from": "/title", "path": "/meta/title"},
                {"op": "copy", "from": "/items/0", "path": "/first"},
            ])),
        )
        .unwrap();
    assert_eq!(report.operations, 6);
    assert_eq!(report.validation, PatchValidation::Unregistered);
    assert_eq!(
        load(&store, "plugins.a"),
        json!({"items": ["b", "c"], "meta": {"n": 2, "title": "t"}, "first": "b"})
    );
}

#[test]
fn a_failing_operation_leaves_the_stored_value_unchanged_and_names_its_index() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    store
        .save("plugins.a", &json!({"n": 1, "items": []}))
        .unwrap();
    let before = store.read_raw("plugins.a").unwrap();
    let error = store
        .patch(
            "plugins.a",
            &patch(json!([
                {"op": "replace", "path": "/n", "value": 2},
                {"op": "add", "path": "/items/-", "value": 1},
                {"op": "test", "path": "/n", "value": 1},
            ])),
        )
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::PatchFailed);
    assert_eq!(error.kind().code(), "E_PATCH");
    assert_eq!(error.kind().exit_status(), 4);
    assert_eq!(error.patch_operation(), Some(2));
    assert_eq!(error.key(), Some("plugins.a"));
    assert!(
        error.to_string().contains("operation 2 (test /n)"),
        "{error}"
    );
    assert_eq!(store.read_raw("plugins.a").unwrap(), before, "unchanged");
}

#[test]
fn a_bad_pointer_is_a_failed_patch_naming_the_operation() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    store.save("plugins.a", &json!({"n": 1})).unwrap();
    let before = store.read_raw("plugins.a").unwrap();
    let error = store
        .patch(
            "plugins.a",
            &patch(json!([
                {"op": "replace", "path": "/n", "value": 2},
                {"op": "add", "path": "/missing/deeper", "value": 1},
            ])),
        )
        .unwrap_err();
    assert_eq!(error.patch_operation(), Some(1));
    assert!(matches!(
        &error,
        Error::PatchFailed { source, .. } if source.failure == crate::PatchFailure::InvalidPath
    ));
    assert_eq!(store.read_raw("plugins.a").unwrap(), before);
    // `append` with something that is not a JSON pointer.
    let error = store.append("plugins.a", "n", &1).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::PatchFailed);
}

#[test]
fn a_patch_or_an_append_of_a_missing_key_is_not_found_and_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let error = store
        .patch(
            "plugins.none",
            &patch(json!([{"op": "add", "path": "/a", "value": 1}])),
        )
        .unwrap_err();
    assert!(matches!(error, Error::KeyNotFound { .. }), "{error}");
    assert_eq!(error.kind(), ErrorKind::NotFound);
    let error = store.append("plugins.none", "/items", &1).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::NotFound);
    assert!(!store.exists("plugins.none").unwrap());
}

/// Needs the validator (the `schema` feature).
#[cfg(feature = "schema")]
#[test]
fn appending_a_message_to_a_long_history_validates_only_the_message() {
    let dir = tempfile::tempdir().unwrap();
    let store = spec_store(dir.path());
    store.save("history.conversations", &history(2000)).unwrap();
    let message = json!({"id": "new", "role": "assistant", "content": "hi", "timestamp": 9});
    let report = store
        .append(
            "history.conversations",
            "/conversations/0/messages",
            &message,
        )
        .unwrap();
    assert_eq!(report.validation, PatchValidation::Partial);
    assert_eq!(report.changed, ["/conversations/0/messages/2000"]);
    let stored = load(&store, "history.conversations");
    assert_eq!(stored["conversations"][0]["messages"][2000], message);
}

/// Needs the validator (the `schema` feature).
#[cfg(feature = "schema")]
#[test]
fn a_registered_document_patched_into_an_invalid_state_is_refused_and_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let store = spec_store(dir.path());
    store.save("history.conversations", &history(3)).unwrap();
    let before = store.read_raw("history.conversations").unwrap();
    let bad = json!({"id": "x", "role": "robot", "content": "hi", "timestamp": 1});
    let error = store
        .append("history.conversations", "/conversations/0/messages", &bad)
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Validation, "{error}");
    assert_eq!(
        error.violations()[0].pointer,
        "/conversations/0/messages/3/role"
    );
    // A required member removed, and the version changed: refused too.
    for operations in [
        json!([{"op": "remove", "path": "/metadata/totalCount"}]),
        json!([{"op": "replace", "path": "/version", "value": "0.9.0"}]),
    ] {
        let error = store
            .patch("history.conversations", &patch(operations.clone()))
            .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Validation, "{operations}: {error}");
    }
    assert_eq!(store.read_raw("history.conversations").unwrap(), before);
}

#[cfg(all(feature = "compression", feature = "encryption"))]
#[test]
fn a_patch_of_an_encrypted_compressed_key_round_trips_and_stays_encrypted() {
    use crate::FileFormat;
    use statevault_codec::{StaticKeyProvider, Zeroizing};
    use statevault_schema::contract::SaveOptions;

    let dir = tempfile::tempdir().unwrap();
    let provider = Arc::new(StaticKeyProvider::from_bytes(Zeroizing::new([3; 32])));
    let store = Store::open_with(
        dir.path(),
        StoreOptions::new()
            .with_builtin_documents()
            .key_provider(provider),
    )
    .unwrap();
    let options = SaveOptions {
        encrypt: Some(true),
        compress: Some(true),
        backup: None,
    };
    store
        .save_with("history.conversations", &history(2), &options)
        .unwrap();
    let secret = json!({"id": "s", "role": "user", "content": "passport X1234567", "timestamp": 5});
    store
        .append(
            "history.conversations",
            "/conversations/0/messages",
            &secret,
        )
        .unwrap();
    let info = store.inspect("history.conversations").unwrap().unwrap();
    assert_eq!(
        info.format,
        FileFormat::Envelope {
            compressed: true,
            encrypted: true
        }
    );
    // The patch is a journal record of its own, encrypted like the value: no plaintext in the
    // journal, nor in the key's file once the checkpoint has folded it in.
    let journal = dir.path().join(".statevault/journal");
    let mut records = 0;
    for entry in std::fs::read_dir(&journal).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        records += 1;
        assert!(
            !bytes.windows(8).any(|w| w == b"X1234567"),
            "no plaintext in the journal"
        );
    }
    assert!(records > 0, "the patch is pending in the journal");
    store.checkpoint().unwrap();
    let raw = std::fs::read(store.path_of("history.conversations").unwrap()).unwrap();
    assert!(
        !raw.windows(8).any(|w| w == b"X1234567"),
        "no plaintext at rest"
    );
    let stored = load(&store, "history.conversations");
    assert_eq!(stored["conversations"][0]["messages"][2], secret);
}

/// A registry whose `notes.*` is `Notes` 2.0.0, migrated from 1.0.0 (`text` became `title`).
fn notes_store(dir: &std::path::Path) -> Store {
    let schema = json!({
        "type": "object",
        "additionalProperties": false,
        "properties": {
            "version": {"type": "string"},
            "title": {"type": "string", "minLength": 1},
            "tags": {"type": "array", "items": {"type": "string"}}
        },
        "required": ["version", "title", "tags"],
    });
    let mut registry = Registry::empty();
    registry
        .register_info(
            "notes.*",
            Arc::new(DocumentInfo::from_schema("Notes", "2.0.0", schema).unwrap()),
        )
        .unwrap();
    let options = StoreOptions::new()
        .registry(registry)
        .migration(
            "Notes",
            Version::new(1, 0, 0),
            Version::new(2, 0, 0),
            "text becomes title",
            |mut doc: Value| -> Result<Value, String> {
                let text = doc["text"].take();
                Ok(json!({"version": "2.0.0", "title": text, "tags": []}))
            },
        )
        .unwrap();
    Store::open_with(dir, options).unwrap()
}

/// A plain file of `value` at `version`, as a program of that version wrote it under `key`.
fn file_of_version(value: &Value, version: &str, key: &str) -> Vec<u8> {
    statevault_codec::encode(
        &serde_json::to_vec(value).unwrap(),
        &statevault_codec::Meta {
            schema_version: version.to_owned(),
            saved_at_ms: 1,
        },
        &statevault_codec::EncodeOptions::default(),
        &statevault_codec::Context {
            store_id: "",
            key_name: key,
        },
        None,
    )
    .unwrap()
}

#[cfg(feature = "backup")]
#[test]
fn an_older_stored_document_is_migrated_first_then_patched() {
    let dir = tempfile::tempdir().unwrap();
    let old = file_of_version(
        &json!({"version": "1.0.0", "text": "groceries"}),
        "1.0.0",
        "notes.a",
    );
    std::fs::create_dir_all(dir.path().join("notes")).unwrap();
    std::fs::write(dir.path().join("notes/a.json"), &old).unwrap();
    let store = notes_store(dir.path());
    // The patch is written against the current version: `title`, not `text`.
    let report = store
        .patch(
            "notes.a",
            &patch(json!([
                {"op": "test", "path": "/title", "value": "groceries"},
                {"op": "add", "path": "/tags/-", "value": "home"},
            ])),
        )
        .unwrap();
    assert_eq!(report.migrated_from, Some(Version::new(1, 0, 0)));
    assert_eq!(
        load(&store, "notes.a"),
        json!({"version": "2.0.0", "title": "groceries", "tags": ["home"]})
    );
    // The original is kept in an automatic snapshot, as a load's write-back keeps it.
    let backups = store.list_backups().unwrap();
    assert!(
        backups
            .iter()
            .any(|b| b.reason.as_deref() == Some("before migration of notes.a")),
        "{backups:?}"
    );
}

/// Without snapshots the original of a migrated document could not be kept: the patch is
/// refused and the file stays as it was.
#[cfg(not(feature = "backup"))]
#[test]
fn without_backups_a_patch_of_an_older_stored_document_is_refused_and_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let old = file_of_version(
        &json!({"version": "1.0.0", "text": "groceries"}),
        "1.0.0",
        "notes.a",
    );
    std::fs::create_dir_all(dir.path().join("notes")).unwrap();
    std::fs::write(dir.path().join("notes/a.json"), &old).unwrap();
    let store = notes_store(dir.path());
    let error = store.append("notes.a", "/tags", &"home").unwrap_err();
    assert_eq!(error.kind(), ErrorKind::FeatureDisabled, "{error}");
    assert!(error.to_string().contains("`backup` feature"), "{error}");
    store.checkpoint().unwrap();
    assert_eq!(std::fs::read(dir.path().join("notes/a.json")).unwrap(), old);
    // A load still migrates it, in memory.
    assert_eq!(
        load(&store, "notes.a"),
        json!({"version": "2.0.0", "title": "groceries", "tags": []})
    );
}

#[test]
fn a_newer_stored_document_is_refused_and_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let newer = file_of_version(
        &json!({"version": "3.0.0", "title": "x", "tags": []}),
        "3.0.0",
        "notes.a",
    );
    std::fs::create_dir_all(dir.path().join("notes")).unwrap();
    std::fs::write(dir.path().join("notes/a.json"), &newer).unwrap();
    let store = notes_store(dir.path());
    let error = store.append("notes.a", "/tags", &"x").unwrap_err();
    assert!(matches!(error, Error::NewerVersion { .. }), "{error}");
    assert_eq!(
        std::fs::read(dir.path().join("notes/a.json")).unwrap(),
        newer
    );
}

#[test]
fn the_audit_line_names_the_key_and_the_number_of_operations_never_values() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    store.save("plugins.a", &json!({"items": []})).unwrap();
    store
        .patch(
            "plugins.a",
            &patch(json!([
                {"op": "add", "path": "/items/-", "value": "secret-one"},
                {"op": "add", "path": "/items/-", "value": "secret-two"},
                {"op": "add", "path": "/note", "value": "secret-three"},
            ])),
        )
        .unwrap();
    let report = store.verify_audit().unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    let last = report.entries.last().unwrap();
    assert_eq!(
        (last.op.as_str(), last.subjects(), last.ops),
        ("patch", vec!["plugins.a"], Some(3))
    );
    assert_eq!(report.entries[0].ops, None, "a save has no op count");
    let log = std::fs::read_to_string(dir.path().join(".statevault/audit.log")).unwrap();
    assert!(log.lines().last().unwrap().contains("\"ops\":3"), "{log}");
    assert!(!log.contains("secret"), "values never enter the log: {log}");
}

#[test]
fn a_batch_patches_beside_saves_and_deletes_all_or_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = spec_store(dir.path());
    store.save("history.conversations", &history(1)).unwrap();
    store.save("plugins.old", &json!(1)).unwrap();
    let message = json!({"id": "b", "role": "user", "content": "x", "timestamp": 2});
    let mut batch = Batch::new();
    batch.save("plugins.new", &json!({"a": 1})).unwrap();
    batch
        .patch(
            "history.conversations",
            Patch::append("/conversations/0/messages", message.clone()).unwrap(),
        )
        .unwrap();
    batch.delete("plugins.old").unwrap();
    store.save_batch(batch).unwrap();
    assert_eq!(
        load(&store, "history.conversations")["conversations"][0]["messages"][1],
        message
    );
    assert!(!store.exists("plugins.old").unwrap());
    let report = store.verify_audit().unwrap();
    // One line for the batch's commit, with the patch's operation count.
    let patched = report.entries.last().unwrap();
    assert_eq!(patched.op, "batch");
    assert_eq!(patched.ops, Some(1));

    // A failing patch rejects the whole batch.
    let before = store.read_raw("history.conversations").unwrap();
    let mut batch = Batch::new();
    batch.save("plugins.other", &json!(2)).unwrap();
    batch
        .patch(
            "history.conversations",
            patch(json!([{"op": "remove", "path": "/nothing"}])),
        )
        .unwrap();
    let error = store.save_batch(batch).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::PatchFailed);
    assert!(!store.exists("plugins.other").unwrap());
    assert_eq!(store.read_raw("history.conversations").unwrap(), before);
}

#[test]
fn a_batch_from_the_contract_carries_patches() {
    use statevault_schema::contract::{BatchOperation, PatchOperation};
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    store.save("plugins.a", &json!({"n": 1})).unwrap();
    let batch = Batch::from_operations(vec![BatchOperation::Patch {
        key: "plugins.a".to_owned(),
        patch: vec![PatchOperation::Replace {
            path: "/n".to_owned(),
            value: json!(2),
        }],
    }])
    .unwrap();
    store.save_batch(batch).unwrap();
    assert_eq!(load(&store, "plugins.a"), json!({"n": 2}));
    let error = Batch::from_operations(vec![BatchOperation::Patch {
        key: "plugins.a".to_owned(),
        patch: vec![
            PatchOperation::Remove {
                path: "/n".to_owned(),
            },
            PatchOperation::Remove {
                path: "n".to_owned(),
            },
        ],
    }])
    .unwrap_err();
    assert_eq!(error.patch_operation(), Some(1));
}

#[test]
fn concurrent_appends_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(
        Store::open_with(
            dir.path(),
            StoreOptions::new().durability(crate::Durability::None),
        )
        .unwrap(),
    );
    store.save("plugins.log", &json!({"lines": []})).unwrap();
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let store = Arc::clone(&store);
            std::thread::spawn(move || {
                for i in 0..25 {
                    store
                        .append("plugins.log", "/lines", &format!("{t}-{i}"))
                        .unwrap();
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    assert_eq!(
        load(&store, "plugins.log")["lines"]
            .as_array()
            .unwrap()
            .len(),
        100
    );
}

#[test]
fn patches_are_timed_in_their_own_histogram() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let dir = tempfile::tempdir().unwrap();
    metrics::with_local_recorder(&recorder, || {
        let store = Store::open(dir.path()).unwrap();
        store.save("plugins.a", &json!({"items": []})).unwrap();
        store.append("plugins.a", "/items", &1).unwrap();
        store.append("plugins.a", "/items", &2).unwrap();
    });
    let snapshot = snapshotter.snapshot().into_hashmap();
    let count = |name: &str| match snapshot
        .iter()
        .find(|(key, _)| key.key().name() == name)
        .map(|(_, (_, _, value))| value)
    {
        Some(DebugValue::Histogram(values)) => values.len(),
        other => panic!("{name}: {other:?}"),
    };
    assert_eq!(count(crate::metric::PATCH_DURATION_MS), 2);
    assert_eq!(
        count(crate::metric::SAVE_DURATION_MS),
        1,
        "a patch is not a save"
    );
}

#[cfg(feature = "backup")]
#[test]
fn a_snapshot_taken_while_patches_are_pending_holds_the_patched_document_and_restores_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_with(dir.path(), StoreOptions::new().idle_checkpoint(None)).unwrap();
    store.save("plugins.todo", &json!({"items": []})).unwrap();
    store.append("plugins.todo", "/items", &"x").unwrap();
    let id = store.create_backup(Some("with a patch")).unwrap();
    // The next patch starts from the hot document; the restore must make it forget it.
    store.append("plugins.todo", "/items", &"y").unwrap();
    store.restore_backup(&id).unwrap();
    assert_eq!(load(&store, "plugins.todo"), json!({"items": ["x"]}));
    store.append("plugins.todo", "/items", &"z").unwrap();
    assert_eq!(load(&store, "plugins.todo"), json!({"items": ["x", "z"]}));
    drop(store);
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(load(&store, "plugins.todo"), json!({"items": ["x", "z"]}));
}
