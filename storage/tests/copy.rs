//! COPY/MOVE sharing content, conditional STORE, save dates and the expunge history through
//! the store's API on the simulated disk: compaction with shared extents, with moves landing
//! between the slices of its index walk, and with tombstones; reopen from a checkpoint and by
//! full replay, and a log written by format version 1.

use postern_storage::sim::{Cut, Faults, SimDisk, run};
use postern_storage::{
    FlagOperation, LogConfig, MailboxKey, MessageMeta, Store, StoreError, SystemFlags, Uid,
    UidRange,
};
use std::rc::Rc;

mod common;
use common::account_with;

fn config() -> LogConfig {
    let mut config = LogConfig::new(0);
    config.segment_octets_max = 512 * 1024;
    config.salt_seed = Some(3);
    config.checkpoint_interval_octets = 0;
    config.compaction_interval_octets = 0;
    config.compaction_octets_per_sec = 0;
    config.compaction_live_percent_max = 50;
    config
}

fn content(id: u64, octets: usize) -> Vec<u8> {
    let mut rng = postern_storage::sim::Rng::new(id);
    (0..octets).map(|_| b'a' + rng.below(26) as u8).collect()
}

async fn append(
    store: &Rc<Store<SimDisk>>,
    mailbox: MailboxKey,
    bytes: &[u8],
    meta: MessageMeta,
) -> Uid {
    let mut writer = store.begin_message(mailbox.account.partition);
    writer.write(bytes).await.expect("write");
    let (uid, _durable) = writer.commit(mailbox, meta).await.expect("commit");
    uid
}

async fn read_all(store: &Store<SimDisk>, mailbox: MailboxKey, uid: Uid) -> Vec<u8> {
    let mut bytes = Vec::new();
    let mut buffer = vec![0u8; 50_000];
    loop {
        let octets = store
            .read(mailbox, uid, bytes.len() as u64, &mut buffer)
            .await
            .expect("read");
        if octets == 0 {
            return bytes;
        }
        bytes.extend_from_slice(&buffer[..octets]);
    }
}

/// An account with INBOX and Archive.
async fn setup(store: &Store<SimDisk>, quotas: (u64, u64)) -> (MailboxKey, MailboxKey) {
    let names = ["INBOX", "Archive"];
    let [inbox, archive] = account_with(store, 4, "erin@example.org", quotas, names).await;
    (inbox, archive)
}

fn first_extent(store: &Store<SimDisk>, mailbox: MailboxKey, uid: Uid) -> (u32, u32) {
    let state = store.state();
    let entry = state
        .mailbox(mailbox)
        .and_then(|target| target.index.get(uid))
        .expect("entry");
    (entry.first_extent.sequence, entry.first_extent.offset)
}

/// The durable state as a checkpoint encodes it, less `ingest_next`.
fn state_image(store: &Store<SimDisk>) -> Vec<u8> {
    let mut image = Vec::new();
    postern_storage::checkpoint::encode_state(&store.state(), &mut image);
    image.split_off(8)
}

/// Content shared by an original and its copy counts once for compaction, is moved once
/// with both following it, outlives the original, and is reclaimed with the last copy.
#[test]
fn compaction_moves_shared_content_once_and_keeps_it_for_the_copy() {
    let disk = SimDisk::new(Faults::default());
    run({
        let disk = disk.clone();
        async move {
            let (store, _) = Store::open(disk.clone(), config()).await.expect("open");
            let (inbox, archive) = setup(&store, (0, 0)).await;
            let kept = content(1, 200 * 1024);
            let original = append(&store, inbox, &kept, meta(1)).await;
            let doomed = append(&store, inbox, &content(2, 290 * 1024), meta(2)).await;
            // Does not fit segment 1: seals it.
            append(&store, inbox, &content(3, 100 * 1024), meta(3)).await;
            let (pairs, _) = store
                .copy_messages(inbox, &[UidRange::one(original)], archive, 77)
                .await
                .expect("copy");
            let copy = pairs[0].1;
            let (_, _) = store
                .expunge(inbox, &[UidRange::one(doomed)])
                .await
                .expect("expunge");
            let before = first_extent(&store, inbox, original);
            assert_eq!(before, first_extent(&store, archive, copy));
            assert_eq!(before.0, 1);
            // 200 of 512 KiB live: compacted. Counted twice it would be 78 % and skipped.
            let report = store.compact().await.expect("compact");
            assert_eq!(
                report.compacted.iter().map(|c| c.0).collect::<Vec<_>>(),
                vec![1],
                "{report:?}"
            );
            let after = first_extent(&store, inbox, original);
            assert_ne!(after, before, "the shared chunk moved");
            assert_eq!(after, first_extent(&store, archive, copy), "both followed");
            assert_eq!(read_all(&store, inbox, original).await, kept);
            assert_eq!(read_all(&store, archive, copy).await, kept);
            // Without the original the content stays for the copy.
            let (_, _) = store
                .expunge(inbox, &[UidRange::one(original)])
                .await
                .expect("expunge original");
            let report = store.compact().await.expect("compact");
            assert!(report.compacted.is_empty(), "{report:?}");
            assert_eq!(read_all(&store, archive, copy).await, kept);
            let commit = store.read_commit(archive, copy).await.expect("commit");
            assert_eq!(commit.parse, 1u64.to_le_bytes());
            store.close().await.expect("close");
        }
    });
    // Reopen from the closing checkpoint and by full replay: the same state, the copy whole.
    let image = disk.crash_image(Cut::Octets(0));
    run(async move {
        let (store, report) = Store::open(image.clone(), config()).await.expect("reopen");
        assert!(
            report.checkpoint.is_some() && report.records == 0,
            "{report:?}"
        );
        let checkpointed = state_image(&store);
        let archive = archive_of(&store);
        assert_eq!(read_all(&store, archive, 1).await, content(1, 200 * 1024));
        assert_eq!(
            store
                .state()
                .mailbox(archive)
                .and_then(|target| target.index.get(1).and_then(|e| e.save_date_secs())),
            Some(77)
        );
        drop(store);
        let store = replayed_whole(&image, &checkpointed).await;
        assert_eq!(read_all(&store, archive, 1).await, content(1, 200 * 1024));
        // The last reference goes: compaction reclaims the chunk.
        let before = used_octets(&store, 1).await;
        let (_, _) = store
            .expunge(archive, &[UidRange::one(1)])
            .await
            .expect("expunge copy");
        let report = store.compact().await.expect("compact");
        let (sequence, from, to) = report.compacted[0];
        assert_eq!((sequence, from), (1, before));
        assert!(to + 200 * 1024 <= from, "{report:?}");
    });
}

