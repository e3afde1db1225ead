//! The store without the `backup` feature: no snapshots exist, so what needs one says so.
//!
//! The twins of the few crate-private methods of `store/backups.rs` the rest of the store calls.
//! An operation that would keep an original in an automatic snapshot (a save with
//! `backup: true`, a store-wide migration, a patch of a document stored at an older version)
//! is refused with [`Error::FeatureDisabled`] before it changes anything; a repair finds no
//! intact copy; a load migrates a document in memory and leaves its file as it is.

use std::collections::BTreeSet;

use statevault_core::Key;

use crate::Store;
use crate::error::{Error, Result};

const FEATURE: &str = "backup";

impl Store {
    /// No snapshot can be taken: the change that wanted one is refused.
    pub(crate) fn auto_backup(&self, _keys: Option<&[Key]>, reason: &str) -> Result<String> {
        Err(Error::FeatureDisabled {
            feature: FEATURE,
            operation: format!("an automatic snapshot {reason}"),
        })
    }

    /// No snapshot uses any key.
    pub(crate) fn snapshot_key_ids(&self) -> Result<Vec<BTreeSet<u32>>> {
        Ok(Vec::new())
    }

    /// A repair from a named snapshot cannot be: there are none.
    pub(crate) fn repair_source(&self, from: Option<&str>) -> Result<Option<String>> {
        match from {
            None => Ok(None),
            Some(from) => Err(Error::FeatureDisabled {
                feature: FEATURE,
                operation: format!("a repair from snapshot {from}"),
            }),
        }
    }

    /// No snapshot holds a copy of any key.
    pub(crate) fn intact_copy(
        &self,
        _key: &Key,
        _only: Option<&str>,
    ) -> Result<Option<(String, Vec<u8>)>> {
        Ok(None)
    }
}
