//! Helpers shared by the analysis tests, and tests of the streaming pass as a whole.

use crate::mime::model::Kind;
use crate::mime::{Analysis, Analyzer, LeafPart, Limit, MimeLimits, TransferEncoding, transfer};
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
    assert_decoded_sizes(&whole, message);
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
    assert_eq!(
        body_structure(b""),
        "(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 0 0)"
    );
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
    let message =
        b"Subject: bare\nContent-Type: multipart/mixed; boundary=x\n\n--x\n\nline\rstill\n--x--\n";
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

/// Decoded sizes announced for BINARY.SIZE match what decoding the body range gives.
pub(crate) fn assert_decoded_sizes(analysis: &Analysis, message: &[u8]) {
    for part in &analysis.parts {
        let Some(decoded) = part.decoded_octets else {
            continue;
        };
        let body = &message[part.body.start as usize..part.body.end as usize];
        let encoding = match part.kind {
            Kind::Leaf => part.content.transfer_encoding(),
            Kind::Multipart { .. } | Kind::Message => TransferEncoding::Binary,
        };
        let Some(output) = transfer::decode(encoding, body) else {
            continue;
        };
        assert_eq!(
            output.len() as u64,
            decoded,
            "decoded size of {:?}",
            part.body
        );
    }
}

#[test]
fn decoded_sizes_match_decoding() {
    let message = b"Content-Type: multipart/mixed; boundary=z\r\n\r\n--z\r\n\
        Content-Transfer-Encoding: quoted-printable\r\n\r\n\
        a=3Db  \r\nsoft=\r\nline=\r\n--z\r\n\
        Content-Transfer-Encoding: base64\r\n\r\naGVs\r\nbG8=\r\n\r\n--z\r\n\
        Content-Transfer-Encoding: quoted-printable\r\n\r\nends at EOF  \r\n";
    let analysis = analyze(message);
    assert_eq!(analysis.section(&[1]).unwrap().decoded_octets, Some(13));
    assert_eq!(analysis.section(&[2]).unwrap().decoded_octets, Some(5));
    assert_eq!(analysis.section(&[3]).unwrap().decoded_octets, Some(13));
    assert_decoded_sizes(&analysis, message);
    assert_stable(message);
}

#[test]
fn header_values_for_search_sort_and_thread() {
    let message = b"From: \"Doe, Jane\" <Jane@Example.org>\r\nTo: g: x@y, z@w;\r\n\
        Cc: undisclosed:;\r\nSubject: Re: =?utf-8?q?hi?=\r\nDate: 1 Jan 1970 01:00:00 +0100\r\n\
        Message-ID: <m@x>\r\nIn-Reply-To: <p@x>\r\nReferences: <r@x>\r\n <p@x>\r\n\r\n";
    let analysis = analyze(message);
    assert_eq!(analysis.sent_date(), Some(0));
    assert_eq!(analysis.subject(), Some(&b"Re: =?utf-8?q?hi?="[..]));
    assert_eq!(analysis.message_id(), Some(&b"<m@x>"[..]));
    assert_eq!(analysis.in_reply_to(), Some(&b"<p@x>"[..]));
    assert_eq!(analysis.references(), Some(&b"<r@x> <p@x>"[..]));
    assert_eq!(analysis.from_mailbox(), Some(b"Jane".to_vec()));
    assert_eq!(analysis.to_mailbox(), Some(b"x".to_vec()));
    assert_eq!(analysis.cc_mailbox(), None);
    assert_eq!(analyze(b"\r\n").sent_date(), None);
    assert_eq!(analyze(b"Date: someday\r\n\r\n").sent_date(), None);
}

#[test]
fn leaf_parts_list_content_in_order() {
    let message = b"Content-Type: multipart/mixed; boundary=q\r\n\r\n--q\r\n\r\none\r\n--q\r\n\
        Content-Type: message/rfc822\r\n\r\nContent-Type: text/html; charset=\"utf-8\"\r\n\
        Content-Transfer-Encoding: base64\r\n\r\nPGI+\r\n--q--\r\n";
    let analysis = analyze(message);
    let leaves: Vec<LeafPart<'_>> = analysis.leaf_parts().collect();
    assert_eq!(leaves.len(), 2);
    assert_eq!(leaves[0].media_type, b"TEXT");
    assert_eq!(leaves[0].charset, Some(&b"US-ASCII"[..]));
    assert_eq!(
        &message[leaves[0].body.start as usize..leaves[0].body.end as usize],
        b"one"
    );
    assert_eq!(leaves[1].media_subtype, b"html");
    assert_eq!(leaves[1].charset, Some(&b"utf-8"[..]));
    assert_eq!(leaves[1].encoding, TransferEncoding::Base64);
    assert_eq!(
        &message[leaves[1].body.start as usize..leaves[1].body.end as usize],
        b"PGI+"
    );
}

