//! The commands beyond plain get/set: batch, edit, audit, stats.

use std::collections::BTreeMap;
use std::io::Write;

use anyhow::{Context as _, Result, bail};
use serde::Deserialize;
use serde_json::{Value, json};
use statevault::{Batch, Error, FileFormat, MigrationOutcome, Patch, PatchReport, SaveOptions};

use crate::exit::{self, Exit};
use crate::human;
use crate::{Cli, open, print, read_input};

/// One line of `statevault batch`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Line {
    #[serde(alias = "type")]
    op: String,
    key: String,
    /// The value as written: numbers keep their digits.
    #[serde(default)]
    data: Option<Box<serde_json::value::RawValue>>,
    #[serde(default)]
    options: Option<SaveOptions>,
    /// The operations of a patch.
    #[serde(default)]
    patch: Option<Patch>,
}

/// `statevault patch KEY FILE` and `statevault append KEY POINTER FILE`: a JSON Patch, or one
/// value appended to the array at a JSON pointer.
pub(crate) fn patch(cli: &Cli, key: &str, pointer: Option<&str>, file: &str) -> Result<()> {
    let input = crate::json_input(&read_input(file)?)?;
    let store = open(cli, false)?;
    let report: PatchReport = match pointer {
        None => {
            let patch: Patch = serde_json::from_slice(&input)
                .map_err(|e| usage(&format!("not a JSON Patch (an array of operations): {e}")))?;
            store.patch(key, &patch)?
        }
        Some(pointer) => {
            let value: Value = serde_json::from_slice(&input)?;
            store.append(key, pointer, &value)?
        }
    };
    let validation = format!("{:?}", report.validation).to_lowercase();
    print(
        cli,
        &json!({
            "key": key,
            "patched": true,
            "operations": report.operations,
            "changed": report.changed,
            "validation": validation,
        }),
        || {
            format!(
                "patched {key}: {} operation(s), changed {}",
                report.operations,
                report.changed.join(", ")
            )
        },
    )
}

pub(crate) fn batch(cli: &Cli, file: &str) -> Result<()> {
    let input = read_input(file)?;
    let text = String::from_utf8(input).map_err(|_| usage("the input is not UTF-8"))?;
    let mut batch = Batch::new();
    let mut lines_of_keys = BTreeMap::new();
    for (index, raw) in text.lines().enumerate() {
        let number = index + 1;
        if raw.trim().is_empty() {
            continue;
        }
        let line: Line = serde_json::from_str(raw)
            .map_err(|e| usage(&format!("line {number}: not a batch operation: {e}")))?;
        if line.op == "patch" {
            let Some(patch) = line.patch else {
                return Err(usage(&format!(
                    "line {number}: a patch needs `patch` (an array of JSON Patch operations)"
                )));
            };
            batch
                .patch(&line.key, patch)
                .map_err(|e| usage(&format!("line {number}: {e:#}")))?;
            lines_of_keys.entry(line.key).or_insert(number);
            continue;
        }
        let added = match (line.op.as_str(), line.data) {
            ("save", Some(data)) => crate::json_input(data.get().as_bytes()).and_then(|json| {
                batch.save_json(&line.key, &json, &line.options.unwrap_or_default())?;
                Ok(())
            }),
            ("save", None) => return Err(usage(&format!("line {number}: a save needs `data`"))),
            ("delete", None) => batch.delete(&line.key).map(|_| ()).map_err(Into::into),
            ("delete", Some(_)) => {
                return Err(usage(&format!("line {number}: a delete takes no `data`")));
            }
            (other, _) => {
                return Err(usage(&format!(
                    "line {number}: unknown op {other:?} (save, delete or patch)"
                )));
            }
        };
        added.map_err(|e| usage(&format!("line {number}: {e:#}")))?;
        // The first line that names a key is the one an error about that key points to.
        lines_of_keys.entry(line.key).or_insert(number);
    }
    let count = batch.len();
    let store = open(cli, false)?;
    if let Err(e) = store.save_batch(batch) {
        let line = match &e {
            Error::Validation { key, .. } => lines_of_keys.get(key).copied(),
            _ => None,
        };
        return Err(match line {
            Some(line) => anyhow::Error::new(e).context(format!("line {line}")),
            None => e.into(),
        });
    }
    print(cli, &json!({"applied": count}), || {
        format!("{count} operations applied")
    })
}

