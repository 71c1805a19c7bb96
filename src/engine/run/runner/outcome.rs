//! What a finished run means: the profile (partial, failed, too short) or the error with its fix, from
//! how the run ended, its exit status and the JSON Scalene left; and the program's output tails.
//! The JSON file is trusted over the exit code.

use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::ExitStatus;
use std::time::{Duration, SystemTime};

use tokio::io::AsyncReadExt;

use super::{Program, ProgramIo, RunSpec, TAIL_BYTES};
use crate::engine::error::{EngineError, describe_exit};
use crate::engine::profile::model::{Mode, Profile, RunStatus, TOO_SHORT_ADVICE};
use crate::engine::profile::parse::parse_profile;

/// How a run ended, as the runner saw it.
pub(super) enum Ending {
    Exited(ExitStatus),
    TimedOut,
    Cancelled,
}

pub(super) fn ending_status(ending: &Ending) -> Option<RunStatus> {
    match ending {
        Ending::Exited(_) => None,
        Ending::TimedOut => Some(RunStatus::TimedOut),
        Ending::Cancelled => Some(RunStatus::Cancelled),
    }
}

/// Decides the outcome from how the run ended, the exit status and the JSON Scalene left (if any).
/// `fallback` is the last complete live snapshot, used when the final JSON is missing or unreadable.
#[allow(clippy::too_many_arguments)]
pub(super) fn interpret(
    spec: &RunSpec,
    stopped: Option<RunStatus>,
    status: ExitStatus,
    json: Option<Vec<u8>>,
    fallback: Option<Vec<u8>>,
    stdout: String,
    stderr: String,
    scalene_version: &str,
) -> Result<Profile, EngineError> {
    let mut parsed = json.as_deref().map(parse_profile);
    let mut from_snapshot = false;
    if !matches!(parsed, Some(Ok(_)))
        && let Some(Ok(snapshot)) = fallback.as_deref().map(parse_profile)
    {
        parsed = Some(Ok(snapshot));
        from_snapshot = true;
    }
    if let Program::Test { .. } | Program::Suite { .. } = &spec.program
        && !matches!(parsed, Some(Ok(_)))
        && stderr.contains("No module named pytest")
    {
        return Err(EngineError::PytestMissing { python: spec.python.clone() });
    }
    if let Program::Test { file, name } = &spec.program
        && stopped.is_none()
        && let Some(said) = no_test_ran(status, &stdout, &stderr)
    {
        return Err(EngineError::NoTestMatched {
            node: format!("{}::{name}", file.display()),
            said,
            python: spec.python.clone(),
            file: file.clone(),
            hint: escaped_id_hint(name),
        });
    }
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
            // Scalene's own argument parser stopped (e.g. `--=x` among the program's arguments, which its
            // parse_known_args still reads): it printed its usage and `scalene run: error: ...` on stdout,
            // and exited with argparse's 2. On a terminal that went straight to the user.
            let said = [&stdout, &stderr].into_iter().find_map(|text| text.split_once("scalene run: error:").map(|(_, rest)| rest));
            let detail = match said {
                Some(detail) => Some(detail.split_whitespace().collect::<Vec<_>>().join(" ").chars().take(400).collect()),
                None if status.code() == Some(2) && matches!(spec.io, ProgramIo::Terminal { .. }) && !stderr.contains("Traceback") => {
                    Some("its usage and the reason are printed above".to_string())
                }
                None => None,
            };
            if let Some(detail) = detail {
                return Err(EngineError::ArgumentsRejected { detail });
            }
            let stderr_excerpt = if tail.is_empty() { String::new() } else { format!(" Its last output:\n{tail}") };
            return Err(EngineError::ScaleneCrashed { exit: describe_exit(status), stderr: stderr_excerpt });
        }
        (None, Some(Err(err))) => {
            return Err(EngineError::Parse { path: PathBuf::from("Scalene's output"), source: err });
        }
        (None, Some(Ok(mut profile))) => {
            if let Program::Test { name, .. } = &spec.program
                && !status.success()
            {
                profile.status = RunStatus::ProgramFailed;
                let summary = pytest_summary(&stdout);
                if summary.is_empty() && import_race(&stderr) {
                    profile.notes.push(format!("pytest crashed before the test {name} could run: {IMPORT_RACE}"));
                } else {
                    let said = if summary.is_empty() { format!("pytest ended with {}", describe_exit(status)) } else { summary };
                    profile.notes.push(format!("the test {name} did not pass ({said}); the profile covers the test's run"));
                }
            } else if let Program::Suite { .. } = &spec.program
                && !status.success()
            {
                // Failing tests keep their numbers (each test's outcome is in its row).
                profile.status = RunStatus::ProgramFailed;
                let summary = pytest_summary(&stdout);
                let said = if summary.is_empty() { format!("pytest ended with {}", describe_exit(status)) } else { summary };
                profile.notes.push(format!("the suite did not pass ({said}); every test that ran keeps its numbers"));
            } else if !status.success() {
                profile.status = RunStatus::ProgramFailed;
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
                if import_race(&stderr) {
                    profile.notes.push(format!("it crashed {IMPORT_RACE}"));
                }
            } else if profile.status == RunStatus::TooShort {
                profile.notes.push(TOO_SHORT_ADVICE.into());
            }
            profile
        }
    };
    if from_snapshot {
        profile.notes.push("Scalene's final profile was missing or incomplete: this is the last complete live snapshot".into());
    }
    if profile.program.is_empty() || matches!(spec.program, Program::Test { .. } | Program::Suite { .. }) {
        profile.program = spec.program.display();
    }
    if profile.files.is_empty() {
        // Scalene wrote nothing to say which modes it used: report the ones requested.
        profile.memory = spec.mode != Mode::Cpu;
        profile.gpu = spec.mode == Mode::Gpu;
    }
    if profile.args.is_empty() || matches!(spec.program, Program::Suite { .. }) {
        profile.args = spec.args.clone();
    }
    // A run we stopped ended by our signal: its exit status says nothing about the program.
    profile.exit_code = if stopped.is_some() { None } else { status.code() };
    profile.scalene_version = Some(scalene_version.to_string());
    profile.stderr_tail = Some(stderr);
    profile.stdout_tail = Some(stdout);
    profile.created = SystemTime::now();
    Ok(profile)
}

