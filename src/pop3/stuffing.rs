//! The multi-line form of a message for RETR and TOP (RFC 1939 §3), produced on the fly.
//!
//! The driver reads a message from storage in chunks of any size and passes each to
//! [`Stuffer::push`]; chunks may split anywhere (between CR and LF, right after a line start).
//! Memory is a few flags: nothing is buffered beyond a CR whose LF has not arrived yet, and
//! nothing is allocated except growth of the caller's output vector.

/// Byte-stuffs one message and terminates it with `.CRLF`.
///
/// - A line that starts with `.` gets another `.` in front (RFC 1939 §3).
/// - CRLF passes through; a lone LF becomes CRLF (stored mail is CRLF, but be robust). A CR not
///   followed by LF is message content and passes through unchanged.
/// - If the message does not end with a line break, CRLF is added before the terminator, so the
///   client always sees `CRLF.CRLF`.
/// - For TOP n ([`Stuffer::new`] with `Some(n)`): the header block, the blank line after it and
///   n body lines, then nothing more (RFC 1939 §7). A message without a blank line is all header
///   and is sent whole.
#[derive(Debug)]
pub struct Stuffer {
    /// The next octet starts a line.
    line_start: bool,
    /// A CR was the last octet seen; whether it ends a line depends on the next one.
    pending_cr: bool,
    top: Option<Top>,
    /// TOP has sent everything it wants; further input is ignored.
    done: bool,
}

#[derive(Debug)]
struct Top {
    in_header: bool,
    body_lines_left: u32,
}

impl Stuffer {
    /// `body_lines`: `None` for RETR (the whole message), `Some(n)` for `TOP msg n`.
    pub fn new(body_lines: Option<u32>) -> Stuffer {
        Stuffer {
            line_start: true,
            pending_cr: false,
            top: body_lines.map(|body_lines_left| Top {
                in_header: true,
                body_lines_left,
            }),
            done: false,
        }
    }

    /// True once TOP has all it needs: the driver may stop reading the message.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// Stuffs the next chunk of the stored message into `out`.
    pub fn push(&mut self, mut chunk: &[u8], out: &mut Vec<u8>) {
        if self.done || chunk.is_empty() {
            return;
        }
        // At most one extra octet per input octet (a dot or the CR of a lone LF), plus a CR held
        // from the previous chunk.
        out.reserve(chunk.len() + 1);
        while let Some(&first) = chunk.first() {
            if self.done {
                return;
            }
            if self.pending_cr {
                self.pending_cr = false;
                if first == b'\n' {
                    chunk = &chunk[1..];
                    self.end_line(out);
                    continue;
                }
                out.push(b'\r');
                self.line_start = false;
            }
            match first {
                b'\n' => {
                    chunk = &chunk[1..];
                    self.end_line(out);
                }
                b'\r' => {
                    chunk = &chunk[1..];
                    self.pending_cr = true;
                }
                _ => {
                    if self.line_start && first == b'.' {
                        out.push(b'.');
                    }
                    let run = chunk
                        .iter()
                        .position(|&octet| octet == b'\r' || octet == b'\n')
                        .unwrap_or(chunk.len());
                    out.extend_from_slice(&chunk[..run]);
                    self.line_start = false;
                    chunk = &chunk[run..];
                }
            }
        }
    }

    /// Ends the message: CRLF if the last line is unterminated, then `.CRLF`.
    pub fn finish(mut self, out: &mut Vec<u8>) {
        if !self.done {
            if self.pending_cr {
                out.push(b'\r');
                self.line_start = false;
            }
            if !self.line_start {
                out.extend_from_slice(b"\r\n");
            }
        }
        out.extend_from_slice(b".\r\n");
    }

