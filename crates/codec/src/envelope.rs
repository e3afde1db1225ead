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

use crate::aead::{self, NONCE_LEN, TAG_LEN};
use crate::error::Error;
use crate::gzip;
use crate::json::check_schema_version;
use crate::keys::{DataKey, KeySet};
use crate::types::KeyId;
use crate::types::{Compression, Context, Decoded, Format, Inspected, Limits, Meta};

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

pub(crate) fn encode(
    data: &[u8],
    meta: &Meta,
    compression: Option<Compression>,
    key: Option<&DataKey>,
    ctx: &Context<'_>,
) -> Result<Vec<u8>, Error> {
    let (mut out, nonce) = header(meta, compression, key)?;
    let payload_start = out.len();
    // Compressed output is written straight after the header; for raw data this is the exact size.
    let estimate = match compression {
        Some(_) => data.len() / 4,
        None => data.len(),
    };
    out.reserve_exact(estimate + TAG_LEN + TRAILER_LEN);
    match compression {
        Some(level) => gzip::compress_into(&mut out, data, level)?,
        None => out.extend_from_slice(data),
    }
    seal(out, payload_start, key, &nonce, ctx)
}

/// [`encode`] taking the data by value. Without compression the envelope is built in the data's
/// own buffer (the header shifted in front of it, the payload encrypted where it lies), so the file
/// costs no second buffer; compressed output needs its own buffer either way.
pub(crate) fn encode_owned(
    mut data: Vec<u8>,
    meta: &Meta,
    compression: Option<Compression>,
    key: Option<&DataKey>,
    ctx: &Context<'_>,
) -> Result<Vec<u8>, Error> {
    if compression.is_some() {
        return encode(&data, meta, compression, key, ctx);
    }
    let (header, nonce) = header(meta, None, key)?;
    let payload_start = header.len();
    let len = data.len();
    // Exactly what is missing: `reserve` could double a buffer that is nearly the whole file.
    data.reserve_exact(payload_start + TAG_LEN + TRAILER_LEN);
    data.resize(len + payload_start, 0);
    data.copy_within(..len, payload_start);
    data[..payload_start].copy_from_slice(&header);
    seal(data, payload_start, key, &nonce, ctx)
}

/// The header of a new envelope up to its payload, with `PAYLOAD_LEN` still 0, and its nonce (fresh
/// when encrypting, zero otherwise).
fn header(
    meta: &Meta,
    compression: Option<Compression>,
    key: Option<&DataKey>,
) -> Result<(Vec<u8>, [u8; NONCE_LEN]), Error> {
    check_schema_version(&meta.schema_version)?;
    let schema = meta.schema_version.as_bytes();
    let schema_len = u16::try_from(schema.len()).expect("check_schema_version bounds it");
    let mut flags = 0;
    let mut nonce = [0u8; NONCE_LEN];
    if key.is_some() {
        aead::check_available()?;
        flags |= FLAG_ENCRYPTED;
        getrandom::fill(&mut nonce).map_err(Error::Random)?;
    }
    if compression.is_some() {
        gzip::check_available()?;
        flags |= FLAG_COMPRESSED;
    }
    let payload_start = OFF_SCHEMA + schema.len();
    let mut out = Vec::with_capacity(payload_start);
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&VERSION.to_le_bytes());
    out.push(flags);
    out.push(0);
    out.extend_from_slice(&meta.saved_at_ms.to_le_bytes());
    out.extend_from_slice(&key.map_or(0, |k| k.id().0).to_le_bytes());
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&0u64.to_le_bytes()); // PAYLOAD_LEN, patched by `seal`.
    out.extend_from_slice(&schema_len.to_le_bytes());
    out.extend_from_slice(schema);
    debug_assert_eq!(out.len(), payload_start);
    Ok((out, nonce))
}

/// Finishes an envelope whose header and unencrypted payload are in `out`: patches the payload
/// length, encrypts the payload in place and appends its tag, then appends the CRC-32C trailer.
fn seal(
    mut out: Vec<u8>,
    payload_start: usize,
    key: Option<&DataKey>,
    nonce: &[u8; NONCE_LEN],
    ctx: &Context<'_>,
) -> Result<Vec<u8>, Error> {
    let mut payload_len = (out.len() - payload_start) as u64;
    if key.is_some() {
        payload_len += TAG_LEN as u64;
    }
    out[OFF_PAYLOAD_LEN..OFF_PAYLOAD_LEN + 8].copy_from_slice(&payload_len.to_le_bytes());

    if let Some(key) = key {
        let aad = associated_data(&out[..payload_start], ctx);
        let (_, plaintext) = out.split_at_mut(payload_start);
        let tag = aead::seal_in_place(key, nonce, &aad, plaintext)?;
        out.extend_from_slice(&tag);
    }
    let crc = crc32c::crc32c(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    Ok(out)
}

/// What decoding needs from a verified envelope, owned, so the file's buffer can be changed after.
struct Opened<'k> {
    format: Format,
    meta: Meta,
    compressed: bool,
    /// The payload's bytes in the file, without the tag when encrypted.
    body: std::ops::Range<usize>,
    /// The key, associated data, nonce and tag of an encrypted payload.
    crypt: Option<Crypt<'k>>,
}

struct Crypt<'k> {
    key: &'k DataKey,
    key_id: KeyId,
    aad: Vec<u8>,
    nonce: [u8; NONCE_LEN],
    tag: [u8; TAG_LEN],
}

