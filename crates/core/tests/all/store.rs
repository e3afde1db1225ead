use std::path::Path;

use statevault_core::{
    Durability, Error, Key, OpenOptions, STORE_FORMAT, Storage, StoreFiles, StoreInfo,
};

fn key(s: &str) -> Key {
    Key::parse(s).unwrap()
}

#[test]
fn open_creates_the_layout_and_identity() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("store");
    let storage = Storage::open(&root).unwrap();
    for folder in [
        "layouts",
        "settings",
        "history",
        "config",
        "backups/auto",
        "backups/manual",
        ".statevault",
    ] {
        assert!(root.join(folder).is_dir(), "{folder}");
    }
    let info: StoreInfo =
        serde_json::from_slice(&std::fs::read(root.join(".statevault/store.json")).unwrap())
            .unwrap();
    assert_eq!(info.format, STORE_FORMAT);
    assert_eq!(info.store_id.len(), 32);
    assert_eq!(storage.info(), Some(&info));
    drop(storage);
    // The identity survives a reopen.
    assert_eq!(Storage::open(&root).unwrap().info(), Some(&info));
    // Two stores never share an id.
    let other = Storage::open(dir.path().join("other")).unwrap();
    assert_ne!(other.store_id(), info.store_id);
}

#[test]
fn a_newer_store_format_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    drop(Storage::open(dir.path()).unwrap());
    let path = dir.path().join(".statevault/store.json");
    std::fs::write(
        &path,
        r#"{"format":3,"store_id":"x","created_at":0,"new_field":true}"#,
    )
    .unwrap();
    match Storage::open(dir.path()) {
        Err(Error::NewerStoreFormat {
            found: 3,
            supported: 2,
            ..
        }) => {}
        other => panic!("{other:?}"),
    }
    // Nothing was rewritten.
    assert!(
        std::fs::read_to_string(&path)
            .unwrap()
            .contains("new_field")
    );
}

#[test]
fn a_damaged_store_file_is_an_error_not_a_new_identity() {
    let dir = tempfile::tempdir().unwrap();
    drop(Storage::open(dir.path()).unwrap());
    let path = dir.path().join(".statevault/store.json");
    std::fs::write(&path, b"{\"format\":1,\"store_").unwrap();
    assert!(matches!(
        Storage::open(dir.path()),
        Err(Error::CorruptMetadata { .. })
    ));
    assert_eq!(std::fs::read(&path).unwrap(), b"{\"format\":1,\"store_");
}

#[test]
fn write_read_delete_exists_list() {
    let dir = tempfile::tempdir().unwrap();
    let s = Storage::open(dir.path()).unwrap();
    for (k, v) in [
        ("layout.default", "1"),
        ("layout.mobile", "2"),
        ("history.conversations", "3"),
        ("history.conversations.ab12", "4"),
        ("plugins.x.y", "5"),
    ] {
        s.write(&key(k), v.as_bytes(), Durability::Full).unwrap();
    }
    assert_eq!(s.read(&key("layout.mobile")).unwrap().unwrap(), b"2");
    assert_eq!(s.read(&key("layout.none")).unwrap(), None);
    assert!(s.exists(&key("plugins.x.y")).unwrap());
    assert!(
        !s.exists(&key("plugins.x")).unwrap(),
        "a folder is not a key"
    );
    let all: Vec<String> = s.list("").unwrap().iter().map(|k| k.to_string()).collect();
    assert_eq!(
        all,
        [
            "history.conversations",
            "history.conversations.ab12",
            "layout.default",
            "layout.mobile",
            "plugins.x.y"
        ]
    );
    let hist: Vec<String> = s
        .list("history.conversations.")
        .unwrap()
        .iter()
        .map(|k| k.to_string())
        .collect();
    assert_eq!(hist, ["history.conversations.ab12"]);
    assert_eq!(s.list("lay").unwrap().len(), 2);
    assert_eq!(s.list("nothing.").unwrap().len(), 0);
    assert!(s.delete(&key("layout.default"), Durability::Full).unwrap());
    assert!(!s.delete(&key("layout.default"), Durability::Full).unwrap());
    assert_eq!(s.read(&key("layout.default")).unwrap(), None);
    s.checkpoint().unwrap();
    assert!(dir.path().join("layouts/mobile.json").is_file());
    assert!(!dir.path().join("layouts/default.json").exists());
}

