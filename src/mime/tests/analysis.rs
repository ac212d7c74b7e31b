//! Helpers shared by the analysis tests, and tests of the streaming pass as a whole.

use crate::mime::{Analysis, Analyzer, MimeLimits};
use crate::testing::Random;

pub(crate) fn analyze(message: &[u8]) -> Analysis {
    analyze_with(message, MimeLimits::default())
}

pub(crate) fn analyze_with(message: &[u8], limits: MimeLimits) -> Analysis {
    let mut analyzer = Analyzer::with_limits(limits);
    analyzer.feed(message);
    analyzer.finish()
}

fn analyze_in_chunks(message: &[u8], sizes: &mut dyn FnMut() -> usize) -> Analysis {
    let mut analyzer = Analyzer::new();
    let mut rest = message;
    while !rest.is_empty() {
        let size = sizes().clamp(1, rest.len());
        analyzer.feed(&rest[..size]);
        analyzer.feed(b"");
        rest = &rest[size..];
    }
    analyzer.finish()
}

pub(crate) fn renderings(analysis: &Analysis) -> Vec<u8> {
    let mut out = Vec::new();
    analysis.write_envelope(&mut out);
    analysis.write_body_structure(&mut out, false);
    analysis.write_body_structure(&mut out, true);
    out
}

/// Any split of the input gives the same analysis, and the encoding round-trips.
pub(crate) fn assert_stable(message: &[u8]) {
    let whole = analyze(message);
    let encoded = whole.encode();
    for size in 1..=17 {
        let split = analyze_in_chunks(message, &mut || size);
        assert!(split.encode() == encoded, "chunks of {size} differ");
    }
    let mut random = Random(0x9e37_79b9_7f4a_7c15 ^ message.len() as u64);
    for _ in 0..8 {
        let split = analyze_in_chunks(message, &mut || 1 + random.below(64));
        assert!(split.encode() == encoded, "a random split differs");
    }
    let decoded = Analysis::decode(&encoded).expect("an encoding decodes");
    assert_eq!(decoded, whole);
    assert!(decoded.encode() == encoded, "decode then encode differs");
    assert_eq!(renderings(&decoded), renderings(&whole));
}

fn body_structure(message: &[u8]) -> String {
    let mut out = Vec::new();
    analyze(message).write_body_structure(&mut out, false);
    String::from_utf8(out).expect("ASCII rendering")
}

#[test]
fn simple_text_message() {
    let message = b"Subject: hi\r\n\r\nbody\r\n";
    let analysis = analyze(message);
    let mut out = Vec::new();
    analysis.write_body_structure(&mut out, true);
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 6 1 NIL NIL NIL NIL)"
    );
    assert_eq!(analysis.header_octets(), 15);
    assert_eq!(analysis.subject(), Some(&b"hi"[..]));
    assert_stable(message);
}

#[test]
fn empty_input_is_a_message_without_header_or_body() {
    let analysis = analyze(b"");
    assert_eq!(analysis.header_octets(), 0);
    assert_eq!(body_structure(b""), "(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 0 0)");
    let mut out = Vec::new();
    analysis.write_envelope(&mut out);
    assert_eq!(out, b"(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)");
    assert_stable(b"");
}

#[test]
fn text_lines_count_a_last_line_without_line_break() {
    // RFC 3501 body-fld-lines: lines of the body as stored.
    assert!(body_structure(b"\r\na\r\nb").ends_with(" 4 2)"));
    assert!(body_structure(b"\r\na\r\nb\r\n").ends_with(" 6 2)"));
    assert!(body_structure(b"\r\n\r\n").ends_with(" 2 1)"));
    // RFC 2046 §5.1.1: the CRLF before a boundary belongs to the boundary.
    let message = b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\none\r\n\r\n--b\r\n\r\ntwo\r\n--b\r\n\r\n\r\n--b--\r\n";
    assert_eq!(
        body_structure(message),
        "((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 5 1)\
         (\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 3 1)\
         (\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 0 0) \"mixed\")"
    );
    assert_stable(message);
}

#[test]
fn bare_lf_and_lone_cr_are_tolerated() {
    let message = b"Subject: bare\nContent-Type: multipart/mixed; boundary=x\n\n--x\n\nline\rstill\n--x--\n";
    assert_eq!(
        body_structure(message),
        "((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 10 1) \"mixed\")"
    );
    assert_stable(message);
    let analysis = analyze(message);
    assert_eq!(analysis.header_octets(), 57);
    let span = analysis.section(&[1]).unwrap();
    assert_eq!(span.header, 61..62);
    assert_eq!(span.body, 62..72);
}

#[test]
fn a_header_cut_by_a_boundary_has_no_body() {
    let message = b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/html\r\n--b\r\n--b--\r\n";
    let analysis = analyze(message);
    assert_eq!(
        body_structure(message),
        "((\"text\" \"html\" NIL NIL NIL \"7BIT\" 0 0)(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 0 0) \"mixed\")"
    );
    // The header is its lines but for the CRLF the boundary owns.
    assert_eq!(analysis.section(&[1]).unwrap().header, 50..73);
    assert_eq!(analysis.section(&[1]).unwrap().body, 73..73);
    assert_eq!(analysis.section(&[2]).unwrap().header, 80..80);
    assert_stable(message);
}
