//! The profiling engine: no protocol code. `Engine` (cheap to clone) resolves a request (interpreter,
//! project root, options), queues it (bounded concurrency, identical requests share one run), runs
//! Scalene, parses the result and caches it. The LSP server, the MCP endpoint and the CLI all call it.

mod attaching;
pub mod dirs;
pub mod error;
pub mod keep;
pub mod limits;
pub mod profile;
pub mod redact;
pub mod run;
pub mod units;
pub mod workspace;

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use dashmap::DashMap;
use futures::FutureExt;
use futures::future::{BoxFuture, Shared};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use keep::{cache, profile_file, storage};
use profile::{model, repeat};
use run::{interpreter, plan, provenance, runner, runs, startup};

pub use cache::{CacheEvent, CacheSettings, CachedProfile, CoveredFile, ProfileCache, ProfileId, ProfileKey, ProfileOrigin};
pub use error::{EngineError, panic_message};
pub use keep::loading::{load_json_file, load_profile_file};
pub use interpreter::{DiscoveryEnv, Environment, EnvironmentFailure, Interpreter, Preflight};
pub use model::{Mode, Profile, RunStatus};
pub use runner::{Program, ProgramIo, RunSpec};
pub use run::plan::{DEFAULT_LIVE_INTERVAL, ProfileRequest, RunPlan};
pub use run::handle::{PROGRESS_INTERVAL, RecordingChange, RunHandle, RunId, RunResult, SeriesProgress};
pub use runs::RunInfo;
pub use run::attach::{AttachRequest, DEFAULT_RATE_HZ};
pub use run::attach::procs::{PythonProcess, python_processes};
pub use startup::Startup;
pub use storage::{Store, StoreSettings};

/// The wall-clock limit of a run when nobody sets one: the CLI's `--timeout`, the editor's `timeout`
/// setting and MCP's `timeout_s` all default to it.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);

/// How long `Engine::shutdown` waits for cancelled runs to stop their process groups and remove their
/// run dirs: a stop takes at most `runner::TERM_GRACE`, plus the final SIGKILL and the group's exit.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Engine-wide settings.
#[derive(Clone, Debug)]
pub struct EngineSettings {
    /// Scalene runs at once; further requests queue.
    pub max_concurrent_runs: usize,
    /// Wall-clock limit of a run unless the request sets one.
    pub default_timeout: Duration,
    pub cache: CacheSettings,
    /// Where run directories are created (each run's own, removed afterwards).
    pub temp_root: PathBuf,
    pub discovery_env: DiscoveryEnv,
    /// Where successful preflights are remembered across processes (None: in memory only).
    pub preflight_store: Option<PathBuf>,
    /// Where saved profiles go (nothing is written until something is saved).
    pub store: StoreSettings,
    /// The largest profile file `load_json` reads when the caller names no limit.
    pub max_profile_bytes: u64,
    /// The `scalene-lsp` binary, to run each run's watchdog (`runner::WATCHDOG_COMMAND`), which stops
    /// the run if this process dies without stopping it. None: no watchdog.
    pub watchdog: Option<PathBuf>,
}

impl Default for EngineSettings {
    fn default() -> EngineSettings {
        EngineSettings {
            max_concurrent_runs: 2,
            default_timeout: DEFAULT_TIMEOUT,
            cache: CacheSettings::default(),
            temp_root: std::env::temp_dir(),
            discovery_env: DiscoveryEnv::from_process(),
            preflight_store: interpreter::default_preflight_store(),
            store: StoreSettings::default(),
            max_profile_bytes: profile_file::DEFAULT_MAX_PROFILE_BYTES,
            watchdog: None,
        }
    }
}

/// A run in progress, for identical requests to join.
#[derive(Clone)]
struct InFlight {
    run_id: RunId,
    result: Shared<BoxFuture<'static, RunResult>>,
}

#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

struct Inner {
    settings: EngineSettings,
    preflights: interpreter::PreflightCache,
    cache: ProfileCache,
    slots: Semaphore,
    in_flight: DashMap<ProfileKey, InFlight>,
    cancels: DashMap<RunId, CancellationToken>,
    /// Runs in progress (queued ones included): recording, snapshots.
    runs: DashMap<RunId, Arc<runs::RunState>>,
    ended: runs::EndedRuns,
    /// Notified each time a run ends (for `shutdown`).
    run_ended: tokio::sync::Notify,
    next_run: AtomicU64,
    store: RwLock<Arc<Store>>,
}

