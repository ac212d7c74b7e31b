//! When each operation starts.
//!
//! Closed loop: every connection starts its next operation when the previous one ends, so the
//! server sets the pace. Open loop: operation `k` is due at `start + k / rate` whatever happened
//! before; its latency is measured from that intended start, so a stall that delays later
//! operations shows in their latency instead of vanishing (no coordinated omission). Connections
//! are then a pool that takes the next due operation when free.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// One operation a task may run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot {
    /// When the operation is due; its latency counts from here.
    pub intended: Instant,
    /// False during the warm-up: run it, do not record it.
    pub measured: bool,
}

#[derive(Debug)]
pub struct Plan {
    /// `None` for the closed loop.
    period_secs: Option<f64>,
    start: Instant,
    measure_start: Instant,
    end: Option<Instant>,
    operations_max: Option<u64>,
    next_index: AtomicU64,
    measured_count: AtomicU64,
}

impl Plan {
    /// `rate` in operations per second (open loop) or `None` (closed loop). The run ends at
    /// `start + warmup + duration` or after `operations` measured operations, whichever is first.
    pub fn new(
        rate: Option<f64>,
        start: Instant,
        warmup: Duration,
        duration: Option<Duration>,
        operations: Option<u64>,
    ) -> Plan {
        assert!(duration.is_some() || operations.is_some(), "a run must end");
        if let Some(rate) = rate {
            assert!(rate.is_finite() && rate > 0.0, "rate {rate}");
        }
        let measure_start = start + warmup;
        Plan {
            period_secs: rate.map(|rate| 1.0 / rate),
            start,
            measure_start,
            end: duration.map(|duration| measure_start + duration),
            operations_max: operations,
            next_index: AtomicU64::new(0),
            measured_count: AtomicU64::new(0),
        }
    }

    pub fn is_open_loop(&self) -> bool {
        self.period_secs.is_some()
    }

    pub fn measure_start(&self) -> Instant {
        self.measure_start
    }

    pub fn end(&self) -> Option<Instant> {
        self.end
    }

    /// Open loop: when operation `index` is due. Computed from the start each time, so rounding
    /// never accumulates into drift.
    pub fn intended_start(&self, index: u64) -> Instant {
        let period_secs = self
            .period_secs
            .expect("intended starts exist in the open loop");
        self.start + Duration::from_secs_f64(index as f64 * period_secs)
    }

    /// The next operation, or `None` when the run is over. `now` is the caller's clock (the
    /// closed loop starts its operation now).
    pub fn next_slot(&self, now: Instant) -> Option<Slot> {
        let intended = if self.period_secs.is_some() {
            self.intended_start(self.next_index.fetch_add(1, Ordering::Relaxed))
        } else {
            now
        };
        if self.end.is_some_and(|end| intended >= end) {
            return None;
        }
        let measured = intended >= self.measure_start;
        let over =
            |operations_max| self.measured_count.fetch_add(1, Ordering::Relaxed) >= operations_max;
        if measured && self.operations_max.is_some_and(over) {
            return None;
        }
        Some(Slot { intended, measured })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_loop_operations_are_due_on_a_fixed_timeline() {
        let start = Instant::now();
        let plan = Plan::new(
            Some(100.0),
            start,
            Duration::from_millis(20),
            Some(Duration::from_millis(100)),
            None,
        );
        assert!(plan.is_open_loop());
        // The timeline does not depend on when the slots are taken.
        let late = start + Duration::from_secs(5);
        let slots: Vec<Slot> = std::iter::from_fn(|| plan.next_slot(late)).collect();
        assert_eq!(
            slots.len(),
            12,
            "2 warm-up + 10 measured in 120 ms at 100/s"
        );
        for (index, slot) in slots.iter().enumerate() {
            let offset = slot.intended - start;
            let expected = Duration::from_millis(10 * index as u64);
            assert!(
                offset.abs_diff(expected) < Duration::from_micros(1),
                "{offset:?}"
            );
            assert_eq!(slot.measured, index >= 2);
        }
        assert_eq!(
            plan.intended_start(1_000_000) - start,
            Duration::from_secs(10_000)
        );
    }

    #[test]
    fn operation_count_ends_the_run_after_the_warm_up() {
        let start = Instant::now();
        let plan = Plan::new(Some(1000.0), start, Duration::from_millis(5), None, Some(3));
        let slots: Vec<Slot> = std::iter::from_fn(|| plan.next_slot(start)).collect();
        assert_eq!(slots.iter().filter(|slot| !slot.measured).count(), 5);
        assert_eq!(slots.iter().filter(|slot| slot.measured).count(), 3);
    }

    #[test]
    fn closed_loop_starts_now_until_the_end() {
        let start = Instant::now();
        let plan = Plan::new(
            None,
            start,
            Duration::ZERO,
            Some(Duration::from_secs(1)),
            None,
        );
        let now = start + Duration::from_millis(300);
        assert_eq!(
            plan.next_slot(now),
            Some(Slot {
                intended: now,
                measured: true
            })
        );
        assert_eq!(plan.next_slot(start + Duration::from_secs(1)), None);
    }
}
