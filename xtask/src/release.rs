//! `cargo xtask release VERSION [--dry-run]`: the release checks and packaging, leaves first.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};

/// Packages in publish order: every package after the ones it depends on.
pub(crate) const PUBLISH_ORDER: &[&str] = &[
    "statevault-core",
    "statevault-codec",
    "statevault-schema",
    "statevault-migrate",
    "statevault-backup",
    "statevault",
    "statevault-cli",
];

pub(crate) fn run(root: &Path, version: &str, dry_run: bool) -> Result<()> {
    check_semver(version)?;
    let changelog = std::fs::read_to_string(root.join("CHANGELOG.md"))
        .context("reading CHANGELOG.md (a release needs an entry in it)")?;
    if !changelog
        .lines()
        .any(|l| l.starts_with("## ") && l.contains(&format!("[{version}]")))
    {
        bail!("CHANGELOG.md has no `## [{version}]` entry: write one first");
    }
    let manifest_path = root.join("Cargo.toml");
    let manifest = std::fs::read_to_string(&manifest_path)?;
    let bumped = bump(&manifest, version)?;
    if dry_run {
        println!("release {version} (dry run): would set the workspace version; nothing changed");
    } else {
        std::fs::write(&manifest_path, &bumped)?;
        println!("release {version}: workspace version set in Cargo.toml");
    }
    crate::ci::run(root)?;
    crate::codegen::run(root, true).context("generated files are stale")?;
    // Package every crate from its own package, leaves first, so each is known to build alone.
    let mut verify = vec!["package"];
    if dry_run {
        verify.push("--allow-dirty");
    }
    for package in PUBLISH_ORDER {
        verify.extend(["-p", package]);
    }
    let status = Command::new(cargo())
        .args(&verify)
        .current_dir(root)
        .status()
        .context("running cargo package")?;
    if !status.success() {
        bail!("cargo package failed ({status})");
    }
    println!("\npublish in this order (cargo publish -p NAME):");
    for (i, package) in PUBLISH_ORDER.iter().enumerate() {
        println!("  {}. {package}", i + 1);
    }
    if dry_run {
        println!("dry run: nothing was changed or published");
    }
    Ok(())
}

fn check_semver(version: &str) -> Result<()> {
    let core = version.split(['-', '+']).next().unwrap_or_default();
    let parts: Vec<&str> = core.split('.').collect();
    if parts.len() != 3
        || parts
            .iter()
            .any(|p| p.is_empty() || p.parse::<u64>().is_err())
    {
        bail!("{version:?} is not a version MAJOR.MINOR.PATCH");
    }
    Ok(())
}

/// Sets `version` in `[workspace.package]` and in the `version = "…"` of every internal
/// dependency of `[workspace.dependencies]`.
fn bump(manifest: &str, version: &str) -> Result<String> {
    let mut out = String::with_capacity(manifest.len());
    let mut section = String::new();
    let mut set_package = false;
    for line in manifest.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with('[') {
            section = trimmed.to_owned();
        }
        let new_line = if section == "[workspace.package]" && trimmed.starts_with("version = ") {
            set_package = true;
            format!("version = \"{version}\"")
        } else if section == "[workspace.dependencies]"
            && trimmed.starts_with("statevault")
            && trimmed.contains("path = ")
        {
            replace_version(line, version)
        } else {
            line.to_owned()
        };
        out.push_str(&new_line);
        out.push('\n');
    }
    if !set_package {
        bail!("no version in [workspace.package] of Cargo.toml");
    }
    Ok(out)
}

fn replace_version(line: &str, version: &str) -> String {
    match line.find("version = \"") {
        Some(start) => {
            let value_start = start + "version = \"".len();
            match line[value_start..].find('"') {
                Some(len) => format!(
                    "{}{version}{}",
                    &line[..value_start],
                    &line[value_start + len..]
                ),
                None => line.to_owned(),
            }
        }
        None => line.to_owned(),
    }
}

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bump_sets_the_workspace_and_internal_versions_only() {
        let manifest = "[workspace.package]\nversion = \"0.1.0\"\n\n[workspace.dependencies]\n\
                        statevault-core = { path = \"crates/core\", version = \"0.1.0\" }\n\
                        serde = { version = \"1\" }\n\n[package]\nversion.workspace = true\n";
        let bumped = bump(manifest, "0.2.0").unwrap();
        assert!(bumped.contains("[workspace.package]\nversion = \"0.2.0\""));
        assert!(bumped.contains("path = \"crates/core\", version = \"0.2.0\""));
        assert!(bumped.contains("serde = { version = \"1\" }"));
        assert!(bumped.contains("version.workspace = true"));
    }

    #[test]
    fn versions_are_checked() {
        assert!(check_semver("1.2.3").is_ok());
        assert!(check_semver("1.2.3-rc.1").is_ok());
        assert!(check_semver("1.2").is_err());
        assert!(check_semver("v1.2.3").is_err());
    }

    #[test]
    fn the_publish_order_lists_leaves_first() {
        let position = |p: &str| PUBLISH_ORDER.iter().position(|x| *x == p).unwrap();
        assert!(position("statevault-core") < position("statevault-backup"));
        assert!(position("statevault-backup") < position("statevault"));
        assert!(position("statevault") < position("statevault-cli"));
    }
}
