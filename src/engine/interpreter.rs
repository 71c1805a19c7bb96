//! Which Python runs the program, and whether it can run Scalene.
//!
//! Discovery order: explicit (`--python`, the editor setting) → `$VIRTUAL_ENV` → `.venv`, `venv`, `env`
//! in the project root → `python3`, then `python`, on PATH. The preflight (the interpreter runs,
//! `import scalene` works, Scalene is 2.x) is cached per interpreter until its file changes; failures
//! are not cached, so the fix a user just applied is seen on the next try.

use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use dashmap::DashMap;
use serde::Deserialize;

use super::error::EngineError;

/// Where an interpreter was found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InterpreterSource {
    Explicit,
    VirtualEnv,
    ProjectVenv(&'static str),
    SearchPath(&'static str),
}

impl fmt::Display for InterpreterSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InterpreterSource::Explicit => write!(f, "given explicitly (--python / scalene.python)"),
            InterpreterSource::VirtualEnv => write!(f, "the active virtual environment ($VIRTUAL_ENV)"),
            InterpreterSource::ProjectVenv(dir) => write!(f, "the project's {dir}/ virtual environment"),
            InterpreterSource::SearchPath(name) => write!(f, "`{name}` on PATH"),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Interpreter {
    pub path: PathBuf,
    pub source: InterpreterSource,
}

/// The environment variables discovery reads; injectable for tests.
#[derive(Clone, Debug, Default)]
pub struct DiscoveryEnv {
    pub virtual_env: Option<OsString>,
    pub path: Option<OsString>,
}

impl DiscoveryEnv {
    pub fn from_process() -> DiscoveryEnv {
        DiscoveryEnv { virtual_env: std::env::var_os("VIRTUAL_ENV"), path: std::env::var_os("PATH") }
    }
}

pub const PROJECT_VENV_DIRS: [&str; 3] = [".venv", "venv", "env"];

fn venv_python(venv: &Path) -> PathBuf {
    venv.join("bin").join("python")
}

/// Finds the interpreter to use. `explicit` may be a path (relative ones are resolved against
/// `project_root`) or a bare command name looked up on PATH.
pub fn discover(
    explicit: Option<&Path>,
    project_root: &Path,
    env: &DiscoveryEnv,
) -> Result<Interpreter, EngineError> {
    let search_path = env.path.clone().unwrap_or_default();
    if let Some(explicit) = explicit {
        let is_bare_name = explicit.components().count() == 1 && !explicit.is_absolute();
        let resolved = if is_bare_name {
            which::which_in(explicit, Some(&search_path), project_root).ok()
        } else {
            let path = project_root.join(explicit);
            path.is_file().then_some(path)
        };
        return match resolved {
            Some(path) => Ok(Interpreter { path, source: InterpreterSource::Explicit }),
            None => Err(EngineError::InterpreterMissing {
                python: explicit.to_path_buf(),
                source_description: InterpreterSource::Explicit.to_string(),
                fix: "give the path of an existing Python executable (e.g. /path/to/project/.venv/bin/python), \
                      or leave the setting empty to use the project's virtual environment"
                    .into(),
            }),
        };
    }

    let mut tried = Vec::new();
    if let Some(venv) = env.virtual_env.as_ref().filter(|venv| !venv.is_empty()) {
        let python = venv_python(Path::new(venv));
        if python.is_file() {
            return Ok(Interpreter { path: python, source: InterpreterSource::VirtualEnv });
        }
        tried.push(format!("$VIRTUAL_ENV ({} not found)", python.display()));
    } else {
        tried.push("$VIRTUAL_ENV (not set)".to_string());
    }
    for dir in PROJECT_VENV_DIRS {
        let python = venv_python(&project_root.join(dir));
        if python.is_file() {
            return Ok(Interpreter { path: python, source: InterpreterSource::ProjectVenv(dir) });
        }
    }
    tried.push(format!("{} in {}", PROJECT_VENV_DIRS.join(", "), project_root.display()));
    for name in ["python3", "python"] {
        if let Ok(path) = which::which_in(name, Some(&search_path), project_root) {
            return Ok(Interpreter { path, source: InterpreterSource::SearchPath(name) });
        }
    }
    tried.push("python3 and python on PATH".to_string());
    Err(EngineError::InterpreterNotFound { tried: tried.join("; ") })
}

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

pub fn describe_exit(status: std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit code {code}"),
        (None, Some(signal)) => format!("signal {signal}"),
        (None, None) => "an unknown status".into(),
    }
}

