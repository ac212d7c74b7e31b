//! APPEND / MULTIAPPEND around streamed literals, literal announcements and their purpose.

use super::*;

fn announcement(octets: u64, synchronizing: bool, binary: bool) -> LiteralAnnouncement {
    LiteralAnnouncement {
        octets,
        synchronizing,
        binary,
    }
}

#[test]
fn announcements_at_the_end_of_a_line() {
    let found = |line: &str| {
        literal_announcement(line.as_bytes()).map(|result| result.map_err(|error| error.reason))
    };
    assert_eq!(
        found("a LOGIN {5}"),
        Some(Ok((8, announcement(5, true, false))))
    );
    assert_eq!(
        found("a LOGIN {5+}"),
        Some(Ok((8, announcement(5, false, false))))
    );
    assert_eq!(
        found("a APPEND x ~{3}"),
        Some(Ok((11, announcement(3, true, true))))
    );
    assert_eq!(
        found("a APPEND x ~{3+}"),
        Some(Ok((11, announcement(3, false, true))))
    );
    assert_eq!(found("{0}"), Some(Ok((0, announcement(0, true, false)))));
    // number64: 2^32 is fine (the framer's own limit refuses it), 2^64 and 2^63 are not.
    assert_eq!(
        found("a X {4294967296}"),
        Some(Ok((4, announcement(1 << 32, true, false))))
    );
    assert_eq!(
        found("a X {9223372036854775807}"),
        Some(Ok((4, announcement(i64::MAX as u64, true, false))))
    );
    assert_eq!(
        found("a X {9223372036854775808}"),
        Some(Err("literal too large"))
    );
    assert_eq!(
        found("a X {18446744073709551616}"),
        Some(Err("literal too large"))
    );
    assert_eq!(
        found("a X {99999999999999999999999999999999999}"),
        Some(Err("literal too large"))
    );
    for bad in [
        "a X {-1}",
        "a X {+5}",
        "a X {}",
        "a X {5++}",
        "a X {+}",
        "a X {5-}",
        "a X {1-2}",
    ] {
        assert_eq!(
            found(bad),
            Some(Err("invalid literal announcement")),
            "{bad}"
        );
    }
    // Not announcements.
    for line in [
        "a NOOP",
        "a SELECT foo}",
        "a LOGIN \"x {5}\"",
        "a LOGIN \"x\" {5}x",
        "a RENAME \"a{\" 5}",
        "a X {x}",
        "a X { 5}",
        "",
        "}",
        "a LOGIN \"{5}",
    ] {
        assert_eq!(found(line), None, "{line:?}");
    }
    // A brace in an earlier quoted string does not hide a real announcement.
    assert_eq!(
        found("a RENAME \"a{\\\"\" {5}"),
        Some(Ok((16, announcement(5, true, false))))
    );
    assert_eq!(
        literal_announcement(b"a X {-1}").unwrap().unwrap_err().tag,
        None
    );
}

#[test]
fn which_literal_is_a_message() {
    assert_eq!(
        literal_purpose(b"A003 APPEND saved-messages (\\Seen) {310}"),
        LiteralPurpose::AppendMessage
    );
    assert_eq!(
        literal_purpose(b"a append INBOX {310+}"),
        LiteralPurpose::AppendMessage
    );
    assert_eq!(
        literal_purpose(b"a APPEND INBOX ~{310}"),
        LiteralPurpose::AppendMessage
    );
    assert_eq!(literal_purpose(b"a APPEND {5}"), LiteralPurpose::Argument);
    assert_eq!(literal_purpose(b"a APPEND {5+}"), LiteralPurpose::Argument);
    assert_eq!(
        literal_purpose(b"a APPEND {5}\r\nINBOX {310}"),
        LiteralPurpose::AppendMessage
    );
    assert_eq!(
        literal_purpose(b"a APPEND {5}\r\nIN{O} {310}"),
        LiteralPurpose::AppendMessage
    );
    assert_eq!(
        literal_purpose(b"A001 LOGIN {11}"),
        LiteralPurpose::Argument
    );
    assert_eq!(
        literal_purpose(b"a SEARCH TEXT {5}"),
        LiteralPurpose::Argument
    );
    assert_eq!(
        literal_purpose(b"a APPENDX INBOX {5}"),
        LiteralPurpose::Argument
    );
    assert_eq!(literal_purpose(b"{5}"), LiteralPurpose::Argument);
}

