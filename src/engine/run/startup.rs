//! The start-up shortcut. Scalene 2.x starts, finds that its environment lacks what it wants
//! (`SCALENE_ALLOCATION_SAMPLING_WINDOW`, and for memory profiling its `libscalene.so` preloaded), and
//! re-launches itself once with it: a second Python that imports Scalene again, about half of
//! Scalene's fixed start-up cost. Presetting that environment makes the first process the one that
//! runs the program. It relies on Scalene's internals, so it is used only where the preflight read
//! the environment from Scalene's own code (`ScaleneStartup`) and a probe run with it gave a complete
//! profile for that interpreter and Scalene install (`verify`); otherwise, or with `Startup::Normal`,
//! runs take Scalene's own path.
//!
//! The same knowledge finds the process that runs the program in a run's group (the one a pause or a
//! resume must reach): the topmost one whose environment already satisfies Scalene (`satisfies`).

use std::path::Path;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::engine::profile::model::{Mode, RunStatus};
use crate::engine::run::interpreter::{Preflight, PreflightCache};
use crate::engine::run::runner::{self, Program, ProgramIo, RunHooks, RunPlace, RunSpec};
pub use crate::engine::run::runner::control::satisfies;

/// How a run starts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Startup {
    /// With the start-up shortcut where it was verified for the interpreter and Scalene install;
    /// Scalene's own way elsewhere.
    #[default]
    Shortcut,
    /// Always Scalene's own way (it re-launches itself once).
    Normal,
}

impl Startup {
    /// The shortcut when allowed (the CLI's `--no-shortcut`, the editor's `shortcut` setting).
    pub fn allowing_shortcut(allowed: bool) -> Startup {
        if allowed { Startup::Shortcut } else { Startup::Normal }
    }
}

/// The variables to set on top of `env` (the environment the program would get) so that Scalene does
/// not re-launch itself: its preload environment, with `LD_PRELOAD` and `LD_LIBRARY_PATH` put in front
/// of the user's own values (never replacing them), and `PYTHONMALLOC=default` when the user set
/// another allocator with memory profiling (Scalene's own re-launch does the same).
pub fn shortcut_env(env: &[(String, String)], preload: &[(String, String)], memory: bool) -> Vec<(String, String)> {
    let get = |key: &str| env.iter().rev().find(|(name, _)| name == key).map(|(_, value)| value.as_str()).filter(|value| !value.is_empty());
    let mut out = Vec::new();
    for (key, value) in preload {
        let merged = match (key.as_str(), get(key)) {
            ("LD_LIBRARY_PATH", Some(have)) if have.contains(value.as_str()) => continue,
            ("LD_PRELOAD", Some(have)) if have.split(':').any(|entry| entry == value) => continue,
            ("LD_LIBRARY_PATH" | "LD_PRELOAD", Some(have)) => format!("{value}:{have}"),
            _ => value.clone(),
        };
        out.push((key.clone(), merged));
    }
    if memory && get("PYTHONMALLOC").is_some_and(|value| value != "default") {
        out.push(("PYTHONMALLOC".into(), "default".into()));
    }
    out
}

/// The environment a program started by this process with `extra` would see.
pub fn effective_env(extra: &[(String, String)]) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = std::env::vars_os()
        .map(|(key, value)| (key.to_string_lossy().into_owned(), value.to_string_lossy().into_owned()))
        .collect();
    env.extend(extra.iter().cloned());
    env
}

/// The probe: CPU work, then allocations, printing its parent's pid (with the shortcut the program's
/// parent is scalene-lsp itself; after a re-launch it is Scalene's first process).
const PROBE_PROGRAM: &str = r#"import os
print("SCALENE_LSP_PROBE ppid=%d" % os.getppid(), flush=True)


def burn():
    total = 0
    for i in range(1_500_000):
        total += i % 7
    return total


def allocate():
    kept = [bytearray(1 << 20) for _ in range(48)]
    return len(kept)


burn()
allocate()
burn()
"#;

const PROBE_TIMEOUT: Duration = Duration::from_secs(60);

