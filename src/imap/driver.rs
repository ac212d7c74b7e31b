//! The glue between an IMAP connection and the shard: reads and frames commands, runs them,
//! writes the responses. After login the connection moves to the shard that owns the account,
//! so every mailbox command runs where the mailbox lives.

use super::command::{Command, CommandBody, Tag, parse_command};
use super::framer::{Frame, Framer};
use super::response::{Status, write_status};
use super::selected::{Enabled, SelectedMailbox, Sync};
use crate::config::{ListenerConfig, TlsMode};
use crate::net::{
    Adoption, Connection, ConnectionPermit, InputBuffer, PortableConnection, Refusal,
    SessionHandoff,
};
use crate::runtime::mesh::Request;
use crate::runtime::shard::Shard;
use postern_storage::AccountKey;
use std::io;
use std::rc::Rc;
use std::time::Duration;

/// RFC 9051 §5.4: an inactivity timer of at least 30 minutes.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(30 * 60);
/// Before login the timer is shorter: an unauthenticated connection costs without paying.
pub const LOGIN_TIMEOUT: Duration = Duration::from_secs(60);
/// The input buffer: commands longer than this stream through the framer into its own buffer.
pub const INPUT_BUFFER_OCTETS: usize = 8 * 1024;
/// Responses are sent once this much is waiting (and at the end of every command).
pub const OUTPUT_FLUSH_OCTETS: usize = 64 * 1024;
/// Bad commands in a row before the server gives up on the client.
pub const BAD_COMMANDS_MAX: u32 = 20;
/// Longest line of an AUTHENTICATE exchange or of IDLE's DONE.
pub const SASL_LINE_OCTETS_MAX: usize = 8 * 1024;

/// The words for a connection turned away before its session starts.
pub fn refuse(refusal: Refusal) -> &'static [u8] {
    match refusal {
        Refusal::TooManyConnections => b"* BYE [UNAVAILABLE] Too many connections, try later\r\n",
        Refusal::TooManyFromAddress => {
            b"* BYE [UNAVAILABLE] Too many connections from your address, try later\r\n"
        }
    }
}

/// A logged-in account. Only login on the owner shard makes one.
pub struct Account {
    pub key: AccountKey,
    pub address: String,
    pub enabled: Enabled,
    /// RFC 5182 SEARCHRES: the last `SEARCH RETURN (SAVE)` result, as UIDs.
    pub saved_search: Vec<postern_storage::Uid>,
}

pub enum SessionState {
    NotAuthenticated,
    Authenticated(Account),
    Selected(Account, SelectedMailbox),
    Logout,
}

/// A session moving to the owner shard of its account right after login.
pub struct Handoff {
    address: String,
    tag: Tag,
}

impl std::fmt::Debug for Handoff {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("imap::Handoff")
    }
}

pub struct Driver {
    pub(super) shard: Rc<Shard>,
    pub(super) connection: Connection,
    pub(super) listener: ListenerConfig,
    pub(super) input: InputBuffer,
    pub(super) framer: Framer,
    pub(super) out: Vec<u8>,
    pub(super) state: SessionState,
    /// The content of the message a FETCH is sending (`fetch_one`).
    pub(super) pinned: Option<(
        postern_storage::MailboxKey,
        postern_storage::Uid,
        Rc<super::fetch::Content>,
    )>,
    /// A response was cut short (a literal that could not be finished): close the connection.
    pub(super) broken: bool,
    bad_commands: u32,
    _permit: Option<ConnectionPermit>,
}

/// What happens after a command.
pub(super) enum Next {
    Continue,
    /// Logged in elsewhere: hand the connection to the owner shard.
    Move {
        owner: usize,
        handoff: Handoff,
    },
    Close,
}

/// Serves a newly accepted IMAP connection.
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
    let mut driver = Driver {
        shard,
        connection,
        listener,
        input: InputBuffer::new(INPUT_BUFFER_OCTETS),
        framer: Framer::new(),
        out: Vec::new(),
        state: SessionState::NotAuthenticated,
        pinned: None,
        broken: false,
        bad_commands: 0,
        _permit: Some(permit),
    };
    let greeting = format!("[CAPABILITY {}] Postern ready", driver.capabilities());
    write_status(&mut driver.out, "*", Status::Ok, None, &greeting);
    driver.run().await;
}

