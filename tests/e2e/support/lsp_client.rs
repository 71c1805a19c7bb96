//! A small synchronous LSP client for the real `scalene-lsp serve` binary.
//!
//! A reader thread parses the `Content-Length` framing, answers the server's own requests at once
//! (`workspace/configuration` with the settings, everything else with `null`) and hands every message to
//! the test. The test claims messages (a response by id, a notification or server request by method and
//! predicate); what it never claims is printed when something times out, with the server's stderr.
//! When the client is dropped, every message must have been claimed (as ruff's server tests do), except
//! the bookkeeping in `UNCLAIMED_OK` and methods a test declared it does not look at (`ignore`): a
//! message nobody expected (an error shown to the user, diagnostics nobody checked) fails the test.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// How long a request or an expected message may take (a run of real Scalene takes longer: callers pass
/// their own timeout to `expect_*`).
pub const TIMEOUT: Duration = Duration::from_secs(30);

/// Messages a test need not claim: progress, refresh requests and the configuration pull (answered by
/// the reader thread), and the MCP endpoint announcement every session sends.
pub const UNCLAIMED_OK: [&str; 6] = [
    "$/progress",
    "window/workDoneProgress/create",
    "workspace/inlayHint/refresh",
    "workspace/codeLens/refresh",
    "workspace/configuration",
    "scalene/mcpEndpoint",
];

pub struct LspClient {
    child: Child,
    stdin: Arc<Mutex<ChildStdin>>,
    incoming: Receiver<Value>,
    /// Messages received and not claimed yet, in arrival order, each with its arrival number.
    unclaimed: Vec<Value>,
    arrivals: Vec<u64>,
    received: u64,
    /// The arrival number of the message claimed last (messages are numbered 0, 1, ... as they arrive).
    pub last_arrival: u64,
    /// Every request the server sent (all answered by the reader thread), in arrival order.
    pub server_requests: Vec<Value>,
    /// The value of the `scalene` section answered to `workspace/configuration` (null until
    /// `set_settings` or `initialize`).
    settings: Arc<Mutex<Value>>,
    stderr: Arc<Mutex<Vec<u8>>>,
    next_id: i64,
    /// The negotiated position encoding (`utf-16` until `initialize` says otherwise).
    pub encoding: String,
    /// Methods this test does not look at (see `ignore`).
    ignored: Vec<String>,
    /// `publishDiagnostics` the test claimed: (arrival number, params).
    claimed_diagnostics: Vec<(u64, Value)>,
}

/// The client capabilities a test starts from: UTF-16 positions, work-done progress, inlay hint and
/// code lens refresh.
pub fn default_capabilities() -> Value {
    json!({
        "general": {"positionEncodings": ["utf-16"]},
        "window": {"workDoneProgress": true},
        "workspace": {"inlayHint": {"refreshSupport": true}, "codeLens": {"refreshSupport": true}},
        "textDocument": {
            "inlayHint": {"dynamicRegistration": false},
            "hover": {"contentFormat": ["markdown", "plaintext"]},
            "codeAction": {},
            "codeLens": {},
            "publishDiagnostics": {}
        }
    })
}

pub fn file_uri(path: &Path) -> String {
    let mut uri = String::from("file://");
    for byte in path.to_str().expect("UTF-8 path").bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~/".contains(&byte) {
            uri.push(byte as char);
        } else {
            uri.push_str(&format!("%{byte:02X}"));
        }
    }
    uri
}

/// The length of `text` in the code units of an LSP position encoding.
pub fn encoded_len(text: &str, encoding: &str) -> u64 {
    match encoding {
        "utf-8" => text.len() as u64,
        "utf-32" => text.chars().count() as u64,
        _ => text.encode_utf16().count() as u64,
    }
}

fn write_message(stdin: &Mutex<ChildStdin>, message: &Value) -> std::io::Result<()> {
    let body = serde_json::to_vec(message).unwrap();
    let mut stdin = stdin.lock().unwrap_or_else(|poison| poison.into_inner());
    write!(stdin, "Content-Length: {}\r\n\r\n", body.len())?;
    stdin.write_all(&body)?;
    stdin.flush()
}

