//! Backups through the store: the backup layer's snapshots, with the codec's view of each file
//! and the re-encryption that lets an archive move between stores.

use std::collections::BTreeSet;
use std::io::Write;

use statevault_backup::{
    BackupId, BackupInfo, BackupKind, Backups, CreateOptions, EntryFlags, ExportOptions,
    ExportReport, ImportOptions, Policies, PruneReport, RestoreOptions, RestoreReport,
    VerifyReport,
};
use statevault_codec::{self as codec, Context, EncodeOptions, KeySet, Meta};
use statevault_core::Key;

use crate::Store;
use crate::error::{Error, Result};
use crate::format::FileFormat;
use crate::pipeline::DataOrigin;

/// The context encrypted archive entries and whole archives are bound to: they belong to no
/// store, and the user's archive key opens them anywhere.
const ARCHIVE_CONTEXT: &str = "statevault-archive";

/// What the backup layer records of a file: the codec's header, read without keys.
fn classify(bytes: &[u8]) -> EntryFlags {
    match codec::inspect(bytes) {
        Ok(inspected) => EntryFlags {
            compressed: inspected.format.is_compressed(),
            encrypted: inspected.format.is_encrypted(),
            key_id: inspected.format.key_id().map(|k| k.0),
        },
        Err(_) => EntryFlags::default(),
    }
}

