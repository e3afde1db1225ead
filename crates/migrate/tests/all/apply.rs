//! Running plans: composition over a chain, failing steps, nothing half-migrated.

use proptest::prelude::*;
use serde_json::{Value, json};
use statevault_migrate::{BoxError, Error, Graph, Version};

use crate::v;

const LEN: u64 = 8;

fn ver(i: u64) -> Version {
    Version::new(1, i, 0)
}

/// A chain 1.0.0 → 1.1.0 → … → 1.LEN.0 with down-edges back. Going up from 1.i.0 appends `i`
/// to the document's `trail`; going down removes it again, and refuses a trail that does not
/// end with `i`. The step out of 1.`fail`.0 (up) fails, if `fail` is given.
fn chain(fail: Option<u64>) -> Graph {
    let mut g = Graph::new("trail");
    for i in 0..LEN {
        g.add(
            ver(i),
            ver(i + 1),
            format!("push {i}"),
            move |mut doc: Value| {
                if Some(i) == fail {
                    return Err(format!("step {i} refuses"));
                }
                doc["trail"]
                    .as_array_mut()
                    .ok_or("trail is not an array")?
                    .push(json!(i));
                doc["version"] = json!(ver(i + 1).to_string());
                Ok(doc)
            },
        )
        .expect("distinct edges");
        g.add(
            ver(i + 1),
            ver(i),
            format!("pop {i}"),
            move |mut doc: Value| {
                let trail = doc["trail"].as_array_mut().ok_or("trail is not an array")?;
                match trail.pop() {
                    Some(last) if last == json!(i) => {}
                    other => return Err(format!("trail ends with {other:?}, not {i}").into()),
                }
                doc["version"] = json!(ver(i).to_string());
                Ok::<_, BoxError>(doc)
            },
        )
        .expect("distinct edges");
    }
    g
}

/// The document as it is at version 1.`i`.0 when it started at 1.0.0.
fn at(i: u64) -> Value {
    json!({"version": ver(i).to_string(), "trail": (0..i).collect::<Vec<_>>()})
}

proptest! {
    #[test]
    fn apply_over_a_chain_composes(a in 0..=LEN, b in 0..=LEN, c in 0..=LEN) {
        let g = chain(None);
        let direct = g.apply(at(a), &ver(a), &ver(c)).expect("chain is connected both ways");
        let via = g
            .apply(at(a), &ver(a), &ver(b))
            .and_then(|mid| g.apply(mid, &ver(b), &ver(c)))
            .expect("chain is connected both ways");
        prop_assert_eq!(&direct, &at(c));
        prop_assert_eq!(&via, &direct);
        let plan = g.plan(&ver(a), &ver(c)).expect("connected");
        prop_assert_eq!(plan.len() as u64, a.abs_diff(c));
    }

    #[test]
    fn a_failing_step_is_named_and_nothing_is_returned(
        a in 0..=LEN, b in 0..=LEN, fail in 0..LEN,
    ) {
        let g = chain(Some(fail));
        let result = g.apply(at(a), &ver(a), &ver(b));
        let crosses = a <= fail && fail < b;
        match result {
            Ok(doc) => {
                prop_assert!(!crosses);
                prop_assert_eq!(doc, at(b));
            }
            Err(Error::Step { document, step, error }) => {
                prop_assert!(crosses);
                prop_assert_eq!(document, "trail");
                prop_assert_eq!(step.from(), &ver(fail));
                prop_assert_eq!(step.to(), &ver(fail + 1));
                prop_assert_eq!(step.description(), format!("push {fail}"));
                prop_assert_eq!(error.to_string(), format!("step {fail} refuses"));
            }
            Err(other) => prop_assert!(false, "unexpected error {other}"),
        }
    }
}

#[test]
fn execute_runs_exactly_the_plan_it_is_given() {
    let g = chain(None);
    let plan = g.plan(&ver(2), &ver(5)).expect("connected");
    let descriptions: Vec<_> = plan.steps().iter().map(|s| s.description()).collect();
    assert_eq!(descriptions, ["push 2", "push 3", "push 4"]);
    assert_eq!(g.execute(&plan, at(2)).expect("runs"), at(5));
}

#[test]
fn a_down_step_refusing_its_input_stops_the_downgrade() {
    let g = chain(None);
    // The trail says the document came through 1.1.0, so popping 0 first is refused.
    let doc = json!({"version": "1.2.0", "trail": [1, 0]});
    let err = g
        .apply(doc, &ver(2), &ver(0))
        .expect_err("inconsistent trail");
    assert_eq!(
        err.to_string(),
        "migrating \"trail\" failed at step 1.2.0 -> 1.1.0: trail ends with Some(Number(0)), not 1"
    );
}

#[test]
fn errors_of_any_std_error_type_are_kept() {
    #[derive(Debug)]
    struct Custom;
    impl std::fmt::Display for Custom {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("custom failure")
        }
    }
    impl std::error::Error for Custom {}

    let mut g = Graph::new("doc");
    g.add(v("1.0.0"), v("2.0.0"), "custom", |_: Value| {
        Err::<Value, _>(Custom)
    })
    .expect("edge");
    let Err(Error::Step { error, .. }) = g.apply(json!(null), &v("1.0.0"), &v("2.0.0")) else {
        panic!("the step fails");
    };
    assert!(error.downcast_ref::<Custom>().is_some(), "{error}");
}
