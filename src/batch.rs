//! All-or-nothing batches of saves, deletes and patches (the module specification's
//! `saveBatch`).

use serde::Serialize;
use statevault_core::Key;
use statevault_schema::contract::{BatchOperation, PatchOperation, SaveOptions};

use crate::error::{Error, Result};
use crate::json::check_json;
use crate::key::parse_key;
use crate::patch::{Patch, PatchError, PatchFailure};

/// Saves, deletes and patches applied together by [`Store::save_batch`](crate::Store::save_batch): after
/// a crash at any point either all of them are visible or none is.
///
/// ```
/// use serde_json::json;
/// use statevault::{Batch, Store};
///
/// let dir = tempfile::tempdir()?;
/// let store = Store::open(dir.path())?;
/// let mut batch = Batch::new();
/// batch.save("plugins.a", &json!({"enabled": true}))?;
/// batch.delete("plugins.old")?;
/// store.save_batch(batch)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct Batch {
    pub(crate) ops: Vec<Op>,
}

#[derive(Debug, Clone)]
pub(crate) enum Op {
    Save {
        key: Key,
        /// The value as compact JSON, serialized once, here.
        json: Vec<u8>,
        options: SaveOptions,
    },
    Delete {
        key: Key,
    },
    Patch {
        key: Key,
        patch: Patch,
    },
}

impl Op {
    pub(crate) fn key(&self) -> &Key {
        match self {
            Op::Save { key, .. } | Op::Delete { key } | Op::Patch { key, .. } => key,
        }
    }
}

impl Batch {
    /// An empty batch.
    pub fn new() -> Batch {
        Batch::default()
    }

    /// Adds a save of `value` under `key` with the store's policy for the key.
    pub fn save<T: Serialize + ?Sized>(&mut self, key: &str, value: &T) -> Result<&mut Batch> {
        self.save_with(key, value, &SaveOptions::default())
    }

    /// Adds a save of `value` under `key` with `options`.
    pub fn save_with<T: Serialize + ?Sized>(
        &mut self,
        key: &str,
        value: &T,
        options: &SaveOptions,
    ) -> Result<&mut Batch> {
        let key = parse_key(key)?;
        let json = serde_json::to_vec(value).map_err(|source| Error::Serde {
            key: key.to_string(),
            source,
        })?;
        self.ops.push(Op::Save {
            key,
            json,
            options: *options,
        });
        Ok(self)
    }

    /// Adds a save of JSON text under `key`, kept exactly as written once it is checked to be
    /// one JSON value with no repeated key (see [`Store::save_json`](crate::Store::save_json)).
    pub fn save_json(
        &mut self,
        key: &str,
        json: &[u8],
        options: &SaveOptions,
    ) -> Result<&mut Batch> {
        let key = parse_key(key)?;
        check_json(&key, json)?;
        self.ops.push(Op::Save {
            key,
            json: json.to_vec(),
            options: *options,
        });
        Ok(self)
    }

    /// Adds a delete of `key` (nothing happens if it does not exist).
    pub fn delete(&mut self, key: &str) -> Result<&mut Batch> {
        let key = parse_key(key)?;
        self.ops.push(Op::Delete { key });
        Ok(self)
    }

    /// Adds a JSON Patch of the value of `key` (see [`Store::patch`](crate::Store::patch)): the
    /// key must exist when the batch is saved, and a failing operation rejects the whole
    /// batch.
    pub fn patch(&mut self, key: &str, patch: Patch) -> Result<&mut Batch> {
        let key = parse_key(key)?;
        self.ops.push(Op::Patch { key, patch });
        Ok(self)
    }

    /// A batch from the module specification's `BatchOperation`s. Every key is checked before
    /// the batch exists, so a malformed operation rejects the whole batch.
    pub fn from_operations(operations: Vec<BatchOperation>) -> Result<Batch> {
        let mut batch = Batch::new();
        for operation in operations {
            match operation {
                BatchOperation::Save { key, data, options } => {
                    batch.save_with(&key, &data, &options.unwrap_or_default())?;
                }
                BatchOperation::Delete { key } => {
                    batch.delete(&key)?;
                }
                BatchOperation::Patch { key, patch } => {
                    let patch = patch_of(&key, patch)?;
                    batch.patch(&key, patch)?;
                }
            }
        }
        Ok(batch)
    }

    /// How many operations the batch holds.
    pub fn len(&self) -> usize {
        self.ops.len()
    }

    /// Whether the batch holds no operation.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }
}

/// The contract's patch operations as a [`Patch`]; an operation whose `path` or `from` is not a
/// JSON pointer is [`Error::PatchFailed`], naming it.
fn patch_of(key: &str, operations: Vec<PatchOperation>) -> Result<Patch> {
    let mut parsed = Vec::with_capacity(operations.len());
    for (index, operation) in operations.into_iter().enumerate() {
        let value = serde_json::to_value(&operation).map_err(|source| Error::Serde {
            key: key.to_owned(),
            source,
        })?;
        let operation: json_patch::PatchOperation =
            serde_json::from_value(value).map_err(|_| {
                let (op, path, from) = describe(&operation);
                Error::PatchFailed {
                    key: key.to_owned(),
                    source: PatchError {
                        index,
                        op,
                        path: path.to_owned(),
                        from: from.map(str::to_owned),
                        failure: PatchFailure::InvalidPath,
                    },
                }
            })?;
        parsed.push(operation);
    }
    Ok(Patch::from(json_patch::Patch(parsed)))
}

fn describe(operation: &PatchOperation) -> (&'static str, &str, Option<&str>) {
    match operation {
        PatchOperation::Add { path, .. } => ("add", path, None),
        PatchOperation::Remove { path } => ("remove", path, None),
        PatchOperation::Replace { path, .. } => ("replace", path, None),
        PatchOperation::Move { from, path } => ("move", path, Some(from)),
        PatchOperation::Copy { from, path } => ("copy", path, Some(from)),
        PatchOperation::Test { path, .. } => ("test", path, None),
    }
}
