//! Snapshots: the `Backups` handle, which creates, lists, reads and verifies them (the object
//! store is `objects`, the thread pool `pool`, legacy backups `legacy`).

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;
use statevault_core::{Durability, Key, LockGuard, LockMode, Metadata, Storage};

use crate::error::{BoxError, Error, Result, io_error};
use crate::id::{BackupId, BackupKind};
use crate::index::Index;
use crate::legacy;
use crate::manifest::{ContentHash, Entry, EntryFlags, Manifest};
use crate::objects::{self, Found, ObjectWriter};
use crate::pool::parallel_map;
use crate::{AUTO_DIR, BACKUPS_DIR, LOCK_FILE, MANUAL_DIR};

/// The suffix of a manifest file.
pub(crate) const MANIFEST_SUFFIX: &str = ".manifest.json";

/// A classifier that says nothing about any file (no compression, no encryption): the
/// default of the options structs, for stores without a codec.
pub fn no_flags(_bytes: &[u8]) -> EntryFlags {
    EntryFlags::default()
}

/// Makes a key's file from a legacy backup's value (the facade's codec).
pub type Encode<'a> =
    &'a dyn Fn(&Key, &serde_json::Value) -> std::result::Result<Vec<u8>, BoxError>;

/// Says whether a file's bytes are compressed or encrypted (the facade passes its codec's
/// view). Called from several threads at once.
pub type Classify<'a> = &'a (dyn Fn(&[u8]) -> EntryFlags + Sync);

/// Called as a long operation advances, possibly from several threads.
pub type OnProgress<'a> = &'a (dyn Fn(Progress) + Sync);

/// How far a long operation has come, in files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Progress {
    /// Files done.
    pub done: u64,
    /// Files in all.
    pub total: u64,
}

/// What [`Backups::create`] snapshots, and how. Construct with `..CreateOptions::default()`.
#[derive(Clone, Copy)]
pub struct CreateOptions<'a> {
    /// A name for the snapshot (shown in listings; need not be unique).
    pub name: Option<&'a str>,
    /// Manual (the default) or automatic.
    pub kind: BackupKind,
    /// Why the snapshot is taken, for automatic ones (`before migration of …`).
    pub reason: Option<&'a str>,
    /// `None` (the default) snapshots the whole store; `Some(keys)` only those keys (an
    /// automatic backup of one key before it is overwritten). Keys that do not exist are
    /// recorded in the snapshot's scope, so restoring it deletes them again.
    pub keys: Option<&'a [Key]>,
    /// Says whether a file's bytes are compressed or encrypted (the facade passes the
    /// codec's view); called once per file whose content changed since the last snapshot.
    pub classify: Classify<'a>,
    /// Called after each file.
    pub progress: Option<OnProgress<'a>>,
}

impl Default for CreateOptions<'_> {
    fn default() -> Self {
        CreateOptions {
            name: None,
            kind: BackupKind::Manual,
            reason: None,
            keys: None,
            classify: &no_flags,
            progress: None,
        }
    }
}

impl fmt::Debug for CreateOptions<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CreateOptions")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("reason", &self.reason)
            .field("keys", &self.keys)
            .finish_non_exhaustive()
    }
}

/// One backup as a listing shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct BackupInfo {
    /// The id.
    pub id: BackupId,
    /// The user's name for it, if any. Serialized as `""` when there is none, as the module
    /// specification's `BackupInfo.name` (a string) has it.
    #[serde(serialize_with = "name_or_empty")]
    pub name: Option<String>,
    /// Manual, automatic or legacy.
    pub kind: BackupKind,
    /// Why an automatic snapshot was taken.
    pub reason: Option<String>,
    /// When it was taken, in milliseconds since the Unix epoch.
    pub timestamp: u64,
    /// The sum of its files' sizes in bytes (for a legacy backup: its file's size).
    pub size: u64,
    /// How many keys it holds.
    pub file_count: usize,
    /// Whether any of its files is compressed.
    pub compressed: bool,
    /// Whether any of its files is encrypted.
    pub encrypted: bool,
    /// Why its manifest cannot be used, if it cannot; the other fields are then what the
    /// file name says (id, kind, the id's time) and zero.
    pub damaged: Option<String>,
}

