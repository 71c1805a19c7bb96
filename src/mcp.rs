//! The MCP endpoint: the same engine and cache as the LSP server, for agents. Tools (tools.rs),
//! resources (resources.rs), a prompt (prompts.rs) on one handler (server.rs); served over stdio
//! (`scalene-lsp mcp`), over streamable HTTP inside the LSP process (http.rs, token-protected by
//! auth.rs, announced by a discovery file, discovery.rs), or bridged from stdio to a live editor
//! session (bridge.rs). See docs/mcp.md.
//!
//! Architecture Invariant: no MCP type leaves this module; the engine knows nothing about MCP.
//! Architecture Invariant: in stdio mode stdout is the protocol channel; logs go to stderr.

pub mod attach;
pub mod auth;
pub mod bridge;
pub mod discovery;
pub mod error;
pub mod http;
pub mod params;
pub mod prompts;
pub mod resources;
pub mod running;
pub mod saved;
pub mod server;
pub mod store;
pub mod suite;
pub mod tools;
pub mod views;

use rmcp::ServiceExt;

pub use discovery::{DiscoveryGuard, SessionInfo, find_session};
pub use http::{McpEndpoint, serve_http};
pub use server::ScaleneMcp;
pub use crate::engine::workspace::SharedRoots;

use crate::engine::Engine;

/// Why the MCP endpoint could not start. Each message names the problem and the fix.
#[derive(Debug, thiserror::Error)]
pub enum McpError {
    #[error("cannot listen on 127.0.0.1:{port} for MCP: {source}. Fix: choose another port (setting mcp.port; 0 picks a free one) or stop the program using it.")]
    Bind { port: u16, source: std::io::Error },
    #[error("cannot make the MCP access token: {0}. Fix: check that the OS random number generator (getrandom) works.")]
    Token(std::io::Error),
    #[error("cannot write the MCP discovery file: {0}. Fix: make $XDG_RUNTIME_DIR (or ~/.cache) writable, or set XDG_RUNTIME_DIR to a private directory.")]
    Discovery(std::io::Error),
    #[error("the MCP stdio server failed: {message}")]
    Stdio { message: String },
    #[error("cannot bridge to the editor session: {message}. Fix: run `scalene-lsp mcp --standalone`.")]
    Bridge { message: String },
}

/// The HTTP endpoint running inside a process, with its discovery file.
///
/// Dropping it removes the discovery file but leaves the endpoint serving; call `shutdown()` to stop
/// it.
pub struct RunningMcp {
    pub endpoint: McpEndpoint,
    /// None when the discovery file could not be written (the endpoint still works; see the log).
    pub discovery: Option<DiscoveryGuard>,
    roots: SharedRoots,
}

impl RunningMcp {
    pub fn url(&self) -> &str {
        &self.endpoint.url
    }

    pub fn token(&self) -> &str {
        &self.endpoint.token
    }

    /// Rewrites the discovery file with the current roots (call after the workspace folders change,
    /// so that `scalene-lsp mcp` started in a new folder finds this session).
    pub fn refresh_discovery(&mut self) {
        if self.discovery.is_none() {
            return;
        }
        match discovery::write(&session_info(&self.endpoint, &self.roots)) {
            Ok(guard) => {
                // The new guard owns the same path: the old one must not remove it.
                if let Some(old) = self.discovery.replace(guard) {
                    old.disarm();
                }
            }
            Err(err) => tracing::warn!("{}", McpError::Discovery(err)),
        }
    }

    /// Stops the endpoint (open streams end; runs started from MCP go on, as runs started from the
    /// editor do, until the engine cancels them) and removes the discovery file.
    pub fn shutdown(self) {
        self.endpoint.shutdown.cancel();
        drop(self.discovery);
    }
}

/// Serves `server` over HTTP and (when `announce`) writes the discovery file.
pub async fn start_http(server: ScaleneMcp, port: u16, announce: bool) -> Result<RunningMcp, McpError> {
    let roots = server.shared_roots();
    let endpoint = serve_http(server, port).await?;
    let discovery = if announce {
        match discovery::write(&session_info(&endpoint, &roots)) {
            Ok(guard) => Some(guard),
            Err(err) => {
                tracing::warn!("{}", McpError::Discovery(err));
                None
            }
        }
    } else {
        None
    };
    Ok(RunningMcp { endpoint, discovery, roots })
}

fn session_info(endpoint: &McpEndpoint, roots: &SharedRoots) -> SessionInfo {
    SessionInfo {
        url: endpoint.url.clone(),
        token: endpoint.token.clone(),
        roots: roots.read().unwrap_or_else(|poison| poison.into_inner()).clone(),
        pid: std::process::id(),
    }
}

/// Serves MCP on stdin/stdout until the client closes stdin, then cancels the runs it started.
pub async fn serve_stdio(server: ScaleneMcp) -> Result<(), McpError> {
    let engine = server.engine().clone();
    let running = server
        .serve(rmcp::transport::stdio_pipes())
        .await
        .map_err(|err| McpError::Stdio { message: err.to_string() })?;
    let _ = running.waiting().await;
    stop_runs(&engine).await;
    Ok(())
}

/// Cancels every run and waits for their partial profiles and process groups.
pub async fn stop_runs(engine: &Engine) {
    engine.shutdown(crate::engine::SHUTDOWN_GRACE).await;
}
