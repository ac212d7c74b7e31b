//! SCRAM-SHA-256 stored keys (RFC 5802 §3, RFC 7677) and their RFC 5803 text form.
//!
//! The server keeps only StoredKey and ServerKey, never the password: StoredKey lets it check a
//! client's proof, ServerKey lets it prove to the client that it knows the account.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

pub(crate) type HmacSha256 = Hmac<Sha256>;

/// RFC 7677 §4 asks for at least 4096 iterations and estimates ~15,000 for a 0.1 s budget on a
/// desktop. Every login costs the *client* this many PBKDF2 rounds (a phone pays ~0.5 s at 4096),
/// so we pick 10,000: well above the floor, still quick on handsets.
pub const ITERATIONS_DEFAULT: u32 = 10_000;
/// RFC 7677 §4: SHOULD be at least 4096; below that we refuse the stored keys.
pub const ITERATIONS_MIN: u32 = 4096;
/// A bound on what a stored record may ask clients (and `derive`) to compute.
pub const ITERATIONS_MAX: u32 = 1_000_000;
pub const SALT_OCTETS: usize = 16;
pub const SALT_OCTETS_MAX: usize = 64;
/// Longest RFC 5803 string we parse; a real one is about 120 characters.
const STORED_OCTETS_MAX: usize = 256;
const MECHANISM_PREFIX: &str = "SCRAM-SHA-256$";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScramError {
    #[error("malformed SCRAM-SHA-256 stored keys: {0}")]
    Malformed(&'static str),
    #[error("SCRAM-SHA-256 iteration count outside {ITERATIONS_MIN}..={ITERATIONS_MAX}")]
    Iterations,
    #[error("OS random number generator failed")]
    RandomSource,
}

/// What the server stores for one account to run SCRAM-SHA-256 without the password.
#[derive(Clone, PartialEq, Eq)]
pub struct ScramKeys {
    pub iterations: u32,
    pub salt: Vec<u8>,
    pub stored_key: [u8; 32],
    pub server_key: [u8; 32],
}

impl std::fmt::Debug for ScramKeys {
    // The keys are as sensitive as a password hash (ServerKey lets its holder impersonate the
    // server to clients): keep them out of logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScramKeys")
            .field("iterations", &self.iterations)
            .field("salt_octets", &self.salt.len())
            .finish_non_exhaustive()
    }
}

impl ScramKeys {
    /// RFC 5802 §3: SaltedPassword := Hi(Normalize(password), salt, i), ClientKey :=
    /// HMAC(SaltedPassword, "Client Key"), StoredKey := H(ClientKey), ServerKey :=
    /// HMAC(SaltedPassword, "Server Key"). CPU-heavy: run off the shard.
    pub fn derive(password: &[u8], salt: &[u8], iterations: u32) -> Self {
        assert!(iterations >= 1, "PBKDF2 needs at least one iteration");
        let mut salted =
            pbkdf2::pbkdf2_hmac_array::<Sha256, 32>(normalize(password), salt, iterations);
        let client_key = hmac_sha256(&salted, b"Client Key");
        let server_key = hmac_sha256(&salted, b"Server Key");
        salted.fill(0);
        ScramKeys {
            iterations,
            salt: salt.to_vec(),
            stored_key: Sha256::digest(client_key).into(),
            server_key,
        }
    }

    /// Keys for a new password: a random 16-octet salt and [`ITERATIONS_DEFAULT`] iterations.
    pub fn generate(password: &[u8]) -> Result<Self, ScramError> {
        let mut salt = [0u8; SALT_OCTETS];
        getrandom::getrandom(&mut salt).map_err(|_| ScramError::RandomSource)?;
        Ok(Self::derive(password, &salt, ITERATIONS_DEFAULT))
    }

    /// RFC 5803 §3: `SCRAM-SHA-256$<iter>:<base64 salt>$<base64 StoredKey>:<base64 ServerKey>`.
    pub fn to_stored(&self) -> String {
        format!(
            "{MECHANISM_PREFIX}{}:{}${}:{}",
            self.iterations,
            BASE64.encode(&self.salt),
            BASE64.encode(self.stored_key),
            BASE64.encode(self.server_key)
        )
    }

