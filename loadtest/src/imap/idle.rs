//! idle-latency: each task holds an IMAP session that IDLEs on its own account's mailbox and an
//! LMTP connection to the same server; per operation it delivers one message to that account
//! and waits for `* n EXISTS` on the session.
//!
//! Recorded: `deliver` (the LMTP transaction, up to its 250), `notify` (from reading the 250 to
//! reading the EXISTS: how long a client still waits once the delivery is acknowledged; 0 when
//! the EXISTS came first) and `exists` (from the start of the delivery to the EXISTS). Tasks
//! own distinct accounts (validated), so a session is woken only by its own deliveries.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::corpus::MessageId;
use crate::recorder::Recorder;
use crate::rng::Rng;
use crate::run::{Shared, wait_for};
use crate::schedule::Slot;
use crate::smtp::{self, Target};
use crate::wire::OperationError;

use super::client::Client;

const RECONNECT_PAUSE: Duration = Duration::from_millis(100);

/// The two connections of one task.
struct Pair {
    imap: Client,
    lmtp: smtp::Session,
}

pub async fn task(shared: Arc<Shared>, task: u32) -> Recorder {
    let scenario = &shared.scenario;
    let mut recorder = Recorder::new("notify");
    let mut rng = Rng::derive(scenario.seed, 3_000_000 + u64::from(task));
    let user = task % scenario.user_count + 1;
    let target = Target::lmtp(
        scenario
            .imap
            .lmtp_port
            .expect("validated: idle-latency has an LMTP port"),
    );
    let timeout = scenario.operation_timeout();
    let mut pair: Option<Pair> = None;
    let mut out = Vec::new();
    let mut sequence = 0;
    while let Some(slot) = shared.plan.next_slot(Instant::now()) {
        wait_for(slot).await;
        if pair.is_none() {
            let began = Instant::now();
            match tokio::time::timeout(timeout, set_up(&shared, target, user)).await {
                Ok(Ok(connected)) => {
                    let latency = began.elapsed();
                    recorder.success(&shared.live, "login", latency, 0, slot.measured);
                    pair = Some(connected);
                }
                failed => {
                    let message = super::failure_text(failed);
                    recorder.error(&shared.live, "login", message, slot.measured);
                    tokio::time::sleep(RECONNECT_PAUSE).await;
                    continue;
                }
            }
        }
        let id = MessageId::next(scenario.seed, task, &mut sequence);
        let connected = pair.as_mut().expect("connected above");
        let work = deliver_and_wait(&shared, target, connected, &mut out, &mut rng, user, id);
        match tokio::time::timeout(timeout, work).await {
            Ok(Ok(times)) => record(&shared, &mut recorder, slot, times),
            failed => {
                let message = super::failure_text(failed);
                recorder.error(&shared.live, "notify", message, slot.measured);
                pair = None;
            }
        }
    }
    recorder
}

/// When the delivery began, when its 250 was read, and when the EXISTS was read.
struct Times {
    began: Instant,
    acknowledged: Instant,
    notified: Instant,
    octets: u64,
}

fn record(shared: &Shared, recorder: &mut Recorder, slot: Slot, times: Times) {
    let live = &shared.live;
    let measured = slot.measured;
    let delivery = times.acknowledged - slot.intended;
    recorder.success(live, "deliver", delivery, times.octets, measured);
    let exists = times.notified.saturating_duration_since(times.began);
    recorder.success(live, "exists", exists, 0, measured);
    let after_ack = times.notified.saturating_duration_since(times.acknowledged);
    recorder.success(live, "notify", after_ack, 0, measured);
}

async fn set_up(shared: &Shared, target: Target, user: u32) -> Result<Pair, OperationError> {
    let mut imap = super::log_in(shared, user, Some(&shared.scenario.imap.mailbox)).await?;
    imap.idle().await?;
    let lmtp = smtp::connect(shared, target, user).await?;
    Ok(Pair { imap, lmtp })
}

/// Delivers one message while reading the session, so neither waits for the other.
async fn deliver_and_wait(
    shared: &Shared,
    target: Target,
    pair: &mut Pair,
    out: &mut Vec<u8>,
    rng: &mut Rng,
    user: u32,
    id: MessageId,
) -> Result<Times, OperationError> {
    let message = shared
        .corpus
        .as_ref()
        .expect("idle-latency runs have a corpus")
        .pick(rng);
    let before = pair.imap.exists();
    let began = Instant::now();
    let Pair { imap, lmtp } = pair;
    let delivered = async {
        smtp::transaction(shared, target, lmtp, out, &[user], message, id).await?;
        Ok::<Instant, OperationError>(Instant::now())
    };
    let notified = async {
        imap.wait_for_exists(before).await?;
        Ok::<Instant, OperationError>(Instant::now())
    };
    let (acknowledged, notified) = tokio::try_join!(delivered, notified)?;
    Ok(Times {
        began,
        acknowledged,
        notified,
        octets: message.len() as u64,
    })
}
