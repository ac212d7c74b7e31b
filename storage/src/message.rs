//! Message ingest as a stream of chunks, and byte-range reads that follow a message's extents.
//!
//! A writer holds at most one chunk (`CHUNK_OCTETS_MAX`) of content: each full chunk goes to the
//! log as a content-chunk record at once (concurrent writers interleave, so a message's content
//! is a list of extents). `commit` appends the metadata record after the chunks; its `Durable`
//! covers them, since they are earlier in the same log.

use crate::disk::Disk;
use crate::disk::SegmentFile;
use crate::error::StoreError;
use crate::ids::{Extent, MailboxKey, SystemFlags, Uid};
use crate::index::PackedExtent;
use crate::limits::{
    CHUNK_OCTETS_MAX, MESSAGE_OCTETS_MAX, PARSE_OCTETS_MAX, RECORD_PAYLOAD_OCTETS_MAX,
};
use crate::log::Durable;
use crate::mailbox::next_modseq;
use crate::record::{self, FrameContext, MessageCommit, RECORD_HEADER_OCTETS, Record};
use crate::store::{Store, check_keywords};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

/// The first read of a commit record: enough for nearly all of them.
const COMMIT_READ_OCTETS: usize = 4096;

/// Octets of a content-chunk payload before its data (partition u32, ingest u64).
pub const CHUNK_DATA_OFFSET: u64 = RECORD_HEADER_OCTETS as u64 + 12;

/// What the protocol knows about a message when it commits it.
#[derive(Debug, Clone, Default)]
pub struct MessageMeta {
    pub internal_date_secs: i64,
    pub flags: SystemFlags,
    pub keywords: Vec<String>,
    /// Parse results (header length, MIME tree, ENVELOPE), opaque here.
    pub parse: Vec<u8>,
    /// The delivery envelope (RFC 3461 DSN parameters), opaque here; empty for none.
    pub envelope: Vec<u8>,
}

/// The segments a message writer has put content in, pinned against compaction until the
/// writer commits or is dropped.
struct Pins {
    counts: Rc<RefCell<BTreeMap<u64, usize>>>,
    held: Vec<u64>,
}

impl Pins {
    fn pin(&mut self, sequence: u64) {
        if !self.held.contains(&sequence) {
            self.held.push(sequence);
            *self.counts.borrow_mut().entry(sequence).or_insert(0) += 1;
        }
    }
}

impl Drop for Pins {
    fn drop(&mut self) {
        let mut counts = self.counts.borrow_mut();
        for sequence in &self.held {
            if let Some(count) = counts.get_mut(sequence) {
                *count -= 1;
                if *count == 0 {
                    counts.remove(sequence);
                }
            }
        }
    }
}

pub struct MessageWriter<D: Disk + 'static> {
    store: Rc<Store<D>>,
    pins: Pins,
    partition: u32,
    ingest: u64,
    buffer: Vec<u8>,
    extents: Vec<Extent>,
    size_octets: u64,
    crc: crc32fast::Hasher,
}

impl<D: Disk + 'static> Store<D> {
    /// Starts a message for an account in `partition`; content may then be streamed.
    pub fn begin_message(self: &Rc<Self>, partition: u32) -> MessageWriter<D> {
        let mut state = self.state.borrow_mut();
        let ingest = state.ingest_next;
        state.ingest_next += 1;
        MessageWriter {
            pins: Pins {
                counts: self.pins.clone(),
                held: Vec::new(),
            },
            store: self.clone(),
            partition,
            ingest,
            buffer: Vec::new(),
            extents: Vec::new(),
            size_octets: 0,
            crc: crc32fast::Hasher::new(),
        }
    }
}

