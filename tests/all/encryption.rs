//! Encryption and compression through the facade, with an application-supplied key.

use std::path::Path;
use std::sync::Arc;

use serde_json::{Value, json};
use statevault::layers::codec::{self, Format, Zeroizing};
use statevault::schema::{ConversationHistoryState, UserPreferencesState};
use statevault::{
    Error, FileFormat, KeyStatus, SaveOptions, StaticKeyProvider, Store, StoreOptions,
};

use super::common::{file_of, find, history, preferences, shares_a_substring};

fn provider(byte: u8) -> Arc<StaticKeyProvider> {
    Arc::new(StaticKeyProvider::from_bytes(Zeroizing::new([byte; 32])))
}

fn open_with_key(dir: &Path, byte: u8) -> Store {
    Store::open_with(dir, StoreOptions::new().key_provider(provider(byte))).unwrap()
}

const ENCRYPT: SaveOptions = SaveOptions {
    encrypt: Some(true),
    compress: None,
    backup: None,
};

fn format_of(path: &Path) -> Format {
    codec::inspect(&std::fs::read(path).unwrap())
        .expect("an intact file")
        .format
}

#[test]
fn an_encrypted_value_pending_in_the_journal_holds_no_plaintext_there_either() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_with_key(dir.path(), 1);
    let mut history = history();
    history.conversations[0].messages[0].content =
        "the launch code is 0451-7719, tell nobody".into();
    store
        .save_with("history.conversations", &history, &ENCRYPT)
        .unwrap();
    // Not checkpointed: the value is only in the journal, the key's file does not exist yet.
    assert!(!store.path_of("history.conversations").unwrap().exists());
    let journal_dir = dir.path().join(".statevault/journal");
    let mut journal = Vec::new();
    for entry in std::fs::read_dir(&journal_dir).unwrap() {
        journal.extend(std::fs::read(entry.unwrap().path()).unwrap());
    }
    assert!(
        find(&journal, b"history.conversations").is_some(),
        "the record is there"
    );
    let plaintext = serde_json::to_vec(&history).unwrap();
    assert_eq!(find(&journal, b"0451-7719"), None);
    assert_eq!(find(&journal, b"launch code"), None);
    // The record names its key in the clear (as the key's file name does); blank it out
    // before looking for any 8 bytes of the value.
    let key = b"history.conversations";
    while let Some(at) = find(&journal, key) {
        journal[at..at + key.len()].fill(0);
    }
    assert_eq!(shares_a_substring(&journal, &plaintext, 8), None);
    // A read-only handle (another process) reads it from the journal and decrypts it.
    let reader = Store::open_with(
        dir.path(),
        StoreOptions::new()
            .read_only(true)
            .key_provider(provider(1)),
    )
    .unwrap();
    assert_eq!(
        reader
            .load::<ConversationHistoryState>("history.conversations")
            .unwrap(),
        Some(history)
    );
    drop(store);
}

#[test]
fn an_encrypted_value_holds_no_plaintext_and_loads_back() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_with_key(dir.path(), 1);
    let mut history = history();
    history.conversations[0].messages[0].content =
        "the launch code is 0451-7719, tell nobody".into();
    store
        .save_with("history.conversations", &history, &ENCRYPT)
        .unwrap();
    let path = file_of(&store, "history.conversations");
    let file = std::fs::read(&path).unwrap();
    assert!(
        matches!(
            format_of(&path),
            Format::Envelope {
                encrypted: true,
                compressed: false,
                ..
            }
        ),
        "{:?}",
        format_of(&path)
    );
    let plaintext = serde_json::to_vec(&history).unwrap();
    assert_eq!(find(&file, b"0451-7719"), None);
    assert_eq!(find(&file, b"launch code"), None);
    assert_eq!(find(&file, b"Conversation"), None);
    assert_eq!(shares_a_substring(&file, &plaintext, 8), None);

    assert_eq!(
        store
            .load::<ConversationHistoryState>("history.conversations")
            .unwrap(),
        Some(history.clone())
    );
    drop(store);
    let store = open_with_key(dir.path(), 1);
    assert_eq!(
        store
            .load::<ConversationHistoryState>("history.conversations")
            .unwrap(),
        Some(history)
    );
    let report = store.verify().unwrap();
    assert_eq!(
        report[0].status,
        KeyStatus::Ok {
            format: FileFormat::Envelope {
                compressed: false,
                encrypted: true
            }
        }
    );
}

