//! Scalene 2.x JSON → `Profile`. Unknown keys are ignored; a value of the wrong type is an error that
//! names its field path; `NaN`/`Infinity` (which Python's json writes but JSON forbids) become 0 with a
//! note. No input can make it panic (see fuzz/).

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::SystemTime;

use serde::Deserialize;

use crate::engine::error::ParseError;
use crate::engine::profile::metrics::LineMetrics;
use crate::engine::profile::model::{
    FileProfile, FunctionStats, LINE_TIMELINE_POINTS, LineStats, Leak, Profile, RunStatus, SourceLocation,
    TIMELINE_POINTS,
};

/// Parses a Scalene JSON document. `{}` (Scalene's output for a run too short to sample) gives an empty
/// profile with status `TooShort`; anything else gives status `Ok` (the runner refines it).
pub fn parse_profile(bytes: &[u8]) -> Result<Profile, ParseError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ParseError::Empty);
    }
    let first = bytes.iter().find(|byte| !byte.is_ascii_whitespace());
    if first != Some(&b'{') {
        return Err(match serde_json::from_slice::<serde::de::IgnoredAny>(bytes) {
            Ok(_) => ParseError::NotAProfile { reason: "its top level is not a JSON object".into() },
            Err(err) => explain(bytes, err),
        });
    }
    let mut notes = Vec::new();
    let sanitized;
    let raw: RawProfile = match serde_json::from_slice(bytes) {
        Ok(raw) => raw,
        Err(first) => {
            // Python's json module writes NaN/Infinity, which JSON forbids: retry with them as null.
            let (replaced, count) = replace_non_finite(bytes);
            if count == 0 {
                return Err(explain(bytes, first));
            }
            sanitized = replaced;
            let raw = serde_json::from_slice(&sanitized).map_err(|err| explain(&sanitized, err))?;
            notes.push(format!(
                "{count} value(s) in the profile were NaN or Infinity (not numbers); they are shown as 0"
            ));
            raw
        }
    };
    build(raw, notes)
}

/// Turns a serde error into a `ParseError`; a data error is re-run with path tracking (errors are rare,
/// so the fast path pays nothing for it).
fn explain(bytes: &[u8], err: serde_json::Error) -> ParseError {
    use serde_json::error::Category;
    match err.classify() {
        Category::Eof => ParseError::Truncated { line: err.line(), column: err.column() },
        Category::Syntax | Category::Io => {
            ParseError::Syntax { line: err.line(), column: err.column(), message: strip_position(&err) }
        }
        Category::Data => {
            let mut de = serde_json::Deserializer::from_slice(bytes);
            match serde_path_to_error::deserialize::<_, RawProfile>(&mut de) {
                Err(tracked) => {
                    let path = tracked.path().to_string();
                    let message = strip_position(tracked.inner());
                    if path == "." {
                        ParseError::NotAProfile { reason: format!("the top level is {message}") }
                    } else {
                        ParseError::Field { path, message }
                    }
                }
                Ok(_) => ParseError::Field { path: "?".into(), message: strip_position(&err) },
            }
        }
    }
}

fn strip_position(err: &serde_json::Error) -> String {
    let text = err.to_string();
    match text.rfind(" at line ") {
        Some(idx) => text[..idx].to_string(),
        None => text,
    }
}

/// Replaces the tokens NaN, Infinity and -Infinity outside strings with `null`.
fn replace_non_finite(bytes: &[u8]) -> (Vec<u8>, usize) {
    let mut out = Vec::with_capacity(bytes.len());
    let mut count = 0;
    let mut idx = 0;
    let mut in_string = false;
    while idx < bytes.len() {
        let byte = bytes[idx];
        if in_string {
            out.push(byte);
            if byte == b'\\' && idx + 1 < bytes.len() {
                out.push(bytes[idx + 1]);
                idx += 2;
                continue;
            }
            in_string = byte != b'"';
            idx += 1;
            continue;
        }
        let rest = &bytes[idx..];
        let token = [&b"-Infinity"[..], b"Infinity", b"NaN"].into_iter().find(|token| rest.starts_with(token));
        match token {
            Some(token) => {
                out.extend_from_slice(b"null");
                count += 1;
                idx += token.len();
            }
            None => {
                in_string = byte == b'"';
                out.push(byte);
                idx += 1;
            }
        }
    }
    (out, count)
}

// ---- Raw Scalene JSON (only the keys we read; numbers are Option to accept null) ----

