//! `State::apply` of commits, conditional and plain stores, copies, moves and expunges against
//! a plain model, under seeded random operations. The copy records come from the store's own
//! preparation; the final state round-trips through a checkpoint.

use crate::checkpoint::{decode_state, encode_state};
use crate::copy::{self, CopyRequest};
use crate::history::{compact_ranges, normalize_ranges};
use crate::ids::{AccountKey, Extent, Location, MailboxKey, Modseq, SystemFlags, Uid, UidRange};
use crate::mailbox::{Outcome, State};
use crate::record::{FlagChange, FlagOperation, MessageCommit, Record};
use crate::sim::Rng;
use crate::store::Prepared;
use std::collections::{BTreeMap, BTreeSet};

const ACCOUNT: AccountKey = AccountKey {
    partition: 1,
    account: 0,
};
const KEYWORDS: [&str; 3] = ["$Junk", "work", "later"];
const SIZE_OCTETS: u64 = 10;

fn key(mailbox: u32) -> MailboxKey {
    MailboxKey {
        account: ACCOUNT,
        mailbox,
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Message {
    content: u64,
    flags: SystemFlags,
    keywords: BTreeSet<String>,
    modseq: Modseq,
    save_date_secs: Option<i64>,
}

#[derive(Debug, Clone)]
struct MailboxModel {
    messages: BTreeMap<Uid, Message>,
    uid_next: Uid,
    highest_modseq: Modseq,
    /// Every expunge: MODSEQ, UID.
    expunges: Vec<(Modseq, Uid)>,
}

impl Default for MailboxModel {
    fn default() -> Self {
        Self {
            messages: BTreeMap::new(),
            uid_next: 1,
            highest_modseq: 0,
            expunges: Vec::new(),
        }
    }
}

struct Harness {
    rng: Rng,
    state: State,
    model: BTreeMap<u32, MailboxModel>,
    offset: u64,
    content_next: u64,
    /// Every record applied, where: the log the state was built from.
    log: Vec<(Location, Record<'static>)>,
}

impl Harness {
    fn new(seed: u64) -> Self {
        let mut harness = Self {
            rng: Rng::new(seed),
            state: State::default(),
            model: BTreeMap::new(),
            offset: 0,
            content_next: 1,
            log: Vec::new(),
        };
        harness.apply(&Record::Account {
            account: ACCOUNT,
            name: "dora@example.org".into(),
            quota_octets_max: 0,
            quota_messages_max: 0,
        });
        for (mailbox, name) in [(1, "INBOX"), (2, "Archive")] {
            harness.apply(&Record::MailboxCreate {
                mailbox: key(mailbox),
                name: name.into(),
                uid_validity: mailbox,
                special_use: None,
            });
            harness.model.insert(mailbox, MailboxModel::default());
        }
        harness
    }

    fn apply(&mut self, record: &Record<'static>) -> Option<Outcome> {
        self.offset += 100;
        let location = Location {
            sequence: 1,
            offset: self.offset,
        };
        self.log.push((location, record.clone()));
        let applied = self
            .state
            .apply_observed(location, record, true)
            .expect("record fits the state");
        applied.outcome
    }

    fn mailbox(&mut self) -> u32 {
        1 + self.rng.below(2) as u32
    }

    fn flags(&mut self) -> SystemFlags {
        SystemFlags(self.rng.below(32) as u8)
    }

    fn keywords(&mut self) -> Vec<String> {
        KEYWORDS
            .iter()
            .filter(|_| self.rng.below(3) == 0)
            .map(|keyword| keyword.to_string())
            .collect()
    }

    fn ranges(&mut self, mailbox: u32) -> Vec<UidRange> {
        let top = u64::from(self.model[&mailbox].uid_next) + 2;
        (0..=self.rng.below(3))
            .map(|_| {
                let first = 1 + self.rng.below(top) as u32;
                UidRange {
                    first,
                    last: first + self.rng.below(6) as u32,
                }
            })
            .collect()
    }

    fn commit(&mut self) {
        let mailbox = self.mailbox();
        let content = self.content_next;
        self.content_next += 1;
        let model = self.model.get_mut(&mailbox).expect("mailbox");
        let (uid, modseq) = (model.uid_next, model.highest_modseq + 1);
        let flags = self.flags();
        let keywords = self.keywords();
        let save_date_secs = (content % 5 != 0).then_some(content as i64 * 7);
        let commit = MessageCommit {
            mailbox: key(mailbox),
            uid,
            modseq,
            internal_date_secs: -(content as i64),
            size_octets: SIZE_OCTETS,
            flags,
            keywords: keywords.clone(),
            ingest: content,
            extents: vec![Extent {
                sequence: 1,
                offset: content * 1000,
                octets: SIZE_OCTETS as u32,
            }],
            content_crc: 0,
            parse: Vec::new(),
            save_date_secs,
            envelope: Vec::new(),
        };
        self.apply(&Record::MessageCommit(commit));
        let model = self.model.get_mut(&mailbox).expect("mailbox");
        model.messages.insert(
            uid,
            Message {
                content,
                flags,
                keywords: keywords.into_iter().collect(),
                modseq,
                save_date_secs,
            },
        );
        model.uid_next = uid + 1;
        model.highest_modseq = modseq;
    }

    fn store(&mut self) {
        let mailbox = self.mailbox();
        let uids = normalize_ranges(&self.ranges(mailbox));
        let operation = match self.rng.below(3) {
            0 => FlagOperation::Replace,
            1 => FlagOperation::Add,
            _ => FlagOperation::Remove,
        };
        let flags = self.flags();
        let keywords = self.keywords();
        let highest = self.model[&mailbox].highest_modseq;
        let unchanged_since = match self.rng.below(3) {
            0 => None,
            _ => Some(self.rng.below(highest + 1)),
        };
        let modseq = highest + 1;
        let change = FlagChange {
            mailbox: key(mailbox),
            modseq,
            operation,
            flags,
            keywords: keywords.clone(),
            uids: uids.clone(),
            unchanged_since,
        };
        let Some(Outcome::Flags(outcome)) = self.apply(&Record::FlagChange(change)) else {
            panic!("a flag change has a flag outcome");
        };
        let model = self.model.get_mut(&mailbox).expect("mailbox");
        model.highest_modseq = modseq;
        let (mut changed, mut modified) = (Vec::new(), Vec::new());
        for range in &uids {
            for (uid, message) in model.messages.range_mut(range.first..=range.last) {
                if unchanged_since.is_some_and(|since| message.modseq > since) {
                    modified.push(*uid);
                    continue;
                }
                let given: BTreeSet<String> = keywords.iter().cloned().collect();
                let (new_flags, new_keywords) = match operation {
                    FlagOperation::Replace => (flags, given),
                    FlagOperation::Add => (
                        message.flags.union(flags),
                        message.keywords.union(&given).cloned().collect(),
                    ),
                    FlagOperation::Remove => (
                        message.flags.difference(flags),
                        message.keywords.difference(&given).cloned().collect(),
                    ),
                };
                if (new_flags, &new_keywords) != (message.flags, &message.keywords) {
                    message.flags = new_flags;
                    message.keywords = new_keywords;
                    message.modseq = modseq;
                    changed.push((*uid, new_flags));
                }
            }
        }
        assert_eq!(outcome.modseq, modseq);
        assert_eq!(outcome.modified, modified);
        let got: Vec<(Uid, SystemFlags)> = outcome
            .changed
            .iter()
            .map(|stored| (stored.uid, stored.flags))
            .collect();
        assert_eq!(got, changed);
    }

    fn copy(&mut self) {
        let source = self.mailbox();
        let target = self.mailbox();
        let moving = self.rng.below(2) == 0;
        let uids = normalize_ranges(&self.ranges(source));
        let save_date_secs = self.rng.below(1 << 40) as i64;
        let request = CopyRequest {
            source: key(source),
            target: key(target),
            uids: uids.clone(),
            save_date_secs,
            moving,
        };
        let taken: Vec<(Uid, Message)> = uids
            .iter()
            .flat_map(|range| self.model[&source].messages.range(range.first..=range.last))
            .map(|(uid, message)| (*uid, message.clone()))
            .collect();
        let prepared = copy::prepare(&mut self.state, request).expect("prepares");
        let record = match prepared {
            Prepared::Nothing(()) => {
                assert!(taken.is_empty());
                return;
            }
            Prepared::Append(record, ()) => record,
        };
        let Some(Outcome::Copy(pairs)) = self.apply(&record) else {
            panic!("a copy has a copy outcome");
        };
        let to = self.model.get_mut(&target).expect("target");
        let uid_first = to.uid_next;
        let modseq = to.highest_modseq + 1;
        to.highest_modseq = modseq;
        let mut expected = Vec::new();
        for (position, (uid, message)) in taken.iter().enumerate() {
            let new_uid = uid_first + position as u32;
            expected.push((*uid, new_uid));
            let copied = Message {
                modseq,
                save_date_secs: Some(save_date_secs),
                ..message.clone()
            };
            to.messages.insert(new_uid, copied);
        }
        to.uid_next = uid_first + taken.len() as u32;
        assert_eq!(pairs, expected);
        if moving {
            let from = self.model.get_mut(&source).expect("source");
            let moved = from.highest_modseq + 1;
            from.highest_modseq = moved;
            for (uid, _) in &taken {
                from.messages.remove(uid);
                from.expunges.push((moved, *uid));
            }
        }
    }

    fn expunge(&mut self) {
        let mailbox = self.mailbox();
        let uids = normalize_ranges(&self.ranges(mailbox));
        let model = self.model.get_mut(&mailbox).expect("mailbox");
        let modseq = model.highest_modseq + 1;
        model.highest_modseq = modseq;
        for range in &uids {
            let gone: Vec<Uid> = model
                .messages
                .range(range.first..=range.last)
                .map(|(uid, _)| *uid)
                .collect();
            for uid in gone {
                model.messages.remove(&uid);
                model.expunges.push((modseq, uid));
            }
        }
        self.apply(&Record::Expunge {
            mailbox: key(mailbox),
            modseq,
            uids,
        });
    }

    /// Replays the log twice: as written, and as compaction would leave it, with the commit
    /// record of every message no entry uses any more replaced by its tombstone. Both must
    /// come out the same, expunge history, keyword tables and counters included, with no
    /// ghost left. Returns how many tombstones the log had.
    fn replay_with_tombstones(&self) -> usize {
        let mut used = std::collections::HashSet::new();
        for account in self.state.accounts.values() {
            for mailbox in account.mailboxes.values() {
                for entry in mailbox.index.entries() {
                    used.insert((entry.commit_sequence, entry.commit_offset));
                }
            }
        }
        let (mut plain, mut compacted) = (State::default(), State::default());
        let mut tombstones = 0;
        for (location, record) in &self.log {
            plain.apply(*location, record).expect("fits as it did");
            let at = (location.sequence as u32, location.offset as u32);
            let record = match record {
                Record::MessageCommit(commit) if !used.contains(&at) => {
                    tombstones += 1;
                    Record::MessageTombstone(commit.clone().tombstone())
                }
                other => other.clone(),
            };
            compacted.apply(*location, &record).expect("fits as it did");
        }
        assert_eq!(compacted.remove_ghosts(), Vec::new());
        let (mut expected, mut got) = (Vec::new(), Vec::new());
        encode_state(&plain, &mut expected);
        encode_state(&compacted, &mut got);
        assert!(expected == got, "the replay with tombstones differs");
        tombstones
    }

    /// The state against the model: messages, counters, usage, expunge history.
    fn check(&mut self) {
        let mut messages_total = 0;
        for (number, model) in &self.model {
            let mailbox = self.state.mailbox(key(*number)).expect("mailbox");
            assert_eq!(mailbox.uid_next, model.uid_next);
            assert_eq!(mailbox.highest_modseq, model.highest_modseq);
            let got: BTreeMap<Uid, Message> = mailbox
                .index
                .entries()
                .iter()
                .map(|entry| {
                    let keywords = mailbox.keywords.names(entry.keyword_set);
                    let message = Message {
                        content: u64::from(entry.first_extent.offset) / 1000,
                        flags: entry.flags,
                        keywords: keywords.into_iter().map(str::to_owned).collect(),
                        modseq: entry.modseq,
                        save_date_secs: entry.save_date_secs(),
                    };
                    (entry.uid, message)
                })
                .collect();
            assert_eq!(got, model.messages, "mailbox {number}");
            messages_total += model.messages.len() as u64;
            let probe = self.rng.below(model.highest_modseq + 1);
            let ranges = mailbox
                .expunged_since(probe)
                .expect("the history bound is not reached here");
            let reported: BTreeSet<Uid> = ranges
                .iter()
                .flat_map(|range| range.first..=range.last)
                .collect();
            for (modseq, uid) in &model.expunges {
                assert!(
                    *modseq <= probe || reported.contains(uid),
                    "UID {uid} vanished"
                );
            }
            assert!(reported.iter().all(|uid| !model.messages.contains_key(uid)));
            assert!(reported.iter().all(|uid| *uid < model.uid_next));
        }
        let account = self.state.accounts.get(&ACCOUNT).expect("account");
        assert_eq!(account.usage_messages, messages_total);
        assert_eq!(account.usage_octets, messages_total * SIZE_OCTETS);
    }
}

#[test]
fn copies_moves_stores_and_expunges_match_a_model() {
    let mut tombstones = 0;
    for seed in 0..12 {
        let mut harness = Harness::new(seed);
        for _ in 0..400 {
            match harness.rng.below(10) {
                0..=3 => harness.commit(),
                4..=5 => harness.store(),
                6..=8 => harness.copy(),
                _ => harness.expunge(),
            }
            harness.check();
        }
        let mut body = Vec::new();
        encode_state(&harness.state, &mut body);
        harness.state = decode_state(&body).expect("checkpoint decodes");
        let mut again = Vec::new();
        encode_state(&harness.state, &mut again);
        assert_eq!(body, again, "seed {seed}");
        harness.check();
        tombstones += harness.replay_with_tombstones();
    }
    assert!(tombstones > 100, "{tombstones} tombstones");
}

/// The condition of a conditional STORE is checked when the record is applied: a change
/// applied between preparing and applying it makes it fail, as it must.
#[test]
fn a_store_applied_first_makes_a_later_conditional_store_fail() {
    let mut harness = Harness::new(99);
    harness.commit();
    let (mailbox, uid) = harness
        .model
        .iter()
        .find_map(|(number, model)| model.messages.keys().next().map(|uid| (*number, *uid)))
        .expect("a message");
    let seen_at = harness.model[&mailbox].messages[&uid].modseq;
    // No message has this keyword yet: the first store changes the message for sure.
    let change = |modseq, flags, unchanged_since| {
        Record::FlagChange(FlagChange {
            mailbox: key(mailbox),
            modseq,
            operation: FlagOperation::Replace,
            flags,
            keywords: vec!["fresh".into()],
            uids: vec![UidRange::one(uid)],
            unchanged_since,
        })
    };
    // Both prepared against MODSEQ `seen_at`; the unconditional one is applied first.
    harness.apply(&change(seen_at + 1, SystemFlags::FLAGGED, None));
    let Some(Outcome::Flags(outcome)) =
        harness.apply(&change(seen_at + 2, SystemFlags::SEEN, Some(seen_at)))
    else {
        panic!("flag outcome");
    };
    assert_eq!(outcome.modified, vec![uid]);
    assert!(outcome.changed.is_empty());
    let entry = harness
        .state
        .mailbox(key(mailbox))
        .and_then(|mailbox| mailbox.index.get(uid))
        .expect("entry");
    assert_eq!(
        (entry.flags, entry.modseq),
        (SystemFlags::FLAGGED, seen_at + 1)
    );
    // A store that changes nothing keeps the MODSEQ (RFC 7162 §3.1).
    let Some(Outcome::Flags(outcome)) =
        harness.apply(&change(seen_at + 3, SystemFlags::FLAGGED, None))
    else {
        panic!("flag outcome");
    };
    assert!(outcome.changed.is_empty() && outcome.modified.is_empty());
    let entry = harness
        .state
        .mailbox(key(mailbox))
        .and_then(|mailbox| mailbox.index.get(uid))
        .expect("entry");
    assert_eq!(entry.modseq, seen_at + 1);
}

/// A copy record takes only the messages still present, in UID order, up to its count, and
/// uses up its whole UID range either way; an expunge between preparing and applying it
/// shrinks it. A MOVE whose target is gone changes nothing.
#[test]
fn a_copy_takes_what_is_present_when_applied() {
    let mut harness = Harness::new(5);
    while harness.model[&1].messages.len() < 4 {
        harness.commit();
    }
    let uids: Vec<Uid> = harness.model[&1].messages.keys().copied().collect();
    let request = CopyRequest {
        source: key(1),
        target: key(2),
        uids: vec![UidRange {
            first: 1,
            last: u32::MAX,
        }],
        save_date_secs: 5,
        moving: false,
    };
    let Ok(Prepared::Append(record, ())) = copy::prepare(&mut harness.state, request) else {
        panic!("prepares a record");
    };
    let Record::MessageCopy(copy) = &record else {
        panic!("a copy record");
    };
    assert_eq!(
        copy.uids,
        vec![UidRange {
            first: 1,
            last: uids[3]
        }]
    );
    assert_eq!(copy.count, 4);
    let uid_first = copy.uid_first;
    // The second message goes first.
    let modseq = harness.model[&1].highest_modseq + 1;
    harness.model.get_mut(&1).expect("inbox").highest_modseq = modseq;
    harness.apply(&Record::Expunge {
        mailbox: key(1),
        modseq,
        uids: compact_ranges([uids[1]]),
    });
    let Some(Outcome::Copy(pairs)) = harness.apply(&record) else {
        panic!("copy outcome");
    };
    assert_eq!(
        pairs,
        vec![
            (uids[0], uid_first),
            (uids[2], uid_first + 1),
            (uids[3], uid_first + 2)
        ]
    );
    let archive = harness.state.mailbox(key(2)).expect("archive");
    assert_eq!(archive.uid_next, uid_first + 4);
    let gone = Record::MailboxDelete { mailbox: key(2) };
    harness.apply(&gone);
    let request = CopyRequest {
        source: key(1),
        target: key(1),
        uids: vec![UidRange::one(uids[0])],
        save_date_secs: 5,
        moving: true,
    };
    let Ok(Prepared::Append(Record::MessageCopy(mut copy), ())) =
        copy::prepare(&mut harness.state, request)
    else {
        panic!("prepares a record");
    };
    copy.target = key(2);
    let location = Location {
        sequence: 1,
        offset: 1 << 20,
    };
    let before = harness.state.mailbox(key(1)).expect("inbox").index.len();
    assert!(
        harness
            .state
            .apply(location, &Record::MessageCopy(copy))
            .is_err()
    );
    assert_eq!(
        harness.state.mailbox(key(1)).expect("inbox").index.len(),
        before
    );
}

/// A tombstone whose removal never comes (the record was lost to damage) leaves a ghost that
/// open removes as an anomaly at the tombstone's place: UIDNEXT and HIGHESTMODSEQ keep what
/// the tombstone gave them, usage goes back, and no client ever hears of the message.
#[test]
fn a_ghost_left_after_replay_is_removed_and_reported() {
    let mut harness = Harness::new(3);
    let commit = MessageCommit {
        mailbox: key(1),
        uid: 7,
        modseq: 9,
        internal_date_secs: 0,
        size_octets: 4000,
        flags: SystemFlags::SEEN,
        keywords: vec!["work".into()],
        ingest: 12,
        extents: Vec::new(),
        content_crc: 0,
        parse: Vec::new(),
        save_date_secs: Some(5),
        envelope: Vec::new(),
    };
    harness.apply(&Record::MessageTombstone(commit));
    let location = harness.log.last().map(|(location, _)| *location);
    let ghost = harness.state.mailbox(key(1)).and_then(|m| m.index.get(7));
    assert!(ghost.is_some_and(|entry| entry.ghost() && entry.unreadable()));
    let found = harness.state.remove_ghosts();
    assert_eq!(found.len(), 1);
    assert_eq!(Some(found[0].0), location);
    let mailbox = harness.state.mailbox(key(1)).expect("mailbox");
    assert!(mailbox.index.is_empty() && mailbox.expunged.since(0) == Some(Vec::new()));
    assert_eq!((mailbox.uid_next, mailbox.highest_modseq), (8, 9));
    let account = &harness.state.accounts[&ACCOUNT];
    assert_eq!((account.usage_octets, account.usage_messages), (0, 0));
    assert_eq!(harness.state.ingest_next, 13);
    assert!(harness.state.remove_ghosts().is_empty());
}
