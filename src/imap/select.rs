//! Entering and leaving the selected state, and the commands that only make sense there:
//! SELECT, EXAMINE, CLOSE, UNSELECT (RFC 3691), CHECK, EXPUNGE and UID EXPUNGE (RFC 4315).

use super::command::{CommandBody, MailboxName, Qresync, SearchReturn, SequenceSet};
use super::driver::{Driver, Next, SessionState};
use super::qresync::reported_highest_modseq;
use super::selected::{SelectedMailbox, Sync, write_flags_responses, write_uid_set};
use postern_storage::{SystemFlags, Uid, UidRange};

impl Driver {
    pub(super) async fn execute_selected_command(&mut self, tag: &str, body: CommandBody) -> Next {
        match body {
            CommandBody::Select {
                mailbox,
                condstore,
                qresync,
            } => self.select(tag, &mailbox, false, condstore, qresync.as_ref()),
            CommandBody::Examine {
                mailbox,
                condstore,
                qresync,
            } => self.select(tag, &mailbox, true, condstore, qresync.as_ref()),
            body => {
                if !matches!(self.state, SessionState::Selected(..)) {
                    self.bad_in_state(tag, "No mailbox selected");
                    return Next::Continue;
                }
                return self.execute_in_mailbox(tag, body).await;
            }
        }
        Next::Continue
    }

    async fn execute_in_mailbox(&mut self, tag: &str, body: CommandBody) -> Next {
        match body {
            CommandBody::Check => {
                self.sync(Sync::Full);
                self.ok(tag, "CHECK completed");
            }
            CommandBody::Close => self.close_mailbox(tag, true).await,
            CommandBody::Unselect => self.close_mailbox(tag, false).await,
            CommandBody::Expunge => self.expunge(tag, None).await,
            CommandBody::UidExpunge(set) => self.expunge(tag, Some(set)).await,
            CommandBody::Fetch {
                uid,
                set,
                items,
                changed_since,
                vanished,
            } => {
                self.fetch(tag, uid, &set, &items, changed_since, vanished)
                    .await
            }
            CommandBody::Store {
                uid,
                set,
                unchanged_since,
                operation,
                silent,
                flags,
            } => {
                self.store(tag, uid, &set, unchanged_since, operation, silent, &flags)
                    .await
            }
            CommandBody::Copy { uid, set, mailbox } => {
                self.copy(tag, uid, &set, &mailbox, false).await
            }
            CommandBody::Move { uid, set, mailbox } => {
                self.copy(tag, uid, &set, &mailbox, true).await
            }
            CommandBody::Search {
                uid,
                charset,
                criteria,
                returns,
            } => {
                if charset
                    .as_deref()
                    .is_some_and(|c| self.refuse_charset(tag, c))
                {
                    return Next::Continue;
                }
                // RFC 9051 §6.4.4: an IMAP4rev2 SEARCH always answers with ESEARCH.
                let all: &[SearchReturn] = &[];
                let returns = returns
                    .as_deref()
                    .or(self.enabled().imap4rev2.then_some(all));
                self.search(tag, uid, &criteria, returns).await
            }
            CommandBody::Sort {
                uid,
                criteria,
                charset,
                search,
                returns,
            } => {
                if !self.refuse_charset(tag, &charset) {
                    self.sort(tag, uid, &criteria, &search, returns.as_deref())
                        .await
                }
            }
            CommandBody::Thread {
                uid,
                algorithm,
                charset,
                search,
            } => {
                if !self.refuse_charset(tag, &charset) {
                    self.thread(tag, uid, algorithm, &search).await
                }
            }
            _ => self.bad_in_state(tag, "Command not supported"),
        }
        Next::Continue
    }

