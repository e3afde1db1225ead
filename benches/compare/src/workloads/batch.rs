//! A batch of keys: statevault's all-or-nothing batch, SQLite's transaction, raw saves.

use std::sync::Arc;

use statevault::{Batch, Durability, Registry, StaticKeyProvider, Store, StoreOptions};

use super::contenders::{Fmt, level_label, raw_write, sqlite_open, sqlite_put, sv_save_name};
use super::documents::settings;
use super::{
    AMORTIZE, Bench, RAW_FULL, SQLITE_BATCH_AMORTIZED, SQLITE_FULL, SQLITE_NORMAL,
    SV_BATCH_AMORTIZED, SV_BATCH_EAGER,
};
use crate::harness::{Contender, Group, KIB, contender, rounds, timed};

impl Bench {
    /// A batch of keys: statevault's all-or-nothing batch, SQLite's transaction, raw saves.
    pub(crate) fn batch(&mut self) {
        let n = self.plan.batch_keys;
        let reps = self.plan.reps_batch;
        let value = settings(KIB);
        let keys: Vec<String> = (0..n).map(|i| format!("batch.k{i:03}")).collect();
        eprintln!("batch of {n} keys");
        let mut group = Group::new(
            format!("Batch: {n} keys of 1 KiB in one call"),
            &format!("batch {n}"),
            RAW_FULL,
            SQLITE_FULL,
        );
        group.note = format!(
            "raw = {n} independent raw saves (not atomic as a group); SQLite = one transaction; \
             statevault = `Batch` + `save_batch` (journalled, all-or-nothing). Both statevault \
             and SQLite commit by appending to a journal and defer the copy into place (a \
             checkpoint: statevault every 8 MiB of journal, SQLite every 4 MiB), so a batch's median does \
             not include it; the \"amortized\" rows run {AMORTIZE} batches and the checkpoint \
             and divide the total by {AMORTIZE}, and the \"checkpoint every batch\" row pays it \
             each time."
        );
        let raw_dir = self.dir("raw-batch");
        let stores: Vec<(Durability, bool, Store)> = [
            (Durability::Full, true),
            (Durability::Full, false),
            (Durability::None, true),
        ]
        .into_iter()
        .map(|(level, audit)| {
            let dir = self.sv_dir(&format!("{}-{audit}", level_label(level)));
            (
                level,
                audit,
                self.open(&dir, level, audit, Registry::empty()),
            )
        })
        .collect();
        let eager = {
            let provider = Arc::new(StaticKeyProvider::new(self.keys.clone()));
            Store::open_with(
                self.sv_dir("full-checkpoint-every-batch"),
                StoreOptions::new()
                    .key_provider(provider)
                    .checkpoint_bytes(0),
            )
            .expect("open store")
        };
        let amortized = self.open(
            &self.sv_dir("full-amortized"),
            Durability::Full,
            true,
            Registry::empty(),
        );
        {
            let (keys, value, raw_dir) = (&keys, &value, &raw_dir);
            let save_batch = move |store: &Store| {
                let mut batch = Batch::new();
                for key in keys {
                    batch.save(key, value).expect("batch save");
                }
                store.save_batch(batch).expect("save_batch");
            };
            let mut contenders: Vec<Contender<'_>> = Vec::new();
            contenders.push(contender(RAW_FULL, true, move || {
                timed(|| {
                    for key in keys {
                        let bytes = serde_json::to_vec(value).expect("JSON");
                        raw_write(raw_dir, &format!("{key}.json"), &bytes, Durability::Full);
                    }
                })
            }));
            for (level, audit, store) in &stores {
                contenders.push(contender(
                    &sv_save_name(*level, Fmt::Plain, *audit),
                    *level == Durability::Full && *audit,
                    move || {
                        timed(|| {
                            let mut batch = Batch::new();
                            for key in keys {
                                batch.save(key, value).expect("batch save");
                            }
                            store.save_batch(batch).expect("save_batch");
                        })
                    },
                ));
            }
            let (eager, amortized) = (&eager, &amortized);
            contenders.push(contender(SV_BATCH_EAGER, true, move || {
                timed(|| save_batch(eager))
            }));
            contenders.push(contender(SV_BATCH_AMORTIZED, true, move || {
                timed(|| {
                    for _ in 0..AMORTIZE {
                        save_batch(amortized);
                    }
                    amortized.checkpoint().expect("checkpoint");
                }) / AMORTIZE
            }));
            let mut conn = sqlite_open(&self.root.join("sqlite-amortized.db"), "FULL");
            contenders.push(contender(SQLITE_BATCH_AMORTIZED, true, move || {
                timed(|| {
                    for _ in 0..AMORTIZE {
                        let tx = conn.transaction().expect("begin");
                        for key in keys {
                            let bytes = serde_json::to_vec(value).expect("JSON");
                            sqlite_put(&tx, key, &bytes);
                        }
                        tx.commit().expect("commit");
                    }
                    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
                        .expect("checkpoint");
                }) / AMORTIZE
            }));
            for (sync, name) in [("FULL", SQLITE_FULL), ("NORMAL", SQLITE_NORMAL)] {
                let mut conn = sqlite_open(
                    &self.root.join(format!("sqlite-{}.db", sync.to_lowercase())),
                    sync,
                );
                contenders.push(contender(name, sync == "FULL", move || {
                    timed(|| {
                        let tx = conn.transaction().expect("begin");
                        for key in keys {
                            let bytes = serde_json::to_vec(value).expect("JSON");
                            sqlite_put(&tx, key, &bytes);
                        }
                        tx.commit().expect("commit");
                    })
                }));
            }
            rounds(&mut group, reps, true, &mut contenders);
        }
        self.groups.push(group);
    }
}
