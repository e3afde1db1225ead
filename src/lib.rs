//! statevault: the local state store of a desktop application.
//!
//! Grid layouts, user settings, conversation history and configuration survive restarts,
//! crashes and power loss; stay valid against their schemas; upgrade across versions; and can
//! be compressed and encrypted at rest with a key from the operating system's keychain.
//!
//! This crate is the facade: it composes the layers (`statevault-core` for atomic durable
//! files, `statevault-codec` for the file formats and encryption, `statevault-schema` for
//! validation, `statevault-migrate` for version upgrades) into one save path and one load path.
//!
//! ```
//! use statevault::{Store, schema::UserPreferencesState};
//!
//! let dir = tempfile::tempdir()?;
//! let store = Store::open(dir.path())?;
//! let mut prefs = UserPreferencesState::default();
//! prefs.language = "de".into();
//! store.save("settings.preferences", &prefs)?;
//! drop(store);
//!
//! let store = Store::open(dir.path())?;
//! let loaded: UserPreferencesState = store.load_or_default("settings.preferences")?;
//! assert_eq!(loaded.language, "de");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Limitations
//! - One process writes a store at a time; others may read ([`StoreOptions::read_only`]).
//! - Local storage only: no synchronisation between machines or instances.
//! - Values are held in memory whole while they are saved or loaded.
#![deny(missing_docs)]

mod audit;
mod batch;
mod error;
mod fold;
mod format;
mod json;
mod key;
pub mod metric;
mod options;
mod patch;
mod pipeline;
mod store;
mod validate;

pub use audit::{AuditEntry, AuditProblem, AuditReport};
pub use batch::Batch;
pub use error::{Error, ErrorKind, Result};
pub use format::FileFormat;
pub use json::check_json_text;
pub use options::{DEFAULT_HOT_DOCUMENTS_BYTES, StoreOptions};
pub use patch::{Patch, PatchError, PatchFailure};
pub use pipeline::UNVERSIONED;
pub use store::Store;
pub use store::keys::KeyUsage;
pub use store::migrate::{MigrationOutcome, MigrationReport};
pub use store::patch::{PatchReport, PatchValidation};
pub use store::repair::{AutoRepair, RepairAction, RepairOutcome, RepairReport, Reported};
pub use store::verify::{KeyInfo, KeyReport, KeyStatus};
pub use validate::validate_json_schema;

#[cfg(feature = "backup")]
pub use statevault_backup::{
    BackupId, BackupInfo, BackupKind, Policies, Policy, PruneReport, RestoreReport, VerifyReport,
};
/// The OS keychain as key provider (the default one).
#[cfg(feature = "encryption")]
pub use statevault_codec::KeychainProvider;
pub use statevault_codec::{DataKey, Zeroizing};
pub use statevault_codec::{
    EnvKeyProvider, FileKeyProvider, KEY_ENV_VAR, KeyId, KeyProvider, KeySet, StaticKeyProvider,
};
pub use statevault_core::{Durability, IdentityRecovery, Key, KeyError, StoreInfo};
/// The semantic version of a document, as migrations name them.
pub use statevault_migrate::Version;
pub use statevault_schema::contract::SaveOptions;
pub use statevault_schema::{
    Document, DocumentInfo, MigrationStep, Registry, Touched, ValidationError, Violation,
};

/// Derive `JsonSchema` for an application's own [`Document`] types with this version of
/// schemars.
pub use schemars;

/// The layers, for what the facade does not re-export.
pub mod layers {
    #[cfg(feature = "backup")]
    pub use statevault_backup as backup;
    pub use statevault_codec as codec;
    pub use statevault_core as storage;
    pub use statevault_migrate as migrate;
    pub use statevault_schema as schema;
}

/// The built-in documents of the module specification and the contract's wire types.
pub mod schema {
    pub use statevault_schema::contract;
    pub use statevault_schema::{
        AppConfig, ContextEntity, ConversationContext, ConversationEntry, ConversationHistoryState,
        DataPaths, EnvironmentConfig, EnvironmentName, GridDensity, GridLayoutState,
        HistoryMetadata, Keybinding, KeybindingsState, LayoutItem, LayoutMetadata, LogLevel,
        Message, PinnedMessage, PrivacyPreferences, ResizeHandle, Role, Theme, ThemeBase,
        ThemeDefinition, ThemesState, UiPreferences, UpdateChannel, UpdateSettings,
        UserPreferencesState, WidgetInstance, WindowBounds, WindowState,
    };
    /// The generated JSON Schemas and TypeScript declarations of the built-in documents.
    #[cfg(feature = "schema")]
    pub use statevault_schema::{GeneratedFile, generated_files};
}
