//! LIST with LIST-EXTENDED (RFC 5258 §3, RFC 9051 §6.3.9), SPECIAL-USE (RFC 6154 §3) and
//! LIST-STATUS (RFC 5819 §2); LSUB (RFC 3501 §6.3.9).

use super::lexer::{Lexed, Lexer};
use super::mailbox::MailboxName;
use super::mailboxes::{mailbox, status_items};
use super::types::{CommandBody, ListReturn, ListSelection};

/// Most patterns one LIST may give.
pub const LIST_PATTERNS_MAX: usize = 64;

/// `list = "LIST" [SP list-select-opts] SP mailbox SP mbox-or-pat [SP list-return-opts]`.
pub(super) fn list(lexer: &mut Lexer<'_>) -> Lexed<CommandBody> {
    lexer.sp().map_err(|_| "missing mailbox name")?;
    let mut extended = false;
    let selection = if lexer.peek() == Some(b'(') {
        extended = true;
        let selection = selection_options(lexer)?;
        lexer.sp()?;
        selection
    } else {
        ListSelection::default()
    };
    let reference = mailbox(lexer)?;
    lexer.sp().map_err(|_| "missing mailbox pattern")?;
    let patterns = if lexer.peek() == Some(b'(') {
        extended = true;
        pattern_list(lexer)?
    } else {
        vec![pattern(lexer)?]
    };
    let returns = if lexer.peek() == Some(b' ') {
        lexer.sp()?;
        if !lexer.word().eq_ignore_ascii_case(b"RETURN") {
            return Err("expected RETURN");
        }
        extended = true;
        lexer.sp()?;
        return_options(lexer)?
    } else {
        ListReturn::default()
    };
    lexer.end()?;
    Ok(CommandBody::List {
        reference,
        patterns,
        selection,
        returns,
        extended,
    })
}

/// `lsub = "LSUB" SP mailbox SP list-mailbox`.
pub(super) fn lsub(lexer: &mut Lexer<'_>) -> Lexed<CommandBody> {
    lexer.sp().map_err(|_| "missing mailbox name")?;
    let reference = mailbox(lexer)?;
    lexer.sp().map_err(|_| "missing mailbox pattern")?;
    let pattern = pattern(lexer)?;
    lexer.end()?;
    Ok(CommandBody::Lsub { reference, pattern })
}

fn pattern(lexer: &mut Lexer<'_>) -> Lexed<MailboxName> {
    let pattern = lexer.list_mailbox()?;
    Ok(MailboxName::new(pattern.into_owned()))
}

/// `patterns = "(" list-mailbox *(SP list-mailbox) ")"`.
fn pattern_list(lexer: &mut Lexer<'_>) -> Lexed<Vec<MailboxName>> {
    lexer.expect(b'(', "expected a pattern list")?;
    let mut patterns = Vec::new();
    loop {
        if patterns.len() == LIST_PATTERNS_MAX {
            return Err("too many patterns");
        }
        patterns.push(pattern(lexer)?);
        if lexer.eat(b')') {
            return Ok(patterns);
        }
        lexer.sp()?;
    }
}

/// `list-select-opts = "(" [list-select-opt *(SP list-select-opt)] ")"`. Unknown options are
/// refused (RFC 5258 §3.1: the server MUST return BAD), and so is RECURSIVEMATCH without the
/// only base option, SUBSCRIBED.
fn selection_options(lexer: &mut Lexer<'_>) -> Lexed<ListSelection> {
    lexer.expect(b'(', "expected selection options")?;
    let mut selection = ListSelection::default();
    if !lexer.eat(b')') {
        loop {
            let word = lexer.word().to_ascii_uppercase();
            match word.as_slice() {
                b"SUBSCRIBED" => selection.subscribed = true,
                b"REMOTE" => selection.remote = true,
                b"RECURSIVEMATCH" => selection.recursive_match = true,
                b"SPECIAL-USE" => selection.special_use = true,
                _ => return Err("unknown LIST selection option"),
            }
            if lexer.eat(b')') {
                break;
            }
            lexer.sp()?;
        }
    }
    if selection.recursive_match && !selection.subscribed {
        return Err("RECURSIVEMATCH needs SUBSCRIBED");
    }
    Ok(selection)
}

/// `list-return-opts = "RETURN" SP "(" [return-option *(SP return-option)] ")"`, after RETURN.
fn return_options(lexer: &mut Lexer<'_>) -> Lexed<ListReturn> {
    lexer.expect(b'(', "expected return options")?;
    let mut returns = ListReturn::default();
    if lexer.eat(b')') {
        return Ok(returns);
    }
    loop {
        let word = lexer.word().to_ascii_uppercase();
        match word.as_slice() {
            b"SUBSCRIBED" => returns.subscribed = true,
            b"CHILDREN" => returns.children = true,
            b"SPECIAL-USE" => returns.special_use = true,
            b"STATUS" => {
                lexer.sp()?;
                let items = status_items(lexer)?;
                if returns.status.replace(items).is_some() {
                    return Err("duplicate STATUS return option");
                }
            }
            _ => return Err("unknown LIST return option"),
        }
        if lexer.eat(b')') {
            return Ok(returns);
        }
        lexer.sp()?;
    }
}
