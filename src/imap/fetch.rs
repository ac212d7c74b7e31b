//! FETCH (RFC 3501 §6.4.5, RFC 9051 §6.4.5): flags, dates and sizes from the in-memory index;
//! ENVELOPE and BODYSTRUCTURE from the analysis stored with each message at ingest; body
//! sections as exact byte ranges streamed from the log, never re-parsing the message.

use super::command::{FetchItem, Partial, Section, SectionText, SequenceSet};
use super::driver::{Driver, OUTPUT_FLUSH_OCTETS, SessionState};
use super::response::write_flags;
use super::select::uid_ranges;
use super::selected::Sync;
use crate::mime::transfer::{Decoder, Sink};
use crate::mime::{Analysis, Analyzer, PartSpan, filter_header_fields};
use postern_storage::files::FileDisk;
use postern_storage::{
    ContentReader, Disk, FlagOperation, MailboxKey, StoreError, SystemFlags, Uid,
};
use std::io;
use std::ops::Range;
use std::rc::Rc;

/// Message content read from the log per step while streaming a literal.
pub const READ_CHUNK_OCTETS: usize = 64 * 1024;
/// A header block read whole for HEADER.FIELDS filtering is cut at this size.
pub const HEADER_READ_OCTETS_MAX: u64 = 1024 * 1024;

/// What one message's FETCH needs from the index, copied out so no borrow is held across I/O.
struct Indexed {
    save_date_secs: Option<i64>,
    flags: SystemFlags,
    keywords: Vec<String>,
    size_octets: u64,
    internal_date_secs: i64,
    modseq: u64,
    recent: bool,
}

/// A body item's data: a byte range of the message, or bytes made here (HEADER.FIELDS).
enum Data {
    Range(Range<u64>),
    Bytes(Vec<u8>),
    Nil,
}

/// Why a message's FETCH could not be completed.
enum Failure {
    /// Content unreadable (damage in the log): reported in the tagged NO.
    Unreadable,
    /// BINARY of a part whose transfer encoding is unknown (RFC 3516 §4.1).
    UnknownCte,
    /// The connection failed.
    Io,
}

impl From<io::Error> for Failure {
    fn from(_: io::Error) -> Self {
        Failure::Io
    }
}

fn sets_seen(item: &FetchItem) -> bool {
    match item {
        FetchItem::Rfc822 | FetchItem::Rfc822Text => true,
        FetchItem::BodySection { peek, .. } | FetchItem::Binary { peek, .. } => !peek,
        _ => false,
    }
}

fn needs_analysis(item: &FetchItem) -> bool {
    matches!(
        item,
        FetchItem::Envelope
            | FetchItem::Body
            | FetchItem::BodyStructure
            | FetchItem::Rfc822Header
            | FetchItem::Rfc822Text
            | FetchItem::BodySection { .. }
            | FetchItem::Binary { .. }
            | FetchItem::BinarySize { .. }
    )
}

/// Items that read the message's content (sections, BINARY, RFC822 and RFC822.TEXT).
fn reads_content(item: &FetchItem) -> bool {
    matches!(
        item,
        FetchItem::Rfc822
            | FetchItem::Rfc822Header
            | FetchItem::Rfc822Text
            | FetchItem::BodySection { .. }
            | FetchItem::Binary { .. }
            | FetchItem::BinarySize { .. }
    )
}

/// A message's content pinned for reading.
pub(super) type Content = ContentReader<<FileDisk as Disk>::File>;

