//! One shard's append-only log: a single writer with group commit.
//!
//! Appends are synchronous and only place a framed record in the pending batch; `wait` then
//! returns a `Durable` receipt once the batch holding it has been written and fdatasync'ed. One
//! flusher task at a time takes everything pending as one batch: one write per segment touched
//! and one fdatasync per batch, while appenders keep filling the next batch. Any failed write or
//! fdatasync is fatal for writing: the log keeps the error, refuses appends and keeps serving
//! reads (docs/STORAGE.md, "Group commit").

use crate::disk::{Disk, DiskError, SegmentFile};
use crate::ids::Location;
use crate::limits::{
    BATCH_OCTETS_DEFAULT, CHECKPOINT_INTERVAL_OCTETS_DEFAULT, CHECKPOINT_PIECE_OCTETS,
    COMMIT_CACHE_OCTETS_DEFAULT, COMPACTION_INTERVAL_OCTETS_DEFAULT,
    COMPACTION_LIVE_PERCENT_DEFAULT, COMPACTION_OCTETS_PER_SEC_DEFAULT,
    COMPACTION_SLICE_ENTRIES_DEFAULT, SCAN_WINDOW_OCTETS_DEFAULT, SCAN_WINDOW_OCTETS_MIN,
    SEGMENT_OCTETS_DEFAULT, SEGMENT_OCTETS_LIMIT, SEGMENT_OCTETS_MIN,
};
use crate::notify::Event;
use crate::record::{self, FrameContext, Record};
use crate::segment::{FORMAT_VERSION, SEGMENT_HEADER_OCTETS, SegmentHeader};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

/// Whether batches are fdatasync'ed. Only `Always` is durable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FsyncMode {
    Always,
    /// Benchmarks only: acknowledges writes that a crash can lose.
    UnsafeNone,
}

#[derive(Debug, Clone)]
pub struct LogConfig {
    pub shard: u32,
    /// A segment is sealed and a new one started before it would exceed this size.
    pub segment_octets_max: u64,
    /// Appenders wait (backpressure) while this much is pending for the next batch.
    pub batch_octets_max: usize,
    pub fsync_mode: FsyncMode,
    /// Seeds the per-segment salts; `None` draws a random seed (tests fix it).
    pub salt_seed: Option<u64>,
    /// Recovery reads segments through a window of this size (memory bound of a scan).
    pub scan_window_octets: usize,
    /// A checkpoint is written in the background after this much log since the last one;
    /// 0 writes them only on request (`Store::checkpoint`, `Store::close`).
    pub checkpoint_interval_octets: u64,
    /// Compaction rewrites a sealed segment when at most this percentage of it is live.
    pub compaction_live_percent_max: u8,
    /// Compaction's write rate limit; 0 = unlimited (tests).
    pub compaction_octets_per_sec: u64,
    /// A compaction pass starts in the background after this much log since the last one;
    /// 0 runs it only on request (`Store::compact`).
    pub compaction_interval_octets: u64,
    /// A checkpoint encodes the state in pieces of about this many octets, applying no
    /// record meanwhile (at least one message or head per piece; tests use tiny pieces).
    pub checkpoint_piece_octets: usize,
    /// Index entries compaction walks in one synchronous step before it yields, and 8 times
    /// the messages it moves to a rewritten segment in one step (at least 1; tests use small
    /// values to interleave other work with its walks and moves).
    pub compaction_slice_entries: usize,
    /// Memory for verified commit records read back (`Store::read_commit`); 0 = no cache.
    pub commit_cache_octets: usize,
}

impl LogConfig {
    pub fn new(shard: u32) -> Self {
        Self {
            shard,
            segment_octets_max: SEGMENT_OCTETS_DEFAULT,
            batch_octets_max: BATCH_OCTETS_DEFAULT,
            fsync_mode: FsyncMode::Always,
            salt_seed: None,
            scan_window_octets: SCAN_WINDOW_OCTETS_DEFAULT,
            checkpoint_interval_octets: CHECKPOINT_INTERVAL_OCTETS_DEFAULT,
            compaction_live_percent_max: COMPACTION_LIVE_PERCENT_DEFAULT,
            compaction_octets_per_sec: COMPACTION_OCTETS_PER_SEC_DEFAULT,
            compaction_interval_octets: COMPACTION_INTERVAL_OCTETS_DEFAULT,
            compaction_slice_entries: COMPACTION_SLICE_ENTRIES_DEFAULT,
            checkpoint_piece_octets: CHECKPOINT_PIECE_OCTETS,
            commit_cache_octets: COMMIT_CACHE_OCTETS_DEFAULT,
        }
    }

