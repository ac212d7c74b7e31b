//! The self-signed certificate that lets `postern serve` offer TLS with no configuration.

use super::TlsError;
use crate::config::CertificatePaths;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// Directory inside the data dir that holds the generated pair.
pub const SELF_SIGNED_DIR: &str = "tls";
const CERTIFICATE_FILE: &str = "self-signed.crt";
const KEY_FILE: &str = "self-signed.key";

/// Returns the pair in `data_dir/tls`, generating it first if it is not there.
pub(super) fn ensure(data_dir: &Path) -> Result<CertificatePaths, TlsError> {
    let dir = data_dir.join(SELF_SIGNED_DIR);
    let pair = CertificatePaths {
        certificate: dir.join(CERTIFICATE_FILE),
        key: dir.join(KEY_FILE),
    };
    if pair.certificate.exists() && pair.key.exists() {
        return Ok(pair);
    }
    let fail = |message: String| TlsError::SelfSigned {
        path: dir.clone(),
        message,
    };
    let names = vec![
        "localhost".to_string(),
        "127.0.0.1".to_string(),
        "::1".to_string(),
    ];
    let generated = rcgen::generate_simple_self_signed(names).map_err(|e| fail(e.to_string()))?;
    std::fs::create_dir_all(&dir).map_err(|e| fail(e.to_string()))?;
    // The key first and private (0600); the certificate's presence marks the pair complete.
    write_file(
        &pair.key,
        generated.key_pair.serialize_pem().as_bytes(),
        0o600,
    )
    .map_err(|e| fail(e.to_string()))?;
    write_file(&pair.certificate, generated.cert.pem().as_bytes(), 0o644)
        .map_err(|e| fail(e.to_string()))?;
    Ok(pair)
}

fn write_file(path: &Path, bytes: &[u8], mode: u32) -> std::io::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}
