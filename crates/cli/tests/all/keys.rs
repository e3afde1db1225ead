//! `statevault key init`, `key rotate [--reencrypt]` and `key ls` with a key file.

use std::path::Path;

use serde_json::{Value, json};

use super::common::{Sv, history, json_file, key_status, preferences, store};

/// `statevault --dir DIR --key-file KEY_FILE …`.
fn with_key(dir: &Path, key_file: &Path) -> Sv {
    Sv::new().dir(dir).args(["--key-file"]).args([key_file])
}

/// `key ls --json` as (id, current, files) rows.
fn key_rows(dir: &Path, key_file: &Path) -> Vec<(u64, bool, u64)> {
    let out = with_key(dir, key_file)
        .args(["--json", "key", "ls"])
        .run()
        .expect(0)
        .json();
    out["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["id"].as_u64().unwrap(),
                r["current"].as_bool().unwrap(),
                r["files"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn key_id_in_file(path: &Path) -> u32 {
    let bytes = std::fs::read(path).unwrap();
    match statevault::layers::codec::inspect(&bytes).unwrap().format {
        statevault::layers::codec::Format::Envelope {
            key_id: Some(id), ..
        } => id.0,
        other => panic!("{} is not encrypted: {other:?}", path.display()),
    }
}

/// A store with two encrypted keys and one plain one, and its key file.
fn encrypted_store() -> (tempfile::TempDir, tempfile::TempDir) {
    let dir = store();
    let keys = tempfile::tempdir().unwrap();
    let key_file = keys.path().join("store.key");
    let run = with_key(dir.path(), &key_file)
        .args(["key", "init"])
        .run()
        .expect(0);
    assert_eq!(run.stdout.trim(), "current key: 1");
    let input = tempfile::tempdir().unwrap();
    let h = json_file(input.path(), "h.json", &history());
    let p = json_file(input.path(), "p.json", &preferences());
    with_key(dir.path(), &key_file)
        .args([
            "set",
            "--encrypt",
            "--compress",
            "history.conversations",
            &h,
        ])
        .run()
        .expect(0);
    with_key(dir.path(), &key_file)
        .args(["set", "--encrypt", "history.conversations.ab12", &h])
        .run()
        .expect(0);
    with_key(dir.path(), &key_file)
        .args(["set", "settings.preferences", &p])
        .run()
        .expect(0);
    (dir, keys)
}

#[test]
fn key_init_creates_one_private_key_and_is_idempotent() {
    let dir = store();
    let keys = tempfile::tempdir().unwrap();
    let key_file = keys.path().join("store.key");
    let out = with_key(dir.path(), &key_file)
        .args(["--json", "key", "init"])
        .run()
        .expect(0)
        .json();
    assert_eq!(out, json!({"current": 1}));
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&key_file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let text = std::fs::read(&key_file).unwrap();
    with_key(dir.path(), &key_file)
        .args(["key", "init"])
        .run()
        .expect(0);
    assert_eq!(
        std::fs::read(&key_file).unwrap(),
        text,
        "a second init keeps the key"
    );
    assert_eq!(key_rows(dir.path(), &key_file), [(1, true, 0)]);
    let run = with_key(dir.path(), &key_file)
        .args(["key", "ls"])
        .run()
        .expect(0);
    assert_eq!(run.stdout.trim(), "key 1 (current): 0 files, 0 snapshots");
}

#[test]
fn rotate_with_reencrypt_moves_every_encrypted_file_to_the_new_key() {
    let (dir, keys) = encrypted_store();
    let key_file = keys.path().join("store.key");
    assert_eq!(key_rows(dir.path(), &key_file), [(1, true, 2)]);

    let out = with_key(dir.path(), &key_file)
        .args(["--json", "key", "rotate", "--reencrypt"])
        .run()
        .expect(0)
        .json();
    assert_eq!(out, json!({"current": 2, "reencrypted": 2}));
    assert_eq!(
        key_rows(dir.path(), &key_file),
        [(1, false, 0), (2, true, 2)]
    );
    let run = with_key(dir.path(), &key_file)
        .args(["key", "ls"])
        .run()
        .expect(0);
    assert_eq!(
        run.stdout.lines().collect::<Vec<_>>(),
        [
            "key 1: 0 files, 0 snapshots",
            "key 2 (current): 2 files, 0 snapshots"
        ]
    );
    for file in [
        "history/conversations.json",
        "history/conversations/ab12.json",
    ] {
        assert_eq!(key_id_in_file(&dir.path().join(file)), 2, "{file}");
    }
    // Re-encryption keeps each file's compression, and the plain file stays plain.
    let verify = with_key(dir.path(), &key_file)
        .args(["--json", "verify"])
        .run()
        .expect(0)
        .json();
    let format = |key: &str| -> Value { key_status(&verify, key)["format"].clone() };
    assert_eq!(format("history.conversations"), "compressed+encrypted");
    assert_eq!(format("history.conversations.ab12"), "encrypted");
    assert_eq!(format("settings.preferences"), "plain");
    // Every value reads back the same.
    for key in ["history.conversations", "history.conversations.ab12"] {
        assert_eq!(
            with_key(dir.path(), &key_file)
                .args(["--json", "get", key])
                .run()
                .expect(0)
                .json(),
            history()
        );
    }
}

#[test]
fn rotate_without_reencrypt_keeps_old_files_readable_with_the_old_key() {
    let (dir, keys) = encrypted_store();
    let key_file = keys.path().join("store.key");
    let run = with_key(dir.path(), &key_file)
        .args(["key", "rotate"])
        .run()
        .expect(0);
    assert!(run.stdout.contains("current key: 2"), "{run:?}");
    assert_eq!(
        key_rows(dir.path(), &key_file),
        [(1, false, 2), (2, true, 0)]
    );
    // Old files decrypt with the old key; a new save uses the new one.
    assert_eq!(
        with_key(dir.path(), &key_file)
            .args(["--json", "get", "history.conversations"])
            .run()
            .expect(0)
            .json(),
        history()
    );
    with_key(dir.path(), &key_file)
        .args(["set", "--encrypt", "history.conversations.new"])
        .stdin(history().to_string())
        .run()
        .expect(0);
    assert_eq!(
        key_id_in_file(&dir.path().join("history/conversations/new.json")),
        2
    );
    assert_eq!(
        key_rows(dir.path(), &key_file),
        [(1, false, 2), (2, true, 1)]
    );
    with_key(dir.path(), &key_file)
        .args(["verify"])
        .run()
        .expect(0);
    // A later `--reencrypt` finishes the move.
    let out = with_key(dir.path(), &key_file)
        .args(["--json", "key", "rotate", "--reencrypt"])
        .run()
        .expect(0)
        .json();
    assert_eq!(out, json!({"current": 3, "reencrypted": 3}));
    assert_eq!(
        key_rows(dir.path(), &key_file),
        [(1, false, 0), (2, false, 0), (3, true, 3)]
    );
}

#[test]
fn an_old_key_stays_while_a_snapshot_uses_it_and_can_be_removed_after() {
    let dir = store();
    let key_file = dir.path().join("keys.txt");
    let file = json_file(dir.path(), "history.json", &history());
    with_key(dir.path(), &key_file)
        .args(["set", "--encrypt", "history.conversations", &file])
        .run()
        .expect(0);
    let id = with_key(dir.path(), &key_file)
        .args(["backup", "create"])
        .run()
        .expect(0)
        .stdout
        .trim()
        .to_owned();
    with_key(dir.path(), &key_file)
        .args(["key", "rotate", "--reencrypt"])
        .run()
        .expect(0);
    let listed = with_key(dir.path(), &key_file)
        .args(["--json", "key", "ls"])
        .run()
        .expect(0)
        .json();
    assert_eq!(
        listed["keys"][0],
        json!({"id": 1, "current": false, "files": 0, "snapshots": 1}),
        "the snapshot still uses key 1"
    );
    let refused = with_key(dir.path(), &key_file)
        .args(["key", "rm", "1"])
        .run()
        .expect(1);
    assert!(refused.stderr.contains("1 snapshots"), "{refused:?}");
    with_key(dir.path(), &key_file)
        .args(["key", "rm", "2"])
        .run()
        .expect(1);
    with_key(dir.path(), &key_file)
        .args(["backup", "rm", &id])
        .run()
        .expect(0);
    with_key(dir.path(), &key_file)
        .args(["key", "rm", "1"])
        .run()
        .expect(0);
    assert_eq!(key_rows(dir.path(), &key_file), vec![(2, true, 1)]);
    let value = with_key(dir.path(), &key_file)
        .args(["--json", "get", "history.conversations"])
        .run()
        .expect(0)
        .json();
    assert_eq!(value, history());
}
