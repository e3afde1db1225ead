//! statevault for Node.js and Electron: the native half of the `statevault` npm package.
//!
//! The JavaScript entry (`index.js`) wraps this addon into the module specification's
//! `StatePersistenceAPI`. Values cross the boundary as JSON text (the JavaScript side
//! stringifies and parses), errors as a JSON payload in the message that the JavaScript side
//! turns into an `Error` with `code`, `key`, `path` and `violations`. Every code comes from
//! [`statevault::ErrorKind::code`].
//!
//! Each asynchronous method is an [`AsyncTask`](napi::bindgen_prelude::AsyncTask): its work runs on the libuv thread pool and
//! never on the JavaScript thread. JavaScript migrations run on the JavaScript thread: from
//! the pool through a [`ThreadsafeFunction`](napi::threadsafe_function::ThreadsafeFunction) whose answer the pool thread waits for, and from a
//! synchronous call (already on the JavaScript thread) by a direct call.
#![deny(missing_docs)]

mod error;
mod migrations;
mod open;
mod ops;
mod store;
mod task;

pub use error::error_codes;
pub use open::{OpenJob, open, open_sync, validate_data};
pub use store::NativeStore;
pub use task::{Job, Reply};
