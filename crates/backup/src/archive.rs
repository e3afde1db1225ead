//! Export and import: one snapshot as one archive file (format in `docs/file-format.md`,
//! section *Backup archive*).
//!
//! | offset | size | content |
//! |---:|---:|---|
//! | 0 | 8 | magic `89 53 56 42 4B 0D 0A 1A` (`\x89SVBK\r\n\x1a`) |
//! | 8 | 2 | archive version, u16 LE: 1 |
//! | 10 | 2 | reserved, 0 |
//! | 12 | 8 | manifest length *M*, u64 LE |
//! | 20 | *M* | the manifest file (JSON, with its own checksum) |
//! | 20+*M* | 4 | object count *N*, u32 LE |
//! | … | | *N* objects, ascending by hash: 32-byte BLAKE3 hash, u64 LE length *L*, *L* bytes |
//! | end−32 | 32 | BLAKE3 of every byte before it |

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::io::Write;

use serde::Serialize;
use statevault_core::Key;

use crate::error::{BoxError, Error, Result};
use crate::id::{BackupId, BackupKind};
use crate::manifest::{ContentHash, Entry, Manifest};
use crate::snapshot::{
    BackupInfo, Backups, Classify, FileSet, Location, OnProgress, Progress, no_flags,
};

/// The first 8 bytes of an archive. 0x89 is neither JSON nor text, and the `\r\n\x1a` tail
/// breaks under line-ending conversion, as PNG's does.
pub const ARCHIVE_MAGIC: [u8; 8] = *b"\x89SVBK\r\n\x1a";
/// The archive version this build writes and the newest it reads.
pub const ARCHIVE_VERSION: u16 = 1;

const OFF_VERSION: usize = 8;
const OFF_RESERVED: usize = 10;
const OFF_MANIFEST_LEN: usize = 12;
const OFF_MANIFEST: usize = 20;
const TRAILER_LEN: usize = 32;
/// Per object: hash and length.
const OBJECT_HEADER_LEN: usize = 32 + 8;

/// A caller's per-key transformation of a file's bytes (the facade decrypts on export and
/// re-encrypts under the importing store's key on import).
pub type Transform<'a> = &'a dyn Fn(&Key, &[u8]) -> std::result::Result<Vec<u8>, BoxError>;

/// A transform that keeps the bytes as they are.
pub fn keep_bytes(_key: &Key, bytes: &[u8]) -> std::result::Result<Vec<u8>, BoxError> {
    Ok(bytes.to_vec())
}

/// How [`Backups::export`] writes an archive. Construct with `..ExportOptions::default()`.
#[derive(Clone, Copy)]
pub struct ExportOptions<'a> {
    /// Applied to each file's bytes before they go into the archive (default: unchanged).
    pub transform: Transform<'a>,
    /// Called while the snapshot's objects are read and checked.
    pub progress: Option<OnProgress<'a>>,
}

impl Default for ExportOptions<'_> {
    fn default() -> Self {
        ExportOptions {
            transform: &keep_bytes,
            progress: None,
        }
    }
}

impl fmt::Debug for ExportOptions<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExportOptions").finish_non_exhaustive()
    }
}

/// How [`Backups::import`] stores an archive. Construct with `..ImportOptions::default()`.
#[derive(Clone, Copy)]
pub struct ImportOptions<'a> {
    /// Applied to each file's bytes before they are stored (default: unchanged).
    pub transform: Transform<'a>,
    /// Flags the stored bytes (default: no flags).
    pub classify: Classify<'a>,
    /// A name for the new snapshot; default: the archived snapshot's name.
    pub name: Option<&'a str>,
    /// Called as files are checked and transformed, then again as they are stored: `total`
    /// counts each file twice.
    pub progress: Option<OnProgress<'a>>,
}

impl Default for ImportOptions<'_> {
    fn default() -> Self {
        ImportOptions {
            transform: &keep_bytes,
            classify: &no_flags,
            name: None,
            progress: None,
        }
    }
}

impl fmt::Debug for ImportOptions<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ImportOptions")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// What [`Backups::export`] wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ExportReport {
    /// The snapshot exported.
    pub id: BackupId,
    /// Keys in the archive.
    pub files: usize,
    /// Distinct objects in the archive.
    pub objects: usize,
    /// Bytes written.
    pub bytes: u64,
}

/// A `Write` that also hashes what goes through it and counts it.
struct HashingWriter<'w> {
    out: &'w mut dyn Write,
    hasher: blake3::Hasher,
    written: u64,
}

impl HashingWriter<'_> {
    fn put(&mut self, bytes: &[u8]) -> Result<()> {
        self.out.write_all(bytes).map_err(Error::Write)?;
        self.hasher.update(bytes);
        self.written += bytes.len() as u64;
        Ok(())
    }
}

