//! Which locations of a document a patch changed, kept in terms of the document as it is now.
//!
//! A patch is a sequence of operations, each addressed in the document as the operations
//! before it left it: an insertion into an array shifts the elements after it, a removal
//! shifts them back and takes whatever lay below the removed element with it. [`Touched`] is
//! told of each operation right after it was applied and moves what it already holds
//! accordingly, so that at the end every entry points into the final document.

use serde_json::Value;

/// The locations a patch changed, for validating only those
/// ([`DocumentInfo::check_touched`](crate::DocumentInfo::check_touched)).
///
/// Record each operation right after applying it to the document: [`Touched::added`] for an
/// `add` (and for the adding half of a `copy` or a `move`), [`Touched::removed`] for a `remove`
/// (and the removing half of a `move`), [`Touched::replaced`] for a `replace`. A `test` changes
/// nothing.
///
/// ```
/// use serde_json::json;
/// use statevault_schema::Touched;
///
/// let mut doc = json!({"messages": ["a", "b"]});
/// let mut touched = Touched::new();
/// doc["messages"].as_array_mut().unwrap().push(json!("c"));
/// touched.added(&doc, "/messages/-");
/// assert_eq!(touched.pointers(), ["/messages/2"]);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Touched {
    entries: Vec<Entry>,
}

/// One changed location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    /// Decoded reference tokens from the document's root.
    pub(crate) path: Vec<String>,
    pub(crate) kind: Kind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// The value at `path` is new: all of it is checked.
    Value,
    /// The object or array at `path` lost a member or an element: its own constraints (and
    /// those of the containers above it) are checked.
    Members,
}

impl Touched {
    /// Nothing changed yet.
    pub fn new() -> Touched {
        Touched::default()
    }

    /// Whether no location was recorded (a patch of `test` operations only).
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Records an `add` at `pointer` that was just applied to `doc` (the document after it).
    /// `-` as the last token is the element the add appended.
    pub fn added(&mut self, doc: &Value, pointer: &str) {
        let mut path = parse(pointer);
        let Some(last) = path.pop() else {
            return self.set(Vec::new());
        };
        match doc.pointer(&encode(&path)) {
            Some(Value::Array(items)) => {
                let index = if last == "-" {
                    items.len().checked_sub(1)
                } else {
                    last.parse::<usize>().ok()
                };
                match index {
                    Some(index) => self.inserted(path, index),
                    // Not what a successful add leaves; the whole array is checked.
                    None => self.set(path),
                }
            }
            Some(Value::Object(_)) => {
                path.push(last);
                self.set(path);
            }
            // Not what a successful add leaves; the parent is checked whole.
            _ => self.set(path),
        }
    }

    /// Records a `remove` of `pointer` that was just applied to `doc` (the document after it).
    pub fn removed(&mut self, doc: &Value, pointer: &str) {
        let mut path = parse(pointer);
        let Some(last) = path.pop() else {
            // The whole document is gone: nothing a partial check can say.
            return self.set(Vec::new());
        };
        match doc.pointer(&encode(&path)) {
            Some(Value::Array(_)) => match last.parse::<usize>() {
                Ok(index) => {
                    self.entries
                        .retain(|e| !is_at_or_below(&e.path, &path, &last));
                    for entry in &mut self.entries {
                        shift(&mut entry.path, &path, index, false);
                    }
                    self.push(path, Kind::Members);
                }
                Err(_) => self.set(path),
            },
            Some(Value::Object(_)) => {
                self.entries
                    .retain(|e| !is_at_or_below(&e.path, &path, &last));
                self.push(path, Kind::Members);
            }
            _ => self.set(path),
        }
    }

    /// Records a `replace` at `pointer`.
    pub fn replaced(&mut self, pointer: &str) {
        self.set(parse(pointer));
    }

    /// The changed locations as JSON pointers into the document as it is now, in the order
    /// they were first recorded, each once.
    pub fn pointers(&self) -> Vec<String> {
        let mut pointers: Vec<String> = Vec::with_capacity(self.entries.len());
        for entry in self.normalized() {
            let pointer = encode(&entry.path);
            if !pointers.contains(&pointer) {
                pointers.push(pointer);
            }
        }
        pointers
    }

