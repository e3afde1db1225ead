//! Pruning: retention policies per kind, a size bound for automatic snapshots, and garbage
//! collection of objects no manifest references.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::{Serialize, Serializer};
use statevault_core::Durability;

use crate::OBJECTS_DIR;
use crate::error::{Error, Result};
use crate::id::{BackupId, BackupKind};
use crate::legacy;
use crate::manifest::{ContentHash, Manifest};
use crate::retention::{Policy, Reason, SnapshotRef};
use crate::snapshot::{BackupInfo, Backups, Location, manifest_path};

/// The retention rules of [`Backups::prune`]: one [`Policy`] per kind, and a size bound for
/// automatic snapshots. Legacy backups are never pruned (delete them by id).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policies {
    /// For manual snapshots. The default is the empty policy, which keeps them all: a
    /// snapshot someone asked for is removed only when someone asks.
    pub manual: Policy,
    /// For automatic snapshots. The default keeps the last 10, one a day for 7 days and one
    /// a week for 4 weeks ([`Policies::DEFAULT_AUTO`]).
    pub auto: Policy,
    /// After `auto` is applied, the oldest automatic snapshots are dropped (never the newest)
    /// until the objects only automatic snapshots reference take at most this many bytes.
    pub auto_max_total_bytes: Option<u64>,
}

impl Policies {
    /// The default policy for automatic snapshots.
    pub const DEFAULT_AUTO: Policy = Policy {
        keep_last: Some(10),
        keep_hourly: None,
        keep_daily: Some(7),
        keep_weekly: Some(4),
        keep_monthly: None,
        keep_yearly: None,
        keep_within: None,
    };
}

impl Default for Policies {
    fn default() -> Self {
        Policies {
            manual: Policy::default(),
            auto: Policies::DEFAULT_AUTO,
            auto_max_total_bytes: None,
        }
    }
}

/// Why a snapshot is removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum RemovalCause {
    /// No rule of its kind's policy keeps it.
    Policy,
    /// Its policy keeps it, but automatic snapshots exceed `auto_max_total_bytes`.
    SizeBound,
}

/// A snapshot prune keeps, with the rules that keep it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Kept {
    /// The snapshot.
    pub id: BackupId,
    /// Its kind.
    pub kind: BackupKind,
    /// Every rule that keeps it (restic's wording through `Display`).
    #[serde(serialize_with = "ser_reasons")]
    pub reasons: Vec<Reason>,
}

/// A snapshot prune removes (or would remove, in a dry run).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Removed {
    /// The snapshot.
    pub info: BackupInfo,
    /// Why.
    pub cause: RemovalCause,
}

/// What garbage collection removed (or would remove).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct GcReport {
    /// Objects no manifest references.
    pub objects_removed: usize,
    /// Their total size.
    pub bytes_freed: u64,
    /// Manifests that could not be read (damaged, or from a newer statevault). While there
    /// is one, nothing is collected: its objects are unknown, and they may be wanted.
    pub blocked_by: Vec<BackupId>,
}

/// What [`Backups::prune`] did (or would do, in a dry run).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct PruneReport {
    /// Whether nothing was changed.
    pub dry_run: bool,
    /// Kept snapshots, newest first per kind (manual ones first).
    pub kept: Vec<Kept>,
    /// Removed snapshots.
    pub removed: Vec<Removed>,
    /// The garbage collection that followed.
    pub gc: GcReport,
}

fn ser_reasons<S: Serializer>(reasons: &[Reason], s: S) -> std::result::Result<S::Ok, S::Error> {
    s.collect_seq(reasons.iter().map(|r| r.to_string()))
}

/// A snapshot as the pruning plan sees it.
#[derive(Debug, Clone)]
pub(crate) struct Candidate {
    pub id: BackupId,
    pub kind: BackupKind,
    pub time_ms: i64,
    /// Distinct objects with their sizes.
    pub objects: BTreeMap<ContentHash, u64>,
}