#[derive(Deserialize)]
struct RawProfile<'a> {
    #[serde(borrow)]
    program: Option<Cow<'a, str>>,
    #[serde(default)]
    args: Option<Vec<String>>,
    elapsed_time_sec: Option<f64>,
    max_footprint_mb: Option<f64>,
    #[serde(borrow)]
    max_footprint_fname: Option<Cow<'a, str>>,
    max_footprint_lineno: Option<u32>,
    memory: Option<bool>,
    gpu: Option<bool>,
    #[serde(default)]
    samples: Option<Vec<(f64, Option<f64>)>>,
    #[serde(borrow)]
    files: Option<BTreeMap<Cow<'a, str>, RawFile<'a>>>,
    /// The stack sections, read apart (stacks.rs) so that a bad one costs the call paths only.
    #[serde(borrow, default)]
    combined_stacks: Option<&'a serde_json::value::RawValue>,
    #[serde(borrow, default)]
    combined_stacks_timeline: Option<&'a serde_json::value::RawValue>,
    #[serde(borrow, default)]
    memory_stacks: Option<&'a serde_json::value::RawValue>,
}

#[derive(Deserialize)]
struct RawFile<'a> {
    percent_cpu_time: Option<f64>,
    #[serde(borrow, default)]
    lines: RawLines<'a>,
    #[serde(borrow, default)]
    functions: Vec<RawFunction<'a>>,
    #[serde(borrow, default)]
    leaks: Option<BTreeMap<Cow<'a, str>, RawLeak>>,
}

/// A file's lines, each kept small as it is read: Scalene lists every line of a file, most of them
/// without activity, and a whole `RawLine` is about 380 bytes (a 200,000-line file: 76 MB while
/// parsing); an entry keeps the line's number, text and ranges, and its numbers only when it has any.
#[derive(Default)]
struct RawLines<'a>(Vec<LineEntry<'a>>);

struct LineEntry<'a> {
    lineno: u32,
    line: Option<Cow<'a, str>>,
    function: (Option<u32>, Option<u32>),
    region: (Option<u32>, Option<u32>),
    /// The line's numbers, when any is non-zero (`LineStats::has_activity`).
    stats: Option<Box<LineStats>>,
}

impl<'de: 'a, 'a> Deserialize<'de> for RawLines<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Lines<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for Lines<'a> {
            type Value = RawLines<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an array of lines")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<RawLines<'a>, A::Error> {
                let mut entries = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1 << 16));
                while let Some(raw) = seq.next_element::<RawLine<'a>>()? {
                    let (lineno, line) = (raw.lineno, raw.line.clone());
                    let function = (raw.start_function_line, raw.end_function_line);
                    let region = (raw.start_region_line, raw.end_region_line);
                    let stats = Some(line_stats(raw)).filter(LineStats::has_activity).map(Box::new);
                    entries.push(LineEntry { lineno, line, function, region, stats });
                }
                Ok(RawLines(entries))
            }
        }
        deserializer.deserialize_seq(Lines(std::marker::PhantomData))
    }
}

#[derive(Deserialize)]
struct RawLine<'a> {
    lineno: u32,
    #[serde(borrow)]
    line: Option<Cow<'a, str>>,
    n_cpu_percent_python: Option<f64>,
    n_cpu_percent_c: Option<f64>,
    n_sys_percent: Option<f64>,
    n_core_utilization: Option<f64>,
    n_peak_mb: Option<f64>,
    n_avg_mb: Option<f64>,
    n_malloc_mb: Option<f64>,
    n_mallocs: Option<f64>,
    n_python_fraction: Option<f64>,
    n_usage_fraction: Option<f64>,
    n_copy_mb_s: Option<f64>,
    n_gpu_percent: Option<f64>,
    n_gpu_peak_memory_mb: Option<f64>,
    n_gpu_avg_memory_mb: Option<f64>,
    n_async_await_percent: Option<f64>,
    #[serde(default)]
    memory_samples: Option<Vec<(f64, Option<f64>)>>,
    start_function_line: Option<u32>,
    end_function_line: Option<u32>,
    start_region_line: Option<u32>,
    end_region_line: Option<u32>,
    start_outermost_loop: Option<u32>,
    end_outermost_loop: Option<u32>,
    /// Only its length is kept (the sample times are not used).
    #[serde(default, deserialize_with = "count_items")]
    cpu_samples_list: Option<u64>,
}

/// The number of items of a JSON array (null: None), without keeping them.
fn count_items<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<u64>, D::Error> {
    struct Count;
    impl<'de> serde::de::Visitor<'de> for Count {
        type Value = Option<u64>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("an array of sample times")
        }
        fn visit_unit<E>(self) -> Result<Option<u64>, E> {
            Ok(None)
        }
        fn visit_none<E>(self) -> Result<Option<u64>, E> {
            Ok(None)
        }
        fn visit_some<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<Option<u64>, D::Error> {
            deserializer.deserialize_seq(Count)
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Option<u64>, A::Error> {
            let mut count = 0;
            while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {
                count += 1;
            }
            Ok(Some(count))
        }
    }
    deserializer.deserialize_option(Count)
}

