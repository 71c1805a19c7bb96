//! Recording on and off in a running run, from outside: Scalene's `--off` starts a program with
//! recording paused, and the signals of `python -m scalene.profile --on|--off --pid PID` switch it.
//! They must reach the process that runs the program, which is not Scalene's first process when
//! Scalene re-launched itself: `find_program_process` picks, among the run's processes, the topmost one
//! whose environment already satisfies Scalene (the re-launched child, or with the start-up shortcut
//! the first process), and only once it has installed its handler for the signal (SIGILL and SIGBUS
//! would otherwise kill it). The signal is sent directly, so no helper process is started (and none
//! can be left behind).
//!
//! A pause is repeated until it holds. Scalene 2.4's pause disables its CPU timer, but a CPU sample
//! whose signal is already pending can run after it and re-arm the timer (`cpu_signal_handler` ends
//! with `restart_timer`): sampling then goes on while the profile's clock stands still. Measured with
//! a program switching phases: one pause let the next phase into the profile in 2 of 3 tries on a
//! quiet machine; under load (3 busy processes on 2 cores) two pauses still did in 3 of 6, five in
//! none of 4. So after each pause, once Scalene has written its profile, the pause is sent again,
//! until two profiles written `PAUSE_GAP` apart are identical (nothing was sampled in between) while
//! the program itself ran for `PAUSE_PROOF_TICKS` of CPU time in between (on a busy machine a gap can
//! pass without the program running at all, so an unchanged profile proved nothing: the pending sample
//! then came later and phase c of a test program was recorded after a "confirmed" pause), at most
//! `PAUSE_ATTEMPTS` times.
//!
//! So a switch takes from a few milliseconds (a resume) to seconds (a pause that must be confirmed),
//! while pause and resume may be asked for as fast as anyone likes. The state asked for (`wanted`, with
//! a number per change of mind) is therefore kept apart from the state confirmed (`recording`): asking
//! only records the wish and returns at once, and one task per run (`apply`, started when a wish is
//! pending and ending when none is) brings Scalene to the newest wish, abandoning a pause confirmation
//! as soon as the wish turns to recording again. Every change is published on a `watch` channel
//! (`RecordingStatus`), which front ends follow to report the outcome. A wish made before Scalene
//! started is applied at the start (`--off` or not), without a signal.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tokio::sync::{Notify, watch};

use super::procfs;
use super::stamp::{Stamp, stamp};

/// How long, after Scalene was started, a switch waits for it to start the program (its handlers
/// installed) before it gives up and reports `RecordingProblem::NotStarted`.
pub const PROGRAM_WAIT: Duration = Duration::from_secs(10);

/// What a run needs to switch recording: Scalene's signals and its preload environment (from the
/// preflight's `ScaleneStartup`).
#[derive(Clone, Debug, PartialEq)]
pub struct Lifecycle {
    pub start_signal: i32,
    pub stop_signal: i32,
    pub preload: Vec<(String, String)>,
    pub memory: bool,
}

/// Shared by the engine (pause, resume, what the front ends show), the run's applier task and the
/// runner (which attaches the process group while it runs).
#[derive(Debug)]
pub struct RunControl {
    state: Mutex<ControlState>,
    status: watch::Sender<RecordingStatus>,
    watch_snapshots: AtomicBool,
    /// Woken when recording is switched (the snapshot watcher looks again).
    pub(super) changed: Notify,
    /// Wakes the applier: a new wish, the group attached, the run ended.
    wake: Notify,
}

#[derive(Debug, Default)]
struct ControlState {
    group: Option<Attached>,
    ended: bool,
    /// An applier task is running (at most one per run).
    applying: bool,
}

#[derive(Clone, Debug)]
struct Attached {
    pgid: i32,
    run_dir: PathBuf,
    lifecycle: Option<Lifecycle>,
    since: tokio::time::Instant,
}

/// Why recording could not be switched.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordingProblem {
    /// The run has ended.
    Ended,
    /// Scalene has not started the program (or its handlers are not installed) `PROGRAM_WAIT` after it
    /// was started.
    NotStarted,
    /// This Scalene did not tell the preflight its signals.
    Unsupported,
}

