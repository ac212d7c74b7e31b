//! IMAP command parsing: `postern::imap::command::parse_command` and `parse_append_start` on
//! complete, framed commands, as the framer hands them over.
//!
//! The framer (`src/imap/framer.rs`) is private, so this measures the grammar alone, not the
//! splitting of the byte stream into commands. Each kind has 256 seeded variants (tags, UID
//! sets, flags, search keys, dates and names vary), parsed one per iteration, the parsed
//! command dropped inside the measurement; `mix` parses 1,000 commands in the proportions of
//! a mail client's session. Every input is checked to parse before it is measured.
//!
//! `cargo bench -p postern-bench --bench imap_command`

mod support;

use divan::Bencher;
use divan::counter::{BytesCount, ItemsCount};
use postern::imap::command::{parse_append_start, parse_command};
use support::Rng;

const VARIANTS: usize = 256;
const MIX_COMMANDS: usize = 1000;
/// Commands per sample. Fixed: left to tune itself, divan may settle on one command per sample
/// when the first is cold, and a sample of a few hundred nanoseconds is mostly timer.
const SAMPLE_SIZE: u32 = 256;

fn main() {
    divan::main();
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Thunderbird's and Apple Mail's header download when a folder is opened.
    UidFetchHeaderFields,
    /// Flag changes, with CONDSTORE's UNCHANGEDSINCE now and then.
    UidStore,
    /// ESEARCH with OR, NOT and parenthesised keys nested two to three deep.
    UidSearchNested,
    /// The text before an APPEND's message literal (`parse_append_start`).
    AppendStart,
    Login,
}

const KINDS: [Kind; 5] = [
    Kind::UidFetchHeaderFields,
    Kind::UidStore,
    Kind::UidSearchNested,
    Kind::AppendStart,
    Kind::Login,
];

impl std::fmt::Display for Kind {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(match self {
            Kind::UidFetchHeaderFields => "UID FETCH BODY.PEEK[HEADER.FIELDS]",
            Kind::UidStore => "UID STORE",
            Kind::UidSearchNested => "UID SEARCH nested",
            Kind::AppendStart => "APPEND start",
            Kind::Login => "LOGIN",
        })
    }
}

const HEADER_FIELDS: [&str; 2] = [
    "From To Cc Bcc Subject Date Message-ID Priority X-Priority References Newsgroups \
     In-Reply-To Content-Type Reply-To",
    "DATE FROM SUBJECT TO CC MESSAGE-ID REFERENCES IN-REPLY-TO CONTENT-TYPE LIST-ID",
];
const FLAGS: [&str; 6] = [
    "\\Seen",
    "\\Flagged",
    "\\Deleted",
    "\\Answered",
    "$Forwarded",
    "$Junk",
];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];
const MAILBOXES: [&str; 5] = [
    "INBOX",
    "Sent",
    "Drafts",
    "\"Archive/2025\"",
    "\"Sent Items\"",
];
const WORDS: [&str; 8] = [
    "invoice", "meeting", "report", "urgent", "lunch", "release", "budget", "travel",
];

fn pick<'a>(rng: &mut Rng, items: &[&'a str]) -> &'a str {
    items[rng.below(items.len() as u64) as usize]
}

fn uid_set(rng: &mut Rng) -> String {
    let first = 1 + rng.below(90_000);
    match rng.below(4) {
        0 => format!("{first}:*"),
        1 => format!("{first}:{}", first + rng.below(5_000)),
        2 => format!("{first}"),
        _ => format!(
            "{first},{}:{},{}",
            first + 2,
            first + 2 + rng.below(40),
            first + 100 + rng.below(400)
        ),
    }
}

fn flags(rng: &mut Rng) -> String {
    let mut chosen: Vec<&str> = FLAGS
        .iter()
        .copied()
        .filter(|_| rng.below(3) == 0)
        .collect();
    if chosen.is_empty() {
        chosen.push(FLAGS[0]);
    }
    chosen.join(" ")
}

fn date(rng: &mut Rng) -> String {
    format!(
        "{}-{}-{}",
        1 + rng.below(28),
        pick(rng, &MONTHS),
        2020 + rng.below(6)
    )
}