#[test]
fn files_that_are_not_keys_are_not_listed() {
    let dir = tempfile::tempdir().unwrap();
    let s = Storage::open(dir.path()).unwrap();
    std::fs::write(dir.path().join("layouts/Upper.json"), b"{}").unwrap();
    std::fs::write(dir.path().join("layouts/notes.txt"), b"{}").unwrap();
    std::fs::create_dir_all(dir.path().join("backups/auto")).unwrap();
    std::fs::write(dir.path().join("backups/auto/x.json"), b"{}").unwrap();
    assert!(s.list("").unwrap().is_empty());
}

#[test]
fn every_durability_level_writes_the_value() {
    let dir = tempfile::tempdir().unwrap();
    let s = Storage::open(dir.path()).unwrap();
    for (i, d) in [Durability::Full, Durability::Normal, Durability::None]
        .into_iter()
        .enumerate()
    {
        let value = format!("value {i}");
        s.write(&key("settings.x"), value.as_bytes(), d).unwrap();
        assert_eq!(
            s.read(&key("settings.x")).unwrap().unwrap(),
            value.as_bytes()
        );
    }
}

#[test]
fn stray_temp_files_are_removed_at_open_and_only_they() {
    let dir = tempfile::tempdir().unwrap();
    drop(Storage::open(dir.path()).unwrap());
    let stray = dir
        .path()
        .join("layouts/.default.json.0123456789abcdef.tmp");
    let nested = dir.path().join("history/conversations");
    std::fs::create_dir_all(&nested).unwrap();
    let stray2 = nested.join(".ab.json.fedcba9876543210.tmp");
    let keep = dir.path().join("layouts/.hidden-but-not-ours.tmp");
    for p in [&stray, &stray2, &keep] {
        std::fs::write(p, b"partial").unwrap();
    }
    drop(Storage::open(dir.path()).unwrap());
    assert!(!stray.exists());
    assert!(!stray2.exists());
    assert!(keep.exists());
}

#[test]
fn a_read_only_open_creates_nothing_and_cannot_write() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing");
    assert!(matches!(
        Storage::open_with(&missing, OpenOptions::new().read_only(true)),
        Err(Error::NotAStore { .. })
    ));
    assert!(!missing.exists());
    let writer = Storage::open(dir.path()).unwrap();
    writer
        .write(&key("config.app"), b"{}", Durability::Full)
        .unwrap();
    // A reader works while the writer holds the lock.
    let reader = Storage::open_with(dir.path(), OpenOptions::new().read_only(true)).unwrap();
    assert_eq!(reader.read(&key("config.app")).unwrap().unwrap(), b"{}");
    assert_eq!(reader.store_id(), writer.store_id());
    assert!(matches!(
        reader.write(&key("config.app"), b"x", Durability::Full),
        Err(Error::ReadOnly { .. })
    ));
}

#[test]
fn no_temp_file_is_left_after_writes() {
    let dir = tempfile::tempdir().unwrap();
    let s = Storage::open(dir.path()).unwrap();
    for i in 0..20 {
        s.write(
            &key("history.conversations.a"),
            format!("{i}").as_bytes(),
            Durability::Full,
        )
        .unwrap();
    }
    assert_eq!(temp_files(dir.path()), Vec::<String>::new());
}

pub(crate) fn temp_files(root: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let entry = entry.unwrap();
            let name = entry.file_name().into_string().unwrap();
            if entry.file_type().unwrap().is_dir() {
                stack.push(entry.path());
            } else if StoreFiles::is_unfinished_write(&name) {
                found.push(entry.path().display().to_string());
            }
        }
    }
    found
}