impl Driver {
    pub(super) async fn fetch(
        &mut self,
        tag: &str,
        by_uid: bool,
        set: &SequenceSet,
        items: &[FetchItem],
        changed_since: Option<u64>,
        vanished: bool,
    ) {
        let SessionState::Selected(account, selected) = &mut self.state else {
            return;
        };
        if vanished && (!by_uid || !account.enabled.qresync || changed_since.is_none()) {
            // RFC 7162 §3.2.6: UID FETCH only, with CHANGEDSINCE, after ENABLE QRESYNC.
            return self.bad_in_state(tag, "VANISHED needs UID FETCH, CHANGEDSINCE and QRESYNC");
        }
        let (key, read_only) = (selected.key, selected.read_only);
        // RFC 7162 §3.1: CHANGEDSINCE or the MODSEQ item enables CONDSTORE.
        if changed_since.is_some() || items.iter().any(|item| matches!(item, FetchItem::ModSeq)) {
            self.enable_condstore();
        }
        let enabled = self.enabled();
        let mut messages = match self.resolve(set, by_uid) {
            Ok(messages) => messages,
            Err(reason) => return self.bad_in_state(tag, reason),
        };
        let store = std::rc::Rc::clone(self.shard.state.mail.store());
        if let Some(since) = changed_since {
            if vanished {
                self.fetch_vanished(set, since);
            }
            let state = store.state();
            if let Some(mailbox) = state.mailbox(key) {
                messages
                    .retain(|&(_, uid)| mailbox.index.get(uid).is_some_and(|e| e.modseq > since));
            }
        }
        // RFC 3501 §6.4.5: BODY[...] sets \Seen; done durably before the data goes out, and
        // the FLAGS of those messages are included in their responses.
        let mut seen_now: Vec<Uid> = Vec::new();
        let mut seen_write = None;
        if !read_only && items.iter().any(sets_seen) {
            {
                let state = store.state();
                if let Some(mailbox) = state.mailbox(key) {
                    seen_now = messages
                        .iter()
                        .filter_map(|&(_, uid)| mailbox.index.get(uid))
                        .filter(|e| !e.flags.contains(SystemFlags::SEEN))
                        .map(|e| e.uid)
                        .collect();
                }
            }
            if !seen_now.is_empty() {
                let ranges = uid_ranges(&seen_now);
                let before = store.status(key).map_or(0, |s| s.highest_modseq);
                match store
                    .store_flags(key, &ranges, FlagOperation::Add, SystemFlags::SEEN, &[])
                    .await
                {
                    Ok((modseq, _durable)) => seen_write = Some((before, modseq)),
                    Err(error) => return self.store_failed(tag, &error),
                }
            }
        }
        let mut unreadable = false;
        let mut unknown_cte = false;
        for &(sequence, uid) in &messages {
            let Some(indexed) = self.indexed(key, uid) else {
                // Expunged by another session and not yet reported (RFC 2180 §4.1.1).
                continue;
            };
            let seen_set = seen_now.binary_search(&uid).is_ok();
            // RFC 7162 §3.2.4: with CONDSTORE, a FETCH that set \Seen carries the UID.
            let with_uid = by_uid || (seen_set && enabled.condstore);
            let add_flags = seen_set && !items.iter().any(|i| matches!(i, FetchItem::Flags));
            // Before any await: the content stays readable for this FETCH whatever other
            // sessions do meanwhile (RFC 2180 §4.1.1: the message is served until the expunge
            // is reported to this session).
            self.pinned = if items.iter().any(reads_content) {
                let store = self.shard.state.mail.store();
                store
                    .content(key, uid)
                    .ok()
                    .map(|content| (key, uid, Rc::new(content)))
            } else {
                None
            };
            let fetched = self
                .fetch_one(
                    key,
                    sequence,
                    uid,
                    with_uid,
                    items,
                    &indexed,
                    add_flags,
                    enabled.condstore,
                )
                .await;
            self.pinned = None;
            match fetched {
                Ok(()) => {}
                Err(Failure::Unreadable) => unreadable = true,
                Err(Failure::UnknownCte) => unknown_cte = true,
                Err(Failure::Io) => return,
            }
            if self.out.len() >= OUTPUT_FLUSH_OCTETS && self.flush().await.is_err() {
                return;
            }
        }
        if let (Some((before, modseq)), SessionState::Selected(_, selected)) =
            (seen_write, &mut self.state)
        {
            // Our \Seen changes were reported in the responses above.
            selected.reported_own_write(before, modseq);
        }
        self.sync(Sync::NoExpunge);
        if unknown_cte {
            self.no(
                tag,
                Some("UNKNOWN-CTE"),
                "Unknown content transfer encoding",
            );
        } else if unreadable {
            self.no(tag, Some("UNAVAILABLE"), "Some messages could not be read");
        } else {
            self.ok(tag, "FETCH completed");
        }
    }

