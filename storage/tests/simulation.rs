//! Seeded simulation of the store on a fault-injecting disk: crash at every step, torn tails at
//! every octet of the last record, failing fdatasync, ENOSPC, bit flips mid-log. After each,
//! recovery must serve every acknowledged message intact, show nothing half-written, and keep
//! UIDs and MODSEQs from going back. The workload appends, stores flags (plain and
//! conditional), copies, moves, expunges and changes special-use attributes.

use postern_storage::compaction::CompactionReport;
use postern_storage::sim::{Cut, Faults, Rng, SimDisk, run};
use postern_storage::{
    FlagOperation, LogConfig, LogError, MailboxKey, MessageMeta, RecoveryReport, SpecialUse, Store,
    StoreError, SystemFlags, Uid, UidRange,
};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

fn config() -> LogConfig {
    let mut config = LogConfig::new(0);
    config.segment_octets_max = 512 * 1024;
    config.batch_octets_max = 96 * 1024;
    config.salt_seed = Some(7);
    // Smaller than a content chunk: recovery reads records across windows and piecewise.
    config.scan_window_octets = 48 * 1024;
    config
}

/// Deterministic content of message `id`, generated once per thread (verification reads
/// every message after every simulated crash).
fn content(id: u64) -> Rc<Vec<u8>> {
    thread_local! {
        static CONTENTS: RefCell<BTreeMap<u64, Rc<Vec<u8>>>> = RefCell::default();
    }
    CONTENTS.with(|contents| {
        contents
            .borrow_mut()
            .entry(id)
            .or_insert_with(|| Rc::new(generate_content(id)))
            .clone()
    })
}

fn generate_content(id: u64) -> Vec<u8> {
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
    /// Acknowledged conditional stores of \Draft.
    drafted: Vec<Uid>,
    modseq_max: u64,
    uid_max: Uid,
    mailbox: Option<MailboxKey>,
    /// The mailbox copies and moves go to.
    copies: Option<MailboxKey>,
    /// Acknowledged copies (and moves) there: UID → id.
    copies_acked: BTreeMap<Uid, u64>,
    /// Moves requested, acknowledged or not: (source UID, id). Each such message is in
    /// exactly one of the two mailboxes.
    moves_requested: Vec<(Uid, u64)>,
    /// Special-use attributes requested, in order, by mailbox name: (name, attribute,
    /// acknowledged). Only one task changes them, so the last acknowledged one or a later
    /// request must survive.
    special_uses: Vec<(&'static str, Option<SpecialUse>, bool)>,
}

async fn setup(store: &Rc<Store<SimDisk>>, model: &Rc<RefCell<Model>>) -> Result<(), StoreError> {
    let (account, _durable) = store.create_account(4, "ann@example.org", 0, 0).await?;
    let (mailbox, _durable) = store.create_mailbox(account, "INBOX").await?;
    model.borrow_mut().mailbox = Some(mailbox);
    model.borrow_mut().special_uses.extend([
        ("INBOX", None, true),
        ("Copies", Some(SpecialUse::Archive), false),
    ]);
    let (copies, _durable) = store
        .create_mailbox_with(account, "Copies", Some(SpecialUse::Archive))
        .await?;
    let mut model = model.borrow_mut();
    model.copies = Some(copies);
    model.special_uses.last_mut().expect("requested").2 = true;
    Ok(())
}

/// Task 1's special-use changes: clear one, give it to the other mailbox, set another,
/// repeat one (which writes nothing).
async fn change_special_use(
    store: &Rc<Store<SimDisk>>,
    model: &Rc<RefCell<Model>>,
    round: u64,
) -> Result<(), StoreError> {
    let (name, special_use) = match round {
        0 => ("Copies", None),
        1 | 3 => ("INBOX", Some(SpecialUse::Archive)),
        _ => ("Copies", Some(SpecialUse::Junk)),
    };
    let mailbox = match name {
        "INBOX" => model.borrow().mailbox,
        _ => model.borrow().copies,
    };
    let mailbox = mailbox.expect("set up");
    model
        .borrow_mut()
        .special_uses
        .push((name, special_use, false));
    let _durable = store.set_special_use(mailbox, special_use).await?;
    model
        .borrow_mut()
        .special_uses
        .last_mut()
        .expect("requested")
        .2 = true;
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
        if task == 1 {
            change_special_use(&store, &model, round).await?;
        }
        match round {
            0 => conditional_store(&store, &model, mailbox, uid).await?,
            1 => {
                let copies = model.borrow().copies.expect("set up");
                let (pairs, _durable) = store
                    .copy_messages(mailbox, &[UidRange::one(uid)], copies, id as i64)
                    .await?;
                assert_eq!(pairs.len(), 1);
                model.borrow_mut().copies_acked.insert(pairs[0].1, id);
            }
            2 => {
                model.borrow_mut().expunge_requested.push(uid);
                let (removed, _durable) = store.expunge(mailbox, &[UidRange::one(uid)]).await?;
                model.borrow_mut().expunged.extend(removed);
            }
            _ => {
                let copies = model.borrow().copies.expect("set up");
                model.borrow_mut().expunge_requested.push(uid);
                model.borrow_mut().moves_requested.push((uid, id));
                let (pairs, expunged, _durable) = store
                    .move_messages(mailbox, &[UidRange::one(uid)], copies, id as i64)
                    .await?;
                assert_eq!(expunged, vec![uid]);
                let mut model = model.borrow_mut();
                model.expunged.extend(expunged);
                model.copies_acked.insert(pairs[0].1, id);
            }
        }
    }
    Ok(())
}

