//! RFC 6902 JSON Patch: [`Patch`], applied all or nothing, saying which locations it changed.
//!
//! Each operation is applied by the `json-patch` crate (decision 0017) and recorded in a
//! [`Touched`], which partial validation reads. A `move` is applied as its two halves, a remove
//! and an add, so that the locations both change are recorded and a failing add is undone with
//! the rest. What an operation overwrites or removes is kept until the patch succeeds, for
//! undoing: a patch costs what it changes, not the size of the document.

use std::fmt;

use json_patch::jsonptr::{Pointer, PointerBuf};
use json_patch::{AddOperation, PatchErrorKind, PatchOperation, RemoveOperation, ReplaceOperation};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use statevault_schema::Touched;

/// An RFC 6902 JSON Patch: operations (`add`, `remove`, `replace`, `move`, `copy`, `test`)
/// applied in order, all of them or none. It reads from and writes to the standard JSON form, an
/// array of operations.
///
/// ```
/// use serde_json::json;
/// use statevault::Patch;
///
/// let patch: Patch = serde_json::from_value(json!([
///     {"op": "test", "path": "/count", "value": 1},
///     {"op": "replace", "path": "/count", "value": 2},
///     {"op": "add", "path": "/items/-", "value": "c"},
/// ]))?;
/// let mut doc = json!({"count": 1, "items": ["a", "b"]});
/// let touched = patch.apply(&mut doc)?;
/// assert_eq!(doc, json!({"count": 2, "items": ["a", "b", "c"]}));
/// assert_eq!(touched.pointers(), ["/count", "/items/2"]);
///
/// // A failing operation leaves the document as it was and names itself.
/// let patch: Patch = serde_json::from_value(json!([
///     {"op": "remove", "path": "/count"},
///     {"op": "test", "path": "/items/0", "value": "z"},
/// ]))?;
/// let error = patch.apply(&mut doc).unwrap_err();
/// assert_eq!((error.index, error.op), (1, "test"));
/// assert_eq!(doc, json!({"count": 2, "items": ["a", "b", "c"]}));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Patch(json_patch::Patch);

/// Why an operation of a [`Patch`] failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PatchFailure {
    /// A `test` found another value (which one is not said: values never reach errors).
    TestFailed,
    /// `path` is not a JSON pointer, leads nowhere, or is no place for the operation (an index
    /// past the end, a member of a string, `-` for anything but an add).
    InvalidPath,
    /// The `from` of a `move` or `copy` is not a JSON pointer or leads nowhere.
    InvalidFrom,
    /// A `move` into a location inside what it moves.
    MoveIntoItself,
}

impl fmt::Display for PatchFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PatchFailure::TestFailed => "the value there is not the one the test expects",
            PatchFailure::InvalidPath => "the path does not lead to a place for this operation",
            PatchFailure::InvalidFrom => "`from` does not lead to a value",
            PatchFailure::MoveIntoItself => "a value cannot be moved inside itself",
        })
    }
}

/// An operation of a [`Patch`] failed; no operation of the patch was applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("operation {index} ({op} {path}{}) failed: {failure}", from.as_deref().map(|f| format!(" from {f}")).unwrap_or_default())]
pub struct PatchError {
    /// Its index in the patch, from 0.
    pub index: usize,
    /// Its `op`: `add`, `remove`, `replace`, `move`, `copy` or `test`.
    pub op: &'static str,
    /// Its `path`.
    pub path: String,
    /// Its `from`, for a `move` or a `copy`.
    pub from: Option<String>,
    /// What went wrong.
    pub failure: PatchFailure,
}

impl Patch {
    /// A patch of one `add` that appends `value` to the array at `pointer` (`pointer/-`).
    /// `pointer` is a JSON pointer (RFC 6901): `""` for the document itself, else
    /// `/`-separated tokens.
    pub fn append(pointer: &str, value: Value) -> Result<Patch, PatchError> {
        let path = format!("{pointer}/-");
        let path = PointerBuf::parse(&path).map_err(|_| PatchError {
            index: 0,
            op: "add",
            path,
            from: None,
            failure: PatchFailure::InvalidPath,
        })?;
        Ok(Patch(json_patch::Patch(vec![PatchOperation::Add(
            AddOperation { path, value },
        )])))
    }

    /// How many operations the patch holds.
    pub fn len(&self) -> usize {
        self.0.0.len()
    }

    /// Whether the patch holds no operation.
    pub fn is_empty(&self) -> bool {
        self.0.0.is_empty()
    }

    /// Applies the patch to `doc`: every operation, or (on an error, which names the failing
    /// operation) none. Returns the locations it changed, as pointers into the patched `doc`.
    pub fn apply(&self, doc: &mut Value) -> Result<Touched, PatchError> {
        let mut undo = Vec::new();
        let mut touched = Touched::new();
        for (index, operation) in self.0.iter().enumerate() {
            if let Err(failure) = step(doc, operation, &mut undo, &mut touched) {
                roll_back(doc, undo);
                return Err(error_of(index, operation, failure));
            }
        }
        Ok(touched)
    }
}

impl Patch {
    /// Applies the patch to a document that is discarded if it fails (a load or a fold of
    /// patches the journal holds: a failure there is damage), without recording what changed
    /// or how to undo it.
    pub(crate) fn apply_committed(&self, doc: &mut Value) -> Result<(), String> {
        json_patch::patch_unsafe(doc, &self.0).map_err(|e| e.to_string())
    }
}

impl From<json_patch::Patch> for Patch {
    fn from(patch: json_patch::Patch) -> Patch {
        Patch(patch)
    }
}

