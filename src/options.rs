use std::fmt;
use std::sync::Arc;

use statevault_codec::{KeyProvider, Limits};
use statevault_core::{Backend, Durability};
use statevault_migrate::{BoxError, Migrations, Version};
use statevault_schema::{Document, Registry, contract::SaveOptions};

use crate::error::Result;

/// How a [`Store`](crate::Store) is opened. Built with chained setters:
///
/// ```
/// use statevault::{Durability, SaveOptions, StoreOptions};
///
/// let options = StoreOptions::new()
///     .durability(Durability::Full)
///     .policy("history.*", SaveOptions { encrypt: Some(true), compress: Some(true), backup: None })
///     .quota_bytes(512 * 1024 * 1024);
/// # let _ = options;
/// ```
pub struct StoreOptions {
    pub(crate) durability: Durability,
    pub(crate) read_only: bool,
    pub(crate) key_provider: Option<Arc<dyn KeyProvider>>,
    pub(crate) policies: Vec<(String, SaveOptions)>,
    pub(crate) limits: Limits,
    pub(crate) write_back_migrations: bool,
    pub(crate) registry: Registry,
    pub(crate) migrations: Migrations,
    pub(crate) backend: Option<Arc<dyn Backend>>,
    pub(crate) quota_bytes: Option<u64>,
    pub(crate) audit_log: bool,
    pub(crate) audit_rotate_bytes: u64,
    pub(crate) overwrite_newer: bool,
    pub(crate) auto_repair: bool,
    #[cfg(feature = "backup")]
    pub(crate) backup_policies: statevault_backup::Policies,
    pub(crate) checkpoint_bytes: u64,
    pub(crate) idle_checkpoint: Option<std::time::Duration>,
    pub(crate) hot_documents_bytes: u64,
}

/// How many bytes of patched documents a writer keeps decoded in memory by default (see
/// [`StoreOptions::hot_documents_bytes`]).
pub const DEFAULT_HOT_DOCUMENTS_BYTES: u64 = 64 * 1024 * 1024;

impl Default for StoreOptions {
    fn default() -> StoreOptions {
        StoreOptions {
            durability: Durability::Full,
            read_only: false,
            key_provider: None,
            policies: Vec::new(),
            limits: Limits::default(),
            write_back_migrations: true,
            registry: Registry::empty(),
            migrations: Migrations::new(),
            backend: None,
            quota_bytes: None,
            audit_log: true,
            audit_rotate_bytes: 4 * 1024 * 1024,
            overwrite_newer: false,
            auto_repair: true,
            #[cfg(feature = "backup")]
            backup_policies: statevault_backup::Policies::default(),
            checkpoint_bytes: statevault_core::DEFAULT_CHECKPOINT_BYTES,
            idle_checkpoint: Some(statevault_core::DEFAULT_IDLE_CHECKPOINT),
            hot_documents_bytes: DEFAULT_HOT_DOCUMENTS_BYTES,
        }
    }
}

impl fmt::Debug for StoreOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoreOptions")
            .field("durability", &self.durability)
            .field("read_only", &self.read_only)
            .field("key_provider", &self.key_provider)
            .field("policies", &self.policies)
            .field("limits", &self.limits)
            .field("write_back_migrations", &self.write_back_migrations)
            .field("quota_bytes", &self.quota_bytes)
            .finish_non_exhaustive()
    }
}

impl StoreOptions {
    /// The defaults: [`Durability::Full`], writable, no registered documents (every key holds
    /// untyped JSON until the application registers its documents, or asks for
    /// [`StoreOptions::with_builtin_documents`]), the OS keychain as key provider (used only when
    /// something is encrypted), migrated documents written back, automatic repair on.
    pub fn new() -> StoreOptions {
        StoreOptions::default()
    }

    /// How hard each save works to survive power loss.
    pub fn durability(mut self, durability: Durability) -> StoreOptions {
        self.durability = durability;
        self
    }

    /// Opens without the writer lock, for a process that only reads (a support tool reading
    /// the store while the application runs). Nothing is created or changed.
    pub fn read_only(mut self, read_only: bool) -> StoreOptions {
        self.read_only = read_only;
        self
    }