impl Engine {
    pub fn new(settings: EngineSettings) -> Engine {
        let swept_age = settings.default_timeout.max(DEFAULT_TIMEOUT) + runner::TERM_GRACE;
        runner::sweep_stale_run_dirs(&settings.temp_root, swept_age);
        Engine {
            inner: Arc::new(Inner {
                cache: ProfileCache::new(&settings.cache),
                slots: Semaphore::new(settings.max_concurrent_runs.max(1)),
                preflights: interpreter::PreflightCache::with_store(settings.preflight_store.clone()),
                in_flight: DashMap::new(),
                cancels: DashMap::new(),
                runs: DashMap::new(),
                ended: runs::EndedRuns::default(),
                run_ended: tokio::sync::Notify::new(),
                next_run: AtomicU64::new(1),
                store: RwLock::new(Arc::new(Store::new(settings.store.clone()))),
                settings,
            }),
        }
    }

    pub fn settings(&self) -> &EngineSettings {
        &self.inner.settings
    }

    pub fn cache(&self) -> &ProfileCache {
        &self.inner.cache
    }

    /// The saved-profile store (shared by every front end on this engine).
    pub fn store(&self) -> Arc<Store> {
        self.inner.store.read().unwrap_or_else(|poison| poison.into_inner()).clone()
    }

    /// Points the store elsewhere or changes its quota (the editor's `store` settings).
    pub fn set_store(&self, settings: StoreSettings) {
        let mut store = self.inner.store.write().unwrap_or_else(|poison| poison.into_inner());
        if store.settings() != &settings {
            *store = Arc::new(Store::new(settings));
        }
    }

    /// Plans a request (`run::plan`): the program resolved, the interpreter found and checked (its
    /// cached preflight), the Scalene command. Does not run the program; `settle_startup` adds the
    /// start-up choice just before it runs.
    pub async fn plan(&self, request: &ProfileRequest) -> Result<RunPlan, EngineError> {
        let (program, start_dir) = plan::resolve_program(request)?;
        self.plan_program(request, program, &start_dir).await
    }

    /// `plan` for a program already resolved, or for a placeholder that need not exist (`doctor`
    /// without a file shows the command a run would use).
    pub async fn plan_program(&self, request: &ProfileRequest, program: Program, start_dir: &Path) -> Result<RunPlan, EngineError> {
        let project_root = request.project_root.clone().or_else(|| workspace::find_project_root(start_dir));
        let root_for_discovery = project_root.clone().unwrap_or_else(|| start_dir.to_path_buf());
        let interpreter = interpreter::discover(request.python.as_deref(), &root_for_discovery, &self.inner.settings.discovery_env)?;
        let preflight = self.inner.preflights.check(&interpreter.path).await?;
        let place = plan::Place { project_root, root_for_discovery, default_timeout: self.inner.settings.default_timeout };
        RunPlan::new(request, program, interpreter, preflight, place)
    }

    /// Settles the plan's start-up: the variables that let this run skip Scalene's re-launch
    /// (`run/startup.rs`) go into its spec, or none when the plan asks for `Startup::Normal` or the
    /// shortcut is not verified for the interpreter and Scalene install. The first call for an
    /// interpreter verifies it with a short probe run (about a second), whose verdict is remembered with
    /// the preflight.
    pub async fn settle_startup(&self, plan: &mut RunPlan) {
        plan.spec.startup_env = self.startup_env(plan).await;
    }

    async fn startup_env(&self, plan: &RunPlan) -> Vec<(String, String)> {
        let settings = &self.inner.settings;
        let place = runner::RunPlace { temp_root: &settings.temp_root, watchdog: settings.watchdog.as_deref() };
        let planned = startup::Planned { startup: plan.startup, interpreter: &plan.interpreter.path, preflight: &plan.preflight, spec: &plan.spec };
        startup::env_for(planned, &self.inner.preflights, place).await
    }

