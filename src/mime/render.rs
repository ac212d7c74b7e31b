//! ENVELOPE, BODY and BODYSTRUCTURE in IMAP syntax (RFC 3501 §7.4.2 and §9, RFC 9051 §9).

use std::borrow::Cow;

use super::address::{Address, parse_address_list};
use super::model::{Analysis, Envelope, Kind, Media, Param};

/// An IMAP `string`: quoted when every octet is printable ASCII, otherwise a literal (which
/// carries CR, LF and 8-bit octets unchanged). NUL cannot be sent in either (RFC 3501 §9
/// `CHAR8`), so it is dropped.
pub fn write_string(out: &mut Vec<u8>, value: &[u8]) {
    if value.iter().all(|&octet| (0x20..=0x7e).contains(&octet)) {
        out.reserve(value.len() + 2);
        out.push(b'"');
        let mut rest = value;
        while let Some(at) = memchr::memchr2(b'"', b'\\', rest) {
            out.extend_from_slice(&rest[..at]);
            out.extend_from_slice(&[b'\\', rest[at]]);
            rest = &rest[at + 1..];
        }
        out.extend_from_slice(rest);
        out.push(b'"');
        return;
    }
    let value: Cow<'_, [u8]> = if value.contains(&0) {
        Cow::Owned(value.iter().copied().filter(|&octet| octet != 0).collect())
    } else {
        Cow::Borrowed(value)
    };
    out.push(b'{');
    out.extend_from_slice(value.len().to_string().as_bytes());
    out.extend_from_slice(b"}\r\n");
    out.extend_from_slice(&value);
}

/// An IMAP `nstring`.
pub fn write_nstring(out: &mut Vec<u8>, value: Option<&[u8]>) {
    match value {
        Some(value) => write_string(out, value),
        None => out.extend_from_slice(b"NIL"),
    }
}

fn write_number(out: &mut Vec<u8>, number: u64) {
    out.extend_from_slice(number.to_string().as_bytes());
}

fn write_addresses(out: &mut Vec<u8>, addresses: &[Address]) {
    if addresses.is_empty() {
        out.extend_from_slice(b"NIL");
        return;
    }
    out.push(b'(');
    for address in addresses {
        out.push(b'(');
        match address {
            Address::Mailbox {
                name,
                route,
                mailbox,
                host,
            } => {
                write_nstring(out, name.as_deref());
                out.push(b' ');
                write_nstring(out, route.as_deref());
                out.push(b' ');
                write_string(out, mailbox);
                out.push(b' ');
                write_string(out, host);
            }
            Address::GroupStart(name) => {
                out.extend_from_slice(b"NIL NIL ");
                write_string(out, name);
                out.extend_from_slice(b" NIL");
            }
            Address::GroupEnd => out.extend_from_slice(b"NIL NIL NIL NIL"),
        }
        out.push(b')');
    }
    out.push(b')');
}

fn addresses(value: &Option<Vec<u8>>) -> Vec<Address> {
    value.as_deref().map(parse_address_list).unwrap_or_default()
}

/// RFC 3501 §7.4.2: `(date subject from sender reply-to to cc bcc in-reply-to message-id)`.
/// Sender and Reply-To that are absent or empty take From's value.
pub(crate) fn write_envelope(out: &mut Vec<u8>, envelope: &Envelope) {
    out.push(b'(');
    write_nstring(out, envelope.date.as_deref());
    out.push(b' ');
    write_nstring(out, envelope.subject.as_deref());
    out.push(b' ');
    let from = addresses(&envelope.from);
    write_addresses(out, &from);
    for defaulted in [&envelope.sender, &envelope.reply_to] {
        out.push(b' ');
        let list = addresses(defaulted);
        write_addresses(out, if list.is_empty() { &from } else { &list });
    }
    for list in [&envelope.to, &envelope.cc, &envelope.bcc] {
        out.push(b' ');
        write_addresses(out, &addresses(list));
    }
    out.push(b' ');
    write_nstring(out, envelope.in_reply_to.as_deref());
    out.push(b' ');
    write_nstring(out, envelope.message_id.as_deref());
    out.push(b')');
}

fn write_params(out: &mut Vec<u8>, params: &[Param]) {
    if params.is_empty() {
        out.extend_from_slice(b"NIL");
        return;
    }
    out.push(b'(');
    for (index, param) in params.iter().enumerate() {
        if index > 0 {
            out.push(b' ');
        }
        write_string(out, &param.name);
        out.push(b' ');
        write_string(out, &param.value);
    }
    out.push(b')');
}

