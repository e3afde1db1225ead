//! `statevault`: inspect, verify, edit and repair a statevault store from the command line.

use std::io::{self, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, Result};
use clap::{Parser, Subcommand};
use serde_json::{Value, json};
use statevault::{Error, KeyStatus, SaveOptions};

mod backup;
mod commands;
mod exit;
mod human;
mod man;
mod open;
mod pretty;
mod progress;

use exit::{Exit, exit_code_of};
pub(crate) use open::{key_provider, open};

#[derive(Parser, Debug)]
#[command(
    name = "statevault",
    version,
    about = "Inspect, verify and repair a statevault state store",
    after_help = "Examples:\n  statevault --dir ~/.local/share/myapp ls\n  \
                  echo '{\"theme\":\"dark\"}' | statevault set settings.theme -\n  \
                  statevault --json get layout.default\n\n\
                  Exit codes: 0 ok, 1 error, 2 usage, 3 key not found, 4 validation failed,\n\
                  5 corrupt data, 6 locked by another process, 7 quota exceeded, 8 wrong key"
)]
pub(crate) struct Cli {
    /// The store's folder.
    #[arg(long, global = true, env = "STATEVAULT_DIR", value_name = "DIR")]
    dir: Option<PathBuf>,
    /// Print one JSON document on stdout instead of text.
    #[arg(long, global = true)]
    pub(crate) json: bool,
    /// A key file (base64 of 32 bytes a line) instead of the OS keychain.
    #[arg(long, global = true, value_name = "PATH")]
    key_file: Option<PathBuf>,
    /// Refuse saves that would take the store past this many bytes (exit 7).
    #[arg(long, global = true, value_name = "N")]
    quota_bytes: Option<u64>,
    /// Let a write command create the store when the folder holds none (by default only
    /// `init` creates one, so a mistyped --dir is an error instead of a new, empty store).
    #[arg(long, global = true)]
    create: bool,
    /// When another process holds the store's writer lock, wait for it (up to SECONDS, 30 if
    /// not given) instead of exiting 6 at once.
    #[arg(long, global = true, value_name = "SECONDS", num_args = 0..=1, default_missing_value = "30")]
    wait: Option<u64>,
    /// Print only errors on standard error, not the store's warnings (corruption found,
    /// damaged journal records set aside, quota refusals).
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    quiet: bool,
    /// Print more of what the store does on standard error (-v: progress of recovery and
    /// checkpoints, -vv: every step).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Create a store (or check an existing one).
    #[command(after_help = "Example:\n  statevault --dir ./state init")]
    Init,
    /// Save a JSON value under a key, from a file or standard input.
    #[command(
        after_help = "Examples:\n  statevault set layout.default layout.json\n  \
                            echo '{\"a\":1}' | statevault set plugins.demo -\n  \
                            statevault set --encrypt --compress history.conversations history.json"
    )]
    Set {
        /// The key, e.g. `settings.preferences`.
        key: String,
        /// A JSON file, or `-` (the default) for standard input.
        #[arg(default_value = "-")]
        file: String,
        /// Encrypt the value at rest.
        #[arg(long)]
        encrypt: bool,
        /// Compress the value (gzip).
        #[arg(long)]
        compress: bool,
    },
    /// Apply an RFC 6902 JSON Patch to a key's value, all or nothing (exit 4 naming the
    /// operation that failed). The commit writes the patch, not the document.
    #[command(
        after_help = "Example:\n  echo '[{\"op\":\"replace\",\"path\":\"/theme\",\"value\":\"dark\"}]' \
                            | statevault patch settings.preferences -"
    )]
    Patch {
        /// The key.
        key: String,
        /// A JSON file holding the patch (an array of operations), or `-` for standard input.
        #[arg(default_value = "-")]
        file: String,
    },
    /// Append a JSON value to the array at a JSON pointer in a key's value.
    #[command(
        after_help = "Example:\n  statevault append history.conversations /conversations/0/messages message.json"
    )]
    Append {
        /// The key.
        key: String,
        /// The JSON pointer of the array, e.g. `/conversations/0/messages` (`""` for the value
        /// itself).
        pointer: String,
        /// A JSON file holding the value, or `-` for standard input.
        #[arg(default_value = "-")]
        file: String,
    },
    /// Print a key's value as JSON.
    #[command(after_help = "Example:\n  statevault get settings.preferences")]
    Get {
        /// The key.
        key: String,
    },
    /// Delete a key.
    #[command(after_help = "Example:\n  statevault rm layout.old")]
    Rm {
        /// The key.
        key: String,
    },
    /// What a key's file says about itself: format, version, size, saved at, key id, whether it
    /// is intact, and whether its value is still only in the journal.
    #[command(after_help = "Example:\n  statevault info history.conversations")]
    Info {
        /// The key.
        key: String,
    },
    /// Exit 0 if a key exists, 3 if not.
    #[command(after_help = "Example:\n  statevault exists config.app && echo configured")]
    Exists {
        /// The key.
        key: String,
    },
    /// List keys, optionally those starting with a prefix.
    #[command(after_help = "Example:\n  statevault ls history.")]
    Ls {
        /// Only keys starting with this text.
        #[arg(default_value = "")]
        prefix: String,
    },
    /// Check every file: checksum, decryption, version, schema. Exit 5 if any is corrupt.
    #[command(after_help = "Example:\n  statevault verify")]
    Verify,
    /// Apply saves, deletes and patches from JSON Lines, all or nothing.
    #[command(after_help = "Each line is one operation:\n  \
                            {\"op\":\"save\",\"key\":\"layout.default\",\"data\":{...}}\n  \
                            {\"op\":\"delete\",\"key\":\"settings.old\"}\n  \
                            {\"op\":\"patch\",\"key\":\"plugins.todo\",\"patch\":[...]}\n\
                            A malformed line rejects the whole batch before anything is written.\n\n\
                            Example:\n  statevault batch changes.jsonl")]
    Batch {
        /// A JSON Lines file, or `-` (the default) for standard input.
        #[arg(default_value = "-")]
        file: String,
    },
    /// Edit a key's value in $EDITOR; saved only when valid.
    #[command(after_help = "Example:\n  EDITOR=nano statevault edit settings.preferences")]
    Edit {
        /// The key.
        key: String,
    },
    /// Bring stored documents (and files of the legacy service) to the current version.
    #[command(
        after_help = "Examples:\n  statevault migrate --dry-run\n  statevault migrate layout.default"
    )]
    Migrate {
        /// Only this key (default: every key).
        key: Option<String>,
        /// Show the plan per key; write nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Print the audit log; with --verify, check its hash chain.
    #[command(after_help = "Example:\n  statevault audit --verify")]
    Audit {
        /// Check the chain and report every break with its sequence number.
        #[arg(long)]
        verify: bool,
    },
    /// Keys and bytes per namespace, formats, last save, snapshots, batches not yet checkpointed.
    #[command(
        after_help = "Examples:\n  statevault stats\n  statevault stats --format prometheus\n  \
                      statevault stats --format prometheus --out /var/lib/node_exporter/statevault.prom"
    )]
    Stats {
        /// `text` (default) or `prometheus`.
        #[arg(long, default_value = "text")]
        format: StatsFormat,
        /// With `--format prometheus`: write a node-exporter textfile here (replaced
        /// atomically) instead of printing.
        #[arg(long, value_name = "FILE", requires = "format")]
        out: Option<PathBuf>,
    },
    /// Print a shell completion script.
    #[command(
        after_help = "Example:\n  statevault completions bash > /etc/bash_completion.d/statevault"
    )]
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff), or write one page per command into a folder.
    #[command(
        after_help = "Examples:\n  statevault man | man -l -\n  statevault man --out /usr/local/share/man/man1"
    )]
    Man {
        /// Write `statevault.1` and a page per command (`statevault-backup-create.1`, …) here.
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
    /// Snapshots: create, list, verify, restore, prune, export, import.
    #[command(subcommand)]
    Backup(BackupCommand),
    /// Restore damaged keys from the newest snapshot that holds them intact.
    #[command(
        after_help = "Examples:\n  statevault repair --dry-run\n  statevault repair\n  statevault repair --from before-upgrade"
    )]
    Repair {
        /// Take intact copies from this snapshot only (its id or its name), not the newest
        /// snapshot that holds one.
        #[arg(long, value_name = "ID|NAME")]
        from: Option<String>,
        /// Say what would be done; change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Manage the encryption keys.
    #[command(subcommand)]
    Key(KeyCommand),
    /// The documents and their schemas.
    #[command(subcommand)]
    Schema(SchemaCommand),
}