fn usage(message: &str) -> anyhow::Error {
    anyhow::Error::new(exit::Usage(message.to_owned()))
}

/// Lines starting with this are the editor's instructions and errors, dropped before parsing.
const COMMENT: &str = "//";

pub(crate) fn edit(cli: &Cli, key: &str) -> Result<()> {
    // Fail at once if another process holds the store, rather than after the edit; then read
    // without the writer lock, so the application is not locked out while a person edits.
    drop(open(cli, false)?);
    let (current, before) = {
        let reader = open(cli, true)?;
        let current: Value = reader.load(key)?.unwrap_or(Value::Null);
        let before = reader.read_raw(key)?;
        (current, before)
    };
    let original = serde_json::to_string_pretty(&current)?;
    let editor = ["VISUAL", "EDITOR"]
        .iter()
        .filter_map(|name| std::env::var(name).ok())
        .find(|value| !value.trim().is_empty())
        .unwrap_or_else(|| "vi".to_owned());
    let mut error: Option<String> = None;
    let mut text = original.clone();
    loop {
        let mut file = tempfile::Builder::new()
            .prefix("statevault-edit-")
            .suffix(".json")
            .tempfile()?;
        let mut header = format!(
            "{COMMENT} Editing {key}. Lines starting with {COMMENT} are ignored. \
             Save and quit to apply; leave it unchanged or empty to cancel.\n"
        );
        if let Some(message) = &error {
            for line in message.lines() {
                header.push_str(&format!("{COMMENT} ERROR: {line}\n"));
            }
        }
        file.write_all(header.as_bytes())?;
        file.write_all(text.as_bytes())?;
        file.write_all(b"\n")?;
        file.flush()?;
        // The editor may be `code --wait` or `"/Applications/My Editor/bin/edit" -w`: split it
        // as a shell would, quotes and escapes included.
        let words = shell_words::split(&editor).map_err(|e| {
            usage(&format!(
                "$EDITOR {editor:?} cannot be split into words: {e}"
            ))
        })?;
        let (program, args) = words.split_first().context("$EDITOR is empty")?;
        let status = std::process::Command::new(program)
            .args(args)
            .arg(file.path())
            .status()
            .with_context(|| format!("starting the editor {editor:?}"))?;
        if !status.success() {
            bail!("the editor exited with {status}; nothing saved");
        }
        let edited = std::fs::read_to_string(file.path())?;
        let body: String = edited
            .lines()
            .filter(|l| !l.trim_start().starts_with(COMMENT))
            .collect::<Vec<_>>()
            .join("\n");
        // After an error, quitting without touching the file gives up, as the header says:
        // nothing is saved, and the exit status says the edit did not go through.
        if let Some(problem) = error.as_ref().filter(|_| body.trim() == text.trim()) {
            print(
                cli,
                &json!({"key": key, "saved": false, "gave_up_on": problem}),
                || format!("gave up with the value still invalid; nothing saved:\n{problem}"),
            )?;
            return Err(exit::Silent(Exit::Validation).into());
        }
        if body.trim().is_empty() || body.trim() == original.trim() {
            return print(cli, &json!({"key": key, "saved": false}), || {
                "no changes; nothing saved".to_owned()
            });
        }
        // Saved as typed: numbers keep their digits, a repeated key is an error to fix.
        let json = match crate::json_input(body.as_bytes()) {
            Ok(json) => json,
            Err(e) => {
                error = Some(e.to_string().replace("the input is not", "not"));
                text = body;
                continue;
            }
        };
        let store = open(cli, false)?;
        if store.read_raw(key)? != before {
            bail!(
                "{key} was changed by another process while it was being edited; nothing saved, run edit again"
            );
        }
        match store.save_json(key, &json, &SaveOptions::default()) {
            Ok(()) => {
                return print(cli, &json!({"key": key, "saved": true}), || {
                    format!("{key} saved")
                });
            }
            Err(Error::Validation { source, .. }) => {
                error = Some(
                    source
                        .violations
                        .iter()
                        .map(|v| format!("{}: {}", pointer(&v.pointer), v.message))
                        .collect::<Vec<_>>()
                        .join("\n"),
                );
                text = body;
            }
            Err(e) => return Err(e.into()),
        }
    }
}

