//! mix: an imaptest-like random mix of commands on one selected mailbox per connection, where
//! every answer is also checked against a model of the mailbox built only from the server's
//! earlier answers (`model`).
//!
//! Each task logs in as its account (task mod accounts, plus one), asks CAPABILITY, SELECTs the
//! mailbox (`SELECT mailbox (CONDSTORE)` when CONDSTORE is offered, RFC 7162 §3.1.8) and lists
//! it with `UID FETCH 1:* (UID FLAGS MODSEQ)` (that is `login`). Then each operation is drawn
//! from `WEIGHTS` with the task's seeded generator and recorded under its own name and under
//! `mix`; `operations.rs` says what each sends and checks. When EXISTS announced messages the
//! session has not listed (or, on an account of its own, its APPEND's UID is not listed yet),
//! `sync` sends `UID FETCH n:* (UID FLAGS MODSEQ)` (after a NOOP for the APPEND case). Every
//! check that holds counts once under `check`; one that fails is an error of the operation
//! (`consistency: ...`, also counted under `check` and `mix`), and the session SELECTs again
//! (`resync`) and goes on. Any other error (a refusal, a timeout, a closed connection) drops the
//! connection, as in the other scenarios.
//!
//! An account is the task's own when `--connections` ≤ `--user-count` (or this task's account
//! number is above `--connections - --user-count`): then no change can come from elsewhere and
//! flags and SEARCH results are compared exactly. Otherwise the checks are those that hold
//! whatever other sessions do (the README lists both sets).

mod model;
mod operations;
mod parse;

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::corpus::MessageId;
use crate::recorder::Recorder;
use crate::rng::Rng;
use crate::run::{Shared, wait_for};
use crate::wire::OperationError;

use super::client::{Client, quoted};
use model::Model;
use parse::Untagged;

/// The headline: every drawn operation.
pub const PRIMARY: &str = "mix";
/// One per consistency check that held; its errors are the checks that failed.
pub const CHECK: &str = "check";

/// The mix: each operation's chance is its weight over the sum (100). Appends add one message
/// and expunges remove one or two (1.5 on average), so 12 : 8 keeps the mailbox's size where it
/// started.
pub const WEIGHTS: [(Operation, u32); 7] = [
    (Operation::Fetch, 20),
    (Operation::FetchBody, 10),
    (Operation::Store, 25),
    (Operation::Append, 12),
    (Operation::Expunge, 8),
    (Operation::Search, 15),
    (Operation::Noop, 10),
];
/// Below this many messages an expunge drawn is an append instead (an empty mailbox: only
/// appends).
pub const MESSAGES_LOW: u64 = 20;
/// Messages of this session whose bodies it can still compare, at most (UID → what was sent).
const APPENDED_MAX: usize = 100_000;
/// Lines of a session's exchange kept, and printed with a violation (at most a few per task).
const TRANSCRIPT_LINES: usize = 40;
const TRANSCRIPTS_PRINTED_MAX: u32 = 3;
const RECONNECT_PAUSE: Duration = Duration::from_millis(100);
const LOGOUT_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Fetch,
    FetchBody,
    Store,
    Append,
    Expunge,
    Search,
    Noop,
}

impl Operation {
    pub fn name(self) -> &'static str {
        match self {
            Operation::Fetch => "fetch",
            Operation::FetchBody => "fetch-body",
            Operation::Store => "store",
            Operation::Append => "append",
            Operation::Expunge => "expunge",
            Operation::Search => "search",
            Operation::Noop => "noop",
        }
    }
}

/// The next operation for a mailbox of `count` messages.
pub fn draw(rng: &mut Rng, count: u64) -> Operation {
    if count == 0 {
        return Operation::Append;
    }
    let total: u32 = WEIGHTS.iter().map(|(_, weight)| weight).sum();
    let mut point = rng.range(0, u64::from(total) - 1) as u32;
    let mut drawn = Operation::Noop;
    for (operation, weight) in WEIGHTS {
        if point < weight {
            drawn = operation;
            break;
        }
        point -= weight;
    }
    if drawn == Operation::Expunge && count < MESSAGES_LOW {
        return Operation::Append;
    }
    drawn
}

/// Whether task `task` is alone on its account (`task mod user_count + 1`).
pub fn account_is_exclusive(task: u32, connections: u32, user_count: u32) -> bool {
    u64::from(task % user_count) + u64::from(user_count) >= u64::from(connections)
}

/// Why an operation failed: the answers disagree with the model, or anything else.
#[derive(Debug)]
pub enum Failure {
    Consistency(String),
    Operation(OperationError),
}

