//! The two JSON formats: the plain format this codec writes, and the legacy format of the earlier
//! TypeScript service, which it only reads.

use std::io::Write as _;

use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;

use crate::codec::{Decoded, Format, Inspected, Meta};
use crate::error::Error;

/// The value of the `statevault` field this build writes and reads.
pub(crate) const PLAIN_VERSION: u64 = 1;

/// The longest schema version either format accepts, in bytes.
pub const MAX_SCHEMA_VERSION_LEN: usize = 1024;

/// The prefix of the `checksum` field's value.
const CHECKSUM_PREFIX: &str = "crc32c:";

/// CRC-32C over the covered byte string of the plain format:
/// `u32 LE byte length of schema_version ‖ schema_version (UTF-8) ‖ saved_at (u64 LE) ‖ data bytes`.
/// The length prefix makes the split between the fields unambiguous whatever the version holds.
pub(crate) fn plain_checksum(schema_version: &str, saved_at: u64, data: &[u8]) -> u32 {
    let len = u32::try_from(schema_version.len()).expect("schema versions are at most 1 KiB");
    let mut crc = crc32c::crc32c(&len.to_le_bytes());
    crc = crc32c::crc32c_append(crc, schema_version.as_bytes());
    crc = crc32c::crc32c_append(crc, &saved_at.to_le_bytes());
    crc32c::crc32c_append(crc, data)
}

pub(crate) fn check_schema_version(v: &str) -> Result<(), Error> {
    if v.len() > MAX_SCHEMA_VERSION_LEN {
        return Err(Error::InvalidInput {
            detail: format!(
                "the schema version is {} bytes long, the limit is {MAX_SCHEMA_VERSION_LEN}",
                v.len()
            ),
        });
    }
    Ok(())
}

/// Writes `{"statevault":1,"schema_version":…,"saved_at":…,"checksum":"crc32c:…","data":…}`,
/// splicing `data` in verbatim (minus surrounding whitespace) after checking that it is exactly one
/// JSON value: anything else could break, or forge, the structure around it.
pub(crate) fn encode_plain(data: &[u8], meta: &Meta) -> Result<Vec<u8>, Error> {
    check_schema_version(&meta.schema_version)?;
    let raw: &RawValue = serde_json::from_slice(data).map_err(|e| Error::InvalidInput {
        detail: format!("the data is not one JSON value: {e}"),
    })?;
    let data = raw.get().as_bytes();
    let crc = plain_checksum(&meta.schema_version, meta.saved_at_ms, data);
    let mut out = Vec::with_capacity(data.len() + meta.schema_version.len() + 128);
    out.extend_from_slice(b"{\"statevault\":1,\"schema_version\":");
    serde_json::to_writer(&mut out, &meta.schema_version)
        .expect("serializing a string into a Vec cannot fail");
    write!(
        out,
        ",\"saved_at\":{},\"checksum\":\"{CHECKSUM_PREFIX}{crc:08x}\",\"data\":",
        meta.saved_at_ms
    )
    .expect("writing into a Vec cannot fail");
    out.extend_from_slice(data);
    // No trailing newline: then the closing brace is the last byte and every truncation breaks the
    // JSON, instead of the shortest one silently dropping only whitespace.
    out.push(b'}');
    Ok(out)
}

/// Every top-level field either JSON format may have. Unknown fields are ignored: they are not
/// covered by the checksum, so they cannot change what is decoded.
#[derive(Deserialize)]
struct Fields<'a> {
    #[serde(default)]
    statevault: Option<u64>,
    #[serde(default)]
    schema_version: Option<String>,
    #[serde(default)]
    saved_at: Option<u64>,
    #[serde(default)]
    checksum: Option<String>,
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    timestamp: Option<u64>,
    // `Option<&RawValue>` would turn a `null` document into a missing field.
    #[serde(default, borrow, deserialize_with = "present")]
    data: Option<&'a RawValue>,
}

fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<&'de RawValue>, D::Error> {
    <&RawValue>::deserialize(d).map(Some)
}

/// A parsed JSON file of either kind.
struct Parsed<'a> {
    format: Format,
    meta: Meta,
    data: &'a [u8],
    /// `None` for legacy files; otherwise whether the checksum matches.
    checksum_ok: Option<bool>,
    /// `(declared, computed)` checksums, for the error message.
    checksums: Option<(String, u32)>,
}

