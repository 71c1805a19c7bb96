//! `Backend`: the `LanguageServer` implementation. Each method is a few lines: take a snapshot, call
//! the feature module, return. Every handler runs under a panic guard.

use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;
use serde_json::Value;
use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::*;
use tower_lsp_server::{Client, LanguageServer};

use super::capabilities::ResolvedClientCapabilities;
use super::commands::Command;
use super::document::{Document, Encoding};
use super::endpoint::{EndpointRequest, EndpointStarter, McpEndpointNotification};
use super::session::{Session, uri_path};
use super::settings::Settings;
use super::{actions, calls, client, commands, diagnostics, environment, error, flame, heat, hints, hotspots, hover, lenses, progress};
use crate::engine::{CacheEvent, Engine, panic_message};
use tokio::sync::broadcast::error::RecvError;

pub struct Backend {
    session: Arc<Session>,
}

/// Runs a request handler, turning a panic into a logged internal error (the server goes on).
async fn guarded<T>(method: &str, handler: impl Future<Output = Result<T>>) -> Result<T> {
    match AssertUnwindSafe(handler).catch_unwind().await {
        Ok(result) => result,
        Err(panic) => {
            tracing::error!(method, "handler panicked: {}", panic_message(&*panic));
            Err(error::internal(method))
        }
    }
}

/// Runs a notification handler under the same guard.
async fn guarded_notification(method: &str, handler: impl Future<Output = ()>) {
    if let Err(panic) = AssertUnwindSafe(handler).catch_unwind().await {
        tracing::error!(method, "handler panicked: {}", panic_message(&*panic));
    }
}

impl Backend {
    pub fn new(engine: Engine, client: Client, endpoint_starter: Option<EndpointStarter>) -> Backend {
        let session = Arc::new(Session::new(engine, client, endpoint_starter));
        tokio::spawn(follow_cache(session.clone()));
        Backend { session }
    }

    /// `window/workDoneProgress/cancel` (not in the trait): cancel the run behind the token.
    pub async fn work_done_progress_cancel(&self, params: WorkDoneProgressCancelParams) {
        guarded_notification("window/workDoneProgress/cancel", async {
            let NumberOrString::String(token) = params.token else { return };
            let run_id = self.session.runs.iter().find(|run| run.token == token).map(|run| *run.key());
            if let Some(run_id) = run_id {
                self.session.engine.cancel(Some(run_id));
            }
        })
        .await;
    }

    /// `scalene/environment`: the interpreter and Scalene a profile would use (environment.rs).
    pub async fn environment(&self, params: Option<environment::EnvironmentParams>) -> Result<environment::EnvironmentResult> {
        guarded("scalene/environment", async { Ok(environment::handle_environment(&self.session, params.unwrap_or_default()).await) }).await
    }

    /// `scalene/hotspots`: the hottest lines of the newest profile (hotspots.rs).
    pub async fn hotspots(&self, params: Option<hotspots::HotspotsParams>) -> Result<hotspots::HotspotsResult> {
        guarded("scalene/hotspots", async { Ok(hotspots::handle_hotspots(&self.session, params.unwrap_or_default())) }).await
    }

    /// `scalene/tests`: the newest suite run's tests, slowest first (suite.rs).
    pub async fn tests(&self, params: Option<super::suite::TestsParams>) -> Result<super::suite::TestsResult> {
        guarded("scalene/tests", async { Ok(super::suite::handle_tests(&self.session, params.unwrap_or_default())) }).await
    }

    /// Applies a raw settings object and tells the user about bad values.
    /// `scalene/flameGraph`: the call tree of the newest profile, for a flame graph (flame.rs).
    pub async fn flame_graph(&self, params: Option<flame::FlameParams>) -> Result<flame::FlameResult> {
        guarded("scalene/flameGraph", async {
            flame::handle_flame(&self.session, params.unwrap_or_default())
                .map_err(tower_lsp_server::jsonrpc::Error::invalid_params)
        })
        .await
    }

    async fn apply_settings(&self, value: &Value) {
        let (settings, warnings) = Settings::from_value(value);
        self.session.set_settings(settings);
        for warning in warnings {
            self.session.client.show_message(MessageType::WARNING, format!("Scalene settings: {warning}")).await;
        }
        tokio::spawn(progress::after_profile_change(self.session.clone()));
    }

