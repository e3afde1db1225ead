//! The version graph of one document: registration, path finding, execution.

use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};

use semver::Version;
use serde_json::Value;

use crate::error::{BoxError, Error};
use crate::plan::{Plan, Step};

/// A migration function once its error type has been boxed.
type MigrationFn = dyn Fn(Value) -> Result<Value, BoxError> + Send + Sync;

struct Edge {
    description: String,
    run: Box<MigrationFn>,
}

/// The migrations of one document: versions are nodes, migration functions are edges.
///
/// An edge from an older to a newer version is an *up-edge*, one from a newer to an older
/// version a *down-edge*; versions are ordered by [`Version`]'s `Ord` (semver precedence, with
/// build metadata as a final tie-breaker). An upgrade uses only up-edges and a downgrade only
/// down-edges, so every plan moves monotonically towards its target: a downgrade edge is never
/// taken as a shortcut on the way up, and no plan visits a version twice.
///
/// # Which path
///
/// [`plan`](Self::plan) picks a path with the fewest edges. When several have that length it
/// picks the one that takes the *smallest step first*: walking from the stored version, at the
/// first place where two candidate paths differ, the one whose next version is closer to the
/// stored version wins (the lower version on the way up, the higher on the way down). The
/// result depends only on the set of edges, never on the order they were registered in.
pub struct Graph {
    document: String,
    /// Adjacency, `from -> to -> edge`. Ordered maps make iteration (and so the tie-break and
    /// `Debug`) independent of registration order.
    edges: BTreeMap<Version, BTreeMap<Version, Edge>>,
}

impl Graph {
    /// An empty graph for `document` (a name used in plans and error messages, e.g. the
    /// document type's name).
    pub fn new(document: impl Into<String>) -> Self {
        Self {
            document: document.into(),
            edges: BTreeMap::new(),
        }
    }

    /// The document this graph migrates.
    pub fn document(&self) -> &str {
        &self.document
    }

    /// Registers the migration `from -> to`.
    ///
    /// `f` receives the document at version `from` and returns it at version `to`; it should
    /// also update any version field the document carries itself. It may return any error
    /// that converts into [`BoxError`] (a `String`, a `&str`, any `std::error::Error`).
    ///
    /// # Errors
    ///
    /// [`Error::DuplicateEdge`] if `from -> to` is already registered (the first one stays),
    /// [`Error::SelfEdge`] if `from == to`.
    pub fn add<F, E>(
        &mut self,
        from: Version,
        to: Version,
        description: impl Into<String>,
        f: F,
    ) -> Result<&mut Self, Error>
    where
        F: Fn(Value) -> Result<Value, E> + Send + Sync + 'static,
        E: Into<BoxError>,
    {
        self.add_boxed(
            from,
            to,
            description.into(),
            Box::new(move |value| f(value).map_err(Into::into)),
        )?;
        Ok(self)
    }

    fn add_boxed(
        &mut self,
        from: Version,
        to: Version,
        description: String,
        run: Box<MigrationFn>,
    ) -> Result<(), Error> {
        if from == to {
            return Err(Error::SelfEdge {
                document: self.document.clone(),
                version: from,
            });
        }
        if let Some(existing) = self.edges.get(&from).and_then(|out| out.get(&to)) {
            return Err(Error::DuplicateEdge {
                document: self.document.clone(),
                existing: Box::new(Step {
                    from,
                    to,
                    description: existing.description.clone(),
                }),
            });
        }
        self.edges
            .entry(from)
            .or_default()
            .insert(to, Edge { description, run });
        Ok(())
    }

    /// Whether the edge `from -> to` is registered.
    pub fn contains(&self, from: &Version, to: &Version) -> bool {
        self.edge(from, to).is_some()
    }