fn pointer(p: &str) -> &str {
    if p.is_empty() { "/" } else { p }
}

pub(crate) fn audit(cli: &Cli, verify: bool) -> Result<()> {
    let store = open(cli, true)?;
    let report = store.verify_audit()?;
    if cli.json {
        let value = if verify {
            json!({"entries": report.entries.len(), "problems": report.problems})
        } else {
            json!({"entries": report.entries})
        };
        print(cli, &value, String::new)?;
    } else {
        let mut out = std::io::stdout().lock();
        if !verify {
            for e in &report.entries {
                writeln!(
                    out,
                    "{:>6} {} {:<14} {:<32} {:>10} {}",
                    e.seq,
                    human::time(e.time),
                    e.op,
                    e.subjects().join(","),
                    human::size(e.size),
                    e.checksum
                )?;
            }
        }
        for p in &report.problems {
            writeln!(
                out,
                "BROKEN at sequence {} ({}): {}",
                p.seq, p.file, p.detail
            )?;
        }
        if verify {
            writeln!(
                out,
                "{} entries, {} problems",
                report.entries.len(),
                report.problems.len()
            )?;
        }
    }
    if verify && !report.problems.is_empty() {
        return Err(exit::Silent(Exit::Corrupt).into());
    }
    Ok(())
}

/// Writes a node-exporter textfile: a temporary file in the same folder, renamed over `path`, so
/// the exporter never reads half of it. Readable by all (0644): the exporter usually runs as its
/// own user, and the figures are counts and sizes, never values.
fn write_textfile(path: &std::path::Path, text: &str) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let folder = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => std::path::Path::new("."),
    };
    let mut file = tempfile::Builder::new()
        .prefix(".statevault-stats-")
        .suffix(".prom.tmp")
        .tempfile_in(folder)
        .with_context(|| format!("creating a file in {}", folder.display()))?;
    file.write_all(text.as_bytes())?;
    file.as_file().sync_all()?;
    file.as_file()
        .set_permissions(std::fs::Permissions::from_mode(0o644))?;
    file.persist(path)
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

#[derive(Default, serde::Serialize)]
struct Namespace {
    keys: u64,
    bytes: u64,
}

