//! The watchdog: a tiny process per run (`scalene-lsp __watchdog PGID RUN_DIR`, our own binary) that
//! makes sure a run never outlives its owner, however the owner dies (SIGKILL, a crash, the OOM killer).
//! It holds the read end of a pipe whose write end only the owner has: when the run ends normally the
//! owner writes `d` and the watchdog exits; when the owner dies the pipe reaches EOF, and the watchdog
//! stops the run's process group (SIGINT, SIGTERM, SIGKILL; only processes carrying the run's TMPDIR)
//! and removes the run dir. It runs in its own process group and ignores the terminal's SIGINT/SIGHUP,
//! so Ctrl-C or a closed terminal reaches the owner (which stops the run itself) and not the watchdog.
//!
//! (Parent-death signals cannot do this: Scalene re-launches itself and PR_SET_PDEATHSIG is cleared
//! across fork, and it fires on the death of the spawning thread, not of the process.)

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::AsyncWriteExt;

use super::RUN_DIR_PREFIX;
use super::group::stop_orphaned_group;

/// The hidden subcommand of the `scalene-lsp` binary that runs a watchdog.
pub const WATCHDOG_COMMAND: &str = "__watchdog";

/// The owner's side: the pipe's write end and the watchdog process.
pub(super) struct Watchdog {
    pipe: Option<tokio::process::ChildStdin>,
    child: tokio::process::Child,
}

impl Watchdog {
    /// Starts a watchdog for the run in process group `pgid` with run dir `run_dir`.
    pub(super) fn spawn(binary: &Path, pgid: i32, run_dir: &Path) -> std::io::Result<Watchdog> {
        let mut child = tokio::process::Command::new(binary)
            .arg(WATCHDOG_COMMAND)
            .arg(pgid.to_string())
            .arg(run_dir)
            .stdin(Stdio::piped())
            // stdout may be a protocol channel (LSP, MCP): the watchdog never writes there.
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .process_group(0)
            .kill_on_drop(false)
            .spawn()?;
        let pipe = child.stdin.take();
        Ok(Watchdog { pipe, child })
    }

    /// The run ended and cleaned up after itself: the watchdog exits without touching anything.
    pub(super) async fn release(mut self) {
        if let Some(mut pipe) = self.pipe.take() {
            let _ = pipe.write_all(b"d").await;
        }
        if tokio::time::timeout(Duration::from_secs(2), self.child.wait()).await.is_err() {
            tracing::warn!("the run's watchdog did not exit after the run ended");
        }
    }
}

/// The watchdog process's body. Returns its exit code.
pub fn watchdog_main(pgid: i32, run_dir: PathBuf) -> u8 {
    use nix::sys::signal::{SigHandler, Signal, signal};
    // SAFETY: setting a signal to SIG_IGN installs no handler code.
    unsafe {
        let _ = signal(Signal::SIGINT, SigHandler::SigIgn);
        let _ = signal(Signal::SIGHUP, SigHandler::SigIgn);
        let _ = signal(Signal::SIGPIPE, SigHandler::SigIgn);
    }
    let is_run_dir = run_dir.file_name().and_then(|name| name.to_str()).is_some_and(|name| name.starts_with(RUN_DIR_PREFIX));
    if !is_run_dir || pgid <= 1 {
        eprintln!("scalene-lsp watchdog: refusing to watch {} (pgid {pgid}): not a run dir of scalene-lsp", run_dir.display());
        return 2;
    }
    let mut stdin = std::io::stdin().lock();
    let mut buffer = [0u8; 64];
    loop {
        match stdin.read(&mut buffer) {
            Ok(0) => break,
            Ok(n_read) if buffer[..n_read].contains(&b'd') => return 0,
            Ok(_) => {}
            Err(err) if err.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    // The owner is gone without saying the run ended.
    let stopped = stop_orphaned_group(pgid, &run_dir, super::STOP_STEP);
    let removed = run_dir.exists() && std::fs::remove_dir_all(&run_dir).is_ok();
    if stopped || removed {
        eprintln!(
            "scalene-lsp watchdog: the process that started this run is gone; {}{}",
            if stopped { format!("stopped the run (process group {pgid})") } else { "the run had already stopped".into() },
            if removed { format!(" and removed {}", run_dir.display()) } else { String::new() }
        );
    }
    0
}
