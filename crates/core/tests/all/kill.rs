//! A real killed process: the test binary re-executed as a child that commits random batches
//! (or batches mixed with single saves, single deletes, amendments and checkpoints, or saves
//! large values)
//! in a loop and prints each acknowledged id, SIGKILLed at random moments. After each kill a reader (before any writer reopens) and then the next writer must
//! see every acknowledged batch whole and no batch in part.
//!
//! `STATEVAULT_KILL_ROUNDS` sets the number of kills per test (default 200).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use statevault_core::{BatchOp, DEFAULT_CHECKPOINT_BYTES, Durability, Key, OpenOptions, Storage};

use super::store::temp_files;
use super::sweeps::Concat;

const MODE_ENV: &str = "STATEVAULT_CORE_KILL_CHILD";
const DIR_ENV: &str = "STATEVAULT_CORE_KILL_DIR";
const START_ENV: &str = "STATEVAULT_CORE_KILL_START";

const KEYS: [&str; 8] = [
    "layout.k0",
    "settings.k1",
    "history.h.k2",
    "config.k3",
    "plugins.p.k4",
    "layout.k5",
    "settings.k6",
    "config.k7",
];

fn keys() -> Vec<Key> {
    KEYS.iter().map(|k| Key::parse(k).unwrap()).collect()
}

/// splitmix64: a small deterministic generator, so parent and child derive the same batches.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// Which keys a step sets (to a value) or deletes (`None`), by index.
type Changes = Vec<(usize, Option<Vec<u8>>)>;

/// Batch `id`: which keys it sets (to a value naming the batch and the operation) or deletes.
fn batch(id: u64) -> Changes {
    let mut ops = Vec::new();
    for (index, _) in KEYS.iter().enumerate() {
        let r = mix(id.wrapping_mul(31).wrapping_add(index as u64));
        match r % 8 {
            0..=4 => {
                let pad = "x".repeat((r >> 8) as usize % 3000);
                let v = format!("{{\"batch\":{id},\"op\":{index},\"pad\":\"{pad}\"}}");
                ops.push((index, Some(v.into_bytes())));
            }
            5 => ops.push((index, None)),
            _ => {}
        }
    }
    ops
}

/// Step `id` of `mode`: a batch, or (in `mixed`, one step in two) a single save, a single
/// delete or an amendment of one key. Returns the changes and whether they are one single
/// operation.
fn step(mode: &str, id: u64) -> (Changes, bool) {
    if mode != "mixed" || id % 4 < 2 {
        return (batch(id), false);
    }
    let index = (mix(id) % KEYS.len() as u64) as usize;
    if id % 4 == 2 {
        let pad = "y".repeat((mix(id) >> 8) as usize % 2000);
        let v = format!("{{\"single\":{id},\"pad\":\"{pad}\"}}");
        (vec![(index, Some(v.into_bytes()))], true)
    } else {
        (vec![(index, None)], true)
    }
}

/// Whether step `id` of `mode` is an amendment (the single step of a delete's slot, one in
/// two): `amendment(id)` appended to the key's value when it exists, nothing when it does not.
fn amends(mode: &str, id: u64) -> bool {
    mode == "mixed" && id % 8 == 7
}

fn amendment(id: u64) -> Vec<u8> {
    format!("+{id}").into_bytes()
}

fn apply(state: &mut [Option<Vec<u8>>], mode: &str, id: u64) {
    let (changes, _) = step(mode, id);
    if amends(mode, id) {
        let (index, _) = changes[0];
        if let Some(value) = &mut state[index] {
            value.extend_from_slice(&amendment(id));
        }
        return;
    }
    for (index, value) in changes {
        state[index] = value;
    }
}

/// The options every handle of these tests opens with: the sweeps' fold of amendments.
fn options() -> OpenOptions {
    OpenOptions::new().fold(Arc::new(Concat))
}

/// A large value (256 KiB to 1 MiB) naming its id throughout.
fn large(id: u64) -> Vec<u8> {
    let len = 256 * 1024 + (mix(id) % (768 * 1024)) as usize;
    let mut v = format!("{{\"id\":{id},\"pad\":\"").into_bytes();
    let pattern = format!("{id:016x}");
    while v.len() < len {
        v.extend_from_slice(pattern.as_bytes());
    }
    v.extend_from_slice(b"\"}");
    v
}