pub(crate) fn stats(cli: &Cli, prometheus: bool, out: Option<&std::path::Path>) -> Result<()> {
    let store = open(cli, true)?;
    let mut namespaces: BTreeMap<String, Namespace> = BTreeMap::new();
    let (mut keys, mut bytes, mut encrypted, mut compressed, mut legacy, mut damaged) =
        (0u64, 0u64, 0u64, 0u64, 0u64, 0u64);
    let mut last_save: Option<u64> = None;
    for key in store.keys("")? {
        let Some(info) = store.inspect(key.as_str())? else {
            continue;
        };
        let entry = namespaces.entry(key.namespace().to_owned()).or_default();
        entry.keys += 1;
        entry.bytes += info.size;
        keys += 1;
        bytes += info.size;
        encrypted += u64::from(info.format.is_encrypted());
        compressed += u64::from(info.format.is_compressed());
        legacy += u64::from(info.format == FileFormat::Legacy);
        damaged += u64::from(!info.intact);
        if info.intact {
            last_save = last_save.max(info.saved_at);
        }
    }
    let snapshot_bytes = store.backup_bytes()?;
    // Batches committed to the journal and not yet checkpointed into the keys' files (those
    // of an application running now; a closed store has none).
    let journal = store.pending_batches()? as u64;
    // Journal files recovery found damaged (`verify` reports each one).
    let quarantined = store.quarantined_journals()?.len() as u64;
    if prometheus {
        let snapshots = store.list_backups()?.len() as u64;
        let mut text = String::new();
        let mut metric = |name: &str, kind: &str, help: &str, rows: Vec<(String, u64)>| {
            text.push_str(&format!("# HELP {name} {help}\n# TYPE {name} {kind}\n"));
            for (labels, value) in rows {
                text.push_str(&format!("{name}{labels} {value}\n"));
            }
        };
        metric(
            "state_persistence_storage_size_bytes",
            "gauge",
            "Bytes of every key's file.",
            vec![(String::new(), bytes)],
        );
        metric(
            "state_persistence_keys",
            "gauge",
            "Keys per namespace.",
            namespaces
                .iter()
                .map(|(ns, n)| (format!("{{namespace=\"{ns}\"}}"), n.keys))
                .collect(),
        );
        metric(
            "state_persistence_namespace_size_bytes",
            "gauge",
            "Bytes per namespace.",
            namespaces
                .iter()
                .map(|(ns, n)| (format!("{{namespace=\"{ns}\"}}"), n.bytes))
                .collect(),
        );
        metric(
            "state_persistence_files",
            "gauge",
            "Files by format.",
            vec![
                ("{format=\"encrypted\"}".to_owned(), encrypted),
                ("{format=\"compressed\"}".to_owned(), compressed),
                ("{format=\"legacy\"}".to_owned(), legacy),
            ],
        );
        metric(
            "state_persistence_snapshots",
            "gauge",
            "Snapshots kept.",
            vec![(String::new(), snapshots)],
        );
        metric(
            "state_persistence_snapshot_size_bytes",
            "gauge",
            "Bytes of snapshot objects on disk (each distinct content once).",
            vec![(String::new(), snapshot_bytes)],
        );
        metric(
            "state_persistence_journal_batches",
            "gauge",
            "Batches in the journal, not yet checkpointed into the keys' files.",
            vec![(String::new(), journal)],
        );
        metric(
            "state_persistence_quarantined_journal_files",
            "gauge",
            "Damaged journal files kept as .wal.damaged (their batches were never applied).",
            vec![(String::new(), quarantined)],
        );
        metric(
            "state_persistence_damaged_files",
            "gauge",
            "Files whose checksum fails.",
            vec![(String::new(), damaged)],
        );
        if let Some(last) = last_save {
            metric(
                "state_persistence_last_save_timestamp_seconds",
                "gauge",
                "When the newest file was saved.",
                vec![(String::new(), last / 1000)],
            );
        }
        return match out {
            Some(path) => write_textfile(path, &text),
            None => {
                let mut stdout = std::io::stdout().lock();
                stdout.write_all(text.as_bytes())?;
                stdout.flush()?;
                Ok(())
            }
        };
    }
    let backups = store.list_backups()?;
    let value = json!({
        "keys": keys, "bytes": bytes, "encrypted": encrypted, "compressed": compressed,
        "legacy": legacy, "damaged": damaged, "last_save": last_save, "namespaces": namespaces,
        "snapshots": backups.len(), "snapshot_bytes": snapshot_bytes, "journal_batches": journal,
        "quarantined_journals": quarantined,
    });
    print(cli, &value, || {
        let mut lines = vec![format!("{:<20} {:>8} {:>12}", "namespace", "keys", "size")];
        for (ns, n) in &namespaces {
            lines.push(format!(
                "{ns:<20} {:>8} {:>12}",
                n.keys,
                human::size(n.bytes)
            ));
        }
        lines.push(format!(
            "{:<20} {keys:>8} {:>12}",
            "total",
            human::size(bytes)
        ));
        lines.push(format!(
            "encrypted {encrypted}, compressed {compressed}, legacy {legacy}, damaged {damaged}"
        ));
        if let Some(last) = last_save {
            lines.push(format!("last save: {}", human::time(last)));
        }
        lines.push(format!(
            "snapshots: {}, {} of objects on disk",
            backups.len(),
            human::size(snapshot_bytes)
        ));
        lines.push(format!(
            "journal: {journal} batches not yet checkpointed into the keys' files"
        ));
        if quarantined > 0 {
            lines.push(format!(
                "quarantined journal files: {quarantined} (see statevault verify)"
            ));
        }
        lines.join("\n")
    })
}

