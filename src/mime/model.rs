//! What an analysis holds: the part tree in pre-order, each part with its byte ranges and the
//! MIME header data IMAP renders.

use std::ops::Range;

use super::limits::{DEPTH_CEILING, Limit};

/// One analysed message. Made by `Analyzer::finish` or `Analysis::decode`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Analysis {
    pub(crate) total_octets: u64,
    pub(crate) exceeded: Option<Limit>,
    /// Pre-order; `parts[0]` is the message itself. Never empty.
    pub(crate) parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Kind {
    Leaf,
    /// A multipart with at least one child.
    Multipart {
        children: u32,
    },
    /// message/rfc822 or message/global: exactly one child, the encapsulated message.
    Message,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Part {
    pub kind: Kind,
    /// The part's MIME header (for the message and encapsulated messages, their RFC 5322
    /// header), blank line included.
    pub header: Range<u64>,
    pub body: Range<u64>,
    /// Text lines of the body: its LFs, plus one for a last line without one.
    pub lines: u64,
    /// Octets after removing the transfer encoding, when known.
    pub decoded_octets: Option<u64>,
    pub content: Content,
    /// Present exactly on message roots: `parts[0]` and the child of every `Kind::Message`.
    pub envelope: Option<Box<Envelope>>,
    /// Parts in this part's subtree, itself included. Derived, not encoded.
    pub subtree_len: u32,
}

/// The MIME header fields of one part, as IMAP renders them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Content {
    pub media: Media,
    pub params: Vec<Param>,
    pub id: Option<Vec<u8>>,
    pub description: Option<Vec<u8>>,
    /// Content-Transfer-Encoding as given; `None` means the RFC 2045 §6.1 default, 7bit.
    pub encoding: Option<Vec<u8>>,
    pub md5: Option<Vec<u8>>,
    pub disposition: Option<Disposition>,
    pub language: Vec<Vec<u8>>,
    pub location: Option<Vec<u8>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) enum Media {
    Given {
        kind: Vec<u8>,
        subtype: Vec<u8>,
    },
    /// No (valid) Content-Type: RFC 2045 §5.2, text/plain; charset=us-ascii.
    #[default]
    DefaultText,
    /// No (valid) Content-Type inside multipart/digest: RFC 2046 §5.1.5, message/rfc822.
    DefaultMessage,
    /// Served as application/octet-stream: a part that cannot be described as declared
    /// (an encoded message/rfc822, or the message served as a single part).
    OctetStream,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Param {
    pub name: Vec<u8>,
    pub value: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Disposition {
    pub kind: Vec<u8>,
    pub params: Vec<Param>,
}

/// Raw, unfolded values of a message header's fields (RFC 3501 §7.4.2 takes them as they are).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Envelope {
    pub date: Option<Vec<u8>>,
    pub subject: Option<Vec<u8>>,
    pub from: Option<Vec<u8>>,
    pub sender: Option<Vec<u8>>,
    pub reply_to: Option<Vec<u8>>,
    pub to: Option<Vec<u8>>,
    pub cc: Option<Vec<u8>>,
    pub bcc: Option<Vec<u8>>,
    pub in_reply_to: Option<Vec<u8>>,
    pub message_id: Option<Vec<u8>>,
    pub references: Option<Vec<u8>>,
    /// The Date field as Unix seconds, when it parses.
    pub sent_date: Option<i64>,
}

impl Envelope {
    pub fn strings(&self) -> [&Option<Vec<u8>>; 11] {
        [
            &self.date,
            &self.subject,
            &self.from,
            &self.sender,
            &self.reply_to,
            &self.to,
            &self.cc,
            &self.bcc,
            &self.in_reply_to,
            &self.message_id,
            &self.references,
        ]
    }

    pub fn strings_mut(&mut self) -> [&mut Option<Vec<u8>>; 11] {
        [
            &mut self.date,
            &mut self.subject,
            &mut self.from,
            &mut self.sender,
            &mut self.reply_to,
            &mut self.to,
            &mut self.cc,
            &mut self.bcc,
            &mut self.in_reply_to,
            &mut self.message_id,
            &mut self.references,
        ]
    }
}

/// A Content-Transfer-Encoding (RFC 2045 §6.1), case-insensitively recognised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransferEncoding {
    SevenBit,
    EightBit,
    Binary,
    Base64,
    QuotedPrintable,
    /// Anything else: RFC 3516 §4.3 answers BINARY with UNKNOWN-CTE.
    Other,
}

