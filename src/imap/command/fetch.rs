//! FETCH data items (RFC 3501 §6.4.5, RFC 9051 §6.4.5), BINARY (RFC 3516 §4.2), CONDSTORE /
//! QRESYNC modifiers (RFC 7162 §3.1.4, §3.2.6), OBJECTID (RFC 8474 §5) and SAVEDATE (RFC 8514).

use std::fmt;

use super::lexer::{Lexed, Lexer};
use super::sequence::sp_sequence_set;
use super::types::CommandBody;

/// Most data items one FETCH may ask for (after macro expansion).
pub const FETCH_ITEMS_MAX: usize = 64;

/// Deepest section part (`BODY[1.2.3]` is 3).
pub const SECTION_PART_DEPTH_MAX: usize = 32;

/// Most names in one `HEADER.FIELDS` list.
pub const HEADER_FIELDS_MAX: usize = 256;

/// Longest header field name.
pub const HEADER_FIELD_OCTETS_MAX: usize = 256;

/// One FETCH data item. The macros ALL, FAST and FULL arrive expanded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchItem {
    Flags,
    InternalDate,
    Rfc822Size,
    Rfc822,
    Rfc822Header,
    Rfc822Text,
    Envelope,
    /// `BODY` without a section: the non-extensible body structure.
    Body,
    BodyStructure,
    Uid,
    /// RFC 7162 §3.1.4.
    ModSeq,
    /// RFC 8474 §5.1.
    EmailId,
    /// RFC 8474 §5.2.
    ThreadId,
    /// RFC 8514 §4.
    SaveDate,
    /// `BODY[section]<partial>` or `BODY.PEEK[...]`.
    BodySection {
        peek: bool,
        section: Section,
        partial: Option<Partial>,
    },
    /// `BINARY[part]<partial>` or `BINARY.PEEK[...]` (RFC 3516 §4.2).
    Binary {
        peek: bool,
        part: Vec<u32>,
        partial: Option<Partial>,
    },
    /// `BINARY.SIZE[part]`.
    BinarySize {
        part: Vec<u32>,
    },
}

/// `<offset.length>`: octets from `offset`, at most `length` (≥ 1) of them (RFC 9051 §9
/// `partial`, number64 values).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Partial {
    pub offset: u64,
    pub length: u64,
}

/// `section`: a part path (empty for the whole message) and what of that part.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Section {
    /// Non-zero part numbers, at most [`SECTION_PART_DEPTH_MAX`].
    pub part: Vec<u32>,
    /// `None`: the whole part (or message).
    pub text: Option<SectionText>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SectionText {
    Header,
    HeaderFields(Vec<String>),
    HeaderFieldsNot(Vec<String>),
    Text,
    /// Only after a part number (RFC 3501 §9 `section-text`).
    Mime,
}

/// The section specification as the response repeats it: `1.2.HEADER.FIELDS (From To)`.
impl fmt::Display for Section {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_section_part(f, &self.part)?;
        let Some(text) = &self.text else {
            return Ok(());
        };
        if !self.part.is_empty() {
            f.write_str(".")?;
        }
        let (keyword, fields) = match text {
            SectionText::Header => ("HEADER", None),
            SectionText::HeaderFields(fields) => ("HEADER.FIELDS", Some(fields)),
            SectionText::HeaderFieldsNot(fields) => ("HEADER.FIELDS.NOT", Some(fields)),
            SectionText::Text => ("TEXT", None),
            SectionText::Mime => ("MIME", None),
        };
        f.write_str(keyword)?;
        if let Some(fields) = fields {
            f.write_str(" (")?;
            for (index, field) in fields.iter().enumerate() {
                if index > 0 {
                    f.write_str(" ")?;
                }
                // Field names are checked to be ftext when parsed, which are all atom-safe
                // except the specials that need quoting.
                if field.bytes().all(super::lexer::is_astring_char) {
                    f.write_str(field)?;
                } else {
                    write!(
                        f,
                        "\"{}\"",
                        field.replace('\\', "\\\\").replace('"', "\\\"")
                    )?;
                }
            }
            f.write_str(")")?;
        }
        Ok(())
    }
}

/// `1.2.3` (nothing for an empty path).
pub fn write_section_part(f: &mut impl fmt::Write, part: &[u32]) -> fmt::Result {
    for (index, number) in part.iter().enumerate() {
        if index > 0 {
            f.write_str(".")?;
        }
        write!(f, "{number}")?;
    }
    Ok(())
}

