//! The two JSON formats: the plain format this codec writes, and the legacy format of the earlier
//! TypeScript service, which it only reads.

use std::io::Write as _;
use std::ops::Range;

use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;

use crate::error::Error;
use crate::types::{Decoded, Format, Inspected, Meta};

/// The value of the `statevault` field this build writes and reads.
pub(crate) const PLAIN_VERSION: u64 = 1;

/// The longest schema version either format accepts, in bytes.
pub const MAX_SCHEMA_VERSION_LEN: usize = 1024;

/// The prefix of the `checksum` field's value.
const CHECKSUM_PREFIX: &str = "crc32c:";

/// How every plain file this codec writes begins; the schema version's JSON string follows.
const PLAIN_PREFIX: &[u8] = b"{\"statevault\":1,\"schema_version\":";

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
    let data = one_json_value(data)?;
    let header = plain_header(meta, data);
    let mut out = Vec::with_capacity(header.len() + data.len() + 1);
    out.extend_from_slice(&header);
    out.extend_from_slice(data);
    // No trailing newline: then the closing brace is the last byte and every truncation breaks the
    // JSON, instead of the shortest one silently dropping only whitespace.
    out.push(b'}');
    Ok(out)
}

/// [`encode_plain`] in the data's own buffer: the header is written in front of the data (one
/// `memmove`) and the closing brace behind it, so the file costs no second buffer. When `trusted`,
/// the caller promises `data` is one JSON value (it comes straight from `serde_json`) and only its
/// surrounding whitespace is trimmed, without the scan; the bytes written are the same either way.
pub(crate) fn encode_plain_owned(
    mut data: Vec<u8>,
    meta: &Meta,
    trusted: bool,
) -> Result<Vec<u8>, Error> {
    check_schema_version(&meta.schema_version)?;
    let range = if trusted {
        trim_json_whitespace(&data)
    } else {
        let value = one_json_value(&data)?;
        range_within(&data, value).ok_or_else(|| Error::InvalidInput {
            detail: "the parsed data does not lie within the given buffer".into(),
        })?
    };
    let header = plain_header(meta, &data[range.clone()]);
    data.truncate(range.end);
    // Exactly what is missing: `reserve` could double a buffer that is nearly the whole file.
    let needed = (header.len() + 1).saturating_sub(range.start);
    data.reserve_exact(needed);
    let shift = header.len();
    if shift >= range.start {
        let grow = shift - range.start;
        let len = data.len();
        data.resize(len + grow, 0);
        data.copy_within(range.start..len, shift);
    } else {
        data.copy_within(range.start.., shift);
        data.truncate(data.len() - (range.start - shift));
    }
    data[..shift].copy_from_slice(&header);
    data.push(b'}');
    Ok(data)
}

/// The data itself, without surrounding whitespace, after checking that it is exactly one JSON value.
fn one_json_value(data: &[u8]) -> Result<&[u8], Error> {
    let raw: &RawValue = serde_json::from_slice(data).map_err(|e| Error::InvalidInput {
        detail: format!("the data is not one JSON value: {e}"),
    })?;
    Ok(raw.get().as_bytes())
}

/// Everything of a plain file before its data: `{"statevault":1,…,"data":`.
fn plain_header(meta: &Meta, data: &[u8]) -> Vec<u8> {
    let crc = plain_checksum(&meta.schema_version, meta.saved_at_ms, data);
    let mut out = Vec::with_capacity(meta.schema_version.len() + 128);
    out.extend_from_slice(PLAIN_PREFIX);
    serde_json::to_writer(&mut out, &meta.schema_version)
        .expect("serializing a string into a Vec cannot fail");
    write!(
        out,
        ",\"saved_at\":{},\"checksum\":\"{CHECKSUM_PREFIX}{crc:08x}\",\"data\":",
        meta.saved_at_ms
    )
    .expect("writing into a Vec cannot fail");
    out
}