#[test]
fn a_store_policy_encrypts_and_compresses_history_saved_without_options() {
    let dir = tempfile::tempdir().unwrap();
    let options = StoreOptions::new().key_provider(provider(2)).policy(
        "history.*",
        SaveOptions {
            encrypt: Some(true),
            compress: Some(true),
            backup: None,
        },
    );
    let store = Store::open_with(dir.path(), options).unwrap();
    store.save("history.conversations", &history()).unwrap();
    store
        .save("history.conversations.ab12", &history())
        .unwrap();
    store.save("settings.preferences", &preferences()).unwrap();
    // The save's own options win over the policy.
    store
        .save_with(
            "history.conversations.plain",
            &history(),
            &SaveOptions {
                encrypt: Some(false),
                compress: Some(false),
                backup: None,
            },
        )
        .unwrap();

    for key in ["history.conversations", "history.conversations.ab12"] {
        let path = file_of(&store, key);
        assert!(
            matches!(
                format_of(&path),
                Format::Envelope {
                    encrypted: true,
                    compressed: true,
                    ..
                }
            ),
            "{key}: {:?}",
            format_of(&path)
        );
        let file = std::fs::read(&path).unwrap();
        assert_eq!(
            shares_a_substring(&file, &serde_json::to_vec(&history()).unwrap(), 8),
            None
        );
        assert_eq!(
            store.load::<ConversationHistoryState>(key).unwrap(),
            Some(history())
        );
    }
    assert_eq!(
        format_of(&file_of(&store, "settings.preferences")),
        Format::Plain
    );
    assert_eq!(
        format_of(&file_of(&store, "history.conversations.plain")),
        Format::Plain
    );
    let reports = store.verify().unwrap();
    let status = |key: &str| {
        reports
            .iter()
            .find(|r| r.key == key)
            .unwrap()
            .status
            .clone()
    };
    assert_eq!(
        status("history.conversations"),
        KeyStatus::Ok {
            format: FileFormat::Envelope {
                compressed: true,
                encrypted: true
            }
        }
    );
    assert_eq!(
        status("settings.preferences"),
        KeyStatus::Ok {
            format: FileFormat::Plain
        }
    );
}

fn assert_decrypt(err: &Error, key: &str) {
    match err {
        Error::Decrypt { key: k, path, .. } => {
            assert_eq!(k, key);
            assert!(path.ends_with(format!("{}.json", key.rsplit('.').next().unwrap())));
        }
        other => panic!("expected Error::Decrypt for {key}, got {other:?}"),
    }
}

#[test]
fn another_key_does_not_decrypt() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_with_key(dir.path(), 3);
    store
        .save_with("settings.preferences", &preferences(), &ENCRYPT)
        .unwrap();
    let path = file_of(&store, "settings.preferences");
    let bytes = std::fs::read(&path).unwrap();
    drop(store);

    let store = open_with_key(dir.path(), 4);
    let err = store
        .load::<UserPreferencesState>("settings.preferences")
        .unwrap_err();
    assert_decrypt(&err, "settings.preferences");
    assert!(matches!(
        store.verify().unwrap()[0].status,
        KeyStatus::Undecryptable { .. }
    ));
    // A failed decryption changes nothing.
    assert_eq!(std::fs::read(&path).unwrap(), bytes);
    drop(store);
    let store = open_with_key(dir.path(), 3);
    assert_eq!(
        store
            .load::<UserPreferencesState>("settings.preferences")
            .unwrap(),
        Some(preferences())
    );
}

#[test]
fn a_file_copied_onto_another_key_or_into_another_store_does_not_decrypt() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_with_key(dir.path(), 5);
    let options = SaveOptions {
        encrypt: Some(true),
        compress: Some(true),
        backup: None,
    };
    store
        .save_with("history.conversations.ab12", &history(), &options)
        .unwrap();
    let from = file_of(&store, "history.conversations.ab12");
    // Same store, same key provider, same document type: only the key name differs.
    let to = file_of(&store, "history.conversations.cd34");
    std::fs::copy(&from, &to).unwrap();
    let err = store
        .load::<ConversationHistoryState>("history.conversations.cd34")
        .unwrap_err();
    assert_decrypt(&err, "history.conversations.cd34");

    // Another store with the same key and the same key name: the store id differs.
    let other = tempfile::tempdir().unwrap();
    let other_store = open_with_key(other.path(), 5);
    let to = file_of(&other_store, "history.conversations.ab12");
    std::fs::create_dir_all(to.parent().unwrap()).unwrap();
    std::fs::copy(&from, &to).unwrap();
    let err = other_store
        .load::<ConversationHistoryState>("history.conversations.ab12")
        .unwrap_err();
    assert_decrypt(&err, "history.conversations.ab12");

    // The original still loads.
    assert_eq!(
        store
            .load::<ConversationHistoryState>("history.conversations.ab12")
            .unwrap(),
        Some(history())
    );
}

