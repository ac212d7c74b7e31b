//! Commands on messages of the selected mailbox, apart from FETCH and SEARCH: STORE with
//! UNCHANGEDSINCE (RFC 3501 §6.4.6, RFC 7162 §3.1.3), COPY, MOVE (RFC 6851 §3) and UID EXPUNGE
//! (RFC 4315 §2.1).

use super::flag::{flag_list, push_flag, storable_flag};
use super::lexer::{Lexed, Lexer};
use super::mailboxes::mailbox;
use super::sequence::sp_sequence_set;
use super::types::{CommandBody, StoreOperation};

/// `store = "STORE" SP sequence-set [store-modifiers] SP store-att-flags` (RFC 4466 §2.5).
pub(super) fn store(lexer: &mut Lexer<'_>, uid: bool) -> Lexed<CommandBody> {
    let set = sp_sequence_set(lexer)?;
    lexer.sp()?;
    let mut unchanged_since = None;
    if lexer.eat(b'(') {
        loop {
            if !lexer.word().eq_ignore_ascii_case(b"UNCHANGEDSINCE") {
                return Err("unknown STORE modifier");
            }
            lexer.sp()?;
            // RFC 7162 §7: mod-sequence-valzer, so 0 is allowed.
            let modseq = lexer.number64().map_err(|_| "invalid mod-sequence")?;
            if unchanged_since.replace(modseq).is_some() {
                return Err("duplicate UNCHANGEDSINCE");
            }
            if lexer.eat(b')') {
                break;
            }
            lexer.sp()?;
        }
        lexer.sp()?;
    }
    let operation = if lexer.eat(b'+') {
        StoreOperation::Add
    } else if lexer.eat(b'-') {
        StoreOperation::Remove
    } else {
        StoreOperation::Replace
    };
    let word = lexer.word();
    let silent = if word.eq_ignore_ascii_case(b"FLAGS") {
        false
    } else if word.eq_ignore_ascii_case(b"FLAGS.SILENT") {
        true
    } else {
        return Err("expected FLAGS, +FLAGS or -FLAGS");
    };
    lexer.sp().map_err(|_| "missing flags")?;
    let flags = if lexer.peek() == Some(b'(') {
        flag_list(lexer)?
    } else {
        let mut flags = Vec::new();
        loop {
            push_flag(&mut flags, storable_flag(lexer)?)?;
            if lexer.peek() != Some(b' ') {
                break;
            }
            lexer.sp()?;
        }
        flags
    };
    lexer.end()?;
    Ok(CommandBody::Store {
        uid,
        set,
        unchanged_since,
        operation,
        silent,
        flags,
    })
}

/// `copy = "COPY" SP sequence-set SP mailbox`, and MOVE with the same arguments.
pub(super) fn copy_or_move(lexer: &mut Lexer<'_>, uid: bool, is_move: bool) -> Lexed<CommandBody> {
    let set = sp_sequence_set(lexer)?;
    lexer.sp().map_err(|_| "missing mailbox name")?;
    let mailbox = mailbox(lexer)?;
    lexer.end()?;
    Ok(if is_move {
        CommandBody::Move { uid, set, mailbox }
    } else {
        CommandBody::Copy { uid, set, mailbox }
    })
}

/// `uid-expunge = "UID" SP "EXPUNGE" SP sequence-set`.
pub(super) fn uid_expunge(lexer: &mut Lexer<'_>) -> Lexed<CommandBody> {
    let set = sp_sequence_set(lexer)?;
    lexer.end()?;
    Ok(CommandBody::UidExpunge(set))
}
