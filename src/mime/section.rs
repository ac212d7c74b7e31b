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
