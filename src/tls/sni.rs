//! Certificate selection by SNI.

use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls_pki_types::ServerName;
use std::sync::Arc;

/// Picks the first certificate valid for the SNI name, else the first certificate. Matching uses
/// webpki's name rules (exact DNS names and wildcards), so the names need no configuration of
/// their own: they are the certificates' own subject alternative names.
#[derive(Debug)]
pub(super) struct SniResolver {
    keys: Vec<Arc<CertifiedKey>>,
}

impl SniResolver {
    pub(super) fn new(keys: Vec<Arc<CertifiedKey>>) -> Self {
        assert!(
            !keys.is_empty(),
            "a TLS configuration has at least one certificate"
        );
        SniResolver { keys }
    }

    fn find(&self, name: &str) -> Option<&Arc<CertifiedKey>> {
        let name = ServerName::try_from(name).ok()?;
        self.keys.iter().find(|key| {
            key.end_entity_cert()
                .ok()
                .and_then(|der| webpki::EndEntityCert::try_from(der).ok())
                .is_some_and(|cert| cert.verify_is_valid_for_subject_name(&name).is_ok())
        })
    }
}

impl ResolvesServerCert for SniResolver {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let chosen = hello.server_name().and_then(|name| self.find(name));
        Some(Arc::clone(chosen.unwrap_or(&self.keys[0])))
    }
}
