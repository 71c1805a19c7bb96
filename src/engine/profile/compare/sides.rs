//! One side of a comparison: its metrics (a line's, a function's, a file's, means over repeated runs
//! when there are several) and its regions, the groups of lines Scalene measures as one.

use std::collections::HashMap;
use std::path::Path;

use super::noise::{Amount, SideInfo};
use super::report::{Metrics, Ranges};
use crate::engine::profile::model::{FileProfile, FunctionStats, LineStats, MetricSpread, Profile};

/// Scalene's default CPU sampling interval: what a profile that does not record its own was made with.
const SCALENE_DEFAULT_SAMPLING_S: f64 = 0.01;

/// Per-side context for computing metrics.
pub struct Side<'a> {
    pub profile: &'a Profile,
}

impl Side<'_> {
    pub fn runs(&self) -> u32 {
        self.profile.spread.as_ref().map_or(1, |spread| spread.runs.max(1))
    }

    pub fn info(&self) -> SideInfo {
        SideInfo { runs: self.runs(), sampling_s: self.profile.cpu_sampling_s.unwrap_or(SCALENE_DEFAULT_SAMPLING_S), memory: self.profile.memory }
    }

    /// CPU seconds of a share: of the run's elapsed time for Scalene (or the mean over repeated runs); of
    /// the samples for an attached profile (samples × interval, as its note says), since py-spy's shares
    /// are of every running thread's samples and two busy threads give twice the samples of the time.
    pub fn cpu_seconds(&self, share: f64, spread: Option<&MetricSpread>) -> f64 {
        if let Some(spread) = spread {
            return spread.cpu_s.mean;
        }
        match self.profile.attached.as_deref() {
            Some(attached) if attached.rate_hz > 0.0 => share / 100.0 * attached.samples as f64 / attached.rate_hz,
            _ => share / 100.0 * self.profile.elapsed_s,
        }
    }

    pub fn metrics(&self, cpu_percent: f64, peak_mb: f64, alloc_mb: f64, spread: Option<&MetricSpread>) -> Metrics {
        Metrics {
            cpu_percent,
            cpu_s: self.cpu_seconds(cpu_percent, spread),
            peak_mb: if self.profile.memory { peak_mb } else { 0.0 },
            alloc_mb,
            range: spread.map(|spread| Ranges {
                runs: self.runs(),
                cpu_percent: [spread.cpu_percent.min, spread.cpu_percent.max],
                cpu_s: [spread.cpu_s.min, spread.cpu_s.max],
                peak_mb: [spread.peak_mb.min, spread.peak_mb.max],
                alloc_mb: [spread.alloc_mb.min, spread.alloc_mb.max],
            }),
        }
    }

    pub fn file_spread(&self, path: &Path) -> Option<&crate::engine::profile::model::FileSpread> {
        self.profile.spread.as_ref()?.file(path)
    }

    pub fn line(&self, file: &FileProfile, line: &LineStats) -> Metrics {
        let spread = self.file_spread(&file.path).and_then(|spread| spread.line(line.line));
        self.metrics(line.cpu_total(), line.metrics.peak_mb, line.metrics.alloc_mb, spread)
    }

    /// A matched line or function without activity on this side: zeros (with zero ranges when repeated).
    pub fn quiet(&self) -> Metrics {
        let spread = self.profile.spread.as_ref().map(|_| MetricSpread::default());
        self.metrics(0.0, 0.0, 0.0, spread.as_ref())
    }

    pub fn function(&self, file: &FileProfile, function: &FunctionStats) -> Metrics {
        let spread = self.file_spread(&file.path).and_then(|spread| spread.function(&function.name, function.line));
        self.metrics(function.cpu_total(), function.peak_mb, function.alloc_mb, spread)
    }

    pub fn file(&self, file: &FileProfile) -> Metrics {
        let spread = self.file_spread(&file.path).map(|spread| &spread.total);
        let peak = file.lines.iter().map(|line| line.metrics.peak_mb).fold(0.0, f64::max);
        let alloc = file.lines.iter().map(|line| line.metrics.alloc_mb).sum();
        self.metrics(file.cpu_percent, peak, alloc, spread)
    }

    /// CPU samples (all runs) behind `lines`: lines with identical numbers share their samples (Scalene
    /// spreads a loop's samples evenly over its lines), so they count once.
    pub fn samples(&self, file: &FileProfile, lines: &[&LineStats]) -> f64 {
        let runs = f64::from(self.runs());
        let sampling = self.info().sampling_s;
        let mut seen: Vec<[u64; 4]> = Vec::new();
        let mut total = 0.0;
        for line in lines {
            let count = match line.cpu_samples {
                Some(count) => count,
                None => self.line(file, line).cpu_s / sampling,
            };
            let key = [line.metrics.cpu_python.to_bits(), line.metrics.cpu_native.to_bits(), line.metrics.cpu_system.to_bits(), count.to_bits()];
            if line.cpu_samples.is_some() && seen.contains(&key) {
                continue;
            }
            seen.push(key);
            total += count * runs;
        }
        total
    }
}

/// A region of one side: lines judged as one.
pub struct Region<'a> {
    pub lines: Vec<&'a LineStats>,
    /// Index into `functions` of the comparison.
    pub function: Option<usize>,
    pub amount: Amount,
}

/// One side of a file: its regions and which region each line is in.
pub fn regions<'a>(side: &Side<'_>, file: &'a FileProfile, function_of: &dyn Fn(usize) -> Option<usize>) -> (Vec<Region<'a>>, HashMap<u32, usize>) {
    let mut regions: Vec<Region<'a>> = Vec::new();
    let mut by_key: HashMap<(Option<usize>, u32), usize> = HashMap::new();
    let mut of_line = HashMap::new();
    for line in file.lines.iter().filter(|line| line.cpu_total() > 0.0) {
        let own = file.functions.iter().enumerate().filter(|(_, f)| f.contains(line.line)).min_by_key(|(_, f)| f.end_line - f.line);
        let start = own.map_or(0, |(_, f)| f.line);
        let key = match &line.outer_loop {
            Some(range) if *range.start() > start => *range.start(),
            _ => line.line,
        };
        let function = own.and_then(|(index, _)| function_of(index));
        let index = *by_key.entry((function, key)).or_insert_with(|| {
            regions.push(Region { lines: Vec::new(), function, amount: Amount::default() });
            regions.len() - 1
        });
        regions[index].lines.push(line);
        of_line.insert(line.line, index);
    }
    for region in &mut regions {
        region.amount = Amount {
            seconds: region.lines.iter().map(|line| side.line(file, line).cpu_s).sum(),
            samples: side.samples(file, &region.lines),
        };
    }
    (regions, of_line)
}


#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::profile::model::{Attached, RunStatus};

    #[test]
    fn cpu_seconds_are_of_the_elapsed_time_for_scalene_and_of_the_samples_for_py_spy() {
        let mut profile = Profile::empty(RunStatus::Ok, "a.py".into());
        profile.elapsed_s = 1.0;
        assert_eq!(Side { profile: &profile }.cpu_seconds(50.0, None), 0.5);
        // Two busy threads sampled for 1 s at 100 Hz: 200 samples, 2 s of running code.
        profile.attached = Some(std::sync::Arc::new(Attached { rate_hz: 100.0, samples: 200, ..Attached::default() }));
        assert_eq!(Side { profile: &profile }.cpu_seconds(50.0, None), 1.0);
    }
}
