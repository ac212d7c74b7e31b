//! The DATA body framer: dot-unstuffing, the end-of-data mark and bare line endings, streamed.
//!
//! RFC 5321 §4.1.1.4 and §4.5.2: the body ends at `<CRLF>.<CRLF>` (the first CRLF may be the one
//! that ended the DATA command) and a leading `.` on any other line is removed. Only that exact
//! sequence ends the body. A bare LF or bare CR (RFC 5321 §2.3.8: they "MUST NOT" appear alone)
//! is what SMTP smuggling (CVE-2023-51764/5/6) relies on, so after one of them no line starts:
//! `\n.\n`, `\n.\r\n`, `\r.\r` and `\r\n.\n` are content, never the end.
//!
//! In strict mode the framer reports the first bare line ending (the session refuses the
//! message after its end); in normalising mode it turns each into CRLF. Either way the framer
//! never holds content: it hands out ranges of the caller's input, cut around stuffing dots,
//! and small constant insertions.

use std::ops::Range;

/// Where in a line the framer is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Position {
    /// After a CRLF (or at the very start): a `.` here is stuffing or the end mark.
    LineStart,
    Text,
    /// After a CR inside a line (the CR has been handed out).
    Cr,
    /// After a line-start `.` (not handed out).
    Dot,
    /// After a line-start `.` and a CR (neither handed out).
    DotCr,
}

/// One piece of what [`DataFramer::step`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    /// Content: these octets of the input.
    Input(Range<usize>),
    /// Content the framer inserts: a normalised line ending or a kept lone dot.
    Insert(&'static [u8]),
    /// The first bare CR or LF in strict mode.
    BareLineEnding,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FramerStep {
    /// Input octets used up.
    pub consumed: usize,
    pub piece: Option<Piece>,
    /// `<CRLF>.<CRLF>` was consumed: the body is complete.
    pub end: bool,
}

#[derive(Debug)]
pub struct DataFramer {
    position: Position,
    normalise: bool,
    /// A piece owed from the previous step, which had to end its range first.
    owed: Option<&'static [u8]>,
    bare_line_ending_seen: bool,
    /// Content is not handed out (the message is refused); the end is still found.
    discarding: bool,
}

impl DataFramer {
    pub fn new(normalise: bool) -> Self {
        DataFramer {
            position: Position::LineStart,
            normalise,
            owed: None,
            bare_line_ending_seen: false,
            discarding: false,
        }
    }

    /// Stop handing out content; keep looking for the end.
    pub fn discard(&mut self) {
        self.discarding = true;
        self.owed = None;
    }

    /// A piece is owed even if no more input comes.
    pub fn has_owed(&self) -> bool {
        self.owed.is_some()
    }

    /// Advances over `input` until it can return a piece, the end, or has used it all.
    pub fn step(&mut self, input: &[u8]) -> FramerStep {
        if let Some(owed) = self.owed.take() {
            return self.piece(0, Piece::Insert(owed));
        }
        let mut start = 0;
        let mut index = 0;
        while index < input.len() {
            let octet = input[index];
            match self.position {
                Position::Text => match super::scan::find_cr_or_lf(&input[index..]) {
                    None => index = input.len(),
                    Some(offset) => {
                        index += offset;
                        if input[index] == b'\r' {
                            self.position = Position::Cr;
                            index += 1;
                        } else if self.normalise {
                            // Bare LF → CRLF: hand out the text before it, then CRLF.
                            self.position = Position::Text;
                            return self.cut(start, index, index + 1, Some(b"\r\n"));
                        } else {
                            index += 1;
                            if let Some(step) = self.bare(index) {
                                return step;
                            }
                        }
                    }
                },
                Position::Cr => {
                    if octet == b'\n' {
                        self.position = Position::LineStart;
                        index += 1;
                    } else if self.normalise {
                        // Bare CR: its CR is out already; add the LF and look at `octet` again.
                        self.position = Position::Text;
                        return self.cut(start, index, index, Some(b"\n"));
                    } else {
                        self.position = Position::Text;
                        if let Some(step) = self.bare(index) {
                            return step;
                        }
                    }
                }
                Position::LineStart => {
                    if octet == b'.' {
                        self.position = Position::Dot;
                        if index > start {
                            return self.cut(start, index, index + 1, None);
                        }
                        index += 1;
                        start = index;
                    } else {
                        self.position = Position::Text;
                    }
                }
                Position::Dot => match octet {
                    b'\r' => {
                        self.position = Position::DotCr;
                        index += 1;
                        start = index;
                    }
                    b'\n' => {
                        // `<CRLF>.<LF>`: a lone dot on a bare-LF line is content, not the end.
                        self.position = Position::Text;
                        index += 1;
                        if self.normalise {
                            return self.cut(start, start, index, Some(b".\r\n"));
                        }
                        if let Some(step) = self.bare(index) {
                            return step;
                        }
                        start = index;
                    }
                    // RFC 5321 §4.5.2: the leading dot is dropped; the rest is text.
                    _ => self.position = Position::Text,
                },
                Position::DotCr => {
                    if octet == b'\n' {
                        self.position = Position::LineStart;
                        return FramerStep {
                            consumed: index + 1,
                            piece: None,
                            end: true,
                        };
                    }
                    // `<CRLF>.<CR>` then something else: the dot and the bare CR are content.
                    self.position = Position::Text;
                    if self.normalise {
                        return self.cut(start, start, index, Some(b".\r\n"));
                    }
                    if let Some(step) = self.bare(index) {
                        return step;
                    }
                    start = index;
                }
            }
        }
        // Input used up. A held dot or dot-CR stays held (it starts no range): it is not
        // content yet.
        self.cut(start, index, index, None)
    }

    /// Hands out `start..end` (if any and not discarding), consumes up to `consumed`, and owes
    /// `then` for the next step. With nothing to hand out, `then` is handed out at once.
    fn cut(
        &mut self,
        start: usize,
        end: usize,
        consumed: usize,
        then: Option<&'static [u8]>,
    ) -> FramerStep {
        if self.discarding {
            return FramerStep {
                consumed,
                piece: None,
                end: false,
            };
        }
        if end > start {
            self.owed = then;
            return self.piece(consumed, Piece::Input(start..end));
        }
        match then {
            Some(insert) => self.piece(consumed, Piece::Insert(insert)),
            None => FramerStep {
                consumed,
                piece: None,
                end: false,
            },
        }
    }

    /// A bare line ending in strict mode; returns the step to hand back the first time.
    /// Content before it is not handed out: the session aborts the message.
    fn bare(&mut self, consumed: usize) -> Option<FramerStep> {
        if self.bare_line_ending_seen || self.discarding {
            return None;
        }
        self.bare_line_ending_seen = true;
        Some(self.piece(consumed, Piece::BareLineEnding))
    }

    fn piece(&self, consumed: usize, piece: Piece) -> FramerStep {
        FramerStep {
            consumed,
            piece: Some(piece),
            end: false,
        }
    }
}
