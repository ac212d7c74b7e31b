//! Append throughput of the storage log with group commit, against a baseline of one write
//! plus one fdatasync per message, in the same run on the same filesystem.
//!
//! For 4 KiB, 64 KiB and 1 MiB messages at 1, 16 and 256 concurrent writers on one shard:
//! messages/s, MB/s, fdatasync calls per message and p50/p99 commit latency (from the start of
//! a message to its `Durable` receipt, or to the end of its fdatasync for the baseline).
//! Prints a Markdown table.
//!
//! `cargo run --release -p postern-bench --bin storage_append`
//! Environment: `POSTERN_BENCH_DIR` (default /tmp; must be a real disk, not tmpfs),
//! `POSTERN_BENCH_SECS` (per case, default 1.5).

use hdrhistogram::Histogram;
use postern_storage::disk::{Disk, DiskError, FileId, FileKind, SegmentFile};
use postern_storage::files::FileDisk;
use postern_storage::{LogConfig, MessageMeta, Store};
use std::cell::{Cell, RefCell};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::{Duration, Instant};

const SIZES_OCTETS: [usize; 3] = [4 * 1024, 64 * 1024, 1024 * 1024];
const WRITERS: [usize; 3] = [1, 16, 256];
/// Stops a case early once this much was written, so 1 MiB cases stay bounded on disk.
const CASE_OCTETS_MAX: u64 = 2 * 1024 * 1024 * 1024;
const LATENCY_US_MAX: u64 = 60 * 1_000_000;

/// A disk that counts fdatasync calls.
struct Counting<D> {
    inner: D,
    syncs: Rc<Cell<u64>>,
}

struct CountingFile<F> {
    inner: F,
    syncs: Rc<Cell<u64>>,
}

impl<D: Disk> Disk for Counting<D> {
    type File = CountingFile<D::File>;
    async fn list(&self, kind: FileKind) -> Result<Vec<u64>, DiskError> {
        self.inner.list(kind).await
    }
    async fn create_file(&self, id: FileId) -> Result<Self::File, DiskError> {
        Ok(CountingFile {
            inner: self.inner.create_file(id).await?,
            syncs: self.syncs.clone(),
        })
    }
    async fn open_file(&self, id: FileId) -> Result<Self::File, DiskError> {
        Ok(CountingFile {
            inner: self.inner.open_file(id).await?,
            syncs: self.syncs.clone(),
        })
    }
    async fn rename(&self, from: FileId, to: FileId) -> Result<(), DiskError> {
        self.inner.rename(from, to).await
    }
    async fn remove(&self, id: FileId) -> Result<(), DiskError> {
        self.inner.remove(id).await
    }
    async fn sync_directory(&self) -> Result<(), DiskError> {
        self.inner.sync_directory().await
    }
}

impl<F: SegmentFile> SegmentFile for CountingFile<F> {
    type Bytes = F::Bytes;
    async fn write_at(&self, offset: u64, bytes: Vec<u8>) -> Result<(), DiskError> {
        self.inner.write_at(offset, bytes).await
    }
    async fn read_at(&self, offset: u64, octets: usize) -> Result<F::Bytes, DiskError> {
        self.inner.read_at(offset, octets).await
    }
    async fn sync_data(&self) -> Result<(), DiskError> {
        self.syncs.set(self.syncs.get() + 1);
        self.inner.sync_data().await
    }
    async fn preallocate(&self, octets: u64) -> Result<(), DiskError> {
        self.inner.preallocate(octets).await
    }
    async fn octets(&self) -> Result<u64, DiskError> {
        self.inner.octets().await
    }
}

struct Row {
    messages: u64,
    elapsed: Duration,
    syncs: u64,
    latency_us: Histogram<u64>,
}

/// What every writer of a case shares.
struct Case {
    content: Vec<u8>,
    deadline: Instant,
    written_octets: Cell<u64>,
    messages: Cell<u64>,
    latency_us: RefCell<Histogram<u64>>,
}

impl Case {
    fn new(octets: usize, seconds: f64) -> Rc<Self> {
        let content = (0..octets).map(|at| b'a' + (at % 23) as u8).collect();
        Rc::new(Self {
            content,
            deadline: Instant::now() + Duration::from_secs_f64(seconds),
            written_octets: Cell::new(0),
            messages: Cell::new(0),
            latency_us: RefCell::new(
                Histogram::new_with_bounds(1, LATENCY_US_MAX, 3).expect("histogram bounds"),
            ),
        })
    }

    /// Claims the next message, or `None` when the case is over.
    fn claim(&self) -> Option<u64> {
        let octets = self.written_octets.get();
        if Instant::now() >= self.deadline || octets >= CASE_OCTETS_MAX {
            return None;
        }
        self.written_octets.set(octets + self.content.len() as u64);
        Some(octets)
    }

    fn done(&self, started: Instant) {
        self.messages.set(self.messages.get() + 1);
        let micros = started.elapsed().as_micros() as u64;
        let _ = self
            .latency_us
            .borrow_mut()
            .record(micros.clamp(1, LATENCY_US_MAX));
    }