    /// Starts the agents' endpoint (setting `mcp.enabled`) through the host's starter. Returns its URL;
    /// a failure is logged and shown after `initialized`, and the editor features go on without it.
    async fn start_endpoint(&self) -> Option<String> {
        let settings = self.session.settings();
        let starter = self.session.endpoint_starter.clone().filter(|_| settings.mcp.enabled)?;
        let request = EndpointRequest {
            port: settings.mcp.port,
            allow_code: settings.mcp.allow_code,
            python: settings.python.clone(),
            roots: self.session.shared_roots(),
            startup: settings.startup(),
        };
        match starter(request).await {
            Ok(endpoint) => {
                let url = endpoint.url().to_string();
                tracing::info!(url, "MCP endpoint for agents");
                *self.session.endpoint.lock().unwrap_or_else(|p| p.into_inner()) = Some(endpoint);
                Some(url)
            }
            Err(message) => {
                tracing::error!("the MCP endpoint did not start: {message}");
                // Shown from `initialized`: a message before the initialize response may be dropped.
                self.session.defer_warning(format!("Scalene: the MCP endpoint for agents did not start: {message}"));
                None
            }
        }
    }

    fn pull_configuration(&self) {
        let session = self.session.clone();
        tokio::spawn(async move {
            if let Some(value) = client::configuration(&session.client).await.filter(|value| !value.is_null()) {
                let (settings, warnings) = Settings::from_value(&value);
                session.set_settings(settings);
                for warning in warnings {
                    session.client.show_message(MessageType::WARNING, format!("Scalene settings: {warning}")).await;
                }
                progress::after_profile_change(session).await;
            }
        });
    }
}

/// Every cache change (a run from the editor or an agent, a loaded or cleared profile, an eviction, a
/// live run's snapshot) updates the editor: one path for all of them. Bursts (a clear removing many)
/// give one refresh; the removal of a profile that a newer one of the same key replaced (a live run's
/// previous snapshot) gives none, since the newer one is shown already: a live run refreshes once per
/// snapshot. While the user types faster than a live run's snapshot interval, refreshes wait until typing
/// pauses for that long (the newest profile is shown then).
async fn follow_cache(session: Arc<Session>) {
    let mut events = session.engine.cache().subscribe();
    // Expired profiles are only noticed when the cache does its housekeeping: do it regularly.
    let mut housekeeping = tokio::time::interval(Duration::from_secs(30));
    loop {
        let event = tokio::select! {
            event = events.recv() => event,
            _ = housekeeping.tick() => {
                session.engine.cache().run_pending_tasks();
                continue;
            }
        };
        let cache = session.engine.cache();
        let matters = |event: &std::result::Result<CacheEvent, RecvError>| match event {
            Ok(CacheEvent::Removed(id)) => !cache.was_replaced(*id),
            _ => true,
        };
        match event {
            Err(RecvError::Closed) => break,
            first => {
                let mut changed = matters(&first);
                while let Some(delay) = session.refresh_delay() {
                    tokio::time::sleep(delay).await;
                }
                loop {
                    match events.try_recv() {
                        Ok(event) => changed |= matters(&Ok(event)),
                        Err(tokio::sync::broadcast::error::TryRecvError::Lagged(_)) => changed = true,
                        Err(_) => break,
                    }
                }
                if changed {
                    progress::after_profile_change(session.clone()).await;
                }
            }
        }
    }
}

/// What the server offers; every command of `Command::all()` is advertised.
fn server_capabilities(encoding: Encoding) -> ServerCapabilities {
    ServerCapabilities {
        position_encoding: Some(encoding.kind()),
        text_document_sync: Some(TextDocumentSyncCapability::Options(TextDocumentSyncOptions {
            open_close: Some(true),
            // Full sync: with notifications possibly handled out of order, a whole text per version can
            // be checked against the stored version; incremental edits could not.
            change: Some(TextDocumentSyncKind::FULL),
            ..TextDocumentSyncOptions::default()
        })),
        hover_provider: Some(HoverProviderCapability::Simple(true)),
        call_hierarchy_provider: Some(CallHierarchyServerCapability::Simple(true)),
        inlay_hint_provider: Some(OneOf::Right(InlayHintServerCapabilities::Options(InlayHintOptions {
            resolve_provider: Some(true),
            ..InlayHintOptions::default()
        }))),
        code_action_provider: Some(CodeActionProviderCapability::Simple(true)),
        code_lens_provider: Some(CodeLensOptions { resolve_provider: Some(false) }),
        execute_command_provider: Some(ExecuteCommandOptions {
            commands: Command::all().iter().map(|command| command.id().to_string()).collect(),
            ..ExecuteCommandOptions::default()
        }),
        experimental: Some(serde_json::json!({"scaleneLsp": {"version": env!("CARGO_PKG_VERSION")}})),
        ..ServerCapabilities::default()
    }
}

