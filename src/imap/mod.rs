//! IMAP4rev1 (RFC 3501) and IMAP4rev2 (RFC 9051) with the extensions today's clients use.

pub mod command;
