//! Compact views of engine profiles for agents: the one place that turns engine numbers into tool
//! outputs (rounded, bounded, paths relative to the workspace root, no sample arrays).

use std::path::Path;
use std::sync::Arc;
use std::time::SystemTime;

use super::params::*;
use super::params::saved::*;

pub mod call_paths;
pub mod suite;
use crate::engine::workspace::Roots;
use crate::engine::{Engine, RunInfo};
use crate::engine::keep::cache::CachedProfile;
use crate::engine::profile::schema::LineJson;
use crate::engine::profile::model::{FileProfile, LineStats, Profile, RunStatus, ranked_functions, ranked_lines};

const SOURCE_CHARS: usize = 120;
const STDERR_CHARS: usize = 2000;
/// Leaks below this likelihood are not worth an agent's attention in a summary.
const LEAK_SUMMARY_LIKELIHOOD: f64 = 0.5;

pub fn source_text(text: &str) -> String {
    let trimmed = text.trim();
    if trimmed.chars().count() <= SOURCE_CHARS {
        trimmed.to_string()
    } else {
        let mut short: String = trimmed.chars().take(SOURCE_CHARS - 1).collect();
        short.push('…');
        short
    }
}

fn tail(text: &str, max_chars: usize) -> String {
    let count = text.chars().count();
    if count <= max_chars {
        return text.to_string();
    }
    let skipped: String = text.chars().skip(count - max_chars).collect();
    format!("…{skipped}")
}

pub fn program_display(profile: &Profile, roots: &Roots) -> String {
    let program = Path::new(&profile.program);
    if program.is_absolute() { roots.display(program) } else { profile.program.clone() }
}

pub fn hot_line(file: &FileProfile, line: &LineStats, roots: &Roots, gpu: bool) -> HotLine {
    HotLine {
        path: roots.display(&file.path),
        line: line.line,
        source: source_text(&line.text),
        cpu_percent: round2(line.cpu_total()),
        peak_mb: round2(line.metrics.peak_mb),
        alloc_mb: round2(line.metrics.alloc_mb),
        gpu_percent: gpu.then(|| round2(line.metrics.gpu_percent)),
        leak_likelihood: file.leak(line.line).map(|leak| round3(leak.likelihood)),
    }
}

pub fn line_numbers(line: &LineStats) -> LineNumbers {
    LineNumbers { numbers: LineJson::from(line), source: source_text(&line.text) }
}

pub fn function_row(file: &FileProfile, function: &crate::engine::profile::model::FunctionStats, roots: &Roots) -> FunctionRow {
    FunctionRow {
        path: roots.display(&file.path),
        name: function.name.clone(),
        line: function.line,
        end_line: function.end_line,
        cpu_percent: round2(function.cpu_total()),
        cpu_python: round2(function.cpu_python),
        cpu_native: round2(function.cpu_native),
        cpu_system: round2(function.cpu_system),
        peak_mb: round2(function.peak_mb),
        alloc_mb: round2(function.alloc_mb),
        callers: Vec::new(),
    }
}

/// The `limit` best lines for `metric` in `files` (best first), and how many lines rank at all
/// (`model::ranked_lines`).
pub fn top_lines<'a>(
    metric: Metric,
    files: impl Iterator<Item = &'a FileProfile>,
    limit: usize,
) -> (usize, Vec<(&'a FileProfile, &'a LineStats, f64)>) {
    ranked_lines(metric.rank(), files, limit)
}

pub fn failure(profile: &Profile) -> Option<Failure> {
    let reason = match profile.status {
        RunStatus::Ok => return None,
        RunStatus::ProgramFailed => match profile.exit_code {
            Some(code) => format!("the program exited with code {code} (an uncaught exception or sys.exit); the profile covers the run up to that point. Fix the error shown in stderr_tail and profile again."),
            None => "the program failed (killed by a signal or an uncaught exception); the profile covers the run up to that point.".to_string(),
        },
        RunStatus::TooShort => "the program finished before Scalene could take a sample, so there are no numbers. Fix: profile a longer-running workload (loop the code, or use a bigger input).".to_string(),
        RunStatus::Cancelled => "the run was cancelled; the profile covers the run up to the stop.".to_string(),
        RunStatus::TimedOut => "the run hit its time limit; the profile covers the run up to the stop. Fix: pass a larger timeout_s, or a smaller input.".to_string(),
        RunStatus::Running => "the run is still going: this is a live snapshot of the run so far (partial), replaced as Scalene writes newer ones and by the final profile at the end.".to_string(),
    };
    let stderr_tail = profile
        .stderr_tail
        .as_deref()
        .map(str::trim)
        .filter(|text| !text.is_empty())
        .map(|text| tail(text, STDERR_CHARS));
    Some(Failure { reason, stderr_tail })
}

