//! The noise model: when a difference between two profiles is a change. Pure numbers, no profiles.
//!
//! What Scalene measures, and so what is judged (measured on Scalene 2.4, benches/compare_quality.py):
//! - CPU time is a count of samples (`cpu_samples_list`, one every `--cpu-sampling-rate` seconds of CPU
//!   time, each weighted by the time since the last): a region's seconds have a relative sampling error
//!   of about `1/sqrt(n)` for `n` samples. Samples that carry much more time than usual (lines that
//!   allocate heavily in memory mode) count as fewer (`n_eff`), and their jitter grows alike.
//! - Scalene spreads a loop's samples over its lines and moves them between a loop's header and its
//!   body from run to run, so the unit judged is the outermost loop (or a line outside loops), and the
//!   function.
//! - A busy machine moves whole runs, not lines: the after/before ratio of everything that did not change
//!   (the machine factor) is estimated from the rest of the program and taken out of every ratio; what
//!   remains varies by about `JITTER` per run beyond sampling (one core busy with another process;
//!   `JITTER_MEMORY` in memory mode).
//! - Many things are judged at once: Benjamini-Hochberg over all functions (and lines outside
//!   functions) at `error_rate`, then over the regions of each function named, so an unchanged program
//!   gets anything named at most `error_rate` of the time, whatever its size.
//! - Allocation (MB) is close to deterministic (±1% run to run, measured): a change must pass the
//!   floors and exceed three of Scalene's allocation sampling windows (1 MB each).

use statrs::distribution::{ContinuousCDF, Normal, StudentsT};

/// When a difference counts as a change. See the module documentation and docs/schema.md.
#[derive(Clone, Debug, PartialEq)]
pub struct NoiseRule {
    /// A change must be at least this percent of the before value.
    pub min_change_percent: f64,
    /// A CPU change must be at least this percent of the longer run's elapsed time (in seconds).
    pub min_cpu_percent: f64,
    /// A memory change must be at least this many MB.
    pub min_mb: f64,
    /// The error budget of one comparison: the chance, percent, that unchanged code gets anything named.
    pub error_rate_percent: f64,
}

impl Default for NoiseRule {
    fn default() -> NoiseRule {
        NoiseRule { min_change_percent: 10.0, min_cpu_percent: 2.0, min_mb: 10.0, error_rate_percent: 1.0 }
    }
}

impl NoiseRule {
    /// Checks the values (each a finite number >= 0; the error rate above 0 and below 50); the error
    /// names the field.
    pub fn check(&self) -> Result<(), String> {
        for (name, value) in [("min_change_percent", self.min_change_percent), ("min_cpu_percent", self.min_cpu_percent), ("min_mb", self.min_mb)] {
            if !(value.is_finite() && value >= 0.0) {
                return Err(format!("{name} must be a number >= 0, not {value}"));
            }
        }
        if !(self.error_rate_percent > 0.0 && self.error_rate_percent <= 50.0) {
            return Err(format!("error_rate_percent must be a percentage above 0 and at most 50 (1 is the default), not {}", self.error_rate_percent));
        }
        Ok(())
    }

    fn alpha(&self) -> f64 {
        self.error_rate_percent / 100.0
    }
}

/// Run-to-run jitter of a region's share beyond sampling, per run (log scale), measured with one core
/// busy with another process (0.05-0.07 for the worst region; benches/compare_quality.py).
pub const JITTER: f64 = 0.05;
/// The same in memory mode: Scalene's allocation interception slows code unevenly from run to run
/// (string building moved 1.3-1.7x between unchanged runs; benches/compare_quality.py).
pub const JITTER_MEMORY: f64 = 0.10;
/// Prior spread of the machine factor of one side (log scale). Load lasts: repeated runs of a side share
/// it, so the prior does not narrow with `--repeat` (it did, and a program whose every other region
/// changed had its unchanged one named when the whole after-series ran 1.43x slower under
/// scripts/test-under-load: a busy core plus the test suite on 2 cores). 0.10 keeps every figure of
/// benches/compare_quality.py; 0.12 lost a 1.5x change with `--repeat 3` in 1 of 6 pairs.
pub const MACHINE_PRIOR: f64 = 0.10;
/// The level at which regions are set aside from the machine factor's estimate while it is refined.
const SCREEN_RATE: f64 = 0.05;
/// Regions with fewer samples do not set a side's typical time per sample.
const MIN_SAMPLES_FOR_WEIGHT: f64 = 10.0;

