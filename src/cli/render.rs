//! The terminal view of a profile: a header, each file's active lines with a heat bar and Scalene's
//! numbers, function totals, leaks and notes. Pure: takes a profile, returns text.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::paint::Paint;

use crate::engine::profile::model::{FileProfile, LineStats, Profile, RunStatus};

pub struct RenderOptions {
    pub color: bool,
    /// Longest source excerpt shown per line, in characters.
    pub source_width: usize,
}

const BAR_WIDTH: usize = 10;
const BAR_EIGHTHS: [char; 8] = ['▏', '▎', '▍', '▌', '▋', '▊', '▉', '█'];

/// A bar of `BAR_WIDTH` cells, full at `max`.
fn heat_bar(value: f64, max: f64) -> String {
    let eighths = if max > 0.0 { ((value / max) * (BAR_WIDTH * 8) as f64).round() as usize } else { 0 };
    let eighths = eighths.min(BAR_WIDTH * 8);
    let mut bar = "█".repeat(eighths / 8);
    if eighths % 8 > 0 {
        bar.push(BAR_EIGHTHS[eighths % 8 - 1]);
    }
    format!("{bar:<BAR_WIDTH$}")
}

fn mb(value: f64) -> String {
    if value == 0.0 { "·".into() } else { fit(value, 8) }
}

fn pct(value: f64) -> String {
    if value == 0.0 { "·".into() } else { fit(value, 5) }
}

/// `value` with one decimal, or none, or in exponent form (`1e308`), whichever first fits in `width`
/// characters, so that a huge number in a profile cannot push a table's columns apart.
fn fit(value: f64, width: usize) -> String {
    fit_with(value, 1, width)
}

/// `fit` starting from `decimals` decimals.
fn fit_with(value: f64, decimals: usize, width: usize) -> String {
    let given = format!("{value:.decimals$}");
    if given.len() <= width {
        return given;
    }
    let whole = format!("{value:.0}");
    if whole.len() <= width {
        return whole;
    }
    format!("{value:.0e}")
}

/// Source lines of the files on disk, used only when they still match what Scalene profiled.
struct Sources {
    files: HashMap<PathBuf, Option<Vec<String>>>,
}

impl Sources {
    fn load(profile: &Profile) -> (Sources, Vec<String>) {
        let mut files = HashMap::new();
        let mut notes = Vec::new();
        for file in &profile.files {
            let disk = std::fs::read_to_string(&file.path).ok().map(|text| text.lines().map(str::to_string).collect::<Vec<_>>());
            let matches = disk.as_ref().is_some_and(|disk| {
                file.lines.iter().all(|line| {
                    line.text.is_empty()
                        || disk.get(line.line as usize - 1).is_some_and(|text| text.trim_end() == line.text.trim_end())
                })
            });
            if disk.is_some() && !matches {
                notes.push(format!("{} changed since it was profiled: showing the profiled source", file.path.display()));
            }
            files.insert(file.path.clone(), if matches { disk } else { None });
        }
        (Sources { files }, notes)
    }

    fn text<'a>(&'a self, path: &Path, line: &'a LineStats) -> &'a str {
        self.files
            .get(path)
            .and_then(Option::as_ref)
            .and_then(|lines| lines.get(line.line as usize - 1))
            .map_or(line.text.as_str(), String::as_str)
    }
}

fn excerpt(text: &str, width: usize) -> String {
    let text = text.trim().replace('\t', " ");
    if text.chars().count() <= width {
        text
    } else {
        let cut: String = text.chars().take(width.saturating_sub(1)).collect();
        format!("{cut}…")
    }
}

/// The per-thread line of an attached profile's header (`threads: crunch (tid 12) 52% · churn 48%`).
fn thread_line(attached: &crate::engine::profile::model::Attached) -> Option<String> {
    let threads = attached.thread_summary(6)?;
    let only = attached.thread.as_deref().map(|filter| format!(" (only {filter:?}, --thread)")).unwrap_or_default();
    Some(format!("threads{only}: {threads}"))
}

