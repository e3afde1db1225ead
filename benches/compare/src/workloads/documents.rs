//! The documents every contender saves and loads: deterministic settings, a grid layout and a
//! conversation history of a chosen size.

use serde_json::{Value, json};

/// A deterministic source of words, so the documents compress like text, not like repetition.
struct Words(u64);

const WORDS: &[&str] = &[
    "the",
    "a",
    "layout",
    "widget",
    "panel",
    "query",
    "result",
    "please",
    "could",
    "you",
    "explain",
    "why",
    "this",
    "function",
    "returns",
    "an",
    "error",
    "when",
    "file",
    "is",
    "missing",
    "here",
    "rust",
    "code",
    "compile",
    "borrow",
    "checker",
    "lifetime",
    "async",
    "await",
    "thread",
    "memory",
    "cache",
    "index",
    "table",
    "column",
    "row",
    "value",
    "key",
    "store",
    "save",
    "load",
    "crash",
    "power",
    "loss",
    "disk",
    "sync",
    "rename",
    "folder",
    "encrypt",
    "compress",
    "schema",
    "version",
    "migrate",
    "backup",
    "restore",
    "user",
    "setting",
    "theme",
    "dark",
    "light",
    "font",
    "size",
    "window",
    "bounds",
    "screen",
    "chart",
    "graph",
    "data",
    "report",
    "summary",
    "great",
    "thanks",
    "sure",
    "let",
    "me",
    "check",
    "that",
    "first",
    "then",
    "run",
    "test",
    "again",
    "and",
    "or",
    "but",
    "with",
    "without",
    "for",
    "in",
    "on",
    "of",
    "to",
    "from",
    "it",
    "works",
    "now",
    "fails",
    "sometimes",
    "always",
    "never",
    "quickly",
    "slowly",
    "because",
    "however",
    "example",
    "output",
    "input",
    "line",
];

impl Words {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn text(&mut self, words: usize) -> String {
        let mut out = String::new();
        for i in 0..words {
            if i > 0 {
                out.push(if self.below(12) == 0 { '.' } else { ' ' });
                if out.ends_with('.') {
                    out.push(' ');
                }
            }
            out.push_str(WORDS[self.below(WORDS.len() as u64) as usize]);
        }
        out
    }
}

/// The length of `value` serialized.
pub(crate) fn json_len(value: &Value) -> usize {
    serde_json::to_vec(value).expect("JSON").len()
}

/// User settings of about `target` bytes.
pub(crate) fn settings(target: usize) -> Value {
    let mut words = Words(0x5e77_1165);
    let mut value = json!({
        "version": "1.0.0",
        "theme": "dark",
        "language": "en",
        "revision": 0,
        "ui": {"fontSize": 14, "density": "comfortable", "sidebarWidth": 280, "showStatusBar": true},
        "privacy": {"telemetry": false, "crashReports": true},
        "shortcuts": {"mod+k": "palette", "mod+s": "save", "mod+shift+p": "commands"},
        "recentFiles": [],
    });
    while json_len(&value) < target {
        let file = format!("/home/user/projects/{}/{}.md", words.text(1), words.text(1));
        value["recentFiles"]
            .as_array_mut()
            .expect("array")
            .push(Value::String(file));
    }
    value
}

/// A grid layout of about `target` bytes.
pub(crate) fn layout(target: usize) -> Value {
    let mut words = Words(0x1a70_0715);
    let mut value = json!({
        "version": "1.0.0",
        "layouts": {"lg": [], "md": []},
        "widgets": [],
        "metadata": {"name": "default", "createdAt": 1_764_126_784_000u64, "updatedAt": 1_764_126_784_000u64},
    });
    let mut i = 0u64;
    while json_len(&value) < target {
        let id = format!("w-{i:05}");
        for breakpoint in ["lg", "md"] {
            value["layouts"][breakpoint]
                .as_array_mut()
                .expect("array")
                .push(json!({
                    "i": id, "x": i % 12, "y": i / 12 * 4, "w": 4, "h": 4,
                    "minW": 2, "minH": 2, "static": false, "resizeHandles": ["se"],
                }));
        }
        let kind = ["chart", "table", "notes", "clock"][(i % 4) as usize];
        value["widgets"].as_array_mut().expect("array").push(json!({
            "id": id,
            "type": kind,
            "config": {"title": words.text(3), "query": words.text(8), "refreshSeconds": 30},
        }));
        i += 1;
    }
    value
}

/// A conversation history of about `target` bytes, valid as `ConversationHistoryState`.
pub(crate) fn history(target: usize) -> Value {
    let mut words = Words(0x4157_0e11);
    let mut conversations = Vec::new();
    let mut len = 128;
    let mut tokens_total = 0u64;
    let start = 1_764_000_000_000u64;
    let mut c = 0u64;
    while len < target {
        let mut messages = Vec::new();
        let count = 4 + words.below(12);
        for m in 0..count {
            let role = if m % 2 == 0 { "user" } else { "assistant" };
            let words_in = (10 + words.below(if m % 2 == 0 { 40 } else { 160 })) as usize;
            let tokens = words_in as u64 * 4 / 3;
            tokens_total += tokens;
            messages.push(json!({
                "id": format!("m-{c:06}-{m:03}"),
                "role": role,
                "content": words.text(words_in),
                "timestamp": start + c * 60_000 + m * 1_000,
                "tokens": tokens,
            }));
        }
        let conversation = json!({
            "id": format!("c-{c:06}"),
            "title": words.text(4),
            "createdAt": start + c * 60_000,
            "updatedAt": start + c * 60_000 + count * 1_000,
            "messages": messages,
            "tags": [words.text(1), words.text(1)],
        });
        len += json_len(&conversation) + 1;
        conversations.push(conversation);
        c += 1;
    }
    json!({
        "version": "1.0.0",
        "conversations": conversations,
        "metadata": {"totalCount": c, "lastUpdated": start + c * 60_000, "totalTokens": tokens_total},
    })
}
