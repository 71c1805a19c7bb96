//! The stdio transport between the client and tower-lsp-server. tower-lsp-server's reader stops for
//! good at the first message it cannot decode, which would end the session (and leave runs going); so
//! every frame is checked here first: a well-framed message that is not JSON-RPC (`[1,2,3]`, `hello`)
//! is answered with a JSON-RPC error (`-32700` parse error, `-32600` invalid request) and the session
//! goes on, as does a frame with a bad header. The server's own output passes through whole, frame by
//! frame, with these answers between frames.

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
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

/// Reads one frame's headers; returns the Content-Length, or an error message for a bad header block.
/// None at the end of the input.
async fn read_headers<R: AsyncRead + Unpin>(input: &mut BufReader<R>) -> std::io::Result<Option<Result<usize, String>>> {
    let mut length: Option<Result<usize, String>> = None;
    let mut seen_any = false;
    loop {
        let mut line = Vec::new();
        if input.read_until(b'\n', &mut line).await? == 0 {
            return Ok(None);
        }
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end_matches(['\r', '\n']);
        if text.is_empty() {
            if seen_any {
                break;
            }
            continue; // blank lines between frames
        }
        seen_any = true;
        match text.split_once(':') {
            Some((name, value)) if name.trim().eq_ignore_ascii_case("content-length") => {
                length = Some(value.trim().parse::<usize>().map_err(|_| format!("bad Content-Length {:?}", value.trim())));
            }
            Some(_) => {} // Content-Type and others: nothing to check
            None => length = Some(Err(format!("a header line without a colon: {text:?}"))),
        }
    }
    Ok(Some(length.unwrap_or_else(|| Err("no Content-Length header".into()))))
}

/// Reads the next frame from the client. None at the end of the input.
async fn read_frame<R: AsyncRead + Unpin>(input: &mut BufReader<R>) -> std::io::Result<Option<Frame>> {
    let Some(length) = read_headers(input).await? else { return Ok(None) };
    let length = match length {
        Ok(length) => length,
        Err(problem) => {
            return Ok(Some(Frame::Invalid {
                id: serde_json::Value::Null,
                code: PARSE_ERROR,
                message: format!("Parse error: {problem} in a message's headers; it was ignored and the session goes on"),
            }));
        }
    };
    if length > MAX_MESSAGE_BYTES {
        tokio::io::copy(&mut (&mut *input).take(length as u64), &mut tokio::io::sink()).await?;
        return Ok(Some(Frame::Invalid {
            id: serde_json::Value::Null,
            code: INVALID_REQUEST,
            message: format!("a message of {length} bytes is larger than the {MAX_MESSAGE_BYTES} bytes accepted; it was skipped"),
        }));
    }
    let mut body = vec![0; length];
    input.read_exact(&mut body).await?;
    Ok(Some(check(body)))
}

/// Copies the client's frames to the server, answering invalid ones through `answers`.
async fn pump_input<R: AsyncRead + Unpin, W: AsyncWrite + Unpin>(client: R, mut server: W, answers: mpsc::UnboundedSender<Vec<u8>>) {
    let mut client = BufReader::new(client);
    loop {
        match read_frame(&mut client).await {
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
async fn pump_output<R: AsyncRead + Unpin, W: AsyncWrite + Unpin>(server: R, mut client: W, mut answers: mpsc::UnboundedReceiver<Vec<u8>>) {
    let mut server = BufReader::new(server);
    let mut answers_open = true;
    loop {
        let frame = tokio::select! {
            frame = read_frame_raw(&mut server) => match frame {
                Ok(Some(frame)) => frame,
                _ => break,
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
}

/// One whole frame of the server's output (headers and body), as bytes.
async fn read_frame_raw<R: AsyncRead + Unpin>(server: &mut BufReader<R>) -> std::io::Result<Option<Vec<u8>>> {
    match read_headers(server).await? {
        None => Ok(None),
        Some(Err(problem)) => Err(std::io::Error::other(format!("the server wrote a bad frame: {problem}"))),
        Some(Ok(length)) => {
            let mut body = vec![0; length];
            server.read_exact(&mut body).await?;
            Ok(Some(framed(&body)))
        }
    }
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

    #[tokio::test]
    async fn frames_with_bad_headers_are_answered_and_reading_goes_on() {
        let input = b"Content-Length: abc\r\n\r\nContent-Length: 5\r\n\r\n[1,2]Content-Length: 44\r\n\r\n{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"shutdown\"}";
        let mut reader = BufReader::new(&input[..]);
        assert!(matches!(read_frame(&mut reader).await.unwrap(), Some(Frame::Invalid { code: PARSE_ERROR, .. })));
        assert!(matches!(read_frame(&mut reader).await.unwrap(), Some(Frame::Invalid { code: INVALID_REQUEST, .. })));
        assert!(matches!(read_frame(&mut reader).await.unwrap(), Some(Frame::Message(_))));
        assert_eq!(read_frame(&mut reader).await.unwrap(), None);
    }
}
