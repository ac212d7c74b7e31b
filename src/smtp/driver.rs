//! The glue between an SMTP, submission or LMTP [`Session`] and a connection on a shard: reads
//! the socket into a bounded buffer, feeds the session, writes its replies, and performs its
//! events (see the driver contract in `smtp/mod.rs`). A message streams into one delivery per
//! distinct account, each going to the account's owner shard; replies that report a message
//! accepted are written only once every copy has been committed (durable).

use std::cell::Cell;
use std::collections::HashSet;
use std::io;
use std::net::IpAddr;
use std::rc::Rc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::params::envelope_text;
use super::{Content, DeliveryResult, Event, Mode, RecipientCheck, Session, SmtpConfig};
use crate::accounts::Resolution;
use crate::config::{ListenerConfig, Protocol, TlsMode};
use crate::date::{now_secs, rfc5322_date};
use crate::mailstore::DeliveryError;
use crate::net::{Connection, ConnectionPermit, InputBuffer, Refusal};
use crate::runtime::deliver::OutgoingDelivery;
use crate::runtime::login::Login;
use crate::runtime::shard::Shard;

/// Error replies a client may earn before its replies are slowed down.
pub const ERROR_DELAY_FREE_ERRORS: u32 = 3;
/// Added to the delay for every error reply beyond the free ones.
pub const ERROR_DELAY_STEP: Duration = Duration::from_millis(500);
/// The longest pause before an error reply (the session closes at `errors_max` anyway).
pub const ERROR_DELAY_MAX: Duration = Duration::from_secs(5);
/// How often a session waiting for input looks whether the shard is shutting down.
pub const SHUTDOWN_POLL_INTERVAL: Duration = Duration::from_millis(250);
/// Replies are written when the session needs input, or earlier once this many are waiting.
pub const OUTPUT_FLUSH_OCTETS: usize = 64 * 1024;

const _: () = assert!(ERROR_DELAY_FREE_ERRORS < super::ERRORS_MAX);

/// The words for a connection turned away before its session starts (RFC 5321 §3.1: a server
/// may answer 421 instead of 220, then close).
pub fn refuse(refusal: Refusal) -> &'static [u8] {
    match refusal {
        Refusal::TooManyConnections => b"421 4.7.0 Too many connections, try again later\r\n",
        Refusal::TooManyFromAddress => {
            b"421 4.7.0 Too many connections from your address, try again later\r\n"
        }
    }
}

/// Serves a newly accepted SMTP, submission or LMTP connection.
pub async fn serve(
    shard: Rc<Shard>,
    mut connection: Connection,
    listener: ListenerConfig,
    permit: ConnectionPermit,
) {
    let idle = Duration::from_secs(super::IDLE_TIMEOUT_SECS);
    if connection.set_idle_timeout(Some(idle)).is_err() {
        return;
    }
    if listener.tls == TlsMode::Implicit {
        // RFC 8314 §3.3: TLS from the first octet; a failed handshake has nobody to answer.
        let tls = shard.state.tls_for(&listener);
        if let Err(e) = connection.start_tls(tls).await {
            tracing::debug!("SMTP TLS handshake with {} failed: {e}", connection.peer());
            return;
        }
    }
    let config = session_config(&shard, &connection, &listener);
    let session = Session::new(config);
    let buffer = InputBuffer::new(session.config().limits.read_buffer_octets_min());
    let driver = Driver {
        listener,
        peer: connection.peer().ip(),
        shard,
        connection,
        buffer,
        out: Vec::new(),
        message: None,
        errors_answered: 0,
        sasl_outcome_owed: false,
        _permit: permit,
    };
    driver.run(session).await;
}

fn session_config(shard: &Shard, connection: &Connection, listener: &ListenerConfig) -> SmtpConfig {
    let config = &shard.state.config;
    let mode = match listener.protocol {
        Protocol::Smtp => Mode::Mx,
        Protocol::Submission | Protocol::Submissions => Mode::Submission,
        Protocol::Lmtp => Mode::Lmtp,
        other => unreachable!("{} is not an SMTP listener", other.name()),
    };
    let tls_active = connection.is_tls();
    let loopback = connection.peer().ip().is_loopback();
    let mut session = SmtpConfig::new(mode, config.hostname.clone());
    session.peer = Some(connection.peer().ip());
    session.channel_binding = connection.channel_binding();
    session.tls_active = tls_active;
    session.starttls_available = listener.tls == TlsMode::Starttls && !tls_active;
    // The session also allows PLAIN/LOGIN whenever TLS is active.
    session.plaintext_auth_allowed = loopback && config.auth.plaintext_on_loopback;
    if mode == Mode::Submission {
        session.auth_mechanisms = config.auth.mechanisms.clone();
    }
    session
}

