//! The workloads of the run, each a method of [`Bench`] in its own module, and the documents
//! and contenders they share.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use statevault::{Durability, KeySet, Registry, StaticKeyProvider, Store, StoreOptions};

use crate::aims::Aim;
use crate::harness::{Group, KIB, MIB, Plan, format_bytes};

mod batch;
/// The raw primitive, SQLite, and the names of statevault's rows.
pub(crate) mod contenders;
/// The documents saved and loaded.
pub(crate) mod documents;
pub(crate) mod journal;
mod memory;
mod parts;
pub(crate) mod patch;
mod reopen;
mod repeated;
mod single;

use documents::{history, layout, settings};

// Row names that ratios and aims refer to.
/// The raw primitive at `Durability::Full`: the floor of a durable save.
pub(crate) const RAW_FULL: &str = "raw: temp + fdatasync + rename + folder fsync";
/// The raw primitive without the folder fsync.
pub(crate) const RAW_NORMAL: &str = "raw: temp + fdatasync + rename";
/// The raw primitive without any sync.
pub(crate) const RAW_NONE: &str = "raw: temp + rename, no fsync";
/// The raw load: read the file, parse it.
pub(crate) const RAW_LOAD: &str = "raw: read + serde_json parse";
/// Parsing bytes already in memory: the floor of a load.
pub(crate) const PARSE_ONLY: &str = "serde_json parse only (bytes in memory)";
/// SQLite with `synchronous=FULL`, the base of the `× SQLite` ratios.
pub(crate) const SQLITE_FULL: &str = "SQLite WAL, synchronous=FULL";
/// SQLite with `synchronous=NORMAL`, shown beside.
pub(crate) const SQLITE_NORMAL: &str = "SQLite WAL, synchronous=NORMAL";
/// SQLite's load: select the row, parse its blob.
pub(crate) const SQLITE_LOAD: &str = "SQLite select + serde_json parse";
/// The whole compressed + encrypted save, beside its parts.
pub(crate) const WHOLE: &str = "statevault Full compressed+encrypted save, whole";
/// statevault's batch with a checkpoint after each batch.
pub(crate) const SV_BATCH_EAGER: &str = "statevault Full plain, checkpoint every batch";
/// statevault's batch with its share of a checkpoint.
pub(crate) const SV_BATCH_AMORTIZED: &str = "statevault Full plain, amortized with its checkpoint";
/// SQLite's transaction with its share of a WAL checkpoint.
pub(crate) const SQLITE_BATCH_AMORTIZED: &str = "SQLite WAL FULL, amortized with its checkpoint";
/// Batches per checkpoint in the amortized rows: 80 batches of 100 KiB fill statevault's 8 MiB
/// journal (SQLite, with 4 MiB, would have checkpointed twice on its own: its row is favoured).
pub(crate) const AMORTIZE: u32 = 80;

/// What every part of the run shares.
pub(crate) struct Bench {
    pub(crate) plan: Plan,
    pub(crate) root: PathBuf,
    pub(crate) keys: KeySet,
    pub(crate) groups: Vec<Group>,
    pub(crate) memory: Vec<(String, usize, usize)>,
    pub(crate) aims: Vec<Aim>,
}

impl Bench {
    /// Opens the store in `dir` with the run's key, at `level`, with or without the audit log.
    pub(crate) fn open(
        &self,
        dir: &Path,
        level: Durability,
        audit: bool,
        registry: Registry,
    ) -> Store {
        let provider = Arc::new(StaticKeyProvider::new(self.keys.clone()));
        Store::open_with(
            dir,
            StoreOptions::new()
                .durability(level)
                .key_provider(provider)
                .audit_log(audit)
                .registry(registry),
        )
        .expect("open store")
    }

    /// The folder `name` inside the run's temp folder, created.
    pub(crate) fn dir(&self, name: &str) -> PathBuf {
        let dir = self.root.join(name);
        fs::create_dir_all(&dir).expect("create folder");
        dir
    }

    /// The folder of the statevault store `name` (made by the store when opened).
    pub(crate) fn sv_dir(&self, name: &str) -> PathBuf {
        self.root.join(format!("sv-{name}"))
    }

    /// Runs every workload in order, then judges the aims.
    pub(crate) fn run(&mut self) {
        let plan = self.plan;
        let small = settings(KIB);
        self.single("settings", "1 KiB", "bench.settings", &small, plan.reps_1k);
        let mid = layout(64 * KIB);
        self.single("layout", "64 KiB", "bench.layout", &mid, plan.reps_64k);
        let one = history(MIB);
        self.single(
            "conversation history",
            "1 MiB",
            "bench.history",
            &one,
            plan.reps_1m,
        );
        drop(one);
        let big = history(plan.big);
        let big_label = format_bytes(plan.big);
        self.single(
            "conversation history",
            &big_label,
            "bench.history-big",
            &big,
            plan.reps_16m,
        );
        self.parts(&big);
        self.memory(&big);
        drop(big);
        self.batch();
        self.journal();
        self.patches();
        self.repeated();
        self.reopen();
        self.judge();
    }

    /// The first group whose title starts with `prefix`.
    pub(crate) fn group(&self, prefix: &str) -> &Group {
        self.groups
            .iter()
            .find(|g| g.title.starts_with(prefix))
            .unwrap_or_else(|| panic!("no group {prefix:?}"))
    }
}