#[test]
fn a_flipped_byte_in_an_encrypted_file_is_corrupt_not_a_wrong_key() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_with_key(dir.path(), 6);
    store
        .save_with("settings.preferences", &preferences(), &ENCRYPT)
        .unwrap();
    let path = file_of(&store, "settings.preferences");
    let original = std::fs::read(&path).unwrap();
    // A byte of the header, of the ciphertext, and of the trailer.
    for at in [6, original.len() / 2, original.len() - 1] {
        let mut damaged = original.clone();
        damaged[at] ^= 0x20;
        std::fs::write(&path, &damaged).unwrap();
        let err = store
            .load::<UserPreferencesState>("settings.preferences")
            .unwrap_err();
        match &err {
            Error::Corrupt { key, path: p, .. } => {
                assert_eq!(key, "settings.preferences");
                assert_eq!(p, &path);
            }
            other => panic!("byte {at}: expected Corrupt, got {other:?}"),
        }
        assert_eq!(std::fs::read(&path).unwrap(), damaged, "byte {at}");
        assert!(matches!(
            store.verify().unwrap()[0].status,
            KeyStatus::Corrupt { .. }
        ));
    }
}

/// A value that gzip shrinks about a thousandfold.
fn bomb(inflated: usize) -> Value {
    json!({"padding": "A".repeat(inflated)})
}

#[test]
fn a_gzip_bomb_past_the_inflation_cap_is_refused_never_truncated() {
    let dir = tempfile::tempdir().unwrap();
    let inflated = 4 * 1024 * 1024;
    {
        let store = open_with_key(dir.path(), 7);
        let compress = SaveOptions {
            encrypt: None,
            compress: Some(true),
            backup: None,
        };
        let both = SaveOptions {
            encrypt: Some(true),
            compress: Some(true),
            backup: None,
        };
        store
            .save_with("plugins.bomb", &bomb(inflated), &compress)
            .unwrap();
        store
            .save_with("plugins.sealed-bomb", &bomb(inflated), &both)
            .unwrap();
        for key in ["plugins.bomb", "plugins.sealed-bomb"] {
            let size = std::fs::metadata(file_of(&store, key)).unwrap().len();
            assert!(size < 64 * 1024, "{key}: {size} bytes is not a bomb");
        }
    }
    let cap = 1024 * 1024;
    let store = Store::open_with(
        dir.path(),
        StoreOptions::new()
            .key_provider(provider(7))
            .max_inflated_bytes(cap),
    )
    .unwrap();
    for key in ["plugins.bomb", "plugins.sealed-bomb"] {
        let path = file_of(&store, key);
        let before = std::fs::read(&path).unwrap();
        match store.load::<Value>(key) {
            Ok(value) => panic!(
                "{key}: a bomb past the cap loaded ({} bytes)",
                value.map_or(0, |v| v.to_string().len())
            ),
            Err(err) => {
                let message = err.to_string();
                assert!(message.contains(key), "{message}");
                assert!(
                    message.contains(&cap.to_string()),
                    "the message names the cap: {message}"
                );
            }
        }
        assert_eq!(std::fs::read(&path).unwrap(), before);
    }
    assert!(store.verify().unwrap().iter().all(|r| !r.status.is_ok()));
    drop(store);
    // Under the default cap the same files load whole.
    let store = open_with_key(dir.path(), 7);
    for key in ["plugins.bomb", "plugins.sealed-bomb"] {
        assert_eq!(store.load::<Value>(key).unwrap(), Some(bomb(inflated)));
    }
}

/// A key provider with no key and no way to make one (a locked keychain, say).
#[derive(Debug)]
struct NoKeys;

impl statevault::KeyProvider for NoKeys {
    fn load(&self) -> Result<Option<statevault::KeySet>, codec::Error> {
        Ok(None)
    }
    fn load_or_create(&self) -> Result<statevault::KeySet, codec::Error> {
        Err(codec::Error::NoKey)
    }
    fn rotate(&self) -> Result<statevault::KeySet, codec::Error> {
        Err(codec::Error::NoKey)
    }
    fn remove_key(&self, _id: codec::KeyId) -> Result<(), codec::Error> {
        Err(codec::Error::NoKey)
    }
}

#[test]
fn encryption_without_a_key_is_an_error_never_plaintext() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_with(
        dir.path(),
        StoreOptions::new().key_provider(Arc::new(NoKeys)),
    )
    .unwrap();
    store.save("settings.preferences", &preferences()).unwrap();
    let path = file_of(&store, "settings.preferences");
    let before = std::fs::read(&path).unwrap();
    let mut changed = preferences();
    changed.language = "it".into();
    assert!(
        store
            .save_with("settings.preferences", &changed, &ENCRYPT)
            .is_err()
    );
    assert_eq!(std::fs::read(&path).unwrap(), before, "the old value stays");
    assert!(
        store
            .save_with("history.conversations", &history(), &ENCRYPT)
            .is_err()
    );
    assert!(
        !store.exists("history.conversations").unwrap(),
        "nothing written"
    );
    assert_eq!(
        super::common::temp_files(dir.path()),
        Vec::<std::path::PathBuf>::new()
    );
}
