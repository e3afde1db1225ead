//! The one error type of the codec.

use std::path::PathBuf;

use crate::types::KeyId;

/// Everything that can go wrong while encoding, decoding or handling keys.
///
/// The variants are distinct on purpose: the command line maps [`Error::Corrupt`] (damaged bytes) and
/// [`Error::Decrypt`] (intact bytes that do not authenticate: wrong key or tampering) to different exit
/// codes, so a support engineer knows which of the two happened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The bytes are damaged or are not a file this codec wrote: checksum mismatch, truncation,
    /// malformed JSON, a missing field, an impossible header value.
    #[error("corrupt data: {detail}")]
    Corrupt {
        /// What exactly is wrong, with offsets and expected/found values where they help.
        detail: String,
    },

    /// The checksum is intact but the ciphertext does not authenticate with the key it names: the key is
    /// wrong (a different key with the same id), or the file was moved to another key name or store, or
    /// it was tampered with and its checksum recomputed.
    #[error(
        "decryption failed with key {key_id}: wrong key, or the file was moved or tampered with"
    )]
    Decrypt {
        /// The key the file names.
        key_id: KeyId,
    },

    /// The file names a key that the key set does not hold.
    #[error("the file is encrypted with key {key_id}, which the key set does not hold")]
    UnknownKey {
        /// The key the file names.
        key_id: KeyId,
    },

    /// Encryption was asked for, or a file is encrypted, and no key is available. There is never a
    /// silent fallback to plaintext.
    #[error("no encryption key is available")]
    NoKey,

    /// Inflating a compressed payload would exceed the configured cap. Nothing is truncated.
    #[error("the inflated data exceeds the limit of {limit} bytes")]
    TooLarge {
        /// The cap, in bytes ([`crate::Limits::max_inflated_bytes`]).
        limit: u64,
    },

    /// The file was written by a newer format version than this code reads.
    #[error("unsupported format version {found} (this build reads up to {supported})")]
    UnsupportedVersion {
        /// The version the file declares.
        found: u32,
        /// The newest version this build reads.
        supported: u32,
    },

    /// The caller passed something the codec cannot write (data that is not one JSON value, a schema
    /// version that is too long, a malformed key).
    #[error("invalid input: {detail}")]
    InvalidInput {
        /// What is wrong with it.
        detail: String,
    },

    /// A key file, the `STATEVAULT_KEY` variable or a keychain secret does not hold a valid key set.
    #[error("malformed key set in {origin}: {detail}")]
    KeyFormat {
        /// Where the key set came from (a path, `STATEVAULT_KEY`, `keychain`).
        origin: String,
        /// What is wrong with it (never the key bytes).
        detail: String,
    },

    /// The key provider cannot change its keys (an application-supplied key, an environment variable).
    #[error("the {provider} key provider cannot {operation}")]
    ReadOnlyProvider {
        /// Which provider.
        provider: &'static str,
        /// What was asked of it.
        operation: &'static str,
    },

    /// Removing this key would leave the key set without its current key.
    #[error("key {key_id} is the current key and cannot be removed")]
    KeyInUse {
        /// The current key.
        key_id: KeyId,
    },

    /// The OS keychain failed (unreachable, locked, refused).
    #[error("keychain error for store {store_id}: {source}")]
    Keychain {
        /// The store whose key set was being read or written.
        store_id: String,
        /// The keychain's own error (boxed, so the keychain crates stay out of this crate's API).
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },

    /// Reading or writing a key file failed.
    #[error("i/o error on {path}: {source}")]
    Io {
        /// The key file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },

    /// The data needs a part of the codec this build leaves out (a Cargo feature that is off):
    /// compressing or inflating without `compression`, encrypting or decrypting without
    /// `encryption`. Nothing was written and no payload byte was interpreted.
    #[error("this needs the `{feature}` feature of statevault-codec, which this build leaves out")]
    FeatureDisabled {
        /// The Cargo feature: `compression` or `encryption`.
        feature: &'static str,
    },

    /// The operating system's random number generator failed.
    #[error("the system random number generator failed: {0}")]
    Random(getrandom::Error),
}

impl Error {
    pub(crate) fn corrupt(detail: impl Into<String>) -> Self {
        Error::Corrupt {
            detail: detail.into(),
        }
    }
}
