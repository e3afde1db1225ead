//! What makes the store's names, ids and sequence numbers unique: the wall clock and random
//! bits from the operating system.

use std::io;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::error::{Error, Result};

/// The time statevault records in what it writes (a store's `created_at`, a document's
/// `saved_at_ms`, an audit line, a backup's id), in milliseconds since the Unix epoch (0 for a
/// clock set before it).
///
/// Every layer takes its timestamps from here, so that the times of one store come from one
/// clock and compare with each other.
pub fn timestamp_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// 24 random bits from the operating system, for the part of an id that keeps two ids made in
/// the same millisecond apart (a backup's id, beside its [`timestamp_ms`]).
///
/// # Errors
/// [`Error::Io`] when the operating system gives no random bytes.
pub fn random_id_bits() -> Result<u32> {
    let hex = random_hex::<3>()?;
    Ok(u32::from_str_radix(&hex, 16).expect("random_hex gives hex digits"))
}

/// `N` random bytes from the operating system, in lower-case hex.
pub(crate) fn random_hex<const N: usize>() -> Result<String> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|e| {
        Error::io(
            "draw random bytes for",
            "a file name",
            io::Error::other(e.to_string()),
        )
    })?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Nanoseconds since the Unix epoch (the journal's sequence numbers start from it).
pub(crate) fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_id_bits_fit_in_24_bits() {
        for _ in 0..64 {
            assert!(random_id_bits().unwrap() < 1 << 24);
        }
    }
}
