//! The TRANSACTION state (RFC 1939 §5, §7) and the UPDATE state (§6).

use super::authorization::Authenticated;
use super::capability;
use super::command::Command;
use super::reply;
use super::session::{Action, Context, State, Transition};

const WRONG_STATE: &str = "-ERR command not valid in TRANSACTION state";

/// The maildrop as storage loaded it for this session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Maildrop {
    /// INBOX's IMAP UIDVALIDITY: with the UID it forms the UIDL value.
    pub uidvalidity: u32,
    /// Every message of INBOX in ascending UID order. Message number n is `messages[n - 1]`.
    pub messages: Vec<MessageInfo>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MessageInfo {
    pub uid: u32,
    /// The exact size as sent by RETR before byte-stuffing, with CRLF line ends (RFC 1939 §11).
    pub size_octets: u64,
}

pub(super) struct Transaction {
    user: String,
    uidvalidity: u32,
    messages: Vec<MessageInfo>,
    /// Marked by DELE, cleared by RSET; removed only in UPDATE.
    deleted: Vec<bool>,
    /// Messages not marked deleted, and their octets (STAT).
    visible_count: usize,
    visible_octets: u64,
    /// A SendMessage action is outstanding.
    sending: bool,
}

impl Transaction {
    /// RFC 1939 §4: the session enters TRANSACTION "with no messages marked as deleted".
    ///
    /// # Panics
    /// If the UIDs are not strictly ascending or there are more messages than message numbers:
    /// storage broke its own invariant.
    pub(super) fn open(authenticated: Authenticated, maildrop: Maildrop) -> Transaction {
        let Maildrop {
            uidvalidity,
            messages,
        } = maildrop;
        assert!(
            messages.windows(2).all(|pair| pair[0].uid < pair[1].uid),
            "maildrop UIDs must ascend"
        );
        assert!(
            u32::try_from(messages.len()).is_ok(),
            "message numbers are 32-bit"
        );
        let visible_octets = messages.iter().map(|message| message.size_octets).sum();
        Transaction {
            user: authenticated.into_user(),
            uidvalidity,
            deleted: vec![false; messages.len()],
            visible_count: messages.len(),
            visible_octets,
            messages,
            sending: false,
        }
    }

    pub(super) fn user(&self) -> &str {
        &self.user
    }

    pub(super) fn is_sending(&self) -> bool {
        self.sending
    }

    pub(super) fn message_sent(&mut self) {
        debug_assert!(self.sending, "message_sent without SendMessage");
        self.sending = false;
    }

    /// `{prefix} N messages (M octets)`, as after login and RSET (RFC 1939 §5 examples).
    pub(super) fn write_summary(&self, prefix: &str, out: &mut Vec<u8>) {
        reply::line(
            out,
            format_args!(
                "{prefix} {} {} ({} octets)",
                self.visible_count,
                reply::messages(self.visible_count),
                self.visible_octets
            ),
        );
    }

    pub(super) fn command(
        mut self,
        command: Command<'_>,
        context: &mut Context,
        out: &mut Vec<u8>,
    ) -> Transition {
        match command {
            Command::Capa => capability::write_capabilities(&context.config, false, out),
            Command::Noop => reply::line(out, format_args!("+OK")),
            Command::Stat => reply::line(
                out,
                format_args!("+OK {} {}", self.visible_count, self.visible_octets),
            ),
            Command::List(None) => {
                self.write_summary("+OK", out);
                self.write_listing(Listing::Sizes, out);
            }
            Command::Uidl(None) => {
                reply::line(out, format_args!("+OK unique-id listing follows"));
                self.write_listing(Listing::UniqueIds, out);
            }
            Command::List(Some(number)) => match self.find(number) {
                Ok(index) => reply::line(
                    out,
                    format_args!("+OK {number} {}", self.messages[index].size_octets),
                ),
                Err(refusal) => refusal.write(context, out),
            },
            Command::Uidl(Some(number)) => match self.find(number) {
                Ok(index) => reply::line(
                    out,
                    format_args!(
                        "+OK {number} {}.{}",
                        self.uidvalidity, self.messages[index].uid
                    ),
                ),
                Err(refusal) => refusal.write(context, out),
            },
            Command::Retr(number) => match self.find(number) {
                Ok(index) => {
                    let message = self.messages[index];
                    reply::line(out, format_args!("+OK {} octets", message.size_octets));
                    return self.send(index, None);
                }
                Err(refusal) => refusal.write(context, out),
            },
            Command::Top {
                message: number,
                body_lines,
            } => match self.find(number) {
                Ok(index) => {
                    reply::line(out, format_args!("+OK top of message follows"));
                    return self.send(index, Some(body_lines));
                }
                Err(refusal) => refusal.write(context, out),
            },
            Command::Dele(number) => match self.find(number) {
                Ok(index) => {
                    self.deleted[index] = true;
                    self.visible_count -= 1;
                    self.visible_octets -= self.messages[index].size_octets;
                    reply::line(out, format_args!("+OK message {number} deleted"));
                }
                Err(refusal) => refusal.write(context, out),
            },
            Command::Rset => {
                self.deleted.fill(false);
                self.visible_count = self.messages.len();
                self.visible_octets = self.messages.iter().map(|m| m.size_octets).sum();
                self.write_summary("+OK maildrop has", out);
            }
            Command::Quit => return self.quit(out),
            Command::User(_)
            | Command::Pass(_)
            | Command::Apop { .. }
            | Command::Auth { .. }
            | Command::Stls => {
                // RFC 5034 §4: after a successful AUTH, AUTH is refused; likewise the others.
                context.refuse(out, WRONG_STATE);
            }
        }
        (State::Transaction(self), None)
    }

