//! The response writers, and round trips through the parser.

use super::*;

fn written(write: impl FnOnce(&mut Vec<u8>)) -> String {
    let mut out = Vec::new();
    write(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn astrings() {
    assert_eq!(written(|out| write_astring(out, b"INBOX")), "INBOX");
    assert_eq!(written(|out| write_astring(out, b"a]b")), "a]b");
    assert_eq!(written(|out| write_astring(out, b"")), "\"\"");
    assert_eq!(
        written(|out| write_astring(out, b"Sent Mail")),
        "\"Sent Mail\""
    );
    assert_eq!(written(|out| write_astring(out, b"nil")), "\"nil\"");
    assert_eq!(written(|out| write_astring(out, b"50%")), "\"50%\"");
    assert_eq!(
        written(|out| write_astring(out, b"a\"b\\c")),
        "\"a\\\"b\\\\c\""
    );
    assert_eq!(
        written(|out| write_astring(out, "\u{e4}".as_bytes())),
        "{2}\r\n\u{e4}"
    );
    assert_eq!(
        written(|out| write_astring(out, b"a\r\nb")),
        "{4}\r\na\r\nb"
    );
}

#[test]
fn strings_and_nstrings() {
    assert_eq!(written(|out| write_string(out, b"atom")), "\"atom\"");
    assert_eq!(written(|out| write_string(out, b"")), "\"\"");
    assert_eq!(written(|out| write_string(out, b"line\n")), "{5}\r\nline\n");
    assert_eq!(written(|out| write_nstring(out, None)), "NIL");
    assert_eq!(written(|out| write_nstring(out, Some(b"NIL"))), "\"NIL\"");
    assert_eq!(
        written(|out| write_quoted_utf8(out, "Entw\u{fc}rfe \"1\"")),
        "\"Entw\u{fc}rfe \\\"1\\\"\""
    );
    assert_eq!(written(|out| write_quoted_utf8(out, "a\rb")), "{3}\r\na\rb");
    assert_eq!(written(|out| write_literal(out, b"abc")), "{3}\r\nabc");
}

#[test]
fn strings_parse_back() {
    let samples: [&[u8]; 8] = [
        b"plain",
        b"two words",
        b"",
        b"q\"u\\o",
        "\u{fc}ber".as_bytes(),
        b"\xff\xfe",
        b"cr\rlf\n",
        b"NIL",
    ];
    for sample in samples {
        for write in [write_astring as fn(&mut Vec<u8>, &[u8]), write_string] {
            let mut line = b"a LOGIN ".to_vec();
            write(&mut line, b"user");
            line.push(b' ');
            write(&mut line, sample);
            let CommandBody::Login { password, .. } = parse_bytes(&line) else {
                panic!()
            };
            assert_eq!(password.expose(), sample);
        }
    }
}

#[test]
fn flags() {
    let flags = [
        Flag::Seen,
        Flag::Answered,
        Flag::Flagged,
        Flag::Deleted,
        Flag::Draft,
        Flag::Recent,
        Flag::Keyword("$Forwarded".into()),
    ];
    assert_eq!(
        written(|out| write_flag_list(out, &flags)),
        "(\\Seen \\Answered \\Flagged \\Deleted \\Draft \\Recent $Forwarded)"
    );
    assert_eq!(written(|out| write_flag_list(out, &[])), "()");
    assert_eq!(written(|out| write_flag(out, &Flag::Draft)), "\\Draft");
    assert_eq!(Flag::Keyword("x".into()).to_string(), "x");
    // All but \Recent parse back as a STORE flag list.
    let line = format!(
        "a STORE 1 FLAGS {}",
        written(|out| write_flag_list(out, &flags[..5]))
    );
    let CommandBody::Store { flags: parsed, .. } = parse(&line) else {
        panic!()
    };
    assert_eq!(parsed, flags[..5]);
}

#[test]
fn date_times() {
    let date_time = DateTime {
        unix_secs: 837_596_665,
        zone_minutes: -420,
    };
    assert_eq!(
        written(|out| write_date_time(out, &date_time)),
        "\"17-Jul-1996 02:44:25 -0700\""
    );
    let epoch = DateTime {
        unix_secs: 0,
        zone_minutes: 0,
    };
    assert_eq!(epoch.to_string(), "01-Jan-1970 00:00:00 +0000");
    let before = DateTime {
        unix_secs: -1,
        zone_minutes: 330,
    };
    assert_eq!(before.to_string(), "01-Jan-1970 05:29:59 +0530");
    // Written date-times parse back to the same instant and zone.
    for (unix_secs, zone_minutes) in [
        (0, 0),
        (1_700_000_000, 60),
        (951_782_400, -600),
        (-62_135_596_800, 0),
        (253_402_300_799, 0),
        (1_000_000_007, -59),
    ] {
        let date_time = DateTime {
            unix_secs,
            zone_minutes,
        };
        let line = format!(
            "a APPEND x {} {{1}}",
            written(|out| write_date_time(out, &date_time))
        );
        let start = parse_append_start(line.as_bytes()).unwrap();
        assert_eq!(start.message.date, Some(date_time), "{line}");
    }
    // Out of the 4-digit-year range does not panic.
    let _ = DateTime {
        unix_secs: i64::MAX,
        zone_minutes: i16::MAX,
    }
    .to_string();
    let _ = DateTime {
        unix_secs: i64::MIN,
        zone_minutes: i16::MIN,
    }
    .to_string();
}

#[test]
fn sequence_sets_display_and_parse_back() {
    let sets = [
        SequenceSet::Saved,
        SequenceSet::Ranges(vec![single(1)]),
        SequenceSet::Ranges(vec![
            range(1, 5),
            single(7),
            SequenceRange {
                start: SequenceNumber::Star,
                end: number(3),
            },
        ]),
        SequenceSet::Ranges(vec![SequenceRange::single(SequenceNumber::Star)]),
    ];
    for set in sets {
        let CommandBody::Copy { set: parsed, .. } = parse(&format!("a COPY {set} x")) else {
            panic!()
        };
        assert_eq!(parsed, set);
    }
    assert_eq!(SequenceNumber::Star.resolve(9), 9);
    assert_eq!(number(4).resolve(9), 4);
}