    fn indexed(&self, key: MailboxKey, uid: Uid) -> Option<Indexed> {
        let SessionState::Selected(account, selected) = &self.state else {
            return None;
        };
        let store = self.shard.state.mail.store();
        let state = store.state();
        let mailbox = state.mailbox(key)?;
        let entry = mailbox.index.get(uid)?;
        Some(Indexed {
            save_date_secs: entry.save_date_secs(),
            flags: entry.flags,
            keywords: mailbox
                .keywords
                .names(entry.keyword_set)
                .into_iter()
                .map(str::to_string)
                .collect(),
            size_octets: u64::from(entry.size_octets),
            internal_date_secs: entry.internal_date_secs,
            modseq: entry.modseq,
            // RFC 9051 dropped \Recent.
            recent: selected.is_recent(uid) && !account.enabled.imap4rev2,
        })
    }

    #[allow(clippy::too_many_arguments)]
    async fn fetch_one(
        &mut self,
        key: MailboxKey,
        sequence: u32,
        uid: Uid,
        by_uid: bool,
        items: &[FetchItem],
        indexed: &Indexed,
        add_flags: bool,
        condstore: bool,
    ) -> Result<(), Failure> {
        let analysis = if items.iter().any(needs_analysis) {
            match self.analysis(key, uid).await {
                Ok(analysis) => Some(analysis),
                Err(_) => return Err(Failure::Unreadable),
            }
        } else {
            None
        };
        if let Some(analysis) = &analysis {
            // RFC 3516 §4.1: BINARY of an unknown encoding is a NO, before any output.
            let unknown = items.iter().any(|item| match item {
                FetchItem::Binary { part, .. } | FetchItem::BinarySize { part } => analysis
                    .section(part)
                    .is_some_and(|span| Decoder::new(span.encoding).is_none()),
                _ => false,
            });
            if unknown {
                return Err(Failure::UnknownCte);
            }
        }
        self.out
            .extend_from_slice(format!("* {sequence} FETCH (").as_bytes());
        let mut first = true;
        let mut separate = |out: &mut Vec<u8>| {
            if !first {
                out.push(b' ');
            }
            first = false;
        };
        // RFC 3501 §6.4.8: UID FETCH responses always carry the UID.
        if by_uid && !items.iter().any(|i| matches!(i, FetchItem::Uid)) {
            separate(&mut self.out);
            self.out.extend_from_slice(format!("UID {uid}").as_bytes());
        }
        if add_flags {
            separate(&mut self.out);
            self.write_flags_item(indexed);
        }
        let mut modseq_written = false;
        for item in items {
            separate(&mut self.out);
            match item {
                FetchItem::Uid => self.out.extend_from_slice(format!("UID {uid}").as_bytes()),
                FetchItem::Flags => self.write_flags_item(indexed),
                FetchItem::InternalDate => self.out.extend_from_slice(
                    format!(
                        "INTERNALDATE \"{}\"",
                        crate::date::imap_date_time(indexed.internal_date_secs)
                    )
                    .as_bytes(),
                ),
                FetchItem::Rfc822Size => self
                    .out
                    .extend_from_slice(format!("RFC822.SIZE {}", indexed.size_octets).as_bytes()),
                FetchItem::SaveDate => match indexed.save_date_secs {
                    // RFC 8514 §4: NIL when the save date is not known.
                    None => self.out.extend_from_slice(b"SAVEDATE NIL"),
                    Some(secs) => self.out.extend_from_slice(
                        format!("SAVEDATE \"{}\"", crate::date::imap_date_time(secs)).as_bytes(),
                    ),
                },
                FetchItem::EmailId => {
                    let id = self.email_id(key, uid).await?;
                    self.out
                        .extend_from_slice(format!("EMAILID ({id})").as_bytes());
                }
                // RFC 8474 §5.2: NIL from a server that does not compute threads.
                FetchItem::ThreadId => self.out.extend_from_slice(b"THREADID NIL"),
                FetchItem::ModSeq => {
                    modseq_written = true;
                    self.out
                        .extend_from_slice(format!("MODSEQ ({})", indexed.modseq).as_bytes());
                }
                FetchItem::Envelope => {
                    self.out.extend_from_slice(b"ENVELOPE ");
                    if let Some(analysis) = &analysis {
                        analysis.write_envelope(&mut self.out);
                    }
                }
                FetchItem::Body => {
                    self.out.extend_from_slice(b"BODY ");
                    if let Some(analysis) = &analysis {
                        analysis.write_body_structure(&mut self.out, false);
                    }
                }
                FetchItem::BodyStructure => {
                    self.out.extend_from_slice(b"BODYSTRUCTURE ");
                    if let Some(analysis) = &analysis {
                        analysis.write_body_structure(&mut self.out, true);
                    }
                }
                FetchItem::Rfc822 => {
                    self.out.extend_from_slice(b"RFC822 ");
                    let data = Data::Range(0..indexed.size_octets);
                    self.write_data(key, uid, data, None).await?;
                }
                FetchItem::Rfc822Header => {
                    self.out.extend_from_slice(b"RFC822.HEADER ");
                    let header = analysis.as_ref().map_or(0, Analysis::header_octets);
                    self.write_data(key, uid, Data::Range(0..header), None)
                        .await?;
                }
                FetchItem::Rfc822Text => {
                    self.out.extend_from_slice(b"RFC822.TEXT ");
                    let header = analysis.as_ref().map_or(0, Analysis::header_octets);
                    let data = Data::Range(header.min(indexed.size_octets)..indexed.size_octets);
                    self.write_data(key, uid, data, None).await?;
                }
                FetchItem::BodySection {
                    section, partial, ..
                } => {
                    self.out.extend_from_slice(b"BODY[");
                    write_section(&mut self.out, section);
                    self.out.push(b']');
                    if let Some(partial) = partial {
                        self.out
                            .extend_from_slice(format!("<{}>", partial.offset).as_bytes());
                    }
                    self.out.push(b' ');
                    let data = match &analysis {
                        Some(analysis) => {
                            self.section_data(key, uid, analysis, section, indexed.size_octets)
                                .await?
                        }
                        None => Data::Nil,
                    };
                    self.write_data(key, uid, data, partial.as_ref()).await?;
                }
                FetchItem::Binary { part, partial, .. } => {
                    self.out.extend_from_slice(b"BINARY[");
                    write_part(&mut self.out, part);
                    self.out.push(b']');
                    if let Some(partial) = partial {
                        self.out
                            .extend_from_slice(format!("<{}>", partial.offset).as_bytes());
                    }
                    self.out.push(b' ');
                    let span = analysis.as_ref().and_then(|a| a.section(part));
                    match span {
                        None => self.out.extend_from_slice(b"NIL"),
                        Some(span) => self.write_binary(key, uid, &span, partial.as_ref()).await?,
                    }
                }
                FetchItem::BinarySize { part } => {
                    self.out.extend_from_slice(b"BINARY.SIZE[");
                    write_part(&mut self.out, part);
                    self.out.extend_from_slice(b"] ");
                    let span = analysis.as_ref().and_then(|a| a.section(part));
                    match span {
                        None => self.out.extend_from_slice(b"NIL"),
                        Some(span) => {
                            let size = match span.decoded_octets {
                                Some(size) => size,
                                None => self.decoded_size(key, uid, &span).await?.0,
                            };
                            self.out.extend_from_slice(size.to_string().as_bytes());
                        }
                    }
                }
            }
        }
        // RFC 7162 §3.1.4.1: with CONDSTORE enabled every FETCH response carries MODSEQ.
        if condstore && !modseq_written {
            separate(&mut self.out);
            self.out
                .extend_from_slice(format!("MODSEQ ({})", indexed.modseq).as_bytes());
        }
        self.out.extend_from_slice(b")\r\n");
        Ok(())
    }

