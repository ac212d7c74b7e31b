//! The session: framing, dispatch by state, counters, and the driver's entry points.

use super::authorization::{Authenticated, Authorization};
use super::command;
use super::framer::{Frame, Framer};
use super::reply;
use super::transaction::{Maildrop, Transaction, Update};
use crate::auth::sasl::{self, Credentials};
use crate::auth::secret::Secret;

/// RFC 2449 §4: a command is at most 255 octets, CRLF included.
pub const COMMAND_LINE_OCTETS_MAX: usize = 255;
/// A client line during an AUTH exchange: the base64 of the largest SASL response we accept
/// (12 KiB decoded), plus CRLF. RFC 5034 §4 exempts these lines from the 255-octet limit.
pub const SASL_LINE_OCTETS_MAX: usize = sasl::RESPONSE_BASE64_OCTETS_MAX + 2;
/// Peer errors (bad commands, failed logins, over-long lines) before we hang up.
pub const ERRORS_MAX: u32 = 10;
/// Commands accepted in the AUTHORIZATION state before we hang up, whatever their outcome.
pub const AUTHORIZATION_COMMANDS_MAX: u32 = 32;

const _: () = assert!(SASL_LINE_OCTETS_MAX > COMMAND_LINE_OCTETS_MAX);
const _: () = assert!(ERRORS_MAX >= 1 && AUTHORIZATION_COMMANDS_MAX >= ERRORS_MAX);

/// What the driver knows about the connection and the server when the session starts.
#[derive(Debug, Clone)]
pub struct Pop3Config {
    /// Our host name: in the APOP timestamp and the CRAM-MD5 challenge.
    pub hostname: String,
    /// TLS is already on (implicit TLS, port 995).
    pub tls_active: bool,
    /// STLS may be offered (a certificate is configured).
    pub starttls_available: bool,
    /// USER/PASS and SASL PLAIN/LOGIN are allowed: false on a non-TLS, non-loopback connection.
    /// Becomes true after STLS.
    pub plaintext_auth_allowed: bool,
    /// The CAPA IMPLEMENTATION argument (printable ASCII).
    pub implementation: &'static str,
    /// CAPA EXPIRE: `None` announces NEVER (RFC 2449 §6.7).
    pub expire_days: Option<u32>,
    /// CAPA LOGIN-DELAY (RFC 2449 §6.5); enforcing it is the driver's business.
    pub login_delay_secs: u32,
    /// SASL mechanisms offered (PLAIN and LOGIN further need `plaintext_auth_allowed`).
    pub mechanisms: Vec<crate::auth::sasl::Mechanism>,
    /// The TLS connection's channel binding; SCRAM-SHA-256-PLUS is offered only with one.
    pub channel_binding: Option<crate::auth::sasl::ChannelBinding>,
    /// APOP: the greeting carries a timestamp only when it is enabled. Clients such as curl
    /// use APOP whenever they see one, and it works only for `{PLAIN}` accounts.
    pub apop: bool,
    /// The unique part of the APOP timestamp: the greeting carries `<apop_nonce@hostname>`. It
    /// MUST differ for every greeting (RFC 1939 §7): the driver makes it from fresh randomness,
    /// e.g. two random 64-bit numbers as `n1.n2`. Printable ASCII without `<`, `>`, `@`, space.
    pub apop_nonce: String,
}

/// Work the session hands to the driver. Each is answered by one call (see the module docs).
#[derive(Debug)]
pub enum Action {
    /// Check `password` for `user` off the shard; answer [`Session::password_verified`].
    VerifyPassword { user: String, password: Secret },
    /// Look up `user`'s stored secrets; answer [`Session::credentials`] (an unknown user is
    /// `Credentials::default()`).
    Credentials { user: String },
    /// `user` authenticated: lock and load the maildrop (INBOX); answer
    /// [`Session::maildrop_opened`].
    OpenMaildrop { user: String },
    /// The `+OK` line is in the output: after writing it, stream message `index` (0-based in
    /// the [`Maildrop`] list, UID `uid`) through a [`super::Stuffer`] made with `body_lines`,
    /// then call [`Session::message_sent`].
    SendMessage {
        index: usize,
        uid: u32,
        body_lines: Option<u32>,
    },
    /// The `+OK` to STLS is in the output: write it, drop all input received after the STLS
    /// line, run the TLS handshake, then call [`Session::tls_started`].
    StartTls,
    /// QUIT in TRANSACTION: expunge these UIDs durably (one atomic record), then call
    /// [`Session::committed`]. Nothing has been written for the QUIT yet.
    Commit { delete_uids: Vec<u32> },
    /// Write the output, then close the connection. The session is over.
    Close,
}

