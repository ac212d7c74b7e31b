//! The selected mailbox as one session knows it: its sequence numbers, what it has been told,
//! and the untagged updates (EXPUNGE/VANISHED, EXISTS, RECENT, FETCH FLAGS) that bring it up to
//! date with the store at the points the RFC allows.
//!
//! RFC 3501 §7.4.1 / RFC 9051 §7.5.1: an EXPUNGE response must not be sent while a FETCH,
//! STORE or SEARCH (by sequence number) runs, or the client's sequence numbers would shift
//! under it; EXISTS and flag updates may be sent at any time. Until expunges are reported the
//! expunged UIDs stay in the view as ghosts: their sequence numbers still count, and commands
//! skip them (RFC 2180 §4.1).

use super::response::write_flags;
use postern_storage::mailbox::Mailbox;
use postern_storage::{MailboxKey, Modseq, Uid, UidRange};

/// The extensions that change what updates look like.
#[derive(Debug, Clone, Copy, Default)]
pub struct Enabled {
    pub condstore: bool,
    pub qresync: bool,
    pub utf8: bool,
    pub imap4rev2: bool,
}

pub struct SelectedMailbox {
    pub key: MailboxKey,
    pub name: String,
    pub read_only: bool,
    /// Sequence number − 1 → UID, as this session knows the mailbox.
    uids: Vec<Uid>,
    /// Flag changes up to this MODSEQ have been reported (or were current at SELECT).
    modseq_reported: Modseq,
    /// UIDs this session holds \Recent for (RFC 3501 §2.3.2), as ranges.
    recent: Vec<UidRange>,
    /// Keywords defined in the mailbox when FLAGS was last sent.
    keywords_reported: usize,
    /// The mailbox's change generation last synchronised with.
    pub generation: u64,
    /// The mailbox was deleted or renamed away under the session.
    pub gone: bool,
}

/// Which updates a synchronisation may send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sync {
    /// After any command but FETCH, STORE and SEARCH: everything, expunges included.
    Full,
    /// During FETCH/STORE/SEARCH by sequence number: no expunges.
    NoExpunge,
}

impl SelectedMailbox {
    /// Opens the view on `mailbox` as it is now. `recent` is what the shard gave this session.
    pub fn open(
        mailbox: &Mailbox,
        name: String,
        read_only: bool,
        recent: Option<UidRange>,
    ) -> Self {
        SelectedMailbox {
            key: mailbox.key,
            name,
            read_only,
            uids: mailbox.index.entries().iter().map(|e| e.uid).collect(),
            modseq_reported: mailbox.highest_modseq,
            recent: recent.into_iter().collect(),
            keywords_reported: mailbox.keywords.all().count(),
            generation: mailbox.changes.generation(),
            gone: false,
        }
    }

    pub fn exists(&self) -> u32 {
        self.uids.len() as u32
    }

    pub fn uids(&self) -> &[Uid] {
        &self.uids
    }

    pub fn uid_at(&self, sequence: u32) -> Option<Uid> {
        self.uids.get(sequence.checked_sub(1)? as usize).copied()
    }

    /// The sequence number of `uid` in this view.
    pub fn sequence_of(&self, uid: Uid) -> Option<u32> {
        self.uids.binary_search(&uid).ok().map(|i| i as u32 + 1)
    }

    pub fn is_recent(&self, uid: Uid) -> bool {
        self.recent.iter().any(|range| range.contains(uid))
    }

    pub fn recent_count(&self) -> u32 {
        self.uids.iter().filter(|&&uid| self.is_recent(uid)).count() as u32
    }

    /// Our own write got `modseq` and the command reported its effects. If the session knew
    /// everything up to `highest_before` (the mailbox's HIGHESTMODSEQ as the write began) and
    /// no other write came between, it is now up to date with ours too; otherwise later
    /// updates report everything after what it was told (ours included, harmlessly).
    pub fn reported_own_write(&mut self, highest_before: Modseq, modseq: Modseq) {
        if self.modseq_reported == highest_before && modseq == highest_before + 1 {
            self.modseq_reported = modseq;
        }
    }

    pub fn modseq_reported(&self) -> Modseq {
        self.modseq_reported
    }

    /// Writes the updates that bring the session up to date with `mailbox`. `claim_recent` gives
    /// the new messages' \Recent range for this session (None when EXAMINEd).
    pub fn sync(
        &mut self,
        mailbox: &Mailbox,
        mode: Sync,
        enabled: Enabled,
        claim_recent: impl FnOnce(Uid) -> Option<UidRange>,
        out: &mut Vec<u8>,
    ) {
        self.generation = mailbox.changes.generation();
        let entries = mailbox.index.entries();
        let last_known = self.uids.last().copied().unwrap_or(0);
        let new_start = entries.partition_point(|e| e.uid <= last_known);
        // Every visible UID up to the last known one is in the view (UIDs become visible in
        // ascending order), so equal counts mean nothing was expunged.
        let expunged = self.uids.len() != new_start;
        if expunged && mode == Sync::Full {
            self.report_expunges(mailbox, enabled, out);
        }
        if new_start < entries.len() {
            self.uids.extend(entries[new_start..].iter().map(|e| e.uid));
            write_untagged_number(out, self.exists(), "EXISTS");
            if let Some(range) = claim_recent(entries[new_start].uid) {
                self.recent.push(range);
            }
            if !enabled.imap4rev2 {
                write_untagged_number(out, self.recent_count(), "RECENT");
            }
        }
        let keywords = mailbox.keywords.all().count();
        if keywords != self.keywords_reported {
            self.keywords_reported = keywords;
            write_flags_responses(mailbox, self.read_only, out);
        }
        if mailbox.highest_modseq > self.modseq_reported {
            self.report_flag_changes(mailbox, last_known, enabled, out);
            self.modseq_reported = mailbox.highest_modseq;
        }
    }

