//! `scalene-lsp mcp` bridged to a live editor session: stdio MCP in, the session's streamable HTTP
//! endpoint out, message by message, so the agent shares the editor's engine and profiles.
//!
//! A transport-level proxy (it does not interpret MCP beyond what HTTP needs): each JSON-RPC message
//! from stdin is POSTed with the session's bearer token and the headers the HTTP transport requires
//! (`MCP-Protocol-Version`, `Mcp-Method`, `Mcp-Name`, `Mcp-Session-Id`); every message of the answer
//! (JSON or an SSE stream: progress, the response) goes to stdout as one line. A
//! `notifications/cancelled` closes the cancelled request's HTTP stream, which is how the HTTP
//! transport cancels a request. Sessions of the `initialize` era also get the GET stream for
//! server-initiated notifications, and a DELETE at the end.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Full};
use hyper::Request;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

use super::McpError;
use super::discovery::SessionInfo;

const PROTOCOL_VERSION_META: &str = "io.modelcontextprotocol/protocolVersion";

#[derive(Clone)]
struct Upstream {
    /// host:port
    authority: String,
    path: String,
    token: String,
    url: String,
}

impl Upstream {
    fn parse(info: &SessionInfo) -> Result<Upstream, McpError> {
        let rest = info.url.strip_prefix("http://").ok_or_else(|| McpError::Bridge {
            message: format!("the session's URL {:?} is not an http:// URL", info.url),
        })?;
        let (authority, path) = match rest.split_once('/') {
            Some((authority, path)) => (authority.to_string(), format!("/{path}")),
            None => (rest.to_string(), "/".to_string()),
        };
        Ok(Upstream { authority, path, token: info.token.clone(), url: info.url.clone() })
    }
}

#[derive(Default)]
struct State {
    session_id: Option<String>,
    protocol_version: Option<String>,
    in_flight: HashMap<String, tokio::task::AbortHandle>,
    get_stream: Option<tokio::task::AbortHandle>,
}

type Shared = Arc<Mutex<State>>;

fn lock(state: &Shared) -> std::sync::MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|poison| poison.into_inner())
}

/// A header value for `Mcp-Name` (Base64-wrapped when it would not survive as a header).
fn header_value(value: &str) -> String {
    use base64::Engine;
    let needs_base64 = value.starts_with([' ', '\t'])
        || value.ends_with([' ', '\t'])
        || !value.chars().all(|c| (' '..='~').contains(&c))
        || (value.starts_with("=?base64?") && value.ends_with("?="));
    if !needs_base64 {
        value.to_string()
    } else {
        format!("=?base64?{}?=", base64::prelude::BASE64_STANDARD.encode(value))
    }
}

fn request_key(id: &Value) -> String {
    id.to_string()
}

/// The bridge's own JSON-RPC error for a request it could not deliver.
fn error_line(id: &Value, message: String) -> String {
    json!({"jsonrpc": "2.0", "id": id, "error": {"code": -32603, "message": message}}).to_string()
}

/// Extracts complete SSE events from `buffer`; returns their `data` payloads.
fn drain_sse(buffer: &mut String) -> Vec<String> {
    let mut out = Vec::new();
    loop {
        let normalized = buffer.replace("\r\n", "\n");
        if normalized.len() != buffer.len() {
            *buffer = normalized;
        }
        let Some(end) = buffer.find("\n\n") else { break };
        let event: String = buffer.drain(..end + 2).collect();
        let data: Vec<&str> = event
            .lines()
            .filter_map(|line| line.strip_prefix("data:"))
            .map(|data| data.strip_prefix(' ').unwrap_or(data))
            .collect();
        let data = data.join("\n");
        if !data.trim().is_empty() {
            out.push(data);
        }
    }
    out
}