/// Serializes a missing name as `""`, never `null`.
fn name_or_empty<S: serde::Serializer>(
    name: &Option<String>,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(name.as_deref().unwrap_or(""))
}

impl BackupInfo {
    pub(crate) fn from_manifest(m: &Manifest) -> BackupInfo {
        BackupInfo {
            id: m.id.clone(),
            name: m.name.clone(),
            kind: m.kind,
            reason: m.reason.clone(),
            timestamp: m.created_at,
            size: m.total_size(),
            file_count: m.entries.len(),
            compressed: m.entries.iter().any(|e| e.flags.compressed),
            encrypted: m.entries.iter().any(|e| e.flags.encrypted),
            damaged: None,
        }
    }

    fn unreadable(id: BackupId, kind: BackupKind, error: &Error) -> BackupInfo {
        BackupInfo {
            timestamp: id.timestamp_ms().unwrap_or(0),
            id,
            name: None,
            kind,
            reason: None,
            size: 0,
            file_count: 0,
            compressed: false,
            encrypted: false,
            damaged: Some(error.to_string()),
        }
    }
}

/// What [`Backups::verify`] found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct VerifyReport {
    /// The backup.
    pub id: BackupId,
    /// Its kind.
    pub kind: BackupKind,
    /// Keys checked.
    pub files: usize,
    /// Bytes read and hashed.
    pub bytes: u64,
    /// Every entry whose object is missing or holds other bytes (and could not be healed).
    pub problems: Vec<Problem>,
    /// Every entry whose object was damaged or missing and has been written again from an
    /// intact source with the same hash (only on the writer's handle).
    pub healed: Vec<Healed>,
}

/// One entry whose damaged object [`Backups::verify`] replaced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Healed {
    /// The key.
    #[serde(serialize_with = "crate::ser_display")]
    pub key: Key,
    /// The object's hash.
    #[serde(serialize_with = "crate::ser_display")]
    pub hash: ContentHash,
    /// What the object store held before.
    pub found: Found,
    /// The live key whose file hashed to the object's hash and was copied into it.
    #[serde(serialize_with = "crate::ser_display")]
    pub from: Key,
}

impl VerifyReport {
    /// Whether every object was there and intact.
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// One damaged entry of a snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Problem {
    /// The key.
    #[serde(serialize_with = "crate::ser_display")]
    pub key: Key,
    /// The hash the manifest records.
    #[serde(serialize_with = "crate::ser_display")]
    pub expected: ContentHash,
    /// The size the manifest records.
    pub size: u64,
    /// What the object store holds instead.
    pub found: Found,
}

/// Where a backup's file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Location {
    Native(BackupKind),
    Legacy,
}

/// One file found in the manifest folders.
#[derive(Debug)]
pub(crate) struct Scanned {
    pub id: BackupId,
    pub location: Location,
}

/// The backups of one store.
///
/// Reading (list, get, verify, export, read_legacy) works on any [`Storage`]; changing
/// anything (create, restore, delete, prune, import) needs the writer's handle
/// ([`Storage::is_writer`]), which is what makes a snapshot consistent: no other process
/// writes the store meanwhile. Within the process, changes are serialised by
/// `backups/lock`.
#[derive(Debug, Clone, Copy)]
pub struct Backups<'s> {
    pub(crate) storage: &'s Storage,
}

impl<'s> Backups<'s> {
    /// The backups of `storage`.
    pub fn new(storage: &'s Storage) -> Backups<'s> {
        Backups { storage }
    }

    /// The store.
    pub fn storage(&self) -> &'s Storage {
        self.storage
    }

    /// Takes a snapshot: copies each file whose content is not yet in the object store,
    /// then writes the manifest (the commit point). An unchanged file costs a `stat`.
    pub fn create(&self, options: &CreateOptions<'_>) -> Result<BackupInfo> {
        let _lock = self.begin_write()?;
        self.create_locked(options)
    }

