//! Streaming scan of one segment: yields every intact record, reports damage, and never holds
//! more than one window (`SCAN_WINDOW_OCTETS_DEFAULT`, 1 MiB) of the file — or, for a record
//! larger than the window, that one record after its checksum verified piecewise.
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
//! checksum, seeded with the segment salt and bound to its offset, and its payload checksum
//! verify.
//!
//! The scan is written against `Source` (positional reads), so the same code runs over glommio
//! files in recovery, over `std::fs` in the offline checker and over memory in tests.

use crate::disk::{DiskError, SegmentFile};
use crate::limits::{RECORD_FRAME_OCTETS_MAX, SCAN_WINDOW_OCTETS_DEFAULT, SCAN_WINDOW_OCTETS_MIN};
use crate::record::{
    self, DecodeError, FrameContext, FrameHeader, RECORD_HEADER_OCTETS, RECORD_MAGIC, Record,
};
use crate::segment::SEGMENT_HEADER_OCTETS;
use std::ops::{Deref, Range};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Damage {
    pub range: Range<u64>,
    pub reason: DecodeError,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ScanOutcome {
    /// End of the last intact record (where the scan started if there is none).
    pub valid_end: u64,
    pub damaged: Vec<Damage>,
    /// Bytes after `valid_end` that are not zero and hold no intact record.
    pub tail: Option<Range<u64>>,
}

/// Positional reads of one file.
#[allow(async_fn_in_trait)]
pub trait Source {
    type Bytes: Deref<Target = [u8]>;
    /// Up to `octets` octets at `offset`; fewer only at the end of the file.
    async fn read_at(&self, offset: u64, octets: usize) -> Result<Self::Bytes, DiskError>;
}

impl<F: SegmentFile> Source for F {
    type Bytes = F::Bytes;
    async fn read_at(&self, offset: u64, octets: usize) -> Result<F::Bytes, DiskError> {
        SegmentFile::read_at(self, offset, octets).await
    }
}

/// A file image in memory (tests).
pub struct MemorySource<'a>(pub &'a [u8]);

impl Source for MemorySource<'_> {
    type Bytes = Vec<u8>;
    async fn read_at(&self, offset: u64, octets: usize) -> Result<Vec<u8>, DiskError> {
        let start = usize::try_from(offset).map_or(self.0.len(), |o| o.min(self.0.len()));
        let end = start.saturating_add(octets).min(self.0.len());
        Ok(self.0[start..end].to_vec())
    }
}

/// What to scan: `file_octets` of a file whose records start at `from`.
#[derive(Debug, Clone, Copy)]
pub struct ScanRange {
    pub from: u64,
    pub file_octets: u64,
    pub salt: u32,
    pub window_octets: usize,
}

/// The part of the file currently in memory.
struct Window<'s, S: Source> {
    source: &'s S,
    file_octets: u64,
    window_octets: usize,
    start: u64,
    bytes: Option<S::Bytes>,
}

impl<S: Source> Window<'_, S> {
    fn end(&self) -> u64 {
        self.start + self.bytes.as_ref().map_or(0, |bytes| bytes.len() as u64)
    }

    async fn load(&mut self, offset: u64) -> Result<(), DiskError> {
        let remaining = self.file_octets.saturating_sub(offset);
        let octets = usize::try_from(remaining).map_or(self.window_octets, |remaining| {
            remaining.min(self.window_octets)
        });
        self.bytes = None;
        self.bytes = Some(self.source.read_at(offset, octets).await?);
        self.start = offset;
        Ok(())
    }

    /// `octets` (at most a window) at `offset`; shorter only at the end of the file.
    async fn get(&mut self, offset: u64, octets: usize) -> Result<&[u8], DiskError> {
        debug_assert!(octets <= self.window_octets);
        let wanted_end = (offset + octets as u64).min(self.file_octets);
        if offset < self.start || wanted_end > self.end() {
            self.load(offset).await?;
        }
        let bytes = self.bytes.as_deref().unwrap_or(&[]);
        let first = (offset - self.start) as usize;
        let last = ((wanted_end.max(offset) - self.start) as usize).min(bytes.len());
        Ok(&bytes[first.min(last)..last])
    }

    /// Whatever the window holds from `offset` on, at least `octets_min` unless the file ends.
    async fn rest(&mut self, offset: u64, octets_min: usize) -> Result<&[u8], DiskError> {
        let wanted_end = (offset + octets_min as u64).min(self.file_octets);
        if offset < self.start || wanted_end > self.end() {
            self.load(offset).await?;
        }
        let bytes = self.bytes.as_deref().unwrap_or(&[]);
        let first = ((offset - self.start) as usize).min(bytes.len());
        Ok(&bytes[first..])
    }
}

