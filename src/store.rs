//! The one save path and the one load path: every layer is composed here and nowhere else.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use statevault_codec::{
    self as codec, Compression, Context, Decoded, EncodeOptions, Format, KeyProvider, KeySet,
    KeychainProvider, Limits, Meta,
};
use statevault_core::{BatchOp, Durability, Key, OpenOptions, Storage, now_ms};
use statevault_migrate::{Migrations, Version};
use statevault_schema::{DocumentInfo, Registry, ValidationError, contract::SaveOptions};

use crate::audit::{self, AuditLog, AuditReport, Fingerprint};
use crate::batch::{Batch, Op};
use crate::error::{Error, Result};
use crate::options::{StoreOptions, pattern_matches};

/// The `schema_version` of a value whose key has no registered document.
pub const UNVERSIONED: &str = "0.0.0";

/// A state store: one folder, one file per key, written atomically and durably, validated,
/// migrated, optionally compressed and encrypted.
///
/// A writable `Store` holds the folder's writer lock for as long as it lives.
#[derive(Debug)]
pub struct Store {
    storage: Storage,
    durability: Durability,
    policies: Vec<(String, SaveOptions)>,
    limits: Limits,
    write_back_migrations: bool,
    registry: Registry,
    migrations: Migrations,
    provider: Option<Arc<dyn KeyProvider>>,
    keys: Mutex<Option<Arc<KeySet>>>,
    quota_bytes: Option<u64>,
    /// Bytes of every key's file, kept current by each write (scanned once at open).
    size_bytes: AtomicU64,
    audit: Option<Mutex<AuditLog>>,
    overwrite_newer: bool,
    pub(crate) backup_policies: statevault_backup::Policies,
}

/// The metric names the application's dashboards use.
pub mod metric {
    /// Histogram: milliseconds per save.
    pub const SAVE_DURATION_MS: &str = "state_persistence.save.duration_ms";
    /// Histogram: milliseconds per load.
    pub const LOAD_DURATION_MS: &str = "state_persistence.load.duration_ms";
    /// Gauge: bytes of every key's file.
    pub const STORAGE_SIZE_BYTES: &str = "state_persistence.storage.size_bytes";
    /// Counter (alert): a damaged file was found.
    pub const CORRUPTION_DETECTED: &str = "state_persistence.corruption_detected";
    /// Counter (alert): a save was refused by the quota.
    pub const QUOTA_EXCEEDED: &str = "state_persistence.quota_exceeded";
}

/// What [`Store::migrate_all`] did (or would do) to one key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MigrationReport {
    /// The key.
    pub key: String,
    /// The file's format before (`legacy` for a file of the TypeScript service).
    pub format: String,
    /// The stored version, for a registered document.
    pub from: Option<String>,
    /// The current version, for a registered document.
    pub to: Option<String>,
    /// The migration steps on the way, `from -> to: description`.
    pub steps: Vec<String>,
    /// What happened.
    #[serde(flatten)]
    pub outcome: MigrationOutcome,
}

/// The outcome of migrating one key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
#[non_exhaustive]
pub enum MigrationOutcome {
    /// Already current: nothing to do.
    UpToDate,
    /// Dry run: it would be migrated.
    WouldMigrate,
    /// Migrated (or rewritten from the legacy format) and written atomically.
    Migrated,
    /// Left as it was.
    Failed {
        /// Why.
        error: String,
    },
}

/// How much still uses one encryption key (see [`Store::key_usage`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct KeyUsage {
    /// Live files encrypted with it.
    pub files: u64,
    /// Snapshots holding at least one file encrypted with it.
    pub snapshots: u64,
}

/// A key's file as [`Store::inspect`] describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyInfo {
    /// The key.
    pub key: String,
    /// Bytes on disk.
    pub size: u64,
    /// `plain`, `compressed`, `encrypted`, `compressed+encrypted`, `legacy` or `unreadable`.
    pub format: String,
    /// The schema version the file declares.
    pub schema_version: Option<String>,
    /// When it was saved (milliseconds since the Unix epoch), as the file declares.
    pub saved_at: Option<u64>,
    /// The encryption key id, for an encrypted file.
    pub key_id: Option<u32>,
    /// Whether the checksum matches (legacy files have none and count as intact).
    pub intact: bool,
}

/// The outcome of checking one key with [`Store::verify`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyReport {
    /// The key.
    pub key: String,
    /// What was found.
    #[serde(flatten)]
    pub status: KeyStatus,
}

/// The state of one key's file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
#[non_exhaustive]
pub enum KeyStatus {
    /// Intact, decodes, and (for a registered key) valid at the current version.
    Ok {
        /// `plain`, `compressed`, `encrypted`, `compressed+encrypted` or `legacy`.
        format: String,
    },
    /// Intact, but older than the current version; the next load migrates it.
    NeedsMigration {
        /// The stored version.
        stored: String,
        /// The current version.
        current: String,
    },
    /// The bytes are damaged.
    Corrupt {
        /// What is wrong.
        detail: String,
    },
    /// Intact but does not decrypt (wrong or missing key, tampering).
    Undecryptable {
        /// What the codec said.
        detail: String,
    },
    /// Decodes, but does not match its schema (or cannot be migrated to it).
    Invalid {
        /// Every violation, or the failed migration.
        detail: String,
    },
    /// Could not be checked: the keychain or the disk failed.
    Unreadable {
        /// What failed.
        detail: String,
    },
    /// Written by a newer program.
    Newer {
        /// The stored version.
        stored: String,
    },
}

impl KeyStatus {
    /// Whether the key is healthy (intact and readable now or after migration).
    pub fn is_ok(&self) -> bool {
        matches!(
            self,
            KeyStatus::Ok { .. } | KeyStatus::NeedsMigration { .. }
        )
    }
}

