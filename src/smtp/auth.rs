//! AUTH (RFC 4954) over the shared SASL server.

use super::event::Event;
use super::reply;
use super::session::{Phase, Session};
use crate::auth::sasl::{
    self, ClientResponse, Credentials, Mechanism, SaslError, SaslServer, Step,
};

impl Session {
    /// The mechanisms EHLO advertises: PLAIN and LOGIN only under TLS or where plaintext
    /// authentication is allowed (RFC 4954 §4, RFC 8314).
    pub(super) fn offered_mechanisms(&self) -> Vec<Mechanism> {
        let plaintext_ok = self.tls_active || self.config.plaintext_auth_allowed;
        self.config
            .auth_mechanisms
            .iter()
            .copied()
            .filter(|mechanism| plaintext_ok || !mechanism.is_plaintext())
            .filter(|m| m.available_with(self.config.channel_binding.as_ref()))
            .collect()
    }

    /// Set by the driver once TLS is up (TLS 1.3 exporter), before any AUTH.
    pub fn set_channel_binding(&mut self, binding: Option<sasl::ChannelBinding>) {
        self.config.channel_binding = binding;
    }

    pub(super) fn auth(&mut self, arguments: &str, out: &mut Vec<u8>) -> Option<Event> {
        if self.config.auth_mechanisms.is_empty() {
            return self.reject(out, 502, "5.5.1", "AUTH not available");
        }
        // RFC 4954 §4: AUTH after EHLO, once, and not during a mail transaction.
        if !self
            .greeting
            .as_ref()
            .is_some_and(|greeting| greeting.extended)
        {
            return self.reject(out, 503, "5.5.1", "Send EHLO first");
        }
        if self.user.is_some() {
            return self.reject(out, 503, "5.5.1", "Already authenticated");
        }
        if self.transaction.is_some() {
            return self.reject(
                out,
                503,
                "5.5.1",
                "AUTH not allowed during a mail transaction",
            );
        }
        let (name, initial) = match arguments.split_once(' ') {
            Some((name, initial)) => (name, Some(initial)),
            None => (arguments, None),
        };
        if name.is_empty() {
            return self.reject(
                out,
                501,
                "5.5.4",
                "Syntax: AUTH mechanism [initial-response]",
            );
        }
        let Some(mechanism) =
            // Configured, and bindable if -PLUS; PLAIN/LOGIN without TLS get 538 below.
            Mechanism::parse(name).filter(|m| {
                self.config.auth_mechanisms.contains(m)
                    && m.available_with(self.config.channel_binding.as_ref())
            })
        else {
            return self.reject(out, 504, "5.5.4", "Unrecognized authentication type");
        };
        if mechanism.is_plaintext() && !self.tls_active && !self.config.plaintext_auth_allowed {
            return self.reject(
                out,
                538,
                "5.7.11",
                "Encryption required for requested authentication mechanism",
            );
        }
        let initial = match initial.map(|text| sasl::decode_initial_response(text.as_bytes())) {
            None => None,
            Some(Ok(ClientResponse::Data(data))) => Some(data),
            Some(Ok(ClientResponse::Cancel)) | Some(Err(_)) => {
                // RFC 4954 §4: an undecodable response gets 501 5.5.2.
                return self.reject(out, 501, "5.5.2", "Invalid base64 in initial response");
            }
        };
        let hostname = self.config.hostname.clone();
        let (server, step) = self.start_sasl(mechanism, initial, &hostname);
        self.sasl_step(Box::new(server), step, out)
    }

    #[cfg(not(test))]
    fn start_sasl(
        &self,
        mechanism: Mechanism,
        initial: Option<Vec<u8>>,
        hostname: &str,
    ) -> (SaslServer, Step) {
        SaslServer::start_bound(mechanism, initial, hostname, self.offered_binding())
    }

    fn offered_binding(&self) -> Option<sasl::ChannelBinding> {
        sasl::binding_for_exchange(
            self.offered_mechanisms().into_iter(),
            self.config.channel_binding.as_ref(),
        )
    }

