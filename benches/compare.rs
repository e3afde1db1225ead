//! The comparison run of issue 9: statevault beside what an application would use instead, in
//! one run, on one folder.
//!
//! - the raw primitive: `serde_json` into a temp file, `fdatasync`, rename, fsync of the folder
//!   (the physical floor of a durable single-file save), and read + `serde_json` parse;
//! - statevault at each durability, plain / compressed / encrypted / both, audit log on and off;
//! - SQLite through `rusqlite` (bundled), WAL, `synchronous=FULL`, one row per key.
//!
//! `cargo bench -p statevault --bench compare` runs everything (about five minutes on two cores)
//! and writes the tables between the markers of `docs/PERFORMANCE.md` (the text around them is
//! kept) and the chart `docs/performance.svg`. Knobs (environment variables):
//! - `STATEVAULT_BENCH_QUICK=1`: a few repetitions of everything (about a minute); the report goes
//!   to the target folder, not to `docs/`, unless `STATEVAULT_BENCH_OUT` says otherwise;
//! - `STATEVAULT_BENCH_DIR=<folder>`: where the temp folder is made (default: the system temp
//!   folder, or the target folder when that one is a tmpfs: fsync on RAM measures nothing);
//! - `STATEVAULT_BENCH_OUT=<folder>`: where `PERFORMANCE.md` and `performance.svg` go.
//!
//! Run without `--bench` (as `cargo test --benches` does) it is a smoke run: every workload once,
//! at small sizes, and nothing is written.

use std::fmt::Write as _;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rusqlite::Connection;
use serde_json::{Value, json};
use statevault::layers::codec::{self, Compression, Context, DataKey, EncodeOptions, KeyId, Meta};
use statevault::schema::ConversationHistoryState;
use statevault::{
    Batch, Durability, KeySet, Registry, SaveOptions, StaticKeyProvider, Store, StoreOptions,
};

/// Counts the heap in use and its peak, for the peak memory of a 16 MiB save and load.
mod counting {
    #![allow(unsafe_code)]

    use std::alloc::{GlobalAlloc, Layout, System};
    use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

    static CURRENT: AtomicUsize = AtomicUsize::new(0);
    static PEAK: AtomicUsize = AtomicUsize::new(0);

    /// The system allocator with two counters.
    pub struct Counting;

    fn grow(n: usize) {
        let now = CURRENT.fetch_add(n, Relaxed) + n;
        PEAK.fetch_max(now, Relaxed);
    }

    fn shrink(n: usize) {
        CURRENT.fetch_sub(n, Relaxed);
    }

    // SAFETY: every call is passed unchanged to the system allocator, which upholds the
    // `GlobalAlloc` contract; the counters only observe sizes.
    unsafe impl GlobalAlloc for Counting {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            // SAFETY: the caller upholds `alloc`'s contract, which is the system allocator's.
            let ptr = unsafe { System.alloc(layout) };
            if !ptr.is_null() {
                grow(layout.size());
            }
            ptr
        }

        unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
            // SAFETY: as for `alloc`.
            let ptr = unsafe { System.alloc_zeroed(layout) };
            if !ptr.is_null() {
                grow(layout.size());
            }
            ptr
        }

        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            // SAFETY: `ptr` came from this allocator (so from the system's) with `layout`.
            unsafe { System.dealloc(ptr, layout) };
            shrink(layout.size());
        }

        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            // SAFETY: `ptr` came from this allocator with `layout`; the caller upholds the rest.
            let new = unsafe { System.realloc(ptr, layout, new_size) };
            if !new.is_null() {
                if new_size >= layout.size() {
                    grow(new_size - layout.size());
                } else {
                    shrink(layout.size() - new_size);
                }
            }
            new
        }
    }

    /// Starts a measurement: the peak is set to what is in use now, which is returned.
    pub fn start() -> usize {
        let now = CURRENT.load(Relaxed);
        PEAK.store(now, Relaxed);
        now
    }

    /// The peak since [`start`].
    pub fn peak() -> usize {
        PEAK.load(Relaxed)
    }
}

#[global_allocator]
static ALLOCATOR: counting::Counting = counting::Counting;

const KIB: usize = 1024;
const MIB: usize = 1024 * KIB;

// Row names that ratios and aims refer to.
const RAW_FULL: &str = "raw: temp + fdatasync + rename + folder fsync";
const RAW_NORMAL: &str = "raw: temp + fdatasync + rename";
const RAW_NONE: &str = "raw: temp + rename, no fsync";
const RAW_LOAD: &str = "raw: read + serde_json parse";
const PARSE_ONLY: &str = "serde_json parse only (bytes in memory)";
const SQLITE_FULL: &str = "SQLite WAL, synchronous=FULL";
const SQLITE_NORMAL: &str = "SQLite WAL, synchronous=NORMAL";
const SQLITE_LOAD: &str = "SQLite select + serde_json parse";
const WHOLE: &str = "statevault Full compressed+encrypted save, whole";
const SV_BATCH_EAGER: &str = "statevault Full plain, checkpoint every batch";
const SV_BATCH_AMORTIZED: &str = "statevault Full plain, amortized with its checkpoint";
const SQLITE_BATCH_AMORTIZED: &str = "SQLite WAL FULL, amortized with its checkpoint";
/// Batches per checkpoint in the amortized rows: 80 batches of 100 KiB fill statevault's 8 MiB
/// journal (SQLite, with 4 MiB, would have checkpointed twice on its own: its row is favoured).
const AMORTIZE: u32 = 80;

