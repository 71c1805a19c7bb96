//! The attach tools: `list_python_processes` (the Python processes this user may attach to, the
//! workspace's first) and `attach` (py-spy samples one for a few seconds; the same summary as `profile`).
//! A tool router of its own, merged with tools.rs's in server.rs; a run followed like a profile
//! (`ScaleneMcp::follow`).

use std::path::Path;
use std::time::Duration;

use rmcp::handler::server::wrapper::{Json, Parameters};
use rmcp::service::RequestContext;
use rmcp::{RoleServer, tool, tool_router};

use super::error::ToolError;
use super::params::attach::*;
use super::params::{DEFAULT_LIMIT, MAX_LIMIT, ProfileSummary, clamp_limit, output_schema};
use super::server::ScaleneMcp;
use super::views;
use crate::engine::workspace::Roots;

type ToolResult<T> = Result<Json<T>, ToolError>;

#[tool_router(router = attach_router, vis = "pub(crate)")]
impl ScaleneMcp {
    #[tool(
        description = "List the running Python processes this user may attach to (pid, command_line, cwd, age_s, python_version, in_workspace), the workspace's own first. Next: attach {\"pid\": ...} samples one with py-spy.",
        annotations(title = "List Python processes", read_only_hint = true, destructive_hint = false, idempotent_hint = true, open_world_hint = false),
        output_schema = output_schema::<ProcessList>()
    )]
    pub async fn list_python_processes(&self, Parameters(_): Parameters<ListProcessesParams>) -> ToolResult<ProcessList> {
        let roots = self.roots();
        let processes = tokio::task::spawn_blocking(crate::engine::python_processes)
            .await
            .map_err(|err| ToolError::refused(format!("listing processes failed: {err}")))?;
        let mut rows: Vec<ProcessRow> = processes
            .into_iter()
            .map(|process| ProcessRow {
                in_workspace: in_workspace(&roots, &process),
                pid: process.pid,
                command_line: process.command_line,
                cwd: process.cwd.map(|cwd| cwd.display().to_string()),
                age_s: (process.age_s * 10.0).round() / 10.0,
                python_version: process.python_version,
            })
            .collect();
        rows.sort_by_key(|row| !row.in_workspace);
        Ok(Json(ProcessList { processes: rows }))
    }

    /// Sample a running Python process with py-spy.
    #[tool(
        description = "Attach py-spy to a running Python process (pid from list_python_processes) for duration_s seconds (default 5, at most 60) and return the same summary as profile, with source \"py-spy\": its numbers are wall-clock samples of the running threads of a process scalene-lsp did not start (no memory numbers). The process is never stopped and keeps running. Processes outside the workspace are refused unless the server allows it (editor setting mcp.allowCode, or `scalene-lsp mcp --allow-code`). Cancelling the request detaches and keeps the samples so far.",
        annotations(title = "Attach to a Python process", read_only_hint = false, destructive_hint = false, idempotent_hint = false, open_world_hint = true),
        output_schema = output_schema::<ProfileSummary>()
    )]
    pub async fn attach(&self, Parameters(params): Parameters<AttachParams>, context: RequestContext<RoleServer>) -> ToolResult<ProfileSummary> {
        let seconds = params.duration_s.unwrap_or(5.0);
        if !(seconds.is_finite() && seconds > 0.0 && seconds <= 60.0) {
            return Err(ToolError::invalid(format!("`duration_s` must be more than 0 and at most 60 seconds, got {seconds}")));
        }
        let limit = clamp_limit(params.limit, DEFAULT_LIMIT, MAX_LIMIT);
        let pid = params.pid;
        crate::engine::run::attach::procs::check_target(pid).map_err(|err| ToolError::refused(err.to_string()))?;
        let roots = self.roots();
        let process = crate::engine::PythonProcess {
            pid,
            command_line: crate::engine::run::attach::procs::command_line(pid),
            cwd: crate::engine::run::attach::procs::cwd(pid),
            age_s: 0.0,
            python_version: None,
            exe: None,
        };
        if !self.inner.allow_code && !in_workspace(&roots, &process) {
            return Err(ToolError::refused(format!(
                "process {pid} ({}) is not this workspace's (neither its working directory nor its command line is inside it), and reading another program's stacks is turned off for agents. Fix: attach to a process of this workspace (list_python_processes → in_workspace), or, if you trust every MCP client of this editor, enable the setting scalene mcp.allowCode (or start `scalene-lsp mcp --allow-code`).",
                process.command_line
            )));
        }
        let request = crate::engine::AttachRequest { duration: Some(Duration::from_secs_f64(seconds)), thread: params.thread.clone(), ..crate::engine::AttachRequest::new(pid) };
        request.validate().map_err(|problem| ToolError::invalid(problem.replace("--thread", "thread")))?;
        let handle = self.engine().start_attach(request).map_err(|err| ToolError::refused(err.to_string()))?;
        let run_id = handle.run_id;
        let tick = |elapsed: Duration| format!("attached to {pid}: {} s ({run_id})", elapsed.as_secs());
        let entry = self.follow(handle, Some(seconds), None, tick, &context).await.map_err(|err| ToolError::refused(err.to_string()))?;
        let mut summary = views::summary(&entry, &roots, limit);
        summary.run_id = Some(run_id.to_string());
        Ok(Json(summary))
    }
}

/// A process is the workspace's when its working directory or its command line names a path inside a
/// root.
fn in_workspace(roots: &Roots, process: &crate::engine::PythonProcess) -> bool {
    process.cwd.as_deref().is_some_and(|cwd| roots.contains(cwd))
        || process.command_line.split_whitespace().any(|word| Path::new(word).is_absolute() && roots.contains(Path::new(word)))
}
