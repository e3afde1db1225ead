//! JSON Patch updates through the store: [`Store::patch`] and [`Store::append`].
//!
//! A patch loads the stored document (migrating an older one first: the patch is written
//! against the current version, as every caller sees the document), applies the patch all or
//! nothing, validates a registered document only where the patch touched it when its schema
//! allows that (else whole), and saves through the one single-key write path, keeping the
//! file's format. See `docs/patches.md`.

use std::time::Instant;

use serde::Serialize;
use serde_json::Value;
use statevault_core::Key;
use statevault_migrate::Version;
use statevault_schema::Checked;

use crate::Store;
use crate::audit::Change;
use crate::error::{Error, Result};
use crate::format::FileFormat;
use crate::key::parse_key;
use crate::metric;
use crate::patch::Patch;
use crate::pipeline::Input;

/// What [`Store::patch`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PatchReport {
    /// How many operations the patch applied.
    pub operations: usize,
    /// The locations it changed, as JSON pointers into the patched document.
    pub changed: Vec<String>,
    /// How the patched document was validated.
    pub validation: PatchValidation,
    /// The version the stored document was migrated from before the patch, if it was older.
    pub migrated_from: Option<Version>,
}

/// How a patched document was validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PatchValidation {
    /// The key has no registered document: nothing to validate.
    Unregistered,
    /// Only the locations the patch touched (and the containers above them).
    Partial,
    /// The whole document (its schema does not allow a partial check there).
    Full,
}

/// A patched document, validated, on its way to being written.
pub(crate) struct Patched {
    pub(crate) value: Value,
    pub(crate) format: FileFormat,
    pub(crate) report: PatchReport,
}

impl Store {
    /// Applies `patch` (RFC 6902 JSON Patch) to the value of `key`, all of it or none, and
    /// saves the result.
    ///
    /// The stored document is loaded (an older version is migrated first, and the original
    /// kept in an automatic snapshot as a load's write-back keeps it; a newer one is
    /// [`Error::NewerVersion`]), patched, validated if its key has a registered document (only
    /// where the patch touched it, when the schema allows that), and written in the file's own
    /// format (an encrypted key stays encrypted), audited as `patch` with the number of
    /// operations. A key that does not exist is [`Error::KeyNotFound`]; a failing operation is
    /// [`Error::PatchFailed`], naming it; an invalid result is [`Error::Validation`]. On any
    /// error nothing is written.
    ///
    /// ```
    /// use serde_json::json;
    /// use statevault::{Patch, Store};
    ///
    /// let dir = tempfile::tempdir()?;
    /// let store = Store::open(dir.path())?;
    /// store.save("plugins.todo", &json!({"done": 0, "items": ["a"]}))?;
    /// let patch: Patch = serde_json::from_value(json!([
    ///     {"op": "replace", "path": "/done", "value": 1},
    /// ]))?;
    /// store.patch("plugins.todo", &patch)?;
    /// store.append("plugins.todo", "/items", &"b")?;
    /// let todo: serde_json::Value = store.load("plugins.todo")?.unwrap();
    /// assert_eq!(todo, json!({"done": 1, "items": ["a", "b"]}));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn patch(&self, key: &str, patch: &Patch) -> Result<PatchReport> {
        let start = Instant::now();
        let result = parse_key(key).and_then(|key| {
            let _locked = self.lock_key(&key);
            self.patch_locked(&key, patch)
        });
        metrics::histogram!(metric::PATCH_DURATION_MS).record(start.elapsed().as_secs_f64() * 1e3);
        result
    }

    /// Appends `value` to the array at `pointer` (a JSON pointer, `""` for the document
    /// itself) in the value of `key`: [`Store::patch`] with one `add` at `pointer/-`. A key
    /// that does not exist is [`Error::KeyNotFound`], as for any patch: an append does not
    /// create the document around the array.
    pub fn append<T: Serialize + ?Sized>(
        &self,
        key: &str,
        pointer: &str,
        value: &T,
    ) -> Result<PatchReport> {
        let value = serde_json::to_value(value).map_err(|source| Error::Serde {
            key: key.to_owned(),
            source,
        })?;
        let patch = Patch::append(pointer, value).map_err(|source| Error::PatchFailed {
            key: key.to_owned(),
            source,
        })?;
        self.patch(key, &patch)
    }

    fn patch_locked(&self, key: &Key, patch: &Patch) -> Result<PatchReport> {
        let Patched {
            value,
            format,
            report,
        } = self.patched(key, patch)?;
        let options = format.save_options();
        let change = Change::patch(patch.len(), false);
        self.write_encoded(key, &options, change, |key| {
            self.pipeline()
                .encode(key, Input::Validated(value), &options)
        })?;
        Ok(report)
    }

    /// Loads `key`, applies `patch` and validates the result (a batch's patches too); the
    /// caller holds the key's lock and writes the result. When the stored document was
    /// migrated, its original is kept in an automatic snapshot first.
    pub(crate) fn patched(&self, key: &Key, patch: &Patch) -> Result<Patched> {
        let bytes = self
            .storage()
            .read(key)?
            .ok_or_else(|| Error::KeyNotFound {
                key: key.to_string(),
            })?;
        let loaded = self.pipeline().decode_for_patch(key, bytes)?;
        let (format, migrated_from) = (loaded.format, loaded.migrated_from.clone());
        let mut value = loaded.into_value(key)?;
        let touched = patch
            .apply(&mut value)
            .map_err(|source| Error::PatchFailed {
                key: key.to_string(),
                source,
            })?;
        let validation = match self.pipeline().document(key) {
            None => PatchValidation::Unregistered,
            Some(document) => match document.validate_touched(&value, &touched) {
                Ok(Checked::Partial) => PatchValidation::Partial,
                Ok(_) => PatchValidation::Full,
                Err(source) => {
                    return Err(Error::Validation {
                        key: key.to_string(),
                        source,
                    });
                }
            },
        };
        if migrated_from.is_some() && self.is_writer() {
            self.auto_backup(
                Some(std::slice::from_ref(key)),
                &format!("before migration of {key}"),
            )?;
        }
        Ok(Patched {
            value,
            format,
            report: PatchReport {
                operations: patch.len(),
                changed: touched.pointers(),
                validation,
                migrated_from,
            },
        })
    }
}

#[cfg(test)]
mod tests;
