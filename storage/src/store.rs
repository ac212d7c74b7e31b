//! The API the protocols call on their shard: accounts, mailboxes, message ingest, flags,
//! expunge, byte-range reads and change notification. Single-threaded (`Rc`/`RefCell`).
//!
//! Every write follows one path (`write`): wait for room in the batch, check and allocate
//! (UIDs, MODSEQs, names) and append without awaiting in between so allocation order is log
//! order, then wait for the batch to be durable. The in-memory state changes only when a
//! record is durable, in log order, through `State::apply` — the same code recovery replays.

use crate::checkpoint::{self, CheckpointHeader};
use crate::commit_cache::CommitCache;
use crate::disk::{Disk, DiskError, FileId, FileKind};
use crate::error::StoreError;
use crate::history::compact_ranges;
use crate::ids::{AccountKey, Location, MailboxKey, Modseq, Uid, UidRange};
use crate::limits::{
    CHECKPOINT_PREFAULT_OCTETS, CHECKPOINTS_KEPT, KEYWORD_OCTETS_MAX, KEYWORDS_PER_MESSAGE_MAX,
    NAME_OCTETS_MAX, RECORD_OCTETS_MIN, UID_RANGES_PER_RECORD_MAX,
};
use crate::log::{Durable, Log, LogConfig, Ticket};
use crate::mailbox::next_modseq;
use crate::mailbox::{Anomaly, Mailbox, Outcome, State, UsageReservation};
use crate::notify::Event;
use crate::record::Record;
use crate::recovery::{OpenError, RecoveryReport};
use crate::special_use::{self, SpecialUse};
use std::cell::{Cell, Ref, RefCell};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::rc::{Rc, Weak};

pub(crate) struct Effect {
    ticket: Ticket,
    /// Quota usage counted for the record until it is applied.
    reservation: Option<UsageReservation>,
    pub(crate) location: Location,
    record: Record<'static>,
    /// Where the writer waiting on this record wants its outcome (`write_observed`).
    observer: Option<Observer>,
}

impl Effect {
    /// Whether the record is a commit with content in segment `sequence`.
    pub(crate) fn uses_segment(&self, sequence: u64) -> bool {
        match &self.record {
            Record::MessageCommit(commit) => commit
                .extents
                .iter()
                .any(|extent| extent.sequence == sequence),
            _ => false,
        }
    }
}

/// Filled with what applying a record did (or why it did not fit) for its waiting writer.
type Observer = Rc<RefCell<Option<Result<Option<Outcome>, Anomaly>>>>;

/// What a write's preparation decided.
pub(crate) enum Prepared<T> {
    /// Append this record.
    Append(Record<'static>, T),
    /// Nothing to write (e.g. a COPY of messages that are all gone); the receipt then covers
    /// everything appended before.
    Nothing(T),
}

/// Checkpoint bookkeeping of a store.
struct Checkpoints {
    sequence_next: u64,
    /// A checkpoint is being written (one at a time).
    busy: bool,
    /// `Log::appended_octets` when the last periodic checkpoint was started.
    started_at_octets: u64,
    /// `Log::appended_octets` when the last background compaction was started.
    compaction_started_at_octets: u64,
    /// The last background checkpoint's failure, if it failed.
    failure: Option<DiskError>,
    /// How long the last checkpoint held the shard: the longest piece of its encode.
    last_hold: std::time::Duration,
}

pub struct Store<D: Disk> {
    pub(crate) log: Log<D>,
    pub(crate) state: RefCell<State>,
    pub(crate) effects: RefCell<VecDeque<Effect>>,
    checkpoints: RefCell<Checkpoints>,
    /// Notified when a checkpoint finishes.
    checkpoint_done: Rc<Event>,
    /// A checkpoint is encoding the state: records are not applied meanwhile.
    frozen: Cell<bool>,
    /// Notified when `frozen` ends.
    thawed: Rc<Event>,
    /// Segments holding content of messages still being written (compaction skips them).
    pub(crate) pins: Rc<RefCell<BTreeMap<u64, usize>>>,
    /// A compaction is running (one at a time).
    pub(crate) compacting: Cell<bool>,
    /// Notified when a compaction pass ends.
    pub(crate) compaction_done: Rc<Event>,
    /// Compaction is moving the index over to a rewritten segment: no checkpoint starts
    /// meanwhile (the index names two files of one segment; a checkpoint records one).
    pub(crate) relocating: Cell<bool>,
    /// Notified when `relocating` ends.
    pub(crate) relocated: Rc<Event>,
    /// Commit records read back, by location (`read_commit`).
    pub(crate) commit_cache: RefCell<CommitCache>,
    me: Weak<Self>,
}

/// Holds back the application of records while a checkpoint encodes the state; when dropped
/// (however the checkpoint ends), applies what became durable meanwhile and wakes the
/// writers waiting for it.
struct Freeze<'a, D: Disk + 'static> {
    store: &'a Store<D>,
}

impl<'a, D: Disk + 'static> Freeze<'a, D> {
    fn new(store: &'a Store<D>) -> Self {
        store.frozen.set(true);
        Self { store }
    }
}

