//! What patches change: appending one message to a conversation history costs the message,
//! not the history (the commit is a journal record of the patch), and a load while patches are
//! pending applies them to the decoded document.

use serde_json::{Value, json};
use statevault::{Durability, Registry, SaveOptions, Store};

use super::Bench;
use super::contenders::{sqlite_open, sqlite_put};
use crate::harness::{Group, Mode, contender, rounds, timed};

/// How many messages the long history holds.
pub(crate) const LONG: usize = 10_000;
/// How many patches are pending while the patched load is timed.
pub(crate) const PENDING_PATCHES: usize = 1000;
/// Rows of the append group.
pub(crate) const APPEND_EMPTY: &str = "statevault append to an empty history (validated)";
pub(crate) const APPEND_LONG: &str = "statevault append to a 10,000-message history (validated)";
pub(crate) const APPEND_EMPTY_SEALED: &str =
    "statevault append to an empty history, compressed+encrypted";
pub(crate) const APPEND_LONG_SEALED: &str =
    "statevault append to a 10,000-message history, compressed+encrypted";
pub(crate) const SAVE_LONG: &str = "statevault full save of the 10,000-message history";
pub(crate) const SQLITE_ROW: &str = "SQLite WAL FULL: insert the message as a row";
/// Rows of the load group.
pub(crate) const LOAD_CHECKPOINTED: &str = "statevault load, history checkpointed";
pub(crate) const LOAD_PENDING: &str = "statevault load, 1,000 patches pending";

/// A history of one conversation with `n` messages of about 1 KiB each.
pub(crate) fn messages_history(n: usize) -> Value {
    let messages: Vec<Value> = (0..n).map(message).collect();
    json!({
        "version": "1.0.0",
        "conversations": [{
            "id": "c-0",
            "title": "A long conversation",
            "createdAt": 1_764_000_000_000u64,
            "updatedAt": 1_764_000_000_000u64,
            "messages": messages,
            "tags": ["long"],
        }],
        "metadata": {"totalCount": 1, "lastUpdated": 1_764_000_000_000u64, "totalTokens": 0},
    })
}

/// Message `i`: about 1 KiB of JSON.
pub(crate) fn message(i: usize) -> Value {
    let words = [
        "state", "store", "journal", "append", "history", "message", "durable",
    ];
    let mut content = String::with_capacity(960);
    let mut w = i;
    while content.len() < 900 {
        content.push_str(words[w % words.len()]);
        content.push(' ');
        w = w.wrapping_mul(31).wrapping_add(7);
    }
    json!({
        "id": format!("m-{i:06}"),
        "role": if i.is_multiple_of(2) { "user" } else { "assistant" },
        "content": content,
        "timestamp": 1_764_000_000_000u64 + i as u64,
        "tokens": 200,
    })
}

const MESSAGES: &str = "/conversations/0/messages";
const KEY: &str = "history.conversations";

impl Bench {
    /// The workloads of patches.
    pub(crate) fn patches(&mut self) {
        self.appends();
        self.patched_loads();
    }

    /// The long history's length: [`LONG`], but a few hundred in a smoke run (every
    /// workload once, in a debug build).
    fn long(&self) -> usize {
        if self.plan.mode == Mode::Smoke {
            200
        } else {
            LONG
        }
    }

    fn history_store(&self, name: &str, messages: usize, sealed: bool) -> Store {
        let dir = self.sv_dir(name);
        let store = self.open(&dir, Durability::Full, true, Registry::builtin());
        let options = SaveOptions {
            encrypt: Some(sealed),
            compress: Some(sealed),
            backup: None,
        };
        store
            .save_with(KEY, &messages_history(messages), &options)
            .expect("save the history");
        store.checkpoint().expect("checkpoint");
        store
    }

    fn appends(&mut self) {
        eprintln!("appends to a {LONG}-message history");
        let mut group = Group::new(
            format!("Append: one 1 KiB message to a {LONG}-message history (about 10 MiB)"),
            "append 1 KiB",
            "",
            SQLITE_ROW,
        );
        let empty = self.history_store("append-empty", 0, false);
        let n = self.long();
        let long = self.history_store("append-long", n, false);
        let empty_sealed = self.history_store("append-empty-sealed", 0, true);
        let long_sealed = self.history_store("append-long-sealed", n, true);
        let full = messages_history(n);
        let saver = self.history_store("append-full-save", 0, false);
        let sqlite_dir = self.dir("append-sqlite");
        let conn = sqlite_open(&sqlite_dir.join("db.sqlite"), "FULL");
        let row = serde_json::to_vec(&message(0)).expect("JSON");
        let next = std::cell::Cell::new(n);
        let append = |store: &Store| {
            next.set(next.get() + 1);
            let m = message(next.get());
            timed(|| {
                store.append(KEY, MESSAGES, &m).expect("append");
            })
        };
        {
            let mut contenders = vec![
                contender(APPEND_EMPTY, true, || append(&empty)),
                contender(APPEND_LONG, true, || append(&long)),
                contender(APPEND_EMPTY_SEALED, true, || append(&empty_sealed)),
                contender(APPEND_LONG_SEALED, true, || append(&long_sealed)),
            ];
            rounds(&mut group, self.plan.reps_1k, true, &mut contenders);
        }
        {
            let mut i = 0;
            let mut contenders = vec![
                contender(SAVE_LONG, true, || {
                    timed(|| saver.save(KEY, &full).expect("full save"))
                }),
                contender(SQLITE_ROW, true, || {
                    i += 1;
                    timed(|| sqlite_put(&conn, &format!("message.{i}"), &row))
                }),
            ];
            rounds(&mut group, self.plan.reps_16m, true, &mut contenders);
        }
        self.groups.push(group);
    }

    fn patched_loads(&mut self) {
        eprintln!("loads of a history with {PENDING_PATCHES} patches pending");
        let mut group = Group::new(
            format!("Load: a {LONG}-message history with {PENDING_PATCHES} patches pending"),
            "load",
            "",
            "",
        );
        let n = self.long();
        let checkpointed = self.history_store("load-checkpointed", n + PENDING_PATCHES, false);
        let dir = self.sv_dir("load-pending");
        let pending = Store::open_with(
            &dir,
            statevault::StoreOptions::new()
                .registry(Registry::builtin())
                .idle_checkpoint(None),
        )
        .expect("open");
        pending.save(KEY, &messages_history(n)).expect("save");
        pending.checkpoint().expect("checkpoint");
        for i in 0..PENDING_PATCHES {
            pending
                .append(KEY, MESSAGES, &message(n + i))
                .expect("append");
        }
        assert_eq!(pending.pending_batches().expect("journal"), PENDING_PATCHES);
        {
            let mut contenders = vec![
                contender(LOAD_CHECKPOINTED, true, || {
                    timed(|| {
                        let v: Option<Value> = checkpointed.load(KEY).expect("load");
                        std::hint::black_box(v.expect("present"));
                    })
                }),
                contender(LOAD_PENDING, true, || {
                    timed(|| {
                        let v: Option<Value> = pending.load(KEY).expect("load");
                        std::hint::black_box(v.expect("present"));
                    })
                }),
            ];
            rounds(&mut group, self.plan.reps_16m, true, &mut contenders);
        }
        self.groups.push(group);
    }
}
