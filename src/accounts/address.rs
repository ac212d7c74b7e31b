//! Mail addresses as the directory stores them: validated and lowercased.
//!
//! Postern treats local parts as case-insensitive, as most ISPs do, although RFC 5321 §2.4 lets
//! a server treat them as case-sensitive: `John@Example.Test` and `john@example.test` are one
//! mailbox. The whole address, quoted local part included, is lowercased; nothing else is
//! rewritten (no unquoting, no dot or `+` folding).
//!
//! Internationalised domains are accepted in their UTF-8 form (labels of Unicode letters and
//! digits), but there is no IDNA conversion yet: `bücher.test` and `xn--bcher-kva.test` are two
//! different domains to Postern.

/// RFC 5321 §4.5.3.1.1.
pub const LOCAL_PART_OCTETS_MAX: usize = 64;
/// RFC 5321 §4.5.3.1.2.
pub const DOMAIN_OCTETS_MAX: usize = 255;
/// RFC 1035 §2.3.4.
pub const LABEL_OCTETS_MAX: usize = 63;
/// RFC 5321 §4.5.3.1.3 limits a path to 256 octets, angle brackets included.
pub const ADDRESS_OCTETS_MAX: usize = 254;

const _: () = assert!(LOCAL_PART_OCTETS_MAX + 1 + LABEL_OCTETS_MAX <= ADDRESS_OCTETS_MAX);
const _: () = assert!(ADDRESS_OCTETS_MAX <= DOMAIN_OCTETS_MAX);

/// Why a string is not an address (or a domain) Postern accepts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    #[error("it is empty")]
    Empty,
    #[error("it has leading or trailing whitespace")]
    SurroundingWhitespace,
    #[error("it contains a control character")]
    ControlCharacter,
    #[error("it contains whitespace outside a quoted local part")]
    Whitespace,
    #[error("it is longer than {ADDRESS_OCTETS_MAX} octets")]
    TooLong,
    #[error("it has no @")]
    MissingAt,
    #[error("it has more than one @ outside a quoted local part")]
    ExtraAt,
    #[error("the local part is empty")]
    EmptyLocalPart,
    #[error("the local part is longer than {LOCAL_PART_OCTETS_MAX} octets")]
    LocalPartTooLong,
    #[error("the quoted local part is not terminated")]
    UnterminatedQuote,
    #[error("the quoted local part is not followed by @")]
    TextAfterQuote,
    #[error("the local part has {0:?}, which needs quoting")]
    LocalPartCharacter(char),
    #[error("the local part has a leading, trailing or double dot")]
    EmptyLocalAtom,
    #[error("the domain is empty")]
    EmptyDomain,
    #[error("the domain is longer than {DOMAIN_OCTETS_MAX} octets")]
    DomainTooLong,
    #[error("the domain has an empty label")]
    EmptyLabel,
    #[error("a domain label is longer than {LABEL_OCTETS_MAX} octets")]
    LabelTooLong,
    #[error("a domain label starts or ends with a hyphen")]
    LabelHyphen,
    #[error("the domain has {0:?}; only letters, digits, hyphens and dots are allowed")]
    DomainCharacter(char),
}

/// Validates `input` as `local@domain` and returns it lowercased.
///
/// Nothing is trimmed: surrounding whitespace is an error, so a stray space in a script is
/// caught rather than silently creating a second account. A quoted local part (`"john
/// doe"@example.test`) is kept as written, quotes and backslash escapes included.
pub fn normalise_address(input: &str) -> Result<String, AddressError> {
    check_text(input)?;
    let address = input.to_lowercase();
    if address.len() > ADDRESS_OCTETS_MAX {
        return Err(AddressError::TooLong);
    }
    let (local, domain) = split_at_sign(&address)?;
    check_local_part(local)?;
    check_domain(domain)?;
    Ok(address)
}

/// Validates a bare domain (`example.test`) and returns it lowercased.
pub fn normalise_domain(input: &str) -> Result<String, AddressError> {
    check_text(input)?;
    let domain = input.to_lowercase();
    check_domain(&domain)?;
    Ok(domain)
}

/// The domain of an address that `normalise_address` accepted.
pub fn domain_of(address: &str) -> &str {
    let at = address.rfind('@').expect("a normalised address has an @");
    &address[at + 1..]
}

