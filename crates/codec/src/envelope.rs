//! The binary envelope: header, payload (gzip and/or AES-256-GCM-SIV), CRC-32C trailer.
//!
//! Layout of version 1 (all integers little-endian; `docs/file-format.md` uses the same names):
//!
//! | offset | size | name             | meaning                                              |
//! |-------:|-----:|------------------|------------------------------------------------------|
//! |      0 |    8 | `MAGIC`          | `89 53 56 4C 54 0D 0A 1A` (`\x89SVLT\r\n\x1a`)      |
//! |      8 |    2 | `VERSION`        | format version, 1                                    |
//! |     10 |    1 | `FLAGS`          | bit 0 compressed, bit 1 encrypted, others 0          |
//! |     11 |    1 | `RESERVED`       | 0                                                    |
//! |     12 |    8 | `SAVED_AT`       | milliseconds since the Unix epoch                    |
//! |     20 |    4 | `KEY_ID`         | key id, 0 when not encrypted                         |
//! |     24 |   12 | `NONCE`          | AES-GCM-SIV nonce, zero when not encrypted           |
//! |     36 |    8 | `PAYLOAD_LEN`    | payload length in bytes (with the 16-byte tag)       |
//! |     44 |    2 | `SCHEMA_LEN`     | length of the schema version in bytes                |
//! |     46 |    n | schema version   | UTF-8                                                |
//! |   46+n |    p | payload          |                                                      |
//! | 46+n+p |    4 | CRC-32C          | over bytes `0 .. 46+n+p`                             |

use std::borrow::Cow;
use std::io::{Read as _, Write as _};

use aes_gcm_siv::aead::{AeadInPlace, KeyInit};
use aes_gcm_siv::{Aes256GcmSiv, Nonce, Tag};

use crate::codec::{Compression, Context, Decoded, Format, Inspected, Limits, Meta};
use crate::error::Error;
use crate::json::check_schema_version;
use crate::keys::{DataKey, KeyId, KeySet};

/// The first eight bytes of every envelope. `0x89` is not valid as the first byte of JSON or of UTF-8
/// text, and the `\r\n\x1a` tail (as in PNG) reveals line-ending conversion and truncation by tools
/// that treat the file as text.
pub const MAGIC: [u8; 8] = *b"\x89SVLT\r\n\x1a";
/// The envelope format version this build writes and the newest it reads.
pub const VERSION: u16 = 1;

pub(crate) const OFF_MAGIC: usize = 0;
pub(crate) const OFF_VERSION: usize = 8;
pub(crate) const OFF_FLAGS: usize = 10;
pub(crate) const OFF_RESERVED: usize = 11;
pub(crate) const OFF_SAVED_AT: usize = 12;
pub(crate) const OFF_KEY_ID: usize = 20;
pub(crate) const OFF_NONCE: usize = 24;
pub(crate) const OFF_PAYLOAD_LEN: usize = 36;
pub(crate) const OFF_SCHEMA_LEN: usize = 44;
pub(crate) const OFF_SCHEMA: usize = 46;
/// The header's fixed part; the schema version follows it.
pub(crate) const FIXED_HEADER_LEN: usize = OFF_SCHEMA;
/// The CRC-32C trailer. Every envelope version ends with it, so damage is told apart from a future
/// version before the version field is trusted.
pub(crate) const TRAILER_LEN: usize = 4;
pub(crate) const NONCE_LEN: usize = 12;
pub(crate) const TAG_LEN: usize = 16;

pub(crate) const FLAG_COMPRESSED: u8 = 1 << 0;
pub(crate) const FLAG_ENCRYPTED: u8 = 1 << 1;
const KNOWN_FLAGS: u8 = FLAG_COMPRESSED | FLAG_ENCRYPTED;

/// The parsed header of an envelope whose checksum and lengths have been verified.
struct Header<'a> {
    flags: u8,
    saved_at: u64,
    key_id: u32,
    nonce: [u8; NONCE_LEN],
    schema_version: &'a str,
    /// Everything before the payload: the bytes the associated data starts with.
    header_bytes: &'a [u8],
    payload: &'a [u8],
}

impl Header<'_> {
    fn format(&self) -> Format {
        let encrypted = self.flags & FLAG_ENCRYPTED != 0;
        Format::Envelope {
            compressed: self.flags & FLAG_COMPRESSED != 0,
            encrypted,
            key_id: encrypted.then_some(KeyId(self.key_id)),
        }
    }

    fn meta(&self) -> Meta {
        Meta {
            schema_version: self.schema_version.to_string(),
            saved_at_ms: self.saved_at,
        }
    }
}

