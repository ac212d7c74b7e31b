//! Mailbox names: the raw astring of a command, decoded once the session knows whether it speaks
//! modified UTF-7 (RFC 3501 §5.1.3) or UTF-8 (RFC 6855 §3, RFC 9051 §5.1); and the reverse for
//! LIST and STATUS responses.
//!
//! The hierarchy delimiter is "/". A decoded name is UTF-8 without control characters, at most
//! [`MAILBOX_NAME_OCTETS_MAX`] octets, with no empty hierarchy level. NFC normalisation (RFC 9051
//! §5.1 Net-Unicode) is not done: that needs Unicode tables; names are kept as the client wrote
//! them.

use super::write::{write_astring, write_quoted_utf8};

/// Longest decoded (UTF-8) mailbox name or pattern.
pub const MAILBOX_NAME_OCTETS_MAX: usize = 1024;

/// The hierarchy delimiter of every name this server hands out.
pub const HIERARCHY_DELIMITER: char = '/';

/// A mailbox name or LIST pattern exactly as the client sent it (the astring's bytes, quotes
/// and escapes removed). Decoding depends on the session: see [`MailboxName::decode`].
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct MailboxName(Vec<u8>);

/// Why a mailbox name is unusable. Each is the client's fault; the session answers NO or BAD.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("empty mailbox name")]
    Empty,
    #[error("mailbox name too long")]
    TooLong,
    #[error("mailbox name is not valid UTF-8")]
    InvalidUtf8,
    #[error("mailbox name is not valid modified UTF-7")]
    InvalidModifiedUtf7,
    #[error("mailbox name contains a control character")]
    ControlCharacter,
    #[error("mailbox name has an empty hierarchy level")]
    EmptyLevel,
    #[error("mailbox name contains a wildcard")]
    Wildcard,
}

impl MailboxName {
    pub fn new(raw: Vec<u8>) -> Self {
        MailboxName(raw)
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The name as UTF-8. `utf8` is true once UTF8=ACCEPT or IMAP4rev2 is enabled (the raw
    /// bytes are then UTF-8 already); otherwise they are modified UTF-7. "INBOX" in any case,
    /// also as the first level ("inbox/Work"), becomes "INBOX" (RFC 3501 §5.1: the name INBOX is
    /// case-insensitive; its children are named relative to it). Wildcards are refused: a name
    /// with '%' or '*' could never be listed reliably (RFC 9051 §5.1 item 3), so none is created.
    pub fn decode(&self, utf8: bool) -> Result<String, NameError> {
        let name = self.decode_text(utf8)?;
        if name.is_empty() {
            return Err(NameError::Empty);
        }
        if name.starts_with(HIERARCHY_DELIMITER)
            || name.ends_with(HIERARCHY_DELIMITER)
            || name.contains("//")
        {
            return Err(NameError::EmptyLevel);
        }
        if name.contains(['%', '*']) {
            return Err(NameError::Wildcard);
        }
        Ok(normalise_inbox(name))
    }

    /// A LIST/LSUB reference or pattern as UTF-8: the same decoding and character rules as
    /// [`decode`](Self::decode), but it may be empty and may contain wildcards and empty levels.
    pub fn decode_pattern(&self, utf8: bool) -> Result<String, NameError> {
        self.decode_text(utf8).map(normalise_inbox)
    }

    fn decode_text(&self, utf8: bool) -> Result<String, NameError> {
        // Modified UTF-7 needs at most 8 octets per character; anything longer is over the
        // decoded limit for sure, so it is refused before any work.
        if self.0.len() > MAILBOX_NAME_OCTETS_MAX * 8 {
            return Err(NameError::TooLong);
        }
        let name = if utf8 {
            String::from_utf8(self.0.clone()).map_err(|_| NameError::InvalidUtf8)?
        } else {
            decode_modified_utf7(&self.0)?
        };
        if name.len() > MAILBOX_NAME_OCTETS_MAX {
            return Err(NameError::TooLong);
        }
        if name.chars().any(|c| c.is_control()) {
            // char::is_control is exactly Cc: U+0000–U+001F and U+007F–U+009F.
            return Err(NameError::ControlCharacter);
        }
        Ok(name)
    }
}

/// Shown as text (lossily) so logs of parsed commands stay readable.
impl std::fmt::Debug for MailboxName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MailboxName({:?})", String::from_utf8_lossy(&self.0))
    }
}

fn normalise_inbox(name: String) -> String {
    let Some(first) = name.get(..5) else {
        return name;
    };
    if !first.eq_ignore_ascii_case("INBOX") || first == "INBOX" {
        return name;
    }
    match name.as_bytes().get(5) {
        None | Some(b'/') => format!("INBOX{}", &name[5..]),
        Some(_) => name,
    }
}

