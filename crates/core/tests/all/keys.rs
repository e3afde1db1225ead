use std::path::{Component, Path};

use proptest::prelude::*;
use statevault_core::Key;

/// Keys that must never become paths: traversal, separators, absolute paths, devices,
/// case collisions, look-alikes, oversize.
const HOSTILE: &[&str] = &[
    "",
    ".",
    "..",
    "../x",
    "a/../../x",
    "layout/../../etc",
    "/etc/passwd",
    "a/b",
    "a.b/c",
    "a\\b",
    "a.b\\..\\c",
    "C:",
    "c:.x",
    "C:\\Windows",
    "\\\\server\\share",
    "con.x",
    "x.con",
    "x.CON",
    "aux.y",
    "x.nul",
    "x.com1",
    "lpt9.x",
    "x.conin$",
    "a..b",
    ".a",
    "a.",
    ".a.b",
    "a.b.",
    "a.b\0",
    "a\0.b",
    "Layout.default",
    "layout.Default",
    "LAYOUT.DEFAULT",
    "layout.défaut",
    "layout.ⅾefault", // U+217E SMALL ROMAN NUMERAL FIVE HUNDRED
    "layout.dеfault", // Cyrillic е
    "layout.default\u{200b}",
    "ｌayout.default", // fullwidth l
    "layout.default ",
    " layout.default",
    "layout. default",
    "layout.de fault",
    "layout.de\tfault",
    "layout.de\nfault",
    "layout.-x",
    "layout._x",
    "-layout.x",
    "layout.x*",
    "layout.x?",
    "layout.x:y",
    "layout.x|y",
    "layout.<x>",
    "layout.\"x\"",
    "settings",
    "backups.manual",
    "layouts.default",
    "layout.x.",
    "layout..x",
    "layout.~x",
    "layout.$x",
    "layout.%2e%2e",
    // 300-byte keys, and a segment of 65 bytes.
    "a.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
];

#[test]
fn hostile_keys_are_rejected() {
    let long = format!("a.{}", ["b"; 149].join("."));
    assert!(long.len() > 255);
    let long_segment = format!("ns.{}", "x".repeat(300));
    let mut all: Vec<&str> = HOSTILE.to_vec();
    all.push(&long);
    all.push(&long_segment);
    assert!(all.len() >= 40, "the table keeps at least 40 hostile keys");
    for key in &all {
        assert!(Key::parse(key).is_err(), "{key:?} was accepted");
    }
    eprintln!("hostile keys: {} rejected", all.len());
}

#[test]
fn boundary_keys_are_accepted() {
    for key in [
        "a.b",
        "layout.default",
        "history.conversations.ab12",
        "ns.0123456789-_abc",
        &format!("a.{}", "x".repeat(64)),
    ] {
        assert!(Key::parse(key).is_ok(), "{key:?} was refused");
    }
    // Exactly 255 bytes is allowed.
    let key = format!("a.{}", vec!["bbb"; 63].join(".")) + ".b";
    assert_eq!(key.len(), 255);
    assert!(Key::parse(&key).is_ok());
}

fn maps_inside(key: &Key) -> bool {
    let rel = key.relative_path();
    let root = Path::new("/root/store");
    let joined = root.join(&rel);
    rel.components().all(|c| matches!(c, Component::Normal(_)))
        && joined.starts_with(root)
        && joined != root
        && Key::from_relative_path(&rel).as_ref() == Some(key)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn any_string_is_rejected_or_maps_inside_the_root(s in any::<String>()) {
        if let Ok(key) = Key::parse(&s) {
            prop_assert!(maps_inside(&key), "{s:?}");
        }
    }

    #[test]
    fn key_like_strings_are_rejected_or_map_inside(s in "[a-zA-Z0-9._/\\\\:-]{0,40}") {
        if let Ok(key) = Key::parse(&s) {
            prop_assert!(maps_inside(&key), "{s:?}");
        }
    }

    #[test]
    fn distinct_keys_have_distinct_paths(a in "[a-z0-9]{1,3}(\\.[a-z0-9_-]{1,3}){1,3}", b in "[a-z0-9]{1,3}(\\.[a-z0-9_-]{1,3}){1,3}") {
        if let (Ok(ka), Ok(kb)) = (Key::parse(&a), Key::parse(&b)) {
            prop_assert_eq!(ka == kb, ka.relative_path() == kb.relative_path());
        }
    }
}
