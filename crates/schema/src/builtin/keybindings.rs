//! `KeybindingsState`: the user's keyboard shortcuts.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{BUILTIN_VERSION, SEMVER_PATTERN};
use crate::Document;

/// A command id: segments of letters, digits and `_`, joined by `.`, `:` or `-`
/// (`palette.open`, `workbench:toggle-sidebar`).
const COMMAND_PATTERN: &str = r"^[A-Za-z][A-Za-z0-9_]*([.:-][A-Za-z0-9_]+)*$";

/// A shortcut in Electron's accelerator notation: modifiers and a key joined by `+`
/// (`Ctrl+Shift+P`, `CmdOrCtrl+,`), or a chord of such strokes separated by one space
/// (`Ctrl+K Ctrl+S`).
const KEYS_PATTERN: &str = r"^([A-Za-z]+\+)*[^\s+]+( ([A-Za-z]+\+)*[^\s+]+)*$";

/// The user's keyboard shortcuts. Only the user's changes are stored; a command without a binding
/// here keeps the application's default shortcut.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KeybindingsState {
    /// Version of this data's schema (a semantic version).
    #[schemars(pattern(SEMVER_PATTERN))]
    pub version: String,
    /// The bindings; when two match the same keys in the same context, the later one wins.
    pub bindings: Vec<Keybinding>,
}

impl Document for KeybindingsState {
    const NAME: &'static str = "KeybindingsState";
    const VERSION: &'static str = BUILTIN_VERSION;
}

/// A fresh install: the application's default shortcuts, none changed.
impl Default for KeybindingsState {
    fn default() -> Self {
        Self {
            version: BUILTIN_VERSION.to_owned(),
            bindings: Vec::new(),
        }
    }
}

/// One shortcut: which keys run which command, and where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Keybinding {
    /// The command the keys run, e.g. `"palette.open"`.
    #[schemars(pattern(COMMAND_PATTERN), length(max = 200))]
    pub command: String,
    /// The keys, e.g. `"Ctrl+Shift+P"` or the chord `"Ctrl+K Ctrl+S"`.
    #[schemars(pattern(KEYS_PATTERN), length(max = 100))]
    pub keys: String,
    /// Context in which the binding applies, as the application's context expression
    /// (e.g. `"editorFocus && !readOnly"`); absent means everywhere.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String", length(min = 1))]
    pub when: Option<String>,
    /// Turns the command's default shortcut with these keys off instead of adding one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "bool")]
    pub disabled: Option<bool>,
}
