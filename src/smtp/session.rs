//! The session: framing, phases, and the driver's answers.

use std::collections::VecDeque;

use super::chunk::Chunk;
use super::config::{Mode, SmtpConfig};
use super::data::DataFramer;
use super::event::{Content, Envelope, Event, Feed};
use super::header::HeaderHold;
use super::reply;
use crate::auth::sasl::SaslServer;

/// What a session is doing; each phase owns the state only it needs.
pub(super) enum Phase {
    /// Reading command lines.
    Command,
    /// An AUTH exchange waits for the client's next response line.
    AuthResponse(Box<SaslServer>),
    /// Waiting for [`Session::password_verified`].
    AwaitPassword(Box<SaslServer>),
    /// Waiting for [`Session::credentials`].
    AwaitCredentials(Box<SaslServer>),
    /// Waiting for [`Session::recipient_checked`].
    AwaitRecipient(PendingRecipient),
    /// Reading a DATA body.
    Data(DataFramer),
    /// Reading the octets of a BDAT chunk.
    Chunk(Chunk),
    /// Waiting for [`Session::content_written`]; the chunk's size is in the reply.
    AwaitChunkWritten(u64),
    /// Waiting for [`Session::delivered`].
    AwaitDelivery,
    /// Waiting for [`Session::tls_started`].
    AwaitTls,
    Closed,
}

pub(super) struct PendingRecipient {
    pub address: String,
    pub parameters: super::params::RcptParameters,
}

/// Who the client said it was.
pub(super) struct Greeting {
    pub name: String,
    /// EHLO or LHLO (extensions allowed), not HELO.
    pub extended: bool,
}

/// Why a message is being refused after its content (the content is drained, not stored).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Refusal {
    TooBig,
    BareLineEnding,
}

pub(super) struct Transaction {
    pub envelope: Envelope,
    /// `MessageStart` was handed out: the driver has a message open.
    pub started: bool,
    /// BDAT was used: DATA is now out of sequence (RFC 3030 §4.2).
    pub chunked: bool,
    /// Content octets so far.
    pub octets: u64,
    pub refusal: Option<Refusal>,
    /// Submission: the header block held back (see `header.rs`).
    pub hold: Option<HeaderHold>,
}

/// An over-long line being skipped; its reply is written when its end arrives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum LongLine {
    Command,
    AuthResponse,
}

/// One SMTP, submission or LMTP connection, from greeting to close. See the module docs for
/// the driver contract.
pub struct Session {
    pub(super) config: SmtpConfig,
    pub(super) phase: Phase,
    pub(super) tls_active: bool,
    pub(super) greeting: Option<Greeting>,
    pub(super) user: Option<String>,
    pub(super) transaction: Option<Transaction>,
    pub(super) errors: u32,
    pub(super) unauthenticated_commands: u32,
    pub(super) long_line: Option<LongLine>,
    /// Events owed to the driver, handed out before any more input is read. Never holds a
    /// `Content::Input` (its range would point into an old input).
    pub(super) queued: VecDeque<Event>,
    /// Golden transcripts need SCRAM's server nonce fixed.
    #[cfg(test)]
    pub(super) sasl_nonce: Option<&'static str>,
}

/// How far one phase step got, relative to the input it was given.
pub(super) enum Step {
    /// Consumed this much; keep going.
    Continue(usize),
    /// Consumed this much; hand this event to the driver.
    Event(usize, Event),
    /// Consumed this much; the rest is an incomplete line or the input is used up.
    NeedInput(usize),
}

impl Session {
    pub fn new(config: SmtpConfig) -> Session {
        assert!(
            config.limits.command_line_octets_max >= 512,
            "RFC 5321 §4.5.3.1.4 requires 512-octet command lines"
        );
        assert!(config.limits.recipients_max >= 1 && config.limits.errors_max >= 1);
        Session {
            tls_active: config.tls_active,
            config,
            phase: Phase::Command,
            greeting: None,
            user: None,
            transaction: None,
            errors: 0,
            unauthenticated_commands: 0,
            long_line: None,
            queued: VecDeque::new(),
            #[cfg(test)]
            sasl_nonce: None,
        }
    }

    /// The 220 greeting (RFC 5321 §4.2: no enhanced code on it, RFC 2034 §4).
    pub fn greeting(&mut self, out: &mut Vec<u8>) {
        let protocol = if self.config.mode == Mode::Lmtp {
            "LMTP"
        } else {
            "ESMTP"
        };
        let text = format!("{} {protocol} Postern", self.config.hostname);
        reply::write(out, 220, "", &text);
    }

    /// For a driver that refuses the connection (overload, per-IP limit) before the greeting.
    pub fn refuse_connection(&mut self, out: &mut Vec<u8>) {
        let text = format!(
            "{} Service not available, closing connection",
            self.config.hostname
        );
        reply::write(out, 421, "4.3.2", &text);
        self.phase = Phase::Closed;
    }

