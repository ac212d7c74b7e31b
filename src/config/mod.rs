//! `postern.toml`: embedded defaults, loading, and errors that name file, line and key.
//!
//! The file is deserialised with `deny_unknown_fields`, so a misspelt key is an error that names
//! the key, its line and the keys accepted there; enumerations list their accepted values. Checks
//! that need more than one field (two listeners on one address, a certificate without a key)
//! carry the span of the offending value so they can name the line too.

mod file;
mod listener;

pub use listener::{ListenerConfig, Protocol, TlsMode};

use crate::auth::sasl::Mechanism;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The embedded default data dir, relative to the working directory.
pub const DATA_DIR_DEFAULT: &str = "postern-data";
/// Partitions created with a new data dir; fixed for its lifetime.
pub const PARTITIONS_DEFAULT: u32 = 1024;
pub const PARTITIONS_MAX: u32 = 1 << 16;
/// How long in-flight commands get to finish after SIGTERM before shards stop anyway.
pub const SHUTDOWN_GRACE_SECS_DEFAULT: u64 = 10;
pub const SHARDS_MAX: usize = 1024;

#[derive(Debug, Clone)]
pub struct Config {
    /// The file this came from; `None` for the embedded defaults.
    pub source: Option<PathBuf>,
    pub data_dir: PathBuf,
    /// Our name in greetings, Received headers and SASL/APOP challenges.
    pub hostname: String,
    /// `None`: the partition table's count for an existing data dir, else the usable CPUs.
    pub shards: Option<usize>,
    /// Used only when a data dir is created.
    pub partitions: u32,
    pub shutdown_grace: Duration,
    pub log_filter: String,
    pub tls: TlsConfig,
    pub auth: AuthConfig,
    pub limits: LimitsConfig,
    pub listeners: Vec<ListenerConfig>,
}

/// Connection limits, per shard (the kernel spreads connections over the shards).
#[derive(Debug, Clone)]
pub struct LimitsConfig {
    pub connections_per_shard_max: u32,
    /// Generous by default: mobile carriers put many customers behind one address.
    pub connections_per_ip_max: u32,
    /// A write that can't make progress this long (a client that never reads) ends the
    /// connection.
    pub write_timeout: Duration,
    /// POP3 LOGIN-DELAY (RFC 2449 §6.5): the least time between two logins of one account;
    /// 0 for none. Announced in CAPA and enforced on the account's shard.
    pub pop3_login_delay: Duration,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            connections_per_shard_max: 50_000,
            connections_per_ip_max: 200,
            write_timeout: Duration::from_secs(120),
            pop3_login_delay: Duration::ZERO,
        }
    }
}

/// Certificates offered by TLS listeners. The first pair is the default (no SNI, or no name
/// matched); the others are chosen by SNI against the names their certificates are valid for.
/// An empty list means a self-signed certificate generated in the data dir on first start.
#[derive(Debug, Clone, Default)]
pub struct TlsConfig {
    pub certificates: Vec<CertificatePaths>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificatePaths {
    pub certificate: PathBuf,
    pub key: PathBuf,
}

#[derive(Debug, Clone)]
pub struct AuthConfig {
    /// Allow PLAIN/LOGIN/USER-PASS without TLS when the peer is on a loopback address.
    pub plaintext_on_loopback: bool,
    /// Failed logins from one IP before further attempts are refused for `failure_window`.
    pub failures_per_ip_max: u32,
    pub failure_window: Duration,
    /// The first failure's delay; each further failure from the same IP doubles it.
    pub failure_delay_base: Duration,
    pub failure_delay_max: Duration,
    /// SASL mechanisms offered by SMTP submission and POP3 (IMAP as it lands).
    pub mechanisms: Vec<Mechanism>,
    /// POP3 APOP (needs `{PLAIN}` passwords; off by default).
    pub apop: bool,
}

/// Offered unless configured otherwise. CRAM-MD5 is left out: it works only for accounts whose
/// stored password is `{PLAIN}`, and clients that see it prefer it and do not fall back.
pub const MECHANISMS_DEFAULT: [Mechanism; 4] = [
    Mechanism::ScramSha256Plus,
    Mechanism::ScramSha256,
    Mechanism::Plain,
    Mechanism::Login,
];

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            plaintext_on_loopback: true,
            failures_per_ip_max: 20,
            failure_window: Duration::from_secs(300),
            failure_delay_base: Duration::from_millis(250),
            failure_delay_max: Duration::from_secs(8),
            mechanisms: MECHANISMS_DEFAULT.to_vec(),
            apop: false,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read configuration {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// Syntax errors, unknown keys and bad values, as reported by the TOML reader (which names
    /// the line, the key and the accepted keys or values).
    #[error("configuration {path}: {message}")]
    Parse { path: PathBuf, message: String },
    /// A value that parsed but does not make sense, with its line.
    #[error("configuration {path}, line {line}, key `{key}`: {message}")]
    Invalid {
        path: PathBuf,
        line: usize,
        key: String,
        message: String,
    },
}

impl Config {
    /// The embedded defaults when `path` is `None`, else everything from the file.
    pub fn load(path: Option<&Path>) -> Result<Config, ConfigError> {
        match path {
            None => Ok(Config::embedded()),
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.to_path_buf(),
                    source,
                })?;
                file::parse(path, &text)
            }
        }
    }

    /// What `postern serve` runs with when given no file: loopback listeners at the standard
    /// ports + 2000, so it runs as a normal user beside a system mail server.
    pub fn embedded() -> Config {
        let loopback = |port: u16, protocol: Protocol| ListenerConfig {
            address: SocketAddr::from(([127, 0, 0, 1], port)),
            tls: protocol.default_tls(),
            protocol,
            certificates: Vec::new(),
        };
        Config {
            source: None,
            data_dir: PathBuf::from(DATA_DIR_DEFAULT),
            hostname: system_hostname(),
            shards: None,
            partitions: PARTITIONS_DEFAULT,
            shutdown_grace: Duration::from_secs(SHUTDOWN_GRACE_SECS_DEFAULT),
            log_filter: "info".to_string(),
            tls: TlsConfig::default(),
            auth: AuthConfig::default(),
            limits: LimitsConfig::default(),
            listeners: vec![
                loopback(2025, Protocol::Smtp),
                loopback(2587, Protocol::Submission),
                loopback(2465, Protocol::Submissions),
                loopback(2024, Protocol::Lmtp),
                loopback(2143, Protocol::Imap),
                loopback(2993, Protocol::Imaps),
                loopback(2110, Protocol::Pop3),
                loopback(2995, Protocol::Pop3s),
            ],
        }
    }

    /// The file name for messages: the config path, or "embedded defaults".
    pub fn source_name(&self) -> String {
        match &self.source {
            Some(p) => p.display().to_string(),
            None => "embedded defaults".to_string(),
        }
    }
}

/// The machine's host name, or "localhost" when it has none that is printable ASCII.
pub fn system_hostname() -> String {
    let mut buffer = [0u8; 256];
    // SAFETY: gethostname writes at most `buffer.len()` octets into `buffer`.
    let ok = unsafe { libc::gethostname(buffer.as_mut_ptr().cast(), buffer.len()) } == 0;
    let end = buffer.iter().position(|&b| b == 0).unwrap_or(buffer.len());
    let name = &buffer[..end];
    let printable = |b: &u8| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'.';
    if ok && !name.is_empty() && name.iter().all(printable) {
        String::from_utf8_lossy(name).into_owned()
    } else {
        "localhost".to_string()
    }
}

#[cfg(test)]
mod tests;
