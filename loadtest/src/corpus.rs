//! The messages a run sends, generated from the seed so that two runs with the same options send
//! the same bytes (apart from each message's Message-ID, which numbers the send).
//!
//! Every message has CRLF line ends and lines of at most 998 octets (RFC 5322 §2.1.1). Some body
//! lines start with `.` (a lone `.` among them), so a server's DATA unstuffing is exercised.

use crate::rng::Rng;
use crate::scenario::SizeProfile;

/// RFC 5322 §2.1.1, without the CRLF.
pub const LINE_OCTETS_MAX: usize = 998;
pub const FIXED_OCTETS_MIN: usize = 512;
pub const FIXED_OCTETS_MAX: usize = 64 * 1024 * 1024;
/// Distinct bodies in a fixed-size corpus; sends pick among them.
const FIXED_MESSAGES: u64 = 16;
/// Distinct messages in a realistic corpus: enough that every class appears several times.
const REALISTIC_MESSAGES: u64 = 200;
/// Width of the varying part of the Message-ID: seed, task and sequence in hexadecimal.
pub const MESSAGE_ID_OCTETS: usize = 16 + 1 + 8 + 1 + 16;
const MESSAGE_ID_DOMAIN: &str = "postern-load.test";
const TEXT_LINE_OCTETS_MAX: u64 = 76;
const BASE64_LINE_OCTETS: usize = 76;

const _: () = assert!(TEXT_LINE_OCTETS_MAX as usize + 2 <= LINE_OCTETS_MAX);

const WORDS: &[&str] = &[
    "the",
    "mail",
    "server",
    "load",
    "test",
    "message",
    "of",
    "and",
    "a",
    "queue",
    "disk",
    "log",
    "shard",
    "core",
    "delivery",
    "mailbox",
    "account",
    "latency",
    "throughput",
    "reply",
    "to",
    "is",
    "in",
    "for",
    "with",
    "on",
    "that",
    "this",
    "it",
    "from",
    "by",
    "be",
    "have",
    "will",
    "report",
    "meeting",
    "tomorrow",
    "invoice",
    "attached",
    "please",
    "find",
    "regards",
    "thanks",
    "review",
    "draft",
    "budget",
    "schedule",
    "project",
    "update",
    "week",
    "team",
    "question",
    "answer",
    "customer",
    "order",
    "shipping",
    "number",
    "price",
    "total",
    "café",
    "naïve",
];

/// The varying part of a Message-ID: which run, which task, which send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MessageId {
    pub seed: u64,
    pub task: u32,
    pub sequence: u64,
}

impl MessageId {
    /// The id of a task's next send: `sequence`, which then moves on.
    pub fn next(seed: u64, task: u32, sequence: &mut u64) -> Self {
        let id = Self {
            seed,
            task,
            sequence: *sequence,
        };
        *sequence += 1;
        id
    }

    fn write(&self, out: &mut [u8]) {
        let text = format!(
            "{:016x}.{:08x}.{:016x}",
            self.seed, self.task, self.sequence
        );
        assert_eq!(text.len(), MESSAGE_ID_OCTETS);
        out[..MESSAGE_ID_OCTETS].copy_from_slice(text.as_bytes());
    }
}

/// One message: its octets as a client submits them (unstuffed), where its Message-ID goes, and
/// where the lines that DATA must dot-stuff begin.
#[derive(Debug, Clone)]
pub struct Message {
    octets: Vec<u8>,
    message_id_at: usize,
    dot_lines: Vec<usize>,
}

impl Message {
    fn new(octets: Vec<u8>) -> Message {
        let marker = format!("Message-ID: <{}", "x".repeat(MESSAGE_ID_OCTETS));
        let message_id_at = memchr::memmem::find(&octets, marker.as_bytes())
            .expect("every corpus message has a Message-ID placeholder")
            + "Message-ID: <".len();
        let mut dot_lines: Vec<usize> = memchr::memmem::find_iter(&octets, b"\n.")
            .map(|at| at + 1)
            .collect();
        if octets.first() == Some(&b'.') {
            dot_lines.insert(0, 0);
        }
        assert!(octets.ends_with(b"\r\n"), "messages end with CRLF");
        assert!(dot_lines.first().is_none_or(|&at| at > message_id_at));
        Message {
            octets,
            message_id_at,
            dot_lines,
        }
    }

