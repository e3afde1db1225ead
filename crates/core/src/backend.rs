//! The I/O seam: every file-system call of this crate goes through [`Backend`].
//!
//! The real backend is [`FsBackend`]. Tests swap in the test doubles of the `testing` feature:
//! `FaultBackend`, which fails the N-th operation, or `SimBackend`, a power-loss simulator
//! that drops what was not synced.

use std::fmt;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// An open file being written: the temp file of an atomic replace, or an append-only log.
pub trait FileHandle: Send {
    /// Writes all of `buf`.
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()>;
    /// Makes what was written durable (`fdatasync`/`F_FULLFSYNC`). After an error the handle
    /// must not be synced again: the kernel may already have dropped the dirty pages.
    fn sync(&mut self) -> io::Result<()>;
    /// Starts writing the file's data to the medium without waiting, so that a group of files
    /// synced one after the other costs little more than one (a batch writes all its temp
    /// files, starts each, then syncs each). Only a hint: durability still comes from
    /// [`FileHandle::sync`], and the default does nothing.
    fn start_sync(&mut self) -> io::Result<()> {
        Ok(())
    }
    /// Writes all of `buf` at `offset`, over what is there (the journal rewrites its file from
    /// the start after a checkpoint). Only for a handle from [`Backend::create_new`]; the
    /// default reports [`io::ErrorKind::Unsupported`].
    fn write_all_at(&mut self, offset: u64, buf: &[u8]) -> io::Result<()> {
        let _ = (offset, buf);
        Err(io::ErrorKind::Unsupported.into())
    }
    /// Cuts the file to `len` bytes (the journal drops a record a failed write left half
    /// written, so its blocks are free again on a full disk). The default reports
    /// [`io::ErrorKind::Unsupported`].
    fn set_len(&mut self, len: u64) -> io::Result<()> {
        let _ = len;
        Err(io::ErrorKind::Unsupported.into())
    }
}

/// A file open for reading at any offset, kept open by a reader of the journal so that
/// following it costs a read, not an open, per look.
pub trait ReadHandle: Send {
    /// Reads at most `len` bytes from `offset` (fewer at the file's end, nothing past it).
    fn read_at(&mut self, offset: u64, len: usize) -> io::Result<Vec<u8>>;
}

/// What [`Backend::metadata`] reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Metadata {
    /// Length in bytes.
    pub len: u64,
    /// Whether it is a folder.
    pub is_dir: bool,
    /// Whether it is a symbolic link (never followed).
    pub is_symlink: bool,
    /// The inode number (0 where the platform has none).
    pub inode: u64,
    /// Modification time in nanoseconds since the Unix epoch.
    pub modified_ns: i128,
}

/// One entry of [`Backend::read_dir`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirEntry {
    /// The file name (entries whose names are not UTF-8 are skipped: no key maps to them).
    pub name: String,
    /// Whether it is a folder (symbolic links are reported as neither folder nor file).
    pub is_dir: bool,
    /// Whether it is a regular file.
    pub is_file: bool,
}

/// How a lock is taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockMode {
    /// One holder at a time.
    Exclusive,
    /// Any number of shared holders, no exclusive one.
    Shared,
}

/// A held lock; dropping it releases the lock.
pub struct LockGuard(#[allow(dead_code)] Box<dyn Send + Sync>);

impl LockGuard {
    /// Wraps whatever keeps the lock held (a locked file for the real backend).
    pub fn new(holder: Box<dyn Send + Sync>) -> LockGuard {
        LockGuard(holder)
    }
}

impl fmt::Debug for LockGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LockGuard")
    }
}

