//! Helpers shared by the test modules.

use std::path::PathBuf;

use serde_json::Value;

/// `crates/schema/tests/data`.
pub fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The valid sample of a built-in document, `tests/data/samples/<name>.json`.
pub fn sample(name: &str) -> Value {
    let path = data_dir().join("samples").join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A change to a sample: set the value at a JSON pointer, or remove it.
#[derive(Debug, Clone)]
pub enum Edit {
    Set(&'static str, Value),
    Remove(&'static str),
}

/// `value` with `edits` applied (each pointer's parent must exist).
pub fn edited(mut value: Value, edits: &[Edit]) -> Value {
    for edit in edits {
        let (pointer, new) = match edit {
            Edit::Set(p, v) => (*p, Some(v.clone())),
            Edit::Remove(p) => (*p, None),
        };
        let (parent, last) = pointer.rsplit_once('/').expect("a pointer below the root");
        let last = last.replace("~1", "/").replace("~0", "~");
        let target = value
            .pointer_mut(parent)
            .unwrap_or_else(|| panic!("no parent at {parent}"));
        match (target, new) {
            (Value::Object(map), Some(v)) => {
                map.insert(last, v);
            }
            (Value::Object(map), None) => {
                map.remove(&last)
                    .unwrap_or_else(|| panic!("nothing to remove at {pointer}"));
            }
            (Value::Array(items), Some(v)) => {
                let i: usize = last.parse().expect("an index");
                items[i] = v;
            }
            (Value::Array(items), None) => {
                items.remove(last.parse().expect("an index"));
            }
            (other, _) => panic!("{pointer}: parent is {other}"),
        }
    }
    value
}
