//! DATA: dot-stuffing, streaming, the size limit and SMTP smuggling.

use super::*;

fn ready(config: SmtpConfig) -> Driver {
    let mut driver = Driver::new(config);
    driver.ehlo();
    assert_eq!(
        driver.send(b"MAIL FROM:<a@b.example>\r\nRCPT TO:<alice@example.org>\r\nDATA\r\n"),
        "250 2.1.0 Sender OK\r\n250 2.1.5 Recipient OK\r\n354 End data with <CR><LF>.<CR><LF>\r\n"
    );
    driver
}

const ACCEPTED: &str = "250 2.0.0 Message accepted for delivery\r\n";
const BARE: &str =
    "554 5.6.0 Message refused: bare CR or LF in content (RFC 5321 section 2.3.8)\r\n";

#[test]
fn dot_stuffing_is_undone() {
    let mut driver = ready(config(Mode::Mx));
    assert_eq!(
        driver.send(b"..leading\r\n.x\r\n...\r\nmid.dle.\r\n.\r\n"),
        ACCEPTED
    );
    assert_eq!(
        driver.last_content(),
        b".leading\r\nx\r\n..\r\nmid.dle.\r\n"
    );
}

#[test]
fn empty_message_and_dot_lines() {
    let mut driver = ready(config(Mode::Mx));
    assert_eq!(driver.send(b".\r\n"), ACCEPTED);
    assert_eq!(driver.last_content(), b"");
    let mut driver = ready(config(Mode::Mx));
    assert_eq!(driver.send(b"\r\n.\r\n"), ACCEPTED);
    assert_eq!(driver.last_content(), b"\r\n");
}

#[test]
fn every_split_of_a_stuffed_message() {
    let body: &[u8] = b"a\r\n..b\r\n.\r\r\n.c\r\n\r\n..\r\n.\r\nNOOP\r\n";
    // `.\r\r\n` holds a bare CR: refused in strict mode.
    for split in 0..=body.len() {
        let mut driver = ready(config(Mode::Mx));
        let out = driver.send_parts(&[&body[..split], &body[split..]]);
        assert_eq!(out, format!("{BARE}250 2.0.0 OK\r\n"), "split {split}");
        assert!(driver.stored.is_empty());
    }
    let body: &[u8] = b"a\r\n..b\r\n.c\r\n\r\n..\r\n.\r\nNOOP\r\n";
    for split in 0..=body.len() {
        let mut driver = ready(config(Mode::Mx));
        let out = driver.send_parts(&[&body[..split], &body[split..]]);
        assert_eq!(out, format!("{ACCEPTED}250 2.0.0 OK\r\n"), "split {split}");
        assert_eq!(driver.last_content(), b"a\r\n.b\r\nc\r\n\r\n.\r\n");
    }
}

#[test]
fn large_bodies_stream_without_copies() {
    let mut driver = ready(config(Mode::Mx));
    let mut body = b"Subject: big\r\n\r\n".to_vec();
    for _ in 0..20_000 {
        body.extend_from_slice(
            b"0123456789012345678901234567890123456789012345678901234567890123456789\r\n",
        );
    }
    let mut message = body.clone();
    message.extend_from_slice(b".\r\n");
    assert_eq!(driver.send(&message), ACCEPTED);
    assert_eq!(driver.last_content(), body.as_slice());
    // One range for the whole body: no dot lines, nothing to cut.
    assert_eq!(driver.content_events, 1);
}

/// Hostile endings: none may end the data. The text after each would be commands if it did.
const SMUGGLING: [&[u8]; 7] = [
    b"\n.\n", b"\n.\r\n", b"\r.\r", b"\r.\r\n", b"\r\n.\n", b"\r\n.\r", b"\n.\r",
];

fn smuggling_message(ending: &[u8]) -> Vec<u8> {
    let mut message = b"Subject: x\r\n\r\nA".to_vec();
    message.extend_from_slice(ending);
    message.extend_from_slice(
        b"MAIL FROM:<evil@x.example>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\nevil\r\n",
    );
    message.extend_from_slice(b"\r\n.\r\n");
    message
}