/// The bytes of `data` without the JSON whitespace (space, tab, line feed, carriage return) around
/// them, which is what `RawValue` strips.
fn trim_json_whitespace(data: &[u8]) -> Range<usize> {
    let ws = |b: &u8| matches!(b, b' ' | b'\t' | b'\n' | b'\r');
    let start = data.iter().position(|b| !ws(b)).unwrap_or(data.len());
    let end = data.iter().rposition(|b| !ws(b)).map_or(start, |i| i + 1);
    start..end
}

/// Where `part`, a slice borrowed from `whole`, lies in it.
fn range_within(whole: &[u8], part: &[u8]) -> Option<Range<usize>> {
    let start = (part.as_ptr() as usize).checked_sub(whole.as_ptr() as usize)?;
    let end = start.checked_add(part.len())?;
    (end <= whole.len()).then_some(start..end)
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
struct Parsed {
    format: Format,
    meta: Meta,
    /// Where the data's bytes lie in the file.
    data: Range<usize>,
    /// `None` for legacy files; otherwise whether the checksum matches.
    checksum_ok: Option<bool>,
    /// `(declared, computed)` checksums, for the error message.
    checksums: Option<(String, u32)>,
}

fn parse(bytes: &[u8]) -> Result<Parsed, Error> {
    match parse_fast(bytes) {
        Some(p) => Ok(p),
        None => parse_general(bytes),
    }
}

/// The layout [`encode_plain`] writes, read without scanning the data: the four header fields in
/// their written order and spelling, then `data` up to the closing brace, which must be the last
/// byte. The data is not parsed: the checksum over it proves (against damage, like everywhere else
/// in the plain format) that it is the exact bytes written, which were one JSON value when they were
/// written. Returns `None` for any other layout and for a checksum that does not match, and the
/// general parser then decides, so errors and hand-edited files are handled exactly as before.
fn parse_fast(bytes: &[u8]) -> Option<Parsed> {
    let rest = bytes.strip_prefix(PLAIN_PREFIX)?;
    let quoted = json_string_len(rest)?;
    let schema_version: String = serde_json::from_slice(&rest[..quoted]).ok()?;
    let rest = rest[quoted..].strip_prefix(b",\"saved_at\":")?;
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    // JSON forbids leading zeros; `parse` refuses an empty string and overflow.
    if digits > 1 && rest[0] == b'0' {
        return None;
    }
    let saved_at: u64 = std::str::from_utf8(&rest[..digits]).ok()?.parse().ok()?;
    let rest = rest[digits..].strip_prefix(b",\"checksum\":\"crc32c:")?;
    let hex = rest.get(..8)?;
    if !hex.iter().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return None;
    }
    let declared = u32::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?;
    let rest = rest[8..].strip_prefix(b"\",\"data\":")?;
    if rest.len() < 2 || rest.last() != Some(&b'}') {
        return None;
    }
    let data = bytes.len() - rest.len()..bytes.len() - 1;
    let computed = plain_checksum(&schema_version, saved_at, &bytes[data.clone()]);
    (computed == declared).then_some(Parsed {
        format: Format::Plain,
        meta: Meta {
            schema_version,
            saved_at_ms: saved_at,
        },
        data,
        checksum_ok: Some(true),
        checksums: None,
    })
}

/// The length of the JSON string at the start of `bytes`, quotes included, or `None` when it does
/// not start with one or does not end. Escapes are only skipped here; `serde_json` checks them.
fn json_string_len(bytes: &[u8]) -> Option<usize> {
    if bytes.first() != Some(&b'"') {
        return None;
    }
    let mut i = 1;
    loop {
        match bytes.get(i)? {
            b'"' => return Some(i + 1),
            b'\\' => i += 2,
            _ => i += 1,
        }
    }
}

