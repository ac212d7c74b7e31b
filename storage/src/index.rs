//! Per-mailbox message index: UID → location, size, date, flags, keywords, MODSEQ.
//!
//! Entries sit in a `Vec` in ascending UID order: sequence number → UID is O(1), UID → sequence
//! number and UID range queries are binary searches, O(log n). Expunge removes a batch in one
//! O(n) pass. An entry is 64 octets; a message with more than one extent keeps the rest in a
//! side table, and keywords are interned per mailbox as sets referenced by a u32. A copy (COPY,
//! MOVE) is an entry of its own that shares the original's extents and commit record.

use crate::ids::{Extent, Location, Modseq, SystemFlags, Uid, UidRange};
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
/// The message's content and commit record may be shared with another message (it was
/// copied, or is a copy): compaction counts such content once.
const STATE_SHARED: u8 = 4;
/// Made by replaying a tombstone (`Record::MessageTombstone`): a message that was gone when
/// compaction ran, present during replay only until the record that removed it is replayed.
/// Never in a checkpoint (open removes any left), so not in `STATE_ALL`.
const STATE_GHOST: u8 = 8;
const STATE_ALL: u8 = STATE_UNREADABLE | STATE_MORE_EXTENTS | STATE_SHARED;

/// The save date of a message committed by format version 1, which did not record it
/// (RFC 8514: FETCH SAVEDATE answers NIL).
const SAVE_DATE_UNKNOWN: i64 = i64::MIN;

