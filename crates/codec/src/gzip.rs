//! gzip for the envelope's payload (the `compression` feature: flate2 on zlib-rs), and its
//! twin without the feature, which refuses with [`Error::FeatureDisabled`].

use crate::error::Error;
use crate::types::Compression;

/// The feature this module needs.
const FEATURE: &str = "compression";

/// Appends `data`, gzip-compressed at `level`, to `out`.
#[cfg(feature = "compression")]
pub(crate) fn compress_into(
    out: &mut Vec<u8>,
    data: &[u8],
    level: Compression,
) -> Result<(), Error> {
    use std::io::Write as _;
    let mut gz = flate2::write::GzEncoder::new(out, flate2::Compression::new(level.level()));
    gz.write_all(data)
        .and_then(|()| gz.try_finish())
        .expect("gzip into a Vec cannot fail");
    Ok(())
}

/// Without the `compression` feature nothing is compressed: asking is an error.
#[cfg(not(feature = "compression"))]
pub(crate) fn compress_into(
    _out: &mut Vec<u8>,
    _data: &[u8],
    _level: Compression,
) -> Result<(), Error> {
    Err(Error::FeatureDisabled { feature: FEATURE })
}

/// Whether compression can be asked for, checked before any work is done.
pub(crate) fn check_available() -> Result<(), Error> {
    if cfg!(feature = "compression") {
        Ok(())
    } else {
        Err(Error::FeatureDisabled { feature: FEATURE })
    }
}

/// Without the `compression` feature a compressed payload cannot be read: an error, never the
/// compressed bytes as data.
#[cfg(not(feature = "compression"))]
pub(crate) fn inflate(_gz: &[u8], _cap: u64) -> Result<Vec<u8>, Error> {
    Err(Error::FeatureDisabled { feature: FEATURE })
}

/// Deflate's largest expansion: a compressed byte never stands for more than 1032 output bytes.
#[cfg(feature = "compression")]
const MAX_INFLATE_RATIO: usize = 1032;

/// Inflates one gzip member, refusing to produce more than `cap` bytes.
///
/// The output buffer starts at the size the gzip trailer declares (`ISIZE`, the inflated length mod
/// 2^32), bounded by `cap` and by what `gz` can inflate to at deflate's largest ratio, so an honest
/// file is inflated into a buffer of exactly its size, never a doubled one. The trailer is only a
/// hint until flate2 checks it at the end of the stream, so it never decides more than this:
/// - a declared size of at least `cap` starts the buffer at `cap`: an honest file fills it and is
///   refused, a lying one costs at most `cap`; the buffer never grows;
/// - when the cap leaves no room for data of 4 GiB or more (whose `ISIZE` wraps), output past a
///   declared size below the cap is damage and refused at once: the buffer never grows;
/// - otherwise the buffer starts at no more than half the cap and grows with the data actually
///   produced, never past `cap`; once past half of the cap it goes straight to the cap, so the
///   last reallocation holds at most 1.5 × `cap` (old and new buffer) at once.
///
/// An initial size the allocator refuses is dropped, and the buffer grows with the data instead.
#[cfg(feature = "compression")]
pub(crate) fn inflate(gz: &[u8], cap: u64) -> Result<Vec<u8>, Error> {
    use std::io::Read as _;

    let cap_usize = usize::try_from(cap).unwrap_or(usize::MAX);
    let declared = gz
        .last_chunk::<4>()
        .map_or(0, |isize| u32::from_le_bytes(*isize));
    let possible = gz.len().saturating_mul(MAX_INFLATE_RATIO);
    let declared_usize = usize::try_from(declared).unwrap_or(usize::MAX);
    let clipped = declared_usize.min(cap_usize).min(possible);
    // Output past an unclipped declared size is only legitimate for data of 4 GiB or more, whose
    // trailer wrapped around; below such a cap it is damage (flate2 would refuse the trailer at the
    // end anyway).
    let strict = (clipped == declared_usize && cap < u64::from(declared) + (1 << 32))
        .then_some(declared_usize);
    // A buffer that may still have to grow starts at no more than half the cap, which keeps the last
    // reallocation within 1.5 × cap; one at the cap or the declared size never grows.
    let initial = if strict.is_some() || clipped == cap_usize {
        clipped
    } else {
        clipped.min(cap_usize / 2)
    };
    let mut out: Vec<u8> = Vec::new();
    // Refused: only the hint is lost, the loop below grows the buffer as needed.
    let _ = out.try_reserve_exact(initial);
    let mut decoder = flate2::bufread::GzDecoder::new(gz);
    let mut chunk = [0u8; 64 * 1024];
    loop {
        let n = decoder
            .read(&mut chunk)
            .map_err(|e| Error::corrupt(format!("bad gzip payload: {e}")))?;
        if n == 0 {
            break;
        }
        let total = (out.len() as u64).saturating_add(n as u64);
        if total > cap {
            return Err(Error::TooLarge { limit: cap });
        }
        if strict.is_some_and(|d| total > d as u64) {
            return Err(Error::corrupt(format!(
                "bad gzip payload: it inflates past the {declared} bytes its trailer declares"
            )));
        }
        if out.capacity() - out.len() < n {
            // Grow geometrically, but never beyond the cap; once past half of it, go straight to the
            // cap so the last reallocation holds at most 1.5 × cap (old and new buffer) at once.
            let doubled = out.capacity().saturating_mul(2).max(out.len() + n);
            let want = if doubled > cap_usize / 2 {
                cap_usize
            } else {
                doubled
            };
            out.reserve_exact(want - out.len());
        }
        out.extend_from_slice(&chunk[..n]);
    }
    let rest = decoder.into_inner();
    if !rest.is_empty() {
        return Err(Error::corrupt(format!(
            "{} bytes follow the gzip stream in the payload",
            rest.len()
        )));
    }
    Ok(out)
}

