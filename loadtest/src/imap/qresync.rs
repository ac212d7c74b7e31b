//! qresync-resync (RFC 7162): how fast a client that was away catches up. Each task holds two
//! connections to its account: the measuring one, which has sent `ENABLE QRESYNC` and knows the
//! mailbox's UIDVALIDITY and HIGHESTMODSEQ, and a "changer" with the mailbox selected. Per
//! operation the changer flips `\Flagged` on 1% of the messages (EXISTS ÷ 100, at least 1;
//! `+FLAGS.SILENT` on a fresh random set, then `-FLAGS.SILENT` on the same set, so that every
//! STORE changes every message it names); that step is recorded as "change" and is not part of
//! the headline. Then, timed as "resync": `UNSELECT` and `SELECT mailbox (QRESYNC (uidvalidity
//! modseq))`, read to the tagged OK; the `* n FETCH` lines must be at least the messages
//! changed. The HIGHESTMODSEQ of that SELECT is the next operation's starting point.
//!
//! At the start each task clears `\Flagged` on its share of the messages. The tasks' random sets
//! never overlap: task t picks among the message numbers n with
//! (n - 1) mod connections = t mod connections (the whole mailbox if that leaves too few), so
//! one task's STORE never undoes or pre-empts another's.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::recorder::Recorder;
use crate::rng::Rng;
use crate::run::{Shared, wait_for};
use crate::wire::OperationError;

use super::client::{Client, is_fetch, quoted, response_code};

const RECONNECT_PAUSE: Duration = Duration::from_millis(100);
const LOGOUT_TIMEOUT: Duration = Duration::from_secs(2);
/// The share of the mailbox changed per operation: 1 in this many messages.
pub const CHANGED_PER: u64 = 100;
/// Message numbers per STORE when clearing the task's share at the start.
const CLEAR_NUMBERS_PER_STORE: usize = 500;

/// What the measuring connection knows of the mailbox.
struct Session {
    measuring: Client,
    changer: Client,
    uid_validity: u64,
    highest_modseq: u64,
    exists: u64,
    /// The set the last `+FLAGS` named, for the `-FLAGS` that follows it.
    flagged: Option<String>,
}

pub async fn task(shared: Arc<Shared>, task: u32) -> Recorder {
    let scenario = &shared.scenario;
    let primary = super::primary_operation(scenario.imap.scenario);
    let mut recorder = Recorder::new(primary);
    let mut rng = Rng::derive(scenario.seed, 4_000_000 + u64::from(task));
    let user = task % scenario.user_count + 1;
    let timeout = scenario.operation_timeout();
    let mut session: Option<Session> = None;
    while let Some(slot) = shared.plan.next_slot(Instant::now()) {
        wait_for(slot).await;
        if session.is_none() {
            let began = Instant::now();
            match tokio::time::timeout(timeout, open(&shared, user, task)).await {
                Ok(Ok(opened)) => {
                    recorder.success(&shared.live, "login", began.elapsed(), 0, slot.measured);
                    session = Some(opened);
                }
                failed => {
                    let message = super::failure_text(failed);
                    recorder.error(&shared.live, "login", message, slot.measured);
                    tokio::time::sleep(RECONNECT_PAUSE).await;
                    continue;
                }
            }
        }
        let current = session.as_mut().expect("opened above");
        let began = Instant::now();
        let changing = change(current, &mut rng, task, scenario.connections);
        let changed = match tokio::time::timeout(timeout, changing).await {
            Ok(Ok(changed)) => {
                recorder.success(&shared.live, "change", began.elapsed(), 0, slot.measured);
                changed
            }
            failed => {
                let message = super::failure_text(failed);
                recorder.error(&shared.live, "change", message, slot.measured);
                recorder.failed(primary, slot.measured);
                session = None;
                continue;
            }
        };
        let began = Instant::now();
        match tokio::time::timeout(timeout, resync(current, &shared, changed)).await {
            Ok(Ok((octets, fetches))) => {
                recorder.success_with_items(
                    &shared.live,
                    primary,
                    began.elapsed(),
                    octets,
                    fetches,
                    slot.measured,
                );
            }
            failed => {
                let message = super::failure_text(failed);
                recorder.error(&shared.live, primary, message, slot.measured);
                session = None;
            }
        }
    }
    if let Some(mut ended) = session {
        let _ = tokio::time::timeout(LOGOUT_TIMEOUT, ended.changer.logout()).await;
        let _ = tokio::time::timeout(LOGOUT_TIMEOUT, ended.measuring.logout()).await;
    }
    recorder
}

