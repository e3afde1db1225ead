//! `statevault backup …` and `statevault repair`, end to end.

use serde_json::json;

use super::common::{Sv, base64, flip_letter_in_data, json_file, preferences, store, sv};

#[test]
fn create_list_verify_restore() {
    let dir = store();
    let file = json_file(dir.path(), "prefs.json", &preferences());
    sv(dir.path(), &["set", "settings.preferences", &file]).expect(0);
    let created = sv(
        dir.path(),
        &["--json", "backup", "create", "--name", "first"],
    )
    .expect(0)
    .json();
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(created["file_count"], 1);
    let text_id = sv(dir.path(), &["backup", "create"]).expect(0).stdout;
    assert!(text_id.trim().len() > 20, "the id is printed: {text_id}");

    let listed = sv(dir.path(), &["--json", "backup", "ls"]).expect(0).json();
    let backups = listed["backups"].as_array().unwrap();
    assert_eq!(backups.len(), 2);
    // The specification's `BackupInfo` fields, a missing name as "" (as the Node binding has it).
    let names: Vec<&str> = backups
        .iter()
        .map(|b| b["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"first") && names.contains(&""), "{names:?}");
    for backup in backups {
        for field in ["id", "timestamp", "size", "compressed", "encrypted"] {
            assert!(!backup[field].is_null(), "{field} in {backup}");
        }
    }
    assert!(
        sv(dir.path(), &["backup", "ls"])
            .expect(0)
            .stdout
            .contains("first")
    );
    sv(dir.path(), &["backup", "verify", &id]).expect(0);

    let mut changed = preferences();
    changed["language"] = json!("fr");
    let file = json_file(dir.path(), "prefs2.json", &changed);
    sv(dir.path(), &["set", "settings.preferences", &file]).expect(0);
    let restored = sv(dir.path(), &["--json", "backup", "restore", &id])
        .expect(0)
        .json();
    assert_eq!(restored["written"], 1);
    let value = sv(dir.path(), &["--json", "get", "settings.preferences"])
        .expect(0)
        .json();
    assert_eq!(value, preferences());

    sv(
        dir.path(),
        &["backup", "verify", "20991231T000000000Z-000000"],
    )
    .expect(3);
    sv(dir.path(), &["backup", "verify", "../etc"]).expect(2);
}

#[test]
fn a_damaged_snapshot_exits_5() {
    let dir = store();
    let file = json_file(dir.path(), "prefs.json", &preferences());
    sv(dir.path(), &["set", "settings.preferences", &file]).expect(0);
    let id = sv(dir.path(), &["backup", "create"])
        .expect(0)
        .stdout
        .trim()
        .to_owned();
    let objects = dir.path().join("backups/objects");
    for shard in std::fs::read_dir(&objects).unwrap() {
        for object in std::fs::read_dir(shard.unwrap().path()).unwrap() {
            let path = object.unwrap().path();
            let mut bytes = std::fs::read(&path).unwrap();
            bytes[10] ^= 1;
            std::fs::write(&path, bytes).unwrap();
        }
    }
    // The live file changes too, so no intact copy is left to heal the object from.
    let mut changed = preferences();
    changed["language"] = json!("fr");
    let file = json_file(dir.path(), "prefs2.json", &changed);
    sv(dir.path(), &["set", "settings.preferences", &file]).expect(0);
    sv(dir.path(), &["backup", "verify", &id]).expect(5);
    sv(dir.path(), &["backup", "restore", &id]).expect(5);
}

#[test]
fn repair_restores_a_corrupt_key_from_the_newest_intact_snapshot() {
    let dir = store();
    let file = json_file(dir.path(), "prefs.json", &preferences());
    sv(dir.path(), &["set", "settings.preferences", &file]).expect(0);
    let id = sv(dir.path(), &["backup", "create"])
        .expect(0)
        .stdout
        .trim()
        .to_owned();
    let path = dir.path().join("settings/preferences.json");
    let damaged = flip_letter_in_data(&path, "de-CH");
    sv(dir.path(), &["get", "settings.preferences"]).expect(5);

    let dry = sv(dir.path(), &["--json", "repair", "--dry-run"])
        .expect(0)
        .json();
    assert_eq!(dry["keys"][0]["outcome"], "would_restore");
    assert_eq!(dry["keys"][0]["from"], id.as_str());
    assert_eq!(
        std::fs::read(&path).unwrap(),
        damaged,
        "a dry run changes nothing"
    );

    let done = sv(dir.path(), &["--json", "repair"]).expect(0).json();
    assert_eq!(done["keys"][0]["outcome"], "restored");
    let value = sv(dir.path(), &["--json", "get", "settings.preferences"])
        .expect(0)
        .json();
    assert_eq!(value, preferences());
    // The damaged file was kept in an automatic snapshot before it was replaced.
    let listed = sv(dir.path(), &["--json", "backup", "ls"]).expect(0).json();
    let reasons: Vec<String> = listed["backups"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|b| b["reason"].as_str().map(str::to_owned))
        .collect();
    assert!(
        reasons.iter().any(|r| r.contains("before repair")),
        "{reasons:?}"
    );
}

#[test]
fn repair_without_an_intact_copy_exits_5_and_leaves_the_file() {
    let dir = store();
    let file = json_file(dir.path(), "prefs.json", &preferences());
    sv(dir.path(), &["set", "settings.preferences", &file]).expect(0);
    let path = dir.path().join("settings/preferences.json");
    let damaged = flip_letter_in_data(&path, "de-CH");
    sv(dir.path(), &["repair"]).expect(5);
    assert_eq!(std::fs::read(&path).unwrap(), damaged);
}

#[test]
fn prune_export_import_between_stores() {
    let a = store();
    let b = store();
    let key = base64(&[5u8; 32]);
    let history = super::common::history();
    let file = json_file(a.path(), "history.json", &history);
    super::common::Sv::new()
        .dir(a.path())
        .env("STATEVAULT_KEY", &key)
        .args(["set", "--encrypt", "history.conversations", &file])
        .run()
        .expect(0);
    let id = sv(a.path(), &["backup", "create"])
        .expect(0)
        .stdout
        .trim()
        .to_owned();
    let archive = a.path().join("state.svarchive");
    let archive_text = archive.display().to_string();
    // Encrypted keys need an archive key.
    super::common::Sv::new()
        .dir(a.path())
        .env("STATEVAULT_KEY", &key)
        .args(["backup", "export", &id, &archive_text])
        .run()
        .expect(8);
    let archive_key = a.path().join("archive.key");
    std::fs::write(&archive_key, base64(&[9u8; 32]) + "\n").unwrap();
    let archive_key_text = archive_key.display().to_string();
    super::common::Sv::new()
        .dir(a.path())
        .env("STATEVAULT_KEY", &key)
        .args([
            "backup",
            "export",
            &id,
            &archive_text,
            "--archive-key-file",
            &archive_key_text,
        ])
        .run()
        .expect(0);
    let other_key = base64(&[6u8; 32]);
    let imported = super::common::Sv::new()
        .dir(b.path())
        .env("STATEVAULT_KEY", &other_key)
        .args([
            "--json",
            "backup",
            "import",
            &archive_text,
            "--archive-key-file",
            &archive_key_text,
        ])
        .run()
        .expect(0)
        .json();
    let imported_id = imported["id"].as_str().unwrap().to_owned();
    super::common::Sv::new()
        .dir(b.path())
        .env("STATEVAULT_KEY", &other_key)
        .args(["backup", "restore", &imported_id])
        .run()
        .expect(0);
    let value = super::common::Sv::new()
        .dir(b.path())
        .env("STATEVAULT_KEY", &other_key)
        .args(["--json", "get", "history.conversations"])
        .run()
        .expect(0)
        .json();
    assert_eq!(value, history);

    let pruned = sv(
        a.path(),
        &["--json", "backup", "prune", "--keep-last", "1", "--manual"],
    )
    .expect(0)
    .json();
    assert_eq!(pruned["kept"].as_array().unwrap().len(), 1);
}

/// A store holding one plain key and a snapshot of it: the folder and the snapshot's id.
fn store_with_a_snapshot() -> (tempfile::TempDir, String) {
    let dir = store();
    let file = json_file(dir.path(), "prefs.json", &preferences());
    sv(dir.path(), &["set", "settings.preferences", &file]).expect(0);
    let id = sv(dir.path(), &["backup", "create"])
        .expect(0)
        .stdout
        .trim()
        .to_owned();
    (dir, id)
}

#[test]
fn an_archive_exported_without_an_archive_key_can_be_imported() {
    // The plain archive and the encrypted one both start with 0x89: each path end to end.
    let (a, id) = store_with_a_snapshot();
    let archive_key = a.path().join("archive.key");
    std::fs::write(&archive_key, base64(&[9u8; 32]) + "\n").unwrap();
    let archive_key = archive_key.display().to_string();
    for with_key in [false, true] {
        let archive = a.path().join(format!("state-{with_key}.svarchive"));
        let archive = archive.display().to_string();
        let mut export = vec!["backup", "export", &id, &archive];
        let mut import = vec!["--json", "backup", "import", &archive];
        if with_key {
            export.extend(["--archive-key-file", &archive_key]);
            import.extend(["--archive-key-file", &archive_key]);
        }
        sv(a.path(), &export).expect(0);
        let b = store();
        let imported = sv(b.path(), &import).expect(0).json();
        let imported_id = imported["id"].as_str().unwrap().to_owned();
        sv(b.path(), &["backup", "restore", &imported_id]).expect(0);
        let value = sv(b.path(), &["--json", "get", "settings.preferences"])
            .expect(0)
            .json();
        assert_eq!(value, preferences(), "archive key: {with_key}");
        if with_key {
            // A sealed archive needs its key.
            sv(b.path(), &["backup", "import", &archive]).expect(8);
        }
    }
    // Neither magic: damage, exit 5.
    let junk = a.path().join("junk.svarchive");
    std::fs::write(
        &junk,
        b"\x89PNG\r\n\x1a\n and then some more bytes than a header",
    )
    .unwrap();
    let b = store();
    sv(b.path(), &["backup", "import", &junk.display().to_string()]).expect(5);
}

#[test]
fn an_export_is_private_under_umask_000() {
    use std::os::unix::fs::PermissionsExt;
    let (a, id) = store_with_a_snapshot();
    let archive = a.path().join("state.svarchive");
    let archive_text = archive.display().to_string();
    // Over an existing, looser file too: the new archive is a new file.
    std::fs::write(&archive, b"older").unwrap();
    std::fs::set_permissions(&archive, std::fs::Permissions::from_mode(0o666)).unwrap();
    Sv::after_shell("umask 000")
        .dir(a.path())
        .args(["backup", "export", &id, &archive_text])
        .run()
        .expect(0);
    let mode = std::fs::metadata(&archive).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the archive may hold unencrypted keys");
    let b = store();
    sv(b.path(), &["backup", "import", &archive_text]).expect(0);
}

#[test]
fn a_failed_export_leaves_no_half_archive() {
    let a = store();
    // Enough data for an archive of several KiB.
    for n in 0..8 {
        let mut prefs = preferences();
        prefs["keyBindings"]["filler"] = json!("x".repeat(1000 + n));
        let file = json_file(a.path(), "prefs.json", &prefs);
        sv(a.path(), &["set", &format!("settings.user{n}"), &file]).expect(0);
    }
    let id = sv(a.path(), &["backup", "create"])
        .expect(0)
        .stdout
        .trim()
        .to_owned();
    let out = tempfile::tempdir().unwrap();
    let archive = out.path().join("state.svarchive");
    std::fs::write(&archive, b"the previous archive").unwrap();
    // A file size limit of 2 KiB makes the write fail half way (EFBIG; SIGXFSZ ignored).
    let failed = Sv::after_shell("trap '' XFSZ; ulimit -f 4")
        .dir(a.path())
        .args(["backup", "export", &id, &archive.display().to_string()])
        .run();
    assert_eq!(failed.code, 1, "{failed:#?}");
    let after = std::fs::read(&archive).unwrap();
    assert!(
        after == b"the previous archive",
        "the earlier archive is untouched (it holds {} bytes now)",
        after.len()
    );
    let names: Vec<_> = std::fs::read_dir(out.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["state.svarchive"], "no temporary file is left");
}

#[test]
fn backup_verify_heals_a_damaged_object_from_the_live_file() {
    let (dir, id) = store_with_a_snapshot();
    let objects = dir.path().join("backups/objects");
    for shard in std::fs::read_dir(&objects).unwrap() {
        for object in std::fs::read_dir(shard.unwrap().path()).unwrap() {
            let path = object.unwrap().path();
            let mut bytes = std::fs::read(&path).unwrap();
            bytes[10] ^= 1;
            std::fs::write(&path, bytes).unwrap();
        }
    }
    let text = sv(dir.path(), &["backup", "verify", &id]).expect(0).stdout;
    assert!(
        text.contains("settings.preferences: HEALED from the live file of settings.preferences"),
        "{text}"
    );
    assert!(text.contains("1 healed, 0 damaged"), "{text}");
    let again = sv(dir.path(), &["--json", "backup", "verify", &id])
        .expect(0)
        .json();
    assert_eq!(again["healed"], json!([]));
    assert_eq!(again["problems"], json!([]));
    sv(dir.path(), &["backup", "restore", &id]).expect(0);
}

#[test]
fn a_new_backup_of_unchanged_data_never_references_a_damaged_object() {
    let (dir, _) = store_with_a_snapshot();
    let objects = dir.path().join("backups/objects");
    for shard in std::fs::read_dir(&objects).unwrap() {
        for object in std::fs::read_dir(shard.unwrap().path()).unwrap() {
            let path = object.unwrap().path();
            let mut bytes = std::fs::read(&path).unwrap();
            bytes[10] ^= 1;
            std::fs::write(&path, bytes).unwrap();
        }
    }
    let fresh = sv(dir.path(), &["backup", "create"])
        .expect(0)
        .stdout
        .trim()
        .to_owned();
    // Checked without healing: the object was written again by the new backup itself.
    let verified = super::common::Sv::new()
        .dir(dir.path())
        .args(["--json", "backup", "verify", &fresh])
        .run()
        .expect(0)
        .json();
    assert_eq!(verified["healed"], json!([]), "{verified}");
}