impl Candidate {
    fn of(m: &Manifest) -> Candidate {
        Candidate {
            id: m.id.clone(),
            kind: m.kind,
            time_ms: i64::try_from(m.created_at).unwrap_or(i64::MAX),
            objects: m.entries.iter().map(|e| (e.hash, e.size)).collect(),
        }
    }
}

/// The decision: for each candidate (by index), kept with reasons or removed with a cause.
#[derive(Debug, Clone, Default)]
pub(crate) struct Plan {
    pub kept: Vec<(usize, Vec<Reason>)>,
    pub removed: Vec<(usize, RemovalCause)>,
}

/// Applies the policies to the candidates. Pure logic.
pub(crate) fn plan(candidates: &[Candidate], policies: &Policies) -> Plan {
    let mut result = Plan::default();
    let mut kept_auto: Vec<(usize, Vec<Reason>)> = Vec::new();
    for (kind, policy) in [
        (BackupKind::Manual, &policies.manual),
        (BackupKind::Auto, &policies.auto),
    ] {
        let refs: Vec<SnapshotRef<&BackupId>> = candidates
            .iter()
            .filter(|c| c.kind == kind)
            .map(|c| SnapshotRef {
                id: &c.id,
                time_ms: c.time_ms,
            })
            .collect();
        let index: BTreeMap<&BackupId, usize> = candidates
            .iter()
            .enumerate()
            .map(|(i, c)| (&c.id, i))
            .collect();
        let decision = policy.plan(&refs);
        result.removed.extend(
            decision
                .remove
                .iter()
                .map(|id| (index[id], RemovalCause::Policy)),
        );
        let kept = decision
            .keep
            .into_iter()
            .map(|(id, reasons)| (index[id], reasons));
        match kind {
            BackupKind::Auto => kept_auto.extend(kept),
            _ => result.kept.extend(kept),
        }
    }

    if let Some(max) = policies.auto_max_total_bytes {
        // Objects a kept manual snapshot references stay whatever happens to the automatic
        // ones, so they do not count against the automatic snapshots' budget.
        let manual: BTreeSet<&ContentHash> = result
            .kept
            .iter()
            .flat_map(|(i, _)| candidates[*i].objects.keys())
            .collect();
        let auto_bytes = |kept: &[(usize, Vec<Reason>)]| -> u64 {
            let mut objects: BTreeMap<&ContentHash, u64> = BTreeMap::new();
            for (i, _) in kept {
                for (hash, size) in &candidates[*i].objects {
                    if !manual.contains(hash) {
                        objects.insert(hash, *size);
                    }
                }
            }
            // Saturating: a manifest's sizes are declared, not measured.
            objects
                .values()
                .fold(0u64, |total, size| total.saturating_add(*size))
        };
        // Newest first, so the oldest is last; the newest is never dropped.
        while kept_auto.len() > 1 && auto_bytes(&kept_auto) > max {
            let (i, _) = kept_auto.pop().expect("more than one");
            result.removed.push((i, RemovalCause::SizeBound));
        }
    }
    result.kept.extend(kept_auto);
    result
}

