//! The codec's pipelines beside their parts run alone: raw flate2 and raw AES-256-GCM-SIV, on 1 MiB
//! and 16 MiB of JSON. The aim: a pipeline costs at most 1.1 × the sum of its parts.

use std::hint::black_box;
use std::io::{Read as _, Write as _};
use std::time::Duration;

use aes_gcm_siv::aead::{AeadInPlace, KeyInit};
use aes_gcm_siv::{Aes256GcmSiv, Nonce};
use criterion::{
    BatchSize, BenchmarkGroup, Criterion, Throughput, criterion_group, criterion_main,
};
use statevault_codec::{
    Compression, Context, DataKey, EncodeOptions, KeyId, KeySet, Limits, Meta, Zeroizing, decode,
    decode_owned, encode, encode_owned_trusted,
};

const CTX: Context<'static> = Context {
    store_id: "bench-store",
    key_name: "history.conversations.all",
};

/// Conversation-history JSON of at least `bytes` bytes.
fn document(bytes: usize) -> Vec<u8> {
    let mut out = b"{\"version\":\"1.0.0\",\"conversations\":[".to_vec();
    let mut i = 0u64;
    while out.len() < bytes {
        if i > 0 {
            out.push(b',');
        }
        write!(
            out,
            "{{\"id\":\"conv-{i:08}\",\"title\":\"Conversation {i} about grid layouts\",\
             \"messages\":[{{\"role\":\"user\",\"text\":\"How do I pin widget {} next to the chat?\",\
             \"ts\":{}}},{{\"role\":\"assistant\",\"text\":\"Drag it onto column {} and press {}.\",\
             \"ts\":{}}}],\"tokens\":{}}}",
            i * 7919 % 1000,
            1_764_126_784_000 + i * 1000,
            i % 12,
            ["Ctrl+P", "Alt+Enter", "Shift+G"][(i % 3) as usize],
            1_764_126_785_000 + i * 1000,
            i * 37 % 4096
        )
        .unwrap();
        i += 1;
    }
    out.extend_from_slice(b"]}");
    out
}

fn gzip(data: &[u8], level: u32) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(level));
    gz.write_all(data).unwrap();
    gz.finish().unwrap()
}

fn gunzip(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(data)
        .read_to_end(&mut out)
        .unwrap();
    out
}

fn seal(cipher: &Aes256GcmSiv, data: &[u8]) -> Vec<u8> {
    let mut buf = data.to_vec();
    let tag = cipher
        .encrypt_in_place_detached(Nonce::from_slice(&[7; 12]), b"aad", &mut buf)
        .unwrap();
    buf.extend_from_slice(&tag);
    buf
}

fn open(cipher: &Aes256GcmSiv, sealed: &[u8]) -> Vec<u8> {
    let (ct, tag) = sealed.split_at(sealed.len() - 16);
    let mut buf = ct.to_vec();
    cipher
        .decrypt_in_place_detached(Nonce::from_slice(&[7; 12]), b"aad", &mut buf, tag.into())
        .unwrap();
    buf
}

fn configure(group: &mut BenchmarkGroup<'_, criterion::measurement::WallTime>, bytes: usize) {
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .throughput(Throughput::Bytes(bytes as u64));
}