    /// The interpreter (explicit, else discovered from `start`'s project) and its cached preflight:
    /// what a profile started from `start` would use. Runs Python only when the preflight is not cached.
    pub async fn environment(&self, python: Option<&Path>, start: &Path) -> Result<Environment, EnvironmentFailure> {
        interpreter::environment(python, start, &self.inner.settings.discovery_env, &self.inner.preflights).await
    }

    /// Starts (or joins) a run and returns at once; the run goes on in the background even if the
    /// handle is dropped. Must be called inside a tokio runtime.
    pub fn start(&self, request: ProfileRequest) -> Result<RunHandle, EngineError> {
        let (program, _) = plan::resolve_program(&request)?;
        plan::check_arguments(&program, &request.args)?;
        let key = plan::run_key(&program, &request)?;
        let (sender, receiver) = tokio::sync::oneshot::channel::<RunResult>();
        let result = async move {
            receiver.await.unwrap_or_else(|_| Err(EngineError::Internal { message: "the run ended without a result".into() }))
        }
        .boxed()
        .shared();
        // Register before spawning, so a run that ends at once cannot leave a stale entry behind.
        let run_id = match self.inner.in_flight.entry(key.clone()) {
            dashmap::Entry::Occupied(existing) => {
                let InFlight { run_id, result } = existing.get().clone();
                return Ok(RunHandle { run_id, joined: true, result, series: None });
            }
            dashmap::Entry::Vacant(slot) => {
                let run_id = RunId(self.inner.next_run.fetch_add(1, Ordering::Relaxed));
                slot.insert(InFlight { run_id, result: result.clone() });
                run_id
            }
        };
        let cancel = CancellationToken::new();
        self.inner.cancels.insert(run_id, cancel.clone());
        let state = Arc::new(runs::RunState::new(run_id, program.display(), request.live, request.paused));
        self.inner.runs.insert(run_id, state.clone());
        let engine = self.clone();
        tokio::spawn(async move {
            let outcome = std::panic::AssertUnwindSafe(engine.execute(request, key.clone(), &cancel, &state))
                .catch_unwind()
                .await
                .unwrap_or_else(|panic| {
                    let message = panic_message(&*panic);
                    tracing::error!("a profiling run panicked: {message}");
                    Err(EngineError::Internal { message: format!("the profiling run panicked: {message}") })
                });
            engine.end_run(run_id, &key, &state, outcome, sender);
        });
        Ok(RunHandle { run_id, joined: false, result, series: None })
    }

    /// A run's end, whatever started it (`start`, `start_attach`): it stops being in flight,
    /// cancellable and listed, its final profile is remembered for its id, and waiters get `outcome`.
    fn end_run(&self, run_id: RunId, key: &ProfileKey, state: &runs::RunState, outcome: RunResult, sender: tokio::sync::oneshot::Sender<RunResult>) {
        state.control.end();
        if let Ok(entry) = &outcome {
            self.inner.ended.record(run_id, entry.id);
        }
        self.inner.runs.remove(&run_id);
        self.inner.in_flight.remove_if(key, |_, in_flight| in_flight.run_id == run_id);
        self.inner.cancels.remove(&run_id);
        self.inner.run_ended.notify_waiters();
        let _ = sender.send(outcome);
    }

    /// Starts `runs` runs of the same request one after another and returns at once; the result is
    /// their mean with each metric's range (`repeat::combine`), cached as one profile. The handle's id
    /// names the whole series: cancelling it (or the run going on) stops the series, and a run that
    /// does not end `ok` ends it with that run's profile. `runs` <= 1 is `start`.
    pub fn start_repeated(&self, request: ProfileRequest, runs: u32) -> Result<RunHandle, EngineError> {
        if runs <= 1 {
            return self.start(request);
        }
        let (program, _) = plan::resolve_program(&request)?;
        plan::check_arguments(&program, &request.args)?;
        let series_id = RunId(self.inner.next_run.fetch_add(1, Ordering::Relaxed));
        let cancel = CancellationToken::new();
        self.inner.cancels.insert(series_id, cancel.clone());
        let current = Arc::new(AtomicU32::new(0));
        let (sender, receiver) = tokio::sync::oneshot::channel::<RunResult>();
        let result = async move {
            receiver.await.unwrap_or_else(|_| Err(EngineError::Internal { message: "the series ended without a result".into() }))
        }
        .boxed()
        .shared();
        let engine = self.clone();
        let series_current = current.clone();
        tokio::spawn(async move {
            let outcome = std::panic::AssertUnwindSafe(engine.run_series(request, runs, &cancel, &series_current))
                .catch_unwind()
                .await
                .unwrap_or_else(|panic| Err(EngineError::Internal { message: format!("a repeated run panicked: {}", panic_message(&*panic)) }));
            engine.inner.cancels.remove(&series_id);
            engine.inner.run_ended.notify_waiters();
            let _ = sender.send(outcome);
        });
        Ok(RunHandle { run_id: series_id, joined: false, result, series: Some(SeriesProgress { total: runs, current }) })
    }

