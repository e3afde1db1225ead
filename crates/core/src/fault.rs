//! A backend that fails on purpose, for tests: SQLite's I/O-error method.

use std::io;
use std::path::Path;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::backend::{Backend, DirEntry, FileHandle, LockGuard, LockMode, Metadata};

/// Whether an injected failure happens once or from then on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultKind {
    /// Only operation N fails; later operations succeed (a passing fault).
    Transient,
    /// Operation N and every later one fail (a dead disk, a full disk that stays full).
    Permanent,
}

/// Which error an injected failure reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultError {
    /// `ENOSPC`: no space left on device.
    NoSpace,
    /// `EIO`: an I/O error.
    Io,
}

impl FaultError {
    fn to_io(self) -> io::Error {
        match self {
            #[cfg(unix)]
            FaultError::NoSpace => io::Error::from_raw_os_error(libc::ENOSPC),
            #[cfg(unix)]
            FaultError::Io => io::Error::from_raw_os_error(libc::EIO),
            #[cfg(not(unix))]
            FaultError::NoSpace => io::Error::new(io::ErrorKind::StorageFull, "injected"),
            #[cfg(not(unix))]
            FaultError::Io => io::Error::other("injected I/O error"),
        }
    }
}

#[derive(Debug, Default)]
struct Plan {
    fail_at: Option<(u64, FaultKind, FaultError)>,
}

#[derive(Debug)]
struct State {
    ops: AtomicU64,
    injected: AtomicU64,
    plan: Mutex<Plan>,
}

impl State {
    /// Counts one operation and decides whether it fails.
    fn tick(&self) -> io::Result<()> {
        let n = self.ops.fetch_add(1, Ordering::SeqCst);
        let plan = self.plan.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((at, kind, error)) = plan.fail_at {
            let fails = match kind {
                FaultKind::Transient => n == at,
                FaultKind::Permanent => n >= at,
            };
            if fails {
                self.injected.fetch_add(1, Ordering::SeqCst);
                return Err(error.to_io());
            }
        }
        Ok(())
    }
}

/// Wraps a backend and fails the N-th operation (counting from 0), once or for good.
///
/// Every call of [`Backend`] and of the [`FileHandle`]s it returns is one operation.
/// Clones share their counter and plan.
#[derive(Debug, Clone)]
pub struct FaultBackend {
    inner: Arc<dyn Backend>,
    state: Arc<State>,
}

impl FaultBackend {
    /// Wraps `inner`; nothing fails until [`FaultBackend::fail_at`] is called.
    pub fn new(inner: Arc<dyn Backend>) -> FaultBackend {
        FaultBackend {
            inner,
            state: Arc::new(State {
                ops: AtomicU64::new(0),
                injected: AtomicU64::new(0),
                plan: Mutex::new(Plan::default()),
            }),
        }
    }

    /// Resets the counter and fails operation `n` from now on.
    pub fn fail_at(&self, n: u64, kind: FaultKind, error: FaultError) {
        self.state.ops.store(0, Ordering::SeqCst);
        self.state.injected.store(0, Ordering::SeqCst);
        self.plan().fail_at = Some((n, kind, error));
    }

    /// Stops injecting failures and resets the counter.
    pub fn heal(&self) {
        self.state.ops.store(0, Ordering::SeqCst);
        self.state.injected.store(0, Ordering::SeqCst);
        self.plan().fail_at = None;
    }

    /// Operations counted since the last reset.
    pub fn ops(&self) -> u64 {
        self.state.ops.load(Ordering::SeqCst)
    }

    /// How many failures were injected since the last reset.
    pub fn injected(&self) -> u64 {
        self.state.injected.load(Ordering::SeqCst)
    }

    fn plan(&self) -> std::sync::MutexGuard<'_, Plan> {
        self.state.plan.lock().unwrap_or_else(|e| e.into_inner())
    }
}

struct FaultFile {
    inner: Box<dyn FileHandle>,
    state: Arc<State>,
}

impl FileHandle for FaultFile {
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.state.tick()?;
        self.inner.write_all(buf)
    }

    fn sync(&mut self) -> io::Result<()> {
        self.state.tick()?;
        self.inner.sync()
    }

    fn start_sync(&mut self) -> io::Result<()> {
        self.state.tick()?;
        self.inner.start_sync()
    }

    fn write_all_at(&mut self, offset: u64, buf: &[u8]) -> io::Result<()> {
        self.state.tick()?;
        self.inner.write_all_at(offset, buf)
    }

    fn set_len(&mut self, len: u64) -> io::Result<()> {
        self.state.tick()?;
        self.inner.set_len(len)
    }
}

impl Backend for FaultBackend {
    fn create_new(&self, path: &Path) -> io::Result<Box<dyn FileHandle>> {
        self.state.tick()?;
        let inner = self.inner.create_new(path)?;
        Ok(Box::new(FaultFile {
            inner,
            state: self.state.clone(),
        }))
    }

    fn open_append(&self, path: &Path) -> io::Result<Box<dyn FileHandle>> {
        self.state.tick()?;
        let inner = self.inner.open_append(path)?;
        Ok(Box::new(FaultFile {
            inner,
            state: self.state.clone(),
        }))
    }

    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        self.state.tick()?;
        self.inner.read(path)
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.state.tick()?;
        self.inner.rename(from, to)
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        self.state.tick()?;
        self.inner.remove_file(path)
    }

    fn create_dir(&self, path: &Path) -> io::Result<()> {
        self.state.tick()?;
        self.inner.create_dir(path)
    }

    fn sync_dir(&self, path: &Path) -> io::Result<()> {
        self.state.tick()?;
        self.inner.sync_dir(path)
    }

    fn read_dir(&self, path: &Path) -> io::Result<Vec<DirEntry>> {
        self.state.tick()?;
        self.inner.read_dir(path)
    }

    fn metadata(&self, path: &Path) -> io::Result<Metadata> {
        self.state.tick()?;
        self.inner.metadata(path)
    }

    fn lock(&self, path: &Path, mode: LockMode, wait: bool) -> io::Result<LockGuard> {
        self.state.tick()?;
        self.inner.lock(path, mode, wait)
    }

    fn check_no_links(&self, root: &Path, path: &Path, last: bool) -> io::Result<()> {
        self.inner.check_no_links(root, path, last)
    }
}