/// Writes `name` as a LIST/STATUS `mailbox`: modified UTF-7 unless `utf8`, then as an atom when
/// it is one, else a quoted string, else a literal.
pub fn encode_mailbox_name(name: &str, utf8: bool, out: &mut Vec<u8>) {
    if !utf8 {
        write_astring(out, encode_modified_utf7(name).as_bytes());
    } else if name.is_ascii() {
        write_astring(out, name.as_bytes());
    } else {
        // RFC 6855 §3: once UTF8=ACCEPT is enabled, quoted strings may carry UTF-8.
        write_quoted_utf8(out, name);
    }
}

const BASE64_ALPHABET: &[u8; 64] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

fn base64_value(byte: u8) -> Option<u32> {
    BASE64_ALPHABET
        .iter()
        .position(|&b| b == byte)
        .map(|index| index as u32)
}

/// Modified UTF-7 to UTF-8, refusing every form RFC 3501 §5.1.3 calls wrong: 8-bit or control
/// octets, an unterminated shift, base64 that encodes a printable ASCII character, leftover
/// non-zero bits, broken surrogate pairs, and a null shift ("-&" between two base64 runs).
pub fn decode_modified_utf7(raw: &[u8]) -> Result<String, NameError> {
    let mut out = String::with_capacity(raw.len());
    let mut index = 0;
    let mut after_run = false;
    while let Some(&byte) = raw.get(index) {
        match byte {
            b'&' if raw.get(index + 1) == Some(&b'-') => {
                out.push('&');
                index += 2;
                after_run = false;
            }
            b'&' => {
                if after_run {
                    return Err(NameError::InvalidModifiedUtf7);
                }
                let run_start = index + 1;
                let run_length = raw[run_start..]
                    .iter()
                    .position(|&b| b == b'-')
                    .ok_or(NameError::InvalidModifiedUtf7)?;
                decode_base64_run(&raw[run_start..run_start + run_length], &mut out)?;
                index = run_start + run_length + 1;
                after_run = true;
            }
            0x20..=0x7e => {
                out.push(char::from(byte));
                index += 1;
                after_run = false;
            }
            _ => return Err(NameError::InvalidModifiedUtf7),
        }
    }
    Ok(out)
}

fn decode_base64_run(run: &[u8], out: &mut String) -> Result<(), NameError> {
    let mut units = Vec::with_capacity(run.len() * 6 / 16);
    let mut bits: u32 = 0;
    let mut bit_count = 0;
    for &byte in run {
        let value = base64_value(byte).ok_or(NameError::InvalidModifiedUtf7)?;
        bits = ((bits << 6) | value) & 0x3f_ffff;
        bit_count += 6;
        if bit_count >= 16 {
            bit_count -= 16;
            units.push((bits >> bit_count) as u16);
        }
    }
    // The leftover is padding: fewer than 6 bits, all zero.
    if units.is_empty() || bit_count >= 6 || bits & ((1 << bit_count) - 1) != 0 {
        return Err(NameError::InvalidModifiedUtf7);
    }
    for decoded in char::decode_utf16(units) {
        let c = decoded.map_err(|_| NameError::InvalidModifiedUtf7)?;
        if (' '..='~').contains(&c) {
            return Err(NameError::InvalidModifiedUtf7);
        }
        out.push(c);
    }
    Ok(())
}

/// UTF-8 to modified UTF-7 (RFC 3501 §5.1.3).
pub fn encode_modified_utf7(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut run: Vec<u16> = Vec::new();
    for c in name.chars() {
        if (' '..='~').contains(&c) {
            flush_base64_run(&mut run, &mut out);
            out.push(c);
            if c == '&' {
                out.push('-');
            }
        } else {
            let mut buffer = [0u16; 2];
            run.extend_from_slice(c.encode_utf16(&mut buffer));
        }
    }
    flush_base64_run(&mut run, &mut out);
    out
}

fn flush_base64_run(run: &mut Vec<u16>, out: &mut String) {
    if run.is_empty() {
        return;
    }
    out.push('&');
    let mut bits: u32 = 0;
    let mut bit_count = 0;
    for unit in run.drain(..) {
        bits = (bits << 16) | u32::from(unit);
        bit_count += 16;
        while bit_count >= 6 {
            bit_count -= 6;
            out.push(char::from(
                BASE64_ALPHABET[((bits >> bit_count) & 0x3f) as usize],
            ));
        }
        bits &= (1 << bit_count) - 1;
    }
    if bit_count > 0 {
        out.push(char::from(
            BASE64_ALPHABET[((bits << (6 - bit_count)) & 0x3f) as usize],
        ));
    }
    out.push('-');
}