/// `fetch = "FETCH" SP sequence-set SP (macro / fetch-att / "(" fetch-att *(SP fetch-att) ")")
/// [fetch-modifiers]` (RFC 4466 §2.4), after the command name.
pub(super) fn fetch(lexer: &mut Lexer<'_>, uid: bool) -> Lexed<CommandBody> {
    let set = sp_sequence_set(lexer)?;
    lexer.sp().map_err(|_| "missing fetch items")?;
    let items = fetch_items(lexer)?;
    let (changed_since, vanished) = if lexer.peek() == Some(b' ') && lexer.peek_at(1) == Some(b'(')
    {
        lexer.sp()?;
        fetch_modifiers(lexer, uid)?
    } else {
        (None, false)
    };
    lexer.end()?;
    Ok(CommandBody::Fetch {
        uid,
        set,
        items,
        changed_since,
        vanished,
    })
}

fn fetch_items(lexer: &mut Lexer<'_>) -> Lexed<Vec<FetchItem>> {
    let mut items = Vec::new();
    if lexer.eat(b'(') {
        loop {
            if items.len() == FETCH_ITEMS_MAX {
                return Err("too many fetch items");
            }
            items.push(fetch_att(lexer)?);
            if lexer.eat(b')') {
                return Ok(items);
            }
            lexer.sp()?;
        }
    }
    // RFC 3501 §6.4.5: the macros stand alone, never inside a list.
    let save = lexer.clone();
    let word = lexer.word();
    let expansion: &[FetchItem] = if word.eq_ignore_ascii_case(b"ALL") {
        &[
            FetchItem::Flags,
            FetchItem::InternalDate,
            FetchItem::Rfc822Size,
            FetchItem::Envelope,
        ]
    } else if word.eq_ignore_ascii_case(b"FAST") {
        &[
            FetchItem::Flags,
            FetchItem::InternalDate,
            FetchItem::Rfc822Size,
        ]
    } else if word.eq_ignore_ascii_case(b"FULL") {
        &[
            FetchItem::Flags,
            FetchItem::InternalDate,
            FetchItem::Rfc822Size,
            FetchItem::Envelope,
            FetchItem::Body,
        ]
    } else {
        *lexer = save;
        items.push(fetch_att(lexer)?);
        return Ok(items);
    };
    Ok(expansion.to_vec())
}

fn fetch_att(lexer: &mut Lexer<'_>) -> Lexed<FetchItem> {
    let word = lexer.word().to_ascii_uppercase();
    let item = match word.as_slice() {
        b"FLAGS" => FetchItem::Flags,
        b"INTERNALDATE" => FetchItem::InternalDate,
        b"RFC822.SIZE" => FetchItem::Rfc822Size,
        b"RFC822" => FetchItem::Rfc822,
        b"RFC822.HEADER" => FetchItem::Rfc822Header,
        b"RFC822.TEXT" => FetchItem::Rfc822Text,
        b"ENVELOPE" => FetchItem::Envelope,
        b"BODYSTRUCTURE" => FetchItem::BodyStructure,
        b"UID" => FetchItem::Uid,
        b"MODSEQ" => FetchItem::ModSeq,
        b"EMAILID" => FetchItem::EmailId,
        b"THREADID" => FetchItem::ThreadId,
        b"SAVEDATE" => FetchItem::SaveDate,
        b"BODY" if lexer.peek() != Some(b'[') => FetchItem::Body,
        b"BODY" | b"BODY.PEEK" => FetchItem::BodySection {
            peek: word.len() > 4,
            section: section(lexer)?,
            partial: partial(lexer)?,
        },
        b"BINARY" | b"BINARY.PEEK" => FetchItem::Binary {
            peek: word.len() > 6,
            part: section_binary(lexer)?,
            partial: partial(lexer)?,
        },
        b"BINARY.SIZE" => FetchItem::BinarySize {
            part: section_binary(lexer)?,
        },
        b"" => return Err("expected a fetch item"),
        _ => return Err("unknown fetch item"),
    };
    Ok(item)
}

/// `section = "[" [section-spec] "]"`.
fn section(lexer: &mut Lexer<'_>) -> Lexed<Section> {
    lexer.expect(b'[', "expected a section")?;
    let mut section = Section::default();
    if lexer.eat(b']') {
        return Ok(section);
    }
    if lexer.peek().is_some_and(|b| b.is_ascii_digit()) {
        section.part = section_part(lexer)?;
        if lexer.eat(b']') {
            return Ok(section);
        }
        lexer.expect(b'.', "invalid section")?;
    }
    let word = lexer.word().to_ascii_uppercase();
    section.text = Some(match word.as_slice() {
        b"HEADER" => SectionText::Header,
        b"TEXT" => SectionText::Text,
        b"MIME" if !section.part.is_empty() => SectionText::Mime,
        b"MIME" => return Err("MIME needs a part number"),
        b"HEADER.FIELDS" => SectionText::HeaderFields(header_list(lexer)?),
        b"HEADER.FIELDS.NOT" => SectionText::HeaderFieldsNot(header_list(lexer)?),
        _ => return Err("invalid section"),
    });
    lexer.expect(b']', "invalid section")?;
    Ok(section)
}

