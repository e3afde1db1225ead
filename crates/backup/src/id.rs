//! Backup ids and kinds.

use std::fmt;
use std::str::FromStr;

use jiff::SignedDuration;
use jiff::civil::DateTime;
use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::retention::UNIX_EPOCH;

/// The longest id, in bytes.
pub const MAX_ID_LEN: usize = 128;

/// The latest time a native id can carry: 9999-12-31T23:59:59.999Z (four-digit years keep
/// ids sortable as text).
const MAX_ID_TIME_MS: u64 = 253_402_300_799_999;

/// Length of a native id: `YYYYMMDDTHHMMSSmmmZ` (19) + `-` + 6 hex digits.
const NATIVE_LEN: usize = 26;

/// Names Windows opens as devices whatever their extension; an id is part of a file name.
const WINDOWS_DEVICE_NAMES: &[&str] = &[
    "con", "prn", "aux", "nul", "conin$", "conout$", "com0", "com1", "com2", "com3", "com4",
    "com5", "com6", "com7", "com8", "com9", "lpt0", "lpt1", "lpt2", "lpt3", "lpt4", "lpt5", "lpt6",
    "lpt7", "lpt8", "lpt9",
];

/// The id of a backup: a file name stem, never a path.
///
/// Snapshots made by this crate get *native* ids, `20261126T041500123Z-1a2b3c`: the UTC time
/// to the millisecond and six random hex digits, so ids sort as text in time order. Backups
/// written by the earlier TypeScript service keep their file stem as id (`backup_1759741200000`,
/// or the name the user gave). Any id is 1 to 128 bytes of `[A-Za-z0-9 ._-]`, starts with a
/// letter or digit, does not end with `.` or a space, does not end with `.manifest`, and is not
/// a Windows device name: it can be joined to a folder without escaping it.
///
/// ```
/// use statevault_backup::BackupId;
///
/// let id = BackupId::from_parts(1_764_130_500_123, 0x1a2b3c);
/// assert_eq!(id.as_str(), "20251126T041500123Z-1a2b3c");
/// assert_eq!(id.timestamp_ms(), Some(1_764_130_500_123));
/// assert_eq!("20251126T041500123Z-1a2b3c".parse::<BackupId>()?, id);
/// assert!("../store".parse::<BackupId>().is_err());
/// # Ok::<(), statevault_backup::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct BackupId(String);

impl BackupId {
    /// Validates `s` as an id (native or legacy).
    pub fn parse(s: &str) -> Result<BackupId, Error> {
        validate(s).map_err(|reason| Error::InvalidId {
            id: s.to_owned(),
            reason,
        })?;
        Ok(BackupId(s.to_owned()))
    }

