//! The stat index: what each key's file looked like (inode, size, mtime) when the previous
//! snapshot hashed it, so an unchanged file costs a `stat` instead of a read and a hash.
//!
//! It is a cache. A missing, damaged or foreign index only means every file is hashed again;
//! it is checksummed so that a damaged entry can never map a file to the wrong object.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use statevault_core::{Durability, Key, Metadata, Storage};

use crate::manifest::{ContentHash, EntryFlags};

/// `backups/index.json`, relative to the store's root.
pub(crate) const INDEX_FILE: &str = "backups/index.json";

const INDEX_FORMAT: u32 = 1;

/// What the index remembers of one key's file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct IndexEntry {
    pub inode: u64,
    pub size: u64,
    pub mtime_ns: i64,
    pub hash: String,
    pub flags: EntryFlags,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Wire {
    format: u32,
    entries: BTreeMap<String, IndexEntry>,
    #[serde(skip_serializing_if = "Option::is_none")]
    checksum: Option<String>,
}

/// The index as loaded, with the modification time of its own file.
#[derive(Debug, Default)]
pub(crate) struct Index {
    entries: BTreeMap<String, IndexEntry>,
    /// When the index file was written, on the file system's clock. A file whose mtime is
    /// not strictly older could have been changed within the same clock tick after it was
    /// hashed (git's "racy clean" problem), so such entries are never trusted.
    written_ns: i128,
}

impl Index {
    /// Loads the index, or an empty one if it is missing, damaged or of another format.
    pub(crate) fn load(storage: &Storage) -> Index {
        let path = Path::new(INDEX_FILE);
        let bytes = match storage.files().read_file(path) {
            Ok(Some(bytes)) => bytes,
            Ok(None) => return Index::default(),
            Err(e) => {
                tracing::warn!(error = %e, "could not read the backup index; hashing every file");
                return Index::default();
            }
        };
        let written_ns = match storage.backend().metadata(&storage.root().join(path)) {
            Ok(meta) => meta.modified_ns,
            Err(_) => return Index::default(),
        };
        match decode(&bytes) {
            Some(entries) => Index {
                entries,
                written_ns,
            },
            None => {
                tracing::warn!("the backup index is damaged; hashing every file");
                Index::default()
            }
        }
    }

    /// The hash and flags recorded for `key`, if its file still has the recorded identity
    /// and was not modified in the tick the index was written.
    pub(crate) fn lookup(&self, key: &Key, meta: &Metadata) -> Option<(ContentHash, EntryFlags)> {
        let e = self.entries.get(key.as_str())?;
        let same = e.inode == meta.inode
            && e.size == meta.len
            && i128::from(e.mtime_ns) == meta.modified_ns
            && meta.modified_ns < self.written_ns;
        if !same {
            return None;
        }
        Some((ContentHash::from_hex(&e.hash)?, e.flags))
    }

    /// The entries to keep in the next index when only some keys are snapshotted: those that
    /// were trusted in this one. A racy entry must not become trusted just because the next
    /// index is written later (git "smudges" such entries for the same reason).
    pub(crate) fn carry_over(&self) -> Index {
        Index {
            entries: self
                .entries
                .iter()
                .filter(|(_, e)| i128::from(e.mtime_ns) < self.written_ns)
                .map(|(k, e)| (k.clone(), e.clone()))
                .collect(),
            written_ns: 0,
        }
    }

    /// Records what `key`'s file looked like when it was hashed.
    pub(crate) fn insert(
        &mut self,
        key: &Key,
        meta: &Metadata,
        hash: &ContentHash,
        flags: EntryFlags,
    ) {
        // A time outside i64 nanoseconds (before 1678 or after 2262) is not indexed: the file
        // is simply hashed every time.
        let Ok(mtime_ns) = i64::try_from(meta.modified_ns) else {
            return;
        };
        self.entries.insert(
            key.as_str().to_owned(),
            IndexEntry {
                inode: meta.inode,
                size: meta.len,
                mtime_ns,
                hash: hash.to_hex(),
                flags,
            },
        );
    }

