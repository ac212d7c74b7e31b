//! CRAM-MD5 (RFC 2195): the server sends a unique challenge, the client answers
//! `user SP hex(HMAC-MD5(password, challenge))`. The key is the password itself, so this works
//! only for accounts whose stored password is `{PLAIN}`.

use hmac::{Hmac, Mac};
use md5::Md5;
use subtle::ConstantTimeEq;

use super::{Credentials, Nonce, SaslError, State, Step, Transition, fail, identity, random_bytes};
use crate::auth::password;

const DIGEST_HEX_OCTETS: usize = 32;

pub(super) enum CramMd5 {
    AwaitResponse {
        challenge: String,
    },
    AwaitCredentials {
        challenge: String,
        authcid: String,
        digest: [u8; 16],
    },
}

pub(super) fn start(
    initial_response: Option<Vec<u8>>,
    server_name: &str,
    nonce: Nonce<'_>,
) -> Transition {
    // RFC 2195 §2: the server speaks first; there is no initial response.
    if initial_response.is_some() {
        return fail(SaslError::Malformed("CRAM-MD5 takes no initial response"));
    }
    // RFC 2195 §2 asks for a msg-id-like string of "a random string, a timestamp and the
    // server's FQDN". What matters is that it never repeats; this module owns no clock, so two
    // random 64-bit numbers stand in for both.
    let unique = match nonce {
        Nonce::Fixed(fixed) => fixed.to_owned(),
        Nonce::Random => match random_bytes::<16>() {
            Ok(octets) => {
                let (high, low) = octets.split_at(8);
                let high = u64::from_le_bytes(high.try_into().expect("8 octets"));
                let low = u64::from_le_bytes(low.try_into().expect("8 octets"));
                format!("{high}.{low}")
            }
            Err(error) => return fail(error),
        },
    };
    let challenge = format!("<{unique}@{server_name}>");
    let step = Step::Challenge(challenge.clone().into_bytes());
    (State::CramMd5(CramMd5::AwaitResponse { challenge }), step)
}

impl CramMd5 {
    pub(super) fn respond(self, data: &[u8]) -> Transition {
        let CramMd5::AwaitResponse { challenge } = self else {
            return fail(SaslError::OutOfSequence);
        };
        // The user name may itself contain spaces; the digest is after the last one.
        let Some(space) = data.iter().rposition(|&octet| octet == b' ') else {
            return fail(SaslError::Malformed(
                "CRAM-MD5 response needs 'user digest'",
            ));
        };
        let (user, digest_hex) = (&data[..space], &data[space + 1..]);
        let authcid = match identity(user) {
            Ok(authcid) => authcid,
            Err(error) => return fail(error),
        };
        let Some(digest) = decode_hex_digest(digest_hex) else {
            return fail(SaslError::Malformed("CRAM-MD5 digest is not 32 hex digits"));
        };
        let step = Step::NeedCredentials {
            authcid: authcid.clone(),
        };
        let state = CramMd5::AwaitCredentials {
            challenge,
            authcid,
            digest,
        };
        (State::CramMd5(state), step)
    }

    pub(super) fn provide_credentials(self, credentials: Credentials) -> Transition {
        let CramMd5::AwaitCredentials {
            challenge,
            authcid,
            digest,
        } = self
        else {
            return fail(SaslError::OutOfSequence);
        };
        let Some(stored) = credentials.stored_password else {
            return fail(SaslError::AuthFailed);
        };
        let Some(secret) = password::plaintext(&stored) else {
            return fail(SaslError::MechanismUnavailable);
        };
        let mut mac = Hmac::<Md5>::new_from_slice(secret.as_bytes()).expect("any key length");
        mac.update(challenge.as_bytes());
        let expected = mac.finalize().into_bytes();
        if bool::from(expected.ct_eq(&digest)) {
            (
                State::Done,
                Step::Success {
                    authcid,
                    authzid: None,
                },
            )
        } else {
            fail(SaslError::AuthFailed)
        }
    }
}

/// RFC 2195 §2 shows lowercase hex; uppercase is accepted too.
fn decode_hex_digest(hex: &[u8]) -> Option<[u8; 16]> {
    if hex.len() != DIGEST_HEX_OCTETS {
        return None;
    }
    let mut digest = [0u8; 16];
    for (octet, pair) in digest.iter_mut().zip(hex.chunks_exact(2)) {
        let high = char::from(pair[0]).to_digit(16)?;
        let low = char::from(pair[1]).to_digit(16)?;
        *octet = u8::try_from(high * 16 + low).ok()?;
    }
    Some(digest)
}

