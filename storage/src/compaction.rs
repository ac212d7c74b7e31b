//! Compaction: rewrites a sealed segment without the content of messages that are gone.
//!
//! A segment keeps its sequence number, so log order (and full replay) is unchanged. The new
//! file holds, at its records start, relocation records (where each kept chunk's content
//! moved, keyed by the offset it was first written at), then every record of the old segment
//! in order except content chunks no live message uses. Commit records are copied as written:
//! their extents stay in original coordinates and replay translates them through the
//! relocation table of the segment they name. The new file gets a new salt, so every record
//! is re-framed for its new offset, and checkpoints that saw the old file (they record each
//! segment's salt) are recognised as stale. Its records lie at offsets disjoint from the old
//! file's (right after the header if they fit before the old records, else after the old
//! records' end, over a hole), so that while the index moves over every location names
//! exactly one of the two files.
//!
//! Steps, each crash-safe (docs/STORAGE.md, "Compaction"):
//! 1. check (synchronously) that the segment is sealed and durable and no message writer has
//!    content in it; collect the locations the index uses in it, and which messages use them,
//!    in slices between which the shard's other work runs. A copy is the only way an entry
//!    can come to refer to a sealed segment, perhaps behind the walk: from the walk's start
//!    until the index has moved, the state lists the copies that use the segment
//!    (`CopyWatch`), and the walk visits them after every pause;
//! 2. scan it (streaming) and plan the new layout; any damage cancels;
//! 3. write `seg-N.cmp`, rate-limited, and fdatasync it — a crash leaves a file open removes;
//! 4. rename it over `seg-N.log` and fsync the directory — a crash before the fsync leaves
//!    either file, both complete; after it, old checkpoints are stale and open replays the
//!    log (correct, just slower) until
//! 5. the messages that use the segment are moved to the new offsets, in slices (a location
//!    not yet moved still reads from the old file, which the log keeps open meanwhile; no
//!    checkpoint starts until the move is done), and a checkpoint is written.

use crate::copy::CopyWatch;
use crate::disk::{Disk, DiskError, FileId, FileKind, SegmentFile};
use crate::error::StoreError;
use crate::ids::{AccountKey, Location, MailboxKey, Uid};
use crate::index::{LocationKind, MessageEntry, MessageIndex};
use crate::limits::{COMPACTION_WRITE_OCTETS, RELOCATIONS_PER_RECORD_MAX};
use crate::message::CHUNK_DATA_OFFSET;
use crate::record::{self, FrameContext, RECORD_HEADER_OCTETS, Record, Relocation};
use crate::scan::{self, ScanRange};
use crate::segment::{FORMAT_VERSION, SEGMENT_HEADER_OCTETS, SegmentHeader};
use crate::store::Store;
use std::cell::Cell;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap, HashSet};
use std::ops::{ControlFlow, Range};
use std::time::{Duration, Instant};

/// What one compaction pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CompactionReport {
    /// Segments rewritten: sequence, octets before, octets after (header and records; a
    /// rewritten file may be larger, over a hole that takes no room on disk).
    pub compacted: Vec<(u64, u64, u64)>,
    /// Segments considered but left alone, and why.
    pub skipped: Vec<(u64, String)>,
    /// The longest the pass held its shard in one synchronous step (a slice of the walks
    /// that pick segments and collect a segment's live locations, or of the move of the
    /// index to a rewritten segment): no other task of the shard runs meanwhile.
    pub longest_hold: Duration,
    /// Copies (COPY, MOVE) that used a segment being compacted, made while its walk or its
    /// move paused, that compaction visited (`CopyWatch`).
    pub copies_followed: usize,
}

/// Between two slices of a walk or a move compaction sleeps this long: a timer, not a yield,
/// so the executor polls for I/O before it comes back and the shard's sessions make progress.
const SLICE_PAUSE: Duration = Duration::from_micros(50);
/// A slice of the move of the index to a rewritten segment relocates this fraction of
/// `compaction_slice_entries` messages: moving a message (its mailbox, its entry, its new
/// offsets looked up) costs about 1.2 µs, 5 to 25 times visiting one (measured by
/// `storage_compaction`), so a slice of either takes about as long.
const MOVE_SLICE_DIVISOR: usize = 8;

