//! Accounts and mailboxes in memory, and how each record changes them. Live writes and
//! recovery both go through `State::apply`, so what a restart rebuilds is what was served.

use crate::flags::FlagStoreOutcome;
use crate::history::{ExpungeHistory, compact_ranges};
use crate::ids::{AccountKey, Extent, Location, MailboxKey, Modseq, Uid, UidRange};
use crate::index::{KeywordTable, MessageEntry, MessageIndex, PackedExtent};
use crate::notify::Event;
use crate::record::{MessageCommit, Record};
use crate::special_use::SpecialUse;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::rc::Rc;

/// The MODSEQ of a mailbox's next change. A mailbox's first change gets 2, so that 1 can
/// stand for "no change yet" in IMAP (RFC 7162 §7: HIGHESTMODSEQ is at least 1, and 0
/// means no mod-sequences at all). Logs written before this rule replay unchanged.
pub(crate) fn next_modseq(allocated: Modseq) -> Modseq {
    allocated.max(1) + 1
}

pub struct Mailbox {
    pub key: MailboxKey,
    pub name: String,
    pub uid_validity: u32,
    /// RFC 6154 attribute; at most one mailbox of an account holds each.
    pub special_use: Option<SpecialUse>,
    /// RFC 3501 UIDNEXT of what is visible (durable).
    pub uid_next: Uid,
    pub highest_modseq: Modseq,
    /// Allocated to records appended but not yet durable; never below the visible values.
    pub(crate) uid_next_allocated: Uid,
    pub(crate) modseq_allocated: Modseq,
    pub index: MessageIndex,
    pub keywords: KeywordTable,
    /// UIDs expunged, by MODSEQ (QRESYNC `VANISHED (EARLIER)`).
    pub expunged: ExpungeHistory,
    /// Advanced once per durable batch that changed the mailbox (IDLE, concurrent sessions).
    pub changes: Rc<Event>,
}

impl Mailbox {
    /// RFC 7162 §3.2.10 `VANISHED (EARLIER)`: UIDs expunged with a MODSEQ above `modseq`
    /// (ascending, disjoint ranges; they may include UIDs that were already gone, never a
    /// message that is present). `None` when the history does not reach back that far
    /// (`EXPUNGE_HISTORY_RANGES_MAX`): report every UID below UIDNEXT that is not present.
    pub fn expunged_since(&self, modseq: Modseq) -> Option<Vec<UidRange>> {
        self.expunged.since(modseq)
    }

    /// Removes the messages in `uids` (an expunge with `modseq`, already advanced to) and
    /// records them in the history; returns the removed entries in UID order.
    pub(crate) fn remove(&mut self, modseq: Modseq, uids: &[UidRange]) -> Vec<MessageEntry> {
        let removed = self.index.remove(uids);
        let mut ranges = compact_ranges(removed.iter().map(|entry| entry.uid));
        // Merge across gaps holding no message: those UIDs are gone already (RFC 7162 lets
        // VANISHED (EARLIER) name them), and the history stays short.
        let mut merged: Vec<UidRange> = Vec::with_capacity(ranges.len());
        for range in ranges.drain(..) {
            match merged.last_mut() {
                Some(last)
                    if self
                        .index
                        .range(UidRange {
                            first: last.last + 1,
                            last: range.first - 1,
                        })
                        .is_empty() =>
                {
                    last.last = range.last;
                }
                _ => merged.push(range),
            }
        }
        if !merged.is_empty() {
            self.expunged.record(modseq, &merged);
        }
        removed
    }
}

pub struct Account {
    pub key: AccountKey,
    pub name: String,
    pub quota_octets_max: u64,
    pub quota_messages_max: u64,
    pub usage_octets: u64,
    pub usage_messages: u64,
    pub mailboxes: BTreeMap<u32, Mailbox>,
    pub names: BTreeMap<String, u32>,
    pub subscriptions: BTreeSet<String>,
    pub(crate) mailbox_next: u32,
    pub(crate) uid_validity_last: u32,
    /// Octets and messages of commits and copies appended but not yet applied: the quota
    /// check counts them, so concurrent appends cannot overshoot the quota together.
    pub(crate) reserved_octets: u64,
    pub(crate) reserved_messages: u64,
}

impl Account {
    /// Whether `octets` more in `messages` more messages would pass a quota, counting what
    /// is in flight.
    pub(crate) fn over_quota(&self, octets: u64, messages: u64) -> bool {
        let octets_total = self.usage_octets + self.reserved_octets + octets;
        let messages_total = self.usage_messages + self.reserved_messages + messages;
        (self.quota_octets_max > 0 && octets_total > self.quota_octets_max)
            || (self.quota_messages_max > 0 && messages_total > self.quota_messages_max)
    }

