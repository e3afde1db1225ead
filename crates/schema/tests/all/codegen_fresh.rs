//! The committed `schemas/*.schema.json` and `bindings/typescript/statevault.d.ts` are what the
//! code generates now.

use std::fs;

use statevault_schema::{SCHEMAS_DIR, generated_files};

use crate::common::workspace_root;

#[test]
fn committed_files_are_fresh() {
    let root = workspace_root();
    let files = generated_files().expect("generates");
    let mut stale = Vec::new();
    for file in &files {
        match fs::read_to_string(root.join(&file.path)) {
            Ok(text) if text.replace("\r\n", "\n") == file.contents => {}
            Ok(_) => stale.push(format!("{} (out of date)", file.path)),
            Err(_) => stale.push(format!("{} (missing)", file.path)),
        }
    }
    for entry in fs::read_dir(root.join(SCHEMAS_DIR))
        .expect("schemas/ exists")
        .flatten()
    {
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = format!("{SCHEMAS_DIR}/{name}");
        if name.ends_with(".schema.json") && !files.iter().any(|f| f.path == path) {
            stale.push(format!("{path} (no longer generated)"));
        }
    }
    assert!(
        stale.is_empty(),
        "generated files are stale, run `cargo xtask codegen`:\n  {}",
        stale.join("\n  ")
    );
}
