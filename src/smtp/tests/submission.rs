//! Submission: STARTTLS, AUTH, Date/Message-ID, relay for authenticated users.

use super::*;

const CAPABILITIES: &str = "250-mx.example.org\r\n250-PIPELINING\r\n250-SIZE 52428800\r\n\
250-8BITMIME\r\n250-SMTPUTF8\r\n250-CHUNKING\r\n250-BINARYMIME\r\n250-ENHANCEDSTATUSCODES\r\n\
250-DSN\r\n";

fn submission(tls: bool) -> Driver {
    let mut config = config(Mode::Submission);
    config.starttls_available = true;
    config.tls_active = tls;
    let mut driver = Driver::new(config);
    driver.take_out();
    driver
}

fn plain(authzid: &str, user: &str, password: &str) -> String {
    base64_encode(format!("{authzid}\0{user}\0{password}").as_bytes())
}

/// Authenticated over TLS, ready for MAIL.
fn logged_in() -> Driver {
    let mut driver = submission(true);
    driver.ehlo();
    let out = driver.send(
        format!(
            "AUTH PLAIN {}\r\n",
            plain("", "alice@example.org", "secret")
        )
        .as_bytes(),
    );
    assert_eq!(out, "235 2.7.0 Authentication successful\r\n");
    driver
}

#[test]
fn capabilities_before_and_after_tls() {
    let mut driver = submission(false);
    assert_eq!(
        driver.send(b"EHLO client.example\r\n"),
        format!("{CAPABILITIES}250-STARTTLS\r\n250 AUTH SCRAM-SHA-256\r\n")
    );
    let mut driver = submission(true);
    assert_eq!(
        driver.send(b"EHLO client.example\r\n"),
        format!("{CAPABILITIES}250 AUTH SCRAM-SHA-256 PLAIN LOGIN\r\n")
    );
    let mut config = config(Mode::Submission);
    config.plaintext_auth_allowed = true;
    let mut driver = Driver::new(config);
    driver.take_out();
    assert_eq!(
        driver.send(b"EHLO client.example\r\n"),
        format!("{CAPABILITIES}250 AUTH SCRAM-SHA-256 PLAIN LOGIN\r\n")
    );
}

#[test]
fn starttls_discards_pipelined_commands_and_resets() {
    let mut driver = submission(false);
    driver.ehlo();
    let out =
        driver.send(b"STARTTLS\r\nMAIL FROM:<evil@x.example>\r\nRCPT TO:<alice@example.org>\r\n");
    assert_eq!(out, "220 2.0.0 Ready to start TLS\r\n");
    assert_eq!(
        driver.dropped_after_starttls,
        b"MAIL FROM:<evil@x.example>\r\nRCPT TO:<alice@example.org>\r\n"
    );
    assert_eq!(driver.log, ["StartTls"]);
    assert!(driver.session.is_tls_active());
    // RFC 3207 §4.2: the EHLO before TLS is forgotten.
    let out = driver.send(
        format!(
            "AUTH PLAIN {}\r\n",
            plain("", "alice@example.org", "secret")
        )
        .as_bytes(),
    );
    assert_eq!(out, "503 5.5.1 Send EHLO first\r\n");
    assert_eq!(
        driver.send(b"EHLO client.example\r\n"),
        format!("{CAPABILITIES}250 AUTH SCRAM-SHA-256 PLAIN LOGIN\r\n")
    );
}

#[test]
fn starttls_refusals() {
    let mut driver = submission(false);
    assert_eq!(
        driver.send(b"STARTTLS\r\n"),
        "503 5.5.1 Send EHLO first\r\n"
    );
    driver.ehlo();
    assert_eq!(
        driver.send(b"STARTTLS now\r\n"),
        "501 5.5.4 Syntax: STARTTLS\r\n"
    );
    let mut driver = logged_in();
    assert_eq!(
        driver.send(b"STARTTLS\r\n"),
        "503 5.5.1 TLS already active\r\n"
    );
}

