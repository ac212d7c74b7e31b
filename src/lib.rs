//! Postern: a thread-per-core mail server appliance.
//!
//! The map of this crate is `docs/ARCHITECTURE.md`. In short: `cli` parses the command line,
//! `config` loads `postern.toml`, `runtime` starts one glommio shard per core with its listeners
//! and the mesh between shards, `tls` builds the rustls configuration, `accounts` is the
//! directory of domains, users and aliases, and `auth` holds password schemes and SASL.

pub mod accounts;
pub mod auth;
pub mod cli;
pub mod config;
pub mod date;
pub mod imap;
pub mod mailstore;
pub mod mime;
pub mod net;
pub mod pop3;
pub mod runtime;
pub mod smtp;
pub mod tls;

#[cfg(test)]
mod testing;
