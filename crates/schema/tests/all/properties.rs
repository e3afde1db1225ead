//! Properties: every value of a built-in type validates against its schema and round-trips; a
//! value the schema accepts always deserialises; the TypeScript generator never panics.

use proptest::prelude::*;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use statevault_schema::contract::{BackupInfo, BatchOperation, SaveOptions};
use statevault_schema::{
    AppConfig, ConversationHistoryState, Document, DocumentInfo, GridLayoutState,
    UserPreferencesState, schema_for, typescript, validate,
};

use crate::strategies;

/// `value` serialises to JSON that `info` accepts and that deserialises back to `value`.
fn accepted_and_round_trips<T>(info: &DocumentInfo, value: &T) -> Result<(), TestCaseError>
where
    T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let json = serde_json::to_value(value).expect("serialises");
    if let Err(e) = info.validate(&json) {
        return Err(TestCaseError::fail(format!("{e}\nvalue: {json}")));
    }
    let back: T = serde_json::from_value(json).expect("deserialises");
    prop_assert_eq!(&back, value);
    Ok(())
}

fn doc<T: Document>() -> std::sync::Arc<DocumentInfo> {
    statevault_schema::document_info::<T>()
}

fn contract<T: schemars::JsonSchema>(name: &str) -> DocumentInfo {
    DocumentInfo::from_schema(name, "1.0.0", schema_for::<T>()).expect("compiles")
}

/// Replaces the node at a random place in `value` by `replacement`; `pick` chooses the place.
fn mutate(value: &mut Value, pick: usize, replacement: Value) {
    fn count(v: &Value) -> usize {
        1 + match v {
            Value::Array(items) => items.iter().map(count).sum(),
            Value::Object(map) => map.values().map(count).sum(),
            _ => 0,
        }
    }
    fn walk(v: &mut Value, mut n: usize, replacement: Value) -> Result<(), (usize, Value)> {
        if n == 0 {
            *v = replacement;
            return Ok(());
        }
        n -= 1;
        let children: Vec<&mut Value> = match v {
            Value::Array(items) => items.iter_mut().collect(),
            Value::Object(map) => map.values_mut().collect(),
            _ => Vec::new(),
        };
        let mut replacement = replacement;
        for child in children {
            match walk(child, n, replacement) {
                Ok(()) => return Ok(()),
                Err((left, r)) => {
                    n = left;
                    replacement = r;
                }
            }
        }
        Err((n, replacement))
    }
    let total = count(value);
    let _ = walk(value, pick % total, replacement);
}

/// Whatever the schema accepts, serde accepts too: validation never lets through data that
/// would then fail to load.
fn accepted_means_deserialisable<T: Document>(
    mut json: Value,
    pick: usize,
    replacement: Value,
) -> Result<(), TestCaseError> {
    mutate(&mut json, pick, replacement);
    match validate::<T>(&json) {
        Ok(()) => {
            if let Err(e) = serde_json::from_value::<T>(json.clone()) {
                return Err(TestCaseError::fail(format!(
                    "schema accepted what serde refuses ({e}): {json}"
                )));
            }
        }
        Err(e) => prop_assert!(!e.violations.is_empty()),
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn grid_layouts_validate(value in strategies::grid_layout()) {
        accepted_and_round_trips(&doc::<GridLayoutState>(), &value)?;
    }

    #[test]
    fn preferences_validate(value in strategies::preferences()) {
        accepted_and_round_trips(&doc::<UserPreferencesState>(), &value)?;
    }

    #[test]
    fn histories_validate(value in strategies::history()) {
        accepted_and_round_trips(&doc::<ConversationHistoryState>(), &value)?;
    }

    #[test]
    fn app_configs_validate(value in strategies::app_config()) {
        accepted_and_round_trips(&doc::<AppConfig>(), &value)?;
    }

    #[test]
    fn save_options_validate(value in strategies::save_options()) {
        accepted_and_round_trips(&contract::<SaveOptions>("SaveOptions"), &value)?;
    }

    #[test]
    fn batch_operations_validate(value in strategies::batch_operation()) {
        accepted_and_round_trips(&contract::<BatchOperation>("BatchOperation"), &value)?;
    }

    #[test]
    fn backup_infos_validate(value in strategies::backup_info()) {
        accepted_and_round_trips(&contract::<BackupInfo>("BackupInfo"), &value)?;
    }

    #[test]
    fn mutated_layouts_validate_only_if_they_deserialise(
        value in strategies::grid_layout(), pick in any::<usize>(), replacement in strategies::json(),
    ) {
        accepted_means_deserialisable::<GridLayoutState>(serde_json::to_value(value).unwrap(), pick, replacement)?;
    }

    #[test]
    fn mutated_preferences_validate_only_if_they_deserialise(
        value in strategies::preferences(), pick in any::<usize>(), replacement in strategies::json(),
    ) {
        accepted_means_deserialisable::<UserPreferencesState>(serde_json::to_value(value).unwrap(), pick, replacement)?;
    }

    #[test]
    fn mutated_histories_validate_only_if_they_deserialise(
        value in strategies::history(), pick in any::<usize>(), replacement in strategies::json(),
    ) {
        accepted_means_deserialisable::<ConversationHistoryState>(serde_json::to_value(value).unwrap(), pick, replacement)?;
    }

    #[test]
    fn mutated_configs_validate_only_if_they_deserialise(
        value in strategies::app_config(), pick in any::<usize>(), replacement in strategies::json(),
    ) {
        accepted_means_deserialisable::<AppConfig>(serde_json::to_value(value).unwrap(), pick, replacement)?;
    }

    /// Arbitrary JSON as a schema: the generator answers or refuses, and the same input always
    /// gives the same answer.
    #[test]
    fn typescript_never_panics_and_is_deterministic(schema in strategies::json()) {
        let first = typescript(&schema, "T").map_err(|e| e.to_string());
        let second = typescript(&schema, "T").map_err(|e| e.to_string());
        prop_assert_eq!(first, second);
    }

    /// Real schemas with random parts replaced: still no panic.
    #[test]
    fn typescript_survives_mangled_schemas(pick in any::<usize>(), replacement in strategies::json()) {
        let mut schema = schema_for::<GridLayoutState>();
        mutate(&mut schema, pick, replacement);
        let _ = typescript(&schema, "GridLayoutState");
    }
}
