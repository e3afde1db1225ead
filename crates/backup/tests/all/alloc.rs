//! A counting allocator, so tests can show that importing a crafted archive stays within bounds.
//!
//! Counts are per thread (the test harness runs tests on parallel threads) and only while a
//! [`measure`] call is running on that thread.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

struct Counting;

thread_local! {
    static ACTIVE: Cell<bool> = const { Cell::new(false) };
    static CURRENT: Cell<usize> = const { Cell::new(0) };
    static PEAK: Cell<usize> = const { Cell::new(0) };
}

fn on_alloc(size: usize) {
    // `try_with`: the thread-locals may already be gone while a thread shuts down.
    let _ = ACTIVE.try_with(|active| {
        if active.get() {
            let now = CURRENT.with(|c| {
                c.set(c.get() + size);
                c.get()
            });
            PEAK.with(|p| p.set(p.get().max(now)));
        }
    });
}

fn on_dealloc(size: usize) {
    let _ = ACTIVE.try_with(|active| {
        if active.get() {
            CURRENT.with(|c| c.set(c.get().saturating_sub(size)));
        }
    });
}

// The only unsafe code of the crate's tests: a `GlobalAlloc` must be an `unsafe impl`. It forwards
// every call to the system allocator unchanged and only counts sizes.
#[allow(unsafe_code)]
mod imp {
    use super::*;

    // SAFETY: every method forwards to `System` with the caller's arguments, so `System`'s guarantees
    // hold; the bookkeeping touches only const-initialised thread-locals, which never allocate.
    unsafe impl GlobalAlloc for Counting {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            on_alloc(layout.size());
            // SAFETY: forwarded unchanged, see above.
            unsafe { System.alloc(layout) }
        }
        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            on_dealloc(layout.size());
            // SAFETY: forwarded unchanged, see above.
            unsafe { System.dealloc(ptr, layout) }
        }
        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            on_alloc(new_size);
            on_dealloc(layout.size());
            // SAFETY: forwarded unchanged, see above.
            unsafe { System.realloc(ptr, layout, new_size) }
        }
    }

    #[global_allocator]
    static GLOBAL: Counting = Counting;
}

/// Runs `f` and returns its result with the peak number of bytes it held allocated at once.
pub fn measure<T>(f: impl FnOnce() -> T) -> (T, usize) {
    CURRENT.with(|c| c.set(0));
    PEAK.with(|p| p.set(0));
    ACTIVE.with(|a| a.set(true));
    let out = f();
    ACTIVE.with(|a| a.set(false));
    (out, PEAK.with(Cell::get))
}
