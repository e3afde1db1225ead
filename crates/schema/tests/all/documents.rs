//! The built-in documents: valid samples pass, invalid ones fail at the expected pointers, every
//! violation is listed, messages do not leak data, and `DocumentInfo` behaves.

use std::sync::Arc;

use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use statevault_schema::{
    AppConfig, ConversationContext, ConversationHistoryState, Document, DocumentInfo,
    EnvironmentConfig, Error, GridLayoutState, KeybindingsState, MigrationStep, ThemesState,
    UserPreferencesState, document_info, validate,
};

use crate::common::{Edit, Edit::Remove, Edit::Set, edited, sample};

/// Validates `T`'s sample with `edits` applied and compares the pointers of the violations
/// (each once, sorted) with `expected`; an empty `expected` means the value must pass.
fn check<T: Document>(edits: &[Edit], expected: &[&str]) {
    let value = edited(sample(T::NAME), edits);
    let got: Vec<String> = match validate::<T>(&value) {
        Ok(()) => Vec::new(),
        Err(e) => {
            assert_eq!(e.document, T::NAME);
            let mut pointers: Vec<String> =
                e.violations.iter().map(|v| v.pointer.clone()).collect();
            pointers.sort();
            pointers.dedup();
            pointers
        }
    };
    assert_eq!(got, expected, "{} with {edits:?}", T::NAME);
}

/// The sample passes, deserialises, and serialises back to the same JSON.
fn sample_is_valid<T: Document + std::fmt::Debug>() {
    let value = sample(T::NAME);
    validate::<T>(&value).unwrap_or_else(|e| panic!("{e}"));
    let typed: T = serde_json::from_value(value.clone()).expect("deserialises");
    assert_eq!(
        serde_json::to_value(&typed).unwrap(),
        value,
        "{} round trip",
        T::NAME
    );
}

#[test]
fn valid_samples_pass() {
    sample_is_valid::<GridLayoutState>();
    sample_is_valid::<UserPreferencesState>();
    sample_is_valid::<ConversationHistoryState>();
    sample_is_valid::<AppConfig>();
    sample_is_valid::<ThemesState>();
    sample_is_valid::<KeybindingsState>();
    sample_is_valid::<EnvironmentConfig>();
    sample_is_valid::<ConversationContext>();
}

#[test]
fn defaults_are_valid() {
    fn check_default<T: Document + Default>() {
        let value = serde_json::to_value(T::default()).unwrap();
        validate::<T>(&value).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(value["version"], T::VERSION, "{}", T::NAME);
    }
    check_default::<UserPreferencesState>();
    check_default::<AppConfig>();
    check_default::<ConversationHistoryState>();
    check_default::<ThemesState>();
    check_default::<KeybindingsState>();
    check_default::<EnvironmentConfig>();
    let context = serde_json::to_value(ConversationContext::new("c1", 1_764_126_790_000)).unwrap();
    validate::<ConversationContext>(&context).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        validate::<ConversationContext>(
            &serde_json::to_value(ConversationContext::new("", 0)).unwrap()
        )
        .is_err(),
        "a context belongs to a conversation"
    );
}