/// Sends one HTTP request to the session and streams each JSON-RPC message of the answer to `out`.
/// Returns the response status and headers, or a connection error.
async fn exchange(
    target: &Upstream,
    request: Request<http_body_util::combinators::BoxBody<Bytes, std::convert::Infallible>>,
    out: &mpsc::UnboundedSender<String>,
    on_headers: impl FnOnce(&hyper::HeaderMap),
) -> Result<(hyper::StatusCode, String), String> {
    let stream = tokio::net::TcpStream::connect(&target.authority).await.map_err(|err| err.to_string())?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.map_err(|err| err.to_string())?;
    // The connection lives exactly as long as this exchange: aborting the exchange closes the socket,
    // which is how the HTTP transport learns that a request was cancelled.
    let connection = tokio::spawn(connection);
    let _close = AbortOnDrop(connection.abort_handle());
    let response = sender.send_request(request).await.map_err(|err| err.to_string())?;
    let status = response.status();
    on_headers(response.headers());
    let is_sse = response
        .headers()
        .get(hyper::header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("text/event-stream"));
    let mut body = response.into_body();
    let mut buffer = String::new();
    let mut raw = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|err| err.to_string())?;
        let Ok(data) = frame.into_data() else { continue };
        if is_sse && status.is_success() {
            buffer.push_str(&String::from_utf8_lossy(&data));
            for message in drain_sse(&mut buffer) {
                let _ = out.send(message);
            }
        } else {
            raw.extend_from_slice(&data);
        }
    }
    let text = String::from_utf8_lossy(&raw).into_owned();
    if status.is_success() && !is_sse && !text.trim().is_empty() {
        let _ = out.send(text.trim().to_string());
        return Ok((status, String::new()));
    }
    Ok((status, text))
}

