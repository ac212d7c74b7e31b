//! Port 25: commands, extensions, errors.

use super::*;

pub const EHLO_MX: &str = "250-mx.example.org\r\n250-PIPELINING\r\n250-SIZE 52428800\r\n\
250-8BITMIME\r\n250-SMTPUTF8\r\n250-CHUNKING\r\n250-BINARYMIME\r\n250-ENHANCEDSTATUSCODES\r\n\
250 DSN\r\n";

#[test]
fn greeting_and_ehlo() {
    let mut driver = Driver::mx();
    assert_eq!(driver.take_out(), greeting(Mode::Mx));
    assert_eq!(driver.send(b"EHLO client.example\r\n"), EHLO_MX);
    assert_eq!(
        driver.send(b"HELO client.example\r\n"),
        "250 mx.example.org\r\n"
    );
    assert_eq!(driver.send(b"ehlo [192.0.2.7]\r\n"), EHLO_MX);
    assert_eq!(driver.send(b"EHLO\r\n"), "501 Syntax: EHLO hostname\r\n");
    assert_eq!(
        driver.send(b"HELO bad;name\r\n"),
        "501 Syntax: HELO hostname\r\n"
    );
    assert_eq!(
        driver.send(b"EHLO [bad]\r\n"),
        "501 Syntax: EHLO hostname\r\n"
    );
}

#[test]
fn ehlo_with_starttls_offered_then_active() {
    let mut config = config(Mode::Mx);
    config.starttls_available = true;
    let mut driver = Driver::new(config);
    driver.take_out();
    let with_starttls = EHLO_MX.replace("250 DSN\r\n", "250-DSN\r\n250 STARTTLS\r\n");
    assert_eq!(driver.send(b"EHLO client.example\r\n"), with_starttls);
    assert_eq!(
        driver.send(b"STARTTLS\r\n"),
        "220 2.0.0 Ready to start TLS\r\n"
    );
    assert!(driver.session.is_tls_active());
    assert_eq!(driver.send(b"EHLO client.example\r\n"), EHLO_MX);
    assert_eq!(
        driver.send(b"STARTTLS\r\n"),
        "503 5.5.1 TLS already active\r\n"
    );
}

#[test]
fn a_whole_transaction() {
    let mut driver = Driver::mx();
    driver.take_out();
    let transcript: &[(&[u8], &str)] = &[
        (b"EHLO client.example\r\n", EHLO_MX),
        (
            b"MAIL FROM:<sender@remote.example>\r\n",
            "250 2.1.0 Sender OK\r\n",
        ),
        (
            b"RCPT TO:<Alice@Example.org>\r\n",
            "250 2.1.5 Recipient OK\r\n",
        ),
        (b"DATA\r\n", "354 End data with <CR><LF>.<CR><LF>\r\n"),
        (
            b"Subject: hi\r\n\r\nHello\r\n.\r\n",
            "250 2.0.0 Message accepted for delivery\r\n",
        ),
        (
            b"QUIT\r\n",
            "221 2.0.0 mx.example.org closing connection\r\n",
        ),
    ];
    for (client, server) in transcript {
        assert_eq!(
            driver.send(client),
            *server,
            "after {:?}",
            String::from_utf8_lossy(client)
        );
    }
    assert!(driver.closed && driver.session.is_closed());
    let stored = &driver.stored[0];
    assert_eq!(stored.content, b"Subject: hi\r\n\r\nHello\r\n");
    assert_eq!(stored.envelope.reverse_path, "sender@remote.example");
    assert_eq!(stored.envelope.recipients[0].address, "alice@example.org");
    assert_eq!(
        driver.log,
        [
            "Recipient alice@example.org",
            "MessageStart",
            "EndOfData",
            "Close"
        ]
    );
}

#[test]
fn pipelined_commands_answer_in_order() {
    let mut driver = Driver::mx();
    driver.take_out();
    let out = driver.send(
        b"EHLO client.example\r\nMAIL FROM:<>\r\nRCPT TO:<alice@example.org>\r\n\
RCPT TO:<nobody@example.org>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\n",
    );
    assert_eq!(
        out,
        format!(
            "{EHLO_MX}250 2.1.0 Sender OK\r\n250 2.1.5 Recipient OK\r\n550 5.1.1 No such user here\r\n\
250 2.1.5 Recipient OK\r\n354 End data with <CR><LF>.<CR><LF>\r\n"
        )
    );
    assert_eq!(
        driver.send(b"x\r\n.\r\nRSET\r\nNOOP\r\n"),
        "250 2.0.0 Message accepted for delivery\r\n250 2.0.0 OK\r\n250 2.0.0 OK\r\n"
    );
    let envelope = &driver.stored[0].envelope;
    assert_eq!(envelope.reverse_path, "");
    assert_eq!(envelope.recipients.len(), 2);
}

