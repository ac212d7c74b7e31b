//! Append + fdatasync throughput of the log's file path today (glommio `BufferedFile`, through
//! `postern_storage::files`) against O_DIRECT with glommio's `DmaFile` and `DmaStreamWriter`,
//! side by side on the same filesystem. Standalone: the storage crate is not changed.
//!
//! A batch stands for one group commit: `messages` messages of one size framed as the log
//! frames them (content chunks of at most 128 KiB with 28 octets of framing each, then a
//! commit record of about 120 octets), capped at 8 MiB (`BATCH_OCTETS_DEFAULT`), appended at
//! the end of the file with one write and made durable with one fdatasync, one batch at a
//! time as the log's flusher does. The methods:
//! - `buffered`: `SegmentFile::write_at` of the batch and `sync_data` (what the log does);
//! - `DmaFile`: O_DIRECT; the batch is copied behind the file's partial last block (kept in
//!   memory) into an aligned buffer padded with zeros to 4 KiB, written at the block's
//!   offset, so the partial block is written again by the next batch (the design sketched in
//!   docs/STORAGE.md);
//! - `DmaStreamWriter`: glommio's stream writer (128 KiB buffers, 4 written behind),
//!   `write_all` then `sync` (which writes its partial buffer padded, whole).
//!
//! Two states of the file: `preallocated` (fallocate, as the log creates segments: each
//! write converts unwritten extents, a journal commit per fdatasync) and `overwrite` (a file
//! written full of zeros first: the writes change no extent). Each case runs `--secs`,
//! `--repeats` times, every (file state, method) pair in turn, so that load from elsewhere
//! falls on all alike. The table gives the median MB/s, the batches' p50/p99 write+fdatasync
//! latency over all repeats, the process's CPU time per MB written (`/proc/self/stat`: its
//! threads and io_uring workers, not the kernel's journal or block threads), what reached the
//! device per octet appended and flushes per batch (`/proc/diskstats` of the files' device:
//! includes the journal, and any other process writing to that disk), and the MB/s relative
//! to buffered on the same file state and to today's path (buffered, preallocated).
//! Prints Markdown.
//!
//! `cargo run --release -p postern-bench --bin storage_dma -- [--secs S] [--repeats N]`
//! Environment: `POSTERN_BENCH_DIR` (default /tmp; must be a real disk, not tmpfs).

use futures_lite::io::AsyncWriteExt;
use glommio::io::{DmaFile, DmaStreamWriter, DmaStreamWriterBuilder, OpenOptions};
use hdrhistogram::Histogram;
use postern_bench::Arguments;
use postern_storage::disk::{Disk, FileId, SegmentFile};
use postern_storage::files::{FileDisk, RealFile};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const SIZES_OCTETS: [usize; 3] = [4 * 1024, 64 * 1024, 1024 * 1024];
const MESSAGES_PER_BATCH: [usize; 3] = [1, 16, 256];
/// The log's default batch limit (`BATCH_OCTETS_DEFAULT`).
const BATCH_OCTETS_MAX: usize = 8 * 1024 * 1024;
const CHUNK_OCTETS: usize = 128 * 1024;
const CHUNK_FRAMING_OCTETS: usize = 28;
const COMMIT_RECORD_OCTETS: usize = 120;
/// Every file is this large; a case stops early when it reaches the end.
const FILE_OCTETS: u64 = 512 * 1024 * 1024;
/// O_DIRECT offsets and lengths are multiples of this.
const BLOCK_OCTETS: usize = 4096;
const STREAM_BUFFER_OCTETS: usize = 128 * 1024;
const STREAM_WRITE_BEHIND: usize = 4;
const ZERO_FILL_OCTETS: usize = 8 * 1024 * 1024;
const LATENCY_US_MAX: u64 = 60 * 1_000_000;
const SECS_DEFAULT: f64 = 0.4;
const REPEATS_DEFAULT: usize = 5;

struct Options {
    seconds: f64,
    repeats: usize,
}

const ARGUMENTS: Arguments = Arguments::new("storage_dma", "[--secs S] [--repeats N]");

