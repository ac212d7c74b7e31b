//! Quotas hold under concurrency: appends and copies in flight (appended, not yet durable and
//! applied) count against the account's quota, so writers racing in one group-commit batch
//! cannot together pass it; a refused or finished write gives its reservation back.

use postern_storage::sim::{Faults, SimDisk, run};
use postern_storage::{LogConfig, MailboxKey, MessageMeta, Store, StoreError, UidRange};
use std::rc::Rc;

mod common;
use common::account_with;

fn config() -> LogConfig {
    let mut config = LogConfig::new(0);
    config.salt_seed = Some(5);
    config.checkpoint_interval_octets = 0;
    config.compaction_interval_octets = 0;
    config
}

async fn append(
    store: Rc<Store<SimDisk>>,
    mailbox: MailboxKey,
    octets: usize,
) -> Result<u32, StoreError> {
    let mut writer = store.begin_message(mailbox.account.partition);
    writer.write(&vec![b'q'; octets]).await?;
    let (uid, _durable) = writer.commit(mailbox, MessageMeta::default()).await?;
    Ok(uid)
}

/// Starts `writers` appends at once (they share batches) and counts the outcomes.
async fn race(
    store: &Rc<Store<SimDisk>>,
    mailbox: MailboxKey,
    writers: usize,
    octets: usize,
) -> (usize, usize) {
    let tasks: Vec<_> = (0..writers)
        .map(|_| glommio::spawn_local(append(Rc::clone(store), mailbox, octets)))
        .collect();
    let (mut stored, mut refused) = (0, 0);
    for task in tasks {
        match task.await {
            Ok(_) => stored += 1,
            Err(StoreError::OverQuota) => refused += 1,
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    (stored, refused)
}

#[test]
fn concurrent_appends_stop_exactly_at_the_message_quota() {
    run(async {
        let (store, _) = Store::open(SimDisk::new(Faults::default()), config())
            .await
            .expect("open");
        let [inbox] = account_with(&store, 1, "ida@example.org", (0, 10), ["INBOX"]).await;
        assert_eq!(race(&store, inbox, 25, 100).await, (10, 15));
        let status = store.status(inbox).expect("status");
        assert_eq!(status.messages, 10);
        // The refusals gave their reservations back: after an expunge there is room for one.
        let (_, _durable) = store
            .expunge(inbox, &[UidRange::one(1)])
            .await
            .expect("expunge");
        assert_eq!(race(&store, inbox, 4, 100).await, (1, 3));
        store.close().await.expect("close");
    });
}

#[test]
fn concurrent_appends_and_copies_stop_at_the_octet_quota() {
    run(async {
        let (store, _) = Store::open(SimDisk::new(Faults::default()), config())
            .await
            .expect("open");
        let names = ["INBOX", "Archive"];
        let [inbox, archive] = account_with(&store, 1, "jon@example.org", (10_000, 0), names).await;
        // 4,000 octets stored; then a copy of it (4,000) races appends of 1,000 each:
        // 2,000 octets of room remain whatever wins, never more.
        append(Rc::clone(&store), inbox, 4_000)
            .await
            .expect("first");
        let copy = glommio::spawn_local({
            let store = Rc::clone(&store);
            async move {
                store
                    .copy_messages(inbox, &[UidRange::one(1)], archive, 0)
                    .await
                    .map(|_| ())
            }
        });
        let (stored, _) = race(&store, inbox, 8, 1_000).await;
        let copied = copy.await;
        let usage = store
            .state()
            .accounts
            .get(&inbox.account)
            .map(|account| account.usage_octets)
            .expect("account");
        match copied {
            Ok(()) => assert_eq!(stored, 2, "copy then two appends fill 10,000"),
            Err(StoreError::OverQuota) => assert_eq!(stored, 6, "appends alone fill it"),
            Err(other) => panic!("unexpected {other:?}"),
        }
        assert_eq!(usage, 10_000);
        store.close().await.expect("close");
    });
}
