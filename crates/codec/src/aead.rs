//! AES-256-GCM-SIV for the envelope's payload (the `encryption` feature), and its twin without
//! the feature, which refuses with [`Error::FeatureDisabled`].

use crate::error::Error;
use crate::keys::DataKey;

/// The AES-GCM-SIV nonce in an envelope's header.
pub(crate) const NONCE_LEN: usize = 12;
/// The authentication tag after an encrypted payload.
pub(crate) const TAG_LEN: usize = 16;

/// The feature this module needs.
const FEATURE: &str = "encryption";

/// Whether encryption can be asked for (or an encrypted file read), checked before any work is
/// done.
pub(crate) fn check_available() -> Result<(), Error> {
    if cfg!(feature = "encryption") {
        Ok(())
    } else {
        Err(Error::FeatureDisabled { feature: FEATURE })
    }
}

/// Encrypts `plaintext` in place and returns its tag; the associated data is `aad`.
#[cfg(feature = "encryption")]
pub(crate) fn seal_in_place(
    key: &DataKey,
    nonce: &[u8; NONCE_LEN],
    aad: &[u8],
    plaintext: &mut [u8],
) -> Result<[u8; TAG_LEN], Error> {
    use aes_gcm_siv::aead::{AeadInPlace, KeyInit};
    use aes_gcm_siv::{Aes256GcmSiv, Nonce};
    let tag = Aes256GcmSiv::new(key.bytes().into())
        .encrypt_in_place_detached(Nonce::from_slice(nonce), aad, plaintext)
        .map_err(|_| Error::InvalidInput {
            detail: "the payload is too large for AES-GCM-SIV (more than 64 GiB)".into(),
        })?;
    Ok(tag.into())
}

/// Decrypts `ciphertext` in place if `tag` authenticates it with `aad`; `Err(())` otherwise.
#[cfg(feature = "encryption")]
pub(crate) fn open_in_place(
    key: &DataKey,
    nonce: &[u8; NONCE_LEN],
    aad: &[u8],
    ciphertext: &mut [u8],
    tag: &[u8; TAG_LEN],
) -> Result<(), ()> {
    use aes_gcm_siv::aead::{AeadInPlace, KeyInit};
    use aes_gcm_siv::{Aes256GcmSiv, Nonce, Tag};
    Aes256GcmSiv::new(key.bytes().into())
        .decrypt_in_place_detached(
            Nonce::from_slice(nonce),
            aad,
            ciphertext,
            Tag::from_slice(tag),
        )
        .map_err(|_| ())
}

/// Without the `encryption` feature nothing is encrypted: asking is an error.
#[cfg(not(feature = "encryption"))]
pub(crate) fn seal_in_place(
    _key: &DataKey,
    _nonce: &[u8; NONCE_LEN],
    _aad: &[u8],
    _plaintext: &mut [u8],
) -> Result<[u8; TAG_LEN], Error> {
    Err(Error::FeatureDisabled { feature: FEATURE })
}

/// Never reached without the `encryption` feature: `envelope::open` refuses an encrypted file
/// first ([`check_available`]).
#[cfg(not(feature = "encryption"))]
pub(crate) fn open_in_place(
    _key: &DataKey,
    _nonce: &[u8; NONCE_LEN],
    _aad: &[u8],
    _ciphertext: &mut [u8],
    _tag: &[u8; TAG_LEN],
) -> Result<(), ()> {
    Err(())
}
