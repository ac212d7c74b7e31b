//! Certificate chains and private keys from PEM files.

use super::TlsError;
use crate::config::CertificatePaths;
use rustls::crypto::CryptoProvider;
use rustls::sign::CertifiedKey;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::sync::Arc;

pub(super) fn load_certified_key(
    pair: &CertificatePaths,
    provider: &CryptoProvider,
) -> Result<Arc<CertifiedKey>, TlsError> {
    let read = |what: &'static str, path: &std::path::Path| {
        std::fs::read(path).map_err(|source| TlsError::Read {
            what,
            path: path.to_path_buf(),
            source,
        })
    };
    let chain_pem = read("certificate", &pair.certificate)?;
    let key_pem = read("private key", &pair.key)?;

    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&chain_pem)
        .collect::<Result<_, _>>()
        .map_err(|e| TlsError::Pem {
            path: pair.certificate.clone(),
            message: format!("not a PEM certificate chain: {e}"),
        })?;
    if chain.is_empty() {
        return Err(TlsError::Pem {
            path: pair.certificate.clone(),
            message: "no CERTIFICATE block found".to_string(),
        });
    }
    let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| TlsError::Pem {
        path: pair.key.clone(),
        message: format!("no usable private key (PKCS#8, PKCS#1 or SEC1 PEM expected): {e}"),
    })?;
    let signing_key = provider
        .key_provider
        .load_private_key(key)
        .map_err(|e| TlsError::Pem {
            path: pair.key.clone(),
            message: format!("unsupported private key: {e}"),
        })?;
    let certified = CertifiedKey::new(chain, signing_key);
    certified.keys_match().map_err(|e| TlsError::Mismatch {
        certificate: pair.certificate.clone(),
        key: pair.key.clone(),
        message: e.to_string(),
    })?;
    Ok(Arc::new(certified))
}