    fn end_line(&mut self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"\r\n");
        let was_empty = self.line_start;
        self.line_start = true;
        let Some(top) = &mut self.top else {
            return;
        };
        if top.in_header {
            // RFC 1939 §7: headers, the blank line separating them from the body, then n lines.
            if was_empty {
                top.in_header = false;
                self.done = top.body_lines_left == 0;
            }
        } else {
            top.body_lines_left = top.body_lines_left.saturating_sub(1);
            self.done = top.body_lines_left == 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stuff(chunks: &[&[u8]], body_lines: Option<u32>) -> Vec<u8> {
        let mut stuffer = Stuffer::new(body_lines);
        let mut out = Vec::new();
        for chunk in chunks {
            stuffer.push(chunk, &mut out);
        }
        stuffer.finish(&mut out);
        out
    }

    /// A straightforward line-by-line model of the same rules, to check the streaming encoder.
    fn model(message: &[u8], body_lines: Option<u32>) -> Vec<u8> {
        let mut out = Vec::new();
        let mut in_header = true;
        let mut left = body_lines;
        let mut rest = message;
        while !rest.is_empty() {
            if left == Some(0) && !in_header {
                break;
            }
            let (line, next) = match rest.iter().position(|&octet| octet == b'\n') {
                Some(lf) => (
                    rest[..lf].strip_suffix(b"\r").unwrap_or(&rest[..lf]),
                    &rest[lf + 1..],
                ),
                None => (rest, &rest[rest.len()..]),
            };
            if line.first() == Some(&b'.') {
                out.push(b'.');
            }
            out.extend_from_slice(line);
            out.extend_from_slice(b"\r\n");
            if body_lines.is_some() {
                if in_header {
                    in_header = !line.is_empty();
                } else {
                    left = left.map(|n| n - 1);
                }
            }
            rest = next;
        }
        out.extend_from_slice(b".\r\n");
        out
    }

    const TRICKY: &[u8] =
        b"Subject: .dots\r\n.From: x\r\n\r\n.\r\n..\r\nbody . line\n.\r\n\r\n.last";

    #[test]
    fn tricky_message_whole() {
        assert_eq!(
            stuff(&[TRICKY], None),
            b"Subject: .dots\r\n..From: x\r\n\r\n..\r\n...\r\nbody . line\r\n..\r\n\r\n..last\r\n.\r\n"
        );
        assert_eq!(model(TRICKY, None), stuff(&[TRICKY], None));
    }

    #[test]
    fn every_split_of_a_tricky_message() {
        for body_lines in [None, Some(0), Some(1), Some(2), Some(3), Some(4), Some(99)] {
            let expected = model(TRICKY, body_lines);
            assert_eq!(stuff(&[TRICKY], body_lines), expected, "{body_lines:?}");
            for first in 0..=TRICKY.len() {
                for second in first..=TRICKY.len() {
                    let chunks = [&TRICKY[..first], &TRICKY[first..second], &TRICKY[second..]];
                    assert_eq!(
                        stuff(&chunks, body_lines),
                        expected,
                        "splits at {first} and {second}, TOP {body_lines:?}"
                    );
                }
            }
            // One octet at a time.
            let singles: Vec<&[u8]> = TRICKY.chunks(1).collect();
            assert_eq!(stuff(&singles, body_lines), expected);
        }
    }

    #[test]
    fn top_counts_lines_after_the_blank_line() {
        let message = b"A: 1\r\nB: 2\r\n\r\none\r\n.two\r\nthree\r\n";
        assert_eq!(stuff(&[message], Some(0)), b"A: 1\r\nB: 2\r\n\r\n.\r\n");
        assert_eq!(
            stuff(&[message], Some(2)),
            b"A: 1\r\nB: 2\r\n\r\none\r\n..two\r\n.\r\n"
        );
        assert_eq!(
            stuff(&[message], Some(1000)),
            b"A: 1\r\nB: 2\r\n\r\none\r\n..two\r\nthree\r\n.\r\n"
        );
        // No blank line: all header, sent whole.
        assert_eq!(stuff(&[b"A: 1\r\nB: 2"], Some(0)), b"A: 1\r\nB: 2\r\n.\r\n");
        let mut stuffer = Stuffer::new(Some(1));
        let mut out = Vec::new();
        stuffer.push(message, &mut out);
        assert!(stuffer.is_done());
        stuffer.push(b"ignored\r\n", &mut out);
        stuffer.finish(&mut out);
        assert_eq!(out, b"A: 1\r\nB: 2\r\n\r\none\r\n.\r\n");
    }

    #[test]
    fn line_endings() {
        assert_eq!(stuff(&[b""], None), b".\r\n");
        assert_eq!(stuff(&[], None), b".\r\n");
        assert_eq!(stuff(&[b"a\nb\n"], None), b"a\r\nb\r\n.\r\n");
        assert_eq!(stuff(&[b"a\r", b"\nb"], None), b"a\r\nb\r\n.\r\n");
        // A CR that does not end a line is content.
        assert_eq!(stuff(&[b"a\rb\r\n"], None), b"a\rb\r\n.\r\n");
        assert_eq!(stuff(&[b"a\r", b".b"], None), b"a\r.b\r\n.\r\n");
        assert_eq!(stuff(&[b"a\r"], None), b"a\r\r\n.\r\n");
        assert_eq!(stuff(&[b"\r\n", b".", b"\r\n"], None), b"\r\n..\r\n.\r\n");
        assert_eq!(stuff(&[b"."], None), b"..\r\n.\r\n");
    }
}
