//! The exit codes of the README and `docs/ARCHITECTURE.md`, each provoked for real.

use serde_json::json;
use statevault::Store;

use super::common::{
    Sv, base64, flip_letter_in_data, history, json_file, key_status, preferences, store, sv,
};

#[test]
fn usage_errors_exit_2_and_say_why() {
    let dir = store();
    // A key that could escape the folder.
    let run = Sv::new()
        .dir(dir.path())
        .args(["set", "../x"])
        .stdin("{}")
        .run()
        .expect(2);
    assert!(run.stderr.contains("../x"), "{run:?}");
    assert!(run.stderr.contains("invalid key"), "{run:?}");
    assert!(!dir.path().parent().unwrap().join("x.json").exists());
    for args in [
        ["get", "../x"],
        ["rm", "/etc/passwd"],
        ["exists", "Layout.default"],
    ] {
        let run = sv(dir.path(), &args).expect(2);
        assert!(run.stderr.contains("invalid key"), "{args:?}: {run:?}");
    }
    // An unknown command, and a missing argument.
    let run = sv(dir.path(), &["frobnicate"]).expect(2);
    assert!(run.stderr.contains("frobnicate"), "{run:?}");
    sv(dir.path(), &["get"]).expect(2);
    sv(dir.path(), &["key", "explode"]).expect(2);
}

#[test]
fn a_missing_key_exits_3() {
    let dir = store();
    for command in ["get", "rm", "exists"] {
        let run = sv(dir.path(), &[command, "layout.nothing"]);
        assert_eq!(run.code, 3, "{command}: {run:?}");
        if command != "exists" {
            assert!(run.stderr.contains("layout.nothing"), "{command}: {run:?}");
        }
    }
    // With --json the error is also one JSON document on stdout.
    let run = sv(dir.path(), &["--json", "get", "layout.nothing"]).expect(3);
    assert_eq!(run.json()["error"]["code"], "E_NOT_FOUND", "{run:?}");
}

#[test]
fn an_invalid_registered_value_exits_4_and_lists_the_pointers() {
    let dir = store();
    let input = tempfile::tempdir().unwrap();
    let mut neon = preferences();
    neon["theme"] = json!("neon");
    let file = json_file(input.path(), "neon.json", &neon);
    let run = sv(dir.path(), &["set", "settings.preferences", &file]).expect(4);
    assert!(run.stderr.contains("/theme"), "{run:?}");
    assert!(run.stderr.contains("settings.preferences"), "{run:?}");
    sv(dir.path(), &["exists", "settings.preferences"]).expect(3);

    // Two violations: both are listed.
    neon["ui"]["gridDensity"] = json!("huge");
    let file = json_file(input.path(), "two.json", &neon);
    let run = sv(dir.path(), &["set", "settings.preferences", &file]).expect(4);
    assert!(
        run.stderr.contains("/theme") && run.stderr.contains("/ui/gridDensity"),
        "{run:?}"
    );

    // An existing value survives a refused set.
    let good = json_file(input.path(), "good.json", &preferences());
    sv(dir.path(), &["set", "settings.preferences", &good]).expect(0);
    sv(dir.path(), &["set", "settings.preferences", &file]).expect(4);
    assert_eq!(
        sv(dir.path(), &["--json", "get", "settings.preferences"])
            .expect(0)
            .json(),
        preferences()
    );
}

#[test]
fn a_flipped_byte_exits_5_in_get_and_verify() {
    let dir = store();
    let input = tempfile::tempdir().unwrap();
    sv(
        dir.path(),
        &[
            "set",
            "settings.preferences",
            &json_file(input.path(), "p.json", &preferences()),
        ],
    )
    .expect(0);
    sv(
        dir.path(),
        &[
            "set",
            "history.conversations",
            &json_file(input.path(), "h.json", &history()),
        ],
    )
    .expect(0);
    let path = dir.path().join("settings/preferences.json");
    let damaged = flip_letter_in_data(&path, "Ctrl+B");

    let run = sv(dir.path(), &["get", "settings.preferences"]).expect(5);
    assert!(run.stderr.contains("settings.preferences"), "{run:?}");
    assert!(run.stderr.contains(&path.display().to_string()), "{run:?}");
    assert_eq!(run.stdout, "");

    let run = sv(dir.path(), &["verify"]).expect(5);
    assert!(
        run.stdout
            .lines()
            .any(|l| l.starts_with("settings.preferences: CORRUPT")),
        "{run:?}"
    );
    assert!(
        !run.stdout.contains("history.conversations:"),
        "healthy keys are not problems: {run:?}"
    );
    assert!(
        run.stdout.contains("2 keys checked, 1 with problems"),
        "{run:?}"
    );

    let out = sv(dir.path(), &["--json", "verify"]).expect(5).json();
    assert_eq!(out["checked"], 2);
    assert_eq!(out["problems"], 1);
    let prefs = key_status(&out, "settings.preferences");
    assert_eq!(prefs["status"], "corrupt");
    assert!(
        prefs["detail"].as_str().unwrap().contains("checksum"),
        "{prefs}"
    );
    assert_eq!(key_status(&out, "history.conversations")["status"], "ok");
    // Nothing the CLI did touched the damaged file.
    assert_eq!(std::fs::read(&path).unwrap(), damaged);
    // The healthy key is still readable.
    sv(dir.path(), &["get", "history.conversations"]).expect(0);
}

