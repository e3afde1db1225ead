//! Opening the store a command works on: read-only for commands that only read (so they work
//! while the application holds the store), never creating one by mistake, optionally waiting for
//! the writer lock.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};
use statevault::{
    EnvKeyProvider, ErrorKind, FileKeyProvider, KeyProvider, KeychainProvider, Store, StoreOptions,
};

use crate::Cli;
use crate::exit;

/// How long a waiting open sleeps between tries for the writer lock.
const WAIT_STEP: Duration = Duration::from_millis(50);

/// The key provider the command line was told to use: a key file, `STATEVAULT_KEY`, or the OS
/// keychain entry of the store.
pub(crate) fn key_provider(cli: &Cli, store_id: &str) -> Arc<dyn KeyProvider> {
    if let Some(path) = &cli.key_file {
        Arc::new(FileKeyProvider::new(path))
    } else if std::env::var_os(statevault::KEY_ENV_VAR).is_some() {
        Arc::new(EnvKeyProvider::new())
    } else {
        Arc::new(KeychainProvider::new(store_id))
    }
}

/// Opens the store for writing, or read-only for commands that only read. A write command
/// refuses a folder that holds no store, unless `--create` says to make one.
pub(crate) fn open(cli: &Cli, read_only: bool) -> Result<Store> {
    open_as(cli, read_only, cli.create)
}

/// Opens the store for writing, creating it if the folder holds none (`statevault init`).
pub(crate) fn create(cli: &Cli) -> Result<Store> {
    open_as(cli, false, true)
}

fn open_as(cli: &Cli, read_only: bool, create: bool) -> Result<Store> {
    let dir = dir(cli)?;
    // The key provider of the keychain needs the store id, which needs the store open: open
    // once read-only to learn it (cheap, and it never creates anything), then with the provider.
    let store_id = match Store::open_with(&dir, StoreOptions::new().read_only(true)) {
        Ok(store) => store.store_id().to_owned(),
        Err(e) if e.kind() == ErrorKind::NotAStore && !read_only && !create => {
            return Err(exit::NotAStore(format!(
                "no statevault store at {}: run `statevault --dir {} init`, or pass --create",
                dir.display(),
                dir.display()
            ))
            .into());
        }
        Err(_) => String::new(),
    };
    let store = open_waiting(cli, &dir, &|| options(cli, read_only, &store_id))?;
    if store_id.is_empty() && !read_only {
        // A new store: reopen now that it has an id, so encryption binds to it.
        let id = store.store_id().to_owned();
        drop(store);
        return open_waiting(cli, &dir, &|| options(cli, false, &id));
    }
    Ok(store)
}

fn options(cli: &Cli, read_only: bool, store_id: &str) -> StoreOptions {
    // The command line serves the module specification's application: its documents are
    // validated as the application validates them.
    let mut options = StoreOptions::new()
        .with_builtin_documents()
        .read_only(read_only);
    if let Some(quota) = cli.quota_bytes {
        options = options.quota_bytes(quota);
    }
    if !store_id.is_empty() {
        options = options.key_provider(key_provider(cli, store_id));
    }
    options
}

/// Opens with `options`, trying again while another process holds the writer lock, for as long
/// as `--wait` allows (not at all without it).
fn open_waiting(cli: &Cli, dir: &Path, options: &dyn Fn() -> StoreOptions) -> Result<Store> {
    let deadline = cli
        .wait
        .map(|seconds| Instant::now() + Duration::from_secs(seconds));
    loop {
        match Store::open_with(dir, options()) {
            Err(e)
                if e.kind() == ErrorKind::Locked
                    && deadline.is_some_and(|d| Instant::now() < d) =>
            {
                std::thread::sleep(WAIT_STEP);
            }
            result => return Ok(result?),
        }
    }
}

pub(crate) fn dir(cli: &Cli) -> Result<PathBuf> {
    cli.dir
        .clone()
        .context("no store folder: pass --dir DIR or set STATEVAULT_DIR")
        .map_err(|e| anyhow::Error::new(exit::Usage(e.to_string())))
}
