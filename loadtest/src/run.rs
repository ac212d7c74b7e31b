//! One run: build what the tasks share, start one task per connection on a multi-thread
//! runtime, print progress, merge the tasks' recorders, measure the generator's CPU.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crate::corpus::Corpus;
use crate::cpu::{self, Usage};
use crate::imap::hold::{self, HoldReport};
use crate::recorder::{Live, Recorder};
use crate::scenario::{ImapScenario, Protocol, Scenario, TlsMode};
use crate::schedule::{Plan, Slot};
use crate::{imap, pop3, smtp, tls};

const PROGRESS_INTERVAL: Duration = Duration::from_secs(1);
/// Worker threads when `--cpus` is not given.
pub const WORKER_THREADS_DEFAULT: usize = 2;

/// What every task of a run reads.
pub struct Shared {
    pub scenario: Scenario,
    pub corpus: Option<Corpus>,
    pub tls: Option<tls::Client>,
    pub plan: Plan,
    pub live: Live,
}

/// What a run measured.
#[derive(Debug)]
pub struct Outcome {
    pub recorder: Recorder,
    /// From the end of the warm-up to the last task's end.
    pub measured: Duration,
    /// The generator's CPU over the whole run, and that run's wall time.
    pub cpu: Usage,
    pub cpu_wall: Duration,
    /// idle-connections: how many were held and the server's memory.
    pub hold: Option<HoldReport>,
}

/// The operation the progress line and the smoke check count.
pub fn primary_operation(scenario: &Scenario) -> &'static str {
    match scenario.protocol {
        Protocol::Smtp | Protocol::Lmtp => "deliver",
        Protocol::Pop3 => "session",
        Protocol::Imap => imap::primary_operation(scenario.imap.scenario),
    }
}

fn needs_corpus(scenario: &Scenario) -> bool {
    match scenario.protocol {
        Protocol::Smtp | Protocol::Lmtp => true,
        Protocol::Pop3 => false,
        Protocol::Imap => scenario.imap.scenario.needs_corpus(),
    }
}

/// Open loop: sleep until the slot is due (a late slot starts at once). Closed loop: no wait.
pub async fn wait_for(slot: Slot) {
    if slot.intended > Instant::now() {
        tokio::time::sleep_until(slot.intended.into()).await;
    }
}

pub fn execute(scenario: Scenario, quiet: bool) -> Result<Outcome, String> {
    if !scenario.cpus.is_empty() {
        cpu::pin(&scenario.cpus)?;
    }
    let corpus = if needs_corpus(&scenario) {
        Some(Corpus::generate(
            scenario.size,
            scenario.seed,
            &scenario.from,
        )?)
    } else {
        None
    };
    let tls = match scenario.tls {
        TlsMode::None => None,
        TlsMode::Starttls | TlsMode::Implicit => Some(tls::Client::new(&scenario.tls_server_name)?),
    };
    let worker_threads = match scenario.cpus.len() {
        0 => WORKER_THREADS_DEFAULT,
        count => count,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(worker_threads)
        .enable_all()
        .build()
        .map_err(|error| format!("cannot start the runtime: {error}"))?;
    runtime.block_on(async move {
        let cpu_before = Usage::now();
        let start = Instant::now();
        let plan = Plan::new(
            scenario.rate,
            start,
            scenario.warmup(),
            scenario.duration(),
            scenario.operations,
        );
        let shared = Arc::new(Shared {
            scenario,
            corpus,
            tls,
            plan,
            live: Live::default(),
        });
        let progress = (!quiet).then(|| tokio::spawn(progress(Arc::clone(&shared), start)));
        let holds = shared.scenario.protocol == Protocol::Imap
            && shared.scenario.imap.scenario == ImapScenario::IdleConnections;
        let (recorder, measured, hold) = if holds {
            // The rates of a hold are those of its ramp; the hold itself has no operations.
            let (recorder, report, ramp) = hold::run(Arc::clone(&shared)).await?;
            (recorder, ramp, Some(report))
        } else {
            let recorder = run_tasks(&shared).await?;
            let measured = Instant::now().saturating_duration_since(shared.plan.measure_start());
            (recorder, measured, None)
        };
        let finished = Instant::now();
        if let Some(progress) = progress {
            progress.abort();
        }
        Ok(Outcome {
            recorder,
            measured,
            cpu: Usage::now().since(cpu_before),
            cpu_wall: finished - start,
            hold,
        })
    })
}

/// One task per connection, each running operations until the plan ends; their recorders merged.
async fn run_tasks(shared: &Arc<Shared>) -> Result<Recorder, String> {
    let protocol = shared.scenario.protocol;
    let tasks: Vec<_> = (0..shared.scenario.connections)
        .map(|task| {
            let shared = Arc::clone(shared);
            match protocol {
                Protocol::Smtp | Protocol::Lmtp => tokio::spawn(smtp::task(shared, task)),
                Protocol::Pop3 => tokio::spawn(pop3::task(shared, task)),
                Protocol::Imap => tokio::spawn(imap::task(shared, task)),
            }
        })
        .collect();
    let mut recorder = Recorder::new(primary_operation(&shared.scenario));
    for task in tasks {
        recorder.merge(
            task.await
                .map_err(|error| format!("a task failed: {error}"))?,
        );
    }
    Ok(recorder)
}

/// Once a second on stderr: elapsed time, the primary operation's rate, errors, generator CPU.
async fn progress(shared: Arc<Shared>, start: Instant) {
    let name = primary_operation(&shared.scenario);
    let mut ticker =
        tokio::time::interval_at((start + PROGRESS_INTERVAL).into(), PROGRESS_INTERVAL);
    let mut last_operations = 0;
    let mut last_cpu = Usage::now();
    let mut last_tick = start;
    loop {
        ticker.tick().await;
        let now = Instant::now();
        let operations = shared.live.operations.load(Ordering::Relaxed);
        let errors = shared.live.errors.load(Ordering::Relaxed);
        let cpu = Usage::now();
        let interval = now - last_tick;
        let rate = (operations - last_operations) as f64 / interval.as_secs_f64();
        let utilisation = cpu.since(last_cpu).utilisation(interval);
        let phase = if now < shared.plan.measure_start() {
            " (warm-up)"
        } else {
            ""
        };
        eprintln!(
            "[{:6.1}s]{phase} {name}: {operations} done, {rate:.0}/s, errors {errors}, generator cpu {:.0}%",
            (now - start).as_secs_f64(),
            utilisation * 100.0
        );
        last_operations = operations;
        last_cpu = cpu;
        last_tick = now;
    }
}