#[cfg(all(test, feature = "compression"))]
mod tests {
    use std::io::Write as _;

    use super::*;

    #[test]
    fn inflate_stops_at_the_cap_and_accepts_exactly_the_cap() {
        let data = vec![b'x'; 10_000];
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&data).unwrap();
        let gz = gz.finish().unwrap();
        assert_eq!(inflate(&gz, 10_000).unwrap(), data);
        assert!(matches!(
            inflate(&gz, 9_999),
            Err(Error::TooLarge { limit: 9_999 })
        ));
        assert!(matches!(inflate(&gz, 0), Err(Error::TooLarge { limit: 0 })));
        let mut trailing = gz.clone();
        trailing.push(0);
        assert!(matches!(
            inflate(&trailing, 10_000),
            Err(Error::Corrupt { .. })
        ));
        assert!(matches!(
            inflate(&gz[..gz.len() - 1], 10_000),
            Err(Error::Corrupt { .. })
        ));
    }

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(data).unwrap();
        gz.finish().unwrap()
    }

    fn with_isize(gz: &[u8], isize: u32) -> Vec<u8> {
        let mut gz = gz.to_vec();
        let n = gz.len();
        gz[n - 4..].copy_from_slice(&isize.to_le_bytes());
        gz
    }

    #[test]
    fn inflate_sizes_its_buffer_from_the_trailer() {
        for len in [0, 1, 1000, 64 * 1024, 64 * 1024 + 1, 300_000] {
            let data: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
            let out = inflate(&gzip(&data), 1 << 20).unwrap();
            assert_eq!(out, data);
            // Exactly the size: no doubling, no slack.
            assert_eq!(out.capacity(), len, "{len}");
        }
    }

    #[test]
    fn a_trailer_that_understates_the_size_is_damage() {
        let data = vec![b'y'; 200_000];
        let gz = gzip(&data);
        for declared in [0, 1, 65_535, 199_999] {
            let err = inflate(&with_isize(&gz, declared), 1 << 20).unwrap_err();
            assert!(
                matches!(&err, Error::Corrupt { detail } if detail.contains("declares")),
                "{declared}: {err:?}"
            );
        }
        // Past the cap first: the cap's error, as before.
        let err = inflate(&with_isize(&gz, 150_000), 100_000).unwrap_err();
        assert!(matches!(err, Error::TooLarge { limit: 100_000 }), "{err:?}");
    }

    #[test]
    fn a_trailer_that_overstates_the_size_is_refused_by_flate2() {
        let data = vec![b'z'; 5_000];
        let gz = gzip(&data);
        for declared in [5_001, 1 << 20, u32::MAX] {
            let err = inflate(&with_isize(&gz, declared), 1 << 30).unwrap_err();
            assert!(matches!(err, Error::Corrupt { .. }), "{declared}: {err:?}");
        }
    }

    #[test]
    fn a_cap_that_allows_4_gib_lets_the_buffer_grow_past_the_trailer() {
        // The data of a 4 GiB + n file would carry ISIZE = n; a cap of 4 GiB or more must not refuse
        // output past n as damage. Here the lie is real, so flate2 refuses it at the end instead.
        let data = vec![b'w'; 100_000];
        let gz = with_isize(&gzip(&data), 10);
        let err = inflate(&gz, 5 << 30).unwrap_err();
        assert!(
            matches!(&err, Error::Corrupt { detail } if !detail.contains("declares")),
            "{err:?}"
        );
        assert_eq!(inflate(&gzip(&data), 5 << 30).unwrap(), data);
    }
}