    /// The native id for `time_ms` (clamped to the years 1970 to 9999) and the low 24 bits of
    /// `random`.
    pub fn from_parts(time_ms: u64, random: u32) -> BackupId {
        let time_ms = i64::try_from(time_ms.min(MAX_ID_TIME_MS)).expect("clamped above");
        let t = UNIX_EPOCH
            .checked_add(SignedDuration::from_millis(time_ms))
            .expect("1970 to 9999 lies within the range of a date");
        BackupId(format!(
            "{:04}{:02}{:02}T{:02}{:02}{:02}{:03}Z-{:06x}",
            t.year(),
            t.month(),
            t.day(),
            t.hour(),
            t.minute(),
            t.second(),
            t.millisecond(),
            random & 0xff_ffff
        ))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The time a native id carries, in milliseconds since the Unix epoch; `None` for a
    /// legacy id.
    pub fn timestamp_ms(&self) -> Option<u64> {
        native_time(&self.0)
    }

    /// Whether this is a native id (made by this crate), as opposed to a legacy file stem.
    pub fn is_native(&self) -> bool {
        self.timestamp_ms().is_some()
    }
}

/// The time of a native id, or `None` when `s` is not exactly one (checked by formatting the
/// time back, which rejects every out-of-range field, 30 February included).
fn native_time(s: &str) -> Option<u64> {
    let b = s.as_bytes();
    if b.len() != NATIVE_LEN || b[8] != b'T' || b[18] != b'Z' || b[19] != b'-' {
        return None;
    }
    let number = |range: std::ops::Range<usize>| -> Option<u64> {
        let part = &s[range];
        if part.bytes().all(|c| c.is_ascii_digit()) {
            part.parse().ok()
        } else {
            None
        }
    };
    let (year, month, day) = (number(0..4)?, number(4..6)?, number(6..8)?);
    let (h, m, sec, ms) = (
        number(9..11)?,
        number(11..13)?,
        number(13..15)?,
        number(15..18)?,
    );
    let random = &s[20..];
    if !random
        .bytes()
        .all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'))
    {
        return None;
    }
    if !(1970..=9999).contains(&year) {
        return None;
    }
    // Two decimal digits fit an `i8`, three (milliseconds) an `i32` of nanoseconds; a field out
    // of its calendar range (month 13, 30 February, hour 24) is refused here.
    let narrow = |n: u64| i8::try_from(n).ok();
    let datetime = DateTime::new(
        i16::try_from(year).ok()?,
        narrow(month)?,
        narrow(day)?,
        narrow(h)?,
        narrow(m)?,
        narrow(sec)?,
        i32::try_from(ms * 1_000_000).ok()?,
    )
    .ok()?;
    let time = u64::try_from(datetime.duration_since(UNIX_EPOCH).as_millis()).ok()?;
    let random = u32::from_str_radix(random, 16).ok()?;
    (BackupId::from_parts(time, random).0 == s).then_some(time)
}

fn validate(s: &str) -> Result<(), &'static str> {
    if s.is_empty() {
        return Err("an id may not be empty");
    }
    if s.len() > MAX_ID_LEN {
        return Err("an id is at most 128 bytes");
    }
    if !s
        .bytes()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, b' ' | b'.' | b'_' | b'-'))
    {
        return Err("an id holds only letters, digits, spaces, `.`, `_` and `-`");
    }
    if !s.as_bytes()[0].is_ascii_alphanumeric() {
        return Err("an id starts with a letter or digit");
    }
    if s.ends_with('.') || s.ends_with(' ') {
        return Err("an id may not end with a dot or a space");
    }
    if s.ends_with(".manifest") {
        return Err("an id may not end with `.manifest`");
    }
    let stem = s
        .split('.')
        .next()
        .unwrap_or(s)
        .trim_end()
        .to_ascii_lowercase();
    if WINDOWS_DEVICE_NAMES.contains(&stem.as_str()) {
        return Err("an id may not be a Windows device name");
    }
    Ok(())
}

impl fmt::Display for BackupId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for BackupId {
    type Err = Error;

    fn from_str(s: &str) -> Result<BackupId, Error> {
        BackupId::parse(s)
    }
}

impl TryFrom<String> for BackupId {
    type Error = Error;

    fn try_from(s: String) -> Result<BackupId, Error> {
        validate(&s).map_err(|reason| Error::InvalidId {
            id: s.clone(),
            reason,
        })?;
        Ok(BackupId(s))
    }
}

impl From<BackupId> for String {
    fn from(id: BackupId) -> String {
        id.0
    }
}

impl AsRef<str> for BackupId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// What made a backup, which decides its folder and its retention policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum BackupKind {
    /// Asked for by a person (`statevault backup create`); `backups/manual/`.
    Manual,
    /// Taken by the store itself, before a restore, a migration or an overwrite;
    /// `backups/auto/`.
    Auto,
    /// A full backup written by the earlier TypeScript service (`backups/manual/<id>.json`);
    /// read only, never pruned.
    Legacy,
}

