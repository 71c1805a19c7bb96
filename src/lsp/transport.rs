//! The stdio transport between the client and tower-lsp-server. tower-lsp-server's reader stops for
//! good at the first message it cannot decode, which would end the session (and leave runs going); so
//! every frame is checked here first: a well-framed message that is not JSON-RPC (`[1,2,3]`, `hello`)
//! is answered with a JSON-RPC error (`-32700` parse error, `-32600` invalid request) and the session
//! goes on, as does a frame with a bad header. The server's own output passes through whole, frame by
//! frame, with these answers between frames.

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;
use tower_lsp_server::jsonrpc::{Request, Response};

/// The largest message read into memory; a larger one is skipped (streamed past) and answered with an
/// error.
const MAX_MESSAGE_BYTES: usize = 256 * 1024 * 1024;
const PARSE_ERROR: i64 = -32700;
const INVALID_REQUEST: i64 = -32600;

/// One frame read from the client.
#[derive(Debug, PartialEq)]
enum Frame {
    /// A message tower-lsp-server can decode (a request, notification or response).
    Message(Vec<u8>),
    /// Something to answer with an error, naming the request's id when it had one.
    Invalid { id: serde_json::Value, code: i64, message: String },
}

fn error_body(id: &serde_json::Value, code: i64, message: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}}))
        .expect("a JSON value serializes")
}

fn framed(body: &[u8]) -> Vec<u8> {
    let mut out = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
    out.extend_from_slice(body);
    out
}

/// Checks a body as tower-lsp-server will decode it.
fn check(body: Vec<u8>) -> Frame {
    if serde_json::from_slice::<Response>(&body).is_ok() || serde_json::from_slice::<Request>(&body).is_ok() {
        return Frame::Message(body);
    }
    match serde_json::from_slice::<serde_json::Value>(&body) {
        Err(err) => Frame::Invalid {
            id: serde_json::Value::Null,
            code: PARSE_ERROR,
            message: format!("Parse error: the message is not JSON ({err}); it was ignored and the session goes on"),
        },
        Ok(value) => {
            let id = value.get("id").filter(|id| id.is_number() || id.is_string()).cloned().unwrap_or_default();
            Frame::Invalid {
                id,
                code: INVALID_REQUEST,
                message: "Invalid Request: the message is JSON but not a JSON-RPC 2.0 request, notification or response \
                          (an object with \"jsonrpc\": \"2.0\" and a \"method\", or an \"id\" with a \"result\" or \"error\"); \
                          it was ignored and the session goes on"
                    .into(),
            }
        }
    }
}

/// The longest header line, and the most header bytes of one frame: LSP headers are a line or two.
const MAX_HEADER_LINE: usize = 8 * 1024;
const MAX_HEADER_BYTES: usize = 64 * 1024;
const CONTENT_LENGTH: &[u8] = b"content-length:";

/// Where `needle` (lower case ASCII) first occurs in `haystack`, ignoring ASCII case.
fn find_ignoring_case(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|window| window.eq_ignore_ascii_case(needle))
}

/// A header line as RFC 9110 spells one: a token, a colon, a value of visible characters, spaces and tabs.
fn header(line: &[u8]) -> Result<(&str, &str), String> {
    let shown = || String::from_utf8_lossy(&line[..line.len().min(80)]).into_owned();
    let text = std::str::from_utf8(line).map_err(|_| format!("a header line that is not UTF-8: {:?}", shown()))?;
    let Some((name, value)) = text.split_once(':') else { return Err(format!("a header line without a colon: {:?}", shown())) };
    let token = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
    if name.is_empty() || !name.chars().all(token) {
        return Err(format!("a header name that is not a token: {:?}", shown()));
    }
    if value.chars().any(|c| c.is_control() && c != '\t') {
        return Err(format!("a control character in the header {name}: {:?}", shown()));
    }
    Ok((name, value.trim()))
}

