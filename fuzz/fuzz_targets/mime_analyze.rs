//! MIME analysis on arbitrary bytes in arbitrary splits, and stored analyses decoded from
//! arbitrary bytes: nothing may panic; every split gives the same analysis; an analysis
//! encodes, decodes and encodes again to the same bytes; announced decoded sizes
//! (BINARY.SIZE) match what decoding the section gives.

#![no_main]

use libfuzzer_sys::fuzz_target;
use postern::mime::transfer::decode;
use postern::mime::{Analysis, Analyzer, filter_header_fields};

const PATHS: &[&[u32]] = &[
    &[],
    &[1],
    &[2],
    &[1, 1],
    &[1, 2],
    &[2, 1],
    &[1, 1, 1],
    &[3, 2, 1],
];

fuzz_target!(|data: &[u8]| {
    let Some((&seed, message)) = data.split_first() else {
        return;
    };
    let whole = analyze(message, &mut || usize::MAX);
    let mut state = u32::from(seed) | 1;
    let split = analyze(message, &mut || {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        1 + state as usize % 64
    });
    let blob = whole.encode();
    assert!(split.encode() == blob, "a split changed the analysis");
    let decoded = Analysis::decode(&blob).expect("an analysis decodes");
    assert!(
        decoded.encode() == blob,
        "decode then encode changed the bytes"
    );
    exercise(&decoded, Some(message));
    if let Ok(stored) = Analysis::decode(data) {
        exercise(&stored, None);
    }
});

fn analyze(message: &[u8], sizes: &mut dyn FnMut() -> usize) -> Analysis {
    let mut analyzer = Analyzer::new();
    let mut rest = message;
    while !rest.is_empty() {
        let size = sizes().clamp(1, rest.len());
        analyzer.feed(&rest[..size]);
        rest = &rest[size..];
    }
    analyzer.finish()
}

fn exercise(analysis: &Analysis, message: Option<&[u8]>) {
    let mut out = Vec::new();
    analysis.write_envelope(&mut out);
    analysis.write_body_structure(&mut out, false);
    analysis.write_body_structure(&mut out, true);
    let _ = (
        analysis.sent_date(),
        analysis.subject(),
        analysis.references(),
    );
    let _ = (
        analysis.from_mailbox(),
        analysis.to_mailbox(),
        analysis.cc_mailbox(),
    );
    let _ = analysis.leaf_parts().count();
    for path in PATHS {
        let Some(span) = analysis.section(path) else {
            continue;
        };
        let Some(message) = message else {
            continue;
        };
        let body = &message[span.body.start as usize..span.body.end as usize];
        if let (Some(octets), Some(decoded)) = (span.decoded_octets, decode(span.encoding, body)) {
            assert_eq!(decoded.len() as u64, octets, "decoded size of {path:?}");
        }
        let header = &message[span.header.start as usize..span.header.end as usize];
        out.clear();
        filter_header_fields(header, &[b"subject", b"content-type"], false, &mut out);
        filter_header_fields(header, &[b"subject"], true, &mut out);
    }
}
