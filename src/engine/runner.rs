//! One Scalene run: the argv, a process group, a private temp dir (also Scalene's TMPDIR), the timeout
//! and cancellation, and the status. The JSON file is trusted over the exit code.
//!
//! Architecture Invariant: every run owns its process group and its temp dir, and both are gone when
//! `run` returns, whatever the path (success, error, cancel, timeout, or the future being dropped).

use std::ffi::OsString;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::{Duration, SystemTime};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::io::AsyncReadExt;
use tokio_util::sync::CancellationToken;

use super::error::EngineError;
use super::error::describe_exit;
use super::model::{Mode, Profile, RunStatus};
use super::parse::parse_profile;

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

/// The arguments after the interpreter: only flags `scalene run` accepts, the program's own arguments
/// after `---` (so Scalene never mistakes them for its options).
pub fn scalene_argv(spec: &RunSpec, output: &Path) -> Vec<OsString> {
    let mut argv: Vec<OsString> =
        ["-m", "scalene", "run", "--no-stacks", "-o"].into_iter().map(OsString::from).collect();
    argv.push(output.into());
    match spec.mode {
        Mode::Cpu => argv.push("--cpu-only".into()),
        Mode::Memory => argv.push("--memory".into()),
        Mode::Gpu => argv.extend(["--memory".into(), "--gpu".into()]),
    }
    if !spec.profile_only.is_empty() {
        argv.push("--profile-only".into());
        argv.push(spec.profile_only.join(",").into());
    }
    if let Some(dir) = &spec.program_path {
        argv.push("--program-path".into());
        argv.push(dir.into());
    }
    if let Some(rate) = spec.cpu_sampling_rate {
        argv.push("--cpu-sampling-rate".into());
        argv.push(rate.to_string().into());
    }
    match &spec.program {
        Program::Script(path) => argv.push(path.into()),
        Program::Module(module) => argv.extend(["-m".into(), module.into()]),
    }
    argv.push("---".into());
    argv.extend(spec.args.iter().map(OsString::from));
    argv
}

/// The command a user could paste into a shell to run the same profile (for `doctor` and errors).
pub fn display_command(spec: &RunSpec, output: &Path) -> String {
    std::iter::once(spec.python.as_os_str().to_owned())
        .chain(scalene_argv(spec, output))
        .map(|arg| shell_quote(&arg.to_string_lossy()))
        .collect::<Vec<_>>()
        .join(" ")
}

fn shell_quote(arg: &str) -> String {
    let safe = !arg.is_empty()
        && arg.chars().all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c));
    if safe { arg.to_string() } else { format!("'{}'", arg.replace('\'', r"'\''")) }
}

/// Sends signals to a run's process group; SIGKILLs the whole group when dropped while armed, so no
/// path (error, panic, a dropped future) leaves a process behind.
struct GroupGuard {
    pgid: Option<Pid>,
}

impl GroupGuard {
    fn signal(&self, signal: Signal) {
        if let Some(pgid) = self.pgid {
            let _ = killpg(pgid, signal);
        }
    }

    /// True when no live (non-zombie) process is left in the group.
    fn is_empty(&self) -> bool {
        let Some(pgid) = self.pgid else { return true };
        if killpg(pgid, None).is_err() {
            return true;
        }
        // killpg also reaches zombies that init has not reaped yet: look at the states where /proc exists.
        match live_members(pgid.as_raw()) {
            Some(n_live) => n_live == 0,
            None => false,
        }
    }

    /// Waits up to `limit` for every process of the group to exit.
    async fn wait_empty(&self, limit: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            if self.is_empty() {
                return true;
            }
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Kills whatever is left in the group and waits (briefly) until it is empty; afterwards the pgid
    /// may be reused by the system, so the guard no longer signals it.
    async fn finish(&mut self) {
        self.signal(Signal::SIGKILL);
        if !self.wait_empty(Duration::from_secs(2)).await {
            tracing::warn!("processes of the run's group are still listed after SIGKILL");
        }
        self.pgid = None;
    }
}

/// How many non-zombie processes are in process group `pgid`, from /proc (None without /proc).
fn live_members(pgid: i32) -> Option<usize> {
    let entries = std::fs::read_dir("/proc").ok()?;
    let mut n_live = 0;
    for entry in entries.flatten() {
        if !entry.file_name().to_str().is_some_and(|name| name.bytes().all(|b| b.is_ascii_digit())) {
            continue;
        }
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else { continue };
        // Fields after the command name (which may hold spaces) are: state ppid pgrp ...
        let Some(after_name) = stat.rsplit_once(')').map(|(_, rest)| rest) else { continue };
        let fields: Vec<&str> = after_name.split_whitespace().collect();
        if fields.len() > 2 && fields[2] == pgid.to_string() && fields[0] != "Z" && fields[0] != "X" {
            n_live += 1;
        }
    }
    Some(n_live)
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        self.signal(Signal::SIGKILL);
    }
}