/// The child's entry point; in the parent's own run (no variable set) it does nothing.
#[test]
fn kill_child_entry() {
    let Ok(mode) = std::env::var(MODE_ENV) else {
        return;
    };
    let dir = std::env::var(DIR_ENV).expect("the parent sets the folder");
    let start: u64 = std::env::var(START_ENV).unwrap().parse().unwrap();
    println!("READY");
    // Checkpoints after every batch, every few batches, or (the default) rarely: kills land in
    // appends, in checkpoints and in the recovery of both.
    let checkpoint_bytes = [0, 4096, DEFAULT_CHECKPOINT_BYTES][(start % 3) as usize];
    let storage = Storage::open_with(&dir, options().checkpoint_bytes(checkpoint_bytes))
        .expect("the child opens the store");
    let keys = keys();
    for id in start.. {
        match mode.as_str() {
            "batches" | "mixed" => {
                let (changes, single) = step(&mode, id);
                if single {
                    let (index, value) = changes.into_iter().next().unwrap();
                    if amends(&mode, id) {
                        match storage.amend(&keys[index], amendment(id), Durability::Full) {
                            Ok(_) | Err(statevault_core::Error::NothingToAmend { .. }) => {}
                            Err(e) => panic!("{e}"),
                        }
                        println!("ACK {id}");
                        continue;
                    }
                    match value {
                        Some(bytes) => {
                            storage
                                .write(&keys[index], &bytes, Durability::Full)
                                .unwrap();
                        }
                        None => {
                            storage.delete(&keys[index], Durability::Full).unwrap();
                        }
                    }
                    if id % 7 == 0 {
                        storage.checkpoint().unwrap();
                    }
                    println!("ACK {id}");
                    continue;
                }
                let ops = changes
                    .into_iter()
                    .map(|(index, value)| match value {
                        Some(bytes) => BatchOp::Put {
                            key: keys[index].clone(),
                            bytes,
                        },
                        None => BatchOp::Delete {
                            key: keys[index].clone(),
                        },
                    })
                    .collect();
                storage.commit_batch(ops, Durability::Full).unwrap();
            }
            _ => {
                storage
                    .write(&keys[0], &large(id), Durability::Full)
                    .unwrap();
            }
        }
        println!("ACK {id}");
    }
}

