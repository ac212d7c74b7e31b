//! Mailbox names: modified UTF-7 (RFC 3501 §5.1.3), UTF-8 (RFC 6855 §3), INBOX, the
//! structural rules, and encoding for responses.

use super::*;

fn decode(raw: &[u8], utf8: bool) -> Result<String, NameError> {
    MailboxName::new(raw.to_vec()).decode(utf8)
}

#[test]
fn modified_utf7_examples_of_rfc_3501_section_5_1_3() {
    assert_eq!(
        decode(b"~peter/mail/&U,BTFw-/&ZeVnLIqe-", false).as_deref(),
        Ok("~peter/mail/\u{53f0}\u{5317}/\u{65e5}\u{672c}\u{8a9e}")
    );
    assert_eq!(decode(b"&Jjo-!", false).as_deref(), Ok("\u{263a}!"));
    assert_eq!(
        decode(b"&U,BTF2XlZyyKng-", false).as_deref(),
        Ok("\u{53f0}\u{5317}\u{65e5}\u{672c}\u{8a9e}")
    );
    // "&Jjo!" lacks the shift back; "&U,BTFw-&ZeVnLIqe-" has a superfluous one.
    assert_eq!(decode(b"&Jjo!", false), Err(NameError::InvalidModifiedUtf7));
    assert_eq!(
        decode(b"&U,BTFw-&ZeVnLIqe-", false),
        Err(NameError::InvalidModifiedUtf7)
    );
    assert_eq!(
        encode_modified_utf7("\u{53f0}\u{5317}\u{65e5}\u{672c}\u{8a9e}"),
        "&U,BTF2XlZyyKng-"
    );
    assert_eq!(
        encode_modified_utf7("~peter/mail/\u{53f0}\u{5317}/\u{65e5}\u{672c}\u{8a9e}"),
        "~peter/mail/&U,BTFw-/&ZeVnLIqe-"
    );
}

#[test]
fn modified_utf7_ampersand_and_round_trips() {
    assert_eq!(decode(b"Tom &- Jerry", false).as_deref(), Ok("Tom & Jerry"));
    assert_eq!(decode(b"&AOQ-&-", false).as_deref(), Ok("\u{e4}&"));
    for name in [
        "Entw\u{fc}rfe",
        "Gel\u{f6}schte Elemente",
        "\u{1f600} smile",
        "a&b",
        "&",
        "\u{e4}\u{1f600}\u{4e2d}",
        "x/\u{e9}/y",
    ] {
        let encoded = encode_modified_utf7(name);
        assert!(encoded.is_ascii(), "{encoded}");
        assert_eq!(
            decode_modified_utf7(encoded.as_bytes()).as_deref(),
            Ok(name),
            "{encoded}"
        );
    }
    // A surrogate pair (U+1F600) in one run.
    assert_eq!(encode_modified_utf7("\u{1f600}"), "&2D3eAA-");
}

#[test]
fn malformed_modified_utf7() {
    for raw in [
        &b"&"[..],
        b"&AOQ",       // no closing "-"
        b"&AOQ-&AOQ-", // null shift between runs
        b"&AGE-",      // encodes "a", which must represent itself
        b"&AOR-",      // leftover bits not zero
        b"&AO-",       // fewer than 16 bits
        b"&2D0-",      // lone high surrogate
        b"&3gA-",      // lone low surrogate
        b"&A/Q-",      // "/" is not in the modified alphabet
        b"&A=Q-",
        b"caf\xc3\xa9", // raw 8-bit without UTF8=ACCEPT
        b"tab\there",
    ] {
        assert!(
            decode(raw, false).is_err(),
            "{:?}",
            String::from_utf8_lossy(raw)
        );
    }
    // Base64 that decodes to a control character is refused as one.
    assert_eq!(decode(b"&AAE-", false), Err(NameError::ControlCharacter));
    assert_eq!(decode(b"&AIU-", false), Err(NameError::ControlCharacter));
}

#[test]
fn utf8_names() {
    assert_eq!(
        decode("Entw\u{fc}rfe/2024".as_bytes(), true).as_deref(),
        Ok("Entw\u{fc}rfe/2024")
    );
    // With UTF-8 on, "&" is an ordinary character.
    assert_eq!(decode(b"&U,BTFw-", true).as_deref(), Ok("&U,BTFw-"));
    assert_eq!(decode(b"caf\xe9", true), Err(NameError::InvalidUtf8));
    assert_eq!(decode(b"\xed\xa0\x80", true), Err(NameError::InvalidUtf8));
    assert_eq!(
        decode("a\u{85}b".as_bytes(), true),
        Err(NameError::ControlCharacter)
    );
    assert_eq!(decode(b"a\x7fb", true), Err(NameError::ControlCharacter));
    assert_eq!(decode(b"a\x00b", true), Err(NameError::ControlCharacter));
}

