//! Every encoding gives back exactly the bytes and meta it was given.

use proptest::prelude::*;
use statevault_codec::{Format, Limits, Meta, decode, encode, inspect};

use crate::support::{ALL_OPTIONS, CTX, json_value, keys};

proptest! {
    #![proptest_config(crate::support::config(256))]

    #[test]
    fn every_encoding_round_trips(
        value in json_value(),
        schema_version in "[ -~]{0,40}|\\PC{0,12}",
        saved_at_ms in any::<u64>(),
    ) {
        let data = serde_json::to_vec(&value).unwrap();
        let meta = Meta { schema_version, saved_at_ms };
        let keys = keys();
        for (name, opts) in ALL_OPTIONS {
            let bytes = encode(&data, &meta, &opts, &CTX, Some(&keys)).unwrap();
            let back = decode(&bytes, &CTX, Some(&keys), &Limits::default()).unwrap();
            prop_assert_eq!(&back.data, &data, "{}", name);
            prop_assert_eq!(&back.meta, &meta, "{}", name);
            let expected = if opts.compression.is_none() && !opts.encrypt {
                Format::Plain
            } else {
                Format::Envelope {
                    compressed: opts.compression.is_some(),
                    encrypted: opts.encrypt,
                    key_id: opts.encrypt.then_some(keys.current_id()),
                }
            };
            prop_assert_eq!(back.format, expected, "{}", name);
            let seen = inspect(&bytes).unwrap();
            prop_assert_eq!(seen.format, expected);
            prop_assert_eq!(seen.meta, meta.clone());
            prop_assert_eq!(seen.checksum_ok, Some(true));
        }
    }

    #[test]
    fn plain_files_are_json_that_embeds_the_data_verbatim(value in json_value()) {
        let data = serde_json::to_vec(&value).unwrap();
        let bytes = encode(&data, &crate::support::meta(), &ALL_OPTIONS[0].1, &CTX, None).unwrap();
        let file: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        prop_assert_eq!(&file["statevault"], &serde_json::json!(1));
        // The data's bytes stand in the file as given, not re-serialized (compared raw: parsing
        // floats is not exact).
        #[derive(serde::Deserialize)]
        struct Raw<'a> {
            #[serde(borrow)]
            data: &'a serde_json::value::RawValue,
        }
        let raw: Raw<'_> = serde_json::from_slice(&bytes).unwrap();
        prop_assert_eq!(raw.data.get().as_bytes(), data.as_slice());
        let ends_with_data_and_brace = bytes[..bytes.len() - 1].ends_with(&data) && bytes.last() == Some(&b'}');
        prop_assert!(ends_with_data_and_brace);
        // One line: JSON strings escape their newlines.
        prop_assert!(!bytes.contains(&b'\n'));
    }

    #[test]
    fn pretty_printed_data_is_kept_as_given(value in json_value()) {
        let data = serde_json::to_vec_pretty(&value).unwrap();
        let bytes = encode(&data, &crate::support::meta(), &ALL_OPTIONS[0].1, &CTX, None).unwrap();
        let back = decode(&bytes, &CTX, None, &Limits::default()).unwrap();
        prop_assert_eq!(back.data, data);
    }
}

#[test]
fn a_null_document_round_trips_in_the_plain_format() {
    let bytes = encode(
        b"null",
        &crate::support::meta(),
        &ALL_OPTIONS[0].1,
        &CTX,
        None,
    )
    .unwrap();
    assert_eq!(
        decode(&bytes, &CTX, None, &Limits::default()).unwrap().data,
        b"null"
    );
}

#[test]
fn large_documents_round_trip() {
    let data = crate::support::sample_document(20_000);
    assert!(data.len() > 2 * 1024 * 1024);
    let keys = keys();
    for (name, opts) in ALL_OPTIONS {
        let bytes = encode(&data, &crate::support::meta(), &opts, &CTX, Some(&keys)).unwrap();
        let back = decode(&bytes, &CTX, Some(&keys), &Limits::default()).unwrap();
        assert!(back.data == data, "{name}");
        if opts.compression.is_some() {
            assert!(
                bytes.len() < data.len() / 5,
                "{name}: {} bytes",
                bytes.len()
            );
        }
    }
}