/// Reads LSP frames from a byte stream, and finds the next frame again after a broken one: after a bad
/// header block it skips to the next `Content-Length:`; a body that is not JSON but holds the start of
/// another frame (the Content-Length was longer than the message) is cut there and the rest read again.
/// Memory is bounded by the largest message accepted: header lines and header blocks have limits.
struct FrameReader<R> {
    input: R,
    buffer: Vec<u8>,
    start: usize,
    /// Skip to the next `Content-Length:` before reading a frame.
    resync: bool,
}

enum Headers {
    Length(usize),
    /// The header block was bad but said how long its body is: the body is skipped.
    BadWithLength(String, usize),
    /// The header block was bad and its end is unknown: skip to the next frame.
    Bad(String),
    End,
}

impl<R: AsyncRead + Unpin> FrameReader<R> {
    fn new(input: R) -> FrameReader<R> {
        FrameReader { input, buffer: Vec::new(), start: 0, resync: false }
    }

    fn available(&self) -> &[u8] {
        &self.buffer[self.start..]
    }

    fn consume(&mut self, count: usize) {
        self.start += count;
        if self.start == self.buffer.len() {
            self.buffer.clear();
            self.start = 0;
        }
    }

    /// Puts bytes back in front of what is still to be read.
    fn unread(&mut self, bytes: &[u8]) {
        let mut buffer = Vec::with_capacity(bytes.len() + self.available().len());
        buffer.extend_from_slice(bytes);
        buffer.extend_from_slice(self.available());
        self.buffer = buffer;
        self.start = 0;
    }

    /// Reads more input; false at its end.
    async fn fill(&mut self) -> std::io::Result<bool> {
        if self.start > 0 {
            self.buffer.drain(..self.start);
            self.start = 0;
        }
        let old = self.buffer.len();
        self.buffer.resize(old + 64 * 1024, 0);
        let read = self.input.read(&mut self.buffer[old..]).await;
        self.buffer.truncate(old + *read.as_ref().unwrap_or(&0));
        Ok(read? > 0)
    }

    /// The next line without its line end; Err(()) when it is longer than `MAX_HEADER_LINE` (what was
    /// read of it is dropped). None at the end of the input.
    async fn line(&mut self) -> std::io::Result<Option<Result<Vec<u8>, ()>>> {
        loop {
            if let Some(end) = self.available().iter().position(|b| *b == b'\n') {
                if end > MAX_HEADER_LINE {
                    self.consume(end + 1);
                    return Ok(Some(Err(())));
                }
                let mut line = self.available()[..end].to_vec();
                self.consume(end + 1);
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                return Ok(Some(Ok(line)));
            }
            if self.available().len() > MAX_HEADER_LINE {
                let all = self.available().len();
                self.consume(all);
                return Ok(Some(Err(())));
            }
            if !self.fill().await? {
                return Ok(None);
            }
        }
    }

    async fn exact(&mut self, count: usize) -> std::io::Result<Vec<u8>> {
        let have = self.available().len().min(count);
        let mut body = Vec::with_capacity(count);
        body.extend_from_slice(&self.available()[..have]);
        self.consume(have);
        body.resize(count, 0);
        self.input.read_exact(&mut body[have..]).await?;
        Ok(body)
    }

    async fn skip(&mut self, count: u64) -> std::io::Result<()> {
        let have = self.available().len().min(usize::try_from(count).unwrap_or(usize::MAX));
        self.consume(have);
        tokio::io::copy(&mut (&mut self.input).take(count - have as u64), &mut tokio::io::sink()).await?;
        Ok(())
    }

    /// Drops input up to the next `Content-Length:`; false at the end of the input.
    async fn skip_to_next_frame(&mut self) -> std::io::Result<bool> {
        loop {
            if let Some(at) = find_ignoring_case(self.available(), CONTENT_LENGTH) {
                self.consume(at);
                return Ok(true);
            }
            let keep = CONTENT_LENGTH.len() - 1;
            let drop = self.available().len().saturating_sub(keep);
            self.consume(drop);
            if !self.fill().await? {
                return Ok(false);
            }
        }
    }

