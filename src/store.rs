//! The store handle: the folder's I/O, with quota, audit and metrics in one write path.
//!
//! [`Store`]'s methods live in files by concern, each an `impl Store` block: `store/batch.rs`
//! (batches), `store/verify.rs` (checks and inspection), `store/migrate.rs` (migrating the whole
//! store), `store/keys.rs` (encryption keys in use and re-encryption), `store/backups.rs`
//! (snapshots and archives) and `store/repair.rs`. Turning values into bytes and back is the
//! [`Pipeline`]'s, which does no I/O.

#[cfg(feature = "backup")]
pub(crate) mod backups;
pub(crate) mod batch;
pub(crate) mod hot;
pub(crate) mod keys;
pub(crate) mod locks;
pub(crate) mod migrate;
#[cfg(not(feature = "backup"))]
pub(crate) mod no_backups;
pub(crate) mod patch;
pub(crate) mod repair;
pub(crate) mod verify;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use statevault_codec as codec;
use statevault_core::{Commit, Durability, Key, Layers, OpenOptions, Storage};
use statevault_migrate::Version;
use statevault_schema::{DocumentInfo, Registry, contract::SaveOptions};

use crate::audit::{self, AuditLog, AuditReport};
use crate::error::{Error, Result};
use crate::fold::PatchFold;
use crate::json::check_json;
use crate::key::parse_key;
use crate::metric;
use crate::options::StoreOptions;
use crate::pipeline::{Input, Loaded, Parts, Pipeline, Recheck, stored_version};
use crate::store::hot::HotDocs;
use crate::store::locks::{KeyGuard, KeyLocks};
use crate::store::repair::{AutoRepair, Reported};

/// A state store: one folder, one file per key, written atomically and durably, validated,
/// migrated, optionally compressed and encrypted.
///
/// A writable `Store` holds the folder's writer lock for as long as it lives. It is `Send` and
/// `Sync`: share one between threads (an `Arc<Store>`), as a desktop application's state does.
#[derive(Debug)]
pub struct Store {
    storage: Storage,
    pipeline: Arc<Pipeline>,
    durability: Durability,
    write_back_migrations: bool,
    quota_bytes: Option<u64>,
    /// Bytes of every key's file, kept current by each write (scanned once at open).
    size_bytes: AtomicU64,
    audit: Option<Mutex<AuditLog>>,
    overwrite_newer: bool,
    auto_repair: bool,
    #[cfg(feature = "backup")]
    backup_policies: statevault_backup::Policies,
    /// Recently patched documents, decoded (`store/hot.rs`).
    hot: HotDocs,
    /// Keeps a patch's read and commit of a key apart from other changes of it.
    key_locks: KeyLocks,
}

// `Store` is shared between threads (an `Arc<Store>`, Tauri's managed state): this stops the
// build if a field ever makes it lose `Send` or `Sync`.
const _: () = {
    const fn shared_between_threads<T: Send + Sync>() {}
    shared_between_threads::<Store>();
};

impl Store {
    /// Opens (creating if needed) the store in `dir` with the default options.
    pub fn open(dir: impl AsRef<Path>) -> Result<Store> {
        Store::open_with(dir, StoreOptions::new())
    }

    /// Opens the store of application `app_name` in the platform's data folder
    /// (`~/.local/share/<app>` on Linux, `~/Library/Application Support/<app>` on macOS,
    /// `%APPDATA%\<app>\data` on Windows), as the module specification's application uses it:
    /// with its built-in documents ([`StoreOptions::with_builtin_documents`]).
    pub fn open_default(app_name: &str) -> Result<Store> {
        Store::open_default_with(app_name, StoreOptions::new().with_builtin_documents())
    }

    /// [`Store::open_default`] with `options`.
    pub fn open_default_with(app_name: &str, options: StoreOptions) -> Result<Store> {
        Store::open_with(default_dir(app_name)?, options)
    }

