//! A pytest suite run (`Program::Suite`): the suite plugin (shipped in this binary) written into the
//! run dir and put on PYTHONPATH, loaded with `-p`; its log read back after the run; and what the log
//! says about a run that has no tests to show (nothing collected, nothing selected, xdist). Giving the
//! samples to the tests is pure and lives in `engine/profile/suite.rs`.

use std::ffi::OsString;
use std::io::Read;
use std::path::Path;

use crate::engine::error::{EngineError, shell_quote};
use crate::engine::profile::model::Profile;
use crate::engine::profile::suite::{self, records::{TestEvent, parse_events}};

/// The plugin's module name (`-p scalene_lsp_pytest`).
pub const PLUGIN_MODULE: &str = "scalene_lsp_pytest";
const PLUGIN_SOURCE: &str = include_str!("suite/scalene_lsp_pytest.py");
/// The folder of the run dir the plugin is written to (on PYTHONPATH), and its log.
const PLUGIN_DIR: &str = "suite-plugin";
const LOG_FILE: &str = "tests.jsonl";
const LOG_ENV: &str = "SCALENE_LSP_TESTS_LOG";
/// The most of the log read (a line per event, about 150 bytes: far more than any suite needs).
const MAX_LOG_BYTES: u64 = 256 << 20;

/// Refuses pytest-xdist's options before a run: Scalene samples only the process it started, so the
/// workers' tests would show nothing. `-n 0` (xdist off) is allowed. A project whose configuration adds
/// `-n` is caught by the plugin at pytest's start instead (`TestEvent::Xdist`).
pub fn check_arguments(args: &[String]) -> Result<(), EngineError> {
    let mut words = args.iter().peekable();
    while let Some(arg) = words.next() {
        let value = match arg.as_str() {
            "-n" | "--numprocesses" => words.peek().map(|next| next.as_str()),
            _ if arg.starts_with("--numprocesses=") => arg.split_once('=').map(|(_, value)| value),
            _ if arg.starts_with("-n") && arg.len() > 2 && !arg.starts_with("--") => Some(&arg[2..]),
            _ if arg == "--dist" || arg.starts_with("--dist=") || arg == "--tx" || arg.starts_with("--tx=") => {
                return Err(EngineError::XdistRefused { how: arg.clone() });
            }
            _ => continue,
        };
        if value != Some("0") {
            let shown = match value {
                Some(value) if !arg.contains(value) => format!("{arg} {value}"),
                _ => arg.clone(),
            };
            return Err(EngineError::XdistRefused { how: shown });
        }
    }
    Ok(())
}

/// Writes the plugin into the run dir; returns the variables the run needs (PYTHONPATH with the
/// plugin's folder first, the log's path). `inherited` is the PYTHONPATH the program would get.
pub fn prepare(run_dir: &Path, inherited: Option<OsString>) -> std::io::Result<Vec<(OsString, OsString)>> {
    let folder = run_dir.join(PLUGIN_DIR);
    std::fs::create_dir(&folder)?;
    std::fs::write(folder.join(format!("{PLUGIN_MODULE}.py")), PLUGIN_SOURCE)?;
    let mut path = folder.into_os_string();
    if let Some(inherited) = inherited.filter(|value| !value.is_empty()) {
        path.push(":");
        path.push(inherited);
    }
    Ok(vec![("PYTHONPATH".into(), path), (LOG_ENV.into(), run_dir.join(LOG_FILE).into_os_string())])
}

/// The plugin's events (an unreadable last line, cut by a kill, skipped).
pub fn read_events(run_dir: &Path) -> Vec<TestEvent> {
    let mut text = String::new();
    if let Ok(file) = std::fs::File::open(run_dir.join(LOG_FILE)) {
        let mut bytes = Vec::new();
        let _ = file.take(MAX_LOG_BYTES).read_to_end(&mut bytes);
        text = String::from_utf8_lossy(&bytes).into_owned();
    }
    let (events, unreadable) = parse_events(&text);
    if unreadable > 1 {
        tracing::warn!(unreadable, "lines of the suite plugin's log could not be read");
    }
    events
}

