//! Stored passwords in Dovecot's `{SCHEME}data` notation.
//!
//! New passwords are hashed with Argon2id. Verification also accepts the schemes an existing
//! Dovecot passwd-file is likely to hold: `{ARGON2ID}`, `{ARGON2I}`, `{SHA512-CRYPT}` (`$6$`),
//! `{SHA256-CRYPT}` (`$5$`), `{BLF-CRYPT}` (`$2y$`, `$2b$`, `$2a$`), `{PLAIN}` and `{CRYPT}` when
//! its data is one of those `$n$` forms. Every derived value is compared in constant time.
//!
//! Hashing and verifying are CPU-heavy by design: callers run them off the shard.

use argon2::password_hash::{PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Argon2id cost for new hashes: the OWASP minimum (19 MiB, 2 passes, 1 lane).
pub const ARGON2_MEMORY_KIB: u32 = 19 * 1024;
pub const ARGON2_PASSES: u32 = 2;
pub const ARGON2_LANES: u32 = 1;
pub const ARGON2_SALT_OCTETS: usize = 16;

/// Upper bounds on the cost of a stored hash we agree to verify. A corrupt or hostile
/// passwd-file must not make one login allocate gigabytes or spin for minutes.
pub const ARGON2_MEMORY_KIB_MAX: u32 = 1024 * 1024;
pub const ARGON2_PASSES_MAX: u32 = 64;
pub const ARGON2_LANES_MAX: u32 = 16;
pub const SHA_CRYPT_ROUNDS_MAX: usize = 2_000_000;
pub const BCRYPT_COST_MAX: u32 = 18;
/// Longest `{SCHEME}` name we look at; real ones are under 16 characters.
const SCHEME_OCTETS_MAX: usize = 32;

// Glibc's limits for SHA-crypt (Drepper's specification): rounds are clamped to this range, the
// salt is at most 16 characters.
const SHA_CRYPT_ROUNDS_DEFAULT: usize = 5_000;
const SHA_CRYPT_ROUNDS_MIN: usize = 1_000;
const SHA_CRYPT_SALT_OCTETS_MAX: usize = 16;
const BCRYPT_COST_MIN: u32 = 4;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("stored password has no {{SCHEME}} prefix (expected e.g. {{ARGON2ID}}$argon2id$...)")]
    MissingScheme,
    #[error("unknown password scheme {{{0}}}")]
    UnknownScheme(String),
    #[error("{{CRYPT}} password is not a $6$, $5$ or $2y$/$2b$/$2a$ hash")]
    UnsupportedCrypt,
    #[error("malformed {scheme} password: {reason}")]
    Malformed {
        scheme: &'static str,
        reason: &'static str,
    },
    #[error("{scheme} password cost exceeds the configured maximum")]
    CostTooHigh { scheme: &'static str },
    #[error("OS random number generator failed")]
    RandomSource,
    #[error("password hashing failed: {0}")]
    Hashing(String),
}

/// Hashes `plain` for storage: `{ARGON2ID}` followed by the PHC string.
pub fn hash_password(plain: &[u8]) -> Result<String, PasswordError> {
    let mut salt_octets = [0u8; ARGON2_SALT_OCTETS];
    getrandom::getrandom(&mut salt_octets).map_err(|_| PasswordError::RandomSource)?;
    let salt =
        SaltString::encode_b64(&salt_octets).map_err(|e| PasswordError::Hashing(e.to_string()))?;
    let params = Params::new(ARGON2_MEMORY_KIB, ARGON2_PASSES, ARGON2_LANES, None)
        .map_err(|e| PasswordError::Hashing(e.to_string()))?;
    let hasher = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
    let phc = argon2::PasswordHasher::hash_password(&hasher, plain, &salt)
        .map_err(|e| PasswordError::Hashing(e.to_string()))?;
    Ok(format!("{{ARGON2ID}}{phc}"))
}

/// Checks `plain` against a stored `{SCHEME}data` string. `Ok(false)` is a wrong password; an
/// error means the stored string itself is unusable.
pub fn verify_password(stored: &str, plain: &[u8]) -> Result<bool, PasswordError> {
    match parse(stored)? {
        Stored::Argon2 { scheme, phc } => verify_argon2(scheme, phc, plain),
        Stored::ShaCrypt(hash) => Ok(verify_sha_crypt(&hash, plain)),
        Stored::Bcrypt(data) => verify_bcrypt(data, plain),
        Stored::Plain(expected) => Ok(digest_eq(expected.as_bytes(), plain)),
    }
}

