//! COPY (RFC 3501 §6.4.7, UIDPLUS COPYUID RFC 4315) and MOVE (RFC 6851) without copying
//! content.
//!
//! One `MessageCopy` record per command: a copy is a new message of the target mailbox (new
//! UID and MODSEQ, the save date given, the original's flags, keywords, internal date and
//! size) that shares the original's content extents and commit record (parse results). A
//! MOVE expunges the originals in the same record, so a crash leaves each message in exactly
//! one of the two mailboxes (RFC 6851 §3.3: the server "SHOULD NOT leave any message in both
//! mailboxes").
//!
//! Shared content stays as long as any message refers to it: compaction keeps a chunk that
//! any index entry uses and moves every entry that uses it (docs/STORAGE.md, "Copies").

use crate::disk::Disk;
use crate::error::StoreError;
use crate::history::{compact_ranges, normalize_ranges};
use crate::ids::{MailboxKey, Uid, UidRange};
use crate::index::{MessageEntry, PackedExtent};
use crate::log::Durable;
use crate::mailbox::next_modseq;
use crate::mailbox::{Anomaly, Applied, Outcome, State, advance_modseq};
use crate::record::{MessageCopy, Record};
use crate::store::{Prepared, Store, check_ranges};
use std::collections::{BTreeMap, BTreeSet};

/// The copies (COPY, MOVE) applied while compaction works on a segment that use that
/// segment: target mailbox and UID, in the order applied. Compaction's walks of the index
/// and its move of the index to the rewritten segment yield between slices, and a copy is
/// the only way an entry can come to refer to a sealed segment, perhaps behind a walk's
/// position: compaction visits these too (docs/STORAGE.md, "Compaction").
pub(crate) struct CopyWatch {
    pub(crate) sequence: u64,
    pub(crate) copies: Vec<(MailboxKey, Uid)>,
}

impl<D: Disk + 'static> Store<D> {
    /// Copies the messages of `source` in `uids` to `target` (same account), saved at
    /// `save_date_secs` (RFC 8514). Returns (source UID, new UID) of every copy, ascending
    /// (COPYUID), once durable; none if no message in `uids` is present. Quota counts each
    /// copy in full (octets and messages), though the content is stored once.
    pub async fn copy_messages(
        &self,
        source: MailboxKey,
        uids: &[UidRange],
        target: MailboxKey,
        save_date_secs: i64,
    ) -> Result<(Vec<(Uid, Uid)>, Durable), StoreError> {
        self.copy_or_move(source, uids, target, save_date_secs, false)
            .await
    }

    /// RFC 6851 MOVE: copies like `copy_messages` and expunges the originals from `source`,
    /// in one record (atomic across a crash). Returns the (source UID, new UID) pairs and the
    /// UIDs expunged from `source` (the pairs' sources), once durable. Quota is not checked:
    /// usage does not grow.
    pub async fn move_messages(
        &self,
        source: MailboxKey,
        uids: &[UidRange],
        target: MailboxKey,
        save_date_secs: i64,
    ) -> Result<(Vec<(Uid, Uid)>, Vec<Uid>, Durable), StoreError> {
        let (pairs, durable) = self
            .copy_or_move(source, uids, target, save_date_secs, true)
            .await?;
        let expunged = pairs.iter().map(|(source, _)| *source).collect();
        Ok((pairs, expunged, durable))
    }

    async fn copy_or_move(
        &self,
        source: MailboxKey,
        uids: &[UidRange],
        target: MailboxKey,
        save_date_secs: i64,
        moving: bool,
    ) -> Result<(Vec<(Uid, Uid)>, Durable), StoreError> {
        check_ranges(uids)?;
        // All of an account's mailboxes live in its partition; a copy never leaves it.
        if source.account != target.account {
            return Err(StoreError::NoSuchMailbox);
        }
        let request = CopyRequest {
            source,
            target,
            uids: normalize_ranges(uids),
            save_date_secs,
            moving,
        };
        let ((), outcome, durable) = self.write_observed(|state| prepare(state, request)).await?;
        match outcome {
            None => Ok((Vec::new(), durable)),
            Some(Outcome::Copy(pairs)) => Ok((pairs, durable)),
            Some(_) => unreachable!("a copy record has a copy outcome"),
        }
    }
}