impl TransferEncoding {
    pub fn parse(token: Option<&[u8]>) -> TransferEncoding {
        let Some(token) = token else {
            return TransferEncoding::SevenBit;
        };
        let known: [(&[u8], TransferEncoding); 5] = [
            (b"7bit", TransferEncoding::SevenBit),
            (b"8bit", TransferEncoding::EightBit),
            (b"binary", TransferEncoding::Binary),
            (b"base64", TransferEncoding::Base64),
            (b"quoted-printable", TransferEncoding::QuotedPrintable),
        ];
        known
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(token))
            .map_or(TransferEncoding::Other, |&(_, encoding)| encoding)
    }

    /// 7bit, 8bit and binary leave the octets as they are.
    pub fn is_identity(self) -> bool {
        matches!(
            self,
            TransferEncoding::SevenBit | TransferEncoding::EightBit | TransferEncoding::Binary
        )
    }
}

/// Where a section (RFC 3501 §6.4.5) lies in the stored message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartSpan {
    /// The part's MIME header (`BODY[n.MIME]`); for `[]` the message header.
    pub header: Range<u64>,
    /// The part's body (`BODY[n]`); for `[]` the whole message.
    pub body: Range<u64>,
    /// How `body` is encoded. Multiparts, messages and `[]` are served as stored, and report
    /// their declared identity encoding (`Binary` when they declare another one or for `[]`).
    pub encoding: TransferEncoding,
    /// Octets of `body` after decoding (`BINARY.SIZE`, RFC 3516), when known.
    pub decoded_octets: Option<u64>,
    /// The encapsulated message's header and text when the part is message/rfc822 or
    /// message/global, for `n.HEADER`, `n.TEXT` and `n.HEADER.FIELDS`; for `[]` the
    /// message's own header and text.
    pub message: Option<(Range<u64>, Range<u64>)>,
}

/// A part with content of its own, for SEARCH BODY and TEXT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeafPart<'a> {
    pub body: Range<u64>,
    /// Media type and subtype as given, or the defaults (`TEXT`/`PLAIN`, `MESSAGE`/`RFC822`,
    /// `APPLICATION`/`OCTET-STREAM`).
    pub media_type: &'a [u8],
    pub media_subtype: &'a [u8],
    pub charset: Option<&'a [u8]>,
    pub encoding: TransferEncoding,
}

impl Media {
    pub fn names(&self) -> (&[u8], &[u8]) {
        match self {
            Media::Given { kind, subtype } => (kind, subtype),
            Media::DefaultText => (b"TEXT", b"PLAIN"),
            Media::DefaultMessage => (b"MESSAGE", b"RFC822"),
            Media::OctetStream => (b"APPLICATION", b"OCTET-STREAM"),
        }
    }

    pub fn is_text(&self) -> bool {
        self.names().0.eq_ignore_ascii_case(b"text")
    }

    pub fn is_multipart(&self) -> bool {
        self.names().0.eq_ignore_ascii_case(b"multipart")
    }

    /// message/rfc822, or message/global (RFC 6532 §3.7), which IMAP4rev2 also renders with
    /// an envelope and body structure (RFC 9051 `media-message`).
    pub fn is_message(&self) -> bool {
        let (kind, subtype) = self.names();
        kind.eq_ignore_ascii_case(b"message")
            && (subtype.eq_ignore_ascii_case(b"rfc822") || subtype.eq_ignore_ascii_case(b"global"))
    }
}

