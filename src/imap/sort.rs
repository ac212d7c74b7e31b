//! SORT and THREAD (RFC 5256), with the ESORT return options (RFC 5267 §3.2) and the MODSEQ
//! additions of CONDSTORE (RFC 7162 §3.1.9, §3.1.10).
//!
//! Messages are selected exactly as SEARCH selects them ([`Driver::search_matches`]); their
//! keys come from the index (ARRIVAL, SIZE) and from the MIME analysis stored with each message
//! (sent date, subject, addresses, Message-ID, References). Only the keys stay in memory, one
//! small record per message; sorting is O(n log n), threading O(n) apart from the sorts.
//!
//! - `subject`: the base subject (RFC 5256 §2.1), RFC 2047 decoding, the collation key.
//! - `thread`: ORDEREDSUBJECT and REFERENCES, and the THREAD response syntax.
//!
//! DISPLAYFROM and DISPLAYTO (RFC 5957) are answered BAD: not implemented. Messages stored
//! without a MIME analysis sort with empty header keys and their INTERNALDATE as sent date.

pub(super) mod subject;
mod thread;

use super::command::{SearchKey, SearchReturn, SortCriterion, SortKey, ThreadAlgorithm};
use super::driver::{Driver, SessionState};
use super::search::{mentions_modseq, return_options, write_esearch, write_numbers};
use super::selected::Sync;
use crate::mime::Analysis;
use postern_storage::{MailboxKey, Uid};
use std::cmp::Ordering;
use subject::{base_subject, collation_key};
use thread::{Forest, References, ThreadMessage, first_message_id, references, write_threads};

/// Charsets SORT and THREAD accept for their search strings (RFC 5256 §3: both MUST be
/// implemented). Strings are matched as octets, so both mean the same here.
const CHARSETS: [&str; 2] = ["UTF-8", "US-ASCII"];

/// One value a message sorts by. Within one criterion all messages have the same variant.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum SortValue {
    Number(i64),
    /// A collation key (see `subject::collation_key`).
    Text(Box<[u8]>),
}

/// A matched message and its keys, in the order of the criteria.
#[derive(Debug)]
struct SortRecord {
    sequence: u32,
    uid: Uid,
    modseq: u64,
    keys: Vec<SortValue>,
}

/// What the index and the stored analysis say about one message.
struct MessageFacts {
    size: u64,
    arrival: i64,
    analysis: Option<Analysis>,
}

impl MessageFacts {
    /// RFC 5256 §2.2: the Date field, or INTERNALDATE when it is missing or unreadable.
    fn sent_date(&self) -> i64 {
        self.analysis
            .as_ref()
            .and_then(Analysis::sent_date)
            .unwrap_or(self.arrival)
    }

    fn subject(&self) -> &[u8] {
        self.analysis
            .as_ref()
            .and_then(Analysis::subject)
            .unwrap_or_default()
    }

    fn key(&self, key: SortKey) -> SortValue {
        let text =
            |mailbox: Option<Vec<u8>>| SortValue::Text(collation_key(&mailbox.unwrap_or_default()));
        let analysis = self.analysis.as_ref();
        match key {
            SortKey::Arrival => SortValue::Number(self.arrival),
            SortKey::Size => SortValue::Number(i64::try_from(self.size).unwrap_or(i64::MAX)),
            SortKey::Date => SortValue::Number(self.sent_date()),
            SortKey::Subject => SortValue::Text(collation_key(&base_subject(self.subject()).text)),
            // RFC 5256 §3: the addr-mailbox of the first address; empty when there is none.
            SortKey::From => text(analysis.and_then(Analysis::from_mailbox)),
            SortKey::To => text(analysis.and_then(Analysis::to_mailbox)),
            SortKey::Cc => text(analysis.and_then(Analysis::cc_mailbox)),
            SortKey::DisplayFrom | SortKey::DisplayTo => {
                unreachable!("DISPLAYFROM and DISPLAYTO are refused before sorting")
            }
        }
    }
}

fn needs_analysis(key: SortKey) -> bool {
    !matches!(key, SortKey::Arrival | SortKey::Size)
}

/// RFC 5256 §3: criteria in priority order, each possibly reversed, then the sequence number
/// (which REVERSE does not touch).
fn compare(criteria: &[SortCriterion], a: &SortRecord, b: &SortRecord) -> Ordering {
    for (index, criterion) in criteria.iter().enumerate() {
        let order = a.keys[index].cmp(&b.keys[index]);
        let order = if criterion.reverse {
            order.reverse()
        } else {
            order
        };
        if order != Ordering::Equal {
            return order;
        }
    }
    a.sequence.cmp(&b.sequence)
}