pub(crate) struct CopyRequest {
    pub source: MailboxKey,
    pub target: MailboxKey,
    /// Normalized.
    pub uids: Vec<UidRange>,
    pub save_date_secs: i64,
    pub moving: bool,
}

/// Checks a COPY/MOVE against the durable state and allocates its UIDs and MODSEQs (in the
/// write path, before its append).
pub(crate) fn prepare(state: &mut State, request: CopyRequest) -> Result<Prepared<()>, StoreError> {
    let account = state
        .accounts
        .get_mut(&request.source.account)
        .ok_or(StoreError::NoSuchAccount)?;
    if !account.mailboxes.contains_key(&request.target.mailbox) {
        return Err(StoreError::NoSuchMailbox);
    }
    let from = account
        .mailboxes
        .get(&request.source.mailbox)
        .ok_or(StoreError::NoSuchMailbox)?;
    let mut count: u32 = 0;
    let mut octets: u64 = 0;
    let mut uid_max: Uid = 0;
    let mut sets = BTreeSet::new();
    for range in &request.uids {
        for entry in from.index.range(*range) {
            count += 1;
            octets += u64::from(entry.size_octets);
            uid_max = entry.uid;
            sets.insert(entry.keyword_set);
        }
    }
    if count == 0 {
        return Ok(Prepared::Nothing(()));
    }
    let keywords: BTreeSet<&str> = sets
        .iter()
        .flat_map(|set| from.keywords.names(*set))
        .collect();
    let keywords: Vec<String> = keywords.into_iter().map(str::to_owned).collect();
    // Only messages present now can be taken when the record is applied: every UID appended
    // meanwhile is above `uid_max`.
    let uids: Vec<UidRange> = request
        .uids
        .iter()
        .filter(|range| range.first <= uid_max)
        .map(|range| UidRange {
            first: range.first,
            last: range.last.min(uid_max),
        })
        .collect();
    if !request.moving && account.over_quota(octets, u64::from(count)) {
        return Err(StoreError::OverQuota);
    }
    let to = account
        .mailboxes
        .get_mut(&request.target.mailbox)
        .ok_or(StoreError::NoSuchMailbox)?;
    if !to.keywords.has_room_for(&keywords) {
        return Err(StoreError::LimitExceeded("keywords per mailbox"));
    }
    let uid_first = to.uid_next_allocated;
    to.uid_next_allocated = uid_first
        .checked_add(count)
        .ok_or(StoreError::LimitExceeded("UIDs"))?;
    to.modseq_allocated = next_modseq(to.modseq_allocated);
    let modseq = to.modseq_allocated;
    // A MOVE within one mailbox takes the second MODSEQ: the copies come first.
    let moved = match request.moving {
        false => None,
        true => {
            let from = account
                .mailboxes
                .get_mut(&request.source.mailbox)
                .ok_or(StoreError::NoSuchMailbox)?;
            from.modseq_allocated = next_modseq(from.modseq_allocated);
            Some(from.modseq_allocated)
        }
    };
    let copy = MessageCopy {
        source: request.source,
        target: request.target,
        uids,
        count,
        uid_first,
        modseq,
        save_date_secs: request.save_date_secs,
        moved,
    };
    if !request.moving {
        state.reserve_usage(request.source.account, octets, u64::from(count));
    }
    Ok(Prepared::Append(Record::MessageCopy(copy), ()))
}

/// A message taken by a copy record: its UID, entry and extents.
type Taken = (Uid, MessageEntry, Vec<PackedExtent>);

