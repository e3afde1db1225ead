//! Journal records: the redo log of one batch in flight (DESIGN §5).
//!
//! The byte layout is documented in `docs/file-format.md` ("Journal record, version 1"); the
//! offset constants below carry the names that document uses. A record names its targets by
//! [`Key`] and its temp files by bare file names in the key's folder, never by paths, so a
//! damaged or hostile record cannot make recovery rename or delete anything outside the keys'
//! own files.

use crate::key::Key;
use crate::storage::is_temp_name;

/// `\x89SVJRNL\n`: a byte that is not ASCII first, so no text file is mistaken for a record.
pub(crate) const MAGIC: [u8; 8] = *b"\x89SVJRNL\n";
/// The record format this build writes and reads.
pub(crate) const VERSION: u16 = 1;

const OFF_MAGIC: usize = 0;
const OFF_VERSION: usize = 8;
const OFF_RESERVED: usize = 10;
const OFF_SEQUENCE: usize = 12;
const OFF_COUNT: usize = 20;
const OFF_OPS: usize = 24;
const TRAILER_LEN: usize = 4;

const KIND_PUT: u8 = 1;
const KIND_DELETE: u8 = 2;

/// The file-name suffix of a complete record in `.statevault/journal/`.
pub(crate) const RECORD_SUFFIX: &str = ".rec";
/// The suffix a record is renamed to when recovery cannot replay it (kept for inspection).
pub(crate) const DAMAGED_SUFFIX: &str = ".rec.damaged";

/// One operation of a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RecordOp {
    /// Rename the temp file `temp` (in the key's folder) over the key's file; the new value is
    /// `len` bytes with CRC-32C `crc`.
    Put {
        key: Key,
        temp: String,
        len: u64,
        crc: u32,
    },
    /// Remove the key's file.
    Delete { key: Key },
}

impl RecordOp {
    pub(crate) fn key(&self) -> &Key {
        match self {
            RecordOp::Put { key, .. } | RecordOp::Delete { key } => key,
        }
    }
}

/// A decoded journal record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Record {
    pub(crate) sequence: u64,
    pub(crate) ops: Vec<RecordOp>,
}

