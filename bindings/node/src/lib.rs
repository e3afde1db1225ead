//! statevault for Node.js and Electron: the native half of the `statevault` npm package.
//!
//! The JavaScript entry (`index.js`) wraps this addon into the module specification's
//! `StatePersistenceAPI`. Values cross the boundary as JSON text (the JavaScript side
//! stringifies and parses), errors as a JSON payload in the message that the JavaScript side
//! turns into an `Error` with `code`, `key`, `path` and `violations`. Every code comes from
//! [`statevault::ErrorKind::code`].
//!
//! Each asynchronous method is an [`AsyncTask`]: its work runs on the libuv thread pool and
//! never on the JavaScript thread. JavaScript migrations run on the JavaScript thread: from
//! the pool through a [`ThreadsafeFunction`] whose answer the pool thread waits for, and from a
//! synchronous call (already on the JavaScript thread) by a direct call.
#![deny(missing_docs)]

use std::cell::Cell;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, mpsc};

use napi::bindgen_prelude::{AsyncTask, Buffer, Function, FunctionRef};
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::{Env, Status, Task};
use napi_derive::napi;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;
use statevault::layers::codec::{KeyId, Zeroizing};
use statevault::layers::migrate::Version;
use statevault::layers::schema::DocumentInfo;
use statevault::schema::contract::BatchOperation;
use statevault::{
    Batch, Durability, ErrorKind, KeyProvider, KeySet, Registry, SaveOptions, StaticKeyProvider,
    Store, StoreOptions,
};

/// The prefix of an error message that carries a JSON payload for `index.js`.
const ERROR_MARK: &str = "statevault-error:";

/// The JSON payload of an error, as `index.js` reads it.
#[derive(Serialize)]
struct ErrorPayload<'a> {
    code: &'a str,
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    key: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    path: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    violations: Vec<ViolationPayload<'a>>,
}

#[derive(Serialize)]
struct ViolationPayload<'a> {
    pointer: &'a str,
    message: &'a str,
}

/// An error of the store, with its code from the one table, its key, path and violations.
fn store_error(error: statevault::Error) -> napi::Error {
    let payload = ErrorPayload {
        code: error.kind().code(),
        message: error.to_string(),
        key: error.key(),
        path: error.path().map(|p| p.display().to_string()),
        violations: error
            .violations()
            .iter()
            .map(|v| ViolationPayload {
                pointer: &v.pointer,
                message: &v.message,
            })
            .collect(),
    };
    encode_error(&payload)
}

/// An error the binding itself finds (bad arguments, a closed store), with a code of the table.
fn binding_error(kind: ErrorKind, message: impl Into<String>) -> napi::Error {
    encode_error(&ErrorPayload {
        code: kind.code(),
        message: message.into(),
        key: None,
        path: None,
        violations: Vec::new(),
    })
}

fn encode_error(payload: &ErrorPayload<'_>) -> napi::Error {
    let json = serde_json::to_string(payload).unwrap_or_else(|_| {
        format!(
            r#"{{"code":"{}","message":"unprintable error"}}"#,
            ErrorKind::Other.code()
        )
    });
    napi::Error::new(Status::GenericFailure, format!("{ERROR_MARK}{json}"))
}

/// Text that is not JSON where JSON is required.
fn bad_json(what: &str, error: serde_json::Error) -> napi::Error {
    binding_error(ErrorKind::InvalidInput, format!("{what}: {error}"))
}

/// What a native call hands back; `index.js` knows which fields each method fills.
#[napi(object)]
#[derive(Debug, Default)]
pub struct Reply {
    /// A value as JSON text (or a backup id, a path, a list as JSON).
    pub value: Option<String>,
    /// The value before the change, as JSON text, when the caller asked for it.
    pub old: Option<String>,
    /// A yes/no answer: existed, exists, was migrated.
    pub flag: Option<bool>,
    /// Several strings: keys and values of a batch load, `[key, old, new]` triples of a
    /// restore, the old values of a batch's keys.
    pub list: Option<Vec<Option<String>>>,
}

type Work = Box<dyn FnOnce() -> napi::Result<Reply> + Send>;

/// One asynchronous call: its work runs on the libuv thread pool.
pub struct Job(Option<Work>);

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job").finish_non_exhaustive()
    }
}

impl Task for Job {
    type Output = Reply;
    type JsValue = Reply;

