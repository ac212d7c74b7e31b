//! SEARCH keys and programs, ESEARCH / SEARCHRES return options, SORT and THREAD.

use super::*;

/// The keys of a SEARCH program (the top-level `And` unwrapped).
fn keys(line: &str) -> Vec<SearchKey> {
    match parse(line) {
        CommandBody::Search {
            criteria: SearchKey::And(keys),
            ..
        } => keys,
        other => panic!("{other:?}"),
    }
}

fn key(text: &str) -> SearchKey {
    let mut keys = keys(&format!("a SEARCH {text}"));
    assert_eq!(keys.len(), 1, "{text}");
    keys.remove(0)
}

fn date(year: u16, month: u8, day: u8) -> Date {
    Date::new(year, month, day).expect("test dates exist")
}

#[test]
fn every_key() {
    use SearchKey::*;
    let cases: Vec<(&str, SearchKey)> = vec![
        ("ALL", All),
        ("answered", Answered),
        ("BCC \"a b\"", Bcc(b"a b".to_vec())),
        ("BEFORE 1-Feb-1994", Before(date(1994, 2, 1))),
        ("BODY {3}\r\nx y", Body(b"x y".to_vec())),
        ("CC cc", Cc(b"cc".to_vec())),
        ("DELETED", Deleted),
        ("DRAFT", Draft),
        ("FLAGGED", Flagged),
        ("FROM Smith", From(b"Smith".to_vec())),
        (
            "HEADER Message-ID \"<x@y>\"",
            Header("Message-ID".into(), b"<x@y>".to_vec()),
        ),
        ("HEADER X-Empty \"\"", Header("X-Empty".into(), Vec::new())),
        ("KEYWORD $Junk", Keyword("$Junk".into())),
        ("LARGER 9223372036854775807", Larger(i64::MAX as u64)),
        ("NEW", New),
        ("NOT SEEN", Not(Box::new(Seen))),
        ("OLD", Old),
        ("ON \"05-Mar-2000\"", On(date(2000, 3, 5))),
        ("OR SEEN FLAGGED", Or(Box::new(Seen), Box::new(Flagged))),
        ("RECENT", Recent),
        ("SEEN", Seen),
        ("SENTBEFORE 29-Feb-2024", SentBefore(date(2024, 2, 29))),
        ("SENTON 31-dec-1999", SentOn(date(1999, 12, 31))),
        ("SENTSINCE 1-JAN-2000", SentSince(date(2000, 1, 1))),
        ("SINCE 5-MAR-2000", Since(date(2000, 3, 5))),
        ("SMALLER 0", Smaller(0)),
        (
            "SUBJECT \"afternoon meeting\"",
            Subject(b"afternoon meeting".to_vec()),
        ),
        (
            "TEXT \"string not in mailbox\"",
            Text(b"string not in mailbox".to_vec()),
        ),
        (
            "TO mooch@owatagu.siam.edu",
            To(b"mooch@owatagu.siam.edu".to_vec()),
        ),
        (
            "UID 1:5,7",
            Uid(SequenceSet::Ranges(vec![range(1, 5), single(7)])),
        ),
        ("UID $", Uid(SequenceSet::Saved)),
        ("UNANSWERED", Unanswered),
        ("UNDELETED", Undeleted),
        ("UNDRAFT", Undraft),
        ("UNFLAGGED", Unflagged),
        ("UNKEYWORD $Forwarded", Unkeyword("$Forwarded".into())),
        ("UNSEEN", Unseen),
        (
            "2,4:*",
            Sequence(SequenceSet::Ranges(vec![
                single(2),
                SequenceRange {
                    start: number(4),
                    end: SequenceNumber::Star,
                },
            ])),
        ),
        ("$", Sequence(SequenceSet::Saved)),
        ("(SEEN FLAGGED)", And(vec![Seen, Flagged])),
        ("MODSEQ 620162338", ModSeq(620162338)),
        ("MODSEQ 0", ModSeq(0)),
        (
            "MODSEQ \"/flags/\\\\draft\" all 620162338",
            ModSeq(620162338),
        ),
        ("MODSEQ \"/flags/$Junk\" PRIV 5", ModSeq(5)),
        (
            "SAVEDBEFORE 28-Dec-2014",
            SaveDateBefore(date(2014, 12, 28)),
        ),
        ("SAVEDON 28-Dec-2014", SaveDateOn(date(2014, 12, 28))),
        ("SAVEDSINCE 28-Dec-2014", SaveDateSince(date(2014, 12, 28))),
        ("SAVEDATESUPPORTED", SaveDateSupported),
        ("EMAILID M6d99ac3275bb4e", EmailId("M6d99ac3275bb4e".into())),
        (
            "THREADID T64b478a75b7ea9",
            ThreadId("T64b478a75b7ea9".into()),
        ),
        ("OLDER 3600", Older(3600)),
        ("YOUNGER 60", Younger(60)),
    ];
    for (text, expected) in cases {
        assert_eq!(key(text), expected, "{text}");
    }
}

