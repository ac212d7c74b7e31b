//! What the micro-benchmarks share: the allocator, and seeded inputs (mail messages of a given
//! shape and size).
//!
//! Every generator takes a seed, so a run measures the same octets as the last one. The text
//! is made of English words, header blocks look like what a large provider delivers (Received
//! trail, DKIM signature, folded address lists), and lines end with CRLF.

// Each bench target uses part of this module; what one does not use is not dead in another.
#![allow(dead_code)]

pub use postern_storage::sim::Rng;

/// The server's allocator (`src/main.rs`), wrapped by divan's profiler so every benchmark also
/// reports its allocations per iteration.
#[global_allocator]
static ALLOCATOR: divan::AllocProfiler<mimalloc::MiMalloc> =
    divan::AllocProfiler::new(mimalloc::MiMalloc);

/// How a generated message is built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// One text/plain body.
    Plain,
    /// multipart/mixed: a multipart/alternative (text/plain, text/html) and a base64 PDF.
    Attachment,
    /// multipart/mixed: a short note and a forwarded message/rfc822, itself
    /// multipart/alternative.
    Forwarded,
}

impl std::fmt::Display for Shape {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(match self {
            Shape::Plain => "plain",
            Shape::Attachment => "alternative+base64",
            Shape::Forwarded => "nested rfc822",
        })
    }
}

pub const KIB: usize = 1024;
pub const MIB: usize = 1024 * 1024;

/// "4 KiB", "1 MiB".
pub fn size_name(octets: usize) -> String {
    if octets >= MIB {
        format!("{} MiB", octets / MIB)
    } else {
        format!("{} KiB", octets / KIB)
    }
}

const WORDS: [&str; 48] = [
    "the", "meeting", "is", "moved", "to", "Thursday", "and", "we", "will", "review", "budget",
    "for", "next", "quarter", "please", "send", "your", "notes", "before", "noon", "a", "draft",
    "of", "report", "attached", "thanks", "regards", "project", "deadline", "customer", "invoice",
    "shipping", "update", "team", "agenda", "minutes", "question", "about", "server", "release",
    "schedule", "with", "this", "that", "from", "our", "office", "call",
];

const NAMES: [&str; 12] = [
    "Alice Martin",
    "Bob Nguyen",
    "Chloé Dubois",
    "Dmitri Ivanov",
    "Erin O'Brien",
    "Fatima Zahra",
    "Gustav Lindqvist",
    "Hana Sato",
    "Ivan Petrov",
    "Julia Rossi",
    "Kwame Mensah",
    "Lena Müller",
];

const DOMAINS: [&str; 6] = [
    "example.org",
    "example.com",
    "mail.example.net",
    "corp.example",
    "lists.example.org",
    "example.co.uk",
];

/// A line of words, about `octets` long, without its line ending. One line in forty starts
/// with a dot (an ellipsis), which SMTP dot-stuffs.
pub fn text_line(rng: &mut Rng, octets: usize) -> String {
    let mut line = String::with_capacity(octets + 16);
    if rng.below(40) == 0 {
        line.push_str("...");
    }
    while line.len() < octets {
        if !line.is_empty() && !line.ends_with('.') {
            line.push(' ');
        }
        line.push_str(WORDS[rng.below(WORDS.len() as u64) as usize]);
    }
    line
}

/// Text lines with CRLF until at least `octets` are written.
fn text_body(rng: &mut Rng, octets: usize, out: &mut Vec<u8>) {
    let end = out.len() + octets;
    while out.len() < end {
        let wanted = 40 + rng.below(36) as usize;
        out.extend_from_slice(text_line(rng, wanted).as_bytes());
        out.extend_from_slice(b"\r\n");
    }
}

/// The same text as a minimal HTML document.
fn html_body(rng: &mut Rng, octets: usize, out: &mut Vec<u8>) {
    let end = out.len() + octets;
    out.extend_from_slice(b"<html><head><meta charset=\"utf-8\"></head><body>\r\n");
    while out.len() + 16 < end {
        let wanted = 40 + rng.below(30) as usize;
        out.extend_from_slice(b"<p>");
        out.extend_from_slice(text_line(rng, wanted).as_bytes());
        out.extend_from_slice(b"</p>\r\n");
    }
    out.extend_from_slice(b"</body></html>\r\n");
}