/// Continues a session handed over by another shard after login.
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
    let mut driver = Driver {
        shard,
        connection,
        listener,
        input: InputBuffer::with_input(INPUT_BUFFER_OCTETS, &input),
        framer: Framer::new(),
        out: Vec::new(),
        state: SessionState::NotAuthenticated,
        pinned: None,
        broken: false,
        bad_commands: 0,
        _permit: permit,
    };
    if driver.logged_in(handoff.address, &handoff.tag).await {
        driver.run().await;
    } else {
        driver.close().await;
    }
}

impl Driver {
    async fn run(mut self) {
        let write_timeout = self.shard.state.config.limits.write_timeout;
        if self
            .connection
            .set_write_timeout(Some(write_timeout))
            .is_err()
        {
            return;
        }
        loop {
            match self.process_input().await {
                Next::Continue => {}
                Next::Move { owner, handoff } => return self.move_to(owner, handoff).await,
                Next::Close => return self.close().await,
            }
            if self.flush().await.is_err() {
                return;
            }
            if self.shard.state.shutting_down.get() {
                self.out
                    .extend_from_slice(b"* BYE [UNAVAILABLE] Server shutting down\r\n");
                return self.close().await;
            }
            // An idle connection keeps no buffers: the input buffer and the framer's command
            // buffer are freed until data arrives, the output buffer is dropped.
            self.framer.shrink();
            self.input.release();
            if self.out.capacity() > 0 {
                self.out = Vec::new();
            }
            let timeout = match self.state {
                SessionState::NotAuthenticated => LOGIN_TIMEOUT,
                _ => IDLE_TIMEOUT,
            };
            if self.connection.set_idle_timeout(Some(timeout)).is_err() {
                return;
            }
            match self.input.fill(&mut self.connection).await {
                Ok(0) | Err(_) => return self.close().await,
                Ok(_) => {}
            }
        }
    }

    /// Runs every complete command in the input.
    async fn process_input(&mut self) -> Next {
        loop {
            let (consumed, frame) = self.framer.next(self.input.unread());
            self.input.consume(consumed);
            let next = match frame {
                Frame::More => return Next::Continue,
                Frame::Continue => {
                    self.out.extend_from_slice(b"+ Ready for literal data\r\n");
                    if self.flush().await.is_err() {
                        return Next::Close;
                    }
                    Next::Continue
                }
                Frame::Refuse { tag, reason } => self.bad(tag.as_ref(), &reason),
                Frame::Command(bytes) => match parse_command(&bytes) {
                    Ok(command) => {
                        self.bad_commands = 0;
                        let next = self.execute(command).await;
                        if self.broken {
                            return Next::Close;
                        }
                        next
                    }
                    Err(error) => self.bad(error.tag.as_ref(), error.reason),
                },
                Frame::Append(start) => {
                    self.bad_commands = 0;
                    Box::pin(self.append(start)).await
                }
                Frame::AppendNext(_) | Frame::AppendEnd => {
                    unreachable!("APPEND continuations are read by the APPEND command")
                }
            };
            match next {
                Next::Continue => {}
                other => return other,
            }
            if self.out.len() >= OUTPUT_FLUSH_OCTETS && self.flush().await.is_err() {
                return Next::Close;
            }
        }
    }

    /// `tag BAD reason`; many in a row end the connection.
    fn bad(&mut self, tag: Option<&Tag>, reason: &str) -> Next {
        let tag = tag.map_or("*", Tag::as_str);
        write_status(&mut self.out, tag, Status::Bad, None, reason);
        self.bad_commands += 1;
        if self.bad_commands >= BAD_COMMANDS_MAX {
            self.out
                .extend_from_slice(b"* BYE Too many invalid commands\r\n");
            return Next::Close;
        }
        Next::Continue
    }

