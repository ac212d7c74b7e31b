//! TRANSACTION and UPDATE: the RFC 1939 §10 session, every command, and the commit rules.

use super::driver::{Driver, UIDVALIDITY, config, converse, rfc_messages};
use super::{GREETING, lines, retr_lines};
use crate::pop3::{Action, Maildrop, MaildropOpen, MessageInfo, Session, StorageError};

const LOGGED_IN: &str = "S: +OK maildrop has 2 messages (320 octets)";

/// Logged in as mrose with the RFC maildrop.
fn logged_in() -> Driver {
    let mut driver = Driver::new(&config());
    converse(
        &mut driver,
        &[
            GREETING,
            "C: APOP mrose c4c9334bac560ecc979e58001b3e22fb",
            LOGGED_IN,
        ],
    );
    driver
}

#[test]
fn rfc1939_example_session() {
    let mut driver = Driver::new(&config());
    let mut script = lines(&[
        GREETING,
        "C: APOP mrose c4c9334bac560ecc979e58001b3e22fb",
        LOGGED_IN,
        "C: STAT",
        "S: +OK 2 320",
        "C: LIST",
        "S: +OK 2 messages (320 octets)",
        "S: 1 120",
        "S: 2 200",
        "S: .",
        "C: RETR 1",
        "S: +OK 120 octets",
    ]);
    script.extend(retr_lines(3));
    script.extend(lines(&[
        "C: DELE 1",
        "S: +OK message 1 deleted",
        "C: RETR 2",
        "S: +OK 200 octets",
    ]));
    script.extend(retr_lines(7));
    script.extend(lines(&[
        "C: DELE 2",
        "S: +OK message 2 deleted",
        "C: QUIT",
        "S: +OK POP3 server signing off (maildrop empty)",
    ]));
    converse(&mut driver, &script);
    assert!(driver.closed);
    assert_eq!(driver.commits, 1);
    assert_eq!(driver.expunged, [3, 7]);
    assert!(driver.messages.is_empty());
}

#[test]
fn rfc1939_session_pipelined_and_byte_by_byte() {
    let input = b"APOP mrose c4c9334bac560ecc979e58001b3e22fb\r\nSTAT\r\nLIST\r\nRETR 1\r\n\
        DELE 1\r\nRETR 2\r\nDELE 2\r\nQUIT\r\n";
    let mut whole = Driver::new(&config());
    let expected = whole.send(input);
    assert!(whole.closed);
    let mut server_lines = lines(&[
        &GREETING[3..],
        "+OK maildrop has 2 messages (320 octets)",
        "+OK 2 320",
        "+OK 2 messages (320 octets)",
        "1 120",
        "2 200",
        ".",
        "+OK 120 octets",
    ]);
    server_lines.extend(retr_lines(3).iter().map(|line| line[3..].to_owned()));
    server_lines.extend(lines(&["+OK message 1 deleted", "+OK 200 octets"]));
    server_lines.extend(retr_lines(7).iter().map(|line| line[3..].to_owned()));
    server_lines.extend(lines(&[
        "+OK message 2 deleted",
        "+OK POP3 server signing off (maildrop empty)",
    ]));
    let mut transcript = whole.greeting.clone();
    transcript.extend_from_slice(&expected);
    // `greeting` was not taken by `converse` here; compare everything at once.
    let joined: String = server_lines
        .iter()
        .map(|line| format!("{line}\r\n"))
        .collect();
    assert_eq!(String::from_utf8_lossy(&transcript), joined);

    let mut trickle = Driver::new(&config());
    let mut output = Vec::new();
    for octet in input {
        output.extend(trickle.send(&[*octet]));
    }
    assert_eq!(output, expected);
    assert_eq!(trickle.expunged, [3, 7]);
}