/// Checks that apply to the whole text, quoted parts included.
fn check_text(input: &str) -> Result<(), AddressError> {
    if input.is_empty() {
        return Err(AddressError::Empty);
    }
    if input.trim() != input {
        return Err(AddressError::SurroundingWhitespace);
    }
    if input.chars().any(char::is_control) {
        return Err(AddressError::ControlCharacter);
    }
    Ok(())
}

/// Splits at the one `@` outside a quoted local part.
fn split_at_sign(address: &str) -> Result<(&str, &str), AddressError> {
    let (local, domain) = if address.starts_with('"') {
        let close = closing_quote(address)?;
        let (local, rest) = address.split_at(close + 1);
        match rest.strip_prefix('@') {
            Some(domain) => (local, domain),
            None if rest.is_empty() => return Err(AddressError::MissingAt),
            None => return Err(AddressError::TextAfterQuote),
        }
    } else {
        match address.split_once('@') {
            Some(parts) => parts,
            None => return Err(AddressError::MissingAt),
        }
    };
    if domain.contains('@') {
        return Err(AddressError::ExtraAt);
    }
    Ok((local, domain))
}

/// The byte index of the `"` that closes the quoted string opening `address`.
/// RFC 5321 §4.1.2: `Quoted-string = DQUOTE *QcontentSMTP DQUOTE`, with `\` escaping one
/// character. Scanning bytes is safe: `"` and `\` never occur inside a multi-byte character.
fn closing_quote(address: &str) -> Result<usize, AddressError> {
    let bytes = address.as_bytes();
    let mut index = 1;
    while index < bytes.len() {
        match bytes[index] {
            b'\\' => index += 2,
            b'"' => return Ok(index),
            _ => index += 1,
        }
    }
    Err(AddressError::UnterminatedQuote)
}

fn check_local_part(local: &str) -> Result<(), AddressError> {
    if local.is_empty() || local == "\"\"" {
        return Err(AddressError::EmptyLocalPart);
    }
    if local.len() > LOCAL_PART_OCTETS_MAX {
        return Err(AddressError::LocalPartTooLong);
    }
    if local.starts_with('"') {
        // Already delimited by `closing_quote`; control characters were refused earlier.
        return Ok(());
    }
    // RFC 5321 §4.1.2 Dot-string of atext, extended to UTF-8 by RFC 6531 §3.3.
    for atom in local.split('.') {
        if atom.is_empty() {
            return Err(AddressError::EmptyLocalAtom);
        }
        if let Some(bad) = atom.chars().find(|&c| !is_atext(c)) {
            return Err(if bad.is_whitespace() {
                AddressError::Whitespace
            } else {
                AddressError::LocalPartCharacter(bad)
            });
        }
    }
    Ok(())
}

/// RFC 5322 §3.2.3 atext, plus any non-ASCII character that is not whitespace (RFC 6531).
fn is_atext(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c)
    } else {
        !c.is_whitespace()
    }
}

fn check_domain(domain: &str) -> Result<(), AddressError> {
    if domain.is_empty() {
        return Err(AddressError::EmptyDomain);
    }
    if domain.len() > DOMAIN_OCTETS_MAX {
        return Err(AddressError::DomainTooLong);
    }
    for label in domain.split('.') {
        check_label(label)?;
    }
    Ok(())
}

