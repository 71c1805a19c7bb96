//! What /proc says about processes: a process's state, group and start time (so a recorded pid is
//! recognised even after the number was reused), the live members of a process group, and whether a
//! process carries a given environment entry (how a run's processes are told apart from anyone else's).

use std::path::Path;

/// The fields of /proc/<pid>/stat a run needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProcStat {
    pub state: char,
    pub ppid: i32,
    pub pgrp: i32,
    pub session: i32,
    /// Clock ticks after boot when the process started: with the pid, it names one process for good.
    pub start_time: u64,
    /// The CPU time it has used so far (user + system, in clock ticks: 10 ms on Linux).
    pub cpu_ticks: u64,
}

impl ProcStat {
    pub fn is_live(&self) -> bool {
        !matches!(self.state, 'Z' | 'X')
    }
}

pub fn stat(pid: i32) -> Option<ProcStat> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces and parentheses: the fields start after the last ')'.
    let after_name = text.rsplit_once(')')?.1;
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // After the name: state(0) ppid(1) pgrp(2) ... starttime is field 22 of the line, 19 here.
    Some(ProcStat {
        state: fields.first()?.chars().next()?,
        ppid: fields.get(1)?.parse().ok()?,
        pgrp: fields.get(2)?.parse().ok()?,
        session: fields.get(3)?.parse().ok()?,
        start_time: fields.get(19)?.parse().ok()?,
        // utime(11) + stime(12).
        cpu_ticks: fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?,
    })
}

/// Pids of the live (non-zombie) processes of process group `pgid`. None without /proc.
pub fn live_members(pgid: i32) -> Option<Vec<i32>> {
    let entries = std::fs::read_dir("/proc").ok()?;
    Some(
        entries
            .flatten()
            .filter_map(|entry| entry.file_name().to_str()?.parse::<i32>().ok())
            .filter(|pid| stat(*pid).is_some_and(|stat| stat.pgrp == pgid && stat.is_live()))
            .collect(),
    )
}

/// True when process group `pgid` is orphaned (no member has its parent in another group of the same
/// session): the kernel then discards stop signals from the terminal and SIGTSTP sent to the group, so
/// the group cannot be stopped as a shell's job. False without /proc.
pub fn group_is_orphaned(pgid: i32) -> bool {
    let Some(members) = live_members(pgid) else { return false };
    !members.iter().filter_map(|pid| stat(*pid)).any(|member| {
        stat(member.ppid).is_some_and(|parent| parent.pgrp != pgid && parent.session == member.session)
    })
}

/// True when process `pid` has `key=value` in its environment (readable for our own user's processes).
pub fn has_env(pid: i32, key: &str, value: &Path) -> bool {
    let Ok(environ) = std::fs::read(format!("/proc/{pid}/environ")) else { return false };
    let mut wanted = key.as_bytes().to_vec();
    wanted.push(b'=');
    wanted.extend_from_slice(value.as_os_str().as_encoded_bytes());
    environ.split(|byte| *byte == 0).any(|entry| entry == wanted.as_slice())
}

/// The live processes other than this one that carry `key=value` in their environment: those of a run
/// that left its process group (`setsid`, a daemon's double fork) still carry the run's TMPDIR. Only
/// this user's processes can be read, and only they could have been started by a run.
pub fn carrying_env(key: &str, value: &Path) -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    let me = std::process::id() as i32;
    entries
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| *pid != me && has_env(*pid, key, value) && stat(*pid).is_some_and(|stat| stat.is_live()))
        .collect()
}

/// The environment process `pid` was started with (what `exec` gave it; later changes inside the
/// process do not show), as `(key, value)` pairs. None when it cannot be read.
pub fn environ(pid: i32) -> Option<Vec<(String, String)>> {
    let bytes = std::fs::read(format!("/proc/{pid}/environ")).ok()?;
    Some(
        bytes
            .split(|byte| *byte == 0)
            .filter_map(|entry| {
                let text = String::from_utf8_lossy(entry);
                let (key, value) = text.split_once('=')?;
                Some((key.to_string(), value.to_string()))
            })
            .collect(),
    )
}