#[derive(Debug, Clone)]
pub struct MessageEntry {
    pub uid: Uid,
    pub flags: SystemFlags,
    state: u8,
    pub keyword_set: u32,
    pub size_octets: u32,
    pub modseq: Modseq,
    pub internal_date_secs: i64,
    /// RFC 8514 save date (`SAVE_DATE_UNKNOWN` if not recorded); see `save_date_secs()`.
    save_date_secs: i64,
    /// Where the commit record (with the parse results) lies: segment, offset. A copy points
    /// at the original's commit record.
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
        dates: (i64, Option<i64>),
        commit: (u32, u32),
        first_extent: PackedExtent,
    ) -> Self {
        let (internal_date_secs, save_date_secs) = dates;
        Self {
            uid,
            flags,
            state: 0,
            keyword_set,
            size_octets,
            modseq,
            internal_date_secs,
            save_date_secs: save_date_secs.unwrap_or(SAVE_DATE_UNKNOWN),
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
    /// RFC 8514 save date: when the message was saved into this mailbox (delivery, APPEND,
    /// COPY or MOVE). `None` for messages written before the log recorded it (FETCH SAVEDATE
    /// answers NIL); a save date of `i64::MIN` reads as `None` too.
    pub fn save_date_secs(&self) -> Option<i64> {
        (self.save_date_secs != SAVE_DATE_UNKNOWN).then_some(self.save_date_secs)
    }
    /// A replayed tombstone's entry (see `STATE_GHOST`); also unreadable.
    pub fn ghost(&self) -> bool {
        self.state & STATE_GHOST != 0
    }
    pub(crate) fn mark_ghost(&mut self) {
        self.state |= STATE_GHOST | STATE_UNREADABLE;
    }
    /// Whether the content may be shared with another message (COPY, MOVE).
    pub fn shared(&self) -> bool {
        self.state & STATE_SHARED != 0
    }
    pub(crate) fn mark_shared(&mut self) {
        self.state |= STATE_SHARED;
    }
    /// A copy of this message: the same content extents, commit record, flags, size,
    /// internal date and readability; its own UID, keyword set (of the target mailbox),
    /// MODSEQ and save date. Its extents are pushed with it (`MessageIndex::push`).
    pub(crate) fn copied(
        &self,
        uid: Uid,
        keyword_set: u32,
        modseq: Modseq,
        save_date_secs: i64,
    ) -> Self {
        Self {
            uid,
            keyword_set,
            modseq,
            save_date_secs,
            state: (self.state & (STATE_UNREADABLE | STATE_GHOST)) | STATE_SHARED,
            ..self.clone()
        }
    }
}

#[derive(Debug, Default)]
pub struct MessageIndex {
    entries: Vec<MessageEntry>,
    more_extents: HashMap<Uid, Box<[PackedExtent]>>,
}

impl MessageIndex {
    /// Calls `visit` with the commit location of `entry` and the first data octet of each of
    /// its non-empty extents, without allocating.
    pub fn locations_of(
        &self,
        entry: &MessageEntry,
        mut visit: impl FnMut(Location, LocationKind),
    ) {
        let commit = Location {
            sequence: u64::from(entry.commit_sequence),
            offset: u64::from(entry.commit_offset),
        };
        visit(commit, LocationKind::Commit);
        let more: &[PackedExtent] = match entry.state & STATE_MORE_EXTENTS != 0 {
            true => self.more_extents.get(&entry.uid).map_or(&[], |more| more),
            false => &[],
        };
        for extent in std::iter::once(&entry.first_extent).chain(more) {
            if extent.octets > 0 {
                let location = Location {
                    sequence: u64::from(extent.sequence),
                    offset: u64::from(extent.offset),
                };
                visit(location, LocationKind::Content(extent.octets));
            }
        }
    }

    /// Moves every location in segment `sequence` of the messages `uids` (ascending; UIDs
    /// no longer present are passed over) through `moved` (old offset → new offset; offsets
    /// are of the commit record, or of the first content octet). A location `moved` does not
    /// know makes its message unreadable. Returns how many messages had such a location.
    pub(crate) fn relocate(
        &mut self,
        sequence: u64,
        uids: impl IntoIterator<Item = Uid>,
        moved: impl Fn(u64, LocationKind) -> Option<u64>,
    ) -> usize {
        let Ok(packed_sequence) = u32::try_from(sequence) else {
            return 0;
        };
        let mut lost = 0;
        let mut from = 0;
        for uid in uids {
            let uid = &uid;
            // Users of a segment are mostly neighbours: look at the next entry first.
            if self.entries.get(from).is_some_and(|entry| entry.uid < *uid) {
                from += 1;
                if self.entries.get(from).is_some_and(|entry| entry.uid < *uid) {
                    from += self.entries[from..].partition_point(|entry| entry.uid < *uid);
                }
            }
            let Some(entry) = self.entries.get_mut(from).filter(|entry| entry.uid == *uid) else {
                continue;
            };
            let more = match entry.state & STATE_MORE_EXTENTS != 0 {
                true => self.more_extents.get_mut(uid),
                false => None,
            };
            if !relocate_entry(entry, more, packed_sequence, &moved) {
                entry.mark_unreadable();
                lost += 1;
            }
        }
        lost
    }

    /// Frees the spare capacity left by growth (after recovery).
    pub fn shrink_to_fit(&mut self) {
        self.entries.shrink_to_fit();
        self.more_extents.shrink_to_fit();
    }

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

/// Moves the locations of one message in segment `sequence` through `moved`; false if one
/// of them is not known to it (that location is left as it was).
fn relocate_entry(
    entry: &mut MessageEntry,
    more: Option<&mut Box<[PackedExtent]>>,
    sequence: u32,
    moved: &impl Fn(u64, LocationKind) -> Option<u64>,
) -> bool {
    let mut known = true;
    let mut shift = |offset: &mut u32, kind| match moved(u64::from(*offset), kind)
        .and_then(|new| u32::try_from(new).ok())
    {
        Some(new) => *offset = new,
        None => known = false,
    };
    let old_commit = (entry.commit_sequence, entry.commit_offset);
    if entry.commit_sequence == sequence {
        shift(&mut entry.commit_offset, LocationKind::Commit);
    }
    let first = &mut entry.first_extent;
    if first.sequence == sequence && first.octets > 0 {
        shift(&mut first.offset, LocationKind::Content(first.octets));
    }
    // An empty message's extent names its commit record (as replay makes it): it follows.
    if first.octets == 0 && (first.sequence, first.offset) == old_commit {
        first.offset = entry.commit_offset;
    }
    for extent in more.into_iter().flat_map(|more| more.iter_mut()) {
        if extent.sequence == sequence && extent.octets > 0 {
            shift(&mut extent.offset, LocationKind::Content(extent.octets));
        }
    }
    known
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

/// What a location in the index points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LocationKind {
    /// A commit record (its frame's first octet).
    Commit,
    /// Content: the first data octet of a chunk, and how many octets of it the message uses.
    Content(u32),
}

/// Checkpoint encoding of the index and keyword tables (docs/STORAGE.md, "Checkpoints").
/// Decoding checks every invariant the live structures assert, so damaged input is an error,
/// never a panic.
pub(crate) mod checkpoint {
    use super::*;
    use crate::codec::{Malformed, Reader, Writer};

    /// Octets of an entry without extra extents: format version 1, then 2 (save date).
    const ENTRY_OCTETS_MIN_V1: usize = 50;
    pub(crate) const ENTRY_OCTETS_MIN: usize = 58;

    fn extent(writer: &mut Writer<'_>, extent: &PackedExtent) {
        writer.u32(extent.sequence);
        writer.u32(extent.offset);
        writer.u32(extent.octets);
    }

    fn read_extent(reader: &mut Reader<'_>) -> Result<PackedExtent, Malformed> {
        Ok(PackedExtent {
            sequence: reader.u32("extent sequence")?,
            offset: reader.u32("extent offset")?,
            octets: reader.u32("extent octets")?,
        })
    }

    /// The messages at positions `range` of an index (its count is written before them), in
    /// checkpoint format `version`: version 1 had no save dates and no shared state (written
    /// only by tests of old checkpoints).
    pub(crate) fn encode_entries(
        index: &MessageIndex,
        range: std::ops::Range<usize>,
        version: u16,
        writer: &mut Writer<'_>,
    ) {
        for entry in index.entries.get(range).unwrap_or_default() {
            // The fixed fields go in one piece: a checkpoint encodes every entry of the shard
            // while writers wait.
            let mut fixed = Fixed::<ENTRY_OCTETS_MIN>::default();
            fixed.put(entry.uid.to_le_bytes());
            fixed.put([entry.flags.0]);
            fixed.put([match version >= 2 {
                true => entry.state,
                false => entry.state & !STATE_SHARED,
            }]);
            fixed.put(entry.keyword_set.to_le_bytes());
            fixed.put(entry.size_octets.to_le_bytes());
            fixed.put(entry.modseq.to_le_bytes());
            fixed.put(entry.internal_date_secs.to_le_bytes());
            if version >= 2 {
                fixed.put(entry.save_date_secs.to_le_bytes());
            }
            fixed.put(entry.commit_sequence.to_le_bytes());
            fixed.put(entry.commit_offset.to_le_bytes());
            let first = &entry.first_extent;
            fixed.put(first.sequence.to_le_bytes());
            fixed.put(first.offset.to_le_bytes());
            fixed.put(first.octets.to_le_bytes());
            writer.raw(fixed.filled());
            if entry.state & STATE_MORE_EXTENTS != 0 {
                let more = index
                    .more_extents
                    .get(&entry.uid)
                    .map_or(&[][..], |more| &more[..]);
                writer.u32(more.len() as u32);
                more.iter().for_each(|packed| extent(writer, packed));
            }
        }
    }

    /// Octets of an encoded index, less the extents beyond each message's first (a lower
    /// bound, to reserve the buffer once).
    pub(crate) fn encoded_octets_min(index: &MessageIndex) -> usize {
        4 + index.entries.len() * ENTRY_OCTETS_MIN
    }

    /// A stack buffer filled front to back.
    struct Fixed<const N: usize> {
        bytes: [u8; N],
        filled: usize,
    }

    impl<const N: usize> Default for Fixed<N> {
        fn default() -> Self {
            Self {
                bytes: [0; N],
                filled: 0,
            }
        }
    }

    impl<const N: usize> Fixed<N> {
        fn put<const M: usize>(&mut self, field: [u8; M]) {
            self.bytes[self.filled..self.filled + M].copy_from_slice(&field);
            self.filled += M;
        }
        fn filled(&self) -> &[u8] {
            &self.bytes[..self.filled]
        }
    }

    /// Decodes an index written by checkpoint format `version` (1 had no save dates).
    pub(crate) fn decode_index(
        reader: &mut Reader<'_>,
        keyword_sets: usize,
        version: u16,
    ) -> Result<MessageIndex, Malformed> {
        let entry_octets_min = if version < 2 {
            ENTRY_OCTETS_MIN_V1
        } else {
            ENTRY_OCTETS_MIN
        };
        let count = reader.count(u32::MAX as usize, entry_octets_min, "entry count")?;
        let mut index = MessageIndex {
            entries: Vec::with_capacity(count),
            more_extents: HashMap::new(),
        };
        for _ in 0..count {
            let uid = reader.u32("uid")?;
            let flags = SystemFlags(reader.u8("flags")?);
            let state = reader.u8("entry state")?;
            let entry = MessageEntry {
                uid,
                flags,
                state,
                keyword_set: reader.u32("keyword set")?,
                size_octets: reader.u32("size")?,
                modseq: reader.u64("modseq")?,
                internal_date_secs: reader.i64("internal date")?,
                save_date_secs: match version {
                    1 => SAVE_DATE_UNKNOWN,
                    _ => reader.i64("save date")?,
                },
                commit_sequence: reader.u32("commit sequence")?,
                commit_offset: reader.u32("commit offset")?,
                first_extent: read_extent(reader)?,
            };
            let ascending = index.entries.last().is_none_or(|last| last.uid < uid);
            if uid == 0
                || !ascending
                || !SystemFlags::ALL.contains(flags)
                || state & !STATE_ALL != 0
                || (version < 2 && state & STATE_SHARED != 0)
                || entry.keyword_set as usize >= keyword_sets
            {
                return Err(Malformed("index entry"));
            }
            if state & STATE_MORE_EXTENTS != 0 {
                let more = reader.count(crate::limits::EXTENTS_PER_MESSAGE_MAX, 12, "extents")?;
                let more: Vec<PackedExtent> = (0..more)
                    .map(|_| read_extent(reader))
                    .collect::<Result<_, _>>()?;
                index.more_extents.insert(uid, more.into_boxed_slice());
            }
            index.entries.push(entry);
        }
        Ok(index)
    }

    pub(crate) fn encode_keywords(table: &KeywordTable, writer: &mut Writer<'_>) {
        writer.u32(table.names.len() as u32);
        table.names.iter().for_each(|name| writer.text(name));
        // Set 0 is always the empty set.
        writer.u32(table.sets.len() as u32 - 1);
        for set in &table.sets[1..] {
            writer.u32(set.len() as u32);
            set.iter().for_each(|id| writer.u16(*id));
        }
    }

    pub(crate) fn decode_keywords(reader: &mut Reader<'_>) -> Result<KeywordTable, Malformed> {
        let mut table = KeywordTable::default();
        let names = reader.count(KEYWORDS_PER_MAILBOX_MAX, 4, "keyword names")?;
        for _ in 0..names {
            let name = reader.text(crate::limits::KEYWORD_OCTETS_MAX, "keyword")?;
            if table.ids.contains_key(name.as_str()) {
                return Err(Malformed("duplicate keyword"));
            }
            let id = table.names.len() as u16;
            let name: Rc<str> = Rc::from(name);
            table.names.push(name.clone());
            table.ids.insert(name, id);
        }
        let sets = reader.count(u32::MAX as usize, 4, "keyword sets")?;
        for _ in 0..sets {
            let octets = reader.count(KEYWORDS_PER_MAILBOX_MAX, 2, "keyword set")?;
            let ids: Vec<u16> = (0..octets)
                .map(|_| reader.u16("keyword id"))
                .collect::<Result<_, _>>()?;
            let sorted = ids.windows(2).all(|pair| pair[0] < pair[1]);
            if !sorted || ids.iter().any(|id| *id as usize >= table.names.len()) {
                return Err(Malformed("keyword set"));
            }
            let set: Rc<[u16]> = Rc::from(ids);
            if table.set_ids.contains_key(&set) {
                return Err(Malformed("duplicate keyword set"));
            }
            table.set_ids.insert(set.clone(), table.sets.len() as u32);
            table.sets.push(set);
        }
        Ok(table)
    }

    pub(crate) fn keyword_sets(table: &KeywordTable) -> usize {
        table.sets.len()
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
            (0, Some(i64::from(uid))),
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

    /// A copy in the same index keeps its own extents (the side table is keyed by UID), its
    /// dates and readability, and outlives the original.
    #[test]
    fn copies_keep_their_extents_when_the_original_goes() {
        let mut index = MessageIndex::default();
        let more = |offset| PackedExtent {
            sequence: 2,
            offset,
            octets: 7,
        };
        let mut original = entry(3);
        original.mark_unreadable();
        index.push(original, vec![more(500), more(900)]);
        let source = index.get(3).expect("original").clone();
        let extents = index.extents(&source);
        assert_eq!(extents.len(), 3);
        let copy = source.copied(8, 5, 40, 1234);
        index.push(copy, extents[1..].to_vec());
        if let Some(original) = index.get_mut(3) {
            original.mark_shared();
        }
        assert_eq!(index.remove(&[UidRange::one(3)]).len(), 1);
        let copy = index.get(8).expect("copy").clone();
        assert_eq!(index.extents(&copy), extents);
        assert_eq!(
            (copy.keyword_set, copy.modseq, copy.save_date_secs()),
            (5, 40, Some(1234))
        );
        assert_eq!(copy.internal_date_secs, source.internal_date_secs);
        assert!(copy.shared() && copy.unreadable());
        let mut visited = Vec::new();
        for entry in index.entries() {
            let shared = entry.shared();
            index.locations_of(entry, |location, kind| {
                visited.push((location, kind, shared))
            });
        }
        assert_eq!(visited.len(), 4, "commit and three extents");
        assert!(visited.iter().all(|(_, _, shared)| *shared));
        assert_eq!(std::mem::size_of::<MessageEntry>(), 64);
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
