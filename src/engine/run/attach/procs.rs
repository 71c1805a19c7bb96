//! What /proc says about processes one may attach to: the Python processes of this user (`scalene-lsp
//! ps`), and the checks before attaching, each failure one `AttachFailed` with its fix (no such
//! process, a zombie, ourselves, another user's process, not Python, Yama's `ptrace_scope`).

use std::path::{Path, PathBuf};

use crate::engine::error::EngineError;
use crate::engine::run::runner::procfs;

/// A Python process this user may attach to.
#[derive(Clone, Debug, PartialEq)]
pub struct PythonProcess {
    pub pid: u32,
    /// The command line, arguments joined by spaces.
    pub command_line: String,
    /// The working directory (None when it cannot be read).
    pub cwd: Option<PathBuf>,
    /// Seconds since it started.
    pub age_s: f64,
    /// The interpreter's version from its executable's or libpython's name (`3.11`), when it shows.
    pub python_version: Option<String>,
    /// The interpreter executable.
    pub exe: Option<PathBuf>,
}

fn uid_of(pid: u32) -> Option<u32> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|line| line.starts_with("Uid:"))?;
    line.split_whitespace().nth(2)?.parse().ok()
}

pub fn command_line(pid: u32) -> String {
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    raw.split(|byte| *byte == 0).filter(|arg| !arg.is_empty()).map(|arg| String::from_utf8_lossy(arg).into_owned()).collect::<Vec<_>>().join(" ")
}

pub fn arguments(pid: u32) -> Vec<String> {
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    raw.split(|byte| *byte == 0).filter(|arg| !arg.is_empty()).map(|arg| String::from_utf8_lossy(arg).into_owned()).collect()
}

pub fn cwd(pid: u32) -> Option<PathBuf> {
    std::fs::read_link(format!("/proc/{pid}/cwd")).ok()
}

/// `3.11` from `python3.11` or `libpython3.11.so.1.0`.
fn version_in(name: &str) -> Option<String> {
    let rest = &name[name.find("python")? + "python".len()..];
    let version: String = rest.chars().take_while(|c| c.is_ascii_digit() || *c == '.').collect();
    let version = version.trim_end_matches('.');
    version.contains('.').then(|| version.to_string())
}

/// Whether `pid` runs Python, and its version when its executable or libpython names it: by the
/// executable's name, else a libpython mapped into it. None: not Python (or not readable).
fn python_of(pid: u32) -> Option<(Option<PathBuf>, Option<String>)> {
    let exe = std::fs::read_link(format!("/proc/{pid}/exe")).ok();
    let exe_name = exe.as_ref().and_then(|exe| exe.file_name()).map(|name| name.to_string_lossy().into_owned()).unwrap_or_default();
    if exe_name.starts_with("python") || exe_name.starts_with("pypy") {
        return Some((exe.clone(), version_in(&exe_name)));
    }
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).ok()?;
    let library = maps.lines().filter_map(|line| line.split_whitespace().nth(5)).find(|path| path.rsplit('/').next().is_some_and(|name| name.starts_with("libpython")))?;
    Some((exe, version_in(library.rsplit('/').next().unwrap_or(library))))
}

fn seconds_since_start(pid: u32) -> f64 {
    let ticks_per_s = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK).ok().flatten().unwrap_or(100) as f64;
    let uptime = std::fs::read_to_string("/proc/uptime").ok().and_then(|text| text.split_whitespace().next()?.parse::<f64>().ok()).unwrap_or(0.0);
    procfs::stat(pid as i32).map_or(0.0, |stat| (uptime - stat.start_time as f64 / ticks_per_s).max(0.0))
}

/// The Python processes this user may attach to (all of them for root), oldest first; never ourselves.
pub fn python_processes() -> Vec<PythonProcess> {
    let me = std::process::id();
    let my_uid = nix::unistd::geteuid().as_raw();
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    let mut found: Vec<PythonProcess> = entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| *pid != me)
        .filter(|pid| my_uid == 0 || uid_of(*pid) == Some(my_uid))
        .filter(|pid| procfs::stat(*pid as i32).is_some_and(|stat| stat.is_live()))
        .filter_map(|pid| {
            let (exe, python_version) = python_of(pid)?;
            Some(PythonProcess { pid, command_line: command_line(pid), cwd: cwd(pid), age_s: seconds_since_start(pid), python_version, exe })
        })
        .collect();
    found.sort_by(|a, b| b.age_s.total_cmp(&a.age_s).then(a.pid.cmp(&b.pid)));
    found
}

