//! The LSP server over stdio: a thin layer over the engine. One file per feature; `session.rs` holds
//! the state; `convert.rs` is the only bridge between engine and LSP types. See docs/lsp.md.

pub mod actions;
pub mod baseline;
pub mod calls;
pub mod capabilities;
pub mod client;
pub mod commands;
pub mod compare;
pub mod convert;
pub mod diagnostics;
pub mod document;
pub mod endpoint;
pub mod environment;
pub mod error;
pub mod flame;
pub mod heat;
pub mod hints;
pub mod hotspots;
pub mod hover;
pub mod lenses;
pub mod progress;
pub mod run_status;
pub mod server;
pub mod session;
pub mod settings;
pub mod suite;
pub mod transport;

use tower_lsp_server::LspService;

use crate::engine::Engine;

/// Serves LSP on stdin/stdout until the client exits (or closes stdin), then stops every run.
/// `endpoint_starter` starts the agents' endpoint at initialize (see endpoint.rs); the host provides it.
pub async fn serve_stdio(engine: Engine, endpoint_starter: Option<endpoint::EndpointStarter>) {
    let (service, socket) = LspService::build(|client| server::Backend::new(engine.clone(), client, endpoint_starter.clone()))
        .custom_method("window/workDoneProgress/cancel", server::Backend::work_done_progress_cancel)
        .custom_method("scalene/environment", server::Backend::environment)
        .custom_method("scalene/hotspots", server::Backend::hotspots)
        .custom_method("scalene/tests", server::Backend::tests)
        .custom_method("scalene/flameGraph", server::Backend::flame_graph)
        .finish();
    transport::serve(service, socket, tokio::io::stdin(), tokio::io::stdout()).await;
    // The client may have gone without `shutdown`: stop runs and let them clean up.
    engine.shutdown(crate::engine::SHUTDOWN_GRACE).await;
}
