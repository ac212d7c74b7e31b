//! The streaming pass: lines in, part tree out.
//!
//! Input is split into lines at LF (a CR before it belongs to the line break; RFC 5322 lines
//! end in CRLF, bare LF is tolerated). A line is never kept whole: header lines are appended
//! to the current header block (up to `header_block_octets_max`), body lines are passed on as
//! they come, except that a line starting with `--` while some multipart is open is held (up
//! to `BOUNDARY_LINE_OCTETS_MAX`) until its end shows whether it is a boundary line.
//!
//! Every open part is a frame on a stack (at most `depth_max`): reading its header, in a leaf
//! body, in a multipart body (preamble, between parts, or epilogue), or in a message/rfc822
//! body whose encapsulated message is the frame above. A boundary line of an open multipart
//! (innermost first) closes every frame above that multipart.

use memchr::memchr;

use super::encode::{BLOB_FIXED_OCTETS, PART_FIXED_OCTETS, part_octets_max};
use super::header::parse_header;
use super::lex::is_wsp;
use super::limits::{
    BOUNDARY_LINE_OCTETS_MAX, BOUNDARY_OCTETS_MAX, ENCODED_OCTETS_MAX, Limit, MimeLimits,
};
use super::model::{Analysis, Kind, Media, Part, TransferEncoding, link};
use super::transfer::{Count, Decoder};

/// Analyses one message in a single streaming pass. Memory stays bounded by the limits
/// whatever the input: one header block, one held line prefix, the frame stack, and the
/// analysis itself (bounded by `ENCODED_OCTETS_MAX`).
pub struct Analyzer {
    limits: MimeLimits,
    /// Octets consumed.
    offset: u64,
    /// LFs consumed.
    lf_total: u64,
    last_octet_lf: bool,
    line: Line,
    /// The previous line of the current region (a header or a body since its last boundary).
    previous: Option<Previous>,
    header: HeaderBlock,
    stack: Vec<Frame>,
    parts: Vec<Part>,
    /// Some open multipart has a boundary to look for.
    boundaries_active: bool,
    exceeded: Option<Limit>,
    /// An upper bound of the encoded size of `parts`.
    encoded_octets: usize,
}

struct Line {
    /// Offset of its first octet.
    start: u64,
    content_octets: u64,
    /// Content octets passed on to the header or body (not held).
    passed_octets: u64,
    /// The last piece ended in CR: a line break if LF comes next, else text.
    held_cr: bool,
    /// The line may be a boundary line: its content so far is in `held`.
    holding: bool,
    held: Vec<u8>,
}

#[derive(Clone, Copy)]
struct Previous {
    terminator_start: u64,
    nonempty: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Terminator {
    None,
    Lf,
    CrLf,
}

impl Terminator {
    fn octets(self) -> &'static [u8] {
        match self {
            Terminator::None => b"",
            Terminator::Lf => b"\n",
            Terminator::CrLf => b"\r\n",
        }
    }
}

#[derive(Default)]
struct HeaderBlock {
    octets: Vec<u8>,
    fields: usize,
    /// Where the field being read starts in `octets`.
    field_start: usize,
    /// Over a limit: nothing more is kept, and the field cut short was dropped.
    overflow: bool,
}

impl HeaderBlock {
    fn reset(&mut self) {
        self.octets.clear();
        self.fields = 0;
        self.field_start = 0;
        self.overflow = false;
    }
}

struct Frame {
    part: usize,
    state: State,
    /// LFs before the body.
    body_lf_start: u64,
    /// The message itself or an encapsulated message: its header has an envelope.
    message_root: bool,
}

enum State {
    Header,
    Leaf {
        decoder: Option<Decoder>,
        decoded: Count,
        /// The last line break, passed to the decoder only once the next line is known not to
        /// be a boundary line (RFC 2046 §5.1.1: that CRLF belongs to the boundary).
        pending: Terminator,
    },
    Multipart {
        /// `None`: no usable boundary parameter, so no parts will be found.
        boundary: Option<Vec<u8>>,
        digest: bool,
        /// The close delimiter was seen: the rest is epilogue.
        closed: bool,
    },
    Message,
}

/// Where the parts being closed end.
#[derive(Clone, Copy)]
struct End {
    offset: u64,
    /// LFs before `offset`.
    lf: u64,
    /// The octet before `offset` is not LF.
    ends_without_lf: bool,
    /// The end of the message: a pending line break belongs to the body.
    eof: bool,
}

impl Default for Analyzer {
    fn default() -> Self {
        Self::new()
    }
}

impl Analyzer {
    pub fn new() -> Self {
        Self::with_limits(MimeLimits::default())
    }

