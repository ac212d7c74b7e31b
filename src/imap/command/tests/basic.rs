//! The RFC 3501 core commands and the small extensions (ENABLE, ID, COMPRESS, UNSELECT,
//! NAMESPACE, IDLE, MOVE, UIDPLUS, QUOTA, SPECIAL-USE CREATE, CONDSTORE/QRESYNC SELECT).

use super::*;

/// Whether a parsed body is the expected variant.
type IsVariant = fn(&CommandBody) -> bool;

#[test]
fn commands_without_arguments_in_any_case() {
    let cases: [(&str, IsVariant); 10] = [
        ("CAPABILITY", |b| matches!(b, CommandBody::Capability)),
        ("noop", |b| matches!(b, CommandBody::Noop)),
        ("LogOut", |b| matches!(b, CommandBody::Logout)),
        ("STARTTLS", |b| matches!(b, CommandBody::StartTls)),
        ("namespace", |b| matches!(b, CommandBody::Namespace)),
        ("IDLE", |b| matches!(b, CommandBody::Idle)),
        ("check", |b| matches!(b, CommandBody::Check)),
        ("CLOSE", |b| matches!(b, CommandBody::Close)),
        ("unselect", |b| matches!(b, CommandBody::Unselect)),
        ("EXPUNGE", |b| matches!(b, CommandBody::Expunge)),
    ];
    for (name, check) in cases {
        let body = parse(&format!("a1 {name}"));
        assert!(check(&body), "{name}: {body:?}");
        assert_eq!(reason(&format!("a1 {name} extra")), "unexpected arguments");
        assert_eq!(reason(&format!("a1 {name}x")), "unknown command");
    }
}

#[test]
fn command_ends_with_crlf_lf_or_nothing() {
    for input in [&b"a NOOP\r\n"[..], b"a NOOP\n", b"a NOOP"] {
        assert!(matches!(
            parse_command(input).map(|c| c.body),
            Ok(CommandBody::Noop)
        ));
    }
    let error = parse_command(b"a NOOP\r\nb NOOP\r\n").unwrap_err();
    assert_eq!(error.reason, "unexpected characters after the command");
    assert_eq!(
        parse_command(b"a NOOP\r").unwrap_err().reason,
        "unexpected characters after the command"
    );
    // RFC 3501 §9 note 2: exactly one space.
    assert_eq!(reason("a  NOOP"), "missing command");
    assert_eq!(reason("a NOOP "), "unexpected arguments");
}

#[test]
fn tags() {
    let command = parse_command(b"A.b-c]_9 NOOP\r\n").unwrap();
    assert_eq!(command.tag.as_str(), "A.b-c]_9");
    assert_eq!(command.tag.to_string(), "A.b-c]_9");
    // RFC 3501 §9: tag = 1*<any ASTRING-CHAR except "+">.
    for bad in [
        "+ NOOP",
        "a+ NOOP",
        "a(b NOOP",
        "a{1} NOOP",
        "a\"b NOOP",
        "a%b NOOP",
        "a*b NOOP",
        " NOOP",
        "\\a NOOP",
    ] {
        let error = reject(bad);
        assert_eq!(error.tag, None, "{bad:?}");
    }
    assert_eq!(reject("").reason, "missing tag");
    let long = "t".repeat(TAG_OCTETS_MAX + 1);
    assert_eq!(reject(&format!("{long} NOOP")).reason, "tag too long");
    let longest = "t".repeat(TAG_OCTETS_MAX);
    assert!(matches!(
        parse(&format!("{longest} NOOP")),
        CommandBody::Noop
    ));
    assert_eq!(reason("a"), "missing command");
    assert_eq!(reason("a FROBNICATE x"), "unknown command");
    assert_eq!(reason("a XPIG-LATIN"), "unknown command");
    assert_eq!(Tag::new("x+y"), None);
    assert_eq!(Tag::new(""), None);
}

