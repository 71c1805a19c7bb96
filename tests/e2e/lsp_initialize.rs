//! The LSP server's handshake and its answers to bad input (docs/lsp.md: Capabilities, Commands).

use serde_json::{Value, json};

use crate::support::TempProject;
use crate::support::lsp_client::{LspClient, default_capabilities};

const COMMANDS: [&str; 15] = [
    "scalene.profile",
    "scalene.cancel",
    "scalene.clear",
    "scalene.loadProfile",
    "scalene.toggle",
    "scalene.saveBaseline",
    "scalene.compare",
    "scalene.exitCompare",
    "scalene.pause",
    "scalene.resume",
    "scalene.profileTest",
    "scalene.listProcesses",
    "scalene.exportProfile",
    "scalene.attach",
    "scalene.profileTests",
];
const INVALID_PARAMS: i64 = -32602;

/// A provider is offered when it is `true` or an options object.
fn offered(capability: &Value) -> bool {
    capability == &json!(true) || capability.is_object()
}

fn initialize_with(project: &TempProject, capabilities: Value) -> (LspClient, Value) {
    let mut client = LspClient::spawn();
    let result = client.initialize(Some(project.path()), capabilities, json!({}));
    (client, result)
}

#[test]
fn initialize_offers_the_documented_capabilities() {
    let project = TempProject::new();
    let (_client, result) = initialize_with(&project, default_capabilities());
    let caps = &result["capabilities"];
    let sync = &caps["textDocumentSync"];
    assert!(
        sync == &json!(1) || (sync["change"] == json!(1) && sync["openClose"] == json!(true)),
        "full sync with open/close: {sync}"
    );
    for provider in ["inlayHintProvider", "hoverProvider", "codeActionProvider", "codeLensProvider"] {
        assert!(offered(&caps[provider]), "{provider} is offered: {caps:#}");
    }
    let mut commands: Vec<&str> =
        caps["executeCommandProvider"]["commands"].as_array().unwrap().iter().map(|c| c.as_str().unwrap()).collect();
    commands.sort_unstable();
    let mut documented = COMMANDS.to_vec();
    documented.sort_unstable();
    assert_eq!(commands, documented);
    assert_eq!(caps["experimental"]["scaleneLsp"]["version"], json!(env!("CARGO_PKG_VERSION")));
    assert_eq!(caps["positionEncoding"], json!("utf-16"), "a client offering only utf-16 gets utf-16");
}

#[test]
fn position_encoding_prefers_utf8_then_utf32_then_utf16() {
    let project = TempProject::new();
    let offers: [(Value, Option<&str>); 4] = [
        (json!(["utf-16", "utf-8"]), Some("utf-8")),
        (json!(["utf-8"]), Some("utf-8")),
        (json!(["utf-32", "utf-16"]), Some("utf-32")),
        (Value::Null, None),
    ];
    for (offer, expected) in offers {
        let mut capabilities = default_capabilities();
        if offer.is_null() {
            capabilities.as_object_mut().unwrap().remove("general");
        } else {
            capabilities["general"]["positionEncodings"] = offer.clone();
        }
        let (client, result) = initialize_with(&project, capabilities);
        let negotiated = &result["capabilities"]["positionEncoding"];
        match expected {
            Some(encoding) => assert_eq!(negotiated, &json!(encoding), "offer {offer}"),
            // Without an offer the protocol's default applies: utf-16, said or left out.
            None => assert!(negotiated.is_null() || negotiated == &json!("utf-16"), "no offer gave {negotiated}"),
        }
        assert_eq!(client.encoding, expected.unwrap_or("utf-16"));
    }
}

#[test]
fn unknown_commands_and_bad_arguments_are_invalid_params_that_say_what_was_expected() {
    let project = TempProject::new();
    let program = project.write("main.py", "print('hi')\n");
    let uri = crate::support::lsp_client::file_uri(&program);
    let (mut client, _) = initialize_with(&project, default_capabilities());
    client.open(&program, "print('hi')\n");

    let error = client.execute("scalene.frobnicate", json!({})).unwrap_err();
    assert_eq!(error["code"], json!(INVALID_PARAMS), "{error}");
    let message = error["message"].as_str().unwrap();
    assert!(message.contains("scalene.frobnicate"), "names the unknown command: {message}");
    assert!(COMMANDS.iter().all(|command| message.contains(command)), "lists the known commands: {message}");

    let bad: [(&str, Value, &str); 6] = [
        ("scalene.profile", json!({}), "uri"),
        ("scalene.profile", json!({"uri": uri, "mode": "fast"}), "mode"),
        ("scalene.profile", json!({"uri": uri, "args": "--n 3"}), "args"),
        ("scalene.profile", json!({"uri": uri, "python": 3}), "python"),
        ("scalene.loadProfile", json!({}), "path"),
        ("scalene.cancel", json!({"run_id": 7}), "run_id"),
    ];
    for (command, argument, field) in bad {
        let error = client.execute(command, argument.clone()).unwrap_err();
        assert_eq!(error["code"], json!(INVALID_PARAMS), "{command} {argument}: {error}");
        let message = error["message"].as_str().unwrap();
        assert!(message.contains(field), "{command} {argument}: the message names `{field}`: {message}");
    }
    let error = client.execute("scalene.profile", json!({"uri": uri, "mode": "fast"})).unwrap_err();
    let message = error["message"].as_str().unwrap();
    assert!(message.contains("cpu") && message.contains("memory"), "says which modes exist: {message}");

    // The server survives all of it and still answers.
    assert_eq!(client.execute_ok("scalene.cancel", json!({})), json!({"cancelled": false}));
    assert_eq!(client.execute_ok("scalene.toggle", Value::Null), json!({"visible": false}));
    assert!(client.hover(&uri, 0, 0).is_none(), "no profile, no hover");
}


