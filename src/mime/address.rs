//! RFC 5322 §3.4 address lists, read leniently into RFC 3501 §7.4.2 address structures.
//!
//! Comments are dropped; display names keep their words with quoting removed and white space
//! between words collapsed to one space; obsolete routes (RFC 5322 §4.4) become the
//! at-domain-list. Groups become a start marker, their members, and an end marker.
//! Nothing here fails: an element that is not an address is skipped up to the next comma.

use super::lex::{quoted, skip_cfws, unquote_into};

/// Host given to an address without a domain: `NIL` would mean group syntax (RFC 3501
/// §7.4.2). This is the marker UW IMAP, the reference implementation, uses.
pub const MISSING_HOST: &[u8] = b".MISSING-HOST-NAME.";

/// One RFC 3501 address structure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Address {
    Mailbox {
        name: Option<Vec<u8>>,
        route: Option<Vec<u8>>,
        mailbox: Vec<u8>,
        host: Vec<u8>,
    },
    /// `(NIL NIL "name" NIL)`
    GroupStart(Vec<u8>),
    /// `(NIL NIL NIL NIL)`
    GroupEnd,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token<'a> {
    /// A run of atext (and octets above 127, RFC 6532).
    Atom(&'a [u8]),
    /// Quoted-string content, still escaped.
    Quoted(&'a [u8]),
    /// `[...]`, brackets included.
    Literal(&'a [u8]),
    Special(u8),
}

#[derive(Debug, Clone, Copy)]
struct Lexeme<'a> {
    token: Token<'a>,
    /// White space or a comment came before it.
    spaced: bool,
}

fn is_special(octet: u8) -> bool {
    matches!(
        octet,
        b'(' | b')' | b'<' | b'>' | b'[' | b']' | b':' | b';' | b'@' | b'\\' | b',' | b'.' | b'"'
    ) || octet <= b' '
        || octet == 0x7f
}

fn lex(input: &[u8]) -> Vec<Lexeme<'_>> {
    let mut lexemes = Vec::new();
    let mut at = 0;
    loop {
        let start = at;
        at = skip_cfws(input, at);
        let Some(&octet) = input.get(at) else {
            return lexemes;
        };
        let spaced = at > start;
        let (token, next) = match octet {
            b'"' => {
                let (escaped, next) = quoted(input, at);
                (Token::Quoted(escaped), next)
            }
            b'[' => {
                let end =
                    memchr::memchr(b']', &input[at..]).map_or(input.len(), |end| at + end + 1);
                (Token::Literal(&input[at..end]), end)
            }
            _ if is_special(octet) => (Token::Special(octet), at + 1),
            _ => {
                let end = input[at..]
                    .iter()
                    .position(|&octet| is_special(octet))
                    .map_or(input.len(), |length| at + length);
                (Token::Atom(&input[at..end]), end)
            }
        };
        lexemes.push(Lexeme { token, spaced });
        at = next;
    }
}

/// Parses an address-list (or a mailbox-list: From, Sender and Reply-To share the reader).
pub fn parse_address_list(value: &[u8]) -> Vec<Address> {
    let lexemes = lex(value);
    let mut parser = Parser {
        lexemes: &lexemes,
        at: 0,
        out: Vec::new(),
    };
    parser.list();
    parser.out
}

struct Parser<'l, 'a> {
    lexemes: &'l [Lexeme<'a>],
    at: usize,
    out: Vec<Address>,
}

