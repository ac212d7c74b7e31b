//! A server's memory, read from /proc: the process and all its descendants, so a server that
//! forks a process per connection (Dovecot's imap) is counted whole, like a threaded one.
//! VmRSS (`/proc/<pid>/status`) counts shared pages once per process; PSS
//! (`/proc/<pid>/smaps_rollup`, readable by the owner or root) divides them among the sharers.
//! Also: raising this process's open-file limit for runs that hold many connections.

use std::collections::HashMap;

use serde::Serialize;

/// Processes a sample will walk; far above any server's process count.
const PROCESSES_MAX: usize = 100_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Sample {
    /// The process and its descendants that were still there to read.
    pub processes: u32,
    pub rss_kib: u64,
    /// None when some process's smaps_rollup could not be read.
    pub pss_kib: Option<u64>,
}

/// Reads the memory of `pid` and every process descended from it.
pub fn sample(pid: u32) -> Result<Sample, String> {
    let tree = process_tree(pid)?;
    let mut sample = Sample {
        processes: 0,
        rss_kib: 0,
        pss_kib: Some(0),
    };
    for member in tree {
        // A process may exit between the listing and the read: skip it.
        let Some(rss_kib) = status_kib(member, "VmRSS:") else {
            continue;
        };
        sample.processes += 1;
        sample.rss_kib += rss_kib;
        let pss = field_kib(&format!("/proc/{member}/smaps_rollup"), "Pss:");
        sample.pss_kib = sample.pss_kib.zip(pss).map(|(total, pss)| total + pss);
    }
    if sample.processes == 0 {
        return Err(format!(
            "process {pid} is not running (or /proc is unreadable)"
        ));
    }
    Ok(sample)
}

/// `pid` first, then its descendants, from the parent field of every `/proc/<n>/stat`.
fn process_tree(pid: u32) -> Result<Vec<u32>, String> {
    let entries =
        std::fs::read_dir("/proc").map_err(|error| format!("cannot list /proc: {error}"))?;
    let mut children: HashMap<u32, Vec<u32>> = HashMap::new();
    for entry in entries.flatten().take(PROCESSES_MAX) {
        let Some(number) = entry
            .file_name()
            .to_str()
            .and_then(|name| name.parse().ok())
        else {
            continue;
        };
        if let Some(parent) = parent_of(number) {
            children.entry(parent).or_default().push(number);
        }
    }
    let mut tree = vec![pid];
    let mut next = 0;
    while next < tree.len() && tree.len() < PROCESSES_MAX {
        if let Some(members) = children.get(&tree[next]) {
            tree.extend(members);
        }
        next += 1;
    }
    Ok(tree)
}

/// The parent pid: the second field after the command name, which is in parentheses and may
/// itself hold spaces and parentheses (proc(5)).
fn parent_of(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_name = &stat[stat.rfind(')')? + 1..];
    after_name.split_ascii_whitespace().nth(1)?.parse().ok()
}

fn status_kib(pid: u32, field: &str) -> Option<u64> {
    field_kib(&format!("/proc/{pid}/status"), field)
}

/// `Field:   1234 kB` in a /proc file.
fn field_kib(path: &str, field: &str) -> Option<u64> {
    let text = std::fs::read_to_string(path).ok()?;
    parse_field_kib(&text, field)
}

fn parse_field_kib(text: &str, field: &str) -> Option<u64> {
    let line = text.lines().find(|line| line.starts_with(field))?;
    line[field.len()..]
        .split_ascii_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Raises the soft limit on open files to the hard limit; returns the limit now in force.
pub fn raise_open_files() -> Result<u64, String> {
    // SAFETY: getrlimit/setrlimit read and write the struct we pass and nothing else.
    let mut limit: libc::rlimit = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return Err(format!(
            "getrlimit(RLIMIT_NOFILE): {}",
            std::io::Error::last_os_error()
        ));
    }
    if limit.rlim_cur < limit.rlim_max {
        let raised = libc::rlimit {
            rlim_cur: limit.rlim_max,
            rlim_max: limit.rlim_max,
        };
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
            limit = raised;
        }
    }
    Ok(limit.rlim_cur as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_process_and_parses_fields() {
        let own = sample(std::process::id()).unwrap();
        assert!(own.processes >= 1);
        assert!(own.rss_kib > 0);
        assert_eq!(
            parse_field_kib("Name:\tx\nVmRSS:\t  5120 kB\n", "VmRSS:"),
            Some(5120)
        );
        assert_eq!(parse_field_kib("VmHWM: 1 kB\n", "VmRSS:"), None);
        assert!(sample(u32::MAX).is_err());
        assert!(raise_open_files().unwrap() > 0);
    }
}
