//! RFC 6154 special-use attributes of mailboxes (`\Drafts`, `\Sent`, ...), for LIST's
//! SPECIAL-USE and CREATE-SPECIAL-USE.
//!
//! A mailbox holds at most one attribute, and an account at most one mailbox per attribute:
//! RFC 6154 §3 lets a server refuse a CREATE (or a change) that would give an attribute to a
//! second mailbox, with the `USEATTR` response code (`StoreError::SpecialUseTaken`). The
//! attribute is set when the mailbox is created (the create record carries it, so a crash
//! cannot leave the mailbox without it) or later by a special-use record (type 12). It does
//! not change MODSEQs: it is a property of the mailbox, not of its messages. Renaming keeps
//! it; deleting frees it.
//!
//! Claims are checked in the write path against the durable state and against the records in
//! flight (`State::reserved_special_uses`), so a record never meets a holder when it is
//! applied live. In replay after damage it can (the record that freed the attribute may be
//! lost): the later record wins, since it was valid when written, and the anomaly is reported.

use crate::disk::Disk;
use crate::error::StoreError;
use crate::ids::{AccountKey, MailboxKey};
use crate::log::Durable;
use crate::mailbox::{Account, Anomaly, State};
use crate::record::Record;
use crate::store::{Prepared, Store};

/// RFC 6154 §2 mailbox attributes. The discriminant is the on-disk code (0 is "none").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum SpecialUse {
    All = 1,
    Archive = 2,
    Drafts = 3,
    Flagged = 4,
    Junk = 5,
    Sent = 6,
    Trash = 7,
}

impl SpecialUse {
    /// Every attribute, in RFC 6154 §2 order.
    pub const EVERY: [SpecialUse; 7] = [
        SpecialUse::All,
        SpecialUse::Archive,
        SpecialUse::Drafts,
        SpecialUse::Flagged,
        SpecialUse::Junk,
        SpecialUse::Sent,
        SpecialUse::Trash,
    ];

    /// The attribute as IMAP writes it (`\Drafts`).
    pub fn name(self) -> &'static str {
        match self {
            SpecialUse::All => "\\All",
            SpecialUse::Archive => "\\Archive",
            SpecialUse::Drafts => "\\Drafts",
            SpecialUse::Flagged => "\\Flagged",
            SpecialUse::Junk => "\\Junk",
            SpecialUse::Sent => "\\Sent",
            SpecialUse::Trash => "\\Trash",
        }
    }

    /// An attribute name with its backslash, in any case (IMAP flags and attributes are
    /// case-insensitive); `None` for anything else.
    pub fn parse(text: &str) -> Option<Self> {
        Self::EVERY
            .into_iter()
            .find(|special_use| special_use.name().eq_ignore_ascii_case(text))
    }

    /// The on-disk code (1 to 7).
    pub(crate) fn code(self) -> u8 {
        self as u8
    }

    /// The attribute with on-disk code `code`, if there is one (0 is not an attribute).
    pub(crate) fn from_code(code: u8) -> Option<Self> {
        Self::EVERY
            .into_iter()
            .find(|special_use| special_use.code() == code)
    }
}

impl std::fmt::Display for SpecialUse {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(self.name())
    }
}

impl<D: Disk + 'static> Store<D> {
    /// Gives `mailbox` the attribute `special_use`, replacing the one it had (`None` clears
    /// it). Refused with `SpecialUseTaken` while another mailbox of the account holds it or
    /// is being given it. MODSEQs do not change. Setting what the mailbox already has writes
    /// nothing; the receipt then covers every write before.
    pub async fn set_special_use(
        &self,
        mailbox: MailboxKey,
        special_use: Option<SpecialUse>,
    ) -> Result<Durable, StoreError> {
        let ((), _, durable) = self
            .write_observed(|state| prepare_set(state, mailbox, special_use))
            .await?;
        Ok(durable)
    }

    /// The mailbox of `account` that holds `special_use`, if any.
    pub fn special_use_mailbox(
        &self,
        account: AccountKey,
        special_use: SpecialUse,
    ) -> Option<MailboxKey> {
        let state = self.state.borrow();
        holder(state.accounts.get(&account)?, special_use)
    }
}

