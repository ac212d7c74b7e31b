//! APPEND (RFC 3501 §6.3.11) and MULTIAPPEND (RFC 3502), with APPENDUID (RFC 4315) and
//! APPENDLIMIT (RFC 7889). The message literal streams from the socket into the log in
//! chunks, analysed on the way (MIME structure for FETCH); it is never whole in memory.
//!
//! MULTIAPPEND is all or nothing (RFC 3502 §3): every message is written first, and the
//! commits run only once the last literal has arrived; if a later commit fails, the messages
//! already committed by this command are expunged again before the NO.

use super::command::{AppendMessageHeader, AppendStart};
use super::driver::{Driver, Next, SessionState};
use super::flags::split_flags;
use super::framer::Frame;
use super::select::{uid_ranges, uid_set_text};
use crate::mailstore::ShardStore;
use crate::mime::Analyzer;
use postern_storage::files::FileDisk;
use postern_storage::limits::MESSAGE_OCTETS_MAX;
use postern_storage::{MailboxKey, MessageMeta, MessageWriter, StoreError, Uid};

/// Messages one MULTIAPPEND may carry.
pub const APPEND_MESSAGES_MAX: usize = 1000;

/// A message written to the log, waiting for the command's end to be committed.
struct Pending {
    writer: MessageWriter<FileDisk>,
    meta: MessageMeta,
}

/// Why an APPEND stopped before its end.
enum Stop {
    /// Answered (NO/BAD written); the rest of the command was dropped by the framer.
    Answered,
    Closed,
}

impl Driver {
    pub(super) async fn append(&mut self, start: AppendStart) -> Next {
        let AppendStart {
            tag,
            mailbox,
            message,
        } = start;
        let tag = tag.as_str().to_string();
        match self.append_messages(&tag, &mailbox, message).await {
            Ok(()) | Err(Stop::Answered) => Next::Continue,
            Err(Stop::Closed) => Next::Close,
        }
    }

    async fn append_messages(
        &mut self,
        tag: &str,
        mailbox: &super::command::MailboxName,
        first: AppendMessageHeader,
    ) -> Result<(), Stop> {
        let refuse = |driver: &mut Self, header: &AppendMessageHeader| {
            driver.framer.refuse_literal(&header.literal);
            Stop::Answered
        };
        if !matches!(
            self.state,
            SessionState::Authenticated(_) | SessionState::Selected(..)
        ) {
            self.bad_in_state(tag, "Log in first");
            return Err(refuse(self, &first));
        }
        let Some(name) = self.mailbox_name(tag, mailbox) else {
            return Err(refuse(self, &first));
        };
        let store = std::rc::Rc::clone(self.shard.state.mail.store());
        let Some(key) = store.mailbox_by_name(self.account_key(), &name) else {
            // RFC 3501 §6.3.11: TRYCREATE tells the client it may CREATE and retry.
            self.no(tag, Some("TRYCREATE"), "No such mailbox");
            return Err(refuse(self, &first));
        };
        let mut pending: Vec<Pending> = Vec::new();
        let mut header = first;
        loop {
            if header.literal.octets == 0 {
                // RFC 3502 §3: a zero-length literal is an error and cancels the whole APPEND;
                // the messages written so far are dropped uncommitted.
                self.no(tag, None, "Empty message: APPEND cancelled");
                return Err(refuse(self, &header));
            }
            if header.literal.octets > MESSAGE_OCTETS_MAX {
                self.no(tag, Some("TOOBIG"), "Message larger than APPENDLIMIT");
                return Err(refuse(self, &header));
            }
            if pending.len() >= APPEND_MESSAGES_MAX {
                self.no(tag, Some("LIMIT"), "Too many messages in one APPEND");
                return Err(refuse(self, &header));
            }
            let split = {
                let state = store.state();
                split_flags(&header.flags, state.mailbox(key))
            };
            let (flags, keywords) = match split {
                Ok(split) => split,
                Err(reason) => {
                    self.bad_in_state(tag, reason);
                    return Err(refuse(self, &header));
                }
            };
            if header.literal.synchronizing {
                self.out.extend_from_slice(b"+ Ready for literal data\r\n");
                self.flush().await.map_err(|_| Stop::Closed)?;
            }
            let (writer, parse) = self
                .stream_literal(tag, &store, key, header.literal.octets)
                .await?;
            let internal_date_secs = header
                .date
                .map_or_else(crate::date::now_secs, |d| d.unix_secs);
            pending.push(Pending {
                writer,
                meta: MessageMeta {
                    internal_date_secs,
                    flags,
                    keywords,
                    parse,
                    envelope: Vec::new(),
                },
            });
            match self.next_append_frame().await? {
                Frame::AppendNext(next) => header = next,
                Frame::AppendEnd => break,
                Frame::Refuse { reason, .. } => {
                    self.bad_in_state(tag, &reason);
                    return Err(Stop::Answered);
                }
                _ => unreachable!("the framer is inside an APPEND"),
            }
        }
        self.commit_appended(tag, key, pending).await;
        Ok(())
    }

