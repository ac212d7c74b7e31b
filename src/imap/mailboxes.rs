//! Mailbox commands of the authenticated state: CREATE, DELETE, RENAME, SUBSCRIBE,
//! UNSUBSCRIBE, LIST (with RFC 5258 LIST-EXTENDED, RFC 5819 LIST-STATUS, RFC 6154 SPECIAL-USE,
//! RFC 3348 CHILDREN), LSUB and STATUS (RFC 3501 §6.3, RFC 8438 STATUS=SIZE).

use super::command::{
    CommandBody, ListReturn, ListSelection, MailboxName, StatusItem, encode_mailbox_name,
};
use super::driver::{Driver, Next, SessionState};
use super::qresync::reported_highest_modseq;
use super::selected::Enabled;
use crate::mailstore::INBOX;
use postern_storage::mailbox::Mailbox;
use postern_storage::{AccountKey, SpecialUse, StoreError, SystemFlags};
use std::collections::{BTreeMap, BTreeSet};

pub const DELIMITER: char = '/';
/// LIST patterns longer than this are refused (matching costs pattern × name).
pub const PATTERN_OCTETS_MAX: usize = 256;

/// RFC 3501 §6.3.8: `*` matches anything, `%` anything but the hierarchy delimiter.
pub fn pattern_matches(pattern: &[u8], name: &[u8]) -> bool {
    // Dynamic programming over (pattern position, name position): O(pattern × name), no
    // backtracking blow-up on hostile patterns.
    let mut row = vec![false; name.len() + 1];
    row[0] = true;
    for &p in pattern {
        let mut next = vec![false; name.len() + 1];
        match p {
            b'*' => {
                let mut reachable = false;
                for j in 0..=name.len() {
                    reachable |= row[j];
                    next[j] = reachable;
                }
            }
            b'%' => {
                let mut reachable = false;
                for j in 0..=name.len() {
                    reachable |= row[j];
                    next[j] = reachable;
                    if j < name.len() && name[j] == DELIMITER as u8 {
                        reachable = false;
                    }
                }
            }
            literal => {
                for j in 0..name.len() {
                    next[j + 1] = row[j] && name[j] == literal;
                }
            }
        }
        row = next;
    }
    row[name.len()]
}

/// "inbox", "Inbox/…" → "INBOX…": INBOX is case-insensitive (RFC 3501 §5.1).
fn canonical_inbox(pattern: String) -> String {
    let bytes = pattern.as_bytes();
    if bytes.len() >= 5
        && bytes[..5].eq_ignore_ascii_case(b"INBOX")
        && (bytes.len() == 5 || bytes[5] == DELIMITER as u8)
    {
        return format!("{INBOX}{}", &pattern[5..]);
    }
    pattern
}

struct Listed {
    name: String,
    /// RFC 5258 §3.5 CHILDINFO ("SUBSCRIBED"): a name below it is subscribed.
    childinfo: bool,
    special_use: Option<SpecialUse>,
    exists: bool,
    subscribed: bool,
    has_children: bool,
}

impl Driver {
    pub(super) async fn execute_mailbox_command(&mut self, tag: &str, body: CommandBody) -> Next {
        if !self.require_authenticated(tag) {
            return Next::Continue;
        }
        match body {
            CommandBody::Create {
                mailbox,
                special_use,
            } => self.create(tag, &mailbox, &special_use).await,
            CommandBody::Delete { mailbox } => self.delete(tag, &mailbox).await,
            CommandBody::Rename { from, to } => self.rename(tag, &from, &to).await,
            CommandBody::Subscribe { mailbox } => self.subscribe(tag, &mailbox, true).await,
            CommandBody::Unsubscribe { mailbox } => self.subscribe(tag, &mailbox, false).await,
            CommandBody::List {
                reference,
                patterns,
                selection,
                returns,
                extended,
            } => self.list(
                tag, &reference, &patterns, selection, returns, extended, false,
            ),
            CommandBody::Lsub { reference, pattern } => {
                let selection = ListSelection {
                    subscribed: true,
                    ..ListSelection::default()
                };
                self.list(
                    tag,
                    &reference,
                    std::slice::from_ref(&pattern),
                    selection,
                    ListReturn::default(),
                    false,
                    true,
                )
            }
            CommandBody::Status { mailbox, items } => self.status(tag, &mailbox, &items),
            CommandBody::GetQuotaRoot { mailbox } => self.get_quota_root(tag, &mailbox),
            CommandBody::GetQuota { root } => self.get_quota(tag, &root),
            CommandBody::SetQuota { .. } => self.set_quota(tag),
            body => return self.execute_selected_command(tag, body).await,
        }
        self.sync(super::selected::Sync::Full);
        Next::Continue
    }

