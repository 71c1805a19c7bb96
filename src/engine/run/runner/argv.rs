//! The command line of a run: only flags `scalene run` accepts, the program's own arguments after
//! `---` (so Scalene never mistakes them for its options), and its shell-quoted form for people.

use std::ffi::OsString;
use std::path::Path;

use super::{Program, RunSpec};
use crate::engine::error::shell_quote;
use crate::engine::profile::model::Mode;

/// The arguments after the interpreter: only flags `scalene run` accepts, the program's own arguments
/// after `---` (so Scalene never mistakes them for its options).
pub fn scalene_argv(spec: &RunSpec, output: &Path) -> Vec<OsString> {
    let mut argv: Vec<OsString> =
        ["-m", "scalene", "run", "-o"].into_iter().map(OsString::from).collect();
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
    if matches!(spec.program, Program::Suite { .. }) {
        // A suite run gives each test its samples: on Scalene's default wall-clock timer they follow a
        // test's wall time, which other processes on the machine stretch; on CPU time they follow its CPU
        // time (docs/performance.md: tests within 10 % of their known share went from 7-22 of 29 to 29).
        argv.push("--use-virtual-time".into());
    }
    if let Some(interval) = spec.live {
        argv.push("--profile-interval".into());
        argv.push(interval.as_secs_f64().to_string().into());
    }
    if spec.paused {
        argv.push("--off".into());
    }
    if spec.no_stacks {
        argv.push("--no-stacks".into());
    }
    match &spec.program {
        Program::Script(path) => argv.push(path.into()),
        Program::Module(module) => argv.extend(["-m".into(), module.into()]),
        Program::Test { .. } | Program::Suite { .. } => argv.extend(["-m".into(), "pytest".into()]),
    }
    argv.push("---".into());
    if let Program::Test { file, name } = &spec.program {
        let mut node = file.as_os_str().to_owned();
        node.push("::");
        node.push(name);
        // Only this test, quietly, without writing pytest's cache into the project.
        argv.extend([node, "-q".into(), "-p".into(), "no:cacheprovider".into()]);
    }
    if let Program::Suite { .. } = &spec.program {
        // The suite plugin (on PYTHONPATH, `pytest_suite.rs`) records each test; pytest's cache stays out
        // of the project.
        argv.extend(["-p".into(), super::suite::PLUGIN_MODULE.into(), "-p".into(), "no:cacheprovider".into()]);
    }
    argv.extend(spec.args.iter().map(OsString::from));
    argv
}

/// The command a user could paste into a shell to run the same profile (for `doctor` and errors),
/// with the start-up shortcut's variables in front when it is used.
pub fn display_command(spec: &RunSpec, output: &Path) -> String {
    spec.startup_env
        .iter()
        .map(|(key, value)| OsString::from(format!("{key}={value}")))
        .chain(std::iter::once(spec.python.as_os_str().to_owned()))
        .chain(scalene_argv(spec, output))
        .map(|arg| shell_quote(&arg.to_string_lossy()))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

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
            io: crate::engine::run::runner::ProgramIo::Captured,
            live: None,
            paused: false,
            no_stacks: false,
            startup_env: Vec::new(),
            lifecycle: None,
        }
    }

    fn argv(spec: &RunSpec) -> Vec<String> {
        scalene_argv(spec, Path::new("/run/profile.json")).into_iter().map(|a| a.into_string().unwrap()).collect()
    }

    #[test]
    fn program_arguments_always_follow_the_separator() {
        assert_eq!(
            argv(&spec()),
            ["-m", "scalene", "run", "-o", "/run/profile.json", "--memory", "/proj/main.py", "---",
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
            ["-m", "scalene", "run", "-o", "/run/profile.json", "--memory", "--profile-only",
             "pkg,lib", "--program-path", "/proj/src", "--cpu-sampling-rate", "0.005", "-m", "pkg.main", "---",
             "--flag", "two words"]
        );
    }

    #[test]
    fn stacks_are_recorded_unless_call_paths_are_off() {
        let mut spec = spec();
        assert!(!argv(&spec).contains(&"--no-stacks".to_string()), "Scalene records its stacks by default");
        spec.no_stacks = true;
        let args = argv(&spec);
        let flag = args.iter().position(|arg| arg == "--no-stacks").expect("--no-stacks asked for");
        assert!(flag < args.iter().position(|arg| arg == "---").unwrap(), "a Scalene flag, before the program's arguments: {args:?}");
    }

    #[test]
    fn display_command_quotes_for_a_shell() {
        let text = display_command(&spec(), Path::new("/run/profile.json"));
        assert!(text.ends_with("/proj/main.py --- --flag 'two words'"), "{text}");
        let mut spec = spec();
        spec.startup_env = vec![("SCALENE_ALLOCATION_SAMPLING_WINDOW".into(), "1048576".into())];
        let text = display_command(&spec, Path::new("/run/profile.json"));
        assert!(text.starts_with("SCALENE_ALLOCATION_SAMPLING_WINDOW=1048576 /venv/bin/python -m scalene run"), "{text}");
    }

    #[test]
    fn live_paused_and_test_runs() {
        let mut spec = spec();
        spec.args.clear();
        spec.live = Some(std::time::Duration::from_millis(1500));
        spec.paused = true;
        spec.program = Program::Test { file: "/proj/tests/test_a.py".into(), name: "TestA::test_b".into() };
        assert_eq!(
            argv(&spec),
            ["-m", "scalene", "run", "-o", "/run/profile.json", "--memory", "--profile-interval", "1.5",
             "--off", "-m", "pytest", "---", "/proj/tests/test_a.py::TestA::test_b", "-q", "-p", "no:cacheprovider"]
        );
    }
}
