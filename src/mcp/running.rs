//! How an MCP tool call runs something to its end: the request (`run_request`: the server's interpreter
//! and start-up under the call's wishes), progress notifications each second, and the call's cancel (or
//! its going away) stopping the run (`follow`, for profiles, suite runs and attaches alike).

use std::time::Duration;

use rmcp::handler::server::wrapper::Json;
use rmcp::model::{ProgressNotificationParam, ProgressToken};
use rmcp::service::RequestContext;
use rmcp::RoleServer;

use super::error::ToolError;
use super::params::ProfileSummary;
use super::server::ScaleneMcp;
use super::views;
use crate::engine::keep::cache::CachedProfile;
use crate::engine::{Engine, ProfileRequest, Program, RunHandle, RunId};

type ToolResult<T> = Result<Json<T>, ToolError>;

/// Cancels a run when the tool call goes away before the run ends (the partial profile is kept).
struct CancelOnDrop {
    engine: Engine,
    run_id: RunId,
    armed: bool,
}

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        if self.armed {
            self.engine.cancel(Some(self.run_id));
        }
    }
}

impl ScaleneMcp {
    /// The one place MCP asks for a run (`profile`, `profile_code`): the server's interpreter and
    /// start-up, with what the tool call says on top.
    pub(super) fn run_request(&self, program: Program, args: Vec<String>, mode: Option<crate::engine::Mode>, timeout: Duration) -> ProfileRequest {
        ProfileRequest {
            program: Some(program),
            args,
            mode: mode.unwrap_or_default(),
            python: self.inner.python.clone(),
            timeout: Some(timeout),
            startup: self.inner.startup,
            ..ProfileRequest::default()
        }
    }


    /// Runs a request to its end with progress notifications and cancellation, and summarizes it.
    pub(super) async fn run_and_summarize(
        &self,
        request: ProfileRequest,
        what: &str,
        limit: usize,
        context: &RequestContext<RoleServer>,
    ) -> ToolResult<ProfileSummary> {
        let (entry, run_id) = self.run_to_end(request, what, context).await?;
        let mut summary = views::summary(&entry, &self.roots(), limit);
        summary.run_id = Some(run_id.to_string());
        Ok(Json(summary))
    }

    /// Runs a request to its end with progress notifications and cancellation (the tool call going away
    /// stops a run it started); the final profile and the run's id.
    pub(super) async fn run_to_end(
        &self,
        request: ProfileRequest,
        what: &str,
        context: &RequestContext<RoleServer>,
    ) -> Result<(std::sync::Arc<CachedProfile>, RunId), ToolError> {
        let total = request.timeout.map(|timeout| timeout.as_secs_f64());
        let handle: RunHandle =
            self.engine().start(request).map_err(|err| ToolError::refused(format!("Scalene could not profile {what}: {err}")))?;
        let run_id = handle.run_id;
        let joined = if handle.joined { " (joined a run already in progress)" } else { "" };
        let first = format!("profiling {what} with Scalene ({run_id}){joined}");
        let entry = self
            .follow(handle, total, Some(first), |elapsed| format!("profiling {what}: {} s ({run_id})", elapsed.as_secs()), context)
            .await
            .map_err(|err| ToolError::refused(format!("Scalene could not profile {what}: {err}")))?;
        Ok((entry, run_id))
    }

    /// Follows a started run (a profile or an attach) to its end for a tool call: a progress notification
    /// each second (`tick`'s message; `total` seconds when known) to a client that asked for them, and the
    /// client's cancel (or the call going away) stops the run, unless it was joined: it belongs to another
    /// caller too (e.g. the editor).
    pub(super) async fn follow(
        &self,
        handle: RunHandle,
        total: Option<f64>,
        first: Option<String>,
        tick: impl Fn(Duration) -> String,
        context: &RequestContext<RoleServer>,
    ) -> Result<std::sync::Arc<CachedProfile>, crate::engine::EngineError> {
        let engine = self.engine().clone();
        let run_id = handle.run_id;
        let mut guard = CancelOnDrop { engine: engine.clone(), run_id, armed: !handle.joined };
        let token: Option<ProgressToken> = context.meta.get_progress_token();
        let progress = |elapsed: Duration, message: String| {
            let peer = context.peer.clone();
            let token = token.clone();
            async move {
                if let Some(token) = token {
                    let mut param = ProgressNotificationParam::new(token, elapsed.as_secs_f64().floor()).with_message(message);
                    if let Some(total) = total {
                        param = param.with_total(total.ceil());
                    }
                    let _ = peer.notify_progress(param).await;
                }
            }
        };
        if let Some(first) = first {
            progress(Duration::ZERO, first).await;
        }
        let mut wait = std::pin::pin!(handle.wait_with_ticks(|elapsed| progress(elapsed, tick(elapsed))));
        let result = tokio::select! {
            result = &mut wait => result,
            () = context.ct.cancelled() => {
                if guard.armed {
                    tracing::info!(%run_id, "the client cancelled the request: stopping the run");
                    engine.cancel(Some(run_id));
                }
                wait.await
            }
        };
        guard.armed = false;
        result
    }
}
