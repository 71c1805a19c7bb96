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
    Ok(Preflight {
        python: python.to_path_buf(),
        python_version: parsed.python,
        scalene_version: version,
        scalene_dir: parsed.scalene_dir.unwrap_or_default(),
        library_paths: parsed.library_paths,
    })
}

/// upgrade, uninstall) re-runs the preflight.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, Deserialize)]
struct Stamp {
    target: PathBuf,
    modified: Option<SystemTime>,
    len: u64,
    scalene_modified: Option<SystemTime>,
}

fn interpreter_stamp(python: &Path) -> Option<Stamp> {
    let target = python.canonicalize().ok()?;
    let meta = std::fs::metadata(&target).ok()?;
    Some(Stamp { target, modified: meta.modified().ok(), len: meta.len(), scalene_modified: None })
}

fn full_stamp(python: &Path, preflight: &Preflight) -> Option<Stamp> {
    let scalene_modified = std::fs::metadata(&preflight.scalene_dir).and_then(|meta| meta.modified()).ok()?;
    Some(Stamp { scalene_modified: Some(scalene_modified), ..interpreter_stamp(python)? })
}

/// One remembered preflight: valid while the interpreter and its Scalene install have this stamp.
#[derive(Clone, Debug, serde::Serialize, Deserialize)]
struct StampedPreflight {
    stamp: Stamp,
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
}

/// The default store: `$XDG_CACHE_HOME/scalene-lsp/preflight-v2.json` (or `~/.cache/...`).
pub fn default_preflight_store() -> Option<PathBuf> {
    Some(crate::engine::dirs::cache_dir()?.join("preflight-v2.json"))
}

impl PreflightCache {
    pub fn with_store(store: Option<PathBuf>) -> PreflightCache {
        PreflightCache { entries: DashMap::new(), store }
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
        };
        assert_eq!(preflight.excluding_path(Path::new("/opt/venv/tool.py")), Some(Path::new("/opt/venv")));
        assert_eq!(preflight.excluding_path(Path::new("/home/u/project/main.py")), None);
    }
}
