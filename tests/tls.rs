//! TLS over real sockets with the server's own pieces: `runtime::listener` binds, `net::Connection`
//! drives rustls, `tls::server_config` chooses the certificate by SNI. Clients: rustls and
//! `openssl s_client`. A TLS connection is also moved between two executors mid-session, as the
//! server does when it hands a connection to the shard that owns the account.

use postern::config::{CertificatePaths, ListenerConfig, Protocol, TlsConfig, TlsMode};
use postern::net::{Connection, PortableConnection};
use postern::runtime::listener;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, Mutex, mpsc};

/// Writes a certificate for `name` (CN and SAN) and returns its paths.
fn certificate(dir: &std::path::Path, name: &str) -> CertificatePaths {
    let mut params = rcgen::CertificateParams::new(vec![name.to_string()]).expect("params");
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, name);
    let key = rcgen::KeyPair::generate().expect("key");
    let cert = params.self_signed(&key).expect("certificate");
    let paths = CertificatePaths {
        certificate: dir.join(format!("{name}.crt")),
        key: dir.join(format!("{name}.key")),
    };
    std::fs::write(&paths.certificate, cert.pem()).expect("write certificate");
    std::fs::write(&paths.key, key.serialize_pem()).expect("write key");
    paths
}

/// A server on one executor: each connection does the TLS handshake, then answers every line
/// with `<SNI name or -> <line>` until the client closes. With `migrate`, after the first line
/// the connection is moved to a second executor, which answers the rest.
fn start_server(tls: TlsConfig, data_dir: &std::path::Path, migrate: bool) -> SocketAddr {
    let server_config = postern::tls::server_config(&tls, data_dir).expect("tls config");
    let listener_config = ListenerConfig {
        protocol: Protocol::Imaps,
        address: "127.0.0.1:0".parse().expect("address"),
        tls: TlsMode::Implicit,
        certificates: Vec::new(),
    };
    let bound = listener::bind(&listener_config, 1).expect("bind");
    let socket = bound.sockets.into_iter().next().expect("one socket");
    let address = socket2::SockRef::from(&socket)
        .local_addr()
        .expect("local address")
        .as_socket()
        .expect("inet");

    let (handoff_sender, handoff_receiver) = mpsc::channel::<(PortableConnection, Vec<u8>)>();
    if migrate {
        glommio::LocalExecutorBuilder::new(glommio::Placement::Unbound)
            .io_memory(1 << 20)
            .spawn(move || async move {
                // A blocking recv would stall this executor's own tasks: poll instead.
                loop {
                    match handoff_receiver.try_recv() {
                        Ok((portable, pending)) => {
                            let connection = portable.resume().expect("resume");
                            glommio::spawn_local(answer_lines(connection, pending, None)).detach();
                        }
                        Err(mpsc::TryRecvError::Empty) => {
                            glommio::timer::sleep(std::time::Duration::from_millis(2)).await;
                        }
                        Err(mpsc::TryRecvError::Disconnected) => break,
                    }
                }
            })
            .expect("second executor");
    }
    glommio::LocalExecutorBuilder::new(glommio::Placement::Unbound)
        .io_memory(1 << 20)
        .spawn(move || async move {
            let listener = listener::into_glommio(socket);
            loop {
                let Ok(stream) = listener.accept().await else {
                    continue;
                };
                let mut connection = Connection::new(stream).expect("connection");
                let config = Arc::clone(&server_config);
                let handoff = migrate.then(|| handoff_sender.clone());
                glommio::spawn_local(async move {
                    if connection.start_tls(config).await.is_ok() {
                        answer_lines(connection, Vec::new(), handoff).await;
                    }
                })
                .detach();
            }
        })
        .expect("executor");
    address
}

async fn answer_lines(
    mut connection: Connection,
    mut pending: Vec<u8>,
    handoff: Option<mpsc::Sender<(PortableConnection, Vec<u8>)>>,
) {
    let mut buffer = [0u8; 4096];
    loop {
        while let Some(end) = pending.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = pending.drain(..=end).collect();
            let name = connection.server_name().unwrap_or("-").to_string();
            let mut reply = format!("{name} ").into_bytes();
            reply.extend_from_slice(&line);
            if connection.write_all(&reply).await.is_err() {
                return;
            }
            if let Some(handoff) = &handoff {
                let portable = connection.into_portable().expect("portable");
                handoff.send((portable, pending)).expect("handoff");
                return;
            }
        }
        match connection.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(n) => pending.extend_from_slice(&buffer[..n]),
        }
    }
}

/// Accepts any certificate, remembering the one presented (the test checks which it was).
#[derive(Debug)]
struct Recorder {
    seen: Mutex<Vec<CertificateDer<'static>>>,
    provider: Arc<rustls::crypto::CryptoProvider>,
}

