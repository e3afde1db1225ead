//! Retention against real stores: what the policies keep, and garbage collection.

use std::collections::BTreeSet;

use statevault_backup::{BackupKind, Backups, CreateOptions, Policies, Policy, RemovalCause};
use statevault_core::Storage;

use super::support::*;

fn auto(storage: &Storage, reason: &str) -> statevault_backup::BackupInfo {
    Backups::new(storage)
        .create(&CreateOptions {
            kind: BackupKind::Auto,
            reason: Some(reason),
            ..CreateOptions::default()
        })
        .unwrap()
}

/// Hashes referenced by the manifests on disk.
fn referenced(storage: &Storage) -> BTreeSet<String> {
    let backups = Backups::new(storage);
    backups
        .list()
        .unwrap()
        .iter()
        .filter(|b| b.kind != BackupKind::Legacy)
        .flat_map(|b| backups.get(&b.id).unwrap().entries)
        .map(|e| e.hash.to_hex())
        .collect()
}

fn object_names(root: &std::path::Path) -> BTreeSet<String> {
    objects(root)
        .iter()
        .map(|p| p.file_name().unwrap().to_str().unwrap().to_owned())
        .filter(|name| name.len() == 64)
        .collect()
}

/// Two manual and five automatic snapshots, each after a change of one key.
fn history(
    storage: &Storage,
) -> (
    Vec<statevault_backup::BackupInfo>,
    Vec<statevault_backup::BackupInfo>,
) {
    fill(storage, &sample_state());
    let mut manual = Vec::new();
    let mut autos = Vec::new();
    for i in 0..7u8 {
        put(
            storage,
            "settings.counter",
            format!("{{\"n\":{i}}}").as_bytes(),
        );
        if i == 0 || i == 3 {
            manual.push(snapshot(storage, Some(&format!("manual {i}"))));
        } else {
            autos.push(auto(storage, &format!("auto {i}")));
        }
    }
    (manual, autos)
}

#[test]
fn prune_keeps_what_the_policies_say_and_collects_orphans_only() {
    let (dir, storage) = store();
    let (manual, autos) = history(&storage);
    let backups = Backups::new(&storage);
    let policies = Policies {
        manual: Policy::default(),
        auto: Policy {
            keep_last: Some(2),
            ..Policy::default()
        },
        auto_max_total_bytes: None,
    };
    let report = backups.prune(&policies, false).unwrap();
    let removed: Vec<_> = report
        .removed
        .iter()
        .map(|r| (r.info.id.clone(), r.cause))
        .collect();
    let expected: Vec<_> = autos[..3]
        .iter()
        .rev()
        .map(|b| (b.id.clone(), RemovalCause::Policy))
        .collect();
    assert_eq!(removed, expected);
    let kept: BTreeSet<_> = report.kept.iter().map(|k| k.id.clone()).collect();
    let expected_kept: BTreeSet<_> = manual
        .iter()
        .chain(&autos[3..])
        .map(|b| b.id.clone())
        .collect();
    assert_eq!(kept, expected_kept);
    let listed: BTreeSet<_> = backups.list().unwrap().into_iter().map(|b| b.id).collect();
    assert_eq!(listed, expected_kept);

    // Objects of the removed snapshots' counter values (2, 4, 5) are gone, and nothing a
    // kept snapshot needs.
    assert_eq!(report.gc.objects_removed, 3);
    assert_eq!(object_names(dir.path()), referenced(&storage));
    for id in &kept {
        assert!(backups.verify(id).unwrap().is_ok());
    }
    let reasons: Vec<String> = report.kept[0]
        .reasons
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(reasons, ["policy is empty"]);
}

#[test]
fn a_dry_run_changes_nothing_and_predicts_the_real_run() {
    let (dir, storage) = store();
    history(&storage);
    let policies = Policies {
        auto: Policy {
            keep_last: Some(1),
            ..Policy::default()
        },
        ..Policies::default()
    };
    let before = snapshot_of_folder(dir.path());
    let backups = Backups::new(&storage);
    let dry = backups.prune(&policies, true).unwrap();
    assert!(dry.dry_run);
    assert_eq!(snapshot_of_folder(dir.path()), before);
    let real = backups.prune(&policies, false).unwrap();
    assert_eq!(dry.removed, real.removed);
    assert_eq!(dry.kept, real.kept);
    assert_eq!(dry.gc, real.gc);
    assert_eq!(real.removed.len(), 4);
    // Pruning again finds nothing to do.
    let again = backups.prune(&policies, false).unwrap();
    assert!(again.removed.is_empty());
    assert_eq!(again.gc.objects_removed, 0);
}