    pub(crate) fn check(&self) -> Result<(), String> {
        let segment = self.segment_octets_max;
        if !(SEGMENT_OCTETS_MIN..=SEGMENT_OCTETS_LIMIT).contains(&segment) {
            return Err(format!(
                "segment_octets_max {segment} outside {SEGMENT_OCTETS_MIN}..={SEGMENT_OCTETS_LIMIT}"
            ));
        }
        if self.scan_window_octets < SCAN_WINDOW_OCTETS_MIN {
            return Err(format!(
                "scan_window_octets {} below {SCAN_WINDOW_OCTETS_MIN}",
                self.scan_window_octets
            ));
        }
        if self.compaction_live_percent_max > 100 {
            return Err("compaction_live_percent_max above 100".into());
        }
        if self.compaction_slice_entries == 0 {
            return Err("compaction_slice_entries must be positive".into());
        }
        if self.batch_octets_max == 0 {
            return Err("batch_octets_max must be positive".into());
        }
        Ok(())
    }
}

/// Proof that a write is on disk. Only the log's flush path makes one; protocols need it to
/// build a success reply for a write (DESIGN invariant 2).
#[derive(Debug)]
#[must_use = "a write is acknowledged by replying with its receipt"]
pub struct Durable {
    _private: (),
}

impl Durable {
    fn new() -> Self {
        Self { _private: () }
    }
}

/// The batch a record was placed in.
pub type Ticket = u64;

/// Why a write was refused. Reads are still served after any of these.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LogError {
    /// The log stopped accepting writes after this storage failure (ENOSPC included).
    #[error("log refuses writes after a storage failure: {0}")]
    Failed(DiskError),
    /// The store was closed for shutdown.
    #[error("log closed for shutdown")]
    Closed,
    /// A bug: a record larger than an empty segment.
    #[error("record of {octets} octets cannot fit in a segment")]
    RecordTooLarge { octets: usize },
}

impl LogError {
    /// SMTP 452 4.3.1, IMAP NO [OVERQUOTA], POP3 -ERR rather than a generic failure.
    pub fn is_no_space(&self) -> bool {
        matches!(self, LogError::Failed(DiskError::NoSpace { .. }))
    }
}

struct Span {
    sequence: u64,
    offset: u64,
    salt: u32,
    bytes: Vec<u8>,
}

pub(crate) struct WriterState {
    pub(crate) tail: Location,
    pub(crate) tail_salt: u32,
    pending: Vec<Span>,
    pending_octets: usize,
    batch_filling: Ticket,
    batch_durable: Ticket,
    flushing: bool,
    failure: Option<DiskError>,
    closed: bool,
    /// The first append starts a new segment: the tail segment is of an older format version.
    seal_tail: bool,
    /// End of the last durable batch: everything before it is on disk.
    durable_end: Location,
    /// Octets appended since open (drives periodic checkpoints).
    appended_octets: u64,
    /// Writers waiting for room in the batch, in arrival order.
    waiting: std::collections::VecDeque<(u64, Rc<Event>)>,
    waiting_next: u64,
}

pub(crate) struct Inner<D: Disk> {
    pub(crate) disk: D,
    pub(crate) config: LogConfig,
    pub(crate) files: RefCell<BTreeMap<u64, Rc<D::File>>>,
    pub(crate) salts: RefCell<BTreeMap<u64, u32>>,
    /// The old file of a segment compaction is replacing, while the index moves over.
    previous: RefCell<Option<Previous<D::File>>>,
    pub(crate) writer: RefCell<WriterState>,
    /// Notified after every batch, durable or failed.
    batches: Rc<Event>,
    salt_seed: u64,
}

/// A segment's file before compaction replaced it, and where its records lie.
struct Previous<F> {
    sequence: u64,
    file: Rc<F>,
    salt: u32,
    records: std::ops::Range<u64>,
}