/// What a compaction of one segment measured as it went.
#[derive(Default)]
struct Progress {
    /// The longest synchronous step.
    hold: Cell<Duration>,
    followed: Cell<usize>,
}

impl Progress {
    fn held(&self, step: Duration) {
        self.hold.set(self.hold.get().max(step));
    }
    fn followed(&self, copies: usize) {
        self.followed.set(self.followed.get() + copies);
    }
}

/// The plan for one segment.
struct Plan {
    /// The records of the new file after its relocation records, in log order.
    kept: Vec<Kept>,
    /// Old record offset → new record offset.
    moved: Moves,
    relocations: Vec<Relocation>,
    /// Where the old file's records lie (from its records start to the end of the last).
    old_records: Range<u64>,
    /// Where the new file's records lie: relocation records, then from `kept_start` on the
    /// kept ones. Disjoint from `old_records`.
    records: Range<u64>,
    kept_start: u64,
}

impl Plan {
    /// The new file's octets on disk: header and records.
    fn octets(&self) -> u64 {
        SEGMENT_HEADER_OCTETS as u64 + (self.records.end - self.records.start)
    }
}

/// A record of the rewritten segment.
enum Kept {
    /// Copied from the old file: its offset there and framed octets.
    Copied { old: u64, framed: usize },
    /// The tombstone of a commit record no message uses any more, at the commit's place;
    /// framed when written (the frame depends on its new offset).
    Tombstone {
        framed: usize,
        tombstone: Record<'static>,
    },
}

impl Kept {
    fn framed(&self) -> usize {
        match self {
            Kept::Copied { framed, .. } | Kept::Tombstone { framed, .. } => *framed,
        }
    }
}

/// Where the kept records of a segment moved: pairs (old offset, new offset) ascending, and
/// for each 4 KiB of the old records the first pair at or after it, so a lookup (the move
/// makes one per location) searches a handful of pairs, not all of them.
struct Moves {
    pairs: Vec<(u64, u64)>,
    /// The old records start: page 0 begins there.
    base: u64,
    pages: Vec<u32>,
}

impl Moves {
    const PAGE_SHIFT: u32 = 12;

    fn new(pairs: Vec<(u64, u64)>, base: u64) -> Self {
        let page_of = |old: u64| (old - base) >> Self::PAGE_SHIFT;
        let last_page = pairs.last().map_or(0, |(old, _)| page_of(*old));
        let mut pages = Vec::with_capacity(last_page as usize + 2);
        let mut next = 0;
        for page in 0..=last_page + 1 {
            while pairs.get(next).is_some_and(|(old, _)| page_of(*old) < page) {
                next += 1;
            }
            pages.push(next as u32);
        }
        Self { pairs, base, pages }
    }

    fn get(&self, old: u64) -> Option<u64> {
        let page = usize::try_from(old.checked_sub(self.base)? >> Self::PAGE_SHIFT).ok()?;
        let (start, end) = (*self.pages.get(page)?, *self.pages.get(page + 1)?);
        let pairs = self.pairs.get(start as usize..end as usize)?;
        let at = pairs.binary_search_by_key(&old, |(old, _)| *old).ok()?;
        Some(pairs[at].1)
    }
}

/// Locations the index uses in one segment (a copy, COPY or MOVE, shares its original's
/// chunks and commit record, so one location can be used by several messages), and the
/// messages that use them.
#[derive(Default)]
struct Live {
    /// First data octets of chunks in use.
    content: Runs,
    /// Offsets of commit records in use.
    commits: Runs,
    /// (mailbox, UID) of every message the walk found with a location in the segment, in
    /// walk order, which is ascending.
    users: Vec<(MailboxKey, Uid)>,
    /// The same of the copies it followed (`CopyWatch`), ascending and without repeats once
    /// the walk is done.
    copies: Vec<(MailboxKey, Uid)>,
}

/// Offsets a walk collected, as one sorted run without repeats per slice: no step sorts
/// them all at once (hundreds of thousands in a segment of small messages). `Asking`
/// answers whether ascending offsets are among them, walking each run once.
#[derive(Default)]
struct Runs {
    runs: Vec<Vec<u64>>,
    /// Collected since the last run was sealed.
    current: Vec<u64>,
}

impl Runs {
    fn push(&mut self, offset: u64) {
        self.current.push(offset);
    }

