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
use std::fmt;
use std::time::Duration;

use jiff::SignedDuration;
use jiff::civil::{self, DateTime};

const MS_PER_HOUR: i64 = 3_600_000;
const MS_PER_DAY: i64 = 24 * MS_PER_HOUR;
/// 400 Gregorian years (146,097 days), after which the calendar repeats.
const MS_PER_400_YEARS: i64 = 146_097 * MS_PER_DAY;

/// 1970-01-01T00:00 UTC. Times are UTC throughout, which has no daylight saving time, so
/// civil date-times are UTC times and a span of milliseconds from here is a UTC time.
pub(crate) const UNIX_EPOCH: DateTime = civil::datetime(1970, 1, 1, 0, 0, 0, 0);

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

/// A calendar period of the `keep_hourly` … `keep_yearly` rules, on UTC boundaries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Period {
    /// A clock hour, `:00` to `:59`.
    Hour,
    /// A calendar day.
    Day,
    /// An ISO 8601 week, Monday to Sunday.
    Week,
    /// A calendar month.
    Month,
    /// A calendar year.
    Year,
}

impl Period {
    fn adjective(self) -> &'static str {
        match self {
            Period::Hour => "hourly",
            Period::Day => "daily",
            Period::Week => "weekly",
            Period::Month => "monthly",
            Period::Year => "yearly",
        }
    }
}

/// Why a snapshot is kept. `Display` gives restic's wording (`daily snapshot`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Reason {
    /// One of the `keep_last` newest snapshots.
    Last,
    /// The newest snapshot of one of the periods a `keep_<period>` rule keeps.
    Newest(Period),
    /// The oldest snapshot, kept because the `keep_<period>` rule had counts left.
    Oldest(Period),
    /// Made within `keep_within` of the newest snapshot.
    Within(Duration),
    /// The policy has no rule, and an empty policy keeps everything.
    EmptyPolicy,
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::Last => f.write_str("last snapshot"),
            Reason::Newest(p) => write!(f, "{} snapshot", p.adjective()),
            Reason::Oldest(p) => write!(f, "oldest {} snapshot", p.adjective()),
            Reason::Within(d) => write!(f, "within {}", HumanDuration(*d)),
            Reason::EmptyPolicy => f.write_str("policy is empty"),
        }
    }
}

/// A duration as `2d 3h 4m 5s 6ms` (zero parts left out; below a millisecond, nanoseconds).
struct HumanDuration(Duration);

impl fmt::Display for HumanDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.0.as_millis();
        if ms == 0 {
            return write!(f, "{}ns", self.0.as_nanos());
        }
        let parts = [
            (ms / 86_400_000, "d"),
            (ms / 3_600_000 % 24, "h"),
            (ms / 60_000 % 60, "m"),
            (ms / 1000 % 60, "s"),
            (ms % 1000, "ms"),
        ];
        let mut first = true;
        for (n, unit) in parts.into_iter().filter(|(n, _)| *n > 0) {
            if !first {
                f.write_str(" ")?;
            }
            write!(f, "{n}{unit}")?;
            first = false;
        }
        Ok(())
    }
}

/// A number that is equal for two times exactly when they fall in the same `period`.
fn period_key(period: Period, time_ms: i64) -> i64 {
    let days = time_ms.div_euclid(MS_PER_DAY);
    match period {
        // UTC has no daylight saving time, so hours are plain 3,600,000 ms slices of the epoch.
        Period::Hour => time_ms.div_euclid(MS_PER_HOUR),
        Period::Day => days,
        // 1970-01-01 was a Thursday; shifted by three days, weeks start on Monday, as ISO
        // weeks do. Each ISO week (year, number) is one such seven-day slice.
        Period::Week => (days + 3).div_euclid(7),
        Period::Month => {
            let (year, month) = utc_year_month(time_ms);
            year * 12 + i64::from(month) - 1
        }
        Period::Year => utc_year_month(time_ms).0,
    }
}

