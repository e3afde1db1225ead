//! A full disk, for real: a 256 KiB tmpfs (needs root to mount).

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};
use statevault::{Error, ErrorKind, Store};

use super::common::temp_files;

/// Unmounts the tmpfs when the test ends, however it ends.
struct Mount {
    path: PathBuf,
}

impl Mount {
    fn tmpfs(path: &Path, size: &str) -> Mount {
        let status = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0700"),
                "tmpfs",
            ])
            .arg(path)
            .status()
            .expect("running mount");
        assert!(status.success(), "mount -t tmpfs failed: {status}");
        Mount {
            path: path.to_path_buf(),
        }
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let ok = Command::new("umount")
            .arg(&self.path)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            // Still busy (a panic left a file open): detach it so the folder can go.
            let _ = Command::new("umount").arg("-l").arg(&self.path).status();
        }
    }
}

/// Whether this test may mount; prints the loud skip notice or fails when real runs are required.
fn running_as_root(test: &str) -> bool {
    #[allow(unsafe_code)]
    // SAFETY: geteuid has no preconditions and cannot fail.
    let root = unsafe { libc::geteuid() } == 0;
    if root {
        return true;
    }
    if std::env::var_os("STATEVAULT_REQUIRE_REAL").is_some_and(|v| v == "1") {
        panic!(
            "{test}: needs root to mount a tmpfs, and STATEVAULT_REQUIRE_REAL=1 forbids skipping"
        );
    }
    eprintln!("\n*** SKIPPED: {test} needs root (it mounts a 256 KiB tmpfs) ***\n");
    false
}

/// A string value of about `bytes` bytes that gzip cannot shrink much (so sizes are honest).
fn blob(seed: u64, bytes: usize) -> Value {
    let mut x = seed | 1;
    let text: String = (0..bytes)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            char::from(b'a' + (x % 26) as u8)
        })
        .collect();
    json!({"seed": seed, "text": text})
}

fn assert_no_space(err: &Error) {
    assert!(
        err.kind() == ErrorKind::NoSpace,
        "expected NoSpace, got {err:?}"
    );
    assert!(err.to_string().contains("no space"), "{err}");
}

#[test]
fn a_save_that_does_not_fit_fails_cleanly_and_keeps_the_old_value() {
    if !running_as_root("disk_full::a_save_that_does_not_fit_fails_cleanly_and_keeps_the_old_value")
    {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let _mount = Mount::tmpfs(dir.path(), "256k");
    let store = Store::open(dir.path()).unwrap();
    let small = blob(1, 8 * 1024);
    store.save("plugins.cache", &small).unwrap();

    // Far bigger than the whole file system.
    let err = store
        .save("plugins.cache", &blob(2, 400 * 1024))
        .unwrap_err();
    assert_no_space(&err);
    assert_eq!(
        store.load::<Value>("plugins.cache").unwrap(),
        Some(small.clone())
    );
    assert_eq!(temp_files(dir.path()), Vec::<PathBuf>::new());

    // A new key that does not fit leaves nothing behind either.
    let err = store
        .save("plugins.other", &blob(3, 400 * 1024))
        .unwrap_err();
    assert_no_space(&err);
    assert!(!store.exists("plugins.other").unwrap());
    assert_eq!(temp_files(dir.path()), Vec::<PathBuf>::new());

    // The space was given back: a save that fits works, and everything survives a reopen.
    let replacement = blob(4, 16 * 1024);
    store.save("plugins.cache", &replacement).unwrap();
    drop(store);
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(
        store.load::<Value>("plugins.cache").unwrap(),
        Some(replacement)
    );
    assert!(store.verify().unwrap().iter().all(|r| r.status.is_ok()));
}

#[test]
fn a_save_that_only_fits_once_the_old_value_is_gone_fails_and_keeps_it() {
    if !running_as_root(
        "disk_full::a_save_that_only_fits_once_the_old_value_is_gone_fails_and_keeps_it",
    ) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let _mount = Mount::tmpfs(dir.path(), "256k");
    let store = Store::open(dir.path()).unwrap();
    // The old value takes more than half of the disk, so old and new cannot both exist: an
    // in-place overwrite would fit, an atomic replace cannot, and must not lose the old value.
    let old = blob(5, 150 * 1024);
    store.save("plugins.cache", &old).unwrap();
    let err = store
        .save("plugins.cache", &blob(6, 150 * 1024))
        .unwrap_err();
    assert_no_space(&err);
    assert_eq!(temp_files(dir.path()), Vec::<PathBuf>::new());
    drop(store);
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(store.load::<Value>("plugins.cache").unwrap(), Some(old));
    assert!(store.verify().unwrap().iter().all(|r| r.status.is_ok()));
}

#[test]
fn a_full_disk_with_an_encrypted_compressed_value() {
    if !running_as_root("disk_full::a_full_disk_with_an_encrypted_compressed_value") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let _mount = Mount::tmpfs(dir.path(), "256k");
    let provider = statevault::StaticKeyProvider::from_bytes(statevault::Zeroizing::new([9; 32]));
    let options = statevault::StoreOptions::new()
        .key_provider(std::sync::Arc::new(provider))
        .policy(
            "plugins.*",
            statevault::SaveOptions {
                encrypt: Some(true),
                compress: Some(true),
                backup: None,
            },
        );
    let store = Store::open_with(dir.path(), options).unwrap();
    let small = blob(7, 4 * 1024);
    store.save("plugins.secret", &small).unwrap();
    let err = store
        .save("plugins.secret", &blob(8, 600 * 1024))
        .unwrap_err();
    assert_no_space(&err);
    assert_eq!(store.load::<Value>("plugins.secret").unwrap(), Some(small));
    assert_eq!(temp_files(dir.path()), Vec::<PathBuf>::new());
}