/// The result of [`Session::feed`].
#[derive(Debug)]
pub struct Feed {
    /// Octets of the input the session used; the driver keeps the rest for the next call.
    pub consumed: usize,
    pub action: Option<Action>,
}

/// Why storage could not do what was asked, by whether retrying later may help.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StorageError {
    /// `-ERR [SYS/TEMP]`: I/O error, shard overloaded, fsync failed.
    Temporary,
    /// `-ERR [SYS/PERM]`: the maildrop cannot be served (corrupt index, account disabled).
    Permanent,
}

/// The answer to [`Action::OpenMaildrop`].
#[derive(Debug)]
pub enum MaildropOpen {
    /// Locked and loaded.
    Ready(Maildrop),
    /// Another POP3 session holds the lock (RFC 2449 §8.1.2).
    InUse,
    /// The account logged in less than `login_delay_secs` ago (RFC 2449 §8.1.1).
    LoginDelay,
    Failed(StorageError),
}

/// The protocol state. A variant that waits for the driver accepts no input.
pub(super) enum State {
    Authorization(Authorization),
    /// Authenticated; the maildrop is being opened.
    Opening(Authenticated),
    Transaction(Transaction),
    /// QUIT received; the deletions are being committed.
    Update(Update),
    Closed,
}

/// The next state and the action, if any, the driver must perform.
pub(super) type Transition = (State, Option<Action>);

/// What the states share: configuration and counters.
pub(super) struct Context {
    pub(super) config: Pop3Config,
    /// `<nonce@hostname>` from the greeting.
    pub(super) apop_timestamp: String,
    pub(super) errors: u32,
    /// SCRAM and CRAM-MD5 nonce for golden transcripts.
    #[cfg(test)]
    pub(super) sasl_nonce: Option<String>,
}

impl Context {
    /// Writes a `-ERR` line caused by the peer and counts it.
    pub(super) fn refuse(&mut self, out: &mut Vec<u8>, text: &str) {
        debug_assert!(text.starts_with("-ERR "));
        self.errors += 1;
        reply::line(out, format_args!("{text}"));
    }
}

/// A POP3 session. See the module documentation for the driver contract.
pub struct Session {
    state: State,
    framer: Framer,
    context: Context,
    authorization_commands: u32,
}

impl Session {
    /// # Panics
    /// If the hostname, nonce or implementation name could corrupt the greeting or CAPA.
    pub fn new(config: &Pop3Config) -> Session {
        let atom = |text: &str| {
            !text.is_empty()
                && text
                    .bytes()
                    .all(|octet| octet.is_ascii_graphic() && !b"<>@".contains(&octet))
        };
        assert!(atom(&config.hostname), "hostname must be printable ASCII");
        assert!(
            atom(&config.apop_nonce),
            "APOP nonce must be printable ASCII"
        );
        assert!(
            config
                .implementation
                .bytes()
                .all(|octet| octet == b' ' || octet.is_ascii_graphic()),
            "implementation must be printable ASCII"
        );
        let apop_timestamp = format!("<{}@{}>", config.apop_nonce, config.hostname);
        Session {
            state: State::Authorization(Authorization::new()),
            framer: Framer::default(),
            context: Context {
                config: config.clone(),
                apop_timestamp,
                errors: 0,
                #[cfg(test)]
                sasl_nonce: None,
            },
            authorization_commands: 0,
        }
    }

    /// Golden transcripts need the SASL exchange to be deterministic.
    #[cfg(test)]
    pub(super) fn with_fixed_sasl_nonce(mut self, nonce: &str) -> Session {
        self.context.sasl_nonce = Some(nonce.to_owned());
        self
    }

    /// The greeting, with the APOP timestamp (RFC 1939 §7).
    pub fn greeting(&mut self, out: &mut Vec<u8>) {
        if self.context.config.apop {
            reply::line(
                out,
                format_args!("+OK POP3 server ready {}", self.context.apop_timestamp),
            );
        } else {
            reply::line(out, format_args!("+OK POP3 server ready"));
        }
    }

    /// True once the session has ended ([`Action::Close`] was returned).
    pub fn is_closed(&self) -> bool {
        matches!(self.state, State::Closed)
    }

