//! A minimal IMAP4rev1 client (RFC 3501): tagged commands, responses with literals, STARTTLS,
//! LOGIN, SELECT, APPEND with a synchronising or LITERAL+ (RFC 7888) literal, IDLE (RFC 2177)
//! and LOGOUT. It reads every response in full but parses only what the scenarios count: the
//! status of tagged responses, `* n EXISTS`, `* n FETCH`, `* SEARCH`, capabilities and literals
//! (whose contents a command may keep, for the mix scenario's checks).

use std::io::Write;

use crate::corpus::{Message, MessageId};
use crate::run::Shared;
use crate::scenario::TlsMode;
use crate::wire::{self, OperationError, Reader, Stream};

/// The longest response line: `* SEARCH` lists every match on one line (100,000 matches are
/// about 700 KB), and a FETCH of many messages' envelopes is one line per message.
pub const RESPONSE_LINE_OCTETS_MAX: usize = 16 * 1024 * 1024;
/// The largest literal accepted from a server: above the largest message servers take.
pub const LITERAL_OCTETS_MAX: u64 = 1 << 30;
/// Literals in one response (a FETCH of ENVELOPE can hold a few per message; one FETCH
/// response describes one message).
pub const RESPONSE_LITERALS_MAX: u32 = 10_000;
/// Literal octets kept from one response when a command asks to see them (the mix scenario
/// compares fetched bodies): the largest corpus message is 64 MiB.
pub const KEPT_LITERAL_OCTETS_MAX: u64 = 64 * 1024 * 1024;

/// What a response line is (RFC 3501 §2.2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Untagged,
    Continuation,
    Tagged(Status),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Ok,
    No,
    Bad,
}

/// The response reader and the command state, apart from the stream, so that the same state
/// carries over a STARTTLS upgrade.
#[derive(Debug)]
pub struct Exchange {
    reader: Reader,
    tag_number: u64,
    /// The tag of the command in progress (or last sent).
    tag: Vec<u8>,
    /// The last response: its lines joined, literal contents left out (the `{n}` stays).
    text: Vec<u8>,
    /// Octets of literals in the last response.
    literal_octets: u64,
    /// Whether the command in progress keeps literals' contents (in `literals`).
    keep_literals: bool,
    /// The contents of the last response's literals, one after the other, when kept.
    literals: Vec<u8>,
    /// Octets of the last response as sent, CRLFs and literals included.
    response_octets: u64,
    /// Whether the last CAPABILITY list seen names LITERAL+ (None: no list seen yet).
    literal_plus: Option<bool>,
    /// The latest `* n EXISTS`.
    exists: u64,
    /// A `* BYE` text, to explain the close that follows it.
    bye: Option<String>,
}

impl Default for Exchange {
    fn default() -> Self {
        Exchange::new()
    }
}

impl Exchange {
    pub fn new() -> Exchange {
        Exchange {
            reader: Reader::with_line_octets_max(RESPONSE_LINE_OCTETS_MAX),
            tag_number: 0,
            tag: Vec::new(),
            text: Vec::new(),
            literal_octets: 0,
            keep_literals: false,
            literals: Vec::new(),
            response_octets: 0,
            literal_plus: None,
            exists: 0,
            bye: None,
        }
    }

    /// Reads one whole response: a line, and for each literal it announces the literal and the
    /// line that continues after it (RFC 3501 §4.3).
    pub async fn response<S: Stream + ?Sized>(
        &mut self,
        stream: &mut S,
    ) -> Result<Kind, OperationError> {
        self.text.clear();
        self.literals.clear();
        self.literal_octets = 0;
        self.response_octets = 0;
        let mut literals = 0;
        loop {
            let line = match self.reader.line(stream).await {
                Ok(line) => line,
                Err(OperationError::Closed) => return Err(self.closed()),
                Err(error) => return Err(error),
            };
            self.response_octets += line.len() as u64 + 2;
            self.text.extend_from_slice(line);
            let Some(octets) = literal_announcement(line)? else {
                break;
            };
            literals += 1;
            if literals > RESPONSE_LITERALS_MAX {
                return Err(OperationError::Malformed(format!(
                    "more than {RESPONSE_LITERALS_MAX} literals in one response"
                )));
            }
            let read = if self.keep_literals {
                if self.literals.len() as u64 + octets > KEPT_LITERAL_OCTETS_MAX {
                    return Err(OperationError::Malformed(format!(
                        "more than {KEPT_LITERAL_OCTETS_MAX} literal octets in one response"
                    )));
                }
                self.reader
                    .read_into(stream, octets, &mut self.literals)
                    .await
            } else {
                self.reader.skip(stream, octets).await
            };
            match read {
                Ok(()) => {}
                Err(OperationError::Closed) => return Err(self.closed()),
                Err(error) => return Err(error),
            }
            self.literal_octets += octets;
            self.response_octets += octets;
        }
        Ok(self.classify())
    }

