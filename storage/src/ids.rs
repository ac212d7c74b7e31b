//! Identifiers shared by records, the index and the API.

/// A partition is the unit of ownership moved between shards; an account lives in exactly one.
pub type PartitionId = u32;

/// An account: its partition and its number within that partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AccountKey {
    pub partition: PartitionId,
    pub account: u32,
}

/// A mailbox: its account and its number within that account (never reused).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MailboxKey {
    pub account: AccountKey,
    pub mailbox: u32,
}

/// IMAP UID (RFC 3501 §2.3.1.1): strictly ascending, never reused within a UIDVALIDITY.
pub type Uid = u32;
/// RFC 7162 mod-sequence: strictly increasing per mailbox.
pub type Modseq = u64;

/// An inclusive range of UIDs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UidRange {
    pub first: Uid,
    pub last: Uid,
}

impl UidRange {
    pub fn one(uid: Uid) -> Self {
        Self {
            first: uid,
            last: uid,
        }
    }
    pub fn contains(&self, uid: Uid) -> bool {
        self.first <= uid && uid <= self.last
    }

    /// Ascending UIDs → the fewest inclusive ranges (one flag-change or expunge record).
    pub fn fold(uids: impl IntoIterator<Item = Uid>) -> Vec<UidRange> {
        let mut ranges: Vec<UidRange> = Vec::new();
        for uid in uids {
            match ranges.last_mut() {
                Some(last) if last.last.checked_add(1) == Some(uid) => last.last = uid,
                _ => ranges.push(UidRange::one(uid)),
            }
        }
        ranges
    }
}

/// The IMAP system flags a message keeps (\Recent is per session and not stored).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct SystemFlags(pub u8);

impl SystemFlags {
    pub const SEEN: Self = Self(1);
    pub const ANSWERED: Self = Self(2);
    pub const FLAGGED: Self = Self(4);
    pub const DELETED: Self = Self(8);
    pub const DRAFT: Self = Self(16);
    pub const ALL: Self = Self(31);

    pub fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }
    pub fn union(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }
    pub fn difference(self, other: Self) -> Self {
        Self(self.0 & !other.0)
    }
}

/// Where a record's bytes lie: segment sequence and byte offset within the segment file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Location {
    pub sequence: u64,
    pub offset: u64,
}

/// A run of a message's content bytes inside one content-chunk record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Extent {
    pub sequence: u64,
    /// Offset of the first content byte in the segment file (not of the record header).
    pub offset: u64,
    pub octets: u32,
}
