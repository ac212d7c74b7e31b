//! Per-mailbox history of expunged UIDs, for QRESYNC `VANISHED (EARLIER)` (RFC 7162 §3.2.10):
//! a client names the MODSEQ it last saw and the server reports the UIDs expunged since.
//!
//! Each expunge (EXPUNGE, MOVE) adds its UID ranges with its MODSEQ. At most
//! `EXPUNGE_HISTORY_RANGES_MAX` ranges are kept per mailbox; when more arrive the oldest are
//! forgotten and the history is complete only from the newest forgotten MODSEQ on. Ranges
//! may also cover UIDs that were already gone when they were recorded (never present, or
//! expunged earlier): RFC 7162 lets `VANISHED (EARLIER)` name such UIDs, and merging across
//! them keeps the history short. A range never covers a message that is present.
//!
//! The history is rebuilt by replay (expunge and move records) and carried in checkpoints,
//! so compaction — which keeps every metadata record today — cannot lose it either way.

use crate::codec::{Malformed, Reader, Writer};
use crate::ids::{Modseq, UidRange};
use crate::limits::EXPUNGE_HISTORY_RANGES_MAX;
use std::collections::VecDeque;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExpungeHistory {
    /// Every expunge with a MODSEQ above this is in `ranges`.
    complete_since: Modseq,
    /// Expunged ranges with their MODSEQ, in log order (MODSEQs ascending).
    ranges: VecDeque<(Modseq, UidRange)>,
}

impl ExpungeHistory {
    /// A history that knows nothing before `modseq` (a mailbox restored from a checkpoint
    /// written before histories were kept, or after damage in the log).
    pub(crate) fn starting_at(modseq: Modseq) -> Self {
        Self {
            complete_since: modseq,
            ranges: VecDeque::new(),
        }
    }

    /// Records an expunge; `ranges` ascending. Forgets the oldest ranges past the bound.
    pub(crate) fn record(&mut self, modseq: Modseq, ranges: &[UidRange]) {
        assert!(
            self.ranges.back().is_none_or(|(last, _)| *last <= modseq) && modseq > 0,
            "expunge MODSEQs ascend"
        );
        for range in ranges {
            self.ranges.push_back((modseq, *range));
        }
        if self.ranges.len() > EXPUNGE_HISTORY_RANGES_MAX {
            let excess = self.ranges.len() - EXPUNGE_HISTORY_RANGES_MAX;
            if let Some((forgotten, _)) = self.ranges.get(excess - 1) {
                // The rest of that expunge can never be asked for either.
                self.forget_through(*forgotten);
            }
        }
    }

    /// Forgets everything at or below `modseq` (after damage: records may be lost).
    pub(crate) fn forget_through(&mut self, modseq: Modseq) {
        self.complete_since = self.complete_since.max(modseq);
        while self
            .ranges
            .front()
            .is_some_and(|(expunged, _)| *expunged <= modseq)
        {
            self.ranges.pop_front();
        }
    }

    /// UIDs expunged with a MODSEQ above `modseq`, as ascending disjoint ranges (possibly
    /// with UIDs that were already gone, never with one that is present). `None` when the
    /// history does not reach back that far: the caller then reports every UID it cannot
    /// show to exist (RFC 7162 §3.2.10 allows that).
    pub fn since(&self, modseq: Modseq) -> Option<Vec<UidRange>> {
        if modseq < self.complete_since {
            return None;
        }
        let start = self
            .ranges
            .partition_point(|(expunged, _)| *expunged <= modseq);
        let mut ranges: Vec<UidRange> = self.ranges.range(start..).map(|(_, r)| *r).collect();
        ranges.sort_unstable_by_key(|range| range.first);
        let mut merged: Vec<UidRange> = Vec::with_capacity(ranges.len());
        for range in ranges {
            match merged.last_mut() {
                Some(last) if u64::from(range.first) <= u64::from(last.last) + 1 => {
                    last.last = last.last.max(range.last);
                }
                _ => merged.push(range),
            }
        }
        Some(merged)
    }

    /// The history holds every expunge with a MODSEQ above this.
    pub fn complete_since(&self) -> Modseq {
        self.complete_since
    }