    pub(crate) fn create_locked(&self, options: &CreateOptions<'_>) -> Result<BackupInfo> {
        if options.kind == BackupKind::Legacy {
            return Err(Error::InvalidOptions {
                reason: "legacy backups are written by the earlier service only",
            });
        }
        let keys: Vec<Key> = match options.keys {
            None => self.storage.list("")?,
            Some(keys) => {
                let set: BTreeSet<&Key> = keys.iter().collect();
                set.into_iter().cloned().collect()
            }
        };
        let old_index = Index::load(self.storage);
        // A partial snapshot updates the index; a full one rebuilds it, dropping deleted keys.
        let mut index = match options.keys {
            Some(_) => old_index.carry_over(),
            None => Index::default(),
        };
        let writer = ObjectWriter::new(self.storage);
        let total = keys.len() as u64;
        let done = AtomicU64::new(0);
        let tick = || {
            let done = done.fetch_add(1, Ordering::Relaxed) + 1;
            if let Some(progress) = options.progress {
                progress(Progress { done, total });
            }
        };

        // First the cheap pass: a `stat` per key, and the index says which are unchanged.
        let mut slots: Vec<Option<Entry>> = vec![None; keys.len()];
        let mut changed: Vec<(usize, Metadata)> = Vec::new();
        for (i, key) in keys.iter().enumerate() {
            let Some(meta) = self.storage.metadata(key)? else {
                tick();
                continue;
            };
            if meta.is_symlink {
                tracing::warn!(%key, "not backing up a symbolic link planted in place of a key");
                tick();
                continue;
            }
            if let Some((hash, flags)) = old_index.lookup(key, &meta)
                && writer.has(&hash, meta.len)?
            {
                index.insert(key, &meta, &hash, flags);
                slots[i] = Some(Entry {
                    key: key.clone(),
                    size: meta.len,
                    hash,
                    flags,
                });
                tick();
            } else {
                changed.push((i, meta));
            }
        }
        // Then the changed files, read, hashed and copied by a few threads: each copy ends in
        // an fsync, and overlapping them is what makes a first snapshot cost about as much as
        // a plain copy.
        let copied = parallel_map(&changed, |(i, meta)| {
            let result = self.copy_file(&keys[*i], meta, &writer, options.classify);
            tick();
            result
        })?;
        for ((i, meta), copy) in changed.iter().zip(copied) {
            if let Some((entry, indexable)) = copy {
                if indexable {
                    index.insert(&entry.key, meta, &entry.hash, entry.flags);
                }
                slots[*i] = Some(entry);
            }
        }
        let entries: Vec<Entry> = slots.into_iter().flatten().collect();
        let manifest = Manifest {
            id: self.next_id()?,
            name: options.name.map(str::to_owned),
            kind: options.kind,
            reason: options.reason.map(str::to_owned),
            created_at: 0,
            scope: options.keys.map(|_| keys),
            entries,
        };
        let info = self.commit(manifest, writer)?;
        index.save(self.storage);
        tracing::info!(id = %info.id, kind = %info.kind, files = info.file_count, bytes = info.size, "snapshot taken");
        Ok(info)
    }

    /// Reads, hashes and stores one changed file: its entry and whether its `stat` may go into
    /// the index; `None` when it vanished.
    fn copy_file(
        &self,
        key: &Key,
        meta: &Metadata,
        writer: &ObjectWriter<'_>,
        classify: Classify<'_>,
    ) -> Result<Option<(Entry, bool)>> {
        let Some(bytes) = self.storage.read(key)? else {
            return Ok(None);
        };
        let hash = ContentHash::of(&bytes);
        let flags = classify(&bytes);
        writer.put(&hash, &bytes)?;
        // Index the file only if it did not change while it was read (an editor writing in
        // place): otherwise the index would tie the new stat to the old content.
        let indexable =
            self.storage.metadata(key)?.as_ref() == Some(meta) && meta.len == bytes.len() as u64;
        Ok(Some((
            Entry {
                key: key.clone(),
                size: bytes.len() as u64,
                hash,
                flags,
            },
            indexable,
        )))
    }