#[test]
fn authentication_is_required() {
    let mut driver = submission(true);
    driver.ehlo();
    assert_eq!(
        driver.send(b"MAIL FROM:<alice@example.org>\r\n"),
        "530 5.7.0 Authentication required\r\n"
    );
}

#[test]
fn plaintext_mechanisms_need_tls() {
    let mut driver = submission(false);
    driver.ehlo();
    assert_eq!(
        driver.send(
            format!(
                "AUTH PLAIN {}\r\n",
                plain("", "alice@example.org", "secret")
            )
            .as_bytes()
        ),
        "538 5.7.11 Encryption required for requested authentication mechanism\r\n"
    );
    assert_eq!(
        driver.send(b"AUTH LOGIN\r\n"),
        "538 5.7.11 Encryption required for requested authentication mechanism\r\n"
    );
}

#[test]
fn auth_plain() {
    let mut driver = logged_in();
    assert_eq!(
        driver.log,
        [
            "VerifyPassword alice@example.org",
            "Authenticated alice@example.org"
        ]
    );
    assert_eq!(
        driver.session.authenticated_user(),
        Some("alice@example.org")
    );
    assert_eq!(
        driver.send(b"AUTH PLAIN\r\n"),
        "503 5.5.1 Already authenticated\r\n"
    );
    // Without an initial response: an empty challenge, then the response.
    let mut driver = submission(true);
    driver.ehlo();
    assert_eq!(driver.send(b"AUTH PLAIN\r\n"), "334 \r\n");
    assert_eq!(
        driver.send(format!("{}\r\n", plain("", "alice@example.org", "wrong")).as_bytes()),
        "535 5.7.8 Authentication credentials invalid\r\n"
    );
    assert_eq!(
        driver.log,
        ["VerifyPassword alice@example.org", "AuthFailed"]
    );
    // An authzid naming someone else is refused.
    assert_eq!(
        driver.send(
            format!(
                "AUTH PLAIN {}\r\n",
                plain("bob@example.org", "alice@example.org", "secret")
            )
            .as_bytes()
        ),
        "535 5.7.8 Authentication credentials invalid\r\n"
    );
    assert_eq!(
        driver.send(
            format!(
                "AUTH PLAIN {}\r\n",
                plain("alice@example.org", "alice@example.org", "secret")
            )
            .as_bytes()
        ),
        "235 2.7.0 Authentication successful\r\n"
    );
}

#[test]
fn auth_login_and_cancel() {
    let mut driver = submission(true);
    driver.ehlo();
    assert_eq!(driver.send(b"AUTH LOGIN\r\n"), "334 VXNlcm5hbWU6\r\n");
    assert_eq!(
        driver.send(format!("{}\r\n", base64_encode(b"alice@example.org")).as_bytes()),
        "334 UGFzc3dvcmQ6\r\n"
    );
    assert_eq!(
        driver.send(format!("{}\r\n", base64_encode(b"secret")).as_bytes()),
        "235 2.7.0 Authentication successful\r\n"
    );
    let mut driver = submission(true);
    driver.ehlo();
    assert_eq!(driver.send(b"AUTH LOGIN\r\n"), "334 VXNlcm5hbWU6\r\n");
    assert_eq!(
        driver.send(b"*\r\n"),
        "501 5.7.0 Authentication cancelled\r\n"
    );
    assert_eq!(driver.send(b"AUTH LOGIN\r\n"), "334 VXNlcm5hbWU6\r\n");
    assert_eq!(
        driver.send(b"not base64!\r\n"),
        "501 5.5.2 Malformed authentication response\r\n"
    );
    assert_eq!(driver.send(b"NOOP\r\n"), "250 2.0.0 OK\r\n");
}

