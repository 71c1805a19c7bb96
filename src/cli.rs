//! The command line: `profile`, `show`, `doctor`, `compare`, `saved`. The one place that maps errors to
//! stderr text and exit codes.

pub mod compare;
pub mod render;
pub mod saved;

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use crate::engine::schema::ProfileJson;
use crate::engine::{
    Engine, EngineError, EngineSettings, Mode, Profile, ProfileRequest, Program, ProgramIo, RunStatus, interpreter, workspace,
};

/// Exit codes (documented in the README).
pub mod exit {
    /// A profile was shown and the run was ok.
    pub const OK: u8 = 0;
    /// A profile was shown but it is partial or empty: program_failed, too_short, cancelled, timed_out.
    pub const PARTIAL: u8 = 1;
    /// The command line was wrong (clap's own code).
    pub const USAGE: u8 = 2;
    /// The Python environment cannot run Scalene: no interpreter, no or old Scalene.
    pub const ENVIRONMENT: u8 = 3;
    /// No profile: the program or the input is the problem (missing file, syntax error, bad JSON,
    /// Scalene crashed).
    pub const NO_PROFILE: u8 = 4;
    /// `compare --fail-on VERDICT` found that verdict (e.g. a regression): for CI.
    pub const COMPARE_FAILED: u8 = 5;
}

/// `--mode`: the engine's `Mode`, with a help line per value.
fn mode_parser() -> impl clap::builder::TypedValueParser<Value = Mode> {
    use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
    PossibleValuesParser::new([
        PossibleValue::new("cpu").help("CPU only: fastest"),
        PossibleValue::new("memory").help("CPU and memory (default)"),
        PossibleValue::new("gpu").help("CPU, memory and GPU"),
    ])
    .map(|name| name.parse::<Mode>().expect("every possible value is a mode"))
}

#[derive(Debug, clap::Args)]
pub struct ProfileArgs {
    /// The Python file to profile.
    #[arg(required_unless_present_any = ["module", "test"], conflicts_with_all = ["module", "test"])]
    pub file: Option<PathBuf>,
    /// Profile a module instead (`python -m MODULE`).
    #[arg(short = 'm', long, conflicts_with = "test")]
    pub module: Option<String>,
    /// Profile one pytest test instead: FILE::NAME (e.g. tests/test_x.py::TestA::test_b); the project
    /// root is the code measured, pytest's own code is not.
    #[arg(long, value_name = "FILE::NAME")]
    pub test: Option<String>,
    /// Show the profile while the program runs, redrawn at each snapshot (on a terminal; otherwise the
    /// final view is printed once). The program's output is kept and its last lines shown at the end.
    #[arg(long)]
    pub live: bool,
    /// Seconds between live snapshots.
    #[arg(long, value_name = "SECONDS", default_value_t = crate::engine::DEFAULT_LIVE_INTERVAL.as_secs_f64(), requires = "live")]
    pub live_interval: f64,
    /// Start with Scalene's own start-up (it re-launches itself) instead of the verified shortcut.
    #[arg(long, env = "SCALENE_LSP_NO_SHORTCUT", value_parser = clap::builder::FalseyValueParser::new())]
    pub no_shortcut: bool,
    #[arg(long, value_parser = mode_parser(), default_value = "memory")]
    pub mode: Mode,
    /// The Python interpreter (default: $VIRTUAL_ENV, then .venv/venv/env in the project, then python3 on PATH).
    #[arg(long, value_name = "PATH")]
    pub python: Option<PathBuf>,
    /// Stop the run after this many seconds (the partial profile is kept).
    #[arg(long, value_name = "SECONDS", default_value_t = crate::engine::DEFAULT_TIMEOUT.as_secs_f64())]
    pub timeout: f64,
    /// Working directory of the program (default: the project root, or the file's folder).
    #[arg(long, value_name = "DIR")]
    pub cwd: Option<PathBuf>,
    /// Extra environment variable for the program (repeatable).
    #[arg(long = "env", value_name = "KEY=VALUE", value_parser = parse_env)]
    pub env: Vec<(String, String)>,
    /// Only profile files whose path contains one of these (comma-separated, Scalene's --profile-only).
    #[arg(long, value_name = "A,B", value_delimiter = ',')]
    pub profile_only: Vec<String>,
    /// Which files count as user code (default: the project root).
    #[arg(long, value_name = "DIR")]
    pub program_path: Option<PathBuf>,
    /// CPU sampling interval in seconds (Scalene's default: 0.01).
    #[arg(long, value_name = "SECONDS")]
    pub cpu_sampling_rate: Option<f64>,
    /// Print the normalized JSON (docs/schema.md) instead of the terminal view.
    #[arg(long)]
    pub json: bool,
    /// Save the profile under this name (e.g. `baseline`) for `compare` (see `saved`).
    #[arg(long, value_name = "NAME")]
    pub save: Option<String>,
    /// Run the program this many times and keep each line's mean and range (for noise-aware comparisons).
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub repeat: u32,
    #[command(flatten)]
    pub store: saved::StoreArgs,
    /// Arguments for the program, after `--`.
    #[arg(last = true, allow_hyphen_values = true)]
    pub args: Vec<String>,
}

