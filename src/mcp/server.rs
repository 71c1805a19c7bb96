//! `ScaleneMcp`: the MCP server handler over the shared engine. Tools are in tools.rs, resources in
//! resources.rs, prompts in prompts.rs; this file holds the state, the server instructions and the
//! change notifications (cache events → `notifications/resources/*`).
//!
//! Notifications reach both protocol eras (the official Python SDK negotiates 2026-07-28 by probing
//! `server/discover`; older clients use the `initialize` handshake):
//! - 2026-07-28: `subscriptions/listen` (`listen` below), per listen request, on stdio and HTTP;
//! - older: after `notifications/initialized`, a forwarder pushes `list_changed` (and `updated` for
//!   URIs subscribed with `resources/subscribe`) to the session's peer (stdio, or the HTTP session's
//!   GET stream).

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rmcp::handler::server::router::prompt::PromptRouter;
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::tool::ToolCallContext;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, Implementation, ListResourceTemplatesResult, ListResourcesResult, PaginatedRequestParams, ReadResourceRequestParams,
    ReadResourceResponse, ResourceUpdatedNotificationParam, ServerCapabilities, ServerConfig, SubscribeRequestParams,
    SubscriptionFilter, UnsubscribeRequestParams,
};
use rmcp::service::{NotificationContext, RequestContext, SubscriptionContext};
use rmcp::{ErrorData, Peer, RoleServer, ServerHandler, prompt_handler, tool_handler};
use tokio::sync::broadcast::error::RecvError;

use crate::engine::workspace::{Roots, SharedRoots};
use crate::engine::{CacheEvent, Engine};

/// The MCP server: cheap to clone (one `Arc`); each MCP session gets its own subscription state
/// (`for_new_session`).
#[derive(Clone)]
pub struct ScaleneMcp {
    pub(crate) inner: Arc<Inner>,
    session: Arc<SessionState>,
}

pub(crate) struct Inner {
    pub engine: Engine,
    pub roots: SharedRoots,
    pub allow_code: bool,
    /// The interpreter for runs (None: discovered from the project, as the LSP does).
    pub python: Option<PathBuf>,
    /// A sentence added to the instructions (e.g. "no editor session was found").
    pub note: Option<String>,
    /// How runs start (the start-up shortcut where verified, unless turned off).
    pub startup: crate::engine::Startup,
    pub tool_router: ToolRouter<ScaleneMcp>,
    pub prompt_router: PromptRouter<ScaleneMcp>,
}

/// Per MCP session: URIs subscribed with the legacy `resources/subscribe`.
#[derive(Default)]
struct SessionState {
    subscriptions: Mutex<HashSet<String>>,
}

/// How often a legacy forwarder checks that its peer is still there while nothing changes.
const PEER_CHECK: Duration = Duration::from_secs(5);

impl ScaleneMcp {
    /// `python`: the interpreter for runs (None: discovered); `note`: a sentence for the instructions.
    pub fn new(
        engine: Engine,
        roots: SharedRoots,
        allow_code: bool,
        python: Option<PathBuf>,
        note: Option<String>,
    ) -> ScaleneMcp {
        ScaleneMcp {
            inner: Arc::new(Inner {
                engine,
                roots,
                allow_code,
                python,
                note,
                startup: crate::engine::Startup::default(),
                tool_router: ScaleneMcp::tool_router() + ScaleneMcp::saved_router() + ScaleneMcp::suite_router() + ScaleneMcp::attach_router(),
                prompt_router: ScaleneMcp::prompt_router(),
            }),
            session: Arc::new(SessionState::default()),
        }
    }

    /// The same server whose runs start this way (call right after `new`).
    pub fn with_startup(mut self, startup: crate::engine::Startup) -> ScaleneMcp {
        match Arc::get_mut(&mut self.inner) {
            Some(inner) => inner.startup = startup,
            None => tracing::warn!("with_startup called on a shared server: ignored"),
        }
        self
    }

    /// The same server with fresh per-session state (one per HTTP session).
    pub fn for_new_session(&self) -> ScaleneMcp {
        ScaleneMcp { inner: self.inner.clone(), session: Arc::new(SessionState::default()) }
    }

    pub fn engine(&self) -> &Engine {
        &self.inner.engine
    }

    pub fn roots(&self) -> Roots {
        Roots::snapshot(&self.inner.roots)
    }

    pub fn shared_roots(&self) -> SharedRoots {
        self.inner.roots.clone()
    }

