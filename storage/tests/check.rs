//! The offline checker on real files: a clean shard verifies clean; a planted corruption is
//! reported with its segment file and byte range; repair drops checkpoints and the next open
//! rebuilds the same state from the log.

use postern_storage::check;
use postern_storage::files::FileDisk;
use postern_storage::sim::Rng;
use postern_storage::{LogConfig, MessageMeta, SpecialUse, Store};
use std::path::Path;

mod common;
use common::account_with;

fn config() -> LogConfig {
    let mut config = LogConfig::new(1);
    config.segment_octets_max = 1024 * 1024;
    config
}

fn content(id: u64) -> Vec<u8> {
    let mut rng = Rng::new(id);
    let octets = 500 + rng.below(90_000) as usize;
    (0..octets).map(|_| b'a' + rng.below(26) as u8).collect()
}

/// Creates INBOX, \Sent (with the create) and \Trash (set afterwards), writes 40 messages,
/// expunges some, compacts (the first segment, holding the special-use records), closes
/// (writing a checkpoint).
fn populate(path: &Path) {
    let path = path.to_path_buf();
    glommio::LocalExecutorBuilder::default()
        .make()
        .expect("executor")
        .run(async move {
            let mut config = config();
            config.compaction_octets_per_sec = 0;
            let disk = FileDisk::new(&path, 1).expect("disk");
            let (store, _) = Store::open(disk, config).await.expect("open");
            let (account, _) = store
                .create_account(9, "carol@example.org", 0, 0)
                .await
                .expect("account");
            let (mailbox, _) = store
                .create_mailbox(account, "INBOX")
                .await
                .expect("mailbox");
            let (_sent, _) = store
                .create_mailbox_with(account, "Sent", Some(SpecialUse::Sent))
                .await
                .expect("sent");
            let (trash, _) = store.create_mailbox(account, "Trash").await.expect("trash");
            let _durable = store
                .set_special_use(trash, Some(SpecialUse::Trash))
                .await
                .expect("trash");
            for id in 0..40 {
                let mut writer = store.begin_message(9);
                writer.write(&content(id)).await.expect("write");
                let meta = MessageMeta {
                    parse: id.to_le_bytes().to_vec(),
                    ..Default::default()
                };
                let (_uid, _durable) = writer.commit(mailbox, meta).await.expect("commit");
            }
            let doomed: Vec<_> = (1..=30)
                .filter(|uid| uid % 4 != 0)
                .map(postern_storage::UidRange::one)
                .collect();
            let (_expunged, _durable) = store.expunge(mailbox, &doomed).await.expect("expunge");
            let compacted = store.compact().await.expect("compact");
            // Including the segment with the special-use records.
            assert!(
                compacted
                    .compacted
                    .iter()
                    .any(|(sequence, _, _)| *sequence == 1),
                "{compacted:?}"
            );
            store.close().await.expect("close");
        });
}

#[test]
fn verify_reports_planted_damage_by_location_and_repair_rebuilds() {
    let directory = tempfile::Builder::new()
        .prefix("postern-check-")
        .tempdir_in("/tmp")
        .expect("tempdir");
    populate(directory.path());
    let report = check::verify(directory.path(), 1).expect("verify");
    assert!(report.is_clean(), "{:?}", report.problems);
    assert!(
        report.segments >= 2 && report.messages == 40 - 23,
        "{report:?}"
    );
    // One after compaction, one at close.
    assert_eq!(report.checkpoints, 2);

    // Plant a flipped octet in the middle of the first segment's records.
    let segment = directory.path().join("shard-1/seg-0000000000000001.log");
    let mut bytes = std::fs::read(&segment).expect("read");
    let used = bytes.iter().rposition(|byte| *byte != 0).expect("data");
    // Compaction rewrote it: its records may start after a hole.
    let header = postern_storage::segment::SegmentHeader::decode(&bytes).expect("header");
    let planted = (header.records_start + used as u64) / 2;
    bytes[planted as usize] ^= 0x20;
    std::fs::write(&segment, &bytes).expect("write");
    let report = check::verify(directory.path(), 1).expect("verify");
    assert!(!report.is_clean());
    let located = report.problems.iter().any(|problem| {
        problem.file == segment
            && problem
                .range
                .as_ref()
                .is_some_and(|range| range.contains(&planted))
    });
    assert!(located, "{:#?}", report.problems);
    let shown = report.problems[0].to_string();
    assert!(shown.contains("seg-0000000000000001.log"), "{shown}");
    bytes[planted as usize] ^= 0x20;
    std::fs::write(&segment, &bytes).expect("restore");

    // Repair drops checkpoints; the next open replays the whole log to the same state.
    let repaired = check::repair(directory.path(), 1).expect("repair");
    assert_eq!(repaired.removed.len(), 2);
    let path = directory.path().to_path_buf();
    glommio::LocalExecutorBuilder::default()
        .make()
        .expect("executor")
        .run(async move {
            let disk = FileDisk::new(&path, 1).expect("disk");
            let (store, report) = Store::open(disk, config()).await.expect("reopen");
            assert!(
                report.checkpoint.is_none() && report.records > 40,
                "{report:?}"
            );
            let account = store.account_by_name("carol@example.org").expect("account");
            let mailbox = store.mailbox_by_name(account, "INBOX").expect("inbox");
            assert_eq!(store.status(mailbox).expect("status").messages, 17);
            for (name, special_use) in [("Sent", SpecialUse::Sent), ("Trash", SpecialUse::Trash)] {
                let key = store.mailbox_by_name(account, name).expect("mailbox");
                assert_eq!(store.special_use_mailbox(account, special_use), Some(key));
            }
            for uid in [4u32, 32, 40] {
                let commit = store.read_commit(mailbox, uid).await.expect("commit");
                let id = u64::from_le_bytes(commit.parse.as_slice().try_into().expect("id"));
                let mut buffer = vec![0u8; 100_000];
                let octets = store
                    .read(mailbox, uid, 0, &mut buffer)
                    .await
                    .expect("read");
                assert_eq!(&buffer[..octets], content(id).as_slice());
            }
        });
    let report = check::verify(directory.path(), 1).expect("verify");
    assert!(report.is_clean(), "{:?}", report.problems);
}

