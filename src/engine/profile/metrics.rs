//! `LineMetrics<T>`: Scalene's per-line metrics, the one list of them, with `map`, `zip` and
//! `into_array` for code that treats every metric alike.

/// Scalene's per-line metrics: the one list of them (`T` is `f64` in the model). Code that treats every
/// metric alike goes through `map`, `zip` and `into_array` (the mean over repeated runs, `has_activity`);
/// the places that say something about each one (parse.rs: Scalene's key; schema.rs: the normalized JSON,
/// which leaves out the last two) build or take apart a whole `LineMetrics` without `..`, so a metric
/// added here makes the compiler name them.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct LineMetrics<T> {
    pub cpu_python: T,
    pub cpu_native: T,
    pub cpu_system: T,
    pub core_utilization: T,
    pub peak_mb: T,
    pub avg_mb: T,
    pub alloc_mb: T,
    /// Allocation samples (not malloc calls): a count, so a whole number.
    pub mallocs: T,
    pub python_fraction: T,
    pub usage_fraction: T,
    pub copy_mb_s: T,
    pub gpu_percent: T,
    pub gpu_peak_mb: T,
    pub gpu_avg_mb: T,
    pub async_await_percent: T,
}

impl<T> LineMetrics<T> {
    /// Each metric through `f`.
    pub fn map<U>(self, mut f: impl FnMut(T) -> U) -> LineMetrics<U> {
        LineMetrics {
            cpu_python: f(self.cpu_python),
            cpu_native: f(self.cpu_native),
            cpu_system: f(self.cpu_system),
            core_utilization: f(self.core_utilization),
            peak_mb: f(self.peak_mb),
            avg_mb: f(self.avg_mb),
            alloc_mb: f(self.alloc_mb),
            mallocs: f(self.mallocs),
            python_fraction: f(self.python_fraction),
            usage_fraction: f(self.usage_fraction),
            copy_mb_s: f(self.copy_mb_s),
            gpu_percent: f(self.gpu_percent),
            gpu_peak_mb: f(self.gpu_peak_mb),
            gpu_avg_mb: f(self.gpu_avg_mb),
            async_await_percent: f(self.async_await_percent),
        }
    }

    /// Each metric paired with the same metric of `other` (then `map` combines them).
    pub fn zip<U>(self, other: LineMetrics<U>) -> LineMetrics<(T, U)> {
        LineMetrics {
            cpu_python: (self.cpu_python, other.cpu_python),
            cpu_native: (self.cpu_native, other.cpu_native),
            cpu_system: (self.cpu_system, other.cpu_system),
            core_utilization: (self.core_utilization, other.core_utilization),
            peak_mb: (self.peak_mb, other.peak_mb),
            avg_mb: (self.avg_mb, other.avg_mb),
            alloc_mb: (self.alloc_mb, other.alloc_mb),
            mallocs: (self.mallocs, other.mallocs),
            python_fraction: (self.python_fraction, other.python_fraction),
            usage_fraction: (self.usage_fraction, other.usage_fraction),
            copy_mb_s: (self.copy_mb_s, other.copy_mb_s),
            gpu_percent: (self.gpu_percent, other.gpu_percent),
            gpu_peak_mb: (self.gpu_peak_mb, other.gpu_peak_mb),
            gpu_avg_mb: (self.gpu_avg_mb, other.gpu_avg_mb),
            async_await_percent: (self.async_await_percent, other.async_await_percent),
        }
    }

    /// The metrics in declaration order (the normalized schema's order, then the two it leaves out).
    pub fn into_array(self) -> [T; 15] {
        let LineMetrics {
            cpu_python, cpu_native, cpu_system, core_utilization, peak_mb, avg_mb, alloc_mb, mallocs,
            python_fraction, usage_fraction, copy_mb_s, gpu_percent, gpu_peak_mb, gpu_avg_mb, async_await_percent,
        } = self;
        [
            cpu_python, cpu_native, cpu_system, core_utilization, peak_mb, avg_mb, alloc_mb, mallocs,
            python_fraction, usage_fraction, copy_mb_s, gpu_percent, gpu_peak_mb, gpu_avg_mb, async_await_percent,
        ]
    }
}

impl LineMetrics<f64> {
    pub fn cpu_total(&self) -> f64 {
        self.cpu_python + self.cpu_native + self.cpu_system
    }
}