#[test]
fn login_with_atoms_quoted_strings_and_literals() {
    let CommandBody::Login { user, password } = parse("a001 LOGIN SMITH SESAME") else {
        panic!()
    };
    assert_eq!(user, "SMITH");
    assert_eq!(password.expose(), b"SESAME");
    let CommandBody::Login { user, password } = parse(r#"a LOGIN "fred \"q\" \\" "p w""#) else {
        panic!()
    };
    assert_eq!(user, r#"fred "q" \"#);
    assert_eq!(password.expose(), b"p w");
    let CommandBody::Login { user, password } =
        parse("A001 LOGIN {11}\r\nFRED FOOBAR {7+}\r\nfat man")
    else {
        panic!()
    };
    assert_eq!(user, "FRED FOOBAR");
    assert_eq!(password.expose(), b"fat man");
    let CommandBody::Login { user, password } = parse("a LOGIN \"j\u{f6}rg@example.org\" {0}\r\n")
    else {
        panic!()
    };
    assert_eq!(user, "j\u{f6}rg@example.org");
    assert!(password.is_empty());
    // The password never shows in Debug output.
    let debug = format!("{:?}", parse("a LOGIN bob hunter2"));
    assert!(!debug.contains("hunter2"), "{debug}");
}

#[test]
fn login_errors() {
    assert_eq!(reason("a LOGIN"), "missing user name");
    assert_eq!(reason("a LOGIN bob"), "missing password");
    assert_eq!(reason("a LOGIN bob "), "missing password");
    assert_eq!(reason("a LOGIN bob pw extra"), "unexpected arguments");
    assert_eq!(reason("a LOGIN \"bob pw"), "unterminated quoted string");
    assert_eq!(
        reason("a LOGIN \"b\\ob\" pw"),
        "invalid escape in quoted string"
    );
    assert_eq!(
        reason_bytes(b"a LOGIN {3}\r\n\xff\xfe\xfd pw"),
        "user name is not valid UTF-8"
    );
    assert_eq!(reason("a LOGIN {10}\r\nshort"), "literal is truncated");
    assert_eq!(reason("a LOGIN bob (pw)"), "missing password");
    let long = "u".repeat(crate::auth::sasl::IDENTITY_OCTETS_MAX + 1);
    assert_eq!(reason(&format!("a LOGIN {long} pw")), "user name too long");
}

fn reason_bytes(line: &[u8]) -> &'static str {
    reject_bytes(line).reason
}

#[test]
fn authenticate_with_and_without_initial_response() {
    let CommandBody::Authenticate {
        mechanism,
        initial_response,
    } = parse("A001 authenticate scram-sha-256")
    else {
        panic!()
    };
    assert_eq!(mechanism, "SCRAM-SHA-256");
    assert!(initial_response.is_none());
    // RFC 4959 §3: "=" is an empty initial response.
    let CommandBody::Authenticate {
        initial_response, ..
    } = parse("A01 AUTHENTICATE EXTERNAL =")
    else {
        panic!()
    };
    assert_eq!(initial_response.map(|secret| secret.len()), Some(0));
    let CommandBody::Authenticate {
        initial_response, ..
    } = parse("A01 AUTHENTICATE PLAIN dGVzdAB0ZXN0AHRlc3Q=")
    else {
        panic!()
    };
    assert_eq!(initial_response.unwrap().expose(), b"test\0test\0test");
    assert_eq!(
        reason("a AUTHENTICATE PLAIN dGVzd"),
        "invalid base64 in initial response"
    );
    assert_eq!(reason("a AUTHENTICATE PLAIN *"), "invalid initial response");
    assert_eq!(
        reason("a AUTHENTICATE PLAIN dGVz dGVz"),
        "unexpected arguments"
    );
    assert_eq!(reason("a AUTHENTICATE"), "expected a space");
    assert_eq!(
        reason("a AUTHENTICATE \"PLAIN\""),
        "expected a mechanism name"
    );
    assert_eq!(
        reason("a AUTHENTICATE ABCDEFGHIJKLMNOPQRSTUVWXYZ"),
        "mechanism name too long"
    );
}

