//! The OS keychain as key provider (the `encryption` feature): one secret per store holding
//! its key-set text, through keyring-core and the platform's store.

use std::fmt;
use std::sync::{Arc, Mutex};

use keyring_core::{CredentialStore, Entry};
use zeroize::Zeroizing;

use crate::error::Error;
use crate::keys::{DataKey, KeySet};
use crate::providers::KeyProvider;
use crate::types::KeyId;

/// The keychain service name every statevault secret is stored under.
pub const KEYCHAIN_SERVICE: &str = "statevault";

/// Which OS keychain a [`KeychainProvider`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeychainBackend {
    /// The platform's own: Keychain Services on macOS, the Credential Manager on Windows, the Secret
    /// Service (GNOME Keyring, KWallet) on Linux and the BSDs.
    Native,
    /// The freedesktop Secret Service over D-Bus (Linux and the BSDs).
    SecretService,
    /// The Linux kernel's keyutils (session keyring). Not persistent across reboots: use it for
    /// headless sessions and tests, never as the only copy of a key.
    KeyUtils,
}

/// The store's key set in the operating system's keychain, under service [`KEYCHAIN_SERVICE`] and
/// account `<store id>`, as one secret holding the key-set text.
///
/// The connection is made on first use, so constructing a provider never fails.
pub struct KeychainProvider {
    store_id: String,
    backend: KeychainBackend,
    store: Mutex<Option<Arc<CredentialStore>>>,
}

impl fmt::Debug for KeychainProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeychainProvider")
            .field("store_id", &self.store_id)
            .field("backend", &self.backend)
            .finish_non_exhaustive()
    }
}

impl KeychainProvider {
    /// The platform's native keychain for store `store_id`.
    pub fn new(store_id: &str) -> Self {
        KeychainProvider::with_backend(store_id, KeychainBackend::Native)
    }

    /// A specific keychain for store `store_id`.
    pub fn with_backend(store_id: &str, backend: KeychainBackend) -> Self {
        KeychainProvider {
            store_id: store_id.to_string(),
            backend,
            store: Mutex::new(None),
        }
    }

    /// Talks to an already opened credential store (tests use keyring-core's mock store).
    #[cfg(test)]
    pub(crate) fn with_store(store_id: &str, store: Arc<CredentialStore>) -> Self {
        KeychainProvider {
            store_id: store_id.to_string(),
            backend: KeychainBackend::Native,
            store: Mutex::new(Some(store)),
        }
    }

    fn err(&self, source: keyring_core::Error) -> Error {
        Error::Keychain {
            store_id: self.store_id.clone(),
            source: Box::new(source),
        }
    }

    fn entry(&self) -> Result<Entry, Error> {
        let mut guard = self.store.lock().unwrap_or_else(|p| p.into_inner());
        let store = match &*guard {
            Some(s) => s.clone(),
            None => {
                let s = open_store(self.backend).map_err(|e| self.err(e))?;
                *guard = Some(s.clone());
                s
            }
        };
        drop(guard);
        Entry::new_in_store(&store, KEYCHAIN_SERVICE, &self.store_id).map_err(|e| self.err(e))
    }

    fn save(&self, entry: &Entry, keys: &KeySet) -> Result<(), Error> {
        entry
            .set_secret(keys.to_text().as_bytes())
            .map_err(|e| self.err(e))
    }
}

fn unsupported(backend: KeychainBackend) -> keyring_core::Error {
    keyring_core::Error::NotSupportedByStore(format!(
        "the {backend:?} keychain is not available on this platform"
    ))
}

