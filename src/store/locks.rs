//! Per-key locks within one process: a read-modify-write of a key (a patch) must not lose a
//! change that lands between its read and its write.
//!
//! Keys are spread over a fixed set of mutexes by hash: two keys may share one (and then wait
//! for each other briefly), one key never has two. Whoever takes several takes them in order.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::{Mutex, MutexGuard};

use statevault_core::Key;

/// How many mutexes the keys are spread over.
const STRIPES: usize = 64;

/// The store's key locks.
#[derive(Debug)]
pub(crate) struct KeyLocks {
    stripes: [Mutex<()>; STRIPES],
}

/// Held while a key is changed.
pub(crate) struct KeyGuard<'a> {
    _guards: Vec<MutexGuard<'a, ()>>,
}

impl KeyLocks {
    pub(crate) fn new() -> KeyLocks {
        KeyLocks {
            stripes: std::array::from_fn(|_| Mutex::new(())),
        }
    }

    /// Locks `key` until the guard is dropped.
    pub(crate) fn lock(&self, key: &Key) -> KeyGuard<'_> {
        self.lock_all(std::slice::from_ref(key))
    }

    /// Locks every key of `keys` until the guard is dropped.
    pub(crate) fn lock_all(&self, keys: &[Key]) -> KeyGuard<'_> {
        let mut stripes: Vec<usize> = keys.iter().map(stripe_of).collect();
        stripes.sort_unstable();
        stripes.dedup();
        KeyGuard {
            _guards: stripes
                .into_iter()
                // Nothing a lock protects is left half-changed by a panic: the data is `()`.
                .map(|i| self.stripes[i].lock().unwrap_or_else(|e| e.into_inner()))
                .collect(),
        }
    }
}

fn stripe_of(key: &Key) -> usize {
    let mut hasher = DefaultHasher::new();
    key.as_str().hash(&mut hasher);
    (hasher.finish() % STRIPES as u64) as usize
}