#[test]
fn invalid_grid_layouts() {
    type T = GridLayoutState;
    check::<T>(&[], &[]);
    check::<T>(&[Set("/layout/chat/w", json!(0))], &["/layout/chat/w"]);
    check::<T>(&[Set("/layout/chat/h", json!(0))], &["/layout/chat/h"]);
    check::<T>(
        &[Set("/layout/chat/minW", json!(0))],
        &["/layout/chat/minW"],
    );
    check::<T>(
        &[Set("/layout/chat/maxH", json!("4"))],
        &["/layout/chat/maxH"],
    );
    check::<T>(&[Set("/layout/chat/x", json!(-1))], &["/layout/chat/x"]);
    check::<T>(
        &[Set("/layout/chat/x", json!(4_294_967_296u64))],
        &["/layout/chat/x"],
    );
    check::<T>(&[Set("/layout/chat/y", json!(1.5))], &["/layout/chat/y"]);
    check::<T>(&[Set("/layout/chat/i", json!(""))], &["/layout/chat/i"]);
    check::<T>(&[Remove("/layout/chat/i")], &["/layout/chat"]);
    check::<T>(
        &[Set("/layout/chat/static", json!("yes"))],
        &["/layout/chat/static"],
    );
    check::<T>(
        &[Set("/layout/chat/resizeHandles", json!(["se", "up"]))],
        &["/layout/chat/resizeHandles/1"],
    );
    check::<T>(
        &[Set("/layout/chat/colour", json!("red"))],
        &["/layout/chat"],
    );
    check::<T>(&[Set("/layout/chat", json!([]))], &["/layout/chat"]);
    check::<T>(
        &[Set("/instances/chat/id", json!(""))],
        &["/instances/chat/id"],
    );
    check::<T>(
        &[Set("/instances/chat/widgetType", json!(""))],
        &["/instances/chat/widgetType"],
    );
    check::<T>(
        &[Set("/instances/chat/title", json!(null))],
        &["/instances/chat/title"],
    );
    check::<T>(
        &[Set("/instances/chat/config", json!([]))],
        &["/instances/chat/config"],
    );
    check::<T>(&[Remove("/instances/chat/state")], &["/instances/chat"]);
    check::<T>(&[Remove("/metadata")], &[""]);
    check::<T>(&[Set("/metadata/name", json!(""))], &["/metadata/name"]);
    check::<T>(
        &[Set("/metadata/description", json!(null))],
        &["/metadata/description"],
    );
    check::<T>(
        &[Set("/metadata/tags", json!(["a", 1]))],
        &["/metadata/tags/1"],
    );
    check::<T>(&[Set("/version", json!("1.0"))], &["/version"]);
    check::<T>(&[Set("/version", json!("v1.0.0"))], &["/version"]);
    check::<T>(&[Set("/version", json!(1))], &["/version"]);
    check::<T>(
        &[Set("/timestamp", json!(9_007_199_254_740_992u64))],
        &["/timestamp"],
    );
    check::<T>(&[Set("/timestamp", json!("2025-11-26"))], &["/timestamp"]);
    check::<T>(&[Set("/layout", json!([]))], &["/layout"]);
    // The keys of `layout` and `instances` are free-form.
    check::<T>(
        &[Set(
            "/layout/with~1slash",
            json!({"i": "x", "x": 0, "y": 0, "w": 1, "h": 1}),
        )],
        &[],
    );
}

#[test]
fn invalid_preferences() {
    type T = UserPreferencesState;
    check::<T>(&[Set("/theme", json!("neon"))], &["/theme"]);
    check::<T>(&[Set("/theme", json!(null))], &["/theme"]);
    check::<T>(&[Set("/language", json!(""))], &["/language"]);
    check::<T>(&[Set("/language", json!("english please"))], &["/language"]);
    check::<T>(&[Set("/language", json!("zh-Hant-TW"))], &[]);
    check::<T>(
        &[Set("/keyBindings/palette.open", json!(1))],
        &["/keyBindings/palette.open"],
    );
    check::<T>(
        &[Set("/ui/gridDensity", json!("dense"))],
        &["/ui/gridDensity"],
    );
    check::<T>(
        &[Set("/ui/sidebarCollapsed", json!("no"))],
        &["/ui/sidebarCollapsed"],
    );
    check::<T>(&[Remove("/privacy/telemetryEnabled")], &["/privacy"]);
    check::<T>(&[Set("/colour", json!("red"))], &[""]);
}

#[test]
fn invalid_histories() {
    type T = ConversationHistoryState;
    check::<T>(
        &[Set("/conversations/0/messages/0/role", json!("moderator"))],
        &["/conversations/0/messages/0/role"],
    );
    check::<T>(
        &[Set("/conversations/0/messages/1/tokens", json!(-1))],
        &["/conversations/0/messages/1/tokens"],
    );
    check::<T>(
        &[Set("/conversations/0/messages/1/content", json!(null))],
        &["/conversations/0/messages/1/content"],
    );
    check::<T>(
        &[Remove("/conversations/0/createdAt")],
        &["/conversations/0"],
    );
    check::<T>(
        &[Set("/conversations/1/id", json!(""))],
        &["/conversations/1/id"],
    );
    check::<T>(
        &[Set("/conversations/0/tags", json!(["x", null]))],
        &["/conversations/0/tags/1"],
    );
    check::<T>(
        &[Set("/conversations/0/title", json!(null))],
        &["/conversations/0/title"],
    );
    check::<T>(
        &[Set("/metadata/totalCount", json!(-1))],
        &["/metadata/totalCount"],
    );
    check::<T>(&[Set("/conversations", json!({}))], &["/conversations"]);
}

