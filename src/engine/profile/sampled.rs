//! Sampled stacks (py-spy's, of a process scalene-lsp attached to) → the same per-line/per-function model
//! and call paths as a Scalene profile. `SampleTally` counts stacks as they come (one per thread per
//! tick); `SampleTally::profile` builds a `Profile` from the counts at any time (each live snapshot, and
//! the final profile). Pure: the caller reads the source files and passes their text in.
//!
//! A line's CPU share is the samples whose innermost Python frame was on it, as a part of every sample
//! counted (all threads merged); `cpu_native` when the innermost frame was native (`--native`), else
//! `cpu_python`. A function's numbers are its lines' (its `def` range, found in the source), like
//! Scalene's; what it costs with its callees is the call paths' `inclusive`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::engine::profile::call_paths::{CallPathsBuilder, Place, Weight};
use crate::engine::profile::metrics::LineMetrics;
use crate::engine::profile::model::{Attached, FileProfile, FunctionStats, LineStats, Profile, RunStatus, ThreadSamples};

/// One frame of a sampled stack.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SampledFrame {
    /// The function's name as py-spy read it (`co_qualname` on Python 3.11+, else `co_name`).
    pub name: Arc<str>,
    /// The source file (a Python frame), or the shared library (a native frame).
    pub file: Arc<str>,
    /// The line (0 for a native frame).
    pub line: u32,
    pub native: bool,
}

/// What is known of the target and the sampling, for the profile's `Attached`.
#[derive(Clone, Debug, Default)]
pub struct SamplingInfo {
    pub pid: u32,
    pub command_line: String,
    pub python_version: Option<String>,
    pub rate_hz: f64,
    pub idle: bool,
    pub native: bool,
    pub subprocesses: bool,
    /// Only the threads matching this were counted (`--thread`).
    pub thread: Option<String>,
}

/// The thread a stack was read from.
#[derive(Clone, Copy, Debug)]
pub struct ThreadOf<'a> {
    pub pid: u32,
    /// Python's id (`threading.get_ident()`).
    pub id: u64,
    /// The operating system's id (`threading.get_native_id()`).
    pub native_id: Option<u64>,
    pub name: Option<&'a str>,
}

impl ThreadOf<'_> {
    /// True when `filter` is this thread's name, native id, or Python id (decimal or `0x` hex).
    pub fn matches(&self, filter: &str) -> bool {
        let filter = filter.trim();
        self.name == Some(filter)
            || self.native_id.is_some_and(|id| id.to_string() == filter)
            || self.id.to_string() == filter
            || format!("{:#x}", self.id).eq_ignore_ascii_case(filter)
    }

    /// How a user knows the thread: its name and native id.
    fn label(&self) -> String {
        match (self.name, self.native_id) {
            (Some(name), Some(native)) => format!("{name} (tid {native})"),
            (Some(name), None) => name.to_string(),
            (None, Some(native)) => format!("tid {native}"),
            (None, None) => format!("{:#x}", self.id),
        }
    }
}

/// Stacks counted so far: distinct stacks (outermost frame first) and their counts, the time order of
/// the samples (runs of one stack on one thread), and the per-thread counts.
#[derive(Default)]
pub struct SampleTally {
    stack_ids: HashMap<Box<[SampledFrame]>, u32>,
    stacks: Vec<(Box<[SampledFrame]>, u64)>,
    timeline: Vec<(f64, u32, u32, u64)>,
    threads: HashMap<(u32, u64), ThreadSamples>,
    /// With a thread filter: the stacks of other threads, left out, by thread.
    only: Option<String>,
    others: HashMap<String, u64>,
    ticks: u64,
    samples: u64,
    errors: u64,
    skipped: u64,
}

/// At most this many timeline runs are kept (the call-path model's bound).
const MAX_TIMELINE: usize = crate::engine::profile::call_paths::MAX_TIMELINE_RUNS;

