//! What the one commit path changes: many single saves of distinct keys with their checkpoints
//! and close, and loads while the journal holds many records (by the writer, and by a
//! read-only handle that reads the journal through its index).

use std::fs;

use serde_json::Value;
use statevault::{Store, StoreOptions};

use super::contenders::{raw_read, raw_write, sqlite_open, sqlite_put};
use super::documents::settings;
use super::{Bench, RAW_FULL, RAW_LOAD, SQLITE_FULL};
use crate::harness::{Contender, Group, KIB, contender, rounds, timed};

/// How many distinct keys the many-saves workload saves.
pub(crate) const MANY_SAVES: usize = 5000;
/// How many records the journal holds while the loads are timed.
pub(crate) const PENDING: usize = 1000;
/// The row of the writer's load while records are pending.
pub(crate) const SV_WRITER_LOAD: &str = "statevault load by the writer (1,000 records pending)";
/// The row of a read-only handle's load while records are pending.
pub(crate) const SV_READER_LOAD: &str =
    "statevault load by a read-only handle (1,000 records pending)";
/// The row of statevault's many saves.
pub(crate) const SV_MANY: &str = "statevault Full plain, checkpoints and close included";

impl Bench {
    /// The workloads of the one commit path.
    pub(crate) fn journal(&mut self) {
        let value = settings(KIB);
        let bytes = serde_json::to_vec(&value).expect("JSON");
        self.many_saves(&bytes, &value);
        self.pending_loads(&bytes, &value);
    }

    fn many_saves(&mut self, bytes: &[u8], value: &Value) {
        eprintln!("{MANY_SAVES} single saves of distinct keys");
        let mut group = Group::new(
            format!("Many saves: {MANY_SAVES} distinct 1 KiB keys, per key"),
            "per key",
            RAW_FULL,
            SQLITE_FULL,
        );
        let reps = if self.plan.reps_batch > 5 { 3 } else { 1 };
        let root = self.dir("many");
        {
            let fresh = |what: &str| {
                let dir = root.join(format!("{what}-{}", next_round()));
                let _ = fs::remove_dir_all(&dir);
                dir
            };
            let mut contenders: Vec<Contender<'_>> = Vec::new();
            contenders.push(contender(RAW_FULL, true, || {
                let dir = fresh("raw");
                fs::create_dir_all(&dir).expect("raw folder");
                let total = timed(|| {
                    for i in 0..MANY_SAVES {
                        raw_write(
                            &dir,
                            &format!("k{i:05}.json"),
                            bytes,
                            statevault::Durability::Full,
                        );
                    }
                });
                let _ = fs::remove_dir_all(&dir);
                total / MANY_SAVES as u32
            }));
            contenders.push(contender(SV_MANY, true, || {
                let dir = fresh("sv");
                let store = Store::open_with(&dir, StoreOptions::new()).expect("open");
                let total = timed(|| {
                    for i in 0..MANY_SAVES {
                        store.save(&format!("many.k{i:05}"), value).expect("save");
                    }
                    drop(store);
                });
                let _ = fs::remove_dir_all(&dir);
                total / MANY_SAVES as u32
            }));
            contenders.push(contender(SQLITE_FULL, true, || {
                let dir = fresh("sqlite");
                fs::create_dir_all(&dir).expect("sqlite folder");
                let conn = sqlite_open(&dir.join("db.sqlite"), "FULL");
                let total = timed(|| {
                    for i in 0..MANY_SAVES {
                        sqlite_put(&conn, &format!("many.k{i:05}"), bytes);
                    }
                    drop(conn);
                });
                let _ = fs::remove_dir_all(&dir);
                total / MANY_SAVES as u32
            }));
            rounds(&mut group, reps, false, &mut contenders);
        }
        self.groups.push(group);
    }

    fn pending_loads(&mut self, bytes: &[u8], value: &Value) {
        eprintln!("loads while {PENDING} records are pending");
        let mut group = Group::new(
            format!("Load: 1 KiB while {PENDING} records are pending"),
            "load 1 KiB",
            RAW_LOAD,
            "",
        );
        let raw_dir = self.dir("pending-raw");
        raw_write(&raw_dir, "k.json", bytes, statevault::Durability::None);
        let dir = self.sv_dir("pending");
        let writer =
            Store::open_with(&dir, StoreOptions::new().idle_checkpoint(None)).expect("open writer");
        for i in 0..PENDING {
            writer
                .save(&format!("pending.k{i:04}"), value)
                .expect("save");
        }
        assert_eq!(writer.pending_batches().expect("journal"), PENDING);
        let reader =
            Store::open_with(&dir, StoreOptions::new().read_only(true)).expect("open reader");
        let key = format!("pending.k{:04}", PENDING / 2);
        {
            let mut contenders = vec![
                contender(RAW_LOAD, true, || {
                    timed(|| {
                        std::hint::black_box(raw_read(&raw_dir, "k.json"));
                    })
                }),
                contender(SV_WRITER_LOAD, true, || {
                    timed(|| {
                        let loaded: Option<Value> = writer.load(&key).expect("load");
                        std::hint::black_box(loaded.expect("present"));
                    })
                }),
                contender(SV_READER_LOAD, true, || {
                    timed(|| {
                        let loaded: Option<Value> = reader.load(&key).expect("load");
                        std::hint::black_box(loaded.expect("present"));
                    })
                }),
            ];
            rounds(&mut group, self.plan.reps_1k, true, &mut contenders);
        }
        self.groups.push(group);
    }
}

/// A number that differs between calls, for fresh folder names.
fn next_round() -> usize {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}