/// A list of numbers in the given order as a sequence set: ascending runs become ranges,
/// nothing else is reordered (RFC 5267 §3.2 ALL is in sort order; RFC 7162 example 20).
fn ordered_set_text(numbers: &[u32]) -> String {
    let mut text = String::new();
    let mut index = 0;
    while index < numbers.len() {
        let start = numbers[index];
        let mut end = start;
        while index + 1 < numbers.len() && Some(numbers[index + 1]) == end.checked_add(1) {
            index += 1;
            end = numbers[index];
        }
        if !text.is_empty() {
            text.push(',');
        }
        if start == end {
            text.push_str(&start.to_string());
        } else {
            text.push_str(&format!("{start}:{end}"));
        }
        index += 1;
    }
    text
}

impl Driver {
    /// RFC 5256 §3: only US-ASCII and UTF-8 search strings. True when `charset` is refused
    /// (the NO is written); the command dispatch calls this before `sort` and `thread`.
    pub(super) fn refuse_charset(&mut self, tag: &str, charset: &str) -> bool {
        if CHARSETS
            .iter()
            .any(|known| known.eq_ignore_ascii_case(charset))
        {
            return false;
        }
        let code = format!("BADCHARSET ({})", CHARSETS.join(" "));
        self.no(tag, Some(&code), "Charset not supported");
        true
    }

    pub(super) async fn sort(
        &mut self,
        tag: &str,
        by_uid: bool,
        criteria: &[SortCriterion],
        search: &SearchKey,
        returns: Option<&[SearchReturn]>,
    ) {
        if !matches!(self.state, SessionState::Selected(..)) {
            return;
        }
        if criteria
            .iter()
            .any(|c| matches!(c.key, SortKey::DisplayFrom | SortKey::DisplayTo))
        {
            return self.bad_in_state(tag, "DISPLAYFROM and DISPLAYTO are not supported");
        }
        let found = match self.search_matches(search).await {
            Ok(found) => found,
            Err(reason) => return self.bad_in_state(tag, reason),
        };
        let analysis = criteria.iter().any(|c| needs_analysis(c.key));
        let mut records = Vec::with_capacity(found.len());
        for &(sequence, uid, modseq) in &found {
            let facts = self.message_facts(uid, analysis).await;
            records.push(SortRecord {
                sequence,
                uid,
                modseq,
                keys: criteria.iter().map(|c| facts.key(c.key)).collect(),
            });
        }
        records.sort_unstable_by(|a, b| compare(criteria, a, b));
        self.write_sort_results(tag, by_uid, &records, returns, mentions_modseq(search));
        self.sync(Sync::NoExpunge);
        self.ok(tag, "SORT completed");
    }

    pub(super) async fn thread(
        &mut self,
        tag: &str,
        by_uid: bool,
        algorithm: ThreadAlgorithm,
        search: &SearchKey,
    ) {
        if !matches!(self.state, SessionState::Selected(..)) {
            return;
        }
        let found = match self.search_matches(search).await {
            Ok(found) => found,
            Err(reason) => return self.bad_in_state(tag, reason),
        };
        let mut ordered: Vec<ThreadMessage> = Vec::new();
        let mut threader = References::new();
        for &(sequence, uid, _) in &found {
            let facts = self.message_facts(uid, true).await;
            let subject = base_subject(facts.subject());
            let message = ThreadMessage {
                number: if by_uid { uid } else { sequence },
                date: facts.sent_date(),
                subject: collation_key(&subject.text),
                reply_or_forward: subject.reply_or_forward,
            };
            match algorithm {
                ThreadAlgorithm::OrderedSubject => ordered.push(message),
                ThreadAlgorithm::References => {
                    let analysis = facts.analysis.as_ref();
                    let id = analysis
                        .and_then(Analysis::message_id)
                        .and_then(first_message_id);
                    let references = references(
                        analysis.and_then(Analysis::references),
                        analysis.and_then(Analysis::in_reply_to),
                    );
                    threader.add(message, id.as_deref(), &references);
                }
            }
        }
        let forest: Forest = match algorithm {
            ThreadAlgorithm::OrderedSubject => thread::ordered_subject(ordered),
            ThreadAlgorithm::References => threader.finish(),
        };
        // RFC 5256 §4: `thread-data = "THREAD" [SP 1*thread-list]`.
        self.out.extend_from_slice(b"* THREAD");
        if !forest.roots.is_empty() {
            self.out.push(b' ');
            write_threads(&forest, &mut self.out);
        }
        self.out.extend_from_slice(b"\r\n");
        self.sync(Sync::NoExpunge);
        self.ok(tag, "THREAD completed");
    }

    /// Size and INTERNALDATE from the index, and the stored analysis when `analysis` is asked
    /// for. A message gone from the index or without a readable analysis gets empty facts.
    async fn message_facts(&self, uid: Uid, analysis: bool) -> MessageFacts {
        let SessionState::Selected(_, selected) = &self.state else {
            unreachable!("SORT and THREAD run in the selected state")
        };
        let key: MailboxKey = selected.key;
        let store = std::rc::Rc::clone(self.shard.state.mail.store());
        let (size, arrival) = {
            let state = store.state();
            state
                .mailbox(key)
                .and_then(|mailbox| mailbox.index.get(uid))
                .map_or((0, 0), |entry| {
                    (u64::from(entry.size_octets), entry.internal_date_secs)
                })
        };
        let analysis = if analysis {
            match store.read_commit(key, uid).await {
                Ok(commit) => Analysis::decode(&commit.parse).ok(),
                Err(_) => None,
            }
        } else {
            None
        };
        MessageFacts {
            size,
            arrival,
            analysis,
        }
    }

