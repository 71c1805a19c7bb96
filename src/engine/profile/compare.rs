//! Run-to-run comparison: two profiles (before, after) → per-line, per-function, per-file and overall
//! deltas with a verdict each (`regressed`, `improved`, `unchanged`, `new`, `removed`), under the noise
//! model of `noise` (its module documentation says what is judged and why). The result is the
//! comparison JSON of docs/schema.md (`report`).
//!
//! This file puts the pieces together: `matching` pairs files, lines and functions; the profiles'
//! lines are grouped into the regions Scalene measures as one (a loop, a line outside loops) and into
//! functions; `noise::judge` judges them all at once; each line takes its region's verdict.

pub mod ci;
mod lines;
mod matching;
mod noise;
mod report;
mod sides;

use std::collections::HashMap;
use std::path::Path;

pub use noise::{JITTER, JITTER_MEMORY, NoiseRule};
pub use report::*;

use crate::engine::error::EngineError;
use crate::engine::profile::model::{FileProfile, FunctionStats, Profile, RunStatus};
use matching::Lines;
use noise::{Amount, Direction, Unit};
use sides::{Side, regions};

/// The guard rails: refuses what cannot be compared at all (a side without samples; two different
/// programs, unless `force`). Everything else is compared, with notes for what is not comparable.
pub fn check(before: (&str, &Profile), after: (&str, &Profile), force: bool) -> Result<(), EngineError> {
    for (label, profile) in [before, after] {
        if profile.status == RunStatus::TooShort || profile.files.is_empty() || profile.elapsed_s.partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater) {
            return Err(EngineError::CannotCompare {
                reason: format!("{label} has no samples (its run was {} s long, too short for Scalene to measure)", round2(profile.elapsed_s)),
                fix: "profile it again with more work (at least about a second), then compare".into(),
            });
        }
    }
    // Different samplers measure different things (Scalene: CPU time, split Python/native/system; py-spy:
    // wall-clock samples of running threads): no --force makes their numbers comparable.
    let sampler = |profile: &Profile| if profile.attached.is_some() { "py-spy's wall-clock samples of an attached process" } else { "Scalene's CPU time" };
    if before.1.attached.is_some() != after.1.attached.is_some() {
        return Err(EngineError::CannotCompare {
            reason: format!(
                "they come from different samplers: {} is {}, {} is {}, which measure different things",
                before.0,
                sampler(before.1),
                after.0,
                sampler(after.1)
            ),
            fix: "compare two attached profiles (`scalene-lsp attach PID --save NAME`) or two Scalene profiles (`scalene-lsp profile --save NAME`) of the same program".into(),
        });
    }
    if force {
        return Ok(());
    }
    let name = |profile: &Profile| crate::engine::units::short_name_str(&profile.program).to_string();
    let (b_name, a_name) = (name(before.1), name(after.1));
    fn program_file(profile: &Profile) -> Option<&FileProfile> {
        profile.files.iter().find(|file| file.path == Path::new(&profile.program)).filter(|file| !file.source.is_empty())
    }
    // The programs' texts decide when both are known (a renamed program is the same program); else
    // their names.
    let different = match (program_file(before.1), program_file(after.1)) {
        (Some(b), Some(a)) => {
            let lines = matching::align(b, a);
            let paired = lines.new_to_old.iter().filter(|line| line.is_some_and(|line| !line.edited)).count();
            let size = lines.new_to_old.len().max(lines.old_to_new.len()).max(1);
            (paired * 3 < size).then(|| format!("{b_name} and {a_name} have only {paired} of {size} lines in common"))
        }
        _ => (b_name != a_name).then(|| format!("{} profiles {b_name} and {} profiles {a_name}", before.0, after.0)),
    };
    match different {
        Some(reason) => Err(EngineError::CannotCompare {
            reason: format!("they look like different programs: {reason}"),
            fix: "compare two profiles of the same program; if it was renamed or rewritten, compare anyway with --force (MCP: force: true)".into(),
        }),
        None => Ok(()),
    }
}

fn round2(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}

/// One function of the comparison (a pair, or one side).
struct FunctionPair {
    file: usize,
    before: Option<FunctionStats>,
    after: Option<FunctionStats>,
    unit: usize,
}

