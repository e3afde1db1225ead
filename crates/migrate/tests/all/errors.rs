//! What each error says, so a support engineer can act on it.

use serde_json::{Value, json};
use statevault_migrate::{BoxError, Error, Graph, Migrations};

use crate::v;

fn check(result: Result<impl std::fmt::Debug, Error>, expected: &str) {
    match result {
        Ok(value) => panic!("expected the error {expected:?}, got Ok({value:?})"),
        Err(err) => assert_eq!(err.to_string(), expected),
    }
}

fn layout() -> Graph {
    let mut g = Graph::new("layout");
    g.add(v("1.0.0"), v("1.1.0"), "add tags", Ok::<Value, BoxError>)
        .expect("edge");
    g.add(v("1.1.0"), v("2.0.0"), "split panes", |_: Value| {
        Err::<Value, _>("pane 3 has no size")
    })
    .expect("edge");
    g
}

#[test]
fn messages() {
    let mut g = layout();
    check(
        g.add(v("1.0.0"), v("1.1.0"), "again", Ok::<Value, BoxError>)
            .map(|_| ()),
        r#"duplicate migration for "layout": 1.0.0 -> 1.1.0 is already registered ("add tags")"#,
    );
    check(
        g.add(v("1.0.0"), v("1.0.0"), "noop", Ok::<Value, BoxError>)
            .map(|_| ()),
        r#"migration for "layout" from 1.0.0 to itself is not allowed"#,
    );
    check(
        g.plan(&v("2.0.0"), &v("1.0.0")),
        r#"no migration path for "layout" from 2.0.0 to 1.0.0"#,
    );
    check(
        g.plan(&v("0.1.0"), &v("1.0.0")),
        r#"no migration path for "layout" from 0.1.0 to 1.0.0"#,
    );
    check(
        g.apply(json!({}), &v("1.0.0"), &v("2.0.0")),
        r#"migrating "layout" failed at step 1.1.0 -> 2.0.0: pane 3 has no size"#,
    );
}

#[test]
fn a_plan_from_another_graph_runs_nothing() {
    let mut other = Graph::new("layout");
    other
        .add(v("1.0.0"), v("3.0.0"), "elsewhere", Ok::<Value, BoxError>)
        .expect("edge");
    let plan = other.plan(&v("1.0.0"), &v("3.0.0")).expect("path");
    check(
        layout().execute(&plan, json!({})),
        r#"plan for "layout" has step 1.0.0 -> 3.0.0, which the migrations of "layout" do not have"#,
    );

    let mut registry = Migrations::new();
    registry.register(layout()).expect("fresh registry");
    let plan = registry
        .plan("layout", &v("1.0.0"), &v("1.1.0"))
        .expect("path");
    let mut renamed = Graph::new("settings");
    renamed
        .add(v("1.0.0"), v("1.1.0"), "add tags", Ok::<Value, BoxError>)
        .expect("edge");
    check(
        renamed.execute(&plan, json!({})),
        r#"plan for "layout" has step 1.0.0 -> 1.1.0, which the migrations of "settings" do not have"#,
    );
}

#[test]
fn plans_print_their_steps() {
    let g = layout();
    let plan = g.plan(&v("1.0.0"), &v("2.0.0")).expect("path");
    assert_eq!(
        plan.to_string(),
        "layout: 1.0.0 -> 2.0.0 (2 steps)\n  1.0.0 -> 1.1.0: add tags\n  1.1.0 -> 2.0.0: split panes"
    );
    let plan = g.plan(&v("1.1.0"), &v("1.1.0")).expect("empty plan");
    assert_eq!(plan.to_string(), "layout: 1.1.0 -> 1.1.0 (nothing to do)");
}
