//! One Scalene run, start to end: spawn it in its own process group with a private run dir (also
//! Scalene's TMPDIR), race its exit against the timeout and cancellation, stop the group, and hand the
//! outcome to `outcome.rs`. The command line is `argv.rs`; the group's life cycle is `group.rs`.
//!
//! Architecture Invariant: every run owns its process group and its temp dir, and both are gone when
//! `run` returns, whatever the path (success, error, cancel, timeout, or the future being dropped).

mod argv;
pub mod control;
mod group;
mod outcome;
pub(crate) mod procfs;
mod snapshots;
mod stamp;
pub mod suite;
mod terminal;
mod watchdog;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use nix::unistd::Pid;
use tokio_util::sync::CancellationToken;

use crate::engine::error::{EngineError, describe_exit};
use crate::engine::profile::model::{Mode, Profile, RunStatus};
use group::GroupGuard;
use outcome::Ending;

pub use argv::{display_command, scalene_argv};
pub use control::{Lifecycle, RunControl};
pub use group::sweep_stale_run_dirs;
pub use watchdog::{WATCHDOG_COMMAND, watchdog_main};

/// Prefix of every run directory; the owner's pid follows, so stale ones can be swept.
pub const RUN_DIR_PREFIX: &str = "scalene-lsp-run-";
/// The file in a run dir that Scalene writes its JSON to (`--outfile`), snapshots included.
pub const PROFILE_FILE: &str = "profile.json";
/// How long Scalene gets after each stop signal to write its partial profile and exit.
pub const STOP_STEP: Duration = Duration::from_secs(3);
/// The longest a stop can take before the group is killed: SIGINT, then SIGTERM, each given `STOP_STEP`.
pub const TERM_GRACE: Duration = Duration::from_secs(6);
/// Bytes of the program's stdout and stderr kept for the user.
pub const TAIL_BYTES: usize = 64 * 1024;

/// What to profile.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Program {
    /// A Python file (absolute path).
    Script(PathBuf),
    /// `-m module`.
    Module(String),
    /// One pytest test: `python -m pytest FILE::NAME` (absolute file; `NAME` like `test_x` or
    /// `TestA::test_b`).
    Test { file: PathBuf, name: String },
    /// A pytest suite run once: `python -m pytest ARGS` (the run's arguments) in `dir` (absolute), with
    /// the suite plugin (`run/runner/suite.rs`) recording each test, so every sample goes to its test.
    Suite { dir: PathBuf },
}

impl Program {
    /// One pytest test of `file`: `name` as pytest takes it after `FILE::` (`test_x`, `TestA::test_b`),
    /// trimmed, a leading `::` dropped. None when no name is left. The one place a test id is read.
    pub fn test(file: impl Into<PathBuf>, name: &str) -> Option<Program> {
        let name = name.trim().trim_start_matches("::");
        (!name.is_empty()).then(|| Program::Test { file: file.into(), name: name.to_string() })
    }

    /// A pytest node id `FILE::NAME` (`tests/test_x.py::TestA::test_b`): `Program::test` of its parts.
    /// None when the file or the name is missing.
    pub fn test_node(node: &str) -> Option<Program> {
        let (file, name) = node.split_once("::")?;
        if file.trim().is_empty() {
            return None;
        }
        Program::test(file, name)
    }

    /// The test's name (`TestA::test_b`) when this is one test.
    pub fn test_name(&self) -> Option<&str> {
        match self {
            Program::Test { name, .. } => Some(name),
            _ => None,
        }
    }

    pub fn display(&self) -> String {
        match self {
            Program::Script(path) => path.display().to_string(),
            Program::Module(module) => format!("-m {module}"),
            Program::Test { file, name } => format!("{}::{name}", file.display()),
            Program::Suite { dir } => format!("pytest suite in {}", dir.display()),
        }
    }

    /// The file on disk this program runs (a script, or a test's file).
    pub fn file(&self) -> Option<&Path> {
        match self {
            Program::Script(path) | Program::Test { file: path, .. } => Some(path),
            Program::Module(_) | Program::Suite { .. } => None,
        }
    }
}

/// The CPU sampling interval scalene-lsp asks Scalene for (`--cpu-sampling-rate`, Scalene's default is
/// 0.01 s): 2 ms gives about 4x the samples, so comparisons can see changes half as big, at no overhead
/// we could measure (benches/compare_quality.py; docs/performance.md). Finer (1 ms) was noisier.
pub const DEFAULT_CPU_SAMPLING_S: f64 = 0.002;