impl<D: Disk + 'static> Drop for Freeze<'_, D> {
    fn drop(&mut self) {
        self.store.frozen.set(false);
        self.store.apply_durable();
        self.store.thawed.notify();
    }
}

/// What IMAP SELECT/STATUS and LIST need about a mailbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailboxStatus {
    pub key: MailboxKey,
    pub name: String,
    pub uid_validity: u32,
    pub uid_next: Uid,
    pub highest_modseq: Modseq,
    pub messages: u32,
    pub subscribed: bool,
    /// RFC 6154 attribute (LIST's SPECIAL-USE).
    pub special_use: Option<SpecialUse>,
}

impl<D: Disk + 'static> Store<D> {
    /// Opens the shard's log: loads the newest valid checkpoint and replays the log after it
    /// (or the whole log without one).
    pub async fn open(disk: D, config: LogConfig) -> Result<(Rc<Self>, RecoveryReport), OpenError> {
        config.check().map_err(OpenError::Config)?;
        // An interrupted compaction leaves its unfinished rewrite; the segment is intact.
        for sequence in disk.list(FileKind::SegmentCompacting).await? {
            disk.remove(FileId {
                kind: FileKind::SegmentCompacting,
                sequence,
            })
            .await?;
        }
        let published = disk.list(FileKind::Checkpoint).await?;
        let temporaries = disk.list(FileKind::CheckpointTemporary).await?;
        let mut problems = Vec::new();
        let mut loaded = None;
        for sequence in published.iter().rev() {
            match checkpoint::load(&disk, config.shard, *sequence).await {
                Ok(checkpoint) => {
                    loaded = Some(checkpoint);
                    break;
                }
                Err(error) => {
                    problems.push((FileId::checkpoint(*sequence).file_name(), error.to_string()))
                }
            }
        }
        let sequence_next = published
            .iter()
            .chain(&temporaries)
            .max()
            .map_or(1, |last| last + 1);
        let (mut state, start) = match &mut loaded {
            Some(checkpoint) => (
                std::mem::take(&mut checkpoint.state),
                Some(checkpoint.header.position),
            ),
            None => (State::default(), None),
        };
        let mut anomalies = Vec::new();
        let (log, mut report) = Log::open_from(disk, config, start, |location, record| {
            if let Err(anomaly) = state.apply(location, record) {
                anomalies.push((location, anomaly.to_string()));
            }
        })
        .await?;
        anomalies.extend(state.remove_ghosts());
        report.anomalies = anomalies;
        // Relocation tables only serve replay (see `State::relocations`).
        state.relocations = BTreeMap::new();
        // Replay grew each index by doubling; give back the slack (about 10% of index memory
        // measured at a million messages).
        for account in state.accounts.values_mut() {
            for mailbox in account.mailboxes.values_mut() {
                mailbox.index.shrink_to_fit();
            }
        }
        report.checkpoint = loaded
            .as_ref()
            .map(|checkpoint| (checkpoint.header.sequence, checkpoint.header.position));
        report.checkpoint_problems = problems;
        if !report.damaged.is_empty() {
            report.unreadable_messages = mark_unreadable(&mut state, &report);
            let lost = report.damaged_octets_from(start);
            if lost > 0 {
                state.skip_lost(lost / RECORD_OCTETS_MIN as u64 + 1);
            }
        }
        let commit_cache = CommitCache::new(log.config().commit_cache_octets);
        let store = Rc::new_cyclic(|me| Self {
            log,
            state: RefCell::new(state),
            effects: RefCell::default(),
            checkpoints: RefCell::new(Checkpoints {
                sequence_next,
                busy: false,
                started_at_octets: 0,
                compaction_started_at_octets: 0,
                failure: None,
                last_hold: std::time::Duration::ZERO,
            }),
            checkpoint_done: Event::new(),
            frozen: Cell::new(false),
            thawed: Event::new(),
            pins: Rc::default(),
            compacting: Cell::new(false),
            compaction_done: Event::new(),
            relocating: Cell::new(false),
            relocated: Event::new(),
            commit_cache: RefCell::new(commit_cache),
            me: me.clone(),
        });
        Ok((store, report))
    }

    /// Writes a checkpoint of the durable state now; returns the log position it covers.
    /// Waits for a checkpoint already being written, then writes a new one.
    pub async fn checkpoint(&self) -> Result<Location, StoreError> {
        self.checkpoint_done
            .until(|| !std::mem::replace(&mut self.checkpoints.borrow_mut().busy, true))
            .await;
        let result = self.write_checkpoint().await;
        {
            let mut checkpoints = self.checkpoints.borrow_mut();
            checkpoints.busy = false;
            checkpoints.failure = result.as_ref().err().cloned();
        }
        self.checkpoint_done.notify();
        result.map_err(StoreError::Checkpoint)
    }

    async fn write_checkpoint(&self) -> Result<Location, DiskError> {
        // A large body's pages are touched first, in slices between which the shard's other
        // work runs: on a fresh allocation of tens of megabytes the page faults cost more
        // than the encode itself (10x at a million messages), and every piece of the encode
        // below holds the shard while writers wait for all of them. A small body (under two
        // slices) is not worth the pauses.
        let mut body = Vec::with_capacity(checkpoint::body_octets_estimate(&self.state.borrow()));
        while body.capacity() >= 2 * CHECKPOINT_PREFAULT_OCTETS && body.len() < body.capacity() {
            let piece = (body.capacity() - body.len()).min(CHECKPOINT_PREFAULT_OCTETS);
            body.resize(body.len() + piece, 0);
            glommio::timer::sleep(std::time::Duration::from_micros(50)).await;
        }
        body.clear();
        // Not while compaction moves the index over to a rewritten segment (its locations
        // name two files of one segment then; the checkpoint records one salt per segment).
        self.until_relocated().await;
        // From here until the body is encoded no record is applied (`apply_durable` holds
        // them back; their writers wait for `thawed`), so the state stays what it is at
        // `position` while it is encoded in pieces, between which the shard's readers and
        // the log's writes and fdatasyncs go on. Only allocation counters may move meanwhile
        // (ingest, mailbox numbers, UIDVALIDITY): they can only be ahead of the position,
        // as they are in any checkpoint, and replay keeps the larger.
        let started = std::time::Instant::now();
        self.apply_durable();
        let freeze = Freeze::new(self);
        let durable_end = self.log.durable_end();
        let position = self
            .effects
            .borrow()
            .front()
            .map_or(durable_end, |effect| effect.location.min(durable_end));
        let salts = self.log.salts_through(position.sequence);
        let mut cursor = checkpoint::BodyCursor::default();
        let mut crc = crc32fast::Hasher::new();
        let mut hold = std::time::Duration::ZERO;
        let mut piece_started = started;
        loop {
            let from = body.len();
            checkpoint::encode_body_piece(
                &self.state.borrow(),
                &salts,
                &mut cursor,
                self.log.inner.config.checkpoint_piece_octets,
                &mut body,
            );
            crc.update(&body[from..]);
            hold = hold.max(piece_started.elapsed());
            if cursor.done() {
                break;
            }
            glommio::timer::sleep(std::time::Duration::from_micros(50)).await;
            piece_started = std::time::Instant::now();
        }
        drop(freeze);
        let body_crc = crc.finalize();
        let sequence = {
            let mut checkpoints = self.checkpoints.borrow_mut();
            checkpoints.last_hold = hold;
            checkpoints.sequence_next += 1;
            checkpoints.sequence_next - 1
        };
        let header = CheckpointHeader {
            format_version: checkpoint::CHECKPOINT_FORMAT_VERSION,
            shard: self.log.inner.config.shard,
            sequence,
            position,
            body_octets: body.len() as u64,
            body_crc,
            created_secs: crate::log::now_secs(),
        };
        let disk = &self.log.inner.disk;
        checkpoint::write(disk, header, body).await?;
        checkpoint::prune(disk, CHECKPOINTS_KEPT, sequence).await?;
        Ok(position)
    }

    /// Starts a background compaction pass when `compaction_interval_octets` of log have
    /// been appended since the last one started.
    fn maybe_compact(&self) {
        let interval = self.log.inner.config.compaction_interval_octets;
        let appended = self.log.appended_octets();
        {
            let mut checkpoints = self.checkpoints.borrow_mut();
            if interval == 0
                || self.compacting.get()
                || appended - checkpoints.compaction_started_at_octets < interval
            {
                return;
            }
            checkpoints.compaction_started_at_octets = appended;
        }
        let Some(store) = self.me.upgrade() else {
            return;
        };
        // A failure is kept like a checkpoint's (`checkpoint_failure`): it never affects the log.
        glommio::spawn_local(async move {
            if let Err(StoreError::Compaction(error) | StoreError::Checkpoint(error)) =
                store.compact().await
            {
                store.checkpoints.borrow_mut().failure = Some(error);
            }
        })
        .detach();
    }

    /// Starts a background checkpoint when `checkpoint_interval_octets` of log have been
    /// appended since the last one started.
    fn maybe_checkpoint(&self) {
        let interval = self.log.inner.config.checkpoint_interval_octets;
        let appended = self.log.appended_octets();
        {
            let mut checkpoints = self.checkpoints.borrow_mut();
            if interval == 0
                || checkpoints.busy
                || appended - checkpoints.started_at_octets < interval
            {
                return;
            }
            checkpoints.started_at_octets = appended;
        }
        let Some(store) = self.me.upgrade() else {
            return;
        };
        // The failure is kept in `checkpoint_failure`; the log is unaffected by it.
        glommio::spawn_local(async move { store.checkpoint().await.map(|_| ()) }).detach();
    }

    /// Why the last background checkpoint or compaction failed, if one did (logs, metrics).
    pub fn checkpoint_failure(&self) -> Option<DiskError> {
        self.checkpoints.borrow().failure.clone()
    }

    /// How long the last checkpoint held the shard: the longest piece of its encode (writers
    /// wait for all of it; benchmarks, docs/STORAGE.md "Checkpoints").
    pub fn last_checkpoint_hold(&self) -> std::time::Duration {
        self.checkpoints.borrow().last_hold
    }

    /// Clean shutdown: refuses new writes (`LogError::Closed`), waits for the writes in
    /// flight to be durable and for a compaction pass in progress, and writes a checkpoint so
    /// the next open replays nothing.
    pub async fn close(&self) -> Result<(), StoreError> {
        let flushed = self.log.close().await;
        // A compaction pass in progress finishes first; none starts after (the claim is
        // never released), so nothing moves after the closing checkpoint.
        self.claim_compaction(false).await;
        self.checkpoint().await?;
        flushed.map_err(StoreError::Write)
    }

    pub fn log(&self) -> &Log<D> {
        &self.log
    }

    /// Read access to accounts, mailboxes and indexes. Do not hold across an await.
    pub fn state(&self) -> Ref<'_, State> {
        self.state.borrow()
    }

    /// The common write path (module comment).
    pub(crate) async fn write<T>(
        &self,
        prepare: impl FnOnce(&mut State) -> Result<(Record<'static>, T), StoreError>,
    ) -> Result<(T, Durable), StoreError> {
        let prepare = |state: &mut State| {
            let (record, value) = prepare(state)?;
            Ok(Prepared::Append(record, value))
        };
        let (value, _, durable) = self.write_with(prepare, false).await?;
        Ok((value, durable))
    }

    /// The write path for a writer that needs what its record did when applied (in log
    /// order, after every record before it): the `Outcome` is `None` for `Prepared::Nothing`
    /// and for records without per-message results. A record that no longer fits the state
    /// when applied (its mailbox was deleted meanwhile) fails with `NoSuchMailbox`, though it
    /// is durable.
    pub(crate) async fn write_observed<T>(
        &self,
        prepare: impl FnOnce(&mut State) -> Result<Prepared<T>, StoreError>,
    ) -> Result<(T, Option<Outcome>, Durable), StoreError> {
        self.write_with(prepare, true).await
    }

    async fn write_with<T>(
        &self,
        prepare: impl FnOnce(&mut State) -> Result<Prepared<T>, StoreError>,
        observe: bool,
    ) -> Result<(T, Option<Outcome>, Durable), StoreError> {
        self.log.ready().await?;
        let (prepared, reservation) = {
            let mut state = self.state.borrow_mut();
            state.staged_reservation = None;
            let prepared = prepare(&mut state);
            (prepared, state.staged_reservation.take())
        };
        let release = |reservation: Option<UsageReservation>| {
            if let Some(reservation) = reservation {
                self.state.borrow_mut().release_usage(reservation);
            }
        };
        let (record, value) = match prepared {
            Ok(Prepared::Append(record, value)) => (record, value),
            Ok(Prepared::Nothing(value)) => {
                release(reservation);
                let durable = self.log.flushed().await?;
                self.apply_durable_now().await;
                return Ok((value, None, durable));
            }
            Err(error) => {
                release(reservation);
                return Err(error);
            }
        };
        let (location, ticket) = match self.log.append(&record) {
            Ok(appended) => appended,
            Err(error) => {
                release(reservation);
                return Err(error.into());
            }
        };
        let observer: Option<Observer> = observe.then(Rc::default);
        self.effects.borrow_mut().push_back(Effect {
            ticket,
            reservation,
            location,
            record,
            observer: observer.clone(),
        });
        let durable = self.log.wait(ticket).await;
        self.apply_durable_now().await;
        self.maybe_checkpoint();
        self.maybe_compact();
        let durable = durable?;
        let Some(observer) = observer else {
            return Ok((value, None, durable));
        };
        let outcome = observer.borrow_mut().take();
        match outcome {
            Some(Ok(outcome)) => Ok((value, outcome, durable)),
            Some(Err(_)) => Err(StoreError::NoSuchMailbox),
            None => unreachable!("a durable record is applied before its writer resumes"),
        }
    }

    /// `apply_durable`, waiting first while a checkpoint holds application back.
    pub(crate) async fn apply_durable_now(&self) {
        self.until_thawed().await;
        self.apply_durable();
    }

    /// Waits until no checkpoint holds application back (then, until the caller's next
    /// await, the state can change only by what the caller does).
    pub(crate) async fn until_thawed(&self) {
        self.thawed.until(|| !self.frozen.get()).await;
    }

    /// Waits until compaction is not moving the index over to a rewritten segment.
    async fn until_relocated(&self) {
        self.relocated.until(|| !self.relocating.get()).await;
    }

    /// Applies every durable record in log order and wakes each changed mailbox once; does
    /// nothing while a checkpoint is being encoded (`write_checkpoint`).
    pub(crate) fn apply_durable(&self) {
        if self.frozen.get() {
            return;
        }
        let durable = self.log.durable_ticket();
        let mut changed: BTreeSet<MailboxKey> = BTreeSet::new();
        let mut state = self.state.borrow_mut();
        let mut effects = self.effects.borrow_mut();
        while effects
            .front()
            .is_some_and(|effect| effect.ticket <= durable)
        {
            let Some(effect) = effects.pop_front() else {
                break;
            };
            let observe = effect.observer.is_some();
            if let Some(reservation) = effect.reservation {
                state.release_usage(reservation);
            }
            let applied = state.apply_observed(effect.location, &effect.record, observe);
            match &applied {
                Ok(applied) => changed.extend(applied.changed.iter().flatten()),
                // Allocation happens in log order, so only a concurrent delete can get here.
                Err(anomaly) => debug_assert_eq!(*anomaly, Anomaly::Missing),
            }
            if let Some(observer) = effect.observer {
                *observer.borrow_mut() = Some(applied.map(|applied| applied.outcome));
            }
        }
        let events: Vec<Rc<Event>> = changed
            .iter()
            .filter_map(|key| state.mailbox(*key))
            .map(|mailbox| mailbox.changes.clone())
            .collect();
        drop((state, effects));
        events.iter().for_each(|event| event.notify());
    }

    pub fn account_by_name(&self, name: &str) -> Option<AccountKey> {
        self.state.borrow().account_names.get(name).copied()
    }

    /// Creates an account in `partition`; a quota of 0 means unlimited.
    pub async fn create_account(
        &self,
        partition: u32,
        name: &str,
        quota_octets_max: u64,
        quota_messages_max: u64,
    ) -> Result<(AccountKey, Durable), StoreError> {
        check_name(name)?;
        self.write(|state| {
            if state.account_names.contains_key(name)
                || !state.reserved_account_names.insert(name.to_owned())
            {
                return Err(StoreError::AccountExists);
            }
            let next = state.account_next.entry(partition).or_insert(0);
            let key = AccountKey {
                partition,
                account: *next,
            };
            *next += 1;
            let record = Record::Account {
                account: key,
                name: name.to_owned(),
                quota_octets_max,
                quota_messages_max,
            };
            Ok((record, key))
        })
        .await
    }

    pub async fn create_mailbox(
        &self,
        account: AccountKey,
        name: &str,
    ) -> Result<(MailboxKey, Durable), StoreError> {
        self.create_mailbox_with(account, name, None).await
    }

    /// Creates a mailbox with an RFC 6154 attribute (CREATE-SPECIAL-USE), in one record: a
    /// crash leaves either no mailbox or the mailbox with its attribute. Refused with
    /// `SpecialUseTaken` while another mailbox of the account holds it or is being given it.
    pub async fn create_mailbox_with(
        &self,
        account: AccountKey,
        name: &str,
        special_use: Option<SpecialUse>,
    ) -> Result<(MailboxKey, Durable), StoreError> {
        check_name(name)?;
        self.write(|state| {
            let now = crate::log::now_secs() as u32;
            let reserved = (account, name.to_owned());
            let target = state
                .accounts
                .get(&account)
                .ok_or(StoreError::NoSuchAccount)?;
            if target.names.contains_key(name) || state.reserved_mailbox_names.contains(&reserved) {
                return Err(StoreError::MailboxExists);
            }
            let key = MailboxKey {
                account,
                mailbox: target.mailbox_next,
            };
            // The last check: nothing may refuse after a claim.
            if let Some(special_use) = special_use {
                special_use::claim(state, key, special_use)?;
            }
            let target = state.accounts.get_mut(&account).expect("checked above");
            target.mailbox_next += 1;
            // RFC 3501 §2.3.1.1: a recreated name must get a new UIDVALIDITY.
            let uid_validity = now.max(target.uid_validity_last + 1);
            target.uid_validity_last = uid_validity;
            state.reserved_mailbox_names.insert(reserved);
            Ok((
                Record::MailboxCreate {
                    mailbox: key,
                    name: name.to_owned(),
                    uid_validity,
                    special_use,
                },
                key,
            ))
        })
        .await
    }

    pub async fn rename_mailbox(
        &self,
        mailbox: MailboxKey,
        name: &str,
    ) -> Result<Durable, StoreError> {
        check_name(name)?;
        let ((), durable) = self
            .write(|state| {
                let reserved = (mailbox.account, name.to_owned());
                let account = state
                    .accounts
                    .get(&mailbox.account)
                    .ok_or(StoreError::NoSuchAccount)?;
                if !account.mailboxes.contains_key(&mailbox.mailbox) {
                    return Err(StoreError::NoSuchMailbox);
                }
                if account.names.contains_key(name)
                    || !state.reserved_mailbox_names.insert(reserved)
                {
                    return Err(StoreError::MailboxExists);
                }
                Ok((
                    Record::MailboxRename {
                        mailbox,
                        name: name.to_owned(),
                    },
                    (),
                ))
            })
            .await?;
        Ok(durable)
    }

    pub async fn delete_mailbox(&self, mailbox: MailboxKey) -> Result<Durable, StoreError> {
        let ((), durable) = self
            .write(|state| {
                state.mailbox(mailbox).ok_or(StoreError::NoSuchMailbox)?;
                Ok((Record::MailboxDelete { mailbox }, ()))
            })
            .await?;
        Ok(durable)
    }

    /// RFC 3501 §6.3.6: subscriptions are names and may name mailboxes that do not exist.
    pub async fn subscribe(
        &self,
        account: AccountKey,
        name: &str,
        subscribed: bool,
    ) -> Result<Durable, StoreError> {
        check_name(name)?;
        let ((), durable) = self
            .write(|state| {
                state
                    .accounts
                    .get(&account)
                    .ok_or(StoreError::NoSuchAccount)?;
                Ok((
                    Record::Subscription {
                        account,
                        name: name.to_owned(),
                        subscribed,
                    },
                    (),
                ))
            })
            .await?;
        Ok(durable)
    }

    pub fn mailbox_by_name(&self, account: AccountKey, name: &str) -> Option<MailboxKey> {
        let state = self.state.borrow();
        let mailbox = *state.accounts.get(&account)?.names.get(name)?;
        Some(MailboxKey { account, mailbox })
    }

    pub fn status(&self, mailbox: MailboxKey) -> Option<MailboxStatus> {
        let state = self.state.borrow();
        let account = state.accounts.get(&mailbox.account)?;
        let target = account.mailboxes.get(&mailbox.mailbox)?;
        Some(status_of(
            target,
            account.subscriptions.contains(&target.name),
        ))
    }

    /// Every mailbox of an account, in name order (IMAP LIST).
    pub fn mailboxes(&self, account: AccountKey) -> Vec<MailboxStatus> {
        let state = self.state.borrow();
        let Some(account) = state.accounts.get(&account) else {
            return Vec::new();
        };
        let by_name = account
            .names
            .values()
            .filter_map(|id| account.mailboxes.get(id));
        by_name
            .map(|mailbox| status_of(mailbox, account.subscriptions.contains(&mailbox.name)))
            .collect()
    }

    /// RFC 7162 §3.2.10 `VANISHED (EARLIER)`: the UIDs expunged from `mailbox` with a MODSEQ
    /// above `modseq`, as ascending ranges (they may name UIDs that were already gone, never a
    /// present message). `None` when the mailbox's history does not reach back that far (at
    /// most `EXPUNGE_HISTORY_RANGES_MAX` ranges are kept) or there is no such mailbox: then
    /// report every UID below UIDNEXT that is not present.
    pub fn expunged_since(&self, mailbox: MailboxKey, modseq: Modseq) -> Option<Vec<UidRange>> {
        self.state.borrow().mailbox(mailbox)?.expunged_since(modseq)
    }

    /// The change event of a mailbox: wait with `event.changed(generation)` (IMAP IDLE).
    pub fn watch(&self, mailbox: MailboxKey) -> Option<Rc<Event>> {
        self.state
            .borrow()
            .mailbox(mailbox)
            .map(|target| target.changes.clone())
    }

    /// Removes the messages in `uids` that exist now; returns their UIDs.
    pub async fn expunge(
        &self,
        mailbox: MailboxKey,
        uids: &[UidRange],
    ) -> Result<(Vec<Uid>, Durable), StoreError> {
        check_ranges(uids)?;
        self.write(|state| {
            let target = state
                .mailbox_mut(mailbox)
                .ok_or(StoreError::NoSuchMailbox)?;
            let mut present: Vec<Uid> = uids
                .iter()
                .flat_map(|range| target.index.range(*range).iter().map(|entry| entry.uid))
                .collect();
            present.sort_unstable();
            present.dedup();
            let ranges = compact_ranges(present.iter().copied());
            check_ranges(&ranges)?;
            target.modseq_allocated = next_modseq(target.modseq_allocated);
            let record = Record::Expunge {
                mailbox,
                modseq: target.modseq_allocated,
                uids: ranges,
            };
            Ok((record, present))
        })
        .await
    }
}

