//! Who may talk to the HTTP endpoint: a per-process bearer token (256 bits from the OS RNG, compared
//! in constant time) and a DNS-rebinding defence (Host must be a loopback name, Origin absent or
//! loopback). Refusals are 401 / 403 with a body that says what is wrong and what to do.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// A fresh token: 32 bytes from the OS RNG, hex-encoded.
pub fn new_token() -> std::io::Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|err| std::io::Error::other(format!("the OS random number generator failed: {err}")))?;
    Ok(bytes.iter().map(|byte| format!("{byte:02x}")).collect())
}

/// True when `name` (a Host header or an Origin's host, port removed) is a loopback name.
fn is_loopback_host(host: &str) -> bool {
    // Exactly the names rmcp's own Host check accepts (it runs after this one).
    let host = host.trim().to_ascii_lowercase();
    matches!(host.trim_start_matches('[').trim_end_matches(']'), "localhost" | "127.0.0.1" | "::1")
}

/// Splits `host[:port]` / `[v6]:port`.
fn strip_port(authority: &str) -> &str {
    if let Some(rest) = authority.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match authority.rsplit_once(':') {
        Some((host, port)) if port.chars().all(|c| c.is_ascii_digit()) && !host.contains(':') => host,
        _ => authority,
    }
}

/// What the endpoint accepts as its own name: the bound loopback port under `127.0.0.1` or `localhost`.
#[derive(Clone, Debug)]
pub struct Expected {
    pub token: std::sync::Arc<str>,
    pub port: u16,
}

impl Expected {
    fn is_own_authority(&self, authority: &str) -> bool {
        let authority = authority.to_ascii_lowercase();
        [format!("127.0.0.1:{}", self.port), format!("localhost:{}", self.port)].contains(&authority)
    }
}

/// Why a request's Host, target or Origin is refused, if it is: exactly one Host header naming this
/// endpoint (`127.0.0.1:<port>` or `localhost:<port>`), an absolute-form target (`GET http://host/...`)
/// only with that same authority, and an Origin that is absent or loopback.
pub fn check_host_and_origin(headers: &HeaderMap, target: &axum::http::Uri, expected: &Expected) -> Result<(), String> {
    let hosts: Vec<&HeaderValue> = headers.get_all(header::HOST).iter().collect();
    let host = match hosts.as_slice() {
        [] => return Err("the request has no Host header. Fix: send Host: 127.0.0.1:<port> (any HTTP client does this by default).".into()),
        [host] => host.to_str().unwrap_or(""),
        _ => return Err(format!("the request has {} Host headers; exactly one is allowed. Fix: send one Host: 127.0.0.1:{}.", hosts.len(), expected.port)),
    };
    if !expected.is_own_authority(host) {
        return Err(format!(
            "Host {host:?} is not this endpoint (127.0.0.1:{port} or localhost:{port}). It only serves its own loopback \
             address, as a defence against DNS rebinding. Fix: connect to the URL from the discovery file or the editor \
             (http://127.0.0.1:{port}/mcp).",
            port = expected.port
        ));
    }
    if let Some(authority) = target.authority()
        && !expected.is_own_authority(authority.as_str())
    {
        return Err(format!(
            "the request target names another host ({authority}); this endpoint only serves its own address. Fix: send \
             the request to http://127.0.0.1:{}/mcp with an origin-form target (/mcp).",
            expected.port
        ));
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let text = origin.to_str().unwrap_or("");
        let loopback = text
            .strip_prefix("http://")
            .or_else(|| text.strip_prefix("https://"))
            .map(|rest| rest.split('/').next().unwrap_or(""))
            .is_some_and(|authority| is_loopback_host(strip_port(authority)));
        if !loopback {
            return Err(format!(
                "Origin {text:?} is not allowed: only requests without an Origin or from a loopback origin \
                 (http://localhost, http://127.0.0.1) may use this endpoint, so that web pages cannot drive the profiler. \
                 Fix: call the endpoint from a local MCP client, not from a browser page."
            ));
        }
    }
    Ok(())
}