/// Compaction replaces the commit record of a message that is gone (expunged, moved and then
/// expunged, with every copy) by a tombstone without its parse results, and keeps the commit
/// of an expunged original whose copy lives. A full replay of the rewritten log gives the same
/// state: UIDNEXT, HIGHESTMODSEQ, usage, keywords and the expunge history (QRESYNC) included.
#[test]
fn compaction_leaves_tombstones_of_gone_messages_and_replay_agrees() {
    const PARSE: usize = 20 * 1024;
    let disk = SimDisk::new(Faults::default());
    let image = run({
        let disk = disk.clone();
        async move {
            let (store, _) = Store::open(disk.clone(), config()).await.expect("open");
            let (inbox, archive) = setup(&store, (0, 0)).await;
            let mut uids = Vec::new();
            for id in 1..=8 {
                let meta = MessageMeta {
                    keywords: vec![format!("k{}", id % 3)],
                    parse: vec![id as u8; PARSE],
                    ..meta(id)
                };
                uids.push(append(&store, inbox, &content(id, 2048), meta).await);
            }
            uids.push(append(&store, inbox, &content(9, 300 * 1024), meta(9)).await);
            // Does not fit segment 1: seals it.
            append(&store, inbox, &content(99, 100 * 1024), meta(99)).await;
            let (pairs, _) = store
                .copy_messages(inbox, &[UidRange::one(uids[1])], archive, 7)
                .await
                .expect("copy");
            let copy = pairs[0].1;
            let (moved, _, _) = store
                .move_messages(inbox, &[UidRange::one(uids[2])], archive, 8)
                .await
                .expect("move");
            let (_, _) = store
                .expunge(archive, &[UidRange::one(moved[0].1)])
                .await
                .expect("expunge the moved message");
            let gone: Vec<UidRange> = [0, 1, 3, 4, 8]
                .iter()
                .map(|at| UidRange::one(uids[*at]))
                .collect();
            let (_, _) = store.expunge(inbox, &gone).await.expect("expunge");
            let report = store.compact().await.expect("compact");
            let [(sequence, from, to)] = report.compacted[..] else {
                panic!("{report:?}");
            };
            assert_eq!(sequence, 1, "{report:?}");
            // Gone: messages 1, 3 (moved, then expunged), 4, 5 and 9; message 2's copy lives.
            // Kept: the commits of 2 and 6 to 8 (their parse results make the bulk); the
            // other five are tombstones of a few dozen octets (whole, they would be 100 KiB).
            let parse = PARSE as u64;
            assert!(
                from > to && (4 * parse..5 * parse).contains(&to),
                "{report:?}"
            );
            assert_eq!(read_all(&store, archive, copy).await, content(2, 2048));
            let commit = store.read_commit(archive, copy).await.expect("commit");
            assert_eq!(commit.parse, vec![2u8; PARSE]);
            for (id, uid) in (6..=8).zip(&uids[5..]) {
                assert_eq!(read_all(&store, inbox, *uid).await, content(id, 2048));
            }
            let compacted = state_image(&store);
            store.close().await.expect("close");
            compacted
        }
    });
    // The whole log, with its tombstones, replayed from the start.
    run(async move {
        let store = replayed_whole(&disk, &image).await;
        let inbox = store
            .mailbox_by_name(archive_of(&store).account, "INBOX")
            .expect("inbox");
        let history = store.state().mailbox(inbox).map(|m| m.expunged.since(0));
        // UID 3 was moved away earlier: the history merges across it.
        let gone = vec![UidRange { first: 1, last: 5 }, UidRange::one(9)];
        assert_eq!(history, Some(Some(gone)));
    });
}

