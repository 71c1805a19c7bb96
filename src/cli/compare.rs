//! `scalene-lsp compare A B`: two profiles (saved names or files) compared line by line and function by
//! function; a coloured, diff-like view, the comparison JSON, or a CI report (`--format markdown | sarif
//! | github`, with paths relative to the repository root); `--fail-on` for CI.

use std::fmt::Write as _;
use std::io::Write;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::paint::Paint;

use super::saved::StoreArgs;
use super::{exit, fail};
use crate::engine::profile::compare::ci::{self, CiContext};
use crate::engine::profile::compare::{self, Comparison, Delta, Metrics, NoiseRule, Verdict};
use crate::engine::keep::storage::{self, Store};
use crate::engine::{EngineError, Profile};

/// The noise rule's knobs (docs/schema.md, "Noise rule").
#[derive(Debug, Clone, clap::Args)]
pub struct NoiseArgs {
    /// A change must be at least this percent of the before value.
    #[arg(long, value_name = "PERCENT", default_value_t = NoiseRule::default().min_change_percent)]
    pub min_change: f64,
    /// A CPU change must be at least this percent of the longer run's elapsed time.
    #[arg(long, value_name = "PERCENT", default_value_t = NoiseRule::default().min_cpu_percent)]
    pub min_cpu: f64,
    /// A memory change (MB allocated, or the peak) must be at least this many MB.
    #[arg(long, value_name = "MB", default_value_t = NoiseRule::default().min_mb)]
    pub min_mb: f64,
    /// The comparison's error budget: the chance, percent, that unchanged code gets anything named.
    #[arg(long, value_name = "PERCENT", default_value_t = NoiseRule::default().error_rate_percent)]
    pub error_rate: f64,
}

impl NoiseArgs {
    pub fn rule(&self) -> Result<NoiseRule, String> {
        let rule = NoiseRule {
            min_change_percent: self.min_change,
            min_cpu_percent: self.min_cpu,
            min_mb: self.min_mb,
            error_rate_percent: self.error_rate,
        };
        rule.check().map_err(|problem| problem.replace("min_change_percent", "--min-change").replace("min_cpu_percent", "--min-cpu").replace("min_mb", "--min-mb").replace("error_rate_percent", "--error-rate"))?;
        Ok(rule)
    }
}

fn verdict_parser() -> impl clap::builder::TypedValueParser<Value = Verdict> {
    use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
    PossibleValuesParser::new([
        PossibleValue::new("regressed").help("any line, function, file, elapsed time or peak got slower or bigger"),
        PossibleValue::new("improved"),
        PossibleValue::new("new").help("new lines or functions with a cost above the noise floors"),
        PossibleValue::new("removed"),
    ])
    .map(|name| Verdict::parse(&name).expect("every possible value is a verdict"))
}

