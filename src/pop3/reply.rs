//! Writing response lines.

use std::io::Write;

/// Writes one response line and its CRLF. Lines we write are short and never echo peer text,
/// so they stay well under RFC 2449 §4's 512 octets.
pub(super) fn line(out: &mut Vec<u8>, text: std::fmt::Arguments<'_>) {
    out.write_fmt(text).expect("writing to a Vec cannot fail");
    out.extend_from_slice(b"\r\n");
}

/// "1 message", "2 messages".
pub(super) fn messages(count: usize) -> &'static str {
    if count == 1 { "message" } else { "messages" }
}
