//! Partial validation: after a patch, check only what it changed.
//!
//! A document that was valid before a patch needs checking only where the patch touched it: each
//! new value against the subschemas that apply where it stands (`$ref`s into `$defs` followed),
//! and each container above a change, or that lost a member, against its constraints on itself
//! (type, `required`, `additionalProperties`, the counts, `uniqueItems`, `contains`, `enum`,
//! `const`). Where a schema on the way uses a keyword whose verdict depends on more than that,
//! the answer is [`Verdict::NotLocal`] and the caller validates the whole document.
//!
//! Appending a message to a long conversation history checks the new message and four small
//! containers, whatever the length of the history.

mod touched;
#[cfg(feature = "validation")]
mod walk;

#[cfg(feature = "validation")]
use serde_json::Value;

#[cfg(feature = "validation")]
use crate::{DocumentInfo, ValidationError};

pub use touched::Touched;
#[cfg(feature = "validation")]
pub(crate) use walk::Cache;

/// What a partial check says of a patched document, the document before the patch having been
/// valid.
#[cfg(feature = "validation")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Verdict {
    /// Valid: what the patch touched satisfies the schema, and nothing else changed.
    Valid,
    /// Invalid: what the patch touched breaks the schema. Validate the whole document for the
    /// violations.
    Invalid,
    /// The schema does not allow a local answer (a keyword on the way whose verdict depends on
    /// more than the touched locations, or the whole document replaced): validate it whole.
    NotLocal,
}

/// How [`DocumentInfo::validate_touched`] validated a document.
#[cfg(feature = "validation")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Checked {
    /// Only what the patch touched.
    Partial,
    /// The whole document.
    Full,
}

#[cfg(feature = "validation")]
impl DocumentInfo {
    /// The partial check of `value`, a document of this type after a patch that touched the
    /// locations in `touched`, on the premise that the document was valid before the patch.
    ///
    /// [`Verdict::Valid`] and [`Verdict::Invalid`] are the verdicts [`DocumentInfo::validate`]
    /// would give; [`Verdict::NotLocal`] says to ask it.
    pub fn check_touched(&self, value: &Value, touched: &Touched) -> Verdict {
        if self.validator().is_err() {
            return Verdict::NotLocal;
        }
        walk::check(self.schema(), self.partial_cache(), value, touched)
    }

    /// Validates `value`, a document of this type after a patch that touched the locations in
    /// `touched`, the document before the patch having been valid: only the touched locations
    /// where [`DocumentInfo::check_touched`] can answer alone, else (and for the violations of
    /// an invalid document) the whole document. Says which it did.
    pub fn validate_touched(
        &self,
        value: &Value,
        touched: &Touched,
    ) -> Result<Checked, ValidationError> {
        match self.check_touched(value, touched) {
            Verdict::Valid => Ok(Checked::Partial),
            Verdict::Invalid | Verdict::NotLocal => self.validate(value).map(|()| Checked::Full),
        }
    }
}