/// RFC 7162 UNCHANGEDSINCE: fails against MODSEQ 0, succeeds against the message's own.
async fn conditional_store(
    store: &Rc<Store<SimDisk>>,
    model: &Rc<RefCell<Model>>,
    mailbox: MailboxKey,
    uid: Uid,
) -> Result<(), StoreError> {
    let range = [UidRange::one(uid)];
    let store_draft = |since| {
        store.store_flags_if(
            mailbox,
            &range,
            FlagOperation::Add,
            SystemFlags::DRAFT,
            &[],
            Some(since),
        )
    };
    let (failed, _durable) = store_draft(0).await?;
    assert_eq!(failed.modified, vec![uid]);
    assert!(failed.changed.is_empty());
    // Only this task writes to `uid`.
    let seen = {
        let state = store.state();
        let index = &state.mailbox(mailbox).expect("mailbox").index;
        index.get(uid).expect("present").modseq
    };
    let (outcome, _durable) = store_draft(seen).await?;
    assert!(outcome.modified.is_empty());
    assert_eq!(outcome.changed.len(), 1);
    assert!(outcome.changed[0].flags.contains(SystemFlags::DRAFT));
    let mut model = model.borrow_mut();
    model.drafted.push(uid);
    model.modseq_max = model.modseq_max.max(outcome.modseq);
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
    {
        let state = store.state();
        let index = &state.mailbox(mailbox).expect("mailbox").index;
        for uid in &model.drafted {
            if let Some(entry) = index.get(*uid) {
                assert!(
                    entry.flags.contains(SystemFlags::DRAFT),
                    "acked \\Draft on {uid}"
                );
            }
        }
    }
    // The expunge history survives recovery: every acknowledged expunge, no present UID.
    let vanished = store
        .expunged_since(mailbox, 0)
        .expect("history kept from the start");
    let vanished_uid = |uid: &Uid| vanished.iter().any(|range| range.contains(*uid));
    assert!(model.expunged.iter().all(vanished_uid), "{vanished:?}");
    assert!(!uids.iter().any(vanished_uid), "{vanished:?}");
    let mut ids_by_mailbox = Vec::new();
    for uid in &uids {
        ids_by_mailbox.push((*uid, read_whole(&store, mailbox, *uid).await));
    }
    let mut copy_ids = BTreeMap::new();
    if let Some(copies) = model.copies {
        let copy_uids: Vec<Uid> = {
            let state = store.state();
            let index = &state.mailbox(copies).expect("acked mailbox").index;
            index.entries().iter().map(|entry| entry.uid).collect()
        };
        for (uid, id) in &model.copies_acked {
            assert!(copy_uids.contains(uid), "acked copy {uid} present");
            let entry_save = store
                .state()
                .mailbox(copies)
                .and_then(|target| target.index.get(*uid).map(|e| e.save_date_secs()));
            assert_eq!(
                entry_save,
                Some(Some(*id as i64)),
                "save date of copy {uid}"
            );
        }
        for uid in copy_uids {
            let id = read_whole(&store, copies, uid).await;
            if let Some(acked) = model.copies_acked.get(&uid) {
                assert_eq!(*acked, id, "copy {uid}");
            }
            copy_ids.insert(uid, id);
        }
        let copy_status = store.status(copies).expect("status");
        let copy_max = model.copies_acked.keys().max().copied().unwrap_or(0);
        assert!(copy_status.uid_next > copy_max);
    }
    // A move is atomic: each moved message is in exactly one of the mailboxes.
    for (source, id) in &model.moves_requested {
        let in_source = ids_by_mailbox.contains(&(*source, *id));
        let in_copies = copy_ids.values().filter(|copied| *copied == id).count();
        assert_eq!(
            usize::from(in_source) + in_copies,
            1,
            "moved {source} ({id})"
        );
    }
    assert!(status.uid_next > model.uid_max);
    assert!(status.highest_modseq >= model.modseq_max);
    verify_special_uses(&store, model, mailbox).await;
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
    if let Some(copies) = model.copies {
        let (pairs, _durable) = store
            .copy_messages(mailbox, &[UidRange::one(uid)], copies, 1)
            .await
            .expect("copy after recovery");
        let copy_max = model.copies_acked.keys().max().copied().unwrap_or(0);
        assert!(pairs.len() == 1 && pairs[0].1 > copy_max);
    }
    store
}

