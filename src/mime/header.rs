//! Header blocks: splitting into fields (RFC 5322 §2.2), reading the fields IMAP needs, and
//! HEADER.FIELDS subsets (RFC 3501 §6.4.5).

use memchr::memchr;

use super::lex::{skip_cfws, trim_wsp, unfold};
use super::limits::Limit;
use super::model::{Content, Envelope, Media};
use super::params;

/// One field as it lies in the block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Field<'a> {
    /// The whole field: its first line, continuation lines and final line break.
    pub raw: &'a [u8],
    /// `None` for a line that is not `name ":" ...` (kept by HEADER.FIELDS.NOT).
    pub name: Option<&'a [u8]>,
    /// After the colon, folded, without the final line break.
    pub value: &'a [u8],
}

/// The fields of a header block, up to its blank line.
pub(crate) struct Fields<'a> {
    block: &'a [u8],
    at: usize,
}

pub(crate) fn fields(block: &[u8]) -> Fields<'_> {
    Fields { block, at: 0 }
}

/// The end of the line starting at `at`: after its LF, or the end of the block.
fn line_end(block: &[u8], at: usize) -> usize {
    memchr(b'\n', &block[at..]).map_or(block.len(), |offset| at + offset + 1)
}

fn is_blank_line(line: &[u8]) -> bool {
    line == b"\r\n" || line == b"\n"
}

impl<'a> Iterator for Fields<'a> {
    type Item = Field<'a>;

    fn next(&mut self) -> Option<Field<'a>> {
        let block = self.block;
        let start = self.at;
        if start >= block.len() || is_blank_line(&block[start..line_end(block, start)]) {
            return None;
        }
        let mut end = line_end(block, start);
        while end < block.len() && matches!(block[end], b' ' | b'\t') {
            end = line_end(block, end);
        }
        self.at = end;
        let raw = &block[start..end];
        let content = raw
            .strip_suffix(b"\n")
            .map_or(raw, |line| line.strip_suffix(b"\r").unwrap_or(line));
        let first_line = &content[..memchr(b'\n', content).unwrap_or(content.len())];
        let name = memchr(b':', first_line)
            .map(|colon| (trim_wsp(&first_line[..colon]), colon))
            .filter(|(name, _)| {
                !name.is_empty() && !name.iter().any(|&octet| octet <= b' ' || octet == 0x7f)
            });
        Some(match name {
            Some((name, colon)) => Field {
                raw,
                name: Some(name),
                value: &content[colon + 1..],
            },
            None => Field {
                raw,
                name: None,
                value: content,
            },
        })
    }
}

/// Whether the block ends with the blank line that separates header and body.
fn has_blank_line(block: &[u8]) -> bool {
    block == b"\r\n" || block == b"\n" || block.ends_with(b"\n\r\n") || block.ends_with(b"\n\n")
}

/// RFC 3501 §6.4.5 HEADER.FIELDS (`not == false`) and HEADER.FIELDS.NOT: the whole fields
/// whose names match (case-insensitively) or do not, in header order, then the blank line
/// when the header has one (it is absent only for a message without body and blank line).
pub fn filter_header_fields(header: &[u8], names: &[&[u8]], not: bool, out: &mut Vec<u8>) {
    for field in fields(header) {
        let matches = field
            .name
            .is_some_and(|name| names.iter().any(|wanted| wanted.eq_ignore_ascii_case(name)));
        if matches != not {
            out.extend_from_slice(field.raw);
        }
    }
    if has_blank_line(header) {
        out.extend_from_slice(b"\r\n");
    }
}

/// What one header block says.
#[derive(Debug, Default)]
pub(crate) struct HeaderData {
    pub content: Content,
    pub envelope: Envelope,
}

#[derive(Clone, Copy)]
enum Known {
    ContentType,
    TransferEncoding,
    Id,
    Description,
    Disposition,
    Language,
    Location,
    Md5,
    Envelope(usize),
}

