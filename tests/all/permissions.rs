//! Files 0600 and folders 0700 from creation, whatever the umask.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::Arc;

use statevault::{SaveOptions, StaticKeyProvider, Store, StoreOptions};

use super::common::{grid_layout, history, preferences};

#[test]
#[allow(unsafe_code)]
fn a_store_made_through_the_facade_is_private_under_umask_000() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("store");
    // SAFETY: umask only swaps the process's file-creation mask. Other tests running at the same
    // time at worst create their files with a looser mask for a moment; statevault sets its own.
    let old = unsafe { libc::umask(0) };
    let result = std::panic::catch_unwind(|| {
        let provider = StaticKeyProvider::from_bytes(statevault::Zeroizing::new([1; 32]));
        let store =
            Store::open_with(&root, StoreOptions::new().key_provider(Arc::new(provider))).unwrap();
        store.save("layout.default", &grid_layout()).unwrap();
        store.save("settings.preferences", &preferences()).unwrap();
        let sealed = SaveOptions {
            encrypt: Some(true),
            compress: Some(true),
            backup: None,
        };
        store
            .save_with("history.conversations.ab12", &history(), &sealed)
            .unwrap();
        store
            .save(
                "plugins.weather.today",
                &serde_json::json!({"sky": "clear"}),
            )
            .unwrap();
        // A replacement is a new file: it must be private too.
        store.save("layout.default", &grid_layout()).unwrap();
    });
    // SAFETY: as above.
    unsafe { libc::umask(old) };
    result.unwrap();

    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    for folder in [
        "",
        ".statevault",
        "layouts",
        "settings",
        "history",
        "history/conversations",
        "plugins",
        "plugins/weather",
        // The specification's layout shows both backup folders from the start.
        "backups",
        "backups/auto",
        "backups/manual",
    ] {
        assert_eq!(mode(&root.join(folder)), 0o700, "folder {folder:?}");
    }
    for file in [
        ".statevault/store.json",
        "layouts/default.json",
        "settings/preferences.json",
        "history/conversations/ab12.json",
        "plugins/weather/today.json",
    ] {
        assert_eq!(mode(&root.join(file)), 0o600, "file {file}");
    }
    // And nothing else below the root is looser.
    for path in super::common::files_below(&root) {
        assert_eq!(mode(&path) & 0o077, 0, "{}", path.display());
    }
}
