//! The Rust API's side of the Node binding's interop test: reads and writes a store that
//! Node.js wrote or will read.
//!
//! ```text
//! interop read DIR KEY          prints the value of KEY as JSON (`null` when missing)
//! interop write DIR KEY JSON    saves JSON under KEY
//! ```

use serde_json::Value;
use statevault::Store;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["read", dir, key] => {
            let store = Store::open(dir)?;
            let value: Option<Value> = store.load(key)?;
            println!("{}", serde_json::to_string(&value)?);
        }
        ["write", dir, key, json] => {
            let store = Store::open(dir)?;
            let value: Value = serde_json::from_str(json)?;
            store.save(key, &value)?;
        }
        _ => return Err("usage: interop read DIR KEY | interop write DIR KEY JSON".into()),
    }
    Ok(())
}
