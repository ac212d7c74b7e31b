//! IMAP4rev1 (RFC 3501) and IMAP4rev2 (RFC 9051) with the extensions today's clients use.
//!
//! `command` is the grammar (sans-IO, tested byte for byte), `framer` splits the byte stream
//! into commands and literals, `driver` runs a connection, and a file per command family
//! executes commands against the shard's store: `auth`, `mailboxes`, `select`, `fetch`,
//! `flags` (STORE), `search`, `copy`, `append`, `idle`. `selected` is the selected mailbox as a
//! session knows it, and the untagged updates that bring it up to date.

mod append;
mod auth;
pub mod command;
mod compress;
mod copy;
pub mod driver;
mod fetch;
mod flags;
pub mod framer;
mod idle;
mod mailboxes;
mod messages;
mod qresync;
mod quota;
mod response;
mod search;
mod search_text;
mod select;
mod selected;
mod sort;

pub use driver::{Handoff, refuse, resume, serve};
