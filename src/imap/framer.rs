//! Frame first, then parse: splits the client's byte stream into complete commands (lines with
//! their literals inline), so the grammar only ever sees a whole, size-bounded command.
//!
//! RFC 9051 §4.3 / RFC 3501 §4.3: a literal is announced as `{N}` at the end of a line; the
//! client waits for a continuation request (`+`) before sending a synchronising literal, so a
//! literal we refuse is never sent and the command ends there. A non-synchronising literal
//! (`{N+}`, RFC 7888) arrives at once: one we refuse is read and dropped, never parsed as
//! commands, and so is the rest of its command. APPEND message literals are not buffered: the
//! framer hands them to the session, which streams them into the log (`Frame::Append`).

use super::command::{
    AppendMessageHeader, AppendStart, LiteralAnnouncement, LiteralPurpose, Tag,
    literal_announcement, literal_purpose, parse_append_next, parse_append_start,
};
use memchr::memchr;

/// Longest line of command text (RFC 7162 §4 asks servers to accept at least 8192 octets).
pub const LINE_OCTETS_MAX: usize = 64 * 1024;
/// Longest command with its inline literals (everything but APPEND message literals).
pub const COMMAND_OCTETS_MAX: usize = 256 * 1024;
/// The line after an APPEND message literal: flags, a date and the next announcement.
pub const APPEND_TAIL_OCTETS_MAX: usize = 8 * 1024;

const _: () = assert!(LINE_OCTETS_MAX <= COMMAND_OCTETS_MAX);

/// What the framer found in the input.
#[derive(Debug)]
pub enum Frame {
    /// Everything given was taken; read more.
    More,
    /// A complete command, tag to CRLF, literals inline.
    Command(Vec<u8>),
    /// A synchronising literal was accepted: send a continuation request now.
    Continue,
    /// The command was refused while framing: answer `tag BAD reason` (`*` without a tag).
    Refuse { tag: Option<Tag>, reason: String },
    /// An APPEND begins; its first message literal follows. The session either streams the
    /// literal (`Framer::literal_streamed` afterwards) or refuses it (`Framer::refuse_literal`).
    Append(AppendStart),
    /// MULTIAPPEND (RFC 3502): another message of the same APPEND follows.
    AppendNext(AppendMessageHeader),
    /// The APPEND command ended after its last message.
    AppendEnd,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Reading command text.
    Line,
    /// Copying an accepted literal into the command.
    Literal { remaining: u64 },
    /// Dropping a refused non-synchronising literal.
    Drain { remaining: u64 },
    /// The session is streaming an APPEND message literal; the framer waits.
    AppendLiteral,
    /// Reading what follows an APPEND message literal.
    AppendTail,
}

pub struct Framer {
    state: State,
    /// The command so far (or the APPEND tail line).
    pending: Vec<u8>,
    /// Where the current line starts in `pending` (after the last inline literal).
    line_start: usize,
    /// Set when the command is being dropped: its end produces `Refuse` with this reason
    /// (an empty reason: dropped silently, the session has answered).
    refused: Option<String>,
    /// The tag of the command being dropped or appended.
    tag: Option<Tag>,
    /// The APPEND message being streamed (what follows it depends on its form).
    append: Option<AppendMessageHeader>,
}

impl Default for Framer {
    fn default() -> Self {
        Self::new()
    }
}

impl Framer {
    pub fn new() -> Self {
        Framer {
            state: State::Line,
            pending: Vec::new(),
            line_start: 0,
            refused: None,
            tag: None,
            append: None,
        }
    }

    /// True between commands (nothing buffered): the connection may idle cheaply.
    pub fn is_idle(&self) -> bool {
        self.state == State::Line && self.pending.is_empty() && self.refused.is_none()
    }

    /// Releases buffer memory while the connection idles.
    pub fn shrink(&mut self) {
        if self.is_idle() {
            self.pending = Vec::new();
        }
    }