    /// Ranges kept (at most `EXPUNGE_HISTORY_RANGES_MAX`).
    pub fn len(&self) -> usize {
        self.ranges.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    pub(crate) fn encode(&self, writer: &mut Writer<'_>) {
        writer.u64(self.complete_since);
        writer.u32(self.ranges.len() as u32);
        for (modseq, range) in &self.ranges {
            writer.u64(*modseq);
            writer.u32(range.first);
            writer.u32(range.last);
        }
    }

    /// Decodes a history, checking what `record` keeps true: MODSEQs ascending, above
    /// `complete_since` and at most `highest_modseq`, ranges valid, the bound.
    pub(crate) fn decode(
        reader: &mut Reader<'_>,
        highest_modseq: Modseq,
    ) -> Result<Self, Malformed> {
        let complete_since = reader.u64("history complete since")?;
        let count = reader.count(EXPUNGE_HISTORY_RANGES_MAX, 16, "history ranges")?;
        let mut ranges = VecDeque::with_capacity(count);
        let mut previous = complete_since;
        for _ in 0..count {
            let modseq = reader.u64("history modseq")?;
            let range = UidRange {
                first: reader.u32("history first")?,
                last: reader.u32("history last")?,
            };
            if modseq <= complete_since
                || modseq < previous
                || range.first == 0
                || range.first > range.last
            {
                return Err(Malformed("expunge history"));
            }
            previous = modseq;
            ranges.push_back((modseq, range));
        }
        if complete_since > highest_modseq || previous > highest_modseq {
            return Err(Malformed("expunge history"));
        }
        Ok(Self {
            complete_since,
            ranges,
        })
    }
}

/// Ascending UIDs → the fewest inclusive ranges.
pub(crate) fn compact_ranges(uids: impl IntoIterator<Item = crate::ids::Uid>) -> Vec<UidRange> {
    UidRange::fold(uids)
}

/// Ranges sorted and merged where they overlap or touch: each UID once, in order.
pub(crate) fn normalize_ranges(ranges: &[UidRange]) -> Vec<UidRange> {
    let mut sorted = ranges.to_vec();
    sorted.sort_unstable_by_key(|range| range.first);
    let mut merged: Vec<UidRange> = Vec::with_capacity(sorted.len());
    for range in sorted {
        match merged.last_mut() {
            Some(last) if u64::from(range.first) <= u64::from(last.last) + 1 => {
                last.last = last.last.max(range.last);
            }
            _ => merged.push(range),
        }
    }
    merged
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::Uid;
    use crate::sim::Rng;
    use std::collections::BTreeSet;

    fn uids_of(ranges: &[UidRange]) -> BTreeSet<Uid> {
        ranges
            .iter()
            .flat_map(|range| range.first..=range.last)
            .collect()
    }

    /// Against a model that remembers every expunge: within the bound the answer is exact;
    /// past it, `None` exactly for MODSEQs before the newest forgotten one.
    #[test]
    fn history_matches_a_model_and_forgets_only_past_its_bound() {
        for seed in 0..10 {
            let mut rng = Rng::new(seed);
            let mut history = ExpungeHistory::default();
            let mut model: Vec<(Modseq, Uid)> = Vec::new();
            let mut modseq = 0;
            let mut uid_next: Uid = 1;
            for _ in 0..3000 {
                modseq += 1 + rng.below(3);
                let mut uids = Vec::new();
                for _ in 0..=rng.below(3) {
                    uid_next += 1 + rng.below(4) as u32;
                    uids.push(uid_next);
                }
                model.extend(uids.iter().map(|uid| (modseq, *uid)));
                history.record(modseq, &compact_ranges(uids));
                assert!(history.len() <= EXPUNGE_HISTORY_RANGES_MAX);
                let probe = rng.below(modseq + 2);
                let expected: BTreeSet<Uid> = model
                    .iter()
                    .filter(|(expunged, _)| *expunged > probe)
                    .map(|(_, uid)| *uid)
                    .collect();
                match history.since(probe) {
                    Some(ranges) => {
                        assert!(probe >= history.complete_since());
                        assert!(
                            ranges
                                .windows(2)
                                .all(|pair| pair[0].last + 1 < pair[1].first)
                        );
                        assert_eq!(uids_of(&ranges), expected, "seed {seed} since {probe}");
                    }
                    None => assert!(probe < history.complete_since()),
                }
            }
            assert!(history.complete_since() > 0, "the bound was reached");
            let mut bytes = Vec::new();
            history.encode(&mut Writer::new(&mut bytes));
            let decoded = ExpungeHistory::decode(&mut Reader::new(&bytes), modseq).expect("ok");
            assert_eq!(decoded, history);
            assert!(ExpungeHistory::decode(&mut Reader::new(&bytes), modseq - 1).is_err());
        }
    }

    #[test]
    fn forgetting_after_damage_answers_none_before_it() {
        let mut history = ExpungeHistory::default();
        history.record(3, &[UidRange { first: 1, last: 2 }]);
        history.record(7, &[UidRange::one(5)]);
        assert_eq!(
            history.since(0),
            Some(vec![UidRange { first: 1, last: 2 }, UidRange::one(5)])
        );
        history.forget_through(5);
        assert_eq!(history.since(4), None);
        assert_eq!(history.since(5), Some(vec![UidRange::one(5)]));
        assert_eq!(history.since(7), Some(Vec::new()));
    }

    #[test]
    fn normalized_ranges_hold_each_uid_once() {
        let ranges = [
            UidRange { first: 5, last: 9 },
            UidRange { first: 1, last: 2 },
            UidRange { first: 3, last: 6 },
            UidRange::one(20),
            UidRange {
                first: 10,
                last: u32::MAX,
            },
        ];
        assert_eq!(
            normalize_ranges(&ranges),
            vec![UidRange {
                first: 1,
                last: u32::MAX
            }]
        );
        assert_eq!(compact_ranges([1, 2, 4, u32::MAX]).len(), 3);
    }
}
