//! The owned entry points (`encode_owned`, `encode_owned_trusted`, `decode_owned`) and `needs_key`
//! against the borrowed ones: the same bytes, the same data, the same errors.

use proptest::prelude::*;
use statevault_codec::{
    Context, Decoded, ENVELOPE_MAGIC, EncodeOptions, Error, KeySet, Limits, Meta, decode,
    decode_owned, encode, encode_owned, encode_owned_trusted, needs_key,
};

use crate::support::{ALL_OPTIONS, CTX, json_value, keys, meta, sample_document};

/// Where an envelope's nonce lies: the only bytes (with the tag and the CRC it changes) that differ
/// between two encryptions of the same input.
const NONCE: std::ops::Range<usize> = 24..36;

/// `check_same_file(a, b, encrypted)`: two encodings of the same input are the same bytes, but for an
/// encrypted envelope's fresh nonce, tag and CRC.
fn check_same_file(a: &[u8], b: &[u8], encrypted: bool) -> Result<(), TestCaseError> {
    if encrypted {
        prop_assert_eq!(a.len(), b.len());
        prop_assert_eq!(&a[..NONCE.start], &b[..NONCE.start]);
        // From the end of the nonce to the payload: lengths and schema version.
        prop_assert_eq!(&a[NONCE.end..NONCE.end + 10], &b[NONCE.end..NONCE.end + 10]);
    } else {
        prop_assert_eq!(a, b);
    }
    Ok(())
}

/// Decoding a file by value and by reference gives the same result, error or not (compared by their
/// `Debug` text, which carries every detail).
fn check_decodes_alike(bytes: &[u8], ctx: &Context<'_>, keys: Option<&KeySet>) -> String {
    let limits = Limits::default();
    let borrowed = decode(bytes, ctx, keys, &limits);
    let owned = decode_owned(bytes.to_vec(), ctx, keys, &limits);
    let (b, o) = (format!("{borrowed:?}"), format!("{owned:?}"));
    assert_eq!(
        b,
        o,
        "decode and decode_owned differ on {} bytes",
        bytes.len()
    );
    b
}

proptest! {
    #![proptest_config(crate::support::config(256))]

    #[test]
    fn owned_encoding_writes_what_encode_writes(
        value in json_value(),
        pretty in any::<bool>(),
        schema_version in "[ -~]{0,40}|\\PC{0,12}",
        saved_at_ms in any::<u64>(),
        spare in 0usize..300,
    ) {
        let data = if pretty {
            serde_json::to_vec_pretty(&value).unwrap()
        } else {
            serde_json::to_vec(&value).unwrap()
        };
        let meta = Meta { schema_version, saved_at_ms };
        let keys = keys();
        for (name, opts) in ALL_OPTIONS {
            let expected = encode(&data, &meta, &opts, &CTX, Some(&keys)).unwrap();
            // Whatever spare capacity the caller's buffer has.
            let mut buf = Vec::with_capacity(data.len() + spare);
            buf.extend_from_slice(&data);
            let owned = encode_owned(buf.clone(), &meta, &opts, &CTX, Some(&keys)).unwrap();
            let trusted = encode_owned_trusted(buf, &meta, &opts, &CTX, Some(&keys)).unwrap();
            for got in [&owned, &trusted] {
                check_same_file(got, &expected, opts.encrypt)?;
                let back = decode_owned(got.clone(), &CTX, Some(&keys), &Limits::default()).unwrap();
                prop_assert_eq!(&back, &decode(&expected, &CTX, Some(&keys), &Limits::default()).unwrap(), "{}", name);
                prop_assert_eq!(&back.data, &data, "{}", name);
                prop_assert_eq!(&back.meta, &meta, "{}", name);
            }
        }
    }

    #[test]
    fn trusted_plain_encoding_trims_whitespace_like_the_checked_one(
        value in json_value(),
        before in "[ \t\r\n]{0,300}",
        after in "[ \t\r\n]{0,300}",
    ) {
        let mut data = before.into_bytes();
        data.extend_from_slice(&serde_json::to_vec(&value).unwrap());
        data.extend_from_slice(after.as_bytes());
        let plain = EncodeOptions::default();
        let expected = encode(&data, &meta(), &plain, &CTX, None).unwrap();
        prop_assert_eq!(&encode_owned(data.clone(), &meta(), &plain, &CTX, None).unwrap(), &expected);
        prop_assert_eq!(&encode_owned_trusted(data, &meta(), &plain, &CTX, None).unwrap(), &expected);
    }

    #[test]
    fn owned_decoding_of_arbitrary_bytes_matches(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let keys = keys();
        check_decodes_alike(&bytes, &CTX, Some(&keys));
        check_decodes_alike(&bytes, &CTX, None);
        let mut framed = ENVELOPE_MAGIC.to_vec();
        framed.extend_from_slice(&bytes);
        check_decodes_alike(&framed, &CTX, Some(&keys));
        prop_assert_eq!(
            needs_key(&bytes),
            matches!(decode(&bytes, &CTX, None, &Limits::default()), Err(Error::NoKey))
        );
    }

    #[test]
    fn hand_written_plain_files_decode_alike_by_value(value in json_value(), spaced in any::<bool>()) {
        // Another field order (and whitespace): the general parser reads these, by value too.
        let data = serde_json::to_vec(&value).unwrap();
        let file = encode(&data, &meta(), &EncodeOptions::default(), &CTX, None).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&file).unwrap();
        let sep = if spaced { " :\n " } else { ":" };
        let reordered = format!(
            "{{\"data\"{sep}{},\"checksum\"{sep}{},\"saved_at\"{sep}{},\"schema_version\"{sep}{},\"statevault\"{sep}1}}",
            String::from_utf8(data.clone()).unwrap(),
            v["checksum"], v["saved_at"], v["schema_version"]
        );
        let shown = check_decodes_alike(reordered.as_bytes(), &CTX, None);
        let d = decode_owned(reordered.into_bytes(), &CTX, None, &Limits::default());
        prop_assert!(matches!(&d, Ok(Decoded { data: got, .. }) if *got == data), "{}", shown);
    }
}

