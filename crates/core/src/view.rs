//! How a handle sees the keys the journal holds while it reads: the writer's pending map, or a
//! reader's index of the journal on disk.

use std::sync::{MutexGuard, RwLockReadGuard};

use crate::backend::LockGuard;
use crate::key::Key;
use crate::pending::{Entry, Pending};
use crate::reader::ReaderIndex;

/// How a handle sees the keys the journal holds while it reads.
pub(crate) enum View<'a> {
    /// The writer's own pending values.
    Memory(RwLockReadGuard<'a, Pending>),
    /// The journal as it stands on disk, through the handle's index of it, read under
    /// `apply.lock` (held until the view drops).
    Disk {
        index: MutexGuard<'a, ReaderIndex>,
        _lock: Option<LockGuard>,
    },
}

impl View<'_> {
    /// The journal's latest operation on `key`, if it holds one.
    pub(crate) fn get(&self, key: &Key) -> Option<&Entry> {
        self.entries().get(key)
    }

    /// Every key the journal holds.
    pub(crate) fn entries(&self) -> &Pending {
        match self {
            View::Memory(pending) => pending,
            View::Disk { index, .. } => index.pending(),
        }
    }
}