    /// Takes a message that is gone (expunged, moved away, its mailbox deleted) out of the
    /// usage.
    pub(crate) fn forget_usage_of(&mut self, entry: &MessageEntry) {
        self.usage_octets = self
            .usage_octets
            .saturating_sub(u64::from(entry.size_octets));
        self.usage_messages = self.usage_messages.saturating_sub(1);
    }
}

/// Usage an appended record will add when applied, counted by the quota check meanwhile
/// (`State::reserve_usage`, released by `Store::apply_durable` whatever the record did).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct UsageReservation {
    pub(crate) account: AccountKey,
    pub(crate) octets: u64,
    pub(crate) messages: u64,
}

/// A record that does not fit the state it is applied to. In recovery it is reported; live,
/// only `Missing` can happen (a mailbox deleted while a write to it was in flight).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Anomaly {
    #[error("record refers to a missing account or mailbox")]
    Missing,
    #[error("UID {uid} not above UIDNEXT {uid_next}")]
    UidNotAscending { uid: Uid, uid_next: Uid },
    #[error("MODSEQ {modseq} not above {highest}")]
    ModseqNotIncreasing { modseq: Modseq, highest: Modseq },
    #[error("name already in use")]
    NameTaken,
    /// Applied anyway: the mailbox that held the attribute lost it (see `special_use.rs`).
    #[error("special-use attribute taken from another mailbox")]
    SpecialUseTaken,
    #[error("location does not fit the in-memory index")]
    LocationTooLarge,
}

/// What applying one record did.
#[derive(Debug, Default)]
pub(crate) struct Applied {
    /// Mailboxes whose messages changed (sessions watching them are woken): two for MOVE.
    pub changed: [Option<MailboxKey>; 2],
    /// Per-message results, built only for a writer that waits on the record.
    pub outcome: Option<Outcome>,
}

impl Applied {
    fn one(mailbox: MailboxKey) -> Self {
        Self {
            changed: [Some(mailbox), None],
            outcome: None,
        }
    }
}

/// Per-message results of applying a record, for the writer that appended it.
#[derive(Debug)]
pub(crate) enum Outcome {
    Flags(FlagStoreOutcome),
    /// (source UID, new UID) of every copy made, ascending.
    Copy(Vec<(Uid, Uid)>),
}

#[derive(Default)]
pub struct State {
    pub accounts: BTreeMap<AccountKey, Account>,
    pub account_names: HashMap<String, AccountKey>,
    pub(crate) account_next: BTreeMap<u32, u32>,
    pub(crate) ingest_next: u64,
    /// Names claimed by creates and renames in flight, released when they are applied.
    pub(crate) reserved_mailbox_names: std::collections::HashSet<(AccountKey, String)>,
    pub(crate) reserved_account_names: std::collections::HashSet<String>,
    /// Special-use attributes claimed by records in flight, and for which mailbox; released
    /// when a record giving one is applied (`special_use::claim`).
    pub(crate) reserved_special_uses: HashMap<(AccountKey, SpecialUse), u32>,
    /// Replay only: per compacted segment, original → current data offset of each kept chunk
    /// (from its relocation records). Emptied once open is done: new commits never refer to
    /// a compacted segment (compaction skips segments with writes in flight).
    pub(crate) relocations: BTreeMap<u64, HashMap<u64, u64>>,
    /// The reservation made by the write being prepared, taken by `Store::write_with` into
    /// the record's effect (live writes only; replay reserves nothing).
    pub(crate) staged_reservation: Option<UsageReservation>,
    /// While compaction works on a segment: the copies made since it started that use it
    /// (`CopyWatch`).
    pub(crate) copy_watch: Option<crate::copy::CopyWatch>,
    /// Tombstones replayed (`Record::MessageTombstone`): open looks for ghosts left only
    /// when there were some.
    pub(crate) tombstones_applied: u64,
}

impl State {
    /// Counts `octets` in `messages` against the account's quota until the record being
    /// prepared is applied; `Store::write_with` takes it into the record's effect.
    pub(crate) fn reserve_usage(&mut self, account: AccountKey, octets: u64, messages: u64) {
        if let Some(holder) = self.accounts.get_mut(&account) {
            holder.reserved_octets += octets;
            holder.reserved_messages += messages;
            self.staged_reservation = Some(UsageReservation {
                account,
                octets,
                messages,
            });
        }
    }

