//! A damaged file is reported, named, and left exactly as it is.

use std::path::Path;

use statevault::schema::{GridLayoutState, UserPreferencesState};
use statevault::{Error, KeyStatus, Store};

use super::common::{file_of, find, grid_layout, preferences};

/// The offset just past `"data":` in a plain file.
fn data_start(bytes: &[u8]) -> usize {
    find(bytes, b"\"data\":").expect("a plain file has data") + b"\"data\":".len()
}

/// Changes one byte inside `data` so that the JSON stays well formed (a letter of a string
/// becomes another letter): only the checksum can tell.
fn flip_letter_in_data(path: &Path, needle: &[u8]) {
    let mut bytes = std::fs::read(path).unwrap();
    let at =
        data_start(&bytes) + find(&bytes[data_start(&bytes)..], needle).expect("needle in data");
    bytes[at] ^= 0x01; // 'D' <-> 'E', 'e' <-> 'd', …: still a letter, still valid JSON.
    assert!(bytes[at].is_ascii_alphabetic());
    std::fs::write(path, &bytes).unwrap();
}

/// Flips one bit of a byte in the middle of `data` (the result may not be JSON any more).
fn flip_bit_in_data(path: &Path, bit: u8) {
    let mut bytes = std::fs::read(path).unwrap();
    let start = data_start(&bytes);
    let at = start + (bytes.len() - 1 - start) / 2;
    bytes[at] ^= 1 << bit;
    std::fs::write(path, &bytes).unwrap();
}

fn assert_corrupt(err: &Error, key: &str, path: &Path) {
    match err {
        Error::Corrupt {
            key: k, path: p, ..
        } => {
            assert_eq!(k, key);
            assert_eq!(p, path);
        }
        other => panic!("expected Error::Corrupt for {key}, got {other:?}"),
    }
    let message = err.to_string();
    assert!(message.contains(key), "{message}");
    assert!(message.contains(&path.display().to_string()), "{message}");
}

#[test]
fn a_flipped_byte_inside_data_is_corrupt_and_the_file_is_left_as_it_is() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    store.save("layout.default", &grid_layout()).unwrap();
    store.save("settings.preferences", &preferences()).unwrap();
    let path = file_of(&store, "layout.default");
    flip_letter_in_data(&path, b"Developer dashboard");
    let damaged = std::fs::read(&path).unwrap();
    // The damage is invisible to a JSON parser: only the checksum catches it.
    serde_json::from_slice::<serde_json::Value>(&damaged).expect("still well-formed JSON");

    let err = store.load::<GridLayoutState>("layout.default").unwrap_err();
    assert_corrupt(&err, "layout.default", &path);
    // Never replaced by a default, never deleted, never "repaired".
    let err = store
        .load::<serde_json::Value>("layout.default")
        .unwrap_err();
    assert_corrupt(&err, "layout.default", &path);
    assert!(store.exists("layout.default").unwrap());
    assert_eq!(std::fs::read(&path).unwrap(), damaged);

    let reports = store.verify().unwrap();
    let layout = reports.iter().find(|r| r.key == "layout.default").unwrap();
    assert!(
        matches!(layout.status, KeyStatus::Corrupt { .. }),
        "{layout:?}"
    );
    assert!(!layout.status.is_ok());
    let prefs = reports
        .iter()
        .find(|r| r.key == "settings.preferences")
        .unwrap();
    assert!(prefs.status.is_ok(), "{prefs:?}");
    assert_eq!(std::fs::read(&path).unwrap(), damaged);

    // Across a reopen (the open's clean-up of stray temp files must not touch it either).
    drop(store);
    let store = Store::open(dir.path()).unwrap();
    let err = store.load::<GridLayoutState>("layout.default").unwrap_err();
    assert_corrupt(&err, "layout.default", &path);
    assert_eq!(std::fs::read(&path).unwrap(), damaged);
    assert_eq!(
        store
            .load::<UserPreferencesState>("settings.preferences")
            .unwrap(),
        Some(preferences())
    );
}

#[test]
fn load_or_default_does_not_hide_damage_behind_a_default() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    store.save("settings.preferences", &preferences()).unwrap();
    let path = file_of(&store, "settings.preferences");
    flip_letter_in_data(&path, b"Ctrl+B");
    let damaged = std::fs::read(&path).unwrap();
    let err = store
        .load_or_default::<UserPreferencesState>("settings.preferences")
        .unwrap_err();
    assert_corrupt(&err, "settings.preferences", &path);
    assert_eq!(std::fs::read(&path).unwrap(), damaged);
}

#[test]
fn every_single_bit_flip_in_the_middle_of_data_is_detected() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    for bit in 0..8 {
        store.save("layout.default", &grid_layout()).unwrap();
        let path = file_of(&store, "layout.default");
        flip_bit_in_data(&path, bit);
        let damaged = std::fs::read(&path).unwrap();
        let err = store.load::<GridLayoutState>("layout.default").unwrap_err();
        assert_corrupt(&err, "layout.default", &path);
        assert_eq!(std::fs::read(&path).unwrap(), damaged, "bit {bit}");
    }
}

#[test]
fn a_truncated_file_is_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    store.save("layout.default", &grid_layout()).unwrap();
    let path = file_of(&store, "layout.default");
    let whole = std::fs::read(&path).unwrap();
    for len in [0, 1, whole.len() / 2, whole.len() - 1] {
        std::fs::write(&path, &whole[..len]).unwrap();
        let err = store.load::<GridLayoutState>("layout.default").unwrap_err();
        assert_corrupt(&err, "layout.default", &path);
        assert_eq!(std::fs::read(&path).unwrap(), &whole[..len]);
    }
}
