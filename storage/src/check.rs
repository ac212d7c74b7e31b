//! Offline verification of one shard's data directory (`postern check`), and repair
//! (`postern check --repair`): rebuild the indexes from the log by dropping every checkpoint.
//!
//! `verify` reads every record of every segment through the same streaming scan recovery uses,
//! replays them into a fresh state exactly as open would, and then checks that every message's
//! content lies in intact chunk records and matches its content checksum, and that the newest
//! checkpoint plus the log after it gives the same state as the whole log. It runs on plain
//! `std::fs` (no executor) and never writes. Each problem names its file and byte range.

use crate::checkpoint::{self, CHECKPOINT_HEADER_OCTETS, CheckpointHeader};
use crate::disk::{DiskError, FileId, FileKind};
use crate::ids::{Location, MailboxKey};
use crate::limits::SCAN_WINDOW_OCTETS_DEFAULT;
use crate::mailbox::State;
use crate::record::{RECORD_HEADER_OCTETS, Record};
use crate::scan::{self, ScanRange, Source};
use crate::segment::{SEGMENT_HEADER_OCTETS, SegmentHeader};
use std::collections::BTreeMap;
use std::ops::Range;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

/// One thing wrong, located.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub file: PathBuf,
    /// Byte range in `file`, when the problem has one.
    pub range: Option<Range<u64>>,
    pub what: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.range {
            Some(range) => write!(
                formatter,
                "{} octets {}..{}: {}",
                self.file.display(),
                range.start,
                range.end,
                self.what
            ),
            None => write!(formatter, "{}: {}", self.file.display(), self.what),
        }
    }
}

/// What `verify` found.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub segments: usize,
    pub records: u64,
    pub messages: u64,
    pub checkpoints: usize,
    /// Damage and inconsistencies: `postern check` exits non-zero when there are any.
    pub problems: Vec<Problem>,
    /// Expected leftovers of a crash (a torn tail, an unfinished checkpoint or compaction)
    /// that the next open cleans up.
    pub notes: Vec<Problem>,
}