fn prepare_set(
    state: &mut State,
    mailbox: MailboxKey,
    special_use: Option<SpecialUse>,
) -> Result<Prepared<()>, StoreError> {
    let current = state
        .accounts
        .get(&mailbox.account)
        .ok_or(StoreError::NoSuchAccount)?
        .mailboxes
        .get(&mailbox.mailbox)
        .ok_or(StoreError::NoSuchMailbox)?
        .special_use;
    if current == special_use {
        return Ok(Prepared::Nothing(()));
    }
    if let Some(special_use) = special_use {
        claim(state, mailbox, special_use)?;
    }
    let record = Record::MailboxSpecialUse {
        mailbox,
        special_use,
    };
    Ok(Prepared::Append(record, ()))
}

/// Claims `special_use` for `mailbox` (existing or being created) in the write path: refused
/// while another mailbox of the account holds it durably or a record in flight gives it to
/// another mailbox. The claim lasts until a record giving it is applied. Call it as the last
/// check before appending: a refusal after it would leave the claim behind.
pub(crate) fn claim(
    state: &mut State,
    mailbox: MailboxKey,
    special_use: SpecialUse,
) -> Result<(), StoreError> {
    let account = state
        .accounts
        .get(&mailbox.account)
        .ok_or(StoreError::NoSuchAccount)?;
    let held = holder(account, special_use).is_some_and(|key| key != mailbox);
    let claimed = state
        .reserved_special_uses
        .get(&(mailbox.account, special_use))
        .is_some_and(|number| *number != mailbox.mailbox);
    if held || claimed {
        return Err(StoreError::SpecialUseTaken);
    }
    state
        .reserved_special_uses
        .insert((mailbox.account, special_use), mailbox.mailbox);
    Ok(())
}

/// The mailbox of `account` holding `special_use`. A scan: accounts have few mailboxes and
/// this runs per special-use change or lookup, never per message.
fn holder(account: &Account, special_use: SpecialUse) -> Option<MailboxKey> {
    account
        .mailboxes
        .values()
        .find(|mailbox| mailbox.special_use == Some(special_use))
        .map(|mailbox| mailbox.key)
}

impl State {
    /// Applies a special-use change (type 12, or the attribute of a create record): releases
    /// the writer's claim and gives the attribute. If another mailbox holds it (replay after
    /// lost records only), that one loses it and `SpecialUseTaken` reports it.
    pub(crate) fn apply_special_use(
        &mut self,
        mailbox: MailboxKey,
        special_use: Option<SpecialUse>,
    ) -> Result<(), Anomaly> {
        self.release_special_use(mailbox, special_use);
        self.give_special_use(mailbox, special_use)
    }

    /// Ends the claim of the writer of a record giving `special_use` to `mailbox`, as the
    /// record is applied (whether it fits or not).
    pub(crate) fn release_special_use(
        &mut self,
        mailbox: MailboxKey,
        special_use: Option<SpecialUse>,
    ) {
        if let Some(special_use) = special_use {
            let claim = (mailbox.account, special_use);
            if self.reserved_special_uses.get(&claim) == Some(&mailbox.mailbox) {
                self.reserved_special_uses.remove(&claim);
            }
        }
    }

