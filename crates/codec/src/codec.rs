//! The public entry points: the dispatch on a file's first byte to its format.

use crate::envelope;
use crate::error::Error;
use crate::json;
use crate::keys::{DataKey, KeySet};
use crate::types::{Context, Decoded, EncodeOptions, Inspected, Limits, Meta};

/// Encodes one document.
///
/// `data` must be the JSON text of the document (the caller serializes). With neither compression nor
/// encryption the result is the plain format, which splices `data` in verbatim after checking it is a
/// single JSON value; otherwise it is the envelope, whose payload is `data` as given. `keys` is only
/// used for encryption, with its current key.
pub fn encode(
    data: &[u8],
    meta: &Meta,
    opts: &EncodeOptions,
    ctx: &Context<'_>,
    keys: Option<&KeySet>,
) -> Result<Vec<u8>, Error> {
    if opts.compression.is_none() && !opts.encrypt {
        json::encode_plain(data, meta)
    } else {
        envelope::encode(
            data,
            meta,
            opts.compression,
            encryption_key(opts, keys)?,
            ctx,
        )
    }
}

/// The key an encoding with `opts` encrypts with: the current key of `keys`, or none when
/// `opts` does not encrypt ([`Error::NoKey`] when it does and there are no keys).
fn encryption_key<'k>(
    opts: &EncodeOptions,
    keys: Option<&'k KeySet>,
) -> Result<Option<&'k DataKey>, Error> {
    if opts.encrypt {
        Ok(Some(keys.ok_or(Error::NoKey)?.current()))
    } else {
        Ok(None)
    }
}

/// [`encode`] taking the data by value, to spare the copy of it that [`encode`] makes.
///
/// The bytes written are exactly those [`encode`] writes for the same input (but the nonce of an
/// encrypted file, which is fresh every time). Without compression the file is built in `data`'s own
/// buffer: the header is moved in front of the data (one `memmove`; the buffer grows by exactly the
/// header and trailer only when its spare capacity does not already hold them) and the payload is
/// encrypted where it lies. Peak memory is thus `data`'s buffer, or twice the data for the moment of
/// that one reallocation; with compression it is `data` plus the compressed output, as with
/// [`encode`].
pub fn encode_owned(
    data: Vec<u8>,
    meta: &Meta,
    opts: &EncodeOptions,
    ctx: &Context<'_>,
    keys: Option<&KeySet>,
) -> Result<Vec<u8>, Error> {
    encode_owned_impl(data, meta, opts, ctx, keys, false)
}

/// [`encode_owned`] for data the caller vouches is exactly one JSON value, such as the output of
/// `serde_json::to_vec`: the plain format then skips the scan that checks it (about a fifth of the
/// time of a parse of the data), and only trims JSON whitespace around the data, so the bytes
/// written are the same as [`encode_owned`]'s. Envelopes never scan the data, so this differs from
/// [`encode_owned`] only for the plain format.
///
/// Passing anything else is not memory-unsafe but writes a plain file whose checksum covers bytes
/// that are not one JSON value: [`decode`] may then hand those bytes back as they are, or refuse the
/// file as [`Error::Corrupt`].
pub fn encode_owned_trusted(
    data: Vec<u8>,
    meta: &Meta,
    opts: &EncodeOptions,
    ctx: &Context<'_>,
    keys: Option<&KeySet>,
) -> Result<Vec<u8>, Error> {
    encode_owned_impl(data, meta, opts, ctx, keys, true)
}

fn encode_owned_impl(
    data: Vec<u8>,
    meta: &Meta,
    opts: &EncodeOptions,
    ctx: &Context<'_>,
    keys: Option<&KeySet>,
    trusted_json: bool,
) -> Result<Vec<u8>, Error> {
    if opts.compression.is_none() && !opts.encrypt {
        json::encode_plain_owned(data, meta, trusted_json)
    } else {
        let key = encryption_key(opts, keys)?;
        envelope::encode_owned(data, meta, opts.compression, key, ctx)
    }
}

/// Decodes one file of any format, picked by its first byte.
///
/// Damaged bytes are [`Error::Corrupt`]; intact bytes that fail to authenticate are [`Error::Decrypt`].
/// Decoding never panics and never allocates more than the input's size plus
/// [`Limits::max_inflated_bytes`].
pub fn decode(
    bytes: &[u8],
    ctx: &Context<'_>,
    keys: Option<&KeySet>,
    limits: &Limits,
) -> Result<Decoded, Error> {
    match classify(bytes)? {
        Kind::Json => json::decode(bytes),
        Kind::Envelope => envelope::decode(bytes, ctx, keys, limits),
    }
}

