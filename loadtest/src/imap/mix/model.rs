//! What one connection knows of its selected mailbox, built only from what the server said,
//! and the checks that each answer agrees with everything said before. Sans-IO: responses go
//! in as text, expectations of the command in progress are set and read by `operations.rs`.
//!
//! The model holds the UID of each sequence number (or, for a message announced by EXISTS and
//! not listed yet, the bounds its UID must fall in), the followed flags and MODSEQ of each UID,
//! UIDVALIDITY, UIDNEXT and the highest MODSEQ known. With `exclusive` (no other session uses
//! the account) every change must be one this session made, so flags and SEARCH results are
//! compared exactly; otherwise only what holds under concurrency is checked.

use std::collections::{HashMap, HashSet};

use super::parse::{self, Codes, DELETED, FLAGGED, FetchItems, Flags, LABEL1, SEEN, Untagged};

/// The most messages a model follows: far above the mailboxes the benchmarks fill (100,000). An
/// EXISTS above it is a broken answer, not an allocation.
pub const MESSAGES_MAX: u64 = 10_000_000;
/// UIDs reported expunged that a selection remembers (forgotten all at once above it).
const EXPUNGED_REMEMBERED_MAX: usize = 100_000;

/// The flags a STORE names in the mix: every followed flag but `\Deleted` (set only by expunge).
pub const STORED: Flags = !DELETED & 0x7f;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreKind {
    Add,
    Remove,
    Replace,
}

impl StoreKind {
    pub fn apply(self, flags: Flags, operand: Flags) -> Flags {
        match self {
            StoreKind::Add => flags | operand,
            StoreKind::Remove => flags & !operand,
            StoreKind::Replace => operand,
        }
    }

    pub fn item(self) -> &'static str {
        match self {
            StoreKind::Add => "+FLAGS",
            StoreKind::Remove => "-FLAGS",
            StoreKind::Replace => "FLAGS",
        }
    }
}

/// The searches of the mix (RFC 3501 §6.4.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchKey {
    Flagged,
    Unseen,
    Label1,
    All,
}

impl SearchKey {
    pub fn text(self) -> &'static str {
        match self {
            SearchKey::Flagged => "FLAGGED",
            SearchKey::Unseen => "UNSEEN",
            SearchKey::Label1 => "KEYWORD $Label1",
            SearchKey::All => "ALL",
        }
    }

    fn matches(self, flags: Flags) -> bool {
        match self {
            SearchKey::Flagged => flags & FLAGGED != 0,
            SearchKey::Unseen => flags & SEEN == 0,
            SearchKey::Label1 => flags & LABEL1 != 0,
            SearchKey::All => true,
        }
    }
}

/// A message's place: its UID once listed, else what its UID must be: at least `at_least`, and
/// below `below` (the UIDNEXT of the SELECT that announced it) when there is one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    Listed(u64),
    Unlisted { at_least: u64, below: Option<u64> },
}

#[derive(Debug, Clone, Copy, Default)]
struct Message {
    flags: Option<Flags>,
    /// The MODSEQ that came with `flags`: a later FETCH with other flags must show a higher one.
    flags_modseq: Option<u64>,
    /// The highest MODSEQ seen for the message (a FETCH of other items carries it too).
    modseq: Option<u64>,
}

/// This session's STORE in progress.
#[derive(Debug)]
struct Store {
    kind: StoreKind,
    operand: Flags,
    /// The set's UIDs with their flags and highest MODSEQ before the STORE, as known.
    before: HashMap<u64, Message>,
    /// The last FETCH with FLAGS for each UID of the set: its flags and MODSEQ.
    answers: HashMap<u64, (Flags, Option<u64>)>,
    highest_modseq_before: Option<u64>,
}

/// What the command in progress allows.
#[derive(Debug, Default)]
struct Command {
    /// RFC 3501 §7.4.1: no EXPUNGE while answering FETCH, STORE or SEARCH by sequence number.
    no_expunge: Option<&'static str>,
    store: Option<Store>,
    /// exclusive: the UIDs this command may expunge.
    expunging: HashSet<u64>,
    /// UIDs expunged while it ran.
    expunged: Vec<u64>,
}

#[derive(Debug)]
pub struct Model {
    exclusive: bool,
    /// MODSEQ is followed: CONDSTORE enabled and the mailbox has mod-sequences.
    condstore: bool,
    /// UIDPLUS: APPENDUID names every UID this session adds.
    append_uids: bool,
    uid_validity: Option<u64>,
    uid_next: Option<u64>,
    slots: Vec<Slot>,
    /// The index of the last listed slot, so that listing in order does not scan the unlisted
    /// ones above it.
    last_listed: Option<usize>,
    messages: HashMap<u64, Message>,
    /// The highest UID listed since the SELECT (expunged ones included).
    highest_listed_uid: u64,
    /// UIDs reported expunged since the SELECT (up to `EXPUNGED_REMEMBERED_MAX`).
    expunged: HashSet<u64>,
    /// The highest MODSEQ known: reported as HIGHESTMODSEQ or seen on a message.
    highest_modseq: Option<u64>,
    reported_highest_modseq: Option<u64>,
    selecting: bool,
    /// exclusive: UIDs from APPENDUID not listed yet, with the flags they were appended with.
    appended: HashMap<u64, Flags>,
    command: Command,
    checks: u64,
    violation: Option<String>,
}