fn configuration_answer(params: &Value, settings: &Value) -> Value {
    let items = params["items"].as_array().cloned().unwrap_or_default();
    Value::Array(
        items
            .iter()
            .map(|item| match item["section"].as_str() {
                Some("scalene") => settings.clone(),
                None => json!({ "scalene": settings }),
                Some(_) => Value::Null,
            })
            .collect(),
    )
}

/// Reads framed messages until the server closes stdout; answers server requests on the spot.
fn read_messages(stdout: impl Read, stdin: Arc<Mutex<ChildStdin>>, settings: Arc<Mutex<Value>>, tx: Sender<Value>) {
    let mut reader = BufReader::new(stdout);
    loop {
        let mut length = None;
        loop {
            let mut header = String::new();
            match reader.read_line(&mut header) {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse::<usize>().ok();
            }
        }
        let Some(length) = length else {
            let _ = tx.send(json!({"client_error": "a message without a Content-Length header"}));
            return;
        };
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let message: Value = serde_json::from_slice(&body)
            .unwrap_or_else(|err| json!({"client_error": format!("invalid JSON ({err}): {}", String::from_utf8_lossy(&body))}));
        if let (Some(method), Some(id)) = (message["method"].as_str(), message.get("id")) {
            let result = match method {
                "workspace/configuration" => {
                    configuration_answer(&message["params"], &settings.lock().unwrap_or_else(|p| p.into_inner()))
                }
                _ => Value::Null,
            };
            let _ = write_message(&stdin, &json!({"jsonrpc": "2.0", "id": id, "result": result}));
        }
        if tx.send(message).is_err() {
            return;
        }
    }
}

fn is_response(message: &Value, id: i64) -> bool {
    message.get("method").is_none() && message["id"].as_i64() == Some(id)
}

fn is_notification(message: &Value, method: &str) -> bool {
    message["method"].as_str() == Some(method) && message.get("id").is_none()
}

fn is_server_request(message: &Value, method: &str) -> bool {
    message["method"].as_str() == Some(method) && message.get("id").is_some()
}

impl LspClient {
    /// Starts `scalene-lsp serve` (not yet initialized).
    pub fn spawn() -> LspClient {
        LspClient::spawn_with_args(&["serve"])
    }

    /// Starts `scalene-lsp` with these arguments.
    pub fn spawn_with_args(args: &[&str]) -> LspClient {
        LspClient::spawn_with_env(args, &[])
    }

    /// Starts `scalene-lsp` with these arguments and extra environment variables.
    pub fn spawn_with_env(args: &[&str], envs: &[(&str, &str)]) -> LspClient {
        LspClient::spawn_binary(Path::new(env!("CARGO_BIN_EXE_scalene-lsp")), args, envs)
    }