    /// Writes `files` as a new snapshot (an import). `written(n)` is called after the n-th
    /// file's object is stored.
    pub(crate) fn write_snapshot(
        &self,
        files: FileSet<'_>,
        kind: BackupKind,
        name: Option<String>,
        reason: Option<String>,
        scope: Option<Vec<Key>>,
        written: &dyn Fn(u64),
    ) -> Result<BackupInfo> {
        let writer = ObjectWriter::new(self.storage);
        let mut entries = Vec::with_capacity(files.entries.len());
        for (n, (key, hash, flags)) in files.entries.into_iter().enumerate() {
            let bytes = &files.objects[&hash].0;
            writer.put(&hash, bytes)?;
            written(n as u64 + 1);
            entries.push(Entry {
                key,
                size: bytes.len() as u64,
                hash,
                flags,
            });
        }
        entries.sort_by(|a, b| a.key.cmp(&b.key));
        let manifest = Manifest {
            id: self.next_id()?,
            name,
            kind,
            reason,
            created_at: 0,
            scope,
            entries,
        };
        self.commit(manifest, writer)
    }

    /// Makes the new objects durable, then writes the manifest: after a crash either the
    /// whole snapshot exists or no manifest names its objects (which the next gc removes).
    fn commit(&self, mut manifest: Manifest, writer: ObjectWriter<'_>) -> Result<BackupInfo> {
        writer.sync()?;
        manifest.created_at = manifest.id.timestamp_ms().expect("new ids are native");
        let path = manifest_path(manifest.kind, &manifest.id);
        self.storage
            .files()
            .write_file(&path, &manifest.to_json(), Durability::Full)?;
        Ok(BackupInfo::from_manifest(&manifest))
    }

    /// A new native id, later than every existing snapshot's unless the clock went back by
    /// more than a second (so snapshots taken in quick succession keep their order), and
    /// not in use.
    fn next_id(&self) -> Result<BackupId> {
        let newest = self
            .scan()?
            .iter()
            .filter_map(|s| s.id.timestamp_ms())
            .max();
        let now = statevault_core::timestamp_ms();
        let time = match newest {
            Some(t) if t >= now && t - now < 1000 => t + 1,
            _ => now,
        };
        loop {
            let random = statevault_core::random_id_bits()?;
            let id = BackupId::from_parts(time, random);
            if self.locate_opt(&id)?.is_none() {
                return Ok(id);
            }
        }
    }

    /// Every backup, newest first (damaged ones included, with [`BackupInfo::damaged`] set).
    pub fn list(&self) -> Result<Vec<BackupInfo>> {
        let mut infos = Vec::new();
        for scanned in self.scan()? {
            let info = match scanned.location {
                Location::Native(kind) => match self.load_manifest(&scanned.id, kind) {
                    Ok(m) => BackupInfo::from_manifest(&m),
                    Err(e) => BackupInfo::unreadable(scanned.id, kind, &e),
                },
                Location::Legacy => match self.legacy_info(&scanned.id) {
                    Ok(info) => info,
                    Err(e) => BackupInfo::unreadable(scanned.id, BackupKind::Legacy, &e),
                },
            };
            infos.push(info);
        }
        infos.sort_by(|a, b| b.timestamp.cmp(&a.timestamp).then_with(|| b.id.cmp(&a.id)));
        Ok(infos)
    }

    /// The manifest of a snapshot, checked ([`Error::Damaged`] if its checksum fails).
    pub fn get(&self, id: &BackupId) -> Result<Manifest> {
        match self.locate(id)? {
            Location::Native(kind) => self.load_manifest(id, kind),
            Location::Legacy => Err(Error::LegacyNeedsEncoding { id: id.to_string() }),
        }
    }

    /// Re-hashes every object of a snapshot. A damaged manifest is an error; damaged or
    /// missing objects are listed in the report. On the writer's handle, each damaged or
    /// missing object is first written again from a live file with the same hash, when one
    /// exists, and listed as healed instead. A legacy backup is checked to parse.
    pub fn verify(&self, id: &BackupId) -> Result<VerifyReport> {
        self.verify_with_progress(id, &|_| {})
    }