impl State {
    /// Applies a copy record (see `MessageCopy`): checks everything first, so a record that
    /// does not fit changes nothing.
    pub(crate) fn apply_copy(
        &mut self,
        copy: &MessageCopy,
        observe: bool,
    ) -> Result<Applied, Anomaly> {
        let account = self
            .accounts
            .get_mut(&copy.source.account)
            .ok_or(Anomaly::Missing)?;
        let (Some(from), Some(to)) = (
            account.mailboxes.get(&copy.source.mailbox),
            account.mailboxes.get(&copy.target.mailbox),
        ) else {
            return Err(Anomaly::Missing);
        };
        if copy.uid_first < to.uid_next {
            return Err(Anomaly::UidNotAscending {
                uid: copy.uid_first,
                uid_next: to.uid_next,
            });
        }
        if copy.modseq <= to.highest_modseq {
            return Err(Anomaly::ModseqNotIncreasing {
                modseq: copy.modseq,
                highest: to.highest_modseq,
            });
        }
        // Within one mailbox the copies' MODSEQ comes first (checked when decoded).
        let source_highest = match copy.source == copy.target {
            true => copy.modseq,
            false => from.highest_modseq,
        };
        if let Some(moved) = copy.moved.filter(|moved| *moved <= source_highest) {
            return Err(Anomaly::ModseqNotIncreasing {
                modseq: moved,
                highest: source_highest,
            });
        }
        let mut taken: Vec<Taken> = Vec::new();
        // Ordered: the target interns the sets in this order, and live application and
        // replay must give them the same ids (a checkpoint and the log agree byte for byte).
        let mut names: BTreeMap<u32, Vec<String>> = BTreeMap::new();
        'ranges: for range in &copy.uids {
            for entry in from.index.range(*range) {
                if taken.len() == copy.count as usize {
                    break 'ranges;
                }
                names.entry(entry.keyword_set).or_insert_with(|| {
                    let names = from.keywords.names(entry.keyword_set);
                    names.into_iter().map(str::to_owned).collect()
                });
                taken.push((entry.uid, entry.clone(), from.index.extents(entry)));
            }
        }
        let octets: u64 = taken.iter().map(|(_, e, _)| u64::from(e.size_octets)).sum();
        // From here on nothing can fail.
        let to = account
            .mailboxes
            .get_mut(&copy.target.mailbox)
            .ok_or(Anomaly::Missing)?;
        advance_modseq(to, copy.modseq)?;
        let sets: BTreeMap<u32, u32> = names
            .iter()
            .map(|(set, names)| (*set, to.keywords.intern(names)))
            .collect();
        let mut pairs = Vec::with_capacity(if observe { taken.len() } else { 0 });
        for (position, (uid, entry, extents)) in taken.iter().enumerate() {
            let new_uid = copy.uid_first + position as u32;
            let keyword_set = sets.get(&entry.keyword_set).copied().unwrap_or(0);
            let copied = entry.copied(new_uid, keyword_set, copy.modseq, copy.save_date_secs);
            if let Some(watch) = self.copy_watch.as_mut() {
                let sequence = watch.sequence;
                let uses = u64::from(entry.commit_sequence) == sequence
                    || extents.iter().any(|e| u64::from(e.sequence) == sequence);
                if uses {
                    watch.copies.push((copy.target, new_uid));
                }
            }
            to.index
                .push(copied, extents.get(1..).unwrap_or_default().to_vec());
            if observe {
                pairs.push((*uid, new_uid));
            }
        }
        // Decoding checked that it fits.
        to.uid_next = copy.uid_first + copy.count;
        to.uid_next_allocated = to.uid_next_allocated.max(to.uid_next);
        account.usage_octets += octets;
        account.usage_messages += taken.len() as u64;
        let from = account
            .mailboxes
            .get_mut(&copy.source.mailbox)
            .ok_or(Anomaly::Missing)?;
        for (uid, _, _) in &taken {
            if let Some(entry) = from.index.get_mut(*uid) {
                entry.mark_shared();
            }
        }
        let mut changed = [Some(copy.target), None];
        if let Some(moved) = copy.moved {
            advance_modseq(from, moved)?;
            let ranges = compact_ranges(taken.iter().map(|(uid, _, _)| *uid));
            for entry in from.remove(moved, &ranges) {
                account.forget_usage_of(&entry);
            }
            changed[1] = Some(copy.source);
        }
        Ok(Applied {
            changed,
            outcome: observe.then_some(Outcome::Copy(pairs)),
        })
    }
}
