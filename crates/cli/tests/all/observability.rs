//! The dashboard in `docs/observability/` queries only series that exist: the store's metric
//! names (as a Prometheus exporter writes them) and what `stats --format prometheus` writes,
//! here into a node-exporter textfile.

use std::collections::BTreeSet;

use super::common::{Sv, store, sv};

/// Every `state_persistence_…` identifier in `text`.
fn series(text: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for (at, _) in text.match_indices("state_persistence_") {
        let name: String = text[at..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        found.insert(name);
    }
    found
}

#[test]
fn every_series_the_dashboard_queries_exists() {
    let dir = store();
    Sv::new()
        .dir(dir.path())
        .args(["set", "plugins.a", "-"])
        .stdin("{}")
        .run()
        .expect(0);
    let out = tempfile::tempdir().unwrap();
    let textfile = out.path().join("statevault.prom");
    sv(
        dir.path(),
        &[
            "stats",
            "--format",
            "prometheus",
            "--out",
            textfile.to_str().unwrap(),
        ],
    )
    .expect(0);
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&textfile).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o644, "the exporter's user can read it");
    let written = std::fs::read_to_string(&textfile).unwrap();
    assert!(
        written.contains("state_persistence_keys{namespace=\"plugins\"} 1"),
        "{written}"
    );
    // No temporary file is left beside it.
    assert_eq!(std::fs::read_dir(out.path()).unwrap().count(), 1);

    let mut known = series(&written);
    // The store's own metrics, as an exporter names them (dots become underscores; histograms
    // get their bucket, sum and count series).
    for name in [
        statevault::metric::SAVE_DURATION_MS,
        statevault::metric::PATCH_DURATION_MS,
        statevault::metric::LOAD_DURATION_MS,
        statevault::metric::STORAGE_SIZE_BYTES,
        statevault::metric::CORRUPTION_DETECTED,
        statevault::metric::QUOTA_EXCEEDED,
    ] {
        let name = name.replace('.', "_");
        for suffix in ["", "_bucket", "_sum", "_count"] {
            known.insert(format!("{name}{suffix}"));
        }
    }
    let dashboard = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../docs/observability/state_persistence_health.json"),
    )
    .unwrap();
    let document: serde_json::Value = serde_json::from_str(&dashboard).unwrap();
    assert_eq!(document["title"], "state_persistence_health");
    let queried: BTreeSet<String> = document["panels"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["targets"].as_array().unwrap())
        .flat_map(|t| series(t["expr"].as_str().unwrap()))
        .collect();
    assert!(queried.len() >= 10, "{queried:?}");
    let unknown: Vec<&String> = queried.difference(&known).collect();
    assert!(
        unknown.is_empty(),
        "the dashboard queries series nobody writes: {unknown:?}"
    );
}
