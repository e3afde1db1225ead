//! The operations of an all-or-nothing batch (see [`Storage::commit_batch`]).
//!
//! [`Storage::commit_batch`]: crate::Storage::commit_batch

use crate::key::Key;

/// One operation of a batch (see [`Storage::commit_batch`](crate::Storage::commit_batch)).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BatchOp {
    /// Set `key` to `bytes`.
    Put {
        /// The key.
        key: Key,
        /// Its new value.
        bytes: Vec<u8>,
    },
    /// Remove `key` (nothing happens if it does not exist).
    Delete {
        /// The key.
        key: Key,
    },
    /// Amend the value of `key`, which must exist, by `bytes`: an amendment the store keeps in
    /// the journal and folds into the value with the [`Fold`](crate::Fold) the store was
    /// opened with (at a checkpoint, or when a plain read asks for the value).
    Amend {
        /// The key.
        key: Key,
        /// The amendment, as the layer above defines it (for the facade, a JSON Patch).
        bytes: Vec<u8>,
    },
}

impl BatchOp {
    /// The key the operation changes.
    pub fn key(&self) -> &Key {
        match self {
            BatchOp::Put { key, .. } | BatchOp::Delete { key } | BatchOp::Amend { key, .. } => key,
        }
    }
}

/// What a commit wrote: one journal record (see
/// [`Storage::commit_batch`](crate::Storage::commit_batch)).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Commit {
    /// The record's sequence number: nanoseconds since the Unix epoch, strictly growing within
    /// a store.
    pub sequence: u64,
    /// The record's length in bytes, header and checksum included.
    pub len: u64,
    /// BLAKE3 of the record's bytes as written (an audit log's fingerprint of the commit).
    pub digest: [u8; 32],
}

impl Commit {
    /// The digest as `blake3:<64 hex digits>`.
    pub fn digest_hex(&self) -> String {
        format!("blake3:{}", blake3::Hash::from_bytes(self.digest).to_hex())
    }
}
