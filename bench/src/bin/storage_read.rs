//! Read throughput of message content through `Store::read`: whole 4 KiB, 64 KiB and 1 MiB
//! messages in random order, from a cold-ish page cache and from a warm one.
//!
//! Fills one shard on a real directory (group commit, fdatasync on) with `--fill-mib` MiB of
//! messages, a third of the octets in each size, the sizes interleaved in the log in random
//! order and one mailbox per size; closes it and opens it again (from its checkpoint). Then for
//! each size, with 1 and with 16 concurrent readers: drops the page cache (`sync`, then
//! `echo 3 > /proc/sys/vm/drop_caches`: root only; the output says whether it was possible),
//! reads messages of that size in a random order, each at most once, for `--secs` seconds
//! ("cold"), then reads the same messages again in a new random order for as long ("warm").
//! One read is one `Store::read` of the whole message into a buffer of its size (it follows all
//! the message's extents); its latency runs from the call to its return. Prints Markdown.
//!
//! "Cold" is cold for this machine's page cache only: a virtual disk may be cached by its host.
//!
//! `cargo run --release -p postern-bench --bin storage_read -- [--fill-mib N] [--secs S]`
//! Environment: `POSTERN_BENCH_DIR` (default /tmp; must be a real disk, not tmpfs).

use hdrhistogram::Histogram;
use postern_bench::Arguments;
use postern_storage::files::FileDisk;
use postern_storage::{LogConfig, MailboxKey, MessageMeta, Store, Uid};
use std::cell::{Cell, RefCell};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::{Duration, Instant};

const SIZES_OCTETS: [usize; 3] = [4 * 1024, 64 * 1024, 1024 * 1024];
const READERS: [usize; 2] = [1, 16];
const FILL_WRITERS: usize = 32;
const FILL_MIB_DEFAULT: u64 = 1024;
const SECS_DEFAULT: f64 = 2.0;
const LATENCY_US_MAX: u64 = 60 * 1_000_000;
/// Octets compared with the expected content at each end of every message read.
const CHECK_OCTETS: usize = 64;

struct Options {
    fill_mib: u64,
    seconds: f64,
}

const ARGUMENTS: Arguments = Arguments::new("storage_read", "[--fill-mib N] [--secs S]");

fn options() -> Options {
    let mut options = Options {
        fill_mib: FILL_MIB_DEFAULT,
        seconds: SECS_DEFAULT,
    };
    for (flag, value) in ARGUMENTS.pairs() {
        match flag.as_str() {
            "--fill-mib" => options.fill_mib = ARGUMENTS.parse(&flag, &value),
            "--secs" => options.seconds = ARGUMENTS.parse(&flag, &value),
            _ => ARGUMENTS.fail(&format!("unknown flag {flag}")),
        }
    }
    if options.fill_mib < 3 || options.seconds <= 0.0 {
        ARGUMENTS.fail("--fill-mib must be at least 3 and --secs positive");
    }
    options
}

/// A seeded generator (xorshift64*): the same orders on every run.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn shuffle<T>(&mut self, items: &mut [T]) {
        for last in (1..items.len()).rev() {
            let other = (self.next() % (last as u64 + 1)) as usize;
            items.swap(last, other);
        }
    }
}

fn content(octets: usize) -> Vec<u8> {
    (0..octets).map(|at| b'a' + (at % 23) as u8).collect()
}

/// Drops this machine's page cache: `sync`, then `echo 3 > /proc/sys/vm/drop_caches`.
/// Returns whether that was possible (root only).
fn drop_caches() -> bool {
    let synced = std::process::Command::new("sync")
        .status()
        .is_ok_and(|status| status.success());
    synced && std::fs::write("/proc/sys/vm/drop_caches", "3\n").is_ok()
}

/// One mailbox per message size, filled by the same run.
struct Class {
    octets: usize,
    mailbox: MailboxKey,
}

