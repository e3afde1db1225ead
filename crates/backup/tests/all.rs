//! The backup layer's integration tests against real stores in temp folders: one binary, one
//! module per area.

#[path = "all/adversarial.rs"]
mod adversarial;
#[path = "all/alloc.rs"]
mod alloc;
#[path = "all/archive.rs"]
mod archive;
#[path = "all/faults.rs"]
mod faults;
#[path = "all/legacy.rs"]
mod legacy;
#[path = "all/prune.rs"]
mod prune;
#[path = "all/restore.rs"]
mod restore;
#[path = "all/snapshots.rs"]
mod snapshots;
#[path = "all/support.rs"]
mod support;
