//! Messages over a limit are served as a single part (see the module documentation). The
//! large ones are generated here rather than checked in.

use super::analysis::{analyze, analyze_with, assert_stable};
use crate::mime::limits::{ENCODED_OCTETS_MAX, HEADER_BLOCK_OCTETS_CEILING, PARAMETERS_CEILING};
use crate::mime::{Analysis, Analyzer, Limit, MimeLimits, TransferEncoding};

fn body(analysis: &Analysis) -> String {
    let mut out = Vec::new();
    analysis.write_body_structure(&mut out, true);
    String::from_utf8(out).expect("ASCII rendering")
}

fn nested_multiparts(depth: usize) -> Vec<u8> {
    let mut message = b"Subject: deep\r\n".to_vec();
    for level in 0..depth {
        message.extend_from_slice(
            format!("Content-Type: multipart/mixed; boundary=\"b{level}\"\r\n\r\n--b{level}\r\n")
                .as_bytes(),
        );
    }
    message.extend_from_slice(b"\r\nleaf\r\n");
    for level in (0..depth).rev() {
        message.extend_from_slice(format!("--b{level}--\r\n").as_bytes());
    }
    message
}

#[test]
fn depth_within_the_limit_is_described_in_full() {
    // The message, 30 multiparts inside it and the leaf: 32 levels.
    let message = nested_multiparts(31);
    let analysis = analyze(&message);
    assert_eq!(analysis.limit_exceeded(), None);
    let path = vec![1u32; 31];
    let leaf = analysis.section(&path).expect("the leaf");
    assert_eq!(
        &message[leaf.body.start as usize..leaf.body.end as usize],
        b"leaf"
    );
    assert_stable(&message);
}

#[test]
fn too_deep_is_served_as_one_octet_stream_part() {
    let message = nested_multiparts(32);
    let analysis = analyze(&message);
    assert_eq!(analysis.limit_exceeded(), Some(Limit::Depth));
    let header_end = analysis.header_octets();
    assert_eq!(header_end, 63);
    assert_eq!(
        body(&analysis),
        format!(
            "(\"APPLICATION\" \"OCTET-STREAM\" (\"boundary\" \"b0\") NIL NIL \"7BIT\" {} NIL NIL NIL NIL)",
            message.len() as u64 - header_end
        )
    );
    let part = analysis.section(&[1]).expect("part 1 is the body");
    assert_eq!(part.body, header_end..message.len() as u64);
    assert_eq!(part.decoded_octets, Some(message.len() as u64 - header_end));
    assert_eq!(analysis.section(&[1, 1]), None);
    assert_stable(&message);
}

#[test]
fn too_many_parts() {
    let limits = MimeLimits {
        parts_max: 5,
        ..MimeLimits::default()
    };
    let mut message = b"Content-Type: multipart/mixed; boundary=p\r\n\r\n".to_vec();
    for _ in 0..4 {
        message.extend_from_slice(b"--p\r\n\r\nx\r\n");
    }
    message.extend_from_slice(b"--p--\r\n");
    assert_eq!(analyze_with(&message, limits).limit_exceeded(), None);
    message.splice(0..0, b"Subject: five\r\n".iter().copied());
    message.extend_from_slice(b"--p\r\n\r\nafter the close\r\n");
    assert_eq!(analyze_with(&message, limits).limit_exceeded(), None);
    let mut over = message.clone();
    over.truncate(over.len() - b"--p--\r\n--p\r\n\r\nafter the close\r\n".len());
    over.extend_from_slice(b"--p\r\n\r\nfifth\r\n--p--\r\n");
    let analysis = analyze_with(&over, limits);
    assert_eq!(analysis.limit_exceeded(), Some(Limit::Parts));
    assert_eq!(analysis.subject(), Some(&b"five"[..]));
    assert!(body(&analysis).starts_with("(\"APPLICATION\" \"OCTET-STREAM\" (\"boundary\" \"p\")"));
    // The default limit, generated.
    let mut message = b"Content-Type: multipart/mixed; boundary=p\r\n\r\n".to_vec();
    for _ in 0..1000 {
        message.extend_from_slice(b"--p\r\n\r\nx\r\n");
    }
    let analysis = analyze(&message);
    assert_eq!(analysis.limit_exceeded(), Some(Limit::Parts));
    assert_stable(&message);
}

