//! LOGIN: the de-facto mechanism (draft-murchison-sasl-login) of older clients. The server
//! prompts "Username:" then "Password:"; an initial response is the username.

use super::{PASSWORD_OCTETS_MAX, SaslError, State, Step, Transition, fail, identity};
use crate::auth::secret::Secret;

const USERNAME_PROMPT: &[u8] = b"Username:";
const PASSWORD_PROMPT: &[u8] = b"Password:";

pub(super) enum Login {
    AwaitUsername,
    AwaitPassword { authcid: String },
}

pub(super) fn start(initial_response: Option<Vec<u8>>) -> Transition {
    match initial_response {
        None => (
            State::Login(Login::AwaitUsername),
            Step::Challenge(USERNAME_PROMPT.to_vec()),
        ),
        Some(username) => Login::AwaitUsername.respond(&username),
    }
}

impl Login {
    pub(super) fn respond(self, data: &[u8]) -> Transition {
        match self {
            Login::AwaitUsername => match identity(data) {
                Ok(authcid) => (
                    State::Login(Login::AwaitPassword { authcid }),
                    Step::Challenge(PASSWORD_PROMPT.to_vec()),
                ),
                Err(error) => fail(error),
            },
            Login::AwaitPassword { authcid } => {
                // LOGIN has no charset rule; some old clients send Latin-1, so any octets but
                // NUL are passed on to verify_password.
                if data.is_empty() {
                    return fail(SaslError::Malformed("empty password"));
                }
                if data.len() > PASSWORD_OCTETS_MAX {
                    return fail(SaslError::TooLong);
                }
                if data.contains(&0) {
                    return fail(SaslError::Malformed("NUL in password"));
                }
                (
                    State::AwaitVerify {
                        authcid: authcid.clone(),
                        authzid: None,
                    },
                    Step::NeedVerify {
                        authcid,
                        authzid: None,
                        password: Secret::new(data.to_vec()),
                    },
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::auth::sasl::{Mechanism, SaslError, SaslServer, Step};

    #[test]
    fn full_exchange() {
        let (mut server, step) = SaslServer::start(Mechanism::Login, None, "mx");
        assert!(matches!(step, Step::Challenge(ref c) if c == b"Username:"));
        let step = server.respond(b"tim@example.org");
        assert!(matches!(step, Step::Challenge(ref c) if c == b"Password:"));
        match server.respond(b"tanstaaftanstaaf") {
            Step::NeedVerify {
                authcid,
                authzid: None,
                password,
            } => {
                assert_eq!(authcid, "tim@example.org");
                assert_eq!(password.expose(), b"tanstaaftanstaaf");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            server.verified(true),
            Step::Success { ref authcid, authzid: None } if authcid == "tim@example.org"
        ));
    }

    #[test]
    fn initial_response_is_the_username_and_wrong_password_fails() {
        let (mut server, step) = SaslServer::start(Mechanism::Login, Some(b"tim".to_vec()), "mx");
        assert!(matches!(step, Step::Challenge(ref c) if c == b"Password:"));
        assert!(matches!(
            server.respond(b"\xe9t\xe9"),
            Step::NeedVerify { ref authcid, .. } if authcid == "tim"
        ));
        assert!(matches!(
            server.verified(false),
            Step::Failure(SaslError::AuthFailed)
        ));
    }

    #[test]
    fn malformed_inputs_fail() {
        let (_, step) = SaslServer::start(Mechanism::Login, Some(Vec::new()), "mx");
        assert!(matches!(step, Step::Failure(SaslError::Malformed(_))));
        let (mut server, _) = SaslServer::start(Mechanism::Login, None, "mx");
        assert!(matches!(
            server.respond(b"a\0b"),
            Step::Failure(SaslError::Malformed(_))
        ));
        for bad in [&b""[..], b"p\0w", &[b'p'; 1025]] {
            let (mut server, _) = SaslServer::start(Mechanism::Login, Some(b"tim".to_vec()), "mx");
            assert!(matches!(server.respond(bad), Step::Failure(_)), "{bad:?}");
        }
    }
}