/// Applies one operation, pushing what undoes it.
fn step(
    doc: &mut Value,
    operation: &PatchOperation,
    undo: &mut Vec<PatchOperation>,
    touched: &mut Touched,
) -> Result<(), PatchFailure> {
    match operation {
        PatchOperation::Add(add) => add_value(doc, &add.path, add.value.clone(), undo, touched),
        PatchOperation::Remove(remove) => {
            let old = remove_value(doc, &remove.path).map_err(failure_of)?;
            undo.push(add_op(&remove.path, old));
            touched.removed(doc, remove.path.as_str());
            Ok(())
        }
        PatchOperation::Replace(replace) => {
            let old = doc
                .pointer(replace.path.as_str())
                .cloned()
                .ok_or(PatchFailure::InvalidPath)?;
            apply_one(doc, operation)?;
            undo.push(PatchOperation::Replace(ReplaceOperation {
                path: replace.path.clone(),
                value: old,
            }));
            touched.replaced(replace.path.as_str());
            Ok(())
        }
        PatchOperation::Move(moved) => {
            if moved.path.starts_with(&moved.from) && moved.path.len() != moved.from.len() {
                return Err(PatchFailure::MoveIntoItself);
            }
            let value = remove_value(doc, &moved.from).map_err(|_| PatchFailure::InvalidFrom)?;
            undo.push(add_op(&moved.from, value.clone()));
            touched.removed(doc, moved.from.as_str());
            add_value(doc, &moved.path, value, undo, touched)
        }
        PatchOperation::Copy(copy) => {
            let value = doc
                .pointer(copy.from.as_str())
                .cloned()
                .ok_or(PatchFailure::InvalidFrom)?;
            add_value(doc, &copy.path, value, undo, touched)
        }
        PatchOperation::Test(_) => apply_one(doc, operation),
    }
}

/// An `add` of `value` at `path`, with what undoes it: the member it replaced put back, or the
/// new member or element removed.
fn add_value(
    doc: &mut Value,
    path: &Pointer,
    value: Value,
    undo: &mut Vec<PatchOperation>,
    touched: &mut Touched,
) -> Result<(), PatchFailure> {
    let replaced = match path.split_back() {
        None => Some(doc.clone()),
        Some((parent, last)) => match doc.pointer(parent.as_str()) {
            Some(Value::Object(members)) => members.get(last.decoded().as_ref()).cloned(),
            _ => None,
        },
    };
    apply_one(doc, &add_op(path, value))?;
    undo.push(match replaced {
        Some(old) => PatchOperation::Replace(ReplaceOperation {
            path: path.to_buf(),
            value: old,
        }),
        None => PatchOperation::Remove(RemoveOperation {
            path: added_at(doc, path),
        }),
    });
    touched.added(doc, path.as_str());
    Ok(())
}

/// Where an add at `path` put its value, in `doc` after it: `-` resolved to the last index.
fn added_at(doc: &Value, path: &Pointer) -> PointerBuf {
    if let Some((parent, last)) = path.split_back()
        && last.encoded() == "-"
        && let Some(Value::Array(items)) = doc.pointer(parent.as_str())
    {
        let mut at = parent.to_buf();
        at.push_back(items.len().saturating_sub(1).to_string());
        return at;
    }
    path.to_buf()
}

/// A `remove` of `path`, returning what it removed.
fn remove_value(doc: &mut Value, path: &Pointer) -> Result<Value, PatchErrorKind> {
    let old = doc
        .pointer(path.as_str())
        .cloned()
        .ok_or(PatchErrorKind::InvalidPointer)?;
    let remove = PatchOperation::Remove(RemoveOperation {
        path: path.to_buf(),
    });
    json_patch::patch(doc, std::slice::from_ref(&remove)).map_err(|e| e.kind)?;
    Ok(old)
}

fn add_op(path: &Pointer, value: Value) -> PatchOperation {
    PatchOperation::Add(AddOperation {
        path: path.to_buf(),
        value,
    })
}

/// One operation through the `json-patch` crate (which leaves `doc` as it was on an error).
fn apply_one(doc: &mut Value, operation: &PatchOperation) -> Result<(), PatchFailure> {
    json_patch::patch(doc, std::slice::from_ref(operation)).map_err(|e| failure_of(e.kind))
}

/// Undoes the operations applied so far, newest first. Each undoes an operation that succeeded
/// on the document as it is at that point, so none fails.
fn roll_back(doc: &mut Value, undo: Vec<PatchOperation>) {
    for operation in undo.into_iter().rev() {
        if let Err(error) = json_patch::patch(doc, std::slice::from_ref(&operation)) {
            tracing::error!(%error, "undoing a failed patch failed");
        }
    }
}

fn failure_of(kind: PatchErrorKind) -> PatchFailure {
    match kind {
        PatchErrorKind::TestFailed => PatchFailure::TestFailed,
        PatchErrorKind::InvalidFromPointer => PatchFailure::InvalidFrom,
        PatchErrorKind::CannotMoveInsideItself => PatchFailure::MoveIntoItself,
        _ => PatchFailure::InvalidPath,
    }
}

fn error_of(index: usize, operation: &PatchOperation, failure: PatchFailure) -> PatchError {
    let (op, from) = match operation {
        PatchOperation::Add(_) => ("add", None),
        PatchOperation::Remove(_) => ("remove", None),
        PatchOperation::Replace(_) => ("replace", None),
        PatchOperation::Move(m) => ("move", Some(m.from.to_string())),
        PatchOperation::Copy(c) => ("copy", Some(c.from.to_string())),
        PatchOperation::Test(_) => ("test", None),
    };
    PatchError {
        index,
        op,
        path: operation.path().to_string(),
        from,
        failure,
    }
}

#[cfg(test)]
mod tests;
