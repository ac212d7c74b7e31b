//! A fake driver: performs the session's actions against an in-memory account table and
//! maildrop, the way the real glue will against the directory and the log.

use std::collections::HashMap;

use crate::auth::password;
use crate::auth::sasl::Credentials;
use crate::pop3::{
    Action, Maildrop, MaildropOpen, MessageInfo, Pop3Config, Session, StorageError, Stuffer,
};

/// How the fake storage reads a message: in small chunks, so the stuffer sees splits
/// everywhere.
const READ_CHUNK_OCTETS: usize = 7;

pub(super) const UIDVALIDITY: u32 = 1_700_000_000;

/// RFC 1939 §10's maildrop: two messages of 120 and 200 octets, with lines to stuff.
pub(super) fn rfc_messages() -> Vec<(u32, Vec<u8>)> {
    let one = format!(
        "From: mrose\r\nSubject: one\r\n\r\n.leading dot\r\n{}\r\n",
        "x".repeat(75)
    );
    let two = format!(
        "From: dewey\r\nSubject: two\r\n\r\nline 1\r\nline 2\r\n.\r\n{}\r\n",
        "y".repeat(150)
    );
    assert_eq!((one.len(), two.len()), (120, 200));
    vec![(3, one.into_bytes()), (7, two.into_bytes())]
}

/// The server lines RETR sends for each of [`rfc_messages`], `.` included.
pub(super) fn rfc_message_lines(uid: u32) -> Vec<String> {
    let lines = match uid {
        3 => vec![
            "From: mrose".into(),
            "Subject: one".into(),
            String::new(),
            "..leading dot".into(),
            "x".repeat(75),
        ],
        7 => vec![
            "From: dewey".into(),
            "Subject: two".into(),
            String::new(),
            "line 1".into(),
            "line 2".into(),
            "..".into(),
            "y".repeat(150),
        ],
        _ => panic!("no message {uid}"),
    };
    lines.into_iter().chain([".".to_owned()]).collect()
}

/// A loopback-like connection: plaintext allowed, STLS available.
pub(super) fn config() -> Pop3Config {
    Pop3Config {
        hostname: "dbc.mtview.ca.us".into(),
        tls_active: false,
        starttls_available: true,
        plaintext_auth_allowed: true,
        implementation: "Postern",
        expire_days: None,
        login_delay_secs: 0,
        mechanisms: crate::auth::sasl::Mechanism::ALL.to_vec(),
        apop: true,
        channel_binding: None,
        apop_nonce: "1896.697170952".into(),
    }
}

/// A non-loopback connection without TLS: no plaintext passwords until STLS.
pub(super) fn cleartext_config() -> Pop3Config {
    Pop3Config {
        plaintext_auth_allowed: false,
        ..config()
    }
}

pub(super) struct Driver {
    pub(super) session: Session,
    pub(super) accounts: HashMap<String, Credentials>,
    pub(super) messages: Vec<(u32, Vec<u8>)>,
    /// Another session holds the maildrop lock.
    pub(super) locked: bool,
    pub(super) open_error: Option<StorageError>,
    pub(super) commit_error: Option<StorageError>,
    /// Input the session has not consumed yet.
    pub(super) buffer: Vec<u8>,
    /// Output of the greeting, checked by the first server lines of a script.
    pub(super) greeting: Vec<u8>,
    pub(super) closed: bool,
    pub(super) tls: bool,
    /// Input dropped at STLS.
    pub(super) discarded: Vec<u8>,
    /// UIDs expunged by commits.
    pub(super) expunged: Vec<u32>,
    pub(super) commits: usize,
    /// Maildrops opened (sessions that reached TRANSACTION).
    pub(super) opened: usize,
}

impl Driver {
    pub(super) fn new(config: &Pop3Config) -> Driver {
        Driver::with_session(Session::new(config))
    }

    pub(super) fn with_session(mut session: Session) -> Driver {
        let mut greeting = Vec::new();
        session.greeting(&mut greeting);
        let mut accounts = HashMap::new();
        accounts.insert(
            "mrose".to_owned(),
            Credentials {
                stored_password: Some("{PLAIN}tanstaaf".into()),
                scram: None,
            },
        );
        Driver {
            session,
            accounts,
            messages: rfc_messages(),
            locked: false,
            open_error: None,
            commit_error: None,
            buffer: Vec::new(),
            greeting,
            closed: false,
            tls: false,
            discarded: Vec::new(),
            expunged: Vec::new(),
            commits: 0,
            opened: 0,
        }
    }

