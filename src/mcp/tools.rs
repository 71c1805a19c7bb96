//! The tools, one method each. Outcomes: structured output (with an output schema) on success; a tool
//! error (`isError`, text with the fix) when the tool ran and failed or refused (path outside the
//! workspace, no profile yet, Scalene could not run); `invalid_params` for a malformed request.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rmcp::handler::server::wrapper::{Json, Parameters};
use rmcp::service::RequestContext;
use rmcp::{RoleServer, tool, tool_router};

use super::error::ToolError;
use super::params::*;
use super::params::call_paths::*;
use super::server::ScaleneMcp;
use super::views;
use crate::engine::keep::cache::{CachedProfile, CoveredFile};
use crate::engine::workspace::Roots;
use crate::engine::{ProfileId, ProfileRequest, Program, RunId};

/// Default wall-clock limit of `profile_code` runs (`profile` uses the engine's `DEFAULT_TIMEOUT`).
const CODE_TIMEOUT: Duration = Duration::from_secs(120);
/// How long `pause` / `resume` wait for Scalene to confirm the switch before they answer `pending`
/// (a newer pause or resume of the run ends the wait at once: the newest wish is the one applied).
const RECORDING_WAIT: Duration = Duration::from_secs(5);

type ToolResult<T> = Result<Json<T>, ToolError>;

pub(super) fn parse_profile_id(text: &str) -> Result<ProfileId, ToolError> {
    ProfileId::parse(text.trim())
        .ok_or_else(|| ToolError::invalid(format!("`profile_id` must look like \"p3\" (from profile or list_profiles), got {text:?}")))
}

pub(super) fn timeout(timeout_s: Option<f64>, default: Duration) -> Result<Duration, ToolError> {
    match timeout_s {
        None => Ok(default),
        Some(seconds) => crate::engine::limits::seconds("`timeout_s`", seconds, 0.001, crate::engine::limits::MAX_TIMEOUT_S).map_err(ToolError::invalid),
    }
}

fn no_profile_for(display: &str) -> ToolError {
    ToolError::refused(format!(
        "no profile covers {display}. Fix: call profile {{\"path\": \"{display}\"}} first (or load_profile with a Scalene JSON file), then ask again; list_profiles shows what exists."
    ))
}

fn missing_profile(id: ProfileId) -> ToolError {
    ToolError::refused(format!("profile {id} is not in the cache (it was cleared, replaced by a newer run of the same program, or expired). Fix: call list_profiles for the current ids, or profile again."))
}

fn parse_run_id(text: &str) -> Result<RunId, ToolError> {
    RunId::parse(text.trim())
        .ok_or_else(|| ToolError::invalid(format!("`run_id` must look like \"run-3\" (from profile or list_profiles → runs), got {text:?}")))
}

fn not_measured(entry: &CachedProfile, display: &str) -> ToolError {
    ToolError::refused(format!(
        "profile {} has no measurements for {display}. Fix: profile the file (profile {{\"path\": \"{display}\"}}), or pick another profile (list_profiles).",
        entry.id
    ))
}

impl ScaleneMcp {
    /// A workspace file and the profile measuring it (`profile_id`, or the newest covering it), with
    /// the file's path as shown to the agent.
    fn profiled_file(&self, path: &str, profile_id: Option<&str>, run_id: Option<&str>) -> Result<(CoveredFile, String), ToolError> {
        let roots = self.roots();
        let path = roots.resolve(path).map_err(ToolError::Refused)?;
        let display = roots.display(&path);
        let covered = match (run_id, profile_id) {
            (Some(run_id), _) => {
                let entry = self.run_entry(run_id)?;
                CoveredFile::of(entry.clone(), &path).ok_or_else(|| not_measured(&entry, &display))?
            }
            (None, Some(text)) => {
                let id = parse_profile_id(text)?;
                let entry = self.engine().cache().get(id).ok_or_else(|| missing_profile(id))?;
                CoveredFile::of(entry.clone(), &path).ok_or_else(|| not_measured(&entry, &display))?
            }
            (None, None) => self.engine().cache().covering(&path).ok_or_else(|| no_profile_for(&display))?,
        };
        Ok((covered, display))
    }

