//! The codec's integration tests: one binary, one module per area.

#[path = "all/alloc.rs"]
mod alloc;
#[path = "all/crypto.rs"]
mod crypto;
#[path = "all/fixtures.rs"]
mod fixtures;
#[path = "all/keychains.rs"]
mod keychains;
#[path = "all/limits.rs"]
mod limits;
#[path = "all/memory.rs"]
mod memory;
#[path = "all/owned.rs"]
mod owned;
#[path = "all/providers.rs"]
mod providers;
#[path = "all/roundtrip.rs"]
mod roundtrip;
#[path = "all/support.rs"]
mod support;
#[path = "all/tamper.rs"]
mod tamper;
