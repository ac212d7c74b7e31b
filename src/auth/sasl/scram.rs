//! SCRAM-SHA-256 and SCRAM-SHA-256-PLUS (RFC 5802 §5–§7, RFC 7677; `tls-exporter` binding,
//! RFC 9266).
//!
//! client-first → NeedCredentials → server-first → client-final → server-final (`v=`) → the
//! client's empty response → Success. An unknown user gets a plausible server-first built from
//! a fake salt, and fails only after the proof, like a wrong password.

use std::sync::OnceLock;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::{
    ChannelBinding, Credentials, Nonce, SaslError, State, Step, Transition, fail, identity,
    random_bytes,
};
use crate::auth::password;
use crate::auth::scram::{ITERATIONS_DEFAULT, SALT_OCTETS, ScramKeys, hmac_sha256};

/// Bound on each SCRAM client message (real ones are under 300 octets).
const MESSAGE_OCTETS_MAX: usize = 4096;
/// Bound on the client's nonce.
const CLIENT_NONCE_OCTETS_MAX: usize = 256;
/// RFC 5802 §5.1 wants the server nonce unpredictable: 18 random octets, 24 base64 characters.
const SERVER_NONCE_OCTETS: usize = 18;

/// States are named by what has happened so far.
pub(super) enum Scram {
    /// The server nonce is chosen; client-first is due. `plus`: the mechanism is -PLUS;
    /// `binding`: this connection's binding, present iff -PLUS was advertised on it.
    Started {
        server_nonce: String,
        plus: bool,
        binding: Option<ChannelBinding>,
    },
    /// client-first parsed; the caller is looking the account up.
    LookingUp {
        first: ClientFirst,
        server_nonce: String,
    },
    /// server-first sent; client-final is due.
    Challenged {
        first: ClientFirst,
        server_first: String,
        nonce: String,
        /// The account's keys, or the failure to report once the proof has arrived.
        keys: Result<ScramKeys, SaslError>,
    },
    /// The proof checked out and server-final was sent; the client's empty response is due.
    Proven {
        authcid: String,
        authzid: Option<String>,
    },
}

/// The parsed client-first-message.
pub(super) struct ClientFirst {
    /// What c= must decode to: the GS2 header, then the binding data when p= was used.
    expected_binding: Vec<u8>,
    authzid: Option<String>,
    authcid: String,
    bare: String,
    client_nonce: String,
}

pub(super) fn start(
    initial_response: Option<Vec<u8>>,
    nonce: Nonce<'_>,
    plus: bool,
    binding: Option<ChannelBinding>,
) -> Transition {
    let server_nonce = match nonce {
        Nonce::Fixed(fixed) => fixed.to_owned(),
        Nonce::Random => match random_bytes::<SERVER_NONCE_OCTETS>() {
            Ok(octets) => BASE64.encode(octets),
            Err(error) => return fail(error),
        },
    };
    let scram = Scram::Started {
        server_nonce,
        plus,
        binding,
    };
    match initial_response {
        Some(data) => scram.respond(&data),
        None => (State::Scram(Box::new(scram)), Step::Challenge(Vec::new())),
    }
}

impl Scram {
    pub(super) fn respond(self, data: &[u8]) -> Transition {
        match self {
            Scram::Started {
                server_nonce,
                plus,
                binding,
            } => match parse_client_first(data, plus, binding.as_ref()) {
                Ok(first) => {
                    let step = Step::NeedCredentials {
                        authcid: first.authcid.clone(),
                    };
                    let next = Scram::LookingUp {
                        first,
                        server_nonce,
                    };
                    (State::Scram(Box::new(next)), step)
                }
                Err(error) => fail(error),
            },
            Scram::Challenged {
                first,
                server_first,
                nonce,
                keys,
            } => match verify_client_final(data, &first, &server_first, &nonce, keys) {
                Ok(server_final) => {
                    let next = Scram::Proven {
                        authcid: first.authcid,
                        authzid: first.authzid,
                    };
                    (State::Scram(Box::new(next)), Step::Challenge(server_final))
                }
                Err(error) => fail(error),
            },
            // RFC 4422 §5: after the server-final challenge the client answers with empty data.
            Scram::Proven { authcid, authzid } if data.is_empty() => {
                (State::Done, Step::Success { authcid, authzid })
            }
            Scram::Proven { .. } => fail(SaslError::Malformed("expected an empty response")),
            Scram::LookingUp { .. } => fail(SaslError::OutOfSequence),
        }
    }

