//! The one save path and the one load path, as a value with no I/O.
//!
//! A [`Pipeline`] holds what turns a value into a key's file bytes and back: the registry of
//! documents, the migrations, the per-pattern save policies, the inflation limits and the
//! encryption keys (loaded once from the key provider and cached). It never touches the store's
//! folder; the [`Store`](crate::Store) reads and writes the bytes, and checks quota, audit and
//! metrics around them. See `docs/decisions/0011-pipeline.md`.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use statevault_codec::{
    self as codec, Compression, Context, Decoded, EncodeOptions, KeyProvider, KeySet, Limits, Meta,
};
use statevault_core::{Key, timestamp_ms};
use statevault_migrate::{Migrations, Version};
use statevault_schema::{DocumentInfo, Registry, ValidationError, contract::SaveOptions};

use crate::error::{Error, Result};
use crate::format::FileFormat;
use crate::metric;
use crate::options::pattern_matches;
use crate::patch::Patch;

/// The `schema_version` of a value whose key has no registered document.
pub const UNVERSIONED: &str = "0.0.0";

/// The save and load pipeline of one store.
pub(crate) struct Pipeline {
    /// The store's folder, only to name a damaged file in an error.
    root: PathBuf,
    /// Set once the store's identity is read (the pipeline is built before the store opens:
    /// the store's recovery folds amendments through it).
    store_id: OnceLock<String>,
    registry: Registry,
    migrations: Migrations,
    policies: Vec<(String, SaveOptions)>,
    limits: Limits,
    provider: Option<Arc<dyn KeyProvider>>,
    keys: Mutex<Option<Arc<KeySet>>>,
}

impl std::fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pipeline")
            .field("store_id", &self.store_id)
            .field("registry", &self.registry)
            .field("policies", &self.policies)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

/// What the pipeline needs to be built.
pub(crate) struct Parts {
    pub(crate) root: PathBuf,
    pub(crate) registry: Registry,
    pub(crate) migrations: Migrations,
    pub(crate) policies: Vec<(String, SaveOptions)>,
    pub(crate) limits: Limits,
    pub(crate) provider: Option<Arc<dyn KeyProvider>>,
}

/// A value on its way into a key's file.
#[derive(Debug)]
pub(crate) enum Input {
    /// Compact JSON straight from `serde_json` (one value, not checked again by the codec).
    Json(Vec<u8>),
    /// A JSON value.
    Value(Value),
    /// A registered document's value that the caller validated already (a patched document,
    /// checked where the patch touched it): only its version is checked here.
    Validated(Value),
}

/// Where the JSON text handed to the encoder comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DataOrigin {
    /// Straight from `serde_json`: one JSON value, no need to check it again.
    Serialized,
    /// From a decoded file: checked again, because a file with a matching checksum is not
    /// proof of JSON (it may have been written by hand).
    File,
}

/// Which decoded documents the load path validates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Recheck {
    /// Every one (a load).
    Always,
    /// Only a migrated one (a patch's base: it was validated when it was saved, and a patch
    /// validates what it changes).
    Migrated,
    /// None, and nothing is migrated either: the stored text as it is (the fold of a key's
    /// patches, which writes the document at the version they were written for).
    Never,
}

/// A key's file decoded, migrated and validated: what a load returns before deserializing.
#[derive(Debug)]
pub(crate) struct Loaded {
    /// The stored value: the file's JSON text exactly as stored, or, when the journal holds
    /// patches of it, the value they produced (not serialized unless asked for).
    body: Body,
    /// The bytes of the stored value's JSON text (an estimate for a patched value).
    size: u64,
    /// For a registered document, its value at the current version, valid against its schema.
    document: Option<Value>,
    /// The file's format (a write-back keeps it).
    pub(crate) format: FileFormat,
    /// The version the document was stored at, when it was migrated on the way.
    pub(crate) migrated_from: Option<Version>,
    /// The stored value's envelope metadata (version, time of the save).
    pub(crate) meta: Meta,
}