/// Both connections: the measuring one with QRESYNC enabled and the mailbox selected (its
/// UIDVALIDITY and HIGHESTMODSEQ noted), the changer with the mailbox selected.
async fn open(shared: &Shared, user: u32, task: u32) -> Result<Session, OperationError> {
    let scenario = &shared.scenario;
    let mailbox = &scenario.imap.mailbox;
    // First the changer clears \Flagged on the task's share (an earlier run may have left some
    // set, and a +FLAGS that changes nothing would leave nothing to resync).
    let mut changer = super::log_in(shared, user, Some(mailbox)).await?;
    for set in share_sets(changer.exists(), task, scenario.connections) {
        let command = format!("STORE {set} -FLAGS.SILENT (\\Flagged)");
        changer
            .command("STORE", command.as_bytes(), |_, _| {})
            .await?;
    }
    let mut measuring = super::log_in(shared, user, None).await?;
    measuring
        .command("ENABLE", b"ENABLE QRESYNC", |_, _| {})
        .await?;
    let mut command = b"SELECT ".to_vec();
    quoted(&mut command, mailbox.as_bytes())?;
    let (mut uid_validity, mut highest_modseq) = (None, None);
    measuring
        .command("SELECT", &command, |text, _| {
            uid_validity = uid_validity.or(response_code(text, b"UIDVALIDITY"));
            highest_modseq = highest_modseq.or(response_code(text, b"HIGHESTMODSEQ"));
        })
        .await?;
    if highest_modseq.is_none() {
        // A server that tells HIGHESTMODSEQ only to a CONDSTORE SELECT (RFC 7162 §3.1.8).
        command.extend_from_slice(b" (CONDSTORE)");
        measuring
            .command("SELECT", &command, |text, _| {
                uid_validity = uid_validity.or(response_code(text, b"UIDVALIDITY"));
                highest_modseq = highest_modseq.or(response_code(text, b"HIGHESTMODSEQ"));
            })
            .await?;
    }
    let exists = match measuring.exists() {
        0 => {
            return Err(OperationError::Refused {
                step: "SELECT".into(),
                reply: "the mailbox is empty: fill it before this scenario".into(),
            });
        }
        exists => exists,
    };
    let missing = |what: &str| {
        OperationError::Malformed(format!(
            "SELECT (after ENABLE QRESYNC) gave no [{what} n]: is QRESYNC supported?"
        ))
    };
    let uid_validity = uid_validity.ok_or_else(|| missing("UIDVALIDITY"))?;
    let highest_modseq = highest_modseq.ok_or_else(|| missing("HIGHESTMODSEQ"))?;
    Ok(Session {
        measuring,
        changer,
        uid_validity,
        highest_modseq,
        exists,
        flagged: None,
    })
}

/// The untimed step: `+FLAGS.SILENT (\Flagged)` on a new random 1%, or `-FLAGS.SILENT` on the
/// set flagged last time. Returns the messages changed.
async fn change(
    session: &mut Session,
    rng: &mut Rng,
    task: u32,
    connections: u32,
) -> Result<u64, OperationError> {
    let count = changed_count(session.exists);
    let (set, sign) = match session.flagged.take() {
        Some(set) => (set, '-'),
        None => {
            let set = random_set(rng, session.exists, count, task, connections);
            session.flagged = Some(set.clone());
            (set, '+')
        }
    };
    let command = format!("STORE {set} {sign}FLAGS.SILENT (\\Flagged)");
    session
        .changer
        .command("STORE", command.as_bytes(), |_, _| {})
        .await?;
    Ok(count)
}