    pub(super) fn provide_credentials(self, credentials: Credentials) -> Transition {
        let Scram::LookingUp {
            first,
            server_nonce,
        } = self
        else {
            return fail(SaslError::OutOfSequence);
        };
        let keys = match account_keys(&first.authcid, credentials) {
            Ok(keys) => Ok(keys),
            Err(error @ (SaslError::AuthFailed | SaslError::MechanismUnavailable)) => Err(error),
            Err(error) => return fail(error),
        };
        let (salt, iterations) = match &keys {
            Ok(keys) => (keys.salt.clone(), keys.iterations),
            Err(_) => match fake_salt(&first.authcid) {
                Ok(salt) => (salt.to_vec(), ITERATIONS_DEFAULT),
                Err(error) => return fail(error),
            },
        };
        let nonce = format!("{}{server_nonce}", first.client_nonce);
        let server_first = format!("r={nonce},s={},i={iterations}", BASE64.encode(&salt));
        let step = Step::Challenge(server_first.clone().into_bytes());
        let next = Scram::Challenged {
            first,
            server_first,
            nonce,
            keys,
        };
        (State::Scram(Box::new(next)), step)
    }
}

/// The account's SCRAM keys: stored ones, or derived from a `{PLAIN}` password with the user's
/// deterministic salt (so a client caching SaltedPassword keeps working). Deriving is PBKDF2 at
/// [`ITERATIONS_DEFAULT`]: the caller calls `provide_credentials` off the shard when the account
/// has no stored keys.
fn account_keys(authcid: &str, credentials: Credentials) -> Result<ScramKeys, SaslError> {
    if let Some(keys) = credentials.scram {
        return Ok(keys);
    }
    let Some(stored) = credentials.stored_password else {
        return Err(SaslError::AuthFailed);
    };
    let Some(plain) = password::plaintext(&stored) else {
        return Err(SaslError::MechanismUnavailable);
    };
    let salt = fake_salt(authcid)?;
    Ok(ScramKeys::derive(
        plain.as_bytes(),
        &salt,
        ITERATIONS_DEFAULT,
    ))
}

/// A salt for a user without SCRAM keys: HMAC of the name under a per-process random key, so
/// repeated attempts for one name see one stable salt, as they would for a real account.
fn fake_salt(authcid: &str) -> Result<[u8; SALT_OCTETS], SaslError> {
    static KEY: OnceLock<[u8; 32]> = OnceLock::new();
    let key = match KEY.get() {
        Some(key) => key,
        None => {
            let fresh = random_bytes::<32>()?;
            KEY.get_or_init(|| fresh)
        }
    };
    let mac = hmac_sha256(key, authcid.as_bytes());
    let mut salt = [0u8; SALT_OCTETS];
    salt.copy_from_slice(&mac[..SALT_OCTETS]);
    Ok(salt)
}

fn utf8(data: &[u8]) -> Result<&str, SaslError> {
    if data.len() > MESSAGE_OCTETS_MAX {
        return Err(SaslError::TooLong);
    }
    std::str::from_utf8(data).map_err(|_| SaslError::Malformed("SCRAM message is not UTF-8"))
}