    async fn headers(&mut self) -> std::io::Result<Headers> {
        if std::mem::take(&mut self.resync) && !self.skip_to_next_frame().await? {
            return Ok(Headers::End);
        }
        let mut length: Option<Result<usize, String>> = None;
        let mut problem: Option<String> = None;
        let (mut seen_any, mut bytes) = (false, 0);
        loop {
            let line = match self.line().await? {
                None => return Ok(Headers::End),
                Some(Err(())) => return Ok(Headers::Bad(format!("a header line longer than {MAX_HEADER_LINE} bytes"))),
                Some(Ok(line)) => line,
            };
            if line.is_empty() {
                if seen_any {
                    break;
                }
                continue; // blank lines between frames
            }
            bytes += line.len() + 2;
            if bytes > MAX_HEADER_BYTES {
                return Ok(Headers::Bad(format!("more than {MAX_HEADER_BYTES} bytes of headers")));
            }
            // Leftovers of a broken frame in front of the next one (`}Content-Length: 44`): answered on
            // their own, and the frame read again from its header.
            if let Some(at) = find_ignoring_case(&line, CONTENT_LENGTH).filter(|at| *at > 0 && !seen_any) {
                let mut rest = line[at..].to_vec();
                rest.extend_from_slice(b"\r\n");
                self.unread(&rest);
                return Ok(Headers::BadWithLength(format!("{:?} in front of a message", String::from_utf8_lossy(&line[..at.min(80)])), 0));
            }
            seen_any = true;
            match header(&line) {
                Ok((name, value)) if name.eq_ignore_ascii_case("content-length") => {
                    let parsed = value.parse::<usize>().ok().filter(|_| value.bytes().all(|b| b.is_ascii_digit()));
                    length = Some(parsed.ok_or_else(|| format!("bad Content-Length {value:?}")));
                }
                Ok(_) => {} // Content-Type and others: nothing to check
                Err(bad) => problem = problem.or(Some(bad)),
            }
        }
        Ok(match (length, problem) {
            (Some(Ok(length)), None) => Headers::Length(length),
            (Some(Ok(length)), Some(problem)) => Headers::BadWithLength(problem, length),
            (Some(Err(problem)), _) | (None, Some(problem)) => Headers::Bad(problem),
            (None, None) => Headers::Bad("no Content-Length header".into()),
        })
    }

    /// Reads the next frame from the client. None at the end of the input.
    async fn frame(&mut self) -> std::io::Result<Option<Frame>> {
        let invalid = |code, message: String| Ok(Some(Frame::Invalid { id: serde_json::Value::Null, code, message }));
        let length = match self.headers().await? {
            Headers::End => return Ok(None),
            Headers::Length(length) => length,
            Headers::BadWithLength(problem, length) => {
                self.skip(length as u64).await?;
                return invalid(PARSE_ERROR, format!("Parse error: {problem} in a message's headers; it was ignored and the session goes on"));
            }
            Headers::Bad(problem) => {
                self.resync = true;
                return invalid(PARSE_ERROR, format!("Parse error: {problem} in a message's headers; it was skipped up to the next Content-Length header and the session goes on"));
            }
        };
        if length > MAX_MESSAGE_BYTES {
            self.skip(length as u64).await?;
            return invalid(INVALID_REQUEST, format!("a message of {length} bytes is larger than the {MAX_MESSAGE_BYTES} bytes accepted; it was skipped"));
        }
        let body = self.exact(length).await?;
        // A Content-Length longer than its message swallows the start of the next one: the body is cut
        // there and the rest read again.
        if let Some(at) = find_ignoring_case(&body, CONTENT_LENGTH).filter(|at| *at > 0)
            && serde_json::from_slice::<serde_json::Value>(&body).is_err()
        {
            self.unread(&body[at..]);
            return invalid(
                PARSE_ERROR,
                format!("Parse error: a Content-Length of {length} ran past the end of its message into the next one; the message was ignored and the session goes on"),
            );
        }
        Ok(Some(check(body)))
    }
}

