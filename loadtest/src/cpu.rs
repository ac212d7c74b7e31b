//! The generator's own CPU use (getrusage) and pinning (sched_setaffinity), so that a saturated
//! generator is visible and can be kept off the server's cores.

use std::time::Duration;

/// CPUs a set can name (glibc's `CPU_SETSIZE`).
pub const CPUS_MAX: usize = 1024;

/// User and system CPU time of the whole process so far.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Usage {
    pub user: Duration,
    pub system: Duration,
}

impl Usage {
    pub fn now() -> Usage {
        // SAFETY: getrusage writes into the zeroed struct we pass and reads nothing else.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        let result = unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
        assert_eq!(result, 0, "getrusage(RUSAGE_SELF) cannot fail");
        let time = |value: libc::timeval| {
            Duration::from_secs(value.tv_sec as u64) + Duration::from_micros(value.tv_usec as u64)
        };
        Usage {
            user: time(usage.ru_utime),
            system: time(usage.ru_stime),
        }
    }

    /// CPU used between `earlier` and `self`.
    pub fn since(&self, earlier: Usage) -> Usage {
        Usage {
            user: self.user.saturating_sub(earlier.user),
            system: self.system.saturating_sub(earlier.system),
        }
    }

    /// CPU time over wall time: 1.0 is one core fully busy.
    pub fn utilisation(&self, wall: Duration) -> f64 {
        if wall.is_zero() {
            return 0.0;
        }
        (self.user + self.system).as_secs_f64() / wall.as_secs_f64()
    }
}

/// Pins the calling thread, and so every thread it starts afterwards, to `cpus`.
pub fn pin(cpus: &[usize]) -> Result<(), String> {
    // SAFETY: cpu_set_t is plain data; CPU_SET is given indexes below CPU_SETSIZE, checked here.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    for &cpu in cpus {
        if cpu >= CPUS_MAX {
            return Err(format!("CPU {cpu} is beyond {CPUS_MAX}"));
        }
        unsafe { libc::CPU_SET(cpu, &mut set) };
    }
    let result = unsafe { libc::sched_setaffinity(0, std::mem::size_of_val(&set), &set) };
    if result != 0 {
        return Err(format!(
            "cannot pin to CPUs {cpus:?}: {}",
            std::io::Error::last_os_error()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_grows_with_work() {
        let before = Usage::now();
        let mut value = 1u64;
        let started = std::time::Instant::now();
        while started.elapsed() < Duration::from_millis(50) {
            value = std::hint::black_box(value.wrapping_mul(31).wrapping_add(7));
        }
        let used = Usage::now().since(before);
        assert!(
            used.user + used.system >= Duration::from_millis(20),
            "{used:?}"
        );
        assert!(used.utilisation(started.elapsed()) > 0.3);
    }
}