    async fn run_series(&self, request: ProfileRequest, runs: u32, cancel: &CancellationToken, current: &AtomicU32) -> RunResult {
        let mut profiles = Vec::with_capacity(runs as usize);
        let mut last: Option<Arc<CachedProfile>> = None;
        for index in 1..=runs {
            if cancel.is_cancelled() {
                return Err(EngineError::CancelledBeforeStart);
            }
            current.store(index, Ordering::Relaxed);
            let handle = self.start(request.clone())?;
            let run_id = handle.run_id;
            let mut wait = std::pin::pin!(handle.wait());
            let entry = tokio::select! {
                result = &mut wait => result?,
                () = cancel.cancelled() => {
                    self.cancel(Some(run_id));
                    wait.await?
                }
            };
            if entry.profile.status != RunStatus::Ok {
                // The series ends with this run's (partial) profile, saying so.
                let mut profile = entry.profile.clone();
                profile.notes.push(format!(
                    "run {index} of {runs} ended {}, so the repeated runs stopped; this is that run's profile alone",
                    profile.status.as_str()
                ));
                return Ok(self.inner.cache.insert(entry.key.clone(), profile));
            }
            profiles.push(entry.profile.clone());
            last = Some(entry);
        }
        let last = last.ok_or_else(|| EngineError::Internal { message: "a series without runs".into() })?;
        let combined = repeat::combine(&profiles)?;
        // The runs share one key: only the last is still cached; the mean replaces it.
        self.inner.cache.remove(last.id);
        let mut key = last.key.clone();
        key.options = format!("{}x{runs}", key.options);
        Ok(self.inner.cache.insert(key, combined))
    }

    /// Starts a run and waits for it.
    pub async fn profile(&self, request: ProfileRequest) -> RunResult {
        self.start(request)?.wait().await
    }

    async fn execute(&self, request: ProfileRequest, key: ProfileKey, cancel: &CancellationToken, state: &runs::RunState) -> RunResult {
        let mut resolved = self.plan(&request).await?;
        let _slot = tokio::select! {
            slot = self.inner.slots.acquire() => slot.expect("the semaphore is never closed"),
            () = cancel.cancelled() => return Err(EngineError::CancelledBeforeStart),
        };
        // The project's git state is read while the run goes on (it costs the run nothing).
        let git_dir = resolved.project_root.clone().unwrap_or_else(|| resolved.spec.cwd.clone());
        let git = tokio::spawn(async move { provenance::git_state(&git_dir).await });
        resolved.spec.startup_env = tokio::select! {
            env = self.startup_env(&resolved) => env,
            () = cancel.cancelled() => return Err(EngineError::CancelledBeforeStart),
        };
        let settings = &self.inner.settings;
        let place = runner::RunPlace { temp_root: &settings.temp_root, watchdog: settings.watchdog.as_deref() };
        // Each complete snapshot replaces the run's previous one (the same key): one entry per run.
        let on_snapshot = |profile: Profile| {
            state.keep(&self.inner.cache, key.clone(), profile);
        };
        let hooks = runner::RunHooks { control: Some(&state.control), on_snapshot: Some(&on_snapshot) };
        let result = runner::run(&resolved.spec, &resolved.preflight.scalene_version, place, cancel, hooks).await;
        if matches!(result, Err(EngineError::ScaleneCrashed { .. })) {
            self.inner.preflights.invalidate(&resolved.interpreter.path);
        }
        match result {
            Ok(mut profile) => {
                profile.cpu_sampling_s = resolved.spec.cpu_sampling_rate;
                profile.context = Some(model::RunContext {
                    interpreter: resolved.interpreter.path.clone(),
                    python_version: resolved.preflight.python_version.clone(),
                    mode: request.mode,
                    project_root: resolved.project_root.clone(),
                    git: git.await.ok().flatten(),
                });
                Ok(state.keep(&self.inner.cache, key, profile))
            }
            Err(err) => {
                // A failed run leaves no snapshot pretending it still goes on.
                if let Some(snapshot) = self.inner.cache.get_by_key(&key)
                    && snapshot.profile.status == RunStatus::Running
                {
                    self.inner.cache.remove(snapshot.id);
                }
                Err(err)
            }
        }
    }