#[test]
fn inbox_and_structure() {
    for raw in ["inbox", "INBOX", "iNbOx"] {
        for utf8 in [false, true] {
            assert_eq!(decode(raw.as_bytes(), utf8).as_deref(), Ok("INBOX"));
        }
    }
    assert_eq!(decode(b"Inbox/Work", false).as_deref(), Ok("INBOX/Work"));
    assert_eq!(decode(b"Inboxes", false).as_deref(), Ok("Inboxes"));
    assert_eq!(
        decode(b"INBOX.Sent Mail", false).as_deref(),
        Ok("INBOX.Sent Mail")
    );
    assert_eq!(decode(b"", false), Err(NameError::Empty));
    for raw in [&b"/a"[..], b"a/", b"a//b", b"///////", b"/"] {
        assert_eq!(decode(raw, false), Err(NameError::EmptyLevel), "{raw:?}");
    }
    assert_eq!(decode(b"a*", false), Err(NameError::Wildcard));
    assert_eq!(decode(b"a%b", true), Err(NameError::Wildcard));
    let longest = "x".repeat(MAILBOX_NAME_OCTETS_MAX);
    assert!(decode(longest.as_bytes(), false).is_ok());
    let long = "x".repeat(MAILBOX_NAME_OCTETS_MAX + 1);
    assert_eq!(decode(long.as_bytes(), false), Err(NameError::TooLong));
    assert_eq!(decode(&vec![b'x'; 100_000], true), Err(NameError::TooLong));
    // 400 characters of 3 octets each: 800 octets of mUTF-7 input but 1200 of UTF-8.
    let wide = encode_modified_utf7(&"\u{4e2d}".repeat(400));
    assert_eq!(decode(wide.as_bytes(), false), Err(NameError::TooLong));
    assert_eq!(
        NameError::EmptyLevel.to_string(),
        "mailbox name has an empty hierarchy level"
    );
}

#[test]
fn patterns() {
    let pattern = |raw: &[u8], utf8| MailboxName::new(raw.to_vec()).decode_pattern(utf8);
    assert_eq!(pattern(b"", false).as_deref(), Ok(""));
    assert_eq!(pattern(b"%/*", false).as_deref(), Ok("%/*"));
    assert_eq!(pattern(b"inbox", false).as_deref(), Ok("INBOX"));
    assert_eq!(pattern(b"&AOQ-*", false).as_deref(), Ok("\u{e4}*"));
    assert_eq!(pattern(b"&AOQ", false), Err(NameError::InvalidModifiedUtf7));
    assert_eq!(pattern(b"a\x01", true), Err(NameError::ControlCharacter));
}

#[test]
fn encoding_for_responses() {
    let encode = |name: &str, utf8| {
        let mut out = Vec::new();
        encode_mailbox_name(name, utf8, &mut out);
        String::from_utf8(out).unwrap()
    };
    assert_eq!(encode("INBOX", false), "INBOX");
    assert_eq!(encode("Sent Mail", false), "\"Sent Mail\"");
    assert_eq!(encode("Entw\u{fc}rfe", false), "Entw&APw-rfe");
    assert_eq!(encode("Entw\u{fc}rfe", true), "\"Entw\u{fc}rfe\"");
    assert_eq!(encode("a\"b\\c", false), "\"a\\\"b\\\\c\"");
    assert_eq!(encode("a\"b", true), "\"a\\\"b\"");
    assert_eq!(encode("NIL", false), "\"NIL\"");
    assert_eq!(encode("nil", true), "\"nil\"");
    assert_eq!(encode("a]b", false), "a]b");
    assert_eq!(encode("", false), "\"\"");
    // What is written parses back to the same name.
    for name in [
        "Sent Mail",
        "Entw\u{fc}rfe",
        "a\"b",
        "x/\u{1f600}/y",
        "a]{b}",
        "50% off",
    ] {
        for utf8 in [false, true] {
            let line = format!("a SELECT {}", encode(name, utf8));
            let CommandBody::Select { mailbox, .. } = parse(&line) else {
                panic!("{line}")
            };
            let decoded = if name.contains('%') {
                mailbox.decode_pattern(utf8)
            } else {
                mailbox.decode(utf8)
            };
            assert_eq!(decoded.as_deref(), Ok(name), "{line}");
        }
    }
}
