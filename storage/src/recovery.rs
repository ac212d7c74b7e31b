//! Opening a log: scan every segment in order, replay intact records, report damage, truncate
//! a torn tail, and decide where the next record goes.
//!
//! Rules (docs/STORAGE.md, "Recovery"): a torn tail of the *last* segment is zeroed (and the
//! zeroing made durable) before any new write, so stale bytes can never be resurrected; the
//! same in a sealed segment is damage. A last segment whose header is missing (creation
//! interrupted) is recreated. A segment whose header is damaged is reported whole and never
//! written again. A version this build does not understand stops the open with a clear error.

use crate::disk::{Disk, DiskError, SegmentFile};
use crate::ids::{Extent, Location};
use crate::log::{Log, LogConfig};
use crate::record::{DecodeError, Record};
use crate::scan::{self, ScanOutcome, ScanRange};
use crate::segment::{FORMAT_VERSION, HeaderError, SEGMENT_HEADER_OCTETS, SegmentHeader};
use std::collections::BTreeMap;
use std::ops::Range;
use std::rc::Rc;

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("invalid log configuration: {0}")]
    Config(String),
    #[error("segment {sequence}: {error}")]
    Unsupported { sequence: u64, error: HeaderError },
    #[error("segment {sequence} belongs to shard {shard} sequence {found}; refusing to mix logs")]
    Misplaced {
        sequence: u64,
        shard: u32,
        found: u64,
    },
    #[error(transparent)]
    Disk(#[from] DiskError),
}

/// A range of a segment whose records could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DamagedRange {
    pub sequence: u64,
    pub range: Range<u64>,
    pub reason: String,
}

/// What recovery found; the damaged ranges are also reported to the operator by the caller.
#[derive(Debug, Default, Clone)]
pub struct RecoveryReport {
    pub segments: usize,
    pub records: u64,
    pub damaged: Vec<DamagedRange>,
    /// Torn tail of the last segment, zeroed (never acknowledged).
    pub truncated: Option<DamagedRange>,
    /// Last segment whose creation had not finished; recreated.
    pub recreated: Option<u64>,
    /// End of intact data per readable segment.
    pub segment_ends: BTreeMap<u64, u64>,
    /// Intact records that did not fit the state replayed so far (filled by the store).
    pub anomalies: Vec<(Location, String)>,
    /// Messages whose content lies in damaged ranges (filled by the store).
    pub unreadable_messages: u64,
    /// The checkpoint the open started from (its sequence and the log position it covers);
    /// `None` means the whole log was replayed.
    pub checkpoint: Option<(u64, Location)>,
    /// Checkpoint files that failed a check and were skipped: file name and reason.
    pub checkpoint_problems: Vec<(String, String)>,
}

impl RecoveryReport {
    /// Whether an extent's bytes may be missing or damaged.
    pub fn extent_unreadable(&self, extent: &Extent) -> bool {
        let end = extent.offset + u64::from(extent.octets);
        let Some(segment_end) = self.segment_ends.get(&extent.sequence) else {
            return true;
        };
        end > *segment_end
            || self.damaged.iter().any(|damage| {
                damage.sequence == extent.sequence
                    && damage.range.start < end
                    && extent.offset < damage.range.end
            })
    }

    /// Octets in damaged ranges: bounds how many records could have been lost.
    pub fn damaged_octets(&self) -> u64 {
        self.damaged_octets_from(None)
    }

    /// Octets in damaged ranges at or after `start`: only records there could be missing
    /// from a state rebuilt from a checkpoint at `start`.
    pub fn damaged_octets_from(&self, start: Option<Location>) -> u64 {
        self.damaged
            .iter()
            .map(|damage| {
                let from = match start {
                    Some(start) if damage.sequence < start.sequence => damage.range.end,
                    Some(start) if damage.sequence == start.sequence => {
                        damage.range.start.max(start.offset).min(damage.range.end)
                    }
                    _ => damage.range.start,
                };
                damage.range.end - from
            })
            .sum()
    }
}

struct Scanned<F> {
    files: BTreeMap<u64, Rc<F>>,
    salts: BTreeMap<u64, u32>,
    tail: Location,
    /// The tail segment is of an older format version: writes go to a new segment.
    seal_tail: bool,
}

