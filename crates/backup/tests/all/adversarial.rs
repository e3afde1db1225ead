//! Crafted archives and manifests: truncated at every offset, bytes flipped (with the checksums
//! made right again, so the parser behind them is reached), oversized counts and lengths,
//! entries sharing one object. Every import, verify and restore either succeeds with the right
//! data or fails with a typed error; none panics, none allocates from a declared length, none
//! leaves a half-written snapshot.

use std::panic::{AssertUnwindSafe, catch_unwind};

use statevault_backup::{
    ARCHIVE_MAGIC, BackupId, BackupKind, Backups, ContentHash, Entry, EntryFlags, Error,
    ExportOptions, ImportOptions, Manifest, RestoreOptions,
};
use statevault_core::Storage;

use super::alloc::measure;
use super::support::*;

/// An archive around `manifest` and `objects` (ascending by hash), as the exporter lays it out,
/// with `count` objects declared.
fn seal(manifest: &[u8], count: u32, objects: &[(ContentHash, &[u8])]) -> Vec<u8> {
    let mut out = ARCHIVE_MAGIC.to_vec();
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(&(manifest.len() as u64).to_le_bytes());
    out.extend_from_slice(manifest);
    out.extend_from_slice(&count.to_le_bytes());
    for (hash, bytes) in objects {
        out.extend_from_slice(hash.as_bytes());
        out.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
        out.extend_from_slice(bytes);
    }
    retrail(&mut out);
    out
}

/// Appends (or replaces) the BLAKE3 trailer, so damage inside is not stopped by the checksum.
fn retrail(archive: &mut Vec<u8>) {
    let hash = *blake3::hash(archive).as_bytes();
    archive.extend_from_slice(&hash);
}

fn without_trailer(archive: &[u8]) -> Vec<u8> {
    archive[..archive.len() - 32].to_vec()
}

fn manifest(entries: Vec<Entry>) -> Manifest {
    Manifest {
        id: BackupId::from_parts(1_764_130_500_123, 0xabcdef),
        name: None,
        kind: BackupKind::Manual,
        reason: None,
        created_at: 1_764_130_500_123,
        scope: None,
        entries,
    }
}

fn entry(key: &str, bytes: &[u8]) -> Entry {
    Entry {
        key: k(key),
        size: bytes.len() as u64,
        hash: ContentHash::of(bytes),
        flags: EntryFlags::default(),
    }
}

/// Imports `archive` into `storage`, catching a panic: `Ok(Ok(_))` on success.
fn import(storage: &Storage, archive: &[u8]) -> Result<Result<BackupId, Error>, String> {
    catch_unwind(AssertUnwindSafe(|| {
        Backups::new(storage)
            .import(archive, &ImportOptions::default())
            .map(|info| info.id)
    }))
    .map_err(|panic| format!("{panic:?}"))
}

/// The error is one an archive's damage may give.
fn typed(e: &Error) -> bool {
    matches!(e, Error::Damaged { .. } | Error::NewerFormat { .. })
}

#[test]
fn entries_sharing_an_object_cost_it_once_on_import() {
    // One 256 KiB object under 1,000 keys: an archive under 1 MiB. Copied per entry, it took
    // 256 MiB to import.
    let object: Vec<u8> = (0..256 * 1024).map(|i| (i * 7 % 251) as u8).collect();
    let entries = (0..1000)
        .map(|i| entry(&format!("config.k{i:04}"), &object))
        .collect();
    let archive = seal(
        &manifest(entries).to_json(),
        1,
        &[(ContentHash::of(&object), &object)],
    );
    assert!(archive.len() < 1 << 20, "{} bytes", archive.len());
    let (_dir, storage) = store();
    let (result, peak) = measure(|| import(&storage, &archive));
    let id = result.unwrap().unwrap();
    // The manifest's parsed form and one copy of the object, not one per entry.
    let bound = 4 * archive.len() + (2 << 20);
    assert!(peak <= bound, "peak {peak} > {bound}");
    let backups = Backups::new(&storage);
    assert!(backups.verify(&id).unwrap().is_ok());
    backups.restore(&id, &RestoreOptions::default()).unwrap();
    let state = state(&storage);
    assert_eq!(state.len(), 1000);
    assert!(state.values().all(|v| *v == object));
}