impl From<OperationError> for Failure {
    fn from(error: OperationError) -> Failure {
        Failure::Operation(error)
    }
}

/// What a message this session appended was made of, to compare its body when fetched.
#[derive(Debug, Clone, Copy)]
struct Sent {
    index: usize,
    id: MessageId,
}

/// The last lines a session sent (`C:`) and read (`S:`, literals left out), so that a violation
/// is reported with the exchange that shows it. Kept as bytes (the first `TRANSCRIPT_OCTETS` of
/// each line, buffers reused) and quoted only when printed.
#[derive(Debug, Default)]
struct Transcript {
    lines: VecDeque<(&'static str, Vec<u8>)>,
}

/// Octets kept of each transcript line: as much as an error sample quotes.
const TRANSCRIPT_OCTETS: usize = 200;

impl Transcript {
    fn push(&mut self, direction: &'static str, text: &[u8]) {
        let mut line = match self.lines.len() {
            TRANSCRIPT_LINES => self
                .lines
                .pop_front()
                .map(|(_, line)| line)
                .unwrap_or_default(),
            _ => Vec::new(),
        };
        line.clear();
        line.extend_from_slice(&text[..text.len().min(TRANSCRIPT_OCTETS + 1)]);
        self.lines.push_back((direction, line));
    }

    fn text(&self) -> String {
        self.lines
            .iter()
            .map(|(direction, line)| format!("  {direction} {}\n", crate::wire::quote(line)))
            .collect()
    }
}

/// One connection with its mailbox selected and the model of it.
pub struct Session {
    client: Client,
    model: Model,
    mailbox: String,
    condstore: bool,
    uidplus: bool,
    appended: HashMap<u64, Sent>,
    transcript: Transcript,
}

/// A command's result: its response octets and the UIDs expunged while it ran.
struct Reply {
    octets: u64,
    expunged: Vec<u64>,
}

impl Session {
    /// Connect, LOGIN, CAPABILITY (for CONDSTORE and UIDPLUS).
    async fn connect(shared: &Shared, user: u32, exclusive: bool) -> Result<Session, Failure> {
        let mut client = super::log_in(shared, user, None).await?;
        let mut capabilities = Vec::new();
        client
            .command("CAPABILITY", b"CAPABILITY", |text, _| {
                if let Some(list) = text.strip_prefix(b"* CAPABILITY ") {
                    capabilities = list
                        .split(|&byte| byte == b' ')
                        .map(<[u8]>::to_ascii_uppercase)
                        .collect();
                }
            })
            .await?;
        let offered = |name: &[u8]| capabilities.iter().any(|word| word == name);
        let (condstore, uidplus) = (offered(b"CONDSTORE"), offered(b"UIDPLUS"));
        Ok(Session {
            client,
            model: Model::new(exclusive, condstore, uidplus),
            mailbox: shared.scenario.imap.mailbox.clone(),
            condstore,
            uidplus,
            appended: HashMap::new(),
            transcript: Transcript::default(),
        })
    }

    /// SELECT and `UID FETCH 1:*`: the model anew (UIDVALIDITY and the highest MODSEQ known
    /// are kept, to check that they did not go back).
    async fn select(&mut self) -> Result<u64, Failure> {
        self.model.begin_select(self.condstore);
        let mut command = b"SELECT ".to_vec();
        quoted(&mut command, self.mailbox.as_bytes())?;
        if self.condstore {
            command.extend_from_slice(b" (CONDSTORE)");
        }
        let Session {
            client,
            model,
            transcript,
            ..
        } = self;
        transcript.push("C:", &command);
        let mut octets = client
            .command("SELECT", &command, |text, _| {
                transcript.push("S:", text);
                model.untagged(text);
            })
            .await?;
        transcript.push("S:", client.last_response());
        model.end_select(client.last_response());
        self.verdict()?;
        if self.model.count() > 0 {
            let command = format!("UID FETCH 1:* {}", self.listing_items());
            octets += self
                .send("UID FETCH", command.as_bytes(), false, |_, _, _| {})
                .await?
                .octets;
        }
        self.model.end_listing("UID FETCH 1:*");
        let model = &self.model;
        self.appended.retain(|uid, _| model.contains(*uid));
        self.verdict()?;
        Ok(octets)
    }

    /// The items that list messages: with CONDSTORE, their MODSEQ too.
    fn listing_items(&self) -> &'static str {
        if self.model.condstore() {
            "(UID FLAGS MODSEQ)"
        } else {
            "(UID FLAGS)"
        }
    }

