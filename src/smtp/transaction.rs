//! MAIL and RCPT (RFC 5321 §4.1.1.2, §4.1.1.3) and the driver's recipient answers.

use super::address::{Path, PathError, parse_path};
use super::config::Mode;
use super::event::{Envelope, Event, Recipient, RecipientCheck};
use super::params::{self, Negotiated, ParameterError};
use super::reply;
use super::session::{PendingRecipient, Phase, Session, Transaction};
use crate::accounts::normalise_address;

impl Session {
    fn negotiated(&self) -> Negotiated {
        Negotiated {
            extended: self
                .greeting
                .as_ref()
                .is_some_and(|greeting| greeting.extended),
            authenticated: self.user.is_some(),
        }
    }

    fn hello_first(&mut self, out: &mut Vec<u8>) -> Option<Event> {
        let text = if self.config.mode == Mode::Lmtp {
            "Send LHLO first"
        } else {
            "Send EHLO or HELO first"
        };
        self.reject(out, 503, "5.5.1", text)
    }

    pub(super) fn mail(&mut self, arguments: &str, out: &mut Vec<u8>) -> Option<Event> {
        if self.greeting.is_none() {
            return self.hello_first(out);
        }
        if self.transaction.is_some() {
            return self.reject(out, 503, "5.5.1", "Nested MAIL command");
        }
        if self.config.auth_required && self.user.is_none() {
            return self.reject(out, 530, "5.7.0", "Authentication required");
        }
        let Some(path_text) = strip_keyword(arguments, "FROM:") else {
            return self.reject(out, 501, "5.5.2", "Syntax: MAIL FROM:<address>");
        };
        let (path, rest) = match parse_path(path_text) {
            Ok(parsed) => parsed,
            Err(PathError::TooLong) => {
                return self.reject(out, 501, "5.1.7", "Sender address too long");
            }
            Err(PathError::Syntax) => {
                return self.reject(out, 501, "5.1.7", "Bad sender address syntax");
            }
        };
        let reverse_path = match path {
            Path::Null => String::new(),
            Path::Mailbox(mailbox) => mailbox.address,
            Path::Postmaster => return self.reject(out, 501, "5.1.7", "Bad sender address syntax"),
        };
        if !rest.is_empty() && !rest.starts_with(' ') {
            return self.reject(
                out,
                501,
                "5.5.2",
                "Syntax: MAIL FROM:<address> [parameters]",
            );
        }
        let parameters = match params::parse_mail(rest, self.negotiated()) {
            Ok(parameters) => parameters,
            Err(error) => return self.parameter_error(error, out),
        };
        // RFC 6531 §3.5: a non-ASCII sender needs SMTPUTF8; 550 with X.6.7.
        if !reverse_path.is_ascii() && !parameters.smtputf8 {
            return self.reject(out, 550, "5.6.7", "Non-ASCII address requires SMTPUTF8");
        }
        // RFC 1870 §6.2: a declared size over the limit is refused at once.
        if parameters
            .size_octets
            .is_some_and(|size| size > self.config.limits.message_octets_max)
        {
            return self.reject(
                out,
                552,
                "5.3.4",
                "Message size exceeds fixed maximum message size",
            );
        }
        self.transaction = Some(Transaction {
            envelope: Envelope {
                reverse_path,
                parameters,
                recipients: Vec::new(),
            },
            started: false,
            chunked: false,
            octets: 0,
            refusal: None,
            hold: None,
        });
        reply::write(out, 250, "2.1.0", "Sender OK");
        None
    }

