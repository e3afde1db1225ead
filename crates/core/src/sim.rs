//! A simulated disk for power-loss tests: redb's `CrashBackend` idea, at the level of a
//! file system.
//!
//! Every file and folder has a *live* state (what the running program sees) and a *durable*
//! state (what a power loss keeps). A file's bytes become durable only when the file is
//! synced; a folder's entries (files created, renamed, removed, folders created in it) only
//! when the folder is synced. [`SimBackend::crash_at`] makes operation N and every later one
//! fail, as if the machine stopped there; [`SimBackend::power_loss`] then gives the disk a
//! fresh program would find.

use std::collections::{BTreeMap, HashMap};
use std::io;
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use crate::backend::{Backend, DirEntry, FileHandle, LockGuard, LockMode, Metadata};

/// What survives the crash of a [`SimBackend`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CrashMode {
    /// The process died, the machine did not: everything written is kept (the page cache
    /// survives), synced or not.
    ProcessCrash,
    /// Power loss: unsynced bytes of files and unsynced entries of folders are lost.
    PowerLoss,
    /// Power loss in which an unsynced write tore: half of each file's unsynced bytes (a
    /// prefix) reached the medium, the rest did not. Unsynced folder entries are lost.
    PowerLossTorn,
}

#[derive(Debug, Clone)]
enum Node {
    File {
        live: Vec<u8>,
        durable: Vec<u8>,
        modified: i128,
    },
    Dir {
        live: BTreeMap<String, usize>,
        durable: BTreeMap<String, usize>,
    },
}

#[derive(Debug)]
struct Disk {
    nodes: Vec<Node>,
    ops: u64,
    crash_at: Option<u64>,
    crashed: bool,
    clock: i128,
}

const ROOT: usize = 0;

impl Disk {
    fn empty() -> Disk {
        Disk {
            nodes: vec![Node::Dir {
                live: BTreeMap::new(),
                durable: BTreeMap::new(),
            }],
            ops: 0,
            crash_at: None,
            crashed: false,
            clock: 0,
        }
    }

    /// Counts one operation; fails it (and every later one) once the crash point is reached.
    fn tick(&mut self) -> io::Result<()> {
        if !self.crashed && self.crash_at == Some(self.ops) {
            self.crashed = true;
        }
        if self.crashed {
            return Err(io::Error::other("simulated crash: the machine stopped"));
        }
        self.ops += 1;
        Ok(())
    }

