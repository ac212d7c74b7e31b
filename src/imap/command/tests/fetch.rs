//! FETCH items, sections, partials, BINARY and the CONDSTORE / QRESYNC modifiers.

use super::*;

fn items(line: &str) -> Vec<FetchItem> {
    match parse(line) {
        CommandBody::Fetch { items, .. } => items,
        other => panic!("{other:?}"),
    }
}

/// The one item of a FETCH.
fn item(line: &str) -> FetchItem {
    let mut items = items(line);
    assert_eq!(items.len(), 1, "{line}");
    items.remove(0)
}

fn section(part: &[u32], text: Option<SectionText>) -> Section {
    Section {
        part: part.to_vec(),
        text,
    }
}

#[test]
fn macros_expand() {
    use FetchItem::*;
    assert_eq!(
        items("a003 fetch 12 full"),
        [Flags, InternalDate, Rfc822Size, Envelope, Body]
    );
    assert_eq!(
        items("a FETCH 1 ALL"),
        [Flags, InternalDate, Rfc822Size, Envelope]
    );
    assert_eq!(items("a FETCH 1 fast"), [Flags, InternalDate, Rfc822Size]);
    // RFC 3501 §6.4.5: macros are not fetch-atts; they cannot be in a list.
    assert_eq!(reason("a FETCH 1 (ALL)"), "unknown fetch item");
    assert_eq!(reason("a FETCH 1 ALL FLAGS"), "unexpected arguments");
}

#[test]
fn simple_items() {
    use FetchItem::*;
    assert_eq!(
        items(
            "a FETCH 1:* (flags INTERNALDATE RFC822.SIZE RFC822 RFC822.HEADER RFC822.TEXT ENVELOPE BODY BODYSTRUCTURE UID MODSEQ EMAILID THREADID SAVEDATE)"
        ),
        [
            Flags,
            InternalDate,
            Rfc822Size,
            Rfc822,
            Rfc822Header,
            Rfc822Text,
            Envelope,
            Body,
            BodyStructure,
            Uid,
            ModSeq,
            EmailId,
            ThreadId,
            SaveDate
        ]
    );
    assert_eq!(items("A999 UID FETCH 4827313:4828442 FLAGS"), [Flags]);
    assert_eq!(reason("a FETCH 1 ()"), "expected a fetch item");
    assert_eq!(reason("a FETCH 1 (FLAGS"), "expected a space");
    assert_eq!(reason("a FETCH 1 (FLAGS )"), "expected a fetch item");
    assert_eq!(reason("a FETCH 1 BODY.PEEK"), "expected a section");
    assert_eq!(reason("a FETCH 1 FROB"), "unknown fetch item");
    assert_eq!(reason("a FETCH 1"), "missing fetch items");
    assert_eq!(reason("a FETCH"), "missing sequence set");
    let many = vec!["UID"; FETCH_ITEMS_MAX + 1].join(" ");
    assert_eq!(
        reason(&format!("a FETCH 1 ({many})")),
        "too many fetch items"
    );
    let most = vec!["UID"; FETCH_ITEMS_MAX].join(" ");
    assert_eq!(items(&format!("a FETCH 1 ({most})")).len(), FETCH_ITEMS_MAX);
}

#[test]
fn body_sections() {
    let cases: Vec<(&str, bool, Section)> = vec![
        ("BODY[]", false, section(&[], None)),
        ("body.peek[]", true, section(&[], None)),
        (
            "BODY[HEADER]",
            false,
            section(&[], Some(SectionText::Header)),
        ),
        ("BODY[TEXT]", false, section(&[], Some(SectionText::Text))),
        ("BODY[1]", false, section(&[1], None)),
        ("BODY[1.2.3]", false, section(&[1, 2, 3], None)),
        (
            "BODY[4.2.HEADER]",
            false,
            section(&[4, 2], Some(SectionText::Header)),
        ),
        (
            "BODY[3.MIME]",
            false,
            section(&[3], Some(SectionText::Mime)),
        ),
        (
            "BODY[2.TEXT]",
            false,
            section(&[2], Some(SectionText::Text)),
        ),
        (
            "BODY[HEADER.FIELDS (DATE FROM)]",
            false,
            section(
                &[],
                Some(SectionText::HeaderFields(vec![
                    "DATE".into(),
                    "FROM".into(),
                ])),
            ),
        ),
        (
            "BODY.PEEK[1.HEADER.FIELDS.NOT (\"X-Spam\" {4}\r\nList)]",
            true,
            section(
                &[1],
                Some(SectionText::HeaderFieldsNot(vec![
                    "X-Spam".into(),
                    "List".into(),
                ])),
            ),
        ),
    ];
    for (text, expected_peek, expected_section) in cases {
        let FetchItem::BodySection {
            peek,
            section,
            partial,
        } = item(&format!("a FETCH 1 {text}"))
        else {
            panic!("{text}")
        };
        assert_eq!(
            (peek, &section, partial),
            (expected_peek, &expected_section, None),
            "{text}"
        );
    }
    for (text, expected) in [
        ("BODY[MIME]", "MIME needs a part number"),
        ("BODY[0]", "invalid section part"),
        ("BODY[1.0]", "invalid section part"),
        ("BODY[01]", "invalid section part"),
        ("BODY[1.]", "invalid section"),
        ("BODY[HEADER.FIELDS]", "expected a space"),
        ("BODY[HEADER.FIELDS ()]", "expected a string"),
        ("BODY[HEADER.FIELDS (a:b)]", "invalid header field name"),
        ("BODY[HEADER.FIELDS (\"a b\")]", "invalid header field name"),
        ("BODY[HEADER.FIELDS (\"\")]", "invalid header field name"),
        ("BODY[TEXT.FIELDS]", "invalid section"),
        ("BODY[HEADER", "invalid section"),
        ("BODY[4294967296]", "invalid section part"),
    ] {
        assert_eq!(reason(&format!("a FETCH 1 {text}")), expected, "{text}");
    }
    let many = vec!["X"; HEADER_FIELDS_MAX + 1].join(" ");
    assert_eq!(
        reason(&format!("a FETCH 1 BODY[HEADER.FIELDS ({many})]")),
        "too many header fields"
    );
}

