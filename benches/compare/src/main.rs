//! The comparison run: statevault beside what an application would use instead, in
//! one run, on one folder.
//!
//! - the raw primitive: `serde_json` into a temp file, `fdatasync`, rename, fsync of the folder
//!   (the physical floor of a durable single-file save), and read + `serde_json` parse;
//! - statevault at each durability, plain / compressed / encrypted / both, audit log on and off;
//! - SQLite through `rusqlite` (bundled), WAL, `synchronous=FULL`, one row per key.
//!
//! `cargo bench -p statevault-bench-compare` runs everything (about five minutes on two cores)
//! and writes the tables between the markers of `docs/PERFORMANCE.md` (the text around them is
//! kept) and the chart `docs/performance.svg`. Knobs (environment variables):
//! - `STATEVAULT_BENCH_QUICK=1`: a few repetitions of everything (about a minute); the report goes
//!   to the target folder, not to `docs/`, unless `STATEVAULT_BENCH_OUT` says otherwise;
//! - `STATEVAULT_BENCH_DIR=<folder>`: where the temp folder is made (default: the system temp
//!   folder, or the target folder when that one is a tmpfs: fsync on RAM measures nothing);
//! - `STATEVAULT_BENCH_OUT=<folder>`: where `PERFORMANCE.md` and `performance.svg` go.
//!
//! Run without `--bench` (as `cargo test -p statevault-bench-compare --benches` does) it is a
//! smoke run: every workload once, at small sizes, and nothing is written.
//!
//! It is a package of its own so that building the library's benchmarks never compiles SQLite.
//! Modules: `harness` (plan, round-robin contenders, medians), `workloads` (the documents, the
//! contenders and one module per workload), `aims` (the targets judged from the medians),
//! `report` (Markdown and SVG), `system` (the counting allocator, the machine and its mounts),
//! `profile` (one operation in a loop for a profiler).

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use statevault::KeySet;
use statevault::layers::codec::{DataKey, KeyId};

mod aims;
mod harness;
mod profile;
mod report;
mod system;
mod workloads;

use harness::{Mode, Plan};
use system::{Machine, file_system_of};
use workloads::Bench;

#[global_allocator]
static ALLOCATOR: system::counting::Counting = system::counting::Counting;

fn main() {
    let bench_flag = std::env::args().any(|a| a == "--bench");
    let quick = std::env::var("STATEVAULT_BENCH_QUICK").is_ok_and(|v| !v.is_empty() && v != "0");
    let mode = match (bench_flag, quick) {
        (false, _) => Mode::Smoke,
        (true, true) => Mode::Quick,
        (true, false) => Mode::Full,
    };
    let parent = match std::env::var_os("STATEVAULT_BENCH_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => {
            let temp = std::env::temp_dir();
            let kind = file_system_of(&temp);
            if kind.starts_with("tmpfs") || kind.starts_with("ramfs") {
                PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            } else {
                temp
            }
        }
    };
    fs::create_dir_all(&parent).expect("bench folder");
    let temp = tempfile::Builder::new()
        .prefix("statevault-compare-")
        .tempdir_in(&parent)
        .expect("temp folder");
    let machine = Machine::probe(temp.path());
    eprintln!(
        "compare: {mode:?} run in {} on {}",
        temp.path().display(),
        machine.fs
    );
    let started = Instant::now();
    let keys = KeySet::single(DataKey::generate(KeyId(1)).expect("a key"));
    if let Ok(spec) = std::env::var("STATEVAULT_BENCH_PROFILE") {
        profile::profile(temp.path(), &spec, keys);
        return;
    }
    let mut bench = Bench {
        plan: Plan::new(mode),
        root: temp.path().to_path_buf(),
        keys,
        groups: Vec::new(),
        memory: Vec::new(),
        aims: Vec::new(),
    };
    bench.run();
    eprintln!("compare: done in {:.0} s", started.elapsed().as_secs_f64());
    for aim in &bench.aims {
        eprintln!(
            "  [{}] {} — {}",
            if aim.met { "met" } else { "MISSED" },
            aim.text,
            aim.measured
        );
    }
    if mode == Mode::Smoke {
        return;
    }
    let out = match std::env::var_os("STATEVAULT_BENCH_OUT") {
        Some(dir) => PathBuf::from(dir),
        // The workspace's `docs/`, two folders above this package.
        None if mode == Mode::Full => Path::new(env!("CARGO_MANIFEST_DIR"))
            .ancestors()
            .nth(2)
            .expect("the package lies two folders below the workspace root")
            .join("docs"),
        None => Path::new(env!("CARGO_TARGET_TMPDIR")).join("compare"),
    };
    fs::create_dir_all(&out).expect("report folder");
    report::write_report(
        &out.join("PERFORMANCE.md"),
        &report::markdown(&bench, &machine),
    );
    fs::write(out.join("performance.svg"), report::svg(&bench)).expect("write chart");
    eprintln!("compare: report in {}", out.display());
}