    /// Takes what it can from `input`; returns the octets consumed and what was found.
    pub fn next(&mut self, input: &[u8]) -> (usize, Frame) {
        let mut consumed = 0;
        loop {
            let rest = &input[consumed..];
            match self.state {
                State::AppendLiteral => return (consumed, Frame::More),
                State::Literal { remaining } => {
                    let take = clamp(remaining, rest.len());
                    self.pending.extend_from_slice(&rest[..take]);
                    consumed += take;
                    let remaining = remaining - take as u64;
                    if remaining > 0 {
                        self.state = State::Literal { remaining };
                        return (consumed, Frame::More);
                    }
                    self.state = State::Line;
                    self.line_start = self.pending.len();
                }
                State::Drain { remaining } => {
                    let take = clamp(remaining, rest.len());
                    consumed += take;
                    let remaining = remaining - take as u64;
                    if remaining > 0 {
                        self.state = State::Drain { remaining };
                        return (consumed, Frame::More);
                    }
                    self.state = State::Line;
                    self.pending.clear();
                    self.line_start = 0;
                }
                State::Line | State::AppendTail => {
                    let end = memchr(b'\n', rest);
                    let piece = &rest[..end.map_or(rest.len(), |e| e + 1)];
                    consumed += piece.len();
                    self.take_piece(piece);
                    if end.is_none() {
                        return (consumed, Frame::More);
                    }
                    if let Some(frame) = self.line_complete() {
                        return (consumed, frame);
                    }
                }
            }
        }
    }

    /// The session streamed the APPEND message literal it was given; continue with what follows.
    pub fn literal_streamed(&mut self) {
        debug_assert_eq!(self.state, State::AppendLiteral);
        self.state = State::AppendTail;
        self.pending.clear();
        self.line_start = 0;
    }

    /// The session refused the APPEND message literal it was given: a synchronising one was
    /// never sent and the command is over; a non-synchronising one is dropped with the rest of
    /// the command, silently (the session has answered).
    pub fn refuse_literal(&mut self, literal: &LiteralAnnouncement) {
        self.pending.clear();
        self.line_start = 0;
        self.tag = None;
        if literal.synchronizing {
            self.state = State::Line;
            self.refused = None;
        } else {
            self.state = State::Drain {
                remaining: literal.octets,
            };
            self.refused = Some(String::new());
        }
    }

    /// Adds a piece of the current line (up to and including its LF, if it has one), within
    /// the limits; beyond them the command is refused and only the line's tail is kept (to
    /// see a literal announcement at its end).
    fn take_piece(&mut self, piece: &[u8]) {
        let line_max = if self.state == State::AppendTail {
            APPEND_TAIL_OCTETS_MAX
        } else {
            LINE_OCTETS_MAX
        };
        let line = self.pending.len() - self.line_start + piece.len();
        let fits =
            line <= line_max + 2 && self.pending.len() + piece.len() <= COMMAND_OCTETS_MAX + 2;
        if self.refused.is_none() && !fits {
            let reason = if line > line_max + 2 {
                "Line too long"
            } else {
                "Command too long"
            };
            self.refuse(reason);
        }
        if self.refused.is_some() {
            // Only the line's end matters now.
            let mut tail = self.pending[self.line_start..].to_vec();
            tail.extend_from_slice(piece);
            let keep = tail.len().min(64);
            self.pending.clear();
            self.pending.extend_from_slice(&tail[tail.len() - keep..]);
            self.line_start = 0;
            return;
        }
        self.pending.extend_from_slice(piece);
    }

    fn refuse(&mut self, reason: &str) {
        if self.refused.is_none() {
            self.tag = self.tag.take().or_else(|| tag_of(&self.pending));
            self.refused = Some(reason.to_string());
        }
    }

    /// A line ended (it is in `pending` from `line_start`, CRLF included).
    fn line_complete(&mut self) -> Option<Frame> {
        // Only the line's own CR counts: a literal before it may end in one.
        let text_end = self.line_start + line_text_end(&self.pending[self.line_start..]);
        if self.state == State::AppendTail {
            return Some(self.append_tail(text_end));
        }
        match literal_announcement(&self.pending[self.line_start..text_end]) {
            None => self.command_complete(),
            Some(Err(error)) => {
                self.refuse(error.reason);
                self.command_complete()
            }
            Some(Ok((_, literal))) if self.refused.is_some() => self.drop_literal(literal),
            Some(Ok((_, literal))) => self.literal_announced(text_end, literal),
        }
    }

