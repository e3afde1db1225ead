//! Keys: the only way a name from outside becomes a path inside the store.

use std::fmt;
use std::path::PathBuf;

/// The longest key, in bytes.
pub const MAX_KEY_LEN: usize = 255;
/// The longest segment of a key, in bytes.
pub const MAX_SEGMENT_LEN: usize = 64;

/// Namespaces that may not be used because they would collide with the store's own folders
/// (`backups/`) or with the folder another namespace maps to (`layout` maps to `layouts/`).
const RESERVED_NAMESPACES: &[&str] = &["backups", "layouts"];

/// Names Windows treats as devices whatever their extension (`con.json` opens the console).
/// A segment equal to one of them is refused everywhere, because every segment becomes
/// a folder or file name.
const WINDOWS_DEVICE_NAMES: &[&str] = &[
    "con", "prn", "aux", "nul", "conin$", "conout$", "com0", "com1", "com2", "com3", "com4",
    "com5", "com6", "com7", "com8", "com9", "lpt0", "lpt1", "lpt2", "lpt3", "lpt4", "lpt5", "lpt6",
    "lpt7", "lpt8", "lpt9",
];

/// A validated key such as `layout.default` or `history.conversations.ab12`.
///
/// A key is dot-separated segments, each `[a-z0-9][a-z0-9_-]{0,63}`, at least two of them,
/// at most 255 bytes in all. The first segment is the namespace. Everything else is refused
/// by [`Key::parse`] before any path is built, so a `Key` always maps to a path strictly
/// inside the store's root: no `..`, no separators, no absolute paths, no NUL, no Windows
/// device names, and no upper case (two keys never collide on a case-insensitive file system).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Key(String);

/// Why a string is not a key.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyError {
    /// The string is empty.
    Empty,
    /// The string is longer than [`MAX_KEY_LEN`] bytes.
    TooLong {
        /// Its length in bytes.
        len: usize,
    },
    /// The key has a single segment; a namespace alone is not a key.
    NoNamespace,
    /// Two dots in a row, or a dot at the start or the end.
    EmptySegment,
    /// A segment longer than [`MAX_SEGMENT_LEN`] bytes.
    SegmentTooLong {
        /// The segment's index (0 is the namespace).
        index: usize,
    },
    /// A byte outside `[a-z0-9_-]`, or `_`/`-` at the start of a segment.
    BadChar {
        /// The offending character.
        ch: char,
        /// Its byte offset in the key.
        offset: usize,
    },
    /// A namespace the store keeps for itself.
    ReservedNamespace {
        /// The namespace.
        namespace: String,
    },
    /// A segment Windows would open as a device.
    DeviceName {
        /// The segment.
        segment: String,
    },
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyError::Empty => f.write_str("a key may not be empty"),
            KeyError::TooLong { len } => {
                write!(f, "a key is at most {MAX_KEY_LEN} bytes, this one is {len}")
            }
            KeyError::NoNamespace => f.write_str(
                "a key needs a namespace and a name separated by a dot, as in `settings.preferences`",
            ),
            KeyError::EmptySegment => {
                f.write_str("a key may not start or end with a dot or hold two dots in a row")
            }
            KeyError::SegmentTooLong { index } => {
                write!(f, "segment {index} is longer than {MAX_SEGMENT_LEN} bytes")
            }
            KeyError::BadChar { ch, offset } => write!(
                f,
                "character {ch:?} at byte {offset} is not allowed: segments are lower-case \
                 letters, digits, `_` and `-`, starting with a letter or digit"
            ),
            KeyError::ReservedNamespace { namespace } => {
                write!(f, "the namespace `{namespace}` is reserved by the store")
            }
            KeyError::DeviceName { segment } => {
                write!(f, "`{segment}` is a device name on Windows and cannot be a file name")
            }
        }
    }
}

impl std::error::Error for KeyError {}

impl Key {
    /// Validates `s` as a key.
    pub fn parse(s: &str) -> Result<Key, KeyError> {
        validate(s)?;
        Ok(Key(s.to_owned()))
    }

