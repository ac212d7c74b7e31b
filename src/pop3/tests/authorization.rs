//! AUTHORIZATION: USER/PASS, APOP, AUTH, STLS, CAPA, QUIT, and opening the maildrop.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;

use super::driver::{Driver, cleartext_config, config, converse};
use super::{GREETING, lines};
use crate::auth::sasl::Credentials;
use crate::auth::scram::ScramKeys;
use crate::pop3::{Action, Pop3Config, Session, StorageError};

const LOGGED_IN: &str = "S: +OK maildrop has 2 messages (320 octets)";
const AUTH_FAILED: &str = "S: -ERR [AUTH] authentication failed";

#[test]
fn user_pass() {
    let mut driver = Driver::new(&config());
    converse(
        &mut driver,
        &[
            GREETING,
            "C: USER mrose",
            "S: +OK send PASS",
            "C: PASS tanstaaf",
            LOGGED_IN,
            "C: QUIT",
            "S: +OK POP3 server signing off (2 messages left)",
        ],
    );
    assert!(driver.closed);
    assert_eq!(driver.commits, 0);
}

#[test]
fn user_pass_refusals() {
    let mut driver = Driver::new(&config());
    driver.accounts.insert(
        "spaced".into(),
        Credentials {
            stored_password: Some("{PLAIN} two  words ".into()),
            scram: None,
        },
    );
    converse(
        &mut driver,
        &[
            GREETING,
            "C: PASS tanstaaf",
            "S: -ERR PASS must follow a successful USER",
            "C: USER mrose",
            "S: +OK send PASS",
            "C: PASS wrong",
            AUTH_FAILED,
            // A failed PASS forgets the USER (RFC 1939 §7: USER again after a failure).
            "C: PASS tanstaaf",
            "S: -ERR PASS must follow a successful USER",
            "C: USER nobody",
            "S: +OK send PASS",
            "C: PASS tanstaaf",
            AUTH_FAILED,
            // RFC 1939 §7: spaces are part of the password.
            "C: USER spaced",
            "S: +OK send PASS",
            "C: PASS  two  words ",
            "S: +OK maildrop has 2 messages (320 octets)",
        ],
    );
}

#[test]
fn apop() {
    let mut driver = Driver::new(&config());
    driver.accounts.insert(
        "hashed".into(),
        Credentials {
            stored_password: Some("{SHA512-CRYPT}$6$salt$hash".into()),
            scram: None,
        },
    );
    converse(
        &mut driver,
        &[
            GREETING,
            "C: APOP mrose c4c9334bac560ecc979e58001b3e22fa",
            AUTH_FAILED,
            "C: APOP nobody c4c9334bac560ecc979e58001b3e22fb",
            AUTH_FAILED,
            // Only {PLAIN} accounts can use APOP.
            "C: APOP hashed c4c9334bac560ecc979e58001b3e22fb",
            AUTH_FAILED,
            "C: APOP mrose c4c9334bac560ecc979e58001b3e22f",
            "S: -ERR APOP digest must be 32 hexadecimal digits",
            "C: APOP mrose",
            "S: -ERR APOP needs a name and a digest",
            "C: APOP mrose C4C9334BAC560ECC979E58001B3E22FB",
            LOGGED_IN,
        ],
    );
}

#[test]
fn apop_without_tls() {
    // APOP sends no password: allowed where USER/PASS is not.
    let mut driver = Driver::new(&cleartext_config());
    converse(
        &mut driver,
        &[
            GREETING,
            "C: APOP mrose c4c9334bac560ecc979e58001b3e22fb",
            LOGGED_IN,
        ],
    );
}

#[test]
fn auth_plain() {
    let mut driver = Driver::new(&config());
    converse(
        &mut driver,
        &[
            GREETING,
            // Wrong password, with an initial response.
            "C: AUTH PLAIN AG1yb3NlAHdyb25n",
            AUTH_FAILED,
            // authzid other than the user.
            "C: AUTH PLAIN Ym9zcwBtcm9zZQB0YW5zdGFhZg==",
            "S: -ERR [AUTH] not authorized to act as another user",
            // RFC 5034 §4: without an initial response, an empty challenge "+ ".
            "C: AUTH plain",
            "S: + ",
            "C: AG1yb3NlAHRhbnN0YWFm",
            LOGGED_IN,
            // RFC 5034 §4: AUTH after a successful AUTH is refused.
            "C: AUTH PLAIN AG1yb3NlAHRhbnN0YWFm",
            "S: -ERR command not valid in TRANSACTION state",
        ],
    );
    let mut driver = Driver::new(&config());
    converse(
        &mut driver,
        &[
            GREETING,
            // authzid equal to the user is fine.
            "C: AUTH PLAIN bXJvc2UAbXJvc2UAdGFuc3RhYWY=",
            LOGGED_IN,
        ],
    );
}

