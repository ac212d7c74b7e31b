//! `command = tag SP (command-any / command-auth / command-nonauth / command-select) CRLF`
//! (RFC 3501 §9): reads the tag and the command name and hands the arguments to the family.

use super::append::append_arguments;
use super::fetch::fetch;
use super::lexer::{Lexed, Lexer};
use super::list::{list, lsub};
use super::mailboxes::{create, get_quota, rename, select, set_quota, single_mailbox, status};
use super::messages::{copy_or_move, store, uid_expunge};
use super::search::{search, sort, thread};
use super::session::{authenticate, compress, enable, id, login};
use super::types::{Command, CommandBody, ParseError, TAG_OCTETS_MAX, Tag};

/// Parses one complete command: `tag SP name [arguments] CRLF`, with every literal inline
/// (`{5}\r\nhello`, `{5+}\r\nhello`). APPEND goes through [`super::parse_append_start`]; given
/// here, it fails with the reason its arguments are incomplete.
pub fn parse_command(input: &[u8]) -> Result<Command, ParseError> {
    let mut lexer = Lexer::new(input);
    let tag = command_tag(&mut lexer).map_err(|reason| ParseError { tag: None, reason })?;
    match command_body(&mut lexer) {
        Ok(body) => Ok(Command { tag, body }),
        Err(reason) => Err(ParseError {
            tag: Some(tag),
            reason,
        }),
    }
}

pub(super) fn with_tag(tag: &Tag, reason: &'static str) -> ParseError {
    ParseError {
        tag: Some(tag.clone()),
        reason,
    }
}

/// `tag SP`.
pub(super) fn command_tag(lexer: &mut Lexer<'_>) -> Lexed<Tag> {
    let text = lexer.take_while(|b| super::lexer::is_astring_char(b) && b != b'+');
    if text.is_empty() {
        return Err("missing tag");
    }
    if text.len() > TAG_OCTETS_MAX {
        return Err("tag too long");
    }
    let tag = std::str::from_utf8(text)
        .ok()
        .and_then(Tag::new)
        .ok_or("invalid tag")?;
    if lexer.at_end() {
        // A tag alone: the tag is good, the command is missing. The caller adds the tag.
        return Ok(tag);
    }
    if lexer.peek() != Some(b' ') {
        return Err("invalid tag");
    }
    Ok(tag)
}

fn command_body(lexer: &mut Lexer<'_>) -> Lexed<CommandBody> {
    lexer.sp().map_err(|_| "missing command")?;
    // RFC 3501 §9 note 3: NUL is never allowed (literal8 is not taken outside APPEND).
    if lexer.rest().contains(&0) {
        return Err("NUL is not allowed");
    }
    let name = lexer
        .atom()
        .map_err(|_| "missing command")?
        .to_ascii_uppercase();
    let no_arguments = |lexer: &mut Lexer<'_>, body: CommandBody| lexer.end().map(|()| body);
    match name.as_slice() {
        b"CAPABILITY" => no_arguments(lexer, CommandBody::Capability),
        b"NOOP" => no_arguments(lexer, CommandBody::Noop),
        b"LOGOUT" => no_arguments(lexer, CommandBody::Logout),
        b"STARTTLS" => no_arguments(lexer, CommandBody::StartTls),
        b"NAMESPACE" => no_arguments(lexer, CommandBody::Namespace),
        b"IDLE" => no_arguments(lexer, CommandBody::Idle),
        b"CHECK" => no_arguments(lexer, CommandBody::Check),
        b"CLOSE" => no_arguments(lexer, CommandBody::Close),
        b"UNSELECT" => no_arguments(lexer, CommandBody::Unselect),
        b"EXPUNGE" => no_arguments(lexer, CommandBody::Expunge),
        b"AUTHENTICATE" => authenticate(lexer),
        b"LOGIN" => login(lexer),
        b"ENABLE" => enable(lexer),
        b"ID" => id(lexer),
        b"COMPRESS" => compress(lexer),
        b"SELECT" => select(lexer, false),
        b"EXAMINE" => select(lexer, true),
        b"CREATE" => create(lexer),
        b"DELETE" => single_mailbox(lexer).map(|mailbox| CommandBody::Delete { mailbox }),
        b"RENAME" => rename(lexer),
        b"SUBSCRIBE" => single_mailbox(lexer).map(|mailbox| CommandBody::Subscribe { mailbox }),
        b"UNSUBSCRIBE" => single_mailbox(lexer).map(|mailbox| CommandBody::Unsubscribe { mailbox }),
        b"LIST" => list(lexer),
        b"LSUB" => lsub(lexer),
        b"STATUS" => status(lexer),
        b"APPEND" => {
            // Only an APPEND without a message literal (or a misrouted one) gets here.
            append_arguments(lexer)?;
            Err("APPEND message must be a streamed literal")
        }
        b"GETQUOTA" => get_quota(lexer),
        b"GETQUOTAROOT" => {
            single_mailbox(lexer).map(|mailbox| CommandBody::GetQuotaRoot { mailbox })
        }
        b"SETQUOTA" => set_quota(lexer),
        b"UID" => uid_command(lexer),
        _ => selected_command(lexer, &name, false),
    }
}

/// `uid = "UID" SP (copy / move / fetch / search / store / uid-expunge / sort / thread)`.
fn uid_command(lexer: &mut Lexer<'_>) -> Lexed<CommandBody> {
    lexer.sp().map_err(|_| "missing UID command")?;
    let name = lexer
        .atom()
        .map_err(|_| "missing UID command")?
        .to_ascii_uppercase();
    if name == b"EXPUNGE" {
        return uid_expunge(lexer);
    }
    selected_command(lexer, &name, true).map_err(|reason| match reason {
        "unknown command" => "unknown UID command",
        _ => reason,
    })
}

/// The commands that exist in a plain and a UID form.
fn selected_command(lexer: &mut Lexer<'_>, name: &[u8], uid: bool) -> Lexed<CommandBody> {
    match name {
        b"FETCH" => fetch(lexer, uid),
        b"STORE" => store(lexer, uid),
        b"SEARCH" => search(lexer, uid),
        b"COPY" => copy_or_move(lexer, uid, false),
        b"MOVE" => copy_or_move(lexer, uid, true),
        b"SORT" => sort(lexer, uid),
        b"THREAD" => thread(lexer, uid),
        _ => Err("unknown command"),
    }
}