/// One side of a unit: its CPU seconds (per run) and the samples behind them (all runs).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Amount {
    pub seconds: f64,
    pub samples: f64,
}

/// What is judged: a region (loop, line) or a function, on both sides.
#[derive(Clone, Debug)]
pub struct Unit {
    pub before: Amount,
    pub after: Amount,
    /// The function (an index into the caller's functions) the region belongs to; None for a function
    /// itself or a region outside functions.
    pub parent: Option<usize>,
    /// Some(index) for a function unit: the same index its regions use as `parent`.
    pub function: Option<usize>,
}

/// One side as a whole: how many runs its numbers are the mean of, and its sampling interval.
#[derive(Clone, Copy, Debug)]
pub struct SideInfo {
    pub runs: u32,
    pub sampling_s: f64,
    /// Memory was profiled (more jitter: `JITTER_MEMORY`).
    pub memory: bool,
}

impl SideInfo {
    pub fn jitter(&self) -> f64 {
        if self.memory { JITTER_MEMORY } else { JITTER }
    }
}

/// The test of one unit.
#[derive(Clone, Debug, PartialEq)]
pub struct Test {
    /// after ÷ before with the machine factor out.
    pub ratio: f64,
    pub interval: [f64; 2],
    pub p_value: f64,
    /// Named by the procedure (significant and past the floors), and which way.
    pub change: Option<Direction>,
    pub detectable_percent: f64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    Up,
    Down,
}

/// The judgement of all units of a comparison.
#[derive(Clone, Debug)]
pub struct Judgement {
    pub tests: Vec<Test>,
    pub machine_factor: f64,
}

fn normal() -> Normal {
    Normal::standard()
}

/// Two-sided p-value of a z statistic.
fn p_of(z: f64) -> f64 {
    (2.0 * (1.0 - normal().cdf(z.abs()))).clamp(0.0, 1.0)
}

/// Benjamini-Hochberg: which of `p_values` are discoveries at `alpha`.
pub fn benjamini_hochberg(p_values: &[f64], alpha: f64) -> Vec<bool> {
    let mut order: Vec<usize> = (0..p_values.len()).collect();
    order.sort_by(|a, b| p_values[*a].total_cmp(&p_values[*b]));
    let m = p_values.len() as f64;
    let passing = order.iter().enumerate().filter(|(rank, index)| p_values[**index] <= alpha * (*rank + 1) as f64 / m).map(|(rank, _)| rank + 1).max().unwrap_or(0);
    let mut out = vec![false; p_values.len()];
    for index in &order[..passing] {
        out[*index] = true;
    }
    out
}

/// A side's typical seconds per sample: the time-weighted median over regions with enough samples.
fn typical_weight(units: &[Unit], pick: fn(&Unit) -> Amount, side: SideInfo) -> f64 {
    let runs = f64::from(side.runs.max(1));
    let mut weights: Vec<(f64, f64)> = units
        .iter()
        .filter(|unit| unit.function.is_none())
        .map(pick)
        .filter(|amount| amount.samples >= MIN_SAMPLES_FOR_WEIGHT && amount.seconds > 0.0)
        .map(|amount| (amount.seconds * runs / amount.samples, amount.seconds))
        .collect();
    if weights.is_empty() {
        return side.sampling_s;
    }
    weights.sort_by(|a, b| a.0.total_cmp(&b.0));
    let total: f64 = weights.iter().map(|(_, seconds)| seconds).sum();
    let mut seen = 0.0;
    for (weight, seconds) in &weights {
        seen += seconds;
        if seen >= total / 2.0 {
            return *weight;
        }
    }
    weights[weights.len() - 1].0
}