#[derive(Subcommand, Debug)]
pub(crate) enum BackupCommand {
    /// Take a snapshot of the whole store (prints its id).
    #[command(after_help = "Example:\n  statevault backup create --name before-upgrade")]
    Create {
        /// A name shown in listings.
        #[arg(long)]
        name: Option<String>,
    },
    /// List snapshots, newest first (the legacy service's backups too).
    #[command(after_help = "Example:\n  statevault backup ls")]
    Ls,
    /// Re-hash every file of a snapshot; exit 5 if any is damaged.
    #[command(after_help = "Example:\n  statevault backup verify 20261126T041500123Z-1a2b3c")]
    Verify {
        /// The snapshot id.
        id: String,
    },
    /// Restore a snapshot (verified first; the present state is snapshotted first).
    #[command(after_help = "Example:\n  statevault backup restore 20261126T041500123Z-1a2b3c")]
    Restore {
        /// The snapshot id.
        id: String,
    },
    /// Delete a snapshot and the objects nothing else uses.
    #[command(after_help = "Example:\n  statevault backup rm 20261126T041500123Z-1a2b3c")]
    Rm {
        /// The snapshot id.
        id: String,
    },
    /// Forget snapshots by retention rules (restic's semantics; rules OR'd).
    #[command(
        after_help = "Example:\n  statevault backup prune --keep-last 5 --keep-daily 7 --dry-run"
    )]
    Prune {
        /// Keep the newest N.
        #[arg(long)]
        keep_last: Option<u32>,
        /// Keep the newest of each of the last N hours.
        #[arg(long)]
        keep_hourly: Option<u32>,
        /// Keep the newest of each of the last N days.
        #[arg(long)]
        keep_daily: Option<u32>,
        /// Keep the newest of each of the last N weeks.
        #[arg(long)]
        keep_weekly: Option<u32>,
        /// Keep the newest of each of the last N months.
        #[arg(long)]
        keep_monthly: Option<u32>,
        /// Keep the newest of each of the last N years.
        #[arg(long)]
        keep_yearly: Option<u32>,
        /// Keep every snapshot within this many hours of the newest.
        #[arg(long, value_name = "HOURS")]
        keep_within_hours: Option<u64>,
        /// Apply the rules to manual snapshots too (by default only automatic ones).
        #[arg(long)]
        manual: bool,
        /// Say what would go; remove nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Write a snapshot into one archive file.
    #[command(
        after_help = "Example:\n  statevault backup export ID state.svarchive --archive-key-file archive.key"
    )]
    Export {
        /// The snapshot id.
        id: String,
        /// The archive file to write.
        file: PathBuf,
        /// The key (base64 of 32 bytes) the archive is encrypted with; needed when it holds
        /// encrypted keys.
        #[arg(long, value_name = "PATH")]
        archive_key_file: Option<PathBuf>,
    },
    /// Import an archive as a new snapshot (verified before anything is written).
    #[command(
        after_help = "Example:\n  statevault backup import state.svarchive --archive-key-file archive.key"
    )]
    Import {
        /// The archive file.
        file: PathBuf,
        /// The key the archive was exported with.
        #[arg(long, value_name = "PATH")]
        archive_key_file: Option<PathBuf>,
    },
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum StatsFormat {
    Text,
    Prometheus,
}