    /// # Panics
    /// When `limits` is not within the ceilings (`MimeLimits::is_valid`): a configuration bug.
    pub fn with_limits(limits: MimeLimits) -> Self {
        assert!(
            limits.is_valid(),
            "MIME limits beyond their ceilings: {limits:?}"
        );
        let mut root = Part::new(0, Media::DefaultText);
        root.envelope = Some(Box::default());
        Analyzer {
            limits,
            offset: 0,
            lf_total: 0,
            last_octet_lf: false,
            line: Line {
                start: 0,
                content_octets: 0,
                passed_octets: 0,
                held_cr: false,
                holding: false,
                held: Vec::new(),
            },
            previous: None,
            header: HeaderBlock::default(),
            stack: vec![Frame {
                part: 0,
                state: State::Header,
                body_lf_start: 0,
                message_root: true,
            }],
            parts: vec![root],
            boundaries_active: false,
            exceeded: None,
            encoded_octets: BLOB_FIXED_OCTETS,
        }
    }

    /// Takes the next octets of the message; chunks may be split anywhere.
    pub fn feed(&mut self, mut chunk: &[u8]) {
        if let Some(&last) = chunk.last() {
            self.last_octet_lf = last == b'\n';
        }
        while !chunk.is_empty() {
            let Some(at) = memchr(b'\n', chunk) else {
                if std::mem::take(&mut self.line.held_cr) {
                    self.content(b"\r");
                }
                match chunk.strip_suffix(b"\r") {
                    Some(content) => {
                        self.content(content);
                        self.line.held_cr = true;
                    }
                    None => self.content(chunk),
                }
                return;
            };
            let piece = &chunk[..at];
            let held_cr = std::mem::take(&mut self.line.held_cr);
            let terminator = if piece.is_empty() && held_cr {
                Terminator::CrLf
            } else {
                if held_cr {
                    self.content(b"\r");
                }
                match piece.strip_suffix(b"\r") {
                    Some(content) => {
                        self.content(content);
                        Terminator::CrLf
                    }
                    None => {
                        self.content(piece);
                        Terminator::Lf
                    }
                }
            };
            self.line_end(terminator);
            chunk = &chunk[at + 1..];
        }
    }

    /// The end of the message.
    pub fn finish(mut self) -> Analysis {
        if std::mem::take(&mut self.line.held_cr) {
            self.content(b"\r");
        }
        if self.line.content_octets > 0 {
            self.line_end(Terminator::None);
        }
        let end = End {
            offset: self.offset,
            lf: self.lf_total,
            ends_without_lf: self.offset > 0 && !self.last_octet_lf,
            eof: true,
        };
        while let Some(frame) = self.stack.pop() {
            self.close_frame(frame, end);
        }
        if self.exceeded.is_some() {
            serve_as_single_part(&mut self.parts[0]);
        }
        if let Err(reason) = link(&mut self.parts, self.offset) {
            panic!("MIME analysis built a malformed part tree: {reason}");
        }
        Analysis {
            total_octets: self.offset,
            exceeded: self.exceeded,
            parts: self.parts,
        }
    }

    /// Octets held in buffers (the header block and the held line), for tests of the memory
    /// bound.
    #[cfg(test)]
    pub(crate) fn buffered_octets(&self) -> usize {
        self.header.octets.capacity() + self.line.held.capacity()
    }

    fn top(&self) -> &Frame {
        let Some(frame) = self.stack.last() else {
            unreachable!("the message frame stays until finish");
        };
        frame
    }

    fn top_mut(&mut self) -> &mut Frame {
        let Some(frame) = self.stack.last_mut() else {
            unreachable!("the message frame stays until finish");
        };
        frame
    }

    /// Content octets of the current line (never a line break).
    fn content(&mut self, octets: &[u8]) {
        if octets.is_empty() {
            return;
        }
        self.line.content_octets += octets.len() as u64;
        self.offset += octets.len() as u64;
        if !self.line.holding {
            self.pass_on(octets);
            return;
        }
        if self.line.held.len() + octets.len() > BOUNDARY_LINE_OCTETS_MAX {
            self.release_held_line();
            self.pass_on(octets);
            return;
        }
        self.line.held.extend_from_slice(octets);
        if self.line.held.len() >= 2 && !self.line.held.starts_with(b"--") {
            self.release_held_line();
        }
    }

    /// The held line is not a boundary line: it is content after all.
    fn release_held_line(&mut self) {
        self.line.holding = false;
        let held = std::mem::take(&mut self.line.held);
        self.pass_on(&held);
        self.line.held = held;
        self.line.held.clear();
    }

