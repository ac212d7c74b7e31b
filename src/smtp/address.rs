//! Reverse- and forward-paths of MAIL and RCPT (RFC 5321 §4.1.2), with RFC 6531 §3.3's UTF-8.

use std::net::{Ipv4Addr, Ipv6Addr};

/// RFC 5321 §4.5.3.1.1.
pub const LOCAL_PART_OCTETS_MAX: usize = 64;
/// RFC 5321 §4.5.3.1.2.
pub const DOMAIN_OCTETS_MAX: usize = 255;
/// RFC 5321 §4.5.3.1.3: a path, angle brackets included.
pub const PATH_OCTETS_MAX: usize = 256;
/// Domains in a source route; real ones had a handful.
const ROUTE_DOMAINS_MAX: usize = 16;

/// A mailbox as the client wrote it (quotes kept), validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mailbox {
    /// `local@domain`, or `local@[literal]`.
    pub address: String,
    /// The domain is an address literal (`[192.0.2.1]`), never one of ours.
    pub domain_is_literal: bool,
}

impl Mailbox {
    pub fn is_ascii(&self) -> bool {
        self.address.is_ascii()
    }
}

/// What stood between `<` and `>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Path {
    /// `<>`: the null reverse-path (RFC 5321 §4.5.5).
    Null,
    /// `<Postmaster>` without a domain (RFC 5321 §4.1.1.3), forward-path only.
    Postmaster,
    Mailbox(Mailbox),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathError {
    Syntax,
    TooLong,
}

/// Parses a path at the start of `input`; returns it and the text after `>`.
pub fn parse_path(input: &str) -> Result<(Path, &str), PathError> {
    let bytes = input.as_bytes();
    let close = find_closing_bracket(bytes).ok_or(PathError::Syntax)?;
    if bytes.first() != Some(&b'<') {
        return Err(PathError::Syntax);
    }
    if close + 1 > PATH_OCTETS_MAX {
        return Err(PathError::TooLong);
    }
    let inner = &input[1..close];
    let rest = &input[close + 1..];
    if inner.is_empty() {
        return Ok((Path::Null, rest));
    }
    if inner.eq_ignore_ascii_case("postmaster") {
        return Ok((Path::Postmaster, rest));
    }
    let mailbox_text = strip_source_route(inner)?;
    Ok((Path::Mailbox(parse_mailbox(mailbox_text)?), rest))
}

/// The index of the `>` closing the path, skipping quoted strings.
fn find_closing_bracket(bytes: &[u8]) -> Option<usize> {
    let mut quoted = false;
    let mut index = 1;
    while index < bytes.len() {
        match bytes[index] {
            b'\\' if quoted => index += 1,
            b'"' => quoted = !quoted,
            b'>' if !quoted => return Some(index),
            _ => {}
        }
        index += 1;
    }
    None
}

/// RFC 5321 §4.1.2 `A-d-l ":"`: accepted and ignored, as Appendix C tells servers to.
fn strip_source_route(inner: &str) -> Result<&str, PathError> {
    if !inner.starts_with('@') {
        return Ok(inner);
    }
    let colon = inner.find(':').ok_or(PathError::Syntax)?;
    let route = &inner[..colon];
    let mut domains = 0;
    for at_domain in route.split(',') {
        let domain = at_domain.strip_prefix('@').ok_or(PathError::Syntax)?;
        check_domain(domain)?;
        domains += 1;
        if domains > ROUTE_DOMAINS_MAX {
            return Err(PathError::TooLong);
        }
    }
    Ok(&inner[colon + 1..])
}

/// `Local-part "@" ( Domain / address-literal )`.
pub fn parse_mailbox(text: &str) -> Result<Mailbox, PathError> {
    let at = local_part_end(text)?;
    let local = &text[..at];
    if local.len() > LOCAL_PART_OCTETS_MAX {
        return Err(PathError::TooLong);
    }
    let domain = text.get(at + 1..).ok_or(PathError::Syntax)?;
    if text.as_bytes().get(at) != Some(&b'@') {
        return Err(PathError::Syntax);
    }
    let domain_is_literal = domain.starts_with('[');
    if domain_is_literal {
        check_address_literal(domain)?;
    } else {
        check_domain(domain)?;
    }
    Ok(Mailbox {
        address: text.to_owned(),
        domain_is_literal,
    })
}

/// Validates the local part and returns the index of the `@` after it.
fn local_part_end(text: &str) -> Result<usize, PathError> {
    let bytes = text.as_bytes();
    if bytes.first() == Some(&b'"') {
        // Quoted-string: qtextSMTP is %d32-33 / %d35-91 / %d93-126 (plus UTF-8 per RFC 6531),
        // quoted-pairSMTP is "\" followed by %d32-126.
        let mut index = 1;
        loop {
            match bytes.get(index) {
                None => return Err(PathError::Syntax),
                Some(b'"') => return Ok(index + 1),
                Some(b'\\') => match bytes.get(index + 1) {
                    Some(32..=126) => index += 2,
                    _ => return Err(PathError::Syntax),
                },
                Some(&octet) if octet == 32 || octet == 33 || (35..=126).contains(&octet) => {
                    index += 1
                }
                Some(&octet) if octet >= 0x80 => index += 1,
                Some(_) => return Err(PathError::Syntax),
            }
        }
    }
    // Dot-string = Atom *("." Atom).
    let at = text.rfind('@').ok_or(PathError::Syntax)?;
    let local = &text[..at];
    if local
        .split('.')
        .any(|atom| atom.is_empty() || !atom.bytes().all(is_atext))
    {
        return Err(PathError::Syntax);
    }
    Ok(at)
}

