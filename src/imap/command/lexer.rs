//! The lexical layer of the grammar: a cursor over one framed command and the shared productions
//! of RFC 3501 §9 / RFC 9051 §9 (SP, atom, astring, quoted, literal, numbers).
//!
//! Every method either consumes what it recognised and returns it, or returns a short reason;
//! after a failure the command is abandoned, so where the cursor stopped does not matter.
//! Nothing here allocates unless a quoted string has escapes.

use std::borrow::Cow;

/// A short, human reason for a syntax error; it becomes the text of `tag BAD reason`.
pub(super) type Reason = &'static str;

pub(super) type Lexed<T> = Result<T, Reason>;

/// RFC 9051 §9 `number64`: at most 9,223,372,036,854,775,807.
pub(super) const NUMBER64_MAX: u64 = i64::MAX as u64;

/// A cursor over the bytes of one command.
#[derive(Debug, Clone)]
pub(super) struct Lexer<'a> {
    input: &'a [u8],
    position: usize,
}

impl<'a> Lexer<'a> {
    pub(super) fn new(input: &'a [u8]) -> Self {
        Lexer { input, position: 0 }
    }

    pub(super) fn rest(&self) -> &'a [u8] {
        self.input.get(self.position..).unwrap_or_default()
    }

    pub(super) fn peek(&self) -> Option<u8> {
        self.input.get(self.position).copied()
    }

    pub(super) fn peek_at(&self, offset: usize) -> Option<u8> {
        self.input.get(self.position + offset).copied()
    }

    fn advance(&mut self, octets: usize) {
        self.position = (self.position + octets).min(self.input.len());
    }

    /// Consumes `byte` if it is next.
    pub(super) fn eat(&mut self, byte: u8) -> bool {
        if self.peek() == Some(byte) {
            self.advance(1);
            true
        } else {
            false
        }
    }

    pub(super) fn expect(&mut self, byte: u8, reason: Reason) -> Lexed<()> {
        if self.eat(byte) { Ok(()) } else { Err(reason) }
    }

    /// RFC 3501 §9 note 2: exactly one space separates arguments.
    pub(super) fn sp(&mut self) -> Lexed<()> {
        self.expect(b' ', "expected a space")
    }

    /// Whether the command ends here: nothing left but its CRLF (or LF; the framer decided where
    /// the command ends, so a bare LF at the very end is its business).
    pub(super) fn at_end(&self) -> bool {
        matches!(self.rest(), b"" | b"\n" | b"\r\n")
    }

    pub(super) fn end(&mut self) -> Lexed<()> {
        if self.at_end() {
            self.position = self.input.len();
            Ok(())
        } else if self.peek() == Some(b' ') {
            Err("unexpected arguments")
        } else {
            Err("unexpected characters after the command")
        }
    }

    /// Consumes the longest run of bytes matching `accept`.
    pub(super) fn take_while(&mut self, accept: impl Fn(u8) -> bool) -> &'a [u8] {
        let rest = self.rest();
        let length = rest.iter().position(|&b| !accept(b)).unwrap_or(rest.len());
        self.advance(length);
        &rest[..length]
    }

    /// Consumes `keyword` (case-insensitively) if the input continues with it.
    pub(super) fn eat_keyword(&mut self, keyword: &str) -> bool {
        let rest = self.rest();
        if rest.len() >= keyword.len()
            && rest[..keyword.len()].eq_ignore_ascii_case(keyword.as_bytes())
        {
            self.advance(keyword.len());
            true
        } else {
            false
        }
    }

    /// `atom = 1*ATOM-CHAR`.
    pub(super) fn atom(&mut self) -> Lexed<&'a [u8]> {
        let atom = self.take_while(is_atom_char);
        if atom.is_empty() {
            Err("expected an atom")
        } else {
            Ok(atom)
        }
    }

    /// An atom as ASCII text (ATOM-CHAR is 7-bit, so this cannot fail once `atom` succeeded).
    pub(super) fn atom_str(&mut self) -> Lexed<&'a str> {
        let atom = self.atom()?;
        std::str::from_utf8(atom).map_err(|_| "expected an atom")
    }

    /// A word of letters, digits, '.', '-' and '=' for keywords such as `RFC822.SIZE` or
    /// `BODY.PEEK`, stopping before '[' or '<' so sections can follow.
    pub(super) fn word(&mut self) -> &'a [u8] {
        self.take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'='))
    }

    /// Whether a `string` (quoted, literal, or the refused literal8) starts here.
    pub(super) fn at_string(&self) -> bool {
        matches!(self.peek(), Some(b'"' | b'{'))
            || (self.peek() == Some(b'~') && self.peek_at(1) == Some(b'{'))
    }

    /// `astring = 1*ASTRING-CHAR / string`.
    pub(super) fn astring(&mut self) -> Lexed<Cow<'a, [u8]>> {
        if self.at_string() {
            return self.string();
        }
        let chars = self.take_while(is_astring_char);
        if chars.is_empty() {
            Err("expected a string")
        } else {
            Ok(Cow::Borrowed(chars))
        }
    }

    /// `astring`, with `missing` as the reason when there is none (other failures, such as a
    /// truncated literal, keep their own reason).
    pub(super) fn astring_or(&mut self, missing: Reason) -> Lexed<Cow<'a, [u8]>> {
        if self.at_end() {
            return Err(missing);
        }
        self.astring().map_err(|reason| {
            if reason == "expected a string" {
                missing
            } else {
                reason
            }
        })
    }

    /// `list-mailbox = 1*list-char / string`: an astring that may also contain '%' and '*'.
    pub(super) fn list_mailbox(&mut self) -> Lexed<Cow<'a, [u8]>> {
        if self.at_string() {
            return self.string();
        }
        let chars = self.take_while(|b| is_astring_char(b) || matches!(b, b'%' | b'*'));
        if chars.is_empty() {
            Err("expected a mailbox pattern")
        } else {
            Ok(Cow::Borrowed(chars))
        }
    }

    /// `string = quoted / literal`.
    pub(super) fn string(&mut self) -> Lexed<Cow<'a, [u8]>> {
        match self.peek() {
            Some(b'"') => self.quoted(),
            Some(b'{') => self.literal().map(Cow::Borrowed),
            Some(b'~') if self.peek_at(1) == Some(b'{') => {
                // RFC 3516 §4.4 / RFC 4466: literal8 is only valid as APPEND message data.
                Err("binary literal not allowed here")
            }
            _ => Err("expected a string"),
        }
    }

    /// `nstring = string / nil`.
    pub(super) fn nstring(&mut self) -> Lexed<Option<Cow<'a, [u8]>>> {
        if self.peek().is_some_and(|b| b.eq_ignore_ascii_case(&b'N')) {
            let save = self.position;
            if self.atom()?.eq_ignore_ascii_case(b"NIL") {
                return Ok(None);
            }
            self.position = save;
            return Err("expected a string or NIL");
        }
        self.string().map(Some)
    }

    /// `quoted = DQUOTE *QUOTED-CHAR DQUOTE`. QUOTED-CHAR admits UTF-8 (RFC 9051 §9, RFC 6855
    /// §3) but no CR, LF or NUL, and a backslash only before '"' or '\'.
    pub(super) fn quoted(&mut self) -> Lexed<Cow<'a, [u8]>> {
        self.expect(b'"', "expected a quoted string")?;
        let start = self.position;
        let rest = self.rest();
        let mut owned: Option<Vec<u8>> = None;
        let mut index = 0;
        loop {
            let Some(&byte) = rest.get(index) else {
                return Err("unterminated quoted string");
            };
            match byte {
                b'"' => break,
                b'\\' => match rest.get(index + 1) {
                    Some(&escaped @ (b'"' | b'\\')) => {
                        let buffer = owned.get_or_insert_with(|| rest[..index].to_vec());
                        buffer.push(escaped);
                        index += 2;
                    }
                    _ => return Err("invalid escape in quoted string"),
                },
                0 => return Err("NUL is not allowed"),
                b'\r' | b'\n' => return Err("unterminated quoted string"),
                _ => {
                    if let Some(buffer) = owned.as_mut() {
                        buffer.push(byte);
                    }
                    index += 1;
                }
            }
        }
        let value = match owned {
            Some(buffer) => Cow::Owned(buffer),
            None => Cow::Borrowed(&rest[..index]),
        };
        if !value.is_ascii() && std::str::from_utf8(&value).is_err() {
            self.position = start;
            return Err("quoted string is not valid UTF-8");
        }
        self.advance(index + 1);
        Ok(value)
    }

    /// `literal = "{" number64 ["+"] "}" CRLF *CHAR8`, with its octets inline (the framer has
    /// already read them). Returns the octets.
    pub(super) fn literal(&mut self) -> Lexed<&'a [u8]> {
        self.expect(b'{', "expected a literal")?;
        let octets = self.number64()?;
        self.eat(b'+');
        self.expect(b'}', "invalid literal announcement")?;
        if !self.eat_keyword("\r\n") && !self.eat(b'\n') {
            return Err("expected CRLF after a literal announcement");
        }
        let rest = self.rest();
        let length = usize::try_from(octets).map_err(|_| "literal is truncated")?;
        let Some(data) = rest.get(..length) else {
            return Err("literal is truncated");
        };
        if data.contains(&0) {
            return Err("NUL is not allowed");
        }
        self.advance(length);
        Ok(data)
    }

    /// `number = 1*DIGIT`, an unsigned 32-bit integer.
    pub(super) fn number(&mut self) -> Lexed<u32> {
        let value = self.number64()?;
        u32::try_from(value).map_err(|_| "number too large")
    }

    /// `nz-number = digit-nz *DIGIT`.
    pub(super) fn nz_number(&mut self) -> Lexed<u32> {
        if self.peek() == Some(b'0') {
            return Err("number must not be zero or start with 0");
        }
        self.number()
    }

    /// `number64` of RFC 9051 §9: up to 2^63 - 1.
    pub(super) fn number64(&mut self) -> Lexed<u64> {
        let digits = self.take_while(|b| b.is_ascii_digit());
        if digits.is_empty() {
            return Err("expected a number");
        }
        parse_number64(digits).ok_or("number too large")
    }

    /// `nz-number64` / `mod-sequence-value` (RFC 7162 §7): 1 to 2^63 - 1.
    pub(super) fn nz_number64(&mut self) -> Lexed<u64> {
        match self.number64()? {
            0 => Err("number must not be zero"),
            value => Ok(value),
        }
    }
}

/// Decimal digits to a number64, `None` when out of range (never wraps).
pub(super) fn parse_number64(digits: &[u8]) -> Option<u64> {
    let mut value: u64 = 0;
    for &digit in digits {
        if !digit.is_ascii_digit() {
            return None;
        }
        value = value
            .checked_mul(10)?
            .checked_add(u64::from(digit - b'0'))?;
    }
    (value <= NUMBER64_MAX).then_some(value)
}

/// `ATOM-CHAR`: any 7-bit CHAR except atom-specials
/// (`( ) { SP CTL % * " \ ]`, RFC 3501 §9).
pub(crate) fn is_atom_char(byte: u8) -> bool {
    matches!(byte, 0x21..=0x7e)
        && !matches!(byte, b'(' | b')' | b'{' | b'%' | b'*' | b'"' | b'\\' | b']')
}

/// `ASTRING-CHAR = ATOM-CHAR / resp-specials`.
pub(crate) fn is_astring_char(byte: u8) -> bool {
    is_atom_char(byte) || byte == b']'
}
