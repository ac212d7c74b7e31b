//! The stored form of an analysis.
//!
//! ```text
//! blob      = version:u8 (1) limit:u8 (0 or a Limit code) total:varint count:varint part*
//! part      = kind:u8 (0 leaf, 1 multipart, 2 message) [children:varint if multipart]
//!             header-start header-length body-start body-length lines (varints)
//!             decoded:opt-varint media params id description encoding md5 location
//!             disposition language [envelope if a message root]
//! media     = 0 type:bytes subtype:bytes / 1 (text/plain default) / 2 (message/rfc822
//!             default) / 3 (application/octet-stream)
//! params    = count:varint (name:bytes value:bytes)*
//! disposition = 0 / 1 type:bytes params
//! language  = count:varint bytes*
//! envelope  = 11 opt-bytes (date subject from sender reply-to to cc bcc in-reply-to
//!             message-id references) sent-date:opt-varint (zigzag)
//! bytes     = length:varint octets;  opt-bytes = 0 / (length + 1):varint octets
//! opt-varint = 0 / (value + 1):varint;  varint = LEB128, at most 10 octets
//! ```
//!
//! Parts are in pre-order. Decoding checks everything rendering relies on, so a damaged or
//! hostile blob yields an error, never a panic or a malformed response.

use super::error::MimeError;
use super::limits::{
    ENCODED_OCTETS_MAX, HEADER_BLOCK_OCTETS_CEILING, Limit, PARAMETERS_CEILING, PARTS_CEILING,
};
use super::model::{Analysis, Content, Disposition, Envelope, Kind, Media, Param, Part, link};
use super::section::MessageHead;

pub(crate) const VERSION: u8 = 1;

/// The blob's own fields: version, limit, total, part count.
pub(crate) const BLOB_FIXED_OCTETS: usize = 32;
/// A part's fields other than strings, at their largest (kind, children, five ranges and
/// counts, decoded size, tags, counts of lists, and the length prefixes of five optional
/// strings).
pub(crate) const PART_FIXED_OCTETS: usize = 128;
/// The length prefix of one string at its largest.
const STRING_PREFIX_OCTETS: usize = 5;

// A message served as a single part keeps only what its own header says, and must always fit.
// Its strings come from distinct fields of one header block, no longer than in the block except
// RFC 2231 sections that percent-encoding joins (at most 3 octets per octet); the strings are
// at most the envelope's 11, 7 more per part, and 2 per parameter or language tag.
const _: () = assert!(
    BLOB_FIXED_OCTETS
        + PART_FIXED_OCTETS
        + 3 * HEADER_BLOCK_OCTETS_CEILING
        + STRING_PREFIX_OCTETS * (11 + 7 + 2 * 3 * PARAMETERS_CEILING)
        + 11 * STRING_PREFIX_OCTETS
        + 10
        <= ENCODED_OCTETS_MAX
);

/// An upper bound of the octets `encode` writes for `part`.
pub(crate) fn part_octets_max(part: &Part) -> usize {
    let string = |bytes: &[u8]| bytes.len() + STRING_PREFIX_OCTETS;
    let optional = |bytes: &Option<Vec<u8>>| bytes.as_deref().map_or(0, string);
    let params = |params: &[Param]| -> usize {
        params
            .iter()
            .map(|param| string(&param.name) + string(&param.value))
            .sum()
    };
    let content = &part.content;
    let mut octets = PART_FIXED_OCTETS;
    if let Media::Given { kind, subtype } = &content.media {
        octets += string(kind) + string(subtype);
    }
    octets += params(&content.params);
    octets += [
        &content.id,
        &content.description,
        &content.encoding,
        &content.md5,
        &content.location,
    ]
    .into_iter()
    .map(optional)
    .sum::<usize>();
    if let Some(disposition) = &content.disposition {
        octets += STRING_PREFIX_OCTETS + string(&disposition.kind) + params(&disposition.params);
    }
    octets += content
        .language
        .iter()
        .map(|tag| string(tag))
        .sum::<usize>();
    if let Some(envelope) = &part.envelope {
        octets += 11 * STRING_PREFIX_OCTETS + 10;
        octets += envelope.strings().into_iter().map(optional).sum::<usize>();
    }
    octets
}

fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push(value as u8 | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    put_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

fn put_optional_bytes(out: &mut Vec<u8>, bytes: Option<&[u8]>) {
    match bytes {
        None => out.push(0),
        Some(bytes) => {
            put_varint(out, bytes.len() as u64 + 1);
            out.extend_from_slice(bytes);
        }
    }
}

fn put_optional_varint(out: &mut Vec<u8>, value: Option<u64>) {
    put_varint(out, value.map_or(0, |value| value.saturating_add(1)));
}

fn put_params(out: &mut Vec<u8>, params: &[Param]) {
    put_varint(out, params.len() as u64);
    for param in params {
        put_bytes(out, &param.name);
        put_bytes(out, &param.value);
    }
}

impl Analysis {
    /// The stored form: a version octet, then the part tree (see the module documentation).
    /// Never longer than `ENCODED_OCTETS_MAX`.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64 + 64 * self.parts.len());
        out.push(VERSION);
        out.push(self.exceeded.map_or(0, Limit::code));
        put_varint(&mut out, self.total_octets);
        put_varint(&mut out, self.parts.len() as u64);
        for part in &self.parts {
            encode_part(&mut out, part);
        }
        assert!(
            out.len() <= ENCODED_OCTETS_MAX,
            "MIME analysis encoded to {} octets",
            out.len()
        );
        out
    }

    /// Reads a stored analysis. Damaged or hostile input is an error, never a panic.
    pub fn decode(bytes: &[u8]) -> Result<Analysis, MimeError> {
        let (mut reader, exceeded, total_octets, count) = read_prologue(bytes)?;
        let mut parts = Vec::with_capacity(count);
        let mut message_roots = 1usize;
        for _ in 0..count {
            let part = decode_part(&mut reader, &mut message_roots)?;
            parts.push(part);
        }
        if reader.at != bytes.len() {
            return Err(MimeError::Corrupt("trailing octets"));
        }
        link(&mut parts, total_octets).map_err(MimeError::Corrupt)?;
        Ok(Analysis {
            total_octets,
            exceeded,
            parts,
        })
    }
}

impl Analysis {
    /// Reads only the message's own part of a stored analysis: its header span and envelope,
    /// not the part tree after it (a SEARCH on header fields decodes no more than it needs).
    pub fn decode_head(bytes: &[u8]) -> Result<MessageHead, MimeError> {
        let (mut reader, _, _, count) = read_prologue(bytes)?;
        if count == 0 {
            return Err(MimeError::Corrupt("no parts"));
        }
        let root = decode_part(&mut reader, &mut 1)?;
        let envelope = root.envelope.ok_or(MimeError::Corrupt("no envelope"))?;
        Ok(MessageHead {
            header_octets: root.header.end,
            envelope: *envelope,
        })
    }
}

/// A stored analysis's version check, limit code, total size and part count, and a reader
/// at its first part.
fn read_prologue(bytes: &[u8]) -> Result<(Reader<'_>, Option<Limit>, u64, usize), MimeError> {
    if bytes.len() > ENCODED_OCTETS_MAX {
        return Err(MimeError::Corrupt("longer than any analysis"));
    }
    let mut reader = Reader { bytes, at: 0 };
    let version = reader.octet()?;
    if version != VERSION {
        return Err(MimeError::Version(version));
    }
    let exceeded = match reader.octet()? {
        0 => None,
        code => Some(Limit::from_code(code).ok_or(MimeError::Corrupt("unknown limit"))?),
    };
    let total_octets = reader.varint()?;
    let count = reader.count(PARTS_CEILING)?;
    Ok((reader, exceeded, total_octets, count))
}