/// client-first-message = gs2-header client-first-message-bare (RFC 5802 §7).
fn parse_client_first(
    data: &[u8],
    plus: bool,
    binding: Option<&ChannelBinding>,
) -> Result<ClientFirst, SaslError> {
    let text = utf8(data)?;
    // gs2-cbind-flag (RFC 5802 §6): "n" the client can't bind; "y" it could but thinks we
    // can't — a downgrade if we advertised -PLUS here, which MUST fail; "p=<type>" binds, only
    // in a -PLUS exchange, with the type we offer.
    let (after_flag, binding_data): (&str, &[u8]) = if let Some(rest) = text.strip_prefix("n,") {
        if plus {
            return Err(SaslError::Malformed(
                "SCRAM-SHA-256-PLUS needs channel binding",
            ));
        }
        (rest, &[])
    } else if let Some(rest) = text.strip_prefix("y,") {
        if plus || binding.is_some() {
            return Err(SaslError::Malformed(
                "client thinks the server can't bind channels: downgrade refused",
            ));
        }
        (rest, &[])
    } else if let Some(rest) = text.strip_prefix("p=") {
        let (kind, rest) = rest
            .split_once(',')
            .ok_or(SaslError::Malformed("GS2 header is not terminated"))?;
        match binding {
            Some(binding) if plus && binding.kind == kind => (rest, &binding.data),
            _ => return Err(SaslError::Malformed("channel binding is not supported")),
        }
    } else {
        return Err(SaslError::Malformed("bad GS2 channel-binding flag"));
    };
    let (authzid_field, bare) = after_flag
        .split_once(',')
        .ok_or(SaslError::Malformed("GS2 header is not terminated"))?;
    let authzid = match authzid_field {
        "" => None,
        field => {
            let name = field
                .strip_prefix("a=")
                .ok_or(SaslError::Malformed("bad GS2 authzid"))?;
            Some(saslname(name)?)
        }
    };
    let gs2_header = &text[..text.len() - bare.len()];
    let mut expected_binding = gs2_header.as_bytes().to_vec();
    expected_binding.extend_from_slice(binding_data);

    let mut attributes = bare.split(',');
    let username = attributes.next().unwrap_or_default();
    // RFC 5802 §5.1: an "m" attribute (mandatory extension) MUST fail the authentication.
    if username.starts_with("m=") {
        return Err(SaslError::Malformed(
            "mandatory extensions are not supported",
        ));
    }
    let authcid = saslname(
        username
            .strip_prefix("n=")
            .ok_or(SaslError::Malformed("missing n= username"))?,
    )?;
    let client_nonce = attributes
        .next()
        .and_then(|nonce| nonce.strip_prefix("r="))
        .ok_or(SaslError::Malformed("missing r= nonce"))?;
    if client_nonce.is_empty()
        || client_nonce.len() > CLIENT_NONCE_OCTETS_MAX
        || !client_nonce.bytes().all(is_printable)
    {
        return Err(SaslError::Malformed("bad client nonce"));
    }
    check_extensions(attributes)?;
    Ok(ClientFirst {
        expected_binding,
        authzid,
        authcid,
        bare: bare.to_owned(),
        client_nonce: client_nonce.to_owned(),
    })
}

/// printable = %x21-2B / %x2D-7E: printable ASCII except ','.
fn is_printable(octet: u8) -> bool {
    octet.is_ascii_graphic() && octet != b','
}

/// saslname = 1*(value-safe-char / "=2C" / "=3D"); RFC 5802 §5.1: any other '=' MUST fail.
fn saslname(encoded: &str) -> Result<String, SaslError> {
    let mut decoded = Vec::with_capacity(encoded.len());
    let mut rest = encoded.as_bytes();
    while let Some((&octet, tail)) = rest.split_first() {
        let (unescaped, after) = match (octet, tail) {
            (b'=', [b'2', b'C', after @ ..]) => (b',', after),
            (b'=', [b'3', b'D', after @ ..]) => (b'=', after),
            (b'=', _) => return Err(SaslError::Malformed("bad '=' escape in SCRAM name")),
            (octet, after) => (octet, after),
        };
        decoded.push(unescaped);
        rest = after;
    }
    identity(&decoded)
}

/// Optional extensions (attr-val = ALPHA "=" value) MUST be ignored, but "m" MUST fail
/// (RFC 5802 §5.1).
fn check_extensions<'a>(attributes: impl Iterator<Item = &'a str>) -> Result<(), SaslError> {
    for attribute in attributes {
        let octets = attribute.as_bytes();
        if octets.len() < 3 || !octets[0].is_ascii_alphabetic() || octets[1] != b'=' {
            return Err(SaslError::Malformed("bad SCRAM attribute"));
        }
        if octets[0] == b'm' {
            return Err(SaslError::Malformed(
                "mandatory extensions are not supported",
            ));
        }
    }
    Ok(())
}

