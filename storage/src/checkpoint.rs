//! Index checkpoints: the whole in-memory state of a shard written to one file, so that open
//! replays only the log after the position the checkpoint covers (DESIGN invariant 6).
//!
//! File `ckpt-<sequence:016x>.chk`, little-endian:
//! ```text
//! 0  magic          [u8; 8]  "PSTRNCKP"
//! 8  format_version u16      CHECKPOINT_FORMAT_VERSION (versions from
//!                            CHECKPOINT_FORMAT_VERSION_MIN are read)
//! 10 header_octets  u16      64
//! 12 shard          u32
//! 16 sequence       u64      also in the file name; ascending
//! 24 log_sequence   u64      the checkpoint holds every record before this log position
//! 32 log_offset     u64      and none at or after it
//! 40 body_octets    u64
//! 48 body_crc       u32      crc32 of the body
//! 52 created_secs   u64
//! 60 header_crc     u32      crc32 of octets 0..60
//! ```
//! Writing: `ckpt-N.tmp` is created, written, fdatasync'ed, renamed to `ckpt-N.chk`, and the
//! directory fsync'ed; only then are older checkpoints removed (the newest
//! `CHECKPOINTS_KEPT` stay). A crash at any step leaves either the old set or the new one.
//! Loading: newest first; a checkpoint that fails any check is reported and the next older
//! one is tried, and without any the whole log is replayed.

use crate::codec::{Malformed, Reader, Writer};
use crate::disk::{Disk, DiskError, FileId, FileKind, SegmentFile};
use crate::history::ExpungeHistory;
use crate::ids::{AccountKey, Location, MailboxKey};
use crate::index::checkpoint as index_codec;
use crate::limits::{CHECKPOINT_OCTETS_MAX, NAME_OCTETS_MAX};
use crate::mailbox::{Account, Mailbox, State};
use crate::notify::Event;
use crate::segment::{SEGMENT_HEADER_OCTETS, SegmentHeader};
use crate::special_use::SpecialUse;
use std::collections::{BTreeMap, BTreeSet};

pub const CHECKPOINT_MAGIC: [u8; 8] = *b"PSTRNCKP";
/// Version 2 added each message's save date and each mailbox's expunge history; version 3
/// each mailbox's special-use attribute.
pub const CHECKPOINT_FORMAT_VERSION: u16 = 3;
/// A version 1 checkpoint is read as: save dates unknown (its messages' commit records have
/// none either), expunge history starting at its HIGHESTMODSEQ. Version 1 and 2 checkpoints
/// have no special-use attributes (the builds that wrote them wrote none to the log either).
pub const CHECKPOINT_FORMAT_VERSION_MIN: u16 = 1;
pub const CHECKPOINT_HEADER_OCTETS: usize = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckpointHeader {
    /// `CHECKPOINT_FORMAT_VERSION` when written; the body's layout.
    pub format_version: u16,
    pub shard: u32,
    pub sequence: u64,
    /// Every record before this position is in the checkpoint, none after.
    pub position: Location,
    pub body_octets: u64,
    pub body_crc: u32,
    pub created_secs: u64,
}

/// Why a checkpoint file was not used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    #[error("checkpoint header missing, damaged or not a checkpoint")]
    Header,
    #[error(
        "checkpoint format version {0} is not supported by this build (it reads versions \
         {CHECKPOINT_FORMAT_VERSION_MIN} to {CHECKPOINT_FORMAT_VERSION})"
    )]
    Version(u16),
    #[error("checkpoint belongs to shard {shard} sequence {sequence}")]
    Misplaced { shard: u32, sequence: u64 },
    #[error("checkpoint body of {0} octets is truncated or over the limit")]
    Length(u64),
    #[error("checkpoint body checksum mismatch")]
    Checksum,
    #[error(transparent)]
    Malformed(#[from] Malformed),
    #[error(
        "checkpoint covers the log up to {0:?}, but a segment it saw is missing or was \
         rewritten since"
    )]
    Stale(Location),
    #[error(transparent)]
    Disk(#[from] DiskError),
}

