//! `cargo xtask ci`: everything CI checks about the Rust code, in the order a developer wants
//! to hear about failures.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};

/// Which workspace packages may depend on each layer (`docs/ARCHITECTURE.md`, "Invariants"):
/// only the facade composes layers; `backup` builds on `core`; `xtask` generates code from
/// `schema`.
const LAYER_DEPENDENTS: &[(&str, &[&str])] = &[
    ("statevault-core", &["statevault", "statevault-backup"]),
    ("statevault-codec", &["statevault"]),
    ("statevault-schema", &["statevault", "xtask"]),
    ("statevault-migrate", &["statevault"]),
    ("statevault-backup", &["statevault"]),
];

/// The feature sets built, linted and tested beside the workspace's default one: each package
/// with optional layers without them, and with each alone (decision 0018). The facade's run
/// `tests/minimal.rs` (`tests/all.rs` needs every feature).
const FEATURE_SETS: &[(&str, &[&str])] = &[
    (
        "statevault",
        &["", "backup", "compression", "encryption", "schema"],
    ),
    ("statevault-codec", &["", "compression", "encryption"]),
    ("statevault-schema", &["", "validation", "typescript"]),
];

pub(crate) fn run(root: &Path) -> Result<()> {
    step(root, "format", &["fmt", "--all", "--check"], &[])?;
    layers(root)?;
    crate::modules::check(root)?;
    step(
        root,
        "clippy",
        &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ],
        &[],
    )?;
    // `--show-output` keeps what passing tests print: the sweeps report how many failure and
    // crash points they covered.
    step(
        root,
        "tests",
        &["test", "--workspace", "--", "--show-output"],
        &[],
    )?;
    features(root)?;
    step(
        root,
        "docs",
        &["doc", "--workspace", "--no-deps"],
        &[("RUSTDOCFLAGS", "-D warnings")],
    )?;
    crate::codegen::run(root, true).context("generated files are stale")?;
    println!("xtask ci: all checks passed");
    Ok(())
}

/// Clippy and the tests of each package in each of its reduced feature sets.
fn features(root: &Path) -> Result<()> {
    for (package, sets) in FEATURE_SETS {
        for features in *sets {
            let mut selection = vec!["-p", package, "--no-default-features"];
            if !features.is_empty() {
                selection.extend(["--features", features]);
            }
            let name = format!("features: {package} [{features}]");
            let mut clippy = vec!["clippy"];
            clippy.extend(&selection);
            clippy.extend(["--all-targets", "--", "-D", "warnings"]);
            step(root, &name, &clippy, &[])?;
            let mut test = vec!["test"];
            test.extend(&selection);
            test.extend(["--lib", "--tests"]);
            step(root, &name, &test, &[])?;
        }
    }
    Ok(())
}

fn step(root: &Path, name: &str, args: &[&str], env: &[(&str, &str)]) -> Result<()> {
    println!("xtask ci: {name}: cargo {}", args.join(" "));
    let status = Command::new(cargo())
        .args(args)
        .envs(env.iter().copied())
        .current_dir(root)
        .status()
        .with_context(|| format!("running cargo {}", args.join(" ")))?;
    if !status.success() {
        bail!("{name} failed ({status})");
    }
    Ok(())
}

/// The layer-independence check: `cargo tree -i` lists who depends on each layer.
pub(crate) fn layers(root: &Path) -> Result<()> {
    println!("xtask ci: layers: cargo tree -i for each layer");
    let mut violations = Vec::new();
    for (layer, allowed) in LAYER_DEPENDENTS {
        let output = Command::new(cargo())
            .args([
                "tree",
                "--workspace",
                "-i",
                layer,
                "-e",
                "normal,build",
                "--prefix",
                "none",
                "--depth",
                "1",
            ])
            .current_dir(root)
            .output()
            .with_context(|| format!("running cargo tree -i {layer}"))?;
        if !output.status.success() {
            bail!(
                "cargo tree -i {layer} failed: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        let dependents: BTreeSet<String> = String::from_utf8_lossy(&output.stdout)
            .lines()
            .filter_map(|line| line.split_whitespace().next())
            .filter(|name| name != layer)
            .map(str::to_owned)
            .collect();
        for dependent in dependents {
            if !allowed.contains(&dependent.as_str()) {
                violations.push(format!("{dependent} depends on {layer}"));
            }
        }
    }
    if !violations.is_empty() {
        bail!(
            "layer rules broken (docs/ARCHITECTURE.md, Invariants):\n  {}",
            violations.join("\n  ")
        );
    }
    Ok(())
}

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned())
}