    fn write_flags_item(&mut self, indexed: &Indexed) {
        self.out.extend_from_slice(b"FLAGS ");
        let keywords: Vec<&str> = indexed.keywords.iter().map(String::as_str).collect();
        write_flags(&mut self.out, indexed.flags, &keywords, indexed.recent);
    }

    /// RFC 8474 EMAILID: the same for every copy of a message, for its whole life. Copies
    /// share the original's commit record, whose ingest number is unique in the shard's log
    /// and never changes (compaction moves records, not their contents).
    async fn email_id(&self, key: MailboxKey, uid: Uid) -> Result<String, Failure> {
        let store = self.shard.state.mail.store();
        let commit = store
            .read_commit(key, uid)
            .await
            .map_err(|_| Failure::Unreadable)?;
        Ok(email_id(key, commit.ingest))
    }

    /// The stored analysis of a message; messages stored without one are analysed now.
    async fn analysis(&self, key: MailboxKey, uid: Uid) -> Result<Analysis, StoreError> {
        let store = self.shard.state.mail.store();
        let commit = store.read_commit(key, uid).await?;
        if !commit.parse.is_empty()
            && let Ok(analysis) = Analysis::decode(&commit.parse)
        {
            return Ok(analysis);
        }
        self.analyze_content(key, uid).await
    }