    async fn execute(&mut self, command: Command) -> Next {
        let Command { tag, body } = command;
        let tag = tag.as_str().to_string();
        match body {
            CommandBody::Capability => {
                let line = format!("* CAPABILITY {}\r\n", self.capabilities());
                self.out.extend_from_slice(line.as_bytes());
                self.ok(&tag, "CAPABILITY completed");
            }
            CommandBody::Noop => {
                self.sync(Sync::Full);
                self.ok(&tag, "NOOP completed");
            }
            CommandBody::Logout => {
                self.out.extend_from_slice(b"* BYE Logging out\r\n");
                self.ok(&tag, "LOGOUT completed");
                self.state = SessionState::Logout;
                return Next::Close;
            }
            // Commands that await run boxed: the connection's task is sized for the largest
            // future it holds, and an idle session should hold a small one (IDLE's alone).
            CommandBody::StartTls => return Box::pin(self.starttls(&tag)).await,
            CommandBody::Login { user, password } => {
                return Box::pin(self.login(&tag, user, password)).await;
            }
            CommandBody::Authenticate {
                mechanism,
                initial_response,
            } => return Box::pin(self.authenticate(&tag, &mechanism, initial_response)).await,
            CommandBody::Id(_) => {
                self.out
                    .extend_from_slice(b"* ID (\"name\" \"Postern\")\r\n");
                self.ok(&tag, "ID completed");
            }
            CommandBody::Enable(names) => self.enable(&tag, &names),
            CommandBody::Namespace => {
                if self.require_authenticated(&tag) {
                    // RFC 2342: one personal namespace with "/" as the delimiter.
                    self.out
                        .extend_from_slice(b"* NAMESPACE ((\"\" \"/\")) NIL NIL\r\n");
                    self.ok(&tag, "NAMESPACE completed");
                }
            }
            CommandBody::Idle => return Box::pin(self.idle(&tag)).await,
            CommandBody::Compress { algorithm } => {
                return Box::pin(self.compress(&tag, &algorithm)).await;
            }
            body => return Box::pin(self.execute_mailbox_command(&tag, body)).await,
        }
        Next::Continue
    }

    pub(super) fn ok(&mut self, tag: &str, text: &str) {
        write_status(&mut self.out, tag, Status::Ok, None, text);
    }

    pub(super) fn no(&mut self, tag: &str, code: Option<&str>, text: &str) {
        write_status(&mut self.out, tag, Status::No, code, text);
    }

    pub(super) fn bad_in_state(&mut self, tag: &str, text: &str) {
        write_status(&mut self.out, tag, Status::Bad, None, text);
    }

    /// True when authenticated (or selected); answers BAD otherwise.
    pub(super) fn require_authenticated(&mut self, tag: &str) -> bool {
        match self.state {
            SessionState::Authenticated(_) | SessionState::Selected(..) => true,
            _ => {
                self.bad_in_state(tag, "Log in first");
                false
            }
        }
    }

    pub(super) fn account(&self) -> Option<&Account> {
        match &self.state {
            SessionState::Authenticated(account) | SessionState::Selected(account, _) => {
                Some(account)
            }
            _ => None,
        }
    }

    pub(super) fn enabled(&self) -> Enabled {
        self.account().map(|a| a.enabled).unwrap_or_default()
    }

    /// Brings the selected mailbox's view up to date (untagged responses into `out`).
    pub(super) fn sync(&mut self, mode: Sync) {
        let SessionState::Selected(account, selected) = &mut self.state else {
            return;
        };
        let mail = &self.shard.state.mail;
        let store = mail.store();
        let state = store.state();
        let Some(mailbox) = state.mailbox(selected.key) else {
            if !selected.gone {
                selected.gone = true;
                // RFC 9051 §7.1: the mailbox went away under the session.
                self.out.extend_from_slice(
                    b"* OK [CLOSED] The selected mailbox was deleted or renamed\r\n",
                );
            }
            return;
        };
        let read_only = selected.read_only;
        let key = selected.key;
        selected.sync(
            mailbox,
            mode,
            account.enabled,
            |first| {
                (!read_only)
                    .then(|| mail.claim_recent(key, first))
                    .flatten()
            },
            &mut self.out,
        );
        if selected.gone {
            drop(state);
            self.state = match std::mem::replace(&mut self.state, SessionState::Logout) {
                SessionState::Selected(account, _) => SessionState::Authenticated(account),
                other => other,
            };
        }
    }