    /// Ends a reservation: its record was applied (or could not be written).
    pub(crate) fn release_usage(&mut self, reservation: UsageReservation) {
        if let Some(holder) = self.accounts.get_mut(&reservation.account) {
            holder.reserved_octets = holder.reserved_octets.saturating_sub(reservation.octets);
            holder.reserved_messages = holder
                .reserved_messages
                .saturating_sub(reservation.messages);
        }
    }

    pub fn mailbox(&self, key: MailboxKey) -> Option<&Mailbox> {
        self.accounts.get(&key.account)?.mailboxes.get(&key.mailbox)
    }
    pub fn mailbox_mut(&mut self, key: MailboxKey) -> Option<&mut Mailbox> {
        self.accounts
            .get_mut(&key.account)?
            .mailboxes
            .get_mut(&key.mailbox)
    }

    /// Applies one record; returns a mailbox it changed, if any.
    pub fn apply(
        &mut self,
        location: Location,
        record: &Record<'_>,
    ) -> Result<Option<MailboxKey>, Anomaly> {
        self.apply_observed(location, record, false)
            .map(|applied| applied.changed[0])
    }

    /// Applies one record; with `observe`, also builds its per-message `Outcome` (a live
    /// writer waits on it). Replay and live writes take the same path either way.
    pub(crate) fn apply_observed(
        &mut self,
        location: Location,
        record: &Record<'_>,
        observe: bool,
    ) -> Result<Applied, Anomaly> {
        let changed = match record {
            Record::Relocation(relocations) => {
                // A segment has one table, at its records start. A replay scans a segment
                // once, and open drops the tables when done (replay is their only user).
                let table = self.relocations.entry(location.sequence).or_default();
                table.extend(relocations.iter().map(|r| (r.original, r.current)));
                Ok(None)
            }
            Record::ContentChunk { ingest, .. } => {
                self.ingest_next = self.ingest_next.max(ingest + 1);
                Ok(None)
            }
            Record::MessageCommit(commit) => self.apply_commit(location, commit, false).map(Some),
            Record::MessageTombstone(commit) => {
                self.apply_commit(location, commit, true)?;
                self.tombstones_applied += 1;
                // A message nobody could see is not a change to wake anyone for.
                Ok(None)
            }
            Record::FlagChange(change) => return self.apply_flags(change, observe),
            Record::MessageCopy(copy) => return self.apply_copy(copy, observe),
            Record::Expunge {
                mailbox,
                modseq,
                uids,
            } => {
                let account = self
                    .accounts
                    .get_mut(&mailbox.account)
                    .ok_or(Anomaly::Missing)?;
                let target = account
                    .mailboxes
                    .get_mut(&mailbox.mailbox)
                    .ok_or(Anomaly::Missing)?;
                advance_modseq(target, *modseq)?;
                for entry in target.remove(*modseq, uids) {
                    account.forget_usage_of(&entry);
                }
                Ok(Some(*mailbox))
            }
            Record::MailboxCreate {
                mailbox,
                name,
                uid_validity,
                special_use,
            } => {
                self.reserved_mailbox_names
                    .remove(&(mailbox.account, name.clone()));
                self.release_special_use(*mailbox, *special_use);
                let created = self.create_mailbox(*mailbox, name, *uid_validity)?;
                if special_use.is_some() {
                    self.give_special_use(*mailbox, *special_use)?;
                }
                Ok(created)
            }
            Record::MailboxSpecialUse {
                mailbox,
                special_use,
            } => {
                // Not a change of the mailbox's messages: nobody is woken.
                self.apply_special_use(*mailbox, *special_use)?;
                Ok(None)
            }
            Record::MailboxRename { mailbox, name } => {
                self.reserved_mailbox_names
                    .remove(&(mailbox.account, name.clone()));
                let account = self
                    .accounts
                    .get_mut(&mailbox.account)
                    .ok_or(Anomaly::Missing)?;
                if account.names.contains_key(name) {
                    return Err(Anomaly::NameTaken);
                }
                let target = account
                    .mailboxes
                    .get_mut(&mailbox.mailbox)
                    .ok_or(Anomaly::Missing)?;
                account.names.remove(&target.name);
                target.name.clone_from(name);
                account.names.insert(name.clone(), mailbox.mailbox);
                Ok(Some(*mailbox))
            }
            Record::MailboxDelete { mailbox } => {
                let account = self
                    .accounts
                    .get_mut(&mailbox.account)
                    .ok_or(Anomaly::Missing)?;
                let removed = account
                    .mailboxes
                    .remove(&mailbox.mailbox)
                    .ok_or(Anomaly::Missing)?;
                account.names.remove(&removed.name);
                for entry in removed.index.entries() {
                    account.forget_usage_of(entry);
                }
                // Sessions waiting on it learn it is gone.
                removed.changes.notify();
                Ok(None)
            }
            Record::Subscription {
                account,
                name,
                subscribed,
            } => {
                let account = self.accounts.get_mut(account).ok_or(Anomaly::Missing)?;
                if *subscribed {
                    account.subscriptions.insert(name.clone());
                } else {
                    account.subscriptions.remove(name);
                }
                Ok(None)
            }
            Record::Account {
                account,
                name,
                quota_octets_max,
                quota_messages_max,
            } => {
                self.reserved_account_names.remove(name);
                self.upsert_account(*account, name, *quota_octets_max, *quota_messages_max)
            }
        }?;
        Ok(changed.map_or_else(Applied::default, Applied::one))
    }