/// One copy of the message being received: the delivery into one account.
struct Copy {
    account: String,
    state: CopyState,
    /// The DSN envelope of this account's copy (RFC 3461), stored with it.
    envelope: Vec<u8>,
}

enum CopyState {
    Open(OutgoingDelivery),
    /// Begin or a write failed; the other copies carry on.
    Failed(DeliveryResult),
}

/// The message between `MessageStart` and `EndOfData`/`Abort`.
struct Message {
    /// One per distinct account across the envelope's recipients.
    copies: Vec<Copy>,
    /// The trace id, also the local part of an added Message-ID.
    id: String,
    /// RFC 5322 date-time of reception, for Received and an added Date.
    date: String,
}

impl Message {
    /// Appends `bytes` to every copy still open.
    async fn write(&mut self, bytes: &[u8]) {
        for copy in &mut self.copies {
            let CopyState::Open(delivery) = &mut copy.state else {
                continue;
            };
            if let Err(e) = delivery.write(bytes).await {
                tracing::warn!("delivery to {} failed: {e}", copy.account);
                copy.state = CopyState::Failed(delivery_result(&e));
            }
        }
    }

    /// Commits every open copy; returns each account's result.
    async fn commit(self, internal_date_secs: i64) -> Vec<(String, DeliveryResult)> {
        let mut results = Vec::with_capacity(self.copies.len());
        for copy in self.copies {
            let result = match copy.state {
                CopyState::Failed(result) => result,
                CopyState::Open(delivery) => {
                    match delivery.commit(internal_date_secs, copy.envelope).await {
                        Ok(_uid) => DeliveryResult::Delivered,
                        Err(e) => {
                            tracing::warn!("delivery to {} failed: {e}", copy.account);
                            delivery_result(&e)
                        }
                    }
                }
            };
            results.push((copy.account, result));
        }
        results
    }
}

fn delivery_result(error: &DeliveryError) -> DeliveryResult {
    match error {
        DeliveryError::OverQuota => DeliveryResult::OverQuota,
        DeliveryError::NoSpace => DeliveryResult::NoSpace,
        DeliveryError::Temporary(_) => DeliveryResult::TemporaryFailure,
    }
}

struct Driver {
    shard: Rc<Shard>,
    /// The listener this connection came in on (its TLS certificates).
    listener: ListenerConfig,
    connection: Connection,
    peer: IpAddr,
    buffer: InputBuffer,
    out: Vec<u8>,
    message: Option<Message>,
    /// Error replies already delayed (see `flush`).
    errors_answered: u32,
    /// A CRAM/SCRAM exchange's outcome is still to be told to the login throttle.
    sasl_outcome_owed: bool,
    _permit: ConnectionPermit,
}

/// Why the loop waiting for input stopped.
enum Input {
    More,
    Ended,
    TimedOut,
    ShuttingDown,
}

impl Driver {
    async fn run(mut self, mut session: Session) {
        session.greeting(&mut self.out);
        if let Err(e) = self.serve(&mut session).await {
            tracing::debug!("SMTP connection from {} ended: {e}", self.peer);
            // Whatever was being received is dropped with the connection.
            self.message = None;
            return;
        }
        self.message = None;
        let _ = self.flush(&session).await;
        self.connection.close().await;
    }

    /// Runs the session until it closes; an I/O error ends the connection without a reply.
    async fn serve(&mut self, session: &mut Session) -> io::Result<()> {
        loop {
            let feed = session.feed(self.buffer.unread(), &mut self.out);
            let Some(event) = feed.event else {
                self.buffer.consume(feed.consumed);
                self.flush(session).await?;
                if session.is_closed() {
                    return Ok(());
                }
                match self.read().await? {
                    Input::More => continue,
                    // The client left without QUIT: nothing to answer.
                    Input::Ended => return Err(io::ErrorKind::UnexpectedEof.into()),
                    Input::TimedOut => session.idle_timeout(&mut self.out),
                    Input::ShuttingDown => session.refuse_connection(&mut self.out),
                }
                return Ok(());
            };
            match event {
                Event::Close => {
                    self.buffer.consume(feed.consumed);
                    return Ok(());
                }
                Event::StartTls => {
                    // RFC 3207 §4.2 / CVE-2011-0411: nothing sent before the handshake counts.
                    self.buffer.clear();
                    self.flush(session).await?;
                    let tls = self.shard.state.tls_for(&self.listener);
                    self.connection.start_tls(tls).await?;
                    session.tls_started();
                    session.set_channel_binding(self.connection.channel_binding());
                }
                Event::Content(Content::Input(range)) => {
                    if let Some(message) = &mut self.message {
                        message.write(&self.buffer.unread()[range]).await;
                    }
                    self.buffer.consume(feed.consumed);
                }
                other => {
                    self.buffer.consume(feed.consumed);
                    self.perform(session, other).await;
                }
            }
            if self.out.len() >= OUTPUT_FLUSH_OCTETS {
                self.flush(session).await?;
            }
        }
    }