#[test]
fn select_and_examine() {
    let CommandBody::Select {
        mailbox: name,
        condstore,
        qresync,
    } = parse("A142 SELECT INBOX")
    else {
        panic!()
    };
    assert_eq!(name, mailbox("INBOX"));
    assert!(!condstore && qresync.is_none());
    let CommandBody::Examine { mailbox: name, .. } = parse("A932 EXAMINE \"blurdy bloop\"") else {
        panic!()
    };
    assert_eq!(name, mailbox("blurdy bloop"));
    let CommandBody::Select { mailbox: name, .. } = parse("a SELECT {5+}\r\nA]B%C") else {
        panic!()
    };
    assert_eq!(name.as_bytes(), b"A]B%C");
    assert_eq!(reason("a SELECT"), "missing mailbox name");
    assert_eq!(reason("a SELECT "), "missing mailbox name");
    assert_eq!(reason("a SELECT a b"), "expected SELECT parameters");
    assert_eq!(reason("a SELECT a (FOO)"), "unknown SELECT parameter");
    assert_eq!(
        reason("a SELECT a%"),
        "unexpected characters after the command"
    );
}

#[test]
fn select_with_condstore_and_qresync() {
    let CommandBody::Select { condstore, .. } = parse("A142 SELECT INBOX (CONDSTORE)") else {
        panic!()
    };
    assert!(condstore);
    let CommandBody::Examine { qresync, .. } =
        parse("A02 EXAMINE INBOX (QRESYNC (67890007 20050715194045000 41,43:211,214:541))")
    else {
        panic!()
    };
    let qresync = qresync.unwrap();
    assert_eq!(qresync.uid_validity, 67890007);
    assert_eq!(qresync.modseq, 20050715194045000);
    assert_eq!(
        qresync.known_uids,
        Some(SequenceSet::Ranges(vec![
            single(41),
            range(43, 211),
            range(214, 541)
        ]))
    );
    assert_eq!(qresync.seq_match, None);
    // RFC 7162 §3.2.5.2 example, B04.
    let CommandBody::Select { qresync, .. } = parse(
        "B04 SELECT INBOX (QRESYNC (67890007 90060115194045000 1:29997 (5000,7500,9000,9990:9999 15000,22500,27000,29970,29973,29976,29979,29982,29985,29988,29991,29994,29997)))",
    ) else {
        panic!()
    };
    let (sequence_numbers, uids) = qresync.unwrap().seq_match.unwrap();
    assert_eq!(sequence_numbers.to_string(), "5000,7500,9000,9990:9999");
    assert_eq!(uids.ranges().unwrap().len(), 13);
    // Sequence match data without known UIDs.
    let CommandBody::Select { qresync, .. } = parse("a SELECT x (QRESYNC (1 2 (1:2 5:6)))") else {
        panic!()
    };
    let qresync = qresync.unwrap();
    assert!(qresync.known_uids.is_none() && qresync.seq_match.is_some());
    let CommandBody::Select {
        condstore, qresync, ..
    } = parse("a SELECT x (CONDSTORE QRESYNC (1 2))")
    else {
        panic!()
    };
    assert!(condstore && qresync.is_some());
    assert_eq!(reason("a SELECT x (QRESYNC (0 2))"), "invalid UIDVALIDITY");
    assert_eq!(reason("a SELECT x (QRESYNC (1 0))"), "invalid mod-sequence");
    // RFC 7162 §7: "*" is not allowed in known-uids and seq-match-data.
    assert_eq!(
        reason("a SELECT x (QRESYNC (1 2 1:*))"),
        "* is not allowed here"
    );
    assert_eq!(
        reason("a SELECT x (QRESYNC (1 2 $))"),
        "$ is not allowed here"
    );
    assert_eq!(
        reason("a SELECT x (QRESYNC (1 2 1 (1 *)))"),
        "* is not allowed here"
    );
    assert_eq!(
        reason("a SELECT x (QRESYNC (1 2) QRESYNC (1 2))"),
        "duplicate QRESYNC parameter"
    );
    assert_eq!(reason("a SELECT x (QRESYNC (1 2)"), "expected a space");
}