    pub fn instructions(&self) -> String {
        let roots = self.roots();
        let roots_text = if roots.is_empty() {
            "none yet".to_string()
        } else {
            roots.as_slice().iter().map(|root| root.display().to_string()).collect::<Vec<_>>().join(", ")
        };
        let mut text = format!(
            "scalene-lsp measures where a Python program spends CPU time and memory, line by line, with the Scalene \
             profiler, and keeps the profiles in memory (shared with the editor when it runs inside the language \
             server). Call `list_profiles` first to see profiles that already exist (e.g. the developer's), or \
             `profile` {{\"path\": \"app.py\"}} to run a file. Profiling EXECUTES the program with the given \
             arguments (only files inside the workspace; no shell), so profile only code you would run anyway. Then \
             read the numbers with `hotspots` (ranked lines), `line_profile` (every measured line of a range) and \
             `function_profile`, and ask `call_paths` who calls a slow function or line and at what cost (its \
             callers, callees and the costliest call chains into it); the `optimize-hotspots` prompt walks through a measured optimisation (profile, \
             change, profile again, compare). To check a change: `save_profile` the profile as a baseline, change the \
             code, `profile` again, then `compare` {{\"before\": \"baseline\"}} names what got slower or faster, line by \
             line, beyond Scalene's sampling noise. For slow tests: `profile_tests` runs the pytest suite once and \
             ranks its tests with their hottest lines (`slowest_tests` reads them again). CPU numbers are percent of the run's CPU time, memory is MB. Paths \
             are relative to the workspace root ({roots_text})."
        );
        if !self.inner.allow_code {
            text.push_str(" `profile_code` (run a snippet) is turned off here.");
        }
        if let Some(note) = &self.inner.note {
            text.push(' ');
            text.push_str(note);
        }
        text
    }

    fn subscribed(&self) -> Vec<String> {
        self.session.subscriptions.lock().unwrap_or_else(|poison| poison.into_inner()).iter().cloned().collect()
    }
}

/// What a batch of cache events changes: whether the list changed, and which resource URIs.
#[derive(Default)]
struct Changes {
    list_changed: bool,
    removed: Vec<String>,
}

impl Changes {
    fn add(&mut self, event: Result<CacheEvent, RecvError>) {
        self.list_changed = true;
        if let Ok(CacheEvent::Removed(id)) = event {
            self.removed.push(format!("{}{id}", super::resources::PROFILE_PREFIX));
        }
    }

    /// The subscribed URIs these changes touch: the listing on any change, a profile (and its file
    /// tables) when it is removed.
    fn touched<'a>(&self, subscribed: impl Iterator<Item = &'a String>) -> Vec<String> {
        subscribed
            .filter(|uri| {
                (self.list_changed && uri.as_str() == super::resources::PROFILES_URI)
                    || self.removed.iter().any(|profile| {
                        uri.as_str() == profile || uri.strip_prefix(profile.as_str()).is_some_and(|rest| rest.starts_with('/'))
                    })
            })
            .cloned()
            .collect()
    }
}

/// Waits for the next cache change and gathers whatever else is already queued. None when the cache
/// is gone.
async fn next_changes(events: &mut tokio::sync::broadcast::Receiver<CacheEvent>) -> Option<Changes> {
    let first = events.recv().await;
    if matches!(first, Err(RecvError::Closed)) {
        return None;
    }
    let mut changes = Changes::default();
    changes.add(first);
    loop {
        match events.try_recv() {
            Ok(event) => changes.add(Ok(event)),
            Err(tokio::sync::broadcast::error::TryRecvError::Lagged(n)) => changes.add(Err(RecvError::Lagged(n))),
            Err(_) => break,
        }
    }
    Some(changes)
}

/// Legacy sessions: push changes to the peer until it goes away.
async fn forward_legacy(server: ScaleneMcp, peer: Peer<RoleServer>) {
    let mut events = server.engine().cache().subscribe();
    let mut check = tokio::time::interval(PEER_CHECK);
    loop {
        let changes = tokio::select! {
            changes = next_changes(&mut events) => match changes {
                Some(changes) => changes,
                None => return,
            },
            _ = check.tick() => {
                if peer.is_transport_closed() {
                    return;
                }
                continue;
            }
        };
        if peer.notify_resource_list_changed().await.is_err() {
            return;
        }
        for uri in changes.touched(server.subscribed().iter()) {
            if peer.notify_resource_updated(ResourceUpdatedNotificationParam::new(uri)).await.is_err() {
                return;
            }
        }
    }
}

/// A tool's arguments as `{name, other?: type, ...}` from its input schema.
fn expected_arguments(server: &ScaleneMcp, tool: &str) -> String {
    let Some(tool) = server.inner.tool_router.get(tool) else { return "a known tool name (see tools/list)".into() };
    let schema = &tool.input_schema;
    let required: Vec<&str> = schema
        .get("required")
        .and_then(|value| value.as_array())
        .map(|names| names.iter().filter_map(|name| name.as_str()).collect())
        .unwrap_or_default();
    let fields: Vec<String> = schema
        .get("properties")
        .and_then(|value| value.as_object())
        .map(|properties| {
            properties
                .keys()
                .map(|key| if required.contains(&key.as_str()) { key.clone() } else { format!("{key}?") })
                .collect()
        })
        .unwrap_or_default();
    format!("{{{}}} (see the tool's inputSchema)", fields.join(", "))
}