    /// Where the encryption keys come from. Without one, the OS keychain is used, under an
    /// account naming the store id; there is never a fallback to plaintext.
    pub fn key_provider(mut self, provider: Arc<dyn KeyProvider>) -> StoreOptions {
        self.key_provider = Some(provider);
        self
    }

    /// The options applied to keys matching `pattern` (an exact key, or `prefix.*` for every
    /// key below `prefix`) wherever a save's own options leave them unset. The first matching
    /// policy wins.
    pub fn policy(mut self, pattern: &str, defaults: SaveOptions) -> StoreOptions {
        self.policies.push((pattern.to_owned(), defaults));
        self
    }

    /// The most bytes a compressed value may inflate to when loaded (default 256 MiB);
    /// a larger one is refused, never truncated.
    pub fn max_inflated_bytes(mut self, bytes: u64) -> StoreOptions {
        self.limits = Limits::with_max_inflated_bytes(bytes);
        self
    }

    /// Whether a document migrated on load is written back in its new version (default on).
    pub fn write_back_migrations(mut self, write_back: bool) -> StoreOptions {
        self.write_back_migrations = write_back;
        self
    }

    /// The most bytes the store's keys may take on disk; a save past it fails with
    /// [`Error::QuotaExceeded`](crate::Error::QuotaExceeded) and writes nothing.
    pub fn quota_bytes(mut self, bytes: u64) -> StoreOptions {
        self.quota_bytes = Some(bytes);
        self
    }

    /// Whether every change is recorded in `.statevault/audit.log` (default on).
    pub fn audit_log(mut self, enabled: bool) -> StoreOptions {
        self.audit_log = enabled;
        self
    }

    /// The size past which the audit log is rotated (default 4 MiB); the hash chain continues
    /// into the new file.
    pub fn audit_rotate_bytes(mut self, bytes: u64) -> StoreOptions {
        self.audit_rotate_bytes = bytes;
        self
    }

    /// Lets a save replace a document written by a newer program (default off: such a save
    /// fails with [`Error::NewerVersion`](crate::Error::NewerVersion), because an older program
    /// would drop what it does not understand). Set it only to deliberately downgrade.
    pub fn overwrite_newer(mut self, force: bool) -> StoreOptions {
        self.overwrite_newer = force;
        self
    }

    /// The retention applied after every automatic snapshot (default: manual snapshots are
    /// kept until someone removes them; automatic ones by
    /// [`Policies::DEFAULT_AUTO`](statevault_backup::Policies::DEFAULT_AUTO): the last 10, one a
    /// day for 7 days, one a week for 4 weeks).
    #[cfg(feature = "backup")]
    pub fn backup_policies(mut self, policies: statevault_backup::Policies) -> StoreOptions {
        self.backup_policies = policies;
        self
    }

    /// Validates keys matching `pattern` as document `T`, and migrates them with the
    /// migrations `T` declares.
    pub fn register<T: Document>(mut self, pattern: &str) -> Result<StoreOptions> {
        self.registry.register::<T>(pattern)?;
        Ok(self)
    }

    /// Validates and migrates the module specification's built-in documents under their keys:
    /// `layout.*` as `GridLayoutState`, `settings.preferences` as `UserPreferencesState`,
    /// `history.conversations` and `history.conversations.*` as `ConversationHistoryState`,
    /// `config.app` as `AppConfig`, `settings.themes` as `ThemesState`, `settings.keybindings` as
    /// `KeybindingsState`, `config.environment` as `EnvironmentConfig`, `history.contexts.*` as
    /// `ConversationContext` (see [`Registry::builtin`]). Off by default, so that an
    /// application's own `settings.*` is not held to the Electron application's types; on in
    /// [`Store::open_default`](crate::Store::open_default), the command line and the Node
    /// binding. A pattern the application registered itself keeps its own document.
    pub fn with_builtin_documents(mut self) -> StoreOptions {
        let builtin = Registry::builtin();
        for (pattern, document) in builtin.patterns() {
            let info = builtin
                .get_shared(document.name())
                .expect("a registered document is listed by name");
            // A pattern already taken is the application's choice, and stays.
            let _ = self.registry.register_info(&pattern, info);
        }
        self
    }

