//! Load generator for mail servers (SMTP, LMTP, POP3, IMAP); see the README for the command line.
//!
//! `scenario` says what to run, `corpus` makes the messages, `schedule` decides when each
//! operation starts (closed or open loop), `smtp`, `pop3` and `imap` drive one connection each,
//! `report` merges the per-task histograms and prints them, `cpu` measures the generator itself
//! and `memory` the server's (for IMAP's idle-connections).

pub mod corpus;
pub mod cpu;
pub mod imap;
pub mod memory;
pub mod pop3;
pub mod recorder;
pub mod report;
pub mod rng;
pub mod run;
pub mod scenario;
pub mod schedule;
pub mod smtp;
pub mod tls;
pub mod wire;
