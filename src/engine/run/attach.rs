//! Attaching to a Python process that scalene-lsp did not start: py-spy (as a library) reads its
//! threads' stacks at a fixed rate in a blocking task, and `profile::sampled` turns the counts into the
//! same model as a Scalene profile, labelled as py-spy's (`Profile::attached`). The checks before
//! attaching and the process list are in `attach/procs.rs`.
//!
//! Architecture Invariant: the target is never left stopped. py-spy reads the target's memory without
//! stopping it (`LockingStrategy::NonBlocking`: no ptrace stop at all), so there is nothing to undo
//! on any path: stopping, a timeout, the target exiting, or scalene-lsp being killed. Stopping drops
//! py-spy's sampler, which joins its thread.

pub mod procs;

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::engine::error::EngineError;
use crate::engine::profile::model::{Profile, RunStatus};
use crate::engine::profile::sampled::{SampleTally, SampledFrame, SamplingInfo, ThreadOf};

/// The default sampling rate, per second (py-spy's own default).
pub const DEFAULT_RATE_HZ: u32 = 100;
/// The highest rate accepted: past it a sample costs the target more than it tells.
pub const MAX_RATE_HZ: u32 = 1000;
/// The longest attach with a duration: a day.
pub const MAX_DURATION_S: f64 = 86_400.0;
/// The largest source file read for a profile's line texts.
const MAX_SOURCE_BYTES: u64 = 10 << 20;

/// One attach: to which process, for how long, how often.
#[derive(Clone, Debug)]
pub struct AttachRequest {
    pub pid: u32,
    /// Stop after this long (None: until stopped).
    pub duration: Option<Duration>,
    pub rate_hz: u32,
    /// Count idle threads' stacks too.
    pub idle: bool,
    /// Read native frames (needs py-spy's `unwind` feature, not in this build: refused).
    pub native: bool,
    /// Sample the process's Python subprocesses too.
    pub subprocesses: bool,
    /// Call `on_snapshot` with the profile so far at this interval.
    pub live: Option<Duration>,
    /// Count only the threads this names (name, native id or Python id; see `ThreadOf::matches`).
    pub thread: Option<String>,
}

/// How often the sampler checks that the target still runs the program it attached to (exec).
const EXEC_CHECK: Duration = Duration::from_millis(250);

impl AttachRequest {
    /// An attach to `pid` with the defaults every front end starts from: 100 Hz, running threads, Python
    /// frames, no subprocesses, until stopped, no snapshots, every thread.
    pub fn new(pid: u32) -> AttachRequest {
        AttachRequest { pid, duration: None, rate_hz: DEFAULT_RATE_HZ, idle: false, native: false, subprocesses: false, live: None, thread: None }
    }

    /// The checks of the request's own values (the target's come when attaching).
    pub fn validate(&self) -> Result<(), String> {
        if !(1..=MAX_RATE_HZ).contains(&self.rate_hz) {
            return Err(format!("--rate must be between 1 and {MAX_RATE_HZ} samples per second, got {}", self.rate_hz));
        }
        if let Some(duration) = self.duration
            && (duration.is_zero() || duration.as_secs_f64() > MAX_DURATION_S)
        {
            return Err(format!("--duration must be more than 0 and at most {MAX_DURATION_S} seconds (a day), got {}", duration.as_secs_f64()));
        }
        if self.thread.as_deref().is_some_and(|thread| thread.trim().is_empty()) {
            return Err("--thread needs a thread's name or id (`top -H -p PID` lists the ids), got an empty one".to_string());
        }
        Ok(())
    }
}