/// Python before 3.12 can fail inside importlib's module locks (`KeyError` in `_bootstrap`'s
/// `acquire`) when a signal handler runs during an import, and Scalene samples with signals: seen under
/// load while pytest imported its plugins.
const IMPORT_RACE: &str = "in Python's import machinery (a KeyError in importlib's module lock), a known race between imports \
and signal handlers such as Scalene's sampling in Python before 3.12 (python/cpython#91351), not a fault of your code. Fix: profile \
again; with Python 3.12 or newer it does not happen";

fn import_race(stderr: &str) -> bool {
    stderr.contains("importlib._bootstrap") && stderr.lines().any(|line| line.trim_start().starts_with("KeyError:"))
}

/// pytest's own summary of a run: its `FAILED ...`/`ERROR ...` lines and its last line (`1 failed in
/// 0.53s`), joined with `; `. Empty when stdout has none.
pub(super) fn pytest_summary(stdout: &str) -> String {
    let lines: Vec<&str> = stdout.lines().map(str::trim).filter(|line| !line.is_empty()).collect();
    let mut parts: Vec<&str> = lines.iter().copied().filter(|line| line.starts_with("FAILED ") || line.starts_with("ERROR ")).take(3).collect();
    if let Some(last) = lines.last().filter(|line| line.contains(" in ") && !parts.contains(line)) {
        parts.push(last);
    }
    parts.join("; ")
}