/// Relative variance (log scale) of one side of a unit; None when it has no time or no samples.
fn relative_variance(amount: Amount, weight: f64, side: SideInfo) -> Option<f64> {
    if amount.samples <= 0.0 || amount.seconds <= 0.0 {
        return None;
    }
    let runs = f64::from(side.runs.max(1));
    let per_sample = amount.seconds * runs / amount.samples;
    let heavy = (per_sample / weight).max(1.0);
    let effective = amount.samples / heavy;
    // Heavy samples are Scalene's allocation interception at work, whose cost moves from run to run far
    // more than plain code (30 x 1 MB took 0.03-0.19 s of CPU in unchanged memory-mode runs): the
    // jitter grows with the weight.
    let jitter = side.jitter() * heavy;
    Some(1.0 / (effective + 0.5) + jitter * jitter / runs)
}

/// A side with nothing: half a typical sample, and a variance that no real change hides behind.
const EMPTY_VARIANCE: f64 = 2.0;

struct Prepared {
    /// log(after / before) of the unit, before the machine factor.
    log_ratio: f64,
    variance: f64,
    seconds: (f64, f64),
}

/// Judges every unit: machine factor, tests, multiple-comparison control, floors.
pub fn judge(units: &[Unit], before: SideInfo, after: SideInfo, rule: &NoiseRule, min_cpu_s: f64) -> Judgement {
    let (w_before, w_after) = (typical_weight(units, |u| u.before, before), typical_weight(units, |u| u.after, after));
    let (k_before, k_after) = (f64::from(before.runs.max(1)), f64::from(after.runs.max(1)));
    let prepared: Vec<Prepared> = units
        .iter()
        .map(|unit| {
            let vb = relative_variance(unit.before, w_before, before);
            let va = relative_variance(unit.after, w_after, after);
            let tb = if unit.before.seconds > 0.0 { unit.before.seconds } else { 0.5 * w_before / k_before };
            let ta = if unit.after.seconds > 0.0 { unit.after.seconds } else { 0.5 * w_after / k_after };
            Prepared {
                log_ratio: (ta / tb).ln(),
                variance: vb.unwrap_or(EMPTY_VARIANCE) + va.unwrap_or(EMPTY_VARIANCE),
                seconds: (unit.before.seconds, unit.after.seconds),
            }
        })
        .collect();
    let prior = 2.0 * MACHINE_PRIOR * MACHINE_PRIOR;
    let regions: Vec<usize> = (0..units.len()).filter(|i| units[*i].function.is_none()).collect();

    // The machine factor seen by unit `i`: the inverse-variance weighted mean of the log ratios of the
    // rest of the program's regions (without `i`, or without a function's own regions, and without
    // `excluded`), shrunk toward 1 by the prior. Weighting by precision, not by time, keeps a big region
    // that changed (and was not set aside) from passing for a slower machine. Sums over all regions minus
    // the unit's own part: linear in the number of units.
    let contribution = |r: usize| {
        let p = &prepared[r];
        let weight = 1.0 / p.variance;
        [weight * p.log_ratio, weight]
    };
    let add = |a: [f64; 2], b: [f64; 2], sign: f64| [a[0] + sign * b[0], (a[1] + sign * b[1]).max(0.0)];
    let shrink = |[weighted, weight]: [f64; 2]| -> (f64, f64) {
        let precision = weight + 1.0 / prior;
        (weighted / precision, 1.0 / precision)
    };
    let machine_all = |excluded: &[bool]| -> (Vec<(f64, f64)>, (f64, f64)) {
        let mut total = [0.0; 2];
        let mut per_function: std::collections::HashMap<usize, [f64; 2]> = std::collections::HashMap::new();
        for &r in regions.iter().filter(|r| !excluded[**r]) {
            total = add(total, contribution(r), 1.0);
            if let Some(parent) = units[r].parent {
                let entry = per_function.entry(parent).or_insert([0.0; 2]);
                *entry = add(*entry, contribution(r), 1.0);
            }
        }
        let each = (0..units.len())
            .map(|i| match units[i].function {
                Some(function) => shrink(add(total, per_function.get(&function).copied().unwrap_or([0.0; 2]), -1.0)),
                None if excluded[i] => shrink(total),
                None => shrink(add(total, contribution(i), -1.0)),
            })
            .collect();
        (each, shrink(total))
    };
    let z_scores = |excluded: &[bool]| -> Vec<(f64, f64)> {
        let (machine, _) = machine_all(excluded);
        (0..units.len())
            .map(|i| {
                let (delta, v_delta) = machine[i];
                let se = (prepared[i].variance + v_delta).sqrt();
                ((prepared[i].log_ratio - delta) / se, se)
            })
            .collect()
    };
    // Set aside regions that changed (screened at a looser level) until the set settles.
    let mut excluded = vec![false; units.len()];
    for _ in 0..10 {
        let scores = z_scores(&excluded);
        let p: Vec<f64> = scores.iter().map(|(z, _)| p_of(*z)).collect();
        let flagged = benjamini_hochberg(&p, SCREEN_RATE);
        let next: Vec<bool> = (0..units.len()).map(|i| flagged[i] && units[i].function.is_none()).collect();
        if next == excluded {
            break;
        }
        excluded = next;
    }
    let scores = z_scores(&excluded);
    let p_values: Vec<f64> = scores.iter().map(|(z, _)| p_of(*z)).collect();

    // Functions and regions outside functions first; then the regions of each function named. A unit
    // whose two sides together are under `min_cpu_s` can never be named (its change cannot reach the
    // floor), so it is left out of the families rather than diluting them: filtering on the total,
    // which says nothing about the direction of a change, keeps the error rate (Bourgon et al., 2010).
    let alpha = rule.alpha();
    let possible = |i: &usize| prepared[*i].seconds.0 + prepared[*i].seconds.1 >= min_cpu_s;
    let top: Vec<usize> = (0..units.len()).filter(|i| units[*i].parent.is_none()).filter(possible).collect();
    let mut significant = vec![false; units.len()];
    let mut family_size = vec![top.len().max(1); units.len()];
    let top_found = benjamini_hochberg(&top.iter().map(|i| p_values[*i]).collect::<Vec<_>>(), alpha);
    for (index, found) in top.iter().zip(top_found) {
        significant[*index] = found;
    }
    for function in top.iter().filter_map(|i| units[*i].function) {
        let children: Vec<usize> = (0..units.len()).filter(|i| units[*i].parent == Some(function)).filter(possible).collect();
        for child in &children {
            family_size[*child] = children.len().max(1);
        }
        let function_named = top.iter().any(|i| units[*i].function == Some(function) && significant[*i]);
        if !function_named || children.is_empty() {
            continue;
        }
        let found = benjamini_hochberg(&children.iter().map(|i| p_values[*i]).collect::<Vec<_>>(), alpha);
        for (index, found) in children.iter().zip(found) {
            significant[*index] = found;
        }
    }

    let machine_factor = machine_all(&excluded).1.0.exp();
    let interval_z = normal().inverse_cdf(1.0 - alpha / 2.0);
    let min_ratio = rule.min_change_percent / 100.0;
    let tests = (0..units.len())
        .map(|i| {
            let (z, se) = scores[i];
            let log_ratio = z * se;
            let ratio = log_ratio.exp();
            let moved = (prepared[i].seconds.1 - prepared[i].seconds.0).abs();
            let named = significant[i] && (ratio - 1.0).abs() >= min_ratio && moved >= min_cpu_s && moved > 0.0;
            // The smallest ratio the first step of the procedure names for sure in this family.
            let certain_z = normal().inverse_cdf(1.0 - alpha / (2.0 * family_size[i] as f64));
            Test {
                ratio,
                interval: [(log_ratio - interval_z * se).exp(), (log_ratio + interval_z * se).exp()],
                p_value: p_values[i],
                change: named.then_some(if z > 0.0 { Direction::Up } else { Direction::Down }),
                detectable_percent: ((certain_z * se).exp() - 1.0).max(min_ratio) * 100.0,
            }
        })
        .collect();
    Judgement { tests, machine_factor }
}