    fn components(path: &Path) -> io::Result<Vec<String>> {
        let mut out = Vec::new();
        for c in path.components() {
            match c {
                Component::RootDir => {}
                Component::Normal(name) => out.push(
                    name.to_str()
                        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not UTF-8"))?
                        .to_owned(),
                ),
                _ => {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidInput,
                        "the simulated disk takes absolute, normalised paths",
                    ));
                }
            }
        }
        Ok(out)
    }

    fn lookup(&self, path: &Path) -> io::Result<usize> {
        let mut node = ROOT;
        for name in Disk::components(path)? {
            match &self.nodes[node] {
                Node::Dir { live, .. } => {
                    node = *live.get(&name).ok_or(io::ErrorKind::NotFound)?;
                }
                Node::File { .. } => return Err(io::ErrorKind::NotADirectory.into()),
            }
        }
        Ok(node)
    }

    /// The parent folder's node and the last component's name.
    fn parent(&self, path: &Path) -> io::Result<(usize, String)> {
        let mut names = Disk::components(path)?;
        let name = names
            .pop()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "the root has no parent"))?;
        let parent: PathBuf = std::iter::once("/".to_owned()).chain(names).collect();
        let dir = self.lookup(&parent)?;
        match self.nodes[dir] {
            Node::Dir { .. } => Ok((dir, name)),
            Node::File { .. } => Err(io::ErrorKind::NotADirectory.into()),
        }
    }

    fn entries(&mut self, dir: usize) -> &mut BTreeMap<String, usize> {
        match &mut self.nodes[dir] {
            Node::Dir { live, .. } => live,
            Node::File { .. } => unreachable!("parent() only returns folders"),
        }
    }

    fn new_file(&mut self, dir: usize, name: String) -> usize {
        self.clock += 1;
        self.nodes.push(Node::File {
            live: Vec::new(),
            durable: Vec::new(),
            modified: self.clock,
        });
        let id = self.nodes.len() - 1;
        self.entries(dir).insert(name, id);
        id
    }

    /// The disk a fresh program finds after a crash in `mode`.
    fn after_crash(&self, mode: CrashMode) -> Disk {
        let mut disk = Disk::empty();
        disk.clock = self.clock;
        if mode == CrashMode::ProcessCrash {
            disk.nodes = self.nodes.clone();
            return disk;
        }
        // Rebuild what is reachable from the root through durable entries. A file reachable
        // under two names (renamed between folders, only one synced) stays one node.
        let mut mapped: HashMap<usize, usize> = HashMap::from([(ROOT, ROOT)]);
        let mut stack = vec![ROOT];
        while let Some(old) = stack.pop() {
            let Node::Dir { durable, .. } = &self.nodes[old] else {
                continue;
            };
            let mut entries = BTreeMap::new();
            for (name, &child) in durable {
                let new = match mapped.get(&child) {
                    Some(&new) => new,
                    None => {
                        let node = match &self.nodes[child] {
                            Node::File {
                                live,
                                durable,
                                modified,
                            } => {
                                let kept = match mode {
                                    CrashMode::PowerLossTorn => torn(durable, live),
                                    _ => durable.clone(),
                                };
                                Node::File {
                                    live: kept.clone(),
                                    durable: kept,
                                    modified: *modified,
                                }
                            }
                            Node::Dir { .. } => {
                                stack.push(child);
                                Node::Dir {
                                    live: BTreeMap::new(),
                                    durable: BTreeMap::new(),
                                }
                            }
                        };
                        disk.nodes.push(node);
                        let new = disk.nodes.len() - 1;
                        mapped.insert(child, new);
                        new
                    }
                };
                entries.insert(name.clone(), new);
            }
            let new_dir = mapped[&old];
            disk.nodes[new_dir] = Node::Dir {
                live: entries.clone(),
                durable: entries,
            };
        }
        disk
    }
}

/// What a torn write leaves: the unsynced changes (appended or overwritten bytes) reached the
/// medium up to half way through the changed region, in order, and not beyond.
fn torn(durable: &[u8], live: &[u8]) -> Vec<u8> {
    let first_change = durable
        .iter()
        .zip(live)
        .position(|(d, l)| d != l)
        .unwrap_or(durable.len().min(live.len()));
    let end = if durable.len() == live.len() {
        durable
            .iter()
            .zip(live)
            .rposition(|(d, l)| d != l)
            .map_or(first_change, |last| last + 1)
    } else {
        durable.len().max(live.len())
    };
    let cut = first_change + (end - first_change) / 2;
    let mut kept = live[..cut.min(live.len())].to_vec();
    if cut < durable.len() {
        kept.extend_from_slice(&durable[cut.max(kept.len())..]);
    }
    kept
}

#[derive(Debug, Default)]
struct Locks {
    exclusive: HashMap<PathBuf, bool>,
    shared: HashMap<PathBuf, usize>,
}

#[derive(Debug, Default)]
struct LockTable {
    locks: Mutex<Locks>,
    released: Condvar,
}

impl LockTable {
    fn table(&self) -> MutexGuard<'_, Locks> {
        self.locks.lock().unwrap_or_else(|e| e.into_inner())
    }
}

struct SimLock {
    table: Arc<LockTable>,
    path: PathBuf,
    mode: LockMode,
}

impl Drop for SimLock {
    fn drop(&mut self) {
        let mut locks = self.table.table();
        match self.mode {
            LockMode::Exclusive => {
                locks.exclusive.remove(&self.path);
            }
            LockMode::Shared => {
                if let Some(n) = locks.shared.get_mut(&self.path) {
                    *n -= 1;
                    if *n == 0 {
                        locks.shared.remove(&self.path);
                    }
                }
            }
        }
        drop(locks);
        self.table.released.notify_all();
    }
}