impl SampleTally {
    /// A tally counting only the threads `filter` matches (see `ThreadOf::matches`); all with `None`.
    pub fn only_thread(filter: Option<String>) -> SampleTally {
        SampleTally { only: filter, ..SampleTally::default() }
    }

    /// One tick: every thread's stack was read (or not: `error`).
    pub fn tick(&mut self, error: bool) {
        self.ticks += 1;
        if error {
            self.errors += 1;
        }
    }

    /// One thread's stack at `t_s` seconds after attaching, outermost frame first.
    pub fn add(&mut self, t_s: f64, thread: ThreadOf, frames: Vec<SampledFrame>) {
        if frames.is_empty() {
            return;
        }
        if let Some(only) = &self.only
            && !thread.matches(only)
        {
            *self.others.entry(thread.label()).or_default() += 1;
            return;
        }
        let thread_id = thread.id;
        self.samples += 1;
        let entry = self.threads.entry((thread.pid, thread_id)).or_insert_with(|| ThreadSamples {
            pid: thread.pid,
            thread_id,
            native_id: thread.native_id,
            name: thread.name.map(str::to_owned),
            samples: 0,
        });
        entry.samples += 1;
        let key: Box<[SampledFrame]> = frames.into_boxed_slice();
        let id = match self.stack_ids.get(&key) {
            Some(id) => *id,
            None => {
                let id = self.stacks.len() as u32;
                self.stacks.push((key.clone(), 0));
                self.stack_ids.insert(key, id);
                id
            }
        };
        self.stacks[id as usize].1 += 1;
        let room = self.timeline.len() < MAX_TIMELINE;
        match self.timeline.last_mut() {
            Some(last) if last.1 == id && last.3 == thread_id => last.2 += 1,
            _ if room => self.timeline.push((t_s, id, 1, thread_id)),
            _ => {}
        }
    }

    /// One tick skipped: it came right after the previous one (py-spy catching up), so it would only
    /// repeat that moment.
    pub fn skip(&mut self) {
        self.skipped += 1;
    }

    pub fn samples(&self) -> u64 {
        self.samples
    }

    pub fn ticks(&self) -> u64 {
        self.ticks
    }

    /// The Python source files the stacks name (to be read by the caller for `profile`).
    pub fn files(&self) -> Vec<Arc<str>> {
        let mut files: Vec<Arc<str>> = self.stacks.iter().flat_map(|(frames, _)| frames.iter()).filter(|frame| !frame.native).map(|frame| frame.file.clone()).collect();
        files.sort();
        files.dedup();
        files
    }

