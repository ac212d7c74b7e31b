//! The response side of the shared productions, so every response encodes strings, flags and
//! dates the same way: an atom when the text is one, a quoted string when that is safe, else a
//! literal (RFC 3501 §4.3, §9).

use std::io::Write as _;

use super::date::DateTime;
use super::flag::Flag;
use super::lexer::is_astring_char;

/// `astring`: as an atom when every octet is an ASTRING-CHAR (and the text is not "NIL", which
/// a client could mistake for nil), else as [`write_string`].
pub fn write_astring(out: &mut Vec<u8>, text: &[u8]) {
    if !text.is_empty()
        && text.iter().all(|&b| is_astring_char(b))
        && !text.eq_ignore_ascii_case(b"NIL")
    {
        out.extend_from_slice(text);
    } else {
        write_string(out, text);
    }
}

/// `string`: quoted when every octet is 7-bit TEXT-CHAR (no NUL, CR or LF), else a literal.
/// 8-bit text goes as a literal because a quoted string may carry UTF-8 only after the client
/// enabled it (RFC 6855 §3); see [`write_quoted_utf8`] for that case. A literal may not carry
/// NUL either (CHAR8): the caller must not pass one.
pub fn write_string(out: &mut Vec<u8>, text: &[u8]) {
    if text
        .iter()
        .all(|&b| matches!(b, 0x01..=0x7f) && b != b'\r' && b != b'\n')
    {
        write_quoted(out, text);
    } else {
        write_literal(out, text);
    }
}

/// `nstring`: `NIL` for `None`.
pub fn write_nstring(out: &mut Vec<u8>, text: Option<&[u8]>) {
    match text {
        Some(text) => write_string(out, text),
        None => out.extend_from_slice(b"NIL"),
    }
}

/// A string for a session that enabled UTF8=ACCEPT or IMAP4rev2: quoted, UTF-8 included, unless
/// it holds CR, LF or NUL.
pub fn write_quoted_utf8(out: &mut Vec<u8>, text: &str) {
    if text.bytes().any(|b| matches!(b, 0 | b'\r' | b'\n')) {
        write_literal(out, text.as_bytes());
    } else {
        write_quoted(out, text.as_bytes());
    }
}

fn write_quoted(out: &mut Vec<u8>, text: &[u8]) {
    out.reserve(text.len() + 2);
    out.push(b'"');
    for &byte in text {
        if matches!(byte, b'"' | b'\\') {
            out.push(b'\\');
        }
        out.push(byte);
    }
    out.push(b'"');
}

/// `literal`: `{N}` CRLF and the octets.
pub fn write_literal(out: &mut Vec<u8>, text: &[u8]) {
    // Writing to a Vec cannot fail.
    let _ = write!(out, "{{{}}}\r\n", text.len());
    out.extend_from_slice(text);
}

/// `\Seen`, or the keyword.
pub fn write_flag(out: &mut Vec<u8>, flag: &Flag) {
    out.extend_from_slice(flag.as_str().as_bytes());
}

/// `flag-list`: `(\Seen $Forwarded)`.
pub fn write_flag_list(out: &mut Vec<u8>, flags: &[Flag]) {
    out.push(b'(');
    for (index, flag) in flags.iter().enumerate() {
        if index > 0 {
            out.push(b' ');
        }
        write_flag(out, flag);
    }
    out.push(b')');
}

/// `date-time` with its quotes: `"02-Jan-2024 15:04:05 +0100"`.
pub fn write_date_time(out: &mut Vec<u8>, date_time: &DateTime) {
    let _ = write!(out, "\"{date_time}\"");
}
