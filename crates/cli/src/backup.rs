//! `statevault backup …` and `statevault repair`.

use std::io::Write as _;
use std::time::Duration;

use anyhow::{Context as _, Result};
use serde_json::json;
use statevault::{
    BackupInfo, FileKeyProvider, KeyProvider, KeySet, Policies, Policy, RepairOutcome,
};

use crate::exit::{self, Exit};
use crate::progress::Bar;
use crate::{BackupCommand, Cli, open, print};

pub(crate) fn run(cli: &Cli, command: &BackupCommand) -> Result<()> {
    match command {
        BackupCommand::Create { name } => {
            let store = open(cli, false)?;
            let bar = Bar::new("backing up");
            let info = store.create_backup_with_progress(name.as_deref(), &|done, total| {
                bar.set(done, total)
            })?;
            drop(bar);
            print(cli, &serde_json::to_value(&info)?, || info.id.to_string())
        }
        BackupCommand::Ls => {
            let store = open(cli, true)?;
            let backups = store.list_backups()?;
            print(cli, &json!({ "backups": backups }), || table(&backups))
        }
        BackupCommand::Verify { id } => {
            // The writer's handle heals damaged objects from live files; while another process
            // holds the store, verify read-only and only report.
            let store = match open(cli, false) {
                Err(e)
                    if e.downcast_ref::<statevault::Error>()
                        .is_some_and(|e| e.kind() == statevault::ErrorKind::Locked) =>
                {
                    open(cli, true)?
                }
                other => other?,
            };
            let bar = Bar::new("verifying");
            let report =
                store.verify_backup_with_progress(id, &|done, total| bar.set(done, total))?;
            drop(bar);
            print(cli, &serde_json::to_value(&report)?, || {
                let mut lines: Vec<String> = report
                    .healed
                    .iter()
                    .map(|h| {
                        format!(
                            "{}: HEALED from the live file of {} (the object held {})",
                            h.key, h.from, h.found
                        )
                    })
                    .collect();
                lines.extend(
                    report
                        .problems
                        .iter()
                        .map(|p| format!("{}: DAMAGED ({:?})", p.key, p.found)),
                );
                lines.push(format!(
                    "{} files, {} bytes, {} healed, {} damaged",
                    report.files,
                    report.bytes,
                    report.healed.len(),
                    report.problems.len()
                ));
                lines.join("\n")
            })?;
            if report.is_ok() {
                Ok(())
            } else {
                Err(exit::Silent(Exit::Corrupt).into())
            }
        }
        BackupCommand::Restore { id } => {
            let store = open(cli, false)?;
            let bar = Bar::new("checking the snapshot");
            let report =
                store.restore_backup_with_progress(id, &|done, total| bar.set(done, total))?;
            drop(bar);
            print(cli, &serde_json::to_value(&report)?, || {
                format!(
                    "restored {id}: {} written, {} deleted, {} unchanged{}",
                    report.written,
                    report.deleted,
                    report.unchanged,
                    report
                        .pre_restore
                        .as_ref()
                        .map(|p| format!("; the previous state is in snapshot {}", p.id))
                        .unwrap_or_default()
                )
            })
        }
        BackupCommand::Rm { id } => {
            let store = open(cli, false)?;
            store.delete_backup(id)?;
            print(cli, &json!({ "deleted": id }), || format!("deleted {id}"))
        }
        BackupCommand::Prune {
            keep_last,
            keep_hourly,
            keep_daily,
            keep_weekly,
            keep_monthly,
            keep_yearly,
            keep_within_hours,
            manual,
            dry_run,
        } => {
            let policy = Policy {
                keep_last: *keep_last,
                keep_hourly: *keep_hourly,
                keep_daily: *keep_daily,
                keep_weekly: *keep_weekly,
                keep_monthly: *keep_monthly,
                keep_yearly: *keep_yearly,
                keep_within: keep_within_hours.map(|h| Duration::from_secs(h * 3600)),
            };
            let mut policies = Policies::default();
            if !policy.is_empty() {
                policies.auto = policy;
                if *manual {
                    policies.manual = policy;
                }
            }
            let store = open(cli, *dry_run)?;
            let report = store.prune_backups(&policies, *dry_run)?;
            print(cli, &serde_json::to_value(&report)?, || {
                let verb = if *dry_run { "would remove" } else { "removed" };
                let mut lines: Vec<String> = report
                    .removed
                    .iter()
                    .map(|r| format!("{verb} {} ({:?})", r.info.id, r.cause))
                    .collect();
                lines.push(format!(
                    "{} kept, {} {verb}",
                    report.kept.len(),
                    report.removed.len()
                ));
                lines.join("\n")
            })
        }
        BackupCommand::Export {
            id,
            file,
            archive_key_file,
        } => {
            let store = open(cli, true)?;
            let key = archive_key(archive_key_file.as_deref())?;
            let mut bytes = Vec::new();
            let bar = Bar::new("exporting");
            let report = store.export_backup_with_progress(
                id,
                &mut bytes,
                key.as_ref(),
                &|done, total| bar.set(done, total),
            )?;
            drop(bar);
            write_private(file, &bytes)?;
            print(cli, &serde_json::to_value(&report)?, || {
                format!(
                    "exported {id} to {} ({} bytes)",
                    file.display(),
                    bytes.len()
                )
            })
        }
        BackupCommand::Import {
            file,
            archive_key_file,
        } => {
            let bytes =
                std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
            let key = archive_key(archive_key_file.as_deref())?;
            let store = open(cli, false)?;
            let bar = Bar::new("importing");
            let info =
                store.import_backup_with_progress(&bytes, key.as_ref(), &|done, total| {
                    bar.set(done, total)
                })?;
            drop(bar);
            print(cli, &serde_json::to_value(&info)?, || {
                format!("imported as snapshot {}", info.id)
            })
        }
    }
}

