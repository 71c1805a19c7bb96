//! Comparisons as LSP sees them (part of `convert`, the one bridge from engine numbers to LSP types):
//! delta labels for inlay hints, `cpu-regression` / `memory-regression` / `improvement` diagnostics
//! with the baseline's line as related information, side-by-side hover markdown, lens titles.

use std::fmt::Write as _;

use tower_lsp_server::ls_types::{Diagnostic, DiagnosticRelatedInformation, DiagnosticSeverity, Location, Position, Range, Uri};

use crate::engine::profile::compare::{Comparison, Delta, FunctionChange, LineChange, Metrics, Verdict};

/// The parts of a line or function change the views need.
pub struct Change<'a> {
    pub verdict: Verdict,
    pub cpu: Verdict,
    pub memory: Verdict,
    pub before: Option<&'a Metrics>,
    pub after: Option<&'a Metrics>,
    pub delta: &'a Delta,
}

impl<'a> From<&'a LineChange> for Change<'a> {
    fn from(line: &'a LineChange) -> Change<'a> {
        Change { verdict: line.verdict, cpu: line.cpu, memory: line.memory, before: line.before.as_ref(), after: line.after.as_ref(), delta: &line.delta }
    }
}

impl<'a> From<&'a FunctionChange> for Change<'a> {
    fn from(function: &'a FunctionChange) -> Change<'a> {
        Change {
            verdict: function.verdict,
            cpu: function.cpu,
            memory: function.memory,
            before: function.before.as_ref(),
            after: function.after.as_ref(),
            delta: &function.delta,
        }
    }
}

/// `+0.15`, `−0.15` (a real minus sign, as in the documented labels).
pub fn signed(value: f64, decimals: usize) -> String {
    if value < 0.0 { format!("−{:.decimals$}", -value) } else { format!("+{value:.decimals$}") }
}

fn moved(verdict: Verdict) -> bool {
    matches!(verdict, Verdict::Regressed | Verdict::Improved)
}

fn cpu_delta(change: &Change<'_>) -> String {
    let mut text = format!("{} s CPU", signed(change.delta.cpu_s, 2));
    if let Some(percent) = change.delta.cpu_change_percent {
        let _ = write!(text, " ({}%)", signed(percent, 0));
    }
    text
}

fn memory_delta(change: &Change<'_>) -> String {
    format!("{} MB", signed(change.delta.peak_mb, 1))
}

/// The inlay hint of a changed line: `+0.15 s CPU (+70%) · −40.0 MB`; `new: 0.30 s CPU · 12.0 MB`;
/// None for an unchanged or removed line.
pub fn hint_label(change: &Change<'_>) -> Option<String> {
    match change.verdict {
        Verdict::Regressed | Verdict::Improved => {
            let mut parts = Vec::new();
            if moved(change.cpu) {
                parts.push(cpu_delta(change));
            }
            if moved(change.memory) {
                parts.push(memory_delta(change));
            }
            Some(parts.join(" · "))
        }
        Verdict::New => {
            let after = change.after?;
            let mut label = format!("new: {:.2} s CPU", after.cpu_s);
            if after.peak_mb > 0.0 {
                let _ = write!(label, " · {:.1} MB", after.peak_mb);
            }
            Some(label)
        }
        Verdict::Unchanged | Verdict::Removed => None,
    }
}

fn seconds(metrics: Option<&Metrics>) -> String {
    metrics.map_or("–".into(), |m| format!("{:.2} s", m.cpu_s))
}

fn megabytes(metrics: Option<&Metrics>) -> String {
    metrics.map_or("–".into(), |m| format!("{:.1} MB", m.peak_mb))
}

fn percent(value: Option<f64>) -> String {
    value.map(|p| format!(" ({}%)", signed(p, 0))).unwrap_or_default()
}

/// What the baseline had at its line: the related information's message.
fn baseline_text(baseline: &str, before_line: Option<u32>, change: &Change<'_>) -> String {
    let at = before_line.map(|line| format!(" line {line}:")).unwrap_or_default();
    format!("baseline `{baseline}`{at} {} CPU · {} peak", seconds(change.before), megabytes(change.before))
}

