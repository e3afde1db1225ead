//! Patches through the store against a model: any sequence of saves, patches (some failing),
//! checkpoints and reopens leaves the same documents as applying them in memory, whether the
//! patches are still in the journal, folded into the files, or read by a new handle.

use std::collections::BTreeMap;

use proptest::prelude::*;
use serde_json::{Value, json};
use statevault::{Patch, Store, StoreOptions};

#[derive(Debug, Clone)]
enum Step {
    Save(usize, Value),
    Patch(usize, Value),
    Checkpoint,
    Reopen,
}

const KEYS: [&str; 2] = ["plugins.a", "plugins.b"];

fn step() -> impl Strategy<Value = Step> {
    let key = 0..KEYS.len();
    prop_oneof![
        (key.clone(), 0..100i64).prop_map(|(k, n)| Step::Save(k, json!({"n": n, "items": []}))),
        (key.clone(), 0..100i64).prop_map(|(k, n)| Step::Patch(
            k,
            json!([{"op": "add", "path": "/items/-", "value": n}])
        )),
        (key.clone(), 0..100i64).prop_map(|(k, n)| Step::Patch(
            k,
            json!([{"op": "replace", "path": "/n", "value": n}, {"op": "add", "path": "/items/0", "value": n}])
        )),
        // Fails when the list is empty: all or nothing.
        key.clone().prop_map(|k| Step::Patch(k, json!([{"op": "remove", "path": "/items/0"}]))),
        key.prop_map(|k| Step::Patch(k, json!([{"op": "test", "path": "/n", "value": 7}]))),
        Just(Step::Checkpoint),
        Just(Step::Reopen),
    ]
}

fn open(dir: &std::path::Path) -> Store {
    Store::open_with(dir, StoreOptions::new().idle_checkpoint(None)).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn saves_and_patches_interrupted_by_reopens_match_the_model(steps in proptest::collection::vec(step(), 1..30)) {
        let dir = tempfile::tempdir().unwrap();
        let mut store = open(dir.path());
        let mut model: BTreeMap<usize, Value> = BTreeMap::new();
        for step in steps {
            match step {
                Step::Save(k, value) => {
                    store.save(KEYS[k], &value).unwrap();
                    model.insert(k, value);
                }
                Step::Patch(k, operations) => {
                    let patch: Patch = serde_json::from_value(operations.clone()).unwrap();
                    // The model: the json-patch crate on a plain value.
                    let reference: json_patch::Patch = serde_json::from_value(operations).unwrap();
                    let expected = model.get(&k).cloned().and_then(|mut doc| {
                        json_patch::patch(&mut doc, &reference).ok().map(|()| doc)
                    });
                    let result = store.patch(KEYS[k], &patch);
                    match expected {
                        Some(doc) => {
                            prop_assert!(result.is_ok(), "{result:?}");
                            model.insert(k, doc);
                        }
                        None => prop_assert!(result.is_err()),
                    }
                }
                Step::Checkpoint => store.checkpoint().unwrap(),
                Step::Reopen => {
                    drop(store);
                    store = open(dir.path());
                }
            }
            for (k, key) in KEYS.iter().enumerate() {
                let loaded: Option<Value> = store.load(key).unwrap();
                prop_assert_eq!(loaded.as_ref(), model.get(&k), "{}", key);
            }
        }
        // A reader in its own handle sees the same, patches pending or not.
        let reader = Store::open_with(dir.path(), StoreOptions::new().read_only(true)).unwrap();
        for (k, key) in KEYS.iter().enumerate() {
            let loaded: Option<Value> = reader.load(key).unwrap();
            prop_assert_eq!(loaded.as_ref(), model.get(&k));
        }
    }
}