/// Copies the client's frames to the server, answering invalid ones through `answers`.
async fn pump_input<R: AsyncRead + Unpin, W: AsyncWrite + Unpin>(client: R, mut server: W, answers: mpsc::UnboundedSender<Vec<u8>>) {
    let mut client = FrameReader::new(client);
    loop {
        match client.frame().await {
            Ok(Some(Frame::Message(body))) => {
                if server.write_all(&framed(&body)).await.is_err() || server.flush().await.is_err() {
                    break;
                }
                // After `exit` the server ends; reading on would only wait for a client that may never
                // close its end.
                if serde_json::from_slice::<Request>(&body).is_ok_and(|request| request.method() == "exit") {
                    break;
                }
            }
            Ok(Some(Frame::Invalid { id, code, message })) => {
                tracing::warn!(code, "answered a message that is not JSON-RPC: {message}");
                let _ = answers.send(framed(&error_body(&id, code, &message)));
            }
            Ok(None) => break,
            Err(err) => {
                tracing::warn!("reading the client's messages failed: {err}");
                break;
            }
        }
    }
    // The client is gone: closing the server's input ends its session.
    let _ = server.shutdown().await;
}

/// Copies the server's frames to the client whole, with the answers to invalid messages between them.
/// The server's frames are read in a task of their own: a read dropped half-way in a `select!` would
/// lose bytes.
async fn pump_output<R, W>(server: R, mut client: W, mut answers: mpsc::UnboundedReceiver<Vec<u8>>)
where
    R: AsyncRead + Unpin + Send + 'static,
    W: AsyncWrite + Unpin,
{
    let (frames_tx, mut frames) = mpsc::channel::<Vec<u8>>(16);
    let reader = tokio::spawn(async move {
        let mut server = FrameReader::new(server);
        loop {
            let frame = match server.headers().await {
                Ok(Headers::Length(length)) => server.exact(length).await.map(|body| framed(&body)),
                Ok(Headers::End) => break,
                Ok(Headers::Bad(problem) | Headers::BadWithLength(problem, _)) => Err(std::io::Error::other(format!("the server wrote a bad frame: {problem}"))),
                Err(err) => Err(err),
            };
            match frame {
                Ok(frame) => {
                    if frames_tx.send(frame).await.is_err() {
                        break;
                    }
                }
                Err(err) => {
                    tracing::error!("reading the server's output failed: {err}");
                    break;
                }
            }
        }
    });
    let mut answers_open = true;
    loop {
        let frame = tokio::select! {
            frame = frames.recv() => match frame {
                Some(frame) => frame,
                None => break,
            },
            answer = answers.recv(), if answers_open => match answer {
                Some(answer) => answer,
                None => {
                    answers_open = false;
                    continue;
                }
            },
        };
        if client.write_all(&frame).await.is_err() || client.flush().await.is_err() {
            break;
        }
    }
    while let Ok(answer) = answers.try_recv() {
        let _ = client.write_all(&answer).await;
    }
    let _ = client.flush().await;
    reader.abort();
}