#[test]
fn programs() {
    use SearchKey::*;
    // RFC 3501 §6.4.4 example.
    assert_eq!(
        keys("A282 SEARCH FLAGGED SINCE 1-Feb-1994 NOT FROM \"Smith\""),
        [
            Flagged,
            Since(date(1994, 2, 1)),
            Not(Box::new(From(b"Smith".to_vec())))
        ]
    );
    // RFC 5182 §2.4 example 4: "$" combined through OR.
    let CommandBody::Search {
        charset,
        criteria,
        returns,
        uid,
    } = parse("P283 SEARCH CHARSET UTF-8 (OR $ 1,3000:3021) TEXT {8+}\r\nYYYYYYYY")
    else {
        panic!()
    };
    assert!(!uid && returns.is_none());
    assert_eq!(charset.as_deref(), Some("UTF-8"));
    assert_eq!(
        criteria,
        And(vec![
            And(vec![Or(
                Box::new(Sequence(SequenceSet::Saved)),
                Box::new(Sequence(SequenceSet::Ranges(vec![
                    single(1),
                    range(3000, 3021)
                ])))
            )]),
            Text(b"YYYYYYYY".to_vec()),
        ])
    );
    let CommandBody::Search { charset, .. } = parse("a SEARCH CHARSET \"ISO-8859-1\" ALL") else {
        panic!()
    };
    assert_eq!(charset.as_deref(), Some("ISO-8859-1"));
    // Nested OR, as clients build for "any of these fields".
    assert_eq!(
        key("OR OR FROM x TO x (CC x)"),
        Or(
            Box::new(Or(
                Box::new(From(b"x".to_vec())),
                Box::new(To(b"x".to_vec()))
            )),
            Box::new(And(vec![Cc(b"x".to_vec())]))
        )
    );
    // A literal string may carry 8-bit octets in another charset.
    assert_eq!(
        keys("a SEARCH CHARSET ISO-8859-1 SUBJECT {3}\r\n\u{e4}!"),
        [Subject("\u{e4}!".as_bytes().to_vec())]
    );
}