/// The cleartext of a `{PLAIN}` password, which CRAM-MD5 and POP3 APOP need (they compute a
/// keyed digest with the password itself). `None` for every hashed scheme.
pub fn plaintext(stored: &str) -> Option<&str> {
    match parse(stored) {
        Ok(Stored::Plain(text)) => Some(text),
        _ => None,
    }
}

/// Validates a stored password's syntax, scheme and cost without hashing anything (used when
/// importing a Dovecot passwd-file).
pub fn check_stored(stored: &str) -> Result<(), PasswordError> {
    match parse(stored)? {
        Stored::Argon2 { scheme, phc } => argon2_context(scheme, phc).map(|_| ()),
        Stored::ShaCrypt(_) | Stored::Plain(_) => Ok(()),
        Stored::Bcrypt(data) => parse_bcrypt(data),
    }
}

/// A stored password split into its scheme and data, syntax checked as far as cheaply possible.
enum Stored<'a> {
    Argon2 { scheme: &'static str, phc: &'a str },
    ShaCrypt(ShaCrypt<'a>),
    Bcrypt(&'a str),
    Plain(&'a str),
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum ShaVariant {
    Sha256,
    Sha512,
}

struct ShaCrypt<'a> {
    variant: ShaVariant,
    rounds: usize,
    salt: &'a str,
    hash: &'a str,
}

fn parse(stored: &str) -> Result<Stored<'_>, PasswordError> {
    let rest = stored
        .strip_prefix('{')
        .ok_or(PasswordError::MissingScheme)?;
    let close = rest
        .bytes()
        .take(SCHEME_OCTETS_MAX + 1)
        .position(|b| b == b'}')
        .ok_or(PasswordError::MissingScheme)?;
    let (name, data) = (&rest[..close], &rest[close + 1..]);
    // Dovecot matches scheme names case-insensitively.
    match name.to_ascii_uppercase().as_str() {
        "ARGON2ID" => Ok(argon2_stored("ARGON2ID", data)),
        "ARGON2I" => Ok(argon2_stored("ARGON2I", data)),
        "SHA512-CRYPT" => parse_sha_crypt(ShaVariant::Sha512, data).map(Stored::ShaCrypt),
        "SHA256-CRYPT" => parse_sha_crypt(ShaVariant::Sha256, data).map(Stored::ShaCrypt),
        "BLF-CRYPT" => parse_bcrypt(data).map(|()| Stored::Bcrypt(data)),
        "PLAIN" | "CLEAR" | "CLEARTEXT" => Ok(Stored::Plain(data)),
        "CRYPT" => parse_crypt(data),
        _ => Err(PasswordError::UnknownScheme(name.to_owned())),
    }
}

fn argon2_stored<'a>(scheme: &'static str, phc: &'a str) -> Stored<'a> {
    Stored::Argon2 { scheme, phc }
}

/// `{CRYPT}` is whatever libc crypt(3) understands; we accept only its modern `$n$` forms.
fn parse_crypt(data: &str) -> Result<Stored<'_>, PasswordError> {
    if data.starts_with("$6$") {
        parse_sha_crypt(ShaVariant::Sha512, data).map(Stored::ShaCrypt)
    } else if data.starts_with("$5$") {
        parse_sha_crypt(ShaVariant::Sha256, data).map(Stored::ShaCrypt)
    } else if data.starts_with("$2") {
        parse_bcrypt(data).map(|()| Stored::Bcrypt(data))
    } else {
        Err(PasswordError::UnsupportedCrypt)
    }
}

fn malformed(scheme: &'static str, reason: &'static str) -> PasswordError {
    PasswordError::Malformed { scheme, reason }
}

// ---- Argon2 ----