#[test]
fn auth_cancel_errors_and_login() {
    let mut driver = Driver::new(&config());
    converse(
        &mut driver,
        &[
            GREETING,
            "C: AUTH PLAIN",
            "S: + ",
            "C: *",
            "S: -ERR authentication cancelled",
            "C: AUTH PLAIN",
            "S: + ",
            "C: !!!!",
            "S: -ERR invalid base64 in authentication response",
            "C: AUTH PLAIN ===",
            "S: -ERR invalid base64 in initial response",
            "C: AUTH PLAIN =",
            "S: -ERR malformed authentication exchange",
            "C: AUTH GSSAPI",
            "S: -ERR unsupported authentication mechanism",
            // CRAM-MD5 takes no initial response (RFC 5034 §4: -ERR).
            "C: AUTH CRAM-MD5 bXJvc2U=",
            "S: -ERR malformed authentication exchange",
            "C: AUTH",
            "S: +OK SASL mechanisms follow",
            "S: SCRAM-SHA-256",
            "S: CRAM-MD5",
            "S: PLAIN",
            "S: LOGIN",
            "S: .",
            "C: AUTH LOGIN",
            "S: + VXNlcm5hbWU6",
            "C: bXJvc2U=",
            "S: + UGFzc3dvcmQ6",
            "C: dGFuc3RhYWY=",
            LOGGED_IN,
        ],
    );
}

#[test]
fn auth_cram_md5() {
    let session = Session::new(&config()).with_fixed_sasl_nonce("fixed");
    let mut driver = Driver::with_session(session);
    converse(
        &mut driver,
        &[
            GREETING,
            "C: AUTH CRAM-MD5",
            "S: + PGZpeGVkQGRiYy5tdHZpZXcuY2EudXM+",
            "C: bXJvc2UgN2U4M2ZiMjE4NmNmNjhhYWM0OGM5MDhmNTQ4Nzg0NTU=",
            LOGGED_IN,
        ],
    );
}

#[test]
fn auth_scram_sha_256() {
    // RFC 7677 §3's exchange, with the server nonce fixed to the RFC's.
    let session = Session::new(&config()).with_fixed_sasl_nonce("%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0");
    let mut driver = Driver::with_session(session);
    let salt = BASE64.decode("W22ZaJ0SNY7soEsUEjb6gQ==").unwrap();
    driver.accounts.insert(
        "user".into(),
        Credentials {
            stored_password: None,
            scram: Some(ScramKeys::derive(b"pencil", &salt, 4096)),
        },
    );
    converse(
        &mut driver,
        &[
            GREETING,
            "C: AUTH SCRAM-SHA-256 biwsbj11c2VyLHI9ck9wck5HZndFYmVSV2diTkVrcU8=",
            "S: + cj1yT3ByTkdmd0ViZVJXZ2JORWtxTyVodllEcFdVYTJSYVRDQWZ1eEZJbGopaE5sRiRrMCxzPVcyMlphSjBTTlk3c29Fc1VFamI2Z1E9PSxpPTQwOTY=",
            "C: Yz1iaXdzLHI9ck9wck5HZndFYmVSV2diTkVrcU8laHZZRHBXVWEyUmFUQ0FmdXhGSWxqKWhObEYkazAscD1kSHpiWmFwV0lrNGpVaE4rVXRlOXl0YWc5empmTUhnc3FtbWl6N0FuZFZRPQ==",
            "S: + dj02cnJpVFJCaTIzV3BSUi93dHVwK21NaFVaVW4vZEI1bkxUSlJzamw5NUc0PQ==",
            "C: ",
            LOGGED_IN,
        ],
    );
}

const CAPA_PLAINTEXT: &[&str] = &[
    "S: +OK capability list follows",
    "S: TOP",
    "S: UIDL",
    "S: RESP-CODES",
    "S: AUTH-RESP-CODE",
    "S: PIPELINING",
    "S: EXPIRE NEVER",
    "S: LOGIN-DELAY 0",
    "S: USER",
    "S: SASL SCRAM-SHA-256 CRAM-MD5 PLAIN LOGIN",
];

