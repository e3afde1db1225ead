//! An adversary with write access to the store's folder, or a medium that damages it: links
//! planted where the store reads and writes, and every file the store owns truncated at every
//! offset and flipped at every byte. Every open and read must give the right data or a typed
//! error; never a panic, a new identity, a write outside the store or a committed batch lost
//! without a word.

use std::path::{Path, PathBuf};

use statevault_core::{Durability, Error, Key, LockMode, OpenOptions, Storage};

use super::batch::{crash_before_checkpoint, wal_files};

fn key(s: &str) -> Key {
    Key::parse(s).unwrap()
}

fn read_only(root: &Path) -> Result<Storage, Error> {
    Storage::open_with(root, OpenOptions::new().read_only(true))
}

/// Copies a store's folder (files and folders only) to a fresh temp folder.
fn copy_of(from: &Path) -> tempfile::TempDir {
    fn copy(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            let target = to.join(entry.file_name());
            if entry.file_type().unwrap().is_dir() {
                copy(&entry.path(), &target);
            } else {
                std::fs::copy(entry.path(), &target).unwrap();
            }
        }
    }
    let dir = tempfile::tempdir().unwrap();
    copy(from, dir.path());
    dir
}

/// Every way to damage `bytes` the sweeps try: each truncation, each byte inverted.
fn damaged_versions(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut versions: Vec<(String, Vec<u8>)> = (0..bytes.len())
        .map(|cut| (format!("cut at {cut}"), bytes[..cut].to_vec()))
        .collect();
    for at in 0..bytes.len() {
        let mut flipped = bytes.to_vec();
        flipped[at] ^= 0xff;
        versions.push((format!("byte {at} inverted"), flipped));
    }
    versions
}

#[cfg(unix)]
mod links {
    use super::*;
    use std::os::unix::fs::symlink;

    fn assert_link_refused<T: std::fmt::Debug>(result: Result<T, Error>, link: &Path) {
        match result {
            Err(Error::Symlink { path }) => assert_eq!(path, link),
            other => panic!("expected Symlink({}), got {other:?}", link.display()),
        }
    }

    fn entries(dir: &Path) -> Vec<PathBuf> {
        let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        found.sort();
        found
    }

