//! Section part numbers (RFC 3501 §6.4.5) to byte ranges, and the header values SEARCH,
//! SORT and THREAD use.

use super::address::{Address, parse_address_list};
use super::model::{Analysis, Envelope, Kind, LeafPart, Media, PartSpan, TransferEncoding};

impl Analysis {
    /// Where section `part` lies; `[]` is the whole message. `None` when there is no such
    /// part. Numbering follows RFC 3501 §6.4.5: a message that is not multipart has only a
    /// part 1, its body; a multipart's parts are numbered from 1; the parts of a
    /// message/rfc822 part are those of the encapsulated message.
    pub fn section(&self, part: &[u32]) -> Option<PartSpan> {
        let Some((&first, rest)) = part.split_first() else {
            let root = self.root();
            return Some(PartSpan {
                header: root.header.clone(),
                body: 0..self.total_octets,
                encoding: TransferEncoding::Binary,
                decoded_octets: Some(self.total_octets),
                message: Some((root.header.clone(), root.body.clone())),
            });
        };
        let mut index = self.message_part(0, first)?;
        for &number in rest {
            index = match self.parts[index].kind {
                Kind::Multipart { .. } => self.nth_child(index, number)?,
                Kind::Message => self.message_part(index + 1, number)?,
                Kind::Leaf => return None,
            };
        }
        Some(self.span(index))
    }

    /// Part `number` of the message whose top part is `root`.
    fn message_part(&self, root: usize, number: u32) -> Option<usize> {
        match self.parts[root].kind {
            Kind::Multipart { .. } => self.nth_child(root, number),
            Kind::Leaf | Kind::Message => (number == 1).then_some(root),
        }
    }

    fn nth_child(&self, index: usize, number: u32) -> Option<usize> {
        let position = usize::try_from(number.checked_sub(1)?).ok()?;
        self.children(index).nth(position)
    }

    fn span(&self, index: usize) -> PartSpan {
        let part = &self.parts[index];
        let declared = part.content.transfer_encoding();
        let body_octets = part.body.end - part.body.start;
        let (encoding, decoded_octets) = match part.kind {
            Kind::Leaf => (declared, part.decoded_octets),
            // Composite parts are served as stored (RFC 2045 §6.4 allows them only identity
            // encodings).
            Kind::Multipart { .. } | Kind::Message if declared.is_identity() => {
                (declared, Some(body_octets))
            }
            Kind::Multipart { .. } | Kind::Message => (TransferEncoding::Binary, Some(body_octets)),
        };
        let message = (part.kind == Kind::Message).then(|| {
            let message = &self.parts[index + 1];
            (message.header.clone(), message.body.clone())
        });
        PartSpan {
            header: part.header.clone(),
            body: part.body.clone(),
            encoding,
            decoded_octets,
            message,
        }
    }

    /// Octets of the message header, blank line included.
    pub fn header_octets(&self) -> u64 {
        self.root().header.end
    }

    /// The parts with content of their own, in order, encapsulated messages included.
    pub fn leaf_parts(&self) -> impl Iterator<Item = LeafPart<'_>> {
        self.parts
            .iter()
            .filter(|part| part.kind == Kind::Leaf)
            .map(|part| {
                let (media_type, media_subtype) = part.content.media.names();
                let charset = match part.content.media {
                    Media::DefaultText => Some(&b"US-ASCII"[..]),
                    _ => part.content.param(b"charset"),
                };
                LeafPart {
                    body: part.body.clone(),
                    media_type,
                    media_subtype,
                    charset,
                    encoding: part.content.transfer_encoding(),
                }
            })
    }

    fn envelope(&self) -> &Envelope {
        match &self.root().envelope {
            Some(envelope) => envelope,
            None => unreachable!("the message part always has an envelope"),
        }
    }

    /// The Date field as Unix seconds, when present and readable (SEARCH SENTBEFORE etc.,
    /// SORT DATE).
    pub fn sent_date(&self) -> Option<i64> {
        self.envelope().sent_date
    }

    /// The Date field's day as written, in its own time zone (RFC 3501 §6.4.4 SENTON and the
    /// like disregard time and zone), as days since 1970-01-01.
    pub fn sent_day_local(&self) -> Option<i64> {
        self.envelope().sent_day_local()
    }

    /// The raw, unfolded value of the first Subject, From, To, Cc or Bcc field (names compared
    /// case-insensitively), as ENVELOPE holds it; None for other names or an absent field.
    pub fn envelope_field(&self, name: &[u8]) -> Option<&[u8]> {
        self.envelope().field(name)
    }

    /// The raw, unfolded Subject (encoded words not decoded).
    pub fn subject(&self) -> Option<&[u8]> {
        self.envelope().subject.as_deref()
    }

    pub fn message_id(&self) -> Option<&[u8]> {
        self.envelope().message_id.as_deref()
    }

    pub fn in_reply_to(&self) -> Option<&[u8]> {
        self.envelope().in_reply_to.as_deref()
    }

    pub fn references(&self) -> Option<&[u8]> {
        self.envelope().references.as_deref()
    }

    /// The From addresses as ENVELOPE shows them.
    pub fn from_addresses(&self) -> Vec<Address> {
        addresses(&self.envelope().from)
    }

    pub fn to_addresses(&self) -> Vec<Address> {
        addresses(&self.envelope().to)
    }

    pub fn cc_addresses(&self) -> Vec<Address> {
        addresses(&self.envelope().cc)
    }

    /// RFC 5256 SORT FROM: the mailbox (local part) of the first From address.
    pub fn from_mailbox(&self) -> Option<Vec<u8>> {
        first_mailbox(self.from_addresses())
    }

    /// RFC 5256 SORT TO.
    pub fn to_mailbox(&self) -> Option<Vec<u8>> {
        first_mailbox(self.to_addresses())
    }

    /// RFC 5256 SORT CC.
    pub fn cc_mailbox(&self) -> Option<Vec<u8>> {
        first_mailbox(self.cc_addresses())
    }
}