#[test]
fn a_pipelined_burst_split_at_every_octet() {
    let input: &[u8] =
        b"EHLO c.example\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<alice@example.org>\r\n\
DATA\r\n..dot\r\nline\r\n.\r\nQUIT\r\n";
    let mut reference = Driver::mx();
    let expected = reference.send(input);
    for split in 0..=input.len() {
        let mut driver = Driver::mx();
        assert_eq!(
            driver.send_parts(&[&input[..split], &input[split..]]),
            expected,
            "split {split}"
        );
        assert_eq!(driver.last_content(), b".dot\r\nline\r\n");
    }
    let mut driver = Driver::mx();
    let parts: Vec<&[u8]> = input.chunks(1).collect();
    assert_eq!(driver.send_parts(&parts), expected);
}

#[test]
fn simple_commands() {
    let mut driver = Driver::mx();
    driver.take_out();
    let transcript: &[(&[u8], &str)] = &[
        (b"NOOP\r\n", "250 2.0.0 OK\r\n"),
        (b"NOOP anything\r\n", "250 2.0.0 OK\r\n"),
        (b"RSET\r\n", "250 2.0.0 OK\r\n"),
        (b"RSET x\r\n", "501 5.5.4 Syntax: RSET\r\n"),
        (
            b"VRFY alice\r\n",
            "252 2.5.0 Cannot VRFY user, but will accept message and attempt delivery\r\n",
        ),
        (b"VRFY\r\n", "501 5.5.4 Syntax: VRFY address\r\n"),
        (b"EXPN team\r\n", "502 5.5.1 EXPN is disabled\r\n"),
        (
            b"HELP\r\n",
            "214 2.0.0 Commands: EHLO HELO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP STARTTLS AUTH\r\n",
        ),
        (b"FOO\r\n", "500 5.5.1 Command not recognized\r\n"),
        (b"LHLO x\r\n", "500 5.5.1 Command not recognized\r\n"),
        (b"STARTTLS\r\n", "502 5.5.1 STARTTLS not available\r\n"),
        (b"AUTH PLAIN\r\n", "502 5.5.1 AUTH not available\r\n"),
        (b"QUIT now\r\n", "501 5.5.4 Syntax: QUIT\r\n"),
    ];
    for (client, server) in transcript {
        assert_eq!(
            driver.send(client),
            *server,
            "after {:?}",
            String::from_utf8_lossy(client)
        );
    }
}

#[test]
fn commands_in_the_wrong_order() {
    let mut driver = Driver::mx();
    driver.take_out();
    let transcript: &[(&[u8], &str)] = &[
        (
            b"MAIL FROM:<a@b.example>\r\n",
            "503 5.5.1 Send EHLO or HELO first\r\n",
        ),
        (
            b"RCPT TO:<alice@example.org>\r\n",
            "503 5.5.1 Need MAIL command first\r\n",
        ),
        (b"DATA\r\n", "503 5.5.1 Need MAIL command first\r\n"),
        (b"HELO c.example\r\n", "250 mx.example.org\r\n"),
        (b"DATA\r\n", "503 5.5.1 Need MAIL command first\r\n"),
        (b"MAIL FROM:<a@b.example>\r\n", "250 2.1.0 Sender OK\r\n"),
        (
            b"MAIL FROM:<a@b.example>\r\n",
            "503 5.5.1 Nested MAIL command\r\n",
        ),
        (b"DATA\r\n", "554 5.5.1 No valid recipients\r\n"),
        (b"DATA now\r\n", "501 5.5.4 Syntax: DATA\r\n"),
    ];
    for (client, server) in transcript {
        assert_eq!(
            driver.send(client),
            *server,
            "after {:?}",
            String::from_utf8_lossy(client)
        );
    }
}

#[test]
fn helo_allows_no_extensions() {
    let mut driver = Driver::mx();
    driver.send(b"HELO c.example\r\n");
    assert_eq!(
        driver.send(b"MAIL FROM:<a@b.example> SIZE=10\r\n"),
        "555 5.5.4 Parameter not recognized or not implemented\r\n"
    );
    assert_eq!(
        driver.send(b"AUTH PLAIN\r\n"),
        "502 5.5.1 AUTH not available\r\n"
    );
}

