//! The values the journal holds that the keys' files do not yet, as every read sees them.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::backend::Metadata;
use crate::key::Key;
use crate::record::{Record, RecordOp};

/// The latest operation the journal holds for a key.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    /// The value, `None` for a delete.
    pub(crate) value: Option<Arc<Vec<u8>>>,
    /// The record's sequence number (reported as the modification time).
    pub(crate) sequence: u64,
}

impl Entry {
    /// What [`Storage::metadata`](crate::Storage::metadata) reports for a pending value: its
    /// length, inode 0, and the batch's sequence number as its modification time.
    pub(crate) fn metadata(&self) -> Option<Metadata> {
        self.value.as_ref().map(|value| Metadata {
            len: value.len() as u64,
            is_dir: false,
            is_symlink: false,
            inode: 0,
            modified_ns: i128::from(self.sequence),
        })
    }
}

/// Keys whose latest value is in the journal, not yet in their files. Ordered, so a checkpoint
/// makes its operations in the same order every time (the fault sweeps count on it).
pub(crate) type Pending = BTreeMap<Key, Entry>;

/// Applies a record read from the journal over `pending` (a later record wins).
pub(crate) fn apply_record(pending: &mut Pending, record: Record) {
    for op in record.ops {
        let (key, value) = match op {
            RecordOp::Put { key, value } => (key, Some(value)),
            RecordOp::Delete { key } => (key, None),
        };
        pending.insert(
            key,
            Entry {
                value,
                sequence: record.sequence,
            },
        );
    }
}