pub fn render(profile: &Profile, options: &RenderOptions) -> String {
    let paint = Paint { color: options.color };
    let mut out = String::new();
    let (sources, source_notes) = Sources::load(profile);

    // Header.
    if let Some(attached) = &profile.attached {
        // Another sampler, said first: py-spy's wall-clock samples of a process scalene-lsp did not start.
        let _ = writeln!(out, "{} {} {}", paint.bold("py-spy samples of"), paint.bold(&profile.program), paint.dim(&format!("(pid {}, attached)", attached.pid)));
        let mut header = vec![
            format!("status {}", paint.status(profile.status)),
            format!("sampled {} s", fit_with(profile.elapsed_s, 2, 9)),
            format!("{} samples at {} Hz", attached.samples, attached.rate_hz),
            if attached.idle { "all threads (idle too)".to_string() } else { "running threads".to_string() },
            "wall clock, no memory".to_string(),
        ];
        if let Some(version) = &attached.python_version {
            header.push(format!("Python {version}"));
        }
        let _ = writeln!(out, "{}", header.join(" · "));
        let _ = writeln!(out, "command: {}", attached.command_line);
        if let Some(threads) = thread_line(attached) {
            let _ = writeln!(out, "{threads}");
        }
    }
    let mut header = vec![format!("status {}", paint.status(profile.status)), format!("elapsed {} s", fit_with(profile.elapsed_s, 2, 9))];
    if profile.attached.is_none() {
        let _ = writeln!(out, "{} {}", paint.bold("Scalene profile of"), paint.bold(&profile.program));
    }
    if profile.memory {
        let at = profile
            .peak_at
            .as_ref()
            .map(|at| {
                let name = crate::engine::units::short_name(&at.file);
                format!(" at {name}:{}", at.line)
            })
            .unwrap_or_default();
        header.push(format!("peak memory {} MB{at}", fit(profile.peak_mb, 9)));
    }
    if let Some(code) = profile.exit_code {
        header.push(format!("exit code {code}"));
    }
    let mode = if profile.gpu {
        "cpu+memory+gpu"
    } else if profile.memory {
        "cpu+memory"
    } else {
        "cpu only"
    };
    header.push(mode.to_string());
    if let Some(version) = &profile.scalene_version {
        header.push(format!("Scalene {version}"));
    }
    if profile.attached.is_none() {
        let _ = writeln!(out, "{}", header.join(" · "));
    }
    if !profile.args.is_empty() {
        let _ = writeln!(out, "args: {}", profile.args.iter().map(|arg| format!("{arg:?}")).collect::<Vec<_>>().join(" "));
    }

    let max_cpu = profile.files.iter().flat_map(|file| &file.lines).map(LineStats::cpu_total).fold(0.0, f64::max);
    let mut files: Vec<&FileProfile> = profile.files.iter().collect();
    files.sort_by(|a, b| b.cpu_percent.total_cmp(&a.cpu_percent).then_with(|| a.path.cmp(&b.path)));
    for file in files {
        render_file(&mut out, profile, file, &sources, max_cpu, &paint, options);
    }
    if profile.files.iter().all(|file| file.lines.is_empty()) {
        let _ = writeln!(out, "\n{}", paint.dim("No line has any activity."));
    }

    let notes: Vec<&String> = profile.notes.iter().chain(source_notes.iter()).collect();
    if !notes.is_empty() {
        let _ = writeln!(out);
        for note in notes {
            let _ = writeln!(out, "{} {note}", paint.bold("note:"));
        }
    }
    if profile.status == RunStatus::ProgramFailed
        && let Some(stderr) = profile.stderr_tail.as_deref().filter(|text| !text.trim().is_empty())
    {
        let lines: Vec<&str> = stderr.lines().collect();
        let _ = writeln!(out, "\n{}", paint.bold("program stderr (last lines):"));
        for line in &lines[lines.len().saturating_sub(20)..] {
            let _ = writeln!(out, "  {line}");
        }
    }
    out
}