fn status_of(mailbox: &Mailbox, subscribed: bool) -> MailboxStatus {
    MailboxStatus {
        key: mailbox.key,
        name: mailbox.name.clone(),
        uid_validity: mailbox.uid_validity,
        uid_next: mailbox.uid_next,
        highest_modseq: mailbox.highest_modseq,
        messages: mailbox.index.len() as u32,
        subscribed,
        special_use: mailbox.special_use,
    }
}

fn mark_unreadable(state: &mut State, report: &RecoveryReport) -> u64 {
    let mut count = 0;
    for account in state.accounts.values_mut() {
        for mailbox in account.mailboxes.values_mut() {
            let damaged: Vec<Uid> = mailbox
                .index
                .entries()
                .iter()
                .filter(|entry| {
                    mailbox
                        .index
                        .extents(entry)
                        .iter()
                        .any(|extent| report.extent_unreadable(&extent.unpack()))
                })
                .map(|entry| entry.uid)
                .collect();
            for uid in damaged {
                if let Some(entry) = mailbox.index.get_mut(uid) {
                    entry.mark_unreadable();
                    count += 1;
                }
            }
        }
    }
    count
}

pub(crate) fn check_name(name: &str) -> Result<(), StoreError> {
    if name.is_empty() || name.len() > NAME_OCTETS_MAX {
        return Err(StoreError::LimitExceeded("name length"));
    }
    Ok(())
}

pub(crate) fn check_keywords(keywords: &[String]) -> Result<(), StoreError> {
    if keywords.len() > KEYWORDS_PER_MESSAGE_MAX {
        return Err(StoreError::LimitExceeded("keywords per message"));
    }
    if keywords
        .iter()
        .any(|keyword| keyword.is_empty() || keyword.len() > KEYWORD_OCTETS_MAX)
    {
        return Err(StoreError::LimitExceeded("keyword length"));
    }
    Ok(())
}

pub(crate) fn check_ranges(ranges: &[UidRange]) -> Result<(), StoreError> {
    if ranges.len() > UID_RANGES_PER_RECORD_MAX {
        return Err(StoreError::LimitExceeded("UID ranges per command"));
    }
    if ranges
        .iter()
        .any(|range| range.first == 0 || range.first > range.last)
    {
        return Err(StoreError::LimitExceeded("UID range"));
    }
    Ok(())
}
