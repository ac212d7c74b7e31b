//! DATA and BDAT: accepting the command, streaming the content, answering after delivery.

use std::borrow::Cow;

use super::chunk::{self, Chunk, Disposition, Drained};
use super::config::Mode;
use super::data::{DataFramer, Piece};
use super::event::{Content, DeliveryResult, Event};
use super::header::{HeaderHold, Hold};
use super::params::Body;
use super::reply;
use super::session::{Phase, Refusal, Session, Step};

impl Session {
    pub(super) fn data(&mut self, arguments: &str, out: &mut Vec<u8>) -> Option<Event> {
        if !arguments.is_empty() {
            return self.reject(out, 501, "5.5.4", "Syntax: DATA");
        }
        let lmtp = self.config.mode == Mode::Lmtp;
        let Some(transaction) = &self.transaction else {
            return self.reject(out, 503, "5.5.1", "Need MAIL command first");
        };
        // RFC 3030 §4.2: DATA and BDAT do not mix in one transaction.
        if transaction.chunked {
            return self.reject(out, 503, "5.5.1", "DATA not allowed after BDAT");
        }
        // RFC 3030 §3: BINARYMIME cannot use DATA; 503 is required.
        if transaction.envelope.parameters.body == Body::BinaryMime {
            return self.reject(out, 503, "5.5.1", "BODY=BINARYMIME requires BDAT");
        }
        if transaction.envelope.recipients.is_empty() {
            // RFC 2033 §4.2 requires 503 in LMTP; RFC 5321 §3.3 allows 554 "no valid
            // recipients" in SMTP.
            return if lmtp {
                self.reject(out, 503, "5.5.1", "No valid recipients")
            } else {
                self.reject(out, 554, "5.5.1", "No valid recipients")
            };
        }
        reply::write(out, 354, "", "End data with <CR><LF>.<CR><LF>");
        self.start_message();
        self.phase = Phase::Data(DataFramer::new(self.config.normalise_bare_line_endings));
        Some(Event::MessageStart)
    }

    fn start_message(&mut self) {
        let hold = (self.config.mode == Mode::Submission)
            .then(|| HeaderHold::new(self.config.limits.submission_header_octets_max));
        let transaction = self
            .transaction
            .as_mut()
            .expect("a message starts in a transaction");
        transaction.started = true;
        transaction.hold = hold;
    }

    pub(super) fn bdat(&mut self, arguments: &str, out: &mut Vec<u8>) -> Option<Event> {
        let Some((size, last)) = chunk::parse_arguments(arguments) else {
            // Without a size the chunk cannot be framed: its octets would be read as
            // commands. Closing is the only safe answer.
            let text = format!(
                "{} BDAT syntax error, closing connection",
                self.config.hostname
            );
            reply::write(out, 421, "4.5.2", &text);
            return self.close();
        };
        let limit = self.config.limits.message_octets_max;
        let disposition = match &self.transaction {
            _ if self.greeting.is_none() => {
                Disposition::Drain(Drained::BadSequence("Send LHLO or EHLO first"))
            }
            None => Disposition::Drain(Drained::BadSequence("Need MAIL command first")),
            Some(transaction) if transaction.envelope.recipients.is_empty() => {
                Disposition::Drain(Drained::NoRecipients)
            }
            Some(transaction) if transaction.octets.saturating_add(size) > limit => {
                Disposition::Drain(Drained::Refused(Refusal::TooBig))
            }
            Some(_) => Disposition::Keep,
        };
        let mut event = None;
        match disposition {
            Disposition::Keep => {
                let transaction = self.transaction.as_mut().expect("checked above");
                transaction.chunked = true;
                if !transaction.started {
                    self.start_message();
                    event = Some(Event::MessageStart);
                }
            }
            Disposition::Drain(Drained::Refused(_)) => {
                let transaction = self.transaction.as_mut().expect("checked above");
                if transaction.started {
                    event = Some(Event::Abort);
                }
                // The transaction is over: the client must start again (RFC 3030 §2).
                transaction.started = false;
            }
            Disposition::Drain(_) => {}
        }
        self.phase = Phase::Chunk(Chunk {
            size_octets: size,
            remaining_octets: size,
            last,
            disposition,
        });
        event
    }

    /// Streams a BDAT chunk's octets.
    pub(super) fn read_chunk(&mut self, input: &[u8], out: &mut Vec<u8>) -> Step {
        let Phase::Chunk(chunk) = &mut self.phase else {
            unreachable!("read_chunk runs in the chunk phase");
        };
        if chunk.remaining_octets == 0 {
            return self.end_chunk(out);
        }
        let take =
            usize::try_from(chunk.remaining_octets).map_or(input.len(), |r| r.min(input.len()));
        if take == 0 {
            return Step::NeedInput(0);
        }
        chunk.remaining_octets -= take as u64;
        if chunk.disposition != Disposition::Keep {
            return Step::Continue(take);
        }
        match self.route(input, Content::Input(0..take)) {
            Some(event) => Step::Event(take, event),
            None => Step::Continue(take),
        }
    }

