//! Records of the log: framing (length, type, checksums) and the payload of each type.
//!
//! Frame layout, little-endian, 16-octet header then payload:
//! ```text
//! 0  magic       u16   0xE750
//! 2  type        u8    RecordType
//! 3  reserved    u8    0
//! 4  length      u32   payload octets, <= RECORD_PAYLOAD_OCTETS_MAX
//! 8  payload_crc u32   crc32 over type and payload
//! 12 header_crc  u32   crc32 seeded with the segment salt over octets 0..12 and the
//!                      record's file offset (u64), so a record is only valid where it was
//!                      written and a copy of one inside mail content is never mistaken for one
//! ```
//! `decode` never panics and allocates at most what the payload itself holds.

use crate::codec::{Malformed, Reader, Writer};
use crate::ids::{AccountKey, Extent, MailboxKey, Modseq, SystemFlags, Uid, UidRange};
use crate::limits::{
    EXTENTS_PER_MESSAGE_MAX, KEYWORD_OCTETS_MAX, KEYWORDS_PER_MESSAGE_MAX, NAME_OCTETS_MAX,
    PARSE_OCTETS_MAX, RECORD_PAYLOAD_OCTETS_MAX, UID_RANGES_PER_RECORD_MAX,
};
use crate::special_use::SpecialUse;

pub const RECORD_MAGIC: [u8; 2] = 0xE750u16.to_le_bytes();
pub const RECORD_HEADER_OCTETS: usize = 16;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum RecordType {
    ContentChunk = 1,
    MessageCommit = 2,
    FlagChange = 3,
    Expunge = 4,
    MailboxCreate = 5,
    MailboxRename = 6,
    MailboxDelete = 7,
    Subscription = 8,
    Account = 9,
    Relocation = 10,
    /// Format version 2 on.
    MessageCopy = 11,
    /// Format version 3 on.
    MailboxSpecialUse = 12,
    /// Format version 5 on; written only by compaction.
    MessageTombstone = 13,
}

impl RecordType {
    fn from_u8(value: u8) -> Option<Self> {
        use RecordType::*;
        [
            ContentChunk,
            MessageCommit,
            FlagChange,
            Expunge,
            MailboxCreate,
            MailboxRename,
            MailboxDelete,
            Subscription,
            Account,
            Relocation,
            MessageCopy,
            MailboxSpecialUse,
            MessageTombstone,
        ]
        .into_iter()
        .find(|kind| *kind as u8 == value)
    }
}

/// A message's metadata, written after all its content chunks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageCommit {
    pub mailbox: MailboxKey,
    pub uid: Uid,
    pub modseq: Modseq,
    pub internal_date_secs: i64,
    pub size_octets: u64,
    pub flags: SystemFlags,
    pub keywords: Vec<String>,
    /// Ties the commit to the content chunks written for it.
    pub ingest: u64,
    pub extents: Vec<Extent>,
    /// crc32 of the whole content, for end-to-end checks.
    pub content_crc: u32,
    /// Opaque parse results filled by the IMAP layer (header length, MIME tree, ENVELOPE).
    pub parse: Vec<u8>,
    /// RFC 8514 save date: when the message was saved into its mailbox. `None` only in
    /// commits written by format version 1, which did not record it.
    pub save_date_secs: Option<i64>,
    /// The delivery envelope, opaque here (SMTP/LMTP keep the RFC 3461 DSN parameters for
    /// the outbound work to come); empty when there is none, and in commits written before
    /// format version 4.
    pub envelope: Vec<u8>,
}