/// Serves `service` between `client_in`/`client_out` (stdin/stdout) through the checks above.
pub async fn serve<I, O>(
    service: tower_lsp_server::LspService<super::server::Backend>,
    socket: tower_lsp_server::ClientSocket,
    client_in: I,
    client_out: O,
) where
    I: AsyncRead + Unpin + Send + 'static,
    O: AsyncWrite + Unpin + Send + 'static,
{
    let (to_server, server_in) = tokio::io::duplex(1 << 20);
    let (server_out, from_server) = tokio::io::duplex(1 << 20);
    let (answers, answers_rx) = mpsc::unbounded_channel();
    let input = tokio::spawn(pump_input(client_in, to_server, answers));
    let output = tokio::spawn(pump_output(from_server, client_out, answers_rx));
    tower_lsp_server::Server::new(server_in, server_out, socket).serve(service).await;
    input.abort();
    let _ = output.await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_checked_as_the_server_decodes_them() {
        let ok = br#"{"jsonrpc":"2.0","id":1,"method":"shutdown"}"#.to_vec();
        assert_eq!(check(ok.clone()), Frame::Message(ok));
        let response = br#"{"jsonrpc":"2.0","id":3,"result":null}"#.to_vec();
        assert_eq!(check(response.clone()), Frame::Message(response));
        assert!(matches!(check(b"[1,2,3]".to_vec()), Frame::Invalid { code: INVALID_REQUEST, .. }));
        assert!(matches!(check(b"hello world".to_vec()), Frame::Invalid { code: PARSE_ERROR, .. }));
        match check(br#"{"id":7,"method":5}"#.to_vec()) {
            Frame::Invalid { id, code, .. } => assert_eq!((id, code), (serde_json::json!(7), INVALID_REQUEST)),
            other => panic!("{other:?}"),
        }
    }

    const SHUTDOWN: &[u8] = b"Content-Length: 44\r\n\r\n{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"shutdown\"}";

    /// Every frame read from `input` as "ok" or the error code, until its end.
    async fn frames(input: &[u8]) -> Vec<String> {
        let mut reader = FrameReader::new(input);
        let mut out = Vec::new();
        while let Ok(Some(frame)) = reader.frame().await {
            out.push(match frame {
                Frame::Message(_) => "ok".to_string(),
                Frame::Invalid { code, .. } => code.to_string(),
            });
        }
        out
    }

    #[tokio::test]
    async fn after_a_broken_frame_the_next_one_is_read() {
        let cases: Vec<(&str, Vec<u8>, Vec<&str>)> = vec![
            ("bad Content-Length", b"Content-Length: abc\r\n\r\n{}".to_vec(), vec!["-32700", "ok", "ok"]),
            ("not JSON-RPC", b"Content-Length: 5\r\n\r\n[1,2]".to_vec(), vec!["-32600", "ok", "ok"]),
            ("no colon", b"Content-Length: 2\r\nnot a header\r\n\r\n{}".to_vec(), vec!["-32700", "ok", "ok"]),
            ("NUL in Content-Length", b"Content-Length: 2\0\r\n\r\n{}".to_vec(), vec!["-32700", "ok", "ok"]),
            ("NUL in another header", b"Content-Length: 2\r\nContent-Type: a\0b\r\n\r\n{}".to_vec(), vec!["-32700", "ok", "ok"]),
            ("unknown header", b"Content-Length: 44\r\nX-Trace: 1\r\n\r\n{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"shutdown\"}".to_vec(), vec!["ok", "ok", "ok"]),
            ("too long", b"Content-Length: 60\r\n\r\n{}".to_vec(), vec!["-32700", "ok", "ok"]),
            ("too short", b"Content-Length: 3\r\n\r\n{\"jsonrpc\":\"2.0\"}".to_vec(), vec!["-32700", "-32700", "ok", "ok"]),
            ("no Content-Length", b"Content-Type: x\r\n\r\n{}".to_vec(), vec!["-32700", "ok", "ok"]),
        ];
        for (what, broken, expected) in cases {
            let input = [broken.as_slice(), SHUTDOWN, b"\r\n", SHUTDOWN].concat();
            assert_eq!(frames(&input).await, expected, "{what}");
        }
    }

    #[tokio::test]
    async fn a_header_line_that_never_ends_is_dropped_in_bounded_memory() {
        let mut input = b"Content-Length: 44\r\nX-Long: ".to_vec();
        input.extend(std::iter::repeat_n(b'a', 5 << 20));
        input.extend_from_slice(b"\r\n\r\n{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"shutdown\"}");
        input.extend_from_slice(SHUTDOWN);
        let mut reader = FrameReader::new(&input[..]);
        let mut seen = Vec::new();
        while let Ok(Some(frame)) = reader.frame().await {
            assert!(reader.buffer.capacity() < 1 << 20, "buffered {} bytes", reader.buffer.capacity());
            seen.push(matches!(frame, Frame::Message(_)));
        }
        assert_eq!(seen, vec![false, true], "the broken frame answered, the next one read");
    }
}
