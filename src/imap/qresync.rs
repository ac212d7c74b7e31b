//! CONDSTORE and QRESYNC (RFC 7162): resynchronising a client from a MODSEQ it knows, with
//! `SELECT ... (QRESYNC (...))` and `UID FETCH ... (CHANGEDSINCE m VANISHED)`.

use super::command::{Qresync, SequenceSet};
use super::driver::{Driver, SessionState};
use super::selected::{Enabled, write_fetch_flags, write_uid_set};
use postern_storage::mailbox::Mailbox;
use postern_storage::{Modseq, Uid};

/// A mailbox's HIGHESTMODSEQ as IMAP reports it. RFC 7162 §7: the value is at least 1 (0 would
/// mean "no mod-sequences"); the store gives a mailbox's first change MODSEQ 2, so an unchanged
/// mailbox's 0 becomes 1.
pub fn reported_highest_modseq(mailbox: &Mailbox) -> Modseq {
    mailbox.highest_modseq.max(1)
}

/// The inclusive UID ranges a set names, `*` standing for `largest` (UIDs need not exist).
pub fn set_ranges(set: &SequenceSet, largest: Uid) -> Vec<(Uid, Uid)> {
    let mut ranges: Vec<(Uid, Uid)> = set
        .ranges()
        .unwrap_or(&[])
        .iter()
        .map(|range| range.bounds(largest))
        .collect();
    ranges.sort_unstable();
    ranges
}

/// The UIDs of `within` that were expunged after `modseq`: from the mailbox's expunge history
/// when it reaches back that far, otherwise every UID below UIDNEXT that is not present
/// (RFC 7162 §3.2.10 lets VANISHED (EARLIER) name UIDs the client never saw).
pub fn vanished_since(mailbox: &Mailbox, modseq: Modseq, within: &[(Uid, Uid)]) -> Vec<Uid> {
    let mut uids = Vec::new();
    let top = mailbox.uid_next.saturating_sub(1);
    match mailbox.expunged_since(modseq) {
        Some(expunged) => {
            for range in &expunged {
                for &(low, high) in within {
                    let first = range.first.max(low);
                    let last = range.last.min(high).min(top);
                    if first <= last {
                        uids.extend(first..=last);
                    }
                }
            }
        }
        None => {
            let entries = mailbox.index.entries();
            for &(low, high) in within {
                let high = high.min(top);
                let mut next = low;
                let start = entries.partition_point(|e| e.uid < low);
                for entry in entries[start..].iter().take_while(|e| e.uid <= high) {
                    uids.extend(next..entry.uid);
                    next = entry.uid + 1;
                }
                if next <= high {
                    uids.extend(next..=high);
                }
            }
        }
    }
    uids.sort_unstable();
    uids.dedup();
    uids
}

/// `* VANISHED (EARLIER) set` when there is anything to say.
pub fn write_vanished_earlier(out: &mut Vec<u8>, uids: &[Uid]) {
    if uids.is_empty() {
        return;
    }
    out.extend_from_slice(b"* VANISHED (EARLIER) ");
    write_uid_set(out, uids);
    out.extend_from_slice(b"\r\n");
}

impl Driver {
    /// RFC 7162 §3.1: a CONDSTORE enabling command. The first one with a mailbox selected
    /// tells the mailbox's HIGHESTMODSEQ before its own responses.
    pub(super) fn enable_condstore(&mut self) {
        let (SessionState::Authenticated(account) | SessionState::Selected(account, _)) =
            &mut self.state
        else {
            return;
        };
        if account.enabled.condstore {
            return;
        }
        account.enabled.condstore = true;
        if let SessionState::Selected(_, selected) = &self.state {
            let store = self.shard.state.mail.store();
            let highest = store
                .state()
                .mailbox(selected.key)
                .map_or(1, reported_highest_modseq);
            self.out.extend_from_slice(
                format!("* OK [HIGHESTMODSEQ {highest}] Highest\r\n").as_bytes(),
            );
        }
    }
    /// RFC 7162 §3.2.5: after SELECT's usual responses, what changed since the client's MODSEQ.
    pub(super) fn qresync_select(&mut self, qresync: &Qresync) {
        let SessionState::Selected(account, selected) = &self.state else {
            return;
        };
        let store = self.shard.state.mail.store();
        let state = store.state();
        let Some(mailbox) = state.mailbox(selected.key) else {
            return;
        };
        if mailbox.uid_validity != qresync.uid_validity {
            // "behave as if no dynamic message data changed".
            return;
        }
        let top = mailbox.uid_next.saturating_sub(1);
        let known = match &qresync.known_uids {
            Some(set) => set_ranges(set, top),
            None if top == 0 => Vec::new(),
            None => vec![(1, top)],
        };
        let vanished = vanished_since(mailbox, qresync.modseq, &known);
        write_vanished_earlier(&mut self.out, &vanished);
        let enabled = Enabled {
            qresync: true,
            condstore: true,
            ..account.enabled
        };
        for entry in mailbox.index.entries() {
            if entry.modseq <= qresync.modseq
                || !known
                    .iter()
                    .any(|&(low, high)| (low..=high).contains(&entry.uid))
            {
                continue;
            }
            if let Some(sequence) = selected.sequence_of(entry.uid) {
                let recent = selected.is_recent(entry.uid);
                write_fetch_flags(&mut self.out, sequence, mailbox, entry, recent, enabled);
            }
        }
    }

    /// `UID FETCH set (...) (CHANGEDSINCE m VANISHED)`: the UIDs of `set` expunged since `m`.
    pub(super) fn fetch_vanished(&mut self, set: &SequenceSet, modseq: Modseq) {
        let SessionState::Selected(_, selected) = &self.state else {
            return;
        };
        let store = self.shard.state.mail.store();
        let state = store.state();
        let Some(mailbox) = state.mailbox(selected.key) else {
            return;
        };
        let within = set_ranges(set, mailbox.uid_next.saturating_sub(1));
        let vanished = vanished_since(mailbox, modseq, &within);
        let mut out = std::mem::take(&mut self.out);
        write_vanished_earlier(&mut out, &vanished);
        drop(state);
        self.out = out;
    }
}
