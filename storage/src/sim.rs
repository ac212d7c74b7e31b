//! A seeded simulated disk with fault injection, standing in for `files.rs` in tests.
//!
//! Each file keeps what is durable and what a reader currently sees. Writes and size changes
//! not yet made durable by `sync_data` sit in one global ordered list; a crash keeps a prefix of
//! that list, cut at any octet (a torn write), and forgets file creations whose directory was
//! not synced. Faults: crash after N mutating operations, fdatasync failing at operation N,
//! a capacity (ENOSPC), bit flips in durable data.

use crate::disk::{Disk, DiskError, FileId, FileKind, SegmentFile};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

/// splitmix64: small, seeded, good enough to drive a simulation.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in `0..bound` (bound > 0).
    pub fn below(&mut self, bound: u64) -> u64 {
        self.next_u64() % bound.max(1)
    }
}

#[derive(Debug, Clone, Copy, Default)]
pub struct Faults {
    /// Every mutating operation from this index on fails and changes nothing.
    pub crash_at_operation: Option<u64>,
    /// The fdatasync with this operation index fails.
    pub fail_sync_at_operation: Option<u64>,
    /// Total octets of all files; growing past it fails with ENOSPC.
    pub capacity_octets: Option<u64>,
}

#[derive(Debug, Clone)]
enum Change {
    Write { offset: u64, bytes: Vec<u8> },
    Resize { octets: u64 },
}

#[derive(Debug, Clone, Default)]
struct FileState {
    durable: Vec<u8>,
    current: Vec<u8>,
}

/// A directory change not yet made durable by `sync_directory`.
#[derive(Debug, Clone)]
enum DirectoryChange {
    Link(FileId, u64),
    Unlink(FileId),
    Rename {
        from: FileId,
        to: FileId,
        inode: u64,
    },
}

#[derive(Debug, Default)]
struct SimState {
    /// File contents by inode; a name points at an inode.
    inodes: BTreeMap<u64, FileState>,
    names: BTreeMap<FileId, u64>,
    /// The directory as of the last `sync_directory`.
    durable_names: BTreeMap<FileId, u64>,
    directory_unsynced: Vec<DirectoryChange>,
    inode_next: u64,
    /// Content changes not yet durable, by inode, in the order they were made.
    unsynced: Vec<(u64, Change)>,
    faults: Faults,
    operations: u64,
    syncs: u64,
}

/// How much of the unsynced changes a crash keeps.
#[derive(Debug, Clone, Copy)]
pub enum Cut {
    /// Keep exactly this many octets of unsynced writes (in write order), then stop, and
    /// every unsynced directory change.
    Octets(u64),
    /// Keep a seeded random prefix of the writes and of the directory changes.
    Random(u64),
}

#[derive(Clone, Default)]
pub struct SimDisk {
    state: Rc<RefCell<SimState>>,
}

impl SimDisk {
    pub fn new(faults: Faults) -> Self {
        let disk = Self::default();
        disk.state.borrow_mut().faults = faults;
        disk
    }

    pub fn set_faults(&self, faults: Faults) {
        self.state.borrow_mut().faults = faults;
    }

    /// Mutating operations performed so far (the index the next one will have).
    pub fn operations(&self) -> u64 {
        self.state.borrow().operations
    }

    /// Successful fdatasync calls so far.
    pub fn syncs(&self) -> u64 {
        self.state.borrow().syncs
    }

    /// Octets written but not yet durable.
    pub fn unsynced_octets(&self) -> u64 {
        let state = self.state.borrow();
        state
            .unsynced
            .iter()
            .map(|(_, change)| written_octets(change))
            .sum()
    }

    /// The disk as it would be found after power loss now.
    pub fn crash_image(&self, cut: Cut) -> SimDisk {
        let state = self.state.borrow();
        let total: u64 = state
            .unsynced
            .iter()
            .map(|(_, change)| written_octets(change))
            .sum();
        let mut rng = Rng::new(match cut {
            Cut::Random(seed) => seed,
            Cut::Octets(octets) => octets,
        });
        let mut keep = match cut {
            Cut::Octets(octets) => octets.min(total),
            Cut::Random(_) => rng.below(total + 1),
        };
        let directory_kept = match cut {
            Cut::Octets(_) => state.directory_unsynced.len(),
            Cut::Random(_) => rng.below(state.directory_unsynced.len() as u64 + 1) as usize,
        };
        let mut names = state.durable_names.clone();
        for change in &state.directory_unsynced[..directory_kept] {
            match change {
                DirectoryChange::Link(id, inode) => {
                    names.insert(*id, *inode);
                }
                DirectoryChange::Unlink(id) => {
                    names.remove(id);
                }
                DirectoryChange::Rename { from, to, inode } => {
                    names.remove(from);
                    names.insert(*to, *inode);
                }
            }
        }
        let mut inodes: BTreeMap<u64, FileState> = BTreeMap::new();
        for inode in names.values() {
            if let Some(file) = state.inodes.get(inode) {
                let durable = file.durable.clone();
                inodes.insert(
                    *inode,
                    FileState {
                        current: durable.clone(),
                        durable,
                    },
                );
            }
        }
        for (inode, change) in &state.unsynced {
            let Some(file) = inodes.get_mut(inode) else {
                continue;
            };
            match change {
                Change::Resize { octets } => file.current.resize(*octets as usize, 0),
                Change::Write { offset, bytes } => {
                    let kept = (keep as usize).min(bytes.len());
                    keep -= kept as u64;
                    apply_write(&mut file.current, *offset, &bytes[..kept]);
                }
            }
            file.durable = file.current.clone();
        }
        let image = SimState {
            inode_next: state.inode_next,
            inodes,
            durable_names: names.clone(),
            names,
            faults: Faults::default(),
            ..Default::default()
        };
        SimDisk {
            state: Rc::new(RefCell::new(image)),
        }
    }

