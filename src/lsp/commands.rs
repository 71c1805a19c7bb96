//! workspace/executeCommand: the command ids (one enum), their typed arguments, and their handling.
//! Every command returns at once; profiling goes on in a spawned task (progress.rs).

use std::sync::Arc;

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::{ExecuteCommandParams, Uri};

use super::compare;
use super::error::{engine_error, invalid_params, request_failed};
use super::progress;
use super::session::{EditorRun, Session, uri_path};
use super::settings::RunOverrides;
use std::path::{Path, PathBuf};

use crate::engine::{EngineError, Mode, RunId, Program};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Command {
    Profile,
    Cancel,
    Clear,
    LoadProfile,
    Toggle,
    SaveBaseline,
    Compare,
    ExitCompare,
    Pause,
    Resume,
    ProfileTest,
    ListProcesses,
    Attach,
    ExportProfile,
    ProfileTests,
}

impl Command {
    pub fn all() -> &'static [Command] {
        &[
            Command::Profile,
            Command::Cancel,
            Command::Clear,
            Command::LoadProfile,
            Command::Toggle,
            Command::SaveBaseline,
            Command::Compare,
            Command::ExitCompare,
            Command::Pause,
            Command::Resume,
            Command::ProfileTest,
            Command::ListProcesses,
            Command::Attach,
            Command::ExportProfile,
            Command::ProfileTests,
        ]
    }

    pub fn id(self) -> &'static str {
        match self {
            Command::Profile => "scalene.profile",
            Command::Cancel => "scalene.cancel",
            Command::Clear => "scalene.clear",
            Command::LoadProfile => "scalene.loadProfile",
            Command::Toggle => "scalene.toggle",
            Command::SaveBaseline => "scalene.saveBaseline",
            Command::Compare => "scalene.compare",
            Command::ExitCompare => "scalene.exitCompare",
            Command::Pause => "scalene.pause",
            Command::Resume => "scalene.resume",
            Command::ProfileTest => "scalene.profileTest",
            Command::ListProcesses => "scalene.listProcesses",
            Command::Attach => "scalene.attach",
            Command::ExportProfile => "scalene.exportProfile",
            Command::ProfileTests => "scalene.profileTests",
        }
    }

    fn expected(self) -> &'static str {
        match self {
            Command::Profile => {
                "{uri, args?: [string], mode?: \"cpu\"|\"memory\"|\"gpu\", python?: string, live?: bool, paused?: bool}"
            }
            Command::Cancel => "{run_id?: string}",
            Command::Pause | Command::Resume => "{run_id?: string} (alias runId; the newest run when absent)",
            Command::ProfileTest => "{uri, name: string (\"test_x\" or \"TestA::test_b\"), mode?, python?, live?: bool, paused?: bool}",
            Command::Clear => "{uri?: string}",
            Command::LoadProfile => "{path: string}",
            Command::Toggle => "no arguments",
            Command::SaveBaseline => "{uri, name?: string}",
            Command::Compare => "{uri, baseline?: string, runs?: number}",
            Command::ExitCompare => "no arguments",
            Command::ListProcesses => "no arguments or {}",
            Command::ExportProfile => "{path: string (absolute), format: \"flamegraph\" | \"speedscope\" | \"collapsed\" | \"cpuprofile\", uri?: string, weight?: \"cpu\" | \"memory\"}",
            Command::Attach => "{pid: number, duration?: number (seconds, default: until scalene.cancel), live?: bool (default true)}",
            Command::ProfileTests => PROFILE_TESTS_EXPECTED,
        }
    }

    pub fn from_id(id: &str) -> Option<Command> {
        Command::all().iter().copied().find(|command| command.id() == id)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProfileArgs {
    uri: String,
    args: Option<Vec<String>>,
    mode: Option<Mode>,
    python: Option<String>,
    #[serde(default)]
    live: bool,
    #[serde(default)]
    paused: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProfileTestArgs {
    uri: String,
    name: String,
    args: Option<Vec<String>>,
    mode: Option<Mode>,
    python: Option<String>,
    #[serde(default)]
    live: bool,
    #[serde(default)]
    paused: bool,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct CancelArgs {
    #[serde(alias = "runId")]
    run_id: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ClearArgs {
    uri: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExportArgs {
    path: String,
    format: String,
    uri: Option<String>,
    weight: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AttachArgs {
    pid: u32,
    duration: Option<f64>,
    live: Option<bool>,
    thread: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LoadArgs {
    path: String,
}

/// The command's single argument object (absent means `{}`), with errors naming the field.
fn arguments<T: DeserializeOwned>(command: Command, arguments: &[Value]) -> Result<T> {
    if arguments.len() > 1 {
        return Err(invalid_params(format!(
            "{} takes one argument object {}, got {} arguments",
            command.id(),
            command.expected(),
            arguments.len()
        )));
    }
    let value = arguments.first().cloned().unwrap_or_else(|| json!({}));
    serde_path_to_error::deserialize(value).map_err(|err| {
        let path = err.path().to_string();
        let at = if path == "." { String::new() } else { format!(" at `{path}`") };
        invalid_params(format!("{}: bad argument{at}: {}. Expected {}", command.id(), err.inner(), command.expected()))
    })
}

fn parse_uri(command: Command, text: &str) -> Result<(Uri, std::path::PathBuf)> {
    let uri: Uri = text
        .parse()
        .map_err(|_| invalid_params(format!("{}: `uri` is not a valid URI: {text:?}", command.id())))?;
    let path = uri_path(&uri).ok_or_else(|| {
        invalid_params(format!(
            "{}: only file:// URIs are supported (scalene-lsp runs files on this machine's disk), got a `{}:` URI {text:?}. Fix: save the file to disk and profile it there.",
            command.id(),
            uri.scheme().as_str()
        ))
    })?;
    Ok((uri, path))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ProfileTestsArgs {
    /// A workspace folder, or a file or folder inside one (then only its tests run).
    uri: Option<String>,
    /// Paths or node ids relative to the folder the suite runs in (`tests/test_x.py::test_a`).
    filter: Option<Vec<String>>,
    /// More pytest arguments (`-k`, `-m`).
    args: Option<Vec<String>>,
    mode: Option<Mode>,
    python: Option<String>,
}

const PROFILE_TESTS_EXPECTED: &str = "{uri?: string (a workspace folder, or a file or folder in one: only its tests run), filter?: [string] (paths or node ids \
relative to the workspace folder, e.g. \"tests/test_x.py::test_a\"), args?: [string] (more pytest arguments: -k, -m), mode?, python?}";

/// `scalene.profileTests`: the suite run in the workspace folder holding `uri` (the first workspace folder
/// without one), started like any run; returns at once.
fn profile_tests(session: &Arc<Session>, args: ProfileTestsArgs) -> Result<Option<Value>> {
    let command = Command::ProfileTests;
    let roots = session.roots();
    let target = match &args.uri {
        Some(text) => {
            let uri: Uri = text.parse().map_err(|_| invalid_params(format!("{}: `uri` is not a valid URI: {text:?}", command.id())))?;
            let path = uri_path(&uri).ok_or_else(|| invalid_params(format!("{}: only file:// URIs are supported, got {text:?}", command.id())))?;
            Some(session.confine(&path).map_err(request_failed)?)
        }
        None => None,
    };
    // The folder pytest runs in: the workspace folder holding the target, else the target's own folder.
    let dir: PathBuf = match &target {
        Some(path) => roots
            .iter()
            .filter(|root| path.starts_with(root))
            .max_by_key(|root| root.as_os_str().len())
            .cloned()
            .unwrap_or_else(|| if path.is_dir() { path.clone() } else { path.parent().map(Path::to_path_buf).unwrap_or_default() }),
        None => roots.first().cloned().ok_or_else(|| {
            request_failed("scalene.profileTests: no workspace folder is open. Fix: open the project's folder, or pass `uri` (a folder or a test file).")
        })?,
    };
    let mut pytest_args: Vec<String> = Vec::new();
    if let Some(path) = target.as_ref().filter(|path| **path != dir)
        && let Ok(relative) = path.strip_prefix(&dir)
    {
        pytest_args.push(relative.display().to_string());
    }
    pytest_args.extend(args.filter.unwrap_or_default());
    pytest_args.extend(args.args.unwrap_or_default());
    let uri = Uri::from_file_path(&dir).ok_or_else(|| request_failed(format!("{}: cannot name {} as a URI", command.id(), dir.display())))?;
    let run = RunOverrides { args: Some(pytest_args), mode: args.mode, python: args.python, live: false, paused: false };
    start_run(session, uri, Program::Suite { dir }, run, Some(progress::SUITE.to_string()))
}

/// Starts a run (returns at once) and follows it in a spawned task.
fn start_run(session: &Arc<Session>, uri: Uri, program: Program, run: RunOverrides, test: Option<String>) -> Result<Option<Value>> {
    let settings = session.settings();
    let request = settings.run_request(program, run);
    let live = request.live.is_some();
    let handle = session.engine.start(request).map_err(|err| engine_error(&err))?;
    let run_id = handle.run_id;
    if !handle.joined {
        let token = format!("scalene-{run_id}");
        session.runs.insert(run_id, EditorRun { uri: uri.clone(), token: token.clone() });
        let what = progress::RunTitle { test, attached: None, live, compare: false };
        tokio::spawn(progress::track_run(session.clone(), handle, uri, token, what, None));
    }
    Ok(Some(json!({ "run_id": run_id.to_string() })))
}

fn parse_run_id(command: Command, text: Option<&str>) -> Result<Option<RunId>> {
    match text {
        Some(text) => Ok(Some(RunId::parse(text.trim()).ok_or_else(|| {
            invalid_params(format!("{}: `run_id` must look like \"run-3\", got {text:?}", command.id()))
        })?)),
        None => Ok(None),
    }
}

/// A pause or resume that could not happen: the run named (or none) is not there, or not yet.
fn recording_error(err: &EngineError) -> tower_lsp_server::jsonrpc::Error {
    match err {
        EngineError::UnknownRun { .. } => invalid_params(err.to_string()),
        _ => engine_error(err),
    }
}

pub async fn handle_execute_command(session: &Arc<Session>, params: ExecuteCommandParams) -> Result<Option<Value>> {
    let Some(command) = Command::from_id(&params.command) else {
        let known: Vec<&str> = Command::all().iter().map(|command| command.id()).collect();
        return Err(invalid_params(format!("unknown command {:?}; expected one of {}", params.command, known.join(", "))));
    };
    match command {
        Command::Profile => {
            let args: ProfileArgs = arguments(command, &params.arguments)?;
            let (uri, path) = parse_uri(command, &args.uri)?;
            let path = session.confine(&path).map_err(request_failed)?;
            let run = RunOverrides { args: args.args, mode: args.mode, python: args.python, live: args.live, paused: args.paused };
            start_run(session, uri, Program::Script(path), run, None)
        }
        Command::ProfileTest => {
            let args: ProfileTestArgs = arguments(command, &params.arguments)?;
            let (uri, path) = parse_uri(command, &args.uri)?;
            let path = session.confine(&path).map_err(request_failed)?;
            let Some(test) = Program::test(path, &args.name) else {
                return Err(invalid_params(format!("{}: `name` must name a test (\"test_x\" or \"TestA::test_b\"), got {:?}", command.id(), args.name)));
            };
            let name = test.test_name().map(str::to_string);
            let run = RunOverrides { args: args.args, mode: args.mode, python: args.python, live: args.live, paused: args.paused };
            start_run(session, uri, test, run, name)
        }
        Command::ProfileTests => {
            let args: ProfileTestsArgs = arguments(command, &params.arguments)?;
            profile_tests(session, args)
        }
        Command::ListProcesses => {
            let _: ClearArgs = arguments(command, &params.arguments)?;
            let roots = session.roots();
            let processes = tokio::task::spawn_blocking(crate::engine::python_processes).await.map_err(|err| request_failed(err.to_string()))?;
            // The workspace's own processes first (working directory or script inside a root).
            let in_workspace = |process: &crate::engine::PythonProcess| {
                process.cwd.as_ref().is_some_and(|cwd| roots.iter().any(|root| cwd.starts_with(root)))
                    || roots.iter().any(|root| process.command_line.contains(&*root.to_string_lossy()))
            };
            let mut listed: Vec<(bool, Value)> = processes
                .iter()
                .map(|process| {
                    let inside = in_workspace(process);
                    (inside, json!({
                        "pid": process.pid,
                        "command_line": process.command_line,
                        "cwd": process.cwd.as_ref().map(|cwd| cwd.display().to_string()),
                        "age_s": process.age_s,
                        "python_version": process.python_version,
                        "in_workspace": inside,
                    }))
                })
                .collect();
            listed.sort_by_key(|(inside, _)| !*inside);
            Ok(Some(json!({ "processes": listed.into_iter().map(|(_, value)| value).collect::<Vec<_>>() })))
        }
        Command::Attach => {
            let args: AttachArgs = arguments(command, &params.arguments)?;
            let duration = match args.duration {
                None => None,
                Some(seconds) if seconds.is_finite() && seconds > 0.0 && seconds <= crate::engine::run::attach::MAX_DURATION_S => Some(std::time::Duration::from_secs_f64(seconds)),
                Some(seconds) => return Err(invalid_params(format!("{}: `duration` must be more than 0 and at most a day (seconds), got {seconds}", command.id()))),
            };
            let live = args.live.unwrap_or(true).then_some(std::time::Duration::from_secs(1));
            let request = crate::engine::AttachRequest { duration, live, thread: args.thread, ..crate::engine::AttachRequest::new(args.pid) };
            request.validate().map_err(|problem| invalid_params(format!("{}: {}", command.id(), problem.replace("--thread", "`thread`"))))?;
            // The checks read /proc only: cheap enough to answer the request with their error.
            crate::engine::run::attach::procs::check_target(args.pid).map_err(|err| engine_error(&err))?;
            let handle = session.engine.start_attach(request).map_err(|err| engine_error(&err))?;
            let run_id = handle.run_id;
            // The run's document: the target's script when it is a file, else its working directory.
            let arguments = crate::engine::run::attach::procs::arguments(args.pid);
            let cwd = crate::engine::run::attach::procs::cwd(args.pid);
            let program = std::path::PathBuf::from(crate::engine::run::attach::procs::program_of(&arguments, cwd.as_deref()));
            let place = if program.is_file() { Some(program) } else { cwd };
            let uri = place.and_then(|path| Uri::from_file_path(&path)).unwrap_or_else(|| "file:///".parse().expect("a valid URI"));
            let token = format!("scalene-{run_id}");
            session.runs.insert(run_id, EditorRun { uri: uri.clone(), token: token.clone() });
            let what = progress::RunTitle { test: None, attached: Some(args.pid), live: live.is_some(), compare: false };
            tokio::spawn(progress::track_run(session.clone(), handle, uri, token, what, None));
            Ok(Some(json!({ "run_id": run_id.to_string(), "pid": args.pid })))
        }
        Command::ExportProfile => {
            let args: ExportArgs = arguments(command, &params.arguments)?;
            export_profile(session, command, args).await
        }
        Command::Cancel => {
            let args: CancelArgs = arguments(command, &params.arguments)?;
            let run_id = parse_run_id(command, args.run_id.as_deref())?;
            Ok(Some(json!({ "cancelled": session.engine.cancel(run_id) })))
        }
        Command::Pause | Command::Resume => {
            let args: CancelArgs = arguments(command, &params.arguments)?;
            let run_id = parse_run_id(command, args.run_id.as_deref())?;
            let on = command == Command::Resume;
            // Only records the wish: the run's own task switches Scalene, and the run's progress
            // (progress::track_run) reports the outcome.
            let change = session.engine.request_recording(run_id, on).map_err(|err| recording_error(&err))?;
            Ok(Some(json!({
                "run_id": change.run_id.to_string(),
                "requested": change.requested,
                "recording": change.recording,
                "changed": change.changed,
                "pending": change.pending,
            })))
        }
        Command::Clear => {
            let args: ClearArgs = arguments(command, &params.arguments)?;
            let cache = session.engine.cache();
            let cleared = match args.uri.as_deref() {
                Some(text) => {
                    let (_, path) = parse_uri(command, text)?;
                    let canonical = path.canonicalize().unwrap_or_else(|_| path.clone());
                    let n_cleared = cache.remove_covering(&path);
                    n_cleared + if canonical != path { cache.remove_covering(&canonical) } else { 0 }
                }
                None => {
                    let n_profiles = cache.list().len();
                    cache.clear();
                    n_profiles
                }
            };
            // Removals reach the editor through the cache's events (server::follow_cache).
            cache.run_pending_tasks();
            Ok(Some(json!({ "cleared": cleared })))
        }
        Command::LoadProfile => {
            let args: LoadArgs = arguments(command, &params.arguments)?;
            let max_bytes = session.settings().max_profile_bytes;
            let entry = session
                .engine
                .load_json(std::path::Path::new(&args.path), &session.roots(), max_bytes)
                .await
                .map_err(|err| engine_error(&err))?;
            let files: Vec<String> = entry
                .profile
                .files
                .iter()
                .filter_map(|file| Uri::from_file_path(&file.path))
                .map(|uri| uri.as_str().to_string())
                .collect();
            Ok(Some(json!({ "profile_id": entry.id.to_string(), "files": files, "status": entry.profile.status.as_str() })))
        }
        Command::Toggle => {
            let no_arguments = params.arguments.iter().all(|argument| argument.is_null() || argument == &json!({}));
            if !no_arguments {
                return Err(invalid_params(format!(
                    "scalene.toggle takes no arguments (it shows hidden annotations or hides shown ones), but got {}. Fix: call it with no arguments.",
                    Value::Array(params.arguments.clone())
                )));
            }
            let visible = session.toggle_visibility();
            tokio::spawn(progress::after_profile_change(session.clone()));
            Ok(Some(json!({ "visible": visible })))
        }
        Command::SaveBaseline => {
            let args: compare::SaveBaselineArgs = arguments(command, &params.arguments)?;
            let (_, path) = parse_uri(command, &args.uri)?;
            compare::save_baseline(session, &path, args).await.map(Some)
        }
        Command::Compare => {
            let args: compare::CompareArgs = arguments(command, &params.arguments)?;
            let (uri, path) = parse_uri(command, &args.uri)?;
            compare::compare(session, uri, path, args).await.map(Some)
        }
        Command::ExitCompare => {
            let _: ClearArgs = arguments(command, &params.arguments)?;
            Ok(Some(compare::exit_compare(session)))
        }
    }
}

/// `scalene.exportProfile`: the newest profile covering `uri` (else the newest) written as `format` to
/// the absolute `path` (checked first, written whole off the async threads). Answers what was written.
async fn export_profile(session: &Arc<Session>, command: Command, args: ExportArgs) -> Result<Option<Value>> {
    use crate::engine::keep::export_file;
    use crate::engine::profile::call_paths::Weight;
    use crate::engine::profile::export::{ExportFormat, export};
    let format = args.format.parse::<ExportFormat>().map_err(|problem| invalid_params(format!("{}: {problem}", command.id())))?;
    let weight = match args.weight.as_deref() {
        None | Some("cpu") => Weight::Cpu,
        Some("memory") => Weight::Memory,
        Some(other) => return Err(invalid_params(format!("{}: `weight` must be \"cpu\" or \"memory\", not {other:?}", command.id()))),
    };
    let path = std::path::PathBuf::from(&args.path);
    if !path.is_absolute() {
        return Err(invalid_params(format!("{}: `path` must be an absolute file path, got {:?}", command.id(), args.path)));
    }
    if let Some(problem) = export_file::unwritable(&path) {
        return Err(request_failed(format!("cannot write {} to {}: {problem}", format.describe(), path.display())));
    }
    let cache = session.engine.cache();
    let covering = match &args.uri {
        Some(text) => Some(parse_uri(command, text)?.1),
        None => None,
    };
    let entry = covering
        .and_then(|file| cache.covering(&file).map(|covered| covered.entry))
        .or_else(|| cache.list().pop())
        .ok_or_else(|| request_failed("No profile to export yet: profile a file first (Scalene: Profile This File)."))?;
    let bytes = export(&entry.profile, format, weight).map_err(|err| engine_error(&err))?;
    let target = path.clone();
    tokio::task::spawn_blocking(move || export_file::write_atomically(&target, &bytes))
        .await
        .map_err(|err| request_failed(err.to_string()))?
        .map_err(|err| request_failed(format!("cannot write {}: {err}", path.display())))?;
    Ok(Some(json!({
        "path": path.display().to_string(),
        "format": format.as_str(),
        "profile_id": entry.id.to_string(),
        "program": entry.profile.program,
    })))
}
