//! The Markdown section of the report.

use std::fmt::Write as _;
use std::time::Duration;

use super::{BEGIN, END};
use crate::harness::{Mode, format_bytes, format_duration, ratio};
use crate::system::Machine;
use crate::workloads::Bench;

/// The generated section of `PERFORMANCE.md`, markers included: the machine, the aims, one
/// table per workload and the peak heap.
pub(crate) fn markdown(bench: &Bench, machine: &Machine) -> String {
    let mut md = String::new();
    let mode = match bench.plan.mode {
        Mode::Full => "full run",
        Mode::Quick => "quick run (STATEVAULT_BENCH_QUICK=1: few repetitions)",
        Mode::Smoke => "smoke run",
    };
    let _ = writeln!(md, "{BEGIN}\n");
    let _ = writeln!(md, "### Machine and run\n");
    let _ = writeln!(md, "- Date: {} ({mode})", machine.date);
    let _ = writeln!(
        md,
        "- CPU: {} × {} ; kernel {}",
        machine.cpus, machine.cpu, machine.kernel
    );
    let _ = writeln!(
        md,
        "- Temp folder file system: {} (the same folder for every contender)",
        machine.fs
    );
    let _ = writeln!(
        md,
        "- {} ; SQLite {} (bundled, rusqlite)",
        machine.rustc,
        rusqlite::version()
    );
    let _ = writeln!(md, "\n### Aims of the comparison run\n");
    let _ = writeln!(md, "| Aim | Target | Measured | |");
    let _ = writeln!(md, "|---|---|---|---|");
    for aim in &bench.aims {
        let _ = writeln!(
            md,
            "| {} | {} | {} | **{}** |",
            aim.text,
            aim.target,
            aim.measured,
            if aim.met { "met" } else { "missed" }
        );
    }
    let _ = writeln!(md, "\n### Medians\n");
    let _ = writeln!(
        md,
        "Each figure is the median of the runs shown; ratios are to the raw primitive \
         (`× raw`) and to SQLite with `synchronous=FULL` (`× SQLite`) measured on the same \
         workload in the same run. Saves include serialization (`serde_json::to_vec` for raw and \
         SQLite); loads include parsing into a `serde_json::Value`.\n"
    );
    for group in &bench.groups {
        let _ = writeln!(md, "#### {}\n", group.title);
        if !group.note.is_empty() {
            let _ = writeln!(md, "{}\n", group.note);
        }
        let raw = group.get(group.raw);
        let sqlite = group.get(group.sqlite);
        let _ = writeln!(md, "| | median | × raw | × SQLite | runs |");
        let _ = writeln!(md, "|---|---:|---:|---:|---:|");
        for row in &group.rows {
            let cell = |base: Option<Duration>| {
                base.map_or_else(|| "".to_owned(), |b| format!("{:.2}", ratio(row.median, b)))
            };
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {} |",
                row.name,
                format_duration(row.median),
                cell(raw),
                cell(sqlite),
                row.reps
            );
        }
        let _ = writeln!(md);
    }
    let _ = writeln!(md, "#### Peak heap of one save and one load\n");
    let _ = writeln!(
        md,
        "Counted by a global allocator in the bench binary (bytes allocated above what was \
         in use before the call, capacity included), for a `ConversationHistoryState` of the \
         size shown, held by the caller; loads include the returned value.\n"
    );
    let _ = writeln!(md, "| | peak above baseline | × document |");
    let _ = writeln!(md, "|---|---:|---:|");
    for (name, extra, size) in &bench.memory {
        let _ = writeln!(
            md,
            "| {name} ({}) | {} | {:.2} |",
            format_bytes(*size),
            format_bytes(*extra),
            *extra as f64 / *size as f64
        );
    }
    let _ = writeln!(md, "\n![chart of the medians](performance.svg)\n\n{END}");
    md
}