impl CheckpointHeader {
    pub fn encode(&self) -> [u8; CHECKPOINT_HEADER_OCTETS] {
        let mut bytes = [0u8; CHECKPOINT_HEADER_OCTETS];
        bytes[0..8].copy_from_slice(&CHECKPOINT_MAGIC);
        bytes[8..10].copy_from_slice(&self.format_version.to_le_bytes());
        bytes[10..12].copy_from_slice(&(CHECKPOINT_HEADER_OCTETS as u16).to_le_bytes());
        bytes[12..16].copy_from_slice(&self.shard.to_le_bytes());
        bytes[16..24].copy_from_slice(&self.sequence.to_le_bytes());
        bytes[24..32].copy_from_slice(&self.position.sequence.to_le_bytes());
        bytes[32..40].copy_from_slice(&self.position.offset.to_le_bytes());
        bytes[40..48].copy_from_slice(&self.body_octets.to_le_bytes());
        bytes[48..52].copy_from_slice(&self.body_crc.to_le_bytes());
        bytes[52..60].copy_from_slice(&self.created_secs.to_le_bytes());
        let crc = crc32fast::hash(&bytes[0..60]);
        bytes[60..64].copy_from_slice(&crc.to_le_bytes());
        bytes
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, CheckpointError> {
        let bytes = bytes
            .get(..CHECKPOINT_HEADER_OCTETS)
            .ok_or(CheckpointError::Header)?;
        let mut reader = Reader::new(bytes);
        let magic = reader.take(8, "magic")?;
        if magic != CHECKPOINT_MAGIC {
            return Err(CheckpointError::Header);
        }
        let crc = u32::from_le_bytes([bytes[60], bytes[61], bytes[62], bytes[63]]);
        if crc != crc32fast::hash(&bytes[0..60]) {
            return Err(CheckpointError::Header);
        }
        let version = reader.u16("version")?;
        if !(CHECKPOINT_FORMAT_VERSION_MIN..=CHECKPOINT_FORMAT_VERSION).contains(&version)
            || reader.u16("header octets")? as usize != CHECKPOINT_HEADER_OCTETS
        {
            return Err(CheckpointError::Version(version));
        }
        Ok(Self {
            format_version: version,
            shard: reader.u32("shard")?,
            sequence: reader.u64("sequence")?,
            position: Location {
                sequence: reader.u64("log sequence")?,
                offset: reader.u64("log offset")?,
            },
            body_octets: reader.u64("body octets")?,
            body_crc: reader.u32("body crc")?,
            created_secs: reader.u64("created")?,
        })
    }
}

/// Encodes the durable state (what `State::apply` built), not what is in flight.
pub fn encode_state(state: &State, out: &mut Vec<u8>) {
    encode_state_with(state, true, out);
}

/// `encode_state`; without expunge histories (not decodable) when `history` is false, to
/// compare states restored from a version 1 checkpoint.
pub(crate) fn encode_state_with(state: &State, history: bool, out: &mut Vec<u8>) {
    let layout = Layout {
        version: CHECKPOINT_FORMAT_VERSION,
        history,
    };
    encode_state_as(state, layout, out);
}

/// What an encoding holds: the body of checkpoint format `version`, less the expunge
/// histories unless `history` (version 1 had none; it is only written by tests of old
/// checkpoints).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Layout {
    pub version: u16,
    pub history: bool,
}

/// About how many octets `encode_body` writes for `state`: a little more than the entries
/// and a few hundred octets per mailbox and account, so that a buffer this large rarely
/// grows. Not a bound.
pub(crate) fn body_octets_estimate(state: &State) -> usize {
    let mut octets = 4096;
    for account in state.accounts.values() {
        octets += 256;
        for mailbox in account.mailboxes.values() {
            octets += 256 + index_codec::encoded_octets_min(&mailbox.index);
        }
    }
    octets + octets / 8
}

pub(crate) fn encode_state_as(state: &State, layout: Layout, out: &mut Vec<u8>) {
    assert!(
        layout.version >= 2 || !layout.history,
        "version 1 bodies have no expunge histories"
    );
    let mut writer = Writer::new(out);
    encode_state_head(state, &mut writer);
    for account in state.accounts.values() {
        encode_account_head(account, &mut writer);
        for mailbox in account.mailboxes.values() {
            encode_mailbox(mailbox, layout, &mut writer);
        }
    }
}

/// Where a checkpoint encoded in pieces (`encode_body_piece`) stands.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct BodyCursor {
    /// The state's header is written.
    started: bool,
    /// What comes next; `None` once every account is in (or before the start).
    next: Option<Next>,
    done: bool,
}

/// The next part of a body encoded in pieces.
#[derive(Debug, Clone, Copy)]
enum Next {
    AccountHead(AccountKey),
    /// A mailbox's messages from position `entry` on (`None`: its head first).
    Mailbox {
        account: AccountKey,
        mailbox: u32,
        entry: Option<usize>,
    },
}

impl BodyCursor {
    pub(crate) fn done(&self) -> bool {
        self.done
    }
}

