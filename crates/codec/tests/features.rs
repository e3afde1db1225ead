//! The codec in every feature set: what a build without `compression` or `encryption` does with
//! the frozen files of `tests/data/v1` and with a request to compress or encrypt.
//!
//! CI runs this file with no features, each alone and both (`cargo xtask ci`, "features");
//! `tests/all.rs` needs both.

use std::path::Path;

use statevault_codec::{
    Compression, Context, EncodeOptions, Error, KeyProvider as _, KeySet, Limits, Meta,
    StaticKeyProvider, Zeroizing, decode, decode_owned, encode, encode_owned, inspect,
};

const FIXTURE_CTX: Context<'static> = Context {
    store_id: "fixture-store",
    key_name: "layout.default",
};

fn read(rel: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data")
            .join(rel),
    )
    .unwrap()
}

fn keys() -> KeySet {
    StaticKeyProvider::from_bytes(Zeroizing::new([0x42; 32]))
        .load_or_create()
        .unwrap()
}

fn meta() -> Meta {
    Meta {
        schema_version: "1.0.0".into(),
        saved_at_ms: 1_764_126_784_000,
    }
}

/// Decodes a fixture both ways: the data, or the error both give.
fn decode_fixture(file: &str) -> Result<Vec<u8>, Error> {
    let bytes = read(&format!("v1/{file}"));
    let keys = keys();
    let borrowed = decode(&bytes, &FIXTURE_CTX, Some(&keys), &Limits::default());
    let owned = decode_owned(bytes, &FIXTURE_CTX, Some(&keys), &Limits::default());
    match (borrowed, owned) {
        (Ok(a), Ok(b)) => {
            assert_eq!(a, b, "{file}");
            Ok(a.data)
        }
        (Err(a), Err(b)) => {
            assert_eq!(a.to_string(), b.to_string(), "{file}");
            Err(a)
        }
        (a, b) => panic!("{file}: borrowed {a:?}, owned {b:?}"),
    }
}

fn encode_both(options: &EncodeOptions) -> Result<Vec<u8>, Error> {
    let data = read("v1/document.json");
    let keys = keys();
    let key = options.encrypt.then_some(&keys);
    let borrowed = encode(&data, &meta(), options, &FIXTURE_CTX, key);
    let owned = encode_owned(data, &meta(), options, &FIXTURE_CTX, key);
    assert_eq!(borrowed.is_ok(), owned.is_ok());
    borrowed
}

fn disabled(result: Result<Vec<u8>, Error>, feature: &str) {
    match result {
        Err(Error::FeatureDisabled { feature: f }) => {
            assert_eq!(f, feature);
            let message = Error::FeatureDisabled { feature: f }.to_string();
            assert!(
                message.contains(&format!("`{feature}` feature")),
                "{message}"
            );
        }
        other => panic!("expected FeatureDisabled({feature}), got {other:?}"),
    }
}

#[test]
fn plain_files_are_read_and_written_in_every_build() {
    assert_eq!(
        decode_fixture("plain.json").unwrap(),
        read("v1/document.json")
    );
    let plain = encode_both(&EncodeOptions::default()).unwrap();
    assert_eq!(plain, read("v1/plain.json"));
}

#[test]
fn headers_are_inspected_in_every_build() {
    for file in ["gzip.svlt", "encrypted.svlt", "gzip-encrypted.svlt"] {
        let seen = inspect(&read(&format!("v1/{file}"))).unwrap();
        assert_eq!(seen.checksum_ok, Some(true), "{file}");
    }
}

#[test]
fn compressed_files_decode_with_compression_and_are_refused_without() {
    let result = decode_fixture("gzip.svlt");
    if cfg!(feature = "compression") {
        assert_eq!(result.unwrap(), read("v1/document.json"));
    } else {
        disabled(result, "compression");
    }
}

#[test]
fn encrypted_files_decode_with_encryption_and_are_refused_without() {
    let result = decode_fixture("encrypted.svlt");
    if cfg!(feature = "encryption") {
        assert_eq!(result.unwrap(), read("v1/document.json"));
    } else {
        disabled(result, "encryption");
    }
    // Both layers: refused for whichever is missing, encryption checked first.
    let result = decode_fixture("gzip-encrypted.svlt");
    match (cfg!(feature = "encryption"), cfg!(feature = "compression")) {
        (true, true) => assert_eq!(result.unwrap(), read("v1/document.json")),
        (false, _) => disabled(result, "encryption"),
        (true, false) => disabled(result, "compression"),
    }
}

#[test]
fn asking_to_compress_without_compression_is_refused() {
    let result = encode_both(&EncodeOptions {
        compression: Some(Compression::Fast),
        encrypt: false,
    });
    if cfg!(feature = "compression") {
        let file = result.unwrap();
        assert!(inspect(&file).unwrap().format.is_compressed());
    } else {
        disabled(result, "compression");
    }
}

#[test]
fn asking_to_encrypt_without_encryption_is_refused_never_written_in_the_clear() {
    let result = encode_both(&EncodeOptions {
        compression: None,
        encrypt: true,
    });
    if cfg!(feature = "encryption") {
        let file = result.unwrap();
        assert!(inspect(&file).unwrap().format.is_encrypted());
    } else {
        disabled(result, "encryption");
    }
}