    pub(super) fn account_key(&self) -> AccountKey {
        match &self.state {
            SessionState::Authenticated(account) | SessionState::Selected(account, _) => {
                account.key
            }
            _ => unreachable!("mailbox commands run logged in"),
        }
    }

    /// The mailbox name as UTF-8, or a tagged BAD.
    pub(super) fn mailbox_name(&mut self, tag: &str, name: &MailboxName) -> Option<String> {
        match name.decode(self.enabled().utf8) {
            Ok(name) => Some(name),
            Err(error) => {
                self.bad_in_state(tag, &format!("Invalid mailbox name: {error}"));
                None
            }
        }
    }

    pub(super) fn store_failed(&mut self, tag: &str, error: &StoreError) {
        let (code, text) = match error {
            StoreError::NoSuchMailbox => ("NONEXISTENT", "No such mailbox".to_string()),
            StoreError::MailboxExists => ("ALREADYEXISTS", "Mailbox already exists".to_string()),
            StoreError::OverQuota => ("OVERQUOTA", "Over quota".to_string()),
            StoreError::SpecialUseTaken => (
                "USEATTR",
                "Another mailbox has that special-use attribute".to_string(),
            ),
            StoreError::MessageTooLarge { .. } => ("TOOBIG", error.to_string()),
            StoreError::LimitExceeded(what) => ("LIMIT", format!("Limit exceeded: {what}")),
            StoreError::Unreadable | StoreError::Damaged(_) | StoreError::Read(_) => {
                tracing::error!("IMAP: {error}");
                ("UNAVAILABLE", "Message data unavailable".to_string())
            }
            _ => {
                tracing::error!("IMAP: {error}");
                ("SERVERBUG", "Storage failure, try later".to_string())
            }
        };
        self.no(tag, Some(code), &text);
    }

    async fn create(&mut self, tag: &str, mailbox: &MailboxName, uses: &[String]) {
        // RFC 6154 §3: CREATE ... (USE (attribute)). One attribute per mailbox here.
        let special_use = match uses {
            [] => None,
            // \All and \Flagged name virtual mailboxes, which this server doesn't make.
            [one] => match SpecialUse::parse(one)
                .filter(|use_| !matches!(use_, SpecialUse::All | SpecialUse::Flagged))
            {
                Some(use_) => Some(use_),
                None => {
                    self.no(tag, Some("USEATTR"), "Unsupported special-use attribute");
                    return;
                }
            },
            _ => {
                self.no(
                    tag,
                    Some("USEATTR"),
                    "One special-use attribute per mailbox",
                );
                return;
            }
        };
        // RFC 3501 §6.3.3: a trailing delimiter only says children are intended.
        let trimmed = MailboxName::new(
            mailbox
                .as_bytes()
                .strip_suffix(b"/")
                .unwrap_or(mailbox.as_bytes())
                .to_vec(),
        );
        let Some(name) = self.mailbox_name(tag, &trimmed) else {
            return;
        };
        let account = self.account_key();
        let store = std::rc::Rc::clone(self.shard.state.mail.store());
        if name == INBOX || store.mailbox_by_name(account, &name).is_some() {
            self.no(tag, Some("ALREADYEXISTS"), "Mailbox already exists");
            return;
        }
        // Superior names are created as needed (RFC 3501 §6.3.3), without an attribute; the
        // named mailbox gets the one asked for.
        if let Err(error) = self.create_parents(account, &name).await {
            return self.store_failed(tag, &error);
        }
        let key = match store.create_mailbox_with(account, &name, special_use).await {
            Ok((key, _durable)) => key,
            Err(error) => return self.store_failed(tag, &error),
        };
        // RFC 8474 §4.1: CREATE tells the new mailbox's MAILBOXID.
        let code = Some(format!("MAILBOXID ({})", mailbox_id(key)));
        super::response::write_status(
            &mut self.out,
            tag,
            super::response::Status::Ok,
            code.as_deref(),
            "CREATE completed",
        );
    }

