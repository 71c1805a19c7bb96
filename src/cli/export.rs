//! `--flamegraph FILE`, `--export FORMAT FILE` and `--export-weight` of `profile`, `show` and
//! `saved show`: the files checked before anything runs, then each made by the engine
//! (engine/profile/export.rs) and written atomically (a temp file in the same folder, renamed over the
//! target). Formats and their viewers: docs/cli.md, "Exports".

use std::path::PathBuf;
use std::process::ExitCode;

use super::{exit, fail};
use crate::engine::keep::export_file;
use crate::engine::{EngineError, Profile};
use crate::engine::profile::call_paths::Weight;
use crate::engine::profile::export::{ExportFormat, export};

#[derive(Debug, Clone, Default, clap::Args)]
pub struct ExportArgs {
    /// Write an SVG flame graph of the call paths to FILE (made with inferno; open it in a browser).
    #[arg(long, value_name = "FILE")]
    pub flamegraph: Option<PathBuf>,
    /// Write the call paths as FORMAT to FILE (repeatable): speedscope (speedscope.app), collapsed
    /// (folded stacks: inferno, flamegraph.pl), cpuprofile (VS Code's flame chart, Chrome DevTools),
    /// flamegraph (SVG).
    #[arg(long, num_args = 2, value_names = ["FORMAT", "FILE"], action = clap::ArgAction::Append)]
    pub export: Vec<String>,
    /// What the flame graph and exports weigh: CPU samples, or (a memory-mode profile) KB allocated.
    #[arg(long, value_name = "WEIGHT", value_parser = ["cpu", "memory"], default_value = "cpu")]
    pub export_weight: String,
}

/// One file to write.
#[derive(Debug)]
struct Target {
    format: ExportFormat,
    path: PathBuf,
}

/// The checked exports of one command.
#[derive(Debug)]
pub struct Exports {
    targets: Vec<Target>,
    weight: Weight,
}

fn usage(message: String) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(exit::USAGE)
}

impl ExportArgs {
    /// The exports asked for, checked before anything runs (a known format; a file in an existing
    /// folder, named once). Err: the usage error, said, as its exit code.
    pub fn check(&self) -> Result<Exports, ExitCode> {
        let weight = if self.export_weight == "memory" { Weight::Memory } else { Weight::Cpu };
        let mut targets: Vec<Target> = Vec::new();
        if let Some(path) = &self.flamegraph {
            targets.push(Target { format: ExportFormat::Flamegraph, path: path.clone() });
        }
        for pair in self.export.chunks(2) {
            let [format, path] = pair else { return Err(usage("--export takes FORMAT FILE".into())) };
            let format = format.parse::<ExportFormat>().map_err(|problem| usage(format!("--export: {problem}")))?;
            targets.push(Target { format, path: PathBuf::from(path) });
        }
        for (index, target) in targets.iter().enumerate() {
            if let Some(problem) = export_file::unwritable(&target.path) {
                return Err(usage(format!("cannot write {} to {:?}: {problem}", target.format.describe(), target.path)));
            }
            if targets[..index].iter().any(|earlier| earlier.path == target.path) {
                return Err(usage(format!("{:?} is named for two exports. Fix: give each export its own file.", target.path)));
            }
        }
        Ok(Exports { targets, weight })
    }
}

impl Exports {
    pub fn is_empty(&self) -> bool {
        self.targets.is_empty()
    }

    /// Makes every file (nothing is written when one cannot be made: the profile has no call paths),
    /// then writes each atomically and says so on stderr. None when all were written; else the exit
    /// code of the failure, said.
    pub fn write(&self, profile: &Profile) -> Option<ExitCode> {
        let mut made = Vec::with_capacity(self.targets.len());
        for target in &self.targets {
            match export(profile, target.format, self.weight) {
                Ok(bytes) => made.push((target, bytes)),
                Err(err) => return Some(fail(&err)),
            }
        }
        for (target, bytes) in made {
            if let Err(err) = export_file::write_atomically(&target.path, &bytes) {
                return Some(fail(&EngineError::io(format!("cannot write {} to {:?}", target.format.describe(), target.path), err)));
            }
            let what = match self.weight {
                Weight::Cpu => "CPU samples",
                Weight::Memory => "memory allocated",
            };
            eprintln!("wrote {} ({what}): {}", target.format.describe(), target.path.display());
        }
        None
    }
}