/// Encodes the next piece of a checkpoint body (`encode_body`'s bytes, in order): about
/// `octets` of it, split anywhere between account heads, mailbox heads and messages (at
/// least one of them per piece, so the pieces end), then the salts once every account is
/// in. The caller keeps the state from changing between pieces (`Store::write_checkpoint`
/// holds back the application of records meanwhile); the pieces then make the same bytes
/// as `encode_body` of that state.
pub(crate) fn encode_body_piece(
    state: &State,
    salts: &[(u64, u32)],
    cursor: &mut BodyCursor,
    octets: usize,
    out: &mut Vec<u8>,
) {
    let layout = Layout {
        version: CHECKPOINT_FORMAT_VERSION,
        history: true,
    };
    let stop = out.len() + octets;
    let mut writer = Writer::new(out);
    if !cursor.started {
        encode_state_head(state, &mut writer);
        cursor.started = true;
        cursor.next = state
            .accounts
            .keys()
            .next()
            .map(|key| Next::AccountHead(*key));
    }
    let unchanged = "the state does not change between pieces";
    while let Some(next) = cursor.next {
        cursor.next = match next {
            Next::AccountHead(key) => {
                let account = state.accounts.get(&key).expect(unchanged);
                encode_account_head(account, &mut writer);
                after_mailbox(state, key, None)
            }
            Next::Mailbox {
                account,
                mailbox: number,
                entry,
            } => {
                let accounts = state.accounts.get(&account);
                let mailbox = accounts.and_then(|a| a.mailboxes.get(&number));
                let mailbox = mailbox.expect(unchanged);
                let from = match entry {
                    Some(from) => from,
                    None => {
                        encode_mailbox_head(mailbox, layout, &mut writer);
                        0
                    }
                };
                let room = stop.saturating_sub(writer.len()) / index_codec::ENTRY_OCTETS_MIN;
                let to = (from + room.max(1)).min(mailbox.index.len());
                index_codec::encode_entries(&mailbox.index, from..to, layout.version, &mut writer);
                match to < mailbox.index.len() {
                    true => Some(Next::Mailbox {
                        account,
                        mailbox: number,
                        entry: Some(to),
                    }),
                    false => after_mailbox(state, account, Some(number)),
                }
            }
        };
        if writer.len() >= stop && cursor.next.is_some() {
            return;
        }
    }
    encode_salts(salts, &mut writer);
    cursor.done = true;
}

/// What follows mailbox `after` of `account` (its head, with `None`): the account's next
/// mailbox, or the next account's head.
fn after_mailbox(state: &State, account: AccountKey, after: Option<u32>) -> Option<Next> {
    use std::ops::Bound::{Excluded, Unbounded};
    let mailboxes = state.accounts.get(&account).map(|a| &a.mailboxes);
    let from = after.map_or(Unbounded, Excluded);
    let mailbox = mailboxes.and_then(|m| m.range((from, Unbounded)).next());
    if let Some((number, _)) = mailbox {
        return Some(Next::Mailbox {
            account,
            mailbox: *number,
            entry: None,
        });
    }
    let next = state.accounts.range((Excluded(account), Unbounded)).next();
    next.map(|(key, _)| Next::AccountHead(*key))
}

/// What comes before the accounts: the ingest counter, per-partition account numbers, and
/// how many accounts follow.
fn encode_state_head(state: &State, writer: &mut Writer<'_>) {
    writer.u64(state.ingest_next);
    writer.u32(state.account_next.len() as u32);
    for (partition, next) in &state.account_next {
        writer.u32(*partition);
        writer.u32(*next);
    }
    writer.u32(state.accounts.len() as u32);
}

fn encode_account_head(account: &Account, writer: &mut Writer<'_>) {
    writer.u32(account.key.partition);
    writer.u32(account.key.account);
    writer.text(&account.name);
    writer.u64(account.quota_octets_max);
    writer.u64(account.quota_messages_max);
    writer.u64(account.usage_octets);
    writer.u64(account.usage_messages);
    writer.u32(account.mailbox_next);
    writer.u32(account.uid_validity_last);
    writer.u32(account.subscriptions.len() as u32);
    account
        .subscriptions
        .iter()
        .for_each(|name| writer.text(name));
    writer.u32(account.mailboxes.len() as u32);
}

fn encode_mailbox(mailbox: &Mailbox, layout: Layout, writer: &mut Writer<'_>) {
    encode_mailbox_head(mailbox, layout, writer);
    let entries = 0..mailbox.index.len();
    index_codec::encode_entries(&mailbox.index, entries, layout.version, writer);
}

/// A mailbox up to its messages (their count included).
fn encode_mailbox_head(mailbox: &Mailbox, layout: Layout, writer: &mut Writer<'_>) {
    writer.u32(mailbox.key.mailbox);
    writer.text(&mailbox.name);
    writer.u32(mailbox.uid_validity);
    writer.u32(mailbox.uid_next);
    writer.u64(mailbox.highest_modseq);
    if layout.version >= 3 {
        writer.u8(mailbox.special_use.map_or(0, SpecialUse::code));
    }
    if layout.history {
        mailbox.expunged.encode(writer);
    }
    index_codec::encode_keywords(&mailbox.keywords, writer);
    writer.u32(mailbox.index.len() as u32);
}

