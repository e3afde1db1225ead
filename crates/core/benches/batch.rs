//! Batches against single saves, and single saves against the raw primitive.
//!
//! `cargo bench -p statevault-core --bench batch`. Aim: a batch of 100 keys costs at
//! most 3× one single Full save; compare `batch/100` with `single-save/full/1KiB`.
//!
//! `batch` runs with the default checkpoint size, so criterion's mean includes the checkpoints
//! that happen every 8 MiB of journal (amortized); `batch-checkpoint-every` pays a checkpoint
//! in every iteration (`checkpoint_bytes(0)`), the cost of the earlier journal of renames.

use std::hint::black_box;
use std::io::Write;
use std::path::Path;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use statevault_core::{BatchOp, Durability, Key, OpenOptions, Storage};

fn keys(n: usize) -> Vec<Key> {
    (0..n)
        .map(|i| Key::parse(&format!("settings.k{i}")).unwrap())
        .collect()
}

fn batches_vs_singles(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::open(dir.path()).unwrap();
    let eager_dir = tempfile::tempdir().unwrap();
    let eager =
        Storage::open_with(eager_dir.path(), OpenOptions::new().checkpoint_bytes(0)).unwrap();
    let value = vec![b'x'; 1024];
    let ops = |keys: &[Key]| -> Vec<BatchOp> {
        keys.iter()
            .map(|k| BatchOp::Put {
                key: k.clone(),
                bytes: value.clone(),
            })
            .collect()
    };
    let mut group = c.benchmark_group("batch-vs-single-saves-1KiB");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(3));
    for n in [10, 100] {
        let keys = keys(n);
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::new("batch", n), &keys, |b, keys| {
            b.iter(|| storage.commit_batch(ops(keys), Durability::Full).unwrap());
        });
        group.bench_with_input(
            BenchmarkId::new("batch-checkpoint-every", n),
            &keys,
            |b, keys| {
                b.iter(|| eager.commit_batch(ops(keys), Durability::Full).unwrap());
            },
        );
        group.bench_with_input(
            BenchmarkId::new("single-full-saves", n),
            &keys,
            |b, keys| {
                b.iter(|| {
                    for k in keys {
                        storage.write(k, &value, Durability::Full).unwrap();
                    }
                });
            },
        );
    }
    group.finish();
}

/// temp write + fsync + rename + folder fsync with std::fs: what a single Full save costs
/// below this crate.
fn raw_replace(dir: &Path, bytes: &[u8]) {
    let temp = dir.join(".raw.tmp");
    let mut f = std::fs::File::create(&temp).unwrap();
    f.write_all(bytes).unwrap();
    f.sync_data().unwrap();
    drop(f);
    std::fs::rename(&temp, dir.join("raw.json")).unwrap();
    std::fs::File::open(dir).unwrap().sync_all().unwrap();
}

fn single_saves(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::open(dir.path()).unwrap();
    let key = Key::parse("settings.bench").unwrap();
    let raw_dir = dir.path().join("raw");
    std::fs::create_dir(&raw_dir).unwrap();
    let mut group = c.benchmark_group("single-save");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(3));
    for (label, size) in [("1KiB", 1024), ("64KiB", 64 * 1024), ("1MiB", 1024 * 1024)] {
        let value = vec![b'x'; size];
        group.throughput(Throughput::Bytes(size as u64));
        for (name, durability) in [
            ("full", Durability::Full),
            ("normal", Durability::Normal),
            ("none", Durability::None),
        ] {
            group.bench_function(BenchmarkId::new(name, label), |b| {
                b.iter(|| storage.write(&key, black_box(&value), durability).unwrap());
            });
        }
        group.bench_function(BenchmarkId::new("raw-std-fs", label), |b| {
            b.iter(|| raw_replace(&raw_dir, black_box(&value)));
        });
    }
    group.finish();
}

criterion_group!(benches, batches_vs_singles, single_saves);
criterion_main!(benches);
