//! Seeded simulation of the store on a fault-injecting disk: crash at every step, torn tails at
//! every octet of the last record, failing fdatasync, ENOSPC, bit flips mid-log. After each,
//! recovery must serve every acknowledged message intact, show nothing half-written, and keep
//! UIDs and MODSEQs from going back.

use postern_storage::sim::{Cut, Faults, Rng, SimDisk};
use postern_storage::{
    FlagOperation, LogConfig, MailboxKey, MessageMeta, Store, StoreError, SystemFlags, Uid,
    UidRange,
};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

fn config() -> LogConfig {
    let mut config = LogConfig::new(0);
    config.segment_octets_max = 512 * 1024;
    config.batch_octets_max = 96 * 1024;
    config.salt_seed = Some(7);
    config
}

fn run<T>(future: impl std::future::Future<Output = T>) -> T {
    glommio::LocalExecutorBuilder::default()
        .make()
        .expect("executor")
        .run(future)
}

/// Deterministic content of message `id`.
fn content(id: u64) -> Vec<u8> {
    let mut rng = Rng::new(id);
    let octets = match id % 5 {
        0 => 300 * 1024,
        1 => 140 * 1024,
        _ => 50 + rng.below(6000) as usize,
    };
    (0..octets).map(|_| b'a' + rng.below(26) as u8).collect()
}

#[derive(Default, Debug)]
struct Model {
    /// Acknowledged messages: UID → id.
    acked: BTreeMap<Uid, u64>,
    flagged: Vec<Uid>,
    expunged: Vec<Uid>,
    /// Expunges requested, acknowledged or not: an unacknowledged one may or may not survive.
    expunge_requested: Vec<Uid>,
    modseq_max: u64,
    uid_max: Uid,
    mailbox: Option<MailboxKey>,
}

async fn setup(store: &Rc<Store<SimDisk>>, model: &Rc<RefCell<Model>>) -> Result<(), StoreError> {
    let (account, _durable) = store.create_account(4, "ann@example.org", 0, 0).await?;
    let (mailbox, _durable) = store.create_mailbox(account, "INBOX").await?;
    model.borrow_mut().mailbox = Some(mailbox);
    Ok(())
}

async fn append(
    store: &Rc<Store<SimDisk>>,
    mailbox: MailboxKey,
    id: u64,
    rng: &mut Rng,
) -> Result<Uid, StoreError> {
    let bytes = content(id);
    let mut writer = store.begin_message(mailbox.account.partition);
    let mut rest = bytes.as_slice();
    while !rest.is_empty() {
        let piece = (1 + rng.below(70_000) as usize).min(rest.len());
        writer.write(&rest[..piece]).await?;
        rest = &rest[piece..];
    }
    let meta = MessageMeta {
        internal_date_secs: id as i64,
        parse: id.to_le_bytes().to_vec(),
        ..Default::default()
    };
    let (uid, _durable) = writer.commit(mailbox, meta).await?;
    Ok(uid)
}

/// One writer task: appends, flags and expunges, recording what was acknowledged.
async fn worker(
    store: Rc<Store<SimDisk>>,
    model: Rc<RefCell<Model>>,
    task: u64,
) -> Result<(), StoreError> {
    let mut rng = Rng::new(task);
    let mailbox = model.borrow().mailbox.expect("set up");
    for round in 0..4 {
        let id = task * 100 + round;
        let uid = append(&store, mailbox, id, &mut rng).await?;
        {
            let mut model = model.borrow_mut();
            assert!(!model.acked.contains_key(&uid), "UID {uid} reused");
            model.acked.insert(uid, id);
            model.uid_max = model.uid_max.max(uid);
        }
        if rng.below(2) == 0 {
            let (modseq, _durable) = store
                .store_flags(
                    mailbox,
                    &[UidRange::one(uid)],
                    FlagOperation::Add,
                    SystemFlags::FLAGGED,
                    &["$Done".into()],
                )
                .await?;
            let mut model = model.borrow_mut();
            assert!(
                modseq > model.modseq_max || task > 0,
                "MODSEQ must increase"
            );
            model.modseq_max = model.modseq_max.max(modseq);
            model.flagged.push(uid);
        }
        if round == 2 {
            model.borrow_mut().expunge_requested.push(uid);
            let (removed, _durable) = store.expunge(mailbox, &[UidRange::one(uid)]).await?;
            model.borrow_mut().expunged.extend(removed);
        }
    }
    Ok(())
}

