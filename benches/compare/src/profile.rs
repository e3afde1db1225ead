//! One statevault operation in a loop, for a profiler.

use std::path::Path;
use std::sync::Arc;

use serde_json::Value;
use statevault::{Batch, KeySet, Registry, StaticKeyProvider, Store, StoreOptions};

use crate::harness::{KIB, MIB};
use crate::workloads::contenders::Fmt;
use crate::workloads::documents::{history, settings};

/// `STATEVAULT_BENCH_PROFILE=<op>[:<times>]`: runs one statevault operation in a loop and
/// nothing else, for `valgrind --tool=callgrind` or `perf record`. Ops: `save-1k`, `load-1m`,
/// `save-16m-both`, `load-16m-both`, `batch`; each also as `<op>-audit-off`.
pub(crate) fn profile(root: &Path, spec: &str, keys: KeySet) {
    let (op, times) = spec.split_once(':').unwrap_or((spec, "20"));
    let times: usize = times.parse().expect("a count after the colon");
    let provider = Arc::new(StaticKeyProvider::new(keys));
    // `<op>-audit-off`: the same with the audit log off.
    let (op, audit) = match op.strip_suffix("-audit-off") {
        Some(op) => (op, false),
        None => (op, true),
    };
    let store = Store::open_with(
        root.join("sv"),
        StoreOptions::new()
            .key_provider(provider)
            .registry(Registry::empty())
            .audit_log(audit),
    )
    .expect("open");
    let both = Fmt::Both.options();
    match op {
        "save-1k" => {
            let value = settings(KIB);
            for _ in 0..times {
                store.save("bench.settings", &value).expect("save");
            }
        }
        "load-1m" => {
            store.save("bench.history", &history(MIB)).expect("save");
            for _ in 0..times {
                std::hint::black_box(store.load::<Value>("bench.history").expect("load"));
            }
        }
        "save-16m-both" => {
            let value = history(16 * MIB);
            for _ in 0..times {
                store
                    .save_with("bench.history", &value, &both)
                    .expect("save");
            }
        }
        "load-16m-both" => {
            let value = history(16 * MIB);
            store
                .save_with("bench.history", &value, &both)
                .expect("save");
            for _ in 0..times {
                std::hint::black_box(store.load::<Value>("bench.history").expect("load"));
            }
        }
        "batch" => {
            let value = settings(KIB);
            for _ in 0..times {
                let mut batch = Batch::new();
                for i in 0..100 {
                    batch
                        .save(&format!("batch.k{i:03}"), &value)
                        .expect("batch");
                }
                store.save_batch(batch).expect("save_batch");
            }
        }
        other => panic!("unknown profile op {other:?}"),
    }
}
