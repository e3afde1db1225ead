//! One line of the audit log: its fields, what its hash covers, and its two versions.
//!
//! - Version 1 (no `v` field): one line per key changed, `key` naming it, `size` and `checksum`
//!   those of the key's new bytes.
//! - Version 2 (`"v":2`): one line per commit, `keys` naming every key it changed, `size` and
//!   `checksum` those of the journal record that committed it (one BLAKE3 over the record, not
//!   one per key); `ops` counts the operations of a patch.
//!
//! Both verify: a line's `hash` is BLAKE3 over the compact JSON of its other fields in the
//! order below, absent fields left out, exactly as the line holds them.

use serde::{Deserialize, Serialize};

/// The `prev` of the very first line.
pub(crate) const GENESIS: &str =
    "blake3:0000000000000000000000000000000000000000000000000000000000000000";

/// The version of the lines this build writes.
pub(crate) const VERSION: u32 = 2;

fn is_v1(v: &u32) -> bool {
    *v == 1
}

fn v1() -> u32 {
    1
}

/// One line of the audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// The line's format: 1 (one line per key, written by earlier versions) or 2 (one line
    /// per commit).
    #[serde(default = "v1", skip_serializing_if = "is_v1")]
    pub v: u32,
    /// 1, 2, 3, … across rotations.
    pub seq: u64,
    /// When, in milliseconds since the Unix epoch.
    pub time: u64,
    /// `save`, `delete`, `batch`, `patch`, `migrate`, `restore`, `gap`, … (version 1 lines
    /// also `batch-save`, `batch-delete`, `restore-save`, …).
    pub op: String,
    /// The key changed (version 1 lines only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// Every key the commit changed, or what the event names (version 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keys: Option<Vec<String>>,
    /// How many operations a patch applied (version 2, patches only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ops: Option<u64>,
    /// Size of what was committed: the journal record (version 2) or the key's new bytes
    /// (version 1); 0 for a delete of version 1. For a `gap`, the bytes a crash cut off.
    pub size: u64,
    /// BLAKE3 of what was committed, as `size` says (empty where nothing was). Never a value.
    pub checksum: String,
    /// The `hash` of the previous line.
    pub prev: String,
    /// BLAKE3 of this line's other fields, in this order, as compact JSON.
    pub hash: String,
}

impl AuditEntry {
    /// The keys (or the snapshot) the line names, whatever its version.
    pub fn subjects(&self) -> Vec<&str> {
        match (&self.key, &self.keys) {
            (_, Some(keys)) => keys.iter().map(String::as_str).collect(),
            (Some(key), None) if !key.is_empty() => vec![key.as_str()],
            _ => Vec::new(),
        }
    }
}

/// The fields hashed into [`AuditEntry::hash`], in a fixed order, left out where absent as
/// [`AuditEntry`] leaves them out.
#[derive(Serialize)]
pub(crate) struct Hashed<'a> {
    #[serde(skip_serializing_if = "is_v1")]
    pub(crate) v: u32,
    pub(crate) seq: u64,
    pub(crate) time: u64,
    pub(crate) op: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) key: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) keys: Option<&'a [String]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) ops: Option<u64>,
    pub(crate) size: u64,
    pub(crate) checksum: &'a str,
    pub(crate) prev: &'a str,
}

/// The hash a line must carry.
pub(crate) fn hash_of(entry: &AuditEntry) -> String {
    let hashed = Hashed {
        v: entry.v,
        seq: entry.seq,
        time: entry.time,
        op: &entry.op,
        key: entry.key.as_deref(),
        keys: entry.keys.as_deref(),
        ops: entry.ops,
        size: entry.size,
        checksum: &entry.checksum,
        prev: &entry.prev,
    };
    hashed_line(&hashed).1
}

/// The compact JSON of `hashed` and the hash of it that becomes the line's `hash`.
pub(crate) fn hashed_line(hashed: &Hashed<'_>) -> (Vec<u8>, String) {
    let bytes = serde_json::to_vec(hashed).expect("plain fields always serialize");
    let hash = format!("blake3:{}", blake3::hash(&bytes).to_hex());
    (bytes, hash)
}

/// A change to record: what a version 2 line says of it, before its place in the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Change {
    pub(crate) op: String,
    pub(crate) keys: Vec<String>,
    pub(crate) ops: Option<u64>,
    pub(crate) size: u64,
    pub(crate) checksum: String,
}