/// Identifies the state of an interpreter and of its Scalene install: a change to either (reinstall,
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

#[derive(Default, serde::Serialize, Deserialize)]
struct StoredPreflights {
    entries: Vec<(PathBuf, Stamp, Preflight)>,
}

/// Successful preflights per interpreter path, in memory and (when `store` is set) in a file shared by
/// every scalene-lsp process of the user, so a CLI call does not pay for importing Scalene each time.
/// Failures are never cached.
#[derive(Default)]
pub struct PreflightCache {
    entries: DashMap<PathBuf, (Stamp, Arc<Preflight>)>,
    store: Option<PathBuf>,
}

/// The default store: `$XDG_CACHE_HOME/scalene-lsp/preflight-v1.json` (or `~/.cache/...`).
pub fn default_preflight_store() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|dir| !dir.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")))?;
    Some(base.join("scalene-lsp").join("preflight-v1.json"))
}

impl PreflightCache {
    pub fn with_store(store: Option<PathBuf>) -> PreflightCache {
        PreflightCache { entries: DashMap::new(), store }
    }

    fn stored(&self, python: &Path) -> Option<(Stamp, Preflight)> {
        let bytes = std::fs::read(self.store.as_ref()?).ok()?;
        let stored: StoredPreflights = serde_json::from_slice(&bytes).ok()?;
        stored.entries.into_iter().find(|(path, _, _)| path == python).map(|(_, stamp, preflight)| (stamp, preflight))
    }

    /// Rewrites the store with this entry (atomically: a temp file renamed over it; 0700 dir, 0600 file).
    fn save(&self, python: &Path, stamp: &Stamp, preflight: &Preflight) {
        let Some(store) = &self.store else { return };
        let result = (|| -> std::io::Result<()> {
            let dir = store.parent().ok_or_else(|| std::io::Error::other("no parent"))?;
            std::fs::create_dir_all(dir)?;
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
            let mut stored: StoredPreflights =
                std::fs::read(store).ok().and_then(|bytes| serde_json::from_slice(&bytes).ok()).unwrap_or_default();
            stored.entries.retain(|(path, _, _)| path != python);
            stored.entries.push((python.to_path_buf(), stamp.clone(), preflight.clone()));
            let mut file = tempfile::NamedTempFile::new_in(dir)?;
            serde_json::to_writer(&mut file, &stored)?;
            file.persist(store).map_err(|err| err.error)?;
            Ok(())
        })();
        if let Err(err) = result {
            tracing::debug!("could not store the preflight result: {err}");
        }
    }

    pub async fn check(&self, python: &Path) -> Result<Arc<Preflight>, EngineError> {
        if let Some(entry) = self.entries.get(python)
            && full_stamp(python, &entry.1).as_ref() == Some(&entry.0)
        {
            return Ok(entry.1.clone());
        }
        if let Some((stamp, preflight)) = self.stored(python)
            && full_stamp(python, &preflight).as_ref() == Some(&stamp)
        {
            let preflight = Arc::new(preflight);
            self.entries.insert(python.to_path_buf(), (stamp, preflight.clone()));
            return Ok(preflight);
        }
        let preflight = preflight(python).await?;
        if let Some(stamp) = full_stamp(python, &preflight) {
            self.save(python, &stamp, &preflight);
            let preflight = Arc::new(preflight);
            self.entries.insert(python.to_path_buf(), (stamp, preflight.clone()));
            return Ok(preflight);
        }
        Ok(Arc::new(preflight))
    }

