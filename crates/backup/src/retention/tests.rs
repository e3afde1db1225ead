//! Retention on hand-checked timelines.

use std::time::Duration;

use super::period::tests::days_from_civil;
use super::period::{MS_PER_DAY, MS_PER_HOUR, period_key};
use super::*;

/// Milliseconds of a UTC date and time.
pub(super) fn at(y: i64, mo: u32, d: u32, h: i64, mi: i64) -> i64 {
    days_from_civil(y, mo, d) * MS_PER_DAY + h * MS_PER_HOUR + mi * 60_000
}

/// Applies `policy` to `(id, time)` and compares with the expected kept ids and reasons
/// (newest first); every other id must be removed.
fn check(snapshots: &[(&'static str, i64)], policy: Policy, expected: &[(&str, &[&str])]) {
    let refs: Vec<_> = snapshots
        .iter()
        .map(|&(id, time_ms)| SnapshotRef { id, time_ms })
        .collect();
    let decision = policy.plan(&refs);
    let kept: Vec<(&str, Vec<String>)> = decision
        .keep
        .iter()
        .map(|(id, reasons)| (*id, reasons.iter().map(ToString::to_string).collect()))
        .collect();
    let want: Vec<(&str, Vec<String>)> = expected
        .iter()
        .map(|(id, reasons)| (*id, reasons.iter().map(|r| (*r).to_owned()).collect()))
        .collect();
    assert_eq!(kept, want, "{policy:?}");
    let mut removed = decision.remove.clone();
    let mut rest: Vec<&str> = snapshots
        .iter()
        .map(|(id, _)| *id)
        .filter(|id| !expected.iter().any(|(k, _)| k == id))
        .collect();
    removed.sort_unstable();
    rest.sort_unstable();
    assert_eq!(removed, rest, "{policy:?}");
}

/// restic's documentation example: one snapshot every Sunday at 11:00 for 12 weeks.
fn sundays() -> Vec<(&'static str, i64)> {
    vec![
        ("0a1f9759", at(2019, 9, 1, 11, 0)),
        ("46cfe4d5", at(2019, 9, 8, 11, 0)),
        ("f6b1f037", at(2019, 9, 15, 11, 0)),
        ("eb430a5d", at(2019, 9, 22, 11, 0)),
        ("8cf1cb9a", at(2019, 9, 29, 11, 0)),
        ("5d33b116", at(2019, 10, 6, 11, 0)),
        ("b9553125", at(2019, 10, 13, 11, 0)),
        ("e1a7b58b", at(2019, 10, 20, 11, 0)),
        ("8f8018c0", at(2019, 10, 27, 11, 0)),
        ("59403279", at(2019, 11, 3, 11, 0)),
        ("dfee9fb4", at(2019, 11, 10, 11, 0)),
        ("e1ae2f40", at(2019, 11, 17, 11, 0)),
    ]
}

#[test]
fn restic_docs_keep_daily_4() {
    let daily = &["daily snapshot"][..];
    check(
        &sundays(),
        Policy {
            keep_daily: Some(4),
            ..Policy::default()
        },
        &[
            ("e1ae2f40", daily),
            ("dfee9fb4", daily),
            ("59403279", daily),
            ("8f8018c0", daily),
        ],
    );
}

#[test]
fn monthly_with_counts_left_keeps_the_oldest() {
    // Three months hold snapshots; five were asked for, so the oldest is kept as well.
    check(
        &sundays(),
        Policy {
            keep_monthly: Some(5),
            ..Policy::default()
        },
        &[
            ("e1ae2f40", &["monthly snapshot"]),
            ("8f8018c0", &["monthly snapshot"]),
            ("8cf1cb9a", &["monthly snapshot"]),
            ("0a1f9759", &["oldest monthly snapshot"]),
        ],
    );
    // Exactly as many months as asked: the count is used up before the oldest.
    check(
        &sundays(),
        Policy {
            keep_monthly: Some(3),
            ..Policy::default()
        },
        &[
            ("e1ae2f40", &["monthly snapshot"]),
            ("8f8018c0", &["monthly snapshot"]),
            ("8cf1cb9a", &["monthly snapshot"]),
        ],
    );
}

#[test]
fn rules_are_ored_and_reasons_accumulate() {
    check(
        &sundays(),
        Policy {
            keep_last: Some(2),
            keep_weekly: Some(3),
            keep_monthly: Some(2),
            keep_within: Some(Duration::from_secs(14 * 86_400)),
            ..Policy::default()
        },
        &[
            (
                "e1ae2f40",
                &[
                    "within 14d",
                    "last snapshot",
                    "weekly snapshot",
                    "monthly snapshot",
                ],
            ),
            (
                "dfee9fb4",
                &["within 14d", "last snapshot", "weekly snapshot"],
            ),
            // Exactly 14 days before the newest: not strictly within.
            ("59403279", &["weekly snapshot"]),
            ("8f8018c0", &["monthly snapshot"]),
        ],
    );
}

#[test]
fn iso_weeks_cross_the_year_end() {
    let snapshots = [
        ("thu-2020-w53", at(2020, 12, 31, 9, 0)),
        ("sun-2020-w53", at(2021, 1, 3, 23, 59)),
        ("mon-2021-w01", at(2021, 1, 4, 0, 0)),
    ];
    check(
        &snapshots,
        Policy {
            keep_weekly: Some(2),
            ..Policy::default()
        },
        &[
            ("mon-2021-w01", &["weekly snapshot"]),
            ("sun-2020-w53", &["weekly snapshot"]),
        ],
    );
    check(
        &snapshots,
        Policy {
            keep_yearly: Some(2),
            ..Policy::default()
        },
        &[
            ("mon-2021-w01", &["yearly snapshot"]),
            ("thu-2020-w53", &["yearly snapshot"]),
        ],
    );
}

#[test]
fn hours_and_within() {
    let snapshots = [
        ("10:05", at(2024, 6, 1, 10, 5)),
        ("10:55", at(2024, 6, 1, 10, 55)),
        ("11:00", at(2024, 6, 1, 11, 0)),
        ("11:59", at(2024, 6, 1, 11, 59)),
        ("12:00", at(2024, 6, 1, 12, 0)),
    ];
    let hourly = |n| Policy {
        keep_hourly: Some(n),
        ..Policy::default()
    };
    check(
        &snapshots,
        hourly(2),
        &[
            ("12:00", &["hourly snapshot"]),
            ("11:59", &["hourly snapshot"]),
        ],
    );
    check(
        &snapshots,
        hourly(10),
        &[
            ("12:00", &["hourly snapshot"]),
            ("11:59", &["hourly snapshot"]),
            ("10:55", &["hourly snapshot"]),
            ("10:05", &["oldest hourly snapshot"]),
        ],
    );
    let within = |d| Policy {
        keep_within: Some(d),
        ..Policy::default()
    };
    check(
        &snapshots,
        within(Duration::from_secs(3600)),
        &[("12:00", &["within 1h"]), ("11:59", &["within 1h"])],
    );
    check(
        &snapshots,
        within(Duration::from_millis(3_600_001)),
        &[
            ("12:00", &["within 1h 1ms"]),
            ("11:59", &["within 1h 1ms"]),
            ("11:00", &["within 1h 1ms"]),
        ],
    );
}

#[test]
fn days_before_the_epoch() {
    let snapshots = [
        ("1969-12-31", at(1969, 12, 31, 23, 30)),
        ("1970-01-01", at(1970, 1, 1, 0, 30)),
    ];
    check(
        &snapshots,
        Policy {
            keep_daily: Some(1),
            ..Policy::default()
        },
        &[("1970-01-01", &["daily snapshot"])],
    );
    check(
        &snapshots,
        Policy {
            keep_monthly: Some(2),
            ..Policy::default()
        },
        &[
            ("1970-01-01", &["monthly snapshot"]),
            ("1969-12-31", &["monthly snapshot"]),
        ],
    );
    // Half an hour either side of the epoch: different hours, though truncating division
    // would put both in hour zero.
    check(
        &snapshots[..1]
            .iter()
            .copied()
            .chain([
                ("00:30", at(1970, 1, 1, 0, 30)),
                ("23:45", at(1969, 12, 31, 23, 45)),
            ])
            .collect::<Vec<_>>(),
        Policy {
            keep_hourly: Some(2),
            ..Policy::default()
        },
        &[
            ("00:30", &["hourly snapshot"]),
            ("23:45", &["hourly snapshot"]),
        ],
    );
}

#[test]
fn empty_policies_remove_nothing() {
    let all: Vec<(&str, &[&str])> = sundays()
        .iter()
        .rev()
        .map(|(id, _)| (*id, &["policy is empty"][..]))
        .collect();
    check(&sundays(), Policy::default(), &all);
    let zeros = Policy {
        keep_last: Some(0),
        keep_daily: Some(0),
        keep_within: Some(Duration::ZERO),
        ..Policy::default()
    };
    assert!(zeros.is_empty());
    check(&sundays(), zeros, &all);
    let decision = Policy::default().plan::<u8>(&[]);
    assert!(decision.keep.is_empty() && decision.remove.is_empty());
}

#[test]
fn repeated_ids_are_judged_once_at_their_newest_time() {
    let snapshots = [
        SnapshotRef {
            id: "a",
            time_ms: 10,
        },
        SnapshotRef {
            id: "b",
            time_ms: 20,
        },
        SnapshotRef {
            id: "a",
            time_ms: 30,
        },
    ];
    let decision = Policy {
        keep_last: Some(1),
        ..Policy::default()
    }
    .plan(&snapshots);
    assert_eq!(decision.keep, vec![("a", vec![Reason::Last])]);
    assert_eq!(decision.remove, vec!["b"]);
}

#[test]
fn equal_times_order_by_id() {
    let snapshots = [
        SnapshotRef { id: 1, time_ms: 5 },
        SnapshotRef { id: 3, time_ms: 5 },
        SnapshotRef { id: 2, time_ms: 5 },
    ];
    let decision = Policy {
        keep_last: Some(2),
        ..Policy::default()
    }
    .plan(&snapshots);
    let kept: Vec<_> = decision.keep.iter().map(|(id, _)| *id).collect();
    assert_eq!(kept, [3, 2]);
    assert_eq!(decision.remove, [1]);
}

#[test]
fn extreme_times_do_not_overflow() {
    for t in [i64::MIN, i64::MAX, 0, -1] {
        for p in [
            Period::Hour,
            Period::Day,
            Period::Week,
            Period::Month,
            Period::Year,
        ] {
            let _ = period_key(p, t);
        }
    }
    let snapshots = [
        SnapshotRef {
            id: 1,
            time_ms: i64::MIN,
        },
        SnapshotRef {
            id: 2,
            time_ms: i64::MAX,
        },
    ];
    let policy = Policy {
        keep_within: Some(Duration::MAX),
        keep_yearly: Some(1),
        ..Policy::default()
    };
    let decision = policy.plan(&snapshots);
    assert_eq!(decision.remove, Vec::<i32>::new());
    assert_eq!(
        decision.keep,
        vec![
            (
                2,
                vec![Reason::Within(Duration::MAX), Reason::Newest(Period::Year)]
            ),
            (1, vec![Reason::Within(Duration::MAX)]),
        ]
    );
}
