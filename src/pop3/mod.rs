//! POP3 (RFC 1939, RFC 2449 CAPA, RFC 5034 AUTH, RFC 2595 STLS) as a sans-IO state machine.
//!
//! A [`Session`] takes client octets in and gives reply octets and [`Action`]s out. It owns no
//! socket, clock or storage: a driver (the glommio glue) reads and writes the connection,
//! performs each action and reports the result back. The states are types: AUTHORIZATION
//! (`authorization.rs`), an `Opening` step that holds the only proof of authentication,
//! TRANSACTION and UPDATE (`transaction.rs`). Messages are sent by the driver through
//! [`Stuffer`] (`stuffing.rs`), so RETR streams from the log with bounded memory.
//!
//! # Driver contract
//!
//! ```text
//! session = Session::new(&config); session.greeting(&mut out); write out
//! loop:
//!     feed = session.feed(&buffer, &mut out)
//!     buffer.drain(..feed.consumed); write out (always, before performing the action)
//!     next = feed.action
//!     while let Some(action) = next: next = perform(action)   // calls one result method
//!     if nothing was consumed and no action came: read more input into buffer
//! ```
//!
//! - `feed` processes complete lines, pipelined or not (RFC 2449 PIPELINING), until one needs
//!   the driver or the input runs out. It returns how much input it used; a partial line stays
//!   in the driver's buffer. Lines longer than the limit are consumed as they arrive, so the
//!   buffer needs at most [`SASL_LINE_OCTETS_MAX`] octets. While an action is outstanding,
//!   `feed` consumes nothing. After a result method returns `None`, call `feed` again even
//!   without new input: pipelined commands may be waiting in the buffer.
//! - Every result method writes its replies into `out` and may return the next action.
//!
//! What to do for each action:
//!
//! | action | driver does | then calls |
//! | --- | --- | --- |
//! | `VerifyPassword { user, password }` | verify off the shard (throttle failures per IP) | `password_verified(ok, out)` |
//! | `Credentials { user }` | look up the account (`Credentials::default()` if unknown) | `credentials(creds, out)` |
//! | `OpenMaildrop { user }` | route to the owner shard, enforce LOGIN-DELAY, lock INBOX for POP3, list it | `maildrop_opened(Ready / InUse / LoginDelay / Failed, out)` |
//! | `SendMessage { index, uid, body_lines }` | write `out` (the `+OK`), stream the message through `Stuffer::new(body_lines)` (`push` chunks until `is_done`, then `finish`) | `message_sent()` |
//! | `StartTls` | write `out`, **discard** the buffer and anything read before the handshake (RFC 2595 §4; CVE-2011-0411), handshake; on failure close | `tls_started()` |
//! | `Commit { delete_uids }` | expunge the UIDs in one durable record (fdatasync), keep the lock meanwhile | `committed(Ok / Err, out)` |
//! | `Close` | write `out`, close; release the maildrop lock | — |
//!
//! Rules the session relies on:
//! - `Maildrop::messages` lists INBOX in ascending UID order with sizes in CRLF form, as RETR
//!   will send them before stuffing (RFC 1939 §11). UIDL values are `<uidvalidity>.<uid>`.
//! - If reading a message fails after its `+OK` was written, the reply cannot be repaired:
//!   close the connection. A session that ends without QUIT deletes nothing (RFC 1939 §6), and
//!   the driver must release the lock whenever the connection ends.
//! - The idle timeout (at least 10 minutes, RFC 1939 §3) and LOGIN-DELAY enforcement are the
//!   driver's: on timeout close without a reply and without committing.
//! - APOP works only for accounts whose stored password is `{PLAIN}` (see [`crate::auth`]);
//!   APOP is not advertised in CAPA (RFC 1939 signals it by the greeting's timestamp).

mod authorization;
mod capability;
mod command;
mod framer;
mod reply;
mod session;
mod stuffing;
mod transaction;

pub mod driver;

#[cfg(test)]
mod tests;

pub use session::{
    AUTHORIZATION_COMMANDS_MAX, Action, COMMAND_LINE_OCTETS_MAX, ERRORS_MAX, Feed, MaildropOpen,
    Pop3Config, SASL_LINE_OCTETS_MAX, Session, StorageError,
};
pub use stuffing::Stuffer;
pub use transaction::{Maildrop, MessageInfo};