    /// For a driver whose idle timer fired (RFC 5321 §4.5.3.2.7); close after writing.
    pub fn idle_timeout(&mut self, out: &mut Vec<u8>) {
        let text = format!("{} Idle timeout, closing connection", self.config.hostname);
        reply::write(out, 421, "4.4.2", &text);
        self.phase = Phase::Closed;
    }

    /// Processes input: complete command lines (several per call when pipelined, RFC 2920),
    /// message content, chunk octets. Replies go to `out` in order. Returns when the driver is
    /// needed or the input is used up; an incomplete line is left unconsumed.
    pub fn feed(&mut self, input: &[u8], out: &mut Vec<u8>) -> Feed {
        if let Some(event) = self.queued.pop_front() {
            return Feed {
                consumed: 0,
                event: Some(event),
            };
        }
        let mut position = 0;
        loop {
            let rest = &input[position..];
            let step = match &self.phase {
                Phase::Command | Phase::AuthResponse(_) => self.read_line(rest, out),
                Phase::Data(_) => self.read_data(rest, out),
                Phase::Chunk(_) => self.read_chunk(rest, out),
                Phase::Closed => Step::NeedInput(0),
                Phase::AwaitPassword(_)
                | Phase::AwaitCredentials(_)
                | Phase::AwaitRecipient(_)
                | Phase::AwaitChunkWritten(_)
                | Phase::AwaitDelivery
                | Phase::AwaitTls => {
                    panic!("driver bug: feed() called while the session waits for an answer")
                }
            };
            match step {
                Step::Continue(consumed) => position += consumed,
                Step::Event(consumed, event) => {
                    // Steps see the input from `position`: make content ranges absolute.
                    let event = match event {
                        Event::Content(Content::Input(range)) => Event::Content(Content::Input(
                            position + range.start..position + range.end,
                        )),
                        other => other,
                    };
                    return Feed {
                        consumed: position + consumed,
                        event: Some(event),
                    };
                }
                Step::NeedInput(consumed) => {
                    let event = self.queued.pop_front();
                    return Feed {
                        consumed: position + consumed,
                        event,
                    };
                }
            }
        }
    }

    /// Frames one line (RFC 5321 §2.3.8: ended by CRLF) and runs it.
    fn read_line(&mut self, input: &[u8], out: &mut Vec<u8>) -> Step {
        if let Some(kind) = self.long_line {
            // Skipping the rest of an over-long line; the driver's buffer never grows for it.
            return match super::scan::find_byte(b'\n', input) {
                None => Step::NeedInput(input.len()),
                Some(at) => {
                    self.long_line = None;
                    let event = match kind {
                        // RFC 4954 §4: 500 5.5.6 for an over-long exchange line.
                        LongLine::AuthResponse => self.reject(
                            out,
                            500,
                            "5.5.6",
                            "Authentication exchange line is too long",
                        ),
                        // RFC 5321 §4.5.3.1.10 "500 Line too long"; X.5.6 is AUTH's, so 5.5.2.
                        LongLine::Command => self.reject(out, 500, "5.5.2", "Line too long"),
                    };
                    self.step_with(at + 1, event)
                }
            };
        }
        let in_auth = matches!(self.phase, Phase::AuthResponse(_));
        let limit = if in_auth {
            self.config.limits.auth_line_octets_max
        } else {
            self.config.limits.command_line_octets_max
        };
        let window = &input[..input.len().min(limit)];
        let Some(at) = super::scan::find_byte(b'\n', window) else {
            if input.len() < limit {
                return Step::NeedInput(0);
            }
            if in_auth {
                // The exchange is over: RFC 4954 §4 fails the AUTH command.
                self.phase = Phase::Command;
                self.long_line = Some(LongLine::AuthResponse);
            } else {
                self.long_line = Some(LongLine::Command);
            }
            return Step::Continue(limit);
        };
        let line = &input[..at + 1];
        let event = match check_line(line) {
            Err(text) => {
                if in_auth {
                    self.phase = Phase::Command;
                }
                self.reject(out, 500, "5.5.2", text)
            }
            Ok(text) if in_auth => self.auth_response(text, out),
            Ok(text) => self.command(text, out),
        };
        self.step_with(at + 1, event)
    }

    fn step_with(&mut self, consumed: usize, event: Option<Event>) -> Step {
        match event {
            Some(event) => Step::Event(consumed, event),
            None if matches!(self.phase, Phase::Closed) => Step::Event(consumed, Event::Close),
            None => Step::Continue(consumed),
        }
    }

    /// Writes a 4xx/5xx reply to a command and counts it; at `errors_max`, adds 421 and closes.
    /// Returns the Close event if it closed.
    pub(super) fn reject(
        &mut self,
        out: &mut Vec<u8>,
        code: u16,
        status: &str,
        text: &str,
    ) -> Option<Event> {
        reply::write(out, code, status, text);
        self.count_error(out)
    }

