//! Snapshot manifests: what a snapshot holds, and the checksum that makes a damaged one
//! impossible to use by mistake.

use std::fmt;

use serde::{Deserialize, Serialize};
use statevault_core::Key;

use crate::error::{Error, Result};
use crate::id::{BackupId, BackupKind};

/// The manifest format this build writes and the newest it reads.
pub const MANIFEST_FORMAT: u32 = 1;

/// The prefix of a manifest's `checksum` field.
const CHECKSUM_PREFIX: &str = "blake3:";

/// The BLAKE3 hash of a file's content, which names its object.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ContentHash([u8; 32]);

impl ContentHash {
    /// The hash of `bytes`.
    pub fn of(bytes: &[u8]) -> ContentHash {
        ContentHash(*blake3::hash(bytes).as_bytes())
    }

    /// Wraps 32 raw bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> ContentHash {
        ContentHash(bytes)
    }

    /// The 32 raw bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The hash as 64 lower-case hex digits.
    pub fn to_hex(&self) -> String {
        let mut s = String::with_capacity(64);
        for b in self.0 {
            s.push(char::from(HEX[usize::from(b >> 4)]));
            s.push(char::from(HEX[usize::from(b & 0xf)]));
        }
        s
    }

    /// Parses exactly 64 lower-case hex digits.
    pub fn from_hex(s: &str) -> Option<ContentHash> {
        let b = s.as_bytes();
        if b.len() != 64 {
            return None;
        }
        let digit = |c: u8| match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            _ => None,
        };
        let mut out = [0u8; 32];
        for (i, pair) in b.chunks_exact(2).enumerate() {
            out[i] = digit(pair[0])? << 4 | digit(pair[1])?;
        }
        Some(ContentHash(out))
    }

    /// The object's path relative to the store's root: `backups/objects/ab/ab…`.
    pub(crate) fn object_path(&self) -> std::path::PathBuf {
        let hex = self.to_hex();
        std::path::PathBuf::from(crate::OBJECTS_DIR)
            .join(&hex[..2])
            .join(hex)
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

impl fmt::Display for ContentHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for ContentHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ContentHash({})", self.to_hex())
    }
}

/// What the facade's codec says about a file: whether its bytes are compressed and/or
/// encrypted (and under which key). Recorded per entry so a listing can say so without
/// reading the files, and so an export knows which entries it must re-encrypt.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntryFlags {
    /// The file is gzip-compressed.
    pub compressed: bool,
    /// The file is encrypted.
    pub encrypted: bool,
    /// The id of the data key it is encrypted under.
    pub key_id: Option<u32>,
}

/// One key of a snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The key.
    pub key: Key,
    /// The size of the file in bytes.
    pub size: u64,
    /// The BLAKE3 hash of the file, which names its object.
    pub hash: ContentHash,
    /// What the codec said about the file when the snapshot was taken.
    pub flags: EntryFlags,
}

/// A snapshot's manifest: the commit point of a snapshot, written after every object it
/// names. Encoded as JSON with a BLAKE3 checksum of its canonical form (see
/// `docs/file-format.md`, section *Backups*).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// The snapshot's id, equal to the manifest's file stem.
    pub id: BackupId,
    /// An optional name given by the user.
    pub name: Option<String>,
    /// Manual or automatic (never legacy).
    pub kind: BackupKind,
    /// Why an automatic snapshot was taken (`before restore of …`).
    pub reason: Option<String>,
    /// When it was taken, in milliseconds since the Unix epoch.
    pub created_at: u64,
    /// `None` for a snapshot of the whole store; else the keys it was asked to cover
    /// (sorted), so a restore deletes only those of them that did not exist then.
    pub scope: Option<Vec<Key>>,
    /// The files, sorted by key, each key once.
    pub entries: Vec<Entry>,
}

impl Manifest {
    /// Sum of the entries' sizes (saturating: a crafted manifest may declare any size).
    pub fn total_size(&self) -> u64 {
        self.entries
            .iter()
            .fold(0u64, |total, e| total.saturating_add(e.size))
    }

    /// The JSON file: human-readable (indented), ending in a newline, with the checksum.
    pub fn to_json(&self) -> Vec<u8> {
        let mut wire = self.to_wire();
        wire.checksum = Some(format!(
            "{CHECKSUM_PREFIX}{}",
            blake3::hash(&canonical(&wire)).to_hex()
        ));
        let mut bytes = serde_json::to_vec_pretty(&wire).expect("a manifest always serializes");
        bytes.push(b'\n');
        bytes
    }

