//! `scalene.saveBaseline`, `scalene.compare` and `scalene.exitCompare`: save the newest profile of a
//! file as a baseline, compare a profile of the file's current text with it (profiling now when there
//! is none, or when `runs` asks for fresh runs), and show the comparison in place of plain numbers
//! (compare mode: baseline.rs holds it, the features draw it).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;
use serde_json::{Value, json};
use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::{MessageType, Uri};

use super::baseline::CompareMode;
use super::error::{engine_error, invalid_params, request_failed};
use super::progress;
use super::session::{EditorRun, Session};
use super::settings::RunOverrides;
use crate::engine::keep::cache::CachedProfile;
use crate::engine::profile::compare::{self, Verdict};
use crate::engine::keep::storage::{self, SavedProfile};
use crate::engine::limits::MAX_REPEAT;
use crate::engine::{EngineError, Program};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SaveBaselineArgs {
    pub uri: String,
    pub name: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompareArgs {
    pub uri: String,
    pub baseline: Option<String>,
    pub runs: Option<u32>,
}

fn checked_name(command: &str, name: Option<String>) -> Result<String> {
    let name = name.unwrap_or_else(|| storage::DEFAULT_NAME.to_string());
    storage::check_name(&name).map_err(|err| invalid_params(format!("{command}: {err}")))?;
    Ok(name)
}

fn file_name(path: &Path) -> String {
    crate::engine::units::short_name(path)
}

async fn blocking<T: Send + 'static>(work: impl FnOnce() -> std::result::Result<T, EngineError> + Send + 'static) -> Result<T> {
    match tokio::task::spawn_blocking(work).await {
        Ok(result) => result.map_err(|err| engine_error(&err)),
        Err(err) => Err(request_failed(format!("the store task failed: {err}"))),
    }
}

/// `scalene.saveBaseline {uri, name?}`: the newest profile covering the file, saved as `name`
/// (default `baseline`).
pub async fn save_baseline(session: &Arc<Session>, path: &Path, args: SaveBaselineArgs) -> Result<Value> {
    let name = checked_name("scalene.saveBaseline", args.name)?;
    let Some(covered) = session.engine.cache().covering(path) else {
        return Err(request_failed(format!(
            "no profile covers {}, so there is nothing to save. Fix: profile it first (\"Profile this file with Scalene\"), then save it as the baseline.",
            file_name(path)
        )));
    };
    let store = session.engine.store();
    let entry = covered.entry.clone();
    let saved_name = name.clone();
    let saved = blocking(move || store.save(&saved_name, &entry.profile)).await?;
    Ok(json!({
        "name": name,
        "path": saved.path,
        "profile_id": covered.entry.id.to_string(),
        "evicted": saved.evicted,
    }))
}

/// The newest profile covering `path` when it was made from `current_text` (the file as it is now).
fn fresh_profile(session: &Session, uri: &Uri, path: &Path) -> Option<Arc<CachedProfile>> {
    if let Some(snapshot) = session.snapshot(uri) {
        return snapshot.profile.filter(|view| !view.is_stale() && !view.file().source.is_empty()).map(|view| view.entry);
    }
    let covered = session.engine.cache().covering(path)?;
    let text = std::fs::read_to_string(path).ok()?;
    crate::engine::profile::remap::same_lines(&covered.file().source, &text).then_some(covered.entry)
}

