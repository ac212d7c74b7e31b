//! Damaged and hostile stored analyses: decoding fails cleanly or yields an analysis that
//! renders; it never panics.

use super::analysis::{analyze, renderings};
use crate::mime::model::Kind;
use crate::mime::{Analysis, MimeError};
use crate::testing::Random;

fn exercise(analysis: &Analysis) {
    let _ = renderings(analysis);
    let _ = analysis.header_octets();
    for path in [&[][..], &[1], &[2], &[1, 1], &[1, 2, 1], &[3, 1, 1, 1]] {
        let _ = analysis.section(path);
    }
    let _ = analysis.leaf_parts().count();
    let _ = (
        analysis.from_mailbox(),
        analysis.sent_date(),
        analysis.subject(),
    );
    let _ = analysis.encode();
}

fn sample_blob() -> Vec<u8> {
    analyze(
        b"From: a@b\r\nSubject: s\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\n\
          Content-Type: message/rfc822\r\n\r\nSubject: inner\r\n\r\nhi\r\n--x\r\n\
          Content-Type: text/plain; charset=utf-8\r\nContent-Disposition: inline; a=b\r\n\
          Content-Language: en\r\n\r\nx\r\n--x--\r\n",
    )
    .encode()
}

#[test]
fn the_version_is_checked() {
    let mut blob = sample_blob();
    blob[0] = 2;
    assert_eq!(Analysis::decode(&blob), Err(MimeError::Version(2)));
    assert!(Analysis::decode(&[]).is_err());
}

#[test]
fn every_truncation_is_an_error() {
    let blob = sample_blob();
    assert!(Analysis::decode(&blob).is_ok());
    for length in 0..blob.len() {
        assert!(
            Analysis::decode(&blob[..length]).is_err(),
            "truncated to {length}"
        );
    }
    let mut longer = blob.clone();
    longer.push(0);
    assert_eq!(
        Analysis::decode(&longer),
        Err(MimeError::Corrupt("trailing octets"))
    );
}

#[test]
fn every_octet_changed_never_panics() {
    let blob = sample_blob();
    for index in 0..blob.len() {
        for value in [0u8, 1, 2, 3, 0x7f, 0x80, 0xff, blob[index] ^ 1] {
            let mut damaged = blob.clone();
            damaged[index] = value;
            if let Ok(analysis) = Analysis::decode(&damaged) {
                exercise(&analysis);
            }
        }
    }
}

#[test]
fn random_blobs_never_panic() {
    let mut random = Random(0x5eed_0b10b);
    let valid = sample_blob();
    for round in 0..20_000 {
        let length = random.below(96);
        let mut blob: Vec<u8> = (0..length).map(|_| random.next() as u8).collect();
        if round % 2 == 0 && !blob.is_empty() {
            // Mostly well-formed prefixes make deeper paths reachable.
            let keep = random.below(valid.len());
            blob.splice(0..0, valid[..keep].iter().copied());
            blob[0] = 1;
        }
        if let Ok(analysis) = Analysis::decode(&blob) {
            exercise(&analysis);
        }
    }
}

#[test]
fn deep_and_wide_hostile_trees_are_refused_not_overflowed() {
    // A chain of 5000 message parts (within PARTS_CEILING) would overflow the stack if
    // rendering trusted it.
    let mut blob = vec![1, 0, 0];
    let count = 5000u32;
    let mut count_varint = Vec::new();
    let mut value = count;
    while value >= 0x80 {
        count_varint.push(value as u8 | 0x80);
        value >>= 7;
    }
    count_varint.push(value as u8);
    blob.extend_from_slice(&count_varint);
    for _ in 0..count {
        // kind=message, ranges 0, lines 0, decoded none, media default, no params, five
        // absent strings, no disposition, no language, envelope of 11 absent strings and no
        // date.
        blob.extend_from_slice(&[2, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
        blob.extend_from_slice(&[0; 12]);
    }
    assert_eq!(
        Analysis::decode(&blob),
        Err(MimeError::Corrupt("parts nested too deep"))
    );
    // A multipart claiming more children than there are parts.
    let mut wide = Analysis::decode(&sample_blob()).expect("valid");
    wide.parts[0].kind = Kind::Multipart { children: u32::MAX };
    assert_eq!(
        Analysis::decode(&wide.encode()),
        Err(MimeError::Corrupt("missing child part"))
    );
}