#[test]
fn every_bit_flip_and_truncation_is_detected_by_value_as_by_reference() {
    let keys = keys();
    let data = sample_document(2);
    for (name, opts) in ALL_OPTIONS {
        let bytes = encode_owned(data.clone(), &meta(), &opts, &CTX, Some(&keys)).unwrap();
        for bit in 0..bytes.len() * 8 {
            let mut damaged = bytes.clone();
            damaged[bit / 8] ^= 1 << (bit % 8);
            let shown = check_decodes_alike(&damaged, &CTX, Some(&keys));
            let result = decode_owned(damaged.clone(), &CTX, Some(&keys), &Limits::default());
            assert!(
                matches!(
                    result,
                    Err(Error::Corrupt { .. } | Error::UnsupportedVersion { .. })
                ),
                "{name}: flip of bit {bit}: {shown}"
            );
            // A damaged file never asks for keys, so the damage is what gets reported.
            assert!(!needs_key(&damaged), "{name}: flip of bit {bit}");
        }
        for len in 0..bytes.len() {
            let shown = check_decodes_alike(&bytes[..len], &CTX, Some(&keys));
            assert!(shown.starts_with("Err(Corrupt"), "{name}: {len}: {shown}");
            assert!(!needs_key(&bytes[..len]), "{name}: {len}");
        }
        assert_eq!(needs_key(&bytes), opts.encrypt, "{name}");
    }
}

#[test]
fn errors_by_value_are_the_errors_by_reference() {
    let keys = keys();
    let data = br#"{"x":1}"#.to_vec();
    let encrypted =
        encode_owned(data.clone(), &meta(), &ALL_OPTIONS[3].1, &CTX, Some(&keys)).unwrap();
    let elsewhere = Context {
        key_name: "history.conversations.zz99",
        ..CTX
    };
    let other_keys = KeySet::single(crate::support::key(2, 0x22));
    let wrong_key = KeySet::single(crate::support::key(1, 0x99));
    for (ctx, keys, expected) in [
        (&CTX, None, "Err(NoKey)"),
        (&CTX, Some(&other_keys), "Err(UnknownKey"),
        (&CTX, Some(&wrong_key), "Err(Decrypt"),
        (&elsewhere, Some(&keys), "Err(Decrypt"),
        (&CTX, Some(&keys), "Ok("),
    ] {
        let shown = check_decodes_alike(&encrypted, ctx, keys);
        assert!(shown.starts_with(expected), "{shown}");
    }
    for (input, expected) in [
        (&b""[..], "Err(Corrupt"),
        (b"\0\0\0", "Err(Corrupt"),
        (b"{\"statevault\":9}", "Err(UnsupportedVersion"),
        (b"not json", "Err(Corrupt"),
    ] {
        let shown = check_decodes_alike(input, &CTX, Some(&keys));
        assert!(shown.starts_with(expected), "{input:?}: {shown}");
    }
    // Refused input by value, as by reference.
    let err = encode_owned(
        b"{".to_vec(),
        &meta(),
        &EncodeOptions::default(),
        &CTX,
        None,
    )
    .unwrap_err();
    assert!(matches!(err, Error::InvalidInput { .. }), "{err:?}");
    let err = encode_owned(data, &meta(), &ALL_OPTIONS[2].1, &CTX, None).unwrap_err();
    assert!(matches!(err, Error::NoKey), "{err:?}");
}

#[test]
fn large_documents_round_trip_by_value() {
    let data = sample_document(20_000);
    let keys = keys();
    for (name, opts) in ALL_OPTIONS {
        let bytes = encode_owned_trusted(data.clone(), &meta(), &opts, &CTX, Some(&keys)).unwrap();
        let back = decode_owned(bytes, &CTX, Some(&keys), &Limits::default()).unwrap();
        assert!(back.data == data, "{name}");
    }
}
