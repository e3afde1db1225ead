//! The writer's hot documents: the decoded value of each recently patched document, so the
//! next patch of it neither reads nor decodes it (an append to a long history costs the
//! message, not the history).
//!
//! An entry is the document as of the journal record that last changed its key (its
//! sequence). It is used only while that record is still the key's latest in the journal, or
//! the key is no longer in the journal at all (a checkpoint wrote the same document into its
//! file); every other write of the key forgets it ([`HotDocs::forget`], [`HotDocs::clear`]).
//! Bounded by bytes of JSON text; the least recently used go first.

use std::collections::HashMap;
use std::sync::Mutex;

use serde_json::Value;
use statevault_core::Key;

use crate::format::FileFormat;

/// One decoded document.
#[derive(Debug)]
pub(crate) struct Hot {
    pub(crate) value: Value,
    pub(crate) format: FileFormat,
    /// The journal record that last changed the key.
    pub(crate) sequence: u64,
    /// The length of its JSON text (what the budget counts).
    pub(crate) bytes: u64,
}

/// The store's hot documents (see the module's documentation).
#[derive(Debug)]
pub(crate) struct HotDocs {
    budget: u64,
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    docs: HashMap<Key, (Hot, u64)>,
    used: u64,
    clock: u64,
}

impl HotDocs {
    pub(crate) fn new(budget: u64) -> HotDocs {
        HotDocs {
            budget,
            inner: Mutex::new(Inner::default()),
        }
    }

    fn inner(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes the document of `key` out, if it is kept and still current: `latest` is the
    /// sequence of the key's latest journal record (`None`: the journal holds none).
    pub(crate) fn take(&self, key: &Key, latest: Option<u64>) -> Option<Hot> {
        let mut inner = self.inner();
        let (hot, _) = inner.docs.remove(key)?;
        inner.used -= hot.bytes;
        match latest {
            Some(sequence) if sequence != hot.sequence => None,
            _ => Some(hot),
        }
    }

    /// Keeps `hot` for `key`, making room by forgetting the least recently used.
    pub(crate) fn put(&self, key: Key, hot: Hot) {
        if hot.bytes > self.budget {
            return;
        }
        let mut inner = self.inner();
        if let Some((old, _)) = inner.docs.remove(&key) {
            inner.used -= old.bytes;
        }
        while inner.used + hot.bytes > self.budget {
            let Some(oldest) = inner
                .docs
                .iter()
                .min_by_key(|(_, (_, used))| *used)
                .map(|(k, _)| k.clone())
            else {
                break;
            };
            if let Some((gone, _)) = inner.docs.remove(&oldest) {
                inner.used -= gone.bytes;
            }
        }
        inner.clock += 1;
        let clock = inner.clock;
        inner.used += hot.bytes;
        inner.docs.insert(key, (hot, clock));
    }

    /// Forgets the document of `key` (another write changed it).
    pub(crate) fn forget(&self, key: &Key) {
        let mut inner = self.inner();
        if let Some((gone, _)) = inner.docs.remove(key) {
            inner.used -= gone.bytes;
        }
    }

    #[cfg(feature = "backup")]
    /// Forgets every document (a restore, a rewrite of the whole store).
    pub(crate) fn clear(&self) {
        let mut inner = self.inner();
        inner.docs.clear();
        inner.used = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hot(sequence: u64, bytes: u64) -> Hot {
        Hot {
            value: Value::Null,
            format: FileFormat::Plain,
            sequence,
            bytes,
        }
    }

    fn key(text: &str) -> Key {
        Key::parse(text).unwrap()
    }

    #[test]
    fn a_document_is_current_only_while_its_record_is_the_keys_latest() {
        let docs = HotDocs::new(100);
        docs.put(key("config.a"), hot(5, 10));
        assert!(
            docs.take(&key("config.a"), Some(6)).is_none(),
            "another record"
        );
        docs.put(key("config.a"), hot(5, 10));
        assert!(docs.take(&key("config.a"), Some(5)).is_some());
        assert!(docs.take(&key("config.a"), Some(5)).is_none(), "taken out");
        docs.put(key("config.a"), hot(5, 10));
        assert!(docs.take(&key("config.a"), None).is_some(), "checkpointed");
    }

    #[test]
    fn the_budget_forgets_the_least_recently_used_and_never_keeps_a_larger_document() {
        let docs = HotDocs::new(100);
        docs.put(key("config.a"), hot(1, 40));
        docs.put(key("config.b"), hot(2, 40));
        docs.put(key("config.c"), hot(3, 40));
        assert!(
            docs.take(&key("config.a"), None).is_none(),
            "the oldest went"
        );
        assert!(docs.take(&key("config.b"), None).is_some());
        docs.put(key("config.d"), hot(4, 101));
        assert!(docs.take(&key("config.d"), None).is_none());
        docs.forget(&key("config.c"));
        assert!(docs.take(&key("config.c"), None).is_none());
        assert_eq!(docs.inner().used, 0);
    }
}