fn le_u16(b: &[u8], off: usize) -> u16 {
    u16::from_le_bytes(b[off..off + 2].try_into().expect("a 2-byte slice"))
}
fn le_u32(b: &[u8], off: usize) -> u32 {
    u32::from_le_bytes(b[off..off + 4].try_into().expect("a 4-byte slice"))
}
fn le_u64(b: &[u8], off: usize) -> u64 {
    u64::from_le_bytes(b[off..off + 8].try_into().expect("an 8-byte slice"))
}

/// Checks magic, length and checksum: the three things that hold in every version.
/// Returns the stored and computed CRCs.
fn check_frame(bytes: &[u8]) -> Result<(u32, u32), Error> {
    let magic_seen = &bytes[..bytes.len().min(MAGIC.len())];
    if magic_seen != &MAGIC[..magic_seen.len()] {
        return Err(Error::corrupt(format!(
            "bad envelope magic {magic_seen:02x?}, expected {MAGIC:02x?}"
        )));
    }
    if bytes.len() < FIXED_HEADER_LEN + TRAILER_LEN {
        return Err(Error::corrupt(format!(
            "truncated envelope: {} bytes, the smallest is {}",
            bytes.len(),
            FIXED_HEADER_LEN + TRAILER_LEN
        )));
    }
    let body_len = bytes.len() - TRAILER_LEN;
    let stored = le_u32(bytes, body_len);
    let computed = crc32c::crc32c(&bytes[..body_len]);
    Ok((stored, computed))
}

fn checksum_mismatch(stored: u32, computed: u32, len: usize) -> Error {
    Error::corrupt(format!(
        "envelope checksum mismatch: the trailer says {stored:08x}, the {} bytes before it hash to \
         {computed:08x} (damaged or truncated)",
        len - TRAILER_LEN
    ))
}

/// Parses and checks the header of a framed envelope (magic and minimum length already checked).
fn parse_header(bytes: &[u8]) -> Result<Header<'_>, Error> {
    debug_assert_eq!(&bytes[OFF_MAGIC..OFF_MAGIC + MAGIC.len()], &MAGIC);
    let version = le_u16(bytes, OFF_VERSION);
    if version == 0 {
        return Err(Error::corrupt("envelope version 0 does not exist"));
    }
    if version > VERSION {
        return Err(Error::UnsupportedVersion {
            found: u32::from(version),
            supported: u32::from(VERSION),
        });
    }
    let flags = bytes[OFF_FLAGS];
    if flags & !KNOWN_FLAGS != 0 {
        return Err(Error::corrupt(format!(
            "unknown envelope flags {flags:#04x}"
        )));
    }
    if bytes[OFF_RESERVED] != 0 {
        return Err(Error::corrupt(format!(
            "reserved header byte is {:#04x}, expected 0",
            bytes[OFF_RESERVED]
        )));
    }
    let saved_at = le_u64(bytes, OFF_SAVED_AT);
    let key_id = le_u32(bytes, OFF_KEY_ID);
    let nonce: [u8; NONCE_LEN] = bytes[OFF_NONCE..OFF_NONCE + NONCE_LEN]
        .try_into()
        .expect("a 12-byte slice");
    let payload_len = le_u64(bytes, OFF_PAYLOAD_LEN);
    let schema_len = usize::from(le_u16(bytes, OFF_SCHEMA_LEN));

    // Declared lengths are checked against the bytes actually present before anything is sliced or
    // allocated from them.
    let available = (bytes.len() - FIXED_HEADER_LEN - TRAILER_LEN) as u64;
    let declared = (schema_len as u64).checked_add(payload_len);
    if declared != Some(available) {
        return Err(Error::corrupt(format!(
            "envelope lengths disagree with the file: schema version {schema_len} + payload \
             {payload_len} bytes declared, {available} present"
        )));
    }
    let payload_start = OFF_SCHEMA + schema_len;
    let schema_version = std::str::from_utf8(&bytes[OFF_SCHEMA..payload_start])
        .map_err(|e| Error::corrupt(format!("the schema version is not UTF-8: {e}")))?;
    let payload = &bytes[payload_start..bytes.len() - TRAILER_LEN];

    let encrypted = flags & FLAG_ENCRYPTED != 0;
    if encrypted {
        if key_id == 0 {
            return Err(Error::corrupt("an encrypted envelope names key 0"));
        }
        if payload.len() < TAG_LEN {
            return Err(Error::corrupt(format!(
                "an encrypted payload of {} bytes cannot hold its {TAG_LEN}-byte tag",
                payload.len()
            )));
        }
    } else if key_id != 0 || nonce != [0; NONCE_LEN] {
        return Err(Error::corrupt(
            "an unencrypted envelope has a key id or nonce",
        ));
    }
    Ok(Header {
        flags,
        saved_at,
        key_id,
        nonce,
        schema_version,
        header_bytes: &bytes[..payload_start],
        payload,
    })
}