    /// Octets as submitted (what BDAT counts and what a mailbox stores).
    pub fn len(&self) -> usize {
        self.octets.len()
    }

    pub fn is_empty(&self) -> bool {
        self.octets.is_empty()
    }

    pub fn octets(&self) -> &[u8] {
        &self.octets
    }

    /// Appends the message as BDAT sends it: unstuffed.
    pub fn write_raw(&self, out: &mut Vec<u8>, id: MessageId) {
        let base = out.len();
        out.extend_from_slice(&self.octets);
        id.write(&mut out[base + self.message_id_at..]);
    }

    /// Appends the message as DATA sends it: dot-stuffed and ended with `.` CRLF
    /// (RFC 5321 §4.5.2).
    pub fn write_data(&self, out: &mut Vec<u8>, id: MessageId) {
        let base = out.len();
        let mut copied = 0;
        for &at in &self.dot_lines {
            out.extend_from_slice(&self.octets[copied..at]);
            out.push(b'.');
            copied = at;
        }
        out.extend_from_slice(&self.octets[copied..]);
        out.extend_from_slice(b".\r\n");
        // The Message-ID is in the header, before the first stuffed line.
        id.write(&mut out[base + self.message_id_at..]);
    }
}

/// The messages of one run.
#[derive(Debug)]
pub struct Corpus {
    messages: Vec<Message>,
}

impl Corpus {
    pub fn generate(profile: SizeProfile, seed: u64, from: &str) -> Result<Corpus, String> {
        let count = match profile {
            SizeProfile::Fixed(_) => FIXED_MESSAGES,
            SizeProfile::Realistic => REALISTIC_MESSAGES,
        };
        let mut messages = Vec::with_capacity(count as usize);
        for index in 0..count {
            let mut rng = Rng::derive(seed, index);
            let octets = match profile {
                SizeProfile::Fixed(octets) => fixed(&mut rng, index, from, octets)?,
                SizeProfile::Realistic => realistic(&mut rng, index, from),
            };
            messages.push(Message::new(octets));
        }
        Ok(Corpus { messages })
    }

    pub fn messages(&self) -> &[Message] {
        &self.messages
    }

    pub fn pick(&self, rng: &mut Rng) -> &Message {
        &self.messages[rng.range(0, self.messages.len() as u64 - 1) as usize]
    }

    pub fn largest_octets(&self) -> usize {
        self.messages.iter().map(Message::len).max().unwrap_or(0)
    }
}

fn header(out: &mut Vec<u8>, from: &str, index: u64, subject: &str, content_type: &str) {
    let placeholder = "x".repeat(MESSAGE_ID_OCTETS);
    out.extend_from_slice(
        format!(
            "From: Load Generator <{from}>\r\n\
             To: undisclosed-recipients:;\r\n\
             Subject: postern-load {index:06} {subject}\r\n\
             Date: Thu, 01 Jan 2026 00:00:00 +0000\r\n\
             Message-ID: <{placeholder}@{MESSAGE_ID_DOMAIN}>\r\n\
             MIME-Version: 1.0\r\n\
             Content-Type: {content_type}\r\n"
        )
        .as_bytes(),
    );
}

fn fixed(rng: &mut Rng, index: u64, from: &str, octets: usize) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(octets);
    header(
        &mut out,
        from,
        index,
        "plain text",
        "text/plain; charset=utf-8",
    );
    out.extend_from_slice(b"Content-Transfer-Encoding: 8bit\r\n\r\n");
    let body = octets
        .checked_sub(out.len())
        .filter(|&body| body >= 2)
        .ok_or_else(|| format!("size {octets} is smaller than the header for --from {from}"))?;
    fill_text(&mut out, rng, body);
    assert_eq!(out.len(), octets);
    Ok(out)
}

