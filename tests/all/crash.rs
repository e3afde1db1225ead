//! Crash for real: a child process saving large values in a loop is killed with SIGKILL at
//! random moments; after each kill the key holds exactly one whole value that was written.
//!
//! The child is this test binary re-executed with `STATEVAULT_FACADE_CRASH_DIR` set; in the
//! ordinary test run `child_entry` has nothing to do.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use statevault::Store;
use statevault::schema::{
    ConversationEntry, ConversationHistoryState, HistoryMetadata, Message, Role,
};

use super::common::temp_files;

const DIR_ENV: &str = "STATEVAULT_FACADE_CRASH_DIR";
const START_ENV: &str = "STATEVAULT_FACADE_CRASH_START";
const KEY: &str = "history.conversations.crash";

/// A conversation history of 200–800 KiB that is a pure function of `seq`, so the parent can
/// tell which value it finds and whether it is whole.
fn value_for(seq: u64) -> ConversationHistoryState {
    // A cheap hash picks the size, so consecutive values differ in length too.
    let size_kib = 200 + (seq.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32) % 601;
    let per_message = 4096;
    let messages = (size_kib as usize * 1024) / per_message;
    let chunk = format!("[seq {seq}] the quick brown fox jumps over the lazy dog; ");
    let mut conversation = ConversationEntry {
        id: format!("seq-{seq}"),
        title: Some(format!("crash test value {seq}")),
        created_at: 1_764_000_000_000,
        updated_at: 1_764_000_000_000 + seq,
        messages: Vec::with_capacity(messages),
        tags: None,
    };
    for n in 0..messages {
        let mut content = chunk.repeat(per_message / chunk.len());
        content.push_str(&format!("message {n}"));
        conversation.messages.push(Message {
            id: format!("m-{seq}-{n}"),
            role: if n % 2 == 0 {
                Role::User
            } else {
                Role::Assistant
            },
            content,
            timestamp: 1_764_000_000_000 + n as u64,
            tokens: Some(1024),
        });
    }
    ConversationHistoryState {
        version: "1.0.0".into(),
        metadata: HistoryMetadata {
            total_count: 1,
            last_updated: 1_764_000_000_000 + seq,
            total_tokens: 1024 * messages as u64,
        },
        conversations: vec![conversation],
    }
}

fn seq_of(value: &ConversationHistoryState) -> Option<u64> {
    value
        .conversations
        .first()?
        .id
        .strip_prefix("seq-")?
        .parse()
        .ok()
}

/// The child: save `value_for(start)`, `value_for(start + 1)`, … under one key until killed,
/// printing each sequence number once its save has returned.
#[test]
fn child_entry() {
    let Some(dir) = std::env::var_os(DIR_ENV) else {
        return;
    };
    let start: u64 = std::env::var(START_ENV)
        .expect("the parent sets the first sequence number")
        .parse()
        .expect("a number");
    let store = Store::open(&dir).expect("the child opens the store");
    println!("READY");
    // Bounded, so an orphaned child cannot run forever; `println!` also ends it (with a panic)
    // once the parent has gone and the pipe is closed.
    for seq in start..start + 10_000 {
        store.save(KEY, &value_for(seq)).expect("the child's save");
        println!("SEQ {seq}");
    }
}

/// xorshift64*: the test's only randomness, seeded so a failure can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

/// What one round saw.
struct Round {
    /// The highest sequence number the child acknowledged in this round.
    acked: Option<u64>,
    /// How many saves it acknowledged.
    acks: u64,
    /// The temp files left by the kill, before the reopen cleaned them.
    temp_files: usize,
}

