//! How a workload is measured: the plan of repetitions, contenders run round-robin, medians
//! collected in groups, and the formatting of times and sizes.

use std::time::{Duration, Instant};

use crate::system::settle;

/// A kibibyte.
pub(crate) const KIB: usize = 1024;
/// A mebibyte.
pub(crate) const MIB: usize = 1024 * KIB;

/// How much of everything to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// The published run.
    Full,
    /// A few repetitions, to check the run end to end.
    Quick,
    /// One repetition at small sizes, nothing written (`cargo test --benches`).
    Smoke,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Plan {
    /// Which run this is.
    pub(crate) mode: Mode,
    pub(crate) reps_1k: usize,
    pub(crate) reps_64k: usize,
    pub(crate) reps_1m: usize,
    pub(crate) reps_16m: usize,
    pub(crate) big: usize,
    pub(crate) reps_batch: usize,
    pub(crate) batch_keys: usize,
    pub(crate) loop_saves: usize,
    pub(crate) reps_loop: usize,
    pub(crate) big_store: usize,
    pub(crate) many_keys: usize,
    pub(crate) reps_many: usize,
}

impl Plan {
    /// The repetitions and sizes of `mode`.
    pub(crate) fn new(mode: Mode) -> Plan {
        match mode {
            Mode::Full => Plan {
                mode,
                reps_1k: 101,
                reps_64k: 51,
                reps_1m: 31,
                reps_16m: 9,
                big: 16 * MIB,
                reps_batch: 31,
                batch_keys: 100,
                loop_saves: 1000,
                reps_loop: 5,
                big_store: 10_000,
                many_keys: 1000,
                reps_many: 21,
            },
            Mode::Quick => Plan {
                mode,
                reps_1k: 5,
                reps_64k: 5,
                reps_1m: 3,
                reps_16m: 1,
                big: 16 * MIB,
                reps_batch: 3,
                batch_keys: 100,
                loop_saves: 200,
                reps_loop: 1,
                big_store: 10_000,
                many_keys: 1000,
                reps_many: 3,
            },
            Mode::Smoke => Plan {
                mode,
                reps_1k: 1,
                reps_64k: 1,
                reps_1m: 1,
                reps_16m: 1,
                big: 256 * KIB,
                reps_batch: 1,
                batch_keys: 10,
                loop_saves: 5,
                reps_loop: 1,
                big_store: 50,
                many_keys: 20,
                reps_many: 1,
            },
        }
    }
}

/// One measured line of a table.
#[derive(Debug, Clone)]
pub(crate) struct Row {
    pub(crate) name: String,
    pub(crate) median: Duration,
    pub(crate) reps: usize,
    /// Drawn in the chart.
    pub(crate) chart: bool,
}

/// One table: a workload and every implementation measured on it.
#[derive(Debug, Clone)]
pub(crate) struct Group {
    pub(crate) title: String,
    /// Short label of the chart.
    pub(crate) label: String,
    pub(crate) note: String,
    pub(crate) raw: &'static str,
    pub(crate) sqlite: &'static str,
    pub(crate) rows: Vec<Row>,
}

impl Group {
    /// An empty group; `raw` and `sqlite` name the rows ratios are taken to (empty: none).
    pub(crate) fn new(
        title: String,
        label: &str,
        raw: &'static str,
        sqlite: &'static str,
    ) -> Group {
        Group {
            title,
            label: label.to_owned(),
            note: String::new(),
            raw,
            sqlite,
            rows: Vec::new(),
        }
    }

    /// Adds a row and prints it.
    pub(crate) fn push(
        &mut self,
        name: impl Into<String>,
        reps: usize,
        median: Duration,
        chart: bool,
    ) {
        let name = name.into();
        eprintln!(
            "  {:<60} {:>12}  ({reps} runs)",
            name,
            format_duration(median)
        );
        self.rows.push(Row {
            name,
            median,
            reps,
            chart,
        });
    }

    /// The median of row `name`, if there is one.
    pub(crate) fn get(&self, name: &str) -> Option<Duration> {
        self.rows.iter().find(|r| r.name == name).map(|r| r.median)
    }

    /// The median of row `name`, which must exist.
    pub(crate) fn must(&self, name: &str) -> Duration {
        self.get(name)
            .unwrap_or_else(|| panic!("no row {name:?} in {:?}", self.title))
    }
}

/// One contender of a workload: its row name, whether the chart shows it, and one timed run.
pub(crate) struct Contender<'a> {
    pub(crate) name: String,
    pub(crate) chart: bool,
    pub(crate) run: Box<dyn FnMut() -> Duration + 'a>,
}

/// A contender named `name`, charted when `chart`, timed by `run`.
pub(crate) fn contender<'a>(
    name: &str,
    chart: bool,
    run: impl FnMut() -> Duration + 'a,
) -> Contender<'a> {
    Contender {
        name: name.to_owned(),
        chart,
        run: Box::new(run),
    }
}

/// Runs every contender `reps` times in rotation (one untimed round first when `warm_up`), so
/// that the noise of the machine (other processes, writeback) falls on all of them alike, and
/// adds each one's median to `group`.
pub(crate) fn rounds(
    group: &mut Group,
    reps: usize,
    warm_up: bool,
    contenders: &mut [Contender<'_>],
) {
    let n = contenders.len();
    settle();
    if warm_up {
        for c in contenders.iter_mut() {
            (c.run)();
        }
    }
    let mut times: Vec<Vec<Duration>> = vec![Vec::with_capacity(reps); n];
    for round in 0..reps.max(1) {
        for step in 0..n {
            let i = (round + step) % n;
            times[i].push((contenders[i].run)());
        }
    }
    for (c, mut t) in contenders.iter().zip(times) {
        t.sort();
        group.push(c.name.clone(), t.len(), t[t.len() / 2], c.chart);
    }
}

/// How long `f` takes.
pub(crate) fn timed(f: impl FnOnce()) -> Duration {
    let start = Instant::now();
    f();
    start.elapsed()
}

/// `a / b`.
pub(crate) fn ratio(a: Duration, b: Duration) -> f64 {
    ratio_f(a, b)
}

/// `a / b`, with `b` at least a picosecond.
pub(crate) fn ratio_f(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64().max(1e-12)
}

/// The ratio of rows `a` and `b` of `group`.
pub(crate) fn ratio_of(group: &Group, a: &str, b: &str) -> f64 {
    ratio(group.must(a), group.must(b))
}

/// A duration in µs, ms or s.
pub(crate) fn format_duration(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s < 1e-3 {
        format!("{:.1} µs", s * 1e6)
    } else if s < 1.0 {
        format!("{:.2} ms", s * 1e3)
    } else {
        format!("{s:.2} s")
    }
}

/// A size in B, KiB or MiB.
pub(crate) fn format_bytes(n: usize) -> String {
    if n >= MIB {
        format!("{:.2} MiB", n as f64 / MIB as f64)
    } else if n >= KIB {
        format!("{:.1} KiB", n as f64 / KIB as f64)
    } else {
        format!("{n} B")
    }
}
