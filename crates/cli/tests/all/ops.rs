//! The operator's commands, end to end: `batch`, `edit`, `audit`, `stats`, `migrate`,
//! `--quota-bytes`, `completions`, and `repair`/`exists`/`rm` on a healthy store.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use statevault::{Store, StoreOptions};

use super::common::{Run, Sv, base64, flip_letter_in_data, history, preferences, store, sv};

/// Valid `layout.*` data (a `GridLayoutState`).
fn layout() -> Value {
    json!({
        "version": "1.0.0",
        "timestamp": 1731999990000u64,
        "layout": {
            "editor-1": {"i": "editor-1", "x": 0, "y": 0, "w": 8, "h": 10, "minW": 4},
            "notes-1": {"i": "notes-1", "x": 8, "y": 0, "w": 4, "h": 5, "static": true}
        },
        "instances": {
            "editor-1": {"id": "editor-1", "widgetType": "code-editor", "title": "main.rs",
                         "config": {"tabSize": 4}, "state": {"cursor": {"line": 12}}},
            "notes-1": {"id": "notes-1", "widgetType": "notes", "config": {},
                        "state": {"text": "Notizen — Überblick"}}
        },
        "metadata": {"name": "Default", "tags": ["default"]}
    })
}

/// Sets `key` to `value` through the CLI (from standard input).
fn set(dir: &Path, key: &str, value: &Value) {
    Sv::new()
        .dir(dir)
        .args(["set", key])
        .stdin(value.to_string())
        .run()
        .expect(0);
}

/// `get --json KEY`.
fn get(dir: &Path, key: &str) -> Value {
    sv(dir, &["--json", "get", key]).expect(0).json()
}

/// The entries of `audit --json`.
fn audit_entries(dir: &Path) -> Vec<Value> {
    sv(dir, &["--json", "audit"]).expect(0).json()["entries"]
        .as_array()
        .expect("audit --json lists entries")
        .clone()
}

/// `(op, keys)` of each audit entry (one per commit, its keys joined by commas), in order.
fn audit_ops(dir: &Path) -> Vec<(String, String)> {
    audit_entries(dir)
        .iter()
        .map(|e| {
            let keys: Vec<&str> = e["keys"]
                .as_array()
                .unwrap()
                .iter()
                .map(|k| k.as_str().unwrap())
                .collect();
            (e["op"].as_str().unwrap().to_owned(), keys.join(","))
        })
        .collect()
}

/// Every key's file and its bytes, through the library (read-only: the CLI is not running).
fn key_files(dir: &Path) -> Vec<(String, PathBuf)> {
    let lib = Store::open_with(dir, StoreOptions::new().read_only(true)).unwrap();
    lib.keys("")
        .unwrap()
        .into_iter()
        .map(|k| {
            let path = lib.path_of(k.as_str()).unwrap();
            (k.to_string(), path)
        })
        .collect()
}

fn file_size(path: &Path) -> u64 {
    std::fs::metadata(path).unwrap().len()
}

// ---------------------------------------------------------------------------------------------
// batch

