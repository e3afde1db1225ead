//! One asynchronous call: its work on the libuv thread pool, its result handed back.

use napi::{Env, Task};
use napi_derive::napi;
use statevault::ErrorKind;

use crate::error::binding_error;

/// What a native call hands back; `index.js` knows which fields each method fills.
#[napi(object)]
#[derive(Debug, Default)]
pub struct Reply {
    /// A value as JSON text (or a backup id, a path, a list as JSON).
    pub value: Option<String>,
    /// The value before the change, as JSON text, when the caller asked for it.
    pub old: Option<String>,
    /// A yes/no answer: existed, exists, was migrated.
    pub flag: Option<bool>,
    /// Several strings: keys and values of a batch load, `[key, old, new]` triples of a
    /// restore, the old values of a batch's keys.
    pub list: Option<Vec<Option<String>>>,
}

pub(crate) type Work = Box<dyn FnOnce() -> napi::Result<Reply> + Send>;

/// One asynchronous call: its work runs on the libuv thread pool.
pub struct Job(pub(crate) Option<Work>);

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job").finish_non_exhaustive()
    }
}

impl Task for Job {
    type Output = Reply;
    type JsValue = Reply;

    fn compute(&mut self) -> napi::Result<Reply> {
        match self.0.take() {
            Some(work) => work(),
            None => Err(binding_error(ErrorKind::Other, "a job ran twice")),
        }
    }

    fn resolve(&mut self, _env: Env, output: Reply) -> napi::Result<Reply> {
        Ok(output)
    }
}