/// The associated data: the header bytes, then the store id and the key name, each prefixed with its
/// length (u32 LE) so that no two different (store, key) pairs give the same bytes.
fn associated_data(header: &[u8], ctx: &Context<'_>) -> Vec<u8> {
    let mut aad = Vec::with_capacity(header.len() + 8 + ctx.store_id.len() + ctx.key_name.len());
    aad.extend_from_slice(header);
    for part in [ctx.store_id, ctx.key_name] {
        let len = u32::try_from(part.len()).unwrap_or(u32::MAX);
        aad.extend_from_slice(&len.to_le_bytes());
        aad.extend_from_slice(part.as_bytes());
    }
    aad
}

fn cipher(key: &DataKey) -> Aes256GcmSiv {
    Aes256GcmSiv::new(key.bytes().into())
}

pub(crate) fn encode(
    data: &[u8],
    meta: &Meta,
    compression: Option<Compression>,
    key: Option<&DataKey>,
    ctx: &Context<'_>,
) -> Result<Vec<u8>, Error> {
    check_schema_version(&meta.schema_version)?;
    let schema = meta.schema_version.as_bytes();
    let schema_len = u16::try_from(schema.len()).expect("check_schema_version bounds it");
    let mut flags = 0;
    let mut nonce = [0u8; NONCE_LEN];
    if key.is_some() {
        flags |= FLAG_ENCRYPTED;
        getrandom::fill(&mut nonce).map_err(Error::Random)?;
    }
    if compression.is_some() {
        flags |= FLAG_COMPRESSED;
    }

    let payload_start = OFF_SCHEMA + schema.len();
    // Compressed output is written straight after the header; for raw data this is the exact size.
    let estimate = match compression {
        Some(_) => data.len() / 4,
        None => data.len(),
    };
    let mut out = Vec::with_capacity(payload_start + estimate + TAG_LEN + TRAILER_LEN);
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&VERSION.to_le_bytes());
    out.push(flags);
    out.push(0);
    out.extend_from_slice(&meta.saved_at_ms.to_le_bytes());
    out.extend_from_slice(&key.map_or(0, |k| k.id().0).to_le_bytes());
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&0u64.to_le_bytes()); // PAYLOAD_LEN, patched below.
    out.extend_from_slice(&schema_len.to_le_bytes());
    out.extend_from_slice(schema);
    debug_assert_eq!(out.len(), payload_start);

    match compression {
        Some(level) => {
            let mut gz =
                flate2::write::GzEncoder::new(&mut out, flate2::Compression::new(level.level()));
            gz.write_all(data)
                .and_then(|()| gz.try_finish())
                .expect("gzip into a Vec cannot fail");
        }
        None => out.extend_from_slice(data),
    }
    let mut payload_len = (out.len() - payload_start) as u64;
    if key.is_some() {
        payload_len += TAG_LEN as u64;
    }
    out[OFF_PAYLOAD_LEN..OFF_PAYLOAD_LEN + 8].copy_from_slice(&payload_len.to_le_bytes());

    if let Some(key) = key {
        let aad = associated_data(&out[..payload_start], ctx);
        let (_, plaintext) = out.split_at_mut(payload_start);
        let tag = cipher(key)
            .encrypt_in_place_detached(Nonce::from_slice(&nonce), &aad, plaintext)
            .map_err(|_| Error::InvalidInput {
                detail: "the payload is too large for AES-GCM-SIV (more than 64 GiB)".into(),
            })?;
        out.extend_from_slice(&tag);
    }
    let crc = crc32c::crc32c(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    Ok(out)
}