/// What pytest said when it ran no test: it exits 4 (usage error: `ERROR: not found: FILE::NAME`) or
/// 5 (nothing collected) and prints `no tests ran`. None when a test ran (passed or not).
pub(super) fn no_test_ran(status: ExitStatus, stdout: &str, stderr: &str) -> Option<String> {
    if !matches!(status.code(), Some(4 | 5)) || !stdout.contains("no tests ran") {
        return None;
    }
    let errors: Vec<&str> = [stdout, stderr]
        .into_iter()
        .flat_map(str::lines)
        .map(str::trim)
        .filter(|line| line.starts_with("ERROR: ") || line.starts_with("(no match in any of"))
        .take(4)
        .collect();
    Some(if errors.is_empty() { "no tests ran".to_string() } else { errors.join(" ") })
}

/// For a test name with non-ASCII characters: pytest writes them escaped in parametrize ids (`é` as
/// `\xe9`, as Python's `unicode_escape` does), so `test_p[é]` is listed as `test_p[\xe9]`.
pub(super) fn escaped_id_hint(name: &str) -> String {
    if name.is_ascii() {
        return String::new();
    }
    let escaped: String = name
        .chars()
        .map(|c| match c as u32 {
            0..0x80 => c.to_string(),
            code @ 0x80..0x100 => format!("\\x{code:02x}"),
            code @ 0x100..0x10000 => format!("\\u{code:04x}"),
            code => format!("\\U{code:08x}"),
        })
        .collect();
    format!(". pytest writes non-ASCII characters of parametrize ids escaped: try \"{escaped}\" rather than \"{name}\"")
}

/// Where a passed-through stream goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum EchoTo {
    Stdout,
    Stderr,
}

/// Reads a pipe to its end, keeping the last `TAIL_BYTES` bytes.
/// With `echo`, the bytes are also written to this process's stdout or stderr as they arrive (the
/// terminal sees the program's output live), Scalene's own trailer excepted (`Echo`). Time is linear in
/// the bytes read and memory bounded, however long a line is and however many blank lines there are.
pub(super) async fn read_tail<R: tokio::io::AsyncRead + Unpin>(pipe: Option<R>, echo: Option<EchoTo>) -> Vec<u8> {
    let Some(mut pipe) = pipe else { return Vec::new() };
    let mut kept = Vec::new();
    let mut echo = echo.map(Echo::new);
    let mut chunk = vec![0u8; 16 * 1024];
    loop {
        match pipe.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n_read) => {
                if let Some(echo) = echo.as_mut() {
                    echo.to.write(&echo.push(&chunk[..n_read]));
                }
                kept.extend_from_slice(&chunk[..n_read]);
                if kept.len() > 2 * TAIL_BYTES {
                    kept.drain(..kept.len() - TAIL_BYTES);
                }
            }
        }
    }
    if let Some(echo) = echo.as_mut() {
        echo.to.write(&echo.finish());
    }
    if kept.len() > TAIL_BYTES {
        kept.drain(..kept.len() - TAIL_BYTES);
    }
    kept
}

impl EchoTo {
    fn write(self, bytes: &[u8]) {
        use std::io::Write;
        if bytes.is_empty() {
            return;
        }
        // One write per chunk read; an error (a closed terminal) loses only what could not be shown.
        let _ = match self {
            EchoTo::Stdout => {
                let mut out = std::io::stdout().lock();
                out.write_all(bytes).and_then(|()| out.flush())
            }
            EchoTo::Stderr => std::io::stderr().lock().write_all(bytes),
        };
    }
}

/// The longest start of a line that can still turn out to be Scalene's trailer or the blank line before
/// it: its patterns are short, so a longer start that has not matched is whitespace only.
const HELD_LINE_LIMIT: usize = 1024;

