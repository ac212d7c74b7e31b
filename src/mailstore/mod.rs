//! The mail of the accounts a shard owns: its `postern-storage` log, account provisioning with
//! the default mailboxes, exclusive maildrop locks for POP3, and message delivery.
//!
//! Only the owner shard touches an account's mail. Protocol sessions either run on the owner
//! (POP3 moves its connection there after login) or reach it over the mesh (SMTP/LMTP delivery,
//! `runtime::mesh::Request::Deliver*`).

mod delivery;

pub use delivery::{Delivery, DeliveryError, DeliveryTable};

use crate::runtime::partition::PartitionTable;
use postern_storage::files::FileDisk;
use postern_storage::{
    AccountKey, LogConfig, MailboxKey, OpenError, SpecialUse, Store, StoreError,
};
use std::cell::RefCell;
use std::collections::HashSet;
use std::path::Path;
use std::rc::Rc;
use std::sync::Arc;

pub type ShardStore = Store<FileDisk>;

/// Created for every account on first use, in this order, with their RFC 6154 special-use
/// attributes.
pub const DEFAULT_MAILBOXES: [(&str, Option<SpecialUse>); 6] = [
    ("INBOX", None),
    ("Sent", Some(SpecialUse::Sent)),
    ("Drafts", Some(SpecialUse::Drafts)),
    ("Trash", Some(SpecialUse::Trash)),
    ("Junk", Some(SpecialUse::Junk)),
    ("Archive", Some(SpecialUse::Archive)),
];
pub const INBOX: &str = "INBOX";
/// Accounts whose last POP3 login is remembered before old entries are swept.
pub const LOGIN_RECORDS_MAX: usize = 100_000;

#[derive(Debug, thiserror::Error)]
pub enum MailStoreError {
    #[error("shard {shard}: cannot open its mail log: {message}")]
    Open { shard: usize, message: String },
}

pub struct MailStore {
    shard: usize,
    store: Rc<ShardStore>,
    partitions: Arc<PartitionTable>,
    /// One provisioning at a time, so two first deliveries can't both create an account.
    provisioning: glommio::sync::Semaphore,
    maildrop_locks: Rc<RefCell<HashSet<AccountKey>>>,
    /// When each account last opened its maildrop (POP3 LOGIN-DELAY).
    last_logins: RefCell<std::collections::HashMap<AccountKey, std::time::Instant>>,
    pub deliveries: DeliveryTable,
    /// Per mailbox, the first UID no IMAP session has claimed as \Recent yet (RFC 3501
    /// §2.3.2: a message is recent in exactly one session). Kept in memory only: after a
    /// restart every message is recent again once, which RFC 3501 permits.
    recent_claimed: RefCell<std::collections::HashMap<MailboxKey, postern_storage::Uid>>,
}

/// Held while a POP3 session has the maildrop (RFC 1939 §8: exclusive access).
pub struct MaildropLock {
    account: AccountKey,
    locks: Rc<RefCell<HashSet<AccountKey>>>,
}

impl Drop for MaildropLock {
    fn drop(&mut self) {
        self.locks.borrow_mut().remove(&self.account);
    }
}

impl MailStore {
    /// Opens (recovers) the shard's log. Must run on the shard's executor.
    pub async fn open(
        data_dir: &Path,
        shard: usize,
        partitions: Arc<PartitionTable>,
    ) -> Result<MailStore, MailStoreError> {
        let shard_u32 = u32::try_from(shard).expect("shard ids fit u32");
        let fail = |message: String| MailStoreError::Open { shard, message };
        let disk = FileDisk::new(data_dir, shard_u32).map_err(|e| fail(e.to_string()))?;
        let (store, report) = Store::open(disk, LogConfig::new(shard_u32))
            .await
            .map_err(|e: OpenError| fail(e.to_string()))?;
        if !report.damaged.is_empty() || !report.anomalies.is_empty() {
            tracing::error!(shard, "mail log recovered with damage: {report:?}");
        }
        Ok(MailStore {
            shard,
            store,
            partitions,
            provisioning: glommio::sync::Semaphore::new(1),
            maildrop_locks: Rc::default(),
            last_logins: RefCell::default(),
            deliveries: DeliveryTable::default(),
            recent_claimed: RefCell::default(),
        })
    }

    pub fn store(&self) -> &Rc<ShardStore> {
        &self.store
    }

