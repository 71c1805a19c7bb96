//! `scalene-lsp saved list|show|delete|cleanup|clear`, and saving after `profile --save` / `show --save`.

use std::path::PathBuf;
use std::process::ExitCode;

use super::{exit, fail};
use crate::engine::profile::schema::ProfileJson;
use crate::engine::keep::storage::{self, SavedEntry, Store, StoreSettings};
use crate::engine::{EngineError, Profile};

/// `--store DIR` (or $SCALENE_LSP_STORE): where saved profiles live.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct StoreArgs {
    /// The folder of saved profiles (default: $SCALENE_LSP_STORE, else $XDG_DATA_HOME/scalene-lsp/profiles,
    /// else ~/.local/share/scalene-lsp/profiles). Created 0700 on the first save.
    // Not clap's `env`: an empty $SCALENE_LSP_STORE means "not set" (`storage::default_dir`), as for
    // `serve`, where clap would refuse it as a missing value.
    #[arg(long, value_name = "DIR", global = true)]
    pub store: Option<PathBuf>,
}

impl StoreArgs {
    /// `--store DIR`, else the default store (`storage::default_dir`); a relative folder is taken from
    /// the current directory.
    pub fn settings(&self) -> StoreSettings {
        let mut settings = StoreSettings::default();
        if let Some(dir) = &self.store {
            settings.dir = Some(dir.clone());
        }
        let current = std::env::current_dir().unwrap_or_default();
        settings.dir = settings.dir.map(|dir| current.join(dir));
        settings
    }

    pub fn store(&self) -> Store {
        Store::new(self.settings())
    }
}

#[derive(Debug, clap::Args)]
pub struct SavedArgs {
    #[command(subcommand)]
    pub command: SavedCommand,
    #[command(flatten)]
    pub store: StoreArgs,
}

#[derive(Debug, clap::Subcommand)]
pub enum SavedCommand {
    /// The saved profiles, newest first.
    List {
        /// Print JSON (an array of each profile's metadata).
        #[arg(long)]
        json: bool,
    },
    /// Show a saved profile like `show` does.
    Show {
        name: String,
        /// Print the normalized JSON (docs/schema.md) instead of the terminal view.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        exports: super::export::ExportArgs,
    },
    /// Delete a saved profile.
    Delete {
        name: String,
        /// Print `{"deleted": true, "name": ...}`.
        #[arg(long)]
        json: bool,
    },
    /// Delete saved profiles older than some days, or the oldest beyond a count or size.
    Cleanup {
        /// Delete the profiles saved more than this many days ago.
        #[arg(long, value_name = "DAYS", required_unless_present_any = ["max_count", "max_mb"])]
        older_than: Option<f64>,
        /// Keep at most this many profiles (the oldest go first).
        #[arg(long, value_name = "N")]
        max_count: Option<usize>,
        /// Keep at most this many MB of profiles (the oldest go first).
        #[arg(long, value_name = "MB")]
        max_mb: Option<f64>,
        #[arg(long)]
        json: bool,
    },
    /// Delete every saved profile.
    Clear {
        #[arg(long)]
        json: bool,
    },
}

/// Prints to stdout; a closed stdout (`| head -1`) ends the command quietly.
fn print(text: &str) -> ExitCode {
    super::out(text);
    ExitCode::SUCCESS
}

fn usage(message: String) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(exit::USAGE)
}

/// A name checked before anything runs (a bad name is a usage error, and nothing is written).
pub fn check_save_name(name: Option<&str>) -> Result<(), ExitCode> {
    match name.map(storage::check_name) {
        Some(Err(err)) => Err(usage(err.to_string())),
        _ => Ok(()),
    }
}

/// After `profile --save NAME` or `show --save NAME`: saves and says where on stderr. Returns the exit
/// code to use instead of the profile's when saving failed.
pub fn save_after(store: &Store, name: Option<&str>, profile: &Profile) -> Option<ExitCode> {
    let name = name?;
    match store.save(name, profile) {
        Ok(saved) => {
            let partial = if profile.status.is_partial() { format!(" (status {}: partial)", profile.status.as_str()) } else { String::new() };
            eprintln!("saved as {name}{partial}: {}", saved.path.display());
            for old in saved.evicted {
                eprintln!("removed the old saved profile {old} (the store keeps at most {} profiles and {} MB)", store.settings().max_profiles, crate::engine::units::mb(store.settings().max_bytes));
            }
            None
        }
        Err(err) => Some(fail(&err)),
    }
}

fn problems(listing: &storage::Listing) {
    for problem in &listing.problems {
        eprintln!("warning: {problem}");
    }
}

fn short_commit(entry: &SavedEntry) -> String {
    match (&entry.meta.git_commit, entry.meta.git_dirty) {
        (Some(commit), dirty) => format!("{}{}", &commit[..commit.len().min(10)], if dirty == Some(true) { "+dirty" } else { "" }),
        (None, _) => "·".into(),
    }
}

