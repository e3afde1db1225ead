//! The `Document` trait, its runtime description `DocumentInfo`, and validation.

use std::any::TypeId;
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, OnceLock, PoisonError, RwLock};

use schemars::JsonSchema;
use schemars::generate::SchemaSettings;
use schemars::transform::{RecursiveTransform, Transform};
use semver::Version;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::Error;

/// A typed document that statevault stores under a key: serde for the bytes, `JsonSchema` for
/// the contract, a stable name and a semantic version of that contract.
///
/// `NAME` is an identifier (`[A-Za-z_][A-Za-z0-9_]*`, at most 128 bytes): it names the document
/// in the registry, the generated `schemas/<NAME>.schema.json` and the TypeScript type.
/// `VERSION` is a semantic version. Both are checked when the program is compiled, the first time
/// [`DocumentInfo::of`] or [`validate`] is instantiated for the type; a bad one does not build:
///
/// ```compile_fail
/// # use serde::{Deserialize, Serialize};
/// #[derive(Serialize, Deserialize, schemars::JsonSchema)]
/// struct Notes { text: String }
/// impl statevault_schema::Document for Notes {
///     const NAME: &'static str = "Notes";
///     const VERSION: &'static str = "1.0"; // not MAJOR.MINOR.PATCH
/// }
/// let _ = statevault_schema::DocumentInfo::of::<Notes>();
/// ```
pub trait Document: Serialize + DeserializeOwned + JsonSchema + 'static {
    /// Stable name, e.g. `"GridLayoutState"`. Renaming it is a breaking change.
    const NAME: &'static str;
    /// Semantic version of the current schema, e.g. `"1.0.0"`.
    const VERSION: &'static str;

    /// The migrations this type declares, from older versions of its data towards `VERSION`.
    ///
    /// This crate only carries them: the facade feeds them into the migration graph of
    /// `statevault-migrate`, which this crate does not depend on.
    fn migrations() -> Vec<MigrationStep> {
        Vec::new()
    }
}

/// One edge of a document's migration graph: a function that turns data of version `from` into
/// data of version `to`.
///
/// The function works on plain JSON because old data by definition no longer matches the Rust type.
/// It must set the data's `version` field (where the document has one) to `to`.
#[derive(Clone, Copy, Debug)]
pub struct MigrationStep {
    /// Version this step reads (a semantic version).
    pub from: &'static str,
    /// Version this step produces (a semantic version).
    pub to: &'static str,
    /// What it changes, for logs and `statevault migrate --dry-run`.
    pub description: &'static str,
    /// The transformation; an `Err` aborts the migration and leaves the stored file untouched.
    pub run: fn(Value) -> Result<Value, String>,
}

/// One way in which a JSON value breaks its schema.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Violation {
    /// JSON pointer (RFC 6901) into the instance; `""` is the whole document. For a missing
    /// property it points at the object that lacks it.
    pub pointer: String,
    /// Human-readable explanation. Instance values are masked as `value`, so that confidential
    /// data never reaches a log through an error message.
    pub message: String,
    /// JSON pointer into the schema of the keyword that failed (e.g. `/properties/w/minimum`).
    pub schema_path: String,
}

/// A document failed validation; `violations` lists every violation found, in the order the
/// validator reports them (never empty).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{document} failed validation with {} violation(s): {}", violations.len(), summary(violations))]
pub struct ValidationError {
    /// Name of the document whose schema was applied.
    pub document: String,
    /// Every violation.
    pub violations: Vec<Violation>,
}