    fn classify(&mut self) -> Kind {
        if let Some(rest) = self.text.strip_prefix(b"* ") {
            if let Some((number, keyword)) = numbered(rest) {
                if keyword.eq_ignore_ascii_case(b"EXISTS") {
                    self.exists = number;
                }
            } else if starts_with_word(rest, b"BYE") {
                self.bye = Some(wire::quote(&self.text));
            }
            if let Some(literal_plus) = capability_literal_plus(&self.text) {
                self.literal_plus = Some(literal_plus);
            }
            return Kind::Untagged;
        }
        if self.text.starts_with(b"+") {
            return Kind::Continuation;
        }
        if let Some(literal_plus) = capability_literal_plus(&self.text) {
            self.literal_plus = Some(literal_plus);
        }
        let status = self
            .text
            .strip_prefix(self.tag.as_slice())
            .and_then(|rest| rest.strip_prefix(b" "))
            .and_then(|rest| {
                let statuses: [(&[u8], Status); 3] = [
                    (b"OK", Status::Ok),
                    (b"NO", Status::No),
                    (b"BAD", Status::Bad),
                ];
                statuses
                    .into_iter()
                    .find(|(word, _)| starts_with_word(rest, word))
                    .map(|(_, status)| status)
            });
        // Anything else is not a response to this client: treated as a failed command.
        Kind::Tagged(status.unwrap_or(Status::Bad))
    }

    /// The connection closed: after a `* BYE`, its text says why.
    fn closed(&self) -> OperationError {
        match &self.bye {
            Some(bye) => OperationError::Refused {
                step: "connection".into(),
                reply: bye.clone(),
            },
            None => OperationError::Closed,
        }
    }

    /// The next tag into `out`, followed by a space.
    fn begin_command(&mut self, out: &mut Vec<u8>) {
        self.keep_literals = false;
        self.tag_number += 1;
        self.tag.clear();
        write!(self.tag, "a{}", self.tag_number).expect("writing to a Vec");
        out.clear();
        out.extend_from_slice(&self.tag);
        out.push(b' ');
    }

    /// Reads responses up to the tagged one; untagged ones go to `untagged` (text, literal
    /// octets). Returns the octets of all of them; a NO or BAD is `Refused`.
    pub async fn finish<S: Stream + ?Sized>(
        &mut self,
        stream: &mut S,
        step: &str,
        mut untagged: impl FnMut(&[u8], u64),
    ) -> Result<u64, OperationError> {
        self.finish_with(stream, step, |text, octets, _| untagged(text, octets))
            .await
    }

    /// As `finish`; `untagged` also gets the contents of the response's literals (empty unless
    /// the command keeps them).
    async fn finish_with<S: Stream + ?Sized>(
        &mut self,
        stream: &mut S,
        step: &str,
        mut untagged: impl FnMut(&[u8], u64, &[u8]),
    ) -> Result<u64, OperationError> {
        let mut octets = 0;
        loop {
            let kind = self.response(stream).await?;
            octets += self.response_octets;
            match kind {
                Kind::Untagged => untagged(&self.text, self.literal_octets, &self.literals),
                Kind::Continuation => {
                    return Err(OperationError::Malformed(format!(
                        "{step}: unexpected continuation {}",
                        wire::quote(&self.text)
                    )));
                }
                Kind::Tagged(Status::Ok) => return Ok(octets),
                Kind::Tagged(_) => {
                    return Err(OperationError::Refused {
                        step: step.to_owned(),
                        reply: wire::quote(&self.text),
                    });
                }
            }
        }
    }

