//! Byte-level pieces shared by the header parsers: folding white space, comments and quoted
//! strings (RFC 5322 §3.2.2, §3.2.4), which MIME headers use too (RFC 2045 §5.1).

pub(crate) fn is_wsp(octet: u8) -> bool {
    octet == b' ' || octet == b'\t'
}

fn is_fws(octet: u8) -> bool {
    matches!(octet, b' ' | b'\t' | b'\r' | b'\n')
}

/// The position after any white space and comments from `at`.
pub(crate) fn skip_cfws(input: &[u8], mut at: usize) -> usize {
    loop {
        while at < input.len() && is_fws(input[at]) {
            at += 1;
        }
        if at < input.len() && input[at] == b'(' {
            at = skip_comment(input, at);
        } else {
            return at;
        }
    }
}

/// From an opening parenthesis to after its matching close (comments nest, RFC 5322 §3.2.2),
/// or to the end of an unterminated comment.
fn skip_comment(input: &[u8], mut at: usize) -> usize {
    let mut depth = 0usize;
    while at < input.len() {
        match input[at] {
            b'\\' => at += 1,
            b'(' => depth += 1,
            b')' => {
                depth -= 1;
                if depth == 0 {
                    return at + 1;
                }
            }
            _ => {}
        }
        at += 1;
    }
    input.len()
}

/// From an opening double quote: the quoted content still escaped, and the position after the
/// closing quote (an unterminated string runs to the end).
pub(crate) fn quoted(input: &[u8], start: usize) -> (&[u8], usize) {
    let mut at = start + 1;
    while at < input.len() {
        match input[at] {
            b'\\' => at += 2,
            b'"' => return (&input[start + 1..at], at + 1),
            _ => at += 1,
        }
    }
    (&input[(start + 1).min(input.len())..], input.len())
}

/// Appends quoted content with its quoted-pairs resolved and any line breaks removed.
pub(crate) fn unquote_into(escaped: &[u8], out: &mut Vec<u8>) {
    let mut octets = escaped.iter();
    while let Some(&octet) = octets.next() {
        match octet {
            b'\\' => {
                if let Some(&next) = octets.next() {
                    out.push(next);
                }
            }
            b'\r' | b'\n' => {}
            _ => out.push(octet),
        }
    }
}

pub(crate) fn trim_wsp(mut value: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = value {
        if !is_fws(*first) {
            break;
        }
        value = rest;
    }
    while let [rest @ .., last] = value {
        if !is_fws(*last) {
            break;
        }
        value = rest;
    }
    value
}

/// RFC 5322 §2.2.3: unfolding removes each line break that precedes white space; within a
/// field every line break does. Leading and trailing white space is dropped too.
pub(crate) fn unfold(value: &[u8]) -> Vec<u8> {
    let value = trim_wsp(value);
    let mut out = Vec::with_capacity(value.len());
    let mut rest = value;
    while let Some(at) = memchr::memchr(b'\n', rest) {
        let line = &rest[..at];
        out.extend_from_slice(line.strip_suffix(b"\r").unwrap_or(line));
        rest = &rest[at + 1..];
    }
    out.extend_from_slice(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_nest_and_may_be_unterminated() {
        let input = b" (a (b) \\) c) x";
        assert_eq!(skip_cfws(input, 0), 14);
        assert_eq!(skip_cfws(b"(open", 0), 5);
    }

    #[test]
    fn quoted_strings_unescape() {
        let input = br#""a\"b" rest"#;
        let (escaped, after) = quoted(input, 0);
        assert_eq!(after, 6);
        let mut out = Vec::new();
        unquote_into(escaped, &mut out);
        assert_eq!(out, b"a\"b");
        assert_eq!(quoted(b"\"abc", 0), (&b"abc"[..], 4));
        assert_eq!(quoted(b"\"ab\\", 0), (&b"ab\\"[..], 4));
    }

    #[test]
    fn unfolding_removes_line_breaks_only() {
        // RFC 5322 §2.2.3: the white space after the break stays.
        assert_eq!(unfold(b" a\r\n b\n\tc \r\n"), b"a b\tc");
        assert_eq!(unfold(b"a\rb"), b"a\rb");
    }
}