/// The realistic mix: 60% plain text of 1–8 KiB, 25% multipart/alternative of 16–64 KiB, 12%
/// multipart/mixed with a base64 attachment of 100 KiB–1 MiB, 3% a forwarded message
/// (message/rfc822 nested in multipart/mixed, itself with an attachment) of 2–4 MiB.
fn realistic(rng: &mut Rng, index: u64, from: &str) -> Vec<u8> {
    const KIB: u64 = 1024;
    let class = rng.percent();
    let mut out = Vec::new();
    if class < 60 {
        let target = rng.range(KIB, 8 * KIB) as usize;
        header(&mut out, from, index, "note", "text/plain; charset=utf-8");
        out.extend_from_slice(b"Content-Transfer-Encoding: 8bit\r\n\r\n");
        let body = target.saturating_sub(out.len()).max(2);
        fill_text(&mut out, rng, body);
    } else if class < 85 {
        let target = rng.range(16 * KIB, 64 * KIB) as usize;
        alternative(&mut out, rng, from, index, target);
    } else if class < 97 {
        let target = rng.range(100 * KIB, 1024 * KIB) as usize;
        let boundary = format!("=_mixed_{index}");
        header(
            &mut out,
            from,
            index,
            "with attachment",
            &format!("multipart/mixed; boundary=\"{boundary}\""),
        );
        out.extend_from_slice(b"\r\nThis is a multi-part message in MIME format.\r\n");
        let text_octets = rng.range(KIB, 4 * KIB) as usize;
        part_text(&mut out, rng, &boundary, text_octets);
        let remaining = target.saturating_sub(out.len() + 256);
        part_attachment(
            &mut out,
            rng,
            &boundary,
            "report.pdf",
            "application/pdf",
            remaining,
        );
        close(&mut out, &boundary);
    } else {
        let target = rng.range(2048 * KIB, 4096 * KIB) as usize;
        let boundary = format!("=_forward_{index}");
        header(
            &mut out,
            from,
            index,
            "forwarded",
            &format!("multipart/mixed; boundary=\"{boundary}\""),
        );
        out.extend_from_slice(b"\r\n");
        let text_octets = rng.range(KIB, 2 * KIB) as usize;
        part_text(&mut out, rng, &boundary, text_octets);
        open(&mut out, &boundary, "message/rfc822", None);
        let inner_target = target.saturating_sub(out.len() + 128);
        let inner_boundary = format!("=_inner_{index}");
        nested(&mut out, rng, &inner_boundary, inner_target);
        close(&mut out, &boundary);
    }
    out
}

fn alternative(out: &mut Vec<u8>, rng: &mut Rng, from: &str, index: u64, target: usize) {
    let boundary = format!("=_alternative_{index}");
    header(
        out,
        from,
        index,
        "newsletter",
        &format!("multipart/alternative; boundary=\"{boundary}\""),
    );
    out.extend_from_slice(b"\r\n");
    let budget = target.saturating_sub(out.len() + 400);
    part_text(out, rng, &boundary, (budget * 2 / 5).max(2));
    open(out, &boundary, "text/html; charset=utf-8", Some("8bit"));
    out.extend_from_slice(b"<html><body>\r\n");
    fill_text(out, rng, (budget * 3 / 5).max(2));
    out.extend_from_slice(b"</body></html>\r\n");
    close(out, &boundary);
}

/// The forwarded message inside message/rfc822: its own header, text and an attachment.
fn nested(out: &mut Vec<u8>, rng: &mut Rng, boundary: &str, target: usize) {
    let start = out.len();
    out.extend_from_slice(
        format!(
            "From: Original Sender <original@example.test>\r\n\
             To: someone@example.test\r\n\
             Subject: photos from the trip\r\n\
             Date: Wed, 31 Dec 2025 12:00:00 +0000\r\n\
             Message-ID: <forwarded-{boundary}@example.test>\r\n\
             MIME-Version: 1.0\r\n\
             Content-Type: multipart/mixed; boundary=\"{boundary}\"\r\n\r\n"
        )
        .as_bytes(),
    );
    part_text(out, rng, boundary, 1500);
    let remaining = target.saturating_sub(out.len() - start + 256);
    part_attachment(out, rng, boundary, "photo.jpg", "image/jpeg", remaining);
    close(out, boundary);
}

