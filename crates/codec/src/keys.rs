//! Data keys, key sets and their text form (used by the keychain secret, key files and
//! `STATEVAULT_KEY`).

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use zeroize::Zeroizing;

use crate::error::Error;
use crate::types::KeyId;

/// The length of a data key: AES-256.
pub const KEY_LEN: usize = 32;

/// One 256-bit data key and its id. The bytes live in a zeroizing buffer and are never printed.
#[derive(Clone)]
pub struct DataKey {
    id: KeyId,
    bytes: Zeroizing<[u8; KEY_LEN]>,
}

impl DataKey {
    /// Wraps existing key bytes. Id 0 is reserved and refused.
    pub fn new(id: KeyId, bytes: Zeroizing<[u8; KEY_LEN]>) -> Result<Self, Error> {
        if id.0 == 0 {
            return Err(Error::InvalidInput {
                detail: "key id 0 is reserved for unencrypted files".into(),
            });
        }
        Ok(DataKey { id, bytes })
    }

    /// A fresh key of 256 bits from the operating system's random number generator.
    pub fn generate(id: KeyId) -> Result<Self, Error> {
        let mut bytes = Zeroizing::new([0u8; KEY_LEN]);
        getrandom::fill(bytes.as_mut_slice()).map_err(Error::Random)?;
        DataKey::new(id, bytes)
    }

    /// This key's id.
    pub fn id(&self) -> KeyId {
        self.id
    }

    /// The raw key bytes, for the cipher.
    pub fn bytes(&self) -> &[u8; KEY_LEN] {
        &self.bytes
    }
}

impl fmt::Debug for DataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DataKey")
            .field("id", &self.id)
            .field("bytes", &"<redacted>")
            .finish()
    }
}

/// The keys of one store: files are encrypted with the current key and decrypted with whichever key
/// they name, so old files stay readable after a rotation.
#[derive(Clone)]
pub struct KeySet {
    current: KeyId,
    keys: Vec<DataKey>,
}

impl KeySet {
    /// A key set of one key, which is current.
    pub fn single(key: DataKey) -> Self {
        KeySet {
            current: key.id,
            keys: vec![key],
        }
    }

    /// A key set from several keys. Ids must be distinct and `current` must be one of them.
    pub fn new(keys: Vec<DataKey>, current: KeyId) -> Result<Self, Error> {
        let mut ids: Vec<u32> = keys.iter().map(|k| k.id.0).collect();
        ids.sort_unstable();
        if let Some(w) = ids.windows(2).find(|w| w[0] == w[1]) {
            return Err(Error::InvalidInput {
                detail: format!("key id {} appears twice", w[0]),
            });
        }
        if !keys.iter().any(|k| k.id == current) {
            return Err(Error::InvalidInput {
                detail: format!("the current key {current} is not in the key set"),
            });
        }
        let mut keys = keys;
        keys.sort_by_key(|k| k.id);
        Ok(KeySet { current, keys })
    }

    /// The key new files are encrypted with.
    pub fn current(&self) -> &DataKey {
        self.get(self.current)
            .expect("KeySet's constructors guarantee that the current key is in the set")
    }

    /// The id of the current key.
    pub fn current_id(&self) -> KeyId {
        self.current
    }

    /// The key with this id, if the set holds it.
    pub fn get(&self, id: KeyId) -> Option<&DataKey> {
        self.keys.iter().find(|k| k.id == id)
    }

    /// Every key, in ascending id order.
    pub fn keys(&self) -> &[DataKey] {
        &self.keys
    }

    /// Every key id, in ascending order.
    pub fn ids(&self) -> Vec<KeyId> {
        self.keys.iter().map(|k| k.id).collect()
    }

    /// A copy of this set with a fresh random key, one past the highest id, made current.
    pub fn rotated(&self) -> Result<KeySet, Error> {
        let next = self
            .keys
            .iter()
            .map(|k| k.id.0)
            .max()
            .unwrap_or(0)
            .checked_add(1)
            .ok_or_else(|| Error::InvalidInput {
                detail: "key ids are exhausted".into(),
            })?;
        let key = DataKey::generate(KeyId(next))?;
        let mut keys = self.keys.clone();
        keys.push(key);
        Ok(KeySet {
            current: KeyId(next),
            keys,
        })
    }

    /// A copy of this set without key `id`. The current key cannot be removed; removing an id the set
    /// does not hold is a no-op.
    pub fn without(&self, id: KeyId) -> Result<KeySet, Error> {
        if id == self.current {
            return Err(Error::KeyInUse { key_id: id });
        }
        let keys = self.keys.iter().filter(|k| k.id != id).cloned().collect();
        Ok(KeySet {
            current: self.current,
            keys,
        })
    }