    /// Counts an error reply already written (see [`Session::reject`]).
    pub(super) fn count_error(&mut self, out: &mut Vec<u8>) -> Option<Event> {
        self.errors += 1;
        if self.errors < self.config.limits.errors_max {
            return None;
        }
        let text = format!(
            "{} Too many errors, closing connection",
            self.config.hostname
        );
        reply::write(out, 421, "4.7.0", &text);
        self.close()
    }

    /// Ends the session; a message being stored is dropped by the driver on Close.
    pub(super) fn close(&mut self) -> Option<Event> {
        self.phase = Phase::Closed;
        self.transaction = None;
        self.queued.clear();
        Some(Event::Close)
    }

    /// Forgets the transaction (RSET, EHLO, end of a message); if the driver had a message
    /// open, it must discard it.
    pub(super) fn reset_transaction(&mut self) -> Option<Event> {
        match self.transaction.take() {
            Some(transaction) if transaction.started => Some(Event::Abort),
            _ => None,
        }
    }

    /// Queues an event for the next `feed` (from the answer methods).
    pub(super) fn queue(&mut self, event: Option<Event>) {
        if let Some(event) = event {
            if matches!(event, Event::Close) {
                self.queued.clear();
            }
            self.queued.push_back(event);
        }
    }

    // ---- answers to events ----

    /// Answers [`Event::StartTls`]: the handshake succeeded. RFC 3207 §4.2: the session
    /// forgets everything the client said before (EHLO, AUTH, transaction).
    pub fn tls_started(&mut self) {
        assert!(
            matches!(self.phase, Phase::AwaitTls),
            "driver bug: tls_started() without Event::StartTls"
        );
        self.phase = Phase::Command;
        self.tls_active = true;
        self.greeting = None;
        self.user = None;
        self.transaction = None;
        self.long_line = None;
        self.queued.clear();
    }

    /// Answers [`Event::ChunkEnd`]: the chunk is written.
    pub fn content_written(&mut self, out: &mut Vec<u8>) {
        let Phase::AwaitChunkWritten(octets) = self.phase else {
            panic!("driver bug: content_written() without Event::ChunkEnd");
        };
        self.phase = Phase::Command;
        reply::write(out, 250, "2.0.0", &format!("{octets} octets received"));
    }

    // ---- state the driver reads ----

    /// The transaction whose message is being received or delivered.
    pub fn envelope(&self) -> Option<&Envelope> {
        self.transaction
            .as_ref()
            .map(|transaction| &transaction.envelope)
    }

    pub fn authenticated_user(&self) -> Option<&str> {
        self.user.as_deref()
    }

    pub fn is_tls_active(&self) -> bool {
        self.tls_active
    }

    /// Error replies so far. The driver slows an erring client down by delaying its replies,
    /// e.g. by `error_count()` seconds once it is above a few (Postfix's soft error limit).
    pub fn error_count(&self) -> u32 {
        self.errors
    }

    pub fn is_closed(&self) -> bool {
        matches!(self.phase, Phase::Closed)
    }

    pub fn config(&self) -> &SmtpConfig {
        &self.config
    }

    /// Return-Path and Received fields (RFC 5321 §4.4) for the message being received, to
    /// write first. `id` is the driver's message id (an atom); `date` an RFC 5322 date-time.
    pub fn trace_header(&self, id: &str, date: &str) -> Vec<u8> {
        let transaction = self
            .transaction
            .as_ref()
            .expect("driver bug: trace_header() outside a transaction");
        let greeting = self
            .greeting
            .as_ref()
            .expect("a transaction starts only after a greeting");
        let envelope = &transaction.envelope;
        let protocol = super::trace::protocol(
            self.config.mode == Mode::Lmtp,
            greeting.extended,
            envelope.parameters.smtputf8,
            self.tls_active,
            self.user.is_some(),
        );
        let single_recipient = match envelope.recipients.as_slice() {
            [only] => Some(only.address.as_str()),
            _ => None,
        };
        super::trace::write(
            &super::trace::Trace {
                helo_name: &greeting.name,
                peer: self.config.peer,
                hostname: &self.config.hostname,
                protocol: &protocol,
                reverse_path: &envelope.reverse_path,
                single_recipient,
            },
            id,
            date,
        )
    }

    #[cfg(test)]
    pub(super) fn fix_sasl_nonce(&mut self, nonce: &'static str) {
        self.sasl_nonce = Some(nonce);
    }
}

/// Checks a framed line and returns its text without CRLF.
fn check_line(line: &[u8]) -> Result<&str, &'static str> {
    let Some(text) = line.strip_suffix(b"\r\n") else {
        return Err("Line must end with CRLF");
    };
    // NUL, a bare CR, other controls: never part of a command (RFC 5321 §4.1.1).
    if text.iter().any(|&octet| octet < 0x20 || octet == 0x7f) {
        return Err("Control character in command");
    }
    std::str::from_utf8(text).map_err(|_| "Command is not valid UTF-8")
}