/// Encodes a checkpoint body: the state, then the salt of every segment up to the one holding
/// the checkpoint's position. Compaction rewrites a segment with a new salt, so a checkpoint
/// whose offsets into a segment are stale is recognised and skipped. (`Store` encodes it in
/// pieces, `encode_body_piece`; this whole form is what the pieces must add up to.)
#[cfg(test)]
pub(crate) fn encode_body(state: &State, salts: &[(u64, u32)], out: &mut Vec<u8>) {
    encode_state(state, out);
    encode_salts(salts, &mut Writer::new(out));
}

fn encode_salts(salts: &[(u64, u32)], writer: &mut Writer<'_>) {
    writer.u32(salts.len() as u32);
    for (sequence, salt) in salts {
        writer.u64(*sequence);
        writer.u32(*salt);
    }
}

/// Decodes a checkpoint body written by checkpoint format `version`.
pub(crate) fn decode_body(
    body: &[u8],
    version: u16,
) -> Result<(State, Vec<(u64, u32)>), Malformed> {
    let mut reader = Reader::new(body);
    let state = decode_state_from(&mut reader, version)?;
    let count = reader.count(u32::MAX as usize, 12, "segment salts")?;
    let salts = (0..count)
        .map(|_| Ok((reader.u64("segment")?, reader.u32("salt")?)))
        .collect::<Result<Vec<_>, Malformed>>()?;
    reader.finish("trailing octets")?;
    Ok((state, salts))
}

/// Decodes an encoded state, checking the invariants the live state relies on.
pub fn decode_state(bytes: &[u8]) -> Result<State, Malformed> {
    let mut reader = Reader::new(bytes);
    let state = decode_state_from(&mut reader, CHECKPOINT_FORMAT_VERSION)?;
    reader.finish("trailing octets")?;
    Ok(state)
}

fn decode_state_from(reader: &mut Reader<'_>, version: u16) -> Result<State, Malformed> {
    let mut state = State {
        ingest_next: reader.u64("ingest next")?,
        ..State::default()
    };
    let partitions = reader.count(u32::MAX as usize, 8, "partitions")?;
    for _ in 0..partitions {
        let partition = reader.u32("partition")?;
        let next = reader.u32("account next")?;
        state.account_next.insert(partition, next);
    }
    let accounts = reader.count(u32::MAX as usize, 40, "accounts")?;
    for _ in 0..accounts {
        let account = decode_account(reader, version)?;
        let next = state.account_next.get(&account.key.partition).copied();
        if next.is_none_or(|next| next <= account.key.account)
            || state.accounts.contains_key(&account.key)
            || state
                .account_names
                .insert(account.name.clone(), account.key)
                .is_some()
        {
            return Err(Malformed("account"));
        }
        state.accounts.insert(account.key, account);
    }
    Ok(state)
}

fn decode_account(reader: &mut Reader<'_>, version: u16) -> Result<Account, Malformed> {
    let key = AccountKey {
        partition: reader.u32("partition")?,
        account: reader.u32("account")?,
    };
    let mut account = Account {
        key,
        name: reader.text(NAME_OCTETS_MAX, "account name")?,
        quota_octets_max: reader.u64("quota octets")?,
        quota_messages_max: reader.u64("quota messages")?,
        usage_octets: reader.u64("usage octets")?,
        usage_messages: reader.u64("usage messages")?,
        mailboxes: BTreeMap::new(),
        names: BTreeMap::new(),
        subscriptions: BTreeSet::new(),
        mailbox_next: reader.u32("mailbox next")?,
        uid_validity_last: reader.u32("uid validity last")?,
        reserved_octets: 0,
        reserved_messages: 0,
    };
    let subscriptions = reader.count(u32::MAX as usize, 4, "subscriptions")?;
    for _ in 0..subscriptions {
        let name = reader.text(NAME_OCTETS_MAX, "subscription")?;
        account.subscriptions.insert(name);
    }
    let mailboxes = reader.count(u32::MAX as usize, 24, "mailboxes")?;
    let mut special_uses = BTreeSet::new();
    for _ in 0..mailboxes {
        let mailbox = decode_mailbox(reader, key, version)?;
        let number = mailbox.key.mailbox;
        if number >= account.mailbox_next
            || account.mailboxes.contains_key(&number)
            || account.names.insert(mailbox.name.clone(), number).is_some()
        {
            return Err(Malformed("mailbox"));
        }
        // RFC 6154: at most one mailbox of an account per attribute (`special_use.rs`).
        if mailbox
            .special_use
            .is_some_and(|special_use| !special_uses.insert(special_use))
        {
            return Err(Malformed("special use held twice"));
        }
        account.mailboxes.insert(number, mailbox);
    }
    Ok(account)
}

