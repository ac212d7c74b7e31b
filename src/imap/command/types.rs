//! The parsed command: its tag and what it asks for.

use std::fmt;

use crate::auth::secret::Secret;

use super::fetch::FetchItem;
use super::flag::Flag;
use super::mailbox::MailboxName;
use super::search::{SearchKey, SearchReturn, SortCriterion, ThreadAlgorithm};
use super::sequence::SequenceSet;

/// Longest tag this server accepts and echoes, in octets.
pub const TAG_OCTETS_MAX: usize = 128;

/// `tag = 1*<any ASTRING-CHAR except "+">` (RFC 3501 §9): 7-bit printable, no specials.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Tag(String);

impl Tag {
    /// A tag, if `text` is one.
    pub fn new(text: &str) -> Option<Tag> {
        let valid = !text.is_empty()
            && text.len() <= TAG_OCTETS_MAX
            && text
                .bytes()
                .all(|b| super::lexer::is_astring_char(b) && b != b'+');
        valid.then(|| Tag(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why a command could not be parsed: always the client's fault, answered `tag BAD reason`
/// (or `* BAD reason` when not even the tag could be read).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub tag: Option<Tag>,
    /// Short, human, safe to send: it never quotes the input.
    pub reason: &'static str,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.reason)
    }
}

impl std::error::Error for ParseError {}

/// A parsed command.
#[derive(Debug)]
pub struct Command {
    pub tag: Tag,
    pub body: CommandBody,
}

/// STATUS data items (RFC 3501 §6.3.10, RFC 9051 §6.3.11) and their extensions, also the
/// `RETURN (STATUS (...))` of LIST-STATUS (RFC 5819).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StatusItem {
    Messages,
    /// IMAP4rev1 only (RFC 9051 dropped it).
    Recent,
    UidNext,
    UidValidity,
    Unseen,
    /// RFC 9051 §6.3.11 / RFC 9208 §4.
    Deleted,
    /// RFC 9208 §4.
    DeletedStorage,
    /// RFC 8438 STATUS=SIZE.
    Size,
    /// RFC 7162 §3.1.6.
    HighestModSeq,
    /// RFC 7889 §4.
    AppendLimit,
    /// RFC 8474 §4.
    MailboxId,
}

/// The QRESYNC parameter of SELECT/EXAMINE (RFC 7162 §3.2.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Qresync {
    pub uid_validity: u32,
    /// `mod-sequence-value`, at least 1.
    pub modseq: u64,
    /// UIDs the client knows; no `*`, no `$`.
    pub known_uids: Option<SequenceSet>,
    /// `(known-sequence-set known-uid-set)`.
    pub seq_match: Option<(SequenceSet, SequenceSet)>,
}

/// LIST selection options (RFC 5258 §3.1, RFC 6154 §3).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ListSelection {
    pub subscribed: bool,
    pub remote: bool,
    pub recursive_match: bool,
    pub special_use: bool,
}

/// LIST return options (RFC 5258 §3.2, RFC 6154 §3, RFC 5819 §2).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListReturn {
    pub subscribed: bool,
    pub children: bool,
    pub special_use: bool,
    /// `STATUS (...)` of LIST-STATUS.
    pub status: Option<Vec<StatusItem>>,
}

/// `FLAGS`, `+FLAGS` or `-FLAGS`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StoreOperation {
    Replace,
    Add,
    Remove,
}

/// What a command asks for. Which state accepts which command is the session's business.
#[derive(Debug)]
pub enum CommandBody {
    Capability,
    Noop,
    Logout,
    StartTls,
    Authenticate {
        /// Upper-cased mechanism name.
        mechanism: String,
        /// The decoded SASL-IR initial response (RFC 4959 §7); `=` is an empty response.
        initial_response: Option<Secret>,
    },
    Login {
        user: String,
        password: Secret,
    },
    /// Upper-cased capability names (RFC 5161).
    Enable(Vec<String>),
    /// `ID NIL` is `None` (RFC 2971 §3.1).
    Id(Option<Vec<(String, Option<String>)>>),
    Namespace,
    Idle,
    /// Upper-cased algorithm (RFC 4978 §3).
    Compress {
        algorithm: String,
    },
    Select {
        mailbox: MailboxName,
        condstore: bool,
        qresync: Option<Qresync>,
    },
    Examine {
        mailbox: MailboxName,
        condstore: bool,
        qresync: Option<Qresync>,
    },
    Create {
        mailbox: MailboxName,
        /// `USE (\Drafts ...)` of RFC 6154 §5; known attributes in their RFC spelling, others
        /// as sent (the session answers NO [USEATTR]).
        special_use: Vec<String>,
    },
    Delete {
        mailbox: MailboxName,
    },
    Rename {
        from: MailboxName,
        to: MailboxName,
    },
    Subscribe {
        mailbox: MailboxName,
    },
    Unsubscribe {
        mailbox: MailboxName,
    },
    List {
        reference: MailboxName,
        patterns: Vec<MailboxName>,
        selection: ListSelection,
        returns: ListReturn,
        /// The extended syntax of RFC 5258 §3 was used (selection options, a pattern list or
        /// return options), which changes what the response must contain.
        extended: bool,
    },
    Lsub {
        reference: MailboxName,
        pattern: MailboxName,
    },
    Status {
        mailbox: MailboxName,
        items: Vec<StatusItem>,
    },
    Check,
    Close,
    Unselect,
    Expunge,
    /// `UID EXPUNGE set` (RFC 4315 §2.1).
    UidExpunge(SequenceSet),
    Search {
        uid: bool,
        charset: Option<String>,
        /// Always [`SearchKey::And`] at the top.
        criteria: SearchKey,
        /// `None`: no RETURN; `Some(vec![])`: `RETURN ()`.
        returns: Option<Vec<SearchReturn>>,
    },
    Fetch {
        uid: bool,
        set: SequenceSet,
        /// Macros expanded. For UID FETCH the session adds UID to the response itself
        /// (RFC 3501 §6.4.8).
        items: Vec<FetchItem>,
        changed_since: Option<u64>,
        vanished: bool,
    },
    Store {
        uid: bool,
        set: SequenceSet,
        /// RFC 7162 §3.1.3; 0 is allowed.
        unchanged_since: Option<u64>,
        operation: StoreOperation,
        silent: bool,
        flags: Vec<Flag>,
    },
    Copy {
        uid: bool,
        set: SequenceSet,
        mailbox: MailboxName,
    },
    Move {
        uid: bool,
        set: SequenceSet,
        mailbox: MailboxName,
    },
    Sort {
        uid: bool,
        criteria: Vec<SortCriterion>,
        charset: String,
        /// Always [`SearchKey::And`].
        search: SearchKey,
        returns: Option<Vec<SearchReturn>>,
    },
    Thread {
        uid: bool,
        algorithm: ThreadAlgorithm,
        charset: String,
        search: SearchKey,
    },
    GetQuota {
        root: String,
    },
    GetQuotaRoot {
        mailbox: MailboxName,
    },
    SetQuota {
        root: String,
        /// Upper-cased resource names and their limits.
        limits: Vec<(String, u64)>,
    },
}