    /// Reads responses up to a continuation request (untagged ones go to `untagged`); a tagged
    /// response is a refusal.
    async fn continuation<S: Stream + ?Sized>(
        &mut self,
        stream: &mut S,
        step: &str,
        mut untagged: impl FnMut(&[u8], u64),
    ) -> Result<(), OperationError> {
        loop {
            match self.response(stream).await? {
                Kind::Untagged => untagged(&self.text, self.literal_octets),
                Kind::Continuation => return Ok(()),
                Kind::Tagged(_) => {
                    return Err(OperationError::Refused {
                        step: step.to_owned(),
                        reply: wire::quote(&self.text),
                    });
                }
            }
        }
    }

    /// The greeting (RFC 3501 §7.1): `* OK` to go on; `* BYE` or `* PREAUTH` end the session.
    async fn greeting<S: Stream + ?Sized>(&mut self, stream: &mut S) -> Result<(), OperationError> {
        let kind = self.response(stream).await?;
        let ok = kind == Kind::Untagged && starts_with_word(&self.text[2..], b"OK");
        if !ok {
            return Err(OperationError::Refused {
                step: "greeting".into(),
                reply: wire::quote(&self.text),
            });
        }
        Ok(())
    }

    /// STARTTLS on the plaintext stream (RFC 3501 §6.2.1); the caller then wraps it.
    async fn starttls<S: Stream + ?Sized>(&mut self, stream: &mut S) -> Result<(), OperationError> {
        let mut out = Vec::new();
        self.begin_command(&mut out);
        out.extend_from_slice(b"STARTTLS\r\n");
        wire::send(stream, &out).await?;
        self.finish(stream, "STARTTLS", |_, _| {}).await?;
        if !self.reader.is_drained() {
            return Err(OperationError::Malformed(
                "server sent data after OK to STARTTLS".into(),
            ));
        }
        // RFC 3501 §6.2.1: capabilities may change once TLS is on.
        self.literal_plus = None;
        Ok(())
    }
}

/// One IMAP connection after any TLS.
pub struct Client {
    stream: Box<dyn Stream>,
    exchange: Exchange,
    out: Vec<u8>,
}

impl Client {
    /// TCP, TLS as the scenario says, and the greeting.
    pub async fn connect(shared: &Shared) -> Result<Client, OperationError> {
        let scenario = &shared.scenario;
        let tcp = wire::connect_tcp(&scenario.host, scenario.port).await?;
        let tls = || shared.tls.as_ref().expect("TLS runs have a TLS client");
        let mut exchange = Exchange::new();
        let stream: Box<dyn Stream> = match scenario.tls {
            TlsMode::None => {
                let mut stream: Box<dyn Stream> = Box::new(tcp);
                exchange.greeting(&mut stream).await?;
                stream
            }
            TlsMode::Implicit => {
                let mut stream: Box<dyn Stream> = Box::new(tls().wrap(tcp).await?);
                exchange.greeting(&mut stream).await?;
                stream
            }
            TlsMode::Starttls => {
                let mut tcp = tcp;
                exchange.greeting(&mut tcp).await?;
                exchange.starttls(&mut tcp).await?;
                Box::new(tls().wrap(tcp).await?)
            }
        };
        Ok(Client {
            stream,
            exchange,
            out: Vec::new(),
        })
    }

    /// The latest `* n EXISTS`: the message count of the selected mailbox.
    pub fn exists(&self) -> u64 {
        self.exchange.exists
    }

    /// Sends `tag command` and reads up to the tagged response; see `Exchange::finish`.
    pub async fn command(
        &mut self,
        step: &str,
        command: &[u8],
        untagged: impl FnMut(&[u8], u64),
    ) -> Result<u64, OperationError> {
        self.exchange.begin_command(&mut self.out);
        self.out.extend_from_slice(command);
        self.out.extend_from_slice(b"\r\n");
        wire::send(&mut self.stream, &self.out).await?;
        self.exchange.finish(&mut self.stream, step, untagged).await
    }

