//! The schema side of a partial check: the schemas that apply along a changed location, the
//! constraints each container on the way puts on itself, and validators compiled for parts of
//! the document's schema.
//!
//! A document that was valid before a patch is valid after it when every new value is valid
//! against the subschemas that apply where it now stands, and every container above a changed
//! location (or that lost a member) still satisfies its own constraints: its type, `required`,
//! `additionalProperties: false`, the counts, `uniqueItems`, `contains`, `enum`, `const`. Any
//! keyword on the way whose verdict depends on more than that (`allOf`, `anyOf`, `oneOf`, `not`,
//! `if`, `dependentSchemas`, `patternProperties`, `prefixItems`, the `unevaluated` keywords, or
//! one this module does not know) makes the check answer [`Verdict::NotLocal`].

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, OnceLock, PoisonError, RwLock};

use serde_json::{Map, Value};

use super::Verdict;
use super::touched::{Entry, Kind, Touched, encode};

/// The keywords a container on the way to a changed location may carry: annotations, the
/// applicators followed down (`properties`, `additionalProperties`, `items`, `$ref`), and
/// assertions about the container itself, checked on it whole.
const LOCAL_KEYWORDS: &[&str] = &[
    // Annotations.
    "$schema",
    "$comment",
    "$defs",
    "title",
    "description",
    "default",
    "examples",
    "deprecated",
    "readOnly",
    "writeOnly",
    "format",
    "contentEncoding",
    "contentMediaType",
    // Followed down to the changed location.
    "$ref",
    "properties",
    "additionalProperties",
    "items",
    // About the container itself.
    "type",
    "enum",
    "const",
    "required",
    "minProperties",
    "maxProperties",
    "propertyNames",
    "dependentRequired",
    "minItems",
    "maxItems",
    "uniqueItems",
    "contains",
    "minContains",
    "maxContains",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "minLength",
    "maxLength",
    "pattern",
];

/// Keywords with which a schema's references can no longer be resolved from `$defs` alone.
const NON_LOCAL_REFERENCES: &[&str] = &[
    "$id",
    "$anchor",
    "$dynamicRef",
    "$dynamicAnchor",
    "$recursiveRef",
    "$recursiveAnchor",
    "$vocabulary",
];

/// How deep a chain of `$ref`s to `$ref`s may go before the check gives up.
const MAX_REF_CHAIN: usize = 32;

/// What a document keeps for partial checks: whether its schema allows them at all, and the
/// validators compiled for parts of it.
#[derive(Default)]
pub(crate) struct Cache {
    supported: OnceLock<bool>,
    validators: RwLock<HashMap<(Use, String), Compiled>>,
}

/// A part of the schema compiled, `None` when it does not compile.
type Compiled = Option<Arc<jsonschema::Validator>>;

impl std::fmt::Debug for Cache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cache")
            .field("supported", &self.supported.get())
            .finish_non_exhaustive()
    }
}

/// What a compiled part of the schema checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Use {
    /// A subschema, for a new value.
    Whole,
    /// A container's constraints on itself, its members' subschemas left out.
    Shallow,
}

/// A schema that applies at a node: its JSON pointer in the document's schema, and it.
type Applied<'s> = (String, &'s Value);

/// The partial check of `doc` against `root` (the document's schema) after the changes in
/// `touched`, the document before them having been valid.
pub(crate) fn check(root: &Value, cache: &Cache, doc: &Value, touched: &Touched) -> Verdict {
    if !*cache
        .supported
        .get_or_init(|| only_local_references(root, true))
    {
        return Verdict::NotLocal;
    }
    let mut checked = HashSet::new();
    for entry in touched.normalized() {
        match check_entry(root, cache, doc, entry, &mut checked) {
            Verdict::Valid => {}
            other => return other,
        }
    }
    Verdict::Valid
}