impl Backups<'_> {
    /// Removes a backup (its manifest or legacy file), then the objects no other snapshot
    /// references. A damaged backup can be deleted too.
    pub fn delete(&self, id: &BackupId) -> Result<GcReport> {
        let _lock = self.begin_write()?;
        let path = match self.locate(id)? {
            Location::Native(kind) => manifest_path(kind, id),
            Location::Legacy => legacy::path(id),
        };
        self.storage.files().remove_file(&path, Durability::Full)?;
        tracing::info!(%id, "backup deleted");
        self.gc_locked(false)
    }

    /// Applies retention: removes the manifests of the snapshots the policies do not keep,
    /// then the objects no remaining manifest references. With `dry_run` nothing changes and
    /// the report says what would be removed (this works on a read-only handle too).
    ///
    /// Crash-safe: manifests go first (each removal is made durable), objects after, so a
    /// crash at any point leaves every remaining snapshot whole; what is left over is
    /// collected by the next prune or [`Backups::gc`].
    pub fn prune(&self, policies: &Policies, dry_run: bool) -> Result<PruneReport> {
        let _lock = if dry_run {
            None
        } else {
            Some(self.begin_write()?)
        };
        let mut manifests: Vec<Manifest> = Vec::new();
        let mut seen = BTreeSet::new();
        for scanned in self.scan()? {
            // The same id in both folders (copied by hand): the first is the one `get` finds.
            if !seen.insert(scanned.id.clone()) {
                continue;
            }
            if let Location::Native(kind) = scanned.location {
                match self.load_manifest(&scanned.id, kind) {
                    Ok(m) => manifests.push(m),
                    // Not a candidate; gc reports it as blocking.
                    Err(Error::Damaged { .. } | Error::NewerFormat { .. }) => {}
                    Err(e) => return Err(e),
                }
            }
        }
        let candidates: Vec<Candidate> = manifests.iter().map(Candidate::of).collect();
        let plan = plan(&candidates, policies);

        let mut removed_ids = BTreeSet::new();
        let mut removed = Vec::with_capacity(plan.removed.len());
        for &(i, cause) in &plan.removed {
            let m = &manifests[i];
            if !dry_run {
                self.storage
                    .files()
                    .remove_file(&manifest_path(m.kind, &m.id), Durability::Full)?;
                tracing::info!(id = %m.id, ?cause, "snapshot pruned");
            }
            removed_ids.insert(m.id.clone());
            removed.push(Removed {
                info: BackupInfo::from_manifest(m),
                cause,
            });
        }
        let gc = self.collect(dry_run, &removed_ids)?;
        let kept = plan
            .kept
            .into_iter()
            .map(|(i, reasons)| Kept {
                id: manifests[i].id.clone(),
                kind: manifests[i].kind,
                reasons,
            })
            .collect();
        Ok(PruneReport {
            dry_run,
            kept,
            removed,
            gc,
        })
    }

    /// Removes every object no manifest references. Nothing is removed while a manifest
    /// cannot be read ([`GcReport::blocked_by`]).
    pub fn gc(&self) -> Result<GcReport> {
        let _lock = self.begin_write()?;
        self.gc_locked(false)
    }

    pub(crate) fn gc_locked(&self, dry_run: bool) -> Result<GcReport> {
        self.collect(dry_run, &BTreeSet::new())
    }

    /// Garbage collection, treating the manifests in `gone` as already removed.
    fn collect(&self, dry_run: bool, gone: &BTreeSet<BackupId>) -> Result<GcReport> {
        let mut report = GcReport::default();
        let mut referenced = BTreeSet::new();
        for scanned in self.scan()? {
            let Location::Native(kind) = scanned.location else {
                continue;
            };
            if gone.contains(&scanned.id) {
                continue;
            }
            match self.load_manifest(&scanned.id, kind) {
                Ok(m) => referenced.extend(m.entries.iter().map(|e| e.hash)),
                Err(Error::Damaged { .. } | Error::NewerFormat { .. }) => {
                    report.blocked_by.push(scanned.id)
                }
                Err(e) => return Err(e),
            }
        }
        if !report.blocked_by.is_empty() {
            tracing::warn!(blocked_by = ?report.blocked_by, "not collecting objects while a manifest cannot be read");
            return Ok(report);
        }
        let objects = Path::new(OBJECTS_DIR);
        for dir in self.storage.files().list_dir(objects)? {
            let is_fanout = dir.name.len() == 2
                && dir
                    .name
                    .bytes()
                    .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
            if !dir.is_dir || !is_fanout {
                continue;
            }
            let folder = objects.join(&dir.name);
            for file in self.storage.files().list_dir(&folder)? {
                let Some(hash) = ContentHash::from_hex(&file.name) else {
                    continue;
                };
                if !file.is_file || !file.name.starts_with(&dir.name) || referenced.contains(&hash)
                {
                    continue;
                }
                let path = folder.join(&file.name);
                let size = self.file_meta(&path)?.map_or(0, |m| m.len);
                if !dry_run {
                    // Not made durable: an object that comes back after a power loss is only
                    // garbage again, collected next time.
                    self.storage.files().remove_file(&path, Durability::None)?;
                }
                report.objects_removed += 1;
                report.bytes_freed += size;
            }
        }
        if !dry_run && report.objects_removed > 0 {
            tracing::info!(
                objects = report.objects_removed,
                bytes = report.bytes_freed,
                "unreferenced objects removed"
            );
        }
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn candidate(n: u8, kind: BackupKind, time_ms: i64, objects: &[(u8, u64)]) -> Candidate {
        Candidate {
            id: BackupId::from_parts(u64::try_from(time_ms).unwrap(), u32::from(n)),
            kind,
            time_ms,
            objects: objects
                .iter()
                .map(|&(h, size)| (ContentHash::from_bytes([h; 32]), size))
                .collect(),
        }
    }

    fn ids(plan: &Plan, candidates: &[Candidate]) -> (Vec<u8>, Vec<(u8, RemovalCause)>) {
        let n = |i: usize| candidates[i].id.as_str()[20..].parse::<u8>().unwrap();
        (
            plan.kept.iter().map(|(i, _)| n(*i)).collect(),
            plan.removed.iter().map(|(i, c)| (n(*i), *c)).collect(),
        )
    }

    const H: i64 = 3_600_000;

    #[test]
    fn kinds_have_their_own_policies() {
        let c = vec![
            candidate(1, BackupKind::Manual, H, &[]),
            candidate(2, BackupKind::Manual, 2 * H, &[]),
            candidate(3, BackupKind::Auto, 3 * H, &[]),
            candidate(4, BackupKind::Auto, 4 * H, &[]),
            candidate(5, BackupKind::Auto, 5 * H, &[]),
        ];
        let policies = Policies {
            manual: Policy::default(),
            auto: Policy {
                keep_last: Some(1),
                ..Policy::default()
            },
            auto_max_total_bytes: None,
        };
        let p = plan(&c, &policies);
        assert_eq!(
            ids(&p, &c),
            (
                vec![2, 1, 5],
                vec![(4, RemovalCause::Policy), (3, RemovalCause::Policy)]
            )
        );
    }

    #[test]
    fn the_size_bound_drops_the_oldest_automatic_snapshots_first() {
        // Object 9 is shared with a manual snapshot and costs the automatic ones nothing.
        let c = vec![
            candidate(1, BackupKind::Manual, H, &[(9, 1000)]),
            candidate(2, BackupKind::Auto, 2 * H, &[(9, 1000), (2, 100)]),
            candidate(3, BackupKind::Auto, 3 * H, &[(9, 1000), (2, 100), (3, 100)]),
            candidate(4, BackupKind::Auto, 4 * H, &[(4, 100)]),
        ];
        let check = |max: u64, kept: Vec<u8>, removed: Vec<(u8, RemovalCause)>| {
            let policies = Policies {
                manual: Policy::default(),
                auto: Policy::default(),
                auto_max_total_bytes: Some(max),
            };
            assert_eq!(ids(&plan(&c, &policies), &c), (kept, removed), "max {max}");
        };
        check(300, vec![1, 4, 3, 2], vec![]);
        // Dropping 2 frees nothing (3 shares its object), so 3 goes too.
        check(
            299,
            vec![1, 4],
            vec![(2, RemovalCause::SizeBound), (3, RemovalCause::SizeBound)],
        );
        check(
            100,
            vec![1, 4],
            vec![(2, RemovalCause::SizeBound), (3, RemovalCause::SizeBound)],
        );
        // The newest automatic snapshot stays even when it alone is over the bound.
        check(
            0,
            vec![1, 4],
            vec![(2, RemovalCause::SizeBound), (3, RemovalCause::SizeBound)],
        );
    }

    fn arb_candidates() -> impl Strategy<Value = Vec<Candidate>> {
        proptest::collection::vec(
            (
                any::<bool>(),
                0i64..1_000 * H,
                proptest::collection::vec((0u8..12, 1u64..1000), 0..4),
            ),
            0..12,
        )
        .prop_map(|raw| {
            raw.into_iter()
                .enumerate()
                .map(|(n, (auto, time, objects))| {
                    let kind = if auto {
                        BackupKind::Auto
                    } else {
                        BackupKind::Manual
                    };
                    // The same object always has the same size.
                    let objects: Vec<(u8, u64)> = objects
                        .into_iter()
                        .map(|(h, _)| (h, u64::from(h) * 10 + 1))
                        .collect();
                    candidate(n as u8, kind, time, &objects)
                })
                .collect()
        })
    }

    fn arb_policy() -> impl Strategy<Value = Policy> {
        (
            proptest::option::of(0u32..4),
            proptest::option::of(0u32..4),
            proptest::option::of(0u32..3),
        )
            .prop_map(|(keep_last, keep_daily, keep_weekly)| Policy {
                keep_last,
                keep_daily,
                keep_weekly,
                ..Policy::default()
            })
    }

    proptest! {
        #[test]
        fn plan_invariants(c in arb_candidates(), manual in arb_policy(), auto in arb_policy(), max in proptest::option::of(0u64..400)) {
            let policies = Policies { manual, auto, auto_max_total_bytes: max };
            let p = plan(&c, &policies);
            // Every candidate is decided exactly once.
            let mut seen: Vec<usize> = p.kept.iter().map(|(i, _)| *i).chain(p.removed.iter().map(|(i, _)| *i)).collect();
            seen.sort_unstable();
            prop_assert_eq!(seen, (0..c.len()).collect::<Vec<_>>());
            // Manual snapshots follow their policy exactly; the size bound never touches them.
            for (i, cause) in &p.removed {
                if c[*i].kind == BackupKind::Manual {
                    prop_assert_eq!(*cause, RemovalCause::Policy);
                }
            }
            // The newest snapshot of each kind is kept.
            for kind in [BackupKind::Manual, BackupKind::Auto] {
                let newest = (0..c.len()).filter(|&i| c[i].kind == kind).max_by(|&a, &b| c[a].time_ms.cmp(&c[b].time_ms).then_with(|| c[a].id.cmp(&c[b].id)));
                if let Some(newest) = newest {
                    prop_assert!(p.kept.iter().any(|(i, _)| *i == newest), "newest {kind} removed");
                }
            }
            // The bound holds unless only one automatic snapshot is left.
            if let Some(max) = max {
                let manual_objects: BTreeSet<ContentHash> = p.kept.iter().filter(|(i, _)| c[*i].kind == BackupKind::Manual).flat_map(|(i, _)| c[*i].objects.keys().copied()).collect();
                let autos: Vec<usize> = p.kept.iter().map(|(i, _)| *i).filter(|&i| c[i].kind == BackupKind::Auto).collect();
                let bytes: u64 = autos.iter().flat_map(|&i| c[i].objects.iter()).filter(|(h, _)| !manual_objects.contains(h)).map(|(h, s)| (*h, *s)).collect::<BTreeMap<_, _>>().values().sum();
                prop_assert!(autos.len() <= 1 || bytes <= max, "{bytes} > {max} with {} automatic snapshots", autos.len());
                // And it removes only what it must: putting back the newest size-bound
                // removal would break the bound.
                if let Some((i, _)) = p.removed.iter().rev().find(|(_, cause)| *cause == RemovalCause::SizeBound) {
                    let mut with: BTreeMap<ContentHash, u64> = BTreeMap::new();
                    for &j in autos.iter().chain(std::iter::once(i)) {
                        for (h, s) in &c[j].objects {
                            if !manual_objects.contains(h) { with.insert(*h, *s); }
                        }
                    }
                    prop_assert!(with.values().sum::<u64>() > max);
                }
            }
        }
    }
}
