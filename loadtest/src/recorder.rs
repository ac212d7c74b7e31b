//! Per-task results: one histogram per operation name, owned by the task (no lock per
//! operation), merged when the run ends. Shared atomics feed only the progress line.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use hdrhistogram::Histogram;

/// Latencies are recorded in microseconds up to an hour, with 3 significant digits.
pub const LATENCY_US_MAX: u64 = 3_600_000_000;
const SIGNIFICANT_DIGITS: u8 = 3;
/// Error messages kept per task and in the report.
pub const ERROR_SAMPLES_MAX: usize = 10;

/// Counts for the once-a-second progress line, across tasks.
#[derive(Debug, Default)]
pub struct Live {
    pub operations: AtomicU64,
    pub errors: AtomicU64,
}

#[derive(Debug, Clone)]
pub struct OperationStats {
    pub latency_us: Histogram<u64>,
    pub count: u64,
    pub errors: u64,
    pub octets: u64,
    /// Things counted per operation (qresync-resync: `* n FETCH` lines), when counted.
    pub items: Option<u64>,
}

impl OperationStats {
    fn new() -> OperationStats {
        OperationStats {
            latency_us: Histogram::new_with_bounds(1, LATENCY_US_MAX, SIGNIFICANT_DIGITS)
                .expect("valid histogram bounds"),
            count: 0,
            errors: 0,
            octets: 0,
            items: None,
        }
    }
}

/// What one task measured. `primary` is the operation the progress line counts.
#[derive(Debug)]
pub struct Recorder {
    primary: &'static str,
    operations: Vec<(&'static str, OperationStats)>,
    error_samples: Vec<String>,
}

impl Recorder {
    pub fn new(primary: &'static str) -> Recorder {
        Recorder {
            primary,
            operations: Vec::new(),
            error_samples: Vec::new(),
        }
    }

    fn stats(&mut self, name: &'static str) -> &mut OperationStats {
        let index = match self.operations.iter().position(|(known, _)| *known == name) {
            Some(index) => index,
            None => {
                self.operations.push((name, OperationStats::new()));
                self.operations.len() - 1
            }
        };
        &mut self.operations[index].1
    }

    /// A successful operation; `measured` is false during the warm-up.
    pub fn success(
        &mut self,
        live: &Live,
        name: &'static str,
        latency: Duration,
        octets: u64,
        measured: bool,
    ) {
        if name == self.primary {
            live.operations.fetch_add(1, Ordering::Relaxed);
        }
        if !measured {
            return;
        }
        let stats = self.stats(name);
        let latency_us = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        stats.latency_us.saturating_record(latency_us.max(1));
        stats.count += 1;
        stats.octets += octets;
    }

    /// As `success`, with a count of things the operation returned (e.g. FETCH lines).
    pub fn success_with_items(
        &mut self,
        live: &Live,
        name: &'static str,
        latency: Duration,
        octets: u64,
        items: u64,
        measured: bool,
    ) {
        self.success(live, name, latency, octets, measured);
        if measured {
            let stats = self.stats(name);
            stats.items = Some(stats.items.unwrap_or(0) + items);
        }
    }

    pub fn error(&mut self, live: &Live, name: &'static str, message: String, measured: bool) {
        live.errors.fetch_add(1, Ordering::Relaxed);
        if !measured {
            return;
        }
        self.stats(name).errors += 1;
        if self.error_samples.len() < ERROR_SAMPLES_MAX {
            self.error_samples.push(format!("{name}: {message}"));
        }
    }

    /// A failed step whose error is sampled under another operation (its session).
    pub fn failed(&mut self, name: &'static str, measured: bool) {
        if measured {
            self.stats(name).errors += 1;
        }
    }

    pub fn merge(&mut self, other: Recorder) {
        for (name, theirs) in other.operations {
            let ours = self.stats(name);
            ours.latency_us
                .add(&theirs.latency_us)
                .expect("histograms of one run have the same bounds");
            ours.count += theirs.count;
            ours.errors += theirs.errors;
            ours.octets += theirs.octets;
            if let Some(items) = theirs.items {
                ours.items = Some(ours.items.unwrap_or(0) + items);
            }
        }
        for sample in other.error_samples {
            if self.error_samples.len() < ERROR_SAMPLES_MAX && !self.error_samples.contains(&sample)
            {
                self.error_samples.push(sample);
            }
        }
    }

    pub fn operations(&self) -> &[(&'static str, OperationStats)] {
        &self.operations
    }

    pub fn error_samples(&self) -> &[String] {
        &self.error_samples
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merges_tasks_and_skips_the_warm_up() {
        let live = Live::default();
        let mut first = Recorder::new("deliver");
        first.success(&live, "connect", Duration::from_millis(3), 0, true);
        first.success(&live, "deliver", Duration::from_millis(1), 4096, true);
        first.success(&live, "deliver", Duration::from_millis(9), 4096, false);
        let mut second = Recorder::new("deliver");
        second.success(&live, "deliver", Duration::from_millis(2), 4096, true);
        second.error(&live, "deliver", "550 no".into(), true);
        first.merge(second);
        let (name, deliver) = &first.operations()[1];
        assert_eq!(*name, "deliver");
        assert_eq!(
            (deliver.count, deliver.errors, deliver.octets),
            (2, 1, 8192)
        );
        assert_eq!(
            deliver.latency_us.max(),
            deliver.latency_us.highest_equivalent(2000)
        );
        assert_eq!(first.error_samples(), ["deliver: 550 no"]);
        assert_eq!(live.operations.load(Ordering::Relaxed), 3);
    }
}