    async fn delete(&mut self, tag: &str, mailbox: &MailboxName) {
        let Some(name) = self.mailbox_name(tag, mailbox) else {
            return;
        };
        if name == INBOX {
            self.no(tag, Some("CANNOT"), "INBOX can't be deleted");
            return;
        }
        let account = self.account_key();
        let store = std::rc::Rc::clone(self.shard.state.mail.store());
        let Some(key) = store.mailbox_by_name(account, &name) else {
            self.no(tag, Some("NONEXISTENT"), "No such mailbox");
            return;
        };
        match store.delete_mailbox(key).await {
            Ok(_durable) => self.ok(tag, "DELETE completed"),
            Err(error) => self.store_failed(tag, &error),
        }
    }

    async fn rename(&mut self, tag: &str, from: &MailboxName, to: &MailboxName) {
        let (Some(from), Some(to)) = (self.mailbox_name(tag, from), self.mailbox_name(tag, to))
        else {
            return;
        };
        let account = self.account_key();
        let store = std::rc::Rc::clone(self.shard.state.mail.store());
        let Some(source) = store.mailbox_by_name(account, &from) else {
            self.no(tag, Some("NONEXISTENT"), "No such mailbox");
            return;
        };
        if to == INBOX || store.mailbox_by_name(account, &to).is_some() {
            self.no(tag, Some("ALREADYEXISTS"), "Target mailbox already exists");
            return;
        }
        if to.starts_with(&format!("{from}{DELIMITER}")) {
            self.no(tag, Some("CANNOT"), "Can't rename a mailbox into itself");
            return;
        }
        if from == INBOX {
            return self.rename_inbox(tag, source, &to).await;
        }
        // Inferior names move with it (RFC 3501 §6.3.5).
        let children: Vec<(String, postern_storage::MailboxKey)> = store
            .mailboxes(account)
            .into_iter()
            .filter_map(|status| {
                let rest = status.name.strip_prefix(&format!("{from}{DELIMITER}"))?;
                Some((format!("{to}{DELIMITER}{rest}"), status.key))
            })
            .collect();
        if let Err(error) = self.create_parents(account, &to).await {
            return self.store_failed(tag, &error);
        }
        if let Err(error) = store.rename_mailbox(source, &to).await {
            return self.store_failed(tag, &error);
        }
        for (name, key) in children {
            if let Err(error) = store.rename_mailbox(key, &name).await {
                return self.store_failed(tag, &error);
            }
        }
        self.ok(tag, "RENAME completed");
    }

    /// RFC 3501 §6.3.5: renaming INBOX moves its messages to the new mailbox and leaves INBOX
    /// empty; its inferiors stay where they are.
    async fn rename_inbox(&mut self, tag: &str, inbox: postern_storage::MailboxKey, to: &str) {
        let account = self.account_key();
        let store = std::rc::Rc::clone(self.shard.state.mail.store());
        if let Err(error) = self.create_parents(account, to).await {
            return self.store_failed(tag, &error);
        }
        let target = match store.create_mailbox(account, to).await {
            Ok((key, _durable)) => key,
            Err(error) => return self.store_failed(tag, &error),
        };
        let all = [postern_storage::UidRange {
            first: 1,
            last: postern_storage::Uid::MAX,
        }];
        if let Err(error) = store
            .move_messages(inbox, &all, target, crate::date::now_secs())
            .await
        {
            return self.store_failed(tag, &error);
        }
        self.ok(tag, "RENAME completed");
    }

    async fn create_parents(&self, account: AccountKey, name: &str) -> Result<(), StoreError> {
        let store = self.shard.state.mail.store();
        let mut prefix = String::new();
        let levels: Vec<&str> = name.split(DELIMITER).collect();
        for level in &levels[..levels.len().saturating_sub(1)] {
            if !prefix.is_empty() {
                prefix.push(DELIMITER);
            }
            prefix.push_str(level);
            if store.mailbox_by_name(account, &prefix).is_none() {
                let (_mailbox, _durable) = store.create_mailbox(account, &prefix).await?;
            }
        }
        Ok(())
    }

