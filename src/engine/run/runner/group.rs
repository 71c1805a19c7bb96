//! A run's process group: signals to the whole group, waiting until every member is gone (zombies
//! excepted), the stop sequence, the kill-on-drop guard, and the sweep of run dirs left by dead owners.

use std::path::Path;
use std::process::ExitStatus;
use std::time::Duration;

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

use super::procfs::{self, ProcessIdentity};
use super::{RUN_DIR_PREFIX, STOP_STEP};
use crate::engine::error::EngineError;

/// Sends signals to a run's process group; SIGKILLs the whole group when dropped while armed, so no
/// path (error, panic, a dropped future) leaves a process behind. Processes that left the group
/// (`setsid`, a daemon's double fork) are found by the run's TMPDIR in their environment and killed
/// with it (`kill_escaped`).
pub(super) struct GroupGuard {
    pub(super) pgid: Option<Pid>,
    pub(super) run_dir: std::path::PathBuf,
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
        procfs::live_members(pgid.as_raw()).is_some_and(|members| members.is_empty())
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
        kill_escaped(&self.run_dir);
    }
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        if self.pgid.is_some() {
            self.signal(Signal::SIGKILL);
            kill_escaped(&self.run_dir);
        }
    }
}

/// SIGKILLs every process outside the run's group that carries its TMPDIR (a program's daemon), again
/// while new ones appear (one may fork while the others die). Returns how many were killed. Processes
/// that replaced their environment cannot be told apart from anyone else's and are not reached
/// (ARCHITECTURE.md, the run invariant).
pub(super) fn kill_escaped(run_dir: &Path) -> usize {
    let mut killed = 0;
    for _ in 0..10 {
        let escaped = procfs::carrying_env("TMPDIR", run_dir);
        if escaped.is_empty() {
            break;
        }
        for pid in escaped {
            if nix::sys::signal::kill(Pid::from_raw(pid), Signal::SIGKILL).is_ok() {
                killed += 1;
            }
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    if killed > 0 {
        tracing::info!(killed, "killed processes that had left the run's process group");
    }
    killed
}

/// Stops a run so that Scalene writes its partial profile: SIGINT to the whole group first (Scalene 2.4
/// in memory mode sometimes hangs on SIGTERM without writing, 5 of 16 tries here, while SIGINT wrote the
/// profile every time), then SIGTERM, then SIGKILL. Waits for the whole group, not just the top process:
/// Scalene's top process exits at once while its re-launched child is still writing the JSON.
pub(super) async fn stop_group(child: &mut tokio::process::Child, group: &GroupGuard) -> Result<ExitStatus, EngineError> {
    for signal in [Signal::SIGINT, Signal::SIGTERM] {
        group.signal(signal);
        // A stopped group (Ctrl-Z) handles the signal only once continued.
        group.signal(Signal::SIGCONT);
        if group.wait_empty(STOP_STEP).await {
            break;
        }
        tracing::info!(?signal, "the run's process group did not stop in time; escalating");
    }
    group.signal(Signal::SIGKILL);
    child.wait().await.map_err(|err| EngineError::io("waiting for Scalene failed", err))
}

/// Written into each run dir: who owns the run and which process group is its, so that a later start
/// can tell a run whose owner died (even one killed with SIGKILL, or whose pid was since reused) from a
/// live one, and stop what is left of it.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub(super) struct RunRecord {
    pub owner: ProcessIdentity,
    /// The run's process group, once Scalene started.
    pub pgid: Option<i32>,
}

pub(super) const RECORD_FILE: &str = "scalene-lsp-run.json";

impl RunRecord {
    pub fn write(&self, run_dir: &Path) -> std::io::Result<()> {
        let bytes = serde_json::to_vec(self).map_err(std::io::Error::other)?;
        crate::engine::dirs::write_private(&run_dir.join(RECORD_FILE), &bytes)
    }

    pub fn read(run_dir: &Path) -> Option<RunRecord> {
        serde_json::from_slice(&std::fs::read(run_dir.join(RECORD_FILE)).ok()?).ok()
    }
}

/// Stops what is left of a run whose owner is gone: only if some live member of `pgid` carries the
/// run's `TMPDIR` (the group number may belong to someone else by now). SIGINT, then SIGTERM, each given
/// `step` to empty the group, then SIGKILL. Blocking (the watchdog and the start-up sweep use it).
/// Returns true when it found the run's processes.
pub fn stop_orphaned_group(pgid: i32, run_dir: &Path, step: Duration) -> bool {
    let members = procfs::live_members(pgid).unwrap_or_default();
    if !members.iter().any(|pid| procfs::has_env(*pid, "TMPDIR", run_dir)) {
        return kill_escaped(run_dir) > 0;
    }
    let group = Pid::from_raw(pgid);
    let empty = || procfs::live_members(pgid).is_none_or(|members| members.is_empty());
    'stop: for signal in [Signal::SIGINT, Signal::SIGTERM] {
        let _ = killpg(group, signal);
        let _ = killpg(group, Signal::SIGCONT);
        let deadline = std::time::Instant::now() + step;
        while std::time::Instant::now() < deadline {
            if empty() {
                break 'stop;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    if !empty() {
        let _ = killpg(group, Signal::SIGKILL);
    }
    kill_escaped(run_dir);
    true
}

/// Removes the run dirs (and stops the process groups) of runs whose owner is gone. A run recorded by
/// an owner in this pid namespace is swept at once when that exact process (pid and start time) no
/// longer exists; anything else (no record, another namespace) only once it is older than `min_age`.
/// Returns how many run dirs were removed.
pub fn sweep_stale_run_dirs(temp_root: &Path, min_age: Duration) -> usize {
    let Ok(entries) = std::fs::read_dir(temp_root) else { return 0 };
    let namespace = procfs::pid_namespace();
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if !entry.file_type().is_ok_and(|kind| kind.is_dir()) {
            continue;
        }
        let staging = name.starts_with(super::STAGING_PREFIX);
        if !staging && !name.starts_with(RUN_DIR_PREFIX) {
            continue;
        }
        let dir = entry.path();
        let age = || entry.metadata().and_then(|meta| meta.modified()).ok().and_then(|modified| modified.elapsed().ok());
        let old_enough = || age().is_some_and(|age| age >= min_age);
        let record = RunRecord::read(&dir);
        let Some(rest) = name.strip_prefix(RUN_DIR_PREFIX) else {
            // A folder `owned_dir` was making when its owner died: gone with the owner's record, or,
            // without one, once older than anyone takes between making it and writing the record.
            let orphaned = match &record {
                Some(record) if record.owner.pid_namespace == namespace => !record.owner.is_alive(),
                Some(_) => old_enough(),
                None => age().is_some_and(|age| age >= STAGING_AGE),
            };
            if orphaned && std::fs::remove_dir_all(&dir).is_ok() {
                removed += 1;
            }
            continue;
        };
        let sweep = match &record {
            Some(record) if record.owner.pid_namespace == namespace => !record.owner.is_alive(),
            _ => {
                let Some(pid) = rest.split('-').next().and_then(|pid| pid.parse::<i32>().ok()) else { continue };
                let alive = pid == std::process::id() as i32
                    || !matches!(nix::sys::signal::kill(Pid::from_raw(pid), None), Err(nix::errno::Errno::ESRCH));
                !alive && old_enough()
            }
        };
        if !sweep {
            continue;
        }
        if let Some(pgid) = record.as_ref().and_then(|record| record.pgid)
            && stop_orphaned_group(pgid, &dir, Duration::from_secs(1))
        {
            tracing::warn!(pgid, dir = %dir.display(), "stopped the processes of a run whose owner is gone");
        }
        match std::fs::remove_dir_all(&dir) {
            Ok(()) => removed += 1,
            Err(err) => tracing::warn!("could not remove stale run directory {:?}: {err}", dir),
        }
    }
    if removed > 0 {
        tracing::info!(removed, "removed stale run directories");
    }
    removed
}

/// A staging folder without a record older than this has no live owner: making it and writing the
/// record into it takes microseconds.
const STAGING_AGE: Duration = Duration::from_secs(10);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_dir_appears_with_its_record_and_a_dead_owners_staging_folder_is_swept() {
        let root = tempfile::tempdir().unwrap();
        let dir = crate::engine::run::runner::owned_dir(root.path(), "").unwrap();
        let name = dir.path().file_name().unwrap().to_str().unwrap().to_string();
        assert!(name.starts_with(&format!("{RUN_DIR_PREFIX}{}-", std::process::id())), "{name}");
        assert_eq!(RunRecord::read(dir.path()).unwrap().owner, ProcessIdentity::of_self());
        let names: Vec<String> = std::fs::read_dir(root.path()).unwrap().map(|entry| entry.unwrap().file_name().into_string().unwrap()).collect();
        assert_eq!(names, vec![name.clone()], "no staging folder is left");
        // Staging folders a killed owner left: with its record (the owner is gone), and without one.
        let me = ProcessIdentity::of_self();
        let recorded = root.path().join(format!("{}dead", crate::engine::run::runner::STAGING_PREFIX));
        std::fs::create_dir(&recorded).unwrap();
        RunRecord { owner: ProcessIdentity { start_time: me.start_time + 7, ..me.clone() }, pgid: None }.write(&recorded).unwrap();
        let bare = root.path().join(format!("{}bare", crate::engine::run::runner::STAGING_PREFIX));
        std::fs::create_dir(&bare).unwrap();
        assert_eq!(sweep_stale_run_dirs(root.path(), Duration::from_secs(3600)), 1);
        assert!(!recorded.exists() && bare.exists(), "a young staging folder without a record may be someone's in the making");
        let old = std::time::SystemTime::now() - Duration::from_secs(60);
        std::fs::File::open(&bare).unwrap().set_modified(old).unwrap();
        assert_eq!(sweep_stale_run_dirs(root.path(), Duration::from_secs(3600)), 1);
        assert!(!bare.exists() && dir.path().exists());
        let path = dir.path().to_path_buf();
        drop(dir);
        assert!(!path.exists(), "a RunDir is removed when dropped");
    }

    #[test]
    fn sweep_removes_at_once_the_dirs_of_recorded_owners_that_are_gone_even_if_their_pid_was_reused() {
        let root = tempfile::tempdir().unwrap();
        let me = ProcessIdentity::of_self();
        let live = root.path().join(format!("{RUN_DIR_PREFIX}{}-live", me.pid));
        let reused = root.path().join(format!("{RUN_DIR_PREFIX}{}-reused", me.pid));
        let foreign_ns = root.path().join(format!("{RUN_DIR_PREFIX}4194305-ns"));
        for dir in [&live, &reused, &foreign_ns] {
            std::fs::create_dir(dir).unwrap();
        }
        RunRecord { owner: me.clone(), pgid: None }.write(&live).unwrap();
        // The same pid with another start time: our pid now, but the owner was another process.
        RunRecord { owner: ProcessIdentity { start_time: me.start_time + 7, ..me.clone() }, pgid: None }.write(&reused).unwrap();
        // An owner in another pid namespace: its pid says nothing here, so only the age rule applies.
        RunRecord { owner: ProcessIdentity { pid: 4194305, start_time: 1, pid_namespace: "pid:[1]".into() }, pgid: None }
            .write(&foreign_ns)
            .unwrap();
        // The start-up probe's folder (`owned_dir` with the infix `probe-`): the same rule.
        let live_probe = crate::engine::run::runner::owned_dir(root.path(), "probe-").unwrap();
        let dead_probe = root.path().join(format!("{RUN_DIR_PREFIX}{}-probe-dead", me.pid));
        std::fs::create_dir(&dead_probe).unwrap();
        RunRecord { owner: ProcessIdentity { start_time: me.start_time + 7, ..me.clone() }, pgid: None }.write(&dead_probe).unwrap();
        assert_eq!(sweep_stale_run_dirs(root.path(), Duration::from_secs(3600)), 2);
        assert!(live.exists() && !reused.exists() && foreign_ns.exists());
        assert!(live_probe.path().exists() && !dead_probe.exists(), "a live owner's probe stays, a dead owner's goes");
        assert_eq!(sweep_stale_run_dirs(root.path(), Duration::ZERO), 1);
        assert!(live.exists() && live_probe.path().exists() && !foreign_ns.exists());
    }

    #[test]
    fn sweep_removes_only_old_dirs_of_dead_owners() {
        let root = tempfile::tempdir().unwrap();
        // pid 2^22 + 1 is above Linux's pid_max limit, so it cannot be alive.
        let dead = root.path().join(format!("{RUN_DIR_PREFIX}4194305-abc"));
        let mine = root.path().join(format!("{RUN_DIR_PREFIX}{}-abc", std::process::id()));
        let foreign = root.path().join("scalene-other-1-abc");
        for dir in [&dead, &mine, &foreign] {
            std::fs::create_dir(dir).unwrap();
            std::fs::write(dir.join(crate::engine::run::runner::PROFILE_FILE), "{}").unwrap();
        }
        assert_eq!(sweep_stale_run_dirs(root.path(), Duration::from_secs(3600)), 0, "too young to sweep");
        assert_eq!(sweep_stale_run_dirs(root.path(), Duration::ZERO), 1);
        assert!(!dead.exists() && mine.exists() && foreign.exists());
    }
}