impl Analysis {
    /// The message's ENVELOPE (RFC 3501 §7.4.2).
    pub fn write_envelope(&self, out: &mut Vec<u8>) {
        match &self.root().envelope {
            Some(envelope) => write_envelope(out, envelope),
            None => unreachable!("the message part always has an envelope"),
        }
    }

    /// BODY (`extensible == false`) or BODYSTRUCTURE (`true`, with extension data).
    pub fn write_body_structure(&self, out: &mut Vec<u8>, extensible: bool) {
        self.write_part(out, 0, extensible);
    }

    fn write_part(&self, out: &mut Vec<u8>, index: usize, extensible: bool) {
        let part = &self.parts[index];
        let content = &part.content;
        out.push(b'(');
        if let Kind::Multipart { .. } = part.kind {
            for child in self.children(index) {
                self.write_part(out, child, extensible);
            }
            out.push(b' ');
            write_string(out, content.media.names().1);
            if extensible {
                out.push(b' ');
                write_params(out, &content.params);
                self.write_common_extensions(out, index);
            }
            out.push(b')');
            return;
        }
        let (kind, subtype) = content.media.names();
        write_string(out, kind);
        out.push(b' ');
        write_string(out, subtype);
        out.push(b' ');
        if content.media == Media::DefaultText {
            // RFC 2045 §5.2: the default is text/plain; charset=us-ascii.
            out.extend_from_slice(b"(\"CHARSET\" \"US-ASCII\")");
        } else {
            write_params(out, &content.params);
        }
        out.push(b' ');
        write_nstring(out, content.id.as_deref());
        out.push(b' ');
        write_nstring(out, content.description.as_deref());
        out.push(b' ');
        write_string(out, content.encoding.as_deref().unwrap_or(b"7BIT"));
        out.push(b' ');
        write_number(out, part.body.end - part.body.start);
        if part.kind == Kind::Message {
            let message = index + 1;
            out.push(b' ');
            if let Some(envelope) = &self.parts[message].envelope {
                write_envelope(out, envelope);
            }
            out.push(b' ');
            self.write_part(out, message, extensible);
            out.push(b' ');
            write_number(out, part.lines);
        } else if content.media.is_text() {
            out.push(b' ');
            write_number(out, part.lines);
        }
        if extensible {
            out.push(b' ');
            write_nstring(out, content.md5.as_deref());
            self.write_common_extensions(out, index);
        }
        out.push(b')');
    }

    /// Disposition, language and location: the extension data both forms share.
    fn write_common_extensions(&self, out: &mut Vec<u8>, index: usize) {
        let content = &self.parts[index].content;
        out.push(b' ');
        match &content.disposition {
            None => out.extend_from_slice(b"NIL"),
            Some(disposition) => {
                out.push(b'(');
                write_string(out, &disposition.kind);
                out.push(b' ');
                write_params(out, &disposition.params);
                out.push(b')');
            }
        }
        out.push(b' ');
        match content.language.as_slice() {
            [] => out.extend_from_slice(b"NIL"),
            [tag] => write_string(out, tag),
            tags => {
                out.push(b'(');
                for (position, tag) in tags.iter().enumerate() {
                    if position > 0 {
                        out.push(b' ');
                    }
                    write_string(out, tag);
                }
                out.push(b')');
            }
        }
        out.push(b' ');
        write_nstring(out, content.location.as_deref());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn string(value: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        write_string(&mut out, value);
        out
    }

    #[test]
    fn strings_are_quoted_or_literal() {
        assert_eq!(string(b"a \"b\" \\c"), b"\"a \\\"b\\\" \\\\c\"");
        assert_eq!(string(b""), b"\"\"");
        assert_eq!(string(b"tab\there"), b"{8}\r\ntab\there");
        assert_eq!(string("caf\u{e9}".as_bytes()), b"{5}\r\ncaf\xc3\xa9");
        assert_eq!(string(b"nul\0x"), b"{4}\r\nnulx");
    }

    #[test]
    fn envelope_defaults_sender_and_reply_to_to_from() {
        let envelope = Envelope {
            from: Some(b"A <a@x>".to_vec()),
            sender: Some(b"".to_vec()),
            subject: Some(b"".to_vec()),
            to: Some(b"g:;".to_vec()),
            ..Envelope::default()
        };
        let mut out = Vec::new();
        write_envelope(&mut out, &envelope);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "(NIL \"\" ((\"A\" NIL \"a\" \"x\")) ((\"A\" NIL \"a\" \"x\")) ((\"A\" NIL \"a\" \"x\")) \
             ((NIL NIL \"g\" NIL)(NIL NIL NIL NIL)) NIL NIL NIL NIL)"
        );
    }
}
