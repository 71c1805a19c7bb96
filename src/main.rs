//! The `scalene-lsp` command line: parses arguments, sets up logging to stderr, dispatches.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use scalene_lsp::cli;

/// Scalene's per-line CPU and memory profiles: a language server (the default), and in the terminal.
#[derive(Parser)]
#[command(name = "scalene-lsp", version, about, long_about = None)]
struct Cli {
    /// Accepted and ignored: stdio is the language server's transport. Editors' LSP clients (e.g.
    /// vscode-languageclient) append it.
    #[arg(long, hide = true)]
    stdio: bool,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the Language Server Protocol over stdio (the default with no command).
    Serve(ServeArgs),
    /// Run a Python program under Scalene and show where it spends CPU time and memory, line by line.
    Profile(Box<cli::profile::ProfileArgs>),
    /// Show an existing profile: a Scalene JSON (e.g. from `scalene run -o FILE.json`), the output of
    /// `profile --json`, or a saved profile's file.
    Show(cli::ShowArgs),
    /// Show which Python and Scalene would be used, and the exact command a profile runs.
    Doctor(cli::doctor::DoctorArgs),
    /// One run's watchdog (started by scalene-lsp itself).
    #[command(name = "__watchdog", hide = true)]
    Watchdog {
        pgid: i32,
        run_dir: std::path::PathBuf,
    },
    /// Serve MCP (Model Context Protocol) for agents over stdio: bridged to the editor's session when one
    /// is running for this directory, else with an own engine.
    Mcp(cli::McpArgs),
    /// Compare two profiles (saved names or files): what got slower, faster, bigger or smaller, line by
    /// line and function by function. `--fail-on regressed` for CI.
    Compare(cli::compare::CompareArgs),
    /// Saved profiles: list, show, delete, cleanup, clear.
    Saved(cli::saved::SavedArgs),
    /// Attach to a running Python process (py-spy samples it without stopping it) until Ctrl-C or
    /// --duration, then show where it spent its time, line by line, like `profile`.
    Attach(Box<cli::attach::AttachArgs>),
    /// List the Python processes you may attach to: pid, age, Python version, working directory, command.
    Ps(cli::attach::PsArgs),
}

#[derive(clap::Args)]
struct ServeArgs {
    /// Accepted and ignored: stdio is the only transport (LSP clients append it).
    #[arg(long)]
    stdio: bool,
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        // Each event is written whole, with secrets (the MCP token) redacted.
        .with_writer(scalene_lsp::engine::redact::RedactingStderr::default)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("RUST_LOG").unwrap_or_else(|_| "warn".into()),
        )
        .init();
    let cli = Cli::parse();
    // `--stdio` (top level or after `serve`) only names the transport the server always uses; before
    // another command it means nothing, and a flag that is silently ignored hides a mistyped command.
    if cli.stdio && !matches!(cli.command, None | Some(Command::Serve(_))) {
        use clap::CommandFactory;
        Cli::command()
            .error(
                clap::error::ErrorKind::ArgumentConflict,
                "--stdio starts the language server: use it alone or with `serve`, not before another command",
            )
            .exit();
    }
    match cli.command {
        None | Some(Command::Serve(ServeArgs { stdio: _ })) => cli::serve(),
        Some(Command::Profile(args)) => cli::profile::profile(*args),
        Some(Command::Show(args)) => cli::show(args),
        Some(Command::Doctor(args)) => cli::doctor::doctor(args),
        Some(Command::Mcp(args)) => cli::mcp(args),
        Some(Command::Compare(args)) => cli::compare::compare(args),
        Some(Command::Saved(args)) => cli::saved::saved(args),
        Some(Command::Attach(args)) => cli::attach::attach(*args),
        Some(Command::Ps(args)) => cli::attach::ps(args),
        Some(Command::Watchdog { pgid, run_dir }) => cli::watchdog(pgid, run_dir),
    }
}
