//! idle-connections: open `--connections` sessions (connect, LOGIN, SELECT, IDLE), at most
//! `CONNECTING_MAX` being set up at a time, in two halves: once every session of a half is
//! idling or has failed, wait `--settle` and read the server's memory (`--server-pid`, with its
//! descendants). A server that changes how it keeps idle sessions after a while (Dovecot's
//! `imap_hibernate_timeout`) is read after a settle longer than that. Hold for the run's
//! duration, read it again, then end each IDLE with DONE, which proves the session was still
//! there; the DONEs go through the same gate as the set-ups, since a server that parks idle
//! sessions (Dovecot's hibernation) must wake each one, and waking all at the same instant is
//! another test than this one.
//!
//! Two figures per connection: all of the growth over all sessions, which includes what the
//! server loads once (a mailbox's index on its first SELECT, buffer pools), and the growth over
//! the second half only, which is what one more idle connection costs.
//!
//! Recorded: `idle` per session (the set-up, up to the server's `+` to IDLE; its ops/s is the
//! set-up rate over the ramp) and `done` per session at the end. The memory figures are in
//! `HoldReport`. The first error is kept as what limited the count.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::{Semaphore, mpsc, watch};

use crate::memory::{self, Sample};
use crate::recorder::Recorder;
use crate::run::Shared;

/// Sessions being set up at once: enough to ramp fast, few enough not to look like a flood.
pub const CONNECTING_MAX: usize = 64;
/// Files the generator needs beside its connections (runtime, stdio, /proc reads).
pub const SPARE_FILES: u64 = 64;
const DONE_TIMEOUT: Duration = Duration::from_secs(30);

