//! A second process: the test binary re-executed with `STATEVAULT_CORE_CHILD` set.

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};

use statevault_core::{Error, Storage};

const CHILD_ENV: &str = "STATEVAULT_CORE_CHILD";
const DIR_ENV: &str = "STATEVAULT_CORE_CHILD_DIR";

/// The child's entry point. In the parent's own run (no variable set) it has nothing to do.
#[test]
fn child_process_entry() {
    let Ok(mode) = std::env::var(CHILD_ENV) else {
        return;
    };
    let dir = std::env::var(DIR_ENV).expect("the parent sets the folder");
    match (mode.as_str(), Storage::open(&dir)) {
        ("try", Ok(_)) => println!("OPENED"),
        ("try", Err(e @ Error::Locked { .. })) => println!("LOCKED {e}"),
        ("hold", Ok(_storage)) => {
            println!("HOLDING");
            // Hold the lock until the parent closes our stdin (or kills us).
            let mut sink = Vec::new();
            let _ = std::io::stdin().read_to_end(&mut sink);
        }
        (_, Err(e)) => println!("ERROR {e}"),
        (mode, Ok(_)) => println!("UNKNOWN MODE {mode}"),
    }
}

fn child(mode: &str, dir: &std::path::Path) -> Command {
    let mut cmd = Command::new(std::env::current_exe().expect("the test binary"));
    cmd.args([
        "--exact",
        "all::child::child_process_entry",
        "--nocapture",
        "--test-threads=1",
    ])
    .env(CHILD_ENV, mode)
    .env(DIR_ENV, dir)
    .stdin(Stdio::piped())
    .stdout(Stdio::piped());
    cmd
}

fn first_line_with(output: &str, marker: &str) -> Option<String> {
    // The test harness prints its own text before ours on the same line.
    output
        .lines()
        .find_map(|l| l.find(marker).map(|at| l[at..].to_owned()))
}

#[test]
fn a_second_writer_in_another_process_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let _writer = Storage::open(dir.path()).unwrap();
    let out = child("try", dir.path()).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = first_line_with(&stdout, "LOCKED").unwrap_or_else(|| panic!("child said: {stdout}"));
    assert!(line.contains(&dir.path().display().to_string()), "{line}");
    assert!(line.contains("locked by another process"), "{line}");
}

#[test]
fn the_lock_dies_with_its_process() {
    let dir = tempfile::tempdir().unwrap();
    let mut holder = child("hold", dir.path()).spawn().unwrap();
    let mut reader = BufReader::new(holder.stdout.take().unwrap());
    let mut line = String::new();
    loop {
        line.clear();
        assert!(
            reader.read_line(&mut line).unwrap() > 0,
            "the child ended early"
        );
        if line.contains("HOLDING") {
            break;
        }
    }
    assert!(matches!(
        Storage::open(dir.path()),
        Err(Error::Locked { .. })
    ));
    holder.kill().unwrap();
    holder.wait().unwrap();
    Storage::open(dir.path()).expect("the lock is released when its holder dies");
}

#[test]
fn a_second_writer_in_the_same_process_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let first = Storage::open(dir.path()).unwrap();
    assert!(matches!(
        Storage::open(dir.path()),
        Err(Error::Locked { .. })
    ));
    drop(first);
    Storage::open(dir.path()).unwrap();
}