/// One file pair of the comparison.
struct FilePair<'a> {
    before: Option<&'a FileProfile>,
    after: Option<&'a FileProfile>,
    path: String,
    before_path: Option<String>,
    lines: Option<Lines>,
    /// Line → unit, per side.
    before_units: HashMap<u32, usize>,
    after_units: HashMap<u32, usize>,
    /// Unit → its lines' `[first, last]`, per side.
    before_extent: HashMap<usize, [u32; 2]>,
    after_extent: HashMap<usize, [u32; 2]>,
}

/// Each unit's `[first, last]` line.
fn extents(lines: &HashMap<u32, usize>) -> HashMap<usize, [u32; 2]> {
    let mut out: HashMap<usize, [u32; 2]> = HashMap::new();
    for (line, unit) in lines {
        let extent = out.entry(*unit).or_insert([*line, *line]);
        *extent = [extent[0].min(*line), extent[1].max(*line)];
    }
    out
}

/// Compares `before` with `after` under `rule`. The labels say what each side is (`baseline`, `p3`, a
/// path). Call `check` first: this compares whatever it is given.
pub fn compare(before: &Profile, before_label: &str, after: &Profile, after_label: &str, rule: &NoiseRule) -> Comparison {
    let (b_side, a_side) = (Side { profile: before }, Side { profile: after });
    let min_cpu_s = rule.min_cpu_percent / 100.0 * before.elapsed_s.max(after.elapsed_s);
    let memory = before.memory && after.memory;
    let cpu_compared = before.memory == after.memory;
    let mut notes = Vec::new();
    for (label, profile) in [(before_label, before), (after_label, after)] {
        if profile.status != RunStatus::Ok {
            notes.push(format!("{label} is {}: its numbers cover only part of the run", profile.status.as_str()));
        }
    }
    if !cpu_compared {
        notes.push(
            "one side profiled memory and the other did not: memory profiling slows a program unevenly, so nothing is judged \
             (profile both in the same mode to compare)"
                .into(),
        );
    }

    // Files, functions and units.
    let mut files: Vec<FilePair<'_>> = Vec::new();
    let mut functions: Vec<FunctionPair> = Vec::new();
    let mut units: Vec<Unit> = Vec::new();
    for (b, a) in matching::match_files(before, after) {
        let (b_file, a_file) = (b.map(|i| &before.files[i]), a.map(|i| &after.files[i]));
        let path = a_file.or(b_file).expect("a pair has a side").path.display().to_string();
        let before_path = match (b_file, a_file) {
            (Some(b_file), Some(a_file)) if b_file.path != a_file.path => Some(b_file.path.display().to_string()),
            _ => None,
        };
        let lines = match (b_file, a_file) {
            (Some(b_file), Some(a_file)) => {
                let lines = matching::align(b_file, a_file);
                if !lines.by_text {
                    notes.push(format!("{path}: the profiled source text is missing on one side, so its lines are matched only where number and text agree"));
                }
                Some(lines)
            }
            _ => None,
        };
        let file_index = files.len();
        let (mut b_of, mut a_of) = (HashMap::new(), HashMap::new());
        let pairs = match (b_file, a_file) {
            (Some(b_file), Some(a_file)) => matching::pair_functions(b_file, a_file, lines.as_ref()),
            (Some(b_file), None) => (0..b_file.functions.len()).map(|i| (Some(i), None)).collect(),
            (None, Some(a_file)) => (0..a_file.functions.len()).map(|i| (None, Some(i))).collect(),
            (None, None) => Vec::new(),
        };
        for (b, a) in pairs {
            let resolve = |side: Option<usize>, file: Option<&FileProfile>, other: Option<&FunctionStats>, map: &dyn Fn(u32) -> Option<u32>| match side {
                Some(usize::MAX) => other.and_then(|other| Some(matching::quiet_def(other, map(other.line)?))),
                Some(index) => file.map(|file| file.functions[index].clone()),
                None => None,
            };
            let a_real = a.filter(|a| *a != usize::MAX).and_then(|a| a_file.map(|file| &file.functions[a]));
            let b_real = b.filter(|b| *b != usize::MAX).and_then(|b| b_file.map(|file| &file.functions[b]));
            let lines_ref = lines.as_ref();
            let before_stats = resolve(b, b_file, a_real, &|line| lines_ref.and_then(|l| l.new_to_old(line)).map(|x| x.line));
            let after_stats = resolve(a, a_file, b_real, &|line| lines_ref.and_then(|l| l.old_to_new(line)).map(|x| x.line));
            let index = functions.len();
            if let Some(b) = b.filter(|b| *b != usize::MAX) {
                b_of.insert(b, index);
            }
            if let Some(a) = a.filter(|a| *a != usize::MAX) {
                a_of.insert(a, index);
            }
            units.push(Unit { before: Amount::default(), after: Amount::default(), parent: None, function: Some(index) });
            functions.push(FunctionPair { file: file_index, before: before_stats, after: after_stats, unit: units.len() - 1 });
        }
        // Regions, paired by where their lines went.
        let (b_regions, b_lines) = b_file.map(|file| regions(&b_side, file, &|i| b_of.get(&i).copied())).unwrap_or_default();
        let (a_regions, _) = a_file.map(|file| regions(&a_side, file, &|i| a_of.get(&i).copied())).unwrap_or_default();
        let mut b_paired = vec![None; b_regions.len()];
        let mut before_units = HashMap::new();
        let mut after_units = HashMap::new();
        for region in &a_regions {
            let mut votes: HashMap<usize, usize> = HashMap::new();
            for line in &region.lines {
                if let Some(old) = lines.as_ref().and_then(|lines| lines.new_to_old(line.line))
                    && let Some(b) = b_lines.get(&old.line)
                {
                    *votes.entry(*b).or_default() += 1;
                }
            }
            let partner = votes.into_iter().filter(|(b, _)| b_paired[*b].is_none()).max_by_key(|(b, n)| (*n, usize::MAX - b)).map(|(b, _)| b);
            let unit = units.len();
            let before_amount = partner.map_or(Amount::default(), |b| b_regions[b].amount);
            if let Some(b) = partner {
                b_paired[b] = Some(unit);
            }
            units.push(Unit { before: before_amount, after: region.amount, parent: region.function, function: None });
            for line in &region.lines {
                after_units.insert(line.line, unit);
            }
        }
        for (b, region) in b_regions.iter().enumerate() {
            let unit = match b_paired[b] {
                Some(unit) => unit,
                None => {
                    units.push(Unit { before: region.amount, after: Amount::default(), parent: region.function, function: None });
                    units.len() - 1
                }
            };
            for line in &region.lines {
                before_units.insert(line.line, unit);
            }
        }
        let (before_extent, after_extent) = (extents(&before_units), extents(&after_units));
        files.push(FilePair { before: b_file, after: a_file, path, before_path, lines, before_units, after_units, before_extent, after_extent });
    }
    // A function's amount: its CPU seconds, and the samples of its regions.
    for function in &functions {
        let file = &files[function.file];
        let side_amount = |side: &Side<'_>, stats: Option<&FunctionStats>, profile_file: Option<&FileProfile>, pick: fn(&Unit) -> Amount| {
            let (Some(stats), Some(profile_file)) = (stats, profile_file) else { return Amount::default() };
            let listed = profile_file.functions.iter().any(|f| f.line == stats.line && f.name == stats.name);
            let seconds = if listed { side.function(profile_file, stats).cpu_s } else { 0.0 };
            let samples = units.iter().filter(|unit| unit.parent == units[function.unit].function).map(|unit| pick(unit).samples).sum();
            Amount { seconds, samples }
        };
        let before_amount = side_amount(&b_side, function.before.as_ref(), file.before, |unit| unit.before);
        let after_amount = side_amount(&a_side, function.after.as_ref(), file.after, |unit| unit.after);
        units[function.unit].before = before_amount;
        units[function.unit].after = after_amount;
    }

    let judgement = noise::judge(&units, b_side.info(), a_side.info(), rule, min_cpu_s);
    let cpu_test = |unit: usize, region: [u32; 2]| {
        let test = &judgement.tests[unit];
        cpu_compared.then(|| CpuTest {
            region,
            ratio: test.ratio,
            interval: test.interval,
            p_value: test.p_value,
            detectable_percent: test.detectable_percent,
            samples: [units[unit].before.samples, units[unit].after.samples],
        })
    };
    let cpu_verdict = |unit: usize, own_delta: f64| match judgement.tests[unit].change {
        Some(Direction::Up) if cpu_compared && own_delta >= 0.0 => Verdict::Regressed,
        Some(Direction::Down) if cpu_compared && own_delta <= 0.0 => Verdict::Improved,
        _ => Verdict::Unchanged,
    };
    let alloc_verdict = |before: f64, after: f64| match memory.then(|| noise::judge_alloc(before, after, rule)).flatten() {
        Some(Direction::Up) => Verdict::Regressed,
        Some(Direction::Down) => Verdict::Improved,
        None => Verdict::Unchanged,
    };
    let notable = |metrics: &Metrics| metrics.cpu_s >= min_cpu_s.max(f64::MIN_POSITIVE) || (memory && metrics.alloc_mb >= rule.min_mb.max(f64::MIN_POSITIVE));
    let mut n_quiet = 0;

    // Functions.
    let mut function_changes = Vec::new();
    for function in &functions {
        let file = &files[function.file];
        let metrics = |side: &Side<'_>, stats: Option<&FunctionStats>, profile_file: Option<&FileProfile>| {
            let (stats, profile_file) = (stats?, profile_file?);
            let listed = profile_file.functions.iter().any(|f| f.line == stats.line && f.name == stats.name);
            Some(if listed { side.function(profile_file, stats) } else { side.quiet() })
        };
        let bm = metrics(&b_side, function.before.as_ref(), file.before);
        let am = metrics(&a_side, function.after.as_ref(), file.after);
        let (verdict, cpu, memory_verdict) = match (&bm, &am) {
            (Some(bm), Some(am)) => {
                let cpu = cpu_verdict(function.unit, am.cpu_s - bm.cpu_s);
                let memory_verdict = alloc_verdict(bm.alloc_mb, am.alloc_mb);
                (cpu.combine(memory_verdict), cpu, memory_verdict)
            }
            (None, Some(am)) if notable(am) => (Verdict::New, Verdict::New, Verdict::New),
            (Some(bm), None) if notable(bm) => (Verdict::Removed, Verdict::Removed, Verdict::Removed),
            _ => {
                n_quiet += 1;
                continue;
            }
        };
        let stats = function.after.as_ref().or(function.before.as_ref()).expect("a function has a side");
        let region = [stats.line, stats.end_line];
        function_changes.push(FunctionChange {
            name: stats.name.clone(),
            path: file.path.clone(),
            before_path: file.before_path.clone(),
            before_line: function.before.as_ref().map(|f| f.line),
            after_line: function.after.as_ref().map(|f| f.line),
            delta: delta(bm.as_ref(), am.as_ref()),
            before: bm,
            after: am,
            verdict,
            cpu,
            memory: memory_verdict,
            cpu_test: (function.before.is_some() && function.after.is_some()).then(|| cpu_test(function.unit, region)).flatten(),
        });
    }

    // Lines, and files.
    let mut line_changes = Vec::new();
    let mut file_changes = Vec::new();
    for file in &files {
        let first = line_changes.len();
        lines::compare_lines(file, (&b_side, &a_side), &mut line_changes, &mut n_quiet, &|unit, own, region| (cpu_verdict(unit, own), cpu_test(unit, region)), &alloc_verdict, &notable);
        let (bm, am) = (file.before.map(|f| b_side.file(f)), file.after.map(|f| a_side.file(f)));
        let (verdict, cpu, memory_verdict) = match (&bm, &am) {
            (Some(_), Some(_)) => {
                // A file changed when something in it did: its functions, and its lines outside functions.
                let inside = function_changes.iter().filter(|f| f.path == file.path).map(|f| (f.cpu, f.memory));
                let outside = line_changes[first..].iter().filter(|l| l.function.is_none()).map(|l| (l.cpu, l.memory));
                let both = inside.chain(outside).filter(|(c, m)| !matches!(c, Verdict::New | Verdict::Removed) && !matches!(m, Verdict::New | Verdict::Removed));
                let (cpu, memory_verdict) = both.fold((Verdict::Unchanged, Verdict::Unchanged), |(c, m), (c2, m2)| (c.combine(c2), m.combine(m2)));
                (cpu.combine(memory_verdict), cpu, memory_verdict)
            }
            (None, _) => (Verdict::New, Verdict::New, Verdict::New),
            (_, None) => (Verdict::Removed, Verdict::Removed, Verdict::Removed),
        };
        file_changes.push(FileChange { path: file.path.clone(), before_path: file.before_path.clone(), delta: delta(bm.as_ref(), am.as_ref()), before: bm, after: am, verdict, cpu, memory: memory_verdict });
    }
    if n_quiet > 0 {
        notes.push(format!("{n_quiet} new or removed lines and functions cost less than the noise floors and are left out"));
    }

    let elapsed_runs = |profile: &Profile| profile.spread.as_ref().map(|spread| spread.elapsed_runs.clone()).unwrap_or_else(|| vec![profile.elapsed_s]);
    // The machine factor comes out of the after runs' elapsed time as out of every CPU ratio: a load that
    // moved between the two series (another build starting on a shared CI machine) is not a change of
    // the program. Measured with docs/ci.md's recipe under scripts/test-under-load: a README-only commit
    // pair ran 1.60 s → 0.86 s (machine factor 0.64) and was judged "improved"; the other way round it
    // would have failed `--fail-on regressed`.
    let machine = Some(judgement.machine_factor).filter(|factor| factor.is_finite() && *factor > 0.0).unwrap_or(1.0);
    let after_runs: Vec<f64> = elapsed_runs(after).iter().map(|seconds| seconds / machine).collect();
    let (judged, p_value, direction) = if cpu_compared { noise::judge_elapsed(&elapsed_runs(before), &after_runs, rule) } else { (false, None, None) };
    let range = |profile: &Profile, pick: fn(&crate::engine::profile::model::Spread) -> crate::engine::profile::model::Stat| profile.spread.as_deref().map(|s| [pick(s).min, pick(s).max]);
    let overall = Overall {
        elapsed_s: OverallChange {
            before: before.elapsed_s,
            after: after.elapsed_s,
            delta: after.elapsed_s - before.elapsed_s,
            change_percent: change_percent(before.elapsed_s, after.elapsed_s),
            before_range: range(before, |s| s.elapsed_s),
            after_range: range(after, |s| s.elapsed_s),
            judged,
            p_value,
            verdict: match direction {
                Some(Direction::Up) => Verdict::Regressed,
                Some(Direction::Down) => Verdict::Improved,
                None => Verdict::Unchanged,
            },
        },
        peak_mb: peak_change(before, after, memory, rule),
    };
    if memory
        && overall.peak_mb.verdict != Verdict::Unchanged
        && let Some(at) = &after.peak_at
    {
        let function = after.file(&at.file).and_then(|file| file.function_at(at.line)).map(|f| format!(" in {}", f.name)).unwrap_or_default();
        notes.push(format!("the peak ({:.1} → {:.1} MB) was reached at {}:{}{function}", before.peak_mb, after.peak_mb, file_name(&at.file.display().to_string()), at.line));
    }
    let mut summary = summarize(&overall, &file_changes, &function_changes, &line_changes);
    if cpu_compared && let Some(seen) = visibility(&function_changes, b_side.runs().min(a_side.runs()), after.attached.is_some()) {
        summary.text.push(' ');
        summary.text.push_str(&seen);
        summary.limits = Some(seen);
    }
    let method = if cpu_compared {
        "CPU: per loop region and function, sample counts for the sampling error plus measured run-to-run jitter, the machine factor taken out, Benjamini-Hochberg over everything judged; memory: MB allocated per line and function against the floors and Scalene's allocation sampling"
    } else {
        "nothing judged: the sides were profiled in different modes"
    };
    Comparison {
        schema: COMPARISON_SCHEMA,
        before: summary_of(before_label, before),
        after: summary_of(after_label, after),
        rule: RuleJson {
            method: method.into(),
            error_rate_percent: rule.error_rate_percent,
            min_change_percent: rule.min_change_percent,
            min_cpu_percent: rule.min_cpu_percent,
            min_cpu_s,
            min_mb: rule.min_mb,
            machine_factor: judgement.machine_factor,
            jitter_percent: b_side.info().jitter().max(a_side.info().jitter()) * 100.0,
            judged: if cpu_compared { units.len() } else { 0 },
            cpu_compared,
            runs: [b_side.runs(), a_side.runs()],
        },
        overall,
        files: file_changes,
        functions: function_changes,
        lines: line_changes,
        notes,
        summary,
    }
}

