//! The journal's records: the redo log of committed batches, encoded and decoded (no I/O).
//! `docs/decisions/0010-values-in-the-journal.md` says why a record carries its values.
//!
//! A journal file `.statevault/journal/<sequence>.wal` is a sequence of records, appended one
//! per batch. A record carries every value of its batch, so appending it and syncing the file is
//! the whole commit; the keys' own files are brought up to date later, by a checkpoint. The
//! byte layout is documented in `docs/file-format.md` ("Journal file, version 2"); the offset
//! constants below carry the names that document uses. A record names its targets by [`Key`],
//! never by path, so a damaged or hostile record cannot make recovery write outside the keys'
//! own files.

use std::sync::Arc;

use crate::key::Key;

/// `\x89SVWAL\r\n`: a byte that is not ASCII first (no text file is mistaken for a journal),
/// and a CR-LF pair that a text-mode transfer would damage visibly.
pub(crate) const MAGIC: [u8; 8] = *b"\x89SVWAL\r\n";
/// The record format this build writes and reads.
pub(crate) const VERSION: u16 = 2;

const OFF_MAGIC: usize = 0;
const OFF_VERSION: usize = 8;
const OFF_RESERVED: usize = 10;
const OFF_SEQUENCE: usize = 12;
const OFF_GENERATION: usize = 20;
const OFF_COUNT: usize = 28;
const OFF_BODY_LEN: usize = 32;
const OFF_HEADER_CRC: usize = 40;
/// Where the operations start.
pub(crate) const HEADER_LEN: usize = 44;
const TRAILER_LEN: usize = 4;

const KIND_PUT: u8 = 1;
const KIND_DELETE: u8 = 2;
const KIND_AMEND: u8 = 3;

/// Values at least this long are written to the journal file straight from the caller's
/// buffer; shorter pieces are gathered first, so a batch of small values costs a few writes.
const DIRECT_WRITE: usize = 64 * 1024;

/// One operation of a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RecordOp {
    /// Set the key to this value.
    Put { key: Key, value: Arc<Vec<u8>> },
    /// Remove the key.
    Delete { key: Key },
    /// Amend the key's value by this amendment (see [`crate::Fold`]).
    Amend { key: Key, amendment: Arc<Vec<u8>> },
}

impl RecordOp {
    pub(crate) fn key(&self) -> &Key {
        match self {
            RecordOp::Put { key, .. } | RecordOp::Delete { key } | RecordOp::Amend { key, .. } => {
                key
            }
        }
    }
}

/// A decoded record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Record {
    pub(crate) sequence: u64,
    /// The sequence of the first record written since the file was last (re)started: records
    /// of another generation are stale bytes of an earlier use of the file.
    pub(crate) generation: u64,
    pub(crate) ops: Vec<RecordOp>,
}

/// How a scan of a journal file ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ScanEnd {
    /// The run of records ended at bytes that are not one of its records (stale bytes of an
    /// earlier run, or the end of the file).
    Clean,
    /// The record of the run at `at` is cut short or fails its checksum and nothing of the run
    /// follows it: a write a crash interrupted (never acknowledged), dropped.
    Torn { at: usize },
    /// The record at `at` is damaged and a complete record follows it: damage, not a crash
    /// (an append never leaves a hole before a later record). Nothing from `at` on is applied.
    Damaged { at: usize, detail: String },
}

/// The records of a journal file, in order, and how the scan ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Scan {
    pub(crate) records: Vec<Record>,
    pub(crate) end: ScanEnd,
    /// Where the run's last complete record read ends (the scan's start when it read none):
    /// where a later scan of the same run continues.
    pub(crate) consumed: usize,
}

/// Where a run stands after the records a reader has already read: its generation and the
/// sequence of its last record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RunMark {
    pub(crate) generation: u64,
    pub(crate) last_sequence: u64,
}

/// Reads a journal file. Never panics, whatever the bytes.
///
/// The first record starts a *run* (its `generation` is its own sequence); the file's records
/// are those of that run, in order. The run ends at the first bytes that are not a record of it:
/// stale bytes of an earlier run (the file is rewritten from the start after a checkpoint) or
/// bytes never written. A record of the run that is cut short or fails its checksum is a torn
/// write ([`ScanEnd::Torn`]) unless a complete record of the run follows it, which makes it
/// damage ([`ScanEnd::Damaged`]).
pub(crate) fn scan(bytes: &[u8]) -> Scan {
    scan_from(bytes, 0, None)
}

