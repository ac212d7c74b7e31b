//! PLAIN (RFC 4616): one message `[authzid] NUL authcid NUL passwd`.

use super::{
    IDENTITY_OCTETS_MAX, PASSWORD_OCTETS_MAX, SaslError, State, Step, Transition, fail, identity,
};
use crate::auth::secret::Secret;

const MESSAGE_OCTETS_MAX: usize = 2 * IDENTITY_OCTETS_MAX + PASSWORD_OCTETS_MAX + 2;

pub(super) fn start(initial_response: Option<Vec<u8>>) -> Transition {
    match initial_response {
        // RFC 4422 §5 (and RFC 4954 §4): without an initial response the server sends an
        // empty challenge and the client answers with the message.
        None => (State::Plain, Step::Challenge(Vec::new())),
        Some(octets) => {
            // The message holds the password: wipe our copy once parsed.
            let octets = Secret::new(octets);
            message(octets.expose())
        }
    }
}

pub(super) fn message(octets: &[u8]) -> Transition {
    match parse(octets) {
        Ok((authzid, authcid, password)) => (
            State::AwaitVerify {
                authcid: authcid.clone(),
                authzid: authzid.clone(),
            },
            Step::NeedVerify {
                authcid,
                authzid,
                password,
            },
        ),
        Err(error) => fail(error),
    }
}

fn parse(octets: &[u8]) -> Result<(Option<String>, String, Secret), SaslError> {
    if octets.len() > MESSAGE_OCTETS_MAX {
        return Err(SaslError::TooLong);
    }
    let mut fields = octets.split(|&octet| octet == 0);
    let (Some(authzid), Some(authcid), Some(password), None) =
        (fields.next(), fields.next(), fields.next(), fields.next())
    else {
        return Err(SaslError::Malformed("PLAIN message needs exactly two NULs"));
    };
    // RFC 4616 §2: an empty authzid means "derive it from the authcid".
    let authzid = match authzid {
        [] => None,
        octets => Some(identity(octets)?),
    };
    let authcid = identity(authcid)?;
    if password.is_empty() {
        return Err(SaslError::Malformed("empty password"));
    }
    if password.len() > PASSWORD_OCTETS_MAX {
        return Err(SaslError::TooLong);
    }
    // RFC 4616 §2: passwd is UTF-8.
    if std::str::from_utf8(password).is_err() {
        return Err(SaslError::Malformed("password is not UTF-8"));
    }
    Ok((authzid, authcid, Secret::new(password.to_vec())))
}

#[cfg(test)]
mod tests {
    use crate::auth::sasl::{Mechanism, SaslError, SaslServer, Step};

    fn expect_verify(step: Step) -> (String, Option<String>, Vec<u8>) {
        match step {
            Step::NeedVerify {
                authcid,
                authzid,
                password,
            } => (authcid, authzid, password.expose().to_vec()),
            other => panic!("expected NeedVerify, got {other:?}"),
        }
    }

    #[test]
    fn rfc4616_example_without_initial_response() {
        // RFC 4616 §4, first example: `+ ""` then `<NUL>tim<NUL>tanstaaftanstaaf`.
        let (mut server, step) = SaslServer::start(Mechanism::Plain, None, "mx.example");
        assert!(matches!(step, Step::Challenge(ref c) if c.is_empty()));
        let (authcid, authzid, password) =
            expect_verify(server.respond(b"\0tim\0tanstaaftanstaaf"));
        assert_eq!(authcid, "tim");
        assert_eq!(authzid, None);
        assert_eq!(password, b"tanstaaftanstaaf");
        assert!(matches!(
            server.verified(true),
            Step::Success { ref authcid, authzid: None } if authcid == "tim"
        ));
    }

    #[test]
    fn rfc4616_example_with_authzid_and_initial_response() {
        // RFC 4616 §4, second example: Kurt asks to act as Ursel; the caller decides.
        let message = b"Ursel\0Kurt\0xipj3plmq".to_vec();
        let (mut server, step) = SaslServer::start(Mechanism::Plain, Some(message), "mx.example");
        let (authcid, authzid, password) = expect_verify(step);
        assert_eq!(
            (authcid.as_str(), authzid.as_deref()),
            ("Kurt", Some("Ursel"))
        );
        assert_eq!(password, b"xipj3plmq");
        assert!(matches!(
            server.verified(true),
            Step::Success { ref authcid, authzid: Some(ref z) } if authcid == "Kurt" && z == "Ursel"
        ));
    }

    #[test]
    fn wrong_password_fails() {
        let (mut server, step) =
            SaslServer::start(Mechanism::Plain, Some(b"\0tim\0wrong".to_vec()), "mx");
        expect_verify(step);
        assert!(matches!(
            server.verified(false),
            Step::Failure(SaslError::AuthFailed)
        ));
        assert!(matches!(
            server.verified(true),
            Step::Failure(SaslError::OutOfSequence)
        ));
    }

    #[test]
    fn malformed_messages_fail() {
        let long_password = [b"\0tim\0".as_slice(), &[b'p'; 1025]].concat();
        let cases: [(&[u8], SaslError); 9] = [
            (
                b"",
                SaslError::Malformed("PLAIN message needs exactly two NULs"),
            ),
            (
                b"tim",
                SaslError::Malformed("PLAIN message needs exactly two NULs"),
            ),
            (
                b"\0tim",
                SaslError::Malformed("PLAIN message needs exactly two NULs"),
            ),
            (
                b"\0tim\0pw\0",
                SaslError::Malformed("PLAIN message needs exactly two NULs"),
            ),
            (b"\0\0pw", SaslError::Malformed("empty identity")),
            (b"\0tim\0", SaslError::Malformed("empty password")),
            (
                b"\0tim\0\xff\xfe",
                SaslError::Malformed("password is not UTF-8"),
            ),
            (
                b"\0t\xc3\0pw",
                SaslError::Malformed("identity is not UTF-8"),
            ),
            (&long_password, SaslError::TooLong),
        ];
        for (message, expected) in cases {
            let (_, step) = SaslServer::start(Mechanism::Plain, Some(message.to_vec()), "mx");
            match step {
                Step::Failure(error) => assert_eq!(error, expected, "{message:?}"),
                other => panic!("{message:?}: expected failure, got {other:?}"),
            }
        }
        let (_, step) = SaslServer::start(Mechanism::Plain, Some(vec![0; 5000]), "mx");
        assert!(matches!(step, Step::Failure(SaslError::TooLong)));
    }
}