    /// `* SORT n n n [(MODSEQ m)]`, or with RETURN options an ESEARCH response (RFC 5267 §3.2).
    fn write_sort_results(
        &mut self,
        tag: &str,
        by_uid: bool,
        records: &[SortRecord],
        returns: Option<&[SearchReturn]>,
        modseq: bool,
    ) {
        let highest = records.iter().map(|r| r.modseq).max();
        let numbers: Vec<u32> = records
            .iter()
            .map(|r| if by_uid { r.uid } else { r.sequence })
            .collect();
        let Some(returns) = returns else {
            // RFC 7162 §3.1.9: with a MODSEQ criterion, the highest MODSEQ of a non-empty result.
            write_numbers(&mut self.out, "SORT", &numbers, highest.filter(|_| modseq));
            return;
        };
        let returns = return_options(returns);
        if returns.contains(&SearchReturn::Save)
            && let SessionState::Selected(account, _) = &mut self.state
        {
            // RFC 5182: the saved result is a set of messages; the sort order is not kept.
            let mut uids: Vec<Uid> = records.iter().map(|r| r.uid).collect();
            uids.sort_unstable();
            account.saved_search = uids;
        }
        // RFC 5182 §2.1: SAVE alone produces no ESEARCH response.
        if returns.iter().all(|r| *r == SearchReturn::Save) {
            return;
        }
        // RFC 5267 §3.2: MIN and MAX are the first and last messages in sort order, and ALL
        // keeps that order; RFC 7162 §3.1.10 for MODSEQ.
        let modseq = highest.filter(|_| modseq);
        write_esearch(
            &mut self.out,
            tag,
            by_uid,
            returns,
            &numbers,
            ordered_set_text,
            modseq,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(sequence: u32, keys: Vec<SortValue>) -> SortRecord {
        SortRecord {
            sequence,
            uid: sequence * 10,
            modseq: 1,
            keys,
        }
    }

    fn text(s: &str) -> SortValue {
        SortValue::Text(collation_key(s.as_bytes()))
    }

    #[test]
    fn criteria_in_priority_order_then_sequence() {
        let criteria = [
            SortCriterion {
                reverse: false,
                key: SortKey::Subject,
            },
            SortCriterion {
                reverse: true,
                key: SortKey::Date,
            },
        ];
        let mut records = [
            record(1, vec![text("b"), SortValue::Number(5)]),
            record(2, vec![text("A"), SortValue::Number(1)]),
            record(3, vec![text("a"), SortValue::Number(9)]),
            record(4, vec![text(""), SortValue::Number(0)]),
            record(5, vec![text("a"), SortValue::Number(1)]),
        ];
        records.sort_unstable_by(|a, b| compare(&criteria, a, b));
        let order: Vec<u32> = records.iter().map(|r| r.sequence).collect();
        // Empty first; "A" and "a" equal, the later date first; the tie by sequence number.
        assert_eq!(order, [4, 3, 2, 5, 1]);
    }

    #[test]
    fn reverse_leaves_the_sequence_tie_break_alone() {
        let criteria = [SortCriterion {
            reverse: true,
            key: SortKey::Size,
        }];
        let mut records = [
            record(1, vec![SortValue::Number(7)]),
            record(2, vec![SortValue::Number(9)]),
            record(3, vec![SortValue::Number(7)]),
        ];
        records.sort_unstable_by(|a, b| compare(&criteria, a, b));
        let order: Vec<u32> = records.iter().map(|r| r.sequence).collect();
        assert_eq!(order, [2, 1, 3]);
    }

    #[test]
    fn sort_ordered_sets_keep_the_order() {
        assert_eq!(ordered_set_text(&[5, 3, 2, 1]), "5,3,2,1");
        assert_eq!(ordered_set_text(&[4, 5, 6, 1, 2, 9]), "4:6,1:2,9");
        assert_eq!(ordered_set_text(&[u32::MAX, 1]), "4294967295,1");
        assert_eq!(ordered_set_text(&[]), "");
    }

    #[test]
    fn missing_analysis_gives_empty_keys_and_arrival_as_date() {
        let facts = MessageFacts {
            size: 42,
            arrival: 1_000,
            analysis: None,
        };
        assert_eq!(facts.key(SortKey::Date), SortValue::Number(1_000));
        assert_eq!(facts.key(SortKey::Size), SortValue::Number(42));
        assert_eq!(facts.key(SortKey::From), text(""));
        assert_eq!(facts.key(SortKey::Subject), text(""));
    }
}