impl Crypt<'_> {
    /// Decrypts `buf` (the ciphertext without its tag) in place.
    fn decrypt(&self, buf: &mut [u8]) -> Result<(), Error> {
        aead::open_in_place(self.key, &self.nonce, &self.aad, buf, &self.tag).map_err(|()| {
            Error::Decrypt {
                key_id: self.key_id,
            }
        })
    }
}

/// Verifies the checksum and header and finds the key: every check made before any payload byte is
/// decrypted or inflated.
fn open<'k>(
    bytes: &[u8],
    ctx: &Context<'_>,
    keys: Option<&'k KeySet>,
) -> Result<Opened<'k>, Error> {
    let (stored, computed) = check_frame(bytes)?;
    if stored != computed {
        return Err(checksum_mismatch(stored, computed, bytes.len()));
    }
    let h = parse_header(bytes)?;
    let payload_start = h.header_bytes.len();
    let mut body = payload_start..payload_start + h.payload.len();
    // A build without a layer says so before it asks for keys or reads the payload.
    if h.flags & FLAG_ENCRYPTED != 0 {
        aead::check_available()?;
    }
    if h.flags & FLAG_COMPRESSED != 0 {
        gzip::check_available()?;
    }
    let crypt = if h.flags & FLAG_ENCRYPTED != 0 {
        let key_id = KeyId(h.key_id);
        let key = keys
            .ok_or(Error::NoKey)?
            .get(key_id)
            .ok_or(Error::UnknownKey { key_id })?;
        body.end -= TAG_LEN;
        Some(Crypt {
            key,
            key_id,
            aad: associated_data(h.header_bytes, ctx),
            nonce: h.nonce,
            tag: bytes[body.end..body.end + TAG_LEN]
                .try_into()
                .expect("parse_header checked the tag is there"),
        })
    } else {
        None
    };
    Ok(Opened {
        format: h.format(),
        meta: h.meta(),
        compressed: h.flags & FLAG_COMPRESSED != 0,
        body,
        crypt,
    })
}

pub(crate) fn decode(
    bytes: &[u8],
    ctx: &Context<'_>,
    keys: Option<&KeySet>,
    limits: &Limits,
) -> Result<Decoded, Error> {
    let o = open(bytes, ctx, keys)?;
    let body = &bytes[o.body];
    let plain: Cow<'_, [u8]> = match &o.crypt {
        Some(crypt) => {
            let mut buf = body.to_vec();
            crypt.decrypt(&mut buf)?;
            Cow::Owned(buf)
        }
        None => Cow::Borrowed(body),
    };
    let data = if o.compressed {
        gzip::inflate(&plain, limits.max_inflated_bytes)?
    } else {
        plain.into_owned()
    };
    Ok(Decoded {
        format: o.format,
        meta: o.meta,
        data,
    })
}

/// [`decode`] in the file's own buffer: the ciphertext is decrypted where it lies, and uncompressed
/// data is moved to the buffer's front; only inflation needs a second buffer.
pub(crate) fn decode_owned(
    mut bytes: Vec<u8>,
    ctx: &Context<'_>,
    keys: Option<&KeySet>,
    limits: &Limits,
) -> Result<Decoded, Error> {
    let o = open(&bytes, ctx, keys)?;
    if let Some(crypt) = &o.crypt {
        crypt.decrypt(&mut bytes[o.body.clone()])?;
    }
    let data = if o.compressed {
        gzip::inflate(&bytes[o.body], limits.max_inflated_bytes)?
    } else {
        bytes.truncate(o.body.end);
        bytes.drain(..o.body.start);
        bytes
    };
    Ok(Decoded {
        format: o.format,
        meta: o.meta,
        data,
    })
}

/// Whether `bytes` are an intact encrypted envelope: exactly the files that [`decode`] without keys
/// refuses with [`Error::NoKey`].
pub(crate) fn needs_key(bytes: &[u8]) -> bool {
    matches!(check_frame(bytes), Ok((stored, computed)) if stored == computed)
        && parse_header(bytes).is_ok_and(|h| h.flags & FLAG_ENCRYPTED != 0)
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

    #[cfg(all(feature = "compression", feature = "encryption"))]
    #[test]
    fn owned_decoding_matches_borrowed_decoding_for_every_envelope() {
        let keys =
            KeySet::single(DataKey::new(KeyId(3), zeroize::Zeroizing::new([5; 32])).unwrap());
        let ctx = Context {
            store_id: "s",
            key_name: "k.k",
        };
        let meta = Meta {
            schema_version: "3.0.0".into(),
            saved_at_ms: 99,
        };
        let data = br#"{"a":[1,2,3],"b":"ccccccccccccccccccccccccccccccc"}"#;
        for compression in [None, Some(Compression::Fast)] {
            for key in [None, Some(keys.current())] {
                let file = encode(data, &meta, compression, key, &ctx).unwrap();
                let owned = encode_owned(data.to_vec(), &meta, compression, key, &ctx).unwrap();
                assert_eq!(owned.len(), file.len());
                if key.is_none() {
                    assert_eq!(owned, file);
                }
                for bytes in [file, owned] {
                    let limits = Limits::default();
                    let borrowed = decode(&bytes, &ctx, Some(&keys), &limits).unwrap();
                    let moved = decode_owned(bytes.clone(), &ctx, Some(&keys), &limits).unwrap();
                    assert_eq!(borrowed, moved);
                    assert_eq!(moved.data, data);
                    assert_eq!(needs_key(&bytes), key.is_some());
                }
            }
        }
    }
}