/// The file-system operations `statevault-core` needs, and nothing more.
///
/// Paths are absolute. Implementations must not follow a symbolic link at the last
/// component of a path they create, and must create files 0600 and folders 0700.
pub trait Backend: Send + Sync + fmt::Debug {
    /// Creates a new file that must not exist yet (`O_CREAT|O_EXCL|O_NOFOLLOW`, mode 0600).
    fn create_new(&self, path: &Path) -> io::Result<Box<dyn FileHandle>>;
    /// Opens a file for appending, creating it (0600) if missing.
    fn open_append(&self, path: &Path) -> io::Result<Box<dyn FileHandle>>;
    /// Reads a whole file.
    fn read(&self, path: &Path) -> io::Result<Vec<u8>>;
    /// Reads at most the first `len` bytes of a file (a header). The default reads the whole
    /// file and cuts it.
    fn read_prefix(&self, path: &Path, len: usize) -> io::Result<Vec<u8>> {
        let mut bytes = self.read(path)?;
        bytes.truncate(len);
        Ok(bytes)
    }
    /// Opens a file to read it at any offset, later ([`ReadHandle`]), not following a symbolic
    /// link at its end. The default reports [`io::ErrorKind::Unsupported`]; a reader of the
    /// journal then reads whole files by path (the test doubles; the real backend off Unix).
    fn open_read(&self, path: &Path) -> io::Result<Box<dyn ReadHandle>> {
        let _ = path;
        Err(io::ErrorKind::Unsupported.into())
    }
    /// Renames `from` over `to`, replacing it atomically.
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;
    /// Removes a file.
    fn remove_file(&self, path: &Path) -> io::Result<()>;
    /// Creates one folder (mode 0700); its parent must exist.
    fn create_dir(&self, path: &Path) -> io::Result<()>;
    /// Makes the entries of a folder (creations, renames, removals) durable.
    fn sync_dir(&self, path: &Path) -> io::Result<()>;
    /// Lists a folder.
    fn read_dir(&self, path: &Path) -> io::Result<Vec<DirEntry>>;
    /// Describes a path without following a symbolic link at its end.
    fn metadata(&self, path: &Path) -> io::Result<Metadata>;
    /// Takes an advisory lock on `path` (created 0600 if missing). With `wait` false a lock held
    /// elsewhere is an error of kind [`io::ErrorKind::WouldBlock`].
    fn lock(&self, path: &Path, mode: LockMode, wait: bool) -> io::Result<LockGuard>;
    /// Refuses `path` when a folder on the way from `root` to it is a symbolic link (`root`
    /// itself excepted; with `last`, `path` itself too), with an error naming the link: the
    /// store never reads or writes through a link inside its folder. Not an operation of its
    /// own: test doubles that count operations forward it uncounted. The default does nothing
    /// (a file system without links, like the simulated one).
    fn check_no_links(&self, root: &Path, path: &Path, last: bool) -> io::Result<()> {
        let _ = (root, path, last);
        Ok(())
    }
}

/// The error of [`Backend::check_no_links`] (inside an [`io::Error`]): the link found.
#[derive(Debug)]
pub(crate) struct LinkRefused(pub(crate) PathBuf);

impl fmt::Display for LinkRefused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} is a symbolic link", self.0.display())
    }
}

impl std::error::Error for LinkRefused {}

/// The backend of one open store: every call is refused when a folder between the store's root
/// and its path is a symbolic link ([`Backend::check_no_links`]), then made on the backend the
/// store was opened with. Files themselves are opened with `O_NOFOLLOW` by [`FsBackend`], so a
/// link at the end of a path is refused too (a rename or removal replaces or removes the link
/// itself, never its target). The root may itself be a link: users point their data folder
/// elsewhere that way.
#[derive(Debug)]
pub(crate) struct Confined {
    root: PathBuf,
    inner: Arc<dyn Backend>,
}

impl Confined {
    pub(crate) fn new(root: PathBuf, inner: Arc<dyn Backend>) -> Confined {
        Confined { root, inner }
    }

    fn check(&self, path: &Path, last: bool) -> io::Result<()> {
        self.inner.check_no_links(&self.root, path, last)
    }
}

impl Backend for Confined {
    fn create_new(&self, path: &Path) -> io::Result<Box<dyn FileHandle>> {
        self.check(path, false)?;
        self.inner.create_new(path)
    }