    fn compute(&mut self) -> napi::Result<Reply> {
        match self.0.take() {
            Some(work) => work(),
            None => Err(binding_error(ErrorKind::Other, "a job ran twice")),
        }
    }

    fn resolve(&mut self, _env: Env, output: Reply) -> napi::Result<Reply> {
        Ok(output)
    }
}

thread_local! {
    /// The environment of the synchronous call running on this (the JavaScript) thread, so that
    /// a JavaScript migration it reaches is called directly instead of through the threadsafe
    /// function, whose queue that same thread would have to drain (a deadlock).
    static SYNC_ENV: Cell<Option<Env>> = const { Cell::new(None) };
}

/// Runs `f` with [`SYNC_ENV`] set to `env`.
fn on_js_thread<T>(env: Env, f: impl FnOnce() -> T) -> T {
    struct Reset(Option<Env>);
    impl Drop for Reset {
        fn drop(&mut self) {
            SYNC_ENV.with(|cell| cell.set(self.0));
        }
    }
    let _reset = Reset(SYNC_ENV.with(|cell| cell.replace(Some(env))));
    f()
}

/// The application's JavaScript migrations, reached through one dispatcher function
/// `(request: string) => string`: the request is `"<index>:<json>"`, the answer `"o<json>"`
/// or `"e<message>"` (the dispatcher catches what a migration throws).
struct JsMigrations {
    direct: FunctionRef<String, String>,
    threadsafe: ThreadsafeFunction<String, String, String, Status, false, true>,
}

impl JsMigrations {
    fn run(&self, index: usize, value: Value) -> Result<Value, String> {
        let request = format!("{index}:{value}");
        let answer = match SYNC_ENV.with(Cell::get) {
            Some(env) => self
                .direct
                .borrow_back(&env)
                .and_then(|f| f.call(request))
                .map_err(|e| e.reason.clone())?,
            None => {
                let (sender, receiver) = mpsc::channel();
                let status = self.threadsafe.call_with_return_value(
                    request,
                    ThreadsafeFunctionCallMode::Blocking,
                    move |answer: napi::Result<String>, _env| {
                        // The waiting thread may be gone; then nobody needs the answer.
                        let _ = sender.send(answer.map_err(|e| e.reason.clone()));
                        Ok(())
                    },
                );
                if status != Status::Ok {
                    return Err(format!(
                        "the JavaScript thread cannot run the migration ({status})"
                    ));
                }
                receiver.recv().map_err(|_| {
                    "the JavaScript thread ended before the migration ran".to_owned()
                })??
            }
        };
        match answer.split_at_checked(1) {
            Some(("o", json)) => serde_json::from_str(json)
                .map_err(|e| format!("the migration returned something that is not JSON: {e}")),
            Some(("e", message)) => Err(message.to_owned()),
            _ => Err(format!("unexpected answer from the dispatcher: {answer:?}")),
        }
    }
}