/// The UTC calendar year and month (1–12) of a time in milliseconds since the Unix epoch, for
/// every `i64`.
///
/// jiff's dates span the years -9999 to 9999, a snapshot's time any `i64`. The proleptic
/// Gregorian calendar repeats every 400 years, so the time is folded into the 400 years from
/// 1970 and the year moved back by as many cycles: exact everywhere, and plain jiff for every
/// time a clock can give.
fn utc_year_month(time_ms: i64) -> (i64, i8) {
    let cycles = time_ms.div_euclid(MS_PER_400_YEARS);
    let date = UNIX_EPOCH
        .checked_add(SignedDuration::from_millis(
            time_ms.rem_euclid(MS_PER_400_YEARS),
        ))
        .expect("1970 to 2370 lies within the range of a date");
    (i64::from(date.year()) + cycles * 400, date.month())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Days from 1970-01-01 to a proleptic Gregorian date.
    fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
        let date = civil::date(year as i16, month as i8, day as i8).at(0, 0, 0, 0);
        date.duration_since(UNIX_EPOCH).as_secs().div_euclid(86_400)
    }

    /// The date of a day counted from 1970-01-01.
    fn date_of(days: i64) -> civil::Date {
        UNIX_EPOCH
            .checked_add(SignedDuration::from_hours(days * 24))
            .expect("a day within jiff's range")
            .date()
    }

    /// ISO 8601 week-numbering year and week of a day.
    fn iso_week(days: i64) -> (i64, u32) {
        let week = date_of(days).iso_week_date();
        (i64::from(week.year()), week.week() as u32)
    }

    fn is_leap(y: i64) -> bool {
        (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
    }

    fn month_len(y: i64, m: u32) -> u32 {
        match m {
            2 if is_leap(y) => 29,
            2 => 28,
            4 | 6 | 9 | 11 => 30,
            _ => 31,
        }
    }

    #[test]
    fn known_dates() {
        for (days, date) in [
            (0, (1970, 1, 1)),
            (-1, (1969, 12, 31)),
            (11_016, (2000, 2, 29)),
            (11_017, (2000, 3, 1)),
            (19_782, (2024, 2, 29)),
            (-719_468, (0, 3, 1)),
            (-141_427, (1582, 10, 15)),
        ] {
            assert_eq!(
                utc_year_month(days * MS_PER_DAY),
                (date.0, date.1),
                "day {days}"
            );
            assert_eq!(
                utc_year_month(days * MS_PER_DAY + MS_PER_DAY - 1),
                (date.0, date.1),
                "end of day {days}"
            );
            assert_eq!(
                days_from_civil(date.0, date.1 as u32, date.2),
                days,
                "{date:?}"
            );
        }
    }

    #[test]
    fn every_day_of_eight_centuries() {
        // Walk day by day with the schoolbook calendar and compare.
        let (mut y, mut m, mut d) = (1600, 1, 1);
        let start = days_from_civil(1600, 1, 1);
        for days in start..days_from_civil(2401, 1, 1) {
            assert_eq!(
                utc_year_month(days * MS_PER_DAY),
                (y, m as i8),
                "day {days}"
            );
            assert_eq!(days_from_civil(y, m, d), days);
            d += 1;
            if d > month_len(y, m) {
                d = 1;
                m += 1;
                if m > 12 {
                    m = 1;
                    y += 1;
                }
            }
        }
        assert_eq!((y, m, d), (2401, 1, 1));
    }

    #[test]
    fn years_beyond_jiffs_range_fold_exactly() {
        // The first and last milliseconds of an `i64`: -292275055-05-16T16:47:04.192Z and
        // 292278994-08-17T07:12:55.807Z.
        assert_eq!(utc_year_month(i64::MIN), (-292_275_055, 5));
        assert_eq!(utc_year_month(i64::MAX), (292_278_994, 8));
        // Either side of 10000-01-01, which is 20 cycles of 400 years after 2000-01-01.
        let y10k = (days_from_civil(2000, 1, 1) + 20 * 146_097) * MS_PER_DAY;
        assert_eq!(utc_year_month(y10k), (10_000, 1));
        assert_eq!(utc_year_month(y10k - 1), (9_999, 12));
        // And before -9999.
        let before = (days_from_civil(-9_600, 3, 1) - 2 * 146_097) * MS_PER_DAY;
        assert_eq!(utc_year_month(before), (-10_400, 3));
        assert_eq!(utc_year_month(before - 1), (-10_400, 2));
    }

    #[test]
    fn iso_weeks() {
        // The examples of ISO 8601's week dates around year ends.
        for (date, week) in [
            ((2005, 1, 1), (2004, 53)),
            ((2005, 1, 2), (2004, 53)),
            ((2005, 12, 31), (2005, 52)),
            ((2007, 1, 1), (2007, 1)),
            ((2007, 12, 30), (2007, 52)),
            ((2007, 12, 31), (2008, 1)),
            ((2008, 1, 1), (2008, 1)),
            ((2008, 12, 28), (2008, 52)),
            ((2008, 12, 29), (2009, 1)),
            ((2009, 12, 31), (2009, 53)),
            ((2010, 1, 3), (2009, 53)),
            ((2010, 1, 4), (2010, 1)),
            ((1970, 1, 1), (1970, 1)),
            ((1969, 12, 29), (1970, 1)),
            ((1969, 12, 28), (1969, 52)),
        ] {
            assert_eq!(
                iso_week(days_from_civil(date.0, date.1, date.2)),
                week,
                "{date:?}"
            );
        }
    }

    #[test]
    fn week_key_is_the_iso_week() {
        // Two days share a week key exactly when they share an ISO (year, week).
        let start = days_from_civil(1890, 1, 1);
        let end = days_from_civil(2110, 1, 1);
        let mut previous = (
            period_key(Period::Week, start * MS_PER_DAY),
            iso_week(start),
        );
        for days in start + 1..end {
            let now = (period_key(Period::Week, days * MS_PER_DAY), iso_week(days));
            assert_eq!(now.0 == previous.0, now.1 == previous.1, "day {days}");
            previous = now;
        }
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

    #[test]
    fn reason_wording() {
        for (reason, text) in [
            (Reason::Last, "last snapshot"),
            (Reason::Newest(Period::Day), "daily snapshot"),
            (Reason::Oldest(Period::Month), "oldest monthly snapshot"),
            (Reason::Within(Duration::from_secs(7 * 86_400)), "within 7d"),
            (
                Reason::Within(Duration::from_millis(90_061_001)),
                "within 1d 1h 1m 1s 1ms",
            ),
            (Reason::Within(Duration::from_nanos(10)), "within 10ns"),
            (Reason::EmptyPolicy, "policy is empty"),
        ] {
            assert_eq!(reason.to_string(), text);
        }
    }

    // ---- Hand-checked timelines -------------------------------------------------------

    /// Milliseconds of a UTC date and time.
    fn at(y: i64, mo: u32, d: u32, h: i64, mi: i64) -> i64 {
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

    // ---- Against a reference model --------------------------------------------------

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
                let keys: Vec<Vec<i64>> =
                    list.iter().map(|(_, t)| naive_period(period, *t)).collect();
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
}