#[test]
fn smuggling_is_refused_at_every_split() {
    for ending in SMUGGLING {
        let message = smuggling_message(ending);
        for split in 0..=message.len() {
            let mut driver = ready(config(Mode::Mx));
            let out = driver.send_parts(&[&message[..split], &message[split..]]);
            assert_eq!(out, BARE, "{ending:?} split {split}");
            assert!(driver.stored.is_empty());
            assert_eq!(
                driver.log,
                ["Recipient alice@example.org", "MessageStart", "Abort"],
                "{ending:?} split {split}"
            );
            // The session is in command state again.
            assert_eq!(driver.send(b"NOOP\r\n"), "250 2.0.0 OK\r\n");
        }
        let mut driver = ready(config(Mode::Mx));
        let parts: Vec<&[u8]> = message.chunks(1).collect();
        assert_eq!(driver.send_parts(&parts), BARE, "{ending:?} octet by octet");
    }
}

#[test]
fn smuggling_is_normalised_at_every_split() {
    let mut config = config(Mode::Mx);
    config.normalise_bare_line_endings = true;
    let expected: &[u8] =
        b"Subject: x\r\n\r\nA\r\n.\r\nMAIL FROM:<evil@x.example>\r\nRCPT TO:<bob@example.org>\r\n\
DATA\r\nevil\r\n\r\n";
    for ending in SMUGGLING {
        let message = smuggling_message(ending);
        for split in 0..=message.len() {
            let mut driver = ready(config.clone());
            let out = driver.send_parts(&[&message[..split], &message[split..]]);
            assert_eq!(out, ACCEPTED, "{ending:?} split {split}");
            assert_eq!(driver.stored.len(), 1);
            assert_eq!(
                String::from_utf8_lossy(driver.last_content()),
                String::from_utf8_lossy(expected),
                "{ending:?} split {split}"
            );
            assert!(!driver.log.iter().any(|event| event.contains("bob")));
        }
        let mut driver = ready(config.clone());
        let parts: Vec<&[u8]> = message.chunks(1).collect();
        assert_eq!(driver.send_parts(&parts), ACCEPTED);
        assert_eq!(driver.last_content(), expected);
    }
}

#[test]
fn normalising_bare_line_endings() {
    let mut config = config(Mode::Mx);
    config.normalise_bare_line_endings = true;
    let mut driver = ready(config);
    assert_eq!(driver.send(b"a\nb\rc\r\r\n\n..d\r\n.\r\n"), ACCEPTED);
    // After a bare line ending no line starts: `..d` keeps both dots.
    assert_eq!(driver.last_content(), b"a\r\nb\r\nc\r\n\r\n\r\n..d\r\n");
}

#[test]
fn the_real_end_after_a_bare_lf_still_ends() {
    let mut driver = ready(config(Mode::Mx));
    assert_eq!(
        driver.send(b"a\nb\r\n.\r\nNOOP\r\n"),
        format!("{BARE}250 2.0.0 OK\r\n")
    );
}

#[test]
fn size_limit_while_streaming() {
    let mut config = config(Mode::Mx);
    config.limits.message_octets_max = 100;
    let mut driver = ready(config.clone());
    let line = b"0123456789012345678\r\n"; // 21 octets
    let mut body = line.repeat(10);
    body.extend_from_slice(b".\r\n");
    let parts: Vec<&[u8]> = body.chunks(7).collect();
    assert_eq!(
        driver.send_parts(&parts),
        "552 5.3.4 Message size exceeds fixed maximum message size\r\n"
    );
    assert!(driver.stored.is_empty());
    assert_eq!(
        driver.log,
        ["Recipient alice@example.org", "MessageStart", "Abort"]
    );
    // Exactly at the limit is accepted.
    let mut driver = ready(config);
    let mut body = b"x".repeat(98);
    body.extend_from_slice(b"\r\n.\r\n");
    assert_eq!(driver.send(&body), ACCEPTED);
    assert_eq!(driver.last_content().len(), 100);
    // And the session goes on.
    assert_eq!(driver.send(b"MAIL FROM:<>\r\n"), "250 2.1.0 Sender OK\r\n");
}

#[test]
fn binarymime_needs_bdat() {
    let mut driver = Driver::mx();
    driver.ehlo();
    driver.send(b"MAIL FROM:<> BODY=BINARYMIME\r\nRCPT TO:<alice@example.org>\r\n");
    assert_eq!(
        driver.send(b"DATA\r\n"),
        "503 5.5.1 BODY=BINARYMIME requires BDAT\r\n"
    );
}