fn options() -> Options {
    let mut options = Options {
        seconds: SECS_DEFAULT,
        repeats: REPEATS_DEFAULT,
    };
    for (flag, value) in ARGUMENTS.pairs() {
        match flag.as_str() {
            "--secs" => options.seconds = ARGUMENTS.parse(&flag, &value),
            "--repeats" => options.repeats = ARGUMENTS.parse(&flag, &value),
            _ => ARGUMENTS.fail(&format!("unknown flag {flag}")),
        }
    }
    if options.seconds <= 0.0 || options.repeats == 0 {
        ARGUMENTS.fail("--secs and --repeats must be positive");
    }
    options
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Method {
    Buffered,
    Dma,
    DmaStream,
}

impl Method {
    const ALL: [Method; 3] = [Method::Buffered, Method::Dma, Method::DmaStream];
    fn name(self) -> &'static str {
        match self {
            Method::Buffered => "buffered",
            Method::Dma => "DmaFile",
            Method::DmaStream => "DmaStreamWriter",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Prepared {
    /// Fresh and fallocated, as the log creates segments.
    Preallocated,
    /// Written full of zeros before the case.
    Overwrite,
}

impl Prepared {
    fn name(self) -> &'static str {
        match self {
            Prepared::Preallocated => "preallocated",
            Prepared::Overwrite => "overwrite",
        }
    }
}

/// Octets the log appends for one message of `octets`.
fn framed_octets(octets: usize) -> usize {
    let chunks = octets.div_ceil(CHUNK_OCTETS);
    octets + chunks * CHUNK_FRAMING_OCTETS + COMMIT_RECORD_OCTETS
}

fn align_down(octets: usize) -> usize {
    octets / BLOCK_OCTETS * BLOCK_OCTETS
}

fn align_up(octets: usize) -> usize {
    octets.div_ceil(BLOCK_OCTETS) * BLOCK_OCTETS
}

/// Process CPU time (user + system, all threads) in seconds.
fn cpu_seconds(ticks_per_second: f64) -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("/proc/self/stat");
    // Fields after the command name (which may hold spaces) start at field 3.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .expect("stat format")
        .1
        .split_whitespace()
        .collect();
    let ticks = |field: usize| fields[field - 3].parse::<f64>().expect("stat field");
    (ticks(14) + ticks(15)) / ticks_per_second
}

fn ticks_per_second() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|output| String::from_utf8(output.stdout).ok())
        .and_then(|text| text.trim().parse().ok())
        .unwrap_or(100.0)
}

/// Counters of the block device holding the benchmark's files (`/proc/diskstats`): what
/// reached the disk, including the journal and any other process writing to it.
#[derive(Debug, Clone, Copy, Default)]
struct DiskCounters {
    written_octets: u64,
    flushes: u64,
}

/// `major:minor` of the device holding `path`, as `/proc/diskstats` names it.
fn device_of(path: &Path) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    let device = std::fs::metadata(path).expect("stat").dev();
    let major = ((device >> 8) & 0xfff) | ((device >> 32) & !0xfff);
    let minor = (device & 0xff) | ((device >> 12) & !0xff);
    (major, minor)
}

fn disk_counters(device: (u64, u64)) -> DiskCounters {
    let stats = std::fs::read_to_string("/proc/diskstats").expect("/proc/diskstats");
    for line in stats.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let number = |at: usize| fields.get(at).and_then(|field| field.parse::<u64>().ok());
        if (number(0), number(1)) == (Some(device.0), Some(device.1)) {
            // Field 10 (1-based) is sectors written, 512 octets each; 19 is flushes (Linux 5.5+).
            return DiskCounters {
                written_octets: number(9).unwrap_or(0) * 512,
                flushes: number(18).unwrap_or(0),
            };
        }
    }
    DiskCounters::default()
}

/// O_DIRECT appends that keep the file's partial last block in memory and write it again,
/// padded, with the next batch.
struct DmaLog {
    file: DmaFile,
    end: u64,
    tail: Vec<u8>,
}

