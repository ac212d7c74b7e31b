//! The storage crate's hot paths through its public API, on the in-memory simulated disk
//! (`postern_storage::sim::SimDisk`, no faults), so the figures are CPU cost, not device time:
//!
//! - `append`: `begin_message`, `write` in 64 KiB pieces and `commit` (group commit, its
//!   `Durable` receipt awaited) of 16 messages per iteration, by 1 writer in turn or by 16
//!   concurrent writers; 4 KiB and 64 KiB messages with their MIME analysis as parse results.
//!   Each iteration is one `glommio::LocalExecutor::run`, whose own cost is `executor_run`.
//!   The simulated disk copies each write and, at fdatasync, copies it again into its durable
//!   image; background checkpoints and compaction are off.
//! - `read_content`: `Store::read` of one whole message (every extent), `read_commit`: its
//!   commit record (parse results, keywords, extents, checked); seeded random UIDs of a
//!   mailbox of 2,048 4 KiB or 512 64 KiB messages. SimDisk reads complete at once, so each
//!   read is polled once, outside any executor.
//! - `index_get`, `index_sequence_of`, `index_range`: `MessageIndex` lookups on 100,000
//!   entries with seeded UID gaps (expunged messages); `index_range` takes 100-UID windows.
//!
//! `cargo bench -p postern-bench --bench storage`

mod support;

use divan::Bencher;
use divan::counter::{BytesCount, ItemsCount};
use postern_storage::index::{MessageEntry, MessageIndex, PackedExtent};
use postern_storage::sim::{Faults, SimDisk};
use postern_storage::{LogConfig, MailboxKey, MessageMeta, Store, SystemFlags, Uid, UidRange};
use std::future::Future;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use support::{KIB, MIB, Rng, Shape};

const MESSAGES_PER_ITERATION: usize = 16;
/// Append runs a fixed number of iterations: the simulated disk keeps every octet in memory.
const APPEND_SAMPLES: u32 = 20;
const APPEND_SAMPLE_SIZE: u32 = 5;
/// What a network read hands the message writer at most.
const WRITE_OCTETS: usize = 64 * KIB;
const INDEX_ENTRIES: u32 = 100_000;
const INDEX_RANGE_UIDS: u32 = 100;
const PROBES: usize = 4096;
/// Operations per sample, fixed: a sample of one sub-microsecond operation would be mostly
/// timer, which divan's own tuning can settle on when the first run is cold.
const READ_SAMPLE_SIZE: u32 = 64;
const LOOKUP_SAMPLE_SIZE: u32 = 1024;

fn main() {
    divan::main();
}

fn executor() -> glommio::LocalExecutor {
    glommio::LocalExecutorBuilder::default()
        .make()
        .expect("executor")
}

/// One segment holds everything a case writes: no segment is created (and preallocated in
/// memory by the simulated disk) while measuring.
fn log_config(segment_octets: u64) -> LogConfig {
    let mut config = LogConfig::new(0);
    config.segment_octets_max = segment_octets;
    config.salt_seed = Some(1);
    config.checkpoint_interval_octets = 0;
    config.compaction_interval_octets = 0;
    config
}

async fn open(segment_octets: u64, mailboxes: &[&str]) -> (Rc<Store<SimDisk>>, Vec<MailboxKey>) {
    let disk = SimDisk::new(Faults::default());
    let (store, _) = Store::open(disk, log_config(segment_octets))
        .await
        .expect("open");
    let (account, _) = store
        .create_account(1, "bench@example.org", 0, 0)
        .await
        .expect("account");
    let mut keys = Vec::new();
    for name in mailboxes {
        let (mailbox, _) = store.create_mailbox(account, name).await.expect("mailbox");
        keys.push(mailbox);
    }
    (store, keys)
}

/// A message and what delivery would commit with it.
fn message(octets: usize, seed: u64) -> (Rc<Vec<u8>>, MessageMeta) {
    let content = support::message(Shape::Plain, octets, seed);
    let mut analyzer = postern::mime::Analyzer::new();
    analyzer.feed(&content);
    let meta = MessageMeta {
        internal_date_secs: 1_745_000_000,
        flags: SystemFlags::default(),
        keywords: Vec::new(),
        parse: analyzer.finish().encode(),
        envelope: Vec::new(),
    };
    (Rc::new(content), meta)
}

async fn append_one(
    store: &Rc<Store<SimDisk>>,
    mailbox: MailboxKey,
    content: &[u8],
    meta: MessageMeta,
) -> Uid {
    let mut writer = store.begin_message(mailbox.account.partition);
    for piece in content.chunks(WRITE_OCTETS) {
        writer.write(piece).await.expect("write");
    }
    let (uid, _durable) = writer.commit(mailbox, meta).await.expect("commit");
    uid
}