    /// Forgets an interpreter (after a run showed that Scalene no longer works there).
    pub fn invalidate(&self, python: &Path) {
        self.entries.remove(python);
        let Some(store) = &self.store else { return };
        if let Ok(bytes) = std::fs::read(store)
            && let Ok(mut stored) = serde_json::from_slice::<StoredPreflights>(&bytes)
        {
            stored.entries.retain(|(path, _, _)| path != python);
            if let Ok(text) = serde_json::to_vec(&stored) {
                let _ = std::fs::write(store, text);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fake_python(dir: &Path) -> PathBuf {
        let python = dir.join("bin").join("python");
        std::fs::create_dir_all(python.parent().unwrap()).unwrap();
        std::fs::write(&python, "#!/bin/sh\n").unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&python, std::fs::Permissions::from_mode(0o755)).unwrap();
        python
    }

    #[test]
    fn order_is_explicit_then_virtual_env_then_project_then_path() {
        let tmp = tempfile::tempdir().unwrap();
        let project = tmp.path().join("project");
        let active = tmp.path().join("active");
        let on_path = tmp.path().join("system");
        let project_python = fake_python(&project.join(".venv"));
        let active_python = fake_python(&active);
        let path_python = fake_python(&on_path);
        std::fs::rename(&path_python, on_path.join("bin").join("python3")).unwrap();
        let env = DiscoveryEnv {
            virtual_env: Some(active.clone().into()),
            path: Some(on_path.join("bin").into_os_string()),
        };

        let found = discover(Some(&project_python), &project, &env).unwrap();
        assert_eq!(found, Interpreter { path: project_python.clone(), source: InterpreterSource::Explicit });

        let found = discover(None, &project, &env).unwrap();
        assert_eq!(found, Interpreter { path: active_python, source: InterpreterSource::VirtualEnv });

        let env_no_venv = DiscoveryEnv { virtual_env: None, ..env.clone() };
        let found = discover(None, &project, &env_no_venv).unwrap();
        assert_eq!(found, Interpreter { path: project_python, source: InterpreterSource::ProjectVenv(".venv") });

        let found = discover(None, &tmp.path().join("elsewhere"), &env_no_venv).unwrap();
        assert_eq!(found.source, InterpreterSource::SearchPath("python3"));
        assert_eq!(found.path, on_path.join("bin").join("python3"));
    }

    #[test]
    fn project_venv_names_are_tried_in_order() {
        let tmp = tempfile::tempdir().unwrap();
        fake_python(&tmp.path().join("env"));
        let venv = fake_python(&tmp.path().join("venv"));
        let found = discover(None, tmp.path(), &DiscoveryEnv::default()).unwrap();
        assert_eq!(found, Interpreter { path: venv, source: InterpreterSource::ProjectVenv("venv") });
    }

    #[test]
    fn nothing_found_lists_every_place_tried_and_the_fix() {
        let tmp = tempfile::tempdir().unwrap();
        let env = DiscoveryEnv { virtual_env: None, path: Some(tmp.path().join("nothing").into_os_string()) };
        let err = discover(None, tmp.path(), &env).unwrap_err().to_string();
        assert!(err.contains("$VIRTUAL_ENV (not set)"), "{err}");
        assert!(err.contains(".venv, venv, env in"), "{err}");
        assert!(err.contains("python3 and python on PATH"), "{err}");
        assert!(err.contains("python3 -m venv .venv && .venv/bin/python -m pip install scalene"), "{err}");
    }

    #[test]
    fn missing_explicit_interpreter_is_an_error_not_a_fallback() {
        let tmp = tempfile::tempdir().unwrap();
        fake_python(&tmp.path().join(".venv"));
        let err = discover(Some(Path::new("/no/such/python")), tmp.path(), &DiscoveryEnv::default()).unwrap_err();
        assert!(matches!(err, EngineError::InterpreterMissing { .. }), "{err}");
        assert!(err.to_string().contains("\"/no/such/python\""), "{err}");
    }

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