    /// The text form of this key set (see `docs/file-format.md`, "Key sets"), in a zeroizing buffer.
    pub fn to_text(&self) -> Zeroizing<String> {
        let mut out = Zeroizing::new(String::with_capacity(64 + self.keys.len() * 52));
        out.push_str("# statevault key set v1: keep secret\n");
        out.push_str(&format!("current={}\n", self.current.0));
        for key in &self.keys {
            out.push_str(&key.id.0.to_string());
            out.push(':');
            // Encode into a zeroizing buffer so no copy of the key outlives this call.
            let mut b64 = Zeroizing::new([0u8; 44]);
            let n = BASE64
                .encode_slice(key.bytes.as_slice(), b64.as_mut_slice())
                .expect("32 bytes always encode to 44 base64 characters");
            out.push_str(std::str::from_utf8(&b64[..n]).expect("base64 output is ASCII"));
            out.push('\n');
        }
        out
    }

    /// Parses the text form. `origin` names the source in error messages (a path, `STATEVAULT_KEY`,
    /// `keychain`). Error messages never quote key material.
    ///
    /// Grammar, one item per line, surrounding whitespace ignored: blank lines and lines starting with
    /// `#` are skipped; `current=<id>` names the current key (default: the highest id);
    /// `<id>:<base64>` is a key; a bare `<base64>` is key 1 and is only allowed as the only key.
    pub fn from_text(text: &str, origin: &str) -> Result<KeySet, Error> {
        let bad = |line: usize, detail: &str| Error::KeyFormat {
            origin: origin.to_string(),
            detail: format!("line {line}: {detail}"),
        };
        let mut current = None;
        let mut keys = Vec::new();
        let mut bare = false;
        for (i, line) in text.lines().enumerate() {
            let n = i + 1;
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if let Some(v) = line.strip_prefix("current=") {
                if current.is_some() {
                    return Err(bad(n, "`current=` appears twice"));
                }
                current = Some(KeyId(parse_id(v).ok_or_else(|| bad(n, "bad key id"))?));
                continue;
            }
            let (id, b64) = match line.split_once(':') {
                Some((id, b64)) => (parse_id(id).ok_or_else(|| bad(n, "bad key id"))?, b64),
                None => {
                    bare = true;
                    (1, line)
                }
            };
            let bytes = decode_key(b64.trim())
                .ok_or_else(|| bad(n, "a key must be the base64 of exactly 32 bytes"))?;
            keys.push(DataKey::new(KeyId(id), bytes).map_err(|_| bad(n, "key id 0 is reserved"))?);
        }
        if keys.is_empty() {
            return Err(Error::KeyFormat {
                origin: origin.to_string(),
                detail: "no key found".into(),
            });
        }
        if bare && keys.len() > 1 {
            return Err(Error::KeyFormat {
                origin: origin.to_string(),
                detail: "a key without an id is only allowed when it is the only key".into(),
            });
        }
        let current =
            current.unwrap_or_else(|| keys.iter().map(|k| k.id).max().expect("keys is not empty"));
        KeySet::new(keys, current).map_err(|e| Error::KeyFormat {
            origin: origin.to_string(),
            detail: match e {
                Error::InvalidInput { detail } => detail,
                other => other.to_string(),
            },
        })
    }
}

impl fmt::Debug for KeySet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeySet")
            .field("current", &self.current)
            .field("ids", &self.ids())
            .finish()
    }
}

/// A key id: a positive decimal number without sign or leading zeros.
fn parse_id(s: &str) -> Option<u32> {
    let s = s.trim();
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) || (s.len() > 1 && s.starts_with('0'))
    {
        return None;
    }
    s.parse().ok().filter(|&id| id != 0)
}