    #[test]
    fn a_symlinked_namespace_folder_is_never_written_through_and_listing_reports_it() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("notes.json"), b"outside").unwrap();
        let root = dir.path();
        let s = Storage::open(root).unwrap();
        let link = root.join("plugins");
        symlink(outside.path(), &link).unwrap();
        assert_link_refused(
            s.write(&key("plugins.weather"), b"v", Durability::Full),
            &link,
        );
        assert_link_refused(
            s.commit_batch(
                vec![statevault_core::BatchOp::Put {
                    key: key("plugins.weather"),
                    bytes: b"v".to_vec(),
                }],
                Durability::Full,
            ),
            &link,
        );
        assert_eq!(s.journal_records().unwrap(), 0, "nothing was committed");
        assert_link_refused(s.read(&key("plugins.notes")), &link);
        assert_link_refused(s.list(""), &link);
        assert_link_refused(s.list("plugins."), &link);
        assert_link_refused(read_only(root).unwrap().list(""), &link);
        assert_eq!(
            entries(outside.path()),
            vec![outside.path().join("notes.json")],
            "nothing was written outside the store"
        );
        // A link deeper down, in a subfolder of a namespace, the same.
        std::fs::create_dir_all(root.join("history")).unwrap();
        let deeper = root.join("history/conversations");
        symlink(outside.path(), &deeper).unwrap();
        assert_link_refused(
            s.write(&key("history.conversations.ab12"), b"v", Durability::Full),
            &deeper,
        );
        std::fs::remove_file(&link).unwrap();
        assert_link_refused(s.list("history."), &deeper);
        assert_eq!(entries(outside.path()).len(), 1);
    }

    #[test]
    fn a_symlinked_key_file_is_never_read_and_listing_reports_it() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let secret = outside.path().join("secret");
        std::fs::write(&secret, b"outside").unwrap();
        let root = dir.path();
        let s = Storage::open(root).unwrap();
        let k = key("settings.preferences");
        let link = root.join("settings/preferences.json");
        symlink(&secret, &link).unwrap();
        assert_link_refused(s.read(&k), &link);
        assert_link_refused(s.read_prefix(&k, 4), &link);
        assert_link_refused(s.list(""), &link);
        let reader = read_only(root).unwrap();
        assert_link_refused(reader.read(&k), &link);
        assert_link_refused(reader.read_many(std::slice::from_ref(&k)), &link);
        // A save replaces the link itself (a rename), never writes through it.
        s.write(&k, b"mine", Durability::Full).unwrap();
        assert_eq!(std::fs::read(&secret).unwrap(), b"outside");
        assert_eq!(s.read(&k).unwrap().unwrap(), b"mine");
    }

    #[test]
    fn a_symlinked_backups_folder_gets_nothing_created_outside() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let root = dir.path();
        let s = Storage::open(root).unwrap();
        let link = root.join("backups");
        // Open made the folder; a user (or an attacker) replaces it with a link afterwards.
        std::fs::remove_dir_all(&link).unwrap();
        symlink(outside.path(), &link).unwrap();
        // The backup layer takes its lock through the store's backend.
        match s
            .backend()
            .lock(&link.join("lock"), LockMode::Exclusive, false)
        {
            Err(e) => assert!(e.to_string().contains("symbolic link"), "{e}"),
            Ok(_) => panic!("a lock was taken through a link"),
        }
        assert!(entries(outside.path()).is_empty(), "no lock file outside");
        let files = s.files();
        assert_link_refused(
            files.write_file(
                Path::new("backups/manual/x.manifest.json"),
                b"{}",
                Durability::Full,
            ),
            &link,
        );
        assert_link_refused(files.read_file(Path::new("backups/index.json")), &link);
        assert_link_refused(files.list_dir(Path::new("backups/manual")), &link);
        assert!(
            entries(outside.path()).is_empty(),
            "nothing created outside"
        );
    }

    #[test]
    fn an_audit_log_replaced_by_a_symlink_is_never_appended_through() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let target = outside.path().join("log");
        std::fs::write(&target, b"outside\n").unwrap();
        let root = dir.path();
        let s = Storage::open(root).unwrap();
        let log = root.join(".statevault/audit.log");
        symlink(&target, &log).unwrap();
        let appended = s.backend().open_append(&log);
        assert!(appended.is_err(), "opened through a link");
        assert_link_refused(
            s.files().read_file(Path::new(".statevault/audit.log")),
            &log,
        );
        assert_eq!(std::fs::read(&target).unwrap(), b"outside\n");
    }

    #[test]
    fn the_root_itself_may_be_a_symlink() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real");
        std::fs::create_dir(&real).unwrap();
        let root = dir.path().join("data");
        symlink(&real, &root).unwrap();
        let s = Storage::open(&root).unwrap();
        s.write(&key("settings.a"), b"1", Durability::Full).unwrap();
        s.commit_batch(
            vec![statevault_core::BatchOp::Put {
                key: key("plugins.b"),
                bytes: b"2".to_vec(),
            }],
            Durability::Full,
        )
        .unwrap();
        assert_eq!(
            s.list("").unwrap(),
            vec![key("plugins.b"), key("settings.a")]
        );
        drop(s);
        assert_eq!(std::fs::read(real.join("plugins/b.json")).unwrap(), b"2");
        assert_eq!(
            read_only(&root)
                .unwrap()
                .read(&key("settings.a"))
                .unwrap()
                .unwrap(),
            b"1"
        );
    }
}

