//! Restart time of a shard and the memory its indexes take once open.
//!
//! Restart time: fills a shard on a real directory with `--log-mib` MiB of 4 KiB messages, and
//! another with 64 KiB messages (group commit, fdatasync on, 10 accounts × 5 mailboxes),
//! writing a checkpoint `--tail-mib` MiB before the end and stopping without `close` (as a
//! crash after the last durable write would); plus a shard with no messages. Then it times
//! `Store::open` three ways: a full replay (the checkpoints moved out of the directory), from
//! the checkpoint plus the tail after it, and from the checkpoint `close` writes (the restart
//! after a clean shutdown); each `OPENS` times with the page cache dropped first (`sync`, then
//! `echo 3 > /proc/sys/vm/drop_caches`: root only, the output says whether it was possible)
//! and as many times warm.
//!
//! Memory: fills shards with `--index-messages` small messages (100,000 and 1,000,000 by
//! default; 1,000 per account, 5 mailboxes per account, ¾ of them `\Seen`, ¼ with keywords
//! from four sets) and closes them; plus an empty shard and one with 10,000 empty mailboxes.
//! Each is opened from its checkpoint and by full replay. Memory is the open's growth of the
//! process's `VmRSS` (`/proc/self/status`): right after the open, and "held" once mimalloc has
//! returned the memory it keeps free (`mi_collect`), next to the index's own accounting:
//! 64-octet entries plus 12 octets per extra extent.
//!
//! Every open runs in a fresh process (this binary, re-executed with
//! `POSTERN_BENCH_OPEN_DIRECTORY` set), so no cache or heap of an earlier open is counted.
//! It uses mimalloc, the server's allocator. Prints Markdown.
//!
//! `cargo run --release -p postern-bench --bin storage_recovery -- [--log-mib N]
//! [--tail-mib N] [--index-messages N,N,...]`
//! Environment: `POSTERN_BENCH_DIR` (default /tmp; must be a real disk, not tmpfs).

use postern_bench::Arguments;
use postern_bench::fill::{MAILBOXES_PER_ACCOUNT, create_mailboxes, write_messages};
use postern_storage::files::FileDisk;
use postern_storage::index::{MessageEntry, PackedExtent};
use postern_storage::mailbox::State;
use postern_storage::{FsyncMode, LogConfig, MessageMeta, Store, SystemFlags};
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::Instant;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

unsafe extern "C" {
    /// mimalloc's public `void mi_collect(bool force)`: returns the memory it holds free to
    /// the system (linked in by the `mimalloc` crate).
    fn mi_collect(force: bool);
}

/// Set in a child process: the data directory to open.
const CHILD_ENVIRONMENT: &str = "POSTERN_BENCH_OPEN_DIRECTORY";
const LOG_MIB_DEFAULT: u64 = 1024;
const TAIL_MIB_DEFAULT: u64 = 128;
const INDEX_MESSAGES_DEFAULT: [u64; 2] = [100_000, 1_000_000];
const MESSAGES_PER_ACCOUNT: u64 = 1000;
/// Content of the messages of the memory fills: the index does not depend on it.
const SMALL_MESSAGE_OCTETS: usize = 100;
const EMPTY_MAILBOXES: usize = 10_000;
/// Opens of each kind (cold, warm) per scenario of the restart table.
const OPENS: usize = 3;
const KEYWORD_SETS: [&[&str]; 4] = [
    &["$Forwarded"],
    &["$MDNSent"],
    &["$Junk"],
    &["$Forwarded", "project-x"],
];

struct Options {
    log_mib: u64,
    tail_mib: u64,
    index_messages: Vec<u64>,
}

const ARGUMENTS: Arguments = Arguments::new(
    "storage_recovery",
    "[--log-mib N] [--tail-mib N] [--index-messages N,N,...]",
);