/// Elapsed time: judged only when both sides have repeated runs (a t-test on log seconds: one run's
/// wall-clock time moves with the machine's load, 3-12% measured). Returns (judged, p, direction).
pub fn judge_elapsed(before: &[f64], after: &[f64], rule: &NoiseRule) -> (bool, Option<f64>, Option<Direction>) {
    if before.len() < 2 || after.len() < 2 || before.iter().chain(after).any(|s| s.partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater)) {
        return (false, None, None);
    }
    let logs = |runs: &[f64]| runs.iter().map(|s| s.ln()).collect::<Vec<_>>();
    let (lb, la) = (logs(before), logs(after));
    let mean = |xs: &[f64]| xs.iter().sum::<f64>() / xs.len() as f64;
    let (mb, ma) = (mean(&lb), mean(&la));
    let squares = |xs: &[f64], m: f64| xs.iter().map(|x| (x - m) * (x - m)).sum::<f64>();
    let df = (lb.len() + la.len() - 2) as f64;
    // A floor under the spread: three runs can agree by luck.
    let spread = ((squares(&lb, mb) + squares(&la, ma)) / df).sqrt().max(0.02);
    let se = spread * (1.0 / lb.len() as f64 + 1.0 / la.len() as f64).sqrt();
    let t = (ma - mb) / se;
    let p = StudentsT::new(0.0, 1.0, df).map_or(1.0, |dist| (2.0 * (1.0 - dist.cdf(t.abs()))).clamp(0.0, 1.0));
    let change = ((ma - mb).exp() - 1.0).abs() * 100.0;
    let direction = (p <= rule.alpha() && change >= rule.min_change_percent).then_some(if t > 0.0 { Direction::Up } else { Direction::Down });
    (true, Some(p), direction)
}