#[test]
fn no_damage_to_store_json_gives_the_store_a_new_identity() {
    let template = tempfile::tempdir().unwrap();
    let id = {
        let s = Storage::open(template.path()).unwrap();
        s.write(&key("settings.a"), br#"{"statevault":1}"#, Durability::Full)
            .unwrap();
        s.store_id().to_owned()
    };
    let intact = std::fs::read(template.path().join(".statevault/store.json")).unwrap();
    let mut refused = 0;
    let versions = damaged_versions(&intact);
    for (what, bytes) in &versions {
        let dir = copy_of(template.path());
        std::fs::write(dir.path().join(".statevault/store.json"), bytes).unwrap();
        for opened in [read_only(dir.path()), Storage::open(dir.path())] {
            match opened {
                Ok(s) => assert_eq!(s.store_id(), id, "{what}"),
                Err(Error::CorruptMetadata { detail, .. }) => {
                    assert!(detail.contains("statevault repair"), "{what}: {detail}");
                    refused += 1;
                }
                Err(other) => panic!("{what}: {other}"),
            }
        }
        // The repair always brings back the same identity.
        let recovered = Storage::recover_identity(dir.path(), OpenOptions::new()).unwrap();
        let info = match recovered {
            statevault_core::IdentityRecovery::Restored { info, .. }
            | statevault_core::IdentityRecovery::Intact(info) => info,
            other => panic!("{other:?}"),
        };
        assert_eq!(info.store_id, id, "{what}");
        assert_eq!(Storage::open(dir.path()).unwrap().store_id(), id, "{what}");
    }
    println!(
        "store.json: {} damaged versions, {refused} opens refused",
        versions.len()
    );
    assert!(refused > versions.len(), "{refused}");
}

#[test]
fn no_damage_to_the_journal_loses_a_committed_batch_without_a_word() {
    let template = tempfile::tempdir().unwrap();
    let (keys, after_both) = crash_before_checkpoint(template.path());
    let old = vec![Some(b"old".to_vec()); 3];
    let after_first = vec![
        Some(b"first".to_vec()),
        Some(b"first".to_vec()),
        Some(b"old".to_vec()),
    ];
    let name = wal_files(template.path()).pop().unwrap();
    let journal = |root: &Path| root.join(".statevault/journal").join(&name);
    let whole = std::fs::read(journal(template.path())).unwrap();
    let magic = b"\x89SVWAL\r\n";
    let first_len = 1 + whole[1..].windows(8).position(|w| w == magic).unwrap();
    // The records are followed by zeros (the run's end, and the file grown ahead): damage is
    // tried over the records and the zeroed header after them, the rest kept as it is.
    let records_len = whole.len() - whole.iter().rev().take_while(|&&b| b == 0).count();
    let intact = &whole[..records_len + 44];
    let versions = damaged_versions(intact);
    let (mut reported, mut dropped_tail) = (0, 0);
    for (what, damaged) in &versions {
        let dir = copy_of(template.path());
        let cut = damaged.len() < intact.len();
        let mut bytes = damaged.clone();
        if !cut {
            bytes.extend_from_slice(&whole[intact.len()..]);
        }
        std::fs::write(journal(dir.path()), &bytes).unwrap();
        let damage_in_first = !cut && bytes[..first_len] != intact[..first_len];
        let second_whole =
            bytes.len() >= records_len && bytes[..records_len] == whole[..records_len];
        let expected = if cut && bytes.len() < first_len || damage_in_first {
            &old
        } else if second_whole {
            &after_both
        } else {
            &after_first
        };
        let seen = read_only(dir.path()).unwrap().read_many(&keys);
        let s = Storage::open(dir.path()).unwrap();
        let recovery = s.recovery().clone();
        if damage_in_first {
            // A damaged record with a record of its run after it: reported by every reader.
            assert!(
                matches!(seen, Err(Error::CorruptMetadata { .. })),
                "{what}: {seen:?}"
            );
            assert_eq!(recovery.quarantined.len(), 1, "{what}");
            assert_eq!(s.quarantined_journals().unwrap().len(), 1, "{what}");
            reported += 1;
        } else {
            // A torn tail (or damage to the last record, which cannot be told from one).
            assert_eq!(seen.as_ref().ok(), Some(expected), "{what}");
            assert!(recovery.quarantined.is_empty(), "{what}");
            dropped_tail += 1;
        }
        assert_eq!(&s.read_many(&keys).unwrap(), expected, "{what}");
    }
    println!(
        "journal: {} damaged versions, {reported} reported, {dropped_tail} torn tails dropped",
        versions.len()
    );
    assert!(reported >= first_len);
}

#[test]
fn damaged_key_files_never_change_the_identity_or_the_bytes_read() {
    let template = tempfile::tempdir().unwrap();
    let k = key("history.conversations.ab12");
    let value = br#"{"statevault":1,"schema_version":"1.0.0","data":{"a":[1,2,3]}}"#;
    let id = {
        let s = Storage::open(template.path()).unwrap();
        s.write(&k, value, Durability::Full).unwrap();
        s.store_id().to_owned()
    };
    for (what, bytes) in damaged_versions(value) {
        let dir = copy_of(template.path());
        std::fs::write(dir.path().join(k.relative_path()), &bytes).unwrap();
        let reader = read_only(dir.path()).unwrap();
        assert_eq!(reader.store_id(), id, "{what}");
        // The core stores bytes: it returns them exactly; the codec above tells damage.
        assert_eq!(reader.read(&k).unwrap().unwrap(), bytes, "{what}");
        drop(reader);
        let s = Storage::open(dir.path()).unwrap();
        assert_eq!(s.store_id(), id, "{what}");
        assert_eq!(s.list("").unwrap(), vec![k.clone()], "{what}");
    }
}
