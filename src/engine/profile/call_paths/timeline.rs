//! The CPU timeline as a flame chart: x is time since the first sample, each thread a lane, the stacks
//! drawn as they were sampled, a frame spanning the time its function chain stayed the same. Bounded by
//! the view: time is cut into `columns` (the view's pixels); each column shows the stack that ran
//! longest in it, and adjacent columns with the same chain merge, so 20,000 runs cost at most
//! `columns` x depth spans, whatever the length of the run.
//!
//! How long a run lasted: Scalene gives its start (`t_s`) and its count of consecutive samples, not its
//! end. A run lasts until the next run of its thread starts, at most `count` x `GAP_FACTOR` (20) typical
//! sample spacings (the median of gap / count over the profile): a longer silence (the program slept,
//! or ran another thread) is shown as a gap, not as the last stack.

use std::collections::HashMap;

use super::{CallPaths, TimelineRun};

/// A run stretches over at most this many typical sample spacings per sample before a gap starts.
const GAP_FACTOR: f64 = 20.0;
/// The spacing taken when a profile has too few runs to measure one (Scalene's default interval).
const DEFAULT_SPACING_S: f64 = 0.01;
/// At most this many spans in a chart (the shallowest are kept; a note says so).
pub const MAX_TIMELINE_SPANS: usize = 50_000;
/// The widest view asked for, in columns.
pub const MAX_COLUMNS: usize = 8_000;

/// A frame of the chart: `function` at `depth` (0 = outermost) from `start_s` to `end_s`.
#[derive(Clone, Debug, PartialEq)]
pub struct TimelineSpan {
    pub function: u32,
    /// The line the function was on at the span's start (a profiled line), None for a native frame.
    pub line: Option<u32>,
    pub depth: u32,
    pub start_s: f64,
    pub end_s: f64,
    /// The samples of the runs shown in the span whose stack passes through its chain.
    pub samples: f64,
}

/// One thread's spans, by depth then start.
#[derive(Clone, Debug, PartialEq)]
pub struct TimelineLane {
    /// Scalene's thread id, when it named one.
    pub thread: Option<u64>,
    /// Samples of this thread (all its runs).
    pub samples: u64,
    /// Rows: the deepest span's depth + 1.
    pub depth: u32,
    pub spans: Vec<TimelineSpan>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct TimelineChart {
    /// From the first sample to the end of the last run.
    pub duration_s: f64,
    /// Lanes in the order their threads were first sampled.
    pub lanes: Vec<TimelineLane>,
    /// Runs in the profile's timeline.
    pub runs: usize,
    /// Columns the time was cut into.
    pub columns: usize,
    /// What was left out.
    pub notes: Vec<String>,
}

/// What ran in one column of one lane: per stack, the time and samples in the column and the time span.
#[derive(Clone, Copy, Debug)]
struct Share {
    stack: u32,
    seconds: f64,
    samples: f64,
    lo: f64,
    hi: f64,
}

impl CallPaths {
    /// The timeline cut into `columns` (1..=`MAX_COLUMNS`) columns; None when there is no timeline.
    pub fn timeline_chart(&self, columns: usize) -> Option<TimelineChart> {
        if self.timeline.is_empty() {
            return None;
        }
        let columns = columns.clamp(1, MAX_COLUMNS);
        // Lanes in the order of their first run, each with its runs' indices.
        let mut lane_of: HashMap<Option<u64>, usize> = HashMap::new();
        let mut lanes: Vec<(Option<u64>, Vec<&TimelineRun>)> = Vec::new();
        for run in &self.timeline {
            let index = *lane_of.entry(run.thread).or_insert_with(|| {
                lanes.push((run.thread, Vec::new()));
                lanes.len() - 1
            });
            lanes[index].1.push(run);
        }
        let spacing = typical_spacing(&lanes);
        // Each run's [start, end).
        let timed: Vec<Vec<(&TimelineRun, f64, f64)>> = lanes
            .iter()
            .map(|(_, runs)| {
                runs.iter()
                    .enumerate()
                    .map(|(index, run)| {
                        let longest = run.t_s + f64::from(run.count.max(1)) * spacing * GAP_FACTOR;
                        let end = match runs.get(index + 1) {
                            Some(next) => next.t_s.min(longest),
                            None => run.t_s + f64::from(run.count.max(1)) * spacing,
                        };
                        (*run, run.t_s, end.max(run.t_s))
                    })
                    .collect()
            })
            .collect();
        let duration_s = timed.iter().flatten().map(|(_, _, end)| *end).fold(0.0, f64::max).max(spacing);
        let width = duration_s / columns as f64;
        let mut chart = TimelineChart { duration_s, lanes: Vec::new(), runs: self.timeline.len(), columns, notes: Vec::new() };
        for ((thread, _), runs) in lanes.iter().zip(&timed) {
            let mut cells: Vec<Vec<Share>> = vec![Vec::new(); columns];
            for (run, start, end) in runs {
                let first = ((start / width) as usize).min(columns - 1);
                let last = (((end / width).ceil() as usize).max(first + 1)).min(columns);
                let length = (end - start).max(f64::MIN_POSITIVE);
                for (column, cell) in cells.iter_mut().enumerate().take(last).skip(first) {
                    let (lo, hi) = (start.max(column as f64 * width), end.min((column + 1) as f64 * width));
                    let seconds = (hi - lo).max(0.0);
                    // A run shorter than a column still counts there (a zero-length run at its start).
                    let samples = if end > start { f64::from(run.count) * seconds / length } else { f64::from(run.count) };
                    match cell.iter_mut().find(|share| share.stack == run.stack) {
                        Some(share) => {
                            share.seconds += seconds;
                            share.samples += samples;
                            share.lo = share.lo.min(lo);
                            share.hi = share.hi.max(hi);
                        }
                        None => cell.push(Share { stack: run.stack, seconds, samples, lo, hi: hi.max(lo) }),
                    }
                }
            }
            chart.lanes.push(self.lane(*thread, runs.iter().map(|(run, _, _)| u64::from(run.count)).sum(), &cells));
        }
        let total: usize = chart.lanes.iter().map(|lane| lane.spans.len()).sum();
        if total > MAX_TIMELINE_SPANS {
            // The shallowest spans first: keep whole rows while they fit.
            let mut depths: Vec<u32> = chart.lanes.iter().flat_map(|lane| lane.spans.iter().map(|span| span.depth)).collect();
            depths.sort_unstable();
            let cut = depths[MAX_TIMELINE_SPANS];
            for lane in &mut chart.lanes {
                lane.spans.retain(|span| span.depth < cut);
                lane.depth = lane.depth.min(cut);
            }
            chart.notes.push(format!("the timeline shows its top {cut} rows: {total} frames would not fit"));
        }
        Some(chart)
    }