    /// A run in progress, as front ends show it (None when it is not running).
    pub fn run_info(&self, run_id: RunId) -> Option<RunInfo> {
        self.inner.runs.get(&run_id).map(|state| state.info(&self.inner.cache))
    }

    /// Every run in progress (queued ones included), oldest first.
    pub fn runs(&self) -> Vec<RunInfo> {
        let mut runs: Vec<RunInfo> = self.inner.runs.iter().map(|state| state.info(&self.inner.cache)).collect();
        runs.sort_by_key(|run| run.run_id);
        runs
    }

    /// The profile a run has now: its newest snapshot while it runs, its final profile after it ended.
    pub fn run_profile(&self, run_id: RunId) -> Result<Arc<CachedProfile>, EngineError> {
        if let Some(info) = self.run_info(run_id) {
            return info.snapshot.ok_or(EngineError::NoSnapshotYet { run_id: run_id.to_string() });
        }
        let id = self.inner.ended.profile(run_id).ok_or(EngineError::UnknownRun { run_id: run_id.to_string() })?;
        self.inner.cache.get(id).ok_or(EngineError::UnknownRun { run_id: run_id.to_string() })
    }

    /// Asks for recording on (`on`) or off in a run in progress (the newest one when `run_id` is None)
    /// and returns at once: the run's own task sends Scalene's signals to the process that runs the
    /// program (once Scalene started it; a queued run starts in the state wanted then), coalescing
    /// quick changes of mind so that the state asked for last is the one reached. A paused span is not
    /// in the profile (elapsed = recorded time). The outcome is published on `watch_recording`.
    pub fn request_recording(&self, run_id: Option<RunId>, on: bool) -> Result<RecordingChange, EngineError> {
        let (run_id, state) = self.run_state_for_recording(run_id)?;
        match state.control.request(on) {
            Ok(wish) => Ok(RecordingChange::new(run_id, on, wish.changed, &wish.status)),
            Err(problem) => Err(self.recording_error(run_id, problem)),
        }
    }

    /// Like `request_recording`, then waits up to `wait` until Scalene is in the state asked for (or
    /// a newer wish replaced this one): the answer says `pending` when it was not confirmed in time.
    /// Fails when this wish could not be fulfilled (the run ended first, Scalene never started the
    /// program, or cannot be switched).
    pub async fn set_recording(&self, run_id: Option<RunId>, on: bool, wait: Duration) -> Result<RecordingChange, EngineError> {
        let (run_id, state) = self.run_state_for_recording(run_id)?;
        let wish = state.control.request(on).map_err(|problem| self.recording_error(run_id, problem))?;
        let mut receiver = state.control.subscribe();
        let done = |status: &runner::control::RecordingStatus| status.settled >= wish.number || status.wish > wish.number || status.ended;
        let status = match tokio::time::timeout(wait, receiver.wait_for(done)).await {
            Ok(Ok(status)) => *status,
            _ => state.control.status(),
        };
        match status.problem {
            Some((number, problem)) if number == wish.number && status.recording != on => Err(self.recording_error(run_id, problem)),
            _ => Ok(RecordingChange::new(run_id, on, wish.changed, &status)),
        }
    }

    /// Follows a run's recording (asked for and confirmed) until it ends; None when it is not running.
    pub fn watch_recording(&self, run_id: RunId) -> Option<tokio::sync::watch::Receiver<runner::control::RecordingStatus>> {
        self.inner.runs.get(&run_id).map(|state| state.control.subscribe())
    }

