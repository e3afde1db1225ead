//! Batches through the store: all-or-nothing saves and deletes, and consistent multi-key loads.

use std::collections::HashMap;
use std::time::Instant;

use serde::de::DeserializeOwned;
use statevault_core::{BatchOp, Key};

use crate::Store;
use crate::batch::{Batch, Op};
use crate::error::Result;
use crate::key::parse_key;
use crate::metric;
use crate::pipeline::Input;

impl Store {
    /// Applies `batch` all-or-nothing. Every save is validated and encoded first, and the quota
    /// checked, so an invalid value rejects the whole batch before anything is written; then
    /// the batch is committed through the journal of `statevault-core`: after a crash at any
    /// point every operation is visible or none is.
    pub fn save_batch(&self, batch: Batch) -> Result<()> {
        let start = Instant::now();
        let result = self.save_batch_inner(batch);
        metrics::histogram!(metric::SAVE_DURATION_MS).record(start.elapsed().as_secs_f64() * 1e3);
        result
    }

    fn save_batch_inner(&self, batch: Batch) -> Result<()> {
        let all_keys: Vec<Key> = batch.ops.iter().map(|op| op.key().clone()).collect();
        // A patch reads its key before the commit writes it: no other change of the same key
        // may land in between.
        let _locked = self.lock_keys(&all_keys);
        let mut ops = Vec::with_capacity(batch.ops.len());
        let mut keys = Vec::with_capacity(batch.ops.len());
        let mut to_back_up = Vec::new();
        let mut patched = Vec::new();
        let mut patch_ops = None;
        let (mut old_total, mut new_total) = (0u64, 0u64);
        for op in batch.ops {
            let key = match op {
                Op::Save { key, json, options } => {
                    if self.pipeline().wants_backup(&key, &options)
                        && self.storage().exists(&key)?
                    {
                        to_back_up.push(key.clone());
                    }
                    self.refuse_downgrade(&key)?;
                    let bytes = self.pipeline().encode(&key, Input::Json(json), &options)?;
                    ops.push(BatchOp::Put {
                        key: key.clone(),
                        bytes,
                    });
                    key
                }
                Op::Delete { key } => {
                    ops.push(BatchOp::Delete { key: key.clone() });
                    key
                }
                Op::Patch { key, patch } => {
                    self.refuse_downgrade(&key)?;
                    let document = self.patched(&key, &patch)?;
                    if self
                        .pipeline()
                        .wants_backup(&key, &document.format.save_options())
                    {
                        to_back_up.push(key.clone());
                    }
                    ops.push(document.operation(self, &key, &patch)?);
                    *patch_ops.get_or_insert(0) += patch.len() as u64;
                    patched.push((key.clone(), document, patch));
                    key
                }
            };
            let (old, new) = self.sizes_after(&key, ops.last().expect("just pushed"))?;
            old_total += old;
            new_total += new;
            keys.push(key.to_string());
        }
        self.check_quota(old_total, new_total, || keys.clone())?;
        if !to_back_up.is_empty() {
            self.backup_before_overwrite(&to_back_up)?;
        }
        for key in &all_keys {
            self.hot().forget(key);
        }
        let Some(commit) = self.storage().commit_batch(ops, self.durability())? else {
            return Ok(());
        };
        self.account(old_total, new_total);
        for (key, document, patch) in patched {
            document.keep(self, key, &patch, commit.sequence);
        }
        self.audit_commit("batch", keys, &commit, patch_ops)
    }

    /// Loads several keys as one consistent view (no batch half applied in between); missing
    /// keys are absent from the map.
    pub fn load_batch<T: DeserializeOwned>(&self, keys: &[&str]) -> Result<HashMap<Key, T>> {
        let start = Instant::now();
        let keys = keys
            .iter()
            .map(|k| parse_key(k))
            .collect::<Result<Vec<Key>>>()?;
        let values = self.storage().read_many_layers(&keys)?;
        let mut loaded = HashMap::with_capacity(keys.len());
        for (key, bytes) in keys.into_iter().zip(values) {
            if let Some(bytes) = bytes {
                let value = self.load_bytes(&key, bytes)?;
                loaded.insert(key, value);
            }
        }
        metrics::histogram!(metric::LOAD_DURATION_MS).record(start.elapsed().as_secs_f64() * 1e3);
        Ok(loaded)
    }
}
