//! The glue between a POP3 [`Session`] and a connection on a shard: reads and writes the socket,
//! performs the session's actions, and after login moves the connection to the shard that owns
//! the account, so the maildrop is locked, listed, streamed and committed where it lives.

use super::{Action, Maildrop, MaildropOpen, MessageInfo, Pop3Config, Session, StorageError};
use super::{SASL_LINE_OCTETS_MAX, Stuffer};
use crate::accounts::normalise_address;
use crate::config::{ListenerConfig, TlsMode};
use crate::mailstore::MaildropLock;
use crate::net::{
    Adoption, Connection, ConnectionPermit, InputBuffer, PortableConnection, Refusal,
    SessionHandoff,
};
use crate::runtime::login::Login;
use crate::runtime::mesh::Request;
use crate::runtime::shard::Shard;
use postern_storage::{MailboxKey, UidRange};
use std::rc::Rc;
use std::time::Duration;

/// RFC 1939 §3: an autologout timer of at least 10 minutes.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(10 * 60);
/// Message content read from the log per step of RETR/TOP.
pub const MESSAGE_CHUNK_OCTETS: usize = 64 * 1024;
/// The input buffer holds the longest line the session accepts (a SASL response).
pub const INPUT_BUFFER_OCTETS: usize = SASL_LINE_OCTETS_MAX;
pub const IMPLEMENTATION: &str = "Postern";

/// The words for a connection turned away before its session starts.
pub fn refuse(refusal: Refusal) -> &'static [u8] {
    match refusal {
        Refusal::TooManyConnections => b"-ERR [SYS/TEMP] too many connections, try later\r\n",
        Refusal::TooManyFromAddress => {
            b"-ERR [SYS/TEMP] too many connections from your address, try later\r\n"
        }
    }
}

/// A session moving to the owner shard of its account, with the action it stopped at.
pub struct Handoff {
    session: Session,
    action: Action,
}

impl std::fmt::Debug for Handoff {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("pop3::Handoff")
    }
}

/// Serves a newly accepted POP3 connection.
pub async fn serve(
    shard: Rc<Shard>,
    mut connection: Connection,
    listener: ListenerConfig,
    permit: ConnectionPermit,
) {
    if listener.tls == TlsMode::Implicit {
        let tls = shard.state.tls_for(&listener);
        if connection.start_tls(tls).await.is_err() {
            return;
        }
    }
    let config = session_config(&shard, &connection, &listener);
    let mut session = Session::new(&config);
    let mut out = Vec::new();
    session.greeting(&mut out);
    let driver = Driver {
        shard,
        connection,
        listener,
        input: InputBuffer::new(INPUT_BUFFER_OCTETS),
        out,
        maildrop: None,
        _permit: Some(permit),
    };
    driver.run(session, None).await;
}

/// Continues a session handed over by another shard.
pub async fn resume(
    shard: Rc<Shard>,
    connection: PortableConnection,
    listener: ListenerConfig,
    input: Vec<u8>,
    handoff: Handoff,
) {
    let Ok(connection) = connection.resume() else {
        return;
    };
    let permit = shard.state.limits.admit(connection.peer().ip()).ok();
    let driver = Driver {
        shard,
        connection,
        listener,
        input: InputBuffer::with_input(INPUT_BUFFER_OCTETS, &input),
        out: Vec::new(),
        maildrop: None,
        _permit: permit,
    };
    driver.run(handoff.session, Some(handoff.action)).await;
}

fn session_config(shard: &Shard, connection: &Connection, listener: &ListenerConfig) -> Pop3Config {
    let config = &shard.state.config;
    let tls_active = connection.is_tls();
    let loopback = connection.peer().ip().is_loopback();
    Pop3Config {
        hostname: config.hostname.clone(),
        tls_active,
        starttls_available: listener.tls == TlsMode::Starttls && !tls_active,
        plaintext_auth_allowed: tls_active || (loopback && config.auth.plaintext_on_loopback),
        implementation: IMPLEMENTATION,
        expire_days: None,
        login_delay_secs: u32::try_from(config.limits.pop3_login_delay.as_secs())
            .unwrap_or(u32::MAX),
        mechanisms: config.auth.mechanisms.clone(),
        channel_binding: connection.channel_binding(),
        apop: config.auth.apop,
        apop_nonce: apop_nonce(),
    }
}

/// Two random 64-bit numbers, fresh for every greeting (RFC 1939 §7).
fn apop_nonce() -> String {
    let mut bytes = [0u8; 16];
    if getrandom::getrandom(&mut bytes).is_err() {
        // Without randomness APOP digests could be replayed; a time-based nonce is still unique.
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        return format!("{now}.{}", std::process::id());
    }
    let (a, b) = bytes.split_at(8);
    let a = u64::from_le_bytes(a.try_into().expect("8 octets"));
    let b = u64::from_le_bytes(b.try_into().expect("8 octets"));
    format!("{a}.{b}")
}

