//! SMTP and LMTP delivery: one kept-open connection per task, one transaction per operation
//! (MAIL, RCPT × n, DATA or BDAT, up to the last reply), a new connection after any error.
//! `connect` and `transaction` also deliver the mail that IMAP's idle-latency waits for.

use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;

use crate::corpus::{Message, MessageId};
use crate::recorder::Recorder;
use crate::rng::Rng;
use crate::run::{Shared, wait_for};
use crate::scenario::{Protocol, Scenario, TlsMode};
use crate::wire::{self, OperationError, Reader, Stream};

/// After a failed connection attempt, so a server that is down is not hammered in a hot loop.
const RECONNECT_PAUSE: Duration = Duration::from_millis(100);
const QUIT_TIMEOUT: Duration = Duration::from_secs(2);

/// What the server offered in its EHLO/LHLO reply (RFC 5321 §4.1.1.1).
#[derive(Debug, Default, Clone, Copy)]
struct Capabilities {
    pipelining: bool,
    chunking: bool,
    starttls: bool,
    eight_bit_mime: bool,
}

impl Capabilities {
    fn parse(text: &[u8]) -> Capabilities {
        let mut capabilities = Capabilities::default();
        // The first line is the server's name, the others one extension each.
        for line in text.split(|&byte| byte == b'\n').skip(1) {
            let keyword = line.split(|&byte| byte == b' ').next().unwrap_or_default();
            match keyword.to_ascii_uppercase().as_slice() {
                b"PIPELINING" => capabilities.pipelining = true,
                b"CHUNKING" => capabilities.chunking = true,
                b"STARTTLS" => capabilities.starttls = true,
                b"8BITMIME" => capabilities.eight_bit_mime = true,
                _ => {}
            }
        }
        capabilities
    }
}

/// Where a delivering connection goes and how it talks: the scenario's own server, or the LMTP
/// port beside an IMAP server.
#[derive(Debug, Clone, Copy)]
pub struct Target {
    pub protocol: Protocol,
    pub port: u16,
    pub tls: TlsMode,
    pub pipelining: bool,
    pub bdat: bool,
    pub auth: bool,
}

impl Target {
    pub fn of(scenario: &Scenario) -> Target {
        Target {
            protocol: scenario.protocol,
            port: scenario.port,
            tls: scenario.tls,
            pipelining: scenario.pipelining,
            bdat: scenario.bdat,
            auth: scenario.auth,
        }
    }

    /// Plain LMTP, one command at a time, DATA: the plainest delivery there is.
    pub fn lmtp(port: u16) -> Target {
        Target {
            protocol: Protocol::Lmtp,
            port,
            tls: TlsMode::None,
            pipelining: false,
            bdat: false,
            auth: false,
        }
    }
}

pub struct Session {
    stream: Box<dyn Stream>,
    reader: Reader,
    capabilities: Capabilities,
}

/// One task: its connection, its seeded recipient choices and its Message-ID sequence.
struct Client {
    shared: Arc<Shared>,
    target: Target,
    task: u32,
    rng: Rng,
    sequence: u64,
    session: Option<Session>,
    out: Vec<u8>,
    recipients: Vec<u32>,
}

pub async fn task(shared: Arc<Shared>, task: u32) -> Recorder {
    let mut recorder = Recorder::new("deliver");
    let mut client = Client {
        rng: Rng::derive(shared.scenario.seed, 1_000_000 + u64::from(task)),
        target: Target::of(&shared.scenario),
        shared: Arc::clone(&shared),
        task,
        sequence: 0,
        session: None,
        out: Vec::new(),
        recipients: Vec::new(),
    };
    while let Some(slot) = shared.plan.next_slot(Instant::now()) {
        wait_for(slot).await;
        client.operation(slot, &mut recorder).await;
    }
    client.quit().await;
    recorder
}

