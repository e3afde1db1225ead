//! Encryption binds the file to its place and key, uses fresh nonces and hides the plaintext.

use std::collections::HashSet;

use statevault_codec::{
    Context, EncodeOptions, Error, KeyId, KeySet, Limits, decode, encode, inspect,
};

use crate::support::{ALL_OPTIONS, CTX, key, keys, meta, sample_document};

const ENCRYPT: EncodeOptions = EncodeOptions {
    compression: None,
    encrypt: true,
};

fn decode_with(bytes: &[u8], ctx: &Context<'_>, keys: Option<&KeySet>) -> Result<Vec<u8>, Error> {
    decode(bytes, ctx, keys, &Limits::default()).map(|d| d.data)
}

#[test]
fn ciphertext_moved_to_another_key_name_or_store_fails_to_authenticate() {
    let keys = keys();
    for (name, opts) in &ALL_OPTIONS[2..] {
        let bytes = encode(b"{\"secret\":true}", &meta(), opts, &CTX, Some(&keys)).unwrap();
        let other_key = Context {
            key_name: "history.conversations.cd34",
            ..CTX
        };
        let other_store = Context {
            store_id: "store-0000",
            ..CTX
        };
        // Length prefixes keep the boundary between store id and key name from being shifted.
        let shifted = Context {
            store_id: "store-7f3ah",
            key_name: "istory.conversations.ab12",
        };
        for ctx in [other_key, other_store, shifted] {
            let err = decode_with(&bytes, &ctx, Some(&keys)).unwrap_err();
            assert!(
                matches!(err, Error::Decrypt { key_id: KeyId(1) }),
                "{name} {ctx:?}: {err:?}"
            );
        }
        assert!(decode_with(&bytes, &CTX, Some(&keys)).is_ok());
    }
}

#[test]
fn key_errors_are_distinct() {
    let keys = keys();
    let bytes = encode(b"[1,2,3]", &meta(), &ENCRYPT, &CTX, Some(&keys)).unwrap();
    // Same id, other bytes: the wrong key.
    let wrong = KeySet::single(key(1, 0x22));
    assert!(matches!(
        decode_with(&bytes, &CTX, Some(&wrong)),
        Err(Error::Decrypt { key_id: KeyId(1) })
    ));
    // A key set without key 1.
    let other = KeySet::single(key(2, 0x11));
    assert!(matches!(
        decode_with(&bytes, &CTX, Some(&other)),
        Err(Error::UnknownKey { key_id: KeyId(1) })
    ));
    // No keys at all, on decode and on encode: never a plaintext fallback.
    assert!(matches!(decode_with(&bytes, &CTX, None), Err(Error::NoKey)));
    assert!(matches!(
        encode(b"1", &meta(), &ENCRYPT, &CTX, None),
        Err(Error::NoKey)
    ));
    // Inspect needs no key and reports which key the file needs.
    let seen = inspect(&bytes).unwrap();
    assert!(matches!(
        seen.format,
        statevault_codec::Format::Envelope {
            encrypted: true,
            key_id: Some(KeyId(1)),
            ..
        }
    ));
}

#[test]
fn after_rotation_old_files_decrypt_and_new_files_use_the_new_key() {
    let old = keys();
    let old_file = encode(b"\"old\"", &meta(), &ENCRYPT, &CTX, Some(&old)).unwrap();
    let rotated = old.rotated().unwrap();
    let new_file = encode(b"\"new\"", &meta(), &ENCRYPT, &CTX, Some(&rotated)).unwrap();
    assert_eq!(
        decode_with(&old_file, &CTX, Some(&rotated)).unwrap(),
        b"\"old\""
    );
    assert_eq!(
        decode_with(&new_file, &CTX, Some(&rotated)).unwrap(),
        b"\"new\""
    );
    assert!(matches!(
        inspect(&new_file).unwrap().format,
        statevault_codec::Format::Envelope {
            key_id: Some(KeyId(2)),
            ..
        }
    ));
    assert!(matches!(
        decode_with(&new_file, &CTX, Some(&old)),
        Err(Error::UnknownKey { key_id: KeyId(2) })
    ));
}

#[test]
fn no_nonce_repeats_across_100_000_encryptions() {
    let keys = keys();
    let mut nonces = HashSet::with_capacity(100_000);
    for _ in 0..100_000 {
        let bytes = encode(b"{}", &meta(), &ENCRYPT, &CTX, Some(&keys)).unwrap();
        let nonce: [u8; 12] = bytes[24..36].try_into().unwrap();
        assert!(nonces.insert(nonce), "nonce {nonce:02x?} repeated");
    }
    assert_eq!(nonces.len(), 100_000);
}

#[test]
fn identical_saves_give_different_ciphertexts() {
    let keys = keys();
    let a = encode(b"{\"same\":1}", &meta(), &ENCRYPT, &CTX, Some(&keys)).unwrap();
    let b = encode(b"{\"same\":1}", &meta(), &ENCRYPT, &CTX, Some(&keys)).unwrap();
    assert_ne!(a, b);
}

#[test]
fn an_encrypted_file_contains_no_8_byte_substring_of_its_plaintext() {
    let keys = keys();
    let data = sample_document(40);
    for (name, opts) in &ALL_OPTIONS[2..] {
        let bytes = encode(&data, &meta(), opts, &CTX, Some(&keys)).unwrap();
        let windows: HashSet<&[u8]> = bytes.windows(8).collect();
        let leaked: Vec<_> = data
            .windows(8)
            .filter(|w| windows.contains(w))
            .map(String::from_utf8_lossy)
            .collect();
        assert!(leaked.is_empty(), "{name}: {leaked:?}");
    }
    // The check can fail: a plain file does contain its plaintext.
    let plain = encode(&data, &meta(), &ALL_OPTIONS[0].1, &CTX, None).unwrap();
    let windows: HashSet<&[u8]> = plain.windows(8).collect();
    assert!(data.windows(8).any(|w| windows.contains(w)));
}
