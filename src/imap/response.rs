//! Writing responses: status lines and the pieces many responses share.

use postern_storage::SystemFlags;

const SYSTEM_FLAGS: [(SystemFlags, &str); 5] = [
    (SystemFlags::ANSWERED, "\\Answered"),
    (SystemFlags::FLAGGED, "\\Flagged"),
    (SystemFlags::DELETED, "\\Deleted"),
    (SystemFlags::SEEN, "\\Seen"),
    (SystemFlags::DRAFT, "\\Draft"),
];

/// A parenthesised flag list (RFC 3501 §7.2.6 `flag-list`).
pub fn write_flags(out: &mut Vec<u8>, flags: SystemFlags, keywords: &[&str], recent: bool) {
    out.push(b'(');
    let mut first = true;
    let mut separate = |out: &mut Vec<u8>| {
        if !first {
            out.push(b' ');
        }
        first = false;
    };
    for (flag, name) in SYSTEM_FLAGS {
        if flags.contains(flag) {
            separate(out);
            out.extend_from_slice(name.as_bytes());
        }
    }
    if recent {
        separate(out);
        out.extend_from_slice(b"\\Recent");
    }
    for keyword in keywords {
        separate(out);
        out.extend_from_slice(keyword.as_bytes());
    }
    out.push(b')');
}

/// The status of a tagged response (RFC 3501 §7.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Ok,
    No,
    Bad,
}

impl Status {
    fn word(self) -> &'static str {
        match self {
            Status::Ok => "OK",
            Status::No => "NO",
            Status::Bad => "BAD",
        }
    }
}

/// `tag STATUS [code] text`; `tag` is `*` for untagged status responses.
pub fn write_status(out: &mut Vec<u8>, tag: &str, status: Status, code: Option<&str>, text: &str) {
    out.extend_from_slice(tag.as_bytes());
    out.push(b' ');
    out.extend_from_slice(status.word().as_bytes());
    out.push(b' ');
    if let Some(code) = code {
        out.push(b'[');
        out.extend_from_slice(code.as_bytes());
        out.extend_from_slice(b"] ");
    }
    out.extend_from_slice(text.as_bytes());
    out.extend_from_slice(b"\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flag_lists_in_a_fixed_order() {
        let mut out = Vec::new();
        let flags = SystemFlags::SEEN.union(SystemFlags::ANSWERED);
        write_flags(&mut out, flags, &["$Junk"], true);
        assert_eq!(out, b"(\\Answered \\Seen \\Recent $Junk)");
        out.clear();
        write_flags(&mut out, SystemFlags::default(), &[], false);
        assert_eq!(out, b"()");
    }

    #[test]
    fn status_lines() {
        let mut out = Vec::new();
        write_status(
            &mut out,
            "a1",
            Status::No,
            Some("TRYCREATE"),
            "No such mailbox",
        );
        assert_eq!(out, b"a1 NO [TRYCREATE] No such mailbox\r\n");
    }
}