/// Each mailbox has the last acknowledged attribute or one requested after it (a created
/// mailbox never shows up without the attribute it was created with), and a second mailbox
/// cannot take an attribute after recovery.
async fn verify_special_uses(store: &Rc<Store<SimDisk>>, model: &Model, inbox: MailboxKey) {
    for name in ["INBOX", "Copies"] {
        let requests: Vec<_> = model
            .special_uses
            .iter()
            .filter(|(requested, _, _)| *requested == name)
            .collect();
        let from = requests.iter().rposition(|(_, _, acked)| *acked);
        let Some(mailbox) = store.mailbox_by_name(inbox.account, name) else {
            assert!(from.is_none(), "acknowledged {name} survives");
            continue;
        };
        let found = store.status(mailbox).expect("status").special_use;
        let allowed: Vec<_> = requests[from.unwrap_or(0)..]
            .iter()
            .map(|(_, special_use, _)| *special_use)
            .collect();
        assert!(allowed.contains(&found), "{name}: {found:?}, {allowed:?}");
    }
    let held = store.status(inbox).expect("inbox").special_use;
    let copies = store.mailbox_by_name(inbox.account, "Copies");
    if let (Some(special_use), Some(copies)) = (held, copies) {
        let refused = store.set_special_use(copies, Some(special_use)).await;
        assert_eq!(refused.err(), Some(StoreError::SpecialUseTaken));
    }
}