/// The stored value of a [`Loaded`].
#[derive(Debug)]
enum Body {
    Text(Vec<u8>),
    /// Taken by a registered document (its `document`).
    Value(Option<Value>),
}

impl Loaded {
    /// The registered document's value at its current version.
    pub(crate) fn document(&self) -> Option<&Value> {
        self.document.as_ref()
    }

    /// Deserializes the value into the caller's type.
    pub(crate) fn into_typed<T: DeserializeOwned>(self, key: &Key) -> Result<T> {
        let serde_error = |source| Error::Serde {
            key: key.to_string(),
            source,
        };
        match (self.document, self.body) {
            (Some(value), _) | (None, Body::Value(Some(value))) => {
                serde_json::from_value(value).map_err(serde_error)
            }
            (None, Body::Text(json)) => serde_json::from_slice(&json).map_err(serde_error),
            (None, Body::Value(None)) => unreachable!("a patched value is the document's or here"),
        }
    }

    /// The value: the registered document's, or the stored text parsed.
    pub(crate) fn into_value(self, key: &Key) -> Result<Value> {
        match (self.document, self.body) {
            (Some(value), _) | (None, Body::Value(Some(value))) => Ok(value),
            (None, Body::Text(json)) => {
                serde_json::from_slice(&json).map_err(|source| Error::Serde {
                    key: key.to_string(),
                    source,
                })
            }
            (None, Body::Value(None)) => unreachable!("a patched value is the document's or here"),
        }
    }

    /// The length of the stored JSON text (an estimate where patches were applied).
    pub(crate) fn json_len(&self) -> u64 {
        self.size
    }

    /// The stored JSON text (patches applied), never migrated: the fold's (`Recheck::Never`,
    /// so no document took the value).
    pub(crate) fn into_stored_json(self, key: &Key) -> Result<Vec<u8>> {
        match self.body {
            Body::Text(json) => Ok(json),
            Body::Value(value) => {
                let value = value.or(self.document).unwrap_or(Value::Null);
                serde_json::to_vec(&value).map_err(|source| Error::Serde {
                    key: key.to_string(),
                    source,
                })
            }
        }
    }

    /// The value as JSON text: the stored text itself (every number exactly as written) unless
    /// a migration produced a new value.
    pub(crate) fn into_json(self, key: &Key) -> Result<Vec<u8>> {
        let serde_error = |source| Error::Serde {
            key: key.to_string(),
            source,
        };
        match (self.migrated_from, self.document, self.body) {
            (None, _, Body::Text(json)) => Ok(json),
            (_, Some(value), _) | (_, None, Body::Value(Some(value))) => {
                serde_json::to_vec(&value).map_err(serde_error)
            }
            (Some(_), None, Body::Text(json)) => Ok(json),
            (_, None, Body::Value(None)) => {
                unreachable!("a patched value is the document's or here")
            }
        }
    }
}

impl Pipeline {
    pub(crate) fn new(parts: Parts) -> Pipeline {
        Pipeline {
            root: parts.root,
            store_id: OnceLock::new(),
            registry: parts.registry,
            migrations: parts.migrations,
            policies: parts.policies,
            limits: parts.limits,
            provider: parts.provider,
            keys: Mutex::new(None),
        }
    }

    /// Sets the store's id (once; later calls change nothing).
    pub(crate) fn set_store_id(&self, id: &str) {
        let _ = self.store_id.set(id.to_owned());
    }

    fn store_id(&self) -> &str {
        self.store_id.get().map_or("", String::as_str)
    }

    pub(crate) fn registry(&self) -> &Registry {
        &self.registry
    }

    pub(crate) fn migrations(&self) -> &Migrations {
        &self.migrations
    }

    /// The document registered for `key`, if any.
    pub(crate) fn document(&self, key: &Key) -> Option<&DocumentInfo> {
        self.registry.lookup(key.as_str())
    }

