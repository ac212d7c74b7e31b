//! Payload encoding of each record type. Field order is the on-disk format (docs/STORAGE.md).

use crate::codec::{Malformed, Reader, Writer};
use crate::ids::{AccountKey, Extent, MailboxKey, SystemFlags, UidRange};
use crate::record::{
    FlagChange, FlagOperation, MessageCommit, MessageCopy, Record, RecordType, Relocation, bounds,
};
use crate::special_use::SpecialUse;

pub(crate) fn encode(record: &Record<'_>, writer: &mut Writer<'_>) {
    match record {
        Record::ContentChunk {
            partition,
            ingest,
            data,
        } => {
            writer.u32(*partition);
            writer.u64(*ingest);
            writer.raw(data);
        }
        Record::MessageCommit(commit) | Record::MessageTombstone(commit) => {
            encode_commit(commit, writer)
        }
        Record::FlagChange(change) => {
            mailbox(writer, change.mailbox);
            writer.u64(change.modseq);
            writer.u8(change.operation as u8);
            writer.u8(change.flags.0);
            keywords(writer, &change.keywords);
            uid_ranges(writer, &change.uids);
            // Format version 2: present only for a conditional store.
            if let Some(since) = change.unchanged_since {
                writer.u64(since);
            }
        }
        Record::Expunge {
            mailbox: key,
            modseq,
            uids,
        } => {
            mailbox(writer, *key);
            writer.u64(*modseq);
            uid_ranges(writer, uids);
        }
        Record::MailboxCreate {
            mailbox: key,
            name,
            uid_validity,
            special_use,
        } => {
            mailbox(writer, *key);
            writer.text(name);
            writer.u32(*uid_validity);
            // Format version 3: present only when the mailbox is created with an attribute.
            if let Some(special_use) = special_use {
                writer.u8(special_use.code());
            }
        }
        Record::MailboxRename { mailbox: key, name } => {
            mailbox(writer, *key);
            writer.text(name);
        }
        Record::MailboxDelete { mailbox: key } => mailbox(writer, *key),
        Record::Subscription {
            account: key,
            name,
            subscribed,
        } => {
            account(writer, *key);
            writer.text(name);
            writer.u8(u8::from(*subscribed));
        }
        Record::Account {
            account: key,
            name,
            quota_octets_max,
            quota_messages_max,
        } => {
            account(writer, *key);
            writer.text(name);
            writer.u64(*quota_octets_max);
            writer.u64(*quota_messages_max);
        }
        Record::Relocation(relocations) => {
            writer.u32(relocations.len() as u32);
            for relocation in relocations {
                writer.u64(relocation.original);
                writer.u64(relocation.current);
            }
        }
        Record::MessageCopy(copy) => encode_copy(copy, writer),
        Record::MailboxSpecialUse {
            mailbox: key,
            special_use,
        } => {
            mailbox(writer, *key);
            writer.u8(special_use.map_or(0, SpecialUse::code));
        }
    }
}

fn encode_copy(copy: &MessageCopy, writer: &mut Writer<'_>) {
    assert_eq!(
        copy.source.account, copy.target.account,
        "copy across accounts"
    );
    mailbox(writer, copy.source);
    writer.u32(copy.target.mailbox);
    writer.u64(copy.modseq);
    writer.u32(copy.uid_first);
    writer.u32(copy.count);
    writer.i64(copy.save_date_secs);
    writer.u64(copy.moved.unwrap_or(0));
    uid_ranges(writer, &copy.uids);
}

fn encode_commit(commit: &MessageCommit, writer: &mut Writer<'_>) {
    mailbox(writer, commit.mailbox);
    writer.u32(commit.uid);
    writer.u64(commit.modseq);
    writer.i64(commit.internal_date_secs);
    writer.u64(commit.size_octets);
    writer.u8(commit.flags.0);
    keywords(writer, &commit.keywords);
    writer.u64(commit.ingest);
    writer.u32(commit.extents.len() as u32);
    for extent in &commit.extents {
        writer.u64(extent.sequence);
        writer.u64(extent.offset);
        writer.u32(extent.octets);
    }
    writer.u32(commit.content_crc);
    writer.bytes(&commit.parse);
    // Format version 2 on; a version 1 commit ends after its parse bytes.
    if let Some(save_date_secs) = commit.save_date_secs {
        writer.i64(save_date_secs);
        // Format version 4 on, and only when there is one.
        if !commit.envelope.is_empty() {
            writer.bytes(&commit.envelope);
        }
    }
}

fn account(writer: &mut Writer<'_>, key: AccountKey) {
    writer.u32(key.partition);
    writer.u32(key.account);
}

fn mailbox(writer: &mut Writer<'_>, key: MailboxKey) {
    account(writer, key.account);
    writer.u32(key.mailbox);
}

fn keywords(writer: &mut Writer<'_>, keywords: &[String]) {
    writer.u32(keywords.len() as u32);
    for keyword in keywords {
        writer.text(keyword);
    }
}

