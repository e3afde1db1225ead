//! The aims of the comparison run, judged from the medians of the same run.

use statevault::Durability;

use crate::harness::{format_duration, ratio, ratio_f, ratio_of};
use crate::workloads::contenders::{Fmt, sv_load_name, sv_save_name};
use crate::workloads::journal::{SV_MANY, SV_READER_LOAD, SV_WRITER_LOAD};
use crate::workloads::patch::{
    APPEND_EMPTY, APPEND_EMPTY_SEALED, APPEND_LONG, APPEND_LONG_SEALED, LOAD_CHECKPOINTED,
    LOAD_PENDING, SAVE_LONG,
};
use crate::workloads::{
    Bench, PARSE_ONLY, RAW_FULL, RAW_LOAD, SQLITE_BATCH_AMORTIZED, SQLITE_FULL, SV_BATCH_AMORTIZED,
    WHOLE,
};

/// One aim: what it asks, its target, what was measured and whether that meets it.
#[derive(Debug, Clone)]
pub(crate) struct Aim {
    pub(crate) text: &'static str,
    pub(crate) target: String,
    pub(crate) measured: String,
    pub(crate) met: bool,
}

impl Bench {
    /// Judges every aim from the medians of this run.
    pub(crate) fn judge(&mut self) {
        let default_full = sv_save_name(Durability::Full, Fmt::Plain, true);
        let mut aims = Vec::new();

        let save = self.group("Save: settings");
        let x = ratio_f(save.must(&default_full), save.must(SQLITE_FULL));
        let raw = ratio_f(save.must(&default_full), save.must(RAW_FULL));
        let off = ratio_of(
            save,
            &sv_save_name(Durability::Full, Fmt::Plain, false),
            SQLITE_FULL,
        );
        aims.push(Aim {
            text: "Durable single save of 1 KiB ≤ 2× SQLite WAL FULL's single-row commit, \
                   ≤ 0.25× the raw primitive",
            target: "≤ 2.00× SQLite, ≤ 0.25× raw".into(),
            measured: format!(
                "{x:.2}× SQLite ({} vs {}), {raw:.2}× raw (audit log off: {off:.2}× SQLite)",
                format_duration(save.must(&default_full)),
                format_duration(save.must(SQLITE_FULL))
            ),
            met: x <= 2.0 && raw <= 0.25,
        });

        let many = self.group("Many saves");
        let x = ratio_f(many.must(SV_MANY), many.must(RAW_FULL));
        aims.push(Aim {
            text: "5,000 single saves of distinct keys, checkpoints and close included, per key \
                   ≤ 1.0× the raw primitive per key",
            target: "≤ 1.00×".into(),
            measured: format!(
                "{x:.2}× ({} vs {} per key; SQLite {})",
                format_duration(many.must(SV_MANY)),
                format_duration(many.must(RAW_FULL)),
                format_duration(many.must(SQLITE_FULL))
            ),
            met: x <= 1.0,
        });

        let pending = self.group("Load: 1 KiB while");
        let writer = ratio_f(pending.must(SV_WRITER_LOAD), pending.must(RAW_LOAD));
        let reader = ratio_f(pending.must(SV_READER_LOAD), pending.must(RAW_LOAD));
        aims.push(Aim {
            text: "Load by the writer ≤ 1.2× raw read+parse; by a read-only handle while 1,000 \
                   records are pending ≤ 1.5×",
            target: "≤ 1.20×, ≤ 1.50×".into(),
            measured: format!(
                "writer {writer:.2}×, reader {reader:.2}× ({} and {} vs {})",
                format_duration(pending.must(SV_WRITER_LOAD)),
                format_duration(pending.must(SV_READER_LOAD)),
                format_duration(pending.must(RAW_LOAD))
            ),
            met: writer <= 1.2 && reader <= 1.5,
        });

        let append = self.group("Append:");
        let long = append.must(APPEND_LONG);
        let vs_empty = ratio_f(long, append.must(APPEND_EMPTY));
        let vs_save = ratio_f(long, append.must(SAVE_LONG));
        aims.push(Aim {
            text: "Durable append of a 1 KiB message to a 10,000-message history ≤ 2× the same \
                   append to an empty history, and ≤ 1/50 of a full save of that history",
            target: "≤ 2.00×, ≤ 0.020×".into(),
            measured: format!(
                "{vs_empty:.2}× empty, {vs_save:.3}× the full save ({} vs {} and {})",
                format_duration(long),
                format_duration(append.must(APPEND_EMPTY)),
                format_duration(append.must(SAVE_LONG))
            ),
            met: vs_empty <= 2.0 && vs_save <= 0.02,
        });
        let sealed = ratio_f(
            append.must(APPEND_LONG_SEALED),
            append.must(APPEND_EMPTY_SEALED),
        );
        aims.push(Aim {
            text: "The same append to a compressed and encrypted history ≤ 3× the empty case",
            target: "≤ 3.00×".into(),
            measured: format!(
                "{sealed:.2}× ({} vs {})",
                format_duration(append.must(APPEND_LONG_SEALED)),
                format_duration(append.must(APPEND_EMPTY_SEALED))
            ),
            met: sealed <= 3.0,
        });
        let loads = self.group("Load: a ");
        let x = ratio_f(loads.must(LOAD_PENDING), loads.must(LOAD_CHECKPOINTED));
        aims.push(Aim {
            text: "Load of a history with 1,000 pending patches ≤ 1.3× the load of the same \
                   history checkpointed",
            target: "≤ 1.30×".into(),
            measured: format!(
                "{x:.2}× ({} vs {})",
                format_duration(loads.must(LOAD_PENDING)),
                format_duration(loads.must(LOAD_CHECKPOINTED))
            ),
            met: x <= 1.3,
        });

        let batch = self.groups.iter().find(|g| g.title.starts_with("Batch"));
        let batch = batch.expect("batch group");
        let x = ratio_f(batch.must(&default_full), batch.must(SQLITE_FULL));
        aims.push(Aim {
            text: "Batch of 100 keys ≤ SQLite's time for the same rows in one transaction; \
                   amortized with its checkpoint ≤ 1.5× SQLite amortized with its checkpoint",
            target: "≤ 1.00×; amortized ≤ 1.50×".into(),
            measured: format!(
                "{x:.2}× SQLite ({} vs {}); amortized with checkpoints {:.2}× ({} vs {})",
                format_duration(batch.must(&default_full)),
                format_duration(batch.must(SQLITE_FULL)),
                ratio_f(
                    batch.must(SV_BATCH_AMORTIZED),
                    batch.must(SQLITE_BATCH_AMORTIZED)
                ),
                format_duration(batch.must(SV_BATCH_AMORTIZED)),
                format_duration(batch.must(SQLITE_BATCH_AMORTIZED))
            ),
            met: x <= 1.0
                && ratio_f(
                    batch.must(SV_BATCH_AMORTIZED),
                    batch.must(SQLITE_BATCH_AMORTIZED),
                ) <= 1.5,
        });

        let load = self
            .groups
            .iter()
            .find(|g| g.title.starts_with("Load: conversation history (1.00 MiB"))
            .or_else(|| {
                self.groups
                    .iter()
                    .find(|g| g.title.starts_with("Load: conversation history"))
            })
            .expect("1 MiB load");
        let share = ratio(load.must(PARSE_ONLY), load.must(&sv_load_name(Fmt::Plain)));
        aims.push(Aim {
            text: "Load of 1 MiB plain ≥ 80% of serde_json's parse throughput of the same bytes",
            target: "≥ 80%".into(),
            measured: format!("{:.0}%", share * 100.0),
            met: share >= 0.80,
        });

        let parts = self.group("Parts of");
        let both = parts.must(WHOLE);
        let sum = parts.must("sum of the parts");
        let x = ratio_f(both, sum);
        aims.push(Aim {
            text: "Encrypted + compressed 16 MiB save ≤ 1.1× the sum of its parts run alone",
            target: "≤ 1.10×".into(),
            measured: format!(
                "{x:.2}× ({} vs {} summed)",
                format_duration(both),
                format_duration(sum)
            ),
            met: x <= 1.10,
        });

        let few = self
            .groups
            .iter()
            .find(|g| g.title.ends_with("a store of 10 keys"))
            .expect("10 keys");
        let lots = self
            .groups
            .iter()
            .find(|g| {
                g.title
                    .ends_with(&format!("a store of {} keys", self.plan.big_store))
            })
            .expect("big store");
        let x = ratio_f(lots.must(&default_full), few.must(&default_full));
        let sqlite = ratio_f(lots.must(SQLITE_FULL), few.must(SQLITE_FULL));
        aims.push(Aim {
            text: "One key saved in a store of 10,000 keys ≤ 1.2× the same in a store of 10",
            target: "≤ 1.20×".into(),
            measured: format!(
                "{x:.2}× (raw: {:.2}×, SQLite: {sqlite:.2}×)",
                ratio_f(lots.must(RAW_FULL), few.must(RAW_FULL))
            ),
            met: x <= 1.20,
        });

        let worst = self
            .memory
            .iter()
            .filter(|(name, _, _)| name.starts_with("statevault"))
            .map(|(name, extra, size)| (name.clone(), *extra as f64 / *size as f64))
            .max_by(|a, b| a.1.total_cmp(&b.1));
        if let Some((name, multiple)) = worst {
            aims.push(Aim {
                text: "Peak memory of a 16 MiB save or load ≤ 3× the document's size",
                target: "≤ 3.0×".into(),
                measured: format!("{multiple:.2}× at worst ({name})"),
                met: multiple <= 3.0,
            });
        }
        self.aims = aims;
    }
}
