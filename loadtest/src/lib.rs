//! Load generator for mail servers (SMTP, LMTP, POP3); see the README for the command line.
//!
//! `scenario` says what to run, `corpus` makes the messages, `schedule` decides when each
//! operation starts (closed or open loop), `smtp` and `pop3` drive one connection each, `report`
//! merges the per-task histograms and prints them, `cpu` measures the generator itself.

pub mod corpus;
pub mod cpu;
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