    /// As `command`, keeping the literals of each untagged response: `untagged` gets the text
    /// and the literals' contents one after the other (at most `KEPT_LITERAL_OCTETS_MAX`).
    pub async fn command_with_literals(
        &mut self,
        step: &str,
        command: &[u8],
        mut untagged: impl FnMut(&[u8], &[u8]),
    ) -> Result<u64, OperationError> {
        self.exchange.begin_command(&mut self.out);
        self.exchange.keep_literals = true;
        self.out.extend_from_slice(command);
        self.out.extend_from_slice(b"\r\n");
        wire::send(&mut self.stream, &self.out).await?;
        self.exchange
            .finish_with(&mut self.stream, step, |text, _, literals| {
                untagged(text, literals)
            })
            .await
    }

    /// The last response read: after a command succeeded, its tagged OK (with any response
    /// code, such as `[APPENDUID v u]`), literal contents left out.
    pub fn last_response(&self) -> &[u8] {
        &self.exchange.text
    }

    /// LOGIN with both arguments as quoted strings (RFC 3501 §6.2.3).
    pub async fn login(&mut self, user: &str, password: &str) -> Result<(), OperationError> {
        let mut command = b"LOGIN ".to_vec();
        quoted(&mut command, user.as_bytes())?;
        command.push(b' ');
        quoted(&mut command, password.as_bytes())?;
        self.command("LOGIN", &command, |_, _| {}).await?;
        Ok(())
    }

    /// SELECT; returns the response octets. `exists()` then gives the message count.
    pub async fn select(&mut self, mailbox: &str) -> Result<u64, OperationError> {
        let mut command = b"SELECT ".to_vec();
        quoted(&mut command, mailbox.as_bytes())?;
        self.exchange.exists = 0;
        self.command("SELECT", &command, |_, _| {}).await
    }

    /// Asks for CAPABILITY unless a list was seen since the last STARTTLS.
    pub async fn learn_capabilities(&mut self) -> Result<(), OperationError> {
        if self.exchange.literal_plus.is_none() {
            self.command("CAPABILITY", b"CAPABILITY", |_, _| {}).await?;
        }
        Ok(())
    }

    /// APPEND one message (RFC 3501 §6.3.11). With LITERAL+ offered and allowed, the message
    /// follows the command at once (`{n+}`); otherwise the client waits for `+` first.
    pub async fn append(
        &mut self,
        mailbox: &str,
        message: &Message,
        id: MessageId,
        synchronising: bool,
    ) -> Result<(), OperationError> {
        self.append_with(mailbox, "", message, id, synchronising, |_, _| {})
            .await?;
        Ok(())
    }

    /// APPEND with a flag list (`flags` is the list's inside, e.g. `\Seen $Label1`; empty for
    /// none); the untagged responses on the way go to `untagged`. Returns the response octets;
    /// `last_response()` is then the tagged OK.
    pub async fn append_with(
        &mut self,
        mailbox: &str,
        flags: &str,
        message: &Message,
        id: MessageId,
        synchronising: bool,
        mut untagged: impl FnMut(&[u8], u64),
    ) -> Result<u64, OperationError> {
        let non_synchronising = !synchronising && self.exchange.literal_plus == Some(true);
        self.exchange.begin_command(&mut self.out);
        self.out.extend_from_slice(b"APPEND ");
        quoted(&mut self.out, mailbox.as_bytes())?;
        if !flags.is_empty() {
            write!(self.out, " ({flags})").expect("writing to a Vec");
        }
        let plus = if non_synchronising { "+" } else { "" };
        write!(self.out, " {{{}{plus}}}\r\n", message.len()).expect("writing to a Vec");
        if !non_synchronising {
            wire::send(&mut self.stream, &self.out).await?;
            self.exchange
                .continuation(&mut self.stream, "APPEND", &mut untagged)
                .await?;
            self.out.clear();
        }
        message.write_raw(&mut self.out, id);
        self.out.extend_from_slice(b"\r\n");
        wire::send(&mut self.stream, &self.out).await?;
        self.exchange
            .finish(&mut self.stream, "APPEND", untagged)
            .await
    }

