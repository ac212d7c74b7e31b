//! The TOML shape of `postern.toml` and its conversion into [`Config`].

use super::listener::{ListenerConfig, Protocol, TlsMode};
use super::{
    AuthConfig, CertificatePaths, Config, ConfigError, LimitsConfig, PARTITIONS_MAX, SHARDS_MAX,
    TlsConfig,
};
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;
use toml::Spanned;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    data_dir: Option<PathBuf>,
    hostname: Option<Spanned<String>>,
    shards: Option<Spanned<usize>>,
    partitions: Option<Spanned<u32>>,
    shutdown_grace_secs: Option<u64>,
    log: Option<String>,
    #[serde(default)]
    tls: FileTls,
    #[serde(default)]
    auth: FileAuth,
    #[serde(default)]
    limits: FileLimits,
    #[serde(default)]
    listener: Vec<FileListener>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FileLimits {
    connections_per_shard_max: Option<Spanned<u32>>,
    connections_per_ip_max: Option<Spanned<u32>>,
    write_timeout_secs: Option<Spanned<u64>>,
    pop3_login_delay_secs: Option<u32>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FileTls {
    #[serde(default)]
    certificate: Vec<Spanned<FileCertificate>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileCertificate {
    certificate: PathBuf,
    key: PathBuf,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FileAuth {
    plaintext_on_loopback: Option<bool>,
    failures_per_ip_max: Option<u32>,
    failure_window_secs: Option<u64>,
    failure_delay_base_ms: Option<u64>,
    failure_delay_max_ms: Option<Spanned<u64>>,
    mechanisms: Option<Spanned<Vec<String>>>,
    apop: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileListener {
    protocol: Protocol,
    address: Spanned<String>,
    tls: Option<Spanned<TlsMode>>,
    #[serde(default)]
    certificate: Vec<FileCertificate>,
}

pub(super) fn parse(path: &Path, text: &str) -> Result<Config, ConfigError> {
    let file: FileConfig = toml::from_str(text).map_err(|e| ConfigError::Parse {
        path: path.to_path_buf(),
        message: e.to_string().trim_end().to_string(),
    })?;
    let invalid = |span: std::ops::Range<usize>, key: &str, message: String| ConfigError::Invalid {
        path: path.to_path_buf(),
        line: line_of(text, span.start),
        key: key.to_string(),
        message,
    };
    let base = Config::embedded();
    let hostname = match file.hostname {
        Some(name) => {
            let valid = !name.get_ref().is_empty()
                && name.get_ref().len() <= 253
                && name
                    .get_ref()
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
            if !valid {
                return Err(invalid(
                    name.span(),
                    "hostname",
                    "must be a DNS name: letters, digits, hyphens and dots".to_string(),
                ));
            }
            name.into_inner()
        }
        None => base.hostname.clone(),
    };

    let shards = match file.shards {
        Some(s) if *s.get_ref() == 0 || *s.get_ref() > SHARDS_MAX => {
            return Err(invalid(
                s.span(),
                "shards",
                format!("must be from 1 to {SHARDS_MAX} (leave it out to use every usable CPU)"),
            ));
        }
        Some(s) => Some(s.into_inner()),
        None => None,
    };
    let partitions = match file.partitions {
        Some(p) if !(1..=PARTITIONS_MAX).contains(p.get_ref()) => {
            return Err(invalid(
                p.span(),
                "partitions",
                format!("must be from 1 to {PARTITIONS_MAX}"),
            ));
        }
        Some(p) => p.into_inner(),
        None => base.partitions,
    };

    let mut listeners: Vec<ListenerConfig> = Vec::with_capacity(file.listener.len());
    for entry in file.listener {
        let span = entry.address.span();
        let address: SocketAddr = entry.address.get_ref().parse().map_err(|_| {
            invalid(
                span.clone(),
                "listener.address",
                format!(
                    "`{}` is not an address with a port, such as \"0.0.0.0:993\" or \"[::]:993\"",
                    entry.address.get_ref()
                ),
            )
        })?;
        if let Some(previous) = listeners.iter().find(|l| l.address == address) {
            return Err(invalid(
                span,
                "listener.address",
                format!(
                    "{address} is already used by the {} listener",
                    previous.protocol.name()
                ),
            ));
        }
        let tls = match entry.tls {
            Some(t) => {
                check_tls_mode(entry.protocol, *t.get_ref())
                    .map_err(|m| invalid(t.span(), "listener.tls", m))?;
                t.into_inner()
            }
            None => entry.protocol.default_tls(),
        };
        listeners.push(ListenerConfig {
            protocol: entry.protocol,
            address,
            tls,
            certificates: entry
                .certificate
                .into_iter()
                .map(|c| CertificatePaths {
                    certificate: c.certificate,
                    key: c.key,
                })
                .collect(),
        });
    }

    let auth_base = AuthConfig::default();
    let mut auth = AuthConfig {
        plaintext_on_loopback: file
            .auth
            .plaintext_on_loopback
            .unwrap_or(auth_base.plaintext_on_loopback),
        failures_per_ip_max: file
            .auth
            .failures_per_ip_max
            .unwrap_or(auth_base.failures_per_ip_max),
        failure_window: file
            .auth
            .failure_window_secs
            .map_or(auth_base.failure_window, Duration::from_secs),
        failure_delay_base: file
            .auth
            .failure_delay_base_ms
            .map_or(auth_base.failure_delay_base, Duration::from_millis),
        failure_delay_max: file
            .auth
            .failure_delay_max_ms
            .as_ref()
            .map_or(auth_base.failure_delay_max, |m| {
                Duration::from_millis(*m.get_ref())
            }),
        mechanisms: auth_base.mechanisms.clone(),
        apop: auth_base.apop,
    };
    if let Some(apop) = file.auth.apop {
        auth.apop = apop;
    }
    if let Some(names) = file.auth.mechanisms {
        let span = names.span();
        let mut mechanisms = Vec::new();
        for name in names.into_inner() {
            let Some(mechanism) = crate::auth::sasl::Mechanism::parse(&name) else {
                let accepted: Vec<&str> = crate::auth::sasl::Mechanism::ALL
                    .iter()
                    .map(|m| m.name())
                    .collect();
                return Err(invalid(
                    span,
                    "auth.mechanisms",
                    format!(
                        "`{name}` is not a mechanism; accepted: {}",
                        accepted.join(", ")
                    ),
                ));
            };
            if !mechanisms.contains(&mechanism) {
                mechanisms.push(mechanism);
            }
        }
        auth.mechanisms = mechanisms;
    }
    if auth.failure_delay_max < auth.failure_delay_base {
        let span = file.auth.failure_delay_max_ms.map_or(0..0, |m| m.span());
        return Err(invalid(
            span,
            "auth.failure_delay_max_ms",
            "must not be less than auth.failure_delay_base_ms".to_string(),
        ));
    }

    let limits_base = LimitsConfig::default();
    let limits = LimitsConfig {
        connections_per_shard_max: file
            .limits
            .connections_per_shard_max
            .as_ref()
            .map_or(limits_base.connections_per_shard_max, |v| *v.get_ref()),
        connections_per_ip_max: file
            .limits
            .connections_per_ip_max
            .as_ref()
            .map_or(limits_base.connections_per_ip_max, |v| *v.get_ref()),
        write_timeout: match &file.limits.write_timeout_secs {
            Some(secs) if *secs.get_ref() == 0 => {
                return Err(invalid(
                    secs.span(),
                    "limits.write_timeout_secs",
                    "must be at least 1".to_string(),
                ));
            }
            Some(secs) => Duration::from_secs(*secs.get_ref()),
            None => limits_base.write_timeout,
        },
        pop3_login_delay: file
            .limits
            .pop3_login_delay_secs
            .map_or(limits_base.pop3_login_delay, |secs| {
                Duration::from_secs(u64::from(secs))
            }),
    };
    if limits.connections_per_ip_max == 0
        || limits.connections_per_ip_max > limits.connections_per_shard_max
    {
        let span = file
            .limits
            .connections_per_ip_max
            .map_or(0..0, |v| v.span());
        return Err(invalid(
            span,
            "limits.connections_per_ip_max",
            format!(
                "must be from 1 to limits.connections_per_shard_max ({})",
                limits.connections_per_shard_max
            ),
        ));
    }

    let tls = TlsConfig {
        certificates: file
            .tls
            .certificate
            .into_iter()
            .map(|c| {
                let c = c.into_inner();
                CertificatePaths {
                    certificate: c.certificate,
                    key: c.key,
                }
            })
            .collect(),
    };

    Ok(Config {
        source: Some(path.to_path_buf()),
        data_dir: file.data_dir.unwrap_or(base.data_dir),
        hostname,
        shards,
        partitions,
        shutdown_grace: file
            .shutdown_grace_secs
            .map_or(base.shutdown_grace, Duration::from_secs),
        log_filter: file.log.unwrap_or(base.log_filter),
        tls,
        auth,
        limits,
        listeners,
    })
}

/// Implicit-TLS services never run in plaintext, and plaintext services can't be implicit TLS
/// on their well-known meaning; LMTP may use STARTTLS or none.
fn check_tls_mode(protocol: Protocol, tls: TlsMode) -> Result<(), String> {
    let allowed: &[TlsMode] = match protocol {
        Protocol::Submissions | Protocol::Imaps | Protocol::Pop3s => &[TlsMode::Implicit],
        Protocol::Lmtp => &[TlsMode::None, TlsMode::Starttls],
        Protocol::Smtp | Protocol::Submission | Protocol::Imap | Protocol::Pop3 => {
            &[TlsMode::Starttls, TlsMode::None]
        }
    };
    if allowed.contains(&tls) {
        return Ok(());
    }
    let names: Vec<&str> = allowed.iter().map(|t| tls_name(*t)).collect();
    Err(format!(
        "`{}` is not possible for {}; accepted: {}",
        tls_name(tls),
        protocol.name(),
        names.join(", ")
    ))
}

fn tls_name(tls: TlsMode) -> &'static str {
    match tls {
        TlsMode::None => "none",
        TlsMode::Starttls => "starttls",
        TlsMode::Implicit => "implicit",
    }
}

/// 1-based line of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}