/// A run's recording as asked for and as confirmed, published on every change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordingStatus {
    /// The state asked for last.
    pub wanted: bool,
    /// The state Scalene is in, as far as confirmed: a resume once its signal was delivered (or the
    /// program started recording), a pause once it holds.
    pub recording: bool,
    /// How many times the wish changed (the number of the newest wish).
    pub wish: u64,
    /// The newest wish the applier is done with: in place, or failed (`problem`).
    pub settled: u64,
    /// The last wish that failed (its number and why); the wish then falls back to `recording`.
    pub problem: Option<(u64, RecordingProblem)>,
    /// The run has ended: nothing changes any more.
    pub ended: bool,
}

impl RecordingStatus {
    /// A wish is on its way (asked for, not confirmed yet).
    pub fn pending(&self) -> bool {
        self.settled < self.wish
    }
}

/// What asking for a state did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Wish {
    /// The wish's number (`RecordingStatus::wish`): it is done with once `settled` reaches it.
    pub number: u64,
    /// False when that state already was the one asked for.
    pub changed: bool,
    pub status: RecordingStatus,
}

impl RunControl {
    /// A control for a run that starts recording (`recording`) and whose snapshots are watched from
    /// the start (`watch_snapshots`: live or paused runs).
    pub fn new(recording: bool, watch_snapshots: bool) -> RunControl {
        let status = RecordingStatus { wanted: recording, recording, wish: 0, settled: 0, problem: None, ended: false };
        RunControl {
            state: Mutex::new(ControlState::default()),
            status: watch::Sender::new(status),
            watch_snapshots: AtomicBool::new(watch_snapshots),
            changed: Notify::new(),
            wake: Notify::new(),
        }
    }

    /// True while Scalene records (false while paused), as confirmed.
    pub fn recording(&self) -> bool {
        self.status.borrow().recording
    }

    /// The state asked for last (what Scalene should start in when it has not started yet).
    pub fn wanted(&self) -> bool {
        self.status.borrow().wanted
    }

    /// The recording state now.
    pub fn status(&self) -> RecordingStatus {
        *self.status.borrow()
    }

    /// Follows the recording state (each change is published).
    pub fn subscribe(&self) -> watch::Receiver<RecordingStatus> {
        self.status.subscribe()
    }

    pub(super) fn watches_snapshots(&self) -> bool {
        self.watch_snapshots.load(Ordering::Relaxed)
    }

    /// The group runs, started recording (`recording`) or with recording off (`--off`).
    pub(super) fn attach(&self, pgid: i32, run_dir: PathBuf, lifecycle: Option<Lifecycle>, recording: bool) {
        self.lock().group = Some(Attached { pgid, run_dir, lifecycle, since: tokio::time::Instant::now() });
        if !recording {
            self.watch_snapshots.store(true, Ordering::Relaxed);
        }
        self.status.send_modify(|status| {
            status.recording = recording;
            if status.wanted == recording {
                status.settled = status.wish;
            }
        });
        self.changed.notify_waiters();
        self.wake.notify_one();
    }

    /// The group is stopping: no signal may reach it (its pgid may soon be reused).
    pub(super) fn detach(&self) {
        {
            let mut state = self.lock();
            state.group = None;
            state.ended = true;
        }
        self.publish_end();
    }

    /// Marks a run that ended (also one that ended before its group was attached).
    pub fn end(&self) {
        self.lock().ended = true;
        self.publish_end();
    }

