//! Errors of the store API, typed by who is at fault so each protocol picks its reply.

use crate::disk::DiskError;
use crate::log::LogError;

/// Who caused a failure: decides the reply class, the log level and the metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The client: bad request or a limit exceeded (SMTP 5xx, IMAP BAD/NO).
    Peer,
    /// The account's state: missing mailbox, quota (SMTP 452/552, IMAP NO [OVERQUOTA]).
    Account,
    /// The disk or the data on it (SMTP 451, IMAP NO [SERVERBUG] / [UNAVAILABLE], POP3 -ERR).
    Storage,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    #[error("no such account")]
    NoSuchAccount,
    #[error("account already exists")]
    AccountExists,
    #[error("no such mailbox")]
    NoSuchMailbox,
    #[error("mailbox already exists")]
    MailboxExists,
    /// RFC 6154 §3: another mailbox of the account has the special-use attribute (IMAP
    /// `NO [USEATTR]`).
    #[error("another mailbox has that special-use attribute")]
    SpecialUseTaken,
    #[error("no such message")]
    NoSuchMessage,
    #[error("over quota")]
    OverQuota,
    #[error("message larger than {octets_max} octets")]
    MessageTooLarge { octets_max: u64 },
    #[error("limit exceeded: {0}")]
    LimitExceeded(&'static str),
    #[error(transparent)]
    Write(#[from] LogError),
    #[error("message content lost to damage in the log")]
    Unreadable,
    #[error("read failed: {0}")]
    Read(DiskError),
    #[error("stored record damaged: {0}")]
    Damaged(String),
    /// Writing a checkpoint failed; the log is unaffected (open replays more of it).
    #[error("checkpoint failed: {0}")]
    Checkpoint(DiskError),
    /// Compaction failed; the segment it worked on is unchanged or completely rewritten.
    #[error("compaction failed: {0}")]
    Compaction(DiskError),
}

impl StoreError {
    pub fn fault(&self) -> Fault {
        match self {
            StoreError::MessageTooLarge { .. } | StoreError::LimitExceeded(_) => Fault::Peer,
            StoreError::NoSuchAccount
            | StoreError::AccountExists
            | StoreError::NoSuchMailbox
            | StoreError::MailboxExists
            | StoreError::SpecialUseTaken
            | StoreError::NoSuchMessage
            | StoreError::OverQuota => Fault::Account,
            StoreError::Write(_)
            | StoreError::Unreadable
            | StoreError::Read(_)
            | StoreError::Damaged(_)
            | StoreError::Checkpoint(_)
            | StoreError::Compaction(_) => Fault::Storage,
        }
    }

    /// Disk full: SMTP 452 4.3.1, IMAP NO [OVERQUOTA], POP3 -ERR.
    pub fn is_no_space(&self) -> bool {
        matches!(self, StoreError::Write(error) if error.is_no_space())
    }
}
