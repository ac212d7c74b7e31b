//! SEARCH over decoded text (RFC 9051 §6.4.4): header values with their RFC 2047 encoded
//! words decoded, and body parts with their content transfer encoding undone and their
//! charset converted to UTF-8, compared case-insensitively (Unicode lower case).
//!
//! Bodies stream through in chunks: memory stays bounded by a window of a chunk plus the
//! needle, whatever the part's size.

use crate::mime::transfer::Sink;

/// How a part's octets become text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Charset {
    /// UTF-8 and US-ASCII (and charsets not known here: their ASCII still matches).
    Utf8,
    /// ISO-8859-1 and Windows-1252 (as Latin-1: its C1 range maps to U+0080–U+009F).
    Latin1,
}

impl Charset {
    pub fn of(name: Option<&[u8]>) -> Charset {
        let Some(name) = name else {
            return Charset::Utf8;
        };
        let latin1: [&[u8]; 5] = [
            b"iso-8859-1",
            b"iso8859-1",
            b"latin1",
            b"windows-1252",
            b"cp1252",
        ];
        if latin1.iter().any(|known| name.eq_ignore_ascii_case(known)) {
            Charset::Latin1
        } else {
            Charset::Utf8
        }
    }
}

/// Lower-cased text for comparison.
pub fn fold(text: &str) -> String {
    text.to_lowercase()
}

/// Finds a needle in decoded text fed in pieces of any size.
pub struct TextMatcher {
    needle: String,
    charset: Charset,
    /// Folded text not yet ruled out: at most the needle's length of the previous pieces.
    window: String,
    /// The incomplete UTF-8 sequence at the end of the last piece.
    carry: Vec<u8>,
    found: bool,
}

impl TextMatcher {
    pub fn new(needle: &[u8], charset: Charset) -> TextMatcher {
        TextMatcher {
            needle: fold(&String::from_utf8_lossy(needle)),
            charset,
            window: String::new(),
            carry: Vec::new(),
            found: needle.is_empty(),
        }
    }

    pub fn found(&self) -> bool {
        self.found
    }

    fn push_text(&mut self, text: &str) {
        self.window.push_str(&fold(text));
        if self.window.contains(&self.needle) {
            self.found = true;
            self.window.clear();
            return;
        }
        // Keep as many characters as the needle has, less one: a match across the next piece.
        let keep = self.needle.chars().count().saturating_sub(1);
        let total = self.window.chars().count();
        if total > keep {
            let cut = self
                .window
                .char_indices()
                .nth(total - keep)
                .map_or(self.window.len(), |(index, _)| index);
            self.window.drain(..cut);
        }
    }

    /// The end of the text: an incomplete sequence left over is decoded as it is.
    pub fn finish(&mut self) {
        if !self.carry.is_empty() {
            let rest = std::mem::take(&mut self.carry);
            self.push_text(&String::from_utf8_lossy(&rest));
        }
        self.window.clear();
    }
}

impl Sink for TextMatcher {
    fn put(&mut self, octets: &[u8]) {
        if self.found {
            return;
        }
        match self.charset {
            Charset::Latin1 => {
                let text: String = octets.iter().map(|&b| char::from(b)).collect();
                self.push_text(&text);
            }
            Charset::Utf8 => {
                let mut bytes = std::mem::take(&mut self.carry);
                bytes.extend_from_slice(octets);
                let valid = match std::str::from_utf8(&bytes) {
                    Ok(_) => bytes.len(),
                    // An incomplete sequence at the very end waits for the next piece.
                    Err(error) if error.error_len().is_none() => error.valid_up_to(),
                    Err(_) => bytes.len(),
                };
                let (now, later) = bytes.split_at(valid);
                let text = String::from_utf8_lossy(now).into_owned();
                self.carry = later.to_vec();
                self.push_text(&text);
            }
        }
    }
}

/// Whether a header value (raw, possibly with encoded words) contains the needle.
pub fn header_value_contains(value: &[u8], needle: &[u8]) -> bool {
    if needle.is_empty() {
        return true;
    }
    let decoded = super::sort::subject::decode_encoded_words(value);
    let mut matcher = TextMatcher::new(needle, Charset::Utf8);
    matcher.put(&decoded);
    matcher.finish();
    matcher.found()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(pieces: &[&[u8]], needle: &str, charset: Charset) -> bool {
        let mut matcher = TextMatcher::new(needle.as_bytes(), charset);
        for piece in pieces {
            matcher.put(piece);
        }
        matcher.finish();
        matcher.found()
    }

    #[test]
    fn matches_across_pieces_and_cases() {
        assert!(matches(
            &[b"Hello Wor", b"LD again"],
            "world",
            Charset::Utf8
        ));
        assert!(!matches(&[b"Hello", b" there"], "world", Charset::Utf8));
        // "Grüße" split inside the two-octet "ü".
        assert!(
            matches(
                &[b"Gr\xc3", b"\xbc\xc3\x9fe"],
                "GRÜSSE".to_lowercase().as_str(),
                Charset::Utf8
            ) || matches(&[b"Gr\xc3", b"\xbc\xc3\x9fe"], "grüße", Charset::Utf8)
        );
        assert!(matches(
            &[b"Gr\xfc\xdfe aus K\xf6ln"],
            "KÖLN",
            Charset::Latin1
        ));
    }

    #[test]
    fn rfc2047_header_values_are_decoded() {
        assert!(header_value_contains(
            b"=?UTF-8?Q?Gr=C3=BC=C3=9Fe?= aus Bonn",
            "grüße".as_bytes()
        ));
        assert!(header_value_contains(
            b"=?ISO-8859-1?B?S/ZsbiE=?=",
            "köln".as_bytes()
        ));
        assert!(!header_value_contains(b"plain subject", b"other"));
    }
}
