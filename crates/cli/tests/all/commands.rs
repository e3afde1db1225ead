//! Every command, in text and in `--json`, with `--dir` and with `STATEVAULT_DIR`.

use serde_json::{Value, json};

use super::common::{Sv, history, json_file, key_status, preferences, store, sv};

#[test]
fn init_creates_a_store_and_says_where() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("state");
    let run = sv(&root, &["init"]).expect(0);
    assert!(run.stdout.contains("ready at"), "{run:?}");
    assert!(run.stdout.contains(&root.display().to_string()), "{run:?}");
    assert!(root.join(".statevault/store.json").is_file());
    // Again, in JSON: an existing store is checked, not recreated.
    let run = sv(&root, &["--json", "init"]).expect(0);
    let out = run.json();
    assert_eq!(out["dir"], json!(root.display().to_string()));
    let id = out["store_id"].as_str().unwrap();
    assert!(
        id.len() >= 16 && id.bytes().all(|b| b.is_ascii_hexdigit()),
        "{id}"
    );
    assert!(!run.stdout.is_empty() && !run.stdout.contains("ready at"));
    let again = sv(&root, &["--json", "init"]).expect(0).json();
    assert_eq!(again["store_id"], out["store_id"]);
}

#[test]
fn set_and_get_from_a_file_and_from_standard_input() {
    let dir = store();
    let input = tempfile::tempdir().unwrap();
    let file = json_file(input.path(), "prefs.json", &preferences());
    let run = sv(dir.path(), &["set", "settings.preferences", &file]).expect(0);
    assert_eq!(run.stdout, "", "a text set is quiet");
    let run = sv(dir.path(), &["get", "settings.preferences"]).expect(0);
    assert_eq!(
        serde_json::from_str::<Value>(&run.stdout).unwrap(),
        preferences()
    );
    assert!(
        run.stdout.lines().count() > 1,
        "text output is pretty-printed"
    );
    assert_eq!(
        sv(dir.path(), &["--json", "get", "settings.preferences"])
            .expect(0)
            .json(),
        preferences()
    );

    // Standard input, explicitly with `-` and by default.
    let run = Sv::new()
        .dir(dir.path())
        .args(["--json", "set", "plugins.demo", "-"])
        .stdin(r#"{"a": [1, 2, {"b": null}], "ü": "✓"}"#)
        .run()
        .expect(0);
    assert_eq!(run.json(), json!({"key": "plugins.demo", "saved": true}));
    Sv::new()
        .dir(dir.path())
        .args(["set", "plugins.other"])
        .stdin("42")
        .run()
        .expect(0);
    assert_eq!(
        sv(dir.path(), &["--json", "get", "plugins.demo"])
            .expect(0)
            .json(),
        json!({"a": [1, 2, {"b": null}], "ü": "✓"})
    );
    assert_eq!(
        sv(dir.path(), &["--json", "get", "plugins.other"])
            .expect(0)
            .json(),
        json!(42)
    );
    // What the CLI wrote, the library reads.
    let lib = statevault::Store::open(dir.path()).unwrap();
    assert_eq!(
        lib.load::<statevault::schema::UserPreferencesState>("settings.preferences")
            .unwrap()
            .unwrap()
            .language,
        "de-CH"
    );
}

#[test]
fn rm_exists_and_ls() {
    let dir = store();
    let input = tempfile::tempdir().unwrap();
    for key in [
        "plugins.a",
        "plugins.b",
        "history.conversations",
        "history.conversations.x1",
    ] {
        let value = if key.starts_with("history") {
            history()
        } else {
            json!({"k": key})
        };
        let file = json_file(input.path(), "v.json", &value);
        sv(dir.path(), &["set", key, &file]).expect(0);
    }

    let run = sv(dir.path(), &["ls"]).expect(0);
    assert_eq!(
        run.stdout.lines().collect::<Vec<_>>(),
        [
            "history.conversations",
            "history.conversations.x1",
            "plugins.a",
            "plugins.b"
        ]
    );
    assert_eq!(
        sv(dir.path(), &["--json", "ls", "plugins."])
            .expect(0)
            .json(),
        json!({"keys": ["plugins.a", "plugins.b"]})
    );
    assert_eq!(
        sv(dir.path(), &["--json", "ls", "nothing"])
            .expect(0)
            .json(),
        json!({"keys": []})
    );

    let run = sv(dir.path(), &["exists", "plugins.a"]).expect(0);
    assert_eq!(run.stdout.trim(), "yes");
    assert_eq!(
        sv(dir.path(), &["--json", "exists", "plugins.a"])
            .expect(0)
            .json(),
        json!({"key": "plugins.a", "exists": true})
    );

    assert_eq!(sv(dir.path(), &["rm", "plugins.a"]).expect(0).stdout, "");
    assert_eq!(
        sv(dir.path(), &["--json", "rm", "plugins.b"])
            .expect(0)
            .json(),
        json!({"key": "plugins.b", "deleted": true})
    );
    let run = sv(dir.path(), &["exists", "plugins.a"]).expect(3);
    assert_eq!(run.stdout.trim(), "no");
    assert_eq!(
        sv(dir.path(), &["--json", "exists", "plugins.b"])
            .expect(3)
            .json(),
        json!({"key": "plugins.b", "exists": false})
    );
    assert_eq!(
        sv(dir.path(), &["--json", "ls"]).expect(0).json(),
        json!({"keys": ["history.conversations", "history.conversations.x1"]})
    );
}

#[test]
fn verify_a_healthy_store() {
    let dir = store();
    let input = tempfile::tempdir().unwrap();
    let file = json_file(input.path(), "p.json", &preferences());
    sv(dir.path(), &["set", "settings.preferences", &file]).expect(0);
    let file = json_file(input.path(), "h.json", &history());
    sv(
        dir.path(),
        &["set", "--compress", "history.conversations", &file],
    )
    .expect(0);
    let run = sv(dir.path(), &["verify"]).expect(0);
    assert!(
        run.stdout.contains("2 keys checked, 0 with problems"),
        "{run:?}"
    );
    let out = sv(dir.path(), &["--json", "verify"]).expect(0).json();
    assert_eq!(out["checked"], 2);
    assert_eq!(out["problems"], 0);
    assert_eq!(
        key_status(&out, "history.conversations"),
        json!({"key": "history.conversations", "status": "ok", "format": "compressed"})
    );
    assert_eq!(
        key_status(&out, "settings.preferences"),
        json!({"key": "settings.preferences", "status": "ok", "format": "plain"})
    );
}

#[test]
fn the_folder_comes_from_statevault_dir_or_dir() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    Sv::new()
        .env("STATEVAULT_DIR", a.path())
        .args(["set", "plugins.where"])
        .stdin(r#""in a""#)
        .run()
        .expect(0);
    assert!(a.path().join("plugins/where.json").is_file());
    let run = Sv::new()
        .env("STATEVAULT_DIR", a.path())
        .args(["--json", "get", "plugins.where"])
        .run()
        .expect(0);
    assert_eq!(run.json(), json!("in a"));
    // `--dir` wins over the environment.
    Sv::new()
        .env("STATEVAULT_DIR", a.path())
        .dir(b.path())
        .args(["set", "plugins.where"])
        .stdin(r#""in b""#)
        .run()
        .expect(0);
    assert_eq!(
        sv(b.path(), &["--json", "get", "plugins.where"])
            .expect(0)
            .json(),
        json!("in b")
    );
    assert_eq!(
        sv(a.path(), &["--json", "get", "plugins.where"])
            .expect(0)
            .json(),
        json!("in a")
    );
    // `--dir` after the subcommand works too (it is global).
    assert_eq!(
        Sv::new()
            .args(["--json", "get", "plugins.where", "--dir"])
            .args([b.path()])
            .run()
            .expect(0)
            .json(),
        json!("in b")
    );
    // Neither: a usage error that says what to do.
    let run = Sv::new().args(["ls"]).run().expect(2);
    assert!(run.stderr.contains("STATEVAULT_DIR"), "{run:?}");
    assert!(run.stderr.contains("--dir"), "{run:?}");
}

#[test]
fn schema_ls_lists_the_builtin_documents() {
    let run = Sv::new().args(["schema", "ls"]).run().expect(0);
    for (pattern, document) in [
        ("layout.*", "GridLayoutState"),
        ("settings.preferences", "UserPreferencesState"),
        ("history.conversations", "ConversationHistoryState"),
        ("history.conversations.*", "ConversationHistoryState"),
        ("config.app", "AppConfig"),
        ("settings.themes", "ThemesState"),
        ("settings.keybindings", "KeybindingsState"),
        ("config.environment", "EnvironmentConfig"),
        ("history.contexts.*", "ConversationContext"),
    ] {
        assert!(
            run.stdout
                .lines()
                .any(|l| l.split_whitespace().collect::<Vec<_>>() == [pattern, document, "1.0.0"]),
            "{pattern} {document}: {}",
            run.stdout
        );
    }
    let out = Sv::new()
        .args(["--json", "schema", "ls"])
        .run()
        .expect(0)
        .json();
    let rows = out["documents"].as_array().unwrap();
    assert_eq!(rows.len(), 9);
    assert!(rows.contains(&json!({"pattern": "settings.preferences", "document": "UserPreferencesState", "version": "1.0.0"})));
}

#[test]
fn schema_export_writes_the_schemas_and_with_ts_the_declarations() {
    let out = tempfile::tempdir().unwrap();
    let schemas = out.path().join("schemas");
    let run = Sv::new()
        .args(["--json", "schema", "export", "--out"])
        .args([&schemas])
        .run()
        .expect(0);
    let written: Vec<String> = run.json()["written"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap().to_owned())
        .collect();
    for name in [
        "GridLayoutState.schema.json",
        "UserPreferencesState.schema.json",
        "ConversationHistoryState.schema.json",
        "AppConfig.schema.json",
        "ThemesState.schema.json",
        "KeybindingsState.schema.json",
        "ConversationContext.schema.json",
        "EnvironmentConfig.schema.json",
    ] {
        let path = schemas.join(name);
        assert!(
            written.contains(&path.display().to_string()),
            "{name}: {written:?}"
        );
        let schema: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        assert!(schema.is_object(), "{name}");
    }
    assert!(written.iter().all(|p| !p.ends_with(".d.ts")), "{written:?}");
    let prefs: Value = serde_json::from_slice(
        &std::fs::read(schemas.join("UserPreferencesState.schema.json")).unwrap(),
    )
    .unwrap();
    let text = prefs.to_string();
    assert!(
        text.contains("spacious") && !text.contains("neon"),
        "{text}"
    );

    let ts = out.path().join("ts");
    let run = Sv::new()
        .args(["schema", "export", "--ts", "--out"])
        .args([&ts])
        .run()
        .expect(0);
    let dts: Vec<_> = std::fs::read_dir(&ts)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".d.ts"))
        .collect();
    assert!(!dts.is_empty(), "{run:?}");
    let text: String = dts
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect();
    assert!(text.contains("UserPreferencesState"), "{text}");
    assert!(text.contains("export type Theme ="), "{text}");
    for theme in ["\"dark\"", "\"light\"", "\"auto\""] {
        assert!(text.contains(theme), "{theme}");
    }
    assert!(text.contains("interface StatePersistenceAPI"), "{text}");
    for path in &dts {
        assert!(run.stdout.contains(&path.display().to_string()), "{run:?}");
    }
}