/// What segment `sequence` takes on disk: its size less the hole a rewrite may have left
/// between its header and its records.
async fn used_octets(store: &Store<SimDisk>, sequence: u64) -> u64 {
    use postern_storage::SegmentFile;
    use postern_storage::segment::{SEGMENT_HEADER_OCTETS, SegmentHeader};
    let (file, _) = store.log().segment(sequence).expect("segment");
    let header = file.read_at(0, SEGMENT_HEADER_OCTETS).await.expect("read");
    let header = SegmentHeader::decode(&header).expect("header");
    let octets = file.octets().await.expect("octets");
    octets - (header.records_start - SEGMENT_HEADER_OCTETS as u64)
}

/// UID and internal date of every message of `mailbox`, ascending.
fn uids_and_dates(store: &Store<SimDisk>, mailbox: MailboxKey) -> Vec<(Uid, i64)> {
    let state = store.state();
    let entries = state.mailbox(mailbox).map(|m| m.index.entries());
    let entries = entries.unwrap_or_default().iter();
    entries.map(|e| (e.uid, e.internal_date_secs)).collect()
}

/// Compaction walks the index in slices and lets other work run between them. A MOVE applied
/// meanwhile can carry a message from a mailbox the walk has not reached into one it has
/// passed, expunging the original: the walk must visit the copy, or the plan drops content
/// the moved message still uses (and the move of the index finds a location it cannot move).
#[test]
fn moves_during_a_sliced_compaction_walk_keep_every_message_whole() {
    run(async move {
        let mut config = config();
        config.compaction_slice_entries = 1;
        let (store, _) = Store::open(SimDisk::new(Faults::default()), config)
            .await
            .expect("open");
        // INBOX is walked before Archive (lower mailbox number).
        let (inbox, archive) = setup(&store, (0, 0)).await;
        let mut ids = Vec::new();
        for id in 0..6 {
            append(&store, inbox, &content(id, 4096), meta(id)).await;
            ids.push(id);
        }
        let doomed = append(&store, inbox, &content(99, 300 * 1024), meta(99)).await;
        for id in 100..140 {
            append(&store, archive, &content(id, 4096), meta(id)).await;
        }
        // Does not fit segment 1: seals it.
        append(&store, inbox, &content(200, 200 * 1024), meta(200)).await;
        let (_, _) = store
            .expunge(inbox, &[UidRange::one(doomed)])
            .await
            .expect("expunge");
        let compacting = Rc::new(std::cell::Cell::new(true));
        let mover = glommio::spawn_local({
            let (store, compacting) = (store.clone(), compacting.clone());
            async move {
                // Until compaction is done: the last message of Archive (walked last) goes
                // to INBOX; once Archive is empty they go back, the oldest first.
                let (mut from, mut to) = (archive, inbox);
                let mut moves = 0;
                while compacting.get() {
                    let uids = uids_and_dates(&store, from);
                    let archived = |(_, date): &&(Uid, i64)| (1100..1140).contains(date);
                    let next = match from == archive {
                        true => uids.iter().rev().find(archived),
                        false => uids.iter().find(archived),
                    };
                    let Some((uid, _)) = next else {
                        (from, to) = (to, from);
                        continue;
                    };
                    let (_, _, _durable) = store
                        .move_messages(from, &[UidRange::one(*uid)], to, 5)
                        .await
                        .expect("move");
                    moves += 1;
                    // A timer, so the executor polls its timers and I/O (compaction's
                    // pauses between slices are timers too).
                    glommio::timer::sleep(std::time::Duration::from_micros(200)).await;
                }
                moves
            }
        });
        let report = store.compact().await.expect("compact");
        compacting.set(false);
        let moves = mover.await;
        assert_eq!(
            report.compacted.iter().map(|c| c.0).collect::<Vec<_>>(),
            vec![1],
            "{report:?}"
        );
        let mut seen = Vec::new();
        for mailbox in [inbox, archive] {
            for (uid, date) in uids_and_dates(&store, mailbox) {
                let id = (date - 1000) as u64;
                let octets = if id == 200 { 200 * 1024 } else { 4096 };
                assert_eq!(read_all(&store, mailbox, uid).await, content(id, octets));
                seen.push(id);
            }
        }
        seen.sort_unstable();
        let expected: Vec<u64> = (0..6).chain(100..140).chain([200]).collect();
        assert_eq!(seen, expected);
        assert!(
            report.copies_followed > 0,
            "no move landed mid-walk: {report:?}"
        );
        assert!(moves > 0);
        store.close().await.expect("close");
    });
}