/// The maildrop this session holds, on the owner shard.
struct Opened {
    mailbox: MailboxKey,
    _lock: MaildropLock,
}

struct Driver {
    shard: Rc<Shard>,
    connection: Connection,
    listener: ListenerConfig,
    input: InputBuffer,
    out: Vec<u8>,
    maildrop: Option<Opened>,
    _permit: Option<ConnectionPermit>,
}

/// What to do after an action.
enum Next {
    Action(Option<Action>),
    /// Hand the connection to the shard that owns the account.
    Move {
        owner: usize,
        user: String,
    },
    Close,
}

impl Driver {
    async fn run(mut self, mut session: Session, mut pending: Option<Action>) {
        // Set here, not only at accept: a connection moved from another shard is a new stream.
        let write_timeout = self.shard.state.config.limits.write_timeout;
        if self
            .connection
            .set_idle_timeout(Some(IDLE_TIMEOUT))
            .and_then(|()| self.connection.set_write_timeout(Some(write_timeout)))
            .is_err()
        {
            return;
        }
        loop {
            while let Some(action) = pending.take() {
                if self.flush().await.is_err() {
                    return;
                }
                match self.perform(&mut session, action).await {
                    Next::Action(next) => pending = next,
                    Next::Move { owner, user } => return self.move_to(owner, session, user).await,
                    Next::Close => return self.close().await,
                }
            }
            let feed = session.feed(self.input.unread(), &mut self.out);
            self.input.consume(feed.consumed);
            if feed.action.is_some() {
                pending = feed.action;
                continue;
            }
            if self.flush().await.is_err() || session.is_closed() {
                return self.close().await;
            }
            if self.input.is_full() || self.shard.state.shutting_down.get() {
                // Full can't happen (the session consumes over-long lines); at shutdown a
                // session without QUIT ends and deletes nothing (RFC 1939 §6).
                return self.close().await;
            }
            match self.input.fill(&mut self.connection).await {
                Ok(0) | Err(_) => return self.close().await,
                Ok(_) => {}
            }
        }
    }

    async fn perform(&mut self, session: &mut Session, action: Action) -> Next {
        let ip = self.connection.peer().ip();
        match action {
            Action::VerifyPassword { user, password } => {
                let ok = matches!(
                    self.shard.login(ip, &user, password).await,
                    Login::Accepted(_)
                );
                Next::Action(session.password_verified(ok, &mut self.out))
            }
            Action::Credentials { user } => {
                // Counted as a failure until the session opens the maildrop, which clears it:
                // APOP and SASL guesses are throttled like USER/PASS.
                let credentials = self.shard.credentials(ip, &user).await;
                self.shard.count_login_attempt(ip);
                let credentials = credentials.map(|(_, c)| c).unwrap_or_default();
                Next::Action(session.credentials(credentials, &mut self.out))
            }
            Action::OpenMaildrop { user } => {
                self.shard.record_login(ip, true).await;
                self.open_maildrop(session, user).await
            }
            Action::SendMessage {
                uid, body_lines, ..
            } => {
                if self.send_message(uid, body_lines).await.is_err() {
                    // The +OK is out; the reply can't be repaired (RFC 1939 has no way back).
                    return Next::Close;
                }
                session.message_sent();
                Next::Action(None)
            }
            Action::StartTls => {
                self.input.clear();
                let tls = self.shard.state.tls_for(&self.listener);
                if self.connection.start_tls(tls).await.is_err() {
                    return Next::Close;
                }
                session.tls_started();
                session.set_channel_binding(self.connection.channel_binding());
                Next::Action(None)
            }
            Action::Commit { delete_uids } => {
                let result = self.commit(&delete_uids).await;
                Next::Action(session.committed(result, &mut self.out))
            }
            Action::Close => Next::Close,
        }
    }

