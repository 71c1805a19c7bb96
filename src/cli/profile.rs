//! `scalene-lsp profile`: one run (or `--repeat N`) of a file, module or test, printed as the annotated
//! view or JSON, with the live view (`--live`) redrawn at each snapshot. `RunArgs` is the one place
//! the CLI turns options into a run request (`doctor` uses it too).

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use super::{block_on, engine_settings, exit, fail, out, print_profile, render, saved, use_color};
use crate::engine::limits;
use crate::engine::{Engine, EngineSettings, Mode, Profile, ProfileRequest, Program, ProgramIo, RunStatus, Startup};

#[derive(Debug, clap::Args)]
pub struct ProfileArgs {
    /// The Python file to profile.
    #[arg(required_unless_present_any = ["module", "test", "tests"], conflicts_with_all = ["module", "test", "tests"])]
    pub file: Option<PathBuf>,
    /// Profile a module instead (`python -m MODULE`).
    #[arg(short = 'm', long, conflicts_with = "test")]
    pub module: Option<String>,
    /// Profile one pytest test instead: FILE::NAME (e.g. tests/test_x.py::TestA::test_b); the project
    /// root is the code measured, pytest's own code is not.
    #[arg(long, value_name = "FILE::NAME", conflicts_with = "tests")]
    pub test: Option<String>,
    /// Profile the whole pytest suite in one run and rank its tests, each with its hottest lines.
    /// Everything after --tests goes to pytest (paths, node ids, -k, -m ...): put this command's own
    /// options before it. pytest-xdist (-n) is refused.
    #[arg(long, value_name = "PYTEST ARGS", num_args = 0.., allow_hyphen_values = true, conflicts_with_all = ["module", "repeat", "live", "no_call_paths"])]
    pub tests: Option<Vec<String>>,
    /// Show the profile while the program runs, redrawn at each snapshot (on a terminal; otherwise the
    /// final view is printed once). The program's output is kept and its last lines shown at the end.
    #[arg(long)]
    pub live: bool,
    /// Seconds between live snapshots.
    #[arg(long, value_name = "SECONDS", default_value_t = crate::engine::DEFAULT_LIVE_INTERVAL.as_secs_f64(), requires = "live")]
    pub live_interval: f64,
    /// Print the normalized JSON (docs/schema.md) instead of the terminal view.
    #[arg(long)]
    pub json: bool,
    /// Save the profile under this name (e.g. `baseline`) for `compare` (see `saved`).
    #[arg(long, value_name = "NAME")]
    pub save: Option<String>,
    /// Run the program this many times and keep each line's mean and range (for noise-aware comparisons).
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=crate::engine::limits::MAX_REPEAT as i64))]
    pub repeat: u32,
    #[command(flatten)]
    pub run: RunArgs,
    #[command(flatten)]
    pub store: saved::StoreArgs,
    #[command(flatten)]
    pub exports: super::export::ExportArgs,
    /// Arguments for the program, after `--`.
    #[arg(last = true, allow_hyphen_values = true)]
    pub args: Vec<String>,
}

/// How the program runs: the options `profile` and `doctor` share (`doctor` shows the plan of the run
/// `profile` would make with the same options).
#[derive(Debug, clap::Args)]
pub struct RunArgs {
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
    /// Do not record Scalene's stacks: no call paths, flame graph or exports, 3-10 % less run time.
    #[arg(long)]
    pub no_call_paths: bool,
}

impl RunArgs {
    /// The one place the CLI asks for a run (`profile`, and `doctor`'s plan): these options, the
    /// engine's defaults for the rest. An out-of-range option is a usage error, said as one.
    pub fn request(&self, target: Program, args: Vec<String>, io: ProgramIo) -> Result<ProfileRequest, String> {
        if let Some(rate) = self.cpu_sampling_rate
            && !(rate > 0.0 && rate.is_finite())
        {
            return Err(format!("--cpu-sampling-rate must be a positive number of seconds, got {rate}"));
        }
        let timeout = limits::seconds("--timeout", self.timeout, 0.001, limits::MAX_TIMEOUT_S)?;
        Ok(ProfileRequest {
            program: Some(target),
            args,
            mode: self.mode,
            python: self.python.clone(),
            cwd: self.cwd.clone(),
            timeout: Some(timeout),
            env: self.env.clone(),
            profile_only: self.profile_only.clone(),
            program_path: self.program_path.clone(),
            cpu_sampling_rate: self.cpu_sampling_rate,
            io,
            startup: Startup::allowing_shortcut(!self.no_shortcut),
            no_call_paths: self.no_call_paths,
            ..ProfileRequest::default()
        })
    }
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

fn parse_env(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_string(), value.to_string())),
        _ => Err(format!("expected KEY=VALUE, got {text:?}")),
    }
}