impl Store {
    /// Opens (creating if needed) the store in `dir` with the default options.
    pub fn open(dir: impl AsRef<Path>) -> Result<Store> {
        Store::open_with(dir, StoreOptions::new())
    }

    /// Opens the store of application `app_name` in the platform's data folder
    /// (`~/.local/share/<app>` on Linux, `~/Library/Application Support/<app>` on macOS,
    /// `%APPDATA%\<app>\data` on Windows).
    pub fn open_default(app_name: &str) -> Result<Store> {
        Store::open_with(default_dir(app_name)?, StoreOptions::new())
    }

    /// [`Store::open_default`] with `options`.
    pub fn open_default_with(app_name: &str, options: StoreOptions) -> Result<Store> {
        Store::open_with(default_dir(app_name)?, options)
    }

    /// Opens the store in `dir` with `options`.
    pub fn open_with(dir: impl AsRef<Path>, options: StoreOptions) -> Result<Store> {
        let mut open = OpenOptions::new()
            .read_only(options.read_only)
            .checkpoint_bytes(options.checkpoint_bytes);
        if let Some(backend) = options.backend {
            open = open.backend(backend);
        }
        let storage = Storage::open_with(dir, open)?;
        let mut migrations = options.migrations;
        for document in options.registry.documents() {
            for step in document.migrations() {
                let from = parse_declared_version(document, step.from)?;
                let to = parse_declared_version(document, step.to)?;
                let run = step.run;
                migrations.add(document.name(), from, to, step.description, run)?;
            }
        }
        let audit = if storage.is_writer() && options.audit_log {
            Some(Mutex::new(AuditLog::open(
                &storage,
                options.audit_rotate_bytes,
            )?))
        } else {
            None
        };
        let size_bytes = if storage.is_writer() {
            let mut total = 0;
            for key in storage.list("")? {
                total += storage.metadata(&key)?.map_or(0, |m| m.len);
            }
            metrics::gauge!(metric::STORAGE_SIZE_BYTES).set(total as f64);
            total
        } else {
            0
        };
        Ok(Store {
            storage,
            durability: options.durability,
            policies: options.policies,
            limits: options.limits,
            write_back_migrations: options.write_back_migrations,
            registry: options.registry,
            migrations,
            provider: options.key_provider,
            keys: Mutex::new(None),
            quota_bytes: options.quota_bytes,
            size_bytes: AtomicU64::new(size_bytes),
            audit,
            overwrite_newer: options.overwrite_newer,
            backup_policies: options.backup_policies,
        })
    }

    /// The store's folder.
    pub fn dir(&self) -> &Path {
        self.storage.root()
    }

    /// The store's random id (empty for a read-only open of a folder no writer has opened).
    pub fn store_id(&self) -> &str {
        self.storage.store_id()
    }

    /// The storage engine underneath, for the raw operations of `statevault-core`.
    pub fn storage(&self) -> &Storage {
        &self.storage
    }

    /// The key-pattern registry in force.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// The migration graphs in force (the documents' own and those added by options).
    pub(crate) fn migrations(&self) -> &Migrations {
        &self.migrations
    }

    /// Writes every value the journal holds into its key's file now (batches are checkpointed
    /// on their own: when the journal is large enough, before a save of one of their keys, and
    /// when the store is dropped). For a program that reads the files directly.
    pub fn checkpoint(&self) -> Result<()> {
        Ok(self.storage.checkpoint()?)
    }