impl<D: Disk + 'static> MessageWriter<D> {
    /// Appends content; waits when the log's batch is full (backpressure).
    pub async fn write(&mut self, mut bytes: &[u8]) -> Result<(), StoreError> {
        if self.size_octets + bytes.len() as u64 > MESSAGE_OCTETS_MAX {
            return Err(StoreError::MessageTooLarge {
                octets_max: MESSAGE_OCTETS_MAX,
            });
        }
        self.size_octets += bytes.len() as u64;
        self.crc.update(bytes);
        while !bytes.is_empty() {
            let room = CHUNK_OCTETS_MAX - self.buffer.len();
            let (now, later) = bytes.split_at(room.min(bytes.len()));
            self.buffer.extend_from_slice(now);
            bytes = later;
            if self.buffer.len() == CHUNK_OCTETS_MAX {
                self.emit_chunk().await?;
            }
        }
        Ok(())
    }

    async fn emit_chunk(&mut self) -> Result<(), StoreError> {
        let log = &self.store.log;
        log.ready().await?;
        let record = Record::ContentChunk {
            partition: self.partition,
            ingest: self.ingest,
            data: &self.buffer,
        };
        let (location, _) = log.append(&record)?;
        self.pins.pin(location.sequence);
        self.extents.push(Extent {
            sequence: location.sequence,
            offset: location.offset + CHUNK_DATA_OFFSET,
            octets: self.buffer.len() as u32,
        });
        self.buffer.clear();
        Ok(())
    }

    /// Commits the message to `mailbox`: returns its UID once it is durable and visible.
    /// Its RFC 8514 save date is its internal date (right for delivery, where the internal
    /// date is the time of arrival); IMAP APPEND uses `commit_saved`.
    pub async fn commit(
        self,
        mailbox: MailboxKey,
        meta: MessageMeta,
    ) -> Result<(Uid, Durable), StoreError> {
        let save_date_secs = meta.internal_date_secs;
        self.commit_saved(mailbox, meta, save_date_secs).await
    }

    /// Commits the message to `mailbox` with the RFC 8514 save date `save_date_secs` (the
    /// time of the APPEND; the caller owns the clock): returns its UID once it is durable
    /// and visible.
    pub async fn commit_saved(
        mut self,
        mailbox: MailboxKey,
        meta: MessageMeta,
        save_date_secs: i64,
    ) -> Result<(Uid, Durable), StoreError> {
        check_keywords(&meta.keywords)?;
        if meta.parse.len() > PARSE_OCTETS_MAX {
            return Err(StoreError::LimitExceeded("parse results"));
        }
        if meta.envelope.len() > crate::limits::ENVELOPE_OCTETS_MAX {
            return Err(StoreError::LimitExceeded("delivery envelope"));
        }
        if mailbox.account.partition != self.partition {
            return Err(StoreError::NoSuchMailbox);
        }
        if !self.buffer.is_empty() {
            self.emit_chunk().await?;
        }
        let MessageWriter {
            store,
            ingest,
            extents,
            size_octets,
            crc,
            pins,
            ..
        } = self;
        // Unpinned when the commit is durable and applied (or failed), at the end of this call.
        let _pins = pins;
        let content_crc = crc.finalize();
        store
            .write(|state| {
                let account = state
                    .accounts
                    .get_mut(&mailbox.account)
                    .ok_or(StoreError::NoSuchAccount)?;
                if account.over_quota(size_octets, 1) {
                    return Err(StoreError::OverQuota);
                }
                let target = account
                    .mailboxes
                    .get_mut(&mailbox.mailbox)
                    .ok_or(StoreError::NoSuchMailbox)?;
                if !target.keywords.has_room_for(&meta.keywords) {
                    return Err(StoreError::LimitExceeded("keywords per mailbox"));
                }
                let uid = target.uid_next_allocated;
                target.uid_next_allocated = uid
                    .checked_add(1)
                    .ok_or(StoreError::LimitExceeded("UIDs"))?;
                target.modseq_allocated = next_modseq(target.modseq_allocated);
                let commit = MessageCommit {
                    mailbox,
                    uid,
                    modseq: target.modseq_allocated,
                    internal_date_secs: meta.internal_date_secs,
                    size_octets,
                    flags: meta.flags,
                    keywords: meta.keywords,
                    ingest,
                    extents,
                    content_crc,
                    parse: meta.parse,
                    save_date_secs: Some(save_date_secs),
                    envelope: meta.envelope,
                };
                state.reserve_usage(mailbox.account, size_octets, 1);
                Ok((Record::MessageCommit(commit), uid))
            })
            .await
    }
}

impl<D: Disk + 'static> Store<D> {
    /// Reads content bytes `offset..` of a message into `buffer`; returns the octets read
    /// (0 at the end). Memory stays bounded by the caller's buffer.
    pub async fn read(
        &self,
        mailbox: MailboxKey,
        uid: Uid,
        offset: u64,
        buffer: &mut [u8],
    ) -> Result<usize, StoreError> {
        self.content(mailbox, uid)?.read(offset, buffer).await
    }

    /// The message's content as it is now: its extents with their segments' file handles,
    /// taken together. Reads through it finish even when the message is expunged meanwhile
    /// (a session goes on serving a message until it has reported the expunge) or compaction
    /// moves its chunks (the handles are the old files').
    pub fn content(
        &self,
        mailbox: MailboxKey,
        uid: Uid,
    ) -> Result<ContentReader<D::File>, StoreError> {
        let state = self.state.borrow();
        let target = state.mailbox(mailbox).ok_or(StoreError::NoSuchMailbox)?;
        let entry = target.index.get(uid).ok_or(StoreError::NoSuchMessage)?;
        if entry.unreadable() {
            return Err(StoreError::Unreadable);
        }
        let extents = target
            .index
            .extents(entry)
            .into_iter()
            .map(|extent| {
                let (sequence, offset) = (u64::from(extent.sequence), u64::from(extent.offset));
                (self.log.segment_at(sequence, offset), extent)
            })
            .collect();
        Ok(ContentReader { extents })
    }
}

/// A segment's file handle and salt (`Log::segment`), `None` when the segment is gone.
type SegmentHandle<F> = Option<(Rc<F>, u32)>;