/// The target as checked before attaching: its command line and working directory.
pub struct Target {
    pub command_line: String,
    pub cwd: Option<PathBuf>,
    pub arguments: Vec<String>,
}

fn failed(pid: u32, problem: impl Into<String>, fix: impl Into<String>) -> EngineError {
    EngineError::AttachFailed { pid, problem: problem.into(), fix: fix.into() }
}

/// The checks before attaching, in the order a user would fix them.
pub fn check_target(pid: u32) -> Result<Target, EngineError> {
    if pid == 0 || pid > i32::MAX as u32 {
        return Err(failed(pid, "that is not a process id", "pass the pid of a running Python process (`scalene-lsp ps` lists them)"));
    }
    if pid == std::process::id() {
        return Err(failed(pid, "that is scalene-lsp itself", "pass the pid of the Python process to profile (`scalene-lsp ps` lists them)"));
    }
    let Some(stat) = procfs::stat(pid as i32) else {
        return Err(failed(pid, "there is no such process", "check the pid (`scalene-lsp ps` lists the Python processes you may attach to)"));
    };
    if !stat.is_live() {
        return Err(failed(pid, "the process has exited (it is a zombie waiting for its parent to collect it)", "attach to a process that is still running (`scalene-lsp ps`)"));
    }
    let my_uid = nix::unistd::geteuid().as_raw();
    if let Some(uid) = uid_of(pid)
        && uid != my_uid
        && my_uid != 0
    {
        let owner = nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid)).ok().flatten().map_or(uid.to_string(), |user| user.name);
        return Err(failed(
            pid,
            format!("it belongs to another user ({owner}), and reading another user's process needs their rights"),
            format!("run scalene-lsp as that user (`sudo -u {owner} scalene-lsp attach {pid}`) or as root"),
        ));
    }
    if python_of(pid).is_none() {
        let name = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
        return Err(failed(pid, format!("it is not a Python process ({})", name.trim()), "pass the pid of a Python process (`scalene-lsp ps` lists them)"));
    }
    check_ptrace_scope(pid, stat.ppid, my_uid)?;
    Ok(Target { command_line: command_line(pid), cwd: cwd(pid), arguments: arguments(pid) })
}

/// Yama's `ptrace_scope`, when the kernel has Yama: 1 lets a process read only its descendants (unless
/// it has CAP_SYS_PTRACE, which root has), 2 only root, 3 nobody.
fn check_ptrace_scope(pid: u32, _ppid: i32, my_uid: u32) -> Result<(), EngineError> {
    let Ok(text) = std::fs::read_to_string("/proc/sys/kernel/yama/ptrace_scope") else { return Ok(()) };
    let scope: u32 = text.trim().parse().unwrap_or(0);
    let root = my_uid == 0;
    match scope {
        1 if !root && !is_descendant(pid) => Err(failed(
            pid,
            "Linux's Yama ptrace_scope is 1: a process may only read its own descendants",
            format!("allow it until reboot with `echo 0 | sudo tee /proc/sys/kernel/yama/ptrace_scope`, or run `sudo scalene-lsp attach {pid}`"),
        )),
        2 if !root => Err(failed(pid, "Linux's Yama ptrace_scope is 2: only root (CAP_SYS_PTRACE) may read another process", format!("run `sudo scalene-lsp attach {pid}`"))),
        3 => Err(failed(pid, "Linux's Yama ptrace_scope is 3: no process may read another one until reboot", "set kernel.yama.ptrace_scope to 1 or 0 at boot (sysctl) and reboot")),
        _ => Ok(()),
    }
}

fn is_descendant(pid: u32) -> bool {
    let me = std::process::id() as i32;
    let mut current = pid as i32;
    for _ in 0..64 {
        match procfs::stat(current) {
            Some(stat) if stat.ppid == me => return true,
            Some(stat) if stat.ppid > 1 => current = stat.ppid,
            _ => return false,
        }
    }
    false
}