    /// Opens the store in `dir` with `options`.
    pub fn open_with(dir: impl AsRef<Path>, options: StoreOptions) -> Result<Store> {
        #[cfg(not(feature = "schema"))]
        if options.registry.documents().next().is_some() {
            tracing::warn!(
                "this build of statevault has no validator (the `schema` feature is off): \
                 registered documents are versioned and migrated, not validated"
            );
        }
        let mut migrations = options.migrations;
        for document in options.registry.documents() {
            for step in document.migrations() {
                let from = parse_declared_version(document, step.from)?;
                let to = parse_declared_version(document, step.to)?;
                let run = step.run;
                migrations.add(document.name(), from, to, step.description, run)?;
            }
        }
        // The root names files in errors only; the store resolves its own the same way.
        let root = std::path::absolute(dir.as_ref()).unwrap_or_else(|_| dir.as_ref().to_owned());
        // Built before the store opens: its recovery folds the patches the journal holds
        // through it (`fold.rs`).
        let pipeline = Arc::new(Pipeline::new(Parts {
            root,
            registry: options.registry,
            migrations,
            policies: options.policies,
            limits: options.limits,
            provider: options.key_provider,
        }));
        let mut open = OpenOptions::new()
            .read_only(options.read_only)
            .checkpoint_bytes(options.checkpoint_bytes)
            .idle_checkpoint(options.idle_checkpoint)
            .fold(Arc::new(PatchFold::new(pipeline.clone())));
        if let Some(backend) = options.backend {
            open = open.backend(backend);
        }
        let storage = Storage::open_with(dir, open)?;
        pipeline.set_store_id(storage.store_id());
        let audit = if storage.is_writer() && options.audit_log {
            Some(Mutex::new(AuditLog::open(
                &storage,
                options.audit_rotate_bytes,
            )?))
        } else {
            None
        };
        let store = Store {
            storage,
            pipeline,
            durability: options.durability,
            write_back_migrations: options.write_back_migrations,
            quota_bytes: options.quota_bytes,
            size_bytes: AtomicU64::new(0),
            audit,
            overwrite_newer: options.overwrite_newer,
            auto_repair: options.auto_repair,
            #[cfg(feature = "backup")]
            backup_policies: options.backup_policies,
            hot: HotDocs::new(options.hot_documents_bytes),
            key_locks: KeyLocks::new(),
        };
        if store.storage.is_writer() {
            store.refresh_size()?;
        }
        Ok(store)
    }

    /// The store's folder.
    pub fn dir(&self) -> &Path {
        self.storage.root()
    }

    /// The store's random id (empty for a read-only open of a folder no writer has opened).
    pub fn store_id(&self) -> &str {
        self.storage.store_id()
    }

    /// Whether this handle writes the store (it holds the writer lock); `false` for a read-only
    /// handle.
    pub fn is_writer(&self) -> bool {
        self.storage.is_writer()
    }

    /// The key-pattern registry in force.
    pub fn registry(&self) -> &Registry {
        self.pipeline.registry()
    }

    /// Writes every value the journal holds into its key's file now. Saves, deletes and batches
    /// are committed to the journal and checkpointed on their own: after the journal has been
    /// quiet for [`StoreOptions::idle_checkpoint`] (2 s by default), when it is large enough,
    /// and when the store is dropped. For a program that reads the files directly.
    pub fn checkpoint(&self) -> Result<()> {
        Ok(self.storage.checkpoint()?)
    }

    /// How many commits (saves, deletes, batches) the journal holds that are not yet
    /// checkpointed into the keys' files (those of a writer running now; a closed store has
    /// none).
    pub fn pending_batches(&self) -> Result<usize> {
        Ok(self.storage.journal_records()?)
    }

    /// The path of the file of `key`. A saved value reaches this file at the next checkpoint
    /// ([`Store::checkpoint`]); reads through the store, in any process, see it at once.
    pub fn path_of(&self, key: &str) -> Result<PathBuf> {
        Ok(self.storage.path_of(&parse_key(key)?))
    }

    /// The stored bytes of `key` exactly as the store holds them (its file, or the journal
    /// while a commit is pending), without decoding: for telling whether a key changed, or for
    /// copying it. `None` if the key does not exist.
    pub fn read_raw(&self, key: &str) -> Result<Option<Vec<u8>>> {
        Ok(self.storage.read(&parse_key(key)?)?)
    }