    async fn subscribe(&mut self, tag: &str, mailbox: &MailboxName, subscribed: bool) {
        let Some(name) = self.mailbox_name(tag, mailbox) else {
            return;
        };
        let account = self.account_key();
        let store = std::rc::Rc::clone(self.shard.state.mail.store());
        if subscribed && store.mailbox_by_name(account, &name).is_none() {
            // RFC 3501 §6.3.6 permits subscribing to names that don't exist; clients that do
            // it by mistake are better told.
            self.no(tag, Some("NONEXISTENT"), "No such mailbox");
            return;
        }
        match store.subscribe(account, &name, subscribed).await {
            Ok(_durable) if subscribed => self.ok(tag, "SUBSCRIBE completed"),
            Ok(_durable) => self.ok(tag, "UNSUBSCRIBE completed"),
            Err(error) => self.store_failed(tag, &error),
        }
    }

    // The LIST-EXTENDED options as the grammar gives them; LSUB shares the code.
    #[allow(clippy::too_many_arguments)]
    fn list(
        &mut self,
        tag: &str,
        reference: &MailboxName,
        patterns: &[MailboxName],
        selection: ListSelection,
        returns: ListReturn,
        extended: bool,
        lsub: bool,
    ) {
        let utf8 = self.enabled().utf8;
        let Ok(reference) = reference.decode_pattern(utf8) else {
            self.bad_in_state(tag, "Invalid reference name");
            return;
        };
        let mut full_patterns = Vec::new();
        for pattern in patterns {
            let Ok(pattern) = pattern.decode_pattern(utf8) else {
                self.bad_in_state(tag, "Invalid mailbox pattern");
                return;
            };
            // RFC 5258 §3: not in the extended syntax.
            if pattern.is_empty() && patterns.len() == 1 && !lsub && !extended {
                // RFC 3501 §6.3.8: an empty pattern asks for the delimiter and the root.
                self.out
                    .extend_from_slice(b"* LIST (\\Noselect) \"/\" \"\"\r\n");
                self.ok(tag, "LIST completed");
                return;
            }
            let full = canonical_inbox(format!("{reference}{pattern}"));
            if full.len() > PATTERN_OCTETS_MAX {
                self.bad_in_state(tag, "Mailbox pattern too long");
                return;
            }
            full_patterns.push(full);
        }
        let listed = self.listed_names(
            &full_patterns,
            selection.subscribed || lsub,
            selection.recursive_match,
            lsub,
        );
        let account = self.account_key();
        let enabled = self.enabled();
        let store = std::rc::Rc::clone(self.shard.state.mail.store());
        let state = store.state();
        let Some(account_state) = state.accounts.get(&account) else {
            drop(state);
            self.no(tag, Some("SERVERBUG"), "Account missing");
            return;
        };
        let mut out = std::mem::take(&mut self.out);
        for entry in &listed {
            let mut attributes: Vec<&str> = Vec::new();
            if !entry.exists {
                attributes.push(if lsub || !selection.subscribed {
                    "\\Noselect"
                } else {
                    "\\NonExistent"
                });
            }
            if !lsub {
                attributes.push(if entry.has_children {
                    "\\HasChildren"
                } else {
                    "\\HasNoChildren"
                });
                if let Some(special) = entry.special_use {
                    attributes.push(special.name());
                }
                if entry.subscribed && (selection.subscribed || returns.subscribed) {
                    attributes.push("\\Subscribed");
                }
            }
            if selection.special_use && entry.special_use.is_none() {
                continue;
            }
            out.extend_from_slice(if lsub { b"* LSUB (" } else { b"* LIST (" });
            out.extend_from_slice(attributes.join(" ").as_bytes());
            out.extend_from_slice(b") \"/\" ");
            encode_mailbox_name(&entry.name, utf8, &mut out);
            if entry.childinfo {
                out.extend_from_slice(b" (\"CHILDINFO\" (\"SUBSCRIBED\"))");
            }
            out.extend_from_slice(b"\r\n");
            if let (Some(items), true) = (&returns.status, entry.exists) {
                let mailbox = account_state
                    .names
                    .get(&entry.name)
                    .and_then(|id| account_state.mailboxes.get(id));
                if let Some(mailbox) = mailbox {
                    let recent_from = self.shard.state.mail.recent_from(mailbox.key);
                    write_status_response(
                        &mut out,
                        &entry.name,
                        recent_from,
                        mailbox,
                        items,
                        enabled,
                    );
                }
            }
        }
        drop(state);
        self.out = out;
        self.ok(
            tag,
            if lsub {
                "LSUB completed"
            } else {
                "LIST completed"
            },
        );
    }