fn diagnostic(range: Range, severity: DiagnosticSeverity, code: &str, message: String, related: Option<DiagnosticRelatedInformation>) -> Diagnostic {
    Diagnostic { related_information: related.map(|related| vec![related]), ..super::diagnostic(range, severity, code, message) }
}

/// Where the baseline's line was: `before_uri` at 0-based `before_line - 1`.
pub fn baseline_location(before_uri: Option<Uri>, before_line: Option<u32>) -> Option<Location> {
    let line = before_line?.checked_sub(1)?;
    Some(Location { uri: before_uri?, range: Range { start: Position { line, character: 0 }, end: Position { line, character: 0 } } })
}

/// The diagnostics of a changed line or function at `range`: `cpu-regression` and `memory-regression`
/// (Warning), `improvement` (Hint), each with before → after in the message and the baseline's line as
/// related information. `subject` names a function (`grow: `) or is empty for a line.
pub fn diagnostics(change: &Change<'_>, subject: &str, range: Range, baseline: &str, before_line: Option<u32>, location: Option<Location>) -> Vec<Diagnostic> {
    let related = || location.clone().map(|location| DiagnosticRelatedInformation { location, message: baseline_text(baseline, before_line, change) });
    let mut out = Vec::new();
    if change.cpu == Verdict::Regressed {
        let message = format!(
            "{subject}slower than baseline `{baseline}`: {} → {} CPU{}",
            seconds(change.before),
            seconds(change.after),
            percent(change.delta.cpu_change_percent)
        );
        out.push(diagnostic(range, DiagnosticSeverity::WARNING, "cpu-regression", message, related()));
    }
    if change.memory == Verdict::Regressed {
        let message = format!(
            "{subject}more memory than baseline `{baseline}`: {} → {} peak{}",
            megabytes(change.before),
            megabytes(change.after),
            percent(change.delta.peak_change_percent)
        );
        out.push(diagnostic(range, DiagnosticSeverity::WARNING, "memory-regression", message, related()));
    }
    let mut better = Vec::new();
    if change.cpu == Verdict::Improved {
        better.push(format!("faster: {} → {} CPU{}", seconds(change.before), seconds(change.after), percent(change.delta.cpu_change_percent)));
    }
    if change.memory == Verdict::Improved {
        better.push(format!("less memory: {} → {} peak{}", megabytes(change.before), megabytes(change.after), percent(change.delta.peak_change_percent)));
    }
    if !better.is_empty() {
        let message = format!("{subject}{} (baseline `{baseline}`)", better.join("; "));
        out.push(diagnostic(range, DiagnosticSeverity::HINT, "improvement", message, related()));
    }
    out
}

fn metric_cell(metrics: Option<&Metrics>, value: fn(&Metrics) -> String, range: fn(&Metrics) -> Option<String>) -> String {
    match metrics {
        None => "–".into(),
        Some(m) => match range(m) {
            Some(range) => format!("{} ({range})", value(m)),
            None => value(m),
        },
    }
}

