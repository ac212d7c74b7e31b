//! Random input never panics, never consumes more than it is given, and never leaves more
//! than a line unconsumed.

use super::*;

use crate::testing::Random;

/// Fragments that reach deep states, mixed with noise.
const FRAGMENTS: &[&[u8]] = &[
    b"EHLO c.example\r\n",
    b"LHLO c.example\r\n",
    b"HELO c\r\n",
    b"MAIL FROM:<a@b.example>\r\n",
    b"MAIL FROM:<> SIZE=10 BODY=BINARYMIME SMTPUTF8\r\n",
    b"RCPT TO:<alice@example.org>\r\n",
    b"RCPT TO:<full@example.org> NOTIFY=NEVER\r\n",
    b"RCPT TO:<x@elsewhere.example>\r\n",
    b"DATA\r\n",
    b"BDAT 5\r\n",
    b"BDAT 0 LAST\r\n",
    b"BDAT 3 LAST\r\n",
    b"\r\n.\r\n",
    b".\r\n",
    b"\n.\n",
    b"\r.\r",
    b"..",
    b"\r\n",
    b"\n",
    b"\r",
    b"\0",
    b"\xff\xfe",
    b"RSET\r\n",
    b"NOOP\r\n",
    b"STARTTLS\r\n",
    b"AUTH PLAIN\r\n",
    b"AUTH LOGIN\r\n",
    b"AUTH SCRAM-SHA-256 biwsbj11c2VyLHI9YWJj\r\n",
    b"AGFsaWNlQGV4YW1wbGUub3JnAHNlY3JldA==\r\n",
    b"*\r\n",
    b"Subject: x\r\n\r\n",
    b"Date: now\r\n",
    b"QUIT\r\n",
];

#[test]
fn ten_thousand_random_sessions() {
    let mut random = Random(0x9e37_79b9_7f4a_7c15);
    for round in 0..10_000 {
        let mode = [Mode::Mx, Mode::Submission, Mode::Lmtp][round % 3];
        let mut config = config(mode);
        config.starttls_available = random.below(2) == 0;
        config.plaintext_auth_allowed = random.below(2) == 0;
        config.normalise_bare_line_endings = random.below(2) == 0;
        config.limits.message_octets_max = [20, 1000, MESSAGE_OCTETS_MAX][random.below(3)];
        config.limits.command_line_octets_max = [512, COMMAND_LINE_OCTETS_MAX][random.below(2)];
        config.limits.errors_max = 1000;
        config.limits.unauthenticated_commands_max = 1000;
        let mut driver = Driver::new(config);
        let mut input = Vec::new();
        for _ in 0..random.below(40) {
            if random.below(4) == 0 {
                for _ in 0..random.below(64) {
                    input.push(random.next() as u8);
                }
            } else {
                input.extend_from_slice(FRAGMENTS[random.below(FRAGMENTS.len())]);
            }
        }
        // Feed in random pieces.
        let mut position = 0;
        while position < input.len() && !driver.closed {
            let end = (position + 1 + random.below(64)).min(input.len());
            driver.push(&input[position..end]);
            position = end;
        }
        let _ = driver.take_out();
    }
}