pub fn profile(mut args: ProfileArgs) -> ExitCode {
    // A suite run: pytest's arguments are those after --tests (and after --), in the working directory
    // (pytest reads node ids and paths from there).
    let suite = args.tests.take().map(|pytest_args| {
        args.args = pytest_args.into_iter().chain(std::mem::take(&mut args.args)).collect();
        let dir = args.run.cwd.clone().unwrap_or_else(|| PathBuf::from("."));
        args.run.cwd = Some(dir.clone());
        Program::Suite { dir }
    });
    let target = match (suite, args.file, args.module, args.test) {
        (Some(suite), ..) => suite,
        (None, Some(file), _, _) => Program::Script(file),
        (None, None, Some(module), _) => Program::Module(module),
        (None, None, None, Some(node)) => match Program::test_node(&node) {
            Some(test) => test,
            None => {
                eprintln!("error: --test takes FILE::NAME (e.g. tests/test_x.py::test_y or tests/test_x.py::TestA::test_b), got {node:?}");
                return ExitCode::from(exit::USAGE);
            }
        },
        (None, None, None, None) => unreachable!("clap requires FILE, --module, --test or --tests"),
    };
    let live_interval = match limits::seconds("--live-interval", args.live_interval, limits::LIVE_INTERVAL_S.0, limits::LIVE_INTERVAL_S.1) {
        Ok(interval) => interval,
        Err(problem) if args.live => {
            eprintln!("error: {problem}");
            return ExitCode::from(exit::USAGE);
        }
        Err(_) => Duration::from_secs(1),
    };
    let name = match &target {
        Program::Script(path) => crate::engine::units::short_name(path),
        Program::Module(module) => format!("-m {module}"),
        Program::Test { file, name } => format!("{}::{name}", file.display()),
        Program::Suite { .. } => "the pytest suite".to_string(),
    };
    // The live view redraws the terminal: only on one, and then the program's output is kept aside.
    let live_view = args.live && !args.json && std::io::stdout().is_terminal();
    let io = if live_view { ProgramIo::Captured } else { ProgramIo::Terminal { stdout_to_stderr: args.json } };
    let request = match args.run.request(target, args.args, io) {
        Ok(request) => ProfileRequest { live: live_view.then_some(live_interval), ..request },
        Err(problem) => {
            eprintln!("error: {problem}");
            return ExitCode::from(exit::USAGE);
        }
    };
    let json = args.json;
    if let Err(code) = saved::check_save_name(args.save.as_deref()) {
        return code;
    }
    // Checked before the run, so that a wrong path does not cost a run.
    let exports = match args.exports.check() {
        Ok(exports) => exports,
        Err(code) => return code,
    };
    if args.run.no_call_paths && !exports.is_empty() {
        eprintln!("error: --no-call-paths leaves out the call paths that --flamegraph and --export draw. Fix: drop --no-call-paths.");
        return ExitCode::from(exit::USAGE);
    }
    let (save, repeat) = (args.save, args.repeat);
    let name = if repeat > 1 { format!("{name} ({repeat} runs)") } else { name };
    let store_settings = args.store.settings();
    block_on(async move {
        let engine = Engine::new(EngineSettings { store: store_settings, ..engine_settings() });
        let snapshots = engine.cache().subscribe();
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
        let result = follow_on_terminal(&engine, handle, snapshots, live_view, &name).await;
        engine.shutdown(crate::engine::SHUTDOWN_GRACE).await;
        match result {
            Ok(entry) => {
                let code = print_profile(&entry.profile, json);
                if live_view {
                    print_program_output(&entry.profile);
                }
                let exported = exports.write(&entry.profile);
                let saved = saved::save_after(&engine.store(), save.as_deref(), &entry.profile);
                exported.or(saved).unwrap_or(code)
            }
            Err(err) => fail(&err),
        }
    })
}

/// After a live view (which kept the program's output aside): its last lines, on stderr.
/// Follows a started run (a profile or an attach) on the terminal until it ends: with `live_view` it
/// redraws each live snapshot (`snapshots`: subscribed before the start, so none is missed), a stop
/// signal (Ctrl-C, SIGTERM) cancels the run (an attach detaches; the partial profile is the result),
/// and the redrawn screen is left at the end, so the final view prints below it as usual.
pub(super) async fn follow_on_terminal(
    engine: &Engine,
    handle: crate::engine::RunHandle,
    mut snapshots: tokio::sync::broadcast::Receiver<crate::engine::CacheEvent>,
    live_view: bool,
    name: &str,
) -> crate::engine::RunResult {
    let run_id = handle.run_id;
    let mut wait = std::pin::pin!(handle.wait());
    let redraw = async {
        loop {
            match snapshots.recv().await {
                Ok(crate::engine::CacheEvent::Added(id)) if live_view => {
                    if let Some(entry) = engine.cache().get(id).filter(|entry| entry.profile.status == RunStatus::Running) {
                        out(&live_screen(Some(&entry.profile), name));
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
            tracing::info!(signal, %run_id, "stopping the run");
            engine.cancel(Some(run_id));
            wait.await
        }
    };
    if live_view {
        out("\x1b[H\x1b[2J");
    }
    result
}

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
pub(super) fn live_screen(profile: Option<&Profile>, name: &str) -> String {
    let rows = terminal_rows().unwrap_or(40).max(5);
    let mut out = String::from("\x1b[H\x1b[2J");
    let header = if name.starts_with("pid ") {
        format!("scalene-lsp: {name} live · py-spy's samples so far, redrawn every second · Ctrl-C detaches and shows the final profile\n")
    } else {
        format!("scalene-lsp: {name} live · the run so far, redrawn at each snapshot · Ctrl-C stops it and shows the final profile\n")
    };
    out.push_str(&header);
    let Some(profile) = profile else {
        out.push_str(if name.starts_with("pid ") { "attaching…\n" } else { "waiting for Scalene's first snapshot…\n" });
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

