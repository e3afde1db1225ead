//! Which document a key holds: a map from key patterns to documents.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::builtin::{
    AppConfig, ConversationContext, ConversationHistoryState, EnvironmentConfig, GridLayoutState,
    KeybindingsState, ThemesState, UserPreferencesState,
};
use crate::{Document, DocumentInfo, Error, document_info};

/// The longest key statevault accepts, in bytes (`docs/ARCHITECTURE.md`, "The data directory").
const MAX_KEY_LEN: usize = 255;
/// The longest key segment, in bytes.
const MAX_SEGMENT_LEN: usize = 64;

/// Maps key patterns to documents, so that a value saved under a key (also an untyped one, from
/// the command line) is validated against the right schema.
///
/// A pattern is either an exact key (`settings.preferences`) or a prefix followed by `.*`
/// (`layout.*`), which matches every key with the prefix and one or more further segments (it
/// does not match the bare prefix `layout`). Segments follow the key rules:
/// `[a-z0-9][a-z0-9_-]{0,63}`. When several patterns match a key the most specific wins: an exact
/// key beats any prefix, a longer prefix beats a shorter one.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    /// Exact keys.
    exact: BTreeMap<String, Arc<DocumentInfo>>,
    /// Prefixes, stored without the trailing `.*`.
    prefixes: BTreeMap<String, Arc<DocumentInfo>>,
    /// Every registered document by name.
    by_name: BTreeMap<String, Arc<DocumentInfo>>,
}

impl Registry {
    /// A registry with no patterns.
    pub fn empty() -> Self {
        Self::default()
    }

    /// The built-in documents under their patterns: `layout.*` → [`GridLayoutState`],
    /// `settings.preferences` → [`UserPreferencesState`], `history.conversations` and
    /// `history.conversations.*` → [`ConversationHistoryState`], `config.app` → [`AppConfig`], and
    /// the other files of the module specification's layout: `settings.themes` →
    /// [`ThemesState`], `settings.keybindings` → [`KeybindingsState`], `config.environment` →
    /// [`EnvironmentConfig`], `history.contexts.*` → [`ConversationContext`].
    pub fn builtin() -> Self {
        let mut registry = Self::empty();
        let builtins: [(&str, Arc<DocumentInfo>); 9] = [
            ("layout.*", document_info::<GridLayoutState>()),
            (
                "settings.preferences",
                document_info::<UserPreferencesState>(),
            ),
            (
                "history.conversations",
                document_info::<ConversationHistoryState>(),
            ),
            (
                "history.conversations.*",
                document_info::<ConversationHistoryState>(),
            ),
            ("config.app", document_info::<AppConfig>()),
            ("settings.themes", document_info::<ThemesState>()),
            ("settings.keybindings", document_info::<KeybindingsState>()),
            ("config.environment", document_info::<EnvironmentConfig>()),
            ("history.contexts.*", document_info::<ConversationContext>()),
        ];
        for (pattern, info) in builtins {
            registry
                .insert(pattern, info)
                .expect("the built-in patterns are valid and distinct");
        }
        registry
    }

    /// Maps `pattern` to `T`. Fails if the pattern is malformed or already registered, or if a
    /// different document with `T`'s name is registered. The validator is compiled lazily, on the
    /// first validation.
    pub fn register<T: Document>(&mut self, pattern: &str) -> Result<(), Error> {
        self.insert(pattern, document_info::<T>())
    }

    /// Maps `pattern` to a document described at run time (e.g. by
    /// [`DocumentInfo::from_schema`]). Same rules as [`Registry::register`].
    pub fn register_info(&mut self, pattern: &str, info: Arc<DocumentInfo>) -> Result<(), Error> {
        self.insert(pattern, info)
    }

    fn insert(&mut self, pattern: &str, info: Arc<DocumentInfo>) -> Result<(), Error> {
        let parsed = parse_pattern(pattern)?;
        if let Some(existing) = self.by_name.get(info.name())
            && !Arc::ptr_eq(existing, &info)
            && !existing.same_contract(&info)
        {
            return Err(Error::NameConflict {
                name: info.name().to_owned(),
            });
        }
        let table = match parsed {
            Pattern::Exact(_) => &mut self.exact,
            Pattern::Prefix(_) => &mut self.prefixes,
        };
        let stem = match parsed {
            Pattern::Exact(s) | Pattern::Prefix(s) => s,
        };
        if let Some(existing) = table.get(stem) {
            return Err(Error::DuplicatePattern {
                pattern: pattern.to_owned(),
                existing: existing.name().to_owned(),
            });
        }
        // Keep one shared info per name, so its validator is compiled once.
        let info = Arc::clone(
            self.by_name
                .entry(info.name().to_owned())
                .or_insert_with(|| info),
        );
        table.insert(stem.to_owned(), info);
        Ok(())
    }

    /// The document for `key`, by the most specific matching pattern, or `None` when no pattern
    /// matches (the key then holds untyped JSON).
    pub fn lookup(&self, key: &str) -> Option<&DocumentInfo> {
        self.lookup_pattern(key).map(|(_, info)| info)
    }