#[derive(Debug, clap::Args)]
pub struct CompareArgs {
    /// The before profile: a saved name (e.g. `baseline`), or a file: a Scalene JSON, the output of
    /// `scalene-lsp profile --json`, or a saved profile's file. An existing file wins over a name.
    pub before: String,
    /// The after profile (the same kinds).
    pub after: String,
    /// What to print: the terminal view (text), the comparison JSON (docs/schema.md), or a report for CI
    /// (docs/ci.md): a pull-request comment (markdown), SARIF 2.1.0 for code scanning (sarif), GitHub
    /// Actions annotations (github).
    #[arg(long, value_enum, default_value_t = CompareFormat::Text, conflicts_with = "json")]
    pub format: CompareFormat,
    /// The same as `--format json`.
    #[arg(long)]
    pub json: bool,
    /// The folder the CI reports' paths are relative to (default: the git repository around the after
    /// profile's files).
    #[arg(long, value_name = "DIR")]
    pub repo_root: Option<PathBuf>,
    /// Exit with code 5 when the comparison finds any of these (comma-separated), for CI.
    #[arg(long, value_name = "VERDICT", value_delimiter = ',', value_parser = verdict_parser())]
    pub fail_on: Vec<Verdict>,
    /// Also list unchanged functions and lines.
    #[arg(long)]
    pub all: bool,
    /// Compare even when the two profiles look like different programs (a renamed or rewritten one).
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub noise: NoiseArgs,
    #[command(flatten)]
    pub store: StoreArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CompareFormat {
    /// The terminal view: a diff-like list of what changed.
    Text,
    /// The comparison JSON (docs/schema.md).
    Json,
    /// A pull-request comment: verdict, top changes with links to their lines, limits, how to reproduce.
    Markdown,
    /// SARIF 2.1.0: a result per regressed (warning) or improved (note) function and line.
    Sarif,
    /// GitHub Actions workflow commands: ::warning / ::notice on the lines.
    Github,
}

/// A compare input: an existing file, else a saved name.
pub fn load_side(store: &Store, given: &str) -> Result<(Profile, String), EngineError> {
    let path = Path::new(given);
    if path.is_file() {
        return Ok((crate::engine::load_profile_file(path, crate::engine::keep::profile_file::DEFAULT_MAX_PROFILE_BYTES)?, given.to_string()));
    }
    if storage::check_name(given).is_ok() {
        return Ok((store.load(given)?.profile, given.to_string()));
    }
    Err(EngineError::CannotCompare {
        reason: format!("{given:?} is neither an existing file nor the name of a saved profile"),
        fix: "pass a saved name (`scalene-lsp saved list`), a Scalene JSON file, or the output of `scalene-lsp profile --json`".into(),
    })
}

pub fn compare(args: CompareArgs) -> ExitCode {
    let rule = match args.noise.rule() {
        Ok(rule) => rule,
        Err(problem) => {
            eprintln!("error: {problem}");
            return ExitCode::from(exit::USAGE);
        }
    };
    let store = args.store.store();
    let sides = load_side(&store, &args.before).and_then(|before| Ok((before, load_side(&store, &args.after)?)));
    let ((before, before_label), (after, after_label)) = match sides {
        Ok(sides) => sides,
        Err(err) => return fail(&err),
    };
    if let Err(err) = compare::check((&before_label, &before), (&after_label, &after), args.force) {
        return fail(&err);
    }
    let comparison = compare::compare(&before, &before_label, &after, &after_label, &rule);
    let format = if args.json { CompareFormat::Json } else { args.format };
    let context = || match ci_context(&comparison, args.repo_root.as_deref()) {
        Ok(context) => Ok(context),
        Err(problem) => {
            eprintln!("error: {problem}");
            Err(ExitCode::from(exit::USAGE))
        }
    };
    let text = match format {
        CompareFormat::Json => serde_json::to_string_pretty(&comparison).expect("a comparison serializes") + "\n",
        CompareFormat::Text => render(&comparison, &CompareView { color: super::use_color(), all: args.all }),
        CompareFormat::Markdown | CompareFormat::Sarif | CompareFormat::Github => {
            let context = match context() {
                Ok(context) => context,
                Err(code) => return code,
            };
            match format {
                CompareFormat::Markdown => ci::markdown::render(&comparison, &context),
                CompareFormat::Sarif => ci::sarif::render(&comparison, &context),
                _ => ci::github::render(&comparison, &context),
            }
        }
    };
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush());
    let found: Vec<&str> = args
        .fail_on
        .iter()
        .filter(|verdict| found_any(&comparison, **verdict))
        .map(|verdict| verdict.as_str())
        .collect();
    if found.is_empty() {
        ExitCode::from(exit::OK)
    } else {
        eprintln!("scalene-lsp compare: found {} (--fail-on): exit code {}", found.join(", "), exit::COMPARE_FAILED);
        ExitCode::from(exit::COMPARE_FAILED)
    }
}

/// The CI reports' context: the repository root (`--repo-root`, else the git repository around the after
/// profile's program or files), each compared path relative to it, and full links to lines when GitHub
/// Actions' variables say where the commit is.
fn ci_context(comparison: &Comparison, repo_root: Option<&Path>) -> Result<CiContext, String> {
    let canonical = |path: &Path| std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let root = match repo_root {
        Some(dir) if dir.is_dir() => Some(canonical(dir)),
        Some(dir) => return Err(format!("--repo-root {} is not a folder: pass the repository's root folder (e.g. --repo-root .)", dir.display())),
        None => std::iter::once(comparison.after.program.as_str())
            .chain(comparison.files.iter().filter(|file| file.after.is_some()).map(|file| file.path.as_str()))
            .find_map(|path| canonical(Path::new(path)).ancestors().skip(1).find(|dir| dir.join(".git").exists()).map(Path::to_path_buf)),
    };
    let mut relative = HashMap::new();
    let mut outside = Vec::new();
    if let Some(root) = &root {
        // Only the after side's files are shown on lines; a removed file outside the root is no problem.
        let paths = comparison.files.iter().map(|file| (file.path.as_str(), file.after.is_some())).chain([(comparison.after.program.as_str(), false)]);
        for (path, shown) in paths {
            match canonical(Path::new(path)).strip_prefix(root) {
                Ok(inside) => {
                    let parts: Vec<String> = inside.components().map(|part| part.as_os_str().to_string_lossy().into_owned()).collect();
                    relative.insert(path.to_string(), parts.join("/"));
                }
                Err(_) if shown => outside.push(path.to_string()),
                Err(_) => {}
            }
        }
    }
    match &root {
        None => eprintln!("warning: the after profile's files are in no git repository: the report's paths stay absolute (pass --repo-root DIR)"),
        Some(root) if !outside.is_empty() => eprintln!(
            "warning: {} is outside the repository root {}: its path stays absolute (pass --repo-root DIR)",
            outside.join(", "),
            root.display()
        ),
        Some(_) => {}
    }
    let variable = |name: &str| std::env::var(name).ok().filter(|value| !value.is_empty());
    let blob_base = match (variable("GITHUB_SERVER_URL"), variable("GITHUB_REPOSITORY"), variable("GITHUB_SHA")) {
        (Some(server), Some(repository), Some(sha)) => Some(format!("{}/{repository}/blob/{sha}/", server.trim_end_matches('/'))),
        _ => None,
    };
    Ok(CiContext { relative, root: root.map(|root| root.display().to_string()), blob_base, tool_version: env!("CARGO_PKG_VERSION").to_string() })
}