fn options() -> Options {
    let mut options = Options {
        log_mib: LOG_MIB_DEFAULT,
        tail_mib: TAIL_MIB_DEFAULT,
        index_messages: INDEX_MESSAGES_DEFAULT.to_vec(),
    };
    for (flag, value) in ARGUMENTS.pairs() {
        match flag.as_str() {
            "--log-mib" => options.log_mib = ARGUMENTS.parse(&flag, &value),
            "--tail-mib" => options.tail_mib = ARGUMENTS.parse(&flag, &value),
            "--index-messages" => {
                options.index_messages = value
                    .split(',')
                    .map(|count| ARGUMENTS.parse(&flag, count))
                    .collect()
            }
            _ => ARGUMENTS.fail(&format!("unknown flag {flag}")),
        }
    }
    if options.tail_mib >= options.log_mib {
        ARGUMENTS.fail("--tail-mib must be below --log-mib");
    }
    options
}

/// A `/proc/self/status` field in KiB (`VmRSS:`, `VmHWM:`).
fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|line| {
            let value = line.strip_prefix(field)?.trim().strip_suffix("kB")?;
            value.trim().parse().ok()
        })
        .unwrap_or_else(|| panic!("no {field} in /proc/self/status"))
}

/// Drops this machine's page cache: `sync`, then `echo 3 > /proc/sys/vm/drop_caches`.
/// Returns whether that was possible (root only).
fn drop_caches() -> bool {
    let synced = std::process::Command::new("sync")
        .status()
        .is_ok_and(|status| status.success());
    synced && std::fs::write("/proc/sys/vm/drop_caches", "3\n").is_ok()
}

fn config(fsync_mode: FsyncMode) -> LogConfig {
    let mut config = LogConfig::new(0);
    config.fsync_mode = fsync_mode;
    // Checkpoints only where this benchmark asks for them; no compaction.
    config.checkpoint_interval_octets = 0;
    config.compaction_interval_octets = 0;
    config
}

fn executor() -> glommio::LocalExecutor {
    glommio::LocalExecutorBuilder::default()
        .make()
        .expect("executor")
}

/// What the index holds, counted from the open state.
#[derive(Default)]
struct Census {
    accounts: u64,
    mailboxes: u64,
    messages: u64,
    extra_extents: u64,
    keyword_sets: u64,
}

fn census(state: &State) -> Census {
    let mut census = Census::default();
    for account in state.accounts.values() {
        census.accounts += 1;
        for mailbox in account.mailboxes.values() {
            census.mailboxes += 1;
            let index = &mailbox.index;
            census.messages += index.len() as u64;
            let mut sets = HashSet::new();
            for entry in index.entries() {
                census.extra_extents += index.extents(entry).len() as u64 - 1;
                if entry.keyword_set != 0 {
                    sets.insert(entry.keyword_set);
                }
            }
            census.keyword_sets += sets.len() as u64;
        }
    }
    census
}

/// The child: opens the shard, prints one `OPENED key=value ...` line, exits without `close`
/// (which would write a checkpoint).
fn child(directory: PathBuf) {
    executor().run(async move {
        let rss_before_kib = status_kib("VmRSS:");
        let disk = FileDisk::new(&directory, 0).expect("shard directory");
        let started = Instant::now();
        let (store, report) = Store::open(disk, config(FsyncMode::Always))
            .await
            .expect("open");
        let open_us = started.elapsed().as_micros();
        let rss_after_kib = status_kib("VmRSS:");
        let hwm_kib = status_kib("VmHWM:");
        // SAFETY: takes no pointer; mimalloc is the allocator of this process.
        unsafe { mi_collect(true) };
        let rss_collected_kib = status_kib("VmRSS:");
        assert!(report.damaged.is_empty() && report.anomalies.is_empty());
        let census = census(&store.state());
        println!(
            "OPENED open_us={open_us} records={} checkpoint={} accounts={} mailboxes={} \
             messages={} extra_extents={} keyword_sets={} rss_before_kib={rss_before_kib} \
             rss_after_kib={rss_after_kib} rss_collected_kib={rss_collected_kib} \
             hwm_kib={hwm_kib}",
            report.records,
            u8::from(report.checkpoint.is_some()),
            census.accounts,
            census.mailboxes,
            census.messages,
            census.extra_extents,
            census.keyword_sets,
        );
    });
}