    /// Message number → index, refusing numbers out of range and deleted messages (RFC 1939
    /// §5: they "may NOT refer to a message marked as deleted"). Numbers never shift in a
    /// session, so a deleted message leaves a gap.
    fn find(&self, number: u32) -> Result<usize, Refusal> {
        let index = usize::try_from(number)
            .ok()
            .and_then(|number| number.checked_sub(1))
            .filter(|&index| index < self.messages.len())
            .ok_or(Refusal::NoSuchMessage)?;
        if self.deleted[index] {
            return Err(Refusal::Deleted(number));
        }
        Ok(index)
    }

    /// The multi-line LIST or UIDL: one line per message not marked deleted, then `.`. The
    /// whole listing goes to `out` at once; it is a small multiple of the maildrop list the
    /// session already holds.
    fn write_listing(&self, listing: Listing, out: &mut Vec<u8>) {
        for (index, message) in self.messages.iter().enumerate() {
            if self.deleted[index] {
                continue;
            }
            let number = index + 1;
            match listing {
                Listing::Sizes => {
                    reply::line(out, format_args!("{number} {}", message.size_octets))
                }
                // RFC 1939 §7: 1 to 70 characters from 0x21 to 0x7E, never reused. UIDVALIDITY
                // and UID together are exactly that, and IMAP shows the same pair.
                Listing::UniqueIds => reply::line(
                    out,
                    format_args!("{number} {}.{}", self.uidvalidity, message.uid),
                ),
            }
        }
        reply::line(out, format_args!("."));
    }

    fn send(mut self, index: usize, body_lines: Option<u32>) -> Transition {
        self.sending = true;
        let action = Action::SendMessage {
            index,
            uid: self.messages[index].uid,
            body_lines,
        };
        (State::Transaction(self), Some(action))
    }

    /// RFC 1939 §6: QUIT enters UPDATE. Deletions must be durable before the `+OK`, so they go
    /// to the driver first; with none, the session ends at once.
    fn quit(self, out: &mut Vec<u8>) -> Transition {
        let delete_uids: Vec<u32> = self
            .messages
            .iter()
            .zip(&self.deleted)
            .filter(|(_, deleted)| **deleted)
            .map(|(message, _)| message.uid)
            .collect();
        let update = Update {
            messages_left: self.visible_count,
        };
        if delete_uids.is_empty() {
            update.write_signoff(out);
            return (State::Closed, Some(Action::Close));
        }
        (State::Update(update), Some(Action::Commit { delete_uids }))
    }
}

/// The UPDATE state: deletions are being committed.
pub(super) struct Update {
    messages_left: usize,
}

impl Update {
    pub(super) fn write_signoff(&self, out: &mut Vec<u8>) {
        match self.messages_left {
            0 => reply::line(
                out,
                format_args!("+OK POP3 server signing off (maildrop empty)"),
            ),
            left => reply::line(
                out,
                format_args!(
                    "+OK POP3 server signing off ({left} {} left)",
                    reply::messages(left)
                ),
            ),
        }
    }
}

#[derive(Clone, Copy)]
enum Listing {
    Sizes,
    UniqueIds,
}

/// Why a message number was refused (the peer's fault).
enum Refusal {
    NoSuchMessage,
    Deleted(u32),
}

impl Refusal {
    fn write(self, context: &mut Context, out: &mut Vec<u8>) {
        match self {
            Refusal::NoSuchMessage => context.refuse(out, "-ERR no such message"),
            Refusal::Deleted(number) => {
                context.refuse(out, &format!("-ERR message {number} already deleted"))
            }
        }
    }
}
