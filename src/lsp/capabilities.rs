//! What the server offers and what the client can do (resolved once, at initialize).

use tower_lsp_server::ls_types::{
    ClientCapabilities, CodeActionProviderCapability, CodeLensOptions, ExecuteCommandOptions, HoverProviderCapability,
    InlayHintOptions, InlayHintServerCapabilities, OneOf, ServerCapabilities, TextDocumentSyncCapability, TextDocumentSyncKind,
    TextDocumentSyncOptions,
};

use super::commands::Command;
use super::document::Encoding;

/// The client capabilities the server acts on.
#[derive(Clone, Debug)]
pub struct ResolvedClientCapabilities {
    pub encoding: Encoding,
    pub work_done_progress: bool,
    pub inlay_hint_refresh: bool,
    pub code_lens_refresh: bool,
    pub configuration: bool,
    /// The client resolves inlay hints' tooltips lazily (inlayHint/resolve).
    pub resolve_hint_tooltip: bool,
    /// The client announced `experimental.scaleneLineHeat: true`: it draws heat from `scalene/lineHeat`.
    pub line_heat: bool,
}

impl ResolvedClientCapabilities {
    pub fn new(caps: &ClientCapabilities) -> ResolvedClientCapabilities {
        let workspace = caps.workspace.as_ref();
        ResolvedClientCapabilities {
            encoding: Encoding::negotiate(caps.general.as_ref().and_then(|general| general.position_encodings.as_deref())),
            work_done_progress: caps.window.as_ref().and_then(|window| window.work_done_progress).unwrap_or(false),
            inlay_hint_refresh: workspace
                .and_then(|ws| ws.inlay_hint.as_ref())
                .and_then(|hint| hint.refresh_support)
                .unwrap_or(false),
            code_lens_refresh: workspace
                .and_then(|ws| ws.code_lens.as_ref())
                .and_then(|lens| lens.refresh_support)
                .unwrap_or(false),
            configuration: workspace.and_then(|ws| ws.configuration).unwrap_or(false),
            resolve_hint_tooltip: caps
                .text_document
                .as_ref()
                .and_then(|text| text.inlay_hint.as_ref())
                .and_then(|hint| hint.resolve_support.as_ref())
                .is_some_and(|resolve| resolve.properties.iter().any(|property| property == "tooltip")),
            line_heat: caps
                .experimental
                .as_ref()
                .and_then(|experimental| experimental.get("scaleneLineHeat"))
                .and_then(serde_json::Value::as_bool)
                .unwrap_or(false),
        }
    }
}

pub fn server_capabilities(encoding: Encoding) -> ServerCapabilities {
    ServerCapabilities {
        position_encoding: Some(encoding.kind()),
        text_document_sync: Some(TextDocumentSyncCapability::Options(TextDocumentSyncOptions {
            open_close: Some(true),
            // Full sync: with notifications possibly handled out of order, a whole text per version can
            // be checked against the stored version; incremental edits could not.
            change: Some(TextDocumentSyncKind::FULL),
            ..TextDocumentSyncOptions::default()
        })),
        hover_provider: Some(HoverProviderCapability::Simple(true)),
        inlay_hint_provider: Some(OneOf::Right(InlayHintServerCapabilities::Options(InlayHintOptions {
            resolve_provider: Some(true),
            ..InlayHintOptions::default()
        }))),
        code_action_provider: Some(CodeActionProviderCapability::Simple(true)),
        code_lens_provider: Some(CodeLensOptions { resolve_provider: Some(false) }),
        execute_command_provider: Some(ExecuteCommandOptions {
            commands: Command::all().iter().map(|command| command.id().to_string()).collect(),
            ..ExecuteCommandOptions::default()
        }),
        experimental: Some(serde_json::json!({"scaleneLsp": {"version": env!("CARGO_PKG_VERSION")}})),
        ..ServerCapabilities::default()
    }
}