/// What a child reported.
struct Opened(BTreeMap<String, u64>);

impl Opened {
    fn get(&self, key: &str) -> u64 {
        *self
            .0
            .get(key)
            .unwrap_or_else(|| panic!("child gave no {key}"))
    }
    fn seconds(&self) -> f64 {
        self.get("open_us") as f64 / 1e6
    }
    fn rss_growth_octets(&self) -> u64 {
        (self.get("rss_after_kib") - self.get("rss_before_kib")) * 1024
    }
    /// After the allocator returned what it held free (`mi_collect`).
    fn held_growth_octets(&self) -> u64 {
        self.get("rss_collected_kib")
            .saturating_sub(self.get("rss_before_kib"))
            * 1024
    }
    fn peak_growth_octets(&self) -> u64 {
        (self.get("hwm_kib") - self.get("rss_before_kib")) * 1024
    }
}

/// Opens the shard in `directory` in a fresh process.
fn open_in_child(directory: &Path) -> Opened {
    let output = std::process::Command::new(std::env::current_exe().expect("own path"))
        .env(CHILD_ENVIRONMENT, directory)
        .output()
        .expect("child");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "child failed: {stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let line = stdout
        .lines()
        .find_map(|line| line.strip_prefix("OPENED "))
        .expect("child printed no OPENED line");
    let fields = line
        .split_whitespace()
        .filter_map(|field| {
            let (key, value) = field.split_once('=')?;
            Some((key.to_string(), value.parse().ok()?))
        })
        .collect();
    Opened(fields)
}

/// Moves the published checkpoints in `from` to `to`; returns the size of the largest.
fn move_checkpoints(from: &Path, to: &Path) -> u64 {
    std::fs::create_dir_all(to).expect("checkpoint directory");
    let mut octets = 0;
    for entry in std::fs::read_dir(from).expect("list shard") {
        let entry = entry.expect("list shard");
        let name = entry.file_name();
        if name.to_string_lossy().ends_with(".chk") {
            octets = octets.max(entry.metadata().expect("stat").len());
            std::fs::rename(entry.path(), to.join(&name)).expect("move checkpoint");
        }
    }
    octets
}

/// Who gets which messages.
struct Plan {
    accounts: usize,
    message_octets: usize,
    messages: u64,
    /// A checkpoint is written after this many messages (the rest is the tail).
    checkpoint_after: Option<u64>,
    /// `close` at the end (a checkpoint with nothing after it), or stop as if crashed.
    close: bool,
    fsync_mode: FsyncMode,
    writers: usize,
}

/// Octets of log appended before and after the checkpoint, and the fill's seconds.
struct Filled {
    before_octets: u64,
    tail_octets: u64,
    seconds: f64,
}

fn meta(ordinal: u64) -> MessageMeta {
    let flags = if ordinal % 4 == 0 {
        SystemFlags::default()
    } else {
        SystemFlags::SEEN
    };
    let keywords = if ordinal % 4 == 1 {
        let set = KEYWORD_SETS[(ordinal / 4 % 4) as usize];
        set.iter().map(|keyword| keyword.to_string()).collect()
    } else {
        Vec::new()
    };
    MessageMeta {
        internal_date_secs: 1_790_000_000 + ordinal as i64,
        flags,
        keywords,
        parse: Vec::new(),
        envelope: Vec::new(),
    }
}