    /// Content known not to be part of a boundary line goes to the header or the body.
    fn pass_on(&mut self, octets: &[u8]) {
        if octets.is_empty() {
            return;
        }
        let first = self.line.passed_octets == 0;
        self.line.passed_octets += octets.len() as u64;
        if matches!(self.top().state, State::Header) {
            self.header_content(octets, first);
        } else {
            self.body_content(octets);
        }
    }

    fn header_content(&mut self, octets: &[u8], first_of_line: bool) {
        let header = &mut self.header;
        if first_of_line && octets.first().is_some_and(|&octet| !is_wsp(octet)) {
            header.fields += 1;
            header.field_start = header.octets.len();
            if header.fields > self.limits.header_fields_max {
                self.header_overflow(Limit::HeaderFields);
                return;
            }
        }
        self.header_append(octets);
    }

    fn header_append(&mut self, octets: &[u8]) {
        if self.header.overflow {
            return;
        }
        if self.header.octets.len() + octets.len() > self.limits.header_block_octets_max {
            self.header_overflow(Limit::HeaderBlockOctets);
        } else {
            self.header.octets.extend_from_slice(octets);
        }
    }

    fn header_overflow(&mut self, limit: Limit) {
        let header = &mut self.header;
        if !header.overflow {
            header.octets.truncate(header.field_start);
            header.overflow = true;
        }
        self.exceed(limit);
    }

    fn body_content(&mut self, octets: &[u8]) {
        if let State::Leaf {
            decoder: Some(decoder),
            decoded,
            pending,
        } = &mut self.top_mut().state
        {
            decoder.feed(
                std::mem::replace(pending, Terminator::None).octets(),
                decoded,
            );
            decoder.feed(octets, decoded);
        }
    }

    fn line_end(&mut self, terminator: Terminator) {
        let line_start = self.line.start;
        let terminator_start = self.offset;
        let lf_before = self.lf_total;
        self.offset += terminator.octets().len() as u64;
        if terminator != Terminator::None {
            self.lf_total += 1;
        }
        let empty = self.line.content_octets == 0;
        let boundary = if self.line.holding && self.boundaries_active {
            self.match_boundary()
        } else {
            None
        };
        if let Some((frame, close)) = boundary {
            self.boundary(frame, close, line_start, lf_before, terminator_start);
        } else {
            if self.line.holding {
                self.release_held_line();
            }
            self.region_line_end(terminator, terminator_start, empty);
        }
        let line = &mut self.line;
        line.start = self.offset;
        line.content_octets = 0;
        line.passed_octets = 0;
        line.held.clear();
        line.holding = self.boundaries_active;
    }

    /// A line that is not a boundary line ended.
    fn region_line_end(&mut self, terminator: Terminator, terminator_start: u64, empty: bool) {
        if empty && matches!(self.top().state, State::Header) {
            self.header_complete();
            return;
        }
        match &mut self.top_mut().state {
            State::Header => self.header_append(terminator.octets()),
            State::Leaf {
                decoder: Some(decoder),
                decoded,
                pending,
            } => {
                decoder.feed(std::mem::replace(pending, terminator).octets(), decoded);
            }
            State::Leaf { .. } | State::Multipart { .. } | State::Message => {}
        }
        self.previous = Some(Previous {
            terminator_start,
            nonempty: !empty,
        });
    }

    /// RFC 2046 §5.1.1: `--` boundary, then `--` for the close delimiter, then only linear
    /// white space (transport padding). The innermost open multipart is tried first.
    fn match_boundary(&self) -> Option<(usize, bool)> {
        let rest = self.line.held.strip_prefix(b"--")?;
        self.stack
            .iter()
            .enumerate()
            .rev()
            .find_map(|(index, frame)| match &frame.state {
                State::Multipart {
                    boundary: Some(boundary),
                    closed: false,
                    ..
                } => {
                    let after = rest.strip_prefix(boundary.as_slice())?;
                    let (close, padding) = match after.strip_prefix(b"--") {
                        Some(padding) => (true, padding),
                        None => (false, after),
                    };
                    padding
                        .iter()
                        .all(|&octet| is_wsp(octet))
                        .then_some((index, close))
                }
                _ => None,
            })
    }