pub fn address(rng: &mut Rng) -> String {
    let name = NAMES[rng.below(NAMES.len() as u64) as usize];
    let local: String = name
        .split(' ')
        .next()
        .unwrap_or("user")
        .to_ascii_lowercase()
        .chars()
        .filter(char::is_ascii_alphabetic)
        .collect();
    let domain = DOMAINS[rng.below(DOMAINS.len() as u64) as usize];
    format!("{local}{}@{domain}", rng.below(100))
}

fn mailbox(rng: &mut Rng) -> String {
    let name = NAMES[rng.below(NAMES.len() as u64) as usize];
    let address = address(rng);
    if name.is_ascii() {
        format!("\"{name}\" <{address}>")
    } else {
        // RFC 2047 encoded word, as clients send non-ASCII display names.
        format!("=?UTF-8?Q?{}?= <{address}>", name.replace(' ', "_"))
    }
}

/// A message header block, blank line included: Received trail, DKIM, addresses, MIME.
fn header(rng: &mut Rng, content_type: &str, out: &mut Vec<u8>) {
    let day = 1 + rng.below(28);
    let id = rng.next_u64();
    for hop in 0..3 {
        out.extend_from_slice(
            format!(
                "Received: from mx{hop}.example.net (mx{hop}.example.net [192.0.2.{}])\r\n\
                 \tby mx.example.org (Postern) with ESMTPS id {:016x}\r\n\
                 \tfor <{}>; Tue, {day} Apr 2025 09:{:02}:{:02} +0000\r\n",
                10 + hop,
                rng.next_u64(),
                address(rng),
                rng.below(60),
                rng.below(60)
            )
            .as_bytes(),
        );
    }
    let signature: String = (0..3)
        .map(|_| {
            let words: [u64; 4] = std::array::from_fn(|_| rng.next_u64());
            format!(
                "\r\n\t {:016x}{:016x}{:016x}{:016x}",
                words[0], words[1], words[2], words[3]
            )
        })
        .collect();
    out.extend_from_slice(
        format!(
            "DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.net; s=mail;\r\n\
             \th=from:to:cc:subject:date:message-id:mime-version:content-type;\r\n\
             \tbh={:032x}=; b={signature}\r\n",
            rng.next_u64()
        )
        .as_bytes(),
    );
    let subject = text_line(rng, 30);
    let to: Vec<String> = (0..1 + rng.below(3)).map(|_| mailbox(rng)).collect();
    let cc: Vec<String> = (0..rng.below(4)).map(|_| mailbox(rng)).collect();
    out.extend_from_slice(format!("From: {}\r\n", mailbox(rng)).as_bytes());
    out.extend_from_slice(format!("To: {}\r\n", to.join(",\r\n ")).as_bytes());
    if !cc.is_empty() {
        out.extend_from_slice(format!("Cc: {}\r\n", cc.join(",\r\n ")).as_bytes());
    }
    out.extend_from_slice(
        format!(
            "Subject: Re: {subject}\r\n\
             Date: Tue, {day} Apr 2025 09:14:07 +0200\r\n\
             Message-ID: <{id:016x}@example.net>\r\n\
             In-Reply-To: <{:016x}@example.org>\r\n\
             References: <{:016x}@example.org>\r\n <{:016x}@example.org>\r\n\
             MIME-Version: 1.0\r\n\
             Content-Type: {content_type}\r\n\r\n",
            id ^ 1,
            id ^ 2,
            id ^ 1
        )
        .as_bytes(),
    );
}

/// RFC 4648 base64 in 76-character lines (RFC 2045 §6.8), each ended by CRLF.
fn base64_lines(bytes: &[u8], out: &mut Vec<u8>) {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    // 57 octets make one 76-character line.
    for line in bytes.chunks(57) {
        for group in line.chunks(3) {
            let value = group.iter().enumerate().fold(0u32, |value, (at, &octet)| {
                value | (u32::from(octet) << (16 - 8 * at))
            });
            for index in 0..4 {
                if index <= group.len() {
                    out.push(ALPHABET[((value >> (18 - 6 * index)) & 63) as usize]);
                } else {
                    out.push(b'=');
                }
            }
        }
        out.extend_from_slice(b"\r\n");
    }
}

/// A message of about `octets` octets (a little more: the last line is completed).
pub fn message(shape: Shape, octets: usize, seed: u64) -> Vec<u8> {
    let mut rng = Rng::new(seed);
    let mut out = Vec::with_capacity(octets + 4 * KIB);
    match shape {
        Shape::Plain => {
            header(
                &mut rng,
                "text/plain; charset=utf-8; format=flowed",
                &mut out,
            );
            let rest = octets.saturating_sub(out.len());
            text_body(&mut rng, rest, &mut out);
        }
        Shape::Attachment => attachment_message(&mut rng, octets, &mut out),
        Shape::Forwarded => forwarded_message(&mut rng, octets, &mut out),
    }
    out
}