/// The move of the index to a rewritten segment runs in slices (here one message each),
/// between which the shard's other work runs: reads of moved and not yet moved messages (the
/// latter still from the old file) return their content and commit records; a copy of a
/// message not yet moved follows it to the new file; a checkpoint asked for meanwhile waits
/// for the move, so reopening from it finds every message at its new place.
#[test]
fn reads_a_copy_and_a_checkpoint_during_a_sliced_move_of_the_index() {
    let disk = SimDisk::new(Faults::default());
    let (image, copy) = run({
        let disk = disk.clone();
        async move {
            let mut config = config();
            // One message per slice of the move.
            config.compaction_slice_entries = 8;
            let (store, _) = Store::open(disk.clone(), config).await.expect("open");
            let (inbox, archive) = setup(&store, (0, 0)).await;
            for id in 0..24 {
                append(&store, inbox, &content(id, 4096), meta(id)).await;
            }
            // An empty message: its extent names its commit record, and moves with it.
            append(&store, inbox, &[], meta(150)).await;
            let doomed = append(&store, inbox, &content(99, 300 * 1024), meta(99)).await;
            // Does not fit segment 1: seals it.
            append(&store, inbox, &content(200, 200 * 1024), meta(200)).await;
            let (_, _) = store
                .expunge(inbox, &[UidRange::one(doomed)])
                .await
                .expect("expunge");
            let users = users_now(&store, inbox);
            let before: Vec<(u32, u32)> = users
                .iter()
                .map(|(uid, _)| first_extent(&store, inbox, *uid))
                .collect();
            let compacting = Rc::new(std::cell::Cell::new(true));
            let observer = glommio::spawn_local({
                let (store, compacting, disk) = (store.clone(), compacting.clone(), disk.clone());
                let before = before.clone();
                async move {
                    let mut mixed_seen = 0;
                    let mut outcome = None;
                    while compacting.get() {
                        let moved = users
                            .iter()
                            .zip(&before)
                            .filter(|((uid, _), old)| first_extent(&store, inbox, *uid) != **old)
                            .count();
                        // Reads of the simulated disk never wait: let compaction go on.
                        glommio::timer::sleep(std::time::Duration::from_micros(10)).await;
                        if moved == 0 || moved == users.len() {
                            continue;
                        }
                        mixed_seen += 1;
                        for (uid, date) in &users {
                            let id = (date - 1000) as u64;
                            assert_eq!(read_all(&store, inbox, *uid).await, content(id, 4096));
                            let commit = store.read_commit(inbox, *uid).await.expect("commit");
                            assert_eq!(commit.parse, id.to_le_bytes());
                        }
                        if outcome.is_none() {
                            // The last user is moved last.
                            let (last, date) = *users.last().expect("users");
                            let (pairs, _durable) = store
                                .copy_messages(inbox, &[UidRange::one(last)], archive, 5)
                                .await
                                .expect("copy");
                            store.checkpoint().await.expect("checkpoint");
                            // Before compaction's own checkpoint (it waits for this one).
                            let image = disk.crash_image(Cut::Octets(0));
                            outcome = Some((image, pairs[0].1, (date - 1000) as u64));
                        }
                    }
                    (mixed_seen, outcome)
                }
            });
            let report = store.compact().await.expect("compact");
            compacting.set(false);
            let (mixed_seen, outcome) = observer.await;
            assert!(mixed_seen > 0, "never saw the move half done: {report:?}");
            assert_eq!(report.compacted.len(), 1, "{report:?}");
            assert!(report.copies_followed > 0, "{report:?}");
            let (image, copy, id) = outcome.expect("copied during the move");
            for ((uid, _), old) in users_now(&store, inbox).iter().zip(&before) {
                assert_ne!(first_extent(&store, inbox, *uid), *old, "UID {uid} moved");
            }
            assert_eq!(read_all(&store, archive, copy).await, content(id, 4096));
            store.close().await.expect("close");
            (image, (copy, id))
        }
    });
    run(async move {
        let (copy, id) = copy;
        let (store, report) = Store::open(image.clone(), config()).await.expect("reopen");
        assert!(report.checkpoint.is_some(), "{report:?}");
        assert!(report.damaged.is_empty() && report.anomalies.is_empty());
        let checkpointed = state_image(&store);
        let archive = archive_of(&store);
        let inbox = store
            .mailbox_by_name(archive.account, "INBOX")
            .expect("inbox");
        for (uid, date) in uids_and_dates(&store, inbox) {
            let id = (date - 1000) as u64;
            let octets = match id {
                200 => 200 * 1024,
                150 => 0,
                _ => 4096,
            };
            assert_eq!(read_all(&store, inbox, uid).await, content(id, octets));
        }
        assert_eq!(read_all(&store, archive, copy).await, content(id, 4096));
        drop(store);
        replayed_whole(&image, &checkpointed).await;
    });
}

