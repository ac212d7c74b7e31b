//! The scenarios that work one mailbox over a kept-open connection: select-fetch-flags,
//! fetch-envelope, fetch-body, append and search. Each task logs in once as its account (task
//! number modulo the accounts, plus one), selects the mailbox where the scenario needs it, and
//! runs one command (or two) per operation; after an error it reconnects.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::corpus::MessageId;
use crate::recorder::Recorder;
use crate::rng::Rng;
use crate::run::{Shared, wait_for};
use crate::scenario::ImapScenario;
use crate::wire::OperationError;

use super::client::{Client, fetch_number, is_fetch, search_matches};

const RECONNECT_PAUSE: Duration = Duration::from_millis(100);
const LOGOUT_TIMEOUT: Duration = Duration::from_secs(2);

pub async fn task(shared: Arc<Shared>, task: u32) -> Recorder {
    let scenario = &shared.scenario;
    let primary = super::primary_operation(scenario.imap.scenario);
    let mut recorder = Recorder::new(primary);
    let mut rng = Rng::derive(scenario.seed, 2_000_000 + u64::from(task));
    let user = task % scenario.user_count + 1;
    let timeout = scenario.operation_timeout();
    let mut client: Option<Client> = None;
    let mut sequence = 0;
    while let Some(slot) = shared.plan.next_slot(Instant::now()) {
        wait_for(slot).await;
        if client.is_none() {
            let began = Instant::now();
            match tokio::time::timeout(timeout, super::log_in(&shared, user, select_once(&shared)))
                .await
            {
                Ok(Ok(connected)) => {
                    let latency = began.elapsed();
                    recorder.success(&shared.live, "login", latency, 0, slot.measured);
                    client = Some(connected);
                }
                failed => {
                    let message = super::failure_text(failed);
                    recorder.error(&shared.live, "login", message, slot.measured);
                    tokio::time::sleep(RECONNECT_PAUSE).await;
                    continue;
                }
            }
        }
        let connected = client.as_mut().expect("connected above");
        let id = MessageId::next(scenario.seed, task, &mut sequence);
        let mut steps = Steps {
            recorder: &mut recorder,
            shared: &shared,
            measured: slot.measured,
        };
        let work = operation(&mut steps, connected, &mut rng, id);
        match tokio::time::timeout(timeout, work).await {
            Ok(Ok(octets)) => {
                let latency = slot.intended.elapsed();
                recorder.success(&shared.live, primary, latency, octets, slot.measured);
            }
            failed => {
                let message = super::failure_text(failed);
                recorder.error(&shared.live, primary, message, slot.measured);
                client = None;
            }
        }
    }
    if let Some(mut connected) = client {
        let _ = tokio::time::timeout(LOGOUT_TIMEOUT, connected.logout()).await;
    }
    recorder
}

/// The mailbox to select at login: every scenario but select-fetch-flags (which selects per
/// operation) and append (which needs no selected mailbox).
fn select_once(shared: &Shared) -> Option<&str> {
    match shared.scenario.imap.scenario {
        ImapScenario::SelectFetchFlags | ImapScenario::Append => None,
        _ => Some(&shared.scenario.imap.mailbox),
    }
}

/// Records the steps inside one operation (select-fetch-flags has two).
struct Steps<'a> {
    recorder: &'a mut Recorder,
    shared: &'a Shared,
    measured: bool,
}

impl Steps<'_> {
    fn done(&mut self, step: &'static str, began: Instant, octets: u64) {
        let live = &self.shared.live;
        self.recorder
            .success(live, step, began.elapsed(), octets, self.measured);
    }
}

/// One operation; returns the octets it counts for MB/s.
async fn operation(
    steps: &mut Steps<'_>,
    client: &mut Client,
    rng: &mut Rng,
    id: MessageId,
) -> Result<u64, OperationError> {
    let shared = steps.shared;
    let scenario = &shared.scenario;
    let imap = &scenario.imap;
    match imap.scenario {
        ImapScenario::SelectFetchFlags => select_fetch_flags(steps, client).await,
        ImapScenario::FetchEnvelope => {
            fetch_envelope(client, rng, imap.window, scenario.smoke).await
        }
        ImapScenario::FetchBody => fetch_body(client, rng, scenario.smoke).await,
        ImapScenario::Append => {
            client.learn_capabilities().await?;
            let message = shared
                .corpus
                .as_ref()
                .expect("append runs have a corpus")
                .pick(rng);
            client
                .append(&imap.mailbox, message, id, imap.synchronising_literals)
                .await?;
            Ok(message.len() as u64)
        }
        ImapScenario::Search => search(client, &imap.search).await,
        ImapScenario::IdleLatency
        | ImapScenario::IdleConnections
        | ImapScenario::QresyncResync
        | ImapScenario::Mix => {
            unreachable!(
                "IDLE, QRESYNC and mix scenarios run in idle.rs, hold.rs, qresync.rs and mix.rs"
            )
        }
    }
}