impl Model {
    pub fn new(exclusive: bool, condstore: bool, append_uids: bool) -> Model {
        Model {
            exclusive,
            condstore,
            append_uids,
            uid_validity: None,
            uid_next: None,
            slots: Vec::new(),
            last_listed: None,
            messages: HashMap::new(),
            highest_listed_uid: 0,
            expunged: HashSet::new(),
            highest_modseq: None,
            reported_highest_modseq: None,
            selecting: false,
            appended: HashMap::new(),
            command: Command::default(),
            checks: 0,
            violation: None,
        }
    }

    pub fn exclusive(&self) -> bool {
        self.exclusive
    }

    pub fn condstore(&self) -> bool {
        self.condstore
    }

    /// One check: counted, and the first that fails is kept. Returns whether it held.
    pub fn check(&mut self, held: bool, message: impl FnOnce() -> String) -> bool {
        self.checks += 1;
        if !held && self.violation.is_none() {
            self.violation = Some(message());
        }
        held
    }

    pub fn checks(&self) -> u64 {
        self.checks
    }

    pub fn take_checks(&mut self) -> u64 {
        std::mem::take(&mut self.checks)
    }

    pub fn take_violation(&mut self) -> Option<String> {
        self.violation.take()
    }

    /// Before a SELECT (with CONDSTORE when `condstore`): a new selection. UIDVALIDITY and the
    /// highest MODSEQ are kept to check that they did not go back.
    pub fn begin_select(&mut self, condstore: bool) {
        self.condstore = condstore;
        self.slots.clear();
        self.last_listed = None;
        self.messages.clear();
        self.appended.clear();
        self.expunged.clear();
        self.highest_listed_uid = 0;
        self.uid_next = None;
        self.reported_highest_modseq = None;
        self.command = Command::default();
        self.selecting = true;
    }

    /// After the SELECT's tagged OK (its text passed in for its codes).
    pub fn end_select(&mut self, tagged: &[u8]) {
        self.codes(Codes::of(tagged));
        self.selecting = false;
        let validity = self.uid_validity;
        self.check(validity.is_some(), || {
            "SELECT gave no [UIDVALIDITY n]".into()
        });
        let next = self.uid_next;
        self.check(next.is_some(), || "SELECT gave no [UIDNEXT n]".into());
        for slot in &mut self.slots {
            *slot = Slot::Unlisted {
                at_least: 1,
                below: next,
            };
        }
        if self.reported_highest_modseq.is_none() {
            // RFC 7162 §3.1.2.2: NOMODSEQ (or nothing): the mailbox has no mod-sequences.
            self.condstore = false;
        }
    }

    /// After the listing that follows SELECT, or a FETCH of new messages: with the account to
    /// itself, the session must know every message's UID by now.
    pub fn end_listing(&mut self, command: &str) {
        if self.exclusive {
            let unlisted = self
                .slots
                .iter()
                .position(|slot| !matches!(slot, Slot::Listed(_)));
            let count = self.count();
            self.check(unlisted.is_none(), || {
                format!(
                    "{command} did not list message {} of {count}",
                    unlisted.unwrap_or(0) + 1
                )
            });
            let missing = self.appended.keys().min().copied();
            self.check(missing.is_none(), || {
                format!(
                    "APPENDUID {} was never listed (after NOOP and {command})",
                    missing.unwrap_or(0)
                )
            });
        }
        self.appended.clear();
    }

    pub fn count(&self) -> u64 {
        self.slots.len() as u64
    }

    /// The UID of message `seq` (1-based) when listed.
    pub fn uid_at(&self, seq: u64) -> Option<u64> {
        match self.slots.get(usize::try_from(seq).ok()?.checked_sub(1)?)? {
            Slot::Listed(uid) => Some(*uid),
            Slot::Unlisted { .. } => None,
        }
    }

    pub fn seq_of(&self, uid: u64) -> Option<u64> {
        self.slots
            .iter()
            .position(|slot| *slot == Slot::Listed(uid))
            .map(|index| index as u64 + 1)
    }

    pub fn flags_of(&self, uid: u64) -> Option<Flags> {
        self.messages.get(&uid).and_then(|message| message.flags)
    }

    pub fn contains(&self, uid: u64) -> bool {
        self.messages.contains_key(&uid)
    }

