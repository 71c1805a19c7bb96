//! `EngineError`: every way the engine can fail to produce a profile. Each message names the problem and
//! the exact fix, in one paragraph a user can act on.

use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The fix when no interpreter is found: a virtual environment with Scalene in the project.
const CREATE_VENV: &str = "python3 -m venv .venv && .venv/bin/python -m pip install scalene";

/// pip's arguments for a Scalene that scalene-lsp can use.
const UPGRADE_SCALENE: &str = "--upgrade \"scalene>=2,<3\"";

#[derive(Clone, Debug, thiserror::Error)]
pub enum EngineError {
    #[error(
        "no Python interpreter found. Tried: {tried}. Fix: create a virtual environment with Scalene in the \
         project (`{CREATE_VENV}`), or name an interpreter with --python (editor setting `scalene.python`)."
    )]
    InterpreterNotFound { tried: String },

    #[error("the Python interpreter {python:?} ({source_description}) {problem}. Fix: {fix}")]
    InterpreterMissing { python: PathBuf, source_description: String, problem: &'static str, fix: String },

    #[error(
        "the Python interpreter {python:?} does not run: {reason}. Fix: check that it is a working Python 3 \
         executable, or name another with --python (editor setting `scalene.python`)."
    )]
    InterpreterBroken { python: PathBuf, reason: String },

    #[error("Scalene is not installed for {python:?} (`import scalene` failed: {reason}). Fix: {fix}", fix = pip_install(python, "scalene"))]
    ScaleneMissing { python: PathBuf, reason: String },

    #[error(
        "{python:?} has Scalene {version}, but scalene-lsp needs Scalene 2.x (its command line changed in 2.0). Fix: {fix}",
        fix = pip_install(python, UPGRADE_SCALENE)
    )]
    ScaleneUnsupported { python: PathBuf, version: String },

    #[error("the program {path:?} does not exist. Fix: check the path (it is resolved against {cwd:?}).")]
    ProgramNotFound { path: PathBuf, cwd: PathBuf },

    #[error("the program {path:?} is {kind}, not a Python file. Fix: pass the path of a .py file (for a package, profile it as a module: -m package).")]
    ProgramNotAFile { path: PathBuf, kind: &'static str },

    #[error(
        "{path:?} cannot be profiled: it is not valid UTF-8 (line {line}: {detail}), and Scalene reads the \
         program as UTF-8 whatever encoding it declares. Fix: save the file as UTF-8."
    )]
    SourceNotUtf8 { path: PathBuf, line: usize, detail: String },

    #[error(
        "Scalene rejected the program arguments (its own argument parser stopped: {detail}). Scalene reads \
         options it knows even after the program's arguments, and a few forms such as `--=x` make its parser \
         exit. Fix: pass that argument in another form (e.g. `--name=value` with a name), or profile a small \
         script that calls the program with it."
    )]
    ArgumentsRejected { detail: String },

    #[error("{path:?} is {kind}, not a regular file, so it cannot be read as a profile. Fix: pass a Scalene JSON file (`scalene run -o FILE.json`).")]
    ProfileNotAFile { path: PathBuf, kind: &'static str },

    #[error(
        "{path:?} is {size_mb:.0} MB, more than the {limit_mb:.0} MB a profile may have. Fix: check that it is a \
         Scalene JSON profile; if it is, raise the limit (editor setting `scalene.maxProfileMb`, `show --max-size-mb`)."
    )]
    ProfileTooLarge { path: PathBuf, size_mb: f64, limit_mb: f64 },

    #[error(
        "Scalene does not profile {path:?}: the file is inside the Python installation path {excluded:?}, and \
         Scalene treats everything there as library code (the result would be an empty profile). Fix: move the \
         program outside the virtual environment / Python prefix."
    )]
    ProgramInLibraryPath { path: PathBuf, excluded: PathBuf },

    #[error(
        "program argument {position} is `--`, which Scalene cannot pass on intact: its argument parser moves \
         `--` and everything after it in front of the other arguments, so the program would see them in the \
         wrong order. Fix: pass the arguments without a bare `--` (e.g. `--name=value`), or profile a small \
         script that calls the program with them."
    )]
    UnpassableArgument { position: usize },

    #[error("{path:?} has a syntax error, so Scalene cannot run it:\n{detail}\nFix the syntax error and profile again.")]
    SyntaxError { path: PathBuf, detail: String },

    #[error(
        "Scalene exited with {exit} without writing a profile.{stderr}\nFix: run the command from \
         `scalene-lsp doctor` by hand to see the whole output; if Scalene itself fails, report it upstream."
    )]
    ScaleneCrashed { exit: String, stderr: String },

    #[error("could not start {python:?}: {reason}. Fix: check that the interpreter is executable.")]
    Spawn { python: PathBuf, reason: String },

    #[error("the run was cancelled before Scalene started")]
    CancelledBeforeStart,

    #[error("pytest is not installed for {python:?}, so the test cannot run under Scalene. Fix: {fix}", fix = pip_install(python, "pytest"))]
    PytestMissing { python: PathBuf },

    #[error(
        "pytest could not collect the suite, so no test ran: {errors}. Fix: correct what pytest names (\"{python_display}\" -m pytest \
         --collect-only{collect_args} shows the same errors), or leave the file out (--ignore=PATH, --deselect=NODE).",
        python_display = python.display()
    )]
    SuiteNotCollected { errors: String, python: PathBuf, collect_args: String },

    #[error(
        "pytest selected no test (exit status 5){with_args}. Fix: check the paths and the -k/-m expressions (\"{python_display}\" -m \
         pytest --collect-only{collect_args} lists what they select).",
        with_args = if args.is_empty() { String::new() } else { format!(" with the arguments{args}") },
        python_display = python.display()
    )]
    NoTestsSelected { python: PathBuf, args: String, collect_args: String },

    #[error(
        "a suite run cannot use pytest-xdist ({how}): Scalene samples only the process it started, so the tests that xdist's workers \
         run would show no time. Fix: drop -n/--dist (when the project's pytest configuration adds them, pass -p no:xdist)."
    )]
    XdistRefused { how: String },

    #[error(
        "no test matched {node}: pytest ran no test ({said}). Fix: name a test as pytest lists it (\"{python_display}\" -m pytest \
         --collect-only -q {file_display} prints the node ids; the part after :: is the name){hint}",
        python_display = python.display(),
        file_display = file.display()
    )]
    NoTestMatched { node: String, said: String, python: PathBuf, file: PathBuf, hint: String },

    #[error("no run is in progress. Fix: start one (profile a file; a live run shows its numbers while it goes on), then switch its recording.")]
    NoRunInProgress,

    #[error("there is no run {run_id} in progress or recently ended. Fix: use a run id from the profile command's answer or the list of runs (list_profiles), e.g. \"run-3\".")]
    UnknownRun { run_id: String },

    #[error(
        "{run_id} has ended, so its recording cannot be switched (its profile is kept). Fix: pause and resume apply to a run in \
         progress: start a new run (with recording paused to begin with, if you want only a window), then resume it."
    )]
    RunEnded { run_id: String },

    #[error(
        "Scalene has not started the program of {run_id} yet (waited {waited_s} s for it to install its signal handlers). Fix: \
         try again in a moment; if the program never starts, cancel the run and look at its output."
    )]
    ProgramNotStarted { run_id: String, waited_s: u64 },

    #[error(
        "the recording of {run_id} cannot be switched: the preflight could not read from this Scalene ({version}) how it is \
         switched. Fix: use Scalene 2.4 in the project's environment (python -m pip install scalene==2.4.0), or profile \
         without pausing."
    )]
    RecordingUnsupported { run_id: String, version: String },

    #[error(
        "{run_id} has no snapshot yet: a live run's first one comes about a second after the program starts recording (a run \
         that is not live writes one only when paused and at its end). Fix: ask again in a moment."
    )]
    NoSnapshotYet { run_id: String },

    #[error("internal error: {message}. This is a bug in scalene-lsp; please report it with the log (RUST_LOG=debug).")]
    Internal { message: String },

    #[error("{context}: {source}")]
    Io { context: String, source: Arc<std::io::Error> },

    #[error("cannot read {path:?}: {source}")]
    Parse { path: PathBuf, source: ParseError },

    #[error(
        "{name:?} is not a valid name for a saved profile: {reason}. Nothing was written. Fix: use 1 to 64 \
         letters, digits, `.`, `_` or `-`, not starting with a dot (e.g. `baseline`, `before-fix`, `v1.2`)."
    )]
    BadName { name: String, reason: String },

    #[error("no saved profile is named {name:?} in {dir:?} (saved: {known}). Fix: {fix}")]
    SavedNotFound { name: String, dir: PathBuf, known: String, fix: String },

    #[error(
        "the saved profile {path:?} cannot be read: {reason}. Fix: delete it (`scalene-lsp saved delete NAME`) \
         and save the profile again."
    )]
    SavedUnreadable { path: PathBuf, reason: String },

    #[error("the profile store {dir:?} cannot be used: {reason}. Fix: {fix}")]
    StoreUnusable { dir: PathBuf, reason: String, fix: String },

    /// A profile that cannot be compared or saved (no measurements, unreadable input, changed files).
    #[error("{reason}. Fix: {fix}")]
    CannotCompare { reason: String, fix: String },
    /// A profile that cannot be exported in the form asked (no call paths, no stacks of that weight).
    #[error("{reason}. Fix: {fix}")]
    CannotExport { reason: String, fix: String },

    /// Attaching to a running process failed or was refused (`scalene-lsp attach`): why, and the fix.
    #[error("cannot attach to process {pid}: {problem}. Fix: {fix}")]
    AttachFailed { pid: u32, problem: String, fix: String },
}

