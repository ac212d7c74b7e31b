//! `directory.json` in the data dir: reading, atomic replacement under a lock, and the
//! fingerprint the server polls to reload.
//!
//! Writers (the management commands) take an exclusive `flock` on `directory.lock`, re-read
//! the file, change it, write `directory.json.tmp`, fsync it, rename it over `directory.json`
//! and fsync the data dir. Readers (the server's shards) take no lock: a rename is atomic, so
//! they see the old file or the new one, never a mix.

use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::directory::{Directory, FORMAT};
use super::error::DirectoryError;

pub const DIRECTORY_FILE: &str = "directory.json";
pub const LOCK_FILE: &str = "directory.lock";
const TEMPORARY_FILE: &str = "directory.json.tmp";
/// About three million accounts; a bigger file is more likely a mistake than a directory.
pub const DIRECTORY_FILE_OCTETS_MAX: u64 = 1 << 30;
/// The data dir holds mail and password hashes: owner only.
const DATA_DIR_MODE: u32 = 0o700;
const FILE_MODE: u32 = 0o600;

/// Identifies one version of `directory.json`. A writer renames a new file into place, which
/// changes the inode, so a change is seen even when size and mtime happen to match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fingerprint {
    device: u64,
    inode: u64,
    size_octets: u64,
    modified_ns: i128,
}

impl Fingerprint {
    fn of(metadata: &fs::Metadata) -> Self {
        Fingerprint {
            device: metadata.dev(),
            inode: metadata.ino(),
            size_octets: metadata.size(),
            modified_ns: i128::from(metadata.mtime()) * 1_000_000_000
                + i128::from(metadata.mtime_nsec()),
        }
    }
}

/// The directory file of one data dir.
#[derive(Debug, Clone)]
pub struct DirectoryStore {
    data_dir: PathBuf,
    file: PathBuf,
    temporary: PathBuf,
    lock: PathBuf,
}