fn list_text(entries: &[SavedEntry]) -> String {
    if entries.is_empty() {
        return "No saved profiles. Save one with `scalene-lsp profile app.py --save baseline`.\n".into();
    }
    let width = entries.iter().map(|entry| entry.meta.name.len()).max().unwrap_or(4).max(4);
    let mut text = format!("{:<width$}  {:<20}  {:<6}  {:>8}  {:>8}  {:>4}  {:<16}  program\n", "name", "saved (UTC)", "mode", "elapsed", "peak MB", "runs", "git");
    for entry in entries {
        let meta = &entry.meta;
        text.push_str(&format!(
            "{:<width$}  {:<20}  {:<6}  {:>6.2} s  {:>8.1}  {:>4}  {:<16}  {}{}\n",
            meta.name,
            meta.created.replace('T', " ").trim_end_matches('Z'),
            meta.mode.as_str(),
            meta.elapsed_s,
            meta.peak_mb,
            meta.runs,
            short_commit(entry),
            meta.program,
            if meta.status != "ok" { format!(" ({})", meta.status) } else { String::new() },
        ));
    }
    text
}

pub fn saved(args: SavedArgs) -> ExitCode {
    let store = args.store.store();
    match run(&store, args.command) {
        Ok(code) => code,
        Err(err) => fail(&err),
    }
}

fn run(store: &Store, command: SavedCommand) -> Result<ExitCode, EngineError> {
    Ok(match command {
        SavedCommand::List { json } => {
            let listing = store.list()?;
            problems(&listing);
            if json {
                let metas: Vec<_> = listing.entries.iter().map(|entry| &entry.meta).collect();
                print(&(serde_json::to_string_pretty(&metas).expect("metadata serializes") + "\n"))
            } else {
                print(&list_text(&listing.entries))
            }
        }
        SavedCommand::Show { name, json, exports } => {
            let exports = match exports.check() {
                Ok(exports) => exports,
                Err(code) => return Ok(code),
            };
            let saved = store.load(&name)?;
            let code = if json {
                print(&(serde_json::to_string_pretty(&ProfileJson::from(&saved.profile)).expect("the schema serializes") + "\n"))
            } else {
                let meta = &saved.meta;
                let mut text = format!("saved profile {} · saved {} · {} run(s)", meta.name, meta.created, meta.runs);
                if let Some(commit) = &meta.git_commit {
                    text.push_str(&format!(" · git {commit}{}", if meta.git_dirty == Some(true) { " (uncommitted changes)" } else { "" }));
                }
                if let (Some(python), Some(version)) = (&meta.interpreter, &meta.python_version) {
                    text.push_str(&format!(" · {python} (Python {version})"));
                }
                text.push('\n');
                text.push_str(&match saved.profile.tests.as_deref() {
                    Some(suite) => super::tests_view::render(&saved.profile, suite, &std::env::current_dir().unwrap_or_default(), super::use_color()),
                    None => super::render::render(&saved.profile, &super::render::RenderOptions { color: super::use_color(), source_width: 80 }),
                });
                print(&text)
            };
            exports.write(&saved.profile).unwrap_or(code)
        }
        SavedCommand::Delete { name, json } => {
            if store.delete(&name)? {
                if json {
                    print(&(serde_json::json!({ "deleted": true, "name": name }).to_string() + "\n"));
                } else {
                    eprintln!("deleted {name}");
                }
                ExitCode::SUCCESS
            } else {
                let known: Vec<String> = store.list()?.entries.into_iter().map(|entry| entry.meta.name).collect();
                eprintln!(
                    "error: no saved profile is named {name:?} (saved: {}). Fix: `scalene-lsp saved list` shows the names.",
                    if known.is_empty() { "none".to_string() } else { known.join(", ") }
                );
                ExitCode::from(exit::NO_PROFILE)
            }
        }
        SavedCommand::Cleanup { older_than, max_count, max_mb, json } => {
            problems(&store.list()?);
            let mut removed = Vec::new();
            if let Some(days) = older_than {
                let age = match crate::engine::limits::days("--older-than", days) {
                    Ok(age) => age,
                    Err(problem) => return Ok(usage(problem)),
                };
                removed.extend(store.cleanup_old(age)?);
            }
            if max_count.is_some() || max_mb.is_some() {
                if let Some(mb) = max_mb.filter(|mb| !(mb.is_finite() && *mb >= 0.0)) {
                    return Ok(usage(format!("--max-mb must be a number >= 0, got {mb}")));
                }
                let max_bytes = max_mb.map_or(u64::MAX, crate::engine::units::bytes);
                removed.extend(store.enforce_quota(max_count.unwrap_or(usize::MAX), max_bytes, None)?);
            }
            report_removed(&removed, json)
        }
        SavedCommand::Clear { json } => {
            problems(&store.list()?);
            let removed = store.clear_all()?;
            report_removed(&removed, json)
        }
    })
}

fn report_removed(removed: &[String], json: bool) -> ExitCode {
    if json {
        print(&(serde_json::json!({ "removed": removed }).to_string() + "\n"))
    } else if removed.is_empty() {
        print("Nothing to remove.\n")
    } else {
        print(&format!("removed {} saved profile(s): {}\n", removed.len(), removed.join(", ")))
    }
}