/// "Changes under ±35% in crunch (0.12 s CPU) cannot be seen": the hottest functions' detectable change.
fn visibility(functions: &[FunctionChange], runs: u32, attached: bool) -> Option<String> {
    let mut hot: Vec<&FunctionChange> = functions.iter().filter(|f| f.cpu_test.is_some() && f.after.is_some()).collect();
    hot.sort_by(|a, b| b.after.as_ref().map_or(0.0, |m| m.cpu_s).total_cmp(&a.after.as_ref().map_or(0.0, |m| m.cpu_s)));
    let parts: Vec<String> = hot
        .iter()
        .take(3)
        .map(|f| format!("±{:.0}% in {} ({:.2} s CPU)", f.cpu_test.as_ref().map_or(0.0, |t| t.detectable_percent), f.name, f.after.as_ref().map_or(0.0, |m| m.cpu_s)))
        .collect();
    if parts.is_empty() {
        return None;
    }
    let advice = match (attached, runs < 3) {
        // Attached profiles have no repeated runs: more samples come from attaching longer.
        (true, _) => ": attach longer (or at a higher --rate) on both sides to see smaller ones",
        (false, true) => ": use --repeat 3 on both sides to see smaller ones",
        (false, false) => "",
    };
    Some(format!("Changes under {} cannot be seen{advice}.", parts.join(", ")))
}

