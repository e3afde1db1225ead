//! The real OS keychains. They run only when asked (`scripts/with-keychains.sh` starts them and sets
//! the variables), and then they must pass.

use statevault_codec::{Error, KeyId, KeyProvider, KeychainBackend, KeychainProvider};

fn enabled(var: &str) -> bool {
    if std::env::var_os(var).is_some_and(|v| v == "1") {
        return true;
    }
    eprintln!(
        "SKIPPED (set {var}=1 to run; scripts/with-keychains.sh cargo test -p statevault-codec starts \
         the keychains and sets it)"
    );
    false
}

/// Create, read back, rotate, remove a key, delete: the whole life of a store's key set.
fn life_cycle(backend: KeychainBackend) {
    let mut id = [0u8; 8];
    getrandom::fill(&mut id).unwrap();
    let store_id = format!("statevault-test-{}", u64::from_le_bytes(id));
    let p = KeychainProvider::with_backend(&store_id, backend);
    assert!(
        p.load().unwrap().is_none(),
        "{backend:?}: a fresh store id has no key"
    );

    let created = p.load_or_create().unwrap();
    assert_eq!(created.ids(), vec![KeyId(1)]);
    // A second provider (as another process would) reads back the same key.
    let again = KeychainProvider::with_backend(&store_id, backend);
    let read = again.load().unwrap().expect("the key was stored");
    assert_eq!(read.current().bytes(), created.current().bytes());

    let rotated = p.rotate().unwrap();
    assert_eq!(rotated.current_id(), KeyId(2));
    let read = again.load().unwrap().unwrap();
    assert_eq!(read.ids(), vec![KeyId(1), KeyId(2)]);
    assert_eq!(
        read.get(KeyId(1)).unwrap().bytes(),
        created.current().bytes()
    );

    assert!(matches!(
        p.remove_key(KeyId(2)),
        Err(Error::KeyInUse { .. })
    ));
    p.remove_key(KeyId(1)).unwrap();
    assert_eq!(again.load().unwrap().unwrap().ids(), vec![KeyId(2)]);

    p.delete_all().unwrap();
    assert!(again.load().unwrap().is_none(), "{backend:?}: deleted");
    eprintln!("{backend:?} keychain: create, read back, rotate, remove, delete: ok");
}

#[test]
fn secret_service_keychain_life_cycle() {
    if enabled("STATEVAULT_TEST_SECRET_SERVICE") {
        life_cycle(KeychainBackend::SecretService);
    }
}

#[test]
fn keyutils_keychain_life_cycle() {
    if !enabled("STATEVAULT_TEST_KEYUTILS") {
        return;
    }
    #[cfg(target_os = "linux")]
    life_cycle(KeychainBackend::KeyUtils);
    #[cfg(not(target_os = "linux"))]
    panic!("STATEVAULT_TEST_KEYUTILS is set but keyutils exists only on Linux");
}