#[test]
fn partial_ranges() {
    let FetchItem::BodySection { partial, .. } = item("a FETCH 1 BODY[]<0.2048>") else {
        panic!()
    };
    assert_eq!(
        partial,
        Some(Partial {
            offset: 0,
            length: 2048
        })
    );
    // RFC 9051 §9: number64 offsets and lengths.
    let FetchItem::BodySection { partial, .. } =
        item("a FETCH 1 BODY.PEEK[1]<4294967296.9223372036854775807>")
    else {
        panic!()
    };
    assert_eq!(
        partial,
        Some(Partial {
            offset: 1 << 32,
            length: i64::MAX as u64
        })
    );
    for bad in [
        "BODY[]<0>",
        "BODY[]<0.0>",
        "BODY[]<1.x>",
        "BODY[]<-1.5>",
        "BODY[]<0.9223372036854775808>",
        "BODY[]<0.5",
    ] {
        assert_eq!(
            reason(&format!("a FETCH 1 {bad}")),
            "invalid partial range",
            "{bad}"
        );
    }
}

#[test]
fn binary_items() {
    assert_eq!(
        items("a FETCH 1 (BINARY[1.2] BINARY.PEEK[]<0.100> BINARY.SIZE[3])"),
        [
            FetchItem::Binary {
                peek: false,
                part: vec![1, 2],
                partial: None
            },
            FetchItem::Binary {
                peek: true,
                part: vec![],
                partial: Some(Partial {
                    offset: 0,
                    length: 100
                })
            },
            FetchItem::BinarySize { part: vec![3] },
        ]
    );
    assert_eq!(reason("a FETCH 1 BINARY[HEADER]"), "invalid section part");
    assert_eq!(reason("a FETCH 1 BINARY[1.TEXT]"), "invalid section");
    assert_eq!(reason("a FETCH 1 BINARY.SIZE"), "expected a section");
}

#[test]
fn condstore_and_qresync_modifiers() {
    let CommandBody::Fetch {
        changed_since,
        vanished,
        uid,
        ..
    } = parse("s100 UID FETCH 300:500 (FLAGS) (CHANGEDSINCE 12345 VANISHED)")
    else {
        panic!()
    };
    assert!(uid && vanished);
    assert_eq!(changed_since, Some(12345));
    let CommandBody::Fetch {
        changed_since,
        vanished,
        ..
    } = parse("a FETCH 1:* FLAGS (changedsince 1)")
    else {
        panic!()
    };
    assert_eq!((changed_since, vanished), (Some(1), false));
    // RFC 7162 §3.2.6.
    assert_eq!(
        reason("a FETCH 1 FLAGS (CHANGEDSINCE 5 VANISHED)"),
        "VANISHED requires UID FETCH"
    );
    assert_eq!(
        reason("a UID FETCH 1 FLAGS (VANISHED)"),
        "VANISHED requires CHANGEDSINCE"
    );
    assert_eq!(
        reason("a FETCH 1 FLAGS (CHANGEDSINCE 0)"),
        "invalid mod-sequence"
    );
    assert_eq!(
        reason("a FETCH 1 FLAGS (CHANGEDSINCE 1 CHANGEDSINCE 2)"),
        "duplicate CHANGEDSINCE"
    );
    assert_eq!(
        reason("a FETCH 1 FLAGS (PARTIAL 1:5)"),
        "unknown fetch modifier"
    );
    assert_eq!(reason("a FETCH 1 FLAGS ()"), "unknown fetch modifier");
}

#[test]
fn saved_result_as_set() {
    let CommandBody::Fetch { set, items, .. } =
        parse("A283 FETCH $ (UID INTERNALDATE FLAGS RFC822.HEADER)")
    else {
        panic!()
    };
    assert_eq!(set, SequenceSet::Saved);
    assert_eq!(items.len(), 4);
}

#[test]
fn section_display_round_trips() {
    for text in [
        "BODY[]",
        "BODY[1.2.3]",
        "BODY[1.MIME]",
        "BODY[2.HEADER]",
        "BODY[TEXT]",
        "BODY[HEADER.FIELDS (DATE FROM)]",
        "BODY[4.HEADER.FIELDS.NOT (X-A Received)]",
    ] {
        let FetchItem::BodySection { section, .. } = item(&format!("a FETCH 1 {text}")) else {
            panic!()
        };
        assert_eq!(format!("BODY[{section}]"), text);
    }
}
