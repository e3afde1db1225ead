//! The key pattern registry.

use std::sync::Arc;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;
use statevault_schema::{Document, DocumentInfo, Error, Registry};

fn check(registry: &Registry, key: &str, expected: Option<(&str, &str)>) {
    let got = registry
        .lookup_pattern(key)
        .map(|(pattern, info)| (pattern, info.name().to_owned()));
    let expected = expected.map(|(p, n)| (p.to_owned(), n.to_owned()));
    assert_eq!(got, expected, "key {key:?}");
    assert_eq!(
        registry.lookup(key).map(|i| i.name().to_owned()),
        expected.map(|(_, n)| n)
    );
}

#[test]
fn builtin_lookups() {
    let r = Registry::builtin();
    check(&r, "layout.default", Some(("layout.*", "GridLayoutState")));
    check(
        &r,
        "layout.workspace-1",
        Some(("layout.*", "GridLayoutState")),
    );
    check(
        &r,
        "layout.team.mobile",
        Some(("layout.*", "GridLayoutState")),
    );
    check(&r, "layout", None);
    check(&r, "layout.", None);
    check(&r, "layouts.default", None);
    check(
        &r,
        "settings.preferences",
        Some(("settings.preferences", "UserPreferencesState")),
    );
    check(
        &r,
        "settings.themes",
        Some(("settings.themes", "ThemesState")),
    );
    check(
        &r,
        "settings.keybindings",
        Some(("settings.keybindings", "KeybindingsState")),
    );
    check(&r, "settings.themes.dark", None);
    check(&r, "settings.preferences.extra", None);
    check(
        &r,
        "history.conversations",
        Some(("history.conversations", "ConversationHistoryState")),
    );
    check(
        &r,
        "history.conversations.ab12",
        Some(("history.conversations.*", "ConversationHistoryState")),
    );
    check(
        &r,
        "history.conversations.2025.ab12",
        Some(("history.conversations.*", "ConversationHistoryState")),
    );
    check(
        &r,
        "history.contexts.ab12",
        Some(("history.contexts.*", "ConversationContext")),
    );
    check(&r, "history.contexts", None);
    check(&r, "history", None);
    check(&r, "config.app", Some(("config.app", "AppConfig")));
    check(
        &r,
        "config.environment",
        Some(("config.environment", "EnvironmentConfig")),
    );
    check(&r, "notes.today", None);
    check(&r, "", None);
    check(&r, ".", None);
}

#[test]
fn builtin_listing() {
    let r = Registry::builtin();
    let names: Vec<&str> = r.documents().map(|d| d.name()).collect();
    assert_eq!(
        names,
        [
            "AppConfig",
            "ConversationContext",
            "ConversationHistoryState",
            "EnvironmentConfig",
            "GridLayoutState",
            "KeybindingsState",
            "ThemesState",
            "UserPreferencesState"
        ]
    );
    let patterns: Vec<(String, &str)> = r.patterns().map(|(p, d)| (p, d.name())).collect();
    assert_eq!(
        patterns,
        [
            ("config.app".to_owned(), "AppConfig"),
            ("config.environment".to_owned(), "EnvironmentConfig"),
            (
                "history.conversations".to_owned(),
                "ConversationHistoryState"
            ),
            ("settings.keybindings".to_owned(), "KeybindingsState"),
            ("settings.preferences".to_owned(), "UserPreferencesState"),
            ("settings.themes".to_owned(), "ThemesState"),
            ("history.contexts.*".to_owned(), "ConversationContext"),
            (
                "history.conversations.*".to_owned(),
                "ConversationHistoryState"
            ),
            ("layout.*".to_owned(), "GridLayoutState"),
        ]
    );
    // Both history patterns share one info (one validator).
    let a = r.lookup("history.conversations").unwrap() as *const DocumentInfo;
    let b = r.lookup("history.conversations.x").unwrap() as *const DocumentInfo;
    assert_eq!(a, b);
    assert_eq!(r.get("AppConfig").unwrap().name(), "AppConfig");
    assert!(r.get("Nope").is_none());
    assert!(Registry::empty().lookup("layout.default").is_none());
    assert_eq!(Registry::empty().documents().count(), 0);
}

