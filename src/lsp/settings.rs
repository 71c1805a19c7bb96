//! Settings: `ClientOptions` (raw camelCase JSON from initializationOptions or workspace/configuration)
//! resolved into `Settings`. Bad values never fail: they fall back to the default with a warning the
//! user sees.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;
use tower_lsp_server::ls_types::DiagnosticSeverity;

use crate::engine::profile::compare::NoiseRule;
use crate::engine::keep::storage::StoreSettings;
use crate::engine::{DEFAULT_TIMEOUT, Mode};

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ClientOptions {
    pub python: Option<String>,
    pub args: Option<Vec<String>>,
    pub mode: Option<String>,
    pub timeout: Option<f64>,
    pub cwd: Option<String>,
    pub hints: HintOptions,
    pub diagnostics: DiagnosticOptions,
    pub lenses: LensOptions,
    pub mcp: McpOptions,
    pub store: StoreOptions,
    pub compare: CompareOptions,
    pub max_profile_mb: Option<f64>,
    pub live: LiveOptions,
    pub shortcut: Option<bool>,
    pub call_paths: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct LiveOptions {
    pub interval: Option<f64>,
}

/// Where saved profiles (baselines) go, and how many may stay.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct StoreOptions {
    pub dir: Option<String>,
    pub max_profiles: Option<usize>,
    pub max_mb: Option<f64>,
}

