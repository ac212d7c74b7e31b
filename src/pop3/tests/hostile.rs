//! Hostile input: over-long lines, NUL bytes, error floods, and random bytes.

use super::GREETING;
use super::driver::{Driver, cleartext_config, config, converse};
use crate::auth::sasl::encode_challenge;
use crate::pop3::{
    AUTHORIZATION_COMMANDS_MAX, COMMAND_LINE_OCTETS_MAX, ERRORS_MAX, SASL_LINE_OCTETS_MAX,
};

#[test]
fn over_long_command_lines() {
    let mut driver = Driver::new(&config());
    converse(&mut driver, &[GREETING]);
    // Exactly the limit, CRLF included, is a command.
    let name = "n".repeat(COMMAND_LINE_OCTETS_MAX - "USER \r\n".len());
    assert_eq!(
        driver.send(format!("USER {name}\r\n").as_bytes()),
        b"+OK send PASS\r\n"
    );
    // One more octet is not, and is not executed: the PASS after it is still refused.
    let line = format!("USER {name}n\r\nPASS x\r\n");
    assert_eq!(
        String::from_utf8_lossy(&driver.send(line.as_bytes())),
        "-ERR line too long\r\n-ERR [AUTH] authentication failed\r\n"
    );
    // A huge line arriving in pieces is consumed as it comes; the buffer stays small.
    for _ in 0..100 {
        assert!(driver.send(&[b'A'; 1000]).is_empty());
        assert!(driver.buffer.is_empty());
    }
    assert_eq!(driver.send(b"\r\nCAPA"), b"-ERR line too long\r\n");
    assert_eq!(driver.buffer, b"CAPA");
    // A bare LF ends a line too.
    assert!(
        driver
            .send(b"\n")
            .starts_with(b"+OK capability list follows\r\n")
    );
}

#[test]
fn over_long_sasl_lines() {
    let mut driver = Driver::new(&cleartext_config());
    converse(&mut driver, &[GREETING, "C: AUTH SCRAM-SHA-256", "S: + "]);
    // SASL responses may be longer than commands (RFC 5034 §4): a 12 KiB one is framed, then
    // refused by the mechanism.
    let response = encode_challenge(&[b'x'; 12_288]);
    assert_eq!(response.len() + 2, SASL_LINE_OCTETS_MAX);
    assert_eq!(
        driver.send(format!("{response}\r\n").as_bytes()),
        b"-ERR malformed authentication exchange\r\n"
    );
    converse(&mut driver, &["C: AUTH SCRAM-SHA-256", "S: + "]);
    let too_long = vec![b'A'; SASL_LINE_OCTETS_MAX];
    assert!(driver.send(&too_long).is_empty());
    assert!(driver.buffer.is_empty());
    // The exchange is over: the next line is a command again.
    converse(
        &mut driver,
        &[
            "C: ",
            "S: -ERR line too long",
            "C: NOOP",
            "S: -ERR command not valid in AUTHORIZATION state",
        ],
    );
}

#[test]
fn nul_and_control_bytes() {
    let mut driver = Driver::new(&config());
    converse(&mut driver, &[GREETING]);
    for line in [
        &b"ST\0T\r\n"[..],
        b"\0\r\n",
        b"USER mr\0se\r\n",
        b"USER a\rb\r\n",
        b"USER \x1b[31m\r\n",
    ] {
        assert_eq!(
            driver.send(line),
            b"-ERR invalid character in command\r\n",
            "{line:?}"
        );
    }
    converse(
        &mut driver,
        &[
            "C: ",
            "S: -ERR unknown command",
            "C: XTND XMIT",
            "S: -ERR unknown command",
        ],
    );
}

#[test]
fn too_many_errors_disconnects() {
    let mut driver = Driver::new(&config());
    converse(
        &mut driver,
        &[
            GREETING,
            "C: USER mrose",
            "C: PASS tanstaaf",
            "S: +OK send PASS",
            "S: +OK maildrop has 2 messages (320 octets)",
        ],
    );
    let mut input = Vec::new();
    for _ in 0..ERRORS_MAX + 2 {
        input.extend_from_slice(b"RETR 9\r\n");
    }
    let output = driver.send(&input);
    let mut expected = String::new();
    for _ in 0..ERRORS_MAX {
        expected.push_str("-ERR no such message\r\n");
    }
    expected.push_str("-ERR too many errors, closing connection\r\n");
    assert_eq!(String::from_utf8_lossy(&output), expected);
    assert!(driver.closed);
    assert_eq!(driver.commits, 0);
    assert_eq!(driver.buffer, b"RETR 9\r\nRETR 9\r\n");
}

