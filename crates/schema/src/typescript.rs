//! JSON Schema (as schemars 1 emits it) to TypeScript declarations.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde_json::{Map, Value};

use crate::Error;

/// How deep schemas may nest before the generator gives up (hostile or runaway input).
const MAX_DEPTH: usize = 128;

/// Words a TypeScript type cannot be called: reserved words and the predefined type names.
const RESERVED: &[&str] = &[
    "any",
    "as",
    "async",
    "await",
    "bigint",
    "boolean",
    "break",
    "case",
    "catch",
    "class",
    "const",
    "continue",
    "debugger",
    "declare",
    "default",
    "delete",
    "do",
    "else",
    "enum",
    "export",
    "extends",
    "false",
    "finally",
    "for",
    "from",
    "function",
    "get",
    "global",
    "if",
    "implements",
    "import",
    "in",
    "infer",
    "instanceof",
    "interface",
    "is",
    "keyof",
    "let",
    "module",
    "namespace",
    "never",
    "new",
    "null",
    "number",
    "object",
    "of",
    "package",
    "private",
    "protected",
    "public",
    "readonly",
    "require",
    "return",
    "set",
    "static",
    "string",
    "super",
    "switch",
    "symbol",
    "this",
    "throw",
    "true",
    "try",
    "type",
    "typeof",
    "undefined",
    "unique",
    "unknown",
    "var",
    "void",
    "while",
    "with",
    "yield",
];

/// TypeScript declarations for `schema`, its root exported as `root_name` and each of its
/// `$defs` (or draft-07 `definitions`) as a type of its own.
///
/// What is translated: objects (required and optional `?` properties, `additionalProperties` and
/// `patternProperties` as `Record<string, T>`), `const` and `enum` as literal unions, `oneOf` and
/// `anyOf` as unions, `allOf` as intersections, arrays, tuples (`prefixItems`, or draft-07 `items`
/// arrays), `type` lists (`["string", "null"]` is `string | null`), OpenAPI's `nullable`,
/// `$ref` to `#` and to `#/$defs/…`, integers and numbers as `number`, `description` and
/// `deprecated` as JSDoc. Keywords that only constrain values (`minimum`, `pattern`, `format`, …)
/// and unknown keywords are ignored; `true` and `{}` are `unknown`, `false` is `never`.
///
/// The output is deterministic: the root first, then the definitions by name; properties in
/// schema order.
///
/// ```
/// # fn main() -> Result<(), statevault_schema::Error> {
/// let schema = serde_json::json!({
///     "type": "object",
///     "properties": { "name": { "type": "string", "description": "Shown in the title bar." } },
///     "required": ["name"]
/// });
/// let ts = statevault_schema::typescript(&schema, "Window")?;
/// assert_eq!(ts, "export interface Window {\n  /** Shown in the title bar. */\n  name: string;\n}\n");
/// # Ok(()) }
/// ```
pub fn typescript(schema: &Value, root_name: &str) -> Result<String, Error> {
    let mut module = TypeScriptModule::new();
    module.add(root_name, schema)?;
    Ok(module.finish())
}

/// Builds one TypeScript module from several root schemas: definitions that several schemas
/// share (same name, same declaration) are exported once; two different declarations under one
/// name are an error.
#[derive(Debug, Default)]
pub struct TypeScriptModule {
    /// Declaration text by TypeScript name.
    decls: BTreeMap<String, String>,
    /// Names added as roots, in the order they were added; they are written first.
    roots: Vec<String>,
}