/// An in-memory disk with separate live and durable images, for power-loss tests.
///
/// Locks are an in-memory table (they vanish in a crash, as a dead process's locks do).
/// Clones share the disk and the locks.
#[derive(Debug, Clone)]
pub struct SimBackend {
    disk: Arc<Mutex<Disk>>,
    locks: Arc<LockTable>,
}

impl Default for SimBackend {
    fn default() -> SimBackend {
        SimBackend::new()
    }
}

impl SimBackend {
    /// An empty disk holding only the folder `/`.
    pub fn new() -> SimBackend {
        SimBackend {
            disk: Arc::new(Mutex::new(Disk::empty())),
            locks: Arc::new(LockTable::default()),
        }
    }

    fn disk(&self) -> MutexGuard<'_, Disk> {
        self.disk.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Resets the operation counter; operation `n` (counting from 0) and every later one will
    /// fail, and change nothing, as if the machine stopped before it.
    pub fn crash_at(&self, n: u64) {
        let mut disk = self.disk();
        disk.ops = 0;
        disk.crash_at = Some(n);
        disk.crashed = false;
    }

    /// Forgets a crash point that was not reached yet (a crash that happened stays).
    pub fn disarm(&self) {
        self.disk().crash_at = None;
    }

    /// Operations counted since the last [`SimBackend::crash_at`] (or since creation).
    pub fn ops(&self) -> u64 {
        self.disk().ops
    }

    /// Whether the crash point was reached.
    pub fn crashed(&self) -> bool {
        self.disk().crashed
    }

    /// The disk a new process finds after a crash of this one: a new backend, with no locks
    /// held and no crash armed. This backend is left as it is.
    pub fn power_loss(&self, mode: CrashMode) -> SimBackend {
        let disk = self.disk().after_crash(mode);
        SimBackend {
            disk: Arc::new(Mutex::new(disk)),
            locks: Arc::new(LockTable::default()),
        }
    }

    /// The live bytes of a file, without counting an operation (for test assertions).
    pub fn peek(&self, path: &Path) -> Option<Vec<u8>> {
        let disk = self.disk();
        match &disk.nodes[disk.lookup(path).ok()?] {
            Node::File { live, .. } => Some(live.clone()),
            Node::Dir { .. } => None,
        }
    }

    /// The names of every file in the live image whose name satisfies `pred`, as full paths
    /// (for test assertions; not an operation).
    pub fn find_files(&self, pred: impl Fn(&str) -> bool) -> Vec<PathBuf> {
        let disk = self.disk();
        let mut found = Vec::new();
        let mut stack = vec![(ROOT, PathBuf::from("/"))];
        while let Some((node, path)) = stack.pop() {
            if let Node::Dir { live, .. } = &disk.nodes[node] {
                for (name, &child) in live {
                    let child_path = path.join(name);
                    match disk.nodes[child] {
                        Node::Dir { .. } => stack.push((child, child_path)),
                        Node::File { .. } if pred(name) => found.push(child_path),
                        Node::File { .. } => {}
                    }
                }
            }
        }
        found.sort();
        found
    }
}

struct SimFile {
    disk: Arc<Mutex<Disk>>,
    node: usize,
}

impl SimFile {
    fn disk(&self) -> MutexGuard<'_, Disk> {
        self.disk.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl FileHandle for SimFile {
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        let mut disk = self.disk();
        disk.tick()?;
        disk.clock += 1;
        let clock = disk.clock;
        if let Node::File { live, modified, .. } = &mut disk.nodes[self.node] {
            live.extend_from_slice(buf);
            *modified = clock;
        }
        Ok(())
    }

    fn sync(&mut self) -> io::Result<()> {
        let mut disk = self.disk();
        disk.tick()?;
        if let Node::File { live, durable, .. } = &mut disk.nodes[self.node] {
            durable.clone_from(live);
        }
        Ok(())
    }

    fn start_sync(&mut self) -> io::Result<()> {
        // Only a hint: nothing becomes durable before `sync`, so the tests cannot pass by
        // relying on it. It is still an operation, and so a crash point.
        self.disk().tick()
    }

