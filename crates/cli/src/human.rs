//! Figures for people: times as RFC 3339 in local time, sizes in KiB and MiB. `--json` keeps the
//! raw numbers (milliseconds since the Unix epoch, bytes).

use jiff::Timestamp;
use jiff::tz::TimeZone;

/// `ms` since the Unix epoch as RFC 3339 in the system's time zone, to the second
/// (`2026-12-01T07:30:12+01:00`); the raw number when it is out of range.
pub(crate) fn time(ms: u64) -> String {
    let Ok(at) = i64::try_from(ms)
        .map_err(drop)
        .and_then(|ms| Timestamp::from_millisecond(ms).map_err(drop))
    else {
        return format!("{ms} ms");
    };
    let zone = TimeZone::try_system().unwrap_or(TimeZone::UTC);
    at.to_zoned(zone)
        .strftime("%Y-%m-%dT%H:%M:%S%:z")
        .to_string()
}

/// A size in bytes as people read it: `512 B`, `1.5 KiB`, `23.0 MiB`, `2.1 GiB`.
pub(crate) fn size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::{size, time};

    #[test]
    fn sizes() {
        for (bytes, text) in [
            (0, "0 B"),
            (1023, "1023 B"),
            (1024, "1.0 KiB"),
            (1536, "1.5 KiB"),
            (23 * 1024 * 1024, "23.0 MiB"),
            (5 << 40, "5.0 TiB"),
        ] {
            assert_eq!(size(bytes), text);
        }
    }

    #[test]
    fn times_are_rfc_3339_with_the_offset() {
        let text = time(1_764_000_000_000);
        // The zone is the machine's; the shape is fixed: date, time to the second, offset.
        assert_eq!(text.len(), "2025-11-24T16:00:00+00:00".len(), "{text}");
        assert_eq!(&text[4..5], "-");
        assert_eq!(&text[10..11], "T");
        let parsed: jiff::Timestamp = text.parse().unwrap();
        assert_eq!(parsed.as_millisecond(), 1_764_000_000_000);
        assert_eq!(time(u64::MAX), format!("{} ms", u64::MAX));
    }
}