    /// The entries without those that another one covers: anything at or below a new value.
    pub(crate) fn normalized(&self) -> Vec<&Entry> {
        self.entries
            .iter()
            .enumerate()
            .filter(|(i, entry)| {
                !self.entries.iter().enumerate().any(|(j, other)| {
                    other.kind == Kind::Value
                        && entry.path.starts_with(&other.path)
                        && (entry.path.len() > other.path.len()
                            || entry.kind == Kind::Members
                            || j < *i)
                })
            })
            .map(|(_, entry)| entry)
            .collect()
    }

    /// A new value at `path`: what was recorded below it is part of it now.
    fn set(&mut self, path: Vec<String>) {
        self.entries.retain(|e| !e.path.starts_with(&path));
        self.push(path, Kind::Value);
    }

    /// A new element at `index` of the array at `array`: the elements from `index` on moved
    /// one up.
    fn inserted(&mut self, array: Vec<String>, index: usize) {
        for entry in &mut self.entries {
            shift(&mut entry.path, &array, index, true);
        }
        let mut path = array;
        path.push(index.to_string());
        self.push(path, Kind::Value);
    }

    fn push(&mut self, path: Vec<String>, kind: Kind) {
        let entry = Entry { path, kind };
        if !self.entries.contains(&entry) {
            self.entries.push(entry);
        }
    }
}

/// Whether `path` is `parent/last` or below it.
fn is_at_or_below(path: &[String], parent: &[String], last: &str) -> bool {
    path.len() > parent.len() && path.starts_with(parent) && path[parent.len()] == last
}

/// Moves a path that goes through element `index` or later of the array at `array` one element
/// up (`up`) or, for an element after `index`, one down.
fn shift(path: &mut [String], array: &[String], index: usize, up: bool) {
    if path.len() <= array.len() || !path.starts_with(array) {
        return;
    }
    let Ok(at) = path[array.len()].parse::<usize>() else {
        return;
    };
    let moved = match up {
        true if at >= index => at + 1,
        false if at > index => at - 1,
        _ => return,
    };
    path[array.len()] = moved.to_string();
}

/// The decoded reference tokens of a JSON pointer (RFC 6901); `""` is the root.
pub(crate) fn parse(pointer: &str) -> Vec<String> {
    if pointer.is_empty() {
        return Vec::new();
    }
    pointer
        .strip_prefix('/')
        .unwrap_or(pointer)
        .split('/')
        .map(|token| token.replace("~1", "/").replace("~0", "~"))
        .collect()
}

/// The JSON pointer of decoded reference tokens.
pub(crate) fn encode(tokens: &[String]) -> String {
    let mut pointer = String::new();
    for token in tokens {
        pointer.push('/');
        pointer.push_str(&token.replace('~', "~0").replace('/', "~1"));
    }
    pointer
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::Touched;

    #[test]
    fn an_insertion_moves_what_was_recorded_after_it() {
        let mut doc = json!({"a": [1, 2]});
        let mut touched = Touched::new();
        doc["a"].as_array_mut().unwrap().insert(1, json!(9));
        touched.added(&doc, "/a/1");
        doc["a"].as_array_mut().unwrap().insert(0, json!(8));
        touched.added(&doc, "/a/0");
        assert_eq!(touched.pointers(), ["/a/2", "/a/0"]);
    }

    #[test]
    fn a_removal_drops_what_it_removed_and_moves_what_followed() {
        let mut doc = json!({"a": [1, 2, 3]});
        let mut touched = Touched::new();
        touched.replaced("/a/0");
        touched.replaced("/a/2");
        doc["a"].as_array_mut().unwrap().remove(0);
        touched.removed(&doc, "/a/0");
        assert_eq!(touched.pointers(), ["/a/1", "/a"]);
    }

    #[test]
    fn a_new_value_covers_what_was_recorded_below_it() {
        let doc = json!({"a": {"b": {}}});
        let mut touched = Touched::new();
        touched.added(&doc, "/a/b/c");
        touched.replaced("/a");
        assert_eq!(touched.pointers(), ["/a"]);
    }

    #[test]
    fn tokens_round_trip_with_escapes() {
        let tokens = super::parse("/a~1b/c~0d/");
        assert_eq!(tokens, ["a/b", "c~d", ""]);
        assert_eq!(super::encode(&tokens), "/a~1b/c~0d/");
    }
}