    /// Ends the current run (a slice's worth: its sort is bounded by the slice).
    fn seal(&mut self) {
        if self.current.is_empty() {
            return;
        }
        let mut run = std::mem::take(&mut self.current);
        run.sort_unstable();
        run.dedup();
        self.runs.push(run);
    }

    fn asking(&self) -> Asking<'_> {
        let mut next = BinaryHeap::with_capacity(self.runs.len());
        for (run, offsets) in self.runs.iter().enumerate() {
            if let Some(first) = offsets.first() {
                next.push(Reverse((*first, run, 0)));
            }
        }
        Asking {
            runs: &self.runs,
            next,
            passed_over: false,
        }
    }
}

/// Membership of ascending offsets in `Runs`: a heap of each run's next offset.
struct Asking<'a> {
    runs: &'a [Vec<u64>],
    /// (offset, run, its position in the run), least first.
    next: BinaryHeap<Reverse<(u64, usize, usize)>>,
    /// An offset was passed over without being asked about.
    passed_over: bool,
}

impl Asking<'_> {
    /// Whether `offset` is in a run; each call must ask a larger offset than the last.
    fn contains(&mut self, offset: u64) -> bool {
        let mut found = false;
        while let Some(Reverse((least, run, at))) = self.next.peek().copied()
            && least <= offset
        {
            self.next.pop();
            match least == offset {
                true => found = true,
                false => self.passed_over = true,
            }
            if let Some(following) = self.runs[run].get(at + 1) {
                self.next.push(Reverse((*following, run, at + 1)));
            }
        }
        found
    }

    /// Whether every offset of every run was asked about.
    fn all_asked(&self) -> bool {
        !self.passed_over && self.next.is_empty()
    }
}

/// What a walk of the index does with the messages it visits.
trait Walker {
    /// `copied`: a message a copy made while the walk paused (`CopyWatch`).
    fn visit(&mut self, key: MailboxKey, index: &MessageIndex, entry: &MessageEntry, copied: bool);
    /// Ends the slice that began at `started` (whatever the walker does here is part of it).
    fn slice_done(&mut self, started: Instant);
}

/// Content octets used per segment (`Store::live_octets_by_segment`).
struct LiveOctets<'a> {
    live: BTreeMap<u64, u64>,
    shared_seen: HashSet<Location>,
    report: &'a mut CompactionReport,
}

impl Walker for LiveOctets<'_> {
    fn visit(&mut self, _: MailboxKey, index: &MessageIndex, entry: &MessageEntry, _: bool) {
        let shared = entry.shared();
        index.locations_of(entry, |location, kind| {
            if let LocationKind::Content(octets) = kind
                && (!shared || self.shared_seen.insert(location))
            {
                *self.live.entry(location.sequence).or_insert(0) += u64::from(octets);
            }
        });
    }
    fn slice_done(&mut self, started: Instant) {
        let step = started.elapsed();
        self.report.longest_hold = self.report.longest_hold.max(step);
    }
}

/// The locations in one segment and their users (`Store::live_in`).
struct LiveIn<'a> {
    sequence: u64,
    live: Live,
    progress: &'a Progress,
}

impl Walker for LiveIn<'_> {
    fn visit(&mut self, key: MailboxKey, index: &MessageIndex, entry: &MessageEntry, copied: bool) {
        let live = &mut self.live;
        let mut uses = false;
        index.locations_of(entry, |location, kind| {
            if location.sequence == self.sequence {
                uses = true;
                match kind {
                    LocationKind::Commit => live.commits.push(location.offset),
                    LocationKind::Content(_) => live.content.push(location.offset),
                }
            }
        });
        if uses {
            match copied {
                true => live.copies.push((key, entry.uid)),
                false => live.users.push((key, entry.uid)),
            }
        }
    }
    fn slice_done(&mut self, started: Instant) {
        self.live.content.seal();
        self.live.commits.seal();
        self.progress.held(started.elapsed());
    }
}

/// Where a walk of the index stands: the next message to visit is the first with a UID at
/// least `uid` in the first mailbox at or after `mailbox` (mailbox numbers are never reused,
/// and the maps are ordered, so a walk resumes where it stopped whatever changed meanwhile).
#[derive(Clone, Copy)]
struct WalkPosition {
    mailbox: MailboxKey,
    uid: Uid,
}