    /// The key as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The first segment.
    pub fn namespace(&self) -> &str {
        self.0
            .split('.')
            .next()
            .expect("a valid key has at least two segments")
    }

    /// The segments, namespace first.
    pub fn segments(&self) -> impl Iterator<Item = &str> {
        self.0.split('.')
    }

    /// The file's path relative to the store's root, e.g. `layouts/default.json`.
    pub fn relative_path(&self) -> PathBuf {
        let mut segments = self.0.split('.');
        let namespace = segments
            .next()
            .expect("a valid key has at least two segments");
        let mut path = PathBuf::from(namespace_folder(namespace));
        let mut rest: Vec<&str> = segments.collect();
        let file = rest.pop().expect("a valid key has at least two segments");
        for folder in rest {
            path.push(folder);
        }
        path.push(format!("{file}.json"));
        path
    }

    /// The inverse of [`Key::relative_path`]: the key stored at a relative path, if the path is
    /// one a key maps to.
    pub fn from_relative_path(path: &std::path::Path) -> Option<Key> {
        let mut parts = Vec::new();
        for component in path.components() {
            match component {
                std::path::Component::Normal(name) => parts.push(name.to_str()?),
                _ => return None,
            }
        }
        let last = parts.pop()?.strip_suffix(".json")?;
        let folder = parts.first_mut()?;
        *folder = folder_namespace(folder)?;
        parts.push(last);
        Key::parse(&parts.join(".")).ok()
    }
}

/// The namespaces the application's earlier TypeScript service wrote, whose folders may hold
/// its files under dotted names (see [`Key::legacy_relative_path`]).
pub const LEGACY_NAMESPACES: &[&str] = &["layout", "settings", "history", "config"];

impl Key {
    /// Where the application's earlier TypeScript service kept this key, when that differs from
    /// [`Key::relative_path`]: it dropped the namespace and kept the other segments, dots and
    /// all, as the file name (`history.conversations.ab12` →
    /// `history/conversations.ab12.json`). `None` for keys of two segments (the same path) and
    /// for namespaces that service did not use ([`LEGACY_NAMESPACES`]).
    pub fn legacy_relative_path(&self) -> Option<PathBuf> {
        let (namespace, rest) = self.0.split_once('.')?;
        if !rest.contains('.') || !LEGACY_NAMESPACES.contains(&namespace) {
            return None;
        }
        Some(PathBuf::from(namespace_folder(namespace)).join(format!("{rest}.json")))
    }

    /// The inverse of [`Key::legacy_relative_path`]: the key a file of the legacy service at
    /// `<folder>/<name>` holds, if it is one.
    pub fn from_legacy_file(folder: &str, name: &str) -> Option<Key> {
        let namespace = folder_namespace(folder)?;
        let stem = name.strip_suffix(".json")?;
        if !stem.contains('.') || stem.starts_with('.') || !LEGACY_NAMESPACES.contains(&namespace) {
            return None;
        }
        Key::parse(&format!("{namespace}.{stem}")).ok()
    }
}

/// The folder a namespace lives in: `layout` → `layouts`, anything else its own name.
pub fn namespace_folder(namespace: &str) -> &str {
    match namespace {
        "layout" => "layouts",
        other => other,
    }
}

/// The namespace a top-level folder holds, or `None` for a folder that holds no keys
/// (`backups`, `.statevault`, or a folder whose name is not a namespace).
pub fn folder_namespace(folder: &str) -> Option<&str> {
    match folder {
        "layouts" => Some("layout"),
        "layout" | "backups" => None,
        other if validate_segment(other, 0, 0).is_ok() => Some(other),
        _ => None,
    }
}

fn validate(s: &str) -> Result<(), KeyError> {
    if s.is_empty() {
        return Err(KeyError::Empty);
    }
    if s.len() > MAX_KEY_LEN {
        return Err(KeyError::TooLong { len: s.len() });
    }
    let mut offset = 0;
    let mut count = 0;
    for (index, segment) in s.split('.').enumerate() {
        validate_segment(segment, index, offset)?;
        if index == 0 && RESERVED_NAMESPACES.contains(&segment) {
            return Err(KeyError::ReservedNamespace {
                namespace: segment.to_owned(),
            });
        }
        offset += segment.len() + 1;
        count += 1;
    }
    if count < 2 {
        return Err(KeyError::NoNamespace);
    }
    Ok(())
}