impl DmaLog {
    async fn append_durable(&mut self, batch: &[u8]) {
        let start = self.end - self.tail.len() as u64;
        let used = self.tail.len() + batch.len();
        let mut buffer = self.file.alloc_dma_buffer(align_up(used));
        let bytes = buffer.as_bytes_mut();
        bytes[..self.tail.len()].copy_from_slice(&self.tail);
        bytes[self.tail.len()..used].copy_from_slice(batch);
        bytes[used..].fill(0);
        let keep = align_down(used);
        self.tail.clear();
        self.tail.extend_from_slice(&bytes[keep..used]);
        let length = bytes.len();
        let written = self.file.write_at(buffer, start).await.expect("write");
        assert_eq!(written, length, "short O_DIRECT write");
        self.file.fdatasync().await.expect("fdatasync");
        self.end += batch.len() as u64;
    }
}

enum Appender {
    Buffered(RealFile),
    Dma(DmaLog),
    DmaStream(DmaStreamWriter),
}

impl Appender {
    async fn append_durable(&mut self, offset: u64, batch: &[u8]) {
        match self {
            Appender::Buffered(file) => {
                file.write_at(offset, batch.to_vec()).await.expect("write");
                file.sync_data().await.expect("fdatasync");
            }
            Appender::Dma(log) => log.append_durable(batch).await,
            Appender::DmaStream(writer) => {
                writer.write_all(batch).await.expect("write");
                writer.sync().await.expect("fdatasync");
            }
        }
    }

    async fn close(self) {
        match self {
            Appender::Buffered(file) => drop(file),
            Appender::Dma(log) => log.file.close().await.expect("close"),
            Appender::DmaStream(mut writer) => {
                // Fill the stream's last buffer so that close does not truncate the file (an
                // overwrite file must keep its written blocks for the next repeat).
                let position = writer.current_pos() as usize;
                let padding = position.next_multiple_of(STREAM_BUFFER_OCTETS) - position;
                writer.write_all(&vec![0; padding]).await.expect("pad");
                writer.close().await.expect("close");
            }
        }
    }
}

async fn dma_open(path: &Path) -> DmaFile {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .dma_open(path)
        .await
        .expect("open O_DIRECT")
}

/// Segment sequence of each method's overwrite file.
fn overwrite_sequence(method: Method) -> u64 {
    100 + method as u64
}

/// Writes zeros over the whole of an overwrite file, with O_DIRECT (nothing left in cache).
async fn zero_fill(path: &Path) {
    let file = dma_open(path).await;
    let mut position = 0;
    while position < FILE_OCTETS {
        let mut buffer = file.alloc_dma_buffer(ZERO_FILL_OCTETS);
        buffer.as_bytes_mut().fill(0);
        let written = file.write_at(buffer, position).await.expect("zero fill");
        assert_eq!(written, ZERO_FILL_OCTETS);
        position += ZERO_FILL_OCTETS as u64;
    }
    file.fdatasync().await.expect("fdatasync");
    file.close().await.expect("close");
}

/// A file ready for a case: a fresh preallocated segment, or the method's overwrite file.
async fn prepare(disk: &FileDisk, method: Method, prepared: Prepared) -> (Appender, u64) {
    let sequence = match prepared {
        Prepared::Preallocated => 1,
        Prepared::Overwrite => overwrite_sequence(method),
    };
    let path = disk.directory().join(FileId::segment(sequence).file_name());
    if prepared == Prepared::Preallocated {
        let file = disk.create(sequence).await.expect("create");
        file.preallocate(FILE_OCTETS).await.expect("preallocate");
        file.sync_data().await.expect("fdatasync");
        disk.sync_directory().await.expect("sync directory");
    }
    let appender = match method {
        Method::Buffered => Appender::Buffered(disk.open(sequence).await.expect("open")),
        Method::Dma => Appender::Dma(DmaLog {
            file: dma_open(&path).await,
            end: 0,
            tail: Vec::new(),
        }),
        Method::DmaStream => {
            let writer = DmaStreamWriterBuilder::new(dma_open(&path).await)
                .with_buffer_size(STREAM_BUFFER_OCTETS)
                .with_write_behind(STREAM_WRITE_BEHIND)
                .build();
            Appender::DmaStream(writer)
        }
    };
    (appender, sequence)
}

struct Run {
    octets: u64,
    batches: u64,
    elapsed: Duration,
    cpu_seconds: f64,
    disk: DiskCounters,
    latency_us: Histogram<u64>,
}