    fn upsert_account(
        &mut self,
        key: AccountKey,
        name: &str,
        octets_max: u64,
        messages_max: u64,
    ) -> Result<Option<MailboxKey>, Anomaly> {
        if self
            .account_names
            .get(name)
            .is_some_and(|existing| *existing != key)
        {
            return Err(Anomaly::NameTaken);
        }
        let next = self.account_next.entry(key.partition).or_insert(0);
        *next = (*next).max(key.account + 1);
        let account = self.accounts.entry(key).or_insert_with(|| Account {
            key,
            name: name.to_owned(),
            quota_octets_max: 0,
            quota_messages_max: 0,
            usage_octets: 0,
            usage_messages: 0,
            mailboxes: BTreeMap::new(),
            names: BTreeMap::new(),
            subscriptions: BTreeSet::new(),
            mailbox_next: 1,
            uid_validity_last: 0,
            reserved_octets: 0,
            reserved_messages: 0,
        });
        account.quota_octets_max = octets_max;
        account.quota_messages_max = messages_max;
        self.account_names.insert(name.to_owned(), key);
        Ok(None)
    }

    fn create_mailbox(
        &mut self,
        key: MailboxKey,
        name: &str,
        uid_validity: u32,
    ) -> Result<Option<MailboxKey>, Anomaly> {
        let account = self
            .accounts
            .get_mut(&key.account)
            .ok_or(Anomaly::Missing)?;
        if account.names.contains_key(name) || account.mailboxes.contains_key(&key.mailbox) {
            return Err(Anomaly::NameTaken);
        }
        account.mailbox_next = account.mailbox_next.max(key.mailbox + 1);
        account.uid_validity_last = account.uid_validity_last.max(uid_validity);
        account.names.insert(name.to_owned(), key.mailbox);
        account.mailboxes.insert(
            key.mailbox,
            Mailbox {
                key,
                name: name.to_owned(),
                uid_validity,
                special_use: None,
                uid_next: 1,
                highest_modseq: 0,
                uid_next_allocated: 1,
                modseq_allocated: 0,
                index: MessageIndex::default(),
                keywords: KeywordTable::default(),
                expunged: ExpungeHistory::default(),
                changes: Event::new(),
            },
        );
        Ok(Some(key))
    }