#[derive(Debug, clap::Args)]
pub struct ShowArgs {
    /// A Scalene JSON file (e.g. written by `scalene run -o FILE.json`), the output of `profile --json`
    /// or `show --json`, or a saved profile's file.
    pub profile: PathBuf,
    /// Refuse a file larger than this (MB).
    #[arg(long, value_name = "MB", default_value_t = 512.0)]
    pub max_size_mb: f64,
    /// Print the normalized JSON (docs/schema.md) instead of the terminal view.
    #[arg(long)]
    pub json: bool,
    /// Save the profile under this name (e.g. a CI run as `baseline`), for `compare`.
    #[arg(long, value_name = "NAME")]
    pub save: Option<String>,
    #[command(flatten)]
    pub store: saved::StoreArgs,
}

#[derive(Debug, clap::Args)]
pub struct DoctorArgs {
    /// The Python interpreter to check (default: discovered as `profile` would).
    #[arg(long, value_name = "PATH")]
    pub python: Option<PathBuf>,
    /// A program to show the exact Scalene command for (default: a placeholder).
    pub file: Option<PathBuf>,
    /// Show Scalene's own start-up instead of the verified shortcut.
    #[arg(long, env = "SCALENE_LSP_NO_SHORTCUT", value_parser = clap::builder::FalseyValueParser::new())]
    pub no_shortcut: bool,
}

#[derive(Debug, clap::Args)]
pub struct McpArgs {
    /// Run an own engine even when an editor session for this directory is running (by default
    /// `mcp` bridges to it, so the agent shares the editor's profiles).
    #[arg(long)]
    pub standalone: bool,
    /// Serve streamable HTTP on 127.0.0.1 instead of stdio (own engine): prints one JSON line
    /// `{"url", "token"}` on stdout, writes the discovery file, and serves until stdin closes.
    #[arg(long)]
    pub http: bool,
    /// The HTTP port (with --http; 0 = any free port).
    #[arg(long, value_name = "PORT", default_value_t = 0, requires = "http")]
    pub port: u16,
    /// The Python interpreter for runs (default: discovered per project, as `profile` does).
    #[arg(long, value_name = "PATH", env = "SCALENE_LSP_PYTHON")]
    pub python: Option<PathBuf>,
    /// Enable the `profile_code` tool (runs code snippets sent by the client).
    #[arg(long)]
    pub allow_code: bool,
    #[command(flatten)]
    pub store: saved::StoreArgs,
    /// Refuse to load a profile file larger than this (MB), in `load_profile`.
    #[arg(long, value_name = "MB", default_value_t = 512.0)]
    pub max_profile_mb: f64,
    /// Start runs with Scalene's own start-up (it re-launches itself) instead of the verified shortcut.
    #[arg(long, env = "SCALENE_LSP_NO_SHORTCUT", value_parser = clap::builder::FalseyValueParser::new())]
    pub no_shortcut: bool,
}

