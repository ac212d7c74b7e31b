//! The AUTHORIZATION state (RFC 1939 §4): USER/PASS, APOP, AUTH (RFC 5034), STLS (RFC 2595).

use md5::{Digest, Md5};
use subtle::ConstantTimeEq;

use super::capability;
use super::command::Command;
use super::reply;
use super::session::{Action, Context, State, Transition};
use crate::auth::password;
use crate::auth::sasl::{
    self, ClientResponse, Credentials, Mechanism, SaslError, SaslServer, Step,
};
use crate::auth::secret::Secret;

const WRONG_STATE: &str = "-ERR command not valid in AUTHORIZATION state";
/// RFC 2449 §8 with RFC 3206's AUTH code: the credentials, not the server, are at fault.
const AUTH_FAILED: &str = "-ERR [AUTH] authentication failed";

/// Proof that the client authenticated as `user`. Only this module makes one, and only after a
/// successful PASS, APOP or AUTH; a maildrop can be opened only with one.
#[derive(Debug)]
pub(super) struct Authenticated {
    user: String,
}

impl Authenticated {
    pub(super) fn into_user(self) -> String {
        self.user
    }
}

/// Where the AUTHORIZATION state stands. Variants other than `Ready` and `Sasl` waiting for a
/// client line wait for the driver.
pub(super) enum Authorization {
    /// `user` is set after a successful USER.
    Ready { user: Option<String> },
    /// PASS sent; the driver verifies it.
    CheckingPassword { user: String },
    /// APOP sent; the driver looks up the account's secret.
    CheckingApop { user: String, digest: [u8; 16] },
    /// An AUTH exchange is under way.
    Sasl {
        server: SaslServer,
        awaiting: Awaiting,
    },
    /// STLS accepted; the driver runs the handshake.
    StartingTls,
}

/// What an AUTH exchange waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Awaiting {
    ClientLine,
    Verification,
    Credentials,
}

impl Authorization {
    pub(super) fn new() -> Authorization {
        Authorization::Ready { user: None }
    }

    pub(super) fn is_waiting(&self) -> bool {
        !matches!(
            self,
            Authorization::Ready { .. }
                | Authorization::Sasl {
                    awaiting: Awaiting::ClientLine,
                    ..
                }
        )
    }

    /// The next line is a SASL response, not a command.
    pub(super) fn expects_sasl_line(&self) -> bool {
        matches!(
            self,
            Authorization::Sasl {
                awaiting: Awaiting::ClientLine,
                ..
            }
        )
    }

    /// An over-long line ended an AUTH exchange (the error is already written).
    pub(super) fn abandon_sasl(self) -> Authorization {
        match self {
            Authorization::Sasl { .. } => Authorization::new(),
            other => other,
        }
    }

    pub(super) fn command(
        self,
        command: Command<'_>,
        context: &mut Context,
        out: &mut Vec<u8>,
    ) -> Transition {
        let Authorization::Ready { user } = self else {
            unreachable!("commands are read only in the Ready state");
        };
        let config = &context.config;
        match command {
            Command::Capa => {
                capability::write_capabilities(config, true, out);
                ready(user)
            }
            Command::Quit => {
                // RFC 1939 §6: QUIT in AUTHORIZATION ends the session without UPDATE.
                reply::line(out, format_args!("+OK POP3 server signing off"));
                (State::Closed, Some(Action::Close))
            }
            Command::User(name) => {
                if !config.plaintext_auth_allowed {
                    context.refuse(out, "-ERR plaintext authentication requires TLS");
                    return ready(None);
                }
                if !is_identity(name) {
                    context.refuse(out, "-ERR invalid user name");
                    return ready(None);
                }
                // RFC 1939 §7: the reply does not say whether the mailbox exists.
                reply::line(out, format_args!("+OK send PASS"));
                ready(Some(name.to_owned()))
            }
            Command::Pass(password) => match user {
                // USER succeeds only when plaintext is allowed, and STLS forgets it.
                Some(user) => {
                    let password = Secret::new(password.to_vec());
                    let action = Action::VerifyPassword {
                        user: user.clone(),
                        password,
                    };
                    (
                        State::Authorization(Authorization::CheckingPassword { user }),
                        Some(action),
                    )
                }
                None => {
                    context.refuse(out, "-ERR PASS must follow a successful USER");
                    ready(None)
                }
            },
            Command::Apop { name, digest } => {
                if !context.config.apop {
                    context.refuse(out, "-ERR APOP is not enabled on this server");
                    return ready(None);
                }
                // APOP sends no password, so it is allowed without TLS.
                if !is_identity(name) {
                    context.refuse(out, "-ERR invalid user name");
                    return ready(None);
                }
                let user = name.to_owned();
                let action = Action::Credentials { user: user.clone() };
                (
                    State::Authorization(Authorization::CheckingApop { user, digest }),
                    Some(action),
                )
            }
            Command::Auth {
                mechanism: None, ..
            } => {
                capability::write_mechanism_list(config, out);
                ready(user)
            }
            Command::Auth {
                mechanism: Some(name),
                initial_response,
            } => start_sasl(name, initial_response, context, out),
            Command::Stls => {
                if config.tls_active {
                    context.refuse(out, "-ERR command not permitted when TLS active");
                    ready(user)
                } else if !config.starttls_available {
                    context.refuse(out, "-ERR STLS not available");
                    ready(user)
                } else {
                    // RFC 2595 §4: the handshake starts right after this line's CRLF.
                    reply::line(out, format_args!("+OK begin TLS negotiation"));
                    (
                        State::Authorization(Authorization::StartingTls),
                        Some(Action::StartTls),
                    )
                }
            }
            Command::Stat
            | Command::List(_)
            | Command::Retr(_)
            | Command::Dele(_)
            | Command::Noop
            | Command::Rset
            | Command::Top { .. }
            | Command::Uidl(_) => {
                context.refuse(out, WRONG_STATE);
                ready(user)
            }
        }
    }