/// Writes `fill_octets` of messages, a third in each size, in random order, then closes the
/// store (which writes a checkpoint). Returns the classes, the message count and the time.
async fn fill(directory: &Path, fill_octets: u64, random: &mut Random) -> (Vec<Class>, u64, f64) {
    let disk = FileDisk::new(directory, 0).expect("shard directory");
    let (store, _) = Store::open(disk, LogConfig::new(0)).await.expect("open");
    let (account, _) = store
        .create_account(1, "reader@example.org", 0, 0)
        .await
        .expect("account");
    let mut classes = Vec::new();
    let mut schedule = Vec::new();
    for (class, octets) in SIZES_OCTETS.into_iter().enumerate() {
        let name = format!("size-{octets}");
        let (mailbox, _) = store.create_mailbox(account, &name).await.expect("mailbox");
        classes.push(Class { octets, mailbox });
        let count = (fill_octets / 3 / octets as u64).max(1);
        schedule.extend(std::iter::repeat_n(class, count as usize));
    }
    random.shuffle(&mut schedule);
    let schedule = Rc::new(schedule);
    let contents: Rc<Vec<Vec<u8>>> = Rc::new(SIZES_OCTETS.map(content).to_vec());
    let mailboxes: Rc<Vec<MailboxKey>> =
        Rc::new(classes.iter().map(|class| class.mailbox).collect());
    let next = Rc::new(Cell::new(0usize));
    let started = Instant::now();
    let writers: Vec<_> = (0..FILL_WRITERS)
        .map(|_| {
            let (store, schedule, contents) = (store.clone(), schedule.clone(), contents.clone());
            let (mailboxes, next) = (mailboxes.clone(), next.clone());
            glommio::spawn_local(async move {
                while let Some(&class) = schedule.get(next.get()) {
                    next.set(next.get() + 1);
                    let mut message = store.begin_message(1);
                    message.write(&contents[class]).await.expect("write");
                    let (_uid, _durable) = message
                        .commit(mailboxes[class], MessageMeta::default())
                        .await
                        .expect("commit");
                }
            })
        })
        .collect();
    for writer in writers {
        writer.await;
    }
    let seconds = started.elapsed().as_secs_f64();
    store.close().await.expect("close");
    (classes, schedule.len() as u64, seconds)
}

struct Row {
    reads: u64,
    octets: u64,
    elapsed: Duration,
    latency_us: Histogram<u64>,
}

/// What the readers of one case share.
struct Case {
    mailbox: MailboxKey,
    expected: Vec<u8>,
    order: Vec<Uid>,
    /// Wrap around `order` until the deadline (warm), or stop at its end (cold).
    wrap: bool,
    deadline: Instant,
    claimed: Cell<usize>,
    reads: Cell<u64>,
    latency_us: RefCell<Histogram<u64>>,
}

impl Case {
    fn claim(&self) -> Option<Uid> {
        let claimed = self.claimed.get();
        if Instant::now() >= self.deadline || (!self.wrap && claimed >= self.order.len()) {
            return None;
        }
        self.claimed.set(claimed + 1);
        Some(self.order[claimed % self.order.len()])
    }

    fn check(&self, read: &[u8]) {
        assert_eq!(read.len(), self.expected.len(), "short read");
        let tail = read.len() - CHECK_OCTETS;
        assert!(
            read[..CHECK_OCTETS] == self.expected[..CHECK_OCTETS]
                && read[tail..] == self.expected[tail..],
            "content read back differs from what was written"
        );
    }
}

/// Reads messages of `order` with `readers` concurrent readers until the deadline.
async fn read_case(store: &Rc<Store<FileDisk>>, case: Case, readers: usize) -> (Row, Vec<Uid>) {
    let case = Rc::new(case);
    let started = Instant::now();
    let tasks: Vec<_> = (0..readers)
        .map(|_| {
            let (store, case) = (store.clone(), case.clone());
            glommio::spawn_local(async move {
                let mut buffer = vec![0u8; case.expected.len()];
                while let Some(uid) = case.claim() {
                    let begun = Instant::now();
                    let filled = store
                        .read(case.mailbox, uid, 0, &mut buffer)
                        .await
                        .expect("read");
                    let micros = begun.elapsed().as_micros() as u64;
                    let _ = case
                        .latency_us
                        .borrow_mut()
                        .record(micros.clamp(1, LATENCY_US_MAX));
                    case.check(&buffer[..filled]);
                    case.reads.set(case.reads.get() + 1);
                }
            })
        })
        .collect();
    for task in tasks {
        task.await;
    }
    let reads = case.reads.get();
    let row = Row {
        reads,
        octets: reads * case.expected.len() as u64,
        elapsed: started.elapsed(),
        latency_us: case.latency_us.borrow().clone(),
    };
    let read = case.order[..case.claimed.get().min(case.order.len())].to_vec();
    (row, read)
}

