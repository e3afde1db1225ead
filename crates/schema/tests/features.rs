//! The schema crate in every feature set: documents, their versions and the registry are there
//! without `validation` and `typescript`; what those add is there with them.
//!
//! CI runs this file with no features, each alone and both (`cargo xtask ci`, "features");
//! `tests/all.rs` needs both.

use serde_json::json;
use statevault_schema::{DocumentInfo, Registry, UserPreferencesState, document_info, schema_for};

#[test]
fn documents_and_the_registry_exist_in_every_build() {
    let info = document_info::<UserPreferencesState>();
    assert_eq!(info.name(), "UserPreferencesState");
    assert!(info.has_version_field());
    let registry = Registry::builtin();
    assert_eq!(
        registry
            .lookup("settings.preferences")
            .map(DocumentInfo::name),
        Some("UserPreferencesState")
    );
    assert_eq!(
        schema_for::<UserPreferencesState>()["type"],
        json!("object")
    );
    let own = DocumentInfo::from_schema("Note", "1.0.0", json!({"type": "object"})).unwrap();
    assert_eq!(own.version().to_string(), "1.0.0");
}

#[cfg(feature = "validation")]
#[test]
fn with_validation_a_value_is_checked_and_a_broken_schema_is_refused() {
    let info = DocumentInfo::from_schema(
        "Note",
        "1.0.0",
        json!({"type": "object", "required": ["title"]}),
    )
    .unwrap();
    assert!(info.validate(&json!({"title": "t"})).is_ok());
    let error = info.validate(&json!({})).unwrap_err();
    assert_eq!(error.violations.len(), 1);
    assert!(DocumentInfo::from_schema("Broken", "1.0.0", json!({"type": 12})).is_err());
}

#[cfg(feature = "typescript")]
#[test]
fn with_typescript_declarations_are_generated() {
    let info = document_info::<UserPreferencesState>();
    let module = statevault_schema::typescript(info.schema(), "UserPreferencesState").unwrap();
    assert!(
        module.to_string().contains("UserPreferencesState"),
        "{module}"
    );
    assert!(!statevault_schema::generated_files().unwrap().is_empty());
}
