//! The format of a key's file, as callers see it.

use serde::{Serialize, Serializer};
use statevault_codec::Format;
use statevault_schema::contract::SaveOptions;

/// How a key's file is stored, read from its header without keys.
///
/// It serializes as its [name](FileFormat::name) (`"compressed+encrypted"`), as the command
/// line's JSON output prints it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FileFormat {
    /// Plain JSON with a checksum in its header.
    Plain,
    /// The binary envelope: compressed, encrypted, or both.
    Envelope {
        /// Gzip inside.
        compressed: bool,
        /// AES-256-GCM-SIV inside.
        encrypted: bool,
    },
    /// A file of the earlier TypeScript service, read as it is.
    Legacy,
    /// Not a format this program reads (damaged, or written by something else).
    Unreadable,
}

impl FileFormat {
    /// Whether the file is encrypted.
    pub fn is_encrypted(self) -> bool {
        matches!(
            self,
            FileFormat::Envelope {
                encrypted: true,
                ..
            }
        )
    }

    /// Whether the file is compressed.
    pub fn is_compressed(self) -> bool {
        matches!(
            self,
            FileFormat::Envelope {
                compressed: true,
                ..
            }
        )
    }

    /// The short name: `plain`, `compressed`, `encrypted`, `compressed+encrypted`, `legacy`
    /// or `unreadable`.
    pub fn name(self) -> &'static str {
        match self {
            FileFormat::Plain => "plain",
            FileFormat::Legacy => "legacy",
            FileFormat::Unreadable => "unreadable",
            FileFormat::Envelope {
                compressed: true,
                encrypted: true,
            } => "compressed+encrypted",
            FileFormat::Envelope {
                encrypted: true, ..
            } => "encrypted",
            FileFormat::Envelope { .. } => "compressed",
        }
    }

    /// The save options that reproduce this format when the file is rewritten.
    pub(crate) fn save_options(self) -> SaveOptions {
        match self {
            FileFormat::Envelope {
                compressed,
                encrypted,
            } => SaveOptions {
                encrypt: Some(encrypted),
                compress: Some(compressed),
                backup: None,
            },
            _ => SaveOptions::default(),
        }
    }
}

impl From<&Format> for FileFormat {
    fn from(format: &Format) -> FileFormat {
        match format {
            Format::Plain => FileFormat::Plain,
            Format::Legacy => FileFormat::Legacy,
            Format::Envelope { .. } => FileFormat::Envelope {
                compressed: format.is_compressed(),
                encrypted: format.is_encrypted(),
            },
            _ => FileFormat::Unreadable,
        }
    }
}

impl std::fmt::Display for FileFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for FileFormat {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::FileFormat;

    #[test]
    fn each_format_has_its_name_and_reproducing_options() {
        let envelope = |compressed, encrypted| FileFormat::Envelope {
            compressed,
            encrypted,
        };
        for (format, name, encrypt, compress) in [
            (FileFormat::Plain, "plain", None, None),
            (FileFormat::Legacy, "legacy", None, None),
            (envelope(true, false), "compressed", Some(false), Some(true)),
            (envelope(false, true), "encrypted", Some(true), Some(false)),
            (
                envelope(true, true),
                "compressed+encrypted",
                Some(true),
                Some(true),
            ),
        ] {
            assert_eq!(format.name(), name);
            assert_eq!(serde_json::to_value(format).unwrap(), name);
            let options = format.save_options();
            assert_eq!((options.encrypt, options.compress), (encrypt, compress));
            assert_eq!(format.is_encrypted(), encrypt == Some(true));
            assert_eq!(format.is_compressed(), compress == Some(true));
        }
    }
}
