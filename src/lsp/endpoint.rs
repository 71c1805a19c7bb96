//! The agents' endpoint this language server announces (MCP, served by the host on the same engine).
//! The LSP layer knows it only through this interface: the host hands `Backend` an `EndpointStarter`,
//! the server calls it at initialize with the settings it read (`mcp.*`), announces the URL in the
//! initialize result (`experimental.scaleneMcp`) and sends `scalene/mcpEndpoint {url, token}` after
//! `initialized`, tells it when the workspace folders change, and stops it at shutdown.

use std::path::PathBuf;
use std::sync::Arc;

use futures::future::BoxFuture;
use tower_lsp_server::ls_types::notification::Notification;

use crate::engine::workspace::SharedRoots;

/// What the endpoint is started with (the `mcp.*` settings and the session's workspace roots, which it
/// keeps following).
#[derive(Clone, Debug)]
pub struct EndpointRequest {
    /// 0: any free port.
    pub port: u16,
    /// The `profile_code` tool (runs snippets an agent sends).
    pub allow_code: bool,
    /// The interpreter for runs (the `python` setting).
    pub python: Option<PathBuf>,
    pub roots: SharedRoots,
    /// How agents' runs start (the `shortcut` setting).
    pub startup: crate::engine::Startup,
}

/// A running endpoint.
pub trait AgentEndpoint: Send + Sync {
    fn url(&self) -> &str;
    /// The bearer token agents need (never logged).
    fn token(&self) -> &str;
    /// The workspace roots changed: re-announce them (e.g. rewrite the discovery file).
    fn roots_changed(&mut self);
    /// Stops serving.
    fn shutdown(self: Box<Self>);
}

/// Starts an endpoint; the error is the message to show (it already says what to do).
pub type EndpointStarter =
    Arc<dyn Fn(EndpointRequest) -> BoxFuture<'static, Result<Box<dyn AgentEndpoint>, String>> + Send + Sync>;

/// `scalene/mcpEndpoint {url, token}`: tells the editor where agents reach this session's profiles.
pub enum McpEndpointNotification {}

impl Notification for McpEndpointNotification {
    type Params = serde_json::Value;
    const METHOD: &'static str = "scalene/mcpEndpoint";
}