#[test]
fn the_size_bound_drops_old_automatic_snapshots_but_never_the_newest() {
    let (dir, storage) = store();
    let backups = Backups::new(&storage);
    let mut autos = Vec::new();
    for i in 0..4u8 {
        put(&storage, "history.big", &vec![i; 1000]);
        autos.push(auto(&storage, "before migration"));
    }
    let manual = snapshot(&storage, Some("keep me"));
    let policies = Policies {
        manual: Policy::default(),
        auto: Policy::default(),
        // Two distinct 1000-byte values fit; the manual snapshot's copy of the newest value
        // does not count against automatic snapshots.
        auto_max_total_bytes: Some(2000),
    };
    let report = backups.prune(&policies, false).unwrap();
    let removed: Vec<_> = report
        .removed
        .iter()
        .map(|r| (r.info.id.clone(), r.cause))
        .collect();
    assert_eq!(removed, [(autos[0].id.clone(), RemovalCause::SizeBound),]);
    let tiny = Policies {
        auto_max_total_bytes: Some(0),
        ..policies
    };
    let report = backups.prune(&tiny, false).unwrap();
    assert_eq!(report.removed.len(), 2);
    let left: Vec<_> = backups.list().unwrap().into_iter().map(|b| b.id).collect();
    assert_eq!(left, [manual.id.clone(), autos[3].id.clone()]);
    assert_eq!(object_names(dir.path()), referenced(&storage));
}

#[test]
fn the_default_policies_keep_every_manual_snapshot() {
    let (_dir, storage) = store();
    put(&storage, "settings.a", b"1");
    for _ in 0..3 {
        snapshot(&storage, None);
    }
    for _ in 0..12 {
        auto(&storage, "before overwrite");
    }
    let report = Backups::new(&storage)
        .prune(&Policies::default(), false)
        .unwrap();
    // All twelve fall on one day: keep_last keeps ten, and keep_daily, with counts left at
    // the oldest snapshot, keeps the oldest too (restic's semantics).
    assert_eq!(report.removed.len(), 1);
    assert!(
        report
            .removed
            .iter()
            .all(|r| r.info.kind == BackupKind::Auto)
    );
    assert_eq!(report.kept.len(), 14);
}

#[test]
fn gc_removes_only_unreferenced_objects_and_is_blocked_by_an_unreadable_manifest() {
    let (dir, storage) = store();
    fill(&storage, &sample_state());
    let first = snapshot(&storage, None);
    set_state(&storage, &changed_state());
    let second = snapshot(&storage, None);
    let backups = Backups::new(&storage);
    let all = object_names(dir.path());

    // A stray object (a crash between object and manifest) and stray files are handled.
    let stray = statevault_backup::ContentHash::of(b"orphan").to_hex();
    let stray_dir = dir.path().join("backups/objects").join(&stray[..2]);
    std::fs::create_dir_all(&stray_dir).unwrap();
    std::fs::write(stray_dir.join(&stray), b"orphan").unwrap();
    std::fs::write(stray_dir.join("README"), b"not an object").unwrap();

    // While a manifest cannot be read, nothing is collected.
    flip_byte(&manifest_file(dir.path(), &first), 100);
    let report = backups.gc().unwrap();
    assert_eq!(report.blocked_by, std::slice::from_ref(&first.id));
    assert_eq!(report.objects_removed, 0);
    assert!(stray_dir.join(&stray).exists());

    backups.delete(&first.id).unwrap();
    // Deleting ran gc: the stray object and the first snapshot's own objects are gone.
    assert_eq!(object_names(dir.path()), referenced(&storage));
    assert!(!stray_dir.join(&stray).exists());
    assert!(
        stray_dir.join("README").exists(),
        "files that are not objects are left alone"
    );
    assert!(object_names(dir.path()).is_subset(&all));
    assert!(backups.verify(&second.id).unwrap().is_ok());
}