fn workspace_roots(params: &InitializeParams) -> Vec<PathBuf> {
    #[allow(deprecated)]
    let root_uri = params.root_uri.as_ref();
    match &params.workspace_folders {
        Some(folders) if !folders.is_empty() => folders.iter().filter_map(|folder| uri_path(&folder.uri)).collect(),
        _ => root_uri.and_then(uri_path).into_iter().collect(),
    }
}

impl LanguageServer for Backend {
    async fn initialize(&self, params: InitializeParams) -> Result<InitializeResult> {
        guarded("initialize", async {
            let capabilities = ResolvedClientCapabilities::new(&params.capabilities);
            let encoding = capabilities.encoding;
            self.session.set_capabilities(capabilities);
            self.session.set_roots(workspace_roots(&params));
            if let Some(options) = &params.initialization_options {
                let (settings, warnings) = Settings::from_value(options);
                self.session.set_settings(settings);
                for warning in warnings {
                    tracing::warn!("initializationOptions: {warning}");
                    // Shown once the client is initialized (a message before that may be dropped).
                    self.session.defer_warning(format!("Scalene settings: {warning}"));
                }
            }
            let mut capabilities = server_capabilities(encoding);
            if let Some(url) = self.start_endpoint().await
                && let Some(experimental) = capabilities.experimental.as_mut().and_then(Value::as_object_mut)
            {
                experimental.insert("scaleneMcp".into(), serde_json::json!({ "url": url }));
            }
            Ok(InitializeResult {
                capabilities,
                server_info: Some(ServerInfo { name: "scalene-lsp".into(), version: Some(env!("CARGO_PKG_VERSION").into()) }),
                offset_encoding: None,
            })
        })
        .await
    }

    async fn initialized(&self, _: InitializedParams) {
        guarded_notification("initialized", async {
            let endpoint = self.session.endpoint.lock().unwrap_or_else(|p| p.into_inner()).as_ref().map(|endpoint| {
                serde_json::json!({ "url": endpoint.url(), "token": endpoint.token() })
            });
            if let Some(endpoint) = endpoint {
                self.session.client.send_notification::<McpEndpointNotification>(endpoint).await;
            }
            for warning in self.session.take_deferred_warnings() {
                self.session.client.show_message(MessageType::WARNING, warning).await;
            }
            if self.session.capabilities().configuration {
                self.pull_configuration();
            }
        })
        .await;
    }

    async fn shutdown(&self) -> Result<()> {
        guarded("shutdown", async {
            if let Some(endpoint) = self.session.endpoint.lock().unwrap_or_else(|p| p.into_inner()).take() {
                endpoint.shutdown();
            }
            // Let cancelled runs stop their process groups and remove their temp dirs.
            self.session.engine.shutdown(crate::engine::SHUTDOWN_GRACE).await;
            Ok(())
        })
        .await
    }

    async fn did_open(&self, params: DidOpenTextDocumentParams) {
        guarded_notification("textDocument/didOpen", async {
            let item = params.text_document;
            let uri = item.uri.clone();
            self.session.open(item.uri, Document::new(item.version, item.language_id, item.text));
            diagnostics::publish(&self.session, &uri).await;
            heat::publish(&self.session, &uri).await;
        })
        .await;
    }

    async fn did_change(&self, params: DidChangeTextDocumentParams) {
        guarded_notification("textDocument/didChange", async {
            // Full sync: the last change holds the whole text.
            let Some(change) = params.content_changes.into_iter().last() else { return };
            let uri = params.text_document.uri;
            if self.session.change(&uri, params.text_document.version, change.text) {
                diagnostics::publish(&self.session, &uri).await;
                heat::publish(&self.session, &uri).await;
            }
        })
        .await;
    }

    async fn did_close(&self, params: DidCloseTextDocumentParams) {
        guarded_notification("textDocument/didClose", async {
            let uri = params.text_document.uri;
            self.session.close(&uri);
            self.session.heat_sent.remove(&uri);
            if self.session.published.remove(&uri).is_some() {
                self.session.client.publish_diagnostics(uri, Vec::new(), None).await;
            }
        })
        .await;
    }

    async fn did_change_configuration(&self, params: DidChangeConfigurationParams) {
        guarded_notification("workspace/didChangeConfiguration", async {
            // Clients send `{"scalene": {...}}`, a bare object, or null (meaning: pull it yourself).
            match params.settings.get("scalene") {
                Some(section) if !section.is_null() => self.apply_settings(section).await,
                _ if self.session.capabilities().configuration => self.pull_configuration(),
                _ if params.settings.as_object().is_some_and(|object| !object.is_empty()) => {
                    self.apply_settings(&params.settings).await;
                }
                _ => {}
            }
        })
        .await;
    }