#[test]
fn invalid_app_configs() {
    type T = AppConfig;
    check::<T>(
        &[Set("/window/bounds/width", json!(0))],
        &["/window/bounds/width"],
    );
    check::<T>(
        &[Set("/window/bounds/x", json!(2_147_483_648u64))],
        &["/window/bounds/x"],
    );
    check::<T>(&[Set("/window/bounds/y", json!(-2_147_483_648i64))], &[]);
    check::<T>(
        &[Set("/window/displayId", json!(-5))],
        &["/window/displayId"],
    );
    check::<T>(&[Remove("/window/maximized")], &["/window"]);
    check::<T>(
        &[Set("/paths/dataDir", json!("relative/dir"))],
        &["/paths/dataDir"],
    );
    check::<T>(&[Set("/paths/cacheDir", json!("\\\\server\\share"))], &[]);
    check::<T>(
        &[Set("/featureFlags/newGrid", json!("yes"))],
        &["/featureFlags/newGrid"],
    );
    check::<T>(&[Set("/featureFlags/", json!(true))], &["/featureFlags"]);
    check::<T>(&[Set("/logLevel", json!("verbose"))], &["/logLevel"]);
    check::<T>(
        &[Set("/updates/channel", json!("canary"))],
        &["/updates/channel"],
    );
}

#[test]
fn invalid_themes() {
    type T = ThemesState;
    check::<T>(&[Set("/active", json!(""))], &["/active"]);
    check::<T>(&[Set("/active", json!("Solarized Night"))], &["/active"]);
    check::<T>(&[Remove("/active")], &[""]);
    check::<T>(
        &[Set("/themes/paper/base", json!("sepia"))],
        &["/themes/paper/base"],
    );
    check::<T>(
        &[Set("/themes/paper/label", json!(""))],
        &["/themes/paper/label"],
    );
    check::<T>(
        &[Set("/themes/paper/colors/editor.background", json!("red"))],
        &["/themes/paper/colors/editor.background"],
    );
    check::<T>(
        &[Set("/themes/paper/colors/editor.background", json!("#fff"))],
        &["/themes/paper/colors/editor.background"],
    );
    check::<T>(
        &[Set(
            "/themes/paper/colors/editor.background",
            json!("#FFFFFF80"),
        )],
        &[],
    );
    check::<T>(
        &[Set("/themes/paper/colors/two words", json!("#ffffff"))],
        &["/themes/paper/colors"],
    );
    check::<T>(
        &[Set(
            "/themes/Paper Two",
            json!({"label": "x", "base": "light", "colors": {}}),
        )],
        &["/themes"],
    );
    check::<T>(&[Remove("/themes/paper/colors")], &["/themes/paper"]);
}

#[test]
fn invalid_keybindings() {
    type T = KeybindingsState;
    check::<T>(&[Set("/bindings/0/keys", json!(""))], &["/bindings/0/keys"]);
    check::<T>(
        &[Set("/bindings/0/keys", json!("Ctrl+"))],
        &["/bindings/0/keys"],
    );
    check::<T>(
        &[Set("/bindings/0/keys", json!("Ctrl+K  Ctrl+S"))],
        &["/bindings/0/keys"],
    );
    check::<T>(&[Set("/bindings/0/keys", json!("F12"))], &[]);
    check::<T>(&[Set("/bindings/0/keys", json!("Alt+Shift+Left"))], &[]);
    check::<T>(
        &[Set("/bindings/0/command", json!("open palette"))],
        &["/bindings/0/command"],
    );
    check::<T>(
        &[Set("/bindings/0/command", json!(""))],
        &["/bindings/0/command"],
    );
    check::<T>(&[Set("/bindings/1/when", json!(""))], &["/bindings/1/when"]);
    check::<T>(
        &[Set("/bindings/1/when", json!(null))],
        &["/bindings/1/when"],
    );
    check::<T>(
        &[Set("/bindings/3/disabled", json!("yes"))],
        &["/bindings/3/disabled"],
    );
    check::<T>(&[Remove("/bindings/0/keys")], &["/bindings/0"]);
    check::<T>(&[Set("/bindings", json!({}))], &["/bindings"]);
}

