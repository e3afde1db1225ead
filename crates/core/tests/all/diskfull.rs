//! A disk that is really full: a 512 KiB tmpfs the test mounts itself (as root). Without root
//! the tests say so loudly and pass, unless `STATEVAULT_REQUIRE_REAL=1` (CI) makes them fail.

use std::path::Path;
use std::process::Command;

use statevault_core::{BatchOp, Durability, Error, Key, Storage};

use super::batch::journal_files;
use super::store::temp_files;

/// A mounted tmpfs, unmounted when dropped.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let status = Command::new("umount").arg(self.dir.path()).status();
        if !matches!(status, Ok(s) if s.success()) {
            eprintln!(
                "could not unmount {}: {status:?}",
                self.dir.path().display()
            );
        }
    }
}

fn skip(test: &str, why: &str) -> Option<Tmpfs> {
    if std::env::var("STATEVAULT_REQUIRE_REAL").as_deref() == Ok("1") {
        panic!("{test}: {why}, and STATEVAULT_REQUIRE_REAL=1 forbids skipping");
    }
    eprintln!("\n*** SKIPPED {test}: {why} ***\n");
    None
}

#[allow(unsafe_code)]
fn tmpfs(test: &str) -> Option<Tmpfs> {
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        return skip(test, "needs root to mount tmpfs");
    }
    let dir = tempfile::tempdir().unwrap();
    let status = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=512k,mode=0700", "tmpfs"])
        .arg(dir.path())
        .status();
    match status {
        Ok(s) if s.success() => Some(Tmpfs { dir }),
        other => skip(test, &format!("mount -t tmpfs failed ({other:?})")),
    }
}

fn key(s: &str) -> Key {
    Key::parse(s).unwrap()
}

#[cfg(unix)]
#[test]
fn a_save_that_does_not_fit_fails_with_no_space_and_keeps_the_old_value() {
    let Some(fs) = tmpfs("a_save_that_does_not_fit") else {
        return;
    };
    let root = fs.path().join("store");
    let s = Storage::open(&root).unwrap();
    let k = key("layout.default");
    s.write(&k, b"{\"old\":true}", Durability::Full).unwrap();
    let err = s
        .write(&k, &vec![b'x'; 1024 * 1024], Durability::Full)
        .unwrap_err();
    assert!(matches!(err, Error::NoSpace { .. }), "{err:?}");
    assert!(err.to_string().contains("no space left"), "{err}");
    assert_eq!(s.read(&k).unwrap().unwrap(), b"{\"old\":true}");
    assert!(temp_files(&root).is_empty(), "the temp file was removed");
    // The store is still usable: a value that fits is saved.
    s.write(&k, b"{\"new\":true}", Durability::Full).unwrap();
    assert_eq!(s.read(&k).unwrap().unwrap(), b"{\"new\":true}");
    drop(s);
}

#[cfg(unix)]
#[test]
fn a_batch_that_fills_the_disk_is_not_applied_at_all() {
    let Some(fs) = tmpfs("a_batch_that_fills_the_disk") else {
        return;
    };
    let root = fs.path().join("store");
    let s = Storage::open(&root).unwrap();
    let keys: Vec<Key> = (0..10).map(|i| key(&format!("settings.k{i}"))).collect();
    for k in &keys {
        s.write(k, b"old", Durability::Full).unwrap();
    }
    s.checkpoint().unwrap();
    // Ballast leaves room for part of the batch only.
    let ballast = fs.path().join("ballast");
    std::fs::write(&ballast, vec![0u8; 256 * 1024]).unwrap();
    let ops: Vec<BatchOp> = keys
        .iter()
        .map(|k| BatchOp::Put {
            key: k.clone(),
            bytes: vec![b'n'; 40 * 1024],
        })
        .collect();
    let err = s.commit_batch(ops.clone(), Durability::Full).unwrap_err();
    assert!(matches!(err, Error::NoSpace { .. }), "{err:?}");
    let old = vec![Some(b"old".to_vec()); keys.len()];
    assert_eq!(
        s.read_many(&keys).unwrap(),
        old,
        "nothing of the batch is visible"
    );
    assert!(temp_files(&root).is_empty(), "every temp file was removed");
    assert!(journal_files(&root).is_empty());
    // Space freed: the same batch commits, on the same handle (nothing was poisoned).
    std::fs::remove_file(&ballast).unwrap();
    s.commit_batch(ops, Durability::Full).unwrap();
    assert_eq!(
        s.read_many(&keys).unwrap(),
        vec![Some(vec![b'n'; 40 * 1024]); keys.len()]
    );
    drop(s);
    let reopened = Storage::open(&root).unwrap();
    assert_eq!(reopened.read(&keys[9]).unwrap().unwrap().len(), 40 * 1024);
}
