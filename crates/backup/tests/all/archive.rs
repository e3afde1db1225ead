//! Export and import of archives.

use proptest::prelude::*;
use statevault_backup::{
    ARCHIVE_MAGIC, BackupKind, Backups, BoxError, Error, ExportOptions, ImportOptions,
    RestoreOptions,
};
use statevault_core::Key;

use super::support::*;

fn export(storage: &statevault_core::Storage, id: &statevault_backup::BackupId) -> Vec<u8> {
    let mut out = Vec::new();
    let report = Backups::new(storage)
        .export(id, &mut out, &ExportOptions::default())
        .unwrap();
    assert_eq!(report.bytes, out.len() as u64);
    out
}

#[test]
fn export_then_import_into_another_store_then_restore() {
    let (_a_dir, a) = store();
    fill(&a, &sample_state());
    let info = snapshot(&a, Some("move me"));
    let archive = export(&a, &info.id);
    assert_eq!(archive[..8], ARCHIVE_MAGIC);

    let (_b_dir, b) = store();
    put(&b, "settings.local-only", b"{}");
    let backups = Backups::new(&b);
    let imported = backups.import(&archive, &ImportOptions::default()).unwrap();
    assert_eq!(imported.kind, BackupKind::Manual);
    assert_eq!(imported.name.as_deref(), Some("move me"));
    assert_eq!(imported.file_count, 5);
    assert_ne!(
        imported.id, info.id,
        "an import is a new snapshot of this store"
    );
    let manifest = backups.get(&imported.id).unwrap();
    assert_eq!(
        manifest.reason,
        Some(format!("imported from archive of backup {}", info.id))
    );
    assert!(backups.verify(&imported.id).unwrap().is_ok());
    backups
        .restore(&imported.id, &RestoreOptions::default())
        .unwrap();
    assert_eq!(state(&b), sample_state());
}

fn xor(_key: &Key, bytes: &[u8]) -> Result<Vec<u8>, BoxError> {
    Ok(bytes.iter().map(|b| b ^ 0x5a).collect())
}

#[test]
fn transforms_run_on_export_and_import() {
    // The facade decrypts on export and re-encrypts under the importing store's key; a
    // reversible byte mask stands for both here.
    let (_a_dir, a) = store();
    fill(&a, &sample_state());
    let info = snapshot(&a, None);
    let mut archive = Vec::new();
    let report = Backups::new(&a)
        .export(
            &info.id,
            &mut archive,
            &ExportOptions {
                transform: &xor,
                ..ExportOptions::default()
            },
        )
        .unwrap();
    assert_eq!((report.files, report.objects), (5, 5));
    let plain = b"{\"theme\":\"dark\"}";
    assert!(
        !archive.windows(plain.len()).any(|w| w == plain),
        "the archive holds transformed bytes"
    );

    let (_b_dir, b) = store();
    let backups = Backups::new(&b);
    let seen = std::sync::Mutex::new(Vec::new());
    let progress = |p: statevault_backup::Progress| seen.lock().unwrap().push((p.done, p.total));
    let imported = backups
        .import(
            &archive,
            &ImportOptions {
                transform: &xor,
                classify: &classify,
                name: Some("from the old laptop"),
                progress: Some(&progress),
            },
        )
        .unwrap();
    // Each file checked and transformed, then each stored.
    assert_eq!(
        *seen.lock().unwrap(),
        (1..=10).map(|i| (i, 10)).collect::<Vec<_>>()
    );
    assert_eq!(imported.name.as_deref(), Some("from the old laptop"));
    assert!(
        imported.encrypted,
        "flags come from the importing store's classifier"
    );
    backups
        .restore(&imported.id, &RestoreOptions::default())
        .unwrap();
    assert_eq!(state(&b), sample_state());
}

#[test]
fn a_failing_transform_writes_nothing() {
    let (_a_dir, a) = store();
    fill(&a, &sample_state());
    let info = snapshot(&a, None);
    let archive = export(&a, &info.id);
    let (b_dir, b) = store();
    let wrong_key = |key: &Key, _: &[u8]| -> Result<Vec<u8>, BoxError> {
        Err(format!("cannot encrypt {key}").into())
    };
    let result = Backups::new(&b).import(
        &archive,
        &ImportOptions {
            transform: &wrong_key,
            ..ImportOptions::default()
        },
    );
    assert!(matches!(result, Err(Error::Transform { .. })), "{result:?}");
    assert!(objects(b_dir.path()).is_empty());
    let mut out = Vec::new();
    let result = Backups::new(&a).export(
        &info.id,
        &mut out,
        &ExportOptions {
            transform: &wrong_key,
            ..ExportOptions::default()
        },
    );
    assert!(matches!(result, Err(Error::Transform { .. })));
    assert!(
        out.is_empty(),
        "nothing written before every transform succeeded"
    );
}

#[test]
fn a_corrupted_archive_is_refused_before_anything_is_written() {
    let (_a_dir, a) = store();
    fill(&a, &sample_state());
    let info = snapshot(&a, None);
    let archive = export(&a, &info.id);
    let (b_dir, b) = store();
    let backups = Backups::new(&b);
    let before = snapshot_of_folder(b_dir.path());

    // Every single-bit flip at every offset, and every truncation.
    for at in 0..archive.len() {
        let mut bad = archive.clone();
        bad[at] ^= 1 << (at % 8);
        let result = backups.import(&bad, &ImportOptions::default());
        assert!(
            matches!(
                result,
                Err(Error::Damaged { .. } | Error::NewerFormat { .. })
            ),
            "flip at {at}: {result:?}"
        );
    }
    for len in 0..archive.len() {
        let result = backups.import(&archive[..len], &ImportOptions::default());
        assert!(
            matches!(result, Err(Error::Damaged { .. })),
            "truncated to {len}: {result:?}"
        );
    }
    let mut longer = archive.clone();
    longer.push(0);
    assert!(backups.import(&longer, &ImportOptions::default()).is_err());
    assert!(backups.list().unwrap().is_empty());
    assert!(objects(b_dir.path()).is_empty());
    assert_eq!(snapshot_of_folder(b_dir.path()), before);
    assert!(backups.import(&archive, &ImportOptions::default()).is_ok());
}

#[test]
fn a_damaged_snapshot_is_not_exported() {
    let (dir, a) = store();
    fill(&a, &sample_state());
    let info = snapshot(&a, None);
    flip_byte(&objects(dir.path())[0], 0);
    let mut out = Vec::new();
    let result = Backups::new(&a).export(&info.id, &mut out, &ExportOptions::default());
    assert!(
        matches!(result, Err(Error::ObjectMismatch { .. })),
        "{result:?}"
    );
    assert!(out.is_empty());
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 24,
        // An integration test has no lib.rs for proptest to put regressions beside.
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn any_store_survives_export_and_import(
        values in proptest::collection::btree_map("[a-z]{1,8}", proptest::collection::vec(any::<u8>(), 0..64), 0..8),
        dup in any::<bool>(),
    ) {
        let (_a_dir, a) = store();
        for (name, bytes) in &values {
            put(&a, &format!("config.{name}"), bytes);
            if dup {
                // The same content under two keys: one object in the archive.
                put(&a, &format!("history.{name}"), bytes);
            }
        }
        let expected = state(&a);
        let info = snapshot(&a, None);
        let archive = export(&a, &info.id);
        let (_b_dir, b) = store();
        let backups = Backups::new(&b);
        let imported = backups.import(&archive, &ImportOptions::default()).unwrap();
        backups.restore(&imported.id, &RestoreOptions::default()).unwrap();
        prop_assert_eq!(state(&b), expected);
    }
}