fn peak_change(before: &Profile, after: &Profile, memory: bool, rule: &NoiseRule) -> OverallChange {
    let (b, a) = (before.peak_mb, after.peak_mb);
    let delta = a - b;
    let changed = memory && delta.abs() >= rule.min_mb && change_percent(b, a).is_none_or(|p| p.abs() >= rule.min_change_percent);
    let range = |profile: &Profile| profile.spread.as_deref().map(|s| [s.peak_mb.min, s.peak_mb.max]);
    OverallChange {
        before: b,
        after: a,
        delta,
        change_percent: change_percent(b, a),
        before_range: range(before),
        after_range: range(after),
        judged: memory,
        p_value: None,
        verdict: match (changed, delta > 0.0) {
            (false, _) => Verdict::Unchanged,
            (true, true) => Verdict::Regressed,
            (true, false) => Verdict::Improved,
        },
    }
}

fn change_percent(before: f64, after: f64) -> Option<f64> {
    (before > 0.0).then(|| (after - before) / before * 100.0)
}

fn delta(before: Option<&Metrics>, after: Option<&Metrics>) -> Delta {
    let zero = Metrics::default();
    let (b, a) = (before.unwrap_or(&zero), after.unwrap_or(&zero));
    Delta {
        cpu_s: a.cpu_s - b.cpu_s,
        cpu_percent: a.cpu_percent - b.cpu_percent,
        peak_mb: a.peak_mb - b.peak_mb,
        alloc_mb: a.alloc_mb - b.alloc_mb,
        cpu_change_percent: change_percent(b.cpu_s, a.cpu_s),
        peak_change_percent: change_percent(b.peak_mb, a.peak_mb),
    }
}

fn summary_of(label: &str, profile: &Profile) -> RunSummary {
    let git = profile.context.as_ref().and_then(|context| context.git.as_ref());
    RunSummary {
        label: label.to_string(),
        program: profile.program.clone(),
        status: profile.status.as_str().to_string(),
        elapsed_s: profile.elapsed_s,
        peak_mb: profile.peak_mb,
        memory: profile.memory,
        runs: profile.spread.as_ref().map_or(1, |spread| spread.runs),
        scalene_version: profile.scalene_version.clone(),
        git_commit: git.map(|git| git.commit.clone()),
        git_dirty: git.map(|git| git.dirty),
    }
}

#[cfg(test)]
mod tests;
