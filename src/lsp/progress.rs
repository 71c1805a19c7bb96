//! A run from start to finish, as the user sees it: work-done progress (begin, a report every second,
//! end with a one-line summary) or log messages when the client has no progress support, and
//! `scalene/runStatus` (the same moments as data) for clients that asked for it; the outcome published
//! as diagnostics and refreshes; failures as messages with the fix.

use std::sync::Arc;

use tower_lsp_server::ls_types::{MessageType, NumberOrString, Uri};
use tower_lsp_server::{Cancellable, OngoingProgress, Unbounded};

use super::client;
use super::diagnostics;
use super::heat;
use super::run_status::{HottestLine, RunKind, RunPhase, RunStatusNotification, RunStatusParams};
use super::session::{Session, uri_path};
use crate::engine::profile::model::RunStatus;
use crate::engine::run::runner::control::RecordingProblem;
use crate::engine::{RunHandle, RunId, RunResult};

/// What a run is, for its progress title and `scalene/runStatus`.
#[derive(Clone, Debug, Default)]
pub struct RunTitle {
    /// The test's name, when the run is one pytest test.
    pub test: Option<String>,
    /// The process id, when the run is an attach (`scalene.attach`): py-spy, not Scalene.
    pub attached: Option<u32>,
    pub live: bool,
    /// A run for `scalene.compare`.
    pub compare: bool,
}

/// The "test" of a suite run (`scalene.profileTests`): its title names the suite, not a test.
pub const SUITE: &str = "(the pytest suite)";

impl RunTitle {
    fn kind(&self, series: bool) -> RunKind {
        if self.attached.is_some() {
            RunKind::Attach
        } else if series {
            RunKind::Repeat
        } else if self.compare {
            RunKind::Compare
        } else if self.test.is_some() {
            RunKind::Test
        } else if self.live {
            RunKind::Live
        } else {
            RunKind::Profile
        }
    }
}

/// `file.py:42 (31.2% CPU)`.
fn hottest_text(hottest: &HottestLine) -> String {
    format!("{}:{} ({:.1}% CPU)", hottest.file, hottest.line + 1, hottest.cpu)
}

/// A progress report while a run goes on: `12 s` (`run 2/3 · 12 s` in a series), then what is known so
/// far (recording paused, a pause or resume on its way, the hottest line of the newest live snapshot).
pub fn report(status: &RunStatusParams) -> String {
    let mut text = match status.series {
        Some(series) => format!("run {}/{} · ", series.current, series.total),
        None => String::new(),
    };
    text.push_str(&format!("{} s", status.elapsed_s as u64));
    if !status.recording {
        text.push_str(" · recording paused");
    }
    if status.recording_requested != status.recording {
        text.push_str(if status.recording_requested { " · resuming recording" } else { " · pausing recording" });
    }
    if let Some(hot) = &status.hottest {
        text.push_str(&format!(" · hottest so far: {}", hottest_text(hot)));
    }
    text
}

/// The progress end message: status, elapsed time and the hottest line; or `failed: <kind>`.
pub fn summary(end: &RunStatusParams) -> String {
    if let Some(kind) = &end.error {
        return format!("failed: {}", kind.replace('_', " "));
    }
    let mut text = format!("{} in {:.1} s", end.status.as_deref().unwrap_or("ended"), end.elapsed_s);
    if let Some(hot) = &end.hottest {
        text.push_str(&format!(" · hottest: {}", hottest_text(hot)));
    }
    text
}

/// The progress end message of an attach: `detached from 12345 after 4.0 s · 400 py-spy samples ·
/// hottest: app.py:17 (76.0% of samples)`, or what ended it (the process exited, or exec'd).
pub fn attach_summary(pid: u32, end: &RunStatusParams, profile: &crate::engine::Profile) -> String {
    let noted = |words: &str| profile.notes.iter().any(|note| note.contains(words));
    let how = if noted("replaced its program (exec)") {
        format!("{pid} ran another program (exec) after")
    } else if noted("The process exited") {
        format!("{pid} exited after")
    } else {
        format!("detached from {pid} after")
    };
    let samples = profile.attached.as_ref().map_or(0, |attached| attached.samples);
    let mut text = format!("{how} {:.1} s · {samples} py-spy samples", end.elapsed_s);
    if let Some(hot) = &end.hottest {
        text.push_str(&format!(" · hottest: {}:{} ({:.1}% of samples)", hot.file, hot.line + 1, hot.cpu));
    }
    text
}

/// Sends `scalene/runStatus` to a client that asked for it.
async fn send_status(session: &Session, status: RunStatusParams) {
    if session.capabilities().run_status {
        session.client.send_notification::<RunStatusNotification>(status).await;
    }
}

/// What to do with a run's result before its end is announced (compare mode is entered here, so that a
/// view that asks again at the end already sees it).
pub type BeforeEnd = Box<dyn FnOnce(&RunResult) + Send>;