fn spawn(mode: &str, dir: &Path, start: u64) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "all::kill::kill_child_entry",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(MODE_ENV, mode)
        .env(DIR_ENV, dir)
        .env(START_ENV, start.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// Runs the child until a random moment, kills it, and returns the last acknowledged id.
fn run_and_kill(mode: &str, dir: &Path, start: u64, rng: &mut u64) -> Option<u64> {
    let mut child = spawn(mode, dir, start);
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    loop {
        line.clear();
        assert!(
            out.read_line(&mut line).unwrap() > 0,
            "the child ended early"
        );
        if line.contains("READY") {
            break;
        }
    }
    *rng = mix(*rng);
    // From 0 (during the open and its recovery) to 50 ms (several batches in).
    std::thread::sleep(Duration::from_micros(*rng % 50_000));
    child.kill().unwrap();
    child.wait().unwrap();
    let mut last = None;
    for line in out.lines() {
        let line = line.unwrap();
        if let Some(at) = line.find("ACK ") {
            let id: u64 = line[at + 4..].trim().parse().unwrap();
            assert!(
                last.is_none_or(|l| id == l + 1),
                "acknowledgements in order"
            );
            last = Some(id);
        }
    }
    last
}

fn rounds() -> u64 {
    std::env::var("STATEVAULT_KILL_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200)
}

fn seed() -> u64 {
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    eprintln!("kill test seed {seed}");
    seed
}

/// Reads the keys as a reader before any writer reopens. In odd rounds the writer lock is held
/// (as a live writer would hold it); either way the reader reads through the journal, and what
/// it sees must not depend on who holds the store.
fn read_before_writer(dir: &Path, keys: &[Key], round: u64) -> Vec<Option<Vec<u8>>> {
    let held = (round % 2 == 1).then(|| {
        let f = std::fs::File::open(dir.join(".statevault/lock")).unwrap();
        f.lock().unwrap();
        f
    });
    let reader = Storage::open_with(dir, options().read_only(true)).unwrap();
    let values = reader.read_many(keys).unwrap();
    drop(held);
    values
}

#[cfg(unix)]
#[test]
fn killed_batch_writers_never_leave_a_batch_half_applied() {
    killed_writers("batches");
}

#[cfg(unix)]
#[test]
fn killed_writers_of_single_saves_deletes_batches_and_checkpoints_lose_nothing_acknowledged() {
    killed_writers("mixed");
}

fn killed_writers(mode: &str) {
    let dir = tempfile::tempdir().unwrap();
    drop(Storage::open(dir.path()).unwrap());
    let keys = keys();
    let mut rng = seed();
    let mut state: Vec<Option<Vec<u8>>> = vec![None; KEYS.len()];
    let mut next = 0u64;
    let (mut acked_total, mut in_flight_seen) = (0u64, 0u64);
    for round in 0..rounds() {
        let last = run_and_kill(mode, dir.path(), next, &mut rng);
        // Every batch up to `last` was acknowledged; batch `last + 1` may have committed.
        let mut acked = state.clone();
        let first_unacked = match last {
            Some(last) => {
                for id in next..=last {
                    apply(&mut acked, mode, id);
                }
                acked_total += last + 1 - next;
                last + 1
            }
            None => next,
        };
        let mut with_next = acked.clone();
        apply(&mut with_next, mode, first_unacked);
        let seen = read_before_writer(dir.path(), &keys, round);
        assert!(
            seen == acked || seen == with_next,
            "round {round}: after batch {first_unacked} was cut, a reader saw neither the \
             acknowledged state nor the next batch whole"
        );
        let writer = Storage::open_with(dir.path(), options()).unwrap();
        assert_eq!(
            writer.read_many(&keys).unwrap(),
            seen,
            "round {round}: writer and reader disagree"
        );
        assert!(writer.recovery().quarantined.is_empty());
        drop(writer);
        assert!(
            temp_files(dir.path()).is_empty(),
            "round {round}: a temp file survived an open"
        );
        if seen == with_next && with_next != acked {
            in_flight_seen += 1;
        }
        next = first_unacked + u64::from(seen == with_next);
        state = seen;
    }
    eprintln!(
        "killed writer ({mode}): {} kills, {acked_total} acknowledged commits, {in_flight_seen} \
         unacknowledged commits found whole, 0 violations",
        rounds()
    );
}

#[cfg(unix)]
#[test]
fn killed_large_saves_leave_exactly_one_written_value() {
    let dir = tempfile::tempdir().unwrap();
    drop(Storage::open(dir.path()).unwrap());
    let keys = keys();
    let mut rng = seed() ^ 0x5555;
    let mut current: Option<u64> = None;
    let mut next = 0u64;
    let mut acked_total = 0;
    for round in 0..rounds() {
        let last = run_and_kill("large", dir.path(), next, &mut rng);
        let acked = last.or(current);
        let first_unacked = last.map_or(next, |l| l + 1);
        acked_total += first_unacked - next;
        let seen = read_before_writer(dir.path(), &keys[..1], round)
            .pop()
            .unwrap();
        let holds = match &seen {
            None => None,
            Some(v) if Some(v) == acked.map(large).as_ref() => acked,
            Some(v) if *v == large(first_unacked) => Some(first_unacked),
            Some(v) => panic!(
                "round {round}: the key holds {} bytes that are none of the values written",
                v.len()
            ),
        };
        assert!(
            acked.is_none() || holds.is_some(),
            "round {round}: an acknowledged save was lost"
        );
        drop(Storage::open(dir.path()).unwrap());
        assert!(
            temp_files(dir.path()).is_empty(),
            "round {round}: a temp file survived an open"
        );
        current = holds;
        next = first_unacked + u64::from(holds == Some(first_unacked));
    }
    eprintln!(
        "killed large saves: {} kills, {acked_total} acknowledged saves of 256 KiB-1 MiB, 0 violations",
        rounds()
    );
}

/// A fingerprint of a state (a hash per key, combined), so a long run of states costs little
/// memory.
fn fingerprint(state: &[Option<Vec<u8>>]) -> u64 {
    use std::hash::{DefaultHasher, Hash, Hasher};
    let mut h = DefaultHasher::new();
    state.hash(&mut h);
    h.finish()
}

#[cfg(unix)]
#[test]
fn a_reader_in_another_process_never_sees_a_state_that_never_existed() {
    // The child commits single saves, single deletes and batches, checkpointing often (its
    // journal checkpoints every 4 KiB, and after one single operation in seven), while this
    // process reads every key as one view through a read-only handle kept open (its index of
    // the journal extended read after read). Each view must be the state after some prefix
    // of the child's steps, and never an older one than the view before it.
    let dir = tempfile::tempdir().unwrap();
    drop(Storage::open(dir.path()).unwrap());
    let keys = keys();
    let start = 1;
    let mut child = spawn("mixed", dir.path(), start);
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    while !line.contains("READY") {
        line.clear();
        assert!(
            out.read_line(&mut line).unwrap() > 0,
            "the child ended early"
        );
    }
    let reader = Storage::open_with(dir.path(), options().read_only(true)).unwrap();
    // The states the child's steps go through, by fingerprint, extended as far as needed.
    let mut state: Vec<Option<Vec<u8>>> = vec![None; KEYS.len()];
    let mut prints: Vec<u64> = vec![fingerprint(&state)];
    let mut next_step = start;
    let mut last_seen = 0usize;
    let (mut reads, mut distinct) = (0u64, 0u64);
    let until = std::time::Instant::now() + Duration::from_millis(1500);
    while std::time::Instant::now() < until {
        let seen = fingerprint(&reader.read_many(&keys).unwrap());
        reads += 1;
        let found = loop {
            if let Some(at) = prints[last_seen..].iter().position(|p| *p == seen) {
                break last_seen + at;
            }
            assert!(
                prints.len() < 5_000_000,
                "after {reads} reads: a view that is no state the writer went through"
            );
            // Not reached yet: the writer is further on than what was computed.
            for _ in 0..1000 {
                apply(&mut state, "mixed", next_step);
                next_step += 1;
                prints.push(fingerprint(&state));
            }
        };
        distinct += u64::from(found != last_seen);
        last_seen = found;
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        distinct > 10,
        "the reads ran beside the writer ({distinct} states seen)"
    );
    eprintln!(
        "reader beside a writer of single saves, deletes, batches and checkpoints: {reads} \
         views, {distinct} distinct states, each one the writer went through, in order"
    );
}
