//! Message flags (RFC 3501 §2.3.2, §9 `flag`, `flag-list`).

use std::fmt;

use super::lexer::{Lexed, Lexer};

/// Most flags one STORE or APPEND message may name.
pub const FLAGS_PER_COMMAND_MAX: usize = 128;

/// Longest keyword, in octets.
pub const KEYWORD_OCTETS_MAX: usize = 255;

/// A system flag or a keyword. Keywords keep the client's spelling; they compare
/// case-insensitively (RFC 9051 §2.3.2), which is the session's business.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Flag {
    Seen,
    Answered,
    Flagged,
    Deleted,
    Draft,
    /// Only ever sent by the server (RFC 3501 §2.3.2; obsolete in RFC 9051): STORE and APPEND
    /// refuse it.
    Recent,
    /// `flag-keyword = atom`, e.g. `$Forwarded`.
    Keyword(String),
}

impl Flag {
    /// The wire form: `\Seen` or the keyword.
    pub fn as_str(&self) -> &str {
        match self {
            Flag::Seen => "\\Seen",
            Flag::Answered => "\\Answered",
            Flag::Flagged => "\\Flagged",
            Flag::Deleted => "\\Deleted",
            Flag::Draft => "\\Draft",
            Flag::Recent => "\\Recent",
            Flag::Keyword(keyword) => keyword,
        }
    }
}

impl fmt::Display for Flag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `flag-keyword = atom`, bounded.
pub(super) fn keyword(lexer: &mut Lexer<'_>) -> Lexed<String> {
    let atom = lexer.atom_str().map_err(|_| "expected a keyword")?;
    if atom.len() > KEYWORD_OCTETS_MAX {
        return Err("keyword too long");
    }
    Ok(atom.to_owned())
}

/// `flag` or `flag-fetch`; `\Recent` comes back as [`Flag::Recent`] for the caller to refuse.
/// Flag extensions other than the RFC 3501 system flags are refused: none is defined, and
/// storing one would make it look like a system flag.
pub(super) fn flag(lexer: &mut Lexer<'_>) -> Lexed<Flag> {
    if !lexer.eat(b'\\') {
        return keyword(lexer).map(Flag::Keyword);
    }
    let name = lexer.atom().map_err(|_| "expected a flag")?;
    let system = [
        ("Seen", Flag::Seen),
        ("Answered", Flag::Answered),
        ("Flagged", Flag::Flagged),
        ("Deleted", Flag::Deleted),
        ("Draft", Flag::Draft),
        ("Recent", Flag::Recent),
    ];
    system
        .into_iter()
        .find(|(text, _)| name.eq_ignore_ascii_case(text.as_bytes()))
        .map(|(_, flag)| flag)
        .ok_or("unknown system flag")
}

/// A flag that a client may set: anything but `\Recent`.
pub(super) fn storable_flag(lexer: &mut Lexer<'_>) -> Lexed<Flag> {
    match flag(lexer)? {
        Flag::Recent => Err("\\Recent cannot be set"),
        flag => Ok(flag),
    }
}

/// `flag-list = "(" [flag *(SP flag)] ")"` of storable flags.
pub(super) fn flag_list(lexer: &mut Lexer<'_>) -> Lexed<Vec<Flag>> {
    lexer.expect(b'(', "expected a flag list")?;
    let mut flags = Vec::new();
    if lexer.eat(b')') {
        return Ok(flags);
    }
    loop {
        push_flag(&mut flags, storable_flag(lexer)?)?;
        if lexer.eat(b')') {
            return Ok(flags);
        }
        lexer.sp()?;
    }
}

pub(super) fn push_flag(flags: &mut Vec<Flag>, flag: Flag) -> Lexed<()> {
    if flags.len() == FLAGS_PER_COMMAND_MAX {
        return Err("too many flags");
    }
    flags.push(flag);
    Ok(())
}