    /// Starts another `scalene-lsp` binary (a benchmark compares two builds this way).
    pub fn spawn_binary(binary: &Path, args: &[&str], envs: &[(&str, &str)]) -> LspClient {
        let mut command = Command::new(binary);
        command.envs(envs.iter().copied());
        command.args(args).env_remove("VIRTUAL_ENV").stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
        if std::env::var_os("RUST_LOG").is_none() && !envs.iter().any(|(key, _)| *key == "RUST_LOG") {
            command.env("RUST_LOG", "warn");
        }
        let mut child = command.spawn().expect("start scalene-lsp serve");
        let stdin = Arc::new(Mutex::new(child.stdin.take().unwrap()));
        let settings = Arc::new(Mutex::new(Value::Null));
        let (tx, incoming) = channel();
        let stdout = child.stdout.take().unwrap();
        let (reader_stdin, reader_settings) = (stdin.clone(), settings.clone());
        std::thread::spawn(move || read_messages(stdout, reader_stdin, reader_settings, tx));
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let mut child_stderr = child.stderr.take().unwrap();
        let sink = stderr.clone();
        std::thread::spawn(move || {
            let mut buffer = [0; 4096];
            while let Ok(n) = child_stderr.read(&mut buffer) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap_or_else(|p| p.into_inner()).extend_from_slice(&buffer[..n]);
            }
        });
        LspClient {
            child,
            stdin,
            incoming,
            unclaimed: Vec::new(),
            arrivals: Vec::new(),
            received: 0,
            last_arrival: 0,
            server_requests: Vec::new(),
            settings,
            stderr,
            next_id: 0,
            encoding: "utf-16".into(),
            ignored: Vec::new(),
            claimed_diagnostics: Vec::new(),
        }
    }

    /// Spawns and initializes with the default capabilities, `root` as the workspace folder and
    /// `options` as initializationOptions.
    pub fn start(root: &Path, options: Value) -> LspClient {
        let mut client = LspClient::spawn();
        client.initialize(Some(root), default_capabilities(), options);
        client
    }

    /// `initialize` + `initialized`. Unless `set_settings` was called before, `options` also becomes the
    /// answer to `workspace/configuration`. Returns the InitializeResult.
    pub fn initialize(&mut self, root: Option<&Path>, capabilities: Value, options: Value) -> Value {
        {
            let mut settings = self.settings.lock().unwrap();
            if settings.is_null() {
                *settings = options.get("scalene").cloned().unwrap_or_else(|| options.clone());
            }
        }
        let mut params = json!({
            "processId": std::process::id(),
            "clientInfo": {"name": "scalene-lsp e2e"},
            "capabilities": capabilities,
            "initializationOptions": options,
        });
        if let Some(root) = root {
            params["rootUri"] = json!(file_uri(root));
            params["workspaceFolders"] = json!([{"uri": file_uri(root), "name": "root"}]);
        }
        let result = self.request_ok("initialize", params);
        self.encoding = result["capabilities"]["positionEncoding"].as_str().unwrap_or("utf-16").to_string();
        self.notify("initialized", json!({}));
        result
    }

    /// The answer to later `workspace/configuration` requests (call before `initialize` to answer the
    /// server's first pull).
    pub fn set_settings(&self, settings: Value) {
        *self.settings.lock().unwrap() = settings;
    }

    pub fn notify(&mut self, method: &str, params: Value) {
        let message = json!({"jsonrpc": "2.0", "method": method, "params": params});
        write_message(&self.stdin, &message).unwrap_or_else(|err| panic!("sending {method}: {err}\n{}", self.report()));
    }

    /// Sends a request and waits for its response: Ok(result) or Err(error object).
    pub fn request(&mut self, method: &str, params: Value) -> Result<Value, Value> {
        self.request_within(method, params, TIMEOUT)
            .unwrap_or_else(|| panic!("no response to {method} within {TIMEOUT:?}\n{}", self.report()))
    }

    /// Like `request`, but panics (naming the method and the error) when the server answers an error.
    pub fn request_ok(&mut self, method: &str, params: Value) -> Value {
        match self.request(method, params.clone()) {
            Ok(result) => result,
            Err(error) => panic!("{method} {params} failed: {error}\n{}", self.report()),
        }
    }

    fn request_within(&mut self, method: &str, params: Value, timeout: Duration) -> Option<Result<Value, Value>> {
        self.next_id += 1;
        let id = self.next_id;
        write_message(&self.stdin, &json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params})).ok()?;
        let response = self.claim(|message| is_response(message, id), timeout)?;
        Some(match response.get("error") {
            Some(error) => Err(error.clone()),
            None => Ok(response.get("result").cloned().unwrap_or(Value::Null)),
        })
    }

    /// Sends a request without waiting for its answer; returns its id (see `response`).
    pub fn send_request(&mut self, method: &str, params: Value) -> i64 {
        self.next_id += 1;
        let id = self.next_id;
        write_message(&self.stdin, &json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))
            .unwrap_or_else(|err| panic!("sending {method}: {err}\n{}", self.report()));
        id
    }

    /// The answer to request `id` (sent with `send_request`) and its arrival number.
    pub fn response(&mut self, id: i64, timeout: Duration) -> (Result<Value, Value>, u64) {
        let Some(response) = self.claim(|message| is_response(message, id), timeout) else {
            panic!("no response to request {id} within {timeout:?}\n{}", self.report())
        };
        let result = match response.get("error") {
            Some(error) => Err(error.clone()),
            None => Ok(response.get("result").cloned().unwrap_or(Value::Null)),
        };
        (result, self.last_arrival)
    }

    /// `workspace/executeCommand` with one argument object (none when `argument` is null).
    pub fn execute(&mut self, command: &str, argument: Value) -> Result<Value, Value> {
        let arguments = if argument.is_null() { json!([]) } else { json!([argument]) };
        self.request("workspace/executeCommand", json!({"command": command, "arguments": arguments}))
    }

    pub fn execute_ok(&mut self, command: &str, argument: Value) -> Value {
        match self.execute(command, argument.clone()) {
            Ok(result) => result,
            Err(error) => panic!("{command} {argument} failed: {error}\n{}", self.report()),
        }
    }

    /// The params of the first unclaimed notification `method` matching `predicate` (waits up to `timeout`).
    pub fn expect_notification(&mut self, method: &str, predicate: impl Fn(&Value) -> bool, timeout: Duration) -> Value {
        match self.claim(|message| is_notification(message, method) && predicate(&message["params"]), timeout) {
            Some(message) => message["params"].clone(),
            None => panic!("no matching {method} notification within {timeout:?}\n{}", self.report()),
        }
    }

    /// The params of the first unclaimed server→client request `method` (already answered).
    pub fn expect_request(&mut self, method: &str, timeout: Duration) -> Value {
        match self.claim(|message| is_server_request(message, method), timeout) {
            Some(message) => message["params"].clone(),
            None => panic!("no {method} request from the server within {timeout:?}\n{}", self.report()),
        }
    }

    /// Writes `body` as one framed message, whatever it is (to test the server with bad input).
    pub fn send_raw(&mut self, body: &[u8]) {
        let mut stdin = self.stdin.lock().unwrap_or_else(|poison| poison.into_inner());
        write!(stdin, "Content-Length: {}\r\n\r\n", body.len()).unwrap();
        stdin.write_all(body).unwrap();
        stdin.flush().unwrap();
    }

    /// Writes `bytes` as they are, headers and all (to test the server's framing).
    pub fn send_bytes(&mut self, bytes: &[u8]) {
        let mut stdin = self.stdin.lock().unwrap_or_else(|poison| poison.into_inner());
        stdin.write_all(bytes).unwrap();
        stdin.flush().unwrap();
    }

    /// The first unclaimed message of any kind matching `predicate` (waits up to `timeout`).
    pub fn expect_message(&mut self, predicate: impl Fn(&Value) -> bool, timeout: Duration) -> Value {
        match self.claim(predicate, timeout) {
            Some(message) => message,
            None => panic!("no matching message within {timeout:?}\n{}", self.report()),
        }
    }

    /// Everything the server wrote to stderr so far.
    pub fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&self.stderr.lock().unwrap_or_else(|p| p.into_inner())).into_owned()
    }

    /// The server's process id (to signal it).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Declares that this test does not look at messages of `method` (they need not be claimed).
    pub fn ignore(&mut self, method: &str) {
        self.ignored.push(method.to_string());
    }

    /// Drops every unclaimed message (e.g. refreshes from an earlier step).
    pub fn forget_unclaimed(&mut self) {
        self.receive_pending();
        self.unclaimed.clear();
        self.arrivals.clear();
    }

    fn receive_pending(&mut self) {
        while let Ok(message) = self.incoming.try_recv() {
            self.store(message);
        }
    }

    fn store(&mut self, message: Value) {
        if message.get("method").is_some() && message.get("id").is_some() {
            self.server_requests.push(message.clone());
        }
        self.unclaimed.push(message);
        self.arrivals.push(self.received);
        self.received += 1;
    }

    fn claim(&mut self, wanted: impl Fn(&Value) -> bool, timeout: Duration) -> Option<Value> {
        let deadline = Instant::now() + timeout;
        self.receive_pending();
        loop {
            if self.unclaimed.iter().any(|message| message.get("client_error").is_some()) {
                panic!("the server broke the framing (stdout must carry only LSP messages)\n{}", self.report());
            }
            if let Some(index) = self.unclaimed.iter().position(&wanted) {
                self.last_arrival = self.arrivals.remove(index);
                let message = self.unclaimed.remove(index);
                if is_notification(&message, "textDocument/publishDiagnostics") {
                    self.claimed_diagnostics.push((self.last_arrival, message["params"].clone()));
                }
                return Some(message);
            }
            let left = deadline.checked_duration_since(Instant::now())?;
            match self.incoming.recv_timeout(left) {
                Ok(message) => self.store(message),
                Err(RecvTimeoutError::Timeout) => return None,
                Err(RecvTimeoutError::Disconnected) => {
                    // The server closed stdout: whatever was wanted will not come.
                    std::thread::sleep(Duration::from_millis(100));
                    return None;
                }
            }
        }
    }

    /// Unclaimed messages and the server's stderr, for failure messages.
    pub fn report(&mut self) -> String {
        self.receive_pending();
        let mut text = format!("unclaimed messages ({}):\n", self.unclaimed.len());
        for message in &self.unclaimed {
            let mut line = message.to_string();
            if line.len() > 1500 {
                let mut end = 1500;
                while !line.is_char_boundary(end) {
                    end -= 1;
                }
                line.truncate(end);
                line.push('…');
            }
            text.push_str(&format!("  {line}\n"));
        }
        if let Ok(Some(status)) = self.child.try_wait() {
            text.push_str(&format!("the server exited: {status}\n"));
        }
        let stderr = self.stderr.lock().unwrap_or_else(|p| p.into_inner());
        let stderr = String::from_utf8_lossy(&stderr);
        let tail: String = stderr.chars().rev().take(6000).collect::<Vec<_>>().into_iter().rev().collect();
        text.push_str(&format!("server stderr (tail):\n{tail}"));
        text
    }

    // --- documents and features -------------------------------------------------------------------

    /// `textDocument/didOpen` (python, version 1); returns the document's URI.
    pub fn open(&mut self, path: &Path, text: &str) -> String {
        let uri = file_uri(path);
        self.notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": text}}),
        );
        uri
    }

    /// `textDocument/didChange` with the whole new text (full sync).
    pub fn change(&mut self, uri: &str, version: i32, text: &str) {
        self.notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": uri, "version": version}, "contentChanges": [{"text": text}]}),
        );
    }

    /// Inlay hints for the whole of `text` (the document's current text).
    pub fn inlay_hints(&mut self, uri: &str, text: &str) -> Vec<Value> {
        let lines: Vec<&str> = text.lines().collect();
        let last = lines.len().saturating_sub(1);
        let end = json!({"line": last, "character": encoded_len(lines.get(last).copied().unwrap_or(""), &self.encoding)});
        self.inlay_hints_in(uri, json!({"start": {"line": 0, "character": 0}, "end": end}))
    }

    pub fn inlay_hints_in(&mut self, uri: &str, range: Value) -> Vec<Value> {
        let result = self.request_ok("textDocument/inlayHint", json!({"textDocument": {"uri": uri}, "range": range}));
        result.as_array().cloned().unwrap_or_default()
    }

    /// The hover's markdown at a 0-based line and character, or None.
    pub fn hover(&mut self, uri: &str, line: u64, character: u64) -> Option<String> {
        let result = self.request_ok(
            "textDocument/hover",
            json!({"textDocument": {"uri": uri}, "position": {"line": line, "character": character}}),
        );
        if result.is_null() {
            return None;
        }
        let contents = &result["contents"];
        Some(match contents {
            Value::String(text) => text.clone(),
            Value::Array(parts) => parts.iter().map(|part| part["value"].as_str().unwrap_or("").to_string()).collect(),
            _ => contents["value"].as_str().unwrap_or("").to_string(),
        })
    }

    pub fn code_actions(&mut self, uri: &str, line: u64) -> Vec<Value> {
        let range = json!({"start": {"line": line, "character": 0}, "end": {"line": line, "character": 0}});
        let result = self.request_ok(
            "textDocument/codeAction",
            json!({"textDocument": {"uri": uri}, "range": range, "context": {"diagnostics": []}}),
        );
        result.as_array().cloned().unwrap_or_default()
    }

    pub fn code_lenses(&mut self, uri: &str) -> Vec<Value> {
        let result = self.request_ok("textDocument/codeLens", json!({"textDocument": {"uri": uri}}));
        result.as_array().cloned().unwrap_or_default()
    }

    /// Waits for a publishDiagnostics for `uri` whose diagnostics satisfy `predicate`; returns them.
    pub fn expect_diagnostics(&mut self, uri: &str, predicate: impl Fn(&[Value]) -> bool, timeout: Duration) -> Vec<Value> {
        let params = self.expect_notification(
            "textDocument/publishDiagnostics",
            |params| params["uri"] == uri && predicate(params["diagnostics"].as_array().map_or(&[], Vec::as_slice)),
            timeout,
        );
        params["diagnostics"].as_array().cloned().unwrap_or_default()
    }
}

