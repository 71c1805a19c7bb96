//! One Scalene run, start to end: spawn it in its own process group with a private run dir (also
//! Scalene's TMPDIR), race its exit against the timeout and cancellation, stop the group, and hand the
//! outcome to `outcome.rs`. The command line is `argv.rs`; the group's life cycle is `group.rs`.
//!
//! Architecture Invariant: every run owns its process group and its temp dir, and both are gone when
//! `run` returns, whatever the path (success, error, cancel, timeout, or the future being dropped).

mod argv;
mod group;
mod outcome;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use nix::unistd::Pid;
use tokio_util::sync::CancellationToken;

use super::error::{EngineError, describe_exit};
use super::model::{Mode, Profile};
use group::GroupGuard;
use outcome::Ending;

pub use argv::{display_command, scalene_argv};
pub use group::sweep_stale_run_dirs;

/// Prefix of every run directory; the owner's pid follows, so stale ones can be swept.
pub const RUN_DIR_PREFIX: &str = "scalene-lsp-run-";
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
}

impl Program {
    pub fn display(&self) -> String {
        match self {
            Program::Script(path) => path.display().to_string(),
            Program::Module(module) => format!("-m {module}"),
        }
    }
}

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
    /// Added to the program's scheduling niceness (0: unchanged).
    pub niceness: i32,
}

/// Runs Scalene once. Returns a profile for every run that produced one (including failed, cancelled
/// and timed-out runs); errors only when there is nothing to show.
pub async fn run(
    spec: &RunSpec,
    scalene_version: &str,
    temp_root: &Path,
    cancel: &CancellationToken,
) -> Result<Profile, EngineError> {
    if let Program::Script(path) = &spec.program
        && !path.is_file()
    {
        return Err(EngineError::ProgramNotFound { path: path.clone(), cwd: spec.cwd.clone() });
    }
    if cancel.is_cancelled() {
        return Err(EngineError::CancelledBeforeStart);
    }
    let run_dir = tempfile::Builder::new()
        .prefix(&format!("{RUN_DIR_PREFIX}{}-", std::process::id()))
        .tempdir_in(temp_root)
        .map_err(|err| EngineError::io(format!("cannot create a run directory in {}", temp_root.display()), err))?;
    let output = run_dir.path().join("profile.json");

    let mut command = tokio::process::Command::new(&spec.python);
    command
        .args(scalene_argv(spec, &output))
        .current_dir(&spec.cwd)
        .env("TMPDIR", run_dir.path())
        .envs(spec.env.iter().map(|(key, value)| (key, value)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    if spec.niceness != 0 {
        let niceness = spec.niceness;
        // SAFETY: between fork and exec only the async-signal-safe setpriority syscall runs.
        unsafe {
            command.pre_exec(move || {
                if nix::libc::setpriority(nix::libc::PRIO_PROCESS, 0, niceness) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
    tracing::info!(command = %display_command(spec, &output), cwd = %spec.cwd.display(), "starting Scalene");
    let started = std::time::Instant::now();
    let mut child = command
        .spawn()
        .map_err(|err| EngineError::Spawn { python: spec.python.clone(), reason: err.to_string() })?;
    let mut group = GroupGuard { pgid: child.id().map(|pid| Pid::from_raw(pid as i32)) };
    let stdout_task = tokio::spawn(outcome::read_tail(child.stdout.take()));
    let stderr_task = tokio::spawn(outcome::read_tail(child.stderr.take()));

    let ending = tokio::select! {
        status = child.wait() => match status {
            Ok(status) => Ending::Exited(status),
            Err(err) => return Err(EngineError::io("waiting for Scalene failed", err)),
        },
        () = tokio::time::sleep(spec.timeout) => Ending::TimedOut,
        () = cancel.cancelled() => Ending::Cancelled,
    };
    let status = match ending {
        Ending::Exited(status) => status,
        Ending::TimedOut | Ending::Cancelled => {
            group::stop_group(&mut child, &group).await?
        }
    };
    group.finish().await;
    let stdout = outcome::join_tail(stdout_task).await;
    let stderr = outcome::clean_stderr(&outcome::join_tail(stderr_task).await);
    tracing::info!(elapsed_ms = started.elapsed().as_millis() as u64, status = %describe_exit(status), "Scalene exited");

    let json = std::fs::read(&output).ok();
    let result = outcome::interpret(spec, outcome::ending_status(&ending), status, json, stdout, stderr, scalene_version);
    if let Err(err) = run_dir.close() {
        tracing::warn!("could not remove the run directory: {err}");
    }
    result
}