#[test]
fn listings_and_deletions() {
    let mut driver = logged_in();
    let uid = |uid: u32| format!("{UIDVALIDITY}.{uid}");
    converse(
        &mut driver,
        &[
            "C: LIST 2".to_owned(),
            "S: +OK 2 200".into(),
            "C: LIST 3".into(),
            "S: -ERR no such message".into(),
            "C: UIDL".into(),
            "S: +OK unique-id listing follows".into(),
            format!("S: 1 {}", uid(3)),
            format!("S: 2 {}", uid(7)),
            "S: .".into(),
            "C: UIDL 2".into(),
            format!("S: +OK 2 {}", uid(7)),
            "C: DELE 1".into(),
            "S: +OK message 1 deleted".into(),
            "C: DELE 1".into(),
            "S: -ERR message 1 already deleted".into(),
            // Deleted messages are invisible; numbers do not shift (RFC 1939 §5).
            "C: STAT".into(),
            "S: +OK 1 200".into(),
            "C: LIST".into(),
            "S: +OK 1 message (200 octets)".into(),
            "S: 2 200".into(),
            "S: .".into(),
            "C: UIDL".into(),
            "S: +OK unique-id listing follows".into(),
            format!("S: 2 {}", uid(7)),
            "S: .".into(),
            "C: LIST 1".into(),
            "S: -ERR message 1 already deleted".into(),
            "C: UIDL 1".into(),
            "S: -ERR message 1 already deleted".into(),
            "C: RETR 1".into(),
            "S: -ERR message 1 already deleted".into(),
            "C: TOP 1 0".into(),
            "S: -ERR message 1 already deleted".into(),
            "C: NOOP".into(),
            "S: +OK".into(),
            "C: RSET".into(),
            "S: +OK maildrop has 2 messages (320 octets)".into(),
            "C: LIST 1".into(),
            "S: +OK 1 120".into(),
            "C: DELE 2".into(),
            "S: +OK message 2 deleted".into(),
            "C: QUIT".into(),
            "S: +OK POP3 server signing off (1 message left)".into(),
        ],
    );
    assert_eq!(driver.expunged, [7]);
    assert_eq!(driver.messages.len(), 1);
}

#[test]
fn message_numbers() {
    let mut driver = logged_in();
    converse(
        &mut driver,
        &[
            "C: RETR 0",
            "S: -ERR no such message",
            "C: RETR 3",
            "S: -ERR no such message",
            "C: RETR 4294967295",
            "S: -ERR no such message",
            "C: RETR 4294967296",
            "S: -ERR invalid number",
            "C: DELE 99999999999999999999999999",
            "S: -ERR invalid number",
            "C: LIST -1",
            "S: -ERR invalid number",
            "C: UIDL +1",
            "S: -ERR invalid number",
            "C: RETR",
            "S: -ERR RETR needs a message number",
            "C: RETR 1 2",
            "S: -ERR too many arguments",
            "C: STAT",
            "S: +OK 2 320",
        ],
    );
}

#[test]
fn top() {
    let mut driver = logged_in();
    let mut script = lines(&[
        "C: TOP 2 0",
        "S: +OK top of message follows",
        "S: From: dewey",
        "S: Subject: two",
        "S: ",
        "S: .",
        "C: TOP 2 2",
        "S: +OK top of message follows",
        "S: From: dewey",
        "S: Subject: two",
        "S: ",
        "S: line 1",
        "S: line 2",
        "S: .",
        "C: TOP 2 4294967295",
        "S: +OK top of message follows",
    ]);
    script.extend(retr_lines(7));
    script.extend(lines(&[
        "C: TOP 1",
        "S: -ERR TOP needs a message number and a line count",
        "C: TOP 1 -1",
        "S: -ERR invalid number",
        "C: TOP 3 1",
        "S: -ERR no such message",
    ]));
    converse(&mut driver, &script);
}

