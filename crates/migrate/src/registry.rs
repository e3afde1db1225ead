//! The registry of every document's migrations.

use std::collections::BTreeMap;

use semver::Version;
use serde_json::Value;

use crate::error::{BoxError, Error};
use crate::graph::Graph;
use crate::plan::Plan;

/// Every document's migration [`Graph`], by document name.
///
/// Built-in documents and the application's own register here; the store asks it for a plan
/// when it reads a document stored at an older version. A document without any registered
/// migration behaves as an empty graph: only the empty plan (from == to) exists for it.
#[derive(Debug, Default)]
pub struct Migrations {
    graphs: BTreeMap<String, Graph>,
}

impl Migrations {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers the migration `from -> to` for `document`; see [`Graph::add`].
    ///
    /// # Errors
    ///
    /// [`Error::DuplicateEdge`] or [`Error::SelfEdge`], as [`Graph::add`].
    pub fn add<F, E>(
        &mut self,
        document: &str,
        from: Version,
        to: Version,
        description: impl Into<String>,
        f: F,
    ) -> Result<&mut Self, Error>
    where
        F: Fn(Value) -> Result<Value, E> + Send + Sync + 'static,
        E: Into<BoxError>,
    {
        self.graph_mut(document).add(from, to, description, f)?;
        Ok(self)
    }

    /// Adds every edge of `graph` to the graph of its document, all or nothing.
    ///
    /// This is how a document type that builds its own [`Graph`] hands it over.
    ///
    /// # Errors
    ///
    /// [`Error::DuplicateEdge`] if any edge of `graph` is already registered; then none is added.
    pub fn register(&mut self, graph: Graph) -> Result<&mut Self, Error> {
        match self.graphs.get_mut(graph.document()) {
            Some(existing) => existing.merge(graph)?,
            None => {
                self.graphs.insert(graph.document().to_owned(), graph);
            }
        }
        Ok(self)
    }

    /// The graph of `document`, if any migration was registered for it.
    pub fn graph(&self, document: &str) -> Option<&Graph> {
        self.graphs.get(document)
    }

    /// The graph of `document`, created empty if needed.
    pub fn graph_mut(&mut self, document: &str) -> &mut Graph {
        self.graphs
            .entry(document.to_owned())
            .or_insert_with(|| Graph::new(document))
    }

    /// The names of the documents with a graph, in order.
    pub fn documents(&self) -> impl Iterator<Item = &str> + '_ {
        self.graphs.keys().map(String::as_str)
    }

    /// The plan for `document` from `from` to `to`; see [`Graph::plan`].
    ///
    /// # Errors
    ///
    /// [`Error::NoPath`], also when nothing is registered for `document` and `from != to`.
    pub fn plan(&self, document: &str, from: &Version, to: &Version) -> Result<Plan, Error> {
        match self.graphs.get(document) {
            Some(graph) => graph.plan(from, to),
            None => Graph::new(document).plan(from, to),
        }
    }

    /// Runs a plan made by [`plan`](Self::plan); see [`Graph::execute`].
    ///
    /// # Errors
    ///
    /// [`Error::Step`], or [`Error::ForeignPlan`] if no graph here has the plan's steps.
    pub fn execute(&self, plan: &Plan, value: Value) -> Result<Value, Error> {
        match self.graphs.get(plan.document()) {
            Some(graph) => graph.execute(plan, value),
            None => Graph::new(plan.document()).execute(plan, value),
        }
    }

    /// Migrates `value` of `document` from `from` to `to`; see [`Graph::apply`].
    ///
    /// # Errors
    ///
    /// [`Error::NoPath`] or [`Error::Step`]; nothing half-migrated is returned.
    pub fn apply(
        &self,
        document: &str,
        value: Value,
        from: &Version,
        to: &Version,
    ) -> Result<Value, Error> {
        let plan = self.plan(document, from, to)?;
        self.execute(&plan, value)
    }
}
