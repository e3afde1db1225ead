//! Running the real `statevault` executable.

use std::ffi::OsStr;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::{Value, json};

/// What a run of the executable produced.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Asserts the exit code, showing everything on failure.
    #[track_caller]
    pub fn expect(self, code: i32) -> Run {
        assert_eq!(self.code, code, "exit code; the run was {self:#?}");
        self
    }

    /// Stdout as one JSON document (what `--json` promises).
    #[track_caller]
    pub fn json(&self) -> Value {
        let lines: Vec<&str> = self.stdout.lines().collect();
        assert_eq!(lines.len(), 1, "--json prints one line: {self:#?}");
        serde_json::from_str(lines[0]).unwrap_or_else(|e| panic!("{e}: {self:#?}"))
    }
}

/// A command line being built.
pub struct Sv {
    cmd: Command,
    stdin: Vec<u8>,
}

impl Sv {
    /// The executable with a clean environment: no store folder, no key from the caller's shell.
    pub fn new() -> Sv {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_statevault"));
        cmd.env_remove("STATEVAULT_DIR")
            .env_remove("STATEVAULT_KEY")
            .env_remove("RUST_LOG");
        Sv {
            cmd,
            stdin: Vec::new(),
        }
    }

    /// The executable started by `sh` after the shell commands `prelude` (`umask 000`, a
    /// `ulimit`): process-wide settings a test must not change in its own, threaded process.
    pub fn after_shell(prelude: &str) -> Sv {
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg(format!("{prelude}; exec \"$0\" \"$@\""))
            .arg(env!("CARGO_BIN_EXE_statevault"))
            .env_remove("STATEVAULT_DIR")
            .env_remove("STATEVAULT_KEY")
            .env_remove("RUST_LOG");
        Sv {
            cmd,
            stdin: Vec::new(),
        }
    }

    pub fn dir(mut self, dir: &Path) -> Sv {
        self.cmd.arg("--dir").arg(dir);
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Sv
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.cmd.args(args);
        self
    }

    pub fn arg_help(mut self) -> Sv {
        self.cmd.arg("--help");
        self
    }

    pub fn env(mut self, name: &str, value: impl AsRef<OsStr>) -> Sv {
        self.cmd.env(name, value);
        self
    }

    pub fn stdin(mut self, bytes: impl Into<Vec<u8>>) -> Sv {
        self.stdin = bytes.into();
        self
    }

    pub fn run(mut self) -> Run {
        let mut child = self
            .cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("running statevault");
        let mut stdin = child.stdin.take().expect("piped stdin");
        // A command that does not read its input may close it early: ignore a broken pipe.
        let _ = stdin.write_all(&self.stdin);
        drop(stdin);
        let out = child.wait_with_output().expect("waiting for statevault");
        Run {
            code: out.status.code().expect("exited, not killed"),
            stdout: String::from_utf8(out.stdout).expect("UTF-8 stdout"),
            stderr: String::from_utf8(out.stderr).expect("UTF-8 stderr"),
        }
    }
}

/// `statevault --dir DIR ARGS…`.
pub fn sv(dir: &Path, args: &[&str]) -> Run {
    Sv::new().dir(dir).args(args).run()
}

/// A fresh, initialised store.
pub fn store() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    sv(dir.path(), &["init"]).expect(0);
    dir
}

/// Valid `settings.preferences` data.
pub fn preferences() -> Value {
    json!({
        "version": "1.0.0",
        "theme": "dark",
        "language": "de-CH",
        "keyBindings": {"toggle-sidebar": "Ctrl+B"},
        "ui": {"sidebarCollapsed": false, "gridDensity": "compact", "showGridLines": true},
        "privacy": {"telemetryEnabled": false, "crashReportingEnabled": true}
    })
}

/// Valid `history.conversations` data with a secret in it.
pub fn history() -> Value {
    json!({
        "version": "1.0.0",
        "conversations": [{
            "id": "c-1",
            "title": "Travel plans",
            "createdAt": 1764000000000u64,
            "updatedAt": 1764000060000u64,
            "messages": [
                {"id": "m-1", "role": "user", "content": "my passport number is X1234567", "timestamp": 1764000000000u64},
                {"id": "m-2", "role": "assistant", "content": "Noted.", "timestamp": 1764000060000u64, "tokens": 2}
            ]
        }],
        "metadata": {"totalCount": 1, "lastUpdated": 1764000060000u64, "totalTokens": 2}
    })
}

/// The status object `verify --json` reports for `key` (`{"status": "ok", "format": …}`,
/// `{"status": "corrupt", "detail": …}`, …).
#[track_caller]
pub fn key_status(verify: &Value, key: &str) -> Value {
    let report = verify["keys"]
        .as_array()
        .expect("verify --json lists keys")
        .iter()
        .find(|k| k["key"] == key)
        .unwrap_or_else(|| panic!("{key} is not in {verify}"));
    // The status is flattened into the report: `{"key", "status", "format" | "detail" …}`.
    report.clone()
}

/// Writes `value` to a file in `dir` and returns its path as text.
pub fn json_file(dir: &Path, name: &str, value: &Value) -> String {
    let path = dir.join(name);
    std::fs::write(&path, serde_json::to_vec_pretty(value).unwrap()).unwrap();
    path.display().to_string()
}

/// Standard base64 of `bytes` (for `STATEVAULT_KEY`).
pub fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[test]
fn base64_matches_the_rfc_4648_vectors() {
    for (input, expected) in [
        ("", ""),
        ("f", "Zg=="),
        ("fo", "Zm8="),
        ("foo", "Zm9v"),
        ("foob", "Zm9vYg=="),
        ("fooba", "Zm9vYmE="),
        ("foobar", "Zm9vYmFy"),
    ] {
        assert_eq!(base64(input.as_bytes()), expected);
    }
}

/// Flips a letter inside the `data` of a plain file (it stays valid JSON; only the checksum
/// can tell) and returns the damaged bytes.
pub fn flip_letter_in_data(path: &Path, needle: &str) -> Vec<u8> {
    let mut bytes = std::fs::read(path).unwrap();
    let data = bytes
        .windows(7)
        .position(|w| w == b"\"data\":")
        .expect("a plain file");
    let at = data
        + bytes[data..]
            .windows(needle.len())
            .position(|w| w == needle.as_bytes())
            .expect("needle inside data");
    bytes[at] ^= 0x01;
    std::fs::write(path, &bytes).unwrap();
    bytes
}