#[derive(Subcommand, Debug)]
enum KeyCommand {
    /// Create the store's data key (in the keychain or the key file) if it has none.
    #[command(after_help = "Example:\n  statevault key init")]
    Init,
    /// Make a new current key; old keys stay for the files that use them.
    #[command(after_help = "Example:\n  statevault key rotate --reencrypt")]
    Rotate {
        /// Rewrite every encrypted file with the new key, each atomically.
        #[arg(long)]
        reencrypt: bool,
    },
    /// Show each key id and how many files and snapshots use it.
    #[command(after_help = "Example:\n  statevault key ls")]
    Ls,
    /// Forget an old key; refused while any file or snapshot still uses it.
    #[command(after_help = "Example:\n  statevault key rm 1")]
    Rm {
        /// The key id.
        id: u32,
    },
}

#[derive(Subcommand, Debug)]
enum SchemaCommand {
    /// The registered key patterns and their documents.
    #[command(after_help = "Example:\n  statevault schema ls")]
    Ls,
    /// Write the JSON Schemas (and with --ts the TypeScript declarations).
    #[command(after_help = "Example:\n  statevault schema export --out schemas --ts")]
    Export {
        /// The folder to write into (created if missing).
        #[arg(long, default_value = ".")]
        out: PathBuf,
        /// Also write the TypeScript declarations.
        #[arg(long)]
        ts: bool,
    },
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    log_to_stderr(&cli);
    match run(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if is_broken_pipe(&e) {
                return ExitCode::SUCCESS;
            }
            let (code, print_message) = exit_code_of(&e);
            if print_message {
                exit::report(cli.json, &e, code);
            }
            ExitCode::from(code.code())
        }
    }
}