#[test]
fn create_delete_rename_subscribe() {
    let CommandBody::Create {
        mailbox: name,
        special_use,
    } = parse("A004 CREATE owatagusiam/blurdybloop")
    else {
        panic!()
    };
    assert_eq!(name, mailbox("owatagusiam/blurdybloop"));
    assert!(special_use.is_empty());
    // RFC 6154 §5.
    let CommandBody::Create { special_use, .. } =
        parse("t2 CREATE MySpecial (USE (\\Drafts \\sent \\X-Other))")
    else {
        panic!()
    };
    assert_eq!(special_use, ["\\Drafts", "\\Sent", "\\X-Other"]);
    let CommandBody::Create { special_use, .. } = parse("t2 CREATE MySpecial (USE ())") else {
        panic!()
    };
    assert!(special_use.is_empty());
    assert_eq!(reason("a CREATE x (FOO (1))"), "unknown CREATE parameter");
    assert_eq!(
        reason("a CREATE x (USE (Drafts))"),
        "expected a special-use attribute"
    );
    assert!(matches!(
        parse("A683 DELETE blurdybloop"),
        CommandBody::Delete { .. }
    ));
    let CommandBody::Rename { from, to } = parse("A683 RENAME blurdybloop \"sara soop\"") else {
        panic!()
    };
    assert_eq!((from, to), (mailbox("blurdybloop"), mailbox("sara soop")));
    assert_eq!(reason("a RENAME x"), "missing mailbox name");
    assert!(matches!(
        parse("A002 SUBSCRIBE #news.comp.mail.mime"),
        CommandBody::Subscribe { .. }
    ));
    assert!(matches!(
        parse("A002 UNSUBSCRIBE #news.comp.mail.mime"),
        CommandBody::Unsubscribe { .. }
    ));
    assert_eq!(reason("a DELETE"), "missing mailbox name");
    assert_eq!(reason("a DELETE a b"), "unexpected arguments");
}

#[test]
fn status_items() {
    let CommandBody::Status {
        mailbox: name,
        items,
    } = parse(
        "A042 STATUS blurdybloop (UIDNEXT MESSAGES recent uidvalidity UNSEEN DELETED DELETED-STORAGE SIZE HIGHESTMODSEQ APPENDLIMIT MAILBOXID messages)",
    )
    else {
        panic!()
    };
    assert_eq!(name, mailbox("blurdybloop"));
    use StatusItem::*;
    assert_eq!(
        items,
        [
            UidNext,
            Messages,
            Recent,
            UidValidity,
            Unseen,
            Deleted,
            DeletedStorage,
            Size,
            HighestModSeq,
            AppendLimit,
            MailboxId
        ]
    );
    assert_eq!(reason("a STATUS x ()"), "expected a status item");
    assert_eq!(reason("a STATUS x (FOO)"), "unknown status item");
    assert_eq!(reason("a STATUS x"), "missing status items");
    assert_eq!(
        reason("a STATUS x MESSAGES"),
        "expected a list of status items"
    );
    let many = vec!["MESSAGES"; STATUS_ITEMS_MAX + 1].join(" ");
    assert_eq!(
        reason(&format!("a STATUS x ({many})")),
        "too many status items"
    );
}

#[test]
fn copy_move_and_uid_forms() {
    let CommandBody::Copy {
        uid,
        set,
        mailbox: name,
    } = parse("A003 COPY 2:4 MEETING")
    else {
        panic!()
    };
    assert!(!uid);
    assert_eq!(set, SequenceSet::Ranges(vec![range(2, 4)]));
    assert_eq!(name, mailbox("MEETING"));
    let CommandBody::Move { uid, set, .. } = parse("a UID MOVE 42:69 foo") else {
        panic!()
    };
    assert!(uid);
    assert_eq!(set.to_string(), "42:69");
    let CommandBody::Copy { uid, set, .. } = parse("n1 uid copy 1:* oldmail") else {
        panic!()
    };
    assert!(uid);
    assert!(set.has_star());
    let CommandBody::UidExpunge(set) = parse("A003 UID EXPUNGE 3000:3002") else {
        panic!()
    };
    assert_eq!(set, SequenceSet::Ranges(vec![range(3000, 3002)]));
    assert_eq!(reason("a UID EXPUNGE"), "missing sequence set");
    assert_eq!(reason("a COPY 1"), "missing mailbox name");
    assert_eq!(reason("a COPY"), "missing sequence set");
    assert_eq!(reason("a UID"), "missing UID command");
    assert_eq!(reason("a UID LOGIN a b"), "unknown UID command");
    assert_eq!(reason("a UID"), "missing UID command");
}