    /// Saves `value` under `key` with the store's policy for that key.
    pub fn save<T: Serialize + ?Sized>(&self, key: &str, value: &T) -> Result<()> {
        self.save_with(key, value, &SaveOptions::default())
    }

    /// Saves `value` under `key`. A registered key is validated first; on any error nothing
    /// is written and the old value stays.
    pub fn save_with<T: Serialize + ?Sized>(
        &self,
        key: &str,
        value: &T,
        options: &SaveOptions,
    ) -> Result<()> {
        self.save_encoded(key, options, |key| {
            self.pipeline.encode_value(key, value, options)
        })
    }

    /// Saves JSON text under `key` exactly as written: every number keeps its digits (no
    /// round trip through a float), and the text is stored as it is once it is checked to be
    /// one JSON value with no repeated key ([`Error::InvalidJson`] with the line and column
    /// otherwise). A registered key is validated as [`Store::save_with`] validates.
    pub fn save_json(&self, key: &str, json: &[u8], options: &SaveOptions) -> Result<()> {
        self.save_encoded(key, options, |key| {
            check_json(key, json)?;
            self.pipeline
                .encode(key, Input::Json(json.to_vec()), options)
        })
    }

    /// The one save of a single key: `encode` (after the downgrade check), the automatic
    /// snapshot the options ask for, then [`Store::write_key`]; timed as a save.
    fn save_encoded(
        &self,
        key: &str,
        options: &SaveOptions,
        encode: impl FnOnce(&Key) -> Result<Vec<u8>>,
    ) -> Result<()> {
        let start = Instant::now();
        let key = parse_key(key)?;
        let _locked = self.lock_key(&key);
        let result = self
            .refuse_downgrade(&key)
            .and_then(|()| encode(&key))
            .and_then(|bytes| {
                if self.pipeline.wants_backup(&key, options) && self.storage.exists(&key)? {
                    self.backup_before_overwrite(std::slice::from_ref(&key))?;
                }
                self.write_key(&key, bytes, "save")
            });
        metrics::histogram!(metric::SAVE_DURATION_MS).record(start.elapsed().as_secs_f64() * 1e3);
        result
    }

    /// Loads the value of `key` as JSON text, `None` if it does not exist: the stored text
    /// itself, numbers exactly as saved, unless the load migrated the document (then the
    /// migrated value). Checks, migration and write-back are those of [`Store::load`].
    pub fn load_json(&self, key: &str) -> Result<Option<Vec<u8>>> {
        let start = Instant::now();
        let key = parse_key(key)?;
        let result = match self.storage.read_layers(&key)? {
            None => Ok(None),
            Some(bytes) => self
                .load_checked(&key, bytes)
                .and_then(|loaded| loaded.into_json(&key))
                .map(Some),
        };
        metrics::histogram!(metric::LOAD_DURATION_MS).record(start.elapsed().as_secs_f64() * 1e3);
        result
    }

    /// Loads the value of `key`, `None` if it does not exist.
    ///
    /// A damaged file is [`Error::Corrupt`] and stays on disk exactly as it is. An older
    /// document is migrated to the current version (and, by default, written back after an
    /// automatic backup); a newer one is [`Error::NewerVersion`].
    pub fn load<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>> {
        let start = Instant::now();
        let key = parse_key(key)?;
        let result = match self.storage.read_layers(&key)? {
            None => Ok(None),
            Some(bytes) => self.load_bytes(&key, bytes).map(Some),
        };
        metrics::histogram!(metric::LOAD_DURATION_MS).record(start.elapsed().as_secs_f64() * 1e3);
        result
    }

    /// Loads the value of `key`, or `T::default()` if it does not exist. Errors are not
    /// replaced by the default: a damaged file is an error, never silently an empty value.
    pub fn load_or_default<T: DeserializeOwned + Default>(&self, key: &str) -> Result<T> {
        Ok(self.load(key)?.unwrap_or_default())
    }

    /// Deletes `key`; returns whether it existed.
    pub fn delete(&self, key: &str) -> Result<bool> {
        let key = parse_key(key)?;
        let _locked = self.lock_key(&key);
        self.hot.forget(&key);
        let old = self.stored_len(&key)?;
        let Some(commit) = self.storage.delete_committed(&key, self.durability)? else {
            return Ok(false);
        };
        self.account(old, 0);
        self.audit_commit("delete", vec![key.to_string()], &commit, None)?;
        Ok(true)
    }

