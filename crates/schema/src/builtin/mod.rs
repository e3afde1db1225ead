//! The documents of the application's module specification, with its field names on the wire.

mod config;
mod context;
mod environment;
mod history;
mod keybindings;
mod layout;
mod preferences;
mod themes;

pub use config::{
    AppConfig, DataPaths, LogLevel, UpdateChannel, UpdateSettings, WindowBounds, WindowState,
};
pub use context::{ContextEntity, ConversationContext, PinnedMessage};
pub use environment::{EnvironmentConfig, EnvironmentName};
pub use history::{ConversationEntry, ConversationHistoryState, HistoryMetadata, Message, Role};
pub use keybindings::{Keybinding, KeybindingsState};
pub use layout::{GridLayoutState, LayoutItem, LayoutMetadata, ResizeHandle, WidgetInstance};
pub use preferences::{
    GridDensity, PrivacyPreferences, Theme, UiPreferences, UserPreferencesState,
};
pub use themes::{ThemeBase, ThemeDefinition, ThemesState};

/// A semantic version, as `semver` parses it (semver.org's regular expression). Every built-in
/// document has a `version` field that must match it.
pub(crate) const SEMVER_PATTERN: &str = r"^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-(0|[1-9][0-9]*|[0-9]*[a-zA-Z-][0-9a-zA-Z-]*)(\.(0|[1-9][0-9]*|[0-9]*[a-zA-Z-][0-9a-zA-Z-]*))*)?(\+[0-9a-zA-Z-]+(\.[0-9a-zA-Z-]+)*)?$";

/// The largest integer a JavaScript number holds exactly (`Number.MAX_SAFE_INTEGER`). Counters and
/// millisecond timestamps are capped at it, so the front end never reads a rounded value.
pub(crate) const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// The version of every built-in document's schema.
pub(crate) const BUILTIN_VERSION: &str = "1.0.0";
