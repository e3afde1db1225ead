//! [`Patch::apply`]: each operation, all or nothing, the locations it reports.

use serde_json::{Value, json};

use super::{Patch, PatchFailure};

fn patch(operations: Value) -> Patch {
    serde_json::from_value(operations).expect("a patch")
}

fn doc() -> Value {
    json!({"title": "t", "items": ["a", "b", "c"], "meta": {"n": 1}})
}

#[test]
fn add_sets_a_member_inserts_and_appends() {
    let mut d = doc();
    let touched = patch(json!([
        {"op": "add", "path": "/meta/m", "value": 2},
        {"op": "add", "path": "/items/1", "value": "x"},
        {"op": "add", "path": "/items/-", "value": "z"},
    ]))
    .apply(&mut d)
    .unwrap();
    assert_eq!(d["meta"], json!({"n": 1, "m": 2}));
    assert_eq!(d["items"], json!(["a", "x", "b", "c", "z"]));
    assert_eq!(touched.pointers(), ["/meta/m", "/items/1", "/items/4"]);
}

#[test]
fn remove_replace_move_copy_and_test() {
    let mut d = doc();
    let touched = patch(json!([
        {"op": "test", "path": "/title", "value": "t"},
        {"op": "remove", "path": "/items/0"},
        {"op": "replace", "path": "/meta/n", "value": 5},
        {"op": "move", "from": "/title", "path": "/meta/title"},
        {"op": "copy", "from": "/items/0", "path": "/first"},
    ]))
    .apply(&mut d)
    .unwrap();
    assert_eq!(
        d,
        json!({"items": ["b", "c"], "meta": {"n": 5, "title": "t"}, "first": "b"})
    );
    assert_eq!(
        touched.pointers(),
        ["/items", "/meta/n", "", "/meta/title", "/first"]
    );
}

#[test]
fn a_failing_operation_at_index_2_leaves_the_document_unchanged_and_names_itself() {
    let before = doc();
    let mut d = before.clone();
    let error = patch(json!([
        {"op": "add", "path": "/items/-", "value": "d"},
        {"op": "remove", "path": "/meta"},
        {"op": "test", "path": "/title", "value": "other"},
        {"op": "add", "path": "/never", "value": 1},
    ]))
    .apply(&mut d)
    .unwrap_err();
    assert_eq!(d, before);
    assert_eq!(error.index, 2);
    assert_eq!(error.op, "test");
    assert_eq!(error.path, "/title");
    assert_eq!(error.failure, PatchFailure::TestFailed);
    let text = error.to_string();
    assert!(text.contains("operation 2 (test /title)"), "{text}");
    assert!(!text.contains("other"), "values never reach errors: {text}");
}

#[test]
fn a_bad_pointer_is_named_with_its_operation() {
    for (operations, index, failure) in [
        (
            json!([{"op": "add", "path": "/nowhere/x", "value": 1}]),
            0,
            PatchFailure::InvalidPath,
        ),
        (
            json!([{"op": "replace", "path": "/items/9", "value": 1}]),
            0,
            PatchFailure::InvalidPath,
        ),
        (
            json!([{"op": "test", "path": "/title", "value": "t"}, {"op": "remove", "path": "/items/-"}]),
            1,
            PatchFailure::InvalidPath,
        ),
        (
            json!([{"op": "copy", "from": "/gone", "path": "/x"}]),
            0,
            PatchFailure::InvalidFrom,
        ),
        (
            json!([{"op": "move", "from": "/meta", "path": "/meta/inner"}]),
            0,
            PatchFailure::MoveIntoItself,
        ),
    ] {
        let mut d = doc();
        let error = patch(operations.clone()).apply(&mut d).unwrap_err();
        assert_eq!(
            (error.index, error.failure),
            (index, failure),
            "{operations}"
        );
        assert_eq!(d, doc(), "{operations}");
    }
    // A pointer without its leading `/` is not a patch at all.
    assert!(serde_json::from_value::<Patch>(json!([{"op": "remove", "path": "title"}])).is_err());
}

#[test]
fn a_move_whose_add_fails_puts_back_what_it_removed() {
    let mut d = doc();
    let error = patch(json!([
        {"op": "replace", "path": "/title", "value": "u"},
        {"op": "move", "from": "/items/0", "path": "/nowhere/x"},
    ]))
    .apply(&mut d)
    .unwrap_err();
    assert_eq!((error.index, error.op), (1, "move"));
    assert_eq!(error.from.as_deref(), Some("/items/0"));
    assert_eq!(d, doc());
}

#[test]
fn every_kind_of_change_is_undone_in_order() {
    let mut d = doc();
    let error = patch(json!([
        {"op": "add", "path": "/items/0", "value": "new"},
        {"op": "add", "path": "/meta/n", "value": 9},
        {"op": "remove", "path": "/items/3"},
        {"op": "move", "from": "/items/0", "path": "/items/-"},
        {"op": "copy", "from": "/meta", "path": "/items/1"},
        {"op": "add", "path": "", "value": {"replaced": true}},
        {"op": "test", "path": "/replaced", "value": false},
    ]))
    .apply(&mut d)
    .unwrap_err();
    assert_eq!(error.index, 6);
    assert_eq!(d, doc());
}

#[test]
fn append_adds_at_the_end_of_an_array() {
    let mut d = doc();
    let touched = Patch::append("/items", json!("d"))
        .unwrap()
        .apply(&mut d)
        .unwrap();
    assert_eq!(d["items"], json!(["a", "b", "c", "d"]));
    assert_eq!(touched.pointers(), ["/items/3"]);
    let error = Patch::append("items", json!(1)).unwrap_err();
    assert_eq!(error.failure, PatchFailure::InvalidPath);
}

#[test]
fn the_standard_form_round_trips() {
    let operations = json!([
        {"op": "add", "path": "/a~1b", "value": [1]},
        {"op": "move", "from": "/x", "path": "/y"},
    ]);
    let parsed = patch(operations.clone());
    assert_eq!(parsed.len(), 2);
    assert_eq!(serde_json::to_value(&parsed).unwrap(), operations);
}
