//! `EnvironmentConfig`: which environment the application runs against, and its settings there.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{BUILTIN_VERSION, SEMVER_PATTERN};
use crate::Document;

/// An environment variable name as POSIX shells accept it: a letter or `_`, then letters, digits
/// and `_`.
const VARIABLE_NAME_PATTERN: &str = r"^[A-Za-z_][A-Za-z0-9_]*$";

/// An endpoint name: lower-case letters, digits, `-` and `_`, starting with a letter.
const ENDPOINT_NAME_PATTERN: &str = r"^[a-z][a-z0-9_-]{0,63}$";

/// An absolute `http`, `https`, `ws` or `wss` URL.
const URL_PATTERN: &str = r"^(https?|wss?)://[^\s/?#]+([/?#]\S*)?$";

/// The environment settings: which deployment the application talks to, the variables it passes
/// to the processes it starts, and the service endpoints it uses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EnvironmentConfig {
    /// Version of this data's schema (a semantic version).
    #[schemars(pattern(SEMVER_PATTERN))]
    pub version: String,
    /// Which environment this is.
    pub name: EnvironmentName,
    /// Environment variables by name, set for the processes the application starts.
    /// Never put secrets here unless the key is saved encrypted.
    #[schemars(extend("propertyNames" = { "pattern": VARIABLE_NAME_PATTERN }))]
    pub variables: BTreeMap<String, String>,
    /// Service URLs by name (e.g. `"api": "https://api.example.com"`); absent or empty means the
    /// build's defaults for the environment.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(extend(
        "propertyNames" = { "pattern": ENDPOINT_NAME_PATTERN },
        "additionalProperties" = { "type": "string", "pattern": URL_PATTERN },
    ))]
    pub endpoints: BTreeMap<String, String>,
}

impl Document for EnvironmentConfig {
    const NAME: &'static str = "EnvironmentConfig";
    const VERSION: &'static str = BUILTIN_VERSION;
}

/// A fresh install: production, no variables, the build's endpoints.
impl Default for EnvironmentConfig {
    fn default() -> Self {
        Self {
            version: BUILTIN_VERSION.to_owned(),
            name: EnvironmentName::Production,
            variables: BTreeMap::new(),
            endpoints: BTreeMap::new(),
        }
    }
}

/// A deployment environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum EnvironmentName {
    /// A developer's machine or build.
    Development,
    /// The pre-release deployment.
    Staging,
    /// The released deployment.
    #[default]
    Production,
}