/// Parses a PHC string and builds the hasher for it, refusing costs above our maxima.
fn argon2_context<'a>(
    scheme: &'static str,
    phc: &'a str,
) -> Result<(Argon2<'static>, PasswordHash<'a>), PasswordError> {
    let hash = PasswordHash::new(phc).map_err(|_| malformed(scheme, "not a PHC string"))?;
    let algorithm = Algorithm::try_from(hash.algorithm)
        .map_err(|_| malformed(scheme, "not an Argon2 algorithm"))?;
    let expected = if scheme == "ARGON2ID" {
        Algorithm::Argon2id
    } else {
        Algorithm::Argon2i
    };
    if algorithm != expected {
        return Err(malformed(scheme, "PHC algorithm does not match the scheme"));
    }
    // PHC string format: an absent "v=" means version 0x10.
    let version = match hash.version {
        None => Version::V0x10,
        Some(v) => Version::try_from(v).map_err(|_| malformed(scheme, "unknown version"))?,
    };
    let params = Params::try_from(&hash).map_err(|_| malformed(scheme, "bad parameters"))?;
    if params.m_cost() > ARGON2_MEMORY_KIB_MAX
        || params.t_cost() > ARGON2_PASSES_MAX
        || params.p_cost() > ARGON2_LANES_MAX
    {
        return Err(PasswordError::CostTooHigh { scheme });
    }
    if hash.salt.is_none() || hash.hash.is_none() {
        return Err(malformed(scheme, "missing salt or hash"));
    }
    Ok((Argon2::new(algorithm, version, params), hash))
}

fn verify_argon2(scheme: &'static str, phc: &str, plain: &[u8]) -> Result<bool, PasswordError> {
    let (hasher, hash) = argon2_context(scheme, phc)?;
    let (Some(salt), Some(expected)) = (hash.salt, hash.hash) else {
        return Err(malformed(scheme, "missing salt or hash"));
    };
    let mut salt_buffer = [0u8; 64];
    let salt_octets = salt
        .decode_b64(&mut salt_buffer)
        .map_err(|_| malformed(scheme, "bad salt encoding"))?;
    let mut derived = vec![0u8; expected.len()];
    hasher
        .hash_password_into(plain, salt_octets, &mut derived)
        .map_err(|e| PasswordError::Hashing(e.to_string()))?;
    Ok(derived.ct_eq(expected.as_bytes()).into())
}

// ---- SHA-crypt ($5$, $6$) ----

fn is_crypt_b64(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'.' || c == b'/'
}

/// `$6$[rounds=N$]salt$hash` per Drepper's SHA-crypt specification, as glibc writes it.
fn parse_sha_crypt(variant: ShaVariant, data: &str) -> Result<ShaCrypt<'_>, PasswordError> {
    let (scheme, prefix, hash_chars) = match variant {
        ShaVariant::Sha512 => ("SHA512-CRYPT", "$6$", 86),
        ShaVariant::Sha256 => ("SHA256-CRYPT", "$5$", 43),
    };
    let rest = data
        .strip_prefix(prefix)
        .ok_or_else(|| malformed(scheme, "wrong $n$ prefix"))?;
    let mut fields = rest.split('$');
    let mut field = fields.next().unwrap_or_default();
    let mut rounds = SHA_CRYPT_ROUNDS_DEFAULT;
    if let Some(count) = field.strip_prefix("rounds=") {
        let requested: usize = count
            .parse()
            .map_err(|_| malformed(scheme, "rounds is not a number"))?;
        if requested > SHA_CRYPT_ROUNDS_MAX {
            return Err(PasswordError::CostTooHigh { scheme });
        }
        // Glibc clamps a too-small count up rather than rejecting it.
        rounds = requested.max(SHA_CRYPT_ROUNDS_MIN);
        field = fields
            .next()
            .ok_or_else(|| malformed(scheme, "missing salt"))?;
    }
    let salt = field;
    let hash = fields
        .next()
        .ok_or_else(|| malformed(scheme, "missing hash"))?;
    if fields.next().is_some() {
        return Err(malformed(scheme, "trailing fields"));
    }
    if salt.len() > SHA_CRYPT_SALT_OCTETS_MAX {
        return Err(malformed(scheme, "salt longer than 16 characters"));
    }
    if hash.len() != hash_chars || !hash.bytes().all(is_crypt_b64) {
        return Err(malformed(scheme, "hash has the wrong length or alphabet"));
    }
    Ok(ShaCrypt {
        variant,
        rounds,
        salt,
        hash,
    })
}

