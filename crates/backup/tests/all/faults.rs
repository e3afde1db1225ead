//! Crash safety through core's I/O seam: fail operation N, for every N, of a restore, a
//! snapshot and a prune, with core's `FaultBackend` (the process dies or the disk fails) and
//! `SimBackend` (power loss: what was not synced is lost). After each, a fresh open must find
//! the store wholly before or wholly after, and every snapshot on disk whole.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

use statevault_backup::{
    BackupId, BackupKind, Backups, CreateOptions, Policies, Policy, RestoreOptions,
};
use statevault_core::{
    Backend, CrashMode, FaultBackend, FaultError, FaultKind, FsBackend, OpenOptions, SimBackend,
    Storage,
};

use super::support::*;

fn open(root: &Path, backend: Arc<dyn Backend>) -> Storage {
    Storage::open_with(
        root,
        OpenOptions::new().idle_checkpoint(None).backend(backend),
    )
    .unwrap()
}

/// Every snapshot listed verifies and no manifest is damaged.
fn all_snapshots_whole(storage: &Storage, context: &str) -> BTreeSet<BackupId> {
    let backups = Backups::new(storage);
    let mut ids = BTreeSet::new();
    for info in backups.list().unwrap() {
        assert!(info.damaged.is_none(), "{context}: {info:?}");
        let report = backups.verify(&info.id).unwrap();
        assert!(report.is_ok(), "{context}: {report:?}");
        ids.insert(info.id);
    }
    ids
}

/// A store in state A with a snapshot of it, then changed to state B.
fn prepare(storage: &Storage) -> BackupId {
    fill(storage, &sample_state());
    let info = snapshot(storage, Some("A"));
    set_state(storage, &changed_state());
    info.id
}

#[test]
fn restore_under_failing_operations_is_all_or_nothing() {
    let mut points = 0;
    for kind in [FaultKind::Permanent, FaultKind::Transient] {
        for n in 0.. {
            let dir = tempfile::tempdir().unwrap();
            let id = prepare(&Storage::open(dir.path()).unwrap());
            let faults = FaultBackend::new(Arc::new(FsBackend));
            let storage = open(dir.path(), Arc::new(faults.clone()));
            faults.fail_at(n, kind, FaultError::Io);
            let result = Backups::new(&storage).restore(&id, &RestoreOptions::default());
            let injected = faults.injected() > 0;
            faults.heal();
            if !injected {
                result.unwrap();
                assert_eq!(state(&storage), sample_state());
                points += n;
                break;
            }
            drop(storage);
            let reopened = Storage::open(dir.path()).unwrap();
            let now = state(&reopened);
            let context = format!("{kind:?} failure at operation {n} ({result:?})");
            assert!(
                now == sample_state() || now == changed_state(),
                "{context}: the store is neither before nor after: {now:?}"
            );
            all_snapshots_whole(&reopened, &context);
            // A second attempt finishes the job.
            Backups::new(&reopened)
                .restore(&id, &RestoreOptions::default())
                .unwrap();
            assert_eq!(state(&reopened), sample_state(), "{context}");
        }
    }
    eprintln!("restore fault sweep: {points} failure points, 0 violations");
}

/// The same store on a simulated disk.
fn prepare_sim(sim: &SimBackend) -> BackupId {
    let storage = open(Path::new("/store"), Arc::new(sim.clone()));
    prepare(&storage)
}

#[test]
fn restore_under_power_loss_is_all_or_nothing() {
    let mut points = 0;
    for mode in [
        CrashMode::ProcessCrash,
        CrashMode::PowerLoss,
        CrashMode::PowerLossTorn,
    ] {
        for n in 0.. {
            let sim = SimBackend::new();
            let id = prepare_sim(&sim);
            let storage = open(Path::new("/store"), Arc::new(sim.clone()));
            sim.crash_at(n);
            let result = Backups::new(&storage).restore(&id, &RestoreOptions::default());
            if !sim.crashed() {
                sim.crash_at(u64::MAX);
                result.unwrap();
                assert_eq!(state(&storage), sample_state());
                points += n;
                break;
            }
            drop(storage);
            let after = sim.power_loss(mode);
            let reopened = open(Path::new("/store"), Arc::new(after));
            let now = state(&reopened);
            let context = format!("{mode:?} at operation {n}");
            assert!(
                now == sample_state() || now == changed_state(),
                "{context}: the store is neither before nor after: {now:?}"
            );
            let ids = all_snapshots_whole(&reopened, &context);
            assert!(
                ids.contains(&id),
                "{context}: the restored snapshot survives"
            );
            if now == sample_state() {
                // Restored: the pre-restore snapshot was durable before the batch.
                assert_eq!(ids.len(), 2, "{context}: the automatic snapshot is there");
            }
        }
    }
    eprintln!("restore power-loss sweep: {points} crash points, 0 violations");
}

