//! Start-up checks that turn an obscure failure later into a clear message now.

use std::io;
use std::path::{Path, PathBuf};

/// Memory each shard's io_uring registers for its buffers (glommio `io_memory`).
pub const IO_MEMORY_OCTETS_PER_SHARD: usize = 1 << 20;
/// glommio registers that memory with each of its three rings (main, latency, poll), and the
/// kernel counts every registration against the locked-memory limit.
pub const RINGS_PER_SHARD: usize = 3;

#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error(
        "io_uring is not available ({reason}); Postern needs it: use Linux 5.8 or newer, allow the \
         io_uring_setup/io_uring_enter/io_uring_register syscalls in any seccomp profile (containers \
         often block them), and set the sysctl kernel.io_uring_disabled=0"
    )]
    IoUring { reason: String },
    #[error(
        "the locked-memory limit is {limit_kib} KiB but {shards} shards need {needed_kib} KiB; \
         raise it with `ulimit -l {needed_kib}` (or `ulimit -l unlimited`), or LimitMEMLOCK= in the \
         systemd unit (deploy/postern.service sets it), or run fewer shards with --shards"
    )]
    MemoryLock {
        limit_kib: u64,
        needed_kib: u64,
        shards: usize,
    },
    #[error("the data dir {path} is not usable: {source}")]
    DataDir { path: PathBuf, source: io::Error },
    #[error(
        "the data dir {path} is in use by another postern process (serve or check); \
         stop it first"
    )]
    DataDirInUse { path: PathBuf },
}

/// Exclusive use of a data dir: `serve` holds it while running, `check` while checking. Two
/// servers on one data dir would both append to its logs.
pub fn lock_data_dir(path: &Path) -> Result<std::fs::File, CheckError> {
    use std::os::fd::AsRawFd;
    let fail = |source| CheckError::DataDir {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path.join("postern.lock"))
        .map_err(fail)?;
    // SAFETY: flock on a descriptor we own; the lock lives as long as the returned file.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
        let error = io::Error::last_os_error();
        if error.kind() == io::ErrorKind::WouldBlock {
            return Err(CheckError::DataDirInUse {
                path: path.to_path_buf(),
            });
        }
        return Err(fail(error));
    }
    Ok(file)
}

/// Creates the data dir if needed (mode 0700) and proves it writable.
pub fn data_dir(path: &Path) -> Result<(), CheckError> {
    let fail = |source| CheckError::DataDir {
        path: path.to_path_buf(),
        source,
    };
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)
        .map_err(fail)?;
    let probe = path.join(".write-probe");
    std::fs::write(&probe, b"postern").map_err(fail)?;
    std::fs::remove_file(&probe).map_err(fail)?;
    Ok(())
}

use std::os::unix::fs::DirBuilderExt;

/// Sets up (and tears down) a one-entry ring to see whether the kernel lets us use io_uring.
pub fn io_uring() -> Result<(), CheckError> {
    // The kernel only reads `params` (zeroed means defaults) and fills it in.
    let mut params = [0u8; 120];
    // SAFETY: io_uring_setup takes an entry count and a pointer to a writable 120-byte
    // io_uring_params struct, which `params` is; it returns a new fd or -1.
    let fd = unsafe { libc::syscall(libc::SYS_io_uring_setup, 1u32, params.as_mut_ptr()) };
    if fd >= 0 {
        // SAFETY: fd is a descriptor we own and close exactly once.
        unsafe { libc::close(fd as libc::c_int) };
        return Ok(());
    }
    let error = io::Error::last_os_error();
    let sysctl = std::fs::read_to_string("/proc/sys/kernel/io_uring_disabled")
        .map(|s| s.trim().to_string())
        .unwrap_or_default();
    let reason = match error.raw_os_error() {
        Some(libc::ENOSYS) => "the kernel has no io_uring (too old, or built without it)".into(),
        Some(libc::EPERM) if !sysctl.is_empty() && sysctl != "0" => {
            format!("kernel.io_uring_disabled is {sysctl}")
        }
        Some(libc::EPERM) => "io_uring_setup was refused (a seccomp filter?)".into(),
        _ => error.to_string(),
    };
    Err(CheckError::IoUring { reason })
}

/// Each shard's rings pin `IO_MEMORY_OCTETS_PER_SHARD` each; without CAP_IPC_LOCK that counts
/// against RLIMIT_MEMLOCK (the kernel sums it over all of the user's processes). Too little makes
/// glommio fall back to unregistered buffers, slower, so it is refused here with the number.
pub fn memory_lock(shards: usize) -> Result<(), CheckError> {
    let needed = (shards * RINGS_PER_SHARD * IO_MEMORY_OCTETS_PER_SHARD) as u64 + (1 << 20);
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one rlimit struct, which `limit` is.
    if unsafe { libc::getrlimit(libc::RLIMIT_MEMLOCK, &mut limit) } != 0 {
        return Ok(());
    }
    if limit.rlim_cur == libc::RLIM_INFINITY || limit.rlim_cur >= needed || has_ipc_lock() {
        return Ok(());
    }
    Err(CheckError::MemoryLock {
        limit_kib: limit.rlim_cur / 1024,
        needed_kib: needed.div_ceil(1024),
        shards,
    })
}

/// CAP_IPC_LOCK in the effective set, read from /proc so no capability crate is needed.
fn has_ipc_lock() -> bool {
    const CAP_IPC_LOCK: u32 = 14;
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return false;
    };
    status
        .lines()
        .find_map(|line| line.strip_prefix("CapEff:"))
        .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
        .is_some_and(|caps| caps & (1 << CAP_IPC_LOCK) != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_dir_is_created_and_unwritable_one_named() {
        let dir = tempfile::tempdir().expect("tempdir");
        let inner = dir.path().join("a/b");
        data_dir(&inner).expect("created");
        assert!(inner.is_dir());
        let file = dir.path().join("file");
        std::fs::write(&file, b"x").expect("write");
        let err = data_dir(&file.join("sub")).unwrap_err().to_string();
        assert!(err.contains("file/sub"), "{err}");
    }

    #[test]
    fn io_uring_is_usable_on_the_test_machine() {
        io_uring().expect("io_uring available");
    }
}
