//! SMTP command parsing and the DATA framer (dot-unstuffing, end-of-data search, bare line
//! ending and smuggling checks), through `postern::smtp::Session::feed`.
//!
//! The command parser (`src/smtp/command.rs`) and the DATA framer (`src/smtp/data.rs`) are
//! private; the session is their public entry, so these figures include what the session does
//! around them: the state machine, the replies it writes, and the driver's answers to its
//! events (a recipient resolved to itself, every message delivered). Input is fed as a network
//! read would hand it over: a pipelined block of commands (RFC 2920), or the message in
//! 64 KiB reads. Sessions are made, and brought to the DATA phase, outside the measurement.
//!
//! `cargo bench -p postern-bench --bench smtp_session`

mod support;

use divan::Bencher;
use divan::counter::{BytesCount, ItemsCount};
use postern::smtp::{Content, DeliveryResult, Event, Mode, RecipientCheck, Session, SmtpConfig};
use support::{KIB, MIB, Rng, Shape};

/// What a network read hands the session at most.
const READ_OCTETS: usize = 64 * KIB;
/// Seeded command scripts the command benchmark cycles through.
const SCRIPTS: usize = 64;
/// Transactions (MAIL, 1–4 RCPT, RSET) per script.
const TRANSACTIONS_PER_SCRIPT: usize = 8;
/// Messages per sample of the DATA benchmarks: fixed, since a 4 KiB message takes a few
/// microseconds and a sample of one would be mostly timer.
const DATA_SAMPLE_SIZE: u32 = 16;

fn main() {
    divan::main();
}

fn config(normalise: bool) -> SmtpConfig {
    let mut config = SmtpConfig::new(Mode::Mx, "mx.example.org");
    config.peer = Some("192.0.2.7".parse().expect("address"));
    config.normalise_bare_line_endings = normalise;
    config
}

/// What the driver would have stored.
#[derive(Default)]
struct Stored {
    content_octets: u64,
    messages: u64,
}

/// Feeds one read to the session and answers its events, as `src/smtp/driver.rs` does; the
/// whole read must be consumed (every input here ends with a complete line).
fn push(session: &mut Session, input: &[u8], out: &mut Vec<u8>, stored: &mut Stored) {
    let mut start = 0;
    loop {
        let feed = session.feed(&input[start..], out);
        let Some(event) = feed.event else {
            start += feed.consumed;
            assert_eq!(start, input.len(), "the session left input unconsumed");
            return;
        };
        match event {
            Event::Recipient { address } => {
                session.recipient_checked(RecipientCheck::Local(vec![address]), out);
            }
            Event::MessageStart | Event::Abort => {}
            Event::Content(Content::Input(range)) => {
                let octets = divan::black_box(&input[start..][range]);
                stored.content_octets += octets.len() as u64;
            }
            Event::Content(Content::Bytes(bytes)) => stored.content_octets += bytes.len() as u64,
            Event::EndOfData => {
                stored.messages += 1;
                let recipients = session
                    .envelope()
                    .map_or(0, |envelope| envelope.recipients.len());
                session.delivered(&vec![DeliveryResult::Delivered; recipients], out);
            }
            Event::Close => return,
            other => panic!("unexpected event {other:?}"),
        }
        start += feed.consumed;
    }
}

/// EHLO, then transactions of MAIL (SIZE, BODY), 1–4 RCPT (some with DSN parameters) and
/// RSET, then NOOP and QUIT, pipelined in one read. Returns the script and its command count.
fn script(rng: &mut Rng) -> (Vec<u8>, usize) {
    let mut text = format!("EHLO mail{}.example.net\r\n", rng.below(1000));
    let mut commands = 1;
    for _ in 0..TRANSACTIONS_PER_SCRIPT {
        text.push_str(&format!(
            "MAIL FROM:<{}> SIZE={} BODY=8BITMIME\r\n",
            support::address(rng),
            1_000 + rng.below(5_000_000)
        ));
        commands += 1;
        for _ in 0..1 + rng.below(4) {
            let recipient = support::address(rng);
            if rng.below(3) == 0 {
                text.push_str(&format!(
                    "RCPT TO:<{recipient}> NOTIFY=FAILURE,DELAY ORCPT=rfc822;{recipient}\r\n"
                ));
            } else {
                text.push_str(&format!("RCPT TO:<{recipient}>\r\n"));
            }
            commands += 1;
        }
        text.push_str("RSET\r\n");
        commands += 1;
    }
    text.push_str("NOOP\r\nQUIT\r\n");
    (text.into_bytes(), commands + 2)
}