/// Passes the program's output through (a line ends at `\n` or `\r`, so progress bars move), leaving out
/// Scalene's trailer and the blank line Scalene prints before it: they name a file that is deleted with
/// the run dir. Only the start of a line is held, until it cannot be the trailer any more (at most
/// `HELD_LINE_LIMIT` bytes), and only the last blank line, until the next line says whether it was
/// Scalene's; every other byte is passed on at once, in order.
struct Echo {
    to: EchoTo,
    /// The current line's start, while it may still be the trailer or blank.
    line: Vec<u8>,
    /// What to do with the rest of the current line once its start is decided.
    rest: Rest,
    /// The last complete blank line, held until the next line.
    held_blank: Vec<u8>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Rest {
    Undecided,
    Pass,
    Drop,
}

impl Echo {
    fn new(to: EchoTo) -> Echo {
        Echo { to, line: Vec::new(), rest: Rest::Undecided, held_blank: Vec::new() }
    }

    /// Takes the next bytes read; returns what to write now.
    fn push(&mut self, mut bytes: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(bytes.len());
        while !bytes.is_empty() {
            let end = bytes.iter().position(|b| *b == b'\n' || *b == b'\r');
            let (segment, ends_line) = match end {
                Some(i) => (&bytes[..=i], true),
                None => (bytes, false),
            };
            bytes = &bytes[segment.len()..];
            match self.rest {
                Rest::Pass => out.extend_from_slice(segment),
                Rest::Drop => {}
                Rest::Undecided => {
                    // Hold no more than the limit: a line start that long is decided below.
                    let room = HELD_LINE_LIMIT.saturating_sub(self.line.len()).max(1);
                    let (held, over) = segment.split_at(segment.len().min(room));
                    self.line.extend_from_slice(held);
                    self.decide(ends_line && over.is_empty(), &mut out);
                    match self.rest {
                        Rest::Pass => out.extend_from_slice(over),
                        Rest::Drop | Rest::Undecided => {}
                    }
                }
            }
            if ends_line {
                self.rest = Rest::Undecided;
            }
        }
        out
    }

    /// The end of the stream: whatever is held is the program's.
    fn finish(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        if self.rest == Rest::Undecided && !self.line.is_empty() {
            self.decide(true, &mut out);
        }
        out.append(&mut self.held_blank);
        out
    }