fn summary(violations: &[Violation]) -> String {
    violations
        .iter()
        .map(|v| {
            let at = if v.pointer.is_empty() {
                "/"
            } else {
                v.pointer.as_str()
            };
            format!("{at}: {}", v.message)
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// Everything statevault needs to know about one document at run time: its name, its current
/// version, its JSON Schema, its migrations, and a validator compiled from the schema on first
/// use and then kept.
pub struct DocumentInfo {
    name: String,
    version: Version,
    schema: Value,
    migrations: Vec<MigrationStep>,
    #[cfg(feature = "validation")]
    validator: OnceLock<Result<jsonschema::Validator, String>>,
    /// Validators of parts of the schema, for partial checks.
    #[cfg(feature = "validation")]
    partial: crate::partial::Cache,
}

impl fmt::Debug for DocumentInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DocumentInfo")
            .field("name", &self.name)
            .field("version", &self.version)
            .field("migrations", &self.migrations.len())
            .finish_non_exhaustive()
    }
}

impl DocumentInfo {
    /// Describes `T`. The schema is generated now; the validator is compiled on first use.
    pub fn of<T: Document>() -> Self {
        // Checked while compiling, so a typo in a constant is a build error and `of` cannot fail.
        const {
            assert!(
                is_identifier(T::NAME),
                "Document::NAME must be an identifier"
            );
            assert!(
                is_semver(T::VERSION),
                "Document::VERSION must be a semantic version"
            );
        }
        Self {
            name: T::NAME.to_owned(),
            version: Version::parse(T::VERSION)
                .expect("VERSION was checked by is_semver at compile time"),
            schema: schema_for::<T>(),
            migrations: T::migrations(),
            #[cfg(feature = "validation")]
            validator: OnceLock::new(),
            #[cfg(feature = "validation")]
            partial: Default::default(),
        }
    }

    /// Describes a document that has no Rust type, from a schema (e.g. one an application ships
    /// as a file). The schema is compiled at once so that a broken schema is reported here.
    pub fn from_schema(name: &str, version: &str, schema: Value) -> Result<Self, Error> {
        if !is_identifier(name) {
            return Err(Error::InvalidName {
                name: name.to_owned(),
            });
        }
        let version = Version::parse(version).map_err(|source| Error::InvalidVersion {
            document: name.to_owned(),
            version: version.to_owned(),
            source,
        })?;
        let info = Self {
            name: name.to_owned(),
            version,
            schema,
            migrations: Vec::new(),
            #[cfg(feature = "validation")]
            validator: OnceLock::new(),
            #[cfg(feature = "validation")]
            partial: Default::default(),
        };
        #[cfg(feature = "validation")]
        info.compile()?;
        Ok(info)
    }

    /// The document's stable name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The current version of its schema.
    pub fn version(&self) -> &Version {
        &self.version
    }

    /// Its JSON Schema (draft 2020-12), with the definitions it references under `$defs`.
    pub fn schema(&self) -> &Value {
        &self.schema
    }

    /// The migrations the document declares.
    pub fn migrations(&self) -> &[MigrationStep] {
        &self.migrations
    }

    /// Whether the schema's top level has a `version` property: then the version of stored data
    /// is that field (see [`DocumentInfo::data_version`]), else the file's `schema_version`.
    pub fn has_version_field(&self) -> bool {
        self.schema
            .get("properties")
            .and_then(|p| p.get("version"))
            .is_some()
    }

    /// The version that `data` says it has: its `version` field when the schema has one and the
    /// field is a string. `None` when the document carries no version of its own.
    pub fn data_version<'a>(&self, data: &'a Value) -> Option<&'a str> {
        if !self.has_version_field() {
            return None;
        }
        data.get("version").and_then(Value::as_str)
    }

    #[cfg(feature = "validation")]
    /// Compiles the validator now (it is otherwise compiled on first use) and reports a schema
    /// that does not compile.
    pub fn compile(&self) -> Result<(), Error> {
        match self.validator() {
            Ok(_) => Ok(()),
            Err(message) => Err(Error::SchemaCompile {
                document: self.name.clone(),
                message: message.to_owned(),
            }),
        }
    }

    #[cfg(feature = "validation")]
    /// Checks `value` against the schema and returns every violation when it does not match.
    ///
    /// A schema that does not compile makes every value fail with one violation at the root that
    /// says so; [`DocumentInfo::compile`] reports that case as an [`Error`] instead.
    pub fn validate(&self, value: &Value) -> Result<(), ValidationError> {
        let validator = match self.validator() {
            Ok(validator) => validator,
            Err(message) => {
                return Err(ValidationError {
                    document: self.name.clone(),
                    violations: vec![Violation {
                        pointer: String::new(),
                        message: format!("the schema does not compile: {message}"),
                        schema_path: String::new(),
                    }],
                });
            }
        };
        // `is_valid` is much cheaper than collecting errors, and valid is the common case.
        if validator.is_valid(value) {
            return Ok(());
        }
        let violations: Vec<Violation> = validator
            .iter_errors(value)
            .map(|e| {
                let schema_path = e.schema_path().as_str().to_owned();
                let message = match allowed_values(&self.schema, &schema_path) {
                    // A choice among constants (a Rust enum): name the choices, not the keyword.
                    // The instance stays masked, as in every other message.
                    Some(allowed) => format!("value is not one of {allowed}"),
                    None => e.masked().to_string(),
                };
                Violation {
                    pointer: e.instance_path().as_str().to_owned(),
                    message,
                    schema_path,
                }
            })
            .collect();
        if violations.is_empty() {
            // `is_valid` and `iter_errors` disagreeing would be a validator bug; fail closed.
            return Err(ValidationError {
                document: self.name.clone(),
                violations: vec![Violation {
                    pointer: String::new(),
                    message: "value does not match the schema".to_owned(),
                    schema_path: String::new(),
                }],
            });
        }
        Err(ValidationError {
            document: self.name.clone(),
            violations,
        })
    }

    #[cfg(feature = "validation")]
    pub(crate) fn validator(&self) -> Result<&jsonschema::Validator, &str> {
        self.validator
            .get_or_init(|| {
                jsonschema::options()
                    .with_draft(jsonschema::Draft::Draft202012)
                    .build(&self.schema)
                    .map_err(|e| e.to_string())
            })
            .as_ref()
            .map_err(String::as_str)
    }

    #[cfg(feature = "validation")]
    pub(crate) fn partial_cache(&self) -> &crate::partial::Cache {
        &self.partial
    }

    /// Whether two infos describe the same contract (name, version and schema).
    pub(crate) fn same_contract(&self, other: &Self) -> bool {
        self.name == other.name && self.version == other.version && self.schema == other.schema
    }
}