#[test]
fn declared_lengths_of_4_gib_in_a_tiny_archive_are_refused_without_allocating() {
    let value = b"{\"theme\":\"dark\"}";
    let good = seal(
        &manifest(vec![entry("settings.preferences", value)]).to_json(),
        1,
        &[(ContentHash::of(value), value)],
    );
    let manifest_len_at = 12;
    let count_at = 20 + u64::from_le_bytes(good[12..20].try_into().unwrap()) as usize;
    let object_len_at = count_at + 4 + 32;
    let mut cases: Vec<(&str, Vec<u8>)> = Vec::new();
    for (name, at, field) in [
        (
            "manifest length 4 GiB",
            manifest_len_at,
            (4u64 << 30).to_le_bytes().to_vec(),
        ),
        (
            "manifest length u64::MAX",
            manifest_len_at,
            u64::MAX.to_le_bytes().to_vec(),
        ),
        (
            "object count u32::MAX",
            count_at,
            u32::MAX.to_le_bytes().to_vec(),
        ),
        (
            "object length 4 GiB",
            object_len_at,
            (4u64 << 30).to_le_bytes().to_vec(),
        ),
        (
            "object length u64::MAX",
            object_len_at,
            u64::MAX.to_le_bytes().to_vec(),
        ),
    ] {
        let mut bad = without_trailer(&good);
        bad[at..at + field.len()].copy_from_slice(&field);
        retrail(&mut bad);
        cases.push((name, bad));
    }
    // A manifest that declares an entry of 4 GiB for an object of 16 bytes.
    let mut huge = entry("settings.preferences", value);
    huge.size = 4 << 30;
    cases.push((
        "entry size 4 GiB",
        seal(
            &manifest(vec![huge]).to_json(),
            1,
            &[(ContentHash::of(value), value)],
        ),
    ));
    let (dir, storage) = store();
    let before = snapshot_of_folder(dir.path());
    for (name, archive) in cases {
        let (result, peak) = measure(|| import(&storage, &archive));
        match result {
            Ok(Err(e)) if typed(&e) => {}
            other => panic!("{name}: {other:?}"),
        }
        assert!(peak < 64 * 1024, "{name}: peak {peak}");
    }
    assert_eq!(snapshot_of_folder(dir.path()), before, "nothing written");
}

/// An empty store to import into, and its files before.
struct Target {
    dir: tempfile::TempDir,
    storage: Storage,
    before: std::collections::BTreeMap<std::path::PathBuf, Vec<u8>>,
}

impl Target {
    fn new() -> Target {
        let (dir, storage) = store();
        let before = snapshot_of_folder(dir.path());
        Target {
            dir,
            storage,
            before,
        }
    }
}