    /// Names matching any pattern, with implied parents for `%` (RFC 3501 §6.3.8), in order.
    /// Names matching any pattern, in order. A name with nothing of its own to list (an
    /// implied parent, or for LSUB and LIST (SUBSCRIBED) an unsubscribed one) is listed only
    /// where a wildcard stops at it: when some name below it does not match (RFC 3501
    /// §6.3.8-9; for LIST (SUBSCRIBED) only with RECURSIVEMATCH, and then with CHILDINFO,
    /// RFC 5258 §3.5).
    fn listed_names(
        &self,
        patterns: &[String],
        subscribed_only: bool,
        recursive: bool,
        lsub: bool,
    ) -> Vec<Listed> {
        let account = self.account_key();
        let store = self.shard.state.mail.store();
        let state = store.state();
        let Some(account) = state.accounts.get(&account) else {
            return Vec::new();
        };
        let existing: BTreeSet<&str> = account.names.keys().map(String::as_str).collect();
        let subscriptions = &account.subscriptions;
        let universe: Vec<&str> = if subscribed_only {
            subscriptions.iter().map(String::as_str).collect()
        } else {
            existing.iter().copied().collect()
        };
        let matches_any = |name: &str| {
            patterns
                .iter()
                .any(|p| pattern_matches(p.as_bytes(), name.as_bytes()))
        };
        let mut candidates: BTreeMap<String, bool> = BTreeMap::new();
        for name in &universe {
            // Every level of the name is a candidate: "a/b/c" implies "a" and "a/b".
            for (i, c) in name.char_indices() {
                if c == DELIMITER {
                    candidates.entry(name[..i].to_string()).or_insert(false);
                }
            }
            candidates.insert((*name).to_string(), true);
        }
        candidates
            .into_iter()
            .filter(|(name, _)| matches_any(name))
            .filter_map(|(name, direct)| {
                let exists = existing.contains(name.as_str());
                let prefix = format!("{name}{DELIMITER}");
                // Both name sets are sorted: the names below this one are a contiguous run.
                let hidden_below = || {
                    let start = universe.partition_point(|other| *other < prefix.as_str());
                    universe[start..]
                        .iter()
                        .take_while(|other| other.starts_with(&prefix))
                        .any(|other| !matches_any(other))
                };
                let mut childinfo = false;
                if subscribed_only && !lsub && recursive {
                    childinfo = hidden_below();
                }
                // Plain LIST shows a parent that lost its mailbox as \Noselect whatever the
                // wildcard (RFC 3501 §6.3.4's example); the subscription views only where a
                // wildcard stops at it.
                if !direct && subscribed_only && (!hidden_below() || (!lsub && !recursive)) {
                    return None;
                }
                let has_children = existing
                    .range(prefix.as_str()..)
                    .next()
                    .is_some_and(|other| other.starts_with(&prefix));
                let special_use = account
                    .names
                    .get(&name)
                    .and_then(|id| account.mailboxes.get(id))
                    .and_then(|mailbox| mailbox.special_use)
                    .filter(|_| exists);
                Some(Listed {
                    special_use,
                    subscribed: subscriptions.contains(&name),
                    // LSUB flags a parent listed for its subscribed children \Noselect.
                    exists: exists && (direct || !lsub),
                    has_children,
                    childinfo,
                    name,
                })
            })
            .collect()
    }

    fn status(&mut self, tag: &str, mailbox: &MailboxName, items: &[StatusItem]) {
        let Some(name) = self.mailbox_name(tag, mailbox) else {
            return;
        };
        // RFC 7162 §3.1: STATUS (HIGHESTMODSEQ) is a CONDSTORE enabling command.
        if items.contains(&StatusItem::HighestModSeq) {
            self.enable_condstore();
        }
        let account = self.account_key();
        let enabled = self.enabled();
        let store = std::rc::Rc::clone(self.shard.state.mail.store());
        let Some(key) = store.mailbox_by_name(account, &name) else {
            self.no(tag, Some("NONEXISTENT"), "No such mailbox");
            return;
        };
        let state = store.state();
        let Some(mailbox) = state.mailbox(key) else {
            drop(state);
            self.no(tag, Some("NONEXISTENT"), "No such mailbox");
            return;
        };
        let mut out = std::mem::take(&mut self.out);
        let recent_from = self.shard.state.mail.recent_from(key);
        write_status_response(&mut out, &name, recent_from, mailbox, items, enabled);
        drop(state);
        self.out = out;
        self.ok(tag, "STATUS completed");
    }
}