/// `section-part = nz-number *("." nz-number)`, stopping before a "." that starts text.
fn section_part(lexer: &mut Lexer<'_>) -> Lexed<Vec<u32>> {
    let mut part = Vec::new();
    loop {
        if part.len() == SECTION_PART_DEPTH_MAX {
            return Err("section part too deep");
        }
        part.push(lexer.nz_number().map_err(|_| "invalid section part")?);
        if lexer.peek() == Some(b'.') && lexer.peek_at(1).is_some_and(|b| b.is_ascii_digit()) {
            lexer.eat(b'.');
        } else {
            return Ok(part);
        }
    }
}

/// `section-binary = "[" [section-part] "]"`.
fn section_binary(lexer: &mut Lexer<'_>) -> Lexed<Vec<u32>> {
    lexer.expect(b'[', "expected a section")?;
    if lexer.eat(b']') {
        return Ok(Vec::new());
    }
    let part = section_part(lexer)?;
    lexer.expect(b']', "invalid section")?;
    Ok(part)
}

/// `header-list = "(" header-fld-name *(SP header-fld-name) ")"`.
fn header_list(lexer: &mut Lexer<'_>) -> Lexed<Vec<String>> {
    lexer.sp()?;
    lexer.expect(b'(', "expected a header field list")?;
    let mut fields = Vec::new();
    loop {
        if fields.len() == HEADER_FIELDS_MAX {
            return Err("too many header fields");
        }
        fields.push(header_field_name(lexer)?);
        if lexer.eat(b')') {
            return Ok(fields);
        }
        lexer.sp()?;
    }
}

/// `header-fld-name = astring`, which must also be an RFC 5322 §3.6.8 field name (printable
/// ASCII but ':'), since nothing else can match a header.
pub(super) fn header_field_name(lexer: &mut Lexer<'_>) -> Lexed<String> {
    let name = lexer.astring()?;
    if name.is_empty() || name.len() > HEADER_FIELD_OCTETS_MAX {
        return Err("invalid header field name");
    }
    if !name.iter().all(|&b| matches!(b, 0x21..=0x7e) && b != b':') {
        return Err("invalid header field name");
    }
    String::from_utf8(name.into_owned()).map_err(|_| "invalid header field name")
}

/// `partial = "<" number64 "." nz-number64 ">"`, if present.
fn partial(lexer: &mut Lexer<'_>) -> Lexed<Option<Partial>> {
    if !lexer.eat(b'<') {
        return Ok(None);
    }
    let offset = lexer.number64().map_err(|_| "invalid partial range")?;
    lexer.expect(b'.', "invalid partial range")?;
    let length = lexer.nz_number64().map_err(|_| "invalid partial range")?;
    lexer.expect(b'>', "invalid partial range")?;
    Ok(Some(Partial { offset, length }))
}

/// `fetch-modifiers = SP "(" fetch-modifier *(SP fetch-modifier) ")"` (RFC 4466 §2.4) with the
/// two RFC 7162 defines; any other modifier is refused.
fn fetch_modifiers(lexer: &mut Lexer<'_>, uid: bool) -> Lexed<(Option<u64>, bool)> {
    lexer.expect(b'(', "expected fetch modifiers")?;
    let mut changed_since = None;
    let mut vanished = false;
    loop {
        let word = lexer.word();
        if word.eq_ignore_ascii_case(b"CHANGEDSINCE") {
            lexer.sp()?;
            // RFC 7162 §3.1.4.1: mod-sequence-value, which is at least 1.
            let modseq = lexer.nz_number64().map_err(|_| "invalid mod-sequence")?;
            if changed_since.replace(modseq).is_some() {
                return Err("duplicate CHANGEDSINCE");
            }
        } else if word.eq_ignore_ascii_case(b"VANISHED") {
            if vanished {
                return Err("duplicate VANISHED");
            }
            vanished = true;
        } else {
            return Err("unknown fetch modifier");
        }
        if lexer.eat(b')') {
            break;
        }
        lexer.sp()?;
    }
    // RFC 7162 §3.2.6: VANISHED only in UID FETCH, and only with CHANGEDSINCE.
    if vanished && !uid {
        return Err("VANISHED requires UID FETCH");
    }
    if vanished && changed_since.is_none() {
        return Err("VANISHED requires CHANGEDSINCE");
    }
    Ok((changed_since, vanished))
}
