//! Peak heap of a save and a load of the big document.

use std::fs;
use std::sync::Arc;

use serde_json::Value;
use statevault::schema::ConversationHistoryState;
use statevault::{Durability, Registry, StaticKeyProvider, Store, StoreOptions};

use super::Bench;
use super::contenders::{Fmt, raw_write, sqlite_open, sqlite_put};
use super::documents::json_len;
use crate::harness::format_bytes;
use crate::system::counting;

impl Bench {
    /// Peak heap of a save and a load of the big document, typed as the application holds it.
    pub(crate) fn memory(&mut self, value: &Value) {
        let size = json_len(value);
        eprintln!("peak memory ({size} bytes)");
        let doc: ConversationHistoryState =
            serde_json::from_value(value.clone()).expect("a valid ConversationHistoryState");
        let mut note = |name: String, extra: usize| {
            eprintln!(
                "  {name:<60} {:>12}  ({:.2}x)",
                format_bytes(extra),
                extra as f64 / size as f64
            );
            self.memory.push((name, extra, size));
        };
        let measure = |f: &mut dyn FnMut()| {
            let base = counting::start();
            f();
            counting::peak().saturating_sub(base)
        };
        let raw_dir = self.root.join("raw");
        let extra = measure(&mut || {
            let bytes = serde_json::to_vec(&doc).expect("JSON");
            raw_write(&raw_dir, "memory.json", &bytes, Durability::Full);
        });
        note("raw save".into(), extra);
        let extra = measure(&mut || {
            let bytes = fs::read(raw_dir.join("memory.json")).expect("read");
            std::hint::black_box(
                serde_json::from_slice::<ConversationHistoryState>(&bytes).expect("parse"),
            );
        });
        note("raw load (result included)".into(), extra);
        let provider = Arc::new(StaticKeyProvider::new(self.keys.clone()));
        let store = Store::open_with(
            self.root.join("sv"),
            StoreOptions::new()
                .key_provider(provider)
                .registry(Registry::empty()),
        )
        .expect("open");
        for fmt in [Fmt::Plain, Fmt::Both] {
            let options = fmt.options();
            let extra = measure(&mut || {
                store
                    .save_with("bench.memory", &doc, &options)
                    .expect("save")
            });
            note(format!("statevault save, {}", fmt.label()), extra);
            let extra = measure(&mut || {
                std::hint::black_box(
                    store
                        .load::<ConversationHistoryState>("bench.memory")
                        .expect("load"),
                );
            });
            note(
                format!("statevault load, {} (result included)", fmt.label()),
                extra,
            );
        }
        drop(store);
        let conn = sqlite_open(&self.root.join("sqlite.db"), "FULL");
        let extra = measure(&mut || {
            let bytes = serde_json::to_vec(&doc).expect("JSON");
            sqlite_put(&conn, "bench.memory", &bytes);
        });
        note("SQLite save (Rust heap only)".into(), extra);
    }
}