/// Everything one run needs, resolved.
#[derive(Clone, Debug)]
pub struct RunSpec {
    pub python: PathBuf,
    pub program: Program,
    pub args: Vec<String>,
    pub mode: Mode,
    pub cwd: PathBuf,
    pub program_path: Option<PathBuf>,
    pub profile_only: Vec<String>,
    pub cpu_sampling_rate: Option<f64>,
    pub timeout: Duration,
    pub env: Vec<(String, String)>,
    pub io: ProgramIo,
    /// Live: Scalene rewrites its JSON this often (`--profile-interval`), and each complete snapshot is
    /// handed to `RunHooks::on_snapshot`.
    pub live: Option<Duration>,
    /// Start with recording paused (`--off`); `RunControl::request` switches it (and a wish made
    /// while the run was queued overrides this).
    pub paused: bool,
    /// `--no-stacks`: no call paths (Scalene records its stacks unless told).
    pub no_stacks: bool,
    /// Variables that make Scalene skip its re-launch (the start-up shortcut, `engine/startup.rs`);
    /// empty: Scalene's own path.
    pub startup_env: Vec<(String, String)>,
    /// How to switch recording in this run (None: this Scalene did not tell; no pause or resume).
    pub lifecycle: Option<Lifecycle>,
}

/// Where the program's standard streams go.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ProgramIo {
    /// For the editor and agents: no stdin; stdout and stderr kept (their last `TAIL_BYTES`) for messages.
    #[default]
    Captured,
    /// For the terminal: the program reads this process's stdin and writes to its stdout and stderr as
    /// under Scalene by hand (stderr is also kept as a tail). With `stdout_to_stderr` the program's stdout
    /// goes to stderr, so that this process's stdout carries only its own output (JSON).
    Terminal { stdout_to_stderr: bool },
}

/// Where runs happen: the folder their run dirs go in, and the binary that can run a watchdog
/// (`WATCHDOG_COMMAND`; None: no watchdog).
#[derive(Clone, Copy, Debug)]
pub struct RunPlace<'a> {
    pub temp_root: &'a Path,
    pub watchdog: Option<&'a Path>,
}

/// What a run shares with its owner while it goes on (all optional).
#[derive(Clone, Copy, Default)]
pub struct RunHooks<'a> {
    /// Pause and resume, and whether snapshots are watched (shared with the engine).
    pub control: Option<&'a RunControl>,
    /// Called with each complete live snapshot (status `Running`), in order, never after `run` returns.
    pub on_snapshot: Option<&'a (dyn Fn(Profile) + Send + Sync)>,
}

/// Creates a private folder `scalene-lsp-run-<pid>-<infix><random>` in `temp_root` carrying a run record
/// that names this process as its owner, so that if this process dies without removing it (SIGKILL),
/// the next start sweeps it at once (`sweep_stale_run_dirs`). Run dirs use it, and so does anything
/// else a run needs on disk (the start-up probe's program: infix `probe-`).
///
/// The folder appears under its name with its record already in it: it is made and given its record
/// as `.scalene-lsp-staging-<random>`, then renamed. (Made in place, a SIGKILL between the two steps
/// left a folder without an owner, which only the age rule could sweep: seen under load.)
pub fn owned_dir(temp_root: &Path, infix: &str) -> std::io::Result<RunDir> {
    let staging = tempfile::Builder::new().prefix(STAGING_PREFIX).tempdir_in(temp_root)?;
    if let Err(err) = (group::RunRecord { owner: procfs::ProcessIdentity::of_self(), pgid: None }).write(staging.path()) {
        tracing::warn!("could not write the run record in {}: {err}", staging.path().display());
    }
    let random = staging.path().file_name().and_then(|name| name.to_str()).and_then(|name| name.strip_prefix(STAGING_PREFIX)).unwrap_or("").to_string();
    let path = temp_root.join(format!("{RUN_DIR_PREFIX}{}-{infix}{random}", std::process::id()));
    std::fs::rename(staging.path(), &path)?;
    let _ = staging.keep();
    Ok(RunDir { path })
}

/// Where `owned_dir` makes a folder before it has its record.
pub const STAGING_PREFIX: &str = ".scalene-lsp-staging-";

/// A folder of `owned_dir`, removed with everything in it when dropped.
#[derive(Debug)]
pub struct RunDir {
    path: PathBuf,
}

impl RunDir {
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Removes the folder now, saying why not if it cannot.
    pub fn close(mut self) -> std::io::Result<()> {
        // Taken, so that the drop that follows has nothing left to remove.
        std::fs::remove_dir_all(std::mem::take(&mut self.path))
    }
}