/// Runs the whole workload; stops quietly at the first error (a crash or a fault).
async fn workload(store: Rc<Store<SimDisk>>, model: Rc<RefCell<Model>>) {
    if setup(&store, &model).await.is_err() {
        return;
    }
    let tasks: Vec<_> = (1..=4)
        .map(|task| glommio::spawn_local(worker(store.clone(), model.clone(), task)))
        .collect();
    for task in tasks {
        let _ = task.await;
    }
    let mailbox = model.borrow().mailbox.expect("set up");
    if let Ok(uid) = append(&store, mailbox, 999, &mut Rng::new(1)).await {
        model.borrow_mut().acked.insert(uid, 999);
    }
}

/// Recovers `disk` and checks every invariant against what was acknowledged.
async fn verify(disk: SimDisk, model: &Model) -> Rc<Store<SimDisk>> {
    let (store, report) = Store::open(disk, config()).await.expect("recovery opens");
    assert!(report.damaged.is_empty(), "no damage expected: {report:?}");
    let Some(mailbox) = model.mailbox else {
        return store;
    };
    let status = store
        .status(mailbox)
        .expect("acknowledged mailbox survives");
    let uids: Vec<Uid> = {
        let state = store.state();
        let index = &state.mailbox(mailbox).expect("mailbox").index;
        let uids: Vec<Uid> = index.entries().iter().map(|entry| entry.uid).collect();
        assert!(uids.windows(2).all(|pair| pair[0] < pair[1]), "UIDs ascend");
        for uid in &model.flagged {
            if let Some(entry) = index.get(*uid) {
                assert!(
                    entry.flags.contains(SystemFlags::FLAGGED),
                    "acked flag on {uid} survives"
                );
            }
        }
        uids
    };
    for uid in model.acked.keys() {
        if model.expunged.contains(uid) {
            assert!(!uids.contains(uid), "acked expunge of {uid} survives");
        } else if !model.expunge_requested.contains(uid) {
            assert!(uids.contains(uid), "acked UID {uid} present");
        }
    }
    for uid in &uids {
        // Every visible message is whole: its commit names its content, which reads back.
        let commit = store
            .read_commit(mailbox, *uid)
            .await
            .expect("commit readable");
        let id = u64::from_le_bytes(commit.parse.as_slice().try_into().expect("id"));
        let expected = content(id);
        let mut buffer = vec![0u8; expected.len() + 10];
        let mut filled = 0;
        loop {
            let end = filled + 7000.min(buffer.len() - filled);
            let octets = store
                .read(mailbox, *uid, filled as u64, &mut buffer[filled..end])
                .await
                .expect("read");
            if octets == 0 {
                break;
            }
            filled += octets;
        }
        assert_eq!(
            &buffer[..filled],
            expected.as_slice(),
            "content of UID {uid}"
        );
    }
    assert!(status.uid_next > model.uid_max);
    assert!(status.highest_modseq >= model.modseq_max);
    // New writes continue above everything acknowledged.
    let uid = append(&store, mailbox, 12345, &mut Rng::new(2))
        .await
        .expect("append after recovery");
    assert!(uid > model.uid_max);
    let (modseq, _durable) = store
        .store_flags(
            mailbox,
            &[UidRange::one(uid)],
            FlagOperation::Add,
            SystemFlags::SEEN,
            &[],
        )
        .await
        .expect("store");
    assert!(modseq > model.modseq_max);
    store
}

