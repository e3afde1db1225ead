//! The same key saved many times, in a small store and in a big one, interleaved.

use std::fs;
use std::path::PathBuf;
use std::time::Duration;

use rusqlite::Connection;
use serde_json::json;
use statevault::{Durability, Registry, Store};

use super::contenders::{Fmt, raw_write, sqlite_open, sqlite_put, sv_save_name};
use super::documents::settings;
use super::{Bench, RAW_FULL, SQLITE_FULL};
use crate::harness::{Contender, Group, KIB, contender, timed};
use crate::system::settle;

impl Bench {
    /// The same key saved many times, in a store of 10 keys and in one of `big_store` keys, the
    /// two sizes and every contender interleaved in chunks of saves.
    pub(crate) fn repeated(&mut self) {
        let saves = self.plan.loop_saves;
        let reps = self.plan.reps_loop;
        let value = settings(KIB);
        let bytes = serde_json::to_vec(&value).expect("JSON");
        let sizes = [10, self.plan.big_store];
        struct Setup {
            keys: usize,
            raw_dir: PathBuf,
            stores: Vec<(bool, Store)>,
            conn: Connection,
        }
        let mut setups = Vec::new();
        for keys in sizes {
            eprintln!("filling stores of {keys} keys");
            let base = self.dir(&format!("loop-{keys}"));
            let raw_dir = base.join("raw");
            fs::create_dir_all(&raw_dir).expect("raw folder");
            let db = base.join("sqlite.db");
            let mut stores = Vec::new();
            for audit in [true, false] {
                // Fill with `keys - 1` other keys, without fsync (not measured).
                let dir = base.join(format!("sv-{audit}"));
                {
                    let store = self.open(&dir, Durability::None, false, Registry::empty());
                    for i in 0..keys - 1 {
                        store
                            .save(&format!("fill.k{i:05}"), &value)
                            .expect("fill save");
                    }
                }
                stores.push((
                    audit,
                    self.open(&dir, Durability::Full, audit, Registry::empty()),
                ));
            }
            {
                let mut conn = sqlite_open(&db, "OFF");
                let tx = conn.transaction().expect("begin");
                for i in 0..keys - 1 {
                    raw_write(
                        &raw_dir,
                        &format!("fill-k{i:05}.json"),
                        &bytes,
                        Durability::None,
                    );
                    sqlite_put(&tx, &format!("fill.k{i:05}"), &bytes);
                }
                tx.commit().expect("commit");
            }
            let conn = sqlite_open(&db, "FULL");
            setups.push(Setup {
                keys,
                raw_dir,
                stores,
                conn,
            });
        }
        eprintln!("{saves} saves of one key, stores of {sizes:?} keys interleaved");
        let chunk = (saves / 20).max(1);
        let mut per_size: Vec<Group> = Vec::new();
        let mut contenders: Vec<(usize, Contender<'_>)> = Vec::new();
        for (index, setup) in setups.iter().enumerate() {
            let mut group = Group::new(
                format!(
                    "{saves} saves of one 1 KiB key in a store of {} keys",
                    setup.keys
                ),
                &format!("{saves} saves, {} keys", setup.keys),
                RAW_FULL,
                SQLITE_FULL,
            );
            group.note = format!(
                "The figure is the whole loop (median of {reps}); every contender and both store \
                 sizes ran interleaved in chunks of {chunk} saves. The key shares its folder (or \
                 table) with the {} others.",
                setup.keys - 1
            );
            per_size.push(group);
            let counter = std::cell::Cell::new(0u64);
            let revision = move || {
                counter.set(counter.get() + 1);
                counter.get()
            };
            let value = &value;
            let raw_dir = &setup.raw_dir;
            let next = revision.clone();
            contenders.push((
                index,
                contender(RAW_FULL, true, move || {
                    let mut v = value.clone();
                    timed(|| {
                        for _ in 0..chunk {
                            v["revision"] = json!(next());
                            let bytes = serde_json::to_vec(&v).expect("JSON");
                            raw_write(raw_dir, "fill-target.json", &bytes, Durability::Full);
                        }
                    })
                }),
            ));
            for (audit, store) in &setup.stores {
                let next = revision.clone();
                contenders.push((
                    index,
                    contender(
                        &sv_save_name(Durability::Full, Fmt::Plain, *audit),
                        *audit,
                        move || {
                            let mut v = value.clone();
                            timed(|| {
                                for _ in 0..chunk {
                                    v["revision"] = json!(next());
                                    store.save("fill.target", &v).expect("save");
                                }
                            })
                        },
                    ),
                ));
            }
            let conn = &setup.conn;
            let next = revision.clone();
            contenders.push((
                index,
                contender(SQLITE_FULL, true, move || {
                    let mut v = value.clone();
                    timed(|| {
                        for _ in 0..chunk {
                            v["revision"] = json!(next());
                            let bytes = serde_json::to_vec(&v).expect("JSON");
                            sqlite_put(conn, "fill.target", &bytes);
                        }
                    })
                }),
            ));
        }
        let chunks = saves.div_ceil(chunk);
        settle();
        let mut totals: Vec<Vec<Duration>> = vec![Vec::new(); contenders.len()];
        for _ in 0..reps.max(1) {
            let mut sums = vec![Duration::ZERO; contenders.len()];
            for round in 0..chunks {
                let n = contenders.len();
                for step in 0..n {
                    let i = (round + step) % n;
                    sums[i] += (contenders[i].1.run)();
                }
            }
            for (i, sum) in sums.into_iter().enumerate() {
                totals[i].push(sum);
            }
        }
        for ((index, c), mut times) in contenders.into_iter().zip(totals) {
            times.sort();
            per_size[index].push(c.name, reps, times[times.len() / 2], c.chart);
        }
        drop(setups);
        self.groups.extend(per_size);
    }
}