impl Store {
    fn backups(&self) -> Backups<'_> {
        Backups::new(self.storage())
    }

    /// Takes a manual snapshot of the whole store (deduplicated: unchanged files cost a `stat`)
    /// and returns its id, as [`Store::restore_backup`] takes it: the module specification's
    /// `createBackup(name?)`. [`Store::create_backup_with_progress`] returns the whole
    /// [`BackupInfo`].
    pub fn create_backup(&self, name: Option<&str>) -> Result<String> {
        Ok(self
            .create_backup_with_progress(name, &|_, _| {})?
            .id
            .to_string())
    }

    /// Takes a manual snapshot like [`Store::create_backup`] and describes it, calling
    /// `progress(done, total)` as files are copied (possibly from several threads).
    pub fn create_backup_with_progress(
        &self,
        name: Option<&str>,
        progress: &(dyn Fn(u64, u64) + Sync),
    ) -> Result<BackupInfo> {
        let on_progress = |p: statevault_backup::Progress| progress(p.done, p.total);
        Ok(self.backups().create(&CreateOptions {
            name,
            classify: &classify,
            progress: Some(&on_progress),
            ..CreateOptions::default()
        })?)
    }

    /// Takes an automatic snapshot of `keys` (or of the whole store) before a change; returns
    /// its id.
    pub(crate) fn auto_backup(&self, keys: Option<&[Key]>, reason: &str) -> Result<String> {
        let info = self.backups().create(&CreateOptions {
            kind: statevault_backup::BackupKind::Auto,
            reason: Some(reason),
            keys,
            classify: &classify,
            ..CreateOptions::default()
        })?;
        // Automatic snapshots are kept by the store's retention policy, so saving with
        // `backup: true` in a loop does not fill the disk. A prune that fails (an unreadable
        // manifest blocks object removal) costs space, never data: it is logged, and the
        // change goes on.
        if let Err(e) = self.backups().prune(&self.backup_policies, false) {
            tracing::warn!(error = %e, "pruning automatic snapshots failed");
        }
        Ok(info.id.to_string())
    }

    /// The encryption key ids each intact snapshot uses (from the manifests; no key needed).
    pub(crate) fn snapshot_key_ids(&self) -> Result<Vec<BTreeSet<u32>>> {
        let backups = self.backups();
        let mut snapshots = Vec::new();
        for info in backups.list()? {
            if !info.id.is_native() || info.damaged.is_some() {
                continue;
            }
            let ids: BTreeSet<u32> = backups
                .get(&info.id)?
                .entries
                .iter()
                .filter_map(|e| e.flags.key_id)
                .collect();
            snapshots.push(ids);
        }
        Ok(snapshots)
    }

    /// The snapshot a repair is limited to, by id or name; `None` for any.
    pub(crate) fn repair_source(&self, from: Option<&str>) -> Result<Option<String>> {
        let Some(from) = from else {
            return Ok(None);
        };
        let found = self
            .backups()
            .list()?
            .into_iter()
            .find(|info| info.id.as_str() == from || info.name.as_deref() == Some(from));
        match found {
            Some(info) => Ok(Some(info.id.to_string())),
            None => Err(statevault_backup::Error::NotFound {
                id: from.to_owned(),
            }
            .into()),
        }
    }

    /// The newest snapshot's copy of `key` (or `only` that snapshot's) that verifies against
    /// its hash and decodes.
    pub(crate) fn intact_copy(
        &self,
        key: &Key,
        only: Option<&str>,
    ) -> Result<Option<(String, Vec<u8>)>> {
        let backups = self.backups();
        for info in backups.list()? {
            if info.kind == BackupKind::Legacy || info.damaged.is_some() {
                continue;
            }
            if only.is_some_and(|only| only != info.id.as_str()) {
                continue;
            }
            let Ok(Some(bytes)) = backups.read_entry(&info.id, key) else {
                continue;
            };
            if self.pipeline().decode_file(key, &bytes).is_ok() {
                return Ok(Some((info.id.to_string(), bytes)));
            }
        }
        Ok(None)
    }

    /// Bytes the snapshots' objects take on disk (each distinct content counted once).
    pub fn backup_bytes(&self) -> Result<u64> {
        let objects = std::path::Path::new("backups").join("objects");
        let mut total = 0;
        for shard in self.storage().files().list_dir(&objects)? {
            if !shard.is_dir {
                continue;
            }
            let shard = objects.join(&shard.name);
            for object in self.storage().files().list_dir(&shard)? {
                if object.is_file {
                    let path = self.storage().root().join(&shard).join(&object.name);
                    total += self
                        .storage()
                        .backend()
                        .metadata(&path)
                        .map_or(0, |m| m.len);
                }
            }
        }
        Ok(total)
    }

    /// Every snapshot, newest first, the legacy service's own backups (its full backups in
    /// `backups/manual/` and its automatic ones of single keys in `backups/auto/`) included: the module
    /// specification's `listBackups()`. Serialized, each has the specification's `BackupInfo`
    /// fields `id`, `name` (`""` when none was given), `timestamp`, `size`, `compressed` and
    /// `encrypted`, and beyond them `kind`, `reason`, `file_count` and `damaged`.
    pub fn list_backups(&self) -> Result<Vec<BackupInfo>> {
        let backups = self.backups();
        let mut all = backups.list()?;
        all.extend(backups.list_legacy_auto()?);
        all.sort_by(|a, b| b.timestamp.cmp(&a.timestamp).then_with(|| b.id.cmp(&a.id)));
        Ok(all)
    }

    /// Re-hashes every file of a snapshot.
    pub fn verify_backup(&self, id: &str) -> Result<VerifyReport> {
        self.verify_backup_with_progress(id, &|_, _| {})
    }

    /// [`Store::verify_backup`], calling `progress(done, total)` as files are checked.
    pub fn verify_backup_with_progress(
        &self,
        id: &str,
        progress: &(dyn Fn(u64, u64) + Sync),
    ) -> Result<VerifyReport> {
        let on_progress = |p: statevault_backup::Progress| progress(p.done, p.total);
        Ok(self
            .backups()
            .verify_with_progress(&parse_backup_id(id)?, &on_progress)?)
    }

    /// Restores a snapshot: every file is verified first (a damaged snapshot is refused and the
    /// store untouched), an automatic snapshot of the present state is taken, then the snapshot
    /// is applied as one journaled batch, deleting keys absent from it. A backup of the legacy
    /// service is converted to a snapshot first.
    pub fn restore_backup(&self, id: &str) -> Result<RestoreReport> {
        self.restore_backup_with_progress(id, &|_, _| {})
    }

    /// [`Store::restore_backup`], calling `progress(done, total)` while the snapshot's files
    /// are verified.
    pub fn restore_backup_with_progress(
        &self,
        id: &str,
        progress: &(dyn Fn(u64, u64) + Sync),
    ) -> Result<RestoreReport> {
        let on_progress = |p: statevault_backup::Progress| progress(p.done, p.total);
        let mut id = parse_backup_id(id)?;
        if !id.is_native() {
            id = if self.backups().is_legacy_auto(&id)? {
                self.import_legacy_auto_backup(&id)?.id
            } else {
                self.import_legacy_backup(&id)?.id
            };
        }
        let report = self.backups().restore(
            &id,
            &RestoreOptions {
                classify: &classify,
                progress: Some(&on_progress),
                ..RestoreOptions::default()
            },
        )?;
        self.hot().clear();
        self.refresh_size()?;
        if report.written + report.deleted > 0 {
            // One line for the whole restore, naming the snapshot; the keys it changed are in
            // the snapshot's manifest.
            self.audit_event("restore", id.as_str())?;
        }
        Ok(report)
    }

    /// Deletes a snapshot and the objects no other snapshot uses.
    pub fn delete_backup(&self, id: &str) -> Result<()> {
        self.backups().delete(&parse_backup_id(id)?)?;
        Ok(())
    }

    /// Applies retention policies (restic's `forget` semantics) and removes unreferenced
    /// objects; with `dry_run`, only says what would go.
    pub fn prune_backups(&self, policies: &Policies, dry_run: bool) -> Result<PruneReport> {
        Ok(self.backups().prune(policies, dry_run)?)
    }

    /// Writes a snapshot as one archive file. Encrypted keys are bound to this store, so they
    /// are re-encrypted with `archive_key` (the user's, given again at import), and the whole
    /// archive is then encrypted with it too; an archive of a snapshot with encrypted keys
    /// cannot be made without one.
    pub fn export_backup(
        &self,
        id: &str,
        out: &mut dyn Write,
        archive_key: Option<&KeySet>,
    ) -> Result<ExportReport> {
        self.export_backup_with_progress(id, out, archive_key, &|_, _| {})
    }

    /// [`Store::export_backup`], calling `progress(done, total)` as the snapshot's files are
    /// read and checked.
    pub fn export_backup_with_progress(
        &self,
        id: &str,
        out: &mut dyn Write,
        archive_key: Option<&KeySet>,
        progress: &(dyn Fn(u64, u64) + Sync),
    ) -> Result<ExportReport> {
        let on_progress = |p: statevault_backup::Progress| progress(p.done, p.total);
        let id = parse_backup_id(id)?;
        let encrypted = self
            .backups()
            .get(&id)?
            .entries
            .iter()
            .any(|e| e.flags.encrypted);
        let archive_key = match (encrypted, archive_key) {
            (true, None) => {
                return Err(Error::Codec(codec::Error::NoKey));
            }
            (_, key) => key,
        };
        let transform = |key: &Key,
                         bytes: &[u8]|
         -> std::result::Result<Vec<u8>, statevault_backup::BoxError> {
            match (classify(bytes).encrypted, archive_key) {
                (true, Some(archive_key)) => {
                    Ok(self.rebind(key, bytes, None, Some(archive_key))?)
                }
                _ => Ok(bytes.to_vec()),
            }
        };
        let mut archive = Vec::new();
        let report = self.backups().export(
            &id,
            &mut archive,
            &ExportOptions {
                transform: &transform,
                progress: Some(&on_progress),
            },
        )?;
        let bytes = match archive_key {
            Some(keys) => codec::encode(
                &archive,
                &Meta {
                    schema_version: "1.0.0".to_owned(),
                    saved_at_ms: statevault_core::timestamp_ms(),
                },
                &EncodeOptions {
                    compression: None,
                    encrypt: true,
                },
                &archive_context(),
                Some(keys),
            )?,
            None => archive,
        };
        out.write_all(&bytes).map_err(|source| {
            Error::Core(statevault_core::Error::Io {
                op: "write",
                path: "the archive".into(),
                source,
            })
        })?;
        Ok(report)
    }

    /// Imports an archive made by [`Store::export_backup`] as a new manual snapshot (verified
    /// whole before anything is written); encrypted keys are re-encrypted under this store's
    /// own key. Restore it with [`Store::restore_backup`].
    pub fn import_backup(
        &self,
        archive: &[u8],
        archive_key: Option<&KeySet>,
    ) -> Result<BackupInfo> {
        self.import_backup_with_progress(archive, archive_key, &|_, _| {})
    }

    /// [`Store::import_backup`], calling `progress(done, total)` as the archive's files are
    /// checked and re-encrypted, then stored (`total` counts each file twice).
    pub fn import_backup_with_progress(
        &self,
        archive: &[u8],
        archive_key: Option<&KeySet>,
        progress: &(dyn Fn(u64, u64) + Sync),
    ) -> Result<BackupInfo> {
        let on_progress = |p: statevault_backup::Progress| progress(p.done, p.total);
        let inner;
        // Both formats start with 0x89 (each magic is PNG-like), so only the whole magic tells
        // a plain archive from one sealed in the codec's envelope.
        let archive = match ArchiveForm::of(archive) {
            ArchiveForm::Plain => archive,
            ArchiveForm::Sealed => {
                let decoded = codec::decode(
                    archive,
                    &archive_context(),
                    archive_key,
                    // The store's own cap: an archive is input like any file, and a crafted
                    // one must not inflate into gigabytes.
                    self.pipeline().limits(),
                )
                .map_err(archive_error)?;
                inner = decoded.data;
                if ArchiveForm::of(&inner) != ArchiveForm::Plain {
                    return Err(not_an_archive(
                        "the envelope does not hold a backup archive",
                    ));
                }
                &inner[..]
            }
            ArchiveForm::Unknown => {
                return Err(not_an_archive(
                    "not a statevault backup archive: its first 8 bytes are neither the \
                     archive's magic nor the envelope's",
                ));
            }
        };
        let transform = |key: &Key,
                         bytes: &[u8]|
         -> std::result::Result<Vec<u8>, statevault_backup::BoxError> {
            if classify(bytes).encrypted {
                Ok(self.rebind(key, bytes, archive_key, None)?)
            } else {
                Ok(bytes.to_vec())
            }
        };
        Ok(self.backups().import(
            archive,
            &ImportOptions {
                transform: &transform,
                classify: &classify,
                name: None,
                progress: Some(&on_progress),
            },
        )?)
    }

    /// Converts a backup of the legacy service into a manual snapshot, each value encoded as
    /// this store saves it.
    fn import_legacy_backup(&self, id: &BackupId) -> Result<BackupInfo> {
        Ok(self
            .backups()
            .import_legacy(id, &|k, v| self.encode_legacy_value(k, v), &classify)?)
    }

    /// Converts an automatic backup of the legacy service (one key's old value) into a manual
    /// snapshot scoped to that key, the value encoded as this store saves it.
    fn import_legacy_auto_backup(&self, id: &BackupId) -> Result<BackupInfo> {
        Ok(self.backups().import_legacy_auto(
            id,
            &|k, v| self.encode_legacy_value(k, v),
            &classify,
        )?)
    }

    fn encode_legacy_value(
        &self,
        key: &Key,
        value: &serde_json::Value,
    ) -> std::result::Result<Vec<u8>, statevault_backup::BoxError> {
        Ok(self.pipeline().encode_value(
            key,
            value,
            &statevault_schema::contract::SaveOptions::default(),
        )?)
    }

    /// Decrypts an encrypted file (with `from`, or this store's keys and context when `None`)
    /// and encrypts it again (with `to` in the archive context, or this store's key and
    /// context when `None`), keeping its compression and metadata.
    fn rebind(
        &self,
        key: &Key,
        bytes: &[u8],
        from: Option<&KeySet>,
        to: Option<&KeySet>,
    ) -> Result<Vec<u8>> {
        let decoded = match from {
            Some(keys) => codec::decode(
                bytes,
                &archive_context(),
                Some(keys),
                self.pipeline().limits(),
            )?,
            None => self.pipeline().decode_file(key, bytes)?,
        };
        let options = FileFormat::from(&decoded.format).save_options();
        match to {
            Some(keys) => Ok(codec::encode(
                &decoded.data,
                &decoded.meta,
                &EncodeOptions {
                    compression: options
                        .compress
                        .unwrap_or(false)
                        .then_some(codec::Compression::Fast),
                    encrypt: true,
                },
                &archive_context(),
                Some(keys),
            )?),
            None => self.pipeline().encode_exact(
                key,
                decoded.data,
                DataOrigin::File,
                decoded.meta,
                &options,
            ),
        }
    }
}

