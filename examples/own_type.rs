//! An application's own document: a Rust type with its JSON Schema, registered under a key
//! pattern at a version, with a migration from the version before.
//!
//! `cargo run --example own_type`

use serde::{Deserialize, Serialize};
use statevault::schemars::JsonSchema;
use statevault::{Document, MigrationStep, Store, StoreOptions};

/// The editor's settings, version 2.0.0. Version 1.0.0 stored `font` as `"Name 12"`; 2.0.0 splits
/// it into `font_family` and `font_size`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(crate = "statevault::schemars")]
struct EditorSettings {
    /// The document's version: statevault reads it to decide which migrations to run.
    version: String,
    font_family: String,
    #[schemars(range(min = 6, max = 72))]
    font_size: u32,
    word_wrap: bool,
}

impl Document for EditorSettings {
    const NAME: &'static str = "EditorSettings";
    const VERSION: &'static str = "2.0.0";

    fn migrations() -> Vec<MigrationStep> {
        vec![MigrationStep {
            from: "1.0.0",
            to: "2.0.0",
            description: "split font into font_family and font_size",
            run: |mut doc| {
                let font = doc["font"].take();
                let font = font.as_str().ok_or("`font` must be a string")?;
                let (family, size) = font
                    .rsplit_once(' ')
                    .ok_or("`font` must be \"Name size\"")?;
                let size: u32 = size.parse().map_err(|e| format!("font size: {e}"))?;
                let object = doc.as_object_mut().ok_or("not an object")?;
                object.remove("font");
                object.insert("font_family".into(), family.into());
                object.insert("font_size".into(), size.into());
                object.insert("version".into(), "2.0.0".into());
                Ok(doc)
            },
        }]
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let options = || StoreOptions::new().register::<EditorSettings>("editor.*");

    // What version 1 of the application left behind.
    {
        let v1 = Store::open(dir.path())?;
        v1.save(
            "editor.settings",
            &serde_json::json!({"version": "1.0.0", "font": "Fira Code 13", "word_wrap": true}),
        )?;
    }

    // Version 2 registers its type: the old value is migrated on load, validated, and written
    // back (after an automatic snapshot of the original).
    let store = Store::open_with(dir.path(), options()?)?;
    let settings: EditorSettings = store.load("editor.settings")?.expect("saved above");
    println!("migrated: {settings:?}");
    assert_eq!(settings.font_size, 13);

    // Saves are validated against the type's schema.
    let mut too_big = settings.clone();
    too_big.font_size = 400;
    let error = store.save("editor.settings", &too_big).unwrap_err();
    println!("refused: {error}");

    store.save(
        "editor.settings",
        &EditorSettings {
            word_wrap: false,
            ..settings
        },
    )?;
    println!("saved; snapshots kept: {}", store.list_backups()?.len());
    Ok(())
}
