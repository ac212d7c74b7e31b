//! Per-mailbox message index: UID → location, size, date, flags, keywords, MODSEQ.
//!
//! Entries sit in a `Vec` in ascending UID order: sequence number → UID is O(1), UID → sequence
//! number and UID range queries are binary searches, O(log n). Expunge removes a batch in one
//! O(n) pass. An entry is 56 octets; a message with more than one extent keeps the rest in a
//! side table, and keywords are interned per mailbox as sets referenced by a u32.

use crate::ids::{Extent, Modseq, SystemFlags, Uid, UidRange};
use crate::limits::KEYWORDS_PER_MAILBOX_MAX;
use std::collections::HashMap;
use std::rc::Rc;

/// An extent packed to 12 octets (segment offsets fit u32, see limits).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PackedExtent {
    pub sequence: u32,
    pub offset: u32,
    pub octets: u32,
}

impl PackedExtent {
    pub fn pack(extent: &Extent) -> Option<Self> {
        Some(Self {
            sequence: u32::try_from(extent.sequence).ok()?,
            offset: u32::try_from(extent.offset).ok()?,
            octets: extent.octets,
        })
    }
    pub fn unpack(&self) -> Extent {
        Extent {
            sequence: u64::from(self.sequence),
            offset: u64::from(self.offset),
            octets: self.octets,
        }
    }
}

const STATE_UNREADABLE: u8 = 1;
const STATE_MORE_EXTENTS: u8 = 2;

#[derive(Debug, Clone)]
pub struct MessageEntry {
    pub uid: Uid,
    pub flags: SystemFlags,
    state: u8,
    pub keyword_set: u32,
    pub size_octets: u32,
    pub modseq: Modseq,
    pub internal_date_secs: i64,
    /// Where the commit record (with the parse results) lies: segment, offset.
    pub commit_sequence: u32,
    pub commit_offset: u32,
    pub first_extent: PackedExtent,
}

const _: () = assert!(std::mem::size_of::<MessageEntry>() <= 64);

impl MessageEntry {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        uid: Uid,
        flags: SystemFlags,
        keyword_set: u32,
        size_octets: u32,
        modseq: Modseq,
        internal_date_secs: i64,
        commit: (u32, u32),
        first_extent: PackedExtent,
    ) -> Self {
        Self {
            uid,
            flags,
            state: 0,
            keyword_set,
            size_octets,
            modseq,
            internal_date_secs,
            commit_sequence: commit.0,
            commit_offset: commit.1,
            first_extent,
        }
    }
    /// Content lost to damage in the log; metadata is still served.
    pub fn unreadable(&self) -> bool {
        self.state & STATE_UNREADABLE != 0
    }
    pub fn mark_unreadable(&mut self) {
        self.state |= STATE_UNREADABLE;
    }
}

#[derive(Debug, Default)]
pub struct MessageIndex {
    entries: Vec<MessageEntry>,
    more_extents: HashMap<Uid, Box<[PackedExtent]>>,
}

impl MessageIndex {
    pub fn len(&self) -> usize {
        self.entries.len()
    }
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Appends a message; its UID must exceed every UID present.
    pub fn push(&mut self, mut entry: MessageEntry, more: Vec<PackedExtent>) {
        assert!(
            self.entries.last().is_none_or(|last| last.uid < entry.uid),
            "UIDs must ascend"
        );
        if !more.is_empty() {
            entry.state |= STATE_MORE_EXTENTS;
            self.more_extents.insert(entry.uid, more.into_boxed_slice());
        }
        self.entries.push(entry);
    }

