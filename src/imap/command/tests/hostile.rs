//! Hostile input: absurd numbers, deep nesting, huge counts, NUL and broken encodings, and
//! seeded random input that must never panic.

use super::*;
use crate::testing::Random;

#[test]
fn absurd_literal_counts() {
    // The framer refuses these before the grammar; if one got here it would find no octets.
    assert_eq!(
        reason("a LOGIN {4294967296}\r\nx y"),
        "literal is truncated"
    );
    assert_eq!(
        reason("a LOGIN {9223372036854775807}\r\nx y"),
        "literal is truncated"
    );
    assert_eq!(
        reason("a LOGIN {9223372036854775808}\r\nx y"),
        "number too large"
    );
    assert_eq!(
        reason("a LOGIN {18446744073709551616}\r\nx y"),
        "number too large"
    );
    assert_eq!(reason("a LOGIN {-1}\r\nx y"), "expected a number");
    assert_eq!(reason("a LOGIN {+1}\r\nx y"), "expected a number");
}

#[test]
fn ten_thousand_deep_search_is_an_error_not_a_stack_overflow() {
    let depth = 10_000;
    let parens = format!("a SEARCH {}ALL{}", "(".repeat(depth), ")".repeat(depth));
    assert_eq!(reason(&parens), "search nesting too deep");
    let nots = format!("a SEARCH {}ALL", "NOT ".repeat(depth));
    assert_eq!(reason(&nots), "search nesting too deep");
    let ors = format!("a SEARCH {}ALL{}", "OR ALL ".repeat(depth), "");
    assert_eq!(reason(&ors), "search nesting too deep");
    let left_ors = format!(
        "a SEARCH {}ALL{}",
        "OR ".repeat(depth),
        " ALL".repeat(depth)
    );
    assert_eq!(reason(&left_ors), "search nesting too deep");
    // Just inside the limit is fine.
    let deepest = SEARCH_DEPTH_MAX - 1;
    let line = format!("a SEARCH {}ALL{}", "(".repeat(deepest), ")".repeat(deepest));
    assert!(matches!(parse(&line), CommandBody::Search { .. }));
    let line = format!("a SEARCH {}ALL", "NOT ".repeat(deepest));
    assert!(matches!(parse(&line), CommandBody::Search { .. }));
    let line = format!("a SEARCH {}ALL", "NOT ".repeat(SEARCH_DEPTH_MAX));
    assert_eq!(reason(&line), "search nesting too deep");
    // Deep parentheses elsewhere are plain syntax errors.
    assert_eq!(
        reason(&format!("a FETCH 1 {}", "(".repeat(depth))),
        "expected a fetch item"
    );
    assert_eq!(
        reason(&format!("a STORE 1 FLAGS {}", "(".repeat(depth))),
        "expected a keyword"
    );
    assert_eq!(
        reason(&format!("a LIST {} \"\" %", "(".repeat(depth))),
        "unknown LIST selection option"
    );
}

#[test]
fn too_many_search_keys() {
    let line = format!("a SEARCH{}", " ALL".repeat(SEARCH_KEYS_MAX + 1));
    assert_eq!(reason(&line), "too many search keys");
    let line = format!("a SEARCH{}", " ALL".repeat(SEARCH_KEYS_MAX));
    assert!(matches!(parse(&line), CommandBody::Search { .. }));
}

#[test]
fn huge_sequence_sets() {
    let line = |elements: usize| {
        let set = vec!["1"; elements].join(",");
        format!("a FETCH {set} FLAGS")
    };
    assert_eq!(reason(&line(100_000)), "sequence set too long");
    assert_eq!(
        reason(&line(SEQUENCE_SET_RANGES_MAX + 1)),
        "sequence set too long"
    );
    let CommandBody::Fetch { set, .. } = parse(&line(SEQUENCE_SET_RANGES_MAX)) else {
        panic!()
    };
    assert_eq!(set.ranges().map(<[_]>::len), Some(SEQUENCE_SET_RANGES_MAX));
    // Huge ranges are fine: they are two numbers.
    let CommandBody::Fetch { set, .. } = parse("a FETCH 1:4294967295,*:1 FLAGS") else {
        panic!()
    };
    assert_eq!(set.ranges().unwrap()[0].bounds(0), (1, u32::MAX));
    assert_eq!(
        reason("a FETCH 1:4294967296 FLAGS"),
        "sequence number too large"
    );
    assert_eq!(
        reason("a FETCH 0 FLAGS"),
        "sequence number 0 is not allowed"
    );
    assert_eq!(
        reason("a UID FETCH 0:* FLAGS"),
        "sequence number 0 is not allowed"
    );
    assert_eq!(
        reason("a SEARCH UID 1,0"),
        "sequence number 0 is not allowed"
    );
}

