//! Where keys come from: the OS keychain, the application, a key file, an environment variable.

use std::fmt;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use crate::error::Error;
use crate::keys::{DataKey, KeySet};
use crate::types::KeyId;

/// A source of a store's key set.
///
/// There is deliberately no fallback between providers, and no in-memory keychain: a provider that
/// cannot deliver a key says so with an error.
pub trait KeyProvider: Send + Sync + fmt::Debug {
    /// The key set, or `None` when no key exists yet.
    fn load(&self) -> Result<Option<KeySet>, Error>;
    /// The key set, creating a first key (256 random bits, id 1) if none exists.
    fn load_or_create(&self) -> Result<KeySet, Error>;
    /// Adds a fresh key, makes it current and keeps the old ones (so old files stay readable).
    fn rotate(&self) -> Result<KeySet, Error>;
    /// Forgets key `id`. Only call it when no file or snapshot uses the key any more: files encrypted
    /// with it become unreadable. The current key cannot be removed.
    fn remove_key(&self, id: KeyId) -> Result<(), Error>;
}

/// A key set the application supplies, for example a key it keeps wrapped with Electron's
/// `safeStorage` and unwraps at start. Read-only: the application owns rotation.
#[derive(Debug, Clone)]
pub struct StaticKeyProvider {
    keys: KeySet,
}

impl StaticKeyProvider {
    /// A provider that always returns `keys`.
    pub fn new(keys: KeySet) -> Self {
        StaticKeyProvider { keys }
    }

    /// A provider of one 32-byte key with id 1.
    pub fn from_bytes(bytes: Zeroizing<[u8; 32]>) -> Self {
        let key = DataKey::new(KeyId(1), bytes).expect("id 1 is a valid key id");
        StaticKeyProvider::new(KeySet::single(key))
    }
}

impl KeyProvider for StaticKeyProvider {
    fn load(&self) -> Result<Option<KeySet>, Error> {
        Ok(Some(self.keys.clone()))
    }
    fn load_or_create(&self) -> Result<KeySet, Error> {
        Ok(self.keys.clone())
    }
    fn rotate(&self) -> Result<KeySet, Error> {
        Err(Error::ReadOnlyProvider {
            provider: "application-supplied",
            operation: "rotate keys (the application owns them)",
        })
    }
    fn remove_key(&self, _id: KeyId) -> Result<(), Error> {
        Err(Error::ReadOnlyProvider {
            provider: "application-supplied",
            operation: "remove keys (the application owns them)",
        })
    }
}

/// The name of the environment variable [`EnvKeyProvider`] reads.
pub const KEY_ENV_VAR: &str = "STATEVAULT_KEY";

/// A key set in the `STATEVAULT_KEY` environment variable: the base64 of 32 bytes (key 1), or the
/// full key-set text. Read-only; meant for the command line and CI.
#[derive(Debug, Clone, Default)]
pub struct EnvKeyProvider {
    _private: (),
}

impl EnvKeyProvider {
    /// A provider reading [`KEY_ENV_VAR`] on every call.
    pub fn new() -> Self {
        EnvKeyProvider { _private: () }
    }
}

impl KeyProvider for EnvKeyProvider {
    fn load(&self) -> Result<Option<KeySet>, Error> {
        parse_env_value(std::env::var_os(KEY_ENV_VAR))
    }
    fn load_or_create(&self) -> Result<KeySet, Error> {
        // Creating a key nobody can find again would lose the data encrypted with it.
        self.load()?.ok_or(Error::NoKey)
    }
    fn rotate(&self) -> Result<KeySet, Error> {
        Err(Error::ReadOnlyProvider {
            provider: "environment",
            operation: "rotate keys",
        })
    }
    fn remove_key(&self, _id: KeyId) -> Result<(), Error> {
        Err(Error::ReadOnlyProvider {
            provider: "environment",
            operation: "remove keys",
        })
    }
}

/// The key set in the value of [`KEY_ENV_VAR`], if set. Separate from the provider so tests need not
/// change the process environment.
fn parse_env_value(value: Option<std::ffi::OsString>) -> Result<Option<KeySet>, Error> {
    match value {
        None => Ok(None),
        Some(v) => {
            let v = Zeroizing::new(v.into_string().map_err(|_| Error::KeyFormat {
                origin: KEY_ENV_VAR.into(),
                detail: "not valid UTF-8".into(),
            })?);
            KeySet::from_text(&v, KEY_ENV_VAR).map(Some)
        }
    }
}