/// Prints the library's `tracing` events on standard error: warnings by default (a damaged file,
/// a journal record set aside, a quota refusal), errors only with `-q`, more with `-v`.
fn log_to_stderr(cli: &Cli) {
    use tracing::level_filters::LevelFilter;
    let level = match (cli.quiet, cli.verbose) {
        (true, _) => LevelFilter::ERROR,
        (false, 0) => LevelFilter::WARN,
        (false, 1) => LevelFilter::INFO,
        (false, 2) => LevelFilter::DEBUG,
        (false, _) => LevelFilter::TRACE,
    };
    let _ = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_writer(io::stderr)
        .with_target(false)
        .without_time()
        .with_ansi(io::IsTerminal::is_terminal(&io::stderr()))
        .try_init();
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        let io = cause.downcast_ref::<io::Error>().map(io::Error::kind);
        // serde_json's writer errors name the I/O error's kind but not the error itself.
        let json = cause
            .downcast_ref::<serde_json::Error>()
            .and_then(serde_json::Error::io_error_kind);
        io.or(json) == Some(io::ErrorKind::BrokenPipe)
    })
}

pub(crate) fn print(cli: &Cli, value: &Value, text: impl FnOnce() -> String) -> Result<()> {
    let mut out = io::stdout().lock();
    if cli.json {
        serde_json::to_writer(&mut out, value)?;
        writeln!(out)?;
    } else {
        let text = text();
        if !text.is_empty() {
            writeln!(out, "{text}")?;
        }
    }
    out.flush()?;
    Ok(())
}

/// JSON text from the user, checked to be one JSON value with no repeated key (exit 4 with the
/// line and column otherwise) and laid out compactly, every number as written.
pub(crate) fn json_input(input: &[u8]) -> Result<Vec<u8>> {
    statevault::check_json_text(input).map_err(|e| {
        anyhow::Error::new(exit::InvalidJson(format!(
            "the input is not valid JSON: {e}"
        )))
    })?;
    Ok(pretty::compact(input))
}

pub(crate) fn read_input(file: &str) -> Result<Vec<u8>> {
    if file == "-" {
        let mut buf = Vec::new();
        io::stdin()
            .read_to_end(&mut buf)
            .context("reading standard input")?;
        Ok(buf)
    } else {
        std::fs::read(file).with_context(|| format!("reading {file}"))
    }
}

