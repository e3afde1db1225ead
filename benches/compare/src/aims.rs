//! The aims of the comparison run, judged from the medians of the same run.

use statevault::Durability;

use crate::harness::{format_duration, ratio, ratio_f, ratio_of};
use crate::workloads::contenders::{Fmt, sv_load_name, sv_save_name};
use crate::workloads::{
    Bench, PARSE_ONLY, RAW_FULL, SQLITE_BATCH_AMORTIZED, SQLITE_FULL, SV_BATCH_AMORTIZED, WHOLE,
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
        let x = ratio_f(save.must(&default_full), save.must(RAW_FULL));
        let off = ratio_of(
            save,
            &sv_save_name(Durability::Full, Fmt::Plain, false),
            RAW_FULL,
        );
        aims.push(Aim {
            text: "Durable single save of 1 KiB ≤ 1.10× the raw primitive",
            target: "≤ 1.10×".into(),
            measured: format!("{x:.2}× (audit log off: {off:.2}×)"),
            met: x <= 1.10,
        });

        let batch = self.groups.iter().find(|g| g.title.starts_with("Batch"));
        let batch = batch.expect("batch group");
        let x = ratio_f(batch.must(&default_full), batch.must(SQLITE_FULL));
        aims.push(Aim {
            text: "Batch of 100 keys ≤ SQLite's time for the same rows in one transaction",
            target: "≤ 1.00× SQLite".into(),
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
            met: x <= 1.0,
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