#[test]
fn invalid_environments() {
    type T = EnvironmentConfig;
    check::<T>(&[Set("/name", json!("test"))], &["/name"]);
    check::<T>(&[Set("/name", json!("development"))], &[]);
    check::<T>(&[Set("/variables/1PATH", json!("x"))], &["/variables"]);
    check::<T>(&[Set("/variables/MY-VAR", json!("x"))], &["/variables"]);
    check::<T>(&[Set("/variables/PORT", json!(8080))], &["/variables/PORT"]);
    check::<T>(&[Remove("/endpoints")], &[]);
    check::<T>(
        &[Set("/endpoints/api", json!("api.example.com"))],
        &["/endpoints/api"],
    );
    check::<T>(
        &[Set("/endpoints/api", json!("ftp://api.example.com"))],
        &["/endpoints/api"],
    );
    check::<T>(
        &[Set("/endpoints/API", json!("https://api.example.com"))],
        &["/endpoints"],
    );
    check::<T>(&[Remove("/variables")], &[""]);
}

#[test]
fn invalid_contexts() {
    type T = ConversationContext;
    check::<T>(&[Set("/conversationId", json!(""))], &["/conversationId"]);
    check::<T>(&[Set("/summary", json!(null))], &["/summary"]);
    check::<T>(
        &[Set("/pinnedMessages/0/role", json!("moderator"))],
        &["/pinnedMessages/0/role"],
    );
    check::<T>(
        &[Remove("/pinnedMessages/0/pinnedAt")],
        &["/pinnedMessages/0"],
    );
    check::<T>(&[Set("/entities/0/kind", json!(""))], &["/entities/0/kind"]);
    check::<T>(&[Set("/tags/1", json!(2))], &["/tags/1"]);
    check::<T>(&[Set("/updatedAt", json!(-1))], &["/updatedAt"]);
    check::<T>(&[Set("/tokenBudget", json!(0))], &["/tokenBudget"]);
    check::<T>(&[Remove("/tokenBudget")], &[]);
    check::<T>(&[Set("/messages", json!([]))], &[""]);
}

#[test]
fn not_an_object_at_all() {
    for value in [json!([]), json!(null), json!("layout"), json!(1)] {
        let err = validate::<GridLayoutState>(&value).unwrap_err();
        assert_eq!(err.violations.len(), 1, "{value}: {err}");
        assert_eq!(err.violations[0].pointer, "");
    }
}

#[test]
fn every_violation_is_listed() {
    let value = edited(
        sample("UserPreferencesState"),
        &[
            Set("/theme", json!("neon")),
            Set("/ui/showGridLines", json!("yes")),
        ],
    );
    let err = validate::<UserPreferencesState>(&value).unwrap_err();
    let pointers: Vec<&str> = err.violations.iter().map(|v| v.pointer.as_str()).collect();
    assert_eq!(pointers, ["/theme", "/ui/showGridLines"], "{err}");

    // Five broken fields in different places of a layout give five distinct pointers.
    let value = edited(
        sample("GridLayoutState"),
        &[
            Set("/version", json!("one")),
            Set("/layout/chat/w", json!(0)),
            Set("/layout/terminal/h", json!(-3)),
            Set("/instances/chat/widgetType", json!("")),
            Remove("/metadata/tags"),
        ],
    );
    let err = validate::<GridLayoutState>(&value).unwrap_err();
    let mut pointers: Vec<&str> = err.violations.iter().map(|v| v.pointer.as_str()).collect();
    pointers.sort();
    pointers.dedup();
    assert_eq!(
        pointers,
        [
            "/instances/chat/widgetType",
            "/layout/chat/w",
            "/layout/terminal/h",
            "/metadata",
            "/version"
        ],
        "{err}"
    );
    let text = err.to_string();
    assert!(
        text.starts_with("GridLayoutState failed validation with"),
        "{text}"
    );
    assert!(text.contains("/layout/chat/w: "), "{text}");
}

