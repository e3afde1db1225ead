//! Errors across the boundary: a JSON payload in the message, with the code from the one table.

use std::collections::HashMap;

use napi::Status;
use napi_derive::napi;
use serde::Serialize;
use statevault::ErrorKind;

/// The prefix of an error message that carries a JSON payload for `index.js`.
pub(crate) const ERROR_MARK: &str = "statevault-error:";

/// The JSON payload of an error, as `index.js` reads it.
#[derive(Serialize)]
pub(crate) struct ErrorPayload<'a> {
    code: &'a str,
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    key: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    path: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    violations: Vec<ViolationPayload<'a>>,
}

#[derive(Serialize)]
pub(crate) struct ViolationPayload<'a> {
    pointer: &'a str,
    message: &'a str,
}

/// An error of the store, with its code from the one table, its key, path and violations.
pub(crate) fn store_error(error: statevault::Error) -> napi::Error {
    let payload = ErrorPayload {
        code: error.kind().code(),
        message: error.to_string(),
        key: error.key(),
        path: error.path().map(|p| p.display().to_string()),
        violations: error
            .violations()
            .iter()
            .map(|v| ViolationPayload {
                pointer: &v.pointer,
                message: &v.message,
            })
            .collect(),
    };
    encode_error(&payload)
}

/// An error the binding itself finds (bad arguments, a closed store), with a code of the table.
pub(crate) fn binding_error(kind: ErrorKind, message: impl Into<String>) -> napi::Error {
    encode_error(&ErrorPayload {
        code: kind.code(),
        message: message.into(),
        key: None,
        path: None,
        violations: Vec::new(),
    })
}

pub(crate) fn encode_error(payload: &ErrorPayload<'_>) -> napi::Error {
    let json = serde_json::to_string(payload).unwrap_or_else(|_| {
        format!(
            r#"{{"code":"{}","message":"unprintable error"}}"#,
            ErrorKind::Other.code()
        )
    });
    napi::Error::new(Status::GenericFailure, format!("{ERROR_MARK}{json}"))
}

/// Text that is not JSON where JSON is required.
pub(crate) fn bad_json(what: &str, error: serde_json::Error) -> napi::Error {
    binding_error(ErrorKind::InvalidInput, format!("{what}: {error}"))
}

/// The codes of the errors `index.js` raises itself, from the one table.
#[napi]
pub fn error_codes() -> HashMap<String, String> {
    [
        ("validation", ErrorKind::Validation),
        ("closed", ErrorKind::Closed),
        ("forbidden", ErrorKind::Forbidden),
        ("invalidInput", ErrorKind::InvalidInput),
        ("invalidKey", ErrorKind::InvalidKey),
        ("migration", ErrorKind::Migration),
        ("other", ErrorKind::Other),
    ]
    .into_iter()
    .map(|(name, kind)| (name.to_owned(), kind.code().to_owned()))
    .collect()
}
