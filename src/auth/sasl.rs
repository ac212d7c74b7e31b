//! A sans-IO SASL server (RFC 4422) shared by SMTP AUTH, IMAP AUTHENTICATE and POP3 AUTH.
//!
//! The protocol layer frames lines and base64 ([`decode_response`], [`encode_challenge`]) and
//! drives a [`SaslServer`]: every call returns the next [`Step`]. Account lookups and password
//! hashing are the caller's (they touch the directory or cost CPU); the server asks for them with
//! [`Step::NeedCredentials`] and [`Step::NeedVerify`] and keeps everything else.

mod cram_md5;
mod login;
mod plain;
mod scram;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;

use super::scram::ScramKeys;
use super::secret::Secret;

/// Largest decoded client response we accept (RFC 4954 §4 leaves the limit to the server).
pub const RESPONSE_OCTETS_MAX: usize = 12_288;
/// The base64 text of a [`RESPONSE_OCTETS_MAX`] response, padded.
pub const RESPONSE_BASE64_OCTETS_MAX: usize = RESPONSE_OCTETS_MAX.div_ceil(3) * 4;
/// Longest authentication or authorization identity (an address is at most 254 octets).
pub const IDENTITY_OCTETS_MAX: usize = 512;
/// Longest password PLAIN and LOGIN accept; RFC 4616 §2 requires at least 255.
pub const PASSWORD_OCTETS_MAX: usize = 1024;

const _: () = assert!(2 * IDENTITY_OCTETS_MAX + PASSWORD_OCTETS_MAX + 2 <= RESPONSE_OCTETS_MAX);
const _: () = assert!(IDENTITY_OCTETS_MAX >= 255 && PASSWORD_OCTETS_MAX >= 255);

/// Why an exchange failed, by who is at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SaslError {
    /// The client sent `*` (RFC 4422 §3.5 abort).
    #[error("authentication cancelled by the client")]
    Cancelled,
    /// The peer broke the mechanism's or the protocol's syntax.
    #[error("malformed SASL message: {0}")]
    Malformed(&'static str),
    /// Wrong credentials or unknown user: one variant, so replies cannot tell them apart.
    #[error("authentication failed")]
    AuthFailed,
    /// The account exists but cannot use this mechanism (e.g. CRAM-MD5 without a `{PLAIN}`
    /// password). Protocols still answer it as an authentication failure.
    #[error("mechanism unavailable for this account")]
    MechanismUnavailable,
    /// A response exceeded a size limit.
    #[error("SASL response too long")]
    TooLong,
    /// The OS random number generator failed (operating error, not the peer's).
    #[error("OS random number generator failed")]
    RandomSource,
    /// The caller drove the server out of order (a bug in the protocol layer).
    #[error("SASL server driven out of sequence")]
    OutOfSequence,
}

/// One client line, decoded.
#[derive(Debug, PartialEq, Eq)]
pub enum ClientResponse {
    Data(Vec<u8>),
    /// `*`: the client aborts the exchange.
    Cancel,
}

/// Decodes a client response line (without its CRLF) sent after a challenge: `*` cancels, an
/// empty line is empty data, anything else must be canonical base64 with no whitespace.
pub fn decode_response(line: &[u8]) -> Result<ClientResponse, SaslError> {
    if line == b"*" {
        return Ok(ClientResponse::Cancel);
    }
    decode_base64(line).map(ClientResponse::Data)
}

/// Decodes an initial response given with the command (SMTP `AUTH PLAIN <ir>`, IMAP SASL-IR,
/// POP3 `AUTH PLAIN <ir>`): `=` stands for empty data (RFC 4954 §4, RFC 4959 §3, RFC 5034 §4),
/// otherwise strict base64. An empty argument is not an initial response and is refused.
pub fn decode_initial_response(argument: &[u8]) -> Result<ClientResponse, SaslError> {
    match argument {
        b"=" => Ok(ClientResponse::Data(Vec::new())),
        b"" => Err(SaslError::Malformed("empty initial response")),
        _ => decode_base64(argument).map(ClientResponse::Data),
    }
}