    /// A client line during an AUTH exchange (RFC 5034 §4).
    pub(super) fn sasl_line(
        self,
        line: &[u8],
        context: &mut Context,
        out: &mut Vec<u8>,
    ) -> Transition {
        let Authorization::Sasl {
            mut server,
            awaiting: Awaiting::ClientLine,
        } = self
        else {
            unreachable!("SASL lines are read only while the exchange awaits one");
        };
        let step = match sasl::decode_response(line) {
            Ok(ClientResponse::Cancel) => server.cancel(),
            Ok(ClientResponse::Data(data)) => {
                // The response may hold a password: wipe it once used.
                let data = Secret::new(data);
                server.respond(data.expose())
            }
            // RFC 5034 §4: a response that is not base64 fails the AUTH command.
            Err(_) => {
                context.refuse(out, "-ERR invalid base64 in authentication response");
                return ready(None);
            }
        };
        sasl_step(server, step, context, out)
    }

    pub(super) fn password_verified(
        self,
        ok: bool,
        context: &mut Context,
        out: &mut Vec<u8>,
    ) -> Transition {
        match self {
            Authorization::CheckingPassword { user } if ok => authenticated(user),
            Authorization::CheckingPassword { .. } => {
                context.refuse(out, AUTH_FAILED);
                ready(None)
            }
            Authorization::Sasl {
                mut server,
                awaiting: Awaiting::Verification,
            } => {
                let step = server.verified(ok);
                sasl_step(server, step, context, out)
            }
            other => {
                debug_assert!(false, "password_verified without VerifyPassword");
                (State::Authorization(other), None)
            }
        }
    }

    pub(super) fn credentials(
        self,
        credentials: Credentials,
        context: &mut Context,
        out: &mut Vec<u8>,
    ) -> Transition {
        match self {
            Authorization::CheckingApop { user, digest } => {
                if apop_matches(&context.apop_timestamp, &credentials, &digest) {
                    authenticated(user)
                } else {
                    context.refuse(out, AUTH_FAILED);
                    ready(None)
                }
            }
            Authorization::Sasl {
                mut server,
                awaiting: Awaiting::Credentials,
            } => {
                let step = server.provide_credentials(credentials);
                sasl_step(server, step, context, out)
            }
            other => {
                debug_assert!(false, "credentials without Credentials");
                (State::Authorization(other), None)
            }
        }
    }

    /// RFC 2595 §4: after the handshake the client starts over; so do we (a USER given before
    /// STLS is forgotten). Plaintext passwords are now protected.
    pub(super) fn tls_started(self, context: &mut Context) -> Transition {
        debug_assert!(matches!(self, Authorization::StartingTls));
        context.config.tls_active = true;
        context.config.plaintext_auth_allowed = true;
        ready(None)
    }
}

fn ready(user: Option<String>) -> Transition {
    (State::Authorization(Authorization::Ready { user }), None)
}

fn authenticated(user: String) -> Transition {
    let action = Action::OpenMaildrop { user: user.clone() };
    (State::Opening(Authenticated { user }), Some(action))
}

/// A user name: what `sasl` accepts as an identity (no control characters, bounded).
fn is_identity(name: &str) -> bool {
    !name.is_empty() && name.len() <= sasl::IDENTITY_OCTETS_MAX
}