    fn select(
        &mut self,
        tag: &str,
        mailbox: &MailboxName,
        read_only: bool,
        condstore: bool,
        qresync: Option<&Qresync>,
    ) {
        let Some(name) = self.mailbox_name(tag, mailbox) else {
            return;
        };
        if qresync.is_some() && !self.enabled().qresync {
            // RFC 7162 §3.2.5: QRESYNC parameters need ENABLE QRESYNC first.
            self.bad_in_state(tag, "ENABLE QRESYNC first");
            return;
        }
        let mut account = match std::mem::replace(&mut self.state, SessionState::Logout) {
            SessionState::Authenticated(account) => account,
            SessionState::Selected(account, _) => {
                // RFC 7162 §3.2.11 / RFC 9051 §6.3.2: the old mailbox is closed first; a server
                // that advertises CONDSTORE says so whatever the client enabled.
                self.out
                    .extend_from_slice(b"* OK [CLOSED] Previous mailbox closed\r\n");
                account
            }
            _ => unreachable!("SELECT runs logged in"),
        };
        // RFC 7162 §3.1: SELECT (CONDSTORE) enables CONDSTORE for the session.
        account.enabled.condstore |= condstore;
        // RFC 5182 §2.1: SELECT and EXAMINE reset the saved search result.
        account.saved_search.clear();
        let mail = &self.shard.state.mail;
        let store = mail.store();
        let Some(key) = store.mailbox_by_name(account.key, &name) else {
            self.state = SessionState::Authenticated(account);
            self.no(tag, Some("NONEXISTENT"), "No such mailbox");
            return;
        };
        let recent = if read_only {
            None
        } else {
            mail.claim_recent(key, 1)
        };
        let state = store.state();
        let Some(mailbox) = state.mailbox(key) else {
            drop(state);
            self.state = SessionState::Authenticated(account);
            self.no(tag, Some("NONEXISTENT"), "No such mailbox");
            return;
        };
        let selected = SelectedMailbox::open(mailbox, name, read_only, recent);
        let out = &mut self.out;
        write_flags_responses(mailbox, read_only, out);
        out.extend_from_slice(format!("* {} EXISTS\r\n", selected.exists()).as_bytes());
        if !account.enabled.imap4rev2 {
            out.extend_from_slice(format!("* {} RECENT\r\n", selected.recent_count()).as_bytes());
            let unseen = mailbox
                .index
                .entries()
                .iter()
                .position(|e| !e.flags.contains(SystemFlags::SEEN));
            if let Some(position) = unseen {
                out.extend_from_slice(
                    format!("* OK [UNSEEN {}] First unseen\r\n", position + 1).as_bytes(),
                );
            }
        }
        out.extend_from_slice(
            format!("* OK [UIDVALIDITY {}] UIDs valid\r\n", mailbox.uid_validity).as_bytes(),
        );
        out.extend_from_slice(
            format!("* OK [UIDNEXT {}] Predicted next UID\r\n", mailbox.uid_next).as_bytes(),
        );
        if account.enabled.condstore {
            out.extend_from_slice(
                format!(
                    "* OK [HIGHESTMODSEQ {}] Highest\r\n",
                    reported_highest_modseq(mailbox)
                )
                .as_bytes(),
            );
        }
        out.extend_from_slice(
            format!(
                "* OK [MAILBOXID ({})] Ok\r\n",
                super::mailboxes::mailbox_id(mailbox.key)
            )
            .as_bytes(),
        );
        if account.enabled.imap4rev2 {
            // RFC 9051 §6.3.2: SELECT returns the mailbox's LIST response.
            out.extend_from_slice(b"* LIST () \"/\" ");
            super::command::encode_mailbox_name(&selected.name, true, out);
            out.extend_from_slice(b"\r\n");
        }
        drop(state);
        let (code, verb) = if read_only {
            ("READ-ONLY", "EXAMINE")
        } else {
            ("READ-WRITE", "SELECT")
        };
        self.state = SessionState::Selected(account, selected);
        if let Some(qresync) = qresync {
            self.qresync_select(qresync);
        }
        self.no_or_ok_code(tag, code, &format!("{verb} completed"));
    }