    fn literal_announced(
        &mut self,
        text_end: usize,
        literal: LiteralAnnouncement,
    ) -> Option<Frame> {
        if literal_purpose(&self.pending[..text_end]) == LiteralPurpose::AppendMessage {
            match parse_append_start(&self.pending[..text_end]) {
                Ok(start) => {
                    self.tag = Some(start.tag.clone());
                    self.append = Some(start.message.clone());
                    self.pending.clear();
                    self.line_start = 0;
                    self.state = State::AppendLiteral;
                    return Some(Frame::Append(start));
                }
                Err(error) => {
                    self.refuse(error.reason);
                    return self.drop_literal(literal);
                }
            }
        }
        let room = COMMAND_OCTETS_MAX.saturating_sub(self.pending.len()) as u64;
        if literal.octets > room {
            self.refuse("Literal too large");
            return self.drop_literal(literal);
        }
        self.state = State::Literal {
            remaining: literal.octets,
        };
        literal.synchronizing.then_some(Frame::Continue)
    }

    /// A literal of a command being dropped: a synchronising one is never sent (the client
    /// waits for a `+`), so the command ends here; a non-synchronising one is read and dropped.
    fn drop_literal(&mut self, literal: LiteralAnnouncement) -> Option<Frame> {
        if literal.synchronizing {
            return self.command_complete();
        }
        self.state = State::Drain {
            remaining: literal.octets,
        };
        None
    }

    /// The command's final CRLF has been read.
    fn command_complete(&mut self) -> Option<Frame> {
        self.state = State::Line;
        self.line_start = 0;
        let command = std::mem::take(&mut self.pending);
        let tag = self.tag.take();
        match self.refused.take() {
            None => Some(Frame::Command(command)),
            Some(reason) if reason.is_empty() => None,
            Some(reason) => Some(Frame::Refuse {
                tag: tag.or_else(|| tag_of(&command)),
                reason,
            }),
        }
    }

    /// The line after an APPEND message literal.
    fn append_tail(&mut self, text_end: usize) -> Frame {
        let Some(previous) = self.append.take() else {
            unreachable!("an APPEND tail follows an APPEND message");
        };
        let result = parse_append_next(&self.pending[..text_end], &previous);
        let announcement = literal_announcement(&self.pending[..text_end]);
        self.pending.clear();
        self.line_start = 0;
        match result {
            Ok(Some(header)) => {
                self.state = State::AppendLiteral;
                self.append = Some(header.clone());
                Frame::AppendNext(header)
            }
            Ok(None) => {
                self.tag = None;
                self.state = State::Line;
                Frame::AppendEnd
            }
            Err(error) => {
                let tag = self.tag.take();
                self.state = State::Line;
                if let Some(Ok((_, literal))) = announcement
                    && !literal.synchronizing
                {
                    self.refused = Some(String::new());
                    self.state = State::Drain {
                        remaining: literal.octets,
                    };
                }
                Frame::Refuse {
                    tag,
                    reason: error.reason.to_string(),
                }
            }
        }
    }
}

fn clamp(remaining: u64, available: usize) -> usize {
    usize::try_from(remaining).map_or(available, |r| r.min(available))
}

/// Where a line's text ends: before its CRLF (or a bare LF).
fn line_text_end(pending: &[u8]) -> usize {
    let mut end = pending.len();
    if pending[..end].ends_with(b"\n") {
        end -= 1;
    }
    if pending[..end].ends_with(b"\r") {
        end -= 1;
    }
    end
}