/// Writes an archive as every file of the store is written: created 0600 (it may hold
/// unencrypted keys), whatever the umask, and atomically (a temporary file in the same folder,
/// synced, renamed over `path`, the folder synced), so a failed export leaves no half archive
/// and an earlier archive at `path` stays whole until the new one replaces it.
fn write_private(path: &std::path::Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write as _;
    let folder = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => std::path::Path::new("."),
    };
    // tempfile creates with `O_EXCL` and mode 0600 (`OpenOptionsExt::mode`), never chmod-ed
    // afterwards; dropping it on an error removes it.
    let mut temp = tempfile::Builder::new()
        .prefix(".statevault-export-")
        .suffix(".tmp")
        .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600))
        .tempfile_in(folder)
        .with_context(|| format!("creating a file in {}", folder.display()))?;
    temp.write_all(bytes)
        .and_then(|()| temp.as_file().sync_all())
        .with_context(|| format!("writing {}", path.display()))?;
    temp.persist(path)
        .with_context(|| format!("writing {}", path.display()))?;
    std::fs::File::open(folder)
        .and_then(|dir| dir.sync_all())
        .with_context(|| format!("syncing {}", folder.display()))?;
    Ok(())
}

fn archive_key(path: Option<&std::path::Path>) -> Result<Option<KeySet>> {
    match path {
        None => Ok(None),
        Some(path) => {
            let keys = FileKeyProvider::new(path)
                .load()?
                .with_context(|| format!("{} holds no key", path.display()))?;
            Ok(Some(keys))
        }
    }
}

fn table(backups: &[BackupInfo]) -> String {
    if backups.is_empty() {
        return "no snapshots".to_owned();
    }
    let mut lines = vec![format!(
        "{:<28} {:<25} {:<7} {:>6} {:>10}  {}",
        "id", "taken", "kind", "files", "size", "name / reason"
    )];
    for b in backups {
        let label = b
            .damaged
            .as_ref()
            .map(|d| format!("DAMAGED: {d}"))
            .or_else(|| b.name.clone())
            .or_else(|| b.reason.clone())
            .unwrap_or_default();
        lines.push(format!(
            "{:<28} {:<25} {:<7} {:>6} {:>10}  {label}",
            b.id.to_string(),
            crate::human::time(b.timestamp),
            format!("{:?}", b.kind).to_lowercase(),
            b.file_count,
            crate::human::size(b.size)
        ));
    }
    lines.join("\n")
}

pub(crate) fn repair(cli: &Cli, from: Option<&str>, dry_run: bool) -> Result<()> {
    // The store's identity first: an open fails while `store.json` is missing or damaged.
    let identity = if dry_run {
        None
    } else {
        match statevault::Store::recover_identity(crate::open::dir(cli)?) {
            Ok(statevault::IdentityRecovery::Restored { info, from }) => {
                let _ = writeln!(
                    std::io::stderr(),
                    "statevault: restored the store's identity {} from {}",
                    info.store_id,
                    from.display()
                );
                Some(info.store_id)
            }
            Ok(_) => None,
            // No store at all: the open below says so.
            Err(e) if e.kind() == statevault::ErrorKind::NotAStore => None,
            Err(e) => return Err(e.into()),
        }
    };
    let store = open(cli, dry_run)?;
    let bar = Bar::new("repairing");
    let report = store.repair_with_progress(from, dry_run, &|done, total| bar.set(done, total))?;
    drop(bar);
    let mut value = serde_json::to_value(&report)?;
    if let Some(id) = &identity {
        value["identity_restored"] = json!(id);
    }
    print(cli, &value, || {
        let mut lines = Vec::new();
        if let Some(id) = &identity {
            lines.push(format!("store identity {id} restored from its copy"));
        }
        let (temps, records) = if dry_run {
            ("to remove", "to replay or discard")
        } else {
            ("removed", "replayed or discarded")
        };
        lines.push(format!(
            "{} stray temp files {temps}; {} journal records {records}",
            report.stray_temp_files, report.journal_records
        ));
        for action in &report.keys {
            let outcome = match &action.outcome {
                RepairOutcome::Restored { from } => format!("restored from {from}"),
                RepairOutcome::WouldRestore { from } => format!("would restore from {from}"),
                RepairOutcome::NoIntactCopy => {
                    "NO INTACT COPY in any snapshot; left as it is".into()
                }
                _ => "unknown".into(),
            };
            lines.push(format!("{}: {} -> {outcome}", action.key, action.problem));
        }
        lines.join("\n")
    })?;
    if report
        .keys
        .iter()
        .any(|a| a.outcome == RepairOutcome::NoIntactCopy)
    {
        return Err(exit::Silent(Exit::Corrupt).into());
    }
    Ok(())
}
