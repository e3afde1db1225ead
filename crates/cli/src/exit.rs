//! The exit codes (listed in the README and `statevault --help`), and the small error types that carry them through `anyhow`.

use std::io::Write as _;

use serde_json::{Value, json};
use statevault::{Error, ErrorKind};

/// What the process exits with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Exit {
    /// 1: any other error.
    Error,
    /// 2: bad usage (a rejected key, malformed input).
    Usage,
    /// 3: the key does not exist.
    NotFound,
    /// 4: validation failed.
    Validation,
    /// 5: corrupt data.
    Corrupt,
    /// 6: locked by another process.
    Locked,
    /// 7: quota exceeded.
    Quota,
    /// 8: wrong key or decryption failed.
    Decrypt,
}

impl Exit {
    pub(crate) fn code(self) -> u8 {
        match self {
            Exit::Error => 1,
            Exit::Usage => 2,
            Exit::NotFound => 3,
            Exit::Validation => 4,
            Exit::Corrupt => 5,
            Exit::Locked => 6,
            Exit::Quota => 7,
            Exit::Decrypt => 8,
        }
    }

    /// Lower is worse: when several keys have problems, the worst decides the exit code.
    pub(crate) fn severity(self) -> u8 {
        match self {
            Exit::Corrupt => 0,
            Exit::Decrypt => 1,
            Exit::Validation => 2,
            _ => 3,
        }
    }
}

/// A usage error with its message.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct Usage(pub(crate) String);

/// Input that is not JSON (exit 4, as a value that fails validation), with its line and column.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct InvalidJson(pub(crate) String);

/// A write command pointed at a folder that holds no store (exit 1).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct NotAStore(pub(crate) String);

/// A key that does not exist.
#[derive(Debug, thiserror::Error)]
#[error("key not found: {0}")]
pub(crate) struct NotFound(pub(crate) String);

/// An exit status whose explanation was already printed.
#[derive(Debug, thiserror::Error)]
#[error("exit {0:?}")]
pub(crate) struct Silent(pub(crate) Exit);

/// The exit code for an error, and whether its message still has to be printed.
pub(crate) fn exit_code_of(e: &anyhow::Error) -> (Exit, bool) {
    if let Some(Silent(code)) = e.downcast_ref::<Silent>() {
        return (*code, false);
    }
    (classify(e), true)
}

fn classify(e: &anyhow::Error) -> Exit {
    if e.downcast_ref::<Usage>().is_some() {
        return Exit::Usage;
    }
    if e.downcast_ref::<NotFound>().is_some() {
        return Exit::NotFound;
    }
    if e.downcast_ref::<InvalidJson>().is_some() {
        return Exit::Validation;
    }
    match crate::library_error(e) {
        Some(error) => of_library(error),
        None => Exit::Error,
    }
}

/// The exit status of a library error, from the facade's one table of error kinds.
fn of_library(error: &Error) -> Exit {
    match error.kind().exit_status() {
        2 => Exit::Usage,
        3 => Exit::NotFound,
        4 => Exit::Validation,
        5 => Exit::Corrupt,
        6 => Exit::Locked,
        7 => Exit::Quota,
        8 => Exit::Decrypt,
        _ => Exit::Error,
    }
}

/// Says what went wrong: on standard error as text, and with `--json` also as one JSON object on
/// standard output, `{"error": {"code", "message", "key", "path", "violations"}}`, so a script
/// reading the output always gets a document.
pub(crate) fn report(json: bool, e: &anyhow::Error, exit: Exit) {
    let library = crate::library_error(e);
    let mut text = message(e);
    if library.is_some_and(|error| error.kind() == ErrorKind::KeyUnavailable) {
        text.push_str(
            "; without the OS keychain, pass --key-file PATH (base64 of 32 bytes) or set \
             STATEVAULT_KEY",
        );
    }
    // Write errors are ignored: a closed stream must not turn an error into a panic.
    let _ = writeln!(std::io::stderr(), "statevault: {text}");
    if !json {
        return;
    }
    let code = match library {
        Some(error) => error.kind().code(),
        None => match exit {
            Exit::Usage => "E_USAGE",
            Exit::NotFound => "E_NOT_FOUND",
            Exit::Validation => "E_INVALID_JSON",
            _ if e.downcast_ref::<NotAStore>().is_some() => "E_NOT_A_STORE",
            _ => "E_OTHER",
        },
    };
    let violations: Vec<Value> = library
        .map(|error| {
            error
                .violations()
                .iter()
                .map(|v| json!({"pointer": v.pointer, "message": v.message}))
                .collect()
        })
        .unwrap_or_default();
    let document = json!({"error": {
        "code": code,
        "message": text,
        "key": library.and_then(Error::key),
        "path": library.and_then(Error::path),
        "violations": violations,
    }});
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{document}");
    let _ = out.flush();
}

/// The error and its causes, leaving out a cause whose text the message already holds (the
/// library's errors name their source in their own message).
fn message(e: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in e.chain() {
        let cause = cause.to_string();
        if text.is_empty() {
            text = cause;
        } else if !text.contains(&cause) {
            text = format!("{text}: {cause}");
        }
    }
    text
}