impl DirectoryStore {
    /// Creates the data dir (mode 0700) and an empty directory file if they are missing.
    pub fn open(data_dir: impl Into<PathBuf>) -> Result<Self, DirectoryError> {
        let data_dir = data_dir.into();
        let store = DirectoryStore {
            file: data_dir.join(DIRECTORY_FILE),
            temporary: data_dir.join(TEMPORARY_FILE),
            lock: data_dir.join(LOCK_FILE),
            data_dir,
        };
        DirBuilder::new()
            .recursive(true)
            .mode(DATA_DIR_MODE)
            .create(&store.data_dir)
            .map_err(|e| DirectoryError::io("create the data dir", &store.data_dir, e))?;
        let exists =
            fs::exists(&store.file).map_err(|e| DirectoryError::io("look for", &store.file, e))?;
        if !exists {
            // `modify` writes the file when it did not exist, even if `f` changes nothing.
            store.modify(|_| Ok(()))?;
        }
        Ok(store)
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The path of `directory.json`.
    pub fn path(&self) -> &Path {
        &self.file
    }

    pub fn load(&self) -> Result<Directory, DirectoryError> {
        self.load_with_fingerprint().map(|(directory, _)| directory)
    }

    /// The directory and the fingerprint of the very file it was read from (fstat of the open
    /// file, so a rename in between cannot pair a new fingerprint with old contents).
    pub fn load_with_fingerprint(&self) -> Result<(Directory, Fingerprint), DirectoryError> {
        let file = File::open(&self.file).map_err(|e| DirectoryError::io("open", &self.file, e))?;
        let (text, fingerprint) = self.read(file)?;
        Ok((self.parse(&text)?, fingerprint))
    }

    /// Cheap (one stat); the server polls it and calls `load` when it differs.
    pub fn fingerprint(&self) -> Result<Fingerprint, DirectoryError> {
        let metadata =
            fs::metadata(&self.file).map_err(|e| DirectoryError::io("stat", &self.file, e))?;
        Ok(Fingerprint::of(&metadata))
    }

    /// Applies `f` to the current directory under the writers' lock and makes the result
    /// durable before returning. When `f` fails, or changes nothing, the file is not written.
    /// Blocks while another writer holds the lock.
    pub fn modify<T>(
        &self,
        f: impl FnOnce(&mut Directory) -> Result<T, DirectoryError>,
    ) -> Result<T, DirectoryError> {
        let _lock = self.lock()?;
        let current = match File::open(&self.file) {
            Ok(file) => Some(self.parse(&self.read(file)?.0)?),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(DirectoryError::io("open", &self.file, e)),
        };
        let mut directory = current.clone().unwrap_or_default();
        let value = f(&mut directory)?;
        if current.as_ref() != Some(&directory) {
            self.write(&directory)?;
        }
        Ok(value)
    }

    /// Held until the returned file is dropped (closing the descriptor releases the lock).
    fn lock(&self) -> Result<File, DirectoryError> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(FILE_MODE)
            .open(&self.lock)
            .map_err(|e| DirectoryError::io("open the lock file", &self.lock, e))?;
        loop {
            // SAFETY: the descriptor belongs to `file`, which outlives this call.
            let result = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) };
            if result == 0 {
                return Ok(file);
            }
            let error = io::Error::last_os_error();
            if error.kind() != io::ErrorKind::Interrupted {
                return Err(DirectoryError::io("lock", &self.lock, error));
            }
        }
    }

    fn read(&self, file: File) -> Result<(String, Fingerprint), DirectoryError> {
        let metadata = file
            .metadata()
            .map_err(|e| DirectoryError::io("stat", &self.file, e))?;
        let too_large = || DirectoryError::TooLarge {
            path: self.file.clone(),
            octets_max: DIRECTORY_FILE_OCTETS_MAX,
        };
        if metadata.size() > DIRECTORY_FILE_OCTETS_MAX {
            return Err(too_large());
        }
        let mut text = String::new();
        file.take(DIRECTORY_FILE_OCTETS_MAX + 1)
            .read_to_string(&mut text)
            .map_err(|e| DirectoryError::io("read", &self.file, e))?;
        if text.len() as u64 > DIRECTORY_FILE_OCTETS_MAX {
            return Err(too_large());
        }
        Ok((text, Fingerprint::of(&metadata)))
    }

    fn parse(&self, text: &str) -> Result<Directory, DirectoryError> {
        /// Read first, so a file of another format is refused by its number rather than by
        /// whatever field it happens to lack.
        #[derive(Deserialize)]
        struct Probe {
            format: Option<u64>,
        }
        let parse_error = |e: serde_json::Error| {
            // serde_json's message ends with the position, which the error shows in front.
            let message = e.to_string();
            let position = format!(" at line {} column {}", e.line(), e.column());
            let message = message
                .strip_suffix(&position)
                .unwrap_or(&message)
                .to_owned();
            DirectoryError::Parse {
                path: self.file.clone(),
                line: e.line(),
                column: e.column(),
                message,
            }
        };
        let probe: Probe = serde_json::from_str(text).map_err(parse_error)?;
        match probe.format {
            None => {
                return Err(DirectoryError::FormatMissing {
                    path: self.file.clone(),
                });
            }
            Some(FORMAT) => {}
            Some(found) => {
                return Err(DirectoryError::FormatUnsupported {
                    path: self.file.clone(),
                    found,
                });
            }
        }
        let directory: Directory = serde_json::from_str(text).map_err(parse_error)?;
        directory
            .check_form()
            .map_err(|reason| DirectoryError::Inconsistent {
                path: self.file.clone(),
                reason,
            })?;
        Ok(directory)
    }

    fn write(&self, directory: &Directory) -> Result<(), DirectoryError> {
        let mut json = serde_json::to_vec_pretty(directory).expect("a directory always serialises");
        json.push(b'\n');
        let mut file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(FILE_MODE)
            .open(&self.temporary)
            .map_err(|e| DirectoryError::io("create", &self.temporary, e))?;
        file.write_all(&json)
            .map_err(|e| DirectoryError::io("write", &self.temporary, e))?;
        // A failed fsync is final: the data may be lost, so the change is reported as failed.
        file.sync_all()
            .map_err(|e| DirectoryError::io("fsync", &self.temporary, e))?;
        drop(file);
        fs::rename(&self.temporary, &self.file)
            .map_err(|e| DirectoryError::io("rename into place", &self.file, e))?;
        File::open(&self.data_dir)
            .and_then(|dir| dir.sync_all())
            .map_err(|e| DirectoryError::io("fsync the data dir", &self.data_dir, e))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn open_creates_an_empty_private_directory() {
        let temp = tempfile::tempdir().unwrap();
        let data_dir = temp.path().join("a/b");
        let store = DirectoryStore::open(&data_dir).unwrap();
        let mode = fs::metadata(&data_dir).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, DATA_DIR_MODE);
        let mode = fs::metadata(store.path()).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, FILE_MODE);
        assert_eq!(store.load().unwrap(), Directory::default());
        let text = fs::read_to_string(store.path()).unwrap();
        assert!(text.contains("\"format\": 1"), "{text}");
        // Opening again keeps what is there.
        store.modify(|d| d.add_domain("example.test")).unwrap();
        let again = DirectoryStore::open(&data_dir).unwrap();
        assert!(again.load().unwrap().is_local_domain("example.test"));
    }

    #[test]
    fn modify_persists_and_changes_the_fingerprint() {
        let temp = tempfile::tempdir().unwrap();
        let store = DirectoryStore::open(temp.path()).unwrap();
        let before = store.fingerprint().unwrap();
        store.modify(|d| d.add_domain("example.test")).unwrap();
        let after = store.fingerprint().unwrap();
        assert_ne!(before, after);
        let (directory, loaded) = store.load_with_fingerprint().unwrap();
        assert_eq!(loaded, after);
        assert!(directory.is_local_domain("example.test"));
        // A failed or empty change writes nothing.
        assert!(store.modify(|d| d.add_domain("example.test")).is_err());
        store.modify(|_| Ok(())).unwrap();
        assert_eq!(store.fingerprint().unwrap(), after);
        assert!(!temp.path().join(TEMPORARY_FILE).exists());
    }

    #[test]
    fn bad_files_are_reported_with_their_path() {
        let temp = tempfile::tempdir().unwrap();
        let store = DirectoryStore::open(temp.path()).unwrap();
        let path = store.path().display().to_string();
        let cases = [
            ("{\n  \"format\": 1,\n  \"domains\": [\n}", ":4:1: "),
            ("{\"format\": 2}", "directory format 2 is not supported"),
            ("{\"domains\": []}", "no \"format\" field"),
            (
                "{\"format\": 1, \"domains\": [\"Example.test\"]}",
                "not in normal form",
            ),
            (
                "{\"format\": 1, \"domains\": 3}",
                ":1:26: invalid type: integer `3`, expected a sequence",
            ),
        ];
        for (text, expected) in cases {
            fs::write(store.path(), text).unwrap();
            let err = store.load().unwrap_err().to_string();
            assert!(err.starts_with(&path) && err.contains(expected), "{err}");
            assert!(!err.contains(" at line "), "{err}");
            let err = store.modify(|_| Ok(())).unwrap_err().to_string();
            assert!(err.contains(expected), "{err}");
        }
    }

    #[test]
    fn writers_do_not_lose_updates() {
        let temp = tempfile::tempdir().unwrap();
        let store = DirectoryStore::open(temp.path()).unwrap();
        std::thread::scope(|scope| {
            for thread in 0..4 {
                let store = store.clone();
                scope.spawn(move || {
                    for n in 0..10 {
                        store
                            .modify(|d| d.add_domain(&format!("d{thread}-{n}.test")))
                            .unwrap();
                    }
                });
            }
        });
        assert_eq!(store.load().unwrap().domains().count(), 40);
    }
}