    fn open_append(&self, path: &Path) -> io::Result<Box<dyn FileHandle>> {
        self.check(path, false)?;
        self.inner.open_append(path)
    }

    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        self.check(path, false)?;
        self.inner.read(path)
    }

    fn read_prefix(&self, path: &Path, len: usize) -> io::Result<Vec<u8>> {
        self.check(path, false)?;
        self.inner.read_prefix(path, len)
    }

    fn open_read(&self, path: &Path) -> io::Result<Box<dyn ReadHandle>> {
        self.check(path, false)?;
        self.inner.open_read(path)
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.check(from, false)?;
        self.check(to, false)?;
        self.inner.rename(from, to)
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        self.check(path, false)?;
        self.inner.remove_file(path)
    }

    fn create_dir(&self, path: &Path) -> io::Result<()> {
        self.check(path, false)?;
        self.inner.create_dir(path)
    }

    fn sync_dir(&self, path: &Path) -> io::Result<()> {
        self.check(path, true)?;
        self.inner.sync_dir(path)
    }

    fn read_dir(&self, path: &Path) -> io::Result<Vec<DirEntry>> {
        self.check(path, true)?;
        self.inner.read_dir(path)
    }

    fn metadata(&self, path: &Path) -> io::Result<Metadata> {
        self.check(path, false)?;
        self.inner.metadata(path)
    }

    fn lock(&self, path: &Path, mode: LockMode, wait: bool) -> io::Result<LockGuard> {
        self.check(path, false)?;
        self.inner.lock(path, mode, wait)
    }

    fn check_no_links(&self, root: &Path, path: &Path, last: bool) -> io::Result<()> {
        self.inner.check_no_links(root, path, last)
    }
}

/// The real file system.
#[derive(Debug, Default, Clone, Copy)]
pub struct FsBackend;

struct FsFile(fs::File);

impl FileHandle for FsFile {
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.0.write_all(buf)
    }

    #[cfg(unix)]
    fn write_all_at(&mut self, offset: u64, buf: &[u8]) -> io::Result<()> {
        // One `pwrite` (not a seek and a write): the journal's commit is a few system calls.
        std::os::unix::fs::FileExt::write_all_at(&self.0, buf, offset)
    }

    #[cfg(not(unix))]
    fn write_all_at(&mut self, offset: u64, buf: &[u8]) -> io::Result<()> {
        use std::io::{Seek, SeekFrom};
        self.0.seek(SeekFrom::Start(offset))?;
        self.0.write_all(buf)
    }

    fn set_len(&mut self, len: u64) -> io::Result<()> {
        self.0.set_len(len)
    }

    fn sync(&mut self) -> io::Result<()> {
        // On Linux `fdatasync` is enough: it also flushes the metadata (the size) needed to
        // read the data back. Elsewhere `sync_all` is the strongest call std offers, and on
        // Apple platforms it is `F_FULLFSYNC`, which also flushes the drive's cache.
        if cfg!(target_os = "linux") {
            self.0.sync_data()
        } else {
            self.0.sync_all()
        }
    }

    #[cfg(target_os = "linux")]
    fn start_sync(&mut self) -> io::Result<()> {
        // `POSIX_FADV_DONTNEED` makes Linux start writeback of the file's dirty pages and
        // return at once (the pages stay cached until written); PostgreSQL uses it the same
        // way where `sync_file_range` is not at hand. The `fdatasync` calls that follow then
        // find the data already on its way, and ext4 commits the allocations of the whole
        // group in one journal transaction instead of one per file. `syncfs` would do the
        // same in one call but also flushes every other program's dirty data on the file
        // system, an unbounded wait (docs/decisions/0006-journal-batches.md).
        rustix::fs::fadvise(&self.0, 0, None, rustix::fs::Advice::DontNeed).map_err(io::Error::from)
    }
}

/// A file of the real file system open for reading.
#[cfg(unix)]
struct FsReader(fs::File);

#[cfg(unix)]
impl ReadHandle for FsReader {
    fn read_at(&mut self, offset: u64, len: usize) -> io::Result<Vec<u8>> {
        use std::os::unix::fs::FileExt;
        let mut bytes = vec![0; len.min(1024 * 1024)];
        let mut filled = 0;
        loop {
            if filled == bytes.len() {
                if bytes.len() >= len {
                    break;
                }
                let grown = (bytes.len() * 2).min(len);
                bytes.resize(grown, 0);
            }
            match self.0.read_at(&mut bytes[filled..], offset + filled as u64) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        bytes.truncate(filled);
        Ok(bytes)
    }
}

fn file_options() -> fs::OpenOptions {
    let mut options = fs::OpenOptions::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC);
    }
    options
}

impl Backend for FsBackend {
    fn create_new(&self, path: &Path) -> io::Result<Box<dyn FileHandle>> {
        let file = file_options().write(true).create_new(true).open(path)?;
        Ok(Box::new(FsFile(file)))
    }