#[test]
fn store_forms() {
    let CommandBody::Store {
        uid,
        set,
        unchanged_since,
        operation,
        silent,
        flags,
    } = parse("A003 STORE 2:4 +FLAGS (\\Deleted)")
    else {
        panic!()
    };
    assert!(!uid && !silent && unchanged_since.is_none());
    assert_eq!(set, SequenceSet::Ranges(vec![range(2, 4)]));
    assert_eq!(operation, StoreOperation::Add);
    assert_eq!(flags, [Flag::Deleted]);
    let CommandBody::Store {
        operation,
        silent,
        flags,
        ..
    } = parse("a005 store 12 -flags.silent \\deleted \\SEEN $Forwarded")
    else {
        panic!()
    };
    assert_eq!(operation, StoreOperation::Remove);
    assert!(silent);
    assert_eq!(
        flags,
        [
            Flag::Deleted,
            Flag::Seen,
            Flag::Keyword("$Forwarded".into())
        ]
    );
    let CommandBody::Store {
        operation, flags, ..
    } = parse("a STORE 1 FLAGS ()")
    else {
        panic!()
    };
    assert_eq!(operation, StoreOperation::Replace);
    assert!(flags.is_empty());
    // RFC 7162 §3.1.3.
    let CommandBody::Store {
        uid,
        unchanged_since,
        silent,
        ..
    } = parse("a103 UID STORE 6,4,8 (UNCHANGEDSINCE 12121230045) +FLAGS.SILENT (\\Deleted)")
    else {
        panic!()
    };
    assert!(uid && silent);
    assert_eq!(unchanged_since, Some(12121230045));
    let CommandBody::Store {
        unchanged_since, ..
    } = parse("a102 STORE 12 (UNCHANGEDSINCE 0) +FLAGS.SILENT (\\Seen)")
    else {
        panic!()
    };
    assert_eq!(unchanged_since, Some(0));
    assert_eq!(
        reason("a STORE 1 +FLAGS (\\Recent)"),
        "\\Recent cannot be set"
    );
    assert_eq!(
        reason("a STORE 1 +FLAGS \\Recent"),
        "\\Recent cannot be set"
    );
    assert_eq!(reason("a STORE 1 +FLAGS (\\Bogus)"), "unknown system flag");
    assert_eq!(
        reason("a STORE 1 FLAG (\\Seen)"),
        "expected FLAGS, +FLAGS or -FLAGS"
    );
    assert_eq!(reason("a STORE 1 FLAGS"), "missing flags");
    assert_eq!(reason("a STORE 1 FLAGS (\\Seen"), "expected a space");
    assert_eq!(
        reason("a STORE 1 (FOO 1) FLAGS ()"),
        "unknown STORE modifier"
    );
    assert_eq!(
        reason("a STORE 1 (UNCHANGEDSINCE 1 UNCHANGEDSINCE 2) FLAGS ()"),
        "duplicate UNCHANGEDSINCE"
    );
    assert_eq!(reason("a STORE 1 FLAGS (a b"), "expected a space");
    let many = vec!["k"; FLAGS_PER_COMMAND_MAX + 1].join(" ");
    assert_eq!(
        reason(&format!("a STORE 1 FLAGS ({many})")),
        "too many flags"
    );
    assert_eq!(reason(&format!("a STORE 1 FLAGS {many}")), "too many flags");
    let long = "k".repeat(KEYWORD_OCTETS_MAX + 1);
    assert_eq!(
        reason(&format!("a STORE 1 FLAGS ({long})")),
        "keyword too long"
    );
}