#[test]
fn validates_through_lookup() {
    let r = Registry::builtin();
    let info = r.lookup("settings.preferences").unwrap();
    let mut prefs = crate::common::sample("UserPreferencesState");
    info.validate(&prefs).unwrap();
    prefs["theme"] = json!("neon");
    assert_eq!(
        info.validate(&prefs).unwrap_err().violations[0].pointer,
        "/theme"
    );
}

macro_rules! doc {
    ($name:ident, $version:literal) => {
        #[derive(Serialize, Deserialize, JsonSchema)]
        struct $name {
            x: u8,
        }
        impl Document for $name {
            const NAME: &'static str = stringify!($name);
            const VERSION: &'static str = $version;
        }
    };
}
doc!(Wide, "1.0.0");
doc!(Narrow, "1.0.0");
doc!(Exact, "1.0.0");

#[test]
fn most_specific_pattern_wins() {
    let mut r = Registry::empty();
    r.register::<Wide>("a.*").unwrap();
    r.register::<Narrow>("a.b.*").unwrap();
    r.register::<Exact>("a.b.c").unwrap();
    check(&r, "a.b.c", Some(("a.b.c", "Exact")));
    check(&r, "a.b.c.d", Some(("a.b.*", "Narrow")));
    check(&r, "a.b.d", Some(("a.b.*", "Narrow")));
    check(&r, "a.b", Some(("a.*", "Wide")));
    check(&r, "a.x.y", Some(("a.*", "Wide")));
    check(&r, "a", None);
    check(&r, "b.c", None);
}

#[test]
fn applications_override_nothing_silently() {
    let mut r = Registry::builtin();
    // A more specific pattern under a built-in prefix is allowed and wins.
    r.register::<Exact>("layout.special").unwrap();
    check(&r, "layout.special", Some(("layout.special", "Exact")));
    check(&r, "layout.other", Some(("layout.*", "GridLayoutState")));

    let err = r.register::<Wide>("layout.*").unwrap_err();
    assert!(
        matches!(&err, Error::DuplicatePattern { pattern, existing } if pattern == "layout.*" && existing == "GridLayoutState"),
        "{err}"
    );
    let err = r.register::<Wide>("config.app").unwrap_err();
    assert!(matches!(err, Error::DuplicatePattern { .. }), "{err}");
    // The failed registrations left no trace.
    assert!(r.get("Wide").is_none());

    for bad in [
        "Layout.*",
        "layout",
        "*",
        "layout.*.x",
        "layout..x",
        "layout/x.y",
        "",
    ] {
        assert!(
            matches!(r.register::<Wide>(bad), Err(Error::InvalidPattern { .. })),
            "{bad:?}"
        );
    }
}

#[test]
fn one_name_one_contract() {
    let mut r = Registry::empty();
    r.register::<Wide>("w.*").unwrap();
    // The same type under a second pattern is fine.
    r.register::<Wide>("v.*").unwrap();
    // A runtime document with the same name and a different schema is refused.
    let other = DocumentInfo::from_schema("Wide", "1.0.0", json!({"type": "string"})).unwrap();
    let err = r.register_info("u.*", Arc::new(other)).unwrap_err();
    assert!(
        matches!(&err, Error::NameConflict { name } if name == "Wide"),
        "{err}"
    );
    // Same name, same schema, same version: the same contract, accepted.
    let same = DocumentInfo::from_schema("Wide", "1.0.0", r.get("Wide").unwrap().schema().clone())
        .unwrap();
    r.register_info("t.*", Arc::new(same)).unwrap();
    assert_eq!(r.documents().count(), 1);
    assert!(Arc::ptr_eq(
        &r.get_shared("Wide").unwrap(),
        &r.get_shared("Wide").unwrap()
    ));
}