/// Walks from the root to `entry`, checking each container on the way (once per check), then
/// the new value whole.
fn check_entry(
    root: &Value,
    cache: &Cache,
    doc: &Value,
    entry: &Entry,
    checked: &mut HashSet<Vec<String>>,
) -> Verdict {
    if entry.kind == Kind::Value && entry.path.is_empty() {
        // The whole document is new.
        return Verdict::NotLocal;
    }
    let mut schemas = Vec::new();
    if !expand(root, (String::new(), root), &mut schemas, 0) {
        return Verdict::NotLocal;
    }
    let mut node = doc;
    for (depth, token) in entry.path.iter().enumerate() {
        if checked.insert(entry.path[..depth].to_vec()) {
            for (at, schema) in &schemas {
                match shallow(root, cache, at, schema, node) {
                    Verdict::Valid => {}
                    other => return other,
                }
            }
        }
        let children = children(node, &schemas, token);
        let Some(child) = child_of(node, token) else {
            // Every entry points into the document as it is now; fail closed if not.
            return Verdict::NotLocal;
        };
        node = child;
        if depth + 1 == entry.path.len() && entry.kind == Kind::Value {
            for (at, schema) in &children {
                match whole(root, cache, at, schema, node) {
                    Verdict::Valid => {}
                    other => return other,
                }
            }
            return Verdict::Valid;
        }
        schemas.clear();
        for applied in children {
            if !expand(root, applied, &mut schemas, 0) {
                return Verdict::NotLocal;
            }
        }
    }
    // A container that lost members: its own constraints.
    if checked.insert(entry.path.clone()) {
        for (at, schema) in &schemas {
            match shallow(root, cache, at, schema, node) {
                Verdict::Valid => {}
                other => return other,
            }
        }
    }
    Verdict::Valid
}

fn child_of<'v>(node: &'v Value, token: &str) -> Option<&'v Value> {
    match node {
        Value::Object(map) => map.get(token),
        Value::Array(items) => items.get(token.parse::<usize>().ok()?),
        _ => None,
    }
}

/// The subschemas that apply to member `token` of `node`, from each schema that applies to it.
fn children<'s>(node: &Value, schemas: &[Applied<'s>], token: &str) -> Vec<Applied<'s>> {
    let mut out = Vec::new();
    for (at, schema) in schemas {
        let Value::Object(map) = schema else {
            continue;
        };
        match node {
            Value::Object(_) => {
                let named = map.get("properties").and_then(|p| p.get(token));
                if let Some(child) = named {
                    let at = format!("{at}/properties{}", encode(&[token.to_owned()]));
                    out.push((at, child));
                } else if let Some(child) = map.get("additionalProperties") {
                    out.push((format!("{at}/additionalProperties"), child));
                }
            }
            Value::Array(_) => {
                if let Some(child) = map.get("items") {
                    out.push((format!("{at}/items"), child));
                }
            }
            _ => {}
        }
    }
    out
}

/// `applied` and the schemas its `$ref`s lead to, in `out`; `false` when a reference does not
/// resolve or the chain is too long.
fn expand<'s>(
    root: &'s Value,
    applied: Applied<'s>,
    out: &mut Vec<Applied<'s>>,
    depth: usize,
) -> bool {
    if depth > MAX_REF_CHAIN {
        return false;
    }
    let reference = applied.1.get("$ref").map(Value::as_str);
    out.push(applied);
    match reference {
        None => true,
        Some(Some(reference)) => {
            let Some(pointer) = reference.strip_prefix('#') else {
                return false;
            };
            match root.pointer(pointer) {
                Some(target) => expand(root, (pointer.to_owned(), target), out, depth + 1),
                None => false,
            }
        }
        Some(None) => false,
    }
}