/// Starts a child, waits until it is ready (and, with `after_first_save`, until it has
/// acknowledged one save), sleeps `sleep`, and kills it with SIGKILL.
fn run_child_and_kill(dir: &Path, start: u64, sleep: Duration, after_first_save: bool) -> Round {
    let mut child = Command::new(std::env::current_exe().expect("the test binary"))
        .args([
            "--exact",
            "all::crash::child_entry",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(DIR_ENV, dir)
        .env(START_ENV, start.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawning the child");
    let mut reader = BufReader::new(child.stdout.take().expect("piped stdout"));
    let mut line = String::new();
    let mut acked = None;
    let mut acks = 0;
    let mut note = |line: &str, acked: &mut Option<u64>| {
        // The harness may print its own text before ours on the same line.
        if let Some(at) = line.find("SEQ ") {
            let seq: u64 = line[at + 4..].trim().parse().expect("a sequence number");
            *acked = Some(seq);
            acks += 1;
        }
    };
    loop {
        line.clear();
        if reader.read_line(&mut line).expect("reading the child") == 0 {
            let out = child.wait_with_output().expect("the child's output");
            panic!(
                "the child ended before it was ready: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        note(&line, &mut acked);
        let ready = if after_first_save {
            acked.is_some()
        } else {
            line.contains("READY")
        };
        if ready {
            break;
        }
    }
    std::thread::sleep(sleep);
    child.kill().expect("SIGKILL");
    child.wait().expect("reaping the child");
    for line in reader.lines() {
        note(&line.expect("reading the child"), &mut acked);
    }
    Round {
        acked,
        acks,
        temp_files: temp_files(dir).len(),
    }
}

#[test]
fn a_writer_killed_at_random_moments_leaves_exactly_one_written_value() {
    let rounds = env_u64("STATEVAULT_KILL_ROUNDS").unwrap_or(200);
    let seed = env_u64("STATEVAULT_CRASH_SEED").unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64)
    });
    eprintln!("crash test: seed {seed} (STATEVAULT_CRASH_SEED replays it), {rounds} rounds");
    let mut rng = Rng(seed | 1);
    let dir = tempfile::tempdir().unwrap();
    // Create the store (and its id) up front.
    drop(Store::open(dir.path()).unwrap());

    let started = Instant::now();
    let mut last_acked: Option<u64> = None;
    let mut next_start = 0u64;
    let mut violations: Vec<String> = Vec::new();
    let mut torn_temp_files = 0;
    let mut loaded_unacked = 0;
    let mut kills = 0;
    let mut acks = 0;
    for round in 0..rounds {
        let sleep = Duration::from_millis(rng.next() % 31);
        // Half the kills may land in a round's first save, half only in later ones.
        let seen = run_child_and_kill(dir.path(), next_start, sleep, round % 2 == 1);
        kills += 1;
        torn_temp_files += seen.temp_files;
        acks += seen.acks;
        if let Some(acked) = seen.acked {
            last_acked = Some(acked);
        }
        // The save that may have been in flight when the kill landed.
        let in_flight = seen.acked.map_or(next_start, |a| a + 1);

        let store = match Store::open(dir.path()) {
            Ok(store) => store,
            Err(e) => {
                violations.push(format!("round {round}: reopen failed: {e}"));
                break;
            }
        };
        let left = temp_files(dir.path());
        if !left.is_empty() {
            violations.push(format!(
                "round {round}: temp files survived the reopen: {left:?}"
            ));
        }
        match store.load::<ConversationHistoryState>(KEY) {
            Ok(None) => {
                if let Some(acked) = last_acked {
                    violations.push(format!(
                        "round {round}: value {acked} was acknowledged, the key is gone"
                    ));
                }
            }
            Ok(Some(value)) => match seq_of(&value) {
                None => violations.push(format!("round {round}: a value no writer wrote")),
                Some(seq) => {
                    if last_acked.is_some_and(|acked| seq < acked) {
                        violations.push(format!(
                            "round {round}: loaded {seq}, older than the acknowledged {last_acked:?}"
                        ));
                    }
                    if seq > in_flight {
                        violations.push(format!(
                            "round {round}: loaded {seq}, never written (in flight {in_flight})"
                        ));
                    }
                    if value != value_for(seq) {
                        violations.push(format!(
                            "round {round}: value {seq} is not what was written"
                        ));
                    }
                    if Some(seq) != last_acked {
                        loaded_unacked += 1;
                    }
                }
            },
            Err(e) => violations.push(format!("round {round}: load failed: {e}")),
        }
        drop(store);
        next_start = in_flight + 1;
        if violations.len() > 10 {
            break;
        }
    }
    println!(
        "crash test: {kills} kills, {} violations ({} saves acknowledged, {loaded_unacked} reopens \
         found the unacknowledged save in flight, {torn_temp_files} temp files cleaned up, {:.1} s)",
        violations.len(),
        acks,
        started.elapsed().as_secs_f64()
    );
    assert!(violations.is_empty(), "{violations:#?}");
    assert_eq!(kills, rounds);
    assert!(
        last_acked.is_some(),
        "no save ever completed before a kill: the test did not exercise overwrites"
    );
}
