//! The metric names the application's dashboards use.

/// Histogram: milliseconds per save.
pub const SAVE_DURATION_MS: &str = "state_persistence.save.duration_ms";
/// Histogram: milliseconds per patch (`Store::patch`, `Store::append`; its count is the
/// number of patches).
pub const PATCH_DURATION_MS: &str = "state_persistence.patch.duration_ms";
/// Histogram: milliseconds per load.
pub const LOAD_DURATION_MS: &str = "state_persistence.load.duration_ms";
/// Gauge: bytes of every key's file.
pub const STORAGE_SIZE_BYTES: &str = "state_persistence.storage.size_bytes";
/// Counter (alert): a damaged file was found.
pub const CORRUPTION_DETECTED: &str = "state_persistence.corruption_detected";
/// Counter (alert): a save was refused by the quota.
pub const QUOTA_EXCEEDED: &str = "state_persistence.quota_exceeded";
