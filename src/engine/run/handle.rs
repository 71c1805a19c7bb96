//! What a front end holds while a run goes on: its id (`run-3`), a handle to wait on (clones wait for
//! the same run), which run of a series is going, and the answer to a pause or resume.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use futures::future::{BoxFuture, Shared};

use crate::engine::error::EngineError;
use crate::engine::keep::cache::CachedProfile;
use crate::engine::run::runner::control::RecordingStatus;

/// The answer to a pause or resume: what was asked, and what is confirmed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordingChange {
    pub run_id: RunId,
    /// The state asked for (true: recording).
    pub requested: bool,
    /// Whether Scalene records now, as confirmed.
    pub recording: bool,
    /// False when that state already was the one asked for.
    pub changed: bool,
    /// True while the newest wish is on its way (not confirmed yet); its outcome is published on
    /// `Engine::watch_recording`.
    pub pending: bool,
}

impl RecordingChange {
    pub(crate) fn new(run_id: RunId, requested: bool, changed: bool, status: &RecordingStatus) -> RecordingChange {
        RecordingChange { run_id, requested, recording: status.recording, changed, pending: status.pending() }
    }
}

/// A run in progress (or one shared with an identical request).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RunId(pub u64);

impl std::fmt::Display for RunId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "run-{}", self.0)
    }
}

impl RunId {
    pub fn parse(text: &str) -> Option<RunId> {
        text.strip_prefix("run-").unwrap_or(text).parse().ok().map(RunId)
    }
}

pub type RunResult = Result<Arc<CachedProfile>, EngineError>;

/// Returned by `Engine::start` at once; `wait` gives the result (clones wait for the same run).
#[derive(Clone)]
pub struct RunHandle {
    pub run_id: RunId,
    /// True when an identical run was already in flight and this request joined it.
    pub joined: bool,
    pub(crate) result: Shared<BoxFuture<'static, RunResult>>,
    /// For repeated runs (`start_repeated`): which run is going.
    pub series: Option<SeriesProgress>,
}

/// Which of a series of repeated runs is going (1-based), out of how many.
#[derive(Clone, Debug)]
pub struct SeriesProgress {
    pub total: u32,
    pub(crate) current: Arc<AtomicU32>,
}

impl SeriesProgress {
    pub fn current(&self) -> u32 {
        self.current.load(Ordering::Relaxed)
    }
}

/// How often front ends report a run's progress (the editor's progress, MCP progress notifications).
pub const PROGRESS_INTERVAL: Duration = Duration::from_secs(1);

impl RunHandle {
    pub async fn wait(self) -> RunResult {
        self.result.await
    }

    /// Waits for the run, calling `on_tick(elapsed)` every `PROGRESS_INTERVAL` while it goes on: the one
    /// progress ticker of every front end.
    pub async fn wait_with_ticks<Tick: Future<Output = ()>>(self, mut on_tick: impl FnMut(Duration) -> Tick) -> RunResult {
        let started = tokio::time::Instant::now();
        let mut ticker = tokio::time::interval_at(started + PROGRESS_INTERVAL, PROGRESS_INTERVAL);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut wait = std::pin::pin!(self.wait());
        loop {
            tokio::select! {
                result = &mut wait => return result,
                _ = ticker.tick() => on_tick(started.elapsed()).await,
            }
        }
    }
}