    /// A lane's spans from its columns: each column's longest-running stack, adjacent columns merged
    /// while their chains agree (depth by depth).
    fn lane(&self, thread: Option<u64>, samples: u64, cells: &[Vec<Share>]) -> TimelineLane {
        let mut spans: Vec<TimelineSpan> = Vec::new();
        // The open span of each depth (index into `spans`) and the chain shown in the previous column.
        let mut open: Vec<usize> = Vec::new();
        let mut previous: Option<(usize, u32)> = None;
        let mut depth = 0;
        for (column, cell) in cells.iter().enumerate() {
            let Some(best) = cell.iter().max_by(|a, b| a.seconds.total_cmp(&b.seconds).then(b.stack.cmp(&a.stack))) else {
                open.clear();
                continue;
            };
            let frames: Vec<_> = self.cpu[best.stack as usize].frames.iter().map(|frame| self.frame(*frame)).collect();
            // How deep the chain goes on as in the previous column.
            let kept = match previous {
                Some((last_column, last_stack)) if last_column + 1 == column => {
                    let before = &self.cpu[last_stack as usize].frames;
                    frames
                        .iter()
                        .zip(before.iter().map(|frame| self.frame(*frame)))
                        .take_while(|(now, then)| now.function == then.function)
                        .count()
                        .min(open.len())
                }
                _ => 0,
            };
            open.truncate(kept);
            // How far each of the column's stacks follows this chain: its samples count for every frame
            // of the common part.
            let common: Vec<(usize, f64)> = cell
                .iter()
                .map(|share| {
                    let stack = &self.cpu[share.stack as usize].frames;
                    let length = stack.iter().zip(&frames).take_while(|(frame, wanted)| self.frame(**frame).function == wanted.function).count();
                    (length, share.samples)
                })
                .collect();
            for (index, frame) in frames.iter().enumerate() {
                let samples: f64 = common.iter().filter(|(length, _)| *length > index).map(|(_, samples)| samples).sum();
                if index < kept {
                    let span = &mut spans[open[index]];
                    span.end_s = best.hi;
                    span.samples += samples;
                } else {
                    open.push(spans.len());
                    spans.push(TimelineSpan {
                        function: frame.function,
                        line: frame.line,
                        depth: index as u32,
                        start_s: best.lo,
                        end_s: best.hi,
                        samples,
                    });
                }
            }
            depth = depth.max(frames.len() as u32);
            previous = Some((column, best.stack));
        }
        spans.sort_by(|a, b| a.depth.cmp(&b.depth).then(a.start_s.total_cmp(&b.start_s)));
        TimelineLane { thread, samples, depth, spans }
    }
}

/// The typical time per sample: the median over runs followed by another of their thread of the gap
/// to it divided by the run's count.
fn typical_spacing(lanes: &[(Option<u64>, Vec<&TimelineRun>)]) -> f64 {
    let mut gaps: Vec<f64> = lanes
        .iter()
        .flat_map(|(_, runs)| runs.windows(2).map(|pair| (pair[1].t_s - pair[0].t_s) / f64::from(pair[0].count.max(1))))
        .filter(|gap| *gap > 0.0 && gap.is_finite())
        .collect();
    if gaps.is_empty() {
        return DEFAULT_SPACING_S;
    }
    gaps.sort_by(f64::total_cmp);
    gaps[gaps.len() / 2]
}