#[test]
fn every_truncation_and_flip_imports_right_or_fails_typed() {
    let (_a_dir, a) = store();
    fill(&a, &sample_state());
    // The same content under two keys: one object, two entries.
    put(&a, "config.copy", b"{\"theme\":\"dark\"}");
    let info = snapshot(&a, None);
    let mut archive = Vec::new();
    Backups::new(&a)
        .export(&info.id, &mut archive, &ExportOptions::default())
        .unwrap();
    let expected = state(&a);
    let body = without_trailer(&archive);
    let mut target = Target::new();
    let mut outcomes = (0usize, 0usize);
    let mut check = |label: String, candidate: &[u8]| match import(&target.storage, candidate) {
        Err(panic) => panic!("{label}: panicked: {panic}"),
        Ok(Err(e)) => {
            assert!(typed(&e), "{label}: {e:?}");
            assert_eq!(
                snapshot_of_folder(target.dir.path()),
                target.before,
                "{label}: wrote"
            );
            outcomes.1 += 1;
        }
        Ok(Ok(id)) => {
            // Accepted: it must hold exactly the snapshot (a flip the format does not cover,
            // such as whitespace in the manifest), and restore it.
            let backups = Backups::new(&target.storage);
            assert!(backups.verify(&id).unwrap().is_ok(), "{label}");
            backups.restore(&id, &RestoreOptions::default()).unwrap();
            assert_eq!(state(&target.storage), expected, "{label}");
            target = Target::new();
            outcomes.0 += 1;
        }
    };
    for len in 0..archive.len() {
        // Truncated, and truncated with a trailer made right for what is left.
        check(format!("truncated to {len}"), &archive[..len]);
        if len <= body.len() {
            let mut sealed = body[..len].to_vec();
            retrail(&mut sealed);
            check(format!("resealed at {len}"), &sealed);
        }
    }
    for at in 0..body.len() {
        for mask in [0x01u8, 0x80, 0xff] {
            let mut bad = body.clone();
            bad[at] ^= mask;
            retrail(&mut bad);
            check(format!("flip {mask:#04x} at {at}"), &bad);
        }
    }
    // Whole archives are the only successes besides flips the format does not cover.
    assert!(outcomes.1 > 10 * outcomes.0, "{outcomes:?}");
}

#[test]
fn crafted_manifests_are_refused_by_verify_restore_and_export() {
    let (dir, storage) = store();
    fill(&storage, &sample_state());
    let info = snapshot(&storage, None);
    let path = manifest_file(dir.path(), &info);
    let good = std::fs::read(&path).unwrap();
    let backups = Backups::new(&storage);
    let live = state(&storage);
    let run = |label: &str| {
        catch_unwind(AssertUnwindSafe(|| {
            let verify = backups.verify(&info.id);
            let mut out = Vec::new();
            let export = backups.export(&info.id, &mut out, &ExportOptions::default());
            let restore = backups.restore(&info.id, &RestoreOptions::default());
            let _ = backups.list().unwrap();
            (
                verify.map(|r| r.is_ok()),
                export.map(|_| ()),
                restore.map(|_| ()),
            )
        }))
        .unwrap_or_else(|_| panic!("{label}: panicked"))
    };
    for len in (0..good.len()).step_by(7) {
        std::fs::write(&path, &good[..len]).unwrap();
        let (verify, export, restore) = run(&format!("truncated to {len}"));
        for (op, e) in [
            ("verify", verify.err()),
            ("export", export.err()),
            ("restore", restore.err()),
        ] {
            let e = e.unwrap_or_else(|| panic!("{op} of a manifest truncated to {len} succeeded"));
            assert!(typed(&e), "{op} at {len}: {e:?}");
        }
        assert_eq!(state(&storage), live);
    }
    // Consistent manifests (checksum right) with sizes no file has: 4 GiB, u64::MAX twice.
    std::fs::write(&path, &good).unwrap();
    let mut m = backups.get(&info.id).unwrap();
    m.entries[0].size = 4 << 30;
    m.entries[1].size = u64::MAX;
    m.entries[2].size = u64::MAX;
    std::fs::write(&path, m.to_json()).unwrap();
    let (verify, export, restore) = run("oversized sizes");
    assert!(!verify.unwrap(), "the entries are damaged");
    assert!(
        matches!(export, Err(Error::ObjectMismatch { .. })),
        "{export:?}"
    );
    assert!(
        matches!(restore, Err(Error::ObjectMismatch { .. })),
        "{restore:?}"
    );
    assert_eq!(state(&storage), live);
    assert!(
        backups
            .list()
            .unwrap()
            .iter()
            .all(|b| b.kind != BackupKind::Auto),
        "no half snapshot"
    );
}
