//! How long a compaction pass holds its shard, against how many messages the shard has.
//!
//! Compaction runs beside the shard's other work, but it works on the index in synchronous
//! slices (walks that pick the segments and collect a segment's live locations, the move of the
//! index to the rewritten file), during each of which no other task of the shard runs. For each size in
//! `--messages` this fills a shard on a real directory with small messages (1,000 per account,
//! 5 mailboxes per account; by default 16 MiB segments so there are many), expunges two of three messages
//! of the oldest fifth of each mailbox (so the oldest segments qualify and the index keeps most
//! messages) and runs one pass: segments rewritten, the pass's wall time,
//! `CompactionReport::longest_hold`, and the hold of the checkpoint the pass ends with (one
//! synchronous encode of the whole state). Filling runs with fdatasync off (it is not what is
//! measured); its data is written back before the pass. Prints Markdown.
//!
//! `cargo run --release -p postern-bench --bin storage_compaction -- [--messages N,N,...]
//!  [--message-octets N] [--segment-mib N]` (defaults 100 octets, 16 MiB)
//! Environment: `POSTERN_BENCH_DIR` (default /tmp; must be a real disk, not tmpfs).

use postern_bench::Arguments;
use postern_bench::fill::{MAILBOXES_PER_ACCOUNT, create_mailboxes, write_messages};
use postern_storage::files::FileDisk;
use postern_storage::{FsyncMode, LogConfig, MessageMeta, Store, UidRange};
use std::rc::Rc;
use std::time::Instant;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const ARGUMENTS: Arguments = Arguments::new(
    "storage_compaction",
    "[--messages N,N,...] [--message-octets N] [--segment-mib N]",
);
const MESSAGES_DEFAULT: [u64; 3] = [10_000, 100_000, 1_000_000];
const MESSAGES_PER_ACCOUNT: u64 = 1000;
const MESSAGE_OCTETS_DEFAULT: usize = 100;
const WRITERS: usize = 64;
const SEGMENT_MIB_DEFAULT: u64 = 16;

/// The shard's shape.
#[derive(Clone, Copy)]
struct Shape {
    message_octets: usize,
    segment_mib: u64,
}

fn meta(ordinal: u64) -> MessageMeta {
    MessageMeta {
        internal_date_secs: 1_790_000_000 + ordinal as i64,
        ..Default::default()
    }
}

/// One row of the table.
struct Row {
    index_entries: usize,
    segments: usize,
    seconds: f64,
    hold_ms: f64,
    checkpoint_hold_ms: f64,
}

async fn measure(messages: u64, shape: Shape) -> Row {
    let root = std::env::var("POSTERN_BENCH_DIR").unwrap_or_else(|_| "/tmp".into());
    let directory = tempfile::Builder::new()
        .prefix("postern-compaction-")
        .tempdir_in(root)
        .expect("bench directory");
    let mut config = LogConfig::new(0);
    config.fsync_mode = FsyncMode::UnsafeNone;
    config.segment_octets_max = shape.segment_mib * 1024 * 1024;
    config.checkpoint_interval_octets = 0;
    config.compaction_interval_octets = 0;
    config.compaction_octets_per_sec = 0;
    let disk = FileDisk::new(directory.path(), 0).expect("disk");
    let (store, _) = Store::open(disk, config).await.expect("open");
    let accounts = messages.div_ceil(MESSAGES_PER_ACCOUNT) as usize;
    let mailboxes = Rc::new(create_mailboxes(&store, accounts).await);
    write_messages(
        &store,
        &mailboxes,
        0..messages,
        shape.message_octets,
        WRITERS,
        meta,
    )
    .await;
    // Two of three of the oldest fifth: every such UID not divisible by 3, in every mailbox.
    let per_mailbox = (messages / mailboxes.len() as u64 + 1) as u32;
    let doomed: Vec<UidRange> = (1..=per_mailbox.div_ceil(5))
        .filter(|uid| uid % 3 != 0)
        .map(UidRange::one)
        .collect();
    for mailbox in mailboxes.iter() {
        let (_, _durable) = store.expunge(*mailbox, &doomed).await.expect("expunge");
    }
    let index_entries = {
        let state = store.state();
        let accounts = state.accounts.values();
        accounts
            .flat_map(|account| account.mailboxes.values())
            .map(|mailbox| mailbox.index.len())
            .sum()
    };
    settle(directory.path());
    let started = Instant::now();
    let report = store.compact().await.expect("compact");
    let seconds = started.elapsed().as_secs_f64();
    let checkpoint_hold = store.last_checkpoint_hold();
    store.close().await.expect("close");
    Row {
        index_entries,
        segments: report.compacted.len(),
        seconds,
        hold_ms: report.longest_hold.as_secs_f64() * 1000.0,
        checkpoint_hold_ms: checkpoint_hold.as_secs_f64() * 1000.0,
    }
}

/// Writes back what filling left in the page cache: the kernel's writeback would otherwise
/// compete with the pass for the CPUs and show up in its holds.
fn settle(directory: &std::path::Path) {
    let shard = directory.join("shard-0");
    for entry in std::fs::read_dir(shard).expect("shard directory") {
        let path = entry.expect("entry").path();
        if path.is_file() {
            let file = std::fs::File::open(&path).expect("open");
            file.sync_all().expect("sync");
        }
    }
}

fn main() {
    let mut sizes = MESSAGES_DEFAULT.to_vec();
    let mut shape = Shape {
        message_octets: MESSAGE_OCTETS_DEFAULT,
        segment_mib: SEGMENT_MIB_DEFAULT,
    };
    for (flag, value) in ARGUMENTS.pairs() {
        match flag.as_str() {
            "--messages" => {
                sizes = value
                    .split(',')
                    .map(|size| ARGUMENTS.parse(&flag, size))
                    .collect()
            }
            "--message-octets" => shape.message_octets = ARGUMENTS.parse(&flag, &value),
            "--segment-mib" => shape.segment_mib = ARGUMENTS.parse(&flag, &value),
            _ => ARGUMENTS.fail(&format!("unknown flag {flag}")),
        }
    }
    println!(
        "accounts of {MESSAGES_PER_ACCOUNT} messages in {MAILBOXES_PER_ACCOUNT} mailboxes, \
         {}-octet messages, {} MiB segments, 2 of 3 of the oldest fifth expunged\n",
        shape.message_octets, shape.segment_mib
    );
    println!(
        "| messages written | index entries | segments rewritten | pass s | longest hold ms | \
         checkpoint hold ms |"
    );
    println!("| ---: | ---: | ---: | ---: | ---: | ---: |");
    for messages in sizes {
        let executor = glommio::LocalExecutorBuilder::default()
            .make()
            .expect("executor");
        let row = executor.run(measure(messages, shape));
        println!(
            "| {messages} | {} | {} | {:.2} | {:.2} | {:.2} |",
            row.index_entries, row.segments, row.seconds, row.hold_ms, row.checkpoint_hold_ms
        );
    }
}