fn decode_base64(text: &[u8]) -> Result<Vec<u8>, SaslError> {
    if text.len() > RESPONSE_BASE64_OCTETS_MAX {
        return Err(SaslError::TooLong);
    }
    // The STANDARD engine demands canonical padding and rejects whitespace and stray bytes.
    BASE64
        .decode(text)
        .map_err(|_| SaslError::Malformed("invalid base64"))
}

/// Base64 of a server challenge, for the protocol's continuation line (`334 `, `+ `).
pub fn encode_challenge(challenge: &[u8]) -> String {
    BASE64.encode(challenge)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mechanism {
    Plain,
    Login,
    CramMd5,
    ScramSha256,
    /// SCRAM-SHA-256 with `tls-exporter` channel binding (RFC 7677, RFC 9266): offered only on
    /// TLS 1.3 connections, where the exporter is defined.
    ScramSha256Plus,
}

/// The channel-binding data of a TLS connection (RFC 5056), for SCRAM-SHA-256-PLUS. Given to
/// the SASL server only where -PLUS is advertised: a client flag "y" then means a downgrade.
#[derive(Clone)]
pub struct ChannelBinding {
    /// The RFC 5929/9266 type name, e.g. "tls-exporter".
    pub kind: &'static str,
    pub data: Vec<u8>,
}

impl std::fmt::Debug for ChannelBinding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ChannelBinding({})", self.kind)
    }
}

impl Mechanism {
    /// Every mechanism, strongest first (the order to advertise them in).
    pub const ALL: [Mechanism; 5] = [
        Mechanism::ScramSha256Plus,
        Mechanism::ScramSha256,
        Mechanism::CramMd5,
        Mechanism::Plain,
        Mechanism::Login,
    ];

    /// The IANA-registered name.
    pub fn name(self) -> &'static str {
        match self {
            Mechanism::Plain => "PLAIN",
            Mechanism::Login => "LOGIN",
            Mechanism::CramMd5 => "CRAM-MD5",
            Mechanism::ScramSha256 => "SCRAM-SHA-256",
            Mechanism::ScramSha256Plus => "SCRAM-SHA-256-PLUS",
        }
    }

    /// -PLUS mechanisms: offered only where the connection has channel-binding data.
    pub fn needs_channel_binding(self) -> bool {
        matches!(self, Mechanism::ScramSha256Plus)
    }

    /// Whether the mechanism can run on a connection with (or without) channel binding.
    pub fn available_with(self, binding: Option<&ChannelBinding>) -> bool {
        !self.needs_channel_binding() || binding.is_some()
    }

    /// RFC 4422 §3.1: mechanism names are matched case-insensitively.
    pub fn parse(name: &str) -> Option<Mechanism> {
        Mechanism::ALL
            .into_iter()
            .find(|mechanism| mechanism.name().eq_ignore_ascii_case(name))
    }

    /// PLAIN and LOGIN send the password in the clear: the protocol layer refuses them on
    /// unencrypted connections other than loopback.
    pub fn is_plaintext(self) -> bool {
        matches!(self, Mechanism::Plain | Mechanism::Login)
    }
}

/// The binding an exchange starts with: the connection's, but only where a -PLUS mechanism is
/// among those `offered`, so that a client's "y" flag there is refused as a downgrade
/// (RFC 5802 §6) and accepted elsewhere.
pub fn binding_for_exchange(
    mut offered: impl Iterator<Item = Mechanism>,
    binding: Option<&ChannelBinding>,
) -> Option<ChannelBinding> {
    let plus_offered = offered.any(|m| m.needs_channel_binding());
    binding.filter(|_| plus_offered).cloned()
}

/// What the caller found for an account. An unknown user is `Credentials::default()` (both
/// `None`) and fails exactly like a wrong password.
#[derive(Debug, Clone, Default)]
pub struct Credentials {
    /// The stored `{SCHEME}data` password, if any.
    pub stored_password: Option<String>,
    /// The account's SCRAM-SHA-256 keys, if any.
    pub scram: Option<ScramKeys>,
}

