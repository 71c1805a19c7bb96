//! `Engine::start_attach`: py-spy attached to a running process, run like a profile run (an id, live
//! snapshots in the cache, cancel detaches, the same end as `start`).

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use futures::FutureExt;
use tokio_util::sync::CancellationToken;

use super::error::EngineError;
use super::keep::cache::{ProfileKey, ProfileOrigin};
use super::profile::model::RunStatus;
use super::run::attach::AttachRequest;
use super::run::handle::{RunHandle, RunId, RunResult};
use super::{Engine, InFlight, run, runs};

impl Engine {
    /// Attaches py-spy to a running Python process (`AttachRequest`) and returns at once, like `start`:
    /// the attach is a run with an id, its live snapshots (at `request.live`) and final profile go into
    /// the cache (origin `Attached`, one entry per attach), and `cancel` detaches (the profile so far is
    /// the result, status `ok`). Attaching twice to the same process at once is refused.
    pub fn start_attach(&self, request: AttachRequest) -> Result<RunHandle, EngineError> {
        let pid = request.pid;
        request.validate().map_err(|problem| EngineError::AttachFailed { pid, problem, fix: "pass a value in range".into() })?;
        let started = run::runner::procfs::stat(pid as i32).map_or(0, |stat| stat.start_time);
        let key = ProfileKey {
            origin: ProfileOrigin::Attached,
            path: PathBuf::from(format!("/proc/{pid}")),
            content_hash: started.to_string(),
            options: String::new(),
        };
        let (sender, receiver) = tokio::sync::oneshot::channel::<RunResult>();
        let result = async move {
            receiver.await.unwrap_or_else(|_| Err(EngineError::Internal { message: "the attach ended without a result".into() }))
        }
        .boxed()
        .shared();
        let run_id = match self.inner.in_flight.entry(key.clone()) {
            dashmap::Entry::Occupied(existing) => {
                return Err(EngineError::AttachFailed {
                    pid,
                    problem: format!("scalene-lsp is already attached to it ({})", existing.get().run_id),
                    fix: format!("wait for that attach to end, or detach it first (cancel {})", existing.get().run_id),
                });
            }
            dashmap::Entry::Vacant(slot) => {
                let run_id = RunId(self.inner.next_run.fetch_add(1, Ordering::Relaxed));
                slot.insert(InFlight { run_id, result: result.clone() });
                run_id
            }
        };
        let cancel = CancellationToken::new();
        self.inner.cancels.insert(run_id, cancel.clone());
        let label = format!("pid {pid} ({})", run::attach::procs::command_line(pid));
        let state = Arc::new(runs::RunState::new(run_id, label, request.live, false));
        self.inner.runs.insert(run_id, state.clone());
        let engine = self.clone();
        tokio::spawn(async move {
            let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
            let sampling = tokio::task::spawn_blocking({
                let (engine, key, state, stop) = (engine.clone(), key.clone(), state.clone(), stop.clone());
                move || {
                    run::attach::attach_blocking(&request, &stop, |profile| {
                        state.keep(&engine.inner.cache, key.clone(), profile);
                    })
                }
            });
            let mut sampling = std::pin::pin!(sampling);
            let joined = tokio::select! {
                joined = &mut sampling => joined,
                () = cancel.cancelled() => {
                    stop.store(true, Ordering::Relaxed);
                    sampling.await
                }
            };
            let outcome = match joined {
                Ok(Ok(profile)) => Ok(state.keep(&engine.inner.cache, key.clone(), profile)),
                Ok(Err(err)) => Err(err),
                Err(join) => Err(EngineError::Internal { message: format!("the attach panicked: {join}") }),
            };
            if outcome.is_err()
                && let Some(snapshot) = engine.inner.cache.get_by_key(&key)
                && snapshot.profile.status == RunStatus::Running
            {
                engine.inner.cache.remove(snapshot.id);
            }
            engine.end_run(run_id, &key, &state, outcome, sender);
        });
        Ok(RunHandle { run_id, joined: false, result, series: None })
    }

}