impl TypeScriptModule {
    /// An empty module.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `schema` with its root exported as `root_name` (see [`typescript`]).
    pub fn add(&mut self, root_name: &str, schema: &Value) -> Result<(), Error> {
        let fail = |pointer: &str, message: String| Error::TypeScript {
            root: root_name.to_owned(),
            pointer: pointer.to_owned(),
            message,
        };
        if !is_ts_identifier(root_name) || RESERVED.contains(&root_name) {
            return Err(fail(
                "",
                format!("{root_name:?} cannot name a TypeScript type"),
            ));
        }
        let (defs_key, defs) = match (schema.get("$defs"), schema.get("definitions")) {
            (Some(Value::Object(defs)), _) => ("$defs", Some(defs)),
            (None, Some(Value::Object(defs))) => ("definitions", Some(defs)),
            (None, None) => ("$defs", None),
            _ => return Err(fail("", "`$defs` is not an object".to_owned())),
        };
        let mut names = HashMap::new();
        let mut taken = HashSet::new();
        for key in defs.into_iter().flat_map(|d| d.keys()) {
            let name = sanitize_type_name(key);
            if !taken.insert(name.clone()) {
                return Err(fail(
                    &format!("/{defs_key}/{}", escape_pointer(key)),
                    format!("two definitions become the TypeScript name {name}"),
                ));
            }
            names.insert(key.clone(), name);
        }
        let ctx = Ctx {
            root_name,
            defs_key,
            names: &names,
        };
        let mut new: Vec<(String, String, bool)> = Vec::new();
        for (key, def) in defs.into_iter().flatten() {
            let name = &names[key];
            let pointer = format!("/{defs_key}/{}", escape_pointer(key));
            new.push((name.clone(), ctx.declaration(name, def, &pointer)?, false));
        }
        new.push((
            root_name.to_owned(),
            ctx.declaration(root_name, schema, "")?,
            true,
        ));
        // Check every name before inserting any, so a failed add leaves the module unchanged.
        let mut pending: BTreeMap<&str, &str> = BTreeMap::new();
        for (name, text, _) in &new {
            let existing = self
                .decls
                .get(name)
                .map(String::as_str)
                .or_else(|| pending.get(name.as_str()).copied());
            if let Some(existing) = existing
                && existing != text
            {
                return Err(fail(
                    "",
                    format!("{name} is already declared differently in this module"),
                ));
            }
            pending.insert(name, text);
        }
        for (name, text, root) in new {
            if root && !self.roots.contains(&name) {
                self.roots.push(name.clone());
            }
            self.decls.entry(name).or_insert(text);
        }
        Ok(())
    }

    /// The declarations: the roots in the order they were added, then the other definitions by
    /// name, separated by blank lines.
    pub fn finish(&self) -> String {
        let roots = self.roots.iter().filter_map(|r| self.decls.get(r));
        let rest = self
            .decls
            .iter()
            .filter(|(name, _)| !self.roots.contains(name))
            .map(|(_, text)| text);
        roots
            .chain(rest)
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// Binding strength of a rendered type, to know when it needs parentheses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Prec {
    Union,
    Intersection,
    Atom,
}

#[derive(Debug, Clone)]
struct Ty {
    text: String,
    prec: Prec,
    /// For a union, its members and their descriptions, so that a union of unions is flattened.
    members: Vec<(Ty, String)>,
}

impl Ty {
    fn atom(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            prec: Prec::Atom,
            members: Vec::new(),
        }
    }

    fn unknown() -> Self {
        Self::atom("unknown")
    }

    fn is(&self, text: &str) -> bool {
        self.prec == Prec::Atom && self.text == text
    }

    /// The text, in parentheses when it binds looser than `at_least`.
    fn wrapped(&self, at_least: Prec) -> String {
        if self.prec < at_least {
            format!("({})", self.text)
        } else {
            self.text.clone()
        }
    }
}

/// What one root schema's references resolve to.
struct Ctx<'a> {
    root_name: &'a str,
    defs_key: &'a str,
    names: &'a HashMap<String, String>,
}

