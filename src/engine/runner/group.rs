//! A run's process group: signals to the whole group, waiting until every member is gone (zombies
//! excepted), the stop sequence, the kill-on-drop guard, and the sweep of run dirs left by dead owners.

use std::path::Path;
use std::process::ExitStatus;
use std::time::Duration;

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

use super::{RUN_DIR_PREFIX, STOP_STEP};
use crate::engine::error::EngineError;

/// Sends signals to a run's process group; SIGKILLs the whole group when dropped while armed, so no
/// path (error, panic, a dropped future) leaves a process behind.
pub(super) struct GroupGuard {
    pub(super) pgid: Option<Pid>,
}

impl GroupGuard {
    fn signal(&self, signal: Signal) {
        if let Some(pgid) = self.pgid {
            let _ = killpg(pgid, signal);
        }
    }

    /// True when no live (non-zombie) process is left in the group.
    fn is_empty(&self) -> bool {
        let Some(pgid) = self.pgid else { return true };
        if killpg(pgid, None).is_err() {
            return true;
        }
        // killpg also reaches zombies that init has not reaped yet: look at the states where /proc exists.
        match live_members(pgid.as_raw()) {
            Some(n_live) => n_live == 0,
            None => false,
        }
    }

    /// Waits up to `limit` for every process of the group to exit.
    async fn wait_empty(&self, limit: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            if self.is_empty() {
                return true;
            }
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Kills whatever is left in the group and waits (briefly) until it is empty; afterwards the pgid
    /// may be reused by the system, so the guard no longer signals it.
    pub(super) async fn finish(&mut self) {
        self.signal(Signal::SIGKILL);
        if !self.wait_empty(Duration::from_secs(2)).await {
            tracing::warn!("processes of the run's group are still listed after SIGKILL");
        }
        self.pgid = None;
    }
}

/// How many non-zombie processes are in process group `pgid`, from /proc (None without /proc).
fn live_members(pgid: i32) -> Option<usize> {
    let entries = std::fs::read_dir("/proc").ok()?;
    let mut n_live = 0;
    for entry in entries.flatten() {
        if !entry.file_name().to_str().is_some_and(|name| name.bytes().all(|b| b.is_ascii_digit())) {
            continue;
        }
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else { continue };
        // Fields after the command name (which may hold spaces) are: state ppid pgrp ...
        let Some(after_name) = stat.rsplit_once(')').map(|(_, rest)| rest) else { continue };
        let fields: Vec<&str> = after_name.split_whitespace().collect();
        if fields.len() > 2 && fields[2] == pgid.to_string() && fields[0] != "Z" && fields[0] != "X" {
            n_live += 1;
        }
    }
    Some(n_live)
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        self.signal(Signal::SIGKILL);
    }
}

/// Stops a run so that Scalene writes its partial profile: SIGINT to the whole group first (Scalene 2.4
/// in memory mode sometimes hangs on SIGTERM without writing, 5 of 16 tries here, while SIGINT wrote the
/// profile every time), then SIGTERM, then SIGKILL. Waits for the whole group, not just the top process:
/// Scalene's top process exits at once while its re-launched child is still writing the JSON.
pub(super) async fn stop_group(child: &mut tokio::process::Child, group: &GroupGuard) -> Result<ExitStatus, EngineError> {
    for signal in [Signal::SIGINT, Signal::SIGTERM] {
        group.signal(signal);
        if group.wait_empty(STOP_STEP).await {
            break;
        }
        tracing::info!(?signal, "the run's process group did not stop in time; escalating");
    }
    group.signal(Signal::SIGKILL);
    child.wait().await.map_err(|err| EngineError::io("waiting for Scalene failed", err))
}

/// Removes run directories left by processes that no longer exist and that are older than `min_age`
/// (the age guards against a live owner in another pid namespace sharing the temp dir). Returns how
/// many were removed.
pub fn sweep_stale_run_dirs(temp_root: &Path, min_age: Duration) -> usize {
    let Ok(entries) = std::fs::read_dir(temp_root) else { return 0 };
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(rest) = name.to_str().and_then(|name| name.strip_prefix(RUN_DIR_PREFIX)) else { continue };
        let Some(pid) = rest.split('-').next().and_then(|pid| pid.parse::<i32>().ok()) else { continue };
        let owner_alive = pid == std::process::id() as i32
            || !matches!(nix::sys::signal::kill(Pid::from_raw(pid), None), Err(nix::errno::Errno::ESRCH));
        let old_enough = entry
            .metadata()
            .and_then(|meta| meta.modified())
            .ok()
            .and_then(|modified| modified.elapsed().ok())
            .is_some_and(|age| age >= min_age);
        if !owner_alive && old_enough && entry.file_type().is_ok_and(|kind| kind.is_dir()) {
            match std::fs::remove_dir_all(entry.path()) {
                Ok(()) => removed += 1,
                Err(err) => tracing::warn!("could not remove stale run directory {:?}: {err}", entry.path()),
            }
        }
    }
    if removed > 0 {
        tracing::info!(removed, "removed stale run directories");
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sweep_removes_only_old_dirs_of_dead_owners() {
        let root = tempfile::tempdir().unwrap();
        // pid 2^22 + 1 is above Linux's pid_max limit, so it cannot be alive.
        let dead = root.path().join(format!("{RUN_DIR_PREFIX}4194305-abc"));
        let mine = root.path().join(format!("{RUN_DIR_PREFIX}{}-abc", std::process::id()));
        let foreign = root.path().join("scalene-other-1-abc");
        for dir in [&dead, &mine, &foreign] {
            std::fs::create_dir(dir).unwrap();
            std::fs::write(dir.join("profile.json"), "{}").unwrap();
        }
        assert_eq!(sweep_stale_run_dirs(root.path(), Duration::from_secs(3600)), 0, "too young to sweep");
        assert_eq!(sweep_stale_run_dirs(root.path(), Duration::ZERO), 1);
        assert!(!dead.exists() && mine.exists() && foreign.exists());
    }
}