impl Record {
    /// The record's bytes, trailer included.
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(OFF_OPS + self.ops.len() * 64 + TRAILER_LEN);
        out.extend_from_slice(&MAGIC);
        out.extend_from_slice(&VERSION.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(&self.sequence.to_le_bytes());
        let count = u32::try_from(self.ops.len()).expect("a batch has fewer than 2^32 operations");
        out.extend_from_slice(&count.to_le_bytes());
        debug_assert_eq!(out.len(), OFF_OPS);
        for op in &self.ops {
            match op {
                RecordOp::Put {
                    key,
                    temp,
                    len,
                    crc,
                } => {
                    out.push(KIND_PUT);
                    push_short(&mut out, key.as_str());
                    push_short(&mut out, temp);
                    out.extend_from_slice(&len.to_le_bytes());
                    out.extend_from_slice(&crc.to_le_bytes());
                }
                RecordOp::Delete { key } => {
                    out.push(KIND_DELETE);
                    push_short(&mut out, key.as_str());
                }
            }
        }
        let crc = crc32c::crc32c(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        out
    }

    /// Decodes and checks a record; the error says what is wrong. Never panics.
    pub(crate) fn decode(bytes: &[u8]) -> Result<Record, String> {
        if bytes.len() < OFF_OPS + TRAILER_LEN {
            return Err(format!(
                "truncated: {} bytes, a record has at least {}",
                bytes.len(),
                OFF_OPS + TRAILER_LEN
            ));
        }
        if bytes[OFF_MAGIC..OFF_VERSION] != MAGIC {
            return Err("not a journal record (bad magic bytes)".into());
        }
        let (body, trailer) = bytes.split_at(bytes.len() - TRAILER_LEN);
        let stored = u32::from_le_bytes(trailer.try_into().expect("4 bytes"));
        let computed = crc32c::crc32c(body);
        if stored != computed {
            return Err(format!(
                "checksum mismatch: stored {stored:08x}, computed {computed:08x} (torn or damaged)"
            ));
        }
        let mut r = Reader { bytes: body, at: 0 };
        r.at = OFF_VERSION;
        let version = r.u16()?;
        if version != VERSION {
            return Err(format!(
                "record version {version}, this build reads {VERSION}"
            ));
        }
        debug_assert_eq!(r.at, OFF_RESERVED);
        if r.u16()? != 0 {
            return Err("reserved bytes are not zero".into());
        }
        debug_assert_eq!(r.at, OFF_SEQUENCE);
        let sequence = r.u64()?;
        debug_assert_eq!(r.at, OFF_COUNT);
        let count = r.u32()?;
        if count == 0 {
            return Err("a record with no operations".into());
        }
        // Each operation takes at least 3 bytes; refuse a count the body cannot hold before
        // reserving memory for it.
        if u64::from(count) * 3 > (body.len() - OFF_OPS) as u64 {
            return Err(format!("{count} operations cannot fit in the record"));
        }
        let mut ops = Vec::with_capacity(count as usize);
        let mut keys = std::collections::HashSet::new();
        for index in 0..count {
            let kind = r.u8()?;
            let key_text = r.short()?;
            let key = Key::parse(key_text)
                .map_err(|e| format!("operation {index}: invalid key {key_text:?}: {e}"))?;
            let op = match kind {
                KIND_PUT => {
                    let temp = r.short()?.to_owned();
                    if !temp_belongs_to(&temp, &key) {
                        return Err(format!(
                            "operation {index}: {temp:?} is not a temp file of key {key}"
                        ));
                    }
                    let len = r.u64()?;
                    let crc = r.u32()?;
                    RecordOp::Put {
                        key,
                        temp,
                        len,
                        crc,
                    }
                }
                KIND_DELETE => RecordOp::Delete { key },
                other => return Err(format!("operation {index}: unknown kind {other}")),
            };
            if !keys.insert(op.key().clone()) {
                return Err(format!("operation {index}: key {} appears twice", op.key()));
            }
            ops.push(op);
        }
        if r.at != body.len() {
            return Err(format!(
                "{} unexpected bytes after the last operation",
                body.len() - r.at
            ));
        }
        Ok(Record { sequence, ops })
    }
}

/// A temp file of `key`: `.<file>.<16 hex>.tmp` where `<file>` is the key's file name. The
/// check keeps a record from renaming any other file (another key's temp, a backup object).
pub(crate) fn temp_belongs_to(temp: &str, key: &Key) -> bool {
    let path = key.relative_path();
    let Some(file) = path.file_name().and_then(|f| f.to_str()) else {
        return false;
    };
    is_temp_name(temp)
        && temp
            .strip_prefix('.')
            .and_then(|t| t.strip_prefix(file))
            .is_some_and(|t| t.starts_with('.'))
        && !temp.contains(['/', '\\'])
}

/// The name of record number `sequence`.
pub(crate) fn record_name(sequence: u64) -> String {
    format!("{sequence:016x}{RECORD_SUFFIX}")
}

/// The sequence number of a complete record's file name (`None` for anything else).
pub(crate) fn record_sequence(name: &str) -> Option<u64> {
    let hex = name.strip_suffix(RECORD_SUFFIX)?;
    if hex.len() != 16 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u64::from_str_radix(hex, 16).ok()
}

/// The sequence number at the start of any journal file name (records, damaged records).
pub(crate) fn leading_sequence(name: &str) -> Option<u64> {
    let hex = name.get(..16)?;
    if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u64::from_str_radix(hex, 16).ok()
}

fn push_short(out: &mut Vec<u8>, s: &str) {
    // Keys are at most 255 bytes and temp names of keys at most 255 + 24: a temp name is
    // `.` + file name (≤ 64 + 5) + `.` + 16 + `.tmp`, far below 255.
    let len = u8::try_from(s.len()).expect("keys and temp names are shorter than 256 bytes");
    out.push(len);
    out.extend_from_slice(s.as_bytes());
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&end| end <= self.bytes.len())
            .ok_or_else(|| format!("truncated at byte {}", self.at))?;
        let out = &self.bytes[self.at..end];
        self.at = end;
        Ok(out)
    }

    fn u8(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?[0])
    }

    fn u16(&mut self) -> Result<u16, String> {
        Ok(u16::from_le_bytes(
            self.take(2)?.try_into().expect("2 bytes"),
        ))
    }

    fn u32(&mut self) -> Result<u32, String> {
        Ok(u32::from_le_bytes(
            self.take(4)?.try_into().expect("4 bytes"),
        ))
    }

    fn u64(&mut self) -> Result<u64, String> {
        Ok(u64::from_le_bytes(
            self.take(8)?.try_into().expect("8 bytes"),
        ))
    }

    fn short(&mut self) -> Result<&'a str, String> {
        let at = self.at;
        let len = usize::from(self.u8()?);
        std::str::from_utf8(self.take(len)?).map_err(|_| format!("text at byte {at} is not UTF-8"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn temp_of(key: &Key, random: u64) -> String {
        let path = key.relative_path();
        let file = path.file_name().unwrap().to_str().unwrap();
        format!(".{file}.{random:016x}.tmp")
    }

    fn sample() -> Record {
        let a = Key::parse("layout.default").unwrap();
        let b = Key::parse("history.conversations.ab12").unwrap();
        Record {
            sequence: 0x0102_0304_0506_0708,
            ops: vec![
                RecordOp::Put {
                    temp: temp_of(&a, 0xabcdef),
                    key: a,
                    len: 12,
                    crc: 0xdead_beef,
                },
                RecordOp::Delete { key: b },
            ],
        }
    }

    #[test]
    fn layout_matches_the_documented_offsets() {
        let bytes = sample().encode();
        assert_eq!(&bytes[OFF_MAGIC..OFF_VERSION], b"\x89SVJRNL\n");
        assert_eq!(&bytes[OFF_VERSION..OFF_RESERVED], &[1, 0]);
        assert_eq!(&bytes[OFF_RESERVED..OFF_SEQUENCE], &[0, 0]);
        assert_eq!(
            &bytes[OFF_SEQUENCE..OFF_COUNT],
            &[8, 7, 6, 5, 4, 3, 2, 1],
            "little-endian sequence"
        );
        assert_eq!(&bytes[OFF_COUNT..OFF_OPS], &[2, 0, 0, 0]);
        assert_eq!(bytes[OFF_OPS], KIND_PUT);
        assert_eq!(usize::from(bytes[OFF_OPS + 1]), "layout.default".len());
        let crc = crc32c::crc32c(&bytes[..bytes.len() - 4]);
        assert_eq!(&bytes[bytes.len() - 4..], &crc.to_le_bytes());
    }

    fn check_rejects(bytes: &[u8], expected: &str) {
        let err = Record::decode(bytes).unwrap_err();
        assert!(
            err.contains(expected),
            "{err:?} does not contain {expected:?}"
        );
    }

    /// Re-seals a record after editing its body, so the check below the CRC is reached.
    fn reseal(mut bytes: Vec<u8>) -> Vec<u8> {
        let n = bytes.len() - 4;
        let crc = crc32c::crc32c(&bytes[..n]);
        bytes[n..].copy_from_slice(&crc.to_le_bytes());
        bytes
    }

    #[test]
    fn damaged_records_are_refused_with_a_reason() {
        let good = sample().encode();
        check_rejects(&[], "truncated");
        check_rejects(&good[..good.len() - 1], "checksum");
        let mut flipped = good.clone();
        flipped[30] ^= 1;
        check_rejects(&flipped, "checksum");
        let mut magic = good.clone();
        magic[1] = b'X';
        check_rejects(&reseal(magic), "magic");
        let mut version = good.clone();
        version[OFF_VERSION] = 2;
        check_rejects(&reseal(version), "version 2");
        let mut reserved = good.clone();
        reserved[OFF_RESERVED] = 1;
        check_rejects(&reseal(reserved), "reserved");
        let mut count = good.clone();
        count[OFF_COUNT] = 0;
        check_rejects(&reseal(count), "no operations");
        let mut huge = good.clone();
        huge[OFF_COUNT + 3] = 0xff;
        check_rejects(&reseal(huge), "cannot fit");
        let mut kind = good.clone();
        kind[OFF_OPS] = 9;
        check_rejects(&reseal(kind), "unknown kind");
        // A key that is not a key (upper case), a temp that belongs to another file.
        let mut bad_key = good.clone();
        bad_key[OFF_OPS + 2] = b'L';
        check_rejects(&reseal(bad_key), "invalid key");
        let a = Key::parse("layout.default").unwrap();
        let other = Key::parse("layout.other").unwrap();
        let foreign = Record {
            sequence: 1,
            ops: vec![RecordOp::Put {
                key: a.clone(),
                temp: temp_of(&other, 1),
                len: 0,
                crc: 0,
            }],
        };
        check_rejects(&foreign.encode(), "not a temp file");
        let dup = Record {
            sequence: 1,
            ops: vec![
                RecordOp::Delete { key: a.clone() },
                RecordOp::Delete { key: a },
            ],
        };
        check_rejects(&dup.encode(), "appears twice");
        let mut trailing = good[..good.len() - 4].to_vec();
        trailing.push(0);
        trailing.extend_from_slice(&[0; 4]);
        check_rejects(&reseal(trailing), "unexpected bytes");
    }

    #[test]
    fn record_names_round_trip_and_nothing_else_is_a_record() {
        assert_eq!(record_name(0x1f), "000000000000001f.rec");
        assert_eq!(record_sequence(&record_name(u64::MAX)), Some(u64::MAX));
        for not in [
            "1f.rec",
            "000000000000001f.rec.damaged",
            ".000000000000001f.rec.0123456789abcdef.tmp",
            "000000000000001g.rec",
        ] {
            assert_eq!(record_sequence(not), None, "{not}");
        }
        assert_eq!(leading_sequence("000000000000001f.rec.damaged"), Some(0x1f));
    }

    fn arb_key() -> impl Strategy<Value = Key> {
        "[a-z][a-z0-9]{0,5}(\\.[a-z0-9][a-z0-9_-]{0,8}){1,3}"
            .prop_filter_map("a valid key", |s| Key::parse(&s).ok())
    }

    fn arb_record() -> impl Strategy<Value = Record> {
        let op = (
            arb_key(),
            any::<bool>(),
            any::<u64>(),
            any::<u64>(),
            any::<u32>(),
        )
            .prop_map(|(key, put, random, len, crc)| {
                if put {
                    RecordOp::Put {
                        temp: temp_of(&key, random),
                        key,
                        len,
                        crc,
                    }
                } else {
                    RecordOp::Delete { key }
                }
            });
        (any::<u64>(), proptest::collection::vec(op, 1..20)).prop_map(|(sequence, ops)| {
            let mut seen = std::collections::HashSet::new();
            let ops = ops
                .into_iter()
                .filter(|op| seen.insert(op.key().clone()))
                .collect();
            Record { sequence, ops }
        })
    }

    proptest! {
        #[test]
        fn encode_decode_round_trips(record in arb_record()) {
            prop_assert_eq!(Record::decode(&record.encode()), Ok(record));
        }

        #[test]
        fn every_truncation_is_refused(record in arb_record(), cut in any::<prop::sample::Index>()) {
            let bytes = record.encode();
            let cut = cut.index(bytes.len());
            prop_assert!(Record::decode(&bytes[..cut]).is_err());
        }

        #[test]
        fn any_single_bit_flip_is_refused(record in arb_record(), at in any::<prop::sample::Index>(), bit in 0u8..8) {
            let mut bytes = record.encode();
            let at = at.index(bytes.len());
            bytes[at] ^= 1 << bit;
            prop_assert!(Record::decode(&bytes).is_err());
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = Record::decode(&bytes);
        }

        #[test]
        fn resealed_garbage_never_panics(body in proptest::collection::vec(any::<u8>(), 0..256)) {
            let mut bytes = MAGIC.to_vec();
            bytes.extend_from_slice(&1u16.to_le_bytes());
            bytes.extend_from_slice(&body);
            bytes.extend_from_slice(&[0; 4]);
            let _ = Record::decode(&reseal(bytes));
        }
    }
}