    fn boundary(
        &mut self,
        frame_index: usize,
        close: bool,
        line_start: u64,
        lf_before: u64,
        terminator_start: u64,
    ) {
        let end = match self.previous {
            Some(previous) => End {
                offset: previous.terminator_start,
                lf: lf_before.saturating_sub(1),
                ends_without_lf: previous.nonempty,
                eof: false,
            },
            None => End {
                offset: line_start,
                lf: lf_before,
                ends_without_lf: false,
                eof: false,
            },
        };
        self.previous = None;
        while self.stack.len() > frame_index + 1 {
            let Some(frame) = self.stack.pop() else {
                break;
            };
            self.close_frame(frame, end);
            if self.exceeded.is_some() {
                return;
            }
        }
        if close {
            if let State::Multipart { closed, .. } = &mut self.top_mut().state {
                *closed = true;
            }
            // RFC 2046 §5.1.1: the CRLF after a close delimiter belongs to whatever boundary
            // comes next (an enclosing multipart's), not to this multipart's body.
            self.previous = Some(Previous {
                terminator_start,
                nonempty: true,
            });
        } else {
            self.start_child(self.offset);
        }
        self.boundaries_active = self.any_boundary();
    }

    fn any_boundary(&self) -> bool {
        self.stack.iter().any(|frame| {
            matches!(
                frame.state,
                State::Multipart {
                    boundary: Some(_),
                    closed: false,
                    ..
                }
            )
        })
    }

    /// A part of the multipart on top of the stack starts at `header_start`.
    fn start_child(&mut self, header_start: u64) {
        let parent = self.top().part;
        let State::Multipart { digest, .. } = self.top().state else {
            unreachable!("parts start only inside a multipart");
        };
        if !self.room_for_part() {
            return;
        }
        if let Kind::Multipart { children } = &mut self.parts[parent].kind {
            *children += 1;
        } else {
            self.parts[parent].kind = Kind::Multipart { children: 1 };
        }
        // RFC 2046 §5.1.5: in a digest, parts default to message/rfc822.
        let media = if digest {
            Media::DefaultMessage
        } else {
            Media::DefaultText
        };
        self.push_part(header_start, media, false);
    }

    fn room_for_part(&mut self) -> bool {
        if self.parts.len() >= self.limits.parts_max {
            self.exceed(Limit::Parts);
        } else if self.stack.len() >= self.limits.depth_max {
            self.exceed(Limit::Depth);
        }
        self.exceeded.is_none()
    }

    fn push_part(&mut self, header_start: u64, media: Media, message_root: bool) {
        let mut part = Part::new(header_start, media);
        if message_root {
            part.envelope = Some(Box::default());
        }
        self.parts.push(part);
        self.stack.push(Frame {
            part: self.parts.len() - 1,
            state: State::Header,
            body_lf_start: 0,
            message_root,
        });
        self.header.reset();
        self.previous = None;
    }

    /// The blank line after the header of the part on top of the stack.
    fn header_complete(&mut self) {
        let frame = self.top();
        let (index, message_root) = (frame.part, frame.message_root);
        self.parts[index].header.end = self.offset;
        self.parts[index].body.start = self.offset;
        self.read_header(index, message_root);
        if self.exceeded.is_some() && index != 0 {
            return; // The part went with the rest of the tree.
        }
        self.previous = None;
        let lf_total = self.lf_total;
        self.top_mut().body_lf_start = lf_total;
        let content = &self.parts[index].content;
        let encoding = content.transfer_encoding();
        if self.exceeded.is_some() {
            let state = if is_declared_leaf(&content.media) {
                leaf_state(encoding)
            } else {
                leaf_state(TransferEncoding::Binary)
            };
            self.top_mut().state = state;
        } else if content.media.is_multipart() {
            let boundary = content
                .param(b"boundary")
                .filter(|boundary| (1..=BOUNDARY_OCTETS_MAX).contains(&boundary.len()))
                .map(<[u8]>::to_vec);
            let digest = content.media.names().1.eq_ignore_ascii_case(b"digest");
            // Room for the empty part a multipart without parts gets when it closes.
            self.encoded_octets += PART_FIXED_OCTETS;
            self.top_mut().state = State::Multipart {
                boundary,
                digest,
                closed: false,
            };
            self.boundaries_active = self.any_boundary();
        } else if content.media.is_message() && encoding.is_identity() {
            self.parts[index].kind = Kind::Message;
            self.top_mut().state = State::Message;
            if self.room_for_part() {
                self.push_part(self.offset, Media::DefaultText, true);
            }
        } else {
            if content.media.is_message() {
                // RFC 2046 §5.2.1 allows only 7bit, 8bit and binary: an encoded message cannot
                // be parsed, and IMAP has no basic form for message/rfc822 (RFC 3501
                // `body-type-basic`).
                self.parts[index].content.media = Media::OctetStream;
            }
            self.top_mut().state = leaf_state(encoding);
        }
    }