    /// Whether `key` exists.
    pub fn exists(&self, key: &str) -> Result<bool> {
        Ok(self.storage.exists(&parse_key(key)?)?)
    }

    /// Every key whose text starts with `prefix`, sorted (`""` for all).
    pub fn keys(&self, prefix: &str) -> Result<Vec<Key>> {
        Ok(self.storage.list(prefix)?)
    }

    /// Checks the audit log's hash chain and returns every entry and every break.
    pub fn verify_audit(&self) -> Result<AuditReport> {
        audit::verify(&self.storage)
    }

    /// The bytes of every key's file, as kept by this writer (0 for a read-only store).
    pub fn size_bytes(&self) -> u64 {
        self.size_bytes.load(Ordering::SeqCst)
    }

    /// The storage engine, for this crate's own rooms.
    pub(crate) fn storage(&self) -> &Storage {
        &self.storage
    }

    pub(crate) fn pipeline(&self) -> &Pipeline {
        &self.pipeline
    }

    /// How this store's commits are synced.
    pub(crate) fn durability(&self) -> Durability {
        self.durability
    }

    /// The hot documents of patches.
    pub(crate) fn hot(&self) -> &HotDocs {
        &self.hot
    }

    /// Locks `key` against other saves, deletes, batches and patches of this store until the
    /// guard is dropped.
    pub(crate) fn lock_key(&self, key: &Key) -> KeyGuard<'_> {
        self.key_locks.lock(key)
    }

    /// Locks every key of `keys` (a batch's).
    pub(crate) fn lock_keys(&self, keys: &[Key]) -> KeyGuard<'_> {
        self.key_locks.lock_all(keys)
    }

    /// Decodes a loaded file and, when its document was migrated on the way, writes the
    /// migrated document back (after an automatic backup of the original), as the store is
    /// configured to.
    fn load_bytes<T: DeserializeOwned>(&self, key: &Key, bytes: Layers) -> Result<T> {
        self.load_checked(key, bytes)?.into_typed(key)
    }

    fn load_checked(&self, key: &Key, bytes: Layers) -> Result<Loaded> {
        Ok(self.load_repaired(key, bytes)?.0)
    }

    /// Decodes a loaded file and the patches the journal holds for it; when the file is
    /// damaged (and no patch is pending over it) and the store repairs automatically, restores
    /// it from a snapshot first (saying so); then writes back a migrated document.
    fn load_repaired(&self, key: &Key, layers: Layers) -> Result<(Loaded, Option<AutoRepair>)> {
        let patched = !layers.amendments.is_empty();
        let decoded =
            self.pipeline
                .decode_layers(key, layers.base, &layers.amendments, Recheck::Always);
        let (loaded, repaired) = match decoded {
            Err(Error::Corrupt { detail, .. })
                if self.auto_repair && self.storage.is_writer() && !patched =>
            {
                let Some((bytes, repaired)) = self.repair_on_load(key, &detail)? else {
                    return Err(Error::Corrupt {
                        key: key.to_string(),
                        path: self.storage.path_of(key),
                        detail,
                    });
                };
                (self.pipeline.decode(key, bytes)?, Some(repaired))
            }
            other => (other?, None),
        };
        // The original of a migrated document is kept in a snapshot before it is replaced:
        // without the `backup` feature there are none, so the file keeps its version and each
        // load migrates it in memory.
        if cfg!(feature = "backup")
            && loaded.migrated_from.is_some()
            && self.write_back_migrations
            && self.storage.is_writer()
        {
            self.write_back(key, &loaded)?;
        }
        Ok((loaded, repaired))
    }

    /// [`Store::load`], also saying whether the load had to repair the key's file
    /// ([`StoreOptions::auto_repair`]).
    pub fn load_reported<T: DeserializeOwned>(&self, key: &str) -> Result<Option<Reported<T>>> {
        let start = Instant::now();
        let key = parse_key(key)?;
        let result = match self.storage.read_layers(&key)? {
            None => Ok(None),
            Some(bytes) => self
                .load_repaired(&key, bytes)
                .and_then(|(loaded, repaired)| {
                    Ok(Some(Reported {
                        value: loaded.into_typed(&key)?,
                        repaired,
                    }))
                }),
        };
        metrics::histogram!(metric::LOAD_DURATION_MS).record(start.elapsed().as_secs_f64() * 1e3);
        result
    }

    fn write_back(&self, key: &Key, loaded: &Loaded) -> Result<()> {
        let Some(value) = loaded.document() else {
            return Ok(());
        };
        self.refuse_downgrade(key)?;
        let bytes = self.pipeline.encode(
            key,
            Input::Value(value.clone()),
            &loaded.format.save_options(),
        )?;
        // The original stays in a snapshot: a migration that turns out wrong can be undone.
        self.auto_backup(
            Some(std::slice::from_ref(key)),
            &format!("before migration of {key}"),
        )?;
        self.write_key(key, bytes, "migrate")
    }

    /// Visits each of `keys` that is stored, with its bytes, in order (keys deleted in between
    /// are skipped), calling `progress(done, total)` before each: what whole-store passes
    /// (verify, migrate, key usage, re-encryption) walk.
    pub(crate) fn each_stored(
        &self,
        keys: Vec<Key>,
        progress: &dyn Fn(u64, u64),
        mut visit: impl FnMut(Key, Vec<u8>) -> Result<()>,
    ) -> Result<()> {
        let total = keys.len() as u64;
        for (done, key) in keys.into_iter().enumerate() {
            progress(done as u64, total);
            if let Some(bytes) = self.storage.read(&key)? {
                visit(key, bytes)?;
            }
        }
        Ok(())
    }

    /// Recounts the size of every key's file (at open, and after a restore changed many at
    /// once).
    pub(crate) fn refresh_size(&self) -> Result<()> {
        let mut total = 0;
        for key in self.storage.list("")? {
            total += self.stored_len(&key)?;
        }
        self.size_bytes.store(total, Ordering::SeqCst);
        metrics::gauge!(metric::STORAGE_SIZE_BYTES).set(total as f64);
        Ok(())
    }

    /// The size of the stored value of `key` (0 when it does not exist).
    fn stored_len(&self, key: &Key) -> Result<u64> {
        Ok(self.storage.metadata(key)?.map_or(0, |m| m.len))
    }

    /// Refuses to replace a document that a newer program wrote, unless the store was opened
    /// with [`StoreOptions::overwrite_newer`]. "Newer" is decided as a load decides it
    /// ([`stored_version`]): where the file's header declares the version (the envelope, and
    /// the plain format as statevault lays it out), only its first bytes are read; otherwise (a
    /// legacy file, a plain file laid out by hand) the file is decoded as a load would. A file
    /// that cannot be decoded (damaged, or encrypted with a key this process lacks) is not
    /// refused here: a load reports what is wrong with it, and a save may replace it.
    fn refuse_downgrade(&self, key: &Key) -> Result<()> {
        /// The plain format's and the envelope's headers both fit in this many bytes.
        const HEADER_BYTES: usize = 512;
        if self.overwrite_newer {
            return Ok(());
        }
        let Some(document) = self.pipeline.document(key) else {
            return Ok(());
        };
        let Some(prefix) = self.storage.read_prefix(key, HEADER_BYTES)? else {
            return Ok(());
        };
        if let Some(stored) = codec::peek_schema_version(&prefix) {
            return refuse_newer(key, document, &stored);
        }
        let Some(bytes) = self.storage.read(key)? else {
            return Ok(());
        };
        let Ok(decoded) = self.pipeline.decode_file(key, &bytes) else {
            return Ok(());
        };
        let Ok(value) = serde_json::from_slice::<Value>(&decoded.data) else {
            return Ok(());
        };
        refuse_newer(
            key,
            document,
            stored_version(document, &value, &decoded.meta),
        )
    }

    /// Writes a key's encoded bytes: quota, atomic write, size accounting, audit. Every write of
    /// one key's file goes through here (a batch's through `save_batch`, with the same checks).
    pub(crate) fn write_key(&self, key: &Key, bytes: Vec<u8>, op: &str) -> Result<()> {
        let old = self.stored_len(key)?;
        let new = bytes.len() as u64;
        self.check_quota(old, new, || vec![key.to_string()])?;
        self.hot.forget(key);
        let commit = self.storage.write_owned(key, bytes, self.durability)?;
        self.account(old, new);
        self.audit_commit(op, vec![key.to_string()], &commit, None)
    }

    /// Refuses a change that replaces `old` bytes with `new` when it would take the store past
    /// its quota; `keys` names what the change writes.
    fn check_quota(&self, old: u64, new: u64, keys: impl FnOnce() -> Vec<String>) -> Result<()> {
        let Some(quota) = self.quota_bytes else {
            return Ok(());
        };
        let needed = self.size_bytes().saturating_sub(old) + new;
        if needed <= quota {
            return Ok(());
        }
        metrics::counter!(metric::QUOTA_EXCEEDED).increment(1);
        let keys = keys();
        tracing::warn!(keys = ?keys, needed, quota, "quota exceeded; nothing written");
        Err(Error::QuotaExceeded {
            keys,
            needed,
            quota,
        })
    }

    fn account(&self, old: u64, new: u64) {
        let total = if new >= old {
            self.size_bytes.fetch_add(new - old, Ordering::SeqCst) + (new - old)
        } else {
            self.size_bytes.fetch_sub(old - new, Ordering::SeqCst) - (old - new)
        };
        metrics::gauge!(metric::STORAGE_SIZE_BYTES).set(total as f64);
    }

    /// Records a commit in the audit log: one line naming its keys and its journal record.
    pub(crate) fn audit_commit(
        &self,
        op: &str,
        keys: Vec<String>,
        commit: &Commit,
        ops: Option<u64>,
    ) -> Result<()> {
        if let Some(log) = &self.audit {
            log.lock()
                .unwrap_or_else(|e| e.into_inner())
                .append_commit(&self.storage, op, keys, commit, ops)?;
        }
        Ok(())
    }

    #[cfg(feature = "backup")]
    /// Records an event that is not a commit of its own (a restore, which names its snapshot).
    pub(crate) fn audit_event(&self, op: &str, subject: &str) -> Result<()> {
        if let Some(log) = &self.audit {
            log.lock().unwrap_or_else(|e| e.into_inner()).append_event(
                &self.storage,
                op,
                subject,
            )?;
        }
        Ok(())
    }

    /// The automatic snapshot `SaveOptions::backup` asks for, of the keys about to be
    /// overwritten (by one save or one batch).
    fn backup_before_overwrite(&self, keys: &[Key]) -> Result<()> {
        let reason = match keys {
            [key] => format!("before overwrite of {key}"),
            _ => format!("before overwrite of {} keys", keys.len()),
        };
        self.auto_backup(Some(keys), &reason)?;
        Ok(())
    }
}

/// A stored version newer than the document's is [`Error::NewerVersion`]; an unparsable one is
/// left to the load path to report.
fn refuse_newer(key: &Key, document: &DocumentInfo, stored: &str) -> Result<()> {
    match Version::parse(stored) {
        Ok(version) if version > *document.version() => Err(Error::NewerVersion {
            key: key.to_string(),
            stored: stored.to_owned(),
            supported: document.version().to_string(),
        }),
        _ => Ok(()),
    }
}

fn parse_declared_version(document: &DocumentInfo, version: &str) -> Result<Version> {
    Version::parse(version).map_err(|source| {
        Error::Schema(statevault_schema::Error::InvalidVersion {
            document: document.name().to_owned(),
            version: version.to_owned(),
            source,
        })
    })
}

fn default_dir(app_name: &str) -> Result<PathBuf> {
    directories::ProjectDirs::from("", "", app_name)
        .map(|dirs| dirs.data_dir().to_path_buf())
        .ok_or_else(|| {
            Error::Core(statevault_core::Error::NotAStore {
                dir: PathBuf::from(format!("<data folder of {app_name}: no home folder>")),
            })
        })
}

#[cfg(test)]
mod tests;
