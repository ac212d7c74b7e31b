//! The grammar of one POP3 command line (RFC 1939 §3, RFC 2449, RFC 5034 §4, RFC 2595 §4).
//!
//! Parsing does not know the session state; the states decide which commands they accept.

/// A parsed command. Arguments borrow from the line.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Command<'a> {
    User(&'a str),
    /// The whole rest of the line: RFC 1939 §7 lets a password contain spaces.
    Pass(&'a [u8]),
    Apop {
        name: &'a str,
        digest: [u8; 16],
    },
    /// `AUTH` alone lists the mechanisms; `initial_response` is still base64.
    Auth {
        mechanism: Option<&'a str>,
        initial_response: Option<&'a [u8]>,
    },
    Stls,
    Capa,
    Quit,
    Stat,
    List(Option<u32>),
    Retr(u32),
    Dele(u32),
    Noop,
    Rset,
    Top {
        message: u32,
        body_lines: u32,
    },
    Uidl(Option<u32>),
}

/// Why a line is not a command. Each is the peer's fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum CommandError {
    /// NUL or another control character (RFC 1939 §3: printable characters only).
    BadCharacter,
    Unknown,
    /// Wrong arguments for a known command; the text says what was expected.
    Syntax(&'static str),
    /// A message number or line count that is not a decimal number fitting 32 bits.
    BadNumber,
}

impl CommandError {
    pub(super) fn reply(self) -> &'static str {
        match self {
            CommandError::BadCharacter => "-ERR invalid character in command",
            CommandError::Unknown => "-ERR unknown command",
            CommandError::Syntax(text) => text,
            CommandError::BadNumber => "-ERR invalid number",
        }
    }
}

/// Parses a line (without its terminator).
pub(super) fn parse(line: &[u8]) -> Result<Command<'_>, CommandError> {
    // Octets from 0x80 are allowed (UTF-8 user names and passwords); control characters never.
    if line.iter().any(|&octet| octet < 0x20 || octet == 0x7f) {
        return Err(CommandError::BadCharacter);
    }
    let (keyword, rest) = match line.iter().position(|&octet| octet == b' ') {
        Some(space) => (&line[..space], Some(&line[space + 1..])),
        None => (line, None),
    };
    let keyword = match keyword.len() {
        3 | 4 => keyword.to_ascii_uppercase(),
        _ => return Err(CommandError::Unknown),
    };
    // PASS takes the rest of the line verbatim; everything else is space-separated words, and
    // trailing spaces (sent by a few old clients) are ignored.
    if keyword == b"PASS" {
        return match rest {
            Some(password) if !password.is_empty() => Ok(Command::Pass(password)),
            _ => Err(CommandError::Syntax("-ERR PASS needs a password")),
        };
    }
    let mut words = Words::new(rest.unwrap_or_default())?;
    let command = match keyword.as_slice() {
        b"USER" => Command::User(text(words.required("-ERR USER needs a name")?)?),
        b"APOP" => {
            let name = text(words.required("-ERR APOP needs a name and a digest")?)?;
            let digest = words.required("-ERR APOP needs a name and a digest")?;
            Command::Apop {
                name,
                digest: hex_digest(digest).ok_or(CommandError::Syntax(
                    "-ERR APOP digest must be 32 hexadecimal digits",
                ))?,
            }
        }
        b"AUTH" => Command::Auth {
            mechanism: words.optional().map(text).transpose()?,
            initial_response: words.optional(),
        },
        b"STLS" => Command::Stls,
        b"CAPA" => Command::Capa,
        b"QUIT" => Command::Quit,
        b"STAT" => Command::Stat,
        b"NOOP" => Command::Noop,
        b"RSET" => Command::Rset,
        b"LIST" => Command::List(words.optional().map(number).transpose()?),
        b"UIDL" => Command::Uidl(words.optional().map(number).transpose()?),
        b"RETR" => Command::Retr(number(words.required("-ERR RETR needs a message number")?)?),
        b"DELE" => Command::Dele(number(words.required("-ERR DELE needs a message number")?)?),
        b"TOP" => {
            const USAGE: &str = "-ERR TOP needs a message number and a line count";
            Command::Top {
                message: number(words.required(USAGE)?)?,
                body_lines: number(words.required(USAGE)?)?,
            }
        }
        _ => return Err(CommandError::Unknown),
    };
    words.end()?;
    Ok(command)
}

/// Arguments separated by single spaces (RFC 1939 §3).
struct Words<'a> {
    words: std::slice::Split<'a, u8, fn(&u8) -> bool>,
}

impl<'a> Words<'a> {
    fn new(rest: &'a [u8]) -> Result<Words<'a>, CommandError> {
        let end = rest
            .iter()
            .rposition(|&octet| octet != b' ')
            .map_or(0, |last| last + 1);
        let rest = &rest[..end];
        let is_space: fn(&u8) -> bool = |&octet| octet == b' ';
        let mut words = rest.split(is_space);
        if rest.is_empty() {
            // `split` yields one empty word for empty input; there are none.
            words.next();
        } else if rest.split(is_space).any(<[u8]>::is_empty) {
            return Err(CommandError::Syntax(
                "-ERR arguments are separated by one space",
            ));
        }
        Ok(Words { words })
    }

    fn optional(&mut self) -> Option<&'a [u8]> {
        self.words.next()
    }

