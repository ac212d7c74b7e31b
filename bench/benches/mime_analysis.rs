//! MIME analysis at ingest and the FETCH response built from its stored form.
//!
//! `analyze`: a `postern::mime::Analyzer` fed the message in 64 KiB chunks, finished, and its
//! analysis encoded into the blob stored beside the message, as delivery does
//! (`src/mailstore/delivery.rs`); throughput in MB/s of message. Three seeded shapes at 4 KiB,
//! 64 KiB and 1 MiB: plain text; multipart/mixed of a multipart/alternative (text, HTML) and a
//! base64 PDF; multipart/mixed with a forwarded message/rfc822 that is itself
//! multipart/alternative.
//!
//! `envelope_and_bodystructure`: what `FETCH (ENVELOPE BODYSTRUCTURE)` costs per message once
//! the blob is read: `Analysis::decode`, `write_envelope` and `write_body_structure` (with
//! extension data). The blob depends on the structure, not the size: the 64 KiB messages.
//!
//! `cargo bench -p postern-bench --bench mime_analysis`

mod support;

use divan::Bencher;
use divan::counter::{BytesCount, ItemsCount};
use postern::mime::{Analysis, Analyzer};
use support::{KIB, MIB, Shape};

/// The size of the chunks delivery hands the analyzer.
const CHUNK_OCTETS: usize = 64 * KIB;
/// Responses per sample of `envelope_and_bodystructure`: fixed, since a sample of one would be
/// mostly timer.
const RESPONSE_SAMPLE_SIZE: u32 = 64;

fn main() {
    divan::main();
}

#[derive(Debug, Clone, Copy)]
struct Case {
    shape: Shape,
    octets: usize,
}

impl std::fmt::Display for Case {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            formatter,
            "{}, {}",
            self.shape,
            support::size_name(self.octets)
        )
    }
}

const SHAPES: [Shape; 3] = [Shape::Plain, Shape::Attachment, Shape::Forwarded];

const CASES: [Case; 9] = {
    let sizes = [4 * KIB, 64 * KIB, MIB];
    let mut cases = [Case {
        shape: Shape::Plain,
        octets: 0,
    }; 9];
    let mut index = 0;
    while index < 9 {
        cases[index] = Case {
            shape: SHAPES[index / 3],
            octets: sizes[index % 3],
        };
        index += 1;
    }
    cases
};

fn analyze(message: &[u8]) -> Vec<u8> {
    let mut analyzer = Analyzer::new();
    for chunk in message.chunks(CHUNK_OCTETS) {
        analyzer.feed(chunk);
    }
    analyzer.finish().encode()
}

/// The message, checked to analyse within the limits into as many leaf parts as it was built
/// with (so the benchmark measures the multipart path, not the single-part fallback).
fn message(shape: Shape, octets: usize) -> Vec<u8> {
    let message = support::message(shape, octets, 0x313e ^ octets as u64);
    let analysis = Analysis::decode(&analyze(&message)).expect("blob decodes");
    assert_eq!(analysis.limit_exceeded(), None, "{shape} exceeded a limit");
    let leaves = match shape {
        Shape::Plain => 1,
        Shape::Attachment => 3,
        Shape::Forwarded => 3,
    };
    assert_eq!(analysis.leaf_parts().count(), leaves, "{shape}");
    message
}

#[divan::bench(args = CASES)]
fn analyze_and_encode(bencher: Bencher, case: Case) {
    let message = message(case.shape, case.octets);
    bencher
        .counter(BytesCount::new(message.len()))
        .bench_local(|| analyze(divan::black_box(&message)));
}

#[divan::bench(args = SHAPES, sample_size = RESPONSE_SAMPLE_SIZE)]
fn envelope_and_bodystructure(bencher: Bencher, shape: Shape) {
    let blob = analyze(&message(shape, 64 * KIB));
    let mut out = Vec::with_capacity(4 * KIB);
    bencher.counter(ItemsCount::new(1u32)).bench_local(|| {
        out.clear();
        let analysis = Analysis::decode(divan::black_box(&blob)).expect("blob decodes");
        analysis.write_envelope(&mut out);
        out.push(b' ');
        analysis.write_body_structure(&mut out, true);
        out.len()
    });
}