fn open(out: &mut Vec<u8>, boundary: &str, content_type: &str, encoding: Option<&str>) {
    out.extend_from_slice(
        format!("\r\n--{boundary}\r\nContent-Type: {content_type}\r\n").as_bytes(),
    );
    if let Some(encoding) = encoding {
        out.extend_from_slice(format!("Content-Transfer-Encoding: {encoding}\r\n").as_bytes());
    }
    out.extend_from_slice(b"\r\n");
}

fn close(out: &mut Vec<u8>, boundary: &str) {
    out.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
}

fn part_text(out: &mut Vec<u8>, rng: &mut Rng, boundary: &str, octets: usize) {
    open(out, boundary, "text/plain; charset=utf-8", Some("8bit"));
    fill_text(out, rng, octets.max(2));
}

/// A base64 attachment of about `octets` encoded octets, from seeded random bytes.
fn part_attachment(
    out: &mut Vec<u8>,
    rng: &mut Rng,
    boundary: &str,
    name: &str,
    content_type: &str,
    octets: usize,
) {
    use base64::Engine;
    open(
        out,
        boundary,
        &format!(
            "{content_type}; name=\"{name}\"\r\nContent-Disposition: attachment; filename=\"{name}\""
        ),
        Some("base64"),
    );
    let line_octets = BASE64_LINE_OCTETS + 2;
    let lines = (octets / line_octets).max(1);
    let mut raw = vec![0u8; lines * BASE64_LINE_OCTETS / 4 * 3];
    rng.fill(&mut raw);
    let encoded = base64::engine::general_purpose::STANDARD.encode(&raw);
    for line in encoded.as_bytes().chunks(BASE64_LINE_OCTETS) {
        out.extend_from_slice(line);
        out.extend_from_slice(b"\r\n");
    }
}

/// Appends exactly `octets` octets of CRLF-ended text lines (`octets` ≥ 2). About one line in
/// forty starts with `.`, and about one in eighty is a lone `.`: the DATA terminator if a client
/// forgot to stuff it.
pub fn fill_text(out: &mut Vec<u8>, rng: &mut Rng, octets: usize) {
    assert!(octets >= 2, "a text block holds at least one CRLF");
    let mut remaining = octets;
    while remaining > 0 {
        if remaining >= 6 && rng.range(0, 79) == 0 {
            out.extend_from_slice(b".\r\n");
            remaining -= 3;
            continue;
        }
        let mut line_octets = rng.range(20, TEXT_LINE_OCTETS_MAX) as usize + 2;
        // Never leave fewer than 3 octets: a line needs its CRLF and the last may not split.
        if line_octets + 3 > remaining {
            line_octets = remaining;
        }
        text_line(out, rng, line_octets - 2);
        out.extend_from_slice(b"\r\n");
        remaining -= line_octets;
    }
}