#[derive(Deserialize)]
struct RawFunction<'a> {
    lineno: u32,
    #[serde(borrow)]
    line: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct RawLeak {
    likelihood: Option<f64>,
    velocity_mb_s: Option<f64>,
}

fn num(value: Option<f64>) -> f64 {
    value.unwrap_or(0.0)
}

fn build(raw: RawProfile<'_>, mut notes: Vec<String>) -> Result<Profile, ParseError> {
    let Some(raw_files) = raw.files else {
        let is_empty = raw.program.is_none() && raw.elapsed_time_sec.is_none() && raw.args.is_none();
        if !is_empty {
            return Err(ParseError::NotAProfile { reason: "it has no `files` key".into() });
        }
        let mut profile = Profile::empty(RunStatus::TooShort, String::new());
        profile.notes = notes;
        return Ok(profile);
    };

    let mut files = Vec::with_capacity(raw_files.len());
    for (path, raw_file) in raw_files {
        files.push(build_file(&path, raw_file)?);
    }
    let peak_at = match (raw.max_footprint_fname, raw.max_footprint_lineno) {
        (Some(file), Some(line)) if !file.is_empty() && line > 0 => {
            Some(SourceLocation { file: PathBuf::from(file.as_ref()), line })
        }
        _ => None,
    };
    let timeline = downsample(
        raw.samples.unwrap_or_default().into_iter().map(|(ns, mb)| (ns / 1e9, num(mb))).collect(),
        TIMELINE_POINTS,
    );
    // Scalene's `args` is the program's sys.argv: argv[0] is the program itself, or `-m module` for a
    // module.
    let mut args = raw.args.unwrap_or_default();
    let n_program = if args.first().is_some_and(|first| first == "-m") { 2 } else { 1 };
    args.drain(..n_program.min(args.len()));
    let call_paths = stacks::call_paths(
        stacks::Sections {
            cpu: raw.combined_stacks,
            timeline: raw.combined_stacks_timeline,
            memory: raw.memory_stacks,
        },
        &mut notes,
    );
    Ok(Profile {
        status: RunStatus::Ok,
        program: raw.program.map(Cow::into_owned).unwrap_or_default(),
        args,
        exit_code: None,
        elapsed_s: num(raw.elapsed_time_sec),
        peak_mb: num(raw.max_footprint_mb),
        peak_at,
        memory: raw.memory.unwrap_or(false),
        gpu: raw.gpu.unwrap_or(false),
        scalene_version: None,
        timeline,
        files,
        notes,
        stderr_tail: None,
        stdout_tail: None,
        created: SystemTime::now(),
        context: None,
        spread: None,
        cpu_sampling_s: None,
        call_paths: call_paths.map(std::sync::Arc::new),
        attached: None,
        tests: None,
    })
}

fn build_file(path: &str, raw: RawFile<'_>) -> Result<FileProfile, ParseError> {
    let mut raw_lines = raw.lines.0;
    if !raw_lines.is_sorted_by_key(|line| line.lineno) {
        raw_lines.sort_by_key(|line| line.lineno);
    }
    let functions = raw
        .functions
        .iter()
        .map(|function| function_totals(function, &raw_lines))
        .collect::<Vec<_>>();
    let mut leaks = Vec::new();
    for (key, leak) in raw.leaks.unwrap_or_default() {
        let line = key.parse::<u32>().map_err(|_| ParseError::Field {
            path: format!("files.{path}.leaks.{key}"),
            message: "a leak is keyed by its line number".into(),
        })?;
        leaks.push(Leak { line, likelihood: num(leak.likelihood), velocity_mb_s: num(leak.velocity_mb_s) });
    }
    leaks.sort_by_key(|leak| leak.line);
    let mut functions = functions;
    functions.sort_by_key(|function| function.line);
    let source = profiled_source(&raw_lines);
    let lines = raw_lines.into_iter().filter_map(|line| line.stats.map(|stats| *stats)).collect();
    Ok(FileProfile {
        path: PathBuf::from(path),
        cpu_percent: num(raw.percent_cpu_time),
        lines,
        functions,
        leaks,
        source: source.into(),
    })
}

