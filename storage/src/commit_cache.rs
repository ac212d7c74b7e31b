//! A bounded cache of verified commit records, by log location, so the parse results IMAP
//! renders ENVELOPE, BODYSTRUCTURE and header SEARCH from are read from the log once and not
//! at every listing. One per store (one per shard), so no lock.
//!
//! A record at a location never changes, except when compaction rewrites its segment: the
//! rewrite gives records new offsets, disjoint from the old ones, so `forget_range` drops the
//! entries at the old offsets once the index has moved over to the new file (a later rewrite
//! may reuse them). Eviction is CLOCK (second chance): an entry read since
//! the hand last passed it is kept for one more round, so a listing that walks a large
//! mailbox once does not push out what sessions read again and again.

use crate::limits::COMMIT_CACHE_ENTRY_OCTETS_MAX;
use crate::record::MessageCommit;
use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};
use std::rc::Rc;

/// (segment sequence, record offset).
type Key = (u64, u64);

/// Keys are two small integers: one multiply spreads them (SipHash cost a tenth of a SEARCH
/// over cached records).
#[derive(Default, Clone, Copy)]
struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        // The table indexes by the low bits: fold the product's well-mixed high bits down
        // (offsets are aligned, so the low bits of the product alone repeat).
        let mixed = self.0 ^ (self.0 >> 31);
        mixed.wrapping_mul(0xbf58_476d_1ce4_e5b9) ^ (mixed >> 29)
    }
    fn write(&mut self, bytes: &[u8]) {
        for &octet in bytes {
            self.write_u64(u64::from(octet));
        }
    }
    fn write_u64(&mut self, value: u64) {
        self.0 = (self.0.rotate_left(26) ^ value).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

struct Slot {
    commit: Rc<MessageCommit>,
    octets: usize,
    referenced: bool,
}

pub(crate) struct CommitCache {
    capacity_octets: usize,
    used_octets: usize,
    slots: HashMap<Key, Slot, BuildHasherDefault<KeyHasher>>,
    /// The clock: every key in `slots` once, oldest insertion first.
    hand: VecDeque<Key>,
}

impl CommitCache {
    /// A cache holding at most `capacity_octets` (0 disables it).
    pub(crate) fn new(capacity_octets: usize) -> Self {
        Self {
            capacity_octets,
            used_octets: 0,
            slots: HashMap::default(),
            hand: VecDeque::new(),
        }
    }

    pub(crate) fn get(&mut self, sequence: u64, offset: u64) -> Option<Rc<MessageCommit>> {
        let slot = self.slots.get_mut(&(sequence, offset))?;
        slot.referenced = true;
        Some(Rc::clone(&slot.commit))
    }

    /// Keeps `commit`, read and verified at (`sequence`, `offset`), evicting as needed.
    /// Records larger than `COMMIT_CACHE_ENTRY_OCTETS_MAX` are not kept.
    pub(crate) fn insert(&mut self, sequence: u64, offset: u64, commit: Rc<MessageCommit>) {
        let octets = resident_octets(&commit);
        if octets > COMMIT_CACHE_ENTRY_OCTETS_MAX || octets > self.capacity_octets {
            return;
        }
        let key = (sequence, offset);
        if self.slots.contains_key(&key) {
            return;
        }
        while self.used_octets + octets > self.capacity_octets {
            let Some(oldest) = self.hand.pop_front() else {
                break;
            };
            let Some(slot) = self.slots.get_mut(&oldest) else {
                continue;
            };
            if slot.referenced {
                slot.referenced = false;
                self.hand.push_back(oldest);
            } else if let Some(slot) = self.slots.remove(&oldest) {
                self.used_octets -= slot.octets;
            }
        }
        self.used_octets += octets;
        self.hand.push_back(key);
        self.slots.insert(
            key,
            Slot {
                commit,
                octets,
                referenced: false,
            },
        );
    }

    /// Drops the entries of a segment at offsets in `offsets`, whose records moved
    /// (compaction).
    pub(crate) fn forget_range(&mut self, sequence: u64, offsets: std::ops::Range<u64>) {
        let gone = |key: &Key| key.0 == sequence && offsets.contains(&key.1);
        let mut freed = 0;
        self.slots.retain(|key, slot| {
            let keep = !gone(key);
            if !keep {
                freed += slot.octets;
            }
            keep
        });
        self.used_octets -= freed;
        self.hand.retain(|key| !gone(key));
    }

    pub(crate) fn used_octets(&self) -> usize {
        self.used_octets
    }

    pub(crate) fn len(&self) -> usize {
        self.slots.len()
    }

    /// How many cached records are from `sequence`.
    pub(crate) fn len_in_segment(&self, sequence: u64) -> usize {
        self.slots.keys().filter(|key| key.0 == sequence).count()
    }
}

/// What an entry costs in memory: the record, its vectors' contents, and the map and clock
/// slots that hold it.
fn resident_octets(commit: &MessageCommit) -> usize {
    std::mem::size_of::<MessageCommit>()
        + commit.keywords.iter().map(|k| k.len() + 24).sum::<usize>()
        + std::mem::size_of_val(commit.extents.as_slice())
        + commit.parse.len()
        + commit.envelope.len()
        + std::mem::size_of::<(Key, Slot)>()
        + std::mem::size_of::<Key>()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{AccountKey, MailboxKey, SystemFlags};

    fn commit(uid: u32, parse_octets: usize) -> Rc<MessageCommit> {
        Rc::new(MessageCommit {
            mailbox: MailboxKey {
                account: AccountKey {
                    partition: 0,
                    account: 1,
                },
                mailbox: 1,
            },
            uid,
            modseq: 2,
            internal_date_secs: 0,
            size_octets: 10,
            flags: SystemFlags::default(),
            keywords: Vec::new(),
            ingest: u64::from(uid),
            extents: Vec::new(),
            content_crc: 0,
            parse: vec![0; parse_octets],
            save_date_secs: None,
            envelope: Vec::new(),
        })
    }

    #[test]
    fn stays_within_its_capacity_and_keeps_what_is_read_again() {
        let entry = resident_octets(&commit(1, 1000));
        let mut cache = CommitCache::new(entry * 4);
        for uid in 1..=4 {
            cache.insert(1, u64::from(uid) * 100, commit(uid, 1000));
        }
        assert_eq!(cache.len(), 4);
        // UID 1 is read again: the next insertion evicts UID 2, the oldest unreferenced.
        assert!(cache.get(1, 100).is_some());
        cache.insert(1, 500, commit(5, 1000));
        assert_eq!(cache.len(), 4);
        assert!(cache.used_octets() <= entry * 4);
        assert!(cache.get(1, 100).is_some());
        assert!(cache.get(1, 200).is_none());
        assert_eq!(cache.get(1, 500).map(|c| c.uid), Some(5));
    }

    #[test]
    fn forgets_the_old_records_of_a_rewritten_segment_only() {
        let mut cache = CommitCache::new(1 << 20);
        cache.insert(1, 100, commit(1, 10));
        cache.insert(2, 100, commit(2, 10));
        // Moved there by the rewrite: stays.
        cache.insert(1, 5000, commit(4, 10));
        cache.forget_range(1, 64..4096);
        assert!(cache.get(1, 100).is_none());
        assert_eq!(cache.get(2, 100).map(|c| c.uid), Some(2));
        assert_eq!(cache.get(1, 5000).map(|c| c.uid), Some(4));
        let resident = resident_octets(&commit(2, 10)) + resident_octets(&commit(4, 10));
        assert_eq!(cache.used_octets(), resident);
        cache.insert(1, 100, commit(3, 10));
        assert_eq!(cache.get(1, 100).map(|c| c.uid), Some(3));
    }

    #[test]
    fn large_records_and_a_zero_capacity_keep_nothing() {
        let mut cache = CommitCache::new(1 << 30);
        cache.insert(1, 100, commit(1, COMMIT_CACHE_ENTRY_OCTETS_MAX));
        assert_eq!(cache.len(), 0);
        let mut off = CommitCache::new(0);
        off.insert(1, 100, commit(1, 10));
        assert_eq!(off.len(), 0);
        assert_eq!(off.used_octets(), 0);
    }
}