/// A writer whose commit is appended but not yet applied can be dropped (a session that goes
/// away): its pin on the segment holding its content goes with it, but the commit is still
/// applied later. Compaction must not rewrite that segment meanwhile (its walk would not find
/// the message, and the content would be dropped); once the commit is applied it may.
#[test]
fn compaction_waits_for_the_commit_of_a_dropped_writer() {
    run(async {
        let (store, _) = Store::open(SimDisk::new(Faults::default()), config())
            .await
            .expect("open");
        let (inbox, _) = setup(&store, (0, 0)).await;
        for id in 0..4 {
            append(&store, inbox, &content(id, 4096), meta(id)).await;
        }
        let doomed = append(&store, inbox, &content(99, 150 * 1024), meta(99)).await;
        // Two full chunks go to segment 1 as they are written; the rest waits for commit.
        let mut writer = store.begin_message(inbox.account.partition);
        let body = content(7, 260 * 1024);
        writer.write(&body).await.expect("write");
        // Does not fit segment 1: seals it.
        append(&store, inbox, &content(200, 200 * 1024), meta(200)).await;
        let (_, _) = store
            .expunge(inbox, &[UidRange::one(doomed)])
            .await
            .expect("expunge");
        let mut commit = Box::pin(writer.commit(inbox, meta(7)));
        assert!(
            futures_lite::future::poll_once(&mut commit).await.is_none(),
            "appended, waiting to be durable"
        );
        drop(commit);
        let refused = store.compact_segment(1).await.expect("compact");
        assert_eq!(
            refused,
            Err("a message with content in it is not applied yet".to_string())
        );
        // Applied with the next write that waits for the log.
        append(&store, inbox, &content(8, 4096), meta(8)).await;
        let compacted = store.compact_segment(1).await.expect("compact");
        assert!(compacted.is_ok(), "{compacted:?}");
        let (uid, _) = *uids_and_dates(&store, inbox)
            .iter()
            .find(|(_, date)| *date == 1007)
            .expect("the dropped writer's message");
        assert_eq!(read_all(&store, inbox, uid).await, body);
        store.close().await.expect("close");
    });
}

/// (UID, internal date) of `mailbox`'s messages written before the expunged one.
fn users_now(store: &Store<SimDisk>, mailbox: MailboxKey) -> Vec<(Uid, i64)> {
    let users = uids_and_dates(store, mailbox);
    users.into_iter().filter(|(_, date)| *date < 1099).collect()
}

fn meta(id: u64) -> MessageMeta {
    MessageMeta {
        internal_date_secs: 1000 + id as i64,
        parse: id.to_le_bytes().to_vec(),
        ..Default::default()
    }
}

fn archive_of(store: &Store<SimDisk>) -> MailboxKey {
    let account = store.account_by_name("erin@example.org").expect("account");
    store.mailbox_by_name(account, "Archive").expect("archive")
}

/// `disk` after a crash, opened without its checkpoints: the whole log replayed must give
/// the state `expected` (`state_image`).
async fn replayed_whole(disk: &SimDisk, expected: &[u8]) -> Rc<Store<SimDisk>> {
    let replay = disk.crash_image(Cut::Octets(0));
    remove_checkpoints(&replay).await;
    let (store, report) = Store::open(replay, config()).await.expect("replay");
    assert!(
        report.checkpoint.is_none() && report.anomalies.is_empty(),
        "{report:?}"
    );
    assert_eq!(state_image(&store), expected);
    store
}

async fn remove_checkpoints(disk: &SimDisk) {
    use postern_storage::Disk;
    use postern_storage::disk::{FileId, FileKind};
    for sequence in disk.list(FileKind::Checkpoint).await.expect("list") {
        disk.remove(FileId::checkpoint(sequence))
            .await
            .expect("remove");
    }
}