    /// Streams `octets` of literal from the connection into a new message of `key`.
    async fn stream_literal(
        &mut self,
        tag: &str,
        store: &std::rc::Rc<ShardStore>,
        key: MailboxKey,
        octets: u64,
    ) -> Result<(MessageWriter<FileDisk>, Vec<u8>), Stop> {
        let mut writer = store.begin_message(key.account.partition);
        let mut analyzer = Analyzer::new();
        let mut remaining = octets;
        let mut failed: Option<StoreError> = None;
        // Where the first 8-bit octet is, to tell 8-bit header fields (RFC 6855 §4).
        let mut first_eight_bit: Option<u64> = None;
        while remaining > 0 {
            if self.input.unread().is_empty() {
                match self.input.fill(&mut self.connection).await {
                    Ok(0) | Err(_) => return Err(Stop::Closed),
                    Ok(_) => {}
                }
            }
            let unread = self.input.unread();
            let take = usize::try_from(remaining).map_or(unread.len(), |r| r.min(unread.len()));
            let piece = &unread[..take];
            if first_eight_bit.is_none()
                && let Some(at) = piece.iter().position(|&b| b >= 0x80)
            {
                first_eight_bit = Some(octets - remaining + at as u64);
            }
            if failed.is_none() {
                analyzer.feed(piece);
                if let Err(error) = writer.write(piece).await {
                    // The rest of the literal is still read (and dropped) to keep the stream
                    // in step; the command then fails.
                    failed = Some(error);
                }
            }
            self.input.consume(take);
            remaining -= take as u64;
        }
        self.framer.literal_streamed();
        let analysis = analyzer.finish();
        // RFC 6855 §4: without ENABLE UTF8=ACCEPT, 8-bit header fields are refused.
        let eight_bit_header =
            first_eight_bit.is_some_and(|at| at < analysis.header_octets()) && !self.enabled().utf8;
        if failed.is_some() || eight_bit_header {
            // Drop the rest of the command before answering it.
            if let Frame::AppendNext(next) = self.next_append_frame().await? {
                self.framer.refuse_literal(&next.literal);
            }
            match failed {
                Some(error) => self.store_failed(tag, &error),
                None => self.no(tag, None, "8-bit header fields need ENABLE UTF8=ACCEPT"),
            }
            return Err(Stop::Answered);
        }
        Ok((writer, analysis.encode()))
    }

    /// The framer's next event inside an APPEND, reading more input as needed.
    async fn next_append_frame(&mut self) -> Result<Frame, Stop> {
        loop {
            let (consumed, frame) = self.framer.next(self.input.unread());
            self.input.consume(consumed);
            match frame {
                Frame::More => {}
                frame => return Ok(frame),
            }
            if self.flush().await.is_err() {
                return Err(Stop::Closed);
            }
            match self.input.fill(&mut self.connection).await {
                Ok(0) | Err(_) => return Err(Stop::Closed),
                Ok(_) => {}
            }
        }
    }

    async fn commit_appended(&mut self, tag: &str, key: MailboxKey, pending: Vec<Pending>) {
        let store = std::rc::Rc::clone(self.shard.state.mail.store());
        let mut uids: Vec<Uid> = Vec::new();
        for Pending { writer, meta } in pending {
            match writer
                .commit_saved(key, meta, crate::date::now_secs())
                .await
            {
                Ok((uid, _durable)) => uids.push(uid),
                Err(error) => {
                    if !uids.is_empty() {
                        // RFC 3502 §3: none of the messages may be left appended.
                        let _ = store.expunge(key, &uid_ranges(&uids)).await;
                    }
                    return self.store_failed(tag, &error);
                }
            }
        }
        let validity = store.status(key).map_or(0, |s| s.uid_validity);
        self.sync(super::selected::Sync::Full);
        let code = format!("APPENDUID {validity} {}", uid_set_text(&uids));
        super::response::write_status(
            &mut self.out,
            tag,
            super::response::Status::Ok,
            Some(&code),
            "APPEND completed",
        );
    }
}