    /// The first UID of `UID FETCH n:*` that lists every message announced and not listed yet:
    /// above the UID listed before the first such message (a later one may be listed already,
    /// by another session's flag change).
    pub fn sync_from(&self) -> Option<u64> {
        let first = self
            .slots
            .iter()
            .position(|slot| matches!(slot, Slot::Unlisted { .. }))?;
        let Slot::Unlisted { at_least, .. } = self.slots[first] else {
            unreachable!("found as unlisted");
        };
        let lower = self.slots[..first]
            .iter()
            .rev()
            .find_map(|slot| match slot {
                Slot::Listed(uid) => Some(*uid),
                Slot::Unlisted { .. } => None,
            });
        Some(at_least.max(lower.map_or(1, |uid| uid + 1)))
    }

    /// Whether `uid` may be that of a message announced and not listed yet: one between the
    /// listed messages around it.
    pub fn may_be_unlisted(&self, uid: u64) -> bool {
        let mut lower = 0;
        let mut unlisted = false;
        for slot in &self.slots {
            match *slot {
                Slot::Listed(listed) if listed > uid => return unlisted && uid > lower,
                Slot::Listed(listed) => {
                    lower = listed;
                    unlisted = false;
                }
                Slot::Unlisted { .. } => unlisted = true,
            }
        }
        unlisted && uid > lower
    }

    /// Whether `uid` was reported expunged while the command in progress ran.
    pub fn expunged_in_command(&self, uid: u64) -> bool {
        self.command.expunged.contains(&uid)
    }

    /// Whether the server reported `uid` expunged in this selection.
    pub fn was_expunged(&self, uid: u64) -> bool {
        self.expunged.contains(&uid)
    }

    /// UIDs with `\Deleted`, as far as the model knows.
    pub fn deleted(&self) -> HashSet<u64> {
        self.messages
            .iter()
            .filter(|(_, message)| message.flags.is_some_and(|flags| flags & DELETED != 0))
            .map(|(uid, _)| *uid)
            .collect()
    }

    /// What a SEARCH (sequence numbers) or UID SEARCH must answer, when the model knows every
    /// message's UID and flags.
    pub fn search_answer(&self, key: SearchKey, by_uid: bool) -> Option<Vec<u64>> {
        let mut answer = Vec::new();
        for (index, slot) in self.slots.iter().enumerate() {
            let Slot::Listed(uid) = *slot else {
                return None;
            };
            if key.matches(self.flags_of(uid)?) {
                answer.push(if by_uid { uid } else { index as u64 + 1 });
            }
        }
        Some(answer)
    }

    /// A non-UID FETCH, STORE or SEARCH is in progress: an EXPUNGE now breaks RFC 3501 §7.4.1.
    pub fn forbid_expunge(&mut self, command: &'static str) {
        self.command.no_expunge = Some(command);
    }

    /// This session's STORE of `kind operand` on `uids` is in progress.
    pub fn expect_store(&mut self, kind: StoreKind, operand: Flags, uids: &[u64]) {
        self.command.store = Some(Store {
            kind,
            operand,
            before: uids
                .iter()
                .map(|&uid| (uid, self.messages.get(&uid).copied().unwrap_or_default()))
                .collect(),
            answers: HashMap::new(),
            highest_modseq_before: self.highest_modseq,
        });
    }

    /// This session's EXPUNGE (or UID EXPUNGE) of `uids` is in progress.
    pub fn expect_expunge(&mut self, uids: HashSet<u64>) {
        self.command.expunging = uids;
    }

    /// After the command. With the account to itself, the last FETCH of each message a STORE
    /// named shows exactly the flags asked (where none came, RFC 3501 §6.4.6 says "normally",
    /// the model applies them). On a shared account a server may answer with the flags as they
    /// are after another session's later change (Dovecot does), so a FETCH that does not show
    /// what was asked must at least carry a MODSEQ above the message's before the STORE: with
    /// the same MODSEQ nothing changed, so the STORE was not applied. Returns the UIDs expunged
    /// while the command ran.
    pub fn end_command(&mut self) -> Vec<u64> {
        let command = std::mem::take(&mut self.command);
        if let Some(store) = command.store {
            let mut uids: Vec<u64> = store.before.keys().copied().collect();
            uids.sort_unstable();
            for uid in uids {
                let before = store.before[&uid];
                let asked = |flags: Flags| store.kind.apply(flags, store.operand);
                let describe = |flags: Flags| {
                    format!(
                        "STORE {} ({}) on UID {uid}: FETCH shows ({})",
                        store.kind.item(),
                        parse::flags_text(store.operand),
                        parse::flags_text(flags)
                    )
                };
                match (store.answers.get(&uid), before.flags) {
                    (Some(&(flags, _)), Some(had)) if self.exclusive => {
                        let want = asked(had);
                        self.check(flags == want, || {
                            format!(
                                "{}, model expects ({})",
                                describe(flags),
                                parse::flags_text(want)
                            )
                        });
                    }
                    (Some(&(flags, Some(modseq))), _) if !self.exclusive => {
                        let applied = match store.kind {
                            StoreKind::Add => flags & store.operand == store.operand,
                            StoreKind::Remove => flags & store.operand == 0,
                            StoreKind::Replace => flags & STORED == store.operand,
                        };
                        if let (false, Some(old)) = (applied, before.modseq) {
                            self.check(modseq > old, || {
                                format!(
                                    "{} at MODSEQ {modseq}, which it already had before: the STORE \
                                     was not applied",
                                    describe(flags)
                                )
                            });
                        }
                    }
                    (Some(_), _) => {}
                    (None, _) => {
                        if let Some(message) = self.messages.get_mut(&uid) {
                            message.flags = match (self.exclusive, message.flags) {
                                (true, Some(flags)) => Some(asked(flags)),
                                _ => None,
                            };
                            message.flags_modseq = None;
                        }
                    }
                }
            }
        }
        command.expunged
    }