    /// Replaces the key-pattern registry (e.g. [`Registry::empty`] for a store of untyped JSON).
    pub fn registry(mut self, registry: Registry) -> StoreOptions {
        self.registry = registry;
        self
    }

    /// Adds a migration of `document` from one version to another, beside those its type
    /// declares.
    pub fn migration<F, E>(
        mut self,
        document: &str,
        from: Version,
        to: Version,
        description: &str,
        f: F,
    ) -> Result<StoreOptions>
    where
        F: Fn(serde_json::Value) -> std::result::Result<serde_json::Value, E>
            + Send
            + Sync
            + 'static,
        E: Into<BoxError>,
    {
        self.migrations.add(document, from, to, description, f)?;
        Ok(self)
    }

    /// Whether a load that finds its key's file damaged restores it from the newest snapshot
    /// holding an intact copy (on by default; only a writer repairs). The damaged file is kept
    /// in an automatic snapshot first (never deleted), the `corruption_detected` alert is
    /// raised, a warning is logged and an `auto-repair` line audited, and the load returns the
    /// restored value ([`Store::load_reported`](crate::Store::load_reported) says what was
    /// repaired). With no intact copy the load fails with [`Error::Corrupt`](crate::Error::Corrupt)
    /// and the file is left as it is, as it is with this option off.
    pub fn auto_repair(mut self, repair: bool) -> StoreOptions {
        self.auto_repair = repair;
        self
    }

    /// How many bytes of commits (saves, deletes, batches) the journal holds before they are
    /// checkpointed into the keys' files (8 MiB by default; `0` checkpoints every commit at
    /// once). A commit costs one append and one sync; its checkpoint, later, costs about what
    /// replacing each key's file costs. See `docs/durability.md`.
    pub fn checkpoint_bytes(mut self, bytes: u64) -> StoreOptions {
        self.checkpoint_bytes = bytes;
        self
    }

    /// How long the journal stays quiet (no commit) before a thread of the writer checkpoints
    /// it, so a key's file lags its last save by about that much while the application runs
    /// (2 s by default). `None` starts no thread: files are brought up to date when the
    /// journal is full, by [`Store::checkpoint`](crate::Store::checkpoint) and when the store
    /// is dropped.
    pub fn idle_checkpoint(mut self, idle: Option<std::time::Duration>) -> StoreOptions {
        self.idle_checkpoint = idle;
        self
    }

    /// How many bytes (of JSON text) of patched documents a writer keeps decoded in memory, so
    /// that the next patch of the same document neither reads nor decodes it: an append to a
    /// long history then costs the message, not the history. The least recently patched go
    /// first; a document larger than this is never kept. `0` keeps none. 64 MiB by default.
    pub fn hot_documents_bytes(mut self, bytes: u64) -> StoreOptions {
        self.hot_documents_bytes = bytes;
        self
    }

    /// Runs all file-system calls through `backend` (tests: fault injection, power loss).
    pub fn backend(mut self, backend: Arc<dyn Backend>) -> StoreOptions {
        self.backend = Some(backend);
        self
    }
}

/// Whether `pattern` (an exact key or `prefix.*`) matches `key`.
pub(crate) fn pattern_matches(pattern: &str, key: &str) -> bool {
    match pattern.strip_suffix(".*") {
        Some(prefix) => key
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.starts_with('.') && rest.len() > 1),
        None => pattern == key,
    }
}

#[cfg(test)]
mod tests {
    use super::pattern_matches;

    #[test]
    fn patterns() {
        for (pattern, key, expected) in [
            ("history.*", "history.conversations", true),
            ("history.*", "history.conversations.ab", true),
            ("history.*", "history", false),
            ("history.*", "historyx.a", false),
            ("config.app", "config.app", true),
            ("config.app", "config.app2", false),
        ] {
            assert_eq!(pattern_matches(pattern, key), expected, "{pattern} {key}");
        }
    }
}