#[test]
fn a_second_writer_exits_6_and_readers_still_work() {
    let dir = store();
    sv(dir.path(), &["set", "plugins.before"]).expect(4); // empty stdin is not JSON
    Sv::new()
        .dir(dir.path())
        .args(["set", "plugins.before"])
        .stdin("1")
        .run()
        .expect(0);
    // The application holds the store.
    let app = Store::open(dir.path()).unwrap();
    let run = Sv::new()
        .dir(dir.path())
        .args(["set", "plugins.during"])
        .stdin("2")
        .run()
        .expect(6);
    assert!(
        run.stderr.contains(&dir.path().display().to_string()),
        "{run:?}"
    );
    assert!(run.stderr.contains("locked"), "{run:?}");
    sv(dir.path(), &["rm", "plugins.before"]).expect(6);
    // Reading needs no lock.
    assert_eq!(
        sv(dir.path(), &["--json", "get", "plugins.before"])
            .expect(0)
            .json(),
        json!(1)
    );
    sv(dir.path(), &["exists", "plugins.before"]).expect(0);
    sv(dir.path(), &["ls"]).expect(0);
    sv(dir.path(), &["verify"]).expect(0);
    // The app can still write while the CLI reads.
    app.save("plugins.app", &json!("from the app")).unwrap();
    assert_eq!(
        sv(dir.path(), &["--json", "get", "plugins.app"])
            .expect(0)
            .json(),
        json!("from the app")
    );
    drop(app);
    Sv::new()
        .dir(dir.path())
        .args(["set", "plugins.during"])
        .stdin("2")
        .run()
        .expect(0);
}

#[test]
fn get_while_the_app_writes_always_sees_one_whole_value() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    let dir = store();
    let value = |n: u64| json!({"n": n, "pad": "x".repeat(100_000 + n as usize)});
    let app = Store::open(dir.path()).unwrap();
    app.save("plugins.live", &value(0)).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut n = 1;
            while !stop.load(Ordering::SeqCst) {
                app.save("plugins.live", &value(n)).unwrap();
                n += 1;
            }
            n
        })
    };
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..25 {
        let got = sv(dir.path(), &["--json", "get", "plugins.live"])
            .expect(0)
            .json();
        let n = got["n"].as_u64().unwrap();
        assert_eq!(got, value(n), "value {n} is whole");
        seen.insert(n);
    }
    stop.store(true, Ordering::SeqCst);
    let written = writer.join().unwrap();
    assert!(written > 1, "the app wrote while the CLI read");
    eprintln!(
        "{} reads saw {} distinct values of {written} written",
        25,
        seen.len()
    );
}

#[test]
fn a_wrong_key_from_the_environment_exits_8() {
    let dir = store();
    let key_a = base64(&[0xA1; 32]);
    let key_b = base64(&[0xB2; 32]);
    let run = Sv::new()
        .dir(dir.path())
        .env("STATEVAULT_KEY", &key_a)
        .args(["set", "--encrypt", "history.conversations"])
        .stdin(history().to_string())
        .run()
        .expect(0);
    assert_eq!(run.stdout, "");
    let file = std::fs::read(dir.path().join("history/conversations.json")).unwrap();
    assert!(
        !file.windows(8).any(|w| w == b"X1234567"),
        "encrypted at rest"
    );

    let run = Sv::new()
        .dir(dir.path())
        .env("STATEVAULT_KEY", &key_b)
        .args(["get", "history.conversations"])
        .run()
        .expect(8);
    assert!(run.stderr.contains("history.conversations"), "{run:?}");
    assert!(
        !run.stderr.contains(&key_b) && !run.stderr.contains(&key_a),
        "no key material in messages"
    );
    let run = Sv::new()
        .dir(dir.path())
        .env("STATEVAULT_KEY", &key_b)
        .args(["verify"])
        .run()
        .expect(8);
    assert!(
        run.stdout.contains("history.conversations: CANNOT DECRYPT"),
        "{run:?}"
    );

    let run = Sv::new()
        .dir(dir.path())
        .env("STATEVAULT_KEY", &key_a)
        .args(["--json", "get", "history.conversations"])
        .run()
        .expect(0);
    assert_eq!(run.json(), history());
}