    /// IDLE (RFC 2177): sends it and waits for the server's `+`.
    pub async fn idle(&mut self) -> Result<(), OperationError> {
        self.exchange.begin_command(&mut self.out);
        self.out.extend_from_slice(b"IDLE\r\n");
        wire::send(&mut self.stream, &self.out).await?;
        self.exchange
            .continuation(&mut self.stream, "IDLE", |_, _| {})
            .await
    }

    /// While idling: reads responses until `* n EXISTS` with n above `count`.
    pub async fn wait_for_exists(&mut self, count: u64) -> Result<u64, OperationError> {
        loop {
            match self.exchange.response(&mut self.stream).await? {
                Kind::Untagged if self.exchange.exists > count => {
                    return Ok(self.exchange.exists);
                }
                Kind::Untagged => {}
                _ => {
                    return Err(OperationError::Malformed(format!(
                        "IDLE: unexpected {}",
                        wire::quote(&self.exchange.text)
                    )));
                }
            }
        }
    }

    /// Ends IDLE with DONE and reads the IDLE command's tagged OK.
    pub async fn done(&mut self) -> Result<(), OperationError> {
        wire::send(&mut self.stream, b"DONE\r\n").await?;
        self.exchange
            .finish(&mut self.stream, "DONE", |_, _| {})
            .await?;
        Ok(())
    }

    /// LOGOUT (RFC 3501 §6.1.3): `* BYE`, then the tagged OK.
    pub async fn logout(&mut self) -> Result<(), OperationError> {
        self.command("LOGOUT", b"LOGOUT", |_, _| {}).await?;
        Ok(())
    }
}

/// An IMAP quoted string (RFC 3501 §4.3); text that cannot be quoted is refused rather than
/// sent as a literal, since the scenarios send only account names, passwords and mailboxes.
pub fn quoted(out: &mut Vec<u8>, text: &[u8]) -> Result<(), OperationError> {
    if text
        .iter()
        .any(|&byte| byte == b'\r' || byte == b'\n' || byte == 0 || byte > 0x7f)
    {
        return Err(OperationError::Malformed(
            "cannot send a CR, LF, NUL or 8-bit octet in a quoted string".into(),
        ));
    }
    out.push(b'"');
    for &byte in text {
        if byte == b'"' || byte == b'\\' {
            out.push(b'\\');
        }
        out.push(byte);
    }
    out.push(b'"');
    Ok(())
}

/// `{n}` (or `{n+}`, or literal8 `~{n}`) at the end of a line announces n octets that follow.
pub fn literal_announcement(line: &[u8]) -> Result<Option<u64>, OperationError> {
    let Some(inside) = line.strip_suffix(b"}") else {
        return Ok(None);
    };
    let Some(open) = memchr::memrchr(b'{', inside) else {
        return Ok(None);
    };
    let digits = &inside[open + 1..];
    let digits = digits.strip_suffix(b"+").unwrap_or(digits);
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return Ok(None);
    }
    let octets = parse_number(digits).filter(|&octets| octets <= LITERAL_OCTETS_MAX);
    octets.map(Some).ok_or_else(|| {
        OperationError::Malformed(format!("literal {} too large", wire::quote(digits)))
    })
}

/// `n KEYWORD ...` (after `* `) → (n, KEYWORD).
pub fn numbered(untagged: &[u8]) -> Option<(u64, &[u8])> {
    let space = memchr::memchr(b' ', untagged)?;
    let number = parse_number(&untagged[..space])?;
    let rest = &untagged[space + 1..];
    let end = memchr::memchr(b' ', rest).unwrap_or(rest.len());
    Some((number, &rest[..end]))
}

/// Whether an untagged response (with its `* `) is `* n FETCH`.
pub fn is_fetch(text: &[u8]) -> bool {
    text.strip_prefix(b"* ")
        .and_then(numbered)
        .is_some_and(|(_, keyword)| keyword.eq_ignore_ascii_case(b"FETCH"))
}