#[test]
fn search_errors() {
    for (text, expected) in [
        ("", "expected a search key"),
        ("FOO", "unknown search key"),
        ("SEEN ", "expected a search key"),
        ("()", "expected a search key"),
        ("(SEEN", "expected a space"),
        ("SEEN)", "unexpected characters after the command"),
        ("OR SEEN", "expected a space"),
        ("NOT", "expected a space"),
        ("FROM", "expected a space"),
        ("BEFORE 30-Feb-2020", "invalid date"),
        ("BEFORE 1-Foo-2020", "invalid month"),
        ("BEFORE 1-Jan-20", "invalid date"),
        ("BEFORE 001-Jan-2020", "invalid date"),
        ("BEFORE \"1-Jan-2020", "invalid date"),
        ("BEFORE 0-Jan-2020", "invalid date"),
        ("LARGER x", "expected a number"),
        ("LARGER 9223372036854775808", "number too large"),
        ("OLDER 0", "number must not be zero or start with 0"),
        ("KEYWORD \\Seen", "expected a keyword"),
        ("UID", "expected a space"),
        ("UID 0", "sequence number 0 is not allowed"),
        ("EMAILID", "expected a space"),
        ("EMAILID a.b", "unexpected characters after the command"),
        ("EMAILID +", "invalid object id"),
        ("MODSEQ \"/other/x\" all 5", "invalid MODSEQ entry name"),
        (
            "MODSEQ \"/flags/\\\\seen\" both 5",
            "invalid MODSEQ entry type",
        ),
        ("MODSEQ x", "invalid mod-sequence"),
        ("HEADER", "expected a space"),
        ("HEADER Subject", "expected a space"),
        ("CHARSET", "expected a space"),
        ("CHARSET UTF-8", "expected a space"),
        ("CHARSET \"\" ALL", "invalid charset"),
        ("RETURN (MIN)", "expected a space"),
        ("RETURN (FOO) ALL", "unknown search return option"),
        ("RETURN MIN ALL", "expected return options"),
    ] {
        assert_eq!(reason(&format!("a SEARCH {text}")), expected, "{text}");
    }
    let id = "x".repeat(OBJECT_ID_OCTETS_MAX + 1);
    assert_eq!(
        reason(&format!("a SEARCH EMAILID {id}")),
        "invalid object id"
    );
    assert_eq!(reason("a SEARCH"), "expected a space");
}

#[test]
fn return_options() {
    let returns = |line: &str| match parse(line) {
        CommandBody::Search { returns, .. } => returns,
        other => panic!("{other:?}"),
    };
    use SearchReturn::*;
    assert_eq!(
        returns("A282 SEARCH RETURN (MIN COUNT) FLAGGED"),
        Some(vec![Min, Count])
    );
    assert_eq!(returns("A283 SEARCH RETURN () FLAGGED"), Some(vec![]));
    assert_eq!(
        returns(
            "C286 SEARCH RETURN (MAX SAVE min COUNT all MAX) SINCE 12-Feb-2006 NOT FROM \"Smith\""
        ),
        Some(vec![Max, Save, Min, Count, All])
    );
    let CommandBody::Search {
        uid,
        returns,
        criteria,
        ..
    } = parse("A285 UID SEARCH RETURN (MIN MAX) 1:5000")
    else {
        panic!()
    };
    assert!(uid);
    assert_eq!(returns, Some(vec![Min, Max]));
    assert_eq!(
        criteria,
        SearchKey::And(vec![SearchKey::Sequence(SequenceSet::Ranges(vec![range(
            1, 5000
        )]))])
    );
    // RFC 9051 orders RETURN before CHARSET.
    let CommandBody::Search {
        charset, returns, ..
    } = parse("B283 SEARCH RETURN (SAVE) CHARSET KOI8-R (OR $ 1,3000:3021) TEXT {4}\r\nXXXX")
    else {
        panic!()
    };
    assert_eq!(
        (charset.as_deref(), returns),
        (Some("KOI8-R"), Some(vec![Save]))
    );
}