impl EngineError {
    pub fn io(context: impl Into<String>, source: std::io::Error) -> EngineError {
        EngineError::Io { context: context.into(), source: Arc::new(source) }
    }

    /// A short machine-readable kind, for logs, JSON-RPC error data and MCP.
    pub fn kind(&self) -> &'static str {
        match self {
            EngineError::InterpreterNotFound { .. } => "interpreter_not_found",
            EngineError::InterpreterMissing { .. } => "interpreter_missing",
            EngineError::InterpreterBroken { .. } => "interpreter_broken",
            EngineError::ScaleneMissing { .. } => "scalene_missing",
            EngineError::ScaleneUnsupported { .. } => "scalene_unsupported",
            EngineError::ProgramNotFound { .. } => "program_not_found",
            EngineError::ProgramNotAFile { .. } => "program_not_a_file",
            EngineError::SourceNotUtf8 { .. } => "source_not_utf8",
            EngineError::ArgumentsRejected { .. } => "arguments_rejected",
            EngineError::ProfileNotAFile { .. } => "profile_not_a_file",
            EngineError::ProfileTooLarge { .. } => "profile_too_large",
            EngineError::ProgramInLibraryPath { .. } => "program_in_library_path",
            EngineError::UnpassableArgument { .. } => "unpassable_argument",
            EngineError::SyntaxError { .. } => "syntax_error",
            EngineError::ScaleneCrashed { .. } => "scalene_crashed",
            EngineError::Spawn { .. } => "spawn_failed",
            EngineError::CancelledBeforeStart => "cancelled",
            EngineError::PytestMissing { .. } => "pytest_missing",
            EngineError::NoTestMatched { .. } => "no_test_matched",
            EngineError::SuiteNotCollected { .. } => "suite_not_collected",
            EngineError::NoTestsSelected { .. } => "no_tests_selected",
            EngineError::XdistRefused { .. } => "xdist_refused",
            EngineError::NoRunInProgress => "no_run",
            EngineError::UnknownRun { .. } => "unknown_run",
            EngineError::RunEnded { .. } => "run_ended",
            EngineError::ProgramNotStarted { .. } => "not_started",
            EngineError::RecordingUnsupported { .. } => "recording_unsupported",
            EngineError::NoSnapshotYet { .. } => "no_snapshot",
            EngineError::Internal { .. } => "internal",
            EngineError::Io { .. } => "io",
            EngineError::Parse { .. } => "bad_profile",
            EngineError::BadName { .. } => "bad_name",
            EngineError::SavedNotFound { .. } => "saved_not_found",
            EngineError::SavedUnreadable { .. } => "saved_unreadable",
            EngineError::StoreUnusable { .. } => "store_unusable",
            EngineError::CannotCompare { .. } => "cannot_compare",
            EngineError::CannotExport { .. } => "cannot_export",
            EngineError::AttachFailed { .. } => "attach_failed",
        }
    }

    /// The exact shell command that fixes the problem, when one command does (the one the message's fix
    /// names): e.g. `"/p/.venv/bin/python" -m pip install scalene`. Editors offer to copy or run it.
    pub fn fix_command(&self) -> Option<String> {
        match self {
            EngineError::InterpreterNotFound { .. } => Some(CREATE_VENV.to_string()),
            EngineError::ScaleneMissing { python, .. } => Some(pip_install(python, "scalene")),
            EngineError::ScaleneUnsupported { python, .. } => Some(pip_install(python, UPGRADE_SCALENE)),
            EngineError::PytestMissing { python } => Some(pip_install(python, "pytest")),
            _ => None,
        }
    }

    /// True when the problem is the Python environment rather than the program.
    pub fn is_environment(&self) -> bool {
        matches!(
            self,
            EngineError::InterpreterNotFound { .. }
                | EngineError::InterpreterMissing { .. }
                | EngineError::InterpreterBroken { .. }
                | EngineError::ScaleneMissing { .. }
                | EngineError::ScaleneUnsupported { .. }
                | EngineError::Spawn { .. }
                | EngineError::PytestMissing { .. }
        )
    }
}