fn attachment_message(rng: &mut Rng, octets: usize, out: &mut Vec<u8>) {
    let mixed = format!("----=_Part_{:x}", rng.next_u64());
    let alternative = format!("----=_Alt_{:x}", rng.next_u64());
    header(
        rng,
        &format!("multipart/mixed;\r\n\tboundary=\"{mixed}\""),
        out,
    );
    out.extend_from_slice(b"This is a multi-part message in MIME format.\r\n\r\n");
    let budget = octets.saturating_sub(out.len() + 1024);
    let text_octets = (budget / 5).min(3 * KIB);
    let html_octets = (budget / 4).min(5 * KIB);
    out.extend_from_slice(
        format!(
            "--{mixed}\r\nContent-Type: multipart/alternative; boundary=\"{alternative}\"\r\n\r\n\
             --{alternative}\r\nContent-Type: text/plain; charset=UTF-8\r\n\
             Content-Transfer-Encoding: 7bit\r\n\r\n"
        )
        .as_bytes(),
    );
    text_body(rng, text_octets, out);
    out.extend_from_slice(
        format!(
            "\r\n--{alternative}\r\nContent-Type: text/html; charset=UTF-8\r\n\
             Content-Transfer-Encoding: 7bit\r\n\r\n"
        )
        .as_bytes(),
    );
    html_body(rng, html_octets, out);
    let name = format!("report-{}.pdf", rng.below(1000));
    out.extend_from_slice(
        format!(
            "\r\n--{alternative}--\r\n\r\n--{mixed}\r\n\
             Content-Type: application/pdf; name=\"{name}\"\r\n\
             Content-Disposition: attachment; filename=\"{name}\"; size={octets}\r\n\
             Content-Transfer-Encoding: base64\r\n\r\n"
        )
        .as_bytes(),
    );
    // Base64 grows 57 octets into 78 with the CRLF.
    let encoded = octets.saturating_sub(out.len() + 64);
    let raw: Vec<u8> = (0..encoded * 57 / 78)
        .map(|_| rng.next_u64() as u8)
        .collect();
    base64_lines(&raw, out);
    out.extend_from_slice(format!("\r\n--{mixed}--\r\n").as_bytes());
}

fn forwarded_message(rng: &mut Rng, octets: usize, out: &mut Vec<u8>) {
    let mixed = format!("----=_Fwd_{:x}", rng.next_u64());
    let alternative = format!("----=_Inner_{:x}", rng.next_u64());
    header(rng, &format!("multipart/mixed; boundary=\"{mixed}\""), out);
    out.extend_from_slice(
        format!("--{mixed}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n").as_bytes(),
    );
    text_body(rng, 300, out);
    out.extend_from_slice(
        format!(
            "\r\n--{mixed}\r\nContent-Type: message/rfc822\r\n\
             Content-Disposition: inline\r\n\r\n"
        )
        .as_bytes(),
    );
    header(
        rng,
        &format!("multipart/alternative; boundary=\"{alternative}\""),
        out,
    );
    let budget = octets.saturating_sub(out.len() + 512);
    out.extend_from_slice(
        format!(
            "--{alternative}\r\nContent-Type: text/plain; charset=UTF-8\r\n\
             Content-Transfer-Encoding: 8bit\r\n\r\n"
        )
        .as_bytes(),
    );
    text_body(rng, budget * 2 / 5, out);
    out.extend_from_slice(
        format!("\r\n--{alternative}\r\nContent-Type: text/html; charset=UTF-8\r\n\r\n").as_bytes(),
    );
    let rest = octets.saturating_sub(out.len() + 64);
    html_body(rng, rest, out);
    out.extend_from_slice(format!("\r\n--{alternative}--\r\n\r\n--{mixed}--\r\n").as_bytes());
}

/// RFC 5321 §4.5.2 transparency: a line starting with "." gets another one.
pub fn dot_stuff(message: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.len() + message.len() / 64);
    let mut line_start = true;
    for &octet in message {
        if line_start && octet == b'.' {
            out.push(b'.');
        }
        out.push(octet);
        line_start = octet == b'\n';
    }
    out
}
