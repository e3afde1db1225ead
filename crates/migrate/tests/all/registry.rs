//! The registry: one graph per document, registration all or nothing.

use serde_json::{Value, json};
use statevault_migrate::{BoxError, Error, Graph, Migrations};

use crate::v;

fn set_version(to: &'static str) -> impl Fn(Value) -> Result<Value, BoxError> + Send + Sync {
    move |mut doc: Value| {
        doc["version"] = json!(to);
        Ok(doc)
    }
}

#[test]
fn documents_have_separate_graphs() {
    let mut m = Migrations::new();
    m.add(
        "layout",
        v("1.0.0"),
        v("2.0.0"),
        "layout up",
        set_version("2.0.0"),
    )
    .expect("edge");
    // The same versions for another document are another edge, not a duplicate.
    m.add(
        "settings",
        v("1.0.0"),
        v("2.0.0"),
        "settings up",
        set_version("2.0.0"),
    )
    .expect("edge");
    assert_eq!(m.documents().collect::<Vec<_>>(), ["layout", "settings"]);

    let plan = m.plan("settings", &v("1.0.0"), &v("2.0.0")).expect("path");
    assert_eq!(plan.steps()[0].description(), "settings up");
    let doc = m
        .apply(
            "layout",
            json!({"version": "1.0.0"}),
            &v("1.0.0"),
            &v("2.0.0"),
        )
        .expect("migrates");
    assert_eq!(doc, json!({"version": "2.0.0"}));
}

#[test]
fn an_unknown_document_has_only_the_empty_plan() {
    let m = Migrations::new();
    assert!(m.graph("history").is_none());
    let plan = m.plan("history", &v("1.0.0"), &v("1.0.0")).expect("empty");
    assert!(plan.is_empty());
    assert_eq!(
        m.apply("history", json!([1]), &v("1.0.0"), &v("1.0.0"))
            .expect("nothing to do"),
        json!([1])
    );
    assert!(matches!(
        m.plan("history", &v("1.0.0"), &v("2.0.0")),
        Err(Error::NoPath { document, .. }) if document == "history"
    ));
}

#[test]
fn register_merges_and_refuses_duplicates_atomically() {
    let mut m = Migrations::new();
    let mut first = Graph::new("layout");
    first
        .add(v("1.0.0"), v("1.1.0"), "a", set_version("1.1.0"))
        .expect("edge");
    m.register(first).expect("fresh");

    let mut clash = Graph::new("layout");
    clash
        .add(v("1.1.0"), v("2.0.0"), "b", set_version("2.0.0"))
        .expect("edge")
        .add(v("1.0.0"), v("1.1.0"), "a again", set_version("1.1.0"))
        .expect("edge");
    assert!(matches!(
        m.register(clash),
        Err(Error::DuplicateEdge { existing, .. }) if existing.description() == "a"
    ));
    assert_eq!(m.graph("layout").map(Graph::len), Some(1));

    let mut more = Graph::new("layout");
    more.add(v("1.1.0"), v("2.0.0"), "b", set_version("2.0.0"))
        .expect("edge");
    m.register(more).expect("disjoint edges merge");
    let plan = m.plan("layout", &v("1.0.0"), &v("2.0.0")).expect("path");
    assert_eq!(plan.len(), 2);
}