#[test]
fn violations_carry_messages_and_schema_paths() {
    let value = edited(
        sample("GridLayoutState"),
        &[Set("/layout/chat/w", json!(0)), Remove("/metadata/name")],
    );
    let err = validate::<GridLayoutState>(&value).unwrap_err();
    let w = err
        .violations
        .iter()
        .find(|v| v.pointer == "/layout/chat/w")
        .unwrap();
    assert!(w.message.contains("minimum of 1"), "{}", w.message);
    assert!(w.schema_path.ends_with("/minimum"), "{}", w.schema_path);
    let name = err
        .violations
        .iter()
        .find(|v| v.pointer == "/metadata")
        .unwrap();
    assert!(name.message.contains("\"name\""), "{}", name.message);
    assert!(
        name.schema_path.ends_with("/required"),
        "{}",
        name.schema_path
    );
}

/// Conversation text is confidential: a validation message names the place and the rule, never
/// the value.
#[test]
fn messages_do_not_contain_the_data() {
    let secret = "my bank PIN is 4921";
    let value = edited(
        sample("ConversationHistoryState"),
        &[
            Set("/conversations/0/messages/0/role", json!(secret)),
            Set(
                "/conversations/0/messages/1/content",
                json!({ "text": secret }),
            ),
            Set("/conversations/0/title", json!([secret])),
        ],
    );
    let err = validate::<ConversationHistoryState>(&value).unwrap_err();
    assert!(err.violations.len() >= 3, "{err}");
    let text = serde_json::to_string(&err).unwrap() + &err.to_string();
    assert!(!text.contains("4921"), "{text}");
}

// ---- application documents ----------------------------------------------------------------

#[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
struct Note {
    version: String,
    #[schemars(length(min = 1))]
    text: String,
}

fn rename_body(mut value: Value) -> Result<Value, String> {
    let map = value.as_object_mut().ok_or("a note is an object")?;
    let body = map.remove("body").ok_or("a 1.0.0 note has a body")?;
    map.insert("text".into(), body);
    map.insert("version".into(), "2.0.0".into());
    Ok(value)
}