/// A copy keeps flags, keywords, internal date, size and parse results, gets its own UID,
/// MODSEQ and save date; quota counts it; copies never leave the account.
#[test]
fn copies_keep_metadata_count_against_quota_and_stay_in_the_account() {
    run(async {
        let disk = SimDisk::new(Faults::default());
        let (store, _) = Store::open(disk, config()).await.expect("open");
        let (inbox, archive) = setup(&store, (0, 3)).await;
        let bytes = content(7, 3000);
        let mut writer = store.begin_message(inbox.account.partition);
        writer.write(&bytes).await.expect("write");
        let first = MessageMeta {
            internal_date_secs: 1234,
            flags: SystemFlags::SEEN.union(SystemFlags::FLAGGED),
            keywords: vec!["work".into(), "$Junk".into()],
            parse: b"parse-7".to_vec(),
            envelope: Vec::new(),
        };
        let (uid, _) = writer
            .commit_saved(inbox, first, 5000)
            .await
            .expect("commit");
        let highest = store.status(archive).expect("status").highest_modseq;
        let (pairs, _) = store
            .copy_messages(inbox, &[UidRange { first: 1, last: 9 }], archive, 6000)
            .await
            .expect("copy");
        assert_eq!(pairs, vec![(uid, 1)]);
        {
            let state = store.state();
            let source = state.mailbox(inbox).expect("inbox");
            let original = source.index.get(uid).expect("original");
            assert_eq!(original.save_date_secs(), Some(5000));
            let target = state.mailbox(archive).expect("archive");
            let copy = target.index.get(1).expect("copy");
            assert_eq!(copy.flags, original.flags);
            let mut names = target.keywords.names(copy.keyword_set);
            names.sort_unstable();
            assert_eq!(names, vec!["$Junk", "work"]);
            assert_eq!(copy.internal_date_secs, 1234);
            assert_eq!(copy.size_octets, 3000);
            assert_eq!(copy.save_date_secs(), Some(6000));
            assert!(copy.modseq > highest && copy.modseq == target.highest_modseq);
            assert!(copy.shared() && original.shared());
        }
        assert_eq!(
            store.read_commit(archive, 1).await.expect("commit").parse,
            b"parse-7"
        );
        assert_eq!(read_all(&store, archive, 1).await, bytes);
        // Into the same mailbox: a new UID above the rest.
        let (pairs, _) = store
            .copy_messages(inbox, &[UidRange::one(uid)], inbox, 6001)
            .await
            .expect("copy to itself");
        assert_eq!(pairs, vec![(uid, uid + 1)]);
        // Three messages now: a fourth is over the message quota.
        let refused = store
            .copy_messages(inbox, &[UidRange::one(uid)], archive, 6002)
            .await;
        assert_eq!(refused.err(), Some(StoreError::OverQuota));
        // Nothing to copy: no record, no pairs.
        let appended = store.log().appended_octets();
        let (pairs, _) = store
            .copy_messages(
                inbox,
                &[UidRange {
                    first: 50,
                    last: 60,
                }],
                archive,
                1,
            )
            .await
            .expect("empty copy");
        assert!(pairs.is_empty());
        assert_eq!(store.log().appended_octets(), appended);
        // Another account's mailbox is not reachable.
        let (other, _) = store
            .create_account(4, "frank@example.org", 0, 0)
            .await
            .expect("account");
        let (elsewhere, _) = store.create_mailbox(other, "INBOX").await.expect("inbox");
        let refused = store
            .copy_messages(inbox, &[UidRange::one(uid)], elsewhere, 1)
            .await;
        assert_eq!(refused.err(), Some(StoreError::NoSuchMailbox));
        // A MOVE does not grow usage, so a full quota does not stop it.
        let (pairs, expunged, _) = store
            .move_messages(inbox, &[UidRange::one(uid)], archive, 7000)
            .await
            .expect("move under a full quota");
        assert_eq!((pairs.len(), expunged), (1, vec![uid]));
    });
}

/// MOVE is one record: the originals leave the source (reported for VANISHED), the copies
/// arrive, usage does not change, and sessions on both mailboxes are woken.
#[test]
fn move_expunges_the_originals_in_the_same_record() {
    run(async {
        let disk = SimDisk::new(Faults::default());
        let (store, _) = Store::open(disk, config()).await.expect("open");
        let (inbox, archive) = setup(&store, (0, 0)).await;
        for id in 0..4 {
            append(&store, inbox, &content(id, 500), meta(id)).await;
        }
        let usage = |store: &Store<SimDisk>| {
            let state = store.state();
            let account = state.accounts.get(&inbox.account).expect("account");
            (account.usage_octets, account.usage_messages)
        };
        let before = usage(&store);
        let since = store.status(inbox).expect("status").highest_modseq;
        let inbox_event = store.watch(inbox).expect("inbox");
        let archive_event = store.watch(archive).expect("archive");
        let generations = (inbox_event.generation(), archive_event.generation());
        let appended = store.log().appended_octets();
        let (pairs, expunged, _) = store
            .move_messages(
                inbox,
                &[UidRange { first: 2, last: 3 }, UidRange::one(9)],
                archive,
                42,
            )
            .await
            .expect("move");
        assert_eq!(pairs, vec![(2, 1), (3, 2)]);
        assert_eq!(expunged, vec![2, 3]);
        assert!(
            store.log().appended_octets() - appended < 200,
            "one small record"
        );
        assert_eq!(usage(&store), before);
        assert!(inbox_event.generation() > generations.0);
        assert!(archive_event.generation() > generations.1);
        assert_eq!(store.status(inbox).expect("status").messages, 2);
        assert_eq!(
            store.expunged_since(inbox, since),
            Some(vec![UidRange { first: 2, last: 3 }])
        );
        assert_eq!(read_all(&store, archive, 2).await, content(2, 500));
        let highest = store.status(inbox).expect("status").highest_modseq;
        assert_eq!(store.expunged_since(inbox, highest), Some(Vec::new()));
    });
}