    fn no_or_ok_code(&mut self, tag: &str, code: &str, text: &str) {
        super::response::write_status(
            &mut self.out,
            tag,
            super::response::Status::Ok,
            Some(code),
            text,
        );
    }

    /// CLOSE expunges silently (RFC 3501 §6.4.2); UNSELECT doesn't expunge at all.
    async fn close_mailbox(&mut self, tag: &str, expunge: bool) {
        let SessionState::Selected(_, selected) = &self.state else {
            return;
        };
        let (key, read_only) = (selected.key, selected.read_only);
        if expunge && !read_only {
            let deleted = self.deleted_uids(None);
            if !deleted.is_empty() {
                let store = std::rc::Rc::clone(self.shard.state.mail.store());
                if let Err(error) = store.expunge(key, &deleted).await {
                    // The mailbox stays selected: nothing was closed.
                    return self.store_failed(tag, &error);
                }
            }
        }
        self.state = match std::mem::replace(&mut self.state, SessionState::Logout) {
            SessionState::Selected(account, _) => SessionState::Authenticated(account),
            other => other,
        };
        self.ok(
            tag,
            if expunge {
                "CLOSE completed"
            } else {
                "UNSELECT completed"
            },
        );
    }

    /// The UIDs in the view flagged \Deleted (and in `within`, for UID EXPUNGE), as ranges.
    fn deleted_uids(&self, within: Option<&[UidRange]>) -> Vec<UidRange> {
        let SessionState::Selected(_, selected) = &self.state else {
            return Vec::new();
        };
        let store = self.shard.state.mail.store();
        let state = store.state();
        let Some(mailbox) = state.mailbox(selected.key) else {
            return Vec::new();
        };
        let uids: Vec<Uid> = selected
            .uids()
            .iter()
            .copied()
            .filter(|uid| within.is_none_or(|ranges| ranges.iter().any(|r| r.contains(*uid))))
            .filter(|uid| {
                mailbox
                    .index
                    .get(*uid)
                    .is_some_and(|e| e.flags.contains(SystemFlags::DELETED))
            })
            .collect();
        uid_ranges(&uids)
    }

    async fn expunge(&mut self, tag: &str, set: Option<SequenceSet>) {
        let SessionState::Selected(_, selected) = &self.state else {
            return;
        };
        if selected.read_only {
            self.no(tag, Some("READ-ONLY"), "Mailbox is read-only");
            return;
        }
        let key = selected.key;
        let within = match &set {
            None => None,
            Some(set) => match self.resolve_uids(set) {
                Ok(uids) => Some(uid_ranges(&uids)),
                Err(reason) => {
                    self.bad_in_state(tag, reason);
                    return;
                }
            },
        };
        let deleted = self.deleted_uids(within.as_deref());
        let store = std::rc::Rc::clone(self.shard.state.mail.store());
        if !deleted.is_empty()
            && let Err(error) = store.expunge(key, &deleted).await
        {
            return self.store_failed(tag, &error);
        }
        self.sync(Sync::Full);
        if !deleted.is_empty() && self.enabled().qresync {
            // RFC 7162 §3.2.7, §3.2.9: after expunges, the tagged OK tells HIGHESTMODSEQ.
            let highest = store
                .state()
                .mailbox(key)
                .map_or(1, reported_highest_modseq);
            let code = format!("HIGHESTMODSEQ {highest}");
            self.no_or_ok_code(tag, &code, "EXPUNGE completed");
            return;
        }
        self.ok(tag, "EXPUNGE completed");
    }
}

/// Ascending UIDs → the fewest inclusive ranges.
pub fn uid_ranges(uids: &[Uid]) -> Vec<UidRange> {
    UidRange::fold(uids.iter().copied())
}

/// `1:3,7` for a list of ascending UIDs (COPYUID, SEARCH results).
pub fn uid_set_text(uids: &[Uid]) -> String {
    let mut out = Vec::new();
    write_uid_set(&mut out, uids);
    String::from_utf8(out).unwrap_or_default()
}
