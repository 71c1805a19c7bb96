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
//! until two profiles written `PAUSE_GAP` apart are identical (nothing was sampled in between), at
//! most `PAUSE_ATTEMPTS` times.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use super::procfs;

/// How long a pause or resume waits for Scalene to start the program (its handlers installed).
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

/// Shared by the engine (pause, resume, what the front ends show) and the runner (which attaches the
/// process group while it runs).
#[derive(Debug, Default)]
pub struct RunControl {
    state: Mutex<ControlState>,
    recording: AtomicBool,
    watch_snapshots: AtomicBool,
    /// Woken when recording is switched (the snapshot watcher looks again).
    pub(super) changed: tokio::sync::Notify,
}

#[derive(Debug, Default)]
struct ControlState {
    group: Option<Attached>,
    ended: bool,
}

#[derive(Clone, Debug)]
struct Attached {
    pgid: i32,
    run_dir: PathBuf,
    lifecycle: Option<Lifecycle>,
}

/// Why recording could not be switched.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RecordingProblem {
    /// The run has ended.
    Ended,
    /// Scalene has not started the program yet (or its handlers are not installed yet).
    NotStarted,
    /// This Scalene did not tell the preflight its signals.
    Unsupported,
}

/// The outcome of a switch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Switched {
    /// The process that got the signal (None when recording already was in the wanted state).
    pub pid: Option<i32>,
}

impl RunControl {
    /// A control for a run that starts recording (`recording`) and whose snapshots are watched from
    /// the start (`watch_snapshots`: live or paused runs).
    pub fn new(recording: bool, watch_snapshots: bool) -> RunControl {
        RunControl {
            recording: AtomicBool::new(recording),
            watch_snapshots: AtomicBool::new(watch_snapshots),
            ..RunControl::default()
        }
    }

    /// True while Scalene records (false while paused).
    pub fn recording(&self) -> bool {
        self.recording.load(Ordering::Relaxed)
    }

    pub(super) fn watches_snapshots(&self) -> bool {
        self.watch_snapshots.load(Ordering::Relaxed)
    }

    pub(super) fn attach(&self, pgid: i32, run_dir: PathBuf, lifecycle: Option<Lifecycle>) {
        self.lock().group = Some(Attached { pgid, run_dir, lifecycle });
    }

    /// The group is stopping: no signal may reach it (its pgid may soon be reused).
    pub(super) fn detach(&self) {
        let mut state = self.lock();
        state.group = None;
        state.ended = true;
    }

    /// Marks a run that ended before its group was attached (an error before spawning).
    pub fn end(&self) {
        self.lock().ended = true;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ControlState> {
        self.state.lock().unwrap_or_else(|poison| poison.into_inner())
    }

    /// Switches recording on or off, waiting up to `PROGRAM_WAIT` for Scalene to start the program.
    pub async fn set_recording(&self, on: bool) -> Result<Switched, RecordingProblem> {
        let deadline = tokio::time::Instant::now() + PROGRAM_WAIT;
        loop {
            let attached = {
                let state = self.lock();
                if state.ended {
                    return Err(RecordingProblem::Ended);
                }
                state.group.clone()
            };
            if let Some(attached) = attached {
                let Some(lifecycle) = &attached.lifecycle else { return Err(RecordingProblem::Unsupported) };
                if self.recording() == on {
                    return Ok(Switched { pid: None });
                }
                let signal = if on { lifecycle.start_signal } else { lifecycle.stop_signal };
                let output = attached.run_dir.join("profile.json");
                let before = super::snapshots::stamp(&output);
                if let Some(pid) = find_program_process(attached.pgid, &attached.run_dir, lifecycle, signal)
                    && let Ok(signal) = Signal::try_from(signal)
                    && kill(Pid::from_raw(pid), signal).is_ok()
                {
                    if !on {
                        self.confirm_pause(pid, signal, &output, before).await;
                    }
                    self.recording.store(on, Ordering::Relaxed);
                    self.watch_snapshots.store(true, Ordering::Relaxed);
                    self.changed.notify_waiters();
                    tracing::info!(pid, on, "switched recording");
                    return Ok(Switched { pid: Some(pid) });
                }
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(RecordingProblem::NotStarted);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl RunControl {
    /// Pauses again until two profiles written `PAUSE_GAP` apart are the same (see the module's doc).
    async fn confirm_pause(&self, pid: i32, signal: Signal, output: &std::path::Path, before: Option<super::snapshots::Stamp>) {
        let mut stamp = before;
        let mut previous: Option<Vec<u8>> = None;
        for attempt in 0..PAUSE_ATTEMPTS {
            if attempt > 0 {
                tokio::time::sleep(PAUSE_GAP).await;
                if self.lock().group.is_none() || kill(Pid::from_raw(pid), signal).is_err() {
                    return;
                }
            }
            let Some(written) = wait_written(output, stamp).await else { return };
            stamp = Some(written);
            let Ok(bytes) = tokio::fs::read(output).await else { return };
            if previous.as_ref() == Some(&bytes) {
                tracing::debug!(attempts = attempt + 1, "the pause holds");
                return;
            }
            previous = Some(bytes);
        }
        tracing::info!("Scalene's profile still changed after {PAUSE_ATTEMPTS} pauses (memory profiling keeps adjusting its numbers, or sampling went on)");
    }
}

/// How many pauses at most, and how far apart (a CPU sample comes every 10 ms: several in a gap).
const PAUSE_ATTEMPTS: usize = 5;
const PAUSE_GAP: Duration = Duration::from_millis(100);

/// Waits (up to `PAUSE_WRITE_WAIT`) until `output` differs from `before`; returns its new stamp.
async fn wait_written(output: &std::path::Path, before: Option<super::snapshots::Stamp>) -> Option<super::snapshots::Stamp> {
    let deadline = tokio::time::Instant::now() + PAUSE_WRITE_WAIT;
    loop {
        let now = super::snapshots::stamp(output);
        if now.is_some() && now != before {
            // Let the write finish (Scalene closes the file right after its single write).
            tokio::time::sleep(Duration::from_millis(20)).await;
            return super::snapshots::stamp(output);
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
