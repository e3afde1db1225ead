//! Amendments and how they are folded into a value: the hook through which a layer above the
//! store (the facade's JSON Patch) keeps changes in the journal that cost their own size.
//!
//! A [`BatchOp::Amend`](crate::BatchOp::Amend) commits an amendment of a key's value as a
//! journal record, not the value: the store does not know what an amendment means. Whoever
//! opens the store gives it a [`Fold`] ([`OpenOptions::fold`](crate::OpenOptions::fold)); the
//! store calls it to turn a value and the amendments after it into the new value, at a
//! checkpoint (before any file is replaced, so a fold that fails changes nothing) and when a
//! plain [`Storage::read`](crate::Storage::read) asks for an amended value. A reader that knows
//! how to apply amendments itself reads the [`Layers`] instead
//! ([`Storage::read_layers`](crate::Storage::read_layers)).

use std::fmt;
use std::sync::Arc;

use crate::key::Key;

/// Folds amendments into a value (see the module's documentation).
pub trait Fold: Send + Sync + fmt::Debug {
    /// The value of `key` after `amendments` (oldest first) are applied to `base`, in the store
    /// `store_id`. An error is a detail for [`Error::Fold`](crate::Error::Fold): the base or an
    /// amendment cannot be read (damage, a missing key); nothing is changed then.
    fn fold(
        &self,
        store_id: &str,
        key: &Key,
        base: Vec<u8>,
        amendments: &[Arc<Vec<u8>>],
    ) -> Result<Vec<u8>, String>;
}

/// A key's value as the store holds it: a base value and the amendments committed after it,
/// not yet folded into it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Layers {
    /// The value the amendments apply to (the key's file, or a value the journal holds).
    pub base: Vec<u8>,
    /// The amendments, oldest first; empty when the value is whole.
    pub amendments: Vec<Arc<Vec<u8>>>,
}

/// The store's [`Fold`], if it was given one, and the store's id to pass to it.
#[derive(Debug, Default)]
pub(crate) struct Folding {
    fold: Option<Arc<dyn Fold>>,
    store_id: std::sync::OnceLock<String>,
}

impl Folding {
    pub(crate) fn new(fold: Option<Arc<dyn Fold>>) -> Folding {
        Folding {
            fold,
            store_id: std::sync::OnceLock::new(),
        }
    }

    /// Sets the store's id, once its identity is read.
    pub(crate) fn set_store_id(&self, id: &str) {
        let _ = self.store_id.set(id.to_owned());
    }

    /// `base` with `amendments` folded in.
    pub(crate) fn fold(
        &self,
        key: &Key,
        base: Vec<u8>,
        amendments: &[Arc<Vec<u8>>],
    ) -> crate::Result<Vec<u8>> {
        if amendments.is_empty() {
            return Ok(base);
        }
        let error = |detail: String| crate::Error::Fold {
            key: key.clone(),
            detail,
        };
        let fold = self.fold.as_ref().ok_or_else(|| {
            error(
                "the store was opened without a fold for its amendments (OpenOptions::fold)".into(),
            )
        })?;
        let store_id = self.store_id.get().map_or("", String::as_str);
        fold.fold(store_id, key, base, amendments).map_err(error)
    }
}
