//! `scalene/runStatus`: a run's progress as data, for clients that announce
//! `experimental.scaleneRunStatus: true` (editors draw their own status item from it). Sent at the same
//! moments as the work-done progress (begin, each report, end), and the progress text is written from the
//! same `RunStatusParams` (progress.rs), so the words and the data never disagree.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use tower_lsp_server::ls_types::Uri;
use tower_lsp_server::ls_types::notification::Notification;

use crate::engine::profile::model::Profile;
use crate::engine::{RunId, RunInfo, RunResult, SeriesProgress};

/// The notification (server → client).
pub enum RunStatusNotification {}

impl Notification for RunStatusNotification {
    type Params = RunStatusParams;
    const METHOD: &'static str = "scalene/runStatus";
}

/// Where in its life a run is: the moments of `$/progress` begin, report and end.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunPhase {
    Begin,
    Report,
    End,
}

/// What was started: a file (`profile`, or `live` with snapshots), one pytest `test`, a `compare` run,
/// or a `repeat`ed series of runs for a comparison.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunKind {
    Profile,
    Live,
    Test,
    Compare,
    Repeat,
    /// py-spy attached to a running process (`scalene.attach`): cancel detaches.
    Attach,
}

/// Which run of a series is going (1-based), out of how many.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeriesStep {
    pub current: u32,
    pub total: u32,
}

impl SeriesStep {
    fn of(series: &SeriesProgress) -> SeriesStep {
        // Before the first run of the series has started, it is the one about to start.
        SeriesStep { current: series.current().max(1), total: series.total }
    }
}

/// The line with the most CPU time of a profile (the newest snapshot while a live run goes on).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HottestLine {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uri: Option<Uri>,
    /// The file name (`app.py`).
    pub file: String,
    /// 0-based line of the profiled text (people read it as `app.py:<line + 1>`).
    pub line: u32,
    /// CPU percent of the run (python + native + system).
    pub cpu: f64,
}

impl HottestLine {
    /// The hottest line, if any line has CPU time.
    pub fn of(profile: &Profile) -> Option<HottestLine> {
        let (file, line) = profile.hottest_line().filter(|(_, line)| line.cpu_total() > 0.0)?;
        Some(HottestLine {
            uri: Uri::from_file_path(&file.path),
            file: crate::engine::units::short_name(&file.path),
            line: line.line.saturating_sub(1),
            cpu: line.cpu_total(),
        })
    }
}

/// A run at one moment. `status`, `error` and `summary` only at the end.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunStatusParams {
    /// `run-N`, what `scalene.cancel`, `scalene.pause` and `scalene.resume` take.
    pub run_id: String,
    /// The document the run was started for.
    pub uri: Uri,
    pub phase: RunPhase,
    pub kind: RunKind,
    /// Live snapshots (a `live` run, or a test run with `live: true`).
    pub live: bool,
    /// The test's name, for a `test` run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test: Option<String>,
    /// The process sampled, for an `attach` run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    /// Scalene is recording (as confirmed); false while paused.
    pub recording: bool,
    /// The recording state asked for last; differs from `recording` while a pause or resume is on its way.
    pub recording_requested: bool,
    /// Seconds since the run started; at the end of a run with a profile, the profile's elapsed time
    /// (Scalene's, the recorded time only when recording was paused), as the summary says.
    pub elapsed_s: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub series: Option<SeriesStep>,
    /// The hottest line so far (a live run's newest snapshot), and at the end the profile's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hottest: Option<HottestLine>,
    /// The profile shown for the run: its newest snapshot while it goes on (a new id for each snapshot),
    /// the final profile at the end; views that draw a whole profile (a flame graph) ask again when it
    /// changes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile_id: Option<String>,
    /// The outcome: the profile's status (`ok`, `program_failed`, `too_short`, `cancelled`, `timed_out`),
    /// or `failed` when there is no profile.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// With `failed`: the error's stable kind (`scalene_missing`, `syntax_error`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The one-line summary the progress ends with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
}

impl RunStatusParams {
    /// A run as it begins (nothing measured yet).
    pub fn begin(run_id: RunId, uri: Uri, kind: RunKind, live: bool, test: Option<String>, info: Option<&RunInfo>, series: Option<&SeriesProgress>) -> RunStatusParams {
        let begin = RunStatusParams {
            run_id: run_id.to_string(),
            uri,
            phase: RunPhase::Begin,
            kind,
            live,
            test,
            pid: None,
            recording: true,
            recording_requested: true,
            elapsed_s: 0.0,
            series: None,
            hottest: None,
            profile_id: None,
            status: None,
            error: None,
            summary: None,
        };
        begin.at(RunPhase::Begin, Duration::ZERO, info, series)
    }

    /// The run at `elapsed`, from the engine's view of it (`None` once it ended, or for a series).
    pub fn at(&self, phase: RunPhase, elapsed: Duration, info: Option<&RunInfo>, series: Option<&SeriesProgress>) -> RunStatusParams {
        RunStatusParams {
            phase,
            elapsed_s: elapsed.as_secs_f64(),
            recording: info.is_none_or(|info| info.recording),
            recording_requested: info.is_none_or(|info| info.recording_wanted),
            series: series.map(SeriesStep::of),
            hottest: info.and_then(|info| info.snapshot.as_ref()).and_then(|snapshot| HottestLine::of(&snapshot.profile)),
            profile_id: info.and_then(|info| info.snapshot.as_ref()).map(|snapshot| snapshot.id.to_string()),
            ..self.clone()
        }
    }

    /// The run's end: the profile's status, elapsed time and hottest line, or `failed` with the error's
    /// kind. `summary` is left for the caller, who writes it from these fields.
    pub fn ended(&self, result: &RunResult, elapsed: Duration, series: Option<&SeriesProgress>) -> RunStatusParams {
        let at_end = self.at(RunPhase::End, elapsed, None, series);
        match result {
            Ok(entry) => RunStatusParams {
                elapsed_s: entry.profile.elapsed_s,
                hottest: HottestLine::of(&entry.profile),
                profile_id: Some(entry.id.to_string()),
                status: Some(entry.profile.status.as_str().to_string()),
                ..at_end
            },
            Err(err) => RunStatusParams { status: Some("failed".to_string()), error: Some(err.kind().to_string()), ..at_end },
        }
    }
}