    /// Analyses a message stored without an analysis (before MIME analysis at ingest).
    pub(super) async fn analyze_content(
        &self,
        key: MailboxKey,
        uid: Uid,
    ) -> Result<Analysis, StoreError> {
        let content = self.content(key, uid)?;
        let mut analyzer = Analyzer::new();
        let mut buffer = vec![0u8; READ_CHUNK_OCTETS];
        let mut offset = 0u64;
        loop {
            let read = content.read(offset, &mut buffer).await?;
            if read == 0 {
                break;
            }
            analyzer.feed(&buffer[..read]);
            offset += read as u64;
        }
        Ok(analyzer.finish())
    }

    /// RFC 3501 §6.4.5 section → the data it names.
    async fn section_data(
        &self,
        key: MailboxKey,
        uid: Uid,
        analysis: &Analysis,
        section: &Section,
        size: u64,
    ) -> Result<Data, Failure> {
        let Some(span) = analysis.section(&section.part) else {
            return Ok(Data::Nil);
        };
        let top = section.part.is_empty();
        // The header and text of the message the section is about: the whole message at the
        // top, the encapsulated one inside a message/rfc822 part.
        let message = if top {
            Some((
                0..analysis.header_octets(),
                analysis.header_octets().min(size)..size,
            ))
        } else {
            span.message.clone()
        };
        let data = match &section.text {
            None => Data::Range(span.body.clone()),
            Some(SectionText::Mime) if !top => Data::Range(span.header.clone()),
            Some(SectionText::Mime) => Data::Nil,
            Some(SectionText::Header) => {
                message.map_or(Data::Bytes(Vec::new()), |(h, _)| Data::Range(h))
            }
            Some(SectionText::Text) => {
                message.map_or(Data::Bytes(Vec::new()), |(_, t)| Data::Range(t))
            }
            Some(SectionText::HeaderFields(names) | SectionText::HeaderFieldsNot(names)) => {
                let not = matches!(section.text, Some(SectionText::HeaderFieldsNot(_)));
                let Some((header, _)) = message else {
                    return Ok(Data::Bytes(Vec::new()));
                };
                let end = header.end.min(header.start + HEADER_READ_OCTETS_MAX);
                let bytes = self.read_range(key, uid, header.start..end).await?;
                let names: Vec<&[u8]> = names.iter().map(|n| n.as_bytes()).collect();
                let mut filtered = Vec::new();
                filter_header_fields(&bytes, &names, not, &mut filtered);
                Data::Bytes(filtered)
            }
        };
        Ok(data)
    }

    async fn read_range(
        &self,
        key: MailboxKey,
        uid: Uid,
        range: Range<u64>,
    ) -> Result<Vec<u8>, Failure> {
        let content = self.content(key, uid).map_err(|_| Failure::Unreadable)?;
        let length = usize::try_from(range.end.saturating_sub(range.start)).unwrap_or(0);
        let mut bytes = vec![0u8; length];
        let mut filled = 0;
        while filled < length {
            let read = content
                .read(range.start + filled as u64, &mut bytes[filled..])
                .await
                .map_err(|_| Failure::Unreadable)?;
            if read == 0 {
                break;
            }
            filled += read;
        }
        bytes.truncate(filled);
        Ok(bytes)
    }

    /// Writes `data` (cut to `partial`) as an IMAP literal, or NIL; ranges stream from the log.
    async fn write_data(
        &mut self,
        key: MailboxKey,
        uid: Uid,
        data: Data,
        partial: Option<&Partial>,
    ) -> Result<(), Failure> {
        let cut = |length: u64| -> Range<u64> {
            match partial {
                None => 0..length,
                Some(partial) => {
                    let start = partial.offset.min(length);
                    start..start.saturating_add(partial.length).min(length)
                }
            }
        };
        match data {
            Data::Nil => self.out.extend_from_slice(b"NIL"),
            Data::Bytes(bytes) => {
                let range = cut(bytes.len() as u64);
                let piece = &bytes[range.start as usize..range.end as usize];
                self.out
                    .extend_from_slice(format!("{{{}}}\r\n", piece.len()).as_bytes());
                let at = self.out.len();
                self.out.extend_from_slice(piece);
                replace_nul(&mut self.out[at..]);
            }
            Data::Range(range) => {
                let length = range.end.saturating_sub(range.start);
                let within = cut(length);
                let start = range.start + within.start;
                let length = within.end - within.start;
                self.out
                    .extend_from_slice(format!("{{{length}}}\r\n").as_bytes());
                self.stream_content(key, uid, start, length).await?;
            }
        }
        Ok(())
    }

