//! Opening a store from the options `index.js` passes: durability, quota, policies, encryption,
//! the application's documents and their JavaScript migrations.

use std::sync::Arc;

use napi::bindgen_prelude::{AsyncTask, Buffer, Function};
use napi::{Env, Task};
use napi_derive::napi;
use serde::Deserialize;
use serde_json::Value;
use statevault::layers::codec::{KeyId, Zeroizing};
use statevault::layers::migrate::Version;
use statevault::layers::schema::DocumentInfo;
use statevault::{
    Durability, ErrorKind, KeyProvider, KeySet, Registry, SaveOptions, StaticKeyProvider, Store,
    StoreOptions,
};

use crate::error::{bad_json, binding_error, store_error};
use crate::migrations::JsMigrations;
use crate::store::NativeStore;

/// A key provider that never has a key: `encryption: false`. An encrypted save then fails
/// with `E_KEY_UNAVAILABLE`; it is never written in plaintext instead.
#[derive(Debug)]
pub(crate) struct NoKeys;

impl KeyProvider for NoKeys {
    fn load(&self) -> Result<Option<KeySet>, statevault::layers::codec::Error> {
        Ok(None)
    }
    fn load_or_create(&self) -> Result<KeySet, statevault::layers::codec::Error> {
        Err(statevault::layers::codec::Error::NoKey)
    }
    fn rotate(&self) -> Result<KeySet, statevault::layers::codec::Error> {
        Err(statevault::layers::codec::Error::NoKey)
    }
    fn remove_key(&self, _id: KeyId) -> Result<(), statevault::layers::codec::Error> {
        Err(statevault::layers::codec::Error::NoKey)
    }
}