/// Any JSON file of either format, through `serde_json`: field order, whitespace and unknown fields
/// are free.
fn parse_general(bytes: &[u8]) -> Result<Parsed, Error> {
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
    // `data` is borrowed from `bytes` (a `&RawValue` cannot be anything else), so this always holds.
    let locate = |data: &RawValue| {
        range_within(bytes, data.get().as_bytes())
            .ok_or_else(|| Error::corrupt("the `data` field does not lie within the file"))
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
            let data = locate(fields.data.ok_or_else(|| missing("data", "plain"))?)?;
            let declared = checksum
                .strip_prefix(CHECKSUM_PREFIX)
                .filter(|h| h.len() == 8 && h.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
                .and_then(|h| u32::from_str_radix(h, 16).ok())
                .ok_or_else(|| {
                    Error::corrupt(format!(
                        "the checksum field {checksum:?} is not `crc32c:` and 8 lower-case hex digits"
                    ))
                })?;
            let computed = plain_checksum(&schema_version, saved_at, &bytes[data.clone()]);
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
            let data = locate(fields.data.ok_or_else(|| missing("data", "legacy"))?)?;
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

/// Parses a file and refuses it unless its checksum matches (legacy files have none).
fn parse_checked(bytes: &[u8]) -> Result<Parsed, Error> {
    let p = parse(bytes)?;
    if p.checksum_ok == Some(false) {
        return Err(Error::corrupt(match &p.checksums {
            Some((declared, computed)) => format!(
                "checksum mismatch: the file says {declared}, its contents hash to \
                 {CHECKSUM_PREFIX}{computed:08x}"
            ),
            None => "checksum mismatch".to_owned(),
        }));
    }
    Ok(p)
}

pub(crate) fn decode(bytes: &[u8]) -> Result<Decoded, Error> {
    let p = parse_checked(bytes)?;
    Ok(Decoded {
        format: p.format,
        meta: p.meta,
        data: bytes[p.data].to_vec(),
    })
}

/// [`decode`] in the file's own buffer: the data is moved to its front and the rest cut off.
pub(crate) fn decode_owned(mut bytes: Vec<u8>) -> Result<Decoded, Error> {
    let p = parse_checked(&bytes)?;
    bytes.truncate(p.data.end);
    bytes.drain(..p.data.start);
    Ok(Decoded {
        format: p.format,
        meta: p.meta,
        data: bytes,
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

    #[test]
    fn the_fast_path_reads_what_encode_plain_writes_and_nothing_else() {
        let versions = [
            "1.0.0",
            "",
            "a\"b\\c",
            "tab\there\u{1}",
            "ünï\u{1F600}",
            "\\",
        ];
        for version in versions {
            for data in [
                &b"null"[..],
                b"{}",
                b"[1,{\"a\":\"}\"}]",
                b"\"\\\"\"",
                b"-0.5e3",
            ] {
                for saved_at_ms in [0, 7, u64::MAX] {
                    let meta = Meta {
                        schema_version: version.into(),
                        saved_at_ms,
                    };
                    let bytes = encode_plain(data, &meta).unwrap();
                    let fast = parse_fast(&bytes).expect("the written layout");
                    let general = parse_general(&bytes).unwrap();
                    assert_eq!(fast.meta, meta);
                    assert_eq!(fast.meta, general.meta);
                    assert_eq!(fast.data, general.data);
                    assert_eq!(&bytes[fast.data.clone()], data);
                    assert_eq!((fast.format, fast.checksum_ok), (Format::Plain, Some(true)));
                }
            }
        }
        let good = String::from_utf8(encode_plain(b"[1]", &meta()).unwrap()).unwrap();
        // Every other layout is left to the general parser, which reads most of them.
        for other in [
            good.replace("{\"statevault\":1,", "{ \"statevault\":1,"),
            good.replace(",\"data\":", ", \"data\":"),
            good.replace(":[1]}", ": [1]}"),
            good.clone() + " ",
            good.clone() + "\n",
            good.replace("\"saved_at\":1", "\"saved_at\":01"),
            good.replace("\"saved_at\":1764126784000", "\"saved_at\":1764126784000.0"),
        ] {
            assert!(parse_fast(other.as_bytes()).is_none(), "{other}");
        }
        for readable in [
            good.replace("{\"statevault\":1,", "{ \"statevault\":1,"),
            good.replace(":[1]}", ": [1]}"),
            good.clone() + " \n",
        ] {
            check(&readable, Ok("[1]"));
        }
        // An escape in the version is another spelling of the same string, covered by the same
        // checksum: both parsers read it, alike.
        let escaped = good.replace("\"1.0.0\"", "\"1.0\\u002e0\"");
        let (fast, general) = (
            parse_fast(escaped.as_bytes()).unwrap(),
            parse_general(escaped.as_bytes()).unwrap(),
        );
        assert_eq!((&fast.meta, &fast.data), (&general.meta, &general.data));
        assert_eq!(fast.meta, meta());
        // Damage is never accepted by the fast path: it goes to the general one, which reports it.
        for damaged in [
            good.replace("[1]", "[2]"),
            good.replace("\"saved_at\":1", "\"saved_at\":2"),
            good.replace("\"1.0.0\"", "\"1.0.1\""),
            good[..good.len() - 1].to_owned(),
            good.replace("crc32c:", "crc32c:0"),
            good.replace("crc32c:", "CRC32C:"),
        ] {
            assert!(parse_fast(damaged.as_bytes()).is_none(), "{damaged}");
            assert!(decode(damaged.as_bytes()).is_err(), "{damaged}");
        }
    }

    #[test]
    fn json_strings_are_measured_through_their_escapes() {
        assert_eq!(json_string_len(br#""""#), Some(2));
        assert_eq!(json_string_len(br#""a\"b","#), Some(6));
        assert_eq!(json_string_len(br#""a\\"b"#), Some(5));
        assert_eq!(json_string_len(br#""\\\""#), None);
        assert_eq!(json_string_len(br#"x"a""#), None);
        assert_eq!(json_string_len(b"\"abc"), None);
        assert_eq!(json_string_len(b"\"\\"), None);
    }

    /// `check_owned(data)`: the owned encoder, trusted or not, writes exactly what `encode_plain`
    /// writes, whatever the buffer's spare capacity; and the owned decoder gives the data back.
    fn check_owned(data: &[u8]) {
        let expected = encode_plain(data, &meta()).unwrap();
        for trusted in [false, true] {
            for spare in [0, 1, 64, 4096] {
                let mut buf = Vec::with_capacity(data.len() + spare);
                buf.extend_from_slice(data);
                let out = encode_plain_owned(buf, &meta(), trusted).unwrap();
                assert_eq!(
                    out,
                    expected,
                    "{:?} trusted={trusted}",
                    String::from_utf8_lossy(data)
                );
                let back = decode_owned(out).unwrap();
                assert_eq!(back, decode(&expected).unwrap());
            }
        }
    }

    #[test]
    fn the_owned_encoder_writes_the_same_bytes() {
        check_owned(b"null");
        check_owned(b"{\"a\":[1,2,{\"b\":\"\\\"}\"}]}");
        check_owned(b" \t\r\n{\"padded\": true}\n\n");
        // More whitespace in front than the header is long: the data moves down, not up.
        let mut far = vec![b' '; 500];
        far.extend_from_slice(b"[\"far\"]");
        far.extend_from_slice(&[b'\n'; 300]);
        check_owned(&far);
        let err = encode_plain_owned(b"1 2".to_vec(), &meta(), false).unwrap_err();
        assert!(matches!(err, Error::InvalidInput { .. }), "{err:?}");
        let long = Meta {
            schema_version: "9".repeat(MAX_SCHEMA_VERSION_LEN + 1),
            saved_at_ms: 0,
        };
        for trusted in [false, true] {
            let err = encode_plain_owned(b"1".to_vec(), &long, trusted).unwrap_err();
            assert!(matches!(err, Error::InvalidInput { .. }), "{err:?}");
        }
    }

    #[test]
    fn json_whitespace_is_trimmed_like_raw_value_trims_it() {
        for (input, expected) in [
            (&b""[..], &b""[..]),
            (b"   ", b""),
            (b"1", b"1"),
            (b" \t\n\r\"x\" \r\n", b"\"x\""),
            // Not JSON whitespace: kept (and refused by the checked path).
            (b"\x0c1\x0b", b"\x0c1\x0b"),
        ] {
            assert_eq!(&input[trim_json_whitespace(input)], expected, "{input:?}");
        }
    }
}