fn uid_ranges(writer: &mut Writer<'_>, ranges: &[UidRange]) {
    writer.u32(ranges.len() as u32);
    for range in ranges {
        writer.u32(range.first);
        writer.u32(range.last);
    }
}

pub(crate) fn decode<'a>(
    kind: RecordType,
    reader: &mut Reader<'a>,
) -> Result<Record<'a>, Malformed> {
    let record = match kind {
        RecordType::ContentChunk => Record::ContentChunk {
            partition: reader.u32("chunk partition")?,
            ingest: reader.u64("chunk ingest")?,
            data: reader.rest(),
        },
        RecordType::MessageCommit => Record::MessageCommit(decode_commit(reader, false)?),
        RecordType::MessageTombstone => Record::MessageTombstone(decode_commit(reader, true)?),
        RecordType::FlagChange => Record::FlagChange(FlagChange {
            mailbox: read_mailbox(reader)?,
            modseq: reader.u64("flag modseq")?,
            operation: read_operation(reader)?,
            flags: read_flags(reader)?,
            keywords: read_keywords(reader)?,
            uids: read_uid_ranges(reader)?,
            unchanged_since: optional_u64(reader, "unchanged since")?,
        }),
        RecordType::Expunge => Record::Expunge {
            mailbox: read_mailbox(reader)?,
            modseq: reader.u64("expunge modseq")?,
            uids: read_uid_ranges(reader)?,
        },
        RecordType::MailboxCreate => Record::MailboxCreate {
            mailbox: read_mailbox(reader)?,
            name: reader.text(bounds::NAME, "mailbox name")?,
            uid_validity: reader.u32("uid validity")?,
            // Format version 3 on; absent, the mailbox has no attribute. Present, it is one.
            special_use: match reader.remaining() {
                0 => None,
                _ => Some(read_special_use(reader)?.ok_or(Malformed("special use"))?),
            },
        },
        RecordType::MailboxRename => Record::MailboxRename {
            mailbox: read_mailbox(reader)?,
            name: reader.text(bounds::NAME, "mailbox name")?,
        },
        RecordType::MailboxDelete => Record::MailboxDelete {
            mailbox: read_mailbox(reader)?,
        },
        RecordType::Subscription => Record::Subscription {
            account: read_account(reader)?,
            name: reader.text(bounds::NAME, "subscription name")?,
            subscribed: match reader.u8("subscribed")? {
                0 => false,
                1 => true,
                _ => return Err(Malformed("subscribed")),
            },
        },
        RecordType::Account => Record::Account {
            account: read_account(reader)?,
            name: reader.text(bounds::NAME, "account name")?,
            quota_octets_max: reader.u64("quota octets")?,
            quota_messages_max: reader.u64("quota messages")?,
        },
        RecordType::Relocation => {
            let count = reader.count(bounds::RELOCATIONS, 16, "relocation count")?;
            let mut relocations = Vec::with_capacity(count);
            for _ in 0..count {
                relocations.push(Relocation {
                    original: reader.u64("original offset")?,
                    current: reader.u64("current offset")?,
                });
            }
            Record::Relocation(relocations)
        }
        RecordType::MessageCopy => Record::MessageCopy(decode_copy(reader)?),
        RecordType::MailboxSpecialUse => Record::MailboxSpecialUse {
            mailbox: read_mailbox(reader)?,
            special_use: read_special_use(reader)?,
        },
    };
    reader.finish("trailing bytes")?;
    Ok(record)
}

/// A commit, or with `tombstone` a tombstone: no extents (the size is the message's), no
/// parse results, envelope or content crc.
fn decode_commit(reader: &mut Reader<'_>, tombstone: bool) -> Result<MessageCommit, Malformed> {
    let mailbox = read_mailbox(reader)?;
    let uid = reader.u32("uid")?;
    let modseq = reader.u64("modseq")?;
    let internal_date_secs = reader.i64("internal date")?;
    let size_octets = reader.u64("size")?;
    let flags = read_flags(reader)?;
    let keywords = read_keywords(reader)?;
    let ingest = reader.u64("ingest")?;
    let extent_count = reader.count(bounds::EXTENTS, 20, "extent count")?;
    let mut extents = Vec::with_capacity(extent_count);
    for _ in 0..extent_count {
        extents.push(Extent {
            sequence: reader.u64("extent sequence")?,
            offset: reader.u64("extent offset")?,
            octets: reader.u32("extent octets")?,
        });
    }
    let content_crc = reader.u32("content crc")?;
    let parse = reader.bytes(bounds::PARSE, "parse")?.to_vec();
    // Format version 2 on; a version 1 commit ends after its parse bytes.
    let save_date_secs = match reader.remaining() {
        0 => None,
        _ => Some(reader.i64("save date")?),
    };
    // Format version 4 on; absent when empty.
    let envelope = match reader.remaining() {
        0 => Vec::new(),
        _ => reader.bytes(bounds::ENVELOPE, "envelope")?.to_vec(),
    };
    let extent_total: u64 = extents.iter().map(|extent| u64::from(extent.octets)).sum();
    // UIDNEXT after it must fit (a writer never allocates the last UID).
    let content_fits = match tombstone {
        false => extent_total == size_octets,
        true => extents.is_empty() && parse.is_empty() && envelope.is_empty() && content_crc == 0,
    };
    if uid == 0 || uid == u32::MAX || modseq == 0 || !content_fits {
        return Err(Malformed("commit fields inconsistent"));
    }
    Ok(MessageCommit {
        mailbox,
        uid,
        modseq,
        internal_date_secs,
        size_octets,
        flags,
        keywords,
        ingest,
        extents,
        content_crc,
        parse,
        save_date_secs,
        envelope,
    })
}