    /// The save path for a value of the caller's type: serialized once (to a JSON value only
    /// where a document validates it), then [`Pipeline::encode`].
    pub(crate) fn encode_value<T: Serialize + ?Sized>(
        &self,
        key: &Key,
        value: &T,
        options: &SaveOptions,
    ) -> Result<Vec<u8>> {
        let serde_error = |source| Error::Serde {
            key: key.to_string(),
            source,
        };
        let input = match self.document(key) {
            Some(_) => Input::Value(serde_json::to_value(value).map_err(serde_error)?),
            None => Input::Json(serde_json::to_vec(value).map_err(serde_error)?),
        };
        self.encode(key, input, options)
    }

    /// The save path: a registered document is validated and must carry the current version;
    /// the value is stamped with that version and the time, and encoded with the key's save
    /// policy (`options` over the policy of the first matching pattern).
    pub(crate) fn encode(&self, key: &Key, input: Input, options: &SaveOptions) -> Result<Vec<u8>> {
        let serde_error = |source| Error::Serde {
            key: key.to_string(),
            source,
        };
        let (data, schema_version) = match self.document(key) {
            Some(document) => {
                let data = match input {
                    Input::Value(value) => {
                        check_document(key, document, &value)?;
                        serde_json::to_vec(&value).map_err(serde_error)?
                    }
                    Input::Json(json) => {
                        let value: Value = serde_json::from_slice(&json).map_err(serde_error)?;
                        check_document(key, document, &value)?;
                        json
                    }
                    Input::Validated(value) => {
                        check_current_version(key, document, &value)?;
                        serde_json::to_vec(&value).map_err(serde_error)?
                    }
                };
                (data, document.version().to_string())
            }
            None => match input {
                Input::Json(json) => (json, UNVERSIONED.to_owned()),
                Input::Value(value) | Input::Validated(value) => (
                    serde_json::to_vec(&value).map_err(serde_error)?,
                    UNVERSIONED.to_owned(),
                ),
            },
        };
        let meta = Meta {
            schema_version,
            saved_at_ms: timestamp_ms(),
        };
        let options = self.effective_options(key, options);
        self.encode_exact(key, data, DataOrigin::Serialized, meta, &options)
    }

    /// Encodes JSON text that needs no checks (already validated, or a file's own data) with
    /// exactly `meta` and `options`: a rewrite that keeps what the file was.
    pub(crate) fn encode_exact(
        &self,
        key: &Key,
        data: Vec<u8>,
        origin: DataOrigin,
        meta: Meta,
        options: &SaveOptions,
    ) -> Result<Vec<u8>> {
        let encode = EncodeOptions {
            compression: options
                .compress
                .unwrap_or(false)
                .then_some(Compression::Fast),
            encrypt: options.encrypt.unwrap_or(false),
        };
        let keys = if encode.encrypt {
            Some(self.keys_for_encryption()?)
        } else {
            None
        };
        let context = self.context(key);
        // The owned encoders build the file in the data's own buffer: one copy of the
        // document less at the peak of a large save.
        let encoded = match origin {
            DataOrigin::Serialized => {
                codec::encode_owned_trusted(data, &meta, &encode, &context, keys.as_deref())
            }
            DataOrigin::File => {
                codec::encode_owned(data, &meta, &encode, &context, keys.as_deref())
            }
        };
        Ok(encoded?)
    }

    /// The load path: verifies and decodes a file's bytes (in place; keys are loaded only for
    /// an encrypted file), then brings a registered document to the current version and
    /// validates it there.
    pub(crate) fn decode(&self, key: &Key, bytes: Vec<u8>) -> Result<Loaded> {
        self.decode_checked(key, bytes, Recheck::Always)
    }

    fn decode_checked(&self, key: &Key, bytes: Vec<u8>, recheck: Recheck) -> Result<Loaded> {
        self.decode_layers(key, bytes, &[], recheck)
    }

