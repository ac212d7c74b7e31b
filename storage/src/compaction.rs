//! Compaction: rewrites a sealed segment without the content of messages that are gone.
//!
//! A segment keeps its sequence number, so log order (and full replay) is unchanged. The new
//! file holds, after its header, relocation records (where each kept chunk's content moved,
//! keyed by the offset it was first written at), then every record of the old segment in
//! order except content chunks no live message uses. Commit records are copied as written:
//! their extents stay in original coordinates and replay translates them through the
//! relocation table of the segment they name. The new file gets a new salt, so every record
//! is re-framed for its new offset, and checkpoints that saw the old file (they record each
//! segment's salt) are recognised as stale.
//!
//! Steps, each crash-safe (docs/STORAGE.md, "Compaction"):
//! 1. check (synchronously) that the segment is sealed and durable, no message writer has
//!    content in it, and collect the locations the index uses in it;
//! 2. scan it (streaming) and plan the new layout; any damage cancels;
//! 3. write `seg-N.cmp`, rate-limited, and fdatasync it — a crash leaves a file open removes;
//! 4. rename it over `seg-N.log` and fsync the directory — a crash before the fsync leaves
//!    either file, both complete; after it, old checkpoints are stale and open replays the
//!    log (correct, just slower) until
//! 5. the index is moved to the new offsets in one synchronous step (readers in flight keep
//!    the old file open) and a checkpoint is written.

use crate::disk::{Disk, DiskError, FileId, FileKind, SegmentFile};
use crate::error::StoreError;
use crate::ids::Location;
use crate::index::LocationKind;
use crate::limits::{COMPACTION_WRITE_OCTETS, RELOCATIONS_PER_RECORD_MAX};
use crate::message::CHUNK_DATA_OFFSET;
use crate::record::{self, FrameContext, RECORD_HEADER_OCTETS, Record, Relocation};
use crate::scan::{self, ScanRange};
use crate::segment::{FORMAT_VERSION, SEGMENT_HEADER_OCTETS, SegmentHeader};
use crate::store::Store;
use std::cell::Cell;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, Instant};

/// What one compaction pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CompactionReport {
    /// Segments rewritten: sequence, octets before, octets after.
    pub compacted: Vec<(u64, u64, u64)>,
    /// Segments considered but left alone, and why.
    pub skipped: Vec<(u64, String)>,
    /// The longest the pass held its shard in one synchronous step (the walk that picks
    /// segments, a segment's collection of live locations, its swap and relocation): no
    /// other task of the shard runs meanwhile.
    pub longest_hold: Duration,
}

/// The plan for one segment.
struct Plan {
    /// Records kept, in order: old offset, framed octets.
    kept: Vec<(u64, usize)>,
    /// Old record offset → new record offset.
    moved: HashMap<u64, u64>,
    relocations: Vec<Relocation>,
    /// Where the first kept record goes (after the relocation records).
    records_start: u64,
    end: u64,
}

/// Locations the index uses in one segment. Sets: a copy (COPY, MOVE) shares its
/// original's chunks and commit record, so one location can be used by several messages.
#[derive(Default)]
struct Live {
    /// First data octets of chunks in use.
    content: HashSet<u64>,
    /// Offsets of commit records in use.
    commits: HashSet<u64>,
}

