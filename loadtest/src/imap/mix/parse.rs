//! The parts of server responses the mix's model reads (RFC 3501 §7): the untagged responses
//! that change a selected mailbox's state, the items of a FETCH response, SEARCH results and
//! response codes. Text comes from `Client::command` with literal contents left out (the `{n}`
//! stays), so a FETCH of a body reads as `* 3 FETCH (UID 9 BODY[] {4096} RFC822.SIZE 4096)`.

use super::super::client::{numbered, parse_number as number, response_code};

pub type Flags = u8;
pub const SEEN: Flags = 1;
pub const FLAGGED: Flags = 1 << 1;
pub const ANSWERED: Flags = 1 << 2;
pub const DELETED: Flags = 1 << 3;
pub const LABEL1: Flags = 1 << 4;
pub const LABEL2: Flags = 1 << 5;
pub const LABEL3: Flags = 1 << 6;
/// The flags the mix sets and clears, and so the only ones the model follows; any other
/// (`\Recent`, which is per session, `\Draft`, other keywords) is ignored.
pub const FOLLOWED: [(Flags, &str); 7] = [
    (SEEN, "\\Seen"),
    (FLAGGED, "\\Flagged"),
    (ANSWERED, "\\Answered"),
    (DELETED, "\\Deleted"),
    (LABEL1, "$Label1"),
    (LABEL2, "$Label2"),
    (LABEL3, "$Label3"),
];

/// A flag list's inside as sent or shown: `\Seen $Label1` (empty for none).
pub fn flags_text(flags: Flags) -> String {
    FOLLOWED
        .iter()
        .filter(|(flag, _)| flags & flag != 0)
        .map(|(_, name)| *name)
        .collect::<Vec<_>>()
        .join(" ")
}

/// The followed flags named in a flag list's inside (flag names are case-insensitive).
pub fn parse_flags(list: &[u8]) -> Flags {
    list.split(|&byte| byte == b' ')
        .filter_map(|word| {
            FOLLOWED
                .iter()
                .find(|(_, name)| word.eq_ignore_ascii_case(name.as_bytes()))
                .map(|(flag, _)| *flag)
        })
        .fold(0, |flags, flag| flags | flag)
}

/// The items of one FETCH response that the model reads.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FetchItems {
    pub uid: Option<u64>,
    pub flags: Option<Flags>,
    pub modseq: Option<u64>,
    pub size: Option<u64>,
    /// Body items (`BODY[...]`, `BINARY[...]`, `RFC822...`) sent as literals.
    pub literals: u32,
}

/// One untagged response, as far as the model is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Untagged {
    Exists(u64),
    Expunge(u64),
    Fetch(u64, FetchItems),
    /// `* SEARCH n...` (a trailing `(MODSEQ n)` left out).
    Search(Vec<u64>),
    /// RFC 7162 §3.2.10; only sent once QRESYNC is enabled, which the mix never does.
    Vanished,
    /// `* OK [CODE n]` and the like: the codes the model follows.
    Codes(Codes),
    Other,
}

/// Response codes with a number that describe the selected mailbox.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Codes {
    pub uid_validity: Option<u64>,
    pub uid_next: Option<u64>,
    pub highest_modseq: Option<u64>,
    pub no_modseq: bool,
}

impl Codes {
    pub fn of(text: &[u8]) -> Codes {
        Codes {
            uid_validity: response_code(text, b"UIDVALIDITY"),
            uid_next: response_code(text, b"UIDNEXT"),
            highest_modseq: response_code(text, b"HIGHESTMODSEQ"),
            no_modseq: memchr::memmem::find(text, b"[NOMODSEQ]").is_some(),
        }
    }

    fn any(&self) -> bool {
        *self != Codes::default()
    }
}