/// A key provider that never has a key: `encryption: false`. An encrypted save then fails
/// with `E_KEY_UNAVAILABLE`; it is never written in plaintext instead.
#[derive(Debug)]
struct NoKeys;

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
struct OpenOptions {
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
struct PolicyOptions {
    pattern: String,
    options: SaveOptions,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DocumentOptions {
    name: String,
    patterns: Vec<String>,
    version: String,
    schema: Value,
    #[serde(default)]
    migrations: Vec<MigrationOptions>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MigrationOptions {
    from: String,
    to: String,
    index: usize,
    description: Option<String>,
}

/// Where the store is and how it is opened, built on the JavaScript thread (the migration
/// functions must be referenced there), opened on the pool.
struct Prepared {
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

fn prepare(
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

/// The codes of the errors `index.js` raises itself, from the one table.
#[napi]
pub fn error_codes() -> HashMap<String, String> {
    [
        ("validation", ErrorKind::Validation),
        ("closed", ErrorKind::Closed),
        ("forbidden", ErrorKind::Forbidden),
        ("invalidInput", ErrorKind::InvalidInput),
        ("invalidKey", ErrorKind::InvalidKey),
        ("migration", ErrorKind::Migration),
        ("other", ErrorKind::Other),
    ]
    .into_iter()
    .map(|(name, kind)| (name.to_owned(), kind.code().to_owned()))
    .collect()
}

/// An open store. `index.js` wraps it into the public `Store`.
#[napi]
#[derive(Debug)]
pub struct NativeStore {
    store: Mutex<Option<Arc<Store>>>,
}

impl NativeStore {
    fn new(store: Store) -> NativeStore {
        NativeStore {
            store: Mutex::new(Some(Arc::new(store))),
        }
    }

    fn get(&self) -> napi::Result<Arc<Store>> {
        self.store
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
            .ok_or_else(|| binding_error(ErrorKind::Closed, "the store is closed"))
    }

    /// `work` on the libuv pool.
    fn spawn(
        &self,
        work: impl FnOnce(&Store) -> napi::Result<Reply> + Send + 'static,
    ) -> napi::Result<AsyncTask<Job>> {
        let store = self.get()?;
        Ok(AsyncTask::new(Job(Some(Box::new(move || work(&store))))))
    }

    /// `work` here, on the JavaScript thread.
    fn now(
        &self,
        env: Env,
        work: impl FnOnce(&Store) -> napi::Result<Reply>,
    ) -> napi::Result<Reply> {
        let store = self.get()?;
        on_js_thread(env, || work(&store))
    }
}

fn save_options(options: Option<String>) -> napi::Result<SaveOptions> {
    match options {
        None => Ok(SaveOptions::default()),
        Some(json) => serde_json::from_str(&json).map_err(|e| bad_json("save options", e)),
    }
}

/// The value of `key` as JSON text. A registered document is validated (and migrated) as a
/// value by the load path and then written out once, straight into the text handed to
/// JavaScript; any other key's stored text is handed through.
fn load_text(store: &Store, key: &str) -> statevault::Result<Option<String>> {
    Ok(store
        .load::<Box<RawValue>>(key)?
        .map(|raw| String::from(Box::<str>::from(raw))))
}

/// The value before a change, for change listeners: a key that cannot be read counts as absent.
fn old_text(store: &Store, key: &str, want: bool) -> Option<String> {
    if want {
        load_text(store, key).ok().flatten()
    } else {
        None
    }
}

/// Whether loading `key` will migrate it: a registered document stored at an older version.
fn needs_migration(store: &Store, key: &str) -> bool {
    let Some(document) = store.registry().lookup(key) else {
        return false;
    };
    let Ok(Some(info)) = store.inspect(key) else {
        return false;
    };
    info.schema_version
        .and_then(|v| v.parse::<Version>().ok())
        .is_some_and(|stored| stored < *document.version())
}

fn op_save(
    store: &Store,
    key: &str,
    json: String,
    options: &SaveOptions,
    want_old: bool,
) -> napi::Result<Reply> {
    let old = old_text(store, key, want_old);
    let value = RawValue::from_string(json).map_err(|e| bad_json("data", e))?;
    store.save_with(key, &value, options).map_err(store_error)?;
    Ok(Reply {
        old,
        ..Reply::default()
    })
}

fn op_load(store: &Store, key: &str, track: bool) -> napi::Result<Reply> {
    let migrates = track && needs_migration(store, key);
    let value = load_text(store, key).map_err(store_error)?;
    Ok(Reply {
        flag: Some(migrates && value.is_some() && store.is_writer()),
        value,
        ..Reply::default()
    })
}

fn op_delete(store: &Store, key: &str, want_old: bool) -> napi::Result<Reply> {
    let old = old_text(store, key, want_old);
    let existed = store.delete(key).map_err(store_error)?;
    Ok(Reply {
        flag: Some(existed),
        old,
        ..Reply::default()
    })
}

fn op_save_batch(store: &Store, operations: &str, want_old: bool) -> napi::Result<Reply> {
    let operations: Vec<BatchOperation> =
        serde_json::from_str(operations).map_err(|e| bad_json("batch operations", e))?;
    let olds = want_old.then(|| {
        operations
            .iter()
            .map(|op| match op {
                BatchOperation::Save { key, .. } | BatchOperation::Delete { key } => {
                    old_text(store, key, true)
                }
            })
            .collect()
    });
    let batch = Batch::from_operations(operations).map_err(store_error)?;
    store.save_batch(batch).map_err(store_error)?;
    Ok(Reply {
        list: olds,
        ..Reply::default()
    })
}

fn op_load_batch(store: &Store, keys: &[String]) -> napi::Result<Reply> {
    let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
    let loaded: HashMap<String, Box<RawValue>> = store
        .load_batch::<Box<RawValue>>(&refs)
        .map_err(store_error)?
        .into_iter()
        .map(|(key, value)| (key.as_str().to_owned(), value))
        .collect();
    let mut list = Vec::with_capacity(loaded.len() * 2);
    let mut seen = std::collections::HashSet::new();
    for key in keys {
        if let Some(value) = loaded.get(key)
            && seen.insert(key)
        {
            list.push(Some(key.clone()));
            list.push(Some(value.get().to_owned()));
        }
    }
    Ok(Reply {
        list: Some(list),
        ..Reply::default()
    })
}

/// Every key's value as JSON text (keys that cannot be read are left out).
fn snapshot(store: &Store) -> napi::Result<HashMap<String, String>> {
    let mut values = HashMap::new();
    for key in store.keys("").map_err(store_error)? {
        if let Some(text) = old_text(store, key.as_str(), true) {
            values.insert(key.as_str().to_owned(), text);
        }
    }
    Ok(values)
}

fn op_restore(store: &Store, id: &str, track: bool) -> napi::Result<Reply> {
    let before = if track {
        snapshot(store)?
    } else {
        HashMap::new()
    };
    store.restore_backup(id).map_err(store_error)?;
    if !track {
        return Ok(Reply::default());
    }
    let after = snapshot(store)?;
    let mut keys: Vec<&String> = before.keys().chain(after.keys()).collect();
    keys.sort();
    keys.dedup();
    let mut list = Vec::new();
    for key in keys {
        let (old, new) = (before.get(key), after.get(key));
        if old != new {
            list.push(Some(key.clone()));
            list.push(old.cloned());
            list.push(new.cloned());
        }
    }
    Ok(Reply {
        list: Some(list),
        ..Reply::default()
    })
}

/// A backup as `listBackups` returns it: the specification's fields first.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct BackupPayload {
    id: String,
    name: String,
    timestamp: u64,
    size: u64,
    compressed: bool,
    encrypted: bool,
    kind: String,
    file_count: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    damaged: Option<String>,
}

fn op_list_backups(store: &Store) -> napi::Result<Reply> {
    let backups: Vec<BackupPayload> = store
        .list_backups()
        .map_err(store_error)?
        .into_iter()
        .map(|info| BackupPayload {
            id: info.id.to_string(),
            name: info.name.unwrap_or_default(),
            timestamp: info.timestamp,
            size: info.size,
            compressed: info.compressed,
            encrypted: info.encrypted,
            kind: info.kind.as_str().to_owned(),
            file_count: info.file_count,
            reason: info.reason,
            damaged: info.damaged,
        })
        .collect();
    Ok(Reply {
        value: Some(serde_json::to_string(&backups).map_err(|e| bad_json("backups", e))?),
        ..Reply::default()
    })
}

#[napi]
impl NativeStore {
    /// Saves JSON text under `key`; `old` is the previous value when `wantOld`.
    #[napi]
    pub fn save(
        &self,
        key: String,
        json: String,
        options: Option<String>,
        want_old: bool,
    ) -> napi::Result<AsyncTask<Job>> {
        let options = save_options(options)?;
        self.spawn(move |s| op_save(s, &key, json, &options, want_old))
    }

    /// [`NativeStore::save`] on the calling thread.
    #[napi]
    pub fn save_sync(
        &self,
        env: Env,
        key: String,
        json: String,
        options: Option<String>,
        want_old: bool,
    ) -> napi::Result<Reply> {
        let options = save_options(options)?;
        self.now(env, |s| op_save(s, &key, json, &options, want_old))
    }

    /// Loads `key` as JSON text (`value` absent when it does not exist); `flag` says whether
    /// the load migrated it (and so wrote it back), when `track`.
    #[napi]
    pub fn load(&self, key: String, track: bool) -> napi::Result<AsyncTask<Job>> {
        self.spawn(move |s| op_load(s, &key, track))
    }

    /// [`NativeStore::load`] on the calling thread.
    #[napi]
    pub fn load_sync(&self, env: Env, key: String, track: bool) -> napi::Result<Reply> {
        self.now(env, |s| op_load(s, &key, track))
    }

    /// Deletes `key`; `flag` says whether it existed.
    #[napi]
    pub fn delete(&self, key: String, want_old: bool) -> napi::Result<AsyncTask<Job>> {
        self.spawn(move |s| op_delete(s, &key, want_old))
    }

    /// [`NativeStore::delete`] on the calling thread.
    #[napi]
    pub fn delete_sync(&self, env: Env, key: String, want_old: bool) -> napi::Result<Reply> {
        self.now(env, |s| op_delete(s, &key, want_old))
    }

    /// Whether `key` exists (`flag`).
    #[napi]
    pub fn exists(&self, key: String) -> napi::Result<AsyncTask<Job>> {
        self.spawn(move |s| {
            Ok(Reply {
                flag: Some(s.exists(&key).map_err(store_error)?),
                ..Reply::default()
            })
        })
    }

    /// Applies a JSON array of the specification's batch operations, all or nothing; `list`
    /// holds the previous value of each operation's key when `wantOld`.
    #[napi]
    pub fn save_batch(&self, operations: String, want_old: bool) -> napi::Result<AsyncTask<Job>> {
        self.spawn(move |s| op_save_batch(s, &operations, want_old))
    }

    /// [`NativeStore::save_batch`] on the calling thread.
    #[napi]
    pub fn save_batch_sync(
        &self,
        env: Env,
        operations: String,
        want_old: bool,
    ) -> napi::Result<Reply> {
        self.now(env, |s| op_save_batch(s, &operations, want_old))
    }

    /// Loads several keys; `list` is `[key, json, key, json, …]` without missing keys.
    #[napi]
    pub fn load_batch(&self, keys: Vec<String>) -> napi::Result<AsyncTask<Job>> {
        self.spawn(move |s| op_load_batch(s, &keys))
    }

    /// Takes a manual backup; `value` is its id.
    #[napi]
    pub fn create_backup(&self, name: Option<String>) -> napi::Result<AsyncTask<Job>> {
        self.spawn(move |s| {
            let info = s.create_backup(name.as_deref()).map_err(store_error)?;
            Ok(Reply {
                value: Some(info.id.to_string()),
                ..Reply::default()
            })
        })
    }

    /// Restores a backup; with `track`, `list` holds `[key, old, new]` for each changed key.
    #[napi]
    pub fn restore_backup(&self, id: String, track: bool) -> napi::Result<AsyncTask<Job>> {
        self.spawn(move |s| op_restore(s, &id, track))
    }

    /// Every backup, newest first, as a JSON array in `value`.
    #[napi]
    pub fn list_backups(&self) -> napi::Result<AsyncTask<Job>> {
        self.spawn(op_list_backups)
    }

    /// Migrates JSON text from one version to another along the registered migrations.
    #[napi]
    pub fn migrate_data(
        &self,
        env: Env,
        json: String,
        from: String,
        to: String,
        document: Option<String>,
    ) -> napi::Result<String> {
        let value: Value = serde_json::from_str(&json).map_err(|e| bad_json("data", e))?;
        let reply = self.now(env, |s| {
            let migrated = s
                .migrate_data(document.as_deref(), value, &from, &to)
                .map_err(store_error)?;
            Ok(Reply {
                value: Some(migrated.to_string()),
                ..Reply::default()
            })
        })?;
        Ok(reply.value.unwrap_or_default())
    }

    /// The file of `key`.
    #[napi]
    pub fn path(&self, key: String) -> napi::Result<String> {
        let path = self.get()?.path_of(&key).map_err(store_error)?;
        Ok(path.display().to_string())
    }

    /// The store's folder.
    #[napi]
    pub fn dir(&self) -> napi::Result<String> {
        Ok(self.get()?.dir().display().to_string())
    }

    /// Every key starting with `prefix`, sorted.
    #[napi]
    pub fn keys(&self, prefix: String) -> napi::Result<Vec<String>> {
        let keys = self.get()?.keys(&prefix).map_err(store_error)?;
        Ok(keys.iter().map(|k| k.as_str().to_owned()).collect())
    }

    /// Closes the store on the pool (its last handle is dropped there, which checkpoints the
    /// journal and releases the writer lock). Later calls fail with `E_CLOSED`.
    #[napi]
    pub fn close(&self) -> AsyncTask<Job> {
        let store = self.store.lock().unwrap_or_else(|e| e.into_inner()).take();
        AsyncTask::new(Job(Some(Box::new(move || {
            drop(store);
            Ok(Reply::default())
        }))))
    }

    /// [`NativeStore::close`] on the calling thread.
    #[napi]
    pub fn close_sync(&self) {
        let store = self.store.lock().unwrap_or_else(|e| e.into_inner()).take();
        drop(store);
    }
}