#[test]
fn enable_id_compress() {
    let CommandBody::Enable(capabilities) = parse("t2 ENABLE CONDSTORE X-GOOD-IDEA utf8=accept")
    else {
        panic!()
    };
    assert_eq!(capabilities, ["CONDSTORE", "X-GOOD-IDEA", "UTF8=ACCEPT"]);
    assert_eq!(reason("a ENABLE"), "missing capability");
    assert_eq!(reason("a ENABLE (X)"), "expected a capability");
    let too_many = vec!["X"; ENABLE_CAPABILITIES_MAX + 1].join(" ");
    assert_eq!(
        reason(&format!("a ENABLE {too_many}")),
        "too many capabilities"
    );

    let CommandBody::Id(fields) = parse(
        "a023 ID (\"name\" \"sodr\" \"version\" \"19.34\" \"vendor\" \"Pink Floyd Music Limited\" \"x\" NIL)",
    ) else {
        panic!()
    };
    let fields = fields.unwrap();
    assert_eq!(fields[0], ("name".to_owned(), Some("sodr".to_owned())));
    assert_eq!(fields[3], ("x".to_owned(), None));
    assert!(matches!(parse("a042 ID NIL"), CommandBody::Id(None)));
    assert!(matches!(parse("a042 ID ()"), CommandBody::Id(Some(fields)) if fields.is_empty()));
    assert_eq!(reason("a ID"), "expected a space");
    assert_eq!(reason("a ID FOO"), "expected a parameter list or NIL");
    assert_eq!(reason("a ID (\"name\")"), "expected a space");
    let field = "f".repeat(ID_FIELD_OCTETS_MAX + 1);
    assert_eq!(
        reason(&format!("a ID (\"{field}\" NIL)")),
        "ID field name too long"
    );
    let value = "v".repeat(ID_VALUE_OCTETS_MAX + 1);
    assert_eq!(
        reason(&format!("a ID (\"f\" \"{value}\")")),
        "ID value too long"
    );
    let pairs = vec!["\"f\" NIL"; ID_FIELDS_MAX + 1].join(" ");
    assert_eq!(reason(&format!("a ID ({pairs})")), "too many ID fields");

    let CommandBody::Compress { algorithm } = parse("c compress deflate") else {
        panic!()
    };
    assert_eq!(algorithm, "DEFLATE");
    assert_eq!(reason("c COMPRESS"), "expected a space");
}

#[test]
fn quota_commands() {
    let CommandBody::GetQuota { root } = parse("G0001 GETQUOTA \"!partition/sda4\"") else {
        panic!()
    };
    assert_eq!(root, "!partition/sda4");
    let CommandBody::GetQuota { root } = parse("G0001 GETQUOTA \"\"") else {
        panic!()
    };
    assert_eq!(root, "");
    assert!(matches!(
        parse("G0002 GETQUOTAROOT INBOX"),
        CommandBody::GetQuotaRoot { .. }
    ));
    let CommandBody::SetQuota { root, limits } =
        parse("S0001 SETQUOTA \"#user/alice\" (STORAGE 510 message 7)")
    else {
        panic!()
    };
    assert_eq!(root, "#user/alice");
    assert_eq!(
        limits,
        [("STORAGE".to_owned(), 510), ("MESSAGE".to_owned(), 7)]
    );
    assert!(
        matches!(parse("a SETQUOTA \"\" ()"), CommandBody::SetQuota { limits, .. } if limits.is_empty())
    );
    assert_eq!(reason("a SETQUOTA x (STORAGE)"), "expected a space");
    assert_eq!(reason("a SETQUOTA x (STORAGE -1)"), "expected a number");
    assert_eq!(reason("a GETQUOTA"), "missing quota root");
}

