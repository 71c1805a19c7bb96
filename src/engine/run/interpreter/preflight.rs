//! The preflight: does an interpreter run, can it `import scalene`, is Scalene 2.x, and which paths does
//! Scalene treat as library code for it. Successes are cached per interpreter (in memory and in a
//! per-user file) until the interpreter or its Scalene install changes; failures are never cached, so
//! the fix a user just applied is seen on the next try.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use dashmap::DashMap;
use serde::Deserialize;

use crate::engine::error::{EngineError, describe_exit};

/// What the preflight learnt about an interpreter that can run Scalene.
#[derive(Clone, Debug, PartialEq, serde::Serialize, Deserialize)]
pub struct Preflight {
    pub python: PathBuf,
    pub python_version: String,
    pub scalene_version: String,
    /// Where the `scalene` package is installed (its change invalidates the cached preflight).
    pub scalene_dir: PathBuf,
    /// Every `sysconfig` path of every scheme, resolved: Scalene skips any file whose resolved path
    /// contains one of these.
    pub library_paths: Vec<PathBuf>,
    /// What Scalene itself says about starting a run: the environment it re-launches itself with, and
    /// the signals that switch recording on and off. None when this Scalene does not tell (another
    /// version's internals): then runs take the normal path and cannot be paused.
    #[serde(default)]
    pub startup: Option<ScaleneStartup>,
    /// Start-up shortcut verdicts for this interpreter and Scalene install (see `engine/run/startup.rs`).
    #[serde(default)]
    pub shortcut: ShortcutVerdicts,
}

/// Scalene's start-up facts, read from Scalene's own code by the preflight.
#[derive(Clone, Debug, PartialEq, serde::Serialize, Deserialize)]
pub struct ScaleneStartup {
    /// `ScalenePreload.get_preload_environ` for CPU-only runs (`cpu`) and runs with memory profiling
    /// (`memory`), computed without any inherited LD_PRELOAD, LD_LIBRARY_PATH or PYTHONMALLOC: a process
    /// whose environment already has these does not re-launch itself.
    pub preload_cpu: Vec<(String, String)>,
    pub preload_memory: Vec<(String, String)>,
    /// `ScaleneSignals().start_profiling_signal` / `stop_profiling_signal` (what `python -m
    /// scalene.profile --on|--off --pid PID` sends).
    pub start_signal: i32,
    pub stop_signal: i32,
}

impl ScaleneStartup {
    /// The preload environment for runs that do (`memory`) or do not profile memory.
    pub fn preload(&self, memory: bool) -> &[(String, String)] {
        if memory { &self.preload_memory } else { &self.preload_cpu }
    }
}

/// Whether the start-up shortcut gave a complete profile with this interpreter and Scalene install,
/// per kind of run (None: not checked yet).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, Deserialize)]
pub struct ShortcutVerdicts {
    pub cpu: Option<bool>,
    pub memory: Option<bool>,
}

impl ShortcutVerdicts {
    pub fn get(&self, memory: bool) -> Option<bool> {
        if memory { self.memory } else { self.cpu }
    }

    pub fn set(&mut self, memory: bool, verdict: bool) {
        if memory { self.memory = Some(verdict) } else { self.cpu = Some(verdict) }
    }
}

impl Preflight {
    /// The library path that would make Scalene silently skip `program`, if any.
    pub fn excluding_path(&self, program: &Path) -> Option<&Path> {
        let resolved = program.canonicalize().unwrap_or_else(|_| program.to_path_buf());
        let resolved = resolved.to_string_lossy();
        self.library_paths
            .iter()
            .find(|library| resolved.contains(library.to_string_lossy().as_ref()))
            .map(PathBuf::as_path)
    }
}

const PREFLIGHT_MARKER: &str = "SCALENE_LSP_PREFLIGHT:";
const PREFLIGHT_SCRIPT: &str = r#"
import json, pathlib, sys, sysconfig
out = {"python": "%d.%d.%d" % sys.version_info[:3]}
paths = set()
for scheme in sysconfig.get_scheme_names():
    for name in sysconfig.get_path_names():
        try:
            value = sysconfig.get_path(name, scheme)
            if value:
                paths.add(str(pathlib.Path(value).resolve()))
        except Exception:
            pass
out["library_paths"] = sorted(paths)
try:
    import scalene
    from importlib import metadata
    out["scalene"] = metadata.version("scalene")
    out["scalene_dir"] = str(pathlib.Path(scalene.__file__).resolve().parent)
except Exception as error:
    out["scalene_error"] = "%s: %s" % (type(error).__name__, error)
