//! STORE (RFC 3501 §6.4.6) and conditional STORE (RFC 7162 §3.1.3 `UNCHANGEDSINCE`).
//!
//! A flag-change record names the operation and the UID ranges; it is applied, in log order,
//! to the messages present then. A message whose flags and keywords come out the same keeps
//! its MODSEQ (RFC 7162 §3.1: the MODSEQ moves only when metadata changes). The condition of
//! a conditional STORE is in the record and checked as it is applied, so no other write can
//! come between the check and the change, live or in replay.

use crate::disk::Disk;
use crate::error::StoreError;
use crate::history::normalize_ranges;
use crate::ids::{MailboxKey, Modseq, SystemFlags, Uid, UidRange};
use crate::log::Durable;
use crate::mailbox::next_modseq;
use crate::mailbox::{Anomaly, Applied, Mailbox, Outcome, State, advance_modseq};
use crate::record::{FlagChange, FlagOperation, Record};
use crate::store::{Prepared, Store, check_keywords, check_ranges};

/// What a conditional STORE did (RFC 7162 §3.1.3).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FlagStoreOutcome {
    /// The MODSEQ of the command: every message in `changed` has it now, and HIGHESTMODSEQ
    /// reached it.
    pub modseq: Modseq,
    /// Messages whose flags or keywords changed, ascending, with their state right after
    /// the change (IMAP: `* n FETCH (FLAGS (...) MODSEQ (modseq))`). A message in the ranges
    /// that is neither here nor in `modified` was present and already as asked: its MODSEQ
    /// did not move.
    pub changed: Vec<StoredFlags>,
    /// Messages left alone because their MODSEQ was above `UNCHANGEDSINCE`, ascending: the
    /// `MODIFIED` response code.
    pub modified: Vec<Uid>,
}

/// A message's flags right after a STORE changed them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoredFlags {
    pub uid: Uid,
    pub flags: SystemFlags,
    /// Keyword set id in the mailbox's `KeywordTable` (`keywords.names(set)`); ids are
    /// never reused, so it stays valid.
    pub keyword_set: u32,
}

impl<D: Disk + 'static> Store<D> {
    /// RFC 3501 §6.4.6 STORE: applies `operation` to the messages in `uids`. One MODSEQ is
    /// given to the whole command (RFC 7162 allows one per operation), and only to the
    /// messages it changes.
    pub async fn store_flags(
        &self,
        mailbox: MailboxKey,
        uids: &[UidRange],
        operation: FlagOperation,
        flags: SystemFlags,
        keywords: &[String],
    ) -> Result<(Modseq, Durable), StoreError> {
        let change = self.flag_change(mailbox, uids, operation, flags, keywords, None)?;
        self.write(|state| {
            let (record, modseq) = prepare(state, change)?;
            Ok((record, modseq))
        })
        .await
    }

    /// STORE with RFC 7162 §3.1.3 `UNCHANGEDSINCE`: with `Some(since)`, messages whose MODSEQ
    /// is above `since` are left alone and returned in `modified`. The check happens as the
    /// record is applied, in log order, after every write before it: nothing can come between
    /// check and change. Returns what changed, once durable.
    pub async fn store_flags_if(
        &self,
        mailbox: MailboxKey,
        uids: &[UidRange],
        operation: FlagOperation,
        flags: SystemFlags,
        keywords: &[String],
        unchanged_since: Option<Modseq>,
    ) -> Result<(FlagStoreOutcome, Durable), StoreError> {
        let change =
            self.flag_change(mailbox, uids, operation, flags, keywords, unchanged_since)?;
        let (_, outcome, durable) = self
            .write_observed(|state| {
                let (record, modseq) = prepare(state, change)?;
                Ok(Prepared::Append(record, modseq))
            })
            .await?;
        match outcome {
            Some(Outcome::Flags(outcome)) => Ok((outcome, durable)),
            _ => unreachable!("a flag change has a flag outcome"),
        }
    }

    /// The record of a STORE, checked; its MODSEQ is allocated by `prepare`.
    fn flag_change(
        &self,
        mailbox: MailboxKey,
        uids: &[UidRange],
        operation: FlagOperation,
        flags: SystemFlags,
        keywords: &[String],
        unchanged_since: Option<Modseq>,
    ) -> Result<FlagChange, StoreError> {
        check_keywords(keywords)?;
        check_ranges(uids)?;
        if !SystemFlags::ALL.contains(flags) {
            return Err(StoreError::LimitExceeded("unknown flag bits"));
        }
        Ok(FlagChange {
            mailbox,
            modseq: 0,
            operation,
            flags,
            keywords: keywords.to_vec(),
            // Each message once: a message named twice would fail its own condition.
            uids: normalize_ranges(uids),
            unchanged_since,
        })
    }
}

/// Allocates the MODSEQ of a flag change (in the write path, before its append).
fn prepare(
    state: &mut State,
    mut change: FlagChange,
) -> Result<(Record<'static>, Modseq), StoreError> {
    let target = state
        .mailbox_mut(change.mailbox)
        .ok_or(StoreError::NoSuchMailbox)?;
    if !target.keywords.has_room_for(&change.keywords) {
        return Err(StoreError::LimitExceeded("keywords per mailbox"));
    }
    target.modseq_allocated = next_modseq(target.modseq_allocated);
    change.modseq = target.modseq_allocated;
    let modseq = change.modseq;
    Ok((Record::FlagChange(change), modseq))
}

impl State {
    pub(crate) fn apply_flags(
        &mut self,
        change: &FlagChange,
        observe: bool,
    ) -> Result<Applied, Anomaly> {
        let mailbox = self.mailbox_mut(change.mailbox).ok_or(Anomaly::Missing)?;
        advance_modseq(mailbox, change.modseq)?;
        let mut outcome = FlagStoreOutcome {
            modseq: change.modseq,
            ..FlagStoreOutcome::default()
        };
        let Mailbox {
            index, keywords, ..
        } = mailbox;
        // Replay may meet records written before ranges were normalized.
        for range in normalize_ranges(&change.uids) {
            for entry in index.range_mut(range) {
                if change
                    .unchanged_since
                    .is_some_and(|since| entry.modseq > since)
                {
                    if observe {
                        outcome.modified.push(entry.uid);
                    }
                    continue;
                }
                let (flags, keyword_set) = match change.operation {
                    FlagOperation::Replace => (change.flags, keywords.intern(&change.keywords)),
                    FlagOperation::Add => (
                        entry.flags.union(change.flags),
                        keywords.combine(entry.keyword_set, &change.keywords, true),
                    ),
                    FlagOperation::Remove => (
                        entry.flags.difference(change.flags),
                        keywords.combine(entry.keyword_set, &change.keywords, false),
                    ),
                };
                // RFC 7162 §3.1: a message whose metadata stays the same keeps its MODSEQ.
                if (flags, keyword_set) != (entry.flags, entry.keyword_set) {
                    entry.flags = flags;
                    entry.keyword_set = keyword_set;
                    entry.modseq = change.modseq;
                    if observe {
                        outcome.changed.push(crate::flags::StoredFlags {
                            uid: entry.uid,
                            flags,
                            keyword_set,
                        });
                    }
                }
            }
        }
        Ok(Applied {
            changed: [Some(change.mailbox), None],
            outcome: observe.then_some(Outcome::Flags(outcome)),
        })
    }
}
