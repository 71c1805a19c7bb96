//! The one place that knows both the engine's model and the LSP types: labels, ranges, diagnostics,
//! hover markdown and lens titles.

pub mod compare;

use std::fmt::Write as _;
use std::time::SystemTime;

use tower_lsp_server::ls_types::{Diagnostic, NumberOrString, Position, Range};

use super::document::{Document, Encoding};
use super::settings::{DiagnosticSettings, HintFormat, HintSettings};
use crate::engine::profile::model::{FileProfile, FunctionStats, LineStats, Profile, RunStatus};
use crate::engine::profile::suite::Outcome;

pub const SOURCE: &str = "scalene";

/// The inlay-hint label of a line, or None when it is below the thresholds (see docs/lsp.md).
pub fn hint_label(line: &LineStats, memory: bool, is_leak: bool, hints: &HintSettings) -> Option<String> {
    let cpu = line.cpu_total();
    let has_memory = memory && line.metrics.peak_mb > 0.0;
    let cpu_hot = cpu >= hints.min_cpu_percent;
    let memory_hot = has_memory && line.metrics.peak_mb >= hints.min_peak_mb;
    if !(cpu_hot || memory_hot || is_leak) {
        return None;
    }
    let show_cpu = hints.format != HintFormat::Memory && (cpu_hot || !memory_hot);
    let show_memory = hints.format != HintFormat::Cpu && has_memory;
    let label = match (show_cpu, show_memory) {
        (true, true) => format!("{cpu:.1}% CPU · {:.1} MB", line.metrics.peak_mb),
        (true, false) => format!("{cpu:.1}% CPU"),
        (false, true) => format!("{:.1} MB", line.metrics.peak_mb),
        (false, false) => return None,
    };
    Some(label)
}

/// The end of 0-based line `line` in the negotiated encoding.
pub fn end_of_line(document: &Document, line: u32, encoding: Encoding) -> Position {
    Position { line, character: document.line(line).map_or(0, |text| encoding.len(text)) }
}

/// The line's text without leading indentation.
pub fn line_range(document: &Document, line: u32, encoding: Encoding) -> Range {
    let text = document.line(line).unwrap_or("");
    let indent = &text[..text.len() - text.trim_start().len()];
    Range {
        start: Position { line, character: encoding.len(indent) },
        end: Position { line, character: encoding.len(text) },
    }
}

fn diagnostic(range: Range, severity: tower_lsp_server::ls_types::DiagnosticSeverity, code: &str, message: String) -> Diagnostic {
    Diagnostic {
        range,
        severity: Some(severity),
        code: Some(NumberOrString::String(code.into())),
        source: Some(SOURCE.into()),
        message,
        ..Diagnostic::default()
    }
}

/// How a profile measured CPU, for the words next to its numbers: Scalene's CPU time, or py-spy's
/// wall-clock samples of a process it attached to (no system time, no memory).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sampler {
    Scalene,
    PySpy,
}

impl Sampler {
    pub fn of(profile: &crate::engine::Profile) -> Sampler {
        if profile.attached.is_some() { Sampler::PySpy } else { Sampler::Scalene }
    }
}

/// Diagnostics for one profiled line at `range` (already mapped to the current text).
pub fn line_diagnostics(
    line: &LineStats,
    file: &FileProfile,
    (memory, sampler): (bool, Sampler),
    range: Range,
    settings: &DiagnosticSettings,
) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let cpu = line.cpu_total();
    if cpu >= settings.cpu_percent {
        let severity = if cpu >= settings.cpu_warning_percent { settings.cpu_warning_severity } else { settings.cpu_severity };
        out.push(diagnostic(
            range,
            severity,
            "cpu-hotspot",
            match sampler {
                Sampler::Scalene => format!(
                    "{cpu:.1}% of CPU time (python {:.1}%, native {:.1}%, system {:.1}%)",
                    line.metrics.cpu_python, line.metrics.cpu_native, line.metrics.cpu_system
                ),
                Sampler::PySpy => format!("{cpu:.1}% of py-spy's samples (wall clock{})", native_part(line.metrics.cpu_native)),
            },
        ));
    }
    if memory && line.metrics.peak_mb >= settings.memory_mb {
        out.push(diagnostic(
            range,
            settings.memory_severity,
            "memory-hotspot",
            format!("peak {:.1} MB (allocated {:.1} MB)", line.metrics.peak_mb, line.metrics.alloc_mb),
        ));
    }
    if let Some(leak) = file.leak(line.line).filter(|leak| leak.likelihood >= settings.leak_likelihood) {
        out.push(diagnostic(
            range,
            settings.leak_severity,
            "leak",
            format!(
                "possible memory leak: likelihood {:.0}%, growing {:.2} MB/s",
                leak.likelihood * 100.0,
                leak.velocity_mb_s
            ),
        ));
    }
    out
}