    /// The load path of a value kept as a base and the patches committed after it (see
    /// `fold.rs`): the base is decoded, the patches applied in order at the version they were
    /// written for (the base's), and only then is the document brought to the current version
    /// and validated, as a load of the folded file would.
    pub(crate) fn decode_layers(
        &self,
        key: &Key,
        base: Vec<u8>,
        amendments: &[Arc<Vec<u8>>],
        recheck: Recheck,
    ) -> Result<Loaded> {
        let keys = if codec::needs_key(&base) {
            self.keys_for_decryption()?
        } else {
            None
        };
        let decoded = codec::decode_owned(base, &self.context(key), keys.as_deref(), &self.limits)
            .map_err(|e| self.codec_error(key, e))?;
        let format = FileFormat::from(&decoded.format);
        let serde_error = |source| Error::Serde {
            key: key.to_string(),
            source,
        };
        let size = decoded.data.len() as u64;
        let mut patched_at = None;
        let (body, patched, size) = if amendments.is_empty() {
            (Body::Text(decoded.data), None, size)
        } else {
            let mut value: Value = serde_json::from_slice(&decoded.data).map_err(serde_error)?;
            drop(decoded.data);
            let mut size = size;
            for amendment in amendments {
                size += amendment.len() as u64;
                let (patch, saved_at_ms) = self.decode_amendment(key, amendment)?;
                // The value was last saved when its last patch was.
                patched_at = Some(saved_at_ms);
                patch
                    .apply_committed(&mut value)
                    .map_err(|e| Error::Corrupt {
                        key: key.to_string(),
                        path: file_of(&self.root, key),
                        detail: format!("a patch the journal holds does not apply: {e}"),
                    })?;
            }
            (Body::Value(None), Some(value), size)
        };
        let mut meta = decoded.meta;
        if let Some(saved_at_ms) = patched_at {
            meta.saved_at_ms = saved_at_ms;
        }
        let document = match self.document(key) {
            Some(document) if recheck != Recheck::Never => document,
            _ => {
                let body = match patched {
                    Some(value) => Body::Value(Some(value)),
                    None => body,
                };
                return Ok(Loaded {
                    body,
                    size,
                    document: None,
                    format,
                    migrated_from: None,
                    meta,
                });
            }
        };
        let value: Value = match (&patched, &body) {
            (Some(_), _) => patched.expect("just matched"),
            (None, Body::Text(json)) => serde_json::from_slice(json).map_err(serde_error)?,
            (None, Body::Value(_)) => unreachable!("a body without patches is text"),
        };
        let (value, migrated_from) = self.upgrade_checked(key, document, value, &meta, recheck)?;
        Ok(Loaded {
            body,
            size,
            document: Some(value),
            format,
            migrated_from,
            meta,
        })
    }

    /// A patch of `key` as the journal keeps it: in the codec's envelope, never compressed
    /// (it is small), encrypted when the key's value is (`encrypt`), so no plaintext of an
    /// encrypted key reaches the disk, the journal included.
    pub(crate) fn encode_amendment(
        &self,
        key: &Key,
        patch: &Patch,
        encrypt: bool,
    ) -> Result<Vec<u8>> {
        let data = serde_json::to_vec(patch).map_err(|source| Error::Serde {
            key: key.to_string(),
            source,
        })?;
        let meta = Meta {
            schema_version: UNVERSIONED.to_owned(),
            saved_at_ms: timestamp_ms(),
        };
        let options = SaveOptions {
            encrypt: Some(encrypt),
            compress: Some(false),
            backup: None,
        };
        self.encode_exact(key, data, DataOrigin::Serialized, meta, &options)
    }

    /// Whether a patch of `key`, whose value is stored in `format`, is encrypted: when the
    /// value is, or the key's policy asks for it.
    pub(crate) fn encrypts_amendments(&self, key: &Key, format: FileFormat) -> bool {
        self.effective_options(key, &format.save_options())
            .encrypt
            .unwrap_or(false)
    }