    fn open_append(&self, path: &Path) -> io::Result<Box<dyn FileHandle>> {
        let file = file_options().append(true).create(true).open(path)?;
        Ok(Box::new(FsFile(file)))
    }

    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        use std::io::Read;
        // `O_NOFOLLOW`: a key's file replaced by a link is refused (`ELOOP`), never read.
        let mut file = file_options().read(true).open(path)?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)?;
        Ok(bytes)
    }

    fn read_prefix(&self, path: &Path, len: usize) -> io::Result<Vec<u8>> {
        use std::io::Read;
        let mut bytes = Vec::with_capacity(len.min(64 * 1024));
        file_options()
            .read(true)
            .open(path)?
            .take(len as u64)
            .read_to_end(&mut bytes)?;
        Ok(bytes)
    }

    #[cfg(unix)]
    fn open_read(&self, path: &Path) -> io::Result<Box<dyn ReadHandle>> {
        Ok(Box::new(FsReader(file_options().read(true).open(path)?)))
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        fs::rename(from, to)
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        fs::remove_file(path)
    }

    fn create_dir(&self, path: &Path) -> io::Result<()> {
        let mut builder = fs::DirBuilder::new();
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            builder.mode(0o700);
        }
        builder.create(path)
    }

    fn sync_dir(&self, path: &Path) -> io::Result<()> {
        // Windows cannot open a folder for flushing without extra flags; NTFS journals
        // renames itself. Everywhere else an fsync of the folder makes its entries durable.
        if cfg!(windows) {
            return Ok(());
        }
        fs::File::open(path)?.sync_all()
    }

    fn read_dir(&self, path: &Path) -> io::Result<Vec<DirEntry>> {
        let mut entries = Vec::new();
        for entry in fs::read_dir(path)? {
            let entry = entry?;
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            let file_type = entry.file_type()?;
            entries.push(DirEntry {
                name,
                is_dir: file_type.is_dir(),
                is_file: file_type.is_file(),
            });
        }
        Ok(entries)
    }

    fn metadata(&self, path: &Path) -> io::Result<Metadata> {
        let meta = fs::symlink_metadata(path)?;
        #[cfg(unix)]
        let (inode, modified_ns) = {
            use std::os::unix::fs::MetadataExt;
            (
                meta.ino(),
                i128::from(meta.mtime()) * 1_000_000_000 + i128::from(meta.mtime_nsec()),
            )
        };
        #[cfg(not(unix))]
        let (inode, modified_ns) = (
            0,
            meta.modified()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_nanos() as i128),
        );
        Ok(Metadata {
            len: meta.len(),
            is_dir: meta.is_dir(),
            is_symlink: meta.file_type().is_symlink(),
            inode,
            modified_ns,
        })
    }

    fn lock(&self, path: &Path, mode: LockMode, wait: bool) -> io::Result<LockGuard> {
        let file = match file_options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
        {
            Ok(file) => file,
            // A reader without write permission still takes a shared lock: `flock` works on a
            // file opened for reading only.
            Err(e) if mode == LockMode::Shared && e.kind() == io::ErrorKind::PermissionDenied => {
                file_options().read(true).open(path)?
            }
            Err(e) => return Err(e),
        };
        let result = match (mode, wait) {
            (LockMode::Exclusive, true) => file.lock(),
            (LockMode::Shared, true) => file.lock_shared(),
            (LockMode::Exclusive, false) => try_lock_result(file.try_lock()),
            (LockMode::Shared, false) => try_lock_result(file.try_lock_shared()),
        };
        result.map(|()| LockGuard::new(Box::new(file)))
    }

    fn check_no_links(&self, root: &Path, path: &Path, last: bool) -> io::Result<()> {
        let Ok(relative) = path.strip_prefix(root) else {
            return Ok(());
        };
        let mut components: Vec<_> = relative.components().collect();
        if !last {
            components.pop();
        }
        let mut current = root.to_path_buf();
        for component in components {
            current.push(component);
            match fs::symlink_metadata(&current) {
                Ok(meta) if meta.file_type().is_symlink() => {
                    return Err(io::Error::other(LinkRefused(current)));
                }
                Ok(_) => {}
                // Nothing further exists: the operation itself reports what is missing.
                Err(_) => return Ok(()),
            }
        }
        Ok(())
    }
}

fn try_lock_result(result: Result<(), fs::TryLockError>) -> io::Result<()> {
    match result {
        Ok(()) => Ok(()),
        Err(fs::TryLockError::WouldBlock) => Err(io::ErrorKind::WouldBlock.into()),
        Err(fs::TryLockError::Error(e)) => Err(e),
    }
}
