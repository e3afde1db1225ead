//! The identity of a store, kept in `.statevault/store.json`: its format and random id.

use std::io;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::durability::Durability;
use crate::error::{Error, Result};
use crate::folder::Folder;
use crate::unique::{random_hex, timestamp_ms};

/// The identity's file, inside `.statevault/`.
const INFO_FILE: &str = "store.json";

/// The store format this build writes and the newest it reads (`.statevault/store.json`).
pub const STORE_FORMAT: u32 = 1;

/// The identity of a store, kept in `.statevault/store.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreInfo {
    /// The store format (see [`STORE_FORMAT`]).
    pub format: u32,
    /// 128 random bits in hex; encrypted files are bound to it.
    pub store_id: String,
    /// When the store was created, in milliseconds since the Unix epoch.
    pub created_at: u64,
}

/// Reads the identity in `meta_dir`; `None` if the file does not exist.
pub(crate) fn read(folder: &Folder, meta_dir: &Path) -> Result<Option<StoreInfo>> {
    let path = meta_dir.join(INFO_FILE);
    let bytes = match folder.backend().read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io("read", path, e)),
    };
    // Read the format alone first, so a newer store whose other fields changed is
    // reported as newer rather than as damaged.
    #[derive(Deserialize)]
    struct FormatOnly {
        format: u32,
    }
    let corrupt = |e: serde_json::Error| Error::CorruptMetadata {
        path: path.clone(),
        detail: e.to_string(),
    };
    let format: FormatOnly = serde_json::from_slice(&bytes).map_err(corrupt)?;
    if format.format > STORE_FORMAT {
        return Err(Error::NewerStoreFormat {
            dir: folder.root().to_path_buf(),
            found: format.format,
            supported: STORE_FORMAT,
        });
    }
    let info: StoreInfo = serde_json::from_slice(&bytes).map_err(corrupt)?;
    Ok(Some(info))
}

/// Creates a new identity (a fresh random id) and writes it durably in `meta_dir`.
pub(crate) fn create(folder: &Folder, meta_dir: &Path) -> Result<StoreInfo> {
    let info = StoreInfo {
        format: STORE_FORMAT,
        store_id: random_hex::<16>()?,
        created_at: timestamp_ms(),
    };
    let mut bytes = serde_json::to_vec_pretty(&info).expect("StoreInfo always serializes");
    bytes.push(b'\n');
    folder.replace(&meta_dir.join(INFO_FILE), &bytes, Durability::Full)?;
    Ok(info)
}
