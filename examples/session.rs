//! A realistic session of a desktop application with statevault: save the module
//! specification's state kinds (and three layouts as one batch), reopen the store, load them
//! back, verify, back up, break something, restore, and print a readable summary.
//!
//! ```text
//! cargo run --example session [-- DIR]
//! ```
//! Without DIR the store lives in a fresh temporary folder that is removed at the end.

use std::error::Error;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use serde_json::json;
use statevault::schema::{
    AppConfig, ConversationContext, ConversationHistoryState, EnvironmentConfig, GridLayoutState,
    KeybindingsState, ThemesState, UserPreferencesState,
};
use statevault::{
    DataKey, KeyId, KeySet, SaveOptions, StaticKeyProvider, Store, StoreOptions, Zeroizing,
};

type Result<T> = std::result::Result<T, Box<dyn Error>>;

fn main() -> Result<()> {
    let temp;
    let dir: PathBuf = match std::env::args_os().nth(1) {
        Some(dir) => dir.into(),
        None => {
            temp = tempfile::tempdir()?;
            temp.path().join("app-state")
        }
    };
    println!("statevault session in {}\n", dir.display());

    // The application supplies the data key here (as an Electron app would after unwrapping it
    // with safeStorage); a default store uses the OS keychain instead.
    let key = Zeroizing::new(*b"session-demo-key-32-bytes-long!!");
    let keys = Arc::new(StaticKeyProvider::new(KeySet::single(DataKey::new(
        KeyId(1),
        key,
    )?)));
    let options = || {
        StoreOptions::new()
            .with_builtin_documents()
            .key_provider(keys.clone())
            .policy(
                "history.*",
                SaveOptions {
                    encrypt: Some(true),
                    compress: Some(true),
                    backup: None,
                },
            )
    };

    let layout = sample_layout()?;
    let preferences = sample_preferences()?;
    let history = sample_history(200)?;
    let config = AppConfig::default();
    // The rest of the specification's layout: themes, key bindings, the environment, and the
    // context kept beside a conversation.
    let themes = ThemesState::default();
    let keybindings = KeybindingsState::default();
    let environment = EnvironmentConfig::default();
    let context = ConversationContext::new("c-1", 1_764_100_000_000);

    let mut rows = Vec::new();
    {
        let store = Store::open_with(&dir, options())?;
        rows.push(timed("save", "layout.default", || {
            store.save("layout.default", &layout)
        })?);
        rows.push(timed("save", "settings.preferences", || {
            store.save("settings.preferences", &preferences)
        })?);
        rows.push(timed("save", "history.conversations", || {
            store.save("history.conversations", &history)
        })?);
        rows.push(timed("save", "config.app", || {
            store.save("config.app", &config)
        })?);
        rows.push(timed("save", "settings.themes", || {
            store.save("settings.themes", &themes)
        })?);
        rows.push(timed("save", "settings.keybindings", || {
            store.save("settings.keybindings", &keybindings)
        })?);
        rows.push(timed("save", "config.environment", || {
            store.save("config.environment", &environment)
        })?);
        rows.push(timed("save", "history.contexts.c-1", || {
            store.save("history.contexts.c-1", &context)
        })?);
    }

    // Three workspace layouts saved together: one batch, all or nothing (the module
    // specification's `saveBatch`), committed with one sync of the journal.
    let workspaces = [
        "layout.workspace-1",
        "layout.workspace-2",
        "layout.workspace-3",
    ];
    let batch_ms = {
        let store = Store::open_with(&dir, options())?;
        let mut batch = statevault::Batch::new();
        for name in workspaces {
            let mut workspace = layout.clone();
            workspace.metadata.name = name.to_owned();
            batch.save(name, &workspace)?;
        }
        let start = Instant::now();
        store.save_batch(batch)?;
        start.elapsed().as_secs_f64() * 1e3
    };

    // A new process would do exactly this: open the folder again and load.
    let store = Store::open_with(&dir, options())?;
    let loaded_layout: GridLayoutState = must_load(&store, "layout.default", &mut rows)?;
    let loaded_preferences: UserPreferencesState =
        must_load(&store, "settings.preferences", &mut rows)?;
    let loaded_history: ConversationHistoryState =
        must_load(&store, "history.conversations", &mut rows)?;
    let loaded_config: AppConfig = must_load(&store, "config.app", &mut rows)?;
    let loaded_themes: ThemesState = must_load(&store, "settings.themes", &mut rows)?;
    let loaded_keybindings: KeybindingsState =
        must_load(&store, "settings.keybindings", &mut rows)?;
    let loaded_environment: EnvironmentConfig = must_load(&store, "config.environment", &mut rows)?;
    let loaded_context: ConversationContext = must_load(&store, "history.contexts.c-1", &mut rows)?;
    let loaded_workspaces = store.load_batch::<GridLayoutState>(&workspaces)?;
    check(
        loaded_workspaces.len() == workspaces.len()
            && loaded_workspaces
                .iter()
                .all(|(key, l)| l.metadata.name == key.as_str()),
        "the batch round trip",
    )?;
    check(loaded_layout == layout, "layout round trip")?;
    check(loaded_preferences == preferences, "preferences round trip")?;
    check(loaded_history == history, "history round trip")?;
    check(loaded_config == config, "config round trip")?;
    check(
        loaded_themes == themes
            && loaded_keybindings == keybindings
            && loaded_environment == environment
            && loaded_context == context,
        "themes, key bindings, environment and context round trip",
    )?;

    let reports = store.verify()?;
    let healthy = reports.iter().filter(|r| r.status.is_ok()).count();
    check(healthy == reports.len(), "every key verifies")?;

    // Back up, then suffer a bad update: preferences overwritten, the layout deleted.
    let start = Instant::now();
    let backup = store.create_backup_with_progress(Some("end of session"), &|_, _| {})?;
    let backup_ms = start.elapsed().as_secs_f64() * 1e3;
    let mut broken = preferences.clone();
    broken.language = "xx".into();
    store.save("settings.preferences", &broken)?;
    store.delete("layout.default")?;
    let start = Instant::now();
    let restored = store.restore_backup(backup.id.as_str())?;
    let restore_ms = start.elapsed().as_secs_f64() * 1e3;
    let back: UserPreferencesState = must_load(&store, "settings.preferences", &mut Vec::new())?;
    let layout_back: GridLayoutState = must_load(&store, "layout.default", &mut Vec::new())?;
    check(back == preferences, "preferences restored")?;
    check(layout_back == layout, "layout restored")?;

    println!(
        "{:<8} {:<24} {:>10} {:>10}  format",
        "op", "key", "ms", "bytes"
    );
    for row in &rows {
        let path = store.path_of(&row.key)?;
        let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        let format = store
            .inspect(&row.key)?
            .map_or("missing", |info| info.format.name());
        println!(
            "{:<8} {:<24} {:>10.2} {:>10}  {}",
            row.op, row.key, row.ms, size, format
        );
    }
    println!();
    println!(
        "layout: {} widgets in \"{}\"; preferences: theme {:?}, language {}; history: {} conversations, {} messages, {} tokens (encrypted + compressed)",
        loaded_layout.instances.len(),
        loaded_layout.metadata.name,
        loaded_preferences.theme,
        loaded_preferences.language,
        loaded_history.conversations.len(),
        loaded_history
            .conversations
            .iter()
            .map(|c| c.messages.len())
            .sum::<usize>(),
        loaded_history.metadata.total_tokens,
    );
    println!(
        "verify: {healthy}/{} keys healthy; history file holds no plaintext: {}",
        reports.len(),
        !contains(
            &std::fs::read(store.path_of("history.conversations")?)?,
            b"Plan the week"
        )
    );
    println!(
        "backup {}: {} files, {} bytes, encrypted keys inside: {} ({backup_ms:.1} ms); \
         after a bad update, restore wrote {} files and deleted {} ({restore_ms:.1} ms); \
         the state before the restore is kept in snapshot {}",
        backup.id,
        backup.file_count,
        backup.size,
        backup.encrypted,
        restored.written,
        restored.deleted,
        restored
            .pre_restore
            .as_ref()
            .map(|p| p.id.to_string())
            .unwrap_or_default(),
    );
    println!(
        "batch: {} workspace layouts saved in one commit ({batch_ms:.2} ms), all {} back with load_batch after the reopen",
        workspaces.len(),
        loaded_workspaces.len()
    );
    let audit = store.verify_audit()?;
    println!(
        "audit log: {} entries, chain {}",
        audit.entries.len(),
        if audit.problems.is_empty() {
            "intact"
        } else {
            "BROKEN"
        }
    );
    println!(
        "\nsession ok: {} keys, {} bytes under {}",
        store.keys("")?.len(),
        store.size_bytes(),
        store.dir().display()
    );
    Ok(())
}