fn startup(no_shortcut: bool) -> crate::engine::Startup {
    if no_shortcut { crate::engine::Startup::Normal } else { crate::engine::Startup::Shortcut }
}

fn parse_env(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_string(), value.to_string())),
        _ => Err(format!("expected KEY=VALUE, got {text:?}")),
    }
}

/// Prints an error in one paragraph and returns its exit code.
fn fail(err: &EngineError) -> ExitCode {
    eprintln!("error: {err}");
    ExitCode::from(if err.is_environment() { exit::ENVIRONMENT } else { exit::NO_PROFILE })
}

fn use_color() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|value| value.is_empty())
}

/// Writes `text` to stdout. False when that failed: stdout was closed (`| head -1`: EPIPE), and the
/// caller ends quietly, as Unix tools do. Every command prints through this (never `println!`, which
/// panics on a closed stdout).
pub(crate) fn out(text: &str) -> bool {
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush()).is_ok()
}

/// `println!` for `doctor`: a closed stdout ends the command at once, quietly (exit 0).
macro_rules! say {
    ($($arg:tt)*) => {
        if !out(&format!("{}\n", format_args!($($arg)*))) {
            return ExitCode::SUCCESS;
        }
    };
}

fn print_profile(profile: &Profile, json: bool) -> ExitCode {
    let text = if json {
        let mut text = serde_json::to_string_pretty(&ProfileJson::from(profile)).expect("the schema always serializes");
        text.push('\n');
        text
    } else {
        render::render(profile, &render::RenderOptions { color: use_color(), source_width: 80 })
    };
    if !out(&text) {
        // A closed pipe (e.g. `| head`) is not an error worth a message.
        return ExitCode::SUCCESS;
    }
    ExitCode::from(if profile.status == RunStatus::Ok { exit::OK } else { exit::PARTIAL })
}

/// The engine's settings for this binary: runs get a watchdog (this very binary), so a run never
/// outlives scalene-lsp, however it dies.
fn engine_settings() -> EngineSettings {
    EngineSettings { watchdog: std::env::current_exe().ok(), ..EngineSettings::default() }
}

/// `scalene-lsp __watchdog PGID RUN_DIR` (hidden): one run's watchdog (engine/runner/watchdog.rs).
pub fn watchdog(pgid: i32, run_dir: PathBuf) -> ExitCode {
    ExitCode::from(crate::engine::runner::watchdog_main(pgid, run_dir))
}

/// Runs `future` on a two-thread runtime. Afterwards the runtime is not waited for: a read of stdin
/// may still be pending on its blocking pool (the LSP transport reads ahead), and waiting for it would
/// keep the process alive until the client closed stdin, after `exit` or a stop signal.
fn block_on<F: Future>(future: F) -> F::Output {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("the tokio runtime starts");
    let output = runtime.block_on(future);
    runtime.shutdown_timeout(Duration::from_millis(200));
    output
}

