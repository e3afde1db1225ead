//! `statevault patch`, `statevault append` and patches in `statevault batch`.

use serde_json::json;

use super::common::{Sv, history, store, sv};

fn set(dir: &std::path::Path, key: &str, value: &serde_json::Value) {
    Sv::new()
        .dir(dir)
        .args(["set", key, "-"])
        .stdin(value.to_string())
        .run()
        .expect(0);
}

fn get(dir: &std::path::Path, key: &str) -> serde_json::Value {
    sv(dir, &["--json", "get", key]).expect(0).json()
}

#[test]
fn patch_applies_every_operation_and_reports_what_changed() {
    let dir = store();
    set(
        dir.path(),
        "plugins.todo",
        &json!({"done": 0, "items": ["a"]}),
    );
    let patch = json!([
        {"op": "replace", "path": "/done", "value": 1},
        {"op": "add", "path": "/items/-", "value": "b"},
    ]);
    let out = Sv::new()
        .dir(dir.path())
        .args(["--json", "patch", "plugins.todo", "-"])
        .stdin(patch.to_string())
        .run()
        .expect(0)
        .json();
    assert_eq!(out["operations"], 2);
    assert_eq!(out["changed"], json!(["/done", "/items/1"]));
    assert_eq!(out["validation"], "unregistered");
    assert_eq!(
        get(dir.path(), "plugins.todo"),
        json!({"done": 1, "items": ["a", "b"]})
    );
}

#[test]
fn a_failing_operation_exits_4_naming_it_and_changes_nothing() {
    let dir = store();
    set(dir.path(), "plugins.todo", &json!({"done": 0}));
    let patch = json!([
        {"op": "replace", "path": "/done", "value": 1},
        {"op": "test", "path": "/done", "value": 7},
    ]);
    let run = Sv::new()
        .dir(dir.path())
        .args(["--json", "patch", "plugins.todo", "-"])
        .stdin(patch.to_string())
        .run()
        .expect(4);
    let error = run.json();
    assert_eq!(error["error"]["code"], "E_PATCH", "{run:?}");
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("operation 1"),
        "{run:?}"
    );
    assert_eq!(get(dir.path(), "plugins.todo"), json!({"done": 0}));
    // A key that does not exist: exit 3, nothing created.
    Sv::new()
        .dir(dir.path())
        .args(["patch", "plugins.none", "-"])
        .stdin(patch.to_string())
        .run()
        .expect(3);
    sv(dir.path(), &["exists", "plugins.none"]).expect(3);
    // Not a patch at all: a usage error.
    Sv::new()
        .dir(dir.path())
        .args(["patch", "plugins.todo", "-"])
        .stdin(r#"{"op": "add"}"#)
        .run()
        .expect(2);
}

#[test]
fn append_adds_to_an_array_and_a_registered_document_stays_valid() {
    let dir = store();
    set(dir.path(), "history.conversations", &history());
    let pointer = "/conversations/0/messages";
    let message = json!({"id": "m-3", "role": "user", "content": "and a hotel", "timestamp": 1764000070000u64});
    let out = Sv::new()
        .dir(dir.path())
        .args(["--json", "append", "history.conversations", pointer, "-"])
        .stdin(message.to_string())
        .run()
        .expect(0)
        .json();
    assert_eq!(
        out["validation"], "partial",
        "only the message was validated"
    );
    assert_eq!(
        get(dir.path(), "history.conversations")["conversations"][0]["messages"][2],
        message
    );
    // An item that breaks the document's schema is refused with exit 4, naming where.
    let run = Sv::new()
        .dir(dir.path())
        .args(["--json", "append", "history.conversations", pointer, "-"])
        .stdin(r#"{"id": "m-4", "role": "robot", "content": "", "timestamp": 1}"#)
        .run()
        .expect(4);
    let violations = &run.json()["error"]["violations"];
    assert_eq!(
        violations[0]["pointer"], "/conversations/0/messages/3/role",
        "{run:?}"
    );
    set(dir.path(), "plugins.log", &json!({"lines": []}));
    for line in ["one", "two"] {
        Sv::new()
            .dir(dir.path())
            .args(["append", "plugins.log", "/lines", "-"])
            .stdin(format!("\"{line}\""))
            .run()
            .expect(0);
    }
    assert_eq!(
        get(dir.path(), "plugins.log"),
        json!({"lines": ["one", "two"]})
    );
}

#[test]
fn a_batch_line_can_patch_beside_saves_and_deletes() {
    let dir = store();
    set(dir.path(), "plugins.todo", &json!({"items": []}));
    set(dir.path(), "plugins.old", &json!(1));
    let lines = [
        json!({"op": "patch", "key": "plugins.todo", "patch": [{"op": "add", "path": "/items/-", "value": "x"}]}),
        json!({"op": "save", "key": "plugins.new", "data": {"n": 1}}),
        json!({"op": "delete", "key": "plugins.old"}),
    ]
    .map(|l| l.to_string())
    .join("\n");
    Sv::new()
        .dir(dir.path())
        .args(["batch", "-"])
        .stdin(lines)
        .run()
        .expect(0);
    assert_eq!(get(dir.path(), "plugins.todo"), json!({"items": ["x"]}));
    assert_eq!(get(dir.path(), "plugins.new"), json!({"n": 1}));
    sv(dir.path(), &["exists", "plugins.old"]).expect(3);
    // A patch that fails rejects the whole batch.
    let lines = [
        json!({"op": "save", "key": "plugins.new", "data": {"n": 2}}),
        json!({"op": "patch", "key": "plugins.todo", "patch": [{"op": "remove", "path": "/nothing"}]}),
    ]
    .map(|l| l.to_string())
    .join("\n");
    Sv::new()
        .dir(dir.path())
        .args(["batch", "-"])
        .stdin(lines)
        .run()
        .expect(4);
    assert_eq!(get(dir.path(), "plugins.new"), json!({"n": 1}));
}