/// RFC 7162 §3.1.3: the UNCHANGEDSINCE check runs when the record is applied, after every
/// write before it, so a STORE prepared against an old MODSEQ fails if another STORE got in
/// first. A STORE that changes nothing leaves the MODSEQ alone.
#[test]
fn conditional_store_is_checked_in_log_order() {
    run(async {
        let disk = SimDisk::new(Faults::default());
        let (store, _) = Store::open(disk, config()).await.expect("open");
        let (inbox, _) = setup(&store, (0, 0)).await;
        let uid = append(&store, inbox, b"hello", meta(1)).await;
        let uids = [UidRange::one(uid)];
        let seen = store
            .state()
            .mailbox(inbox)
            .expect("inbox")
            .index
            .get(uid)
            .expect("msg")
            .modseq;
        // Both are prepared before either is durable; the plain one is appended first.
        let plain = glommio::spawn_local({
            let store = store.clone();
            async move {
                store
                    .store_flags(inbox, &uids, FlagOperation::Add, SystemFlags::FLAGGED, &[])
                    .await
            }
        });
        let conditional = glommio::spawn_local({
            let store = store.clone();
            async move {
                store
                    .store_flags_if(
                        inbox,
                        &uids,
                        FlagOperation::Add,
                        SystemFlags::SEEN,
                        &[],
                        Some(seen),
                    )
                    .await
            }
        });
        let (flagged_at, _) = plain.await.expect("plain store");
        let (outcome, _) = conditional.await.expect("conditional store");
        assert_eq!(outcome.modified, vec![uid]);
        assert!(outcome.changed.is_empty());
        let modseq_of = |store: &Store<SimDisk>| {
            let state = store.state();
            let entry = state.mailbox(inbox).and_then(|m| m.index.get(uid).cloned());
            entry.map(|entry| (entry.flags, entry.modseq))
        };
        assert_eq!(modseq_of(&store), Some((SystemFlags::FLAGGED, flagged_at)));
        // Against the current MODSEQ it succeeds and says what changed.
        let (outcome, _) = store
            .store_flags_if(
                inbox,
                &uids,
                FlagOperation::Add,
                SystemFlags::SEEN,
                &["done".into()],
                Some(flagged_at),
            )
            .await
            .expect("store");
        assert!(outcome.modified.is_empty());
        assert_eq!(outcome.changed.len(), 1);
        let stored = outcome.changed[0];
        assert_eq!(stored.flags, SystemFlags::FLAGGED.union(SystemFlags::SEEN));
        let names = store
            .state()
            .mailbox(inbox)
            .expect("inbox")
            .keywords
            .names(stored.keyword_set)
            .join(" ");
        assert_eq!(names, "done");
        // Nothing changes: the MODSEQ stays (HIGHESTMODSEQ may move on).
        let (_, _) = store
            .store_flags(inbox, &uids, FlagOperation::Add, SystemFlags::SEEN, &[])
            .await
            .expect("store");
        assert_eq!(
            modseq_of(&store).map(|(_, modseq)| modseq),
            Some(outcome.modseq)
        );
        // Flag bits outside the system flags are refused before they reach the log.
        let refused = store
            .store_flags(inbox, &uids, FlagOperation::Add, SystemFlags(64), &[])
            .await;
        assert!(matches!(refused, Err(StoreError::LimitExceeded(_))));
    });
}

/// The expunge history is rebuilt by replay and carried in checkpoints; past its bound it
/// answers `None` for MODSEQs it no longer covers.
#[test]
fn expunge_history_survives_reopen_and_is_bounded() {
    use postern_storage::limits::EXPUNGE_HISTORY_RANGES_MAX;
    let disk = SimDisk::new(Faults::default());
    let messages = 2 * EXPUNGE_HISTORY_RANGES_MAX as u32 + 400;
    let (first, second) = run({
        let disk = disk.clone();
        async move {
            let (store, _) = Store::open(disk, config()).await.expect("open");
            let (inbox, _) = setup(&store, (0, 0)).await;
            let writers: Vec<_> = (0..16u64)
                .map(|writer| {
                    let store = store.clone();
                    glommio::spawn_local(async move {
                        for round in 0..u64::from(messages) / 16 + 1 {
                            append(&store, inbox, b"x", meta(writer * 1000 + round)).await;
                        }
                    })
                })
                .collect();
            for writer in writers {
                writer.await;
            }
            // Every other message, in two commands: no two expunged UIDs touch.
            let odd: Vec<UidRange> = (1..=messages).step_by(2).map(UidRange::one).collect();
            let (halves_a, halves_b) = odd.split_at(odd.len() / 2);
            let before = store.status(inbox).expect("status").highest_modseq;
            let (_, _) = store.expunge(inbox, halves_a).await.expect("expunge");
            let first = store.status(inbox).expect("status").highest_modseq;
            assert_eq!(
                store
                    .expunged_since(inbox, before)
                    .map(|ranges| ranges.len()),
                Some(halves_a.len())
            );
            let (_, _) = store.expunge(inbox, halves_b).await.expect("expunge");
            let second = store.status(inbox).expect("status").highest_modseq;
            store.checkpoint().await.expect("checkpoint");
            // One more after the checkpoint, replayed on open.
            let (_, _) = store
                .expunge(inbox, &[UidRange::one(2)])
                .await
                .expect("expunge");
            (first, second)
        }
    });
    let image = disk.crash_image(Cut::Octets(0));
    run(async move {
        for full_replay in [false, true] {
            let disk = image.crash_image(Cut::Octets(0));
            if full_replay {
                remove_checkpoints(&disk).await;
            }
            let (store, report) = Store::open(disk, config()).await.expect("reopen");
            assert_eq!(report.checkpoint.is_some(), !full_replay);
            let account = store.account_by_name("erin@example.org").expect("account");
            let inbox = store.mailbox_by_name(account, "INBOX").expect("inbox");
            // The first command's ranges were forgotten past the bound.
            assert_eq!(store.expunged_since(inbox, first - 1), None);
            let since_first = store.expunged_since(inbox, first).expect("kept");
            assert_eq!(
                since_first.len(),
                odd_count(messages) - odd_count(messages) / 2 + 1
            );
            assert_eq!(
                store.expunged_since(inbox, second),
                Some(vec![UidRange::one(2)])
            );
        }
    });
}

