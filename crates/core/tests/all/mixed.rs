//! The crash proofs of the one commit path: single saves, single deletes and amendments are
//! journal records like batches, so the sweeps run a workload that mixes them with batches and
//! checkpoints, the journal's file reused across runs. Amendments are folded by appending them
//! (`Concat`), so a key's file shows exactly which amendments it holds: it must be its value
//! with some prefix of the acknowledged amendments applied in order.
//!
//! After a failure or a crash at every operation: the store holds the state after some prefix
//! of the workload's steps (never a mix), at least every acknowledged step, and no key's file
//! is ever torn (each holds a whole value some step wrote).

use std::path::Path;
use std::sync::Arc;

use statevault_core::{
    BatchOp, Durability, Error, FaultBackend, FaultError, FaultKind, FsBackend, Key, OpenOptions,
    Storage,
};

use super::batch::{del, journal_files, key, put};
use super::store::temp_files;
use super::sweeps::{Concat, State, armed_at, check_crashed, modes, scenario, set_state, value};

/// One step of the workload.
#[derive(Clone)]
enum Step {
    Save(Key, Vec<u8>),
    Delete(Key),
    Batch(Vec<BatchOp>),
    Amend(Key, Vec<u8>),
    Checkpoint,
}

impl Step {
    fn run(&self, s: &Storage, durability: Durability) -> Result<(), Error> {
        match self {
            Step::Save(k, v) => s.write(k, v, durability).map(drop),
            Step::Delete(k) => s.delete(k, durability).map(drop),
            Step::Batch(ops) => s.commit_batch(ops.clone(), durability).map(drop),
            Step::Amend(k, a) => s.amend(k, a.clone(), durability).map(drop),
            Step::Checkpoint => s.checkpoint(),
        }
    }

    fn apply(&self, keys: &[Key], state: &mut State) {
        let at = |k: &Key| {
            keys.iter()
                .position(|x| x == k)
                .expect("a key of the scenario")
        };
        let amend = |state: &mut State, k: &Key, a: &[u8]| {
            state[at(k)]
                .as_mut()
                .expect("amendments of existing keys only")
                .extend_from_slice(a);
        };
        match self {
            Step::Amend(k, a) => amend(state, k, a),
            Step::Save(k, v) => state[at(k)] = Some(v.clone()),
            Step::Delete(k) => state[at(k)] = None,
            Step::Batch(ops) => {
                for op in ops {
                    match op {
                        BatchOp::Put { key, bytes } => state[at(key)] = Some(bytes.clone()),
                        BatchOp::Delete { key } => state[at(key)] = None,
                        BatchOp::Amend { key, bytes } => amend(state, key, bytes),
                        _ => unreachable!("puts, deletes and amendments only"),
                    }
                }
            }
            Step::Checkpoint => {}
        }
    }
}

/// Single saves, deletes and amendments before, between and after batches (one with an
/// amendment) and checkpoints, touching keys the batches hold (so a record must win over an
/// older one in the same journal), amending a value the journal holds and one in its file, a new
/// folder, and a value large enough to be written in pieces.
fn workload() -> (Vec<Key>, State, Vec<Step>) {
    let sc = scenario();
    let steps = vec![
        Step::Save(key("layout.default"), value("s1", 50)),
        Step::Batch(sc.ops.clone()),
        Step::Delete(key("settings.preferences")),
        Step::Save(key("layout.mobile"), value("s2", 20)),
        Step::Amend(key("layout.mobile"), b"+a1".to_vec()),
        Step::Checkpoint,
        Step::Amend(key("layout.mobile"), b"+a2".to_vec()),
        Step::Save(key("settings.preferences"), value("s3", 70)),
        Step::Amend(key("layout.mobile"), b"+a3".to_vec()),
        Step::Delete(key("layout.default")),
        Step::Batch(vec![
            put("config.app", &value("b2", 40)),
            BatchOp::Amend {
                key: key("settings.preferences"),
                bytes: b"+a4".to_vec(),
            },
        ]),
        Step::Checkpoint,
        Step::Batch(vec![
            del("layout.mobile"),
            BatchOp::Amend {
                key: key("config.app"),
                bytes: b"+a5".to_vec(),
            },
        ]),
        Step::Save(key("history.conversations.ab12"), value("s4", 70 * 1024)),
        Step::Amend(key("history.conversations.ab12"), b"+a6".to_vec()),
        Step::Save(key("notes.deep.a.b"), value("s5", 10)),
    ];
    (sc.keys, sc.old, steps)
}

/// Opens the store in `root` with the sweeps' fold.
fn open(root: &Path, options: OpenOptions) -> Storage {
    Storage::open_with(root, options.fold(Arc::new(Concat))).expect("the store opens")
}

/// The state after each prefix of `steps`: `states[i]` after the first `i`.
fn states(keys: &[Key], old: &State, steps: &[Step]) -> Vec<State> {
    let mut states = vec![old.clone()];
    for step in steps {
        let mut next = states.last().unwrap().clone();
        step.apply(keys, &mut next);
        states.push(next);
    }
    states
}