#[test]
fn auth_refusals() {
    let mut driver = submission(true);
    assert_eq!(
        driver.send(b"AUTH PLAIN\r\n"),
        "503 5.5.1 Send EHLO first\r\n"
    );
    driver.send(b"HELO client.example\r\n");
    assert_eq!(
        driver.send(b"AUTH PLAIN\r\n"),
        "503 5.5.1 Send EHLO first\r\n"
    );
    driver.ehlo();
    assert_eq!(
        driver.send(b"AUTH\r\n"),
        "501 5.5.4 Syntax: AUTH mechanism [initial-response]\r\n"
    );
    assert_eq!(
        driver.send(b"AUTH GSSAPI\r\n"),
        "504 5.5.4 Unrecognized authentication type\r\n"
    );
    assert_eq!(
        driver.send(b"AUTH CRAM-MD5\r\n"),
        "504 5.5.4 Unrecognized authentication type\r\n"
    );
    assert_eq!(
        driver.send(b"AUTH PLAIN ===\r\n"),
        "501 5.5.2 Invalid base64 in initial response\r\n"
    );
    // An over-long response line ends the exchange with RFC 4954's 500 5.5.6.
    assert_eq!(driver.send(b"AUTH PLAIN\r\n"), "334 \r\n");
    let long = vec![b'A'; AUTH_LINE_OCTETS_MAX + 10];
    let parts: Vec<&[u8]> = long.chunks(1000).collect();
    assert_eq!(driver.send_parts(&parts), "");
    assert_eq!(
        driver.send(b"\r\nNOOP\r\n"),
        "500 5.5.6 Authentication exchange line is too long\r\n250 2.0.0 OK\r\n"
    );
    let mut driver = logged_in();
    driver.send(b"MAIL FROM:<alice@example.org>\r\n");
    let mut driver2 = submission(true);
    driver2.ehlo();
    assert_eq!(
        driver.send(b"AUTH PLAIN\r\n"),
        "503 5.5.1 Already authenticated\r\n"
    );
}

#[test]
fn auth_not_during_a_transaction() {
    let mut config = config(Mode::Mx);
    config.auth_mechanisms = vec![crate::auth::sasl::Mechanism::ScramSha256];
    let mut driver = Driver::new(config);
    driver.ehlo();
    driver.send(b"MAIL FROM:<>\r\n");
    assert_eq!(
        driver.send(b"AUTH SCRAM-SHA-256\r\n"),
        "503 5.5.1 AUTH not allowed during a mail transaction\r\n"
    );
}

