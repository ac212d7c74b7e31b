//! Failed-login throttling per client IP: each failure doubles the delay before the next answer,
//! and past `failures_per_ip_max` failures inside `failure_window` the IP is refused outright
//! until the window has passed. A success clears the IP's record.
//!
//! One throttle lives in each shard (no locks); the kernel spreads one IP's connections over the
//! shards, so the effective ceiling is `failures_per_ip_max` per shard.

use crate::config::AuthConfig;
use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// IPs tracked at once per shard; the stalest record is dropped past this.
pub const TRACKED_IPS_MAX: usize = 65_536;

#[derive(Debug, Clone, Copy)]
struct Record {
    failures: u32,
    window_start: Instant,
}

#[derive(Debug)]
pub struct LoginThrottle {
    config: AuthConfig,
    records: HashMap<IpAddr, Record>,
    /// IPs in the order their windows started; entries whose record has since restarted or been
    /// removed are skipped when popped, so eviction is amortised O(1).
    order: VecDeque<(IpAddr, Instant)>,
}

/// What to do before answering an authentication attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Go ahead (after the delay, if any).
    Proceed { delay: Duration },
    /// Too many failures: refuse without checking the password.
    Refuse,
}

impl LoginThrottle {
    pub fn new(config: AuthConfig) -> Self {
        LoginThrottle {
            config,
            records: HashMap::new(),
            order: VecDeque::new(),
        }
    }

    pub fn check(&mut self, ip: IpAddr, now: Instant) -> Verdict {
        let Some(record) = self.current(ip, now) else {
            return Verdict::Proceed {
                delay: Duration::ZERO,
            };
        };
        if record.failures >= self.config.failures_per_ip_max {
            return Verdict::Refuse;
        }
        Verdict::Proceed {
            delay: self.delay_after(record.failures),
        }
    }

    /// Records a failure and returns the delay to wait before answering it.
    pub fn failed(&mut self, ip: IpAddr, now: Instant) -> Duration {
        if self.records.len() >= TRACKED_IPS_MAX && !self.records.contains_key(&ip) {
            self.evict_oldest();
        }
        let window = self.config.failure_window;
        let record = self.records.entry(ip).or_insert(Record {
            failures: 0,
            window_start: now,
        });
        let mut started = record.failures == 0;
        if now.duration_since(record.window_start) >= window {
            *record = Record {
                failures: 0,
                window_start: now,
            };
            started = true;
        }
        record.failures = record.failures.saturating_add(1);
        let (failures, window_start) = (record.failures, record.window_start);
        if started {
            self.remember_start(ip, window_start);
        }
        self.delay_after(failures)
    }

    fn remember_start(&mut self, ip: IpAddr, window_start: Instant) {
        self.order.push_back((ip, window_start));
        if self.order.len() > 2 * TRACKED_IPS_MAX {
            let records = &self.records;
            self.order
                .retain(|(ip, start)| records.get(ip).is_some_and(|r| r.window_start == *start));
        }
    }

    pub fn succeeded(&mut self, ip: IpAddr) {
        self.records.remove(&ip);
    }

    fn current(&mut self, ip: IpAddr, now: Instant) -> Option<Record> {
        let record = *self.records.get(&ip)?;
        if now.duration_since(record.window_start) >= self.config.failure_window {
            self.records.remove(&ip);
            return None;
        }
        Some(record)
    }

    fn delay_after(&self, failures: u32) -> Duration {
        if failures == 0 {
            return Duration::ZERO;
        }
        let doublings = (failures - 1).min(20);
        self.config
            .failure_delay_base
            .saturating_mul(1 << doublings)
            .min(self.config.failure_delay_max)
    }

    fn evict_oldest(&mut self) {
        while let Some((ip, started)) = self.order.pop_front() {
            if self
                .records
                .get(&ip)
                .is_some_and(|r| r.window_start == started)
            {
                self.records.remove(&ip);
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> AuthConfig {
        AuthConfig {
            plaintext_on_loopback: true,
            failures_per_ip_max: 4,
            failure_window: Duration::from_secs(60),
            failure_delay_base: Duration::from_millis(100),
            failure_delay_max: Duration::from_millis(350),
            ..AuthConfig::default()
        }
    }

    #[test]
    fn delay_doubles_up_to_the_maximum_then_refuses() {
        let mut throttle = LoginThrottle::new(config());
        let ip: IpAddr = "192.0.2.1".parse().expect("ip");
        let t = Instant::now();
        assert_eq!(
            throttle.check(ip, t),
            Verdict::Proceed {
                delay: Duration::ZERO
            }
        );
        assert_eq!(throttle.failed(ip, t), Duration::from_millis(100));
        assert_eq!(throttle.failed(ip, t), Duration::from_millis(200));
        assert_eq!(throttle.failed(ip, t), Duration::from_millis(350));
        assert_eq!(
            throttle.check(ip, t),
            Verdict::Proceed {
                delay: Duration::from_millis(350)
            }
        );
        throttle.failed(ip, t);
        assert_eq!(throttle.check(ip, t), Verdict::Refuse);
        // Other IPs are not affected.
        let other: IpAddr = "192.0.2.2".parse().expect("ip");
        assert_eq!(
            throttle.check(other, t),
            Verdict::Proceed {
                delay: Duration::ZERO
            }
        );
        // The window passes.
        let later = t + Duration::from_secs(61);
        assert_eq!(
            throttle.check(ip, later),
            Verdict::Proceed {
                delay: Duration::ZERO
            }
        );
    }

    #[test]
    fn success_clears_the_record() {
        let mut throttle = LoginThrottle::new(config());
        let ip: IpAddr = "2001:db8::1".parse().expect("ip");
        let t = Instant::now();
        throttle.failed(ip, t);
        throttle.succeeded(ip);
        assert_eq!(
            throttle.check(ip, t),
            Verdict::Proceed {
                delay: Duration::ZERO
            }
        );
    }

    #[test]
    fn tracked_ips_are_bounded() {
        let mut throttle = LoginThrottle::new(config());
        let t = Instant::now();
        for i in 0..(TRACKED_IPS_MAX as u32 + 10) {
            throttle.failed(IpAddr::from(i.to_be_bytes()), t);
        }
        assert!(throttle.records.len() <= TRACKED_IPS_MAX);
        assert!(throttle.order.len() <= TRACKED_IPS_MAX + 10);
        // The first IPs were the ones dropped.
        assert!(
            !throttle
                .records
                .contains_key(&IpAddr::from(0u32.to_be_bytes()))
        );
    }
}
