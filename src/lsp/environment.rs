//! `scalene/environment {uri?}` (request): which interpreter and Scalene a profile of `uri` (or of the
//! workspace) would use, or the one message that says what is missing and how to fix it. Editors show
//! it in their status item and health checks (with the fix command to copy). Runs the (cached) preflight,
//! never Scalene itself.

use serde::{Deserialize, Serialize};
use tower_lsp_server::ls_types::Uri;

use super::session::{Session, uri_path};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnvironmentParams {
    pub uri: Option<Uri>,
    /// The interpreter to check instead of the `python` setting (e.g. the one the editor's Python
    /// extension chose for this file).
    pub python: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EnvironmentResult {
    /// True when a profile can run.
    pub ok: bool,
    /// The interpreter found (absent when none was found).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub python: Option<String>,
    /// Where it was found (e.g. "the project's .venv/ virtual environment").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub python_version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scalene_version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project_root: Option<String>,
    /// When not ok: a stable kind (`scalene_missing`, `interpreter_not_found`, ...) and the message with the fix.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// When not ok and one command fixes it: that exact command (e.g. `"/p/.venv/bin/python" -m pip
    /// install scalene`), from the error itself, for editors to copy or run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix_command: Option<String>,
}

pub async fn handle_environment(session: &Session, params: EnvironmentParams) -> EnvironmentResult {
    let start = params
        .uri
        .as_ref()
        .and_then(uri_path)
        .and_then(|path| path.parent().map(std::path::Path::to_path_buf))
        .or_else(|| session.roots().into_iter().next())
        .or_else(|| std::env::current_dir().ok())
        .unwrap_or_default();
    let python = params.python.filter(|python| !python.is_empty()).map(std::path::PathBuf::from).or_else(|| session.settings().python.clone());
    let found = session.engine.environment(python.as_deref(), &start).await;
    let display = |path: &std::path::Path| path.display().to_string();
    match found {
        Ok(environment) => EnvironmentResult {
            ok: true,
            python: Some(display(&environment.interpreter.path)),
            source: Some(environment.interpreter.source.to_string()),
            python_version: Some(environment.preflight.python_version.clone()),
            scalene_version: Some(environment.preflight.scalene_version.clone()),
            project_root: environment.project_root.as_deref().map(display),
            kind: None,
            message: None,
            fix_command: None,
        },
        Err(failure) => EnvironmentResult {
            ok: false,
            python: failure.interpreter.as_ref().map(|interpreter| display(&interpreter.path)),
            source: failure.interpreter.as_ref().map(|interpreter| interpreter.source.to_string()),
            python_version: None,
            scalene_version: None,
            project_root: failure.project_root.as_deref().map(display),
            kind: Some(failure.error.kind().to_string()),
            message: Some(failure.error.to_string()),
            fix_command: failure.error.fix_command(),
        },
    }
}