/// What the protocol layer does next.
#[derive(Debug)]
pub enum Step {
    /// Send these raw bytes (base64-encode them) and pass the client's reply to
    /// [`SaslServer::respond`].
    Challenge(Vec<u8>),
    /// PLAIN/LOGIN: run `verify_password` off the shard, then call [`SaslServer::verified`].
    NeedVerify {
        authcid: String,
        authzid: Option<String>,
        password: Secret,
    },
    /// CRAM-MD5/SCRAM: look the account up, then call [`SaslServer::provide_credentials`].
    NeedCredentials {
        authcid: String,
    },
    /// Authenticated as `authcid`. A present `authzid` is the identity the client asks to act
    /// as: the caller must check it is allowed (normally only when it equals `authcid`).
    Success {
        authcid: String,
        authzid: Option<String>,
    },
    Failure(SaslError),
}

/// One SASL exchange. Each mechanism is a state machine whose transitions consume the old state.
pub struct SaslServer {
    mechanism: Mechanism,
    state: State,
}

enum State {
    Plain,
    Login(login::Login),
    CramMd5(cram_md5::CramMd5),
    Scram(Box<scram::Scram>),
    AwaitVerify {
        authcid: String,
        authzid: Option<String>,
    },
    Done,
}

type Transition = (State, Step);

fn fail(error: SaslError) -> Transition {
    (State::Done, Step::Failure(error))
}

/// Where the per-exchange nonce comes from.
enum Nonce<'a> {
    Random,
    Fixed(&'a str),
}

impl SaslServer {
    /// Starts an exchange. `initial_response` is the decoded initial response, if the client
    /// sent one; `server_name` is our host name (CRAM-MD5 puts it in the challenge).
    pub fn start(
        mechanism: Mechanism,
        initial_response: Option<Vec<u8>>,
        server_name: &str,
    ) -> (SaslServer, Step) {
        Self::start_bound(mechanism, initial_response, server_name, None)
    }

    /// Like [`SaslServer::start`] on a connection that advertised SCRAM-SHA-256-PLUS with this
    /// channel binding.
    pub fn start_bound(
        mechanism: Mechanism,
        initial_response: Option<Vec<u8>>,
        server_name: &str,
        binding: Option<ChannelBinding>,
    ) -> (SaslServer, Step) {
        Self::start_inner(
            mechanism,
            initial_response,
            server_name,
            Nonce::Random,
            binding,
        )
    }

    /// Like [`SaslServer::start`] with a fixed nonce instead of a random one, for golden
    /// transcripts only: CRAM-MD5's challenge becomes `<nonce@server_name>` and SCRAM's server
    /// nonce is `nonce`. A fixed nonce in production would let an eavesdropper replay a login.
    ///
    /// # Panics
    /// If `nonce` is empty or holds anything but printable ASCII other than `,`, `<`, `>`, `@`.
    pub fn start_with_fixed_nonce(
        mechanism: Mechanism,
        initial_response: Option<Vec<u8>>,
        server_name: &str,
        nonce: &str,
    ) -> (SaslServer, Step) {
        assert!(
            !nonce.is_empty()
                && nonce
                    .bytes()
                    .all(|b| b.is_ascii_graphic() && !b",<>@".contains(&b)),
            "fixed nonce must be printable ASCII without , < > @"
        );
        Self::start_inner(
            mechanism,
            initial_response,
            server_name,
            Nonce::Fixed(nonce),
            None,
        )
    }

