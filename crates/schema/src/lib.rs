//! Typed documents for statevault: the [`Document`] trait, JSON Schema validation, the
//! application's built-in state types, a key-pattern [`Registry`], and a TypeScript generator.
//!
//! A document is a Rust type with serde and [`schemars::JsonSchema`] derives, a stable name and a
//! semantic version. Its JSON Schema (draft 2020-12) is generated from the type and compiled into
//! a validator once per type and process; validation lists every violation with a JSON pointer.
//! The same schemas become `schemas/*.schema.json` and TypeScript declarations
//! (`cargo xtask codegen`), so the front end and the store cannot drift apart.
//!
//! This layer depends on no other statevault crate. It does not read or write files: the facade
//! (`statevault`) decodes, migrates, then validates with this crate, then deserialises.
//!
//! ```
//! use serde::{Deserialize, Serialize};
//! use statevault_schema::{Document, Registry, UserPreferencesState, validate};
//!
//! // A built-in document: valid data passes, and a failure names every bad field.
//! let prefs = serde_json::to_value(UserPreferencesState::default())?;
//! validate::<UserPreferencesState>(&prefs)?;
//! let mut bad = prefs.clone();
//! bad["theme"] = "neon".into();
//! bad["ui"]["showGridLines"] = "yes".into();
//! let err = validate::<UserPreferencesState>(&bad).unwrap_err();
//! let pointers: Vec<&str> = err.violations.iter().map(|v| v.pointer.as_str()).collect();
//! assert_eq!(pointers, ["/theme", "/ui/showGridLines"]);
//!
//! // An application's own document, registered for its keys.
//! #[derive(Serialize, Deserialize, schemars::JsonSchema)]
//! struct Draft {
//!     #[schemars(length(min = 1))]
//!     text: String,
//! }
//! impl Document for Draft {
//!     const NAME: &'static str = "Draft";
//!     const VERSION: &'static str = "1.0.0";
//! }
//! let mut registry = Registry::builtin();
//! registry.register::<Draft>("drafts.*")?;
//! let info = registry.lookup("drafts.monday").expect("registered");
//! assert!(info.validate(&serde_json::json!({ "text": "" })).is_err());
//! assert_eq!(registry.lookup("layout.default").unwrap().name(), "GridLayoutState");
//!
//! // Its TypeScript declaration.
//! let ts = statevault_schema::typescript(info.schema(), "Draft")?;
//! assert!(ts.contains("export interface Draft {\n  text: string;\n}"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Features
//!
//! | feature | default | adds | dependencies |
//! |---|---|---|---|
//! | `validation` | on | `DocumentInfo::validate`, `compile`, partial validation of patches | `jsonschema` |
//! | `typescript` | on | the TypeScript generator and the generated files | — |
//!
//! Without `validation` the validating functions do not exist (nothing answers "valid" without
//! looking); documents, versions, migrations, the registry and [`schema_for`] are in every build.
//!
//! # Limitations
//!
//! - Validation is JSON Schema's: relations between fields (`minW <= w <= maxW`, a layout key
//!   equal to its item's `i`, `totalCount` equal to the number of conversations) are not checked.
//! - `format` is an annotation, not an assertion (draft 2020-12's default), so integer widths are
//!   enforced by the `minimum`/`maximum` that [`schema_for`] adds for 32-bit integers and by the
//!   bounds on the built-in fields; a 64-bit integer of an application's own type is bounded only
//!   by deserialisation.
//! - JSON Schema counts `1.0` as an integer and serde's integer types do not, so such a value
//!   (never written by JavaScript's `JSON.stringify`) passes validation and then fails to
//!   deserialise — an error, not a panic.
//! - The TypeScript generator translates local references (`#`, `#/$defs/…`) only, ignores
//!   `if`/`then`/`else`, `not` and the dependent keywords, and declares extra properties next to
//!   named ones as `[key: string]: unknown` rather than the precise type.
//! - A document's `NAME` and `VERSION` are checked at compile time only where
//!   [`DocumentInfo::of`] is instantiated for the type (every path in this crate does), and by
//!   `cargo build`, not by `cargo check`.
#![deny(missing_docs)]

mod builtin;
#[cfg(feature = "typescript")]
mod codegen;
pub mod contract;
mod document;
mod error;
mod partial;
mod registry;
#[cfg(feature = "typescript")]
mod typescript;

pub use builtin::{
    AppConfig, ContextEntity, ConversationContext, ConversationEntry, ConversationHistoryState,
    DataPaths, EnvironmentConfig, EnvironmentName, GridDensity, GridLayoutState, HistoryMetadata,
    Keybinding, KeybindingsState, LayoutItem, LayoutMetadata, LogLevel, Message, PinnedMessage,
    PrivacyPreferences, ResizeHandle, Role, Theme, ThemeBase, ThemeDefinition, ThemesState,
    UiPreferences, UpdateChannel, UpdateSettings, UserPreferencesState, WidgetInstance,
    WindowBounds, WindowState,
};
#[cfg(feature = "typescript")]
pub use codegen::{
    GeneratedFile, SCHEMAS_DIR, StaleFile, Staleness, TYPESCRIPT_PATH, ensure_generated_files,
    generated_files, stale_files,
};
#[cfg(feature = "validation")]
pub use document::validate;
pub use document::{
    Document, DocumentInfo, MigrationStep, ValidationError, Violation, document_info, schema_for,
};
pub use error::Error;
pub use partial::Touched;
#[cfg(feature = "validation")]
pub use partial::{Checked, Verdict};
pub use registry::Registry;
#[cfg(feature = "typescript")]
pub use typescript::{TypeScriptModule, typescript};

/// The README's example, compiled and run as a test so that it stays true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