/// Runs the probe with the shortcut (memory profiling or CPU only) and says whether the profile is
/// complete: no re-launch happened, the probe's lines have CPU samples and, with memory profiling, its
/// allocations were measured. None when the probe could not tell (it did not start or timed out):
/// such an answer is not remembered.
pub async fn verify(preflight: &Preflight, memory: bool, place: RunPlace<'_>) -> Option<bool> {
    let startup = preflight.startup.as_ref()?;
    // Owned like a run dir: a SIGKILL during the probe leaves it to the next start's sweep.
    let dir = runner::owned_dir(place.temp_root, "probe-").ok()?;
    let program = dir.path().join("scalene_lsp_probe.py");
    std::fs::write(&program, PROBE_PROGRAM).ok()?;
    let spec = RunSpec {
        python: preflight.python.clone(),
        program: Program::Script(program.clone()),
        args: Vec::new(),
        mode: if memory { Mode::Memory } else { Mode::Cpu },
        cwd: dir.path().to_path_buf(),
        program_path: Some(dir.path().to_path_buf()),
        profile_only: Vec::new(),
        cpu_sampling_rate: None,
        timeout: PROBE_TIMEOUT,
        env: Vec::new(),
        io: ProgramIo::Captured,
        live: None,
        paused: false,
        no_stacks: false,
        startup_env: shortcut_env(&effective_env(&[]), startup.preload(memory), memory),
        lifecycle: None,
    };
    let started = std::time::Instant::now();
    let result = runner::run(&spec, &preflight.scalene_version, place, &CancellationToken::new(), RunHooks::default()).await;
    let kind = if memory { "memory" } else { "CPU-only" };
    let verdict = match result {
        Ok(profile) if profile.status == RunStatus::TimedOut => return None,
        Ok(profile) => check_probe(&profile, &program, memory),
        Err(err) if err.is_environment() => return None,
        Err(err) => Err(format!("the probe run failed: {err}")),
    };
    match &verdict {
        Ok(()) => tracing::info!(python = %preflight.python.display(), kind, elapsed_ms = started.elapsed().as_millis() as u64, "the start-up shortcut gave a complete profile: using it"),
        Err(reason) => tracing::info!(python = %preflight.python.display(), kind, "not using the start-up shortcut: {reason}"),
    }
    Some(verdict.is_ok())
}

/// Why a probe profile is not complete, if it is not.
fn check_probe(profile: &crate::engine::profile::model::Profile, program: &Path, memory: bool) -> Result<(), String> {
    if profile.status != RunStatus::Ok {
        return Err(format!("the probe ended with status {}", profile.status.as_str()));
    }
    let stdout = profile.stdout_tail.as_deref().unwrap_or("");
    let wanted = format!("SCALENE_LSP_PROBE ppid={}", std::process::id());
    if !stdout.lines().any(|line| line.trim() == wanted) {
        return Err("Scalene re-launched itself anyway".into());
    }
    let canonical = program.canonicalize().unwrap_or_else(|_| program.to_path_buf());
    let Some(file) = profile.files.iter().find(|file| file.path == program || file.path == canonical) else {
        return Err("the probe's file is missing from the profile".into());
    };
    if !file.lines.iter().any(|line| line.cpu_total() > 0.0) {
        return Err("no CPU samples on the probe's lines".into());
    }
    if memory && !(profile.memory && file.lines.iter().any(|line| line.metrics.alloc_mb > 0.0 && line.metrics.peak_mb > 0.0)) {
        return Err("no memory samples on the probe's lines".into());
    }
    Ok(())
}

/// What `env_for` needs of a run plan (`run/plan.rs`, which builds on this module).
#[derive(Clone, Copy)]
pub struct Planned<'a> {
    pub startup: Startup,
    pub interpreter: &'a Path,
    pub preflight: &'a Preflight,
    pub spec: &'a RunSpec,
}