#[cfg(unix)]
#[test]
#[allow(unsafe_code)]
fn permissions_are_0600_and_0700_under_umask_000() {
    use std::os::unix::fs::PermissionsExt;
    // SAFETY: umask only swaps the process's file-creation mask; other tests running at the
    // same time at worst create files with a looser mask, which this crate overrides anyway.
    let old = unsafe { libc::umask(0) };
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("store");
    let s = Storage::open(&root).unwrap();
    s.write(&key("history.conversations.ab"), b"{}", Durability::Full)
        .unwrap();
    s.write(&key("layout.default"), b"{}", Durability::None)
        .unwrap();
    s.checkpoint().unwrap();
    // SAFETY: as above.
    unsafe { libc::umask(old) };
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    for folder in [
        "",
        ".statevault",
        "layouts",
        "settings",
        "history",
        "history/conversations",
        "config",
    ] {
        assert_eq!(mode(&root.join(folder)), 0o700, "{folder}");
    }
    for file in [
        ".statevault/store.json",
        ".statevault/lock",
        "history/conversations/ab.json",
        "layouts/default.json",
    ] {
        assert_eq!(mode(&root.join(file)), 0o600, "{file}");
    }
}

#[test]
fn files_the_legacy_service_kept_under_dotted_names_are_adopted_by_a_writer() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("history")).unwrap();
    std::fs::create_dir_all(dir.path().join("settings")).unwrap();
    std::fs::write(
        dir.path().join("history/conversations.ab12.json"),
        b"legacy",
    )
    .unwrap();
    std::fs::write(dir.path().join("settings/themes.dark.json"), b"theme").unwrap();
    // Already written by statevault under its own path: the newer file wins, the old one stays.
    std::fs::create_dir_all(dir.path().join("settings/keys")).unwrap();
    std::fs::write(dir.path().join("settings/keys/vim.json"), b"new").unwrap();
    std::fs::write(dir.path().join("settings/keys.vim.json"), b"old").unwrap();
    // Not a key: left where it is.
    std::fs::write(dir.path().join("history/Upper.Case.json"), b"x").unwrap();

    // A reader before any writer finds them where they are.
    let reader = Storage::open_with(dir.path(), OpenOptions::new().read_only(true)).unwrap();
    assert_eq!(
        reader
            .read(&key("history.conversations.ab12"))
            .unwrap()
            .unwrap(),
        b"legacy"
    );
    assert!(reader.exists(&key("settings.themes.dark")).unwrap());
    assert_eq!(
        reader.read(&key("settings.keys.vim")).unwrap().unwrap(),
        b"new",
        "the key's own file wins"
    );
    assert_eq!(
        reader.list("").unwrap(),
        vec![
            key("history.conversations.ab12"),
            key("settings.keys.vim"),
            key("settings.themes.dark")
        ]
    );
    assert_eq!(reader.read(&key("plugins.a.b")).unwrap(), None);

    let s = Storage::open(dir.path()).unwrap();
    assert_eq!(s.legacy_files_adopted(), 2);
    assert_eq!(
        s.read(&key("history.conversations.ab12")).unwrap().unwrap(),
        b"legacy"
    );
    assert_eq!(
        s.read(&key("settings.themes.dark")).unwrap().unwrap(),
        b"theme"
    );
    assert_eq!(s.read(&key("settings.keys.vim")).unwrap().unwrap(), b"new");
    assert!(dir.path().join("settings/keys.vim.json").is_file());
    assert!(dir.path().join("history/Upper.Case.json").is_file());
    assert!(!dir.path().join("history/conversations.ab12.json").exists());
    drop(s);
    assert_eq!(Storage::open(dir.path()).unwrap().legacy_files_adopted(), 0);
    assert_eq!(
        reader
            .read(&key("history.conversations.ab12"))
            .unwrap()
            .unwrap(),
        b"legacy",
        "the same reader, after the writer moved the file"
    );
}
