//! Migrating the whole store: every document to its current version, every legacy file to the
//! current format.

use serde::Serialize;
use serde_json::Value;
use statevault_core::{Key, timestamp_ms};
use statevault_migrate::Version;

use crate::Store;
use crate::error::{Error, Result};
use crate::format::FileFormat;
use crate::key::parse_key;
use crate::pipeline::{DataOrigin, stored_version};

/// What [`Store::migrate_all`] did (or would do) to one key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MigrationReport {
    /// The key.
    pub key: String,
    /// The file's format before ([`FileFormat::Legacy`] for a file of the TypeScript service,
    /// [`FileFormat::Unreadable`] when it could not be decoded).
    pub format: FileFormat,
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

impl Store {
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
            None => self.storage().list("")?,
        };
        // Plan everything first; the whole store is backed up once before the first write.
        let mut reports = Vec::new();
        self.each_stored(keys.clone(), &|_, _| {}, |key, bytes| {
            reports.push(self.migrate_one(&key, &bytes, true));
            Ok(())
        })?;
        let work = reports
            .iter()
            .any(|r| r.outcome == MigrationOutcome::WouldMigrate);
        if dry_run || !work {
            return Ok(reports);
        }
        self.auto_backup(None, "before migration of the store")?;
        let mut reports = Vec::new();
        self.each_stored(keys, progress, |key, bytes| {
            reports.push(self.migrate_one(&key, &bytes, false));
            Ok(())
        })?;
        Ok(reports)
    }

    fn migrate_one(&self, key: &Key, bytes: &[u8], dry_run: bool) -> MigrationReport {
        let mut report = MigrationReport {
            key: key.to_string(),
            format: FileFormat::Unreadable,
            from: None,
            to: None,
            steps: Vec::new(),
            outcome: MigrationOutcome::UpToDate,
        };
        let result = (|| -> Result<MigrationOutcome> {
            let pipeline = self.pipeline();
            let decoded = pipeline.decode_file(key, bytes)?;
            report.format = FileFormat::from(&decoded.format);
            let legacy = report.format == FileFormat::Legacy;
            let document = pipeline.document(key);
            let mut value: Value =
                serde_json::from_slice(&decoded.data).map_err(|source| Error::Serde {
                    key: key.to_string(),
                    source,
                })?;
            let mut meta = decoded.meta.clone();
            if let Some(document) = document {
                let stored = stored_version(document, &value, &decoded.meta).to_owned();
                report.from = Some(stored.clone());
                report.to = Some(document.version().to_string());
                if let Ok(from) = Version::parse(&stored)
                    && from < *document.version()
                {
                    let plan = pipeline
                        .migrations()
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
                value = pipeline.upgrade(key, document, value, &decoded.meta)?.0;
                meta.schema_version = document.version().to_string();
            }
            let data = serde_json::to_vec(&value).map_err(|source| Error::Serde {
                key: key.to_string(),
                source,
            })?;
            meta.saved_at_ms = timestamp_ms();
            let bytes = pipeline.encode_exact(
                key,
                data,
                DataOrigin::Serialized,
                meta,
                &report.format.save_options(),
            )?;
            self.write_key(key, bytes, "migrate")?;
            Ok(MigrationOutcome::Migrated)
        })();
        report.outcome = result.unwrap_or_else(|e| MigrationOutcome::Failed {
            error: e.to_string(),
        });
        report
    }
}