#[cfg(test)]
mod tests {
    use crate::auth::sasl::{Credentials, Mechanism, SaslError, SaslServer, Step};

    const RFC_SERVER: &str = "postoffice.reston.mci.net";
    const RFC_CHALLENGE: &[u8] = b"<1896.697170952@postoffice.reston.mci.net>";
    const RFC_RESPONSE: &[u8] = b"tim b913a602c7eda7a495b4e6e7334d3890";

    fn rfc_server() -> SaslServer {
        let (server, step) = SaslServer::start_with_fixed_nonce(
            Mechanism::CramMd5,
            None,
            RFC_SERVER,
            "1896.697170952",
        );
        assert!(matches!(step, Step::Challenge(ref c) if c == RFC_CHALLENGE));
        server
    }

    fn plain(password: &str) -> Credentials {
        Credentials {
            stored_password: Some(format!("{{PLAIN}}{password}")),
            scram: None,
        }
    }

    #[test]
    fn rfc2195_example() {
        let mut server = rfc_server();
        assert!(matches!(
            server.respond(RFC_RESPONSE),
            Step::NeedCredentials { ref authcid } if authcid == "tim"
        ));
        assert!(matches!(
            server.provide_credentials(plain("tanstaaftanstaaf")),
            Step::Success { ref authcid, authzid: None } if authcid == "tim"
        ));
        // Uppercase hex is the same digest.
        let mut server = rfc_server();
        server.respond(b"tim B913A602C7EDA7A495B4E6E7334D3890");
        assert!(matches!(
            server.provide_credentials(plain("tanstaaftanstaaf")),
            Step::Success { .. }
        ));
    }

    #[test]
    fn wrong_password_unknown_user_and_hashed_account() {
        let mut server = rfc_server();
        server.respond(RFC_RESPONSE);
        assert!(matches!(
            server.provide_credentials(plain("tanstaaf")),
            Step::Failure(SaslError::AuthFailed)
        ));
        let mut server = rfc_server();
        server.respond(RFC_RESPONSE);
        assert!(matches!(
            server.provide_credentials(Credentials::default()),
            Step::Failure(SaslError::AuthFailed)
        ));
        let mut server = rfc_server();
        server.respond(RFC_RESPONSE);
        let hashed = Credentials {
            stored_password: Some("{BLF-CRYPT}$2y$05$abcdefghijklmnopqrstuu".into()),
            scram: None,
        };
        assert!(matches!(
            server.provide_credentials(hashed),
            Step::Failure(SaslError::MechanismUnavailable)
        ));
    }

    #[test]
    fn random_challenges_differ() {
        let challenge = |_| match SaslServer::start(Mechanism::CramMd5, None, "mx.example").1 {
            Step::Challenge(c) => String::from_utf8(c).unwrap(),
            other => panic!("{other:?}"),
        };
        let (a, b) = (challenge(0), challenge(1));
        assert!(a.starts_with('<') && a.ends_with("@mx.example>"), "{a}");
        assert_ne!(a, b);
    }

    #[test]
    fn malformed_responses_fail() {
        let (_, step) = SaslServer::start(Mechanism::CramMd5, Some(b"tim".to_vec()), "mx");
        assert!(matches!(step, Step::Failure(SaslError::Malformed(_))));
        for bad in [
            &b""[..],
            b"tim",
            b"tim ",
            b" b913a602c7eda7a495b4e6e7334d3890",
            b"tim b913a602c7eda7a495b4e6e7334d389",
            b"tim b913a602c7eda7a495b4e6e7334d38900",
            b"tim g913a602c7eda7a495b4e6e7334d3890",
            b"tim +913a602c7eda7a495b4e6e7334d3890",
            b"t\xffm b913a602c7eda7a495b4e6e7334d3890",
            "tim \u{e9}913a602c7eda7a495b4e6e7334d389".as_bytes(),
        ] {
            let mut server = rfc_server();
            assert!(matches!(server.respond(bad), Step::Failure(_)), "{bad:?}");
        }
    }
}
