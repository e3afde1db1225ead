//! The store's identity (`.statevault/store.json` and its copy): never replaced implicitly in a
//! folder that holds data, self-checking, recoverable.

use std::path::Path;

use statevault_core::{
    Durability, Error, IdentityRecovery, Key, OpenOptions, STORE_FORMAT, Storage,
};

const STORE_JSON: &str = ".statevault/store.json";
const COPY: &str = ".statevault/store.json.bak";

fn key(s: &str) -> Key {
    Key::parse(s).unwrap()
}

fn read_only(root: &Path) -> Result<Storage, Error> {
    Storage::open_with(root, OpenOptions::new().read_only(true))
}

/// A store holding a value in statevault's plain format; returns its id.
fn store_with_data(root: &Path) -> String {
    let s = Storage::open(root).unwrap();
    s.write(
        &key("settings.preferences"),
        br#"{"statevault":1,"data":{}}"#,
        Durability::Full,
    )
    .unwrap();
    s.store_id().to_owned()
}

fn assert_refused(result: Result<Storage, Error>, path: &Path, hint: &str) {
    match result {
        Err(Error::CorruptMetadata { path: p, detail }) => {
            assert_eq!(p, path);
            assert!(detail.contains(hint), "{detail}");
        }
        Err(other) => panic!("expected CorruptMetadata, got {other}"),
        Ok(s) => panic!("opened with store id {:?}", s.store_id()),
    }
}

#[test]
fn a_folder_that_holds_data_never_gets_a_new_identity_implicitly() {
    let dir = tempfile::tempdir().unwrap();
    let id = store_with_data(dir.path());
    let path = dir.path().join(STORE_JSON);
    assert_eq!(
        std::fs::read(&path).unwrap(),
        std::fs::read(dir.path().join(COPY)).unwrap(),
        "the copy is written with the file"
    );
    std::fs::remove_file(&path).unwrap();
    assert_refused(Storage::open(dir.path()), &path, "statevault repair");
    assert_refused(read_only(dir.path()), &path, "statevault repair");
    assert!(!path.exists(), "nothing was created");
    // Damaged: refused the same way.
    std::fs::write(&path, b"{\"format\": 2, \"store_id\": \"").unwrap();
    assert_refused(Storage::open(dir.path()), &path, &id);
    assert_refused(read_only(dir.path()), &path, &id);
    // The repair restores the same identity, and the store opens again.
    match Storage::recover_identity(dir.path(), OpenOptions::new()).unwrap() {
        IdentityRecovery::Restored { info, from } => {
            assert_eq!(info.store_id, id);
            assert_eq!(from, dir.path().join(COPY));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(Storage::open(dir.path()).unwrap().store_id(), id);
    assert_eq!(read_only(dir.path()).unwrap().store_id(), id);
    assert!(matches!(
        Storage::recover_identity(dir.path(), OpenOptions::new()).unwrap(),
        IdentityRecovery::Intact(info) if info.store_id == id
    ));
}

#[test]
fn without_its_copy_the_identity_is_refused_not_replaced() {
    let dir = tempfile::tempdir().unwrap();
    store_with_data(dir.path());
    let path = dir.path().join(STORE_JSON);
    std::fs::remove_file(&path).unwrap();
    std::fs::remove_file(dir.path().join(COPY)).unwrap();
    // An encrypted value (the envelope's first byte) is enough to make the folder one that
    // holds data, even without `.statevault/`.
    std::fs::write(
        dir.path().join("settings/secret.json"),
        b"\x89SVLT\r\n\x1a encrypted",
    )
    .unwrap();
    assert_refused(Storage::open(dir.path()), &path, "no intact copy");
    assert_refused(read_only(dir.path()), &path, "no intact copy");
    match Storage::recover_identity(dir.path(), OpenOptions::new()) {
        Err(Error::CorruptMetadata { path, .. }) => assert_eq!(path, dir.path().join(COPY)),
        other => panic!("{other:?}"),
    }
    assert!(!dir.path().join(STORE_JSON).exists());
    // Journal files alone count too; plain values alone do not (they are bound to no id).
    std::fs::remove_file(dir.path().join("settings/secret.json")).unwrap();
    std::fs::write(
        dir.path()
            .join(".statevault/journal/00000000000000000001.wal"),
        b"x",
    )
    .unwrap();
    assert_refused(Storage::open(dir.path()), &path, "journal file");
    std::fs::remove_file(
        dir.path()
            .join(".statevault/journal/00000000000000000001.wal"),
    )
    .unwrap();
    assert_eq!(Storage::open(dir.path()).unwrap().store_id().len(), 32);
}

#[test]
fn a_folder_without_data_still_becomes_a_new_store() {
    // A new folder, and one only the legacy service wrote (its files are bound to no id).
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("layouts")).unwrap();
    std::fs::write(
        dir.path().join("layouts/default.json"),
        b"{\n  \"version\": \"1.0.0\",\n  \"timestamp\": 1,\n  \"data\": {}\n}",
    )
    .unwrap();
    assert_eq!(read_only(dir.path()).unwrap().info(), None);
    let s = Storage::open(dir.path()).unwrap();
    assert_eq!(s.store_id().len(), 32);
    assert_eq!(s.info().unwrap().format, STORE_FORMAT);
}

#[test]
fn store_json_of_format_1_is_read_and_rewritten_with_a_checksum() {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/v1/store.json");
    let dir = tempfile::tempdir().unwrap();
    store_with_data(dir.path());
    std::fs::remove_file(dir.path().join(COPY)).unwrap();
    std::fs::copy(&fixture, dir.path().join(STORE_JSON)).unwrap();
    let id = "5f0c2a9e4b7d81c36a1e9f2d0b4c7a58";
    let reader = read_only(dir.path()).unwrap();
    assert_eq!(reader.store_id(), id);
    assert_eq!(reader.info().unwrap().format, 1);
    drop(reader);
    assert_eq!(
        std::fs::read(dir.path().join(STORE_JSON)).unwrap(),
        std::fs::read(&fixture).unwrap(),
        "a reader changes nothing"
    );
    assert_eq!(Storage::open(dir.path()).unwrap().store_id(), id);
    let text = std::fs::read_to_string(dir.path().join(STORE_JSON)).unwrap();
    assert!(
        text.contains("\"format\": 2") && text.contains("crc32c:"),
        "{text}"
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join(COPY)).unwrap(),
        text
    );
    let s = Storage::open(dir.path()).unwrap();
    assert_eq!(s.store_id(), id);
    assert_eq!(s.info().unwrap().created_at, 1_764_126_784_000);
}

#[test]
fn a_missing_copy_is_written_again_by_the_next_writer() {
    let dir = tempfile::tempdir().unwrap();
    store_with_data(dir.path());
    std::fs::remove_file(dir.path().join(COPY)).unwrap();
    drop(read_only(dir.path()).unwrap());
    assert!(!dir.path().join(COPY).exists(), "a reader writes nothing");
    drop(Storage::open(dir.path()).unwrap());
    assert_eq!(
        std::fs::read(dir.path().join(COPY)).unwrap(),
        std::fs::read(dir.path().join(STORE_JSON)).unwrap()
    );
}