#[test]
fn quit_commits_before_ok() {
    let mut driver = logged_in();
    converse(
        &mut driver,
        &[
            "C: DELE 2",
            "S: +OK message 2 deleted",
            "C: QUIT",
            "C: STAT",
            "S: +OK POP3 server signing off (1 message left)",
        ],
    );
    assert_eq!(driver.commits, 1);
    assert_eq!(driver.expunged, [7]);
    // Input after QUIT is never executed.
    assert_eq!(driver.buffer, b"STAT\r\n");

    // At the session's interface: nothing is written for QUIT until the commit is durable.
    let mut session = Session::new(&config());
    let mut out = Vec::new();
    let feed = session.feed(b"USER mrose\r\nPASS tanstaaf\r\n", &mut out);
    assert!(matches!(feed.action, Some(Action::VerifyPassword { .. })));
    let open = session.password_verified(true, &mut out);
    assert!(matches!(open, Some(Action::OpenMaildrop { ref user }) if user == "mrose"));
    let maildrop = Maildrop {
        uidvalidity: 9,
        messages: vec![
            MessageInfo {
                uid: 4,
                size_octets: 10,
            },
            MessageInfo {
                uid: 5,
                size_octets: 20,
            },
        ],
    };
    assert!(
        session
            .maildrop_opened(MaildropOpen::Ready(maildrop), &mut out)
            .is_none()
    );
    assert_eq!(session.user(), Some("mrose"));
    out.clear();
    let feed = session.feed(b"DELE 1\r\nQUIT\r\n", &mut out);
    assert_eq!(feed.consumed, 14);
    let Some(Action::Commit { delete_uids }) = feed.action else {
        panic!("expected a commit, got {:?}", feed.action);
    };
    assert_eq!(delete_uids, [4]);
    assert_eq!(out, b"+OK message 1 deleted\r\n");
    assert_eq!(session.feed(b"NOOP\r\n", &mut out).consumed, 0);
    out.clear();
    let close = session.committed(Ok(()), &mut out);
    assert!(matches!(close, Some(Action::Close)));
    assert_eq!(out, b"+OK POP3 server signing off (1 message left)\r\n");
    assert!(session.is_closed());
}

#[test]
fn failed_commit_deletes_nothing() {
    let mut driver = logged_in();
    driver.commit_error = Some(StorageError::Temporary);
    converse(
        &mut driver,
        &[
            "C: DELE 1",
            "C: DELE 2",
            "C: QUIT",
            "S: +OK message 1 deleted",
            "S: +OK message 2 deleted",
            "S: -ERR [SYS/TEMP] deleted messages not removed",
        ],
    );
    assert!(driver.closed);
    assert_eq!(driver.commits, 1);
    assert!(driver.expunged.is_empty());
    assert_eq!(driver.messages, rfc_messages());

    let mut driver = logged_in();
    driver.commit_error = Some(StorageError::Permanent);
    converse(
        &mut driver,
        &[
            "C: DELE 1",
            "S: +OK message 1 deleted",
            "C: QUIT",
            "S: -ERR [SYS/PERM] deleted messages not removed",
        ],
    );
}

#[test]
fn quit_without_deletions_or_after_rset_skips_commit() {
    let mut driver = logged_in();
    converse(
        &mut driver,
        &[
            "C: DELE 1",
            "C: RSET",
            "C: QUIT",
            "S: +OK message 1 deleted",
            "S: +OK maildrop has 2 messages (320 octets)",
            "S: +OK POP3 server signing off (2 messages left)",
        ],
    );
    assert!(driver.closed);
    assert_eq!(driver.commits, 0);
}

#[test]
fn empty_maildrop() {
    let mut driver = Driver::new(&config());
    driver.messages.clear();
    converse(
        &mut driver,
        &[
            GREETING,
            "C: USER mrose",
            "C: PASS tanstaaf",
            "C: STAT",
            "C: LIST",
            "C: UIDL",
            "C: RETR 1",
            "C: QUIT",
            "S: +OK send PASS",
            "S: +OK maildrop has 0 messages (0 octets)",
            "S: +OK 0 0",
            "S: +OK 0 messages (0 octets)",
            "S: .",
            "S: +OK unique-id listing follows",
            "S: .",
            "S: -ERR no such message",
            "S: +OK POP3 server signing off (maildrop empty)",
        ],
    );
}
