//! Retention against a reference model that states the rules as sets, on random timelines.

use std::time::Duration;

use proptest::prelude::*;

use super::period::tests::{is_leap, month_len};
use super::period::{MS_PER_DAY, MS_PER_HOUR};
use super::tests::at;
use super::*;

/// The schoolbook calendar: (year, month, day, hour) by walking whole years and months
/// from 1970. Slow, and obviously right for the years the timelines use.
fn naive_civil(time_ms: i64) -> (i64, u32, u32, i64) {
    let mut days = time_ms.div_euclid(MS_PER_DAY);
    let hour = time_ms.rem_euclid(MS_PER_DAY) / MS_PER_HOUR;
    let year_len = |y| if is_leap(y) { 366 } else { 365 };
    let mut y = 1970;
    while days < 0 {
        y -= 1;
        days += year_len(y);
    }
    while days >= year_len(y) {
        days -= year_len(y);
        y += 1;
    }
    let mut m = 1;
    while days >= i64::from(month_len(y, m)) {
        days -= i64::from(month_len(y, m));
        m += 1;
    }
    (y, m, days as u32 + 1, hour)
}

/// Day of the year, 1-based, by the schoolbook calendar.
fn naive_ordinal(y: i64, m: u32, d: u32) -> u32 {
    (1..m).map(|mm| month_len(y, mm)).sum::<u32>() + d
}

/// A period as a tuple of calendar fields, by the naive calendar and ISO's week rule.
fn naive_period(period: Period, time_ms: i64) -> Vec<i64> {
    let (y, m, d, h) = naive_civil(time_ms);
    match period {
        Period::Hour => vec![y, m.into(), d.into(), h],
        Period::Day => vec![y, m.into(), d.into()],
        Period::Week => {
            // The week's Thursday decides its year; week 1 holds the year's first Thursday.
            let weekday = (time_ms.div_euclid(MS_PER_DAY) + 3).rem_euclid(7); // Monday = 0
            let thursday = time_ms + (3 - weekday) * MS_PER_DAY;
            let (ty, tm, td, _) = naive_civil(thursday);
            vec![ty, i64::from((naive_ordinal(ty, tm, td) - 1) / 7 + 1)]
        }
        Period::Month => vec![y, m.into()],
        Period::Year => vec![y],
    }
}

/// The rules stated as sets: the newest snapshot of each of the first `n` distinct
/// periods, plus the oldest snapshot when fewer than `n` periods precede it.
fn reference(snapshots: &[SnapshotRef<u8>], policy: &Policy) -> Decision<u8> {
    let mut list: Vec<(u8, i64)> = Vec::new();
    for s in snapshots {
        match list.iter_mut().find(|(id, _)| *id == s.id) {
            Some(entry) => entry.1 = entry.1.max(s.time_ms),
            None => list.push((s.id, s.time_ms)),
        }
    }
    list.sort_by_key(|&(id, t)| std::cmp::Reverse((t, id)));
    let mut reasons: Vec<Vec<Reason>> = vec![Vec::new(); list.len()];
    if list.is_empty() {
        return Decision {
            keep: Vec::new(),
            remove: Vec::new(),
        };
    }
    let empty = [
        policy.keep_last,
        policy.keep_hourly,
        policy.keep_daily,
        policy.keep_weekly,
        policy.keep_monthly,
        policy.keep_yearly,
    ]
    .iter()
    .all(|n| n.unwrap_or(0) == 0)
        && policy.keep_within.is_none_or(|d| d.is_zero());
    if empty {
        for r in &mut reasons {
            r.push(Reason::EmptyPolicy);
        }
    } else {
        let newest = list[0].1;
        if let Some(d) = policy.keep_within.filter(|d| !d.is_zero()) {
            for (i, (_, t)) in list.iter().enumerate() {
                let age_ns = (i128::from(newest) - i128::from(*t)) * 1_000_000;
                if age_ns < d.as_nanos() as i128 {
                    reasons[i].push(Reason::Within(d));
                }
            }
        }
        let n = policy.keep_last.unwrap_or(0) as usize;
        for r in reasons.iter_mut().take(n) {
            r.push(Reason::Last);
        }
        for (count, period) in [
            (policy.keep_hourly, Period::Hour),
            (policy.keep_daily, Period::Day),
            (policy.keep_weekly, Period::Week),
            (policy.keep_monthly, Period::Month),
            (policy.keep_yearly, Period::Year),
        ] {
            let n = count.unwrap_or(0) as usize;
            if n == 0 {
                continue;
            }
            let keys: Vec<Vec<i64>> = list.iter().map(|(_, t)| naive_period(period, *t)).collect();
            let mut distinct: Vec<&Vec<i64>> = Vec::new();
            for (i, key) in keys.iter().enumerate() {
                if !distinct.contains(&key) {
                    distinct.push(key);
                    if distinct.len() <= n {
                        reasons[i].push(Reason::Newest(period));
                    }
                }
            }
            let last = list.len() - 1;
            let before: Vec<&Vec<i64>> = keys[..last].iter().collect();
            let mut periods_before = before.clone();
            periods_before.sort();
            periods_before.dedup();
            let first_of_its_period = !before.contains(&&keys[last]);
            if periods_before.len() < n && !first_of_its_period {
                reasons[last].push(Reason::Oldest(period));
            }
        }
    }
    let mut decision = Decision {
        keep: Vec::new(),
        remove: Vec::new(),
    };
    for ((id, _), r) in list.into_iter().zip(reasons) {
        if r.is_empty() {
            decision.remove.push(id);
        } else {
            decision.keep.push((id, r));
        }
    }
    decision
}

