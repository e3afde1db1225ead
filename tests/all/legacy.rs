//! Files the application's earlier TypeScript service wrote are read as they are.

use std::path::{Path, PathBuf};

use serde_json::json;
use statevault::schema::{
    ConversationHistoryState, GridLayoutState, Role, Theme, UserPreferencesState,
};
use statevault::{FileFormat, KeyStatus, Store};

use super::common::{files_below, temp_files};

/// The frozen fixtures, never regenerated.
fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/legacy")
}

/// A copy of the fixture tree in a fresh folder, as a user upgrading from the old service has it:
/// no `.statevault` yet.
fn legacy_folder() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let from = fixtures();
    for file in files_below(&from) {
        let to = dir.path().join(file.strip_prefix(&from).unwrap());
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(&file, &to).unwrap();
    }
    assert!(dir.path().join("layouts/default.json").is_file());
    assert!(
        dir.path()
            .join("backups/manual/backup_1732000003000.json")
            .is_file()
    );
    assert!(!dir.path().join(".statevault").exists());
    dir
}

#[test]
fn the_fixtures_are_the_legacy_format() {
    // Guards against someone "fixing" a fixture into the current format.
    let text = std::fs::read_to_string(fixtures().join("layouts/default.json")).unwrap();
    assert!(text.starts_with(
        "{\n  \"version\": \"1.0.0\",\n  \"timestamp\": 1732000000000,\n  \"data\": {\n"
    ));
    assert!(!text.contains("\"statevault\""));
}

#[test]
fn a_legacy_layout_loads_in_a_folder_without_statevault() {
    let dir = legacy_folder();
    let before = std::fs::read(dir.path().join("layouts/default.json")).unwrap();
    let store = Store::open(dir.path()).unwrap();
    let layout: GridLayoutState = store
        .load("layout.default")
        .unwrap()
        .expect("the legacy file");
    assert_eq!(layout.version, "1.0.0");
    assert_eq!(layout.timestamp, 1_731_999_990_000);
    assert_eq!(layout.metadata.name, "Default");
    assert_eq!(layout.metadata.description, None);
    assert_eq!(layout.metadata.tags, ["default"]);
    assert_eq!(
        layout.layout.keys().collect::<Vec<_>>(),
        ["editor-1", "files-1", "notes-1"]
    );
    assert_eq!(layout.layout["editor-1"].min_w, Some(4));
    assert_eq!(layout.layout["files-1"].is_static, Some(true));
    let notes = &layout.instances["notes-1"];
    assert_eq!(notes.widget_type, "notes");
    assert_eq!(notes.title.as_deref(), Some("Notizen — Überblick"));
    assert_eq!(notes.state["text"], json!("line one\nline \"two\""));
    assert_eq!(
        layout.instances["editor-1"].state["cursor"],
        json!({"line": 12, "column": 3})
    );
    // Reading never rewrites it.
    assert_eq!(
        std::fs::read(dir.path().join("layouts/default.json")).unwrap(),
        before
    );
}

#[test]
fn legacy_preferences_and_history_load() {
    let dir = legacy_folder();
    let store = Store::open(dir.path()).unwrap();
    let prefs: UserPreferencesState = store.load("settings.preferences").unwrap().unwrap();
    assert_eq!(prefs.theme, Theme::Light);
    assert_eq!(prefs.language, "en-GB");
    assert_eq!(prefs.key_bindings["search"], "Ctrl+Shift+F");
    assert!(prefs.privacy.telemetry_enabled);
    let history: ConversationHistoryState = store.load("history.conversations").unwrap().unwrap();
    assert_eq!(history.conversations.len(), 2);
    assert_eq!(history.conversations[0].messages[1].role, Role::Assistant);
    assert_eq!(history.conversations[0].messages[1].tokens, Some(7));
    assert_eq!(history.conversations[1].title, None);
    assert_eq!(history.metadata.total_tokens, 7);
}

