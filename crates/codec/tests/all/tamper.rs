//! Damage is always detected: bit flips, truncation, arbitrary bytes.

use proptest::prelude::*;
use statevault_codec::{EncodeOptions, Error, Limits, decode, encode, inspect};

use crate::support::{ALL_OPTIONS, CTX, keys, meta, sample_document};

fn flip(bytes: &[u8], bit: usize) -> Vec<u8> {
    let mut b = bytes.to_vec();
    b[bit / 8] ^= 1 << (bit % 8);
    b
}

/// Recomputes the envelope's CRC trailer, to reach the code behind the checksum.
fn reseal(bytes: &mut [u8]) {
    let n = bytes.len() - 4;
    let crc = crc32c::crc32c(&bytes[..n]);
    bytes[n..].copy_from_slice(&crc.to_le_bytes());
}

#[test]
fn every_single_bit_flip_of_an_envelope_is_detected_as_corruption() {
    let keys = keys();
    let data = sample_document(3);
    for (name, opts) in &ALL_OPTIONS[1..] {
        let bytes = encode(&data, &meta(), opts, &CTX, Some(&keys)).unwrap();
        let total = bytes.len() * 8;
        let mut detected = 0;
        for bit in 0..total {
            let damaged = flip(&bytes, bit);
            match decode(&damaged, &CTX, Some(&keys), &Limits::default()) {
                Err(Error::Corrupt { .. }) => detected += 1,
                other => panic!("{name}: flip of bit {bit} gave {other:?}"),
            }
            // Inspecting never vouches for a damaged file.
            if let Ok(i) = inspect(&damaged) {
                assert_eq!(i.checksum_ok, Some(false), "{name}: bit {bit}");
            }
        }
        eprintln!("{name} envelope: bit flips: {detected}/{total} detected");
        assert_eq!(detected, total);
    }
}

#[test]
fn every_single_bit_flip_of_a_plain_file_is_detected() {
    let data = sample_document(2);
    let bytes = encode(&data, &meta(), &EncodeOptions::default(), &CTX, None).unwrap();
    let data_start = bytes.windows(8).position(|w| w == b"\"data\":{").unwrap() + 7;
    let data_end = data_start + data.len();
    assert_eq!(&bytes[data_start..data_end], data.as_slice());
    let total = bytes.len() * 8;
    let mut detected = 0;
    for bit in 0..total {
        let result = decode(&flip(&bytes, bit), &CTX, None, &Limits::default());
        let in_data = (data_start * 8..data_end * 8).contains(&bit);
        match result {
            Err(Error::Corrupt { .. }) => detected += 1,
            // `"statevault":1` turned into another digit reads as another format version.
            Err(Error::UnsupportedVersion { .. }) if !in_data => detected += 1,
            other => panic!("flip of bit {bit} (byte {}) gave {other:?}", bit / 8),
        }
    }
    eprintln!("plain file: bit flips: {detected}/{total} detected");
    assert_eq!(detected, total);
}

#[test]
fn truncation_at_every_offset_is_detected() {
    let keys = keys();
    let data = sample_document(3);
    for (name, opts) in ALL_OPTIONS {
        let bytes = encode(&data, &meta(), &opts, &CTX, Some(&keys)).unwrap();
        for len in 0..bytes.len() {
            let result = decode(&bytes[..len], &CTX, Some(&keys), &Limits::default());
            assert!(
                matches!(result, Err(Error::Corrupt { .. })),
                "{name}: truncation to {len} bytes gave {result:?}"
            );
        }
        eprintln!(
            "{name}: truncations: {}/{} detected",
            bytes.len(),
            bytes.len()
        );
    }
}

#[test]
fn a_resealed_encrypted_envelope_with_any_bit_flipped_fails_to_authenticate() {
    // Tampering by someone who recomputes the CRC: the header is associated data and the payload is
    // authenticated, so every flip is refused; no flip may decode.
    let keys = keys();
    let bytes = encode(b"{\"a\":1}", &meta(), &ALL_OPTIONS[3].1, &CTX, Some(&keys)).unwrap();
    let (mut decrypt, mut corrupt, mut other) = (0, 0, 0);
    for bit in 0..(bytes.len() - 4) * 8 {
        let mut damaged = flip(&bytes, bit);
        reseal(&mut damaged);
        match decode(&damaged, &CTX, Some(&keys), &Limits::default()) {
            Ok(d) => panic!("flip of bit {bit} decoded to {d:?}"),
            Err(Error::Decrypt { .. }) => decrypt += 1,
            Err(Error::Corrupt { .. }) => corrupt += 1,
            Err(_) => other += 1,
        }
    }
    eprintln!(
        "resealed flips: {decrypt} refused by authentication, {corrupt} by header checks, {other} other"
    );
    assert!(decrypt > 0 && corrupt > 0);
}

proptest! {
    #![proptest_config(crate::support::config(2000))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let keys = keys();
        let _ = decode(&bytes, &CTX, Some(&keys), &Limits::default());
        let _ = decode(&bytes, &CTX, None, &Limits::default());
        let _ = inspect(&bytes);
    }

    #[test]
    fn bytes_behind_the_magic_never_panic(tail in prop::collection::vec(any::<u8>(), 0..256)) {
        let mut bytes = statevault_codec::ENVELOPE_MAGIC.to_vec();
        bytes.extend_from_slice(&tail);
        let _ = decode(&bytes, &CTX, Some(&keys()), &Limits::default());
        let _ = inspect(&bytes);
        // Behind a valid CRC too, so the header parser sees every value.
        if bytes.len() >= 4 {
            reseal(&mut bytes);
            let _ = decode(&bytes, &CTX, Some(&keys()), &Limits::default());
            let _ = inspect(&bytes);
        }
    }

    #[test]
    fn mutated_envelopes_with_valid_crcs_never_panic_or_decode_wrongly(
        which in 1usize..4,
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
    ) {
        let keys = keys();
        let data = br#"{"k":"some value","n":[1,2,3]}"#;
        let mut bytes = encode(data, &meta(), &ALL_OPTIONS[which].1, &CTX, Some(&keys)).unwrap();
        let original = bytes.clone();
        let body = bytes.len() - 4;
        for (at, value) in edits {
            bytes[at.index(body)] = value;
        }
        reseal(&mut bytes);
        let _ = inspect(&bytes);
        if let Ok(d) = decode(&bytes, &CTX, Some(&keys), &Limits::default()) {
            // Only an unencrypted file can be edited into another valid one; an encrypted one must be
            // unchanged to decode.
            if which >= 2 {
                prop_assert_eq!(&bytes, &original);
                prop_assert_eq!(d.data.as_slice(), &data[..]);
            }
        }
    }

    #[test]
    fn arbitrary_json_objects_never_panic(value in crate::support::json_value()) {
        let bytes = serde_json::to_vec(&serde_json::json!({"statevault": 1, "data": value,
            "schema_version": "1", "saved_at": 3, "checksum": "crc32c:00000000"})).unwrap();
        let _ = decode(&bytes, &CTX, None, &Limits::default());
        let _ = inspect(&bytes);
    }
}
