//! Live snapshots: with `--profile-interval S` (and whenever recording is paused) Scalene rewrites its
//! JSON in place while the program runs (`open(path, "w")`, one write, close). The watcher wakes on
//! inotify's close-after-write for the run dir (with a slow poll as a backstop, or a fast one when
//! inotify is unavailable), and takes a snapshot only when it is complete: the file did not change while
//! it was read (size, mtime and inode the same before and after) and it parses as a whole Scalene JSON
//! (a half-written file is never valid JSON: the top-level object closes with the file's last byte).
//! Anything else is skipped silently and looked at again at the next change. An empty profile (`{}`,
//! nothing sampled yet) is skipped too.

use std::os::fd::{AsFd, AsRawFd, RawFd};
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify};
use tokio::io::unix::AsyncFd;

use super::control::RunControl;
use super::stamp::{Stamp, stamp};
use super::RunSpec;
use crate::engine::profile::model::{Profile, RunStatus};
use crate::engine::profile::parse::parse_profile;

/// The poll that catches what inotify missed.
const BACKSTOP: Duration = Duration::from_millis(500);
/// The poll when inotify is unavailable.
const POLL: Duration = Duration::from_millis(100);

/// The last complete snapshot's bytes: the runner falls back on them when the final JSON is missing
/// or unreadable (a run killed while writing).
pub(super) type LastSnapshot = Mutex<Option<Vec<u8>>>;

struct InotifyFd(Inotify);

impl AsRawFd for InotifyFd {
    fn as_raw_fd(&self) -> RawFd {
        self.0.as_fd().as_raw_fd()
    }
}

fn inotify_for(dir: &Path) -> Option<AsyncFd<InotifyFd>> {
    let inotify = Inotify::init(InitFlags::IN_NONBLOCK | InitFlags::IN_CLOEXEC).ok()?;
    inotify.add_watch(dir, AddWatchFlags::IN_CLOSE_WRITE | AddWatchFlags::IN_MOVED_TO).ok()?;
    // SAFETY: the descriptor belongs to the `Inotify` inside, which stays open (and is the same
    // descriptor) until the `AsyncFd` is dropped.
    unsafe { AsyncFd::register_with_interest(InotifyFd(inotify), tokio::io::Interest::READABLE) }.ok()
}

/// Watches `output` until dropped, handing every new complete snapshot (as a `Running` profile) to
/// `on_snapshot` while `control` wants snapshots. Never returns.
pub(super) async fn watch(
    output: &Path,
    spec: &RunSpec,
    scalene_version: &str,
    control: &RunControl,
    on_snapshot: &(dyn Fn(Profile) + Send + Sync),
    last: &LastSnapshot,
) {
    let inotify = output.parent().and_then(inotify_for);
    if inotify.is_none() {
        tracing::debug!("inotify is unavailable: polling for snapshots");
    }
    let period = if inotify.is_some() { BACKSTOP } else { POLL };
    let mut seen: Option<Stamp> = None;
    loop {
        let changed = control.changed.notified();
        // A close after writing says a new version is there even when its size and mtime (whose clock
        // ticks every few ms) look the same as the last one's.
        let closed = tokio::select! {
            () = wait_readable(inotify.as_ref()) => true,
            () = tokio::time::sleep(period) => false,
            () = changed => false,
        };
        if !control.watches_snapshots() {
            continue;
        }
        let Some(before) = stamp(output) else { continue };
        if seen == Some(before) && !closed {
            continue;
        }
        let Ok(bytes) = tokio::fs::read(output).await else { continue };
        if stamp(output) != Some(before) || bytes.len() as u64 != before.len {
            // Being rewritten: its close will wake us again.
            continue;
        }
        seen = Some(before);
        let parsed = {
            let bytes = bytes.clone();
            tokio::task::spawn_blocking(move || parse_profile(&bytes)).await
        };
        match parsed {
            Ok(Ok(profile)) if !profile.files.is_empty() => {
                *last.lock().unwrap_or_else(|poison| poison.into_inner()) = Some(bytes);
                on_snapshot(snapshot_profile(profile, spec, scalene_version));
            }
            Ok(Ok(_)) => tracing::debug!("skipped an empty snapshot (nothing sampled yet)"),
            Ok(Err(err)) => tracing::debug!("skipped an incomplete snapshot: {err}"),
            Err(err) => tracing::warn!("parsing a snapshot failed: {err}"),
        }
    }
}

/// Waits until inotify has events and drains them (forever when there is no inotify).
async fn wait_readable(inotify: Option<&AsyncFd<InotifyFd>>) {
    let Some(inotify) = inotify else { return std::future::pending().await };
    match inotify.readable().await {
        Ok(mut guard) => {
            let _ = guard.get_inner().0.read_events();
            guard.clear_ready();
        }
        Err(_) => std::future::pending().await,
    }
}

/// A snapshot as the front ends see it: the run so far, status `Running`.
pub(super) fn snapshot_profile(mut profile: Profile, spec: &RunSpec, scalene_version: &str) -> Profile {
    profile.status = RunStatus::Running;
    if profile.program.is_empty() {
        profile.program = spec.program.display();
    }
    if profile.args.is_empty() {
        profile.args = spec.args.clone();
    }
    profile.exit_code = None;
    profile.scalene_version = Some(scalene_version.to_string());
    profile.notes.push(format!(
        "live snapshot: the run so far ({:.1} s recorded); newer snapshots and the final profile replace it",
        profile.elapsed_s
    ));
    profile.created = SystemTime::now();
    profile
}