/// True when anything in the comparison has this verdict (`regressed` also counts elapsed and peak).
pub fn found_any(comparison: &Comparison, verdict: Verdict) -> bool {
    let summary = &comparison.summary;
    summary.lines.get(verdict) + summary.functions.get(verdict) + summary.files.get(verdict) > 0
        || [comparison.overall.elapsed_s.verdict, comparison.overall.peak_mb.verdict].contains(&verdict)
}

pub struct CompareView {
    pub color: bool,
    /// List unchanged functions and lines too.
    pub all: bool,
}

/// The marker of a row: a diff-like first column.
fn marker(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Regressed => "▲",
        Verdict::Improved => "▼",
        Verdict::New => "+",
        Verdict::Removed => "-",
        Verdict::Unchanged => " ",
    }
}

fn order(verdict: Verdict) -> u8 {
    match verdict {
        Verdict::Regressed => 0,
        Verdict::Improved => 1,
        Verdict::New => 2,
        Verdict::Removed => 3,
        Verdict::Unchanged => 4,
    }
}

fn file_name(path: &str) -> &str {
    crate::engine::units::short_name_str(path)
}

/// `0.31 s → 0.95 s CPU (+206%) · 12.0 → 52.0 MB (+333%)`: CPU always, memory when either side has some.
fn change_text(before: Option<&Metrics>, after: Option<&Metrics>, delta: &Delta, memory: bool) -> String {
    let mut text = compare::describe_cpu(before, after, delta);
    let peak = |m: Option<&Metrics>| m.map_or(0.0, |m| m.peak_mb);
    if memory && (peak(before) > 0.0 || peak(after) > 0.0) {
        text.push_str(" · ");
        text.push_str(&compare::describe_memory(before, after, delta));
    }
    text
}

fn location(path: &str, after_line: Option<u32>, before_line: Option<u32>) -> String {
    match (after_line, before_line) {
        (Some(after), Some(before)) if after != before => format!("{}:{after} (was {before})", file_name(path)),
        (Some(after), _) => format!("{}:{after}", file_name(path)),
        (None, Some(before)) => format!("{}:{before} (before)", file_name(path)),
        (None, None) => file_name(path).to_string(),
    }
}

fn side_line(paint: &Paint, word: &str, summary: &compare::RunSummary) -> String {
    let mut text = format!("  {word:<6} {} · {}", paint.bold(&summary.label), summary.program);
    let _ = write!(text, " · {:.2} s", summary.elapsed_s);
    if summary.memory {
        let _ = write!(text, " · peak {:.1} MB", summary.peak_mb);
    }
    if summary.runs > 1 {
        let _ = write!(text, " · mean of {} runs", summary.runs);
    }
    if summary.status != "ok" {
        let _ = write!(text, " · {}", summary.status);
    }
    if let Some(commit) = &summary.git_commit {
        let _ = write!(text, " · git {}{}", &commit[..commit.len().min(10)], if summary.git_dirty == Some(true) { "+dirty" } else { "" });
    }
    text.push('\n');
    text
}

fn overall_text(name: &str, change: &compare::OverallChange, unit: &str) -> String {
    let percent = change.change_percent.map(|p| format!(" ({p:+.0}%)")).unwrap_or_default();
    let digits = if unit == "s" { 2 } else { 1 };
    let verdict = if change.judged { change.verdict.as_str() } else { "(not judged: single runs)" };
    format!("{name} {:.digits$} → {:.digits$} {unit}{percent} {verdict}", change.before, change.after)
}

