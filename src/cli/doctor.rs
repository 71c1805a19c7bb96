//! `scalene-lsp doctor`: the project root, the interpreter and its Scalene, and the plan of the run
//! `profile` would make with the same options: its start-up, working directory and exact command.

use std::path::PathBuf;
use std::process::ExitCode;

use super::profile::RunArgs;
use super::{block_on, engine_settings, exit, fail, out};
use crate::engine::run::{interpreter, runner};
use crate::engine::{Engine, Program, ProgramIo, workspace};

/// The file shown in the command when `doctor` names none.
const PLACEHOLDER: &str = "PROGRAM.py";

#[derive(Debug, clap::Args)]
pub struct DoctorArgs {
    /// A program to show the exact Scalene command for (default: a placeholder).
    pub file: Option<PathBuf>,
    /// The run's options, as `profile` takes them (`--python` is also the interpreter checked).
    #[command(flatten)]
    pub run: RunArgs,
}

/// `println!` for `doctor`: a closed stdout ends the command at once, quietly (exit 0).
macro_rules! say {
    ($($arg:tt)*) => {
        if !out(&format!("{}\n", format_args!($($arg)*))) {
            return ExitCode::SUCCESS;
        }
    };
}


pub fn doctor(args: DoctorArgs) -> ExitCode {
    block_on(async move {
        let engine = Engine::new(engine_settings());
        let current = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
        let start = args
            .file
            .as_ref()
            .and_then(|file| current.join(file).canonicalize().ok())
            .and_then(|file| file.parent().map(PathBuf::from))
            .unwrap_or_else(|| current.clone());
        let project_root = workspace::find_project_root(&start);
        match &project_root {
            Some(root) => say!("project root:  {}", root.display()),
            None => say!("project root:  none found (no pyproject.toml, setup.py, .git, ... above {})", start.display()),
        }
        let discovery_root = project_root.clone().unwrap_or(start);
        let found = interpreter::discover(args.run.python.as_deref(), &discovery_root, &engine.settings().discovery_env);
        let found = match found {
            Ok(found) => found,
            Err(err) => return fail(&err),
        };
        say!("interpreter:   {} ({})", found.path.display(), found.source);
        let preflight = match interpreter::preflight(&found.path).await {
            Ok(preflight) => preflight,
            Err(err) => return fail(&err),
        };
        say!("python:        {}", preflight.python_version);
        say!("scalene:       {}", preflight.scalene_version);
        say!("temp dir:      {} (each run gets its own {}* folder there)", engine.settings().temp_root.display(), runner::RUN_DIR_PREFIX);
        // The plan of the run `profile` would make with the same options (for a placeholder file
        // when none is named): the same request, the same planning, the same start-up choice.
        let target = Program::Script(args.file.clone().unwrap_or_else(|| PathBuf::from(PLACEHOLDER)));
        let request = match args.run.request(target.clone(), Vec::new(), ProgramIo::Terminal { stdout_to_stderr: false }) {
            Ok(request) => request,
            Err(problem) => {
                eprintln!("error: {problem}");
                return ExitCode::from(exit::USAGE);
            }
        };
        let planned = match &args.file {
            Some(_) => engine.plan(&request).await,
            None => engine.plan_program(&request, target, &discovery_root).await,
        };
        let mut plan = match planned {
            Ok(plan) => plan,
            Err(err) => return fail(&err),
        };
        engine.settle_startup(&mut plan).await;
        let spec = &plan.spec;
        let start_up = if !spec.startup_env.is_empty() {
            "shortcut: the environment Scalene would re-launch itself with is set up front (verified here; --no-shortcut turns it off)"
        } else if args.run.no_shortcut {
            "Scalene's own (it re-launches itself): --no-shortcut"
        } else {
            "Scalene's own (it re-launches itself): the shortcut did not give a complete profile with this interpreter"
        };
        say!("start-up:      {start_up}");
        let output = engine.settings().temp_root.join(format!("{}XXXX", runner::RUN_DIR_PREFIX)).join(runner::PROFILE_FILE);
        say!("working dir:   {}", spec.cwd.display());
        say!("command:       {}", runner::display_command(spec, &output));
        say!("ok: this interpreter can profile with Scalene {}", preflight.scalene_version);
        ExitCode::SUCCESS
    })
}