/// Stops a run so that Scalene writes its partial profile: SIGINT to the whole group first (Scalene 2.4
/// in memory mode sometimes hangs on SIGTERM without writing, 5 of 16 tries here, while SIGINT wrote the
/// profile every time), then SIGTERM, then SIGKILL. Waits for the whole group, not just the top process:
/// Scalene's top process exits at once while its re-launched child is still writing the JSON.
async fn stop_group(child: &mut tokio::process::Child, group: &GroupGuard) -> Result<ExitStatus, EngineError> {
    for signal in [Signal::SIGINT, Signal::SIGTERM] {
        group.signal(signal);
        if group.wait_empty(STOP_STEP).await {
            break;
        }
        tracing::info!(?signal, "the run's process group did not stop in time; escalating");
    }
    group.signal(Signal::SIGKILL);
    child.wait().await.map_err(|err| EngineError::io("waiting for Scalene failed", err))
}

enum Ending {
    Exited(ExitStatus),
    TimedOut,
    Cancelled,
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
    let stdout_task = tokio::spawn(read_tail(child.stdout.take()));
    let stderr_task = tokio::spawn(read_tail(child.stderr.take()));

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
            stop_group(&mut child, &group).await?
        }
    };
    group.finish().await;
    let stdout = join_tail(stdout_task).await;
    let stderr = clean_stderr(&join_tail(stderr_task).await);
    tracing::info!(elapsed_ms = started.elapsed().as_millis() as u64, status = %describe_exit(status), "Scalene exited");

    let json = std::fs::read(&output).ok();
    let result = interpret(spec, ending_status(&ending), status, json, stdout, stderr, scalene_version);
    if let Err(err) = run_dir.close() {
        tracing::warn!("could not remove the run directory: {err}");
    }
    result
}

fn ending_status(ending: &Ending) -> Option<RunStatus> {
    match ending {
        Ending::Exited(_) => None,
        Ending::TimedOut => Some(RunStatus::TimedOut),
        Ending::Cancelled => Some(RunStatus::Cancelled),
    }
}

/// Decides the outcome from how the run ended, the exit status and the JSON Scalene left (if any).
fn interpret(
    spec: &RunSpec,
    stopped: Option<RunStatus>,
    status: ExitStatus,
    json: Option<Vec<u8>>,
    stdout: String,
    stderr: String,
    scalene_version: &str,
) -> Result<Profile, EngineError> {
    let parsed = json.as_deref().map(parse_profile);
    let mut profile = match (stopped, parsed) {
        (Some(stopped), parsed) => {
            // A stopped run keeps whatever complete profile Scalene managed to write.
            let (mut profile, measured) = match parsed {
                Some(Ok(profile)) => {
                    let measured = !profile.files.is_empty();
                    (profile, measured)
                }
                _ => (Profile::empty(RunStatus::TooShort, spec.program.display()), false),
            };
            profile.notes.retain(|note| note != super::parse::TOO_SHORT_ADVICE);
            let what = match stopped {
                RunStatus::TimedOut => format!("the run hit its time limit of {} s and was stopped", spec.timeout.as_secs_f64()),
                _ => "the run was cancelled".to_string(),
            };
            let coverage = if measured {
                "the profile covers the run up to then"
            } else {
                "Scalene wrote no samples before it stopped, so there is nothing to show"
            };
            let advice = if stopped == RunStatus::TimedOut { " (raise the timeout to profile the whole program)" } else { "" };
            profile.notes.push(format!("{what}; {coverage}{advice}"));
            profile.status = stopped;
            profile
        }
        (None, None) => {
            let tail = last_lines(&stderr, 15);
            if let Program::Script(path) = &spec.program
                && stderr.contains("SyntaxError")
            {
                return Err(EngineError::SyntaxError { path: path.clone(), detail: tail });
            }
            let stderr_excerpt = if tail.is_empty() { String::new() } else { format!(" Its last output:\n{tail}") };
            return Err(EngineError::ScaleneCrashed { exit: describe_exit(status), stderr: stderr_excerpt });
        }
        (None, Some(Err(err))) => {
            return Err(EngineError::Parse { path: PathBuf::from("Scalene's output"), source: err });
        }
        (None, Some(Ok(mut profile))) => {
            if !status.success() {
                profile.status = RunStatus::ProgramFailed;
                profile.notes.retain(|note| note != super::parse::TOO_SHORT_ADVICE);
                let how = match (status.code(), status.signal()) {
                    (Some(code), _) => format!("exited with code {code}"),
                    (None, Some(signal)) => format!("was killed by signal {signal}"),
                    _ => "failed".to_string(),
                };
                let last = last_lines(&stderr, 1);
                let reason = if last.is_empty() { String::new() } else { format!(" ({})", last.trim()) };
                profile.notes.push(format!(
                    "the program {how}{reason}; the profile covers the run up to the failure"
                ));
            }
            profile
        }
    };
    if profile.program.is_empty() {
        profile.program = spec.program.display();
    }
    if profile.files.is_empty() {
        // Scalene wrote nothing to say which modes it used: report the ones requested.
        profile.memory = spec.mode != Mode::Cpu;
        profile.gpu = spec.mode == Mode::Gpu;
    }
    if profile.args.is_empty() {
        profile.args = spec.args.clone();
    }
    profile.exit_code = status.code();
    profile.scalene_version = Some(scalene_version.to_string());
    profile.stderr_tail = Some(stderr);
    profile.stdout_tail = Some(stdout);
    profile.created = SystemTime::now();
    Ok(profile)
}