/// Scalene samples allocations by volume, one sample per window (`--allocation-sampling-window`,
/// 1048576 bytes by default).
pub const ALLOCATION_WINDOW_MB: f64 = 1.0;

/// Allocated MB of a line or function: close to deterministic, so a change must pass the floors and be
/// more than three allocation sampling windows.
pub fn judge_alloc(before: f64, after: f64, rule: &NoiseRule) -> Option<Direction> {
    let delta = after - before;
    let relative = if before > 0.0 { delta.abs() / before * 100.0 } else { f64::INFINITY };
    let changed = delta.abs() >= rule.min_mb.max(f64::MIN_POSITIVE) && relative >= rule.min_change_percent && delta.abs() > 3.0 * ALLOCATION_WINDOW_MB;
    changed.then_some(if delta > 0.0 { Direction::Up } else { Direction::Down })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn amount(seconds: f64, interval: f64) -> Amount {
        Amount { seconds, samples: seconds / interval }
    }

    fn side() -> SideInfo {
        SideInfo { runs: 1, sampling_s: 0.002, memory: false }
    }

    /// Four functions of one region each; `factor` scales the whole after side (a busy machine) and
    /// `changed` one function.
    fn program(factor: f64, changed: f64) -> Vec<Unit> {
        let seconds = [1.0, 0.6, 0.4, 0.3];
        let mut units = Vec::new();
        for (index, s) in seconds.iter().enumerate() {
            let after = s * factor * if index == 3 { changed } else { 1.0 };
            units.push(Unit { before: amount(*s, 0.002), after: amount(after, 0.002), parent: None, function: Some(index) });
            units.push(Unit { before: amount(*s, 0.002), after: amount(after, 0.002), parent: Some(index), function: None });
        }
        units
    }

    #[test]
    fn a_uniformly_slower_machine_changes_nothing_and_is_reported_as_the_machine_factor() {
        let judgement = judge(&program(1.3, 1.0), side(), side(), &NoiseRule::default(), 0.05);
        assert!(judgement.tests.iter().all(|test| test.change.is_none()), "{:#?}", judgement.tests);
        assert!(judgement.machine_factor > 1.1 && judgement.machine_factor < 1.31, "{}", judgement.machine_factor);
    }

    #[test]
    fn a_doubled_function_and_its_region_are_named_even_on_a_slower_machine() {
        let judgement = judge(&program(1.2, 2.0), side(), side(), &NoiseRule::default(), 0.05);
        let named: Vec<usize> = (0..8).filter(|i| judgement.tests[*i].change == Some(Direction::Up)).collect();
        assert_eq!(named, vec![6, 7], "{:#?}", judgement.tests);
        assert!((judgement.tests[6].ratio - 2.0).abs() < 0.2, "{}", judgement.tests[6].ratio);
        assert!(judgement.tests.iter().all(|test| test.change != Some(Direction::Down)));
    }

    /// Memory mode: a big allocating loop whose few samples each carry much time (so little is known
    /// about it) grows 4x; it must not pass for a slower machine and hide the doubled function.
    #[test]
    fn a_big_noisy_region_that_changed_does_not_set_the_machine_factor() {
        let mut units = program(1.0, 2.0);
        let (before, after) = (Amount { seconds: 1.5, samples: 25.0 }, Amount { seconds: 6.0, samples: 60.0 });
        units.push(Unit { before, after, parent: None, function: Some(4) });
        units.push(Unit { before, after, parent: Some(4), function: None });
        let memory = SideInfo { memory: true, ..side() };
        let judgement = judge(&units, memory, memory, &NoiseRule::default(), 0.05);
        assert!((judgement.machine_factor - 1.0).abs() < 0.1, "{}", judgement.machine_factor);
        assert_eq!(judgement.tests[6].change, Some(Direction::Up), "{:#?}", judgement.tests);
        assert!((judgement.tests[6].ratio - 2.0).abs() < 0.25, "{}", judgement.tests[6].ratio);
    }

    /// The e2e case that failed under scripts/test-under-load: `--repeat 3` in memory mode, one function
    /// twice as slow, another allocating five times more, and the whole after-series 1.43x slower. The
    /// unchanged function is the only witness of the machine, so only the prior can say the machine was
    /// slower; a prior that narrowed with the number of runs named it regressed.
    #[test]
    fn a_slower_series_does_not_make_the_only_unchanged_function_a_regression() {
        let series = |seconds: f64| Amount { seconds, samples: 3.0 * seconds / 0.002 };
        let slower = 1.43;
        let mut units = Vec::new();
        for (index, (before, after)) in [(0.3, 0.6 * slower), (0.3, 0.3 * slower), (0.05, 0.25 * slower)].into_iter().enumerate() {
            units.push(Unit { before: series(before), after: series(after), parent: None, function: Some(index) });
            units.push(Unit { before: series(before), after: series(after), parent: Some(index), function: None });
        }
        let memory = SideInfo { runs: 3, memory: true, ..side() };
        let judgement = judge(&units, memory, memory, &NoiseRule::default(), 0.05);
        assert_eq!(judgement.tests[0].change, Some(Direction::Up), "the doubled function: {:#?}", judgement.tests);
        assert_eq!((judgement.tests[2].change, judgement.tests[3].change), (None, None), "the unchanged one: {:#?}", judgement.tests);
    }

    #[test]
    fn benjamini_hochberg_keeps_the_smallest_p_values_under_the_staircase() {
        assert_eq!(benjamini_hochberg(&[0.001, 0.5, 0.02, 0.03], 0.1), vec![true, false, true, true]);
        assert_eq!(benjamini_hochberg(&[0.02, 0.5], 0.01), vec![false, false]);
        assert!(benjamini_hochberg(&[], 0.01).is_empty());
    }

    #[test]
    fn elapsed_is_judged_only_with_repeats_on_both_sides() {
        let rule = NoiseRule::default();
        assert_eq!(judge_elapsed(&[1.0], &[2.0], &rule), (false, None, None));
        let (judged, _, direction) = judge_elapsed(&[1.0, 1.02, 0.99], &[2.0, 2.05, 1.98], &rule);
        assert!(judged);
        assert_eq!(direction, Some(Direction::Up));
        assert_eq!(judge_elapsed(&[1.0, 1.3, 0.9], &[1.1, 0.95, 1.25], &rule).2, None);
    }

    #[test]
    fn allocation_changes_must_pass_floors_and_the_sampling_granularity() {
        let rule = NoiseRule::default();
        assert_eq!(judge_alloc(30.4, 150.2, &rule), Some(Direction::Up));
        assert_eq!(judge_alloc(30.4, 30.9, &rule), None);
        assert_eq!(judge_alloc(30.0, 32.5, &NoiseRule { min_mb: 0.0, min_change_percent: 0.0, ..rule.clone() }), None, "within three sampling windows");
        assert_eq!(judge_alloc(150.0, 30.0, &rule), Some(Direction::Down));
        assert_eq!(judge_alloc(100.0, 108.0, &rule), None, "below 10 MB");
    }
}
