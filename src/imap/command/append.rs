//! APPEND and MULTIAPPEND (RFC 3501 §6.3.11, RFC 3502 §6.3.11, RFC 4466 §2.3), BINARY's
//! literal8 (RFC 3516 §4.1) and UTF8=ACCEPT's `UTF8 (~{n}...)` (RFC 6855 §4), parsed around the
//! message literals so the session can stream each message into storage instead of holding it.
//!
//! The framer also asks here where a literal is announced (`literal_announcement`) and whether
//! an announced literal is a message (`literal_purpose`).

use super::date::{DateTime, date_time};
use super::flag::flag_list;
use super::lexer::{Lexed, Lexer, parse_number64};
use super::mailbox::MailboxName;
use super::mailboxes::mailbox;
use super::parse::{command_tag, with_tag};
use super::types::{ParseError, Tag};

/// `{N}`, `{N+}` or `~{N}` / `~{N+}`: a literal the client announces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LiteralAnnouncement {
    /// At most 2^63 - 1 (RFC 9051 `number64`); the framer applies its own, smaller limit.
    pub octets: u64,
    /// `{N}`: the client waits for a continuation request. `{N+}` (RFC 7888) does not.
    pub synchronizing: bool,
    /// `~{N}` literal8 (RFC 3516): the octets may include NUL.
    pub binary: bool,
}

/// One message of an APPEND: what precedes its literal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppendMessageHeader {
    pub flags: Vec<super::flag::Flag>,
    pub date: Option<DateTime>,
    pub literal: LiteralAnnouncement,
    /// Sent as `UTF8 (~{N}...)` (RFC 6855 §4): the message may carry UTF-8 headers, and a ")"
    /// follows its octets.
    pub utf8: bool,
}

/// The start of an APPEND, up to the first message's literal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppendStart {
    pub tag: Tag,
    pub mailbox: MailboxName,
    pub message: AppendMessageHeader,
}

/// What a literal announced at the end of a command so far is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LiteralPurpose {
    /// An argument (a string in any command, or the mailbox of an APPEND): read it whole, within
    /// the command-size limit, and parse the command once it is complete.
    Argument,
    /// The first message of an APPEND: hand the command so far to [`parse_append_start`] and
    /// stream the octets. Messages after the first are known to the caller from
    /// [`parse_append_next`].
    AppendMessage,
}

/// If `line` ends with a literal announcement, where it starts and what it announces.
///
/// `line` is the text since the command's start or since its last literal, without the CRLF.
/// An announcement inside a quoted string does not count. `{-1}`, `{+5}`, `{}`, `{5++}` and
/// counts beyond 2^63 - 1 are errors; `{x}` is not an announcement (`None`) and fails in the
/// grammar. The error has no tag: the caller knows which command it belongs to.
pub fn literal_announcement(
    line: &[u8],
) -> Option<Result<(usize, LiteralAnnouncement), ParseError>> {
    if line.last() != Some(&b'}') {
        return None;
    }
    let open = last_brace_outside_quotes(line)?;
    let content = &line[open + 1..line.len() - 1];
    if !content
        .iter()
        .all(|&b| b.is_ascii_digit() || matches!(b, b'+' | b'-'))
    {
        return None;
    }
    let (digits, synchronizing) = match content.strip_suffix(b"+") {
        Some(digits) => (digits, false),
        None => (content, true),
    };
    let invalid = |reason| Some(Err(ParseError { tag: None, reason }));
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return invalid("invalid literal announcement");
    }
    let Some(octets) = parse_number64(digits) else {
        return invalid("literal too large");
    };
    let binary = open > 0 && line[open - 1] == b'~';
    let start = if binary { open - 1 } else { open };
    Some(Ok((
        start,
        LiteralAnnouncement {
            octets,
            synchronizing,
            binary,
        },
    )))
}

/// The position of the last '{' that is not inside a quoted string, `None` if there is none or
/// the line ends inside a quoted string.
fn last_brace_outside_quotes(line: &[u8]) -> Option<usize> {
    let mut quoted = false;
    let mut escaped = false;
    let mut last = None;
    for (index, &byte) in line.iter().enumerate() {
        if quoted {
            match byte {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => quoted = false,
                _ => {}
            }
        } else if byte == b'"' {
            quoted = true;
        } else if byte == b'{' {
            last = Some(index);
        }
    }
    if quoted { None } else { last }
}

