//! Commands on mailboxes as wholes: SELECT / EXAMINE with CONDSTORE and QRESYNC (RFC 3501
//! §6.3.1, RFC 7162 §3.1.8, §3.2.5), CREATE with USE (RFC 6154 §5), DELETE, RENAME, SUBSCRIBE,
//! UNSUBSCRIBE, STATUS (RFC 3501 §6.3.10 and its extensions) and QUOTA (RFC 9208 §4).

use super::lexer::{Lexed, Lexer};
use super::mailbox::MailboxName;
use super::sequence::{KNOWN_SET, sequence_set};
use super::types::{CommandBody, Qresync, StatusItem};

/// Most STATUS items one command may list (repeats included).
pub const STATUS_ITEMS_MAX: usize = 32;

/// Most special-use attributes one CREATE may give.
pub const SPECIAL_USE_MAX: usize = 16;

/// Most resources one SETQUOTA may set.
pub const QUOTA_RESOURCES_MAX: usize = 16;

/// Longest quota root name.
pub const QUOTA_ROOT_OCTETS_MAX: usize = 1024;

/// `mailbox = "INBOX" / astring`; decoding waits for the session (see [`MailboxName`]).
pub(super) fn mailbox(lexer: &mut Lexer<'_>) -> Lexed<MailboxName> {
    let name = lexer.astring_or("missing mailbox name")?;
    Ok(MailboxName::new(name.into_owned()))
}

/// `SP mailbox`, with a clear reason when the mailbox is missing.
fn sp_mailbox(lexer: &mut Lexer<'_>) -> Lexed<MailboxName> {
    lexer.sp().map_err(|_| "missing mailbox name")?;
    mailbox(lexer)
}

/// DELETE, SUBSCRIBE, UNSUBSCRIBE and GETQUOTAROOT: a single mailbox argument.
pub(super) fn single_mailbox(lexer: &mut Lexer<'_>) -> Lexed<MailboxName> {
    let mailbox = sp_mailbox(lexer)?;
    lexer.end()?;
    Ok(mailbox)
}

/// `select = "SELECT" SP mailbox [select-params]` (RFC 4466 §2.1), also for EXAMINE.
pub(super) fn select(lexer: &mut Lexer<'_>, examine: bool) -> Lexed<CommandBody> {
    let mailbox = sp_mailbox(lexer)?;
    let mut condstore = false;
    let mut qresync = None;
    if lexer.peek() == Some(b' ') {
        lexer.sp()?;
        lexer.expect(b'(', "expected SELECT parameters")?;
        loop {
            let word = lexer.word();
            if word.eq_ignore_ascii_case(b"CONDSTORE") {
                condstore = true;
            } else if word.eq_ignore_ascii_case(b"QRESYNC") {
                lexer.sp()?;
                if qresync.replace(qresync_parameter(lexer)?).is_some() {
                    return Err("duplicate QRESYNC parameter");
                }
            } else {
                return Err("unknown SELECT parameter");
            }
            if lexer.eat(b')') {
                break;
            }
            lexer.sp()?;
        }
    }
    lexer.end()?;
    Ok(if examine {
        CommandBody::Examine {
            mailbox,
            condstore,
            qresync,
        }
    } else {
        CommandBody::Select {
            mailbox,
            condstore,
            qresync,
        }
    })
}

/// `"(" uidvalidity SP mod-sequence-value [SP known-uids] [SP seq-match-data] ")"`.
fn qresync_parameter(lexer: &mut Lexer<'_>) -> Lexed<Qresync> {
    lexer.expect(b'(', "expected QRESYNC data")?;
    let uid_validity = lexer.nz_number().map_err(|_| "invalid UIDVALIDITY")?;
    lexer.sp()?;
    let modseq = lexer.nz_number64().map_err(|_| "invalid mod-sequence")?;
    let mut known_uids = None;
    let mut seq_match = None;
    if lexer.peek() == Some(b' ') && lexer.peek_at(1) != Some(b'(') {
        lexer.sp()?;
        known_uids = Some(sequence_set(lexer, KNOWN_SET)?);
    }
    if lexer.peek() == Some(b' ') {
        lexer.sp()?;
        lexer.expect(b'(', "expected sequence match data")?;
        let sequence_numbers = sequence_set(lexer, KNOWN_SET)?;
        lexer.sp()?;
        let uids = sequence_set(lexer, KNOWN_SET)?;
        lexer.expect(b')', "expected ) after sequence match data")?;
        seq_match = Some((sequence_numbers, uids));
    }
    lexer.expect(b')', "expected ) after QRESYNC data")?;
    Ok(Qresync {
        uid_validity,
        modseq,
        known_uids,
        seq_match,
    })
}

/// `create = "CREATE" SP mailbox [SP "(" create-param *(SP create-param) ")"]`, the only
/// parameter known being `USE (use-attr ...)` (RFC 6154 §5).
pub(super) fn create(lexer: &mut Lexer<'_>) -> Lexed<CommandBody> {
    let mailbox = sp_mailbox(lexer)?;
    let mut special_use = Vec::new();
    if lexer.peek() == Some(b' ') {
        lexer.sp()?;
        lexer.expect(b'(', "expected CREATE parameters")?;
        loop {
            if !lexer.word().eq_ignore_ascii_case(b"USE") {
                return Err("unknown CREATE parameter");
            }
            lexer.sp()?;
            use_attributes(lexer, &mut special_use)?;
            if lexer.eat(b')') {
                break;
            }
            lexer.sp()?;
        }
    }
    lexer.end()?;
    Ok(CommandBody::Create {
        mailbox,
        special_use,
    })
}