/// Checks `Authorization: Bearer <token>` in constant time.
pub fn check_token(headers: &HeaderMap, token: &str) -> Result<(), String> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Err("missing bearer token. Fix: send the header `Authorization: Bearer <token>` with the token from the \
                    editor's scalene/mcpEndpoint notification or the discovery file ($XDG_RUNTIME_DIR/scalene-lsp/<pid>.json); \
                    or use `scalene-lsp mcp`, which finds and uses it for you."
            .into());
    };
    let presented = value
        .to_str()
        .ok()
        .and_then(|text| text.strip_prefix("Bearer ").or_else(|| text.strip_prefix("bearer ")))
        .map(str::trim)
        .unwrap_or("");
    if constant_time_eq::constant_time_eq(presented.as_bytes(), token.as_bytes()) {
        Ok(())
    } else {
        Err("wrong bearer token (each scalene-lsp process has its own; it changes on every start). Fix: read the current \
             token from the discovery file ($XDG_RUNTIME_DIR/scalene-lsp/<pid>.json) or the editor's scalene/mcpEndpoint notification."
            .into())
    }
}

fn refuse(status: StatusCode, message: String, bearer: bool) -> Response {
    let mut response = (status, format!("{message}\n")).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    if bearer {
        response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"scalene-lsp\""));
    }
    response
}

/// The axum middleware: 403 for a foreign Host/target/Origin, then 401 for a missing or wrong token.
pub async fn guard(State(expected): State<Expected>, request: Request<Body>, next: Next) -> Response {
    if let Err(message) = check_host_and_origin(request.headers(), request.uri(), &expected) {
        tracing::warn!("refused an MCP request: {message}");
        return refuse(StatusCode::FORBIDDEN, format!("403 Forbidden: {message}"), false);
    }
    if let Err(message) = check_token(request.headers(), &expected.token) {
        tracing::warn!("refused an MCP request: {message}");
        return refuse(StatusCode::UNAUTHORIZED, format!("401 Unauthorized: {message}"), true);
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(axum::http::HeaderName::from_bytes(name.as_bytes()).unwrap(), HeaderValue::from_str(value).unwrap());
        }
        map
    }

    fn check(pairs: &[(&str, &str)], target: &str) -> Result<(), String> {
        let expected = Expected { token: "t".into(), port: 8080 };
        check_host_and_origin(&headers(pairs), &target.parse().unwrap(), &expected)
    }

    #[test]
    fn tokens_are_long_and_distinct() {
        let a = new_token().unwrap();
        assert_eq!(a.len(), 64);
        assert_ne!(a, new_token().unwrap());
    }

    #[test]
    fn hosts_targets_and_origins() {
        for host in ["127.0.0.1:8080", "localhost:8080", "LOCALHOST:8080"] {
            assert!(check(&[("host", host)], "/mcp").is_ok(), "{host}");
        }
        for host in ["127.0.0.1:8081", "localhost", "[::1]:8080", "example.com", "evil.com:8080", "192.168.1.2:8080", "127.0.0.1.nip.io:8080", "127.0.0.5:8080", "foo.localhost:8080", ""] {
            assert!(check(&[("host", host)], "/mcp").is_err(), "{host}");
        }
        let twice = check(&[("host", "127.0.0.1:8080"), ("host", "127.0.0.1:8080")], "/mcp").unwrap_err();
        assert!(twice.contains("exactly one"), "{twice}");
        assert!(check(&[("host", "127.0.0.1:8080")], "http://127.0.0.1:8080/mcp").is_ok());
        let foreign = check(&[("host", "127.0.0.1:8080")], "http://evil.com/mcp").unwrap_err();
        assert!(foreign.contains("another host"), "{foreign}");
        assert!(check(&[("host", "127.0.0.1:8080"), ("origin", "http://localhost:5173")], "/mcp").is_ok());
        for origin in ["https://evil.com", "null", "http://localhost.evil.com", "file://"] {
            assert!(check(&[("host", "127.0.0.1:8080"), ("origin", origin)], "/mcp").is_err(), "{origin}");
        }
    }

    #[test]
    fn bearer_tokens() {
        assert!(check_token(&headers(&[("authorization", "Bearer abc")]), "abc").is_ok());
        assert!(check_token(&headers(&[("authorization", "Bearer abd")]), "abc").is_err());
        assert!(check_token(&headers(&[("authorization", "Basic abc")]), "abc").is_err());
        assert!(check_token(&headers(&[]), "abc").unwrap_err().contains("missing"));
    }
}