    /// Flips one bit in both the durable and the visible content of a segment.
    pub fn flip_bit(&self, sequence: u64, offset: u64, bit: u8) {
        self.flip_bit_in(FileId::segment(sequence), offset, bit);
    }

    /// Flips one bit in both the durable and the visible content of a file.
    pub fn flip_bit_in(&self, id: FileId, offset: u64, bit: u8) {
        let mut state = self.state.borrow_mut();
        let inode = *state.names.get(&id).expect("flip in an existing file");
        let file = state.inodes.get_mut(&inode).expect("linked inode exists");
        for content in [&mut file.durable, &mut file.current] {
            if let Some(byte) = content.get_mut(offset as usize) {
                *byte ^= 1 << (bit % 8);
            }
        }
    }

    /// The visible content of a segment, for assertions.
    pub fn content(&self, sequence: u64) -> Option<Vec<u8>> {
        self.content_of(FileId::segment(sequence))
    }

    /// The visible content of a file, for assertions.
    pub fn content_of(&self, id: FileId) -> Option<Vec<u8>> {
        let state = self.state.borrow();
        let inode = state.names.get(&id)?;
        state.inodes.get(inode).map(|file| file.current.clone())
    }

    /// Every file present, for assertions.
    pub fn files(&self) -> Vec<FileId> {
        self.state.borrow().names.keys().copied().collect()
    }
}

fn written_octets(change: &Change) -> u64 {
    match change {
        Change::Write { bytes, .. } => bytes.len() as u64,
        Change::Resize { .. } => 0,
    }
}

fn apply_write(content: &mut Vec<u8>, offset: u64, bytes: &[u8]) {
    let end = offset as usize + bytes.len();
    if content.len() < end {
        content.resize(end, 0);
    }
    content[offset as usize..end].copy_from_slice(bytes);
}

impl SimState {
    /// Counts a mutating operation; fails it if the simulated machine has crashed.
    fn begin(&mut self, operation: &'static str) -> Result<u64, DiskError> {
        let index = self.operations;
        self.operations += 1;
        match self.faults.crash_at_operation {
            Some(crash) if index >= crash => Err(DiskError::Io {
                operation,
                detail: "simulated crash".into(),
            }),
            _ => Ok(index),
        }
    }

    fn check_capacity(
        &self,
        inode: u64,
        new_octets: u64,
        operation: &'static str,
    ) -> Result<(), DiskError> {
        let Some(capacity) = self.faults.capacity_octets else {
            return Ok(());
        };
        let others: u64 = self
            .names
            .values()
            .filter(|other| **other != inode)
            .filter_map(|other| self.inodes.get(other))
            .map(|file| file.current.len() as u64)
            .sum();
        if others + new_octets > capacity {
            return Err(DiskError::NoSpace { operation });
        }
        Ok(())
    }

    fn missing(id: FileId, operation: &'static str) -> DiskError {
        DiskError::Io {
            operation,
            detail: format!("no such file {}", id.file_name()),
        }
    }
}

impl Disk for SimDisk {
    type File = SimFile;

    async fn list(&self, kind: FileKind) -> Result<Vec<u64>, DiskError> {
        Ok(self
            .state
            .borrow()
            .names
            .keys()
            .filter(|id| id.kind == kind)
            .map(|id| id.sequence)
            .collect())
    }

    async fn create_file(&self, id: FileId) -> Result<SimFile, DiskError> {
        // Like a real device, the operation takes time: other tasks run meanwhile.
        futures_lite::future::yield_now().await;
        let mut state = self.state.borrow_mut();
        state.begin("create file")?;
        let inode = state.inode_next;
        state.inode_next += 1;
        state.inodes.insert(inode, FileState::default());
        state.names.insert(id, inode);
        state
            .directory_unsynced
            .push(DirectoryChange::Link(id, inode));
        Ok(SimFile {
            state: self.state.clone(),
            inode,
        })
    }

    async fn open_file(&self, id: FileId) -> Result<SimFile, DiskError> {
        let Some(inode) = self.state.borrow().names.get(&id).copied() else {
            return Err(SimState::missing(id, "open file"));
        };
        Ok(SimFile {
            state: self.state.clone(),
            inode,
        })
    }