    pub(super) fn rcpt(&mut self, arguments: &str, out: &mut Vec<u8>) -> Option<Event> {
        let Some(transaction) = &self.transaction else {
            return self.reject(out, 503, "5.5.1", "Need MAIL command first");
        };
        if transaction.started {
            return self.reject(out, 503, "5.5.1", "RCPT not allowed after message content");
        }
        let smtputf8 = transaction.envelope.parameters.smtputf8;
        let accepted = transaction.envelope.recipients.len();
        let Some(path_text) = strip_keyword(arguments, "TO:") else {
            return self.reject(out, 501, "5.5.2", "Syntax: RCPT TO:<address>");
        };
        let (path, rest) = match parse_path(path_text) {
            Ok(parsed) => parsed,
            Err(PathError::TooLong) => {
                return self.reject(out, 501, "5.1.3", "Recipient address too long");
            }
            Err(PathError::Syntax) => {
                return self.reject(out, 501, "5.1.3", "Bad recipient address syntax");
            }
        };
        if !rest.is_empty() && !rest.starts_with(' ') {
            return self.reject(out, 501, "5.5.2", "Syntax: RCPT TO:<address> [parameters]");
        }
        let parameters = match params::parse_rcpt(rest, self.negotiated()) {
            Ok(parameters) => parameters,
            Err(error) => return self.parameter_error(error, out),
        };
        // RFC 5321 §4.5.3.1.10: 452 for too many recipients; the client sends the rest later.
        // Not counted as an error.
        if accepted >= self.config.limits.recipients_max {
            reply::write(out, 452, "4.5.3", "Too many recipients");
            return None;
        }
        let mailbox = match path {
            Path::Null => return self.reject(out, 501, "5.1.3", "Bad recipient address syntax"),
            // RFC 5321 §4.1.1.3: <Postmaster> must be accepted; it is postmaster at our name.
            Path::Postmaster => format!("postmaster@{}", self.config.hostname),
            Path::Mailbox(mailbox) => {
                // RFC 6531 §3.5: 553 with X.6.7.
                if !mailbox.is_ascii() && !smtputf8 {
                    return self.reject(out, 553, "5.6.7", "Non-ASCII address requires SMTPUTF8");
                }
                if mailbox.domain_is_literal {
                    return self.refuse_not_local(out);
                }
                mailbox.address
            }
        };
        let Ok(address) = normalise_address(&mailbox) else {
            // Valid SMTP, but no account can have this address.
            return self.reject(out, 550, "5.1.1", "No such user here");
        };
        self.phase = Phase::AwaitRecipient(PendingRecipient {
            address: address.clone(),
            parameters,
        });
        Some(Event::Recipient { address })
    }

    /// Answers [`Event::Recipient`]: the directory's verdict for the address.
    pub fn recipient_checked(&mut self, check: RecipientCheck, out: &mut Vec<u8>) {
        let Phase::AwaitRecipient(pending) = std::mem::replace(&mut self.phase, Phase::Command)
        else {
            panic!("driver bug: recipient_checked() without Event::Recipient");
        };
        let event = match check {
            RecipientCheck::Local(accounts) if !accounts.is_empty() => {
                let transaction = self
                    .transaction
                    .as_mut()
                    .expect("a recipient is checked inside a transaction");
                transaction.envelope.recipients.push(Recipient {
                    address: pending.address,
                    accounts,
                    parameters: pending.parameters,
                });
                reply::write(out, 250, "2.1.5", "Recipient OK");
                None
            }
            RecipientCheck::Local(_) | RecipientCheck::UnknownUser => {
                self.reject(out, 550, "5.1.1", "No such user here")
            }
            RecipientCheck::NotLocal => self.refuse_not_local(out),
            RecipientCheck::TemporaryFailure => {
                reply::write(out, 451, "4.3.0", "Temporary failure, try again later");
                None
            }
        };
        self.queue(event);
    }

    /// RFC 5321 §3.6.2: relaying declined for policy reasons gets 550 (554 is not a RCPT
    /// reply, §4.3.2). Authenticated users are told why: outbound relay does not exist yet.
    fn refuse_not_local(&mut self, out: &mut Vec<u8>) -> Option<Event> {
        if self.user.is_some() {
            self.reject(
                out,
                550,
                "5.7.1",
                "Outbound relay is not enabled on this server",
            )
        } else {
            self.reject(out, 550, "5.7.1", "Relay access denied")
        }
    }

    fn parameter_error(&mut self, error: ParameterError, out: &mut Vec<u8>) -> Option<Event> {
        match error {
            ParameterError::Unknown => self.reject(
                out,
                555,
                "5.5.4",
                "Parameter not recognized or not implemented",
            ),
            ParameterError::Invalid => self.reject(out, 501, "5.5.4", "Invalid parameter value"),
        }
    }
}

/// `FROM:` / `TO:`, case-insensitive; spaces after the colon are tolerated (common in the
/// wild, and unambiguous).
fn strip_keyword<'a>(arguments: &'a str, keyword: &str) -> Option<&'a str> {
    let head = arguments.get(..keyword.len())?;
    if !head.eq_ignore_ascii_case(keyword) {
        return None;
    }
    Some(arguments[keyword.len()..].trim_start_matches(' '))
}