pub fn summary(entry: &CachedProfile, roots: &Roots, limit: usize) -> ProfileSummary {
    let profile = &entry.profile;
    let id = entry.id.to_string();
    let hotspots: Vec<HotLine> = top_lines(Metric::Cpu, profile.files.iter(), limit)
        .1
        .into_iter()
        .map(|(file, line, _)| hot_line(file, line, roots, profile.gpu))
        .collect();
    let functions = ranked_functions(profile.files.iter())
        .into_iter()
        .filter(|(_, function)| function.cpu_total() > 0.0 || function.peak_mb > 0.0 || function.alloc_mb > 0.0)
        .take(limit).map(|(file, function)| function_row(file, function, roots)).collect();
    let mut leaks: Vec<_> = profile
        .files
        .iter()
        .flat_map(|file| file.leaks.iter().map(move |leak| (file, leak)))
        .filter(|(_, leak)| leak.likelihood >= LEAK_SUMMARY_LIKELIHOOD)
        .collect();
    leaks.sort_by(|a, b| b.1.likelihood.total_cmp(&a.1.likelihood));
    let leaks = leaks
        .into_iter()
        .take(limit)
        .map(|(file, leak)| LeakRow {
            path: roots.display(&file.path),
            line: leak.line,
            source: file.line(leak.line).map(|line| source_text(&line.text)).unwrap_or_default(),
            likelihood: round3(leak.likelihood),
            velocity_mb_s: round2(leak.velocity_mb_s),
        })
        .collect();
    let first_file = profile.files.first().map(|file| roots.display(&file.path)).unwrap_or_else(|| program_display(profile, roots));
    let numbers = match &profile.attached {
        Some(attached) => format!(
            "Numbers are py-spy's wall-clock samples of pid {} ({} samples at {} Hz; percent of the samples), not Scalene's CPU time; no memory numbers.",
            attached.pid, attached.samples, attached.rate_hz
        ),
        None => "Numbers are percent of the run's CPU time and MB.".to_string(),
    };
    let more = format!(
        "{numbers} More: hotspots {{\"profile_id\": \"{id}\", \"metric\": \"memory\"|\"cpu\"|\"leaks\", \"limit\": 30}}; every measured line of a file: line_profile {{\"path\": \"{first_file}\"}}; functions: function_profile {{\"path\": \"{first_file}\"}}."
    );
    ProfileSummary {
        profile_id: Some(id),
        run_id: None,
        status: profile.status.as_str().to_string(),
        program: program_display(profile, roots),
        elapsed_s: round2(profile.elapsed_s),
        peak_mb: round2(profile.peak_mb),
        memory: profile.memory,
        source: profile.attached.as_ref().map(|_| crate::engine::profile::model::ATTACHED_SOURCE.to_string()),
        files: profile.files.iter().map(|file| roots.display(&file.path)).collect(),
        hotspots,
        functions,
        leaks,
        notes: profile.notes.clone(),
        failure: failure(profile),
        more,
    }
}

/// `list_profiles` and the `scalene://profiles` resource: the newest `limit` profiles and the runs in
/// progress.
pub fn profile_listing(engine: &Engine, roots: &Roots, limit: usize) -> ListProfilesResult {
    let mut all = engine.cache().list();
    all.reverse();
    let total = all.len();
    let profiles: Vec<ProfileListing> = all.iter().take(limit).map(|entry| listing(entry, roots)).collect();
    let more = if total > profiles.len() {
        format!("{} older profiles: pass a larger limit (up to {MAX_LIMIT}).", total - profiles.len())
    } else if total == 0 {
        "No profiles yet: call profile {\"path\": \"<file>.py\"} (runs the program) or load_profile {\"path\": \"<profile>.json\"}.".into()
    } else {
        "hotspots {\"profile_id\": ...} ranks a profile's lines.".into()
    };
    let runs = engine.runs().iter().map(|run| run_listing(run, roots)).collect();
    ListProfilesResult { profiles, total, running: engine.running().into_iter().map(|id| id.to_string()).collect(), runs, more }
}

fn hottest(profile: &Profile, roots: &Roots) -> Option<String> {
    profile
        .hottest_line()
        .filter(|(_, line)| line.cpu_total() > 0.0)
        .map(|(file, line)| format!("{}:{} ({:.1}% CPU)", roots.display(&file.path), line.line, line.cpu_total()))
}