/// The timed step: UNSELECT, then SELECT with QRESYNC; returns (octets, `* n FETCH` lines).
async fn resync(
    session: &mut Session,
    shared: &Shared,
    changed: u64,
) -> Result<(u64, u64), OperationError> {
    let mut octets = session
        .measuring
        .command("UNSELECT", b"UNSELECT", |_, _| {})
        .await?;
    let mut command = b"SELECT ".to_vec();
    quoted(&mut command, shared.scenario.imap.mailbox.as_bytes())?;
    command.extend_from_slice(
        format!(
            " (QRESYNC ({} {}))",
            session.uid_validity, session.highest_modseq
        )
        .as_bytes(),
    );
    let (mut fetches, mut highest_modseq) = (0, None);
    octets += session
        .measuring
        .command("SELECT QRESYNC", &command, |text, _| {
            fetches += u64::from(is_fetch(text));
            highest_modseq = highest_modseq.or(response_code(text, b"HIGHESTMODSEQ"));
        })
        .await?;
    let highest_modseq = highest_modseq.ok_or_else(|| {
        OperationError::Malformed("SELECT (QRESYNC ...) gave no [HIGHESTMODSEQ n]".into())
    })?;
    if fetches < changed {
        return Err(OperationError::Malformed(format!(
            "SELECT (QRESYNC ({} {})) listed {fetches} changed messages, {changed} were changed",
            session.uid_validity, session.highest_modseq
        )));
    }
    session.highest_modseq = highest_modseq;
    Ok((octets, fetches))
}

/// 1% of the mailbox, at least one message.
pub fn changed_count(exists: u64) -> u64 {
    (exists / CHANGED_PER).max(1)
}

/// The task's share of the messages as (stride, offset, size): the numbers offset + 1,
/// offset + 1 + stride, ... up to exists; the whole mailbox when that leaves fewer than `count`.
fn share(exists: u64, count: u64, task: u32, connections: u32) -> (u64, u64, u64) {
    let stride = u64::from(connections.max(1));
    let offset = u64::from(task) % stride;
    let own = if exists > offset {
        (exists - offset - 1) / stride + 1
    } else {
        0
    };
    if own >= count {
        (stride, offset, own)
    } else {
        (1, 0, exists)
    }
}

/// Sequence sets of the task's whole share, in pieces short enough for any server's line limit.
fn share_sets(exists: u64, task: u32, connections: u32) -> Vec<String> {
    if exists == 0 {
        return Vec::new();
    }
    let (stride, offset, pool) = share(exists, changed_count(exists), task, connections);
    if stride == 1 {
        return vec!["1:*".into()];
    }
    let numbers: Vec<String> = (0..pool)
        .map(|index| (index * stride + offset + 1).to_string())
        .collect();
    numbers
        .chunks(CLEAR_NUMBERS_PER_STORE)
        .map(|chunk| chunk.join(","))
        .collect()
}

/// `count` distinct message numbers of 1..=exists, as a comma-separated sequence set, from the
/// numbers that belong to `task` (n - 1 ≡ task mod connections) when there are enough of them.
pub fn random_set(rng: &mut Rng, exists: u64, count: u64, task: u32, connections: u32) -> String {
    let (stride, offset, pool) = share(exists, count, task, connections);
    let count = count.min(pool);
    let mut chosen = HashSet::new();
    while (chosen.len() as u64) < count {
        chosen.insert(rng.range(0, pool - 1));
    }
    let mut numbers: Vec<u64> = chosen
        .into_iter()
        .map(|index| index * stride + offset + 1)
        .collect();
    numbers.sort_unstable();
    numbers
        .iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_distinct_messages_of_the_task_s_own_share() {
        assert_eq!(changed_count(10_000), 100);
        assert_eq!(changed_count(42), 1);
        let mut rng = Rng::derive(1, 2);
        let set = random_set(&mut rng, 10_000, 100, 3, 4);
        let numbers: Vec<u64> = set.split(',').map(|n| n.parse().unwrap()).collect();
        assert_eq!(numbers.len(), 100);
        assert!(numbers.windows(2).all(|pair| pair[0] < pair[1]));
        assert!(
            numbers
                .iter()
                .all(|&n| (1..=10_000).contains(&n) && (n - 1) % 4 == 3)
        );
        // Too few messages of its own: the whole mailbox.
        let set = random_set(&mut rng, 3, 3, 1, 4);
        assert_eq!(set, "1,2,3");
        let set = random_set(&mut rng, 5, 1, 1, 2);
        assert!(["2", "4"].contains(&set.as_str()), "{set}");
    }
}
