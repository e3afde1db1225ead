//! Shared helpers: a fixed key set, a context, and a proptest strategy for JSON values.

use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use serde_json::{Map, Number, Value};
use statevault_codec::{
    Compression, Context, DataKey, EncodeOptions, KeyId, KeySet, Meta, Zeroizing,
};

pub const CTX: Context<'static> = Context {
    store_id: "store-7f3a",
    key_name: "history.conversations.ab12",
};

pub fn key(id: u32, fill: u8) -> DataKey {
    DataKey::new(KeyId(id), Zeroizing::new([fill; 32])).unwrap()
}

pub fn keys() -> KeySet {
    KeySet::single(key(1, 0x11))
}

pub fn meta() -> Meta {
    Meta {
        schema_version: "2.1.0".into(),
        saved_at_ms: 1_764_126_784_000,
    }
}

/// The four encodings, named for messages.
pub const ALL_OPTIONS: [(&str, EncodeOptions); 4] = [
    (
        "plain",
        EncodeOptions {
            compression: None,
            encrypt: false,
        },
    ),
    (
        "gzip",
        EncodeOptions {
            compression: Some(Compression::Fast),
            encrypt: false,
        },
    ),
    (
        "encrypted",
        EncodeOptions {
            compression: None,
            encrypt: true,
        },
    ),
    (
        "gzip+encrypted",
        EncodeOptions {
            compression: Some(Compression::Default),
            encrypt: true,
        },
    ),
];

/// A realistic document of roughly `n` entries.
pub fn sample_document(n: usize) -> Vec<u8> {
    let conversations: Vec<Value> = (0..n)
        .map(|i| {
            serde_json::json!({
                "id": format!("conv-{i:05}"),
                "title": format!("Conversation number {i} about grids & widgets"),
                "messages": [{"role": "user", "text": "Where did my layout go?"},
                             {"role": "assistant", "text": "It is restored from the last backup."}],
                "tokens": i * 37,
            })
        })
        .collect();
    serde_json::to_vec(&serde_json::json!({
        "version": "1.0.0",
        "conversations": conversations,
        "metadata": {"totalCount": n, "lastUpdated": 1_764_126_784_000u64, "totalTokens": 0},
    }))
    .unwrap()
}

/// Arbitrary JSON values: every scalar kind, unicode strings, nested arrays and objects.
pub fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| Value::Number(n.into())),
        any::<u64>().prop_map(|n| Value::Number(n.into())),
        any::<f64>()
            .prop_filter_map("finite", Number::from_f64)
            .prop_map(Value::Number),
        any::<String>().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::vec((any::<String>(), inner), 0..8)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// Proptest settings: `cases` cases, failures saved beside the tests (the default looks for a
/// `lib.rs` and does not find one in an integration test).
pub fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "tests/all/proptest-regressions.txt",
        ))),
        ..ProptestConfig::default()
    }
}
