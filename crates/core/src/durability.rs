//! How hard a write works to survive a power loss.

use serde::{Deserialize, Serialize};

/// How hard a write works to survive a power loss. The guarantee is in each variant's doc.
///
/// Whatever the level, a key is never left torn or empty by a crash of the process: the new
/// value is written to a fresh file that replaces the old one by a rename.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Durability {
    /// Survives power loss once the call returns: the file is fsynced before the rename and
    /// its folder after it. The default.
    #[default]
    Full,
    /// The file is fsynced before the rename, the folder is not: after a power loss the key
    /// holds its old or its new value, never a torn one, but a returned save may be undone.
    Normal,
    /// No fsync: safe against a crash of the process, not against power loss, where the key
    /// may come back with its old value, or (on some file systems) empty.
    None,
}