/// A message's content, pinned (`Store::content`).
pub struct ContentReader<F> {
    extents: Vec<(SegmentHandle<F>, PackedExtent)>,
}

impl<F: SegmentFile> ContentReader<F> {
    /// Reads content bytes `offset..` into `buffer`; returns the octets read (0 at the end).
    pub async fn read(&self, offset: u64, buffer: &mut [u8]) -> Result<usize, StoreError> {
        let mut skip = offset;
        let mut filled = 0;
        for (segment, extent) in &self.extents {
            if filled == buffer.len() {
                break;
            }
            let octets = u64::from(extent.octets);
            if skip >= octets {
                skip -= octets;
                continue;
            }
            let Some((file, _)) = segment else {
                return Err(StoreError::Damaged(format!(
                    "no segment {}",
                    extent.sequence
                )));
            };
            let wanted = ((octets - skip) as usize).min(buffer.len() - filled);
            let position = u64::from(extent.offset) + skip;
            let bytes = file
                .read_at(position, wanted)
                .await
                .map_err(StoreError::Read)?;
            if bytes.len() != wanted {
                return Err(StoreError::Damaged(format!(
                    "short read in segment {}",
                    extent.sequence
                )));
            }
            buffer[filled..filled + wanted].copy_from_slice(&bytes);
            filled += wanted;
            skip = 0;
        }
        Ok(filled)
    }
}

impl<D: Disk + 'static> Store<D> {
    /// Commit records held by the read cache: (records, octets, records from segment
    /// `sequence`). For diagnostics and tests.
    pub fn commit_cache_usage(&self, sequence: u64) -> (usize, usize, usize) {
        let cache = self.commit_cache.borrow();
        (
            cache.len(),
            cache.used_octets(),
            cache.len_in_segment(sequence),
        )
    }

    /// The message's commit record, verified: parse results, keywords as written, extents.
    /// A copy (COPY, MOVE) shares the commit record of the message first committed: its
    /// mailbox, UID, flags, keywords, MODSEQ and save date are that message's as written
    /// (the index has the copy's own); parse results, size, internal date and content are
    /// the same. Records read are kept in a bounded cache (`LogConfig::commit_cache_octets`).
    pub async fn read_commit(
        &self,
        mailbox: MailboxKey,
        uid: Uid,
    ) -> Result<Rc<MessageCommit>, StoreError> {
        let (sequence, offset, size_octets, internal_date_secs) = {
            let state = self.state.borrow();
            let target = state.mailbox(mailbox).ok_or(StoreError::NoSuchMailbox)?;
            let entry = target.index.get(uid).ok_or(StoreError::NoSuchMessage)?;
            (
                u64::from(entry.commit_sequence),
                u64::from(entry.commit_offset),
                u64::from(entry.size_octets),
                entry.internal_date_secs,
            )
        };
        // A copy's entry points at its original's record: either matches.
        let this_message = |commit: &MessageCommit| {
            (commit.mailbox, commit.uid) == (mailbox, uid)
                || (commit.size_octets, commit.internal_date_secs)
                    == (size_octets, internal_date_secs)
        };
        let damaged = |what: &str| {
            StoreError::Damaged(format!(
                "commit record at segment {sequence} offset {offset}: {what}"
            ))
        };
        let cached = self.commit_cache.borrow_mut().get(sequence, offset);
        if let Some(commit) = cached {
            return if this_message(&commit) {
                Ok(commit)
            } else {
                Err(damaged("not this message's commit"))
            };
        }
        let (file, salt) = self
            .log
            .segment_at(sequence, offset)
            .ok_or_else(|| damaged("no such segment"))?;
        // One read covers most commit records (header, extents and a MIME analysis of a few
        // hundred octets); a larger one takes a second read for the rest.
        let first = file
            .read_at(offset, COMMIT_READ_OCTETS)
            .await
            .map_err(StoreError::Read)?;
        let length = first
            .get(4..8)
            .and_then(|field| field.try_into().ok())
            .map(u32::from_le_bytes)
            .ok_or_else(|| damaged("short header"))?;
        let framed = RECORD_HEADER_OCTETS + (length as usize).min(RECORD_PAYLOAD_OCTETS_MAX);
        let bytes = if framed <= first.len() {
            first
        } else {
            file.read_at(offset, framed)
                .await
                .map_err(StoreError::Read)?
        };
        let context = FrameContext { salt, offset };
        match record::decode(&bytes, context) {
            Ok((Record::MessageCommit(commit), _)) if this_message(&commit) => {
                let commit = Rc::new(commit);
                // Compaction may have moved the record while it was read; only a location
                // still current names it.
                if self
                    .log
                    .segment_at(sequence, offset)
                    .is_some_and(|(_, now)| now == salt)
                {
                    self.commit_cache
                        .borrow_mut()
                        .insert(sequence, offset, Rc::clone(&commit));
                }
                Ok(commit)
            }
            Ok(_) => Err(damaged("not this message's commit")),
            Err(error) => Err(damaged(&error.to_string())),
        }
    }
}
