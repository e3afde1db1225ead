//! statevault's migrations: a graph of versions per document, with JSON transformations on
//! the edges.
//!
//! A stored document carries the version of the schema it was written with. When the program
//! now expects another version, the document is migrated *before* it is validated against the
//! current schema: old data is never judged by the new schema's rules. This crate holds the
//! migrations and runs them; it knows nothing of files, schemas or the store, which compose it
//! (`docs/ARCHITECTURE.md`, "Versions").
//!
//! - A [`Graph`] per document: nodes are [`Version`]s, edges are functions
//!   `serde_json::Value -> Result<Value, E>` with a description. A duplicate edge is refused
//!   when it is registered, not discovered when it is run.
//! - [`Graph::plan`] finds the shortest chain of edges (fewest steps, deterministic ties, see
//!   [`Graph`]); up-edges serve upgrades and down-edges serve only downgrades. A [`Plan`] can
//!   be inspected (and printed) before anything runs, for `statevault migrate --dry-run`.
//! - [`Graph::apply`] runs a plan on a value it takes by value: on failure the error names the
//!   step (`1.1.0 -> 2.0.0: …`) and nothing half-migrated is returned.
//! - [`Migrations`] is the registry: document name → graph.
//!
//! # Example
//!
//! A chain 1.0.0 → 1.1.0 → 2.0.0 with a shortcut 1.0.0 → 2.0.0, which the plan prefers:
//!
//! ```
//! use serde_json::{Value, json};
//! use statevault_migrate::{BoxError, Migrations, Version};
//!
//! # fn main() -> Result<(), statevault_migrate::Error> {
//! let v = |s: &str| Version::parse(s).expect("valid version");
//! let mut migrations = Migrations::new();
//! migrations
//!     .add("layout", v("1.0.0"), v("1.1.0"), "add tags", |mut doc: Value| {
//!         doc["tags"] = json!([]);
//!         doc["version"] = json!("1.1.0");
//!         Ok::<_, BoxError>(doc)
//!     })?
//!     .add("layout", v("1.1.0"), v("2.0.0"), "rename cols to columns", |mut doc: Value| {
//!         let cols = doc.get_mut("cols").ok_or("no field cols")?.take();
//!         let obj = doc.as_object_mut().ok_or("not an object")?;
//!         obj.remove("cols");
//!         obj.insert("columns".into(), cols);
//!         obj.insert("version".into(), json!("2.0.0"));
//!         Ok::<_, BoxError>(doc)
//!     })?
//!     .add("layout", v("1.0.0"), v("2.0.0"), "1.0.0 straight to 2.0.0", |doc: Value| {
//!         let cols = doc.get("cols").cloned().ok_or("no field cols")?;
//!         Ok::<_, BoxError>(json!({"version": "2.0.0", "columns": cols, "tags": []}))
//!     })?;
//!
//! // The shortcut is one step, so it wins over the two-step chain.
//! let plan = migrations.plan("layout", &v("1.0.0"), &v("2.0.0"))?;
//! assert_eq!(plan.len(), 1);
//! assert_eq!(plan.steps()[0].description(), "1.0.0 straight to 2.0.0");
//!
//! let old = json!({"version": "1.0.0", "cols": 12});
//! let new = migrations.execute(&plan, old)?;
//! assert_eq!(new, json!({"version": "2.0.0", "columns": 12, "tags": []}));
//!
//! // From 1.1.0 only the second edge leads on; its failure names the step.
//! let err = migrations
//!     .apply("layout", json!({"version": "1.1.0"}), &v("1.1.0"), &v("2.0.0"))
//!     .unwrap_err();
//! assert!(err.to_string().contains("1.1.0 -> 2.0.0: no field cols"));
//! # Ok(())
//! # }
//! ```
//!
//! # Limitations
//!
//! - Migrations work on `serde_json::Value`, not on typed values: each version's shape lives
//!   in its schema (and is validated by the caller after the last step), not in Rust types.
//! - A migration must update any version field inside the document itself; this crate does
//!   not know where a document keeps its version.
//! - Only the number of edges is minimised; edges have no cost or preference beyond the
//!   documented tie-break. Register a shortcut edge to prefer a path.
//! - A panicking migration is reported as a failed step only when panics unwind; with
//!   `panic = "abort"` it ends the process. The panic message is still printed by the panic
//!   hook.
//! - The input value is consumed: on failure it is gone, and the caller re-reads the stored
//!   document or clones it before applying.
#![deny(missing_docs)]

mod error;
mod graph;
mod plan;
mod registry;

pub use error::{BoxError, Error};
pub use graph::Graph;
pub use plan::{Plan, Step};
pub use registry::Migrations;
/// Versions are semver versions; re-exported so callers need no `semver` dependency of their own.
pub use semver::Version;

/// The README's example, compiled and run as a test so that it stays true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