/// Attaches to `request.pid`, samples until `stop` is set, the duration is over or the process exits,
/// and returns the profile (status `ok`; a note says when the process exited first). `on_snapshot` gets
/// a `running` profile at each `live` interval. Blocking: run it with `spawn_blocking`.
pub fn attach_blocking(request: &AttachRequest, stop: &AtomicBool, mut on_snapshot: impl FnMut(Profile)) -> Result<Profile, EngineError> {
    let pid = request.pid;
    if let Err(problem) = request.validate() {
        return Err(EngineError::AttachFailed { pid, problem, fix: "pass a value in range".into() });
    }
    if request.native {
        return Err(EngineError::AttachFailed {
            pid,
            problem: "attaching reads Python frames only: py-spy's native unwinding is not built in, and it would pause the process at every sample".into(),
            fix: "drop --native (a native call's time shows on the Python line that made it); for the Python/native split of each line, run the program under `scalene-lsp profile`".into(),
        });
    }
    let target = procs::check_target(pid)?;
    let program = procs::program_of(&target.arguments, target.cwd.as_deref());
    let mut config = py_spy::Config { sampling_rate: u64::from(request.rate_hz), blocking: py_spy::config::LockingStrategy::NonBlocking, ..py_spy::Config::default() };
    config.subprocesses = request.subprocesses;
    config.include_idle = true;
    let started = Instant::now();
    let span = tracing::info_span!("attach", pid, rate_hz = request.rate_hz);
    let _entered = span.enter();
    let identity = procs::exec_identity(pid);
    let mut sampler = py_spy::sampler::Sampler::new(pid as py_spy::Pid, &config).map_err(|err| procs::explain_spy_error(pid, &format!("{err:#}")))?;
    tracing::info!(attach_ms = started.elapsed().as_millis() as u64, "attached");
    let info = SamplingInfo {
        pid,
        command_line: target.command_line.clone(),
        python_version: sampler.version.as_ref().map(ToString::to_string),
        rate_hz: f64::from(request.rate_hz),
        idle: request.idle,
        native: request.native,
        subprocesses: request.subprocesses,
        thread: request.thread.clone(),
    };
    let sampling_started = Instant::now();
    let mut tally = SampleTally::only_thread(request.thread.clone());
    let mut sources: HashMap<Arc<str>, Arc<str>> = HashMap::new();
    let mut next_snapshot = request.live.map(|interval| sampling_started + interval);
    let mut exited = true;
    let mut replaced: Option<f64> = None;
    let mut next_exec_check = sampling_started + EXEC_CHECK;
    let mut names: HashMap<(String, String), (Arc<str>, Arc<str>)> = HashMap::new();
    // py-spy's timer draws Poisson intervals, but when its thread falls behind (the machine is busy) it
    // catches up with samples taken back to back, which all see the same stack: such a burst would
    // weigh one moment many times. A late sample (py-spy did not sleep before it) closer than half an
    // interval to the last one counted is skipped (and counted in `skipped`); samples on time are all
    // kept (Poisson intervals are often short, and that is fine).
    let min_spacing = 0.5 / f64::from(request.rate_hz);
    let mut last_counted = f64::NEG_INFINITY;
    for sample in &mut sampler {
        let t_s = sampling_started.elapsed().as_secs_f64();
        // A process that exec'd runs another program under the same pid: py-spy's addresses are stale
        // (every read fails, or worse). Checked on a failed read and a few times a second.
        let failed_read = sample.sampling_errors.as_ref().is_some_and(|errors| !errors.is_empty());
        if (failed_read || Instant::now() >= next_exec_check)
            && let Some(before) = &identity
        {
            next_exec_check = Instant::now() + EXEC_CHECK;
            if procs::exec_identity(pid).is_some_and(|now| &now != before) {
                replaced = Some(t_s);
                exited = false;
                break;
            }
        }
        if sample.late.is_some() && t_s - last_counted < min_spacing {
            tally.skip();
            if stop.load(Ordering::Relaxed) || request.duration.is_some_and(|duration| sampling_started.elapsed() >= duration) {
                exited = false;
                break;
            }
            continue;
        }
        last_counted = t_s;
        tally.tick(failed_read);
        for trace in sample.traces {
            if !request.idle && !trace.active {
                continue;
            }
            let frames = trace
                .frames
                .iter()
                .rev()
                .map(|frame| {
                    let key = (frame.name.clone(), frame.filename.clone());
                    let (name, file) = names
                        .entry(key)
                        .or_insert_with(|| (Arc::from(frame.name.as_str()), Arc::from(absolute(&frame.filename, target.cwd.as_deref()).as_str())))
                        .clone();
                    SampledFrame { name, file, line: frame.line.max(0) as u32, native: frame.module.is_some() }
                })
                .collect();
            let thread = ThreadOf { pid: trace.pid as u32, id: trace.thread_id, native_id: trace.os_thread_id, name: trace.thread_name.as_deref() };
            tally.add(t_s, thread, frames);
        }
        if let (Some(at), Some(interval)) = (next_snapshot, request.live)
            && Instant::now() >= at
        {
            read_sources(&tally, &mut sources);
            on_snapshot(tally.profile(&info, RunStatus::Running, program.clone(), sampling_started.elapsed().as_secs_f64(), &sources));
            next_snapshot = Some(Instant::now() + interval);
        }
        if stop.load(Ordering::Relaxed) || request.duration.is_some_and(|duration| sampling_started.elapsed() >= duration) {
            exited = false;
            break;
        }
    }
    let elapsed_s = sampling_started.elapsed().as_secs_f64();
    // Detaches: py-spy's thread ends and drops its handle on the process.
    drop(sampler);
    tracing::info!(samples = tally.samples(), ticks = tally.ticks(), elapsed_s, exited, "detached");
    read_sources(&tally, &mut sources);
    let mut profile = tally.profile(&info, RunStatus::Ok, program, elapsed_s, &sources);
    if let Some(at_s) = replaced {
        let now = procs::command_line(pid);
        profile.notes.push(format!(
            "The process replaced its program (exec) after {at_s:.1} s of sampling and now runs `{now}`: the samples up to then are kept. Fix: attach again to sample the new program, if it is Python (`scalene-lsp ps`)."
        ));
    }
    if exited {
        profile.notes.push(format!("The process exited after {elapsed_s:.1} s of sampling: the samples up to then are kept."));
    }
    Ok(profile)
}

/// A frame's file made absolute against the target's working directory (`<frozen ...>` and such kept).
fn absolute(file: &str, cwd: Option<&Path>) -> String {
    match cwd {
        Some(cwd) if !file.starts_with('<') && Path::new(file).is_relative() => cwd.join(file).display().to_string(),
        _ => file.to_string(),
    }
}

/// Reads the text of the stacks' files not read yet (an unreadable or huge file keeps an empty text).
fn read_sources(tally: &SampleTally, sources: &mut HashMap<Arc<str>, Arc<str>>) {
    for file in tally.files() {
        if sources.contains_key(&file) {
            continue;
        }
        let small = std::fs::metadata(&*file).is_ok_and(|meta| meta.is_file() && meta.len() <= MAX_SOURCE_BYTES);
        let text = if small { std::fs::read_to_string(&*file).unwrap_or_default() } else { String::new() };
        sources.insert(file, Arc::from(text));
    }
}