#[test]
fn list_and_lsub() {
    let CommandBody::List {
        reference,
        patterns,
        selection,
        returns,
        extended,
    } = parse("A101 LIST \"\" \"\"")
    else {
        panic!()
    };
    assert_eq!(reference, mailbox(""));
    assert_eq!(patterns, [mailbox("")]);
    assert_eq!(selection, ListSelection::default());
    assert_eq!(returns, ListReturn::default());
    assert!(!extended);
    let CommandBody::List {
        reference,
        patterns,
        ..
    } = parse("A202 LIST ~/Mail/ %")
    else {
        panic!()
    };
    assert_eq!(
        (reference, patterns),
        (mailbox("~/Mail/"), vec![mailbox("%")])
    );
    let CommandBody::List { patterns, .. } = parse("a LIST \"\" foo/*/b%r]") else {
        panic!()
    };
    assert_eq!(patterns, [mailbox("foo/*/b%r]")]);
    let CommandBody::Lsub { reference, pattern } = parse("A002 LSUB \"#news.\" \"comp.mail.*\"")
    else {
        panic!()
    };
    assert_eq!(
        (reference, pattern),
        (mailbox("#news."), mailbox("comp.mail.*"))
    );
    assert_eq!(reason("a LIST"), "missing mailbox name");
    assert_eq!(reason("a LIST \"\""), "missing mailbox pattern");
    assert_eq!(reason("a LSUB \"\""), "missing mailbox pattern");
}

#[test]
fn list_extended() {
    let CommandBody::List {
        selection,
        returns,
        extended,
        patterns,
        ..
    } = parse(
        "a3 LIST (SUBSCRIBED RECURSIVEMATCH remote special-use) \"\" (% music/rock \"x y\") RETURN (CHILDREN SUBSCRIBED SPECIAL-USE STATUS (MESSAGES UNSEEN))",
    )
    else {
        panic!()
    };
    assert!(extended);
    assert_eq!(
        selection,
        ListSelection {
            subscribed: true,
            remote: true,
            recursive_match: true,
            special_use: true
        }
    );
    assert_eq!(
        returns,
        ListReturn {
            subscribed: true,
            children: true,
            special_use: true,
            status: Some(vec![StatusItem::Messages, StatusItem::Unseen])
        }
    );
    assert_eq!(
        patterns,
        [mailbox("%"), mailbox("music/rock"), mailbox("x y")]
    );
    for line in [
        "a2 LIST () \"\" %",
        "a1 LIST \"\" (\"foo\")",
        "a LIST \"\" % RETURN ()",
    ] {
        assert!(
            matches!(parse(line), CommandBody::List { extended: true, .. }),
            "{line}"
        );
    }
    // RFC 5258 §3.1: RECURSIVEMATCH alone (or with REMOTE only) is a BAD.
    assert_eq!(
        reason("a LIST (RECURSIVEMATCH) \"\" %"),
        "RECURSIVEMATCH needs SUBSCRIBED"
    );
    assert_eq!(
        reason("a LIST (REMOTE RECURSIVEMATCH) \"\" %"),
        "RECURSIVEMATCH needs SUBSCRIBED"
    );
    assert_eq!(
        reason("a LIST (FOO) \"\" %"),
        "unknown LIST selection option"
    );
    assert_eq!(
        reason("a LIST \"\" % RETURN (MYRIGHTS)"),
        "unknown LIST return option"
    );
    assert_eq!(reason("a LIST \"\" % RETURN"), "expected a space");
    assert_eq!(reason("a LIST \"\" % FOO ()"), "expected RETURN");
    assert_eq!(reason("a LIST \"\" ()"), "expected a mailbox pattern");
    assert_eq!(
        reason("a LIST \"\" % RETURN (STATUS (MESSAGES) STATUS (UNSEEN))"),
        "duplicate STATUS return option"
    );
    let many = vec!["%"; LIST_PATTERNS_MAX + 1].join(" ");
    assert_eq!(
        reason(&format!("a LIST \"\" ({many})")),
        "too many patterns"
    );
}

#[test]
fn append_through_parse_command_is_refused() {
    assert_eq!(reason("a APPEND INBOX"), "missing message literal");
    assert_eq!(reason("a APPEND INBOX (\\Seen)"), "missing message literal");
    assert_eq!(reason("a APPEND"), "missing mailbox name");
    assert_eq!(
        reason("a APPEND INBOX {3}\r\nabc"),
        "unexpected characters after the message literal"
    );
}