    fn write_all_at(&mut self, offset: u64, buf: &[u8]) -> io::Result<()> {
        let mut disk = self.disk();
        disk.tick()?;
        disk.clock += 1;
        let clock = disk.clock;
        if let Node::File { live, modified, .. } = &mut disk.nodes[self.node] {
            let offset = usize::try_from(offset).map_err(|_| io::ErrorKind::InvalidInput)?;
            let end = offset + buf.len();
            if live.len() < end {
                live.resize(end, 0);
            }
            live[offset..end].copy_from_slice(buf);
            *modified = clock;
        }
        Ok(())
    }

    fn set_len(&mut self, len: u64) -> io::Result<()> {
        let mut disk = self.disk();
        disk.tick()?;
        disk.clock += 1;
        let clock = disk.clock;
        if let Node::File { live, modified, .. } = &mut disk.nodes[self.node] {
            let len = usize::try_from(len).map_err(|_| io::ErrorKind::InvalidInput)?;
            live.resize(len, 0);
            *modified = clock;
        }
        Ok(())
    }
}

impl Backend for SimBackend {
    fn create_new(&self, path: &Path) -> io::Result<Box<dyn FileHandle>> {
        let mut disk = self.disk();
        disk.tick()?;
        let (dir, name) = disk.parent(path)?;
        if disk.entries(dir).contains_key(&name) {
            return Err(io::ErrorKind::AlreadyExists.into());
        }
        let node = disk.new_file(dir, name);
        Ok(Box::new(SimFile {
            disk: self.disk.clone(),
            node,
        }))
    }