#[test]
fn auth_scram_sha_256_rfc7677() {
    let mut driver = submission(false);
    driver.ehlo();
    let client_first = base64_encode(b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
    let server_first = base64_encode(
        b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
    );
    let client_final = base64_encode(b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=");
    let server_final = base64_encode(b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
    assert_eq!(
        driver.send(format!("AUTH SCRAM-SHA-256 {client_first}\r\n").as_bytes()),
        format!("334 {server_first}\r\n")
    );
    assert_eq!(
        driver.send(format!("{client_final}\r\n").as_bytes()),
        format!("334 {server_final}\r\n")
    );
    assert_eq!(
        driver.send(b"\r\n"),
        "235 2.7.0 Authentication successful\r\n"
    );
    assert_eq!(driver.log, ["Credentials user", "Authenticated user"]);
    // An unknown user gets a plausible exchange and fails at the proof.
    let mut driver = submission(false);
    driver.ehlo();
    let unknown_first = base64_encode(b"n,,n=nobody,r=rOprNGfwEbeRWgbNEkqO");
    let out = driver.send(format!("AUTH SCRAM-SHA-256 {unknown_first}\r\n").as_bytes());
    assert!(out.starts_with("334 "), "{out}");
    assert_eq!(
        driver.send(format!("{client_final}\r\n").as_bytes()),
        "535 5.7.8 Authentication credentials invalid\r\n"
    );
}

#[test]
fn authenticated_users_cannot_relay_yet() {
    let mut driver = logged_in();
    assert_eq!(
        driver.send(b"MAIL FROM:<alice@example.org>\r\nRCPT TO:<friend@elsewhere.example>\r\nRCPT TO:<bob@example.org>\r\n"),
        "250 2.1.0 Sender OK\r\n550 5.7.1 Outbound relay is not enabled on this server\r\n250 2.1.5 Recipient OK\r\n"
    );
}

fn submit(driver: &mut Driver, parts: &[&[u8]]) -> Vec<u8> {
    driver.send(b"MAIL FROM:<alice@example.org>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\n");
    assert_eq!(
        driver.send_parts(parts),
        "250 2.0.0 Message accepted for delivery\r\n"
    );
    driver.last_content().to_vec()
}

#[test]
fn missing_date_and_message_id_are_added() {
    let mut driver = logged_in();
    assert_eq!(
        submit(&mut driver, &[b"Subject: s\r\n\r\nbody\r\n.\r\n"]),
        b"Date: Thu, 1 Jan 2037 00:00:00 +0000\r\nMessage-ID: <id1@mx.example.org>\r\nSubject: s\r\n\r\nbody\r\n"
    );
    assert_eq!(
        submit(
            &mut driver,
            &[b"Subject: s\r\nDATE: x\r", b"\n\r", b"\nbody\r\n.\r\n"]
        ),
        b"Message-ID: <id1@mx.example.org>\r\nSubject: s\r\nDATE: x\r\n\r\nbody\r\n"
    );
    // Fields in the body do not count; a header-only message gets them too.
    assert_eq!(
        submit(
            &mut driver,
            &[b"Message-Id: <m@x>\r\nDate: y\r\n\r\nDate: z\r\n.\r\n"]
        ),
        b"Message-Id: <m@x>\r\nDate: y\r\n\r\nDate: z\r\n"
    );
    assert_eq!(
        submit(&mut driver, &[b"Subject: only\r\n.\r\n"]),
        b"Date: Thu, 1 Jan 2037 00:00:00 +0000\r\nMessage-ID: <id1@mx.example.org>\r\nSubject: only\r\n"
    );
    // BDAT too.
    driver.send(b"MAIL FROM:<alice@example.org>\r\nRCPT TO:<bob@example.org>\r\n");
    assert_eq!(
        driver.send(b"BDAT 9\r\nDate: d\r\nBDAT 4 LAST\r\n\r\nb."),
        "250 2.0.0 9 octets received\r\n250 2.0.0 Message accepted for delivery\r\n"
    );
    assert_eq!(
        driver.last_content(),
        b"Message-ID: <id1@mx.example.org>\r\nDate: d\r\n\r\nb."
    );
}

#[test]
fn a_huge_header_block_passes_unchanged() {
    let mut driver = logged_in();
    let mut header = b"X-Big: ".to_vec();
    header.resize(SUBMISSION_HEADER_OCTETS_MAX + 100, b'h');
    header.extend_from_slice(b"\r\n\r\nbody\r\n");
    let mut message = header.clone();
    message.extend_from_slice(b".\r\n");
    let parts: Vec<&[u8]> = message.chunks(1000).collect();
    assert_eq!(submit(&mut driver, &parts), header);
}

#[test]
fn submission_trace_protocol() {
    let mut driver = logged_in();
    driver.send(b"MAIL FROM:<alice@example.org>\r\nRCPT TO:<bob@example.org>\r\n");
    let trace = String::from_utf8(driver.session.trace_header("Q", "D")).unwrap();
    assert!(trace.contains("with ESMTPSA id Q"), "{trace}");
}

#[test]
fn unauthenticated_commands_are_bounded() {
    let mut driver = submission(true);
    let out = driver.send(&b"NOOP\r\n".repeat(40));
    assert_eq!(
        out,
        format!(
            "{}421 4.7.0 mx.example.org Too many commands without authentication, closing connection\r\n",
            "250 2.0.0 OK\r\n".repeat(UNAUTHENTICATED_COMMANDS_MAX as usize)
        )
    );
    assert!(driver.closed);
}
