//! The command line of a run: only flags `scalene run` accepts, the program's own arguments after
//! `---` (so Scalene never mistakes them for its options), and its shell-quoted form for people.

use std::ffi::OsString;
use std::path::Path;

use super::{Program, RunSpec};
use crate::engine::model::Mode;

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
            niceness: 0,
            io: super::super::ProgramIo::Captured,
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
}