pub async fn track_run(session: Arc<Session>, handle: RunHandle, uri: Uri, token: String, what: RunTitle, before_end: Option<BeforeEnd>) {
    let run_id = handle.run_id;
    let path = uri_path(&uri).unwrap_or_default();
    let file_name = path.file_name().map_or_else(|| uri.as_str().to_string(), |n| n.to_string_lossy().into_owned());
    let name = match &what.test {
        Some(test) if test == SUITE => format!("the pytest suite in {file_name}"),
        Some(test) => format!("{file_name}::{test}"),
        None => file_name,
    };
    let live = if what.live { " live" } else { "" };
    let title = match (&what.test, what.attached) {
        (_, Some(pid)) => format!("Scalene: attached to {pid} (py-spy)"),
        (Some(test), None) if test == SUITE => format!("Scalene: profiling {name}"),
        (Some(_), None) => format!("Scalene: profiling test {name}{live}"),
        (None, None) => format!("Scalene: profiling {name}{live}"),
    };
    let attached = what.attached;
    let series = handle.series.clone();
    let engine = session.engine.clone();
    let kind = what.kind(series.is_some());
    let begin = RunStatusParams { pid: what.attached, ..RunStatusParams::begin(run_id, uri, kind, what.live, what.test, engine.run_info(run_id).as_ref(), series.as_ref()) };
    send_status(&session, begin.clone()).await;
    let client = session.client.clone();
    let progress = if session.capabilities().work_done_progress
        && client::create_progress(&client, NumberOrString::String(token.clone())).await
    {
        Some(client.progress(NumberOrString::String(token), title).with_cancel_button().with_message("starting").begin().await)
    } else {
        client.log_message(MessageType::INFO, format!("{title}…")).await;
        None
    };
    let started = std::time::Instant::now();
    // The elapsed time from one clock for the ticker and for follow_recording's reports.
    let ticks = handle.wait_with_ticks(|_| {
        let (session, progress) = (&session, &progress);
        let info = engine.run_info(run_id);
        let status = begin.at(RunPhase::Report, started.elapsed(), info.as_ref(), series.as_ref());
        let message = match (attached, info.as_ref()) {
            (Some(pid), Some(info)) => attach_report(pid, info),
            _ => report(&status),
        };
        async move {
            send_status(session, status).await;
            if let Some(progress) = progress {
                progress.report_with_message(message, Some(true)).await;
            }
        }
    });
    // Pause and resume answer at once; what they lead to is reported here, as it happens.
    let recording = async {
        follow_recording(&session, run_id, &begin, &name, started, progress.as_ref()).await;
        std::future::pending::<()>().await
    };
    let result = tokio::select! {
        result = ticks => result,
        () = recording => unreachable!("following the recording never ends"),
    };
    session.runs.remove(&run_id);
    if let Some(before_end) = before_end {
        before_end(&result);
    }
    let mut end = begin.ended(&result, started.elapsed(), series.as_ref());
    let summary = match (end.pid, &result) {
        (Some(pid), Ok(entry)) if end.error.is_none() => attach_summary(pid, &end, &entry.profile),
        _ => summary(&end),
    };
    end.summary = Some(summary.clone());
    send_status(&session, end).await;
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

/// The progress of an attach: `attached to 12345 (gunicorn: worker) · 3.2 s · 320 samples`, then the
/// hottest line so far.
pub fn attach_report(pid: u32, info: &crate::engine::RunInfo) -> String {
    let profile = info.snapshot.as_ref().map(|entry| &entry.profile);
    let command = profile.and_then(|profile| profile.attached.as_ref()).map(|attached| attached.command_line.clone());
    let command = command.unwrap_or_else(|| info.program.split_once(" (").map_or(String::new(), |(_, rest)| rest.trim_end_matches(')').to_string()));
    let samples = profile.and_then(|profile| profile.attached.as_ref()).map_or(0, |attached| attached.samples);
    let mut text = format!("attached to {pid} ({command}) · {:.1} s · {samples} samples", info.elapsed.as_secs_f64());
    if let Some((file, line)) = profile.and_then(|profile| profile.hottest_line()) {
        let name = file.path.file_name().map_or_else(String::new, |name| name.to_string_lossy().into_owned());
        text.push_str(&format!(" · hottest {name}:{} ({:.1}%)", line.line, line.cpu_total()));
    }
    text
}

/// Reports each change of a run's recording (asked for or confirmed) at once, until the run ends: a
/// progress report (or a log message without progress), fresh annotations when the confirmed state
/// changed, and a warning with the fix when a pause or resume could not happen.
async fn follow_recording(
    session: &Arc<Session>,
    run_id: RunId,
    begin: &RunStatusParams,
    name: &str,
    started: std::time::Instant,
    progress: Option<&OngoingProgress<Unbounded, Cancellable>>,
) {
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
            let status = begin.at(RunPhase::Report, started.elapsed(), session.engine.run_info(run_id).as_ref(), None);
            let message = report(&status);
            send_status(session, status).await;
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
