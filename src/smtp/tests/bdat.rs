//! BDAT (RFC 3030): chunks, LAST, zero sizes, limits, mixing with DATA.

use super::*;

fn ready(mode: Mode) -> Driver {
    let mut driver = Driver::new(config(mode));
    driver.ehlo();
    driver.send(b"MAIL FROM:<a@b.example> BODY=BINARYMIME\r\nRCPT TO:<alice@example.org>\r\n");
    driver
}

const ACCEPTED: &str = "250 2.0.0 Message accepted for delivery\r\n";

#[test]
fn chunks_are_acknowledged_after_they_are_written() {
    let mut driver = ready(Mode::Mx);
    assert_eq!(
        driver.send(b"BDAT 5\r\nab\r\n."),
        "250 2.0.0 5 octets received\r\n"
    );
    assert_eq!(
        driver.send(b"BDAT 0\r\n"),
        "250 2.0.0 0 octets received\r\n"
    );
    assert_eq!(driver.send(b"BDAT 3 LAST\r\n\0\xff\n"), ACCEPTED);
    assert_eq!(driver.last_content(), b"ab\r\n.\0\xff\n");
    assert_eq!(
        driver.log,
        [
            "Recipient alice@example.org",
            "MessageStart",
            "ChunkEnd",
            "ChunkEnd",
            "EndOfData"
        ]
    );
}

#[test]
fn bdat_zero_last_and_pipelining() {
    let mut driver = ready(Mode::Mx);
    assert_eq!(
        driver.send(b"BDAT 4\r\nabcdBDAT 0 LAST\r\nMAIL FROM:<>\r\n"),
        format!("250 2.0.0 4 octets received\r\n{ACCEPTED}250 2.1.0 Sender OK\r\n")
    );
    assert_eq!(driver.last_content(), b"abcd");
}

#[test]
fn chunk_octets_are_never_commands_at_any_split() {
    let input: &[u8] = b"BDAT 14\r\nQUIT\r\nRSET\r\n..BDAT 2 LAST\r\n.\n";
    for split in 0..=input.len() {
        let mut driver = ready(Mode::Mx);
        let out = driver.send_parts(&[&input[..split], &input[split..]]);
        assert_eq!(
            out,
            format!("250 2.0.0 14 octets received\r\n{ACCEPTED}"),
            "split {split}"
        );
        assert_eq!(driver.last_content(), b"QUIT\r\nRSET\r\n...\n");
    }
}

#[test]
fn bdat_out_of_sequence_is_drained() {
    let mut driver = Driver::mx();
    driver.take_out();
    // No EHLO: the chunk is still read, then refused.
    assert_eq!(
        driver.send(b"BDAT 6\r\nQUIT\r\n"),
        "503 5.5.1 Send LHLO or EHLO first\r\n"
    );
    driver.ehlo();
    assert_eq!(
        driver.send(b"BDAT 6 LAST\r\nQUIT\r\n"),
        "503 5.5.1 Need MAIL command first\r\n"
    );
    driver.send(b"MAIL FROM:<>\r\nRCPT TO:<nobody@example.org>\r\n");
    assert_eq!(
        driver.send(b"BDAT 6\r\nQUIT\r\n"),
        "554 5.5.1 No valid recipients\r\n"
    );
    assert_eq!(
        driver.send(b"BDAT 6 LAST\r\nQUIT\r\n"),
        "554 5.5.1 No valid recipients\r\n"
    );
    assert_eq!(
        driver.send(b"RCPT TO:<alice@example.org>\r\n"),
        "503 5.5.1 Need MAIL command first\r\n"
    );
    assert!(!driver.closed);
}