fn run_workload(faults: Faults) -> (SimDisk, Model) {
    run(async move {
        let disk = SimDisk::new(Faults::default());
        let (store, _) = Store::open(disk.clone(), config())
            .await
            .expect("open empty");
        disk.set_faults(faults);
        let model = Rc::new(RefCell::new(Model::default()));
        workload(store, model.clone()).await;
        let model = model.take();
        (disk, model)
    })
}

#[test]
fn clean_run_recovers_everything_and_batches_fsyncs() {
    let (disk, model) = run_workload(Faults::default());
    assert_eq!(model.acked.len(), 17);
    run(async move { verify(disk.crash_image(Cut::Octets(0)), &model).await });
}

#[test]
fn group_commit_turns_concurrent_writers_into_few_fsyncs() {
    run(async {
        let disk = SimDisk::new(Faults::default());
        let (store, _) = Store::open(disk.clone(), config()).await.expect("open");
        let model = Rc::new(RefCell::new(Model::default()));
        setup(&store, &model).await.expect("setup");
        let mailbox = model.borrow().mailbox.expect("mailbox");
        let before = disk.syncs();
        let writers: Vec<_> = (0..64u64)
            .map(|writer| {
                let store = store.clone();
                glommio::spawn_local(async move {
                    append(&store, mailbox, writer * 5 + 2, &mut Rng::new(writer)).await
                })
            })
            .collect();
        let mut uids = Vec::new();
        for writer in writers {
            uids.push(writer.await.expect("append"));
        }
        let syncs = disk.syncs() - before;
        // One batch for the first writer, one for everyone who arrived meanwhile (plus a
        // rotation, which syncs both segments).
        assert!(syncs <= 4, "{syncs} fdatasyncs for 64 concurrent writers");
        uids.sort_unstable();
        uids.dedup();
        assert_eq!(uids.len(), 64);
    });
}

#[test]
fn crash_at_every_step() {
    let (disk, _) = run_workload(Faults::default());
    let steps = disk.operations();
    for crash in 0..steps {
        let (disk, model) = run_workload(Faults {
            crash_at_operation: Some(crash),
            ..Faults::default()
        });
        run(async move { verify(disk.crash_image(Cut::Random(crash)), &model).await });
    }
}

#[test]
fn torn_tail_at_every_octet_of_the_last_record() {
    let (disk, _) = run_workload(Faults::default());
    // Crash at the last fdatasync: the final batch is written but not durable.
    let last_sync = disk.operations() - 1;
    let (disk, model) = run_workload(Faults {
        crash_at_operation: Some(last_sync),
        ..Faults::default()
    });
    let unsynced = disk.unsynced_octets();
    assert!(unsynced > 0);
    let cuts = (0..=unsynced).filter(|cut| unsynced - cut < 400 || cut % 4093 == 0);
    for cut in cuts {
        let image = disk.crash_image(Cut::Octets(cut));
        run(async { verify(image, &model).await });
    }
}

#[test]
fn failed_fdatasync_is_fatal_and_never_acknowledged() {
    let (disk, _) = run_workload(Faults::default());
    for seed in 0..12 {
        let fail = Rng::new(seed).below(disk.operations());
        let (disk, model) = run_workload(Faults {
            fail_sync_at_operation: Some(fail),
            ..Faults::default()
        });
        run(async move { verify(disk.crash_image(Cut::Random(seed)), &model).await });
    }
}

#[test]
fn no_space_is_distinct_and_reads_continue() {
    run(async {
        let disk = SimDisk::new(Faults {
            capacity_octets: Some(1100 * 1024),
            ..Faults::default()
        });
        let (store, _) = Store::open(disk.clone(), config()).await.expect("open");
        let model = Rc::new(RefCell::new(Model::default()));
        setup(&store, &model).await.expect("setup fits");
        let mailbox = model.borrow().mailbox.expect("mailbox");
        let mut error = None;
        for id in 0..40 {
            match append(&store, mailbox, id, &mut Rng::new(id)).await {
                Ok(uid) => {
                    model.borrow_mut().acked.insert(uid, id);
                    model.borrow_mut().uid_max = uid;
                }
                Err(failure) => {
                    error = Some(failure);
                    break;
                }
            }
        }
        let error = error.expect("the disk fills up");
        assert!(error.is_no_space(), "{error:?}");
        // Writes stay refused; reads are still served.
        assert!(
            store
                .create_mailbox(mailbox.account, "Sent")
                .await
                .unwrap_err()
                .is_no_space()
        );
        let (uid, _) = model
            .borrow()
            .acked
            .first_key_value()
            .map(|(uid, id)| (*uid, *id))
            .expect("some fit");
        let mut buffer = [0u8; 16];
        assert_eq!(store.read(mailbox, uid, 0, &mut buffer).await, Ok(16));
        let model = model.take();
        let image = disk.crash_image(Cut::Random(3));
        image.set_faults(Faults::default());
        verify(image, &model).await;
    });
}