    /// The error (with its fix) for a switch of `run_id` that could not happen.
    pub fn recording_error(&self, run_id: RunId, problem: runner::control::RecordingProblem) -> EngineError {
        use runner::control::RecordingProblem;
        match problem {
            RecordingProblem::Ended => EngineError::RunEnded { run_id: run_id.to_string() },
            RecordingProblem::NotStarted => EngineError::ProgramNotStarted { run_id: run_id.to_string(), waited_s: runner::control::PROGRAM_WAIT.as_secs() },
            RecordingProblem::Unsupported => {
                let version = self.inner.runs.get(&run_id).and_then(|state| self.running_version(&state)).unwrap_or_else(|| "unknown version".into());
                EngineError::RecordingUnsupported { run_id: run_id.to_string(), version }
            }
        }
    }

    fn run_state_for_recording(&self, run_id: Option<RunId>) -> Result<(RunId, Arc<runs::RunState>), EngineError> {
        let run_id = match run_id {
            Some(run_id) => run_id,
            None => self.running().last().copied().ok_or(EngineError::NoRunInProgress)?,
        };
        match self.inner.runs.get(&run_id).map(|state| state.clone()) {
            Some(state) => Ok((run_id, state)),
            None => Err(match self.inner.ended.profile(run_id) {
                Some(_) => EngineError::RunEnded { run_id: run_id.to_string() },
                None => EngineError::UnknownRun { run_id: run_id.to_string() },
            }),
        }
    }

    fn running_version(&self, state: &runs::RunState) -> Option<String> {
        let info = state.info(&self.inner.cache);
        info.snapshot.and_then(|entry| entry.profile.scalene_version.clone())
    }

    /// Cancels a run (the latest one when `run_id` is None). The run still finishes with its partial
    /// profile, marked cancelled. Returns false when there was no such run in progress.
    pub fn cancel(&self, run_id: Option<RunId>) -> bool {
        let run_id = run_id.or_else(|| self.inner.cancels.iter().map(|entry| *entry.key()).max());
        match run_id.and_then(|run_id| self.inner.cancels.get(&run_id)) {
            Some(token) => {
                token.cancel();
                true
            }
            None => false,
        }
    }

    /// Runs in progress (including queued ones).
    pub fn running(&self) -> Vec<RunId> {
        let mut ids: Vec<RunId> = self.inner.cancels.iter().map(|entry| *entry.key()).collect();
        ids.sort();
        ids
    }

    /// Cancels every run (for shutdown).
    pub fn cancel_all(&self) {
        for entry in self.inner.cancels.iter() {
            entry.value().cancel();
        }
    }

    /// Cancels every run and waits (up to `grace`) until each has stopped its process group and removed
    /// its run dir, so the process can exit leaving nothing behind. Returns true when all have ended.
    pub async fn shutdown(&self, grace: Duration) -> bool {
        self.cancel_all();
        let deadline = tokio::time::Instant::now() + grace;
        loop {
            let ended = self.inner.run_ended.notified();
            let mut ended = std::pin::pin!(ended);
            ended.as_mut().enable();
            if self.inner.cancels.is_empty() {
                return true;
            }
            if tokio::time::timeout_at(deadline, ended).await.is_err() {
                let stopped = self.inner.cancels.is_empty();
                if !stopped {
                    tracing::warn!(runs = ?self.running(), "runs were still stopping when the shutdown grace ran out");
                }
                return stopped;
            }
        }
    }

    /// Loads an existing Scalene JSON file into the cache (a regular file of at most `max_bytes`, read on
    /// the blocking pool: never a stall of the async runtime). Files it names that do not exist here (a
    /// profile from CI or another machine) are rebased onto `roots` (see `keep::loading::rebase_profile`).
    pub async fn load_json(&self, path: &Path, roots: &[PathBuf], max_bytes: u64) -> RunResult {
        let (path, roots) = (path.to_path_buf(), roots.to_vec());
        let loaded = tokio::task::spawn_blocking(move || {
            let (key, mut profile) = load_json_file(&path, max_bytes)?;
            keep::loading::rebase_profile(&mut profile, &roots);
            Ok::<_, EngineError>((key, profile))
        })
        .await
        .map_err(|err| EngineError::Internal { message: format!("loading a profile failed: {err}") })??;
        Ok(self.inner.cache.insert(loaded.0, loaded.1))
    }
}