impl MessageCommit {
    /// The commit as a tombstone keeps it (`Record::MessageTombstone`): everything but the
    /// extents, parse results, delivery envelope and content crc.
    pub fn tombstone(self) -> Self {
        Self {
            extents: Vec::new(),
            parse: Vec::new(),
            envelope: Vec::new(),
            content_crc: 0,
            ..self
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlagOperation {
    Replace = 0,
    Add = 1,
    Remove = 2,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlagChange {
    pub mailbox: MailboxKey,
    pub modseq: Modseq,
    pub operation: FlagOperation,
    pub flags: SystemFlags,
    pub keywords: Vec<String>,
    pub uids: Vec<UidRange>,
    /// RFC 7162 §3.1.3 `UNCHANGEDSINCE`: a message whose MODSEQ is above it is left alone.
    /// Checked when the record is applied, in log order, so live writes and replay agree.
    /// Format version 2 on (`None` is written as before).
    pub unchanged_since: Option<Modseq>,
}

/// COPY (RFC 3501 §6.4.7) or MOVE (RFC 6851) of messages between two mailboxes of one
/// account, without copying content: each copy shares the original's content extents and
/// commit record (its parse results). Format version 2 on.
///
/// Applying it takes the messages present in `source` within `uids`, in UID order, at most
/// `count` of them, and gives the i-th the target UID `uid_first + i`; UIDs up to
/// `uid_first + count - 1` are used up either way. Writers clip `uids` to the largest UID
/// present when they write, so messages appended later can never be taken, and only an
/// expunge applied in between can make fewer than `count` present.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageCopy {
    pub source: MailboxKey,
    /// In the same account as `source` (only its mailbox number is written).
    pub target: MailboxKey,
    /// Source UIDs: ascending, disjoint, clipped.
    pub uids: Vec<UidRange>,
    /// Messages present when the record was written.
    pub count: u32,
    pub uid_first: Uid,
    /// The target MODSEQ of every copy.
    pub modseq: Modseq,
    /// RFC 8514 save date of every copy.
    pub save_date_secs: i64,
    /// MOVE: the copied messages are expunged from `source` with this MODSEQ, in the same
    /// record, so a crash leaves each message in exactly one of the mailboxes.
    pub moved: Option<Modseq>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record<'a> {
    ContentChunk {
        partition: u32,
        ingest: u64,
        data: &'a [u8],
    },
    MessageCommit(MessageCommit),
    FlagChange(FlagChange),
    Expunge {
        mailbox: MailboxKey,
        modseq: Modseq,
        uids: Vec<UidRange>,
    },
    MailboxCreate {
        mailbox: MailboxKey,
        name: String,
        uid_validity: u32,
        /// RFC 6154 attribute given at creation (CREATE-SPECIAL-USE), in the same record so a
        /// crash cannot leave the mailbox without it. Format version 3 on (`None` is written
        /// as before: a version 1 or 2 create record ends after its UIDVALIDITY).
        special_use: Option<SpecialUse>,
    },
    MailboxRename {
        mailbox: MailboxKey,
        name: String,
    },
    MailboxDelete {
        mailbox: MailboxKey,
    },
    Subscription {
        account: AccountKey,
        name: String,
        subscribed: bool,
    },
    /// Creates or updates an account.
    Account {
        account: AccountKey,
        name: String,
        quota_octets_max: u64,
        quota_messages_max: u64,
    },
    /// Written by compaction at the start of a rewritten segment: where the content of each
    /// kept chunk now lies. Commit records keep the extents they were written with (original
    /// coordinates); replay translates them through this table (docs/STORAGE.md, "Compaction").
    Relocation(Vec<Relocation>),
    MessageCopy(MessageCopy),
    /// Gives a mailbox an RFC 6154 attribute, replacing its own (`None` clears it). Format
    /// version 3 on. MODSEQs do not change.
    MailboxSpecialUse {
        mailbox: MailboxKey,
        special_use: Option<SpecialUse>,
    },
    /// What compaction leaves of the commit record of a message that was gone when it ran
    /// (expunged, moved away, its mailbox deleted): the commit without its extents, parse
    /// results, delivery envelope and content crc, at the commit's place in the log. Replay
    /// applies it like the commit (UIDNEXT, HIGHESTMODSEQ, keywords, usage) but makes a
    /// *ghost*, an entry without content that the later record which removed the message
    /// removes again, so every record after it (flag changes, copies, moves, expunges and
    /// their history) applies as it did live. Format version 5 on.
    MessageTombstone(MessageCommit),
}

/// One kept chunk's content: its original data offset in the segment, and its current one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Relocation {
    pub original: u64,
    pub current: u64,
}

/// Records of segment-level data (relocations) carry this partition: they belong to none.
pub const NO_PARTITION: u32 = u32::MAX;

/// Where a frame is being read or written: the segment salt and the record's file offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameContext {
    pub salt: u32,
    pub offset: u64,
}

/// Why bytes at some offset are not a valid record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("input ends inside the record")]
    Truncated,
    #[error("no record magic")]
    BadMagic,
    #[error("record header checksum mismatch")]
    HeaderChecksum,
    #[error("record length {0} over the limit")]
    LengthTooLarge(u32),
    #[error("record payload checksum mismatch")]
    PayloadChecksum,
    #[error("unknown record type {0}")]
    UnknownType(u8),
    #[error(transparent)]
    Malformed(#[from] Malformed),
}

impl Record<'_> {
    pub fn record_type(&self) -> RecordType {
        match self {
            Record::ContentChunk { .. } => RecordType::ContentChunk,
            Record::MessageCommit(_) => RecordType::MessageCommit,
            Record::FlagChange(_) => RecordType::FlagChange,
            Record::Expunge { .. } => RecordType::Expunge,
            Record::MailboxCreate { .. } => RecordType::MailboxCreate,
            Record::MailboxRename { .. } => RecordType::MailboxRename,
            Record::MailboxDelete { .. } => RecordType::MailboxDelete,
            Record::Subscription { .. } => RecordType::Subscription,
            Record::Account { .. } => RecordType::Account,
            Record::Relocation(_) => RecordType::Relocation,
            Record::MessageCopy(_) => RecordType::MessageCopy,
            Record::MailboxSpecialUse { .. } => RecordType::MailboxSpecialUse,
            Record::MessageTombstone(_) => RecordType::MessageTombstone,
        }
    }