impl<D: Disk + 'static> Log<D> {
    /// Opens the log in `disk`, calling `replay` with every intact record in log order.
    pub async fn open(
        disk: D,
        config: LogConfig,
        replay: impl FnMut(Location, &Record<'_>),
    ) -> Result<(Self, RecoveryReport), OpenError> {
        Self::open_from(disk, config, None, replay).await
    }

    /// Opens the log replaying only records at or after `start` (a checkpoint's position,
    /// already checked to lie in a segment with a valid header); earlier segments only have
    /// their headers read.
    pub async fn open_from(
        disk: D,
        config: LogConfig,
        start: Option<Location>,
        mut replay: impl FnMut(Location, &Record<'_>),
    ) -> Result<(Self, RecoveryReport), OpenError> {
        config.check().map_err(OpenError::Config)?;
        let mut report = RecoveryReport::default();
        let scanned = scan_all(&disk, &config, start, &mut report, &mut replay).await?;
        let log = Log::new(disk, config, scanned.files, scanned.salts, scanned.tail);
        if scanned.seal_tail {
            log.seal_tail();
        }
        Ok((log, report))
    }
}

async fn scan_all<D: Disk>(
    disk: &D,
    config: &LogConfig,
    start: Option<Location>,
    report: &mut RecoveryReport,
    replay: &mut impl FnMut(Location, &Record<'_>),
) -> Result<Scanned<D::File>, OpenError> {
    let sequences = disk.list_sequences().await?;
    let mut scanned = Scanned {
        files: BTreeMap::new(),
        salts: BTreeMap::new(),
        tail: Location {
            sequence: 1,
            offset: SEGMENT_HEADER_OCTETS as u64,
        },
        seal_tail: false,
    };
    for (position, &sequence) in sequences.iter().enumerate() {
        let last = position + 1 == sequences.len();
        let file = disk.open(sequence).await?;
        let octets = file.octets().await?;
        let window_octets = config.scan_window_octets;
        let header_bytes = file.read_at(0, SEGMENT_HEADER_OCTETS).await?;
        report.segments += 1;
        let header = match SegmentHeader::decode(&header_bytes) {
            Ok(header) if header.shard != config.shard || header.sequence != sequence => {
                return Err(OpenError::Misplaced {
                    sequence,
                    shard: header.shard,
                    found: header.sequence,
                });
            }
            Ok(header) => header,
            Err(error @ HeaderError::UnsupportedVersion { .. }) => {
                return Err(OpenError::Unsupported { sequence, error });
            }
            // Records are only written after a segment's creation is durable, so a last
            // segment with a bad header and nothing after it is an interrupted creation.
            Err(_)
                if last
                    && scan::is_zero_from(
                        &file,
                        SEGMENT_HEADER_OCTETS as u64,
                        octets,
                        window_octets,
                    )
                    .await? =>
            {
                report.recreated = Some(sequence);
                scanned.tail = Location {
                    sequence,
                    offset: SEGMENT_HEADER_OCTETS as u64,
                };
                scanned.seal_tail = false;
                continue;
            }
            Err(error @ HeaderError::BadMagic) => {
                return Err(OpenError::Unsupported { sequence, error });
            }
            Err(error) => {
                report.damaged.push(DamagedRange {
                    sequence,
                    range: 0..octets,
                    reason: error.to_string(),
                });
                scanned.tail = Location {
                    sequence: sequence + 1,
                    offset: SEGMENT_HEADER_OCTETS as u64,
                };
                scanned.seal_tail = false;
                continue;
            }
        };
        drop(header_bytes);
        let from = match start {
            // Covered by the checkpoint: only its header is read; it is readable up to its
            // size as far as this open knows (`postern check` verifies it).
            Some(start) if sequence < start.sequence => {
                report.segment_ends.insert(sequence, octets);
                scanned.files.insert(sequence, Rc::new(file));
                scanned.salts.insert(sequence, header.salt);
                continue;
            }
            Some(start) if sequence == start.sequence => start.offset.max(header.records_start),
            _ => header.records_start,
        };
        let range = ScanRange {
            from,
            file_octets: octets,
            salt: header.salt,
            window_octets,
        };
        let mut records = 0;
        let outcome = scan::scan(&file, range, |offset, record| {
            records += 1;
            replay(Location { sequence, offset }, &record);
        })
        .await?;
        report.records += records;
        let file = Rc::new(file);
        settle_segment(sequence, last, &outcome, file.as_ref(), report).await?;
        report.segment_ends.insert(sequence, outcome.valid_end);
        scanned.tail = Location {
            sequence,
            offset: outcome.valid_end,
        };
        scanned.seal_tail = header.format_version < FORMAT_VERSION;
        scanned.files.insert(sequence, file);
        scanned.salts.insert(sequence, header.salt);
    }
    Ok(scanned)
}

/// Records a segment's damage; zeroes a torn tail of the last segment durably.
async fn settle_segment<F: SegmentFile>(
    sequence: u64,
    last: bool,
    outcome: &ScanOutcome,
    file: &F,
    report: &mut RecoveryReport,
) -> Result<(), DiskError> {
    for damage in &outcome.damaged {
        report.damaged.push(DamagedRange {
            sequence,
            range: damage.range.clone(),
            reason: damage.reason.to_string(),
        });
    }
    let Some(tail) = outcome.tail.clone() else {
        return Ok(());
    };
    if !last {
        let reason = DecodeError::Truncated.to_string();
        report.damaged.push(DamagedRange {
            sequence,
            range: tail,
            reason,
        });
        return Ok(());
    }
    let zeros = vec![0u8; (tail.end - tail.start) as usize];
    file.write_at(tail.start, zeros).await?;
    file.sync_data().await?;
    report.truncated = Some(DamagedRange {
        sequence,
        range: tail,
        reason: "torn tail".into(),
    });
    Ok(())
}
