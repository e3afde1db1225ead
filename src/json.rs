//! JSON text as the caller wrote it: checked to be exactly one JSON value with no repeated key
//! in any object, and otherwise kept byte for byte, so that numbers such as
//! `123456789012345678901234567890`, `1e2` or `-0` round-trip exactly.

use std::collections::HashSet;
use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use statevault_core::Key;

use crate::error::{Error, Result};

/// [`check_json_text`] for a value to be saved under `key`: [`Error::InvalidJson`] when it fails.
pub(crate) fn check_json(key: &Key, json: &[u8]) -> Result<()> {
    check_json_text(json).map_err(|source| Error::InvalidJson {
        key: key.to_string(),
        source,
    })
}

/// Checks that `json` is exactly one JSON value (surrounding whitespace allowed) in which no
/// object repeats a key, as [`Store::save_json`](crate::Store::save_json) does. The error
/// carries the line and column.
///
/// ```
/// assert!(statevault::check_json_text(br#"{"a": 1e2}"#).is_ok());
/// let error = statevault::check_json_text(b"{\"a\": 1,\n \"a\": 2}").unwrap_err();
/// assert_eq!((error.line(), error.column()), (2, 4));
/// ```
pub fn check_json_text(json: &[u8]) -> std::result::Result<(), serde_json::Error> {
    let mut deserializer = serde_json::Deserializer::from_slice(json);
    Unique.deserialize(&mut deserializer)?;
    deserializer.end()
}

/// A walk over any JSON value that refuses an object key seen before in the same object.
#[derive(Clone, Copy)]
struct Unique;

impl<'de> DeserializeSeed<'de> for Unique {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(Unique)
    }
}

impl<'de> Visitor<'de> for Unique {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(Unique)?.is_some() {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            if !seen.insert(key.clone()) {
                return Err(de::Error::custom(format_args!(
                    "the key {key:?} appears twice in one object"
                )));
            }
            map.next_value_seed(Unique)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::check_json_text;

    #[test]
    fn one_value_with_unique_keys_passes() {
        for ok in [
            r#"{"a":123456789012345678901234567890,"b":[1e2,-0,{"a":1}]}"#,
            " [] \n",
            "\"text\"",
            r#"{"a":{"a":{"a":null}}}"#,
        ] {
            check_json_text(ok.as_bytes()).unwrap_or_else(|e| panic!("{ok}: {e}"));
        }
    }

    #[test]
    fn a_repeated_key_is_refused_with_its_line_and_column() {
        let error = check_json_text(b"{\n  \"a\": 1,\n  \"a\": 2\n}").unwrap_err();
        assert_eq!((error.line(), error.column()), (3, 5), "{error}");
        assert!(error.to_string().contains("\"a\" appears twice"), "{error}");
    }

    #[test]
    fn anything_but_one_value_is_refused() {
        for bad in ["", "{} {}", "{\"a\":}", "[1,]", "nul"] {
            assert!(check_json_text(bad.as_bytes()).is_err(), "{bad:?}");
        }
    }
}