#[test]
fn mail_and_rcpt_syntax() {
    let mut config = config(Mode::Mx);
    config.limits.errors_max = 100;
    let mut driver = Driver::new(config);
    driver.ehlo();
    let transcript: &[(&[u8], &str)] = &[
        (b"MAIL FROM:a@b.example\r\n", "501 5.1.7 Bad sender address syntax\r\n"),
        (b"MAIL TO:<a@b.example>\r\n", "501 5.5.2 Syntax: MAIL FROM:<address>\r\n"),
        (b"MAIL FROM:<a@b.example>x\r\n", "501 5.5.2 Syntax: MAIL FROM:<address> [parameters]\r\n"),
        (b"MAIL FROM:<Postmaster>\r\n", "501 5.1.7 Bad sender address syntax\r\n"),
        (b"MAIL FROM:<j\xc3\xb6rg@b.example>\r\n", "550 5.6.7 Non-ASCII address requires SMTPUTF8\r\n"),
        (b"MAIL FROM:<a@b.example> FOO=1\r\n", "555 5.5.4 Parameter not recognized or not implemented\r\n"),
        (b"MAIL FROM:<a@b.example> BODY=9BIT\r\n", "501 5.5.4 Invalid parameter value\r\n"),
        (
            b"MAIL FROM:<a@b.example> SIZE=52428801\r\n",
            "552 5.3.4 Message size exceeds fixed maximum message size\r\n",
        ),
        (b"mail from: <@relay.example:a@b.example> SIZE=52428800 BODY=8BITMIME RET=HDRS ENVID=x+2By\r\n",
            "250 2.1.0 Sender OK\r\n"),
        (b"RCPT TO:alice@example.org\r\n", "501 5.1.3 Bad recipient address syntax\r\n"),
        (b"RCPT TO:<>\r\n", "501 5.1.3 Bad recipient address syntax\r\n"),
        (b"RCPT TO:<j\xc3\xb6rg@example.org>\r\n", "553 5.6.7 Non-ASCII address requires SMTPUTF8\r\n"),
    ];
    for (client, server) in transcript {
        assert_eq!(
            driver.send(client),
            *server,
            "after {:?}",
            String::from_utf8_lossy(client)
        );
    }
    assert_eq!(driver.session.error_count(), 11);
    let mut driver = Driver::mx();
    driver.ehlo();
    let transcript: &[(&[u8], &str)] = &[
        (b"MAIL FROM:<a@b.example>\r\n", "250 2.1.0 Sender OK\r\n"),
        (
            b"RCPT TO:<\"Alice\"@example.org>\r\n",
            "550 5.1.1 No such user here\r\n",
        ),
        (
            b"RCPT TO:<bob@example.org> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;bob+40example.org\r\n",
            "250 2.1.5 Recipient OK\r\n",
        ),
        (
            b"RCPT TO:<bob@example.org> NOTIFY=NEVER,DELAY\r\n",
            "501 5.5.4 Invalid parameter value\r\n",
        ),
        (
            b"RCPT TO:<bob@example.org> SIZE=1\r\n",
            "555 5.5.4 Parameter not recognized or not implemented\r\n",
        ),
        (b"RCPT TO:<Postmaster>\r\n", "250 2.1.5 Recipient OK\r\n"),
        (
            b"RCPT TO:<a@[192.0.2.1]>\r\n",
            "550 5.7.1 Relay access denied\r\n",
        ),
        (
            b"RCPT TO:<someone@elsewhere.example>\r\n",
            "550 5.7.1 Relay access denied\r\n",
        ),
        (
            b"RCPT TO:<tempfail@example.org>\r\n",
            "451 4.3.0 Temporary failure, try again later\r\n",
        ),
    ];
    for (client, server) in transcript {
        assert_eq!(
            driver.send(client),
            *server,
            "after {:?}",
            String::from_utf8_lossy(client)
        );
    }
    let envelope = driver.session.envelope().unwrap();
    assert_eq!(envelope.recipients[1].address, "postmaster@mx.example.org");
    let notify = envelope.recipients[0].parameters.notify.unwrap();
    assert!(notify.success && notify.failure && !notify.delay);
}

