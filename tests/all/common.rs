//! Realistic sample states and small helpers shared by the facade's tests.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};
use statevault::schema::{
    ConversationEntry, ConversationHistoryState, GridDensity, GridLayoutState, HistoryMetadata,
    LayoutItem, LayoutMetadata, Message, PrivacyPreferences, Role, Theme, UiPreferences,
    UserPreferencesState, WidgetInstance,
};

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        other => panic!("a sample object is an object, not {other}"),
    }
}

fn item(i: &str, x: u32, y: u32, w: u32, h: u32) -> LayoutItem {
    LayoutItem {
        i: i.to_owned(),
        x,
        y,
        w,
        h,
        min_w: None,
        max_w: None,
        min_h: None,
        max_h: None,
        is_static: None,
        moved: None,
        is_draggable: None,
        is_resizable: None,
        is_bounded: None,
        resize_handles: None,
    }
}

/// A dashboard of four widgets, with the optional fields of react-grid-layout used.
pub fn grid_layout() -> GridLayoutState {
    let mut chart = item("chart-1", 0, 0, 6, 4);
    chart.min_w = Some(2);
    chart.max_h = Some(12);
    let mut clock = item("clock-1", 6, 0, 2, 2);
    clock.is_static = Some(true);
    let mut terminal = item("terminal-1", 0, 4, 8, 6);
    terminal.is_resizable = Some(true);
    terminal.resize_handles = Some(vec![
        statevault::schema::ResizeHandle::Se,
        statevault::schema::ResizeHandle::E,
    ]);
    let chat = item("chat-1", 8, 0, 4, 10);
    let layout: BTreeMap<String, LayoutItem> = [chart, clock, terminal, chat]
        .into_iter()
        .map(|item| (item.i.clone(), item))
        .collect();
    let instances: BTreeMap<String, WidgetInstance> = [
        WidgetInstance {
            id: "chart-1".into(),
            widget_type: "timeseries-chart".into(),
            title: Some("CPU load".into()),
            config: object(
                json!({"series": ["user", "system"], "windowSeconds": 300, "stacked": true}),
            ),
            state: object(json!({"zoom": 1.5, "hidden": ["system"]})),
        },
        WidgetInstance {
            id: "clock-1".into(),
            widget_type: "clock".into(),
            title: None,
            config: object(json!({"timeZone": "Europe/Zurich", "format24h": true})),
            state: Map::new(),
        },
        WidgetInstance {
            id: "terminal-1".into(),
            widget_type: "terminal".into(),
            title: Some("build".into()),
            config: object(json!({"shell": "/bin/bash", "fontSize": 13})),
            state: object(
                json!({"scrollback": ["$ cargo test", "ok: 112 passed"], "cwd": "/home/ana/src"}),
            ),
        },
        WidgetInstance {
            id: "chat-1".into(),
            widget_type: "assistant-chat".into(),
            title: Some("Assistant — ünïcödé ✓".into()),
            config: object(json!({"model": "local-7b", "temperature": 0.2})),
            state: object(
                json!({"draft": "explain \"atomic rename\"\nplease", "conversationId": "c-2"}),
            ),
        },
    ]
    .into_iter()
    .map(|w| (w.id.clone(), w))
    .collect();
    GridLayoutState {
        version: "1.0.0".into(),
        timestamp: 1_764_126_784_000,
        layout,
        instances,
        metadata: LayoutMetadata {
            name: "Developer dashboard".into(),
            description: Some("the default layout after onboarding".into()),
            tags: vec!["default".into(), "dev".into()],
        },
    }
}

