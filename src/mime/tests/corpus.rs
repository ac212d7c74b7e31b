//! The corpus in `tests/mime/corpus`: each `NAME.eml` is analysed and its renderings compared
//! byte for byte with `NAME.expected`, written by hand from the RFCs.
//!
//! An expected file has one item per line, with CR, LF, `\` and octets outside printable
//! ASCII escaped (`\r`, `\n`, `\\`, `\xNN`) so literals stay readable:
//!
//! ```text
//! ENVELOPE <rendering>
//! BODY <rendering>
//! BODYSTRUCTURE <rendering>
//! HEADER <start>..<end>
//! SECTION <part, or [] for the whole message> <span, or "none">
//! ```
//!
//! The SECTION lines name the sections to check; the test renders the same list.

use std::fmt::Write as _;
use std::path::PathBuf;

use super::analysis::{analyze, assert_stable};
use crate::mime::{Analysis, PartSpan};

fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/mime/corpus")
}

pub(crate) fn escape(bytes: &[u8]) -> String {
    let mut text = String::with_capacity(bytes.len());
    for &octet in bytes {
        match octet {
            b'\r' => text.push_str("\\r"),
            b'\n' => text.push_str("\\n"),
            b'\\' => text.push_str("\\\\"),
            0x20..=0x7e => text.push(char::from(octet)),
            _ => {
                let _ = write!(text, "\\x{octet:02X}");
            }
        }
    }
    text
}

fn span_text(span: Option<PartSpan>) -> String {
    let Some(span) = span else {
        return "none".to_string();
    };
    let mut text = format!(
        "header {}..{} body {}..{} {:?} decoded {}",
        span.header.start,
        span.header.end,
        span.body.start,
        span.body.end,
        span.encoding,
        span.decoded_octets
            .map_or("unknown".to_string(), |octets| octets.to_string()),
    );
    if let Some((header, body)) = span.message {
        let _ = write!(
            text,
            " message {}..{} {}..{}",
            header.start, header.end, body.start, body.end
        );
    }
    text
}

fn parse_part(spec: &str) -> Vec<u32> {
    if spec == "[]" {
        return Vec::new();
    }
    spec.split('.')
        .map(|number| number.parse().expect("corpus part numbers are numbers"))
        .collect()
}

/// The text an expected file should hold for `analysis`, checking the sections `expected`
/// lists.
pub(crate) fn render(analysis: &Analysis, expected: &str) -> String {
    let mut out = String::new();
    let mut bytes = Vec::new();
    analysis.write_envelope(&mut bytes);
    let _ = writeln!(out, "ENVELOPE {}", escape(&bytes));
    bytes.clear();
    analysis.write_body_structure(&mut bytes, false);
    let _ = writeln!(out, "BODY {}", escape(&bytes));
    bytes.clear();
    analysis.write_body_structure(&mut bytes, true);
    let _ = writeln!(out, "BODYSTRUCTURE {}", escape(&bytes));
    let _ = writeln!(out, "HEADER 0..{}", analysis.header_octets());
    for line in expected.lines() {
        let Some(rest) = line.strip_prefix("SECTION ") else {
            continue;
        };
        let spec = rest.split(' ').next().unwrap_or_default();
        let span = analysis.section(&parse_part(spec));
        let _ = writeln!(out, "SECTION {spec} {}", span_text(span));
    }
    out
}

#[test]
fn corpus_renders_as_expected() {
    let mut names: Vec<PathBuf> = std::fs::read_dir(corpus_dir())
        .expect("tests/mime/corpus exists")
        .map(|entry| entry.expect("corpus entry").path())
        .filter(|path| path.extension().is_some_and(|extension| extension == "eml"))
        .collect();
    names.sort();
    assert!(names.len() >= 15, "corpus has {} messages", names.len());
    let mut failures = Vec::new();
    for path in &names {
        let message = std::fs::read(path).expect("corpus message");
        let expected_path = path.with_extension("expected");
        let expected = std::fs::read_to_string(&expected_path).unwrap_or_default();
        let analysis = analyze(&message);
        assert_stable(&message);
        let actual = render(&analysis, &expected);
        if actual != expected {
            failures.push(format!(
                "{}:\n--- expected\n{expected}--- actual\n{actual}",
                path.display()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// `decode_head` reads what SEARCH needs without the part tree: the same header length,
/// envelope fields and sent day as the full decode, for every corpus message.
#[test]
fn decode_head_agrees_with_the_full_decode() {
    let mut checked = 0;
    for entry in std::fs::read_dir(corpus_dir()).expect("tests/mime/corpus exists") {
        let path = entry.expect("corpus entry").path();
        if path.extension().is_none_or(|extension| extension != "eml") {
            continue;
        }
        let message = std::fs::read(&path).expect("corpus message");
        let encoded = analyze(&message).encode();
        let full = Analysis::decode(&encoded).expect("full decode");
        let head = Analysis::decode_head(&encoded).expect("head decode");
        assert_eq!(head.header_octets(), full.header_octets(), "{path:?}");
        assert_eq!(head.sent_day_local(), full.sent_day_local(), "{path:?}");
        for name in [&b"Subject"[..], b"From", b"To", b"Cc", b"Bcc", b"Date"] {
            assert_eq!(
                head.envelope_field(name),
                full.envelope_field(name),
                "{path:?}"
            );
        }
        checked += 1;
    }
    assert!(checked >= 15, "{checked}");
    assert!(Analysis::decode_head(&[]).is_err());
    assert!(Analysis::decode_head(&[0xff, 0, 0, 0]).is_err());
}