/// What every case of a run uses.
struct Setup {
    disk: FileDisk,
    device: (u64, u64),
    ticks: f64,
    seconds: f64,
}

async fn run_case(setup: &Setup, method: Method, prepared: Prepared, batch: &[u8]) -> Run {
    let disk = &setup.disk;
    let (mut appender, sequence) = prepare(disk, method, prepared).await;
    let mut latency_us =
        Histogram::new_with_bounds(1, LATENCY_US_MAX, 3).expect("histogram bounds");
    let mut offset = 0u64;
    let mut batches = 0;
    let cpu_before = cpu_seconds(setup.ticks);
    let disk_before = disk_counters(setup.device);
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(setup.seconds);
    // Room is left for the padding of `Appender::close`.
    let end = FILE_OCTETS - STREAM_BUFFER_OCTETS as u64;
    while Instant::now() < deadline && offset + batch.len() as u64 <= end {
        let begun = Instant::now();
        appender.append_durable(offset, batch).await;
        let micros = begun.elapsed().as_micros() as u64;
        let _ = latency_us.record(micros.clamp(1, LATENCY_US_MAX));
        offset += batch.len() as u64;
        batches += 1;
    }
    let elapsed = started.elapsed();
    let cpu_seconds = cpu_seconds(setup.ticks) - cpu_before;
    let disk_after = disk_counters(setup.device);
    let disk_counted = DiskCounters {
        written_octets: disk_after.written_octets - disk_before.written_octets,
        flushes: disk_after.flushes - disk_before.flushes,
    };
    appender.close().await;
    if prepared == Prepared::Preallocated {
        disk.remove(FileId::segment(sequence))
            .await
            .expect("remove");
    }
    Run {
        octets: offset,
        batches,
        elapsed,
        cpu_seconds,
        disk: disk_counted,
        latency_us,
    }
}

/// Every run of one method on one state of the file in one case.
struct Row {
    prepared: Prepared,
    method: Method,
    runs: Vec<Run>,
}

impl Row {
    fn megabytes_per_second(&self) -> f64 {
        let mut rates: Vec<f64> = self
            .runs
            .iter()
            .map(|run| run.octets as f64 / run.elapsed.as_secs_f64() / 1e6)
            .collect();
        rates.sort_by(f64::total_cmp);
        rates[rates.len() / 2]
    }
}

fn size_name(octets: usize) -> String {
    if octets >= 1024 * 1024 {
        format!("{} MiB", octets / (1024 * 1024))
    } else {
        format!("{} KiB", octets / 1024)
    }
}

/// `same` is the buffered row on the same state of file, `today` buffered on a preallocated one.
fn print_row(octets: usize, messages: usize, batch: usize, row: &Row, same: f64, today: f64) {
    let mut latency_us =
        Histogram::<u64>::new_with_bounds(1, LATENCY_US_MAX, 3).expect("histogram bounds");
    for run in &row.runs {
        latency_us.add(&run.latency_us).expect("histogram add");
    }
    let octets_total: u64 = row.runs.iter().map(|run| run.octets).sum();
    let batches: u64 = row.runs.iter().map(|run| run.batches).sum();
    let seconds: f64 = row.runs.iter().map(|run| run.elapsed.as_secs_f64()).sum();
    let cpu: f64 = row.runs.iter().map(|run| run.cpu_seconds).sum();
    let disk_octets: u64 = row.runs.iter().map(|run| run.disk.written_octets).sum();
    let flushes: u64 = row.runs.iter().map(|run| run.disk.flushes).sum();
    let rate = row.megabytes_per_second();
    println!(
        "| {} | {messages} | {:.0} | {} | {} | {rate:.1} | {:.0} | {:.2} | {:.2} | {:.1} | {:.2} | {:.1} | {:.2}× | {:.2}× |",
        size_name(octets),
        batch as f64 / 1024.0,
        row.prepared.name(),
        row.method.name(),
        batches as f64 / seconds,
        latency_us.value_at_quantile(0.50) as f64 / 1000.0,
        latency_us.value_at_quantile(0.99) as f64 / 1000.0,
        cpu * 1000.0 / (octets_total as f64 / 1e6),
        disk_octets as f64 / octets_total as f64,
        flushes as f64 / batches as f64,
        rate / same,
        rate / today,
    );
}