    /// Every registered edge as `(from, to, description)`, ordered by `from`, then `to`.
    pub fn edges(&self) -> impl Iterator<Item = (&Version, &Version, &str)> + '_ {
        self.edges.iter().flat_map(|(from, out)| {
            out.iter()
                .map(move |(to, edge)| (from, to, edge.description.as_str()))
        })
    }

    /// Number of registered edges.
    pub fn len(&self) -> usize {
        self.edges.values().map(BTreeMap::len).sum()
    }

    /// Whether no edge is registered.
    pub fn is_empty(&self) -> bool {
        self.edges.is_empty()
    }

    fn edge(&self, from: &Version, to: &Version) -> Option<&Edge> {
        self.edges.get(from).and_then(|out| out.get(to))
    }

    /// Moves `edges` (an edge set for the same document) into this graph, all or nothing.
    pub(crate) fn merge(&mut self, other: Graph) -> Result<(), Error> {
        for (from, to, _) in other.edges() {
            if let Some(existing) = self.edge(from, to) {
                return Err(Error::DuplicateEdge {
                    document: self.document.clone(),
                    existing: Box::new(Step {
                        from: from.clone(),
                        to: to.clone(),
                        description: existing.description.clone(),
                    }),
                });
            }
        }
        for (from, out) in other.edges {
            for (to, edge) in out {
                self.add_boxed(from.clone(), to, edge.description, edge.run)?;
            }
        }
        Ok(())
    }

    /// The shortest chain of migrations from `from` to `to` (ties: see the type's docs).
    ///
    /// `from == to` gives an empty plan, whatever the graph holds.
    ///
    /// # Errors
    ///
    /// [`Error::NoPath`] when no chain of edges in the asked direction connects the two.
    pub fn plan(&self, from: &Version, to: &Version) -> Result<Plan, Error> {
        let mut plan = Plan {
            document: self.document.clone(),
            from: from.clone(),
            to: to.clone(),
            steps: Vec::new(),
        };
        if from == to {
            return Ok(plan);
        }
        let up = from < to;
        // An edge may be used only if it moves in the direction of the plan.
        let allowed = |a: &Version, b: &Version| if up { a < b } else { a > b };

        // Distances to `to`, by a breadth-first search backwards over allowed edges. With them
        // the forward walk below can tell, at each version, which next versions still lie on a
        // shortest path.
        let mut incoming: BTreeMap<&Version, Vec<&Version>> = BTreeMap::new();
        for (a, out) in &self.edges {
            for b in out.keys() {
                if allowed(a, b) {
                    incoming.entry(b).or_default().push(a);
                }
            }
        }
        let mut dist: BTreeMap<&Version, usize> = BTreeMap::from([(to, 0)]);
        let mut queue = VecDeque::from([to]);
        while let Some(v) = queue.pop_front() {
            let d = dist[v] + 1;
            for &u in incoming.get(v).into_iter().flatten() {
                dist.entry(u).or_insert_with(|| {
                    queue.push_back(u);
                    d
                });
            }
        }
        let no_path = || Error::NoPath {
            document: self.document.clone(),
            from: from.clone(),
            to: to.clone(),
        };
        let Some(&total) = dist.get(from) else {
            return Err(no_path());
        };

        // Walk forward, at each version taking the next version closest to `from` among those
        // one step nearer to `to`. Choosing greedily is enough for the lexicographic tie-break
        // because every candidate kept has a shortest continuation.
        let mut current = from;
        for remaining in (0..total).rev() {
            let out = self.edges.get(current).ok_or_else(no_path)?;
            let on_path = |(v, _): &(&Version, &Edge)| {
                allowed(current, v) && dist.get(v).is_some_and(|&d| d == remaining)
            };
            let next = if up {
                out.iter().find(on_path)
            } else {
                out.iter().rev().find(on_path)
            };
            // `dist[current] == remaining + 1` guarantees a neighbour at `remaining`.
            let (next, edge) = next.ok_or_else(no_path)?;
            plan.steps.push(Step {
                from: current.clone(),
                to: next.clone(),
                description: edge.description.clone(),
            });
            current = next;
        }
        Ok(plan)
    }

    /// Runs `plan` on `value`, step by step.
    ///
    /// The value is taken by value and each step consumes the previous step's output, so no
    /// copy of the document is made. On failure the partly migrated value is dropped and only
    /// the error is returned: a caller that needs the original afterwards keeps it (the stored
    /// bytes, or a clone made before the call). A step that panics is reported as a failed
    /// step (the panic message becomes the step's error) rather than unwinding into the caller,
    /// unless the program is built with `panic = "abort"`.
    ///
    /// # Errors
    ///
    /// [`Error::Step`] naming the failing step; [`Error::ForeignPlan`] if `plan` holds a step
    /// this graph does not have (a plan made by another graph).
    pub fn execute(&self, plan: &Plan, value: Value) -> Result<Value, Error> {
        // Check the whole plan before running any step, so a foreign plan runs nothing.
        let mut edges = Vec::with_capacity(plan.steps.len());
        for step in &plan.steps {
            match self.edge(&step.from, &step.to) {
                Some(edge) if plan.document == self.document => edges.push((step, edge)),
                _ => {
                    return Err(Error::ForeignPlan {
                        document: self.document.clone(),
                        plan_document: plan.document.clone(),
                        step: Box::new(step.clone()),
                    });
                }
            }
        }
        let mut value = value;
        for (step, edge) in edges {
            // Unwinding out of a migration must not leave anything half-done behind: the value
            // is moved into the call and dropped with the unwind, and this graph holds no
            // state a step could have left inconsistent. So asserting unwind safety is sound.
            let outcome = catch_unwind(AssertUnwindSafe(|| (edge.run)(value)))
                .unwrap_or_else(|payload| Err(panic_message(payload.as_ref()).into()));
            value = outcome.map_err(|error| Error::Step {
                document: self.document.clone(),
                step: Box::new(step.clone()),
                error,
            })?;
        }
        Ok(value)
    }

    /// Plans the migration `from -> to` and runs it: [`plan`](Self::plan) then
    /// [`execute`](Self::execute).
    ///
    /// # Errors
    ///
    /// [`Error::NoPath`] or [`Error::Step`]; in either case nothing half-migrated is returned.
    pub fn apply(&self, value: Value, from: &Version, to: &Version) -> Result<Value, Error> {
        let plan = self.plan(from, to)?;
        self.execute(&plan, value)
    }
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    let detail = payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)");
    format!("migration panicked: {detail}")
}