impl Ctx<'_> {
    fn fail(&self, pointer: &str, message: impl Into<String>) -> Error {
        Error::TypeScript {
            root: self.root_name.to_owned(),
            pointer: pointer.to_owned(),
            message: message.into(),
        }
    }

    /// `export interface` for a plain object schema, else `export type`, with its JSDoc.
    fn declaration(&self, name: &str, schema: &Value, pointer: &str) -> Result<String, Error> {
        let doc = jsdoc(schema, 0);
        if let Some(obj) = schema.as_object()
            && is_interface_shape(obj)
        {
            let body = self.object_body(obj, 0, pointer, 0)?;
            return Ok(format!("{doc}export interface {name} {body}\n"));
        }
        let ty = self.render(schema, 0, pointer, 0)?;
        Ok(format!("{doc}export type {name} ={};\n", spaced(&ty.text)))
    }

    /// The type of `schema`. `indent` is the indentation of the line the type starts on.
    fn render(
        &self,
        schema: &Value,
        indent: usize,
        pointer: &str,
        depth: usize,
    ) -> Result<Ty, Error> {
        if depth > MAX_DEPTH {
            return Err(self.fail(
                pointer,
                format!("schemas nest deeper than {MAX_DEPTH} levels"),
            ));
        }
        let obj = match schema {
            Value::Bool(true) => return Ok(Ty::unknown()),
            Value::Bool(false) => return Ok(Ty::atom("never")),
            Value::Object(obj) => obj,
            _ => return Err(self.fail(pointer, "a schema is an object or a boolean")),
        };
        let combinators = ["allOf", "anyOf", "oneOf"]
            .iter()
            .any(|k| obj.contains_key(*k))
            || obj.contains_key("$ref");
        let mut parts: Vec<Ty> = Vec::new();
        let mut nullable = obj.get("nullable") == Some(&Value::Bool(true));

        if let Some(reference) = obj.get("$ref") {
            let reference = reference
                .as_str()
                .ok_or_else(|| self.fail(pointer, "`$ref` is not a string"))?;
            parts.push(Ty::atom(self.resolve(reference, pointer)?));
        }
        if let Some(value) = obj.get("const") {
            parts.push(Ty::atom(literal(value)));
        } else if let Some(values) = obj.get("enum") {
            let values = values
                .as_array()
                .ok_or_else(|| self.fail(&format!("{pointer}/enum"), "`enum` is not an array"))?;
            let members = values
                .iter()
                .map(|v| (Ty::atom(literal(v)), String::new()))
                .collect();
            parts.push(union(members, indent));
        } else if let Some(types) = self.types(obj, pointer)? {
            let structural = [
                "properties",
                "additionalProperties",
                "patternProperties",
                "items",
                "prefixItems",
            ]
            .iter()
            .any(|k| obj.contains_key(*k));
            if combinators && !structural {
                // `{"type": "string", "oneOf": [{"const": "a"}, …]}`: the members say it all, and
                // `string & ("a" | …)` would only be noise. Keep a `null` the type list allows.
                nullable |= types.contains(&"null");
            } else {
                // Members of a multi-line union start four columns further in.
                let at = if types.len() > 1 { indent + 4 } else { indent };
                let mut members = Vec::new();
                for t in types {
                    members.push((self.render_type(t, obj, at, pointer, depth)?, String::new()));
                }
                parts.push(union(members, indent));
            }
        }
        if let Some(all) = obj.get("allOf") {
            for (i, member) in self.list(all, "allOf", pointer)?.iter().enumerate() {
                parts.push(self.render(
                    member,
                    indent,
                    &format!("{pointer}/allOf/{i}"),
                    depth + 1,
                )?);
            }
        }
        for keyword in ["anyOf", "oneOf"] {
            if let Some(list) = obj.get(keyword) {
                let mut members = Vec::new();
                for (i, member) in self.list(list, keyword, pointer)?.iter().enumerate() {
                    let ty = self.render(
                        member,
                        indent + 4,
                        &format!("{pointer}/{keyword}/{i}"),
                        depth + 1,
                    )?;
                    members.push((ty, description(member)));
                }
                parts.push(union(members, indent));
            }
        }

        // `X & unknown` is `X`.
        if parts.len() > 1 {
            parts.retain(|p| !p.is("unknown"));
        }
        let mut ty = match parts.len() {
            0 => Ty::unknown(),
            1 => parts.remove(0),
            _ => Ty {
                text: parts
                    .iter()
                    .map(|p| p.wrapped(Prec::Intersection))
                    .collect::<Vec<_>>()
                    .join(" & "),
                prec: Prec::Intersection,
                members: Vec::new(),
            },
        };
        if nullable && !ty.is("unknown") && !ty.is("null") {
            ty = union(
                vec![(ty, String::new()), (Ty::atom("null"), String::new())],
                indent,
            );
        }
        Ok(ty)
    }

    /// The `type` keyword as a list; `None` when absent and not implied by object or array
    /// keywords.
    fn types<'s>(
        &self,
        obj: &'s Map<String, Value>,
        pointer: &str,
    ) -> Result<Option<Vec<&'s str>>, Error> {
        let bad = || {
            self.fail(
                &format!("{pointer}/type"),
                "`type` is not a string or a list of strings",
            )
        };
        match obj.get("type") {
            Some(Value::String(t)) => Ok(Some(vec![t.as_str()])),
            Some(Value::Array(ts)) => ts
                .iter()
                .map(|t| t.as_str().ok_or_else(bad))
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(_) => Err(bad()),
            None => {
                if [
                    "properties",
                    "additionalProperties",
                    "patternProperties",
                    "required",
                ]
                .iter()
                .any(|k| obj.contains_key(*k))
                {
                    Ok(Some(vec!["object"]))
                } else if obj.contains_key("items") || obj.contains_key("prefixItems") {
                    Ok(Some(vec!["array"]))
                } else {
                    Ok(None)
                }
            }
        }
    }

    fn render_type(
        &self,
        t: &str,
        obj: &Map<String, Value>,
        indent: usize,
        pointer: &str,
        depth: usize,
    ) -> Result<Ty, Error> {
        Ok(match t {
            "string" => Ty::atom("string"),
            "integer" | "number" => Ty::atom("number"),
            "boolean" => Ty::atom("boolean"),
            "null" => Ty::atom("null"),
            "array" => self.render_array(obj, indent, pointer, depth)?,
            "object" => self.render_object(obj, indent, pointer, depth)?,
            other => {
                return Err(self.fail(
                    &format!("{pointer}/type"),
                    format!("unknown type {other:?}"),
                ));
            }
        })
    }

    fn render_object(
        &self,
        obj: &Map<String, Value>,
        indent: usize,
        pointer: &str,
        depth: usize,
    ) -> Result<Ty, Error> {
        let has_properties = obj
            .get("properties")
            .and_then(Value::as_object)
            .is_some_and(|p| !p.is_empty());
        if has_properties {
            return Ok(Ty::atom(self.object_body(obj, indent, pointer, depth)?));
        }
        let values = self.index_values(obj, indent, pointer, depth)?;
        Ok(Ty::atom(match values {
            None => "Record<string, never>".to_owned(),
            Some(ty) => format!("Record<string, {}>", ty.text),
        }))
    }

    /// The type of properties beyond `properties`: `None` when there may be none
    /// (`additionalProperties: false` and no `patternProperties`).
    fn index_values(
        &self,
        obj: &Map<String, Value>,
        indent: usize,
        pointer: &str,
        depth: usize,
    ) -> Result<Option<Ty>, Error> {
        let mut members = Vec::new();
        let mut closed = false;
        match obj.get("additionalProperties") {
            None | Some(Value::Bool(true)) => members.push((Ty::unknown(), String::new())),
            Some(Value::Bool(false)) => closed = true,
            Some(schema) => members.push((
                self.render(
                    schema,
                    indent,
                    &format!("{pointer}/additionalProperties"),
                    depth + 1,
                )?,
                String::new(),
            )),
        }
        if let Some(patterns) = obj.get("patternProperties") {
            let patterns = patterns.as_object().ok_or_else(|| {
                self.fail(
                    &format!("{pointer}/patternProperties"),
                    "`patternProperties` is not an object",
                )
            })?;
            for (pattern, schema) in patterns {
                let at = format!("{pointer}/patternProperties/{}", escape_pointer(pattern));
                members.push((self.render(schema, indent, &at, depth + 1)?, String::new()));
            }
        }
        if closed && members.is_empty() {
            return Ok(None);
        }
        Ok(Some(union(members, indent)))
    }

    /// `{ … }` with one line per property, and an index signature when further properties are
    /// explicitly allowed.
    fn object_body(
        &self,
        obj: &Map<String, Value>,
        indent: usize,
        pointer: &str,
        depth: usize,
    ) -> Result<String, Error> {
        let pad = " ".repeat(indent + 2);
        let required: HashSet<&str> = match obj.get("required") {
            None => HashSet::new(),
            Some(Value::Array(names)) => names.iter().filter_map(Value::as_str).collect(),
            Some(_) => {
                return Err(self.fail(&format!("{pointer}/required"), "`required` is not an array"));
            }
        };
        let properties = match obj.get("properties") {
            None => None,
            Some(Value::Object(p)) => Some(p),
            Some(_) => {
                return Err(self.fail(
                    &format!("{pointer}/properties"),
                    "`properties` is not an object",
                ));
            }
        };
        let mut out = String::from("{\n");
        for (name, schema) in properties.into_iter().flatten() {
            let at = format!("{pointer}/properties/{}", escape_pointer(name));
            let ty = self.render(schema, indent + 2, &at, depth + 1)?;
            let optional = if required.contains(name.as_str()) {
                ""
            } else {
                "?"
            };
            out.push_str(&jsdoc(schema, indent + 2));
            out.push_str(&format!(
                "{pad}{}{optional}:{};\n",
                property_name(name),
                spaced(&ty.text)
            ));
        }
        // Extra properties next to named ones are declared `unknown`: a narrower index signature
        // would have to admit every named property's type as well.
        let explicit_extra = match obj.get("additionalProperties") {
            Some(Value::Bool(false)) | None => false,
            Some(_) => true,
        } || obj
            .get("patternProperties")
            .and_then(Value::as_object)
            .is_some_and(|p| !p.is_empty());
        if explicit_extra {
            out.push_str(&format!("{pad}[key: string]: unknown;\n"));
        }
        out.push_str(&" ".repeat(indent));
        out.push('}');
        Ok(out)
    }

    fn render_array(
        &self,
        obj: &Map<String, Value>,
        indent: usize,
        pointer: &str,
        depth: usize,
    ) -> Result<Ty, Error> {
        // A tuple is `prefixItems` (2020-12) with `items` for the rest, or an `items` array
        // (draft 7) with `additionalItems` for the rest.
        let (prefix, prefix_key, rest, rest_key) = match (obj.get("prefixItems"), obj.get("items"))
        {
            (Some(Value::Array(prefix)), rest) => (Some(prefix), "prefixItems", rest, "items"),
            (Some(_), _) => {
                return Err(self.fail(
                    &format!("{pointer}/prefixItems"),
                    "`prefixItems` is not an array",
                ));
            }
            (None, Some(Value::Array(prefix))) => (
                Some(prefix),
                "items",
                obj.get("additionalItems"),
                "additionalItems",
            ),
            (None, items) => (None, "", items, "items"),
        };
        let Some(prefix) = prefix else {
            let item = match rest {
                None => Ty::unknown(),
                Some(schema) => {
                    self.render(schema, indent, &format!("{pointer}/items"), depth + 1)?
                }
            };
            return Ok(Ty::atom(if item.prec == Prec::Atom {
                format!("{}[]", item.text)
            } else {
                format!("Array<{}>", item.text)
            }));
        };
        let min = obj.get("minItems").and_then(Value::as_u64).unwrap_or(0);
        let max = obj.get("maxItems").and_then(Value::as_u64);
        let mut elements = Vec::new();
        for (i, schema) in prefix.iter().enumerate() {
            let ty = self.render(
                schema,
                indent,
                &format!("{pointer}/{prefix_key}/{i}"),
                depth + 1,
            )?;
            let optional = if (i as u64) < min { "" } else { "?" };
            elements.push(format!(
                "{}{optional}",
                ty.wrapped(if optional.is_empty() {
                    Prec::Union
                } else {
                    Prec::Atom
                })
            ));
        }
        let closed = max.is_some_and(|m| m <= prefix.len() as u64);
        match rest {
            _ if closed => {}
            Some(Value::Bool(false)) => {}
            None | Some(Value::Bool(true)) => elements.push("...unknown[]".to_owned()),
            Some(schema) => {
                let ty =
                    self.render(schema, indent, &format!("{pointer}/{rest_key}"), depth + 1)?;
                elements.push(format!("...{}[]", ty.wrapped(Prec::Atom)));
            }
        }
        Ok(Ty::atom(format!("[{}]", elements.join(", "))))
    }

    fn list<'s>(
        &self,
        value: &'s Value,
        keyword: &str,
        pointer: &str,
    ) -> Result<&'s Vec<Value>, Error> {
        value.as_array().ok_or_else(|| {
            self.fail(
                &format!("{pointer}/{keyword}"),
                format!("`{keyword}` is not an array"),
            )
        })
    }

    fn resolve(&self, reference: &str, pointer: &str) -> Result<String, Error> {
        if reference == "#" {
            return Ok(self.root_name.to_owned());
        }
        let unsupported = || {
            self.fail(
                &format!("{pointer}/$ref"),
                format!("unsupported reference {reference:?}: only `#` and `#/{}/<name>` are translated", self.defs_key),
            )
        };
        let rest = reference
            .strip_prefix("#/$defs/")
            .or_else(|| reference.strip_prefix("#/definitions/"))
            .ok_or_else(unsupported)?;
        if rest.contains('/') {
            return Err(unsupported());
        }
        let key = unescape_pointer(&percent_decode(rest));
        self.names.get(&key).cloned().ok_or_else(|| {
            self.fail(
                &format!("{pointer}/$ref"),
                format!("{reference:?} names no definition"),
            )
        })
    }
}