fn run(cli: &Cli) -> Result<()> {
    match &cli.command {
        Command::Init => {
            let store = open::create(cli)?;
            print(
                cli,
                &json!({"dir": store.dir(), "store_id": store.store_id()}),
                || {
                    format!(
                        "store {} ready at {}",
                        store.store_id(),
                        store.dir().display()
                    )
                },
            )
        }
        Command::Set {
            key,
            file,
            encrypt,
            compress,
        } => {
            let input = json_input(&read_input(file)?)?;
            let store = open(cli, false)?;
            let options = SaveOptions {
                encrypt: encrypt.then_some(true),
                compress: compress.then_some(true),
                backup: None,
            };
            // Saved as written: numbers keep their digits; invalid JSON and repeated keys are
            // refused with their line and column (exit 4).
            store.save_json(key, &input, &options)?;
            print(cli, &json!({"key": key, "saved": true}), String::new)
        }
        Command::Get { key } => {
            let store = open(cli, true)?;
            match store.load_json(key)? {
                Some(json) => {
                    let mut out = io::stdout().lock();
                    if cli.json {
                        out.write_all(&pretty::compact(&json))?;
                    } else {
                        out.write_all(&pretty::indent(&json))?;
                    }
                    writeln!(out)?;
                    out.flush()?;
                    Ok(())
                }
                None => Err(exit::NotFound(key.clone()).into()),
            }
        }
        Command::Rm { key } => {
            let store = open(cli, false)?;
            if store.delete(key)? {
                print(cli, &json!({"key": key, "deleted": true}), String::new)
            } else {
                Err(exit::NotFound(key.clone()).into())
            }
        }
        Command::Info { key } => commands::info(cli, key),
        Command::Exists { key } => {
            let store = open(cli, true)?;
            let exists = store.exists(key)?;
            print(cli, &json!({"key": key, "exists": exists}), || {
                if exists { "yes" } else { "no" }.to_owned()
            })?;
            if exists {
                Ok(())
            } else {
                Err(exit::Silent(Exit::NotFound).into())
            }
        }
        Command::Ls { prefix } => {
            let store = open(cli, true)?;
            let keys: Vec<String> = store
                .keys(prefix)?
                .into_iter()
                .map(|k| k.to_string())
                .collect();
            print(cli, &json!({"keys": keys}), || keys.join("\n"))
        }
        Command::Verify => verify(cli),
        Command::Batch { file } => commands::batch(cli, file),
        Command::Patch { key, file } => commands::patch(cli, key, None, file),
        Command::Append { key, pointer, file } => commands::patch(cli, key, Some(pointer), file),
        Command::Edit { key } => commands::edit(cli, key),
        Command::Migrate { key, dry_run } => commands::migrate(cli, key.as_deref(), *dry_run),
        Command::Audit { verify } => commands::audit(cli, *verify),
        Command::Stats { format, out } => {
            let prometheus = *format == StatsFormat::Prometheus;
            if prometheus && cli.json {
                return Err(exit::Usage(
                    "--json and --format prometheus exclude each other".into(),
                )
                .into());
            }
            if out.is_some() && !prometheus {
                return Err(exit::Usage("--out writes the prometheus format only".into()).into());
            }
            commands::stats(cli, prometheus, out.as_deref())
        }
        Command::Completions { .. } if cli.json => {
            Err(exit::Usage("completions are a shell script; --json does not apply".into()).into())
        }
        Command::Completions { shell } => {
            let mut command = <Cli as clap::CommandFactory>::command();
            // Into a buffer first: clap_complete panics on a write error such as a closed pipe.
            let mut script = Vec::new();
            clap_complete::generate(*shell, &mut command, "statevault", &mut script);
            let mut out = io::stdout().lock();
            out.write_all(&script)?;
            out.flush()?;
            Ok(())
        }
        Command::Man { .. } if cli.json => {
            Err(exit::Usage("a manual page is roff; --json does not apply".into()).into())
        }
        Command::Man { out } => man::write(out.as_deref()),
        Command::Key(command) => key_command(cli, command),
        Command::Backup(command) => backup::run(cli, command),
        Command::Repair { from, dry_run } => backup::repair(cli, from.as_deref(), *dry_run),
        Command::Schema(command) => schema_command(cli, command),
    }
}

fn verify(cli: &Cli) -> Result<()> {
    let store = open(cli, true)?;
    let bar = progress::Bar::new("verifying");
    let reports = store.verify_with_progress(&|done, total| bar.set(done, total))?;
    drop(bar);
    let problems: Vec<_> = reports.iter().filter(|r| !r.status.is_ok()).collect();
    print(
        cli,
        &json!({"checked": reports.len(), "problems": problems.len(), "keys": reports}),
        || {
            let mut lines: Vec<String> = problems
                .iter()
                .map(|r| format!("{}: {}", r.key, describe(&r.status)))
                .collect();
            lines.push(format!(
                "{} keys checked, {} with problems",
                reports.len(),
                problems.len()
            ));
            lines.join("\n")
        },
    )?;
    let worst = problems.iter().map(|r| match r.status {
        KeyStatus::Corrupt { .. } | KeyStatus::QuarantinedJournal { .. } => Exit::Corrupt,
        KeyStatus::Undecryptable { .. } => Exit::Decrypt,
        KeyStatus::Invalid { .. } => Exit::Validation,
        _ => Exit::Error,
    });
    match worst.min_by_key(|e| e.severity()) {
        None => Ok(()),
        Some(code) => Err(exit::Silent(code).into()),
    }
}

fn describe(status: &KeyStatus) -> String {
    match status {
        KeyStatus::Ok { format } => format!("ok ({format})"),
        KeyStatus::NeedsMigration { stored, current } => {
            format!("ok, version {stored} migrates to {current} on load")
        }
        KeyStatus::Corrupt { detail } => format!("CORRUPT: {detail}"),
        KeyStatus::Undecryptable { detail } => format!("CANNOT DECRYPT: {detail}"),
        KeyStatus::Invalid { detail } => format!("INVALID: {detail}"),
        KeyStatus::Newer { stored } => format!("written by a newer version ({stored})"),
        KeyStatus::Unreadable { detail } => format!("UNREADABLE: {detail}"),
        KeyStatus::QuarantinedJournal { detail } => format!("QUARANTINED: {detail}"),
        _ => "unknown state".to_owned(),
    }
}