/// `AUTH mechanism [initial-response]` (RFC 5034 §4).
fn start_sasl(
    name: &str,
    initial_response: Option<&[u8]>,
    context: &mut Context,
    out: &mut Vec<u8>,
) -> Transition {
    // Configured, and bindable if it is -PLUS; PLAIN/LOGIN without TLS get their own answer.
    let config = &context.config;
    let offered = Mechanism::parse(name).filter(|m| {
        config.mechanisms.contains(m) && m.available_with(config.channel_binding.as_ref())
    });
    let Some(mechanism) = offered else {
        context.refuse(out, "-ERR unsupported authentication mechanism");
        return ready(None);
    };
    if mechanism.is_plaintext() && !context.config.plaintext_auth_allowed {
        context.refuse(out, "-ERR plaintext authentication requires TLS");
        return ready(None);
    }
    let initial_response = match initial_response.map(sasl::decode_initial_response) {
        None => None,
        Some(Ok(ClientResponse::Data(data))) => Some(data),
        Some(Ok(ClientResponse::Cancel) | Err(_)) => {
            context.refuse(out, "-ERR invalid base64 in initial response");
            return ready(None);
        }
    };
    let hostname = &context.config.hostname;
    #[cfg(test)]
    if let Some(nonce) = &context.sasl_nonce {
        let (server, step) =
            SaslServer::start_with_fixed_nonce(mechanism, initial_response, hostname, nonce);
        return sasl_step(server, step, context, out);
    }
    let binding = sasl::binding_for_exchange(
        super::capability::mechanisms(&context.config),
        context.config.channel_binding.as_ref(),
    );
    let (server, step) = SaslServer::start_bound(mechanism, initial_response, hostname, binding);
    sasl_step(server, step, context, out)
}

/// Turns the SASL server's next step into a reply, an action, or both.
fn sasl_step(
    server: SaslServer,
    step: Step,
    context: &mut Context,
    out: &mut Vec<u8>,
) -> Transition {
    let sasl = |server, awaiting| State::Authorization(Authorization::Sasl { server, awaiting });
    match step {
        Step::Challenge(challenge) => {
            // RFC 5034 §4: "+" SP base64; an empty challenge is "+ " alone.
            reply::line(
                out,
                format_args!("+ {}", sasl::encode_challenge(&challenge)),
            );
            (sasl(server, Awaiting::ClientLine), None)
        }
        Step::NeedVerify {
            authcid, password, ..
        } => (
            sasl(server, Awaiting::Verification),
            Some(Action::VerifyPassword {
                user: authcid,
                password,
            }),
        ),
        Step::NeedCredentials { authcid } => (
            sasl(server, Awaiting::Credentials),
            Some(Action::Credentials { user: authcid }),
        ),
        // The maildrop is INBOX of the authenticated user: acting as someone else is refused.
        Step::Success {
            authcid, authzid, ..
        } if authzid.as_ref().is_none_or(|authzid| *authzid == authcid) => authenticated(authcid),
        Step::Success { .. } => {
            context.refuse(out, "-ERR [AUTH] not authorized to act as another user");
            ready(None)
        }
        Step::Failure(error) => {
            match error {
                SaslError::Cancelled => context.refuse(out, "-ERR authentication cancelled"),
                SaslError::AuthFailed | SaslError::MechanismUnavailable => {
                    context.refuse(out, AUTH_FAILED)
                }
                SaslError::Malformed(_) | SaslError::TooLong => {
                    context.refuse(out, "-ERR malformed authentication exchange")
                }
                SaslError::RandomSource | SaslError::OutOfSequence => {
                    debug_assert!(
                        error != SaslError::OutOfSequence,
                        "SASL driven out of order"
                    );
                    reply::line(
                        out,
                        format_args!("-ERR [SYS/TEMP] authentication unavailable"),
                    );
                }
            }
            ready(None)
        }
    }
}

/// RFC 1939 §7: digest = MD5(timestamp || secret). The secret must be stored as `{PLAIN}`
/// (crate::auth docs); for any other account, and for unknown users, APOP fails like a wrong
/// digest.
fn apop_matches(timestamp: &str, credentials: &Credentials, digest: &[u8; 16]) -> bool {
    let Some(secret) = credentials
        .stored_password
        .as_deref()
        .and_then(password::plaintext)
    else {
        return false;
    };
    let expected = Md5::new()
        .chain_update(timestamp.as_bytes())
        .chain_update(secret.as_bytes())
        .finalize();
    bool::from(expected.as_slice().ct_eq(digest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc1939_apop_example() {
        let credentials = Credentials {
            stored_password: Some("{PLAIN}tanstaaf".into()),
            scram: None,
        };
        let digest = *b"\xc4\xc9\x33\x4b\xac\x56\x0e\xcc\x97\x9e\x58\x00\x1b\x3e\x22\xfb";
        let timestamp = "<1896.697170952@dbc.mtview.ca.us>";
        assert!(apop_matches(timestamp, &credentials, &digest));
        assert!(!apop_matches(
            "<1896.697170953@dbc.mtview.ca.us>",
            &credentials,
            &digest
        ));
        assert!(!apop_matches(timestamp, &Credentials::default(), &digest));
        let hashed = Credentials {
            stored_password: Some("{SHA512-CRYPT}$6$x$y".into()),
            scram: None,
        };
        assert!(!apop_matches(timestamp, &hashed, &digest));
    }
}