#[test]
fn thousand_level_section_numbers() {
    let part = vec!["1"; 1000].join(".");
    assert_eq!(
        reason(&format!("a FETCH 1 BODY[{part}]")),
        "section part too deep"
    );
    assert_eq!(
        reason(&format!("a FETCH 1 BINARY[{part}]")),
        "section part too deep"
    );
    assert_eq!(
        reason(&format!("a FETCH 1 BODY.PEEK[{part}.MIME]")),
        "section part too deep"
    );
    let deepest = vec!["1"; SECTION_PART_DEPTH_MAX].join(".");
    assert!(matches!(
        parse(&format!("a FETCH 1 BODY[{deepest}.MIME]")),
        CommandBody::Fetch { .. }
    ));
}

#[test]
fn nul_anywhere_is_refused() {
    for line in [
        &b"a NOOP\0"[..],
        b"a LOGIN us\0er pw",
        b"a LOGIN {3}\r\nu\0r pw",
        b"a LOGIN \"u\0\" pw",
        b"a SEARCH TEXT \"\0\"",
        b"a SELECT \0",
    ] {
        let error = reject_bytes(line);
        assert_eq!(error.reason, "NUL is not allowed", "{line:?}");
        assert_eq!(error.tag.as_ref().map(Tag::as_str), Some("a"));
    }
    assert_eq!(reject_bytes(b"\0 NOOP").tag, None);
}

#[test]
fn broken_names_parse_but_do_not_decode() {
    for (raw, utf8, expected) in [
        (
            &b"\"caf\\\"\xc3\""[..],
            true,
            "quoted string is not valid UTF-8",
        ),
        (b"\"\xff\"", false, "quoted string is not valid UTF-8"),
    ] {
        let mut line = b"a SELECT ".to_vec();
        line.extend_from_slice(raw);
        assert_eq!(reject_bytes(&line).reason, expected, "{utf8}");
    }
    // A literal carries anything but NUL; decoding then decides.
    let CommandBody::Select { mailbox, .. } = parse_bytes(b"a SELECT {4}\r\n\xff\xfeab") else {
        panic!()
    };
    assert_eq!(mailbox.decode(true), Err(NameError::InvalidUtf8));
    assert_eq!(mailbox.decode(false), Err(NameError::InvalidModifiedUtf7));
    let CommandBody::Select { mailbox, .. } = parse("a SELECT &ZeVnLIqe") else {
        panic!()
    };
    assert_eq!(mailbox.decode(false), Err(NameError::InvalidModifiedUtf7));
    let CommandBody::Create { mailbox, .. } = parse("a CREATE {5}\r\na\x01b/c") else {
        panic!()
    };
    assert_eq!(mailbox.decode(true), Err(NameError::ControlCharacter));
}

/// Fragments that reach deep into the grammar, mixed with noise.
const FRAGMENTS: &[&[u8]] = &[
    b"a ",
    b"UID ",
    b"FETCH ",
    b"SEARCH ",
    b"STORE ",
    b"SELECT ",
    b"LIST ",
    b"APPEND ",
    b"LOGIN ",
    b"AUTHENTICATE ",
    b"STATUS ",
    b"SORT ",
    b"THREAD ",
    b"ID ",
    b"ENABLE ",
    b"CREATE ",
    b"SETQUOTA ",
    b"1:*",
    b"$",
    b"*",
    b"0",
    b"4294967296",
    b",",
    b":",
    b"(",
    b")",
    b"[",
    b"]",
    b"<",
    b">",
    b".",
    b" ",
    b"\"",
    b"\\",
    b"{",
    b"}",
    b"{5}\r\n",
    b"{5+}\r\n",
    b"~{3}\r\n",
    b"{18446744073709551616}",
    b"BODY[",
    b"BODY.PEEK[",
    b"HEADER.FIELDS (",
    b"MIME",
    b"TEXT",
    b"BINARY[",
    b"<0.10>",
    b"NOT ",
    b"OR ",
    b"ALL",
    b"UID ",
    b"SINCE 1-Feb-1994",
    b"\"1-Jan-2000 00:00:00 +0000\"",
    b"RETURN (",
    b"CHARSET ",
    b"MODSEQ ",
    b"(QRESYNC (1 2 1:5 (1 2)))",
    b"(CONDSTORE)",
    b"(CHANGEDSINCE 1 VANISHED)",
    b"(UNCHANGEDSINCE 0)",
    b"+FLAGS.SILENT ",
    b"\\Seen",
    b"\\Recent",
    b"&AOQ-",
    b"&",
    b"INBOX",
    b"%",
    b"NIL",
    b"\r\n",
    b"\n",
    b"\r",
    b"\0",
    b"\xff",
    b"\xc3\xa4",
    b"UTF8 (",
    b"=",
    b"dGVzdA==",
];