#[test]
fn failed_logins_count_as_errors() {
    let mut driver = Driver::new(&config());
    converse(&mut driver, &[GREETING]);
    let mut output = Vec::new();
    for _ in 0..ERRORS_MAX {
        output.extend(driver.send(b"AUTH PLAIN AG1yb3NlAHdyb25n\r\n"));
    }
    let mut expected = "-ERR [AUTH] authentication failed\r\n".repeat(ERRORS_MAX as usize);
    expected.push_str("-ERR too many errors, closing connection\r\n");
    assert_eq!(String::from_utf8_lossy(&output), expected);
    assert!(driver.closed);
}

#[test]
fn too_many_commands_before_authentication() {
    let mut driver = Driver::new(&config());
    converse(&mut driver, &[GREETING]);
    let output = driver.send(&b"USER mrose\r\n".repeat(AUTHORIZATION_COMMANDS_MAX as usize + 1));
    let mut expected = "+OK send PASS\r\n".repeat(AUTHORIZATION_COMMANDS_MAX as usize);
    expected.push_str("-ERR too many commands without authentication\r\n");
    assert_eq!(String::from_utf8_lossy(&output), expected);
    assert!(driver.closed);
}

use crate::testing::Random;

#[test]
fn random_input_never_panics() {
    const WORDS: &[&str] = &[
        "USER mrose",
        "PASS tanstaaf",
        "APOP mrose c4c9334bac560ecc979e58001b3e22fb",
        "AUTH PLAIN",
        "AUTH PLAIN AG1yb3NlAHRhbnN0YWFm",
        "AG1yb3NlAHRhbnN0YWFm",
        "AUTH LOGIN",
        "AUTH SCRAM-SHA-256",
        "AUTH CRAM-MD5",
        "biwsbj11c2VyLHI9ck9wck5HZndFYmVSV2diTkVrcU8=",
        "*",
        "STLS",
        "CAPA",
        "STAT",
        "LIST",
        "LIST 2",
        "UIDL",
        "UIDL 1",
        "RETR 1",
        "RETR 2",
        "TOP 2 1",
        "TOP 1 0",
        "DELE 1",
        "DELE 2",
        "RSET",
        "NOOP",
        "QUIT",
        "RETR 0",
        "",
    ];
    const SEPARATORS: &[&[u8]] = &[
        b"\r\n", b"\r\n", b"\r\n", b"\r\n", b"\r\n", b"\n", b"\r", b" ", b"",
    ];
    let mut random = Random(0x9e37_79b9_7f4a_7c15);
    let (mut opened, mut sent, mut committed) = (0, 0, 0);
    for round in 0..10_000 {
        let config = if round % 2 == 0 {
            config()
        } else {
            cleartext_config()
        };
        let mut driver = Driver::new(&config);
        driver.locked = random.below(8) == 0;
        driver.commit_error =
            (random.below(4) == 0).then_some(crate::pop3::StorageError::Temporary);
        let mut input = Vec::new();
        for _ in 0..1 + random.below(24) {
            match random.below(6) {
                0 => {
                    let bound = if random.below(8) == 0 { 600 } else { 40 };
                    let length = random.below(bound);
                    input.extend((0..length).map(|_| random.next() as u8));
                }
                _ => input.extend_from_slice(WORDS[random.below(WORDS.len())].as_bytes()),
            }
            input.extend_from_slice(SEPARATORS[random.below(SEPARATORS.len())]);
        }
        let mut rest = input.as_slice();
        while !rest.is_empty() && !driver.closed {
            let length = 1 + random.below(rest.len());
            driver.send(&rest[..length]);
            rest = &rest[length..];
            assert!(
                driver.buffer.len() < SASL_LINE_OCTETS_MAX,
                "round {round}: the unconsumed input grew to {}",
                driver.buffer.len()
            );
        }
        opened += driver.opened;
        committed += driver.commits;
        sent += usize::from(driver.session.user().is_some());
    }
    // The generator reaches the interesting states, not only parse errors.
    assert!(
        opened > 500 && committed > 20 && sent > 100,
        "{opened} {committed} {sent}"
    );
}