    async fn did_change_workspace_folders(&self, params: DidChangeWorkspaceFoldersParams) {
        guarded_notification("workspace/didChangeWorkspaceFolders", async {
            let mut roots = self.session.roots();
            let removed: Vec<PathBuf> = params.event.removed.iter().filter_map(|folder| uri_path(&folder.uri)).collect();
            roots.retain(|root| !removed.contains(root));
            roots.extend(params.event.added.iter().filter_map(|folder| uri_path(&folder.uri)));
            self.session.set_roots(roots);
            if let Some(endpoint) = self.session.endpoint.lock().unwrap_or_else(|p| p.into_inner()).as_mut() {
                endpoint.roots_changed();
            }
        })
        .await;
    }

    async fn inlay_hint(&self, params: InlayHintParams) -> Result<Option<Vec<InlayHint>>> {
        guarded("textDocument/inlayHint", async {
            let Some(snapshot) = self.session.snapshot(&params.text_document.uri) else { return Ok(None) };
            let lazy_tooltips = self.session.capabilities().resolve_hint_tooltip;
            Ok(Some(hints::handle_inlay_hint(&snapshot, params.range, lazy_tooltips)))
        })
        .await
    }

    async fn inlay_hint_resolve(&self, hint: InlayHint) -> Result<InlayHint> {
        guarded("inlayHint/resolve", async { Ok(hints::handle_inlay_hint_resolve(&self.session, hint)) }).await
    }

    async fn hover(&self, params: HoverParams) -> Result<Option<Hover>> {
        guarded("textDocument/hover", async {
            let position = params.text_document_position_params;
            let Some(snapshot) = self.session.snapshot(&position.text_document.uri) else { return Ok(None) };
            Ok(hover::handle_hover(&snapshot, position.position))
        })
        .await
    }

    async fn prepare_call_hierarchy(&self, params: CallHierarchyPrepareParams) -> Result<Option<Vec<CallHierarchyItem>>> {
        guarded("textDocument/prepareCallHierarchy", async {
            let position = params.text_document_position_params;
            let Some(snapshot) = self.session.snapshot(&position.text_document.uri) else { return Ok(None) };
            if calls::lacks_call_paths(&snapshot) {
                if !self.session.told_no_call_paths.swap(true, std::sync::atomic::Ordering::Relaxed) {
                    self.session.client.show_message(MessageType::INFO, calls::NO_CALL_PATHS).await;
                }
                return Ok(None);
            }
            Ok(calls::handle_prepare(&self.session, &snapshot, position.position))
        })
        .await
    }

    async fn incoming_calls(&self, params: CallHierarchyIncomingCallsParams) -> Result<Option<Vec<CallHierarchyIncomingCall>>> {
        guarded("callHierarchy/incomingCalls", async { Ok(calls::handle_incoming(&self.session, &params.item)) }).await
    }

    async fn outgoing_calls(&self, params: CallHierarchyOutgoingCallsParams) -> Result<Option<Vec<CallHierarchyOutgoingCall>>> {
        guarded("callHierarchy/outgoingCalls", async { Ok(calls::handle_outgoing(&self.session, &params.item)) }).await
    }

    async fn code_lens(&self, params: CodeLensParams) -> Result<Option<Vec<CodeLens>>> {
        guarded("textDocument/codeLens", async {
            let Some(snapshot) = self.session.snapshot(&params.text_document.uri) else { return Ok(None) };
            Ok(Some(lenses::handle_code_lens(&snapshot)))
        })
        .await
    }

    async fn code_action(&self, params: CodeActionParams) -> Result<Option<CodeActionResponse>> {
        guarded("textDocument/codeAction", async {
            let Some(snapshot) = self.session.snapshot(&params.text_document.uri) else { return Ok(None) };
            Ok(Some(actions::handle_code_action(&self.session, &snapshot)))
        })
        .await
    }

    async fn execute_command(&self, params: ExecuteCommandParams) -> Result<Option<Value>> {
        guarded("workspace/executeCommand", commands::handle_execute_command(&self.session, params)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tower_lsp_server::jsonrpc::ErrorCode;

    #[tokio::test]
    async fn a_panicking_request_handler_answers_an_internal_error_that_says_the_server_goes_on() {
        let result: Result<()> = guarded("textDocument/hover", async { panic!("boom") }).await;
        let error = result.unwrap_err();
        assert_eq!(error.code, ErrorCode::InternalError);
        assert!(error.message.contains("textDocument/hover") && error.message.contains("the server goes on"), "{}", error.message);
        // The same guard passes results through untouched.
        assert_eq!(guarded("x", async { Ok(7) }).await.unwrap(), 7);
    }

    #[tokio::test]
    async fn a_panicking_notification_handler_is_contained() {
        guarded_notification("textDocument/didOpen", async { panic!("boom") }).await;
    }
}
