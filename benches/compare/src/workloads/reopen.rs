//! Open a store, then load every key of it.

use std::fs;
use std::path::PathBuf;

use serde_json::Value;
use statevault::{Durability, Registry};

use super::contenders::{raw_write, sqlite_open, sqlite_put};
use super::documents::settings;
use super::{Bench, RAW_LOAD, SQLITE_LOAD};
use crate::harness::{Contender, Group, KIB, contender, rounds, timed};

impl Bench {
    /// Open, then load every key of a store of `many_keys` keys.
    pub(crate) fn reopen(&mut self) {
        let n = self.plan.many_keys;
        let reps = self.plan.reps_many;
        let value = settings(KIB);
        eprintln!("reopen and load {n} keys");
        let base = self.dir("many");
        let raw_dir = base.join("raw");
        fs::create_dir_all(&raw_dir).expect("raw folder");
        let sv_dir = base.join("sv");
        let db = base.join("sqlite.db");
        let bytes = serde_json::to_vec(&value).expect("JSON");
        {
            let store = self.open(&sv_dir, Durability::None, true, Registry::empty());
            let mut conn = sqlite_open(&db, "OFF");
            let tx = conn.transaction().expect("begin");
            for i in 0..n {
                raw_write(&raw_dir, &format!("k{i:05}.json"), &bytes, Durability::None);
                store.save(&format!("many.k{i:05}"), &value).expect("save");
                sqlite_put(&tx, &format!("many.k{i:05}"), &bytes);
            }
            tx.commit().expect("commit");
        }
        let mut group = Group::new(
            format!("Open, then load every key of a store of {n} keys of 1 KiB"),
            &format!("reopen + load {n}"),
            RAW_LOAD,
            SQLITE_LOAD,
        );
        group.note = "Page cache warm (nothing is dropped between runs). statevault's time \
                      includes `Store::open` (lock, identity, recovery check, size scan, \
                      audit log tail) and `keys(\"\")`."
            .to_owned();
        {
            let this = &*self;
            let (raw_dir, sv_dir, db) = (&raw_dir, &sv_dir, &db);
            let mut contenders: Vec<Contender<'_>> = Vec::new();
            contenders.push(contender(RAW_LOAD, true, move || {
                timed(|| {
                    let mut names: Vec<PathBuf> = fs::read_dir(raw_dir)
                        .expect("list")
                        .map(|e| e.expect("entry").path())
                        .collect();
                    names.sort();
                    for path in names {
                        let bytes = fs::read(&path).expect("read");
                        std::hint::black_box(
                            serde_json::from_slice::<Value>(&bytes).expect("parse"),
                        );
                    }
                })
            }));
            for audit in [true, false] {
                let name = format!(
                    "statevault open + load each{}",
                    if audit { "" } else { ", audit off" }
                );
                contenders.push(contender(&name, audit, move || {
                    timed(|| {
                        let store = this.open(sv_dir, Durability::Full, audit, Registry::empty());
                        for key in store.keys("").expect("keys") {
                            std::hint::black_box(store.load::<Value>(key.as_str()).expect("load"));
                        }
                    })
                }));
            }
            contenders.push(contender(
                "statevault open + load_batch",
                false,
                move || {
                    timed(|| {
                        let store = this.open(sv_dir, Durability::Full, true, Registry::empty());
                        let keys = store.keys("").expect("keys");
                        let names: Vec<&str> = keys.iter().map(|k| k.as_str()).collect();
                        std::hint::black_box(
                            store.load_batch::<Value>(&names).expect("load_batch"),
                        );
                    })
                },
            ));
            contenders.push(contender(SQLITE_LOAD, true, move || {
                timed(|| {
                    let conn = sqlite_open(db, "FULL");
                    let mut statement = conn
                        .prepare("SELECT key, value FROM kv ORDER BY key")
                        .expect("prepare");
                    let mut rows = statement.query([]).expect("query");
                    while let Some(row) = rows.next().expect("row") {
                        let bytes = row.get_ref(1).and_then(|v| Ok(v.as_blob()?)).expect("blob");
                        std::hint::black_box(
                            serde_json::from_slice::<Value>(bytes).expect("parse"),
                        );
                    }
                })
            }));
            rounds(&mut group, reps, true, &mut contenders);
        }
        self.groups.push(group);
    }
}