/// The subcommands `help_text` lists under `Commands:` (clap's layout), without `help`.
fn subcommands(help_text: &str) -> Vec<String> {
    help_text
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_owned)
        .collect()
}

#[test]
fn every_command_has_help_with_an_example() {
    let top = Sv::new().args(["--help"]).run().expect(0);
    // The top-level help also says what the exit codes mean.
    assert!(top.stdout.contains("Exit codes"), "{}", top.stdout);
    assert!(top.stdout.contains("6 locked"), "{}", top.stdout);
    let commands = subcommands(&top.stdout);
    for expected in [
        "init", "set", "get", "rm", "exists", "ls", "verify", "key", "schema",
    ] {
        assert!(
            commands.iter().any(|c| c == expected),
            "{expected} in {commands:?}"
        );
    }
    // Walk every command, and the commands of each group (`key init`, `schema export`, …).
    let mut pending: Vec<Vec<String>> = commands.into_iter().map(|c| vec![c]).collect();
    let mut checked = Vec::new();
    while let Some(path) = pending.pop() {
        let run = Sv::new().args(&path).arg_help().run();
        assert_eq!(run.code, 0, "{path:?}: {run:?}");
        let nested = subcommands(&run.stdout);
        if nested.is_empty() {
            assert!(
                run.stdout.contains("Example"),
                "`statevault {} --help` has no example:\n{}",
                path.join(" "),
                run.stdout
            );
            checked.push(path.join(" "));
        } else {
            for sub in nested {
                let mut longer = path.clone();
                longer.push(sub);
                pending.push(longer);
            }
        }
    }
    for expected in [
        "key init",
        "key rotate",
        "key ls",
        "schema ls",
        "schema export",
    ] {
        assert!(
            checked.iter().any(|c| c == expected),
            "{expected} in {checked:?}"
        );
    }
}