#[test]
fn bdat_and_data_do_not_mix() {
    let mut driver = Driver::mx();
    driver.ehlo();
    driver.send(b"MAIL FROM:<>\r\nRCPT TO:<alice@example.org>\r\n");
    assert_eq!(
        driver.send(b"BDAT 2\r\nab"),
        "250 2.0.0 2 octets received\r\n"
    );
    assert_eq!(
        driver.send(b"DATA\r\n"),
        "503 5.5.1 DATA not allowed after BDAT\r\n"
    );
    assert_eq!(
        driver.send(b"RCPT TO:<bob@example.org>\r\n"),
        "503 5.5.1 RCPT not allowed after message content\r\n"
    );
    assert_eq!(driver.send(b"RSET\r\n"), "250 2.0.0 OK\r\n");
    assert_eq!(driver.log.last().unwrap(), "Abort");
    assert!(driver.open.is_none());
    // After DATA has started a message, BDAT is just the next command after it ends.
    driver.send(b"MAIL FROM:<>\r\nRCPT TO:<alice@example.org>\r\nDATA\r\nx\r\n.\r\n");
    assert_eq!(
        driver.send(b"BDAT 1 LAST\r\nx"),
        "503 5.5.1 Need MAIL command first\r\n"
    );
}

#[test]
fn huge_and_unreadable_sizes() {
    let mut config = config(Mode::Mx);
    config.limits.message_octets_max = 10;
    let mut driver = Driver::new(config);
    driver.ehlo();
    driver.send(b"MAIL FROM:<>\r\nRCPT TO:<alice@example.org>\r\n");
    assert_eq!(
        driver.send(b"BDAT 6\r\n123456"),
        "250 2.0.0 6 octets received\r\n"
    );
    // 6 + 5 > 10: drained, refused, transaction over, message discarded.
    assert_eq!(
        driver.send(b"BDAT 5\r\n12345"),
        "552 5.3.4 Message size exceeds fixed maximum message size\r\n"
    );
    assert_eq!(driver.log.last().unwrap(), "Abort");
    assert_eq!(
        driver.send(b"BDAT 1 LAST\r\nx"),
        "503 5.5.1 Need MAIL command first\r\n"
    );
    // A size no message could have is drained as it arrives, without buffering.
    driver.send(b"MAIL FROM:<>\r\nRCPT TO:<alice@example.org>\r\n");
    assert_eq!(driver.send(b"BDAT 18446744073709551615 LAST\r\n"), "");
    for _ in 0..100 {
        assert_eq!(driver.send(&[b'z'; 65536]), "");
        assert!(driver.buffer.is_empty());
    }
    assert!(driver.stored.is_empty());
    // A size that does not parse cannot be framed: 421 and close.
    let mut driver = Driver::mx();
    driver.ehlo();
    assert_eq!(
        driver.send(b"BDAT 18446744073709551616\r\nNOOP\r\n"),
        "421 4.5.2 mx.example.org BDAT syntax error, closing connection\r\n"
    );
    assert!(driver.closed);
    let mut driver = Driver::mx();
    driver.ehlo();
    assert_eq!(
        driver.send(b"BDAT -1\r\n"),
        "421 4.5.2 mx.example.org BDAT syntax error, closing connection\r\n"
    );
}

#[test]
fn lmtp_bdat_last_answers_per_recipient() {
    let mut driver = Driver::new(config(Mode::Lmtp));
    driver.ehlo();
    driver.send(b"MAIL FROM:<>\r\nRCPT TO:<alice@example.org>\r\nRCPT TO:<full@example.org>\r\n");
    assert_eq!(
        driver.send(b"BDAT 1\r\nxBDAT 1 LAST\r\ny"),
        "250 2.0.0 1 octets received\r\n250 2.0.0 <alice@example.org> Message accepted for delivery\r\n\
452 4.2.2 <full@example.org> Mailbox full, try again later\r\n"
    );
    // RFC 2033 §4.3: no successful RCPT, BDAT LAST gets zero replies.
    driver.send(b"MAIL FROM:<>\r\nRCPT TO:<nobody@example.org>\r\n");
    assert_eq!(
        driver.send(b"BDAT 2 LAST\r\nxyNOOP\r\n"),
        "250 2.0.0 OK\r\n"
    );
}
