//! The command line: `profile`, `show`, `doctor`, `compare`, `saved`. The one place that maps errors to
//! stderr text and exit codes.

pub mod attach;
pub mod compare;
pub mod doctor;
pub mod export;
pub mod paint;
pub mod profile;
pub mod render;
pub mod saved;
pub mod tests_view;

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use crate::engine::profile::schema::ProfileJson;
use crate::engine::{
    Engine, EngineError, EngineSettings, Profile, RunStatus,
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

#[derive(Debug, clap::Args)]
pub struct ShowArgs {
    /// A Scalene JSON file (e.g. written by `scalene run -o FILE.json`), the output of `profile --json`
    /// or `show --json`, or a saved profile's file.
    pub profile: PathBuf,
    /// Refuse a file larger than this (MB).
    #[arg(long, value_name = "MB", default_value_t = crate::engine::units::mb(crate::engine::keep::profile_file::DEFAULT_MAX_PROFILE_BYTES))]
    pub max_size_mb: f64,
    /// Print the normalized JSON (docs/schema.md) instead of the terminal view.
    #[arg(long)]
    pub json: bool,
    /// Save the profile under this name (e.g. a CI run as `baseline`), for `compare`.
    #[arg(long, value_name = "NAME")]
    pub save: Option<String>,
    #[command(flatten)]
    pub store: saved::StoreArgs,
    #[command(flatten)]
    pub exports: export::ExportArgs,
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
    #[arg(long, value_name = "MB", default_value_t = crate::engine::units::mb(crate::engine::keep::profile_file::DEFAULT_MAX_PROFILE_BYTES))]
    pub max_profile_mb: f64,
    /// Start runs with Scalene's own start-up (it re-launches itself) instead of the verified shortcut.
    #[arg(long, env = "SCALENE_LSP_NO_SHORTCUT", value_parser = clap::builder::FalseyValueParser::new())]
    pub no_shortcut: bool,
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

fn print_profile(profile: &Profile, json: bool) -> ExitCode {
    let text = if json {
        let mut text = serde_json::to_string_pretty(&ProfileJson::from(profile)).expect("the schema always serializes");
        text.push('\n');
        text
    } else if let Some(suite) = profile.tests.as_deref() {
        let root = std::env::current_dir().unwrap_or_default();
        tests_view::render(profile, suite, &root, use_color())
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

/// `scalene-lsp __watchdog PGID RUN_DIR` (hidden): one run's watchdog (engine/run/runner/watchdog.rs).
pub fn watchdog(pgid: i32, run_dir: PathBuf) -> ExitCode {
    ExitCode::from(crate::engine::run::runner::watchdog_main(pgid, run_dir))
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
        startup: crate::engine::Startup::allowing_shortcut(!args.no_shortcut),
    };
    let settings = EngineSettings {
        max_profile_bytes: crate::engine::units::bytes(args.max_profile_mb),
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
    let exports = match args.exports.check() {
        Ok(exports) => exports,
        Err(code) => return code,
    };
    let max_bytes = crate::engine::units::bytes(args.max_size_mb);
    match crate::engine::load_profile_file(&args.profile, max_bytes) {
        Ok(profile) => {
            let code = print_profile(&profile, args.json);
            let exported = exports.write(&profile);
            let saved = saved::save_after(&args.store.store(), args.save.as_deref(), &profile);
            exported.or(saved).unwrap_or(code)
        }
        Err(err) => fail(&err),
    }
}