/// Scans `bytes` from offset `at`, continuing the run `mark` names (a reader that read the
/// records before `at` earlier), or, without one, reading `at` as the start of a run. Offsets
/// in the result are offsets in `bytes`. What [`scan`] says of a whole file holds of the part
/// read.
pub(crate) fn scan_from(bytes: &[u8], mut at: usize, mark: Option<RunMark>) -> Scan {
    let mut records: Vec<Record> = Vec::new();
    let mut run = mark;
    while at < bytes.len() {
        let generation = run.map(|r| r.generation);
        let of_this_run = |sequence: u64, g: u64| match generation {
            None => g == sequence,
            Some(current) => g == current,
        };
        match decode_at(bytes, at) {
            Ok((record, len)) if of_this_run(record.sequence, record.generation) => {
                if let Some(last) = run
                    && record.sequence <= last.last_sequence
                {
                    let detail = format!(
                        "record {} does not follow record {}",
                        record.sequence, last.last_sequence
                    );
                    return Scan {
                        records,
                        end: ScanEnd::Damaged { at, detail },
                        consumed: at,
                    };
                }
                run = Some(RunMark {
                    generation: record.generation,
                    last_sequence: record.sequence,
                });
                records.push(record);
                at += len;
            }
            Ok(_) => break,
            // Bytes never written (the file grows ahead of its records by zeros) or a run's
            // zeroed start: no record can follow, so there is nothing to search.
            Err(_) if bytes[at..].iter().all(|&b| b == 0) => break,
            Err(detail) => {
                let end = if later_record_of_run(bytes, at, generation) {
                    ScanEnd::Damaged { at, detail }
                } else {
                    match header_at(bytes, at) {
                        Some((_, sequence, g)) if of_this_run(sequence, g) => ScanEnd::Torn { at },
                        _ => ScanEnd::Clean,
                    }
                };
                return Scan {
                    records,
                    end,
                    consumed: at,
                };
            }
        }
    }
    Scan {
        records,
        end: ScanEnd::Clean,
        consumed: at,
    }
}

/// The generation of the run a journal file's first bytes start, when its first header is
/// intact; `None` otherwise (then the file must be scanned whole to tell torn from damaged).
pub(crate) fn run_of(head: &[u8]) -> Option<u64> {
    header_at(head, 0)
        .and_then(|(_, sequence, generation)| (sequence == generation).then_some(generation))
}

/// Whether a complete record of the run of the unreadable record at `at` starts anywhere after
/// it: then that record was damaged after it was written (an append never leaves a hole before
/// a later record), not torn. Every later offset where the magic stands is tried, so damage to
/// a header, its length field included, cannot hide the records after it.
///
/// The run is `generation` when the scan has read a record of it; for the run's first record
/// it is whatever the damaged header still names in its sequence or generation field (one
/// damaged field leaves the other). Stale records of an earlier run (the file is rewritten from
/// the start after a checkpoint) carry another generation, so a record torn over them is still
/// a torn write.
fn later_record_of_run(bytes: &[u8], at: usize, generation: Option<u64>) -> bool {
    let raw_field = |from: usize| {
        bytes
            .get(at + from..at + from + 8)
            .map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")))
            .filter(|&v| v != 0)
    };
    let runs: Vec<u64> = match generation {
        Some(g) => vec![g],
        None => [raw_field(OFF_SEQUENCE), raw_field(OFF_GENERATION)]
            .into_iter()
            .flatten()
            .collect(),
    };
    if runs.is_empty() {
        return false;
    }
    let mut from = at + 1;
    while let Some(found) = find_magic(bytes, from) {
        let of_run = header_at(bytes, found).is_some_and(|(_, _, g)| runs.contains(&g));
        if of_run && decode_at(bytes, found).is_ok() {
            return true;
        }
        from = found + 1;
    }
    false
}

/// The first offset at or after `from` where [`MAGIC`] stands.
fn find_magic(bytes: &[u8], from: usize) -> Option<usize> {
    bytes
        .get(from..)?
        .windows(MAGIC.len())
        .position(|w| w == MAGIC)
        .map(|p| p + from)
}

/// Whether `head`, the first bytes of a journal file, says the file holds no run: it is empty,
/// or its first header is all zero (a checkpoint ended the run). Then [`scan`] finds nothing
/// in the file and the rest need not be read. Any other head, a damaged one included, must be
/// scanned.
pub(crate) fn ended_run(head: &[u8]) -> bool {
    head.iter().all(|&b| b == 0)
}