#[test]
fn a_snapshot_under_power_loss_is_whole_or_absent() {
    let mut points = 0;
    for mode in [CrashMode::PowerLoss, CrashMode::PowerLossTorn] {
        for n in 0.. {
            let sim = SimBackend::new();
            {
                let storage = open(Path::new("/store"), Arc::new(sim.clone()));
                fill(&storage, &sample_state());
                snapshot(&storage, Some("older"));
                set_state(&storage, &changed_state());
            }
            let storage = open(Path::new("/store"), Arc::new(sim.clone()));
            sim.crash_at(n);
            let result = Backups::new(&storage).create(&CreateOptions::default());
            if !sim.crashed() {
                let info = result.unwrap();
                drop(storage);
                // Once create returns, the snapshot survives a power loss.
                let reopened = open(Path::new("/store"), Arc::new(sim.power_loss(mode)));
                let ids = all_snapshots_whole(&reopened, "after a completed snapshot");
                assert!(ids.contains(&info.id));
                points += n;
                break;
            }
            drop(storage);
            let reopened = open(Path::new("/store"), Arc::new(sim.power_loss(mode)));
            let context = format!("{mode:?} at operation {n}");
            let ids = all_snapshots_whole(&reopened, &context);
            assert!(!ids.is_empty() && ids.len() <= 2, "{context}: {ids:?}");
            // Leftover objects of a snapshot that never committed are collected.
            Backups::new(&reopened).gc().unwrap();
            all_snapshots_whole(&reopened, &context);
            assert_eq!(state(&reopened), changed_state());
        }
    }
    eprintln!("snapshot power-loss sweep: {points} crash points, 0 violations");
}

#[test]
fn a_large_snapshot_copied_by_several_threads_is_whole_or_absent() {
    // Enough changed files for the parallel copy; a power loss at every point of it.
    let mut points = 0;
    for n in 0.. {
        let sim = SimBackend::new();
        {
            let storage = open(Path::new("/store"), Arc::new(sim.clone()));
            for i in 0..24u8 {
                put(&storage, &format!("history.c{i}"), &[i; 100]);
            }
            // Two keys with the same content: two threads may store one object at once.
            put(&storage, "history.same-a", b"same");
            put(&storage, "history.same-b", b"same");
        }
        let storage = open(Path::new("/store"), Arc::new(sim.clone()));
        let expected = state(&storage);
        sim.crash_at(n);
        let result = Backups::new(&storage).create(&CreateOptions::default());
        let crashed = sim.crashed();
        drop(storage);
        let reopened = open(
            Path::new("/store"),
            Arc::new(sim.power_loss(CrashMode::PowerLoss)),
        );
        let ids = all_snapshots_whole(&reopened, &format!("power loss at operation {n}"));
        assert_eq!(state(&reopened), expected);
        if !crashed {
            let info = result.unwrap();
            assert_eq!(info.file_count, 26);
            assert!(ids.contains(&info.id));
            points += n;
            break;
        }
        // A crash after the manifest (while the index is written) keeps a whole snapshot.
        assert!(ids.len() <= 1, "{ids:?}");
    }
    eprintln!("parallel snapshot power-loss sweep: {points} crash points, 0 violations");
}

/// Two manual and five automatic snapshots of changing content.
fn history(storage: &Storage) {
    fill(storage, &sample_state());
    for i in 0..7u8 {
        put(
            storage,
            "settings.counter",
            format!("{{\"n\":{i}}}").as_bytes(),
        );
        let kind = if i % 3 == 0 {
            BackupKind::Manual
        } else {
            BackupKind::Auto
        };
        Backups::new(storage)
            .create(&CreateOptions {
                kind,
                ..CreateOptions::default()
            })
            .unwrap();
    }
}

fn policies() -> Policies {
    Policies {
        manual: Policy {
            keep_last: Some(1),
            ..Policy::default()
        },
        auto: Policy {
            keep_last: Some(1),
            ..Policy::default()
        },
        auto_max_total_bytes: None,
    }
}

#[test]
fn prune_under_failing_operations_keeps_every_kept_snapshot_whole() {
    let mut points = 0;
    for n in 0.. {
        let sim = SimBackend::new();
        let expected_kept: BTreeSet<BackupId> = {
            let storage = open(Path::new("/store"), Arc::new(sim.clone()));
            history(&storage);
            Backups::new(&storage)
                .prune(&policies(), true)
                .unwrap()
                .kept
                .into_iter()
                .map(|k| k.id)
                .collect()
        };
        let storage = open(Path::new("/store"), Arc::new(sim.clone()));
        sim.crash_at(n);
        let result = Backups::new(&storage).prune(&policies(), false);
        let crashed = sim.crashed();
        drop(storage);
        let reopened = open(
            Path::new("/store"),
            Arc::new(sim.power_loss(CrashMode::PowerLoss)),
        );
        let context = format!("power loss at operation {n}");
        let ids = all_snapshots_whole(&reopened, &context);
        assert!(
            expected_kept.is_subset(&ids),
            "{context}: a kept snapshot is gone"
        );
        // Finishing the prune gives the clean result.
        let report = Backups::new(&reopened).prune(&policies(), false).unwrap();
        let kept: BTreeSet<BackupId> = report.kept.into_iter().map(|k| k.id).collect();
        assert_eq!(kept, expected_kept, "{context}");
        assert_eq!(all_snapshots_whole(&reopened, &context), expected_kept);
        if !crashed {
            result.unwrap();
            points += n;
            break;
        }
    }
    eprintln!("prune power-loss sweep: {points} crash points, 0 violations");

    // And with the real file system failing operation N (a disk error, not a crash).
    for n in 0.. {
        let dir = tempfile::tempdir().unwrap();
        history(&Storage::open(dir.path()).unwrap());
        let faults = FaultBackend::new(Arc::new(FsBackend));
        let storage = open(dir.path(), Arc::new(faults.clone()));
        faults.fail_at(n, FaultKind::Permanent, FaultError::NoSpace);
        let result = Backups::new(&storage).prune(&policies(), false);
        let injected = faults.injected() > 0;
        faults.heal();
        drop(storage);
        let reopened = Storage::open(dir.path()).unwrap();
        all_snapshots_whole(&reopened, &format!("failure at operation {n}"));
        if !injected {
            result.unwrap();
            break;
        }
    }
}