/// `"PYTHON" -m pip install ARGS` for one interpreter: its path in double quotes, with the characters a
/// POSIX shell treats specially inside them (`"`, `\\`, `$`, `` ` ``) escaped, so the command runs as shown.
fn pip_install(python: &Path, args: &str) -> String {
    let mut quoted = String::new();
    for c in python.display().to_string().chars() {
        if matches!(c, '"' | '\\' | '$' | '`') {
            quoted.push('\\');
        }
        quoted.push(c);
    }
    format!("\"{quoted}\" -m pip install {args}")
}

/// How a process ended, for messages: `exit code 1`, `signal 9`.
pub fn describe_exit(status: std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit code {code}"),
        (None, Some(signal)) => format!("signal {signal}"),
        (None, None) => "an unknown status".into(),
    }
}

/// What a path is, for messages about something that should have been a regular file.
pub fn file_kind(file_type: std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if file_type.is_dir() {
        "a directory"
    } else if file_type.is_fifo() {
        "a named pipe (FIFO)"
    } else if file_type.is_char_device() {
        "a character device"
    } else if file_type.is_block_device() {
        "a block device"
    } else if file_type.is_socket() {
        "a socket"
    } else if file_type.is_symlink() {
        "a symbolic link"
    } else {
        "a regular file"
    }
}