/// The hover of a compared line: baseline and now side by side, the enclosing function's change, and
/// where the baseline came from.
pub fn hover_markdown(comparison: &Comparison, baseline: &str, saved_at: &str, line: &LineChange, function: Option<&FunctionChange>, profile_id: &str) -> String {
    let mut md = String::new();
    let was = match (line.before_line, line.after_line) {
        (Some(before), Some(after)) if before != after => format!(" (line {before} in the baseline)"),
        (Some(_), Some(_)) => String::new(),
        (None, _) => " (new since the baseline)".into(),
        (_, None) => " (removed)".into(),
    };
    let _ = writeln!(
        md,
        "**Scalene** · line {}{was} compared with baseline `{baseline}`: **{}**\n",
        line.after_line.or(line.before_line).unwrap_or(0),
        line.verdict.as_str()
    );
    md.push_str("| | baseline | now | change |\n|---|---:|---:|---:|\n");
    let change = Change::from(line);
    let _ = writeln!(
        md,
        "| CPU | {} | {} | {} s{} |",
        metric_cell(change.before, |m| format!("{:.2} s · {:.1}%", m.cpu_s, m.cpu_percent), |m| m.range.as_ref().map(|r| format!("{:.2}–{:.2} s over {} runs", r.cpu_s[0], r.cpu_s[1], r.runs))),
        metric_cell(change.after, |m| format!("{:.2} s · {:.1}%", m.cpu_s, m.cpu_percent), |m| m.range.as_ref().map(|r| format!("{:.2}–{:.2} s over {} runs", r.cpu_s[0], r.cpu_s[1], r.runs))),
        signed(line.delta.cpu_s, 2),
        percent(line.delta.cpu_change_percent)
    );
    if comparison.before.memory && comparison.after.memory {
        let _ = writeln!(
            md,
            "| peak memory | {} | {} | {} MB{} |",
            metric_cell(change.before, |m| format!("{:.1} MB", m.peak_mb), |m| m.range.as_ref().map(|r| format!("{:.1}–{:.1}", r.peak_mb[0], r.peak_mb[1]))),
            metric_cell(change.after, |m| format!("{:.1} MB", m.peak_mb), |m| m.range.as_ref().map(|r| format!("{:.1}–{:.1}", r.peak_mb[0], r.peak_mb[1]))),
            signed(line.delta.peak_mb, 1),
            percent(line.delta.peak_change_percent)
        );
        let _ = writeln!(
            md,
            "| allocated | {} | {} | {} MB |",
            metric_cell(change.before, |m| format!("{:.1} MB", m.alloc_mb), |_| None),
            metric_cell(change.after, |m| format!("{:.1} MB", m.alloc_mb), |_| None),
            signed(line.delta.alloc_mb, 1)
        );
    }
    if let Some(before_source) = &line.before_source {
        let _ = writeln!(md, "\nThe baseline's line read `{}`.", before_source.replace('`', "'"));
    }
    if let Some(test) = &line.cpu_test {
        let region = if test.region[0] == test.region[1] { format!("line {}", test.region[0]) } else { format!("lines {}–{}, judged together (Scalene measures a loop as one)", test.region[0], test.region[1]) };
        let _ = writeln!(
            md,
            "\nCPU of {region}: ×{:.2} ({:.2}–{:.2}), {:.0} → {:.0} samples; changes under ±{:.0}% cannot be seen here{}.",
            test.ratio,
            test.interval[0],
            test.interval[1],
            test.samples[0],
            test.samples[1],
            test.detectable_percent,
            if comparison.rule.runs.iter().any(|runs| *runs < 3) { " (compare with 3 runs to see smaller ones)" } else { "" }
        );
    }
    if let Some(function) = function {
        let _ = writeln!(md, "\n**{}**: {}", function.name, function_summary(function));
    }
    let rule = &comparison.rule;
    let _ = write!(
        md,
        "\n_baseline `{baseline}` saved {saved_at} · now: profile {profile_id} · {}_",
        crate::engine::profile::compare::rule_sentence(rule)
    );
    md
}

/// `0.60 s → 1.92 s CPU (+219%), 15.1 → 45.2 MB peak (+200%): regressed`.
pub fn function_summary(function: &FunctionChange) -> String {
    let change = Change::from(function);
    let mut text = format!("{} → {} CPU{}", seconds(change.before), seconds(change.after), percent(function.delta.cpu_change_percent));
    if change.before.is_some_and(|m| m.peak_mb > 0.0) || change.after.is_some_and(|m| m.peak_mb > 0.0) {
        let _ = write!(text, ", {} → {} peak{}", megabytes(change.before), megabytes(change.after), percent(function.delta.peak_change_percent));
    }
    let _ = write!(text, ": {}", function.verdict.as_str());
    text
}

