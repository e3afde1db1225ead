//! Save and load through the facade beside the raw primitive, per durability and size.
//!
//! `cargo bench -p statevault --bench store`. Aims: a Full save of 1 KiB within 1.10×
//! of the raw primitive (temp write + fsync + rename + folder fsync); a load of 1 KiB within
//! 1.5× of read + `serde_json` parse.

use std::hint::black_box;
use std::io::Write;
use std::path::Path;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use serde_json::{Value, json};
use statevault::{Durability, Store, StoreOptions};

/// A JSON document of about `bytes` bytes, shaped like settings (many small fields).
fn document(bytes: usize) -> Value {
    let mut map = serde_json::Map::new();
    let mut i = 0;
    while serde_json::to_vec(&map).map_or(0, |v| v.len()) < bytes {
        for _ in 0..64 {
            map.insert(
                format!("field-{i:06}"),
                json!({"on": i % 2 == 0, "label": "x".repeat(12)}),
            );
            i += 1;
        }
    }
    Value::Object(map)
}

/// What a durable single-file save costs below statevault: serialize, temp file, write, fsync,
/// rename, folder fsync (the same serialization statevault does, so the two compare the same
/// work).
fn raw_replace(dir: &Path, value: &Value, durability: Durability) {
    let target = dir.join("raw.json");
    let temp = dir.join(".raw.json.tmp");
    let bytes = serde_json::to_vec(value).unwrap();
    let mut file = std::fs::File::create(&temp).unwrap();
    file.write_all(&bytes).unwrap();
    if durability != Durability::None {
        file.sync_data().unwrap();
    }
    drop(file);
    std::fs::rename(&temp, &target).unwrap();
    if durability == Durability::Full {
        std::fs::File::open(dir).unwrap().sync_all().unwrap();
    }
}

fn saves(c: &mut Criterion) {
    for (label, size) in [("1KiB", 1024), ("64KiB", 64 * 1024), ("1MiB", 1024 * 1024)] {
        let value = document(size);
        let bytes = serde_json::to_vec(&value).unwrap();
        let mut group = c.benchmark_group(format!("save-{label}"));
        group
            .sample_size(20)
            .measurement_time(Duration::from_secs(4))
            .throughput(Throughput::Bytes(bytes.len() as u64));
        for durability in [Durability::Full, Durability::Normal, Durability::None] {
            let name = format!("{durability:?}").to_lowercase();
            let dir = tempfile::tempdir().unwrap();
            let store =
                Store::open_with(dir.path(), StoreOptions::new().durability(durability)).unwrap();
            group.bench_function(BenchmarkId::new("statevault", &name), |b| {
                b.iter(|| store.save("plugins.bench", black_box(&value)).unwrap());
            });
            let raw_dir = tempfile::tempdir().unwrap();
            group.bench_function(BenchmarkId::new("raw", &name), |b| {
                b.iter(|| raw_replace(raw_dir.path(), black_box(&value), durability));
            });
        }
        group.finish();
    }
}

fn loads(c: &mut Criterion) {
    for (label, size) in [("1KiB", 1024), ("64KiB", 64 * 1024), ("1MiB", 1024 * 1024)] {
        let value = document(size);
        let bytes = serde_json::to_vec(&value).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        store.save("plugins.bench", &value).unwrap();
        let raw = dir.path().join("raw.json");
        std::fs::write(&raw, &bytes).unwrap();
        let mut group = c.benchmark_group(format!("load-{label}"));
        group
            .sample_size(20)
            .measurement_time(Duration::from_secs(3))
            .throughput(Throughput::Bytes(bytes.len() as u64));
        group.bench_function("statevault", |b| {
            b.iter(|| black_box(store.load::<Value>("plugins.bench").unwrap()));
        });
        group.bench_function("raw-read-parse", |b| {
            b.iter(|| {
                let bytes = std::fs::read(&raw).unwrap();
                black_box(serde_json::from_slice::<Value>(&bytes).unwrap())
            });
        });
        group.finish();
    }
}

criterion_group!(benches, saves, loads);
criterion_main!(benches);