/// How much of everything to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// The published run.
    Full,
    /// A few repetitions, to check the run end to end.
    Quick,
    /// One repetition at small sizes, nothing written (`cargo test --benches`).
    Smoke,
}

#[derive(Debug, Clone, Copy)]
struct Plan {
    mode: Mode,
    reps_1k: usize,
    reps_64k: usize,
    reps_1m: usize,
    reps_16m: usize,
    big: usize,
    reps_batch: usize,
    batch_keys: usize,
    loop_saves: usize,
    reps_loop: usize,
    big_store: usize,
    many_keys: usize,
    reps_many: usize,
}

impl Plan {
    fn new(mode: Mode) -> Plan {
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
struct Row {
    name: String,
    median: Duration,
    reps: usize,
    /// Drawn in the chart.
    chart: bool,
}

/// One table: a workload and every implementation measured on it.
#[derive(Debug, Clone)]
struct Group {
    title: String,
    /// Short label of the chart.
    label: String,
    note: String,
    raw: &'static str,
    sqlite: &'static str,
    rows: Vec<Row>,
}

impl Group {
    fn new(title: String, label: &str, raw: &'static str, sqlite: &'static str) -> Group {
        Group {
            title,
            label: label.to_owned(),
            note: String::new(),
            raw,
            sqlite,
            rows: Vec::new(),
        }
    }

    fn push(&mut self, name: impl Into<String>, reps: usize, median: Duration, chart: bool) {
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

    fn get(&self, name: &str) -> Option<Duration> {
        self.rows.iter().find(|r| r.name == name).map(|r| r.median)
    }

    fn must(&self, name: &str) -> Duration {
        self.get(name)
            .unwrap_or_else(|| panic!("no row {name:?} in {:?}", self.title))
    }
}

/// Flushes every dirty page of the machine and waits a moment, so that one workload does not
/// pay for the writeback of the previous one (the 16 MiB saves leave gigabytes behind).
fn settle() {
    let _ = std::process::Command::new("sync").status();
    std::thread::sleep(Duration::from_millis(500));
}

/// One contender of a workload: its row name, whether the chart shows it, and one timed run.
struct Contender<'a> {
    name: String,
    chart: bool,
    run: Box<dyn FnMut() -> Duration + 'a>,
}

fn contender<'a>(name: &str, chart: bool, run: impl FnMut() -> Duration + 'a) -> Contender<'a> {
    Contender {
        name: name.to_owned(),
        chart,
        run: Box::new(run),
    }
}

