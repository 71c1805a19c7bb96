//! A run from start to finish, as the user sees it: work-done progress (begin, a report every second,
//! end with a one-line summary) or log messages when the client has no progress support; the outcome
//! published as diagnostics and refreshes; failures as messages with the fix.

use std::sync::Arc;

use tower_lsp_server::ls_types::{MessageType, NumberOrString, Uri};
use tower_lsp_server::{Cancellable, OngoingProgress, Unbounded};

use super::client;
use super::diagnostics;
use super::heat;
use super::session::{Session, uri_path};
use crate::engine::profile::model::{Profile, RunStatus};
use crate::engine::run::runner::control::RecordingProblem;
use crate::engine::{RunHandle, RunId, RunInfo, RunResult};

/// What a run is, for its progress title.
#[derive(Clone, Debug, Default)]
pub struct RunTitle {
    /// The test's name, when the run is one pytest test.
    pub test: Option<String>,
    pub live: bool,
}

/// `file.py:42 (31.2% CPU)` for a profile's hottest line, if any line has CPU time.
fn hottest(profile: &Profile) -> Option<String> {
    profile.hottest_line().filter(|(_, line)| line.cpu_total() > 0.0).map(|(file, line)| {
        let name = crate::engine::units::short_name(&file.path);
        format!("{name}:{} ({:.1}% CPU)", line.line, line.cpu_total())
    })
}

/// A progress report while a run goes on: `12 s`, then what is known so far (recording paused, the
/// hottest line of the newest live snapshot).
pub fn report(elapsed_s: u64, info: Option<&RunInfo>) -> String {
    let mut text = format!("{elapsed_s} s");
    if let Some(info) = info {
        if !info.recording {
            text.push_str(" · recording paused");
        }
        if info.recording_wanted != info.recording {
            text.push_str(if info.recording_wanted { " · resuming recording" } else { " · pausing recording" });
        }
        if let Some(hot) = info.snapshot.as_ref().and_then(|snapshot| hottest(&snapshot.profile)) {
            text.push_str(&format!(" · hottest so far: {hot}"));
        }
    }
    text
}

/// The progress end message: status, elapsed time and the hottest line.
pub fn summary(result: &RunResult) -> String {
    match result {
        Err(err) => format!("failed: {}", err.kind().replace('_', " ")),
        Ok(entry) => {
            let profile = &entry.profile;
            let mut text = format!("{} in {:.1} s", profile.status.as_str(), profile.elapsed_s);
            if let Some(hot) = hottest(profile) {
                text.push_str(&format!(" · hottest: {hot}"));
            }
            text
        }
    }
}

pub async fn track_run(session: Arc<Session>, handle: RunHandle, uri: Uri, token: String, what: RunTitle) {
    let run_id = handle.run_id;
    let path = uri_path(&uri).unwrap_or_default();
    let file_name = path.file_name().map_or_else(|| uri.as_str().to_string(), |n| n.to_string_lossy().into_owned());
    let name = match &what.test {
        Some(test) => format!("{file_name}::{test}"),
        None => file_name,
    };
    let live = if what.live { " live" } else { "" };
    let title = match &what.test {
        Some(_) => format!("Scalene: profiling test {name}{live}"),
        None => format!("Scalene: profiling {name}{live}"),
    };
    let client = session.client.clone();
    let progress = if session.capabilities().work_done_progress
        && client::create_progress(&client, NumberOrString::String(token.clone())).await
    {
        Some(client.progress(NumberOrString::String(token), title).with_cancel_button().with_message("starting").begin().await)
    } else {
        client.log_message(MessageType::INFO, format!("{title}…")).await;
        None
    };
    let series = handle.series.clone();
    let engine = session.engine.clone();
    let started = std::time::Instant::now();
    let ticks = handle.wait_with_ticks(|elapsed| {
        let progress = &progress;
        // Repeated runs say which run is going: `run 2/3 · 5 s`.
        let run = series.as_ref().map(|series| format!("run {}/{} · ", series.current(), series.total)).unwrap_or_default();
        let message = format!("{run}{}", report(elapsed.as_secs(), engine.run_info(run_id).as_ref()));
        async move {
            if let Some(progress) = progress {
                progress.report_with_message(message, Some(true)).await;
            }
        }
    });
    // Pause and resume answer at once; what they lead to is reported here, as it happens.
    let recording = async {
        follow_recording(&session, run_id, &name, started, progress.as_ref()).await;
        std::future::pending::<()>().await
    };
    let result = tokio::select! {
        result = ticks => result,
        () = recording => unreachable!("following the recording never ends"),
    };
    session.runs.remove(&run_id);
    let summary = summary(&result);
    match progress {
        Some(progress) => progress.finish_with_message(summary.clone()).await,
        None => client.log_message(MessageType::INFO, format!("Scalene: {name}: {summary}")).await,
    }
    match &result {
        Ok(entry) => {
            let profile = &entry.profile;
            if profile.status != RunStatus::Ok {
                let notes = profile.notes.join(" ");
                client.show_message(MessageType::WARNING, format!("Scalene: {name}: {summary}. {notes}")).await;
            }
            if let Some(stderr) = profile.stderr_tail.as_deref().filter(|text| !text.trim().is_empty())
                && profile.status == RunStatus::ProgramFailed
            {
                client.log_message(MessageType::WARNING, format!("Scalene: {name}: the program's stderr (last lines):\n{stderr}")).await;
            }
            // The new profile reaches the editor through the cache's events (server::follow_cache).
        }
        Err(err) => {
            client.show_message(MessageType::ERROR, format!("Scalene could not profile {name}: {err}")).await;
        }
    }
}

/// Reports each change of a run's recording (asked for or confirmed) at once, until the run ends: a
/// progress report (or a log message without progress), fresh annotations when the confirmed state
/// changed, and a warning with the fix when a pause or resume could not happen.
async fn follow_recording(session: &Arc<Session>, run_id: RunId, name: &str, started: std::time::Instant, progress: Option<&OngoingProgress<Unbounded, Cancellable>>) {
    let Some(mut receiver) = session.engine.watch_recording(run_id) else { return };
    let mut seen = *receiver.borrow_and_update();
    while receiver.changed().await.is_ok() {
        let now = *receiver.borrow_and_update();
        if let Some((_, problem)) = now.problem.filter(|problem| Some(*problem) != seen.problem)
            && problem != RecordingProblem::Ended
        {
            let err = session.engine.recording_error(run_id, problem);
            session.client.show_message(MessageType::WARNING, format!("Scalene: {name}: {err}")).await;
        }
        if (now.recording, now.wanted) != (seen.recording, seen.wanted) && !now.ended {
            let message = report(started.elapsed().as_secs(), session.engine.run_info(run_id).as_ref());
            match progress {
                Some(progress) => progress.report_with_message(message, Some(true)).await,
                None => session.client.log_message(MessageType::INFO, format!("Scalene: {name}: {message}")).await,
            }
            if now.recording != seen.recording {
                tokio::spawn(after_profile_change(session.clone()));
            }
        }
        seen = now;
    }
}

/// Everything visible may have changed: republish diagnostics, ask for fresh hints and lenses.
pub async fn after_profile_change(session: Arc<Session>) {
    diagnostics::publish_all(&session).await;
    heat::publish_all(&session).await;
    let capabilities = session.capabilities();
    if capabilities.inlay_hint_refresh {
        client::refresh_inlay_hints(&session.client).await;
    }
    if capabilities.code_lens_refresh {
        client::refresh_code_lenses(&session.client).await;
    }
}