#[test]
fn append_start() {
    let start = parse_append_start(b"A003 APPEND saved-messages (\\Seen) {310}").unwrap();
    assert_eq!(start.tag.as_str(), "A003");
    assert_eq!(start.mailbox, mailbox("saved-messages"));
    assert_eq!(start.message.flags, [Flag::Seen]);
    assert_eq!(start.message.date, None);
    assert_eq!(start.message.literal, announcement(310, true, false));
    assert!(!start.message.utf8);

    // RFC 8474 §5.1 example: a date-time and no flags.
    let start =
        parse_append_start(b"11 append inbox \"20-Mar-2018 03:07:37 +1100\" {793}").unwrap();
    assert_eq!(start.mailbox, mailbox("inbox"));
    assert!(start.message.flags.is_empty());
    assert_eq!(
        start.message.date,
        Some(DateTime {
            unix_secs: 1_521_475_657,
            zone_minutes: 660
        })
    );

    let start = parse_append_start(
        b"a APPEND {5}\r\nDraft (\\Draft $MDNSent) \" 7-Feb-1994 21:52:25 -0800\" ~{300+}\r\n",
    )
    .unwrap();
    assert_eq!(start.mailbox, mailbox("Draft"));
    assert_eq!(
        start.message.flags,
        [Flag::Draft, Flag::Keyword("$MDNSent".into())]
    );
    assert_eq!(start.message.date.map(|date| date.zone_minutes), Some(-480));
    assert_eq!(start.message.literal, announcement(300, false, true));

    // RFC 6855 §4: UTF8 (~{n} ...).
    let start = parse_append_start(b"a APPEND INBOX () utf8 (~{12}").unwrap();
    assert!(start.message.utf8 && start.message.literal.binary);
    assert!(start.message.flags.is_empty());
}

#[test]
fn append_start_errors() {
    let error = |input: &[u8]| {
        let error = parse_append_start(input).unwrap_err();
        (error.tag.map(|tag| tag.as_str().to_owned()), error.reason)
    };
    let tagged = |reason| (Some("a".to_owned()), reason);
    assert_eq!(error(b"a APPEND INBOX"), tagged("missing message literal"));
    assert_eq!(
        error(b"a APPEND INBOX (\\Seen)"),
        tagged("missing message literal")
    );
    assert_eq!(
        error(b"a APPEND INBOX (\\Recent) {5}"),
        tagged("\\Recent cannot be set")
    );
    assert_eq!(
        error(b"a APPEND INBOX (\\Seen {5}"),
        tagged("expected a keyword")
    );
    assert_eq!(
        error(b"a APPEND INBOX \"31-Feb-2020 00:00:00 +0000\" {5}"),
        tagged("invalid date-time")
    );
    assert_eq!(
        error(b"a APPEND INBOX \"1-Feb-2020 24:00:00 +0000\" {5}"),
        tagged("invalid date-time")
    );
    assert_eq!(
        error(b"a APPEND INBOX \"1-Feb-2020 00:00:00 0000\" {5}"),
        tagged("invalid date-time")
    );
    assert_eq!(
        error(b"a APPEND INBOX \"1-Feb-2020 00:00:00 +2400\" {5}"),
        tagged("invalid date-time")
    );
    assert_eq!(
        error(b"a APPEND INBOX (\\Seen) (\\Draft) {5}"),
        tagged("expected a message literal")
    );
    assert_eq!(
        error(b"a APPEND INBOX {5} {6}"),
        tagged("unexpected characters after the message literal")
    );
    assert_eq!(
        error(b"a APPEND INBOX {-5}"),
        tagged("invalid literal announcement")
    );
    assert_eq!(
        error(b"a APPEND INBOX {18446744073709551616}"),
        tagged("literal too large")
    );
    assert_eq!(
        error(b"a APPEND INBOX UTF8 ({5}"),
        tagged("UTF8 needs a binary literal")
    );
    assert_eq!(
        error(b"a APPEND INBOX X-EXT 5 {5}"),
        tagged("expected a message literal")
    );
    assert_eq!(error(b"a APPEND"), tagged("missing mailbox name"));
    assert_eq!(
        error(b"a SELECT INBOX {5}"),
        tagged("not an APPEND command")
    );
    assert_eq!(error(b"a APPEND IN\0BOX {5}"), tagged("NUL is not allowed"));
    assert_eq!(error(b"+ APPEND INBOX {5}"), (None, "missing tag"));
}

