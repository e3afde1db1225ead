//! The module spec's three state kinds survive save, drop and reopen unchanged.

use statevault::Store;
use statevault::schema::{ConversationHistoryState, GridLayoutState, UserPreferencesState};

use super::common::{grid_layout, history, preferences, spec_store};

#[test]
fn layout_preferences_and_history_survive_a_reopen_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = Store::open(dir.path()).unwrap();
        store.save("layout.default", &grid_layout()).unwrap();
        store.save("settings.preferences", &preferences()).unwrap();
        store.save("history.conversations", &history()).unwrap();
        // Within the same session too.
        assert_eq!(
            store.load::<GridLayoutState>("layout.default").unwrap(),
            Some(grid_layout())
        );
    }
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(
        store.load::<GridLayoutState>("layout.default").unwrap(),
        Some(grid_layout())
    );
    assert_eq!(
        store
            .load::<UserPreferencesState>("settings.preferences")
            .unwrap(),
        Some(preferences())
    );
    assert_eq!(
        store
            .load::<ConversationHistoryState>("history.conversations")
            .unwrap(),
        Some(history())
    );
    // The files are where `docs/ARCHITECTURE.md` ("The data directory") puts them, in the plain format.
    for file in [
        "layouts/default.json",
        "settings/preferences.json",
        "history/conversations.json",
    ] {
        let bytes = std::fs::read(dir.path().join(file)).unwrap();
        assert!(bytes.starts_with(b"{\"statevault\":1,"), "{file}");
    }
}

#[test]
fn a_new_value_replaces_the_old_one() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    store.save("settings.preferences", &preferences()).unwrap();
    let mut changed = preferences();
    changed.language = "fr".into();
    store.save("settings.preferences", &changed).unwrap();
    drop(store);
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(
        store
            .load::<UserPreferencesState>("settings.preferences")
            .unwrap(),
        Some(changed)
    );
}

#[test]
fn load_or_default_gives_the_default_only_for_a_missing_key() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(
        store
            .load::<UserPreferencesState>("settings.preferences")
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .load_or_default::<UserPreferencesState>("settings.preferences")
            .unwrap(),
        UserPreferencesState::default()
    );
    assert!(!store.exists("settings.preferences").unwrap());
    store.save("settings.preferences", &preferences()).unwrap();
    assert_eq!(
        store
            .load_or_default::<UserPreferencesState>("settings.preferences")
            .unwrap(),
        preferences()
    );
}

#[test]
fn exists_delete_and_keys_by_prefix() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    store.save("layout.default", &grid_layout()).unwrap();
    let mut other = grid_layout();
    other.metadata.name = "Writing".into();
    store.save("layout.writing", &other).unwrap();
    store.save("settings.preferences", &preferences()).unwrap();
    store.save("history.conversations", &history()).unwrap();
    store
        .save("history.conversations.ab12", &history())
        .unwrap();
    store
        .save("plugins.weather", &serde_json::json!({"city": "Bern"}))
        .unwrap();

    let keys = |prefix: &str| -> Vec<String> {
        store
            .keys(prefix)
            .unwrap()
            .into_iter()
            .map(|k| k.to_string())
            .collect()
    };
    assert_eq!(
        keys(""),
        [
            "history.conversations",
            "history.conversations.ab12",
            "layout.default",
            "layout.writing",
            "plugins.weather",
            "settings.preferences",
        ]
    );
    assert_eq!(keys("layout."), ["layout.default", "layout.writing"]);
    assert_eq!(
        keys("history"),
        ["history.conversations", "history.conversations.ab12"]
    );
    assert_eq!(
        keys("history.conversations."),
        ["history.conversations.ab12"]
    );
    assert!(keys("config").is_empty());

    assert!(store.exists("layout.writing").unwrap());
    assert!(store.delete("layout.writing").unwrap());
    assert!(!store.exists("layout.writing").unwrap());
    assert!(
        !store.delete("layout.writing").unwrap(),
        "a second delete finds nothing"
    );
    assert_eq!(
        store.load::<GridLayoutState>("layout.writing").unwrap(),
        None
    );
    assert!(!dir.path().join("layouts/writing.json").exists());
    drop(store);

    let store = Store::open(dir.path()).unwrap();
    assert!(!store.exists("layout.writing").unwrap());
    assert_eq!(store.keys("layout").unwrap().len(), 1);
    assert_eq!(
        store.load::<serde_json::Value>("plugins.weather").unwrap(),
        Some(serde_json::json!({"city": "Bern"}))
    );
}

#[test]
fn hostile_keys_are_refused_before_any_path_exists() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    for key in [
        "../x",
        "/etc/passwd",
        "a/b",
        "Layout.default",
        "layout",
        "layout..x",
        ".statevault.lock",
    ] {
        let err = store.save(key, &serde_json::json!({})).unwrap_err();
        assert!(
            err.kind() == statevault::ErrorKind::InvalidKey,
            "{key}: {err}"
        );
        assert!(store.load::<serde_json::Value>(key).is_err(), "{key}");
        assert!(store.exists(key).is_err(), "{key}");
        assert!(store.delete(key).is_err(), "{key}");
    }
    assert!(!dir.path().parent().unwrap().join("x.json").exists());
}

