//! Retention: which snapshots a policy keeps, with restic's `forget` semantics. Pure logic, no
//! I/O; the caller removes what [`Decision::remove`] lists.
//!
//! The rules, all OR'd (a snapshot is kept if any rule keeps it):
//!
//! - Snapshots are considered newest first (ties in time: larger id first). An id listed more
//!   than once is considered once, at its newest time.
//! - `keep_last n`: the `n` newest snapshots.
//! - `keep_hourly` / `keep_daily` / `keep_weekly` / `keep_monthly` / `keep_yearly n`: the newest
//!   snapshot of each of the `n` newest calendar hours / days / ISO weeks (Monday to Sunday) /
//!   months / years *that have a snapshot*, on UTC calendar boundaries. Periods without a
//!   snapshot are not counted.
//! - If such a rule still has counts left when the oldest snapshot is reached, the oldest is
//!   kept too ([`Reason::Oldest`]), even when a newer snapshot of its period was already kept:
//!   with fewer periods than asked for, the longest history is what the user wanted.
//! - `keep_within d`: every snapshot strictly newer than the newest snapshot's time minus `d`.
//! - A count of zero or a zero duration is the same as not setting the rule. A policy with no
//!   rule set ([`Policy::is_empty`]) keeps everything: an accidentally empty policy must not
//!   delete every backup. Any other policy keeps the newest snapshot (each rule does), so the
//!   newest snapshot is never removed.
//!
//! Differences from restic: time is measured from the newest snapshot only (restic ignores
//! snapshots in the future of its clock when finding the newest); `keep_within` is a
//! [`Duration`] rather than a calendar span (restic's `1m` is a calendar month); there are no
//! `keep-within-hourly`-style rules, tags or groups.

use std::collections::BTreeMap;
use std::time::Duration;

mod period;
mod reason;
#[cfg(test)]
mod reference;
#[cfg(test)]
mod tests;

pub use period::Period;
pub(crate) use period::UNIX_EPOCH;
use period::period_key;
pub use reason::Reason;

/// Which snapshots to keep. Construct with `..Policy::default()` so new rules do not break the
/// construction.
///
/// ```
/// use statevault_backup::Policy;
///
/// let policy = Policy { keep_last: Some(3), keep_daily: Some(7), ..Policy::default() };
/// assert!(!policy.is_empty());
/// assert!(Policy::default().is_empty());
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Policy {
    /// Keep the `n` newest snapshots.
    pub keep_last: Option<u32>,
    /// Keep the newest snapshot of each of the `n` newest hours that have one.
    pub keep_hourly: Option<u32>,
    /// Keep the newest snapshot of each of the `n` newest days that have one.
    pub keep_daily: Option<u32>,
    /// Keep the newest snapshot of each of the `n` newest ISO weeks that have one.
    pub keep_weekly: Option<u32>,
    /// Keep the newest snapshot of each of the `n` newest months that have one.
    pub keep_monthly: Option<u32>,
    /// Keep the newest snapshot of each of the `n` newest years that have one.
    pub keep_yearly: Option<u32>,
    /// Keep every snapshot made within this duration before the newest snapshot.
    pub keep_within: Option<Duration>,
}

impl Policy {
    /// Whether no rule is set (every count is unset or zero, the duration unset or zero).
    /// An empty policy keeps every snapshot.
    pub fn is_empty(&self) -> bool {
        self.counts().iter().all(|(n, _)| *n == 0) && self.within().is_none()
    }

    /// The count rules in the order their reasons are reported, unset as zero.
    fn counts(&self) -> [(u32, Rule); 6] {
        [
            (self.keep_last.unwrap_or(0), Rule::Last),
            (self.keep_hourly.unwrap_or(0), Rule::Every(Period::Hour)),
            (self.keep_daily.unwrap_or(0), Rule::Every(Period::Day)),
            (self.keep_weekly.unwrap_or(0), Rule::Every(Period::Week)),
            (self.keep_monthly.unwrap_or(0), Rule::Every(Period::Month)),
            (self.keep_yearly.unwrap_or(0), Rule::Every(Period::Year)),
        ]
    }