#[tool_handler(router = self.inner.tool_router)]
#[prompt_handler(router = self.inner.prompt_router)]
impl ServerHandler for ScaleneMcp {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(
            ServerCapabilities::builder()
                .enable_tools()
                .enable_prompts()
                .enable_resources()
                .enable_resources_list_changed()
                .enable_resources_subscribe()
                .build(),
        )
        .with_server_info(
            Implementation::new("scalene-lsp", env!("CARGO_PKG_VERSION"))
                .with_title("Scalene profiler (scalene-lsp)"),
        )
        .with_instructions(self.instructions())
    }

    /// The router, except that arguments that do not match a tool's input schema are a JSON-RPC
    /// `invalid_params` error (rmcp would make them a tool result) naming the expected arguments.
    async fn call_tool(&self, request: CallToolRequestParams, context: RequestContext<RoleServer>) -> Result<CallToolResponse, ErrorData> {
        let name = request.name.to_string();
        let call = ToolCallContext::new(self, request, context);
        match self.inner.tool_router.call(call).await? {
            CallToolResponse::Complete(result) if result.is_error == Some(true) => {
                let text = result.content.first().and_then(|content| content.as_text()).map(|text| text.text.clone());
                match text.as_deref().and_then(|text| text.strip_prefix(super::error::DESERIALIZE_PREFIX)) {
                    Some(problem) => Err(ErrorData::invalid_params(
                        format!("bad arguments for {name}:{problem}. Expected {}", expected_arguments(self, &name)),
                        None,
                    )),
                    None => Ok(CallToolResponse::Complete(result)),
                }
            }
            other => Ok(other),
        }
    }

    async fn on_initialized(&self, context: NotificationContext<RoleServer>) {
        tokio::spawn(forward_legacy(self.clone(), context.peer));
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, ErrorData> {
        Ok(super::resources::list(self.engine(), &self.roots()))
    }

    async fn list_resource_templates(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, ErrorData> {
        Ok(super::resources::templates())
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        super::resources::read(self.engine(), &self.roots(), &request.uri).map(Into::into)
    }

    fn accepted_subscription_filter(&self, requested: &SubscriptionFilter) -> Option<SubscriptionFilter> {
        let mut accepted = SubscriptionFilter::new();
        accepted.resources_list_changed = requested.resources_list_changed.filter(|on| *on);
        accepted.resource_subscriptions = requested
            .resource_subscriptions
            .as_ref()
            .map(|uris| uris.iter().filter(|uri| uri.starts_with(super::resources::SCHEME)).cloned().collect());
        Some(accepted)
    }

    async fn listen(&self, context: SubscriptionContext) -> Result<(), ErrorData> {
        let mut events = self.engine().cache().subscribe();
        let sink = context.sink().clone();
        let subscribed: Vec<String> = sink.accepted().resource_subscriptions.clone().unwrap_or_default();
        let list_changed = sink.accepted().resources_list_changed == Some(true);
        loop {
            let changes = tokio::select! {
                () = context.cancelled() => return Ok(()),
                changes = next_changes(&mut events) => match changes {
                    Some(changes) => changes,
                    None => return Ok(()),
                },
            };
            if list_changed && sink.notify_resource_list_changed().await.is_err() {
                return Ok(());
            }
            for uri in changes.touched(subscribed.iter()) {
                if sink.notify_resource_updated(uri).await.is_err() {
                    return Ok(());
                }
            }
        }
    }

    #[allow(deprecated)]
    async fn subscribe(&self, request: SubscribeRequestParams, _context: RequestContext<RoleServer>) -> Result<(), ErrorData> {
        super::resources::check_uri(&request.uri)?;
        self.session.subscriptions.lock().unwrap_or_else(|poison| poison.into_inner()).insert(request.uri);
        Ok(())
    }

    #[allow(deprecated)]
    async fn unsubscribe(&self, request: UnsubscribeRequestParams, _context: RequestContext<RoleServer>) -> Result<(), ErrorData> {
        self.session.subscriptions.lock().unwrap_or_else(|poison| poison.into_inner()).remove(&request.uri);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_touch_the_listing_and_removed_profiles() {
        let mut changes = Changes::default();
        changes.add(Ok(CacheEvent::Removed(crate::engine::ProfileId(3))));
        let subscribed: Vec<String> = [
            "scalene://profiles",
            "scalene://profile/p3",
            "scalene://profile/p3/file/a.py",
            "scalene://profile/p31",
            "scalene://profile/p4",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert_eq!(
            changes.touched(subscribed.iter()),
            vec!["scalene://profiles", "scalene://profile/p3", "scalene://profile/p3/file/a.py"]
        );
    }
}