if "scalene" in out:
    try:
        import argparse, os
        from scalene.scalene_arguments import ScaleneArguments
        from scalene.scalene_preload import ScalenePreload
        from scalene.scalene_signals import ScaleneSignals
        window = ScaleneArguments().allocation_sampling_window
        for key in ("LD_PRELOAD", "LD_LIBRARY_PATH", "PYTHONMALLOC"):
            os.environ.pop(key, None)
        def preload(memory):
            args = argparse.Namespace(memory=memory, allocation_sampling_window=window, disable_jit=False)
            return sorted(ScalenePreload.get_preload_environ(args).items())
        signals = ScaleneSignals()
        out["startup"] = {
            "preload_cpu": preload(False),
            "preload_memory": preload(True),
            "start_signal": int(signals.start_profiling_signal),
            "stop_signal": int(signals.stop_profiling_signal),
        }
    except Exception as error:
        out["startup_error"] = "%s: %s" % (type(error).__name__, error)
print("SCALENE_LSP_PREFLIGHT:" + json.dumps(out))
"#;

#[derive(Deserialize)]
struct PreflightOutput {
    python: String,
    #[serde(default)]
    library_paths: Vec<PathBuf>,
    scalene: Option<String>,
    scalene_dir: Option<PathBuf>,
    scalene_error: Option<String>,
    startup: Option<ScaleneStartup>,
    startup_error: Option<String>,
}

const PREFLIGHT_TIMEOUT: Duration = Duration::from_secs(60);