#[test]
fn legacy_files_are_listed_verified_and_rewritten_in_the_current_format_on_save() {
    let dir = legacy_folder();
    // The old service wrote `<file>.tmp` and renamed it; a crash left this one behind.
    std::fs::write(
        dir.path().join("layouts/default.json.tmp"),
        "{\n  \"version\": \"1.",
    )
    .unwrap();
    let store = Store::open(dir.path()).unwrap();
    // The old service's backups (`backups/` is reserved) and its stray temp file are no keys.
    let keys: Vec<String> = store
        .keys("")
        .unwrap()
        .iter()
        .map(|k| k.to_string())
        .collect();
    assert_eq!(
        keys,
        [
            "history.conversations",
            "layout.default",
            "settings.preferences"
        ]
    );
    let reports = store.verify().unwrap();
    assert_eq!(reports.len(), 3);
    for report in &reports {
        assert_eq!(
            report.status,
            KeyStatus::Ok {
                format: FileFormat::Legacy
            },
            "{}",
            report.key
        );
    }

    let mut layout: GridLayoutState = store.load("layout.default").unwrap().unwrap();
    layout.metadata.tags.push("migrated".into());
    store.save("layout.default", &layout).unwrap();
    store.checkpoint().unwrap();
    let bytes = std::fs::read(dir.path().join("layouts/default.json")).unwrap();
    assert!(
        bytes.starts_with(b"{\"statevault\":1,"),
        "rewritten in the plain format"
    );
    drop(store);
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(
        store.load::<GridLayoutState>("layout.default").unwrap(),
        Some(layout)
    );
    assert!(temp_files(dir.path()).is_empty());
    // Opening the store left the old service's backups where they were.
    for backup in [
        "backups/manual/backup_1732000003000.json",
        "backups/auto/layout.default_1732000004000.json",
    ] {
        assert_eq!(
            std::fs::read(dir.path().join(backup)).unwrap(),
            std::fs::read(fixtures().join(backup)).unwrap(),
            "{backup}"
        );
    }
}

#[test]
fn a_legacy_folder_can_be_read_without_becoming_a_store() {
    let dir = legacy_folder();
    // A read-only open is what a support tool does: it must not create `.statevault`.
    let store =
        Store::open_with(dir.path(), statevault::StoreOptions::new().read_only(true)).unwrap();
    let prefs: UserPreferencesState = store.load("settings.preferences").unwrap().unwrap();
    assert_eq!(prefs.language, "en-GB");
    assert_eq!(store.keys("").unwrap().len(), 3);
    assert!(!dir.path().join(".statevault").exists());
}

/// The TypeScript service kept `history.conversations.ab12` in
/// `history/conversations.ab12.json`; a writer's open moves it to the key's path, and it loads.
#[test]
fn a_conversation_the_legacy_service_kept_under_a_dotted_name_loads() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("history")).unwrap();
    let conversation = serde_json::json!({
        "version": "1.0.0",
        "conversations": [],
        "metadata": {"totalCount": 0, "lastUpdated": 1_764_126_784_000u64, "totalTokens": 0}
    });
    let file = serde_json::to_vec_pretty(&serde_json::json!({
        "version": "1.0.0", "timestamp": 1_764_126_784_000u64, "data": conversation
    }))
    .unwrap();
    std::fs::write(dir.path().join("history/conversations.ab12.json"), &file).unwrap();
    // The CLI's `get`, before the application (a writer) ever opened the folder.
    let reader =
        statevault::Store::open_with(dir.path(), statevault::StoreOptions::new().read_only(true))
            .unwrap();
    let seen: serde_json::Value = reader.load("history.conversations.ab12").unwrap().unwrap();
    assert_eq!(seen, conversation);
    let keys: Vec<String> = reader
        .keys("history")
        .unwrap()
        .iter()
        .map(|k| k.to_string())
        .collect();
    assert_eq!(keys, ["history.conversations.ab12"]);
    drop(reader);
    let store = statevault::Store::open(dir.path()).unwrap();
    let loaded: serde_json::Value = store.load("history.conversations.ab12").unwrap().unwrap();
    assert_eq!(loaded, conversation);
    assert_eq!(
        std::fs::read(dir.path().join("history/conversations/ab12.json")).unwrap(),
        file,
        "moved, not rewritten"
    );
}

#[test]
fn the_legacy_services_full_and_automatic_backups_are_listed() {
    let dir = legacy_folder();
    let store = Store::open(dir.path()).unwrap();
    let listed: Vec<(String, u64, usize)> = store
        .list_backups()
        .unwrap()
        .iter()
        .map(|b| (b.id.to_string(), b.timestamp, b.file_count))
        .collect();
    assert_eq!(
        listed,
        [
            (
                "layout.default_1732000004000".to_owned(),
                1_732_000_004_000,
                1
            ),
            ("backup_1732000003000".to_owned(), 1_732_000_003_000, 2),
        ]
    );
    // The automatic one holds the layout as it was before the service overwrote it.
    let before: GridLayoutState = serde_json::from_slice(
        &std::fs::read(fixtures().join("backups/auto/layout.default_1732000004000.json")).unwrap(),
    )
    .unwrap();
    store.delete("layout.default").unwrap();
    store
        .restore_backup("layout.default_1732000004000")
        .unwrap();
    assert_eq!(
        store.load::<GridLayoutState>("layout.default").unwrap(),
        Some(before)
    );
    assert!(
        store.exists("settings.preferences").unwrap(),
        "other keys stay"
    );
}