struct AbortOnDrop(tokio::task::AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The HTTP request carrying one message; an error (a header the client's message would make invalid,
/// e.g. a protocol version with a control character) is the reason, for an invalid-request answer.
fn post_request(
    target: &Upstream,
    state: &Shared,
    message: &Value,
    body: String,
) -> Result<Request<http_body_util::combinators::BoxBody<Bytes, std::convert::Infallible>>, String> {
    let (session_id, negotiated) = {
        let state = lock(state);
        (state.session_id.clone(), state.protocol_version.clone())
    };
    let method = message.get("method").and_then(Value::as_str);
    let params = message.get("params");
    let version = params
        .and_then(|params| params.get("_meta"))
        .and_then(|meta| meta.get(PROTOCOL_VERSION_META))
        .and_then(Value::as_str)
        .map(str::to_string)
        .or(negotiated);
    let mut builder = Request::post(&target.path)
        .header(hyper::header::HOST, &target.authority)
        .header(hyper::header::AUTHORIZATION, format!("Bearer {}", target.token))
        .header(hyper::header::CONTENT_TYPE, "application/json")
        .header(hyper::header::ACCEPT, "application/json, text/event-stream");
    if let Some(session_id) = session_id {
        builder = builder.header("Mcp-Session-Id", session_id);
    }
    if let Some(version) = version.filter(|_| method != Some("initialize")) {
        builder = builder.header("MCP-Protocol-Version", version);
    }
    if let Some(method) = method {
        builder = builder.header("Mcp-Method", header_value(method));
        let name_key = match method {
            "tools/call" | "prompts/get" => Some("name"),
            "resources/read" | "resources/subscribe" | "resources/unsubscribe" => Some("uri"),
            "tasks/get" | "tasks/update" | "tasks/cancel" => Some("taskId"),
            _ => None,
        };
        if let Some(name) = name_key.and_then(|key| params?.get(key)?.as_str()) {
            builder = builder.header("Mcp-Name", header_value(name));
        }
    }
    builder.body(Full::new(Bytes::from(body)).boxed()).map_err(|err| {
        format!(
            "the message cannot be sent over HTTP ({err}): a header made from it is invalid, e.g. `_meta` \
             `{PROTOCOL_VERSION_META}` with a control character. Fix: send a protocol version such as \"2025-06-18\"."
        )
    })
}

/// Forwards one message from the client. Requests run concurrently (their answers stream back to
/// stdout as they come); notifications and responses are delivered in order before the next message,
/// so that `notifications/initialized` reaches the session before any later request (and, for
/// `initialize`-era sessions, after the GET stream for server notifications is open).
async fn forward(target: &Upstream, state: &Shared, out: &mpsc::UnboundedSender<String>, line: String) {
    let message: Value = match serde_json::from_str(&line) {
        Ok(message) => message,
        Err(err) => {
            let _ = out.send(json!({"jsonrpc": "2.0", "id": null, "error": {"code": -32700, "message": format!("parse error: {err}")}}).to_string());
            return;
        }
    };
    let method = message.get("method").and_then(Value::as_str).map(str::to_string);
    let id = message.get("id").cloned().filter(|id| !id.is_null());
    if method.as_deref() == Some("notifications/cancelled")
        && let Some(request_id) = message.get("params").and_then(|params| params.get("requestId"))
        && let Some(handle) = lock(state).in_flight.remove(&request_key(request_id))
    {
        handle.abort();
    }
    if method.as_deref() == Some("notifications/initialized") {
        open_get_stream(target, state, out).await;
    }
    let request = match post_request(target, state, &message, line) {
        Ok(request) => request,
        Err(reason) => {
            match &id {
                Some(id) => {
                    let _ = out.send(json!({"jsonrpc": "2.0", "id": id, "error": {"code": -32600, "message": reason}}).to_string());
                }
                None => tracing::warn!("dropped a notification that cannot be forwarded: {reason}"),
            }
            return;
        }
    };
    let is_request = method.is_some() && id.is_some();
    let delivery = deliver(target.clone(), state.clone(), out.clone(), request, id, method.as_deref() == Some("initialize"));
    if is_request {
        let task = tokio::spawn(delivery);
        if let Some(key) = message.get("id").map(request_key) {
            lock(state).in_flight.insert(key, task.abort_handle());
        }
    } else {
        delivery.await;
    }
}

/// POSTs one message and passes the answer on; a request that cannot be delivered gets an error
/// response with the fix.
async fn deliver(
    target: Upstream,
    state: Shared,
    out: mpsc::UnboundedSender<String>,
    request: Request<http_body_util::combinators::BoxBody<Bytes, std::convert::Infallible>>,
    id: Option<Value>,
    is_initialize: bool,
) {
    let header_state = state.clone();
    let result = exchange(&target, request, &out, |headers| {
        if is_initialize && let Some(session) = headers.get("Mcp-Session-Id").and_then(|value| value.to_str().ok()) {
            lock(&header_state).session_id = Some(session.to_string());
        }
    })
    .await;
    if let Some(id) = &id {
        lock(&state).in_flight.remove(&request_key(id));
    }
    match (result, &id) {
        (Ok((status, _)), _) if status.is_success() => {}
        (Ok((status, body)), Some(id)) => {
            let forwarded = serde_json::from_str::<Value>(body.trim())
                .ok()
                .filter(|value| value.get("error").is_some() && value.get("id") == Some(id));
            let line = match forwarded {
                Some(error) => error.to_string(),
                None => error_line(id, format!("the editor session's MCP endpoint answered HTTP {status}: {}", body.trim())),
            };
            let _ = out.send(line);
        }
        (Ok((status, body)), None) => tracing::warn!("the editor session answered HTTP {status} to a notification: {}", body.trim()),
        (Err(err), Some(id)) => {
            let _ = out.send(error_line(
                id,
                format!(
                    "the editor session's MCP endpoint {} is not reachable ({err}); the editor (its language server) may have exited. Fix: restart the MCP server (`scalene-lsp mcp`), or run `scalene-lsp mcp --standalone`.",
                    target.url
                ),
            ));
        }
        (Err(err), None) => tracing::warn!("could not forward a notification to the editor session: {err}"),
    }
}

/// For `initialize`-era sessions: opens the GET stream of server-initiated notifications and waits
/// (up to 2 s) until the session has accepted it.
async fn open_get_stream(target: &Upstream, state: &Shared, out: &mpsc::UnboundedSender<String>) {
    let (session_id, version) = {
        let state = lock(state);
        (state.session_id.clone(), state.protocol_version.clone())
    };
    let Some(session_id) = session_id else { return };
    let mut builder = Request::get(&target.path)
        .header(hyper::header::HOST, &target.authority)
        .header(hyper::header::AUTHORIZATION, format!("Bearer {}", target.token))
        .header(hyper::header::ACCEPT, "text/event-stream")
        .header("Mcp-Session-Id", session_id);
    if let Some(version) = version {
        builder = builder.header("MCP-Protocol-Version", version);
    }
    let Ok(request) = builder.body(Empty::new().boxed()) else {
        tracing::warn!("cannot open the session's notification stream: invalid session id or version header");
        return;
    };
    let target = target.clone();
    let out = out.clone();
    let (ready, accepted) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        match exchange(&target, request, &out, move |_| {
            let _ = ready.send(());
        })
        .await
        {
            Ok((status, body)) if !status.is_success() => tracing::info!("the session's notification stream answered {status}: {}", body.trim()),
            Ok(_) => tracing::debug!("the session's notification stream ended"),
            Err(err) => tracing::info!("the session's notification stream failed: {err}"),
        }
    });
    lock(state).get_stream = Some(task.abort_handle());
    let _ = tokio::time::timeout(std::time::Duration::from_secs(2), accepted).await;
}