    /// 1-based sequence number → entry.
    pub fn by_sequence(&self, sequence: u32) -> Option<&MessageEntry> {
        self.entries.get((sequence as usize).checked_sub(1)?)
    }
    /// UID → 1-based sequence number.
    pub fn sequence_of(&self, uid: Uid) -> Option<u32> {
        let position = self
            .entries
            .binary_search_by_key(&uid, |entry| entry.uid)
            .ok()?;
        Some(position as u32 + 1)
    }
    pub fn get(&self, uid: Uid) -> Option<&MessageEntry> {
        self.sequence_of(uid)
            .and_then(|sequence| self.by_sequence(sequence))
    }
    pub fn get_mut(&mut self, uid: Uid) -> Option<&mut MessageEntry> {
        let position = self
            .entries
            .binary_search_by_key(&uid, |entry| entry.uid)
            .ok()?;
        self.entries.get_mut(position)
    }
    /// Entries with UIDs in `range`, in O(log n).
    pub fn range(&self, range: UidRange) -> &[MessageEntry] {
        let start = self
            .entries
            .partition_point(|entry| entry.uid < range.first);
        let end = self
            .entries
            .partition_point(|entry| entry.uid <= range.last);
        &self.entries[start..end.max(start)]
    }
    pub fn range_mut(&mut self, range: UidRange) -> &mut [MessageEntry] {
        let start = self
            .entries
            .partition_point(|entry| entry.uid < range.first);
        let end = self
            .entries
            .partition_point(|entry| entry.uid <= range.last);
        &mut self.entries[start..end.max(start)]
    }
    pub fn entries(&self) -> &[MessageEntry] {
        &self.entries
    }
    pub fn entries_mut(&mut self) -> &mut [MessageEntry] {
        &mut self.entries
    }

    /// All extents of a message, in content order.
    pub fn extents(&self, entry: &MessageEntry) -> Vec<PackedExtent> {
        let mut extents = vec![entry.first_extent];
        if entry.state & STATE_MORE_EXTENTS != 0
            && let Some(more) = self.more_extents.get(&entry.uid)
        {
            extents.extend_from_slice(more);
        }
        extents
    }

    /// Removes every message in `ranges`; returns the removed entries in UID order.
    pub fn remove(&mut self, ranges: &[UidRange]) -> Vec<MessageEntry> {
        let mut removed = Vec::new();
        let more_extents = &mut self.more_extents;
        self.entries.retain(|entry| {
            let hit = ranges.iter().any(|range| range.contains(entry.uid));
            if hit {
                more_extents.remove(&entry.uid);
                removed.push(entry.clone());
            }
            !hit
        });
        removed
    }
}

/// Keywords interned per mailbox: names get u16 ids, distinct sets of them get u32 ids
/// (0 is the empty set), so a message's keywords cost 4 octets.
#[derive(Debug)]
pub struct KeywordTable {
    names: Vec<Rc<str>>,
    ids: HashMap<Rc<str>, u16>,
    sets: Vec<Rc<[u16]>>,
    set_ids: HashMap<Rc<[u16]>, u32>,
}

impl Default for KeywordTable {
    fn default() -> Self {
        let empty: Rc<[u16]> = Rc::from(Vec::new());
        Self {
            names: Vec::new(),
            ids: HashMap::new(),
            set_ids: HashMap::from([(empty.clone(), 0)]),
            sets: vec![empty],
        }
    }
}

impl KeywordTable {
    /// Whether `keywords` can be interned without passing the per-mailbox limit.
    pub fn has_room_for(&self, keywords: &[String]) -> bool {
        let new = keywords
            .iter()
            .filter(|keyword| !self.ids.contains_key(keyword.as_str()))
            .count();
        self.names.len() + new <= KEYWORDS_PER_MAILBOX_MAX
    }

    fn id_of(&mut self, keyword: &str) -> Option<u16> {
        if let Some(id) = self.ids.get(keyword) {
            return Some(*id);
        }
        if self.names.len() >= KEYWORDS_PER_MAILBOX_MAX {
            return None;
        }
        let id = self.names.len() as u16;
        let name: Rc<str> = Rc::from(keyword);
        self.names.push(name.clone());
        self.ids.insert(name, id);
        Some(id)
    }

    fn set_of(&mut self, mut ids: Vec<u16>) -> u32 {
        ids.sort_unstable();
        ids.dedup();
        if let Some(id) = self.set_ids.get(ids.as_slice()) {
            return *id;
        }
        let set: Rc<[u16]> = Rc::from(ids);
        let id = self.sets.len() as u32;
        self.sets.push(set.clone());
        self.set_ids.insert(set, id);
        id
    }