pub fn profile(args: ProfileArgs) -> ExitCode {
    let target = match (args.file, args.module, args.test) {
        (Some(file), _, _) => Program::Script(file),
        (None, Some(module), _) => Program::Module(module),
        (None, None, Some(node)) => match node.split_once("::") {
            Some((file, name)) if !file.is_empty() && !name.is_empty() => Program::Test { file: file.into(), name: name.into() },
            _ => {
                eprintln!("error: --test takes FILE::NAME (e.g. tests/test_x.py::test_y or tests/test_x.py::TestA::test_b), got {node:?}");
                return ExitCode::from(exit::USAGE);
            }
        },
        (None, None, None) => unreachable!("clap requires FILE, --module or --test"),
    };
    use crate::engine::limits;
    let live_interval = match limits::seconds("--live-interval", args.live_interval, 0.1, 3600.0) {
        Ok(interval) => interval,
        Err(problem) if args.live => {
            eprintln!("error: {problem}");
            return ExitCode::from(exit::USAGE);
        }
        Err(_) => Duration::from_secs(1),
    };
    if let Some(rate) = args.cpu_sampling_rate
        && !(rate > 0.0 && rate.is_finite())
    {
        eprintln!("error: --cpu-sampling-rate must be a positive number of seconds, got {rate}");
        return ExitCode::from(exit::USAGE);
    }
    let timeout = match limits::seconds("--timeout", args.timeout, 0.001, limits::MAX_TIMEOUT_S) {
        Ok(timeout) => timeout,
        Err(problem) => {
            eprintln!("error: {problem}");
            return ExitCode::from(exit::USAGE);
        }
    };
    let name = match &target {
        Program::Script(path) => path.file_name().map_or(path.display().to_string(), |n| n.to_string_lossy().into_owned()),
        Program::Module(module) => format!("-m {module}"),
        Program::Test { file, name } => format!("{}::{name}", file.display()),
    };
    // The live view redraws the terminal: only on one, and then the program's output is kept aside.
    let live_view = args.live && !args.json && std::io::stdout().is_terminal();
    let request = ProfileRequest {
        program: Some(target),
        args: args.args,
        mode: args.mode,
        python: args.python,
        cwd: args.cwd,
        timeout: Some(timeout),
        env: args.env,
        profile_only: args.profile_only,
        program_path: args.program_path,
        cpu_sampling_rate: args.cpu_sampling_rate,
        io: if live_view { ProgramIo::Captured } else { ProgramIo::Terminal { stdout_to_stderr: args.json } },
        live: live_view.then_some(live_interval),
        startup: startup(args.no_shortcut),
        ..ProfileRequest::default()
    };
    let json = args.json;
    if let Err(code) = saved::check_save_name(args.save.as_deref()) {
        return code;
    }
    let (save, repeat) = (args.save, args.repeat);
    let name = if repeat > 1 { format!("{name} ({repeat} runs)") } else { name };
    let store_settings = args.store.settings();
    block_on(async move {
        let engine = Engine::new(EngineSettings { store: store_settings, ..engine_settings() });
        let mut snapshots = engine.cache().subscribe();
        let handle = match engine.start_repeated(request, repeat) {
            Ok(handle) => handle,
            Err(err) => return fail(&err),
        };
        // The program writes to this terminal as it runs, so no animation competes with it: one line.
        if live_view {
            out(&live_screen(None, &name));
        } else if std::io::stderr().is_terminal() {
            eprintln!("scalene-lsp: profiling {name} with Scalene… (Ctrl-C stops it and shows the partial profile)");
        }
        let run_id = handle.run_id;
        let mut wait = std::pin::pin!(handle.wait());
        let redraw = async {
            loop {
                match snapshots.recv().await {
                    Ok(crate::engine::CacheEvent::Added(id)) if live_view => {
                        if let Some(entry) = engine.cache().get(id).filter(|entry| entry.profile.status == RunStatus::Running) {
                            out(&live_screen(Some(&entry.profile), &name));
                        }
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => std::future::pending::<()>().await,
                    _ => {}
                }
            }
        };
        let result = tokio::select! {
            result = &mut wait => result,
            () = redraw => unreachable!("the redraw loop never ends"),
            signal = crate::host::stop_signal() => {
                tracing::info!(signal, "stopping the run");
                engine.cancel(Some(run_id));
                wait.await
            }
        };
        if live_view {
            // Leave the redrawn screen: the final view is printed below it as usual.
            out("\x1b[H\x1b[2J");
        }
        engine.shutdown(crate::engine::SHUTDOWN_GRACE).await;
        match result {
            Ok(entry) => {
                let code = print_profile(&entry.profile, json);
                if live_view {
                    print_program_output(&entry.profile);
                }
                saved::save_after(&engine.store(), save.as_deref(), &entry.profile).unwrap_or(code)
            }
            Err(err) => fail(&err),
        }
    })
}

/// After a live view (which kept the program's output aside): its last lines, on stderr.
fn print_program_output(profile: &Profile) {
    let last = |text: Option<&str>| {
        let lines: Vec<&str> = text.unwrap_or("").lines().filter(|line| !line.trim().is_empty()).collect();
        lines[lines.len().saturating_sub(10)..].join("\n")
    };
    let stdout = last(profile.stdout_tail.as_deref());
    if !stdout.is_empty() {
        eprintln!("\nprogram output (last lines):\n{stdout}");
    }
    // A failed program's stderr is in the view already.
    let stderr = last(profile.stderr_tail.as_deref());
    if !stderr.is_empty() && profile.status != RunStatus::ProgramFailed {
        eprintln!("\nprogram stderr (last lines):\n{stderr}");
    }
}

/// One frame of the live view: the screen cleared, a header, and the snapshot's view cut to the
/// terminal's height (None: waiting for the first snapshot).
fn live_screen(profile: Option<&Profile>, name: &str) -> String {
    let rows = terminal_rows().unwrap_or(40).max(5);
    let mut out = String::from("\x1b[H\x1b[2J");
    let header = format!("scalene-lsp: {name} live · the run so far, redrawn at each snapshot · Ctrl-C stops it and shows the final profile\n");
    out.push_str(&header);
    let Some(profile) = profile else {
        out.push_str("waiting for Scalene's first snapshot…\n");
        return out;
    };
    let view = render::render(profile, &render::RenderOptions { color: use_color(), source_width: 80 });
    let lines: Vec<&str> = view.lines().collect();
    let room = rows - 2;
    for line in lines.iter().take(room) {
        out.push_str(line);
        out.push('\n');
    }
    if lines.len() > room {
        out.push_str(&format!("… {} more lines (the final view shows all)\n", lines.len() - room));
    }
    out
}

/// The terminal's height in rows, when stdout is one.
fn terminal_rows() -> Option<usize> {
    use std::os::fd::AsRawFd;
    let mut size = nix::libc::winsize { ws_row: 0, ws_col: 0, ws_xpixel: 0, ws_ypixel: 0 };
    // SAFETY: TIOCGWINSZ writes one `winsize` into the struct we pass, and nothing else.
    let ok = unsafe { nix::libc::ioctl(std::io::stdout().as_raw_fd(), nix::libc::TIOCGWINSZ, &mut size) } == 0;
    (ok && size.ws_row > 0).then_some(size.ws_row as usize)
}

/// Serves LSP over stdio (stdout is the protocol channel: nothing else may print there).
pub fn serve() -> ExitCode {
    // Profiled programs keep the caller's priority, as under the CLI: at niceness 19 a program starved
    // behind any other busy process (a pytest run took 164 s instead of 3 s with two busy processes on
    // 2 cores, and Scalene found too little to profile), and an editor's profile would not compare
    // with a terminal's (ARCHITECTURE.md, "Decisions").
    block_on(crate::host::serve_lsp(Engine::new(engine_settings())));
    ExitCode::SUCCESS
}

/// `mcp`: MCP over stdio (stdout is the protocol channel: nothing else may print there), or HTTP.
pub fn mcp(args: McpArgs) -> ExitCode {
    let options = crate::host::McpOptions {
        standalone: args.standalone,
        http: args.http,
        port: args.port,
        python: args.python,
        allow_code: args.allow_code,
        startup: startup(args.no_shortcut),
    };
    let settings = EngineSettings {
        max_profile_bytes: (args.max_profile_mb * 1024.0 * 1024.0) as u64,
        store: args.store.settings(),
        ..engine_settings()
    };
    match block_on(crate::host::serve_mcp(options, settings)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::from(exit::ENVIRONMENT)
        }
    }
}