fn age_s(created: SystemTime) -> f64 {
    round2(SystemTime::now().duration_since(created).map(|age| age.as_secs_f64()).unwrap_or(0.0))
}

fn display_program(program: &str, roots: &Roots) -> String {
    let path = Path::new(program.split("::").next().unwrap_or(program));
    if path.is_absolute() {
        let rest = &program[path.as_os_str().len()..];
        format!("{}{rest}", roots.display(path))
    } else {
        program.to_string()
    }
}

/// A run in progress, for `list_profiles`.
pub fn run_listing(run: &RunInfo, roots: &Roots) -> RunListing {
    RunListing {
        run_id: run.run_id.to_string(),
        program: display_program(&run.program, roots),
        elapsed_s: round2(run.elapsed.as_secs_f64()),
        live: run.live.is_some(),
        recording: run.recording,
        snapshot_profile_id: run.snapshot.as_ref().map(|entry| entry.id.to_string()),
        snapshot_age_s: run.snapshot.as_ref().map(|entry| age_s(entry.profile.created)),
        hottest: run.snapshot.as_ref().and_then(|entry| hottest(&entry.profile, roots)),
    }
}

/// What a tool says about numbers from a live snapshot (None for any other profile).
pub fn snapshot_info(entry: &CachedProfile, engine: &Engine) -> Option<SnapshotInfo> {
    if entry.profile.status != RunStatus::Running {
        return None;
    }
    let run = engine.runs().into_iter().find(|run| run.snapshot.as_ref().is_some_and(|snapshot| snapshot.id == entry.id));
    let age = age_s(entry.profile.created);
    Some(SnapshotInfo {
        run_id: run.as_ref().map(|run| run.run_id.to_string()),
        age_s: age,
        elapsed_s: round2(entry.profile.elapsed_s),
        recording: run.as_ref().map(|run| run.recording),
        note: format!(
            "partial: a live snapshot of a run still going on, written {age:.1} s ago and covering {:.1} s of recorded run; newer snapshots replace it, and the final profile when the run ends",
            entry.profile.elapsed_s
        ),
    })
}

/// The answer of `profile` with wait false: the run started; its numbers come with its snapshots.
pub fn started(run: &RunInfo, roots: &Roots) -> ProfileSummary {
    let id = run.run_id.to_string();
    let what = if run.live.is_some() {
        "Scalene writes a snapshot of the run so far about every second"
    } else {
        "a run that is not live has numbers only when paused and when it ends"
    };
    ProfileSummary {
        profile_id: None,
        run_id: Some(id.clone()),
        status: "running".into(),
        program: display_program(&run.program, roots),
        elapsed_s: 0.0,
        peak_mb: 0.0,
        memory: false,
        source: None,
        files: Vec::new(),
        hotspots: Vec::new(),
        functions: Vec::new(),
        leaks: Vec::new(),
        notes: vec![format!("the run goes on in the background{}", if run.recording { "" } else { " with recording paused" })],
        failure: None,
        more: format!(
            "The run goes on ({what}). Read it with hotspots / line_profile / function_profile {{\"run_id\": \"{id}\"}}; list_profiles → runs shows its state; pause / resume {{\"run_id\": \"{id}\"}} switch recording; cancel {{\"run_id\": \"{id}\"}} stops it and keeps the final profile."
        ),
    }
}

pub fn listing(entry: &Arc<CachedProfile>, roots: &Roots) -> ProfileListing {
    let profile = &entry.profile;
    ProfileListing {
        profile_id: entry.id.to_string(),
        status: profile.status.as_str().to_string(),
        program: program_display(profile, roots),
        origin: entry.key.origin.as_str().to_string(),
        elapsed_s: round2(profile.elapsed_s),
        peak_mb: round2(profile.peak_mb),
        memory: profile.memory,
        age_s: SystemTime::now().duration_since(profile.created).map(|age| age.as_secs()).unwrap_or(0),
        hottest: profile
            .hottest_line()
            .filter(|(_, line)| line.cpu_total() > 0.0)
            .map(|(file, line)| format!("{}:{} ({:.1}% CPU)", roots.display(&file.path), line.line, line.cpu_total())),
        files: profile.files.len(),
    }
}

/// True when the file on disk no longer has the text Scalene profiled.
pub fn is_stale(file: &FileProfile) -> bool {
    if file.source.is_empty() {
        return false;
    }
    match std::fs::read_to_string(&file.path) {
        Ok(text) => !crate::engine::profile::remap::same_lines(&file.source, &text),
        Err(_) => true,
    }
}