#[test]
fn smtputf8_addresses() {
    let mut driver = Driver::mx();
    driver.ehlo();
    assert_eq!(
        driver.send(
            "MAIL FROM:<jörg@bücher.example> SMTPUTF8\r\nRCPT TO:<JÖRG@example.org>\r\n".as_bytes()
        ),
        "250 2.1.0 Sender OK\r\n250 2.1.5 Recipient OK\r\n"
    );
    driver.send(b"DATA\r\n");
    driver.send(b"x\r\n.\r\n");
    assert_eq!(
        driver.stored[0].envelope.reverse_path,
        "jörg@bücher.example"
    );
}

#[test]
fn too_many_recipients() {
    let mut config = config(Mode::Mx);
    config.limits.recipients_max = 2;
    let mut driver = Driver::new(config);
    driver.ehlo();
    assert_eq!(
        driver.send(
            b"MAIL FROM:<>\r\nRCPT TO:<alice@example.org>\r\nRCPT TO:<bob@example.org>\r\n\
RCPT TO:<team@example.org>\r\nRCPT TO:<team@example.org>\r\n"
        ),
        "250 2.1.0 Sender OK\r\n250 2.1.5 Recipient OK\r\n250 2.1.5 Recipient OK\r\n\
452 4.5.3 Too many recipients\r\n452 4.5.3 Too many recipients\r\n"
    );
    assert_eq!(driver.session.error_count(), 0);
}

#[test]
fn ten_thousand_recipients_stay_bounded() {
    let mut driver = Driver::mx();
    driver.ehlo();
    driver.send(b"MAIL FROM:<>\r\n");
    let burst = b"RCPT TO:<alice@example.org>\r\n".repeat(10_000);
    let out = driver.send(&burst);
    assert_eq!(out.matches("250 2.1.5").count(), RECIPIENTS_MAX);
    assert_eq!(out.matches("452 4.5.3").count(), 10_000 - RECIPIENTS_MAX);
    assert_eq!(
        driver.session.envelope().unwrap().recipients.len(),
        RECIPIENTS_MAX
    );
}

#[test]
fn too_many_errors_close_the_connection() {
    let mut driver = Driver::mx();
    driver.take_out();
    let out = driver.send(&b"BOGUS\r\n".repeat(20));
    let expected = format!(
        "{}421 4.7.0 mx.example.org Too many errors, closing connection\r\n",
        "500 5.5.1 Command not recognized\r\n".repeat(ERRORS_MAX as usize)
    );
    assert_eq!(out, expected);
    assert!(driver.closed);
    assert_eq!(driver.log, ["Close"]);
    assert_eq!(driver.session.error_count(), ERRORS_MAX);
}

#[test]
fn rejected_recipients_count_as_errors() {
    let mut driver = Driver::mx();
    driver.ehlo();
    driver.send(b"MAIL FROM:<>\r\n");
    let out = driver.send(&b"RCPT TO:<x@elsewhere.example>\r\n".repeat(12));
    assert!(out.ends_with("550 5.7.1 Relay access denied\r\n421 4.7.0 mx.example.org Too many errors, closing connection\r\n"), "{out}");
    assert!(driver.closed);
}

#[test]
fn nul_bytes_bare_lf_and_invalid_utf8_in_commands() {
    let mut driver = Driver::mx();
    driver.take_out();
    assert_eq!(
        driver.send(b"NO\0OP\r\n"),
        "500 5.5.2 Control character in command\r\n"
    );
    assert_eq!(
        driver.send(b"NOOP\n"),
        "500 5.5.2 Line must end with CRLF\r\n"
    );
    assert_eq!(
        driver.send(b"NOOP\rRSET\r\n"),
        "500 5.5.2 Control character in command\r\n"
    );
    assert_eq!(
        driver.send(b"NOOP \xff\r\n"),
        "500 5.5.2 Command is not valid UTF-8\r\n"
    );
    assert_eq!(driver.send(b"NOOP\r\n"), "250 2.0.0 OK\r\n");
}

#[test]
fn over_long_lines_are_consumed_and_answered_at_their_end() {
    let mut driver = Driver::mx();
    driver.take_out();
    // A 1 MiB command line, sent in 4 KiB pieces: the buffer never holds more than a line.
    let mut line = b"NOOP ".to_vec();
    line.resize(1024 * 1024, b'x');
    line.extend_from_slice(b"\r\nNOOP\r\n");
    let parts: Vec<&[u8]> = line.chunks(4096).collect();
    assert_eq!(
        driver.send_parts(&parts),
        "500 5.5.2 Line too long\r\n250 2.0.0 OK\r\n"
    );
    // Exactly at the limit is fine; one more octet is not.
    let mut at_limit = b"NOOP ".to_vec();
    at_limit.resize(COMMAND_LINE_OCTETS_MAX - 2, b'y');
    at_limit.extend_from_slice(b"\r\n");
    assert_eq!(driver.send(&at_limit), "250 2.0.0 OK\r\n");
    let mut over = b"NOOP ".to_vec();
    over.resize(COMMAND_LINE_OCTETS_MAX - 1, b'y');
    over.extend_from_slice(b"\r\n");
    assert_eq!(driver.send(&over), "500 5.5.2 Line too long\r\n");
    // A partial line shorter than the limit is left in the buffer.
    driver.push(b"NOO");
    assert_eq!(driver.buffer, b"NOO");
    assert_eq!(driver.send(b"P\r\n"), "250 2.0.0 OK\r\n");
}