/// The code lens of a compared function: `regressed: +1.32 s CPU (+219%) · +30.1 MB vs baseline`.
pub fn lens_title(function: &FunctionChange) -> String {
    let change = Change::from(function);
    match function.verdict {
        Verdict::Regressed | Verdict::Improved => {
            let mut parts = vec![cpu_delta(&change)];
            if moved(function.memory) {
                parts.push(memory_delta(&change));
            }
            format!("{}: {} vs baseline", function.verdict.as_str(), parts.join(" · "))
        }
        Verdict::New => format!("new since the baseline: {} CPU", seconds(change.after)),
        Verdict::Unchanged => format!("unchanged vs baseline: {} CPU", seconds(change.after)),
        Verdict::Removed => "removed".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tower_lsp_server::ls_types::NumberOrString;

    fn metrics(cpu_s: f64, peak_mb: f64) -> Metrics {
        Metrics { cpu_percent: cpu_s * 10.0, cpu_s, peak_mb, alloc_mb: peak_mb, range: None }
    }

    fn change_of(before: Metrics, after: Metrics, cpu: Verdict, memory: Verdict) -> LineChange {
        let delta = Delta {
            cpu_s: after.cpu_s - before.cpu_s,
            cpu_percent: after.cpu_percent - before.cpu_percent,
            peak_mb: after.peak_mb - before.peak_mb,
            alloc_mb: after.alloc_mb - before.alloc_mb,
            cpu_change_percent: Some((after.cpu_s - before.cpu_s) / before.cpu_s * 100.0),
            peak_change_percent: (before.peak_mb > 0.0).then(|| (after.peak_mb - before.peak_mb) / before.peak_mb * 100.0),
        };
        let verdict = if cpu == Verdict::Regressed || memory == Verdict::Regressed { Verdict::Regressed } else { Verdict::Improved };
        LineChange {
            path: "/p/app.py".into(),
            before_path: None,
            before_line: Some(12),
            after_line: Some(16),
            source: "x".into(),
            before_source: None,
            function: None,
            before: Some(before),
            after: Some(after),
            delta,
            verdict,
            cpu,
            memory,
            cpu_test: None,
        }
    }

    #[test]
    fn labels_follow_the_documented_format() {
        let slower = change_of(metrics(0.21, 60.0), metrics(0.36, 20.0), Verdict::Regressed, Verdict::Improved);
        assert_eq!(hint_label(&Change::from(&slower)).as_deref(), Some("+0.15 s CPU (+71%) · −40.0 MB"));
        let faster = change_of(metrics(0.47, 0.0), metrics(0.19, 0.0), Verdict::Improved, Verdict::Unchanged);
        assert_eq!(hint_label(&Change::from(&faster)).as_deref(), Some("−0.28 s CPU (−60%)"));
    }

    #[test]
    fn regressions_warn_improvements_hint_and_both_point_at_the_baseline_line() {
        let slower = change_of(metrics(0.30, 15.0), metrics(0.95, 45.0), Verdict::Regressed, Verdict::Regressed);
        let uri: Uri = "file:///p/app.py".parse().unwrap();
        let location = baseline_location(Some(uri.clone()), Some(12));
        let found = diagnostics(&Change::from(&slower), "", Range::default(), "baseline", Some(12), location.clone());
        let summary: Vec<(String, Option<DiagnosticSeverity>, &str)> =
            found.iter().map(|d| (format!("{:?}", d.code), d.severity, d.message.as_str())).collect();
        assert_eq!(summary.len(), 2, "{summary:?}");
        assert_eq!(found[0].message, "slower than baseline `baseline`: 0.30 s → 0.95 s CPU (+217%)");
        assert_eq!(found[1].message, "more memory than baseline `baseline`: 15.0 MB → 45.0 MB peak (+200%)");
        assert!(found.iter().all(|d| d.severity == Some(DiagnosticSeverity::WARNING)));
        let related = found[0].related_information.as_ref().unwrap();
        assert_eq!(related[0].location.range.start.line, 11);
        assert_eq!(related[0].message, "baseline `baseline` line 12: 0.30 s CPU · 15.0 MB peak");
        let faster = change_of(metrics(0.47, 0.0), metrics(0.19, 0.0), Verdict::Improved, Verdict::Unchanged);
        let found = diagnostics(&Change::from(&faster), "shrink: ", Range::default(), "baseline", Some(12), location);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].severity, Some(DiagnosticSeverity::HINT));
        assert_eq!(found[0].code, Some(NumberOrString::String("improvement".into())));
        assert_eq!(found[0].message, "shrink: faster: 0.47 s → 0.19 s CPU (−60%) (baseline `baseline`)");
    }
}