/// The noise rule of comparisons (docs/schema.md).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CompareOptions {
    pub min_change_percent: Option<f64>,
    pub min_cpu_percent: Option<f64>,
    pub min_mb: Option<f64>,
    pub error_rate_percent: Option<f64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct McpOptions {
    pub enabled: Option<bool>,
    pub port: Option<u16>,
    pub allow_code: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct HintOptions {
    pub enabled: Option<bool>,
    pub format: Option<String>,
    pub min_cpu_percent: Option<f64>,
    pub min_peak_mb: Option<f64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DiagnosticOptions {
    pub enabled: Option<bool>,
    pub cpu_percent: Option<f64>,
    pub cpu_warning_percent: Option<f64>,
    pub memory_mb: Option<f64>,
    pub leak_likelihood: Option<f64>,
    pub cpu_severity: Option<String>,
    pub cpu_warning_severity: Option<String>,
    pub memory_severity: Option<String>,
    pub leak_severity: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct LensOptions {
    pub enabled: Option<bool>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HintFormat {
    Cpu,
    Memory,
    Both,
}

#[derive(Clone, Debug, PartialEq)]
pub struct HintSettings {
    pub enabled: bool,
    pub format: HintFormat,
    pub min_cpu_percent: f64,
    pub min_peak_mb: f64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct DiagnosticSettings {
    pub enabled: bool,
    pub cpu_percent: f64,
    pub cpu_warning_percent: f64,
    pub memory_mb: f64,
    pub leak_likelihood: f64,
    pub cpu_severity: DiagnosticSeverity,
    pub cpu_warning_severity: DiagnosticSeverity,
    pub memory_severity: DiagnosticSeverity,
    pub leak_severity: DiagnosticSeverity,
}

/// The in-process MCP endpoint (read at initialize; a change takes effect on restart).
#[derive(Clone, Debug, PartialEq)]
pub struct McpSettings {
    pub enabled: bool,
    /// 0: an ephemeral port.
    pub port: u16,
    /// The `profile_code` tool (runs snippets an agent sends): off unless set.
    pub allow_code: bool,
}

/// Resolved settings.
#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    pub python: Option<PathBuf>,
    pub args: Vec<String>,
    pub mode: Mode,
    pub timeout: Duration,
    pub cwd: Option<PathBuf>,
    pub hints: HintSettings,
    pub diagnostics: DiagnosticSettings,
    pub lenses_enabled: bool,
    pub mcp: McpSettings,
    /// The saved-profile store (the engine's, shared with agents).
    pub store: StoreSettings,
    /// When a comparison counts a difference as a change.
    pub compare: NoiseRule,
    /// The largest Scalene JSON `scalene.loadProfile` reads.
    pub max_profile_bytes: u64,
    /// How often a live run's snapshot is taken; also how long typing must pause before annotations
    /// refresh from a new profile.
    pub live_interval: Duration,
    /// The start-up shortcut (where verified); false: Scalene's own start-up always.
    pub shortcut: bool,
    /// Record Scalene's stacks (call hierarchy, flame graph, exports); false: 3-10 % shorter runs.
    pub call_paths: bool,
}

impl Settings {
    /// How runs of this session start.
    pub fn startup(&self) -> crate::engine::Startup {
        crate::engine::Startup::allowing_shortcut(self.shortcut)
    }

    /// The one place the editor's runs are asked for (`scalene.profile`, `scalene.profileTest`,
    /// `scalene.compare`, live runs): the settings, with what the command itself says on top.
    pub fn run_request(&self, program: crate::engine::Program, overrides: RunOverrides) -> crate::engine::ProfileRequest {
        let is_test = matches!(program, crate::engine::Program::Test { .. } | crate::engine::Program::Suite { .. });
        // A suite runs in its folder (pytest reads paths and node ids from there) and needs the stacks'
        // timeline to give samples to tests.
        let suite_dir = match &program {
            crate::engine::Program::Suite { dir } => Some(dir.clone()),
            _ => None,
        };
        crate::engine::ProfileRequest {
            program: Some(program),
            args: overrides.args.unwrap_or_else(|| if is_test { Vec::new() } else { self.args.clone() }),
            mode: overrides.mode.unwrap_or(self.mode),
            python: overrides.python.map(Into::into).or_else(|| self.python.clone()),
            cwd: suite_dir.clone().or_else(|| self.cwd.clone()),
            timeout: Some(self.timeout),
            live: overrides.live.then_some(self.live_interval),
            paused: overrides.paused,
            startup: self.startup(),
            no_call_paths: !self.call_paths && suite_dir.is_none(),
            ..crate::engine::ProfileRequest::default()
        }
    }
}

/// What one command may set for its run; the settings fill in the rest (`Settings::run_request`).
#[derive(Debug, Default)]
pub struct RunOverrides {
    pub args: Option<Vec<String>>,
    pub mode: Option<crate::engine::Mode>,
    pub python: Option<String>,
    pub live: bool,
    pub paused: bool,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings::resolve(ClientOptions::default()).0
    }
}

fn severity(text: Option<&str>, default: DiagnosticSeverity, field: &str, warnings: &mut Vec<String>) -> DiagnosticSeverity {
    match text {
        None => default,
        Some("error") => DiagnosticSeverity::ERROR,
        Some("warning") => DiagnosticSeverity::WARNING,
        Some("information" | "info") => DiagnosticSeverity::INFORMATION,
        Some("hint") => DiagnosticSeverity::HINT,
        Some(other) => {
            warnings.push(format!("scalene.diagnostics.{field} must be error, warning, information or hint, not {other:?}"));
            default
        }
    }
}

fn non_negative(value: Option<f64>, default: f64, field: &str, warnings: &mut Vec<String>) -> f64 {
    match value {
        None => default,
        Some(value) if value.is_finite() && value >= 0.0 => value,
        Some(value) => {
            warnings.push(format!("scalene.{field} must be a number >= 0, not {value}"));
            default
        }
    }
}

impl Settings {
    /// Parses the raw settings object (`{...}` or `{"scalene": {...}}`). Returns the settings and the
    /// problems found (each already says which default was used instead).
    pub fn from_value(value: &Value) -> (Settings, Vec<String>) {
        let section = value.get("scalene").filter(|section| section.is_object()).unwrap_or(value);
        if section.is_null() {
            return (Settings::default(), Vec::new());
        }
        match serde_json::from_value::<ClientOptions>(section.clone()) {
            Ok(options) => Settings::resolve(options),
            Err(err) => (Settings::default(), vec![format!("the scalene settings are not valid ({err}); using the defaults")]),
        }
    }

    pub fn resolve(options: ClientOptions) -> (Settings, Vec<String>) {
        let mut warnings = Vec::new();
        let mode = match options.mode.as_deref() {
            None => Mode::Memory,
            Some(text) => text.parse::<Mode>().unwrap_or_else(|_| {
                warnings.push(format!("scalene.mode must be cpu, memory or gpu, not {text:?}; using memory"));
                Mode::Memory
            }),
        };
        let timeout = match options.timeout {
            None => DEFAULT_TIMEOUT,
            Some(seconds) => crate::engine::limits::seconds("scalene.timeout", seconds, 0.001, crate::engine::limits::MAX_TIMEOUT_S).unwrap_or_else(|problem| {
                warnings.push(format!("{problem}; using {}", DEFAULT_TIMEOUT.as_secs()));
                DEFAULT_TIMEOUT
            }),
        };
        let format = match options.hints.format.as_deref() {
            None | Some("both") => HintFormat::Both,
            Some("cpu") => HintFormat::Cpu,
            Some("memory") => HintFormat::Memory,
            Some(other) => {
                warnings.push(format!("scalene.hints.format must be cpu, memory or both, not {other:?}; using both"));
                HintFormat::Both
            }
        };
        let diagnostics = &options.diagnostics;
        let defaults = StoreSettings::default();
        let store = StoreSettings {
            dir: options.store.dir.filter(|dir| !dir.is_empty()).map(PathBuf::from).or(defaults.dir),
            max_profiles: options.store.max_profiles.unwrap_or(defaults.max_profiles),
            max_bytes: options
                .store
                .max_mb
                .map(|mb| crate::engine::units::bytes(non_negative(Some(mb), crate::engine::units::mb(defaults.max_bytes), "store.maxMb", &mut warnings)))
                .unwrap_or(defaults.max_bytes),
        };
        let rule = NoiseRule::default();
        let compare = NoiseRule {
            min_change_percent: non_negative(options.compare.min_change_percent, rule.min_change_percent, "compare.minChangePercent", &mut warnings),
            min_cpu_percent: non_negative(options.compare.min_cpu_percent, rule.min_cpu_percent, "compare.minCpuPercent", &mut warnings),
            min_mb: non_negative(options.compare.min_mb, rule.min_mb, "compare.minMb", &mut warnings),
            error_rate_percent: match options.compare.error_rate_percent {
                None => rule.error_rate_percent,
                Some(percent) if percent > 0.0 && percent <= 50.0 => percent,
                Some(percent) => {
                    // 0 would never name anything; above 50 would name noise (the CLI and MCP refuse both).
                    warnings.push(format!("scalene.compare.errorRatePercent must be a percentage above 0 and at most 50, not {percent}; using {}", rule.error_rate_percent));
                    rule.error_rate_percent
                }
            },
        };
        let settings = Settings {
            python: options.python.filter(|python| !python.is_empty()).map(PathBuf::from),
            args: options.args.unwrap_or_default(),
            mode,
            timeout,
            cwd: options.cwd.filter(|cwd| !cwd.is_empty()).map(PathBuf::from),
            hints: HintSettings {
                enabled: options.hints.enabled.unwrap_or(true),
                format,
                min_cpu_percent: non_negative(options.hints.min_cpu_percent, 1.0, "hints.minCpuPercent", &mut warnings),
                min_peak_mb: non_negative(options.hints.min_peak_mb, 1.0, "hints.minPeakMb", &mut warnings),
            },
            diagnostics: DiagnosticSettings {
                enabled: diagnostics.enabled.unwrap_or(true),
                cpu_percent: non_negative(diagnostics.cpu_percent, 10.0, "diagnostics.cpuPercent", &mut warnings),
                cpu_warning_percent: non_negative(diagnostics.cpu_warning_percent, 30.0, "diagnostics.cpuWarningPercent", &mut warnings),
                memory_mb: non_negative(diagnostics.memory_mb, 100.0, "diagnostics.memoryMb", &mut warnings),
                leak_likelihood: non_negative(diagnostics.leak_likelihood, 0.9, "diagnostics.leakLikelihood", &mut warnings),
                cpu_severity: severity(diagnostics.cpu_severity.as_deref(), DiagnosticSeverity::HINT, "cpuSeverity", &mut warnings),
                cpu_warning_severity: severity(diagnostics.cpu_warning_severity.as_deref(), DiagnosticSeverity::INFORMATION, "cpuWarningSeverity", &mut warnings),
                memory_severity: severity(diagnostics.memory_severity.as_deref(), DiagnosticSeverity::HINT, "memorySeverity", &mut warnings),
                leak_severity: severity(diagnostics.leak_severity.as_deref(), DiagnosticSeverity::INFORMATION, "leakSeverity", &mut warnings),
            },
            lenses_enabled: options.lenses.enabled.unwrap_or(true),
            max_profile_bytes: match options.max_profile_mb {
                None => crate::engine::keep::profile_file::DEFAULT_MAX_PROFILE_BYTES,
                Some(mb) if mb.is_finite() && mb > 0.0 => crate::engine::units::bytes(mb),
                Some(mb) => {
                    warnings.push(format!("scalene.maxProfileMb must be a positive number of MB, not {mb}; using 512"));
                    crate::engine::keep::profile_file::DEFAULT_MAX_PROFILE_BYTES
                }
            },
            live_interval: match options.live.interval {
                None => crate::engine::DEFAULT_LIVE_INTERVAL,
                Some(seconds) => {
                    let (min, max) = crate::engine::limits::LIVE_INTERVAL_S;
                    crate::engine::limits::seconds("scalene.live.interval", seconds, min, max).unwrap_or_else(|problem| {
                        warnings.push(format!("{problem}; using {}", crate::engine::DEFAULT_LIVE_INTERVAL.as_secs_f64()));
                        crate::engine::DEFAULT_LIVE_INTERVAL
                    })
                }
            },
            shortcut: options.shortcut.unwrap_or(true),
            call_paths: options.call_paths.unwrap_or(true),
            mcp: McpSettings {
                enabled: options.mcp.enabled.unwrap_or(true),
                port: options.mcp.port.unwrap_or(0),
                allow_code: options.mcp.allow_code.unwrap_or(false),
            },
            store,
            compare,
        };
        (settings, warnings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn defaults_match_the_documentation() {
        let settings = Settings::default();
        assert_eq!(settings.mode, Mode::Memory);
        assert_eq!(settings.timeout, DEFAULT_TIMEOUT);
        assert_eq!((settings.hints.min_cpu_percent, settings.hints.min_peak_mb), (1.0, 1.0));
        assert_eq!((settings.diagnostics.cpu_percent, settings.diagnostics.cpu_warning_percent), (10.0, 30.0));
        assert_eq!(settings.diagnostics.memory_mb, 100.0);
        assert_eq!(settings.diagnostics.leak_likelihood, 0.9);
        assert_eq!(settings.store, StoreSettings::default());
        assert_eq!(settings.compare, NoiseRule::default());
    }

    #[test]
    fn store_and_compare_settings() {
        let (settings, warnings) = Settings::from_value(&json!({
            "store": {"dir": "/tmp/baselines", "maxProfiles": 5, "maxMb": 2},
            "compare": {"minChangePercent": 20, "minCpuPercent": 1, "minMb": 5, "errorRatePercent": 5}
        }));
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(settings.store.dir.as_deref(), Some(std::path::Path::new("/tmp/baselines")));
        assert_eq!((settings.store.max_profiles, settings.store.max_bytes), (5, 2 * 1024 * 1024));
        assert_eq!(settings.compare, NoiseRule { min_change_percent: 20.0, min_cpu_percent: 1.0, min_mb: 5.0, error_rate_percent: 5.0 });
        let (settings, warnings) = Settings::from_value(&json!({"compare": {"minMb": -3}}));
        assert_eq!(settings.compare.min_mb, NoiseRule::default().min_mb);
        assert!(warnings[0].contains("scalene.compare.minMb"), "{warnings:?}");
        for bad in [0.0, -1.0, 50.5, 100.0] {
            let (settings, warnings) = Settings::from_value(&json!({"compare": {"errorRatePercent": bad}}));
            assert_eq!(settings.compare.error_rate_percent, NoiseRule::default().error_rate_percent, "{bad}");
            assert!(warnings[0].contains("scalene.compare.errorRatePercent must be a percentage above 0 and at most 50"), "{warnings:?}");
        }
        let (settings, warnings) = Settings::from_value(&json!({"compare": {"errorRatePercent": 50}}));
        assert!(warnings.is_empty() && settings.compare.error_rate_percent == 50.0, "{warnings:?}");
    }

    #[test]
    fn wrapped_and_bare_objects_are_both_accepted() {
        let bare = Settings::from_value(&json!({"mode": "cpu", "hints": {"format": "cpu"}})).0;
        let wrapped = Settings::from_value(&json!({"scalene": {"mode": "cpu", "hints": {"format": "cpu"}}})).0;
        assert_eq!(bare, wrapped);
        assert_eq!(bare.mode, Mode::Cpu);
        assert_eq!(bare.hints.format, HintFormat::Cpu);
    }

    #[test]
    fn bad_values_fall_back_with_a_warning() {
        let (settings, warnings) = Settings::from_value(&json!({"mode": "fast", "timeout": -1, "diagnostics": {"cpuSeverity": "loud"}}));
        assert_eq!(settings, Settings::default());
        assert_eq!(warnings.len(), 3, "{warnings:?}");
        assert!(warnings[0].contains("scalene.mode must be cpu, memory or gpu"));
        let (settings, warnings) = Settings::from_value(&json!({"hints": "yes"}));
        assert_eq!(settings, Settings::default());
        assert!(warnings[0].contains("not valid"), "{warnings:?}");
    }
}