/// The terminal view: header, overall, changed functions, changed lines, counts. Pure.
pub fn render(comparison: &Comparison, options: &CompareView) -> String {
    let paint = Paint { color: options.color };
    let memory = comparison.before.memory && comparison.after.memory;
    let mut out = String::new();
    let _ = writeln!(out, "{}", paint.bold(&format!("Comparing {} → {}", comparison.before.label, comparison.after.label)));
    out.push_str(&side_line(&paint, "before", &comparison.before));
    out.push_str(&side_line(&paint, "after", &comparison.after));
    let overall = &comparison.overall;
    let mut overall_line = format!("  {}", paint.verdict(overall.elapsed_s.verdict, &overall_text("elapsed", &overall.elapsed_s, "s")));
    if memory {
        overall_line.push_str(" · ");
        overall_line.push_str(&paint.verdict(overall.peak_mb.verdict, &overall_text("peak", &overall.peak_mb, "MB")));
    }
    let _ = writeln!(out, "{overall_line}");
    let _ = writeln!(out, "{}", paint.dim(&format!("  {}", compare::rule_sentence(&comparison.rule))));

    let mut functions: Vec<&compare::FunctionChange> =
        comparison.functions.iter().filter(|f| options.all || f.verdict != Verdict::Unchanged).collect();
    functions.sort_by(|a, b| order(a.verdict).cmp(&order(b.verdict)).then(b.delta.cpu_s.abs().total_cmp(&a.delta.cpu_s.abs())));
    if !functions.is_empty() {
        let _ = writeln!(out, "\n{}", paint.bold("functions"));
        let name_width = functions.iter().map(|f| f.name.chars().count()).max().unwrap_or(0).min(40);
        let where_width = functions.iter().map(|f| location(&f.path, f.after_line, f.before_line).chars().count()).max().unwrap_or(0);
        for function in functions {
            let row = format!(
                "{} {:<name_width$}  {:<where_width$}  {}  {}",
                marker(function.verdict),
                function.name,
                location(&function.path, function.after_line, function.before_line),
                change_text(function.before.as_ref(), function.after.as_ref(), &function.delta, memory),
                function.verdict.as_str(),
            );
            let _ = writeln!(out, "  {}", paint.verdict(function.verdict, &row));
        }
    }
    let mut lines: Vec<&compare::LineChange> = comparison.lines.iter().filter(|l| options.all || l.verdict != Verdict::Unchanged).collect();
    lines.sort_by(|a, b| order(a.verdict).cmp(&order(b.verdict)).then(b.delta.cpu_s.abs().total_cmp(&a.delta.cpu_s.abs())));
    if !lines.is_empty() {
        let _ = writeln!(out, "\n{}", paint.bold("lines"));
        let where_width = lines.iter().map(|l| location(&l.path, l.after_line, l.before_line).chars().count()).max().unwrap_or(0);
        let change_width = lines
            .iter()
            .map(|l| change_text(l.before.as_ref(), l.after.as_ref(), &l.delta, memory).chars().count())
            .max()
            .unwrap_or(0);
        for line in lines {
            let change = change_text(line.before.as_ref(), line.after.as_ref(), &line.delta, memory);
            let mut source: String = line.source.chars().take(60).collect();
            if let Some(before_source) = &line.before_source {
                let before_source: String = before_source.chars().take(40).collect();
                source = format!("{source}  (was: {before_source})");
            }
            let row = format!(
                "{} {:<where_width$}  {:<change_width$}  {:<9}",
                marker(line.verdict),
                location(&line.path, line.after_line, line.before_line),
                change,
                line.verdict.as_str(),
            );
            let _ = writeln!(out, "  {}  {}", paint.verdict(line.verdict, &row), source);
        }
    }
    if comparison.functions.iter().all(|f| f.verdict == Verdict::Unchanged)
        && comparison.lines.iter().all(|l| l.verdict == Verdict::Unchanged)
    {
        let _ = writeln!(out, "\nNo function or line changed beyond the noise rule.");
    }
    for note in &comparison.notes {
        let _ = writeln!(out, "{}", paint.dim(&format!("note: {note}")));
    }
    let counts = |c: &compare::Counts| {
        format!("{} regressed, {} improved, {} unchanged, {} new, {} removed", c.regressed, c.improved, c.unchanged, c.new, c.removed)
    };
    let summary = &comparison.summary;
    let _ = writeln!(
        out,
        "\n{} · functions: {} · lines: {}",
        paint.verdict(summary.verdict, summary.verdict.as_str()),
        counts(&summary.functions),
        counts(&summary.lines)
    );
    if let Some(limits) = &summary.limits {
        let _ = writeln!(out, "{}", paint.dim(limits));
    }
    out
}
