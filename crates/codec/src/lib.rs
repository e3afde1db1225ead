//! The bytes of one stored file: statevault's codec.
//!
//! `statevault-codec` turns the JSON text of a document plus its [`Meta`] into the bytes of one file, and
//! back. It knows nothing of paths or stores; the `statevault` facade calls it on every save and load.
//! Three formats are told apart by their first byte (`docs/file-format.md` has them byte by byte):
//!
//! - **plain** (`{`): one line of human-readable JSON whose CRC-32C covers the schema version, the save
//!   time and the exact bytes of the data;
//! - **envelope** (`0x89 S V L T …`): a binary header, a payload that is gzip (flate2 on zlib-rs) and/or
//!   AES-256-GCM-SIV ciphertext, and a CRC-32C trailer. The ciphertext's associated data binds the header,
//!   the store id and the key name, so a file moved to another key or store does not decrypt;
//! - **legacy**: `{"version":…,"timestamp":…,"data":…}` written by the earlier TypeScript service, read
//!   only.
//!
//! [`encode`] and [`decode`] borrow their input; [`encode_owned`] and [`decode_owned`] take it by
//! value and work in its buffer, which saves a copy of the document (and its memory) per save and
//! per load; [`encode_owned_trusted`] also skips the JSON check for data straight from `serde_json`.
//! [`needs_key`] tells a caller that loads keys lazily whether a file needs them.
//!
//! Keys come from a [`KeyProvider`]: the OS keychain ([`KeychainProvider`]), the application
//! ([`StaticKeyProvider`]), a key file ([`FileKeyProvider`]) or `STATEVAULT_KEY` ([`EnvKeyProvider`]).
//!
//! ```
//! use statevault_codec::{
//!     decode, decode_owned, encode, encode_owned, needs_key, Compression, Context, EncodeOptions,
//!     Format, KeyProvider, Limits, Meta, StaticKeyProvider, Zeroizing,
//! };
//!
//! # fn main() -> Result<(), statevault_codec::Error> {
//! // In an application the key would come from `KeychainProvider::new(store_id)`.
//! let keys = StaticKeyProvider::from_bytes(Zeroizing::new([42; 32])).load_or_create()?;
//! let ctx = Context { store_id: "3f2a9c", key_name: "settings.preferences" };
//! let meta = Meta { schema_version: "1.0.0".into(), saved_at_ms: 1_764_126_784_000 };
//! let data = br#"{"version":"1.0.0","theme":"dark"}"#;
//!
//! // Plain: readable JSON with a checksum.
//! let plain = encode(data, &meta, &EncodeOptions::default(), &ctx, None)?;
//! assert!(plain.starts_with(b"{\"statevault\":1,"));
//!
//! // Compressed and encrypted.
//! let opts = EncodeOptions { compression: Some(Compression::Fast), encrypt: true };
//! let sealed = encode(data, &meta, &opts, &ctx, Some(&keys))?;
//! let back = decode(&sealed, &ctx, Some(&keys), &Limits::default())?;
//! assert_eq!(back.data, data);
//! assert_eq!(back.meta, meta);
//! assert!(matches!(back.format, Format::Envelope { compressed: true, encrypted: true, .. }));
//!
//! // By value: the same result, decoded in the file's own buffer.
//! assert!(needs_key(&sealed));
//! let moved = decode_owned(sealed.clone(), &ctx, Some(&keys), &Limits::default())?;
//! assert_eq!(moved, back);
//! let plain = encode_owned(data.to_vec(), &meta, &EncodeOptions::default(), &ctx, None)?;
//! assert_eq!(decode_owned(plain, &ctx, None, &Limits::default())?.data, data);
//!
//! // The same bytes under another key name do not authenticate.
//! let elsewhere = Context { key_name: "settings.themes", ..ctx };
//! assert!(matches!(
//!     decode(&sealed, &elsewhere, Some(&keys), &Limits::default()),
//!     Err(statevault_codec::Error::Decrypt { .. })
//! ));
//! # Ok(())
//! # }
//! ```
//!
//! # Features
//!
//! | feature | default | adds | dependencies |
//! |---|---|---|---|
//! | `compression` | on | gzip payloads | `flate2` (zlib-rs) |
//! | `encryption` | on | AES-256-GCM-SIV payloads, `KeychainProvider` | `aes-gcm-siv`, `keyring-core`, the platform's keychain store |
//!
//! A build without one still reads every file's header ([`inspect`]) and refuses to compress,
//! encrypt, inflate or decrypt with [`Error::FeatureDisabled`]: never plaintext in place of
//! ciphertext, never compressed bytes taken for data. The other key providers are in every build.
//!
//! # Limitations
//!
//! - Whole files are held in memory: encode and decode take and return complete buffers. Inflated data is
//!   capped by [`Limits::max_inflated_bytes`] (256 MiB by default); AES-GCM-SIV caps a payload at 64 GiB.
//!   Compression needs a second buffer even by value (the compressed, or inflated, bytes).
//! - Plain files in the layout [`encode`] writes are decoded without parsing their data: the checksum
//!   vouches for it against damage, not against a file forged with a matching checksum over bytes
//!   that are not JSON, which then decode as they are. Callers parse the data anyway.
//! - The envelope carries the data as given: [`encode`] checks that the data is one JSON value only for
//!   the plain format, where it must be spliced into JSON. The facade serializes it, so it is JSON.
//! - Encryption hides content, not size or save time: the header (schema version, save time, key id,
//!   lengths) is authenticated but readable, so `statevault key ls` and `verify` work without keys.
//! - Key rotation through a provider is read-modify-write: two processes rotating the same keychain
//!   entry at once can lose one rotation. The facade serialises writers with the store lock.
//! - The keyutils backend is memory-only in the kernel: it does not survive a reboot.
//! - The codec does not stop a caller from rolling a store back by copying in an older file of the same
//!   key; the facade's journal and backups are the defence there. See `docs/security.md`.

#![deny(missing_docs)]

mod aead;
mod codec;
mod envelope;
mod error;
mod gzip;
mod json;
#[cfg(feature = "encryption")]
mod keychain;
mod keys;
mod providers;
mod types;

pub use codec::{
    decode, decode_owned, encode, encode_owned, encode_owned_trusted, inspect, needs_key,
    peek_schema_version,
};
pub use envelope::{MAGIC as ENVELOPE_MAGIC, VERSION as ENVELOPE_VERSION};
pub use error::Error;
pub use json::MAX_SCHEMA_VERSION_LEN;
#[cfg(feature = "encryption")]
pub use keychain::{KEYCHAIN_SERVICE, KeychainBackend, KeychainProvider};
pub use keys::{DataKey, KEY_LEN, KeySet};
pub use providers::{EnvKeyProvider, FileKeyProvider, KEY_ENV_VAR, KeyProvider, StaticKeyProvider};
pub use types::{
    Compression, Context, Decoded, EncodeOptions, Format, Inspected, KeyId, Limits, Meta,
};
/// Key bytes are handed over in zeroizing buffers; re-exported so callers need not depend on `zeroize`.
pub use zeroize::Zeroizing;

/// The README's example, compiled and run as a test so that it stays true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