async fn fill(directory: PathBuf, plan: Plan) -> Filled {
    let disk = FileDisk::new(&directory, 0).expect("shard directory");
    let (store, _) = Store::open(disk, config(plan.fsync_mode))
        .await
        .expect("open");
    let started = Instant::now();
    let mailboxes = Rc::new(create_mailboxes(&store, plan.accounts).await);
    let checkpoint_after = plan.checkpoint_after.unwrap_or(plan.messages);
    let (octets, writers) = (plan.message_octets, plan.writers);
    write_messages(
        &store,
        &mailboxes,
        0..checkpoint_after,
        octets,
        writers,
        meta,
    )
    .await;
    let before_octets = store.log().appended_octets();
    if plan.checkpoint_after.is_some() {
        store.checkpoint().await.expect("checkpoint");
    }
    write_messages(
        &store,
        &mailboxes,
        checkpoint_after..plan.messages,
        octets,
        writers,
        meta,
    )
    .await;
    let tail_octets = store.log().appended_octets() - before_octets;
    let seconds = started.elapsed().as_secs_f64();
    if plan.close {
        store.close().await.expect("close");
    }
    Filled {
        before_octets,
        tail_octets,
        seconds,
    }
}

/// Opens and closes the shard, so its newest checkpoint covers the whole log.
async fn open_and_close(directory: PathBuf) {
    let disk = FileDisk::new(&directory, 0).expect("shard directory");
    let (store, _) = Store::open(disk, config(FsyncMode::Always))
        .await
        .expect("open");
    store.close().await.expect("close");
}

fn mib(octets: u64) -> f64 {
    octets as f64 / (1024.0 * 1024.0)
}

/// Opens of one shard: each `OPENS` times cold (page cache dropped first) and warm.
struct Opens {
    cold: Vec<Opened>,
    warm: Vec<Opened>,
    /// The page cache could be dropped before every cold open.
    dropped: bool,
}

impl Opens {
    fn measure(directory: &Path) -> Self {
        let mut opens = Opens {
            cold: Vec::new(),
            warm: Vec::new(),
            dropped: true,
        };
        for _ in 0..OPENS {
            opens.dropped &= drop_caches();
            opens.cold.push(open_in_child(directory));
        }
        for _ in 0..OPENS {
            opens.warm.push(open_in_child(directory));
        }
        opens
    }
}

/// Median and range of the open times, scaled by `per`: "median (min–max)".
fn spread(opens: &[Opened], per: f64) -> String {
    let mut seconds: Vec<f64> = opens.iter().map(|opened| opened.seconds() / per).collect();
    seconds.sort_by(f64::total_cmp);
    let median = seconds[seconds.len() / 2];
    let (low, high) = (seconds[0], seconds[seconds.len() - 1]);
    format!("{median:.2} ({low:.2}–{high:.2})")
}

/// The shard a row of the restart table is about.
struct Log {
    messages: String,
    octets: u64,
}

fn restart_row(log: &Log, name: &str, replayed_octets: u64, opens: &Opens) {
    let gigabytes = log.octets as f64 / 1e9;
    let peak = opens
        .cold
        .iter()
        .chain(&opens.warm)
        .map(Opened::peak_growth_octets)
        .max()
        .unwrap_or(0);
    println!(
        "| {} | {:.0} | {name} | {:.0} | {} | {} | {} | {} | {:.0} |",
        log.messages,
        mib(log.octets),
        mib(replayed_octets),
        opens.cold[0].get("records"),
        spread(&opens.cold, 1.0),
        spread(&opens.warm, 1.0),
        if replayed_octets == log.octets && log.octets > 1024 * 1024 {
            spread(&opens.cold, gigabytes)
        } else {
            "".into()
        },
        mib(peak),
    );
}

