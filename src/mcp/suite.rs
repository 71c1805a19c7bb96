//! The test-suite tools: `profile_tests` (a pytest suite in one Scalene run, every sample given to the
//! test that was running) and `slowest_tests` (a suite run's tests, slowest first, bounded). A third tool
//! router, merged with tools.rs's in server.rs; the output is shaped in views/suite.rs.

use rmcp::handler::server::wrapper::{Json, Parameters};
use rmcp::service::RequestContext;
use rmcp::{RoleServer, tool, tool_router};

use super::error::ToolError;
use super::params::suite::*;
use super::params::{DEFAULT_LIMIT, MAX_LIMIT, clamp_limit, output_schema};
use super::server::ScaleneMcp;
use super::tools::{parse_profile_id, timeout};
use super::views;
use crate::engine::{Mode, Program};

type ToolResult<T> = Result<Json<T>, ToolError>;

#[tool_router(router = suite_router, vis = "pub(crate)")]
impl ScaleneMcp {
    #[tool(
        description = "Run the workspace's pytest suite ONCE under Scalene and rank its tests: each test's CPU seconds (the process's CPU time while it ran, measured) and percent of the suite's, setup/call/teardown apart (fixtures included), outcome (failed tests keep their numbers) and its 3 hottest lines (from the CPU samples taken while it ran: test code or code under test, with source). path: a folder or test file to run only its tests; args: pytest arguments (node ids, -k, -m; -n/xdist is refused). This EXECUTES the tests (no shell; pytest runs in the workspace root) and blocks until they end (timeout_s, default 600; the tests before a hanging one keep their numbers). Next: slowest_tests for more, line_profile / hotspots with the profile_id.",
        annotations(title = "Profile the test suite", read_only_hint = false, destructive_hint = true, idempotent_hint = false, open_world_hint = true),
        output_schema = output_schema::<SlowestTests>()
    )]
    pub async fn profile_tests(&self, Parameters(params): Parameters<ProfileTestsParams>, context: RequestContext<RoleServer>) -> ToolResult<SlowestTests> {
        let timeout = timeout(params.timeout_s, crate::engine::DEFAULT_TIMEOUT)?;
        let limit = clamp_limit(params.limit, DEFAULT_LIMIT, MAX_LIMIT);
        let roots = self.roots();
        let root = roots.resolve(".").map_err(ToolError::Refused)?;
        let mut args = Vec::new();
        if let Some(path) = params.path.as_deref() {
            let target = roots.resolve(path).map_err(ToolError::Refused)?;
            match target.strip_prefix(&root) {
                Ok(relative) if !relative.as_os_str().is_empty() => args.push(relative.display().to_string()),
                Ok(_) => {}
                Err(_) => args.push(target.display().to_string()),
            }
        }
        args.extend(params.args);
        let mut request = self.run_request(Program::Suite { dir: root.clone() }, args, Some(params.mode.unwrap_or(Mode::Cpu)), timeout);
        request.cwd = Some(root);
        let (entry, run_id) = self.run_to_end(request, "the test suite", &context).await?;
        let Some(suite) = entry.profile.tests.as_deref() else {
            return Err(ToolError::refused(format!("the suite run {run_id} has no tests to show (status {}). Fix: see its notes with list_profiles.", entry.profile.status.as_str())));
        };
        let mut view = views::suite::slowest(&entry, suite, &roots, None, limit);
        view.run_id = Some(run_id.to_string());
        Ok(Json(view))
    }

    #[tool(
        description = "The tests of a pytest suite run (profile_tests, or `scalene-lsp profile --tests` in the editor's session), slowest first: CPU seconds, percent of the suite's CPU time, setup/call/teardown, wall time, outcome and 3 hottest lines each. Bounded by limit (default 10, at most 100); path keeps only the tests defined in that file. Reads memory only: runs nothing.",
        annotations(title = "Slowest tests", read_only_hint = true, destructive_hint = false, idempotent_hint = true, open_world_hint = false),
        output_schema = output_schema::<SlowestTests>()
    )]
    pub async fn slowest_tests(&self, Parameters(params): Parameters<SlowestTestsParams>) -> ToolResult<SlowestTests> {
        let limit = clamp_limit(params.limit, DEFAULT_LIMIT, MAX_LIMIT);
        let roots = self.roots();
        let file = params.path.as_deref().map(|path| roots.resolve(path).map_err(ToolError::Refused)).transpose()?;
        let cache = self.engine().cache();
        let entry = match params.profile_id.as_deref() {
            Some(text) => {
                let id = parse_profile_id(text)?;
                cache.get(id).ok_or_else(|| ToolError::refused(format!("profile {id} is not in memory (cleared, replaced or expired). Fix: call list_profiles, or profile_tests again.")))?
            }
            None => cache.latest_suite(file.as_deref()).ok_or_else(|| {
                ToolError::refused("no pytest suite run is in memory. Fix: call profile_tests (it runs the suite once under Scalene).")
            })?,
        };
        let Some(suite) = entry.profile.tests.as_deref() else {
            return Err(ToolError::refused(format!("{} is not a suite run (it has no tests). Fix: pass a profile_id from profile_tests, or omit it.", entry.id)));
        };
        Ok(Json(views::suite::slowest(&entry, suite, &roots, file.as_deref(), limit)))
    }
}
