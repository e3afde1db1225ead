//! Snapshot cost: a store of 1,000 keys and 100 MiB (100 KiB values).
//!
//! - `first snapshot` against `plain copy` (read, write and fsync every file into a fresh
//!   folder): the aim is at most 1.2 × the copy. The snapshot overlaps its fsyncs on a few
//!   threads, so `plain copy on 4 threads` is shown too.
//! - `second snapshot` after one key changed: the aim is under 50 ms, adding no more than the
//!   changed value plus the manifest. The bytes added are printed once before the timings.

use std::hint::black_box;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use statevault_backup::{Backups, CreateOptions};
use statevault_core::{Durability, Key, Storage};

const KEYS: usize = 1_000;
const VALUE: usize = 100 * 1024;

/// Distinct, incompressible-looking content per key and generation (xorshift).
fn value(key: usize, generation: u64) -> Vec<u8> {
    let mut x = (key as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ generation.wrapping_add(1);
    (0..VALUE)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn key(i: usize) -> Key {
    Key::parse(&format!("history.conversations.c{i:04}")).unwrap()
}

fn build_store(root: &Path) -> Storage {
    let storage = Storage::open(root).unwrap();
    for i in 0..KEYS {
        storage
            .write(&key(i), &value(i, 0), Durability::Normal)
            .unwrap();
    }
    storage
}

fn bytes_under(dir: &Path) -> u64 {
    let mut total = 0;
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    for entry in entries {
        let entry = entry.unwrap();
        let meta = entry.metadata().unwrap();
        total += if meta.is_dir() {
            bytes_under(&entry.path())
        } else {
            meta.len()
        };
    }
    total
}

/// The baseline: what copying the store's files costs, with the same per-file durability.
fn plain_copy(files: &[PathBuf], to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for (n, path) in files.iter().enumerate() {
        let bytes = std::fs::read(path).unwrap();
        let mut out = std::fs::File::create(to.join(n.to_string())).unwrap();
        out.write_all(&bytes).unwrap();
        out.sync_data().unwrap();
    }
}

fn snapshot(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let storage = build_store(dir.path());
    let files: Vec<PathBuf> = (0..KEYS).map(|i| storage.path_of(&key(i))).collect();
    let backups_dir = dir.path().join("backups");
    let copy_dir = dir.path().join(".copy");

    let mut group = c.benchmark_group("snapshot of 1,000 keys, 100 MiB");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    group.throughput(Throughput::Bytes((KEYS * VALUE) as u64));
    group.bench_function("plain copy (read, write, fsync per file)", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let _ = std::fs::remove_dir_all(&copy_dir);
                let start = Instant::now();
                plain_copy(black_box(&files), &copy_dir);
                total += start.elapsed();
            }
            total
        })
    });
    // The snapshot overlaps its fsyncs on a few threads; the same trick applied to the copy
    // is the fairest reference for what the hardware can do.
    group.bench_function("plain copy on 4 threads", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let _ = std::fs::remove_dir_all(&copy_dir);
                let start = Instant::now();
                std::thread::scope(|scope| {
                    for (t, part) in files.chunks(KEYS / 4).enumerate() {
                        let to = copy_dir.join(t.to_string());
                        scope.spawn(move || plain_copy(part, &to));
                    }
                });
                total += start.elapsed();
            }
            total
        })
    });
    let _ = std::fs::remove_dir_all(&copy_dir);
    group.bench_function("first snapshot", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let _ = std::fs::remove_dir_all(&backups_dir);
                let start = Instant::now();
                black_box(
                    Backups::new(&storage)
                        .create(&CreateOptions::default())
                        .unwrap(),
                );
                total += start.elapsed();
            }
            total
        })
    });
    group.finish();

    // One snapshot exists now; measure what a second one adds after one key changed.
    let backups = Backups::new(&storage);
    let mut generation = 1;
    storage
        .write(&key(500), &value(500, generation), Durability::Normal)
        .unwrap();
    let before = bytes_under(&backups_dir);
    let info = backups.create(&CreateOptions::default()).unwrap();
    let added = bytes_under(&backups_dir) - before;
    let manifest = std::fs::metadata(
        backups_dir
            .join("manual")
            .join(format!("{}.manifest.json", info.id)),
    )
    .unwrap()
    .len();
    eprintln!(
        "second snapshot after changing one {VALUE}-byte key: {added} bytes added \
         (value {VALUE} + manifest {manifest} + index delta {})",
        added as i64 - VALUE as i64 - manifest as i64
    );

    let mut group = c.benchmark_group("second snapshot after one change");
    group.sample_size(10);
    group.bench_function("second snapshot", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                generation += 1;
                storage
                    .write(&key(500), &value(500, generation), Durability::Normal)
                    .unwrap();
                let start = Instant::now();
                black_box(backups.create(&CreateOptions::default()).unwrap());
                total += start.elapsed();
            }
            total
        })
    });
    group.finish();
}

criterion_group!(benches, snapshot);
criterion_main!(benches);
