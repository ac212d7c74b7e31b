//! Client lines from the example sections of RFC 3501, RFC 9051 and the extension RFCs, joined
//! onto one line where the RFC wraps them. Each must parse; the family tests check the values.

use super::*;

const EXAMPLES: &[&str] = &[
    // RFC 3501 and RFC 9051 §6 and §8.
    "a001 CAPABILITY",
    "a002 NOOP",
    "A023 LOGOUT",
    "a002 STARTTLS",
    "A001 AUTHENTICATE GSSAPI",
    "A001 AUTHENTICATE SCRAM-SHA-256",
    "a001 LOGIN SMITH SESAME",
    "A001 LOGIN {11}\r\nFRED FOOBAR {7}\r\nfat man",
    "A142 SELECT INBOX",
    "A932 EXAMINE blurdybloop",
    "A003 CREATE owatagusiam/",
    "A004 CREATE owatagusiam/blurdybloop",
    "A682 LIST \"\" *",
    "A683 DELETE blurdybloop",
    "A685 DELETE foo/bar",
    "A683 RENAME blurdybloop sarasoop",
    "Z433 RENAME INBOX old-mail",
    "A002 SUBSCRIBE #news.comp.mail.mime",
    "A002 UNSUBSCRIBE #news.comp.mail.mime",
    "A101 LIST \"\" \"\"",
    "A102 LIST #news.comp.mail.misc \"\"",
    "A103 LIST /usr/staff/jones \"\"",
    "A202 LIST ~/Mail/ %",
    "A002 LSUB \"#news.\" \"comp.mail.*\"",
    "A003 LSUB \"#news.\" \"comp.%\"",
    "A042 STATUS blurdybloop (UIDNEXT MESSAGES)",
    "FXXZ CHECK",
    "A341 CLOSE",
    "A342 UNSELECT",
    "A202 EXPUNGE",
    "A282 SEARCH FLAGGED SINCE 1-Feb-1994 NOT FROM \"Smith\"",
    "A283 SEARCH TEXT \"string not in mailbox\"",
    "A284 SEARCH CHARSET UTF-8 TEXT {6}\r\nXXXXXX",
    "A285 SEARCH CHARSET UTF-8 TEXT {12}\r\n\u{43e}\u{442}\u{43f}\u{443}\u{441}\u{43a}",
    "h search from maria@example.com",
    "A654 FETCH 2:4 (FLAGS BODY[HEADER.FIELDS (DATE FROM)])",
    "a003 fetch 12 full",
    "a004 fetch 12 body[header]",
    "A003 FETCH 4 ALL",
    "A003 STORE 2:4 +FLAGS (\\Deleted)",
    "a005 store 12 +flags \\deleted",
    "A003 COPY 2:4 MEETING",
    "A999 UID FETCH 4827313:4828442 FLAGS",
    "n1 uid copy 1:* oldmail",
    "a UID MOVE 42:69 foo",
    "A003 UID EXPUNGE 3000:3002",
    "A005 UID COPY 305:310 meeting",
    "a1 ENABLE CONDSTORE",
    "babc ENABLE IMAP4rev2",
    "t2 ENABLE CONDSTORE X-GOOD-IDEA",
    "A001 NAMESPACE",
    "A002 IDLE",
    "A002 CREATE \"INBOX.Sent Mail\"",
    "A004 CREATE \"#mh/Deleted Items\"",
    "A002 LIST \"\" \"#Users/%\"",
    "A002 LIST \"\" \"~mark/%\"",
    "f select \"/archive/projects/experiment-iv\"",
    "k2 status \"/archive/projects/experiment-iv\" (messages)",
    "l create \"///////\"",
    // RFC 2971 ID.
    "a023 ID (\"name\" \"sodr\" \"version\" \"19.34\" \"vendor\" \"Pink Floyd Music Limited\")",
    "a042 ID NIL",
    // RFC 4959 SASL-IR.
    "A01 AUTHENTICATE PLAIN",
    "A01 AUTHENTICATE PLAIN dGVzdAB0ZXN0AHRlc3Q=",
    "A01 AUTHENTICATE EXTERNAL =",
    // RFC 4978 COMPRESS.
    "a starttls",
    "b login arnt tnra",
    "c compress deflate",
    // RFC 7888 LITERAL+.
    "A001 LOGIN {11+}\r\nFRED FOOBAR {7+}\r\nfat man",
    "A001 LOGIN \"FRED FOOBAR\" \"fat man\"",
    // RFC 5258 LIST-EXTENDED.
    "A01 LIST \"\" \"*\"",
    "A02 LIST (SUBSCRIBED) \"\" \"*\"",
    "A03 LIST () \"\" \"%\" RETURN (CHILDREN)",
    "A04 LIST (REMOTE) \"\" \"%\" RETURN (CHILDREN)",
    "A05 LIST (REMOTE SUBSCRIBED) \"\" \"*\"",
    "A06 LIST (REMOTE) \"\" \"*\" RETURN (SUBSCRIBED)",
    "BBB LIST \"\" (\"INBOX\" \"Drafts\" \"Sent/%\")",
    "C04 LIST (SUBSCRIBED RECURSIVEMATCH) \"\" \"%\" RETURN (CHILDREN)",
    "D03 LIST (RECURSIVEMATCH SUBSCRIBED) \"\" \"*2\"",
    "a1 LIST \"\" (\"foo\" \"foo/*\")",
    "a3 LIST (SUBSCRIBED RECURSIVEMATCH) \"\" foo RETURN (CHILDREN)",
    "a3.1 LIST \"\" (% music/rock)",
    // RFC 5819 LIST-STATUS.
    "A01 LIST \"\" % RETURN (STATUS (MESSAGES UNSEEN))",
    "A02 LIST (SUBSCRIBED RECURSIVEMATCH) \"\" % RETURN (STATUS (MESSAGES))",
    // RFC 6154 SPECIAL-USE.
    "t1 LIST \"\" \"%\" RETURN (SPECIAL-USE)",
    "t3 LIST (SPECIAL-USE) \"\" \"*\"",
    "t2 CREATE MySpecial (USE (\\Drafts \\Sent))",
    "t3 CREATE Everything (USE (\\All))",
    // RFC 4731 ESEARCH.
    "A282 SEARCH RETURN (MIN COUNT) FLAGGED SINCE 1-Feb-1994 NOT FROM \"Smith\"",
    "A283 SEARCH RETURN () FLAGGED SINCE 1-Feb-1994 NOT FROM \"Smith\"",
    "A284 SEARCH RETURN (MIN) UNSEEN",
    "A285 UID SEARCH RETURN (MIN MAX) 1:5000",
    "A286 SEARCH RETURN (COUNT) DELETED",
    "a1 SEARCH RETURN (MIN) MODSEQ \"/flags/\\\\draft\" all 620162338",
    "a4 SEARCH RETURN (MIN COUNT) MODSEQ \"/flags/\\\\draft\" all 620162338",
    // RFC 5182 SEARCHRES.
    "A282 SEARCH RETURN (SAVE) FLAGGED SINCE 1-Feb-1994 NOT FROM \"Smith\"",
    "A283 FETCH $ (UID INTERNALDATE FLAGS RFC822.HEADER)",
    "A283 FETCH $ (UID INTERNALDATE FLAGS BODY.PEEK[HEADER])",
    "A301 UID SEARCH UID $ SMALLER 4096",
    "A301 UID SEARCH $ SMALLER 4096",
    "B283 SEARCH CHARSET KOI8-R (OR $ 1,3000:3021) TEXT {4}\r\nXXXX",
    "B283 SEARCH RETURN (SAVE) CHARSET KOI8-R (OR $ 1,3000:3021) TEXT {8+}\r\nXXXXXXXX",
    "C285 SEARCH RETURN (MAX SAVE MIN) SINCE 12-Feb-2006 NOT FROM \"Smith\"",
    "E283 COPY $ \"Other Messages\"",
    "F282 SEARCH RETURN (SAVE) KEYWORD $Junk",
    "F284 STORE $ +FLAGS.Silent (\\Deleted)",
    // RFC 7162 CONDSTORE / QRESYNC.
    "A142 SELECT INBOX (CONDSTORE)",
    "A042 STATUS blurdybloop (UIDNEXT MESSAGES HIGHESTMODSEQ)",
    "a FETCH 1:3 (MODSEQ)",
    "s100 UID FETCH 1:* (FLAGS) (CHANGEDSINCE 12345)",
    "s100 UID FETCH 300:500 (FLAGS) (CHANGEDSINCE 12345 VANISHED)",
    "a103 UID STORE 6,4,8 (UNCHANGEDSINCE 12121230045) +FLAGS.SILENT (\\Deleted)",
    "a104 STORE * (UNCHANGEDSINCE 12121230045) +FLAGS.SILENT (\\Deleted $NoJunk)",
    "A150 STORE 1:2 (UNCHANGEDSINCE 96) +FLAGS.SILENT \\Seen",
    "B001 STORE 1:7 (UNCHANGEDSINCE 320172338) +FLAGS (\\SEEN)",
    "c101 STORE 50 (UNCHANGEDSINCE 12121230045) -FLAGS.SILENT (\\Seen)",
    "a SEARCH MODSEQ \"/flags/\\\\draft\" all 620162338",
    "a SEARCH RETURN (ALL) MODSEQ 1234",
    "a SORT RETURN (ALL) (DATE) UTF-8 MODSEQ 1234",
    "A142 SELECT INBOX (QRESYNC (3857529045 20010715194032001 1:198))",
    "A02 SELECT INBOX (QRESYNC (67890007 20050715194045000 41,43:211,214:541))",
    "A03 SELECT INBOX (QRESYNC (67890007 90060115194045000 41:211,214:541))",
    "B04 SELECT INBOX (QRESYNC (67890007 90060115194045000 1:29997 (5000,7500,9000,9990:9999 15000,22500,27000,29970,29973,29976,29979,29982,29985,29988,29991,29994,29997)))",
    ". UID EXPUNGE 3000:3002",
    // RFC 8438 STATUS=SIZE.
    "A01 STATUS frop (MESSAGES SIZE UIDNEXT)",
    "A03 FETCH 1:* (RFC822.SIZE)",
    "A04 LIST \"\" % RETURN (STATUS (MESSAGES SIZE))",
    // RFC 8474 OBJECTID.
    "10 status bar (mailboxid)",
    "11 list \"\" \"*\" return (status (mailboxid))",
    "22 fetch 1:* (emailid threadid)",
    "27 search emailid M6d99ac3275bb4e",
    "28 search threadid T64b478a75b7ea9",
    // RFC 8514 SAVEDATE.
    "A101 FETCH 998 (SAVEDATE)",
    "A102 SEARCH SAVEDON 28-Dec-2014",
    "A103 SEARCH SAVEDSINCE 28-Dec-2014",
    // RFC 9208 QUOTA.
    "G0001 GETQUOTA \"!partition/sda4\"",
    "G0002 GETQUOTAROOT INBOX",
    "S0001 SETQUOTA \"#user/alice\" (STORAGE 510)",
    "S0002 SETQUOTA \"!partition/sda4\" (STORAGE 99999999)",
    "S0003 STATUS INBOX (MESSAGES DELETED DELETED-STORAGE)",
    // RFC 5256 SORT / THREAD.
    "A282 SORT (SUBJECT) UTF-8 SINCE 1-Feb-1994",
    "A283 SORT (SUBJECT REVERSE DATE) UTF-8 ALL",
    "A284 SORT (SUBJECT) US-ASCII TEXT \"not in mailbox\"",
    "A283 THREAD ORDEREDSUBJECT UTF-8 SINCE 5-MAR-2000",
    "A284 THREAD ORDEREDSUBJECT US-ASCII TEXT \"gewp\"",
    "A285 THREAD REFERENCES UTF-8 SINCE 5-MAR-2000",
    // RFC 3516 BINARY.
    "t FETCH 1 (BINARY.SIZE[1] BINARY.PEEK[1.2]<0.1024>)",
];