/// `"(" [use-attr *(SP use-attr)] ")"`, `use-attr = "\" atom`.
fn use_attributes(lexer: &mut Lexer<'_>, attributes: &mut Vec<String>) -> Lexed<()> {
    const KNOWN: [&str; 7] = [
        "\\All",
        "\\Archive",
        "\\Drafts",
        "\\Flagged",
        "\\Junk",
        "\\Sent",
        "\\Trash",
    ];
    lexer.expect(b'(', "expected special-use attributes")?;
    if lexer.eat(b')') {
        return Ok(());
    }
    loop {
        if attributes.len() == SPECIAL_USE_MAX {
            return Err("too many special-use attributes");
        }
        lexer.expect(b'\\', "expected a special-use attribute")?;
        let name = lexer
            .atom_str()
            .map_err(|_| "expected a special-use attribute")?;
        let known = KNOWN
            .iter()
            .find(|known| known[1..].eq_ignore_ascii_case(name));
        attributes.push(match known {
            Some(known) => (*known).to_owned(),
            None => format!("\\{name}"),
        });
        if lexer.eat(b')') {
            return Ok(());
        }
        lexer.sp()?;
    }
}

/// `rename = "RENAME" SP mailbox SP mailbox`.
pub(super) fn rename(lexer: &mut Lexer<'_>) -> Lexed<CommandBody> {
    let from = sp_mailbox(lexer)?;
    let to = sp_mailbox(lexer)?;
    lexer.end()?;
    Ok(CommandBody::Rename { from, to })
}

/// `status = "STATUS" SP mailbox SP "(" status-att *(SP status-att) ")"`.
pub(super) fn status(lexer: &mut Lexer<'_>) -> Lexed<CommandBody> {
    let mailbox = sp_mailbox(lexer)?;
    lexer.sp().map_err(|_| "missing status items")?;
    let items = status_items(lexer)?;
    lexer.end()?;
    Ok(CommandBody::Status { mailbox, items })
}

/// `"(" status-att *(SP status-att) ")"`, repeats kept once.
pub(super) fn status_items(lexer: &mut Lexer<'_>) -> Lexed<Vec<StatusItem>> {
    lexer.expect(b'(', "expected a list of status items")?;
    let mut items = Vec::new();
    let mut count = 0;
    loop {
        count += 1;
        if count > STATUS_ITEMS_MAX {
            return Err("too many status items");
        }
        let word = lexer.word().to_ascii_uppercase();
        let item = match word.as_slice() {
            b"MESSAGES" => StatusItem::Messages,
            b"RECENT" => StatusItem::Recent,
            b"UIDNEXT" => StatusItem::UidNext,
            b"UIDVALIDITY" => StatusItem::UidValidity,
            b"UNSEEN" => StatusItem::Unseen,
            b"DELETED" => StatusItem::Deleted,
            b"DELETED-STORAGE" => StatusItem::DeletedStorage,
            b"SIZE" => StatusItem::Size,
            b"HIGHESTMODSEQ" => StatusItem::HighestModSeq,
            b"APPENDLIMIT" => StatusItem::AppendLimit,
            b"MAILBOXID" => StatusItem::MailboxId,
            b"" => return Err("expected a status item"),
            _ => return Err("unknown status item"),
        };
        if !items.contains(&item) {
            items.push(item);
        }
        if lexer.eat(b')') {
            return Ok(items);
        }
        lexer.sp()?;
    }
}

/// `quota-root-name = astring`.
fn quota_root(lexer: &mut Lexer<'_>) -> Lexed<String> {
    lexer.sp().map_err(|_| "missing quota root")?;
    let root = lexer.astring_or("missing quota root")?;
    if root.len() > QUOTA_ROOT_OCTETS_MAX {
        return Err("quota root too long");
    }
    String::from_utf8(root.into_owned()).map_err(|_| "quota root is not valid UTF-8")
}

/// `getquota = "GETQUOTA" SP quota-root-name`.
pub(super) fn get_quota(lexer: &mut Lexer<'_>) -> Lexed<CommandBody> {
    let root = quota_root(lexer)?;
    lexer.end()?;
    Ok(CommandBody::GetQuota { root })
}

/// `setquota = "SETQUOTA" SP quota-root-name SP "(" [resource-name SP resource-limit ...] ")"`.
pub(super) fn set_quota(lexer: &mut Lexer<'_>) -> Lexed<CommandBody> {
    let root = quota_root(lexer)?;
    lexer.sp()?;
    lexer.expect(b'(', "expected a list of quota limits")?;
    let mut limits = Vec::new();
    if !lexer.eat(b')') {
        loop {
            if limits.len() == QUOTA_RESOURCES_MAX {
                return Err("too many quota resources");
            }
            let name = lexer.atom_str().map_err(|_| "expected a resource name")?;
            let name = name.to_ascii_uppercase();
            lexer.sp()?;
            let limit = lexer.number64()?;
            limits.push((name, limit));
            if lexer.eat(b')') {
                break;
            }
            lexer.sp()?;
        }
    }
    lexer.end()?;
    Ok(CommandBody::SetQuota { root, limits })
}
