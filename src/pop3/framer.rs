//! Splits client input into lines before any grammar runs, with a bound on line length.
//!
//! Lines end with CRLF (RFC 1939 §3). A bare LF is accepted as a line end too: it cannot be
//! confused with anything else in POP3 (no literals, no binary data from the client), and some
//! scripted clients send it. A CR elsewhere stays in the line and fails command parsing.

/// One framing step over the unconsumed input.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Frame<'a> {
    /// A complete line without its terminator; `length` counts the terminator.
    Line { line: &'a [u8], length: usize },
    /// No complete line yet and no limit exceeded: consume nothing, wait for more input.
    Incomplete,
    /// `length` octets of an over-long line were dropped; `line_ended` once its LF went too.
    Discarded { length: usize, line_ended: bool },
}

/// Remembers, across calls, that the current line is over-long and being dropped, so an
/// over-long line never makes the driver's buffer grow: its octets are consumed as they arrive.
#[derive(Debug, Default)]
pub(super) struct Framer {
    discarding: bool,
}

impl Framer {
    /// The next frame of `input`. `line_octets_max` counts the line terminator.
    pub(super) fn next<'a>(&mut self, input: &'a [u8], line_octets_max: usize) -> Frame<'a> {
        debug_assert!(line_octets_max >= 2);
        if input.is_empty() {
            return Frame::Incomplete;
        }
        if self.discarding {
            return match find_lf(input) {
                Some(lf) => {
                    self.discarding = false;
                    Frame::Discarded {
                        length: lf + 1,
                        line_ended: true,
                    }
                }
                None => Frame::Discarded {
                    length: input.len(),
                    line_ended: false,
                },
            };
        }
        let window = &input[..input.len().min(line_octets_max)];
        match find_lf(window) {
            Some(lf) => {
                let line = &input[..lf];
                let line = line.strip_suffix(b"\r").unwrap_or(line);
                Frame::Line {
                    line,
                    length: lf + 1,
                }
            }
            None if window.len() < line_octets_max => Frame::Incomplete,
            None => {
                // line_octets_max octets and still no LF: the line cannot fit.
                self.discarding = true;
                self.next(input, line_octets_max)
            }
        }
    }
}

fn find_lf(input: &[u8]) -> Option<usize> {
    input.iter().position(|&octet| octet == b'\n')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_limits() {
        let mut framer = Framer::default();
        assert_eq!(framer.next(b"", 10), Frame::Incomplete);
        assert_eq!(framer.next(b"STAT", 10), Frame::Incomplete);
        assert_eq!(
            framer.next(b"STAT\r\nNOOP\r\n", 10),
            Frame::Line {
                line: b"STAT",
                length: 6
            }
        );
        assert_eq!(
            framer.next(b"STAT\n", 10),
            Frame::Line {
                line: b"STAT",
                length: 5
            }
        );
        // Exactly at the limit, terminator included.
        assert_eq!(
            framer.next(b"12345678\r\n", 10),
            Frame::Line {
                line: b"12345678",
                length: 10
            }
        );
        assert_eq!(framer.next(b"12345678\r", 10), Frame::Incomplete);
        // One over: dropped in pieces as it arrives, then the next line is framed normally.
        assert_eq!(
            framer.next(b"123456789\r", 10),
            Frame::Discarded {
                length: 10,
                line_ended: false
            }
        );
        assert_eq!(
            framer.next(b"\nSTAT\r\n", 10),
            Frame::Discarded {
                length: 1,
                line_ended: true
            }
        );
        assert_eq!(
            framer.next(b"STAT\r\n", 10),
            Frame::Line {
                line: b"STAT",
                length: 6
            }
        );
        assert_eq!(
            framer.next(b"0123456789abc\r\nQUIT\r\n", 10),
            Frame::Discarded {
                length: 15,
                line_ended: true
            }
        );
    }
}