    /// The partition the record belongs to, for moving partitions between shards.
    pub fn partition(&self) -> u32 {
        match self {
            Record::ContentChunk { partition, .. } => *partition,
            Record::MessageCommit(commit) | Record::MessageTombstone(commit) => {
                commit.mailbox.account.partition
            }
            Record::FlagChange(change) => change.mailbox.account.partition,
            Record::Expunge { mailbox, .. }
            | Record::MailboxCreate { mailbox, .. }
            | Record::MailboxRename { mailbox, .. }
            | Record::MailboxDelete { mailbox }
            | Record::MailboxSpecialUse { mailbox, .. } => mailbox.account.partition,
            Record::Subscription { account, .. } | Record::Account { account, .. } => {
                account.partition
            }
            Record::Relocation(_) => NO_PARTITION,
            Record::MessageCopy(copy) => copy.source.account.partition,
        }
    }
}

/// Frames `record` at `context.offset` and appends it to `out`; returns the framed octets.
pub fn encode(record: &Record<'_>, context: FrameContext, out: &mut Vec<u8>) -> usize {
    let start = out.len();
    out.extend_from_slice(&[0u8; RECORD_HEADER_OCTETS]);
    crate::payload::encode(record, &mut Writer::new(out));
    let payload_octets = out.len() - start - RECORD_HEADER_OCTETS;
    assert!(
        payload_octets <= RECORD_PAYLOAD_OCTETS_MAX,
        "record over the payload limit"
    );
    let kind = record.record_type() as u8;
    let mut payload_hasher = crc32fast::Hasher::new();
    payload_hasher.update(&[kind]);
    payload_hasher.update(&out[start + RECORD_HEADER_OCTETS..]);
    let header = &mut out[start..start + RECORD_HEADER_OCTETS];
    header[0..2].copy_from_slice(&RECORD_MAGIC);
    header[2] = kind;
    header[4..8].copy_from_slice(&(payload_octets as u32).to_le_bytes());
    header[8..12].copy_from_slice(&payload_hasher.finalize().to_le_bytes());
    let header_crc = header_checksum(&header[0..12], context);
    header[12..16].copy_from_slice(&header_crc.to_le_bytes());
    out.len() - start
}

pub(crate) fn header_checksum(first_twelve: &[u8], context: FrameContext) -> u32 {
    let mut hasher = crc32fast::Hasher::new_with_initial(context.salt);
    hasher.update(first_twelve);
    hasher.update(&context.offset.to_le_bytes());
    hasher.finalize()
}

/// A record header that passed its checks: what follows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    pub kind: u8,
    pub payload_octets: u32,
    pub payload_crc: u32,
}