    /// The profile of the samples so far. `sources` holds the text of the files that could be read;
    /// `program` names the target (its script, else its command line).
    pub fn profile(&self, info: &SamplingInfo, status: RunStatus, program: String, elapsed_s: f64, sources: &HashMap<Arc<str>, Arc<str>>) -> Profile {
        let total = self.samples.max(1) as f64;
        let interval_s = 1.0 / info.rate_hz;
        // Per file, per line: (python samples, native samples).
        let mut lines: HashMap<&str, HashMap<u32, (u64, u64)>> = HashMap::new();
        // Per file: the functions seen as the innermost Python frame, by (name, a line inside).
        let mut leaf_functions: HashMap<&str, Vec<(&str, u32)>> = HashMap::new();
        for (frames, count) in &self.stacks {
            let native_leaf = frames.last().is_some_and(|frame| frame.native);
            let Some(leaf) = frames.iter().rev().find(|frame| !frame.native) else { continue };
            let counts = lines.entry(&leaf.file).or_default().entry(leaf.line).or_default();
            if native_leaf {
                counts.1 += count;
            } else {
                counts.0 += count;
            }
            leaf_functions.entry(&leaf.file).or_default().push((&leaf.name, leaf.line));
        }
        let mut files: Vec<FileProfile> = lines
            .into_iter()
            .map(|(file, by_line)| {
                let source = sources.get(file).cloned().unwrap_or_else(|| Arc::from(""));
                let texts: Vec<&str> = source.lines().collect();
                let mut line_stats: Vec<LineStats> = by_line
                    .into_iter()
                    .filter(|(line, _)| *line > 0)
                    .map(|(line, (python, native))| LineStats {
                        line,
                        text: texts.get(line as usize - 1).map(|text| text.to_string()).unwrap_or_default(),
                        metrics: LineMetrics {
                            cpu_python: python as f64 / total * 100.0,
                            cpu_native: native as f64 / total * 100.0,
                            ..LineMetrics::default()
                        },
                        outer_loop: None,
                        memory_timeline: Vec::new(),
                        cpu_samples: Some((python + native) as f64),
                    })
                    .collect();
                line_stats.sort_by_key(|line| line.line);
                let mut functions: Vec<FunctionStats> = Vec::new();
                for (name, line) in leaf_functions.remove(file).unwrap_or_default() {
                    let Some((def_line, end_line)) = def_range(&texts, name, line) else { continue };
                    if functions.iter().any(|function| function.line == def_line) {
                        continue;
                    }
                    let inside = line_stats.iter().filter(|stats| (def_line..=end_line).contains(&stats.line));
                    let (cpu_python, cpu_native) = inside.fold((0.0, 0.0), |(p, n), stats| (p + stats.metrics.cpu_python, n + stats.metrics.cpu_native));
                    functions.push(FunctionStats { name: name.to_string(), line: def_line, end_line, cpu_python, cpu_native, ..FunctionStats::default() });
                }
                functions.sort_by_key(|function| function.line);
                FileProfile {
                    path: PathBuf::from(file),
                    cpu_percent: line_stats.iter().map(LineStats::cpu_total).sum(),
                    lines: line_stats,
                    functions,
                    leaks: Vec::new(),
                    source,
                }
            })
            .collect();
        files.sort_by(|a, b| a.path.cmp(&b.path));

        let mut builder = CallPathsBuilder::default();
        for (frames, count) in &self.stacks {
            let ids = frames
                .iter()
                .map(|frame| {
                    let place = if frame.native {
                        Place::Native(Path::new(&*frame.file).file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default())
                    } else {
                        Place::Python(PathBuf::from(&*frame.file))
                    };
                    let function = builder.function(&frame.name, place);
                    builder.frame(function, (!frame.native).then_some(frame.line))
                })
                .collect();
            builder.push(Weight::Cpu, ids, *count as f64);
        }
        for (t_s, stack, count, thread) in &self.timeline {
            builder.timeline(*t_s, *stack as usize, *count, Some(*thread));
        }
        let call_paths = builder.finish(self.timeline.len());

        let mut threads: Vec<ThreadSamples> = self.threads.values().cloned().collect();
        threads.sort_by(|a, b| b.samples.cmp(&a.samples).then(a.thread_id.cmp(&b.thread_id)));
        let mut profile = Profile::empty(status, program);
        profile.elapsed_s = elapsed_s;
        profile.files = files;
        profile.cpu_sampling_s = Some(interval_s);
        profile.call_paths = call_paths.map(Arc::new);
        profile.notes.push(format!(
            "Sampled by py-spy at {} Hz: {} samples in {:.1} s of pid {} ({}), a process scalene-lsp attached to and did not start. \
             CPU numbers are wall-clock samples of its {} (a share is a part of the samples; seconds are samples × {} ms); no memory numbers.",
            info.rate_hz,
            self.samples,
            elapsed_s,
            info.pid,
            info.command_line,
            if info.idle { "threads, idle ones included" } else { "running threads" },
            interval_s * 1000.0,
        ));
        if self.errors > 0 {
            profile.notes.push(format!("{} of {} ticks could not read the stacks and were skipped", self.errors, self.ticks));
        }
        if self.skipped > 0 {
            profile.notes.push(format!(
                "{} ticks came right after the previous one (the sampler fell behind on a busy machine) and were skipped, so as not to count one moment twice",
                self.skipped
            ));
        }
        if let Some(only) = &self.only {
            let left_out: u64 = self.others.values().sum();
            if self.samples == 0 && left_out > 0 {
                let mut seen: Vec<(&String, &u64)> = self.others.iter().collect();
                seen.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
                let seen: Vec<&str> = seen.iter().take(10).map(|(label, _)| label.as_str()).collect();
                profile.notes.push(format!(
                    "No thread matched {only:?}: the threads sampled were {}. Fix: pass one of their names or tids to --thread (`thread` in the editor and MCP).",
                    seen.join(", ")
                ));
            } else {
                profile.notes.push(format!(
                    "Only the threads matching {only:?} (by name, tid or Python id) were counted: {} of {} thread samples; every share is a part of theirs.",
                    self.samples,
                    self.samples + left_out
                ));
            }
        }
        if self.samples == 0 && (self.only.is_none() || self.others.is_empty()) {
            profile.notes.push(if info.idle {
                "No stack was sampled: the process had no Python thread to read.".to_string()
            } else {
                "No running thread was sampled: the process was idle the whole time (waiting on I/O, a lock or sleep). Fix: send it work while attached, or count idle threads with --idle.".to_string()
            });
        }
        profile.attached = Some(Arc::new(Attached {
            pid: info.pid,
            command_line: info.command_line.clone(),
            python_version: info.python_version.clone(),
            rate_hz: info.rate_hz,
            ticks: self.ticks,
            samples: self.samples,
            errors: self.errors,
            idle: info.idle,
            native: info.native,
            subprocesses: info.subprocesses,
            thread: info.thread.clone(),
            threads,
        }));
        profile
    }
}

