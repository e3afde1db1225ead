//! Integration tests of statevault-schema, in one binary.

#[path = "all/codegen_fresh.rs"]
mod codegen_fresh;
#[path = "all/common.rs"]
mod common;
#[path = "all/documents.rs"]
mod documents;
#[path = "all/partial.rs"]
mod partial;
#[path = "all/properties.rs"]
mod properties;
#[path = "all/registry.rs"]
mod registry;
#[path = "all/strategies.rs"]
mod strategies;
#[path = "all/typescript.rs"]
mod typescript;