    /// [`Backups::verify`], calling `progress` after each object.
    pub fn verify_with_progress(
        &self,
        id: &BackupId,
        progress: OnProgress<'_>,
    ) -> Result<VerifyReport> {
        let manifest = match self.locate(id)? {
            Location::Native(kind) => self.load_manifest(id, kind)?,
            Location::Legacy => {
                let bytes = legacy::read(self.storage, id)?;
                let backup = legacy::parse(id.as_str(), &bytes)?;
                return Ok(VerifyReport {
                    id: id.clone(),
                    kind: BackupKind::Legacy,
                    files: backup.entries.len(),
                    bytes: bytes.len() as u64,
                    problems: Vec::new(),
                    healed: Vec::new(),
                });
            }
        };
        let mut checked: HashMap<ContentHash, Option<Found>> = HashMap::new();
        let mut problems = Vec::new();
        let mut bytes = 0;
        let total = manifest.entries.len() as u64;
        for (n, entry) in manifest.entries.iter().enumerate() {
            let found = match checked.get(&entry.hash) {
                Some(found) => found.clone(),
                None => {
                    let found = match objects::read(self.storage, &entry.hash, entry.size)? {
                        Ok(data) => {
                            bytes += data.len() as u64;
                            None
                        }
                        Err(found) => Some(found),
                    };
                    checked.insert(entry.hash, found.clone());
                    found
                }
            };
            if let Some(found) = found {
                problems.push(Problem {
                    key: entry.key.clone(),
                    expected: entry.hash,
                    size: entry.size,
                    found,
                });
            }
            progress(Progress {
                done: n as u64 + 1,
                total,
            });
        }
        let (problems, healed) = if problems.is_empty() || !self.storage.is_writer() {
            (problems, Vec::new())
        } else {
            self.heal(problems)?
        };
        Ok(VerifyReport {
            id: id.clone(),
            kind: manifest.kind,
            files: manifest.entries.len(),
            bytes,
            problems,
            healed,
        })
    }

    /// Writes each damaged or missing object again from an intact source with the same hash:
    /// the live file of the entry's key, else any live key's file of that size that hashes to
    /// it. Returns the problems left and the entries healed.
    fn heal(&self, problems: Vec<Problem>) -> Result<(Vec<Problem>, Vec<Healed>)> {
        let _lock = self.begin_write()?;
        let mut live: Option<Vec<Key>> = None;
        let mut sources: HashMap<ContentHash, Option<Key>> = HashMap::new();
        let (mut left, mut healed) = (Vec::new(), Vec::new());
        for problem in problems {
            let source = match sources.get(&problem.expected) {
                Some(source) => source.clone(),
                None => {
                    let source = self.find_source(&problem, &mut live)?;
                    if let Some((from, bytes)) = &source {
                        // Full durability: the object replaces a damaged one in place of
                        // every snapshot that names it.
                        self.storage.files().write_file(
                            &problem.expected.object_path(),
                            bytes,
                            Durability::Full,
                        )?;
                        tracing::warn!(object = %problem.expected, %from, "a damaged object was healed from a live file");
                    }
                    let source = source.map(|(from, _)| from);
                    sources.insert(problem.expected, source.clone());
                    source
                }
            };
            match source {
                Some(from) => healed.push(Healed {
                    key: problem.key,
                    hash: problem.expected,
                    found: problem.found,
                    from,
                }),
                None => left.push(problem),
            }
        }
        Ok((left, healed))
    }

    /// A live key whose file holds the bytes `problem`'s object should hold, with them.
    fn find_source(
        &self,
        problem: &Problem,
        live: &mut Option<Vec<Key>>,
    ) -> Result<Option<(Key, Vec<u8>)>> {
        let intact = |key: &Key| -> Result<Option<Vec<u8>>> {
            Ok(self.storage.read(key)?.filter(|b| {
                b.len() as u64 == problem.size && ContentHash::of(b) == problem.expected
            }))
        };
        if let Some(bytes) = intact(&problem.key)? {
            return Ok(Some((problem.key.clone(), bytes)));
        }
        if live.is_none() {
            *live = Some(self.storage.list("")?);
        }
        for key in live.as_deref().unwrap_or_default() {
            // A `stat` first: only a file of the right size is read and hashed.
            let same_size = self
                .storage
                .metadata(key)?
                .is_some_and(|m| m.len == problem.size);
            if same_size && let Some(bytes) = intact(key)? {
                return Ok(Some((key.clone(), bytes)));
            }
        }
        Ok(None)
    }