    fn publish_end(&self) {
        self.status.send_if_modified(|status| {
            if status.ended {
                return false;
            }
            status.ended = true;
            if status.pending() {
                status.problem = Some((status.wish, RecordingProblem::Ended));
                status.settled = status.wish;
                status.wanted = status.recording;
            }
            true
        });
        self.wake.notify_one();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ControlState> {
        self.state.lock().unwrap_or_else(|poison| poison.into_inner())
    }

    /// Asks for recording on or off and returns at once: the run's applier task (started here when
    /// none runs) switches Scalene, and `subscribe` / `status` tell when it is done. Fails at once only
    /// when the run has ended or this Scalene cannot be switched.
    pub fn request(self: &Arc<Self>, on: bool) -> Result<Wish, RecordingProblem> {
        {
            let state = self.lock();
            if state.ended {
                return Err(RecordingProblem::Ended);
            }
            if state.group.as_ref().is_some_and(|attached| attached.lifecycle.is_none()) {
                return Err(RecordingProblem::Unsupported);
            }
        }
        let mut changed = false;
        self.status.send_if_modified(|status| {
            if status.wanted == on {
                return false;
            }
            status.wanted = on;
            status.wish += 1;
            changed = true;
            true
        });
        let status = self.status();
        if changed {
            let mut state = self.lock();
            if !state.applying {
                state.applying = true;
                tokio::spawn(self.clone().apply());
            }
        }
        self.wake.notify_one();
        Ok(Wish { number: status.wish, changed, status })
    }

    /// Settles the newest wish: Scalene is in state `recording` (published either way).
    fn confirm(&self, recording: bool) {
        self.status.send_modify(|status| {
            status.recording = recording;
            if status.wanted == recording {
                status.settled = status.wish;
            }
        });
        self.watch_snapshots.store(true, Ordering::Relaxed);
        self.changed.notify_waiters();
    }

    /// The newest wish cannot be fulfilled: it falls back to the confirmed state.
    fn fail(&self, problem: RecordingProblem) {
        self.status.send_modify(|status| {
            status.problem = Some((status.wish, problem));
            status.settled = status.wish;
            status.wanted = status.recording;
        });
    }

    /// The applier: brings Scalene to the newest wish until none is pending, then ends (the next
    /// wish starts another). Only this task sends signals, so two switches never cross.
    async fn apply(self: Arc<Self>) {
        loop {
            let wake = self.wake.notified();
            let status = self.status();
            let attached = {
                let mut state = self.lock();
                if !status.pending() || status.ended {
                    // `request` raises the wish before it looks at `applying`: none is lost.
                    if !self.status().pending() || state.ended {
                        state.applying = false;
                        return;
                    }
                    continue;
                }
                state.group.clone()
            };
            if status.wanted == status.recording {
                // Changed back before anything was sent.
                self.confirm(status.recording);
                continue;
            }
            let Some(attached) = attached else {
                // Not started yet: the runner starts Scalene in the state wanted then (see `attach`).
                wake.await;
                continue;
            };
            let Some(lifecycle) = attached.lifecycle.clone() else {
                self.fail(RecordingProblem::Unsupported);
                continue;
            };
            let on = status.wanted;
            let signal = if on { lifecycle.start_signal } else { lifecycle.stop_signal };
            let output = attached.run_dir.join(super::PROFILE_FILE);
            let before = stamp(&output);
            let sent = find_program_process(attached.pgid, &attached.run_dir, &lifecycle, signal).and_then(|pid| {
                let signal = Signal::try_from(signal).ok()?;
                kill(Pid::from_raw(pid), signal).is_ok().then_some((pid, signal))
            });
            let Some((pid, signal)) = sent else {
                if attached.since.elapsed() >= PROGRAM_WAIT {
                    self.fail(RecordingProblem::NotStarted);
                } else {
                    // Scalene has not started the program yet: look again soon (or at a new wish).
                    let _ = tokio::time::timeout(Duration::from_millis(50), wake).await;
                }
                continue;
            };
            tracing::info!(pid, on, "switched recording");
            if !on {
                self.confirm_pause(pid, signal, &output, before).await;
            }
            self.confirm(on);
        }
    }

    /// The newest wish is still a pause.
    fn pause_wanted(&self) -> bool {
        let status = self.status();
        !status.wanted && !status.ended
    }

    /// Pauses again until two profiles written `PAUSE_GAP` apart are the same (see the module's doc);
    /// gives up as soon as recording is wanted again (the applier then resumes).
    async fn confirm_pause(&self, pid: i32, signal: Signal, output: &std::path::Path, before: Option<Stamp>) {
        let mut stamp = before;
        let mut previous: Option<(Vec<u8>, Option<u64>)> = None;
        for attempt in 0..PAUSE_ATTEMPTS {
            if attempt > 0 {
                tokio::time::sleep(PAUSE_GAP).await;
                if !self.pause_wanted() || self.lock().group.is_none() || kill(Pid::from_raw(pid), signal).is_err() {
                    return;
                }
            }
            let Some(written) = wait_written(output, stamp, || self.pause_wanted()).await else { return };
            stamp = Some(written);
            let Ok(bytes) = tokio::fs::read(output).await else { return };
            let ticks = super::procfs::stat(pid).map(|stat| stat.cpu_ticks);
            if let Some((previous_bytes, previous_ticks)) = &previous
                && *previous_bytes == bytes
            {
                // A program that does not run (asleep, or waiting for a core) cannot prove the pause;
                // one that cannot be looked at (no /proc) is taken at its word.
                let ran = match (previous_ticks, ticks) {
                    (Some(before), Some(now)) => now.saturating_sub(*before) >= PAUSE_PROOF_TICKS,
                    _ => true,
                };
                if ran {
                    tracing::debug!(attempts = attempt + 1, "the pause holds");
                    return;
                }
                // Keep the older tick count: the proof is the CPU time since that identical profile.
                continue;
            }
            previous = Some((bytes, ticks));
        }
        tracing::info!("Scalene's profile still changed after {PAUSE_ATTEMPTS} pauses (memory profiling keeps adjusting its numbers, or sampling went on)");
    }
}

/// How many pauses at most, and how far apart (a CPU sample comes every 10 ms: several in a gap).
const PAUSE_ATTEMPTS: usize = 20;
const PAUSE_GAP: Duration = Duration::from_millis(100);
/// CPU time the program must run between two identical profiles for the pause to count as holding:
/// 5 ticks of 10 ms, a few of Scalene's samples.
const PAUSE_PROOF_TICKS: u64 = 5;

/// Waits (up to `PAUSE_WRITE_WAIT`, and while `go_on`) until `output` differs from `before`; returns
/// its new stamp.
async fn wait_written(output: &std::path::Path, before: Option<Stamp>, go_on: impl Fn() -> bool) -> Option<Stamp> {
    let deadline = tokio::time::Instant::now() + PAUSE_WRITE_WAIT;
    loop {
        if !go_on() {
            return None;
        }
        let now = stamp(output);
        if now.is_some() && now != before {
            // Let the write finish (Scalene closes the file right after its single write).
            tokio::time::sleep(Duration::from_millis(20)).await;
            return stamp(output);
        }
        if tokio::time::Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// How long a pause waits for Scalene to write the profile it writes when paused.
const PAUSE_WRITE_WAIT: Duration = Duration::from_secs(5);

/// The process of group `pgid` (only those carrying the run's TMPDIR count) that runs the program:
/// the topmost one whose environment satisfies Scalene (a process forked by the program satisfies it
/// too, but its parent does as well), once it catches `signal`.
fn find_program_process(pgid: i32, run_dir: &std::path::Path, lifecycle: &Lifecycle, signal: i32) -> Option<i32> {
    let members = procfs::live_members(pgid)?;
    let candidates: Vec<(i32, procfs::ProcStat)> = members
        .into_iter()
        .filter(|pid| procfs::has_env(*pid, "TMPDIR", run_dir))
        .filter(|pid| procfs::environ(*pid).is_some_and(|env| satisfies(&env, &lifecycle.preload, lifecycle.memory)))
        .filter_map(|pid| Some((pid, procfs::stat(pid)?)))
        .collect();
    let pids: HashSet<i32> = candidates.iter().map(|(pid, _)| *pid).collect();
    let (pid, _) = candidates
        .iter()
        .filter(|(_, stat)| !pids.contains(&stat.ppid))
        .min_by_key(|(pid, stat)| (stat.start_time, *pid))?;
    procfs::catches_signal(*pid, signal).then_some(*pid)
}

/// Scalene's test (`ScalenePreload.setup_preload`, 2.x): a Scalene process re-launches itself unless
/// its environment already has every pair of its preload environment, where `LD_LIBRARY_PATH` counts
/// as present when it contains the directory and `LD_PRELOAD` when `libscalene.so` is one of its
/// entries; with memory profiling, a `PYTHONMALLOC` other than `default` also makes it re-launch.
pub fn satisfies(env: &[(String, String)], preload: &[(String, String)], memory: bool) -> bool {
    let get = |key: &str| env.iter().rev().find(|(name, _)| name == key).map(|(_, value)| value.as_str());
    let wanted = preload.iter().all(|(key, value)| match (key.as_str(), get(key)) {
        (_, None) => false,
        ("LD_LIBRARY_PATH", Some(have)) => have.contains(value.as_str()),
        ("LD_PRELOAD", Some(have)) => have.split(':').any(|entry| entry == value),
        (_, Some(have)) => have == value,
    });
    wanted && !(memory && get("PYTHONMALLOC").is_some_and(|value| value != "default"))
}
