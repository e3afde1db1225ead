//! Path finding against a brute-force enumeration of every path, on random small graphs.

use proptest::prelude::*;
use serde_json::Value;
use statevault_migrate::{BoxError, Error, Graph, Plan, Version};

use crate::v;

/// A few versions, including a pre-release that sorts before its release.
const VERSIONS: [&str; 7] = [
    "0.9.0",
    "1.0.0-alpha.1",
    "1.0.0",
    "1.0.1",
    "1.1.0",
    "2.0.0",
    "10.0.0",
];

fn versions() -> Vec<Version> {
    VERSIONS.iter().map(|s| v(s)).collect()
}

/// Builds a graph from index pairs, reporting which pairs were refused as duplicates.
fn build(edges: &[(usize, usize)]) -> (Graph, Vec<(usize, usize)>) {
    let vs = versions();
    let mut g = Graph::new("doc");
    let mut refused = Vec::new();
    for &(a, b) in edges {
        match g.add(
            vs[a].clone(),
            vs[b].clone(),
            format!("{a}->{b}"),
            Ok::<Value, BoxError>,
        ) {
            Ok(_) => {}
            Err(Error::DuplicateEdge { .. }) => refused.push((a, b)),
            Err(e) => panic!("unexpected refusal of {a}->{b}: {e}"),
        }
    }
    (g, refused)
}

/// Every path from `from` to `to` that moves monotonically towards `to`, by depth-first
/// enumeration: the obviously correct, exponential reference.
fn all_paths(edges: &[(usize, usize)], from: usize, to: usize) -> Vec<Vec<Version>> {
    let vs = versions();
    let up = vs[from] < vs[to];
    let mut out = Vec::new();
    let mut stack = vec![vec![from]];
    while let Some(path) = stack.pop() {
        let last = *path.last().expect("paths are never empty");
        if last == to {
            out.push(path.iter().map(|&i| vs[i].clone()).collect());
            continue;
        }
        for &(a, b) in edges {
            let forward = if up { vs[a] < vs[b] } else { vs[a] > vs[b] };
            if a == last && forward && !path.contains(&b) {
                let mut next = path.clone();
                next.push(b);
                stack.push(next);
            }
        }
    }
    out
}

/// The versions a plan visits.
fn visited(plan: &Plan) -> Vec<Version> {
    let mut path = vec![plan.from().clone()];
    path.extend(plan.steps().iter().map(|s| s.to().clone()));
    path
}

/// A random list of edges, possibly with duplicates (for the registration properties).
fn edge_list() -> impl Strategy<Value = Vec<(usize, usize)>> {
    let n = VERSIONS.len();
    prop::collection::vec(
        (0..n, 0..n).prop_filter("no self edges", |(a, b)| a != b),
        0..18,
    )
}

/// A random set of distinct edges of random density, in random order. Dense enough that
/// several shortest paths (the tie-break) are common, sparse enough that missing paths are too.
fn edge_set() -> impl Strategy<Value = Vec<(usize, usize)>> {
    let n = VERSIONS.len();
    let pairs: Vec<(usize, usize)> = (0..n)
        .flat_map(|a| (0..n).map(move |b| (a, b)))
        .filter(|(a, b)| a != b)
        .collect();
    let len = pairs.len();
    (1..9u32)
        .prop_flat_map(move |density| {
            prop::collection::vec(prop::bool::weighted(f64::from(density) / 10.0), len)
        })
        .prop_map(move |keep| {
            pairs
                .iter()
                .zip(keep)
                .filter_map(|(pair, keep)| keep.then_some(*pair))
                .collect::<Vec<_>>()
        })
        .prop_shuffle()
}

/// Compares the plan for `from -> to` with the brute-force reference.
fn check_plan(
    graph: &Graph,
    edges: &[(usize, usize)],
    from: usize,
    to: usize,
) -> Result<(), TestCaseError> {
    let vs = versions();
    let result = graph.plan(&vs[from], &vs[to]);
    if from == to {
        let plan = result.expect("same version always plans");
        prop_assert!(plan.is_empty());
        return Ok(());
    }
    let mut paths = all_paths(edges, from, to);
    let Some(shortest) = paths.iter().map(Vec::len).min() else {
        let is_no_path = matches!(result, Err(Error::NoPath { .. }));
        prop_assert!(is_no_path, "expected NoPath, got {:?}", result);
        return Ok(());
    };
    paths.retain(|p| p.len() == shortest);
    // Smallest step first: the lexicographically smallest sequence on the way up, the
    // largest on the way down.
    let up = vs[from] < vs[to];
    let expected = if up {
        paths.iter().min()
    } else {
        paths.iter().max()
    }
    .expect("at least one shortest path");
    let plan = result.expect("a path exists");
    prop_assert_eq!(&visited(&plan), expected);
    prop_assert_eq!(plan.is_downgrade(), !up);

    // The plan is made of registered edges, each in the direction of travel.
    for step in plan.steps() {
        prop_assert!(graph.contains(step.from(), step.to()));
        prop_assert_eq!(step.from() < step.to(), up);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn plan_is_a_shortest_path_chosen_by_the_documented_rule(edges in edge_set()) {
        let (graph, _) = build(&edges);
        // Every pair of versions, so that each random graph exercises ties, missing paths and
        // downgrades at once.
        for from in 0..VERSIONS.len() {
            for to in 0..VERSIONS.len() {
                check_plan(&graph, &edges, from, to)?;
            }
        }
    }

    #[test]
    fn plan_does_not_depend_on_registration_order(
        (edges, shuffled) in edge_set().prop_flat_map(|e| (Just(e.clone()), Just(e).prop_shuffle())),
    ) {
        let (a, refused_a) = build(&edges);
        let (b, refused_b) = build(&shuffled);
        prop_assert!(refused_a.is_empty() && refused_b.is_empty());
        for from in &versions() {
            for to in &versions() {
                prop_assert_eq!(a.plan(from, to).ok(), b.plan(from, to).ok());
            }
        }
    }

    #[test]
    fn duplicates_and_only_duplicates_are_refused(edges in edge_list()) {
        let (graph, refused) = build(&edges);
        let mut distinct: Vec<(usize, usize)> = Vec::new();
        let mut duplicates = Vec::new();
        for e in &edges {
            if distinct.contains(e) {
                duplicates.push(*e);
            } else {
                distinct.push(*e);
            }
        }
        prop_assert_eq!(refused, duplicates);
        prop_assert_eq!(graph.len(), distinct.len());
        // The first registration stays.
        let vs = versions();
        for (from, to, description) in graph.edges() {
            let a = vs.iter().position(|x| x == from).expect("known version");
            let b = vs.iter().position(|x| x == to).expect("known version");
            prop_assert_eq!(description, format!("{a}->{b}"));
        }
    }
}