    async fn rename(&self, from: FileId, to: FileId) -> Result<(), DiskError> {
        futures_lite::future::yield_now().await;
        let mut state = self.state.borrow_mut();
        state.begin("rename")?;
        let inode = state
            .names
            .remove(&from)
            .ok_or_else(|| SimState::missing(from, "rename"))?;
        state.names.insert(to, inode);
        state
            .directory_unsynced
            .push(DirectoryChange::Rename { from, to, inode });
        Ok(())
    }

    async fn remove(&self, id: FileId) -> Result<(), DiskError> {
        futures_lite::future::yield_now().await;
        let mut state = self.state.borrow_mut();
        state.begin("remove")?;
        state
            .names
            .remove(&id)
            .ok_or_else(|| SimState::missing(id, "remove"))?;
        state.directory_unsynced.push(DirectoryChange::Unlink(id));
        Ok(())
    }

    async fn sync_directory(&self) -> Result<(), DiskError> {
        let mut state = self.state.borrow_mut();
        state.begin("sync directory")?;
        state.durable_names = state.names.clone();
        state.directory_unsynced.clear();
        Ok(())
    }
}

pub struct SimFile {
    state: Rc<RefCell<SimState>>,
    inode: u64,
}

impl SimFile {
    fn with_file<T>(
        &self,
        operation: &'static str,
        action: impl FnOnce(&mut SimState, u64) -> Result<T, DiskError>,
    ) -> Result<T, DiskError> {
        let mut state = self.state.borrow_mut();
        let index = state.begin(operation)?;
        if !state.inodes.contains_key(&self.inode) {
            return Err(DiskError::Io {
                operation,
                detail: "file vanished".into(),
            });
        }
        action(&mut state, index)
    }
}

impl SegmentFile for SimFile {
    type Bytes = Vec<u8>;

    async fn write_at(&self, offset: u64, bytes: Vec<u8>) -> Result<(), DiskError> {
        // Like a real device, the operation takes time: other tasks run meanwhile.
        futures_lite::future::yield_now().await;
        let inode = self.inode;
        self.with_file("write", |state, _| {
            let current = state.inodes[&inode].current.len() as u64;
            let end = offset + bytes.len() as u64;
            state.check_capacity(inode, current.max(end), "write")?;
            let file = state.inodes.get_mut(&inode).expect("checked above");
            apply_write(&mut file.current, offset, &bytes);
            state
                .unsynced
                .push((inode, Change::Write { offset, bytes }));
            Ok(())
        })
    }

    async fn read_at(&self, offset: u64, octets: usize) -> Result<Vec<u8>, DiskError> {
        let state = self.state.borrow();
        if matches!(state.faults.crash_at_operation, Some(crash) if state.operations > crash) {
            return Err(DiskError::Io {
                operation: "read",
                detail: "simulated crash".into(),
            });
        }
        let Some(file) = state.inodes.get(&self.inode) else {
            return Err(DiskError::Io {
                operation: "read",
                detail: "file vanished".into(),
            });
        };
        let start = (offset as usize).min(file.current.len());
        let end = start.saturating_add(octets).min(file.current.len());
        Ok(file.current[start..end].to_vec())
    }

    async fn sync_data(&self) -> Result<(), DiskError> {
        // Like a real device, the operation takes time: other tasks run meanwhile.
        futures_lite::future::yield_now().await;
        let inode = self.inode;
        self.with_file("fdatasync", |state, index| {
            if state.faults.fail_sync_at_operation == Some(index) {
                // Like Linux after a failed writeback: what was dirty may or may not survive.
                return Err(DiskError::Io {
                    operation: "fdatasync",
                    detail: "simulated EIO".into(),
                });
            }
            let (synced, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut state.unsynced)
                .into_iter()
                .partition(|(changed, _)| *changed == inode);
            state.unsynced = rest;
            let file = state.inodes.get_mut(&inode).expect("checked by with_file");
            for (_, change) in synced {
                match change {
                    Change::Resize { octets } => file.durable.resize(octets as usize, 0),
                    Change::Write { offset, bytes } => {
                        apply_write(&mut file.durable, offset, &bytes)
                    }
                }
            }
            state.syncs += 1;
            Ok(())
        })
    }

    async fn preallocate(&self, octets: u64) -> Result<(), DiskError> {
        let inode = self.inode;
        self.with_file("preallocate", |state, _| {
            state.check_capacity(inode, octets, "preallocate")?;
            let file = state.inodes.get_mut(&inode).expect("checked by with_file");
            if (file.current.len() as u64) < octets {
                file.current.resize(octets as usize, 0);
                state.unsynced.push((inode, Change::Resize { octets }));
            }
            Ok(())
        })
    }

    async fn octets(&self) -> Result<u64, DiskError> {
        let state = self.state.borrow();
        Ok(state
            .inodes
            .get(&self.inode)
            .map_or(0, |file| file.current.len() as u64))
    }
}

/// Runs `future` to completion on a fresh glommio executor on this thread: how tests and
/// benchmarks drive a store on the simulated disk.
pub fn run<T>(future: impl std::future::Future<Output = T>) -> T {
    glommio::LocalExecutorBuilder::default()
        .make()
        .expect("executor")
        .run(future)
}
