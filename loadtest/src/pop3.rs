//! POP3 download: one session per operation — connect, USER/PASS, STAT, RETR (and DELE) every
//! message, QUIT. Latency is recorded per step (`login`, `stat`, `retr`, `dele`, `quit`) and for
//! the whole `session`.
//!
//! Each task owns the accounts whose number is congruent to it modulo the connection count, so
//! two sessions never compete for one maildrop lock (RFC 1939 §8) unless there are more
//! connections than accounts.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::AsyncRead;

use crate::recorder::Recorder;
use crate::run::{Shared, wait_for};
use crate::scenario::{Pop3Mode, TlsMode};
use crate::schedule::Slot;
use crate::wire::{self, OperationError, Reader, Stream};

const RECONNECT_PAUSE: Duration = Duration::from_millis(100);

pub async fn task(shared: Arc<Shared>, task: u32) -> Recorder {
    let mut recorder = Recorder::new("session");
    let scenario = &shared.scenario;
    let mut user = task % scenario.user_count + 1;
    while let Some(slot) = shared.plan.next_slot(Instant::now()) {
        wait_for(slot).await;
        let timeout = scenario.operation_timeout();
        let mut steps = Steps {
            recorder: &mut recorder,
            shared: &shared,
            measured: slot.measured,
            failed_step: "session",
        };
        let result = tokio::time::timeout(timeout, session(&mut steps, user, slot)).await;
        let failed_step = steps.failed_step;
        match result {
            Ok(Ok(octets)) => {
                let latency = slot.intended.elapsed();
                recorder.success(&shared.live, "session", latency, octets, slot.measured);
            }
            failed => {
                let error = failed.unwrap_or(Err(OperationError::Timeout)).err();
                let message = error.map(|error| error.to_string()).unwrap_or_default();
                if failed_step != "session" {
                    recorder.failed(failed_step, slot.measured);
                }
                recorder.error(
                    &shared.live,
                    "session",
                    format!("{failed_step}: {message}"),
                    slot.measured,
                );
                tokio::time::sleep(RECONNECT_PAUSE).await;
            }
        }
        user = next_user(user, scenario.connections, scenario.user_count);
    }
    recorder
}

/// The task's next account: `connections` further on, wrapping to the task's first.
fn next_user(user: u32, connections: u32, user_count: u32) -> u32 {
    let next = u64::from(user) + u64::from(connections);
    if next <= u64::from(user_count) {
        next as u32
    } else {
        (user - 1) % connections.min(user_count) + 1
    }
}

/// Records the steps of one session and remembers which one is running, to name a failure.
struct Steps<'a> {
    recorder: &'a mut Recorder,
    shared: &'a Shared,
    measured: bool,
    failed_step: &'static str,
}

impl Steps<'_> {
    fn begin(&mut self, step: &'static str) -> Instant {
        self.failed_step = step;
        Instant::now()
    }

    fn done(&mut self, step: &'static str, began: Instant, octets: u64) {
        let live = &self.shared.live;
        self.recorder
            .success(live, step, began.elapsed(), octets, self.measured);
        self.failed_step = "session";
    }
}

/// One whole session; returns the message octets retrieved.
async fn session(steps: &mut Steps<'_>, user: u32, slot: Slot) -> Result<u64, OperationError> {
    let shared = steps.shared;
    let scenario = &shared.scenario;
    // The login counts from the intended start, so in the open loop it includes any wait.
    steps.begin("login");
    let (mut stream, mut reader) = connect(shared).await?;
    let address = scenario.user_address(user);
    command(&mut stream, &mut reader, &format!("USER {address}\r\n")).await?;
    let password = scenario.password.for_user(user);
    command(&mut stream, &mut reader, &format!("PASS {password}\r\n")).await?;
    steps.done("login", slot.intended, 0);

    let began = steps.begin("stat");
    let status = command(&mut stream, &mut reader, "STAT\r\n").await?;
    let (messages, maildrop_octets) = parse_stat(&status)?;
    steps.done("stat", began, 0);

    let mut retrieved_octets = 0;
    if scenario.pop3_mode != Pop3Mode::Stat {
        for number in 1..=messages {
            let began = steps.begin("retr");
            command(&mut stream, &mut reader, &format!("RETR {number}\r\n")).await?;
            let octets = multi_line_octets(&mut stream, &mut reader).await?;
            retrieved_octets += octets;
            steps.done("retr", began, octets);
            if scenario.pop3_mode == Pop3Mode::RetrDele {
                let began = steps.begin("dele");
                command(&mut stream, &mut reader, &format!("DELE {number}\r\n")).await?;
                steps.done("dele", began, 0);
            }
        }
        if scenario.smoke && retrieved_octets != maildrop_octets {
            return Err(OperationError::Malformed(format!(
                "STAT said {maildrop_octets} octets, RETR gave {retrieved_octets}"
            )));
        }
    }

    // RFC 1939 §6: deletions take effect at QUIT, so its latency is part of the session.
    let began = steps.begin("quit");
    command(&mut stream, &mut reader, "QUIT\r\n").await?;
    steps.done("quit", began, 0);
    Ok(retrieved_octets)
}