/// A union of `members` (each with the description of its schema), flattened and de-duplicated.
/// It is written on one line, or one member per line (prettier's style) when a member spans lines
/// or has a description to show.
fn union(members: Vec<(Ty, String)>, indent: usize) -> Ty {
    let mut seen = HashSet::new();
    let mut kept: Vec<(Ty, String)> = Vec::new();
    let flat = members.into_iter().flat_map(|(ty, doc)| {
        if ty.prec == Prec::Union {
            ty.members
        } else {
            vec![(ty, doc)]
        }
    });
    for (ty, doc) in flat {
        if ty.is("unknown") {
            return Ty::unknown();
        }
        if ty.is("never") || !seen.insert(ty.text.clone()) {
            continue;
        }
        kept.push((ty, doc));
    }
    match kept.len() {
        0 => return Ty::atom("never"),
        1 => return kept.remove(0).0,
        _ => {}
    }
    let multiline = kept
        .iter()
        .any(|(ty, doc)| ty.text.contains('\n') || !doc.is_empty());
    let text = if multiline {
        let pad = " ".repeat(indent + 2);
        let mut text = String::new();
        for (ty, doc) in &kept {
            text.push('\n');
            if !doc.is_empty() {
                text.push_str(&jsdoc_lines(doc, false, indent + 2));
            }
            text.push_str(&format!("{pad}| {}", ty.wrapped(Prec::Intersection)));
        }
        text
    } else {
        kept.iter()
            .map(|(ty, _)| ty.wrapped(Prec::Intersection))
            .collect::<Vec<_>>()
            .join(" | ")
    };
    Ty {
        text,
        prec: Prec::Union,
        members: kept,
    }
}