fn restart_table(root: &Path, options: &Options) -> bool {
    let mut dropped_always = true;
    println!("## Restart time");
    println!();
    println!(
        "Seconds of `Store::open`, median (min–max) of {OPENS} opens, each in a fresh process."
    );
    println!();
    println!(
        "| messages | log MiB | opened from | replayed MiB | records replayed | cold s | warm s | cold s per GB replayed | peak RSS growth MiB |"
    );
    println!("| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |");
    for octets in [0, 4 * 1024, 64 * 1024] {
        let directory = tempfile::Builder::new()
            .prefix("postern-bench-recovery-")
            .tempdir_in(root)
            .expect("bench directory");
        // A message takes its content plus about 250 octets of framing and commit record.
        let per_message = octets as u64 + 250;
        let (messages, tail) = if octets == 0 {
            (0, 0)
        } else {
            let mib_octets = 1024 * 1024 / per_message;
            (options.log_mib * mib_octets, options.tail_mib * mib_octets)
        };
        let plan = Plan {
            accounts: 10,
            message_octets: octets,
            messages,
            checkpoint_after: (messages > 0).then_some(messages - tail),
            close: messages == 0,
            fsync_mode: FsyncMode::Always,
            writers: 64,
        };
        let filled = executor().run(fill(directory.path().to_path_buf(), plan));
        let log = Log {
            messages: if octets == 0 {
                "none (10 accounts)".into()
            } else {
                format!("{messages} × {} KiB", octets / 1024)
            },
            octets: filled.before_octets + filled.tail_octets,
        };
        eprintln!(
            "filled {:.0} MiB ({}) in {:.1} s",
            mib(log.octets),
            log.messages,
            filled.seconds
        );
        let shard = directory.path().join("shard-0");
        let aside = directory.path().join("checkpoints-aside");
        move_checkpoints(&shard, &aside);
        let opens = Opens::measure(directory.path());
        restart_row(&log, "full replay, no checkpoint", log.octets, &opens);
        dropped_always &= opens.dropped;
        move_checkpoints(&aside, &shard);
        if messages > 0 {
            let opens = Opens::measure(directory.path());
            let name = format!("checkpoint + {:.0} MiB tail", mib(filled.tail_octets));
            restart_row(&log, &name, filled.tail_octets, &opens);
            dropped_always &= opens.dropped;
            executor().run(open_and_close(directory.path().to_path_buf()));
        }
        let opens = Opens::measure(directory.path());
        restart_row(&log, "checkpoint of `close`, no tail", 0, &opens);
        dropped_always &= opens.dropped;
    }
    dropped_always
}

/// One shard of the memory table.
struct Shape {
    name: String,
    accounts: usize,
    messages: u64,
}

/// One open of one shape.
struct MemoryRow {
    shape: usize,
    how: &'static str,
    opened: Opened,
    checkpoint_octets: u64,
}

fn memory_rows(root: &Path, shapes: &[Shape]) -> Vec<MemoryRow> {
    let mut rows = Vec::new();
    for (number, shape) in shapes.iter().enumerate() {
        let directory = tempfile::Builder::new()
            .prefix("postern-bench-index-")
            .tempdir_in(root)
            .expect("bench directory");
        let plan = Plan {
            accounts: shape.accounts,
            message_octets: SMALL_MESSAGE_OCTETS,
            messages: shape.messages,
            checkpoint_after: None,
            close: true,
            fsync_mode: FsyncMode::UnsafeNone,
            writers: 256,
        };
        let filled = executor().run(fill(directory.path().to_path_buf(), plan));
        eprintln!("filled {} in {:.1} s", shape.name, filled.seconds);
        let shard = directory.path().join("shard-0");
        let aside = directory.path().join("checkpoints-aside");
        let from_checkpoint = open_in_child(directory.path());
        let checkpoint_octets = move_checkpoints(&shard, &aside);
        let replayed = open_in_child(directory.path());
        for (how, opened) in [("checkpoint", from_checkpoint), ("full replay", replayed)] {
            rows.push(MemoryRow {
                shape: number,
                how,
                opened,
                checkpoint_octets,
            });
        }
    }
    rows
}