/// Classifies an untagged response (text with its `* `). Err: a FETCH or SEARCH that does not
/// parse, described.
pub fn untagged(text: &[u8]) -> Result<Untagged, String> {
    let Some(rest) = text.strip_prefix(b"* ") else {
        return Ok(Untagged::Other);
    };
    if let Some((number, keyword)) = numbered(rest) {
        if keyword.eq_ignore_ascii_case(b"EXISTS") {
            return Ok(Untagged::Exists(number));
        }
        if keyword.eq_ignore_ascii_case(b"EXPUNGE") {
            return Ok(Untagged::Expunge(number));
        }
        if keyword.eq_ignore_ascii_case(b"FETCH") {
            let at = memchr::memchr(b'(', rest).ok_or_else(|| bad("FETCH", text))?;
            let items =
                fetch_items(&rest[at..]).map_err(|what| format!("{what} in {}", quoted(text)))?;
            return Ok(Untagged::Fetch(number, items));
        }
        return Ok(Untagged::Other);
    }
    if word_at(rest, b"SEARCH") {
        return search_numbers(&rest[b"SEARCH".len()..])
            .map(Untagged::Search)
            .ok_or_else(|| bad("SEARCH", text));
    }
    if word_at(rest, b"VANISHED") {
        return Ok(Untagged::Vanished);
    }
    if word_at(rest, b"OK") {
        let codes = Codes::of(rest);
        if codes.any() {
            return Ok(Untagged::Codes(codes));
        }
    }
    Ok(Untagged::Other)
}

/// The numbers of a SEARCH response after the word SEARCH, up to a `(MODSEQ n)` if any.
pub fn search_numbers(rest: &[u8]) -> Option<Vec<u64>> {
    let end = memchr::memchr(b'(', rest).unwrap_or(rest.len());
    rest[..end]
        .split(|&byte| byte == b' ')
        .filter(|word| !word.is_empty())
        .map(number)
        .collect()
}

/// The items of `(NAME value NAME value ...)`.
pub fn fetch_items(list: &[u8]) -> Result<FetchItems, &'static str> {
    let mut cursor = Cursor { text: list, at: 0 };
    if !cursor.eat(b'(') {
        return Err("no item list");
    }
    let mut items = FetchItems::default();
    loop {
        cursor.skip_spaces();
        if cursor.eat(b')') {
            return Ok(items);
        }
        let name = cursor.name().ok_or("an item without a name")?;
        cursor.skip_spaces();
        let value = cursor.value().ok_or("an item without a value")?;
        let is = |expected: &[u8]| name.eq_ignore_ascii_case(expected);
        if is(b"UID") {
            items.uid = Some(value.number().ok_or("UID without a number")?);
        } else if is(b"FLAGS") {
            let Value::List(list) = value else {
                return Err("FLAGS without a list");
            };
            items.flags = Some(parse_flags(list));
        } else if is(b"MODSEQ") {
            let Value::List(list) = value else {
                return Err("MODSEQ without a list");
            };
            items.modseq = Some(number(trim(list)).ok_or("MODSEQ without a number")?);
        } else if is(b"RFC822.SIZE") {
            items.size = Some(value.number().ok_or("RFC822.SIZE without a number")?);
        } else if matches!(value, Value::Literal) {
            items.literals += 1;
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Value<'a> {
    Atom(&'a [u8]),
    /// A parenthesised list's inside.
    List(&'a [u8]),
    Quoted,
    /// `{n}` (or `~{n}`): the contents are not in the text.
    Literal,
}

impl Value<'_> {
    fn number(self) -> Option<u64> {
        match self {
            Value::Atom(atom) => number(atom),
            _ => None,
        }
    }
}

struct Cursor<'a> {
    text: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<u8> {
        self.text.get(self.at).copied()
    }

    fn eat(&mut self, byte: u8) -> bool {
        let found = self.peek() == Some(byte);
        self.at += usize::from(found);
        found
    }

    fn skip_spaces(&mut self) {
        while self.eat(b' ') {}
    }

    /// An item name such as `UID`, `BODY[]` or `BODY[HEADER.FIELDS (FROM)]<0>`.
    fn name(&mut self) -> Option<&'a [u8]> {
        let start = self.at;
        while let Some(byte) = self.peek() {
            match byte {
                b' ' | b'(' | b')' => break,
                b'[' => {
                    let close = memchr::memchr(b']', &self.text[self.at..])?;
                    self.at += close + 1;
                }
                _ => self.at += 1,
            }
        }
        (self.at > start).then(|| &self.text[start..self.at])
    }

    fn value(&mut self) -> Option<Value<'a>> {
        match self.peek()? {
            b'(' => {
                let start = self.at + 1;
                let mut depth = 0;
                while let Some(byte) = self.peek() {
                    match byte {
                        b'(' => depth += 1,
                        b')' => {
                            depth -= 1;
                            if depth == 0 {
                                self.at += 1;
                                return Some(Value::List(&self.text[start..self.at - 1]));
                            }
                        }
                        b'"' => {
                            self.quoted()?;
                            continue;
                        }
                        _ => {}
                    }
                    self.at += 1;
                }
                None
            }
            b'"' => self.quoted().map(|()| Value::Quoted),
            b'{' | b'~' => {
                let close = memchr::memchr(b'}', &self.text[self.at..])?;
                self.at += close + 1;
                Some(Value::Literal)
            }
            _ => {
                let start = self.at;
                while self.peek().is_some_and(|byte| byte != b' ' && byte != b')') {
                    self.at += 1;
                }
                (self.at > start).then(|| Value::Atom(&self.text[start..self.at]))
            }
        }
    }

    /// Skips a quoted string (RFC 3501 §4.3: `\` escapes `"` and `\`).
    fn quoted(&mut self) -> Option<()> {
        self.at += 1;
        loop {
            match self.peek()? {
                b'\\' => self.at += 2,
                b'"' => {
                    self.at += 1;
                    return Some(());
                }
                _ => self.at += 1,
            }
        }
    }
}

