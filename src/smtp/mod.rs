//! SMTP (RFC 5321), submission (RFC 6409, RFC 8314) and LMTP (RFC 2033) as a sans-IO state
//! machine: bytes and driver answers in, replies and [`Event`]s out. No socket, clock, storage
//! or async here; the network driver around a [`Session`] is thin.
//!
//! # Driver contract
//!
//! ```text
//! session = Session::new(config); session.greeting(&mut out); write out
//! loop:
//!     feed = session.feed(&buffer, &mut out)
//!     act on feed.event (below), using &buffer[..] for Content::Input ranges
//!     buffer.drop_front(feed.consumed); write out (replies are in order, RFC 2920)
//!     if feed.event is None: read more input into buffer (idle timeout: idle_timeout())
//! ```
//!
//! - The read buffer must hold at least `limits.read_buffer_octets_min()` octets: an
//!   incomplete line stays unconsumed until it completes or reaches the line limit; an
//!   over-long line is then consumed as it arrives and answered when it ends.
//! - An event with an answer method puts the session on hold: call the method (which may
//!   write replies to `out`), then call `feed` again with the unconsumed input; the answer may
//!   queue a follow-up event, which that `feed` returns with `consumed == 0`. Calling `feed`
//!   while an answer is owed panics (a driver bug).
//!
//! | event | the driver |
//! | --- | --- |
//! | `VerifyPassword { user, password }` | verifies off the shard → `password_verified(ok, out)` |
//! | `Credentials { user }` | looks the account up → `credentials(Option<Credentials>, out)` |
//! | `Authenticated { user }`, `AuthFailed` | informational (logging, login throttle) |
//! | `Recipient { address }` | resolves the normalised address → `recipient_checked(check, out)` |
//! | `MessageStart` | opens a message for `envelope()` on the owner shard(s) and writes `trace_header(id, date)` first |
//! | `MissingHeaderFields { date, message_id }` | submission: writes `Date:` / `Message-ID:` fields (RFC 6409 §8) |
//! | `Content(Input(range))` / `Content(Bytes(..))` | appends `&buffer[range]` / the bytes to the message |
//! | `ChunkEnd` | BDAT chunk done: makes it durable enough to acknowledge → `content_written(out)` |
//! | `EndOfData` | delivers durably to every recipient → `delivered(&[DeliveryResult], out)`, one per `envelope().recipients` |
//! | `Abort` | discards the open message (size limit, bare CR/LF, RSET); the session replies itself |
//! | `StartTls` | writes `out`, drops every buffered octet after `consumed` (CVE-2011-0411), handshakes → `tls_started()` |
//! | `Close` | writes `out`, closes; any open message is discarded |
//!
//! The driver also applies: the idle timeout (`limits.idle_timeout_secs`, RFC 5321
//! §4.5.3.2.7, answered with `idle_timeout(out)`), connection limits (`refuse_connection`), and
//! a delay growing with `error_count()` before writing replies to an erring client. In SMTP
//! the driver de-duplicates accounts across recipients (one copy per account); in LMTP each
//! recipient gets its own result.
//!
//! # Framing
//!
//! Frame first, then parse: command lines end with CRLF (a bare-LF line gets 500) and are at
//! most `command_line_octets_max`; DATA content goes through the framer in `data.rs`, which
//! unstuffs dots and ends only at `<CRLF>.<CRLF>`; BDAT octets are counted, never parsed. A
//! BDAT that is refused is still drained. Content is streamed as ranges of the input: the
//! session buffers none of it, except on submission, where the header block (at most
//! `submission_header_octets_max`) is held back to add missing Date/Message-ID (see
//! `header.rs`). Text lines inside content have no length limit here: memory does not depend on
//! them, and the ingest parser bounds what it keeps.
//!
//! # Choices where the RFCs leave room
//!
//! - Bare CR/LF in DATA: 554 5.6.0 after the end of data, nothing stored, unless
//!   `normalise_bare_line_endings` (then CRLF). Either way only `<CRLF>.<CRLF>` ends the data.
//! - Relay refused: 550 5.7.1 (RFC 5321 §3.6.2; 554 is not a RCPT reply).
//! - Over-long command line: 500 5.5.2 (X.5.6 belongs to AUTH, RFC 4954 §4, which gets it).
//! - EXPN: 502 5.5.1 (disabled, RFC 5321 §7.3); VRFY: 252 2.5.0.
//! - A BDAT whose size cannot be read: 421 and close (its octets cannot be framed).
//! - `<Postmaster>` is resolved as `postmaster@<hostname>`.

mod address;
mod auth;
mod body;
mod chunk;
mod command;
mod config;
mod data;
pub mod driver;
mod event;
mod header;
mod params;
mod reply;
mod scan;
mod session;
mod trace;
mod transaction;

#[cfg(test)]
mod tests;

pub use config::{
    AUTH_LINE_OCTETS_MAX, COMMAND_LINE_OCTETS_MAX, ERRORS_MAX, IDLE_TIMEOUT_SECS,
    MESSAGE_OCTETS_MAX, Mode, RECIPIENTS_MAX, SUBMISSION_HEADER_OCTETS_MAX, SmtpConfig, SmtpLimits,
    UNAUTHENTICATED_COMMANDS_MAX,
};
pub use event::{Content, DeliveryResult, Envelope, Event, Feed, Recipient, RecipientCheck};
pub use params::{Body, MailParameters, Notify, OriginalRecipient, RcptParameters, Ret};
pub use session::Session;
