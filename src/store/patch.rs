//! JSON Patch updates through the store: [`Store::patch`] and [`Store::append`].
//!
//! A patch is committed as a journal record of the patch itself, not of the patched document
//! (`docs/decisions/0017-json-patch.md`): the record costs the size of the change, and the
//! document reaches the key's file at the next checkpoint, which folds the patches in
//! (`fold.rs`). The writer keeps recently patched documents decoded (`store/hot.rs`), so a patch
//! neither reads nor decodes the document it changes; loads, here and in other processes,
//! apply the patches the journal holds to the stored document.
//!
//! Before the commit, the patch is applied to the document all or nothing and a registered
//! document is validated where the patch touched it when its schema allows that (else whole):
//! the document is valid after every commit. A document stored at an older version is migrated
//! first and written whole (a patch is always written against the current version); a newer
//! one is refused.

use std::time::Instant;

use serde::Serialize;
use serde_json::Value;
use statevault_core::{BatchOp, Key};
use statevault_migrate::Version;
use statevault_schema::{DocumentInfo, Touched};

use crate::Store;
use crate::error::{Error, Result};
use crate::format::FileFormat;
use crate::key::parse_key;
use crate::metric;
use crate::patch::Patch;
use crate::pipeline::{Input, Recheck, check_current_version};
use crate::store::hot::Hot;

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
    /// The version the stored document was migrated from before the patch, if it was older
    /// (the document was then written whole).
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
    /// The key has a registered document, but this build has no validator (the `schema`
    /// feature is off): only the document's version was checked.
    NotValidated,
}

/// A patched document, validated, and how to commit it.
pub(crate) struct Patched {
    pub(crate) value: Value,
    pub(crate) format: FileFormat,
    pub(crate) report: PatchReport,
    /// The bytes of the document's JSON text before the patch (for the hot documents' budget).
    bytes: u64,
}

impl Patched {
    /// The journal operation that commits the patch: the patch itself, in the codec's envelope
    /// (encrypted as the value is), or, for a document migrated first, the whole document.
    pub(crate) fn operation(&self, store: &Store, key: &Key, patch: &Patch) -> Result<BatchOp> {
        let pipeline = store.pipeline();
        if self.report.migrated_from.is_some() {
            let options = self.format.save_options();
            let bytes = pipeline.encode(key, Input::Validated(self.value.clone()), &options)?;
            return Ok(BatchOp::Put {
                key: key.clone(),
                bytes,
            });
        }
        let encrypt = pipeline.encrypts_amendments(key, self.format);
        let bytes = pipeline.encode_amendment(key, patch, encrypt)?;
        Ok(BatchOp::Amend {
            key: key.clone(),
            bytes,
        })
    }

    /// Keeps the patched document hot, as of the record `sequence` that committed it.
    pub(crate) fn keep(self, store: &Store, key: Key, patch: &Patch, sequence: u64) {
        let bytes = self.bytes + serde_json::to_vec(patch).map_or(0, |p| p.len() as u64);
        store.hot().put(
            key,
            Hot {
                value: self.value,
                format: self.format,
                sequence,
                bytes,
            },
        );
    }
}