#[test]
fn part_numbers_out_of_range_are_none() {
    let analysis =
        analyze(b"Content-Type: multipart/mixed; boundary=q\r\n\r\n--q\r\n\r\none\r\n--q--\r\n");
    assert!(analysis.section(&[1]).is_some());
    for part in [&[0][..], &[2], &[u32::MAX], &[1, 1], &[1, 0]] {
        assert_eq!(analysis.section(part), None, "{part:?}");
    }
    // A message that is not multipart has only part 1 (RFC 3501 §6.4.5).
    let analysis = analyze(b"Subject: x\r\n\r\nbody\r\n");
    assert_eq!(analysis.section(&[1]).unwrap().body, 14..20);
    assert_eq!(analysis.section(&[2]), None);
}

#[test]
fn top_level_message_rfc822_numbers_through_the_encapsulated_message() {
    let message = b"Content-Type: message/rfc822\r\n\r\nSubject: inner\r\n\
        Content-Type: multipart/mixed; boundary=i\r\n\r\n--i\r\n\r\na\r\n--i\r\n\r\nb\r\n--i--\r\n";
    let analysis = analyze(message);
    let one = analysis.section(&[1]).unwrap();
    assert_eq!(one.body, 32..message.len() as u64);
    assert_eq!(one.message, Some((32..93, 93..message.len() as u64)));
    let inner_second = analysis.section(&[1, 2]).unwrap();
    assert_eq!(
        &message[inner_second.body.start as usize..inner_second.body.end as usize],
        b"b"
    );
    assert_eq!(analysis.section(&[1, 3]), None);
    assert_stable(message);
}

#[test]
fn buffers_stay_bounded_whatever_the_input() {
    let mut analyzer = Analyzer::new();
    // A header that never ends, then a body line that never ends, both fed in pieces.
    analyzer.feed(b"Subject: x\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n");
    for _ in 0..2048 {
        analyzer.feed(&[b'X'; 1024]);
        analyzer.feed(b": y\r\n");
    }
    analyzer.feed(b"\r\n--");
    for _ in 0..4096 {
        analyzer.feed(&[b'-'; 1024]);
    }
    let limits = MimeLimits::default();
    assert!(analyzer.buffered_octets() <= 2 * limits.header_block_octets_max);
    let analysis = analyzer.finish();
    assert_eq!(analysis.limit_exceeded(), Some(Limit::HeaderBlockOctets));
}

/// Not a check: prints the analysis rate over 100 MiB (`cargo test --release -p postern --lib
/// throughput_probe -- --ignored --nocapture`).
#[test]
#[ignore]
fn throughput_probe() {
    let mut message = b"Subject: big\r\nContent-Type: multipart/mixed; boundary=z\r\n\r\n--z\r\n\r\nhello\r\n--z\r\nContent-Transfer-Encoding: base64\r\n\r\n".to_vec();
    while message.len() < 50 << 20 {
        message.extend_from_slice(
            b"QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAx\r\n",
        );
    }
    message.extend_from_slice(b"--z\r\nContent-Type: text/plain\r\n\r\n");
    let text_start = message.len();
    while message.len() < text_start + (50 << 20) {
        message.extend_from_slice(
            b"Some ordinary text line of a plain text body, of typical length.\r\n",
        );
    }
    message.extend_from_slice(b"--z--\r\n");
    let started = std::time::Instant::now();
    let mut analyzer = Analyzer::new();
    for chunk in message.chunks(64 * 1024) {
        analyzer.feed(chunk);
    }
    let analysis = analyzer.finish();
    eprintln!("{} MiB in {:?}", message.len() >> 20, started.elapsed());
    assert_eq!(analysis.limit_exceeded(), None);
}