impl<D: Disk + 'static> Store<D> {
    /// Rewrites every sealed segment whose live content is at most
    /// `compaction_live_percent_max` of its size. One pass at a time (a call waits for a
    /// pass in progress, then makes its own); writes go on meanwhile.
    pub async fn compact(&self) -> Result<CompactionReport, StoreError> {
        // After `close` (which keeps the claim for good) nothing may move.
        if !self.claim_compaction(true).await {
            return Ok(CompactionReport::default());
        }
        let result = self.compact_all().await;
        self.compacting.set(false);
        self.compaction_done.notify();
        result
    }

    /// Waits until no compaction pass runs, then marks one as running. With
    /// `unless_closed`, gives up (false) once the store is closed.
    pub(crate) async fn claim_compaction(&self, unless_closed: bool) -> bool {
        loop {
            let generation = self.compaction_done.generation();
            if unless_closed && self.log.closed() {
                return false;
            }
            if !self.compacting.replace(true) {
                return true;
            }
            self.compaction_done.changed(generation).await;
        }
    }

    async fn compact_all(&self) -> Result<CompactionReport, StoreError> {
        let mut report = CompactionReport::default();
        let percent_max = u64::from(self.log.config().compaction_live_percent_max);
        let started = Instant::now();
        let live_octets = self.live_octets_by_segment();
        report.longest_hold = started.elapsed();
        for sequence in self.log.sequences() {
            if sequence >= self.log.tail_sequence() {
                break;
            }
            let Some((file, _)) = self.log.segment(sequence) else {
                continue;
            };
            let octets = file.octets().await.map_err(StoreError::Read)?;
            let live = live_octets.get(&sequence).copied().unwrap_or(0);
            if live * 100 > octets * percent_max {
                continue;
            }
            let hold = Cell::new(Duration::ZERO);
            match self.compact_segment_holding(sequence, &hold).await? {
                Ok(after) => report.compacted.push((sequence, octets, after)),
                Err(reason) => report.skipped.push((sequence, reason)),
            }
            report.longest_hold = report.longest_hold.max(hold.get());
        }
        if !report.compacted.is_empty() {
            // Old checkpoints are stale now; keep restart bounded.
            self.checkpoint().await?;
        }
        Ok(report)
    }

    /// Content octets the index uses, per segment (one pass over the index). Content shared
    /// by copies counts once (only messages marked shared are looked up in a set).
    fn live_octets_by_segment(&self) -> BTreeMap<u64, u64> {
        let mut live: BTreeMap<u64, u64> = BTreeMap::new();
        let mut shared_seen: HashSet<Location> = HashSet::new();
        let state = self.state.borrow();
        for account in state.accounts.values() {
            for mailbox in account.mailboxes.values() {
                mailbox.index.for_each_location(|location, kind, shared| {
                    if let LocationKind::Content(octets) = kind
                        && (!shared || shared_seen.insert(location))
                    {
                        *live.entry(location.sequence).or_insert(0) += u64::from(octets);
                    }
                });
            }
        }
        live
    }

    fn live_in(&self, sequence: u64) -> Live {
        let mut live = Live::default();
        let state = self.state.borrow();
        for account in state.accounts.values() {
            for mailbox in account.mailboxes.values() {
                mailbox.index.for_each_location(|location, kind, _| {
                    if location.sequence != sequence {
                        return;
                    }
                    match kind {
                        LocationKind::Commit => live.commits.insert(location.offset),
                        LocationKind::Content(_) => live.content.insert(location.offset),
                    };
                });
            }
        }
        live
    }

    /// Why segment `sequence` cannot be compacted now, if it cannot.
    fn refusal(&self, sequence: u64) -> Option<String> {
        self.apply_durable();
        if sequence >= self.log.tail_sequence() || sequence >= self.log.durable_end().sequence {
            return Some("not sealed and durable".into());
        }
        if self.pins.borrow().contains_key(&sequence) {
            return Some("a message is being written into it".into());
        }
        let effects = self.effects.borrow();
        if effects
            .front()
            .is_some_and(|effect| effect.location.sequence <= sequence)
        {
            return Some("writes to it are not applied yet".into());
        }
        None
    }

    /// Rewrites one sealed segment. `Ok(Err(reason))`: left alone; `Ok(Ok(octets))`: the new
    /// file's size.
    pub async fn compact_segment(&self, sequence: u64) -> Result<Result<u64, String>, StoreError> {
        self.compact_segment_holding(sequence, &Cell::new(Duration::ZERO))
            .await
    }

    /// `compact_segment`, keeping in `hold` the longest of its synchronous steps.
    async fn compact_segment_holding(
        &self,
        sequence: u64,
        hold: &Cell<Duration>,
    ) -> Result<Result<u64, String>, StoreError> {
        let started = Instant::now();
        if let Some(reason) = self.refusal(sequence) {
            return Ok(Err(reason));
        }
        let live = self.live_in(sequence);
        hold.set(hold.get().max(started.elapsed()));
        let Some((file, salt)) = self.log.segment(sequence) else {
            return Ok(Err("no such segment".into()));
        };
        let plan = match self.plan(&*file, salt, &live).await? {
            Ok(plan) => plan,
            Err(reason) => return Ok(Err(reason)),
        };
        if plan.end >= file.octets().await.map_err(StoreError::Read)? {
            return Ok(Err("nothing to reclaim".into()));
        }
        let new_salt = self.fresh_salt(salt);
        let disk = self.log.disk();
        let temporary = FileId {
            kind: FileKind::SegmentCompacting,
            sequence,
        };
        let fail = StoreError::Compaction;
        let output = disk.create_file(temporary).await.map_err(fail)?;
        let written = match self
            .write_compacted(&*file, salt, &output, sequence, new_salt, &plan)
            .await
        {
            Ok(()) => output.sync_data().await,
            Err(error) => Err(error),
        };
        drop(output);
        if let Err(error) = written {
            // The segment is untouched; the unfinished copy goes (or open removes it).
            let _ = disk.remove(temporary).await;
            return Err(fail(error));
        }
        disk.rename(temporary, FileId::segment(sequence))
            .await
            .map_err(fail)?;
        disk.sync_directory().await.map_err(fail)?;
        let replaced = disk.open(sequence).await.map_err(fail)?;
        // One synchronous step: the log and the index switch to the new file together.
        let started = Instant::now();
        self.log.replace_segment(sequence, replaced, new_salt);
        self.commit_cache.borrow_mut().forget_segment(sequence);
        let moved = |offset: u64, kind: LocationKind| match kind {
            LocationKind::Commit => plan.moved.get(&offset).copied(),
            LocationKind::Content(_) => offset
                .checked_sub(CHUNK_DATA_OFFSET)
                .and_then(|record| plan.moved.get(&record))
                .map(|new| new + CHUNK_DATA_OFFSET),
        };
        let mut lost = 0;
        for account in self.state.borrow_mut().accounts.values_mut() {
            for mailbox in account.mailboxes.values_mut() {
                lost += mailbox.index.relocate(sequence, moved);
            }
        }
        // Every location in use was planned for, and no new one can appear in a sealed,
        // unpinned segment.
        assert_eq!(
            lost, 0,
            "compaction lost index locations in segment {sequence}"
        );
        hold.set(hold.get().max(started.elapsed()));
        Ok(Ok(plan.end))
    }

    fn fresh_salt(&self, old: u32) -> u32 {
        let seed =
            u64::from(old) ^ crate::log::now_secs().rotate_left(17) ^ self.log.appended_octets();
        let mut rng = crate::sim::Rng::new(seed);
        loop {
            let salt = rng.next_u64() as u32;
            if salt != old {
                return salt;
            }
        }
    }

    /// Pass 1: scans the segment and lays out the new file.
    async fn plan(
        &self,
        file: &D::File,
        salt: u32,
        live: &Live,
    ) -> Result<Result<Plan, String>, StoreError> {
        let octets = file.octets().await.map_err(StoreError::Read)?;
        let range = ScanRange {
            from: SEGMENT_HEADER_OCTETS as u64,
            file_octets: octets,
            salt,
            window_octets: self.log.config().scan_window_octets,
        };
        let mut kept: Vec<(u64, usize)> = Vec::new();
        let mut kept_chunks: Vec<u64> = Vec::new();
        let mut original_of: HashMap<u64, u64> = HashMap::new();
        let mut commits_kept = 0;
        let mut scratch = Vec::new();
        let outcome = scan::scan(file, range, |offset, record| {
            scratch.clear();
            let context = FrameContext { salt, offset };
            let framed = record::encode(&record, context, &mut scratch);
            match &record {
                Record::Relocation(relocations) => {
                    original_of.extend(relocations.iter().map(|r| (r.current, r.original)));
                }
                Record::ContentChunk { .. } => {
                    if live.content.contains(&(offset + CHUNK_DATA_OFFSET)) {
                        kept.push((offset, framed));
                        kept_chunks.push(offset);
                    }
                }
                Record::MessageCommit(_) => {
                    commits_kept += usize::from(live.commits.contains(&offset));
                    kept.push((offset, framed));
                }
                _ => kept.push((offset, framed)),
            }
        })
        .await
        .map_err(StoreError::Read)?;
        if !outcome.damaged.is_empty() || outcome.tail.is_some() {
            return Ok(Err("damaged; run postern check".into()));
        }
        if kept_chunks.len() != live.content.len() || commits_kept != live.commits.len() {
            return Ok(Err(
                "index refers to records the segment does not hold".into()
            ));
        }
        let relocation_records = kept_chunks.len().div_ceil(RELOCATIONS_PER_RECORD_MAX);
        let mut position = SEGMENT_HEADER_OCTETS as u64;
        for index in 0..relocation_records {
            let count = (kept_chunks.len() - index * RELOCATIONS_PER_RECORD_MAX)
                .min(RELOCATIONS_PER_RECORD_MAX);
            position += (RECORD_HEADER_OCTETS + 4 + 16 * count) as u64;
        }
        let records_start = position;
        let mut moved = HashMap::with_capacity(kept.len());
        for (old, framed) in &kept {
            moved.insert(*old, position);
            position += *framed as u64;
        }
        let relocations = kept_chunks
            .iter()
            .map(|old| {
                let data = old + CHUNK_DATA_OFFSET;
                Relocation {
                    original: original_of.get(&data).copied().unwrap_or(data),
                    current: moved[old] + CHUNK_DATA_OFFSET,
                }
            })
            .collect();
        Ok(Ok(Plan {
            kept,
            moved,
            relocations,
            records_start,
            end: position,
        }))
    }

    /// Pass 2: writes the new file: header, relocation records, kept records re-framed.
    async fn write_compacted(
        &self,
        old: &D::File,
        old_salt: u32,
        output: &D::File,
        sequence: u64,
        salt: u32,
        plan: &Plan,
    ) -> Result<(), DiskError> {
        let header = SegmentHeader {
            format_version: FORMAT_VERSION,
            shard: self.log.config().shard,
            sequence,
            created_secs: crate::log::now_secs(),
            salt,
        };
        let mut buffer = header.encode().to_vec();
        let mut written = 0u64;
        for relocations in plan.relocations.chunks(RELOCATIONS_PER_RECORD_MAX) {
            let offset = written + buffer.len() as u64;
            let record = Record::Relocation(relocations.to_vec());
            record::encode(&record, FrameContext { salt, offset }, &mut buffer);
        }
        assert_eq!(written + buffer.len() as u64, plan.records_start);
        for (old_offset, framed) in &plan.kept {
            let bytes = old.read_at(*old_offset, *framed).await?;
            let context = FrameContext {
                salt: old_salt,
                offset: *old_offset,
            };
            if bytes.len() != *framed || record::decode_frame(&bytes, context).is_err() {
                return Err(DiskError::Io {
                    operation: "compaction read",
                    detail: format!("segment {sequence} changed under compaction at {old_offset}"),
                });
            }
            let offset = written + buffer.len() as u64;
            let start = buffer.len();
            buffer.extend_from_slice(&bytes);
            let new_context = FrameContext { salt, offset };
            let header_crc = record::header_checksum(&buffer[start..start + 12], new_context);
            buffer[start + 12..start + 16].copy_from_slice(&header_crc.to_le_bytes());
            if buffer.len() >= COMPACTION_WRITE_OCTETS {
                written += self.flush_output(output, written, &mut buffer).await?;
            }
        }
        self.flush_output(output, written, &mut buffer).await?;
        Ok(())
    }

    /// Writes `buffer` at `offset`, then sleeps long enough to keep to the rate limit.
    async fn flush_output(
        &self,
        output: &D::File,
        offset: u64,
        buffer: &mut Vec<u8>,
    ) -> Result<u64, DiskError> {
        let octets = buffer.len() as u64;
        if octets == 0 {
            return Ok(0);
        }
        output.write_at(offset, std::mem::take(buffer)).await?;
        let rate = self.log.config().compaction_octets_per_sec;
        if rate > 0 {
            glommio::timer::sleep(Duration::from_secs_f64(octets as f64 / rate as f64)).await;
        }
        Ok(octets)
    }
}