    /// Reads more input; at shutdown, a session between commands stops waiting.
    async fn read(&mut self) -> io::Result<Input> {
        if self.buffer.is_full() {
            // The session consumes over-long lines as they arrive: a driver or session bug.
            return Err(io::Error::other("input buffer full with nothing consumed"));
        }
        let shutting_down = &self.shard.state.shutting_down;
        // A message in progress is finished first; the shutdown grace bounds how long.
        if self.message.is_none() && shutting_down.get() {
            return Ok(Input::ShuttingDown);
        }
        let fill = async { Some(self.buffer.fill(&mut self.connection).await) };
        let result = if self.message.is_none() {
            let shutdown = async {
                while !shutting_down.get() {
                    glommio::timer::sleep(SHUTDOWN_POLL_INTERVAL).await;
                }
                None
            };
            // A read cut short is never resumed: the session answers 421 and closes.
            futures_lite::future::or(fill, shutdown).await
        } else {
            fill.await
        };
        match result {
            None => Ok(Input::ShuttingDown),
            Some(Ok(0)) => Ok(Input::Ended),
            Some(Ok(_)) => Ok(Input::More),
            Some(Err(e)) if e.kind() == io::ErrorKind::TimedOut => Ok(Input::TimedOut),
            Some(Err(e)) => Err(e),
        }
    }

    /// Performs an event other than Close, StartTls and input content, and answers it.
    async fn perform(&mut self, session: &mut Session, event: Event) {
        let ip = self.peer;
        match event {
            Event::VerifyPassword { user, password } => {
                // `login` applies the throttle and records the outcome itself.
                let login = self.shard.login(ip, &user, password).await;
                session.password_verified(matches!(login, Login::Accepted(_)), &mut self.out);
            }
            Event::Credentials { user } => {
                // Throttled: refused like an unknown account, after the same exchange.
                let credentials = self.shard.credentials(ip, &user).await;
                // Counted as a failure until it succeeds, so an abandoned exchange counts too.
                self.shard.count_login_attempt(ip);
                self.sasl_outcome_owed = true;
                session.credentials(credentials.map(|(_, c)| c), &mut self.out);
            }
            Event::Authenticated { user } => {
                tracing::debug!("SMTP login of {} from {ip}", escape(&user));
                if std::mem::take(&mut self.sasl_outcome_owed) {
                    self.shard.record_login(ip, true).await;
                }
            }
            // The failure was counted when the credentials were looked up (or by `login`).
            Event::AuthFailed => self.sasl_outcome_owed = false,
            Event::Recipient { address } => {
                let check = match self.shard.state.directory.get().resolve(&address) {
                    Resolution::Local(accounts) => RecipientCheck::Local(accounts),
                    Resolution::UnknownUser => RecipientCheck::UnknownUser,
                    Resolution::NotLocal => RecipientCheck::NotLocal,
                };
                session.recipient_checked(check, &mut self.out);
            }
            Event::MessageStart => self.message = Some(self.begin_message(session).await),
            Event::MissingHeaderFields { date, message_id } => {
                if let Some(message) = &mut self.message {
                    let hostname = &session.config().hostname;
                    let mut fields = String::new();
                    // RFC 6409 §8.2, §8.3 (RFC 5322 §3.3, §3.6.4).
                    if date {
                        fields.push_str(&format!("Date: {}\r\n", message.date));
                    }
                    if message_id {
                        fields.push_str(&format!("Message-ID: <{}@{hostname}>\r\n", message.id));
                    }
                    message.write(fields.as_bytes()).await;
                }
            }
            Event::Content(Content::Bytes(bytes)) => {
                if let Some(message) = &mut self.message {
                    message.write(&bytes).await;
                }
            }
            // Every write so far has been handed to the delivery, which is all RFC 3030's 250
            // for a chunk promises; durability comes with the LAST chunk.
            Event::ChunkEnd => session.content_written(&mut self.out),
            Event::EndOfData => {
                let results = self.deliver(session).await;
                session.delivered(&results, &mut self.out);
            }
            Event::Abort => self.message = None,
            Event::Content(Content::Input(_)) | Event::StartTls | Event::Close => {
                unreachable!("handled by the loop")
            }
        }
    }

