use super::*;
use crate::config::CertificatePaths;

#[test]
fn self_signed_is_generated_once_and_reused() {
    let dir = tempfile::tempdir().expect("tempdir");
    server_config(&TlsConfig::default(), dir.path()).expect("config");
    let crt = dir.path().join("tls/self-signed.crt");
    let first = std::fs::read(&crt).expect("certificate written");
    server_config(&TlsConfig::default(), dir.path()).expect("config again");
    assert_eq!(first, std::fs::read(&crt).expect("certificate kept"));
    let mode = std::fs::metadata(dir.path().join("tls/self-signed.key"))
        .map(|m| std::os::unix::fs::PermissionsExt::mode(&m.permissions()))
        .expect("key");
    assert_eq!(mode & 0o777, 0o600);
}

#[test]
fn missing_certificate_file_is_named() {
    let config = TlsConfig {
        certificates: vec![CertificatePaths {
            certificate: "/nonexistent/cert.pem".into(),
            key: "/nonexistent/key.pem".into(),
        }],
    };
    let err = server_config(&config, std::path::Path::new("/tmp"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("/nonexistent/cert.pem"), "{err}");
}

#[test]
fn key_of_another_certificate_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let a = rcgen::generate_simple_self_signed(vec!["a.test".into()]).expect("a");
    let b = rcgen::generate_simple_self_signed(vec!["b.test".into()]).expect("b");
    std::fs::write(dir.path().join("a.crt"), a.cert.pem()).expect("write");
    std::fs::write(dir.path().join("b.key"), b.key_pair.serialize_pem()).expect("write");
    let config = TlsConfig {
        certificates: vec![CertificatePaths {
            certificate: dir.path().join("a.crt"),
            key: dir.path().join("b.key"),
        }],
    };
    let err = server_config(&config, dir.path()).unwrap_err().to_string();
    assert!(err.contains("do not belong together"), "{err}");
}

#[test]
fn garbage_pem_is_reported() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("x.crt"), "hello").expect("write");
    std::fs::write(dir.path().join("x.key"), "hello").expect("write");
    let config = TlsConfig {
        certificates: vec![CertificatePaths {
            certificate: dir.path().join("x.crt"),
            key: dir.path().join("x.key"),
        }],
    };
    let err = server_config(&config, dir.path()).unwrap_err().to_string();
    assert!(err.contains("x.crt"), "{err}");
}