    fn within(&self) -> Option<Duration> {
        self.keep_within.filter(|d| !d.is_zero())
    }

    /// Decides which of `snapshots` to keep and which to remove (see the module docs for the
    /// rules). The input may be in any order; both lists of the result are newest first.
    pub fn plan<I: Ord + Clone>(&self, snapshots: &[SnapshotRef<I>]) -> Decision<I> {
        // One entry per id, at its newest time, so a repeated id cannot be both kept and removed.
        let mut newest_time: BTreeMap<&I, i64> = BTreeMap::new();
        for s in snapshots {
            let t = newest_time.entry(&s.id).or_insert(s.time_ms);
            *t = (*t).max(s.time_ms);
        }
        let mut list: Vec<(&I, i64)> = newest_time.into_iter().collect();
        list.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| b.0.cmp(a.0)));

        let mut decision = Decision {
            keep: Vec::new(),
            remove: Vec::new(),
        };
        let Some(&(_, newest)) = list.first() else {
            return decision;
        };
        if self.is_empty() {
            decision.keep = list
                .iter()
                .map(|(id, _)| ((*id).clone(), vec![Reason::EmptyPolicy]))
                .collect();
            return decision;
        }

        // The cut-off in nanoseconds, so any `Duration` compares exactly and nothing overflows.
        let cutoff = self
            .within()
            .map(|d| i128::from(newest) * 1_000_000 - d.as_nanos() as i128);
        let mut buckets = self.counts().map(|(count, rule)| Bucket {
            count,
            rule,
            last: None,
        });
        let oldest = list.len() - 1;
        for (nr, &(id, time)) in list.iter().enumerate() {
            let mut reasons = Vec::new();
            if let (Some(cutoff), Some(d)) = (cutoff, self.keep_within)
                && i128::from(time) * 1_000_000 > cutoff
            {
                reasons.push(Reason::Within(d));
            }
            for bucket in buckets.iter_mut().filter(|b| b.count > 0) {
                let key = match bucket.rule {
                    // Every snapshot is a bucket of its own for `keep_last`.
                    Rule::Last => nr as i64,
                    Rule::Every(period) => period_key(period, time),
                };
                let new_period = bucket.last != Some(key);
                if new_period || nr == oldest {
                    reasons.push(match bucket.rule {
                        Rule::Last => Reason::Last,
                        Rule::Every(p) if new_period => Reason::Newest(p),
                        Rule::Every(p) => Reason::Oldest(p),
                    });
                    bucket.last = Some(key);
                    bucket.count -= 1;
                }
            }
            if reasons.is_empty() {
                decision.remove.push(id.clone());
            } else {
                decision.keep.push((id.clone(), reasons));
            }
        }
        decision
    }
}

/// What a rule has seen so far while walking from the newest snapshot to the oldest.
struct Bucket {
    /// How many more periods (or snapshots, for `keep_last`) the rule may keep.
    count: u32,
    rule: Rule,
    /// The key of the period of the last snapshot this rule kept.
    last: Option<i64>,
}

#[derive(Clone, Copy)]
enum Rule {
    Last,
    Every(Period),
}

/// A snapshot as retention sees it: an id and a time.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SnapshotRef<I> {
    /// The snapshot's id, returned in the [`Decision`].
    pub id: I,
    /// When the snapshot was taken, in milliseconds since the Unix epoch (UTC).
    pub time_ms: i64,
}

/// What a policy decided: which snapshots to keep (and why), which to remove.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision<I> {
    /// Kept snapshots, newest first, each with every reason that keeps it (never empty).
    pub keep: Vec<(I, Vec<Reason>)>,
    /// Snapshots no rule keeps, newest first.
    pub remove: Vec<I>,
}