    /// Runs the part's body through its decoder: (decoded octets, any NUL among them).
    async fn decoded_size(
        &self,
        key: MailboxKey,
        uid: Uid,
        span: &PartSpan,
    ) -> Result<(u64, bool), Failure> {
        let mut decoder = Decoder::new(span.encoding).ok_or(Failure::UnknownCte)?;
        let mut measure = Measure::default();
        let content = self.content(key, uid).map_err(|_| Failure::Unreadable)?;
        let mut chunk = vec![0u8; READ_CHUNK_OCTETS];
        let mut offset = span.body.start;
        while offset < span.body.end {
            let want =
                usize::try_from(span.body.end - offset).map_or(chunk.len(), |w| w.min(chunk.len()));
            let read = content
                .read(offset, &mut chunk[..want])
                .await
                .map_err(|_| Failure::Unreadable)?;
            if read == 0 {
                break;
            }
            decoder.feed(&chunk[..read], &mut measure);
            offset += read as u64;
        }
        decoder.finish(&mut measure);
        Ok((measure.octets, measure.nul))
    }

    /// RFC 3516 BINARY[part]: the part's body decoded, as a literal (literal8 when it holds
    /// NUL). The size is measured in a first pass, so the literal's length is exact.
    async fn write_binary(
        &mut self,
        key: MailboxKey,
        uid: Uid,
        span: &PartSpan,
        partial: Option<&Partial>,
    ) -> Result<(), Failure> {
        let (size, nul) = self.decoded_size(key, uid, span).await?;
        let (start, end) = match partial {
            None => (0, size),
            Some(partial) => {
                let start = partial.offset.min(size);
                (start, start.saturating_add(partial.length).min(size))
            }
        };
        let marker = if nul { "~" } else { "" };
        self.out
            .extend_from_slice(format!("{marker}{{{}}}\r\n", end - start).as_bytes());
        let mut decoder = Decoder::new(span.encoding).ok_or(Failure::UnknownCte)?;
        let content = self
            .content(key, uid)
            .map_err(|_| self.literal_broken(uid))?;
        let mut chunk = vec![0u8; READ_CHUNK_OCTETS];
        let mut offset = span.body.start;
        let mut position = 0u64;
        while offset < span.body.end && position < end {
            let want =
                usize::try_from(span.body.end - offset).map_or(chunk.len(), |w| w.min(chunk.len()));
            let read = match content.read(offset, &mut chunk[..want]).await {
                Ok(0) | Err(_) => return Err(self.literal_broken(uid)),
                Ok(read) => read,
            };
            offset += read as u64;
            let mut window = Window {
                out: &mut self.out,
                position,
                start,
                end,
            };
            decoder.feed(&chunk[..read], &mut window);
            if offset >= span.body.end {
                decoder.finish(&mut window);
            }
            position = window.position;
            if self.out.len() >= OUTPUT_FLUSH_OCTETS {
                self.flush().await?;
            }
        }
        Ok(())
    }

    /// Streams `length` octets of the message from `start` into the output, a chunk at a time.
    /// Once the literal's length is out, a failed read can't be answered in the protocol: the
    /// connection is closed rather than sending wrong bytes.
    async fn stream_content(
        &mut self,
        key: MailboxKey,
        uid: Uid,
        start: u64,
        length: u64,
    ) -> Result<(), Failure> {
        let content = match self.content(key, uid) {
            Ok(content) => content,
            Err(error) => {
                tracing::error!("IMAP FETCH of UID {uid}: {error}");
                return Err(self.literal_broken(uid));
            }
        };
        let mut done = 0u64;
        while done < length {
            let want = usize::try_from((length - done).min(READ_CHUNK_OCTETS as u64))
                .unwrap_or(READ_CHUNK_OCTETS);
            let at = self.out.len();
            self.out.resize(at + want, 0);
            let read = match content.read(start + done, &mut self.out[at..]).await {
                Ok(read) => read,
                Err(error) => {
                    self.out.truncate(at);
                    tracing::error!("IMAP FETCH of UID {uid}: {error}");
                    return Err(self.literal_broken(uid));
                }
            };
            self.out.truncate(at + read);
            replace_nul(&mut self.out[at..]);
            if read == 0 {
                tracing::error!("IMAP FETCH of UID {uid}: content shorter than indexed");
                return Err(self.literal_broken(uid));
            }
            done += read as u64;
            if self.out.len() >= OUTPUT_FLUSH_OCTETS {
                self.flush().await?;
            }
        }
        Ok(())
    }

