//! Why a snapshot is kept, in restic's words.

use std::fmt;
use std::time::Duration;

use super::period::Period;

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
