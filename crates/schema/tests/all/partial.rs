//! Partial validation agrees with full validation: over random valid documents and random
//! patches, whenever the partial check answers (valid or invalid), full validation of the
//! patched document gives the same answer.

use std::sync::Arc;

use json_patch::jsonptr::PointerBuf;
use json_patch::{AddOperation, PatchOperation, RemoveOperation, ReplaceOperation};
use proptest::collection::vec;
use proptest::prelude::*;
use serde_json::{Value, json};
use statevault_schema::{
    Checked, ConversationHistoryState, DocumentInfo, Touched, Verdict, document_info,
};

use crate::strategies;

/// A small document: an object of named items with counts, an enum and a closed shape.
fn items_schema() -> Arc<DocumentInfo> {
    let schema = json!({
        "type": "object",
        "required": ["name", "items"],
        "additionalProperties": false,
        "properties": {
            "name": {"type": "string", "minLength": 1},
            "kind": {"enum": ["a", "b"]},
            "items": {"type": "array", "minItems": 1, "maxItems": 4, "items": {"$ref": "#/$defs/Item"}},
            "tags": {"type": "array", "uniqueItems": true, "items": {"type": "string"}}
        },
        "$defs": {
            "Item": {
                "type": "object",
                "required": ["id"],
                "additionalProperties": false,
                "properties": {
                    "id": {"type": "integer", "minimum": 0},
                    "note": {"type": "string", "maxLength": 3}
                }
            }
        }
    });
    Arc::new(DocumentInfo::from_schema("Items", "1.0.0", schema).unwrap())
}

/// A map with a schema for every value, nested arrays, `contains` and `const`.
fn map_schema() -> Arc<DocumentInfo> {
    let schema = json!({
        "type": "object",
        "required": ["settings"],
        "properties": {
            "settings": {
                "type": "object",
                "required": ["a"],
                "maxProperties": 3,
                "additionalProperties": {"type": "integer", "maximum": 10}
            },
            "grid": {
                "type": "array",
                "contains": {"const": [1]},
                "items": {"type": "array", "maxItems": 3, "items": {"enum": [1, 2, 3]}}
            }
        }
    });
    Arc::new(DocumentInfo::from_schema("Map", "1.0.0", schema).unwrap())
}

/// A schema with a keyword the partial check does not follow, above every location.
fn choice_schema() -> Arc<DocumentInfo> {
    let schema = json!({
        "type": "object",
        "properties": {"v": {"type": "array", "items": {"type": "integer"}}},
        "oneOf": [{"required": ["v"]}, {"required": ["w"]}]
    });
    Arc::new(DocumentInfo::from_schema("Choice", "1.0.0", schema).unwrap())
}

/// Values that fit the documents' parts, and some that do not.
fn value() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(json!(null)),
        Just(json!(true)),
        (-2i64..12).prop_map(Value::from),
        prop_oneof![Just(""), Just("a"), Just("abcd"), Just("user"), Just("b")].prop_map(Value::from),
        Just(json!([1])),
        Just(json!([1, 2])),
        Just(json!([4])),
        Just(json!({"a": 1})),
        (0i64..3, prop_oneof![Just(None), Just(Some("ab")), Just(Some("abcd"))]).prop_map(|(id, note)| {
            let mut item = json!({"id": id});
            if let Some(note) = note {
                item["note"] = note.into();
            }
            item
        }),
        (prop_oneof![Just("m"), Just("")], prop_oneof![Just("user"), Just("tool"), Just("nobody")], 0u64..3)
            .prop_map(|(id, role, timestamp)| json!({"id": id, "role": role, "content": "hi", "timestamp": timestamp})),
        strategies::conversation().prop_map(|c| serde_json::to_value(c).unwrap()),
        strategies::json(),
    ]
}

/// One operation, its locations chosen among those of the document when it is applied.
#[derive(Debug, Clone)]
struct Step {
    kind: u8,
    path: usize,
    from: usize,
    /// How the path ends: at a location, appended (`-`), a new member, or at an index.
    end: u8,
    value: Value,
}

fn steps() -> impl Strategy<Value = Vec<Step>> {
    vec(
        (0u8..5, any::<usize>(), any::<usize>(), 0u8..4, value()).prop_map(
            |(kind, path, from, end, value)| Step {
                kind,
                path,
                from,
                end,
                value,
            },
        ),
        1..7,
    )
}