/// Runs the preflight script with `python` (no cache).
pub async fn preflight(python: &Path) -> Result<Preflight, EngineError> {
    let mut command = tokio::process::Command::new(python);
    command
        .arg("-c")
        .arg(PREFLIGHT_SCRIPT)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    let output = match tokio::time::timeout(PREFLIGHT_TIMEOUT, command.output()).await {
        Ok(Ok(output)) => output,
        Ok(Err(err)) => {
            return Err(EngineError::InterpreterBroken { python: python.to_path_buf(), reason: err.to_string() });
        }
        Err(_) => {
            return Err(EngineError::InterpreterBroken {
                python: python.to_path_buf(),
                reason: format!("it did not answer within {} s", PREFLIGHT_TIMEOUT.as_secs()),
            });
        }
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    let Some(json) = stdout.lines().find_map(|line| line.strip_prefix(PREFLIGHT_MARKER)) else {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let last = stderr.lines().rev().find(|line| !line.trim().is_empty()).unwrap_or("no output");
        return Err(EngineError::InterpreterBroken {
            python: python.to_path_buf(),
            reason: format!("{} ({last})", describe_exit(output.status)),
        });
    };
    let parsed: PreflightOutput = serde_json::from_str(json).map_err(|err| EngineError::InterpreterBroken {
        python: python.to_path_buf(),
        reason: format!("unexpected preflight output: {err}"),
    })?;
    let Some(version) = parsed.scalene else {
        return Err(EngineError::ScaleneMissing {
            python: python.to_path_buf(),
            reason: parsed.scalene_error.unwrap_or_else(|| "unknown error".into()),
        });
    };
    if !version.starts_with("2.") {
        return Err(EngineError::ScaleneUnsupported { python: python.to_path_buf(), version });
    }
    if let Some(error) = &parsed.startup_error {
        tracing::info!(python = %python.display(), "Scalene's start-up facts are unknown ({error}): runs take the normal path and cannot be paused");
    }
    Ok(Preflight {
        python: python.to_path_buf(),
        python_version: parsed.python,
        scalene_version: version,
        scalene_dir: parsed.scalene_dir.unwrap_or_default(),
        library_paths: parsed.library_paths,
        startup: parsed.startup,
        shortcut: ShortcutVerdicts::default(),
    })
}

/// upgrade, uninstall) re-runs the preflight.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, Deserialize)]
struct InstallStamp {
    target: PathBuf,
    modified: Option<SystemTime>,
    len: u64,
    scalene_modified: Option<SystemTime>,
}

fn interpreter_stamp(python: &Path) -> Option<InstallStamp> {
    let target = python.canonicalize().ok()?;
    let meta = std::fs::metadata(&target).ok()?;
    Some(InstallStamp { target, modified: meta.modified().ok(), len: meta.len(), scalene_modified: None })
}

fn full_stamp(python: &Path, preflight: &Preflight) -> Option<InstallStamp> {
    let scalene_modified = std::fs::metadata(&preflight.scalene_dir).and_then(|meta| meta.modified()).ok()?;
    Some(InstallStamp { scalene_modified: Some(scalene_modified), ..interpreter_stamp(python)? })
}

/// One remembered preflight: valid while the interpreter and its Scalene install have this stamp.
#[derive(Clone, Debug, serde::Serialize, Deserialize)]
struct StampedPreflight {
    stamp: InstallStamp,
    preflight: Arc<Preflight>,
}

impl StampedPreflight {
    fn is_current(&self, python: &Path) -> bool {
        full_stamp(python, &self.preflight).as_ref() == Some(&self.stamp)
    }
}

/// The per-user store's content.
#[derive(Default, serde::Serialize, Deserialize)]
struct StoredPreflights {
    entries: Vec<StoredPreflight>,
}

#[derive(serde::Serialize, Deserialize)]
struct StoredPreflight {
    python: PathBuf,
    #[serde(flatten)]
    stamped: StampedPreflight,
}

impl StoredPreflights {
    fn read(store: &Path) -> StoredPreflights {
        std::fs::read(store).ok().and_then(|bytes| serde_json::from_slice(&bytes).ok()).unwrap_or_default()
    }
}

/// Successful preflights per interpreter path, in memory and (when `store` is set) in a file shared by
/// every scalene-lsp process of the user, so a CLI call does not pay for importing Scalene each time.
/// Failures are never cached.
#[derive(Default)]
pub struct PreflightCache {
    entries: DashMap<PathBuf, StampedPreflight>,
    store: Option<PathBuf>,
    /// Held while the start-up shortcut is being verified, so concurrent runs verify once.
    pub(crate) verifying: tokio::sync::Mutex<()>,
}

/// The default store: `$XDG_CACHE_HOME/scalene-lsp/preflight-v3.json` (or `~/.cache/...`). (v3: with
/// Scalene's start-up facts and the start-up shortcut's verdicts.)
pub fn default_preflight_store() -> Option<PathBuf> {
    Some(crate::engine::dirs::cache_dir()?.join("preflight-v3.json"))
}

impl PreflightCache {
    pub fn with_store(store: Option<PathBuf>) -> PreflightCache {
        PreflightCache { entries: DashMap::new(), store, verifying: tokio::sync::Mutex::new(()) }
    }

    fn stored(&self, python: &Path) -> Option<StampedPreflight> {
        let stored = StoredPreflights::read(self.store.as_ref()?);
        stored.entries.into_iter().find(|entry| entry.python == python).map(|entry| entry.stamped)
    }

    /// Rewrites the store with `python`'s entry replaced by `entry` (or removed when None), atomically
    /// in a private file (`dirs::write_private`).
    fn update_store(&self, python: &Path, entry: Option<&StampedPreflight>) {
        let Some(store) = &self.store else { return };
        let mut stored = StoredPreflights::read(store);
        stored.entries.retain(|stored| stored.python != python);
        if let Some(entry) = entry {
            stored.entries.push(StoredPreflight { python: python.to_path_buf(), stamped: entry.clone() });
        }
        let result = serde_json::to_vec(&stored)
            .map_err(std::io::Error::other)
            .and_then(|bytes| crate::engine::dirs::write_private(store, &bytes));
        if let Err(err) = result {
            tracing::debug!("could not store the preflight result: {err}");
        }
    }

    pub async fn check(&self, python: &Path) -> Result<Arc<Preflight>, EngineError> {
        if let Some(entry) = self.entries.get(python)
            && entry.is_current(python)
        {
            return Ok(entry.preflight.clone());
        }
        if let Some(entry) = self.stored(python)
            && entry.is_current(python)
        {
            let preflight = entry.preflight.clone();
            self.entries.insert(python.to_path_buf(), entry);
            return Ok(preflight);
        }
        let preflight = Arc::new(preflight(python).await?);
        if let Some(stamp) = full_stamp(python, &preflight) {
            let entry = StampedPreflight { stamp, preflight: preflight.clone() };
            self.update_store(python, Some(&entry));
            self.entries.insert(python.to_path_buf(), entry);
        }
        Ok(preflight)
    }

    /// Records a start-up shortcut verdict for `python` (while its preflight is current), in memory and
    /// in the store. Returns the preflight with the verdict.
    pub fn record_shortcut(&self, python: &Path, memory: bool, verdict: bool) -> Option<Arc<Preflight>> {
        let updated = {
            let mut entry = self.entries.get_mut(python)?;
            let mut preflight = (*entry.preflight).clone();
            preflight.shortcut.set(memory, verdict);
            entry.preflight = Arc::new(preflight);
            entry.clone()
        };
        self.update_store(python, Some(&updated));
        Some(updated.preflight)
    }

    /// Forgets an interpreter (after a run showed that Scalene no longer works there).
    pub fn invalidate(&self, python: &Path) {
        self.entries.remove(python);
        self.update_store(python, None);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excluding_path_mirrors_scalenes_substring_rule() {
        let preflight = Preflight {
            python: "/p".into(),
            python_version: "3.11.7".into(),
            scalene_version: "2.4.0".into(),
            scalene_dir: "/opt/venv/lib/python3.11/site-packages/scalene".into(),
            library_paths: vec!["/opt/venv".into(), "/usr/lib/python3.11".into()],
            startup: None,
            shortcut: ShortcutVerdicts::default(),
        };
        assert_eq!(preflight.excluding_path(Path::new("/opt/venv/tool.py")), Some(Path::new("/opt/venv")));
        assert_eq!(preflight.excluding_path(Path::new("/home/u/project/main.py")), None);
    }
}