/// RFC 5322 §3.2.3 atext; any non-ASCII octet of valid UTF-8 (RFC 6531 §3.3).
fn is_atext(octet: u8) -> bool {
    octet.is_ascii_alphanumeric() || b"!#$%&'*+-/=?^_`{|}~".contains(&octet) || octet >= 0x80
}

/// `Domain = sub-domain *("." sub-domain)`, `sub-domain = Let-dig [Ldh-str]`; U-labels allowed.
pub fn check_domain(domain: &str) -> Result<(), PathError> {
    if domain.len() > DOMAIN_OCTETS_MAX {
        return Err(PathError::TooLong);
    }
    let label_ok = |label: &str| {
        let bytes = label.as_bytes();
        let let_dig = |octet: &u8| octet.is_ascii_alphanumeric() || *octet >= 0x80;
        !bytes.is_empty()
            && bytes.first().is_some_and(let_dig)
            && bytes.last().is_some_and(let_dig)
            && bytes.iter().all(|octet| let_dig(octet) || *octet == b'-')
    };
    if domain.split('.').all(label_ok) {
        Ok(())
    } else {
        Err(PathError::Syntax)
    }
}

/// `address-literal = "[" ( IPv4 / IPv6 / General-address-literal ) "]"` (RFC 5321 §4.1.3).
pub fn check_address_literal(text: &str) -> Result<(), PathError> {
    let inner = text
        .strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'))
        .ok_or(PathError::Syntax)?;
    if inner.parse::<Ipv4Addr>().is_ok() {
        return Ok(());
    }
    if let Some(v6) = inner
        .get(..5)
        .filter(|tag| tag.eq_ignore_ascii_case("IPv6:"))
    {
        return inner[v6.len()..]
            .parse::<Ipv6Addr>()
            .map(|_| ())
            .map_err(|_| PathError::Syntax);
    }
    // General-address-literal = Standardized-tag ":" 1*dcontent; dcontent = %d33-90 / %d94-126.
    let (tag, content) = inner.split_once(':').ok_or(PathError::Syntax)?;
    let tag_ok = !tag.is_empty()
        && tag.bytes().all(|o| o.is_ascii_alphanumeric() || o == b'-')
        && !tag.ends_with('-');
    let content_ok = !content.is_empty()
        && content
            .bytes()
            .all(|o| (33..=90).contains(&o) || (94..=126).contains(&o));
    if tag_ok && content_ok {
        Ok(())
    } else {
        Err(PathError::Syntax)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mailbox(text: &str) -> String {
        match parse_path(text) {
            Ok((Path::Mailbox(mailbox), "")) => mailbox.address,
            other => panic!("{text}: {other:?}"),
        }
    }

    #[test]
    fn paths() {
        assert_eq!(parse_path("<>"), Ok((Path::Null, "")));
        assert_eq!(parse_path("<> SIZE=1"), Ok((Path::Null, " SIZE=1")));
        assert_eq!(parse_path("<PostMaster>"), Ok((Path::Postmaster, "")));
        assert_eq!(mailbox("<a@b.example>"), "a@b.example");
        assert_eq!(
            mailbox("<@r1.example,@r2.example:a@b.example>"),
            "a@b.example"
        );
        assert_eq!(
            mailbox("<\"john doe\"@b.example>"),
            "\"john doe\"@b.example"
        );
        assert_eq!(
            mailbox("<\"a>b\\\"c\"@b.example>"),
            "\"a>b\\\"c\"@b.example"
        );
        assert_eq!(mailbox("<a@[192.0.2.1]>"), "a@[192.0.2.1]");
        assert_eq!(mailbox("<a@[IPv6:2001:db8::1]>"), "a@[IPv6:2001:db8::1]");
        assert_eq!(mailbox("<jörg@bücher.example>"), "jörg@bücher.example");
        for bad in [
            "a@b.example",
            "<a@b.example",
            "<a b@c.example>",
            "<a..b@c.example>",
            "<.a@c.example>",
            "<a@-c.example>",
            "<a@c..example>",
            "<a@>",
            "<@a.example>",
            "<@a.example:>",
            "<a>",
            "<a@[300.1.1.1]>",
            "<a@[IPv6:zz]>",
            "<\"a\x01\"@b.example>",
            "<a@b.example\">",
        ] {
            assert!(parse_path(bad).is_err(), "{bad}");
        }
        let long_local = format!("<{}@b.example>", "a".repeat(65));
        assert_eq!(parse_path(&long_local), Err(PathError::TooLong));
        let long_path = format!("<a@{}.example>", "b.".repeat(130));
        assert_eq!(parse_path(&long_path), Err(PathError::TooLong));
    }
}
