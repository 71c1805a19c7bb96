//! Which Python runs the program: explicit (`--python`, the editor setting) → `$VIRTUAL_ENV` → `.venv`,
//! `venv`, `env` in the project root → `python3`, then `python`, on PATH. Whether it can run Scalene is
//! the preflight's job (`preflight.rs`).

pub mod preflight;

use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::engine::error::EngineError;

pub use preflight::{Preflight, PreflightCache, ScaleneStartup, ShortcutVerdicts, default_preflight_store, preflight};

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
            if path.is_dir() {
                return Err(EngineError::InterpreterMissing {
                    python: explicit.to_path_buf(),
                    source_description: InterpreterSource::Explicit.to_string(),
                    problem: "is a directory",
                    fix: format!(
                        "give the interpreter itself, e.g. {} (a virtual environment's Python is in its bin/ folder)",
                        path.join("bin").join("python").display()
                    ),
                });
            }
            path.is_file().then_some(path)
        };
        return match resolved {
            Some(path) => Ok(Interpreter { path, source: InterpreterSource::Explicit }),
            None => Err(EngineError::InterpreterMissing {
                python: explicit.to_path_buf(),
                source_description: InterpreterSource::Explicit.to_string(),
                problem: "does not exist",
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

/// The interpreter a profile started from a folder would use, and what its preflight found.
#[derive(Clone, Debug)]
pub struct Environment {
    pub interpreter: Interpreter,
    pub preflight: Arc<Preflight>,
    pub project_root: Option<PathBuf>,
}

/// Why no profile could run from a folder: the error (with its fix) and what was found before it.
#[derive(Clone, Debug)]
pub struct EnvironmentFailure {
    pub interpreter: Option<Interpreter>,
    pub project_root: Option<PathBuf>,
    pub error: EngineError,
}

/// The interpreter (explicit, else discovered from `start`'s project) and its cached preflight: what a
/// profile started from `start` would use. Runs Python only when the preflight is not cached.
pub async fn environment(python: Option<&Path>, start: &Path, discovery_env: &DiscoveryEnv, preflights: &PreflightCache) -> Result<Environment, EnvironmentFailure> {
    let project_root = crate::engine::workspace::find_project_root(start);
    let root_for_discovery = project_root.clone().unwrap_or_else(|| start.to_path_buf());
    let interpreter = discover(python, &root_for_discovery, discovery_env)
        .map_err(|error| EnvironmentFailure { interpreter: None, project_root: project_root.clone(), error })?;
    match preflights.check(&interpreter.path).await {
        Ok(preflight) => Ok(Environment { interpreter, preflight, project_root }),
        Err(error) => Err(EnvironmentFailure { interpreter: Some(interpreter), project_root, error }),
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
}