/// A saved profile's row (program relative to the workspace root, numbers rounded).
pub fn saved_row(meta: &crate::engine::keep::storage::SavedMeta, roots: &Roots) -> SavedRow {
    let program = Path::new(&meta.program);
    SavedRow {
        name: meta.name.clone(),
        created: meta.created.clone(),
        program: if program.is_absolute() { roots.display(program) } else { meta.program.clone() },
        args: meta.args.clone(),
        mode: meta.mode.as_str().to_string(),
        status: meta.status.clone(),
        elapsed_s: round2(meta.elapsed_s),
        peak_mb: round2(meta.peak_mb),
        runs: meta.runs,
        git_commit: meta.git_commit.clone(),
        git_dirty: meta.git_dirty,
        python_version: meta.python_version.clone(),
        scalene_version: meta.scalene_version.clone(),
    }
}

fn round_metrics(metrics: &mut Option<crate::engine::profile::compare::Metrics>) {
    if let Some(metrics) = metrics {
        metrics.cpu_percent = round2(metrics.cpu_percent);
        metrics.cpu_s = round2(metrics.cpu_s);
        metrics.peak_mb = round2(metrics.peak_mb);
        metrics.alloc_mb = round2(metrics.alloc_mb);
        if let Some(range) = &mut metrics.range {
            for pair in [&mut range.cpu_percent, &mut range.cpu_s, &mut range.peak_mb, &mut range.alloc_mb] {
                *pair = [round2(pair[0]), round2(pair[1])];
            }
        }
    }
}

fn round_delta(delta: &mut crate::engine::profile::compare::Delta) {
    delta.cpu_s = round2(delta.cpu_s);
    delta.cpu_percent = round2(delta.cpu_percent);
    delta.peak_mb = round2(delta.peak_mb);
    delta.alloc_mb = round2(delta.alloc_mb);
    delta.cpu_change_percent = delta.cpu_change_percent.map(round2);
    delta.peak_change_percent = delta.peak_change_percent.map(round2);
}

fn round_test(test: &mut Option<crate::engine::profile::compare::CpuTest>) {
    if let Some(test) = test {
        test.ratio = round2(test.ratio);
        test.interval = [round2(test.interval[0]), round2(test.interval[1])];
        test.detectable_percent = round2(test.detectable_percent);
        // A p-value is read on a log scale: keep three significant digits, not two decimals.
        test.p_value = format!("{:.3e}", test.p_value).parse().unwrap_or(test.p_value);
        test.samples = [test.samples[0].round(), test.samples[1].round()];
    }
}

fn relative(path: &str, roots: &Roots) -> String {
    roots.display(Path::new(path))
}

/// The comparison for agents: only what changed (at most `limit` functions and `limit` lines, the
/// biggest CPU changes first), rounded, with paths relative to the workspace root. Verdicts and counts
/// are the engine's, exactly as `scalene-lsp compare --json` gives them.
pub fn compare_view(comparison: &crate::engine::profile::compare::Comparison, roots: &Roots, limit: usize) -> CompareResult {
    use crate::engine::profile::compare::Verdict;
    let by_size = |a: f64, b: f64| b.abs().total_cmp(&a.abs());
    let mut functions: Vec<_> = comparison.functions.iter().filter(|f| f.verdict != Verdict::Unchanged).cloned().collect();
    functions.sort_by(|a, b| by_size(a.delta.cpu_s, b.delta.cpu_s).then(by_size(a.delta.peak_mb, b.delta.peak_mb)));
    let mut lines: Vec<_> = comparison.lines.iter().filter(|l| l.verdict != Verdict::Unchanged).cloned().collect();
    lines.sort_by(|a, b| by_size(a.delta.cpu_s, b.delta.cpu_s).then(by_size(a.delta.peak_mb, b.delta.peak_mb)));
    let (n_functions, n_lines) = (functions.len(), lines.len());
    functions.truncate(limit);
    lines.truncate(limit);
    for function in &mut functions {
        function.path = relative(&function.path, roots);
        function.before_path = function.before_path.as_deref().map(|path| relative(path, roots));
        round_metrics(&mut function.before);
        round_metrics(&mut function.after);
        round_delta(&mut function.delta);
        round_test(&mut function.cpu_test);
    }
    for line in &mut lines {
        line.path = relative(&line.path, roots);
        line.before_path = line.before_path.as_deref().map(|path| relative(path, roots));
        line.source = source_text(&line.source);
        line.before_source = line.before_source.as_deref().map(source_text);
        round_metrics(&mut line.before);
        round_metrics(&mut line.after);
        round_delta(&mut line.delta);
        round_test(&mut line.cpu_test);
    }
    let mut before = comparison.before.clone();
    let mut after = comparison.after.clone();
    for side in [&mut before, &mut after] {
        side.program = relative(&side.program, roots);
        side.elapsed_s = round2(side.elapsed_s);
        side.peak_mb = round2(side.peak_mb);
    }
    let mut overall = comparison.overall.clone();
    for change in [&mut overall.elapsed_s, &mut overall.peak_mb] {
        change.before = round2(change.before);
        change.after = round2(change.after);
        change.delta = round2(change.delta);
        change.change_percent = change.change_percent.map(round2);
    }
    let more = if n_functions > functions.len() || n_lines > lines.len() {
        format!(
            "{n_functions} functions and {n_lines} lines changed; the {} biggest of each are listed: pass a larger limit (up to {MAX_LIMIT}). Unchanged ones are counted in summary.",
            limit
        )
    } else {
        "Every changed function and line is listed; unchanged ones are counted in summary. line_profile {\"path\", \"profile_id\"} gives a side's numbers.".into()
    };
    CompareResult {
        before,
        after,
        rule: comparison.rule.clone(),
        overall,
        summary: comparison.summary.clone(),
        functions,
        lines,
        notes: comparison.notes.clone(),
        more,
    }
}

