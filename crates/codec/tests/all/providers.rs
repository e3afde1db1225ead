//! Key files: creation, rotation, removal, and the formats people write by hand.

use std::fs;

use statevault_codec::{Error, FileKeyProvider, KeyId, KeyProvider};

#[test]
fn a_key_file_is_created_private_rotated_and_pruned() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.key");
    let p = FileKeyProvider::new(&path);
    assert!(p.load().unwrap().is_none());
    assert!(matches!(p.rotate(), Err(Error::NoKey)));

    let first = p.load_or_create().unwrap();
    assert_eq!(first.ids(), vec![KeyId(1)]);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    // Loading again gives the same key, not a new one.
    assert_eq!(
        p.load_or_create().unwrap().current().bytes(),
        first.current().bytes()
    );

    let rotated = p.rotate().unwrap();
    assert_eq!(rotated.current_id(), KeyId(2));
    let reloaded = FileKeyProvider::new(&path).load().unwrap().unwrap();
    assert_eq!(reloaded.ids(), vec![KeyId(1), KeyId(2)]);
    assert_eq!(reloaded.current_id(), KeyId(2));
    assert_eq!(
        reloaded.get(KeyId(1)).unwrap().bytes(),
        first.current().bytes()
    );

    assert!(matches!(
        p.remove_key(KeyId(2)),
        Err(Error::KeyInUse { key_id: KeyId(2) })
    ));
    p.remove_key(KeyId(1)).unwrap();
    assert_eq!(p.load().unwrap().unwrap().ids(), vec![KeyId(2)]);
    // No temporary files are left behind.
    let names: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("store.key")]);
}

#[test]
fn a_hand_written_key_file_of_one_base64_line_is_key_1() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("k");
    fs::write(&path, "AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI=\n").unwrap();
    let keys = FileKeyProvider::new(&path).load().unwrap().unwrap();
    assert_eq!(
        (keys.current_id(), keys.current().bytes()),
        (KeyId(1), &[2u8; 32])
    );
}

#[test]
fn a_damaged_key_file_is_an_error_naming_the_file_and_never_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("k");
    let secretish = "AgICAgICAgICAgICAgICAgICAgICAgICAgICAgIC";
    fs::write(&path, format!("1:{secretish}\n")).unwrap();
    let err = FileKeyProvider::new(&path).load().unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, Error::KeyFormat { .. }), "{err:?}");
    assert!(
        msg.contains(&path.display().to_string()) && !msg.contains(secretish),
        "{msg}"
    );
    // A missing folder is an I/O error, not "no key".
    let missing = FileKeyProvider::new(dir.path().join("no/such/dir/k"));
    assert!(matches!(missing.load_or_create(), Err(Error::Io { .. })));
}