fn decode_mailbox(
    reader: &mut Reader<'_>,
    account: AccountKey,
    version: u16,
) -> Result<Mailbox, Malformed> {
    let key = MailboxKey {
        account,
        mailbox: reader.u32("mailbox")?,
    };
    let name = reader.text(NAME_OCTETS_MAX, "mailbox name")?;
    let uid_validity = reader.u32("uid validity")?;
    let uid_next = reader.u32("uid next")?;
    let highest_modseq = reader.u64("highest modseq")?;
    let special_use = match version {
        1 | 2 => None,
        _ => match reader.u8("special use")? {
            0 => None,
            code => Some(SpecialUse::from_code(code).ok_or(Malformed("special use"))?),
        },
    };
    let expunged = match version {
        1 => ExpungeHistory::starting_at(highest_modseq),
        _ => ExpungeHistory::decode(reader, highest_modseq)?,
    };
    let keywords = index_codec::decode_keywords(reader)?;
    let sets = index_codec::keyword_sets(&keywords);
    let index = index_codec::decode_index(reader, sets, version)?;
    let entries = index.entries();
    let uid_max = entries.last().map_or(0, |entry| entry.uid);
    let modseq_max = entries.iter().map(|entry| entry.modseq).max().unwrap_or(0);
    if uid_next <= uid_max || highest_modseq < modseq_max {
        return Err(Malformed("mailbox counters"));
    }
    Ok(Mailbox {
        key,
        name,
        uid_validity,
        special_use,
        uid_next,
        highest_modseq,
        uid_next_allocated: uid_next,
        modseq_allocated: highest_modseq,
        index,
        keywords,
        expunged,
        changes: Event::new(),
    })
}

/// Writes checkpoint `header.sequence` durably: temporary file, fdatasync, rename, directory
/// fsync. Returns once it is the newest checkpoint on disk.
pub(crate) async fn write<D: Disk>(
    disk: &D,
    header: CheckpointHeader,
    body: Vec<u8>,
) -> Result<(), DiskError> {
    let temporary = FileId::checkpoint_temporary(header.sequence);
    let file = disk.create_file(temporary).await?;
    file.write_at(0, header.encode().to_vec()).await?;
    file.write_at(CHECKPOINT_HEADER_OCTETS as u64, body).await?;
    file.sync_data().await?;
    drop(file);
    disk.rename(temporary, FileId::checkpoint(header.sequence))
        .await?;
    disk.sync_directory().await
}

/// Removes checkpoints older than the newest `kept`, and leftover temporaries below
/// `sequence_next`. Not durable by itself: a removal undone by a crash leaves an older
/// checkpoint that open may still use or skip.
pub(crate) async fn prune<D: Disk>(
    disk: &D,
    kept: usize,
    sequence_next: u64,
) -> Result<(), DiskError> {
    let published = disk.list(FileKind::Checkpoint).await?;
    let old = published.len().saturating_sub(kept);
    for sequence in &published[..old] {
        disk.remove(FileId::checkpoint(*sequence)).await?;
    }
    for sequence in disk.list(FileKind::CheckpointTemporary).await? {
        if sequence < sequence_next {
            disk.remove(FileId::checkpoint_temporary(sequence)).await?;
        }
    }
    Ok(())
}

/// A checkpoint that passed every check.
pub(crate) struct Loaded {
    pub header: CheckpointHeader,
    pub state: State,
}

/// Reads and checks checkpoint `sequence` of `shard`, including that the log holds the
/// position it covers.
pub(crate) async fn load<D: Disk>(
    disk: &D,
    shard: u32,
    sequence: u64,
) -> Result<Loaded, CheckpointError> {
    let file = disk.open_file(FileId::checkpoint(sequence)).await?;
    let header = CheckpointHeader::decode(&file.read_at(0, CHECKPOINT_HEADER_OCTETS).await?)?;
    if header.shard != shard || header.sequence != sequence {
        return Err(CheckpointError::Misplaced {
            shard: header.shard,
            sequence: header.sequence,
        });
    }
    let octets = file.octets().await?;
    let body_octets = usize::try_from(header.body_octets)
        .ok()
        .filter(|body| *body <= CHECKPOINT_OCTETS_MAX)
        .filter(|body| (CHECKPOINT_HEADER_OCTETS + body) as u64 == octets)
        .ok_or(CheckpointError::Length(header.body_octets))?;
    let body = file
        .read_at(CHECKPOINT_HEADER_OCTETS as u64, body_octets)
        .await?;
    if body.len() != body_octets {
        return Err(CheckpointError::Length(header.body_octets));
    }
    if crc32fast::hash(&body) != header.body_crc {
        return Err(CheckpointError::Checksum);
    }
    let (state, salts) = decode_body(&body, header.format_version)?;
    check_segments(disk, shard, header.position, &salts).await?;
    Ok(Loaded { header, state })
}

