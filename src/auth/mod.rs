//! Password schemes, SCRAM keys and the SASL server shared by SMTP, IMAP and POP3.
//!
//! `password` verifies Dovecot-style `{SCHEME}data` strings (Argon2, SHA-crypt, bcrypt, PLAIN)
//! and hashes new passwords with Argon2id; `scram` derives and stores SCRAM-SHA-256 keys (RFC
//! 5803 form); `sasl` is a sans-IO SASL server for PLAIN, LOGIN, CRAM-MD5 and SCRAM-SHA-256;
//! `secret` wraps credentials so they never reach a log. Everything here is pure logic: no I/O,
//! no clock, no async. Hashing is CPU-heavy and runs off the shard.
//!
//! CRAM-MD5 and POP3 APOP key a digest with the password itself, so they work only for accounts
//! whose stored password is `{PLAIN}` ([`password::plaintext`]); for any other account they
//! fail like a wrong password.

pub mod password;
pub mod sasl;
pub mod scram;
pub mod secret;