/// client-final-message = channel-binding "," nonce ["," extensions] "," proof. Returns the
/// server-final-message on a valid proof.
fn verify_client_final(
    data: &[u8],
    first: &ClientFirst,
    server_first: &str,
    nonce: &str,
    keys: Result<ScramKeys, SaslError>,
) -> Result<Vec<u8>, SaslError> {
    let text = utf8(data)?;
    let (without_proof, proof) = text
        .rsplit_once(",p=")
        .ok_or(SaslError::Malformed("missing p= proof"))?;
    let mut attributes = without_proof.split(',');
    let binding = attributes
        .next()
        .and_then(|binding| binding.strip_prefix("c="))
        .ok_or(SaslError::Malformed("missing c= channel binding"))?;
    // c= is the base64 of the GS2 header followed by the channel-binding data, if any
    // (RFC 5802 §5.1, §7).
    let binding = BASE64
        .decode(binding)
        .map_err(|_| SaslError::Malformed("c= is not base64"))?;
    if !bool::from(binding.ct_eq(&first.expected_binding)) {
        return Err(SaslError::Malformed(
            "channel binding does not match the GS2 header",
        ));
    }
    let echoed_nonce = attributes
        .next()
        .and_then(|nonce| nonce.strip_prefix("r="))
        .ok_or(SaslError::Malformed("missing r= nonce"))?;
    if echoed_nonce != nonce {
        return Err(SaslError::Malformed("nonce does not match"));
    }
    check_extensions(attributes)?;
    let proof: [u8; 32] = BASE64
        .decode(proof)
        .ok()
        .and_then(|octets| octets.try_into().ok())
        .ok_or(SaslError::Malformed("p= is not a base64 SHA-256 proof"))?;
    let keys = keys?;

    // RFC 5802 §3: ClientKey = ClientProof XOR HMAC(StoredKey, AuthMessage), then the proof is
    // good iff H(ClientKey) = StoredKey.
    let auth_message = format!("{},{server_first},{without_proof}", first.bare);
    let client_signature = hmac_sha256(&keys.stored_key, auth_message.as_bytes());
    let mut client_key = proof;
    for (octet, signature) in client_key.iter_mut().zip(client_signature) {
        *octet ^= signature;
    }
    let candidate: [u8; 32] = Sha256::digest(client_key).into();
    if !bool::from(candidate.ct_eq(&keys.stored_key)) {
        return Err(SaslError::AuthFailed);
    }
    let server_signature = hmac_sha256(&keys.server_key, auth_message.as_bytes());
    Ok(format!("v={}", BASE64.encode(server_signature)).into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::sasl::{Mechanism, SaslServer};

    // RFC 7677 §3.
    const CLIENT_FIRST: &[u8] = b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO";
    const SERVER_NONCE: &str = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
    const SERVER_FIRST: &[u8] =
        b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
    const CLIENT_FINAL: &[u8] = b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
    const SERVER_FINAL: &[u8] = b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";

    fn rfc_keys() -> ScramKeys {
        let salt = BASE64.decode("W22ZaJ0SNY7soEsUEjb6gQ==").unwrap();
        ScramKeys::derive(b"pencil", &salt, 4096)
    }

    fn with_keys(keys: ScramKeys) -> Credentials {
        Credentials {
            stored_password: None,
            scram: Some(keys),
        }
    }

    fn challenge(step: Step) -> Vec<u8> {
        match step {
            Step::Challenge(bytes) => bytes,
            other => panic!("expected a challenge, got {other:?}"),
        }
    }

    fn failure(step: Step) -> SaslError {
        match step {
            Step::Failure(error) => error,
            other => panic!("expected a failure, got {other:?}"),
        }
    }

    /// Starts the RFC 7677 exchange and brings it to the point where client-final is due.
    fn rfc_server_after_first(credentials: Credentials) -> (SaslServer, Vec<u8>) {
        let (mut server, step) = SaslServer::start_with_fixed_nonce(
            Mechanism::ScramSha256,
            Some(CLIENT_FIRST.to_vec()),
            "mx",
            SERVER_NONCE,
        );
        assert!(matches!(step, Step::NeedCredentials { ref authcid } if authcid == "user"));
        let server_first = challenge(server.provide_credentials(credentials));
        (server, server_first)
    }

    /// A client's final message for the given exchange, computed from the password.
    fn client_final(password: &[u8], bare: &str, server_first: &str, gs2_header: &str) -> String {
        let mut salt = None;
        let mut iterations = 0;
        let mut nonce = "";
        for attribute in server_first.split(',') {
            match attribute.split_at(2) {
                ("r=", value) => nonce = value,
                ("s=", value) => salt = Some(BASE64.decode(value).unwrap()),
                ("i=", value) => iterations = value.parse().unwrap(),
                _ => panic!("unexpected {attribute}"),
            }
        }
        let keys = ScramKeys::derive(password, &salt.unwrap(), iterations);
        let without_proof = format!("c={},r={nonce}", BASE64.encode(gs2_header));
        let auth_message = format!("{bare},{server_first},{without_proof}");
        let signature = hmac_sha256(&keys.stored_key, auth_message.as_bytes());
        // ClientKey is recoverable only from the password: recompute it.
        let salted = pbkdf2::pbkdf2_hmac_array::<Sha256, 32>(password, &keys.salt, iterations);
        let client_key = hmac_sha256(&salted, b"Client Key");
        let proof: Vec<u8> = client_key
            .iter()
            .zip(signature)
            .map(|(a, b)| a ^ b)
            .collect();
        format!("{without_proof},p={}", BASE64.encode(proof))
    }

    #[test]
    fn rfc7677_example() {
        let (mut server, server_first) = rfc_server_after_first(with_keys(rfc_keys()));
        assert_eq!(server_first, SERVER_FIRST);
        assert_eq!(challenge(server.respond(CLIENT_FINAL)), SERVER_FINAL);
        assert!(matches!(
            server.respond(b""),
            Step::Success { ref authcid, authzid: None } if authcid == "user"
        ));
    }

    #[test]
    fn rfc7677_example_without_initial_response() {
        let (mut server, step) =
            SaslServer::start_with_fixed_nonce(Mechanism::ScramSha256, None, "mx", SERVER_NONCE);
        assert_eq!(challenge(step), b"");
        assert!(matches!(
            server.respond(CLIENT_FIRST),
            Step::NeedCredentials { .. }
        ));
        assert_eq!(
            challenge(server.provide_credentials(with_keys(rfc_keys()))),
            SERVER_FIRST
        );
        assert_eq!(challenge(server.respond(CLIENT_FINAL)), SERVER_FINAL);
        assert!(matches!(server.respond(b""), Step::Success { .. }));
    }

    #[test]
    fn wrong_password_fails_after_proof() {
        let salt = BASE64.decode("W22ZaJ0SNY7soEsUEjb6gQ==").unwrap();
        let keys = ScramKeys::derive(b"pencil2", &salt, 4096);
        let (mut server, server_first) = rfc_server_after_first(with_keys(keys));
        assert_eq!(server_first, SERVER_FIRST);
        assert_eq!(failure(server.respond(CLIENT_FINAL)), SaslError::AuthFailed);
    }

    #[test]
    fn unknown_user_gets_plausible_server_first_then_fails() {
        let (mut server, server_first) = rfc_server_after_first(Credentials::default());
        let text = String::from_utf8(server_first.clone()).unwrap();
        assert!(text.starts_with("r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s="));
        assert!(text.ends_with(&format!(",i={ITERATIONS_DEFAULT}")));
        // The fake salt is stable per name.
        let (_, again) = rfc_server_after_first(Credentials::default());
        assert_eq!(server_first, again);
        let final_message = client_final(b"pencil", "n=user,r=rOprNGfwEbeRWgbNEkqO", &text, "n,,");
        assert_eq!(
            failure(server.respond(final_message.as_bytes())),
            SaslError::AuthFailed
        );
        // An account with only a hashed password looks the same, and fails at the end.
        let hashed = Credentials {
            stored_password: Some("{SHA512-CRYPT}$6$x$y".into()),
            scram: None,
        };
        let (mut server, server_first) = rfc_server_after_first(hashed);
        assert_eq!(server_first, again);
        assert_eq!(
            failure(server.respond(final_message.as_bytes())),
            SaslError::MechanismUnavailable
        );
    }

    #[test]
    fn plain_account_derives_keys() {
        let plain = Credentials {
            stored_password: Some("{PLAIN}pencil".into()),
            scram: None,
        };
        let (mut server, server_first) = rfc_server_after_first(plain);
        let text = String::from_utf8(server_first).unwrap();
        let final_message = client_final(b"pencil", "n=user,r=rOprNGfwEbeRWgbNEkqO", &text, "n,,");
        assert!(challenge(server.respond(final_message.as_bytes())).starts_with(b"v="));
        assert!(matches!(server.respond(b""), Step::Success { .. }));
    }

    #[test]
    fn authzid_escapes_and_y_flag() {
        let keys = ScramKeys::derive(b"pw", b"salty", 4096);
        let first = b"y,a=boss=2Cinc=3D,n=we=3Dird=2Cname,r=abc,x=ignored".to_vec();
        let (mut server, step) =
            SaslServer::start_with_fixed_nonce(Mechanism::ScramSha256, Some(first), "mx", "SRV");
        assert!(matches!(step, Step::NeedCredentials { ref authcid } if authcid == "we=ird,name"));
        let server_first =
            String::from_utf8(challenge(server.provide_credentials(with_keys(keys)))).unwrap();
        assert_eq!(server_first, "r=abcSRV,s=c2FsdHk=,i=4096");
        let final_message = client_final(
            b"pw",
            "n=we=3Dird=2Cname,r=abc,x=ignored",
            &server_first,
            "y,a=boss=2Cinc=3D,",
        );
        assert!(challenge(server.respond(final_message.as_bytes())).starts_with(b"v="));
        assert!(matches!(
            server.respond(b""),
            Step::Success { ref authcid, authzid: Some(ref z) }
                if authcid == "we=ird,name" && z == "boss,inc="
        ));
    }

    #[test]
    fn malformed_client_first_fails() {
        let cases: &[&[u8]] = &[
            b"",
            b"n,,",
            b"n",
            b"x,,n=user,r=abc",
            b"p=tls-unique,,n=user,r=abc",
            b"n,a,n=user,r=abc",
            b"n,,m=ext,n=user,r=abc",
            b"n,,n=user,r=abc,m=ext",
            b"n,,n=,r=abc",
            b"n,,n=us=2Der,r=abc",
            b"n,,n=user=,r=abc",
            b"n,,n=user",
            b"n,,n=user,r=",
            b"n,,n=user,s=abc",
            b"n,,r=abc,n=user",
            b"n,,n=user,r=abc,",
            b"n,,n=user,r=abc,1=x",
            b"n,,n=user,r=a\x7fb",
            b"n,,n=us\xffer,r=abc",
            b"n,,n=us\0er,r=abc",
        ];
        for &bad in cases {
            let (_, step) = SaslServer::start(Mechanism::ScramSha256, Some(bad.to_vec()), "mx");
            assert!(
                matches!(step, Step::Failure(_)),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        let oversized = [b"n,,n=user,r=".as_slice(), &[b'a'; 5000]].concat();
        let (_, step) = SaslServer::start(Mechanism::ScramSha256, Some(oversized), "mx");
        assert_eq!(failure(step), SaslError::TooLong);
        let (_, step) = SaslServer::start(
            Mechanism::ScramSha256,
            Some(b"p=tls-server-end-point,,n=user,r=abc".to_vec()),
            "mx",
        );
        assert_eq!(
            failure(step),
            SaslError::Malformed("channel binding is not supported")
        );
    }

    #[test]
    fn malformed_client_final_fails() {
        let cases: &[&[u8]] = &[
            b"",
            b"garbage",
            // Nonce without the server part.
            b"c=biws,r=rOprNGfwEbeRWgbNEkqO,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
            // Channel binding "y,," does not match our "n,," header.
            b"c=eSws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
            b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0",
            b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzb",
            b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=!!!!",
            b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,m=x,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
            b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,c=biws,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
            b"c=bi ws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
            // A flipped proof bit is a wrong password, not a syntax error.
            b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=eHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
        ];
        for &bad in cases {
            let (mut server, _) = rfc_server_after_first(with_keys(rfc_keys()));
            assert!(
                matches!(server.respond(bad), Step::Failure(_)),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        // An extension after the nonce is ignored, but it changes AuthMessage, so the RFC's
        // proof no longer fits.
        let (mut server, _) = rfc_server_after_first(with_keys(rfc_keys()));
        let with_extension = b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,x=1,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
        assert_eq!(
            failure(server.respond(with_extension)),
            SaslError::AuthFailed
        );
        // After server-final, only an empty response is accepted.
        let (mut server, _) = rfc_server_after_first(with_keys(rfc_keys()));
        challenge(server.respond(CLIENT_FINAL));
        assert!(matches!(
            server.respond(b"v=x"),
            Step::Failure(SaslError::Malformed(_))
        ));
        // Responding while credentials are awaited is the caller's bug.
        let (mut server, _) =
            SaslServer::start(Mechanism::ScramSha256, Some(CLIENT_FIRST.to_vec()), "mx");
        assert_eq!(
            failure(server.respond(CLIENT_FINAL)),
            SaslError::OutOfSequence
        );
    }

    #[test]
    fn random_server_nonces_differ() {
        let server_first = || {
            let (mut server, _) =
                SaslServer::start(Mechanism::ScramSha256, Some(CLIENT_FIRST.to_vec()), "mx");
            String::from_utf8(challenge(server.provide_credentials(with_keys(rfc_keys())))).unwrap()
        };
        let (a, b) = (server_first(), server_first());
        assert_ne!(a, b);
        let nonce = a.split(',').next().unwrap();
        assert_eq!(nonce.len(), 2 + 20 + 24);
    }
}