fn parse(bytes: &[u8]) -> Result<Parsed<'_>, Error> {
    let fields: Fields<'_> = serde_json::from_slice(bytes).map_err(|e| {
        use serde_json::error::Category;
        let what = match e.classify() {
            Category::Eof => "truncated JSON",
            Category::Syntax => "malformed JSON",
            Category::Data | Category::Io => "unexpected JSON content",
        };
        Error::corrupt(format!("{what}: {e}"))
    })?;
    let missing = |field: &str, format: &str| {
        Error::corrupt(format!("the {format} file has no `{field}` field"))
    };
    match fields.statevault {
        Some(PLAIN_VERSION) => {
            let schema_version = fields
                .schema_version
                .ok_or_else(|| missing("schema_version", "plain"))?;
            let saved_at = fields
                .saved_at
                .ok_or_else(|| missing("saved_at", "plain"))?;
            let checksum = fields
                .checksum
                .ok_or_else(|| missing("checksum", "plain"))?;
            let data = fields
                .data
                .ok_or_else(|| missing("data", "plain"))?
                .get()
                .as_bytes();
            let declared = checksum
                .strip_prefix(CHECKSUM_PREFIX)
                .filter(|h| h.len() == 8 && h.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
                .and_then(|h| u32::from_str_radix(h, 16).ok())
                .ok_or_else(|| {
                    Error::corrupt(format!(
                        "the checksum field {checksum:?} is not `crc32c:` and 8 lower-case hex digits"
                    ))
                })?;
            let computed = plain_checksum(&schema_version, saved_at, data);
            Ok(Parsed {
                format: Format::Plain,
                meta: Meta {
                    schema_version,
                    saved_at_ms: saved_at,
                },
                data,
                checksum_ok: Some(declared == computed),
                checksums: Some((checksum, computed)),
            })
        }
        Some(found) => Err(Error::UnsupportedVersion {
            found: u32::try_from(found).unwrap_or(u32::MAX),
            supported: PLAIN_VERSION as u32,
        }),
        None if fields.version.is_some() || fields.timestamp.is_some() => {
            let version = fields.version.ok_or_else(|| missing("version", "legacy"))?;
            let timestamp = fields
                .timestamp
                .ok_or_else(|| missing("timestamp", "legacy"))?;
            let data = fields
                .data
                .ok_or_else(|| missing("data", "legacy"))?
                .get()
                .as_bytes();
            Ok(Parsed {
                format: Format::Legacy,
                meta: Meta {
                    schema_version: version,
                    saved_at_ms: timestamp,
                },
                data,
                checksum_ok: None,
                checksums: None,
            })
        }
        None => Err(Error::corrupt(
            "a JSON file with neither a `statevault` field (plain format) nor `version` and \
             `timestamp` fields (legacy format)",
        )),
    }
}

pub(crate) fn decode(bytes: &[u8]) -> Result<Decoded, Error> {
    let p = parse(bytes)?;
    if p.checksum_ok == Some(false) {
        let (declared, computed) = p.checksums.expect("plain files carry their checksums");
        return Err(Error::corrupt(format!(
            "checksum mismatch: the file says {declared}, its contents hash to \
             {CHECKSUM_PREFIX}{computed:08x}"
        )));
    }
    Ok(Decoded {
        format: p.format,
        meta: p.meta,
        data: p.data.to_vec(),
    })
}