fn new_case(class: &Class, order: Vec<Uid>, wrap: bool, seconds: f64) -> Case {
    Case {
        mailbox: class.mailbox,
        expected: content(class.octets),
        order,
        wrap,
        deadline: Instant::now() + Duration::from_secs_f64(seconds),
        claimed: Cell::new(0),
        reads: Cell::new(0),
        latency_us: RefCell::new(
            Histogram::new_with_bounds(1, LATENCY_US_MAX, 3).expect("histogram bounds"),
        ),
    }
}

fn size_name(octets: usize) -> String {
    if octets >= 1024 * 1024 {
        format!("{} MiB", octets / (1024 * 1024))
    } else {
        format!("{} KiB", octets / 1024)
    }
}

fn print_row(octets: usize, cache: &str, readers: usize, row: &Row) {
    let seconds = row.elapsed.as_secs_f64();
    println!(
        "| {} | {cache} | {readers} | {} | {:.1} | {:.0} | {} | {} |",
        size_name(octets),
        row.reads,
        row.octets as f64 / seconds / 1e6,
        row.reads as f64 / seconds,
        row.latency_us.value_at_quantile(0.50),
        row.latency_us.value_at_quantile(0.99),
    );
}

async fn run(root: PathBuf, options: Options) {
    let directory = tempfile::Builder::new()
        .prefix("postern-bench-read-")
        .tempdir_in(&root)
        .expect("bench directory");
    let mut random = Random(0x9E37_79B9_7F4A_7C15);
    let fill_octets = options.fill_mib * 1024 * 1024;
    let (classes, messages, fill_seconds) = fill(directory.path(), fill_octets, &mut random).await;
    println!(
        "Filled {} MiB: {messages} messages in {fill_seconds:.1} s ({:.0} MB/s with group commit, {FILL_WRITERS} writers).",
        options.fill_mib,
        fill_octets as f64 / fill_seconds / 1e6,
    );
    let disk = FileDisk::new(directory.path(), 0).expect("shard directory");
    let (store, _) = Store::open(disk, LogConfig::new(0)).await.expect("reopen");
    let mut dropped = Vec::new();
    let mut rows = Vec::new();
    for class in &classes {
        let mut uids: Vec<Uid> = {
            let state = store.state();
            let mailbox = state.mailbox(class.mailbox).expect("mailbox");
            mailbox
                .index
                .entries()
                .iter()
                .map(|entry| entry.uid)
                .collect()
        };
        for readers in READERS {
            random.shuffle(&mut uids);
            dropped.push(drop_caches());
            let cold = new_case(class, uids.clone(), false, options.seconds);
            let (row, mut read) = read_case(&store, cold, readers).await;
            rows.push((class.octets, "cold", readers, row));
            random.shuffle(&mut read);
            let warm = new_case(class, read, true, options.seconds);
            let (row, _) = read_case(&store, warm, readers).await;
            rows.push((class.octets, "warm", readers, row));
        }
    }
    let dropped_every_time = dropped.iter().all(|dropped| *dropped);
    println!(
        "Page cache dropped before each cold case: {}.",
        if dropped_every_time {
            "yes (sync; echo 3 > /proc/sys/vm/drop_caches)"
        } else if dropped.iter().any(|dropped| *dropped) {
            "only sometimes: the cold rows are partly warm"
        } else {
            "no (not root?): the cold rows are not cold"
        }
    );
    println!();
    println!("| size | cache | readers | reads | MB/s | reads/s | p50 µs | p99 µs |");
    println!("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |");
    for (octets, cache, readers, row) in &rows {
        print_row(*octets, cache, *readers, row);
    }
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