/// The total length of the record `bytes` start with, as its header says, if the header is
/// intact (the rest of the record need not be there).
pub(crate) fn record_len(bytes: &[u8]) -> Option<usize> {
    header_at(bytes, 0).map(|(len, _, _)| len)
}

/// The total length, the sequence and the generation of the record at `at` as its header
/// says, if the header is intact.
fn header_at(bytes: &[u8], at: usize) -> Option<(usize, u64, u64)> {
    let header = bytes.get(at..at.checked_add(HEADER_LEN)?)?;
    let len = check_header(header).ok()?;
    let field =
        |from: usize| u64::from_le_bytes(header[from..from + 8].try_into().expect("8 bytes"));
    Some((len, field(OFF_SEQUENCE), field(OFF_GENERATION)))
}

/// Checks a header; returns the whole record's length.
fn check_header(header: &[u8]) -> Result<usize, String> {
    if header[OFF_MAGIC..OFF_VERSION] != MAGIC {
        return Err("not a journal record (bad magic bytes)".into());
    }
    let stored = u32::from_le_bytes(
        header[OFF_HEADER_CRC..HEADER_LEN]
            .try_into()
            .expect("4 bytes"),
    );
    let computed = crc32c::crc32c(&header[..OFF_HEADER_CRC]);
    if stored != computed {
        return Err(format!(
            "header checksum mismatch: stored {stored:08x}, computed {computed:08x}"
        ));
    }
    let version = u16::from_le_bytes(
        header[OFF_VERSION..OFF_RESERVED]
            .try_into()
            .expect("2 bytes"),
    );
    if version != VERSION {
        return Err(format!(
            "record version {version}, this build reads {VERSION}"
        ));
    }
    if header[OFF_RESERVED..OFF_SEQUENCE] != [0, 0] {
        return Err("reserved bytes are not zero".into());
    }
    let body_len = u64::from_le_bytes(
        header[OFF_BODY_LEN..OFF_HEADER_CRC]
            .try_into()
            .expect("8 bytes"),
    );
    usize::try_from(body_len)
        .ok()
        .and_then(|body| body.checked_add(HEADER_LEN + TRAILER_LEN))
        .ok_or_else(|| format!("a body of {body_len} bytes cannot be addressed"))
}

