//! Job control for a run that owns the terminal (`ProgramIo::Terminal` while stdin is this process's
//! controlling terminal and this process's group is its foreground group), as a shell does it for a job:
//! the run's process group becomes the terminal's foreground group (so the program can read it: a
//! background group that reads gets SIGTTIN and stops), and the terminal is given back to this
//! process's group when the run ends, on every path (the `Foreground` guard's `Drop`). Ctrl-C and
//! Ctrl-\ then reach the program's group, as under Scalene by hand.
//!
//! A stop of the program (Ctrl-Z reaches only its group; or SIGTTIN) stops this process too, so that the
//! user's shell sees its job stopped: the terminal is given back, and this process's group gets SIGTSTP.
//! When the shell continues it (`fg`, `bg`: SIGCONT), the program's group is continued, and gets the
//! terminal again if this process is in the foreground (after `bg` it is not: the program then stops at
//! its next read, and so does this process, as a background job of the shell would).
//!
//! A process in a background group that calls `tcsetpgrp` gets SIGTTOU (and stops) unless it blocks it:
//! every call here blocks SIGTTOU around it, in the calling thread (the signal mask is per thread).

use std::os::fd::BorrowedFd;

use futures::FutureExt;
use nix::sys::signal::{SigSet, SigmaskHow, Signal, killpg, pthread_sigmask};
use nix::unistd::{Pid, getpgrp, tcgetpgrp, tcsetpgrp};

use super::procfs;

fn stdin() -> BorrowedFd<'static> {
    // SAFETY: fd 0 stays open for the life of the process (it is never closed here).
    unsafe { BorrowedFd::borrow_raw(0) }
}

/// True when stdin is this process's controlling terminal and this process's group is in its
/// foreground: then a run may take the terminal.
pub(super) fn in_foreground() -> bool {
    tcgetpgrp(stdin()).is_ok_and(|foreground| foreground == getpgrp())
}

/// Makes `pgid` the terminal's foreground group, from the foreground or not (SIGTTOU blocked meanwhile).
fn hand_to(pgid: Pid) -> nix::Result<()> {
    let mut old = SigSet::empty();
    pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&SigSet::from(Signal::SIGTTOU)), Some(&mut old))?;
    let result = tcsetpgrp(stdin(), pgid);
    let _ = pthread_sigmask(SigmaskHow::SIG_SETMASK, Some(&old), None);
    result
}

/// In the child, between fork and exec, after `setpgid(0, 0)`: makes the child's new group the
/// terminal's foreground group before the program can read (the parent cannot do it in time). Only
/// async-signal-safe calls; a failure leaves the terminal as it was (the run goes on in the background).
pub(super) fn take_in_child() -> std::io::Result<()> {
    // SAFETY: plain syscalls on a single-threaded child; the signal mask is restored before exec.
    unsafe {
        let mut ttou: nix::libc::sigset_t = std::mem::zeroed();
        let mut old: nix::libc::sigset_t = std::mem::zeroed();
        nix::libc::sigemptyset(&mut ttou);
        nix::libc::sigaddset(&mut ttou, nix::libc::SIGTTOU);
        nix::libc::sigprocmask(nix::libc::SIG_BLOCK, &ttou, &mut old);
        nix::libc::tcsetpgrp(0, nix::libc::getpgrp());
        nix::libc::sigprocmask(nix::libc::SIG_SETMASK, &old, std::ptr::null_mut());
    }
    Ok(())
}

/// A run as a job on the terminal that is stdin (this process's controlling terminal): the terminal
/// given back to this process's group when dropped, and the program's stops followed (`relay_stops`).
pub(super) struct TerminalJob {
    run: Pid,
    own: Pid,
}

impl TerminalJob {
    /// After the spawn (whose child took the terminal in `take_in_child` if this process had it). None
    /// when stdin is not this process's controlling terminal.
    pub(super) fn new(run: Pid) -> Option<TerminalJob> {
        tcgetpgrp(stdin()).ok()?;
        Some(TerminalJob { run, own: getpgrp() })
    }

    /// Gives the terminal back to this process's group if the run's group still has it (not if the
    /// shell took it meanwhile).
    fn give_back(&self) {
        if tcgetpgrp(stdin()).is_ok_and(|foreground| foreground == self.run)
            && let Err(err) = hand_to(self.own)
        {
            tracing::warn!("could not give the terminal back from the run: {err}");
        }
    }

    /// Follows the program's stops for as long as the run goes on (never returns; dropped with the run):
    /// a stopped program stops this process's group too, and a continue continues the program.
    /// `child` is the run's first process, whose stops are reported to this process by SIGCHLD.
    pub(super) async fn relay_stops(&self, child: i32) {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut child_changed), Ok(mut continued)) = (signal(SignalKind::child()), signal(SignalKind::from_raw(nix::libc::SIGCONT)))
        else {
            tracing::warn!("cannot follow the program's stops: Ctrl-Z stops the program but not scalene-lsp");
            return std::future::pending().await;
        };
        loop {
            let is_stopped = procfs::stat(child).is_some_and(|stat| stat.state == 'T');
            if !is_stopped {
                if child_changed.recv().await.is_none() {
                    return std::future::pending().await;
                }
                continue;
            }
            if procfs::group_is_orphaned(self.own.as_raw()) {
                // No shell can continue this process's group (the kernel would discard its SIGTSTP), so
                // the program must not stay stopped either: as the kernel does for an orphaned group.
                tracing::warn!("the program stopped, but scalene-lsp runs without a job-control shell: continuing it");
            } else {
                tracing::info!("the program stopped: stopping scalene-lsp too, as the shell's job");
                self.give_back();
                while let Some(Some(())) = continued.recv().now_or_never() {}
                let _ = killpg(self.own, Signal::SIGTSTP);
                if continued.recv().await.is_none() {
                    return std::future::pending().await;
                }
                if in_foreground()
                    && let Err(err) = hand_to(self.run)
                {
                    tracing::warn!("could not hand the terminal back to the program: {err}");
                }
                tracing::info!("continued: the program goes on");
            }
            let _ = killpg(self.run, Signal::SIGCONT);
            // Wait for the next change (the continue itself is one) before looking again.
            if child_changed.recv().await.is_none() {
                return std::future::pending().await;
            }
        }
    }
}

impl Drop for TerminalJob {
    fn drop(&mut self) {
        self.give_back();
    }
}