async fn connect(shared: &Shared) -> Result<(Box<dyn Stream>, Reader), OperationError> {
    let scenario = &shared.scenario;
    let tcp = wire::connect_tcp(&scenario.host, scenario.port).await?;
    let tls = || shared.tls.as_ref().expect("TLS runs have a TLS client");
    let mut reader = Reader::new();
    let stream: Box<dyn Stream> = match scenario.tls {
        TlsMode::None => {
            let mut stream: Box<dyn Stream> = Box::new(tcp);
            status(&mut stream, &mut reader, "greeting").await?;
            stream
        }
        TlsMode::Implicit => {
            let mut stream: Box<dyn Stream> = Box::new(tls().wrap(tcp).await?);
            status(&mut stream, &mut reader, "greeting").await?;
            stream
        }
        TlsMode::Starttls => {
            // RFC 2595 §4: STLS, then the handshake; the greeting came in the clear.
            let mut tcp = tcp;
            status(&mut tcp, &mut reader, "greeting").await?;
            command(&mut tcp, &mut reader, "STLS\r\n").await?;
            if !reader.is_drained() {
                return Err(OperationError::Malformed(
                    "server sent data after +OK to STLS".into(),
                ));
            }
            Box::new(tls().wrap(tcp).await?)
        }
    };
    Ok((stream, reader))
}

/// Sends a command and expects `+OK`; returns the status line's text after `+OK`.
async fn command<S: Stream + ?Sized>(
    stream: &mut S,
    reader: &mut Reader,
    line: &str,
) -> Result<String, OperationError> {
    wire::send(stream, line.as_bytes()).await?;
    let verb = line.split([' ', '\r']).next().unwrap_or_default();
    status(stream, reader, verb).await
}

async fn status<S: AsyncRead + Unpin + ?Sized>(
    stream: &mut S,
    reader: &mut Reader,
    step: &str,
) -> Result<String, OperationError> {
    let line = reader.line(stream).await?;
    if let Some(rest) = line.strip_prefix(b"+OK") {
        return Ok(String::from_utf8_lossy(rest).trim().to_owned());
    }
    if line.starts_with(b"-ERR") {
        return Err(OperationError::Refused {
            step: step.to_owned(),
            reply: wire::quote(line),
        });
    }
    Err(OperationError::Malformed(format!(
        "{step}: {}",
        wire::quote(line)
    )))
}

/// Reads a multi-line response up to the lone `.` (RFC 1939 §3) and returns the octets of the
/// content after removing the byte-stuffing, CRLF counted.
async fn multi_line_octets<S: AsyncRead + Unpin + ?Sized>(
    stream: &mut S,
    reader: &mut Reader,
) -> Result<u64, OperationError> {
    let mut octets = 0;
    loop {
        let line = reader.line(stream).await?;
        if line == b"." {
            return Ok(octets);
        }
        let unstuffed = line.strip_prefix(b".").unwrap_or(line);
        octets += unstuffed.len() as u64 + 2;
    }
}

fn parse_stat(text: &str) -> Result<(u64, u64), OperationError> {
    let mut fields = text.split_ascii_whitespace().map(str::parse::<u64>);
    match (fields.next(), fields.next()) {
        (Some(Ok(messages)), Some(Ok(octets))) => Ok((messages, octets)),
        _ => Err(OperationError::Malformed(format!(
            "STAT answered {}",
            wire::quote(text.as_bytes())
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tasks_own_disjoint_accounts() {
        // 3 connections over 7 accounts: task 0 has 1, 4, 7; task 1 has 2, 5; task 2 has 3, 6.
        let cycle = |first: u32| {
            let mut user = first;
            let mut seen = vec![user];
            for _ in 0..5 {
                user = next_user(user, 3, 7);
                seen.push(user);
            }
            seen
        };
        assert_eq!(cycle(1), [1, 4, 7, 1, 4, 7]);
        assert_eq!(cycle(2), [2, 5, 2, 5, 2, 5]);
        assert_eq!(cycle(3), [3, 6, 3, 6, 3, 6]);
        // More connections than accounts: tasks share, but stay in range.
        assert_eq!(next_user(2, 5, 2), 2);
        assert_eq!(next_user(1, 5, 2), 1);
    }

    #[test]
    fn parses_stat_and_counts_unstuffed_octets() {
        assert_eq!(parse_stat("3 4096").unwrap(), (3, 4096));
        assert!(parse_stat("three").is_err());
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let octets = runtime.block_on(async {
            let mut input: &[u8] = b"Subject: x\r\n\r\n..dot\r\nend\r\n.\r\n";
            let mut reader = Reader::new();
            multi_line_octets(&mut input, &mut reader).await.unwrap()
        });
        assert_eq!(octets, "Subject: x\r\n\r\n.dot\r\nend\r\n".len() as u64);
    }
}