/// Runs every contender `reps` times in rotation (one untimed round first when `warm_up`), so
/// that the noise of the machine (other processes, writeback) falls on all of them alike, and
/// adds each one's median to `group`.
fn rounds(group: &mut Group, reps: usize, warm_up: bool, contenders: &mut [Contender<'_>]) {
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

fn timed(f: impl FnOnce()) -> Duration {
    let start = Instant::now();
    f();
    start.elapsed()
}

// ---------------------------------------------------------------------------------------------
// The documents.

/// A deterministic source of words, so the documents compress like text, not like repetition.
struct Words(u64);

const WORDS: &[&str] = &[
    "the",
    "a",
    "layout",
    "widget",
    "panel",
    "query",
    "result",
    "please",
    "could",
    "you",
    "explain",
    "why",
    "this",
    "function",
    "returns",
    "an",
    "error",
    "when",
    "file",
    "is",
    "missing",
    "here",
    "rust",
    "code",
    "compile",
    "borrow",
    "checker",
    "lifetime",
    "async",
    "await",
    "thread",
    "memory",
    "cache",
    "index",
    "table",
    "column",
    "row",
    "value",
    "key",
    "store",
    "save",
    "load",
    "crash",
    "power",
    "loss",
    "disk",
    "sync",
    "rename",
    "folder",
    "encrypt",
    "compress",
    "schema",
    "version",
    "migrate",
    "backup",
    "restore",
    "user",
    "setting",
    "theme",
    "dark",
    "light",
    "font",
    "size",
    "window",
    "bounds",
    "screen",
    "chart",
    "graph",
    "data",
    "report",
    "summary",
    "great",
    "thanks",
    "sure",
    "let",
    "me",
    "check",
    "that",
    "first",
    "then",
    "run",
    "test",
    "again",
    "and",
    "or",
    "but",
    "with",
    "without",
    "for",
    "in",
    "on",
    "of",
    "to",
    "from",
    "it",
    "works",
    "now",
    "fails",
    "sometimes",
    "always",
    "never",
    "quickly",
    "slowly",
    "because",
    "however",
    "example",
    "output",
    "input",
    "line",
];

impl Words {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn text(&mut self, words: usize) -> String {
        let mut out = String::new();
        for i in 0..words {
            if i > 0 {
                out.push(if self.below(12) == 0 { '.' } else { ' ' });
                if out.ends_with('.') {
                    out.push(' ');
                }
            }
            out.push_str(WORDS[self.below(WORDS.len() as u64) as usize]);
        }
        out
    }
}

fn json_len(value: &Value) -> usize {
    serde_json::to_vec(value).expect("JSON").len()
}

/// User settings of about `target` bytes.
fn settings(target: usize) -> Value {
    let mut words = Words(0x5e77_1165);
    let mut value = json!({
        "version": "1.0.0",
        "theme": "dark",
        "language": "en",
        "revision": 0,
        "ui": {"fontSize": 14, "density": "comfortable", "sidebarWidth": 280, "showStatusBar": true},
        "privacy": {"telemetry": false, "crashReports": true},
        "shortcuts": {"mod+k": "palette", "mod+s": "save", "mod+shift+p": "commands"},
        "recentFiles": [],
    });
    while json_len(&value) < target {
        let file = format!("/home/user/projects/{}/{}.md", words.text(1), words.text(1));
        value["recentFiles"]
            .as_array_mut()
            .expect("array")
            .push(Value::String(file));
    }
    value
}

/// A grid layout of about `target` bytes.
fn layout(target: usize) -> Value {
    let mut words = Words(0x1a70_0715);
    let mut value = json!({
        "version": "1.0.0",
        "layouts": {"lg": [], "md": []},
        "widgets": [],
        "metadata": {"name": "default", "createdAt": 1_764_126_784_000u64, "updatedAt": 1_764_126_784_000u64},
    });
    let mut i = 0u64;
    while json_len(&value) < target {
        let id = format!("w-{i:05}");
        for breakpoint in ["lg", "md"] {
            value["layouts"][breakpoint]
                .as_array_mut()
                .expect("array")
                .push(json!({
                    "i": id, "x": i % 12, "y": i / 12 * 4, "w": 4, "h": 4,
                    "minW": 2, "minH": 2, "static": false, "resizeHandles": ["se"],
                }));
        }
        let kind = ["chart", "table", "notes", "clock"][(i % 4) as usize];
        value["widgets"].as_array_mut().expect("array").push(json!({
            "id": id,
            "type": kind,
            "config": {"title": words.text(3), "query": words.text(8), "refreshSeconds": 30},
        }));
        i += 1;
    }
    value
}

/// A conversation history of about `target` bytes, valid as `ConversationHistoryState`.
fn history(target: usize) -> Value {
    let mut words = Words(0x4157_0e11);
    let mut conversations = Vec::new();
    let mut len = 128;
    let mut tokens_total = 0u64;
    let start = 1_764_000_000_000u64;
    let mut c = 0u64;
    while len < target {
        let mut messages = Vec::new();
        let count = 4 + words.below(12);
        for m in 0..count {
            let role = if m % 2 == 0 { "user" } else { "assistant" };
            let words_in = (10 + words.below(if m % 2 == 0 { 40 } else { 160 })) as usize;
            let tokens = words_in as u64 * 4 / 3;
            tokens_total += tokens;
            messages.push(json!({
                "id": format!("m-{c:06}-{m:03}"),
                "role": role,
                "content": words.text(words_in),
                "timestamp": start + c * 60_000 + m * 1_000,
                "tokens": tokens,
            }));
        }
        let conversation = json!({
            "id": format!("c-{c:06}"),
            "title": words.text(4),
            "createdAt": start + c * 60_000,
            "updatedAt": start + c * 60_000 + count * 1_000,
            "messages": messages,
            "tags": [words.text(1), words.text(1)],
        });
        len += json_len(&conversation) + 1;
        conversations.push(conversation);
        c += 1;
    }
    json!({
        "version": "1.0.0",
        "conversations": conversations,
        "metadata": {"totalCount": c, "lastUpdated": start + c * 60_000, "totalTokens": tokens_total},
    })
}

// ---------------------------------------------------------------------------------------------
// The contenders.

/// The raw primitive at a durability level: temp file, (f)sync, rename, folder fsync.
fn raw_write(dir: &Path, name: &str, bytes: &[u8], level: Durability) {
    let target = dir.join(name);
    let temp = dir.join(format!(".{name}.tmp"));
    let mut file = fs::File::create(&temp).expect("create temp");
    file.write_all(bytes).expect("write");
    if level != Durability::None {
        // `fdatasync`, as statevault does on Linux: the cheapest call that makes the new file's
        // data and size durable. It is the floor, so the cheapest correct call.
        file.sync_data().expect("fdatasync");
    }
    drop(file);
    fs::rename(&temp, &target).expect("rename");
    if level == Durability::Full {
        fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .expect("fsync folder");
    }
}

fn raw_read(dir: &Path, name: &str) -> Value {
    let bytes = fs::read(dir.join(name)).expect("read");
    serde_json::from_slice(&bytes).expect("parse")
}

fn sqlite_open(path: &Path, synchronous: &str) -> Connection {
    let conn = Connection::open(path).expect("open SQLite");
    let mode: String = conn
        .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
        .expect("WAL");
    assert_eq!(mode, "wal");
    conn.pragma_update(None, "synchronous", synchronous)
        .expect("synchronous");
    conn.execute_batch("CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value BLOB NOT NULL)")
        .expect("create table");
    conn
}

fn sqlite_put(conn: &Connection, key: &str, bytes: &[u8]) {
    conn.prepare_cached(
        "INSERT INTO kv (key, value) VALUES (?1, ?2) \
         ON CONFLICT(key) DO UPDATE SET value = excluded.value",
    )
    .expect("prepare")
    .execute(rusqlite::params![key, bytes])
    .expect("upsert");
}

fn sqlite_get(conn: &Connection, key: &str) -> Value {
    conn.prepare_cached("SELECT value FROM kv WHERE key = ?1")
        .expect("prepare")
        .query_row([key], |row| {
            // Parsed straight from SQLite's buffer, no copy: SQLite's best case.
            let bytes = row.get_ref(0)?.as_blob()?;
            Ok(serde_json::from_slice::<Value>(bytes).expect("parse"))
        })
        .expect("select")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fmt {
    Plain,
    Compressed,
    Encrypted,
    Both,
}

const FORMATS: [Fmt; 4] = [Fmt::Plain, Fmt::Compressed, Fmt::Encrypted, Fmt::Both];

impl Fmt {
    fn options(self) -> SaveOptions {
        SaveOptions {
            encrypt: Some(matches!(self, Fmt::Encrypted | Fmt::Both)),
            compress: Some(matches!(self, Fmt::Compressed | Fmt::Both)),
            backup: None,
        }
    }

    fn label(self) -> &'static str {
        match self {
            Fmt::Plain => "plain",
            Fmt::Compressed => "compressed",
            Fmt::Encrypted => "encrypted",
            Fmt::Both => "compressed+encrypted",
        }
    }
}

fn level_label(level: Durability) -> &'static str {
    match level {
        Durability::Full => "Full",
        Durability::Normal => "Normal",
        _ => "None",
    }
}

fn sv_save_name(level: Durability, fmt: Fmt, audit: bool) -> String {
    format!(
        "statevault {} {}{}",
        level_label(level),
        fmt.label(),
        if audit { "" } else { ", audit off" }
    )
}

fn sv_load_name(fmt: Fmt) -> String {
    format!("statevault load, {}", fmt.label())
}

/// What every part of the run shares.
struct Bench {
    plan: Plan,
    root: PathBuf,
    keys: KeySet,
    groups: Vec<Group>,
    memory: Vec<(String, usize, usize)>,
    aims: Vec<Aim>,
}

#[derive(Debug, Clone)]
struct Aim {
    text: &'static str,
    target: String,
    measured: String,
    met: bool,
}

impl Bench {
    fn open(&self, dir: &Path, level: Durability, audit: bool, registry: Registry) -> Store {
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

    fn dir(&self, name: &str) -> PathBuf {
        let dir = self.root.join(name);
        fs::create_dir_all(&dir).expect("create folder");
        dir
    }

    fn sv_dir(&self, name: &str) -> PathBuf {
        self.root.join(format!("sv-{name}"))
    }

    /// Single save and load of one document of `value`'s size, by everyone.
    fn single(&mut self, what: &str, label: &str, key: &str, value: &Value, reps: usize) {
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

    /// A batch of keys: statevault's all-or-nothing batch, SQLite's transaction, raw saves.
    fn batch(&mut self) {
        let n = self.plan.batch_keys;
        let reps = self.plan.reps_batch;
        let value = settings(KIB);
        let keys: Vec<String> = (0..n).map(|i| format!("batch.k{i:03}")).collect();
        eprintln!("batch of {n} keys");
        let mut group = Group::new(
            format!("Batch: {n} keys of 1 KiB in one call"),
            &format!("batch {n}"),
            RAW_FULL,
            SQLITE_FULL,
        );
        group.note = format!(
            "raw = {n} independent raw saves (not atomic as a group); SQLite = one transaction; \
             statevault = `Batch` + `save_batch` (journalled, all-or-nothing). Both statevault \
             and SQLite commit by appending to a journal and defer the copy into place (a \
             checkpoint: statevault every 8 MiB of journal, SQLite every 4 MiB), so a batch's median does \
             not include it; the \"amortized\" rows run {AMORTIZE} batches and the checkpoint \
             and divide the total by {AMORTIZE}, and the \"checkpoint every batch\" row pays it \
             each time."
        );
        let raw_dir = self.dir("raw-batch");
        let stores: Vec<(Durability, bool, Store)> = [
            (Durability::Full, true),
            (Durability::Full, false),
            (Durability::None, true),
        ]
        .into_iter()
        .map(|(level, audit)| {
            let dir = self.sv_dir(&format!("{}-{audit}", level_label(level)));
            (
                level,
                audit,
                self.open(&dir, level, audit, Registry::empty()),
            )
        })
        .collect();
        let eager = {
            let provider = Arc::new(StaticKeyProvider::new(self.keys.clone()));
            Store::open_with(
                self.sv_dir("full-checkpoint-every-batch"),
                StoreOptions::new()
                    .key_provider(provider)
                    .checkpoint_bytes(0),
            )
            .expect("open store")
        };
        let amortized = self.open(
            &self.sv_dir("full-amortized"),
            Durability::Full,
            true,
            Registry::empty(),
        );
        {
            let (keys, value, raw_dir) = (&keys, &value, &raw_dir);
            let save_batch = move |store: &Store| {
                let mut batch = Batch::new();
                for key in keys {
                    batch.save(key, value).expect("batch save");
                }
                store.save_batch(batch).expect("save_batch");
            };
            let mut contenders: Vec<Contender<'_>> = Vec::new();
            contenders.push(contender(RAW_FULL, true, move || {
                timed(|| {
                    for key in keys {
                        let bytes = serde_json::to_vec(value).expect("JSON");
                        raw_write(raw_dir, &format!("{key}.json"), &bytes, Durability::Full);
                    }
                })
            }));
            for (level, audit, store) in &stores {
                contenders.push(contender(
                    &sv_save_name(*level, Fmt::Plain, *audit),
                    *level == Durability::Full && *audit,
                    move || {
                        timed(|| {
                            let mut batch = Batch::new();
                            for key in keys {
                                batch.save(key, value).expect("batch save");
                            }
                            store.save_batch(batch).expect("save_batch");
                        })
                    },
                ));
            }
            let (eager, amortized) = (&eager, &amortized);
            contenders.push(contender(SV_BATCH_EAGER, true, move || {
                timed(|| save_batch(eager))
            }));
            contenders.push(contender(SV_BATCH_AMORTIZED, true, move || {
                timed(|| {
                    for _ in 0..AMORTIZE {
                        save_batch(amortized);
                    }
                    amortized.checkpoint().expect("checkpoint");
                }) / AMORTIZE
            }));
            let mut conn = sqlite_open(&self.root.join("sqlite-amortized.db"), "FULL");
            contenders.push(contender(SQLITE_BATCH_AMORTIZED, true, move || {
                timed(|| {
                    for _ in 0..AMORTIZE {
                        let tx = conn.transaction().expect("begin");
                        for key in keys {
                            let bytes = serde_json::to_vec(value).expect("JSON");
                            sqlite_put(&tx, key, &bytes);
                        }
                        tx.commit().expect("commit");
                    }
                    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
                        .expect("checkpoint");
                }) / AMORTIZE
            }));
            for (sync, name) in [("FULL", SQLITE_FULL), ("NORMAL", SQLITE_NORMAL)] {
                let mut conn = sqlite_open(
                    &self.root.join(format!("sqlite-{}.db", sync.to_lowercase())),
                    sync,
                );
                contenders.push(contender(name, sync == "FULL", move || {
                    timed(|| {
                        let tx = conn.transaction().expect("begin");
                        for key in keys {
                            let bytes = serde_json::to_vec(value).expect("JSON");
                            sqlite_put(&tx, key, &bytes);
                        }
                        tx.commit().expect("commit");
                    })
                }));
            }
            rounds(&mut group, reps, true, &mut contenders);
        }
        self.groups.push(group);
    }

    /// The same key saved many times, in a store of 10 keys and in one of `big_store` keys, the
    /// two sizes and every contender interleaved in chunks of saves.
    fn repeated(&mut self) {
        let saves = self.plan.loop_saves;
        let reps = self.plan.reps_loop;
        let value = settings(KIB);
        let bytes = serde_json::to_vec(&value).expect("JSON");
        let sizes = [10, self.plan.big_store];
        struct Setup {
            keys: usize,
            raw_dir: PathBuf,
            stores: Vec<(bool, Store)>,
            conn: Connection,
        }
        let mut setups = Vec::new();
        for keys in sizes {
            eprintln!("filling stores of {keys} keys");
            let base = self.dir(&format!("loop-{keys}"));
            let raw_dir = base.join("raw");
            fs::create_dir_all(&raw_dir).expect("raw folder");
            let db = base.join("sqlite.db");
            let mut stores = Vec::new();
            for audit in [true, false] {
                // Fill with `keys - 1` other keys, without fsync (not measured).
                let dir = base.join(format!("sv-{audit}"));
                {
                    let store = self.open(&dir, Durability::None, false, Registry::empty());
                    for i in 0..keys - 1 {
                        store
                            .save(&format!("fill.k{i:05}"), &value)
                            .expect("fill save");
                    }
                }
                stores.push((
                    audit,
                    self.open(&dir, Durability::Full, audit, Registry::empty()),
                ));
            }
            {
                let mut conn = sqlite_open(&db, "OFF");
                let tx = conn.transaction().expect("begin");
                for i in 0..keys - 1 {
                    raw_write(
                        &raw_dir,
                        &format!("fill-k{i:05}.json"),
                        &bytes,
                        Durability::None,
                    );
                    sqlite_put(&tx, &format!("fill.k{i:05}"), &bytes);
                }
                tx.commit().expect("commit");
            }
            let conn = sqlite_open(&db, "FULL");
            setups.push(Setup {
                keys,
                raw_dir,
                stores,
                conn,
            });
        }
        eprintln!("{saves} saves of one key, stores of {sizes:?} keys interleaved");
        let chunk = (saves / 20).max(1);
        let mut per_size: Vec<Group> = Vec::new();
        let mut contenders: Vec<(usize, Contender<'_>)> = Vec::new();
        for (index, setup) in setups.iter().enumerate() {
            let mut group = Group::new(
                format!(
                    "{saves} saves of one 1 KiB key in a store of {} keys",
                    setup.keys
                ),
                &format!("{saves} saves, {} keys", setup.keys),
                RAW_FULL,
                SQLITE_FULL,
            );
            group.note = format!(
                "The figure is the whole loop (median of {reps}); every contender and both store \
                 sizes ran interleaved in chunks of {chunk} saves. The key shares its folder (or \
                 table) with the {} others.",
                setup.keys - 1
            );
            per_size.push(group);
            let counter = std::cell::Cell::new(0u64);
            let revision = move || {
                counter.set(counter.get() + 1);
                counter.get()
            };
            let value = &value;
            let raw_dir = &setup.raw_dir;
            let next = revision.clone();
            contenders.push((
                index,
                contender(RAW_FULL, true, move || {
                    let mut v = value.clone();
                    timed(|| {
                        for _ in 0..chunk {
                            v["revision"] = json!(next());
                            let bytes = serde_json::to_vec(&v).expect("JSON");
                            raw_write(raw_dir, "fill-target.json", &bytes, Durability::Full);
                        }
                    })
                }),
            ));
            for (audit, store) in &setup.stores {
                let next = revision.clone();
                contenders.push((
                    index,
                    contender(
                        &sv_save_name(Durability::Full, Fmt::Plain, *audit),
                        *audit,
                        move || {
                            let mut v = value.clone();
                            timed(|| {
                                for _ in 0..chunk {
                                    v["revision"] = json!(next());
                                    store.save("fill.target", &v).expect("save");
                                }
                            })
                        },
                    ),
                ));
            }
            let conn = &setup.conn;
            let next = revision.clone();
            contenders.push((
                index,
                contender(SQLITE_FULL, true, move || {
                    let mut v = value.clone();
                    timed(|| {
                        for _ in 0..chunk {
                            v["revision"] = json!(next());
                            let bytes = serde_json::to_vec(&v).expect("JSON");
                            sqlite_put(conn, "fill.target", &bytes);
                        }
                    })
                }),
            ));
        }
        let chunks = saves.div_ceil(chunk);
        settle();
        let mut totals: Vec<Vec<Duration>> = vec![Vec::new(); contenders.len()];
        for _ in 0..reps.max(1) {
            let mut sums = vec![Duration::ZERO; contenders.len()];
            for round in 0..chunks {
                let n = contenders.len();
                for step in 0..n {
                    let i = (round + step) % n;
                    sums[i] += (contenders[i].1.run)();
                }
            }
            for (i, sum) in sums.into_iter().enumerate() {
                totals[i].push(sum);
            }
        }
        for ((index, c), mut times) in contenders.into_iter().zip(totals) {
            times.sort();
            per_size[index].push(c.name, reps, times[times.len() / 2], c.chart);
        }
        drop(setups);
        self.groups.extend(per_size);
    }

    /// Open, then load every key of a store of `many_keys` keys.
    fn reopen(&mut self) {
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

    /// The parts of an encrypted + compressed save of the big document, each run alone, in the
    /// same rounds as the whole save.
    fn parts(&mut self, value: &Value) {
        let reps = self.plan.reps_16m;
        let size = json_len(value);
        eprintln!("parts of a compressed + encrypted save ({size} bytes)");
        let mut group = Group::new(
            format!(
                "Parts of a compressed + encrypted save of {}, each alone",
                format_bytes(size)
            ),
            "parts",
            "",
            "",
        );
        let meta = Meta {
            schema_version: "0.0.0".into(),
            saved_at_ms: 1_764_126_784_000,
        };
        let ctx = Context {
            store_id: "0123456789abcdef0123456789abcdef",
            key_name: "bench.history",
        };
        let json = serde_json::to_vec(value).expect("JSON");
        let compress = EncodeOptions {
            compression: Some(Compression::Fast),
            encrypt: false,
        };
        let encrypt = EncodeOptions {
            compression: None,
            encrypt: true,
        };
        let compressed = codec::encode(&json, &meta, &compress, &ctx, None).expect("compress");
        let encrypted =
            codec::encode(&compressed, &meta, &encrypt, &ctx, Some(&self.keys)).expect("encrypt");
        let raw_dir = self.dir("raw");
        let store = self.open(
            &self.sv_dir("Full-true"),
            Durability::Full,
            true,
            Registry::empty(),
        );
        {
            let (meta, ctx, json, compressed, encrypted, keys, raw_dir, store) = (
                &meta,
                &ctx,
                &json,
                &compressed,
                &encrypted,
                &self.keys,
                &raw_dir,
                &store,
            );
            let mut contenders: Vec<Contender<'_>> = vec![
                contender("serialize (serde_json::to_vec)", false, move || {
                    timed(|| {
                        std::hint::black_box(serde_json::to_vec(value).expect("JSON"));
                    })
                }),
                contender("compress (gzip level 1, zlib-rs)", false, move || {
                    timed(|| {
                        std::hint::black_box(
                            codec::encode(json, meta, &compress, ctx, None).expect("compress"),
                        );
                    })
                }),
                contender(
                    &format!(
                        "encrypt (AES-256-GCM-SIV of the {} compressed)",
                        format_bytes(compressed.len())
                    ),
                    false,
                    move || {
                        timed(|| {
                            std::hint::black_box(
                                codec::encode(compressed, meta, &encrypt, ctx, Some(keys))
                                    .expect("encrypt"),
                            );
                        })
                    },
                ),
                contender(
                    &format!("durable write of the {}", format_bytes(encrypted.len())),
                    false,
                    move || timed(|| raw_write(raw_dir, "parts.bin", encrypted, Durability::Full)),
                ),
                contender(WHOLE, false, move || {
                    timed(|| {
                        store
                            .save_with("bench.parts", value, &Fmt::Both.options())
                            .expect("save");
                    })
                }),
            ];
            rounds(&mut group, reps, false, &mut contenders);
        }
        let sum = group
            .rows
            .iter()
            .filter(|r| r.name != WHOLE)
            .map(|r| r.median)
            .sum();
        group.push("sum of the parts", reps, sum, false);
        self.groups.push(group);
    }

    /// Peak heap of a save and a load of the big document, typed as the application holds it.
    fn memory(&mut self, value: &Value) {
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

    fn run(&mut self) {
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
        self.repeated();
        self.reopen();
        self.judge();
    }

    fn group(&self, prefix: &str) -> &Group {
        self.groups
            .iter()
            .find(|g| g.title.starts_with(prefix))
            .unwrap_or_else(|| panic!("no group {prefix:?}"))
    }

    fn judge(&mut self) {
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

fn ratio(a: Duration, b: Duration) -> f64 {
    ratio_f(a, b)
}

fn ratio_f(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64().max(1e-12)
}

fn ratio_of(group: &Group, a: &str, b: &str) -> f64 {
    ratio(group.must(a), group.must(b))
}

// ---------------------------------------------------------------------------------------------
// The report.

fn format_duration(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s < 1e-3 {
        format!("{:.1} µs", s * 1e6)
    } else if s < 1.0 {
        format!("{:.2} ms", s * 1e3)
    } else {
        format!("{s:.2} s")
    }
}

fn format_bytes(n: usize) -> String {
    if n >= MIB {
        format!("{:.2} MiB", n as f64 / MIB as f64)
    } else if n >= KIB {
        format!("{:.1} KiB", n as f64 / KIB as f64)
    } else {
        format!("{n} B")
    }
}

/// The machine, the date, the folder's file system.
struct Machine {
    cpus: usize,
    cpu: String,
    kernel: String,
    fs: String,
    date: String,
    rustc: String,
}

impl Machine {
    fn probe(dir: &Path) -> Machine {
        let cpuinfo = fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu = cpuinfo
            .lines()
            .find(|l| l.starts_with("model name"))
            .and_then(|l| l.split_once(':'))
            .map_or_else(|| "unknown".to_owned(), |(_, v)| v.trim().to_owned());
        let kernel = fs::read_to_string("/proc/sys/kernel/osrelease")
            .map_or_else(|_| "unknown".to_owned(), |s| s.trim().to_owned());
        let rustc = std::process::Command::new(std::env::var("RUSTC").unwrap_or("rustc".into()))
            .arg("-V")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .map_or_else(|| "unknown".to_owned(), |s| s.trim().to_owned());
        Machine {
            cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
            cpu,
            kernel,
            fs: file_system_of(dir),
            date: today(),
            rustc,
        }
    }
}

/// The type of the file system holding `dir`, from the longest mount point above it.
fn file_system_of(dir: &Path) -> String {
    let dir = fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    let mounts = fs::read_to_string("/proc/mounts").unwrap_or_default();
    mounts
        .lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let device = fields.next()?;
            let point = fields.next()?.replace("\\040", " ");
            let kind = fields.next()?;
            dir.starts_with(&point)
                .then(|| (point.len(), format!("{kind} ({device} at {point})")))
        })
        .max_by_key(|(len, _)| *len)
        .map_or_else(|| "unknown".to_owned(), |(_, kind)| kind)
}

/// Today's date (UTC) as YYYY-MM-DD, from the civil-from-days algorithm.
fn today() -> String {
    let days = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() / 86_400) as i64;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

const BEGIN: &str = "<!-- compare:begin (generated by `cargo bench -p statevault --bench compare`; edit outside the markers) -->";
const END: &str = "<!-- compare:end -->";

fn markdown(bench: &Bench, machine: &Machine) -> String {
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
    let _ = writeln!(md, "\n### Aims of issue 9\n");
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

/// A horizontal bar chart of the charted rows, one block per workload, on a log time axis.
fn svg(bench: &Bench) -> String {
    const LEFT: f64 = 360.0;
    const WIDTH: f64 = 980.0;
    const BAR: f64 = 13.0;
    const GAP: f64 = 3.0;
    const BLOCK_GAP: f64 = 14.0;
    const TOP: f64 = 56.0;
    let plot = WIDTH - LEFT - 110.0;
    let charted: Vec<(&Group, Vec<&Row>)> = bench
        .groups
        .iter()
        .filter(|g| !g.raw.is_empty())
        .map(|g| (g, g.rows.iter().filter(|r| r.chart).collect::<Vec<_>>()))
        .filter(|(_, rows)| !rows.is_empty())
        .collect();
    let all = charted
        .iter()
        .flat_map(|(_, rows)| rows.iter().map(|r| r.median.as_secs_f64()));
    let (lo, hi) = all.fold((f64::MAX, 0.0f64), |(lo, hi), s| (lo.min(s), hi.max(s)));
    let lo_exp = lo.max(1e-7).log10().floor();
    let hi_exp = hi.max(1e-6).log10().ceil().max(lo_exp + 1.0);
    let x = |s: f64| LEFT + (s.max(1e-7).log10() - lo_exp) / (hi_exp - lo_exp) * plot;
    let rows: usize = charted.iter().map(|(_, r)| r.len()).sum();
    let height = TOP + rows as f64 * (BAR + GAP) + charted.len() as f64 * (BLOCK_GAP + 16.0) + 40.0;
    let color = |name: &str| {
        if name.starts_with("raw") {
            "#7f8c8d"
        } else if name.starts_with("SQLite") {
            "#2980b9"
        } else if name.contains("compressed+encrypted") {
            "#8e44ad"
        } else {
            "#27ae60"
        }
    };
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height:.0}" viewBox="0 0 {WIDTH} {height:.0}" font-family="sans-serif" font-size="11">"#
    );
    let _ = writeln!(
        out,
        r#"<rect width="100%" height="100%" fill="white"/><text x="10" y="20" font-size="15" font-weight="bold">statevault beside the raw primitive and SQLite: median time per operation (log scale)</text>"#
    );
    let mut legend_x = 10.0;
    for (name, fill) in [
        ("raw primitive", "#7f8c8d"),
        ("statevault (Full, plain)", "#27ae60"),
        ("statevault (Full, compressed+encrypted)", "#8e44ad"),
        ("SQLite (WAL, synchronous=FULL)", "#2980b9"),
    ] {
        let _ = writeln!(
            out,
            r#"<rect x="{legend_x:.1}" y="30" width="10" height="10" fill="{fill}"/><text x="{:.0}" y="39">{name}</text>"#,
            legend_x + 14.0
        );
        legend_x += 14.0 + name.len() as f64 * 6.2 + 18.0;
    }
    let mut exp = lo_exp;
    while exp <= hi_exp {
        let gx = x(10f64.powf(exp));
        let label = format_duration(Duration::from_secs_f64(10f64.powf(exp)));
        let _ = writeln!(
            out,
            r##"<line x1="{gx:.1}" y1="{TOP}" x2="{gx:.1}" y2="{:.0}" stroke="#ddd"/><text x="{gx:.1}" y="{:.0}" text-anchor="middle" fill="#555">{label}</text>"##,
            height - 30.0,
            height - 16.0
        );
        exp += 1.0;
    }
    let mut y = TOP;
    for (group, rows) in &charted {
        let _ = writeln!(
            out,
            r#"<text x="10" y="{:.0}" font-weight="bold">{}</text>"#,
            y + 11.0,
            escape(&group.label)
        );
        y += 16.0;
        for row in rows {
            let s = row.median.as_secs_f64();
            let end = x(s);
            let _ = writeln!(
                out,
                r#"<text x="{:.0}" y="{:.1}" text-anchor="end">{}</text><rect x="{LEFT}" y="{y:.1}" width="{:.1}" height="{BAR}" fill="{}"/><text x="{:.1}" y="{:.1}">{}</text>"#,
                LEFT - 6.0,
                y + BAR - 3.0,
                escape(&row.name),
                (end - LEFT).max(1.0),
                color(&row.name),
                end + 4.0,
                y + BAR - 3.0,
                format_duration(row.median)
            );
            y += BAR + GAP;
        }
        y += BLOCK_GAP;
    }
    out.push_str("</svg>\n");
    out
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Replaces the text between the markers of `path` (or appends it, or creates the file).
fn write_report(path: &Path, section: &str) {
    let old = fs::read_to_string(path).unwrap_or_default();
    let new = match (old.find(BEGIN), old.find(END)) {
        (Some(begin), Some(end)) if end > begin => {
            format!("{}{}{}", &old[..begin], section, &old[end + END.len()..])
        }
        _ if old.is_empty() => format!("# Performance\n\n{section}\n"),
        _ => format!("{old}\n{section}\n"),
    };
    fs::write(path, new).expect("write report");
}

/// `STATEVAULT_BENCH_PROFILE=<op>[:<times>]`: runs one statevault operation in a loop and
/// nothing else, for `valgrind --tool=callgrind` or `perf record`. Ops: `save-1k`, `load-1m`,
/// `save-16m-both`, `load-16m-both`, `batch`; each also as `<op>-audit-off`.
fn profile(root: &Path, spec: &str, keys: KeySet) {
    let (op, times) = spec.split_once(':').unwrap_or((spec, "20"));
    let times: usize = times.parse().expect("a count after the colon");
    let provider = Arc::new(StaticKeyProvider::new(keys));
    // `<op>-audit-off`: the same with the audit log off.
    let (op, audit) = match op.strip_suffix("-audit-off") {
        Some(op) => (op, false),
        None => (op, true),
    };
    let store = Store::open_with(
        root.join("sv"),
        StoreOptions::new()
            .key_provider(provider)
            .registry(Registry::empty())
            .audit_log(audit),
    )
    .expect("open");
    let both = Fmt::Both.options();
    match op {
        "save-1k" => {
            let value = settings(KIB);
            for _ in 0..times {
                store.save("bench.settings", &value).expect("save");
            }
        }
        "load-1m" => {
            store.save("bench.history", &history(MIB)).expect("save");
            for _ in 0..times {
                std::hint::black_box(store.load::<Value>("bench.history").expect("load"));
            }
        }
        "save-16m-both" => {
            let value = history(16 * MIB);
            for _ in 0..times {
                store
                    .save_with("bench.history", &value, &both)
                    .expect("save");
            }
        }
        "load-16m-both" => {
            let value = history(16 * MIB);
            store
                .save_with("bench.history", &value, &both)
                .expect("save");
            for _ in 0..times {
                std::hint::black_box(store.load::<Value>("bench.history").expect("load"));
            }
        }
        "batch" => {
            let value = settings(KIB);
            for _ in 0..times {
                let mut batch = Batch::new();
                for i in 0..100 {
                    batch
                        .save(&format!("batch.k{i:03}"), &value)
                        .expect("batch");
                }
                store.save_batch(batch).expect("save_batch");
            }
        }
        other => panic!("unknown profile op {other:?}"),
    }
}

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
        profile(temp.path(), &spec, keys);
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
        None if mode == Mode::Full => Path::new(env!("CARGO_MANIFEST_DIR")).join("docs"),
        None => Path::new(env!("CARGO_TARGET_TMPDIR")).join("compare"),
    };
    fs::create_dir_all(&out).expect("report folder");
    write_report(&out.join("PERFORMANCE.md"), &markdown(&bench, &machine));
    fs::write(out.join("performance.svg"), svg(&bench)).expect("write chart");
    eprintln!("compare: report in {}", out.display());
}
