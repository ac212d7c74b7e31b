//! Golden transcripts: client bytes in, exact server bytes out, with a fake driver that answers
//! the session's events from tables and records what would be stored.

mod bdat;
mod data;
mod fuzz;
mod lmtp;
mod mx;
mod submission;

use std::collections::HashMap;

use super::*;
use crate::auth::sasl::Credentials;
use crate::auth::scram::ScramKeys;

pub const HOST: &str = "mx.example.org";

/// A message the fake driver delivered.
#[derive(Debug, Clone)]
pub struct Stored {
    pub envelope: Envelope,
    pub content: Vec<u8>,
}

pub struct Driver {
    pub session: Session,
    /// Not buffered yet consumed by the session.
    pub buffer: Vec<u8>,
    pub out: Vec<u8>,
    pub recipients: HashMap<String, RecipientCheck>,
    pub passwords: HashMap<String, String>,
    pub scram: HashMap<String, ScramKeys>,
    pub results: HashMap<String, DeliveryResult>,
    pub stored: Vec<Stored>,
    /// The message being received.
    pub open: Option<Vec<u8>>,
    /// Every event, by name, in order.
    pub log: Vec<String>,
    pub closed: bool,
    /// Octets dropped after STARTTLS.
    pub dropped_after_starttls: Vec<u8>,
    /// Content events seen (to check zero-copy streaming).
    pub content_events: usize,
}

pub fn config(mode: Mode) -> SmtpConfig {
    let mut config = SmtpConfig::new(mode, HOST);
    config.peer = Some("192.0.2.7".parse().unwrap());
    config
}

impl Driver {
    pub fn new(config: SmtpConfig) -> Driver {
        let mut session = Session::new(config);
        session.fix_sasl_nonce("%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0");
        let mut out = Vec::new();
        session.greeting(&mut out);
        let mut recipients = HashMap::new();
        for user in ["alice", "bob", "full", "broken", "postmaster"] {
            let address = format!("{user}@example.org");
            recipients.insert(address.clone(), RecipientCheck::Local(vec![address]));
        }
        recipients.insert(
            "postmaster@mx.example.org".into(),
            RecipientCheck::Local(vec!["postmaster@example.org".into()]),
        );
        recipients.insert(
            "team@example.org".into(),
            RecipientCheck::Local(vec!["alice@example.org".into(), "bob@example.org".into()]),
        );
        recipients.insert(
            "jörg@example.org".into(),
            RecipientCheck::Local(vec!["jörg@example.org".into()]),
        );
        recipients.insert(
            "tempfail@example.org".into(),
            RecipientCheck::TemporaryFailure,
        );
        let mut results = HashMap::new();
        results.insert("full@example.org".into(), DeliveryResult::OverQuota);
        results.insert(
            "broken@example.org".into(),
            DeliveryResult::TemporaryFailure,
        );
        let mut passwords = HashMap::new();
        passwords.insert("alice@example.org".into(), "secret".into());
        let mut scram = HashMap::new();
        // RFC 7677 §3's user and password.
        scram.insert("user".into(), rfc7677_keys().clone());
        Driver {
            session,
            buffer: Vec::new(),
            out,
            recipients,
            passwords,
            scram,
            results,
            stored: Vec::new(),
            open: None,
            log: Vec::new(),
            closed: false,
            dropped_after_starttls: Vec::new(),
            content_events: 0,
        }
    }

    pub fn mx() -> Driver {
        Driver::new(config(Mode::Mx))
    }

    /// Takes what the server wrote so far.
    pub fn take_out(&mut self) -> String {
        String::from_utf8(std::mem::take(&mut self.out)).expect("replies are UTF-8")
    }

    /// Sends octets and returns everything the server wrote in response.
    pub fn send(&mut self, input: &[u8]) -> String {
        self.push(input);
        self.take_out()
    }

    /// Sends octets without collecting the output.
    pub fn push(&mut self, input: &[u8]) {
        assert!(!self.closed, "sending on a closed connection");
        self.buffer.extend_from_slice(input);
        self.run();
    }

    /// Sends each part separately, then returns all output.
    pub fn send_parts(&mut self, parts: &[&[u8]]) -> String {
        for part in parts {
            if self.closed {
                break;
            }
            self.push(part);
        }
        self.take_out()
    }

    fn run(&mut self) {
        loop {
            if self.closed {
                return;
            }
            let feed = self.session.feed(&self.buffer, &mut self.out);
            assert!(
                feed.consumed <= self.buffer.len(),
                "consumed more than given"
            );
            let Some(event) = feed.event else {
                self.buffer.drain(..feed.consumed);
                assert!(
                    self.buffer.len() < self.session.config().limits.read_buffer_octets_min(),
                    "the session left more than a line unconsumed"
                );
                return;
            };
            let starttls = matches!(event, Event::StartTls);
            self.handle(event, feed.consumed);
            if starttls {
                self.dropped_after_starttls = self.buffer.split_off(feed.consumed);
                self.buffer.clear();
                self.session.tls_started();
            } else {
                self.buffer.drain(..feed.consumed);
            }
        }
    }