    /// Decides the held line start, when it can be decided: trailer (dropped with the blank line held
    /// before it), blank (held), or the program's (written after any held blank line).
    fn decide(&mut self, complete: bool, out: &mut Vec<u8>) {
        let text = String::from_utf8_lossy(&self.line);
        let blank = self.line.iter().all(u8::is_ascii_whitespace);
        if is_scalene_trailer(&text) {
            self.held_blank.clear();
            self.line.clear();
            self.rest = Rest::Drop;
        } else if blank && complete {
            out.append(&mut self.held_blank);
            self.held_blank = std::mem::take(&mut self.line);
        } else if complete || self.line.len() >= HELD_LINE_LIMIT || !may_become_trailer(&text) {
            out.append(&mut self.held_blank);
            out.append(&mut self.line);
            self.rest = Rest::Pass;
        }
    }
}

/// Whether more bytes could make this line start Scalene's trailer.
fn may_become_trailer(start: &str) -> bool {
    let trimmed = start.trim_start();
    TRAILER_STARTS.iter().enumerate().any(|(index, pattern)| pattern.starts_with(if index == 0 { start } else { trimmed }))
}

const TRAILER_STARTS: [&str; 3] = ["Scalene: profile saved to", "To view in browser:", "To view in terminal:"];

/// Scalene's "profile saved / view in browser" lines: they name a file that is deleted with the run dir.
fn is_scalene_trailer(line: &str) -> bool {
    let trimmed = line.trim_start();
    line.starts_with(TRAILER_STARTS[0]) || trimmed.starts_with(TRAILER_STARTS[1]) || trimmed.starts_with(TRAILER_STARTS[2])
}

pub(super) async fn join_tail(task: tokio::task::JoinHandle<Vec<u8>>) -> String {
    // The group is dead, so the pipes are closed; the timeout only guards against the unexpected.
    match tokio::time::timeout(Duration::from_secs(2), task).await {
        Ok(Ok(bytes)) => String::from_utf8_lossy(&bytes).into_owned(),
        _ => String::new(),
    }
}

/// Drops what only concerns Scalene, not the user's program: its "profile saved / view in browser" lines
/// (they name a file that is deleted) and the traceback frames inside Scalene itself.
pub(super) fn clean_stderr(stderr: &str) -> String {
    let mut kept = Vec::new();
    let mut in_scalene_frame = false;
    for line in stderr.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("File \"") {
            in_scalene_frame = trimmed.contains("/scalene/");
        } else if !line.starts_with("    ") {
            in_scalene_frame = false;
        }
        if !in_scalene_frame && !is_scalene_trailer(line) {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The end of pytest's stderr when the race struck (a real run under scripts/test-under-load).
    #[test]
    fn the_import_race_is_recognised_and_a_failing_test_is_not() {
        let crashed = "    File \"/v/site-packages/_pytest/config/argparsing.py\", line 129, in __init__\n      from _pytest._argcomplete import filescompleter\n    File \"<frozen importlib._bootstrap>\", line 1173, in _find_and_load\n    File \"<frozen importlib._bootstrap>\", line 171, in __enter__\n    File \"<frozen importlib._bootstrap>\", line 123, in acquire\n  KeyError: 140137648562752\n  Scalene: The specified code did not run for long enough to profile.\n";
        assert!(import_race(crashed));
        assert!(!import_race("Traceback (most recent call last):\n  File \"t.py\", line 3, in <module>\n    d['x']\nKeyError: 'x'\n"), "a KeyError of the program's own");
        assert!(!import_race("  File \"<frozen importlib._bootstrap>\", line 1173, in _find_and_load\nModuleNotFoundError: No module named 'nope'\n"));
    }

    #[test]
    fn a_node_id_that_matches_no_test_is_told_apart_from_a_failing_test() {
        use std::os::unix::process::ExitStatusExt;
        let exit = |code: i32| ExitStatus::from_raw(code << 8);
        let stderr = "ERROR: not found: /p/test_u.py::test_nope\n(no match in any of [<Module test_u.py>])\n\nScalene: The specified code did not run for long enough to profile.\n";
        assert_eq!(
            no_test_ran(exit(4), "\nno tests ran in 0.15s\n", stderr).as_deref(),
            Some("ERROR: not found: /p/test_u.py::test_nope (no match in any of [<Module test_u.py>])")
        );
        assert_eq!(no_test_ran(exit(5), "\nno tests ran in 0.01s\n", "").as_deref(), Some("no tests ran"));
        assert_eq!(no_test_ran(exit(1), "F [100%]\n1 failed in 0.3s\n", ""), None, "a failing test ran");
        assert_eq!(no_test_ran(exit(0), "no tests ran in 0.01s", ""), None);
        assert_eq!(escaped_id_hint("test_p[plain]"), "");
        assert_eq!(
            escaped_id_hint("test_p[é-日-😀]"),
            ". pytest writes non-ASCII characters of parametrize ids escaped: try \"test_p[\\xe9-\\u65e5-\\U0001f600]\" rather than \"test_p[é-日-😀]\""
        );
    }

    #[test]
    fn pytest_summary_keeps_the_failures_and_the_last_line() {
        let stdout = "F                                                                        [100%]\n=== FAILURES ===\n___ TestP.test_p ___\n\n>       assert 9 == 1\nE       assert 9 == 1\n=========================== short test summary info ============================\nFAILED tests/test_shapes.py::TestP::test_p - assert 9 == 1\n1 failed in 0.36s\n";
        assert_eq!(pytest_summary(stdout), "FAILED tests/test_shapes.py::TestP::test_p - assert 9 == 1; 1 failed in 0.36s");
        assert_eq!(pytest_summary(".  [100%]\n1 passed in 0.20s\n"), "1 passed in 0.20s");
        assert_eq!(pytest_summary(""), "");
    }

    /// The echo of `input` read in pieces of `piece` bytes.
    fn echoed(input: &[u8], piece: usize) -> Vec<u8> {
        let mut echo = Echo::new(EchoTo::Stderr);
        let mut out: Vec<u8> = input.chunks(piece).flat_map(|bytes| echo.push(bytes)).collect();
        out.extend(echo.finish());
        out
    }

    #[test]
    fn the_echo_passes_every_byte_but_scalenes_trailer_in_any_pieces() {
        let trailer = "\nScalene: profile saved to /tmp/r/profile.json\n  To view in browser:  scalene view /tmp/r/profile.json\n  To view in terminal: scalene view --cli /tmp/r/profile.json\n";
        let cases: [(&str, &str); 7] = [
            ("out\n", "out\n"),
            ("a\n\n\nb\r50%\r100%\n\n  \n", "a\n\n\nb\r50%\r100%\n\n  \n"),
            ("no newline at the end", "no newline at the end"),
            ("Scalene: profile is mine\n   To view the rest\n", "Scalene: profile is mine\n   To view the rest\n"),
            ("Traceback\nError: boom\n", "Traceback\nError: boom\n"),
            ("first\n\n\n", "first\n\n\n"),
            ("partial", "partial"),
        ];
        for (program, expected) in cases {
            for with_trailer in [false, true] {
                let input = if with_trailer { format!("{program}{trailer}") } else { program.to_string() };
                let expected = if with_trailer && !program.ends_with(['\n', '\r']) { format!("{expected}\n") } else { expected.to_string() };
                for piece in [1, 2, 3, 7, 1000] {
                    assert_eq!(String::from_utf8(echoed(input.as_bytes(), piece)).unwrap(), expected, "{input:?} in pieces of {piece}");
                }
            }
        }
    }

    #[test]
    fn the_echo_holds_a_bounded_amount_of_a_long_line_or_many_blank_lines() {
        let mut echo = Echo::new(EchoTo::Stderr);
        let mut n_out = 0;
        for _ in 0..1000 {
            n_out += echo.push(&[b'x'; 1000]).len();
            assert!(echo.line.len() + echo.held_blank.len() <= HELD_LINE_LIMIT);
        }
        for _ in 0..1000 {
            n_out += echo.push(&[b'\n'; 1000]).len();
            assert!(echo.line.len() + echo.held_blank.len() <= HELD_LINE_LIMIT);
        }
        n_out += echo.push(b"   ").len() + echo.finish().len();
        assert_eq!(n_out, 2_000_003);
        let spaces = vec![b' '; 5 * HELD_LINE_LIMIT];
        assert_eq!(echoed(&spaces, 100), spaces, "a long whitespace line is passed, not held whole");
    }

    #[test]
    fn scalenes_own_trailer_is_dropped_from_stderr() {
        let stderr = "Traceback (most recent call last):\n  File \"/v/lib/python3.11/site-packages/scalene/scalene_profiler.py\", line 1559, in profile_code\n    exec(code, the_globals, the_locals)\n  File \"/p/raises.py\", line 13, in <module>\n    raise RuntimeError(\"boom\")\nRuntimeError: boom\n\nScalene: profile saved to /tmp/x.json\n  To view in browser:  scalene view /tmp/x.json\n  To view in terminal: scalene view --cli /tmp/x.json\n";
        assert_eq!(
            clean_stderr(stderr),
            "Traceback (most recent call last):\n  File \"/p/raises.py\", line 13, in <module>\n    raise RuntimeError(\"boom\")\nRuntimeError: boom\n\n"
        );
    }
}
