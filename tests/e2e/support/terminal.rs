//! A real terminal for tests: an interactive bash (with job control) on a new pseudo-terminal, typed into
//! through the master side, its screen collected as written. For what a user at a terminal sees: a
//! program that reads a line, Ctrl-Z and `fg`.

use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub struct Shell {
    bash: Child,
    master: std::fs::File,
    screen: Arc<Mutex<Vec<u8>>>,
}

impl Shell {
    /// `bash -i` as the session leader of a new terminal (so it does job control), in `cwd`.
    pub fn start(cwd: &std::path::Path) -> Shell {
        let pty = nix::pty::openpty(None, None).expect("a pseudo-terminal");
        let slave = |pty: &OwnedFd| Stdio::from(pty.try_clone().unwrap());
        let mut command = Command::new("bash");
        command
            .args(["--norc", "--noprofile", "-i"])
            .current_dir(cwd)
            .env("PS1", "$ ")
            .env("HISTFILE", "/dev/null")
            .env("TERM", "dumb")
            .env("NO_COLOR", "1")
            .env("RUST_LOG", "warn")
            .stdin(slave(&pty.slave))
            .stdout(slave(&pty.slave))
            .stderr(slave(&pty.slave));
        // SAFETY: only setsid and ioctl between fork and exec.
        unsafe {
            std::os::unix::process::CommandExt::pre_exec(&mut command, || {
                if nix::libc::setsid() < 0 || nix::libc::ioctl(0, nix::libc::TIOCSCTTY, 0) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let bash = command.spawn().expect("bash starts");
        drop(pty.slave);
        let master = std::fs::File::from(pty.master);
        let screen = Arc::new(Mutex::new(Vec::new()));
        let mut reader = master.try_clone().unwrap();
        let collected = Arc::clone(&screen);
        std::thread::spawn(move || {
            let mut chunk = [0u8; 4096];
            // Ends with EIO once every process has closed the terminal.
            while let Ok(n_read @ 1..) = reader.read(&mut chunk) {
                collected.lock().unwrap().extend_from_slice(&chunk[..n_read]);
            }
        });
        Shell { bash, master, screen }
    }

    /// Types `text` (a `\n` is Enter; `\x1a` is Ctrl-Z).
    pub fn type_text(&mut self, text: &str) {
        self.master.write_all(text.as_bytes()).unwrap();
        self.master.flush().unwrap();
    }

    pub fn screen(&self) -> String {
        String::from_utf8_lossy(&self.screen.lock().unwrap()).into_owned()
    }

    /// Waits (up to `limit`) until the screen shows `text` after its first `after` bytes.
    pub fn wait_for(&self, text: &str, after: usize, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if self.screen.lock().unwrap().get(after..).is_some_and(|shown| String::from_utf8_lossy(shown).contains(text)) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    /// How many bytes the screen holds (to wait for what comes after).
    pub fn len(&self) -> usize {
        self.screen.lock().unwrap().len()
    }
}

impl Drop for Shell {
    /// Closes the terminal: bash and its jobs get SIGHUP (a stopped job SIGCONT too), as when a user
    /// closes the window.
    fn drop(&mut self) {
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(self.bash.id() as i32), nix::sys::signal::Signal::SIGHUP);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline && matches!(self.bash.try_wait(), Ok(None)) {
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.bash.kill();
        let _ = self.bash.wait();
    }
}