impl BackupKind {
    /// The folder of this kind's manifests, relative to the store's root.
    pub(crate) fn folder(self) -> &'static str {
        match self {
            BackupKind::Manual | BackupKind::Legacy => "backups/manual",
            BackupKind::Auto => "backups/auto",
        }
    }

    /// The name used in manifests and listings.
    pub fn as_str(self) -> &'static str {
        match self {
            BackupKind::Manual => "manual",
            BackupKind::Auto => "auto",
            BackupKind::Legacy => "legacy",
        }
    }
}

impl fmt::Display for BackupKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn check(input: &str, valid: bool, native: Option<u64>) {
        let parsed = BackupId::parse(input);
        assert_eq!(parsed.is_ok(), valid, "{input:?}: {parsed:?}");
        if let Ok(id) = parsed {
            assert_eq!(id.timestamp_ms(), native, "{input:?}");
        }
    }

    #[test]
    fn ids_are_checked() {
        check("20251126T041500123Z-1a2b3c", true, Some(1_764_130_500_123));
        check("19700101T000000000Z-000000", true, Some(0));
        check("99991231T235959999Z-ffffff", true, Some(MAX_ID_TIME_MS));
        // Shaped like a native id but not one: a legacy-style name, valid, without a time.
        check("20250230T000000000Z-000000", true, None);
        check("20251126T041500123Z-1A2B3C", true, None);
        check("20251126T246000000Z-000000", true, None);
        check("backup_1759741200000", true, None);
        check("before update 2.0", true, None);
        check("a", true, None);
        check("", false, None);
        check("../etc", false, None);
        check("a/b", false, None);
        check("a\\b", false, None);
        check(".hidden", false, None);
        check("-flag", false, None);
        check("name.", false, None);
        check("name ", false, None);
        check("x.manifest", false, None);
        check("CON", false, None);
        check("nul.txt", false, None);
        check("a\0b", false, None);
        check("é", false, None);
        check(&"a".repeat(MAX_ID_LEN), true, None);
        check(&"a".repeat(MAX_ID_LEN + 1), false, None);
    }

    #[test]
    fn times_are_clamped_to_four_digit_years() {
        let id = BackupId::from_parts(u64::MAX, 0);
        assert_eq!(id.as_str(), "99991231T235959999Z-000000");
    }

    #[test]
    fn serde_validates() {
        let id: BackupId = serde_json::from_str("\"20251126T041500123Z-1a2b3c\"").unwrap();
        assert_eq!(
            serde_json::to_string(&id).unwrap(),
            "\"20251126T041500123Z-1a2b3c\""
        );
        assert!(serde_json::from_str::<BackupId>("\"../x\"").is_err());
    }

    proptest! {
        #[test]
        fn native_ids_round_trip(time in 0..=MAX_ID_TIME_MS, random in 0u32..0x100_0000) {
            let id = BackupId::from_parts(time, random);
            prop_assert_eq!(id.timestamp_ms(), Some(time));
            let parsed = BackupId::parse(id.as_str()).unwrap();
            prop_assert_eq!(&parsed, &id);
            prop_assert_eq!(parsed.as_str().len(), NATIVE_LEN);
        }

        #[test]
        fn native_ids_sort_in_time_order(a in 0..=MAX_ID_TIME_MS, b in 0..=MAX_ID_TIME_MS, r in 0u32..0x100_0000) {
            let (x, y) = (BackupId::from_parts(a, r), BackupId::from_parts(b, r));
            prop_assert_eq!(x.cmp(&y), a.cmp(&b));
        }

        #[test]
        fn parse_never_accepts_a_path(s in "[ -~]{0,40}") {
            if let Ok(id) = BackupId::parse(&s) {
                prop_assert!(!s.contains('/') && !s.contains('\\') && !s.starts_with('.'));
                let joined = std::path::Path::new("backups/manual").join(format!("{id}.json"));
                prop_assert_eq!(joined.components().count(), 3);
            }
        }
    }
}