/// Checks that `state` is the state after some prefix of the steps, at least the first
/// `acked` (every acknowledged step) and at most the first `ran` (no step that never ran).
fn check_prefix(states: &[State], state: &State, acked: usize, ran: usize, ctx: &str) {
    assert!(
        states.iter().any(|s| s == state),
        "{ctx}: the store holds a state no prefix of the steps leaves (a mix)"
    );
    assert!(
        (acked..=ran.min(states.len() - 1)).any(|i| states[i] == *state),
        "{ctx}: the state is not that after {acked} to {ran} steps: an acknowledged step was \
         lost, or one that never ran is visible"
    );
}

#[test]
fn fault_sweep_over_single_saves_deletes_batches_and_checkpoints() {
    let (keys, old, steps) = workload();
    let states = states(&keys, &old, &steps);
    let mut points = 0;
    for durability in [Durability::Full, Durability::None] {
        for kind in [FaultKind::Transient, FaultKind::Permanent] {
            for error in [FaultError::NoSpace, FaultError::Io] {
                for n in 0.. {
                    let dir = tempfile::tempdir().unwrap();
                    set_state(&open(dir.path(), OpenOptions::new()), &keys, &old);
                    let faults = FaultBackend::new(Arc::new(FsBackend));
                    let s = open(
                        dir.path(),
                        OpenOptions::new()
                            .idle_checkpoint(None)
                            .backend(Arc::new(faults.clone())),
                    );
                    faults.fail_at(n, kind, error);
                    let mut acked = 0;
                    let mut failure = None;
                    for step in &steps {
                        match step.run(&s, durability) {
                            Ok(()) => acked += 1,
                            Err(e) => {
                                failure = Some(e);
                                break;
                            }
                        }
                    }
                    let injected = faults.injected() > 0;
                    faults.heal();
                    let ctx = format!("n={n} {durability:?} {kind:?} {error:?}");
                    if !injected {
                        assert!(failure.is_none(), "{ctx}: {failure:?}");
                        assert_eq!(&s.read_many(&keys).unwrap(), states.last().unwrap());
                        points += n;
                        break;
                    }
                    let Some(failure) = failure else {
                        // A failure the store absorbs (growing the journal ahead of its
                        // records, an optimization): every step is then done and durable.
                        assert_eq!(
                            &s.read_many(&keys).unwrap(),
                            states.last().unwrap(),
                            "{ctx}"
                        );
                        drop(s);
                        let reopened = open(dir.path(), OpenOptions::new());
                        assert_eq!(
                            &reopened.read_many(&keys).unwrap(),
                            states.last().unwrap(),
                            "{ctx}"
                        );
                        continue;
                    };
                    if error == FaultError::NoSpace {
                        assert!(
                            matches!(failure, Error::NoSpace { .. }),
                            "{ctx}: {failure:?}"
                        );
                    }
                    let seen = s.read_many(&keys).unwrap();
                    drop(s);
                    let reopened = open(dir.path(), OpenOptions::new());
                    let after = reopened.read_many(&keys).unwrap();
                    check_prefix(&states, &after, acked, acked + 1, &ctx);
                    assert_eq!(seen, after, "{ctx}: the failed handle read another state");
                    assert!(reopened.recovery().quarantined.is_empty(), "{ctx}");
                    assert_files_whole(dir.path(), &keys, &states, &ctx);
                    drop(reopened);
                    assert!(temp_files(dir.path()).is_empty(), "{ctx}: temp files left");
                    assert!(journal_files(dir.path()).is_empty(), "{ctx}: journal left");
                }
            }
        }
    }
    eprintln!("mixed fault sweep: {points} failure points, 0 violations");
}

/// Every key's file holds a whole value some step wrote (or the old one), never a torn one.
fn assert_files_whole(root: &Path, keys: &[Key], states: &[State], ctx: &str) {
    for (at, k) in keys.iter().enumerate() {
        let Ok(bytes) = std::fs::read(root.join(k.relative_path())) else {
            continue;
        };
        assert!(
            states.iter().any(|s| s[at].as_ref() == Some(&bytes)),
            "{ctx}: the file of {k} holds {} bytes no step wrote",
            bytes.len()
        );
    }
}

#[test]
fn power_loss_sweep_over_single_saves_deletes_batches_and_checkpoints() {
    let (keys, old, steps) = workload();
    let states = states(&keys, &old, &steps);
    let allowed: Vec<&State> = states.iter().collect();
    let mut points = 0;
    for durability in [Durability::Full, Durability::Normal, Durability::None] {
        for n in 0.. {
            let (sim, s) = armed_at(n, &keys, &old);
            let mut acked = 0;
            for step in &steps {
                if step.run(&s, durability).is_err() {
                    break;
                }
                acked += 1;
            }
            drop(s);
            if !sim.crashed() {
                assert_eq!(acked, steps.len(), "nothing failed");
                break;
            }
            for &mode in modes(durability) {
                points += 1;
                let ctx = format!("mixed n={n} {durability:?} {mode:?}");
                let state = check_crashed(&sim, mode, &keys, &allowed, &ctx);
                // `None` is swept with process crashes only, which keep what was written.
                check_prefix(&states, &state, acked, acked + 1, &ctx);
                let disk = sim.power_loss(mode);
                for (at, k) in keys.iter().enumerate() {
                    if let Some(bytes) = disk.peek(&Path::new("/store").join(k.relative_path())) {
                        assert!(
                            states.iter().any(|s| s[at].as_ref() == Some(&bytes)),
                            "{ctx}: the file of {k} is torn"
                        );
                    }
                }
            }
        }
    }
    eprintln!("mixed power-loss sweep: {points} crash points, 0 violations");
}