/// One command of `kind`, as the framer hands it over: CRLF-terminated with literals inline,
/// except APPEND's start, which ends at its literal announcement.
fn command(kind: Kind, rng: &mut Rng) -> Vec<u8> {
    let tag = format!("A{:04}", rng.below(10_000));
    let text = match kind {
        Kind::UidFetchHeaderFields => format!(
            "{tag} UID FETCH {} (UID RFC822.SIZE FLAGS INTERNALDATE BODY.PEEK[HEADER.FIELDS ({})])\r\n",
            uid_set(rng),
            HEADER_FIELDS[rng.below(2) as usize]
        ),
        Kind::UidStore => {
            let modifier = if rng.below(4) == 0 {
                format!(" (UNCHANGEDSINCE {})", 100_000 + rng.below(1_000_000))
            } else {
                String::new()
            };
            let operation = ["+", "-", ""][rng.below(3) as usize];
            let silent = if rng.below(2) == 0 { ".SILENT" } else { "" };
            format!(
                "{tag} UID STORE {}{modifier} {operation}FLAGS{silent} ({})\r\n",
                uid_set(rng),
                flags(rng)
            )
        }
        Kind::UidSearchNested => search(&tag, rng),
        Kind::AppendStart => {
            let announcement = if rng.below(2) == 0 { "+" } else { "" };
            format!(
                "{tag} APPEND {} ({}) \"{:2}-{}-2025 {:02}:{:02}:{:02} +0200\" {{{}{announcement}}}",
                pick(rng, &MAILBOXES),
                flags(rng),
                1 + rng.below(28),
                pick(rng, &MONTHS),
                rng.below(24),
                rng.below(60),
                rng.below(60),
                1_000 + rng.below(200_000)
            )
        }
        Kind::Login => {
            let user = support::address(rng);
            let password = format!("pw-{:x}", rng.next_u64());
            if rng.below(4) == 0 {
                // A password with a quote goes as a literal (RFC 3501 §4.3).
                let password = format!("{password}\"!");
                format!(
                    "{tag} LOGIN \"{user}\" {{{}}}\r\n{password}\r\n",
                    password.len()
                )
            } else {
                format!("{tag} LOGIN \"{user}\" \"{password}\"\r\n")
            }
        }
    };
    text.into_bytes()
}

fn search(tag: &str, rng: &mut Rng) -> String {
    let from = support::address(rng);
    let since = date(rng);
    let word = pick(rng, &WORDS);
    let other = pick(rng, &WORDS);
    match rng.below(3) {
        0 => format!(
            "{tag} UID SEARCH RETURN (MIN MAX COUNT) CHARSET UTF-8 OR (FROM \"{from}\" SINCE {since}) \
             (NOT SEEN OR SUBJECT \"{word}\" HEADER X-Priority 1) UNDELETED LARGER {}\r\n",
            rng.below(100_000)
        ),
        1 => format!(
            "{tag} UID SEARCH {} NOT DELETED (OR TO \"{from}\" CC \"{from}\") SENTSINCE {since} \
             OR OR SUBJECT \"{word}\" BODY \"{other}\" (FLAGGED NOT KEYWORD $Junk)\r\n",
            uid_set(rng)
        ),
        _ => format!(
            "{tag} UID SEARCH RETURN (ALL) OR (UNSEEN (OR FROM \"{from}\" TEXT \"{word}\")) \
             (BEFORE {since} NOT (SMALLER {} OR ANSWERED DRAFT)) MODSEQ {}\r\n",
            rng.below(10_000),
            rng.below(1_000_000)
        ),
    }
}

/// Parses like the session does; true when the command was accepted.
fn parse(kind: Kind, input: &[u8]) -> bool {
    match kind {
        Kind::AppendStart => divan::black_box(parse_append_start(input)).is_ok(),
        _ => divan::black_box(parse_command(input)).is_ok(),
    }
}

fn variants(kind: Kind, seed: u64) -> Vec<Vec<u8>> {
    let mut rng = Rng::new(seed);
    let inputs: Vec<Vec<u8>> = (0..VARIANTS).map(|_| command(kind, &mut rng)).collect();
    for input in &inputs {
        assert!(
            parse(kind, input),
            "benchmark input refused: {:?}",
            String::from_utf8_lossy(input)
        );
    }
    inputs
}

/// One command per iteration: the time is per command, the throughput commands/s.
#[divan::bench(args = KINDS, sample_size = SAMPLE_SIZE)]
fn command_kind(bencher: Bencher, kind: Kind) {
    let inputs = variants(kind, 0x1a9_0000 + kind as u64);
    let mut next = 0;
    bencher
        .counter(ItemsCount::new(1u32))
        .with_inputs(|| {
            next = (next + 1) % inputs.len();
            inputs[next].as_slice()
        })
        .bench_local_values(|input| parse(kind, input));
}

/// 1,000 commands as a client session mixes them: 45 % UID FETCH, 25 % UID STORE, 15 % UID
/// SEARCH, 10 % APPEND, 5 % LOGIN.
#[divan::bench]
fn mix(bencher: Bencher) {
    let mut rng = Rng::new(0x5e55_1000);
    let commands: Vec<(Kind, Vec<u8>)> = (0..MIX_COMMANDS)
        .map(|_| {
            let kind = match rng.below(100) {
                0..45 => Kind::UidFetchHeaderFields,
                45..70 => Kind::UidStore,
                70..85 => Kind::UidSearchNested,
                85..95 => Kind::AppendStart,
                _ => Kind::Login,
            };
            (kind, command(kind, &mut rng))
        })
        .collect();
    assert!(commands.iter().all(|(kind, input)| parse(*kind, input)));
    let octets: usize = commands.iter().map(|(_, input)| input.len()).sum();
    bencher
        .counter(ItemsCount::new(commands.len()))
        .counter(BytesCount::new(octets))
        .bench_local(|| {
            commands
                .iter()
                .filter(|(kind, input)| parse(*kind, divan::black_box(input)))
                .count()
        });
}