/// [`decode`] taking the file by value, to decode it in its own buffer: the same results and the same
/// errors, with fewer copies.
///
/// A plain or uncompressed file's data is moved to the front of the buffer and the rest cut off
/// (the returned `data` keeps the file's capacity); an encrypted payload is decrypted where it
/// lies. Only inflation allocates a second buffer, sized from the gzip trailer (see
/// [`Limits::max_inflated_bytes`]). On an error the buffer is dropped: to load keys only for files
/// that need them, ask [`needs_key`] first.
pub fn decode_owned(
    bytes: Vec<u8>,
    ctx: &Context<'_>,
    keys: Option<&KeySet>,
    limits: &Limits,
) -> Result<Decoded, Error> {
    match classify(&bytes)? {
        Kind::Json => json::decode_owned(bytes),
        Kind::Envelope => envelope::decode_owned(bytes, ctx, keys, limits),
    }
}

/// Whether decoding `bytes` needs keys: `true` exactly when they are an intact encrypted envelope,
/// that is when [`decode`] without keys would fail with [`Error::NoKey`] (in a build without the
/// `encryption` feature, with [`Error::FeatureDisabled`] whatever the keys). Every other file
/// (plain, legacy, unencrypted, damaged) decodes, or fails, the same way with or without keys.
///
/// It verifies the envelope's checksum (CRC-32C, far cheaper than decryption), so a damaged file is
/// reported as damage by the decode that follows, not as a key problem. Meant for callers that load
/// keys lazily and hand the file to [`decode_owned`], which cannot give the buffer back to retry.
pub fn needs_key(bytes: &[u8]) -> bool {
    matches!(classify(bytes), Ok(Kind::Envelope)) && envelope::needs_key(bytes)
}

/// Reads a file's header facts and verifies its checksum, without keys, decryption or inflation.
pub fn inspect(bytes: &[u8]) -> Result<Inspected, Error> {
    match classify(bytes)? {
        Kind::Json => json::inspect(bytes),
        Kind::Envelope => envelope::inspect(bytes),
    }
}

enum Kind {
    Json,
    Envelope,
}

/// The first byte decides the format; the damage most often left by crashes gets a precise message.
fn classify(bytes: &[u8]) -> Result<Kind, Error> {
    match bytes.first() {
        None => Err(Error::corrupt("the file is empty")),
        Some(b'{') => Ok(Kind::Json),
        Some(&b) if b == envelope::MAGIC[0] => Ok(Kind::Envelope),
        Some(0) if bytes.iter().all(|&b| b == 0) => Err(Error::corrupt(format!(
            "the file is {} NUL bytes (typical of a crash before the data reached the disk)",
            bytes.len()
        ))),
        Some(&b) => Err(Error::corrupt(format!(
            "unknown format: the first byte is 0x{b:02x}, neither `{{` nor the envelope magic"
        ))),
    }
}

/// The schema version a file declares, read from its first bytes only (no checksum, no keys):
/// enough to refuse overwriting a file written by a newer program without reading all of it.
/// `None` for a legacy file (always older than any statevault format), or when the prefix does
/// not show it.
pub fn peek_schema_version(prefix: &[u8]) -> Option<String> {
    match prefix.first()? {
        b'{' => {
            const MARKER: &[u8] = b"\"schema_version\":\"";
            if !prefix.starts_with(b"{\"statevault\":") {
                return None;
            }
            let start = prefix.windows(MARKER.len()).position(|w| w == MARKER)? + MARKER.len();
            let len = prefix[start..].iter().position(|&b| b == b'"')?;
            String::from_utf8(prefix[start..start + len].to_vec()).ok()
        }
        _ => envelope::peek_schema_version(prefix),
    }
}

#[cfg(all(test, feature = "compression", feature = "encryption"))]
mod peek_tests {
    use super::*;
    use crate::types::Compression;

    #[test]
    fn the_schema_version_is_read_from_a_prefix_of_every_format() {
        let meta = Meta {
            schema_version: "2.1.0".to_owned(),
            saved_at_ms: 1,
        };
        let ctx = Context {
            store_id: "s",
            key_name: "k.k",
        };
        let data = br#"{"big":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}"#;
        for compression in [None, Some(Compression::Fast)] {
            let opts = EncodeOptions {
                compression,
                encrypt: false,
            };
            let bytes = encode(data, &meta, &opts, &ctx, None).unwrap();
            let prefix = &bytes[..bytes.len().min(80)];
            assert_eq!(peek_schema_version(prefix).as_deref(), Some("2.1.0"));
        }
        let legacy = br#"{"version":"1.0.0","timestamp":1,"data":{}}"#;
        assert_eq!(peek_schema_version(legacy), None);
        assert_eq!(peek_schema_version(b""), None);
        assert_eq!(peek_schema_version(&MAGIC_PREFIX[..]), None);
    }

    const MAGIC_PREFIX: [u8; 8] = crate::envelope::MAGIC;
}