struct Row {
    op: &'static str,
    key: String,
    ms: f64,
}

fn timed(op: &'static str, key: &str, f: impl FnOnce() -> statevault::Result<()>) -> Result<Row> {
    let start = Instant::now();
    f()?;
    Ok(Row {
        op,
        key: key.to_owned(),
        ms: start.elapsed().as_secs_f64() * 1e3,
    })
}

fn must_load<T: serde::de::DeserializeOwned>(
    store: &Store,
    key: &str,
    rows: &mut Vec<Row>,
) -> Result<T> {
    let start = Instant::now();
    let value = store
        .load::<T>(key)?
        .ok_or_else(|| format!("{key} is missing after a reopen"))?;
    rows.push(Row {
        op: "load",
        key: key.to_owned(),
        ms: start.elapsed().as_secs_f64() * 1e3,
    });
    Ok(value)
}

fn check(ok: bool, what: &str) -> Result<()> {
    if ok {
        Ok(())
    } else {
        Err(format!("check failed: {what}").into())
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn sample_layout() -> Result<GridLayoutState> {
    Ok(serde_json::from_value(json!({
        "version": "1.0.0",
        "timestamp": 1_764_126_784_000u64,
        "layout": {
            "chat": { "i": "chat", "x": 0, "y": 0, "w": 6, "h": 8, "minW": 3 },
            "editor": { "i": "editor", "x": 6, "y": 0, "w": 6, "h": 5 },
            "terminal": { "i": "terminal", "x": 6, "y": 5, "w": 6, "h": 3 },
            "status": { "i": "status", "x": 0, "y": 8, "w": 12, "h": 1, "static": true }
        },
        "instances": {
            "chat": { "id": "chat", "widgetType": "chat", "title": "Assistant",
                      "config": { "model": "local-7b" }, "state": { "draft": "" } },
            "editor": { "id": "editor", "widgetType": "editor",
                        "config": { "tabSize": 4 }, "state": { "open": ["notes.md"] } },
            "terminal": { "id": "terminal", "widgetType": "terminal",
                          "config": {}, "state": { "cwd": "/home/ada" } },
            "status": { "id": "status", "widgetType": "status-bar", "config": {}, "state": {} }
        },
        "metadata": { "name": "Default", "description": "Chat beside editor and terminal",
                      "tags": ["work", "default"] }
    }))?)
}

fn sample_preferences() -> Result<UserPreferencesState> {
    Ok(serde_json::from_value(json!({
        "version": "1.0.0",
        "theme": "dark",
        "language": "en-GB",
        "keyBindings": { "palette.open": "CmdOrCtrl+K", "layout.save": "CmdOrCtrl+S" },
        "ui": { "sidebarCollapsed": false, "gridDensity": "compact", "showGridLines": true },
        "privacy": { "telemetryEnabled": false, "crashReportingEnabled": true }
    }))?)
}

fn sample_history(conversations: u64) -> Result<ConversationHistoryState> {
    let start = 1_764_000_000_000u64;
    let mut list = Vec::new();
    let mut tokens = 0;
    for c in 0..conversations {
        let mut messages = Vec::new();
        for m in 0..6u64 {
            let role = ["user", "assistant"][usize::from(m % 2 == 1)];
            let t = 20 + (c * 7 + m * 13) % 200;
            tokens += t;
            messages.push(json!({
                "id": format!("c{c}-m{m}"),
                "role": role,
                "content": format!("Plan the week, item {m} of conversation {c}: review the grid layout and the notes."),
                "timestamp": start + c * 60_000 + m * 1_000,
                "tokens": t
            }));
        }
        list.push(json!({
            "id": format!("c{c}"),
            "title": format!("Conversation {c}"),
            "createdAt": start + c * 60_000,
            "updatedAt": start + c * 60_000 + 5_000,
            "messages": messages,
            "tags": ["demo"]
        }));
    }
    Ok(serde_json::from_value(json!({
        "version": "1.0.0",
        "conversations": list,
        "metadata": { "totalCount": conversations, "lastUpdated": start + conversations * 60_000, "totalTokens": tokens }
    }))?)
}