impl Drop for RunDir {
    fn drop(&mut self) {
        if !self.path.as_os_str().is_empty() {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

/// Runs Scalene once. Returns a profile for every run that produced one (including failed, cancelled
/// and timed-out runs); errors only when there is nothing to show.
pub async fn run(
    spec: &RunSpec,
    scalene_version: &str,
    place: RunPlace<'_>,
    cancel: &CancellationToken,
    hooks: RunHooks<'_>,
) -> Result<Profile, EngineError> {
    let result = run_inner(spec, scalene_version, place, cancel, hooks).await;
    if let Some(control) = hooks.control {
        control.end();
    }
    result
}

async fn run_inner(
    spec: &RunSpec,
    scalene_version: &str,
    place: RunPlace<'_>,
    cancel: &CancellationToken,
    hooks: RunHooks<'_>,
) -> Result<Profile, EngineError> {
    if let Some(path) = spec.program.file()
        && !path.is_file()
    {
        return Err(EngineError::ProgramNotFound { path: path.to_path_buf(), cwd: spec.cwd.clone() });
    }
    if cancel.is_cancelled() {
        return Err(EngineError::CancelledBeforeStart);
    }
    // Pause and resume asked for while the run was queued: Scalene starts in the state wanted now.
    let started_as_wanted;
    let spec = match hooks.control.map(RunControl::wanted) {
        Some(wanted) if spec.lifecycle.is_some() && wanted == spec.paused => {
            started_as_wanted = RunSpec { paused: !wanted, ..spec.clone() };
            &started_as_wanted
        }
        _ => spec,
    };
    let temp_root = place.temp_root;
    let run_dir = owned_dir(temp_root, "")
        .map_err(|err| EngineError::io(format!("cannot create a run directory in {}", temp_root.display()), err))?;
    let output = run_dir.path().join(PROFILE_FILE);
    let owner = procfs::ProcessIdentity::of_self();
    let suite_env = match &spec.program {
        Program::Suite { .. } => {
            let inherited = spec.env.iter().rev().find(|(key, _)| key == "PYTHONPATH").map(|(_, value)| value.into()).or_else(|| std::env::var_os("PYTHONPATH"));
            suite::prepare(run_dir.path(), inherited).map_err(|err| EngineError::io("cannot write the suite plugin into the run directory", err))?
        }
        _ => Vec::new(),
    };

    let mut command = tokio::process::Command::new(&spec.python);
    command
        .args(scalene_argv(spec, &output))
        .current_dir(&spec.cwd)
        .env("TMPDIR", run_dir.path())
        .envs(spec.env.iter().map(|(key, value)| (key, value)))
        .envs(spec.startup_env.iter().map(|(key, value)| (key, value)))
        .envs(suite_env)
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    // A test's output is pytest's report: kept (for its summary line) and passed through to the terminal.
    let echo_stdout = match spec.io {
        ProgramIo::Terminal { stdout_to_stderr } if matches!(spec.program, Program::Test { .. } | Program::Suite { .. }) => {
            Some(if stdout_to_stderr { outcome::EchoTo::Stderr } else { outcome::EchoTo::Stdout })
        }
        _ => None,
    };
    match spec.io {
        _ if echo_stdout.is_some() => command.stdin(Stdio::inherit()).stdout(Stdio::piped()),
        ProgramIo::Captured => command.stdin(Stdio::null()).stdout(Stdio::piped()),
        ProgramIo::Terminal { stdout_to_stderr: false } => command.stdin(Stdio::inherit()).stdout(Stdio::inherit()),
        ProgramIo::Terminal { stdout_to_stderr: true } => {
            use std::os::fd::AsFd;
            let stderr = std::io::stderr().as_fd().try_clone_to_owned().map_err(|err| EngineError::io("cannot pass stderr to the program", err))?;
            command.stdin(Stdio::inherit()).stdout(Stdio::from(stderr))
        }
    };
    // The program reads the terminal: its group becomes the foreground group, if this process has it
    // (`terminal.rs`), in the child before exec.
    let reads_terminal = matches!(spec.io, ProgramIo::Terminal { .. });
    let took_terminal = reads_terminal && terminal::in_foreground();
    if took_terminal {
        // SAFETY: between fork and exec only async-signal-safe syscalls run (`take_in_child`).
        unsafe {
            command.pre_exec(terminal::take_in_child);
        }
    }
    tracing::info!(command = %display_command(spec, &output), cwd = %spec.cwd.display(), "starting Scalene");
    let started = std::time::Instant::now();
    let mut child = command
        .spawn()
        .map_err(|err| EngineError::Spawn { python: spec.python.clone(), reason: err.to_string() })?;
    let pgid = child.id().map(|pid| pid as i32);
    let mut group = GroupGuard { pgid: pgid.map(Pid::from_raw), run_dir: run_dir.path().to_path_buf() };
    // Given back to this process's group when dropped, on every path.
    let terminal_job = pgid.filter(|_| reads_terminal).and_then(|pgid| terminal::TerminalJob::new(Pid::from_raw(pgid)));
    if let Err(err) = (group::RunRecord { owner, pgid }).write(run_dir.path()) {
        tracing::warn!("could not write the run record: {err}");
    }
    let watchdog = match (place.watchdog, pgid) {
        (Some(binary), Some(pgid)) => watchdog::Watchdog::spawn(binary, pgid, run_dir.path())
            .inspect_err(|err| tracing::warn!("the run's watchdog did not start ({err}); the run is stopped only while scalene-lsp lives"))
            .ok(),
        _ => None,
    };
    let echo_stderr = matches!(spec.io, ProgramIo::Terminal { .. }).then_some(outcome::EchoTo::Stderr);
    let stdout_task = tokio::spawn(outcome::read_tail(child.stdout.take(), echo_stdout));
    let stderr_task = tokio::spawn(outcome::read_tail(child.stderr.take(), echo_stderr));
    if let (Some(control), Some(pgid)) = (hooks.control, pgid) {
        control.attach(pgid, run_dir.path().to_path_buf(), spec.lifecycle.clone(), !spec.paused);
    }

    let last_snapshot = snapshots::LastSnapshot::default();
    let ending = {
        let watch = async {
            match (hooks.control, hooks.on_snapshot) {
                (Some(control), Some(on_snapshot)) => {
                    snapshots::watch(&output, spec, scalene_version, control, on_snapshot, &last_snapshot).await
                }
                _ => std::future::pending().await,
            }
        };
        let relay_stops = async {
            match (&terminal_job, pgid) {
                (Some(job), Some(pid)) => job.relay_stops(pid).await,
                _ => std::future::pending().await,
            }
        };
        tokio::select! {
            status = child.wait() => match status {
                Ok(status) => Ending::Exited(status),
                Err(err) => return Err(EngineError::io("waiting for Scalene failed", err)),
            },
            () = tokio::time::sleep(spec.timeout) => Ending::TimedOut,
            () = cancel.cancelled() => Ending::Cancelled,
            () = watch => unreachable!("the snapshot watcher never returns"),
            () = relay_stops => unreachable!("following the program's stops never ends"),
        }
    };
    let status = match ending {
        Ending::Exited(status) => status,
        Ending::TimedOut | Ending::Cancelled => {
            // Stopping may pass through recording's handlers: no pause or resume from now on.
            if let Some(control) = hooks.control {
                control.detach();
            }
            group::stop_group(&mut child, &group).await?
        }
    };
    if let Some(control) = hooks.control {
        control.detach();
    }
    group.finish().await;
    drop(terminal_job);
    let stdout = outcome::join_tail(stdout_task).await;
    let stderr = outcome::clean_stderr(&outcome::join_tail(stderr_task).await);
    tracing::info!(elapsed_ms = started.elapsed().as_millis() as u64, status = %describe_exit(status), "Scalene exited");

    let json = std::fs::read(&output).ok();
    let fallback = last_snapshot.into_inner().unwrap_or_else(|poison| poison.into_inner());
    // On the terminal, Ctrl-C reaches the program's group, not this process: Scalene stops the program
    // (its KeyboardInterrupt) and says so; that is a cancel, as a Ctrl-C to scalene-lsp would be.
    let stopped = match ending {
        Ending::Exited(_) if took_terminal && stderr.lines().any(|line| line == "Scalene execution interrupted.") => Some(RunStatus::Cancelled),
        _ => outcome::ending_status(&ending),
    };
    let mut result = outcome::interpret(spec, stopped, status, json, fallback, stdout, stderr, scalene_version);
    if let Program::Suite { .. } = &spec.program {
        result = suite::finish(result, &suite::read_events(run_dir.path()), spec);
    }
    if let Err(err) = run_dir.close() {
        tracing::warn!("could not remove the run directory: {err}");
    }
    if let Some(watchdog) = watchdog {
        watchdog.release().await;
    }
    result
}