/// The variables that let the planned run skip Scalene's re-launch, or none when the plan asks for
/// `Startup::Normal` or the shortcut is not verified for the interpreter and Scalene install. The first
/// call for an interpreter verifies it with a short probe run (about a second), whose verdict is
/// remembered with the preflight.
pub async fn env_for(resolved: Planned<'_>, preflights: &PreflightCache, place: RunPlace<'_>) -> Vec<(String, String)> {
    let Some(scalene) = resolved.preflight.startup.as_ref().filter(|_| resolved.startup == Startup::Shortcut) else {
        return Vec::new();
    };
    let memory = resolved.spec.mode != Mode::Cpu;
    let verdict = match resolved.preflight.shortcut.get(memory) {
        Some(verdict) => verdict,
        None => {
            let _verifying = preflights.verifying.lock().await;
            // Another run may have verified it meanwhile.
            let current = preflights.check(resolved.interpreter).await.ok();
            match current.as_ref().and_then(|preflight| preflight.shortcut.get(memory)) {
                Some(verdict) => verdict,
                None => {
                    match verify(resolved.preflight, memory, place).await {
                        Some(verdict) => {
                            preflights.record_shortcut(resolved.interpreter, memory, verdict);
                            verdict
                        }
                        None => false,
                    }
                }
            }
        }
    };
    if !verdict {
        return Vec::new();
    }
    shortcut_env(&effective_env(&resolved.spec.env), scalene.preload(memory), memory)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
        items.iter().map(|(key, value)| (key.to_string(), value.to_string())).collect()
    }

    const DIR: &str = "/venv/lib/python3.11/site-packages/scalene";

    fn memory_preload() -> Vec<(String, String)> {
        pairs(&[("LD_LIBRARY_PATH", DIR), ("LD_PRELOAD", "libscalene.so"), ("SCALENE_ALLOCATION_SAMPLING_WINDOW", "1048576")])
    }

    #[test]
    fn the_shortcut_prepends_to_the_users_preload_and_library_path() {
        let user = pairs(&[("LD_PRELOAD", "libuser.so"), ("LD_LIBRARY_PATH", "/opt/lib"), ("HOME", "/h")]);
        let added = shortcut_env(&user, &memory_preload(), true);
        assert_eq!(
            added,
            pairs(&[
                ("LD_LIBRARY_PATH", &format!("{DIR}:/opt/lib")),
                ("LD_PRELOAD", "libscalene.so:libuser.so"),
                ("SCALENE_ALLOCATION_SAMPLING_WINDOW", "1048576"),
            ])
        );
        let mut after = user.clone();
        after.extend(added);
        assert!(satisfies(&after, &memory_preload(), true), "Scalene would not re-launch: {after:?}");
        assert!(!satisfies(&user, &memory_preload(), true));
    }

    #[test]
    fn nothing_is_added_twice_and_a_foreign_allocator_is_reset_like_scalene_does() {
        let user = pairs(&[("LD_PRELOAD", "libscalene.so"), ("LD_LIBRARY_PATH", DIR), ("PYTHONMALLOC", "malloc")]);
        let added = shortcut_env(&user, &memory_preload(), true);
        assert_eq!(added, pairs(&[("SCALENE_ALLOCATION_SAMPLING_WINDOW", "1048576"), ("PYTHONMALLOC", "default")]));
        let mut after = user.clone();
        assert!(!satisfies(&after, &memory_preload(), true));
        after.extend(added);
        assert!(satisfies(&after, &memory_preload(), true));
    }

    #[test]
    fn cpu_only_runs_need_only_the_sampling_window() {
        let preload = pairs(&[("SCALENE_ALLOCATION_SAMPLING_WINDOW", "1048576")]);
        let user = pairs(&[("PYTHONMALLOC", "malloc"), ("LD_PRELOAD", "libuser.so")]);
        assert_eq!(shortcut_env(&user, &preload, false), preload);
        assert!(satisfies(&[user, preload.clone()].concat(), &preload, false));
        assert!(!satisfies(&pairs(&[("SCALENE_ALLOCATION_SAMPLING_WINDOW", "4096")]), &preload, false), "another value re-launches");
    }
}