    /// Reports the UIDs of the view that are gone from the mailbox, and drops them.
    fn report_expunges(&mut self, mailbox: &Mailbox, enabled: Enabled, out: &mut Vec<u8>) {
        let mut vanished: Vec<Uid> = Vec::new();
        let mut kept = Vec::with_capacity(self.uids.len());
        for &uid in &self.uids {
            if mailbox.index.get(uid).is_some() {
                kept.push(uid);
                continue;
            }
            if enabled.qresync {
                vanished.push(uid);
            } else {
                // Each EXPUNGE renumbers what follows (RFC 3501 §7.4.1): reported in ascending
                // order, a message's number is one more than the messages kept before it.
                write_untagged_number(out, kept.len() as u32 + 1, "EXPUNGE");
            }
        }
        if !vanished.is_empty() {
            // RFC 7162 §3.2.10: with QRESYNC enabled, VANISHED replaces EXPUNGE.
            out.extend_from_slice(b"* VANISHED ");
            write_uid_set(out, &vanished);
            out.extend_from_slice(b"\r\n");
        }
        self.uids = kept;
        self.recent.retain(|range| range.first <= range.last);
    }

    fn report_flag_changes(
        &self,
        mailbox: &Mailbox,
        last_known: Uid,
        enabled: Enabled,
        out: &mut Vec<u8>,
    ) {
        for entry in mailbox.index.entries() {
            if entry.modseq <= self.modseq_reported || entry.uid > last_known {
                continue;
            }
            let Some(sequence) = self.sequence_of(entry.uid) else {
                continue;
            };
            write_fetch_flags(
                out,
                sequence,
                mailbox,
                entry,
                self.is_recent(entry.uid),
                enabled,
            );
        }
    }

    /// Drops expunged UIDs without reporting them (CLOSE: RFC 3501 §6.4.2 sends no EXPUNGE).
    pub fn forget_expunged(&mut self, mailbox: &Mailbox) {
        self.uids.retain(|&uid| mailbox.index.get(uid).is_some());
    }
}

/// `* n FETCH (FLAGS (...) [UID u] [MODSEQ (m)])` for a flag update.
pub fn write_fetch_flags(
    out: &mut Vec<u8>,
    sequence: u32,
    mailbox: &Mailbox,
    entry: &postern_storage::index::MessageEntry,
    recent: bool,
    enabled: Enabled,
) {
    out.extend_from_slice(format!("* {sequence} FETCH (").as_bytes());
    if enabled.condstore || enabled.qresync || enabled.imap4rev2 {
        // RFC 7162 §3.2.4 (once CONDSTORE is enabled on a server with QRESYNC) and RFC 9051
        // §7.5.2: unsolicited FETCH responses carry the UID.
        out.extend_from_slice(format!("UID {} ", entry.uid).as_bytes());
    }
    out.extend_from_slice(b"FLAGS ");
    write_flags(
        out,
        entry.flags,
        &mailbox.keywords.names(entry.keyword_set),
        recent && !enabled.imap4rev2,
    );
    if enabled.condstore {
        out.extend_from_slice(format!(" MODSEQ ({})", entry.modseq).as_bytes());
    }
    out.extend_from_slice(b")\r\n");
}

/// `* FLAGS` and `* OK [PERMANENTFLAGS]` (RFC 3501 §6.3.1) for the mailbox's keywords.
pub fn write_flags_responses(mailbox: &Mailbox, read_only: bool, out: &mut Vec<u8>) {
    let keywords: Vec<&str> = mailbox.keywords.all().collect();
    out.extend_from_slice(b"* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft");
    for keyword in &keywords {
        out.push(b' ');
        out.extend_from_slice(keyword.as_bytes());
    }
    out.extend_from_slice(b")\r\n");
    if read_only {
        out.extend_from_slice(b"* OK [PERMANENTFLAGS ()] Read-only mailbox\r\n");
        return;
    }
    out.extend_from_slice(b"* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft");
    for keyword in &keywords {
        out.push(b' ');
        out.extend_from_slice(keyword.as_bytes());
    }
    out.extend_from_slice(b" \\*)] Flags permitted\r\n");
}

pub fn write_untagged_number(out: &mut Vec<u8>, number: u32, name: &str) {
    out.extend_from_slice(format!("* {number} {name}\r\n").as_bytes());
}

/// Ascending UIDs as an IMAP sequence set with ranges (`1:3,7`).
pub fn write_uid_set(out: &mut Vec<u8>, uids: &[Uid]) {
    let mut first = true;
    let mut i = 0;
    while i < uids.len() {
        let start = uids[i];
        let mut end = start;
        while i + 1 < uids.len() && uids[i + 1] == end.wrapping_add(1) {
            i += 1;
            end = uids[i];
        }
        if !first {
            out.push(b',');
        }
        first = false;
        if start == end {
            out.extend_from_slice(start.to_string().as_bytes());
        } else {
            out.extend_from_slice(format!("{start}:{end}").as_bytes());
        }
        i += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uid_sets_fold_runs() {
        let mut out = Vec::new();
        write_uid_set(&mut out, &[1, 2, 3, 7, 9, 10]);
        assert_eq!(out, b"1:3,7,9:10");
    }
}