    /// Parses and checks a manifest file. `id` names the backup in error messages. Anything
    /// wrong (bad JSON, a checksum mismatch, an unsorted or duplicate key, a path that is not
    /// the key's) is [`Error::Damaged`]; a newer format is [`Error::NewerFormat`].
    pub fn from_json(id: &str, bytes: &[u8]) -> Result<Manifest> {
        #[derive(Deserialize)]
        struct FormatOnly {
            format: u64,
        }
        let damaged = |detail: String| Error::damaged(id, detail);
        // The format alone first, so a newer manifest whose fields changed is reported as
        // newer rather than as damaged.
        let format: FormatOnly =
            serde_json::from_slice(bytes).map_err(|e| damaged(format!("manifest: {e}")))?;
        if format.format > u64::from(MANIFEST_FORMAT) {
            return Err(Error::NewerFormat {
                what: "the manifest",
                found: format.format,
                supported: u64::from(MANIFEST_FORMAT),
            });
        }
        if format.format == 0 {
            return Err(damaged("manifest format 0".into()));
        }
        let mut wire: WireManifest =
            serde_json::from_slice(bytes).map_err(|e| damaged(format!("manifest: {e}")))?;
        let Some(checksum) = wire.checksum.take() else {
            return Err(damaged("the manifest has no checksum".into()));
        };
        let expected = format!(
            "{CHECKSUM_PREFIX}{}",
            blake3::hash(&canonical(&wire)).to_hex()
        );
        if checksum != expected {
            return Err(damaged(format!(
                "manifest checksum mismatch: the file says {checksum}, its content hashes to {expected}"
            )));
        }
        Manifest::from_wire(wire).map_err(damaged)
    }

    fn to_wire(&self) -> WireManifest {
        WireManifest {
            format: u64::from(MANIFEST_FORMAT),
            id: self.id.to_string(),
            name: self.name.clone(),
            kind: self.kind.as_str().to_owned(),
            reason: self.reason.clone(),
            created_at: self.created_at,
            scope: self
                .scope
                .as_ref()
                .map(|keys| keys.iter().map(|k| k.as_str().to_owned()).collect()),
            entries: self
                .entries
                .iter()
                .map(|e| WireEntry {
                    key: e.key.as_str().to_owned(),
                    path: key_path(&e.key),
                    size: e.size,
                    hash: e.hash.to_hex(),
                    flags: e.flags,
                })
                .collect(),
            checksum: None,
        }
    }

    fn from_wire(wire: WireManifest) -> Result<Manifest, String> {
        let id = BackupId::parse(&wire.id).map_err(|e| e.to_string())?;
        let kind = match wire.kind.as_str() {
            "manual" => BackupKind::Manual,
            "auto" => BackupKind::Auto,
            other => return Err(format!("unknown kind {other:?}")),
        };
        let parse_key = |s: &str| Key::parse(s).map_err(|e| format!("bad key {s:?}: {e}"));
        let scope = match wire.scope {
            None => None,
            Some(keys) => {
                let keys = keys
                    .iter()
                    .map(|k| parse_key(k))
                    .collect::<Result<Vec<_>, _>>()?;
                if keys.windows(2).any(|w| w[0] >= w[1]) {
                    return Err("the scope's keys are not sorted and distinct".into());
                }
                Some(keys)
            }
        };
        let mut entries = Vec::with_capacity(wire.entries.len());
        for e in wire.entries {
            let key = parse_key(&e.key)?;
            if e.path != key_path(&key) {
                return Err(format!(
                    "entry {key}: path {:?} is not the key's path {:?}",
                    e.path,
                    key_path(&key)
                ));
            }
            let hash = ContentHash::from_hex(&e.hash)
                .ok_or_else(|| format!("entry {key}: bad hash {:?}", e.hash))?;
            if let Some(scope) = &scope
                && scope.binary_search(&key).is_err()
            {
                return Err(format!("entry {key} is outside the snapshot's scope"));
            }
            entries.push(Entry {
                key,
                size: e.size,
                hash,
                flags: e.flags,
            });
        }
        if entries.windows(2).any(|w| w[0].key >= w[1].key) {
            return Err("the entries are not sorted by key, or a key is listed twice".into());
        }
        Ok(Manifest {
            id,
            name: wire.name,
            kind,
            reason: wire.reason,
            created_at: wire.created_at,
            scope,
            entries,
        })
    }
}

/// A key's path relative to the root with `/` separators on every platform.
fn key_path(key: &Key) -> String {
    let path = key.relative_path();
    let parts: Vec<&str> = path
        .components()
        .map(|c| c.as_os_str().to_str().expect("key paths are ASCII"))
        .collect();
    parts.join("/")
}