/// A container's constraints on itself.
fn shallow(root: &Value, cache: &Cache, at: &str, schema: &Value, node: &Value) -> Verdict {
    let map = match schema {
        Value::Bool(true) => return Verdict::Valid,
        Value::Bool(false) => return Verdict::Invalid,
        Value::Object(map) => map,
        _ => return Verdict::NotLocal,
    };
    let local = map.iter().all(|(keyword, value)| {
        LOCAL_KEYWORDS.contains(&keyword.as_str())
            && (keyword != "items" || value.is_object() || value.is_boolean())
    });
    if !local {
        return Verdict::NotLocal;
    }
    let Some(validator) = cache.validator(Use::Shallow, at, || shallow_schema(root, map)) else {
        return Verdict::NotLocal;
    };
    verdict(validator.is_valid(node))
}

/// A subschema, for a new value.
fn whole(root: &Value, cache: &Cache, at: &str, schema: &Value, node: &Value) -> Verdict {
    let map = match schema {
        Value::Bool(valid) => return verdict(*valid),
        Value::Object(map) => map,
        _ => return Verdict::NotLocal,
    };
    let Some(validator) = cache.validator(Use::Whole, at, || with_definitions(root, map.clone()))
    else {
        return Verdict::NotLocal;
    };
    verdict(validator.is_valid(node))
}

fn verdict(valid: bool) -> Verdict {
    if valid {
        Verdict::Valid
    } else {
        Verdict::Invalid
    }
}

/// The part of a container's schema about the container itself: its members' subschemas
/// become `true` (the names stay, for `additionalProperties: false`).
fn shallow_schema(root: &Value, map: &Map<String, Value>) -> Value {
    let mut out = Map::new();
    for (keyword, value) in map {
        match keyword.as_str() {
            "properties" => {
                let names = match value {
                    Value::Object(properties) => properties
                        .keys()
                        .map(|name| (name.clone(), Value::Bool(true)))
                        .collect(),
                    other => return other.clone(),
                };
                out.insert(keyword.clone(), Value::Object(names));
            }
            "additionalProperties" if !value.is_boolean() => {
                out.insert(keyword.clone(), Value::Bool(true));
            }
            "items" | "$ref" | "$defs" | "$schema" => {}
            _ => {
                out.insert(keyword.clone(), value.clone());
            }
        }
    }
    with_definitions(root, out)
}

/// `schema` with the document's `$defs`, so that its references resolve as in the document.
fn with_definitions(root: &Value, mut schema: Map<String, Value>) -> Value {
    if let Some(definitions) = root.get("$defs") {
        schema.insert("$defs".to_owned(), definitions.clone());
    }
    Value::Object(schema)
}

/// Whether every reference in `schema` is to the root's `$defs` (`#/$defs/…`), with no
/// identifiers, anchors or dynamic references, and `$defs` only at the root: then a part of
/// the schema compiled with the root's `$defs` means what it means in place.
fn only_local_references(schema: &Value, at_root: bool) -> bool {
    match schema {
        Value::Object(map) => map.iter().all(|(keyword, value)| match keyword.as_str() {
            k if NON_LOCAL_REFERENCES.contains(&k) => false,
            "$ref" => value
                .as_str()
                .is_some_and(|r| r.starts_with("#/$defs/") && !r.contains('%')),
            "$defs" if !at_root => false,
            _ => only_local_references(value, false),
        }),
        Value::Array(items) => items.iter().all(|item| only_local_references(item, false)),
        _ => true,
    }
}

impl Cache {
    /// The validator of the part of the schema `build` makes, compiled once per location and
    /// use; `None` when it does not compile.
    fn validator(&self, use_: Use, at: &str, build: impl FnOnce() -> Value) -> Compiled {
        let key = (use_, at.to_owned());
        if let Some(found) = self
            .validators
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&key)
        {
            return found.clone();
        }
        let compiled = jsonschema::options()
            .with_draft(jsonschema::Draft::Draft202012)
            .build(&build())
            .ok()
            .map(Arc::new);
        self.validators
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(key)
            .or_insert(compiled)
            .clone()
    }
}
