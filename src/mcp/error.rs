//! `ToolError`: how a tool fails. `Refused` is a tool result with `isError` and a message the model can
//! act on (the tool ran and failed, or refused: outside the workspace, no profile yet, Scalene could
//! not run); `InvalidParams` is a JSON-RPC error for a malformed request. Tool bodies return
//! `Result<Json<T>, ToolError>` and use `?`.

use rmcp::ErrorData;
use rmcp::handler::server::tool::IntoCallToolResult;
use rmcp::model::{CallToolResponse, CallToolResult, ContentBlock};

#[derive(Debug, Clone, PartialEq)]
pub enum ToolError {
    /// The tool ran and failed or refused; the text says why and what to do.
    Refused(String),
    /// The request itself is malformed (a bad id, an impossible range).
    InvalidParams(String),
}

impl ToolError {
    pub fn refused(text: impl Into<String>) -> ToolError {
        ToolError::Refused(text.into())
    }

    pub fn invalid(text: impl Into<String>) -> ToolError {
        ToolError::InvalidParams(text.into())
    }
}

impl IntoCallToolResult for ToolError {
    fn into_call_tool_result(self) -> Result<CallToolResponse, ErrorData> {
        match self {
            ToolError::Refused(text) => Ok(CallToolResult::error(vec![ContentBlock::text(text)]).into()),
            ToolError::InvalidParams(text) => Err(ErrorData::invalid_params(text, None)),
        }
    }
}

/// The start of rmcp's message when a tool's arguments do not deserialize. rmcp turns that into a tool
/// result; `ScaleneMcp::call_tool` turns it back into `invalid_params` naming the expected arguments.
/// A unit test checks that rmcp still writes this text.
pub const DESERIALIZE_PREFIX: &str = "failed to deserialize parameters:";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rmcp_still_words_argument_errors_as_expected() {
        let mut bad = rmcp::model::JsonObject::new();
        bad.insert("path".into(), serde_json::json!(42));
        let err = rmcp::handler::server::tool::parse_json_object::<crate::mcp::params::ProfileParams>(bad).unwrap_err();
        assert!(err.message.starts_with(DESERIALIZE_PREFIX), "rmcp changed its wording: {:?}", err.message);
    }

    #[test]
    fn refusals_are_tool_errors_and_invalid_params_are_protocol_errors() {
        let refused: Result<rmcp::Json<u8>, ToolError> = Err(ToolError::refused("no profile. Fix: profile first"));
        match refused.into_call_tool_result() {
            Ok(CallToolResponse::Complete(result)) => {
                assert_eq!(result.is_error, Some(true));
                assert_eq!(result.content[0].as_text().unwrap().text, "no profile. Fix: profile first");
            }
            other => panic!("{other:?}"),
        }
        let invalid: Result<rmcp::Json<u8>, ToolError> = Err(ToolError::invalid("bad id"));
        assert_eq!(invalid.into_call_tool_result().unwrap_err().code, rmcp::model::ErrorCode::INVALID_PARAMS);
    }
}