    /// Writes the index atomically. It is a cache, so it is not fsynced and a failure is
    /// only logged: losing it costs time, never correctness.
    pub(crate) fn save(&self, storage: &Storage) {
        let bytes = encode(&self.entries);
        if let Err(e) = storage
            .files()
            .write_file(Path::new(INDEX_FILE), &bytes, Durability::None)
        {
            tracing::warn!(error = %e, "could not write the backup index; the next snapshot hashes every file");
        }
    }
}

fn encode(entries: &BTreeMap<String, IndexEntry>) -> Vec<u8> {
    let mut wire = Wire {
        format: INDEX_FORMAT,
        entries: entries.clone(),
        checksum: None,
    };
    let canonical = serde_json::to_vec(&wire).expect("the index always serializes");
    wire.checksum = Some(format!("blake3:{}", blake3::hash(&canonical).to_hex()));
    serde_json::to_vec(&wire).expect("the index always serializes")
}

fn decode(bytes: &[u8]) -> Option<BTreeMap<String, IndexEntry>> {
    let mut wire: Wire = serde_json::from_slice(bytes).ok()?;
    if wire.format != INDEX_FORMAT {
        return None;
    }
    let checksum = wire.checksum.take()?;
    let canonical = serde_json::to_vec(&wire).ok()?;
    (checksum == format!("blake3:{}", blake3::hash(&canonical).to_hex())).then_some(wire.entries)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn meta(inode: u64, len: u64, modified_ns: i128) -> Metadata {
        Metadata {
            len,
            is_dir: false,
            is_symlink: false,
            inode,
            modified_ns,
        }
    }

    #[test]
    fn only_an_identical_older_file_is_trusted() {
        let key = Key::parse("settings.preferences").unwrap();
        let hash = ContentHash::of(b"x");
        let mut index = Index {
            written_ns: 1_000,
            ..Index::default()
        };
        index.insert(&key, &meta(7, 1, 500), &hash, EntryFlags::default());
        let check = |index: &Index, m: Metadata, trusted: bool| {
            assert_eq!(index.lookup(&key, &m).is_some(), trusted, "{m:?}");
        };
        check(&index, meta(7, 1, 500), true);
        check(&index, meta(8, 1, 500), false); // replaced by a rename: a new inode
        check(&index, meta(7, 2, 500), false); // edited in place, size changed
        check(&index, meta(7, 1, 501), false); // edited in place, same size
        let other = Key::parse("settings.other").unwrap();
        assert!(index.lookup(&other, &meta(7, 1, 500)).is_none());
        // Written in the same tick as the index: racy, never trusted.
        index.insert(&key, &meta(7, 1, 1_000), &hash, EntryFlags::default());
        check(&index, meta(7, 1, 1_000), false);
        // A racy entry is not carried into the next index; a trusted one is.
        let carried = index.carry_over();
        assert!(carried.entries.is_empty());
    }

    #[test]
    fn damage_empties_the_index() {
        let mut entries = BTreeMap::new();
        entries.insert(
            "layout.default".to_owned(),
            IndexEntry {
                inode: 1,
                size: 2,
                mtime_ns: 3,
                hash: ContentHash::of(b"a").to_hex(),
                flags: EntryFlags::default(),
            },
        );
        let bytes = encode(&entries);
        assert_eq!(decode(&bytes), Some(entries));
        let text = String::from_utf8(bytes).unwrap();
        assert_eq!(
            decode(text.replace("\"size\":2", "\"size\":9").as_bytes()),
            None
        );
        assert_eq!(decode(b"{}"), None);
        assert_eq!(decode(b""), None);
    }

    proptest! {
        #[test]
        fn index_round_trips(raw in proptest::collection::btree_map("[a-z]{1,5}\\.[a-z]{1,5}", (any::<u64>(), any::<u64>(), any::<i64>(), any::<[u8; 32]>(), any::<Option<u32>>()), 0..10)) {
            let entries: BTreeMap<String, IndexEntry> = raw
                .into_iter()
                .map(|(k, (inode, size, mtime_ns, h, key_id))| {
                    (k, IndexEntry {
                        inode,
                        size,
                        mtime_ns,
                        hash: ContentHash::from_bytes(h).to_hex(),
                        flags: EntryFlags { compressed: key_id.is_some(), encrypted: false, key_id },
                    })
                })
                .collect();
            prop_assert_eq!(decode(&encode(&entries)), Some(entries));
        }
    }
}