/// `scalene.compare {uri, baseline?, runs?}`: compares with the saved baseline (default `baseline`).
/// Uses the newest profile of the file when it matches the file's current text and `runs` is absent;
/// otherwise profiles the file now (`runs` times, with the baseline's arguments and mode) and compares
/// when the run ends. Returns `{run_id}` for a run, else the comparison's summary.
pub async fn compare(session: &Arc<Session>, uri: Uri, path: PathBuf, args: CompareArgs) -> Result<Value> {
    let name = checked_name("scalene.compare", args.baseline)?;
    if let Some(runs) = args.runs
        && !(1..=MAX_REPEAT).contains(&runs)
    {
        return Err(invalid_params(format!("scalene.compare: `runs` must be between 1 and {MAX_REPEAT}, got {runs}")));
    }
    // Confined before anything reads it (the cache, the file's text).
    let path = session.confine(&path).map_err(request_failed)?;
    let store = session.engine.store();
    let load_name = name.clone();
    let baseline = Arc::new(blocking(move || store.load(&load_name)).await?);
    if args.runs.is_none()
        && let Some(entry) = fresh_profile(session, &uri, &path)
    {
        let summary = enter(session, &baseline, entry.clone()).map_err(|err| engine_error(&err))?;
        tokio::spawn(progress::after_profile_change(session.clone()));
        return Ok(json!({
            "profile_id": entry.id.to_string(),
            "baseline": name,
            "verdict": summary.verdict.as_str(),
            "summary": summary.text,
        }));
    }
    let settings = session.settings();
    let overrides = RunOverrides { args: Some(baseline.meta.args.clone()), mode: Some(baseline.meta.mode), ..RunOverrides::default() };
    let request = settings.run_request(Program::Script(path.clone()), overrides);
    let handle = session.engine.start_repeated(request, args.runs.unwrap_or(1)).map_err(|err| engine_error(&err))?;
    let run_id = handle.run_id;
    let waiter = handle.clone();
    let session = session.clone();
    let joined = handle.joined;
    tokio::spawn(async move {
        // Compare mode is entered before the run's end is announced (views ask again at the end).
        let entered = Arc::new(std::sync::Mutex::new(None));
        if !joined {
            let token = format!("scalene-{run_id}");
            session.runs.insert(run_id, EditorRun { uri: uri.clone(), token: token.clone() });
            let what = progress::RunTitle { compare: true, ..progress::RunTitle::default() };
            let hook: progress::BeforeEnd = {
                let (session, baseline, entered) = (session.clone(), baseline.clone(), entered.clone());
                Box::new(move |result| {
                    if let Ok(entry) = result {
                        *entered.lock().unwrap_or_else(|poison| poison.into_inner()) = Some(enter(&session, &baseline, entry.clone()));
                    }
                })
            };
            progress::track_run(session.clone(), handle, uri, token, what, Some(hook)).await;
        }
        let outcome = entered.lock().unwrap_or_else(|poison| poison.into_inner()).take();
        // A failed run was reported by track_run; only a profile is compared.
        let outcome = match outcome {
            Some(outcome) => outcome,
            None => match waiter.wait().await {
                Ok(entry) => enter(&session, &baseline, entry),
                Err(_) => return,
            },
        };
        let summary = match outcome {
            Ok(summary) => summary,
            Err(err) => {
                session.client.show_message(MessageType::ERROR, format!("Scalene: cannot compare {} with baseline `{}`: {err}", file_name(&path), baseline.meta.name)).await;
                return;
            }
        };
        let level = if summary.verdict == Verdict::Regressed { MessageType::WARNING } else { MessageType::INFO };
        session
            .client
            .show_message(level, format!("Scalene: {} compared with baseline `{}`: {}", file_name(&path), baseline.meta.name, summary.text))
            .await;
        progress::after_profile_change(session).await;
    });
    Ok(json!({ "run_id": run_id.to_string() }))
}

/// Compares `entry` with the baseline and enters compare mode. Returns the comparison's summary.
fn enter(session: &Session, baseline: &SavedProfile, entry: Arc<CachedProfile>) -> std::result::Result<compare::Summary, crate::engine::EngineError> {
    let rule = session.settings().compare.clone();
    let now = entry.id.to_string();
    compare::check((&baseline.meta.name, &baseline.profile), (&now, &entry.profile), false)?;
    let comparison = compare::compare(&baseline.profile, &baseline.meta.name, &entry.profile, &entry.id.to_string(), &rule);
    let summary = comparison.summary.clone();
    let mode = CompareMode::new(baseline.meta.name.clone(), baseline.meta.created.clone(), entry, comparison);
    session.set_compare(Some(Arc::new(mode)));
    Ok(summary)
}

/// `scalene.exitCompare`: back to plain numbers.
pub fn exit_compare(session: &Arc<Session>) -> Value {
    let was = session.compare_mode().is_some();
    session.set_compare(None);
    tokio::spawn(progress::after_profile_change(session.clone()));
    json!({ "exited": was })
}