    /// Sends one command; every untagged response goes through the model, then to `each` (with
    /// the literals' contents when `keep_literals`). On a shared account a NO with
    /// `[EXPUNGEISSUED]` (RFC 5530: another session expunged a message named) is an answer.
    async fn send(
        &mut self,
        step: &'static str,
        command: &[u8],
        keep_literals: bool,
        mut each: impl FnMut(&mut Model, Untagged, &[u8]),
    ) -> Result<Reply, Failure> {
        let Session {
            client,
            model,
            transcript,
            ..
        } = self;
        transcript.push("C:", command);
        let result = if keep_literals {
            client
                .command_with_literals(step, command, |text, literals| {
                    transcript.push("S:", text);
                    let parsed = model.untagged(text);
                    each(model, parsed, literals);
                })
                .await
        } else {
            client
                .command(step, command, |text, _| {
                    transcript.push("S:", text);
                    let parsed = model.untagged(text);
                    each(model, parsed, &[]);
                })
                .await
        };
        transcript.push("S:", client.last_response());
        let octets = match result {
            Ok(octets) => {
                model.tagged(client.last_response());
                octets
            }
            Err(OperationError::Refused { reply, .. })
                if !model.exclusive() && reply.contains("EXPUNGEISSUED") =>
            {
                0
            }
            Err(error) => {
                // A broken answer explains the failure better than the failure itself.
                verdict(model)?;
                return Err(Failure::Operation(error));
            }
        };
        let expunged = model.end_command();
        verdict(model)?;
        Ok(Reply { octets, expunged })
    }

    fn verdict(&mut self) -> Result<(), Failure> {
        verdict(&mut self.model)
    }

    fn needs_sync(&self) -> bool {
        self.model.sync_from().is_some() || self.model.awaits_appended()
    }
}

/// The first violation since the last verdict, as the operation's failure.
fn verdict(model: &mut Model) -> Result<(), Failure> {
    match model.take_violation() {
        Some(violation) => Err(Failure::Consistency(violation)),
        None => Ok(()),
    }
}

/// What to do after a step.
#[derive(Debug, PartialEq, Eq)]
enum Next {
    GoOn,
    /// A consistency violation: SELECT again.
    Resync,
    /// No answer in time: the transcript shows what the server left unanswered.
    TimedOut,
    Reconnect,
}

/// Records the steps of one task.
struct Steps<'a> {
    recorder: Recorder,
    shared: &'a Shared,
}

impl Steps<'_> {
    /// Records one step with the checks it made; says what the session does next.
    fn record(
        &mut self,
        name: &'static str,
        latency: Duration,
        outcome: Result<Result<u64, Failure>, tokio::time::error::Elapsed>,
        checks: u64,
        measured: bool,
    ) -> Next {
        let live = &self.shared.live;
        let recorder = &mut self.recorder;
        let drawn = !matches!(name, "login" | "sync" | "resync");
        let failure = match outcome {
            Ok(Ok(octets)) => {
                recorder.success(live, name, latency, octets, measured);
                if drawn {
                    recorder.success(live, PRIMARY, latency, octets, measured);
                }
                None
            }
            Ok(Err(Failure::Consistency(violation))) => {
                recorder.failed(CHECK, measured);
                Some((format!("consistency: {violation}"), Next::Resync))
            }
            Ok(Err(Failure::Operation(error))) => Some((error.to_string(), Next::Reconnect)),
            Err(_) => Some((OperationError::Timeout.to_string(), Next::TimedOut)),
        };
        for _ in 0..checks {
            recorder.success(live, CHECK, Duration::ZERO, 0, measured);
        }
        let Some((message, next)) = failure else {
            return Next::GoOn;
        };
        recorder.error(live, name, message, measured);
        if drawn {
            recorder.failed(PRIMARY, measured);
        }
        next
    }
}

