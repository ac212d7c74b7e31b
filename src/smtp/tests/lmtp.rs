//! LMTP (RFC 2033): LHLO and one reply per recipient.

use super::*;

const LHLO: &str = "250-mx.example.org\r\n250-PIPELINING\r\n250-SIZE 52428800\r\n250-8BITMIME\r\n\
250-SMTPUTF8\r\n250-CHUNKING\r\n250-BINARYMIME\r\n250-ENHANCEDSTATUSCODES\r\n250 DSN\r\n";

fn lmtp() -> Driver {
    let mut driver = Driver::new(config(Mode::Lmtp));
    assert_eq!(driver.take_out(), greeting(Mode::Lmtp));
    driver
}

#[test]
fn lhlo_only() {
    let mut driver = lmtp();
    assert_eq!(
        driver.send(b"EHLO client.example\r\n"),
        "500 5.5.1 This is an LMTP server: use LHLO\r\n"
    );
    assert_eq!(
        driver.send(b"HELO client.example\r\n"),
        "500 5.5.1 This is an LMTP server: use LHLO\r\n"
    );
    assert_eq!(
        driver.send(b"MAIL FROM:<>\r\n"),
        "503 5.5.1 Send LHLO first\r\n"
    );
    assert_eq!(driver.send(b"LHLO client.example\r\n"), LHLO);
    assert_eq!(
        driver.send(b"HELP\r\n"),
        "214 2.0.0 Commands: LHLO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP STARTTLS\r\n"
    );
}

#[test]
fn one_reply_per_recipient_in_rcpt_order() {
    let mut driver = lmtp();
    driver.ehlo();
    let out = driver.send(
        b"MAIL FROM:<a@b.example>\r\nRCPT TO:<alice@example.org>\r\nRCPT TO:<nobody@example.org>\r\n\
RCPT TO:<full@example.org>\r\nRCPT TO:<broken@example.org>\r\nRCPT TO:<alice@example.org>\r\nDATA\r\n",
    );
    assert_eq!(
        out,
        "250 2.1.0 Sender OK\r\n250 2.1.5 Recipient OK\r\n550 5.1.1 No such user here\r\n\
250 2.1.5 Recipient OK\r\n250 2.1.5 Recipient OK\r\n250 2.1.5 Recipient OK\r\n\
354 End data with <CR><LF>.<CR><LF>\r\n"
    );
    assert_eq!(
        driver.send(b"hello\r\n.\r\n"),
        "250 2.0.0 <alice@example.org> Message accepted for delivery\r\n\
452 4.2.2 <full@example.org> Mailbox full, try again later\r\n\
451 4.3.0 <broken@example.org> Temporary failure, try again later\r\n\
250 2.0.0 <alice@example.org> Message accepted for delivery\r\n"
    );
    assert_eq!(driver.stored[0].envelope.recipients.len(), 4);
}

#[test]
fn data_needs_a_recipient() {
    let mut driver = lmtp();
    driver.ehlo();
    driver.send(b"MAIL FROM:<>\r\nRCPT TO:<nobody@example.org>\r\n");
    // RFC 2033 §4.2: 503, not 554.
    assert_eq!(
        driver.send(b"DATA\r\n"),
        "503 5.5.1 No valid recipients\r\n"
    );
}

#[test]
fn refusals_after_data_are_per_recipient_too() {
    let mut config = config(Mode::Lmtp);
    config.limits.message_octets_max = 4;
    let mut driver = Driver::new(config);
    driver.ehlo();
    driver.send(
        b"MAIL FROM:<>\r\nRCPT TO:<alice@example.org>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\n",
    );
    assert_eq!(
        driver.send(b"too long\r\n.\r\n"),
        "552 5.3.4 Message size exceeds fixed maximum message size\r\n".repeat(2)
    );
    driver.send(
        b"MAIL FROM:<>\r\nRCPT TO:<alice@example.org>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\n",
    );
    assert_eq!(
        driver.send(b"a\n\r\n.\r\n"),
        "554 5.6.0 Message refused: bare CR or LF in content (RFC 5321 section 2.3.8)\r\n"
            .repeat(2)
    );
}
