//! The host: composes the language server and the MCP endpoint on one engine for `serve`, and chooses
//! how `mcp` serves (bridged to a live editor session, or an own engine over stdio or HTTP).
//!
//! Architecture Invariant: `lsp` and `mcp` do not import each other; this module alone composes them
//! (tests/architecture.rs keeps it so).

use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use futures::FutureExt;

use crate::engine::workspace::SharedRoots;
use crate::engine::{Engine, EngineSettings, SHUTDOWN_GRACE};
use crate::lsp::endpoint::{AgentEndpoint, EndpointRequest, EndpointStarter};
use crate::mcp::{self, McpError, RunningMcp, ScaleneMcp};

/// Resolves when this process is asked to stop: SIGTERM (editors, service managers), SIGINT (Ctrl-C),
/// SIGHUP (a closed terminal). Returns the signal's name. Each front end stops its runs the way a cancel
/// does, then exits.
pub async fn stop_signal() -> &'static str {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int), Ok(mut hup)) =
        (signal(SignalKind::terminate()), signal(SignalKind::interrupt()), signal(SignalKind::hangup()))
    else {
        tracing::warn!("cannot listen for stop signals; the default action (exit) applies");
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => "SIGTERM",
        _ = int.recv() => "SIGINT",
        _ = hup.recv() => "SIGHUP",
    }
}

/// `serve`: the language server on stdio, with the MCP endpoint for agents on the same engine (started
/// at initialize when the editor's settings allow it).
pub async fn serve_lsp(engine: Engine) {
    let starter_engine = engine.clone();
    let starter: EndpointStarter = Arc::new(move |request: EndpointRequest| {
        let engine = starter_engine.clone();
        async move {
            let server = ScaleneMcp::new(engine, request.roots, request.allow_code, request.python, None).with_startup(request.startup);
            let running = mcp::start_http(server, request.port, true).await.map_err(|err| err.to_string())?;
            Ok(Box::new(running) as Box<dyn AgentEndpoint>)
        }
        .boxed()
    });
    tokio::select! {
        () = crate::lsp::serve_stdio(engine.clone(), Some(starter)) => {}
        signal = stop_signal() => {
            tracing::info!(signal, "stopping: every run is stopped, then the server exits");
            engine.shutdown(SHUTDOWN_GRACE).await;
        }
    }
}

impl AgentEndpoint for RunningMcp {
    fn url(&self) -> &str {
        RunningMcp::url(self)
    }

    fn token(&self) -> &str {
        RunningMcp::token(self)
    }

    fn roots_changed(&mut self) {
        self.refresh_discovery();
    }

    fn shutdown(self: Box<Self>) {
        RunningMcp::shutdown(*self);
    }
}

/// Options of `scalene-lsp mcp`.
#[derive(Clone, Debug, Default)]
pub struct McpOptions {
    pub standalone: bool,
    pub http: bool,
    pub port: u16,
    pub python: Option<PathBuf>,
    pub allow_code: bool,
    /// How runs start (`--no-shortcut`: Scalene's own start-up always).
    pub startup: crate::engine::Startup,
}

/// `scalene-lsp mcp`: bridge to a live editor session whose roots contain the current directory, or
/// run an own engine (over stdio, or with `--http` over HTTP until stdin closes).
pub async fn serve_mcp(options: McpOptions, engine_settings: EngineSettings) -> Result<(), McpError> {
    let cwd = std::env::current_dir().map_err(|err| McpError::Stdio { message: format!("cannot read the current directory: {err}") })?;
    let cwd = cwd.canonicalize().unwrap_or(cwd);
    let mut note = None;
    if !options.standalone && !options.http {
        let found = mcp::find_session(&cwd);
        let reachable = match &found {
            Some(info) => mcp::bridge::reachable(info).await,
            None => false,
        };
        match found {
            Some(info) if reachable => return mcp::bridge::run(info).await,
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
    let server = ScaleneMcp::new(engine.clone(), roots, options.allow_code, options.python.clone(), note).with_startup(options.startup);
    if options.http {
        let running = mcp::start_http(server, options.port, true).await?;
        let line = serde_json::json!({"url": running.url(), "token": running.token()}).to_string();
        {
            use std::io::Write;
            let mut stdout = std::io::stdout().lock();
            let _ = writeln!(stdout, "{line}");
            let _ = stdout.flush();
        }
        // Serve until stdin closes (the parent process went away or closed the pipe) or a stop signal.
        let (mut stdin, mut sink) = (tokio::io::stdin(), Vec::new());
        tokio::select! {
            _ = tokio::io::AsyncReadExt::read_to_end(&mut stdin, &mut sink) => {}
            signal = stop_signal() => tracing::info!(signal, "stopping"),
        }
        running.shutdown();
        engine.shutdown(SHUTDOWN_GRACE).await;
        return Ok(());
    }
    tokio::select! {
        served = mcp::serve_stdio(server) => served,
        signal = stop_signal() => {
            tracing::info!(signal, "stopping: every run is stopped, then the server exits");
            engine.shutdown(SHUTDOWN_GRACE).await;
            Ok(())
        }
    }
}