/// `scalene://saved/{name}`: a saved profile's metadata, hottest lines and functions.
pub fn saved_summary(saved: &crate::engine::keep::storage::SavedProfile, roots: &Roots, limit: usize) -> serde_json::Value {
    let profile = &saved.profile;
    let hotspots: Vec<HotLine> =
        top_lines(Metric::Cpu, profile.files.iter(), limit).1.into_iter().map(|(file, line, _)| hot_line(file, line, roots, profile.gpu)).collect();
    let functions: Vec<FunctionRow> = ranked_functions(profile.files.iter()).into_iter().take(limit).map(|(file, function)| function_row(file, function, roots)).collect();
    serde_json::json!({
        "saved": saved_row(&saved.meta, roots),
        "files": profile.files.iter().map(|file| roots.display(&file.path)).collect::<Vec<_>>(),
        "hotspots": hotspots,
        "functions": functions,
        "more": format!("compare {{\"before\": \"{}\"}} compares it with the newest profile of its program.", saved.meta.name),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::keep::cache::{CacheSettings, ProfileCache, ProfileKey, ProfileOrigin};

    /// A captured fixture in a cache, and the workspace it was captured in (paths show relative to it).
    fn cached(name: &str) -> (Arc<CachedProfile>, Roots) {
        let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let bytes = std::fs::read(repo.join(format!("fixtures/scalene/2.4.0/{name}.json"))).unwrap();
        let manifest: serde_json::Value =
            serde_json::from_slice(&std::fs::read(repo.join("fixtures/scalene/2.4.0/MANIFEST.json")).unwrap()).unwrap();
        let profile = crate::engine::profile::parse::parse_profile(&bytes).unwrap();
        let cache = ProfileCache::new(&CacheSettings::default());
        let key = ProfileKey { origin: ProfileOrigin::Loaded, path: name.into(), content_hash: String::new(), options: String::new() };
        // The recorded root need not exist here: `Roots` only compares paths.
        let roots = Roots::new(vec![manifest["programs_dir"].as_str().unwrap().into()]);
        (cache.insert(key, profile), roots)
    }

    #[test]
    fn profile_summaries_as_agents_see_them() {
        for name in ["cpu_bound", "leak", "multi_module", "raises"] {
            let (entry, roots) = cached(name);
            insta::assert_json_snapshot!(format!("summary_{name}"), summary(&entry, &roots, 5));
        }
    }

    #[test]
    fn hot_lines_line_numbers_and_function_rows() {
        let (entry, roots) = cached("cpu_bound");
        let file = &entry.profile.files[0];
        let (total, ranked) = top_lines(Metric::Memory, entry.profile.files.iter(), 3);
        let hot: Vec<HotLine> = ranked.into_iter().map(|(file, line, _)| hot_line(file, line, &roots, false)).collect();
        let numbers: Vec<LineNumbers> = file.lines_in(7..=8).iter().map(line_numbers).collect();
        let functions: Vec<FunctionRow> = file.functions.iter().map(|function| function_row(file, function, &roots)).collect();
        insta::assert_json_snapshot!("cpu_bound_views", serde_json::json!({
            "memory_total": total, "memory_hot": hot, "lines_7_8": numbers, "functions": functions,
        }));
    }
}