impl Document for Note {
    const NAME: &'static str = "Note";
    const VERSION: &'static str = "2.0.0";
    fn migrations() -> Vec<MigrationStep> {
        vec![MigrationStep {
            from: "1.0.0",
            to: "2.0.0",
            description: "rename body to text",
            run: rename_body,
        }]
    }
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
struct Unversioned {
    n: u8,
}

impl Document for Unversioned {
    const NAME: &'static str = "Unversioned";
    const VERSION: &'static str = "0.1.0-beta.2";
}

#[test]
fn document_info_describes_a_type() {
    let info = DocumentInfo::of::<Note>();
    assert_eq!(info.name(), "Note");
    assert_eq!(info.version(), &semver::Version::new(2, 0, 0));
    assert_eq!(info.schema()["title"], "Note");
    assert!(info.has_version_field());
    assert_eq!(
        info.data_version(&json!({"version": "1.0.0", "body": "x"})),
        Some("1.0.0")
    );

    let steps = info.migrations();
    assert_eq!(steps.len(), 1);
    assert_eq!((steps[0].from, steps[0].to), ("1.0.0", "2.0.0"));
    let migrated = (steps[0].run)(json!({"version": "1.0.0", "body": "hello"})).unwrap();
    info.validate(&migrated).unwrap();
    let note: Note = serde_json::from_value(migrated).unwrap();
    assert_eq!(
        note,
        Note {
            version: "2.0.0".into(),
            text: "hello".into()
        }
    );
    assert_eq!(
        (steps[0].run)(json!([])),
        Err("a note is an object".to_owned())
    );

    // Old data fails the current schema: that is why the facade migrates before validating.
    assert!(
        info.validate(&json!({"version": "1.0.0", "body": "hello"}))
            .is_err()
    );

    let unversioned = DocumentInfo::of::<Unversioned>();
    assert!(!unversioned.has_version_field());
    assert_eq!(
        unversioned.data_version(&json!({"version": "1.0.0", "n": 1})),
        None
    );
    assert_eq!(unversioned.version().pre.as_str(), "beta.2");
    // u8 keeps schemars' own bounds.
    assert!(unversioned.validate(&json!({"n": 256})).is_err());
    assert!(unversioned.validate(&json!({"n": 255})).is_ok());
}

#[test]
fn document_info_is_built_once_per_type() {
    let a = document_info::<Note>();
    let b = document_info::<Note>();
    assert!(Arc::ptr_eq(&a, &b));
    assert!(!Arc::ptr_eq(
        &document_info::<GridLayoutState>(),
        &document_info::<AppConfig>()
    ));
    // The same validator serves every thread.
    let handles: Vec<_> = (0..4)
        .map(|i| {
            std::thread::spawn(move || {
                let info = document_info::<Note>();
                info.validate(&json!({"version": "2.0.0", "text": format!("t{i}")}))
                    .is_ok()
                    && Arc::ptr_eq(&info, &document_info::<Note>())
            })
        })
        .collect();
    for handle in handles {
        assert!(handle.join().unwrap());
    }
}

#[test]
fn documents_from_schemas() {
    let info = DocumentInfo::from_schema(
        "Counter",
        "1.2.3",
        json!({"type": "object", "properties": {"n": {"type": "integer", "minimum": 0}}, "required": ["n"]}),
    )
    .unwrap();
    assert!(info.validate(&json!({"n": 3})).is_ok());
    let err = info.validate(&json!({"n": -3})).unwrap_err();
    assert_eq!(err.document, "Counter");
    assert_eq!(err.violations[0].pointer, "/n");

    let broken =
        DocumentInfo::from_schema("Broken", "1.0.0", json!({"type": "string", "pattern": "("}));
    assert!(
        matches!(broken, Err(Error::SchemaCompile { ref document, .. }) if document == "Broken"),
        "{broken:?}"
    );
    let broken = DocumentInfo::from_schema("Broken", "1.0.0", json!({"type": 7}));
    assert!(
        matches!(broken, Err(Error::SchemaCompile { .. })),
        "{broken:?}"
    );
    let unresolved =
        DocumentInfo::from_schema("Dangling", "1.0.0", json!({"$ref": "#/$defs/Missing"}));
    assert!(
        matches!(unresolved, Err(Error::SchemaCompile { .. })),
        "{unresolved:?}"
    );
    assert!(matches!(
        DocumentInfo::from_schema("my doc", "1.0.0", json!({})),
        Err(Error::InvalidName { .. })
    ));
    assert!(matches!(
        DocumentInfo::from_schema("Doc", "1.0", json!({})),
        Err(Error::InvalidVersion { .. })
    ));
    // An http reference is not fetched (no network features): the schema does not compile.
    let remote = DocumentInfo::from_schema(
        "Remote",
        "1.0.0",
        json!({"$ref": "https://example.invalid/s.json"}),
    );
    assert!(
        matches!(remote, Err(Error::SchemaCompile { .. })),
        "{remote:?}"
    );
}

/// Deserialising through the built-in types is no looser than the schema: unknown fields are
/// refused by both.
#[test]
fn serde_refuses_unknown_fields_too() {
    fn refused<T: DeserializeOwned>(name: &str, edits: &[Edit]) {
        let value = edited(sample(name), edits);
        assert!(
            serde_json::from_value::<T>(value).is_err(),
            "{name} {edits:?}"
        );
    }
    refused::<GridLayoutState>("GridLayoutState", &[Set("/metadata/colour", json!(1))]);
    refused::<UserPreferencesState>("UserPreferencesState", &[Set("/ui/x", json!(1))]);
    refused::<ConversationHistoryState>(
        "ConversationHistoryState",
        &[Set("/conversations/0/messages/0/x", json!(1))],
    );
    refused::<AppConfig>("AppConfig", &[Set("/window/bounds/z", json!(1))]);
    refused::<ThemesState>("ThemesState", &[Set("/themes/paper/x", json!(1))]);
    refused::<KeybindingsState>("KeybindingsState", &[Set("/bindings/0/x", json!(1))]);
    refused::<EnvironmentConfig>("EnvironmentConfig", &[Set("/x", json!(1))]);
    refused::<ConversationContext>("ConversationContext", &[Set("/entities/1/x", json!(1))]);
}
