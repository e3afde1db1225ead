//! The types every format shares: what travels beside a document, where it lives, how it is
//! encoded, and what a decoded or inspected file holds.

use std::fmt;

/// Facts about a stored document that travel beside its data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Meta {
    /// The version of the document's schema when it was saved (a semver string, opaque to the codec).
    pub schema_version: String,
    /// When the file was written, in milliseconds since the Unix epoch.
    pub saved_at_ms: u64,
}

/// Where a file lives, bound into the associated data of encrypted files: a ciphertext copied onto
/// another key, or into another store, fails to authenticate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Context<'a> {
    /// The random id of the store (from `.statevault/store.json`).
    pub store_id: &'a str,
    /// The key the file is stored under, e.g. `layout.default`.
    pub key_name: &'a str,
}

/// Gzip compression levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Compression {
    /// Level 1: about as fast as gzip goes, for large or frequently saved documents.
    Fast,
    /// Level 6: zlib's default balance.
    Default,
    /// Level 9: smallest output, slowest.
    Best,
}

impl Compression {
    #[cfg(feature = "compression")]
    pub(crate) fn level(self) -> u32 {
        match self {
            Compression::Fast => 1,
            Compression::Default => 6,
            Compression::Best => 9,
        }
    }
}

/// How to encode one file. Neither compression nor encryption gives the plain, human-readable format;
/// either gives the binary envelope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EncodeOptions {
    /// Gzip the data (before encryption).
    pub compression: Option<Compression>,
    /// Encrypt the data with the key set's current key. Without a key this is [`Error::NoKey`](crate::Error::NoKey).
    pub encrypt: bool,
}

/// Caps that keep decoding of hostile input bounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// The most bytes a compressed payload may inflate to; more is [`Error::TooLarge`](crate::Error::TooLarge), never a
    /// truncated result. Decoding never holds more than this much inflated data in memory.
    ///
    /// The output buffer is sized from the size the gzip trailer declares, bounded by this cap, so
    /// an honest file inflates into a buffer of exactly its size; a trailer that understates the
    /// size is refused as [`Error::Corrupt`](crate::Error::Corrupt) (below a cap of 4 GiB, where no honest file can wrap
    /// its 32-bit size field), and one that overstates it costs at most this cap.
    pub max_inflated_bytes: u64,
}

impl Limits {
    /// The default cap on inflated data: 256 MiB.
    pub const DEFAULT_MAX_INFLATED_BYTES: u64 = 256 * 1024 * 1024;

    /// Limits with the given cap on inflated data.
    pub fn with_max_inflated_bytes(max_inflated_bytes: u64) -> Self {
        Limits { max_inflated_bytes }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_inflated_bytes: Self::DEFAULT_MAX_INFLATED_BYTES,
        }
    }
}

/// Which encoding a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Format {
    /// Human-readable JSON with a CRC-32C of its data.
    Plain,
    /// The binary envelope.
    Envelope {
        /// The payload is gzip.
        compressed: bool,
        /// The payload is AES-256-GCM-SIV ciphertext.
        encrypted: bool,
        /// The key it is encrypted with.
        key_id: Option<KeyId>,
    },
    /// A file of the earlier TypeScript service: JSON without a checksum. Rewrite it on the next save.
    Legacy,
}

impl Format {
    /// Whether the payload is gzip.
    pub fn is_compressed(&self) -> bool {
        matches!(
            self,
            Format::Envelope {
                compressed: true,
                ..
            }
        )
    }

    /// Whether the payload is encrypted.
    pub fn is_encrypted(&self) -> bool {
        matches!(
            self,
            Format::Envelope {
                encrypted: true,
                ..
            }
        )
    }

    /// The key an encrypted file is encrypted with.
    pub fn key_id(&self) -> Option<KeyId> {
        match self {
            Format::Envelope { key_id, .. } => *key_id,
            _ => None,
        }
    }
}

/// A decoded file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    /// The encoding the file held.
    pub format: Format,
    /// Its schema version and save time.
    pub meta: Meta,
    /// The JSON text of the document, exactly as it was given to [`encode`](crate::encode) (for legacy files: exactly
    /// as it stands in the file).
    ///
    /// Plain files written by [`encode`](crate::encode) are read without parsing `data`: the checksum over it proves
    /// it is the bytes that were checked to be one JSON value when the file was written. Like every
    /// checksum of the plain format, that guards against damage, not against someone who writes a
    /// file by hand with a matching checksum over bytes that are not JSON; callers parse `data`
    /// anyway.
    pub data: Vec<u8>,
}

/// What can be learnt from a file without keys and without decrypting or inflating it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inspected {
    /// The encoding.
    pub format: Format,
    /// Schema version and save time, as the file declares them.
    pub meta: Meta,
    /// Whether the file's checksum matches its bytes; `None` for legacy files, which have none.
    /// When it is `false` every other field may itself be damaged.
    pub checksum_ok: Option<bool>,
    /// The format version (1 for the plain format and envelope v1, 0 for legacy files).
    pub format_version: u32,
    /// The size of the stored data: the JSON text of `data` for plain and legacy files, the payload
    /// (compressed and/or encrypted, with its tag) for envelopes.
    pub payload_len: u64,
}

/// Identifies a data key within a store's key set.
///
/// Ids are small sequential numbers (1, 2, 3, … one per rotation), not fingerprints: an id only has to
/// pick one key out of a handful, four bytes are enough, and a number says nothing about the key
/// itself. Two stores may both have a key 1; a file copied between them still fails to authenticate
/// because the associated data binds the store id. Id 0 is reserved for "not encrypted".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KeyId(pub u32);

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}