impl Parser<'_, '_> {
    fn peek(&self) -> Option<Token<'_>> {
        self.lexemes.get(self.at).map(|lexeme| lexeme.token)
    }

    fn list(&mut self) {
        // Outside a group, `;` is taken as a separator: people type it between addresses.
        while let Some(token) = self.peek() {
            if matches!(token, Token::Special(b',' | b';')) {
                self.at += 1;
            } else {
                self.address(false);
            }
        }
    }

    /// One address or group; leaves `at` on the separator after it (or at the end).
    fn address(&mut self, in_group: bool) {
        let start = self.at;
        while let Some(token) = self.peek() {
            if matches!(token, Token::Special(b'<' | b':' | b',' | b';')) {
                break;
            }
            self.at += 1;
        }
        let phrase = &self.lexemes[start..self.at];
        match self.peek() {
            Some(Token::Special(b'<')) => {
                self.at += 1;
                let inner = self.at;
                // An unclosed bracket ends at the next separator, except inside an obs-route,
                // whose domains are separated by commas up to its colon.
                let mut in_route = self.peek() == Some(Token::Special(b'@'));
                while let Some(token) = self.peek() {
                    match token {
                        Token::Special(b'>') => break,
                        Token::Special(b':') => in_route = false,
                        Token::Special(b',' | b';') if !in_route => break,
                        _ => {}
                    }
                    self.at += 1;
                }
                let angle = &self.lexemes[inner..self.at];
                if let Some((route, mailbox, host)) = angle_addr(angle) {
                    let name = phrase_text(phrase);
                    self.out.push(Address::Mailbox {
                        name: (!name.is_empty()).then_some(name),
                        route,
                        mailbox,
                        host,
                    });
                }
                self.skip_to_separator(in_group);
            }
            Some(Token::Special(b':')) if !in_group => {
                self.at += 1;
                self.out.push(Address::GroupStart(phrase_text(phrase)));
                loop {
                    match self.peek() {
                        None => break,
                        Some(Token::Special(b';')) => {
                            self.at += 1;
                            break;
                        }
                        Some(Token::Special(b',')) => self.at += 1,
                        Some(_) => self.address(true),
                    }
                }
                self.out.push(Address::GroupEnd);
                self.skip_to_separator(false);
            }
            Some(Token::Special(b':')) => self.skip_to_separator(in_group),
            _ => {
                if let Some((mailbox, host)) = addr_spec(phrase) {
                    self.out.push(Address::Mailbox {
                        name: None,
                        route: None,
                        mailbox,
                        host,
                    });
                }
            }
        }
    }

    /// Skips what follows an address up to `,` (or `;`, which also ends a group).
    fn skip_to_separator(&mut self, in_group: bool) {
        while let Some(token) = self.peek() {
            match token {
                Token::Special(b',') => return,
                Token::Special(b';') if in_group => return,
                _ => self.at += 1,
            }
        }
    }
}