/// Why a Scalene JSON could not be read. Each message names the problem and what to do.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum ParseError {
    #[error("the profile is empty (0 bytes): Scalene always writes at least `{{}}`, so the run that made it stopped before writing; profile again")]
    Empty,
    #[error("the profile ends early at line {line}, column {column}: the file is truncated (was the run killed while writing?); profile again")]
    Truncated { line: usize, column: usize },
    #[error("the profile is not valid JSON at line {line}, column {column}: {message}; is this a Scalene JSON file (`scalene run -o FILE.json`)?")]
    Syntax { line: usize, column: usize, message: String },
    #[error("the profile has a wrong value at `{path}`: {message}; it does not look like Scalene 2.x output")]
    Field { path: String, message: String },
    #[error("this is not a Scalene profile: {reason}; pass a JSON file written by `scalene run -o FILE.json`")]
    NotAProfile { reason: String },
}

/// The text of a caught panic's payload.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|text| text.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

/// `arg` as a shell would need it in a command a user pastes (quoted when it has anything unusual).
pub fn shell_quote(arg: &str) -> String {
    let safe = !arg.is_empty()
        && arg.chars().all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c));
    if safe { arg.to_string() } else { format!("'{}'", arg.replace('\'', r"'\''")) }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each error that names one command to run gives that command, and its message ends with it.
    #[test]
    fn the_fix_command_is_the_one_the_message_names() {
        let python = PathBuf::from("/w/.venv/bin/python");
        let cases = [
            (EngineError::ScaleneMissing { python: python.clone(), reason: "No module named 'scalene'".into() }, r#""/w/.venv/bin/python" -m pip install scalene"#),
            (EngineError::ScaleneUnsupported { python: python.clone(), version: "1.5.51".into() }, r#""/w/.venv/bin/python" -m pip install --upgrade "scalene>=2,<3""#),
            (EngineError::PytestMissing { python: python.clone() }, r#""/w/.venv/bin/python" -m pip install pytest"#),
        ];
        for (err, command) in cases {
            assert_eq!(err.fix_command().as_deref(), Some(command), "{err}");
            assert!(err.to_string().ends_with(&format!("Fix: {command}")), "{err}");
        }
        let not_found = EngineError::InterpreterNotFound { tried: "python3 on PATH".into() };
        assert_eq!(not_found.fix_command().as_deref(), Some("python3 -m venv .venv && .venv/bin/python -m pip install scalene"));
        assert!(not_found.to_string().contains("(`python3 -m venv .venv && .venv/bin/python -m pip install scalene`)"), "{not_found}");
        let broken = EngineError::InterpreterBroken { python, reason: "exit code 1".into() };
        assert_eq!(broken.fix_command(), None, "no one command fixes it");
    }

    #[test]
    fn the_interpreter_path_is_quoted_for_a_shell() {
        let err = EngineError::ScaleneMissing { python: PathBuf::from(r#"/h/my "env" $x`y`\z/bin/python"#), reason: String::new() };
        assert_eq!(err.fix_command().as_deref(), Some(r#""/h/my \"env\" \$x\`y\`\\z/bin/python" -m pip install scalene"#));
    }
}