fn trim(text: &[u8]) -> &[u8] {
    let start = text
        .iter()
        .position(|&byte| byte != b' ')
        .unwrap_or(text.len());
    let end = text
        .iter()
        .rposition(|&byte| byte != b' ')
        .map_or(start, |at| at + 1);
    &text[start..end]
}

fn word_at(text: &[u8], word: &[u8]) -> bool {
    text.len() >= word.len()
        && text[..word.len()].eq_ignore_ascii_case(word)
        && matches!(text.get(word.len()), None | Some(b' '))
}

fn quoted(text: &[u8]) -> String {
    crate::wire::quote(text)
}

fn bad(what: &str, text: &[u8]) -> String {
    format!("cannot parse {what} response {}", quoted(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_fetch_items_around_literals_and_lists() {
        let parsed = untagged(
            b"* 12 FETCH (UID 340 FLAGS (\\Seen \\Recent $label1 $Other) MODSEQ (77) \
              RFC822.SIZE 4096 BODY[] {4096} ENVELOPE (\"a (b\" NIL) BODY[HEADER.FIELDS (TO)] {9})",
        )
        .unwrap();
        let Untagged::Fetch(12, items) = parsed else {
            panic!("{parsed:?}");
        };
        assert_eq!(
            items,
            FetchItems {
                uid: Some(340),
                flags: Some(SEEN | LABEL1),
                modseq: Some(77),
                size: Some(4096),
                literals: 2,
            }
        );
        assert_eq!(
            untagged(b"* 3 FETCH (FLAGS ())").unwrap(),
            Untagged::Fetch(
                3,
                FetchItems {
                    flags: Some(0),
                    ..FetchItems::default()
                }
            )
        );
        assert!(untagged(b"* 3 FETCH (UID x)").is_err());
        assert!(untagged(b"* 3 FETCH (FLAGS (\\Seen)").is_err());
        assert!(untagged(b"* 3 FETCH UID 4").is_err());
    }

    #[test]
    fn classifies_the_responses_that_change_the_mailbox() {
        assert_eq!(untagged(b"* 7 EXISTS").unwrap(), Untagged::Exists(7));
        assert_eq!(untagged(b"* 2 EXPUNGE").unwrap(), Untagged::Expunge(2));
        assert_eq!(untagged(b"* 2 RECENT").unwrap(), Untagged::Other);
        assert_eq!(
            untagged(b"* SEARCH 2 84 882 (MODSEQ 9)").unwrap(),
            Untagged::Search(vec![2, 84, 882])
        );
        assert_eq!(untagged(b"* SEARCH").unwrap(), Untagged::Search(vec![]));
        assert!(untagged(b"* SEARCH 1 x").is_err());
        assert_eq!(
            untagged(b"* VANISHED (EARLIER) 3:5").unwrap(),
            Untagged::Vanished
        );
        assert_eq!(
            untagged(b"* OK [HIGHESTMODSEQ 715] Highest").unwrap(),
            Untagged::Codes(Codes {
                highest_modseq: Some(715),
                ..Codes::default()
            })
        );
        assert_eq!(untagged(b"* OK still here").unwrap(), Untagged::Other);
        assert!(Codes::of(b"* OK [NOMODSEQ] Sorry").no_modseq);
        assert_eq!(flags_text(SEEN | LABEL3), "\\Seen $Label3");
        assert_eq!(parse_flags(b"\\SEEN \\deleted"), SEEN | DELETED);
    }
}