    /// APPENDUID (RFC 4315 §3) of this session's APPEND with `flags`, sent when the highest
    /// UID listed was `listed_before`.
    pub fn appended(&mut self, validity: u64, uid: u64, flags: Flags, listed_before: u64) {
        let known = self.uid_validity;
        self.check(Some(validity) == known, || {
            format!("APPENDUID gave UIDVALIDITY {validity}, SELECT gave {known:?}")
        });
        self.check(uid > listed_before && !self.contains(uid), || {
            format!("APPENDUID {uid} is not new: UID {listed_before} was already listed")
        });
        let next = self.uid_next.unwrap_or(0);
        self.check(uid >= next, || {
            format!("APPENDUID {uid} is below the UIDNEXT {next} of the SELECT")
        });
        if self.exclusive && self.seq_of(uid).is_none() {
            self.appended.insert(uid, flags);
        }
    }

    /// Whether an APPENDUID of this session is not listed yet (a NOOP should announce it).
    pub fn awaits_appended(&self) -> bool {
        !self.appended.is_empty()
    }

    pub fn highest_listed_uid(&self) -> u64 {
        self.highest_listed_uid
    }

    /// Codes of a tagged response (e.g. `[HIGHESTMODSEQ n]`).
    pub fn tagged(&mut self, text: &[u8]) {
        self.codes(Codes::of(text));
    }

    /// Applies one untagged response and returns what it was, for the command's own checks.
    pub fn untagged(&mut self, text: &[u8]) -> Untagged {
        let parsed = match parse::untagged(text) {
            Ok(parsed) => parsed,
            Err(what) => {
                self.check(false, || what);
                return Untagged::Other;
            }
        };
        match &parsed {
            Untagged::Exists(count) => self.exists(*count),
            Untagged::Expunge(seq) => self.expunge(*seq),
            Untagged::Fetch(seq, items) => self.fetch(*seq, items),
            Untagged::Codes(codes) => self.codes(*codes),
            Untagged::Vanished => {
                self.check(false, || {
                    "VANISHED, but QRESYNC was not enabled (RFC 7162 §3.2.10)".into()
                });
            }
            Untagged::Search(_) | Untagged::Other => {}
        }
        parsed
    }

    fn exists(&mut self, count: u64) {
        let known = self.count();
        // RFC 3501 §7.3.1: only EXPUNGE makes the count go down.
        if !self.check(count >= known, || {
            format!("EXISTS {count} after {known} messages, without EXPUNGE")
        }) {
            return;
        }
        if !self.check(count <= MESSAGES_MAX, || {
            format!("EXISTS {count}, above the {MESSAGES_MAX} messages followed")
        }) {
            return;
        }
        // A message added now has a UID above every UID listed so far (RFC 3501 §2.3.1.1) and
        // not below the SELECT's UIDNEXT.
        let at_least = (self.highest_listed_uid + 1).max(self.uid_next.unwrap_or(1));
        let slot = Slot::Unlisted {
            at_least,
            below: None,
        };
        self.slots.resize(count as usize, slot);
    }

    fn expunge(&mut self, seq: u64) {
        if let Some(command) = self.command.no_expunge {
            self.check(false, || {
                format!("EXPUNGE {seq} while answering {command} (RFC 3501 §7.4.1)")
            });
        }
        let count = self.count();
        if !self.check(seq >= 1 && seq <= count, || {
            format!("EXPUNGE {seq}, but the mailbox has {count} messages")
        }) {
            return;
        }
        let index = seq as usize - 1;
        let removed = self.slots.remove(index);
        self.last_listed = match self.last_listed {
            Some(last) if last > index => Some(last - 1),
            Some(last) if last == index => self.slots[..index]
                .iter()
                .rposition(|slot| matches!(slot, Slot::Listed(_))),
            unchanged => unchanged,
        };
        let Slot::Listed(uid) = removed else {
            return;
        };
        self.messages.remove(&uid);
        self.command.expunged.push(uid);
        if self.expunged.len() >= EXPUNGED_REMEMBERED_MAX {
            self.expunged.clear();
        }
        self.expunged.insert(uid);
        if self.exclusive {
            let expected = self.command.expunging.contains(&uid);
            self.check(expected, || {
                format!(
                    "EXPUNGE {seq} removed UID {uid}, which this session did not expunge \
                     (the account is not shared)"
                )
            });
        }
    }