    /// The content of the message being fetched, pinned by `fetch_one` so it stays readable
    /// if another session expunges the message meanwhile; any other message's, read now.
    fn content(&self, key: MailboxKey, uid: Uid) -> Result<Rc<Content>, StoreError> {
        match &self.pinned {
            Some((pinned_key, pinned_uid, content)) if (*pinned_key, *pinned_uid) == (key, uid) => {
                Ok(Rc::clone(content))
            }
            _ => self.shard.state.mail.store().content(key, uid).map(Rc::new),
        }
    }

    /// A literal whose length is out cannot be finished: the connection is closed after this
    /// command rather than sending wrong bytes or leaving the client waiting for the rest.
    fn literal_broken(&mut self, uid: Uid) -> Failure {
        tracing::error!("IMAP FETCH of UID {uid}: literal cut short, closing the connection");
        self.broken = true;
        Failure::Io
    }
}

/// RFC 3501 §9: a literal carries no NUL (CHAR8 is %x01-ff). Content stored with NULs (a
/// binary part APPENDed as literal8) goes out of BODY[] with each NUL as 0x80, keeping the
/// length, as Dovecot does; BINARY[] sends the octets as they are, in literal8.
fn replace_nul(bytes: &mut [u8]) {
    for byte in bytes.iter_mut().filter(|b| **b == 0) {
        *byte = 0x80;
    }
}

/// RFC 8474 EMAILID of a message from its commit record's ingest number.
pub(super) fn email_id(key: MailboxKey, ingest: u64) -> String {
    format!("M{:x}-{:x}", key.account.partition, ingest)
}

/// `1.2.3`: a part number.
fn write_part(out: &mut Vec<u8>, part: &[u32]) {
    let parts: Vec<String> = part.iter().map(u32::to_string).collect();
    out.extend_from_slice(parts.join(".").as_bytes());
}

/// Decoded octets: counts them and notes whether any is NUL (which needs literal8).
#[derive(Default)]
struct Measure {
    octets: u64,
    nul: bool,
}

impl Sink for Measure {
    fn put(&mut self, octets: &[u8]) {
        self.octets += octets.len() as u64;
        self.nul |= octets.contains(&0);
    }
}

/// Keeps the decoded octets that fall in `start..end` of the decoded stream.
struct Window<'a> {
    out: &'a mut Vec<u8>,
    position: u64,
    start: u64,
    end: u64,
}

impl Sink for Window<'_> {
    fn put(&mut self, octets: &[u8]) {
        let from = self.position;
        self.position += octets.len() as u64;
        let first = self.start.max(from);
        let last = self.end.min(self.position);
        if first < last {
            self.out
                .extend_from_slice(&octets[(first - from) as usize..(last - from) as usize]);
        }
    }
}

/// The section spec as the response names it (RFC 3501 §7.4.2 `section`).
fn write_section(out: &mut Vec<u8>, section: &Section) {
    let parts: Vec<String> = section.part.iter().map(u32::to_string).collect();
    out.extend_from_slice(parts.join(".").as_bytes());
    let Some(text) = &section.text else {
        return;
    };
    if !section.part.is_empty() {
        out.push(b'.');
    }
    let (word, names) = match text {
        SectionText::Header => ("HEADER", None),
        SectionText::Text => ("TEXT", None),
        SectionText::Mime => ("MIME", None),
        SectionText::HeaderFields(names) => ("HEADER.FIELDS", Some(names)),
        SectionText::HeaderFieldsNot(names) => ("HEADER.FIELDS.NOT", Some(names)),
    };
    out.extend_from_slice(word.as_bytes());
    if let Some(names) = names {
        out.extend_from_slice(b" (");
        for (i, name) in names.iter().enumerate() {
            if i > 0 {
                out.push(b' ');
            }
            super::command::write_astring(out, name.as_bytes());
        }
        out.push(b')');
    }
}
