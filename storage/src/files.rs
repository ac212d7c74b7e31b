//! Real segment files on glommio: buffered files with explicit `fdatasync`.
//!
//! Buffered I/O was chosen first because it is the simpler correct option: reads of freshly
//! written data come from the page cache, and no partial tail block has to be kept and
//! rewritten. O_DIRECT (`DmaFile`) must be benchmarked against it (docs/STORAGE.md).

use crate::disk::{Disk, DiskError, FileId, FileKind, SegmentFile};
use glommio::io::{BufferedFile, Directory, OpenOptions, ReadResult};
use std::path::{Path, PathBuf};

/// `<data>/shard-<k>/`.
pub struct FileDisk {
    directory: PathBuf,
}

impl FileDisk {
    /// Uses (and creates if needed) the segment directory of `shard` under `data_directory`.
    pub fn new(data_directory: &Path, shard: u32) -> Result<Self, DiskError> {
        // glommio opens directories by absolute path only (a relative one fails with EBADF).
        let data_directory = std::path::absolute(data_directory)
            .map_err(|error| DiskError::from_io("resolve data directory", &error))?;
        let directory = data_directory.join(format!("shard-{shard}"));
        std::fs::create_dir_all(&directory)
            .map_err(|error| DiskError::from_io("create shard directory", &error))?;
        Ok(Self { directory })
    }

    pub fn directory(&self) -> &Path {
        &self.directory
    }

    fn path(&self, id: FileId) -> PathBuf {
        self.directory.join(id.file_name())
    }
}

fn failed<T>(operation: &'static str) -> impl FnOnce(glommio::GlommioError<T>) -> DiskError {
    move |error| {
        let error: std::io::Error = error.into();
        DiskError::from_io(operation, &error)
    }
}

impl Disk for FileDisk {
    type File = RealFile;

    async fn list(&self, kind: FileKind) -> Result<Vec<u64>, DiskError> {
        let entries = std::fs::read_dir(&self.directory)
            .map_err(|error| DiskError::from_io("list directory", &error))?;
        let mut sequences = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|error| DiskError::from_io("list directory", &error))?;
            if let Some(id) = entry.file_name().to_str().and_then(FileId::parse)
                && id.kind == kind
            {
                sequences.push(id.sequence);
            }
        }
        sequences.sort_unstable();
        Ok(sequences)
    }

    async fn create_file(&self, id: FileId) -> Result<RealFile, DiskError> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .buffered_open(self.path(id))
            .await
            .map_err(failed("create file"))?;
        Ok(RealFile { file })
    }

    async fn open_file(&self, id: FileId) -> Result<RealFile, DiskError> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .buffered_open(self.path(id))
            .await
            .map_err(failed("open file"))?;
        Ok(RealFile { file })
    }

    async fn rename(&self, from: FileId, to: FileId) -> Result<(), DiskError> {
        glommio::io::rename(self.path(from), self.path(to))
            .await
            .map_err(failed("rename"))
    }

    async fn remove(&self, id: FileId) -> Result<(), DiskError> {
        glommio::io::remove(self.path(id))
            .await
            .map_err(failed("remove"))
    }

    async fn sync_directory(&self) -> Result<(), DiskError> {
        let directory = Directory::open(&self.directory)
            .await
            .map_err(failed("open directory"))?;
        directory.sync().await.map_err(failed("sync directory"))?;
        directory.close().await.map_err(failed("close directory"))
    }
}

pub struct RealFile {
    file: BufferedFile,
}

impl SegmentFile for RealFile {
    type Bytes = ReadResult;

    async fn write_at(&self, offset: u64, bytes: Vec<u8>) -> Result<(), DiskError> {
        let expected = bytes.len();
        let written = self
            .file
            .write_at(bytes, offset)
            .await
            .map_err(failed("write"))?;
        if written != expected {
            // The buffer is gone with the call; a short write on a regular file means the
            // device is full or failing, so it is reported, never completed by guesswork.
            return Err(DiskError::Io {
                operation: "write",
                detail: format!("short write: {written} of {expected} octets"),
            });
        }
        Ok(())
    }

    async fn read_at(&self, offset: u64, octets: usize) -> Result<ReadResult, DiskError> {
        self.file
            .read_at(offset, octets)
            .await
            .map_err(failed("read"))
    }

    async fn sync_data(&self) -> Result<(), DiskError> {
        self.file.fdatasync().await.map_err(failed("fdatasync"))
    }

    async fn preallocate(&self, octets: u64) -> Result<(), DiskError> {
        self.file
            .pre_allocate(octets, false)
            .await
            .map_err(failed("preallocate"))
    }

    async fn octets(&self) -> Result<u64, DiskError> {
        self.file.file_size().await.map_err(failed("stat"))
    }
}