/// The bytes the checksum covers: the manifest without its checksum, as compact JSON with the
/// fields in declaration order.
fn canonical(wire: &WireManifest) -> Vec<u8> {
    debug_assert!(wire.checksum.is_none());
    serde_json::to_vec(wire).expect("a manifest always serializes")
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct WireManifest {
    format: u64,
    id: String,
    name: Option<String>,
    kind: String,
    reason: Option<String>,
    created_at: u64,
    scope: Option<Vec<String>>,
    entries: Vec<WireEntry>,
    #[serde(skip_serializing_if = "Option::is_none")]
    checksum: Option<String>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct WireEntry {
    key: String,
    path: String,
    size: u64,
    hash: String,
    flags: EntryFlags,
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    pub(crate) fn sample() -> Manifest {
        Manifest {
            id: BackupId::from_parts(1_764_130_500_123, 0xabcdef),
            name: Some("before \"update\" ✓".into()),
            kind: BackupKind::Manual,
            reason: None,
            created_at: 1_764_130_500_123,
            scope: None,
            entries: vec![
                Entry {
                    key: Key::parse("history.conversations.ab12").unwrap(),
                    size: 3,
                    hash: ContentHash::of(b"abc"),
                    flags: EntryFlags {
                        compressed: true,
                        encrypted: true,
                        key_id: Some(2),
                    },
                },
                Entry {
                    key: Key::parse("layout.default").unwrap(),
                    size: 0,
                    hash: ContentHash::of(b""),
                    flags: EntryFlags::default(),
                },
            ],
        }
    }

    fn check_damaged(bytes: &[u8], needle: &str) {
        match Manifest::from_json("x", bytes) {
            Err(Error::Damaged { detail, .. }) => {
                assert!(detail.contains(needle), "{detail:?} lacks {needle:?}")
            }
            other => panic!("expected Damaged with {needle:?}, got {other:?}"),
        }
    }

    #[test]
    fn layout_of_a_manifest() {
        let text = String::from_utf8(sample().to_json()).unwrap();
        assert!(
            text.contains("\"path\": \"history/conversations/ab12.json\""),
            "{text}"
        );
        assert!(
            text.contains("\"path\": \"layouts/default.json\""),
            "{text}"
        );
        assert!(text.trim_end().ends_with('}'));
        let checksum = text.lines().rev().nth(1).unwrap();
        assert!(
            checksum.trim().starts_with("\"checksum\": \"blake3:"),
            "{checksum}"
        );
    }

    #[test]
    fn reformatting_keeps_the_checksum_valid() {
        // The checksum covers the canonical form, so a manifest reindented by hand still reads.
        let value: serde_json::Value = serde_json::from_slice(&sample().to_json()).unwrap();
        let compact = serde_json::to_vec(&value).unwrap();
        assert_eq!(Manifest::from_json("x", &compact).unwrap(), sample());
    }

    #[test]
    fn damage_is_detected() {
        let good = String::from_utf8(sample().to_json()).unwrap();
        check_damaged(
            &good.replace("\"size\": 3", "\"size\": 4").into_bytes(),
            "checksum mismatch",
        );
        check_damaged(&good.as_bytes()[..good.len() / 2], "manifest:");
        check_damaged(b"", "manifest:");
        check_damaged(&[0u8; 64], "manifest:");
        check_damaged(b"{\"format\":1}", "manifest:");
        check_damaged(
            &good.replace("\"format\": 1", "\"format\": 0").into_bytes(),
            "format 0",
        );
        let no_checksum: serde_json::Value = serde_json::from_str(&good).unwrap();
        let mut no_checksum = no_checksum.as_object().unwrap().clone();
        no_checksum.remove("checksum");
        check_damaged(&serde_json::to_vec(&no_checksum).unwrap(), "no checksum");
        let mut extra = serde_json::from_str::<serde_json::Value>(&good).unwrap();
        extra["surprise"] = serde_json::json!(1);
        check_damaged(&serde_json::to_vec(&extra).unwrap(), "unknown field");
    }

    /// A manifest edited at the wire level and sealed with a correct checksum.
    fn forge(edit: impl FnOnce(&mut WireManifest)) -> Vec<u8> {
        let mut wire = sample().to_wire();
        edit(&mut wire);
        wire.checksum = Some(format!(
            "blake3:{}",
            blake3::hash(&canonical(&wire)).to_hex()
        ));
        serde_json::to_vec(&wire).unwrap()
    }

    #[test]
    fn a_consistent_but_invalid_manifest_is_damaged() {
        // Manifests whose checksum is right but whose content breaks the rules.
        assert_eq!(Manifest::from_json("x", &forge(|_| {})).unwrap(), sample());
        check_damaged(
            &forge(|w| w.entries[0].path = "history/conversations/ab13.json".into()),
            "is not the key's path",
        );
        check_damaged(
            &forge(|w| w.entries[0].path = "../../etc/passwd".into()),
            "is not the key's path",
        );
        check_damaged(&forge(|w| w.entries[0].key = "../x".into()), "bad key");
        check_damaged(&forge(|w| w.entries[0].hash = "00".into()), "bad hash");
        check_damaged(&forge(|w| w.kind = "legacy".into()), "unknown kind");
        check_damaged(&forge(|w| w.id = "../manual/x".into()), "invalid backup id");
        check_damaged(
            &forge(|w| w.scope = Some(vec!["b.b".into(), "a.a".into()])),
            "not sorted",
        );
        let mut twice = sample();
        twice.entries[1].key = twice.entries[0].key.clone();
        check_damaged(&twice.to_json(), "listed twice");
        let mut unsorted = sample();
        unsorted.entries.reverse();
        check_damaged(&unsorted.to_json(), "not sorted");
        let mut outside = sample();
        outside.scope = Some(vec![Key::parse("layout.default").unwrap()]);
        check_damaged(&outside.to_json(), "outside the snapshot's scope");
    }

    #[test]
    fn a_newer_format_is_not_damage() {
        let good = String::from_utf8(sample().to_json()).unwrap();
        let newer = good.replace("\"format\": 1", "\"format\": 2, \"other\": []");
        assert!(matches!(
            Manifest::from_json("x", newer.as_bytes()),
            Err(Error::NewerFormat { found: 2, .. })
        ));
    }

    #[test]
    fn hashes_parse_strictly() {
        let h = ContentHash::of(b"statevault");
        assert_eq!(ContentHash::from_hex(&h.to_hex()), Some(h));
        assert_eq!(h.to_hex(), blake3::hash(b"statevault").to_hex().as_str());
        assert_eq!(ContentHash::from_hex(&h.to_hex().to_uppercase()), None);
        assert_eq!(ContentHash::from_hex(&h.to_hex()[1..]), None);
        assert_eq!(
            ContentHash::from_hex(&format!("{}g", &h.to_hex()[1..])),
            None
        );
        let path = h.object_path();
        let hex = h.to_hex();
        assert_eq!(
            path,
            std::path::Path::new("backups/objects")
                .join(&hex[..2])
                .join(&hex)
        );
    }

    fn arb_key() -> impl Strategy<Value = Key> {
        (
            "[a-z][a-z0-9]{0,5}",
            proptest::collection::vec("[a-z0-9][a-z0-9_-]{0,6}", 1..3),
        )
            .prop_filter_map("valid key", |(ns, rest)| {
                Key::parse(&format!("{ns}.{}", rest.join("."))).ok()
            })
    }

    fn arb_manifest() -> impl Strategy<Value = Manifest> {
        let entry = (
            arb_key(),
            any::<u64>(),
            any::<[u8; 32]>(),
            any::<bool>(),
            any::<bool>(),
            any::<Option<u32>>(),
        )
            .prop_map(|(key, size, hash, compressed, encrypted, key_id)| Entry {
                key,
                size,
                hash: ContentHash::from_bytes(hash),
                flags: EntryFlags {
                    compressed,
                    encrypted,
                    key_id,
                },
            });
        (
            0u64..253_402_300_799_999,
            0u32..0x100_0000,
            proptest::option::of("\\PC{0,20}"),
            any::<bool>(),
            proptest::option::of("\\PC{0,20}"),
            proptest::collection::vec(entry, 0..8),
            any::<bool>(),
        )
            .prop_map(|(time, random, name, auto, reason, mut entries, scoped)| {
                entries.sort_by(|a, b| a.key.cmp(&b.key));
                entries.dedup_by(|a, b| a.key == b.key);
                let scope = scoped.then(|| entries.iter().map(|e| e.key.clone()).collect());
                Manifest {
                    id: BackupId::from_parts(time, random),
                    name,
                    kind: if auto {
                        BackupKind::Auto
                    } else {
                        BackupKind::Manual
                    },
                    reason,
                    created_at: time,
                    scope,
                    entries,
                }
            })
    }

    proptest! {
        #[test]
        fn manifests_round_trip(m in arb_manifest()) {
            let bytes = m.to_json();
            prop_assert_eq!(Manifest::from_json("x", &bytes).unwrap(), m);
        }

        #[test]
        fn any_flipped_byte_is_refused(m in arb_manifest(), pos in any::<prop::sample::Index>(), bit in 0u8..8) {
            let mut bytes = m.to_json();
            let i = pos.index(bytes.len());
            bytes[i] ^= 1 << bit;
            // Whitespace outside strings is not covered; a flip that turns one whitespace
            // byte into another (space/newline/tab/CR) still describes the same manifest.
            match Manifest::from_json("x", &bytes) {
                Ok(back) => prop_assert_eq!(back, m),
                // `"format": 1` can become 3, 5 or 9: refused as newer, never used.
                Err(Error::Damaged { .. } | Error::NewerFormat { .. }) => {}
                Err(e) => prop_assert!(false, "unexpected error {e:?}"),
            }
        }
    }
}