impl Backups<'_> {
    /// Writes a snapshot to `out` as one archive. Every object is verified first (a damaged
    /// snapshot is refused before anything is written), then passed through
    /// `options.transform`; the archive's manifest names the transformed bytes and keeps the
    /// entries' original flags. Works on a read-only handle.
    pub fn export(
        &self,
        id: &BackupId,
        out: &mut dyn Write,
        options: &ExportOptions<'_>,
    ) -> Result<ExportReport> {
        let source = match self.locate(id)? {
            Location::Native(kind) => self.load_manifest(id, kind)?,
            Location::Legacy => return Err(Error::LegacyNeedsEncoding { id: id.to_string() }),
        };
        let objects = self.read_verified(&source, options.progress)?;
        let files = source.entries.len();
        let mut archived: BTreeMap<ContentHash, Vec<u8>> = BTreeMap::new();
        let mut entries = Vec::with_capacity(source.entries.len());
        for entry in &source.entries {
            let bytes =
                (options.transform)(&entry.key, &objects[&entry.hash]).map_err(|source| {
                    Error::Transform {
                        key: entry.key.to_string(),
                        source,
                    }
                })?;
            let hash = ContentHash::of(&bytes);
            entries.push(Entry {
                key: entry.key.clone(),
                size: bytes.len() as u64,
                hash,
                flags: entry.flags,
            });
            archived.insert(hash, bytes);
        }
        let manifest = Manifest { entries, ..source }.to_json();

        let mut w = HashingWriter {
            out,
            hasher: blake3::Hasher::new(),
            written: 0,
        };
        w.put(&ARCHIVE_MAGIC)?;
        w.put(&ARCHIVE_VERSION.to_le_bytes())?;
        w.put(&0u16.to_le_bytes())?;
        w.put(&(manifest.len() as u64).to_le_bytes())?;
        w.put(&manifest)?;
        let count = u32::try_from(archived.len()).map_err(|_| {
            Error::damaged(id.as_str(), "more than 2^32 objects cannot be archived")
        })?;
        w.put(&count.to_le_bytes())?;
        for (hash, bytes) in &archived {
            w.put(hash.as_bytes())?;
            w.put(&(bytes.len() as u64).to_le_bytes())?;
            w.put(bytes)?;
        }
        let trailer = *w.hasher.finalize().as_bytes();
        w.out.write_all(&trailer).map_err(Error::Write)?;
        w.out.flush().map_err(Error::Write)?;
        Ok(ExportReport {
            id: id.clone(),
            files,
            objects: archived.len(),
            bytes: w.written + TRAILER_LEN as u64,
        })
    }

    /// Stores an archive as a new manual snapshot. Everything is checked first (trailer
    /// hash, manifest checksum, every object's hash, nothing missing or extra) and every
    /// `transform` is run, all before anything is written; then the objects and the
    /// manifest are written as for any snapshot. The new snapshot gets a new id; its reason
    /// names the archived one.
    pub fn import(&self, input: &[u8], options: &ImportOptions<'_>) -> Result<BackupInfo> {
        let _lock = self.begin_write()?;
        let archive = parse(input)?;
        let count = archive.manifest.entries.len() as u64;
        let report = |done: u64| {
            if let Some(progress) = options.progress {
                progress(Progress {
                    done,
                    total: 2 * count,
                });
            }
        };
        // Each key's transformed bytes, each distinct content once; bytes the transform kept
        // as they are stay borrowed from the input. Memory stays within the input plus what
        // the transform makes, however many entries share an object.
        let mut files = FileSet::default();
        for (n, entry) in archive.manifest.entries.iter().enumerate() {
            let input = archive.objects[&entry.hash];
            let bytes =
                (options.transform)(&entry.key, input).map_err(|source| Error::Transform {
                    key: entry.key.to_string(),
                    source,
                })?;
            let bytes = if bytes == input {
                Cow::Borrowed(input)
            } else {
                Cow::Owned(bytes)
            };
            files.add(entry.key.clone(), bytes, options.classify);
            report(n as u64 + 1);
        }
        debug_assert_eq!(files.len() as u64, count);
        let m = archive.manifest;
        let name = options.name.map(str::to_owned).or(m.name);
        let info = self.write_snapshot(
            files,
            BackupKind::Manual,
            name,
            Some(format!("imported from archive of backup {}", m.id)),
            m.scope,
            &|written| report(count + written),
        )?;
        tracing::info!(id = %info.id, from = %m.id, "archive imported");
        Ok(info)
    }
}

/// A checked archive: its manifest and its objects (borrowed from the input).
#[derive(Debug)]
pub(crate) struct Archive<'a> {
    pub manifest: Manifest,
    pub objects: BTreeMap<ContentHash, &'a [u8]>,
}