/// Decodes the record at `at`; returns it and its length.
fn decode_at(bytes: &[u8], at: usize) -> Result<(Record, usize), String> {
    let rest = &bytes[at..];
    if rest.len() < HEADER_LEN {
        return Err(format!(
            "truncated: {} bytes, a record header has {HEADER_LEN}",
            rest.len()
        ));
    }
    let len = check_header(&rest[..HEADER_LEN])?;
    if rest.len() < len {
        return Err(format!(
            "truncated: {} bytes of a record of {len}",
            rest.len()
        ));
    }
    let (body, trailer) = rest[..len].split_at(len - TRAILER_LEN);
    let stored = u32::from_le_bytes(trailer.try_into().expect("4 bytes"));
    let computed = crc32c::crc32c(body);
    if stored != computed {
        return Err(format!(
            "checksum mismatch: stored {stored:08x}, computed {computed:08x}"
        ));
    }
    let mut r = Reader {
        bytes: body,
        at: OFF_SEQUENCE,
    };
    let sequence = r.u64()?;
    debug_assert_eq!(r.at, OFF_GENERATION);
    let generation = r.u64()?;
    debug_assert_eq!(r.at, OFF_COUNT);
    let count = r.u32()?;
    r.at = HEADER_LEN;
    if count == 0 {
        return Err("a record with no operations".into());
    }
    // Each operation takes at least 3 bytes; refuse a count the body cannot hold before
    // reserving memory for it.
    if u64::from(count) * 3 > (body.len() - HEADER_LEN) as u64 {
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
            KIND_PUT | KIND_AMEND => {
                let value_len = r.u64()?;
                let value_len = usize::try_from(value_len)
                    .map_err(|_| format!("operation {index}: a value of {value_len} bytes"))?;
                let value = Arc::new(r.take(value_len)?.to_vec());
                if kind == KIND_PUT {
                    RecordOp::Put { key, value }
                } else {
                    RecordOp::Amend {
                        key,
                        amendment: value,
                    }
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
    Ok((
        Record {
            sequence,
            generation,
            ops,
        },
        len,
    ))
}

/// The pieces of one encoded record, ready to be written in order: small parts gathered,
/// large values borrowed from the caller.
pub(crate) struct Encoded<'a> {
    pub(crate) pieces: Vec<Piece<'a>>,
    pub(crate) len: u64,
}

/// A piece of an encoded record.
pub(crate) enum Piece<'a> {
    Owned(Vec<u8>),
    Borrowed(&'a [u8]),
}

impl Piece<'_> {
    pub(crate) fn bytes(&self) -> &[u8] {
        match self {
            Piece::Owned(bytes) => bytes,
            Piece::Borrowed(bytes) => bytes,
        }
    }
}

/// An operation to encode, borrowing its value.
pub(crate) enum OpRef<'a> {
    Put { key: &'a Key, value: &'a [u8] },
    Delete { key: &'a Key },
    Amend { key: &'a Key, amendment: &'a [u8] },
}

/// Encodes a record of `ops` without copying values of [`DIRECT_WRITE`] bytes or more.
pub(crate) fn encode<'a>(sequence: u64, generation: u64, ops: &[OpRef<'a>]) -> Encoded<'a> {
    let mut body_len: u64 = 0;
    for op in ops {
        body_len += match op {
            OpRef::Put { key, value }
            | OpRef::Amend {
                key,
                amendment: value,
            } => 1 + 1 + key.as_str().len() as u64 + 8 + value.len() as u64,
            OpRef::Delete { key } => 1 + 1 + key.as_str().len() as u64,
        };
    }
    let mut header = Vec::with_capacity(HEADER_LEN);
    header.extend_from_slice(&MAGIC);
    header.extend_from_slice(&VERSION.to_le_bytes());
    header.extend_from_slice(&0u16.to_le_bytes());
    header.extend_from_slice(&sequence.to_le_bytes());
    header.extend_from_slice(&generation.to_le_bytes());
    let count = u32::try_from(ops.len()).expect("a batch has fewer than 2^32 operations");
    header.extend_from_slice(&count.to_le_bytes());
    header.extend_from_slice(&body_len.to_le_bytes());
    let header_crc = crc32c::crc32c(&header);
    header.extend_from_slice(&header_crc.to_le_bytes());
    debug_assert_eq!(header.len(), HEADER_LEN);

    // crc32c_append(0, x) is crc32c(x): the checksum runs over the pieces in order.
    let mut crc = 0;
    let mut pieces = Vec::new();
    let mut gathered = header;
    for op in ops {
        match op {
            OpRef::Put { key, value }
            | OpRef::Amend {
                key,
                amendment: value,
            } => {
                let kind = if matches!(op, OpRef::Put { .. }) {
                    KIND_PUT
                } else {
                    KIND_AMEND
                };
                gathered.push(kind);
                push_short(&mut gathered, key.as_str());
                gathered.extend_from_slice(&(value.len() as u64).to_le_bytes());
                if value.len() >= DIRECT_WRITE {
                    crc = crc32c::crc32c_append(crc, &gathered);
                    pieces.push(Piece::Owned(std::mem::take(&mut gathered)));
                    crc = crc32c::crc32c_append(crc, value);
                    pieces.push(Piece::Borrowed(value));
                } else {
                    gathered.extend_from_slice(value);
                }
            }
            OpRef::Delete { key } => {
                gathered.push(KIND_DELETE);
                push_short(&mut gathered, key.as_str());
            }
        }
    }
    crc = crc32c::crc32c_append(crc, &gathered);
    gathered.extend_from_slice(&crc.to_le_bytes());
    pieces.push(Piece::Owned(gathered));
    Encoded {
        pieces,
        len: HEADER_LEN as u64 + body_len + TRAILER_LEN as u64,
    }
}