impl LspClient {
    /// Messages received and never claimed, other than those a test may leave (`UNCLAIMED_OK`, `ignore`).
    fn unexpected(&mut self) -> Vec<String> {
        self.receive_pending();
        self.unclaimed
            .iter()
            .zip(&self.arrivals)
            .filter(|(message, arrival)| {
                let method = message["method"].as_str().unwrap_or("");
                !UNCLAIMED_OK.contains(&method) && !self.ignored.iter().any(|ignored| ignored == method) && !self.superseded(message, **arrival)
            })
            .map(|(message, _)| message)
            .map(|message| {
                let mut text = message.to_string();
                text.truncate(400);
                text
            })
            .collect()
    }
}

impl LspClient {
    /// A `publishDiagnostics` the test need not claim: a late republish of diagnostics it claimed for the
    /// same document state (same uri, version and diagnostics), or one a newer claimed publish for the
    /// same uri replaced (an editor shows only the newest). Runs ending and refreshes race, so how many
    /// times a document is republished is not part of the contract; what it shows is.
    fn superseded(&self, message: &Value, arrival: u64) -> bool {
        if !is_notification(message, "textDocument/publishDiagnostics") {
            return false;
        }
        let params = &message["params"];
        self.claimed_diagnostics.iter().any(|(claimed_at, claimed)| claimed["uri"] == params["uri"] && (*claimed_at > arrival || claimed == params))
    }
}

impl Drop for LspClient {
    /// `shutdown` + `exit` (kills the server when it does not stop in time), then asserts that every
    /// message received before was claimed.
    fn drop(&mut self) {
        let unexpected = if std::thread::panicking() { Vec::new() } else { self.unexpected() };
        if self.request_within("shutdown", Value::Null, Duration::from_secs(20)).is_some() {
            let _ = write_message(&self.stdin, &json!({"jsonrpc": "2.0", "method": "exit"}));
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline && !matches!(self.child.try_wait(), Ok(Some(_))) {
            std::thread::sleep(Duration::from_millis(50));
        }
        if !matches!(self.child.try_wait(), Ok(Some(_))) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        assert!(
            unexpected.is_empty(),
            "the test never claimed these messages from the server (claim them, or `ignore` their method):\n{}",
            unexpected.join("\n")
        );
    }
}
