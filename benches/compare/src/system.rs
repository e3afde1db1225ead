//! The machine under the run: a counting allocator for peak memory, page-cache settling, and
//! what the report says about the CPU, the kernel and the file system.

use std::fs;
use std::path::Path;
use std::time::Duration;

use jiff::Timestamp;
use jiff::tz::Offset;

/// Counts the heap in use and its peak, for the peak memory of a 16 MiB save and load.
pub(crate) mod counting {
    #![allow(unsafe_code)]

    use std::alloc::{GlobalAlloc, Layout, System};
    use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

    static CURRENT: AtomicUsize = AtomicUsize::new(0);
    static PEAK: AtomicUsize = AtomicUsize::new(0);

    /// The system allocator with two counters.
    pub struct Counting;

    fn grow(n: usize) {
        let now = CURRENT.fetch_add(n, Relaxed) + n;
        PEAK.fetch_max(now, Relaxed);
    }

    fn shrink(n: usize) {
        CURRENT.fetch_sub(n, Relaxed);
    }

    // SAFETY: every call is passed unchanged to the system allocator, which upholds the
    // `GlobalAlloc` contract; the counters only observe sizes.
    unsafe impl GlobalAlloc for Counting {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            // SAFETY: the caller upholds `alloc`'s contract, which is the system allocator's.
            let ptr = unsafe { System.alloc(layout) };
            if !ptr.is_null() {
                grow(layout.size());
            }
            ptr
        }

        unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
            // SAFETY: as for `alloc`.
            let ptr = unsafe { System.alloc_zeroed(layout) };
            if !ptr.is_null() {
                grow(layout.size());
            }
            ptr
        }

        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            // SAFETY: `ptr` came from this allocator (so from the system's) with `layout`.
            unsafe { System.dealloc(ptr, layout) };
            shrink(layout.size());
        }

        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            // SAFETY: `ptr` came from this allocator with `layout`; the caller upholds the rest.
            let new = unsafe { System.realloc(ptr, layout, new_size) };
            if !new.is_null() {
                if new_size >= layout.size() {
                    grow(new_size - layout.size());
                } else {
                    shrink(layout.size() - new_size);
                }
            }
            new
        }
    }

    /// Starts a measurement: the peak is set to what is in use now, which is returned.
    pub fn start() -> usize {
        let now = CURRENT.load(Relaxed);
        PEAK.store(now, Relaxed);
        now
    }

    /// The peak since [`start`].
    pub fn peak() -> usize {
        PEAK.load(Relaxed)
    }
}

/// Flushes every dirty page of the machine and waits a moment, so that one workload does not
/// pay for the writeback of the previous one (the 16 MiB saves leave gigabytes behind).
pub(crate) fn settle() {
    let _ = std::process::Command::new("sync").status();
    std::thread::sleep(Duration::from_millis(500));
}

/// The machine, the date, the folder's file system.
pub(crate) struct Machine {
    pub(crate) cpus: usize,
    pub(crate) cpu: String,
    pub(crate) kernel: String,
    pub(crate) fs: String,
    pub(crate) date: String,
    pub(crate) rustc: String,
}

impl Machine {
    /// Looks at this machine, with the file system of `dir`.
    pub(crate) fn probe(dir: &Path) -> Machine {
        let cpuinfo = fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu = cpuinfo
            .lines()
            .find(|l| l.starts_with("model name"))
            .and_then(|l| l.split_once(':'))
            .map_or_else(|| "unknown".to_owned(), |(_, v)| v.trim().to_owned());
        let kernel = fs::read_to_string("/proc/sys/kernel/osrelease")
            .map_or_else(|_| "unknown".to_owned(), |s| s.trim().to_owned());
        let rustc = std::process::Command::new(std::env::var("RUSTC").unwrap_or("rustc".into()))
            .arg("-V")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .map_or_else(|| "unknown".to_owned(), |s| s.trim().to_owned());
        Machine {
            cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
            cpu,
            kernel,
            fs: file_system_of(dir),
            date: today(),
            rustc,
        }
    }
}

/// The type of the file system holding `dir`, from the longest mount point above it.
pub(crate) fn file_system_of(dir: &Path) -> String {
    let dir = fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    let mounts = fs::read_to_string("/proc/mounts").unwrap_or_default();
    mounts
        .lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let device = fields.next()?;
            let point = fields.next()?.replace("\\040", " ");
            let kind = fields.next()?;
            dir.starts_with(&point)
                .then(|| (point.len(), format!("{kind} ({device} at {point})")))
        })
        .max_by_key(|(len, _)| *len)
        .map_or_else(|| "unknown".to_owned(), |(_, kind)| kind)
}

/// Today's date (UTC) as YYYY-MM-DD.
pub(crate) fn today() -> String {
    let now = Offset::UTC.to_datetime(Timestamp::now()).date();
    format!("{:04}-{:02}-{:02}", now.year(), now.month(), now.day())
}