/// RFC 8474 MAILBOXID: mailbox numbers are never reused in an account, and RENAME keeps them.
pub fn mailbox_id(key: postern_storage::MailboxKey) -> String {
    format!(
        "F{:x}-{:x}-{:x}",
        key.account.partition, key.account.account, key.mailbox
    )
}

/// `* STATUS name (item value ...)` (RFC 3501 §7.2.4).
pub fn write_status_response(
    out: &mut Vec<u8>,
    name: &str,
    recent_from: postern_storage::Uid,
    mailbox: &Mailbox,
    items: &[StatusItem],
    enabled: Enabled,
) {
    out.extend_from_slice(b"* STATUS ");
    encode_mailbox_name(name, enabled.utf8, out);
    out.extend_from_slice(b" (");
    let entries = mailbox.index.entries();
    let mut first = true;
    for item in items {
        let (word, value): (&str, u64) = match item {
            StatusItem::Messages => ("MESSAGES", entries.len() as u64),
            // \Recent is given out at SELECT; STATUS doesn't claim it (RFC 3501 §6.3.10).
            // Messages no session has been given as \Recent yet; STATUS gives none away.
            StatusItem::Recent => (
                "RECENT",
                entries.iter().filter(|e| e.uid >= recent_from).count() as u64,
            ),
            StatusItem::UidNext => ("UIDNEXT", u64::from(mailbox.uid_next)),
            StatusItem::UidValidity => ("UIDVALIDITY", u64::from(mailbox.uid_validity)),
            StatusItem::Unseen => (
                "UNSEEN",
                entries
                    .iter()
                    .filter(|e| !e.flags.contains(SystemFlags::SEEN))
                    .count() as u64,
            ),
            StatusItem::Deleted => (
                "DELETED",
                entries
                    .iter()
                    .filter(|e| e.flags.contains(SystemFlags::DELETED))
                    .count() as u64,
            ),
            StatusItem::Size => (
                "SIZE",
                entries.iter().map(|e| u64::from(e.size_octets)).sum(),
            ),
            StatusItem::HighestModSeq => ("HIGHESTMODSEQ", reported_highest_modseq(mailbox)),
            StatusItem::AppendLimit => ("APPENDLIMIT", postern_storage::limits::MESSAGE_OCTETS_MAX),
            StatusItem::MailboxId => {
                if !first {
                    out.push(b' ');
                }
                first = false;
                out.extend_from_slice(
                    format!("MAILBOXID ({})", mailbox_id(mailbox.key)).as_bytes(),
                );
                continue;
            }
            _ => continue,
        };
        if !first {
            out.push(b' ');
        }
        first = false;
        out.extend_from_slice(format!("{word} {value}").as_bytes());
    }
    out.extend_from_slice(b")\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3501_6_3_8_wildcards() {
        assert!(pattern_matches(b"*", b"a/b/c"));
        assert!(pattern_matches(b"%", b"a"));
        assert!(!pattern_matches(b"%", b"a/b"));
        assert!(pattern_matches(b"a/%", b"a/b"));
        assert!(!pattern_matches(b"a/%", b"a/b/c"));
        assert!(pattern_matches(b"a*c", b"a/b/c"));
        assert!(pattern_matches(b"INBOX", b"INBOX"));
        assert!(!pattern_matches(b"INBOX", b"INBOX/x"));
        assert!(pattern_matches(b"", b""));
        assert!(!pattern_matches(
            b"%*%*%*%*%*%*%*%*b",
            b"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
        ));
    }

    #[test]
    fn inbox_is_case_insensitive_in_patterns() {
        assert_eq!(canonical_inbox("inbox/%".into()), "INBOX/%");
        assert_eq!(canonical_inbox("Inboxes".into()), "Inboxes");
    }
}