    /// Decodes a patch of [`Pipeline::encode_amendment`], with when it was committed.
    pub(crate) fn decode_amendment(&self, key: &Key, bytes: &[u8]) -> Result<(Patch, u64)> {
        let decoded = self.decode_file(key, bytes)?;
        let patch = serde_json::from_slice(&decoded.data).map_err(|e| Error::Corrupt {
            key: key.to_string(),
            path: file_of(&self.root, key),
            detail: format!("a patch the journal holds is not a JSON Patch: {e}"),
        })?;
        Ok((patch, decoded.meta.saved_at_ms))
    }

    #[cfg(feature = "backup")]
    /// The caps that keep decoding bounded (the store's `max_inflated_bytes`): every file the
    /// store reads, its own or an archive's, is decoded under them.
    pub(crate) fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Verifies and decodes a file's bytes without migrating: what checks and rewrites start
    /// from.
    pub(crate) fn decode_file(&self, key: &Key, bytes: &[u8]) -> Result<Decoded> {
        let context = self.context(key);
        let mut result = codec::decode(bytes, &context, None, &self.limits);
        if matches!(result, Err(codec::Error::NoKey)) {
            let keys = self.keys_for_decryption()?;
            result = codec::decode(bytes, &context, keys.as_deref(), &self.limits);
        }
        result.map_err(|e| self.codec_error(key, e))
    }

    /// Brings a stored document to the current version and validates it there, in that order:
    /// old data is never validated against the new schema. Returns the value and, when it was
    /// migrated, the version it was stored at.
    pub(crate) fn upgrade(
        &self,
        key: &Key,
        document: &DocumentInfo,
        value: Value,
        meta: &Meta,
    ) -> Result<(Value, Option<Version>)> {
        self.upgrade_checked(key, document, value, meta, Recheck::Always)
    }

    fn upgrade_checked(
        &self,
        key: &Key,
        document: &DocumentInfo,
        value: Value,
        meta: &Meta,
        recheck: Recheck,
    ) -> Result<(Value, Option<Version>)> {
        let stored_text = stored_version(document, &value, meta).to_owned();
        let stored = Version::parse(&stored_text).map_err(|_| Error::BadVersion {
            key: key.to_string(),
            stored: stored_text.clone(),
        })?;
        let current = document.version();
        let (value, migrated_from) = match stored.cmp(current) {
            std::cmp::Ordering::Greater => {
                return Err(Error::NewerVersion {
                    key: key.to_string(),
                    stored: stored_text,
                    supported: current.to_string(),
                });
            }
            std::cmp::Ordering::Equal => (value, None),
            std::cmp::Ordering::Less => {
                let value = self
                    .migrations
                    .apply(document.name(), value, &stored, current)
                    .map_err(|source| Error::Migration {
                        key: key.to_string(),
                        source: Box::new(source),
                    })?;
                (value, Some(stored))
            }
        };
        if recheck == Recheck::Always || migrated_from.is_some() {
            validate_as(key, document, &value)?;
        }
        Ok((value, migrated_from))
    }

    /// Makes `keys` the key set every later encryption and decryption uses (a re-encryption
    /// with the current key).
    pub(crate) fn use_keys(&self, keys: Arc<KeySet>) {
        *self.keys.lock().unwrap_or_else(|e| e.into_inner()) = Some(keys);
    }

    /// The key provider: the one the store was opened with, or the OS keychain entry of this
    /// store (which a build without the `encryption` feature does not have).
    pub(crate) fn provider(&self) -> Result<Arc<dyn KeyProvider>> {
        if let Some(provider) = &self.provider {
            return Ok(provider.clone());
        }
        #[cfg(feature = "encryption")]
        {
            Ok(Arc::new(codec::KeychainProvider::new(self.store_id())))
        }
        #[cfg(not(feature = "encryption"))]
        {
            Err(Error::FeatureDisabled {
                feature: "encryption",
                operation: "the OS keychain as key provider".to_owned(),
            })
        }
    }