fn known(name: &[u8]) -> Option<Known> {
    const NAMES: [(&[u8], Known); 19] = [
        (b"content-type", Known::ContentType),
        (b"content-transfer-encoding", Known::TransferEncoding),
        (b"content-id", Known::Id),
        (b"content-description", Known::Description),
        (b"content-disposition", Known::Disposition),
        (b"content-language", Known::Language),
        (b"content-location", Known::Location),
        (b"content-md5", Known::Md5),
        // In the order of `Envelope::strings`.
        (b"date", Known::Envelope(0)),
        (b"subject", Known::Envelope(1)),
        (b"from", Known::Envelope(2)),
        (b"sender", Known::Envelope(3)),
        (b"reply-to", Known::Envelope(4)),
        (b"to", Known::Envelope(5)),
        (b"cc", Known::Envelope(6)),
        (b"bcc", Known::Envelope(7)),
        (b"in-reply-to", Known::Envelope(8)),
        (b"message-id", Known::Envelope(9)),
        (b"references", Known::Envelope(10)),
    ];
    NAMES
        .iter()
        .find(|(known, _)| known.eq_ignore_ascii_case(name))
        .map(|&(_, field)| field)
}

/// Reads the MIME fields of a header block, and with `envelope` the RFC 5322 fields too.
/// The first occurrence of a field counts. `default_media` is the media type when there is no
/// valid Content-Type (text/plain, or message/rfc822 inside multipart/digest). A field with
/// more than `parameters_max` parameters is left out, and the limit returned.
pub(crate) fn parse_header(
    block: &[u8],
    default_media: Media,
    envelope: bool,
    parameters_max: usize,
) -> (HeaderData, Option<Limit>) {
    let mut data = HeaderData {
        content: Content {
            media: default_media,
            ..Content::default()
        },
        ..HeaderData::default()
    };
    let mut seen = [false; 19];
    let mut exceeded = None;
    for field in fields(block) {
        let Some(known) = field.name.and_then(known) else {
            continue;
        };
        let slot = match known {
            Known::ContentType => 0,
            Known::TransferEncoding => 1,
            Known::Id => 2,
            Known::Description => 3,
            Known::Disposition => 4,
            Known::Language => 5,
            Known::Location => 6,
            Known::Md5 => 7,
            Known::Envelope(index) => 8 + index,
        };
        if seen[slot] || (!envelope && slot >= 8) {
            continue;
        }
        seen[slot] = true;
        if read_field(&mut data, known, &unfold(field.value), parameters_max).is_err() {
            exceeded = Some(Limit::Parameters);
        }
    }
    if let Some(date) = &data.envelope.date {
        data.envelope.sent_date = super::date::parse_date(date);
    }
    (data, exceeded)
}