    fn end_chunk(&mut self, out: &mut Vec<u8>) -> Step {
        let Phase::Chunk(chunk) = std::mem::replace(&mut self.phase, Phase::Command) else {
            unreachable!("end_chunk runs in the chunk phase");
        };
        let lmtp = self.config.mode == Mode::Lmtp;
        let event = match chunk.disposition {
            Disposition::Keep if chunk.last => {
                self.phase = Phase::AwaitDelivery;
                self.end_of_content()
            }
            Disposition::Keep => {
                self.phase = Phase::AwaitChunkWritten(chunk.size_octets);
                Some(Event::ChunkEnd)
            }
            Disposition::Drain(Drained::BadSequence(text)) => self.reject(out, 503, "5.5.1", text),
            // RFC 2033 §4.3: BDAT LAST with no successful RCPT gets zero replies in LMTP.
            Disposition::Drain(Drained::NoRecipients) if lmtp && chunk.last => {
                self.transaction = None;
                None
            }
            Disposition::Drain(Drained::NoRecipients) => {
                if chunk.last {
                    self.transaction = None;
                }
                self.reject(out, 554, "5.5.1", "No valid recipients")
            }
            Disposition::Drain(Drained::Refused(refusal)) => {
                let replies = if lmtp && chunk.last {
                    self.recipient_count()
                } else {
                    1
                };
                self.transaction = None;
                for _ in 0..replies {
                    write_refusal(out, refusal);
                }
                None
            }
        };
        self.step_with_event(0, event)
    }

    fn recipient_count(&self) -> usize {
        self.transaction
            .as_ref()
            .map_or(0, |transaction| transaction.envelope.recipients.len())
    }

    /// Streams a DATA body.
    pub(super) fn read_data(&mut self, input: &[u8], out: &mut Vec<u8>) -> Step {
        let mut position = 0;
        loop {
            let Phase::Data(framer) = &mut self.phase else {
                unreachable!("read_data runs in the data phase");
            };
            if position == input.len() && !framer.has_owed() {
                return Step::NeedInput(position);
            }
            let step = framer.step(&input[position..]);
            let base = position;
            position += step.consumed;
            let event = match step.piece {
                None => None,
                Some(Piece::Input(range)) => {
                    self.route(input, Content::Input(base + range.start..base + range.end))
                }
                Some(Piece::Insert(octets)) => {
                    self.route(input, Content::Bytes(Cow::Borrowed(octets)))
                }
                Some(Piece::BareLineEnding) => self.refuse(Refusal::BareLineEnding),
            };
            if let Some(event) = event {
                return Step::Event(position, event);
            }
            if step.end {
                return self.end_data(position, out);
            }
        }
    }

    fn end_data(&mut self, consumed: usize, out: &mut Vec<u8>) -> Step {
        let refusal = self
            .transaction
            .as_ref()
            .and_then(|transaction| transaction.refusal);
        let Some(refusal) = refusal else {
            self.phase = Phase::AwaitDelivery;
            let event = self.end_of_content();
            return self.step_with_event(consumed, event);
        };
        // RFC 2033 §4.2: in LMTP, one reply per accepted recipient, refusals included.
        let replies = if self.config.mode == Mode::Lmtp {
            self.recipient_count()
        } else {
            1
        };
        for _ in 0..replies {
            write_refusal(out, refusal);
        }
        self.transaction = None;
        self.phase = Phase::Command;
        Step::Continue(consumed)
    }

    /// The content is complete: release a held header block, then EndOfData.
    fn end_of_content(&mut self) -> Option<Event> {
        let transaction = self
            .transaction
            .as_mut()
            .expect("content belongs to a transaction");
        if let Some(mut hold) = transaction.hold.take() {
            let (held, missing) = hold.finish();
            if missing.any() {
                self.queued.push_back(Event::MissingHeaderFields {
                    date: missing.date,
                    message_id: missing.message_id,
                });
            }
            if !held.is_empty() {
                self.queued
                    .push_back(Event::Content(Content::Bytes(Cow::Owned(held))));
            }
        }
        self.queued.push_back(Event::EndOfData);
        self.queued.pop_front()
    }