#[test]
fn multiappend_continuations() {
    // RFC 3502 §6.3.11 example: after the first message, a second follows, then the end.
    let first = parse_append_start(b"A003 APPEND saved-messages (\\Seen) {329}")
        .unwrap()
        .message;
    let second = parse_append_next(b" (\\Seen) \" 7-Feb-1994 22:43:04 -0800\" {295}", &first)
        .unwrap()
        .unwrap();
    assert_eq!(second.flags, [Flag::Seen]);
    assert_eq!(second.literal, announcement(295, true, false));
    assert_eq!(parse_append_next(b"", &second).unwrap(), None);
    assert_eq!(parse_append_next(b"\r\n", &second).unwrap(), None);
    let third = parse_append_next(b" {0+}", &second).unwrap().unwrap();
    assert_eq!(third.literal, announcement(0, false, false));
    let error = parse_append_next(b"x", &second).unwrap_err();
    assert_eq!((error.tag, error.reason), (None, "missing message literal"));
    assert_eq!(
        parse_append_next(b" (\\Seen)", &second).unwrap_err().reason,
        "missing message literal"
    );
    assert_eq!(
        parse_append_next(b")", &second).unwrap_err().reason,
        "missing message literal"
    );
    // After a UTF8 message its ")" comes first.
    let utf8 = parse_append_start(b"a APPEND INBOX UTF8 (~{5}")
        .unwrap()
        .message;
    assert_eq!(parse_append_next(b")", &utf8).unwrap(), None);
    let next = parse_append_next(b") UTF8 (~{7+}", &utf8).unwrap().unwrap();
    assert!(next.utf8 && !next.literal.synchronizing);
    assert_eq!(
        parse_append_next(b"", &utf8).unwrap_err().reason,
        "expected ) after the UTF8 message"
    );
}

#[test]
fn date_times() {
    let date = |text: &str| {
        let input = format!("a APPEND x \"{text}\" {{1}}");
        parse_append_start(input.as_bytes()).map(|start| start.message.date.unwrap())
    };
    // RFC 3501 §7.4.2 INTERNALDATE example.
    let example = date("17-Jul-1996 02:44:25 -0700").unwrap();
    assert_eq!(
        example,
        DateTime {
            unix_secs: 837_596_665,
            zone_minutes: -420
        }
    );
    assert_eq!(example.to_string(), "17-Jul-1996 02:44:25 -0700");
    assert_eq!(date(" 1-Jan-1970 00:00:00 +0000").unwrap().unix_secs, 0);
    assert_eq!(date("1-jan-1970 01:30:00 +0130").unwrap().unix_secs, 0);
    assert_eq!(
        date("01-Jan-0001 00:00:00 +0000").unwrap().unix_secs,
        -62_135_596_800
    );
    assert_eq!(
        date("31-Dec-9999 23:59:59 +0000").unwrap().unix_secs,
        253_402_300_799
    );
    // A leap second counts as the next minute's first.
    assert_eq!(
        date("31-Dec-2016 23:59:60 +0000").unwrap().unix_secs,
        date("01-Jan-2017 00:00:00 +0000").unwrap().unix_secs
    );
    for bad in [
        "17-Jul-1996 02:44:25",
        "17-Jul-1996 2:44:25 -0700",
        "17-Jul-96 02:44:25 -0700",
        "17-Jul-1996 02:60:25 -0700",
        "17 Jul 1996 02:44:25 -0700",
        "00-Jul-1996 02:44:25 -0700",
        "17-Jul-1996 02:44:25 -07000",
    ] {
        assert!(date(bad).is_err(), "{bad}");
    }
}
