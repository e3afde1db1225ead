//! The writer lock between processes, and in a process that starts other processes.

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use statevault::{ErrorKind, Store};

/// Regression: the writer lock is an `flock` on `.statevault/lock`, which belongs to the open
/// file description. While another thread of the same process starts a child (fork, then exec),
/// the child holds a copy of every descriptor until its exec closes them, so a store dropped in
/// that window stays locked for a moment, and reopening it failed with `Locked` (seen as random
/// failures of drop-and-reopen tests while the crash test spawned its children). An application
/// that starts helper processes and reopens its store hits the same.
#[test]
fn reopening_a_dropped_store_is_not_refused_while_the_process_spawns_children() {
    let dir = tempfile::tempdir().unwrap();
    drop(Store::open(dir.path()).unwrap());
    let stop = Arc::new(AtomicBool::new(false));
    let spawner = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut spawned = 0u32;
            while !stop.load(Ordering::SeqCst) {
                let status = Command::new("true")
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status()
                    .expect("running `true`");
                assert!(status.success());
                spawned += 1;
            }
            spawned
        })
    };
    let mut refused = 0;
    let rounds = 400;
    for _ in 0..rounds {
        match Store::open(dir.path()) {
            Ok(store) => drop(store),
            Err(e) if e.kind() == ErrorKind::Locked => refused += 1,
            Err(e) => panic!("{e}"),
        }
    }
    stop.store(true, Ordering::SeqCst);
    let spawned = spawner.join().unwrap();
    eprintln!("{rounds} reopens while {spawned} children started: {refused} refused as locked");
    assert_eq!(refused, 0, "a store nobody holds was reported locked");
}