/// Decodes standard padded base64 of exactly 32 bytes into a zeroizing buffer.
fn decode_key(b64: &str) -> Option<Zeroizing<[u8; KEY_LEN]>> {
    // 32 bytes are 44 characters; decoding into a larger zeroizing buffer lets a longer input be
    // detected instead of overflowing, and nothing is left behind in freed memory.
    if b64.len() != 44 {
        return None;
    }
    let mut buf = Zeroizing::new([0u8; 48]);
    let n = BASE64
        .decode_slice(b64.as_bytes(), buf.as_mut_slice())
        .ok()?;
    if n != KEY_LEN {
        return None;
    }
    let mut key = Zeroizing::new([0u8; KEY_LEN]);
    key.copy_from_slice(&buf[..KEY_LEN]);
    Some(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(id: u32, fill: u8) -> DataKey {
        DataKey::new(KeyId(id), Zeroizing::new([fill; KEY_LEN])).unwrap()
    }

    #[test]
    fn debug_never_prints_key_bytes() {
        let set = KeySet::single(key(1, 0xAB));
        let dbg = format!("{:?} {:?}", set, set.current());
        assert!(
            !dbg.contains("171") && !dbg.to_lowercase().contains("ab, "),
            "{dbg}"
        );
        assert!(dbg.contains("redacted"), "{dbg}");
    }

    #[test]
    fn text_round_trip_keeps_ids_and_current() {
        let set = KeySet::new(vec![key(1, 1), key(2, 2), key(5, 5)], KeyId(2)).unwrap();
        let back = KeySet::from_text(&set.to_text(), "test").unwrap();
        assert_eq!(back.ids(), vec![KeyId(1), KeyId(2), KeyId(5)]);
        assert_eq!(back.current_id(), KeyId(2));
        for k in set.keys() {
            assert_eq!(back.get(k.id()).unwrap().bytes(), k.bytes());
        }
    }

    /// One `check(text, expected)` per grammar rule: `Ok((ids, current))` or the error detail.
    fn check(text: &str, expected: Result<(&[u32], u32), &str>) {
        let got = KeySet::from_text(text, "test").map(|s| {
            (
                s.ids().into_iter().map(|i| i.0).collect::<Vec<_>>(),
                s.current_id().0,
            )
        });
        match (got, expected) {
            (Ok((ids, cur)), Ok((eids, ecur))) => {
                assert_eq!((ids.as_slice(), cur), (eids, ecur), "{text:?}")
            }
            (Err(Error::KeyFormat { detail, .. }), Err(e)) => {
                assert!(detail.contains(e), "{text:?}: {detail:?} lacks {e:?}")
            }
            (got, expected) => panic!("{text:?}: got {got:?}, expected {expected:?}"),
        }
    }

    const K: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";

    #[test]
    fn key_set_grammar() {
        check(K, Ok((&[1], 1)));
        check(&format!("\n  {K}  \n\n"), Ok((&[1], 1)));
        check(&format!("# comment\n1:{K}\n3:{K}\n"), Ok((&[1, 3], 3)));
        check(&format!("current=1\n1:{K}\n3:{K}\n"), Ok((&[1, 3], 1)));
        check("", Err("no key found"));
        check("# only a comment", Err("no key found"));
        check(&format!("{K}\n2:{K}"), Err("only key"));
        check(&format!("0:{K}"), Err("bad key id"));
        check(&format!("01:{K}"), Err("bad key id"));
        check(&format!("-1:{K}"), Err("bad key id"));
        check(&format!("1:{K}\n1:{K}"), Err("appears twice"));
        check(&format!("current=2\n1:{K}"), Err("not in the key set"));
        check(
            &format!("current=1\ncurrent=1\n1:{K}"),
            Err("appears twice"),
        );
        check("1:AAAA", Err("exactly 32 bytes"));
        check(&format!("1:{K}A"), Err("exactly 32 bytes"));
        check(
            "1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==",
            Err("exactly 32 bytes"),
        );
        check(
            "1:!!!!AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
            Err("exactly 32 bytes"),
        );
    }

    proptest::proptest! {
        #[test]
        fn any_key_set_survives_its_text_form(
            entries in proptest::collection::btree_map(1u32.., proptest::array::uniform32(0u8..), 1..6),
            pick in proptest::sample::select(vec![0usize, 1, 2, 3, 4, 5]),
        ) {
            let keys: Vec<DataKey> = entries
                .iter()
                .map(|(&id, bytes)| DataKey::new(KeyId(id), Zeroizing::new(*bytes)).unwrap())
                .collect();
            let current = keys[pick % keys.len()].id();
            let set = KeySet::new(keys, current).unwrap();
            let back = KeySet::from_text(&set.to_text(), "test").unwrap();
            proptest::prop_assert_eq!(back.current_id(), current);
            proptest::prop_assert_eq!(back.ids(), set.ids());
            for k in set.keys() {
                proptest::prop_assert_eq!(back.get(k.id()).unwrap().bytes(), k.bytes());
            }
        }

        #[test]
        fn arbitrary_text_never_panics_the_key_set_parser(text in "\\PC{0,200}|[0-9:=a-zA-Z+/\n]{0,200}") {
            let _ = KeySet::from_text(&text, "test");
        }
    }

    #[test]
    fn rotation_adds_a_current_key_and_keeps_the_old() {
        let set = KeySet::single(DataKey::generate(KeyId(1)).unwrap());
        let r = set.rotated().unwrap();
        assert_eq!(r.ids(), vec![KeyId(1), KeyId(2)]);
        assert_eq!(r.current_id(), KeyId(2));
        assert_ne!(
            r.get(KeyId(1)).unwrap().bytes(),
            r.get(KeyId(2)).unwrap().bytes()
        );
        assert_eq!(r.get(KeyId(1)).unwrap().bytes(), set.current().bytes());
        assert!(matches!(
            r.without(KeyId(2)),
            Err(Error::KeyInUse { key_id: KeyId(2) })
        ));
        assert_eq!(r.without(KeyId(1)).unwrap().ids(), vec![KeyId(2)]);
    }
}