/// Every location in `doc`, the root first.
fn locations(doc: &Value, at: String, out: &mut Vec<String>) {
    out.push(at.clone());
    match doc {
        Value::Object(map) => {
            for (name, child) in map {
                let token = name.replace('~', "~0").replace('/', "~1");
                locations(child, format!("{at}/{token}"), out);
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                locations(child, format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

fn apply_one(doc: &mut Value, op: PatchOperation) -> bool {
    json_patch::patch(doc, std::slice::from_ref(&op)).is_ok()
}

fn pointer(text: &str) -> PointerBuf {
    PointerBuf::parse(text).unwrap()
}

/// Applies `step` to `doc` the way the store does (a move as a remove and an add, a copy as an
/// add), recording it in `touched`; a step that fails changes nothing.
fn apply(doc: &mut Value, step: &Step, touched: &mut Touched) {
    let mut all = Vec::new();
    locations(doc, String::new(), &mut all);
    // Insertions go into arrays, mostly, where they move what other steps touched.
    let arrays: Vec<&String> = all
        .iter()
        .filter(|at| doc.pointer(at).is_some_and(Value::is_array))
        .collect();
    let at = match arrays.len() {
        n if n > 0 && step.end % 2 == 1 => arrays[step.path % n].clone(),
        _ => all[step.path % all.len()].clone(),
    };
    let path = match step.end {
        0 => at.clone(),
        1 => format!("{at}/-"),
        2 => format!("{at}/extra"),
        _ => format!("{at}/{}", step.from % 3),
    };
    let from = all[step.from % all.len()].clone();
    match step.kind {
        // add
        0 => {
            let op = PatchOperation::Add(AddOperation {
                path: pointer(&path),
                value: step.value.clone(),
            });
            if apply_one(doc, op) {
                touched.added(doc, &path);
            }
        }
        // remove
        1 => {
            let op = PatchOperation::Remove(RemoveOperation { path: pointer(&at) });
            if apply_one(doc, op) {
                touched.removed(doc, &at);
            }
        }
        // replace
        2 => {
            let op = PatchOperation::Replace(ReplaceOperation {
                path: pointer(&at),
                value: step.value.clone(),
            });
            if apply_one(doc, op) {
                touched.replaced(&at);
            }
        }
        // move: a remove, then an add of what it removed
        3 => {
            if path.starts_with(&format!("{from}/")) || from.is_empty() {
                return;
            }
            let Some(moved) = doc.pointer(&from).cloned() else {
                return;
            };
            if !apply_one(
                doc,
                PatchOperation::Remove(RemoveOperation {
                    path: pointer(&from),
                }),
            ) {
                return;
            }
            touched.removed(doc, &from);
            if apply_one(
                doc,
                PatchOperation::Add(AddOperation {
                    path: pointer(&path),
                    value: moved,
                }),
            ) {
                touched.added(doc, &path);
            }
        }
        // copy
        _ => {
            let Some(copied) = doc.pointer(&from).cloned() else {
                return;
            };
            if apply_one(
                doc,
                PatchOperation::Add(AddOperation {
                    path: pointer(&path),
                    value: copied,
                }),
            ) {
                touched.added(doc, &path);
            }
        }
    }
}

/// The property: patched from a valid `base`, the partial verdict is full validation's.
fn agrees(info: &DocumentInfo, base: Value, steps: &[Step]) -> Result<(), TestCaseError> {
    if info.validate(&base).is_err() {
        // The premise of a partial check; the generators make such bases rare.
        return Ok(());
    }
    let mut doc = base;
    let mut touched = Touched::new();
    for step in steps {
        apply(&mut doc, step, &mut touched);
    }
    let full = info.validate(&doc).is_ok();
    match info.check_touched(&doc, &touched) {
        Verdict::Valid => prop_assert!(
            full,
            "partial says valid, full says invalid: {doc}\ntouched: {:?}",
            touched.pointers()
        ),
        Verdict::Invalid => prop_assert!(
            !full,
            "partial says invalid, full says valid: {doc}\ntouched: {:?}",
            touched.pointers()
        ),
        _ => {}
    }
    // And what the store calls gives full validation's verdict, whatever the path.
    prop_assert_eq!(info.validate_touched(&doc, &touched).is_ok(), full);
    Ok(())
}

fn items_base() -> impl Strategy<Value = Value> {
    (
        prop_oneof![Just("n"), Just("")],
        vec(
            (
                0i64..3,
                proptest::option::of(prop_oneof![Just("ab"), Just("abcd")]),
            ),
            1..4,
        ),
        proptest::option::of(prop_oneof![Just(json!(["x"])), Just(json!(["x", "y"]))]),
        proptest::option::of(prop_oneof![Just("a"), Just("b")]),
    )
        .prop_map(|(name, items, tags, kind)| {
            let items: Vec<Value> = items
                .into_iter()
                .map(|(id, note)| match note {
                    Some(note) => json!({"id": id, "note": note}),
                    None => json!({"id": id}),
                })
                .collect();
            let mut doc = json!({"name": name, "items": items});
            if let Some(tags) = tags {
                doc["tags"] = tags;
            }
            if let Some(kind) = kind {
                doc["kind"] = kind.into();
            }
            doc
        })
}

fn map_base() -> impl Strategy<Value = Value> {
    (vec(0i64..12, 0..3), vec(vec(1i64..4, 0..3), 0..3)).prop_map(|(extra, mut grid)| {
        let mut settings = json!({"a": 1});
        for (i, n) in extra.into_iter().enumerate() {
            settings[format!("k{i}")] = n.into();
        }
        grid.push(vec![1]);
        json!({"settings": settings, "grid": grid})
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn partial_agrees_with_full_on_the_conversation_history(
        base in strategies::history(),
        steps in steps(),
    ) {
        let mut base = serde_json::to_value(base).unwrap();
        base["version"] = "1.0.0".into();
        agrees(&document_info::<ConversationHistoryState>(), base, &steps)?;
    }

    #[test]
    fn partial_agrees_with_full_on_items(base in items_base(), steps in steps()) {
        agrees(&items_schema(), base, &steps)?;
    }

    #[test]
    fn partial_agrees_with_full_on_a_map(base in map_base(), steps in steps()) {
        agrees(&map_schema(), base, &steps)?;
    }

    #[test]
    fn partial_agrees_with_full_under_a_keyword_it_does_not_follow(
        v in vec(0i64..3, 0..3),
        steps in steps(),
    ) {
        agrees(&choice_schema(), json!({"v": v}), &steps)?;
    }
}

fn history(messages: usize) -> Value {
    let messages: Vec<Value> = (0..messages)
        .map(|i| json!({"id": format!("m{i}"), "role": "user", "content": "hello", "timestamp": i}))
        .collect();
    json!({
        "version": "1.0.0",
        "conversations": [{"id": "c", "createdAt": 0, "updatedAt": 0, "messages": messages}],
        "metadata": {"totalCount": 1, "lastUpdated": 0, "totalTokens": 0}
    })
}

#[test]
fn appending_a_message_is_checked_without_the_rest_of_the_history() {
    let info = document_info::<ConversationHistoryState>();
    let mut doc = history(3);
    let messages = doc["conversations"][0]["messages"].as_array_mut().unwrap();
    messages.push(
        json!({"id": "m3", "role": "assistant", "content": "hi", "timestamp": 9, "tokens": 2}),
    );
    let mut touched = Touched::new();
    touched.added(&doc, "/conversations/0/messages/-");
    assert_eq!(touched.pointers(), ["/conversations/0/messages/3"]);
    assert_eq!(info.check_touched(&doc, &touched), Verdict::Valid);
    assert_eq!(info.validate_touched(&doc, &touched), Ok(Checked::Partial));

    // A message with a role the schema does not know is caught by the partial check.
    let mut doc = history(3);
    let messages = doc["conversations"][0]["messages"].as_array_mut().unwrap();
    messages.push(json!({"id": "m3", "role": "robot", "content": "hi", "timestamp": 9}));
    let mut touched = Touched::new();
    touched.added(&doc, "/conversations/0/messages/-");
    assert_eq!(info.check_touched(&doc, &touched), Verdict::Invalid);
    let error = info.validate_touched(&doc, &touched).unwrap_err();
    assert_eq!(
        error.violations[0].pointer,
        "/conversations/0/messages/3/role"
    );
}

#[test]
fn the_partial_check_looks_at_no_other_message() {
    // Damage an old message the patch does not touch: the partial check does not see it (its
    // premise is a valid document before the patch), full validation does.
    let info = document_info::<ConversationHistoryState>();
    let mut doc = history(1000);
    doc["conversations"][0]["messages"][5]["role"] = "robot".into();
    let messages = doc["conversations"][0]["messages"].as_array_mut().unwrap();
    messages.push(json!({"id": "new", "role": "user", "content": "x", "timestamp": 1}));
    let mut touched = Touched::new();
    touched.added(&doc, "/conversations/0/messages/-");
    assert_eq!(info.check_touched(&doc, &touched), Verdict::Valid);
    assert!(info.validate(&doc).is_err());
}

#[test]
fn a_keyword_it_does_not_follow_sends_the_check_to_full_validation() {
    let info = choice_schema();
    let mut doc = json!({"v": [1]});
    doc["v"].as_array_mut().unwrap().push(json!(2));
    let mut touched = Touched::new();
    touched.added(&doc, "/v/-");
    assert_eq!(info.check_touched(&doc, &touched), Verdict::NotLocal);
    assert_eq!(info.validate_touched(&doc, &touched), Ok(Checked::Full));
}

#[test]
fn a_removed_required_member_is_caught_at_its_container() {
    let info = items_schema();
    let mut doc = json!({"name": "n", "items": [{"id": 1, "note": "ab"}]});
    doc["items"][0].as_object_mut().unwrap().remove("id");
    let mut touched = Touched::new();
    touched.removed(&doc, "/items/0/id");
    assert_eq!(info.check_touched(&doc, &touched), Verdict::Invalid);
}