pub async fn task(shared: Arc<Shared>, task: u32) -> Recorder {
    let scenario = &shared.scenario;
    let mut steps = Steps {
        recorder: Recorder::new(PRIMARY),
        shared: &shared,
    };
    let mut rng = Rng::derive(scenario.seed, 5_000_000 + u64::from(task));
    let user = task % scenario.user_count + 1;
    let exclusive = account_is_exclusive(task, scenario.connections, scenario.user_count);
    let timeout = scenario.operation_timeout();
    let mut session: Option<Session> = None;
    let mut sequence = 0;
    let mut printed = 0;
    // On a violation or a timeout, the exchange that shows it goes to stderr (a few times per
    // task).
    let mut print = |session: &Session, next: &Next| {
        let what = match next {
            Next::Resync => "consistency violation",
            Next::TimedOut => "no answer within --timeout",
            Next::GoOn | Next::Reconnect => return,
        };
        if printed < TRANSCRIPTS_PRINTED_MAX {
            printed += 1;
            eprintln!(
                "postern-load: mix task {task} ({}): {what}; the session's last lines:\n{}",
                scenario.user_address(user),
                session.transcript.text()
            );
        }
    };
    while let Some(slot) = shared.plan.next_slot(Instant::now()) {
        wait_for(slot).await;
        let measured = slot.measured;
        let mut current = match session.take() {
            Some(current) => current,
            None => {
                let began = Instant::now();
                let opening = async {
                    let mut opened = Session::connect(&shared, user, exclusive).await?;
                    let selected = opened.select().await;
                    Ok::<_, Failure>((opened, selected))
                };
                let (opened, outcome) = match tokio::time::timeout(timeout, opening).await {
                    Ok(Ok((opened, selected))) => (Some(opened), Ok(selected)),
                    Ok(Err(failure)) => (None, Ok(Err(failure))),
                    Err(elapsed) => (None, Err(elapsed)),
                };
                let checks = opened.as_ref().map_or(0, |opened| opened.model.checks());
                let next = steps.record("login", began.elapsed(), outcome, checks, measured);
                match opened {
                    Some(mut opened) if next == Next::GoOn => {
                        opened.model.take_checks();
                        opened
                    }
                    failed => {
                        if let Some(failed) = failed {
                            print(&failed, &next);
                        }
                        tokio::time::sleep(RECONNECT_PAUSE).await;
                        continue;
                    }
                }
            }
        };
        let id = MessageId::next(scenario.seed, task, &mut sequence);
        let operation = draw(&mut rng, current.model.count());
        let work = current.operation(operation, &shared, &mut rng, id);
        let outcome = tokio::time::timeout(timeout, work).await;
        let checks = current.model.take_checks();
        let latency = slot.intended.elapsed();
        let mut next = steps.record(operation.name(), latency, outcome, checks, measured);
        if next == Next::GoOn && current.needs_sync() {
            let began = Instant::now();
            let outcome = tokio::time::timeout(timeout, current.sync()).await;
            let checks = current.model.take_checks();
            next = steps.record("sync", began.elapsed(), outcome, checks, measured);
        }
        print(&current, &next);
        if next == Next::Resync {
            let began = Instant::now();
            let outcome = tokio::time::timeout(timeout, current.select()).await;
            let checks = current.model.take_checks();
            next = steps.record("resync", began.elapsed(), outcome, checks, measured);
            print(&current, &next);
            if next != Next::GoOn {
                next = Next::Reconnect;
            }
        }
        if next == Next::GoOn {
            session = Some(current);
        }
    }
    if let Some(mut ended) = session {
        let _ = tokio::time::timeout(LOGOUT_TIMEOUT, ended.client.logout()).await;
    }
    steps.recorder
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mix_follows_its_weights_and_keeps_messages_to_work_on() {
        let mut rng = Rng::derive(1, 5);
        let mut drawn: HashMap<&str, u32> = HashMap::new();
        for _ in 0..10_000 {
            *drawn.entry(draw(&mut rng, 100).name()).or_default() += 1;
        }
        for (operation, weight) in WEIGHTS {
            let share = f64::from(drawn[operation.name()]) / 100.0;
            assert!(
                (share - f64::from(weight)).abs() < 2.0,
                "{}: {share}%",
                operation.name()
            );
        }
        assert!((0..100).all(|_| draw(&mut rng, 0) == Operation::Append));
        assert!((0..1000).all(|_| draw(&mut rng, MESSAGES_LOW - 1) != Operation::Expunge));
        assert_eq!(WEIGHTS.iter().map(|(_, weight)| weight).sum::<u32>(), 100);
    }

    #[test]
    fn accounts_are_shared_only_by_tasks_beyond_the_account_count() {
        assert!(account_is_exclusive(0, 4, 100));
        assert!(account_is_exclusive(3, 4, 4));
        assert!(!account_is_exclusive(0, 2, 1));
        assert!(!account_is_exclusive(1, 2, 1));
        // Five tasks on four accounts: tasks 0 and 4 share account 1.
        assert!(!account_is_exclusive(0, 5, 4));
        assert!(!account_is_exclusive(4, 5, 4));
        assert!(account_is_exclusive(1, 5, 4));
    }
}