fn random_input(random: &mut Random) -> Vec<u8> {
    let mut input = Vec::new();
    for _ in 0..random.below(24) {
        if random.below(4) == 0 {
            input.push(random.next() as u8);
        } else {
            input.extend_from_slice(FRAGMENTS[random.below(FRAGMENTS.len())]);
        }
    }
    if random.below(2) == 0 {
        input.extend_from_slice(b"\r\n");
    }
    input
}

/// Random input never panics in any entry point, and whatever parses can be decoded and logged.
#[test]
fn random_input_never_panics() {
    let mut random = Random(0x5eed_1ac0_ffee_2024);
    let previous = AppendMessageHeader {
        flags: Vec::new(),
        date: None,
        literal: LiteralAnnouncement {
            octets: 1,
            synchronizing: true,
            binary: true,
        },
        utf8: true,
    };
    for _ in 0..30_000 {
        let input = random_input(&mut random);
        if let Ok(command) = parse_command(&input) {
            let _ = format!("{command:?}");
            if let CommandBody::Select { mailbox, .. } | CommandBody::Create { mailbox, .. } =
                &command.body
            {
                let _ = mailbox.decode(false);
                let _ = mailbox.decode(true);
            }
        }
        let _ = parse_append_start(&input);
        let _ = parse_append_next(&input, &previous);
        let _ = literal_announcement(&input);
        let _ = literal_purpose(&input);
        let _ = decode_modified_utf7(&input);
        let _ = MailboxName::new(input.clone()).decode(true);
    }
}

/// Every RFC example with random bytes flipped, dropped or inserted.
#[test]
fn mutated_examples_never_panic() {
    let mut random = Random(0x0bad_c0de_dead_beef);
    let examples = [
        &b"A654 FETCH 2:4 (FLAGS BODY[HEADER.FIELDS (DATE FROM)] BINARY.PEEK[1.2]<0.100>) (CHANGEDSINCE 5)\r\n"[..],
        b"B04 SELECT INBOX (QRESYNC (67890007 90060115194045000 1:29997 (5000,7500 15000,22500)))\r\n",
        b"a3 LIST (SUBSCRIBED RECURSIVEMATCH) \"\" (% music/rock) RETURN (CHILDREN STATUS (MESSAGES))\r\n",
        b"P283 SEARCH RETURN (SAVE MIN) CHARSET UTF-8 (OR $ 1,3000:3021) NOT TEXT {8+}\r\nYYYYYYYY\r\n",
        b"a103 UID STORE 6,4,8 (UNCHANGEDSINCE 12121230045) +FLAGS.SILENT (\\Deleted $Junk)\r\n",
        b"A001 LOGIN {11}\r\nFRED FOOBAR {7}\r\nfat man\r\n",
        b"a UID SORT RETURN (ALL) (REVERSE DATE) UTF-8 OR SINCE 1-Feb-1994 HEADER X-A \"b\"\r\n",
        b"a APPEND {5}\r\nDraft (\\Draft) \" 7-Feb-1994 21:52:25 -0800\" UTF8 (~{300+}",
    ];
    for _ in 0..30_000 {
        let mut input = examples[random.below(examples.len())].to_vec();
        for _ in 0..1 + random.below(4) {
            let at = random.below(input.len() + 1);
            match random.below(3) {
                0 if at < input.len() => input[at] = random.next() as u8,
                1 if at < input.len() => {
                    input.remove(at);
                }
                _ => input.insert(at, random.next() as u8),
            }
        }
        if let Ok(command) = parse_command(&input) {
            let _ = format!("{command:?}");
        }
        let _ = parse_append_start(&input);
        let _ = literal_announcement(&input);
        let _ = literal_purpose(&input);
    }
}

/// Random sequence sets print and parse back to themselves.
#[test]
fn random_sequence_sets_round_trip() {
    let mut random = Random(0x1234_5678_9abc_def0);
    let random_number = |random: &mut Random| match random.below(5) {
        0 => SequenceNumber::Star,
        1 => number(u32::MAX),
        _ => number(1 + random.below(100_000) as u32),
    };
    for _ in 0..2_000 {
        let ranges = (0..1 + random.below(20))
            .map(|_| SequenceRange {
                start: random_number(&mut random),
                end: random_number(&mut random),
            })
            .collect();
        let set = SequenceSet::Ranges(ranges);
        let CommandBody::Search { criteria, .. } = parse(&format!("a SEARCH UID {set}")) else {
            panic!()
        };
        assert_eq!(criteria, SearchKey::And(vec![SearchKey::Uid(set)]));
    }
}