/// `text` after a `:` or `=`: a space before it unless it starts on a new line.
fn spaced(text: &str) -> String {
    if text.starts_with('\n') {
        text.to_owned()
    } else {
        format!(" {text}")
    }
}

fn is_interface_shape(obj: &Map<String, Value>) -> bool {
    let object_type = match obj.get("type") {
        Some(Value::String(t)) => t == "object",
        None => true,
        Some(_) => false,
    };
    let has_properties = obj
        .get("properties")
        .and_then(Value::as_object)
        .is_some_and(|p| !p.is_empty());
    let other_shapes = ["$ref", "const", "enum", "allOf", "anyOf", "oneOf"]
        .iter()
        .any(|k| obj.contains_key(*k))
        || obj.get("nullable") == Some(&Value::Bool(true));
    object_type && has_properties && !other_shapes
}

/// A TypeScript literal type for a JSON value (JSON's syntax is TypeScript's here: strings,
/// numbers, booleans, `null`, and objects and arrays as object-literal and tuple types).
fn literal(value: &Value) -> String {
    value.to_string()
}

fn description(schema: &Value) -> String {
    schema
        .get("description")
        .and_then(Value::as_str)
        .map(str::trim)
        .unwrap_or_default()
        .to_owned()
}

/// The JSDoc block for a schema's `description` and `deprecated`, at `indent`, ending in a
/// newline; empty when it has neither.
fn jsdoc(schema: &Value, indent: usize) -> String {
    let text = description(schema);
    let deprecated = schema.get("deprecated") == Some(&Value::Bool(true));
    if text.is_empty() && !deprecated {
        return String::new();
    }
    jsdoc_lines(&text, deprecated, indent)
}

