//! Tests of the command grammar: one file per command family, the client lines of the RFCs'
//! examples, the response writers, and hostile input.

use super::*;

mod append;
mod basic;
mod fetch;
mod hostile;
mod mailbox_names;
mod rfc_examples;
mod search;
mod write;

/// Parses `line` (CRLF added when missing) and returns the body, failing the test with the
/// reason otherwise.
fn parse(line: &str) -> CommandBody {
    parse_bytes(line.as_bytes())
}

fn parse_bytes(line: &[u8]) -> CommandBody {
    let input = with_crlf(line);
    match parse_command(&input) {
        Ok(command) => command.body,
        Err(error) => panic!(
            "{:?} was refused: {}",
            String::from_utf8_lossy(line),
            error.reason
        ),
    }
}

/// The error for `line`, failing the test if it parses.
fn reject(line: &str) -> ParseError {
    reject_bytes(line.as_bytes())
}

fn reject_bytes(line: &[u8]) -> ParseError {
    let input = with_crlf(line);
    match parse_command(&input) {
        Ok(command) => panic!(
            "{:?} was accepted as {:?}",
            String::from_utf8_lossy(line),
            command.body
        ),
        Err(error) => error,
    }
}

/// The reason `line` is refused, checking the tag was kept.
fn reason(line: &str) -> &'static str {
    let error = reject(line);
    let tag = line.split(' ').next().unwrap_or_default();
    assert_eq!(
        error.tag.as_ref().map(Tag::as_str),
        Some(tag),
        "tag of {line:?}"
    );
    error.reason
}

fn with_crlf(line: &[u8]) -> Vec<u8> {
    let mut input = line.to_vec();
    if !input.ends_with(b"\r\n") {
        input.extend_from_slice(b"\r\n");
    }
    input
}

fn number(value: u32) -> SequenceNumber {
    SequenceNumber::Number(std::num::NonZeroU32::new(value).expect("test numbers are non-zero"))
}

fn range(start: u32, end: u32) -> SequenceRange {
    SequenceRange {
        start: number(start),
        end: number(end),
    }
}

fn single(value: u32) -> SequenceRange {
    range(value, value)
}

fn mailbox(name: &str) -> MailboxName {
    MailboxName::new(name.as_bytes().to_vec())
}