pub struct Log<D: Disk> {
    pub(crate) inner: Rc<Inner<D>>,
}

impl<D: Disk> Clone for Log<D> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
        }
    }
}

impl<D: Disk + 'static> Log<D> {
    /// A log whose next record goes to `tail` (recovery decides where that is).
    pub(crate) fn new(
        disk: D,
        config: LogConfig,
        files: BTreeMap<u64, Rc<D::File>>,
        salts: BTreeMap<u64, u32>,
        tail: Location,
    ) -> Self {
        let salt_seed = config.salt_seed.unwrap_or_else(random_seed);
        let inner = Inner {
            disk,
            config,
            files: RefCell::new(files),
            salts: RefCell::new(salts),
            previous: RefCell::new(None),
            writer: RefCell::new(WriterState {
                tail,
                tail_salt: 0,
                pending: Vec::new(),
                pending_octets: 0,
                batch_filling: 1,
                batch_durable: 0,
                flushing: false,
                failure: None,
                closed: false,
                seal_tail: false,
                durable_end: tail,
                appended_octets: 0,
                waiting: std::collections::VecDeque::new(),
                waiting_next: 0,
            }),
            batches: Event::new(),
            salt_seed,
        };
        let log = Self {
            inner: Rc::new(inner),
        };
        let salt = log.salt_for(tail.sequence);
        log.inner.writer.borrow_mut().tail_salt = salt;
        log
    }

    /// The salt of a segment: recorded in its header, used to check its records.
    pub(crate) fn salt_for(&self, sequence: u64) -> u32 {
        if let Some(salt) = self.inner.salts.borrow().get(&sequence) {
            return *salt;
        }
        let mut rng = crate::sim::Rng::new(self.inner.salt_seed ^ sequence.rotate_left(32));
        rng.next_u64() as u32
    }

    /// Makes the first append start a new segment (recovery: the last segment is of an
    /// older format version, and a segment holds records of its header's version only).
    pub(crate) fn seal_tail(&self) {
        self.inner.writer.borrow_mut().seal_tail = true;
    }

    /// The error that stopped writes, if any.
    pub fn failure(&self) -> Option<DiskError> {
        self.inner.writer.borrow().failure.clone()
    }

    /// Waits while the pending batch is full (backpressure). Call before allocating anything
    /// (UIDs, MODSEQs) that must appear in log order, then `append` without awaiting between.
    ///
    /// Waiters are admitted in arrival order (a queue, each with its own wake-up), so under
    /// sustained backpressure no writer is overtaken again and again; a waiter that is dropped
    /// leaves the queue.
    pub async fn ready(&self) -> Result<(), LogError> {
        let (number, event) = {
            let mut writer = self.inner.writer.borrow_mut();
            if let Some(failure) = &writer.failure {
                return Err(LogError::Failed(failure.clone()));
            }
            if writer.closed {
                return Err(LogError::Closed);
            }
            if writer.waiting.is_empty()
                && writer.pending_octets < self.inner.config.batch_octets_max
            {
                return Ok(());
            }
            let number = writer.waiting_next;
            writer.waiting_next += 1;
            let event = Event::new();
            writer.waiting.push_back((number, event.clone()));
            (number, event)
        };
        let _queued = Queued { log: self, number };
        loop {
            let generation = event.generation();
            {
                let writer = self.inner.writer.borrow();
                if let Some(failure) = &writer.failure {
                    return Err(LogError::Failed(failure.clone()));
                }
                if writer.closed {
                    return Err(LogError::Closed);
                }
                let first = writer.waiting.front().map(|(first, _)| *first);
                if first == Some(number)
                    && writer.pending_octets < self.inner.config.batch_octets_max
                {
                    // `_queued` leaves the queue and wakes the next waiter.
                    return Ok(());
                }
            }
            self.start_flusher();
            event.changed(generation).await;
        }
    }

    /// Wakes the first waiter for room in the batch, or all of them (failure, close).
    fn wake_waiting(&self, all: bool) {
        let events: Vec<Rc<Event>> = {
            let writer = self.inner.writer.borrow();
            let take = if all { writer.waiting.len() } else { 1 };
            writer
                .waiting
                .iter()
                .take(take)
                .map(|(_, event)| event.clone())
                .collect()
        };
        events.iter().for_each(|event| event.notify());
    }

    /// Places `record` in the pending batch; returns where it will be and its batch.
    pub fn append(&self, record: &Record<'_>) -> Result<(Location, Ticket), LogError> {
        let segment_octets_max = self.inner.config.segment_octets_max;
        let mut writer = self.inner.writer.borrow_mut();
        if let Some(failure) = &writer.failure {
            return Err(LogError::Failed(failure.clone()));
        }
        if writer.closed {
            return Err(LogError::Closed);
        }
        if writer.seal_tail {
            writer.seal_tail = false;
            let sequence = writer.tail.sequence + 1;
            writer.tail = Location {
                sequence,
                offset: SEGMENT_HEADER_OCTETS as u64,
            };
            drop(writer);
            let salt = self.salt_for(sequence);
            writer = self.inner.writer.borrow_mut();
            writer.tail_salt = salt;
        }
        let mut rotated = false;
        loop {
            let location = writer.tail;
            let salt = writer.tail_salt;
            let span = open_span(&mut writer, location, salt);
            let start = span.bytes.len();
            let octets = record::encode(
                record,
                FrameContext {
                    salt,
                    offset: location.offset,
                },
                &mut span.bytes,
            );
            if location.offset + octets as u64 <= segment_octets_max {
                writer.tail.offset += octets as u64;
                writer.pending_octets += octets;
                writer.appended_octets += octets as u64;
                return Ok((location, writer.batch_filling));
            }
            span.bytes.truncate(start);
            if span.bytes.is_empty() {
                writer.pending.pop();
            }
            if rotated || SEGMENT_HEADER_OCTETS as u64 + octets as u64 > segment_octets_max {
                return Err(LogError::RecordTooLarge { octets });
            }
            rotated = true;
            let sequence = location.sequence + 1;
            writer.tail = Location {
                sequence,
                offset: SEGMENT_HEADER_OCTETS as u64,
            };
            drop(writer);
            let salt = self.salt_for(sequence);
            writer = self.inner.writer.borrow_mut();
            writer.tail_salt = salt;
        }
    }

    /// Resolves once everything appended so far is durable: the receipt for a write that
    /// turned out to need no record of its own.
    pub async fn flushed(&self) -> Result<Durable, LogError> {
        let last = {
            let writer = self.inner.writer.borrow();
            if writer.pending.is_empty() {
                writer.batch_filling - 1
            } else {
                writer.batch_filling
            }
        };
        self.wait(last).await
    }

    /// Resolves once the batch `ticket` is durable, or with the failure that stopped the log.
    pub async fn wait(&self, ticket: Ticket) -> Result<Durable, LogError> {
        loop {
            let generation = self.inner.batches.generation();
            {
                let writer = self.inner.writer.borrow();
                if writer.batch_durable >= ticket {
                    return Ok(Durable::new());
                }
                if let Some(failure) = &writer.failure {
                    return Err(LogError::Failed(failure.clone()));
                }
            }
            self.start_flusher();
            self.inner.batches.changed(generation).await;
        }
    }

    /// The highest batch known durable.
    pub fn durable_ticket(&self) -> Ticket {
        self.inner.writer.borrow().batch_durable
    }

    /// Everything before this position is durable.
    pub fn durable_end(&self) -> Location {
        self.inner.writer.borrow().durable_end
    }

    /// Whether `close` was called.
    pub fn closed(&self) -> bool {
        self.inner.writer.borrow().closed
    }

    /// Octets appended since open.
    pub fn appended_octets(&self) -> u64 {
        self.inner.writer.borrow().appended_octets
    }

    /// Refuses every later append (`LogError::Closed`); resolves once everything appended
    /// before is durable (or has failed). Reads go on.
    pub async fn close(&self) -> Result<(), LogError> {
        let last = {
            let mut writer = self.inner.writer.borrow_mut();
            writer.closed = true;
            if writer.pending.is_empty() {
                writer.batch_filling - 1
            } else {
                writer.batch_filling
            }
        };
        // Writers waiting for room learn that the log is closed.
        self.wake_waiting(true);
        self.wait(last).await.map(|_durable| ())
    }

    fn start_flusher(&self) {
        let mut writer = self.inner.writer.borrow_mut();
        if writer.flushing || writer.pending.is_empty() || writer.failure.is_some() {
            return;
        }
        writer.flushing = true;
        // glommio may poll a new task at once, so no borrow may be held across the spawn.
        drop(writer);
        let log = self.clone();
        glommio::spawn_local(async move { log.flush_batches().await }).detach();
    }

    async fn flush_batches(self) {
        loop {
            // Let every task that is ready to run append first, so they share this batch.
            futures_lite::future::yield_now().await;
            let (spans, ticket) = {
                let mut writer = self.inner.writer.borrow_mut();
                if writer.pending.is_empty() {
                    writer.flushing = false;
                    return;
                }
                writer.pending_octets = 0;
                let ticket = writer.batch_filling;
                writer.batch_filling += 1;
                (std::mem::take(&mut writer.pending), ticket)
            };
            // The batch is empty again. Every waiter is woken, in queue order, so the run
            // queue holds them in that order and they fill the next batch within one round;
            // each still checks that it is first before it goes.
            self.wake_waiting(true);
            let end = spans.last().map(|span| Location {
                sequence: span.sequence,
                offset: span.offset + span.bytes.len() as u64,
            });
            let result = self.write_batch(spans).await;
            let mut writer = self.inner.writer.borrow_mut();
            match result {
                Ok(()) => {
                    writer.batch_durable = ticket;
                    if let Some(end) = end {
                        writer.durable_end = writer.durable_end.max(end);
                    }
                }
                Err(failure) => {
                    // Fatal for writing: nothing in this batch or after it is acknowledged.
                    writer.failure = Some(failure);
                    writer.flushing = false;
                    writer.pending.clear();
                    drop(writer);
                    self.inner.batches.notify();
                    self.wake_waiting(true);
                    return;
                }
            }
            drop(writer);
            self.inner.batches.notify();
        }
    }

    async fn write_batch(&self, spans: Vec<Span>) -> Result<(), DiskError> {
        let mut dirty: Vec<(u64, Rc<D::File>)> = Vec::new();
        for span in spans {
            let existing = self.inner.files.borrow().get(&span.sequence).cloned();
            let file = match existing {
                Some(file) => file,
                None => {
                    // Seal what came before so no later segment exists ahead of unsynced data.
                    self.sync_files(&mut dirty).await?;
                    self.create_segment(span.sequence, span.salt).await?
                }
            };
            file.write_at(span.offset, span.bytes).await?;
            if !dirty.iter().any(|(sequence, _)| *sequence == span.sequence) {
                dirty.push((span.sequence, file));
            }
        }
        self.sync_files(&mut dirty).await
    }

    async fn sync_files(&self, dirty: &mut Vec<(u64, Rc<D::File>)>) -> Result<(), DiskError> {
        for (_, file) in dirty.drain(..) {
            if self.inner.config.fsync_mode == FsyncMode::Always {
                file.sync_data().await?;
            }
        }
        Ok(())
    }

    /// Creates a segment durably: header, preallocation, fdatasync, directory fsync.
    async fn create_segment(&self, sequence: u64, salt: u32) -> Result<Rc<D::File>, DiskError> {
        let header = SegmentHeader {
            format_version: FORMAT_VERSION,
            shard: self.inner.config.shard,
            sequence,
            created_secs: now_secs(),
            salt,
            records_start: SEGMENT_HEADER_OCTETS as u64,
        };
        let file = self.inner.disk.create(sequence).await?;
        file.write_at(0, header.encode().to_vec()).await?;
        file.preallocate(self.inner.config.segment_octets_max)
            .await?;
        file.sync_data().await?;
        self.inner.disk.sync_directory().await?;
        let file = Rc::new(file);
        self.inner.files.borrow_mut().insert(sequence, file.clone());
        self.inner.salts.borrow_mut().insert(sequence, salt);
        Ok(file)
    }

    /// The open file and salt of segment `sequence` (compaction reads the one it rewrites
    /// through this; readers of index locations use `segment_at`).
    pub fn segment(&self, sequence: u64) -> Option<(Rc<D::File>, u32)> {
        let file = self.inner.files.borrow().get(&sequence).cloned()?;
        Some((file, self.salt_for(sequence)))
    }

    /// The file and salt that hold the record at `offset` of segment `sequence`: while
    /// compaction moves the index over to a rewritten segment, a location not yet moved
    /// still names the old file (the two files' records lie at disjoint offsets). A reader
    /// that resolves index locations and then reads keeps this handle, so a move that ends
    /// meanwhile cannot make it read the new file at old offsets.
    pub fn segment_at(&self, sequence: u64, offset: u64) -> Option<(Rc<D::File>, u32)> {
        if let Some(previous) = self.inner.previous.borrow().as_ref()
            && previous.sequence == sequence
            && previous.records.contains(&offset)
        {
            return Some((previous.file.clone(), previous.salt));
        }
        self.segment(sequence)
    }

    /// Replaces a sealed segment's file and salt (compaction, after the rename is durable).
    /// The old file keeps serving the locations in `old_records` until `end_replace`.
    pub(crate) fn begin_replace(
        &self,
        sequence: u64,
        file: D::File,
        salt: u32,
        old_records: std::ops::Range<u64>,
    ) {
        let old_file = self
            .inner
            .files
            .borrow_mut()
            .insert(sequence, Rc::new(file));
        let old_salt = self.inner.salts.borrow_mut().insert(sequence, salt);
        *self.inner.previous.borrow_mut() = old_file.zip(old_salt).map(|(file, salt)| Previous {
            sequence,
            file,
            salt,
            records: old_records,
        });
    }

    /// The index no longer names the old file of the segment being replaced: it goes (once
    /// the readers that hold it are done).
    pub(crate) fn end_replace(&self) {
        self.inner.previous.borrow_mut().take();
    }

    /// Sequences of the segments in use, ascending.
    pub fn sequences(&self) -> Vec<u64> {
        self.inner.files.borrow().keys().copied().collect()
    }

    /// The segment appends go to; every segment before it is sealed.
    pub fn tail_sequence(&self) -> u64 {
        self.inner.writer.borrow().tail.sequence
    }

    /// Salts of the segments up to and including `sequence` (recorded in checkpoints).
    pub(crate) fn salts_through(&self, sequence: u64) -> Vec<(u64, u32)> {
        self.inner
            .salts
            .borrow()
            .range(..=sequence)
            .map(|(sequence, salt)| (*sequence, *salt))
            .collect()
    }

    pub(crate) fn disk(&self) -> &D {
        &self.inner.disk
    }

    pub(crate) fn config(&self) -> &LogConfig {
        &self.inner.config
    }

    /// Reads up to `octets` octets at `offset` of segment `sequence`.
    pub async fn read_at(
        &self,
        sequence: u64,
        offset: u64,
        octets: usize,
    ) -> Result<<D::File as SegmentFile>::Bytes, DiskError> {
        let Some((file, _)) = self.segment_at(sequence, offset) else {
            return Err(DiskError::Io {
                operation: "read",
                detail: format!("no segment {sequence}"),
            });
        };
        file.read_at(offset, octets).await
    }
}

/// A place in the admission queue of `Log::ready`; leaving it (admitted or cancelled) wakes
/// the next waiter.
struct Queued<'a, D: Disk + 'static> {
    log: &'a Log<D>,
    number: u64,
}

impl<D: Disk + 'static> Drop for Queued<'_, D> {
    fn drop(&mut self) {
        self.log
            .inner
            .writer
            .borrow_mut()
            .waiting
            .retain(|(number, _)| *number != self.number);
        self.log.wake_waiting(false);
    }
}

fn open_span(writer: &mut WriterState, location: Location, salt: u32) -> &mut Span {
    let continues = writer.pending.last().is_some_and(|span| {
        span.sequence == location.sequence
            && span.offset + span.bytes.len() as u64 == location.offset
    });
    if !continues {
        writer.pending.push(Span {
            sequence: location.sequence,
            offset: location.offset,
            salt,
            bytes: Vec::new(),
        });
    }
    writer.pending.last_mut().expect("pushed above")
}

pub(crate) fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

fn random_seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    // RandomState is seeded from the operating system's random source.
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(now_secs());
    hasher.finish()
}