    fn keys_for_encryption(&self) -> Result<Arc<KeySet>> {
        let mut cached = self.keys.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(keys) = cached.as_ref() {
            return Ok(keys.clone());
        }
        let keys = Arc::new(self.provider()?.load_or_create()?);
        *cached = Some(keys.clone());
        Ok(keys)
    }

    fn keys_for_decryption(&self) -> Result<Option<Arc<KeySet>>> {
        let mut cached = self.keys.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(keys) = cached.as_ref() {
            return Ok(Some(keys.clone()));
        }
        let keys = self.provider()?.load()?.map(Arc::new);
        cached.clone_from(&keys);
        Ok(keys)
    }

    fn context<'a>(&'a self, key: &'a Key) -> Context<'a> {
        Context {
            store_id: self.store_id(),
            key_name: key.as_str(),
        }
    }

    fn effective_options(&self, key: &Key, options: &SaveOptions) -> SaveOptions {
        let policy = self
            .policies
            .iter()
            .find(|(pattern, _)| pattern_matches(pattern, key.as_str()))
            .map(|(_, defaults)| *defaults)
            .unwrap_or_default();
        SaveOptions {
            encrypt: options.encrypt.or(policy.encrypt),
            compress: options.compress.or(policy.compress),
            backup: options.backup.or(policy.backup),
        }
    }

    /// Whether a save of `key` with `options` asks for the old value to be kept first.
    pub(crate) fn wants_backup(&self, key: &Key, options: &SaveOptions) -> bool {
        self.effective_options(key, options).backup == Some(true)
    }

    /// Gives a codec error its key and path, keeping damage and failed decryption apart.
    fn codec_error(&self, key: &Key, error: codec::Error) -> Error {
        let path = file_of(&self.root, key);
        if matches!(
            error,
            codec::Error::Corrupt { .. } | codec::Error::TooLarge { .. }
        ) {
            metrics::counter!(metric::CORRUPTION_DETECTED).increment(1);
            tracing::error!(key = %key, path = %path.display(), error = %error, "corruption detected; the file is left as it is");
        }
        match error {
            codec::Error::Corrupt { detail } => Error::Corrupt {
                key: key.to_string(),
                path,
                detail,
            },
            codec::Error::TooLarge { .. } | codec::Error::UnsupportedVersion { .. } => {
                Error::Corrupt {
                    key: key.to_string(),
                    path,
                    detail: error.to_string(),
                }
            }
            source @ (codec::Error::Decrypt { .. }
            | codec::Error::UnknownKey { .. }
            | codec::Error::NoKey) => Error::Decrypt {
                key: key.to_string(),
                path,
                source,
            },
            other => Error::Codec(other),
        }
    }
}

/// The version a stored document is at: its data's `version` field where its schema has one,
/// else the file's `schema_version` (`docs/ARCHITECTURE.md`, "Versions"). Loads, saves and
/// whole-store migrations all decide by this.
pub(crate) fn stored_version<'a>(
    document: &DocumentInfo,
    value: &'a Value,
    meta: &'a Meta,
) -> &'a str {
    document.data_version(value).unwrap_or(&meta.schema_version)
}

/// The file of `key` under `root`, as the storage engine places it.
fn file_of(root: &Path, key: &Key) -> PathBuf {
    root.join(key.relative_path())
}

/// What a value saved under a registered document must pass: its schema and the current
/// version.
fn check_document(key: &Key, document: &DocumentInfo, value: &Value) -> Result<()> {
    validate_as(key, document, value)?;
    check_current_version(key, document, value)
}

/// Validates `value` as `document`, the error naming `key`.
#[cfg(feature = "schema")]
fn validate_as(key: &Key, document: &DocumentInfo, value: &Value) -> Result<()> {
    document
        .validate(value)
        .map_err(|source| Error::Validation {
            key: key.to_string(),
            source,
        })
}

