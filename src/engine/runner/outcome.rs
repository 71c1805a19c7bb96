//! What a finished run means: the profile (partial, failed, too short) or the error with its fix, from
//! how the run ended, its exit status and the JSON Scalene left; and the program's output tails.
//! The JSON file is trusted over the exit code.

use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::ExitStatus;
use std::time::{Duration, SystemTime};

use tokio::io::AsyncReadExt;

use super::{Program, RunSpec, TAIL_BYTES};
use crate::engine::error::{EngineError, describe_exit};
use crate::engine::model::{Mode, Profile, RunStatus, TOO_SHORT_ADVICE};
use crate::engine::parse::parse_profile;

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
pub(super) fn interpret(
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
            } else if profile.status == RunStatus::TooShort {
                profile.notes.push(TOO_SHORT_ADVICE.into());
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
pub(super) async fn read_tail<R: tokio::io::AsyncRead + Unpin>(pipe: Option<R>) -> Vec<u8> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalenes_own_trailer_is_dropped_from_stderr() {
        let stderr = "Traceback (most recent call last):\n  File \"/v/lib/python3.11/site-packages/scalene/scalene_profiler.py\", line 1559, in profile_code\n    exec(code, the_globals, the_locals)\n  File \"/p/raises.py\", line 13, in <module>\n    raise RuntimeError(\"boom\")\nRuntimeError: boom\n\nScalene: profile saved to /tmp/x.json\n  To view in browser:  scalene view /tmp/x.json\n  To view in terminal: scalene view --cli /tmp/x.json\n";
        assert_eq!(
            clean_stderr(stderr),
            "Traceback (most recent call last):\n  File \"/p/raises.py\", line 13, in <module>\n    raise RuntimeError(\"boom\")\nRuntimeError: boom\n\n"
        );
    }
}
