//! RFC 6154 special-use attributes through the store's API on the simulated disk: one mailbox
//! per attribute and account (refused with `SpecialUseTaken`, also between writes in flight),
//! creates that carry the attribute, renames that keep it, deletes that free it, no MODSEQ
//! change, and the same attributes after reopening from a checkpoint and by full replay.

use postern_storage::disk::{FileId, FileKind};
use postern_storage::sim::{Cut, Faults, SimDisk, run};
use postern_storage::{
    AccountKey, Disk, LogConfig, MailboxKey, MessageMeta, SpecialUse, Store, StoreError,
};

fn config() -> LogConfig {
    let mut config = LogConfig::new(0);
    config.segment_octets_max = 512 * 1024;
    config.salt_seed = Some(5);
    config.checkpoint_interval_octets = 0;
    config.compaction_interval_octets = 0;
    config
}

fn special_use_of(store: &Store<SimDisk>, mailbox: MailboxKey) -> Option<SpecialUse> {
    store.status(mailbox).expect("mailbox").special_use
}

/// Every mailbox of `account` by name with its attribute (what LIST shows).
fn listed(store: &Store<SimDisk>, account: AccountKey) -> Vec<(String, Option<SpecialUse>)> {
    let mailboxes = store.mailboxes(account);
    mailboxes
        .into_iter()
        .map(|status| (status.name, status.special_use))
        .collect()
}

/// The durable state as a checkpoint encodes it, less `ingest_next`.
fn state_image(store: &Store<SimDisk>) -> Vec<u8> {
    let mut image = Vec::new();
    postern_storage::checkpoint::encode_state(&store.state(), &mut image);
    image.split_off(8)
}

async fn without_checkpoints(disk: &SimDisk) -> SimDisk {
    let image = disk.crash_image(Cut::Octets(0));
    for sequence in image.list(FileKind::Checkpoint).await.expect("list") {
        image
            .remove(FileId::checkpoint(sequence))
            .await
            .expect("remove");
    }
    image
}

