//! The file operations the log needs, behind a trait so that a simulated disk with fault
//! injection (`sim.rs`) can stand in for real files (`files.rs`).
//!
//! `async fn` in these traits is deliberate: everything runs on one shard's executor, so the
//! futures need not be `Send`.

use std::ops::Deref;

/// An operating error of the disk. Never retried as if it had worked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DiskError {
    /// ENOSPC: protocols answer SMTP 452 4.3.1, IMAP NO [OVERQUOTA], POP3 -ERR.
    #[error("no space left on device during {operation}")]
    NoSpace { operation: &'static str },
    #[error("I/O error during {operation}: {detail}")]
    Io {
        operation: &'static str,
        detail: String,
    },
}

impl DiskError {
    pub fn from_io(operation: &'static str, error: &std::io::Error) -> Self {
        const ENOSPC: i32 = 28;
        if error.kind() == std::io::ErrorKind::StorageFull || error.raw_os_error() == Some(ENOSPC) {
            DiskError::NoSpace { operation }
        } else {
            DiskError::Io {
                operation,
                detail: error.to_string(),
            }
        }
    }
}

/// One shard's directory of segment files.
#[allow(async_fn_in_trait)]
pub trait Disk {
    type File: SegmentFile;
    /// Sequences of the segment files present, ascending.
    async fn list_sequences(&self) -> Result<Vec<u64>, DiskError>;
    /// Creates (or truncates) the segment file for `sequence`.
    async fn create(&self, sequence: u64) -> Result<Self::File, DiskError>;
    async fn open(&self, sequence: u64) -> Result<Self::File, DiskError>;
    /// Makes file creations in the directory durable.
    async fn sync_directory(&self) -> Result<(), DiskError>;
}

/// One segment file, read and written at explicit offsets.
#[allow(async_fn_in_trait)]
pub trait SegmentFile {
    /// What a read returns: the runtime's own buffer where it has one, to avoid a copy.
    type Bytes: Deref<Target = [u8]>;
    async fn write_at(&self, offset: u64, bytes: Vec<u8>) -> Result<(), DiskError>;
    /// Reads up to `octets` octets; fewer at the end of the file.
    async fn read_at(&self, offset: u64, octets: usize) -> Result<Self::Bytes, DiskError>;
    async fn sync_data(&self) -> Result<(), DiskError>;
    /// Reserves space up to `octets` (zero-filled), so appends do not allocate.
    async fn preallocate(&self, octets: u64) -> Result<(), DiskError>;
    async fn octets(&self) -> Result<u64, DiskError>;
}
