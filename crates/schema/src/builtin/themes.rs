//! `ThemesState`: the colour themes the user can choose from, and which one is on.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{BUILTIN_VERSION, SEMVER_PATTERN};
use crate::Document;

/// A theme id: lower-case letters, digits, `-` and `_`, starting with a letter or digit, at most
/// 64 bytes (it is also used in CSS class names and file names).
pub(crate) const THEME_ID_PATTERN: &str = r"^[a-z0-9][a-z0-9_-]{0,63}$";

/// A colour token, dot- or dash-separated like VS Code's (`editor.background`, `accent-strong`).
const COLOR_TOKEN_PATTERN: &str = r"^[A-Za-z][A-Za-z0-9]*([.-][A-Za-z0-9]+)*$";

/// A colour as CSS writes it in hex: `#rrggbb`, or `#rrggbbaa` with an alpha channel.
const HEX_COLOR_PATTERN: &str = r"^#[0-9a-fA-F]{6}([0-9a-fA-F]{2})?$";

/// The user's colour themes: the built-in ones the application ships need not be stored, only
/// those the user made or changed, and the choice of the active one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ThemesState {
    /// Version of this data's schema (a semantic version).
    #[schemars(pattern(SEMVER_PATTERN))]
    pub version: String,
    /// Id of the theme in use: a key of `themes` or one of the application's built-in themes
    /// (such as `"light"` and `"dark"`).
    #[schemars(pattern(THEME_ID_PATTERN))]
    pub active: String,
    /// The user's themes by id.
    #[schemars(extend("propertyNames" = { "pattern": THEME_ID_PATTERN }))]
    pub themes: BTreeMap<String, ThemeDefinition>,
}

impl Document for ThemesState {
    const NAME: &'static str = "ThemesState";
    const VERSION: &'static str = BUILTIN_VERSION;
}

/// A fresh install: the application's own dark theme, no themes of the user's.
impl Default for ThemesState {
    fn default() -> Self {
        Self {
            version: BUILTIN_VERSION.to_owned(),
            active: "dark".to_owned(),
            themes: BTreeMap::new(),
        }
    }
}

/// One colour theme: a base look and the colours it changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ThemeDefinition {
    /// Name shown in the theme picker.
    #[schemars(length(min = 1, max = 100))]
    pub label: String,
    /// Which of the built-in looks this theme starts from; colours it does not set come from it.
    pub base: ThemeBase,
    /// Colour by token, e.g. `"editor.background": "#1e1e1e"`.
    #[schemars(extend(
        "propertyNames" = { "pattern": COLOR_TOKEN_PATTERN },
        "additionalProperties" = { "type": "string", "pattern": HEX_COLOR_PATTERN },
    ))]
    pub colors: BTreeMap<String, String>,
}

/// The built-in look a theme starts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ThemeBase {
    /// Dark text on a light background.
    Light,
    /// Light text on a dark background.
    Dark,
    /// Maximum contrast, for accessibility (`"high-contrast"`).
    HighContrast,
}