#[test]
fn a_wrong_key_file_exits_8() {
    let dir = store();
    let keys = tempfile::tempdir().unwrap();
    let k1 = keys.path().join("k1");
    let k2 = keys.path().join("k2");
    std::fs::write(&k1, format!("{}\n", base64(&[1; 32]))).unwrap();
    std::fs::write(&k2, format!("{}\n", base64(&[2; 32]))).unwrap();
    let input = tempfile::tempdir().unwrap();
    let file = json_file(input.path(), "p.json", &preferences());
    Sv::new()
        .dir(dir.path())
        .args(["set", "--encrypt", "--compress", "--key-file"])
        .args([&k1])
        .args(["settings.preferences", &file])
        .run()
        .expect(0);
    Sv::new()
        .dir(dir.path())
        .args(["get", "settings.preferences", "--key-file"])
        .args([&k2])
        .run()
        .expect(8);
    assert_eq!(
        Sv::new()
            .dir(dir.path())
            .args(["--json", "get", "settings.preferences", "--key-file"])
            .args([&k1])
            .run()
            .expect(0)
            .json(),
        preferences()
    );
    // A key file that does not exist yet is created on first use (private), never skipped.
    let fresh = keys.path().join("fresh");
    Sv::new()
        .dir(dir.path())
        .args(["set", "--encrypt", "plugins.secret", "--key-file"])
        .args([&fresh])
        .stdin("\"top secret\"")
        .run()
        .expect(0);
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&fresh).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let bytes = std::fs::read(dir.path().join("plugins/secret.json")).unwrap();
    assert!(!bytes.windows(6).any(|w| w == b"secret"), "never plaintext");
    Sv::new()
        .dir(dir.path())
        .args(["get", "plugins.secret", "--key-file"])
        .args([&k1])
        .run()
        .expect(8);
    assert_eq!(
        Sv::new()
            .dir(dir.path())
            .args(["--json", "get", "plugins.secret", "--key-file"])
            .args([&fresh])
            .run()
            .expect(0)
            .json(),
        json!("top secret")
    );
}

#[test]
fn a_quarantined_journal_makes_verify_exit_5_and_stats_count_it() {
    let dir = store();
    let damaged = dir
        .path()
        .join(".statevault/journal/00000000000000000001.wal.damaged");
    std::fs::write(&damaged, b"damaged").unwrap();
    let run = sv(dir.path(), &["verify"]).expect(5);
    assert!(run.stdout.contains("QUARANTINED"), "{run:?}");
    assert!(
        run.stdout.contains("00000000000000000001.wal.damaged"),
        "{run:?}"
    );
    let run = sv(dir.path(), &["--json", "stats"]).expect(0);
    assert_eq!(run.json()["quarantined_journals"], 1, "{run:?}");
    let run = sv(dir.path(), &["stats", "--format", "prometheus"]).expect(0);
    assert!(
        run.stdout
            .contains("state_persistence_quarantined_journal_files 1"),
        "{run:?}"
    );
}

#[test]
fn a_store_whose_identity_is_missing_exits_5_and_says_how_to_repair() {
    let dir = store();
    Sv::new()
        .dir(dir.path())
        .args(["set", "plugins.notes"])
        .stdin("{\"a\":1}")
        .run()
        .expect(0);
    let store_json = dir.path().join(".statevault/store.json");
    std::fs::remove_file(&store_json).unwrap();
    for args in [
        &["get", "config.app"][..],
        &["verify"],
        &["rm", "config.app"],
    ] {
        let run = sv(dir.path(), args).expect(5);
        assert!(
            run.stderr.contains("statevault repair"),
            "{args:?}: {run:?}"
        );
    }
    assert!(!store_json.exists(), "no new identity was made");
    // What the message advises works: repair brings the same identity back from its copy.
    let id_before = std::fs::read_to_string(dir.path().join(".statevault/store.json.bak")).unwrap();
    let run = sv(dir.path(), &["--json", "repair"]).expect(0);
    assert!(run.json()["identity_restored"].is_string(), "{run:?}");
    assert!(store_json.exists());
    assert_eq!(std::fs::read_to_string(&store_json).unwrap(), id_before);
    sv(dir.path(), &["get", "plugins.notes"]).expect(0);
}
