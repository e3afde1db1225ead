//! JavaScript migrations, run on the JavaScript thread: through a threadsafe function from the
//! pool, directly from a synchronous call.

use std::cell::Cell;
use std::sync::mpsc;

use napi::bindgen_prelude::FunctionRef;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::{Env, Status};
use serde_json::Value;

thread_local! {
    /// The environment of the synchronous call running on this (the JavaScript) thread, so that
    /// a JavaScript migration it reaches is called directly instead of through the threadsafe
    /// function, whose queue that same thread would have to drain (a deadlock).
    static SYNC_ENV: Cell<Option<Env>> = const { Cell::new(None) };
}

/// Runs `f` with [`SYNC_ENV`] set to `env`.
pub(crate) fn on_js_thread<T>(env: Env, f: impl FnOnce() -> T) -> T {
    struct Reset(Option<Env>);
    impl Drop for Reset {
        fn drop(&mut self) {
            SYNC_ENV.with(|cell| cell.set(self.0));
        }
    }
    let _reset = Reset(SYNC_ENV.with(|cell| cell.replace(Some(env))));
    f()
}

/// The application's JavaScript migrations, reached through one dispatcher function
/// `(request: string) => string`: the request is `"<index>:<json>"`, the answer `"o<json>"`
/// or `"e<message>"` (the dispatcher catches what a migration throws).
pub(crate) struct JsMigrations {
    pub(crate) direct: FunctionRef<String, String>,
    pub(crate) threadsafe: ThreadsafeFunction<String, String, String, Status, false, true>,
}

impl JsMigrations {
    pub(crate) fn run(&self, index: usize, value: Value) -> Result<Value, String> {
        let request = format!("{index}:{value}");
        let answer = match SYNC_ENV.with(Cell::get) {
            Some(env) => self
                .direct
                .borrow_back(&env)
                .and_then(|f| f.call(request))
                .map_err(|e| e.reason.clone())?,
            None => {
                let (sender, receiver) = mpsc::channel();
                let status = self.threadsafe.call_with_return_value(
                    request,
                    ThreadsafeFunctionCallMode::Blocking,
                    move |answer: napi::Result<String>, _env| {
                        // The waiting thread may be gone; then nobody needs the answer.
                        let _ = sender.send(answer.map_err(|e| e.reason.clone()));
                        Ok(())
                    },
                );
                if status != Status::Ok {
                    return Err(format!(
                        "the JavaScript thread cannot run the migration ({status})"
                    ));
                }
                receiver.recv().map_err(|_| {
                    "the JavaScript thread ended before the migration ran".to_owned()
                })??
            }
        };
        match answer.split_at_checked(1) {
            Some(("o", json)) => serde_json::from_str(json)
                .map_err(|e| format!("the migration returned something that is not JSON: {e}")),
            Some(("e", message)) => Err(message.to_owned()),
            _ => Err(format!("unexpected answer from the dispatcher: {answer:?}")),
        }
    }
}
