//! Latency percentiles and throughput from recorded per-request latencies (a sorted list:
//! at these volumes, a few hundred thousand samples, exact percentiles cost nothing).

use std::time::Duration;

/// What a measured window produced.
#[derive(Debug, Clone)]
pub struct Summary {
    /// Requests answered successfully inside the window.
    pub completed: usize,
    /// Completed requests per second of window.
    pub requests_per_second: f64,
    /// Median latency, in milliseconds.
    pub p50_ms: f64,
    /// 99th percentile latency, in milliseconds.
    pub p99_ms: f64,
    /// Slowest request, in milliseconds.
    pub max_ms: f64,
}

impl Summary {
    /// Summarises `latencies_us` (microseconds, any order) measured over `window`.
    pub fn new(mut latencies_us: Vec<u32>, window: Duration) -> Self {
        latencies_us.sort_unstable();
        let seconds = window.as_secs_f64().max(f64::MIN_POSITIVE);
        Self {
            completed: latencies_us.len(),
            requests_per_second: latencies_us.len() as f64 / seconds,
            p50_ms: percentile_ms(&latencies_us, 0.50),
            p99_ms: percentile_ms(&latencies_us, 0.99),
            max_ms: latencies_us
                .last()
                .map_or(0.0, |&max| f64::from(max) / 1000.0),
        }
    }
}

/// The nearest-rank percentile of sorted samples, in milliseconds; 0 when there are none.
fn percentile_ms(sorted_us: &[u32], fraction: f64) -> f64 {
    if sorted_us.is_empty() {
        return 0.0;
    }
    let rank = (fraction * sorted_us.len() as f64).ceil() as usize;
    let index = rank.clamp(1, sorted_us.len()) - 1;
    f64::from(sorted_us[index]) / 1000.0
}

/// Microseconds of `elapsed`, saturating (a request never takes 71 minutes here).
pub fn micros(elapsed: Duration) -> u32 {
    u32::try_from(elapsed.as_micros()).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let samples: Vec<u32> = (1..=100).map(|value| value * 1000).collect();
        let summary = Summary::new(samples, Duration::from_secs(2));
        assert_eq!(summary.completed, 100);
        assert_eq!(summary.requests_per_second, 50.0);
        assert_eq!(summary.p50_ms, 50.0);
        assert_eq!(summary.p99_ms, 99.0);
        assert_eq!(summary.max_ms, 100.0);
    }

    #[test]
    fn an_empty_window_reports_zeros() {
        let summary = Summary::new(Vec::new(), Duration::from_secs(1));
        assert_eq!(summary.completed, 0);
        assert_eq!(summary.p99_ms, 0.0);
    }
}
