//! Not-authenticated state: CAPABILITY contents, STARTTLS, LOGIN, AUTHENTICATE (RFC 3501 §6.2,
//! RFC 4959 SASL-IR), and ENABLE (RFC 5161) once logged in.

use super::driver::{Driver, Next, SessionState};
use super::response::{Status, write_status};
use crate::auth::sasl::{self, ClientResponse, Mechanism, SaslError, SaslServer, Step};
use crate::auth::secret::Secret;
use crate::config::TlsMode;
use crate::runtime::login::Login;

/// Extensions advertised once logged in (and those that need no login, before).
const CAPABILITIES_ALWAYS: &str = "IMAP4rev1 IMAP4rev2 LITERAL+ SASL-IR ID ENABLE IDLE NAMESPACE";
const CAPABILITIES_AUTHENTICATED: &str = "UIDPLUS UNSELECT CHILDREN MOVE SPECIAL-USE CREATE-SPECIAL-USE \
     LIST-EXTENDED LIST-STATUS ESEARCH SEARCHRES MULTIAPPEND STATUS=SIZE CONDSTORE QRESYNC BINARY UTF8=ACCEPT \
     OBJECTID SAVEDATE QUOTA QUOTA=RES-STORAGE QUOTA=RES-MESSAGE COMPRESS=DEFLATE \
     SORT THREAD=ORDEREDSUBJECT THREAD=REFERENCES";

impl Driver {
    fn plaintext_allowed(&self) -> bool {
        let config = &self.shard.state.config;
        self.connection.is_tls()
            || (self.connection.peer().ip().is_loopback() && config.auth.plaintext_on_loopback)
    }

