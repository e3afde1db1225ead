//! The idle checkpoint: a writer's thread that brings the keys' files up to date once the
//! journal has held values and no commit came for a while, so in a running application a key's
//! file lags its last save by a bounded time, and no caller waits for it.
//!
//! The thread sleeps until a commit wakes it ([`IdleSignal::committed`]), then until the
//! journal has been quiet for the idle time, then checkpoints (as a batch that crossed the
//! journal's size would). A commit meanwhile pushes the deadline on. The writer's drop stops
//! the thread and joins it before its own final checkpoint.

use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// What the writer's commits and its drop tell the idle thread.
#[derive(Debug, Default)]
pub(crate) struct IdleSignal {
    state: Mutex<State>,
    wake: Condvar,
}

#[derive(Debug, Default)]
struct State {
    /// The last commit not yet checkpointed (`None`: nothing waits).
    last_commit: Option<Instant>,
    stop: bool,
}

impl IdleSignal {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A commit happened: the thread's deadline moves to `idle` from now.
    pub(crate) fn committed(&self) {
        let mut state = self.lock();
        let was_idle = state.last_commit.is_none();
        state.last_commit = Some(Instant::now());
        drop(state);
        if was_idle {
            self.wake.notify_one();
        }
    }

    /// The journal was checkpointed (by anyone): nothing waits any more.
    pub(crate) fn settled(&self) {
        self.lock().last_commit = None;
    }

    fn stop(&self) {
        self.lock().stop = true;
        self.wake.notify_one();
    }

    /// Waits until the journal has been quiet for `idle` since a commit; `false` when told to
    /// stop.
    fn wait_quiet(&self, idle: Duration) -> bool {
        let mut state = self.lock();
        loop {
            if state.stop {
                return false;
            }
            match state.last_commit {
                None => {
                    state = self.wake.wait(state).unwrap_or_else(|e| e.into_inner());
                }
                Some(at) => {
                    let quiet = at.elapsed();
                    if quiet >= idle {
                        return true;
                    }
                    state = self
                        .wake
                        .wait_timeout(state, idle - quiet)
                        .unwrap_or_else(|e| e.into_inner())
                        .0;
                }
            }
        }
    }
}

/// What an idle checkpoint came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Done (or nothing to do).
    Done,
    /// Failed; tried again after the next quiet spell.
    Retry,
    /// The handle can no longer write: the thread ends.
    Stop,
}

/// The running idle thread of a writer.
#[derive(Debug)]
pub(crate) struct IdleCheckpointer {
    signal: Arc<IdleSignal>,
    thread: Option<JoinHandle<()>>,
}

impl IdleCheckpointer {
    /// Starts the thread: after each quiet spell of `idle`, `checkpoint` runs.
    pub(crate) fn start(
        signal: Arc<IdleSignal>,
        idle: Duration,
        mut checkpoint: impl FnMut() -> Outcome + Send + 'static,
    ) -> std::io::Result<IdleCheckpointer> {
        let thread_signal = signal.clone();
        let thread = std::thread::Builder::new()
            .name("statevault-checkpoint".into())
            .spawn(move || {
                while thread_signal.wait_quiet(idle) {
                    // Marked settled first: a commit during the checkpoint marks it again.
                    thread_signal.settled();
                    match checkpoint() {
                        Outcome::Done => {}
                        Outcome::Retry => thread_signal.committed(),
                        Outcome::Stop => return,
                    }
                }
            })?;
        Ok(IdleCheckpointer {
            signal,
            thread: Some(thread),
        })
    }

    /// Stops the thread and waits for it (a checkpoint under way finishes first).
    pub(crate) fn stop(&mut self) {
        self.signal.stop();
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            tracing::error!("the idle checkpoint thread panicked");
        }
    }
}

impl Drop for IdleCheckpointer {
    fn drop(&mut self) {
        self.stop();
    }
}
