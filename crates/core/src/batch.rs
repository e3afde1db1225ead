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
}

impl BatchOp {
    /// The key the operation changes.
    pub fn key(&self) -> &Key {
        match self {
            BatchOp::Put { key, .. } | BatchOp::Delete { key } => key,
        }
    }
}