pub(crate) fn migrate(cli: &Cli, key: Option<&str>, dry_run: bool) -> Result<()> {
    let store = open(cli, dry_run)?;
    let bar = crate::progress::Bar::new("migrating");
    let reports =
        store.migrate_all_with_progress(key, dry_run, &|done, total| bar.set(done, total))?;
    drop(bar);
    if let Some(key) = key
        && reports.is_empty()
    {
        return Err(exit::NotFound(key.to_owned()).into());
    }
    let failed = reports
        .iter()
        .filter(|r| matches!(r.outcome, MigrationOutcome::Failed { .. }))
        .count();
    print(cli, &json!({"dry_run": dry_run, "keys": reports}), || {
        let mut lines = Vec::new();
        for r in &reports {
            let versions = match (&r.from, &r.to) {
                (Some(from), Some(to)) => format!(" {from} -> {to}"),
                _ => String::new(),
            };
            let outcome = match &r.outcome {
                MigrationOutcome::UpToDate => "up to date".to_owned(),
                MigrationOutcome::WouldMigrate => "would migrate".to_owned(),
                MigrationOutcome::Migrated => "migrated".to_owned(),
                MigrationOutcome::Failed { error } => format!("FAILED: {error}"),
                _ => "unknown".to_owned(),
            };
            lines.push(format!("{} ({}){versions}: {outcome}", r.key, r.format));
            for step in &r.steps {
                lines.push(format!("    {step}"));
            }
        }
        lines.push(format!("{} keys, {failed} failed", reports.len()));
        lines.join("\n")
    })?;
    if failed > 0 {
        return Err(exit::Silent(Exit::Error).into());
    }
    Ok(())
}

/// `statevault info KEY`: the header of a key's file, read without keys.
pub(crate) fn info(cli: &Cli, key: &str) -> Result<()> {
    let store = open(cli, true)?;
    let Some(info) = store.inspect(key)? else {
        return Err(exit::NotFound(key.to_owned()).into());
    };
    print(cli, &serde_json::to_value(&info)?, || {
        let mut lines = vec![
            format!("key:            {}", info.key),
            format!("format:         {}", info.format),
            format!("encrypted:      {}", yes_no(info.format.is_encrypted())),
            format!("compressed:     {}", yes_no(info.format.is_compressed())),
            format!("size:           {}", human::size(info.size)),
        ];
        if let Some(version) = &info.schema_version {
            lines.push(format!("schema version: {version}"));
        }
        if let Some(saved_at) = info.saved_at {
            lines.push(format!("saved at:       {}", human::time(saved_at)));
        }
        if let Some(id) = info.key_id {
            lines.push(format!("key id:         {id}"));
        }
        lines.push(format!("intact:         {}", yes_no(info.intact)));
        lines.push(format!(
            "pending:        {}",
            if info.pending {
                "yes: committed in the journal, not yet checkpointed into the file"
            } else {
                "no"
            }
        ));
        lines.join("\n")
    })?;
    if info.intact {
        Ok(())
    } else {
        Err(exit::Silent(Exit::Corrupt).into())
    }
}

fn yes_no(yes: bool) -> &'static str {
    if yes { "yes" } else { "no" }
}
