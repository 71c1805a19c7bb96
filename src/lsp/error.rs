//! Errors returned to the client, and the one conversion from engine errors.

use std::borrow::Cow;

use serde_json::json;
use tower_lsp_server::jsonrpc::{Error, ErrorCode};

use crate::engine::EngineError;

/// LSP 3.17's RequestFailed: the request was valid but the work failed.
const REQUEST_FAILED: i64 = -32803;

pub fn invalid_params(message: impl Into<String>) -> Error {
    Error { code: ErrorCode::InvalidParams, message: Cow::Owned(message.into()), data: None }
}

pub fn request_failed(message: impl Into<String>) -> Error {
    Error { code: ErrorCode::ServerError(REQUEST_FAILED), message: Cow::Owned(message.into()), data: None }
}

pub fn engine_error(err: &EngineError) -> Error {
    Error {
        code: ErrorCode::ServerError(REQUEST_FAILED),
        message: Cow::Owned(err.to_string()),
        data: Some(json!({ "kind": err.kind() })),
    }
}

pub fn internal(method: &str) -> Error {
    Error {
        code: ErrorCode::InternalError,
        message: Cow::Owned(format!(
            "scalene-lsp hit an internal error in {method}; it was logged (stderr) and the server goes on"
        )),
        data: None,
    }
}
