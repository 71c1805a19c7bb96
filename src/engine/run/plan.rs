//! One run plan per request. Every front end asks for a run with one `ProfileRequest` built in one
//! place from its settings (the editor: `lsp::settings::Settings::run_request`; the CLI:
//! `cli::run_request`); the engine turns it into a `RunPlan` once (`Engine::plan`): the program
//! resolved and confined to a file, the interpreter and its preflight, the Scalene command
//! (`RunSpec`), the start-up choice. `doctor` shows the same plan a run would use.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::engine::error::{self, EngineError};
use crate::engine::keep::cache::{ProfileKey, ProfileOrigin};
use crate::engine::profile::model::Mode;
use crate::engine::run::interpreter::{Interpreter, Preflight};
use crate::engine::run::runner::{self, Program, ProgramIo, RunSpec};
use crate::engine::run::startup::Startup;

/// One request to profile a program. Only `program` is required.
#[derive(Clone, Debug, Default)]
pub struct ProfileRequest {
    /// A script path (relative paths are resolved against the current directory) or a module.
    pub program: Option<Program>,
    pub args: Vec<String>,
    pub mode: Mode,
    /// Interpreter path or command name; discovered when absent.
    pub python: Option<PathBuf>,
    /// Working directory; the project root (or the script's folder) when absent.
    pub cwd: Option<PathBuf>,
    /// The project root; found from the script's folder when absent.
    pub project_root: Option<PathBuf>,
    pub timeout: Option<Duration>,
    pub profile_only: Vec<String>,
    /// Which files count as user code; the project root when absent.
    pub program_path: Option<PathBuf>,
    pub cpu_sampling_rate: Option<f64>,
    /// Extra environment variables for the program.
    pub env: Vec<(String, String)>,
    /// Where the program's standard streams go (the editor and agents capture them; the CLI passes
    /// the terminal through).
    pub io: ProgramIo,
    /// A live run: Scalene writes a snapshot this often, and each replaces the run's profile in the
    /// cache (status `running`) until the final one.
    pub live: Option<Duration>,
    /// Start with recording paused; `Engine::set_recording` switches it.
    pub paused: bool,
    /// Whether the start-up shortcut may be used (where verified).
    pub startup: Startup,
    /// Run without Scalene's stacks (`--no-stacks`): no call paths, 3-10 % less run time
    /// (docs/performance.md, "Call paths").
    pub no_call_paths: bool,
}

/// The snapshot interval of live runs unless the request sets one.
pub const DEFAULT_LIVE_INTERVAL: Duration = Duration::from_secs(1);

/// A request made ready to run: what `doctor` shows and what the runner gets.
#[derive(Clone, Debug)]
pub struct RunPlan {
    pub interpreter: Interpreter,
    pub preflight: Arc<Preflight>,
    /// The Scalene command; its `startup_env` is filled by `Engine::settle_startup`.
    pub spec: RunSpec,
    pub project_root: Option<PathBuf>,
    /// The start-up the request asked for.
    pub startup: Startup,
}

/// Where a plan's run happens, as found by `Engine::plan_program`.
pub struct Place {
    pub project_root: Option<PathBuf>,
    /// The project root, or the folder the program was looked for from when there is none.
    pub root_for_discovery: PathBuf,
    pub default_timeout: Duration,
}

impl RunPlan {
    pub fn new(request: &ProfileRequest, program: Program, interpreter: Interpreter, preflight: Arc<Preflight>, place: Place) -> Result<RunPlan, EngineError> {
        if let Some(path) = program.file()
            && let Some(excluded) = preflight.excluding_path(path)
        {
            return Err(EngineError::ProgramInLibraryPath { path: path.to_path_buf(), excluded: excluded.to_path_buf() });
        }
        let cwd = request.cwd.clone().unwrap_or_else(|| place.root_for_discovery.clone());
        let memory = request.mode != Mode::Cpu;
        let lifecycle = preflight.startup.as_ref().map(|startup| runner::Lifecycle {
            start_signal: startup.start_signal,
            stop_signal: startup.stop_signal,
            preload: startup.preload(memory).to_vec(),
            memory,
        });
        let spec = RunSpec {
            python: interpreter.path.clone(),
            program,
            args: request.args.clone(),
            mode: request.mode,
            cwd,
            program_path: request.program_path.clone().or_else(|| place.project_root.clone()),
            profile_only: request.profile_only.clone(),
            cpu_sampling_rate: Some(request.cpu_sampling_rate.unwrap_or(runner::DEFAULT_CPU_SAMPLING_S)),
            timeout: request.timeout.unwrap_or(place.default_timeout),
            env: request.env.clone(),
            io: request.io,
            live: request.live,
            paused: request.paused,
            no_stacks: request.no_call_paths,
            startup_env: Vec::new(),
            lifecycle,
        };
        Ok(RunPlan { interpreter, preflight, spec, project_root: place.project_root, startup: request.startup })
    }
}