    fn row(&self, started: Instant, syncs: u64) -> Row {
        Row {
            messages: self.messages.get(),
            elapsed: started.elapsed(),
            syncs,
            latency_us: self.latency_us.borrow().clone(),
        }
    }
}

async fn group_commit(directory: PathBuf, octets: usize, writers: usize, seconds: f64) -> Row {
    let syncs = Rc::new(Cell::new(0));
    let disk = Counting {
        inner: FileDisk::new(&directory, 0).expect("shard directory"),
        syncs: syncs.clone(),
    };
    let (store, _) = Store::open(disk, LogConfig::new(0)).await.expect("open");
    let (account, _) = store
        .create_account(1, "bench@example.org", 0, 0)
        .await
        .expect("account");
    let (mailbox, _) = store
        .create_mailbox(account, "INBOX")
        .await
        .expect("mailbox");
    let case = Case::new(octets, seconds);
    let syncs_before = syncs.get();
    let started = Instant::now();
    let tasks: Vec<_> = (0..writers)
        .map(|_| {
            let store = store.clone();
            let case = case.clone();
            glommio::spawn_local(async move {
                while case.claim().is_some() {
                    let begun = Instant::now();
                    let mut message = store.begin_message(1);
                    message.write(&case.content).await.expect("write");
                    let (_uid, _durable) = message
                        .commit(mailbox, MessageMeta::default())
                        .await
                        .expect("commit");
                    case.done(begun);
                }
            })
        })
        .collect();
    for task in tasks {
        task.await;
    }
    case.row(started, syncs.get() - syncs_before)
}

async fn one_fsync_per_message(
    directory: PathBuf,
    octets: usize,
    writers: usize,
    seconds: f64,
) -> Row {
    let syncs = Rc::new(Cell::new(0));
    let disk = Counting {
        inner: FileDisk::new(&directory, 0).expect("shard directory"),
        syncs: syncs.clone(),
    };
    let file = Rc::new(disk.create(1).await.expect("create"));
    // Same as a segment: preallocated, so appends do not allocate blocks.
    file.preallocate(256 * 1024 * 1024)
        .await
        .expect("preallocate");
    file.sync_data().await.expect("sync");
    let case = Case::new(octets, seconds);
    let syncs_before = syncs.get();
    let started = Instant::now();
    let tasks: Vec<_> = (0..writers)
        .map(|_| {
            let file = file.clone();
            let case = case.clone();
            glommio::spawn_local(async move {
                while let Some(offset) = case.claim() {
                    let begun = Instant::now();
                    file.write_at(offset, case.content.clone())
                        .await
                        .expect("write");
                    file.sync_data().await.expect("fdatasync");
                    case.done(begun);
                }
            })
        })
        .collect();
    for task in tasks {
        task.await;
    }
    case.row(started, syncs.get() - syncs_before)
}

fn size_name(octets: usize) -> String {
    if octets >= 1024 * 1024 {
        format!("{} MiB", octets / (1024 * 1024))
    } else {
        format!("{} KiB", octets / 1024)
    }
}

fn print_row(octets: usize, writers: usize, mode: &str, row: &Row, baseline: Option<&Row>) {
    let seconds = row.elapsed.as_secs_f64();
    let rate = row.messages as f64 / seconds;
    let megabytes = rate * octets as f64 / 1e6;
    let per_message = row.syncs as f64 / row.messages.max(1) as f64;
    let speedup = baseline.map_or("".to_string(), |baseline| {
        let base = baseline.messages as f64 / baseline.elapsed.as_secs_f64();
        format!("{:.1}×", rate / base)
    });
    println!(
        "| {} | {writers} | {mode} | {} | {rate:.0} | {megabytes:.1} | {per_message:.3} | {:.2} | {:.2} | {speedup} |",
        size_name(octets),
        row.messages,
        row.latency_us.value_at_quantile(0.50) as f64 / 1000.0,
        row.latency_us.value_at_quantile(0.99) as f64 / 1000.0,
    );
}

fn case_directory(root: &Path) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("postern-bench-")
        .tempdir_in(root)
        .expect("bench directory")
}

fn main() {
    let root =
        std::env::var_os("POSTERN_BENCH_DIR").map_or_else(|| PathBuf::from("/tmp"), PathBuf::from);
    let seconds: f64 = std::env::var("POSTERN_BENCH_SECS")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(1.5);
    println!(
        "| size | writers | mode | messages | msgs/s | MB/s | fdatasync/msg | p50 ms | p99 ms | vs baseline |"
    );
    println!("| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    for octets in SIZES_OCTETS {
        for writers in WRITERS {
            let executor = || {
                glommio::LocalExecutorBuilder::default()
                    .make()
                    .expect("executor")
            };
            let directory = case_directory(&root);
            let path = directory.path().to_path_buf();
            let baseline = executor().run(one_fsync_per_message(path, octets, writers, seconds));
            drop(directory);
            let directory = case_directory(&root);
            let path = directory.path().to_path_buf();
            let grouped = executor().run(group_commit(path, octets, writers, seconds));
            drop(directory);
            print_row(octets, writers, "write+fdatasync each", &baseline, None);
            print_row(octets, writers, "group commit", &grouped, Some(&baseline));
        }
    }
}
