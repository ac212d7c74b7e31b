//! Writing replies: `code SP [enhanced SP] text CRLF`, and multi-line `code-text` forms.
//!
//! RFC 2034 §4: every 2xx/4xx/5xx reply carries an enhanced status code, except the greeting
//! and replies to HELO/EHLO/LHLO; 3xx replies carry none.

/// Appends one reply line. `status` is the enhanced code, or empty where RFC 2034 forbids one.
pub(super) fn write(out: &mut Vec<u8>, code: u16, status: &str, text: &str) {
    debug_assert!((200..600).contains(&code), "reply code {code} out of range");
    debug_assert!(
        status.is_empty() || status.as_bytes()[0] == b'0' + (code / 100) as u8,
        "enhanced code {status} must agree with {code} (RFC 2034 §4)"
    );
    debug_assert!(!text.contains(['\r', '\n']), "reply text must be one line");
    out.extend_from_slice(itoa3(code).as_slice());
    out.push(b' ');
    if !status.is_empty() {
        out.extend_from_slice(status.as_bytes());
        out.push(b' ');
    }
    out.extend_from_slice(text.as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// Appends a multi-line reply (RFC 5321 §4.2.1): `code-line` for all but the last.
pub(super) fn write_lines<'a>(
    out: &mut Vec<u8>,
    code: u16,
    lines: impl IntoIterator<Item = &'a str>,
) {
    let mut lines = lines.into_iter().peekable();
    while let Some(line) = lines.next() {
        debug_assert!(!line.contains(['\r', '\n']), "reply text must be one line");
        out.extend_from_slice(itoa3(code).as_slice());
        out.push(if lines.peek().is_some() { b'-' } else { b' ' });
        out.extend_from_slice(line.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
}

/// A 334 continuation (RFC 4954 §4): `334 SP base64`, with the space even when it is empty.
pub(super) fn write_challenge(out: &mut Vec<u8>, base64: &str) {
    out.extend_from_slice(b"334 ");
    out.extend_from_slice(base64.as_bytes());
    out.extend_from_slice(b"\r\n");
}

fn itoa3(code: u16) -> [u8; 3] {
    [
        b'0' + (code / 100 % 10) as u8,
        b'0' + (code / 10 % 10) as u8,
        b'0' + (code % 10) as u8,
    ]
}
