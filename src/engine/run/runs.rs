//! Runs as the front ends see them while they go on: what runs, for how long, whether Scalene records
//! (pause and resume), and its newest live snapshot in the cache (one entry per run: each snapshot
//! replaces the previous one, and the final profile replaces the last snapshot). Recently ended runs
//! keep a pointer to their final profile, so a run id stays meaningful after the run.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use crate::engine::run::handle::RunId;
use crate::engine::keep::cache::{CachedProfile, ProfileCache, ProfileId, ProfileKey};
use crate::engine::profile::model::Profile;
use crate::engine::run::runner::RunControl;

/// How many ended runs keep their run id → profile id.
pub const ENDED_RUNS_KEPT: usize = 256;

/// One run in progress (queued runs included).
#[derive(Debug)]
pub struct RunState {
    pub run_id: RunId,
    /// The program as shown (`/abs/app.py`, `-m pkg`, `tests/test_a.py::test_b`).
    pub program: String,
    pub started: SystemTime,
    /// The snapshot interval of a live run.
    pub live: Option<Duration>,
    pub(crate) control: Arc<RunControl>,
    latest: Mutex<Option<ProfileId>>,
}

/// What a front end shows about a run in progress.
#[derive(Clone, Debug)]
pub struct RunInfo {
    pub run_id: RunId,
    pub program: String,
    /// Wall-clock time since the run was started (queued time included).
    pub elapsed: Duration,
    pub live: Option<Duration>,
    /// False while recording is paused (as confirmed).
    pub recording: bool,
    /// The recording state asked for last; differs from `recording` while a pause or resume is on
    /// its way.
    pub recording_wanted: bool,
    /// The newest complete snapshot, while it is in the cache.
    pub snapshot: Option<Arc<CachedProfile>>,
}

impl RunState {
    pub(crate) fn new(run_id: RunId, program: String, live: Option<Duration>, paused: bool) -> RunState {
        RunState {
            run_id,
            program,
            started: SystemTime::now(),
            live,
            control: Arc::new(RunControl::new(!paused, live.is_some() || paused)),
            latest: Mutex::new(None),
        }
    }

    /// Puts a snapshot (or the final profile) of this run in the cache as its newest, in one step: the
    /// run knows it as its latest before the cache tells its subscribers, so whoever hears of it and asks
    /// for the run's snapshot finds it.
    pub(crate) fn keep(&self, cache: &ProfileCache, key: ProfileKey, profile: Profile) -> Arc<CachedProfile> {
        cache.insert_then(key, profile, |entry| *self.latest.lock().unwrap_or_else(|poison| poison.into_inner()) = Some(entry.id))
    }

    pub fn info(&self, cache: &ProfileCache) -> RunInfo {
        let latest = *self.latest.lock().unwrap_or_else(|poison| poison.into_inner());
        let recording = self.control.status();
        RunInfo {
            run_id: self.run_id,
            program: self.program.clone(),
            elapsed: self.started.elapsed().unwrap_or_default(),
            live: self.live,
            recording: recording.recording,
            recording_wanted: recording.wanted,
            snapshot: latest.and_then(|id| cache.get(id)),
        }
    }
}

/// Ended runs, newest last: run id → the profile it produced.
#[derive(Default)]
pub struct EndedRuns {
    runs: Mutex<VecDeque<(RunId, ProfileId)>>,
}

impl EndedRuns {
    pub fn record(&self, run_id: RunId, profile: ProfileId) {
        let mut runs = self.runs.lock().unwrap_or_else(|poison| poison.into_inner());
        runs.push_back((run_id, profile));
        while runs.len() > ENDED_RUNS_KEPT {
            runs.pop_front();
        }
    }

    pub fn profile(&self, run_id: RunId) -> Option<ProfileId> {
        let runs = self.runs.lock().unwrap_or_else(|poison| poison.into_inner());
        runs.iter().rev().find(|(id, _)| *id == run_id).map(|(_, profile)| *profile)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::keep::cache::{CacheEvent, CacheSettings, ProfileOrigin};
    use crate::engine::profile::model::RunStatus;

    #[test]
    fn each_kept_snapshot_is_announced_and_becomes_the_runs_latest() {
        let cache = ProfileCache::new(&CacheSettings::default());
        let state = RunState::new(RunId(7), "/p/app.py".into(), Some(Duration::from_secs(1)), false);
        let mut events = cache.subscribe();
        let key = ProfileKey { origin: ProfileOrigin::Run, path: "/p/app.py".into(), content_hash: "a".into(), options: "cpu".into() };
        for _ in 0..3 {
            let entry = state.keep(&cache, key.clone(), Profile::empty(RunStatus::Running, "/p/app.py".into()));
            // What a subscriber does on hearing of it: ask the run for its snapshot.
            // (The snapshot it replaces may be announced as removed first.)
            let id = std::iter::from_fn(|| events.try_recv().ok()).find_map(|event| match event {
                CacheEvent::Added(id) => Some(id),
                CacheEvent::Removed(_) => None,
            });
            let id = id.expect("the cache announced the snapshot");
            assert_eq!(id, entry.id);
            assert_eq!(state.info(&cache).snapshot.map(|snapshot| snapshot.id), Some(id));
        }
    }
}