#[test]
fn bit_flip_mid_log_is_reported_and_the_rest_served() {
    let (disk, model) = run_workload(Faults::default());
    let image = disk.crash_image(Cut::Octets(0));
    let segment = image.content(1).expect("segment 1");
    let written = segment.iter().rposition(|byte| *byte != 0).expect("data");
    let mut rng = Rng::new(11);
    for _ in 0..10 {
        let image = disk.crash_image(Cut::Octets(0));
        let offset = 64 + rng.below(written as u64 - 200);
        image.flip_bit(1, offset, rng.below(8) as u8);
        run(async {
            let (store, report) = Store::open(image, config())
                .await
                .expect("opens despite damage");
            assert_eq!(report.damaged.len(), 1, "{report:?}");
            let damage = &report.damaged[0];
            assert!(damage.sequence == 1 && damage.range.contains(&offset));
            let mailbox = model.mailbox.expect("mailbox");
            let Some(status) = store.status(mailbox) else {
                return;
            };
            assert!(
                status.uid_next > model.uid_max,
                "no UID can be reused after damage"
            );
            for (uid, id) in &model.acked {
                let mut buffer = vec![0u8; content(*id).len()];
                match store.read(mailbox, *uid, 0, &mut buffer).await {
                    Ok(octets) => assert_eq!(&buffer[..octets], content(*id).as_slice()),
                    Err(StoreError::Unreadable | StoreError::NoSuchMessage) => {}
                    Err(other) => panic!("unexpected {other:?}"),
                }
            }
        });
    }
}

#[test]
fn sessions_wait_for_mailbox_changes_without_polling() {
    run(async {
        let disk = SimDisk::new(Faults::default());
        let (store, _) = Store::open(disk, config()).await.expect("open");
        let model = Rc::new(RefCell::new(Model::default()));
        setup(&store, &model).await.expect("setup");
        let mailbox = model.borrow().mailbox.expect("mailbox");
        let event = store.watch(mailbox).expect("watchable");
        let since = event.generation();
        let idle = glommio::spawn_local({
            let event = event.clone();
            async move { event.changed(since).await }
        });
        let uid = append(&store, mailbox, 3, &mut Rng::new(3))
            .await
            .expect("append");
        assert!(idle.await > since);
        // The new message is visible by the time sessions are woken.
        assert_eq!(store.status(mailbox).expect("status").uid_next, uid + 1);
        assert_eq!(event.waiters(), 0);
    });
}

#[test]
fn a_newer_format_is_refused_with_a_clear_message() {
    use postern_storage::Disk;
    use postern_storage::SegmentFile;
    use postern_storage::segment::{FORMAT_VERSION, SegmentHeader};
    run(async {
        let disk = SimDisk::new(Faults::default());
        let file = disk.create(1).await.expect("create");
        let header = SegmentHeader {
            format_version: FORMAT_VERSION + 1,
            shard: 0,
            sequence: 1,
            created_secs: 0,
            salt: 1,
        };
        file.write_at(0, header.encode().to_vec())
            .await
            .expect("write");
        let error = Store::open(disk, config())
            .await
            .err()
            .expect("refused")
            .to_string();
        assert!(
            error.contains("segment 1") && error.contains("not supported by this build"),
            "{error}"
        );
    });
}
