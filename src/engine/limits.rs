//! User-given durations (CLI flags, editor settings, MCP parameters): one checked conversion from a
//! number to a `Duration`, so that no value (NaN, negative, 1e308) can panic, and the error names the
//! allowed range.

use std::time::Duration;

/// The longest run timeout anyone may ask for: a week.
pub const MAX_TIMEOUT_S: f64 = 7.0 * 24.0 * 3600.0;
/// The snapshot interval of a live run, in seconds: from 0.1 to an hour.
pub const LIVE_INTERVAL_S: (f64, f64) = (0.1, 3600.0);
/// The most runs one `--repeat` / `runs` may ask for (the CLI, the editor's `scalene.compare`).
pub const MAX_REPEAT: u32 = 100;
/// The oldest age `cleanup --older-than` / `max_age_days` may name: a hundred years.
pub const MAX_AGE_DAYS: f64 = 36_500.0;

/// `seconds` as a duration when it is a number from `min` to `max` seconds; else an error naming `what`
/// and the range.
pub fn seconds(what: &str, seconds: f64, min: f64, max: f64) -> Result<Duration, String> {
    if seconds.is_finite() && seconds >= min && seconds <= max {
        Ok(Duration::from_secs_f64(seconds))
    } else {
        Err(format!("{what} must be a number of seconds from {min} to {max}, not {seconds}"))
    }
}

/// `days` as a duration when it is a number from 0 to `MAX_AGE_DAYS`; else an error naming `what`.
pub fn days(what: &str, days: f64) -> Result<Duration, String> {
    if days.is_finite() && (0.0..=MAX_AGE_DAYS).contains(&days) {
        Ok(Duration::from_secs_f64(days * 86_400.0))
    } else {
        Err(format!("{what} must be a number of days from 0 to {MAX_AGE_DAYS}, not {days}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_number_converts_or_names_the_range() {
        assert_eq!(seconds("--timeout", 2.5, 0.001, MAX_TIMEOUT_S), Ok(Duration::from_millis(2500)));
        for bad in [1e308, f64::INFINITY, f64::NAN, -1.0, 0.0, 1e20] {
            let err = seconds("--timeout", bad, 0.001, MAX_TIMEOUT_S).unwrap_err();
            assert!(err.starts_with("--timeout must be a number of seconds from 0.001 to 604800"), "{err}");
        }
        assert_eq!(days("--older-than", 1.0), Ok(Duration::from_secs(86_400)));
        assert!(days("--older-than", 0.0).is_ok());
        for bad in [1e308, 1e20, -0.5, f64::NAN] {
            assert!(days("--older-than", bad).unwrap_err().contains("from 0 to 36500"), "{bad}");
        }
    }
}