impl Content {
    pub fn transfer_encoding(&self) -> TransferEncoding {
        TransferEncoding::parse(self.encoding.as_deref())
    }

    pub fn param(&self, name: &[u8]) -> Option<&[u8]> {
        self.params
            .iter()
            .find(|param| param.name.eq_ignore_ascii_case(name))
            .map(|param| param.value.as_slice())
    }
}

impl Part {
    pub fn new(header_start: u64, media: Media) -> Part {
        Part {
            kind: Kind::Leaf,
            header: header_start..header_start,
            body: header_start..header_start,
            lines: 0,
            decoded_octets: None,
            content: Content {
                media,
                ..Content::default()
            },
            envelope: None,
            subtree_len: 1,
        }
    }
}

/// Why a part tree is not well formed.
pub(crate) type LinkError = &'static str;

/// Checks the shape of a pre-order part tree and fills in `subtree_len`: every multipart has
/// its declared children, every message exactly one child with an envelope, nothing else has
/// an envelope, depth stays within `DEPTH_CEILING`, and all ranges lie within the message.
pub(crate) fn link(parts: &mut [Part], total_octets: u64) -> Result<(), LinkError> {
    if parts.is_empty() {
        return Err("no parts");
    }
    if parts[0].envelope.is_none() {
        return Err("the message has no envelope");
    }
    let end = link_subtree(parts, 0, 1, total_octets)?;
    if end != parts.len() {
        return Err("parts after the message");
    }
    Ok(())
}

fn link_subtree(
    parts: &mut [Part],
    index: usize,
    depth: usize,
    total_octets: u64,
) -> Result<usize, LinkError> {
    if depth > DEPTH_CEILING {
        return Err("parts nested too deep");
    }
    let part = &parts[index];
    if part.header.start > part.header.end
        || part.body.start > part.body.end
        || part.header.end > total_octets
        || part.body.end > total_octets
    {
        return Err("range out of order or beyond the message");
    }
    let mut next = index + 1;
    match part.kind {
        Kind::Leaf => {}
        Kind::Multipart { children } => {
            if children == 0 {
                return Err("multipart without children");
            }
            for _ in 0..children {
                if next >= parts.len() {
                    return Err("missing child part");
                }
                if parts[next].envelope.is_some() {
                    return Err("envelope on a part that is not a message");
                }
                next = link_subtree(parts, next, depth + 1, total_octets)?;
            }
        }
        Kind::Message => {
            if next >= parts.len() || parts[next].envelope.is_none() {
                return Err("message part without its message");
            }
            next = link_subtree(parts, next, depth + 1, total_octets)?;
        }
    }
    parts[index].subtree_len = u32::try_from(next - index).map_err(|_| "too many parts")?;
    Ok(next)
}

impl Analysis {
    pub(crate) fn root(&self) -> &Part {
        &self.parts[0]
    }

    /// The children of part `index` (a multipart's parts, or a message's message).
    pub(crate) fn children(&self, index: usize) -> Children<'_> {
        let remaining = match self.parts[index].kind {
            Kind::Leaf => 0,
            Kind::Multipart { children } => children,
            Kind::Message => 1,
        };
        Children {
            parts: &self.parts,
            next: index + 1,
            remaining,
        }
    }

    /// Which limit the message exceeded, if it was served as a single part.
    pub fn limit_exceeded(&self) -> Option<Limit> {
        self.exceeded
    }

    /// Octets of the analysed message.
    pub fn total_octets(&self) -> u64 {
        self.total_octets
    }
}

pub(crate) struct Children<'a> {
    parts: &'a [Part],
    next: usize,
    remaining: u32,
}

impl Iterator for Children<'_> {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        if self.remaining == 0 {
            return None;
        }
        let index = self.next;
        let part = self.parts.get(index)?;
        self.remaining -= 1;
        self.next = index + part.subtree_len as usize;
        Some(index)
    }
}