/// Copies share their originals' commit records and content: a log with copies, moves,
/// expunged originals and compaction verifies clean, from the log and from the checkpoint.
#[test]
fn verify_is_clean_on_a_log_with_copies_and_moves() {
    let directory = tempfile::Builder::new()
        .prefix("postern-check-copies-")
        .tempdir_in("/tmp")
        .expect("tempdir");
    let path = directory.path().to_path_buf();
    glommio::LocalExecutorBuilder::default()
        .make()
        .expect("executor")
        .run(async move {
            let mut config = config();
            config.compaction_octets_per_sec = 0;
            config.compaction_live_percent_max = 90;
            let disk = FileDisk::new(&path, 1).expect("disk");
            let (store, _) = Store::open(disk, config).await.expect("open");
            let names = ["INBOX", "Archive"];
            let [inbox, archive] = account_with(&store, 9, "dave@example.org", (0, 0), names).await;
            for id in 0..30 {
                let mut writer = store.begin_message(9);
                writer.write(&content(id)).await.expect("write");
                let meta = MessageMeta {
                    parse: id.to_le_bytes().to_vec(),
                    ..Default::default()
                };
                let (_uid, _durable) = writer.commit(inbox, meta).await.expect("commit");
            }
            let range = |first, last| postern_storage::UidRange { first, last };
            let (copied, _) = store
                .copy_messages(inbox, &[range(1, 10)], archive, 1)
                .await
                .expect("copy");
            assert_eq!(copied.len(), 10);
            let (moved, _, _) = store
                .move_messages(inbox, &[range(11, 20)], archive, 2)
                .await
                .expect("move");
            assert_eq!(moved.len(), 10);
            // The originals of the copies go; their content stays for the copies.
            let (_expunged, _) = store
                .expunge(inbox, &[range(1, 10), range(21, 30)])
                .await
                .expect("expunge");
            let (_expunged, _) = store
                .expunge(archive, &[range(15, 20)])
                .await
                .expect("expunge moved");
            let compacted = store.compact().await.expect("compact");
            assert!(!compacted.compacted.is_empty(), "{compacted:?}");
            store.close().await.expect("close");
        });
    let report = check::verify(directory.path(), 1).expect("verify");
    assert!(report.is_clean(), "{:?}", report.problems);
    assert_eq!(report.messages, 10 + 4, "{report:?}");
    assert_eq!(report.checkpoints, 2);
}

#[test]
fn an_interrupted_segment_creation_is_a_note_not_a_problem() {
    let directory = tempfile::Builder::new()
        .prefix("postern-check-creation-")
        .tempdir_in("/tmp")
        .expect("tempdir");
    populate(directory.path());
    // A crash between creating the next segment file and writing its header leaves zeros.
    let segments: Vec<_> = std::fs::read_dir(directory.path().join("shard-1"))
        .expect("shard directory")
        .filter_map(Result::ok)
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with("seg-"))
        .collect();
    let last: u64 = segments
        .iter()
        .filter_map(|name| name[4..name.len() - 4].parse().ok())
        .max()
        .expect("a segment");
    let next = directory
        .path()
        .join(format!("shard-1/seg-{:016}.log", last + 1));
    std::fs::write(&next, vec![0u8; 64 * 1024]).expect("zeroed segment");
    let report = check::verify(directory.path(), 1).expect("verify");
    assert!(report.problems.is_empty(), "{report:?}");
    assert!(
        report
            .notes
            .iter()
            .any(|note| note.what.contains("segment creation interrupted")),
        "{report:?}"
    );
}