fn verify_sha_crypt(stored: &ShaCrypt<'_>, plain: &[u8]) -> bool {
    let salt = stored.salt.as_bytes();
    let derived = match stored.variant {
        ShaVariant::Sha512 => sha_crypt::Sha512Params::new(stored.rounds)
            .and_then(|params| sha_crypt::sha512_crypt_b64(plain, salt, &params)),
        ShaVariant::Sha256 => sha_crypt::Sha256Params::new(stored.rounds)
            .and_then(|params| sha_crypt::sha256_crypt_b64(plain, salt, &params)),
    };
    // The rounds were range-checked by the parser, so an error here cannot be the peer's doing;
    // treat it as a mismatch rather than crash a login.
    match derived {
        Ok(derived) => derived.as_bytes().ct_eq(stored.hash.as_bytes()).into(),
        Err(_) => false,
    }
}

// ---- bcrypt ($2y$, $2b$, $2a$) ----

/// `$2y$NN$` followed by 22 salt and 31 hash characters of bcrypt's base64 alphabet.
fn parse_bcrypt(data: &str) -> Result<(), PasswordError> {
    const SCHEME: &str = "BLF-CRYPT";
    let bytes = data.as_bytes();
    let prefix_ok = ["$2y$", "$2b$", "$2a$"]
        .iter()
        .any(|prefix| data.starts_with(prefix));
    if !prefix_ok || bytes.len() != 60 || bytes[6] != b'$' {
        return Err(malformed(
            SCHEME,
            "not a $2y$/$2b$/$2a$ hash of 60 characters",
        ));
    }
    let cost: u32 = data[4..6]
        .parse()
        .map_err(|_| malformed(SCHEME, "cost is not a number"))?;
    if cost < BCRYPT_COST_MIN {
        return Err(malformed(SCHEME, "cost below 4"));
    }
    if cost > BCRYPT_COST_MAX {
        return Err(PasswordError::CostTooHigh { scheme: SCHEME });
    }
    if !bytes[7..].iter().all(|&c| is_crypt_b64(c)) {
        return Err(malformed(SCHEME, "bad character in salt or hash"));
    }
    Ok(())
}

fn verify_bcrypt(data: &str, plain: &[u8]) -> Result<bool, PasswordError> {
    // The bcrypt crate compares the derived hash with subtle. It treats $2a$ like $2b$, which is
    // what every implementation since 2011 writes.
    bcrypt::verify(plain, data).map_err(|_| malformed("BLF-CRYPT", "rejected by bcrypt"))
}

// ---- PLAIN ----