/// The options `index.js` passes to `open`, as JSON.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct OpenOptions {
    dir: Option<String>,
    app_name: Option<String>,
    durability: Option<String>,
    quota_bytes: Option<u64>,
    #[serde(default)]
    read_only: bool,
    /// `keychain`, `key` (the buffer passed beside) or `off`.
    encryption: String,
    #[serde(default)]
    policies: Vec<PolicyOptions>,
    #[serde(default)]
    documents: Vec<DocumentOptions>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PolicyOptions {
    pattern: String,
    options: SaveOptions,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DocumentOptions {
    name: String,
    patterns: Vec<String>,
    version: String,
    schema: Value,
    #[serde(default)]
    migrations: Vec<MigrationOptions>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct MigrationOptions {
    from: String,
    to: String,
    index: usize,
    description: Option<String>,
}

/// Where the store is and how it is opened, built on the JavaScript thread (the migration
/// functions must be referenced there), opened on the pool.
pub(crate) struct Prepared {
    dir: Option<String>,
    app_name: Option<String>,
    options: StoreOptions,
}

impl Prepared {
    fn open(self) -> napi::Result<Store> {
        match (self.dir, self.app_name) {
            (Some(dir), None) => Store::open_with(dir, self.options),
            (None, Some(app)) => Store::open_default_with(&app, self.options),
            _ => {
                return Err(binding_error(
                    ErrorKind::InvalidInput,
                    "open needs exactly one of `dir` and `appName`",
                ));
            }
        }
        .map_err(store_error)
    }
}

pub(crate) fn prepare(
    options: &str,
    dispatcher: Option<Function<'_, String, String>>,
    key: Option<Buffer>,
) -> napi::Result<Prepared> {
    let parsed: OpenOptions =
        serde_json::from_str(options).map_err(|e| bad_json("open options", e))?;
    let durability = match parsed.durability.as_deref() {
        None | Some("full") => Durability::Full,
        Some("normal") => Durability::Normal,
        Some("none") => Durability::None,
        Some(other) => {
            return Err(binding_error(
                ErrorKind::InvalidInput,
                format!("durability must be 'full', 'normal' or 'none', not {other:?}"),
            ));
        }
    };
    let mut store_options = StoreOptions::new()
        .durability(durability)
        .read_only(parsed.read_only);
    if let Some(quota) = parsed.quota_bytes {
        store_options = store_options.quota_bytes(quota);
    }
    for policy in &parsed.policies {
        store_options = store_options.policy(&policy.pattern, policy.options);
    }
    match (parsed.encryption.as_str(), key) {
        ("keychain", None) => {}
        ("key", Some(key)) => {
            let bytes: [u8; 32] = key.as_ref().try_into().map_err(|_| {
                binding_error(
                    ErrorKind::InvalidInput,
                    format!("encryption.key must be 32 bytes, not {}", key.len()),
                )
            })?;
            store_options = store_options.key_provider(Arc::new(StaticKeyProvider::from_bytes(
                Zeroizing::new(bytes),
            )));
        }
        ("off", None) => store_options = store_options.key_provider(Arc::new(NoKeys)),
        (other, _) => {
            return Err(binding_error(
                ErrorKind::InvalidInput,
                format!("unknown encryption mode {other:?}"),
            ));
        }
    }
    let migrations = match dispatcher {
        Some(dispatcher) => Some(Arc::new(JsMigrations {
            direct: dispatcher.create_ref()?,
            threadsafe: dispatcher
                .build_threadsafe_function::<String>()
                .weak::<true>()
                .build()?,
        })),
        None => None,
    };
    let mut registry = Registry::builtin();
    for document in parsed.documents {
        let info = Arc::new(
            DocumentInfo::from_schema(&document.name, &document.version, document.schema)
                .map_err(|e| store_error(e.into()))?,
        );
        for pattern in &document.patterns {
            registry
                .register_info(pattern, Arc::clone(&info))
                .map_err(|e| store_error(e.into()))?;
        }
        for migration in document.migrations {
            let Some(js) = migrations.clone() else {
                return Err(binding_error(
                    ErrorKind::InvalidInput,
                    "migrations need the dispatcher function",
                ));
            };
            let version = |text: &str| {
                text.parse::<Version>().map_err(|e| {
                    binding_error(
                        ErrorKind::InvalidInput,
                        format!("{}: {text:?} is not a semantic version: {e}", document.name),
                    )
                })
            };
            let description = migration
                .description
                .unwrap_or_else(|| format!("{} -> {}", migration.from, migration.to));
            let index = migration.index;
            store_options = store_options
                .migration(
                    &document.name,
                    version(&migration.from)?,
                    version(&migration.to)?,
                    &description,
                    move |value| js.run(index, value),
                )
                .map_err(store_error)?;
        }
    }
    Ok(Prepared {
        dir: parsed.dir,
        app_name: parsed.app_name,
        options: store_options.registry(registry),
    })
}

/// Opens a store on the libuv pool: `open(optionsJson, dispatcher?, key?)`.
#[napi]
pub fn open(
    options: String,
    dispatcher: Option<Function<'_, String, String>>,
    key: Option<Buffer>,
) -> napi::Result<AsyncTask<OpenJob>> {
    let prepared = prepare(&options, dispatcher, key)?;
    Ok(AsyncTask::new(OpenJob(Some(prepared))))
}

/// Opens a store on the calling thread.
#[napi]
pub fn open_sync(
    options: String,
    dispatcher: Option<Function<'_, String, String>>,
    key: Option<Buffer>,
) -> napi::Result<NativeStore> {
    let store = prepare(&options, dispatcher, key)?.open()?;
    Ok(NativeStore::new(store))
}

/// The asynchronous open.
pub struct OpenJob(Option<Prepared>);

impl std::fmt::Debug for OpenJob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenJob").finish_non_exhaustive()
    }
}

impl Task for OpenJob {
    type Output = Store;
    type JsValue = NativeStore;

    fn compute(&mut self) -> napi::Result<Store> {
        match self.0.take() {
            Some(prepared) => prepared.open(),
            None => Err(binding_error(ErrorKind::Other, "open ran twice")),
        }
    }

    fn resolve(&mut self, _env: Env, store: Store) -> napi::Result<NativeStore> {
        Ok(NativeStore::new(store))
    }
}

/// Whether `data` is valid against `schema` (both JSON text): `validateData`.
#[napi]
pub fn validate_data(data: String, schema: String) -> napi::Result<bool> {
    let data: Value = serde_json::from_str(&data).map_err(|e| bad_json("data", e))?;
    let schema: Value = serde_json::from_str(&schema).map_err(|e| bad_json("schema", e))?;
    Ok(statevault::validate_json_schema(&data, &schema)
        .map_err(store_error)?
        .is_ok())
}