/// Without the `schema` feature there is no validator: documents are versioned and migrated,
/// not checked against their schemas (decision 0018; the store warns once at open when it has
/// documents).
#[cfg(not(feature = "schema"))]
fn validate_as(_key: &Key, _document: &DocumentInfo, _value: &Value) -> Result<()> {
    Ok(())
}

/// A typed document must carry the current version in its `version` field when it is saved:
/// the field decides how the file is read back (`docs/ARCHITECTURE.md`, "Versions"), so a value
/// saved with another version would be migrated from, or refused as, a version it never had.
pub(crate) fn check_current_version(
    key: &Key,
    document: &DocumentInfo,
    value: &Value,
) -> Result<()> {
    let Some(found) = document.data_version(value) else {
        return Ok(());
    };
    let current = document.version().to_string();
    if found == current {
        return Ok(());
    }
    Err(Error::Validation {
        key: key.to_string(),
        source: ValidationError {
            document: document.name().to_owned(),
            violations: vec![statevault_schema::Violation {
                pointer: "/version".to_owned(),
                message: format!("must be the current version {current}, not {found}"),
                schema_path: "/properties/version".to_owned(),
            }],
        },
    })
}

#[cfg(test)]
mod tests {
    //! The pipeline alone: no folder exists at `root`, so anything here that touched the disk
    //! would fail.

    use std::sync::Arc;

    use serde_json::{Value, json};
    use statevault_codec::{Limits, StaticKeyProvider, Zeroizing};
    use statevault_core::Key;
    use statevault_migrate::{Migrations, Version};
    use statevault_schema::{DocumentInfo, Registry, contract::SaveOptions};

    use super::{Loaded, Parts, Pipeline};
    use crate::Error;
    use crate::format::FileFormat;

    fn notes() -> Arc<DocumentInfo> {
        let schema = json!({
            "type": "object",
            "properties": {"version": {"type": "string"}, "title": {"type": "string", "minLength": 1}},
            "required": ["version", "title"],
        });
        Arc::new(DocumentInfo::from_schema("Notes", "2.0.0", schema).unwrap())
    }

    fn pipeline() -> Pipeline {
        let mut registry = Registry::empty();
        registry.register_info("notes.*", notes()).unwrap();
        let mut migrations = Migrations::new();
        migrations
            .add(
                "Notes",
                Version::new(1, 0, 0),
                Version::new(2, 0, 0),
                "text becomes title",
                |mut doc: Value| -> Result<Value, String> {
                    let text = doc["text"].take();
                    Ok(json!({"version": "2.0.0", "title": text}))
                },
            )
            .unwrap();
        let on = SaveOptions {
            encrypt: Some(true),
            compress: Some(true),
            backup: None,
        };
        let pipeline = Pipeline::new(Parts {
            root: "/nonexistent/statevault-pipeline-test".into(),
            registry,
            migrations,
            policies: vec![("secret.*".to_owned(), on)],
            limits: Limits::default(),
            provider: Some(Arc::new(StaticKeyProvider::from_bytes(Zeroizing::new(
                [7; 32],
            )))),
        });
        pipeline.set_store_id("pipeline-test");
        pipeline
    }

    fn key(text: &str) -> Key {
        Key::parse(text).unwrap()
    }

    fn document(loaded: Loaded) -> Value {
        loaded
            .document()
            .cloned()
            .expect("a registered key decodes to a document")
    }

    #[test]
    fn a_registered_document_round_trips_validated() {
        let pipeline = pipeline();
        let value = json!({"version": "2.0.0", "title": "groceries"});
        let bytes = pipeline
            .encode_value(&key("notes.a"), &value, &SaveOptions::default())
            .unwrap();
        let loaded = pipeline.decode(&key("notes.a"), bytes).unwrap();
        assert_eq!(loaded.format, FileFormat::Plain);
        assert_eq!(loaded.migrated_from, None);
        assert_eq!(document(loaded), value);
    }

