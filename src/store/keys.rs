//! Encryption keys through the store: what still uses each key, and re-encryption with the
//! current one.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;
use statevault_codec as codec;

use crate::Store;
use crate::error::Result;
use crate::format::FileFormat;
use crate::pipeline::DataOrigin;

/// How much still uses one encryption key (see [`Store::key_usage`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct KeyUsage {
    /// Live files encrypted with it.
    pub files: u64,
    /// Snapshots holding at least one file encrypted with it.
    pub snapshots: u64,
}

impl Store {
    /// How many live files and how many snapshots use each encryption key id (from the files'
    /// headers and the snapshots' manifests; no key is needed). A key must stay available
    /// while anything still uses it.
    pub fn key_usage(&self) -> Result<BTreeMap<u32, KeyUsage>> {
        let mut usage: BTreeMap<u32, KeyUsage> = BTreeMap::new();
        self.each_stored(self.storage().list("")?, &|_, _| {}, |_, bytes| {
            if let Some(id) = key_id_of(&bytes) {
                usage.entry(id).or_default().files += 1;
            }
            Ok(())
        })?;
        for ids in self.snapshot_key_ids()? {
            for id in ids {
                usage.entry(id).or_default().snapshots += 1;
            }
        }
        Ok(usage)
    }

    /// Rewrites every encrypted file that is not encrypted with the current key, each
    /// atomically, keeping its compression. Returns how many files were rewritten.
    pub fn reencrypt(&self) -> Result<usize> {
        let pipeline = self.pipeline();
        let current = pipeline.provider()?.load_or_create()?;
        let current_id = current.current_id().0;
        // Decrypt with every known key, encrypt with the current one.
        pipeline.use_keys(Arc::new(current));
        let mut rewritten = 0;
        self.each_stored(self.storage().list("")?, &|_, _| {}, |key, bytes| {
            if key_id_of(&bytes).is_none_or(|id| id == current_id) {
                return Ok(());
            }
            let decoded = pipeline.decode_file(&key, &bytes)?;
            let options = FileFormat::from(&decoded.format).save_options();
            let bytes = pipeline.encode_exact(
                &key,
                decoded.data,
                DataOrigin::File,
                decoded.meta,
                &options,
            )?;
            self.write_key(&key, bytes, "reencrypt")?;
            rewritten += 1;
            Ok(())
        })?;
        Ok(rewritten)
    }
}

/// The key id an encrypted file's header names, read without keys.
fn key_id_of(bytes: &[u8]) -> Option<u32> {
    let format = codec::inspect(bytes).ok()?.format;
    format
        .key_id()
        .filter(|_| format.is_encrypted())
        .map(|id| id.0)
}
