//! The identity of a store, kept in `.statevault/store.json` (format, random id, creation time,
//! a checksum) and in its copy `.statevault/store.json.bak`: read and checked at open, created
//! for a new store, restored from the copy on request.
//!
//! Encrypted values bind the store id into their associated data, so a store that got a new id
//! could never decrypt them again. A folder that holds data therefore never gets a new identity
//! implicitly: a missing or damaged `store.json` there is [`Error::CorruptMetadata`], and
//! [`recover`] (`Storage::recover_identity`) restores it from the copy.

use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::durability::Durability;
use crate::error::{Error, Result};
use crate::folder::{Folder, is_temp_name};
use crate::key::folder_namespace;
use crate::unique::{random_hex, timestamp_ms};

/// The identity's file, inside `.statevault/`.
const INFO_FILE: &str = "store.json";
/// Its copy, written beside it (atomically, like it) by every writer's open.
const INFO_COPY: &str = "store.json.bak";
/// How the checksum field starts.
const CHECKSUM_PREFIX: &str = "crc32c:";
/// The first byte of the codec's binary envelope (`docs/file-format.md`), which encrypted
/// values use.
const ENVELOPE_FIRST_BYTE: u8 = 0x89;
/// The length of a store id: 128 random bits in lower-case hex.
const STORE_ID_LEN: usize = 32;

/// The store format this build writes and the newest it reads (`.statevault/store.json`).
/// Format 1 (no checksum) is still read; a writer's open rewrites it as format 2.
pub const STORE_FORMAT: u32 = 2;

/// The identity of a store, kept in `.statevault/store.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreInfo {
    /// The store format of the file it was read from (see [`STORE_FORMAT`]).
    pub format: u32,
    /// 128 random bits in hex; encrypted files are bound to it.
    pub store_id: String,
    /// When the store was created, in milliseconds since the Unix epoch.
    pub created_at: u64,
}

/// What [`Storage::recover_identity`](crate::Storage::recover_identity) found and did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum IdentityRecovery {
    /// `store.json` was intact; nothing but its copy (rewritten if it differed) was changed.
    Intact(StoreInfo),
    /// `store.json` was missing or damaged and was restored from its intact copy.
    Restored {
        /// The identity restored (the one the store's encrypted values are bound to).
        info: StoreInfo,
        /// The copy it came from.
        from: PathBuf,
    },
}

/// `store.json` as it is written from format 2 on.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileV2 {
    format: u32,
    store_id: String,
    created_at: u64,
    checksum: String,
}

/// `store.json` of format 1 (no checksum).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileV1 {
    format: u32,
    store_id: String,
    created_at: u64,
}

/// One identity file as found on disk.
enum Found {
    Intact(StoreInfo),
    Missing,
    Damaged(String),
}

/// The CRC-32C of the covered bytes of `docs/file-format.md` ("Store identity"): the format
/// (u32 LE), the id's length (u32 LE), the id, the creation time (u64 LE).
fn checksum(format: u32, store_id: &str, created_at: u64) -> u32 {
    let mut covered = Vec::with_capacity(16 + store_id.len());
    covered.extend_from_slice(&format.to_le_bytes());
    covered.extend_from_slice(&(store_id.len() as u32).to_le_bytes());
    covered.extend_from_slice(store_id.as_bytes());
    covered.extend_from_slice(&created_at.to_le_bytes());
    crc32c::crc32c(&covered)
}

/// The bytes of `store.json` (and its copy) for `info`, in the current format.
fn encode(info: &StoreInfo) -> Vec<u8> {
    let file = FileV2 {
        format: STORE_FORMAT,
        store_id: info.store_id.clone(),
        created_at: info.created_at,
        checksum: format!(
            "{CHECKSUM_PREFIX}{:08x}",
            checksum(STORE_FORMAT, &info.store_id, info.created_at)
        ),
    };
    let mut bytes = serde_json::to_vec_pretty(&file).expect("the identity always serializes");
    bytes.push(b'\n');
    bytes
}