/// The numbers of a `* SEARCH` response, or None for another response.
pub fn search_matches(text: &[u8]) -> Option<u64> {
    let rest = text.strip_prefix(b"* ")?;
    if !starts_with_word(rest, b"SEARCH") {
        return None;
    }
    let numbers = rest[b"SEARCH".len()..]
        .split(|&byte| byte == b' ')
        .filter(|word| !word.is_empty() && word.iter().all(u8::is_ascii_digit))
        .count();
    Some(numbers as u64)
}

/// The number after `name` (e.g. `RFC822.SIZE`) in a FETCH response.
pub fn fetch_number(text: &[u8], name: &[u8]) -> Option<u64> {
    let at = memchr::memmem::find(text, name)? + name.len();
    let rest = text[at..].strip_prefix(b" ")?;
    let end = rest
        .iter()
        .position(|byte| !byte.is_ascii_digit())
        .unwrap_or(rest.len());
    parse_number(&rest[..end])
}

/// The number of a response code such as `[HIGHESTMODSEQ 715]` or `[UIDVALIDITY 3]`.
pub fn response_code(text: &[u8], name: &[u8]) -> Option<u64> {
    let mut at = 0;
    while let Some(found) = memchr::memmem::find(&text[at..], b"[") {
        let rest = &text[at + found + 1..];
        if rest.len() > name.len()
            && rest[..name.len()].eq_ignore_ascii_case(name)
            && rest[name.len()] == b' '
        {
            let digits = &rest[name.len() + 1..];
            let end = digits
                .iter()
                .position(|byte| !byte.is_ascii_digit())
                .unwrap_or(digits.len());
            return parse_number(&digits[..end]);
        }
        at += found + 1;
    }
    None
}

/// Whether a response carries a capability list, and if so whether it names LITERAL+.
fn capability_literal_plus(text: &[u8]) -> Option<bool> {
    let start = if let Some(at) = memchr::memmem::find(text, b"[CAPABILITY ") {
        at + b"[CAPABILITY ".len()
    } else if text.starts_with(b"* CAPABILITY ") {
        b"* CAPABILITY ".len()
    } else {
        return None;
    };
    let list = &text[start..];
    let end = memchr::memchr(b']', list).unwrap_or(list.len());
    Some(
        list[..end]
            .split(|&byte| byte == b' ')
            .any(|word| word.eq_ignore_ascii_case(b"LITERAL+")),
    )
}

fn starts_with_word(text: &[u8], word: &[u8]) -> bool {
    text.len() >= word.len()
        && text[..word.len()].eq_ignore_ascii_case(word)
        && matches!(text.get(word.len()), None | Some(b' '))
}