    /// The set id of `keywords`; keywords past the mailbox limit are dropped.
    pub fn intern(&mut self, keywords: &[String]) -> u32 {
        let ids = keywords
            .iter()
            .filter_map(|keyword| self.id_of(keyword))
            .collect();
        self.set_of(ids)
    }

    /// Combines a stored set with `keywords` by `add` (union) or not (difference).
    pub fn combine(&mut self, set: u32, keywords: &[String], add: bool) -> u32 {
        let mut ids: Vec<u16> = self
            .sets
            .get(set as usize)
            .map(|set| set.to_vec())
            .unwrap_or_default();
        if add {
            ids.extend(keywords.iter().filter_map(|keyword| self.id_of(keyword)));
        } else {
            let remove: Vec<u16> = keywords
                .iter()
                .filter_map(|keyword| self.ids.get(keyword.as_str()).copied())
                .collect();
            ids.retain(|id| !remove.contains(id));
        }
        self.set_of(ids)
    }

    pub fn names(&self, set: u32) -> Vec<&str> {
        let Some(ids) = self.sets.get(set as usize) else {
            return Vec::new();
        };
        ids.iter()
            .filter_map(|id| self.names.get(*id as usize))
            .map(|name| &**name)
            .collect()
    }

    /// Every keyword known in the mailbox (IMAP PERMANENTFLAGS / FLAGS).
    pub fn all(&self) -> impl Iterator<Item = &str> {
        self.names.iter().map(|name| &**name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::Rng;

    fn entry(uid: Uid) -> MessageEntry {
        let extent = PackedExtent {
            sequence: 1,
            offset: 100,
            octets: 10,
        };
        MessageEntry::new(
            uid,
            SystemFlags::default(),
            0,
            10,
            u64::from(uid),
            0,
            (1, 0),
            extent,
        )
    }

    /// The index against a plain model (a sorted Vec of UIDs), under seeded random operations.
    #[test]
    fn index_matches_model() {
        for seed in 0..20 {
            let mut rng = Rng::new(seed);
            let mut index = MessageIndex::default();
            let mut model: Vec<Uid> = Vec::new();
            let mut uid_next = 1;
            for _ in 0..400 {
                if rng.below(3) > 0 {
                    uid_next += 1 + rng.below(3) as u32;
                    index.push(entry(uid_next), Vec::new());
                    model.push(uid_next);
                } else {
                    let first = 1 + rng.below(u64::from(uid_next)) as u32;
                    let range = UidRange {
                        first,
                        last: first + rng.below(8) as u32,
                    };
                    let removed: Vec<Uid> = index.remove(&[range]).iter().map(|e| e.uid).collect();
                    let expected: Vec<Uid> = model
                        .iter()
                        .copied()
                        .filter(|uid| range.contains(*uid))
                        .collect();
                    model.retain(|uid| !range.contains(*uid));
                    assert_eq!(removed, expected);
                }
                let probe = 1 + rng.below(u64::from(uid_next) + 1) as u32;
                let expected = model
                    .iter()
                    .position(|uid| *uid == probe)
                    .map(|p| p as u32 + 1);
                assert_eq!(index.sequence_of(probe), expected);
                let range = UidRange {
                    first: probe,
                    last: probe + 5,
                };
                let got: Vec<Uid> = index.range(range).iter().map(|e| e.uid).collect();
                let want: Vec<Uid> = model
                    .iter()
                    .copied()
                    .filter(|uid| range.contains(*uid))
                    .collect();
                assert_eq!(got, want);
                assert_eq!(index.len(), model.len());
            }
            for (position, uid) in model.iter().enumerate() {
                assert_eq!(
                    index.by_sequence(position as u32 + 1).map(|e| e.uid),
                    Some(*uid)
                );
            }
        }
    }

    #[test]
    fn keyword_sets_are_shared() {
        let mut table = KeywordTable::default();
        let a = table.intern(&["$Junk".into(), "work".into()]);
        let b = table.intern(&["work".into(), "$Junk".into(), "work".into()]);
        assert_eq!(a, b);
        assert_eq!(table.intern(&[]), 0);
        let c = table.combine(a, &["work".into()], false);
        assert_eq!(table.names(c), vec!["$Junk"]);
        assert!(std::mem::size_of::<MessageEntry>() <= 64);
    }
}
