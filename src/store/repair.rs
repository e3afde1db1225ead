//! `Store::repair`: put back damaged keys from the newest snapshot that holds them intact.

use std::path::Path;

use serde::Serialize;
use statevault_core::{IdentityRecovery, Key, OpenOptions, Storage, StoreFiles};

use crate::Store;
use crate::error::Result;
use crate::store::verify::KeyStatus;

/// What [`Store::repair`] found and did (or, in a dry run, would do).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RepairReport {
    /// Whether this was a dry run.
    pub dry_run: bool,
    /// Journal records this open applied to the keys' files (batches committed and not yet
    /// checkpointed when the last writer stopped) and incomplete ones it dropped — or, in a
    /// dry run, committed batches the journal holds now.
    pub journal_records: usize,
    /// Temp files a crash left behind: removed by this open, or found in a dry run.
    pub stray_temp_files: usize,
    /// One entry per damaged key.
    pub keys: Vec<RepairAction>,
}

/// What happened to one damaged key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RepairAction {
    /// The key.
    pub key: String,
    /// What is wrong with its file.
    pub problem: String,
    /// What was done.
    #[serde(flatten)]
    pub outcome: RepairOutcome,
}

/// The outcome of repairing one key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
#[non_exhaustive]
pub enum RepairOutcome {
    /// Restored from this snapshot; the damaged file is kept in the automatic snapshot taken
    /// just before.
    Restored {
        /// The snapshot the intact copy came from.
        from: String,
    },
    /// Dry run: would be restored from this snapshot.
    WouldRestore {
        /// The snapshot.
        from: String,
    },
    /// No snapshot holds an intact, readable copy; the file is left as it is.
    NoIntactCopy,
}

/// What an automatic repair did while loading a key (see [`StoreOptions::auto_repair`]).
///
/// [`StoreOptions::auto_repair`]: crate::StoreOptions::auto_repair
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AutoRepair {
    /// The key.
    pub key: String,
    /// What was wrong with its file.
    pub problem: String,
    /// The snapshot whose intact copy replaced it.
    pub from: String,
    /// The automatic snapshot that keeps the damaged file, as it was.
    pub damaged_kept_in: String,
}

/// A loaded value and what the load had to repair to read it.
#[derive(Debug, Clone, PartialEq)]
pub struct Reported<T> {
    /// The value.
    pub value: T,
    /// The automatic repair the load made, if its file was damaged.
    pub repaired: Option<AutoRepair>,
}

impl Store {
    /// Restores the store's identity (`.statevault/store.json`) from its copy when it is
    /// missing or damaged: the repair an open that failed with a `Corrupt` error on
    /// `store.json` asks for. It takes the writer lock and changes nothing else; without an
    /// intact copy it writes nothing and fails (a new identity would make every encrypted
    /// value unreadable). `statevault repair` runs it before opening the store.
    pub fn recover_identity(dir: impl AsRef<std::path::Path>) -> Result<IdentityRecovery> {
        Ok(Storage::recover_identity(dir, OpenOptions::new())?)
    }

    /// Repairs the store: every corrupt key is restored from the newest snapshot where its
    /// copy verifies and decodes. Nothing is deleted that is not kept in a snapshot: the damaged
    /// file goes into an automatic snapshot before it is replaced. Stray temp files and journal
    /// records of interrupted batches are dealt with by the writer's open (a crash's leftovers:
    /// the journal is replayed, temp files removed). With `dry_run` (on a read-only store)
    /// nothing is changed.
    pub fn repair(&self, dry_run: bool) -> Result<RepairReport> {
        self.repair_with_progress(None, dry_run, &|_, _| {})
    }

    /// [`Store::repair`] taking intact copies from one snapshot only (`from`, its id or its
    /// name) instead of the newest that holds one, calling `progress(done, total)` as keys are
    /// checked. An unknown snapshot is an error before anything is changed.
    pub fn repair_with_progress(
        &self,
        from: Option<&str>,
        dry_run: bool,
        progress: &dyn Fn(u64, u64),
    ) -> Result<RepairReport> {
        let source = self.repair_source(from)?;
        let (journal_records, stray_temp_files) = if self.storage().is_writer() {
            let recovery = self.storage().recovery();
            (
                recovery.replayed + recovery.discarded,
                self.count_temp_files_removed(),
            )
        } else {
            (
                self.count_journal_records()?,
                self.count_temp_files(Path::new(""))?,
            )
        };
        let mut keys = Vec::new();
        for report in self.verify_with_progress(progress)? {
            let KeyStatus::Corrupt { detail } = &report.status else {
                continue;
            };
            let key: Key = crate::key::parse_key(&report.key)?;
            let outcome = match self.intact_copy(&key, source.as_deref())? {
                None => RepairOutcome::NoIntactCopy,
                Some((from, _)) if dry_run => RepairOutcome::WouldRestore { from },
                Some((from, bytes)) => {
                    self.auto_backup(
                        Some(std::slice::from_ref(&key)),
                        &format!("before repair of {key}"),
                    )?;
                    self.write_key(&key, bytes, "repair")?;
                    RepairOutcome::Restored { from }
                }
            };
            keys.push(RepairAction {
                key: report.key,
                problem: detail.clone(),
                outcome,
            });
        }
        Ok(RepairReport {
            dry_run,
            journal_records,
            stray_temp_files,
            keys,
        })
    }

    /// Restores a damaged key from the newest intact copy while loading it: the damaged file
    /// is kept in an automatic snapshot first, the change is audited as `auto-repair`, and the
    /// restored bytes are returned to be decoded. `None` when no snapshot holds an intact copy.
    pub(crate) fn repair_on_load(
        &self,
        key: &Key,
        problem: &str,
    ) -> Result<Option<(Vec<u8>, AutoRepair)>> {
        let Some((from, bytes)) = self.intact_copy(key, None)? else {
            tracing::error!(key = %key, problem, "no snapshot holds an intact copy; the damaged file is left as it is");
            return Ok(None);
        };
        let kept = self.auto_backup(
            Some(std::slice::from_ref(key)),
            &format!("before automatic repair of {key}"),
        )?;
        self.write_key(key, bytes.clone(), "auto-repair")?;
        tracing::warn!(key = %key, problem, from = %from, damaged_kept_in = %kept, "a damaged file was restored from a snapshot");
        Ok(Some((
            bytes,
            AutoRepair {
                key: key.to_string(),
                problem: problem.to_owned(),
                from,
                damaged_kept_in: kept,
            },
        )))
    }

    fn count_journal_records(&self) -> Result<usize> {
        Ok(self.storage().journal_records()?)
    }

    fn count_temp_files(&self, relative: &Path) -> Result<usize> {
        let mut count = 0;
        for entry in self.storage().files().list_dir(relative)? {
            let path = relative.join(&entry.name);
            if entry.is_dir {
                count += self.count_temp_files(&path)?;
            } else if entry.is_file && StoreFiles::is_unfinished_write(&entry.name) {
                count += 1;
            }
        }
        Ok(count)
    }

    fn count_temp_files_removed(&self) -> usize {
        self.storage().temp_files_removed()
    }
}