pub(crate) fn inspect(bytes: &[u8]) -> Result<Inspected, Error> {
    let p = parse(bytes)?;
    Ok(Inspected {
        format_version: if p.format == Format::Plain {
            PLAIN_VERSION as u32
        } else {
            0
        },
        format: p.format,
        meta: p.meta,
        checksum_ok: p.checksum_ok,
        payload_len: p.data.len() as u64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta() -> Meta {
        Meta {
            schema_version: "1.0.0".into(),
            saved_at_ms: 1_764_126_784_000,
        }
    }

    #[test]
    fn plain_output_is_exactly_the_documented_line() {
        let out = encode_plain(br#" {"a": [1, 2]} "#, &meta()).unwrap();
        let crc = plain_checksum("1.0.0", 1_764_126_784_000, br#"{"a": [1, 2]}"#);
        let expected = format!(
            "{{\"statevault\":1,\"schema_version\":\"1.0.0\",\"saved_at\":1764126784000,\
             \"checksum\":\"crc32c:{crc:08x}\",\"data\":{{\"a\": [1, 2]}}}}"
        );
        assert_eq!(String::from_utf8(out).unwrap(), expected);
    }

    #[test]
    fn covered_bytes_are_length_prefixed_version_le_time_and_data() {
        // The documented byte string, spelled out, for a reader re-implementing the format.
        let mut covered = Vec::new();
        covered.extend_from_slice(&5u32.to_le_bytes());
        covered.extend_from_slice(b"1.0.0");
        covered.extend_from_slice(&1_764_126_784_000u64.to_le_bytes());
        covered.extend_from_slice(b"{}");
        assert_eq!(
            plain_checksum("1.0.0", 1_764_126_784_000, b"{}"),
            crc32c::crc32c(&covered)
        );
    }

    /// `check(input, expected)`: `Ok(data)` or a fragment of the corruption detail.
    fn check(input: &str, expected: Result<&str, &str>) {
        match (decode(input.as_bytes()), expected) {
            (Ok(d), Ok(data)) => assert_eq!(std::str::from_utf8(&d.data).unwrap(), data, "{input}"),
            (Err(Error::Corrupt { detail }), Err(fragment)) => {
                assert!(
                    detail.contains(fragment),
                    "{input}: {detail:?} lacks {fragment:?}"
                )
            }
            (got, expected) => panic!("{input}: got {got:?}, expected {expected:?}"),
        }
    }

    #[test]
    fn json_decoding_rules() {
        let good = String::from_utf8(encode_plain(b"null", &meta()).unwrap()).unwrap();
        check(&good, Ok("null"));
        // Whitespace and key order outside `data` are not covered and are tolerated.
        let reordered = good
            .replace("{\"statevault\":1,", "{ \"statevault\" : 1 ,\n")
            .replace(",\"data\":null}", ", \"data\" :\tnull , \"extra\": 1 }");
        check(&reordered, Ok("null"));
        check(&good[..good.len() - 3], Err("truncated JSON"));
        check(&good.replace("crc32c:", "crc32:"), Err("8 lower-case hex"));
        check(
            &good.replace("\"data\":null", "\"data\":0"),
            Err("checksum mismatch"),
        );
        check(
            &good.replace("\"saved_at\":1", "\"saved_at\":2"),
            Err("checksum mismatch"),
        );
        check(&good.replace(",\"data\":null", ""), Err("no `data` field"));
        check(
            &good.replace("\"checksum\"", "\"checksun\""),
            Err("no `checksum` field"),
        );
        check("{}", Err("neither a `statevault` field"));
        check(
            "{\"version\":\"1.0.0\",\"data\":1}",
            Err("no `timestamp` field"),
        );
        check(
            "{\"version\":\"1.0.0\",\"timestamp\":-1,\"data\":1}",
            Err("unexpected JSON"),
        );
        check("{\"a\":1,}", Err("malformed JSON"));
        check(
            "{\"version\":\"1\",\"timestamp\":1,\"data\":1} x",
            Err("malformed JSON"),
        );
        check(
            "{\n  \"version\": \"1.0.0\",\n  \"timestamp\": 5,\n  \"data\": {\n    \"a\": 1\n  }\n}",
            Ok("{\n    \"a\": 1\n  }"),
        );
    }

    #[test]
    fn a_future_plain_version_is_unsupported_not_corrupt() {
        let err = decode(br#"{"statevault":2,"whatever":true}"#).unwrap_err();
        assert!(
            matches!(
                err,
                Error::UnsupportedVersion {
                    found: 2,
                    supported: 1
                }
            ),
            "{err:?}"
        );
    }

    #[test]
    fn data_that_is_not_one_json_value_is_refused_on_encode() {
        for bad in [
            &b""[..],
            b"{",
            b"1 2",
            b"{\"a\":1},\"checksum\":\"x\"",
            b"\"\xff\"",
        ] {
            let err = encode_plain(bad, &meta()).unwrap_err();
            assert!(
                matches!(err, Error::InvalidInput { .. }),
                "{bad:?}: {err:?}"
            );
        }
    }
}
