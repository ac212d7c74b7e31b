//! SCRAM-SHA-256-PLUS with `tls-exporter` channel binding (RFC 5802, RFC 7677, RFC 9266)
//! against the real binary over POP3S. Python's ssl module can't export keying material, so the
//! client is rustls, and the SCRAM client side is written out here from the RFC.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, Mac};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use sha2::{Digest, Sha256};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

const USER: &str = "alice@example.test";
const PASSWORD: &str = "alice-secret";

struct Server {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        // SAFETY: kill sends a signal to our own child's pid.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let _ = self.child.wait();
    }
}

fn start_server() -> Server {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let binary = env!("CARGO_BIN_EXE_postern");
    let run = |args: &[&str], input: &str| {
        let mut child = Command::new(binary)
            .args(args)
            .arg("--data-dir")
            .arg(&data)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("cli");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input.as_bytes())
            .expect("write");
        assert!(child.wait().expect("wait").success(), "postern {args:?}");
    };
    run(&["domain", "add", "example.test"], "");
    run(
        &["user", "add", USER, "--password-stdin"],
        &format!("{PASSWORD}\n"),
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let config = dir.path().join("postern.toml");
    std::fs::write(
        &config,
        format!(
            "data_dir = \"{}\"\n[[listener]]\nprotocol = \"pop3s\"\naddress = \"127.0.0.1:{port}\"\n",
            data.display()
        ),
    )
    .expect("config");
    let mut child = Command::new(binary)
        .args(["serve", "--config"])
        .arg(&config)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("serve");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    loop {
        let line = lines.next().expect("server output").expect("line");
        if line.starts_with("postern: serving with") {
            break;
        }
    }
    Server {
        child,
        port,
        _dir: dir,
    }
}

#[derive(Debug)]
struct AcceptAny(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for AcceptAny {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(m, c, d, &self.0.signature_verification_algorithms)
    }
    fn verify_tls13_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(m, c, d, &self.0.signature_verification_algorithms)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// One buffered reader per connection: lines read ahead stay in it.
type Tls = BufReader<rustls::StreamOwned<rustls::ClientConnection, TcpStream>>;

fn connect(port: u16, version: &'static rustls::SupportedProtocolVersion) -> Tls {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_protocol_versions(&[version])
        .expect("versions")
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AcceptAny(provider)))
        .with_no_client_auth();
    let name = ServerName::try_from("localhost").expect("name");
    let connection = rustls::ClientConnection::new(Arc::new(config), name).expect("client");
    let socket = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    let mut tls = BufReader::new(rustls::StreamOwned::new(connection, socket));
    assert!(read_line(&mut tls).starts_with("+OK"), "greeting");
    tls
}

fn read_line(tls: &mut Tls) -> String {
    let mut line = String::new();
    tls.read_line(&mut line).expect("read");
    line
}

fn command(tls: &mut Tls, line: &str) -> String {
    tls.get_mut()
        .write_all(format!("{line}\r\n").as_bytes())
        .expect("write");
    read_line(tls)
}

fn sasl_mechanisms(tls: &mut Tls) -> String {
    assert!(command(tls, "CAPA").starts_with("+OK"));
    let mut sasl = String::new();
    loop {
        let line = read_line(tls);
        if line == ".\r\n" {
            return sasl;
        }
        if line.starts_with("SASL") {
            sasl = line;
        }
    }
}

fn exporter(tls: &Tls) -> Vec<u8> {
    tls.get_ref()
        .conn
        .export_keying_material(vec![0u8; 32], b"EXPORTER-Channel-Binding", None)
        .expect("exporter")
}

fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("any key length");
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// Runs a SCRAM exchange with the given GS2 header and channel-binding data; returns the
/// server's final answer line.
fn scram(tls: &mut Tls, mechanism: &str, gs2_header: &str, binding: &[u8]) -> String {
    let first_bare = format!("n={USER},r=clientnonce0123456789");
    let first = format!("{gs2_header}{first_bare}");
    let reply = command(
        tls,
        &format!("AUTH {mechanism} {}", BASE64.encode(first.as_bytes())),
    );
    let Some(challenge) = reply.strip_prefix("+ ") else {
        return reply;
    };
    let server_first =
        String::from_utf8(BASE64.decode(challenge.trim_end()).expect("base64")).expect("utf8");
    let field = |name: &str| {
        server_first
            .split(',')
            .find_map(|f| f.strip_prefix(name))
            .expect("server-first field")
            .to_string()
    };
    let (nonce, salt, iterations) = (field("r="), field("s="), field("i="));
    let salt = BASE64.decode(salt).expect("salt");
    let iterations: u32 = iterations.parse().expect("iterations");
    let mut salted = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<Sha256>(PASSWORD.as_bytes(), &salt, iterations, &mut salted);
    let client_key = hmac(&salted, b"Client Key");
    let stored_key: [u8; 32] = Sha256::digest(client_key).into();
    let mut cbind = gs2_header.as_bytes().to_vec();
    cbind.extend_from_slice(binding);
    let without_proof = format!("c={},r={nonce}", BASE64.encode(&cbind));
    let auth_message = format!("{first_bare},{server_first},{without_proof}");
    let signature = hmac(&stored_key, auth_message.as_bytes());
    let proof: Vec<u8> = client_key
        .iter()
        .zip(signature)
        .map(|(k, s)| k ^ s)
        .collect();
    let final_message = format!("{without_proof},p={}", BASE64.encode(proof));
    let reply = command(tls, &BASE64.encode(final_message.as_bytes()));
    if !reply.starts_with("+ ") {
        return reply;
    }
    command(tls, "")
}

#[test]
fn scram_plus_binds_to_the_tls_1_3_connection() {
    let server = start_server();

    let mut tls = connect(server.port, &rustls::version::TLS13);
    let sasl = sasl_mechanisms(&mut tls);
    assert!(sasl.contains("SCRAM-SHA-256-PLUS"), "{sasl}");
    let binding = exporter(&tls);
    let answer = scram(&mut tls, "SCRAM-SHA-256-PLUS", "p=tls-exporter,,", &binding);
    assert!(answer.starts_with("+OK"), "{answer}");
    assert!(command(&mut tls, "STAT").starts_with("+OK"));
    assert!(command(&mut tls, "QUIT").starts_with("+OK"));

    // The binding of another connection (a man in the middle's) does not verify.
    let mut other = connect(server.port, &rustls::version::TLS13);
    let answer = scram(
        &mut other,
        "SCRAM-SHA-256-PLUS",
        "p=tls-exporter,,",
        &binding,
    );
    assert!(answer.starts_with("-ERR"), "{answer}");

    // RFC 5802 §6: "y" where -PLUS was offered means someone stripped it: refused.
    let mut downgraded = connect(server.port, &rustls::version::TLS13);
    let answer = scram(&mut downgraded, "SCRAM-SHA-256", "y,,", &[]);
    assert!(answer.starts_with("-ERR"), "{answer}");

    // Plain SCRAM without binding still works.
    let mut plain = connect(server.port, &rustls::version::TLS13);
    let answer = scram(&mut plain, "SCRAM-SHA-256", "n,,", &[]);
    assert!(answer.starts_with("+OK"), "{answer}");
}

#[test]
fn tls_1_2_does_not_offer_scram_plus() {
    let server = start_server();
    let mut tls = connect(server.port, &rustls::version::TLS12);
    let sasl = sasl_mechanisms(&mut tls);
    assert!(
        sasl.contains("SCRAM-SHA-256") && !sasl.contains("PLUS"),
        "{sasl}"
    );
    let answer = command(&mut tls, "AUTH SCRAM-SHA-256-PLUS");
    assert!(answer.starts_with("-ERR"), "{answer}");
    // Without -PLUS offered, "y" is a client that could bind but sees no way to: fine.
    let answer = scram(&mut tls, "SCRAM-SHA-256", "y,,", &[]);
    assert!(answer.starts_with("+OK"), "{answer}");
}