    /// Reads every object of `manifest` and checks it, refusing at the first damaged one.
    pub(crate) fn read_verified(
        &self,
        manifest: &Manifest,
        progress: Option<OnProgress<'_>>,
    ) -> Result<HashMap<ContentHash, Vec<u8>>> {
        let mut objects = HashMap::new();
        let total = manifest.entries.len() as u64;
        for (n, entry) in manifest.entries.iter().enumerate() {
            if let Some(progress) = progress {
                progress(Progress {
                    done: n as u64,
                    total,
                });
            }
            if objects.contains_key(&entry.hash) {
                continue;
            }
            match objects::read(self.storage, &entry.hash, entry.size)? {
                Ok(bytes) => {
                    objects.insert(entry.hash, bytes);
                }
                Err(found) => {
                    return Err(Error::ObjectMismatch {
                        id: manifest.id.to_string(),
                        key: entry.key.to_string(),
                        expected: format!("{} ({} bytes)", entry.hash, entry.size),
                        found: found.to_string(),
                    });
                }
            }
        }
        Ok(objects)
    }

    /// The bytes `key` had in snapshot `id`, checked against the manifest's hash: `Ok(None)`
    /// when the snapshot does not hold the key, [`Error::ObjectMismatch`] when its object is
    /// damaged or missing. (Repair restores one key from the newest snapshot where it verifies.)
    pub fn read_entry(&self, id: &BackupId, key: &Key) -> Result<Option<Vec<u8>>> {
        let manifest = self.get(id)?;
        let Some(entry) = manifest.entries.iter().find(|e| &e.key == key) else {
            return Ok(None);
        };
        match objects::read(self.storage, &entry.hash, entry.size)? {
            Ok(bytes) => Ok(Some(bytes)),
            Err(found) => Err(Error::ObjectMismatch {
                id: manifest.id.to_string(),
                key: entry.key.to_string(),
                expected: format!("{} ({} bytes)", entry.hash, entry.size),
                found: found.to_string(),
            }),
        }
    }

    fn legacy_info(&self, id: &BackupId) -> Result<BackupInfo> {
        let bytes = legacy::read(self.storage, id)?;
        let backup = legacy::parse(id.as_str(), &bytes)?;
        Ok(BackupInfo {
            id: id.clone(),
            name: None,
            kind: BackupKind::Legacy,
            reason: None,
            timestamp: backup.timestamp,
            size: bytes.len() as u64,
            file_count: backup.entries.len(),
            compressed: false,
            encrypted: false,
            damaged: None,
        })
    }

    /// Reads and checks a manifest, which must name itself and live in its kind's folder.
    pub(crate) fn load_manifest(&self, id: &BackupId, kind: BackupKind) -> Result<Manifest> {
        let bytes = self
            .storage
            .files()
            .read_file(&manifest_path(kind, id))?
            .ok_or_else(|| Error::NotFound { id: id.to_string() })?;
        let manifest = Manifest::from_json(id.as_str(), &bytes)?;
        if manifest.id != *id {
            return Err(Error::damaged(
                id.as_str(),
                format!("the manifest says it is backup {}", manifest.id),
            ));
        }
        if manifest.kind != kind {
            return Err(Error::damaged(
                id.as_str(),
                format!("a {} manifest in the {kind} folder", manifest.kind),
            ));
        }
        Ok(manifest)
    }

