//! A real `kill -9`: this test binary re-executes itself as a child process that appends
//! messages from concurrent writers on real files (fsync always, periodic checkpoints) and
//! prints each message's id once its `Durable` receipt arrived. The parent kills the child with
//! SIGKILL at seeded random moments, reopens the store and checks that every acknowledged
//! message is present byte for byte and that every visible message is whole. Several rounds
//! run on the same directory, so recovery of an already recovered log is covered too.
//!
//! The directory is under /tmp, which is disk-backed here (tmpfs would not test fdatasync).
//! A compaction task runs in the child too (a quarter of the writers expunge what they append,
//! leaving dead content), and at the end the offline checker must find nothing wrong.
//! `POSTERN_KILL9_SEED` picks another seed.

use postern_storage::files::FileDisk;
use postern_storage::sim::Rng;
use postern_storage::{LogConfig, MailboxKey, MessageMeta, Store, Uid};
use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const CHILD_DIRECTORY_VARIABLE: &str = "POSTERN_KILL9_CHILD_DIRECTORY";
const CHILD_ROUND_VARIABLE: &str = "POSTERN_KILL9_CHILD_ROUND";
const ROUNDS: u64 = 6;
const WRITERS: u64 = 24;
/// The child runs at most this long if nobody kills it.
const CHILD_LIFETIME_MAX: Duration = Duration::from_secs(20);
/// The child must acknowledge something within this time.
const FIRST_ACK_WAIT_MAX: Duration = Duration::from_secs(20);
const KILL_DELAY_MS_MAX: u64 = 900;
const COMPACTION_PERIOD: Duration = Duration::from_millis(60);

/// Marks the id of a message its writer expunges again at once (never acknowledged to the
/// parent): it leaves dead content behind for compaction.
const EPHEMERAL: u64 = 1 << 39;

fn content(id: u64) -> Vec<u8> {
    let mut rng = Rng::new(id);
    let octets = if id & EPHEMERAL != 0 {
        60 * 1024 + rng.below(60 * 1024) as usize
    } else if id % 11 == 0 {
        150 * 1024 + rng.below(100 * 1024) as usize
    } else {
        200 + rng.below(20_000) as usize
    };
    let mut bytes: Vec<u8> = (0..octets.div_ceil(8))
        .flat_map(|_| rng.next_u64().to_le_bytes())
        .collect();
    bytes.truncate(octets);
    bytes
}

fn config() -> LogConfig {
    let mut config = LogConfig::new(0);
    config.segment_octets_max = 2 * 1024 * 1024;
    config.checkpoint_interval_octets = 1024 * 1024;
    config.compaction_live_percent_max = 60;
    config.compaction_octets_per_sec = 256 * 1024 * 1024;
    config
}

fn executor() -> glommio::LocalExecutor {
    glommio::LocalExecutorBuilder::default()
        .make()
        .expect("executor")
}

async fn inbox(store: &Store<FileDisk>) -> MailboxKey {
    let account = match store.account_by_name("kill@example.org") {
        Some(account) => account,
        None => {
            store
                .create_account(2, "kill@example.org", 0, 0)
                .await
                .expect("account")
                .0
        }
    };
    match store.mailbox_by_name(account, "INBOX") {
        Some(mailbox) => mailbox,
        None => {
            store
                .create_mailbox(account, "INBOX")
                .await
                .expect("mailbox")
                .0
        }
    }
}

/// The child's side: append until killed, printing `ACK <uid> <id>` after each receipt.
#[test]
fn kill9_child_writer() {
    let Some(directory) = std::env::var_os(CHILD_DIRECTORY_VARIABLE) else {
        return;
    };
    let round: u64 = std::env::var(CHILD_ROUND_VARIABLE)
        .ok()
        .and_then(|round| round.parse().ok())
        .expect("round");
    std::thread::spawn(|| {
        std::thread::sleep(CHILD_LIFETIME_MAX);
        std::process::exit(3);
    });
    executor().run(async move {
        let disk = FileDisk::new(Path::new(&directory), 0).expect("disk");
        let (store, _) = Store::open(disk, config()).await.expect("child open");
        let mailbox = inbox(&store).await;
        let writers: Vec<_> = (0..WRITERS)
            .map(|writer| {
                let store = store.clone();
                glommio::spawn_local(async move {
                    let ephemeral = if writer % 4 == 3 { EPHEMERAL } else { 0 };
                    for sequence in 0.. {
                        let id = (round << 40) | ephemeral | (writer << 24) | sequence;
                        let mut message = store.begin_message(mailbox.account.partition);
                        for piece in content(id).chunks(16 * 1024) {
                            message.write(piece).await.expect("write");
                        }
                        let meta = MessageMeta {
                            parse: id.to_le_bytes().to_vec(),
                            ..Default::default()
                        };
                        let (uid, _durable) = message.commit(mailbox, meta).await.expect("commit");
                        if ephemeral != 0 {
                            let range = [postern_storage::UidRange::one(uid)];
                            let (_, _durable) =
                                store.expunge(mailbox, &range).await.expect("expunge");
                            continue;
                        }
                        let mut out = std::io::stdout().lock();
                        writeln!(out, "ACK {uid} {id}").expect("stdout");
                        out.flush().expect("flush");
                    }
                })
            })
            .collect();
        // Compaction runs beside the writers, so kills land inside it too.
        let compactor = glommio::spawn_local({
            let store = store.clone();
            async move {
                loop {
                    glommio::timer::sleep(COMPACTION_PERIOD).await;
                    let report = store.compact().await.expect("compaction");
                    if !report.compacted.is_empty() {
                        eprintln!("compacted {:?}", report.compacted);
                    }
                }
            }
        });
        for writer in writers {
            writer.await;
        }
        compactor.await;
    });
}