/// Parses and checks an archive completely. Any damage is [`Error::Damaged`] (id
/// `"archive"`), a newer version [`Error::NewerFormat`].
pub(crate) fn parse(input: &[u8]) -> Result<Archive<'_>> {
    let damaged = |detail: String| Error::damaged("archive", detail);
    let min = OFF_MANIFEST + 4 + TRAILER_LEN;
    if input.len() < min {
        return Err(damaged(format!(
            "{} bytes is too short for an archive (at least {min})",
            input.len()
        )));
    }
    if input[..ARCHIVE_MAGIC.len()] != ARCHIVE_MAGIC {
        return Err(damaged(
            "not a statevault backup archive (bad magic)".into(),
        ));
    }
    // The trailer first, for every version: damage is told apart from a newer version
    // before the version field is trusted.
    let (body, trailer) = input.split_at(input.len() - TRAILER_LEN);
    let found = blake3::hash(body);
    if found.as_bytes() != trailer {
        return Err(damaged(format!(
            "checksum mismatch: the trailer says {}, the content hashes to {}",
            hex(trailer),
            found.to_hex()
        )));
    }
    let version = u16::from_le_bytes([input[OFF_VERSION], input[OFF_VERSION + 1]]);
    if version > ARCHIVE_VERSION {
        return Err(Error::NewerFormat {
            what: "the archive",
            found: u64::from(version),
            supported: u64::from(ARCHIVE_VERSION),
        });
    }
    if version == 0 {
        return Err(damaged("archive version 0".into()));
    }
    if input[OFF_RESERVED..OFF_RESERVED + 2] != [0, 0] {
        return Err(damaged("non-zero reserved bytes".into()));
    }
    let mut r = Reader {
        body,
        pos: OFF_MANIFEST_LEN,
    };
    let manifest_len = r.u64()?;
    let manifest_bytes = r.take(manifest_len, "the manifest")?;
    let manifest = Manifest::from_json("archive", manifest_bytes)?;
    let count = r.u32()?;
    // Every object takes at least its header, so a count the input cannot hold is refused
    // before it sizes anything.
    if u64::from(count) * OBJECT_HEADER_LEN as u64 > (body.len() - r.pos) as u64 {
        return Err(damaged(format!(
            "{count} objects cannot fit in the {} bytes left",
            body.len() - r.pos
        )));
    }
    let mut objects = BTreeMap::new();
    let mut previous: Option<ContentHash> = None;
    for n in 0..count {
        let hash_bytes: [u8; 32] = r
            .take(32, "an object's hash")?
            .try_into()
            .expect("took 32 bytes");
        let hash = ContentHash::from_bytes(hash_bytes);
        let len = r.u64()?;
        let bytes = r.take(len, "an object")?;
        if previous.is_some_and(|p| p >= hash) {
            return Err(damaged(format!(
                "object {n} ({hash}) is out of order or repeated"
            )));
        }
        let actual = ContentHash::of(bytes);
        if actual != hash {
            return Err(damaged(format!(
                "object {n} should have BLAKE3 {hash} but has {actual}"
            )));
        }
        objects.insert(hash, bytes);
        previous = Some(hash);
    }
    if r.pos != body.len() {
        return Err(damaged(format!(
            "{} unexpected bytes after the last object",
            body.len() - r.pos
        )));
    }
    let mut used = BTreeSet::new();
    for entry in &manifest.entries {
        match objects.get(&entry.hash) {
            None => {
                return Err(damaged(format!(
                    "the object of {} ({}) is missing",
                    entry.key, entry.hash
                )));
            }
            Some(bytes) if bytes.len() as u64 != entry.size => {
                return Err(damaged(format!(
                    "the object of {} has {} bytes, the manifest says {}",
                    entry.key,
                    bytes.len(),
                    entry.size
                )));
            }
            Some(_) => {
                used.insert(entry.hash);
            }
        }
    }
    if used.len() != objects.len() {
        return Err(damaged(format!(
            "{} objects no entry uses",
            objects.len() - used.len()
        )));
    }
    Ok(Archive { manifest, objects })
}

/// Reads little-endian fields with bounds checks (in 64-bit arithmetic, before slicing).
struct Reader<'a> {
    body: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, len: u64, what: &str) -> Result<&'a [u8]> {
        let left = (self.body.len() - self.pos) as u64;
        if len > left {
            return Err(Error::damaged(
                "archive",
                format!(
                    "{what} needs {len} bytes at offset {}, only {left} are left",
                    self.pos
                ),
            ));
        }
        let len = usize::try_from(len).expect("at most the input's length");
        let bytes = &self.body[self.pos..self.pos + len];
        self.pos += len;
        Ok(bytes)
    }

    fn u64(&mut self) -> Result<u64> {
        let b = self.take(8, "a length")?;
        Ok(u64::from_le_bytes(b.try_into().expect("took 8 bytes")))
    }

    fn u32(&mut self) -> Result<u32> {
        let b = self.take(4, "a count")?;
        Ok(u32::from_le_bytes(b.try_into().expect("took 4 bytes")))
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
