//! `cargo xtask codegen [--check]`: writes (or checks) the JSON Schemas and TypeScript
//! declarations generated from statevault-schema.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use anyhow::{Context, bail};
use statevault_schema::{SCHEMAS_DIR, generated_files};

/// Writes every generated file under `root` (the workspace root) and removes `*.schema.json`
/// files in `schemas/` that nothing generates any more. With `check`, writes nothing and fails
/// listing every file that is missing, different or left over.
pub fn run(root: &Path, check: bool) -> anyhow::Result<()> {
    let files = generated_files().context("generating schemas and TypeScript")?;
    let generated: BTreeSet<&str> = files.iter().map(|f| f.path.as_str()).collect();
    let mut stale = Vec::new();
    for file in &files {
        let path = root.join(&file.path);
        let current = match fs::read_to_string(&path) {
            Ok(text) => Some(text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        };
        // A checkout with CRLF line ends holds the same text.
        if current
            .as_deref()
            .map(|t| t.replace("\r\n", "\n"))
            .as_deref()
            == Some(file.contents.as_str())
        {
            continue;
        }
        if check {
            let why = if current.is_some() {
                "out of date"
            } else {
                "missing"
            };
            stale.push(format!("{} ({why})", file.path));
        } else {
            if let Some(dir) = path.parent() {
                fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
            }
            fs::write(&path, &file.contents)
                .with_context(|| format!("writing {}", path.display()))?;
            println!("wrote {}", file.path);
        }
    }
    for orphan in orphans(root, &generated)? {
        if check {
            stale.push(format!("{orphan} (no longer generated)"));
        } else {
            let path = root.join(&orphan);
            fs::remove_file(&path).with_context(|| format!("removing {}", path.display()))?;
            println!("removed {orphan}");
        }
    }
    if !stale.is_empty() {
        bail!(
            "generated files are stale, run `cargo xtask codegen`:\n  {}",
            stale.join("\n  ")
        );
    }
    Ok(())
}

/// `schemas/*.schema.json` files that are not in `generated`.
fn orphans(root: &Path, generated: &BTreeSet<&str>) -> anyhow::Result<Vec<String>> {
    let dir = root.join(SCHEMAS_DIR);
    let entries = match fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("listing {}", dir.display())),
    };
    let mut orphans = Vec::new();
    for entry in entries {
        let entry = entry.with_context(|| format!("listing {}", dir.display()))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let relative = format!("{SCHEMAS_DIR}/{name}");
        if name.ends_with(".schema.json") && !generated.contains(relative.as_str()) {
            orphans.push(relative);
        }
    }
    orphans.sort();
    Ok(orphans)
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