/// Reads a pipe to its end, keeping the last `TAIL_BYTES` bytes.
async fn read_tail<R: tokio::io::AsyncRead + Unpin>(pipe: Option<R>) -> Vec<u8> {
    let Some(mut pipe) = pipe else { return Vec::new() };
    let mut kept = Vec::new();
    let mut chunk = vec![0u8; 16 * 1024];
    loop {
        match pipe.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n_read) => {
                kept.extend_from_slice(&chunk[..n_read]);
                if kept.len() > 2 * TAIL_BYTES {
                    kept.drain(..kept.len() - TAIL_BYTES);
                }
            }
        }
    }
    if kept.len() > TAIL_BYTES {
        kept.drain(..kept.len() - TAIL_BYTES);
    }
    kept
}

async fn join_tail(task: tokio::task::JoinHandle<Vec<u8>>) -> String {
    // The group is dead, so the pipes are closed; the timeout only guards against the unexpected.
    match tokio::time::timeout(Duration::from_secs(2), task).await {
        Ok(Ok(bytes)) => String::from_utf8_lossy(&bytes).into_owned(),
        _ => String::new(),
    }
}

/// Drops what only concerns Scalene, not the user's program: its "profile saved / view in browser" lines
/// (they name a file that is deleted) and the traceback frames inside Scalene itself.
fn clean_stderr(stderr: &str) -> String {
    let mut kept = Vec::new();
    let mut in_scalene_frame = false;
    for line in stderr.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("File \"") {
            in_scalene_frame = trimmed.contains("/scalene/");
        } else if !line.starts_with("    ") {
            in_scalene_frame = false;
        }
        let trailer = line.starts_with("Scalene: profile saved to")
            || trimmed.starts_with("To view in browser:")
            || trimmed.starts_with("To view in terminal:");
        if !in_scalene_frame && !trailer {
            kept.push(line);
        }
    }
    let mut text = kept.join("\n");
    if stderr.ends_with('\n') && !text.is_empty() {
        text.push('\n');
    }
    text
}

fn last_lines(text: &str, n_lines: usize) -> String {
    let lines: Vec<&str> = text.lines().filter(|line| !line.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(n_lines)..].join("\n")
}