impl FrameHeader {
    /// Header plus payload.
    pub fn framed_octets(&self) -> usize {
        RECORD_HEADER_OCTETS + self.payload_octets as usize
    }

    /// Starts the payload checksum (it covers the type, then the payload).
    pub fn payload_hasher(&self) -> crc32fast::Hasher {
        let mut hasher = crc32fast::Hasher::new();
        hasher.update(&[self.kind]);
        hasher
    }
}

/// Checks the 16-octet header at the start of `bytes`: magic, salted and offset-bound
/// checksum, reserved octet, length limit.
pub fn decode_header(bytes: &[u8], context: FrameContext) -> Result<FrameHeader, DecodeError> {
    let Some(header) = bytes.get(..RECORD_HEADER_OCTETS) else {
        return Err(DecodeError::Truncated);
    };
    if header[0..2] != RECORD_MAGIC {
        return Err(DecodeError::BadMagic);
    }
    let stored_header_crc = u32::from_le_bytes([header[12], header[13], header[14], header[15]]);
    if header_checksum(&header[0..12], context) != stored_header_crc || header[3] != 0 {
        return Err(DecodeError::HeaderChecksum);
    }
    let length = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
    if length as usize > RECORD_PAYLOAD_OCTETS_MAX {
        return Err(DecodeError::LengthTooLarge(length));
    }
    Ok(FrameHeader {
        kind: header[2],
        payload_octets: length,
        payload_crc: u32::from_le_bytes([header[8], header[9], header[10], header[11]]),
    })
}

/// Checks the frame at the start of `bytes`; returns its type, payload and framed octets.
pub fn decode_frame(
    bytes: &[u8],
    context: FrameContext,
) -> Result<(u8, &[u8], usize), DecodeError> {
    let header = decode_header(bytes, context)?;
    let framed_octets = header.framed_octets();
    let Some(payload) = bytes.get(RECORD_HEADER_OCTETS..framed_octets) else {
        return Err(DecodeError::Truncated);
    };
    let mut hasher = header.payload_hasher();
    hasher.update(payload);
    if hasher.finalize() != header.payload_crc {
        return Err(DecodeError::PayloadChecksum);
    }
    Ok((header.kind, payload, framed_octets))
}

/// Decodes the payload of a frame whose checksums already verified.
pub fn decode_payload(kind: u8, payload: &[u8]) -> Result<Record<'_>, DecodeError> {
    let kind = RecordType::from_u8(kind).ok_or(DecodeError::UnknownType(kind))?;
    Ok(crate::payload::decode(kind, &mut Reader::new(payload))?)
}

/// Decodes one record from the start of `bytes`: the record and the octets it occupies.
pub fn decode(bytes: &[u8], context: FrameContext) -> Result<(Record<'_>, usize), DecodeError> {
    let (kind, payload, framed_octets) = decode_frame(bytes, context)?;
    Ok((decode_payload(kind, payload)?, framed_octets))
}

pub(crate) mod bounds {
    use super::*;
    pub const NAME: usize = NAME_OCTETS_MAX;
    pub const KEYWORD: usize = KEYWORD_OCTETS_MAX;
    pub const KEYWORDS: usize = KEYWORDS_PER_MESSAGE_MAX;
    pub const EXTENTS: usize = EXTENTS_PER_MESSAGE_MAX;
    pub const PARSE: usize = PARSE_OCTETS_MAX;
    pub const ENVELOPE: usize = crate::limits::ENVELOPE_OCTETS_MAX;
    pub const UID_RANGES: usize = UID_RANGES_PER_RECORD_MAX;
    pub const RELOCATIONS: usize = crate::limits::RELOCATIONS_PER_RECORD_MAX;
}

/// Decodes a payload without a frame: lets tests reach payload parsing with arbitrary bytes.
#[cfg(test)]
pub(crate) fn decode_payload_for_tests(
    kind: u8,
    payload: &[u8],
) -> Result<Record<'_>, DecodeError> {
    let kind = RecordType::from_u8(kind).ok_or(DecodeError::UnknownType(kind))?;
    Ok(crate::payload::decode(kind, &mut Reader::new(payload))?)
}
