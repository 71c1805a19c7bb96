//! What the client can do, resolved once at initialize into the few facts the server acts on. (What the
//! server offers is in server.rs, next to the handlers that implement it.)

use tower_lsp_server::ls_types::ClientCapabilities;

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
    /// The client announced `experimental.scaleneRunStatus: true`: it follows runs by `scalene/runStatus`.
    pub run_status: bool,
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
            line_heat: experimental(caps, "scaleneLineHeat"),
            run_status: experimental(caps, "scaleneRunStatus"),
        }
    }
}

/// `experimental.<name>: true` in the client's capabilities.
fn experimental(caps: &ClientCapabilities, name: &str) -> bool {
    caps.experimental.as_ref().and_then(|experimental| experimental.get(name)).and_then(serde_json::Value::as_bool).unwrap_or(false)
}