/// `▁▂▃▄▅▆▇█` over the values (relative to their max).
pub fn sparkline(values: &[f64]) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let max = values.iter().copied().fold(0.0, f64::max);
    values
        .iter()
        .map(|value| if max > 0.0 { BARS[((value / max) * 7.0).round().clamp(0.0, 7.0) as usize] } else { BARS[0] })
        .collect()
}

fn age(created: SystemTime) -> String {
    let seconds = created.elapsed().map(|age| age.as_secs()).unwrap_or(0);
    match seconds {
        0..=59 => format!("{seconds} s ago"),
        60..=3599 => format!("{} min ago", seconds / 60),
        _ => format!("{} h ago", seconds / 3600),
    }
}

/// ", native 3.0%" when a py-spy profile read native frames, else nothing.
fn native_part(native: f64) -> String {
    if native > 0.0 { format!(", native {native:.1}%") } else { String::new() }
}

pub fn function_summary(function: &FunctionStats, memory: bool, sampler: Sampler) -> String {
    if sampler == Sampler::PySpy {
        return format!("{:.1}% of the samples (py-spy, wall clock{})", function.cpu_total(), native_part(function.cpu_native));
    }
    let mut text = format!(
        "{:.1}% CPU (python {:.1}%, native {:.1}%, system {:.1}%)",
        function.cpu_total(),
        function.cpu_python,
        function.cpu_native,
        function.cpu_system
    );
    if memory {
        let _ = write!(text, " · peak {:.1} MB · allocated {:.1} MB", function.peak_mb, function.alloc_mb);
    }
    text
}

/// The code lens title of a function.
pub fn lens_title(function: &FunctionStats, memory: bool) -> String {
    if memory && function.peak_mb > 0.0 {
        format!("{:.1}% CPU · {:.1} MB peak", function.cpu_total(), function.peak_mb)
    } else {
        format!("{:.1}% CPU", function.cpu_total())
    }
}

/// A test function's lens after a suite run: `0.84 s · 12% of suite · hottest: parser.py:88`, its
/// outcome first unless it passed, its number of cases when parametrized.
/// `cases`: how many parametrizations were summed; `share` 0..1; `hottest`: a file name and line.
pub fn test_lens_title(outcome: Outcome, cases: usize, seconds: f64, share: f64, hottest: Option<(&str, u32)>) -> String {
    let mut parts = Vec::new();
    if !matches!(outcome, Outcome::Passed) {
        parts.push(outcome.as_str().to_string());
    }
    if cases > 1 {
        parts.push(format!("{cases} cases"));
    }
    parts.push(format!("{seconds:.2} s"));
    parts.push(format!("{:.0}% of suite", share * 100.0));
    if let Some((file, line)) = hottest {
        parts.push(format!("hottest: {file}:{line}"));
    }
    parts.join(" · ")
}