    fn mechanisms(&self) -> impl Iterator<Item = Mechanism> + '_ {
        let binding = self.connection.channel_binding();
        let plaintext = self.plaintext_allowed();
        self.shard
            .state
            .config
            .auth
            .mechanisms
            .iter()
            .copied()
            .filter(move |m| m.available_with(binding.as_ref()) && (plaintext || !m.is_plaintext()))
            .collect::<Vec<_>>()
            .into_iter()
    }

    /// The CAPABILITY list for the session's state (RFC 3501 §7.2.1).
    pub(super) fn capabilities(&self) -> String {
        let mut words = String::from(CAPABILITIES_ALWAYS);
        match self.state {
            SessionState::NotAuthenticated => {
                if self.listener.tls == TlsMode::Starttls && !self.connection.is_tls() {
                    words.push_str(" STARTTLS");
                }
                if !self.plaintext_allowed() {
                    words.push_str(" LOGINDISABLED");
                }
                for mechanism in self.mechanisms() {
                    words.push_str(" AUTH=");
                    words.push_str(mechanism.name());
                }
            }
            _ => {
                words.push(' ');
                words.push_str(CAPABILITIES_AUTHENTICATED);
                words.push_str(&format!(
                    " APPENDLIMIT={}",
                    postern_storage::limits::MESSAGE_OCTETS_MAX
                ));
            }
        }
        words
    }

    pub(super) async fn starttls(&mut self, tag: &str) -> Next {
        if !matches!(self.state, SessionState::NotAuthenticated) {
            self.bad_in_state(tag, "Already logged in");
            return Next::Continue;
        }
        if self.listener.tls != TlsMode::Starttls || self.connection.is_tls() {
            self.bad_in_state(tag, "STARTTLS not available");
            return Next::Continue;
        }
        self.ok(tag, "Begin TLS negotiation now");
        if self.flush().await.is_err() {
            return Next::Close;
        }
        // RFC 3501 §6.2.1: anything the client pipelined after STARTTLS is dropped.
        self.input.clear();
        self.framer = super::framer::Framer::new();
        let tls = self.shard.state.tls_for(&self.listener);
        if self.connection.start_tls(tls).await.is_err() {
            return Next::Close;
        }
        Next::Continue
    }

    pub(super) async fn login(&mut self, tag: &str, user: String, password: Secret) -> Next {
        if !matches!(self.state, SessionState::NotAuthenticated) {
            self.bad_in_state(tag, "Already logged in");
            return Next::Continue;
        }
        if !self.plaintext_allowed() {
            // RFC 3501 §6.2.3: LOGINDISABLED is advertised; refuse before checking anything.
            self.no(tag, Some("PRIVACYREQUIRED"), "Plaintext login requires TLS");
            return Next::Continue;
        }
        let ip = self.connection.peer().ip();
        match self.shard.login(ip, &user, password).await {
            Login::Accepted(address) => self.authenticated(address, tag).await,
            Login::Rejected => {
                self.no(tag, Some("AUTHENTICATIONFAILED"), "Authentication failed");
                Next::Continue
            }
            Login::Throttled => {
                self.no(
                    tag,
                    Some("UNAVAILABLE"),
                    "Too many failed logins, try later",
                );
                Next::Continue
            }
        }
    }

    pub(super) async fn authenticate(
        &mut self,
        tag: &str,
        name: &str,
        initial_response: Option<Secret>,
    ) -> Next {
        if !matches!(self.state, SessionState::NotAuthenticated) {
            self.bad_in_state(tag, "Already logged in");
            return Next::Continue;
        }
        let offered = Mechanism::parse(name).filter(|m| self.mechanisms().any(|o| o == *m));
        let Some(mechanism) = offered else {
            let plaintext_refused = Mechanism::parse(name).is_some_and(Mechanism::is_plaintext)
                && !self.plaintext_allowed();
            if plaintext_refused {
                self.no(
                    tag,
                    Some("PRIVACYREQUIRED"),
                    "Plaintext authentication requires TLS",
                );
            } else {
                self.no(tag, None, "Unsupported authentication mechanism");
            }
            return Next::Continue;
        };
        // The grammar decoded the SASL-IR response already (RFC 4959 §7: "=" is empty).
        let initial = initial_response.map(|r| r.expose().to_vec());
        let binding = sasl::binding_for_exchange(
            self.mechanisms(),
            self.connection.channel_binding().as_ref(),
        );
        let hostname = self.shard.state.config.hostname.clone();
        let (mut server, mut step) =
            SaslServer::start_bound(mechanism, initial, &hostname, binding);
        let ip = self.connection.peer().ip();
        loop {
            step = match step {
                Step::Challenge(challenge) => {
                    let line = format!("+ {}\r\n", sasl::encode_challenge(&challenge));
                    self.out.extend_from_slice(line.as_bytes());
                    let line = match self.read_line().await {
                        Err(_) => return Next::Close,
                        Ok(None) => {
                            self.bad_in_state(tag, "Authentication response too long");
                            return Next::Continue;
                        }
                        Ok(Some(line)) => line,
                    };
                    match sasl::decode_response(&line) {
                        Ok(ClientResponse::Data(data)) => server.respond(&data),
                        Ok(ClientResponse::Cancel) => server.cancel(),
                        Err(error) => Step::Failure(error),
                    }
                }
                Step::NeedVerify {
                    authcid, password, ..
                } => {
                    let ok = matches!(
                        self.shard.login(ip, &authcid, password).await,
                        Login::Accepted(_)
                    );
                    server.verified(ok)
                }
                Step::NeedCredentials { authcid } => {
                    let credentials = self.shard.credentials(ip, &authcid).await;
                    self.shard.count_login_attempt(ip);
                    server.provide_credentials(credentials.map(|(_, c)| c).unwrap_or_default())
                }
                Step::Success { authcid, authzid } => {
                    // Acting as another user is not supported (no admin impersonation).
                    if authzid.as_ref().is_some_and(|authzid| *authzid != authcid) {
                        self.no(
                            tag,
                            Some("AUTHORIZATIONFAILED"),
                            "Not authorized to act as another user",
                        );
                        return Next::Continue;
                    }
                    self.shard.record_login(ip, true).await;
                    let Ok(address) = crate::accounts::normalise_address(&authcid) else {
                        self.no(tag, Some("AUTHENTICATIONFAILED"), "Authentication failed");
                        return Next::Continue;
                    };
                    return self.authenticated(address, tag).await;
                }
                Step::Failure(error) => {
                    self.sasl_failed(tag, error);
                    return Next::Continue;
                }
            };
        }
    }

    fn sasl_failed(&mut self, tag: &str, error: SaslError) {
        match error {
            // RFC 3501 §6.2.2: a cancelled exchange gets a tagged BAD.
            SaslError::Cancelled => self.bad_in_state(tag, "Authentication cancelled"),
            SaslError::AuthFailed | SaslError::MechanismUnavailable => {
                self.no(tag, Some("AUTHENTICATIONFAILED"), "Authentication failed")
            }
            SaslError::Malformed(_) | SaslError::TooLong => {
                self.bad_in_state(tag, "Malformed authentication exchange")
            }
            SaslError::RandomSource | SaslError::OutOfSequence => {
                write_status(
                    &mut self.out,
                    tag,
                    Status::No,
                    Some("UNAVAILABLE"),
                    "Authentication unavailable",
                );
            }
        }
    }

    /// RFC 5161 ENABLE: only what is implemented; the response lists what was newly enabled.
    pub(super) fn enable(&mut self, tag: &str, names: &[String]) {
        let (SessionState::Authenticated(account) | SessionState::Selected(account, _)) =
            &mut self.state
        else {
            self.bad_in_state(tag, "Log in first");
            return;
        };
        let mut enabled = Vec::new();
        for name in names {
            let upper = name.to_ascii_uppercase();
            let flag = match upper.as_str() {
                "CONDSTORE" => &mut account.enabled.condstore,
                "QRESYNC" => &mut account.enabled.qresync,
                "UTF8=ACCEPT" => &mut account.enabled.utf8,
                "IMAP4REV2" => &mut account.enabled.imap4rev2,
                _ => continue,
            };
            if !*flag {
                *flag = true;
                enabled.push(upper);
            }
            // RFC 7162 §3.2.3: QRESYNC implies CONDSTORE; IMAP4rev2 names are UTF-8.
            account.enabled.condstore |= account.enabled.qresync;
            account.enabled.utf8 |= account.enabled.imap4rev2;
        }
        let mut line = String::from("* ENABLED");
        for name in &enabled {
            line.push(' ');
            line.push_str(name);
        }
        line.push_str("\r\n");
        self.out.extend_from_slice(line.as_bytes());
        self.ok(tag, "ENABLE completed");
    }
}
