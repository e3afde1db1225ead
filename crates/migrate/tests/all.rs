//! Integration tests of statevault-migrate, in one binary.

#[path = "all/apply.rs"]
mod apply;
#[path = "all/errors.rs"]
mod errors;
#[path = "all/paths.rs"]
mod paths;
#[path = "all/registry.rs"]
mod registry;

use statevault_migrate::Version;

/// Parses a version written in a test.
pub fn v(s: &str) -> Version {
    Version::parse(s).expect("test versions are valid")
}
