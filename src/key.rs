//! A key's text to a [`Key`], with the facade's error.

use statevault_core::Key;

use crate::error::{Error, Result};

/// Parses a key, turning a refusal into the facade's error with the key's text.
pub(crate) fn parse_key(key: &str) -> Result<Key> {
    Key::parse(key).map_err(|reason| {
        Error::Core(statevault_core::Error::InvalidKey {
            key: key.to_owned(),
            reason,
        })
    })
}