    fn open_append(&self, path: &Path) -> io::Result<Box<dyn FileHandle>> {
        let mut disk = self.disk();
        disk.tick()?;
        let (dir, name) = disk.parent(path)?;
        let node = match disk.entries(dir).get(&name) {
            Some(&node) => match disk.nodes[node] {
                Node::File { .. } => node,
                Node::Dir { .. } => return Err(io::ErrorKind::IsADirectory.into()),
            },
            None => disk.new_file(dir, name),
        };
        Ok(Box::new(SimFile {
            disk: self.disk.clone(),
            node,
        }))
    }

    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        let mut disk = self.disk();
        disk.tick()?;
        match &disk.nodes[disk.lookup(path)?] {
            Node::File { live, .. } => Ok(live.clone()),
            Node::Dir { .. } => Err(io::ErrorKind::IsADirectory.into()),
        }
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        let mut disk = self.disk();
        disk.tick()?;
        let (from_dir, from_name) = disk.parent(from)?;
        let (to_dir, to_name) = disk.parent(to)?;
        let node = *disk
            .entries(from_dir)
            .get(&from_name)
            .ok_or(io::ErrorKind::NotFound)?;
        if let Some(&existing) = disk.entries(to_dir).get(&to_name)
            && matches!(disk.nodes[existing], Node::Dir { .. })
        {
            return Err(io::ErrorKind::IsADirectory.into());
        }
        disk.entries(from_dir).remove(&from_name);
        disk.entries(to_dir).insert(to_name, node);
        Ok(())
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        let mut disk = self.disk();
        disk.tick()?;
        let (dir, name) = disk.parent(path)?;
        let node = *disk
            .entries(dir)
            .get(&name)
            .ok_or(io::ErrorKind::NotFound)?;
        if matches!(disk.nodes[node], Node::Dir { .. }) {
            return Err(io::ErrorKind::IsADirectory.into());
        }
        disk.entries(dir).remove(&name);
        Ok(())
    }

    fn create_dir(&self, path: &Path) -> io::Result<()> {
        let mut disk = self.disk();
        disk.tick()?;
        let (dir, name) = disk.parent(path)?;
        if disk.entries(dir).contains_key(&name) {
            return Err(io::ErrorKind::AlreadyExists.into());
        }
        disk.nodes.push(Node::Dir {
            live: BTreeMap::new(),
            durable: BTreeMap::new(),
        });
        let node = disk.nodes.len() - 1;
        disk.entries(dir).insert(name, node);
        Ok(())
    }

    fn sync_dir(&self, path: &Path) -> io::Result<()> {
        let mut disk = self.disk();
        disk.tick()?;
        let node = disk.lookup(path)?;
        match &mut disk.nodes[node] {
            Node::Dir { live, durable } => {
                durable.clone_from(live);
                Ok(())
            }
            Node::File { .. } => Err(io::ErrorKind::NotADirectory.into()),
        }
    }

    fn read_dir(&self, path: &Path) -> io::Result<Vec<DirEntry>> {
        let mut disk = self.disk();
        disk.tick()?;
        match &disk.nodes[disk.lookup(path)?] {
            Node::Dir { live, .. } => Ok(live
                .iter()
                .map(|(name, &node)| {
                    let is_dir = matches!(disk.nodes[node], Node::Dir { .. });
                    DirEntry {
                        name: name.clone(),
                        is_dir,
                        is_file: !is_dir,
                    }
                })
                .collect()),
            Node::File { .. } => Err(io::ErrorKind::NotADirectory.into()),
        }
    }

    fn metadata(&self, path: &Path) -> io::Result<Metadata> {
        let mut disk = self.disk();
        disk.tick()?;
        let node = disk.lookup(path)?;
        Ok(match &disk.nodes[node] {
            Node::File { live, modified, .. } => Metadata {
                len: live.len() as u64,
                is_dir: false,
                is_symlink: false,
                inode: node as u64,
                modified_ns: *modified,
            },
            Node::Dir { .. } => Metadata {
                len: 0,
                is_dir: true,
                is_symlink: false,
                inode: node as u64,
                modified_ns: 0,
            },
        })
    }

    fn lock(&self, path: &Path, mode: LockMode, wait: bool) -> io::Result<LockGuard> {
        {
            // Like the real backend, the lock file is created if missing (and, unsynced, it
            // may vanish in a power loss, as a real one may).
            let mut disk = self.disk();
            disk.tick()?;
            let (dir, name) = disk.parent(path)?;
            if !disk.entries(dir).contains_key(&name) {
                disk.new_file(dir, name);
            }
        }
        let key = path.to_path_buf();
        let mut locks = self.locks.table();
        loop {
            let free = match mode {
                LockMode::Exclusive => {
                    !locks.exclusive.contains_key(&key) && !locks.shared.contains_key(&key)
                }
                LockMode::Shared => !locks.exclusive.contains_key(&key),
            };
            if free {
                break;
            }
            if !wait {
                return Err(io::ErrorKind::WouldBlock.into());
            }
            locks = self
                .locks
                .released
                .wait(locks)
                .unwrap_or_else(|e| e.into_inner());
        }
        match mode {
            LockMode::Exclusive => {
                locks.exclusive.insert(key.clone(), true);
            }
            LockMode::Shared => *locks.shared.entry(key.clone()).or_insert(0) += 1,
        }
        Ok(LockGuard::new(Box::new(SimLock {
            table: self.locks.clone(),
            path: key,
            mode,
        })))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(sim: &SimBackend, path: &str, bytes: &[u8], sync: bool) {
        let mut f = sim.create_new(Path::new(path)).unwrap();
        f.write_all(bytes).unwrap();
        if sync {
            f.sync().unwrap();
        }
    }

    #[test]
    fn only_synced_bytes_and_synced_entries_survive_a_power_loss() {
        let sim = SimBackend::new();
        sim.create_dir(Path::new("/d")).unwrap();
        sim.sync_dir(Path::new("/")).unwrap();
        write(&sim, "/d/synced", b"abcd", true);
        write(&sim, "/d/unsynced", b"efgh", false);
        sim.sync_dir(Path::new("/d")).unwrap();
        write(&sim, "/d/no-entry", b"ijkl", true);
        let after = sim.power_loss(CrashMode::PowerLoss);
        assert_eq!(after.peek(Path::new("/d/synced")).unwrap(), b"abcd");
        assert_eq!(after.peek(Path::new("/d/unsynced")).unwrap(), b"");
        assert_eq!(after.peek(Path::new("/d/no-entry")), None);
        let torn = sim.power_loss(CrashMode::PowerLossTorn);
        assert_eq!(torn.peek(Path::new("/d/unsynced")).unwrap(), b"ef");
        let live = sim.power_loss(CrashMode::ProcessCrash);
        assert_eq!(live.peek(Path::new("/d/no-entry")).unwrap(), b"ijkl");
    }

    #[test]
    fn an_overwrite_tears_at_half_its_changes() {
        let sim = SimBackend::new();
        let mut f = sim.create_new(Path::new("/f")).unwrap();
        f.write_all(b"0123456789").unwrap();
        f.sync().unwrap();
        sim.sync_dir(Path::new("/")).unwrap();
        f.write_all_at(2, b"abcd").unwrap();
        assert_eq!(sim.peek(Path::new("/f")).unwrap(), b"01abcd6789");
        let torn = sim.power_loss(CrashMode::PowerLossTorn);
        assert_eq!(torn.peek(Path::new("/f")).unwrap(), b"01ab456789");
        let lost = sim.power_loss(CrashMode::PowerLoss);
        assert_eq!(lost.peek(Path::new("/f")).unwrap(), b"0123456789");
        // Past the end: the file grows, and a torn write keeps a prefix of the change.
        f.sync().unwrap();
        f.write_all_at(8, b"wxyz").unwrap();
        let torn = sim.power_loss(CrashMode::PowerLossTorn);
        assert_eq!(torn.peek(Path::new("/f")).unwrap(), b"01abcd67wx");
        assert_eq!(torn_of(b"abc", b"abcdef"), b"abcd");
    }

    fn torn_of(durable: &[u8], live: &[u8]) -> Vec<u8> {
        super::torn(durable, live)
    }

    #[test]
    fn renames_and_removals_need_the_folder_sync() {
        let sim = SimBackend::new();
        write(&sim, "/a", b"old", true);
        write(&sim, "/t", b"new", true);
        sim.sync_dir(Path::new("/")).unwrap();
        sim.rename(Path::new("/t"), Path::new("/a")).unwrap();
        assert_eq!(sim.peek(Path::new("/a")).unwrap(), b"new");
        let lost = sim.power_loss(CrashMode::PowerLoss);
        assert_eq!(lost.peek(Path::new("/a")).unwrap(), b"old");
        assert_eq!(lost.peek(Path::new("/t")).unwrap(), b"new");
        sim.sync_dir(Path::new("/")).unwrap();
        sim.remove_file(Path::new("/a")).unwrap();
        let kept = sim.power_loss(CrashMode::PowerLoss);
        assert_eq!(kept.peek(Path::new("/a")).unwrap(), b"new");
        assert_eq!(kept.peek(Path::new("/t")), None);
    }

    #[test]
    fn a_folder_whose_entry_was_not_synced_vanishes_with_its_files() {
        let sim = SimBackend::new();
        sim.create_dir(Path::new("/d")).unwrap();
        write(&sim, "/d/f", b"x", true);
        sim.sync_dir(Path::new("/d")).unwrap();
        let after = sim.power_loss(CrashMode::PowerLoss);
        assert!(after.metadata(Path::new("/d")).is_err());
    }

    #[test]
    fn the_crash_point_stops_every_later_operation() {
        let sim = SimBackend::new();
        // Operations 0 and 1 (create, write) happen; operation 2 is the crash.
        sim.crash_at(2);
        write(&sim, "/a", b"", false);
        assert!(sim.create_new(Path::new("/b")).is_err());
        assert!(sim.read(Path::new("/a")).is_err());
        assert!(sim.crashed());
        assert_eq!(sim.peek(Path::new("/b")), None);
    }

    #[test]
    fn locks_exclude_and_share() {
        let sim = SimBackend::new();
        let p = Path::new("/lock");
        let shared = sim.lock(p, LockMode::Shared, false).unwrap();
        let shared2 = sim.lock(p, LockMode::Shared, false).unwrap();
        let busy = sim.lock(p, LockMode::Exclusive, false).unwrap_err();
        assert_eq!(busy.kind(), io::ErrorKind::WouldBlock);
        drop((shared, shared2));
        let ex = sim.lock(p, LockMode::Exclusive, false).unwrap();
        assert!(sim.lock(p, LockMode::Shared, false).is_err());
        drop(ex);
        // A crash releases every lock.
        let _held = sim.lock(p, LockMode::Exclusive, false).unwrap();
        let after = sim.power_loss(CrashMode::ProcessCrash);
        after.lock(p, LockMode::Exclusive, false).unwrap();
    }
}