fn open_store(backend: KeychainBackend) -> Result<Arc<CredentialStore>, keyring_core::Error> {
    #[cfg(all(
        unix,
        not(any(target_os = "macos", target_os = "ios", target_os = "android"))
    ))]
    if matches!(
        backend,
        KeychainBackend::Native | KeychainBackend::SecretService
    ) {
        return Ok(zbus_secret_service_keyring_store::Store::new()?);
    }
    #[cfg(target_os = "linux")]
    if backend == KeychainBackend::KeyUtils {
        return Ok(linux_keyutils_keyring_store::Store::new()?);
    }
    #[cfg(target_os = "macos")]
    if backend == KeychainBackend::Native {
        return Ok(apple_native_keyring_store::keychain::Store::new()?);
    }
    #[cfg(target_os = "windows")]
    if backend == KeychainBackend::Native {
        return Ok(windows_native_keyring_store::Store::new()?);
    }
    Err(unsupported(backend))
}

impl KeyProvider for KeychainProvider {
    fn load(&self) -> Result<Option<KeySet>, Error> {
        let entry = self.entry()?;
        match entry.get_secret() {
            Err(keyring_core::Error::NoEntry) => Ok(None),
            Err(e) => Err(self.err(e)),
            Ok(secret) => {
                let secret = Zeroizing::new(secret);
                let text = std::str::from_utf8(&secret).map_err(|_| Error::KeyFormat {
                    origin: "keychain".into(),
                    detail: "the secret is not UTF-8".into(),
                })?;
                KeySet::from_text(text, "keychain").map(Some)
            }
        }
    }
    fn load_or_create(&self) -> Result<KeySet, Error> {
        if let Some(keys) = self.load()? {
            return Ok(keys);
        }
        let keys = KeySet::single(DataKey::generate(KeyId(1))?);
        self.save(&self.entry()?, &keys)?;
        // Read back what the keychain now holds, so a key is never used that was not stored.
        self.load()?.ok_or(Error::NoKey)
    }
    fn rotate(&self) -> Result<KeySet, Error> {
        let keys = self.load()?.ok_or(Error::NoKey)?.rotated()?;
        self.save(&self.entry()?, &keys)?;
        Ok(keys)
    }
    fn remove_key(&self, id: KeyId) -> Result<(), Error> {
        let keys = self.load()?.ok_or(Error::NoKey)?.without(id)?;
        self.save(&self.entry()?, &keys)
    }
}

impl KeychainProvider {
    /// Deletes the store's whole key set from the keychain (for `statevault` store removal and
    /// tests). Every file encrypted with it becomes unreadable.
    pub fn delete_all(&self) -> Result<(), Error> {
        match self.entry()?.delete_credential() {
            Ok(()) | Err(keyring_core::Error::NoEntry) => Ok(()),
            Err(e) => Err(self.err(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mock() -> KeychainProvider {
        KeychainProvider::with_store("store-1", keyring_core::mock::Store::new().unwrap())
    }

    #[test]
    fn keychain_provider_creates_rotates_and_removes() {
        let p = mock();
        assert!(p.load().unwrap().is_none());
        let first = p.load_or_create().unwrap();
        assert_eq!(first.ids(), vec![KeyId(1)]);
        assert_eq!(
            p.load_or_create().unwrap().current().bytes(),
            first.current().bytes()
        );
        let rotated = p.rotate().unwrap();
        assert_eq!(rotated.current_id(), KeyId(2));
        let loaded = p.load().unwrap().unwrap();
        assert_eq!(loaded.ids(), vec![KeyId(1), KeyId(2)]);
        assert_eq!(
            loaded.get(KeyId(1)).unwrap().bytes(),
            first.current().bytes()
        );
        assert!(matches!(
            p.remove_key(KeyId(2)),
            Err(Error::KeyInUse { .. })
        ));
        p.remove_key(KeyId(1)).unwrap();
        assert_eq!(p.load().unwrap().unwrap().ids(), vec![KeyId(2)]);
        p.delete_all().unwrap();
        assert!(p.load().unwrap().is_none());
    }

    #[test]
    fn keychain_provider_rotate_without_a_key_is_no_key() {
        assert!(matches!(mock().rotate(), Err(Error::NoKey)));
    }
}