    /// Delivers `input` and runs the session until it waits for more; returns its output.
    pub(super) fn send(&mut self, input: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        if self.closed {
            return out;
        }
        self.buffer.extend_from_slice(input);
        loop {
            let feed = self.session.feed(&self.buffer, &mut out);
            assert!(feed.consumed <= self.buffer.len());
            self.buffer.drain(..feed.consumed);
            let Some(action) = feed.action else {
                break;
            };
            let mut next = Some(action);
            while let Some(action) = next {
                next = self.perform(action, &mut out);
            }
            if self.closed {
                break;
            }
        }
        out
    }

    fn perform(&mut self, action: Action, out: &mut Vec<u8>) -> Option<Action> {
        match action {
            Action::VerifyPassword { user, password } => {
                let ok = self
                    .accounts
                    .get(&user)
                    .and_then(|account| account.stored_password.as_deref())
                    .is_some_and(|stored| {
                        password::verify_password(stored, password.expose()).unwrap_or(false)
                    });
                self.session.password_verified(ok, out)
            }
            Action::Credentials { user } => {
                let credentials = self.accounts.get(&user).cloned().unwrap_or_default();
                self.session.credentials(credentials, out)
            }
            Action::OpenMaildrop { user } => {
                assert!(
                    self.accounts.contains_key(&user),
                    "{user} is not an account"
                );
                let result = if self.locked {
                    MaildropOpen::InUse
                } else if let Some(error) = self.open_error {
                    MaildropOpen::Failed(error)
                } else {
                    self.opened += 1;
                    MaildropOpen::Ready(self.maildrop())
                };
                self.session.maildrop_opened(result, out)
            }
            Action::SendMessage {
                index,
                uid,
                body_lines,
            } => {
                let (stored_uid, message) = &self.messages[index];
                assert_eq!(*stored_uid, uid);
                let mut stuffer = Stuffer::new(body_lines);
                for chunk in message.chunks(READ_CHUNK_OCTETS) {
                    if stuffer.is_done() {
                        break;
                    }
                    stuffer.push(chunk, out);
                }
                stuffer.finish(out);
                self.session.message_sent();
                None
            }
            Action::StartTls => {
                // RFC 2595 §4 / CVE-2011-0411: nothing sent before the handshake is a command.
                self.discarded = std::mem::take(&mut self.buffer);
                self.tls = true;
                self.session.tls_started();
                None
            }
            Action::Commit { delete_uids } => {
                self.commits += 1;
                let result = match self.commit_error {
                    Some(error) => Err(error),
                    None => {
                        self.messages.retain(|(uid, _)| !delete_uids.contains(uid));
                        self.expunged.extend(delete_uids);
                        Ok(())
                    }
                };
                self.session.committed(result, out)
            }
            Action::Close => {
                self.closed = true;
                assert!(self.session.is_closed());
                None
            }
        }
    }

    fn maildrop(&self) -> Maildrop {
        Maildrop {
            uidvalidity: UIDVALIDITY,
            messages: self
                .messages
                .iter()
                .map(|(uid, bytes)| MessageInfo {
                    uid: *uid,
                    size_octets: bytes.len() as u64,
                })
                .collect(),
        }
    }
}

/// Plays a golden transcript: `C: ` lines are sent (consecutive ones in one write, i.e.
/// pipelined), and the `S: ` lines that follow must be exactly the server's output. Leading
/// `S: ` lines are the greeting. Every line gets its CRLF.
pub(super) fn converse<S: AsRef<str>>(driver: &mut Driver, script: &[S]) {
    let mut output = std::mem::take(&mut driver.greeting);
    let mut expected = String::new();
    let mut input = String::new();
    let mut sending = false;
    let mut last_client = String::new();
    for line in script {
        let line = line.as_ref();
        if let Some(client) = line.strip_prefix("C: ") {
            if !sending {
                check(&output, &expected, &last_client);
                expected.clear();
                last_client.clear();
            }
            sending = true;
            input.push_str(client);
            input.push_str("\r\n");
            last_client.push_str(client);
            last_client.push('|');
        } else if let Some(server) = line.strip_prefix("S: ") {
            if sending {
                output = driver.send(input.as_bytes());
                input.clear();
            }
            sending = false;
            expected.push_str(server);
            expected.push_str("\r\n");
        } else {
            panic!("script line without C: or S: {line:?}");
        }
    }
    if sending {
        output = driver.send(input.as_bytes());
    }
    check(&output, &expected, &last_client);
}

fn check(output: &[u8], expected: &str, after: &str) {
    assert_eq!(
        String::from_utf8_lossy(output),
        expected,
        "server output after {after:?}"
    );
}
