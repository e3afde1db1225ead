//! How the store folds the patches the journal holds into a key's file: the facade's
//! [`Fold`] for `statevault-core`.
//!
//! A patch ([`Store::patch`](crate::Store::patch)) is committed as a journal record of the
//! patch itself, in the codec's envelope (encrypted when the key's value is), not of the patched
//! document; `statevault-core` keeps it as an amendment of the key's value. At a checkpoint the
//! core asks this fold for the document: the base decoded, the patches applied in order, the
//! result encoded in the base's own format (compressed, encrypted as it was) at the version
//! the patches were written for. Loads do not come here: they apply the patches to the decoded
//! base themselves (`Pipeline::decode_layers`), without encoding anything.

use std::sync::Arc;

use statevault_core::{Fold, Key};

use crate::pipeline::{DataOrigin, Pipeline, Recheck};

/// The store's fold (see the module's documentation).
#[derive(Debug)]
pub(crate) struct PatchFold {
    pipeline: Arc<Pipeline>,
}

impl PatchFold {
    pub(crate) fn new(pipeline: Arc<Pipeline>) -> PatchFold {
        PatchFold { pipeline }
    }
}

impl Fold for PatchFold {
    fn fold(
        &self,
        store_id: &str,
        key: &Key,
        base: Vec<u8>,
        amendments: &[Arc<Vec<u8>>],
    ) -> Result<Vec<u8>, String> {
        // The store's recovery folds before the store has handed its id over.
        self.pipeline.set_store_id(store_id);
        let loaded = self
            .pipeline
            .decode_layers(key, base, amendments, Recheck::Never)
            .map_err(|e| e.to_string())?;
        let options = loaded.format.save_options();
        // The version the patches were written for, and the time of the last one: folding the
        // same layers gives the same bytes.
        let meta = loaded.meta.clone();
        let json = loaded.into_stored_json(key).map_err(|e| e.to_string())?;
        self.pipeline
            .encode_exact(key, json, DataOrigin::Serialized, meta, &options)
            .map_err(|e| e.to_string())
    }
}