    /// Opens a delivery per distinct account and writes the trace fields into each.
    async fn begin_message(&mut self, session: &Session) -> Message {
        self.message = None;
        let now = u64::try_from(now_secs()).unwrap_or(0);
        let id = message_id(self.shard.state.id, now);
        let date = rfc5322_date(now);
        let trace = session.trace_header(&id, &date);
        let envelope = session
            .envelope()
            .expect("MessageStart comes inside a transaction");
        let mut seen = HashSet::new();
        let mut copies = Vec::new();
        for account in envelope.recipients.iter().flat_map(|r| &r.accounts) {
            if !seen.insert(account.as_str()) {
                continue;
            }
            let state = match self.shard.begin_delivery(account).await {
                Ok(delivery) => CopyState::Open(delivery),
                Err(e) => {
                    tracing::warn!("delivery to {account} failed to start: {e}");
                    CopyState::Failed(delivery_result(&e))
                }
            };
            let reaching = envelope
                .recipients
                .iter()
                .filter(|r| r.accounts.iter().any(|a| a == account))
                .map(|r| (r.address.as_str(), &r.parameters));
            copies.push(Copy {
                account: account.clone(),
                state,
                envelope: envelope_text(&envelope.reverse_path, &envelope.parameters, reaching),
            });
        }
        let mut message = Message { copies, id, date };
        message.write(&trace).await;
        message
    }

    /// Commits every copy; one result per envelope recipient: delivered when every account
    /// it names has the message, else the first failure among them.
    async fn deliver(&mut self, session: &Session) -> Vec<DeliveryResult> {
        let envelope = session
            .envelope()
            .expect("EndOfData comes inside a transaction");
        let committed = match self.message.take() {
            Some(message) => message.commit(now_secs()).await,
            None => Vec::new(),
        };
        envelope
            .recipients
            .iter()
            .map(|recipient| {
                recipient
                    .accounts
                    .iter()
                    .map(|account| {
                        committed
                            .iter()
                            .find(|(name, _)| name == account)
                            .map_or(DeliveryResult::TemporaryFailure, |(_, result)| *result)
                    })
                    .find(|result| *result != DeliveryResult::Delivered)
                    .unwrap_or(DeliveryResult::Delivered)
            })
            .collect()
    }

    /// Writes the replies waiting, after a pause that grows with the client's errors.
    async fn flush(&mut self, session: &Session) -> io::Result<()> {
        if self.out.is_empty() {
            return Ok(());
        }
        let errors = session.error_count();
        if errors > self.errors_answered {
            self.errors_answered = errors;
            let delay = error_delay(errors);
            if !delay.is_zero() {
                glommio::timer::sleep(delay).await;
            }
        }
        let result = self.connection.write_all(&self.out).await;
        self.out.clear();
        result
    }
}

/// The pause before replying to a client with `errors` error replies (Postfix's soft limit).
fn error_delay(errors: u32) -> Duration {
    let excess = errors.saturating_sub(ERROR_DELAY_FREE_ERRORS);
    ERROR_DELAY_STEP.saturating_mul(excess).min(ERROR_DELAY_MAX)
}

/// Peer-supplied text for a log line.
fn escape(text: &str) -> String {
    text.escape_debug().to_string()
}

thread_local! {
    /// Messages received on this shard's thread since start.
    static MESSAGES_RECEIVED: Cell<u64> = const { Cell::new(0) };
}

/// A trace id, unique per server: reception time, shard, and a per-shard count (an RFC 5322
/// atom, so it can also be a Message-ID's left part).
fn message_id(shard: usize, now_secs: u64) -> String {
    let count = MESSAGES_RECEIVED.with(|count| {
        count.set(count.get() + 1);
        count.get()
    });
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.subsec_nanos());
    format!("{now_secs:x}.{nanos:08x}.{shard}.{count}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trace_ids_are_atoms_and_unique() {
        let first = message_id(1, 1_795_515_072);
        let second = message_id(1, 1_795_515_072);
        assert_ne!(first, second);
        assert!(
            first
                .bytes()
                .all(|o| o.is_ascii_alphanumeric() || o == b'.')
        );
    }

    #[test]
    fn error_delay_grows_and_is_capped() {
        assert_eq!(error_delay(ERROR_DELAY_FREE_ERRORS), Duration::ZERO);
        assert_eq!(error_delay(ERROR_DELAY_FREE_ERRORS + 1), ERROR_DELAY_STEP);
        assert_eq!(error_delay(1000), ERROR_DELAY_MAX);
    }

    #[test]
    fn refusals_are_single_421_lines() {
        for refusal in [Refusal::TooManyConnections, Refusal::TooManyFromAddress] {
            let words = refuse(refusal);
            assert!(words.starts_with(b"421 4.7.0 ") && words.ends_with(b"\r\n"));
        }
    }
}