fn memory_table(root: &Path, options: &Options) {
    let mut shapes = vec![
        Shape {
            name: "empty (1 account)".into(),
            accounts: 1,
            messages: 0,
        },
        Shape {
            name: format!("{EMPTY_MAILBOXES} empty mailboxes"),
            accounts: EMPTY_MAILBOXES / MAILBOXES_PER_ACCOUNT,
            messages: 0,
        },
    ];
    for &messages in &options.index_messages {
        shapes.push(Shape {
            name: format!("{messages} messages"),
            accounts: (messages / MESSAGES_PER_ACCOUNT).max(1) as usize,
            messages,
        });
    }
    let rows = memory_rows(root, &shapes);
    // The empty shard is the base; the empty mailboxes give the cost of one mailbox.
    let find = |shape: usize, how: &str| {
        let row = rows
            .iter()
            .find(|row| row.shape == shape && row.how == how)
            .expect("row");
        (
            row.opened.held_growth_octets() as f64,
            row.opened.get("mailboxes") as f64,
        )
    };
    let per_mailbox = |how: &str| {
        let (base, base_mailboxes) = find(0, how);
        let (held, mailboxes) = find(1, how);
        (held - base) / (mailboxes - base_mailboxes)
    };
    println!("## Index memory");
    println!();
    println!(
        "Growth of VmRSS over the open, right after it and once mimalloc returned what it holds \
         free (`mi_collect(true)`: \"held\"). Entry: {} octets (`size_of::<MessageEntry>()`), \
         extra extent {} octets; accounted = entries × entry + extra extents × extent. Net = \
         (held − the empty shard's − mailboxes × the cost of a mailbox) / messages. One mailbox \
         (with a fifth of an account), from the {EMPTY_MAILBOXES} empty ones less the empty \
         shard: {:.0} octets held from a checkpoint, {:.0} by full replay.",
        std::mem::size_of::<MessageEntry>(),
        std::mem::size_of::<PackedExtent>(),
        per_mailbox("checkpoint"),
        per_mailbox("full replay"),
    );
    println!();
    println!(
        "| shard | mailboxes | opened from | open s | RSS growth MiB | held MiB | peak MiB | held bytes/message | net bytes/message | accounted bytes/message | checkpoint MiB |"
    );
    println!("| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    for row in &rows {
        let opened = &row.opened;
        let messages = opened.get("messages");
        let held = opened.held_growth_octets() as f64;
        let (base, base_mailboxes) = find(0, row.how);
        let mailboxes = opened.get("mailboxes") as f64;
        let net = held - base - (mailboxes - base_mailboxes) * per_mailbox(row.how);
        let per_message = |octets: f64| {
            if messages == 0 {
                "–".to_string()
            } else {
                format!("{:.0}", octets / messages as f64)
            }
        };
        let accounted = messages * std::mem::size_of::<MessageEntry>() as u64
            + opened.get("extra_extents") * std::mem::size_of::<PackedExtent>() as u64;
        println!(
            "| {} | {mailboxes} | {} | {:.2} | {:.1} | {:.1} | {:.1} | {} | {} | {} | {:.1} |",
            shapes[row.shape].name,
            row.how,
            opened.seconds(),
            mib(opened.rss_growth_octets()),
            mib(opened.held_growth_octets()),
            mib(opened.peak_growth_octets()),
            per_message(held),
            per_message(net),
            per_message(accounted as f64),
            mib(row.checkpoint_octets),
        );
    }
}

fn main() {
    if let Some(directory) = std::env::var_os(CHILD_ENVIRONMENT) {
        child(PathBuf::from(directory));
        return;
    }
    let options = options();
    let root =
        std::env::var_os("POSTERN_BENCH_DIR").map_or_else(|| PathBuf::from("/tmp"), PathBuf::from);
    let dropped = restart_table(&root, &options);
    println!();
    println!(
        "Page cache dropped before each cold open: {}.",
        if dropped {
            "yes (sync; echo 3 > /proc/sys/vm/drop_caches)"
        } else {
            "no, at least once (not root?): those cold rows are not cold"
        }
    );
    println!();
    memory_table(&root, &options);
}