fn jsdoc_lines(text: &str, deprecated: bool, indent: usize) -> String {
    let pad = " ".repeat(indent);
    // `*/` would end the comment early.
    let mut lines: Vec<String> = text
        .lines()
        .map(|l| l.trim_end().replace("*/", "*\\/"))
        .collect();
    if text.is_empty() {
        lines.clear();
    }
    if deprecated {
        lines.push("@deprecated".to_owned());
    }
    if lines.len() == 1 {
        return format!("{pad}/** {} */\n", lines[0]);
    }
    let mut out = format!("{pad}/**\n");
    for line in lines {
        if line.is_empty() {
            out.push_str(&format!("{pad} *\n"));
        } else {
            out.push_str(&format!("{pad} * {line}\n"));
        }
    }
    out.push_str(&format!("{pad} */\n"));
    out
}

fn is_ts_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_' || c == '$')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
}

fn property_name(name: &str) -> String {
    if is_ts_identifier(name) {
        name.to_owned()
    } else {
        Value::String(name.to_owned()).to_string()
    }
}

/// A definition key made into a type name: other characters become `_` (schemars names generic
/// types `Wrapper_for_String`, but hand-written schemas may use anything), a leading digit or a
/// reserved word gets a `_`.
fn sanitize_type_name(key: &str) -> String {
    let mut name: String = key
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '$' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
        name.insert(0, '_');
    }
    if RESERVED.contains(&name.as_str()) {
        name.push('_');
    }
    name
}