pub fn show(args: ShowArgs) -> ExitCode {
    if let Err(code) = saved::check_save_name(args.save.as_deref()) {
        return code;
    }
    let max_bytes = (args.max_size_mb * 1024.0 * 1024.0) as u64;
    match crate::engine::load_profile_file(&args.profile, max_bytes) {
        Ok(profile) => {
            let code = print_profile(&profile, args.json);
            saved::save_after(&args.store.store(), args.save.as_deref(), &profile).unwrap_or(code)
        }
        Err(err) => fail(&err),
    }
}

pub fn doctor(args: DoctorArgs) -> ExitCode {
    block_on(async move {
        let engine = Engine::new(engine_settings());
        let current = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
        let start = args
            .file
            .as_ref()
            .and_then(|file| current.join(file).canonicalize().ok())
            .and_then(|file| file.parent().map(PathBuf::from))
            .unwrap_or_else(|| current.clone());
        let project_root = workspace::find_project_root(&start);
        match &project_root {
            Some(root) => say!("project root:  {}", root.display()),
            None => say!("project root:  none found (no pyproject.toml, setup.py, .git, ... above {})", start.display()),
        }
        let discovery_root = project_root.clone().unwrap_or(start);
        let found = interpreter::discover(args.python.as_deref(), &discovery_root, &engine.settings().discovery_env);
        let found = match found {
            Ok(found) => found,
            Err(err) => return fail(&err),
        };
        say!("interpreter:   {} ({})", found.path.display(), found.source);
        let preflight = match interpreter::preflight(&found.path).await {
            Ok(preflight) => preflight,
            Err(err) => return fail(&err),
        };
        say!("python:        {}", preflight.python_version);
        say!("scalene:       {}", preflight.scalene_version);
        say!("temp dir:      {} (each run gets its own {}* folder there)", engine.settings().temp_root.display(), crate::engine::runner::RUN_DIR_PREFIX);
        let (target, placeholder) = match &args.file {
            Some(file) => (Program::Script(file.clone()), false),
            None => (Program::Script(PathBuf::from("PROGRAM.py")), true),
        };
        let spec = if placeholder {
            crate::engine::RunSpec {
                python: found.path.clone(),
                program: target,
                args: Vec::new(),
                mode: Mode::Memory,
                cwd: discovery_root.clone(),
                program_path: project_root.clone(),
                profile_only: Vec::new(),
                cpu_sampling_rate: None,
                timeout: engine.settings().default_timeout,
                env: Vec::new(),
                io: ProgramIo::Terminal { stdout_to_stderr: false },
                live: None,
                paused: false,
                startup_env: Vec::new(),
                lifecycle: None,
            }
        } else {
            let request = ProfileRequest { program: Some(target), python: args.python.clone(), ..ProfileRequest::default() };
            match engine.resolve(&request).await {
                Ok(resolved) => resolved.spec,
                Err(err) => return fail(&err),
            }
        };
        let mut spec = spec;
        if let Ok(environment) = engine.environment(Some(&found.path), &discovery_root).await {
            let resolved = crate::engine::ResolvedRun {
                interpreter: environment.interpreter,
                preflight: environment.preflight,
                spec: spec.clone(),
                project_root: project_root.clone(),
            };
            spec.startup_env = engine.startup_env(&resolved, startup(args.no_shortcut)).await;
        }
        let start_up = if !spec.startup_env.is_empty() {
            "shortcut: the environment Scalene would re-launch itself with is set up front (verified here; --no-shortcut turns it off)"
        } else if args.no_shortcut {
            "Scalene's own (it re-launches itself): --no-shortcut"
        } else {
            "Scalene's own (it re-launches itself): the shortcut did not give a complete profile with this interpreter"
        };
        say!("start-up:      {start_up}");
        let output = engine.settings().temp_root.join(format!("{}XXXX", crate::engine::runner::RUN_DIR_PREFIX)).join("profile.json");
        say!("working dir:   {}", spec.cwd.display());
        say!("command:       {}", crate::engine::runner::display_command(&spec, &output));
        say!("ok: this interpreter can profile with Scalene {}", preflight.scalene_version);
        ExitCode::SUCCESS
    })
}