impl WalkPosition {
    const START: Self = Self {
        mailbox: MailboxKey {
            account: AccountKey {
                partition: 0,
                account: 0,
            },
            mailbox: 0,
        },
        uid: 0,
    };
}

/// While compaction works on a segment, the state lists the copies that use it
/// (`CopyWatch`); dropping this ends the list, however the compaction ends.
struct Watching<'a, D: Disk + 'static> {
    store: &'a Store<D>,
}

impl<'a, D: Disk + 'static> Watching<'a, D> {
    fn new(store: &'a Store<D>, sequence: u64) -> Self {
        store.state.borrow_mut().copy_watch = Some(CopyWatch {
            sequence,
            copies: Vec::new(),
        });
        Self { store }
    }
}

impl<D: Disk + 'static> Drop for Watching<'_, D> {
    fn drop(&mut self) {
        self.store.state.borrow_mut().copy_watch = None;
    }
}

/// Where the records of a segment file start: after its header, or after the hole a
/// rewrite left before them. `None` if the header does not verify.
async fn records_start<F: SegmentFile>(file: &F) -> Result<Option<u64>, StoreError> {
    let header = file
        .read_at(0, SEGMENT_HEADER_OCTETS)
        .await
        .map_err(StoreError::Read)?;
    let header = SegmentHeader::decode(&header).ok();
    Ok(header.map(|header| header.records_start))
}

