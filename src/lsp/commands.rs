//! workspace/executeCommand: the command ids (one enum), their typed arguments, and their handling.
//! Every command returns at once; profiling goes on in a spawned task (progress.rs).

use std::sync::Arc;

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::{ExecuteCommandParams, Uri};

use super::compare;
use super::error::{engine_error, invalid_params, request_failed};
use super::progress;
use super::session::{RunInfo, Session, uri_path};
use crate::engine::{Mode, ProfileRequest, RunId, Program};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Command {
    Profile,
    Cancel,
    Clear,
    LoadProfile,
    Toggle,
    SaveBaseline,
    Compare,
    ExitCompare,
}

impl Command {
    pub fn all() -> &'static [Command] {
        &[
            Command::Profile,
            Command::Cancel,
            Command::Clear,
            Command::LoadProfile,
            Command::Toggle,
            Command::SaveBaseline,
            Command::Compare,
            Command::ExitCompare,
        ]
    }

    pub fn id(self) -> &'static str {
        match self {
            Command::Profile => "scalene.profile",
            Command::Cancel => "scalene.cancel",
            Command::Clear => "scalene.clear",
            Command::LoadProfile => "scalene.loadProfile",
            Command::Toggle => "scalene.toggle",
            Command::SaveBaseline => "scalene.saveBaseline",
            Command::Compare => "scalene.compare",
            Command::ExitCompare => "scalene.exitCompare",
        }
    }

    fn expected(self) -> &'static str {
        match self {
            Command::Profile => "{uri, args?: [string], mode?: \"cpu\"|\"memory\"|\"gpu\", python?: string}",
            Command::Cancel => "{run_id?: string}",
            Command::Clear => "{uri?: string}",
            Command::LoadProfile => "{path: string}",
            Command::Toggle => "no arguments",
            Command::SaveBaseline => "{uri, name?: string}",
            Command::Compare => "{uri, baseline?: string, runs?: number}",
            Command::ExitCompare => "no arguments",
        }
    }

    pub fn from_id(id: &str) -> Option<Command> {
        Command::all().iter().copied().find(|command| command.id() == id)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProfileArgs {
    uri: String,
    args: Option<Vec<String>>,
    mode: Option<Mode>,
    python: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct CancelArgs {
    run_id: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ClearArgs {
    uri: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LoadArgs {
    path: String,
}

/// The command's single argument object (absent means `{}`), with errors naming the field.
fn arguments<T: DeserializeOwned>(command: Command, arguments: &[Value]) -> Result<T> {
    if arguments.len() > 1 {
        return Err(invalid_params(format!(
            "{} takes one argument object {}, got {} arguments",
            command.id(),
            command.expected(),
            arguments.len()
        )));
    }
    let value = arguments.first().cloned().unwrap_or_else(|| json!({}));
    serde_path_to_error::deserialize(value).map_err(|err| {
        let path = err.path().to_string();
        let at = if path == "." { String::new() } else { format!(" at `{path}`") };
        invalid_params(format!("{}: bad argument{at}: {}. Expected {}", command.id(), err.inner(), command.expected()))
    })
}

fn parse_uri(command: Command, text: &str) -> Result<(Uri, std::path::PathBuf)> {
    let uri: Uri = text
        .parse()
        .map_err(|_| invalid_params(format!("{}: `uri` is not a valid URI: {text:?}", command.id())))?;
    let path = uri_path(&uri).ok_or_else(|| {
        invalid_params(format!(
            "{}: only file:// URIs are supported (scalene-lsp runs files on this machine's disk), got a `{}:` URI {text:?}. Fix: save the file to disk and profile it there.",
            command.id(),
            uri.scheme().as_str()
        ))
    })?;
    Ok((uri, path))
}

pub async fn handle_execute_command(session: &Arc<Session>, params: ExecuteCommandParams) -> Result<Option<Value>> {
    let Some(command) = Command::from_id(&params.command) else {
        let known: Vec<&str> = Command::all().iter().map(|command| command.id()).collect();
        return Err(invalid_params(format!("unknown command {:?}; expected one of {}", params.command, known.join(", "))));
    };
    match command {
        Command::Profile => {
            let args: ProfileArgs = arguments(command, &params.arguments)?;
            let (uri, path) = parse_uri(command, &args.uri)?;
            let path = session.confine(&path).map_err(request_failed)?;
            let settings = session.settings();
            let request = ProfileRequest {
                program: Some(Program::Script(path)),
                args: args.args.unwrap_or_else(|| settings.args.clone()),
                mode: args.mode.unwrap_or(settings.mode),
                python: args.python.map(Into::into).or_else(|| settings.python.clone()),
                cwd: settings.cwd.clone(),
                timeout: Some(settings.timeout),
                ..ProfileRequest::default()
            };
            let handle = session.engine.start(request).map_err(|err| engine_error(&err))?;
            let run_id = handle.run_id;
            if !handle.joined {
                let token = format!("scalene-{run_id}");
                session.runs.insert(run_id, RunInfo { uri: uri.clone(), token: token.clone() });
                tokio::spawn(progress::track_run(session.clone(), handle, uri, token));
            }
            Ok(Some(json!({ "run_id": run_id.to_string() })))
        }
        Command::Cancel => {
            let args: CancelArgs = arguments(command, &params.arguments)?;
            let run_id = match args.run_id.as_deref() {
                Some(text) => Some(RunId::parse(text).ok_or_else(|| {
                    invalid_params(format!("scalene.cancel: `run_id` must look like \"run-3\", got {text:?}"))
                })?),
                None => None,
            };
            Ok(Some(json!({ "cancelled": session.engine.cancel(run_id) })))
        }
        Command::Clear => {
            let args: ClearArgs = arguments(command, &params.arguments)?;
            let cache = session.engine.cache();
            let cleared = match args.uri.as_deref() {
                Some(text) => {
                    let (_, path) = parse_uri(command, text)?;
                    let canonical = path.canonicalize().unwrap_or_else(|_| path.clone());
                    let n_cleared = cache.remove_covering(&path);
                    n_cleared + if canonical != path { cache.remove_covering(&canonical) } else { 0 }
                }
                None => {
                    let n_profiles = cache.list().len();
                    cache.clear();
                    n_profiles
                }
            };
            // Removals reach the editor through the cache's events (server::follow_cache).
            cache.run_pending_tasks();
            Ok(Some(json!({ "cleared": cleared })))
        }
        Command::LoadProfile => {
            let args: LoadArgs = arguments(command, &params.arguments)?;
            let max_bytes = session.settings().max_profile_bytes;
            let entry = session
                .engine
                .load_json(std::path::Path::new(&args.path), &session.roots(), max_bytes)
                .await
                .map_err(|err| engine_error(&err))?;
            let files: Vec<String> = entry
                .profile
                .files
                .iter()
                .filter_map(|file| Uri::from_file_path(&file.path))
                .map(|uri| uri.as_str().to_string())
                .collect();
            Ok(Some(json!({ "profile_id": entry.id.to_string(), "files": files, "status": entry.profile.status.as_str() })))
        }
        Command::Toggle => {
            let no_arguments = params.arguments.iter().all(|argument| argument.is_null() || argument == &json!({}));
            if !no_arguments {
                return Err(invalid_params(format!(
                    "scalene.toggle takes no arguments (it shows hidden annotations or hides shown ones), but got {}. Fix: call it with no arguments.",
                    Value::Array(params.arguments.clone())
                )));
            }
            let visible = session.toggle_visibility();
            tokio::spawn(progress::after_profile_change(session.clone()));
            Ok(Some(json!({ "visible": visible })))
        }
        Command::SaveBaseline => {
            let args: compare::SaveBaselineArgs = arguments(command, &params.arguments)?;
            let (_, path) = parse_uri(command, &args.uri)?;
            compare::save_baseline(session, &path, args).await.map(Some)
        }
        Command::Compare => {
            let args: compare::CompareArgs = arguments(command, &params.arguments)?;
            let (uri, path) = parse_uri(command, &args.uri)?;
            compare::compare(session, uri, path, args).await.map(Some)
        }
        Command::ExitCompare => {
            let _: ClearArgs = arguments(command, &params.arguments)?;
            Ok(Some(compare::exit_compare(session)))
        }
    }
}