/// Decimal digits as a number (at most 19 of them, so no overflow).
pub fn parse_number(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() || digits.len() > 19 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(
        digits
            .iter()
            .fold(0, |value, &digit| value * 10 + u64::from(digit - b'0')),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    #[test]
    fn parses_the_parts_the_scenarios_count() {
        assert_eq!(
            literal_announcement(b"* 1 FETCH (BODY[] {42}").unwrap(),
            Some(42)
        );
        assert_eq!(literal_announcement(b"a1 APPEND x {7+}").unwrap(), Some(7));
        assert_eq!(
            literal_announcement(b"* 1 FETCH (BINARY[] ~{3}").unwrap(),
            Some(3)
        );
        assert_eq!(literal_announcement(b"* OK {braces} here").unwrap(), None);
        assert_eq!(literal_announcement(b"* OK {}").unwrap(), None);
        assert!(literal_announcement(b"* 1 FETCH (BODY[] {99999999999}").is_err());
        assert_eq!(numbered(b"17 EXISTS"), Some((17, &b"EXISTS"[..])));
        assert_eq!(numbered(b"OK [UIDNEXT 4]"), None);
        assert!(is_fetch(b"* 3 FETCH (UID 9 FLAGS (\\Seen))"));
        assert!(!is_fetch(b"* 3 EXPUNGE"));
        assert_eq!(
            response_code(b"* OK [HIGHESTMODSEQ 715] Highest", b"HIGHESTMODSEQ"),
            Some(715)
        );
        assert_eq!(
            response_code(b"* OK [UIDVALIDITY 3] UIDs valid", b"UIDVALIDITY"),
            Some(3)
        );
        assert_eq!(response_code(b"* OK [UIDNEXT 9] x", b"UIDVALIDITY"), None);
        assert_eq!(response_code(b"* OK [NOMODSEQ] x", b"HIGHESTMODSEQ"), None);
        assert_eq!(search_matches(b"* SEARCH 1 4 9"), Some(3));
        assert_eq!(search_matches(b"* SEARCH"), Some(0));
        assert_eq!(search_matches(b"* SEARCHES 1"), None);
        assert_eq!(
            fetch_number(
                b"* 2 FETCH (RFC822.SIZE 4096 BODY[] {4096})",
                b"RFC822.SIZE"
            ),
            Some(4096)
        );
        assert_eq!(
            capability_literal_plus(b"* OK [CAPABILITY IMAP4rev1 LITERAL+ IDLE] ready"),
            Some(true)
        );
        assert_eq!(
            capability_literal_plus(b"* CAPABILITY IMAP4rev1 IDLE"),
            Some(false)
        );
        assert_eq!(capability_literal_plus(b"a1 OK done"), None);
        let mut out = Vec::new();
        quoted(&mut out, br#"pass "word" \ x"#).unwrap();
        assert_eq!(out, br#""pass \"word\" \\ x""#);
        assert!(quoted(&mut out, b"a\r\nb").is_err());
    }

    #[tokio::test]
    async fn reads_responses_with_literals_up_to_the_tagged_one() {
        let (mut client, mut server) = tokio::io::duplex(256);
        let writer = tokio::spawn(async move {
            server
                .write_all(
                    b"* OK [CAPABILITY IMAP4rev1 LITERAL+] hi\r\n\
                      * 1 FETCH (BODY[] {5}\r\nab\r\nc FLAGS ())\r\n\
                      * 2 FETCH (ENVELOPE (NIL {3}\r\nx}y NIL))\r\n\
                      * 3 EXISTS\r\n\
                      a1 OK FETCH done\r\n\
                      * BYE going\r\n",
                )
                .await
                .unwrap();
        });
        let mut exchange = Exchange::new();
        exchange.greeting(&mut client).await.unwrap();
        assert_eq!(exchange.literal_plus, Some(true));
        exchange.tag = b"a1".to_vec();
        let mut seen = Vec::new();
        let octets = exchange
            .finish(&mut client, "FETCH", |text, literal| {
                seen.push((String::from_utf8_lossy(text).into_owned(), literal))
            })
            .await
            .unwrap();
        assert_eq!(
            seen,
            [
                ("* 1 FETCH (BODY[] {5} FLAGS ())".to_owned(), 5),
                ("* 2 FETCH (ENVELOPE (NIL {3} NIL))".to_owned(), 3),
                ("* 3 EXISTS".to_owned(), 0),
            ]
        );
        assert_eq!(exchange.exists, 3);
        // Lines with their CRLFs (23 + 12, 30 + 8, 12, 18) and the literals (5, 3).
        assert_eq!(octets, 111);
        writer.await.unwrap();
        match exchange.response(&mut client).await.unwrap() {
            Kind::Untagged => {}
            other => panic!("{other:?}"),
        }
        match exchange.response(&mut client).await {
            Err(OperationError::Refused { reply, .. }) => assert_eq!(reply, "* BYE going"),
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn a_refusal_names_the_step_and_quotes_the_server() {
        let (mut client, mut server) = tokio::io::duplex(256);
        server
            .write_all(b"a1 NO [AUTHENTICATIONFAILED] Authentication failed\r\n")
            .await
            .unwrap();
        let mut exchange = Exchange::new();
        exchange.tag = b"a1".to_vec();
        match exchange.finish(&mut client, "LOGIN", |_, _| {}).await {
            Err(OperationError::Refused { step, reply }) => {
                assert_eq!(step, "LOGIN");
                assert!(reply.contains("AUTHENTICATIONFAILED"), "{reply}");
            }
            other => panic!("{other:?}"),
        }
    }
}