fn render_file(
    out: &mut String,
    profile: &Profile,
    file: &FileProfile,
    sources: &Sources,
    max_cpu: f64,
    paint: &Paint,
    options: &RenderOptions,
) {
    let _ = writeln!(out, "\n{} {}", paint.bold(&file.path.display().to_string()), paint.dim(&format!("· {}% of CPU time", fit(file.cpu_percent, 6))));
    let memory = profile.memory;
    let mut head = format!("{:>6}  {:>6}  {:<BAR_WIDTH$}  {:>5} {:>5} {:>5}", "line", "cpu%", "", "py", "nat", "sys");
    if memory {
        let _ = write!(head, "  {:>8} {:>9} {:>7}", "peak MB", "alloc MB", "samples");
    }
    head.push_str("  source");
    let _ = writeln!(out, "{}", paint.dim(&head));
    for line in &file.lines {
        let cpu = line.cpu_total();
        let bar = paint.heat(cpu, &heat_bar(cpu, max_cpu));
        let mut row = format!(
            "{:>6}  {:>6}  {bar}  {:>5} {:>5} {:>5}",
            line.line,
            pct(cpu),
            pct(line.metrics.cpu_python),
            pct(line.metrics.cpu_native),
            pct(line.metrics.cpu_system)
        );
        if memory {
            let samples = if line.metrics.mallocs == 0.0 { "·".to_string() } else { line.metrics.mallocs.to_string() };
            let _ = write!(row, "  {:>8} {:>9} {samples:>7}", mb(line.metrics.peak_mb), mb(line.metrics.alloc_mb));
        }
        let marker = if file.leak(line.line).is_some() { " ⚠ leak" } else { "" };
        let _ = writeln!(out, "{row}  {}{}", excerpt(sources.text(&file.path, line), options.source_width), marker);
    }
    let functions: Vec<_> = file.functions.iter().filter(|function| function.cpu_total() > 0.0 || function.peak_mb > 0.0 || function.alloc_mb > 0.0).collect();
    if !functions.is_empty() {
        let mut head = format!("  {:<32} {:>6} {:>5} {:>5} {:>5}", "function", "cpu%", "py", "nat", "sys");
        if memory {
            let _ = write!(head, "  {:>8} {:>9}", "peak MB", "alloc MB");
        }
        let _ = writeln!(out, "{}", paint.dim(&head));
        for function in functions {
            let name = excerpt(&format!("{} ({}-{})", function.name, function.line, function.end_line), 32);
            let mut row = format!(
                "  {name:<32} {:>6} {:>5} {:>5} {:>5}",
                pct(function.cpu_total()),
                pct(function.cpu_python),
                pct(function.cpu_native),
                pct(function.cpu_system)
            );
            if memory {
                let _ = write!(row, "  {:>8} {:>9}", mb(function.peak_mb), mb(function.alloc_mb));
            }
            let _ = writeln!(out, "{row}");
        }
    }
    for leak in &file.leaks {
        let _ = writeln!(
            out,
            "  {} line {}: likelihood {}%, growing {} MB/s",
            paint.heat(100.0, "possible leak"),
            leak.line,
            fit((leak.likelihood * 100.0).round(), 3),
            fit_with(leak.velocity_mb_s, 2, 9)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_is_used_only_when_asked_for() {
        let bytes = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/scalene/2.4.0/cpu_bound.json")).unwrap();
        let profile = crate::engine::profile::parse::parse_profile(&bytes).unwrap();
        let plain = render(&profile, &RenderOptions { color: false, source_width: 80 });
        let coloured = render(&profile, &RenderOptions { color: true, source_width: 80 });
        assert!(!plain.contains('\x1b'), "{plain}");
        assert!(coloured.contains("\x1b["), "{coloured}");
        let strip = |text: &str| {
            let mut out = String::new();
            let mut in_escape = false;
            for c in text.chars() {
                match (in_escape, c) {
                    (false, '\x1b') => in_escape = true,
                    (true, 'm') => in_escape = false,
                    (true, _) => {}
                    (false, c) => out.push(c),
                }
            }
            out
        };
        assert_eq!(strip(&coloured), plain, "colour changes nothing but the escapes");
    }

    #[test]
    fn heat_bar_scales_to_the_hottest_line() {
        assert_eq!(heat_bar(50.0, 50.0), "██████████");
        assert_eq!(heat_bar(25.0, 50.0), "█████     ");
        assert_eq!(heat_bar(0.0, 50.0), "          ");
        assert_eq!(heat_bar(1.0, 80.0).trim_end(), "▏");
    }

    #[test]
    fn huge_numbers_keep_to_their_column() {
        assert_eq!((pct(12.34), pct(100.0), pct(1e308), pct(123456.0)), ("12.3".into(), "100.0".into(), "1e308".into(), "1e5".into()));
        assert_eq!((mb(30.04), mb(1234567.0), mb(1e308)), ("30.0".into(), "1234567".into(), "1e308".into()));
        assert_eq!((fit(99999.4, 5), fit(99999.9, 5)), ("99999".into(), "1e5".into()), "rounding up to six digits takes the short form");
        assert_eq!((fit_with(2.084, 2, 9), fit_with(123456.784, 2, 9), fit_with(1e308, 2, 9)), ("2.08".into(), "123456.78".into(), "1e308".into()));
    }
}