    pub fn partition_of(&self, address: &str) -> u32 {
        self.partitions.partition_of(address)
    }

    /// The account's storage key, creating the account and its default mailboxes durably on
    /// first use. `address` must be normalised and owned by this shard.
    pub async fn account(&self, address: &str) -> Result<AccountKey, StoreError> {
        assert_eq!(
            self.partitions.owner_of(address),
            self.shard,
            "account served by its owner shard"
        );
        if let Some(key) = self.complete_account(address) {
            return Ok(key);
        }
        let _permit = self
            .provisioning
            .acquire_permit(1)
            .await
            .map_err(|_| StoreError::LimitExceeded("shutting down"))?;
        let key = match self.store.account_by_name(address) {
            Some(key) => key,
            None => {
                let partition = self.partitions.partition_of(address);
                self.store.create_account(partition, address, 0, 0).await?.0
            }
        };
        for (name, special_use) in DEFAULT_MAILBOXES {
            match self.store.mailbox_by_name(key, name) {
                None => {
                    // The attribute only if no other mailbox took it (a user may move it).
                    let special_use = special_use
                        .filter(|&use_| self.store.special_use_mailbox(key, use_).is_none());
                    let (_mailbox, _durable) = self
                        .store
                        .create_mailbox_with(key, name, special_use)
                        .await?;
                }
                // Accounts made before attributes were stored get theirs once.
                Some(mailbox) => {
                    if let Some(use_) = special_use
                        && self.store.special_use_mailbox(key, use_).is_none()
                    {
                        let _durable = self.store.set_special_use(mailbox, Some(use_)).await?;
                    }
                }
            }
        }
        Ok(key)
    }

    /// The key of an account whose default mailboxes all exist, each special-use attribute
    /// held by some mailbox.
    fn complete_account(&self, address: &str) -> Option<AccountKey> {
        let key = self.store.account_by_name(address)?;
        DEFAULT_MAILBOXES
            .iter()
            .all(|(name, special_use)| {
                self.store.mailbox_by_name(key, name).is_some()
                    && special_use
                        .is_none_or(|use_| self.store.special_use_mailbox(key, use_).is_some())
            })
            .then_some(key)
    }

    pub fn inbox(&self, account: AccountKey) -> Option<MailboxKey> {
        self.store.mailbox_by_name(account, INBOX)
    }

    /// Records a login of `account` now, unless its previous one was less than `delay` ago
    /// (then false). Entries older than `delay` are forgotten as the table grows.
    pub fn admit_login(&self, account: AccountKey, delay: std::time::Duration) -> bool {
        if delay.is_zero() {
            return true;
        }
        let now = std::time::Instant::now();
        let mut logins = self.last_logins.borrow_mut();
        if logins
            .get(&account)
            .is_some_and(|last| now.duration_since(*last) < delay)
        {
            return false;
        }
        if logins.len() >= LOGIN_RECORDS_MAX {
            logins.retain(|_, last| now.duration_since(*last) < delay);
        }
        logins.insert(account, now);
        true
    }

    /// Claims \Recent for the messages from `first` on that no session has claimed yet;
    /// returns the UIDs claimed (None if all were claimed before).
    pub fn claim_recent(
        &self,
        mailbox: MailboxKey,
        first: postern_storage::Uid,
    ) -> Option<postern_storage::UidRange> {
        let uid_next = self.store.status(mailbox)?.uid_next;
        let mut claimed = self.recent_claimed.borrow_mut();
        let from = claimed.get(&mailbox).copied().unwrap_or(0).max(first);
        if from >= uid_next {
            return None;
        }
        claimed.insert(mailbox, uid_next);
        Some(postern_storage::UidRange {
            first: from,
            last: uid_next - 1,
        })
    }

    /// The first UID not yet claimed as \Recent by any session of `mailbox` (STATUS RECENT).
    pub fn recent_from(&self, mailbox: MailboxKey) -> postern_storage::Uid {
        self.recent_claimed
            .borrow()
            .get(&mailbox)
            .copied()
            .unwrap_or(0)
    }

    /// `None` when another session holds the maildrop.
    pub fn lock_maildrop(&self, account: AccountKey) -> Option<MaildropLock> {
        if !self.maildrop_locks.borrow_mut().insert(account) {
            return None;
        }
        Some(MaildropLock {
            account,
            locks: Rc::clone(&self.maildrop_locks),
        })
    }
}