/// True when process `pid` has a handler installed for `signal` (its `SigCgt` mask in /proc): sending
/// it then runs the handler instead of the default action (for SIGILL or SIGBUS: a core dump).
pub fn catches_signal(pid: i32, signal: i32) -> bool {
    let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else { return false };
    let Some(mask) = status.lines().find_map(|line| line.strip_prefix("SigCgt:")) else { return false };
    let Ok(mask) = u64::from_str_radix(mask.trim(), 16) else { return false };
    (1..=64).contains(&signal) && mask & (1u64 << (signal - 1)) != 0
}

/// This process as an owner record names it: pid, start time, and its pid namespace (a pid means
/// nothing in another namespace).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ProcessIdentity {
    pub pid: i32,
    pub start_time: u64,
    pub pid_namespace: String,
}

pub fn pid_namespace() -> String {
    std::fs::read_link("/proc/self/ns/pid").map(|link| link.display().to_string()).unwrap_or_default()
}

impl ProcessIdentity {
    pub fn of_self() -> ProcessIdentity {
        let pid = std::process::id() as i32;
        ProcessIdentity { pid, start_time: stat(pid).map_or(0, |stat| stat.start_time), pid_namespace: pid_namespace() }
    }

    /// True while this very process exists (not merely some process with the same pid).
    pub fn is_alive(&self) -> bool {
        stat(self.pid).is_some_and(|stat| stat.is_live() && stat.start_time == self.start_time)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_recognised_and_a_reused_pid_is_not() {
        let me = ProcessIdentity::of_self();
        assert!(me.start_time > 0 && !me.pid_namespace.is_empty(), "{me:?}");
        assert!(me.is_alive());
        assert!(!ProcessIdentity { start_time: me.start_time + 1, ..me.clone() }.is_alive(), "same pid, other start");
        let own_group = stat(me.pid).unwrap().pgrp;
        assert!(live_members(own_group).unwrap().contains(&me.pid));
        assert!(has_env(me.pid, "PATH", Path::new(&std::env::var("PATH").unwrap())));
        assert!(!has_env(me.pid, "PATH", Path::new("/nowhere")));
        assert!(environ(me.pid).unwrap().iter().any(|(key, _)| key == "PATH"));
        assert_eq!(stat(me.pid).unwrap().ppid, nix::unistd::getppid().as_raw());
        assert_eq!(stat(me.pid).unwrap().session, nix::unistd::getsid(None).unwrap().as_raw());
        assert!(!catches_signal(me.pid, 0) && !catches_signal(me.pid, 65));
        let before = stat(me.pid).unwrap().cpu_ticks;
        let start = std::time::Instant::now();
        let mut spin = 0u64;
        while start.elapsed() < std::time::Duration::from_millis(100) {
            spin = std::hint::black_box(spin.wrapping_add(1));
        }
        assert!(stat(me.pid).unwrap().cpu_ticks > before, "100 ms of spinning shows as CPU time");
    }

    #[test]
    fn a_group_whose_parent_is_in_another_group_of_the_session_is_not_orphaned_a_new_session_is() {
        use std::os::unix::process::CommandExt;
        let mut in_own_group = std::process::Command::new("sleep").arg("30").process_group(0).spawn().unwrap();
        let mut new_session = std::process::Command::new("sleep");
        new_session.arg("30");
        // SAFETY: only setsid between fork and exec.
        unsafe {
            new_session.pre_exec(|| nix::unistd::setsid().map(drop).map_err(std::io::Error::from));
        }
        let mut new_session = new_session.spawn().unwrap();
        let (group, session) = (in_own_group.id() as i32, new_session.id() as i32);
        let started = |pid: i32| stat(pid).is_some_and(|stat| stat.pgrp == pid);
        while !(started(group) && started(session)) {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert!(!group_is_orphaned(group), "its parent (this process) is in another group of the same session");
        assert!(group_is_orphaned(session), "its parent is in another session");
        for child in [&mut in_own_group, &mut new_session] {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }
}