    #[cfg(test)]
    fn start_sasl(
        &self,
        mechanism: Mechanism,
        initial: Option<Vec<u8>>,
        hostname: &str,
    ) -> (SaslServer, Step) {
        match self.sasl_nonce {
            Some(nonce) => SaslServer::start_with_fixed_nonce(mechanism, initial, hostname, nonce),
            None => SaslServer::start_bound(mechanism, initial, hostname, self.offered_binding()),
        }
    }

    /// A client line during the exchange.
    pub(super) fn auth_response(&mut self, line: &str, out: &mut Vec<u8>) -> Option<Event> {
        let Phase::AuthResponse(mut server) = std::mem::replace(&mut self.phase, Phase::Command)
        else {
            unreachable!("auth_response runs in the AUTH phase");
        };
        let step = match sasl::decode_response(line.as_bytes()) {
            Ok(ClientResponse::Cancel) => server.cancel(),
            Ok(ClientResponse::Data(data)) => server.respond(&data),
            Err(error) => Step::Failure(error),
        };
        self.sasl_step(server, step, out)
    }

    /// Answers [`Event::VerifyPassword`].
    pub fn password_verified(&mut self, ok: bool, out: &mut Vec<u8>) {
        let Phase::AwaitPassword(mut server) = std::mem::replace(&mut self.phase, Phase::Command)
        else {
            panic!("driver bug: password_verified() without Event::VerifyPassword");
        };
        let step = server.verified(ok);
        let event = self.sasl_step(server, step, out);
        self.queue(event);
    }

    /// Answers [`Event::Credentials`]; `None` for an unknown account (it fails like a wrong
    /// password, after the same exchange).
    pub fn credentials(&mut self, credentials: Option<Credentials>, out: &mut Vec<u8>) {
        let Phase::AwaitCredentials(mut server) =
            std::mem::replace(&mut self.phase, Phase::Command)
        else {
            panic!("driver bug: credentials() without Event::Credentials");
        };
        let step = server.provide_credentials(credentials.unwrap_or_default());
        let event = self.sasl_step(server, step, out);
        self.queue(event);
    }

    fn sasl_step(
        &mut self,
        server: Box<SaslServer>,
        step: Step,
        out: &mut Vec<u8>,
    ) -> Option<Event> {
        match step {
            Step::Challenge(challenge) => {
                reply::write_challenge(out, &sasl::encode_challenge(&challenge));
                self.phase = Phase::AuthResponse(server);
                None
            }
            Step::NeedVerify {
                authcid, password, ..
            } => {
                // The authzid stays inside the SASL server and comes back with Success.
                self.phase = Phase::AwaitPassword(server);
                Some(Event::VerifyPassword {
                    user: authcid,
                    password,
                })
            }
            Step::NeedCredentials { authcid } => {
                self.phase = Phase::AwaitCredentials(server);
                Some(Event::Credentials { user: authcid })
            }
            // Acting as someone else is not supported: an authzid must name the same user.
            Step::Success {
                authcid,
                authzid: Some(authzid),
            } if authzid != authcid => self.auth_failed(SaslError::AuthFailed, out),
            Step::Success { authcid, .. } => {
                reply::write(out, 235, "2.7.0", "Authentication successful");
                self.user = Some(authcid.clone());
                Some(Event::Authenticated { user: authcid })
            }
            Step::Failure(error) => self.auth_failed(error, out),
        }
    }

    fn auth_failed(&mut self, error: SaslError, out: &mut Vec<u8>) -> Option<Event> {
        self.phase = Phase::Command;
        match error {
            // RFC 4954 §4: a cancelled exchange gets 501.
            SaslError::Cancelled => self.reject(out, 501, "5.7.0", "Authentication cancelled"),
            SaslError::Malformed(_) => {
                self.reject(out, 501, "5.5.2", "Malformed authentication response")
            }
            SaslError::TooLong => self.reject(
                out,
                500,
                "5.5.6",
                "Authentication exchange line is too long",
            ),
            SaslError::AuthFailed | SaslError::MechanismUnavailable => {
                let close = self.reject(out, 535, "5.7.8", "Authentication credentials invalid");
                close.or(Some(Event::AuthFailed))
            }
            // Ours, not the client's: RFC 4954 §6 454 4.7.0 temporary failure.
            SaslError::RandomSource | SaslError::OutOfSequence => {
                reply::write(out, 454, "4.7.0", "Temporary authentication failure");
                None
            }
        }
    }
}