/// The tag at the start of a command, if it is a valid one (RFC 3501 §9 `tag`).
pub fn tag_of(command: &[u8]) -> Option<Tag> {
    let end = command
        .iter()
        .position(|&b| b == b' ' || b == b'\r' || b == b'\n')
        .unwrap_or(command.len());
    std::str::from_utf8(&command[..end]).ok().and_then(Tag::new)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `input` in pieces of `step` octets; returns every frame (without `More`).
    fn frames(framer: &mut Framer, input: &[u8], step: usize) -> Vec<Frame> {
        let mut found = Vec::new();
        for piece in input.chunks(step.max(1)) {
            let mut rest = piece;
            loop {
                let (consumed, frame) = framer.next(rest);
                rest = &rest[consumed..];
                match frame {
                    Frame::More => break,
                    Frame::Append(_) | Frame::AppendNext(_) => {
                        // Stand in for the session: take the literal's octets.
                        let octets = match &frame {
                            Frame::Append(start) => start.message.literal.octets,
                            Frame::AppendNext(header) => header.literal.octets,
                            _ => 0,
                        } as usize;
                        assert!(rest.len() >= octets, "test keeps literals in one piece");
                        rest = &rest[octets..];
                        framer.literal_streamed();
                        found.push(frame);
                    }
                    frame => found.push(frame),
                }
            }
        }
        found
    }

    fn command(frame: &Frame) -> &[u8] {
        match frame {
            Frame::Command(bytes) => bytes,
            other => panic!("expected a command, got {other:?}"),
        }
    }

    #[test]
    fn commands_split_at_crlf_whatever_the_pieces() {
        let input = b"a1 NOOP\r\nb2 LOGIN \"x\" \"y\"\r\n";
        for step in 1..=input.len() {
            let mut framer = Framer::new();
            let found = frames(&mut framer, input, step);
            assert_eq!(found.len(), 2, "step {step}");
            assert_eq!(command(&found[0]), b"a1 NOOP\r\n");
            assert_eq!(command(&found[1]), b"b2 LOGIN \"x\" \"y\"\r\n");
            assert!(framer.is_idle());
        }
    }

    #[test]
    fn rfc9051_4_3_synchronising_literal_gets_a_continuation() {
        let mut framer = Framer::new();
        let found = frames(&mut framer, b"a LOGIN {5}\r\nalice {3}\r\npwd\r\n", 64);
        assert!(matches!(found[0], Frame::Continue));
        assert!(matches!(found[1], Frame::Continue));
        assert_eq!(command(&found[2]), b"a LOGIN {5}\r\nalice {3}\r\npwd\r\n");
    }

    #[test]
    fn rfc7888_non_synchronising_literal_needs_no_continuation() {
        let mut framer = Framer::new();
        let found = frames(&mut framer, b"a LOGIN {5+}\r\nalice pwd\r\n", 3);
        assert_eq!(found.len(), 1);
        assert_eq!(command(&found[0]), b"a LOGIN {5+}\r\nalice pwd\r\n");
    }

    #[test]
    fn oversized_synchronising_literal_is_refused_at_once() {
        let mut framer = Framer::new();
        let found = frames(&mut framer, b"a LOGIN {4294967296}\r\nb NOOP\r\n", 64);
        match &found[0] {
            Frame::Refuse { tag, reason } => {
                assert_eq!(tag.as_ref().map(Tag::as_str), Some("a"));
                assert_eq!(reason, "Literal too large");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(command(&found[1]), b"b NOOP\r\n");
    }

    #[test]
    fn refused_non_synchronising_literal_is_drained_not_run() {
        let literal = b"c LOGOUT\r\n".repeat(40_000);
        let mut input = format!("a LOGIN {{{}+}}\r\n", literal.len()).into_bytes();
        input.extend_from_slice(&literal);
        input.extend_from_slice(b" x\r\nb NOOP\r\n");
        let mut framer = Framer::new();
        let found = frames(&mut framer, &input, 4096);
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(matches!(&found[0], Frame::Refuse { reason, .. } if reason == "Literal too large"));
        assert_eq!(command(&found[1]), b"b NOOP\r\n");
    }

    #[test]
    fn bad_literal_counts_are_refused_with_the_tag() {
        for line in [
            &b"t {-1}\r\n"[..],
            b"t {18446744073709551616}\r\n",
            b"t {5++}\r\n",
        ] {
            let mut framer = Framer::new();
            let found = frames(&mut framer, line, 64);
            assert!(
                matches!(&found[0], Frame::Refuse { tag: Some(tag), .. } if tag.as_str() == "t"),
                "{line:?}: {found:?}"
            );
        }
    }

    #[test]
    fn over_long_lines_are_refused_and_the_stream_goes_on() {
        let mut input = b"a SEARCH ".to_vec();
        input.extend(std::iter::repeat_n(b'x', LINE_OCTETS_MAX * 2));
        input.extend_from_slice(b"\r\nb NOOP\r\n");
        let mut framer = Framer::new();
        let found = frames(&mut framer, &input, 1000);
        assert!(matches!(&found[0], Frame::Refuse { reason, .. } if reason == "Line too long"));
        assert_eq!(command(&found[1]), b"b NOOP\r\n");
    }

    #[test]
    fn append_messages_are_handed_out_not_buffered() {
        let mut framer = Framer::new();
        let input = b"a APPEND INBOX (\\Seen) {5+}\r\nhello {3+}\r\nbye\r\nb NOOP\r\n";
        let found = frames(&mut framer, input, 64);
        assert!(matches!(&found[0], Frame::Append(start) if start.message.literal.octets == 5));
        assert!(matches!(&found[1], Frame::AppendNext(next) if next.literal.octets == 3));
        assert!(matches!(&found[2], Frame::AppendEnd));
        assert_eq!(command(&found[3]), b"b NOOP\r\n");
    }

    #[test]
    fn append_mailbox_literal_is_an_argument() {
        let mut framer = Framer::new();
        let input = b"a APPEND {5}\r\nINBOX {2}\r\nhi\r\n";
        let found = frames(&mut framer, input, 64);
        assert!(matches!(found[0], Frame::Continue));
        assert!(matches!(&found[1], Frame::Append(start) if start.message.literal.octets == 2));
        assert!(matches!(&found[2], Frame::AppendEnd));
    }

    #[test]
    fn refused_append_literal_drains_silently() {
        let mut framer = Framer::new();
        let (consumed, frame) = framer.next(b"a APPEND Nowhere {4+}\r\nabcd\r\nb NOOP\r\n");
        let Frame::Append(start) = frame else {
            panic!("{frame:?}");
        };
        framer.refuse_literal(&start.message.literal);
        let rest = &b"a APPEND Nowhere {4+}\r\nabcd\r\nb NOOP\r\n"[consumed..];
        let found = frames(&mut framer, rest, 64);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(command(&found[0]), b"b NOOP\r\n");
    }

    #[test]
    fn a_literal_ending_in_cr_is_not_the_line_end() {
        let mut framer = Framer::new();
        let found = frames(&mut framer, b"a LOGIN {2+}\r\nx\r\n", 64);
        assert_eq!(command(&found[0]), b"a LOGIN {2+}\r\nx\r\n");
    }

    /// Random bytes built from IMAP-ish pieces, fed in random splits with APPEND literals
    /// streamed or refused: the framer never panics and never takes more than it is given.
    #[test]
    fn random_streams_never_panic() {
        let pieces: [&[u8]; 14] = [
            b"a1 ",
            b"APPEND ",
            b"INBOX ",
            b"{5}\r\n",
            b"{3+}\r\n",
            b"~{2}\r\n",
            b"hello",
            b"\r\n",
            b"\n",
            b"(\\Seen) ",
            b"\"quoted {9}\" ",
            b"{99999999999}\r\n",
            b"LOGIN x y",
            b"\x00\xff",
        ];
        let mut random = crate::testing::Random(0x1a2b_3c4d);
        for _ in 0..2_000 {
            let mut input = Vec::new();
            for _ in 0..random.below(24) {
                input.extend_from_slice(pieces[random.below(pieces.len())]);
            }
            let mut framer = Framer::new();
            let mut streaming = 0u64;
            let mut at = 0;
            while at < input.len() {
                let end = (at + 1 + random.below(16)).min(input.len());
                let mut rest = &input[at..end];
                at = end;
                loop {
                    if streaming > 0 {
                        let take =
                            usize::try_from(streaming).map_or(rest.len(), |s| s.min(rest.len()));
                        rest = &rest[take..];
                        streaming -= take as u64;
                        if streaming > 0 {
                            break;
                        }
                        framer.literal_streamed();
                    }
                    let (consumed, frame) = framer.next(rest);
                    assert!(consumed <= rest.len());
                    rest = &rest[consumed..];
                    match frame {
                        Frame::More => break,
                        Frame::Command(bytes) => {
                            let _ = super::super::command::parse_command(&bytes);
                        }
                        Frame::Append(start) if start.message.literal.octets % 2 == 0 => {
                            framer.refuse_literal(&start.message.literal)
                        }
                        Frame::Append(start) => streaming = start.message.literal.octets,
                        Frame::AppendNext(next) if next.literal.octets == 0 => {
                            framer.literal_streamed()
                        }
                        Frame::AppendNext(next) => streaming = next.literal.octets,
                        _ => {}
                    }
                }
            }
        }
    }
}
