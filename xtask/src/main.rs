//! Project tasks: `cargo xtask <task>` (an alias in `.cargo/config.toml`).

mod ci;
mod codegen;
mod modules;
mod release;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

const USAGE: &str = "usage: cargo xtask <task>

tasks:
  ci                  what CI runs: fmt check, layer rules (cargo tree -i), clippy -D warnings,
                      every test of the workspace, docs, codegen --check
  layers              only the layer rules (crates, by cargo tree -i) and the module rule
                      (no module imports one that imports it back)
  release VERSION [--dry-run]
                      bump the workspace version (needs a CHANGELOG.md entry), run ci and
                      codegen --check, package every crate leaves first, print the publish order
  man                 write the statevault manual pages into target/man (statevault man --out)
  codegen [--check]   write schemas/*.schema.json and bindings/typescript/statevault.d.ts
                      (--check: write nothing, fail when they are stale)";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let result = match args.as_slice() {
        ["ci"] => ci::run(&workspace_root()),
        ["layers"] => {
            ci::layers(&workspace_root()).and_then(|()| modules::check(&workspace_root()))
        }
        ["release", version] => release::run(&workspace_root(), version, false),
        ["release", version, "--dry-run"] | ["release", "--dry-run", version] => {
            release::run(&workspace_root(), version, true)
        }
        ["man"] => man(&workspace_root()),
        ["codegen"] => codegen::run(&workspace_root(), false),
        ["codegen", "--check"] => codegen::run(&workspace_root(), true),
        ["help" | "--help" | "-h"] => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// `target/man/`: the manual pages a release installs under `share/man/man1`, rendered by the
/// command line itself from the definitions of its `--help`.
fn man(root: &Path) -> anyhow::Result<()> {
    let out = root.join("target").join("man");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let status = std::process::Command::new(cargo)
        .args([
            "run",
            "--quiet",
            "--package",
            "statevault-cli",
            "--",
            "man",
            "--out",
        ])
        .arg(&out)
        .current_dir(root)
        .status()?;
    anyhow::ensure!(status.success(), "statevault man failed ({status})");
    println!("manual pages in {}", out.display());
    Ok(())
}

/// The workspace root: xtask's manifest sits one folder below it.
fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask/Cargo.toml has a parent folder")
        .to_path_buf()
}