impl Attached {
    /// The per-thread view of the samples, for a header or a hover: `crunch (tid 4012) 52% · churn (tid
    /// 4013) 48%` (at most `shown` threads, then "N more"), when there are several threads or a
    /// `--thread` filter to say; `none matched` for a filter that matched nothing.
    pub fn thread_summary(&self, shown: usize) -> Option<String> {
        if self.threads.len() < 2 && self.thread.is_none() {
            return None;
        }
        let total = self.samples.max(1) as f64;
        let mut parts: Vec<String> = self
            .threads
            .iter()
            .take(shown)
            .map(|thread| {
                let name = thread.name.clone().unwrap_or_else(|| format!("{:#x}", thread.thread_id));
                let id = thread.native_id.map(|tid| format!(" (tid {tid})")).unwrap_or_default();
                format!("{name}{id} {:.0}%", 100.0 * thread.samples as f64 / total)
            })
            .collect();
        if self.threads.len() > shown {
            parts.push(format!("{} more", self.threads.len() - shown));
        }
        Some(if parts.is_empty() { "none matched".to_string() } else { parts.join(" · ") })
    }
}

/// The `def` of function `name` around `line` in `texts` (the file's lines): the nearest `def`/`async
/// def` of that name at or above the line whose body (the lines indented deeper, up to the next line
/// indented as much or less) holds it, as (def line, last line of its body).
pub fn def_range(texts: &[&str], name: &str, line: u32) -> Option<(u32, u32)> {
    let short = name.rsplit('.').next().unwrap_or(name);
    if short.starts_with('<') {
        return None;
    }
    let indent = |text: &str| text.len() - text.trim_start().len();
    let is_code = |text: &str| !text.trim().is_empty() && !text.trim_start().starts_with('#');
    let last = (line as usize).min(texts.len());
    for def_index in (0..last).rev() {
        let text = texts[def_index].trim_start();
        let rest = text.strip_prefix("async ").unwrap_or(text).trim_start();
        let Some(after) = rest.strip_prefix("def ") else { continue };
        if !after.trim_start().strip_prefix(short).is_some_and(|tail| tail.trim_start().starts_with('(')) {
            continue;
        }
        let def_indent = indent(texts[def_index]);
        let mut end = def_index;
        for (index, body) in texts.iter().enumerate().skip(def_index + 1) {
            if is_code(body) && indent(body) <= def_indent {
                break;
            }
            if is_code(body) {
                end = index;
            }
        }
        if end + 1 >= line as usize {
            return Some((def_index as u32 + 1, end as u32 + 1));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(name: &str, file: &str, line: u32) -> SampledFrame {
        SampledFrame { name: name.into(), file: file.into(), line, native: false }
    }

    fn main_thread(pid: u32, id: u64) -> ThreadOf<'static> {
        ThreadOf { pid, id, native_id: Some(4242), name: Some("MainThread") }
    }

    const SOURCE: &str = "import time\n\ndef heavy():\n    x = 0\n    for i in range(10):\n        x += i\n    return x\n\ndef light():\n    return 1\n\ndef main():\n    heavy()\n    light()\n";

    #[test]
    fn def_range_finds_the_enclosing_def_of_that_name() {
        let texts: Vec<&str> = SOURCE.lines().collect();
        assert_eq!(def_range(&texts, "heavy", 6), Some((3, 7)));
        assert_eq!(def_range(&texts, "light", 10), Some((9, 10)));
        assert_eq!(def_range(&texts, "Worker.light", 10), Some((9, 10)), "a qualified name matches its last part");
        assert_eq!(def_range(&texts, "heavy", 10), None, "line 10 is not in heavy's body");
        assert_eq!(def_range(&texts, "<module>", 1), None);
    }

    #[test]
    fn shares_seconds_functions_and_call_paths_come_from_the_counts() {
        let mut tally = SampleTally::default();
        for i in 0..70 {
            tally.tick(false);
            tally.add(i as f64 * 0.01, main_thread(7, 1), vec![frame("<module>", "/p/a.py", 15), frame("main", "/p/a.py", 13), frame("heavy", "/p/a.py", 6)]);
        }
        for i in 0..30 {
            tally.tick(false);
            tally.add(0.7 + i as f64 * 0.01, main_thread(7, 1), vec![frame("<module>", "/p/a.py", 15), frame("main", "/p/a.py", 14), frame("light", "/p/a.py", 10)]);
        }
        tally.tick(true);
        let info = SamplingInfo { pid: 7, command_line: "python a.py".into(), rate_hz: 100.0, ..SamplingInfo::default() };
        let sources = HashMap::from([(Arc::from("/p/a.py"), Arc::from(SOURCE))]);
        let profile = tally.profile(&info, RunStatus::Ok, "/p/a.py".into(), 1.0, &sources);
        let file = &profile.files[0];
        assert_eq!(file.lines.iter().map(|line| (line.line, line.cpu_total().round() as i64, line.cpu_samples)).collect::<Vec<_>>(), vec![(6, 70, Some(70.0)), (10, 30, Some(30.0))]);
        assert_eq!(file.lines[0].text, "        x += i");
        let functions: Vec<(&str, u32, u32, i64)> = file.functions.iter().map(|f| (f.name.as_str(), f.line, f.end_line, f.cpu_total().round() as i64)).collect();
        assert_eq!(functions, vec![("heavy", 3, 7, 70), ("light", 9, 10, 30)]);
        let attached = profile.attached.as_deref().expect("an attached profile says so");
        assert_eq!((attached.samples, attached.ticks, attached.errors, attached.threads.len()), (100, 101, 1, 1));
        assert!(!profile.memory);
        assert_eq!(profile.cpu_sampling_s, Some(0.01));
        let paths = profile.call_paths.as_deref().expect("call paths");
        assert_eq!(paths.total(Weight::Cpu), 100.0);
        assert_eq!(paths.cpu.len(), 2);
        assert_eq!(paths.timeline.iter().map(|run| run.count).sum::<u32>(), 100);
        assert!(profile.notes[0].contains("py-spy at 100 Hz: 100 samples"), "{:?}", profile.notes);
    }

    #[test]
    fn a_native_leaf_charges_the_innermost_python_line_as_native() {
        let mut tally = SampleTally::default();
        let native = SampledFrame { name: "PyNumber_Add".into(), file: "/usr/lib/libpython3.11.so".into(), line: 0, native: true };
        tally.add(0.0, ThreadOf { pid: 1, id: 1, native_id: None, name: None }, vec![frame("heavy", "/p/a.py", 6), native]);
        tally.add(0.0, ThreadOf { pid: 1, id: 2, native_id: None, name: None }, vec![frame("heavy", "/p/a.py", 6)]);
        let profile = tally.profile(&SamplingInfo { rate_hz: 100.0, ..SamplingInfo::default() }, RunStatus::Ok, "a".into(), 0.02, &HashMap::new());
        let line = &profile.files[0].lines[0];
        assert_eq!((line.metrics.cpu_python, line.metrics.cpu_native), (50.0, 50.0));
        assert_eq!(profile.attached.as_deref().unwrap().threads.len(), 2, "threads merged, counted apart");
        assert_eq!(profile.attached.as_deref().unwrap().thread_summary(4).as_deref(), Some("0x1 50% · 0x2 50%"));
        assert_eq!(profile.attached.as_deref().unwrap().thread_summary(1).as_deref(), Some("0x1 50% · 1 more"));
    }

    #[test]
    fn a_thread_filter_counts_that_thread_only_and_names_the_others_when_nothing_matched() {
        let crunch = ThreadOf { pid: 1, id: 0x7f00, native_id: Some(101), name: Some("crunch") };
        let churn = ThreadOf { pid: 1, id: 0x7f01, native_id: Some(102), name: Some("churn") };
        for filter in ["crunch", "101", "0x7F00", &0x7f00u64.to_string()] {
            let mut tally = SampleTally::only_thread(Some(filter.to_string()));
            for i in 0..10 {
                tally.add(i as f64 * 0.01, crunch, vec![frame("heavy", "/p/a.py", 6)]);
                tally.add(i as f64 * 0.01, churn, vec![frame("light", "/p/a.py", 10)]);
            }
            let info = SamplingInfo { rate_hz: 100.0, thread: Some(filter.to_string()), ..SamplingInfo::default() };
            let profile = tally.profile(&info, RunStatus::Ok, "a".into(), 0.1, &HashMap::new());
            let lines: Vec<u32> = profile.files[0].lines.iter().map(|line| line.line).collect();
            assert_eq!(lines, vec![6], "{filter}: only crunch's line");
            let attached = profile.attached.as_deref().unwrap();
            assert_eq!((attached.samples, attached.threads.len(), attached.thread.as_deref(), attached.threads[0].native_id), (10, 1, Some(filter), Some(101)));
            assert!(profile.notes.iter().any(|note| note.contains("10 of 20 thread samples")), "{:?}", profile.notes);
            assert_eq!(attached.thread_summary(4).as_deref(), Some("crunch (tid 101) 100%"), "a filter is said even for one thread");
        }
        let mut tally = SampleTally::only_thread(Some("nope".into()));
        tally.add(0.0, churn, vec![frame("light", "/p/a.py", 10)]);
        let profile = tally.profile(&SamplingInfo { rate_hz: 100.0, ..SamplingInfo::default() }, RunStatus::Ok, "a".into(), 0.1, &HashMap::new());
        assert!(profile.files.is_empty());
        assert!(profile.notes.iter().any(|note| note.contains("No thread matched \"nope\"") && note.contains("churn (tid 102)") && note.contains("Fix:")), "{:?}", profile.notes);
        assert!(!profile.notes.iter().any(|note| note.contains("idle the whole time")), "not said to be idle: {:?}", profile.notes);
    }
}
