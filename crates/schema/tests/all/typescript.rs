//! Snapshot tests of the TypeScript generator: each `tests/data/ts/<Name>.schema.json` must
//! translate to the hand-checked `tests/data/ts/<Name>.d.ts` beside it (root type `<Name>`).
//! `UPDATE_EXPECT=1 cargo test -p statevault-schema` rewrites the expectations; review the diff.

use std::fs;

use statevault_schema::typescript;

use crate::common::data_dir;

#[test]
fn snapshots() {
    let dir = data_dir().join("ts");
    let update = std::env::var_os("UPDATE_EXPECT").is_some_and(|v| v == "1");
    let mut schemas: Vec<_> = fs::read_dir(&dir)
        .expect("tests/data/ts exists")
        .map(|e| e.expect("readable").path())
        .filter(|p| p.to_str().is_some_and(|s| s.ends_with(".schema.json")))
        .collect();
    schemas.sort();
    assert!(
        schemas.len() >= 8,
        "expected the snapshot schemas in {}",
        dir.display()
    );
    let mut failures = Vec::new();
    for path in schemas {
        let file = path.file_name().unwrap().to_str().unwrap();
        let name = file.trim_end_matches(".schema.json");
        let schema: serde_json::Value = serde_json::from_str(&fs::read_to_string(&path).unwrap())
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        let got = typescript(&schema, name).unwrap_or_else(|e| panic!("{file}: {e}"));
        let expected_path = dir.join(format!("{name}.d.ts"));
        if update {
            fs::write(&expected_path, &got).unwrap();
            continue;
        }
        let expected = fs::read_to_string(&expected_path)
            .unwrap_or_else(|e| panic!("{}: {e}", expected_path.display()))
            .replace("\r\n", "\n");
        if got != expected {
            failures.push(format!(
                "--- {name}.d.ts expected\n{expected}\n--- generated\n{got}"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "generated TypeScript differs (UPDATE_EXPECT=1 rewrites the expectations):\n{}",
        failures.join("\n")
    );
}