/// The values a `oneOf`/`anyOf` of constants, or an `enum`, at `schema_path` allows, joined for
/// a message (`"dark", "light"`); `None` when the keyword there is anything else. Local `$ref`s
/// on the path are followed.
#[cfg(feature = "validation")]
fn allowed_values(schema: &Value, schema_path: &str) -> Option<String> {
    let mut node = schema;
    for segment in schema_path.split('/').skip(1) {
        let segment = segment.replace("~1", "/").replace("~0", "~");
        node = match node {
            Value::Object(map) if segment == "$ref" => {
                let target = map.get("$ref")?.as_str()?.strip_prefix('#')?;
                schema.pointer(target)?
            }
            Value::Object(map) => map.get(&segment)?,
            Value::Array(items) => items.get(segment.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    let values: Vec<&Value> = match node {
        Value::Array(values) if schema_path.ends_with("/enum") => values.iter().collect(),
        Value::Array(choices) => choices
            .iter()
            .map(|choice| choice.get("const"))
            .collect::<Option<_>>()?,
        Value::Object(map) => map.get("enum")?.as_array()?.iter().collect(),
        _ => return None,
    };
    let texts: Vec<String> = values.iter().map(|v| v.to_string()).collect();
    (!texts.is_empty()).then(|| texts.join(", "))
}

/// The shared description of `T`, built once per type and process and then reused, so that its
/// validator is compiled at most once.
pub fn document_info<T: Document>() -> Arc<DocumentInfo> {
    static CACHE: OnceLock<RwLock<HashMap<TypeId, Arc<DocumentInfo>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let id = TypeId::of::<T>();
    // A panic while holding the lock cannot leave the map half-updated (insert is one call), so a
    // poisoned lock is still consistent.
    if let Some(info) = cache
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .get(&id)
    {
        return Arc::clone(info);
    }
    let info = Arc::new(DocumentInfo::of::<T>());
    Arc::clone(
        cache
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(id)
            .or_insert(info),
    )
}

/// Validates `value` against `T`'s schema with `T`'s cached validator.
#[cfg(feature = "validation")]
pub fn validate<T: Document>(value: &Value) -> Result<(), ValidationError> {
    document_info::<T>().validate(value)
}

/// The JSON Schema (draft 2020-12) of any `JsonSchema` type, generated the way statevault
/// generates its documents' schemas: schemars' defaults plus exact `minimum`/`maximum` bounds for
/// 32-bit integers (schemars states only `minimum: 0` for `u32`, so a value the Rust type cannot
/// hold would pass validation and then fail to deserialise).
pub fn schema_for<T: JsonSchema>() -> Value {
    SchemaSettings::draft2020_12()
        .with_transform(RecursiveTransform(IntegerBounds))
        .into_generator()
        .into_root_schema_for::<T>()
        .to_value()
}

#[derive(Clone, Copy, Debug)]
struct IntegerBounds;

impl Transform for IntegerBounds {
    fn transform(&mut self, schema: &mut schemars::Schema) {
        let Some(object) = schema.as_object_mut() else {
            return;
        };
        let bounds: (i64, i64) = match object.get("format").and_then(Value::as_str) {
            Some("uint32") => (0, i64::from(u32::MAX)),
            Some("int32") => (i64::from(i32::MIN), i64::from(i32::MAX)),
            _ => return,
        };
        // A tighter bound set by an attribute (e.g. `range(min = 1)`) is kept.
        object.entry("minimum").or_insert(bounds.0.into());
        object.entry("maximum").or_insert(bounds.1.into());
    }
}

/// Whether `s` is usable as a document name: an identifier in Rust, TypeScript and file names.
pub(crate) const fn is_identifier(s: &str) -> bool {
    let bytes = s.as_bytes();
    if bytes.is_empty() || bytes.len() > 128 {
        return false;
    }
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let ok = b.is_ascii_alphabetic() || b == b'_' || (i > 0 && b.is_ascii_digit());
        if !ok {
            return false;
        }
        i += 1;
    }
    true
}

/// Whether `s` parses as a `semver::Version`, written as a `const fn` so that a document's
/// `VERSION` is checked at compile time. It follows the grammar of `semver` 1's parser
/// (a property test checks that the two agree).
pub(crate) const fn is_semver(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    let mut part = 0;
    // MAJOR.MINOR.PATCH: digits, no leading zero, fits in u64.
    while part < 3 {
        let start = i;
        let mut value: u64 = 0;
        while i < b.len() && b[i].is_ascii_digit() {
            if i > start && value == 0 {
                return false;
            }
            value = match value.checked_mul(10) {
                Some(v) => match v.checked_add((b[i] - b'0') as u64) {
                    Some(v) => v,
                    None => return false,
                },
                None => return false,
            };
            i += 1;
        }
        if i == start {
            return false;
        }
        part += 1;
        if part < 3 {
            if i >= b.len() || b[i] != b'.' {
                return false;
            }
            i += 1;
        }
    }
    if i < b.len() && b[i] == b'-' {
        i += 1;
        i = match identifiers_end(b, i, true) {
            Some(end) => end,
            None => return false,
        };
    }
    if i < b.len() && b[i] == b'+' {
        i += 1;
        i = match identifiers_end(b, i, false) {
            Some(end) => end,
            None => return false,
        };
    }
    i == b.len()
}

/// Scans dot-separated identifiers `[0-9A-Za-z-]+` from `start`; returns where they end, or `None`
/// for an empty identifier or (in a pre-release) a numeric identifier with a leading zero.
const fn identifiers_end(b: &[u8], start: usize, pre: bool) -> Option<usize> {
    let mut i = start;
    loop {
        let seg = i;
        let mut has_nondigit = false;
        while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'-') {
            if !b[i].is_ascii_digit() {
                has_nondigit = true;
            }
            i += 1;
        }
        let len = i - seg;
        if len == 0 {
            return None;
        }
        if pre && len > 1 && !has_nondigit && b[seg] == b'0' {
            return None;
        }
        if i < b.len() && b[i] == b'.' {
            i += 1;
        } else {
            return Some(i);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[cfg(feature = "validation")]
    #[test]
    fn a_choice_among_constants_names_the_allowed_values() {
        let schema = serde_json::json!({
            "type": "object",
            "properties": {
                "theme": {"$ref": "#/$defs/Theme"},
                "size": {"enum": ["s", "m", 3]},
                "count": {"type": "integer"}
            },
            "$defs": {"Theme": {"oneOf": [{"const": "dark"}, {"const": "light"}]}}
        });
        let info = DocumentInfo::from_schema("T", "1.0.0", schema).unwrap();
        let error = info
            .validate(&serde_json::json!({"theme": "sepia", "size": "xl", "count": "x"}))
            .unwrap_err();
        let message = |pointer: &str| {
            error
                .violations
                .iter()
                .find(|v| v.pointer == pointer)
                .map(|v| v.message.clone())
                .unwrap()
        };
        assert_eq!(message("/theme"), r#"value is not one of "dark", "light""#);
        assert_eq!(message("/size"), r#"value is not one of "s", "m", 3"#);
        // What the value was never reaches the message.
        assert!(!error.to_string().contains("sepia"), "{error}");
        // Any other keyword keeps the validator's own message.
        assert!(
            message("/count").contains("integer"),
            "{}",
            message("/count")
        );
    }

    fn check_semver(s: &str) {
        assert_eq!(
            is_semver(s),
            Version::parse(s).is_ok(),
            "is_semver and semver::Version::parse disagree on {s:?}"
        );
    }

    #[test]
    fn semver_cases() {
        for s in [
            "1.0.0",
            "0.0.0",
            "10.20.30",
            "1.0.0-alpha",
            "1.0.0-alpha.1",
            "1.0.0-0.3.7",
            "1.0.0-x.7.z.92",
            "1.0.0+build.01",
            "1.0.0-rc.1+build.1",
            "1.0",
            "1",
            "",
            "01.0.0",
            "1.01.0",
            "1.0.00",
            "1.0.0-",
            "1.0.0+",
            "1.0.0-01",
            "1.0.0-a..b",
            "1.0.0-a.",
            "1.0.0 ",
            " 1.0.0",
            "v1.0.0",
            "18446744073709551615.0.0",
            "18446744073709551616.0.0",
            "1.0.0-α",
        ] {
            check_semver(s);
        }
    }

    proptest! {
        #[test]
        fn is_semver_agrees_with_semver_crate(s in "[0-9.+a-z-]{0,14}") {
            check_semver(&s);
        }

        #[test]
        fn is_semver_accepts_every_printed_version(
            major in any::<u64>(), minor in any::<u64>(), patch in any::<u64>(),
            pre in "([a-z-][0-9a-z-]{0,3}|0|[1-9][0-9]{0,3})(\\.([a-z-][0-9a-z-]{0,3}|0|[1-9][0-9]{0,3})){0,2}",
        ) {
            let s = format!("{major}.{minor}.{patch}-{pre}");
            prop_assert!(is_semver(&s), "{s}");
            check_semver(&s);
        }
    }

    #[test]
    fn identifier_cases() {
        for (s, ok) in [
            ("GridLayoutState", true),
            ("_x1", true),
            ("a", true),
            ("", false),
            ("1abc", false),
            ("a-b", false),
            ("a.b", false),
            ("a b", false),
            ("Ärger", false),
        ] {
            assert_eq!(is_identifier(s), ok, "{s:?}");
        }
        assert!(is_identifier(&"a".repeat(128)));
        assert!(!is_identifier(&"a".repeat(129)));
    }

    #[test]
    fn integer_bounds_are_added_for_32_bit_formats_only() {
        #[derive(schemars::JsonSchema)]
        #[allow(dead_code)]
        struct Numbers {
            a: u32,
            b: i32,
            c: u64,
            #[schemars(range(min = 1))]
            d: u32,
        }
        let schema = schema_for::<Numbers>();
        let p = &schema["properties"];
        assert_eq!(p["a"]["minimum"], 0);
        assert_eq!(p["a"]["maximum"], u32::MAX);
        assert_eq!(p["b"]["minimum"], i32::MIN);
        assert_eq!(p["b"]["maximum"], i32::MAX);
        assert_eq!(p["c"].get("maximum"), None);
        assert_eq!(p["d"]["minimum"], 1);
        assert_eq!(p["d"]["maximum"], u32::MAX);
    }
}