    fn step_with_event(&mut self, consumed: usize, event: Option<Event>) -> Step {
        match event {
            Some(event) => Step::Event(consumed, event),
            None => Step::Continue(consumed),
        }
    }

    /// Sends content on: counts it against the size limit, holds it (submission header) or
    /// hands it to the driver.
    fn route(&mut self, input: &[u8], content: Content) -> Option<Event> {
        let octets = match &content {
            Content::Input(range) => &input[range.clone()],
            Content::Bytes(bytes) => bytes.as_ref(),
        };
        let limit = self.config.limits.message_octets_max;
        let transaction = self
            .transaction
            .as_mut()
            .expect("content belongs to a transaction");
        transaction.octets += octets.len() as u64;
        if transaction.octets > limit {
            return self.refuse(Refusal::TooBig);
        }
        let Some(hold) = &mut transaction.hold else {
            return Some(Event::Content(content));
        };
        match hold.push(octets) {
            Hold::Holding => None,
            Hold::Release(held, missing) => {
                transaction.hold = None;
                let content = Event::Content(Content::Bytes(Cow::Owned(held)));
                if missing.any() {
                    self.queued.push_back(content);
                    Some(Event::MissingHeaderFields {
                        date: missing.date,
                        message_id: missing.message_id,
                    })
                } else {
                    Some(content)
                }
            }
        }
    }

    /// Refuses the message being received: the driver discards it; the rest of the content
    /// is drained and answered at its end.
    fn refuse(&mut self, refusal: Refusal) -> Option<Event> {
        let transaction = self
            .transaction
            .as_mut()
            .expect("content belongs to a transaction");
        transaction.refusal = Some(refusal);
        transaction.hold = None;
        if let Phase::Data(framer) = &mut self.phase {
            framer.discard();
        }
        Some(Event::Abort)
    }

    /// Answers [`Event::EndOfData`] with one result per envelope recipient, in order. SMTP
    /// gets one reply: 250 if every recipient has the message, else the first failure's (a
    /// partial success then makes the client retry all: duplicates rather than loss). LMTP
    /// gets one reply per recipient (RFC 2033 §4.2).
    pub fn delivered(&mut self, results: &[DeliveryResult], out: &mut Vec<u8>) {
        assert!(
            matches!(self.phase, Phase::AwaitDelivery),
            "driver bug: delivered() without Event::EndOfData"
        );
        let transaction = self
            .transaction
            .take()
            .expect("delivery belongs to a transaction");
        let recipients = &transaction.envelope.recipients;
        assert_eq!(
            results.len(),
            recipients.len(),
            "driver bug: delivered() needs one result per recipient"
        );
        self.phase = Phase::Command;
        if self.config.mode == Mode::Lmtp {
            for (recipient, result) in recipients.iter().zip(results) {
                let (code, status, text) = delivery_reply(*result);
                reply::write(
                    out,
                    code,
                    status,
                    &format!("<{}> {text}", recipient.address),
                );
            }
            return;
        }
        let result = results
            .iter()
            .copied()
            .find(|result| *result != DeliveryResult::Delivered)
            .unwrap_or(DeliveryResult::Delivered);
        let (code, status, text) = delivery_reply(result);
        reply::write(out, code, status, text);
    }
}

fn delivery_reply(result: DeliveryResult) -> (u16, &'static str, &'static str) {
    match result {
        DeliveryResult::Delivered => (250, "2.0.0", "Message accepted for delivery"),
        // RFC 3463 X.2.2 "mailbox full"; 452 as in RFC 2033 §4.2's example.
        DeliveryResult::OverQuota => (452, "4.2.2", "Mailbox full, try again later"),
        DeliveryResult::NoSpace => (452, "4.3.1", "Insufficient system storage, try again later"),
        DeliveryResult::TemporaryFailure => (451, "4.3.0", "Temporary failure, try again later"),
        DeliveryResult::PermanentFailure => (550, "5.2.0", "Mailbox unavailable"),
    }
}

/// The reply after the content of a refused message.
fn write_refusal(out: &mut Vec<u8>, refusal: Refusal) {
    match refusal {
        // RFC 1870 §6.3 and RFC 3463 X.3.4.
        Refusal::TooBig => reply::write(
            out,
            552,
            "5.3.4",
            "Message size exceeds fixed maximum message size",
        ),
        // No enhanced code names bare line endings; X.6.0 "other or undefined media error"
        // is the content-level one (X.5.x are about commands). 554 "transaction failed" is a
        // DATA-end reply (RFC 5321 §4.3.2).
        Refusal::BareLineEnding => reply::write(
            out,
            554,
            "5.6.0",
            "Message refused: bare CR or LF in content (RFC 5321 section 2.3.8)",
        ),
    }
}
