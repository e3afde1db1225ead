//! The calendar periods of the `keep_<period>` rules, on UTC boundaries.

use jiff::SignedDuration;
use jiff::civil::{self, DateTime};

pub(super) const MS_PER_HOUR: i64 = 3_600_000;
pub(super) const MS_PER_DAY: i64 = 24 * MS_PER_HOUR;
/// 400 Gregorian years (146,097 days), after which the calendar repeats.
const MS_PER_400_YEARS: i64 = 146_097 * MS_PER_DAY;

/// 1970-01-01T00:00 UTC. Times are UTC throughout, which has no daylight saving time, so
/// civil date-times are UTC times and a span of milliseconds from here is a UTC time.
pub(crate) const UNIX_EPOCH: DateTime = civil::datetime(1970, 1, 1, 0, 0, 0, 0);

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
    pub(super) fn adjective(self) -> &'static str {
        match self {
            Period::Hour => "hourly",
            Period::Day => "daily",
            Period::Week => "weekly",
            Period::Month => "monthly",
            Period::Year => "yearly",
        }
    }
}

/// A number that is equal for two times exactly when they fall in the same `period`.
pub(super) fn period_key(period: Period, time_ms: i64) -> i64 {
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
pub(super) mod tests {
    use super::*;

    /// Days from 1970-01-01 to a proleptic Gregorian date.
    pub(in crate::retention) fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
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

    pub(in crate::retention) fn is_leap(y: i64) -> bool {
        (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
    }

    pub(in crate::retention) fn month_len(y: i64, m: u32) -> u32 {
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
}