impl fmt::Debug for Graph {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        struct Edges<'a>(&'a Graph);
        impl fmt::Debug for Edges<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_list()
                    .entries(
                        self.0
                            .edges()
                            .map(|(from, to, d)| format!("{from} -> {to}: {d}")),
                    )
                    .finish()
            }
        }
        f.debug_struct("Graph")
            .field("document", &self.document)
            .field("edges", &Edges(self))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn v(s: &str) -> Version {
        Version::parse(s).expect("test versions are valid")
    }

    fn graph(edges: &[(&str, &str)]) -> Graph {
        let mut g = Graph::new("doc");
        for (a, b) in edges {
            g.add(v(a), v(b), format!("{a}->{b}"), Ok::<Value, BoxError>)
                .expect("test edges are distinct");
        }
        g
    }

    /// The versions a plan visits, from start to end.
    fn check(edges: &[(&str, &str)], from: &str, to: &str, expected: Option<&[&str]>) {
        let g = graph(edges);
        let got = g.plan(&v(from), &v(to)).map(|p| {
            let mut path = vec![p.from().to_string()];
            path.extend(p.steps().iter().map(|s| s.to().to_string()));
            path
        });
        match (got, expected) {
            (Ok(path), Some(want)) => assert_eq!(path, want, "{from} -> {to} over {edges:?}"),
            (Err(Error::NoPath { .. }), None) => {}
            (got, want) => panic!("{from} -> {to} over {edges:?}: got {got:?}, want {want:?}"),
        }
    }

    #[test]
    fn shortest_paths() {
        let chain = [("1.0.0", "1.1.0"), ("1.1.0", "2.0.0")];
        check(&chain, "1.0.0", "2.0.0", Some(&["1.0.0", "1.1.0", "2.0.0"]));
        check(&chain, "1.1.0", "2.0.0", Some(&["1.1.0", "2.0.0"]));
        check(&chain, "1.0.0", "1.0.0", Some(&["1.0.0"]));
        check(&chain, "2.0.0", "1.0.0", None);
        check(&chain, "1.0.0", "3.0.0", None);

        let shortcut = [("1.0.0", "1.1.0"), ("1.1.0", "2.0.0"), ("1.0.0", "2.0.0")];
        check(&shortcut, "1.0.0", "2.0.0", Some(&["1.0.0", "2.0.0"]));
    }

    #[test]
    fn ties_take_the_smallest_step_first() {
        let diamond = [
            ("1.0.0", "1.2.0"),
            ("1.0.0", "1.1.0"),
            ("1.2.0", "2.0.0"),
            ("1.1.0", "2.0.0"),
        ];
        check(
            &diamond,
            "1.0.0",
            "2.0.0",
            Some(&["1.0.0", "1.1.0", "2.0.0"]),
        );
        let down = [
            ("2.0.0", "1.1.0"),
            ("2.0.0", "1.2.0"),
            ("1.1.0", "1.0.0"),
            ("1.2.0", "1.0.0"),
        ];
        check(&down, "2.0.0", "1.0.0", Some(&["2.0.0", "1.2.0", "1.0.0"]));
    }

    #[test]
    fn down_edges_only_for_downgrades() {
        // Going up through 3.0.0 and back down to 2.0.0 would be one edge shorter than the
        // chain, were direction ignored.
        let edges = [
            ("1.0.0", "3.0.0"),
            ("3.0.0", "2.0.0"),
            ("1.0.0", "1.5.0"),
            ("1.5.0", "1.8.0"),
            ("1.8.0", "2.0.0"),
        ];
        check(
            &edges,
            "1.0.0",
            "2.0.0",
            Some(&["1.0.0", "1.5.0", "1.8.0", "2.0.0"]),
        );
        check(
            &[("1.0.0", "3.0.0"), ("3.0.0", "2.0.0")],
            "1.0.0",
            "2.0.0",
            None,
        );
        check(&edges, "3.0.0", "2.0.0", Some(&["3.0.0", "2.0.0"]));
    }

    #[test]
    fn prereleases_order_before_their_release() {
        let edges = [("1.0.0", "2.0.0-rc.1"), ("2.0.0-rc.1", "2.0.0")];
        check(
            &edges,
            "1.0.0",
            "2.0.0",
            Some(&["1.0.0", "2.0.0-rc.1", "2.0.0"]),
        );
    }

    #[test]
    fn refuses_duplicate_and_self_edges() {
        let mut g = graph(&[("1.0.0", "2.0.0")]);
        let err = g
            .add(v("1.0.0"), v("2.0.0"), "again", Ok::<Value, BoxError>)
            .map(|_| ())
            .expect_err("duplicate edge");
        assert!(
            matches!(&err, Error::DuplicateEdge { existing, .. } if existing.description() == "1.0.0->2.0.0"),
            "{err:?}"
        );
        let err = g
            .add(v("1.0.0"), v("1.0.0"), "self", Ok::<Value, BoxError>)
            .map(|_| ())
            .expect_err("self edge");
        assert!(matches!(err, Error::SelfEdge { .. }), "{err:?}");
        assert_eq!(g.len(), 1);
        // The opposite direction is a different edge.
        g.add(v("2.0.0"), v("1.0.0"), "down", Ok::<Value, BoxError>)
            .expect("down-edge");
        assert_eq!(g.len(), 2);
    }

    #[test]
    fn panicking_step_is_a_step_error() {
        let mut g = Graph::new("doc");
        g.add(
            v("1.0.0"),
            v("2.0.0"),
            "explodes",
            |_: Value| -> Result<Value, BoxError> { panic!("kaboom") },
        )
        .expect("edge");
        let err = g
            .apply(json!({}), &v("1.0.0"), &v("2.0.0"))
            .expect_err("panic becomes an error");
        let text = err.to_string();
        assert!(
            text.contains("1.0.0 -> 2.0.0: migration panicked: kaboom"),
            "{text}"
        );
    }

    #[test]
    fn merge_is_all_or_nothing() {
        let mut g = graph(&[("1.0.0", "2.0.0")]);
        let other = graph(&[("2.0.0", "3.0.0"), ("1.0.0", "2.0.0")]);
        assert!(matches!(g.merge(other), Err(Error::DuplicateEdge { .. })));
        assert_eq!(g.len(), 1, "nothing of the refused graph was added");
        g.merge(graph(&[("2.0.0", "3.0.0")])).expect("disjoint");
        assert_eq!(g.len(), 2);
    }

    #[test]
    fn shareable_between_threads() {
        // The store keeps its migrations behind a shared reference and may report errors from
        // any thread.
        fn send_sync<T: Send + Sync>() {}
        send_sync::<Graph>();
        send_sync::<crate::Migrations>();
        send_sync::<Error>();
        send_sync::<Plan>();
    }

    #[test]
    fn debug_lists_edges() {
        let g = graph(&[("1.1.0", "2.0.0"), ("1.0.0", "1.1.0")]);
        assert_eq!(
            format!("{g:?}"),
            r#"Graph { document: "doc", edges: ["1.0.0 -> 1.1.0: 1.0.0->1.1.0", "1.1.0 -> 2.0.0: 1.1.0->2.0.0"] }"#
        );
    }
}