/// What the hold measured; in the JSON report as `idle_connections`.
#[derive(Debug, Clone, Serialize)]
pub struct HoldReport {
    pub connections_attempted: u32,
    /// Sessions idling when the memory was read.
    pub connections_held: u32,
    /// Of those, the ones that answered DONE at the end.
    pub connections_alive_at_end: u32,
    /// The generator's open-file limit (raised to the hard limit at start).
    pub open_files_limit: u64,
    /// The first failure, when not every connection could be held.
    pub limited_by: Option<String>,
    pub server_memory: Option<ServerMemory>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ServerMemory {
    pub pid: u32,
    pub before: Sample,
    /// The settle after the first half was set up, and how many of it were idling.
    pub half: Sample,
    pub connections_at_half: u32,
    /// The settle after the last set-up.
    pub held: Sample,
    /// At the end of the hold.
    pub at_end: Sample,
    /// (held − before) ÷ connections held.
    pub rss_kib_per_connection: f64,
    pub pss_kib_per_connection: Option<f64>,
    /// (held − half) ÷ the connections the second half added.
    pub rss_kib_per_connection_marginal: Option<f64>,
    pub pss_kib_per_connection_marginal: Option<f64>,
}

impl ServerMemory {
    fn new(pid: u32, samples: [Sample; 4], at_half: u32, held: u32) -> ServerMemory {
        let [before, half, held_sample, at_end] = samples;
        let added = held.saturating_sub(at_half);
        let marginal = |low: Option<u64>, high: Option<u64>| {
            low.zip(high)
                .filter(|_| added > 0)
                .map(|(low, high)| per_connection(low, high, added))
        };
        ServerMemory {
            pid,
            rss_kib_per_connection: per_connection(before.rss_kib, held_sample.rss_kib, held),
            pss_kib_per_connection: before
                .pss_kib
                .zip(held_sample.pss_kib)
                .map(|(low, high)| per_connection(low, high, held)),
            rss_kib_per_connection_marginal: marginal(
                Some(half.rss_kib),
                Some(held_sample.rss_kib),
            ),
            pss_kib_per_connection_marginal: marginal(half.pss_kib, held_sample.pss_kib),
            before,
            half,
            connections_at_half: at_half,
            held: held_sample,
            at_end,
        }
    }
}

/// How one session's set-up ended.
enum SetUp {
    Idling,
    Failed(String),
}

pub async fn run(shared: Arc<Shared>) -> Result<(Recorder, HoldReport, Duration), String> {
    let scenario = &shared.scenario;
    let attempted = scenario.connections;
    let open_files_limit = memory::raise_open_files()?;
    if u64::from(attempted) + SPARE_FILES > open_files_limit {
        return Err(format!(
            "{attempted} connections need an open-file limit of at least {}; it is \
             {open_files_limit} (raise the hard limit: ulimit -Hn)",
            u64::from(attempted) + SPARE_FILES
        ));
    }
    let pid = scenario.imap.server_pid;
    let read_memory = || pid.map(memory::sample).transpose();
    let before = read_memory()?;
    let (ready_sender, mut ready) = mpsc::channel(attempted as usize);
    let (release_sender, release) = watch::channel(false);
    let gate = Arc::new(Semaphore::new(CONNECTING_MAX));
    let mut sessions = Vec::with_capacity(attempted as usize);
    let mut ramp = Duration::ZERO;
    let mut ramped = Ramped::default();
    let mut samples = Vec::new();
    let halves = [0..attempted / 2, attempted / 2..attempted];
    for half in halves {
        let started = Instant::now();
        let count = half.len();
        for task in half {
            let session = session(
                Arc::clone(&shared),
                task,
                Arc::clone(&gate),
                ready_sender.clone(),
                release.clone(),
            );
            sessions.push(tokio::spawn(session));
        }
        for _ in 0..count {
            let outcome = ready.recv().await.expect("a sender is held here");
            ramped.count(outcome);
        }
        ramp += started.elapsed();
        tokio::time::sleep(Duration::from_secs_f64(scenario.imap.settle_secs)).await;
        samples.push((read_memory()?, ramped.held));
    }
    drop(ready_sender);
    let held = ramped.held;
    tokio::time::sleep(scenario.duration().unwrap_or(Duration::ZERO)).await;
    let at_end = read_memory()?;
    release_sender
        .send(true)
        .map_err(|_| "every session ended early".to_string())?;
    let mut recorder = Recorder::new("idle");
    for session in sessions {
        recorder.merge(
            session
                .await
                .map_err(|error| format!("a session failed: {error}"))?,
        );
    }
    let alive_at_end = recorder
        .operations()
        .iter()
        .find(|(name, _)| *name == "done")
        .map_or(0, |(_, stats)| stats.count as u32);
    let [(half, at_half), (held_sample, _)] = [samples[0], samples[1]];
    let server_memory = match (pid, before, half, held_sample, at_end) {
        (Some(pid), Some(before), Some(half), Some(held_sample), Some(at_end)) => Some(
            ServerMemory::new(pid, [before, half, held_sample, at_end], at_half, held),
        ),
        _ => None,
    };
    let report = HoldReport {
        connections_attempted: attempted,
        connections_held: held,
        connections_alive_at_end: alive_at_end,
        open_files_limit,
        limited_by: ramped.limited_by,
        server_memory,
    };
    Ok((recorder, report, ramp))
}

/// The set-ups so far: how many are idling, and the first failure.
#[derive(Debug, Default)]
struct Ramped {
    held: u32,
    limited_by: Option<String>,
}

impl Ramped {
    fn count(&mut self, outcome: SetUp) {
        match outcome {
            SetUp::Idling => self.held += 1,
            SetUp::Failed(message) => {
                self.limited_by.get_or_insert(message);
            }
        }
    }
}

fn per_connection(before_kib: u64, after_kib: u64, connections: u32) -> f64 {
    if connections == 0 {
        return 0.0;
    }
    (after_kib as f64 - before_kib as f64) / f64::from(connections)
}

/// One session: set up under the gate, report, idle until released, then DONE.
async fn session(
    shared: Arc<Shared>,
    task: u32,
    gate: Arc<Semaphore>,
    ready: mpsc::Sender<SetUp>,
    mut release: watch::Receiver<bool>,
) -> Recorder {
    let scenario = &shared.scenario;
    let mut recorder = Recorder::new("idle");
    let user = task % scenario.user_count + 1;
    let permit = gate.acquire().await.expect("the gate is never closed");
    let began = Instant::now();
    let setting_up = async {
        let mut client = super::log_in(&shared, user, Some(&scenario.imap.mailbox)).await?;
        client.idle().await?;
        Ok(client)
    };
    let result = tokio::time::timeout(scenario.operation_timeout(), setting_up).await;
    drop(permit);
    let mut client = match result {
        Ok(Ok(client)) => {
            recorder.success(&shared.live, "idle", began.elapsed(), 0, true);
            let _ = ready.send(SetUp::Idling).await;
            client
        }
        failed => {
            let message = super::failure_text(failed);
            recorder.error(&shared.live, "idle", message.clone(), true);
            let _ = ready.send(SetUp::Failed(message)).await;
            return recorder;
        }
    };
    drop(ready);
    let _ = release.wait_for(|released| *released).await;
    let _permit = gate.acquire().await.expect("the gate is never closed");
    let began = Instant::now();
    match tokio::time::timeout(DONE_TIMEOUT, client.done()).await {
        Ok(Ok(())) => recorder.success(&shared.live, "done", began.elapsed(), 0, true),
        failed => {
            let message = format!("session lost while idle: {}", super::failure_text(failed));
            recorder.error(&shared.live, "done", message, true);
        }
    }
    // The logout's outcome does not matter: the server's answer to DONE was the check.
    let _ = tokio::time::timeout(DONE_TIMEOUT, client.logout()).await;
    recorder
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separates_the_fixed_cost_from_the_cost_per_connection() {
        let sample = |rss_kib| Sample {
            processes: 1,
            rss_kib,
            pss_kib: None,
        };
        // 8 MiB loaded once, then 20 KiB per connection: 100 connections, 50 at half.
        let memory = ServerMemory::new(
            7,
            [
                sample(10_000),
                sample(19_192),
                sample(20_192),
                sample(20_192),
            ],
            50,
            100,
        );
        assert!((memory.rss_kib_per_connection - 101.92).abs() < 1e-9);
        assert_eq!(memory.rss_kib_per_connection_marginal, Some(20.0));
        assert_eq!(memory.pss_kib_per_connection, None);
        let one = ServerMemory::new(7, [sample(1), sample(1), sample(9), sample(9)], 1, 1);
        assert_eq!(one.rss_kib_per_connection_marginal, None);
    }
}
