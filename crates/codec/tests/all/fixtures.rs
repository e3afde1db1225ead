//! Files written by earlier builds stay readable (tests/data is frozen, see its README).

use std::path::Path;

use statevault_codec::{
    Context, Format, KeyId, KeyProvider as _, Limits, Meta, StaticKeyProvider, Zeroizing, decode,
    decode_owned, inspect, needs_key,
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

fn check(file: &str, expected: Format) {
    let keys = StaticKeyProvider::from_bytes(Zeroizing::new([0x42; 32]))
        .load_or_create()
        .unwrap();
    let bytes = read(&format!("v1/{file}"));
    let d = decode(&bytes, &FIXTURE_CTX, Some(&keys), &Limits::default()).unwrap();
    assert_eq!(d.data, read("v1/document.json"), "{file}");
    assert_eq!(d.format, expected, "{file}");
    assert_eq!(
        d.meta,
        Meta {
            schema_version: "1.0.0".into(),
            saved_at_ms: 1_764_126_784_000
        },
        "{file}"
    );
    let seen = inspect(&bytes).unwrap();
    assert_eq!(
        (seen.format, seen.checksum_ok, seen.format_version),
        (expected, Some(true), 1)
    );
    // By value: the same result.
    assert_eq!(
        decode_owned(bytes.clone(), &FIXTURE_CTX, Some(&keys), &Limits::default()).unwrap(),
        d,
        "{file}"
    );
    let encrypted = matches!(
        expected,
        Format::Envelope {
            encrypted: true,
            ..
        }
    );
    assert_eq!(needs_key(&bytes), encrypted, "{file}");
}

#[test]
fn v1_fixtures_decode() {
    check("plain.json", Format::Plain);
    check(
        "gzip.svlt",
        Format::Envelope {
            compressed: true,
            encrypted: false,
            key_id: None,
        },
    );
    check(
        "encrypted.svlt",
        Format::Envelope {
            compressed: false,
            encrypted: true,
            key_id: Some(KeyId(1)),
        },
    );
    check(
        "gzip-encrypted.svlt",
        Format::Envelope {
            compressed: true,
            encrypted: true,
            key_id: Some(KeyId(1)),
        },
    );
}

#[test]
fn legacy_files_of_the_typescript_service_decode() {
    let bytes = read("legacy/layout.json");
    let d = decode(&bytes, &FIXTURE_CTX, None, &Limits::default()).unwrap();
    assert_eq!(d.format, Format::Legacy);
    assert_eq!(
        d.meta,
        Meta {
            schema_version: "1.0.0".into(),
            saved_at_ms: 1_759_741_200_000
        }
    );
    let data: serde_json::Value = serde_json::from_slice(&d.data).unwrap();
    assert_eq!(data["metadata"]["name"], "default");
    assert_eq!(data["layout"]["chat"]["w"], 6);
    let seen = inspect(&bytes).unwrap();
    assert_eq!(
        (seen.format, seen.checksum_ok, seen.format_version),
        (Format::Legacy, None, 0)
    );
    assert_eq!(
        decode_owned(bytes.clone(), &FIXTURE_CTX, None, &Limits::default()).unwrap(),
        d
    );
    assert!(!needs_key(&bytes));
}
