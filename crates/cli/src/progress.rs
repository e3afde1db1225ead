//! Progress bars on a terminal for long operations; nothing at all when stderr is piped.

use std::io::IsTerminal;
use std::sync::OnceLock;

use indicatif::{ProgressBar, ProgressStyle};

/// Below this many items an operation is quick and gets no bar.
const MIN_ITEMS: u64 = 200;

/// A progress bar on stderr, shown only on a terminal and only for long operations. It is
/// created on first use because `set` is called from a `Fn` callback that knows the total.
pub(crate) struct Bar {
    bar: OnceLock<ProgressBar>,
    message: &'static str,
}

impl Bar {
    pub(crate) fn new(message: &'static str) -> Bar {
        Bar {
            bar: OnceLock::new(),
            message,
        }
    }

    /// Reports progress: `done` of `total` items.
    pub(crate) fn set(&self, done: u64, total: u64) {
        if total < MIN_ITEMS || !std::io::stderr().is_terminal() {
            return;
        }
        let bar = self.bar.get_or_init(|| {
            let bar = ProgressBar::new(total).with_message(self.message);
            bar.set_style(
                ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} ({eta})")
                    .expect("the template is valid")
                    .progress_chars("=> "),
            );
            bar
        });
        bar.set_position(done);
    }
}

impl Drop for Bar {
    fn drop(&mut self) {
        if let Some(bar) = self.bar.get() {
            bar.finish_and_clear();
        }
    }
}