/// A key set in a file (see `docs/file-format.md`, "Key sets"): a single line of base64 for one key,
/// or `<id>:<base64>` lines and an optional `current=<id>`. Created with mode 0600; rotations rewrite
/// it atomically (temporary file, fsync, rename, fsync of the folder).
#[derive(Debug, Clone)]
pub struct FileKeyProvider {
    path: PathBuf,
}

impl FileKeyProvider {
    /// A provider for the key file at `path` (which need not exist yet).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        FileKeyProvider { path: path.into() }
    }

    /// The key file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn io(&self, source: std::io::Error) -> Error {
        Error::Io {
            path: self.path.clone(),
            source,
        }
    }

    /// Replaces the key file atomically so that a crash leaves the old or the new key set, never a
    /// torn one: losing a key file loses every file encrypted with it.
    fn write(&self, keys: &KeySet, create_new: bool) -> Result<(), Error> {
        let dir = match self.path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let name = self
            .path
            .file_name()
            .ok_or_else(|| self.io(std::io::Error::other("the key file path has no file name")))?;
        let mut suffix = [0u8; 8];
        getrandom::fill(&mut suffix).map_err(Error::Random)?;
        let tmp = dir.join(format!(
            ".{}.{}.tmp",
            name.to_string_lossy(),
            u64::from_le_bytes(suffix)
        ));
        let result = (|| {
            let mut f = open_private(&tmp)?;
            f.write_all(keys.to_text().as_bytes())?;
            f.sync_all()?;
            drop(f);
            if create_new {
                // `hard_link` fails if the target exists, so a key file another process created in
                // the meantime is never overwritten.
                fs::hard_link(&tmp, &self.path)?;
                fs::remove_file(&tmp)?;
            } else {
                fs::rename(&tmp, &self.path)?;
            }
            sync_dir(&dir)
        })();
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        result.map_err(|e| self.io(e))
    }
}

fn open_private(path: &Path) -> std::io::Result<fs::File> {
    let mut opts = fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        opts.mode(0o600);
    }
    opts.open(path)
}

fn sync_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        fs::File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

impl KeyProvider for FileKeyProvider {
    fn load(&self) -> Result<Option<KeySet>, Error> {
        match fs::read(&self.path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(self.io(e)),
            Ok(bytes) => {
                let bytes = Zeroizing::new(bytes);
                let text = std::str::from_utf8(&bytes).map_err(|_| Error::KeyFormat {
                    origin: self.path.display().to_string(),
                    detail: "not valid UTF-8".into(),
                })?;
                KeySet::from_text(text, &self.path.display().to_string()).map(Some)
            }
        }
    }
    fn load_or_create(&self) -> Result<KeySet, Error> {
        if let Some(keys) = self.load()? {
            return Ok(keys);
        }
        let keys = KeySet::single(DataKey::generate(KeyId(1))?);
        match self.write(&keys, true) {
            Ok(()) => Ok(keys),
            // Another process created it first: use theirs.
            Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::AlreadyExists => {
                self.load()?.ok_or(Error::NoKey)
            }
            Err(e) => Err(e),
        }
    }
    fn rotate(&self) -> Result<KeySet, Error> {
        let keys = self.load()?.ok_or(Error::NoKey)?.rotated()?;
        self.write(&keys, false)?;
        Ok(keys)
    }
    fn remove_key(&self, id: KeyId) -> Result<(), Error> {
        let keys = self.load()?.ok_or(Error::NoKey)?.without(id)?;
        self.write(&keys, false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_value_is_a_key_or_a_key_set() {
        assert!(parse_env_value(None).unwrap().is_none());
        let one = "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=";
        let set = parse_env_value(Some(one.into())).unwrap().unwrap();
        assert_eq!(
            (set.current_id(), set.current().bytes()),
            (KeyId(1), &[1; 32])
        );
        let text = format!("1:{one}\n2:{one}\n");
        assert_eq!(
            parse_env_value(Some(text.into()))
                .unwrap()
                .unwrap()
                .current_id(),
            KeyId(2)
        );
        let err = parse_env_value(Some("nope".into())).unwrap_err();
        assert!(
            matches!(&err, Error::KeyFormat { origin, .. } if origin == KEY_ENV_VAR),
            "{err:?}"
        );
    }

    #[test]
    fn static_provider_is_read_only() {
        let p = StaticKeyProvider::from_bytes(Zeroizing::new([7; 32]));
        assert_eq!(p.load_or_create().unwrap().current().bytes(), &[7; 32]);
        assert!(matches!(p.rotate(), Err(Error::ReadOnlyProvider { .. })));
        assert!(matches!(
            p.remove_key(KeyId(1)),
            Err(Error::ReadOnlyProvider { .. })
        ));
    }
}
