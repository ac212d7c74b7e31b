//! Sans-IO scan of one segment's bytes: yields every intact record, reports damage.
//!
//! Rules (docs/STORAGE.md, "Recovery"):
//! - a record that fails its checks and is followed by an intact record is *damage*: its range
//!   is reported, scanning resumes at the next intact record;
//! - a failure after which no intact record follows is the *tail*: the range up to the last
//!   non-zero byte is returned so the caller can truncate it (last segment) or report it (a
//!   sealed segment, where nothing may be torn);
//! - an intact frame whose payload does not decode is damage of exactly that frame.
//!
//! Resynchronisation looks for the record magic and accepts a candidate only if its header
//! checksum, seeded with the segment salt and bound to its offset, verifies.

use crate::record::{self, DecodeError, FrameContext, RECORD_MAGIC, Record};
use crate::segment::SEGMENT_HEADER_OCTETS;
use std::ops::Range;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Damage {
    pub range: Range<u64>,
    pub reason: DecodeError,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ScanOutcome {
    /// End of the last intact record (the header's end if there is none).
    pub valid_end: u64,
    pub damaged: Vec<Damage>,
    /// Bytes after `valid_end` that are not zero and hold no intact record.
    pub tail: Option<Range<u64>>,
}

/// Scans `bytes` (a whole segment file, header included), calling `on_record` with each intact
/// record's offset in file order.
pub fn scan_segment(
    bytes: &[u8],
    salt: u32,
    mut on_record: impl FnMut(u64, Record<'_>),
) -> ScanOutcome {
    let mut outcome = ScanOutcome {
        valid_end: SEGMENT_HEADER_OCTETS as u64,
        ..Default::default()
    };
    let mut offset = SEGMENT_HEADER_OCTETS;
    while offset < bytes.len() {
        let context = FrameContext {
            salt,
            offset: offset as u64,
        };
        match record::decode_frame(&bytes[offset..], context) {
            Ok((_, _, framed_octets)) => {
                let end = offset + framed_octets;
                match record::decode(&bytes[offset..], context) {
                    Ok((record, _)) => on_record(offset as u64, record),
                    Err(reason) => outcome.damaged.push(Damage {
                        range: span(offset, end),
                        reason,
                    }),
                }
                offset = end;
                outcome.valid_end = end as u64;
            }
            Err(reason) => match next_intact(bytes, offset + 1, salt) {
                Some(next) => {
                    outcome.damaged.push(Damage {
                        range: span(offset, next),
                        reason,
                    });
                    offset = next;
                }
                None => {
                    let data_end = last_nonzero_end(&bytes[offset..]) + offset;
                    if data_end > offset {
                        outcome.tail = Some(span(offset, data_end));
                    }
                    break;
                }
            },
        }
    }
    outcome
}

fn span(start: usize, end: usize) -> Range<u64> {
    start as u64..end as u64
}

fn next_intact(bytes: &[u8], from: usize, salt: u32) -> Option<usize> {
    let haystack = bytes.get(from..)?;
    memchr::memmem::find_iter(haystack, &RECORD_MAGIC)
        .map(|position| from + position)
        .find(|&candidate| {
            let context = FrameContext {
                salt,
                offset: candidate as u64,
            };
            record::decode_frame(&bytes[candidate..], context).is_ok()
        })
}

fn last_nonzero_end(bytes: &[u8]) -> usize {
    bytes
        .iter()
        .rposition(|byte| *byte != 0)
        .map_or(0, |position| position + 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{FrameContext, Record};

    const SALT: u32 = 0x5eed;

    /// A segment image: header area, `count` chunk records, then zeros (preallocated space).
    fn segment(count: u64) -> (Vec<u8>, Vec<u64>) {
        let mut bytes = vec![0u8; SEGMENT_HEADER_OCTETS];
        let mut offsets = Vec::new();
        for ingest in 0..count {
            let offset = bytes.len() as u64;
            offsets.push(offset);
            let data = vec![ingest as u8; 40 + ingest as usize];
            let record = Record::ContentChunk {
                partition: 1,
                ingest,
                data: &data,
            };
            record::encode(&record, FrameContext { salt: SALT, offset }, &mut bytes);
        }
        bytes.resize(bytes.len() + 4096, 0);
        (bytes, offsets)
    }

    fn ingests(bytes: &[u8]) -> (Vec<u64>, ScanOutcome) {
        let mut seen = Vec::new();
        let outcome = scan_segment(bytes, SALT, |_, record| {
            if let Record::ContentChunk { ingest, .. } = record {
                seen.push(ingest);
            }
        });
        (seen, outcome)
    }

    #[test]
    fn clean_segment_ends_at_the_zeros() {
        let (bytes, offsets) = segment(5);
        let (seen, outcome) = ingests(&bytes);
        assert_eq!(seen, vec![0, 1, 2, 3, 4]);
        assert!(outcome.damaged.is_empty() && outcome.tail.is_none());
        assert_eq!(outcome.valid_end, offsets[4] + 16 + 12 + 44);
    }

    #[test]
    fn torn_last_record_at_every_octet_is_a_tail() {
        let (full, offsets) = segment(5);
        let last = offsets[4] as usize;
        let end = last + 16 + 12 + 44;
        for cut in last..end {
            let mut bytes = full.clone();
            bytes[cut..end].fill(0);
            let (seen, outcome) = ingests(&bytes);
            assert_eq!(seen, vec![0, 1, 2, 3], "cut at {cut}");
            assert!(outcome.damaged.is_empty(), "cut at {cut}");
            assert_eq!(outcome.valid_end, last as u64);
            // Zeroed header octets look like free space; anything else is a tail to truncate.
            assert_eq!(
                outcome.tail.is_some(),
                full[last..cut].iter().any(|byte| *byte != 0)
            );
        }
    }

    #[test]
    fn damage_in_the_middle_is_reported_and_skipped() {
        let (full, offsets) = segment(6);
        for target in [1usize, 3] {
            for octet in [0usize, 5, 14, 20, 50] {
                let mut bytes = full.clone();
                bytes[offsets[target] as usize + octet] ^= 0x40;
                let (seen, outcome) = ingests(&bytes);
                let expected: Vec<u64> = (0..6).filter(|ingest| *ingest != target as u64).collect();
                assert_eq!(seen, expected);
                assert_eq!(outcome.damaged.len(), 1);
                assert_eq!(
                    outcome.damaged[0].range,
                    offsets[target]..offsets[target + 1]
                );
                assert!(outcome.tail.is_none());
            }
        }
    }
}
