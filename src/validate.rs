//! Validation against a JSON Schema given at run time, and migration of a value outside any
//! key: the module specification's `validateData` and `migrateData`.

use serde_json::Value;
use statevault_migrate::Version;
use statevault_schema::{DocumentInfo, ValidationError};

use crate::error::{Error, Result};
use crate::store::Store;

/// The name under which a schema given to [`validate_json_schema`] is compiled (it appears in
/// the violations' document name).
const AD_HOC_DOCUMENT: &str = "Schema";

/// Validates `value` against `schema`, a JSON Schema (draft 2020-12) given at run time.
///
/// The outer error is a schema that does not compile; the inner one lists every violation.
///
/// ```
/// use serde_json::json;
///
/// let schema = json!({"type": "object", "required": ["a"]});
/// assert!(statevault::validate_json_schema(&json!({"a": 1}), &schema)?.is_ok());
/// let violations = statevault::validate_json_schema(&json!({}), &schema)?.unwrap_err();
/// assert_eq!(violations.violations.len(), 1);
/// # Ok::<(), statevault::Error>(())
/// ```
pub fn validate_json_schema(
    value: &Value,
    schema: &Value,
) -> Result<std::result::Result<(), ValidationError>> {
    let document = DocumentInfo::from_schema(AD_HOC_DOCUMENT, "1.0.0", schema.clone())?;
    validate(&document, value)
}

#[cfg(feature = "schema")]
fn validate(
    document: &DocumentInfo,
    value: &Value,
) -> Result<std::result::Result<(), ValidationError>> {
    Ok(document.validate(value))
}

/// There is no validator in a build without the `schema` feature: saying "valid" would be a lie.
#[cfg(not(feature = "schema"))]
fn validate(
    document: &DocumentInfo,
    _value: &Value,
) -> Result<std::result::Result<(), ValidationError>> {
    Err(Error::FeatureDisabled {
        feature: "schema",
        operation: format!("validation against {}", document.name()),
    })
}

impl Store {
    /// Validates `value` against `schema`, a JSON Schema (draft 2020-12): the module
    /// specification's `validateData(data, schema)`. Same as [`validate_json_schema`]; to check
    /// a value against a document registered with the store, use
    /// [`Store::validate_as_document`].
    ///
    /// The outer error is a schema that does not compile; the inner one lists every violation.
    pub fn validate_data(
        &self,
        value: &Value,
        schema: &Value,
    ) -> Result<std::result::Result<(), ValidationError>> {
        validate_json_schema(value, schema)
    }

    /// Validates `value` against the registered document called `name` (e.g.
    /// `"UserPreferencesState"`), as a save under one of its keys would.
    pub fn validate_as_document(
        &self,
        value: &Value,
        name: &str,
    ) -> Result<std::result::Result<(), ValidationError>> {
        let document = self
            .registry()
            .get(name)
            .ok_or_else(|| Error::UnknownDocument {
                name: name.to_owned(),
            })?;
        validate(document, value)
    }

    /// Migrates `value` from version `from` to version `to`, without reading or writing any key:
    /// the module specification's `migrateData(data, fromVersion, toVersion)`. The document is
    /// the one whose registered migrations lead from `from` to `to`; none or several is an error
    /// (then name it with [`Store::migrate_as_document`]). Equal versions return the value
    /// unchanged.
    pub fn migrate_data(&self, value: Value, from: &str, to: &str) -> Result<Value> {
        self.migrate(None, value, from, to)
    }

    /// [`Store::migrate_data`] along the migrations registered for the document called
    /// `document`.
    pub fn migrate_as_document(
        &self,
        value: Value,
        document: &str,
        from: &str,
        to: &str,
    ) -> Result<Value> {
        self.migrate(Some(document), value, from, to)
    }

    fn migrate(&self, document: Option<&str>, value: Value, from: &str, to: &str) -> Result<Value> {
        let parse = |version: &str| {
            Version::parse(version).map_err(|source| {
                Error::Schema(statevault_schema::Error::InvalidVersion {
                    document: document.unwrap_or("").to_owned(),
                    version: version.to_owned(),
                    source,
                })
            })
        };
        let (from, to) = (parse(from)?, parse(to)?);
        if from == to {
            return Ok(value);
        }
        let migrations = self.pipeline().migrations();
        let name = match document {
            Some(name) => name.to_owned(),
            None => {
                let candidates: Vec<&str> = migrations
                    .documents()
                    .filter(|name| migrations.plan(name, &from, &to).is_ok())
                    .collect();
                match candidates.as_slice() {
                    [one] => (*one).to_owned(),
                    [] => {
                        return Err(Error::from(statevault_migrate::Error::NoPath {
                            document: "any registered document".to_owned(),
                            from,
                            to,
                        }));
                    }
                    several => {
                        return Err(Error::UnknownDocument {
                            name: format!("one of {} (name the document)", several.join(", ")),
                        });
                    }
                }
            }
        };
        Ok(migrations.apply(&name, value, &from, &to)?)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::{ErrorKind, Store, StoreOptions, validate_json_schema};

    #[cfg(not(feature = "schema"))]
    #[test]
    fn without_a_validator_validation_is_refused_not_passed() {
        let error = validate_json_schema(&json!({"n": 1}), &json!({"type": "object"})).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::FeatureDisabled);
        assert!(error.to_string().contains("`schema` feature"), "{error}");
    }

    #[cfg(feature = "schema")]
    #[test]
    fn a_runtime_schema_validates_and_a_broken_one_is_an_error() {
        let schema = json!({"type": "object", "properties": {"n": {"type": "integer"}}});
        assert!(
            validate_json_schema(&json!({"n": 1}), &schema)
                .unwrap()
                .is_ok()
        );
        let error = validate_json_schema(&json!({"n": "x"}), &schema)
            .unwrap()
            .unwrap_err();
        assert_eq!(error.violations[0].pointer, "/n");
        assert!(validate_json_schema(&json!(1), &json!({"type": 12})).is_err());
    }

    #[test]
    fn migrate_data_follows_the_registered_migrations() {
        let dir = tempfile::tempdir().unwrap();
        let v = |s: &str| s.parse().unwrap();
        let options = StoreOptions::new()
            .migration(
                "Note",
                v("1.0.0"),
                v("2.0.0"),
                "rename",
                |mut value: serde_json::Value| {
                    value["text"] = value["body"].take();
                    Ok::<_, String>(value)
                },
            )
            .unwrap();
        let store = Store::open_with(dir.path(), options).unwrap();
        let migrated = store
            .migrate_data(json!({"body": "hi"}), "1.0.0", "2.0.0")
            .unwrap();
        assert_eq!(migrated["text"], "hi");
        let same = store.migrate_data(json!(1), "1.0.0", "1.0.0").unwrap();
        assert_eq!(same, json!(1));
        let error = store
            .migrate_as_document(json!({}), "Note", "2.0.0", "3.0.0")
            .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Migration);
    }
}