impl<D: Disk + 'static> Store<D> {
    /// Rewrites every sealed segment whose live content is at most
    /// `compaction_live_percent_max` of its size. One pass at a time (a call waits for a
    /// pass in progress, then makes its own); writes go on meanwhile.
    pub async fn compact(&self) -> Result<CompactionReport, StoreError> {
        let report = self.exclusively(self.compact_all()).await;
        report.unwrap_or_else(|| Ok(CompactionReport::default()))
    }

    /// Runs `work` as the one compaction of the store, once a pass in progress is done;
    /// `None` once the store is closed (`close` keeps the claim for good: nothing may move
    /// after it).
    async fn exclusively<T>(&self, work: impl Future<Output = T>) -> Option<T> {
        if !self.claim_compaction(true).await {
            return None;
        }
        let result = work.await;
        self.compacting.set(false);
        self.compaction_done.notify();
        Some(result)
    }

    /// Waits until no compaction pass runs, then marks one as running. With
    /// `unless_closed`, gives up (false) once the store is closed.
    pub(crate) async fn claim_compaction(&self, unless_closed: bool) -> bool {
        let mut claimed = false;
        let closed = || unless_closed && self.log.closed();
        self.compaction_done
            .until(|| {
                claimed = !closed() && !self.compacting.replace(true);
                claimed || closed()
            })
            .await;
        claimed
    }

    async fn compact_all(&self) -> Result<CompactionReport, StoreError> {
        let mut report = CompactionReport::default();
        let percent_max = u64::from(self.log.config().compaction_live_percent_max);
        let live_octets = self.live_octets_by_segment(&mut report).await;
        for sequence in self.log.sequences() {
            if sequence >= self.log.tail_sequence() {
                break;
            }
            let Some((file, _)) = self.log.segment(sequence) else {
                continue;
            };
            let start = records_start(&*file).await?;
            let hole = start.map_or(0, |start| start - SEGMENT_HEADER_OCTETS as u64);
            let octets = file.octets().await.map_err(StoreError::Read)?;
            let octets = octets.saturating_sub(hole);
            let live = live_octets.get(&sequence).copied().unwrap_or(0);
            if live * 100 > octets * percent_max {
                continue;
            }
            let progress = Progress::default();
            match self.compact_segment_reporting(sequence, &progress).await? {
                Ok(after) => report.compacted.push((sequence, octets, after)),
                Err(reason) => report.skipped.push((sequence, reason)),
            }
            report.longest_hold = report.longest_hold.max(progress.hold.get());
            report.copies_followed += progress.followed.get();
        }
        if !report.compacted.is_empty() {
            // Old checkpoints are stale now; keep restart bounded.
            self.checkpoint().await?;
        }
        Ok(report)
    }

    /// Content octets the index uses, per segment, walked in slices. Content shared by
    /// copies counts once (only messages marked shared are looked up in a set). An estimate
    /// when the index changes during the walk; each segment's plan is exact.
    async fn live_octets_by_segment(&self, report: &mut CompactionReport) -> BTreeMap<u64, u64> {
        let mut walker = LiveOctets {
            live: BTreeMap::new(),
            shared_seen: HashSet::new(),
            report,
        };
        self.walk_in_slices(&mut walker).await;
        walker.live
    }

    /// Walks the whole index in slices with a pause between them, telling the walker when
    /// each slice is done and how long it took. After each slice it also visits the copies
    /// listed since the last (`follow_copies`), so a walk over a segment being compacted
    /// misses no message made behind it; returns how many it visited so.
    async fn walk_in_slices(&self, walker: &mut impl Walker) -> usize {
        let mut position = WalkPosition::START;
        let mut followed = 0;
        let mut started = Instant::now();
        loop {
            let done = self.walk_slice(&mut position, walker).is_break();
            followed += self.follow_copies(walker);
            walker.slice_done(started);
            if done {
                return followed;
            }
            glommio::timer::sleep(SLICE_PAUSE).await;
            started = Instant::now();
        }
    }

    /// Visits the messages of the index from `position` on, at most
    /// `compaction_slice_entries` of them (an empty mailbox counts as one), and moves
    /// `position` past them. `Break` once the walk is done.
    fn walk_slice(&self, position: &mut WalkPosition, walker: &mut impl Walker) -> ControlFlow<()> {
        let mut budget = self.log.config().compaction_slice_entries.max(1);
        let state = self.state.borrow();
        let from = *position;
        for (account_key, account) in state.accounts.range(from.mailbox.account..) {
            let first_mailbox = match *account_key == from.mailbox.account {
                true => from.mailbox.mailbox,
                false => 0,
            };
            for (number, mailbox) in account.mailboxes.range(first_mailbox..) {
                let key = MailboxKey {
                    account: *account_key,
                    mailbox: *number,
                };
                let first_uid = if key == from.mailbox { from.uid } else { 0 };
                let entries = mailbox.index.entries();
                let entries = &entries[entries.partition_point(|entry| entry.uid < first_uid)..];
                if entries.len() >= budget {
                    let slice = &entries[..budget];
                    for entry in slice {
                        walker.visit(key, &mailbox.index, entry, false);
                    }
                    // Resumes after the last one visited (UIDs stop below u32::MAX).
                    let last = slice.last().map_or(0, |entry| entry.uid);
                    *position = WalkPosition {
                        mailbox: key,
                        uid: last.saturating_add(1),
                    };
                    return ControlFlow::Continue(());
                }
                for entry in entries {
                    walker.visit(key, &mailbox.index, entry, false);
                }
                budget -= entries.len().max(1);
            }
        }
        ControlFlow::Break(())
    }

    /// The copies listed since the last call (`CopyWatch`; none when no segment is being
    /// compacted).
    fn take_watched_copies(&self) -> Vec<(MailboxKey, Uid)> {
        let mut state = self.state.borrow_mut();
        let watch = state.copy_watch.as_mut();
        watch.map_or_else(Vec::new, |watch| std::mem::take(&mut watch.copies))
    }

    /// Visits the messages the copies listed since the last call made (those still
    /// present); returns how many copies there were.
    fn follow_copies(&self, walker: &mut impl Walker) -> usize {
        let copies = self.take_watched_copies();
        let state = self.state.borrow();
        for (key, uid) in &copies {
            if let Some(mailbox) = state.mailbox(*key)
                && let Some(entry) = mailbox.index.get(*uid)
            {
                walker.visit(*key, &mailbox.index, entry, true);
            }
        }
        copies.len()
    }

    /// The locations the index uses in segment `sequence`, and the messages that use them,
    /// walked in slices. A copy or move applied while the walk pauses can make an entry of a
    /// mailbox already walked refer to the segment (and its original can be expunged before
    /// its own mailbox is reached): the walk visits the copies the state lists for the
    /// segment (`CopyWatch`, set up by the caller) after every slice.
    async fn live_in(&self, sequence: u64, progress: &Progress) -> Live {
        let mut walker = LiveIn {
            sequence,
            live: Live::default(),
            progress,
        };
        let followed = self.walk_in_slices(&mut walker).await;
        progress.followed(followed);
        let mut live = walker.live;
        // As many as copies were made during the walk: few.
        live.copies.sort_unstable();
        live.copies.dedup();
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
        // A commit waiting to be applied whose content lies in the segment (its writer, and
        // with it the pin, may be gone): the walk would not find the message.
        if effects.iter().any(|effect| effect.uses_segment(sequence)) {
            return Some("a message with content in it is not applied yet".into());
        }
        None
    }

    /// Rewrites one sealed segment. `Ok(Err(reason))`: left alone; `Ok(Ok(octets))`: the new
    /// file's octets on disk (header and records). Waits for a pass in progress (one compaction at a time: the log, the copy watch and
    /// the checkpoints know of one segment being replaced).
    pub async fn compact_segment(&self, sequence: u64) -> Result<Result<u64, String>, StoreError> {
        let progress = Progress::default();
        let work = self.compact_segment_reporting(sequence, &progress);
        let result = self.exclusively(work).await;
        result.unwrap_or_else(|| Ok(Err("store closed".into())))
    }

    /// `compact_segment`, keeping in `progress` the longest of its synchronous steps and the
    /// copies it followed.
    async fn compact_segment_reporting(
        &self,
        sequence: u64,
        progress: &Progress,
    ) -> Result<Result<u64, String>, StoreError> {
        let started = Instant::now();
        let refusal = self.refusal(sequence);
        progress.held(started.elapsed());
        if let Some(reason) = refusal {
            return Ok(Err(reason));
        }
        let Some((file, salt)) = self.log.segment(sequence) else {
            return Ok(Err("no such segment".into()));
        };
        let Some(old_start) = records_start(&*file).await? else {
            return Ok(Err("damaged header; run postern check".into()));
        };
        // Until the index has moved to the new file.
        let _watching = Watching::new(self, sequence);
        let live = self.live_in(sequence, progress).await;
        let plan = match self.plan(&*file, salt, old_start, &live).await? {
            Ok(plan) => plan,
            Err(reason) => return Ok(Err(reason)),
        };
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
        self.move_index(sequence, replaced, new_salt, &plan, live, progress)
            .await;
        Ok(Ok(plan.octets()))
    }

    /// Step 5: the log switches to the new file (keeping the old one for the locations not
    /// moved yet) and the messages that use the segment move to their new offsets, in slices
    /// of `compaction_slice_entries / MOVE_SLICE_DIVISOR` with a pause between them. A copy
    /// made meanwhile of a message not yet moved names old offsets: the copies the state
    /// listed are moved after every slice, and the last slice takes the last of them in the
    /// same synchronous step as it ends the move. No checkpoint starts before then.
    async fn move_index(
        &self,
        sequence: u64,
        file: D::File,
        salt: u32,
        plan: &Plan,
        live: Live,
        progress: &Progress,
    ) {
        // Never under a checkpoint that is encoding the state.
        self.until_thawed().await;
        let mut started = Instant::now();
        self.relocating.set(true);
        self.log
            .begin_replace(sequence, file, salt, plan.old_records.clone());
        let old = &plan.old_records;
        // Locations outside the old records have moved already (a message listed twice).
        let moved = |offset: u64, kind: LocationKind| {
            let record = match kind {
                LocationKind::Commit => offset,
                LocationKind::Content(_) => offset.checked_sub(CHUNK_DATA_OFFSET)?,
            };
            if !old.contains(&record) {
                return Some(offset);
            }
            let new = plan.moved.get(record)?;
            Some(offset - record + new)
        };
        let slice = (self.log.config().compaction_slice_entries / MOVE_SLICE_DIVISOR).max(1);
        let mut lost = 0;
        let mut rest = &live.users[..];
        // The copies the walk followed go with the first slice.
        let mut followed = live.copies;
        loop {
            let (now, later) = rest.split_at(rest.len().min(slice));
            lost += self.relocate_users(sequence, now, &moved);
            rest = later;
            let mut copies = self.take_watched_copies();
            progress.followed(copies.len());
            copies.append(&mut followed);
            if !copies.is_empty() {
                copies.sort_unstable();
                copies.dedup();
                lost += self.relocate_users(sequence, &copies, &moved);
            }
            if rest.is_empty() {
                break;
            }
            progress.held(started.elapsed());
            glommio::timer::sleep(SLICE_PAUSE).await;
            started = Instant::now();
        }
        self.log.end_replace();
        self.commit_cache
            .borrow_mut()
            .forget_range(sequence, old.clone());
        self.relocating.set(false);
        self.relocated.notify();
        progress.held(started.elapsed());
        // Every location in use was planned for, and no new one can appear in a sealed,
        // unpinned segment but through a copy.
        assert_eq!(
            lost, 0,
            "compaction lost index locations in segment {sequence}"
        );
    }

    /// Moves the locations in segment `sequence` of `users` (ascending) through `moved`;
    /// returns how many had one it does not know.
    fn relocate_users(
        &self,
        sequence: u64,
        users: &[(MailboxKey, Uid)],
        moved: &impl Fn(u64, LocationKind) -> Option<u64>,
    ) -> usize {
        let mut state = self.state.borrow_mut();
        let mut lost = 0;
        for run in users.chunk_by(|a, b| a.0 == b.0) {
            let key = run[0].0;
            if let Some(mailbox) = state
                .accounts
                .get_mut(&key.account)
                .and_then(|account| account.mailboxes.get_mut(&key.mailbox))
            {
                lost += mailbox
                    .index
                    .relocate(sequence, run.iter().map(|(_, uid)| *uid), moved);
            }
        }
        lost
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

    /// Pass 1: scans the segment's records (from `old_start`) and lays out the new file.
    async fn plan(
        &self,
        file: &D::File,
        salt: u32,
        old_start: u64,
        live: &Live,
    ) -> Result<Result<Plan, String>, StoreError> {
        let octets = file.octets().await.map_err(StoreError::Read)?;
        let range = ScanRange {
            from: old_start,
            file_octets: octets,
            salt,
            window_octets: self.log.config().scan_window_octets,
        };
        let mut kept: Vec<Kept> = Vec::new();
        let mut kept_chunks: Vec<u64> = Vec::new();
        let mut original_of: HashMap<u64, u64> = HashMap::new();
        let mut content = live.content.asking();
        let mut commits = live.commits.asking();
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
                    if content.contains(offset + CHUNK_DATA_OFFSET) {
                        kept.push(Kept::Copied {
                            old: offset,
                            framed,
                        });
                        kept_chunks.push(offset);
                    }
                }
                Record::MessageCommit(commit) => {
                    if commits.contains(offset) {
                        kept.push(Kept::Copied {
                            old: offset,
                            framed,
                        });
                    } else {
                        // The message is gone (expunged, moved, its mailbox deleted), and
                        // with it any copy: keep what replay needs of its commit.
                        let tombstone = Record::MessageTombstone(commit.clone().tombstone());
                        scratch.clear();
                        let framed = record::encode(&tombstone, context, &mut scratch);
                        kept.push(Kept::Tombstone { framed, tombstone });
                    }
                }
                _ => kept.push(Kept::Copied {
                    old: offset,
                    framed,
                }),
            }
        })
        .await
        .map_err(StoreError::Read)?;
        if !outcome.damaged.is_empty() || outcome.tail.is_some() {
            return Ok(Err("damaged; run postern check".into()));
        }
        if !content.all_asked() || !commits.all_asked() {
            return Ok(Err(
                "index refers to records the segment does not hold".into()
            ));
        }
        let old_records = old_start..outcome.valid_end;
        let relocation_records = kept_chunks.len().div_ceil(RELOCATIONS_PER_RECORD_MAX);
        let relocation_octets: u64 = (0..relocation_records)
            .map(|index| {
                let count = (kept_chunks.len() - index * RELOCATIONS_PER_RECORD_MAX)
                    .min(RELOCATIONS_PER_RECORD_MAX);
                (RECORD_HEADER_OCTETS + 4 + 16 * count) as u64
            })
            .sum();
        let length = relocation_octets + kept.iter().map(|k| k.framed() as u64).sum::<u64>();
        let header = SEGMENT_HEADER_OCTETS as u64;
        // What the old file takes on disk (its hole, if any, takes nothing).
        if header + length >= octets.saturating_sub(old_start - header) {
            return Ok(Err("nothing to reclaim".into()));
        }
        // Disjoint from the old records: before them if there is room, else after them.
        let records_start = match header + length <= old_records.start {
            true => header,
            false => old_records.end,
        };
        if records_start + length > u64::from(u32::MAX) {
            return Ok(Err("its offsets would not fit a location".into()));
        }
        let kept_start = records_start + relocation_octets;
        let mut position = kept_start;
        let mut moved = Vec::with_capacity(kept.len());
        for record in &kept {
            if let Kept::Copied { old, .. } = record {
                moved.push((*old, position));
            }
            position += record.framed() as u64;
        }
        let moved = Moves::new(moved, old_records.start);
        // Both in ascending old offset: one merge.
        let mut new_offsets = moved.pairs.iter();
        let relocations = kept_chunks
            .iter()
            .filter_map(|old| {
                let (_, new) = new_offsets.find(|(kept, _)| kept == old)?;
                let data = old + CHUNK_DATA_OFFSET;
                Some(Relocation {
                    original: original_of.get(&data).copied().unwrap_or(data),
                    current: new + CHUNK_DATA_OFFSET,
                })
            })
            .collect();
        Ok(Ok(Plan {
            kept,
            moved,
            relocations,
            old_records,
            records: records_start..position,
            kept_start,
        }))
    }

    /// Pass 2: writes the new file: header, then from its records start the relocation
    /// records and the kept records re-framed.
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
            records_start: plan.records.start,
        };
        output.write_at(0, header.encode().to_vec()).await?;
        let mut buffer = Vec::new();
        let mut written = plan.records.start;
        for relocations in plan.relocations.chunks(RELOCATIONS_PER_RECORD_MAX) {
            let offset = written + buffer.len() as u64;
            let record = Record::Relocation(relocations.to_vec());
            record::encode(&record, FrameContext { salt, offset }, &mut buffer);
        }
        assert_eq!(written + buffer.len() as u64, plan.kept_start);
        for kept in &plan.kept {
            let context = FrameContext {
                salt,
                offset: written + buffer.len() as u64,
            };
            match kept {
                Kept::Tombstone { framed, tombstone } => {
                    let encoded = record::encode(tombstone, context, &mut buffer);
                    assert_eq!(encoded, *framed, "a tombstone's size does not change");
                }
                Kept::Copied { old: at, framed } => {
                    let bytes = old.read_at(*at, *framed).await?;
                    let old_context = FrameContext {
                        salt: old_salt,
                        offset: *at,
                    };
                    if bytes.len() != *framed || record::decode_frame(&bytes, old_context).is_err()
                    {
                        return Err(DiskError::Io {
                            operation: "compaction read",
                            detail: format!("segment {sequence} changed under compaction at {at}"),
                        });
                    }
                    let start = buffer.len();
                    buffer.extend_from_slice(&bytes);
                    let header_crc = record::header_checksum(&buffer[start..start + 12], context);
                    buffer[start + 12..start + 16].copy_from_slice(&header_crc.to_le_bytes());
                }
            }
            if buffer.len() >= COMPACTION_WRITE_OCTETS {
                written += self.flush_output(output, written, &mut buffer).await?;
            }
        }
        written += self.flush_output(output, written, &mut buffer).await?;
        assert_eq!(written, plan.records.end);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn runs(slices: &[&[u64]]) -> Runs {
        let mut runs = Runs::default();
        for slice in slices {
            for offset in *slice {
                runs.push(*offset);
            }
            runs.seal();
        }
        runs
    }

    #[test]
    fn runs_answer_ascending_offsets_across_slices_with_repeats() {
        // A shared chunk (300) found in two slices, unsorted within a slice.
        let runs = runs(&[&[500, 100, 300], &[], &[300, 200, 200], &[900]]);
        let mut asking = runs.asking();
        let answers: Vec<(u64, bool)> = [50, 100, 150, 200, 300, 400, 500, 900]
            .iter()
            .map(|offset| (*offset, asking.contains(*offset)))
            .collect();
        let members = [100, 200, 300, 500, 900];
        for (offset, answer) in answers {
            assert_eq!(answer, members.contains(&offset), "{offset}");
        }
        assert!(asking.all_asked());
    }

    #[test]
    fn an_offset_never_asked_about_is_noticed() {
        let runs = runs(&[&[100, 300], &[200]]);
        // 200 is passed over.
        let mut asking = runs.asking();
        assert!(asking.contains(100) && asking.contains(300));
        assert!(!asking.all_asked());
        // 300 is never reached.
        let mut asking = runs.asking();
        assert!(asking.contains(100) && asking.contains(200));
        assert!(!asking.all_asked());
        assert!(Runs::default().asking().all_asked());
    }
}