    /// The path of the file of `key`. A value saved by a batch reaches this file at the next
    /// checkpoint ([`Store::checkpoint`]); reads through the store see it at once.
    pub fn path_of(&self, key: &str) -> Result<PathBuf> {
        Ok(self.storage.path_of(&parse_key(key)?))
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
        let start = Instant::now();
        let key = parse_key(key)?;
        let result = self.encode(&key, value, options).and_then(|bytes| {
            if self.wants_backup(&key, options) && self.storage.exists(&key)? {
                self.backup_before_overwrite(std::slice::from_ref(&key))?;
            }
            self.write_key(&key, &bytes, "save")
        });
        metrics::histogram!(metric::SAVE_DURATION_MS).record(start.elapsed().as_secs_f64() * 1e3);
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
        let result = match self.storage.read(&key)? {
            None => Ok(None),
            Some(bytes) => self.decode(&key, bytes).map(Some),
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
        let old = self.storage.metadata(&key)?.map_or(0, |m| m.len);
        let existed = self.storage.delete(&key, self.durability)?;
        if existed {
            self.account(old, 0);
            self.audit("delete", &key, None)?;
        }
        Ok(existed)
    }

    /// Checks the audit log's hash chain and returns every entry and every break.
    pub fn verify_audit(&self) -> Result<AuditReport> {
        audit::verify(&self.storage)
    }

    /// Recounts the size of every key's file (after a restore changed many at once).
    pub(crate) fn refresh_size(&self) -> Result<()> {
        let mut total = 0;
        for key in self.storage.list("")? {
            total += self.storage.metadata(&key)?.map_or(0, |m| m.len);
        }
        self.size_bytes.store(total, Ordering::SeqCst);
        metrics::gauge!(metric::STORAGE_SIZE_BYTES).set(total as f64);
        Ok(())
    }

    /// The bytes of every key's file, as kept by this writer (0 for a read-only store).
    pub fn size_bytes(&self) -> u64 {
        self.size_bytes.load(Ordering::SeqCst)
    }

    /// Writes a key's encoded bytes: quota, atomic write, size accounting, audit. Every write of
    /// a key's file goes through here.
    /// Refuses to replace a document that a newer program wrote (its header declares a newer
    /// version), unless the store was opened with [`StoreOptions::overwrite_newer`]. Only the
    /// file's first bytes are read.
    fn refuse_downgrade(&self, key: &Key, document: &DocumentInfo) -> Result<()> {
        /// The plain format's and the envelope's headers both fit in this many bytes.
        const HEADER_BYTES: usize = 512;
        if self.overwrite_newer {
            return Ok(());
        }
        let Some(prefix) = self.storage.read_prefix(key, HEADER_BYTES)? else {
            return Ok(());
        };
        let Some(stored) = codec::peek_schema_version(&prefix) else {
            return Ok(());
        };
        match Version::parse(&stored) {
            Ok(version) if version > *document.version() => Err(Error::NewerVersion {
                key: key.to_string(),
                stored,
                supported: document.version().to_string(),
            }),
            _ => Ok(()),
        }
    }

    /// Writes bytes a repair took from a snapshot (audited as `repair`).
    pub(crate) fn write_repaired(&self, key: &Key, bytes: &[u8]) -> Result<()> {
        self.write_key(key, bytes, "repair")
    }

    fn write_key(&self, key: &Key, bytes: &[u8], op: &str) -> Result<()> {
        let old = self.storage.metadata(key)?.map_or(0, |m| m.len);
        if let Some(quota) = self.quota_bytes {
            let needed = self.size_bytes().saturating_sub(old) + bytes.len() as u64;
            if needed > quota {
                metrics::counter!(metric::QUOTA_EXCEEDED).increment(1);
                tracing::warn!(key = %key, path = %self.storage.path_of(key).display(), needed, quota, "quota exceeded; nothing written");
                return Err(Error::QuotaExceeded {
                    key: key.to_string(),
                    needed,
                    quota,
                });
            }
        }
        self.storage.write(key, bytes, self.durability)?;
        self.account(old, bytes.len() as u64);
        self.audit(op, key, Some(&Fingerprint::of(bytes)))
    }

    fn account(&self, old: u64, new: u64) {
        let total = if new >= old {
            self.size_bytes.fetch_add(new - old, Ordering::SeqCst) + (new - old)
        } else {
            self.size_bytes.fetch_sub(old - new, Ordering::SeqCst) - (old - new)
        };
        metrics::gauge!(metric::STORAGE_SIZE_BYTES).set(total as f64);
    }

    fn audit(&self, op: &str, key: &Key, new: Option<&Fingerprint>) -> Result<()> {
        self.audit_event(op, key.as_str(), new)
    }

    /// Records a change whose subject is not one key (a restore names its snapshot).
    pub(crate) fn audit_event(
        &self,
        op: &str,
        subject: &str,
        new: Option<&Fingerprint>,
    ) -> Result<()> {
        if let Some(log) = &self.audit {
            log.lock().unwrap_or_else(|e| e.into_inner()).append(
                &self.storage,
                op,
                subject,
                new,
            )?;
        }
        Ok(())
    }

    /// Whether a save of `key` with `options` asks for the old value to be kept first.
    fn wants_backup(&self, key: &Key, options: &SaveOptions) -> bool {
        self.effective_options(key, options).backup == Some(true)
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

    /// Applies `batch` all-or-nothing. Every save is validated and encoded first, and the quota
    /// checked, so an invalid value rejects the whole batch before anything is written; then
    /// the batch is committed through the journal of `statevault-core`: after a crash at any
    /// point every operation is visible or none is.
    pub fn save_batch(&self, batch: Batch) -> Result<()> {
        let start = Instant::now();
        let result = self.save_batch_inner(batch);
        metrics::histogram!(metric::SAVE_DURATION_MS).record(start.elapsed().as_secs_f64() * 1e3);
        result
    }

    fn save_batch_inner(&self, batch: Batch) -> Result<()> {
        let mut ops = Vec::with_capacity(batch.ops.len());
        let mut changes = Vec::with_capacity(batch.ops.len());
        let mut to_back_up = Vec::new();
        let (mut old_total, mut new_total) = (0u64, 0u64);
        for op in batch.ops {
            let (key, new) = match op {
                Op::Save { key, json, options } => {
                    if self.wants_backup(&key, &options) && self.storage.exists(&key)? {
                        to_back_up.push(key.clone());
                    }
                    let bytes = self.encode_json(&key, json, &options)?;
                    // Only the audit log needs the new bytes' hash.
                    let fingerprint = self.audit.as_ref().map(|_| Fingerprint::of(&bytes));
                    new_total += bytes.len() as u64;
                    ops.push(BatchOp::Put {
                        key: key.clone(),
                        bytes,
                    });
                    (key, ("batch-save", fingerprint))
                }
                Op::Delete { key } => {
                    ops.push(BatchOp::Delete { key: key.clone() });
                    (key, ("batch-delete", None))
                }
            };
            old_total += self.storage.metadata(&key)?.map_or(0, |m| m.len);
            changes.push((key, new));
        }
        if let Some(quota) = self.quota_bytes {
            let needed = self.size_bytes().saturating_sub(old_total) + new_total;
            if needed > quota {
                metrics::counter!(metric::QUOTA_EXCEEDED).increment(1);
                let keys: Vec<&str> = changes.iter().map(|(k, _)| k.as_str()).collect();
                tracing::warn!(keys = ?keys, needed, quota, "quota exceeded; nothing of the batch written");
                return Err(Error::QuotaExceeded {
                    key: keys.join(", "),
                    needed,
                    quota,
                });
            }
        }
        if !to_back_up.is_empty() {
            self.backup_before_overwrite(&to_back_up)?;
        }
        self.storage.commit_batch(ops, self.durability)?;
        self.account(old_total, new_total);
        if let Some(log) = &self.audit {
            let lines: Vec<(&str, &str, Option<&Fingerprint>)> = changes
                .iter()
                .map(|(key, (op, new))| (*op, key.as_str(), new.as_ref()))
                .collect();
            log.lock()
                .unwrap_or_else(|e| e.into_inner())
                .append_many(&self.storage, &lines)?;
        }
        Ok(())
    }

    /// Loads several keys as one consistent view (no batch half applied in between); missing
    /// keys are absent from the map.
    pub fn load_batch<T: DeserializeOwned>(
        &self,
        keys: &[&str],
    ) -> Result<std::collections::HashMap<Key, T>> {
        let start = Instant::now();
        let keys = keys
            .iter()
            .map(|k| parse_key(k))
            .collect::<Result<Vec<Key>>>()?;
        let values = self.storage.read_many(&keys)?;
        let mut loaded = std::collections::HashMap::with_capacity(keys.len());
        for (key, bytes) in keys.into_iter().zip(values) {
            if let Some(bytes) = bytes {
                let value = self.decode(&key, bytes)?;
                loaded.insert(key, value);
            }
        }
        metrics::histogram!(metric::LOAD_DURATION_MS).record(start.elapsed().as_secs_f64() * 1e3);
        Ok(loaded)
    }

    /// Whether `key` exists.
    pub fn exists(&self, key: &str) -> Result<bool> {
        Ok(self.storage.exists(&parse_key(key)?)?)
    }

    /// Every key whose text starts with `prefix`, sorted (`""` for all).
    pub fn keys(&self, prefix: &str) -> Result<Vec<Key>> {
        Ok(self.storage.list(prefix)?)
    }

    /// Validates `value` against the registered document called `name`.
    pub fn validate_data(
        &self,
        value: &Value,
        name: &str,
    ) -> Result<std::result::Result<(), ValidationError>> {
        let document = self
            .registry
            .get(name)
            .ok_or_else(|| Error::UnknownDocument {
                name: name.to_owned(),
            })?;
        Ok(document.validate(value))
    }

    /// Checks every key: checksum, decryption where a key is available, version, schema.
    /// Nothing is changed.
    pub fn verify(&self) -> Result<Vec<KeyReport>> {
        self.verify_with_progress(&|_, _| {})
    }

    /// [`Store::verify`], calling `progress(done, total)` after each key (for a progress bar).
    pub fn verify_with_progress(&self, progress: &dyn Fn(u64, u64)) -> Result<Vec<KeyReport>> {
        let mut reports = Vec::new();
        let keys = self.storage.list("")?;
        let total = keys.len() as u64;
        for (done, key) in keys.into_iter().enumerate() {
            progress(done as u64, total);
            let status = match self.storage.read(&key)? {
                None => continue,
                Some(bytes) => self.check(&key, &bytes),
            };
            reports.push(KeyReport {
                key: key.to_string(),
                status,
            });
        }
        Ok(reports)
    }

    /// What a key's file says about itself, read from its header without keys: format, size,
    /// schema version, save time, key id. `None` if the key does not exist.
    pub fn inspect(&self, key: &str) -> Result<Option<KeyInfo>> {
        let key = parse_key(key)?;
        let Some(bytes) = self.storage.read(&key)? else {
            return Ok(None);
        };
        let size = bytes.len() as u64;
        Ok(Some(match codec::inspect(&bytes) {
            Ok(inspected) => KeyInfo {
                key: key.to_string(),
                size,
                format: format_name(&inspected.format).to_owned(),
                schema_version: Some(inspected.meta.schema_version),
                saved_at: Some(inspected.meta.saved_at_ms),
                key_id: match inspected.format {
                    Format::Envelope {
                        key_id: Some(id), ..
                    } => Some(id.0),
                    _ => None,
                },
                intact: inspected.checksum_ok != Some(false),
            },
            Err(_) => KeyInfo {
                key: key.to_string(),
                size,
                format: "unreadable".to_owned(),
                schema_version: None,
                saved_at: None,
                key_id: None,
                intact: false,
            },
        }))
    }

    /// Brings every stored document (or only `key`) to the current version and the current
    /// file format: documents at an older version are migrated, validated and rewritten, and
    /// files of the legacy TypeScript service are rewritten in the current format. With
    /// `dry_run` nothing is written and the report says what would be done.
    ///
    /// Each rewrite is atomic; a key that fails is reported and left exactly as it was, and
    /// the others go on.
    pub fn migrate_all(&self, key: Option<&str>, dry_run: bool) -> Result<Vec<MigrationReport>> {
        self.migrate_all_with_progress(key, dry_run, &|_, _| {})
    }

    /// [`Store::migrate_all`], calling `progress(done, total)` before each key.
    pub fn migrate_all_with_progress(
        &self,
        key: Option<&str>,
        dry_run: bool,
        progress: &dyn Fn(u64, u64),
    ) -> Result<Vec<MigrationReport>> {
        let keys = match key {
            Some(key) => vec![parse_key(key)?],
            None => self.storage.list("")?,
        };
        let total = keys.len() as u64;
        // Plan everything first; the whole store is backed up once before the first write.
        let mut reports = Vec::new();
        for key in &keys {
            let Some(bytes) = self.storage.read(key)? else {
                continue;
            };
            reports.push(self.migrate_one(key, &bytes, true));
        }
        let work = reports
            .iter()
            .any(|r| r.outcome == MigrationOutcome::WouldMigrate);
        if dry_run || !work {
            return Ok(reports);
        }
        self.auto_backup(None, "before migration of the store")?;
        let mut reports = Vec::new();
        for (done, key) in keys.into_iter().enumerate() {
            progress(done as u64, total);
            let Some(bytes) = self.storage.read(&key)? else {
                continue;
            };
            reports.push(self.migrate_one(&key, &bytes, false));
        }
        Ok(reports)
    }

    fn migrate_one(&self, key: &Key, bytes: &[u8], dry_run: bool) -> MigrationReport {
        let mut report = MigrationReport {
            key: key.to_string(),
            format: String::new(),
            from: None,
            to: None,
            steps: Vec::new(),
            outcome: MigrationOutcome::UpToDate,
        };
        let result = (|| -> Result<MigrationOutcome> {
            let decoded = self.decode_bytes(key, bytes)?;
            report.format = format_name(&decoded.format).to_owned();
            let legacy = decoded.format == Format::Legacy;
            let document = self.registry.lookup(key.as_str());
            let mut value: Value =
                serde_json::from_slice(&decoded.data).map_err(|source| Error::Serde {
                    key: key.to_string(),
                    source,
                })?;
            let mut meta = decoded.meta.clone();
            if let Some(document) = document {
                let stored = document
                    .data_version(&value)
                    .unwrap_or(&decoded.meta.schema_version)
                    .to_owned();
                report.from = Some(stored.clone());
                report.to = Some(document.version().to_string());
                if let Ok(from) = Version::parse(&stored)
                    && from < *document.version()
                {
                    let plan = self
                        .migrations
                        .plan(document.name(), &from, document.version())
                        .map_err(|source| Error::Migration {
                            key: key.to_string(),
                            source: Box::new(source),
                        })?;
                    report.steps = plan
                        .steps()
                        .iter()
                        .map(|s| format!("{} -> {}: {}", s.from(), s.to(), s.description()))
                        .collect();
                }
            }
            if report.steps.is_empty() && !legacy {
                return Ok(MigrationOutcome::UpToDate);
            }
            if dry_run {
                return Ok(MigrationOutcome::WouldMigrate);
            }
            if let Some(document) = document {
                value = self.upgrade(key, document, value, &decoded.meta)?.0;
                meta.schema_version = document.version().to_string();
            }
            let data = serde_json::to_vec(&value).map_err(|source| Error::Serde {
                key: key.to_string(),
                source,
            })?;
            meta.saved_at_ms = now_ms();
            let bytes = self.encode_data(
                key,
                data,
                DataOrigin::Serialized,
                meta,
                &options_of(&decoded.format),
            )?;
            self.write_key(key, &bytes, "migrate")?;
            Ok(MigrationOutcome::Migrated)
        })();
        report.outcome = result.unwrap_or_else(|e| MigrationOutcome::Failed {
            error: e.to_string(),
        });
        report
    }

    /// How many live files and how many snapshots use each encryption key id (from the files'
    /// headers and the snapshots' manifests; no key is needed). A key must stay available
    /// while anything still uses it.
    pub fn key_usage(&self) -> Result<std::collections::BTreeMap<u32, KeyUsage>> {
        let mut usage: std::collections::BTreeMap<u32, KeyUsage> = Default::default();
        for key in self.storage.list("")? {
            let Some(bytes) = self.storage.read(&key)? else {
                continue;
            };
            if let Ok(inspected) = codec::inspect(&bytes)
                && let Format::Envelope {
                    key_id: Some(id), ..
                } = inspected.format
            {
                usage.entry(id.0).or_default().files += 1;
            }
        }
        let backups = statevault_backup::Backups::new(&self.storage);
        for info in backups.list()? {
            if !info.id.is_native() || info.damaged.is_some() {
                continue;
            }
            let ids: std::collections::BTreeSet<u32> = backups
                .get(&info.id)?
                .entries
                .iter()
                .filter_map(|e| e.flags.key_id)
                .collect();
            for id in ids {
                usage.entry(id).or_default().snapshots += 1;
            }
        }
        Ok(usage)
    }

    /// Rewrites every encrypted file that is not encrypted with the current key, each
    /// atomically, keeping its compression. Returns how many files were rewritten.
    pub fn reencrypt(&self) -> Result<usize> {
        let current = self.provider().load_or_create()?;
        let current_id = current.current_id();
        // Decrypt with every known key, encrypt with the current one.
        *self.keys.lock().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(current));
        let mut rewritten = 0;
        for key in self.storage.list("")? {
            let Some(bytes) = self.storage.read(&key)? else {
                continue;
            };
            let Ok(inspected) = codec::inspect(&bytes) else {
                continue;
            };
            let Format::Envelope {
                encrypted: true,
                key_id: Some(id),
                ..
            } = inspected.format
            else {
                continue;
            };
            if id == current_id {
                continue;
            }
            let decoded = self.decode_bytes(&key, &bytes)?;
            let options = options_of(&decoded.format);
            let bytes =
                self.encode_data(&key, decoded.data, DataOrigin::File, decoded.meta, &options)?;
            self.write_key(&key, &bytes, "reencrypt")?;
            rewritten += 1;
        }
        Ok(rewritten)
    }

    fn check(&self, key: &Key, bytes: &[u8]) -> KeyStatus {
        let decoded = match self.decode_bytes(key, bytes) {
            Ok(decoded) => decoded,
            Err(Error::Corrupt { detail, .. }) => return KeyStatus::Corrupt { detail },
            Err(e @ Error::Decrypt { .. }) => {
                return KeyStatus::Undecryptable {
                    detail: e.to_string(),
                };
            }
            Err(e) => {
                return KeyStatus::Unreadable {
                    detail: e.to_string(),
                };
            }
        };
        let format = format_name(&decoded.format).to_owned();
        let Some(document) = self.registry.lookup(key.as_str()) else {
            return KeyStatus::Ok { format };
        };
        let value: Value = match serde_json::from_slice(&decoded.data) {
            Ok(value) => value,
            Err(e) => {
                return KeyStatus::Corrupt {
                    detail: e.to_string(),
                };
            }
        };
        match self.upgrade(key, document, value, &decoded.meta) {
            Ok((_, None)) => KeyStatus::Ok { format },
            Ok((_, Some(stored))) => KeyStatus::NeedsMigration {
                stored: stored.to_string(),
                current: document.version().to_string(),
            },
            Err(Error::NewerVersion { stored, .. }) => KeyStatus::Newer { stored },
            Err(e) => KeyStatus::Invalid {
                detail: e.to_string(),
            },
        }
    }

    /// Serializes, validates and encodes a value: the save path.
    pub(crate) fn encode<T: Serialize + ?Sized>(
        &self,
        key: &Key,
        value: &T,
        options: &SaveOptions,
    ) -> Result<Vec<u8>> {
        let serde_error = |source| Error::Serde {
            key: key.to_string(),
            source,
        };
        let (data, schema_version) = match self.registry.lookup(key.as_str()) {
            Some(document) => {
                let value = serde_json::to_value(value).map_err(serde_error)?;
                self.check_document(key, document, &value)?;
                let data = serde_json::to_vec(&value).map_err(serde_error)?;
                (data, document.version().to_string())
            }
            None => (
                serde_json::to_vec(value).map_err(serde_error)?,
                UNVERSIONED.to_owned(),
            ),
        };
        self.encode_serialized(key, data, schema_version, options)
    }

    /// [`Store::encode`] for a value a [`Batch`] already serialized to compact JSON: parsed
    /// only where a registered document validates it, never serialized again.
    fn encode_json(&self, key: &Key, json: Vec<u8>, options: &SaveOptions) -> Result<Vec<u8>> {
        let schema_version = match self.registry.lookup(key.as_str()) {
            Some(document) => {
                let value: Value =
                    serde_json::from_slice(&json).map_err(|source| Error::Serde {
                        key: key.to_string(),
                        source,
                    })?;
                self.check_document(key, document, &value)?;
                document.version().to_string()
            }
            None => UNVERSIONED.to_owned(),
        };
        self.encode_serialized(key, json, schema_version, options)
    }

    /// What a value saved under a registered document must pass: its schema, the current
    /// version, and no stored document newer than this program.
    fn check_document(&self, key: &Key, document: &DocumentInfo, value: &Value) -> Result<()> {
        validate_as(key, document, value)?;
        check_current_version(key, document, value)?;
        self.refuse_downgrade(key, document)
    }

    /// Encodes JSON that serde wrote (and that passed its document's checks) into a file's
    /// bytes, with the key's save policy.
    fn encode_serialized(
        &self,
        key: &Key,
        data: Vec<u8>,
        schema_version: String,
        options: &SaveOptions,
    ) -> Result<Vec<u8>> {
        let meta = Meta {
            schema_version,
            saved_at_ms: now_ms(),
        };
        self.encode_data(
            key,
            data,
            DataOrigin::Serialized,
            meta,
            &self.effective_options(key, options),
        )
    }

    /// Encodes JSON text that is already validated into a file's bytes.
    pub(crate) fn encode_data(
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
        let context = Context {
            store_id: self.storage.store_id(),
            key_name: key.as_str(),
        };
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

    /// Decodes, migrates, validates and deserializes a file: the load path.
    fn decode<T: DeserializeOwned>(&self, key: &Key, bytes: Vec<u8>) -> Result<T> {
        let decoded = self.decode_owned_bytes(key, bytes)?;
        let serde_error = |source| Error::Serde {
            key: key.to_string(),
            source,
        };
        let Some(document) = self.registry.lookup(key.as_str()) else {
            return serde_json::from_slice(&decoded.data).map_err(serde_error);
        };
        let value: Value = serde_json::from_slice(&decoded.data).map_err(serde_error)?;
        let (value, migrated_from) = self.upgrade(key, document, value, &decoded.meta)?;
        if migrated_from.is_some() && self.write_back_migrations && self.storage.is_writer() {
            let options = options_of(&decoded.format);
            let bytes = self.encode(key, &value, &options)?;
            // The original stays in a snapshot: a migration that turns out wrong can be undone.
            self.auto_backup(
                Some(std::slice::from_ref(key)),
                &format!("before migration of {key}"),
            )?;
            self.write_key(key, &bytes, "migrate")?;
        }
        serde_json::from_value(value).map_err(serde_error)
    }

    /// Brings a stored document to the current version and validates it there, in that order:
    /// old data is never validated against the new schema. Returns the value and, when it was
    /// migrated, the version it was stored at.
    fn upgrade(
        &self,
        key: &Key,
        document: &DocumentInfo,
        value: Value,
        meta: &Meta,
    ) -> Result<(Value, Option<Version>)> {
        let stored_text = document
            .data_version(&value)
            .unwrap_or(&meta.schema_version)
            .to_owned();
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
        validate_as(key, document, &value)?;
        Ok((value, migrated_from))
    }

    /// Verifies and decodes a file's bytes, loading keys only for an encrypted file.
    pub(crate) fn decode_bytes(&self, key: &Key, bytes: &[u8]) -> Result<Decoded> {
        let context = Context {
            store_id: self.storage.store_id(),
            key_name: key.as_str(),
        };
        let mut result = codec::decode(bytes, &context, None, &self.limits);
        if matches!(result, Err(codec::Error::NoKey)) {
            let keys = self.keys_for_decryption()?;
            result = codec::decode(bytes, &context, keys.as_deref(), &self.limits);
        }
        result.map_err(|e| self.codec_error(key, e))
    }

    /// [`Store::decode_bytes`] on an owned buffer: the data is moved (and decrypted) in place,
    /// so a large load holds one copy of the document less.
    fn decode_owned_bytes(&self, key: &Key, bytes: Vec<u8>) -> Result<Decoded> {
        let context = Context {
            store_id: self.storage.store_id(),
            key_name: key.as_str(),
        };
        let keys = if codec::needs_key(&bytes) {
            self.keys_for_decryption()?
        } else {
            None
        };
        codec::decode_owned(bytes, &context, keys.as_deref(), &self.limits)
            .map_err(|e| self.codec_error(key, e))
    }

    /// Gives a codec error its key and path, keeping damage and failed decryption apart.
    fn codec_error(&self, key: &Key, error: codec::Error) -> Error {
        let path = self.storage.path_of(key);
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

    fn provider(&self) -> Arc<dyn KeyProvider> {
        self.provider.clone().unwrap_or_else(|| {
            Arc::new(KeychainProvider::new(self.storage.store_id())) as Arc<dyn KeyProvider>
        })
    }

    fn keys_for_encryption(&self) -> Result<Arc<KeySet>> {
        let mut cached = self.keys.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(keys) = cached.as_ref() {
            return Ok(keys.clone());
        }
        let keys = Arc::new(self.provider().load_or_create()?);
        *cached = Some(keys.clone());
        Ok(keys)
    }

    fn keys_for_decryption(&self) -> Result<Option<Arc<KeySet>>> {
        let mut cached = self.keys.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(keys) = cached.as_ref() {
            return Ok(Some(keys.clone()));
        }
        let keys = self.provider().load()?.map(Arc::new);
        cached.clone_from(&keys);
        Ok(keys)
    }
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

/// The options that reproduce a file's format when it is rewritten.
pub(crate) fn options_of(format: &Format) -> SaveOptions {
    match format {
        Format::Envelope {
            compressed,
            encrypted,
            ..
        } => SaveOptions {
            encrypt: Some(*encrypted),
            compress: Some(*compressed),
            backup: None,
        },
        _ => SaveOptions::default(),
    }
}

fn format_name(format: &Format) -> &'static str {
    match format {
        Format::Plain => "plain",
        Format::Legacy => "legacy",
        Format::Envelope {
            compressed: true,
            encrypted: true,
            ..
        } => "compressed+encrypted",
        Format::Envelope {
            encrypted: true, ..
        } => "encrypted",
        Format::Envelope { .. } => "compressed",
        _ => "unknown",
    }
}

/// Validates `value` as `document`, the error naming `key`.
fn validate_as(key: &Key, document: &DocumentInfo, value: &Value) -> Result<()> {
    document
        .validate(value)
        .map_err(|source| Error::Validation {
            key: key.to_string(),
            source,
        })
}

/// A typed document must carry the current version in its `version` field when it is saved:
/// the field decides how the file is read back (DESIGN §6), so a value saved with another
/// version would be migrated from, or refused as, a version it never had.
fn check_current_version(key: &Key, document: &DocumentInfo, value: &Value) -> Result<()> {
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

/// Parses a key, turning a refusal into the facade's error with the key's text.
pub(crate) fn parse_key(key: &str) -> Result<Key> {
    Key::parse(key).map_err(|reason| {
        Error::Core(statevault_core::Error::InvalidKey {
            key: key.to_owned(),
            reason,
        })
    })
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
mod tests {
    use metrics_util::debugging::{DebugValue, DebuggingRecorder};
    use serde_json::json;

    use super::metric;
    use crate::{Error, Store, StoreOptions};

    #[test]
    fn metrics_carry_the_dashboard_names_and_values() {
        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        let dir = tempfile::tempdir().unwrap();
        metrics::with_local_recorder(&recorder, || {
            let store = Store::open_with(dir.path(), StoreOptions::new().quota_bytes(400)).unwrap();
            store.save("plugins.a", &json!({"x": "y"})).unwrap();
            store.save("plugins.b", &json!({"x": "z"})).unwrap();
            let _: Option<serde_json::Value> = store.load("plugins.a").unwrap();
            let big = "x".repeat(500);
            assert!(matches!(
                store.save("plugins.c", &json!({ "big": big })),
                Err(Error::QuotaExceeded { .. })
            ));
            assert!(!store.exists("plugins.c").unwrap(), "nothing written");
            let path = store.path_of("plugins.a").unwrap();
            let mut bytes = std::fs::read(&path).unwrap();
            let at = bytes.len() - 3;
            bytes[at] ^= 0x01;
            std::fs::write(&path, &bytes).unwrap();
            assert!(matches!(
                store.load::<serde_json::Value>("plugins.a"),
                Err(Error::Corrupt { .. })
            ));
            let expected: u64 = ["plugins.a", "plugins.b"]
                .iter()
                .map(|k| std::fs::metadata(store.path_of(k).unwrap()).unwrap().len())
                .sum();
            assert_eq!(store.size_bytes(), expected);
        });
        let snapshot = snapshotter.snapshot().into_hashmap();
        let find = |name: &str| {
            snapshot
                .iter()
                .find(|(key, _)| key.key().name() == name)
                .map(|(_, (_, _, value))| value)
                .unwrap_or_else(|| panic!("metric {name} was not recorded"))
        };
        match find(metric::SAVE_DURATION_MS) {
            DebugValue::Histogram(values) => assert_eq!(values.len(), 3, "three saves timed"),
            other => panic!("{other:?}"),
        }
        match find(metric::LOAD_DURATION_MS) {
            DebugValue::Histogram(values) => assert_eq!(values.len(), 2),
            other => panic!("{other:?}"),
        }
        match find(metric::STORAGE_SIZE_BYTES) {
            DebugValue::Gauge(value) => {
                let value = *value;
                let files: u64 = ["plugins/a.json", "plugins/b.json"]
                    .iter()
                    .map(|p| std::fs::metadata(dir.path().join(p)).unwrap().len())
                    .sum();
                assert_eq!(value.into_inner(), files as f64);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            find(metric::QUOTA_EXCEEDED),
            &DebugValue::Counter(1),
            "one refused save"
        );
        assert_eq!(find(metric::CORRUPTION_DETECTED), &DebugValue::Counter(1));
    }

    #[test]
    fn the_size_is_scanned_once_at_open_and_kept_by_deletes() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = Store::open(dir.path()).unwrap();
            store.save("plugins.a", &json!([1, 2, 3])).unwrap();
            store.save("plugins.b", &json!([4])).unwrap();
        }
        let store = Store::open(dir.path()).unwrap();
        let b = std::fs::metadata(dir.path().join("plugins/b.json"))
            .unwrap()
            .len();
        let a = std::fs::metadata(dir.path().join("plugins/a.json"))
            .unwrap()
            .len();
        assert_eq!(store.size_bytes(), a + b);
        store.delete("plugins.a").unwrap();
        assert_eq!(store.size_bytes(), b);
    }

    #[test]
    fn a_batch_is_applied_whole_and_an_invalid_value_rejects_all_of_it() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        store.save("plugins.old", &json!(1)).unwrap();
        let mut batch = crate::Batch::new();
        batch.save("plugins.a", &json!({"a": 1})).unwrap();
        batch.save("plugins.b", &json!([2])).unwrap();
        batch.delete("plugins.old").unwrap();
        store.save_batch(batch).unwrap();
        let loaded = store
            .load_batch::<serde_json::Value>(&["plugins.a", "plugins.b", "plugins.old"])
            .unwrap();
        assert_eq!(loaded.len(), 2, "a missing key is absent from the map");
        assert_eq!(loaded[&"plugins.a".parse().unwrap()], json!({"a": 1}));

        let mut bad = crate::Batch::new();
        bad.save("plugins.c", &json!("c")).unwrap();
        bad.save("settings.preferences", &json!({"theme": "neon"}))
            .unwrap();
        assert!(matches!(
            store.save_batch(bad),
            Err(Error::Validation { .. })
        ));
        assert!(
            !store.exists("plugins.c").unwrap(),
            "nothing of the batch was written"
        );
        let report = store.verify_audit().unwrap();
        let ops: Vec<&str> = report.entries.iter().map(|e| e.op.as_str()).collect();
        assert_eq!(ops, ["save", "batch-save", "batch-save", "batch-delete"]);
    }

    #[test]
    fn a_document_written_by_a_newer_program_is_not_overwritten_unless_forced() {
        let dir = tempfile::tempdir().unwrap();
        let newer = statevault_codec::encode(
            br#"{"version":"2.0.0","whatever":"a future field"}"#,
            &statevault_codec::Meta {
                schema_version: "2.0.0".to_owned(),
                saved_at_ms: 1,
            },
            &statevault_codec::EncodeOptions::default(),
            &statevault_codec::Context {
                store_id: "",
                key_name: "settings.preferences",
            },
            None,
        )
        .unwrap();
        let path = dir.path().join("settings/preferences.json");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &newer).unwrap();
        let store = Store::open(dir.path()).unwrap();
        let prefs = crate::schema::UserPreferencesState::default();
        assert!(matches!(
            store.save("settings.preferences", &prefs),
            Err(Error::NewerVersion { .. })
        ));
        assert!(matches!(
            store.load::<crate::schema::UserPreferencesState>("settings.preferences"),
            Err(Error::NewerVersion { .. })
        ));
        assert_eq!(std::fs::read(&path).unwrap(), newer, "untouched");
        drop(store);
        let forced =
            Store::open_with(dir.path(), StoreOptions::new().overwrite_newer(true)).unwrap();
        forced.save("settings.preferences", &prefs).unwrap();
        assert_eq!(
            forced
                .load::<crate::schema::UserPreferencesState>("settings.preferences")
                .unwrap(),
            Some(prefs)
        );
    }

    /// An application's own document, registered by type.
    #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
    struct Note {
        version: String,
        #[schemars(length(min = 1))]
        title: String,
    }

    impl statevault_schema::Document for Note {
        const NAME: &'static str = "Note";
        const VERSION: &'static str = "1.0.0";
    }

    #[test]
    fn an_application_registers_its_own_document_type() {
        let dir = tempfile::tempdir().unwrap();
        let options = StoreOptions::new().register::<Note>("notes.*").unwrap();
        let store = Store::open_with(dir.path(), options).unwrap();
        let note = Note {
            version: "1.0.0".into(),
            title: "groceries".into(),
        };
        store.save("notes.today", &note).unwrap();
        assert_eq!(store.load::<Note>("notes.today").unwrap(), Some(note));
        let empty = Note {
            version: "1.0.0".into(),
            title: String::new(),
        };
        match store.save("notes.today", &empty) {
            Err(Error::Validation { source, .. }) => {
                assert_eq!(source.violations[0].pointer, "/title");
            }
            other => panic!("{other:?}"),
        }
        // An untyped save of the same key is validated too.
        assert!(matches!(
            store.save("notes.other", &json!({"version": "1.0.0"})),
            Err(Error::Validation { .. })
        ));
        assert!(matches!(
            StoreOptions::new().register::<Note>("layout.*"),
            Err(Error::Schema(_))
        ));
    }
}