fn encode_part(out: &mut Vec<u8>, part: &Part) {
    match part.kind {
        Kind::Leaf => out.push(0),
        Kind::Multipart { children } => {
            out.push(1);
            put_varint(out, u64::from(children));
        }
        Kind::Message => out.push(2),
    }
    put_varint(out, part.header.start);
    put_varint(out, part.header.end - part.header.start);
    put_varint(out, part.body.start);
    put_varint(out, part.body.end - part.body.start);
    put_varint(out, part.lines);
    put_optional_varint(out, part.decoded_octets);
    let content = &part.content;
    match &content.media {
        Media::Given { kind, subtype } => {
            out.push(0);
            put_bytes(out, kind);
            put_bytes(out, subtype);
        }
        Media::DefaultText => out.push(1),
        Media::DefaultMessage => out.push(2),
        Media::OctetStream => out.push(3),
    }
    put_params(out, &content.params);
    for field in [
        &content.id,
        &content.description,
        &content.encoding,
        &content.md5,
        &content.location,
    ] {
        put_optional_bytes(out, field.as_deref());
    }
    match &content.disposition {
        None => out.push(0),
        Some(disposition) => {
            out.push(1);
            put_bytes(out, &disposition.kind);
            put_params(out, &disposition.params);
        }
    }
    put_varint(out, content.language.len() as u64);
    for tag in &content.language {
        put_bytes(out, tag);
    }
    if let Some(envelope) = &part.envelope {
        for field in envelope.strings() {
            put_optional_bytes(out, field.as_deref());
        }
        let zigzag = envelope
            .sent_date
            .map(|seconds| ((seconds << 1) ^ (seconds >> 63)) as u64);
        put_optional_varint(out, zigzag);
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn octet(&mut self) -> Result<u8, MimeError> {
        let octet = *self
            .bytes
            .get(self.at)
            .ok_or(MimeError::Corrupt("truncated"))?;
        self.at += 1;
        Ok(octet)
    }

    fn varint(&mut self) -> Result<u64, MimeError> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let octet = self.octet()?;
            let bits = u64::from(octet & 0x7f);
            if shift == 63 && bits > 1 {
                return Err(MimeError::Corrupt("varint overflow"));
            }
            value |= bits << shift;
            if octet & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(MimeError::Corrupt("varint too long"))
    }

    fn optional_varint(&mut self) -> Result<Option<u64>, MimeError> {
        Ok(self.varint()?.checked_sub(1))
    }

    /// A count of items that each take at least one octet, at most `ceiling`.
    fn count(&mut self, ceiling: usize) -> Result<usize, MimeError> {
        let count = self.varint()?;
        let remaining = (self.bytes.len() - self.at) as u64;
        if count > ceiling as u64 || count > remaining {
            return Err(MimeError::Corrupt("count beyond the data"));
        }
        Ok(count as usize)
    }

    fn take(&mut self, length: u64) -> Result<&'a [u8], MimeError> {
        let remaining = (self.bytes.len() - self.at) as u64;
        if length > remaining {
            return Err(MimeError::Corrupt("string beyond the data"));
        }
        let start = self.at;
        self.at += length as usize;
        Ok(&self.bytes[start..self.at])
    }

    fn bytes(&mut self) -> Result<Vec<u8>, MimeError> {
        let length = self.varint()?;
        Ok(self.take(length)?.to_vec())
    }

    fn optional_bytes(&mut self) -> Result<Option<Vec<u8>>, MimeError> {
        match self.varint()?.checked_sub(1) {
            None => Ok(None),
            Some(length) => Ok(Some(self.take(length)?.to_vec())),
        }
    }

    fn params(&mut self) -> Result<Vec<Param>, MimeError> {
        let count = self.count(PARAMETERS_CEILING)?;
        (0..count)
            .map(|_| {
                Ok(Param {
                    name: self.bytes()?,
                    value: self.bytes()?,
                })
            })
            .collect()
    }

    fn range(&mut self) -> Result<std::ops::Range<u64>, MimeError> {
        let start = self.varint()?;
        let length = self.varint()?;
        let end = start
            .checked_add(length)
            .ok_or(MimeError::Corrupt("range overflow"))?;
        Ok(start..end)
    }
}

/// `message_roots` counts the parts still expected to carry an envelope: the message, then
/// the child of each message part (which directly follows it in pre-order).
fn decode_part(reader: &mut Reader<'_>, message_roots: &mut usize) -> Result<Part, MimeError> {
    let kind = match reader.octet()? {
        0 => Kind::Leaf,
        1 => {
            let children = reader.varint()?;
            let children = u32::try_from(children).map_err(|_| MimeError::Corrupt("children"))?;
            Kind::Multipart { children }
        }
        2 => Kind::Message,
        _ => return Err(MimeError::Corrupt("unknown part kind")),
    };
    let has_envelope = *message_roots > 0;
    *message_roots = usize::from(kind == Kind::Message);
    let header = reader.range()?;
    let body = reader.range()?;
    let lines = reader.varint()?;
    let decoded_octets = reader.optional_varint()?;
    let media = match reader.octet()? {
        0 => Media::Given {
            kind: reader.bytes()?,
            subtype: reader.bytes()?,
        },
        1 => Media::DefaultText,
        2 => Media::DefaultMessage,
        3 => Media::OctetStream,
        _ => return Err(MimeError::Corrupt("unknown media tag")),
    };
    let params = reader.params()?;
    let id = reader.optional_bytes()?;
    let description = reader.optional_bytes()?;
    let encoding = reader.optional_bytes()?;
    let md5 = reader.optional_bytes()?;
    let location = reader.optional_bytes()?;
    let disposition = match reader.octet()? {
        0 => None,
        1 => Some(Disposition {
            kind: reader.bytes()?,
            params: reader.params()?,
        }),
        _ => return Err(MimeError::Corrupt("unknown disposition tag")),
    };
    let language_count = reader.count(PARAMETERS_CEILING)?;
    let language = (0..language_count)
        .map(|_| reader.bytes())
        .collect::<Result<Vec<_>, _>>()?;
    let envelope = if has_envelope {
        let mut envelope = Envelope::default();
        for field in envelope.strings_mut() {
            *field = reader.optional_bytes()?;
        }
        envelope.sent_date = reader
            .optional_varint()?
            .map(|zigzag| ((zigzag >> 1) as i64) ^ -((zigzag & 1) as i64));
        Some(Box::new(envelope))
    } else {
        None
    };
    Ok(Part {
        kind,
        header,
        body,
        lines,
        decoded_octets,
        content: Content {
            media,
            params,
            id,
            description,
            encoding,
            md5,
            disposition,
            language,
            location,
        },
        envelope,
        subtree_len: 1,
    })
}