fn validate_segment(segment: &str, index: usize, offset: usize) -> Result<(), KeyError> {
    if segment.is_empty() {
        return Err(KeyError::EmptySegment);
    }
    if segment.len() > MAX_SEGMENT_LEN {
        return Err(KeyError::SegmentTooLong { index });
    }
    for (i, ch) in segment.char_indices() {
        let ok = match ch {
            'a'..='z' | '0'..='9' => true,
            '_' | '-' => i > 0,
            _ => false,
        };
        if !ok {
            return Err(KeyError::BadChar {
                ch,
                offset: offset + i,
            });
        }
    }
    if WINDOWS_DEVICE_NAMES.contains(&segment) {
        return Err(KeyError::DeviceName {
            segment: segment.to_owned(),
        });
    }
    Ok(())
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Key({})", self.0)
    }
}

impl AsRef<str> for Key {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl std::str::FromStr for Key {
    type Err = KeyError;
    fn from_str(s: &str) -> Result<Key, KeyError> {
        Key::parse(s)
    }
}

impl TryFrom<&str> for Key {
    type Error = KeyError;
    fn try_from(s: &str) -> Result<Key, KeyError> {
        Key::parse(s)
    }
}

impl TryFrom<&String> for Key {
    type Error = KeyError;
    fn try_from(s: &String) -> Result<Key, KeyError> {
        Key::parse(s)
    }
}

impl TryFrom<String> for Key {
    type Error = KeyError;
    fn try_from(s: String) -> Result<Key, KeyError> {
        validate(&s)?;
        Ok(Key(s))
    }
}

impl From<&Key> for Key {
    fn from(k: &Key) -> Key {
        k.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn check(key: &str, expected: Option<&str>) {
        match (Key::parse(key), expected) {
            (Ok(k), Some(path)) => assert_eq!(k.relative_path(), Path::new(path), "{key:?}"),
            (Err(_), None) => {}
            (got, want) => panic!("{key:?}: got {got:?}, want {want:?}"),
        }
    }

    #[test]
    fn valid_keys_map_to_their_folders() {
        check("layout.default", Some("layouts/default.json"));
        check("settings.preferences", Some("settings/preferences.json"));
        check("history.conversations", Some("history/conversations.json"));
        check(
            "history.conversations.ab12",
            Some("history/conversations/ab12.json"),
        );
        check("config.app", Some("config/app.json"));
        check("plugins.x-1_y", Some("plugins/x-1_y.json"));
        check("a.b", Some("a/b.json"));
        check("0.9", Some("0/9.json"));
    }

    #[test]
    fn the_path_maps_back_to_the_key() {
        for key in [
            "layout.default",
            "history.conversations.ab12",
            "config.app",
            "x.y.z.w",
        ] {
            let k = Key::parse(key).unwrap();
            assert_eq!(Key::from_relative_path(&k.relative_path()), Some(k));
        }
        assert_eq!(Key::from_relative_path(Path::new("layout/x.json")), None);
        assert_eq!(Key::from_relative_path(Path::new("backups/x.json")), None);
        assert_eq!(Key::from_relative_path(Path::new("layouts/x.txt")), None);
        assert_eq!(Key::from_relative_path(Path::new("layouts/.x.json")), None);
    }

    #[test]
    fn errors_say_why() {
        assert_eq!(Key::parse(""), Err(KeyError::Empty));
        assert_eq!(Key::parse("settings"), Err(KeyError::NoNamespace));
        assert_eq!(Key::parse("a..b"), Err(KeyError::EmptySegment));
        assert_eq!(
            Key::parse("a.B"),
            Err(KeyError::BadChar { ch: 'B', offset: 2 })
        );
        assert!(matches!(
            Key::parse("backups.x"),
            Err(KeyError::ReservedNamespace { .. })
        ));
        assert!(
            Key::parse("x.con")
                .unwrap_err()
                .to_string()
                .contains("device")
        );
    }
}