#[test]
fn header_over_its_octet_limit_keeps_the_fields_before_it() {
    let mut message = b"Subject: big\r\nContent-Type: text/html\r\n".to_vec();
    while message.len() < 200 * 1024 {
        message.extend_from_slice(b"X-Filler: ");
        message.extend_from_slice(&[b'f'; 300]);
        message.extend_from_slice(b"\r\n");
    }
    message.extend_from_slice(b"From: late@example.com\r\n\r\nbody\r\n");
    let analysis = analyze(&message);
    assert_eq!(analysis.limit_exceeded(), Some(Limit::HeaderBlockOctets));
    assert_eq!(analysis.header_octets(), message.len() as u64 - 6);
    assert_eq!(analysis.subject(), Some(&b"big"[..]));
    assert_eq!(analysis.from_mailbox(), None);
    // text/html was read before the limit: the declared type stands.
    assert_eq!(
        body(&analysis),
        "(\"text\" \"html\" NIL NIL NIL \"7BIT\" 6 1 NIL NIL NIL NIL)"
    );
    assert_stable(&message);
}

#[test]
fn header_cut_before_its_content_type_is_octet_stream() {
    let limits = MimeLimits {
        header_block_octets_max: 64,
        ..MimeLimits::default()
    };
    let message = b"Subject: a subject long enough to matter\r\nContent-Type: text/plain;\r\n \
                    charset=utf-8\r\n\r\nbody\r\n";
    let analysis = analyze_with(message, limits);
    assert_eq!(analysis.limit_exceeded(), Some(Limit::HeaderBlockOctets));
    assert_eq!(
        analysis.subject(),
        Some(&b"a subject long enough to matter"[..])
    );
    assert_eq!(
        body(&analysis),
        "(\"APPLICATION\" \"OCTET-STREAM\" NIL NIL NIL \"7BIT\" 6 NIL NIL NIL NIL)"
    );
}

#[test]
fn too_many_header_fields() {
    let limits = MimeLimits {
        header_fields_max: 3,
        ..MimeLimits::default()
    };
    let ok = b"A: 1\r\nB: 2\r\n folded\r\nSubject: s\r\n\r\n";
    assert_eq!(analyze_with(ok, limits).limit_exceeded(), None);
    let over = b"A: 1\r\nB: 2\r\nSubject: s\r\nC: 4\r\n\r\n";
    let analysis = analyze_with(over, limits);
    assert_eq!(analysis.limit_exceeded(), Some(Limit::HeaderFields));
    assert_eq!(analysis.subject(), Some(&b"s"[..]));
    assert_eq!(analysis.header_octets(), over.len() as u64);
}

#[test]
fn too_many_parameters() {
    let mut message = b"Content-Type: text/plain".to_vec();
    for index in 0..65 {
        message.extend_from_slice(format!(";\r\n p{index}=v").as_bytes());
    }
    message.extend_from_slice(b"\r\nSubject: params\r\n\r\nbody\r\n");
    let analysis = analyze(&message);
    assert_eq!(analysis.limit_exceeded(), Some(Limit::Parameters));
    assert_eq!(analysis.subject(), Some(&b"params"[..]));
    assert!(body(&analysis).starts_with("(\"APPLICATION\" \"OCTET-STREAM\" NIL"));
    assert_stable(&message);
}