#[test]
fn strings_and_literals() {
    // Literal forms: synchronizing, non-synchronizing (RFC 7888), and bare LF after the
    // announcement.
    for line in [
        "a LOGIN {3}\r\nbob {2}\r\npw",
        "a LOGIN {3+}\r\nbob {2+}\r\npw",
        "a LOGIN {3}\nbob pw",
    ] {
        let CommandBody::Login { user, password } = parse(line) else {
            panic!()
        };
        assert_eq!(
            (user.as_str(), password.expose()),
            ("bob", &b"pw"[..]),
            "{line:?}"
        );
    }
    // Literal8 is for APPEND only (RFC 3516 §4.4).
    assert_eq!(
        reason("a LOGIN ~{3}\r\nbob pw"),
        "binary literal not allowed here"
    );
    // "~" is an atom character otherwise.
    assert!(matches!(parse("a LOGIN ~bob pw"), CommandBody::Login { user, .. } if user == "~bob"));
    assert_eq!(
        reason("a LOGIN {3}bob pw"),
        "expected CRLF after a literal announcement"
    );
    assert_eq!(
        reason("a LOGIN {3++}\r\nbob pw"),
        "invalid literal announcement"
    );
    assert_eq!(reason("a LOGIN {}\r\n pw"), "expected a number");
    assert_eq!(reason("a LOGIN {-1}\r\n pw"), "expected a number");
    assert_eq!(
        reason("a LOGIN {99999999999999999999}\r\n pw"),
        "number too large"
    );
    // A quoted string with UTF-8 is fine (RFC 9051 §9 QUOTED-CHAR), broken UTF-8 is not.
    assert!(matches!(
        parse("a SELECT \"Entw\u{fc}rfe\""),
        CommandBody::Select { .. }
    ));
    assert_eq!(
        reason_bytes(b"a SELECT \"Entw\xfcrfe\""),
        "quoted string is not valid UTF-8"
    );
    // A literal may carry any octet but NUL.
    assert!(matches!(
        parse_bytes(b"a SELECT {2}\r\n\xfc\x01"),
        CommandBody::Select { .. }
    ));
    assert_eq!(reason_bytes(b"a SELECT {2}\r\na\0"), "NUL is not allowed");
    assert_eq!(reason_bytes(b"a SELECT \"a\0\""), "NUL is not allowed");
    assert_eq!(reason_bytes(b"a SELECT a\0"), "NUL is not allowed");
    // 8-bit octets are not atom characters.
    assert_eq!(reason_bytes(b"a SELECT \xc3\xa4"), "missing mailbox name");
}

#[test]
fn sequence_sets() {
    let set = |text: &str| {
        let CommandBody::Fetch { set, .. } = parse(&format!("a FETCH {text} FLAGS")) else {
            panic!()
        };
        set
    };
    assert_eq!(set("1"), SequenceSet::Ranges(vec![single(1)]));
    assert_eq!(set("2,4:7,9,12:*").to_string(), "2,4:7,9,12:*");
    assert_eq!(set("4294967295").to_string(), "4294967295");
    // `*:1` and `4:2` are legal and kept as written.
    let star_first = set("*:1");
    assert_eq!(star_first.to_string(), "*:1");
    assert_eq!(star_first.ranges().unwrap()[0].bounds(10), (1, 10));
    assert_eq!(set("4:2").ranges().unwrap()[0].bounds(10), (2, 4));
    assert!(set("4:2").contains(3, 10));
    assert!(!set("4:2").contains(5, 10));
    assert!(set("*").contains(10, 10));
    assert_eq!(set("$"), SequenceSet::Saved);
    assert!(!SequenceSet::Saved.contains(1, 1));
    for (text, expected) in [
        ("0", "sequence number 0 is not allowed"),
        ("1:0", "sequence number 0 is not allowed"),
        ("00", "sequence number 0 is not allowed"),
        ("01", "sequence number must not start with 0"),
        ("4294967296", "sequence number too large"),
        ("99999999999999999999999", "sequence number too large"),
        ("1,", "expected a sequence number"),
        ("1:", "expected a sequence number"),
        (",1", "expected a sequence number"),
        ("1,$", "$ cannot be combined with other numbers"),
        ("$,1", "$ cannot be combined with other numbers"),
        ("$:1", "$ cannot be combined with other numbers"),
        ("-1", "expected a sequence number"),
    ] {
        assert_eq!(reason(&format!("a FETCH {text} FLAGS")), expected, "{text}");
    }
}