/// Geometric means over the cases of each row kind's MB/s ratios.
fn print_means(ratios: &[(Prepared, Method, f64, f64)]) {
    let mean = |prepared: Prepared, method: Method, today: bool| {
        let logs: Vec<f64> = ratios
            .iter()
            .filter(|ratio| ratio.0 == prepared && ratio.1 == method)
            .map(|ratio| if today { ratio.3 } else { ratio.2 }.ln())
            .collect();
        (logs.iter().sum::<f64>() / logs.len() as f64).exp()
    };
    println!("Geometric means of MB/s over every size and batch:");
    println!();
    println!("| file | method | vs buffered, same file | vs today (buffered, preallocated) |");
    println!("| --- | --- | ---: | ---: |");
    for prepared in [Prepared::Preallocated, Prepared::Overwrite] {
        for method in Method::ALL {
            println!(
                "| {} | {} | {:.2}× | {:.2}× |",
                prepared.name(),
                method.name(),
                mean(prepared, method, false),
                mean(prepared, method, true),
            );
        }
    }
}

async fn run(root: PathBuf, options: Options) {
    let directory = tempfile::Builder::new()
        .prefix("postern-bench-dma-")
        .tempdir_in(&root)
        .expect("bench directory");
    let disk = FileDisk::new(directory.path(), 0).expect("shard directory");
    for method in Method::ALL {
        let path = disk
            .directory()
            .join(FileId::segment(overwrite_sequence(method)).file_name());
        zero_fill(&path).await;
    }
    let probe = dma_open(&disk.directory().join("probe")).await;
    println!(
        "O_DIRECT alignment reported by glommio: {} octets (writes here use {BLOCK_OCTETS}).",
        probe.alignment()
    );
    probe.remove().await.expect("remove probe");
    println!();
    println!(
        "| size | msgs/batch | batch KiB | file | method | MB/s (median) | batches/s | p50 ms | p99 ms | CPU ms/MB | disk octets per octet | flushes/batch | vs buffered, same file | vs today |"
    );
    println!(
        "| --- | ---: | ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    );
    let setup = Setup {
        device: device_of(disk.directory()),
        disk,
        ticks: ticks_per_second(),
        seconds: options.seconds,
    };
    let mut ratios = Vec::new();
    for octets in SIZES_OCTETS {
        let framed = framed_octets(octets);
        let mut previous = 0;
        for wanted in MESSAGES_PER_BATCH {
            let messages = wanted.min(BATCH_OCTETS_MAX / framed).max(1);
            if messages == previous {
                continue;
            }
            previous = messages;
            let batch: Vec<u8> = (0..messages * framed)
                .map(|at| b'a' + (at % 23) as u8)
                .collect();
            let mut rows = Vec::new();
            for prepared in [Prepared::Preallocated, Prepared::Overwrite] {
                for method in Method::ALL {
                    rows.push(Row {
                        prepared,
                        method,
                        runs: Vec::new(),
                    });
                }
            }
            // Interleaved, so that load from elsewhere falls on every kind of row alike.
            for _ in 0..options.repeats {
                for row in &mut rows {
                    let run = run_case(&setup, row.method, row.prepared, &batch).await;
                    row.runs.push(run);
                }
            }
            let today = rows[0].megabytes_per_second();
            for row in &rows {
                let same = rows
                    .iter()
                    .find(|base| base.prepared == row.prepared && base.method == Method::Buffered)
                    .expect("buffered row")
                    .megabytes_per_second();
                print_row(octets, messages, batch.len(), row, same, today);
                let rate = row.megabytes_per_second();
                ratios.push((row.prepared, row.method, rate / same, rate / today));
            }
        }
    }
    println!();
    print_means(&ratios);
}

fn main() {
    let options = options();
    let root =
        std::env::var_os("POSTERN_BENCH_DIR").map_or_else(|| PathBuf::from("/tmp"), PathBuf::from);
    glommio::LocalExecutorBuilder::default()
        .make()
        .expect("executor")
        .run(run(root, options));
}