    /// Reads the header block into part `index`.
    fn read_header(&mut self, index: usize, message_root: bool) {
        let part = &mut self.parts[index];
        let default_media = std::mem::take(&mut part.content.media);
        let (data, limit) = parse_header(
            &self.header.octets,
            default_media,
            message_root,
            self.limits.parameters_max,
        );
        part.content = data.content;
        if message_root {
            part.envelope = Some(Box::new(data.envelope));
        }
        self.encoded_octets += part_octets_max(part);
        self.header.reset();
        if let Some(limit) = limit {
            self.exceed(limit);
        } else if self.encoded_octets > ENCODED_OCTETS_MAX {
            self.exceed(Limit::EncodedOctets);
        }
    }

    fn close_frame(&mut self, frame: Frame, end: End) {
        let index = frame.part;
        if let State::Header = frame.state {
            // The header ran into a boundary line or the end of the message: no body.
            self.parts[index].header.end = end.offset;
            self.parts[index].body = end.offset..end.offset;
            self.parts[index].decoded_octets = Some(0);
            self.read_header(index, frame.message_root);
            if self.exceeded.is_none() {
                let media = &mut self.parts[index].content.media;
                if media.is_multipart() {
                    self.add_empty_part(index, end.offset);
                } else if media.is_message() {
                    *media = Media::OctetStream;
                }
            }
            return;
        }
        let part = &mut self.parts[index];
        part.body.end = end.offset.max(part.body.start);
        let body_octets = part.body.end - part.body.start;
        part.lines = end.lf.saturating_sub(frame.body_lf_start)
            + u64::from(end.ends_without_lf && body_octets > 0);
        match frame.state {
            State::Header => {}
            State::Leaf {
                decoder,
                mut decoded,
                pending,
            } => {
                part.decoded_octets = match decoder {
                    Some(mut decoder) => {
                        if end.eof {
                            decoder.feed(pending.octets(), &mut decoded);
                        }
                        decoder.finish(&mut decoded);
                        Some(decoded.0)
                    }
                    None if part.content.transfer_encoding().is_identity() => Some(body_octets),
                    None => None,
                };
            }
            State::Message => part.decoded_octets = Some(body_octets),
            State::Multipart { .. } => {
                part.decoded_octets = Some(body_octets);
                if part.kind == Kind::Leaf && self.exceeded.is_none() {
                    self.add_empty_part(index, end.offset);
                }
            }
        }
    }

    /// RFC 3501 `body-type-mpart` needs at least one part: a multipart where none was found
    /// gets one empty text/plain part at its end. Nothing follows the childless multipart in
    /// `parts` yet, so pre-order holds.
    fn add_empty_part(&mut self, index: usize, at: u64) {
        debug_assert_eq!(index + 1, self.parts.len());
        self.parts[index].kind = Kind::Multipart { children: 1 };
        let mut empty = Part::new(at, Media::DefaultText);
        empty.decoded_octets = Some(0);
        self.parts.push(empty);
    }

    /// A limit was exceeded: the message will be served as a single part. Everything below
    /// the message frame goes; the message's own header, if still being read, is read on.
    fn exceed(&mut self, limit: Limit) {
        if self.exceeded.is_some() {
            return;
        }
        self.exceeded = Some(limit);
        self.parts.truncate(1);
        self.parts[0].kind = Kind::Leaf;
        self.stack.truncate(1);
        if let Some(root) = self.stack.first_mut() {
            if !matches!(root.state, State::Header) {
                root.state = State::Leaf {
                    decoder: None,
                    decoded: Count::default(),
                    pending: Terminator::None,
                };
                self.header.reset();
            }
        }
        self.boundaries_active = false;
        self.line.holding = false;
        self.line.held.clear();
    }
}

fn is_declared_leaf(media: &Media) -> bool {
    matches!(media, Media::Given { .. }) && !media.is_multipart() && !media.is_message()
}

fn leaf_state(encoding: TransferEncoding) -> State {
    State::Leaf {
        decoder: Decoder::new(encoding).filter(|_| !encoding.is_identity()),
        decoded: Count::default(),
        pending: Terminator::None,
    }
}

/// RFC 3501 gives no way to describe part of a tree, so a message over a limit is one leaf:
/// its declared type when its header was read and declared a non-composite type, otherwise
/// application/octet-stream (a multipart or message body shown as text would be noise, and a
/// header cut short may have hidden the Content-Type).
fn serve_as_single_part(root: &mut Part) {
    root.kind = Kind::Leaf;
    if !is_declared_leaf(&root.content.media) {
        root.content.media = Media::OctetStream;
    }
}