/// One line of exactly `content_octets` octets (no CRLF). A word that does not fit is replaced by
/// `x`s, so a multi-byte character is never cut.
fn text_line(out: &mut Vec<u8>, rng: &mut Rng, content_octets: usize) {
    let start = out.len();
    if content_octets > 0 && rng.range(0, 39) == 0 {
        out.push(b'.');
    }
    let mut space_next = false;
    while out.len() - start < content_octets {
        if space_next {
            out.push(b' ');
            space_next = false;
            continue;
        }
        let room = content_octets - (out.len() - start);
        let word = WORDS[rng.range(0, WORDS.len() as u64 - 1) as usize].as_bytes();
        if word.len() <= room {
            out.extend_from_slice(word);
            space_next = true;
        } else {
            out.resize(start + content_octets, b'x');
        }
    }
    debug_assert_eq!(out.len() - start, content_octets);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_lines(octets: &[u8]) {
        for line in octets.split_inclusive(|&byte| byte == b'\n') {
            assert!(line.ends_with(b"\r\n"), "line without CRLF: {line:?}");
            assert!(
                line.len() - 2 <= LINE_OCTETS_MAX,
                "line of {} octets",
                line.len()
            );
            assert!(!line[..line.len() - 2].contains(&b'\r'), "bare CR");
        }
    }

    #[test]
    fn fixed_sizes_are_exact_and_well_formed() {
        for size in [FIXED_OCTETS_MIN, 4096, 65536, 1 << 20] {
            let corpus =
                Corpus::generate(SizeProfile::Fixed(size), 1, "sender@example.test").unwrap();
            for message in corpus.messages() {
                assert_eq!(message.len(), size);
                check_lines(message.octets());
                assert!(std::str::from_utf8(message.octets()).is_ok());
            }
        }
    }

    #[test]
    fn same_seed_same_corpus_other_seed_other_corpus() {
        let first = Corpus::generate(SizeProfile::Realistic, 9, "a@example.test").unwrap();
        let second = Corpus::generate(SizeProfile::Realistic, 9, "a@example.test").unwrap();
        let other = Corpus::generate(SizeProfile::Realistic, 10, "a@example.test").unwrap();
        assert!(
            first
                .messages()
                .iter()
                .zip(second.messages())
                .all(|(a, b)| a.octets() == b.octets())
        );
        assert!(
            first
                .messages()
                .iter()
                .zip(other.messages())
                .any(|(a, b)| a.octets() != b.octets())
        );
    }

    #[test]
    fn realistic_mix_spans_sizes_and_structures() {
        let corpus = Corpus::generate(SizeProfile::Realistic, 1, "a@example.test").unwrap();
        let sizes: Vec<usize> = corpus.messages().iter().map(Message::len).collect();
        assert!(
            sizes
                .iter()
                .all(|&size| (1024..=4200 * 1024).contains(&size))
        );
        let small = sizes.iter().filter(|&&size| size <= 8 * 1024).count();
        assert!((90..=150).contains(&small), "{small} small messages of 200");
        assert!(sizes.iter().any(|&size| size >= 2048 * 1024));
        let has = |needle: &str| {
            corpus
                .messages()
                .iter()
                .any(|message| memchr::memmem::find(message.octets(), needle.as_bytes()).is_some())
        };
        for needle in [
            "text/plain",
            "multipart/alternative",
            "multipart/mixed",
            "Content-Transfer-Encoding: base64",
            "message/rfc822",
        ] {
            assert!(has(needle), "no message with {needle}");
        }
        for message in corpus.messages() {
            check_lines(message.octets());
        }
    }

    #[test]
    fn data_form_is_dot_stuffed_and_unique_per_send() {
        let corpus = Corpus::generate(SizeProfile::Fixed(65536), 3, "a@example.test").unwrap();
        let message = &corpus.messages()[0];
        assert!(
            !message.dot_lines.is_empty(),
            "the corpus exercises dot-stuffing"
        );
        let id = MessageId {
            seed: 3,
            task: 1,
            sequence: 42,
        };
        let mut data = Vec::new();
        message.write_data(&mut data, id);
        assert!(data.ends_with(b"\r\n.\r\n"));
        // Unstuffing the DATA form (RFC 5321 §4.5.2) gives back the raw form.
        let body = &data[..data.len() - 3];
        let mut unstuffed = Vec::new();
        for line in body.split_inclusive(|&byte| byte == b'\n') {
            unstuffed.extend_from_slice(line.strip_prefix(b".").unwrap_or(line));
        }
        let mut raw = Vec::new();
        message.write_raw(&mut raw, id);
        assert_eq!(unstuffed, raw);
        assert_eq!(raw.len(), message.len());
        let text = String::from_utf8(raw).unwrap();
        assert!(text.contains(
            "Message-ID: <0000000000000003.00000001.000000000000002a@postern-load.test>"
        ));
    }
}