/// The hover markdown of a profiled line: every metric Scalene gives, the function's totals, the
/// memory sparkline, and the profile's status and age.
pub fn hover_markdown(profile: &Profile, profile_id: &str, file: &FileProfile, line: &LineStats, stale: bool) -> String {
    let mut md = String::new();
    let attached = profile.attached.as_deref();
    let mut rows: Vec<(String, String)> = match attached {
        // py-spy's numbers, said as such: shares of wall-clock samples, no system time or utilisation.
        Some(attached) => {
            let _ = writeln!(md, "**py-spy** · line {} · {:.1}% of the samples (wall clock, pid {})\n", line.line, line.cpu_total(), attached.pid);
            vec![
                ("samples".into(), format!("{:.0}", line.cpu_samples.unwrap_or(0.0))),
                ("python".into(), format!("{:.1}%", line.metrics.cpu_python)),
                ("native".into(), format!("{:.1}%", line.metrics.cpu_native)),
            ]
        }
        None => {
            let _ = writeln!(md, "**Scalene** · line {} · {:.1}% of CPU time\n", line.line, line.cpu_total());
            vec![
                ("CPU: python".into(), format!("{:.1}%", line.metrics.cpu_python)),
                ("CPU: native".into(), format!("{:.1}%", line.metrics.cpu_native)),
                ("CPU: system".into(), format!("{:.1}%", line.metrics.cpu_system)),
                ("core utilisation".into(), format!("{:.0}%", line.metrics.core_utilization * 100.0)),
            ]
        }
    };
    if profile.memory {
        rows.extend([
            ("memory: peak".into(), format!("{:.1} MB", line.metrics.peak_mb)),
            ("memory: average".into(), format!("{:.1} MB", line.metrics.avg_mb)),
            ("allocated".into(), format!("{:.1} MB ({} sample{})", line.metrics.alloc_mb, line.metrics.mallocs, if line.metrics.mallocs == 1.0 { "" } else { "s" })),
            ("python share of allocations".into(), format!("{:.0}%", line.metrics.python_fraction * 100.0)),
            ("share of memory use".into(), format!("{:.1}%", line.metrics.usage_fraction * 100.0)),
            ("copy volume".into(), format!("{:.1} MB/s", line.metrics.copy_mb_s)),
        ]);
    }
    if profile.gpu {
        rows.extend([
            ("GPU".into(), format!("{:.1}%", line.metrics.gpu_percent)),
            ("GPU memory: peak".into(), format!("{:.1} MB", line.metrics.gpu_peak_mb)),
        ]);
    }
    if line.metrics.async_await_percent > 0.0 {
        rows.push(("awaiting (async)".into(), format!("{:.1}%", line.metrics.async_await_percent)));
    }
    if let Some(leak) = file.leak(line.line) {
        rows.push(("possible leak".into(), format!("likelihood {:.0}%, {:.2} MB/s", leak.likelihood * 100.0, leak.velocity_mb_s)));
    }
    md.push_str("| metric | value |\n|---|---:|\n");
    for (name, value) in rows {
        let _ = writeln!(md, "| {name} | {value} |");
    }
    if let Some(function) = file.function_at(line.line) {
        let _ = writeln!(
            md,
            "\n**{}** (lines {}–{}): {}",
            function.name,
            function.line,
            function.end_line,
            function_summary(function, profile.memory, Sampler::of(profile))
        );
    }
    if line.memory_timeline.len() > 1 {
        let values: Vec<f64> = line.memory_timeline.iter().map(|point| point.1).collect();
        let _ = writeln!(md, "\nmemory over time: `{}`", sparkline(&values));
    }
    let status = match profile.status {
        RunStatus::Ok => "complete".to_string(),
        RunStatus::Running => "live: the run so far (still going)".to_string(),
        status => format!("partial: {}", status.as_str()),
    };
    let _ = write!(md, "\n_profile {profile_id} · {status} · {} · {:.2} s run_", age(profile.created), profile.elapsed_s);
    if let Some(attached) = attached {
        let _ = write!(
            md,
            "\n\n_sampled by py-spy at {} Hz ({} samples) from pid {} (`{}`), a process scalene-lsp attached to and did not start; no memory numbers_",
            attached.rate_hz, attached.samples, attached.pid, attached.command_line
        );
        if let Some(threads) = attached.thread_summary(4) {
            let only = attached.thread.as_deref().map(|filter| format!(" (only {filter:?})")).unwrap_or_default();
            let _ = write!(md, "\n\n_threads{only}: {threads}_");
        }
    }
    if stale {
        md.push_str("\n\n⚠ **stale**: the file changed since this profile; numbers are shown only on unchanged lines. Profile again to refresh.");
    }
    md
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::profile::metrics::LineMetrics;
    use crate::lsp::settings::Settings;

    fn line(cpu_python: f64, peak_mb: f64) -> LineStats {
        LineStats { line: 3, metrics: LineMetrics { cpu_python, peak_mb, ..LineMetrics::default() }, ..LineStats::default() }
    }

    #[test]
    fn hint_labels_follow_the_documented_format() {
        let hints = Settings::default().hints;
        assert_eq!(hint_label(&line(73.14, 12.0), true, false, &hints).as_deref(), Some("73.1% CPU · 12.0 MB"));
        assert_eq!(hint_label(&line(73.14, 0.0), true, false, &hints).as_deref(), Some("73.1% CPU"));
        assert_eq!(hint_label(&line(73.14, 12.0), false, false, &hints).as_deref(), Some("73.1% CPU"));
        assert_eq!(hint_label(&line(0.2, 12.0), true, false, &hints).as_deref(), Some("12.0 MB"));
        assert_eq!(hint_label(&line(2.0, 0.3), true, false, &hints).as_deref(), Some("2.0% CPU · 0.3 MB"));
        assert_eq!(hint_label(&line(0.5, 0.5), true, false, &hints), None);
        assert_eq!(hint_label(&line(0.5, 0.5), true, true, &hints).as_deref(), Some("0.5% CPU · 0.5 MB"), "a leak always shows");
        let cpu_only = HintSettings { format: HintFormat::Cpu, ..hints.clone() };
        assert_eq!(hint_label(&line(0.2, 12.0), true, false, &cpu_only), None);
        let memory_only = HintSettings { format: HintFormat::Memory, ..hints };
        assert_eq!(hint_label(&line(50.0, 12.0), true, false, &memory_only).as_deref(), Some("12.0 MB"));
    }

    #[test]
    fn diagnostics_use_thresholds_and_severities() {
        let settings = Settings::default().diagnostics;
        let file = FileProfile {
            path: "/a.py".into(),
            cpu_percent: 100.0,
            lines: Vec::new(),
            functions: Vec::new(),
            leaks: vec![crate::engine::profile::model::Leak { line: 3, likelihood: 0.98, velocity_mb_s: 2.08 }],
            source: "".into(),
        };
        let hot = LineStats {
            line: 3,
            metrics: LineMetrics { cpu_python: 29.0, cpu_native: 2.2, peak_mb: 150.0, alloc_mb: 150.0, ..LineMetrics::default() },
            ..LineStats::default()
        };
        let found = line_diagnostics(&hot, &file, (true, Sampler::Scalene), Range::default(), &settings);
        let messages: Vec<&str> = found.iter().map(|d| d.message.as_str()).collect();
        assert_eq!(
            messages,
            [
                "31.2% of CPU time (python 29.0%, native 2.2%, system 0.0%)",
                "peak 150.0 MB (allocated 150.0 MB)",
                "possible memory leak: likelihood 98%, growing 2.08 MB/s"
            ]
        );
        assert_eq!(found[0].severity, Some(settings.cpu_warning_severity));
        assert_eq!(found[0].code, Some(NumberOrString::String("cpu-hotspot".into())));
        let mild = LineStats { line: 4, metrics: LineMetrics { cpu_python: 12.0, ..LineMetrics::default() }, ..LineStats::default() };
        assert_eq!(line_diagnostics(&mild, &file, (true, Sampler::Scalene), Range::default(), &settings)[0].severity, Some(settings.cpu_severity));
    }

    /// A captured fixture, parsed (the profile as the server holds it after `scalene.loadProfile`).
    fn fixture(name: &str) -> Profile {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("fixtures/scalene/2.4.0/{name}.json"));
        crate::engine::profile::parse::parse_profile(&std::fs::read(path).unwrap()).unwrap()
    }

    fn snapshot_settings() -> insta::Settings {
        let mut settings = insta::Settings::clone_current();
        settings.add_filter(r"\d+ (s|min|h) ago", "[age]");
        settings
    }

    #[test]
    fn hover_markdown_of_a_hot_line_and_of_a_leaking_line() {
        let profile = fixture("cpu_bound");
        let file = &profile.files[0];
        let hot = file.lines.iter().max_by(|a, b| a.cpu_total().total_cmp(&b.cpu_total())).unwrap();
        snapshot_settings().bind(|| insta::assert_snapshot!("hover_cpu_bound_hottest", hover_markdown(&profile, "p1", file, hot, false)));
        let stale = hover_markdown(&profile, "p1", file, hot, true);
        assert!(stale.contains("changed since"), "{stale}");

        let profile = fixture("leak");
        let file = profile.files.iter().find(|file| !file.leaks.is_empty()).unwrap();
        let leaking = file.line(file.leaks[0].line).unwrap();
        snapshot_settings().bind(|| insta::assert_snapshot!("hover_leak", hover_markdown(&profile, "p2", file, leaking, false)));
    }

    #[test]
    fn sparkline_scales_to_the_maximum() {
        assert_eq!(sparkline(&[0.0, 1.0, 2.0, 4.0]), "▁▃▅█");
    }

    #[test]
    fn an_attached_profile_speaks_of_py_spy_samples_and_lists_its_threads() {
        use crate::engine::profile::model::{Attached, ThreadSamples};
        let file = FileProfile { path: "/a.py".into(), cpu_percent: 100.0, lines: Vec::new(), functions: Vec::new(), leaks: Vec::new(), source: "".into() };
        let hot = LineStats { line: 3, metrics: LineMetrics { cpu_python: 62.0, ..LineMetrics::default() }, ..LineStats::default() };
        let found = line_diagnostics(&hot, &file, (false, Sampler::PySpy), Range::default(), &Settings::default().diagnostics);
        assert_eq!(found[0].message, "62.0% of py-spy's samples (wall clock)");
        let thread = |id: u64, name: &str, samples: u64| ThreadSamples { pid: 7, thread_id: id, native_id: Some(100 + id), name: Some(name.into()), samples };
        let mut profile = Profile::empty(RunStatus::Ok, "/a.py".into());
        profile.attached = Some(std::sync::Arc::new(Attached {
            pid: 7,
            command_line: "python a.py".into(),
            rate_hz: 100.0,
            samples: 100,
            threads: vec![thread(1, "crunch", 62), thread(2, "churn", 38)],
            ..Attached::default()
        }));
        let md = hover_markdown(&profile, "p1", &file, &hot, false);
        assert!(md.starts_with("**py-spy** · line 3"), "{md}");
        assert!(md.contains("_threads: crunch (tid 101) 62% · churn (tid 102) 38%_"), "{md}");
    }
}