impl Store {
    /// Applies `patch` (RFC 6902 JSON Patch) to the value of `key`, all of it or none, and
    /// commits it.
    ///
    /// The commit is a journal record of the patch, not of the document, so it costs the size
    /// of the change; every load (in any process) sees the patched document at once, and the
    /// key's file gets it at the next checkpoint. A registered document is validated where the
    /// patch touched it, when its schema allows that, and whole otherwise. An encrypted key's
    /// patch is encrypted too. A document stored at an older version is migrated first (its
    /// original kept in an automatic snapshot, as a load's write-back keeps it) and written
    /// whole; a newer one is [`Error::NewerVersion`]. A key that does not exist is
    /// [`Error::KeyNotFound`]; a failing operation is [`Error::PatchFailed`], naming it; an
    /// invalid result is [`Error::Validation`]. On any error nothing is written. Audited as
    /// `patch` with the number of operations.
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
        self.refuse_downgrade(key)?;
        let patched = self.patched(key, patch)?;
        let op = patched.operation(self, key, patch)?;
        let report = patched.report.clone();
        let migrated = report.migrated_from.is_some();
        let (old, new) = self.sizes_after(key, &op)?;
        self.check_quota(old, new, || vec![key.to_string()])?;
        if !migrated
            && self
                .pipeline()
                .wants_backup(key, &patched.format.save_options())
        {
            self.backup_before_overwrite(std::slice::from_ref(key))?;
        }
        let commit = match self.storage().commit_batch(vec![op], self.durability()) {
            Ok(commit) => commit.expect("one operation"),
            Err(e) => return Err(e.into()),
        };
        self.account(old, new);
        patched.keep(self, key.clone(), patch, commit.sequence);
        self.audit_commit(
            "patch",
            vec![key.to_string()],
            &commit,
            Some(patch.len() as u64),
        )?;
        Ok(report)
    }

    /// The stored bytes of `key` before and after `op` (a patch adds its record's value to the
    /// key's, a migrated document replaces it).
    pub(crate) fn sizes_after(&self, key: &Key, op: &BatchOp) -> Result<(u64, u64)> {
        let old = self.stored_len(key)?;
        let new = match op {
            BatchOp::Put { bytes, .. } => bytes.len() as u64,
            BatchOp::Amend { bytes, .. } => old + bytes.len() as u64,
            _ => 0,
        };
        Ok((old, new))
    }

    /// The document of `key` with `patch` applied and validated (a batch's patches too); the
    /// caller holds the key's lock and commits it. The document comes from the hot documents
    /// when it is kept there, else from the store (its file and the patches the journal holds).
    /// When the stored document was migrated, its original is kept in an automatic snapshot
    /// first.
    pub(crate) fn patched(&self, key: &Key, patch: &Patch) -> Result<Patched> {
        let latest = self.storage().pending_sequence(key)?;
        let (mut value, format, migrated_from, bytes) = match self.hot().take(key, latest) {
            Some(hot) => (hot.value, hot.format, None, hot.bytes),
            None => {
                let layers =
                    self.storage()
                        .read_layers(key)?
                        .ok_or_else(|| Error::KeyNotFound {
                            key: key.to_string(),
                        })?;
                let loaded = self.pipeline().decode_layers(
                    key,
                    layers.base,
                    &layers.amendments,
                    Recheck::Migrated,
                )?;
                let (format, migrated_from) = (loaded.format, loaded.migrated_from.clone());
                let bytes = loaded.json_len();
                (loaded.into_value(key)?, format, migrated_from, bytes)
            }
        };
        // From here on the document is out of the hot documents: an error drops it (the next
        // patch decodes the stored one again).
        let touched: Touched = patch
            .apply(&mut value)
            .map_err(|source| Error::PatchFailed {
                key: key.to_string(),
                source,
            })?;
        let validation = match self.pipeline().document(key) {
            None => PatchValidation::Unregistered,
            Some(document) => {
                check_current_version(key, document, &value)?;
                validate_patched(key, document, &value, &touched)?
            }
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
            bytes,
        })
    }
}

/// Validates a patched document where the patch touched it, or whole where its schema needs.
#[cfg(feature = "schema")]
fn validate_patched(
    key: &Key,
    document: &DocumentInfo,
    value: &Value,
    touched: &Touched,
) -> Result<PatchValidation> {
    match document.validate_touched(value, touched) {
        Ok(statevault_schema::Checked::Partial) => Ok(PatchValidation::Partial),
        Ok(_) => Ok(PatchValidation::Full),
        Err(source) => Err(Error::Validation {
            key: key.to_string(),
            source,
        }),
    }
}

/// Without the `schema` feature there is no validator (decision 0018).
#[cfg(not(feature = "schema"))]
fn validate_patched(
    _key: &Key,
    _document: &DocumentInfo,
    _value: &Value,
    _touched: &Touched,
) -> Result<PatchValidation> {
    Ok(PatchValidation::NotValidated)
}

#[cfg(test)]
mod tests;