    fn start_inner(
        mechanism: Mechanism,
        initial_response: Option<Vec<u8>>,
        server_name: &str,
        nonce: Nonce<'_>,
        binding: Option<ChannelBinding>,
    ) -> (SaslServer, Step) {
        let (state, step) = match mechanism {
            Mechanism::Plain => plain::start(initial_response),
            Mechanism::Login => login::start(initial_response),
            Mechanism::CramMd5 => cram_md5::start(initial_response, server_name, nonce),
            Mechanism::ScramSha256 => scram::start(initial_response, nonce, false, binding),
            Mechanism::ScramSha256Plus if binding.is_some() => {
                scram::start(initial_response, nonce, true, binding)
            }
            Mechanism::ScramSha256Plus => fail(SaslError::MechanismUnavailable),
        };
        (SaslServer { mechanism, state }, step)
    }

    pub fn mechanism(&self) -> Mechanism {
        self.mechanism
    }

    /// Feeds the client's (decoded) response to the last [`Step::Challenge`].
    pub fn respond(&mut self, data: &[u8]) -> Step {
        self.transition(|state| match state {
            State::Plain => plain::message(data),
            State::Login(login) => login.respond(data),
            State::CramMd5(cram) => cram.respond(data),
            State::Scram(scram) => scram.respond(data),
            State::AwaitVerify { .. } | State::Done => fail(SaslError::OutOfSequence),
        })
    }

    /// Answers a [`Step::NeedCredentials`].
    pub fn provide_credentials(&mut self, credentials: Credentials) -> Step {
        self.transition(|state| match state {
            State::CramMd5(cram) => cram.provide_credentials(credentials),
            State::Scram(scram) => scram.provide_credentials(credentials),
            _ => fail(SaslError::OutOfSequence),
        })
    }

    /// Answers a [`Step::NeedVerify`] with the result of `verify_password`.
    pub fn verified(&mut self, ok: bool) -> Step {
        self.transition(|state| match state {
            State::AwaitVerify { authcid, authzid } if ok => {
                (State::Done, Step::Success { authcid, authzid })
            }
            State::AwaitVerify { .. } => fail(SaslError::AuthFailed),
            _ => fail(SaslError::OutOfSequence),
        })
    }

    /// The client sent `*`: ends the exchange.
    pub fn cancel(&mut self) -> Step {
        self.state = State::Done;
        Step::Failure(SaslError::Cancelled)
    }

    fn transition(&mut self, advance: impl FnOnce(State) -> Transition) -> Step {
        let (state, step) = advance(std::mem::replace(&mut self.state, State::Done));
        self.state = state;
        step
    }
}

/// An authentication or authorization identity: non-empty UTF-8 without control characters
/// (they would end up in logs and lookups), bounded.
fn identity(octets: &[u8]) -> Result<String, SaslError> {
    if octets.is_empty() {
        return Err(SaslError::Malformed("empty identity"));
    }
    if octets.len() > IDENTITY_OCTETS_MAX {
        return Err(SaslError::TooLong);
    }
    let text =
        std::str::from_utf8(octets).map_err(|_| SaslError::Malformed("identity is not UTF-8"))?;
    if text.chars().any(char::is_control) {
        return Err(SaslError::Malformed("control character in identity"));
    }
    Ok(text.to_owned())
}