    /// Applies a commit, or with `ghost` a tombstone (`Record::MessageTombstone`).
    fn apply_commit(
        &mut self,
        location: Location,
        commit: &MessageCommit,
        ghost: bool,
    ) -> Result<MailboxKey, Anomaly> {
        self.ingest_next = self.ingest_next.max(commit.ingest + 1);
        let account = self
            .accounts
            .get_mut(&commit.mailbox.account)
            .ok_or(Anomaly::Missing)?;
        let mailbox = account
            .mailboxes
            .get_mut(&commit.mailbox.mailbox)
            .ok_or(Anomaly::Missing)?;
        if commit.uid < mailbox.uid_next {
            return Err(Anomaly::UidNotAscending {
                uid: commit.uid,
                uid_next: mailbox.uid_next,
            });
        }
        let relocations = &self.relocations;
        let packed: Option<Vec<PackedExtent>> = commit
            .extents
            .iter()
            .map(|extent| PackedExtent::pack(&relocate(relocations, extent)))
            .collect();
        let commit_sequence = u32::try_from(location.sequence).ok();
        let commit_offset = u32::try_from(location.offset).ok();
        let size_octets = u32::try_from(commit.size_octets).ok();
        let (Some(mut packed), Some(sequence), Some(offset), Some(size)) =
            (packed, commit_sequence, commit_offset, size_octets)
        else {
            return Err(Anomaly::LocationTooLarge);
        };
        advance_modseq(mailbox, commit.modseq)?;
        let first = if packed.is_empty() {
            PackedExtent {
                sequence,
                offset,
                octets: 0,
            }
        } else {
            packed.remove(0)
        };
        let keyword_set = mailbox.keywords.intern(&commit.keywords);
        let mut entry = MessageEntry::new(
            commit.uid,
            commit.flags,
            keyword_set,
            size,
            commit.modseq,
            (commit.internal_date_secs, commit.save_date_secs),
            (sequence, offset),
            first,
        );
        if ghost {
            entry.mark_ghost();
        }
        mailbox.index.push(entry, packed);
        mailbox.uid_next = commit.uid + 1;
        mailbox.uid_next_allocated = mailbox.uid_next_allocated.max(mailbox.uid_next);
        account.usage_octets += commit.size_octets;
        account.usage_messages += 1;
        Ok(commit.mailbox)
    }

    /// After replay: removes the entries of tombstones that no later record removed (that
    /// record was lost to damage, or the log was cut before it), without expunge history
    /// (nobody saw them). Returns each as an anomaly at the tombstone's location.
    pub(crate) fn remove_ghosts(&mut self) -> Vec<(Location, String)> {
        let mut found = Vec::new();
        if self.tombstones_applied == 0 {
            return found;
        }
        for account in self.accounts.values_mut() {
            let mut gone = Vec::new();
            for mailbox in account.mailboxes.values_mut() {
                let ghosts = mailbox.index.entries().iter().filter(|entry| entry.ghost());
                let ranges = compact_ranges(ghosts.map(|entry| entry.uid));
                if ranges.is_empty() {
                    continue;
                }
                for entry in mailbox.index.remove(&ranges) {
                    let location = Location {
                        sequence: u64::from(entry.commit_sequence),
                        offset: u64::from(entry.commit_offset),
                    };
                    let what = format!(
                        "tombstone of UID {} in mailbox {} not followed by its removal",
                        entry.uid, mailbox.name
                    );
                    found.push((location, what));
                    gone.push(entry);
                }
            }
            for entry in &gone {
                account.forget_usage_of(entry);
            }
        }
        self.tombstones_applied = 0;
        found
    }

    /// After replay over damaged log ranges: records lost there may have used UIDs, MODSEQs and
    /// mailbox numbers; skip past as many as the damage could have held so none is reused.
    pub(crate) fn skip_lost(&mut self, records_lost_max: u64) {
        let skip = u32::try_from(records_lost_max).unwrap_or(u32::MAX);
        for account in self.accounts.values_mut() {
            account.mailbox_next = account.mailbox_next.saturating_add(skip);
            for mailbox in account.mailboxes.values_mut() {
                mailbox.uid_next = mailbox.uid_next.saturating_add(skip);
                mailbox.uid_next_allocated = mailbox.uid_next;
                mailbox.highest_modseq += records_lost_max;
                mailbox.modseq_allocated = mailbox.highest_modseq;
                // Expunge records may be among the lost.
                mailbox.expunged.forget_through(mailbox.highest_modseq);
            }
        }
        for next in self.account_next.values_mut() {
            *next = next.saturating_add(skip);
        }
    }
}

/// Where an extent's content lies now: through the relocation table of its segment if that
/// segment was compacted. An extent not in the table belonged to a message that was already
/// expunged when its chunk was dropped; a later expunge record removes it again.
fn relocate(relocations: &BTreeMap<u64, HashMap<u64, u64>>, extent: &Extent) -> Extent {
    let current = relocations
        .get(&extent.sequence)
        .and_then(|table| table.get(&extent.offset));
    Extent {
        offset: current.copied().unwrap_or(extent.offset),
        ..*extent
    }
}

pub(crate) fn advance_modseq(mailbox: &mut Mailbox, modseq: Modseq) -> Result<(), Anomaly> {
    if modseq <= mailbox.highest_modseq {
        return Err(Anomaly::ModseqNotIncreasing {
            modseq,
            highest: mailbox.highest_modseq,
        });
    }
    mailbox.highest_modseq = modseq;
    mailbox.modseq_allocated = mailbox.modseq_allocated.max(modseq);
    Ok(())
}
