//! The store's warnings reach the person at the terminal: on standard error by default, not with
//! `-q`, with more detail with `-v`.

use super::common::{Sv, store};

fn set_past_the_quota(dir: &std::path::Path, flag: Option<&str>) -> String {
    let mut args = vec!["--quota-bytes", "10", "set", "plugins.big", "-"];
    if let Some(flag) = flag {
        args.insert(0, flag);
    }
    let run = Sv::new()
        .dir(dir)
        .args(args)
        .stdin(r#"{"text":"well past ten bytes"}"#)
        .run()
        .expect(7);
    run.stderr
}

#[test]
fn warnings_are_printed_on_standard_error_and_q_silences_them() {
    let dir = store();
    let stderr = set_past_the_quota(dir.path(), None);
    assert!(stderr.contains("WARN"), "{stderr}");
    assert!(stderr.contains("quota exceeded"), "{stderr}");
    let quiet = set_past_the_quota(dir.path(), Some("-q"));
    assert!(!quiet.contains("WARN"), "{quiet}");
    // The error itself is still said.
    assert!(quiet.contains("over its quota"), "{quiet}");
}

#[test]
fn verbose_output_never_reaches_standard_output() {
    let dir = store();
    let run = Sv::new()
        .dir(dir.path())
        .args(["-vv", "--json", "set", "plugins.a", "-"])
        .stdin("{}")
        .run()
        .expect(0);
    // Whatever -vv prints goes to standard error; standard output is the one JSON document.
    assert_eq!(
        run.json(),
        serde_json::json!({"key": "plugins.a", "saved": true})
    );
}