    /// Gives `mailbox` the attribute; another holder loses it (`SpecialUseTaken`).
    pub(crate) fn give_special_use(
        &mut self,
        mailbox: MailboxKey,
        special_use: Option<SpecialUse>,
    ) -> Result<(), Anomaly> {
        let account = self
            .accounts
            .get_mut(&mailbox.account)
            .ok_or(Anomaly::Missing)?;
        if !account.mailboxes.contains_key(&mailbox.mailbox) {
            return Err(Anomaly::Missing);
        }
        let mut taken = false;
        if special_use.is_some() {
            for other in account.mailboxes.values_mut() {
                if other.key != mailbox && other.special_use == special_use {
                    other.special_use = None;
                    taken = true;
                }
            }
        }
        if let Some(target) = account.mailboxes.get_mut(&mailbox.mailbox) {
            target.special_use = special_use;
        }
        match taken {
            true => Err(Anomaly::SpecialUseTaken),
            false => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::Location;

    #[test]
    fn names_parse_in_any_case_and_codes_round_trip() {
        for special_use in SpecialUse::EVERY {
            assert_eq!(SpecialUse::parse(special_use.name()), Some(special_use));
            let upper = special_use.name().to_ascii_uppercase();
            assert_eq!(SpecialUse::parse(&upper), Some(special_use));
            assert_eq!(SpecialUse::from_code(special_use.code()), Some(special_use));
            assert!(special_use.name().starts_with('\\'));
        }
        assert_eq!(SpecialUse::parse("\\drafts"), Some(SpecialUse::Drafts));
        assert_eq!(SpecialUse::parse("\\JUNK"), Some(SpecialUse::Junk));
        for other in ["Drafts", "\\Inbox", "\\Noselect", "", "\\", "\\Sent "] {
            assert_eq!(SpecialUse::parse(other), None, "{other:?}");
        }
        assert_eq!(SpecialUse::from_code(0), None);
        assert_eq!(SpecialUse::from_code(8), None);
        assert_eq!(SpecialUse::Trash.to_string(), "\\Trash");
    }

    fn key(mailbox: u32) -> MailboxKey {
        MailboxKey {
            account: AccountKey {
                partition: 1,
                account: 0,
            },
            mailbox,
        }
    }

    fn apply(state: &mut State, record: Record<'_>) -> Result<Option<MailboxKey>, Anomaly> {
        state.apply(
            Location {
                sequence: 1,
                offset: 64,
            },
            &record,
        )
    }

    fn special_use(state: &State, mailbox: u32) -> Option<SpecialUse> {
        state.mailbox(key(mailbox)).expect("mailbox").special_use
    }

    /// A record giving an attribute that another mailbox holds cannot be written live; in a
    /// replay that lost the record freeing it, the later record wins and it is reported.
    #[test]
    fn replay_gives_a_held_attribute_to_the_later_record_and_reports_it() {
        let mut state = State::default();
        let account = Record::Account {
            account: key(0).account,
            name: "fay@example.org".into(),
            quota_octets_max: 0,
            quota_messages_max: 0,
        };
        apply(&mut state, account).expect("account");
        let create = |mailbox, name: &str, special_use| Record::MailboxCreate {
            mailbox: key(mailbox),
            name: name.into(),
            uid_validity: mailbox,
            special_use,
        };
        let sent = Some(SpecialUse::Sent);
        apply(&mut state, create(1, "Sent", sent)).expect("create");
        assert_eq!(special_use(&state, 1), sent);
        // A create is applied even so: the mailbox exists, with the attribute.
        assert_eq!(
            apply(&mut state, create(2, "Sent Items", sent)),
            Err(Anomaly::SpecialUseTaken)
        );
        assert_eq!(
            (special_use(&state, 1), special_use(&state, 2)),
            (None, sent)
        );
        let set = |mailbox, special_use| Record::MailboxSpecialUse {
            mailbox: key(mailbox),
            special_use,
        };
        assert_eq!(
            apply(&mut state, set(1, sent)),
            Err(Anomaly::SpecialUseTaken)
        );
        assert_eq!(
            (special_use(&state, 1), special_use(&state, 2)),
            (sent, None)
        );
        // Replacing, clearing and a missing mailbox.
        let drafts = Some(SpecialUse::Drafts);
        apply(&mut state, set(1, drafts)).expect("replace");
        apply(&mut state, set(2, sent)).expect("free again");
        apply(&mut state, set(2, None)).expect("clear");
        assert_eq!(
            (special_use(&state, 1), special_use(&state, 2)),
            (drafts, None)
        );
        assert_eq!(apply(&mut state, set(9, sent)), Err(Anomaly::Missing));
        // Renaming keeps the attribute; deleting frees it.
        let rename = Record::MailboxRename {
            mailbox: key(1),
            name: "Entwürfe".into(),
        };
        apply(&mut state, rename).expect("rename");
        assert_eq!(special_use(&state, 1), drafts);
        apply(&mut state, Record::MailboxDelete { mailbox: key(1) }).expect("delete");
        apply(&mut state, set(2, drafts)).expect("freed by the delete");
    }
}