    /// The profile `call_paths` reads: by run or id, else the newest covering the file, else the newest
    /// whose stacks pass through it (a file that only calls has stacks but may have no line numbers).
    fn call_paths_profile(&self, path: &Path, display: &str, profile_id: Option<&str>, run_id: Option<&str>) -> Result<std::sync::Arc<CachedProfile>, ToolError> {
        if let Some(run_id) = run_id {
            return self.run_entry(run_id);
        }
        let cache = self.engine().cache();
        if let Some(text) = profile_id {
            let id = parse_profile_id(text)?;
            return cache.get(id).ok_or_else(|| missing_profile(id));
        }
        if let Some(covered) = cache.covering(path) {
            return Ok(covered.entry);
        }
        cache
            .list()
            .into_iter()
            .rev()
            .find(|entry| entry.profile.call_paths.as_deref().is_some_and(|paths| views::call_paths::stack_file(paths, path, None).is_some()))
            .ok_or_else(|| no_profile_for(display))
    }

    /// A run's profile now: its newest live snapshot while it runs, its final profile afterwards.
    fn run_entry(&self, run_id: &str) -> Result<std::sync::Arc<CachedProfile>, ToolError> {
        let run_id = parse_run_id(run_id)?;
        self.engine().run_profile(run_id).map_err(|err| ToolError::refused(err.to_string()))
    }

    /// `pause` / `resume`.
    async fn switch_recording(&self, run_id: Option<&str>, on: bool) -> ToolResult<RecordingResult> {
        let run_id = run_id.map(parse_run_id).transpose()?;
        let change = self.engine().set_recording(run_id, on, RECORDING_WAIT).await.map_err(|err| ToolError::refused(err.to_string()))?;
        Ok(Json(RecordingResult {
            run_id: change.run_id.to_string(),
            requested: change.requested,
            recording: change.recording,
            changed: change.changed,
            pending: change.pending,
        }))
    }

    /// The profile a read tool works on: by id, else the newest covering `path`, else the newest.
    fn pick_profile(&self, profile_id: Option<&str>, path: Option<&Path>, roots: &Roots) -> Result<std::sync::Arc<CachedProfile>, ToolError> {
        let cache = self.engine().cache();
        if let Some(text) = profile_id {
            let id = parse_profile_id(text)?;
            return cache.get(id).ok_or_else(|| missing_profile(id));
        }
        if let Some(path) = path {
            return cache.latest_for_file(path).ok_or_else(|| no_profile_for(&roots.display(path)));
        }
        cache.list().pop().ok_or_else(|| {
            ToolError::refused("there are no profiles yet. Fix: call profile {\"path\": \"<file>.py\"} to run a file under Scalene, or load_profile {\"path\": \"<profile>.json\"}.")
        })
    }
}