/// Compares two secrets in time independent of their contents and of the stored length:
/// `ct_eq` on slices of different lengths returns early, so compare fixed-size digests.
fn digest_eq(expected: &[u8], given: &[u8]) -> bool {
    let expected = Sha256::digest(expected);
    let given = Sha256::digest(given);
    expected.ct_eq(&given).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    // Fixed vectors computed on this machine with glibc/libxcrypt (Python's `crypt` module) and
    // `openssl passwd`, i.e. exactly what Dovecot writes into a passwd-file.
    const SHA512_PENCIL: &str = "$6$saltsalt$rD9fW1BwIrjB90WCgCTdIQc3phTBhf04I6Iw/XlgKD9E9aEbzqGZipjiFxGo/4wWXDA6jV6/vZO.kKdDSfUJb0";
    const SHA256_ROUNDS_PENCIL: &str =
        "$5$rounds=10000$saltstring$G9XSN7UG9FO.0foevMzu1oRFmYfafujusi.abXFQpb4";
    const SHA256_HORSE: &str = "$5$abcdefgh$ruMep1ijHnJPZbETDNiumskxcX3kN4lzZd5VlsqE7eB";
    const BCRYPT_2B_PENCIL: &str = "$2b$05$abcdefghijklmnopqrstuu680Yiaj5hFUaJTH/rTAcbA2PQEGfiZu";
    const BCRYPT_2Y_TANSTAAF: &str = "$2y$04$abcdefghijklmnopqrstuubfiOmsvTgpTMhATfs2zJzwk6p.WD0kS";
    const BCRYPT_2A_PENCIL: &str = "$2a$04$abcdefghijklmnopqrstuu/FyAyuZSl3DbPdvio4KrIBdz2k2yhV2";

    fn verify(stored: &str, plain: &str) -> bool {
        verify_password(stored, plain.as_bytes()).expect("stored string is valid")
    }

    #[test]
    fn argon2id_round_trip() {
        let stored = hash_password(b"correct horse").unwrap();
        assert!(stored.starts_with("{ARGON2ID}$argon2id$v=19$m=19456,t=2,p=1$"));
        check_stored(&stored).unwrap();
        assert!(verify(&stored, "correct horse"));
        assert!(!verify(&stored, "correct horsf"));
        assert!(plaintext(&stored).is_none());
        // Two hashes of one password differ by their random salt.
        assert_ne!(stored, hash_password(b"correct horse").unwrap());
    }

    #[test]
    fn argon2i_and_lowercase_scheme() {
        let params = Params::new(64, 1, 1, None).unwrap();
        let hasher = Argon2::new(Algorithm::Argon2i, Version::V0x13, params);
        let salt = SaltString::encode_b64(b"sixteen byte slt").unwrap();
        let phc = argon2::PasswordHasher::hash_password(&hasher, b"pencil", &salt).unwrap();
        let stored = format!("{{argon2i}}{phc}");
        assert!(verify(&stored, "pencil"));
        assert!(!verify(&stored, "Pencil"));
        // The PHC algorithm must match the scheme.
        let mismatched = format!("{{ARGON2ID}}{phc}");
        assert!(matches!(
            verify_password(&mismatched, b"pencil"),
            Err(PasswordError::Malformed { .. })
        ));
    }

    #[test]
    fn argon2_cost_is_bounded() {
        let stored = "{ARGON2ID}$argon2id$v=19$m=4194304,t=2,p=1$c2l4dGVlbiBieXRlIHNsdA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
        assert_eq!(
            check_stored(stored),
            Err(PasswordError::CostTooHigh { scheme: "ARGON2ID" })
        );
    }

    #[test]
    fn sha512_crypt_fixed_vector() {
        let stored = format!("{{SHA512-CRYPT}}{SHA512_PENCIL}");
        check_stored(&stored).unwrap();
        assert!(verify(&stored, "pencil"));
        assert!(!verify(&stored, "pencil "));
        assert!(verify(&format!("{{CRYPT}}{SHA512_PENCIL}"), "pencil"));
    }

    #[test]
    fn sha256_crypt_fixed_vectors() {
        let stored = format!("{{SHA256-CRYPT}}{SHA256_ROUNDS_PENCIL}");
        assert!(verify(&stored, "pencil"));
        assert!(!verify(&stored, "pencil2"));
        assert!(verify(
            &format!("{{SHA256-CRYPT}}{SHA256_HORSE}"),
            "correct horse"
        ));
        assert!(verify(&format!("{{CRYPT}}{SHA256_HORSE}"), "correct horse"));
    }

    #[test]
    fn sha_crypt_generated_round_trip() {
        let params = sha_crypt::Sha512Params::new(5_000).unwrap();
        let hash =
            sha_crypt::sha512_crypt_b64(b"\xffbinary\x00pw", b"0123456789abcdef", &params).unwrap();
        let stored = format!("{{SHA512-CRYPT}}$6$0123456789abcdef${hash}");
        assert!(verify_password(&stored, b"\xffbinary\x00pw").unwrap());
        assert!(!verify_password(&stored, b"\xffbinary\x00pX").unwrap());
    }

    #[test]
    fn sha_crypt_malformed() {
        for bad in [
            "{SHA512-CRYPT}$5$saltsalt$x",
            "{SHA512-CRYPT}$6$saltsalt",
            "{SHA512-CRYPT}$6$rounds=abc$salt$hash",
            "{SHA256-CRYPT}$5$salt$tooshort",
            "{SHA256-CRYPT}$5$salt$ruMep1ijHnJPZbETDNiumskxcX3kN4lzZd5VlsqE7eB$extra",
            "{SHA256-CRYPT}$5$salt$ruMep1ijHnJPZbETDNiumskxcX3kN4lzZd5VlsqE7e!",
        ] {
            assert!(
                matches!(check_stored(bad), Err(PasswordError::Malformed { .. })),
                "{bad}"
            );
        }
        assert_eq!(
            check_stored(
                "{SHA256-CRYPT}$5$rounds=999999999$s$ruMep1ijHnJPZbETDNiumskxcX3kN4lzZd5VlsqE7eB"
            ),
            Err(PasswordError::CostTooHigh {
                scheme: "SHA256-CRYPT"
            })
        );
    }

    #[test]
    fn bcrypt_fixed_vectors() {
        assert!(verify(
            &format!("{{BLF-CRYPT}}{BCRYPT_2B_PENCIL}"),
            "pencil"
        ));
        assert!(!verify(
            &format!("{{BLF-CRYPT}}{BCRYPT_2B_PENCIL}"),
            "pencils"
        ));
        assert!(verify(
            &format!("{{BLF-CRYPT}}{BCRYPT_2Y_TANSTAAF}"),
            "tanstaaftanstaaf"
        ));
        assert!(verify(
            &format!("{{BLF-CRYPT}}{BCRYPT_2A_PENCIL}"),
            "pencil"
        ));
        assert!(verify(
            &format!("{{CRYPT}}{BCRYPT_2Y_TANSTAAF}"),
            "tanstaaftanstaaf"
        ));
    }

    #[test]
    fn bcrypt_generated_round_trip() {
        let hash = bcrypt::hash(b"pencil", 4).unwrap();
        let stored = format!("{{BLF-CRYPT}}{hash}");
        check_stored(&stored).unwrap();
        assert!(verify(&stored, "pencil"));
        assert!(!verify(&stored, "pencil\0"));
    }

    #[test]
    fn bcrypt_malformed() {
        assert!(matches!(
            check_stored("{BLF-CRYPT}$2x$05$abcdefghijklmnopqrstuu680Yiaj5hFUaJTH/rTAcbA2PQEGfiZu"),
            Err(PasswordError::Malformed { .. })
        ));
        assert!(matches!(
            check_stored("{BLF-CRYPT}$2b$05$short"),
            Err(PasswordError::Malformed { .. })
        ));
        assert_eq!(
            check_stored("{BLF-CRYPT}$2b$31$abcdefghijklmnopqrstuu680Yiaj5hFUaJTH/rTAcbA2PQEGfiZu"),
            Err(PasswordError::CostTooHigh {
                scheme: "BLF-CRYPT"
            })
        );
    }

    #[test]
    fn plain_scheme() {
        assert!(verify("{PLAIN}tanstaaftanstaaf", "tanstaaftanstaaf"));
        assert!(!verify("{PLAIN}tanstaaftanstaaf", "tanstaaftanstaa"));
        assert!(!verify("{PLAIN}tanstaaftanstaaf", "tanstaaftanstaaff"));
        assert_eq!(
            plaintext("{PLAIN}tanstaaftanstaaf"),
            Some("tanstaaftanstaaf")
        );
        assert_eq!(plaintext("{plain}x}y"), Some("x}y"));
        assert_eq!(plaintext("{CLEAR}abc"), Some("abc"));
        assert_eq!(plaintext("tanstaaftanstaaf"), None);
        assert_eq!(plaintext(&format!("{{CRYPT}}{SHA512_PENCIL}")), None);
    }

    #[test]
    fn scheme_errors() {
        assert_eq!(
            verify_password("$6$saltsalt$abc", b"x"),
            Err(PasswordError::MissingScheme)
        );
        assert_eq!(check_stored("{PLAIN"), Err(PasswordError::MissingScheme));
        assert_eq!(check_stored(""), Err(PasswordError::MissingScheme));
        assert_eq!(
            check_stored("{MD5-CRYPT}$1$abc$def"),
            Err(PasswordError::UnknownScheme("MD5-CRYPT".into()))
        );
        assert_eq!(
            check_stored("{CRYPT}abJnggxhB/yWI"),
            Err(PasswordError::UnsupportedCrypt)
        );
        let long = format!("{{{}}}x", "A".repeat(100));
        assert_eq!(check_stored(&long), Err(PasswordError::MissingScheme));
        assert!(
            PasswordError::UnknownScheme("MD5".into())
                .to_string()
                .contains("{MD5}")
        );
    }
}