/// Notes the negotiated version from an `initialize` result passing to the client.
fn observe_outgoing(state: &Shared, line: &str) {
    if !line.contains("protocolVersion") {
        return;
    }
    if let Ok(message) = serde_json::from_str::<Value>(line)
        && let Some(version) = message.get("result").and_then(|result| result.get("protocolVersion")).and_then(Value::as_str)
        && message.get("result").and_then(|result| result.get("serverInfo")).is_some()
    {
        lock(state).protocol_version = Some(version.to_string());
    }
}

/// True when the session's endpoint accepts a TCP connection (within half a second).
pub async fn reachable(info: &SessionInfo) -> bool {
    let Ok(target) = Upstream::parse(info) else { return false };
    matches!(
        tokio::time::timeout(std::time::Duration::from_millis(500), tokio::net::TcpStream::connect(&target.authority)).await,
        Ok(Ok(_))
    )
}

/// Proxies stdio to the session until stdin closes.
pub async fn run(info: SessionInfo) -> Result<(), McpError> {
    let target = Upstream::parse(&info)?;
    tracing::info!(url = %info.url, pid = info.pid, "bridging stdio MCP to the editor session");
    let state: Shared = Arc::default();
    let (out, mut lines) = mpsc::unbounded_channel::<String>();
    let writer_state = state.clone();
    let writer = tokio::spawn(async move {
        let mut stdout = tokio::io::stdout();
        while let Some(line) = lines.recv().await {
            observe_outgoing(&writer_state, &line);
            let mut bytes = line.replace('\n', " ").into_bytes();
            bytes.push(b'\n');
            if stdout.write_all(&bytes).await.is_err() || stdout.flush().await.is_err() {
                break;
            }
        }
    });
    let mut stdin = tokio::io::BufReader::new(tokio::io::stdin()).lines();
    loop {
        match stdin.next_line().await {
            Ok(Some(line)) if line.trim().is_empty() => continue,
            Ok(Some(line)) => forward(&target, &state, &out, line).await,
            Ok(None) => break,
            Err(err) => {
                tracing::warn!("reading stdin failed: {err}");
                break;
            }
        }
    }
    // The client is gone: stop what it started, and end an initialize-era session.
    let (handles, get_stream, session_id) = {
        let mut state = lock(&state);
        (state.in_flight.drain().map(|(_, handle)| handle).collect::<Vec<_>>(), state.get_stream.take(), state.session_id.take())
    };
    for handle in handles {
        handle.abort();
    }
    if let Some(handle) = get_stream {
        handle.abort();
    }
    if let Some(session_id) = session_id {
        let request = Request::delete(&target.path)
            .header(hyper::header::HOST, &target.authority)
            .header(hyper::header::AUTHORIZATION, format!("Bearer {}", target.token))
            .header("Mcp-Session-Id", session_id)
            .body(Empty::new().boxed());
        if let Ok(request) = request {
            let (sink, _) = mpsc::unbounded_channel();
            let _ = tokio::time::timeout(std::time::Duration::from_secs(2), exchange(&target, request, &sink, |_| {})).await;
        }
    }
    drop(out);
    let _ = tokio::time::timeout(std::time::Duration::from_secs(2), writer).await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sse_events_are_split_into_messages() {
        let mut buffer = String::from("id: 1\nretry: 3000\ndata:\n\nevent: message\ndata: {\"a\":1}\n\ndata: {\"b\"");
        assert_eq!(drain_sse(&mut buffer), vec!["{\"a\":1}".to_string()]);
        buffer.push_str(":2}\r\n\r\n");
        assert_eq!(drain_sse(&mut buffer), vec!["{\"b\":2}".to_string()]);
        assert!(buffer.is_empty());
    }

    #[test]
    fn header_values_are_base64_wrapped_when_needed() {
        assert_eq!(header_value("tools/call"), "tools/call");
        assert_eq!(header_value("scalene://profile/p1/file/é.py"), "=?base64?c2NhbGVuZTovL3Byb2ZpbGUvcDEvZmlsZS/DqS5weQ==?=");
    }
}
