//! `UserPreferencesState`: the user's settings.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{BUILTIN_VERSION, SEMVER_PATTERN};
use crate::Document;

/// A BCP 47 language tag in its common shapes (`en`, `en-US`, `zh-Hant-TW`).
const LANGUAGE_PATTERN: &str = r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$";

/// The user's preferences: appearance, language, key bindings, privacy choices.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UserPreferencesState {
    /// Version of this data's schema (a semantic version).
    #[schemars(pattern(SEMVER_PATTERN))]
    pub version: String,
    /// Colour theme.
    pub theme: Theme,
    /// Interface language as a BCP 47 tag, e.g. `"en"` or `"de-CH"`.
    #[schemars(pattern(LANGUAGE_PATTERN))]
    pub language: String,
    /// Shortcut by command id, e.g. `"palette.open": "CmdOrCtrl+K"`.
    pub key_bindings: BTreeMap<String, String>,
    /// Layout of the interface.
    pub ui: UiPreferences,
    /// What the application may send home.
    pub privacy: PrivacyPreferences,
}

impl Document for UserPreferencesState {
    const NAME: &'static str = "UserPreferencesState";
    const VERSION: &'static str = BUILTIN_VERSION;
}

/// A fresh install: the system's theme, English, no custom key bindings, a normal grid with lines,
/// and nothing sent home until the user opts in.
impl Default for UserPreferencesState {
    fn default() -> Self {
        Self {
            version: BUILTIN_VERSION.to_owned(),
            theme: Theme::Auto,
            language: "en".to_owned(),
            key_bindings: BTreeMap::new(),
            ui: UiPreferences::default(),
            privacy: PrivacyPreferences::default(),
        }
    }
}

/// Colour theme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Theme {
    /// Light text on a dark background.
    Dark,
    /// Dark text on a light background.
    Light,
    /// Follow the operating system.
    #[default]
    Auto,
}

/// Interface layout preferences.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UiPreferences {
    /// Whether the sidebar is folded away.
    pub sidebar_collapsed: bool,
    /// Spacing of the widget grid.
    pub grid_density: GridDensity,
    /// Whether grid lines are drawn.
    pub show_grid_lines: bool,
}

impl Default for UiPreferences {
    fn default() -> Self {
        Self {
            sidebar_collapsed: false,
            grid_density: GridDensity::Normal,
            show_grid_lines: true,
        }
    }
}

/// Spacing of the widget grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
#[allow(missing_docs)] // the names say it
pub enum GridDensity {
    Compact,
    #[default]
    Normal,
    Spacious,
}

/// What the application may send home. Both are off until the user opts in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PrivacyPreferences {
    /// Usage statistics may be sent.
    pub telemetry_enabled: bool,
    /// Crash reports may be sent.
    pub crash_reporting_enabled: bool,
}