impl Client {
    async fn operation(&mut self, slot: crate::schedule::Slot, recorder: &mut Recorder) {
        let shared = Arc::clone(&self.shared);
        let timeout = shared.scenario.operation_timeout();
        if self.session.is_none() {
            let began = Instant::now();
            let user = self.task % shared.scenario.user_count + 1;
            let connecting = connect(&shared, self.target, user);
            match tokio::time::timeout(timeout, connecting).await {
                Ok(Ok(session)) => {
                    let latency = began.elapsed();
                    recorder.success(&shared.live, "connect", latency, 0, slot.measured);
                    self.session = Some(session);
                }
                failed => {
                    let error = failed.unwrap_or(Err(OperationError::Timeout)).err();
                    let message = error.map(|error| error.to_string()).unwrap_or_default();
                    recorder.error(&shared.live, "connect", message, slot.measured);
                    tokio::time::sleep(RECONNECT_PAUSE).await;
                    return;
                }
            }
        }
        let message = shared
            .corpus
            .as_ref()
            .expect("delivery runs have a corpus")
            .pick(&mut self.rng);
        self.choose_recipients();
        let id = MessageId::next(shared.scenario.seed, self.task, &mut self.sequence);
        let session = self.session.as_mut().expect("connected above");
        let transaction = transaction(
            &shared,
            self.target,
            session,
            &mut self.out,
            &self.recipients,
            message,
            id,
        );
        match tokio::time::timeout(timeout, transaction).await {
            Ok(Ok(())) => {
                let latency = slot.intended.elapsed();
                recorder.success(
                    &shared.live,
                    "deliver",
                    latency,
                    message.len() as u64,
                    slot.measured,
                );
            }
            failed => {
                let error = failed.unwrap_or(Err(OperationError::Timeout)).err();
                let message = error.map(|error| error.to_string()).unwrap_or_default();
                recorder.error(&shared.live, "deliver", message, slot.measured);
                self.session = None;
            }
        }
    }

    /// Distinct recipients drawn from the account range (validated: count ≤ accounts).
    fn choose_recipients(&mut self) {
        let scenario = &self.shared.scenario;
        self.recipients.clear();
        while self.recipients.len() < scenario.recipients as usize {
            let user = self.rng.range(1, u64::from(scenario.user_count)) as u32;
            if !self.recipients.contains(&user) {
                self.recipients.push(user);
            }
        }
    }

    async fn quit(&mut self) {
        if let Some(mut session) = self.session.take() {
            let quit = async {
                wire::send(&mut session.stream, b"QUIT\r\n").await?;
                session.reader.reply(&mut session.stream).await
            };
            let _ = tokio::time::timeout(QUIT_TIMEOUT, quit).await;
        }
    }
}

async fn expect<S: tokio::io::AsyncRead + Unpin + ?Sized>(
    stream: &mut S,
    reader: &mut Reader,
    step: &str,
    accepted: &[u16],
) -> Result<(), OperationError> {
    let code = reader.reply(stream).await?;
    if accepted.contains(&code) {
        return Ok(());
    }
    Err(OperationError::Refused {
        step: step.to_owned(),
        reply: reader.describe(code),
    })
}

/// Connection set-up: greeting, EHLO/LHLO, STARTTLS and EHLO again, AUTH PLAIN.
pub async fn connect(
    shared: &Shared,
    target: Target,
    user: u32,
) -> Result<Session, OperationError> {
    let scenario = &shared.scenario;
    let tcp = wire::connect_tcp(&scenario.host, target.port).await?;
    let tls = || shared.tls.as_ref().expect("TLS runs have a TLS client");
    let mut reader = Reader::new();
    let (mut stream, greeted): (Box<dyn Stream>, bool) = match target.tls {
        TlsMode::None => (Box::new(tcp), false),
        TlsMode::Implicit => (Box::new(tls().wrap(tcp).await?), false),
        TlsMode::Starttls => {
            let mut tcp = tcp;
            expect(&mut tcp, &mut reader, "greeting", &[220]).await?;
            let offered = hello(shared, target, &mut tcp, &mut reader).await?;
            if !offered.starttls {
                return Err(refused("EHLO", "server does not offer STARTTLS"));
            }
            wire::send(&mut tcp, b"STARTTLS\r\n").await?;
            expect(&mut tcp, &mut reader, "STARTTLS", &[220]).await?;
            if !reader.is_drained() {
                return Err(OperationError::Malformed(
                    "server sent data after 220 to STARTTLS".into(),
                ));
            }
            (Box::new(tls().wrap(tcp).await?), true)
        }
    };
    if !greeted {
        expect(&mut stream, &mut reader, "greeting", &[220]).await?;
    }
    let capabilities = hello(shared, target, &mut stream, &mut reader).await?;
    if target.pipelining && !capabilities.pipelining {
        return Err(refused("EHLO", "server does not offer PIPELINING"));
    }
    if target.bdat && !capabilities.chunking {
        return Err(refused("EHLO", "server does not offer CHUNKING"));
    }
    if target.auth {
        // RFC 4616: authorization identity empty, then the user and the password.
        let credentials = format!(
            "\0{}\0{}",
            scenario.user_address(user),
            scenario.password.for_user(user)
        );
        let encoded = base64::engine::general_purpose::STANDARD.encode(credentials);
        wire::send(&mut stream, format!("AUTH PLAIN {encoded}\r\n").as_bytes()).await?;
        expect(&mut stream, &mut reader, "AUTH PLAIN", &[235]).await?;
    }
    Ok(Session {
        stream,
        reader,
        capabilities,
    })
}