/// A frame at some offset: intact (with its size) or why not.
enum Frame {
    Intact { header: FrameHeader },
    Bad(DecodeError),
}

/// Scans a segment, calling `on_record` with each intact record's offset in file order.
/// Memory: one window, or one record larger than it.
pub async fn scan<S: Source>(
    source: &S,
    range: ScanRange,
    mut on_record: impl FnMut(u64, Record<'_>),
) -> Result<ScanOutcome, DiskError> {
    assert!(range.window_octets >= SCAN_WINDOW_OCTETS_MIN);
    let mut window = Window {
        source,
        file_octets: range.file_octets,
        window_octets: range.window_octets,
        start: 0,
        bytes: None,
    };
    let mut outcome = ScanOutcome {
        valid_end: range.from,
        ..Default::default()
    };
    let mut offset = range.from;
    while offset < range.file_octets {
        let context = FrameContext {
            salt: range.salt,
            offset,
        };
        match check_frame(&mut window, context).await? {
            Frame::Intact { header } => {
                let end = offset + header.framed_octets() as u64;
                let decoded = if header.framed_octets() <= range.window_octets {
                    let bytes = window.get(offset, header.framed_octets()).await?;
                    decode_checked(bytes, header, offset, &mut on_record)
                } else {
                    let bytes = source.read_at(offset, header.framed_octets()).await?;
                    decode_checked(&bytes, header, offset, &mut on_record)
                };
                if let Err(reason) = decoded {
                    outcome.damaged.push(Damage {
                        range: offset..end,
                        reason,
                    });
                }
                offset = end;
                outcome.valid_end = end;
            }
            Frame::Bad(reason) => {
                let (next, data_end) = next_intact(&mut window, offset, range.salt).await?;
                match next {
                    Some(next) => {
                        outcome.damaged.push(Damage {
                            range: offset..next,
                            reason,
                        });
                        offset = next;
                    }
                    None => {
                        if data_end > offset {
                            outcome.tail = Some(offset..data_end);
                        }
                        break;
                    }
                }
            }
        }
    }
    Ok(outcome)
}

/// Decodes a frame whose checksums verified; a payload that does not parse is damage. The
/// checksum is checked again on these bytes: they may have been read a second time.
fn decode_checked(
    bytes: &[u8],
    header: FrameHeader,
    offset: u64,
    on_record: &mut impl FnMut(u64, Record<'_>),
) -> Result<(), DecodeError> {
    let payload = bytes
        .get(RECORD_HEADER_OCTETS..header.framed_octets())
        .ok_or(DecodeError::Truncated)?;
    let mut hasher = header.payload_hasher();
    hasher.update(payload);
    if hasher.finalize() != header.payload_crc {
        return Err(DecodeError::PayloadChecksum);
    }
    on_record(offset, record::decode_payload(header.kind, payload)?);
    Ok(())
}

/// Checks header and payload checksum at `context.offset`, piecewise if the record is larger
/// than the window.
async fn check_frame<S: Source>(
    window: &mut Window<'_, S>,
    context: FrameContext,
) -> Result<Frame, DiskError> {
    let offset = context.offset;
    let header =
        match record::decode_header(window.get(offset, RECORD_HEADER_OCTETS).await?, context) {
            Ok(header) => header,
            Err(reason) => return Ok(Frame::Bad(reason)),
        };
    let mut hasher = header.payload_hasher();
    let mut position = offset + RECORD_HEADER_OCTETS as u64;
    let end = offset + header.framed_octets() as u64;
    while position < end {
        let piece = window.window_octets.min((end - position) as usize);
        let bytes = window.get(position, piece).await?;
        if bytes.len() < piece {
            return Ok(Frame::Bad(DecodeError::Truncated));
        }
        hasher.update(bytes);
        position += piece as u64;
    }
    if hasher.finalize() != header.payload_crc {
        return Ok(Frame::Bad(DecodeError::PayloadChecksum));
    }
    // Leave the window at the record when it fits, so decoding does not read it again.
    if header.framed_octets() <= window.window_octets {
        window.get(offset, header.framed_octets()).await?;
    }
    Ok(Frame::Intact { header })
}

/// The first intact record after `failed` (where a check failed), and the end of the last
/// non-zero octet from `failed` on (meaningful when there is no intact record).
///
/// Records are written back to back, so the record after one that starts at `failed` starts
/// within one largest frame of it. When every octet in that reach is zero, nothing was written
/// after `failed`: this is the end of the log (the zeroed rest of a preallocated segment), and
/// the search stops there instead of reading the rest of the segment at every start.
async fn next_intact<S: Source>(
    window: &mut Window<'_, S>,
    failed: u64,
    salt: u32,
) -> Result<(Option<u64>, u64), DiskError> {
    let reach = failed + (RECORD_FRAME_OCTETS_MAX + RECORD_MAGIC.len()) as u64;
    let mut data_end = failed;
    let mut position = failed;
    while position < window.file_octets {
        if data_end == failed && position >= reach {
            return Ok((None, failed));
        }
        let bytes = window.rest(position, RECORD_MAGIC.len()).await?;
        let searched_from = position;
        let found = if position == failed {
            // The failed record itself starts with a magic more often than not.
            memchr::memmem::find(bytes.get(1..).unwrap_or(&[]), &RECORD_MAGIC).map(|at| at + 1)
        } else {
            memchr::memmem::find(bytes, &RECORD_MAGIC)
        };
        let searched = found.unwrap_or(bytes.len());
        if let Some(last) = bytes[..searched].iter().rposition(|byte| *byte != 0) {
            data_end = data_end.max(searched_from + last as u64 + 1);
        }
        let Some(at) = found else {
            // Keep one octet: a magic may straddle the window's end.
            position += (bytes.len() as u64).saturating_sub(1).max(1);
            if bytes.len() < RECORD_MAGIC.len() {
                if bytes.first().is_some_and(|byte| *byte != 0) {
                    data_end = data_end.max(searched_from + 1);
                }
                break;
            }
            continue;
        };
        let candidate = searched_from + at as u64;
        let context = FrameContext {
            salt,
            offset: candidate,
        };
        if let Frame::Intact { .. } = check_frame(window, context).await? {
            return Ok((Some(candidate), data_end));
        }
        // The candidate's magic octets are data too.
        data_end = data_end.max(candidate + RECORD_MAGIC.len() as u64);
        position = candidate + 1;
    }
    Ok((None, data_end))
}

/// Whether `octets` of a file from `from` on are all zero, read a window at a time.
pub async fn is_zero_from<S: Source>(
    source: &S,
    from: u64,
    file_octets: u64,
    window_octets: usize,
) -> Result<bool, DiskError> {
    let mut position = from;
    while position < file_octets {
        let octets = window_octets.min((file_octets - position) as usize);
        let bytes = source.read_at(position, octets).await?;
        if bytes.is_empty() {
            break;
        }
        if bytes.iter().any(|byte| *byte != 0) {
            return Ok(false);
        }
        position += bytes.len() as u64;
    }
    Ok(true)
}

/// Scans a whole segment image in memory (tests, small tools) with the given window.
pub fn scan_segment_with_window(
    bytes: &[u8],
    salt: u32,
    window_octets: usize,
    on_record: impl FnMut(u64, Record<'_>),
) -> ScanOutcome {
    let range = ScanRange {
        from: SEGMENT_HEADER_OCTETS as u64,
        file_octets: bytes.len() as u64,
        salt,
        window_octets,
    };
    let scanned = futures_lite::future::block_on(scan(&MemorySource(bytes), range, on_record));
    // Memory reads cannot fail.
    scanned.unwrap_or_default()
}

/// Scans a whole segment image in memory with the default window.
pub fn scan_segment(
    bytes: &[u8],
    salt: u32,
    on_record: impl FnMut(u64, Record<'_>),
) -> ScanOutcome {
    scan_segment_with_window(bytes, salt, SCAN_WINDOW_OCTETS_DEFAULT, on_record)
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

    /// The whole-segment scan this module replaced, kept as the reference for windowed scans.
    fn reference(bytes: &[u8], salt: u32) -> (Vec<(u64, u64)>, ScanOutcome) {
        let mut seen = Vec::new();
        let mut outcome = ScanOutcome {
            valid_end: SEGMENT_HEADER_OCTETS as u64,
            ..Default::default()
        };
        let mut offset = SEGMENT_HEADER_OCTETS;
        let intact = |at: usize| {
            let context = FrameContext {
                salt,
                offset: at as u64,
            };
            record::decode_frame(&bytes[at..], context).is_ok()
        };
        while offset < bytes.len() {
            let context = FrameContext {
                salt,
                offset: offset as u64,
            };
            match record::decode_frame(&bytes[offset..], context) {
                Ok((_, _, framed)) => {
                    match record::decode(&bytes[offset..], context) {
                        Ok((Record::ContentChunk { ingest, .. }, _)) => {
                            seen.push((offset as u64, ingest))
                        }
                        Ok(_) => seen.push((offset as u64, u64::MAX)),
                        Err(reason) => outcome.damaged.push(Damage {
                            range: offset as u64..(offset + framed) as u64,
                            reason,
                        }),
                    }
                    offset += framed;
                    outcome.valid_end = offset as u64;
                }
                Err(reason) => {
                    let next = memchr::memmem::find_iter(&bytes[offset + 1..], &RECORD_MAGIC)
                        .map(|at| offset + 1 + at)
                        .find(|at| intact(*at));
                    match next {
                        Some(next) => {
                            outcome.damaged.push(Damage {
                                range: offset as u64..next as u64,
                                reason,
                            });
                            offset = next;
                        }
                        None => {
                            let end = bytes[offset..]
                                .iter()
                                .rposition(|byte| *byte != 0)
                                .map_or(offset, |at| offset + at + 1);
                            if end > offset {
                                outcome.tail = Some(offset as u64..end as u64);
                            }
                            break;
                        }
                    }
                }
            }
        }
        (seen, outcome)
    }

    /// Records of random sizes, some larger than the small windows, then random damage:
    /// every window size must find exactly what a whole-segment scan finds.
    #[test]
    fn windowed_scans_match_the_whole_segment_scan() {
        for seed in 0..300u64 {
            let mut rng = crate::sim::Rng::new(seed);
            let mut bytes = vec![0u8; SEGMENT_HEADER_OCTETS];
            for ingest in 0..(2 + rng.below(12)) {
                let offset = bytes.len() as u64;
                let octets = if rng.below(4) == 0 {
                    300 + rng.below(900)
                } else {
                    rng.below(80)
                };
                // Content that often holds record magics, to exercise resynchronisation.
                let data: Vec<u8> = (0..octets)
                    .map(|at| {
                        if at % 7 < 2 {
                            RECORD_MAGIC[at as usize % 7]
                        } else {
                            rng.next_u64() as u8
                        }
                    })
                    .collect();
                let record = Record::ContentChunk {
                    partition: 1,
                    ingest,
                    data: &data,
                };
                record::encode(&record, FrameContext { salt: SALT, offset }, &mut bytes);
            }
            let written = bytes.len();
            bytes.resize(written + rng.below(600) as usize, 0);
            match rng.below(4) {
                0 => {}
                1 => {
                    let at = SEGMENT_HEADER_OCTETS + rng.below((written - 64) as u64) as usize;
                    bytes[at] ^= 1 << rng.below(8);
                }
                2 => {
                    let cut = SEGMENT_HEADER_OCTETS + rng.below((written - 64) as u64) as usize;
                    bytes[cut..written].fill(0);
                }
                _ => {
                    let at = SEGMENT_HEADER_OCTETS + rng.below((written - 64) as u64) as usize;
                    let end = (at + 1 + rng.below(200) as usize).min(written);
                    bytes[at..end].fill(0x55);
                }
            }
            let (expected_records, expected) = reference(&bytes, SALT);
            for window in [64, 97, 256, 1000, 4096] {
                let mut seen = Vec::new();
                let outcome =
                    scan_segment_with_window(&bytes, SALT, window, |offset, record| match record {
                        Record::ContentChunk { ingest, .. } => seen.push((offset, ingest)),
                        _ => seen.push((offset, u64::MAX)),
                    });
                assert_eq!(seen, expected_records, "seed {seed} window {window}");
                assert_eq!(outcome, expected, "seed {seed} window {window}");
            }
        }
    }
}
