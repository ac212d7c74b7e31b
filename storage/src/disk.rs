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

/// What a file in a shard's directory holds; each kind is numbered by a sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FileKind {
    /// `seg-<sequence:016x>.log`: a log segment.
    Segment,
    /// `ckpt-<sequence:016x>.chk`: a published index checkpoint.
    Checkpoint,
    /// `ckpt-<sequence:016x>.tmp`: a checkpoint being written; never read, removed at open.
    CheckpointTemporary,
    /// `seg-<sequence:016x>.cmp`: a segment being rewritten by compaction; removed at open.
    SegmentCompacting,
}

impl FileKind {
    fn affixes(self) -> (&'static str, &'static str) {
        match self {
            FileKind::Segment => ("seg-", ".log"),
            FileKind::Checkpoint => ("ckpt-", ".chk"),
            FileKind::CheckpointTemporary => ("ckpt-", ".tmp"),
            FileKind::SegmentCompacting => ("seg-", ".cmp"),
        }
    }
}

/// A file in a shard's directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FileId {
    pub kind: FileKind,
    pub sequence: u64,
}

impl FileId {
    pub fn segment(sequence: u64) -> Self {
        Self {
            kind: FileKind::Segment,
            sequence,
        }
    }
    pub fn checkpoint(sequence: u64) -> Self {
        Self {
            kind: FileKind::Checkpoint,
            sequence,
        }
    }
    pub fn checkpoint_temporary(sequence: u64) -> Self {
        Self {
            kind: FileKind::CheckpointTemporary,
            sequence,
        }
    }

    /// `<prefix><sequence:016x><suffix>`.
    pub fn file_name(&self) -> String {
        let (prefix, suffix) = self.kind.affixes();
        format!("{prefix}{:016x}{suffix}", self.sequence)
    }

    /// The file a name stands for, if it is one of ours.
    pub fn parse(name: &str) -> Option<Self> {
        [
            FileKind::Segment,
            FileKind::Checkpoint,
            FileKind::CheckpointTemporary,
            FileKind::SegmentCompacting,
        ]
        .into_iter()
        .find_map(|kind| {
            let (prefix, suffix) = kind.affixes();
            let digits = name.strip_prefix(prefix)?.strip_suffix(suffix)?;
            if digits.len() != 16 || !digits.bytes().all(|byte| byte.is_ascii_hexdigit()) {
                return None;
            }
            let sequence = u64::from_str_radix(digits, 16).ok()?;
            Some(Self { kind, sequence })
        })
    }
}

/// One shard's directory of segment and checkpoint files.
#[allow(async_fn_in_trait)]
pub trait Disk {
    type File: SegmentFile;
    /// Sequences of the files of `kind` present, ascending.
    async fn list(&self, kind: FileKind) -> Result<Vec<u64>, DiskError>;
    /// Creates (or truncates) a file.
    async fn create_file(&self, id: FileId) -> Result<Self::File, DiskError>;
    async fn open_file(&self, id: FileId) -> Result<Self::File, DiskError>;
    /// Atomically replaces `to` by `from`; durable after `sync_directory`.
    async fn rename(&self, from: FileId, to: FileId) -> Result<(), DiskError>;
    /// Unlinks a file; durable after `sync_directory`.
    async fn remove(&self, id: FileId) -> Result<(), DiskError>;
    /// Makes file creations, renames and removals in the directory durable.
    async fn sync_directory(&self) -> Result<(), DiskError>;

    /// Sequences of the segment files present, ascending.
    async fn list_sequences(&self) -> Result<Vec<u64>, DiskError> {
        self.list(FileKind::Segment).await
    }
    /// Creates (or truncates) the segment file for `sequence`.
    async fn create(&self, sequence: u64) -> Result<Self::File, DiskError> {
        self.create_file(FileId::segment(sequence)).await
    }
    async fn open(&self, sequence: u64) -> Result<Self::File, DiskError> {
        self.open_file(FileId::segment(sequence)).await
    }
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