    /// The authenticated user while in TRANSACTION, for logs.
    pub fn user(&self) -> Option<&str> {
        match &self.state {
            State::Transaction(transaction) => Some(transaction.user()),
            _ => None,
        }
    }

    /// Processes complete lines of `input` until one needs the driver or the input runs out.
    /// Replies go to `out`. A partial line is left unconsumed; an over-long line is consumed
    /// (and dropped) as it arrives. While an action is outstanding, nothing is consumed.
    pub fn feed(&mut self, input: &[u8], out: &mut Vec<u8>) -> Feed {
        let mut consumed = 0;
        while self.accepts_input() {
            let frame = self.framer.next(&input[consumed..], self.line_octets_max());
            let action = match frame {
                Frame::Incomplete => break,
                Frame::Discarded { length, line_ended } => {
                    consumed += length;
                    if !line_ended {
                        continue;
                    }
                    self.line_too_long(out)
                }
                Frame::Line { line, length } => {
                    consumed += length;
                    self.line(line, out)
                }
            };
            if action.is_some() {
                return Feed { consumed, action };
            }
        }
        Feed {
            consumed,
            action: None,
        }
    }

    /// Answers [`Action::VerifyPassword`].
    pub fn password_verified(&mut self, ok: bool, out: &mut Vec<u8>) -> Option<Action> {
        self.resume(out, |state, context, out| match state {
            State::Authorization(authorization) => {
                authorization.password_verified(ok, context, out)
            }
            other => out_of_sequence(other, "password_verified"),
        })
    }

    /// Answers [`Action::Credentials`]. For SCRAM with an account that has only a `{PLAIN}`
    /// password this derives keys (PBKDF2, 10,000 rounds): call it off the shard, or store
    /// SCRAM keys for such accounts.
    pub fn credentials(&mut self, credentials: Credentials, out: &mut Vec<u8>) -> Option<Action> {
        self.resume(out, |state, context, out| match state {
            State::Authorization(authorization) => {
                authorization.credentials(credentials, context, out)
            }
            other => out_of_sequence(other, "credentials"),
        })
    }

    /// Answers [`Action::OpenMaildrop`].
    pub fn maildrop_opened(&mut self, result: MaildropOpen, out: &mut Vec<u8>) -> Option<Action> {
        self.resume(out, |state, _context, out| match state {
            State::Opening(authenticated) => match result {
                MaildropOpen::Ready(maildrop) => {
                    let transaction = Transaction::open(authenticated, maildrop);
                    transaction.write_summary("+OK maildrop has", out);
                    (State::Transaction(transaction), None)
                }
                MaildropOpen::InUse => {
                    // RFC 2449 §8.1.2. The session stays in AUTHORIZATION (RFC 1939 §4).
                    reply::line(
                        out,
                        format_args!("-ERR [IN-USE] maildrop is in use by another session"),
                    );
                    (State::Authorization(Authorization::new()), None)
                }
                MaildropOpen::LoginDelay => {
                    // RFC 2449 §8.1.1: refused until the login delay has passed.
                    reply::line(
                        out,
                        format_args!("-ERR [LOGIN-DELAY] logged in too recently, try later"),
                    );
                    (State::Authorization(Authorization::new()), None)
                }
                MaildropOpen::Failed(error) => {
                    reply::line(
                        out,
                        format_args!("-ERR {} unable to open maildrop", code(error)),
                    );
                    (State::Authorization(Authorization::new()), None)
                }
            },
            other => out_of_sequence(other, "maildrop_opened"),
        })
    }

    /// Answers [`Action::SendMessage`] once the message and its `.CRLF` are in the output.
    pub fn message_sent(&mut self) {
        match &mut self.state {
            State::Transaction(transaction) => transaction.message_sent(),
            _ => debug_assert!(false, "message_sent without SendMessage"),
        }
    }

    /// Answers [`Action::StartTls`] once the handshake succeeded. The session is back at the
    /// start of AUTHORIZATION, with plaintext passwords allowed (RFC 2595 §4).
    /// Set by the driver once TLS is up (TLS 1.3 exporter), before any AUTH.
    pub fn set_channel_binding(&mut self, binding: Option<crate::auth::sasl::ChannelBinding>) {
        self.context.config.channel_binding = binding;
    }