    /// Needs the validator (the `schema` feature).
    #[cfg(feature = "schema")]
    #[test]
    fn an_invalid_document_is_refused_with_its_pointer() {
        let error = pipeline()
            .encode(
                &key("notes.a"),
                super::Input::Json(br#"{"version":"2.0.0","title":""}"#.to_vec()),
                &SaveOptions::default(),
            )
            .unwrap_err();
        assert_eq!(error.violations()[0].pointer, "/title");
        assert_eq!(error.key(), Some("notes.a"));
    }

    #[test]
    fn a_document_saved_with_another_version_is_refused() {
        let error = pipeline()
            .encode_value(
                &key("notes.a"),
                &json!({"version": "1.0.0", "title": "x"}),
                &SaveOptions::default(),
            )
            .unwrap_err();
        assert_eq!(error.violations()[0].pointer, "/version");
    }

    #[test]
    fn an_older_document_is_migrated_then_validated_on_decode() {
        let pipeline = pipeline();
        // What version 1.0.0 of the program wrote: an unregistered key's encoding carries no
        // checks, and the file's own `version` field says 1.0.0.
        let old = pipeline
            .encode_value(
                &key("plain.a"),
                &json!({"version": "1.0.0", "text": "groceries"}),
                &SaveOptions::default(),
            )
            .unwrap();
        // A plain file is bound to no key, so it decodes under the registered one.
        let loaded = pipeline.decode(&key("notes.a"), old).unwrap();
        assert_eq!(loaded.migrated_from, Some(Version::new(1, 0, 0)));
        assert_eq!(
            document(loaded),
            json!({"version": "2.0.0", "title": "groceries"})
        );
    }

    #[test]
    fn a_newer_document_is_refused_on_decode() {
        let pipeline = pipeline();
        let newer = pipeline
            .encode_value(
                &key("plain.a"),
                &json!({"version": "3.0.0", "title": "x"}),
                &SaveOptions::default(),
            )
            .unwrap();
        let error = pipeline.decode(&key("notes.a"), newer).unwrap_err();
        assert!(matches!(error, Error::NewerVersion { .. }), "{error}");
    }

    #[cfg(all(feature = "compression", feature = "encryption"))]
    #[test]
    fn the_save_policy_encrypts_and_the_value_holds_no_plaintext() {
        let pipeline = pipeline();
        let bytes = pipeline
            .encode_value(
                &key("secret.a"),
                &json!({"launch": "0451-7719"}),
                &SaveOptions::default(),
            )
            .unwrap();
        assert!(!bytes.windows(9).any(|w| w == b"0451-7719"));
        let loaded = pipeline.decode(&key("secret.a"), bytes.clone()).unwrap();
        assert_eq!(
            loaded.format,
            FileFormat::Envelope {
                compressed: true,
                encrypted: true
            }
        );
        let value: Value = loaded.into_typed(&key("secret.a")).unwrap();
        assert_eq!(value, json!({"launch": "0451-7719"}));
        // The key's name is bound into the ciphertext: moved to another key, it does not open.
        let moved = pipeline.decode(&key("secret.b"), bytes).unwrap_err();
        assert!(matches!(moved, Error::Decrypt { .. }), "{moved}");
    }

    #[test]
    fn damaged_bytes_are_corrupt_and_name_the_key_and_its_file() {
        let pipeline = pipeline();
        let mut bytes = pipeline
            .encode_value(&key("plain.a"), &json!({"a": 1}), &SaveOptions::default())
            .unwrap();
        let last = bytes.len() - 2;
        bytes[last] ^= 0x20;
        let error = pipeline.decode(&key("plain.a"), bytes).unwrap_err();
        assert!(matches!(error, Error::Corrupt { .. }), "{error}");
        assert_eq!(
            error.path(),
            Some(std::path::Path::new(
                "/nonexistent/statevault-pipeline-test/plain/a.json"
            ))
        );
    }
}