    /// Every manifest and legacy file in the two folders, unsorted. Temp files and names
    /// that are not ids are skipped.
    pub(crate) fn scan(&self) -> Result<Vec<Scanned>> {
        let mut found = Vec::new();
        for (dir, kind) in [
            (MANUAL_DIR, BackupKind::Manual),
            (AUTO_DIR, BackupKind::Auto),
        ] {
            for entry in self.storage.files().list_dir(Path::new(dir))? {
                if !entry.is_file {
                    continue;
                }
                let (stem, location) = if let Some(stem) = entry.name.strip_suffix(MANIFEST_SUFFIX)
                {
                    (stem, Location::Native(kind))
                } else if let Some(stem) = entry.name.strip_suffix(".json")
                    && kind == BackupKind::Manual
                {
                    (stem, Location::Legacy)
                } else {
                    continue;
                };
                match BackupId::parse(stem) {
                    Ok(id) => found.push(Scanned { id, location }),
                    Err(_) if statevault_core::StoreFiles::is_unfinished_write(&entry.name) => {}
                    Err(e) => {
                        tracing::warn!(file = %entry.name, error = %e, "ignoring a file whose name is not a backup id");
                    }
                }
            }
        }
        Ok(found)
    }

    /// Where the backup `id` is: a manual manifest, an automatic one, or a legacy file.
    pub(crate) fn locate(&self, id: &BackupId) -> Result<Location> {
        self.locate_opt(id)?
            .ok_or_else(|| Error::NotFound { id: id.to_string() })
    }

    fn locate_opt(&self, id: &BackupId) -> Result<Option<Location>> {
        let candidates = [
            (
                manifest_path(BackupKind::Manual, id),
                Location::Native(BackupKind::Manual),
            ),
            (
                manifest_path(BackupKind::Auto, id),
                Location::Native(BackupKind::Auto),
            ),
            (legacy::path(id), Location::Legacy),
        ];
        for (path, location) in candidates {
            if self.file_meta(&path)?.is_some_and(|m| !m.is_dir) {
                return Ok(Some(location));
            }
        }
        Ok(None)
    }

    /// The metadata of a file of the store, `None` if it does not exist.
    pub(crate) fn file_meta(&self, relative: &Path) -> Result<Option<Metadata>> {
        objects::file_meta(self.storage, relative)
    }

    /// Checks that this handle may write, and takes `backups/lock` (waiting for another
    /// thread of this process that holds it).
    pub(crate) fn begin_write(&self) -> Result<LockGuard> {
        if !self.storage.is_writer() {
            return Err(Error::NotWriter);
        }
        let backend = self.storage.backend();
        let dir = self.storage.root().join(BACKUPS_DIR);
        match backend.create_dir(&dir) {
            Ok(()) => {
                // The new folder must survive a power loss before anything is put in it.
                backend
                    .sync_dir(self.storage.root())
                    .map_err(|e| io_error("fsync folder", self.storage.root(), e))?;
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(io_error("create folder", dir, e)),
        }
        let lock = self.storage.root().join(LOCK_FILE);
        backend
            .lock(&lock, LockMode::Exclusive, true)
            .map_err(|e| io_error("lock", lock, e))
    }
}

/// The files of a snapshot given as bytes (an import), each distinct content held once: an
/// archive whose entries share one object costs that object once in memory, not once per
/// entry.
#[derive(Default)]
pub(crate) struct FileSet<'a> {
    /// Each key with the hash of its bytes and its flags, in the order added.
    entries: Vec<(Key, ContentHash, EntryFlags)>,
    /// The distinct contents; borrowed where they are the caller's bytes unchanged.
    objects: BTreeMap<ContentHash, (Cow<'a, [u8]>, EntryFlags)>,
}

impl<'a> FileSet<'a> {
    /// Adds `key` with `bytes`; `classify` runs once per distinct content.
    pub(crate) fn add(&mut self, key: Key, bytes: Cow<'a, [u8]>, classify: Classify<'_>) {
        let hash = ContentHash::of(&bytes);
        let flags = self
            .objects
            .entry(hash)
            .or_insert_with(|| {
                let flags = classify(&bytes);
                (bytes, flags)
            })
            .1;
        self.entries.push((key, hash, flags));
    }

    /// How many keys.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }
}

/// `backups/<manual|auto>/<id>.manifest.json`.
pub(crate) fn manifest_path(kind: BackupKind, id: &BackupId) -> PathBuf {
    Path::new(kind.folder()).join(format!("{id}{MANIFEST_SUFFIX}"))
}