#[derive(Debug, Clone, Copy)]
struct AppendCase {
    octets: usize,
    writers: usize,
}

impl std::fmt::Display for AppendCase {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            formatter,
            "{}, {} writer{}",
            support::size_name(self.octets),
            self.writers,
            if self.writers == 1 { "" } else { "s" }
        )
    }
}

const APPEND_CASES: [AppendCase; 4] = [
    AppendCase {
        octets: 4 * KIB,
        writers: 1,
    },
    AppendCase {
        octets: 4 * KIB,
        writers: 16,
    },
    AppendCase {
        octets: 64 * KIB,
        writers: 1,
    },
    AppendCase {
        octets: 64 * KIB,
        writers: 16,
    },
];

/// 16 messages per iteration; the throughput is messages/s and MB/s of content.
#[divan::bench(args = APPEND_CASES, sample_count = APPEND_SAMPLES, sample_size = APPEND_SAMPLE_SIZE)]
fn append(bencher: Bencher, case: AppendCase) {
    let (content, meta) = message(case.octets, 0xa99e ^ case.octets as u64);
    let iterations = (APPEND_SAMPLES * APPEND_SAMPLE_SIZE) as usize;
    let planned = iterations * MESSAGES_PER_ITERATION * (content.len() + 256);
    let segment_octets = (planned as u64 + MIB as u64)
        .next_power_of_two()
        .max(MIB as u64);
    let executor = executor();
    let (store, mailboxes) = executor.run(open(segment_octets, &["INBOX"]));
    let mailbox = mailboxes[0];
    let per_writer = MESSAGES_PER_ITERATION / case.writers;
    bencher
        .counter(ItemsCount::new(MESSAGES_PER_ITERATION))
        .counter(BytesCount::new(MESSAGES_PER_ITERATION * content.len()))
        .bench_local(|| {
            executor.run(async {
                let tasks: Vec<_> = (0..case.writers)
                    .map(|_| {
                        let store = store.clone();
                        let content = content.clone();
                        let meta = meta.clone();
                        glommio::spawn_local(async move {
                            for _ in 0..per_writer {
                                append_one(&store, mailbox, &content, meta.clone()).await;
                            }
                        })
                    })
                    .collect();
                for task in tasks {
                    task.await;
                }
            })
        });
    executor.run(async { store.close().await.expect("close") });
}

/// The cost of one `LocalExecutor::run` that spawns nothing, part of every `append` iteration.
#[divan::bench(sample_size = READ_SAMPLE_SIZE)]
fn executor_run(bencher: Bencher) {
    let executor = executor();
    bencher.bench_local(|| executor.run(async { divan::black_box(1) }));
}

/// Polls a future that must complete at once (a read from the simulated disk).
fn ready<T>(future: impl Future<Output = T>) -> T {
    let mut future = std::pin::pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(value) => value,
        Poll::Pending => panic!("a read from the simulated disk waited"),
    }
}

/// A store with one mailbox of 2,048 messages of 4 KiB, or 512 of 64 KiB, appended by 16
/// writers so their content interleaves in the log as on a busy shard.
struct Filled {
    executor: glommio::LocalExecutor,
    store: Rc<Store<SimDisk>>,
    mailbox: MailboxKey,
    uids: Vec<Uid>,
    /// The size of each message.
    octets: usize,
}

fn filled(nominal_octets: usize) -> Filled {
    const WRITERS: usize = 16;
    let count = if nominal_octets <= 4 * KIB { 2048 } else { 512 };
    let executor = executor();
    let (store, keys) = executor.run(open(64 * MIB as u64, &["INBOX"]));
    let mailbox = keys[0];
    let (content, meta) = message(nominal_octets, 0x4ead ^ nominal_octets as u64);
    let uids = executor.run(async {
        let tasks: Vec<_> = (0..WRITERS)
            .map(|_| {
                let (store, content, meta) = (store.clone(), content.clone(), meta.clone());
                glommio::spawn_local(async move {
                    let mut uids = Vec::new();
                    for _ in 0..count / WRITERS {
                        uids.push(append_one(&store, mailbox, &content, meta.clone()).await);
                    }
                    uids
                })
            })
            .collect();
        let mut uids = Vec::new();
        for task in tasks {
            uids.extend(task.await);
        }
        uids
    });
    Filled {
        executor,
        store,
        mailbox,
        uids,
        octets: content.len(),
    }
}

