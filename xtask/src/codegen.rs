//! `cargo xtask codegen [--check]`: writes (or checks) the JSON Schemas and TypeScript
//! declarations generated from statevault-schema.

use std::fs;
use std::path::Path;

use anyhow::Context;
use statevault_schema::{Staleness, ensure_generated_files, generated_files, stale_files};

/// Writes every generated file under `root` (the workspace root) and removes `*.schema.json`
/// files in `schemas/` that nothing generates any more. With `check`, writes nothing and fails
/// listing every file that is missing, different or left over (the check the schema crate's
/// freshness test makes too).
pub fn run(root: &Path, check: bool) -> anyhow::Result<()> {
    if check {
        return Ok(ensure_generated_files(root)?);
    }
    let files = generated_files().context("generating schemas and TypeScript")?;
    for stale in stale_files(root, &files)? {
        let path = root.join(&stale.path);
        match stale.staleness {
            Staleness::NoLongerGenerated => {
                fs::remove_file(&path).with_context(|| format!("removing {}", path.display()))?;
                println!("removed {}", stale.path);
            }
            _ => {
                let file = files
                    .iter()
                    .find(|f| f.path == stale.path)
                    .expect("a stale file that is generated is among the generated files");
                if let Some(dir) = path.parent() {
                    fs::create_dir_all(dir)
                        .with_context(|| format!("creating {}", dir.display()))?;
                }
                fs::write(&path, &file.contents)
                    .with_context(|| format!("writing {}", path.display()))?;
                println!("wrote {}", stale.path);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("xtask-codegen-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn check_fails_on_an_empty_tree_then_passes_after_writing() {
        let root = scratch("roundtrip");
        let err = run(&root, true).unwrap_err().to_string();
        assert!(err.contains("run `cargo xtask codegen`"), "{err}");
        assert!(
            err.contains("schemas/AppConfig.schema.json (missing)"),
            "{err}"
        );
        run(&root, false).unwrap();
        run(&root, true).unwrap();

        // An edited file and a left-over schema are both reported, and fixed by a write.
        fs::write(
            root.join("bindings/typescript/statevault.d.ts"),
            "// edited\n",
        )
        .unwrap();
        fs::write(root.join("schemas/Removed.schema.json"), "{}\n").unwrap();
        let err = run(&root, true).unwrap_err().to_string();
        assert!(
            err.contains("bindings/typescript/statevault.d.ts (out of date)"),
            "{err}"
        );
        assert!(
            err.contains("schemas/Removed.schema.json (no longer generated)"),
            "{err}"
        );
        run(&root, false).unwrap();
        run(&root, true).unwrap();
        assert!(!root.join("schemas/Removed.schema.json").exists());
        fs::remove_dir_all(&root).unwrap();
    }
}