#[test]
fn batch_applies_saves_and_deletes_together_from_a_file_and_from_stdin() {
    let dir = store();
    let input = tempfile::tempdir().unwrap();
    set(dir.path(), "plugins.old", &json!({"old": true}));
    set(dir.path(), "plugins.gone", &json!(0));
    let before = audit_entries(dir.path()).len();

    let lines = [
        json!({"op": "save", "key": "layout.default", "data": layout()}).to_string(),
        json!({"op": "save", "key": "plugins.new", "data": {"n": 1}, "options": {"compression": true}})
            .to_string(),
        String::new(), // blank lines are skipped
        json!({"op": "delete", "key": "plugins.old"}).to_string(),
    ];
    let file = input.path().join("changes.jsonl");
    std::fs::write(&file, lines.join("\n")).unwrap();
    let run = Sv::new()
        .dir(dir.path())
        .args(["--json", "batch"])
        .args([&file])
        .run()
        .expect(0);
    assert_eq!(run.json(), json!({"applied": 3}));
    assert_eq!(get(dir.path(), "layout.default"), layout());
    assert_eq!(get(dir.path(), "plugins.new"), json!({"n": 1}));
    sv(dir.path(), &["exists", "plugins.old"]).expect(3);
    // A line's options are honoured.
    let verify = sv(dir.path(), &["--json", "verify"]).expect(0).json();
    let new = verify["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["key"] == "plugins.new")
        .unwrap();
    assert_eq!(new["format"], "compressed", "{verify}");

    // From standard input, by default and with `-`; text output counts the operations.
    let stdin = format!(
        "{}\n{}\n",
        json!({"op": "delete", "key": "plugins.gone"}),
        json!({"op": "save", "key": "settings.preferences", "data": preferences()})
    );
    let run = Sv::new()
        .dir(dir.path())
        .args(["batch"])
        .stdin(stdin)
        .run()
        .expect(0);
    assert_eq!(run.stdout.trim(), "2 operations applied", "{run:?}");
    sv(dir.path(), &["exists", "plugins.gone"]).expect(3);
    assert_eq!(get(dir.path(), "settings.preferences"), preferences());
    let run = Sv::new()
        .dir(dir.path())
        .args(["--json", "batch", "-"])
        .stdin(json!({"op": "save", "key": "plugins.more", "data": [1, 2]}).to_string())
        .run()
        .expect(0);
    assert_eq!(run.json(), json!({"applied": 1}));

    // The audit log has one line per batch, naming each key it changed.
    let ops = audit_ops(dir.path());
    let added: Vec<(&str, &str)> = ops[before..]
        .iter()
        .map(|(op, key)| (op.as_str(), key.as_str()))
        .collect();
    assert_eq!(
        added,
        [
            ("batch", "layout.default,plugins.new,plugins.old"),
            ("batch", "plugins.gone,settings.preferences"),
            ("batch", "plugins.more"),
        ]
    );
}

/// Runs a batch whose line `bad_line` is `bad` after valid lines that would save
/// `plugins.first` and delete `plugins.keep`; checks exit 2, the line number, `fragment` in
/// the message, and that nothing at all was written.
#[track_caller]
fn check_rejected_batch(bad: &str, bad_line: usize, fragment: &str) {
    let dir = store();
    set(dir.path(), "plugins.keep", &json!("kept"));
    let audit_before = std::fs::read(dir.path().join(".statevault/audit.log")).unwrap();
    let mut lines = vec![
        json!({"op": "save", "key": "plugins.first", "data": 1}).to_string(),
        json!({"op": "delete", "key": "plugins.keep"}).to_string(),
    ];
    while lines.len() + 1 < bad_line {
        lines.push(
            json!({"op": "save", "key": format!("plugins.n{}", lines.len()), "data": 2})
                .to_string(),
        );
    }
    lines.push(bad.to_owned());
    lines.push(json!({"op": "save", "key": "plugins.after", "data": 3}).to_string());
    let run = Sv::new()
        .dir(dir.path())
        .args(["--json", "batch"])
        .stdin(lines.join("\n"))
        .run()
        .expect(2);
    assert!(
        run.stderr.contains(&format!("line {bad_line}")),
        "{bad}: {run:?}"
    );
    assert!(run.stderr.contains(fragment), "{bad}: {run:?}");
    // With --json the error is also one JSON document on stdout.
    assert_eq!(run.json()["error"]["code"], "E_USAGE", "{bad}: {run:?}");
    // Nothing of the batch: not the valid lines before the bad one, nor after it.
    sv(dir.path(), &["exists", "plugins.first"]).expect(3);
    sv(dir.path(), &["exists", "plugins.after"]).expect(3);
    assert_eq!(get(dir.path(), "plugins.keep"), json!("kept"));
    assert_eq!(
        sv(dir.path(), &["--json", "ls"]).expect(0).json(),
        json!({"keys": ["plugins.keep"]})
    );
    assert_eq!(
        std::fs::read(dir.path().join(".statevault/audit.log")).unwrap(),
        audit_before,
        "{bad}: nothing audited"
    );
}

#[test]
fn a_malformed_batch_line_rejects_the_whole_batch_with_exit_2() {
    for (bad, line, fragment) in [
        (
            r#"{"op":"save","key":"plugins.x","#,
            3,
            "not a batch operation",
        ),
        (r#"not json at all"#, 5, "not a batch operation"),
        (
            r#"{"op":"upsert","key":"plugins.x","data":1}"#,
            3,
            "unknown op",
        ),
        (r#"{"op":"save","key":"plugins.x"}"#, 4, "needs `data`"),
        (
            r#"{"op":"delete","key":"plugins.keep","data":1}"#,
            3,
            "takes no `data`",
        ),
        (
            r#"{"op":"save","key":"Plugins.X","data":1}"#,
            3,
            "invalid key",
        ),
        (r#"{"op":"delete","key":"../escape"}"#, 6, "invalid key"),
        (r#"{"op":"save","data":1}"#, 3, "key"),
        (
            r#"{"op":"save","key":"plugins.x","data":1,"extra":true}"#,
            3,
            "extra",
        ),
    ] {
        check_rejected_batch(bad, line, fragment);
    }
}

#[test]
fn an_invalid_value_in_a_batch_exits_4_names_its_line_and_writes_nothing() {
    let dir = store();
    set(dir.path(), "settings.preferences", &preferences());
    let prefs_file = dir.path().join("settings/preferences.json");
    let prefs_bytes = std::fs::read(&prefs_file).unwrap();
    let audit_before = audit_entries(dir.path());

    let mut neon = preferences();
    neon["theme"] = json!("neon");
    let lines = [
        json!({"op": "save", "key": "plugins.a", "data": {"a": 1}}),
        json!({"op": "save", "key": "layout.default", "data": layout()}),
        json!({"op": "save", "key": "settings.preferences", "data": neon}),
        json!({"op": "save", "key": "plugins.b", "data": {"b": 2}}),
    ]
    .map(|l| l.to_string());
    let run = Sv::new()
        .dir(dir.path())
        .args(["batch"])
        .stdin(lines.join("\n"))
        .run()
        .expect(4);
    assert!(run.stderr.contains("line 3"), "{run:?}");
    assert!(run.stderr.contains("/theme"), "{run:?}");
    assert!(run.stderr.contains("settings.preferences"), "{run:?}");
    for key in ["plugins.a", "layout.default", "plugins.b"] {
        sv(dir.path(), &["exists", key]).expect(3);
    }
    assert_eq!(std::fs::read(&prefs_file).unwrap(), prefs_bytes);
    assert_eq!(audit_entries(dir.path()), audit_before);
}

// ---------------------------------------------------------------------------------------------
// edit

/// A scripted `$EDITOR`. Call N keeps what it was shown as `seen.N` (and a copy of the file
/// named by `$WATCH`, the key's file in the store, as `watch.N`), then writes `reply.N` over the
/// file if there is one (else leaves it unchanged), and exits 1 if `fail.N` exists. Past five
/// calls it exits 1, so a CLI that reopens the editor forever still ends.
struct Editor {
    dir: tempfile::TempDir,
}

const EDITOR_SCRIPT: &str = r#"#!/bin/sh
d=$(dirname "$0")
n=$(( $(cat "$d/count" 2>/dev/null || echo 0) + 1 ))
echo "$n" > "$d/count"
cp "$1" "$d/seen.$n"
if [ -n "$WATCH" ] && [ -f "$WATCH" ]; then cp "$WATCH" "$d/watch.$n"; fi
if [ "$n" -gt 5 ]; then exit 1; fi
if [ -f "$d/reply.$n" ]; then cp "$d/reply.$n" "$1"; fi
if [ -f "$d/fail.$n" ]; then exit 1; fi
exit 0
"#;

impl Editor {
    fn new() -> Editor {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("editor.sh");
        std::fs::write(&script, EDITOR_SCRIPT).unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        Editor { dir }
    }

    /// What call `call` writes into the file.
    fn reply(&self, call: u32, text: &str) {
        std::fs::write(self.dir.path().join(format!("reply.{call}")), text).unwrap();
    }

    /// Makes call `call` exit 1.
    fn fail(&self, call: u32) {
        std::fs::write(self.dir.path().join(format!("fail.{call}")), "").unwrap();
    }

    fn calls(&self) -> u32 {
        std::fs::read_to_string(self.dir.path().join("count"))
            .map(|n| n.trim().parse().unwrap())
            .unwrap_or(0)
    }

    /// What the CLI showed on call `call`.
    fn seen(&self, call: u32) -> String {
        std::fs::read_to_string(self.dir.path().join(format!("seen.{call}"))).unwrap()
    }

    /// The key's file as it was on disk while call `call` was open.
    fn watched(&self, call: u32) -> Vec<u8> {
        std::fs::read(self.dir.path().join(format!("watch.{call}"))).unwrap()
    }

    /// `statevault --dir DIR ARGS…` with this editor; `watch` is the file the script copies.
    fn run(&self, dir: &Path, args: &[&str], watch: &Path) -> Run {
        // Through `sh` rather than exec'ing the fresh script: another test thread forking while
        // the script was being written could make exec fail with ETXTBSY. This also covers an
        // editor command with arguments ("code --wait"). VISUAL wins over EDITOR, and the
        // caller's shell may set it: both name the script.
        let editor = format!("sh {}", self.dir.path().join("editor.sh").display());
        Sv::new()
            .dir(dir)
            .env("EDITOR", &editor)
            .env("VISUAL", &editor)
            .env("WATCH", watch)
            .args(args)
            .run()
    }
}

fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap()
}

#[test]
fn edit_saves_a_valid_change() {
    let dir = store();
    set(dir.path(), "settings.preferences", &preferences());
    let file = dir.path().join("settings/preferences.json");
    let editor = Editor::new();
    let mut changed = preferences();
    changed["language"] = json!("fr-FR");
    editor.reply(1, &pretty(&changed));

    let run = editor
        .run(
            dir.path(),
            &["--json", "edit", "settings.preferences"],
            &file,
        )
        .expect(0);
    assert_eq!(
        run.json(),
        json!({"key": "settings.preferences", "saved": true})
    );
    assert_eq!(editor.calls(), 1);
    let shown = editor.seen(1);
    assert!(
        shown.starts_with("// Editing settings.preferences"),
        "{shown}"
    );
    assert!(
        shown.contains("\"de-CH\""),
        "the current value is shown: {shown}"
    );
    assert!(!shown.contains("ERROR"), "{shown}");
    assert_eq!(get(dir.path(), "settings.preferences"), changed);
    assert_eq!(
        audit_ops(dir.path()).last().unwrap(),
        &("save".to_owned(), "settings.preferences".to_owned())
    );

    // A key that does not exist yet starts from `null`, and text output names the key.
    let editor = Editor::new();
    editor.reply(1, r#"{"fresh": true}"#);
    let run = editor
        .run(
            dir.path(),
            &["edit", "plugins.fresh"],
            &dir.path().join("plugins/fresh.json"),
        )
        .expect(0);
    assert!(
        editor.seen(1).lines().any(|l| l == "null"),
        "{}",
        editor.seen(1)
    );
    assert_eq!(run.stdout.trim(), "plugins.fresh saved");
    assert_eq!(get(dir.path(), "plugins.fresh"), json!({"fresh": true}));
}

#[test]
fn edit_reopens_the_editor_with_a_json_syntax_error() {
    let dir = store();
    set(dir.path(), "settings.preferences", &preferences());
    let file = dir.path().join("settings/preferences.json");
    let original = std::fs::read(&file).unwrap();
    let editor = Editor::new();
    let broken = "{\n  \"theme\": \"light\",\n";
    editor.reply(1, broken);
    let mut fixed = preferences();
    fixed["theme"] = json!("light");
    editor.reply(2, &pretty(&fixed));

    let run = editor
        .run(
            dir.path(),
            &["--json", "edit", "settings.preferences"],
            &file,
        )
        .expect(0);
    assert_eq!(
        run.json(),
        json!({"key": "settings.preferences", "saved": true})
    );
    assert_eq!(editor.calls(), 2);
    let second = editor.seen(2);
    let errors: Vec<&str> = second
        .lines()
        .filter(|l| l.starts_with("// ERROR:"))
        .collect();
    assert!(!errors.is_empty(), "{second}");
    assert!(errors[0].contains("not valid JSON"), "{second}");
    // The user's broken text comes back to be fixed, not the original value.
    assert!(second.contains("\"theme\": \"light\","), "{second}");
    assert!(!second.contains("de-CH"), "{second}");
    // Nothing was saved while the editor was open again.
    assert_eq!(editor.watched(2), original);
    assert_eq!(get(dir.path(), "settings.preferences"), fixed);
}

#[test]
fn edit_reopens_the_editor_with_schema_violations() {
    let dir = store();
    set(dir.path(), "settings.preferences", &preferences());
    let file = dir.path().join("settings/preferences.json");
    let original = std::fs::read(&file).unwrap();
    let audit_before = audit_entries(dir.path()).len();
    let editor = Editor::new();
    let mut neon = preferences();
    neon["theme"] = json!("neon");
    neon["ui"]["gridDensity"] = json!("huge");
    editor.reply(1, &pretty(&neon));
    let mut light = preferences();
    light["theme"] = json!("light");
    editor.reply(2, &pretty(&light));

    editor
        .run(dir.path(), &["edit", "settings.preferences"], &file)
        .expect(0);
    assert_eq!(editor.calls(), 2);
    let second = editor.seen(2);
    let errors: Vec<&str> = second
        .lines()
        .filter(|l| l.starts_with("// ERROR:"))
        .collect();
    assert!(errors.iter().any(|l| l.contains("/theme")), "{second}");
    assert!(
        errors.iter().any(|l| l.contains("/ui/gridDensity")),
        "every violation is listed: {second}"
    );
    assert!(second.contains("\"neon\""), "the edit comes back: {second}");
    assert_eq!(
        editor.watched(2),
        original,
        "the invalid value was not saved"
    );
    assert_eq!(get(dir.path(), "settings.preferences"), light);
    // One save: the valid one.
    assert_eq!(audit_entries(dir.path()).len(), audit_before + 1);
}

#[test]
fn edit_left_unchanged_saves_nothing() {
    let dir = store();
    set(dir.path(), "settings.preferences", &preferences());
    let file = dir.path().join("settings/preferences.json");
    let original = std::fs::read(&file).unwrap();
    let audit_before = audit_entries(dir.path());

    let editor = Editor::new();
    let run = editor
        .run(
            dir.path(),
            &["--json", "edit", "settings.preferences"],
            &file,
        )
        .expect(0);
    assert_eq!(
        run.json(),
        json!({"key": "settings.preferences", "saved": false})
    );
    assert_eq!(editor.calls(), 1);
    let editor = Editor::new();
    let run = editor
        .run(dir.path(), &["edit", "settings.preferences"], &file)
        .expect(0);
    assert!(run.stdout.contains("nothing saved"), "{run:?}");
    // Emptied: cancelled too.
    let editor = Editor::new();
    editor.reply(1, "// only a comment\n\n");
    let run = editor
        .run(
            dir.path(),
            &["--json", "edit", "settings.preferences"],
            &file,
        )
        .expect(0);
    assert_eq!(run.json()["saved"], false);

    assert_eq!(std::fs::read(&file).unwrap(), original);
    assert_eq!(audit_entries(dir.path()), audit_before);
}

#[test]
fn edit_saves_nothing_when_the_editor_fails() {
    let dir = store();
    set(dir.path(), "settings.preferences", &preferences());
    let file = dir.path().join("settings/preferences.json");
    let original = std::fs::read(&file).unwrap();
    let editor = Editor::new();
    let mut changed = preferences();
    changed["language"] = json!("it");
    editor.reply(1, &pretty(&changed));
    editor.fail(1);
    let run = editor
        .run(dir.path(), &["edit", "settings.preferences"], &file)
        .expect(1);
    assert!(run.stderr.contains("nothing saved"), "{run:?}");
    assert_eq!(std::fs::read(&file).unwrap(), original);
}

/// The header promises "leave it unchanged … to cancel". After an invalid edit the user who
/// gives up and quits without touching the file must get out, not the editor again and again.
#[test]
fn edit_left_unchanged_after_an_error_cancels() {
    let dir = store();
    set(dir.path(), "settings.preferences", &preferences());
    let file = dir.path().join("settings/preferences.json");
    let original = std::fs::read(&file).unwrap();
    let editor = Editor::new();
    editor.reply(1, "{ not json");
    // Call 2 leaves the file (with its error comments) as it was shown.
    let run = editor.run(
        dir.path(),
        &["--json", "edit", "settings.preferences"],
        &file,
    );
    assert_eq!(
        editor.calls(),
        2,
        "the editor was reopened after an unchanged retry: {run:?}"
    );
    // Giving up is not success: the exit status says the value was not saved.
    let run = run.expect(4);
    assert_eq!(run.json()["saved"], false);
    assert!(
        run.json()["gave_up_on"]
            .as_str()
            .unwrap()
            .contains("not valid JSON")
    );
    assert_eq!(std::fs::read(&file).unwrap(), original);
}

/// `$EDITOR` is split as a shell splits it: a program in a folder with a space, quoted, and
/// arguments.
#[test]
fn edit_runs_an_editor_whose_path_has_spaces_and_arguments() {
    let dir = store();
    set(dir.path(), "settings.preferences", &preferences());
    let file = dir.path().join("settings/preferences.json");
    let editor = Editor::new();
    let spaced = editor.dir.path().join("My Editor");
    std::fs::create_dir(&spaced).unwrap();
    std::fs::copy(editor.dir.path().join("editor.sh"), spaced.join("edit.sh")).unwrap();
    let mut changed = preferences();
    changed["language"] = json!("fr");
    std::fs::write(spaced.join("reply.1"), pretty(&changed)).unwrap();
    let command = format!("sh '{}' ", spaced.join("edit.sh").display());
    Sv::new()
        .dir(dir.path())
        .env("EDITOR", &command)
        .env("VISUAL", &command)
        .env("WATCH", &file)
        .args(["edit", "settings.preferences"])
        .run()
        .expect(0);
    assert_eq!(get(dir.path(), "settings.preferences"), changed);
}

// ---------------------------------------------------------------------------------------------
// audit

/// A store with three audited changes: save a, save b, delete a.
fn audited_store() -> tempfile::TempDir {
    let dir = store();
    set(dir.path(), "plugins.a", &json!({"secret": "hunter2"}));
    set(dir.path(), "plugins.b", &json!([1, 2, 3]));
    sv(dir.path(), &["rm", "plugins.a"]).expect(0);
    dir
}

#[test]
fn audit_prints_every_change_and_never_a_value() {
    let dir = audited_store();
    let run = sv(dir.path(), &["audit"]).expect(0);
    let rows: Vec<Vec<&str>> = run
        .stdout
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(rows.len(), 3, "{run:?}");
    for (row, (seq, op, key)) in rows.iter().zip([
        ("1", "save", "plugins.a"),
        ("2", "save", "plugins.b"),
        ("3", "delete", "plugins.a"),
    ]) {
        assert_eq!((row[0], row[2], row[3]), (seq, op, key), "{run:?}");
    }

    let entries = audit_entries(dir.path());
    assert_eq!(entries.len(), 3);
    let b_size = file_size(&dir.path().join("plugins/b.json"));
    for (i, e) in entries.iter().enumerate() {
        assert_eq!(e["seq"], json!(i + 1), "{e}");
        assert_eq!(e["v"], 2, "{e}");
        for field in ["time", "op", "keys", "size", "checksum", "prev", "hash"] {
            assert!(e.get(field).is_some(), "{field} in {e}");
        }
        if i > 0 {
            assert_eq!(e["prev"], entries[i - 1]["hash"], "the chain links");
        }
    }
    // Each line carries the size and BLAKE3 of the journal record that committed it: more
    // than the value (the record's header, key and checksum), never the value itself.
    assert!(entries[1]["size"].as_u64().unwrap() > b_size);
    assert_eq!(entries[1]["checksum"].as_str().unwrap().len(), 71);
    assert!(
        entries[2]["size"].as_u64().unwrap() > 0,
        "a delete is a record too"
    );
    let log = std::fs::read_to_string(dir.path().join(".statevault/audit.log")).unwrap();
    assert!(!log.contains("hunter2"), "never values: {log}");
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

#[test]
fn audit_verify_passes_on_an_untouched_log() {
    let dir = audited_store();
    let run = sv(dir.path(), &["audit", "--verify"]).expect(0);
    assert_eq!(run.stdout.trim(), "3 entries, 0 problems", "{run:?}");
    assert_eq!(
        sv(dir.path(), &["--json", "audit", "--verify"])
            .expect(0)
            .json(),
        json!({"entries": 3, "problems": []})
    );
    // A store nobody changed has an empty, intact log.
    let empty = store();
    assert_eq!(
        sv(empty.path(), &["--json", "audit", "--verify"])
            .expect(0)
            .json(),
        json!({"entries": 0, "problems": []})
    );
}

/// Replaces the audit log's lines with `tamper(lines)`, checks that `audit --verify` exits 5
/// naming sequence `seq` with `detail` in its explanation, then puts the log back.
#[track_caller]
fn check_tampered(dir: &Path, what: &str, tamper: fn(&mut Vec<String>), seq: u64, detail: &str) {
    let path = dir.join(".statevault/audit.log");
    let original = std::fs::read_to_string(&path).unwrap();
    let mut lines: Vec<String> = original.lines().map(str::to_owned).collect();
    tamper(&mut lines);
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();

    let run = sv(dir, &["audit", "--verify"]).expect(5);
    let broken: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| l.starts_with("BROKEN"))
        .collect();
    assert!(
        broken
            .iter()
            .any(|l| l.starts_with(&format!("BROKEN at sequence {seq} ")) && l.contains(detail)),
        "{what}: {run:?}"
    );
    assert!(!run.stdout.contains(" 0 problems"), "{what}: {run:?}");
    let out = sv(dir, &["--json", "audit", "--verify"]).expect(5).json();
    let problems = out["problems"].as_array().unwrap();
    assert!(
        problems
            .iter()
            .any(|p| p["seq"] == seq && p["detail"].as_str().unwrap().contains(detail)),
        "{what}: {out}"
    );
    assert!(
        problems
            .iter()
            .all(|p| p["file"].as_str().unwrap().contains("audit.log")),
        "{what}: {out}"
    );
    // Printing the log (without --verify) still works and shows the break.
    let run = sv(dir, &["audit"]).expect(0);
    assert!(run.stdout.contains("BROKEN"), "{what}: {run:?}");

    std::fs::write(&path, original).unwrap();
    sv(dir, &["audit", "--verify"]).expect(0);
}

#[test]
fn a_tampered_audit_log_exits_5_naming_the_sequence_number() {
    let dir = audited_store();
    check_tampered(
        dir.path(),
        "an op changed",
        |lines| lines[1] = lines[1].replace(r#""op":"save""#, r#""op":"delete""#),
        2,
        "edited",
    );
    check_tampered(
        dir.path(),
        "a size changed",
        |lines| {
            let at = lines[0].find(r#""size":"#).unwrap() + r#""size":"#.len();
            let end = at + lines[0][at..].find(',').unwrap();
            let size: u64 = lines[0][at..end].parse().unwrap();
            lines[0].replace_range(at..end, &(size + 1).to_string());
        },
        1,
        "edited",
    );
    check_tampered(
        dir.path(),
        "a key changed",
        |lines| lines[2] = lines[2].replace("plugins.a", "plugins.z"),
        3,
        "edited",
    );
    check_tampered(
        dir.path(),
        "the middle line removed",
        |lines| {
            lines.remove(1);
        },
        3,
        "2 was expected",
    );
    check_tampered(
        dir.path(),
        "the first line removed",
        |lines| {
            lines.remove(0);
        },
        2,
        "1 was expected",
    );
    check_tampered(
        dir.path(),
        "two lines swapped",
        |lines| lines.swap(1, 2),
        3,
        "2 was expected",
    );
    check_tampered(
        dir.path(),
        "a line replaced by garbage",
        |lines| lines[1] = "{\"seq\": 2, garbage".to_owned(),
        2,
        "unreadable",
    );
}

// ---------------------------------------------------------------------------------------------
// stats

/// A size under 1 MiB as the text output shows it: number and unit.
fn human(bytes: u64) -> [String; 2] {
    assert!(bytes < 1 << 20, "the fixtures are small: {bytes}");
    if bytes < 1024 {
        [bytes.to_string(), "B".to_owned()]
    } else {
        [format!("{:.1}", bytes as f64 / 1024.0), "KiB".to_owned()]
    }
}

#[test]
fn stats_counts_keys_bytes_and_formats() {
    let dir = store();
    let key = base64(&[0x5A; 32]);
    let with_key = |args: &[&str], value: &Value| {
        Sv::new()
            .dir(dir.path())
            .env("STATEVAULT_KEY", &key)
            .args(args)
            .stdin(value.to_string())
            .run()
            .expect(0);
    };
    with_key(&["set", "settings.preferences"], &preferences());
    with_key(&["set", "--encrypt", "history.conversations"], &history());
    with_key(
        &["set", "--compress", "history.conversations.x1"],
        &history(),
    );
    with_key(
        &["set", "--encrypt", "--compress", "plugins.both"],
        &json!({"pad": "x".repeat(500)}),
    );
    with_key(&["set", "plugins.plain"], &json!(1));

    let files = key_files(dir.path());
    assert_eq!(files.len(), 5);
    let bytes_of = |ns: &str| -> u64 {
        files
            .iter()
            .filter(|(k, _)| k.split('.').next() == Some(ns))
            .map(|(_, p)| file_size(p))
            .sum()
    };
    let total: u64 = files.iter().map(|(_, p)| file_size(p)).sum();

    let out = sv(dir.path(), &["--json", "stats"]).expect(0).json();
    assert_eq!(out["keys"], 5, "{out}");
    assert_eq!(out["bytes"], total, "{out}");
    assert_eq!(out["encrypted"], 2, "{out}");
    assert_eq!(out["compressed"], 2, "{out}");
    assert_eq!(out["legacy"], 0, "{out}");
    assert_eq!(out["damaged"], 0, "{out}");
    assert!(
        out["last_save"].as_u64().unwrap() > 1_700_000_000_000,
        "{out}"
    );
    assert_eq!(
        out["namespaces"],
        json!({
            "history": {"keys": 2, "bytes": bytes_of("history")},
            "plugins": {"keys": 2, "bytes": bytes_of("plugins")},
            "settings": {"keys": 1, "bytes": bytes_of("settings")},
        })
    );

    let run = sv(dir.path(), &["stats"]).expect(0);
    let row = |name: &str| -> Vec<String> {
        run.stdout
            .lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("{name}: {run:?}"))
            .split_whitespace()
            .map(str::to_owned)
            .collect()
    };
    // Text output is for people: sizes in B, KiB, MiB (the raw bytes are in --json).
    let [size, unit] = human(bytes_of("history"));
    assert_eq!(row("history"), ["history", "2", &size, &unit]);
    let [size, unit] = human(total);
    assert_eq!(row("total"), ["total", "5", &size, &unit]);
    assert!(
        run.stdout
            .contains("encrypted 2, compressed 2, legacy 0, damaged 0"),
        "{run:?}"
    );

    let run = sv(dir.path(), &["stats", "--format", "prometheus"]).expect(0);
    let text = &run.stdout;
    assert!(
        text.lines()
            .any(|l| l == format!("state_persistence_storage_size_bytes {total}")),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l == "# TYPE state_persistence_storage_size_bytes gauge"),
        "{text}"
    );
    assert!(
        text.lines().any(|l| l
            == format!(
                "state_persistence_namespace_size_bytes{{namespace=\"plugins\"}} {}",
                bytes_of("plugins")
            )),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l == "state_persistence_files{format=\"encrypted\"} 2"),
        "{text}"
    );
    // The exposition format: every sample's metric has a # TYPE line before it, and every
    // sample is `name{labels} integer`.
    let mut typed = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            typed.push(rest.split_whitespace().next().unwrap().to_owned());
        } else if !line.starts_with('#') {
            let (name, value) = line.rsplit_once(' ').unwrap();
            let name = name.split('{').next().unwrap();
            assert!(
                typed.iter().any(|t| t == name),
                "{line} has no # TYPE: {text}"
            );
            assert!(
                name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{line}"
            );
            value
                .parse::<u64>()
                .unwrap_or_else(|e| panic!("{line}: {e}"));
        }
    }

    // A damaged file is counted; its bytes still are.
    flip_letter_in_data(&dir.path().join("settings/preferences.json"), "Ctrl+B");
    let out = sv(dir.path(), &["--json", "stats"]).expect(0).json();
    assert_eq!(out["damaged"], 1, "{out}");
    assert_eq!(out["bytes"], total, "{out}");
    let run = sv(dir.path(), &["stats", "--format", "prometheus"]).expect(0);
    assert!(
        run.stdout
            .lines()
            .any(|l| l == "state_persistence_damaged_files 1"),
        "{run:?}"
    );
}

/// `stats` reports the snapshot count and space too: the space is the objects on disk,
/// each distinct content once.
#[test]
fn stats_reports_snapshot_count_and_space() {
    let dir = store();
    let empty = sv(dir.path(), &["--json", "stats"]).expect(0).json();
    assert_eq!(empty["snapshots"], 0, "{empty}");
    assert_eq!(empty["snapshot_bytes"], 0, "{empty}");

    set(dir.path(), "settings.preferences", &preferences());
    sv(dir.path(), &["backup", "create", "--name", "one"]).expect(0);
    set(dir.path(), "plugins.more", &json!({"more": true}));
    sv(dir.path(), &["backup", "create", "--name", "two"]).expect(0);
    let objects: u64 = walk(&dir.path().join("backups/objects"))
        .iter()
        .map(|p| file_size(p))
        .sum();
    let listed = sv(dir.path(), &["--json", "backup", "ls"]).expect(0).json();
    let logical: u64 = listed["backups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["size"].as_u64().unwrap())
        .sum();
    assert!(objects < logical, "the unchanged file is stored once");

    let out = sv(dir.path(), &["--json", "stats"]).expect(0).json();
    assert_eq!(out["snapshots"], 2, "{out}");
    assert_eq!(out["snapshot_bytes"], objects, "{out}");
    let run = sv(dir.path(), &["stats"]).expect(0);
    assert!(
        run.stdout
            .contains(&format!("snapshots: 2, {objects} B of objects")),
        "{run:?}"
    );
    let run = sv(dir.path(), &["stats", "--format", "prometheus"]).expect(0);
    for line in [
        "state_persistence_snapshots 2".to_owned(),
        format!("state_persistence_snapshot_size_bytes {objects}"),
    ] {
        assert!(run.stdout.lines().any(|l| l == line), "{line}: {run:?}");
    }
}

#[test]
fn stats_counts_the_batches_a_running_application_has_not_checkpointed_yet() {
    let dir = store();
    // The application, holding the store, commits two batches; the CLI runs beside it.
    let app = Store::open(dir.path()).unwrap();
    for n in 0..2 {
        let mut batch = statevault::Batch::new();
        batch.save("plugins.a", &json!({ "n": n })).unwrap();
        batch.save("plugins.b", &json!({ "n": n })).unwrap();
        app.save_batch(batch).unwrap();
    }
    let out = sv(dir.path(), &["--json", "stats"]).expect(0).json();
    assert_eq!(out["journal_batches"], 2, "{out}");
    assert_eq!(out["keys"], 2, "the pending keys are counted: {out}");
    let run = sv(dir.path(), &["stats", "--format", "prometheus"]).expect(0);
    assert!(
        run.stdout
            .lines()
            .any(|l| l == "state_persistence_journal_batches 2"),
        "{run:?}"
    );
    drop(app);
    let out = sv(dir.path(), &["--json", "stats"]).expect(0).json();
    assert_eq!(out["journal_batches"], 0, "closed, checkpointed: {out}");
    let run = sv(dir.path(), &["stats"]).expect(0);
    assert!(
        run.stdout
            .contains("journal: 0 batches not yet checkpointed"),
        "{run:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// migrate

#[test]
fn migrate_rewrites_a_legacy_file_after_an_automatic_backup() {
    let dir = store();
    let path = dir.path().join("layouts/default.json");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    // As the TypeScript service wrote it: pretty, no trailing newline.
    let legacy = json!({"version": "1.0.0", "timestamp": 1732000000000u64, "data": layout()});
    std::fs::write(&path, serde_json::to_string_pretty(&legacy).unwrap()).unwrap();
    let legacy_bytes = std::fs::read(&path).unwrap();

    let out = sv(dir.path(), &["--json", "migrate", "--dry-run"])
        .expect(0)
        .json();
    assert_eq!(out["dry_run"], true);
    assert_eq!(
        out["keys"],
        json!([{"key": "layout.default", "format": "legacy", "from": "1.0.0", "to": "1.0.0",
                "steps": [], "outcome": "would_migrate"}])
    );
    let run = sv(dir.path(), &["migrate", "--dry-run", "layout.default"]).expect(0);
    assert!(run.stdout.contains("layout.default (legacy)"), "{run:?}");
    assert!(run.stdout.contains("would migrate"), "{run:?}");
    assert_eq!(
        std::fs::read(&path).unwrap(),
        legacy_bytes,
        "a dry run writes nothing"
    );
    assert_eq!(
        sv(dir.path(), &["--json", "backup", "ls"]).expect(0).json(),
        json!({"backups": []}),
        "a dry run takes no backup"
    );

    let out = sv(dir.path(), &["--json", "migrate"]).expect(0).json();
    assert_eq!(out["dry_run"], false);
    assert_eq!(out["keys"][0]["key"], "layout.default");
    assert_eq!(out["keys"][0]["outcome"], "migrated", "{out}");
    let rewritten = std::fs::read(&path).unwrap();
    assert!(
        rewritten.starts_with(br#"{"statevault":1"#),
        "{}",
        String::from_utf8_lossy(&rewritten)
    );
    assert_eq!(get(dir.path(), "layout.default"), layout());
    sv(dir.path(), &["verify"]).expect(0);

    // Again: nothing left to do, nothing written, no second backup.
    let run = sv(dir.path(), &["migrate"]).expect(0);
    assert!(
        run.stdout
            .contains("layout.default (plain) 1.0.0 -> 1.0.0: up to date"),
        "{run:?}"
    );
    assert_eq!(std::fs::read(&path).unwrap(), rewritten);

    let backups = sv(dir.path(), &["--json", "backup", "ls"]).expect(0).json();
    let backups = backups["backups"].as_array().unwrap();
    assert_eq!(backups.len(), 1, "{backups:?}");
    assert_eq!(backups[0]["kind"], "auto");
    assert_eq!(backups[0]["file_count"], 1);
    let id = backups[0]["id"].as_str().unwrap();
    sv(dir.path(), &["backup", "verify", id]).expect(0);
    // The snapshot holds the legacy original: restoring it brings the legacy bytes back.
    sv(dir.path(), &["backup", "restore", id]).expect(0);
    assert_eq!(std::fs::read(&path).unwrap(), legacy_bytes);
    assert!(
        audit_ops(dir.path()).contains(&("migrate".to_owned(), "layout.default".to_owned())),
        "the rewrite is audited"
    );
}

#[test]
fn migrate_a_missing_key_exits_3() {
    let dir = store();
    set(dir.path(), "plugins.here", &json!(1));
    let run = sv(dir.path(), &["migrate", "nope.key"]).expect(3);
    assert!(run.stderr.contains("nope.key"), "{run:?}");
    sv(dir.path(), &["--json", "migrate", "--dry-run", "nope.key"]).expect(3);
    sv(dir.path(), &["migrate", "Not/A Key"]).expect(2);
    // A current store: every key up to date.
    let out = sv(dir.path(), &["--json", "migrate"]).expect(0).json();
    assert_eq!(out["keys"][0]["outcome"], "up_to_date", "{out}");
}

// ---------------------------------------------------------------------------------------------
// quota

#[test]
fn a_set_past_the_quota_exits_7_and_writes_nothing() {
    let dir = store();
    set(dir.path(), "plugins.a", &json!({"v": 1}));
    let a = dir.path().join("plugins/a.json");
    let size = file_size(&a);
    let audit_before = audit_entries(dir.path());
    let quota = (size + 10).to_string();

    let run = Sv::new()
        .dir(dir.path())
        .args(["--json", "--quota-bytes", &quota, "set", "plugins.b"])
        .stdin(json!({"v": 2}).to_string())
        .run()
        .expect(7);
    assert!(run.stderr.contains("quota"), "{run:?}");
    assert!(run.stderr.contains("plugins.b"), "{run:?}");
    let error = &run.json()["error"];
    assert_eq!(error["code"], "E_QUOTA", "{run:?}");
    assert_eq!(error["key"], "plugins.b", "{run:?}");
    assert!(!dir.path().join("plugins/b.json").exists());
    assert_eq!(audit_entries(dir.path()), audit_before);
    // Without the quota the same set goes through.
    set(dir.path(), "plugins.b", &json!({"v": 2}));

    // Overwriting counts the old bytes out: a same-size value fits a quota the store is at.
    let quota = (size * 2).to_string();
    Sv::new()
        .dir(dir.path())
        .args(["--quota-bytes", &quota, "set", "plugins.a"])
        .stdin(json!({"v": 3}).to_string())
        .run()
        .expect(0);
    assert_eq!(get(dir.path(), "plugins.a"), json!({"v": 3}));
    // One byte less and it does not.
    let quota = (size * 2 - 1).to_string();
    Sv::new()
        .dir(dir.path())
        .args(["--quota-bytes", &quota, "set", "plugins.a"])
        .stdin(json!({"v": 4}).to_string())
        .run()
        .expect(7);
    assert_eq!(get(dir.path(), "plugins.a"), json!({"v": 3}));
}

#[test]
fn a_batch_past_the_quota_exits_7_and_writes_nothing() {
    let dir = store();
    set(dir.path(), "plugins.a", &json!({"v": 1}));
    let size = file_size(&dir.path().join("plugins/a.json"));
    let audit_before = audit_entries(dir.path());
    let quota = (size + 50).to_string();

    let lines = [
        json!({"op": "delete", "key": "plugins.a"}),
        json!({"op": "save", "key": "plugins.b", "data": {"v": 2}}),
        json!({"op": "save", "key": "plugins.c", "data": {"v": 3}}),
    ]
    .map(|l| l.to_string());
    let run = Sv::new()
        .dir(dir.path())
        .args(["--quota-bytes", &quota, "batch"])
        .stdin(lines.join("\n"))
        .run()
        .expect(7);
    assert!(run.stderr.contains("quota"), "{run:?}");
    assert_eq!(
        get(dir.path(), "plugins.a"),
        json!({"v": 1}),
        "the delete was not applied"
    );
    sv(dir.path(), &["exists", "plugins.b"]).expect(3);
    sv(dir.path(), &["exists", "plugins.c"]).expect(3);
    assert_eq!(audit_entries(dir.path()), audit_before);

    // The batch's deletes make room for its saves.
    let run = Sv::new()
        .dir(dir.path())
        .args(["--json", "--quota-bytes", &quota, "batch"])
        .stdin(lines[..2].join("\n"))
        .run()
        .expect(0);
    assert_eq!(run.json(), json!({"applied": 2}));
    sv(dir.path(), &["exists", "plugins.a"]).expect(3);
    assert_eq!(get(dir.path(), "plugins.b"), json!({"v": 2}));
}

// ---------------------------------------------------------------------------------------------
// completions, repair, exists, rm

#[test]
fn completions_for_each_shell() {
    for (shell, marker) in [
        ("bash", "complete "),
        ("zsh", "#compdef statevault"),
        ("fish", "complete -c statevault"),
    ] {
        let run = Sv::new().args(["completions", shell]).run().expect(0);
        assert!(!run.stdout.is_empty(), "{shell}");
        assert!(run.stdout.contains("statevault"), "{shell}: {run:?}");
        assert!(run.stdout.contains(marker), "{shell}: {marker}");
        for command in ["migrate", "audit", "batch", "repair"] {
            assert!(run.stdout.contains(command), "{shell} completes {command}");
        }
        assert_eq!(run.stderr, "", "{shell}");
    }
    let run = Sv::new().args(["completions", "tcsh"]).run().expect(2);
    assert!(run.stderr.contains("tcsh"), "{run:?}");
    Sv::new().args(["completions"]).run().expect(2);
}

#[test]
fn repair_exists_and_rm_on_a_healthy_store() {
    let dir = store();
    set(dir.path(), "settings.preferences", &preferences());
    set(dir.path(), "plugins.a", &json!(1));
    let prefs = std::fs::read(dir.path().join("settings/preferences.json")).unwrap();

    let run = sv(dir.path(), &["repair"]).expect(0);
    assert!(
        run.stdout
            .contains("0 stray temp files removed; 0 journal records"),
        "{run:?}"
    );
    assert_eq!(
        sv(dir.path(), &["--json", "repair", "--dry-run"])
            .expect(0)
            .json(),
        json!({"dry_run": true, "journal_records": 0, "stray_temp_files": 0, "keys": []})
    );
    assert_eq!(
        sv(dir.path(), &["--json", "repair"]).expect(0).json()["keys"],
        json!([])
    );
    assert_eq!(
        std::fs::read(dir.path().join("settings/preferences.json")).unwrap(),
        prefs,
        "a healthy key is left alone"
    );
    assert_eq!(
        sv(dir.path(), &["--json", "backup", "ls"]).expect(0).json(),
        json!({"backups": []}),
        "nothing to repair: no snapshot taken"
    );

    sv(dir.path(), &["exists", "plugins.a"]).expect(0);
    sv(dir.path(), &["exists", "plugins.nope"]).expect(3);
    let run = sv(dir.path(), &["rm", "plugins.nope"]).expect(3);
    assert!(run.stderr.contains("plugins.nope"), "{run:?}");
    sv(dir.path(), &["rm", "plugins.a"]).expect(0);
    sv(dir.path(), &["--json", "rm", "plugins.a"]).expect(3);
    sv(dir.path(), &["exists", "plugins.a"]).expect(3);
}