fn refused(step: &str, reply: &str) -> OperationError {
    OperationError::Refused {
        step: step.into(),
        reply: reply.into(),
    }
}

async fn hello<S: Stream + ?Sized>(
    shared: &Shared,
    target: Target,
    stream: &mut S,
    reader: &mut Reader,
) -> Result<Capabilities, OperationError> {
    let scenario = &shared.scenario;
    let (verb, name) = match target.protocol {
        Protocol::Lmtp => ("LHLO", &scenario.lhlo_name),
        _ => ("EHLO", &scenario.ehlo_name),
    };
    wire::send(stream, format!("{verb} {name}\r\n").as_bytes()).await?;
    expect(stream, reader, verb, &[250]).await?;
    Ok(Capabilities::parse(reader.reply_text()))
}

/// One mail transaction. With PIPELINING the commands up to DATA (or the whole BDAT) go in one
/// write and the replies are read after it (RFC 2920 §3.1); without, each waits for its reply.
pub async fn transaction(
    shared: &Shared,
    target: Target,
    session: &mut Session,
    out: &mut Vec<u8>,
    recipients: &[u32],
    message: &Message,
    id: MessageId,
) -> Result<(), OperationError> {
    let scenario = &shared.scenario;
    let pipelined = target.pipelining;
    let Session {
        stream,
        reader,
        capabilities,
    } = session;
    out.clear();
    let body = if capabilities.eight_bit_mime {
        " BODY=8BITMIME"
    } else {
        ""
    };
    write!(out, "MAIL FROM:<{}>{body}\r\n", scenario.from).expect("writing to a Vec");
    if !pipelined {
        wire::send(stream, out).await?;
        expect(stream, reader, "MAIL FROM", &[250]).await?;
        out.clear();
    }
    for &user in recipients {
        write!(out, "RCPT TO:<{}>\r\n", scenario.user_address(user)).expect("writing to a Vec");
        if !pipelined {
            wire::send(stream, out).await?;
            expect(stream, reader, "RCPT TO", &[250, 251]).await?;
            out.clear();
        }
    }
    if target.bdat {
        // RFC 3030 §2: one chunk with LAST; the octets are counted unstuffed.
        write!(out, "BDAT {} LAST\r\n", message.len()).expect("writing to a Vec");
        message.write_raw(out, id);
        wire::send(stream, out).await?;
        if pipelined {
            deferred_replies(stream, reader, recipients.len()).await?;
        }
    } else {
        out.extend_from_slice(b"DATA\r\n");
        wire::send(stream, out).await?;
        if pipelined {
            deferred_replies(stream, reader, recipients.len()).await?;
        }
        expect(stream, reader, "DATA", &[354]).await?;
        out.clear();
        message.write_data(out, id);
        wire::send(stream, out).await?;
    }
    // RFC 2033 §4.2: LMTP answers once per accepted recipient after the data.
    let final_replies = match target.protocol {
        Protocol::Lmtp => recipients.len(),
        _ => 1,
    };
    let step = if target.bdat { "BDAT" } else { "end of data" };
    for _ in 0..final_replies {
        expect(stream, reader, step, &[250]).await?;
    }
    Ok(())
}

async fn deferred_replies(
    stream: &mut Box<dyn Stream>,
    reader: &mut Reader,
    recipients: usize,
) -> Result<(), OperationError> {
    expect(stream, reader, "MAIL FROM", &[250]).await?;
    for _ in 0..recipients {
        expect(stream, reader, "RCPT TO", &[250, 251]).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_capabilities_from_the_ehlo_reply() {
        let offered = Capabilities::parse(
            b"mail.example.test greets you\nPIPELINING\nSIZE 52428800\nchunking\nSTARTTLS\n8BITMIME",
        );
        assert!(offered.pipelining && offered.chunking && offered.starttls);
        assert!(offered.eight_bit_mime);
        let none = Capabilities::parse(b"PIPELINING is the name of this host");
        assert!(!none.pipelining);
    }
}