/// The program a process runs, for a profile's `program`: its script (absolute), `-m module`, or the
/// command line.
pub fn program_of(arguments: &[String], cwd: Option<&Path>) -> String {
    let mut rest = arguments.iter().skip(1);
    while let Some(arg) = rest.next() {
        if arg == "-m" {
            return rest.next().map_or_else(|| arguments.join(" "), |module| format!("-m {module}"));
        }
        if arg == "-c" {
            break;
        }
        if arg.starts_with('-') {
            continue;
        }
        let path = Path::new(arg);
        let path = match cwd {
            Some(cwd) if path.is_relative() => cwd.join(path),
            _ => path.to_path_buf(),
        };
        return path.display().to_string();
    }
    arguments.join(" ")
}

/// What changes when a process replaces its program (exec) and nothing else does: its executable and
/// its auxiliary vector (the new program's entry point, the address of its random bytes, ...). A
/// process renaming itself (`setproctitle`, as gunicorn workers do) changes its command line, not these.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExecIdentity {
    exe: Option<PathBuf>,
    auxv: Vec<u8>,
}

/// The process's `ExecIdentity`, None once it is gone (or its auxiliary vector cannot be read).
pub fn exec_identity(pid: u32) -> Option<ExecIdentity> {
    let auxv = std::fs::read(format!("/proc/{pid}/auxv")).ok()?;
    Some(ExecIdentity { exe: std::fs::read_link(format!("/proc/{pid}/exe")).ok(), auxv })
}

/// Turns py-spy's failure to attach into one message with its fix.
pub fn explain_spy_error(pid: u32, error: &str) -> EngineError {
    let lower = error.to_lowercase();
    if lower.contains("permission denied") || lower.contains("operation not permitted") {
        return failed(
            pid,
            format!("the kernel refused to let scalene-lsp read its memory ({error})"),
            format!(
                "run `sudo scalene-lsp attach {pid}`; in a container, start it with `--cap-add SYS_PTRACE` (docker) or the SYS_PTRACE capability (Kubernetes securityContext)"
            ),
        );
    }
    if lower.contains("unsupported") && lower.contains("version") {
        return failed(pid, format!("py-spy cannot read this Python version ({error})"), "attach to a CPython py-spy 0.4.3 reads (2.7, 3.3 to 3.15), or profile the program with `scalene-lsp profile` instead");
    }
    if lower.contains("no such file") || lower.contains("no such process") || !Path::new(&format!("/proc/{pid}")).exists() {
        return failed(pid, format!("the process exited while scalene-lsp attached ({error})"), "attach again while it runs");
    }
    failed(pid, format!("py-spy could not read its Python interpreter ({error})"), "check that it is a CPython process (`scalene-lsp ps`); a process that is still starting up may need a moment")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_come_from_executable_and_library_names() {
        assert_eq!(version_in("python3.11"), Some("3.11".into()));
        assert_eq!(version_in("libpython3.12.so.1.0"), Some("3.12".into()));
        assert_eq!(version_in("python3"), None);
    }

    #[test]
    fn the_program_is_the_script_or_module_or_the_command_line() {
        let args = |list: &[&str]| list.iter().map(|arg| arg.to_string()).collect::<Vec<_>>();
        assert_eq!(program_of(&args(&["python", "-u", "app.py", "x"]), Some(Path::new("/srv"))), "/srv/app.py");
        assert_eq!(program_of(&args(&["python", "-m", "http.server"]), None), "-m http.server");
        assert_eq!(program_of(&args(&["python", "-c", "pass"]), None), "python -c pass");
    }

    #[test]
    fn ourselves_and_missing_pids_are_refused_with_a_fix() {
        let own = check_target(std::process::id()).err().expect("not ourselves").to_string();
        assert!(own.contains("scalene-lsp itself") && own.contains("Fix:"), "{own}");
        let zero = check_target(0).err().expect("not pid 0").to_string();
        assert!(zero.contains("not a process id"), "{zero}");
    }

    #[test]
    fn exec_identity_stays_for_a_renamed_process_and_changes_with_exec() {
        let me = exec_identity(std::process::id()).expect("our own");
        assert_eq!(exec_identity(std::process::id()), Some(me.clone()), "stable while nothing happens");
        let mut child = std::process::Command::new("sleep").arg("5").spawn().unwrap();
        let other = exec_identity(child.id());
        child.kill().unwrap();
        child.wait().unwrap();
        assert_ne!(other, Some(me), "another program, another identity");
    }
}