fn random_bytes<const N: usize>() -> Result<[u8; N], SaslError> {
    let mut octets = [0u8; N];
    getrandom::getrandom(&mut octets).map_err(|_| SaslError::RandomSource)?;
    Ok(octets)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_response_lines() {
        assert_eq!(decode_response(b"*"), Ok(ClientResponse::Cancel));
        assert_eq!(decode_response(b""), Ok(ClientResponse::Data(Vec::new())));
        assert_eq!(
            decode_response(b"AHRpbQB0YW5zdGFhZnRhbnN0YWFm"),
            Ok(ClientResponse::Data(b"\0tim\0tanstaaftanstaaf".to_vec()))
        );
        for bad in [
            &b"="[..],
            b"AHRpbQ B0",
            b"AHRpbQB0\r\n",
            b"AHRpbQB0YW5zdGFhZnRhbnN0YWFm=",
            b"dGlt=",
            b"dGl",
            b"dGltAA=",
            b"**",
            b"\xff\xfe",
        ] {
            assert_eq!(
                decode_response(bad),
                Err(SaslError::Malformed("invalid base64")),
                "{bad:?}"
            );
        }
        let longest = encode_challenge(&vec![7u8; RESPONSE_OCTETS_MAX]);
        assert_eq!(longest.len(), RESPONSE_BASE64_OCTETS_MAX);
        assert!(matches!(
            decode_response(longest.as_bytes()),
            Ok(ClientResponse::Data(d)) if d.len() == RESPONSE_OCTETS_MAX
        ));
        let too_long = encode_challenge(&vec![7u8; RESPONSE_OCTETS_MAX + 1]);
        assert_eq!(
            decode_response(too_long.as_bytes()),
            Err(SaslError::TooLong)
        );
    }

    #[test]
    fn decode_initial_responses() {
        assert_eq!(
            decode_initial_response(b"="),
            Ok(ClientResponse::Data(Vec::new()))
        );
        assert_eq!(
            decode_initial_response(b"dGlt"),
            Ok(ClientResponse::Data(b"tim".to_vec()))
        );
        assert!(decode_initial_response(b"").is_err());
        assert!(decode_initial_response(b"*").is_err());
        assert!(decode_initial_response(b"==").is_err());
    }

    #[test]
    fn encode_challenges() {
        assert_eq!(encode_challenge(b""), "");
        assert_eq!(encode_challenge(b"Username:"), "VXNlcm5hbWU6");
    }

    #[test]
    fn mechanism_names() {
        for mechanism in Mechanism::ALL {
            assert_eq!(Mechanism::parse(mechanism.name()), Some(mechanism));
        }
        assert_eq!(Mechanism::parse("cram-md5"), Some(Mechanism::CramMd5));
        assert_eq!(
            Mechanism::parse("Scram-Sha-256"),
            Some(Mechanism::ScramSha256)
        );
        assert_eq!(
            Mechanism::parse("scram-sha-256-plus"),
            Some(Mechanism::ScramSha256Plus)
        );
        assert!(Mechanism::ScramSha256Plus.needs_channel_binding());
        assert_eq!(Mechanism::parse("GSSAPI"), None);
        assert!(Mechanism::Plain.is_plaintext() && Mechanism::Login.is_plaintext());
        assert!(!Mechanism::CramMd5.is_plaintext() && !Mechanism::ScramSha256.is_plaintext());
    }

    #[test]
    fn out_of_sequence_calls_fail() {
        let (mut server, _) = SaslServer::start(Mechanism::Plain, None, "mx.example");
        assert!(matches!(
            server.verified(true),
            Step::Failure(SaslError::OutOfSequence)
        ));
        // The failed call ended the exchange.
        assert!(matches!(
            server.respond(b"\0tim\0pw"),
            Step::Failure(SaslError::OutOfSequence)
        ));
        let (mut server, _) = SaslServer::start(Mechanism::Login, None, "mx.example");
        assert!(matches!(
            server.provide_credentials(Credentials::default()),
            Step::Failure(SaslError::OutOfSequence)
        ));
    }

    #[test]
    fn cancel_ends_the_exchange() {
        let (mut server, _) = SaslServer::start(Mechanism::ScramSha256, None, "mx.example");
        assert!(matches!(
            server.cancel(),
            Step::Failure(SaslError::Cancelled)
        ));
        assert!(matches!(
            server.respond(b"n,,n=user,r=abc"),
            Step::Failure(SaslError::OutOfSequence)
        ));
    }

    #[test]
    fn identities() {
        assert_eq!(
            identity("tim@example.org".as_bytes()),
            Ok("tim@example.org".into())
        );
        assert_eq!(identity("jösé".as_bytes()), Ok("jösé".into()));
        assert!(identity(b"").is_err());
        assert!(identity(b"tim\r\nQUIT").is_err());
        assert!(identity(b"\xff").is_err());
        assert_eq!(
            identity(&[b'a'; IDENTITY_OCTETS_MAX + 1]),
            Err(SaslError::TooLong)
        );
    }
}
