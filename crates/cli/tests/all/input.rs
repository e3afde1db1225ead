//! What the user types is what the store keeps: numbers exactly as written, repeated keys and
//! invalid JSON refused with their line and column, and a closed pipe ends the program quietly.

use std::io::Read;
use std::process::Command;

use super::common::{Sv, store, sv};

#[test]
fn numbers_round_trip_exactly_through_set_and_get() {
    let dir = store();
    let text = r#"{"big":123456789012345678901234567890,"hundred":1e2,"minus_zero":-0,"f":0.1}"#;
    Sv::new()
        .dir(dir.path())
        .args(["set", "plugins.numbers", "-"])
        .stdin(text)
        .run()
        .expect(0);
    let json = sv(dir.path(), &["--json", "get", "plugins.numbers"]).expect(0);
    assert_eq!(json.stdout.trim(), text);
    let pretty = sv(dir.path(), &["get", "plugins.numbers"]).expect(0);
    for digits in [
        "123456789012345678901234567890",
        "\"hundred\": 1e2",
        "\"minus_zero\": -0",
    ] {
        assert!(pretty.stdout.contains(digits), "{digits}: {pretty:?}");
    }
    // Pretty input is stored compactly, as written otherwise.
    Sv::new()
        .dir(dir.path())
        .args(["set", "plugins.numbers", "-"])
        .stdin("{\n  \"big\": 1.50000000000000000001\n}\n")
        .run()
        .expect(0);
    let json = sv(dir.path(), &["--json", "get", "plugins.numbers"]).expect(0);
    assert_eq!(json.stdout.trim(), r#"{"big":1.50000000000000000001}"#);
}

#[test]
fn numbers_round_trip_exactly_through_a_batch() {
    let dir = store();
    Sv::new()
        .dir(dir.path())
        .args(["batch", "-"])
        .stdin(r#"{"op":"save","key":"plugins.n","data":{"n": 98765432109876543210}}"#)
        .run()
        .expect(0);
    let json = sv(dir.path(), &["--json", "get", "plugins.n"]).expect(0);
    assert_eq!(json.stdout.trim(), r#"{"n":98765432109876543210}"#);
}

#[test]
fn a_repeated_key_is_refused_with_its_line_and_column_and_nothing_is_written() {
    let dir = store();
    let run = Sv::new()
        .dir(dir.path())
        .args(["set", "plugins.dup", "-"])
        .stdin("{\n  \"a\": 1,\n  \"a\": 2\n}")
        .run()
        .expect(4);
    assert!(run.stderr.contains("\"a\" appears twice"), "{run:?}");
    assert!(run.stderr.contains("line 3 column 5"), "{run:?}");
    sv(dir.path(), &["exists", "plugins.dup"]).expect(3);
    // Nested, and in a batch: the whole batch is refused.
    let run = Sv::new()
        .dir(dir.path())
        .args(["batch", "-"])
        .stdin(concat!(
            r#"{"op":"save","key":"plugins.ok","data":{}}"#,
            "\n",
            r#"{"op":"save","key":"plugins.dup","data":{"x":{"b":1,"b":1}}}"#
        ))
        .run();
    assert_ne!(run.code, 0, "{run:?}");
    assert!(run.stderr.contains("line 2"), "{run:?}");
    assert!(run.stderr.contains("\"b\" appears twice"), "{run:?}");
    sv(dir.path(), &["exists", "plugins.ok"]).expect(3);
}

#[test]
fn invalid_json_input_exits_4_with_its_line_and_column() {
    let dir = store();
    let run = Sv::new()
        .dir(dir.path())
        .args(["set", "plugins.demo", "-"])
        .stdin("{\n  \"a\": [1, 2,]\n}")
        .run()
        .expect(4);
    assert!(run.stderr.contains("not valid JSON"), "{run:?}");
    assert!(run.stderr.contains("line 2 column"), "{run:?}");
    sv(dir.path(), &["exists", "plugins.demo"]).expect(3);
}

#[test]
fn a_closed_pipe_ends_get_quietly() {
    let dir = store();
    let big = format!("{{\"text\":\"{}\"}}", "x".repeat(4 << 20));
    Sv::new()
        .dir(dir.path())
        .args(["set", "plugins.big", "-"])
        .stdin(big)
        .run()
        .expect(0);
    for args in [
        &["get", "plugins.big"][..],
        &["--json", "get", "plugins.big"],
    ] {
        // `statevault get … 2>&1 | head -c10`: stdout and stderr are one pipe, closed early.
        let (mut reader, writer) = std::io::pipe().unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_statevault"))
            .arg("--dir")
            .arg(dir.path())
            .args(args)
            .env_remove("STATEVAULT_DIR")
            .stdout(writer.try_clone().unwrap())
            .stderr(writer)
            .spawn()
            .unwrap();
        let mut first = [0u8; 10];
        reader.read_exact(&mut first).unwrap();
        drop(reader);
        let status = child.wait().unwrap();
        assert_eq!(status.code(), Some(0), "{args:?}: {status}");
    }
}
