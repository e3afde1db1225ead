//! Single save and load of one document, by every contender.

use serde_json::Value;
use statevault::{Durability, Registry};

use super::contenders::{
    FORMATS, Fmt, level_label, raw_read, raw_write, sqlite_get, sqlite_open, sqlite_put,
    sv_load_name, sv_save_name,
};
use super::documents::json_len;
use super::{
    Bench, PARSE_ONLY, RAW_FULL, RAW_LOAD, RAW_NONE, RAW_NORMAL, SQLITE_FULL, SQLITE_LOAD,
    SQLITE_NORMAL,
};
use crate::harness::{Contender, Group, contender, format_bytes, rounds, timed};

impl Bench {
    /// Single save and load of one document of `value`'s size, by everyone.
    pub(crate) fn single(
        &mut self,
        what: &str,
        label: &str,
        key: &str,
        value: &Value,
        reps: usize,
    ) {
        let size = json_len(value);
        let warm = reps > 1;
        let file = format!("{}.json", key.replace('.', "-"));
        let raw_dir = self.dir("raw");
        let validated = key.starts_with("bench.history");

        eprintln!("save {what} ({size} bytes)");
        let mut save = Group::new(
            format!("Save: {what} ({})", format_bytes(size)),
            &format!("save {label}"),
            RAW_FULL,
            SQLITE_FULL,
        );
        let mut stores = Vec::new();
        for level in [Durability::Full, Durability::Normal, Durability::None] {
            for audit in [true, false] {
                let dir = self.sv_dir(&format!("{}-{audit}", level_label(level)));
                stores.push((
                    level,
                    audit,
                    self.open(&dir, level, audit, Registry::empty()),
                ));
            }
        }
        let checked = self.open(
            &self.sv_dir("validated"),
            Durability::Full,
            true,
            Registry::builtin(),
        );
        let full = sqlite_open(&self.root.join("sqlite-full.db"), "FULL");
        let normal = sqlite_open(&self.root.join("sqlite-normal.db"), "NORMAL");
        {
            let mut contenders: Vec<Contender<'_>> = Vec::new();
            for (level, name) in [
                (Durability::Full, RAW_FULL),
                (Durability::Normal, RAW_NORMAL),
                (Durability::None, RAW_NONE),
            ] {
                let (raw_dir, file) = (&raw_dir, file.clone());
                contenders.push(contender(name, level == Durability::Full, move || {
                    timed(|| {
                        let bytes = serde_json::to_vec(value).expect("JSON");
                        raw_write(raw_dir, &file, &bytes, level);
                    })
                }));
            }
            for (level, audit, store) in &stores {
                for fmt in FORMATS {
                    let options = fmt.options();
                    let chart = *level == Durability::Full
                        && *audit
                        && matches!(fmt, Fmt::Plain | Fmt::Both);
                    contenders.push(contender(
                        &sv_save_name(*level, fmt, *audit),
                        chart,
                        move || timed(|| store.save_with(key, value, &options).expect("save")),
                    ));
                }
            }
            if validated {
                // The same document under its built-in schema: validated on every save.
                let checked = &checked;
                contenders.push(contender(
                    "statevault Full plain, validated (ConversationHistoryState)",
                    false,
                    move || {
                        timed(|| {
                            checked
                                .save("history.conversations", value)
                                .expect("save validated")
                        })
                    },
                ));
            }
            for (conn, name) in [(&full, SQLITE_FULL), (&normal, SQLITE_NORMAL)] {
                contenders.push(contender(name, name == SQLITE_FULL, move || {
                    timed(|| {
                        let bytes = serde_json::to_vec(value).expect("JSON");
                        sqlite_put(conn, key, &bytes);
                    })
                }));
            }
            rounds(&mut save, reps, warm, &mut contenders);
        }
        self.groups.push(save);

        eprintln!("load {what}");
        let mut load = Group::new(
            format!("Load: {what} ({})", format_bytes(size)),
            &format!("load {label}"),
            RAW_LOAD,
            SQLITE_LOAD,
        );
        let bytes = serde_json::to_vec(value).expect("JSON");
        let reader = &stores[0].2;
        let format_keys: Vec<(Fmt, String)> = FORMATS
            .iter()
            .map(|fmt| {
                let format_key = format!("{key}-{}", fmt.label().replace('+', "-"));
                reader
                    .save_with(&format_key, value, &fmt.options())
                    .expect("save for load");
                (*fmt, format_key)
            })
            .collect();
        {
            let mut contenders: Vec<Contender<'_>> = Vec::new();
            let (raw_dir, file) = (&raw_dir, &file);
            contenders.push(contender(RAW_LOAD, true, move || {
                timed(|| {
                    std::hint::black_box(raw_read(raw_dir, file));
                })
            }));
            let bytes = &bytes;
            contenders.push(contender(PARSE_ONLY, false, move || {
                timed(|| {
                    std::hint::black_box(serde_json::from_slice::<Value>(bytes).expect("parse"));
                })
            }));
            for (fmt, format_key) in &format_keys {
                contenders.push(contender(
                    &sv_load_name(*fmt),
                    matches!(fmt, Fmt::Plain | Fmt::Both),
                    move || {
                        timed(|| {
                            std::hint::black_box(reader.load::<Value>(format_key).expect("load"));
                        })
                    },
                ));
            }
            if validated {
                let checked = &checked;
                contenders.push(contender(
                    "statevault load, plain, validated (ConversationHistoryState)",
                    false,
                    move || {
                        timed(|| {
                            std::hint::black_box(
                                checked
                                    .load::<Value>("history.conversations")
                                    .expect("load validated"),
                            );
                        })
                    },
                ));
            }
            let full = &full;
            contenders.push(contender(SQLITE_LOAD, true, move || {
                timed(|| {
                    std::hint::black_box(sqlite_get(full, key));
                })
            }));
            rounds(&mut load, reps, true, &mut contenders);
        }
        self.groups.push(load);
    }
}