impl Report {
    pub fn is_clean(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Positional reads of a plain file.
struct PlainFile(std::fs::File);

impl Source for PlainFile {
    type Bytes = Vec<u8>;
    async fn read_at(&self, offset: u64, octets: usize) -> Result<Vec<u8>, DiskError> {
        let mut bytes = vec![0u8; octets];
        let mut filled = 0;
        while filled < octets {
            match self.0.read_at(&mut bytes[filled..], offset + filled as u64) {
                Ok(0) => break,
                Ok(read) => filled += read,
                Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
                Err(error) => return Err(DiskError::from_io("read", &error)),
            }
        }
        bytes.truncate(filled);
        Ok(bytes)
    }
}

fn block_on<T>(future: impl std::future::Future<Output = T>) -> T {
    // Plain file reads complete synchronously; nothing here ever waits on a reactor.
    futures_lite::future::block_on(future)
}

/// The shard directory, its files by kind, and the segment files opened.
struct Shard {
    directory: PathBuf,
    files: BTreeMap<FileKind, Vec<u64>>,
}

impl Shard {
    fn open(data_directory: &Path, shard: u32) -> Result<Self, DiskError> {
        let directory = data_directory.join(format!("shard-{shard}"));
        let entries = std::fs::read_dir(&directory)
            .map_err(|error| DiskError::from_io("list shard directory", &error))?;
        let mut files: BTreeMap<FileKind, Vec<u64>> = BTreeMap::new();
        for entry in entries {
            let entry =
                entry.map_err(|error| DiskError::from_io("list shard directory", &error))?;
            if let Some(id) = entry.file_name().to_str().and_then(FileId::parse) {
                files.entry(id.kind).or_default().push(id.sequence);
            }
        }
        files
            .values_mut()
            .for_each(|sequences| sequences.sort_unstable());
        Ok(Self { directory, files })
    }

    fn path(&self, id: FileId) -> PathBuf {
        self.directory.join(id.file_name())
    }

    fn list(&self, kind: FileKind) -> &[u64] {
        self.files.get(&kind).map_or(&[], Vec::as_slice)
    }
}

/// Where content chunks' data lie, per segment: data offset → octets.
type Chunks = BTreeMap<u64, BTreeMap<u64, u32>>;

/// Verifies every record and index of `shard` under `data_directory`. Only an unreadable
/// directory is an error; everything else is reported.
pub fn verify(data_directory: &Path, shard: u32) -> Result<Report, DiskError> {
    let directory = Shard::open(data_directory, shard)?;
    let mut report = Report::default();
    for kind in [FileKind::CheckpointTemporary, FileKind::SegmentCompacting] {
        for sequence in directory.list(kind) {
            report.notes.push(Problem {
                file: directory.path(FileId {
                    kind,
                    sequence: *sequence,
                }),
                range: None,
                what: "left by an interrupted write; the next open removes it".into(),
            });
        }
    }
    let mut state = State::default();
    let mut chunks = Chunks::new();
    let salts = replay_segments(
        &directory,
        shard,
        None,
        &mut state,
        &mut chunks,
        &mut report,
    );
    check_messages(&directory, &state, &chunks, &mut report);
    check_checkpoints(&directory, shard, &state, &salts, &mut report);
    Ok(report)
}

/// Scans segments, replaying records at or after `start` into `state`; returns each readable
/// segment's salt.
fn replay_segments(
    directory: &Shard,
    shard: u32,
    start: Option<Location>,
    state: &mut State,
    chunks: &mut Chunks,
    report: &mut Report,
) -> BTreeMap<u64, u32> {
    let mut salts = BTreeMap::new();
    let segments = directory.list(FileKind::Segment);
    for (position, &sequence) in segments.iter().enumerate() {
        let last = position + 1 == segments.len();
        let path = directory.path(FileId::segment(sequence));
        let problem = |range: Option<Range<u64>>, what: String| Problem {
            file: path.clone(),
            range,
            what,
        };
        let opened = std::fs::File::open(&path).and_then(|file| {
            let octets = file.metadata()?.len();
            Ok((PlainFile(file), octets))
        });
        let (file, octets) = match opened {
            Ok(opened) => opened,
            Err(error) => {
                report
                    .problems
                    .push(problem(None, format!("cannot open: {error}")));
                continue;
            }
        };
        if start.is_none() {
            report.segments += 1;
        }
        let header = block_on(file.read_at(0, SEGMENT_HEADER_OCTETS))
            .map_err(|error| error.to_string())
            .and_then(|bytes| SegmentHeader::decode(&bytes).map_err(|error| error.to_string()));
        let header = match header {
            Ok(header) if header.shard == shard && header.sequence == sequence => header,
            Ok(header) => {
                let what = format!(
                    "header names shard {} segment {}",
                    header.shard, header.sequence
                );
                report.problems.push(problem(Some(0..64), what));
                continue;
            }
            // Open treats a last segment with a bad header and nothing after it as an
            // interrupted creation and writes it again: a leftover, not damage.
            Err(_)
                if last
                    && block_on(crate::scan::is_zero_from(
                        &file,
                        SEGMENT_HEADER_OCTETS as u64,
                        octets,
                        crate::limits::SCAN_WINDOW_OCTETS_DEFAULT,
                    ))
                    .unwrap_or(false) =>
            {
                if start.is_none() {
                    report.notes.push(problem(
                        Some(0..64),
                        "segment creation interrupted; the next write creates it again".into(),
                    ));
                }
                continue;
            }
            Err(error) => {
                if start.is_none() {
                    report.problems.push(problem(Some(0..64), error));
                }
                continue;
            }
        };
        salts.insert(sequence, header.salt);
        let from = match start {
            Some(start) if sequence < start.sequence => continue,
            Some(start) if sequence == start.sequence => start.offset.max(header.records_start),
            _ => header.records_start,
        };
        let range = ScanRange {
            from,
            file_octets: octets,
            salt: header.salt,
            window_octets: SCAN_WINDOW_OCTETS_DEFAULT,
        };
        let segment_chunks = chunks.entry(sequence).or_default();
        let mut anomalies = Vec::new();
        let scanned = block_on(scan::scan(&file, range, |offset, record| {
            if start.is_none() {
                report.records += 1;
            }
            if let Record::ContentChunk { data, .. } = &record {
                let data_offset = offset + crate::message::CHUNK_DATA_OFFSET;
                segment_chunks.insert(data_offset, data.len() as u32);
            }
            let location = Location { sequence, offset };
            if let Err(anomaly) = state.apply(location, &record) {
                anomalies.push((offset, anomaly.to_string()));
            }
        }));
        if start.is_some() {
            continue;
        }
        let outcome = match scanned {
            Ok(outcome) => outcome,
            Err(error) => {
                report.problems.push(problem(None, error.to_string()));
                continue;
            }
        };
        for (offset, what) in anomalies {
            let what = format!("record does not fit the state before it: {what}");
            report
                .problems
                .push(problem(Some(offset..offset + 1), what));
        }
        for damage in outcome.damaged {
            report
                .problems
                .push(problem(Some(damage.range), damage.reason.to_string()));
        }
        if let Some(tail) = outcome.tail {
            if last {
                let what = "torn tail of the last segment (never acknowledged; the next open \
                            zeroes it)";
                report.notes.push(problem(Some(tail), what.into()));
            } else {
                let what = "unreadable tail of a sealed segment";
                report.problems.push(problem(Some(tail), what.into()));
            }
        }
    }
    for (location, what) in state.remove_ghosts() {
        let offset = location.offset;
        report.problems.push(Problem {
            file: directory.path(FileId::segment(location.sequence)),
            range: Some(offset..offset + 1),
            what,
        });
    }
    salts
}

/// Every message's content must lie in intact chunks and match its content checksum.
fn check_messages(directory: &Shard, state: &State, chunks: &Chunks, report: &mut Report) {
    let mut files: BTreeMap<u64, Option<PlainFile>> = BTreeMap::new();
    for account in state.accounts.values() {
        for mailbox in account.mailboxes.values() {
            for entry in mailbox.index.entries() {
                report.messages += 1;
                let mut crc = crc32fast::Hasher::new();
                let mut trouble = None;
                for extent in mailbox.index.extents(entry) {
                    let extent = extent.unpack();
                    if extent.octets == 0 {
                        continue;
                    }
                    let path = directory.path(FileId::segment(extent.sequence));
                    let inside = chunks.get(&extent.sequence).is_some_and(|segment| {
                        segment.range(..=extent.offset).next_back().is_some_and(
                            |(start, octets)| {
                                extent.offset + u64::from(extent.octets)
                                    <= start + u64::from(*octets)
                            },
                        )
                    });
                    let range = extent.offset..extent.offset + u64::from(extent.octets);
                    if !inside {
                        trouble = Some((path, range, "content not in an intact chunk record"));
                        break;
                    }
                    let file = files
                        .entry(extent.sequence)
                        .or_insert_with(|| std::fs::File::open(&path).ok().map(PlainFile));
                    let bytes = file.as_ref().and_then(|file| {
                        block_on(file.read_at(extent.offset, extent.octets as usize)).ok()
                    });
                    match bytes {
                        Some(bytes) if bytes.len() == extent.octets as usize => crc.update(&bytes),
                        _ => {
                            trouble = Some((path, range, "content unreadable"));
                            break;
                        }
                    }
                }
                let key = mailbox.key;
                if let Some((file, range, what)) = trouble {
                    report
                        .problems
                        .push(message_problem(file, Some(range), key, entry.uid, what));
                } else {
                    check_content_crc(directory, key, entry, crc.finalize(), report);
                }
            }
        }
    }
}

/// Compares the content's checksum with the one in its commit record.
fn check_content_crc(
    directory: &Shard,
    mailbox: MailboxKey,
    entry: &crate::index::MessageEntry,
    content_crc: u32,
    report: &mut Report,
) {
    let sequence = u64::from(entry.commit_sequence);
    let offset = u64::from(entry.commit_offset);
    let path = directory.path(FileId::segment(sequence));
    let commit = std::fs::File::open(&path).ok().and_then(|file| {
        let file = PlainFile(file);
        let header =
            SegmentHeader::decode(&block_on(file.read_at(0, SEGMENT_HEADER_OCTETS)).ok()?).ok()?;
        let context = crate::record::FrameContext {
            salt: header.salt,
            offset,
        };
        let frame_header = block_on(file.read_at(offset, RECORD_HEADER_OCTETS)).ok()?;
        let framed = crate::record::decode_header(&frame_header, context)
            .ok()?
            .framed_octets();
        let frame = block_on(file.read_at(offset, framed)).ok()?;
        match crate::record::decode(&frame, context) {
            Ok((Record::MessageCommit(commit), _)) => Some(commit),
            _ => None,
        }
    });
    // A copy (COPY, MOVE) shares its original's commit record: same size and dates.
    let ours = |commit: &crate::record::MessageCommit| {
        (commit.mailbox, commit.uid) == (mailbox, entry.uid)
            || (commit.size_octets, commit.internal_date_secs)
                == (u64::from(entry.size_octets), entry.internal_date_secs)
    };
    match commit {
        Some(commit) if ours(&commit) && commit.content_crc == content_crc => {}
        Some(commit) if ours(&commit) => report.problems.push(message_problem(
            path,
            None,
            mailbox,
            entry.uid,
            "content does not match its checksum",
        )),
        _ => report.problems.push(message_problem(
            path,
            Some(offset..offset + 1),
            mailbox,
            entry.uid,
            "commit record unreadable",
        )),
    }
}

fn message_problem(
    file: PathBuf,
    range: Option<Range<u64>>,
    mailbox: MailboxKey,
    uid: u32,
    what: &str,
) -> Problem {
    Problem {
        file,
        range,
        what: format!(
            "message UID {uid} of mailbox {} (account {}/{}): {what}",
            mailbox.mailbox, mailbox.account.partition, mailbox.account.account
        ),
    }
}

/// Each checkpoint must load; the newest usable one plus the log after it must give the state
/// the whole log gives.
fn check_checkpoints(
    directory: &Shard,
    shard: u32,
    replayed: &State,
    salts: &BTreeMap<u64, u32>,
    report: &mut Report,
) {
    let mut newest_checked = false;
    for sequence in directory.list(FileKind::Checkpoint).iter().rev() {
        report.checkpoints += 1;
        let path = directory.path(FileId::checkpoint(*sequence));
        let loaded = std::fs::read(&path)
            .map_err(|error| error.to_string())
            .and_then(|bytes| load_checkpoint(&bytes, shard, *sequence));
        let (header, state, checkpoint_salts) = match loaded {
            Ok(loaded) => loaded,
            Err(what) => {
                report.problems.push(Problem {
                    file: path,
                    range: None,
                    what,
                });
                continue;
            }
        };
        let stale = checkpoint_salts
            .iter()
            .any(|(segment, salt)| salts.get(segment).is_some_and(|actual| actual != salt));
        if stale {
            report.notes.push(Problem {
                file: path,
                range: None,
                what: "stale: a segment was compacted since; open skips it".into(),
            });
            continue;
        }
        if newest_checked {
            continue;
        }
        newest_checked = true;
        let mut state = state;
        let mut chunks = Chunks::new();
        let mut scratch = Report::default();
        let start = Some(header.position);
        replay_segments(
            directory,
            shard,
            start,
            &mut state,
            &mut chunks,
            &mut scratch,
        );
        // A version 1 checkpoint had no expunge history: its restored history starts at the
        // checkpoint, while the whole log's reaches back further. Both are right.
        let history = header.format_version >= 2;
        if image(&state, history) != image(replayed, history) {
            report.problems.push(Problem {
                file: path,
                range: None,
                what: format!(
                    "checkpoint plus the log after {:?} disagrees with the whole log; \
                     `--repair` drops checkpoints",
                    header.position
                ),
            });
        }
    }
}

type LoadedCheckpoint = (CheckpointHeader, State, Vec<(u64, u32)>);

fn load_checkpoint(bytes: &[u8], shard: u32, sequence: u64) -> Result<LoadedCheckpoint, String> {
    let header = CheckpointHeader::decode(bytes).map_err(|error| error.to_string())?;
    if header.shard != shard || header.sequence != sequence {
        return Err(format!(
            "checkpoint header names shard {} sequence {}",
            header.shard, header.sequence
        ));
    }
    let body = &bytes[CHECKPOINT_HEADER_OCTETS.min(bytes.len())..];
    if body.len() as u64 != header.body_octets {
        return Err(format!(
            "body of {} octets, header says {}",
            body.len(),
            header.body_octets
        ));
    }
    if crc32fast::hash(body) != header.body_crc {
        return Err("checkpoint body checksum mismatch".into());
    }
    let (state, salts) =
        checkpoint::decode_body(body, header.format_version).map_err(|error| error.to_string())?;
    Ok((header, state, salts))
}

/// A state's encoding without `ingest_next` (a live store allocates ingest numbers a replay
/// cannot see), and without expunge histories unless `history`.
fn image(state: &State, history: bool) -> Vec<u8> {
    let mut bytes = Vec::new();
    checkpoint::encode_state_with(state, history, &mut bytes);
    bytes.split_off(8.min(bytes.len()))
}

/// What `repair` removed.
#[derive(Debug, Clone, Default)]
pub struct RepairReport {
    pub removed: Vec<PathBuf>,
}

/// `postern check --repair`: removes every checkpoint (and leftover temporary files) so the
/// next open rebuilds every index from the log. Run only while the server is stopped.
pub fn repair(data_directory: &Path, shard: u32) -> Result<RepairReport, DiskError> {
    let directory = Shard::open(data_directory, shard)?;
    let mut report = RepairReport::default();
    for kind in [
        FileKind::Checkpoint,
        FileKind::CheckpointTemporary,
        FileKind::SegmentCompacting,
    ] {
        for sequence in directory.list(kind) {
            let path = directory.path(FileId {
                kind,
                sequence: *sequence,
            });
            std::fs::remove_file(&path).map_err(|error| DiskError::from_io("remove", &error))?;
            report.removed.push(path);
        }
    }
    let handle = std::fs::File::open(&directory.directory)
        .map_err(|error| DiskError::from_io("open shard directory", &error))?;
    handle
        .sync_all()
        .map_err(|error| DiskError::from_io("sync shard directory", &error))?;
    Ok(report)
}
