//! The values the journal holds that the keys' files do not yet, as every read sees them.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::backend::Metadata;
use crate::key::Key;
use crate::record::{Record, RecordOp};

/// The latest state the journal holds for a key.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    /// The value, `None` for a delete. With amendments, the value they amend; `None` there
    /// means the key's file.
    pub(crate) value: Option<Arc<Vec<u8>>>,
    /// Amendments of the value since it was last set, oldest first (see [`crate::Fold`]).
    pub(crate) amendments: Vec<Arc<Vec<u8>>>,
    /// The sequence number of the record that last changed the key (reported as the
    /// modification time).
    pub(crate) sequence: u64,
}

impl Entry {
    /// A value set, or removed (`None`), by the record `sequence`.
    pub(crate) fn set(value: Option<Arc<Vec<u8>>>, sequence: u64) -> Entry {
        Entry {
            value,
            amendments: Vec::new(),
            sequence,
        }
    }

    /// Whether the key exists as the journal leaves it (an amended key always does: an
    /// amendment is refused for a key that does not).
    pub(crate) fn exists(&self) -> bool {
        self.value.is_some() || !self.amendments.is_empty()
    }

    /// Whether the value is the key's file with amendments over it.
    pub(crate) fn amends_file(&self) -> bool {
        self.value.is_none() && !self.amendments.is_empty()
    }

    /// The bytes of the amendments.
    pub(crate) fn amendment_bytes(&self) -> u64 {
        self.amendments.iter().map(|a| a.len() as u64).sum()
    }

    /// What [`Storage::metadata`](crate::Storage::metadata) reports for a value the journal
    /// holds in full: its length (with its amendments'), inode 0, and the sequence number of
    /// its last record as its modification time. `None` for a delete, and for a key's file with
    /// amendments (the caller adds them to the file's own metadata).
    pub(crate) fn metadata(&self) -> Option<Metadata> {
        self.value.as_ref().map(|value| Metadata {
            len: value.len() as u64 + self.amendment_bytes(),
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
        apply_op(pending, op, record.sequence);
    }
}

/// Applies one operation of the record `sequence` over `pending`.
pub(crate) fn apply_op(pending: &mut Pending, op: RecordOp, sequence: u64) {
    match op {
        RecordOp::Put { key, value } => {
            pending.insert(key, Entry::set(Some(value), sequence));
        }
        RecordOp::Delete { key } => {
            pending.insert(key, Entry::set(None, sequence));
        }
        RecordOp::Amend { key, amendment } => {
            let entry = pending
                .entry(key)
                .or_insert_with(|| Entry::set(None, sequence));
            entry.amendments.push(amendment);
            entry.sequence = sequence;
        }
    }
}