#[test]
fn capa_in_both_states() {
    let mut driver = Driver::new(&config());
    let mut script = lines(&[GREETING, "C: CAPA"]);
    script.extend(lines(CAPA_PLAINTEXT));
    script.extend(lines(&["S: STLS", "S: IMPLEMENTATION Postern", "S: ."]));
    script.extend(lines(&[
        "C: USER mrose",
        "C: PASS tanstaaf",
        "S: +OK send PASS",
        LOGGED_IN,
        "C: CAPA",
    ]));
    // No STLS in TRANSACTION (RFC 2595 §4).
    script.extend(lines(CAPA_PLAINTEXT));
    script.extend(lines(&["S: IMPLEMENTATION Postern", "S: ."]));
    converse(&mut driver, &script);
}

#[test]
fn capa_with_implicit_tls_and_expiry() {
    let config = Pop3Config {
        tls_active: true,
        expire_days: Some(30),
        login_delay_secs: 900,
        ..config()
    };
    let mut driver = Driver::new(&config);
    converse(
        &mut driver,
        &[
            GREETING,
            "C: CAPA",
            "S: +OK capability list follows",
            "S: TOP",
            "S: UIDL",
            "S: RESP-CODES",
            "S: AUTH-RESP-CODE",
            "S: PIPELINING",
            "S: EXPIRE 30",
            "S: LOGIN-DELAY 900",
            "S: USER",
            "S: SASL SCRAM-SHA-256 CRAM-MD5 PLAIN LOGIN",
            "S: IMPLEMENTATION Postern",
            "S: .",
            "C: STLS",
            "S: -ERR command not permitted when TLS active",
        ],
    );
}

#[test]
fn cleartext_connection_then_stls() {
    let mut driver = Driver::new(&cleartext_config());
    converse(
        &mut driver,
        &[
            GREETING,
            "C: CAPA",
            "S: +OK capability list follows",
            "S: TOP",
            "S: UIDL",
            "S: RESP-CODES",
            "S: AUTH-RESP-CODE",
            "S: PIPELINING",
            "S: EXPIRE NEVER",
            "S: LOGIN-DELAY 0",
            "S: SASL SCRAM-SHA-256 CRAM-MD5",
            "S: STLS",
            "S: IMPLEMENTATION Postern",
            "S: .",
            "C: USER mrose",
            "S: -ERR plaintext authentication requires TLS",
            "C: PASS tanstaaf",
            "S: -ERR PASS must follow a successful USER",
            "C: AUTH PLAIN AG1yb3NlAHRhbnN0YWFm",
            "S: -ERR plaintext authentication requires TLS",
            "C: AUTH",
            "S: +OK SASL mechanisms follow",
            "S: SCRAM-SHA-256",
            "S: CRAM-MD5",
            "S: .",
            "C: STLS",
            "S: +OK begin TLS negotiation",
        ],
    );
    assert!(driver.tls);
    let mut script = lines(&["C: CAPA"]);
    script.extend(lines(CAPA_PLAINTEXT));
    script.extend(lines(&[
        "S: IMPLEMENTATION Postern",
        "S: .",
        "C: STLS",
        "S: -ERR command not permitted when TLS active",
        "C: USER mrose",
        "S: +OK send PASS",
        "C: PASS tanstaaf",
        LOGGED_IN,
    ]));
    converse(&mut driver, &script);
}

#[test]
fn stls_discards_pipelined_commands() {
    let mut driver = Driver::new(&config());
    converse(
        &mut driver,
        &[
            GREETING,
            "C: USER mrose",
            "S: +OK send PASS",
            "C: STLS",
            "C: PASS tanstaaf",
            "C: STAT",
            "S: +OK begin TLS negotiation",
        ],
    );
    assert!(driver.tls);
    assert_eq!(driver.discarded, b"PASS tanstaaf\r\nSTAT\r\n");
    // The USER given before STLS is forgotten; nothing was executed.
    converse(
        &mut driver,
        &[
            "C: PASS tanstaaf",
            "S: -ERR PASS must follow a successful USER",
        ],
    );

    // At the session's interface: the feed stops right after the STLS line.
    let mut session = Session::new(&config());
    let mut out = Vec::new();
    let input = b"STLS\r\nUSER mrose\r\n";
    let feed = session.feed(input, &mut out);
    assert_eq!(feed.consumed, 6);
    assert!(matches!(feed.action, Some(Action::StartTls)));
    assert_eq!(out, b"+OK begin TLS negotiation\r\n");
    // Until the handshake is done, the session takes no input.
    let feed = session.feed(&input[6..], &mut out);
    assert_eq!(feed.consumed, 0);
    assert!(feed.action.is_none());
}