    /// Parses the RFC 5803 form written by [`ScramKeys::to_stored`].
    pub fn parse(stored: &str) -> Result<Self, ScramError> {
        if stored.len() > STORED_OCTETS_MAX {
            return Err(ScramError::Malformed("too long"));
        }
        let rest = stored
            .strip_prefix(MECHANISM_PREFIX)
            .ok_or(ScramError::Malformed("does not start with SCRAM-SHA-256$"))?;
        let (parameters, keys) = rest
            .split_once('$')
            .ok_or(ScramError::Malformed("missing '$' before the keys"))?;
        let (iterations, salt) = parameters.split_once(':').ok_or(ScramError::Malformed(
            "missing ':' after the iteration count",
        ))?;
        let (stored_key, server_key) = keys
            .split_once(':')
            .ok_or(ScramError::Malformed("missing ':' between the keys"))?;
        if !iterations.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ScramError::Malformed("iteration count is not a number"));
        }
        let iterations: u32 = iterations
            .parse()
            .map_err(|_| ScramError::Malformed("iteration count is not a number"))?;
        if !(ITERATIONS_MIN..=ITERATIONS_MAX).contains(&iterations) {
            return Err(ScramError::Iterations);
        }
        let salt = BASE64
            .decode(salt)
            .map_err(|_| ScramError::Malformed("salt is not base64"))?;
        if salt.is_empty() || salt.len() > SALT_OCTETS_MAX {
            return Err(ScramError::Malformed("salt length"));
        }
        Ok(ScramKeys {
            iterations,
            salt,
            stored_key: decode_key(stored_key)?,
            server_key: decode_key(server_key)?,
        })
    }
}

fn decode_key(text: &str) -> Result<[u8; 32], ScramError> {
    let octets = BASE64
        .decode(text)
        .map_err(|_| ScramError::Malformed("key is not base64"))?;
    octets
        .try_into()
        .map_err(|_| ScramError::Malformed("key is not 32 octets"))
}

pub(crate) fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// RFC 5802 §2.2 Normalize() is SASLprep (RFC 4013). We implement the practical subset: a
/// password of printable ASCII is already a fixed point of SASLprep, so it is used as is; any
/// other password is used as its UTF-8 bytes unchanged. Clients that SASLprep a non-ASCII
/// password get the same bytes whenever it is already in NFKC form without non-ASCII spaces or
/// "mapped to nothing" characters, which covers passwords typed on ordinary keyboards. Full
/// SASLprep needs the Unicode normalisation tables, a dependency we do not carry yet.
fn normalize(password: &[u8]) -> &[u8] {
    password
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7677_keys_round_trip() {
        let salt = BASE64.decode("W22ZaJ0SNY7soEsUEjb6gQ==").unwrap();
        let keys = ScramKeys::derive(b"pencil", &salt, 4096);
        let stored = keys.to_stored();
        assert!(stored.starts_with("SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$"));
        assert_eq!(ScramKeys::parse(&stored).unwrap(), keys);
        assert!(!format!("{keys:?}").contains(&BASE64.encode(keys.stored_key)));
    }

    #[test]
    fn generate_uses_random_salt() {
        let a = ScramKeys::generate(b"pencil").unwrap();
        let b = ScramKeys::generate(b"pencil").unwrap();
        assert_eq!(a.iterations, ITERATIONS_DEFAULT);
        assert_eq!(a.salt.len(), SALT_OCTETS);
        assert_ne!(a.salt, b.salt);
        assert_ne!(a.stored_key, b.stored_key);
    }

    #[test]
    fn parse_rejects_garbage() {
        let good = ScramKeys::derive(b"pw", b"salt", 4096).to_stored();
        assert!(ScramKeys::parse(&good).is_ok());
        let cases = [
            String::new(),
            "SCRAM-SHA-1$4096:c2FsdA==$a:b".into(),
            good.replace("4096", "4095"),
            good.replace("4096", "+4096"),
            good.replace("4096", "99999999999"),
            good.replacen(':', ";", 1),
            good.replace("c2FsdA==", "c2FsdA"),
            good.replace("c2FsdA==", ""),
            format!("{good}AAAA"),
            format!("{good}{}", "A".repeat(300)),
        ];
        for bad in &cases {
            assert!(ScramKeys::parse(bad).is_err(), "{bad}");
        }
    }
}