#[test]
fn a_nested_limit_degrades_the_whole_message() {
    let limits = MimeLimits {
        header_block_octets_max: 100,
        ..MimeLimits::default()
    };
    let message = b"Content-Type: multipart/mixed; boundary=n\r\n\r\n--n\r\n\
        Content-Type: text/plain\r\nX-Long: 0123456789012345678901234567890123456789012345678901234567890123456789\r\n\
        \r\nbody\r\n--n--\r\n";
    let analysis = analyze_with(message, limits);
    assert_eq!(analysis.limit_exceeded(), Some(Limit::HeaderBlockOctets));
    let part = analysis.section(&[1]).expect("the body");
    assert_eq!(part.body, 45..message.len() as u64);
    assert_eq!(part.encoding, TransferEncoding::SevenBit);
    assert_eq!(analysis.section(&[2]), None);
}

#[test]
fn the_encoding_stays_within_its_bound() {
    // Parts allowed, but their descriptions would not fit in ENCODED_OCTETS_MAX.
    let description = "d".repeat(1000);
    let mut message = b"Content-Type: multipart/mixed; boundary=e\r\n\r\n".to_vec();
    for _ in 0..900 {
        message.extend_from_slice(
            format!("--e\r\nContent-Description: {description}\r\n\r\nx\r\n").as_bytes(),
        );
    }
    message.extend_from_slice(b"--e--\r\n");
    let analysis = analyze(&message);
    assert_eq!(analysis.limit_exceeded(), Some(Limit::EncodedOctets));
    assert!(analysis.encode().len() < 1024);
    // Just under: every part is kept.
    let mut message = b"Content-Type: multipart/mixed; boundary=e\r\n\r\n".to_vec();
    for _ in 0..400 {
        message.extend_from_slice(
            format!("--e\r\nContent-Description: {description}\r\n\r\nx\r\n").as_bytes(),
        );
    }
    let analysis = analyze(&message);
    assert_eq!(analysis.limit_exceeded(), None);
    let encoded = analysis.encode();
    assert!(encoded.len() > 400_000 && encoded.len() <= ENCODED_OCTETS_MAX);
}

#[test]
fn largest_message_header_fits_the_encoding() {
    // Limits at their ceilings, every field IMAP keeps as large as the header block allows,
    // and parameter sections that triple in size when RFC 2231 joining percent-encodes them.
    let limits = MimeLimits {
        header_block_octets_max: HEADER_BLOCK_OCTETS_CEILING,
        parameters_max: PARAMETERS_CEILING,
        ..MimeLimits::default()
    };
    let mut message = b"Content-Type: application/x; a*0*=''x".to_vec();
    for index in 1..PARAMETERS_CEILING {
        message.extend_from_slice(format!(";\r\n a*{index}=\"").as_bytes());
        message.extend_from_slice(&[b' '; 100]);
        message.push(b'"');
    }
    message.extend_from_slice(b"\r\n");
    for name in ["Subject", "From", "To", "Cc", "Bcc", "Content-Description"] {
        message.extend_from_slice(format!("{name}: ").as_bytes());
        message.extend_from_slice(&[b'a'; 1500]);
        message.extend_from_slice(b"\r\n");
    }
    message.extend_from_slice(b"Content-Language: a");
    while message.len() < HEADER_BLOCK_OCTETS_CEILING - 4 {
        message.extend_from_slice(b",a");
    }
    message.extend_from_slice(b"\r\n\r\n");
    let analysis = analyze_with(&message, limits);
    assert_eq!(analysis.limit_exceeded(), Some(Limit::Parameters));
    // The tags were too many, the Content-Type was kept: over 300 KiB of strings.
    let encoded = analysis.encode();
    assert!(encoded.len() > 300 * 1024, "{}", encoded.len());
    assert!(encoded.len() <= ENCODED_OCTETS_MAX);
}

#[test]
#[should_panic(expected = "MIME limits beyond their ceilings")]
fn limits_beyond_the_ceilings_are_a_configuration_bug() {
    let _ = Analyzer::with_limits(MimeLimits {
        depth_max: 1000,
        ..MimeLimits::default()
    });
}
