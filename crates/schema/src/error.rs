//! The crate's one error type.

/// Everything that can go wrong in `statevault-schema` other than a document failing validation
/// (that is a [`ValidationError`](crate::ValidationError), which lists every violation).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A registry pattern is not an exact key (`settings.preferences`) nor a prefix (`layout.*`).
    #[error("invalid key pattern {pattern:?}: {reason}")]
    InvalidPattern {
        /// The pattern as given.
        pattern: String,
        /// Which rule it breaks.
        reason: String,
    },
    /// The pattern is already registered (to the named document).
    #[error("key pattern {pattern:?} is already registered to document {existing}")]
    DuplicatePattern {
        /// The pattern as given.
        pattern: String,
        /// The name of the document it already maps to.
        existing: String,
    },
    /// Two different documents (different schema or version) claim the same name.
    #[error("document name {name:?} is already registered with a different schema or version")]
    NameConflict {
        /// The contested name.
        name: String,
    },
    /// A document name is not an identifier (`[A-Za-z_][A-Za-z0-9_]*`, at most 128 bytes).
    #[error("invalid document name {name:?}: a name is an identifier of at most 128 bytes")]
    InvalidName {
        /// The name as given.
        name: String,
    },
    /// A document version is not a semantic version.
    #[error("document {document}: version {version:?} is not a semantic version: {source}")]
    InvalidVersion {
        /// The document's name.
        document: String,
        /// The version as given.
        version: String,
        /// What the semver parser said.
        #[source]
        source: semver::Error,
    },
    /// A document's JSON Schema could not be compiled into a validator.
    #[error("the schema of document {document} does not compile: {message}")]
    SchemaCompile {
        /// The document's name.
        document: String,
        /// What the validator compiler said.
        message: String,
    },
    /// The TypeScript generator met a schema it cannot translate.
    #[error("cannot generate TypeScript for {root} at schema location {pointer:?}: {message}")]
    TypeScript {
        /// The root type being generated.
        root: String,
        /// JSON pointer into the schema of the construct that failed.
        pointer: String,
        /// What is wrong with it.
        message: String,
    },
    /// A schema could not be serialised to JSON (only with a hand-written `JsonSchema` impl that
    /// produces something that is not JSON).
    #[error("serialising generated file {path}: {source}")]
    Serialize {
        /// The file being generated.
        path: String,
        /// The serde_json error.
        #[source]
        source: serde_json::Error,
    },
    #[cfg(feature = "typescript")]
    /// Generated files on disk are not what the code generates now
    /// ([`ensure_generated_files`](crate::ensure_generated_files)).
    #[error(
        "generated files are stale, run `cargo xtask codegen`:{}",
        crate::codegen::list(files)
    )]
    Stale {
        /// Every stale file, in the order of [`generated_files`](crate::generated_files), then
        /// the schemas nothing generates, sorted.
        files: Vec<crate::StaleFile>,
    },
    /// Reading a generated file or listing its folder failed (other than the file missing).
    #[error("reading {}: {source}", path.display())]
    Io {
        /// The file or folder.
        path: std::path::PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}