    fn required(&mut self, usage: &'static str) -> Result<&'a [u8], CommandError> {
        self.words.next().ok_or(CommandError::Syntax(usage))
    }

    fn end(mut self) -> Result<(), CommandError> {
        match self.words.next() {
            None => Ok(()),
            Some(_) => Err(CommandError::Syntax("-ERR too many arguments")),
        }
    }
}

fn text(word: &[u8]) -> Result<&str, CommandError> {
    std::str::from_utf8(word).map_err(|_| CommandError::Syntax("-ERR argument is not UTF-8"))
}

/// A message number or line count: decimal digits only (no sign), fitting 32 bits. Zero parses;
/// the transaction state refuses message 0 as "no such message".
fn number(word: &[u8]) -> Result<u32, CommandError> {
    if word.is_empty() || !word.iter().all(u8::is_ascii_digit) {
        return Err(CommandError::BadNumber);
    }
    word.iter().try_fold(0u32, |value, &digit| {
        value
            .checked_mul(10)
            .and_then(|value| value.checked_add(u32::from(digit - b'0')))
            .ok_or(CommandError::BadNumber)
    })
}

/// RFC 1939 §7: the APOP digest is 16 octets in lower-case hex; upper case is accepted too.
fn hex_digest(word: &[u8]) -> Option<[u8; 16]> {
    if word.len() != 32 {
        return None;
    }
    let mut digest = [0u8; 16];
    for (octet, pair) in digest.iter_mut().zip(word.chunks_exact(2)) {
        let high = (pair[0] as char).to_digit(16)?;
        let low = (pair[1] as char).to_digit(16)?;
        *octet = u8::try_from(high * 16 + low).expect("two hex digits fit an octet");
    }
    Some(digest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands() {
        assert_eq!(parse(b"stat"), Ok(Command::Stat));
        assert_eq!(parse(b"StAt  "), Ok(Command::Stat));
        assert_eq!(parse(b"LIST"), Ok(Command::List(None)));
        assert_eq!(parse(b"LIST 007"), Ok(Command::List(Some(7))));
        assert_eq!(
            parse(b"TOP 1 0"),
            Ok(Command::Top {
                message: 1,
                body_lines: 0
            })
        );
        assert_eq!(
            parse(b"PASS  two words "),
            Ok(Command::Pass(b" two words "))
        );
        assert_eq!(parse(b"USER j\xc3\xb6"), Ok(Command::User("jö")));
        assert_eq!(
            parse(b"APOP mrose c4c9334bac560ecc979e58001b3e22fB"),
            Ok(Command::Apop {
                name: "mrose",
                digest: [
                    0xc4, 0xc9, 0x33, 0x4b, 0xac, 0x56, 0x0e, 0xcc, 0x97, 0x9e, 0x58, 0x00, 0x1b,
                    0x3e, 0x22, 0xfb
                ]
            })
        );
        assert_eq!(
            parse(b"AUTH PLAIN ="),
            Ok(Command::Auth {
                mechanism: Some("PLAIN"),
                initial_response: Some(b"=")
            })
        );
        assert_eq!(
            parse(b"AUTH"),
            Ok(Command::Auth {
                mechanism: None,
                initial_response: None
            })
        );
    }

    #[test]
    fn refusals() {
        assert_eq!(parse(b""), Err(CommandError::Unknown));
        assert_eq!(parse(b"ST"), Err(CommandError::Unknown));
        assert_eq!(parse(b"STATS"), Err(CommandError::Unknown));
        assert_eq!(parse(b"XYZZ"), Err(CommandError::Unknown));
        assert_eq!(parse(b"ST\0T"), Err(CommandError::BadCharacter));
        assert_eq!(parse(b"USER a\tb"), Err(CommandError::BadCharacter));
        assert_eq!(parse(b"PASS a\x7f"), Err(CommandError::BadCharacter));
        assert_eq!(parse(b"RETR 0"), Ok(Command::Retr(0)));
        assert_eq!(parse(b"RETR 4294967295"), Ok(Command::Retr(u32::MAX)));
        for bad in [
            &b"RETR 4294967296"[..],
            b"RETR 99999999999999999999999",
            b"RETR +1",
            b"RETR -1",
            b"RETR 1x",
            b"RETR x",
            b"TOP 1 -1",
        ] {
            assert_eq!(parse(bad), Err(CommandError::BadNumber), "{bad:?}");
        }
        for bad in [
            &b"RETR"[..],
            b"RETR 1 2",
            b"RETR  1",
            b"STAT 1",
            b"TOP 1",
            b"PASS",
            b"PASS ",
            b"USER",
            b"USER \xff",
            b"APOP mrose",
            b"APOP mrose c4c9",
            b"APOP mrose c4c9334bac560ecc979e58001b3e22fg",
        ] {
            assert!(
                matches!(parse(bad), Err(CommandError::Syntax(_))),
                "{bad:?}: {:?}",
                parse(bad)
            );
        }
    }
}