/// A suite run's result with its tests: the profile gets `tests`; a run that has none to show becomes
/// the error that says why (xdist, nothing collected, nothing selected), when no test ran at all.
pub fn finish(result: Result<Profile, EngineError>, events: &[TestEvent], spec: &super::RunSpec) -> Result<Profile, EngineError> {
    let (python, args) = (spec.python.as_path(), spec.args.as_slice());
    let quiet = if args.iter().any(|arg| arg == "-q" || arg == "--quiet") { "" } else { " -q" };
    let shown_args: String = args.iter().map(|arg| format!(" {}", shell_quote(arg))).collect();
    let collect_args = format!("{quiet}{shown_args}");
    if let Some(TestEvent::Xdist { workers, dist }) = events.iter().find(|event| matches!(event, TestEvent::Xdist { .. })) {
        return Err(EngineError::XdistRefused { how: format!("the pytest configuration asks for it: numprocesses={workers}, dist={dist}") });
    }
    let any_test = events.iter().any(|event| matches!(event, TestEvent::Start { .. }));
    if !any_test {
        let errors: Vec<String> = events
            .iter()
            .filter_map(|event| match event {
                TestEvent::CollectError { node, message } => {
                    let last = message.lines().rev().find(|line| !line.trim().is_empty()).unwrap_or("").trim();
                    Some(if node.is_empty() { last.to_string() } else { format!("{node}: {last}") })
                }
                _ => None,
            })
            .collect();
        if !errors.is_empty() {
            let shown = errors.iter().take(3).cloned().collect::<Vec<_>>().join("; ");
            let more = if errors.len() > 3 { format!(" (and {} more)", errors.len() - 3) } else { String::new() };
            return Err(EngineError::SuiteNotCollected { errors: format!("{shown}{more}"), python: python.to_path_buf(), collect_args });
        }
        let nothing_selected = events.iter().any(|event| matches!(event, TestEvent::SessionEnd { exit: 5 } | TestEvent::Collected { n: 0 }));
        if nothing_selected {
            return Err(EngineError::NoTestsSelected { python: python.to_path_buf(), args: shown_args, collect_args });
        }
    }
    let mut profile = result?;
    let footprint: &[(f64, f64)] = if profile.memory { &profile.timeline } else { &[] };
    let run = suite::RunSamples {
        call_paths: profile.call_paths.as_deref(),
        elapsed_s: profile.elapsed_s,
        cpu_percent: profile.files.iter().map(|file| file.cpu_percent).sum(),
        footprint,
    };
    let tests = suite::attribute(run, events, spec.cpu_sampling_rate);
    if any_test && !tests.collection_errors.is_empty() {
        profile.notes.push(format!("{} file(s) could not be collected; the tests that ran are shown", tests.collection_errors.len()));
    }
    profile.tests = Some(std::sync::Arc::new(tests));
    Ok(profile)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(words: &[&str]) -> Vec<String> {
        words.iter().map(|word| word.to_string()).collect()
    }

    #[test]
    fn xdist_options_are_refused_but_xdist_off_is_not() {
        for refused in [&["-n", "4"][..], &["-nauto"], &["--numprocesses=2"], &["--numprocesses", "auto"], &["--dist", "load"], &["-k", "x", "-n2"]] {
            assert!(matches!(check_arguments(&args(refused)), Err(EngineError::XdistRefused { .. })), "{refused:?}");
        }
        for allowed in [&["-n", "0"][..], &["-n0"], &["-k", "not slow", "-m", "fast"], &["tests/t.py::test_a"], &["--noconftest"]] {
            assert!(check_arguments(&args(allowed)).is_ok(), "{allowed:?}");
        }
        let Err(err) = check_arguments(&args(&["-n", "4"])) else { unreachable!() };
        assert!(err.to_string().contains("(-n 4)") && err.to_string().contains("Fix: drop -n"), "{err}");
    }

    #[test]
    fn the_plugin_goes_first_on_the_python_path() {
        let dir = tempfile::tempdir().unwrap();
        let env = prepare(dir.path(), Some("/src".into())).unwrap();
        let path = env[0].1.to_string_lossy().into_owned();
        assert!(path.ends_with(":/src") && path.starts_with(&dir.path().join(PLUGIN_DIR).to_string_lossy().into_owned()), "{path}");
        assert!(dir.path().join(PLUGIN_DIR).join("scalene_lsp_pytest.py").is_file());
    }
}