    /// Like [`Registry::lookup`], also returning the pattern that matched.
    pub fn lookup_pattern(&self, key: &str) -> Option<(String, &DocumentInfo)> {
        // `layout.` has no segment after the prefix, so `layout.*` must not match it.
        if key.split('.').any(str::is_empty) {
            return None;
        }
        if let Some(info) = self.exact.get(key) {
            return Some((key.to_owned(), info));
        }
        // Walk the key's proper prefixes from the longest; the first registered one wins.
        let mut end = key.len();
        while let Some(dot) = key[..end].rfind('.') {
            let stem = &key[..dot];
            if let Some(info) = self.prefixes.get(stem) {
                return Some((format!("{stem}.*"), info));
            }
            end = dot;
        }
        None
    }

    /// The registered document called `name`.
    pub fn get(&self, name: &str) -> Option<&DocumentInfo> {
        self.by_name.get(name).map(|info| &**info)
    }

    /// The shared handle of the document called `name`, to hand to other registries or threads.
    pub fn get_shared(&self, name: &str) -> Option<Arc<DocumentInfo>> {
        self.by_name.get(name).cloned()
    }

    /// Every registered document, once each, ordered by name.
    pub fn documents(&self) -> impl Iterator<Item = &DocumentInfo> {
        self.by_name.values().map(|info| &**info)
    }

    /// Every pattern and its document: exact keys first, then prefixes, each in byte order.
    pub fn patterns(&self) -> impl Iterator<Item = (String, &DocumentInfo)> {
        let exact = self.exact.iter().map(|(k, v)| (k.clone(), &**v));
        let prefixes = self.prefixes.iter().map(|(k, v)| (format!("{k}.*"), &**v));
        exact.chain(prefixes)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pattern<'a> {
    Exact(&'a str),
    /// The stem without `.*`.
    Prefix(&'a str),
}

fn parse_pattern(pattern: &str) -> Result<Pattern<'_>, Error> {
    let invalid = |reason: &str| Error::InvalidPattern {
        pattern: pattern.to_owned(),
        reason: reason.to_owned(),
    };
    if pattern.len() > MAX_KEY_LEN {
        return Err(invalid("longer than 255 bytes"));
    }
    let (stem, parsed) = match pattern.strip_suffix(".*") {
        Some(stem) => (stem, Pattern::Prefix(stem)),
        None => (pattern, Pattern::Exact(pattern)),
    };
    if stem.is_empty() || pattern == "*" {
        return Err(invalid("a pattern needs at least one segment before `.*`"));
    }
    let mut segments = 0;
    for segment in stem.split('.') {
        check_segment(segment).map_err(invalid)?;
        segments += 1;
    }
    if matches!(parsed, Pattern::Exact(_)) && segments < 2 {
        return Err(invalid(
            "an exact key has at least two segments (namespace.name); use `name.*` for a prefix",
        ));
    }
    Ok(parsed)
}

fn check_segment(segment: &str) -> Result<(), &'static str> {
    let bytes = segment.as_bytes();
    match bytes.first() {
        None => return Err("empty segment"),
        Some(b) if !(b.is_ascii_lowercase() || b.is_ascii_digit()) => {
            return Err(
                "a segment starts with a lower-case letter or digit (`*` only as the whole last segment)",
            );
        }
        Some(_) => {}
    }
    if bytes.len() > MAX_SEGMENT_LEN {
        return Err("a segment is at most 64 bytes");
    }
    if !bytes
        .iter()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'_' || *b == b'-')
    {
        return Err("a segment holds only a-z, 0-9, `_` and `-`");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(pattern: &str, expected: Result<Pattern<'_>, &str>) {
        match (parse_pattern(pattern), expected) {
            (Ok(got), Ok(want)) => assert_eq!(got, want, "{pattern:?}"),
            (Err(Error::InvalidPattern { reason, .. }), Err(want)) => {
                assert!(
                    reason.contains(want),
                    "{pattern:?}: {reason:?} lacks {want:?}"
                )
            }
            (got, want) => panic!("{pattern:?}: got {got:?}, want {want:?}"),
        }
    }

    #[test]
    fn patterns() {
        check("layout.*", Ok(Pattern::Prefix("layout")));
        check(
            "history.conversations.*",
            Ok(Pattern::Prefix("history.conversations")),
        );
        check(
            "settings.preferences",
            Ok(Pattern::Exact("settings.preferences")),
        );
        check("a.b-c_d.9", Ok(Pattern::Exact("a.b-c_d.9")));
        check("settings", Err("at least two segments"));
        check("*", Err("at least one segment"));
        check(".*", Err("at least one segment"));
        check("layout.*.x", Err("starts with"));
        check("layout.x*", Err("only a-z"));
        check("Layout.x", Err("starts with"));
        check("layout..x", Err("empty segment"));
        check("layout.", Err("empty segment"));
        check("layout/x.y", Err("only a-z"));
        check("layout.-x", Err("starts with"));
        check(&format!("a.{}", "b".repeat(65)), Err("at most 64"));
        check(
            &format!("a.{}", "b".repeat(64)),
            Ok(Pattern::Exact(&format!("a.{}", "b".repeat(64)))),
        );
        check(&["abc"; 65].join("."), Err("longer than 255"));
        check(
            &["abc"; 64].join("."),
            Ok(Pattern::Exact(&["abc"; 64].join("."))),
        );
    }
}
