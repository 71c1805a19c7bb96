//! The streamable HTTP endpoint at `http://127.0.0.1:<port>/mcp`: rmcp's `StreamableHttpService`
//! behind the auth middleware (auth.rs), bound to loopback only.
//!
//! 2026-07-28 clients (the official Python SDK) are served statelessly, each request with its own
//! response stream (progress arrives there; closing it cancels the request); older clients get
//! `Mcp-Session-Id` sessions with a GET stream for change notifications (`legacy_session_mode`).

use std::net::Ipv4Addr;
use std::sync::Arc;

use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use tokio_util::sync::CancellationToken;

use super::McpError;
use super::auth;
use super::server::ScaleneMcp;

/// Where the endpoint listens and how to get in. `shutdown` stops it.
#[derive(Clone, Debug)]
pub struct McpEndpoint {
    /// `http://127.0.0.1:<port>/mcp`
    pub url: String,
    /// The bearer token every request must carry.
    pub token: String,
    pub shutdown: CancellationToken,
}

/// Serves `server` over streamable HTTP on 127.0.0.1:`port` (0: an ephemeral port) until
/// `shutdown` is cancelled. Returns once the socket is bound.
pub async fn serve_http(server: ScaleneMcp, port: u16) -> Result<McpEndpoint, McpError> {
    let token = auth::new_token().map_err(McpError::Token)?;
    crate::engine::redact::register(&token);
    let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, port))
        .await
        .map_err(|source| McpError::Bind { port, source })?;
    let addr = listener.local_addr().map_err(|source| McpError::Bind { port, source })?;
    let shutdown = CancellationToken::new();
    let config = StreamableHttpServerConfig::default()
        .with_legacy_session_mode(true)
        .with_json_response(true)
        .with_allowed_origins(["http://localhost:*", "http://127.0.0.1:*", "http://[::1]:*", "https://localhost:*", "https://127.0.0.1:*", "https://[::1]:*"])
        .with_cancellation_token(shutdown.child_token());
    let service: StreamableHttpService<ScaleneMcp, LocalSessionManager> =
        StreamableHttpService::new(move || Ok(server.for_new_session()), Default::default(), config);
    let expected = auth::Expected { token: Arc::from(token.as_str()), port: addr.port() };
    let router = axum::Router::new()
        .nest_service("/mcp", service)
        .layer(axum::middleware::from_fn_with_state(expected, auth::guard));
    let stop = shutdown.clone();
    tokio::spawn(async move {
        if let Err(err) = axum::serve(listener, router).with_graceful_shutdown(stop.cancelled_owned()).await {
            tracing::error!("the MCP HTTP endpoint stopped: {err}");
        }
    });
    let url = format!("http://{addr}/mcp");
    tracing::info!(%url, "MCP endpoint listening");
    Ok(McpEndpoint { url, token, shutdown })
}