fn key_command(cli: &Cli, command: &KeyCommand) -> Result<()> {
    let store = open(
        cli,
        !matches!(command, KeyCommand::Rotate { reencrypt: true }),
    )?;
    let provider = key_provider(cli, store.store_id());
    match command {
        KeyCommand::Init => {
            let keys = provider.load_or_create()?;
            let current = keys.current_id().0;
            print(cli, &json!({"current": current}), || {
                format!("current key: {current}")
            })
        }
        KeyCommand::Rotate { reencrypt } => {
            let keys = provider.rotate()?;
            let current = keys.current_id().0;
            let rewritten = if *reencrypt {
                drop(store);
                let store = open(cli, false)?;
                store.reencrypt()?
            } else {
                0
            };
            print(
                cli,
                &json!({"current": current, "reencrypted": rewritten}),
                || format!("current key: {current}; {rewritten} files re-encrypted"),
            )
        }
        KeyCommand::Ls => {
            let keys = provider.load()?;
            let usage = store.key_usage()?;
            let rows: Vec<Value> = keys
                .iter()
                .flat_map(|k| k.ids())
                .map(|id| {
                    let used = usage.get(&id.0).copied().unwrap_or_default();
                    json!({
                        "id": id.0,
                        "current": keys.as_ref().is_some_and(|k| k.current_id() == id),
                        "files": used.files,
                        "snapshots": used.snapshots,
                    })
                })
                .collect();
            print(cli, &json!({"keys": rows}), || {
                if rows.is_empty() {
                    return "no keys".to_owned();
                }
                rows.iter()
                    .map(|r| {
                        let current = if r["current"] == true {
                            " (current)"
                        } else {
                            ""
                        };
                        format!(
                            "key {}{current}: {} files, {} snapshots",
                            r["id"], r["files"], r["snapshots"]
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            })
        }
        KeyCommand::Rm { id } => {
            let keys = provider.load()?.context("the store has no keys")?;
            let key_id = statevault::KeyId(*id);
            if keys.current_id() == key_id {
                anyhow::bail!("key {id} is the current key; rotate first");
            }
            let used = store.key_usage()?.get(id).copied().unwrap_or_default();
            if used.files > 0 || used.snapshots > 0 {
                anyhow::bail!(
                    "key {id} is still used by {} files and {} snapshots; run `key rotate \
                     --reencrypt` and prune or delete those snapshots first",
                    used.files,
                    used.snapshots
                );
            }
            provider.remove_key(key_id)?;
            print(cli, &json!({"removed": id}), || format!("key {id} removed"))
        }
    }
}

fn schema_command(cli: &Cli, command: &SchemaCommand) -> Result<()> {
    match command {
        SchemaCommand::Ls => {
            let registry = statevault::Registry::builtin();
            let rows: Vec<Value> = registry
                .patterns()
                .map(|(pattern, info)| {
                    json!({"pattern": pattern, "document": info.name(), "version": info.version().to_string()})
                })
                .collect();
            print(cli, &json!({"documents": rows}), || {
                rows.iter()
                    .map(|r| {
                        format!(
                            "{:<28} {} {}",
                            r["pattern"].as_str().unwrap_or_default(),
                            r["document"].as_str().unwrap_or_default(),
                            r["version"].as_str().unwrap_or_default()
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            })
        }
        SchemaCommand::Export { out, ts } => {
            let files = statevault::schema::generated_files()?;
            let mut written = Vec::new();
            for file in files {
                let is_ts = file.path.ends_with(".d.ts");
                if is_ts && !ts {
                    continue;
                }
                let name = std::path::Path::new(&file.path)
                    .file_name()
                    .context("generated file without a name")?;
                std::fs::create_dir_all(out)
                    .with_context(|| format!("creating {}", out.display()))?;
                let path = out.join(name);
                std::fs::write(&path, &file.contents)
                    .with_context(|| format!("writing {}", path.display()))?;
                written.push(path.display().to_string());
            }
            print(cli, &json!({"written": written}), || written.join("\n"))
        }
    }
}

/// Lets `exit_code_of` see the library's error through anyhow.
pub(crate) fn library_error(e: &anyhow::Error) -> Option<&Error> {
    e.chain().find_map(|cause| cause.downcast_ref::<Error>())
}