fn read_field(
    data: &mut HeaderData,
    known: Known,
    value: &[u8],
    parameters_max: usize,
) -> Result<(), params::TooManyParameters> {
    let content = &mut data.content;
    match known {
        Known::ContentType => {
            if let Some(parsed) = params::content_type(value, parameters_max)? {
                content.media = Media::Given {
                    kind: parsed.kind,
                    subtype: parsed.subtype,
                };
                content.params = parsed.params;
            }
        }
        Known::TransferEncoding => {
            let at = skip_cfws(value, 0);
            let end = value[at..]
                .iter()
                .position(|&octet| octet <= b' ' || octet == b'(')
                .map_or(value.len(), |length| at + length);
            if end > at {
                content.encoding = Some(value[at..end].to_vec());
            }
        }
        Known::Id => content.id = Some(value.to_vec()),
        Known::Description => content.description = Some(value.to_vec()),
        Known::Disposition => content.disposition = params::disposition(value, parameters_max)?,
        Known::Language => content.language = params::languages(value, parameters_max)?,
        Known::Location => content.location = Some(value.to_vec()),
        Known::Md5 => content.md5 = Some(value.to_vec()),
        Known::Envelope(index) => {
            if let Some(slot) = data.envelope.strings_mut().into_iter().nth(index) {
                *slot = Some(value.to_vec());
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_with_folding_and_junk_lines() {
        let block =
            b"Subject: a\r\n b\r\nX-Odd :c\r\nno colon here\r\n\tcontinued\r\nTo:\r\n\r\nbody: no";
        let all: Vec<Field<'_>> = fields(block).collect();
        assert_eq!(all.len(), 4);
        assert_eq!(all[0].name, Some(&b"Subject"[..]));
        assert_eq!(all[0].value, b" a\r\n b");
        assert_eq!(all[0].raw, b"Subject: a\r\n b\r\n");
        assert_eq!(all[1].name, Some(&b"X-Odd"[..]));
        assert_eq!(all[1].value, b"c");
        assert_eq!(all[2].name, None);
        assert_eq!(all[2].raw, b"no colon here\r\n\tcontinued\r\n");
        assert_eq!(all[3].name, Some(&b"To"[..]));
        assert_eq!(all[3].value, b"");
    }

    #[test]
    fn header_fields_subsets_keep_folding_and_the_blank_line() {
        let header = b"From: a@b\r\nSubject: x\r\n y\r\nsubject: second\r\nTo: c@d\r\n\r\n";
        let mut out = Vec::new();
        filter_header_fields(header, &[b"SUBJECT", b"x-absent"], false, &mut out);
        assert_eq!(out, b"Subject: x\r\n y\r\nsubject: second\r\n\r\n");
        out.clear();
        filter_header_fields(header, &[b"subject"], true, &mut out);
        assert_eq!(out, b"From: a@b\r\nTo: c@d\r\n\r\n");
        // RFC 3501 §6.4.5: no blank line when the message has none.
        out.clear();
        filter_header_fields(b"From: a@b\r\nTo: c@d\r\n", &[b"to"], false, &mut out);
        assert_eq!(out, b"To: c@d\r\n");
        out.clear();
        filter_header_fields(b"\r\n", &[b"to"], false, &mut out);
        assert_eq!(out, b"\r\n");
    }

    #[test]
    fn first_occurrence_wins_and_values_are_unfolded() {
        let block = b"Content-Type: text/html;\r\n charset=utf-8\r\nContent-Type: image/gif\r\n\
                      content-transfer-encoding: (c) BASE64 (d)\r\nSubject:  hi\r\n\tthere \r\n\r\n";
        let (data, exceeded) = parse_header(block, Media::DefaultText, true, 64);
        assert_eq!(exceeded, None);
        assert_eq!(
            data.content.media,
            Media::Given {
                kind: b"text".to_vec(),
                subtype: b"html".to_vec()
            }
        );
        assert_eq!(data.content.param(b"CHARSET"), Some(&b"utf-8"[..]));
        assert_eq!(data.content.encoding.as_deref(), Some(&b"BASE64"[..]));
        assert_eq!(data.envelope.subject.as_deref(), Some(&b"hi\tthere"[..]));
        // Envelope fields are read only when asked for.
        let (data, _) = parse_header(block, Media::DefaultText, false, 64);
        assert_eq!(data.envelope.subject, None);
    }

    #[test]
    fn invalid_content_type_keeps_the_default() {
        let block = b"Content-Type: garbage\r\n\r\n";
        let (data, _) = parse_header(block, Media::DefaultMessage, false, 64);
        assert_eq!(data.content.media, Media::DefaultMessage);
    }

    #[test]
    fn too_many_parameters_drop_the_field_only() {
        let block = b"Content-Type: text/plain; a=1; b=2; c=3\r\nSubject: kept\r\n\r\n";
        let (data, exceeded) = parse_header(block, Media::DefaultText, true, 2);
        assert_eq!(exceeded, Some(Limit::Parameters));
        assert_eq!(data.content.media, Media::DefaultText);
        assert_eq!(data.envelope.subject.as_deref(), Some(&b"kept"[..]));
    }
}