    pub fn tls_started(&mut self) {
        let mut sink = Vec::new();
        self.resume(&mut sink, |state, context, _out| match state {
            State::Authorization(authorization) => authorization.tls_started(context),
            other => out_of_sequence(other, "tls_started"),
        });
        debug_assert!(sink.is_empty());
    }

    /// Answers [`Action::Commit`]: `Ok` only once the expunge is durable.
    pub fn committed(
        &mut self,
        result: Result<(), StorageError>,
        out: &mut Vec<u8>,
    ) -> Option<Action> {
        self.resume(out, |state, _context, out| match state {
            State::Update(update) => {
                match result {
                    Ok(()) => update.write_signoff(out),
                    // RFC 1939 §6 lets some deletions fail; ours are one atomic record, so a
                    // failed commit removed none of them.
                    Err(error) => reply::line(
                        out,
                        format_args!("-ERR {} deleted messages not removed", code(error)),
                    ),
                }
                (State::Closed, Some(Action::Close))
            }
            other => out_of_sequence(other, "committed"),
        })
    }

    fn accepts_input(&self) -> bool {
        match &self.state {
            State::Authorization(authorization) => !authorization.is_waiting(),
            State::Transaction(transaction) => !transaction.is_sending(),
            State::Opening(_) | State::Update(_) | State::Closed => false,
        }
    }

    fn line_octets_max(&self) -> usize {
        match &self.state {
            State::Authorization(authorization) if authorization.expects_sasl_line() => {
                SASL_LINE_OCTETS_MAX
            }
            _ => COMMAND_LINE_OCTETS_MAX,
        }
    }

    fn line(&mut self, line: &[u8], out: &mut Vec<u8>) -> Option<Action> {
        if matches!(&self.state, State::Authorization(authorization) if !authorization.expects_sasl_line())
        {
            self.authorization_commands += 1;
            if self.authorization_commands > AUTHORIZATION_COMMANDS_MAX {
                reply::line(
                    out,
                    format_args!("-ERR too many commands without authentication"),
                );
                self.state = State::Closed;
                return Some(Action::Close);
            }
        }
        self.resume(out, |state, context, out| match state {
            State::Authorization(authorization) if authorization.expects_sasl_line() => {
                authorization.sasl_line(line, context, out)
            }
            State::Authorization(authorization) => match command::parse(line) {
                Ok(command) => authorization.command(command, context, out),
                Err(error) => {
                    context.refuse(out, error.reply());
                    (State::Authorization(authorization), None)
                }
            },
            State::Transaction(transaction) => match command::parse(line) {
                Ok(command) => transaction.command(command, context, out),
                Err(error) => {
                    context.refuse(out, error.reply());
                    (State::Transaction(transaction), None)
                }
            },
            other => out_of_sequence(other, "feed"),
        })
    }

    fn line_too_long(&mut self, out: &mut Vec<u8>) -> Option<Action> {
        self.resume(out, |state, context, out| {
            context.refuse(out, "-ERR line too long");
            match state {
                // The exchange cannot go on without the response it just lost.
                State::Authorization(authorization) => {
                    (State::Authorization(authorization.abandon_sasl()), None)
                }
                other => (other, None),
            }
        })
    }

    /// Runs one transition on the current state, then enforces the error limit.
    fn resume(
        &mut self,
        out: &mut Vec<u8>,
        step: impl FnOnce(State, &mut Context, &mut Vec<u8>) -> Transition,
    ) -> Option<Action> {
        let state = std::mem::replace(&mut self.state, State::Closed);
        let (state, action) = step(state, &mut self.context, out);
        self.state = state;
        if self.context.errors >= ERRORS_MAX && !self.is_closed() {
            // An error never comes with an action, so none is lost here. Closing without
            // UPDATE deletes nothing (RFC 1939 §6).
            debug_assert!(action.is_none());
            reply::line(
                out,
                format_args!("-ERR too many errors, closing connection"),
            );
            self.state = State::Closed;
            return Some(Action::Close);
        }
        action
    }
}

/// RFC 3206 codes for storage failures.
fn code(error: StorageError) -> &'static str {
    match error {
        StorageError::Temporary => "[SYS/TEMP]",
        StorageError::Permanent => "[SYS/PERM]",
    }
}

/// A result method called while the session waits for something else: a driver bug. Debug
/// builds stop; release builds keep the state unchanged.
fn out_of_sequence(state: State, method: &str) -> Transition {
    debug_assert!(false, "{method} called out of sequence");
    (state, None)
}