fn benches(c: &mut Criterion) {
    let keys = KeySet::single(DataKey::new(KeyId(1), Zeroizing::new([9; 32])).unwrap());
    let cipher = Aes256GcmSiv::new((&[9u8; 32]).into());
    let meta = Meta {
        schema_version: "1.0.0".into(),
        saved_at_ms: 1_764_126_784_000,
    };
    let pipelines = [
        ("gzip1", Some(Compression::Fast), false),
        ("gzip6", Some(Compression::Default), false),
        ("encrypt", None, true),
        ("gzip1+encrypt", Some(Compression::Fast), true),
        ("gzip6+encrypt", Some(Compression::Default), true),
    ];

    for (label, size) in [("1MiB", 1 << 20), ("16MiB", 16 << 20)] {
        let data = document(size);

        let mut g = c.benchmark_group(format!("encode/{label}"));
        configure(&mut g, data.len());
        g.bench_function("raw/flate2-1", |b| b.iter(|| gzip(black_box(&data), 1)));
        g.bench_function("raw/flate2-6", |b| b.iter(|| gzip(black_box(&data), 6)));
        g.bench_function("raw/aes-gcm-siv", |b| {
            b.iter(|| seal(&cipher, black_box(&data)))
        });
        let gz1 = gzip(&data, 1);
        let gz6 = gzip(&data, 6);
        g.bench_function("raw/aes-gcm-siv-of-gzip1", |b| {
            b.iter(|| seal(&cipher, black_box(&gz1)))
        });
        g.bench_function("raw/aes-gcm-siv-of-gzip6", |b| {
            b.iter(|| seal(&cipher, black_box(&gz6)))
        });
        g.bench_function("codec/plain", |b| {
            b.iter(|| {
                encode(
                    black_box(&data),
                    &meta,
                    &EncodeOptions::default(),
                    &CTX,
                    None,
                )
                .unwrap()
            })
        });
        for (name, compression, encrypt) in pipelines {
            let opts = EncodeOptions {
                compression,
                encrypt,
            };
            g.bench_function(format!("codec/{name}"), |b| {
                b.iter(|| encode(black_box(&data), &meta, &opts, &CTX, Some(&keys)).unwrap())
            });
        }
        g.finish();

        let mut g = c.benchmark_group(format!("decode/{label}"));
        configure(&mut g, data.len());
        g.bench_function("raw/flate2-1", |b| b.iter(|| gunzip(black_box(&gz1))));
        g.bench_function("raw/flate2-6", |b| b.iter(|| gunzip(black_box(&gz6))));
        let sealed = seal(&cipher, &data);
        g.bench_function("raw/aes-gcm-siv", |b| {
            b.iter(|| open(&cipher, black_box(&sealed)))
        });
        let plain = encode(&data, &meta, &EncodeOptions::default(), &CTX, None).unwrap();
        g.bench_function("codec/plain", |b| {
            b.iter(|| decode(black_box(&plain), &CTX, None, &Limits::default()).unwrap())
        });
        for (name, compression, encrypt) in pipelines {
            let file = encode(
                &data,
                &meta,
                &EncodeOptions {
                    compression,
                    encrypt,
                },
                &CTX,
                Some(&keys),
            )
            .unwrap();
            g.bench_function(format!("codec/{name}"), |b| {
                b.iter(|| decode(black_box(&file), &CTX, Some(&keys), &Limits::default()).unwrap())
            });
        }
        g.finish();
    }
}

/// What the facade's load and save cost on top of `serde_json` (the aim: a 1 MiB plain load at
/// ≥ 80 % of the parse's throughput): a plain file decoded and its data parsed into a
/// `serde_json::Value`, beside the parse of the same data bytes alone; a value serialized and
/// encoded, beside the serialization alone.
fn facade(c: &mut Criterion) {
    let meta = Meta {
        schema_version: "1.0.0".into(),
        saved_at_ms: 1_764_126_784_000,
    };
    let data = document(1 << 20);
    let value: serde_json::Value = serde_json::from_slice(&data).unwrap();
    let plain = encode(&data, &meta, &EncodeOptions::default(), &CTX, None).unwrap();

    let mut g = c.benchmark_group("load/1MiB");
    configure(&mut g, data.len());
    // Every row drops its `Value` outside the timing (the caller keeps it).
    g.bench_function("serde_json/parse", |b| {
        b.iter_with_large_drop(|| {
            serde_json::from_slice::<serde_json::Value>(black_box(&data)).unwrap()
        })
    });
    g.bench_function("codec/decode+parse", |b| {
        b.iter_with_large_drop(|| {
            let d = decode(black_box(&plain), &CTX, None, &Limits::default()).unwrap();
            serde_json::from_slice::<serde_json::Value>(&d.data).unwrap()
        })
    });
    // The file's buffer is made outside the timing, as `fs::read` makes it in the facade.
    g.bench_function("codec/decode_owned+parse", |b| {
        b.iter_batched(
            || plain.clone(),
            |file| {
                let d = decode_owned(file, &CTX, None, &Limits::default()).unwrap();
                serde_json::from_slice::<serde_json::Value>(&d.data).unwrap()
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();

    let mut g = c.benchmark_group("save/1MiB");
    configure(&mut g, data.len());
    g.bench_function("serde_json/to_vec", |b| {
        b.iter(|| serde_json::to_vec(black_box(&value)).unwrap())
    });
    g.bench_function("codec/to_vec+encode", |b| {
        b.iter(|| {
            let data = serde_json::to_vec(black_box(&value)).unwrap();
            encode(&data, &meta, &EncodeOptions::default(), &CTX, None).unwrap()
        })
    });
    g.bench_function("codec/to_vec+encode_owned_trusted", |b| {
        b.iter(|| {
            let data = serde_json::to_vec(black_box(&value)).unwrap();
            encode_owned_trusted(data, &meta, &EncodeOptions::default(), &CTX, None).unwrap()
        })
    });
    g.finish();
}

criterion_group!(codec, benches, facade);
criterion_main!(codec);
