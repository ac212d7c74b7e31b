//! rustls server configuration: PEM loading, SNI, the self-signed default, and reload.
//!
//! TLS 1.2 and 1.3 with the ring provider. Certificates come from `[tls] certificate` pairs in
//! the configuration; the first is the default, the others are chosen by SNI against the names
//! each certificate is valid for (wildcards included). Without any pair, a self-signed
//! certificate is generated in the data dir on first start and kept there. On SIGHUP the runtime
//! builds a new configuration with [`server_config`] and hands it to the shards: new connections
//! use it, established ones keep the one they started with.

mod pem;
mod self_signed;
mod sni;

pub use self_signed::SELF_SIGNED_DIR;

use crate::config::{Config, ListenerConfig, TlsConfig};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The server configurations of every TLS listener: the `[tls]` one, and one for each listener
/// that names certificates of its own.
#[derive(Debug, Clone)]
pub struct TlsConfigs {
    default: Arc<rustls::ServerConfig>,
    listeners: Vec<(SocketAddr, Arc<rustls::ServerConfig>)>,
}

impl TlsConfigs {
    pub fn for_listener(&self, listener: &ListenerConfig) -> Arc<rustls::ServerConfig> {
        self.listeners
            .iter()
            .find(|(address, _)| *address == listener.address)
            .map_or_else(|| Arc::clone(&self.default), |(_, c)| Arc::clone(c))
    }

    /// One configuration for everything (tests, tools).
    pub fn single(config: Arc<rustls::ServerConfig>) -> Self {
        TlsConfigs {
            default: config,
            listeners: Vec::new(),
        }
    }
}

/// Builds (or, on SIGHUP, rebuilds) every listener's TLS configuration from the files.
pub fn server_configs(config: &Config) -> Result<TlsConfigs, TlsError> {
    let default = server_config(&config.tls, &config.data_dir)?;
    let mut listeners = Vec::new();
    for listener in config
        .listeners
        .iter()
        .filter(|l| !l.certificates.is_empty())
    {
        let own = TlsConfig {
            certificates: listener.certificates.clone(),
        };
        listeners.push((listener.address, server_config(&own, &config.data_dir)?));
    }
    Ok(TlsConfigs { default, listeners })
}

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read {what} {path}: {source}")]
    Read {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Pem { path: PathBuf, message: String },
    #[error("certificate {certificate} and key {key} do not belong together: {message}")]
    Mismatch {
        certificate: PathBuf,
        key: PathBuf,
        message: String,
    },
    #[error("cannot create the self-signed certificate in {path}: {message}")]
    SelfSigned { path: PathBuf, message: String },
    #[error("TLS configuration: {0}")]
    Rustls(#[from] rustls::Error),
}

/// Builds the server configuration that every TLS listener shares.
pub fn server_config(
    config: &TlsConfig,
    data_dir: &Path,
) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let pairs = if config.certificates.is_empty() {
        vec![self_signed::ensure(data_dir)?]
    } else {
        config.certificates.clone()
    };
    let mut keys = Vec::with_capacity(pairs.len());
    for pair in &pairs {
        keys.push(pem::load_certified_key(pair, &provider)?);
    }
    let resolver = sni::SniResolver::new(keys);
    let server = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(resolver));
    Ok(Arc::new(server))
}

#[cfg(test)]
mod tests;