#[test]
fn a_batch_is_seen_at_once_by_every_reader_and_reaches_the_files_at_the_checkpoint() {
    use statevault::{Batch, StoreOptions};
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    store.save("settings.preferences", &preferences()).unwrap();
    store.checkpoint().unwrap();
    let mut batch = Batch::new();
    batch.save("layout.default", &grid_layout()).unwrap();
    batch.delete("settings.preferences").unwrap();
    store.save_batch(batch).unwrap();
    // This handle and a read-only one (another process, say the CLI) see the whole batch.
    let reader = Store::open_with(dir.path(), StoreOptions::new().read_only(true)).unwrap();
    for handle in [&store, &reader] {
        assert_eq!(
            handle.load::<GridLayoutState>("layout.default").unwrap(),
            Some(grid_layout())
        );
        assert!(!handle.exists("settings.preferences").unwrap());
        let keys: Vec<String> = handle
            .keys("")
            .unwrap()
            .iter()
            .map(|k| k.to_string())
            .collect();
        assert_eq!(keys, ["layout.default"]);
    }
    // The files catch up at the checkpoint.
    let layout_file = store.path_of("layout.default").unwrap();
    let preferences_file = store.path_of("settings.preferences").unwrap();
    assert!(!layout_file.exists() && preferences_file.exists());
    store.checkpoint().unwrap();
    assert!(layout_file.exists() && !preferences_file.exists());
    assert_eq!(
        reader.load::<GridLayoutState>("layout.default").unwrap(),
        Some(grid_layout())
    );
}

/// The other files of the specification's layout — themes, key bindings, environment settings and
/// conversation contexts — are typed documents too: they survive a reopen, land in the files the
/// layout names, and an invalid value is refused.
#[test]
fn themes_keybindings_environment_and_contexts_survive_a_reopen_where_the_layout_puts_them() {
    use statevault::schema::{
        ConversationContext, EnvironmentConfig, EnvironmentName, Keybinding, KeybindingsState,
        PinnedMessage, Role, ThemeBase, ThemeDefinition, ThemesState,
    };

    let dir = tempfile::tempdir().unwrap();
    let mut themes = ThemesState {
        active: "night".into(),
        ..ThemesState::default()
    };
    themes.themes.insert(
        "night".into(),
        ThemeDefinition {
            label: "Night".into(),
            base: ThemeBase::Dark,
            colors: [("editor.background".to_owned(), "#101010".to_owned())].into(),
        },
    );
    let keybindings = KeybindingsState {
        bindings: vec![Keybinding {
            command: "palette.open".into(),
            keys: "Ctrl+Shift+P".into(),
            when: None,
            disabled: None,
        }],
        ..KeybindingsState::default()
    };
    let environment = EnvironmentConfig {
        name: EnvironmentName::Staging,
        variables: [("NODE_ENV".to_owned(), "production".to_owned())].into(),
        endpoints: [("api".to_owned(), "https://api.example.com".to_owned())].into(),
        ..EnvironmentConfig::default()
    };
    let mut context = ConversationContext::new("ab12", 1_764_126_790_000);
    context.summary = "Planning the week.".into();
    context.pinned_messages.push(PinnedMessage {
        message_id: "m1".into(),
        role: Role::User,
        content: "Plan my week".into(),
        pinned_at: 1_764_126_001_000,
    });
    {
        let store = spec_store(dir.path());
        store.save("settings.themes", &themes).unwrap();
        store.save("settings.keybindings", &keybindings).unwrap();
        store.save("config.environment", &environment).unwrap();
        store.save("history.contexts.ab12", &context).unwrap();
    }
    let store = spec_store(dir.path());
    assert_eq!(store.load("settings.themes").unwrap(), Some(themes.clone()));
    assert_eq!(
        store.load("settings.keybindings").unwrap(),
        Some(keybindings)
    );
    assert_eq!(store.load("config.environment").unwrap(), Some(environment));
    assert_eq!(store.load("history.contexts.ab12").unwrap(), Some(context));
    for file in [
        "settings/themes.json",
        "settings/keybindings.json",
        "config/environment.json",
        "history/contexts/ab12.json",
    ] {
        assert!(dir.path().join(file).is_file(), "{file}");
    }

    // Each is validated: a colour that is not `#rrggbb`, keys that are no shortcut, an unknown
    // environment, a context without its conversation.
    let mut bad_themes = serde_json::to_value(&themes).unwrap();
    bad_themes["themes"]["night"]["colors"]["editor.background"] = "black".into();
    for (key, value) in [
        ("settings.themes", bad_themes),
        (
            "settings.keybindings",
            serde_json::json!({"version": "1.0.0", "bindings": [{"command": "x", "keys": ""}]}),
        ),
        (
            "config.environment",
            serde_json::json!({"version": "1.0.0", "name": "qa", "variables": {}}),
        ),
        (
            "history.contexts.cd34",
            serde_json::to_value(ConversationContext::new("", 0)).unwrap(),
        ),
    ] {
        let err = store.save(key, &value).unwrap_err();
        assert_eq!(
            err.kind(),
            statevault::ErrorKind::Validation,
            "{key}: {err}"
        );
    }
    assert!(!store.exists("history.contexts.cd34").unwrap());
}