/// RFC 1123 §2.1 host name labels; non-ASCII letters and digits stand in for IDNA U-labels.
fn check_label(label: &str) -> Result<(), AddressError> {
    if label.is_empty() {
        return Err(AddressError::EmptyLabel);
    }
    if label.len() > LABEL_OCTETS_MAX {
        return Err(AddressError::LabelTooLong);
    }
    if label.starts_with('-') || label.ends_with('-') {
        return Err(AddressError::LabelHyphen);
    }
    let allowed =
        |c: char| c == '-' || c.is_ascii_alphanumeric() || (!c.is_ascii() && c.is_alphanumeric());
    match label.chars().find(|&c| !allowed(c)) {
        Some(c) if c.is_whitespace() => Err(AddressError::Whitespace),
        Some(c) => Err(AddressError::DomainCharacter(c)),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_and_lowercases() {
        let good = [
            ("alice@example.test", "alice@example.test"),
            ("Alice.Smith@Example.TEST", "alice.smith@example.test"),
            ("a+tag@mail-1.example.test", "a+tag@mail-1.example.test"),
            (
                "x!#$%&'*/=?^_`{|}~-@localhost",
                "x!#$%&'*/=?^_`{|}~-@localhost",
            ),
            ("\"John Doe\"@example.test", "\"john doe\"@example.test"),
            ("\"a@b\"@example.test", "\"a@b\"@example.test"),
            ("\"a\\\"b\"@example.test", "\"a\\\"b\"@example.test"),
            ("JÖRG@Bücher.test", "jörg@bücher.test"),
            ("1@123.test", "1@123.test"),
        ];
        for (input, expected) in good {
            assert_eq!(normalise_address(input).as_deref(), Ok(expected), "{input}");
        }
    }

    #[test]
    fn rejects() {
        let long_local = format!("{}@example.test", "a".repeat(65));
        let long_label = format!("a@{}.test", "b".repeat(64));
        let long_address = format!(
            "{}@{}.{}.{}.test",
            "a".repeat(64),
            "b".repeat(62),
            "c".repeat(62),
            "d".repeat(62)
        );
        let bad = [
            ("", AddressError::Empty),
            (" alice@example.test", AddressError::SurroundingWhitespace),
            ("alice@example.test\n", AddressError::SurroundingWhitespace),
            ("al\u{7}ice@example.test", AddressError::ControlCharacter),
            ("al ice@example.test", AddressError::Whitespace),
            ("alice@exa mple.test", AddressError::Whitespace),
            ("alice", AddressError::MissingAt),
            ("a@b@example.test", AddressError::ExtraAt),
            ("@example.test", AddressError::EmptyLocalPart),
            ("\"\"@example.test", AddressError::EmptyLocalPart),
            ("alice@", AddressError::EmptyDomain),
            (".alice@example.test", AddressError::EmptyLocalAtom),
            ("al..ice@example.test", AddressError::EmptyLocalAtom),
            ("alice.@example.test", AddressError::EmptyLocalAtom),
            ("al(ice@example.test", AddressError::LocalPartCharacter('(')),
            ("a\"b@example.test", AddressError::LocalPartCharacter('"')),
            ("\"alice@example.test", AddressError::UnterminatedQuote),
            ("\"alice\"x@example.test", AddressError::TextAfterQuote),
            ("\"alice\"", AddressError::MissingAt),
            ("alice@example..test", AddressError::EmptyLabel),
            ("alice@example.test.", AddressError::EmptyLabel),
            ("alice@.example.test", AddressError::EmptyLabel),
            ("alice@-example.test", AddressError::LabelHyphen),
            ("alice@example-.test", AddressError::LabelHyphen),
            ("alice@exa_mple.test", AddressError::DomainCharacter('_')),
            ("alice@[192.0.2.1]", AddressError::DomainCharacter('[')),
            (long_local.as_str(), AddressError::LocalPartTooLong),
            (long_label.as_str(), AddressError::LabelTooLong),
            (long_address.as_str(), AddressError::TooLong),
        ];
        for (input, expected) in bad {
            assert_eq!(normalise_address(input), Err(expected), "{input:?}");
        }
    }

    #[test]
    fn limits_are_inclusive() {
        let local = "a".repeat(LOCAL_PART_OCTETS_MAX);
        assert!(normalise_address(&format!("{local}@example.test")).is_ok());
        let label = "b".repeat(LABEL_OCTETS_MAX);
        assert!(normalise_address(&format!("a@{label}.test")).is_ok());
        // 64 + 1 + 63 + 1 + 62 + 1 + 62 = 254 octets.
        let domain = format!("{label}.{0}.{0}", "c".repeat(62));
        let address = format!("{local}@{domain}");
        assert_eq!(address.len(), ADDRESS_OCTETS_MAX);
        assert!(normalise_address(&address).is_ok());
    }

    #[test]
    fn domains() {
        assert_eq!(
            normalise_domain("Example.TEST").as_deref(),
            Ok("example.test")
        );
        assert_eq!(
            normalise_domain("a@example.test"),
            Err(AddressError::DomainCharacter('@'))
        );
        assert_eq!(
            normalise_domain("example.test "),
            Err(AddressError::SurroundingWhitespace)
        );
        assert_eq!(normalise_domain(""), Err(AddressError::Empty));
        assert_eq!(domain_of("\"a@b\"@example.test"), "example.test");
    }
}