fn escape_pointer(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

fn unescape_pointer(segment: &str) -> String {
    segment.replace("~1", "/").replace("~0", "~")
}

/// Decodes `%XX` escapes of a URI fragment; anything malformed is kept as it is.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(hex) = s.get(i + 1..i + 3)
            && let Ok(b) = u8::from_str_radix(hex, 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap_or_else(|_| s.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(schema: Value, expected: &str) {
        let got = typescript(&schema, "T").expect("translates");
        assert_eq!(got, expected, "schema: {schema}");
    }

    fn check_err(schema: Value, pointer: &str, message: &str) {
        match typescript(&schema, "T") {
            Err(Error::TypeScript {
                pointer: p,
                message: m,
                ..
            }) => {
                assert_eq!(p, pointer, "{m}");
                assert!(m.contains(message), "{m:?} lacks {message:?}");
            }
            other => panic!("expected an error, got {other:?}"),
        }
    }

    #[test]
    fn scalars_and_literals() {
        check(json!({"type": "string"}), "export type T = string;\n");
        check(json!({"type": "integer"}), "export type T = number;\n");
        check(json!({"type": "number"}), "export type T = number;\n");
        check(json!({"type": "boolean"}), "export type T = boolean;\n");
        check(json!({"type": "null"}), "export type T = null;\n");
        check(json!(true), "export type T = unknown;\n");
        check(json!({}), "export type T = unknown;\n");
        check(
            json!({"description": "x"}),
            "/** x */\nexport type T = unknown;\n",
        );
        check(json!(false), "export type T = never;\n");
        check(json!({"const": "a\"b"}), "export type T = \"a\\\"b\";\n");
        check(json!({"const": -1.5}), "export type T = -1.5;\n");
        check(
            json!({"enum": ["a", 1, null, true]}),
            "export type T = \"a\" | 1 | null | true;\n",
        );
        check(json!({"enum": []}), "export type T = never;\n");
        check(
            json!({"type": ["string", "null"]}),
            "export type T = string | null;\n",
        );
        check(
            json!({"type": "string", "nullable": true}),
            "export type T = string | null;\n",
        );
        check(
            json!({"type": ["integer", "number"]}),
            "export type T = number;\n",
        );
        check(
            json!({"type": "string", "enum": ["x", "y"]}),
            "export type T = \"x\" | \"y\";\n",
        );
    }

    #[test]
    fn arrays_and_tuples() {
        check(
            json!({"type": "array", "items": {"type": "string"}}),
            "export type T = string[];\n",
        );
        check(json!({"type": "array"}), "export type T = unknown[];\n");
        check(
            json!({"type": "array", "items": {"type": ["string", "null"]}}),
            "export type T = Array<string | null>;\n",
        );
        check(
            json!({"type": "array", "prefixItems": [{"type": "string"}, {"type": "integer"}], "minItems": 2, "maxItems": 2}),
            "export type T = [string, number];\n",
        );
        check(
            json!({"type": "array", "prefixItems": [{"type": "string"}, {"type": "integer"}], "minItems": 1, "items": false}),
            "export type T = [string, number?];\n",
        );
        check(
            json!({"type": "array", "prefixItems": [{"type": "string"}], "minItems": 1, "items": {"type": "boolean"}}),
            "export type T = [string, ...boolean[]];\n",
        );
        check(
            json!({"type": "array", "prefixItems": [{"type": "string"}], "minItems": 1}),
            "export type T = [string, ...unknown[]];\n",
        );
        check(
            json!({"type": "array", "items": [{"type": "string"}], "minItems": 1, "additionalItems": false}),
            "export type T = [string];\n",
        );
    }

    #[test]
    fn objects() {
        check(
            json!({"type": "object", "properties": {"a": {"type": "string"}, "b-c": {"type": "integer"}}, "required": ["a"]}),
            "export interface T {\n  a: string;\n  \"b-c\"?: number;\n}\n",
        );
        check(
            json!({"type": "object"}),
            "export type T = Record<string, unknown>;\n",
        );
        check(
            json!({"type": "object", "additionalProperties": {"type": "integer"}}),
            "export type T = Record<string, number>;\n",
        );
        check(
            json!({"type": "object", "additionalProperties": false}),
            "export type T = Record<string, never>;\n",
        );
        check(
            json!({"type": "object", "additionalProperties": false, "patternProperties": {"^x": {"type": "string"}}}),
            "export type T = Record<string, string>;\n",
        );
        check(
            json!({"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"], "additionalProperties": {"type": "integer"}}),
            "export interface T {\n  a: string;\n  [key: string]: unknown;\n}\n",
        );
        check(
            json!({"properties": {"o": {"type": "object", "properties": {"p": {"type": "boolean", "description": "P."}}, "required": ["p"]}}}),
            "export interface T {\n  o?: {\n    /** P. */\n    p: boolean;\n  };\n}\n",
        );
    }

    #[test]
    fn combinators() {
        check(
            json!({"anyOf": [{"type": "string"}, {"type": "integer"}]}),
            "export type T = string | number;\n",
        );
        check(
            json!({"allOf": [{"$ref": "#/$defs/A"}, {"$ref": "#/$defs/B"}], "$defs": {"A": {"type": "string"}, "B": {"type": "string"}}}),
            "export type T = A & B;\n\nexport type A = string;\n\nexport type B = string;\n",
        );
        check(
            json!({"type": "string", "oneOf": [{"const": "a"}, {"const": "b"}]}),
            "export type T = \"a\" | \"b\";\n",
        );
        check(
            json!({"type": ["string", "null"], "oneOf": [{"const": "a"}, {"const": "b"}]}),
            "export type T = \"a\" | \"b\" | null;\n",
        );
        check(
            json!({"oneOf": [{"const": "a", "description": "The a."}, {"const": "b"}]}),
            "export type T =\n  /** The a. */\n  | \"a\"\n  | \"b\";\n",
        );
        check(
            json!({"allOf": [{"anyOf": [{"type": "string"}, {"type": "integer"}]}, {"type": "string"}]}),
            "export type T = (string | number) & string;\n",
        );
        check(
            json!({"anyOf": [{"type": "string"}, {}]}),
            "export type T = unknown;\n",
        );
        check(
            json!({"anyOf": [{"$ref": "#"}, {"type": "null"}]}),
            "export type T = T | null;\n",
        );
    }

    #[test]
    fn docs() {
        check(
            json!({"type": "string", "description": "Line one.\n\nLine */ three.", "deprecated": true}),
            "/**\n * Line one.\n *\n * Line *\\/ three.\n * @deprecated\n */\nexport type T = string;\n",
        );
    }

    #[test]
    fn names() {
        check(
            json!({"$ref": "#/$defs/a~1b", "$defs": {"a/b": {"type": "string"}}}),
            "export type T = a_b;\n\nexport type a_b = string;\n",
        );
        check(
            json!({"$ref": "#/$defs/Wrapper%3CT%3E", "$defs": {"Wrapper<T>": {"type": "string"}}}),
            "export type T = Wrapper_T_;\n\nexport type Wrapper_T_ = string;\n",
        );
        check(
            json!({"$ref": "#/definitions/string", "definitions": {"string": {"type": "string"}, "1x": {"type": "null"}}}),
            "export type T = string_;\n\nexport type _1x = null;\n\nexport type string_ = string;\n",
        );
        assert!(matches!(
            typescript(&json!({}), "not-an-identifier"),
            Err(Error::TypeScript { .. })
        ));
        assert!(matches!(
            typescript(&json!({}), "string"),
            Err(Error::TypeScript { .. })
        ));
    }

    #[test]
    fn errors() {
        check_err(json!(3), "", "object or a boolean");
        check_err(json!({"type": "strang"}), "/type", "unknown type");
        check_err(json!({"type": 3}), "/type", "not a string");
        check_err(
            json!({"$ref": "other.json"}),
            "/$ref",
            "unsupported reference",
        );
        check_err(
            json!({"$ref": "#/$defs/Missing"}),
            "/$ref",
            "names no definition",
        );
        check_err(
            json!({"$ref": "#/$defs/A/properties/x", "$defs": {"A": {}}}),
            "/$ref",
            "unsupported",
        );
        check_err(
            json!({"properties": {"a": {"enum": 1}}}),
            "/properties/a/enum",
            "not an array",
        );
        check_err(
            json!({"$defs": {"a-b": {}, "a_b": {}}}),
            "/$defs/a_b",
            "two definitions",
        );
        let mut deep = json!({"type": "string"});
        for _ in 0..200 {
            deep = json!({"type": "array", "items": deep});
        }
        let Err(Error::TypeScript { message, .. }) = typescript(&deep, "T") else {
            panic!("deep nesting must be refused");
        };
        assert!(message.contains("deeper"), "{message}");
    }

    #[test]
    fn module_shares_identical_definitions_and_refuses_conflicts() {
        let a = json!({"type": "object", "properties": {"s": {"$ref": "#/$defs/Shared"}}, "$defs": {"Shared": {"type": "string"}}});
        let b = json!({"type": "array", "items": {"$ref": "#/$defs/Shared"}, "$defs": {"Shared": {"type": "string"}}});
        let mut module = TypeScriptModule::new();
        module.add("A", &a).unwrap();
        module.add("B", &b).unwrap();
        assert_eq!(
            module.finish(),
            "export interface A {\n  s?: Shared;\n}\n\nexport type B = Shared[];\n\nexport type Shared = string;\n"
        );
        let c = json!({"$ref": "#/$defs/Shared", "$defs": {"Shared": {"type": "integer"}}});
        assert!(matches!(module.add("C", &c), Err(Error::TypeScript { .. })));
        // The failed add left nothing behind.
        assert!(!module.finish().contains("C ="));
    }
}