impl ServerCertVerifier for Recorder {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.seen
            .lock()
            .expect("lock")
            .push(end_entity.clone().into_owned());
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.provider.signature_verification_algorithms;
        rustls::crypto::verify_tls12_signature(message, cert, dss, algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.provider.signature_verification_algorithms;
        rustls::crypto::verify_tls13_signature(message, cert, dss, algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// Connects with rustls (the given TLS version), sends `lines`, returns the replies and the
/// certificate the server presented.
fn rustls_exchange(
    address: SocketAddr,
    sni: &str,
    version: &'static rustls::SupportedProtocolVersion,
    lines: &[&str],
) -> (Vec<String>, CertificateDer<'static>) {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let recorder = Arc::new(Recorder {
        seen: Mutex::new(Vec::new()),
        provider: Arc::clone(&provider),
    });
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[version])
        .expect("versions")
        .dangerous()
        .with_custom_certificate_verifier(recorder.clone())
        .with_no_client_auth();
    let name = ServerName::try_from(sni.to_string()).expect("name");
    let connection = rustls::ClientConnection::new(Arc::new(config), name).expect("client");
    let socket = TcpStream::connect(address).expect("connect");
    let mut stream = rustls::StreamOwned::new(connection, socket);
    let mut replies = Vec::new();
    for line in lines {
        stream
            .write_all(format!("{line}\r\n").as_bytes())
            .expect("write");
        let mut reply = String::new();
        BufReader::new(&mut stream)
            .read_line(&mut reply)
            .expect("read");
        replies.push(reply);
    }
    assert_eq!(
        stream.conn.protocol_version(),
        Some(version.version),
        "negotiated version"
    );
    let seen = recorder.seen.lock().expect("lock").clone();
    (
        replies,
        seen.into_iter()
            .next()
            .expect("a certificate was presented"),
    )
}

fn common_name_of(der: &CertificateDer<'_>) -> String {
    // The CN is the only printable string the test certificates carry besides their SAN, which
    // holds the same name: find either.
    let bytes = der.as_ref();
    ["a.test", "b.test"]
        .into_iter()
        .find(|name| bytes.windows(name.len()).any(|w| w == name.as_bytes()))
        .unwrap_or("unknown")
        .to_string()
}

fn two_certificates() -> (tempfile::TempDir, TlsConfig) {
    let dir = tempfile::tempdir().expect("tempdir");
    let a = certificate(dir.path(), "a.test");
    let b = certificate(dir.path(), "b.test");
    (
        dir,
        TlsConfig {
            certificates: vec![a, b],
        },
    )
}

#[test]
fn sni_selects_the_certificate_and_both_tls_versions_work() {
    let (dir, tls) = two_certificates();
    let address = start_server(tls, dir.path(), false);
    for version in [&rustls::version::TLS13, &rustls::version::TLS12] {
        let (replies, cert) = rustls_exchange(address, "b.test", version, &["hello", "again"]);
        assert_eq!(replies, ["b.test hello\r\n", "b.test again\r\n"]);
        assert_eq!(common_name_of(&cert), "b.test");
        let (_, cert) = rustls_exchange(address, "a.test", version, &["x"]);
        assert_eq!(common_name_of(&cert), "a.test");
        // An unknown name gets the default (first) certificate.
        let (_, cert) = rustls_exchange(address, "other.test", version, &["x"]);
        assert_eq!(common_name_of(&cert), "a.test");
    }
}

#[test]
fn openssl_s_client_sees_the_sni_certificate() {
    let (dir, tls) = two_certificates();
    let address = start_server(tls, dir.path(), false);
    for (sni, expected) in [("b.test", "CN=b.test"), ("a.test", "CN=a.test")] {
        let output = std::process::Command::new("openssl")
            .args([
                "s_client",
                "-connect",
                &address.to_string(),
                "-servername",
                sni,
            ])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .and_then(|mut child| {
                child.stdin.take().expect("stdin").write_all(b"ping\r\n")?;
                child.wait_with_output()
            })
            .expect("openssl s_client runs (tests/run installs openssl)");
        let text = String::from_utf8_lossy(&output.stdout).replace(" = ", "=");
        assert!(text.contains(&format!("subject={expected}")), "{text}");
        assert!(text.contains("Verify return code"), "{text}");
    }
}

#[test]
fn a_tls_connection_moves_between_executors_mid_session() {
    let (dir, tls) = two_certificates();
    let address = start_server(tls, dir.path(), true);
    let lines = ["before the move", "after the move", "and more"];
    let (replies, _) = rustls_exchange(address, "b.test", &rustls::version::TLS13, &lines);
    assert_eq!(
        replies,
        [
            "b.test before the move\r\n",
            "b.test after the move\r\n",
            "b.test and more\r\n"
        ]
    );
}

/// rustls takes at most 64 KiB of plaintext at once: a larger reply must still arrive whole.
#[test]
fn replies_larger_than_the_tls_buffer_arrive_whole() {
    let (dir, tls) = two_certificates();
    let address = start_server(tls, dir.path(), false);
    let long = "x".repeat(300_000);
    let (replies, _) = rustls_exchange(
        address,
        "a.test",
        &rustls::version::TLS13,
        &[&long, "after"],
    );
    assert_eq!(replies[0].len(), "a.test ".len() + long.len() + 2);
    assert_eq!(replies[1], "a.test after\r\n");
}

#[test]
fn self_signed_default_serves_tls_with_no_configuration() {
    let dir = tempfile::tempdir().expect("tempdir");
    let address = start_server(TlsConfig::default(), dir.path(), false);
    let (replies, _) = rustls_exchange(address, "localhost", &rustls::version::TLS13, &["hi"]);
    assert_eq!(replies, ["localhost hi\r\n"]);
}