fn odd_count(messages: u32) -> usize {
    messages.div_ceil(2) as usize
}

/// A log written by format version 1 opens: its messages have no save date, and the first
/// new write starts a new (current version) segment instead of mixing formats in the old one.
#[test]
fn a_version_one_log_opens_and_new_writes_start_a_new_segment() {
    use postern_storage::message::CHUNK_DATA_OFFSET;
    use postern_storage::record::{self, FrameContext, Record};
    use postern_storage::segment::SegmentHeader;
    use postern_storage::{AccountKey, Disk, Extent, MessageCommit, SegmentFile};
    let body = b"Subject: old\r\n\r\nwritten by version 1\r\n";
    let account = AccountKey {
        partition: 4,
        account: 0,
    };
    let inbox = MailboxKey {
        account,
        mailbox: 1,
    };
    let salt = 0x5a17;
    let mut bytes = SegmentHeader {
        format_version: 1,
        shard: 0,
        sequence: 1,
        created_secs: 0,
        salt,
        records_start: 64,
    }
    .encode()
    .to_vec();
    let chunk_at = |bytes: &Vec<u8>| bytes.len() as u64;
    let mut records = vec![
        Record::Account {
            account,
            name: "erin@example.org".into(),
            quota_octets_max: 0,
            quota_messages_max: 0,
        },
        Record::MailboxCreate {
            mailbox: inbox,
            name: "INBOX".into(),
            uid_validity: 1,
            special_use: None,
        },
    ];
    for record in &records {
        let offset = bytes.len() as u64;
        record::encode(record, FrameContext { salt, offset }, &mut bytes);
    }
    let chunk = chunk_at(&bytes);
    let data = Record::ContentChunk {
        partition: 4,
        ingest: 0,
        data: body,
    };
    record::encode(
        &data,
        FrameContext {
            salt,
            offset: chunk,
        },
        &mut bytes,
    );
    records.clear();
    let commit = Record::MessageCommit(MessageCommit {
        mailbox: inbox,
        uid: 1,
        modseq: 1,
        internal_date_secs: 99,
        size_octets: body.len() as u64,
        flags: SystemFlags::SEEN,
        keywords: Vec::new(),
        ingest: 0,
        extents: vec![Extent {
            sequence: 1,
            offset: chunk + CHUNK_DATA_OFFSET,
            octets: body.len() as u32,
        }],
        content_crc: crc32fast::hash(body),
        parse: b"old".to_vec(),
        save_date_secs: None,
        envelope: Vec::new(),
    });
    let offset = bytes.len() as u64;
    record::encode(&commit, FrameContext { salt, offset }, &mut bytes);
    let written = bytes.len();
    let disk = SimDisk::new(Faults::default());
    run({
        let disk = disk.clone();
        async move {
            let file = disk.create(1).await.expect("create");
            file.write_at(0, bytes).await.expect("write");
            file.sync_data().await.expect("sync");
            disk.sync_directory().await.expect("sync directory");
            let (store, report) = Store::open(disk.clone(), config()).await.expect("opens");
            assert!(
                report.damaged.is_empty() && report.anomalies.is_empty(),
                "{report:?}"
            );
            assert_eq!(read_all(&store, inbox, 1).await, body);
            let saved = store
                .state()
                .mailbox(inbox)
                .and_then(|target| target.index.get(1).map(|entry| entry.save_date_secs()));
            assert_eq!(saved, Some(None), "version 1 commits have no save date");
            let uid = append(&store, inbox, b"new", meta(5)).await;
            let (archive, _) = store
                .create_mailbox(account, "Archive")
                .await
                .expect("archive");
            let (pairs, _) = store
                .copy_messages(
                    inbox,
                    &[UidRange {
                        first: 1,
                        last: uid,
                    }],
                    archive,
                    9,
                )
                .await
                .expect("copy");
            assert_eq!(pairs, vec![(1, 1), (uid, 2)]);
        }
    });
    let old = disk.content(1).expect("segment 1");
    assert_eq!(u16::from_le_bytes([old[8], old[9]]), 1, "still version 1");
    assert!(
        old[written..].iter().all(|byte| *byte == 0),
        "nothing appended to it"
    );
    let new = disk.content(2).expect("segment 2");
    let header = SegmentHeader::decode(&new).expect("header");
    assert_eq!(
        header.format_version,
        postern_storage::segment::FORMAT_VERSION
    );
    run(async move {
        let (store, report) = Store::open(disk.crash_image(Cut::Octets(0)), config())
            .await
            .expect("reopen");
        assert!(report.damaged.is_empty() && report.anomalies.is_empty());
        let archive = archive_of(&store);
        assert_eq!(read_all(&store, archive, 1).await, body);
        assert_eq!(
            store.read_commit(archive, 1).await.expect("commit").parse,
            b"old"
        );
    });
}