    /// On the owner shard: lock and list INBOX. Elsewhere: hand the connection to the owner.
    async fn open_maildrop(&mut self, session: &mut Session, user: String) -> Next {
        let Ok(address) = normalise_address(&user) else {
            let result = MaildropOpen::Failed(StorageError::Permanent);
            return Next::Action(session.maildrop_opened(result, &mut self.out));
        };
        let owner = self.shard.state.partitions.owner_of(&address);
        if owner != self.shard.state.id {
            return Next::Move { owner, user };
        }
        let mail = &self.shard.state.mail;
        let result = match mail.account(&address).await {
            Err(e) => {
                tracing::error!("POP3 maildrop of {address}: {e}");
                MaildropOpen::Failed(StorageError::Temporary)
            }
            Ok(account) => match (mail.inbox(account), mail.lock_maildrop(account)) {
                (None, _) => MaildropOpen::Failed(StorageError::Permanent),
                (Some(_), None) => MaildropOpen::InUse,
                (Some(_), Some(_))
                    if !mail
                        .admit_login(account, self.shard.state.config.limits.pop3_login_delay) =>
                {
                    MaildropOpen::LoginDelay
                }
                (Some(mailbox), Some(lock)) => {
                    let maildrop = self.list(mailbox);
                    self.maildrop = Some(Opened {
                        mailbox,
                        _lock: lock,
                    });
                    maildrop
                }
            },
        };
        Next::Action(session.maildrop_opened(result, &mut self.out))
    }

    fn list(&self, mailbox: MailboxKey) -> MaildropOpen {
        let store = self.shard.state.mail.store();
        let Some(status) = store.status(mailbox) else {
            return MaildropOpen::Failed(StorageError::Temporary);
        };
        let state = store.state();
        let Some(inbox) = state.mailbox(mailbox) else {
            return MaildropOpen::Failed(StorageError::Temporary);
        };
        let messages = inbox
            .index
            .entries()
            .iter()
            .filter(|entry| !entry.unreadable())
            .map(|entry| MessageInfo {
                uid: entry.uid,
                size_octets: u64::from(entry.size_octets),
            })
            .collect();
        MaildropOpen::Ready(Maildrop {
            uidvalidity: status.uid_validity,
            messages,
        })
    }

    /// Hands the connection, the unread input and the session to `owner`, where `resume`
    /// continues with the same action.
    async fn move_to(self, owner: usize, session: Session, user: String) {
        let input = self.input.unread().to_vec();
        let Ok(portable) = self.connection.into_portable() else {
            return;
        };
        let adoption = Adoption {
            connection: portable,
            listener: self.listener,
            input,
            session: SessionHandoff::Pop3(Box::new(Handoff {
                session,
                action: Action::OpenMaildrop { user },
            })),
        };
        // If the owner is gone (shutting down) the connection is dropped with the request.
        let _ = self
            .shard
            .mesh
            .call(owner, Request::Adopt(Box::new(adoption)))
            .await;
    }

    async fn send_message(&mut self, uid: u32, body_lines: Option<u32>) -> std::io::Result<()> {
        let mailbox = self
            .maildrop
            .as_ref()
            .map(|opened| opened.mailbox)
            .ok_or_else(|| std::io::Error::other("no maildrop"))?;
        let store = Rc::clone(self.shard.state.mail.store());
        let mut stuffer = Stuffer::new(body_lines);
        let mut chunk = vec![0u8; MESSAGE_CHUNK_OCTETS];
        let mut offset = 0u64;
        while !stuffer.is_done() {
            let read = store
                .read(mailbox, uid, offset, &mut chunk)
                .await
                .map_err(std::io::Error::other)?;
            if read == 0 {
                break;
            }
            offset += read as u64;
            stuffer.push(&chunk[..read], &mut self.out);
            self.flush().await?;
        }
        stuffer.finish(&mut self.out);
        self.flush().await
    }

    async fn commit(&mut self, uids: &[u32]) -> Result<(), StorageError> {
        let Some(opened) = &self.maildrop else {
            return Err(StorageError::Permanent);
        };
        let store = self.shard.state.mail.store();
        match store.expunge(opened.mailbox, &uid_ranges(uids)).await {
            Ok((_, _durable)) => Ok(()),
            Err(e) => {
                tracing::error!("POP3 commit failed: {e}");
                Err(StorageError::Temporary)
            }
        }
    }

    async fn flush(&mut self) -> std::io::Result<()> {
        if self.out.is_empty() {
            return Ok(());
        }
        let result = self.connection.write_all(&self.out).await;
        self.out.clear();
        result
    }

    async fn close(mut self) {
        let _ = self.flush().await;
        self.connection.close().await;
    }
}

/// Consecutive UIDs folded into ranges (one expunge record for the whole QUIT).
fn uid_ranges(uids: &[u32]) -> Vec<UidRange> {
    let mut sorted = uids.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    UidRange::fold(sorted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uids_fold_into_ranges() {
        let ranges = uid_ranges(&[7, 3, 4, 5, 9, 4]);
        let pairs: Vec<(u32, u32)> = ranges.iter().map(|r| (r.first, r.last)).collect();
        assert_eq!(pairs, [(3, 5), (7, 7), (9, 9)]);
    }
}
