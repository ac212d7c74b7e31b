//! What a session is told when it is created: its mode, names, TLS state and limits.

use std::net::IpAddr;

use crate::auth::sasl::{self, Mechanism};

/// RFC 5321 §4.5.3.1.4 allows 512 octets (CRLF included) for a command line; SIZE, BODY,
/// SMTPUTF8, the DSN parameters (RFC 3461 §4.1: ENVID 100, ORCPT 500) and AUTH= (RFC 4954 §5:
/// 500) each extend it. 2048 holds every legal combination with room to spare.
pub const COMMAND_LINE_OCTETS_MAX: usize = 2048;
/// RFC 4954 §4: an authentication exchange line may be as long as the mechanism needs; this is
/// the longest base64 response the SASL module accepts, plus CRLF.
pub const AUTH_LINE_OCTETS_MAX: usize = sasl::RESPONSE_BASE64_OCTETS_MAX + 2;
/// RFC 5321 §4.5.3.1.8 requires room for at least 100 recipients.
pub const RECIPIENTS_MAX: usize = 100;
pub const MESSAGE_OCTETS_MAX: u64 = 50 * 1024 * 1024;
/// The header block a submission session holds back to add Date/Message-ID (RFC 6409 §8).
pub const SUBMISSION_HEADER_OCTETS_MAX: usize = 64 * 1024;
pub const ERRORS_MAX: u32 = 10;
pub const UNAUTHENTICATED_COMMANDS_MAX: u32 = 32;
/// RFC 5321 §4.5.3.2.7: a server waits at least 5 minutes for the next command. The session has
/// no clock: the driver applies this (and §4.5.3.2.6's 10 minutes after `.` does not apply to a
/// server).
pub const IDLE_TIMEOUT_SECS: u64 = 300;

const _: () = assert!(COMMAND_LINE_OCTETS_MAX >= 512);
const _: () = assert!(AUTH_LINE_OCTETS_MAX >= 12_288);
const _: () = assert!(RECIPIENTS_MAX >= 100);

/// Which protocol the listener speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Port 25: mail from the Internet for local accounts.
    Mx,
    /// Ports 587/465 (RFC 6409, RFC 8314): mail from users' clients; AUTH is usually required.
    Submission,
    /// RFC 2033: mail from a trusted MTA; LHLO, one reply per recipient after the data.
    Lmtp,
}

/// Every bound a session enforces. Units are in the names.
#[derive(Debug, Clone)]
pub struct SmtpLimits {
    /// Longest command line, CRLF included.
    pub command_line_octets_max: usize,
    /// Longest AUTH exchange line, CRLF included.
    pub auth_line_octets_max: usize,
    /// Accepted recipients per transaction; more get 452 4.5.3 (RFC 5321 §4.5.3.1.10).
    pub recipients_max: usize,
    /// Largest message (content as the client sent it, unstuffed); advertised with SIZE.
    pub message_octets_max: u64,
    /// Header block held back on submission to add missing fields.
    pub submission_header_octets_max: usize,
    /// Error replies before the session answers 421 and closes.
    pub errors_max: u32,
    /// Commands accepted before authentication when authentication is required.
    pub unauthenticated_commands_max: u32,
    /// For the driver: how long to wait for input before closing with 421.
    pub idle_timeout_secs: u64,
}

impl Default for SmtpLimits {
    fn default() -> Self {
        SmtpLimits {
            command_line_octets_max: COMMAND_LINE_OCTETS_MAX,
            auth_line_octets_max: AUTH_LINE_OCTETS_MAX,
            recipients_max: RECIPIENTS_MAX,
            message_octets_max: MESSAGE_OCTETS_MAX,
            submission_header_octets_max: SUBMISSION_HEADER_OCTETS_MAX,
            errors_max: ERRORS_MAX,
            unauthenticated_commands_max: UNAUTHENTICATED_COMMANDS_MAX,
            idle_timeout_secs: IDLE_TIMEOUT_SECS,
        }
    }
}

impl SmtpLimits {
    /// The read buffer the driver must be able to hold: a partial line stays unconsumed until it
    /// is complete or reaches the limit, so a smaller buffer could stall.
    pub fn read_buffer_octets_min(&self) -> usize {
        self.command_line_octets_max.max(self.auth_line_octets_max)
    }
}

#[derive(Debug, Clone)]
pub struct SmtpConfig {
    pub mode: Mode,
    /// The TLS connection's channel binding; SCRAM-SHA-256-PLUS is offered only with one.
    pub channel_binding: Option<crate::auth::sasl::ChannelBinding>,
    /// Our name: in the greeting, EHLO reply and Received header.
    pub hostname: String,
    /// The client's address, for the Received header.
    pub peer: Option<IpAddr>,
    /// TLS is already on (implicit TLS, RFC 8314 §3.3).
    pub tls_active: bool,
    /// STARTTLS can be offered (a certificate is configured).
    pub starttls_available: bool,
    /// SASL mechanisms offered; empty means no AUTH (the usual MX and LMTP setting).
    pub auth_mechanisms: Vec<Mechanism>,
    /// MAIL is refused until the client has authenticated (submission).
    pub auth_required: bool,
    /// PLAIN and LOGIN may be used without TLS (loopback only, by policy).
    pub plaintext_auth_allowed: bool,
    /// Convert a bare CR or LF in DATA to CRLF instead of refusing the message.
    pub normalise_bare_line_endings: bool,
    pub limits: SmtpLimits,
}

impl SmtpConfig {
    /// Defaults for a mode: AUTH required and offered on submission, not offered elsewhere.
    pub fn new(mode: Mode, hostname: impl Into<String>) -> Self {
        let submission = mode == Mode::Submission;
        SmtpConfig {
            mode,
            hostname: hostname.into(),
            peer: None,
            tls_active: false,
            starttls_available: false,
            auth_mechanisms: if submission {
                vec![Mechanism::ScramSha256, Mechanism::Plain, Mechanism::Login]
            } else {
                Vec::new()
            },
            auth_required: submission,
            plaintext_auth_allowed: false,
            normalise_bare_line_endings: false,
            channel_binding: None,
            limits: SmtpLimits::default(),
        }
    }
}
