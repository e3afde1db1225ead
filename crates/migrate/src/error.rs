//! The one error type of this crate.

use semver::Version;

use crate::plan::Step;

/// The error a migration function returns: anything that converts into a boxed error.
///
/// `String` and `&str` convert into it, so a migration may simply
/// `return Err(format!("missing field {name}").into())`, or return any `std::error::Error`.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What can go wrong while registering, planning or applying migrations.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An edge `from -> to` was registered twice for the same document.
    ///
    /// Two functions for one step would make the outcome depend on registration order, so the
    /// second registration is refused and the first one stays.
    #[error(
        "duplicate migration for \"{document}\": {} -> {} is already registered (\"{}\")",
        existing.from(), existing.to(), existing.description()
    )]
    DuplicateEdge {
        /// The document whose graph refused the edge.
        document: String,
        /// The edge that is already registered (and stays), with the refused edge's versions.
        existing: Box<Step>,
    },

    /// An edge from a version to itself was registered.
    #[error("migration for \"{document}\" from {version} to itself is not allowed")]
    SelfEdge {
        /// The document whose graph refused the edge.
        document: String,
        /// The version on both ends.
        version: Version,
    },

    /// No chain of migrations leads from `from` to `to` in the asked direction.
    #[error("no migration path for \"{document}\" from {from} to {to}")]
    NoPath {
        /// The document that was to be migrated.
        document: String,
        /// The stored version.
        from: Version,
        /// The asked version.
        to: Version,
    },

    /// One step of a migration failed; nothing half-migrated is returned.
    ///
    /// The step's own error is part of this error's `Display` (`"1.1.0 -> 2.0.0: boom"`) and is
    /// deliberately not also returned by `source()`, so a report that walks the chain of causes
    /// prints it once.
    #[error(
        "migrating \"{document}\" failed at step {} -> {}: {error}",
        step.from(), step.to()
    )]
    Step {
        /// The document that was being migrated.
        document: String,
        /// The failing step: its versions and description. Boxed to keep `Error` small.
        step: Box<Step>,
        /// What the step's function returned (or, if it panicked, the panic message).
        error: BoxError,
    },

    /// A [`Plan`](crate::Plan) was executed on a graph that did not make it.
    #[error(
        "plan for \"{plan_document}\" has step {} -> {}, which the migrations of \"{document}\" do not have",
        step.from(), step.to()
    )]
    ForeignPlan {
        /// The document of the graph asked to execute the plan.
        document: String,
        /// The document the plan was made for.
        plan_document: String,
        /// The first step of the plan that this graph does not have.
        step: Box<Step>,
    },
}