/// Decodes an identity file: `Ok(Err(detail))` when it is damaged.
fn decode(bytes: &[u8], root: &Path) -> Result<Result<StoreInfo, String>> {
    // Read the format alone first, so a newer store whose other fields changed is reported as
    // newer rather than as damaged.
    #[derive(Deserialize)]
    struct FormatOnly {
        format: u32,
    }
    let format = match serde_json::from_slice::<FormatOnly>(bytes) {
        Ok(f) => f.format,
        Err(e) => return Ok(Err(e.to_string())),
    };
    if format > STORE_FORMAT {
        // Every format from 2 on keeps these four fields and this checksum, so damage to the
        // format number (2 read as 3) is told apart from a newer format before it is trusted.
        #[derive(Deserialize)]
        struct Checked {
            store_id: String,
            created_at: u64,
            checksum: String,
        }
        if let Ok(checked) = serde_json::from_slice::<Checked>(bytes) {
            let computed = checksum(format, &checked.store_id, checked.created_at);
            if checked.checksum != format!("{CHECKSUM_PREFIX}{computed:08x}") {
                return Ok(Err(format!(
                    "format {format} with a checksum that does not match (damage, not a newer \
                     format)"
                )));
            }
        }
        return Err(Error::NewerStoreFormat {
            dir: root.to_path_buf(),
            found: format,
            supported: STORE_FORMAT,
        });
    }
    let info = match format {
        1 => match serde_json::from_slice::<FileV1>(bytes) {
            Ok(v1) => StoreInfo {
                format: v1.format,
                store_id: v1.store_id,
                created_at: v1.created_at,
            },
            Err(e) => return Ok(Err(e.to_string())),
        },
        2 => {
            let v2 = match serde_json::from_slice::<FileV2>(bytes) {
                Ok(v2) => v2,
                Err(e) => return Ok(Err(e.to_string())),
            };
            let stored = v2
                .checksum
                .strip_prefix(CHECKSUM_PREFIX)
                .filter(|h| {
                    h.len() == 8 && h.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
                })
                .and_then(|h| u32::from_str_radix(h, 16).ok());
            let Some(stored) = stored else {
                return Ok(Err(format!("malformed checksum {:?}", v2.checksum)));
            };
            let computed = checksum(v2.format, &v2.store_id, v2.created_at);
            if stored != computed {
                return Ok(Err(format!(
                    "checksum mismatch: stored {stored:08x}, computed {computed:08x}"
                )));
            }
            StoreInfo {
                format: v2.format,
                store_id: v2.store_id,
                created_at: v2.created_at,
            }
        }
        other => return Ok(Err(format!("unknown store format {other}"))),
    };
    let id_ok = info.store_id.len() == STORE_ID_LEN
        && info
            .store_id
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    if !id_ok {
        return Ok(Err(format!("malformed store id {:?}", info.store_id)));
    }
    Ok(Ok(info))
}

/// Reads one identity file.
fn read_one(folder: &Folder, path: &Path) -> Result<Found> {
    let bytes = match folder.backend().read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Found::Missing),
        Err(e) => return Err(Error::io("read", path, e)),
    };
    Ok(match decode(&bytes, folder.root())? {
        Ok(info) => Found::Intact(info),
        Err(detail) => Found::Damaged(detail),
    })
}

/// Reads and checks the identity in `meta_dir` for an open. `None` only where `store.json` is
/// missing and the folder holds no data (a new store, or one only the legacy service wrote).
///
/// A writer also brings the file to the current format and its copy up to date.
pub(crate) fn open(folder: &Folder, meta_dir: &Path, writer: bool) -> Result<Option<StoreInfo>> {
    let path = meta_dir.join(INFO_FILE);
    let detail = match read_one(folder, &path)? {
        Found::Intact(info) => {
            if writer {
                keep_current(folder, meta_dir, &info)?;
            }
            return Ok(Some(info));
        }
        Found::Missing => {
            let Some(what) = holds_data(folder, meta_dir)? else {
                return Ok(None);
            };
            format!("it is missing, but the folder holds data ({what})")
        }
        Found::Damaged(detail) => detail,
    };
    Err(Error::CorruptMetadata {
        detail: format!(
            "{detail}. The store's identity is never replaced implicitly: its encrypted values \
             are bound to it. {}",
            repair_hint(folder, meta_dir)?
        ),
        path,
    })
}