    fn codes(&mut self, codes: Codes) {
        if let Some(validity) = codes.uid_validity {
            let known = self.uid_validity;
            // Nothing in a run deletes the mailbox, so its UIDs stay valid (RFC 3501 §2.3.1.1).
            self.check(known.is_none_or(|known| known == validity), || {
                format!(
                    "UIDVALIDITY changed from {} to {validity}",
                    known.unwrap_or(0)
                )
            });
            self.uid_validity = Some(validity);
        }
        if let Some(next) = codes.uid_next {
            let listed = self.highest_listed_uid;
            self.check(next > listed, || {
                format!("UIDNEXT {next}, but UID {listed} is listed")
            });
            let known = self.uid_next.unwrap_or(0);
            self.check(next >= known, || {
                format!("UIDNEXT went from {known} down to {next}")
            });
            self.uid_next = Some(next.max(known));
        }
        if let Some(highest) = codes.highest_modseq {
            let known = self.highest_modseq.unwrap_or(0);
            // RFC 7162 §3.1.2.1: the highest of every message's MODSEQ, which never goes down.
            self.check(highest >= known, || {
                format!("HIGHESTMODSEQ {highest}, but MODSEQ {known} was already known")
            });
            self.reported_highest_modseq = Some(highest);
            self.highest_modseq = Some(highest.max(known));
        }
        if codes.no_modseq && self.selecting {
            self.reported_highest_modseq = None;
        }
    }

    fn fetch(&mut self, seq: u64, items: &FetchItems) {
        let count = self.count();
        if !self.check(seq >= 1 && seq <= count, || {
            format!("FETCH for message {seq}, but the mailbox has {count} messages")
        }) {
            return;
        }
        let index = seq as usize - 1;
        let (uid, listed_now) = match (self.slots[index], items.uid) {
            (Slot::Listed(known), Some(uid)) => {
                if !self.check(uid == known, || {
                    format!("message {seq} reported UID {uid}, model has {known}")
                }) {
                    return;
                }
                (known, false)
            }
            (Slot::Listed(known), None) => (known, false),
            (Slot::Unlisted { at_least, below }, Some(uid)) => {
                if !self.list(index, uid, at_least, below) {
                    return;
                }
                (uid, true)
            }
            // A message not listed yet, named by sequence number only: nothing to attach it to.
            (Slot::Unlisted { .. }, None) => return,
        };
        if listed_now && let Some(appended) = self.appended.remove(&uid) {
            let flags = items.flags.unwrap_or(appended);
            self.check(flags & !DELETED == appended, || {
                format!(
                    "UID {uid} was appended with ({}), listed with ({})",
                    parse::flags_text(appended),
                    parse::flags_text(flags)
                )
            });
        }
        self.flags_and_modseq(uid, items);
    }

    /// Gives message `index` its UID, checking it against what the model knew of it.
    fn list(&mut self, index: usize, uid: u64, at_least: u64, below: Option<u64>) -> bool {
        let seq = index + 1;
        if !self.check(uid >= at_least, || {
            format!(
                "message {seq} is new since UID {} was listed (or UIDNEXT was {at_least}), \
                 but has UID {uid}",
                at_least - 1
            )
        }) {
            return false;
        }
        if let Some(below) = below
            && !self.check(uid < below, || {
                format!("message {seq} was there at SELECT (UIDNEXT {below}) but has UID {uid}")
            })
        {
            return false;
        }
        // RFC 3501 §2.3.1.1: UIDs ascend with sequence numbers.
        let lower =
            self.slots[..index]
                .iter()
                .enumerate()
                .rev()
                .find_map(|(at, slot)| match slot {
                    Slot::Listed(listed) => Some((at + 1, *listed)),
                    Slot::Unlisted { .. } => None,
                });
        let above = match self.last_listed {
            Some(last) if last > index => &self.slots[index + 1..=last],
            _ => &[],
        };
        let higher = above.iter().enumerate().find_map(|(at, slot)| match slot {
            Slot::Listed(listed) => Some((index + at + 2, *listed)),
            Slot::Unlisted { .. } => None,
        });
        for (other_seq, other_uid) in lower.into_iter().chain(higher) {
            if !self.check(
                (other_seq < seq) == (other_uid < uid) && other_uid != uid,
                || {
                    format!(
                        "UIDs do not ascend: message {other_seq} has UID {other_uid}, message \
                     {seq} has UID {uid}"
                    )
                },
            ) {
                return false;
            }
        }
        self.slots[index] = Slot::Listed(uid);
        self.last_listed = Some(self.last_listed.map_or(index, |last| last.max(index)));
        self.messages.insert(uid, Message::default());
        self.highest_listed_uid = self.highest_listed_uid.max(uid);
        if self.exclusive && self.append_uids && below.is_none() {
            let ours = self.appended.contains_key(&uid);
            self.check(ours, || {
                format!(
                    "UID {uid} appeared, but this session appended no such message (the \
                     account is not shared)"
                )
            });
        }
        true
    }