#[test]
fn stls_unavailable_or_after_login() {
    let config = Pop3Config {
        starttls_available: false,
        ..config()
    };
    let mut driver = Driver::new(&config);
    converse(
        &mut driver,
        &[
            GREETING,
            "C: STLS",
            "S: -ERR STLS not available",
            "C: USER mrose",
            "C: PASS tanstaaf",
            "S: +OK send PASS",
            LOGGED_IN,
            "C: STLS",
            "S: -ERR command not valid in TRANSACTION state",
            "C: USER mrose",
            "S: -ERR command not valid in TRANSACTION state",
            "C: APOP mrose c4c9334bac560ecc979e58001b3e22fb",
            "S: -ERR command not valid in TRANSACTION state",
        ],
    );
}

#[test]
fn maildrop_in_use_or_failing() {
    let mut driver = Driver::new(&config());
    driver.locked = true;
    converse(
        &mut driver,
        &[
            GREETING,
            "C: USER mrose",
            "C: PASS tanstaaf",
            "S: +OK send PASS",
            "S: -ERR [IN-USE] maildrop is in use by another session",
        ],
    );
    driver.locked = false;
    driver.open_error = Some(StorageError::Temporary);
    converse(
        &mut driver,
        &[
            "C: APOP mrose c4c9334bac560ecc979e58001b3e22fb",
            "S: -ERR [SYS/TEMP] unable to open maildrop",
        ],
    );
    driver.open_error = Some(StorageError::Permanent);
    converse(
        &mut driver,
        &[
            "C: AUTH PLAIN AG1yb3NlAHRhbnN0YWFm",
            "S: -ERR [SYS/PERM] unable to open maildrop",
        ],
    );
    driver.open_error = None;
    converse(
        &mut driver,
        &["C: AUTH PLAIN AG1yb3NlAHRhbnN0YWFm", LOGGED_IN],
    );
}

#[test]
fn quit_and_wrong_state_in_authorization() {
    let mut driver = Driver::new(&config());
    converse(
        &mut driver,
        &[
            GREETING,
            "C: STAT",
            "S: -ERR command not valid in AUTHORIZATION state",
            "C: LIST",
            "S: -ERR command not valid in AUTHORIZATION state",
            "C: RETR 1",
            "S: -ERR command not valid in AUTHORIZATION state",
            "C: DELE 1",
            "S: -ERR command not valid in AUTHORIZATION state",
            "C: NOOP",
            "S: -ERR command not valid in AUTHORIZATION state",
            "C: RSET",
            "S: -ERR command not valid in AUTHORIZATION state",
            "C: TOP 1 1",
            "S: -ERR command not valid in AUTHORIZATION state",
            "C: UIDL",
            "S: -ERR command not valid in AUTHORIZATION state",
            "C: QUIT",
            "C: NOOP",
            "S: +OK POP3 server signing off",
        ],
    );
    assert!(driver.closed && driver.session.is_closed());
    assert_eq!(driver.commits, 0);
    assert_eq!(driver.buffer, b"NOOP\r\n");
}

/// The server's defaults: no APOP (no timestamp in the greeting, so clients such as curl do not
/// try it) and no CRAM-MD5 (both need `{PLAIN}` passwords).
#[test]
fn without_apop_and_cram_md5_neither_is_offered_nor_accepted() {
    let config = Pop3Config {
        apop: false,
        mechanisms: crate::config::MECHANISMS_DEFAULT.to_vec(),
        ..config()
    };
    let mut driver = Driver::new(&config);
    converse(
        &mut driver,
        &[
            "S: +OK POP3 server ready",
            "C: APOP mrose c4c9334bac560ecc979e58001b3e22fb",
            "S: -ERR APOP is not enabled on this server",
            "C: AUTH CRAM-MD5",
            "S: -ERR unsupported authentication mechanism",
            "C: AUTH",
            "S: +OK SASL mechanisms follow",
            "S: SCRAM-SHA-256",
            "S: PLAIN",
            "S: LOGIN",
            "S: .",
        ],
    );
}