/// Rebuilds the profiled text from Scalene's per-line copies (it lists every line of the file). Empty
/// unless the line numbers run 1, 2, 3, ... with text, so a gap can never shift a line.
fn profiled_source(lines: &[LineEntry<'_>]) -> String {
    let complete = lines.iter().enumerate().all(|(idx, line)| line.lineno as usize == idx + 1 && line.line.is_some());
    if !complete {
        return String::new();
    }
    let mut text = String::with_capacity(lines.iter().map(|line| line.line.as_deref().map_or(0, str::len)).sum());
    for line in lines {
        text.push_str(&unescape_scalene_text(line.line.as_deref().unwrap_or("")));
        text.push('\n');
    }
    text
}

fn line_stats(raw: RawLine<'_>) -> LineStats {
    let mut metrics = scalene_metrics(&raw).map(num);
    // A count, which Scalene writes as a float: the whole number the normalized JSON writes.
    metrics.mallocs = metrics.mallocs.max(0.0).round() as u64 as f64;
    let outer_loop = match (raw.start_outermost_loop, raw.end_outermost_loop) {
        (Some(start), Some(end)) if start > 0 && end > start => Some(start..=end),
        _ => None,
    };
    LineStats {
        line: raw.lineno,
        text: raw.line.as_deref().map(unescape_scalene_text).unwrap_or_default(),
        metrics,
        outer_loop,
        memory_timeline: downsample(
            raw.memory_samples.unwrap_or_default().into_iter().map(|(ns, mb)| (ns / 1e9, num(mb))).collect(),
            LINE_TIMELINE_POINTS,
        ),
        cpu_samples: raw.cpu_samples_list.map(|count| count as f64),
    }
}

/// Scalene's key of each metric.
fn scalene_metrics(raw: &RawLine<'_>) -> LineMetrics<Option<f64>> {
    LineMetrics {
        cpu_python: raw.n_cpu_percent_python,
        cpu_native: raw.n_cpu_percent_c,
        cpu_system: raw.n_sys_percent,
        core_utilization: raw.n_core_utilization,
        peak_mb: raw.n_peak_mb,
        avg_mb: raw.n_avg_mb,
        alloc_mb: raw.n_malloc_mb,
        mallocs: raw.n_mallocs,
        python_fraction: raw.n_python_fraction,
        usage_fraction: raw.n_usage_fraction,
        copy_mb_s: raw.n_copy_mb_s,
        gpu_percent: raw.n_gpu_percent,
        gpu_peak_mb: raw.n_gpu_peak_memory_mb,
        gpu_avg_mb: raw.n_gpu_avg_memory_mb,
        async_await_percent: raw.n_async_await_percent,
    }
}

/// Scalene escapes `&`, `<` and `>` in source text as the literal characters `\u0026`, `\u003c`, `\u003e`.
fn unescape_scalene_text(text: &str) -> String {
    let text = text.trim_end_matches(['\n', '\r']);
    if !text.contains("\\u00") {
        return text.to_string();
    }
    text.replace("\\u0026", "&").replace("\\u003c", "<").replace("\\u003e", ">")
}

/// A function's range is its `def` line's `start/end_function_line` (Scalene 2.4) or, in versions
/// without those keys (2.0), the `def` line's region; its totals are sums over those lines.
fn function_totals(function: &RawFunction<'_>, lines: &[LineEntry<'_>]) -> FunctionStats {
    let def_line = lines.binary_search_by_key(&function.lineno, |line| line.lineno).ok().map(|idx| &lines[idx]);
    let start = function.lineno;
    let end = def_line
        .and_then(|line| match line.function {
            (Some(s), Some(e)) if s == start && e >= s => Some(e),
            _ => None,
        })
        .or_else(|| {
            def_line.and_then(|line| match line.region {
                (Some(s), Some(e)) if s == start && e >= s => Some(e),
                _ => None,
            })
        })
        .unwrap_or(start);
    let first = lines.partition_point(|line| line.lineno < start);
    let last = lines.partition_point(|line| line.lineno <= end);
    let mut stats = FunctionStats {
        name: function.line.as_deref().unwrap_or("").to_string(),
        line: start,
        end_line: end,
        ..FunctionStats::default()
    };
    // Lines without activity add nothing: all their numbers are 0.
    for line in lines[first..last.max(first)].iter().filter_map(|line| line.stats.as_deref()) {
        stats.cpu_python += line.metrics.cpu_python;
        stats.cpu_native += line.metrics.cpu_native;
        stats.cpu_system += line.metrics.cpu_system;
        stats.peak_mb = stats.peak_mb.max(line.metrics.peak_mb);
        stats.alloc_mb += line.metrics.alloc_mb;
    }
    stats
}

/// Keeps at most `max_points` points, each the highest in its bucket (so spikes survive).
fn downsample(points: Vec<(f64, f64)>, max_points: usize) -> Vec<(f64, f64)> {
    if points.len() <= max_points {
        return points;
    }
    let n_points = points.len();
    (0..max_points)
        .filter_map(|bucket| {
            let start = bucket * n_points / max_points;
            let end = ((bucket + 1) * n_points / max_points).max(start + 1);
            points[start..end.min(n_points)].iter().copied().max_by(|a, b| a.1.total_cmp(&b.1))
        })
        .collect()
}

mod stacks;

#[cfg(test)]
mod tests;