    pub(super) async fn flush(&mut self) -> io::Result<()> {
        if self.out.is_empty() {
            return Ok(());
        }
        let result = self.connection.write_all(&self.out).await;
        self.out.clear();
        if self.out.capacity() > OUTPUT_FLUSH_OCTETS * 2 {
            self.out = Vec::new();
        }
        result
    }

    async fn move_to(self, owner: usize, handoff: Handoff) {
        let input = self.input.unread().to_vec();
        let Ok(portable) = self.connection.into_portable() else {
            return;
        };
        let adoption = Adoption {
            connection: portable,
            listener: self.listener,
            input,
            session: SessionHandoff::Imap(Box::new(handoff)),
        };
        // If the owner is gone (shutting down) the connection is dropped with the request.
        let _ = self
            .shard
            .mesh
            .call(owner, Request::Adopt(Box::new(adoption)))
            .await;
    }

    pub(super) async fn close(mut self) {
        let _ = self.flush().await;
        self.connection.close().await;
    }

    /// Reads one line outside command framing (AUTHENTICATE responses, IDLE's DONE), without
    /// its CRLF. `Ok(None)` when the line was too long (it is consumed); Err at end of stream.
    pub(super) async fn read_line(&mut self) -> io::Result<Option<Vec<u8>>> {
        let mut line = Vec::new();
        let mut too_long = false;
        loop {
            let unread = self.input.unread();
            if let Some(end) = memchr::memchr(b'\n', unread) {
                if !too_long && line.len() + end <= SASL_LINE_OCTETS_MAX {
                    line.extend_from_slice(&unread[..end]);
                } else {
                    too_long = true;
                }
                self.input.consume(end + 1);
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                return Ok((!too_long).then_some(line));
            }
            let taken = unread.len();
            if !too_long && line.len() + taken <= SASL_LINE_OCTETS_MAX {
                line.extend_from_slice(unread);
            } else {
                too_long = true;
                line.clear();
            }
            self.input.consume(taken);
            if self.flush().await.is_err() || self.input.fill(&mut self.connection).await? == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
        }
    }

    /// Completes a login on the account's owner shard: opens the account and answers the
    /// command that logged in. False when the account can't be opened.
    pub(super) async fn logged_in(&mut self, address: String, tag: &Tag) -> bool {
        let mail = &self.shard.state.mail;
        match mail.account(&address).await {
            Ok(key) => {
                self.state = SessionState::Authenticated(Account {
                    key,
                    address,
                    enabled: Enabled::default(),
                    saved_search: Vec::new(),
                });
                let text = format!("[CAPABILITY {}] Logged in", self.capabilities());
                write_status(&mut self.out, tag.as_str(), Status::Ok, None, &text);
                true
            }
            Err(error) => {
                tracing::error!("IMAP login of {address}: opening the account failed: {error}");
                write_status(
                    &mut self.out,
                    tag.as_str(),
                    Status::No,
                    Some("UNAVAILABLE"),
                    "Mailbox store unavailable, try later",
                );
                false
            }
        }
    }

    /// After a successful password check or SASL exchange: continue here or on the owner.
    pub(super) async fn authenticated(&mut self, address: String, tag: &str) -> Next {
        let owner = self.shard.state.partitions.owner_of(&address);
        let Some(tag) = Tag::new(tag) else {
            return Next::Close;
        };
        if owner != self.shard.state.id {
            return Next::Move {
                owner,
                handoff: Handoff { address, tag },
            };
        }
        if self.logged_in(address, &tag).await {
            Next::Continue
        } else {
            Next::Close
        }
    }
}