fn push_short(out: &mut Vec<u8>, s: &str) {
    let len = u8::try_from(s.len()).expect("keys are shorter than 256 bytes");
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

    fn bytes_of(record: &Record) -> Vec<u8> {
        let ops: Vec<OpRef<'_>> = record
            .ops
            .iter()
            .map(|op| match op {
                RecordOp::Put { key, value } => OpRef::Put { key, value },
                RecordOp::Delete { key } => OpRef::Delete { key },
                RecordOp::Amend { key, amendment } => OpRef::Amend { key, amendment },
            })
            .collect();
        let encoded = encode(record.sequence, record.generation, &ops);
        let bytes: Vec<u8> = encoded
            .pieces
            .iter()
            .flat_map(|p| p.bytes().to_vec())
            .collect();
        assert_eq!(bytes.len() as u64, encoded.len);
        bytes
    }

    fn put(key: &str, value: &[u8]) -> RecordOp {
        RecordOp::Put {
            key: Key::parse(key).unwrap(),
            value: Arc::new(value.to_vec()),
        }
    }

    fn sample() -> Record {
        Record {
            sequence: 0x0102_0304_0506_0708,
            generation: 0x0102_0304_0506_0708,
            ops: vec![
                put("layout.default", b"{\"a\":1}"),
                RecordOp::Delete {
                    key: Key::parse("history.conversations.ab12").unwrap(),
                },
            ],
        }
    }

    #[test]
    fn layout_matches_the_documented_offsets() {
        let bytes = bytes_of(&sample());
        assert_eq!(&bytes[OFF_MAGIC..OFF_VERSION], b"\x89SVWAL\r\n");
        assert_eq!(&bytes[OFF_VERSION..OFF_RESERVED], &[2, 0]);
        assert_eq!(&bytes[OFF_RESERVED..OFF_SEQUENCE], &[0, 0]);
        assert_eq!(
            &bytes[OFF_SEQUENCE..OFF_GENERATION],
            &[8, 7, 6, 5, 4, 3, 2, 1],
            "little-endian sequence"
        );
        assert_eq!(
            &bytes[OFF_GENERATION..OFF_COUNT],
            &[8, 7, 6, 5, 4, 3, 2, 1],
            "the first record of a run starts its generation"
        );
        assert_eq!(&bytes[OFF_COUNT..OFF_BODY_LEN], &[2, 0, 0, 0]);
        let body_len = (1 + 1 + 14 + 8 + 7) + (1 + 1 + 26);
        assert_eq!(
            &bytes[OFF_BODY_LEN..OFF_HEADER_CRC],
            &(body_len as u64).to_le_bytes()
        );
        let header_crc = crc32c::crc32c(&bytes[..OFF_HEADER_CRC]);
        assert_eq!(
            &bytes[OFF_HEADER_CRC..HEADER_LEN],
            &header_crc.to_le_bytes()
        );
        assert_eq!(bytes[HEADER_LEN], KIND_PUT);
        assert_eq!(usize::from(bytes[HEADER_LEN + 1]), "layout.default".len());
        assert_eq!(bytes.len(), HEADER_LEN + body_len + TRAILER_LEN);
        let crc = crc32c::crc32c(&bytes[..bytes.len() - 4]);
        assert_eq!(&bytes[bytes.len() - 4..], &crc.to_le_bytes());
    }

    #[test]
    fn large_values_are_borrowed_not_copied() {
        let big = vec![7u8; DIRECT_WRITE];
        let key = Key::parse("history.big").unwrap();
        let encoded = encode(
            1,
            1,
            &[OpRef::Put {
                key: &key,
                value: &big,
            }],
        );
        assert!(
            encoded
                .pieces
                .iter()
                .any(|p| matches!(p, Piece::Borrowed(b) if b.len() == big.len()))
        );
        let bytes: Vec<u8> = encoded
            .pieces
            .iter()
            .flat_map(|p| p.bytes().to_vec())
            .collect();
        let scanned = scan(&bytes);
        assert_eq!(scanned.end, ScanEnd::Clean);
        assert_eq!(scanned.records[0].ops, vec![put("history.big", &big)]);
    }

    /// Re-seals a record after editing it, so the checks below the checksums are reached.
    fn reseal(mut bytes: Vec<u8>) -> Vec<u8> {
        let header_crc = crc32c::crc32c(&bytes[..OFF_HEADER_CRC]);
        bytes[OFF_HEADER_CRC..HEADER_LEN].copy_from_slice(&header_crc.to_le_bytes());
        let n = bytes.len() - 4;
        let crc = crc32c::crc32c(&bytes[..n]);
        bytes[n..].copy_from_slice(&crc.to_le_bytes());
        bytes
    }

    fn check_rejects(bytes: &[u8], expected: &str) {
        let err = decode_at(bytes, 0).unwrap_err();
        assert!(
            err.contains(expected),
            "{err:?} does not contain {expected:?}"
        );
    }

    #[test]
    fn damaged_records_are_refused_with_a_reason() {
        let good = bytes_of(&sample());
        check_rejects(&[], "truncated");
        check_rejects(&good[..good.len() - 1], "truncated");
        let mut flipped = good.clone();
        flipped[HEADER_LEN + 3] ^= 1;
        check_rejects(&flipped, "checksum");
        let mut header = good.clone();
        header[OFF_SEQUENCE] ^= 1;
        check_rejects(&header, "header checksum");
        let mut magic = good.clone();
        magic[1] = b'X';
        check_rejects(&reseal(magic), "magic");
        let mut version = good.clone();
        version[OFF_VERSION] = 3;
        check_rejects(&reseal(version), "version 3");
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
        kind[HEADER_LEN] = 9;
        check_rejects(&reseal(kind), "unknown kind");
        let mut bad_key = good.clone();
        bad_key[HEADER_LEN + 2] = b'L';
        check_rejects(&reseal(bad_key), "invalid key");
        let dup = Record {
            sequence: 1,
            generation: 1,
            ops: vec![put("layout.a", b"1"), put("layout.a", b"2")],
        };
        check_rejects(&bytes_of(&dup), "appears twice");
    }

    #[test]
    fn a_torn_tail_is_dropped_and_damage_before_a_record_is_reported() {
        let first = bytes_of(&sample());
        let mut second_record = sample();
        second_record.sequence += 1;
        let second = bytes_of(&second_record);
        let mut file = first.clone();
        file.extend_from_slice(&second[..second.len() / 2]);
        let scanned = scan(&file);
        assert_eq!(scanned.records.len(), 1);
        assert_eq!(scanned.end, ScanEnd::Torn { at: first.len() });

        let mut file = first.clone();
        file.extend_from_slice(&second);
        file[HEADER_LEN + 5] ^= 0x40;
        let scanned = scan(&file);
        assert!(scanned.records.is_empty());
        assert!(
            matches!(scanned.end, ScanEnd::Damaged { at: 0, .. }),
            "{:?}",
            scanned.end
        );

        let mut file = first.clone();
        file.extend_from_slice(&second);
        file.extend_from_slice(&first);
        assert!(matches!(
            scan(&file).end,
            ScanEnd::Damaged { at, .. } if at == first.len() + second.len()
        ));
    }

    #[test]
    fn damage_to_a_records_header_is_quarantined_when_records_of_its_run_follow() {
        let first = bytes_of(&sample());
        let mut second_record = sample();
        second_record.sequence += 1;
        let second = bytes_of(&second_record);
        let mut file = first.clone();
        file.extend_from_slice(&second);
        // Every single-bit flip in the first header, its length field included: never a clean
        // end or a torn write, since an intact record of the run follows.
        for at in 0..HEADER_LEN {
            for bit in 0..8 {
                let mut damaged = file.clone();
                damaged[at] ^= 1 << bit;
                let scanned = scan(&damaged);
                assert!(scanned.records.is_empty(), "byte {at} bit {bit}");
                assert!(
                    matches!(scanned.end, ScanEnd::Damaged { at: 0, .. }),
                    "byte {at} bit {bit}: {:?}",
                    scanned.end
                );
            }
        }
        // The second record's header damaged, a third after it: the first is applied.
        let mut third_record = sample();
        third_record.sequence += 2;
        let mut file = file.clone();
        file.extend_from_slice(&bytes_of(&third_record));
        file[first.len() + OFF_BODY_LEN] ^= 0x10;
        let scanned = scan(&file);
        assert_eq!(scanned.records.len(), 1);
        assert!(matches!(scanned.end, ScanEnd::Damaged { at, .. } if at == first.len()));
    }

    fn record(sequence: u64, generation: u64, value: &[u8]) -> Record {
        Record {
            sequence,
            generation,
            ops: vec![put("layout.default", value)],
        }
    }

    #[test]
    fn a_restarted_run_ends_before_the_stale_bytes_of_the_last_one() {
        // An earlier run of three records, then a new run written from offset 0 over it.
        let mut file: Vec<u8> = [10, 11, 12]
            .iter()
            .flat_map(|&s| bytes_of(&record(s, 10, &[b'o'; 40])))
            .collect();
        let new = bytes_of(&record(20, 20, b"new"));
        file[..new.len()].copy_from_slice(&new);
        let scanned = scan(&file);
        assert_eq!(scanned.records, vec![record(20, 20, b"new")]);
        assert_eq!(
            scanned.end,
            ScanEnd::Clean,
            "stale bytes are not a torn write"
        );
        // A whole stale record right after the new run is not part of it either.
        let mut file: Vec<u8> = [10, 11]
            .iter()
            .flat_map(|&s| bytes_of(&record(s, 10, b"same")))
            .collect();
        let new = bytes_of(&record(20, 20, b"same"));
        file[..new.len()].copy_from_slice(&new);
        let scanned = scan(&file);
        assert_eq!(scanned.records.len(), 1);
        assert_eq!(scanned.end, ScanEnd::Clean);
        // A new run's first record torn over stale bytes: nothing, and not damage, even though
        // a whole record of the old run follows.
        let mut torn = new.clone();
        torn[HEADER_LEN + 3] ^= 1;
        file[..torn.len()].copy_from_slice(&torn);
        assert_eq!(scan(&file).records, vec![]);
        assert_eq!(scan(&file).end, ScanEnd::Torn { at: 0 });
        // A zeroed first header (the writer's reset after a checkpoint) ends the run at once,
        // and the header alone says so.
        assert!(!ended_run(&file[..HEADER_LEN]));
        file[..HEADER_LEN].fill(0);
        assert_eq!(scan(&file).records, vec![]);
        assert_eq!(scan(&file).end, ScanEnd::Clean);
        assert!(ended_run(&file[..HEADER_LEN]));
        assert!(!ended_run(&new[..HEADER_LEN - 1]));
    }

    fn arb_key() -> impl Strategy<Value = Key> {
        "[a-z][a-z0-9]{0,5}(\\.[a-z0-9][a-z0-9_-]{0,8}){1,3}"
            .prop_filter_map("a valid key", |s| Key::parse(&s).ok())
    }

    fn arb_record() -> impl Strategy<Value = Record> {
        let op = (
            arb_key(),
            proptest::option::of(proptest::collection::vec(any::<u8>(), 0..64)),
            any::<bool>(),
        )
            .prop_map(|(key, value, amend)| match value {
                Some(value) if amend => RecordOp::Amend {
                    key,
                    amendment: Arc::new(value),
                },
                Some(value) => RecordOp::Put {
                    key,
                    value: Arc::new(value),
                },
                None => RecordOp::Delete { key },
            });
        (any::<u64>(), proptest::collection::vec(op, 1..20)).prop_map(|(sequence, ops)| {
            let mut seen = std::collections::HashSet::new();
            let ops = ops
                .into_iter()
                .filter(|op| seen.insert(op.key().clone()))
                .collect();
            Record {
                sequence,
                generation: sequence,
                ops,
            }
        })
    }

    proptest! {
        #[test]
        fn encode_decode_round_trips(record in arb_record()) {
            let scanned = scan(&bytes_of(&record));
            prop_assert_eq!(scanned.end, ScanEnd::Clean);
            prop_assert_eq!(scanned.records, vec![record]);
        }

        #[test]
        fn every_truncation_is_dropped(record in arb_record(), cut in any::<prop::sample::Index>()) {
            let bytes = bytes_of(&record);
            let cut = cut.index(bytes.len());
            let scanned = scan(&bytes[..cut]);
            prop_assert!(scanned.records.is_empty());
            // Once the header is whole, the record is known and reported as torn.
            if cut >= HEADER_LEN {
                prop_assert_eq!(scanned.end, ScanEnd::Torn { at: 0 });
            }
        }

        #[test]
        fn any_single_bit_flip_is_refused(record in arb_record(), at in any::<prop::sample::Index>(), bit in 0u8..8) {
            let mut bytes = bytes_of(&record);
            let at = at.index(bytes.len());
            bytes[at] ^= 1 << bit;
            prop_assert!(scan(&bytes).records.is_empty());
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = scan(&bytes);
        }

        #[test]
        fn resealed_garbage_never_panics(body in proptest::collection::vec(any::<u8>(), 0..256)) {
            let mut bytes = MAGIC.to_vec();
            bytes.extend_from_slice(&VERSION.to_le_bytes());
            bytes.extend_from_slice(&[0; 2]);
            bytes.extend_from_slice(&[0; 20]);
            bytes.extend_from_slice(&(body.len() as u64).to_le_bytes());
            bytes.extend_from_slice(&[0; 4]);
            bytes.extend_from_slice(&body);
            bytes.extend_from_slice(&[0; 4]);
            let _ = scan(&reseal(bytes));
        }
    }
}