    fn flags_and_modseq(&mut self, uid: u64, items: &FetchItems) {
        let before = self.messages.get(&uid).copied().unwrap_or_default();
        let exclusive = self.exclusive;
        let modseq = items.modseq.filter(|_| self.condstore);
        let store = match (self.command.store.as_mut(), items.flags) {
            (Some(store), Some(flags)) if store.before.contains_key(&uid) => {
                store.answers.insert(uid, (flags, modseq));
                Some((store.kind, store.operand, store.highest_modseq_before))
            }
            _ => None,
        };
        if let (Some(flags), None, Some(had), true) = (items.flags, store, before.flags, exclusive)
        {
            self.check(flags == had, || {
                format!(
                    "UID {uid} shows ({}), model has ({}) and this session stored nothing (the \
                     account is not shared)",
                    parse::flags_text(flags),
                    parse::flags_text(had)
                )
            });
        }
        if let Some(modseq) = modseq {
            if let Some(old) = before.modseq {
                // RFC 7162 §3.1: a message's mod-sequence only goes up...
                self.check(modseq >= old, || {
                    format!("UID {uid}: MODSEQ went from {old} down to {modseq}")
                });
            }
            // ...and goes up with every change of its flags.
            if let (Some(had), Some(old), Some(flags)) =
                (before.flags, before.flags_modseq, items.flags)
                && had != flags
            {
                self.check(modseq > old, || {
                    format!(
                        "UID {uid}: flags changed from ({}) at MODSEQ {old} to ({}) at MODSEQ \
                         {modseq}",
                        parse::flags_text(had),
                        parse::flags_text(flags)
                    )
                });
            }
            // With the account to itself, a change this STORE made is the newest of all.
            if exclusive
                && let (Some((_, _, Some(highest))), Some(had), Some(flags)) =
                    (store, before.flags, items.flags)
                && had != flags
            {
                self.check(modseq > highest, || {
                    format!(
                        "UID {uid}: STORE changed its flags with MODSEQ {modseq}, not above the \
                         HIGHESTMODSEQ {highest} known before"
                    )
                });
            }
            self.highest_modseq = Some(self.highest_modseq.unwrap_or(0).max(modseq));
        }
        let message = self.messages.entry(uid).or_default();
        if let Some(flags) = items.flags {
            message.flags = Some(flags);
            message.flags_modseq = modseq;
        }
        if modseq.is_some() {
            message.modseq = modseq.max(message.modseq);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::imap::mix::parse::{FLAGGED, LABEL2};

    /// A model after `SELECT` of `uids` (UIDNEXT one above the last) and the listing.
    fn selected(exclusive: bool, uids: &[u64]) -> Model {
        let mut model = Model::new(exclusive, true, true);
        model.begin_select(true);
        feed(&mut model, &format!("* {} EXISTS", uids.len()));
        let next = uids.last().copied().unwrap_or(0) + 1;
        feed(&mut model, "* OK [UIDVALIDITY 7] UIDs valid");
        feed(&mut model, &format!("* OK [UIDNEXT {next}] next"));
        feed(&mut model, "* OK [HIGHESTMODSEQ 100] modseq");
        model.end_select(b"a2 OK [READ-WRITE] SELECT done");
        for (index, uid) in uids.iter().enumerate() {
            feed(
                &mut model,
                &format!("* {} FETCH (UID {uid} FLAGS () MODSEQ (50))", index + 1),
            );
        }
        model.end_listing("UID FETCH 1:*");
        assert_eq!(model.take_violation(), None);
        model
    }

    fn feed(model: &mut Model, line: &str) -> Untagged {
        model.untagged(line.as_bytes())
    }

    #[test]
    fn expunge_shifts_the_sequence_numbers_after_it() {
        let mut model = selected(false, &[10, 20, 30, 40]);
        feed(&mut model, "* 2 EXPUNGE");
        assert_eq!(model.count(), 3);
        assert_eq!(model.uid_at(2), Some(30));
        assert_eq!(model.seq_of(40), Some(3));
        assert!(!model.contains(20));
        // The next EXPUNGE 2 names what was message 3.
        feed(&mut model, "* 2 EXPUNGE");
        assert_eq!(model.uid_at(2), Some(40));
        feed(&mut model, "* 2 FETCH (UID 40 FLAGS (\\Seen) MODSEQ (60))");
        assert_eq!(model.flags_of(40), Some(SEEN));
        assert_eq!(model.take_violation(), None);
        // Message 2 is now UID 40; a server that still calls it 30 is caught.
        feed(&mut model, "* 2 FETCH (UID 30 FLAGS ())");
        assert_eq!(
            model.take_violation().as_deref(),
            Some("message 2 reported UID 30, model has 40")
        );
        feed(&mut model, "* 3 EXPUNGE");
        assert_eq!(
            model.take_violation().as_deref(),
            Some("EXPUNGE 3, but the mailbox has 2 messages")
        );
    }

    #[test]
    fn new_messages_must_have_new_ascending_uids() {
        let mut model = selected(false, &[10, 20]);
        feed(&mut model, "* 4 EXISTS");
        assert_eq!(model.sync_from(), Some(21));
        // `UID FETCH 21:*` may also list the last known message (RFC 9051 §6.4.8).
        feed(&mut model, "* 2 FETCH (UID 20 FLAGS ())");
        feed(&mut model, "* 3 FETCH (UID 21 FLAGS ())");
        feed(&mut model, "* 4 FETCH (UID 25 FLAGS ())");
        assert_eq!(model.take_violation(), None);
        assert_eq!(model.sync_from(), None);
        // Another session's flag change may list a later new message first: the next sync
        // starts from the first unlisted one.
        feed(&mut model, "* 7 EXISTS");
        feed(&mut model, "* 6 FETCH (UID 40 FLAGS (\\Seen))");
        assert_eq!(model.sync_from(), Some(26));
        assert!(model.may_be_unlisted(27) && model.may_be_unlisted(45));
        assert!(!model.may_be_unlisted(22));
        feed(&mut model, "* 5 FETCH (UID 30 FLAGS ())");
        assert_eq!(model.sync_from(), Some(41));
        feed(&mut model, "* 7 FETCH (UID 41 FLAGS ())");
        assert_eq!(model.sync_from(), None);
        for _ in 0..3 {
            feed(&mut model, "* 5 EXPUNGE");
        }
        assert!(model.was_expunged(41) && model.was_expunged(30));
        assert_eq!(model.take_violation(), None);
        // An expunged UID is never given again, and UIDs ascend.
        feed(&mut model, "* 5 EXISTS");
        feed(&mut model, "* 5 FETCH (UID 24 FLAGS ())");
        assert_eq!(
            model.take_violation().as_deref(),
            Some("message 5 is new since UID 41 was listed (or UIDNEXT was 42), but has UID 24")
        );
        let mut model = selected(false, &[10, 20]);
        feed(&mut model, "* 4 EXISTS");
        feed(&mut model, "* 4 FETCH (UID 30 FLAGS ())");
        feed(&mut model, "* 3 FETCH (UID 31 FLAGS ())");
        assert_eq!(
            model.take_violation().as_deref(),
            Some("UIDs do not ascend: message 4 has UID 30, message 3 has UID 31")
        );
        let mut model = selected(false, &[10, 20]);
        feed(&mut model, "* 1 EXISTS");
        assert_eq!(
            model.take_violation().as_deref(),
            Some("EXISTS 1 after 2 messages, without EXPUNGE")
        );
    }

    #[test]
    fn store_results_follow_the_flags_asked() {
        let mut model = selected(true, &[10, 20, 30]);
        model.expect_store(StoreKind::Add, FLAGGED, &[10, 20]);
        feed(&mut model, "* 1 FETCH (FLAGS (\\Flagged) MODSEQ (101))");
        feed(
            &mut model,
            "* 2 FETCH (FLAGS (\\Flagged \\Recent) MODSEQ (102))",
        );
        model.end_command();
        assert_eq!(model.take_violation(), None);
        assert_eq!(
            model.search_answer(SearchKey::Flagged, true),
            Some(vec![10, 20])
        );
        assert_eq!(
            model.search_answer(SearchKey::Unseen, false),
            Some(vec![1, 2, 3])
        );
        model.expect_store(StoreKind::Replace, SEEN | LABEL2, &[20]);
        feed(
            &mut model,
            "* 2 FETCH (FLAGS (\\Seen $Label2) MODSEQ (103))",
        );
        model.end_command();
        assert_eq!(model.flags_of(20), Some(SEEN | LABEL2));
        // A STORE that sent no FETCH: the model applies what was asked.
        model.expect_store(StoreKind::Remove, SEEN, &[20]);
        model.end_command();
        assert_eq!(model.flags_of(20), Some(LABEL2));
        assert_eq!(model.take_violation(), None);
        // A flag the STORE did not set.
        model.expect_store(StoreKind::Add, SEEN, &[30]);
        feed(
            &mut model,
            "* 3 FETCH (FLAGS (\\Seen \\Answered) MODSEQ (104))",
        );
        model.end_command();
        assert_eq!(
            model.take_violation().as_deref(),
            Some(
                "STORE +FLAGS (\\Seen) on UID 30: FETCH shows (\\Seen \\Answered), model \
                 expects (\\Seen)"
            )
        );
        // A change with an old MODSEQ.
        model.expect_store(StoreKind::Add, FLAGGED, &[30]);
        feed(
            &mut model,
            "* 3 FETCH (FLAGS (\\Seen \\Answered \\Flagged) MODSEQ (103))",
        );
        assert_eq!(
            model.take_violation().as_deref(),
            Some("UID 30: MODSEQ went from 104 down to 103")
        );
        model.end_command();
        // Flags that change with no STORE of this session, on an account it has to itself.
        feed(&mut model, "* 1 FETCH (FLAGS () MODSEQ (110))");
        assert!(model.take_violation().unwrap().contains("stored nothing"));
    }

    #[test]
    fn shared_accounts_check_only_what_holds_under_concurrency() {
        let mut model = selected(false, &[10, 20]);
        // Another session's change, with a higher MODSEQ: fine.
        feed(&mut model, "* 1 FETCH (FLAGS (\\Seen) MODSEQ (120))");
        model.expect_store(StoreKind::Add, FLAGGED, &[20]);
        feed(
            &mut model,
            "* 2 FETCH (FLAGS (\\Flagged \\Seen) MODSEQ (121))",
        );
        model.end_command();
        assert_eq!(model.take_violation(), None);
        // Flags changed, MODSEQ did not.
        feed(&mut model, "* 2 FETCH (FLAGS () MODSEQ (121))");
        assert_eq!(
            model.take_violation().as_deref(),
            Some("UID 20: flags changed from (\\Seen \\Flagged) at MODSEQ 121 to () at MODSEQ 121")
        );
        // The flags after another session's later change (a higher MODSEQ): an answer.
        model.expect_store(StoreKind::Add, FLAGGED, &[10]);
        feed(&mut model, "* 1 FETCH (FLAGS (\\Seen) MODSEQ (130))");
        model.end_command();
        assert_eq!(model.take_violation(), None);
        // The same MODSEQ as before and not the flag asked: the STORE did nothing.
        model.expect_store(StoreKind::Add, FLAGGED, &[10]);
        feed(&mut model, "* 1 FETCH (FLAGS (\\Seen) MODSEQ (130))");
        model.end_command();
        assert_eq!(
            model.take_violation().as_deref(),
            Some(
                "STORE +FLAGS (\\Flagged) on UID 10: FETCH shows (\\Seen) at MODSEQ 130, which \
                 it already had before: the STORE was not applied"
            )
        );
        // A FETCH of other items carries a newer MODSEQ: the flags known are older than it.
        feed(&mut model, "* 1 FETCH (MODSEQ (140))");
        feed(&mut model, "* 1 FETCH (FLAGS (\\Seen) MODSEQ (140))");
        assert_eq!(model.take_violation(), None);
        // EXPUNGE during a FETCH by sequence number.
        model.forbid_expunge("FETCH");
        feed(&mut model, "* 1 EXPUNGE");
        assert_eq!(
            model.take_violation().as_deref(),
            Some("EXPUNGE 1 while answering FETCH (RFC 3501 §7.4.1)")
        );
        assert_eq!(model.end_command(), vec![10]);
    }

    #[test]
    fn appended_messages_are_checked_against_appenduid() {
        let mut model = selected(true, &[10, 20]);
        model.appended(7, 21, FLAGGED, 20);
        assert!(model.awaits_appended());
        feed(&mut model, "* 3 EXISTS");
        feed(
            &mut model,
            "* 3 FETCH (UID 21 FLAGS (\\Flagged) MODSEQ (140))",
        );
        model.end_listing("UID FETCH 21:*");
        assert_eq!(model.take_violation(), None);
        // A message nobody appended in this session.
        feed(&mut model, "* 4 EXISTS");
        feed(&mut model, "* 4 FETCH (UID 22 FLAGS () MODSEQ (141))");
        assert!(
            model
                .take_violation()
                .unwrap()
                .contains("this session appended no such message")
        );
        model.appended(8, 20, 0, 22);
        assert_eq!(
            model.take_violation().as_deref(),
            Some("APPENDUID gave UIDVALIDITY 8, SELECT gave Some(7)")
        );
        // Expunges this session asked for, and one it did not.
        model.expect_expunge([21].into_iter().collect());
        feed(&mut model, "* 3 EXPUNGE");
        assert_eq!(model.take_violation(), None);
        feed(&mut model, "* 1 EXPUNGE");
        assert!(model.take_violation().unwrap().contains("did not expunge"));
        assert_eq!(model.end_command(), vec![21, 10]);
        assert!(model.take_checks() > 10);
    }
}
