//! The contenders besides statevault: the raw file-system primitive and SQLite, and the names
//! of statevault's rows.

use std::fs;
use std::io::Write as _;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use rusqlite::Connection;
use serde_json::Value;
use statevault::{Durability, SaveOptions};

/// The raw primitive at a durability level: temp file, (f)sync, rename, folder fsync.
pub(crate) fn raw_write(dir: &Path, name: &str, bytes: &[u8], level: Durability) {
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

/// The raw load: read the file, parse it.
pub(crate) fn raw_read(dir: &Path, name: &str) -> Value {
    let bytes = fs::read(dir.join(name)).expect("read");
    serde_json::from_slice(&bytes).expect("parse")
}

/// Opens (or creates) the key-value table in WAL mode with `synchronous`.
pub(crate) fn sqlite_open(path: &Path, synchronous: &str) -> Connection {
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

/// Upserts one row through a cached prepared statement.
///
/// SQLite does not write a row whose new content equals the old one (its cell-overwrite
/// optimization): the same bytes saved twice commit nothing, and the commit costs no sync. A
/// save of unchanged bytes is not what a state store is asked to do, so every put makes its
/// bytes unique with 16 bytes of trailing whitespace (spaces and tabs spelling a counter),
/// which keeps them valid JSON for the loads. The copy this takes is charged to SQLite.
pub(crate) fn sqlite_put(conn: &Connection, key: &str, bytes: &[u8]) {
    static PUTS: AtomicU64 = AtomicU64::new(0);
    let n = PUTS.fetch_add(1, Ordering::Relaxed);
    let mut unique = Vec::with_capacity(bytes.len() + 16);
    unique.extend_from_slice(bytes);
    unique.extend((0..16).map(|bit| if n >> bit & 1 == 1 { b'\t' } else { b' ' }));
    conn.prepare_cached(
        "INSERT INTO kv (key, value) VALUES (?1, ?2) \
         ON CONFLICT(key) DO UPDATE SET value = excluded.value",
    )
    .expect("prepare")
    .execute(rusqlite::params![key, unique])
    .expect("upsert");
}

/// Selects one row and parses its value.
pub(crate) fn sqlite_get(conn: &Connection, key: &str) -> Value {
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
pub(crate) enum Fmt {
    Plain,
    Compressed,
    Encrypted,
    Both,
}

/// Every format, in the order of the rows.
pub(crate) const FORMATS: [Fmt; 4] = [Fmt::Plain, Fmt::Compressed, Fmt::Encrypted, Fmt::Both];

impl Fmt {
    /// The save options of this format.
    pub(crate) fn options(self) -> SaveOptions {
        SaveOptions {
            encrypt: Some(matches!(self, Fmt::Encrypted | Fmt::Both)),
            compress: Some(matches!(self, Fmt::Compressed | Fmt::Both)),
            backup: None,
        }
    }

    /// The format as the rows name it.
    pub(crate) fn label(self) -> &'static str {
        match self {
            Fmt::Plain => "plain",
            Fmt::Compressed => "compressed",
            Fmt::Encrypted => "encrypted",
            Fmt::Both => "compressed+encrypted",
        }
    }
}

/// A durability as the rows name it.
pub(crate) fn level_label(level: Durability) -> &'static str {
    match level {
        Durability::Full => "Full",
        Durability::Normal => "Normal",
        _ => "None",
    }
}

/// The row name of a statevault save.
pub(crate) fn sv_save_name(level: Durability, fmt: Fmt, audit: bool) -> String {
    format!(
        "statevault {} {}{}",
        level_label(level),
        fmt.label(),
        if audit { "" } else { ", audit off" }
    )
}

/// The row name of a statevault load.
pub(crate) fn sv_load_name(fmt: Fmt) -> String {
    format!("statevault load, {}", fmt.label())
}
