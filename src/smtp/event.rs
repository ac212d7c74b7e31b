//! What the session hands to its driver, and what the driver answers.

use std::borrow::Cow;
use std::ops::Range;

use super::params::{MailParameters, RcptParameters};
use crate::auth::secret::Secret;

/// The result of one [`Session::feed`](super::Session::feed) call.
#[derive(Debug)]
#[must_use = "the driver must drop `consumed` octets and act on the event"]
pub struct Feed {
    /// Octets of the input the session is done with; the driver drops them from its buffer
    /// after it has acted on `event` (a [`Content::Input`] range points into this input).
    pub consumed: usize,
    /// `None`: the session needs more input (after the driver has written `out`).
    pub event: Option<Event>,
}

/// Message content to append to the message being stored, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Content {
    /// These octets of the input given to this `feed` call (zero-copy, the common case).
    Input(Range<usize>),
    /// Octets the session supplies: a normalised line ending, or on submission the header
    /// block it held back.
    Bytes(Cow<'static, [u8]>),
}

#[derive(Debug)]
pub enum Event {
    /// AUTH PLAIN/LOGIN: check the password off the shard, then call
    /// [`Session::password_verified`](super::Session::password_verified).
    VerifyPassword { user: String, password: Secret },
    /// AUTH SCRAM-SHA-256/CRAM-MD5: look the account up, then call
    /// [`Session::credentials`](super::Session::credentials).
    Credentials { user: String },
    /// Informational: the client authenticated (235 is written).
    Authenticated { user: String },
    /// Informational: an authentication failed (535 is written); apply the login throttle.
    AuthFailed,
    /// RCPT: resolve this normalised address, then call
    /// [`Session::recipient_checked`](super::Session::recipient_checked).
    Recipient { address: String },
    /// The first content of a message follows: open a message for
    /// [`Session::envelope`](super::Session::envelope) and write
    /// [`Session::trace_header`](super::Session::trace_header) into it.
    MessageStart,
    /// Submission only, before the held header block: write these fields into the message.
    MissingHeaderFields { date: bool, message_id: bool },
    /// Append to the message.
    Content(Content),
    /// A BDAT chunk without LAST is complete: make it durable enough to acknowledge, then call
    /// [`Session::content_written`](super::Session::content_written).
    ChunkEnd,
    /// The message is complete: deliver it (durably), then call
    /// [`Session::delivered`](super::Session::delivered).
    EndOfData,
    /// Discard the message being stored; the session answers the client itself.
    Abort,
    /// `220 2.0.0` for STARTTLS is in `out`: write it, drop every octet after `consumed`
    /// (CVE-2011-0411), run the TLS handshake, then call
    /// [`Session::tls_started`](super::Session::tls_started).
    StartTls,
    /// Write `out` and close the connection (after QUIT, or a 421). Any message being stored
    /// is discarded.
    Close,
}

/// The driver's answer to [`Event::Recipient`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecipientCheck {
    /// Deliver to these accounts (aliases expanded).
    Local(Vec<String>),
    /// Our domain, nobody there.
    UnknownUser,
    /// Not our domain.
    NotLocal,
    /// The directory could not be consulted.
    TemporaryFailure,
}

/// The driver's answer to [`Event::EndOfData`], one per recipient of the envelope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryResult {
    /// Durable in every account the recipient resolved to.
    Delivered,
    /// Over quota (452 4.2.2).
    OverQuota,
    /// The server's storage is full; the client should retry (452 4.3.1).
    NoSpace,
    /// Storage failed; the client should retry (451 4.3.0).
    TemporaryFailure,
    /// The mailbox cannot take this message, now or later (550 5.2.0).
    PermanentFailure,
}

/// A recipient the session accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    /// Normalised (see `accounts::normalise_address`).
    pub address: String,
    /// The accounts it resolved to.
    pub accounts: Vec<String>,
    pub parameters: RcptParameters,
}

/// The transaction a message belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Envelope {
    /// The reverse-path as given, without brackets; empty for `<>`.
    pub reverse_path: String,
    pub parameters: MailParameters,
    /// In RCPT order; duplicates kept (LMTP answers each).
    pub recipients: Vec<Recipient>,
}