/// Preferences with every field away from its default.
pub fn preferences() -> UserPreferencesState {
    UserPreferencesState {
        version: "1.0.0".into(),
        theme: Theme::Dark,
        language: "de-CH".into(),
        key_bindings: [
            ("command-palette", "Ctrl+Shift+P"),
            ("toggle-sidebar", "Ctrl+B"),
            ("new-conversation", "Ctrl+N"),
        ]
        .into_iter()
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
        .collect(),
        ui: UiPreferences {
            sidebar_collapsed: true,
            grid_density: GridDensity::Compact,
            show_grid_lines: false,
        },
        privacy: PrivacyPreferences {
            telemetry_enabled: false,
            crash_reporting_enabled: true,
        },
    }
}

fn message(conversation: usize, n: usize, content: String) -> Message {
    let role = match n % 4 {
        0 => Role::User,
        1 => Role::Assistant,
        2 => Role::Tool,
        _ => Role::Assistant,
    };
    Message {
        id: format!("m-{conversation}-{n}"),
        role,
        tokens: (!n.is_multiple_of(3)).then_some((content.len() / 4) as u64),
        content,
        timestamp: 1_764_000_000_000 + (conversation * 100_000 + n * 1_000) as u64,
    }
}

/// Three conversations of several messages each, one with a system prompt, tags and no title.
pub fn history() -> ConversationHistoryState {
    let mut conversations = Vec::new();
    for c in 0..3 {
        let mut messages = Vec::new();
        if c == 1 {
            messages.push(Message {
                id: "m-1-system".into(),
                role: Role::System,
                content: "You are a careful assistant.".into(),
                timestamp: 1_764_000_000_000,
                tokens: None,
            });
        }
        for n in 0..(4 + c * 3) {
            messages.push(message(
                c,
                n,
                format!("message {n} of conversation {c}: \"quoted\", newline\n, tab\t, emoji 🚀"),
            ));
        }
        conversations.push(ConversationEntry {
            id: format!("c-{c}"),
            title: (c != 2).then(|| format!("Conversation {c}")),
            created_at: 1_764_000_000_000 + c as u64,
            updated_at: 1_764_100_000_000 + c as u64,
            messages,
            tags: (c == 0).then(|| vec!["work".to_owned(), "rust".to_owned()]),
        });
    }
    let total_tokens = conversations
        .iter()
        .flat_map(|c| &c.messages)
        .filter_map(|m| m.tokens)
        .sum();
    ConversationHistoryState {
        version: "1.0.0".into(),
        metadata: HistoryMetadata {
            total_count: conversations.len() as u64,
            last_updated: 1_764_100_000_002,
            total_tokens,
        },
        conversations,
    }
}

/// A store with the module specification's documents, as its application opens one.
pub fn spec_store(dir: &Path) -> statevault::Store {
    statevault::Store::open_with(
        dir,
        statevault::StoreOptions::new().with_builtin_documents(),
    )
    .unwrap()
}

/// Every file below `root` (recursively), as paths.
pub fn files_below(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out
}

/// The temp files of an unfinished atomic write anywhere below `root`.
pub fn temp_files(root: &Path) -> Vec<PathBuf> {
    files_below(root)
        .into_iter()
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(statevault::layers::storage::StoreFiles::is_unfinished_write)
        })
        .collect()
}

/// The offset of the first occurrence of `needle` in `haystack`.
pub fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Whether any `window`-byte slice of `plaintext` occurs in `file`.
pub fn shares_a_substring(file: &[u8], plaintext: &[u8], window: usize) -> Option<String> {
    let windows: std::collections::HashSet<&[u8]> = file.windows(window).collect();
    plaintext
        .windows(window)
        .find(|w| windows.contains(w))
        .map(|w| String::from_utf8_lossy(w).into_owned())
}

/// The file of `key` as the test is about to read or damage it: a writer checkpoints first,
/// since its latest saves are in the journal until its idle checkpoint or its drop writes them
/// into the keys' files.
pub(crate) fn file_of(store: &statevault::Store, key: &str) -> PathBuf {
    if store.is_writer() {
        store.checkpoint().unwrap();
    }
    store.path_of(key).unwrap()
}
