//! Delivering one message to one account's INBOX, streamed: begin, write chunks, commit. The
//! commit returns only when the message is durable (the reply to the client waits for it).
//!
//! Deliveries started by another shard over the mesh are kept in a `DeliveryTable` between
//! their chunk requests.

use super::MailStore;
use crate::mime::Analyzer;
use postern_storage::files::FileDisk;
use postern_storage::{MailboxKey, MessageMeta, MessageWriter, StoreError, SystemFlags, Uid};
use std::cell::{Cell, RefCell};
use std::collections::HashMap;

/// Deliveries from other shards open at once on this shard.
pub const REMOTE_DELIVERIES_MAX: usize = 4096;

/// Why a delivery failed, as the SMTP/LMTP layer needs to answer it. `Send`, for the mesh.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeliveryError {
    /// The account's quota: 452 4.2.2 (temporary, RFC 3463 mailbox full) / 552 5.2.2.
    #[error("mailbox full")]
    OverQuota,
    /// Disk full: 452 4.3.1.
    #[error("insufficient system storage")]
    NoSpace,
    /// Anything else on the server's side: 451 4.3.0.
    #[error("local error in processing: {0}")]
    Temporary(String),
}

impl From<StoreError> for DeliveryError {
    fn from(error: StoreError) -> Self {
        if error.is_no_space() {
            return DeliveryError::NoSpace;
        }
        match error {
            StoreError::OverQuota => DeliveryError::OverQuota,
            other => DeliveryError::Temporary(other.to_string()),
        }
    }
}

pub struct Delivery {
    writer: MessageWriter<FileDisk>,
    inbox: MailboxKey,
    /// MIME analysis of the content as it streams in, stored with the message for IMAP.
    analyzer: Box<Analyzer>,
}

impl Delivery {
    /// Starts a delivery to `address` (normalised, owned by this shard), provisioning the
    /// account on first use.
    pub async fn begin(mail: &MailStore, address: &str) -> Result<Delivery, DeliveryError> {
        let account = mail.account(address).await?;
        let inbox = mail
            .inbox(account)
            .ok_or_else(|| DeliveryError::Temporary("INBOX is missing".to_string()))?;
        let writer = mail.store().begin_message(account.partition);
        Ok(Delivery {
            writer,
            inbox,
            analyzer: Box::new(Analyzer::new()),
        })
    }

    pub async fn write(&mut self, bytes: &[u8]) -> Result<(), DeliveryError> {
        self.analyzer.feed(bytes);
        Ok(self.writer.write(bytes).await?)
    }

    /// Durable when this returns `Ok`. `envelope` is kept with the message (RFC 3461 DSN
    /// parameters, see `smtp::params::envelope_text`).
    pub async fn commit(
        self,
        internal_date_secs: i64,
        envelope: Vec<u8>,
    ) -> Result<Uid, DeliveryError> {
        let meta = MessageMeta {
            internal_date_secs,
            flags: SystemFlags::default(),
            keywords: Vec::new(),
            parse: self.analyzer.finish().encode(),
            envelope,
        };
        let (uid, _durable) = self.writer.commit(self.inbox, meta).await?;
        Ok(uid)
    }
}

/// Deliveries other shards are streaming to this one, by id.
#[derive(Default)]
pub struct DeliveryTable {
    open: RefCell<HashMap<u64, Delivery>>,
    next_id: Cell<u64>,
}

impl DeliveryTable {
    pub fn insert(&self, delivery: Delivery) -> Result<u64, DeliveryError> {
        let mut open = self.open.borrow_mut();
        if open.len() >= REMOTE_DELIVERIES_MAX {
            return Err(DeliveryError::Temporary(
                "too many deliveries in progress".to_string(),
            ));
        }
        let id = self.next_id.get();
        self.next_id.set(id + 1);
        open.insert(id, delivery);
        Ok(id)
    }

    /// Takes a delivery out for a write or the commit (no borrow is held across an await).
    pub fn take(&self, id: u64) -> Option<Delivery> {
        self.open.borrow_mut().remove(&id)
    }

    pub fn put_back(&self, id: u64, delivery: Delivery) {
        self.open.borrow_mut().insert(id, delivery);
    }

    pub fn len(&self) -> usize {
        self.open.borrow().len()
    }

    pub fn is_empty(&self) -> bool {
        self.open.borrow().is_empty()
    }
}