/// Reads `ACK` lines until the pipe closes; only whole lines count.
fn read_acks(child: &mut Child, sender: mpsc::Sender<(Uid, u64)>) -> std::thread::JoinHandle<()> {
    let stdout = child.stdout.take().expect("piped stdout");
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        while reader.read_line(&mut line).is_ok_and(|octets| octets > 0) {
            if let Some(fields) = line.strip_prefix("ACK ").and_then(|l| l.strip_suffix('\n')) {
                let mut fields = fields.split(' ').map(str::parse::<u64>);
                if let (Some(Ok(uid)), Some(Ok(id))) = (fields.next(), fields.next()) {
                    let _ = sender.send((uid as Uid, id));
                }
            }
            line.clear();
        }
    })
}

/// Reopens and checks: every acknowledged message present with its id; every visible message
/// whole, byte for byte (those not `checked` in an earlier round, or all in the `last`).
fn verify(
    directory: &Path,
    acked: &BTreeMap<u64, Uid>,
    round: u64,
    checked: &mut BTreeSet<Uid>,
    last: bool,
) {
    let directory: PathBuf = directory.to_path_buf();
    let acked = acked.clone();
    let already = if last {
        BTreeSet::new()
    } else {
        checked.clone()
    };
    let newly = executor().run(async move {
        let disk = FileDisk::new(&directory, 0).expect("disk");
        let (store, report) = Store::open(disk, config()).await.expect("reopen");
        assert!(report.damaged.is_empty(), "round {round}: {report:?}");
        assert!(report.anomalies.is_empty(), "round {round}: {report:?}");
        let mailbox = inbox(&store).await;
        let visible: BTreeMap<Uid, ()> = store
            .state()
            .mailbox(mailbox)
            .expect("inbox")
            .index
            .entries()
            .iter()
            .map(|entry| (entry.uid, ()))
            .collect();
        for (id, uid) in &acked {
            assert!(
                visible.contains_key(uid),
                "round {round}: acked UID {uid} lost"
            );
            let commit = store.read_commit(mailbox, *uid).await.expect("commit");
            assert_eq!(commit.parse, id.to_le_bytes(), "round {round}: UID {uid}");
        }
        // Every visible message, acknowledged or not, is whole.
        for uid in visible.keys().filter(|uid| !already.contains(uid)) {
            let commit = store.read_commit(mailbox, *uid).await.expect("commit");
            let id = u64::from_le_bytes(commit.parse.as_slice().try_into().expect("id"));
            let expected = content(id);
            let mut buffer = vec![0u8; expected.len() + 1];
            let octets = store
                .read(mailbox, *uid, 0, &mut buffer)
                .await
                .expect("read");
            assert_eq!(
                &buffer[..octets],
                expected.as_slice(),
                "round {round}: UID {uid}"
            );
        }
        visible.into_keys().collect::<Vec<Uid>>()
    });
    checked.extend(newly);
}

#[test]
fn acknowledged_messages_survive_kill_9() {
    if std::env::var_os(CHILD_DIRECTORY_VARIABLE).is_some() {
        return;
    }
    let seed = std::env::var("POSTERN_KILL9_SEED")
        .ok()
        .and_then(|seed| seed.parse().ok())
        .unwrap_or(1);
    let mut rng = Rng::new(seed);
    let directory = tempfile::Builder::new()
        .prefix("postern-kill9-")
        .tempdir_in("/tmp")
        .expect("tempdir");
    let executable = std::env::current_exe().expect("own executable");
    let mut acked: BTreeMap<u64, Uid> = BTreeMap::new();
    let mut checked: BTreeSet<Uid> = BTreeSet::new();
    for round in 0..ROUNDS {
        let mut child = Command::new(&executable)
            .args([
                "--exact",
                "kill9_child_writer",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_DIRECTORY_VARIABLE, directory.path())
            .env(CHILD_ROUND_VARIABLE, round.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn child");
        let (sender, receiver) = mpsc::channel();
        let reader = read_acks(&mut child, sender);
        let first = receiver
            .recv_timeout(FIRST_ACK_WAIT_MAX)
            .expect("child acknowledges writes");
        let delay = Duration::from_millis(rng.below(KILL_DELAY_MS_MAX) + 1);
        std::thread::sleep(delay);
        // std's kill is SIGKILL on Unix: no destructor, no flush, no clean shutdown.
        child.kill().expect("SIGKILL");
        let status = child.wait().expect("reap");
        assert!(!status.success(), "killed, not exited: {status:?}");
        reader.join().expect("reader");
        let mut count = 0;
        for (uid, id) in std::iter::once(first).chain(receiver.try_iter()) {
            assert!(
                acked.insert(id, uid).is_none(),
                "id {id} acknowledged twice"
            );
            count += 1;
        }
        eprintln!(
            "round {round}: killed {} ms after the first receipt, {count} acknowledged",
            delay.as_millis()
        );
        let last = round + 1 == ROUNDS;
        verify(directory.path(), &acked, round, &mut checked, last);
    }
    // The offline checker agrees: every record, message and checkpoint consistent.
    let report = postern_storage::check::verify(directory.path(), 0).expect("check");
    assert!(report.is_clean(), "{:#?}", report.problems);
    assert!(report.messages >= acked.len() as u64);
    let uids: BTreeSet<Uid> = acked.values().copied().collect();
    assert_eq!(uids.len(), acked.len(), "no UID reused across crashes");
}
