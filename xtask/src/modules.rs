//! The module rule: inside a crate, no module imports a module that imports it back (directly or
//! through others). Two rooms that need each other are one concern, or want a third room.
//!
//! A module is a top-level module of the crate (`src/store.rs` and everything under `src/store/`
//! are `store`); it imports another when its code names `crate::other` (in a `use` or a path).
//! Test modules count too: a cycle through tests is still a cycle of rooms.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

/// The crates whose modules are checked, as their `src` folders.
const CRATES: &[&str] = &[
    "src",
    "crates/core/src",
    "crates/codec/src",
    "crates/schema/src",
    "crates/migrate/src",
    "crates/backup/src",
    "crates/cli/src",
    "bindings/node/src",
];

pub(crate) fn check(root: &Path) -> Result<()> {
    println!("xtask ci: modules: no module imports one that imports it back");
    let mut problems = Vec::new();
    for krate in CRATES {
        let graph = graph(&root.join(krate))?;
        for cycle in cycles(&graph) {
            problems.push(format!("{krate}: {}", cycle.join(" -> ")));
        }
    }
    if !problems.is_empty() {
        bail!(
            "modules that import each other (give the shared concern its own module):\n  {}",
            problems.join("\n  ")
        );
    }
    Ok(())
}

/// Each top-level module of the crate in `src` with the top-level modules it names.
fn graph(src: &Path) -> Result<BTreeMap<String, BTreeSet<String>>> {
    let mut files = Vec::new();
    collect(src, &mut files)?;
    let modules: BTreeSet<String> = files.iter().filter_map(|f| module_of(src, f)).collect();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in &files {
        let Some(module) = module_of(src, file) else {
            continue;
        };
        let text =
            std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
        let imports = graph.entry(module.clone()).or_default();
        for name in named_modules(&text) {
            if name != module && modules.contains(&name) {
                imports.insert(name);
            }
        }
    }
    Ok(graph)
}

fn collect(dir: &Path, files: &mut Vec<PathBuf>) -> Result<()> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))? {
        let path = entry?.path();
        if path.is_dir() {
            collect(&path, files)?;
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    Ok(())
}

/// The top-level module a file belongs to; `None` for the crate root.
fn module_of(src: &Path, file: &Path) -> Option<String> {
    let relative = file.strip_prefix(src).ok()?;
    let first = relative.components().next()?.as_os_str().to_str()?;
    let name = first.strip_suffix(".rs").unwrap_or(first);
    (!matches!(name, "lib" | "main")).then(|| name.to_owned())
}

/// Every `x` in `crate::x` in the text, and in `crate::{x, y::z}`.
fn named_modules(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for (at, _) in text.match_indices("crate::") {
        // `statevault_core::x` and the like end in `_crate::`: not this crate.
        if text[..at].ends_with(|c: char| c.is_alphanumeric() || c == '_') {
            continue;
        }
        let rest = &text[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let group = &group[..group.find('}').unwrap_or(group.len())];
            for item in group.split(',') {
                names.insert(leading_identifier(item.trim()));
            }
        } else {
            names.insert(leading_identifier(rest));
        }
    }
    names.remove("");
    names
}

fn leading_identifier(text: &str) -> String {
    text.chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect()
}

/// Every cycle, each named once from its smallest module (depth-first search).
fn cycles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    let mut found = BTreeSet::new();
    for start in graph.keys() {
        let mut path = vec![start.clone()];
        walk(graph, start, &mut path, &mut found);
    }
    found.into_iter().collect()
}

fn walk(
    graph: &BTreeMap<String, BTreeSet<String>>,
    start: &str,
    path: &mut Vec<String>,
    found: &mut BTreeSet<Vec<String>>,
) {
    let last = path
        .last()
        .expect("the path starts with its module")
        .clone();
    for next in graph.get(&last).into_iter().flatten() {
        if next == start {
            // Report each cycle once: from its smallest module.
            if path.iter().all(|m| m.as_str() >= start) {
                let mut cycle = path.clone();
                cycle.push(start.to_owned());
                found.insert(cycle);
            }
        } else if !path.contains(next) && next.as_str() > start {
            path.push(next.clone());
            walk(graph, start, path, found);
            path.pop();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use super::{cycles, named_modules};

    #[test]
    fn names_in_uses_groups_and_paths_count_and_other_crates_do_not() {
        let text = "use crate::error::Error;\nuse crate::{key::parse_key, Store};\n\
                    let x = crate::metric::SAVE;\nuse statevault_core::storage;";
        let names: Vec<String> = named_modules(text).into_iter().collect();
        assert_eq!(names, ["Store", "error", "key", "metric"]);
    }

    #[test]
    fn a_two_module_cycle_and_a_three_module_cycle_are_found_once() {
        let graph: BTreeMap<String, BTreeSet<String>> = [
            ("a", &["b"][..]),
            ("b", &["a", "c"]),
            ("c", &["d"]),
            ("d", &["e"]),
            ("e", &["c"]),
            ("f", &["a"]),
        ]
        .into_iter()
        .map(|(m, to)| (m.to_owned(), to.iter().map(|s| s.to_string()).collect()))
        .collect();
        assert_eq!(
            cycles(&graph),
            vec![
                vec!["a".to_owned(), "b".into(), "a".into()],
                vec!["c".to_owned(), "d".into(), "e".into(), "c".into()],
            ]
        );
    }
}