/// What an archive file holds, told by its whole 8-byte magic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ArchiveForm {
    /// A backup archive as the backup layer writes it (`ARCHIVE_MAGIC`).
    Plain,
    /// An archive encrypted whole in the codec's envelope (`ENVELOPE_MAGIC`).
    Sealed,
    /// Neither.
    Unknown,
}

impl ArchiveForm {
    fn of(bytes: &[u8]) -> ArchiveForm {
        if bytes.starts_with(&statevault_backup::ARCHIVE_MAGIC) {
            ArchiveForm::Plain
        } else if bytes.starts_with(&codec::ENVELOPE_MAGIC) {
            ArchiveForm::Sealed
        } else {
            ArchiveForm::Unknown
        }
    }
}

/// The archive is not one: damage, `Corrupt` naming the archive.
fn not_an_archive(detail: &str) -> Error {
    Error::Corrupt {
        key: "archive".to_owned(),
        path: "the archive".into(),
        detail: detail.to_owned(),
    }
}

/// A codec error about the archive's envelope: damage is `Corrupt` naming the archive.
fn archive_error(e: codec::Error) -> Error {
    match e {
        codec::Error::Corrupt { detail } => not_an_archive(&detail),
        other => Error::Codec(other),
    }
}

fn archive_context() -> Context<'static> {
    Context {
        store_id: ARCHIVE_CONTEXT,
        key_name: ARCHIVE_CONTEXT,
    }
}

fn parse_backup_id(id: &str) -> Result<BackupId> {
    Ok(BackupId::parse(id)?)
}