/// Reads a visible message whole and checks it byte for byte against the content its commit
/// names (parse results hold the id; a copy shares its original's commit). Returns the id.
async fn read_whole(store: &Rc<Store<SimDisk>>, mailbox: MailboxKey, uid: Uid) -> u64 {
    let commit = store
        .read_commit(mailbox, uid)
        .await
        .expect("commit readable");
    let id = u64::from_le_bytes(commit.parse.as_slice().try_into().expect("id"));
    let expected = content(id);
    let mut buffer = vec![0u8; expected.len() + 10];
    let mut filled = 0;
    loop {
        let end = filled + 7000.min(buffer.len() - filled);
        let octets = store
            .read(mailbox, uid, filled as u64, &mut buffer[filled..end])
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
    id
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
            records_start: 64,
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

/// The durable state as a checkpoint would encode it, less `ingest_next` (a live store has
/// allocated ingest numbers that a replay cannot see; they only need to be unique).
fn state_image(store: &Store<SimDisk>) -> Vec<u8> {
    let mut image = Vec::new();
    postern_storage::checkpoint::encode_state(&store.state(), &mut image);
    image.split_off(8)
}

/// Opens `disk` once as it is and once with every checkpoint removed (a full replay).
async fn open_both_ways(
    disk: &SimDisk,
    config: LogConfig,
) -> (Rc<Store<SimDisk>>, RecoveryReport, Vec<u8>) {
    use postern_storage::Disk;
    use postern_storage::disk::{FileId, FileKind};
    let replay = disk.crash_image(Cut::Octets(0));
    for sequence in replay.list(FileKind::Checkpoint).await.expect("list") {
        replay
            .remove(FileId::checkpoint(sequence))
            .await
            .expect("remove");
    }
    let (full, full_report) = Store::open(replay, config.clone())
        .await
        .expect("full replay");
    assert!(full_report.checkpoint.is_none());
    let (store, report) = Store::open(disk.crash_image(Cut::Octets(0)), config)
        .await
        .expect("open from checkpoint");
    (store, report, state_image(&full))
}

/// Appends, flags and expunges with checkpoints on request, in the background (a small
/// interval) and at close, recording what was acknowledged.
async fn checkpoint_workload(store: Rc<Store<SimDisk>>, model: Rc<RefCell<Model>>) {
    if setup(&store, &model).await.is_err() {
        return;
    }
    let mailbox = model.borrow().mailbox.expect("set up");
    let _ = store.create_mailbox(mailbox.account, "Archive").await;
    let tasks: Vec<_> = (1..=2)
        .map(|task| glommio::spawn_local(worker(store.clone(), model.clone(), task)))
        .collect();
    let requested = store.checkpoint().await;
    for task in tasks {
        let _ = task.await;
    }
    if requested.is_err() {
        return;
    }
    let _ = store.subscribe(mailbox.account, "Archive", true).await;
    if let Ok(uid) = append(&store, mailbox, 777, &mut Rng::new(5)).await {
        model.borrow_mut().acked.insert(uid, 777);
        model.borrow_mut().uid_max = uid;
    }
    let _ = store.close().await;
}

fn checkpoint_config() -> LogConfig {
    let mut config = config();
    config.checkpoint_interval_octets = 256 * 1024;
    // A mailbox per piece: the workers' records become durable while a checkpoint is
    // encoded, and wait to be applied until it is.
    config.checkpoint_piece_octets = 1;
    config
}

fn run_checkpoint_workload(faults: Faults) -> (SimDisk, Model) {
    run(async move {
        let disk = SimDisk::new(Faults::default());
        let (store, _) = Store::open(disk.clone(), checkpoint_config())
            .await
            .expect("open empty");
        disk.set_faults(faults);
        let model = Rc::new(RefCell::new(Model::default()));
        checkpoint_workload(store, model.clone()).await;
        let model = model.take();
        (disk, model)
    })
}

#[test]
fn open_from_a_checkpoint_replays_only_the_tail_and_matches_a_full_replay() {
    let (disk, model) = run_checkpoint_workload(Faults::default());
    run(async move {
        let (store, report, full) = open_both_ways(&disk, checkpoint_config()).await;
        let (sequence, _) = report.checkpoint.expect("opened from a checkpoint");
        // The checkpoint written at close covers everything: nothing to replay.
        assert_eq!(report.records, 0, "{report:?}");
        assert!(sequence >= 3, "request, background and close checkpoints");
        assert_eq!(state_image(&store), full);
        let status = store
            .status(model.mailbox.expect("mailbox"))
            .expect("status");
        assert!(status.uid_next > model.uid_max);
        assert!(
            store
                .mailboxes(status.key.account)
                .iter()
                .any(|mailbox| mailbox.name == "Archive" && mailbox.subscribed)
        );
        // Older checkpoints were pruned.
        let kept = disk
            .files()
            .iter()
            .filter(|id| id.kind != postern_storage::disk::FileKind::Segment)
            .count();
        assert_eq!(kept, 2, "{:?}", disk.files());
        verify(disk.crash_image(Cut::Octets(0)), &model).await;
    });
}

#[test]
fn close_refuses_later_writes() {
    run(async {
        let disk = SimDisk::new(Faults::default());
        let (store, _) = Store::open(disk.clone(), config()).await.expect("open");
        let model = Rc::new(RefCell::new(Model::default()));
        setup(&store, &model).await.expect("setup");
        let mailbox = model.borrow().mailbox.expect("mailbox");
        store.close().await.expect("close");
        let error = store.create_mailbox(mailbox.account, "Late").await;
        assert_eq!(error.err(), Some(StoreError::Write(LogError::Closed)));
        let (_, report) = Store::open(disk, config()).await.expect("reopen");
        assert_eq!(report.records, 0);
    });
}

#[test]
fn crash_at_every_step_of_checkpointing() {
    let (disk, _) = run_checkpoint_workload(Faults::default());
    let steps = disk.operations();
    for crash in 0..steps {
        let (disk, model) = run_checkpoint_workload(Faults {
            crash_at_operation: Some(crash),
            ..Faults::default()
        });
        let image = disk.crash_image(Cut::Random(crash));
        run(async move {
            let (store, report, full) = open_both_ways(&image, checkpoint_config()).await;
            assert!(report.checkpoint_problems.is_empty(), "{report:?}");
            assert_eq!(state_image(&store), full, "crash at {crash}: {report:?}");
            drop(store);
            verify(image, &model).await;
        });
    }
}

#[test]
fn a_damaged_checkpoint_is_reported_and_an_older_one_or_the_log_used() {
    use postern_storage::disk::{FileId, FileKind};
    let (disk, _) = run_checkpoint_workload(Faults::default());
    let checkpoints: Vec<u64> = disk
        .files()
        .iter()
        .filter(|id| id.kind == FileKind::Checkpoint)
        .map(|id| id.sequence)
        .collect();
    assert_eq!(checkpoints.len(), 2);
    let newest = FileId::checkpoint(checkpoints[1]);
    let older = FileId::checkpoint(checkpoints[0]);
    let octets = disk.content_of(newest).expect("newest").len() as u64;
    let mut rng = Rng::new(9);
    for round in 0..8 {
        let image = disk.crash_image(Cut::Octets(0));
        let offset = if round == 0 { 20 } else { rng.below(octets) };
        image.flip_bit_in(newest, offset, rng.below(8) as u8);
        if round % 2 == 1 {
            let older_octets = image.content_of(older).expect("older").len() as u64;
            image.flip_bit_in(older, rng.below(older_octets), 3);
        }
        run(async {
            let (store, report, full) = open_both_ways(&image, checkpoint_config()).await;
            assert!(
                report.checkpoint_problems[0].0 == newest.file_name(),
                "{report:?}"
            );
            if round % 2 == 1 {
                assert_eq!(report.checkpoint_problems.len(), 2);
                assert!(report.checkpoint.is_none());
            } else {
                assert_eq!(report.checkpoint.map(|(s, _)| s), Some(older.sequence));
                assert!(report.records > 0);
            }
            assert_eq!(state_image(&store), full);
        });
    }
}

fn compaction_config() -> LogConfig {
    let mut config = config();
    config.checkpoint_interval_octets = 0;
    config.compaction_octets_per_sec = 0;
    // Rewrite anything with some dead content, so segments get rewritten more than once.
    config.compaction_live_percent_max = 95;
    // Walks and the move of the index in slices of one message, the writer's work between.
    config.compaction_slice_entries = 8;
    config
}

/// Fills segments, expunges most messages, then compacts beside concurrent appends, expunges
/// more and compacts again (rewriting rewritten segments), recording what was acknowledged.
async fn compaction_workload(
    store: Rc<Store<SimDisk>>,
    model: Rc<RefCell<Model>>,
    reports: Rc<RefCell<Vec<CompactionReport>>>,
) {
    if setup(&store, &model).await.is_err() {
        return;
    }
    let mailbox = model.borrow().mailbox.expect("set up");
    for id in 0..12 {
        let Ok(uid) = append(&store, mailbox, id, &mut Rng::new(id)).await else {
            return;
        };
        let mut model = model.borrow_mut();
        model.acked.insert(uid, id);
        model.uid_max = uid;
    }
    let expunge = |doom: fn(usize) -> bool| {
        let model = model.borrow();
        let doomed: Vec<UidRange> = model
            .acked
            .keys()
            .enumerate()
            .filter(|(position, uid)| doom(*position) && !model.expunge_requested.contains(uid))
            .map(|(_, uid)| UidRange::one(*uid))
            .collect();
        doomed
    };
    // Copies share their originals' content; the originals go below, the copies stay, so
    // compaction must keep (and move) the shared chunks for the copies alone.
    let shared: Vec<(Uid, u64)> = {
        let model = model.borrow();
        let acked: Vec<(Uid, u64)> = model.acked.iter().map(|(uid, id)| (*uid, *id)).collect();
        vec![acked[1], acked[4], acked[5]]
    };
    let copies = model.borrow().copies.expect("set up");
    for (uid, id) in shared {
        let Ok((pairs, _durable)) = store
            .copy_messages(mailbox, &[UidRange::one(uid)], copies, id as i64)
            .await
        else {
            return;
        };
        model.borrow_mut().copies_acked.insert(pairs[0].1, id);
    }
    let doomed = expunge(|position| position % 3 != 0);
    let first_doomed: Vec<Uid> = doomed.iter().map(|range| range.first).collect();
    model.borrow_mut().expunge_requested.extend(&first_doomed);
    let Ok((removed, _durable)) = store.expunge(mailbox, &doomed).await else {
        return;
    };
    model.borrow_mut().expunged.extend(removed);
    let survivors: Vec<UidRange> = model
        .borrow()
        .acked
        .keys()
        .filter(|uid| !first_doomed.contains(uid))
        .map(|uid| UidRange::one(*uid))
        .collect();
    let Ok((modseq, _durable)) = store
        .store_flags(
            mailbox,
            &survivors,
            FlagOperation::Add,
            SystemFlags::FLAGGED,
            &[],
        )
        .await
    else {
        return;
    };
    {
        let mut model = model.borrow_mut();
        model.modseq_max = modseq;
        model
            .flagged
            .extend(survivors.iter().map(|range| range.first));
    }
    let writer = glommio::spawn_local(worker(store.clone(), model.clone(), 7));
    let compacted = store.compact().await;
    let _ = writer.await;
    let Ok(compacted) = compacted else {
        return;
    };
    reports.borrow_mut().push(compacted);
    // The large message at the start of segment 1 and most small ones.
    let doomed = expunge(|position| position < 8);
    let doomed_uids: Vec<Uid> = doomed.iter().map(|range| range.first).collect();
    model.borrow_mut().expunge_requested.extend(doomed_uids);
    let Ok((removed, _durable)) = store.expunge(mailbox, &doomed).await else {
        return;
    };
    model.borrow_mut().expunged.extend(removed);
    let Ok(compacted) = store.compact().await else {
        return;
    };
    reports.borrow_mut().push(compacted);
    if let Ok(uid) = append(&store, mailbox, 4242, &mut Rng::new(8)).await {
        model.borrow_mut().acked.insert(uid, 4242);
        model.borrow_mut().uid_max = uid;
    }
    let _ = store.close().await;
}

fn run_compaction_workload(faults: Faults) -> (SimDisk, Model, Vec<CompactionReport>) {
    run(async move {
        let disk = SimDisk::new(Faults::default());
        let (store, _) = Store::open(disk.clone(), compaction_config())
            .await
            .expect("open empty");
        disk.set_faults(faults);
        let model = Rc::new(RefCell::new(Model::default()));
        let reports = Rc::new(RefCell::new(Vec::new()));
        compaction_workload(store, model.clone(), reports.clone()).await;
        let model = model.take();
        (disk, model, reports.take())
    })
}

/// Total octets of the segment files.
/// What the segments take on disk: a rewritten segment may have a hole (which takes
/// nothing) between its header and its records.
fn segment_octets(disk: &SimDisk) -> usize {
    use postern_storage::segment::{SEGMENT_HEADER_OCTETS, SegmentHeader};
    disk.files()
        .iter()
        .filter(|id| id.kind == postern_storage::disk::FileKind::Segment)
        .filter_map(|id| disk.content_of(*id))
        .map(|content| {
            let start = SegmentHeader::decode(&content).map_or(64, |h| h.records_start);
            content.len() - (start as usize - SEGMENT_HEADER_OCTETS)
        })
        .sum()
}

#[test]
fn compaction_reclaims_expunged_content_and_keeps_everything_else() {
    let (disk, model, reports) = run_compaction_workload(Faults::default());
    assert_eq!(reports.len(), 2);
    let first: Vec<u64> = reports[0].compacted.iter().map(|c| c.0).collect();
    let second: Vec<u64> = reports[1].compacted.iter().map(|c| c.0).collect();
    assert!(first.len() >= 2, "{reports:?}");
    assert!(
        second.iter().any(|sequence| first.contains(sequence)),
        "a rewritten segment is rewritten again: {reports:?}"
    );
    for (sequence, before, after) in reports.iter().flat_map(|r| r.compacted.iter()) {
        assert!(after < before, "segment {sequence}: {before} → {after}");
    }
    let (uncompacted, _, _) = run_workload_sizes();
    assert!(segment_octets(&disk) < uncompacted);
    run(async move {
        let (store, report, full) = open_both_ways(&disk, compaction_config()).await;
        assert!(
            report.checkpoint.is_some() && report.records == 0,
            "{report:?}"
        );
        assert_eq!(
            state_image(&store),
            full,
            "checkpoint and full replay agree"
        );
        drop(store);
        verify(disk.crash_image(Cut::Octets(0)), &model).await;
    });
}

/// Segment octets of the same workload's appends without compaction, for comparison.
fn run_workload_sizes() -> (usize, (), ()) {
    let mut config = compaction_config();
    config.compaction_live_percent_max = 0;
    let disk = run(async move {
        let disk = SimDisk::new(Faults::default());
        let (store, _) = Store::open(disk.clone(), config).await.expect("open");
        let model = Rc::new(RefCell::new(Model::default()));
        compaction_workload(store, model, Rc::default()).await;
        disk
    });
    (segment_octets(&disk), (), ())
}

#[test]
fn crash_at_every_step_of_compaction() {
    let (disk, _, _) = run_compaction_workload(Faults::default());
    let steps = disk.operations();
    for crash in 0..steps {
        let (disk, model, _) = run_compaction_workload(Faults {
            crash_at_operation: Some(crash),
            ..Faults::default()
        });
        let image = disk.crash_image(Cut::Random(crash));
        run(async move {
            let (store, report, full) = open_both_ways(&image, compaction_config()).await;
            assert!(report.damaged.is_empty(), "crash at {crash}: {report:?}");
            assert_eq!(state_image(&store), full, "crash at {crash}: {report:?}");
            drop(store);
            verify(image, &model).await;
        });
    }
}

/// Under backpressure (more pending than `batch_octets_max`), writers are admitted in arrival
/// order: no writer waits many more batches than the others.
#[test]
fn backpressure_admits_writers_in_arrival_order() {
    run(async {
        let disk = SimDisk::new(Faults::default());
        let mut config = config();
        config.segment_octets_max = 64 * 1024 * 1024;
        let (store, _) = Store::open(disk, config).await.expect("open");
        let model = Rc::new(RefCell::new(Model::default()));
        setup(&store, &model).await.expect("setup");
        let mailbox = model.borrow().mailbox.expect("mailbox");
        let writers: Vec<_> = (0..48u64)
            .map(|writer| {
                let store = store.clone();
                glommio::spawn_local(async move {
                    let mut waits = Vec::new();
                    for round in 0..4 {
                        let before = store.log().durable_ticket();
                        // 40 KiB messages: a 96 KiB batch holds two.
                        let bytes = vec![b'x'; 40 * 1024];
                        let mut message = store.begin_message(mailbox.account.partition);
                        message.write(&bytes).await.expect("write");
                        let meta = MessageMeta {
                            parse: (writer * 10 + round).to_le_bytes().to_vec(),
                            ..Default::default()
                        };
                        let (_, _durable) = message.commit(mailbox, meta).await.expect("commit");
                        waits.push(store.log().durable_ticket() - before);
                    }
                    waits
                })
            })
            .collect();
        let mut waits = Vec::new();
        for writer in writers {
            waits.extend(writer.await);
        }
        let mean = waits.iter().sum::<u64>() as f64 / waits.len() as f64;
        let max = *waits.iter().max().expect("waits");
        assert!(
            max as f64 <= 1.5 * mean + 2.0,
            "max {max} batches, mean {mean:.1}"
        );
        // Fairness does not cost batching: about three 40 KiB chunks per 96 KiB batch.
        let batches = store.log().durable_ticket();
        assert!(batches <= waits.len() as u64 / 2 + 4, "{batches} batches");
    });
}

#[test]
fn compaction_runs_in_the_background_after_its_interval() {
    run(async {
        let disk = SimDisk::new(Faults::default());
        let mut config = compaction_config();
        config.compaction_interval_octets = 256 * 1024;
        // Whole walks: the background pass ends before the last segment is sealed.
        config.compaction_slice_entries = LogConfig::new(0).compaction_slice_entries;
        let (store, _) = Store::open(disk.clone(), config.clone())
            .await
            .expect("open");
        let model = Rc::new(RefCell::new(Model::default()));
        setup(&store, &model).await.expect("setup");
        let mailbox = model.borrow().mailbox.expect("mailbox");
        for id in 0..16 {
            let uid = append(&store, mailbox, id, &mut Rng::new(id))
                .await
                .expect("append");
            if id % 4 != 0 {
                let (removed, _durable) = store
                    .expunge(mailbox, &[UidRange::one(uid)])
                    .await
                    .expect("expunge");
                model.borrow_mut().expunged.extend(removed);
            } else {
                model.borrow_mut().acked.insert(uid, id);
            }
            model.borrow_mut().uid_max = uid;
        }
        // Waits for the background pass to end, then finds nothing left to do.
        let last = store.compact().await.expect("compact");
        assert!(last.compacted.is_empty(), "{last:?}");
        let sizes: Vec<usize> = (1..=3)
            .filter_map(|sequence| disk.content(sequence))
            .map(|content| content.len())
            .collect();
        assert!(
            sizes.iter().any(|octets| *octets < 512 * 1024),
            "a sealed segment was compacted: {sizes:?}"
        );
        store.close().await.expect("close");
        drop(store);
        let model = model.take();
        verify(disk.crash_image(Cut::Octets(0)), &model).await;
    });
}

#[test]
fn close_waits_for_a_compaction_pass_and_none_runs_after() {
    run(async {
        let disk = SimDisk::new(Faults::default());
        let (store, _) = Store::open(disk.clone(), compaction_config())
            .await
            .expect("open");
        let model = Rc::new(RefCell::new(Model::default()));
        setup(&store, &model).await.expect("setup");
        let mailbox = model.borrow().mailbox.expect("mailbox");
        for id in 0..10 {
            let uid = append(&store, mailbox, id, &mut Rng::new(id))
                .await
                .expect("append");
            if id % 2 == 1 {
                let (_, _durable) = store
                    .expunge(mailbox, &[UidRange::one(uid)])
                    .await
                    .expect("expunge");
            }
        }
        let pass = glommio::spawn_local({
            let store = store.clone();
            async move { store.compact().await }
        });
        futures_lite::future::yield_now().await;
        store.close().await.expect("close");
        let pass = pass.await.expect("pass");
        assert!(!pass.compacted.is_empty(), "{pass:?}");
        let after = store.compact().await.expect("compact after close");
        assert_eq!(after, Default::default());
        let (_, report) = Store::open(disk.crash_image(Cut::Octets(0)), compaction_config())
            .await
            .expect("reopen");
        assert!(report.checkpoint_problems.is_empty(), "{report:?}");
        assert_eq!(
            report.records, 0,
            "the closing checkpoint covers the compaction"
        );
    });
}