fn decode_copy(reader: &mut Reader<'_>) -> Result<MessageCopy, Malformed> {
    let source = read_mailbox(reader)?;
    let target = MailboxKey {
        account: source.account,
        mailbox: reader.u32("target mailbox")?,
    };
    let modseq = reader.u64("copy modseq")?;
    let uid_first = reader.u32("first target uid")?;
    let count = reader.u32("copy count")?;
    let save_date_secs = reader.i64("save date")?;
    let moved = match reader.u64("move modseq")? {
        0 => None,
        modseq => Some(modseq),
    };
    let uids = read_uid_ranges(reader)?;
    let ascending = uids.windows(2).all(|pair| pair[0].last < pair[1].first);
    // UIDNEXT after the copies must fit, as after a commit.
    let uid_next = u64::from(uid_first) + u64::from(count);
    // A MOVE within one mailbox expunges after it copies: a later MODSEQ.
    let moved_in_order = moved.is_none_or(|moved| source != target || moved > modseq);
    if uid_first == 0
        || count == 0
        || uid_next > u64::from(u32::MAX)
        || modseq == 0
        || !ascending
        || !moved_in_order
    {
        return Err(Malformed("copy fields inconsistent"));
    }
    Ok(MessageCopy {
        source,
        target,
        uids,
        count,
        uid_first,
        modseq,
        save_date_secs,
        moved,
    })
}

/// A field added at the end of a record by format version 2: absent in version 1 records.
fn optional_u64(reader: &mut Reader<'_>, what: &'static str) -> Result<Option<u64>, Malformed> {
    if reader.remaining() == 0 {
        return Ok(None);
    }
    reader.u64(what).map(Some)
}

fn read_account(reader: &mut Reader<'_>) -> Result<AccountKey, Malformed> {
    Ok(AccountKey {
        partition: reader.u32("partition")?,
        account: reader.u32("account")?,
    })
}

fn read_mailbox(reader: &mut Reader<'_>) -> Result<MailboxKey, Malformed> {
    Ok(MailboxKey {
        account: read_account(reader)?,
        mailbox: reader.u32("mailbox")?,
    })
}

fn read_flags(reader: &mut Reader<'_>) -> Result<SystemFlags, Malformed> {
    let flags = SystemFlags(reader.u8("flags")?);
    if !SystemFlags::ALL.contains(flags) {
        return Err(Malformed("unknown flag bits"));
    }
    Ok(flags)
}

/// A special-use code: 0 for none, else an attribute; anything else is refused.
fn read_special_use(reader: &mut Reader<'_>) -> Result<Option<SpecialUse>, Malformed> {
    match reader.u8("special use")? {
        0 => Ok(None),
        code => SpecialUse::from_code(code)
            .map(Some)
            .ok_or(Malformed("special use")),
    }
}

fn read_operation(reader: &mut Reader<'_>) -> Result<FlagOperation, Malformed> {
    match reader.u8("flag operation")? {
        0 => Ok(FlagOperation::Replace),
        1 => Ok(FlagOperation::Add),
        2 => Ok(FlagOperation::Remove),
        _ => Err(Malformed("flag operation")),
    }
}

fn read_keywords(reader: &mut Reader<'_>) -> Result<Vec<String>, Malformed> {
    let count = reader.count(bounds::KEYWORDS, 4, "keyword count")?;
    (0..count)
        .map(|_| reader.text(bounds::KEYWORD, "keyword"))
        .collect()
}

fn read_uid_ranges(reader: &mut Reader<'_>) -> Result<Vec<UidRange>, Malformed> {
    let count = reader.count(bounds::UID_RANGES, 8, "uid range count")?;
    let mut ranges = Vec::with_capacity(count);
    for _ in 0..count {
        let range = UidRange {
            first: reader.u32("uid first")?,
            last: reader.u32("uid last")?,
        };
        if range.first == 0 || range.first > range.last {
            return Err(Malformed("uid range"));
        }
        ranges.push(range);
    }
    Ok(ranges)
}
