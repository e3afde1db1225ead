//! A few scoped threads for I/O-bound loops (copies and fsyncs whose latency overlaps).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use crate::error::Result;

/// Below this many items a loop stays on the calling thread.
const PARALLEL_MIN: usize = 8;

/// Threads for I/O-bound work: fsync latency, not CPU, is what they overlap.
fn io_threads() -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    (cores * 2).clamp(2, 8)
}

/// `f` over `items` on a few scoped threads, results in order. The first error stops the
/// others from taking new items and is returned.
pub(crate) fn parallel_map<T: Sync, R: Send>(
    items: &[T],
    f: impl Fn(&T) -> Result<R> + Sync,
) -> Result<Vec<R>> {
    if items.len() < PARALLEL_MIN {
        return items.iter().map(f).collect();
    }
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let threads = io_threads().min(items.len());
    let outcomes = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    while !failed.load(Ordering::Relaxed) {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(item) = items.get(i) else { break };
                        match f(item) {
                            Ok(r) => done.push((i, r)),
                            Err(e) => {
                                failed.store(true, Ordering::Relaxed);
                                return Err(e);
                            }
                        }
                    }
                    Ok(done)
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join()).collect::<Vec<_>>()
    });
    let mut results: Vec<Option<R>> = items.iter().map(|_| None).collect();
    let mut first_error = None;
    for outcome in outcomes {
        match outcome {
            Ok(Ok(done)) => {
                for (i, r) in done {
                    results[i] = Some(r);
                }
            }
            Ok(Err(e)) => {
                first_error.get_or_insert(e);
            }
            // A panic in `f` is a bug, not an input error: let it continue on this thread.
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }
    if let Some(e) = first_error {
        return Err(e);
    }
    Ok(results
        .into_iter()
        .map(|r| r.expect("every item was done when no worker failed"))
        .collect())
}