impl Filled {
    fn close(self) {
        self.executor
            .run(async { self.store.close().await.expect("close") });
    }
}

fn probes<T: Copy>(items: &[T], seed: u64) -> Vec<T> {
    let mut rng = Rng::new(seed);
    (0..PROBES)
        .map(|_| items[rng.below(items.len() as u64) as usize])
        .collect()
}

#[derive(Debug, Clone, Copy)]
struct Size(usize);

impl std::fmt::Display for Size {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(&support::size_name(self.0))
    }
}

const READ_SIZES: [Size; 2] = [Size(4 * KIB), Size(64 * KIB)];

/// One whole message per iteration; the throughput is MB/s of content.
#[divan::bench(args = READ_SIZES, sample_size = READ_SAMPLE_SIZE)]
fn read_content(bencher: Bencher, size: Size) {
    let filled = filled(size.0);
    let uids = probes(&filled.uids, 0x4ead_0001);
    let octets = filled.octets;
    let mut buffer = vec![0; octets + KIB];
    let mut next = 0;
    bencher
        .counter(BytesCount::new(octets))
        .with_inputs(|| {
            next = (next + 1) % uids.len();
            uids[next]
        })
        .bench_local_values(|uid| {
            let read = ready(filled.store.read(filled.mailbox, uid, 0, &mut buffer)).expect("read");
            assert_eq!(read, octets);
        });
    filled.close();
}

#[divan::bench(args = READ_SIZES, sample_size = READ_SAMPLE_SIZE)]
fn read_commit(bencher: Bencher, size: Size) {
    let filled = filled(size.0);
    let uids = probes(&filled.uids, 0x4ead_0002);
    let mut next = 0;
    bencher
        .counter(ItemsCount::new(1u32))
        .with_inputs(|| {
            next = (next + 1) % uids.len();
            uids[next]
        })
        .bench_local_values(|uid| {
            ready(filled.store.read_commit(filled.mailbox, uid))
                .expect("commit record")
                .size_octets
        });
    filled.close();
}

/// 100,000 entries; one UID in ten is followed by a gap of up to 19 (expunged messages).
fn index() -> (MessageIndex, Vec<Uid>) {
    let mut rng = Rng::new(0x1de8);
    let mut index = MessageIndex::default();
    let mut uids = Vec::with_capacity(INDEX_ENTRIES as usize);
    let mut uid: Uid = 0;
    for position in 0..INDEX_ENTRIES {
        uid += 1;
        if rng.below(10) == 0 {
            uid += rng.below(20) as Uid;
        }
        let size_octets = 2_000 + rng.below(60_000) as u32;
        let extent = PackedExtent {
            sequence: 1 + position / 4_000,
            offset: (position % 4_000) * 65_536,
            octets: size_octets,
        };
        let date = 1_700_000_000 + i64::from(position) * 60;
        index.push(
            MessageEntry::new(
                uid,
                SystemFlags::SEEN,
                0,
                size_octets,
                u64::from(position) + 1,
                (date, Some(date)),
                (extent.sequence, extent.offset + size_octets),
                extent,
            ),
            Vec::new(),
        );
        uids.push(uid);
    }
    (index, uids)
}

/// One lookup per iteration on the 100,000-entry index, at UIDs drawn with `seed`.
fn bench_lookup<T>(bencher: Bencher, seed: u64, lookup: impl Fn(&MessageIndex, Uid) -> T) {
    let (index, uids) = index();
    let probes = probes(&uids, seed);
    let mut next = 0;
    bencher
        .counter(ItemsCount::new(1u32))
        .with_inputs(|| {
            next = (next + 1) % probes.len();
            probes[next]
        })
        .bench_local_values(|uid| lookup(&index, uid));
}

#[divan::bench(sample_size = LOOKUP_SAMPLE_SIZE)]
fn index_get(bencher: Bencher) {
    bench_lookup(bencher, 1, |index, uid| {
        index.get(uid).map(|entry| entry.size_octets)
    });
}

#[divan::bench(sample_size = LOOKUP_SAMPLE_SIZE)]
fn index_sequence_of(bencher: Bencher) {
    bench_lookup(bencher, 2, |index, uid| index.sequence_of(uid));
}

#[divan::bench(sample_size = LOOKUP_SAMPLE_SIZE)]
fn index_range(bencher: Bencher) {
    bench_lookup(bencher, 3, |index, first| {
        index
            .range(UidRange {
                first,
                last: first + INDEX_RANGE_UIDS - 1,
            })
            .len()
    });
}