#[tool_router(vis = "pub(crate)")]
impl ScaleneMcp {
    /// Run a Python file of the workspace under Scalene and return a compact summary.
    #[tool(
        description = "Run a Python file of the workspace under the Scalene profiler and return a compact summary: profile_id, status, elapsed_s, peak_mb, the hottest lines (path, line, source, cpu_percent, peak_mb), function totals and likely leaks; for a failed run the reason and the program's stderr tail. This EXECUTES the program (argv only, no shell; files inside the workspace only) and blocks until it ends (timeout_s, default 600); progress is reported when the request has a progressToken; cancelling the request stops the run and keeps the partial profile. The profile also appears in the editor. Next: hotspots / line_profile / function_profile with the profile_id.",
        annotations(title = "Profile a Python file", read_only_hint = false, destructive_hint = true, idempotent_hint = false, open_world_hint = true),
        output_schema = output_schema::<ProfileSummary>()
    )]
    pub async fn profile(&self, Parameters(params): Parameters<ProfileParams>, context: RequestContext<RoleServer>) -> ToolResult<ProfileSummary> {
        let timeout = timeout(params.timeout_s, crate::engine::DEFAULT_TIMEOUT)?;
        let limit = clamp_limit(params.limit, DEFAULT_LIMIT, MAX_LIMIT);
        let roots = self.roots();
        let path = roots.resolve(&params.path).map_err(ToolError::Refused)?;
        if !path.is_file() {
            return Err(ToolError::refused(format!("{} is not a file. Fix: pass a Python file (e.g. \"src/app.py\").", params.path)));
        }
        let display = roots.display(&path);
        let request = ProfileRequest {
            live: params.live.then_some(crate::engine::DEFAULT_LIVE_INTERVAL),
            paused: params.paused,
            ..self.run_request(Program::Script(path), params.args, params.mode, timeout)
        };
        if params.wait == Some(false) {
            let handle = self.engine().start(request).map_err(|err| ToolError::refused(format!("Scalene could not profile {display}: {err}")))?;
            let run = self.engine().run_info(handle.run_id);
            return match run {
                Some(run) => Ok(Json(views::started(&run, &roots))),
                // It ended at once (an error before Scalene started): its outcome says why.
                None => {
                    let entry = handle.wait().await.map_err(|err| ToolError::refused(format!("Scalene could not profile {display}: {err}")))?;
                    Ok(Json(views::summary(&entry, &roots, limit)))
                }
            };
        }
        self.run_and_summarize(request, &display, limit, &context).await
    }

    /// Ranked lines of a profile by a metric.
    #[tool(
        description = "The hottest lines of a profile, ranked by metric: cpu (percent of the run's CPU time, default), memory (peak MB), gpu, or leaks (likelihood). Each line has its path (relative to the workspace root), line number, source text, cpu_percent, peak_mb and alloc_mb. Without profile_id: the newest profile covering path, or the newest profile. Default 10 lines (limit up to 100); `total` says how many lines have a value.",
        annotations(title = "Hotspot lines", read_only_hint = true, destructive_hint = false, idempotent_hint = true, open_world_hint = false),
        output_schema = output_schema::<HotspotsResult>()
    )]
    pub async fn hotspots(&self, Parameters(params): Parameters<HotspotsParams>) -> ToolResult<HotspotsResult> {
        let limit = clamp_limit(params.limit, DEFAULT_LIMIT, MAX_LIMIT);
        let roots = self.roots();
        let path = params.path.as_deref().map(|path| roots.resolve(path)).transpose().map_err(ToolError::Refused)?;
        let entry = match params.run_id.as_deref() {
            Some(run_id) => self.run_entry(run_id)?,
            None => self.pick_profile(params.profile_id.as_deref(), path.as_deref(), &roots)?,
        };
        let profile = &entry.profile;
        if params.metric == Metric::Memory && !profile.memory {
            return Err(ToolError::refused(format!(
                "profile {} was made without memory profiling, so it has no memory numbers. Fix: profile again with mode \"memory\" (the default), or rank by metric \"cpu\".",
                entry.id
            )));
        }
        if params.metric == Metric::Gpu && !profile.gpu {
            return Err(ToolError::refused(format!("profile {} was made without GPU profiling. Fix: profile again with mode \"gpu\".", entry.id)));
        }
        let files: Vec<_> = match &path {
            Some(path) => {
                let index = entry.file_index(path).ok_or_else(|| not_measured(&entry, &roots.display(path)))?;
                vec![&profile.files[index]]
            }
            None => profile.files.iter().collect(),
        };
        let (total, ranked) = views::top_lines(params.metric, files.into_iter(), limit);
        let lines: Vec<HotLine> = ranked.into_iter().map(|(file, line, _)| views::hot_line(file, line, &roots, profile.gpu)).collect();
        let more = if total > lines.len() {
            format!("{} more lines: pass a larger limit (up to {MAX_LIMIT}), or line_profile {{\"path\": ...}} for every line of one file.", total - lines.len())
        } else {
            "This is every line with a value for this metric. line_profile {\"path\": ...} gives all numbers of a range.".into()
        };
        let snapshot = views::snapshot_info(&entry, self.engine());
        Ok(Json(HotspotsResult { profile_id: entry.id.to_string(), snapshot, metric: params.metric, total, lines, more }))
    }

    /// Every measured line of a file range with Scalene's numbers.
    #[tool(
        description = "Scalene's numbers for the lines of a file range (start_line..end_line, inclusive), from the newest profile covering the file (or profile_id): cpu_python, cpu_native, cpu_system (percent of the run), core_utilization, peak_mb, avg_mb, alloc_mb, mallocs, python_fraction, usage_fraction, copy_mb_s, gpu_percent, gpu_peak_mb (names of the normalized schema, unrounded), with the source text. Only lines with activity are listed (a missing line cost nothing measurable). Default 40 lines (limit up to 500); `more` says where to continue. `stale` is true when the file changed since it was profiled.",
        annotations(title = "Per-line numbers", read_only_hint = true, destructive_hint = false, idempotent_hint = true, open_world_hint = false),
        output_schema = output_schema::<LineProfileResult>()
    )]
    pub async fn line_profile(&self, Parameters(params): Parameters<LineProfileParams>) -> ToolResult<LineProfileResult> {
        let start = params.start_line.unwrap_or(1).max(1);
        let end = params.end_line.unwrap_or(u32::MAX);
        if end < start {
            return Err(ToolError::invalid(format!("`end_line` ({end}) is before `start_line` ({start})")));
        }
        let limit = clamp_limit(params.limit, DEFAULT_LINE_LIMIT, MAX_LINE_LIMIT);
        let (covered, display) = self.profiled_file(&params.path, params.profile_id.as_deref(), params.run_id.as_deref())?;
        let (entry, file) = (&covered.entry, covered.file());
        let in_range = file.lines_in(start..=end);
        let total = in_range.len();
        let lines: Vec<LineNumbers> = in_range.iter().take(limit).map(views::line_numbers).collect();
        let last_line = if file.source.is_empty() { file.lines.last().map_or(start, |line| line.line) } else { file.source.lines().count() as u32 };
        let end_line = end.min(last_line.max(start));
        let more = match (total > lines.len(), lines.last()) {
            (true, Some(last)) => format!(
                "{} more lines with activity: call line_profile {{\"path\": \"{display}\", \"start_line\": {}, \"end_line\": {end_line}}}.",
                total - lines.len(),
                last.numbers.line + 1
            ),
            _ => "This is every line with activity in the range.".into(),
        };
        Ok(Json(LineProfileResult {
            profile_id: entry.id.to_string(),
            snapshot: views::snapshot_info(entry, self.engine()),
            path: display,
            status: entry.profile.status.as_str().into(),
            start_line: start,
            end_line,
            total,
            lines,
            stale: views::is_stale(file),
            more,
        }))
    }

    /// Per-function totals of a file.
    #[tool(
        description = "Per-function totals of a file (CPU percent summed over the function's lines, largest line peak MB, MB allocated), hottest first, from the newest profile covering the file (or profile_id). With name (\"main\", \"Worker.run\"; a bare method name matches Class.name): that function and its hottest lines. Default 10 functions (limit up to 100).",
        annotations(title = "Function totals", read_only_hint = true, destructive_hint = false, idempotent_hint = true, open_world_hint = false),
        output_schema = output_schema::<FunctionProfileResult>()
    )]
    pub async fn function_profile(&self, Parameters(params): Parameters<FunctionProfileParams>) -> ToolResult<FunctionProfileResult> {
        let limit = clamp_limit(params.limit, DEFAULT_LIMIT, MAX_LIMIT);
        let (covered, display) = self.profiled_file(&params.path, params.profile_id.as_deref(), params.run_id.as_deref())?;
        let (entry, file) = (&covered.entry, covered.file());
        let roots = self.roots();
        let functions: Vec<_> = crate::engine::profile::model::ranked_functions(std::iter::once(file))
            .into_iter()
            .map(|(_, function)| function)
            .filter(|function| match params.name.as_deref() {
                Some(name) => function.name == name || function.name.rsplit('.').next() == Some(name),
                None => true,
            })
            .collect();
        if let Some(name) = params.name.as_deref()
            && functions.is_empty()
        {
            let known: Vec<&str> = file.functions.iter().take(20).map(|function| function.name.as_str()).collect();
            return Err(ToolError::refused(format!(
                "no measured function named {name:?} in {display} (profile {}). Measured functions: {}. Fix: use one of these names.",
                entry.id,
                if known.is_empty() { "none".to_string() } else { known.join(", ") }
            )));
        }
        let total = functions.len();
        let lines = match (params.name.as_deref(), functions.first()) {
            (Some(_), Some(function)) => views::top_lines(Metric::Cpu, std::iter::once(file), usize::MAX)
                .1
                .into_iter()
                .filter(|(_, line, _)| function.contains(line.line))
                .take(DEFAULT_LIMIT)
                .map(|(file, line, _)| views::hot_line(file, line, &roots, entry.profile.gpu))
                .collect(),
            _ => Vec::new(),
        };
        let paths = entry.profile.call_paths.as_deref();
        let stack_file = paths.and_then(|paths| views::call_paths::stack_file(paths, &file.path, None));
        let functions: Vec<FunctionRow> = functions
            .into_iter()
            .take(limit)
            .map(|function| FunctionRow {
                callers: match (paths, stack_file.as_deref()) {
                    (Some(paths), Some(stack_file)) => views::call_paths::top_callers(paths, stack_file, &function.name, &roots, FUNCTION_CALLERS),
                    _ => Vec::new(),
                },
                ..views::function_row(file, function, &roots)
            })
            .collect();
        let mut more = if total > functions.len() {
            format!("{} more functions: pass a larger limit (up to {MAX_LIMIT}).", total - functions.len())
        } else {
            format!("line_profile {{\"path\": \"{display}\", \"start_line\": <def line>, \"end_line\": <end_line>}} gives a function's lines.")
        };
        if paths.is_some() {
            more.push_str(&format!(" Who calls a function, what it calls and the costliest paths into it: call_paths {{\"path\": \"{display}\", \"function\": <name>}}."));
        }
        let snapshot = views::snapshot_info(entry, self.engine());
        Ok(Json(FunctionProfileResult { profile_id: entry.id.to_string(), snapshot, path: display, total, functions, lines, more }))
    }

    /// Who calls a function or line, at what cost, and what it calls.
    #[tool(
        description = "Why is this slow: who calls it and at what cost. For a function (function: \"score\", \"Worker.run\") or a line (line: N) of a file, from Scalene's sampled stacks: its inclusive share of the run (itself plus everything it calls) and its self share; its callers (function, path, call line, percent of the run and of the target's total), costliest first, so you see which call site to optimise or avoid; its callees (Python functions, and native code such as numpy's or the interpreter's, marked native with their module); and the costliest call chains into it (\"main (main.py:22) → heavy_batch (main.py:11) → score (helpers.py:4)\"). weight: cpu (default) or memory (MB allocated, memory-mode profiles). From the newest profile covering the file (or profile_id / run_id). Default 5 of each (limit up to 50). Needs a profile with stacks (Scalene >= 2.3).",
        annotations(title = "Callers, callees and call paths", read_only_hint = true, destructive_hint = false, idempotent_hint = true, open_world_hint = false),
        output_schema = output_schema::<CallPathsResult>()
    )]
    pub async fn call_paths(&self, Parameters(params): Parameters<CallPathsParams>) -> ToolResult<CallPathsResult> {
        let target = match (params.function.as_deref().map(str::trim), params.line) {
            (Some(name), None) if !name.is_empty() => views::call_paths::Target::Function(name),
            (None, Some(line)) if line >= 1 => views::call_paths::Target::Line(line),
            (None, Some(_)) => return Err(ToolError::invalid("`line` is 1-based: pass a line number of at least 1")),
            (Some(_), Some(_)) => return Err(ToolError::invalid("give either `function` or `line`, not both")),
            _ => return Err(ToolError::invalid("give `function` (a function name of the file) or `line` (a line number)")),
        };
        let limit = clamp_limit(params.limit, DEFAULT_CALL_LIMIT, MAX_CALL_LIMIT);
        let roots = self.roots();
        let path = roots.resolve(&params.path).map_err(ToolError::Refused)?;
        let display = roots.display(&path);
        let entry = self.call_paths_profile(&path, &display, params.profile_id.as_deref(), params.run_id.as_deref())?;
        let Some(paths) = entry.profile.call_paths.as_deref() else {
            let version = entry.profile.scalene_version.as_deref().map(|version| format!(", made with Scalene {version}")).unwrap_or_default();
            return Err(ToolError::refused(format!(
                "Scalene recorded no stacks for this profile ({}{version}), so it has no call paths: its lines and functions have numbers, but not who called them. Fix: profile again with Scalene >= 2.3 (pip install -U scalene), with call paths on (profile_file records them; the CLI's --no-call-paths and the editor setting callPaths: false leave them out); function_profile and line_profile still answer from this profile.",
                entry.id
            )));
        };
        let profiled = entry.file_index(&path).map(|index| &entry.profile.files[index]);
        let stack_file = views::call_paths::stack_file(paths, &path, profiled.map(|file| file.path.as_path())).ok_or_else(|| {
            ToolError::refused(format!(
                "no sampled stack of profile {} passes through {display}. Files in its stacks: {}. Fix: ask about one of these files, or profile a run that exercises {display}.",
                entry.id,
                views::call_paths::files_in_stacks(paths, &roots)
            ))
        })?;
        let query = views::call_paths::CallPathsQuery {
            profile_id: entry.id.to_string(),
            snapshot: views::snapshot_info(&entry, self.engine()),
            paths,
            file: &stack_file,
            profiled,
            target,
            weight: params.weight,
            limit,
            roots: &roots,
        };
        views::call_paths::call_paths_view(&query).map(Json).map_err(ToolError::Refused)
    }

    /// The profiles in memory and the runs in progress.
    #[tool(
        description = "The profiles in memory, newest first (including the ones the developer made in the editor): profile_id, status, program, origin (run or loaded), elapsed_s, peak_mb, age_s, hottest line; and the runs in progress (run ids for cancel). Call this first to reuse an existing profile instead of running the program again.",
        annotations(title = "List profiles", read_only_hint = true, destructive_hint = false, idempotent_hint = true, open_world_hint = false),
        output_schema = output_schema::<ListProfilesResult>()
    )]
    pub async fn list_profiles(&self, Parameters(params): Parameters<ListProfilesParams>) -> ToolResult<ListProfilesResult> {
        Ok(Json(views::profile_listing(self.engine(), &self.roots(), clamp_limit(params.limit, 20, MAX_LIMIT))))
    }

    /// Load an existing Scalene JSON file.
    #[tool(
        description = "Load an existing Scalene JSON profile (written by `scalene run -o FILE.json`, e.g. in CI) from the workspace, without running anything, and return its summary like profile does. Files it names that do not exist here are matched to the workspace. The profile also appears in the editor.",
        annotations(title = "Load a Scalene JSON profile", read_only_hint = false, destructive_hint = false, idempotent_hint = true, open_world_hint = false),
        output_schema = output_schema::<ProfileSummary>()
    )]
    pub async fn load_profile(&self, Parameters(params): Parameters<LoadProfileParams>) -> ToolResult<ProfileSummary> {
        let limit = clamp_limit(params.limit, DEFAULT_LIMIT, MAX_LIMIT);
        let roots = self.roots();
        let path = roots.resolve(&params.path).map_err(ToolError::Refused)?;
        let entry = self
            .engine()
            .load_json(&path, roots.as_slice(), self.engine().settings().max_profile_bytes)
            .await
            .map_err(|err| ToolError::refused(format!("could not load {}: {err}", roots.display(&path))))?;
        Ok(Json(views::summary(&entry, &roots, limit)))
    }

    /// Forget one profile or all.
    #[tool(
        description = "Forget a profile (profile_id) or all profiles (no arguments); the editor's annotations for them disappear too. Returns how many were cleared.",
        annotations(title = "Clear profiles", read_only_hint = false, destructive_hint = true, idempotent_hint = true, open_world_hint = false),
        output_schema = output_schema::<ClearResult>()
    )]
    pub async fn clear(&self, Parameters(params): Parameters<ClearParams>) -> ToolResult<ClearResult> {
        let cache = self.engine().cache();
        let cleared = match params.profile_id.as_deref() {
            Some(text) => usize::from(cache.remove(parse_profile_id(text)?)),
            None => {
                let n = cache.list().len();
                cache.clear();
                n
            }
        };
        cache.run_pending_tasks();
        Ok(Json(ClearResult { cleared }))
    }

    /// Stop a run in progress.
    #[tool(
        description = "Stop a profiling run in progress (run_id like \"run-3\", from list_profiles → running or profile's progress messages; the newest run when absent). The run ends with status cancelled and its partial profile is kept. Cancelling the profile request itself does the same.",
        annotations(title = "Cancel a run", read_only_hint = false, destructive_hint = false, idempotent_hint = true, open_world_hint = false),
        output_schema = output_schema::<CancelResult>()
    )]
    pub async fn cancel(&self, Parameters(params): Parameters<CancelParams>) -> ToolResult<CancelResult> {
        let run_id = match params.run_id.as_deref() {
            Some(text) => Some(RunId::parse(text.trim()).ok_or_else(|| {
                ToolError::invalid(format!("`run_id` must look like \"run-3\" (from list_profiles → running), got {text:?}"))
            })?),
            None => self.engine().running().last().copied(),
        };
        let cancelled = self.engine().cancel(run_id);
        Ok(Json(CancelResult { cancelled, run_id: run_id.map(|id| id.to_string()) }))
    }

    /// Switch recording on in a run.
    #[tool(
        description = "Switch recording on in a run in progress (run_id like \"run-3\"; the newest run when absent): Scalene measures from now on. With a run started with paused true, resume then pause records only that window (the profile's elapsed_s is the recorded time). Answers once Scalene confirmed it (requested: what was asked, recording: the confirmed state), or after at most 5 s with pending true (list_profiles → runs shows it later); calls may overlap: the state asked for last wins. Fails with the reason when the run has ended or Scalene did not start the program.",
        annotations(title = "Resume recording", read_only_hint = false, destructive_hint = false, idempotent_hint = true, open_world_hint = false),
        output_schema = output_schema::<RecordingResult>()
    )]
    pub async fn resume(&self, Parameters(params): Parameters<RecordingParams>) -> ToolResult<RecordingResult> {
        self.switch_recording(params.run_id.as_deref(), true).await
    }

    /// Switch recording off in a run.
    #[tool(
        description = "Switch recording off in a run in progress (run_id like \"run-3\"; the newest run when absent): the program goes on unmeasured until resume. Scalene writes the profile so far, which becomes the run's snapshot (hotspots {\"run_id\": ...} reads it). Answers once the pause holds (recording false), or after at most 5 s with pending true; a resume sent meanwhile wins (the state asked for last is applied). Fails with the reason when the run has ended.",
        annotations(title = "Pause recording", read_only_hint = false, destructive_hint = false, idempotent_hint = true, open_world_hint = false),
        output_schema = output_schema::<RecordingResult>()
    )]
    pub async fn pause(&self, Parameters(params): Parameters<RecordingParams>) -> ToolResult<RecordingResult> {
        self.switch_recording(params.run_id.as_deref(), false).await
    }

    /// The Python processes one may attach to.
    /// Run a code snippet under Scalene (off unless allowed).
    #[tool(
        description = "Run a Python snippet under Scalene and return the same summary as profile (working directory: the workspace root, which is also on PYTHONPATH so workspace modules import). Turned off unless the server was started with code execution allowed (editor setting mcp.allowCode); prefer profile on a workspace file.",
        annotations(title = "Profile a code snippet", read_only_hint = false, destructive_hint = true, idempotent_hint = false, open_world_hint = true),
        output_schema = output_schema::<ProfileSummary>()
    )]
    pub async fn profile_code(&self, Parameters(params): Parameters<ProfileCodeParams>, context: RequestContext<RoleServer>) -> ToolResult<ProfileSummary> {
        if !self.inner.allow_code {
            return Err(ToolError::refused(
                "profile_code is turned off: it would run arbitrary code sent by the client. Fix: save the code as a file in the workspace and call profile {\"path\": ...}; or, if you trust every MCP client of this editor, enable the setting scalene mcp.allowCode (or start `scalene-lsp mcp --allow-code`).",
            ));
        }
        let timeout = timeout(params.timeout_s, CODE_TIMEOUT)?;
        let limit = clamp_limit(params.limit, DEFAULT_LIMIT, MAX_LIMIT);
        let roots = self.roots();
        let Some(root) = roots.first().map(Path::to_path_buf) else {
            return Err(ToolError::refused("no workspace root is known. Fix: open a workspace folder first."));
        };
        let dir = tempfile::Builder::new().prefix("scalene-lsp-code-").tempdir().map_err(|err| {
            ToolError::refused(format!("cannot create a temporary directory for the snippet: {err}. Fix: check that the system temp dir is writable."))
        })?;
        let script: PathBuf = dir.path().join("snippet.py");
        std::fs::write(&script, params.code.as_bytes())
            .map_err(|err| ToolError::refused(format!("cannot write the snippet to {}: {err}", script.display())))?;
        let python_path = match std::env::var_os("PYTHONPATH").filter(|value| !value.is_empty()) {
            Some(existing) => format!("{}:{}", root.display(), existing.to_string_lossy()),
            None => root.display().to_string(),
        };
        let request = ProfileRequest {
            cwd: Some(root.clone()),
            project_root: Some(root),
            program_path: Some(dir.path().to_path_buf()),
            env: vec![("PYTHONPATH".into(), python_path)],
            ..self.run_request(Program::Script(script), params.args, params.mode, timeout)
        };
        let result = self.run_and_summarize(request, "the snippet", limit, &context).await;
        drop(dir);
        result
    }
}