#[test]
fn one_mailbox_per_attribute_and_it_survives_reopening() {
    let disk = SimDisk::new(Faults::default());
    let expected = run({
        let disk = disk.clone();
        async move {
            let (store, _) = Store::open(disk, config()).await.expect("open");
            let (account, _) = store
                .create_account(2, "gus@example.org", 0, 0)
                .await
                .expect("account");
            let (inbox, _) = store.create_mailbox(account, "INBOX").await.expect("inbox");
            let (sent, _) = store
                .create_mailbox_with(account, "Sent", Some(SpecialUse::Sent))
                .await
                .expect("sent");
            assert_eq!(special_use_of(&store, sent), Some(SpecialUse::Sent));
            assert_eq!(special_use_of(&store, inbox), None);
            assert_eq!(
                store.special_use_mailbox(account, SpecialUse::Sent),
                Some(sent)
            );
            assert_eq!(store.special_use_mailbox(account, SpecialUse::Trash), None);

            // A second \Sent is refused, and the refused create leaves nothing behind.
            let refused = store
                .create_mailbox_with(account, "Sent Items", Some(SpecialUse::Sent))
                .await;
            assert_eq!(refused.err(), Some(StoreError::SpecialUseTaken));
            assert_eq!(
                StoreError::SpecialUseTaken.fault(),
                postern_storage::Fault::Account
            );
            assert_eq!(store.mailbox_by_name(account, "Sent Items"), None);
            let (items, _) = store
                .create_mailbox(account, "Sent Items")
                .await
                .expect("the name is free");
            let refused = store.set_special_use(items, Some(SpecialUse::Sent)).await;
            assert_eq!(refused.err(), Some(StoreError::SpecialUseTaken));
            // Another account has its own.
            let (other, _) = store
                .create_account(2, "hal@example.org", 0, 0)
                .await
                .expect("other account");
            let (other_sent, _) = store
                .create_mailbox_with(other, "Sent", Some(SpecialUse::Sent))
                .await
                .expect("another account's \\Sent");

            // Two writes in flight claiming one attribute: exactly one wins.
            let claims: Vec<_> = [inbox, items]
                .into_iter()
                .map(|mailbox| {
                    let store = store.clone();
                    glommio::spawn_local(async move {
                        store
                            .set_special_use(mailbox, Some(SpecialUse::Drafts))
                            .await
                    })
                })
                .collect();
            let mut outcomes = Vec::new();
            for claim in claims {
                outcomes.push(claim.await.map(|_| ()));
            }
            assert_eq!(outcomes, vec![Ok(()), Err(StoreError::SpecialUseTaken)]);
            let creates: Vec<_> = ["Junk", "Spam"]
                .into_iter()
                .map(|name| {
                    let store = store.clone();
                    glommio::spawn_local(async move {
                        store
                            .create_mailbox_with(account, name, Some(SpecialUse::Junk))
                            .await
                            .map(|(key, _)| key)
                    })
                })
                .collect();
            let mut created = Vec::new();
            for create in creates {
                created.push(create.await);
            }
            assert_eq!(created[1], Err(StoreError::SpecialUseTaken));
            let junk = created[0].clone().expect("the first create wins");
            assert_eq!(store.mailbox_by_name(account, "Spam"), None);
            assert_eq!(special_use_of(&store, junk), Some(SpecialUse::Junk));

            // Not a change of messages: MODSEQs stay; the same value again writes nothing.
            let mut writer = store.begin_message(2);
            writer
                .write(b"Subject: x\r\n\r\nx\r\n")
                .await
                .expect("write");
            let (uid, _) = writer
                .commit(inbox, MessageMeta::default())
                .await
                .expect("commit");
            let before = store.status(inbox).expect("inbox");
            let appended = store.log().appended_octets();
            let _durable = store
                .set_special_use(inbox, Some(SpecialUse::Drafts))
                .await
                .expect("unchanged");
            assert_eq!(store.log().appended_octets(), appended, "nothing written");
            let _durable = store
                .set_special_use(inbox, Some(SpecialUse::All))
                .await
                .expect("replace");
            assert!(store.log().appended_octets() > appended);
            let after = store.status(inbox).expect("inbox");
            assert_eq!(after.highest_modseq, before.highest_modseq);
            let modseq = |store: &Store<SimDisk>| {
                let state = store.state();
                let index = &state.mailbox(inbox).expect("inbox").index;
                index.get(uid).expect("message").modseq
            };
            assert_eq!(modseq(&store), before.highest_modseq);
            // The replaced attribute is free again.
            let _durable = store
                .set_special_use(items, Some(SpecialUse::Drafts))
                .await
                .expect("\\Drafts was freed");
            store.checkpoint().await.expect("checkpoint");

            // After the checkpoint (replayed on open): rename keeps, delete frees, clear.
            let (trash, _) = store.create_mailbox(account, "Trash").await.expect("trash");
            let _durable = store
                .set_special_use(trash, Some(SpecialUse::Trash))
                .await
                .expect("trash");
            let _durable = store
                .rename_mailbox(trash, "Deleted Items")
                .await
                .expect("rename");
            assert_eq!(special_use_of(&store, trash), Some(SpecialUse::Trash));
            let _durable = store.delete_mailbox(sent).await.expect("delete");
            assert_eq!(store.special_use_mailbox(account, SpecialUse::Sent), None);
            let _durable = store
                .set_special_use(items, Some(SpecialUse::Sent))
                .await
                .expect("\\Sent was freed by the delete");
            let _durable = store.set_special_use(junk, None).await.expect("clear");
            assert_eq!(special_use_of(&store, junk), None);
            assert_eq!(
                store.set_special_use(sent, None).await.err(),
                Some(StoreError::NoSuchMailbox)
            );
            let expected = listed(&store, account);
            assert_eq!(
                expected,
                vec![
                    ("Deleted Items".to_string(), Some(SpecialUse::Trash)),
                    ("INBOX".to_string(), Some(SpecialUse::All)),
                    ("Junk".to_string(), None),
                    ("Sent Items".to_string(), Some(SpecialUse::Sent)),
                ]
            );
            assert_eq!(special_use_of(&store, other_sent), Some(SpecialUse::Sent));
            (account, expected, state_image(&store))
        }
    });
    let (account, listing, image) = expected;
    run(async move {
        // From the checkpoint plus the records after it, and by full replay.
        let reopened = disk.crash_image(Cut::Octets(0));
        let (store, report) = Store::open(reopened.clone(), config())
            .await
            .expect("reopen");
        assert!(
            report.checkpoint.is_some() && report.records > 0,
            "{report:?}"
        );
        assert!(report.anomalies.is_empty(), "{report:?}");
        assert_eq!(listed(&store, account), listing);
        assert_eq!(state_image(&store), image);
        let (full, report) = Store::open(without_checkpoints(&disk).await, config())
            .await
            .expect("full replay");
        assert!(report.checkpoint.is_none() && report.anomalies.is_empty());
        assert_eq!(state_image(&full), image);
        // Claims hold after reopening; a closing checkpoint carries every attribute.
        let junk = store.mailbox_by_name(account, "Junk").expect("junk");
        assert_eq!(
            store
                .set_special_use(junk, Some(SpecialUse::Sent))
                .await
                .err(),
            Some(StoreError::SpecialUseTaken)
        );
        let _durable = store
            .set_special_use(junk, Some(SpecialUse::Junk))
            .await
            .expect("junk");
        let image = state_image(&store);
        store.close().await.expect("close");
        drop(store);
        let (store, report) = Store::open(reopened.crash_image(Cut::Octets(0)), config())
            .await
            .expect("reopen after close");
        assert_eq!(report.records, 0, "{report:?}");
        assert_eq!(state_image(&store), image);
        assert_eq!(
            store.special_use_mailbox(account, SpecialUse::Junk),
            Some(junk)
        );
    });
}
