//! `Store::repair`: put back damaged keys from the newest snapshot that holds them intact.

use std::path::Path;

use serde::Serialize;
use statevault_backup::{BackupKind, Backups};
use statevault_core::{Key, StoreFiles};

use crate::error::Result;
use crate::store::{KeyStatus, Store};

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

impl Store {
    /// Repairs the store: every corrupt key is restored from the newest snapshot where its
    /// copy verifies and decodes. Nothing is deleted that is not kept in a snapshot: the damaged
    /// file goes into an automatic snapshot before it is replaced. Stray temp files and journal
    /// records of interrupted batches are dealt with by the writer's open (a crash's leftovers:
    /// the journal is replayed, temp files removed). With `dry_run` (on a read-only store)
    /// nothing is changed.
    pub fn repair(&self, dry_run: bool) -> Result<RepairReport> {
        self.repair_with_progress(dry_run, &|_, _| {})
    }

    /// [`Store::repair`], calling `progress(done, total)` as keys are checked.
    pub fn repair_with_progress(
        &self,
        dry_run: bool,
        progress: &dyn Fn(u64, u64),
    ) -> Result<RepairReport> {
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
            let key: Key = crate::store::parse_key(&report.key)?;
            let outcome = match self.intact_copy(&key)? {
                None => RepairOutcome::NoIntactCopy,
                Some((from, _)) if dry_run => RepairOutcome::WouldRestore { from },
                Some((from, bytes)) => {
                    self.auto_backup(
                        Some(std::slice::from_ref(&key)),
                        &format!("before repair of {key}"),
                    )?;
                    self.write_repaired(&key, &bytes)?;
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

    /// The newest snapshot's copy of `key` that verifies against its hash and decodes.
    fn intact_copy(&self, key: &Key) -> Result<Option<(String, Vec<u8>)>> {
        let backups = Backups::new(self.storage());
        for info in backups.list()? {
            if info.kind == BackupKind::Legacy || info.damaged.is_some() {
                continue;
            }
            let Ok(Some(bytes)) = backups.read_entry(&info.id, key) else {
                continue;
            };
            if self.decode_bytes(key, &bytes).is_ok() {
                return Ok(Some((info.id.to_string(), bytes)));
            }
        }
        Ok(None)
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
