//! `AppConfig`: the application's configuration file.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{BUILTIN_VERSION, MAX_SAFE_INTEGER, SEMVER_PATTERN};
use crate::Document;

/// An absolute path: POSIX (`/…`), Windows drive (`C:\…` or `C:/…`) or UNC (`\\server\…`).
/// Relative paths are refused because they would resolve against whatever the working directory
/// happens to be when the application starts.
const ABSOLUTE_PATH_PATTERN: &str = r"^(/|[A-Za-z]:[\\/]|\\\\)";

/// The configuration of the desktop application: its window, where it keeps its files, which
/// features are on, how much it logs and how it updates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AppConfig {
    /// Version of this data's schema (a semantic version).
    #[schemars(pattern(SEMVER_PATTERN))]
    pub version: String,
    /// Main window placement, restored at start-up.
    pub window: WindowState,
    /// Folder overrides; each one absent means the platform's default.
    pub paths: DataPaths,
    /// Feature flags by name; a flag that is absent takes the build's default.
    #[schemars(extend("propertyNames" = { "minLength": 1 }))]
    pub feature_flags: BTreeMap<String, bool>,
    /// Most verbose level written to the log.
    pub log_level: LogLevel,
    /// How the application looks for updates.
    pub updates: UpdateSettings,
}

impl Document for AppConfig {
    const NAME: &'static str = "AppConfig";
    const VERSION: &'static str = BUILTIN_VERSION;
}

/// The first start: a default-sized window wherever the system puts it, platform folders, no
/// flags, `info` logging, stable updates checked automatically.
impl Default for AppConfig {
    fn default() -> Self {
        Self {
            version: BUILTIN_VERSION.to_owned(),
            window: WindowState::default(),
            paths: DataPaths::default(),
            feature_flags: BTreeMap::new(),
            log_level: LogLevel::Info,
            updates: UpdateSettings::default(),
        }
    }
}

/// Main window placement (what Electron's `BrowserWindow` reports and accepts).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WindowState {
    /// Position and size of the window when it is neither maximised nor full screen; absent
    /// until the window was first placed, so the system chooses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "WindowBounds")]
    pub bounds: Option<WindowBounds>,
    /// Whether the window is maximised.
    pub maximized: bool,
    /// Whether the window is full screen.
    pub fullscreen: bool,
    /// Electron's id of the display the window was on; when that display is gone the window
    /// opens on the primary one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "u64", range(max = MAX_SAFE_INTEGER))]
    pub display_id: Option<u64>,
}

/// A window rectangle in screen pixels. `x` and `y` may be negative on multi-monitor setups.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WindowBounds {
    /// Left edge.
    pub x: i32,
    /// Top edge.
    pub y: i32,
    /// Width (at least 1).
    #[schemars(range(min = 1))]
    pub width: u32,
    /// Height (at least 1).
    #[schemars(range(min = 1))]
    pub height: u32,
}

/// Folder overrides. Each is an absolute path; absent means the platform's default folder.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DataPaths {
    /// Where the state store lives (its root folder).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String", pattern(ABSOLUTE_PATH_PATTERN))]
    pub data_dir: Option<String>,
    /// Where log files go.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String", pattern(ABSOLUTE_PATH_PATTERN))]
    pub logs_dir: Option<String>,
    /// Where caches go (safe to delete).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String", pattern(ABSOLUTE_PATH_PATTERN))]
    pub cache_dir: Option<String>,
}

/// Log verbosity, from least to most.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
#[allow(missing_docs)] // the level names are the usual ones
pub enum LogLevel {
    Error,
    Warn,
    #[default]
    Info,
    Debug,
    Trace,
}

/// How the application updates itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateSettings {
    /// Which releases to follow.
    pub channel: UpdateChannel,
    /// Whether to look for updates at start-up and periodically.
    pub check_automatically: bool,
}

impl Default for UpdateSettings {
    fn default() -> Self {
        Self {
            channel: UpdateChannel::Stable,
            check_automatically: true,
        }
    }
}

/// Release channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum UpdateChannel {
    /// Tested releases.
    #[default]
    Stable,
    /// Release candidates.
    Beta,
    /// Daily builds.
    Nightly,
}