/// Timelines at several scales around a random point between 1900 and 2100. Times are
/// sometimes whole hours or days apart, so equal times (the id tie-break) and times exactly
/// on a `keep_within` boundary are common; ids repeat sometimes.
fn timeline() -> impl Strategy<Value = Vec<SnapshotRef<u8>>> {
    let base = at(1900, 1, 1, 0, 0)..at(2100, 1, 1, 0, 0);
    let spread = prop_oneof![
        Just(3 * MS_PER_HOUR),
        Just(3 * MS_PER_DAY),
        Just(60 * MS_PER_DAY),
        Just(3 * 366 * MS_PER_DAY),
        Just(40 * 366 * MS_PER_DAY),
    ];
    let step = prop_oneof![Just(1), Just(MS_PER_HOUR), Just(MS_PER_DAY)];
    (base, spread, step).prop_flat_map(|(base, spread, step)| {
        prop::collection::vec(
            (0u8..40, 0..=spread / step).prop_map(move |(id, n)| SnapshotRef {
                id,
                time_ms: base + n * step,
            }),
            0..30,
        )
    })
}

fn policy() -> impl Strategy<Value = Policy> {
    let count = || prop::option::of(0u32..6);
    let within = prop::option::of(prop_oneof![
        Just(Duration::ZERO),
        (0u64..5 * 86_400_000).prop_map(Duration::from_millis),
        (0u64..2_000_000_000).prop_map(Duration::from_nanos),
        (1u64..200).prop_map(|h| Duration::from_secs(h * 3600)),
    ]);
    (count(), count(), count(), count(), count(), count(), within).prop_map(
        |(l, h, d, w, m, y, within)| Policy {
            keep_last: l,
            keep_hourly: h,
            keep_daily: d,
            keep_weekly: w,
            keep_monthly: m,
            keep_yearly: y,
            keep_within: within,
        },
    )
}

fn ids(d: &Decision<u8>) -> Vec<u8> {
    d.keep.iter().map(|(id, _)| *id).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn matches_the_reference_model(snapshots in timeline(), policy in policy()) {
        prop_assert_eq!(policy.plan(&snapshots), reference(&snapshots, &policy));
    }

    #[test]
    fn newest_kept_and_every_id_decided_once(snapshots in timeline(), policy in policy()) {
        let decision = policy.plan(&snapshots);
        let mut all: Vec<u8> = snapshots.iter().map(|s| s.id).collect();
        all.sort_unstable();
        all.dedup();
        let mut decided: Vec<u8> = ids(&decision);
        decided.extend(&decision.remove);
        decided.sort_unstable();
        prop_assert_eq!(&decided, &all, "each id exactly once");
        if let Some(newest) = snapshots.iter().max_by_key(|s| (s.time_ms, s.id)) {
            prop_assert_eq!(decision.keep.first().map(|(id, _)| *id), Some(newest.id));
        }
        prop_assert!(decision.keep.iter().all(|(_, r)| !r.is_empty()));
        if policy.is_empty() {
            prop_assert!(decision.remove.is_empty());
        }
    }

    #[test]
    fn input_order_does_not_matter(
        (snapshots, shuffled) in timeline()
            .prop_flat_map(|t| (Just(t.clone()), Just(t).prop_shuffle())),
        policy in policy(),
    ) {
        prop_assert_eq!(policy.plan(&snapshots), policy.plan(&shuffled));
    }

    #[test]
    fn a_larger_policy_keeps_a_superset(
        snapshots in timeline(), policy in policy(), extra in policy(),
    ) {
        // Raising any count or widening the window never removes a kept snapshot (the
        // empty policy, which keeps all, is the exception it should be).
        prop_assume!(!policy.is_empty());
        let max = |a: Option<u32>, b: Option<u32>| a.max(b);
        let larger = Policy {
            keep_last: max(policy.keep_last, extra.keep_last),
            keep_hourly: max(policy.keep_hourly, extra.keep_hourly),
            keep_daily: max(policy.keep_daily, extra.keep_daily),
            keep_weekly: max(policy.keep_weekly, extra.keep_weekly),
            keep_monthly: max(policy.keep_monthly, extra.keep_monthly),
            keep_yearly: max(policy.keep_yearly, extra.keep_yearly),
            keep_within: policy.keep_within.max(extra.keep_within),
        };
        let small = ids(&policy.plan(&snapshots));
        let large = ids(&larger.plan(&snapshots));
        prop_assert!(small.iter().all(|id| large.contains(id)), "{:?} ⊄ {:?}", small, large);
    }
}