#[test]
fn with_no_arguments_the_binary_serves_lsp() {
    let project = TempProject::new();
    let mut client = LspClient::spawn_with_args(&[]);
    let result = client.initialize(Some(project.path()), default_capabilities(), json!({}));
    assert_eq!(result["capabilities"]["experimental"]["scaleneLsp"]["version"], json!(env!("CARGO_PKG_VERSION")));
}

#[test]
fn a_framed_message_that_is_not_json_rpc_gets_an_error_and_the_session_goes_on() {
    let project = TempProject::new();
    let (mut client, _) = initialize_with(&project, default_capabilities());
    let is_error = |code: i64| move |message: &Value| message["error"]["code"] == json!(code) && message["id"].is_null();
    client.send_raw(b"[1,2,3]");
    let invalid = client.expect_message(is_error(-32600), crate::support::lsp_client::TIMEOUT);
    assert!(invalid["error"]["message"].as_str().unwrap().contains("the session goes on"), "{invalid}");
    client.send_raw(b"hello world");
    client.expect_message(is_error(-32700), crate::support::lsp_client::TIMEOUT);
    // A request with an id but no method: an error answer with its id.
    client.send_raw(br#"{"jsonrpc":"2.0","id":77,"params":{}}"#);
    let answered = client.expect_message(|message| message["id"] == json!(77), crate::support::lsp_client::TIMEOUT);
    assert!(answered["error"]["code"].as_i64().is_some_and(|code| code < 0), "{answered}");
    // The session goes on: a normal request is answered.
    assert_eq!(client.execute_ok("scalene.cancel", json!({})), json!({"cancelled": false}));
}

/// Broken framing: each is answered with a parse error and the next message is served, whatever broke:
/// a bad Content-Length, a header line that is not a header, a NUL in a header, a Content-Length
/// longer or shorter than its message, and a header line that never ends (bounded, not buffered).
#[test]
fn after_a_broken_frame_the_next_message_is_served() {
    let project = TempProject::new();
    let (mut client, _) = initialize_with(&project, default_capabilities());
    let is_parse_error = |message: &Value| message["error"]["code"] == json!(-32700) && message["id"].is_null();
    let cancel = |id: u64| {
        let body = format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"workspace/executeCommand","params":{{"command":"scalene.cancel","arguments":[{{}}]}}}}"#);
        format!("Content-Length: {}\r\n\r\n{body}", body.len()).into_bytes()
    };
    let long_line = [b"X-Filler: ".as_slice(), &vec![b'a'; 3 << 20]].concat();
    let broken: Vec<(&str, Vec<u8>)> = vec![
        ("a Content-Length that is not a number", b"Content-Length: abc\r\n\r\n{}".to_vec()),
        ("a header line without a colon", b"Content-Length: 2\r\nnot a header\r\n\r\n{}".to_vec()),
        ("a NUL in the header", b"Content-Length: 2\0\r\n\r\n{}".to_vec()),
        ("a Content-Length longer than its message", b"Content-Length: 90\r\n\r\n{}".to_vec()),
        ("a Content-Length shorter than its message", b"Content-Length: 3\r\n\r\n{\"jsonrpc\":\"2.0\"}".to_vec()),
        ("3 MB of header line", long_line),
    ];
    for (index, (what, bytes)) in broken.into_iter().enumerate() {
        let id = 1000 + index as u64;
        client.send_bytes(&bytes);
        // Two messages after the broken one, in one write and in another: both served, nothing lost.
        client.send_bytes(&cancel(id));
        client.send_bytes(&cancel(id + 100));
        client.expect_message(is_parse_error, crate::support::lsp_client::TIMEOUT);
        for id in [id, id + 100] {
            let answered = client.expect_message(|message| message["id"] == json!(id), crate::support::lsp_client::TIMEOUT);
            assert_eq!(answered["result"], json!({"cancelled": false}), "after {what}: {answered}");
        }
        // The leftovers of a message cut short are a second parse error.
        client.forget_unclaimed();
    }
    // An unknown but well-formed header is allowed, as LSP allows Content-Type.
    let body = br#"{"jsonrpc":"2.0","id":5000,"method":"workspace/executeCommand","params":{"command":"scalene.cancel","arguments":[{}]}}"#;
    client.send_bytes(&[format!("Content-Length: {}\r\nX-Trace: yes\r\n\r\n", body.len()).as_bytes(), body].concat());
    let answered = client.expect_message(|message| message["id"] == json!(5000), crate::support::lsp_client::TIMEOUT);
    assert_eq!(answered["result"], json!({"cancelled": false}), "{answered}");
}

#[test]
fn non_file_uris_are_refused_with_the_supported_scheme() {
    let project = TempProject::new();
    let (mut client, _) = initialize_with(&project, default_capabilities());
    let error = client.execute("scalene.profile", json!({"uri": "untitled:Untitled-1"})).unwrap_err();
    assert_eq!(error["code"], json!(INVALID_PARAMS), "{error}");
    let message = error["message"].as_str().unwrap();
    assert!(message.contains("only file:// URIs") && message.contains("`untitled:`") && message.contains("Fix: save the file"), "{message}");
    let error = client.execute("scalene.toggle", json!({"on": true})).unwrap_err();
    let message = error["message"].as_str().unwrap();
    assert!(message.starts_with("scalene.toggle takes no arguments") && message.ends_with("call it with no arguments."), "{message}");
}