/// A display name or group name: words with quoting removed, one space where there was
/// white space or a comment. Stray specials are kept as text.
fn phrase_text(phrase: &[Lexeme<'_>]) -> Vec<u8> {
    let mut text = Vec::new();
    for (index, lexeme) in phrase.iter().enumerate() {
        if lexeme.spaced && index > 0 {
            text.push(b' ');
        }
        match lexeme.token {
            Token::Atom(atom) | Token::Literal(atom) => text.extend_from_slice(atom),
            Token::Quoted(escaped) => unquote_into(escaped, &mut text),
            Token::Special(octet) => text.push(octet),
        }
    }
    text
}

/// `[obs-route] addr-spec` inside angle brackets.
type AngleAddr = (Option<Vec<u8>>, Vec<u8>, Vec<u8>);

fn angle_addr(inner: &[Lexeme<'_>]) -> Option<AngleAddr> {
    let mut spec = inner;
    let mut route = None;
    if matches!(
        inner.first().map(|lexeme| lexeme.token),
        Some(Token::Special(b'@'))
    ) {
        // RFC 5322 §4.4 obs-route: "@a,@b:" before the addr-spec.
        let colon = inner
            .iter()
            .position(|lexeme| lexeme.token == Token::Special(b':'))?;
        let mut text = Vec::new();
        for lexeme in &inner[..colon] {
            match lexeme.token {
                Token::Atom(atom) | Token::Literal(atom) => text.extend_from_slice(atom),
                Token::Special(octet @ (b'@' | b'.' | b',')) => text.push(octet),
                _ => return None,
            }
        }
        route = Some(text);
        spec = &inner[colon + 1..];
    }
    let (mailbox, host) = addr_spec(spec)?;
    Some((route, mailbox, host))
}

/// `local-part "@" domain`, the local part with quoting removed. Without `@`, a valid local
/// part alone gets [`MISSING_HOST`]; anything else is not an address.
fn addr_spec(lexemes: &[Lexeme<'_>]) -> Option<(Vec<u8>, Vec<u8>)> {
    let at_sign = lexemes
        .iter()
        .position(|lexeme| lexeme.token == Token::Special(b'@'));
    let (local, domain) = match at_sign {
        Some(at) => (&lexemes[..at], Some(&lexemes[at + 1..])),
        None => (lexemes, None),
    };
    let mailbox = dotted(local, true)?;
    if mailbox.is_empty() {
        return None;
    }
    let host = match domain {
        None | Some([]) => MISSING_HOST.to_vec(),
        Some(
            [
                Lexeme {
                    token: Token::Literal(literal),
                    ..
                },
            ],
        ) => literal.to_vec(),
        Some(domain) => dotted(domain, false)?,
    };
    Some((mailbox, host))
}

/// Words (atoms, and quoted strings when `quoted_allowed`) separated by dots, as one string
/// without white space. Dots may be doubled or trailing (obs forms seen in the wild).
fn dotted(lexemes: &[Lexeme<'_>], quoted_allowed: bool) -> Option<Vec<u8>> {
    let mut text = Vec::new();
    let mut after_word = false;
    for lexeme in lexemes {
        match lexeme.token {
            Token::Atom(atom) if !after_word => text.extend_from_slice(atom),
            Token::Quoted(escaped) if quoted_allowed && !after_word => {
                unquote_into(escaped, &mut text);
            }
            Token::Special(b'.') => {
                text.push(b'.');
                after_word = false;
                continue;
            }
            _ => return None,
        }
        after_word = true;
    }
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mailbox(name: Option<&str>, mailbox: &str, host: &str) -> Address {
        Address::Mailbox {
            name: name.map(|name| name.as_bytes().to_vec()),
            route: None,
            mailbox: mailbox.as_bytes().to_vec(),
            host: host.as_bytes().to_vec(),
        }
    }

    #[test]
    fn addr_spec_and_name_addr() {
        assert_eq!(
            parse_address_list(b"a@b.example, \"Doe, John\" <john.doe@example.com>"),
            [
                mailbox(None, "a", "b.example"),
                mailbox(Some("Doe, John"), "john.doe", "example.com")
            ]
        );
    }

    #[test]
    fn rfc5322_appendix_a_1_2_different_types_of_mailboxes() {
        let value = b"Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>";
        assert_eq!(
            parse_address_list(value),
            [mailbox(Some("Pete"), "pete", "silly.test")]
        );
        let value = b"Mary Smith <mary@x.test>, jdoe@example.org, Who? <one@y.test>";
        assert_eq!(
            parse_address_list(value),
            [
                mailbox(Some("Mary Smith"), "mary", "x.test"),
                mailbox(None, "jdoe", "example.org"),
                mailbox(Some("Who?"), "one", "y.test"),
            ]
        );
        let value = b"<boss@nil.test>, \"Giant; \\\"Big\\\" Box\" <sysservices@example.net>";
        assert_eq!(
            parse_address_list(value),
            [
                mailbox(None, "boss", "nil.test"),
                mailbox(Some("Giant; \"Big\" Box"), "sysservices", "example.net"),
            ]
        );
    }

    #[test]
    fn groups_become_markers() {
        let value = b"A Group:Ed Jones <c@a.test>,joe@where.test,John <jdoe@one.test>;, x@y";
        assert_eq!(
            parse_address_list(value),
            [
                Address::GroupStart(b"A Group".to_vec()),
                mailbox(Some("Ed Jones"), "c", "a.test"),
                mailbox(None, "joe", "where.test"),
                mailbox(Some("John"), "jdoe", "one.test"),
                Address::GroupEnd,
                mailbox(None, "x", "y"),
            ]
        );
        assert_eq!(
            parse_address_list(b"undisclosed-recipients:;"),
            [
                Address::GroupStart(b"undisclosed-recipients".to_vec()),
                Address::GroupEnd
            ]
        );
        // An unterminated group still ends.
        assert_eq!(
            parse_address_list(b"g: a@b"),
            [
                Address::GroupStart(b"g".to_vec()),
                mailbox(None, "a", "b"),
                Address::GroupEnd
            ]
        );
    }

    #[test]
    fn obsolete_forms() {
        // RFC 5322 §4.4: routes, CFWS around dots, quoted local parts.
        let value = b"Joe Q. Public <@r1.test,@r2.test:john . q(x) . public@example . com>";
        assert_eq!(
            parse_address_list(value),
            [Address::Mailbox {
                name: Some(b"Joe Q. Public".to_vec()),
                route: Some(b"@r1.test,@r2.test".to_vec()),
                mailbox: b"john.q.public".to_vec(),
                host: b"example.com".to_vec(),
            }]
        );
        assert_eq!(
            parse_address_list(b"\"john doe\"@[192.0.2.1]"),
            [mailbox(None, "john doe", "[192.0.2.1]")]
        );
    }

    #[test]
    fn damaged_lists_keep_what_parses() {
        assert_eq!(
            parse_address_list(b"root"),
            [mailbox(None, "root", ".MISSING-HOST-NAME.")]
        );
        assert_eq!(
            parse_address_list(b"John Smith, <>, a b@c, @@, <x@y, good@z"),
            [mailbox(None, "x", "y"), mailbox(None, "good", "z")]
        );
        assert_eq!(
            parse_address_list(b"a@b; c@d ;; e@f"),
            [
                mailbox(None, "a", "b"),
                mailbox(None, "c", "d"),
                mailbox(None, "e", "f")
            ]
        );
        assert_eq!(parse_address_list(b"<<<>>> ,,, (only a comment"), []);
        assert_eq!(parse_address_list(b""), []);
        assert_eq!(
            parse_address_list(b"=?utf-8?q?J=C3=B6rg?= <j@x>"),
            [mailbox(Some("=?utf-8?q?J=C3=B6rg?="), "j", "x")]
        );
    }
}