/// Removes run directories left by processes that no longer exist and that are older than `min_age`
/// (the age guards against a live owner in another pid namespace sharing the temp dir). Returns how
/// many were removed.
pub fn sweep_stale_run_dirs(temp_root: &Path, min_age: Duration) -> usize {
    let Ok(entries) = std::fs::read_dir(temp_root) else { return 0 };
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(rest) = name.to_str().and_then(|name| name.strip_prefix(RUN_DIR_PREFIX)) else { continue };
        let Some(pid) = rest.split('-').next().and_then(|pid| pid.parse::<i32>().ok()) else { continue };
        let owner_alive = pid == std::process::id() as i32
            || !matches!(nix::sys::signal::kill(Pid::from_raw(pid), None), Err(nix::errno::Errno::ESRCH));
        let old_enough = entry
            .metadata()
            .and_then(|meta| meta.modified())
            .ok()
            .and_then(|modified| modified.elapsed().ok())
            .is_some_and(|age| age >= min_age);
        if !owner_alive && old_enough && entry.file_type().is_ok_and(|kind| kind.is_dir()) {
            match std::fs::remove_dir_all(entry.path()) {
                Ok(()) => removed += 1,
                Err(err) => tracing::warn!("could not remove stale run directory {:?}: {err}", entry.path()),
            }
        }
    }
    if removed > 0 {
        tracing::info!(removed, "removed stale run directories");
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> RunSpec {
        RunSpec {
            python: "/venv/bin/python".into(),
            program: Program::Script("/proj/main.py".into()),
            args: vec!["--flag".into(), "two words".into()],
            mode: Mode::Memory,
            cwd: "/proj".into(),
            program_path: None,
            profile_only: Vec::new(),
            cpu_sampling_rate: None,
            timeout: Duration::from_secs(600),
            env: Vec::new(),
            niceness: 0,
        }
    }

    fn argv(spec: &RunSpec) -> Vec<String> {
        scalene_argv(spec, Path::new("/run/profile.json")).into_iter().map(|a| a.into_string().unwrap()).collect()
    }

    #[test]
    fn program_arguments_always_follow_the_separator() {
        assert_eq!(
            argv(&spec()),
            ["-m", "scalene", "run", "--no-stacks", "-o", "/run/profile.json", "--memory", "/proj/main.py", "---",
             "--flag", "two words"]
        );
    }

    #[test]
    fn modes_map_to_run_flags_and_gpu_keeps_memory() {
        let mut spec = spec();
        spec.args.clear();
        spec.mode = Mode::Cpu;
        assert!(argv(&spec).contains(&"--cpu-only".to_string()));
        spec.mode = Mode::Gpu;
        let gpu = argv(&spec);
        assert!(gpu.contains(&"--memory".to_string()) && gpu.contains(&"--gpu".to_string()), "{gpu:?}");
    }

    #[test]
    fn optional_flags_and_module_targets() {
        let mut spec = spec();
        spec.program = Program::Module("pkg.main".into());
        spec.profile_only = vec!["pkg".into(), "lib".into()];
        spec.program_path = Some("/proj/src".into());
        spec.cpu_sampling_rate = Some(0.005);
        assert_eq!(
            argv(&spec),
            ["-m", "scalene", "run", "--no-stacks", "-o", "/run/profile.json", "--memory", "--profile-only",
             "pkg,lib", "--program-path", "/proj/src", "--cpu-sampling-rate", "0.005", "-m", "pkg.main", "---",
             "--flag", "two words"]
        );
    }

    #[test]
    fn display_command_quotes_for_a_shell() {
        let text = display_command(&spec(), Path::new("/run/profile.json"));
        assert!(text.ends_with("/proj/main.py --- --flag 'two words'"), "{text}");
    }

    #[test]
    fn scalenes_own_trailer_is_dropped_from_stderr() {
        let stderr = "Traceback (most recent call last):\n  File \"/v/lib/python3.11/site-packages/scalene/scalene_profiler.py\", line 1559, in profile_code\n    exec(code, the_globals, the_locals)\n  File \"/p/raises.py\", line 13, in <module>\n    raise RuntimeError(\"boom\")\nRuntimeError: boom\n\nScalene: profile saved to /tmp/x.json\n  To view in browser:  scalene view /tmp/x.json\n  To view in terminal: scalene view --cli /tmp/x.json\n";
        assert_eq!(
            clean_stderr(stderr),
            "Traceback (most recent call last):\n  File \"/p/raises.py\", line 13, in <module>\n    raise RuntimeError(\"boom\")\nRuntimeError: boom\n\n"
        );
    }

    #[test]
    fn sweep_removes_only_old_dirs_of_dead_owners() {
        let root = tempfile::tempdir().unwrap();
        // pid 2^22 + 1 is above Linux's pid_max limit, so it cannot be alive.
        let dead = root.path().join(format!("{RUN_DIR_PREFIX}4194305-abc"));
        let mine = root.path().join(format!("{RUN_DIR_PREFIX}{}-abc", std::process::id()));
        let foreign = root.path().join("scalene-other-1-abc");
        for dir in [&dead, &mine, &foreign] {
            std::fs::create_dir(dir).unwrap();
            std::fs::write(dir.join("profile.json"), "{}").unwrap();
        }
        assert_eq!(sweep_stale_run_dirs(root.path(), Duration::from_secs(3600)), 0, "too young to sweep");
        assert_eq!(sweep_stale_run_dirs(root.path(), Duration::ZERO), 1);
        assert!(!dead.exists() && mine.exists() && foreign.exists());
    }
}