/// The whole pipelined script per iteration; the throughput is commands/s.
#[divan::bench]
fn commands(bencher: Bencher) {
    let mut rng = Rng::new(0x5a7e_0001);
    let scripts: Vec<(Vec<u8>, usize)> = (0..SCRIPTS).map(|_| script(&mut rng)).collect();
    let commands: usize = scripts.iter().map(|(_, count)| count).sum();
    let octets: usize = scripts.iter().map(|(text, _)| text.len()).sum();
    let config = config(false);
    let mut out = Vec::with_capacity(64 * KIB);
    let mut next = 0;
    bencher
        .counter(ItemsCount::new(commands / SCRIPTS))
        .counter(BytesCount::new(octets / SCRIPTS))
        .with_inputs(|| {
            next = (next + 1) % scripts.len();
            (Session::new(config.clone()), scripts[next].0.as_slice())
        })
        .bench_local_values(|(mut session, script)| {
            let mut stored = Stored::default();
            push(&mut session, script, &mut out, &mut stored);
            assert!(session.is_closed(), "QUIT closes the session");
            out.clear();
            session
        });
}

/// A session after `DATA` was answered with 354.
fn session_in_data(normalise: bool, out: &mut Vec<u8>) -> Session {
    let mut session = Session::new(config(normalise));
    let mut stored = Stored::default();
    push(
        &mut session,
        b"EHLO mail.example.net\r\nMAIL FROM:<sender@example.net> BODY=8BITMIME\r\n\
          RCPT TO:<alice@example.org>\r\nDATA\r\n",
        out,
        &mut stored,
    );
    assert!(out.ends_with(b"\r\n") && out.windows(4).any(|reply| reply == b"354 "));
    out.clear();
    session
}

#[derive(Debug, Clone, Copy)]
struct Size(usize);

impl std::fmt::Display for Size {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(&support::size_name(self.0))
    }
}

const SIZES: [Size; 3] = [Size(4 * KIB), Size(64 * KIB), Size(MIB)];

/// Streams one message, dot-stuffed and ended by `.`, in 64 KiB reads; the throughput is of
/// the octets on the wire. One line in forty starts with a dot.
fn stream(bencher: Bencher, wire: &[u8], normalise: bool, delivered: bool) {
    let mut out = Vec::with_capacity(KIB);
    bencher
        .counter(BytesCount::new(wire.len()))
        .with_inputs(|| session_in_data(normalise, &mut Vec::new()))
        .bench_local_values(|mut session| {
            let mut stored = Stored::default();
            for read in wire.chunks(READ_OCTETS) {
                push(&mut session, read, &mut out, &mut stored);
            }
            assert_eq!(stored.messages, u64::from(delivered));
            out.clear();
            session
        });
}

#[divan::bench(args = SIZES, sample_size = DATA_SAMPLE_SIZE)]
fn data(bencher: Bencher, size: Size) {
    let message = support::message(Shape::Plain, size.0, 0xda7a ^ size.0 as u64);
    let mut wire = support::dot_stuff(&message);
    wire.extend_from_slice(b".\r\n");
    stream(bencher, &wire, false, true);
}

#[derive(Debug, Clone, Copy)]
enum BareLineEndings {
    /// The default: the message is refused after its end (554 5.6.0).
    Refuse,
    /// `normalise_bare_line_endings`: each bare LF becomes CRLF.
    Normalise,
}

impl std::fmt::Display for BareLineEndings {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(match self {
            BareLineEndings::Refuse => "refuse",
            BareLineEndings::Normalise => "normalise",
        })
    }
}

/// A 64 KiB message with bare LF line endings and, every 2 KiB or so, an SMTP smuggling attempt
/// (`\n.\n`, `\n.\r\n`, `\r\n.\n` followed by a second transaction, CVE-2023-51764/5/6), ended by
/// a real `<CRLF>.<CRLF>`. Only that ends the data; the smuggled commands stay content.
#[divan::bench(
    args = [BareLineEndings::Refuse, BareLineEndings::Normalise],
    sample_size = DATA_SAMPLE_SIZE
)]
fn data_smuggling(bencher: Bencher, mode: BareLineEndings) {
    const ATTEMPTS: [&[u8]; 3] = [b"\n.\n", b"\n.\r\n", b"\r\n.\n"];
    let message = support::message(Shape::Plain, 64 * KIB, 0x53_c61e);
    let mut rng = Rng::new(0x0bad_cafe);
    let mut wire = Vec::with_capacity(message.len() + 8 * KIB);
    let mut since_attempt = 0;
    for line in message.split(|&octet| octet == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        wire.extend_from_slice(&support::dot_stuff(line));
        since_attempt += line.len() + 1;
        if since_attempt >= 2 * KIB {
            since_attempt = 0;
            wire.extend_from_slice(ATTEMPTS[rng.below(3) as usize]);
            wire.extend_from_slice(
                b"MAIL FROM:<ceo@example.org>\nRCPT TO:<victim@example.org>\nDATA\n\
                  From: ceo@example.org\nSubject: urgent wire transfer\n",
            );
        } else {
            wire.push(b'\n');
        }
    }
    wire.extend_from_slice(b"\r\n.\r\n");
    let normalise = matches!(mode, BareLineEndings::Normalise);
    stream(bencher, &wire, normalise, normalise);
}