#[test]
fn rset_and_ehlo_reset_the_transaction() {
    let mut driver = Driver::mx();
    driver.ehlo();
    driver.send(b"MAIL FROM:<>\r\nRCPT TO:<alice@example.org>\r\n");
    assert_eq!(driver.send(b"RSET\r\n"), "250 2.0.0 OK\r\n");
    assert_eq!(
        driver.send(b"DATA\r\n"),
        "503 5.5.1 Need MAIL command first\r\n"
    );
    driver.send(b"MAIL FROM:<>\r\nRCPT TO:<alice@example.org>\r\n");
    assert_eq!(driver.send(b"EHLO again.example\r\n"), EHLO_MX);
    assert_eq!(
        driver.send(b"RCPT TO:<alice@example.org>\r\n"),
        "503 5.5.1 Need MAIL command first\r\n"
    );
}

#[test]
fn smtp_delivery_failures_answer_with_the_first_failure() {
    let mut driver = Driver::mx();
    driver.ehlo();
    driver.send(
        b"MAIL FROM:<>\r\nRCPT TO:<alice@example.org>\r\nRCPT TO:<full@example.org>\r\nDATA\r\n",
    );
    assert_eq!(
        driver.send(b"x\r\n.\r\n"),
        "452 4.2.2 Mailbox full, try again later\r\n"
    );
    driver.send(b"MAIL FROM:<>\r\nRCPT TO:<broken@example.org>\r\nDATA\r\n");
    assert_eq!(
        driver.send(b"x\r\n.\r\n"),
        "451 4.3.0 Temporary failure, try again later\r\n"
    );
}

#[test]
fn trace_header() {
    let mut driver = Driver::mx();
    driver.ehlo();
    driver.send(b"MAIL FROM:<a@b.example>\r\nRCPT TO:<alice@example.org>\r\n");
    assert_eq!(
        String::from_utf8(
            driver
                .session
                .trace_header("Q1", "Thu, 1 Jan 2037 00:00:00 +0000")
        )
        .unwrap(),
        "Return-Path: <a@b.example>\r\nReceived: from client.example ([192.0.2.7])\r\n\tby mx.example.org \
(Postern) with ESMTP id Q1\r\n\tfor <alice@example.org>;\r\n\tThu, 1 Jan 2037 00:00:00 +0000\r\n"
    );
    driver.send(b"RCPT TO:<bob@example.org>\r\n");
    let trace = String::from_utf8(driver.session.trace_header("Q2", "D")).unwrap();
    assert!(!trace.contains("for <"), "{trace}");
    let mut config = config(Mode::Lmtp);
    config.peer = Some("2001:db8::1".parse().unwrap());
    config.tls_active = true;
    let mut driver = Driver::new(config);
    driver.ehlo();
    driver.send("MAIL FROM:<> SMTPUTF8\r\nRCPT TO:<alice@example.org>\r\n".as_bytes());
    let trace = String::from_utf8(driver.session.trace_header("Q3", "D")).unwrap();
    assert!(trace.starts_with("Return-Path: <>\r\nReceived: from client.example ([IPv6:2001:db8::1])\r\n\tby mx.example.org (Postern) with UTF8LMTPS id Q3"), "{trace}");
}

#[test]
fn helpers_for_the_driver() {
    let mut driver = Driver::mx();
    driver.take_out();
    driver.session.idle_timeout(&mut driver.out);
    assert_eq!(
        driver.take_out(),
        "421 4.4.2 mx.example.org Idle timeout, closing connection\r\n"
    );
    assert!(driver.session.is_closed());
    let mut session = Session::new(config(Mode::Mx));
    let mut out = Vec::new();
    session.refuse_connection(&mut out);
    assert_eq!(
        out,
        b"421 4.3.2 mx.example.org Service not available, closing connection\r\n"
    );
}
