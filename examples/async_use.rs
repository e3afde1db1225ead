//! The store from async code: its calls block on the disk (an fsync per durable save), so an
//! async application runs them on the runtime's blocking pool, never on a reactor thread.
//!
//! `cargo run --example async_use`

use std::sync::Arc;

use statevault::{Store, StoreOptions};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let store = Arc::new(Store::open_with(dir.path(), StoreOptions::new())?);

    let saving = Arc::clone(&store);
    tokio::task::spawn_blocking(move || {
        saving.save("session.window", &serde_json::json!({"x": 40, "y": 80}))
    })
    .await??;

    let loading = Arc::clone(&store);
    let window: Option<serde_json::Value> =
        tokio::task::spawn_blocking(move || loading.load("session.window")).await??;
    println!("loaded off the reactor: {window:?}");
    assert_eq!(window, Some(serde_json::json!({"x": 40, "y": 80})));
    Ok(())
}
