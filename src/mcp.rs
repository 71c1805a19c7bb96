//! The MCP endpoint: the same engine and cache as the LSP server, for agents. Tools (tools.rs),
//! resources (resources.rs), a prompt (prompts.rs) on one handler (server.rs); served over stdio
//! (`scalene-lsp mcp`), over streamable HTTP inside the LSP process (http.rs, token-protected by
//! auth.rs, announced by a discovery file, discovery.rs), or bridged from stdio to a live editor
//! session (bridge.rs). See docs/mcp.md.
//!
//! Architecture Invariant: no MCP type leaves this module; the engine knows nothing about MCP.
//! Architecture Invariant: in stdio mode stdout is the protocol channel; logs go to stderr.

pub mod auth;
pub mod bridge;
pub mod discovery;
pub mod error;
pub mod http;
pub mod params;
pub mod prompts;
pub mod resources;
pub mod server;
pub mod tools;
pub mod views;

use std::path::PathBuf;
use std::sync::{Arc, RwLock};

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

/// Starts the MCP endpoint inside the LSP process, sharing its engine (so profiles made by agents
/// appear in the editor and the editor's profiles are visible to agents).
///
/// - `engine`: the LSP server's engine (`Session::engine`).
/// - `roots`: the workspace folders; keep this `Arc` and update it when the folders change
///   (`workspace/didChangeWorkspaceFolders`): tools may only read and profile files inside them.
/// - `allow_code`: the setting `mcp.allowCode` (the `profile_code` tool; off by default).
/// - `port`: the setting `mcp.port` (0 = an ephemeral port).
///
/// Binds 127.0.0.1 only, makes a fresh 256-bit bearer token, and writes the discovery file
/// `$XDG_RUNTIME_DIR/scalene-lsp/<pid>.json` (`{url, token, roots, pid}`, 0600) so that
/// `scalene-lsp mcp` run in the workspace bridges to this process. The caller announces
/// `RunningMcp::url()` in the initialize result (`experimental.scaleneMcp: {url}`) and sends
/// `scalene/mcpEndpoint {url, token}` to the client, and keeps the `RunningMcp` alive until exit
/// (`shutdown()` at `shutdown`/exit). Must be called inside a tokio runtime.
pub async fn start_in_process(
    engine: Engine,
    roots: SharedRoots,
    allow_code: bool,
    port: u16,
) -> Result<RunningMcp, McpError> {
    let server = ScaleneMcp::new(engine, roots.clone(), allow_code);
    start_http(server, port, true).await
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

/// Options of `scalene-lsp mcp`.
#[derive(Clone, Debug, Default)]
pub struct CliOptions {
    pub standalone: bool,
    pub http: bool,
    pub port: u16,
    pub python: Option<PathBuf>,
    pub allow_code: bool,
}

/// `scalene-lsp mcp`: bridge to a live editor session whose roots contain the current directory, or
/// run an own engine (over stdio, or with `--http` over HTTP until stdin closes).
pub async fn run_cli(options: CliOptions, engine_settings: crate::engine::EngineSettings) -> Result<(), McpError> {
    let cwd = std::env::current_dir().map_err(|err| McpError::Stdio { message: format!("cannot read the current directory: {err}") })?;
    let cwd = cwd.canonicalize().unwrap_or(cwd);
    let mut note = None;
    if !options.standalone && !options.http {
        let found = find_session(&cwd);
        let reachable = match &found {
            Some(info) => bridge::reachable(info).await,
            None => false,
        };
        match found {
            Some(info) if reachable => return bridge::run(info).await,
            Some(info) => {
                tracing::warn!(url = %info.url, pid = info.pid, "the editor session's MCP endpoint does not answer: running an own engine");
                note = Some(format!(
                    "An editor session (pid {}) was found for {}, but its MCP endpoint {} did not answer, so this server runs its own engine: its profiles are not shown in the editor.",
                    info.pid,
                    cwd.display(),
                    info.url
                ));
            }
            None => {
                note = Some(format!(
                    "No editor session (scalene-lsp language server) was found for {}, so this server runs its own engine: its profiles are not shown in the editor, and the editor's profiles are not listed here.",
                    cwd.display()
                ));
            }
        }
    }
    let roots: SharedRoots = Arc::new(RwLock::new(vec![cwd.clone()]));
    let engine = Engine::new(engine_settings);
    let server = ScaleneMcp::with_options(engine.clone(), roots, options.allow_code, options.python.clone(), note);
    if options.http {
        let running = start_http(server, options.port, true).await?;
        let line = serde_json::json!({"url": running.url(), "token": running.token()}).to_string();
        {
            use std::io::Write;
            let mut stdout = std::io::stdout().lock();
            let _ = writeln!(stdout, "{line}");
            let _ = stdout.flush();
        }
        // Serve until stdin closes (the parent process went away or closed the pipe).
        let mut sink = Vec::new();
        let _ = tokio::io::AsyncReadExt::read_to_end(&mut tokio::io::stdin(), &mut sink).await;
        running.shutdown();
        stop_runs(&engine).await;
        return Ok(());
    }
    serve_stdio(server).await
}
