//! An inspectable migration plan: what `apply` would do, without doing it.

use std::fmt;

use semver::Version;

/// One step of a [`Plan`]: a single registered migration edge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub(crate) from: Version,
    pub(crate) to: Version,
    pub(crate) description: String,
}

impl Step {
    /// The version this step reads.
    pub fn from(&self) -> &Version {
        &self.from
    }

    /// The version this step produces.
    pub fn to(&self) -> &Version {
        &self.to
    }

    /// The description the migration was registered with.
    pub fn description(&self) -> &str {
        &self.description
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} -> {}: {}", self.from, self.to, self.description)
    }
}

/// The chain of migrations that takes one document from one version to another.
///
/// Made by [`Graph::plan`](crate::Graph::plan) and run by
/// [`Graph::execute`](crate::Graph::execute); `statevault migrate --dry-run` prints it.
/// An empty plan (from == to) changes nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub(crate) document: String,
    pub(crate) from: Version,
    pub(crate) to: Version,
    pub(crate) steps: Vec<Step>,
}

impl Plan {
    /// The document this plan migrates.
    pub fn document(&self) -> &str {
        &self.document
    }

    /// The version the plan starts from (the stored one).
    pub fn from(&self) -> &Version {
        &self.from
    }

    /// The version the plan ends at (the asked one).
    pub fn to(&self) -> &Version {
        &self.to
    }

    /// The steps, in the order they run.
    pub fn steps(&self) -> &[Step] {
        &self.steps
    }

    /// Whether there is nothing to do (from == to).
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// Number of steps.
    pub fn len(&self) -> usize {
        self.steps.len()
    }

    /// Whether this plan goes to an older version (and so uses down-edges).
    ///
    /// A caller may want to ask for confirmation first: data written by a newer program is
    /// turned into what an older one can read, which usually drops what the older one lacks.
    pub fn is_downgrade(&self) -> bool {
        self.to < self.from
    }
}

impl fmt::Display for Plan {
    /// One line for the plan, then one indented line per step.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} -> {}", self.document, self.from, self.to)?;
        if self.steps.is_empty() {
            return write!(f, " (nothing to do)");
        }
        let n = self.steps.len();
        write!(f, " ({n} step{})", if n == 1 { "" } else { "s" })?;
        for step in &self.steps {
            write!(f, "\n  {step}")?;
        }
        Ok(())
    }
}
