//! The command line for the people who run it: no store created at a mistyped path, waiting for
//! the application to let go of the store, errors a script can read, and hints that name the way
//! out.

use std::time::{Duration, Instant};

use super::common::{Sv, base64, preferences, store, sv};

#[test]
fn a_write_to_a_folder_that_is_not_a_store_is_refused_unless_create_is_given() {
    let parent = tempfile::tempdir().unwrap();
    let typo = parent.path().join("my-app-stat");
    for (args, input) in [
        (&["set", "plugins.a", "-"][..], "{}"),
        (&["rm", "plugins.a"], ""),
        (&["batch", "-"], r#"{"op":"delete","key":"plugins.a"}"#),
    ] {
        let run = Sv::new().dir(&typo).args(args).stdin(input).run().expect(1);
        assert!(
            run.stderr.contains("no statevault store"),
            "{args:?}: {run:?}"
        );
        assert!(run.stderr.contains("init"), "{args:?}: {run:?}");
        assert!(run.stderr.contains("--create"), "{args:?}: {run:?}");
        assert!(!typo.exists(), "{args:?}: nothing was created");
    }
    let run = Sv::new()
        .dir(&typo)
        .args(["--json", "set", "plugins.a", "-"])
        .stdin("{}")
        .run()
        .expect(1);
    assert_eq!(run.json()["error"]["code"], "E_NOT_A_STORE", "{run:?}");
    // Reads say there is nothing there, and create nothing either.
    sv(&typo, &["ls"]).expect(1);
    assert!(!typo.exists());
    // --create and init make the store.
    Sv::new()
        .dir(&typo)
        .args(["--create", "set", "plugins.a", "-"])
        .stdin("{}")
        .run()
        .expect(0);
    sv(&typo, &["exists", "plugins.a"]).expect(0);
    let other = parent.path().join("other");
    sv(&other, &["init"]).expect(0);
    Sv::new()
        .dir(&other)
        .args(["set", "plugins.b", "-"])
        .stdin("2")
        .run()
        .expect(0);
}

#[test]
fn wait_waits_for_the_writer_lock_and_without_it_the_command_exits_6_at_once() {
    let dir = store();
    let app = statevault::Store::open(dir.path()).unwrap();
    let started = Instant::now();
    Sv::new()
        .dir(dir.path())
        .args(["set", "plugins.a", "-"])
        .stdin("1")
        .run()
        .expect(6);
    let releaser = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(600));
        drop(app);
    });
    let run = Sv::new()
        .dir(dir.path())
        .args(["--wait=20", "set", "plugins.a", "-"])
        .stdin("1")
        .run()
        .expect(0);
    releaser.join().unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(600),
        "it waited for the application to let go: {run:?}"
    );
    sv(dir.path(), &["exists", "plugins.a"]).expect(0);
    // A wait that runs out is the usual exit 6.
    let _app = statevault::Store::open(dir.path()).unwrap();
    Sv::new()
        .dir(dir.path())
        .args(["--wait=1", "rm", "plugins.a"])
        .run()
        .expect(6);
}

#[test]
fn json_errors_are_one_document_with_code_key_and_violations() {
    let dir = store();
    let mut bad = preferences();
    bad["theme"] = "sepia".into();
    let run = Sv::new()
        .dir(dir.path())
        .args(["--json", "set", "settings.preferences", "-"])
        .stdin(bad.to_string())
        .run()
        .expect(4);
    let error = &run.json()["error"];
    assert_eq!(error["code"], "E_VALIDATION", "{run:?}");
    assert_eq!(error["key"], "settings.preferences", "{run:?}");
    let violations = error["violations"].as_array().unwrap();
    assert_eq!(violations[0]["pointer"], "/theme", "{run:?}");
    // The message lists what the enum allows.
    let message = violations[0]["message"].as_str().unwrap();
    assert!(
        message.contains("dark") && message.contains("light"),
        "{message}"
    );
}

#[test]
fn without_a_key_the_message_names_key_file_and_statevault_key() {
    let dir = store();
    let keys = tempfile::tempdir().unwrap();
    let key = keys.path().join("k");
    std::fs::write(&key, format!("{}\n", base64(&[7; 32]))).unwrap();
    Sv::new()
        .dir(dir.path())
        .args(["--key-file"])
        .args([&key])
        .args(["set", "--encrypt", "plugins.secret", "-"])
        .stdin("1")
        .run()
        .expect(0);
    let run = Sv::new()
        .dir(dir.path())
        .args(["--key-file"])
        .args([keys.path().join("missing")])
        .args(["get", "plugins.secret"])
        .run()
        .expect(8);
    assert!(run.stderr.contains("--key-file"), "{run:?}");
    assert!(run.stderr.contains("STATEVAULT_KEY"), "{run:?}");
}

#[test]
fn the_manual_page_covers_every_command() {
    let page = Sv::new().args(["man"]).run().expect(0).stdout;
    assert!(page.starts_with(".ie"), "roff: {}", &page[..40]);
    for command in [
        "init", "set", "get", "verify", "backup", "repair", "edit", "man",
    ] {
        assert!(page.contains(command), "{command}");
    }
    let out = tempfile::tempdir().unwrap();
    Sv::new()
        .args(["man", "--out"])
        .args([out.path()])
        .run()
        .expect(0);
    for page in [
        "statevault.1",
        "statevault-backup-create.1",
        "statevault-repair.1",
    ] {
        assert!(out.path().join(page).is_file(), "{page}");
    }
}

#[test]
fn info_says_what_a_keys_file_holds() {
    let dir = store();
    Sv::new()
        .dir(dir.path())
        .args(["set", "--compress", "plugins.a", "-"])
        .stdin(r#"{"a": 1}"#)
        .run()
        .expect(0);
    let json = sv(dir.path(), &["--json", "info", "plugins.a"])
        .expect(0)
        .json();
    assert_eq!(json["format"], "compressed");
    assert_eq!(json["intact"], true);
    assert_eq!(json["pending"], false);
    assert_eq!(json["schema_version"], "0.0.0");
    let text = sv(dir.path(), &["info", "plugins.a"]).expect(0).stdout;
    assert!(text.contains("compressed:     yes"), "{text}");
    assert!(text.contains("saved at:       20"), "RFC 3339: {text}");
    sv(dir.path(), &["info", "plugins.none"]).expect(3);
    // A running application's batch sits in the journal until its checkpoint.
    let app = statevault::Store::open(dir.path()).unwrap();
    let mut batch = statevault::Batch::new();
    batch
        .save("plugins.a", &serde_json::json!({"a": 2}))
        .unwrap();
    app.save_batch(batch).unwrap();
    let json = sv(dir.path(), &["--json", "info", "plugins.a"])
        .expect(0)
        .json();
    assert_eq!(json["pending"], true, "{json}");
    drop(app);
    let json = sv(dir.path(), &["--json", "info", "plugins.a"])
        .expect(0)
        .json();
    assert_eq!(json["pending"], false, "checkpointed at close: {json}");
}