/// What a client does on opening a mailbox: SELECT, then every message's UID and flags.
async fn select_fetch_flags(
    steps: &mut Steps<'_>,
    client: &mut Client,
) -> Result<u64, OperationError> {
    let scenario = &steps.shared.scenario;
    let began = Instant::now();
    let mut octets = client.select(&scenario.imap.mailbox).await?;
    steps.done("select", began, octets);
    let began = Instant::now();
    let mut listed = 0;
    octets += client
        .command("UID FETCH", b"UID FETCH 1:* (UID FLAGS)", |text, _| {
            listed += u64::from(is_fetch(text));
        })
        .await?;
    steps.done("fetch", began, octets);
    // An empty mailbox answers `1:*` with nothing (or the highest UID's message, per RFC 9051
    // §6.4.8, when there is one): the smoke check accepts exactly the message count.
    if scenario.smoke && listed != client.exists() {
        return Err(OperationError::Malformed(format!(
            "SELECT said {} EXISTS, UID FETCH 1:* listed {listed}",
            client.exists()
        )));
    }
    Ok(octets)
}

/// FETCH of ENVELOPE and BODYSTRUCTURE over a random window (or the whole mailbox).
async fn fetch_envelope(
    client: &mut Client,
    rng: &mut Rng,
    window: u32,
    smoke: bool,
) -> Result<u64, OperationError> {
    let exists = nonempty(client)?;
    let (first, last) = if window == 0 || u64::from(window) >= exists {
        (1, exists)
    } else {
        let first = rng.range(1, exists - u64::from(window) + 1);
        (first, first + u64::from(window) - 1)
    };
    let command = format!("FETCH {first}:{last} (ENVELOPE BODYSTRUCTURE)");
    let mut listed = 0;
    let octets = client
        .command("FETCH", command.as_bytes(), |text, _| {
            listed += u64::from(is_fetch(text));
        })
        .await?;
    if smoke && listed != last - first + 1 {
        return Err(OperationError::Malformed(format!(
            "{command} answered for {listed} messages"
        )));
    }
    Ok(octets)
}

/// The whole of a random message, without setting \Seen; counts the literal's octets. The
/// smoke run also asks for RFC822.SIZE and checks that the literal has that many octets.
async fn fetch_body(
    client: &mut Client,
    rng: &mut Rng,
    smoke: bool,
) -> Result<u64, OperationError> {
    let exists = nonempty(client)?;
    let number = rng.range(1, exists);
    let command = if smoke {
        format!("FETCH {number} (RFC822.SIZE BODY.PEEK[])")
    } else {
        format!("FETCH {number} (BODY.PEEK[])")
    };
    let mut body_octets = 0;
    let mut mismatch = None;
    client
        .command("FETCH", command.as_bytes(), |text, literal_octets| {
            if !is_fetch(text) {
                return;
            }
            body_octets += literal_octets;
            if smoke {
                let size = fetch_number(text, b"RFC822.SIZE");
                if size != Some(literal_octets) {
                    mismatch = Some(format!(
                        "RFC822.SIZE {size:?}, BODY[] {literal_octets} octets"
                    ));
                }
            }
        })
        .await?;
    if let Some(mismatch) = mismatch {
        return Err(OperationError::Malformed(mismatch));
    }
    if body_octets == 0 {
        return Err(OperationError::Malformed(format!(
            "{command} returned no literal"
        )));
    }
    Ok(body_octets)
}

async fn search(client: &mut Client, key: &str) -> Result<u64, OperationError> {
    let command = format!("SEARCH {key}");
    let mut answered = false;
    let octets = client
        .command("SEARCH", command.as_bytes(), |text, _| {
            answered |= search_matches(text).is_some();
        })
        .await?;
    // RFC 3501 §7.2.5: `* SEARCH` comes even when nothing matches.
    if !answered {
        return Err(OperationError::Malformed("no * SEARCH response".into()));
    }
    Ok(octets)
}

fn nonempty(client: &Client) -> Result<u64, OperationError> {
    match client.exists() {
        0 => Err(OperationError::Refused {
            step: "SELECT".into(),
            reply: "the mailbox is empty: fill it before this scenario".into(),
        }),
        exists => Ok(exists),
    }
}