    fn handle(&mut self, event: Event, consumed: usize) {
        let name = format!("{event:?}");
        let name = name.split([' ', '(']).next().unwrap().to_owned();
        match event {
            Event::VerifyPassword { user, password } => {
                self.log.push(format!("VerifyPassword {user}"));
                let ok = self
                    .passwords
                    .get(&user)
                    .is_some_and(|stored| stored.as_bytes() == password.expose());
                self.session.password_verified(ok, &mut self.out);
            }
            Event::Credentials { user } => {
                self.log.push(format!("Credentials {user}"));
                let credentials = self.scram.get(&user).map(|keys| Credentials {
                    stored_password: None,
                    scram: Some(keys.clone()),
                });
                self.session.credentials(credentials, &mut self.out);
            }
            Event::Authenticated { user } => self.log.push(format!("Authenticated {user}")),
            Event::Recipient { address } => {
                self.log.push(format!("Recipient {address}"));
                let check = self.recipients.get(&address).cloned().unwrap_or_else(|| {
                    if address.ends_with("@example.org") {
                        RecipientCheck::UnknownUser
                    } else {
                        RecipientCheck::NotLocal
                    }
                });
                self.session.recipient_checked(check, &mut self.out);
            }
            Event::MessageStart => {
                self.log.push(name);
                assert!(self.open.is_none(), "MessageStart with a message open");
                self.open = Some(Vec::new());
            }
            Event::MissingHeaderFields { date, message_id } => {
                self.log.push(name);
                let open = self.open.as_mut().expect("fields belong to a message");
                if date {
                    open.extend_from_slice(b"Date: Thu, 1 Jan 2037 00:00:00 +0000\r\n");
                }
                if message_id {
                    open.extend_from_slice(b"Message-ID: <id1@mx.example.org>\r\n");
                }
            }
            Event::Content(content) => {
                self.content_events += 1;
                let open = self.open.as_mut().expect("content belongs to a message");
                match content {
                    Content::Input(range) => {
                        assert!(
                            range.end <= consumed,
                            "content range outside consumed input"
                        );
                        open.extend_from_slice(&self.buffer[range]);
                    }
                    Content::Bytes(bytes) => open.extend_from_slice(&bytes),
                }
            }
            Event::ChunkEnd => {
                self.log.push(name);
                self.session.content_written(&mut self.out);
            }
            Event::EndOfData => {
                self.log.push(name);
                let envelope = self.session.envelope().expect("an envelope").clone();
                let results: Vec<DeliveryResult> = envelope
                    .recipients
                    .iter()
                    .map(|recipient| {
                        self.results
                            .get(&recipient.address)
                            .copied()
                            .unwrap_or(DeliveryResult::Delivered)
                    })
                    .collect();
                let content = self.open.take().expect("EndOfData with a message open");
                self.stored.push(Stored { envelope, content });
                self.session.delivered(&results, &mut self.out);
            }
            Event::Abort => {
                self.log.push(name);
                self.open = None;
            }
            Event::StartTls => self.log.push(name),
            Event::Close => {
                self.log.push(name);
                self.open = None;
                self.closed = true;
            }
            Event::AuthFailed => self.log.push(name),
        }
    }

    /// EHLO and discard the reply.
    pub fn ehlo(&mut self) {
        let verb = if self.session.config().mode == Mode::Lmtp {
            "LHLO"
        } else {
            "EHLO"
        };
        self.send(format!("{verb} client.example\r\n").as_bytes());
    }

    pub fn last_content(&self) -> &[u8] {
        &self.stored.last().expect("a stored message").content
    }
}

/// RFC 7677 §3's user and password; derived once (4096 PBKDF2 rounds).
fn rfc7677_keys() -> &'static ScramKeys {
    static KEYS: std::sync::OnceLock<ScramKeys> = std::sync::OnceLock::new();
    KEYS.get_or_init(|| {
        ScramKeys::derive(b"pencil", &base64_decode("W22ZaJ0SNY7soEsUEjb6gQ=="), 4096)
    })
}

pub fn base64_decode(text: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .unwrap()
}

pub fn base64_encode(octets: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(octets)
}

/// Greeting line for the mode.
pub fn greeting(mode: Mode) -> String {
    let protocol = if mode == Mode::Lmtp { "LMTP" } else { "ESMTP" };
    format!("220 {HOST} {protocol} Postern\r\n")
}