/// What the error of a missing or damaged `store.json` says to do.
fn repair_hint(folder: &Folder, meta_dir: &Path) -> Result<String> {
    let copy = meta_dir.join(INFO_COPY);
    Ok(match read_one(folder, &copy)? {
        Found::Intact(info) => format!(
            "Its copy {} is intact (store id {}): restore it with `statevault repair` \
             (Storage::recover_identity)",
            copy.display(),
            info.store_id
        ),
        Found::Missing | Found::Damaged(_) => format!(
            "It has no intact copy ({}): restore store.json from a backup of the folder; the \
             store id is also the account name of the store's key in the OS keychain \
             (service \"statevault\")",
            copy.display()
        ),
    })
}

/// A writer's care of an intact identity: the file rewritten in the current format if it is
/// older, the copy rewritten if it is missing or differs.
fn keep_current(folder: &Folder, meta_dir: &Path, info: &StoreInfo) -> Result<()> {
    let bytes = encode(info);
    if info.format < STORE_FORMAT {
        folder.replace(&meta_dir.join(INFO_FILE), &bytes, Durability::Full)?;
        tracing::info!(
            from = info.format,
            to = STORE_FORMAT,
            "store.json rewritten in the current format"
        );
    }
    let copy = meta_dir.join(INFO_COPY);
    match folder.backend().read(&copy) {
        Ok(existing) if existing == bytes => return Ok(()),
        Ok(existing) => {
            if let Ok(Ok(other)) = decode(&existing, folder.root())
                && other.store_id != info.store_id
            {
                tracing::warn!(store_json = %info.store_id, copy = %other.store_id,
                    "store.json.bak names another store; store.json wins and the copy is rewritten");
            }
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(Error::io("read", copy, e)),
    }
    folder.replace(&copy, &bytes, Durability::Full)
}

/// Creates a new identity (a fresh random id) and writes it durably in `meta_dir`: the file
/// first, then its copy (a crash between them leaves an intact file, whose copy the next open
/// writes; never a copy without the file).
pub(crate) fn create(folder: &Folder, meta_dir: &Path) -> Result<StoreInfo> {
    let info = StoreInfo {
        format: STORE_FORMAT,
        store_id: random_hex::<16>()?,
        created_at: timestamp_ms(),
    };
    let bytes = encode(&info);
    folder.replace(&meta_dir.join(INFO_FILE), &bytes, Durability::Full)?;
    folder.replace(&meta_dir.join(INFO_COPY), &bytes, Durability::Full)?;
    Ok(info)
}

/// Restores `store.json` from its copy when it is missing or damaged (the writer lock held by
/// the caller).
pub(crate) fn recover(folder: &Folder, meta_dir: &Path) -> Result<IdentityRecovery> {
    let path = meta_dir.join(INFO_FILE);
    if let Found::Intact(info) = read_one(folder, &path)? {
        keep_current(folder, meta_dir, &info)?;
        return Ok(IdentityRecovery::Intact(info));
    }
    let copy = meta_dir.join(INFO_COPY);
    match read_one(folder, &copy)? {
        Found::Intact(info) => {
            folder.replace(&path, &encode(&info), Durability::Full)?;
            keep_current(folder, meta_dir, &info)?;
            tracing::warn!(store_id = %info.store_id, "store.json restored from its copy");
            Ok(IdentityRecovery::Restored { info, from: copy })
        }
        Found::Missing => Err(Error::CorruptMetadata {
            path: copy,
            detail: "store.json is missing or damaged and has no copy to restore it from".into(),
        }),
        Found::Damaged(detail) => Err(Error::CorruptMetadata {
            path: copy,
            detail: format!(
                "store.json is missing or damaged and its copy is damaged too: {detail}"
            ),
        }),
    }
}

/// What makes the folder one whose identity matters, if anything: a file statevault wrote
/// that the identity binds or that names the store (`docs/durability.md`, "The store's
/// identity"). A folder only the legacy service wrote has none: its files are bound to no id.
fn holds_data(folder: &Folder, meta_dir: &Path) -> Result<Option<String>> {
    let exists = |path: &Path| match folder.backend().metadata(path) {
        Ok(_) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(Error::io("stat", path, e)),
    };
    if exists(&meta_dir.join(INFO_COPY))? {
        return Ok(Some(INFO_COPY.to_string()));
    }
    if let Some(entry) = folder
        .read_dir_or_empty(&meta_dir.join("journal"))?
        .into_iter()
        .find(|e| !e.is_dir)
    {
        return Ok(Some(format!("journal file {}", entry.name)));
    }
    if let Some(entry) = folder
        .read_dir_or_empty(meta_dir)?
        .into_iter()
        .find(|e| e.name.starts_with("audit.") && e.name.ends_with(".log"))
    {
        return Ok(Some(format!("audit log {}", entry.name)));
    }
    let backups = folder.root().join("backups");
    if !folder
        .read_dir_or_empty(&backups.join("objects"))?
        .is_empty()
    {
        return Ok(Some("backup objects".into()));
    }
    for kind in ["manual", "auto"] {
        if folder
            .read_dir_or_empty(&backups.join(kind))?
            .iter()
            .any(|e| e.name.ends_with(".manifest.json"))
        {
            return Ok(Some(format!("{kind} snapshots")));
        }
    }
    for entry in folder.read_dir_or_empty(folder.root())? {
        if entry.is_dir && folder_namespace(&entry.name).is_some() {
            let dir = folder.root().join(&entry.name);
            if let Some(file) = statevault_file_below(folder, &dir)? {
                return Ok(Some(format!("key file {}", file.display())));
            }
        }
    }
    Ok(None)
}

/// The first file below `dir` in statevault's binary envelope (its first byte is 0x89): the
/// only key files an identity binds (an encrypted value authenticates the store id). Plain
/// files, and the legacy service's, read the same under any id.
fn statevault_file_below(folder: &Folder, dir: &Path) -> Result<Option<PathBuf>> {
    for entry in folder.read_dir_or_empty(dir)? {
        let path = dir.join(&entry.name);
        if entry.is_dir {
            if let Some(found) = statevault_file_below(folder, &path)? {
                return Ok(Some(found));
            }
        } else if entry.is_file && entry.name.ends_with(".json") && !is_temp_name(&entry.name) {
            let head = match folder.backend().read_prefix(&path, 1) {
                Ok(head) => head,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(Error::io("read", path, e)),
            };
            if head.first() == Some(&ENVELOPE_FIRST_BYTE) {
                return Ok(Some(path));
            }
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info() -> StoreInfo {
        StoreInfo {
            format: STORE_FORMAT,
            store_id: "0123456789abcdef0123456789abcdef".into(),
            created_at: 1_764_126_784_000,
        }
    }

    #[test]
    fn the_current_format_round_trips_and_matches_the_documented_checksum() {
        let bytes = encode(&info());
        assert_eq!(decode(&bytes, Path::new("/s")).unwrap(), Ok(info()));
        let text = String::from_utf8(bytes).unwrap();
        let expected = checksum(2, &info().store_id, info().created_at);
        let mut covered = vec![2, 0, 0, 0, 32, 0, 0, 0];
        covered.extend_from_slice(info().store_id.as_bytes());
        covered.extend_from_slice(&info().created_at.to_le_bytes());
        assert_eq!(expected, crc32c::crc32c(&covered));
        assert!(
            text.contains(&format!("\"checksum\": \"crc32c:{expected:08x}\"")),
            "{text}"
        );
    }

    #[test]
    fn store_json_is_self_checking_every_byte_flip_is_refused_or_harmless() {
        let bytes = encode(&info());
        let mut refused = 0;
        for at in 0..bytes.len() {
            for flip in [0x01, 0x20, 0xff] {
                let mut damaged = bytes.clone();
                damaged[at] ^= flip;
                match decode(&damaged, Path::new("/s")) {
                    Ok(Ok(found)) => assert_eq!(found, info(), "byte {at} ^ {flip:#x}"),
                    Ok(Err(_)) => refused += 1,
                    Err(e) => panic!("byte {at} ^ {flip:#x}: {e}"),
                }
            }
        }
        assert!(refused > bytes.len() * 2, "{refused}");
        for cut in 0..bytes.len() - 1 {
            assert!(
                decode(&bytes[..cut], Path::new("/s")).unwrap().is_err(),
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn a_newer_format_is_newer_not_damaged() {
        let newer = br#"{"format": 3, "something": "else"}"#;
        assert!(matches!(
            decode(newer, Path::new("/s")),
            Err(Error::NewerStoreFormat { found: 3, .. })
        ));
    }
}