#[test]
fn every_example_parses() {
    for line in EXAMPLES {
        let body = parse(line);
        // Debug output is how parsed commands get logged; it must not fail either.
        let _ = format!("{body:?}");
    }
}

/// RFC 3501 §6.3.11 / RFC 3502 / RFC 4315 APPEND examples go through the streaming entry points.
#[test]
fn append_examples() {
    for line in [
        &b"A003 APPEND saved-messages (\\Seen) {310}"[..],
        b"A003 APPEND saved-messages (\\Seen) {297+}",
        b"A004 APPEND bogusname (\\Flagged) {1023}",
        b"5 append inbox \"20-Mar-2018 03:07:37 +1100\" {733}",
    ] {
        assert_eq!(literal_purpose(line), LiteralPurpose::AppendMessage);
        assert!(
            parse_append_start(line).is_ok(),
            "{}",
            String::from_utf8_lossy(line)
        );
    }
}

/// RFC 9051 §6.4.6 "m STORE 42 FLAGS f1 ... f250": a command over our flag limit is refused.
#[test]
fn many_flags_example() {
    let flags: Vec<String> = (1..=250).map(|n| format!("f{n}")).collect();
    assert_eq!(
        reason(&format!("m STORE 42 FLAGS {}", flags.join(" "))),
        "too many flags"
    );
}
