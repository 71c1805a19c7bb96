//! `scalene-lsp attach PID`: py-spy samples of a Python process that is already running (until Ctrl-C
//! or `--duration`), shown like `profile` (the same view, JSON, save and exports), with `--live`
//! redrawn every second; and `scalene-lsp ps`, the Python processes one may attach to.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Duration;

use super::{block_on, engine_settings, exit, fail, out, print_profile, saved};
use crate::engine::run::attach::{self, AttachRequest, procs};
use crate::engine::{Engine, EngineSettings};

#[derive(Debug, clap::Args)]
pub struct AttachArgs {
    /// The process id of a running Python program (`scalene-lsp ps` lists them).
    pub pid: u32,
    /// Stop after this many seconds (default: until Ctrl-C).
    #[arg(long, value_name = "SECONDS")]
    pub duration: Option<f64>,
    /// Samples per second.
    #[arg(long, value_name = "HZ", default_value_t = attach::DEFAULT_RATE_HZ)]
    pub rate: u32,
    /// Count idle threads (waiting on I/O, a lock or sleep) too, not only the running ones.
    #[arg(long)]
    pub idle: bool,
    /// Read native (C) frames too (needs py-spy's native unwinding, which this build does not have).
    #[arg(long)]
    pub native: bool,
    /// Sample the process's Python subprocesses too.
    #[arg(long)]
    pub subprocesses: bool,
    /// Count only this thread: its name (`crunch`), native id (the tid `top -H -p PID` shows) or Python id.
    #[arg(long, value_name = "NAME|TID")]
    pub thread: Option<String>,
    /// Redraw the profile every second while attached (on a terminal).
    #[arg(long)]
    pub live: bool,
    /// Print the normalized JSON (docs/schema.md) instead of the terminal view.
    #[arg(long)]
    pub json: bool,
    /// Save the profile under this name, for `compare` with another attached profile of the program.
    #[arg(long, value_name = "NAME")]
    pub save: Option<String>,
    #[command(flatten)]
    pub store: saved::StoreArgs,
    #[command(flatten)]
    pub exports: super::export::ExportArgs,
}

#[derive(Debug, clap::Args)]
pub struct PsArgs {
    /// Print JSON (one object per process) instead of a table.
    #[arg(long)]
    pub json: bool,
}

pub fn attach(args: AttachArgs) -> ExitCode {
    let duration = match args.duration {
        None => None,
        Some(seconds) if seconds.is_finite() && seconds > 0.0 && seconds <= attach::MAX_DURATION_S => Some(Duration::from_secs_f64(seconds)),
        Some(seconds) => {
            eprintln!("error: --duration must be more than 0 and at most {} seconds (a day), got {seconds}", attach::MAX_DURATION_S);
            return ExitCode::from(exit::USAGE);
        }
    };
    let live_view = args.live && !args.json && std::io::stdout().is_terminal();
    let request = AttachRequest {
        pid: args.pid,
        duration,
        rate_hz: args.rate,
        idle: args.idle,
        native: args.native,
        subprocesses: args.subprocesses,
        live: live_view.then_some(Duration::from_secs(1)),
        thread: args.thread,
    };
    if let Err(problem) = request.validate() {
        eprintln!("error: {problem}");
        return ExitCode::from(exit::USAGE);
    }
    if let Err(code) = saved::check_save_name(args.save.as_deref()) {
        return code;
    }
    let exports = match args.exports.check() {
        Ok(exports) => exports,
        Err(code) => return code,
    };
    let (json, save) = (args.json, args.save);
    let store_settings = args.store.settings();
    block_on(async move {
        // The same path as the editor's and the agents' attach: `Engine::start_attach`, its snapshots in
        // the cache, Ctrl-C a cancel (which detaches and keeps the samples so far).
        let engine = Engine::new(EngineSettings { store: store_settings, ..engine_settings() });
        let snapshots = engine.cache().subscribe();
        let name = format!("pid {}", request.pid);
        let (pid, rate_hz) = (request.pid, request.rate_hz);
        let handle = match engine.start_attach(request) {
            Ok(handle) => handle,
            Err(err) => return fail(&err),
        };
        if live_view {
            out(&super::profile::live_screen(None, &name));
        } else if std::io::stderr().is_terminal() {
            let until = duration.map_or("Ctrl-C".to_string(), |duration| format!("{:.1} s or Ctrl-C", duration.as_secs_f64()));
            eprintln!("scalene-lsp: attaching py-spy to pid {pid} at {rate_hz} Hz until {until}…");
        }
        let result = super::profile::follow_on_terminal(&engine, handle, snapshots, live_view, &name).await;
        engine.shutdown(crate::engine::SHUTDOWN_GRACE).await;
        match result {
            Ok(entry) => {
                let profile = &entry.profile;
                let code = print_profile(profile, json);
                let exported = exports.write(profile);
                let saved = saved::save_after(&engine.store(), save.as_deref(), profile);
                exported.or(saved).unwrap_or(code)
            }
            Err(err) => fail(&err),
        }
    })
}

pub fn ps(args: PsArgs) -> ExitCode {
    let processes = procs::python_processes();
    if args.json {
        let list: Vec<serde_json::Value> = processes
            .iter()
            .map(|process| {
                serde_json::json!({
                    "pid": process.pid,
                    "command_line": process.command_line,
                    "cwd": process.cwd.as_ref().map(|cwd| cwd.display().to_string()),
                    "age_s": process.age_s,
                    "python_version": process.python_version,
                    "exe": process.exe.as_ref().map(|exe| exe.display().to_string()),
                })
            })
            .collect();
        out(&format!("{}\n", serde_json::to_string_pretty(&list).expect("plain JSON values serialize")));
        return ExitCode::SUCCESS;
    }
    if processes.is_empty() {
        eprintln!("no Python process of this user is running");
        return ExitCode::SUCCESS;
    }
    let mut text = format!("{:>7}  {:>8}  {:<7}  {:<30}  {}\n", "PID", "AGE", "PYTHON", "CWD", "COMMAND");
    for process in &processes {
        let cwd = process.cwd.as_ref().map_or("?".to_string(), |cwd| cwd.display().to_string());
        text.push_str(&format!(
            "{:>7}  {:>8}  {:<7}  {:<30}  {}\n",
            process.pid,
            age(process.age_s),
            process.python_version.as_deref().unwrap_or("?"),
            cwd,
            process.command_line
        ));
    }
    out(&text);
    ExitCode::SUCCESS
}

/// `12 s`, `5 min`, `3 h`, `2 d`.
fn age(seconds: f64) -> String {
    match seconds {
        s if s < 60.0 => format!("{s:.0} s"),
        s if s < 3600.0 => format!("{:.0} min", s / 60.0),
        s if s < 86_400.0 => format!("{:.0} h", s / 3600.0),
        s => format!("{:.0} d", s / 86_400.0),
    }
}