fn addresses(value: &Option<Vec<u8>>) -> Vec<Address> {
    value.as_deref().map(parse_address_list).unwrap_or_default()
}

fn first_mailbox(addresses: Vec<Address>) -> Option<Vec<u8>> {
    addresses.into_iter().find_map(|address| match address {
        Address::Mailbox { mailbox, .. } => Some(mailbox),
        Address::GroupStart(_) | Address::GroupEnd => None,
    })
}

/// The offset of a Date field's zone (`+hhmm`/`-hhmm`, RFC 5322 §3.3), in seconds; 0 for
/// obsolete zone names and anything unreadable.
fn zone_offset_secs(raw: &[u8]) -> i64 {
    // The zone is the last token outside comments.
    let mut depth = 0usize;
    let text: Vec<u8> = raw
        .iter()
        .filter(|&&b| {
            match b {
                b'(' => depth += 1,
                b')' => {
                    depth = depth.saturating_sub(1);
                    return false;
                }
                _ => {}
            }
            depth == 0
        })
        .copied()
        .collect();
    let Some(token) = text
        .split(|b| b.is_ascii_whitespace())
        .rfind(|t| !t.is_empty())
    else {
        return 0;
    };
    match token {
        [sign @ (b'+' | b'-'), digits @ ..]
            if digits.len() == 4 && digits.iter().all(u8::is_ascii_digit) =>
        {
            let value = |i: usize| i64::from(digits[i] - b'0');
            let minutes = (value(0) * 10 + value(1)) * 60 + value(2) * 10 + value(3);
            if *sign == b'-' {
                -minutes * 60
            } else {
                minutes * 60
            }
        }
        _ => 0,
    }
}

impl Envelope {
    /// See `Analysis::envelope_field`.
    pub(crate) fn field(&self, name: &[u8]) -> Option<&[u8]> {
        let envelope = self;
        let field = if name.eq_ignore_ascii_case(b"Subject") {
            &envelope.subject
        } else if name.eq_ignore_ascii_case(b"From") {
            &envelope.from
        } else if name.eq_ignore_ascii_case(b"To") {
            &envelope.to
        } else if name.eq_ignore_ascii_case(b"Cc") {
            &envelope.cc
        } else if name.eq_ignore_ascii_case(b"Bcc") {
            &envelope.bcc
        } else {
            return None;
        };
        field.as_deref()
    }

    /// See `Analysis::sent_day_local`.
    pub(crate) fn sent_day_local(&self) -> Option<i64> {
        let utc = self.sent_date?;
        let raw = self.date.as_deref()?;
        Some((utc + zone_offset_secs(raw)).div_euclid(86_400))
    }
}

/// What a stored analysis says of the message itself, read without its part tree
/// (`Analysis::decode_head`): enough for SEARCH on envelope fields, dates and the header.
pub struct MessageHead {
    pub(crate) header_octets: u64,
    pub(crate) envelope: Envelope,
}

impl MessageHead {
    /// As `Analysis::header_octets`.
    pub fn header_octets(&self) -> u64 {
        self.header_octets
    }

    /// As `Analysis::envelope_field`.
    pub fn envelope_field(&self, name: &[u8]) -> Option<&[u8]> {
        self.envelope.field(name)
    }

    /// As `Analysis::sent_day_local`.
    pub fn sent_day_local(&self) -> Option<i64> {
        self.envelope.sent_day_local()
    }
}

#[cfg(test)]
mod zone_tests {
    use super::zone_offset_secs;

    #[test]
    fn rfc5322_zones() {
        assert_eq!(
            zone_offset_secs(b"Tue, 24 Nov 2026 23:30:00 -0500"),
            -5 * 3600
        );
        assert_eq!(
            zone_offset_secs(b"Mon, 7 Feb 1994 21:52:25 -0800 (PST)"),
            -8 * 3600
        );
        assert_eq!(
            zone_offset_secs(b"1 Jan 2026 10:00 +0530"),
            5 * 3600 + 30 * 60
        );
        assert_eq!(zone_offset_secs(b"1 Jan 2026 10:00 GMT"), 0);
    }
}