/// The position must be inside a present segment whose header verifies, and every segment up
/// to it must be the one the checkpoint saw (same salt: not rewritten by compaction since).
async fn check_segments<D: Disk>(
    disk: &D,
    shard: u32,
    position: Location,
    salts: &[(u64, u32)],
) -> Result<(), CheckpointError> {
    let present = disk.list_sequences().await?;
    let expected: BTreeMap<u64, u32> = salts.iter().copied().collect();
    let through: Vec<u64> = present
        .iter()
        .copied()
        .filter(|sequence| *sequence <= position.sequence)
        .collect();
    let stale = CheckpointError::Stale(position);
    if through.last() != Some(&position.sequence) {
        return Err(stale);
    }
    for sequence in through {
        let file = disk.open(sequence).await?;
        let header = SegmentHeader::decode(&file.read_at(0, SEGMENT_HEADER_OCTETS).await?);
        let Ok(header) = header else {
            // A damaged header is reported by recovery; it has no salt to compare.
            if sequence == position.sequence {
                return Err(stale);
            }
            continue;
        };
        let same = header.shard == shard
            && header.sequence == sequence
            && expected.get(&sequence) == Some(&header.salt);
        let fits = sequence != position.sequence
            || (position.offset >= header.records_start
                && position.offset <= file.octets().await?);
        if !same || !fits {
            return Err(stale);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{Extent, SystemFlags, UidRange};
    use crate::record::{FlagChange, FlagOperation, MessageCommit, MessageCopy, Record};
    use crate::sim::Rng;

    fn sample_state() -> State {
        let mut state = State::default();
        let account = AccountKey {
            partition: 3,
            account: 0,
        };
        let mailbox = MailboxKey {
            account,
            mailbox: 1,
        };
        let at = |offset| Location {
            sequence: 1,
            offset,
        };
        let records = [
            Record::Account {
                account,
                name: "ann@example.org".into(),
                quota_octets_max: 10_000,
                quota_messages_max: 0,
            },
            Record::MailboxCreate {
                mailbox,
                name: "INBOX".into(),
                uid_validity: 77,
                special_use: None,
            },
            Record::Subscription {
                account,
                name: "INBOX".into(),
                subscribed: true,
            },
        ];
        for (offset, record) in records.iter().enumerate() {
            state
                .apply(at(offset as u64 * 100), record)
                .expect("applies");
        }
        for uid in 1..=5u32 {
            let extent = |offset: u64| Extent {
                sequence: 1,
                offset,
                octets: 10,
            };
            let commit = MessageCommit {
                mailbox,
                uid,
                modseq: u64::from(uid),
                internal_date_secs: -1,
                size_octets: if uid == 3 { 20 } else { 10 },
                flags: SystemFlags::SEEN,
                keywords: vec![format!("k{}", uid % 2)],
                ingest: u64::from(uid),
                extents: if uid == 3 {
                    vec![extent(1000), extent(2000)]
                } else {
                    vec![extent(3000)]
                },
                content_crc: 1,
                parse: Vec::new(),
                save_date_secs: (uid != 2).then_some(i64::from(uid) * 1000),
                envelope: Vec::new(),
            };
            let record = Record::MessageCommit(commit);
            state
                .apply(at(4000 + u64::from(uid)), &record)
                .expect("commit");
        }
        let change = Record::FlagChange(FlagChange {
            mailbox,
            modseq: 6,
            operation: FlagOperation::Add,
            flags: SystemFlags::FLAGGED,
            keywords: vec!["urgent".into()],
            uids: vec![UidRange { first: 2, last: 4 }],
            unchanged_since: None,
        });
        state.apply(at(5000), &change).expect("flags");
        let archive = MailboxKey {
            account,
            mailbox: 2,
        };
        let records = [
            Record::MailboxCreate {
                mailbox: archive,
                name: "Archive".into(),
                uid_validity: 78,
                special_use: Some(SpecialUse::Trash),
            },
            Record::MailboxSpecialUse {
                mailbox: archive,
                special_use: Some(SpecialUse::Archive),
            },
            // Copies 2 and 3 to the archive, then moves 1 and 5 there.
            Record::MessageCopy(MessageCopy {
                source: mailbox,
                target: archive,
                uids: vec![UidRange { first: 2, last: 3 }],
                count: 2,
                uid_first: 1,
                modseq: 1,
                save_date_secs: 99,
                moved: None,
            }),
            Record::MessageCopy(MessageCopy {
                source: mailbox,
                target: archive,
                uids: vec![UidRange::one(1), UidRange::one(5)],
                count: 2,
                uid_first: 3,
                modseq: 2,
                save_date_secs: 100,
                moved: Some(7),
            }),
            Record::Expunge {
                mailbox,
                modseq: 8,
                uids: vec![UidRange::one(4)],
            },
        ];
        for (offset, record) in records.iter().enumerate() {
            state
                .apply(at(6000 + offset as u64), record)
                .expect("applies");
        }
        state
    }

    /// A body encoded in pieces, however small (down to a message each), is the body encoded
    /// whole.
    #[test]
    fn pieces_make_the_whole_body() {
        let mut state = sample_state();
        // A second account, after the first.
        let second = sample_state().accounts.into_values().map(|mut account| {
            account.key.partition = account.key.partition.wrapping_add(1);
            (account.key, account)
        });
        state.accounts.extend(second);
        assert_eq!(state.accounts.len(), 2);
        let salts = [(1, 7), (2, 9)];
        let accounts = state.accounts.values();
        let mailboxes = accounts.flat_map(|account| account.mailboxes.values());
        let messages: usize = mailboxes.map(|mailbox| mailbox.index.len()).sum();
        assert!(messages > 4);
        let mut whole = Vec::new();
        encode_body(&state, &salts, &mut whole);
        for piece in [0, 1, 100, 1 << 20] {
            let mut cursor = BodyCursor::default();
            let mut body = Vec::new();
            let mut pieces = 0;
            while !cursor.done() {
                encode_body_piece(&state, &salts, &mut cursor, piece, &mut body);
                pieces += 1;
            }
            assert_eq!(body, whole, "pieces of {piece}");
            assert!(pieces > 1 || piece == 1 << 20, "{pieces} pieces of {piece}");
            // Tiny pieces split mailboxes: a message each.
            assert!(piece > 1 || pieces > messages, "{pieces} pieces of {piece}");
        }
    }

    #[test]
    fn state_round_trips() {
        let state = sample_state();
        let mut body = Vec::new();
        encode_state(&state, &mut body);
        let decoded = decode_state(&body).expect("decodes");
        let mut again = Vec::new();
        encode_state(&decoded, &mut again);
        assert_eq!(body, again);
        let mailbox = decoded.accounts.values().next().expect("account");
        let inbox = mailbox.mailboxes.values().next().expect("inbox");
        assert_eq!(inbox.uid_next, 6);
        assert_eq!(
            inbox
                .index
                .extents(inbox.index.get(3).expect("uid 3"))
                .len(),
            2
        );
        let entry = inbox.index.get(2).expect("uid 2");
        assert_eq!(
            inbox.keywords.names(entry.keyword_set),
            vec!["k0", "urgent"]
        );
        assert_eq!(decoded.account_names.len(), 1);
        assert_eq!(entry.save_date_secs(), None);
        let original = inbox.index.get(3).expect("uid 3");
        assert_eq!(original.save_date_secs(), Some(3000));
        assert!(original.shared());
        // Moved out: 1 and 5 at MODSEQ 7, then 4 expunged at 8.
        assert_eq!(
            inbox.expunged_since(6),
            Some(vec![UidRange::one(1), UidRange { first: 4, last: 5 }])
        );
        assert_eq!(inbox.expunged_since(7), Some(vec![UidRange::one(4)]));
        let archive = mailbox.mailboxes.get(&2).expect("archive");
        assert_eq!(archive.special_use, Some(SpecialUse::Archive));
        assert_eq!(inbox.special_use, None);
        assert_eq!(archive.uid_next, 5);
        assert_eq!(archive.highest_modseq, 2);
        let copy = archive.index.get(2).expect("copy of 3");
        assert_eq!(copy.save_date_secs(), Some(99));
        assert_eq!(copy.modseq, 1);
        assert!(copy.shared());
        assert_eq!(
            archive.index.extents(copy),
            inbox.index.extents(original),
            "a copy shares its content"
        );
        assert_eq!(
            (copy.commit_sequence, copy.commit_offset),
            (original.commit_sequence, original.commit_offset)
        );
        let moved = archive.index.get(3).expect("moved 1");
        assert_eq!(archive.keywords.names(moved.keyword_set), vec!["k1"]);
        assert_eq!(mailbox.usage_messages, 2 + 4);
    }

    /// A checkpoint written before format version 2 (no save dates, no expunge histories)
    /// still loads: save dates unknown, histories starting at its HIGHESTMODSEQ.
    #[test]
    fn version_one_state_decodes() {
        let state = sample_state();
        let mut body = Vec::new();
        let layout = Layout {
            version: 1,
            history: false,
        };
        encode_state_as(&state, layout, &mut body);
        let mut reader = Reader::new(&body);
        let decoded = decode_state_from(&mut reader, 1).expect("version 1 decodes");
        reader.finish("trailing").expect("all of it");
        let account = decoded.accounts.values().next().expect("account");
        let inbox = account.mailboxes.values().next().expect("inbox");
        assert_eq!(inbox.index.len(), 2);
        assert!(
            inbox
                .index
                .entries()
                .iter()
                .all(|entry| entry.save_date_secs().is_none())
        );
        assert_eq!(inbox.expunged_since(8), Some(Vec::new()));
        assert_eq!(inbox.expunged_since(7), None);
        assert!(decode_state_from(&mut Reader::new(&body), 2).is_err());
    }

    /// A checkpoint written before format version 3 (no special-use attributes) still loads:
    /// every mailbox without one, everything else as encoded.
    #[test]
    fn version_two_state_decodes_without_special_uses() {
        let mut state = sample_state();
        let layout = Layout {
            version: 2,
            history: true,
        };
        let mut body = Vec::new();
        encode_state_as(&state, layout, &mut body);
        let mut reader = Reader::new(&body);
        let decoded = decode_state_from(&mut reader, 2).expect("version 2 decodes");
        reader.finish("trailing").expect("all of it");
        let account = decoded.accounts.values().next().expect("account");
        assert!(account.mailboxes.values().all(|m| m.special_use.is_none()));
        for account in state.accounts.values_mut() {
            account
                .mailboxes
                .values_mut()
                .for_each(|mailbox| mailbox.special_use = None);
        }
        let (mut expected, mut actual) = (Vec::new(), Vec::new());
        encode_state(&state, &mut expected);
        encode_state(&decoded, &mut actual);
        assert_eq!(actual, expected);
    }

    /// Two mailboxes of one account with the same attribute, or an unknown code, are refused.
    #[test]
    fn special_uses_are_checked_when_decoded() {
        let mut state = sample_state();
        let account = state.accounts.values_mut().next().expect("account");
        for mailbox in account.mailboxes.values_mut() {
            mailbox.special_use = Some(SpecialUse::Sent);
        }
        let mut body = Vec::new();
        encode_state(&state, &mut body);
        assert_eq!(
            decode_state(&body).err(),
            Some(Malformed("special use held twice"))
        );
        // Where the first mailbox's code lies: the one octet that differs.
        let mut codes = Vec::new();
        for special_use in [None, Some(SpecialUse::Sent)] {
            let account = state.accounts.values_mut().next().expect("account");
            for (number, mailbox) in account.mailboxes.iter_mut() {
                mailbox.special_use = special_use.filter(|_| *number == 1);
            }
            let mut body = Vec::new();
            encode_state(&state, &mut body);
            codes.push(body);
        }
        let at = (0..codes[0].len())
            .find(|at| codes[0][*at] != codes[1][*at])
            .expect("differs");
        assert_eq!((codes[0][at], codes[1][at]), (0, SpecialUse::Sent.code()));
        assert!(decode_state(&codes[1]).is_ok());
        for code in [8, 0xff] {
            let mut damaged = codes[1].clone();
            damaged[at] = code;
            assert_eq!(decode_state(&damaged).err(), Some(Malformed("special use")));
        }
    }

    /// A body that passed its checksum but is wrong anyway (a bug, or a collision) must be
    /// refused, never panic or over-allocate.
    #[test]
    fn damaged_bodies_are_refused_without_panicking() {
        let mut body = Vec::new();
        encode_state(&sample_state(), &mut body);
        for cut in 0..body.len() {
            assert!(decode_state(&body[..cut]).is_err(), "cut at {cut}");
        }
        let mut rng = Rng::new(4);
        for _ in 0..20_000 {
            let mut damaged = body.clone();
            for _ in 0..=rng.below(3) {
                let at = rng.below(damaged.len() as u64) as usize;
                damaged[at] = rng.next_u64() as u8;
            }
            let _ = decode_state(&damaged);
        }
    }

    #[test]
    fn header_round_trips_and_rejects_damage() {
        let header = CheckpointHeader {
            format_version: CHECKPOINT_FORMAT_VERSION,
            shard: 2,
            sequence: 9,
            position: Location {
                sequence: 4,
                offset: 4096,
            },
            body_octets: 123,
            body_crc: 0xfeed,
            created_secs: 1,
        };
        let bytes = header.encode();
        assert_eq!(CheckpointHeader::decode(&bytes), Ok(header));
        for at in 0..bytes.len() {
            let mut damaged = bytes;
            damaged[at] ^= 0x10;
            assert!(CheckpointHeader::decode(&damaged).is_err(), "flip at {at}");
        }
    }
}