/// Makes a script path absolute and canonical; returns the target and the folder to start looking for
/// the project root from.
pub fn resolve_program(request: &ProfileRequest) -> Result<(Program, PathBuf), EngineError> {
    let current = std::env::current_dir().map_err(|err| EngineError::io("cannot read the current directory", err))?;
    match &request.program {
        Some(Program::Script(path)) => {
            let absolute = request.cwd.as_deref().unwrap_or(&current).join(path);
            let canonical = absolute.canonicalize().map_err(|_| EngineError::ProgramNotFound {
                path: path.clone(),
                cwd: request.cwd.clone().unwrap_or(current.clone()),
            })?;
            let file_type = std::fs::metadata(&canonical)
                .map_err(|_| EngineError::ProgramNotFound { path: path.clone(), cwd: current.clone() })?
                .file_type();
            if !file_type.is_file() {
                return Err(EngineError::ProgramNotAFile { path: path.clone(), kind: error::file_kind(file_type) });
            }
            let folder = canonical.parent().map(Path::to_path_buf).unwrap_or(current);
            Ok((Program::Script(canonical), folder))
        }
        Some(Program::Module(module)) => {
            Ok((Program::Module(module.clone()), request.cwd.clone().unwrap_or(current)))
        }
        Some(Program::Test { file, name }) => {
            let script = ProfileRequest { program: Some(Program::Script(file.clone())), ..request.clone() };
            let (Program::Script(canonical), folder) = resolve_program(&script)? else { unreachable!("a script resolves to a script") };
            let Some(test) = Program::test(canonical, name) else {
                return Err(EngineError::ProgramNotFound { path: PathBuf::from(format!("{}::", file.display())), cwd: current });
            };
            Ok((test, folder))
        }
        Some(Program::Suite { dir }) => {
            let absolute = request.cwd.as_deref().unwrap_or(&current).join(dir);
            match absolute.canonicalize() {
                Ok(canonical) if canonical.is_dir() => Ok((Program::Suite { dir: canonical.clone() }, canonical)),
                _ => Err(EngineError::ProgramNotFound { path: dir.clone(), cwd: current }),
            }
        }
        None => Err(EngineError::ProgramNotFound { path: PathBuf::new(), cwd: current }),
    }
}

/// Scalene hands the program everything after `---` except a bare `--`, which its argparse moves (with
/// all that follows) in front of the other arguments: refuse rather than run with reordered arguments.
/// A suite run also refuses pytest-xdist (`runner::suite::check_arguments`).
pub fn check_arguments(program: &Program, args: &[String]) -> Result<(), EngineError> {
    if let Some(index) = args.iter().position(|arg| arg == "--") {
        return Err(EngineError::UnpassableArgument { position: index + 1 });
    }
    match program {
        Program::Suite { .. } => runner::suite::check_arguments(args),
        _ => Ok(()),
    }
}

/// Scalene reads the program with Python's `utf-8-sig` codec (a BOM is fine), whatever its coding
/// declaration says: anything else makes it fail at start with a bare traceback. Say so up front.
fn check_utf8(path: &Path, bytes: &[u8]) -> Result<(), EngineError> {
    let text = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let Err(err) = std::str::from_utf8(text) else { return Ok(()) };
    let valid = &text[..err.valid_up_to()];
    let line = valid.iter().filter(|byte| **byte == b'\n').count() + 1;
    let bad = &text[err.valid_up_to()..text.len().min(err.valid_up_to() + err.error_len().unwrap_or(1))];
    let shown: Vec<String> = bad.iter().map(|byte| format!("0x{byte:02x}")).collect();
    Err(EngineError::SourceNotUtf8 { path: path.to_path_buf(), line, detail: format!("byte {}", shown.join(" ")) })
}

/// The cache and dedup key: the program's canonical path and content plus every option.
pub fn run_key(program: &Program, request: &ProfileRequest) -> Result<ProfileKey, EngineError> {
    let (path, content_hash) = match program {
        Program::Script(path) | Program::Test { file: path, .. } => {
            let bytes = std::fs::read(path).map_err(|err| EngineError::io(format!("cannot read {}", path.display()), err))?;
            check_utf8(path, &bytes)?;
            (path.clone(), blake3::hash(&bytes).to_hex().to_string())
        }
        Program::Module(module) => (PathBuf::from(format!("-m {module}")), String::new()),
        Program::Suite { dir } => (dir.join("pytest suite"), String::new()),
    };
    let test_name = program.test_name().unwrap_or("");
    let options = format!(
        "{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{test_name}|{:?}|{}|{:?}",
        request.args,
        request.mode,
        request.python,
        request.cwd,
        request.project_root,
        request.timeout,
        request.profile_only,
        request.program_path,
        request.cpu_sampling_rate,
        request.env,
        request.live,
        request.paused,
        request.startup
    );
    Ok(ProfileKey { origin: ProfileOrigin::Run, path, content_hash, options: blake3::hash(options.as_bytes()).to_hex()[..16].to_string() })
}
