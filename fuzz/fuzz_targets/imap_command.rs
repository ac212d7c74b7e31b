//! The IMAP command grammar on arbitrary bytes: no entry point may panic, and the parts that
//! have a response-side writer round-trip (parse → write → parse gives the same value).

#![no_main]

use libfuzzer_sys::fuzz_target;
use postern::imap::command::{
    AppendMessageHeader, CommandBody, LiteralAnnouncement, MailboxName, SequenceSet,
    encode_mailbox_name, literal_announcement, literal_purpose, parse_append_next,
    parse_append_start, parse_command,
};

fuzz_target!(|data: &[u8]| {
    let _ = literal_announcement(data);
    let _ = literal_purpose(data);
    let _ = parse_append_start(data);
    for utf8 in [false, true] {
        let previous = AppendMessageHeader {
            flags: Vec::new(),
            date: None,
            literal: LiteralAnnouncement {
                octets: 1,
                synchronizing: true,
                binary: utf8,
            },
            utf8,
        };
        let _ = parse_append_next(data, &previous);
    }
    let Ok(command) = parse_command(data) else {
        return;
    };
    let _ = format!("{command:?}");
    match &command.body {
        CommandBody::Select { mailbox, .. }
        | CommandBody::Create { mailbox, .. }
        | CommandBody::Delete { mailbox } => mailbox_round_trip(mailbox),
        CommandBody::Fetch { set, .. } | CommandBody::Copy { set, .. } => set_round_trip(set),
        _ => {}
    }
});

/// A name that decodes is written for a response and parses back to the same name.
fn mailbox_round_trip(mailbox: &MailboxName) {
    for utf8 in [false, true] {
        let Ok(name) = mailbox.decode(utf8) else {
            continue;
        };
        let mut line = b"a SELECT ".to_vec();
        encode_mailbox_name(&name, utf8, &mut line);
        line.extend_from_slice(b"\r\n");
        let Ok(command) = parse_command(&line) else {
            panic!("written name does not parse: {line:?}");
        };
        let CommandBody::Select { mailbox, .. } = command.body else {
            panic!("written name parsed as another command");
        };
        assert_eq!(mailbox.decode(utf8).as_deref(), Ok(name.as_str()));
    }
}

/// A sequence set prints in the wire form and parses back to itself.
fn set_round_trip(set: &SequenceSet) {
    let line = format!("a FETCH {set} FLAGS\r\n");
    let Ok(command) = parse_command(line.as_bytes()) else {
        panic!("written set does not parse: {line}");
    };
    let CommandBody::Fetch { set: parsed, .. } = command.body else {
        panic!("written set parsed as another command");
    };
    assert_eq!(&parsed, set);
}