#[test]
fn sort_commands() {
    let CommandBody::Sort {
        uid,
        criteria,
        charset,
        search,
        returns,
    } = parse("A283 SORT (SUBJECT REVERSE DATE) UTF-8 ALL")
    else {
        panic!()
    };
    assert!(!uid && returns.is_none());
    assert_eq!(
        criteria,
        [
            SortCriterion {
                reverse: false,
                key: SortKey::Subject
            },
            SortCriterion {
                reverse: true,
                key: SortKey::Date
            }
        ]
    );
    assert_eq!(charset, "UTF-8");
    assert_eq!(search, SearchKey::And(vec![SearchKey::All]));
    let CommandBody::Sort {
        uid,
        criteria,
        returns,
        search,
        ..
    } = parse(
        "a UID SORT RETURN (ALL) (arrival cc from size to displayfrom displayto) US-ASCII MODSEQ 1234 TEXT \"not in mailbox\"",
    )
    else {
        panic!()
    };
    assert!(uid);
    assert_eq!(returns, Some(vec![SearchReturn::All]));
    assert_eq!(criteria.len(), 7);
    assert_eq!(
        search,
        SearchKey::And(vec![
            SearchKey::ModSeq(1234),
            SearchKey::Text(b"not in mailbox".to_vec())
        ])
    );
    assert_eq!(reason("a SORT (FOO) UTF-8 ALL"), "unknown sort key");
    assert_eq!(reason("a SORT () UTF-8 ALL"), "unknown sort key");
    assert_eq!(reason("a SORT (DATE) ALL"), "expected a space");
    assert_eq!(reason("a SORT (DATE) UTF-8"), "expected a space");
    assert_eq!(reason("a SORT DATE UTF-8 ALL"), "expected sort criteria");
    assert_eq!(reason("a SORT (REVERSE) UTF-8 ALL"), "unknown sort key");
    let many = vec!["DATE"; SORT_CRITERIA_MAX + 1].join(" ");
    assert_eq!(
        reason(&format!("a SORT ({many}) UTF-8 ALL")),
        "too many sort criteria"
    );
}

#[test]
fn thread_commands() {
    let CommandBody::Thread {
        uid,
        algorithm,
        charset,
        search,
    } = parse("A283 THREAD ORDEREDSUBJECT UTF-8 SINCE 5-MAR-2000")
    else {
        panic!()
    };
    assert!(!uid);
    assert_eq!(algorithm, ThreadAlgorithm::OrderedSubject);
    assert_eq!(charset, "UTF-8");
    assert_eq!(
        search,
        SearchKey::And(vec![SearchKey::Since(date(2000, 3, 5))])
    );
    assert!(matches!(
        parse("A285 UID THREAD references UTF-8 SINCE 5-MAR-2000"),
        CommandBody::Thread {
            uid: true,
            algorithm: ThreadAlgorithm::References,
            ..
        }
    ));
    assert_eq!(
        reason("a THREAD REFS UTF-8 ALL"),
        "unknown thread algorithm"
    );
    assert_eq!(reason("a THREAD"), "expected a space");
}

#[test]
fn dates() {
    assert_eq!(date(1970, 1, 1).days_since_epoch(), 0);
    assert_eq!(date(2000, 3, 1).days_since_epoch(), 11_017);
    assert_eq!(date(1969, 12, 31).days_since_epoch(), -1);
    assert_eq!(date(1, 1, 1).days_since_epoch(), -719_162);
    assert_eq!(Date::new(2023, 2, 29), None);
    assert_eq!(Date::new(2000, 2, 29).map(|d| d.day), Some(29));
    assert_eq!(Date::new(1900, 2, 29), None);
    assert_eq!(Date::new(0, 1, 1), None);
    assert_eq!(Date::new(2000, 13, 1), None);
    for days in [
        -719_162, -1, 0, 1, 59, 60, 365, 10_957, 11_016, 11_017, 2_932_896,
    ] {
        let date = Date::from_days_since_epoch(days).unwrap();
        assert_eq!(date.days_since_epoch(), days, "{date}");
    }
    assert_eq!(Date::from_days_since_epoch(-719_163), None);
    assert_eq!(Date::from_days_since_epoch(2_932_897), None);
    assert_eq!(Date::from_days_since_epoch(i64::MAX), None);
    assert_eq!(Date::from_days_since_epoch(i64::MIN), None);
    assert_eq!(date(1994, 2, 1).to_string(), "1-Feb-1994");
    assert!(date(1994, 2, 1) < date(1994, 2, 2));
}
