//! BDAT chunk framing (RFC 3030 §2): exactly `size` octets follow the command line, raw.

use super::session::Refusal;

/// What happens to a chunk's octets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    /// Content of the message.
    Keep,
    /// Drained, then this reply (the command was out of sequence or the message too big).
    Drain(Drained),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Drained {
    /// 503: no greeting or no MAIL.
    BadSequence(&'static str),
    /// No accepted recipient.
    NoRecipients,
    Refused(Refusal),
}

#[derive(Debug)]
pub struct Chunk {
    pub size_octets: u64,
    pub remaining_octets: u64,
    pub last: bool,
    pub disposition: Disposition,
}

/// BDAT's arguments: `chunk-size [SP "LAST"]`, chunk-size being 1*DIGIT. `None` when they
/// cannot be read; then the chunk cannot be framed at all.
pub fn parse_arguments(arguments: &str) -> Option<(u64, bool)> {
    let (size, last) = match arguments.split_once(' ') {
        Some((size, last)) if last.eq_ignore_ascii_case("LAST") => (size, true),
        Some(_) => return None,
        None => (arguments, false),
    };
    if size.is_empty() || !size.bytes().all(|octet| octet.is_ascii_digit()) {
        return None;
    }
    size.parse().ok().map(|size| (size, last))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments() {
        assert_eq!(parse_arguments("0"), Some((0, false)));
        assert_eq!(parse_arguments("12 last"), Some((12, true)));
        assert_eq!(
            parse_arguments("18446744073709551615 LAST"),
            Some((u64::MAX, true))
        );
        for bad in [
            "",
            "x",
            "-1",
            "1 FIRST",
            "1  LAST",
            "18446744073709551616",
            "+1",
            "1 LAST x",
        ] {
            assert_eq!(parse_arguments(bad), None, "{bad}");
        }
    }
}
