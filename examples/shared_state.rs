//! One store shared by the whole application, as a Tauri command handler or an egui app holds it:
//! `Store` is `Send + Sync`, so an `Arc<Store>` (or Tauri's `State<Store>`) serves every thread.
//!
//! `cargo run --example shared_state`

use std::sync::Arc;

use statevault::{Store, StoreOptions};

/// What a Tauri command looks like with the store in managed state:
/// `#[tauri::command] fn save_panel(store: tauri::State<'_, Store>, …)`; here a plain function.
fn save_panel(store: &Store, panel: u32, open: bool) -> Result<(), statevault::Error> {
    store.save(
        &format!("ui.panel-{panel}"),
        &serde_json::json!({"open": open}),
    )
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let store = Arc::new(Store::open_with(dir.path(), StoreOptions::new())?);
    let workers: Vec<_> = (0..4)
        .map(|panel| {
            let store = Arc::clone(&store);
            std::thread::spawn(move || save_panel(&store, panel, panel % 2 == 0))
        })
        .collect();
    for worker in workers {
        worker.join().expect("the worker ran")?;
    }
    let keys: Vec<String> = store.keys("ui.")?.iter().map(|k| k.to_string()).collect();
    println!(
        "{} panels saved from 4 threads: {}",
        keys.len(),
        keys.join(", ")
    );
    assert_eq!(keys.len(), 4);
    Ok(())
}