/// Whether the literal announced at the end of `input` (the command so far, earlier literals
/// inline, no CRLF) is the first message of an APPEND or an ordinary argument.
pub fn literal_purpose(input: &[u8]) -> LiteralPurpose {
    let mut lexer = Lexer::new(input);
    let is_append = command_tag(&mut lexer).is_ok()
        && lexer.sp().is_ok()
        && lexer
            .atom()
            .is_ok_and(|name| name.eq_ignore_ascii_case(b"APPEND"))
        && lexer.sp().is_ok();
    if !is_append {
        return LiteralPurpose::Argument;
    }
    // The one literal of an APPEND that is not a message is the mailbox, right after "APPEND ".
    let rest = lexer.rest();
    match literal_announcement(rest) {
        Some(Ok((0, _))) => LiteralPurpose::Argument,
        _ => LiteralPurpose::AppendMessage,
    }
}

/// Parses `tag SP "APPEND" SP mailbox [SP flag-list] [SP date-time] SP literal-announcement`
/// (nothing after the announcement but an optional CRLF).
pub fn parse_append_start(input: &[u8]) -> Result<AppendStart, ParseError> {
    let mut lexer = Lexer::new(input);
    let tag = command_tag(&mut lexer).map_err(|reason| ParseError { tag: None, reason })?;
    lexer.sp().map_err(|_| with_tag(&tag, "missing command"))?;
    let name = lexer
        .atom()
        .map_err(|_| with_tag(&tag, "missing command"))?;
    if !name.eq_ignore_ascii_case(b"APPEND") {
        return Err(with_tag(&tag, "not an APPEND command"));
    }
    append_arguments(&mut lexer)
        .map(|(mailbox, message)| AppendStart {
            tag: tag.clone(),
            mailbox,
            message,
        })
        .map_err(|reason| with_tag(&tag, reason))
}

/// After the command name: `SP mailbox` and the first message header.
pub(super) fn append_arguments(lexer: &mut Lexer<'_>) -> Lexed<(MailboxName, AppendMessageHeader)> {
    lexer.sp().map_err(|_| "missing mailbox name")?;
    if input_has_nul(lexer.rest()) {
        return Err("NUL is not allowed");
    }
    let mailbox = mailbox(lexer)?;
    let message = message_header(lexer)?;
    Ok((mailbox, message))
}

/// What follows a message literal: `Ok(None)` when the command ends (`input` empty, or ")"
/// after a `UTF8 (...)` message), `Ok(Some(header))` when another message follows (RFC 3502).
/// `previous` is the header of the message whose octets were just read. The error has no tag:
/// the caller holds it from [`parse_append_start`].
pub fn parse_append_next(
    input: &[u8],
    previous: &AppendMessageHeader,
) -> Result<Option<AppendMessageHeader>, ParseError> {
    let mut lexer = Lexer::new(input);
    let result = (|| {
        if previous.utf8 {
            lexer.expect(b')', "expected ) after the UTF8 message")?;
        }
        if lexer.at_end() {
            return Ok(None);
        }
        message_header(&mut lexer).map(Some)
    })();
    result.map_err(|reason| ParseError { tag: None, reason })
}

/// `[SP flag-list] [SP date-time] SP (literal / literal8 / "UTF8" SP "(" literal8)`, the
/// announcement ending the input.
fn message_header(lexer: &mut Lexer<'_>) -> Lexed<AppendMessageHeader> {
    lexer.sp().map_err(|_| "missing message literal")?;
    let mut flags = Vec::new();
    let mut date = None;
    if lexer.peek() == Some(b'(') {
        flags = flag_list(lexer)?;
        lexer.sp().map_err(|_| "missing message literal")?;
    }
    if lexer.peek() == Some(b'"') {
        date = Some(date_time(lexer)?);
        lexer.sp().map_err(|_| "missing message literal")?;
    }
    let utf8 = lexer.eat_keyword("UTF8 (");
    let literal = announcement(lexer)?;
    if utf8 && !literal.binary {
        return Err("UTF8 needs a binary literal");
    }
    if !lexer.at_end() {
        return Err("unexpected characters after the message literal");
    }
    Ok(AppendMessageHeader {
        flags,
        date,
        literal,
        utf8,
    })
}

/// `"{" number64 ["+"] "}"` or `"~{" number64 ["+"] "}"`, without data.
fn announcement(lexer: &mut Lexer<'_>) -> Lexed<LiteralAnnouncement> {
    let binary = lexer.eat(b'~');
    if !lexer.eat(b'{') {
        return Err(if lexer.at_end() {
            "missing message literal"
        } else {
            "expected a message literal"
        });
    }
    let octets = lexer.number64().map_err(|reason| match reason {
        "number too large" => "literal too large",
        _ => "invalid literal announcement",
    })?;
    let synchronizing = !lexer.eat(b'+');
    lexer.expect(b'}', "invalid literal announcement")?;
    Ok(LiteralAnnouncement {
        octets,
        synchronizing,
        binary,
    })
}

fn input_has_nul(input: &[u8]) -> bool {
    input.contains(&0)
}