pub(crate) fn decode(
    bytes: &[u8],
    ctx: &Context<'_>,
    keys: Option<&KeySet>,
    limits: &Limits,
) -> Result<Decoded, Error> {
    let (stored, computed) = check_frame(bytes)?;
    if stored != computed {
        return Err(checksum_mismatch(stored, computed, bytes.len()));
    }
    let h = parse_header(bytes)?;
    let format = h.format();

    let plain: Cow<'_, [u8]> = if h.flags & FLAG_ENCRYPTED != 0 {
        let key_id = KeyId(h.key_id);
        let key = keys
            .ok_or(Error::NoKey)?
            .get(key_id)
            .ok_or(Error::UnknownKey { key_id })?;
        let (ciphertext, tag) = h.payload.split_at(h.payload.len() - TAG_LEN);
        let aad = associated_data(h.header_bytes, ctx);
        let mut buf = ciphertext.to_vec();
        cipher(key)
            .decrypt_in_place_detached(
                Nonce::from_slice(&h.nonce),
                &aad,
                &mut buf,
                Tag::from_slice(tag),
            )
            .map_err(|_| Error::Decrypt { key_id })?;
        Cow::Owned(buf)
    } else {
        Cow::Borrowed(h.payload)
    };

    let data = if h.flags & FLAG_COMPRESSED != 0 {
        inflate(&plain, limits.max_inflated_bytes)?
    } else {
        plain.into_owned()
    };
    Ok(Decoded {
        format,
        meta: h.meta(),
        data,
    })
}

/// The schema version in an envelope's header, from a prefix of the file.
pub(crate) fn peek_schema_version(prefix: &[u8]) -> Option<String> {
    if prefix.len() < OFF_SCHEMA || prefix[OFF_MAGIC..OFF_MAGIC + MAGIC.len()] != MAGIC {
        return None;
    }
    let len = usize::from(u16::from_le_bytes([
        prefix[OFF_SCHEMA_LEN],
        prefix[OFF_SCHEMA_LEN + 1],
    ]));
    let bytes = prefix.get(OFF_SCHEMA..OFF_SCHEMA + len)?;
    String::from_utf8(bytes.to_vec()).ok()
}

pub(crate) fn inspect(bytes: &[u8]) -> Result<Inspected, Error> {
    let (stored, computed) = check_frame(bytes)?;
    let h = match parse_header(bytes) {
        Ok(h) => h,
        // A header that does not parse under a bad checksum is damage, whatever it looks like.
        Err(_) if stored != computed => {
            return Err(checksum_mismatch(stored, computed, bytes.len()));
        }
        Err(e) => return Err(e),
    };
    Ok(Inspected {
        format: h.format(),
        meta: h.meta(),
        checksum_ok: Some(stored == computed),
        format_version: u32::from(le_u16(bytes, OFF_VERSION)),
        payload_len: h.payload.len() as u64,
    })
}

/// Inflates one gzip member, refusing to produce more than `cap` bytes. The output buffer grows with
/// the data actually produced (never from a declared size) and never past `cap`, so a bomb costs at
/// most `cap` bytes of buffer (1.5 × `cap` for the moment of the last reallocation) before it is
/// rejected.
fn inflate(gz: &[u8], cap: u64) -> Result<Vec<u8>, Error> {
    let cap_usize = usize::try_from(cap).unwrap_or(usize::MAX);
    let mut decoder = flate2::bufread::GzDecoder::new(gz);
    let mut out: Vec<u8> =
        Vec::with_capacity(gz.len().saturating_mul(4).min(cap_usize).min(1 << 20));
    let mut chunk = [0u8; 64 * 1024];
    loop {
        let n = decoder
            .read(&mut chunk)
            .map_err(|e| Error::corrupt(format!("bad gzip payload: {e}")))?;
        if n == 0 {
            break;
        }
        if (out.len() as u64).saturating_add(n as u64) > cap {
            return Err(Error::TooLarge { limit: cap });
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_follow_each_other() {
        assert_eq!(OFF_MAGIC + MAGIC.len(), OFF_VERSION);
        assert_eq!(OFF_VERSION + 2, OFF_FLAGS);
        assert_eq!(OFF_FLAGS + 1, OFF_RESERVED);
        assert_eq!(OFF_RESERVED + 1, OFF_SAVED_AT);
        assert_eq!(OFF_SAVED_AT + 8, OFF_KEY_ID);
        assert_eq!(OFF_KEY_ID + 4, OFF_NONCE);
        assert_eq!(OFF_NONCE + NONCE_LEN, OFF_PAYLOAD_LEN);
        assert_eq!(OFF_PAYLOAD_LEN + 8, OFF_SCHEMA_LEN);
        assert_eq!(OFF_SCHEMA_LEN + 2, OFF_SCHEMA);
    }

    #[test]
    fn magic_is_never_json_or_utf8_text() {
        assert!(serde_json::from_slice::<serde_json::Value>(&MAGIC).is_err());
        assert!(std::str::from_utf8(&MAGIC).is_err());
    }

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
}
