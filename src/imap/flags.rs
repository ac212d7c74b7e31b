//! STORE (RFC 3501 §6.4.6) and the conversion of flag lists for STORE and APPEND.

use super::command::{Flag, SequenceSet, StoreOperation};
use super::driver::{Driver, SessionState};
use super::response::{Status, write_status};
use super::select::{uid_ranges, uid_set_text};
use super::selected::{Sync, write_fetch_flags};
use postern_storage::mailbox::Mailbox;
use postern_storage::{FlagOperation, SystemFlags, Uid};

/// System flags and keywords of a flag list. Keywords compare case-insensitively (RFC 9051
/// §2.3.2): one the mailbox already knows keeps the mailbox's spelling.
pub fn split_flags(
    flags: &[Flag],
    mailbox: Option<&Mailbox>,
) -> Result<(SystemFlags, Vec<String>), &'static str> {
    let mut system = SystemFlags::default();
    let mut keywords: Vec<String> = Vec::new();
    for flag in flags {
        let bit = match flag {
            Flag::Seen => SystemFlags::SEEN,
            Flag::Answered => SystemFlags::ANSWERED,
            Flag::Flagged => SystemFlags::FLAGGED,
            Flag::Deleted => SystemFlags::DELETED,
            Flag::Draft => SystemFlags::DRAFT,
            Flag::Recent => return Err("\\Recent can't be set by clients"),
            Flag::Keyword(keyword) => {
                let known = mailbox.and_then(|m| {
                    m.keywords
                        .all()
                        .find(|k| k.eq_ignore_ascii_case(keyword))
                        .map(str::to_string)
                });
                let keyword = known.unwrap_or_else(|| keyword.clone());
                if !keywords.iter().any(|k| k.eq_ignore_ascii_case(&keyword)) {
                    keywords.push(keyword);
                }
                continue;
            }
        };
        system = system.union(bit);
    }
    Ok((system, keywords))
}

impl Driver {
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn store(
        &mut self,
        tag: &str,
        by_uid: bool,
        set: &SequenceSet,
        unchanged_since: Option<u64>,
        operation: StoreOperation,
        silent: bool,
        flags: &[Flag],
    ) {
        let SessionState::Selected(_, selected) = &self.state else {
            return;
        };
        if selected.read_only {
            self.no(tag, Some("READ-ONLY"), "Mailbox is read-only");
            return;
        }
        let key = selected.key;
        // RFC 7162 §3.1: UNCHANGEDSINCE enables CONDSTORE for the session.
        if unchanged_since.is_some() {
            self.enable_condstore();
        }
        let messages = match self.resolve(set, by_uid) {
            Ok(messages) => messages,
            Err(reason) => return self.bad_in_state(tag, reason),
        };
        let store = std::rc::Rc::clone(self.shard.state.mail.store());
        let split = {
            let state = store.state();
            split_flags(flags, state.mailbox(key))
        };
        let (system, keywords) = match split {
            Ok(split) => split,
            Err(reason) => return self.bad_in_state(tag, reason),
        };
        let uids: Vec<_> = messages.iter().map(|&(_, uid)| uid).collect();
        let ranges = uid_ranges(&uids);
        let mut changed: Vec<Uid> = Vec::new();
        let mut modified: Vec<Uid> = Vec::new();
        if !ranges.is_empty() {
            let operation = match operation {
                StoreOperation::Replace => FlagOperation::Replace,
                StoreOperation::Add => FlagOperation::Add,
                StoreOperation::Remove => FlagOperation::Remove,
            };
            let before = store.status(key).map_or(0, |s| s.highest_modseq);
            match store
                .store_flags_if(key, &ranges, operation, system, &keywords, unchanged_since)
                .await
            {
                Ok((outcome, _durable)) => {
                    changed = outcome.changed.iter().map(|c| c.uid).collect();
                    modified = outcome.modified;
                    if let SessionState::Selected(_, selected) = &mut self.state {
                        selected.reported_own_write(before, outcome.modseq);
                    }
                }
                Err(error) => return self.store_failed(tag, &error),
            }
        }
        // Other sessions' changes first, then ours with the flags as they now are.
        self.sync(Sync::NoExpunge);
        let condstore = self.enabled().condstore;
        if !silent {
            let reported: Vec<(u32, Uid)> = messages
                .iter()
                .copied()
                .filter(|(_, uid)| modified.binary_search(uid).is_err())
                .collect();
            self.write_flags_of(&reported, by_uid);
        } else if condstore {
            // RFC 7162 §3.1.3: even with .SILENT, changed messages get their new MODSEQ.
            self.write_modseqs_of(&messages, &changed, by_uid);
        }
        if modified.is_empty() {
            self.ok(tag, "STORE completed");
            return;
        }
        let numbers: Vec<u32> = messages
            .iter()
            .filter(|(_, uid)| modified.binary_search(uid).is_ok())
            .map(|&(sequence, uid)| if by_uid { uid } else { sequence })
            .collect();
        let code = format!("MODIFIED {}", uid_set_text(&numbers));
        write_status(
            &mut self.out,
            tag,
            Status::Ok,
            Some(&code),
            "Conditional STORE failed",
        );
    }

    /// `* n FETCH ([UID u ]MODSEQ (m))` for the messages in `changed`.
    fn write_modseqs_of(&mut self, messages: &[(u32, Uid)], changed: &[Uid], by_uid: bool) {
        let SessionState::Selected(account, selected) = &self.state else {
            return;
        };
        let with_uid = by_uid || account.enabled.condstore || account.enabled.qresync;
        let store = self.shard.state.mail.store();
        let state = store.state();
        let Some(mailbox) = state.mailbox(selected.key) else {
            return;
        };
        for &(sequence, uid) in messages {
            let Some(entry) = mailbox.index.get(uid) else {
                continue;
            };
            if changed.binary_search(&uid).is_err() {
                continue;
            }
            let line = if with_uid {
                format!(
                    "* {sequence} FETCH (UID {uid} MODSEQ ({}))\r\n",
                    entry.modseq
                )
            } else {
                format!("* {sequence} FETCH (MODSEQ ({}))\r\n", entry.modseq)
            };
            self.out.extend_from_slice(line.as_bytes());
        }
    }

    /// `* n FETCH (FLAGS ...)` for each message still present.
    fn write_flags_of(&mut self, messages: &[(u32, postern_storage::Uid)], by_uid: bool) {
        let SessionState::Selected(account, selected) = &self.state else {
            return;
        };
        let mut enabled = account.enabled;
        // RFC 3501 §6.4.8: UID STORE's FETCH responses carry the UID.
        enabled.qresync |= by_uid;
        let store = self.shard.state.mail.store();
        let state = store.state();
        let Some(mailbox) = state.mailbox(selected.key) else {
            return;
        };
        for &(sequence, uid) in messages {
            if let Some(entry) = mailbox.index.get(uid) {
                write_fetch_flags(
                    &mut self.out,
                    sequence,
                    mailbox,
                    entry,
                    selected.is_recent(uid),
                    enabled,
                );
            }
        }
    }
}
