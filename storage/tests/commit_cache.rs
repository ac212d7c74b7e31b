//! The commit record cache through the store's API on the simulated disk: records read once
//! are served from memory, compaction drops the entries of the segment it rewrites (its
//! records get new offsets), and every read after it is the right message's record.

use postern_storage::sim::{Faults, SimDisk, run};
use postern_storage::{LogConfig, MailboxKey, MessageMeta, Store, Uid, UidRange};
use std::rc::Rc;

mod common;
use common::account_with;

fn config(cache_octets: usize) -> LogConfig {
    let mut config = LogConfig::new(0);
    config.segment_octets_max = 512 * 1024;
    config.salt_seed = Some(9);
    config.checkpoint_interval_octets = 0;
    config.compaction_interval_octets = 0;
    config.compaction_octets_per_sec = 0;
    config.commit_cache_octets = cache_octets;
    config
}

fn meta(id: u64) -> MessageMeta {
    MessageMeta {
        internal_date_secs: 1000 + id as i64,
        parse: id.to_le_bytes().repeat(40),
        ..Default::default()
    }
}

async fn append(store: &Rc<Store<SimDisk>>, mailbox: MailboxKey, id: u64) -> Uid {
    let mut writer = store.begin_message(mailbox.account.partition);
    writer.write(&vec![b'x'; 20_000]).await.expect("write");
    let (uid, _durable) = writer.commit(mailbox, meta(id)).await.expect("commit");
    uid
}

fn commit_location(store: &Store<SimDisk>, mailbox: MailboxKey, uid: Uid) -> (u32, u32) {
    let state = store.state();
    let entry = state
        .mailbox(mailbox)
        .and_then(|target| target.index.get(uid))
        .expect("entry");
    (entry.commit_sequence, entry.commit_offset)
}

#[test]
fn compaction_drops_the_rewritten_segments_entries_and_reads_stay_right() {
    run(async {
        let (store, _) = Store::open(SimDisk::new(Faults::default()), config(1 << 20))
            .await
            .expect("open");
        let [inbox] = account_with(&store, 2, "gus@example.org", (0, 0), ["INBOX"]).await;
        // Segment 1 fills with 20 KB messages; the last ones seal it and go to segment 2.
        let mut uids = Vec::new();
        for id in 1..=30 {
            uids.push((append(&store, inbox, id).await, id));
        }
        for &(uid, id) in &uids {
            let commit = store.read_commit(inbox, uid).await.expect("commit");
            assert_eq!((commit.uid, commit.parse.clone()), (uid, meta(id).parse));
        }
        let (cached, octets, in_first) = store.commit_cache_usage(1);
        assert_eq!(cached, uids.len(), "every record read is kept");
        assert!(octets > 0 && in_first > 0 && in_first < cached);
        // Read again: the same records, from the cache (no further entries).
        for &(uid, _) in &uids {
            assert_eq!(store.read_commit(inbox, uid).await.expect("again").uid, uid);
        }
        assert_eq!(store.commit_cache_usage(1).0, cached);

        // Expunge every other message of segment 1, so its live content halves.
        let doomed: Vec<UidRange> = uids
            .iter()
            .filter(|&&(uid, _)| commit_location(&store, inbox, uid).0 == 1 && uid % 2 == 0)
            .map(|&(uid, _)| UidRange::one(uid))
            .collect();
        let before: Vec<_> = uids
            .iter()
            .map(|&(uid, _)| commit_location(&store, inbox, uid))
            .collect();
        let (_, _durable) = store.expunge(inbox, &doomed).await.expect("expunge");
        let report = store.compact().await.expect("compact");
        assert_eq!(
            report.compacted.iter().map(|c| c.0).collect::<Vec<_>>(),
            vec![1],
            "{report:?}"
        );
        let (after_cached, _, after_first) = store.commit_cache_usage(1);
        assert_eq!(after_first, 0, "segment 1's entries are gone");
        assert_eq!(after_cached, cached - in_first, "segment 2's stay");
        let mut moved = 0;
        for (&(uid, id), old) in uids.iter().zip(&before) {
            if doomed.iter().any(|range| range.contains(uid)) {
                continue;
            }
            moved += usize::from(commit_location(&store, inbox, uid) != *old);
            let commit = store
                .read_commit(inbox, uid)
                .await
                .expect("after compaction");
            assert_eq!((commit.uid, commit.parse.clone()), (uid, meta(id).parse));
        }
        assert!(moved > 0, "compaction moved commit records");
        store.close().await.expect("close");
    });
}

#[test]
fn a_zero_capacity_cache_keeps_nothing_and_reads_still_work() {
    run(async {
        let (store, _) = Store::open(SimDisk::new(Faults::default()), config(0))
            .await
            .expect("open");
        let [inbox] = account_with(&store, 2, "hal@example.org", (0, 0), ["INBOX"]).await;
        let uid = append(&store, inbox, 7).await;
        let commit = store.read_commit(inbox, uid).await.expect("commit");
        assert_eq!(commit.parse, meta(7).parse);
        assert_eq!(store.commit_cache_usage(1), (0, 0, 0));
        store.close().await.expect("close");
    });
}
