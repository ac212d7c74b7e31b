use super::*;
use std::path::Path;

fn parse(text: &str) -> Result<Config, ConfigError> {
    file::parse(Path::new("test.toml"), text)
}

#[test]
fn embedded_defaults_listen_on_loopback_standard_ports_plus_2000() {
    let config = Config::embedded();
    let ports: Vec<u16> = config.listeners.iter().map(|l| l.address.port()).collect();
    assert_eq!(ports, [2025, 2587, 2465, 2024, 2143, 2993, 2110, 2995]);
    assert!(
        config
            .listeners
            .iter()
            .all(|l| l.address.ip().is_loopback())
    );
    assert_eq!(config.data_dir, Path::new("postern-data"));
}

#[test]
fn full_file_parses() {
    let config = parse(
        r#"
data_dir = "/var/lib/postern"
shards = 4
partitions = 2048
log = "debug"
[tls]
certificate = [ { certificate = "a.pem", key = "a.key" } ]
[auth]
plaintext_on_loopback = false
[[listener]]
protocol = "imaps"
address = "[::]:993"
[[listener]]
protocol = "lmtp"
address = "127.0.0.1:24"
tls = "starttls"
"#,
    )
    .expect("valid config");
    assert_eq!(config.shards, Some(4));
    assert_eq!(config.partitions, 2048);
    assert!(!config.auth.plaintext_on_loopback);
    assert_eq!(config.listeners.len(), 2);
    assert_eq!(config.listeners[0].tls, TlsMode::Implicit);
    assert_eq!(config.listeners[1].tls, TlsMode::Starttls);
    assert_eq!(config.tls.certificates.len(), 1);
    assert!(config.listeners[0].certificates.is_empty());
}

#[test]
fn a_listener_may_have_certificates_of_its_own() {
    let config = parse(
        "[[listener]]\nprotocol = \"pop3s\"\naddress = \"127.0.0.1:995\"\n\
         certificate = [ { certificate = \"p.crt\", key = \"p.key\" } ]\n",
    )
    .expect("valid");
    assert_eq!(config.listeners[0].certificates.len(), 1);
    assert_eq!(
        config.listeners[0].certificates[0].certificate,
        std::path::Path::new("p.crt")
    );
}

#[test]
fn unknown_key_names_line_key_and_accepted_keys() {
    let err = parse("data_dir = \"x\"\nshardz = 3\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("test.toml"), "{err}");
    assert!(err.contains("line 2"), "{err}");
    assert!(err.contains("shardz"), "{err}");
    assert!(err.contains("`shards`"), "{err}");
}

#[test]
fn bad_protocol_lists_accepted_values() {
    let err = parse("[[listener]]\nprotocol = \"imap5\"\naddress = \"127.0.0.1:1\"\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("line 2"), "{err}");
    assert!(err.contains("imap5"), "{err}");
    assert!(err.contains("`pop3s`"), "{err}");
}

#[test]
fn bad_address_names_line_and_key() {
    let err = parse("\n[[listener]]\nprotocol = \"imap\"\naddress = \"localhost\"\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("line 4"), "{err}");
    assert!(err.contains("listener.address"), "{err}");
}

#[test]
fn duplicate_address_is_refused() {
    let err = parse(
        "[[listener]]\nprotocol = \"imap\"\naddress = \"127.0.0.1:143\"\n\
         [[listener]]\nprotocol = \"pop3\"\naddress = \"127.0.0.1:143\"\n",
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("line 6"), "{err}");
    assert!(err.contains("already used by the imap listener"), "{err}");
}

#[test]
fn implicit_tls_protocols_cannot_be_plaintext() {
    let err =
        parse("[[listener]]\nprotocol = \"imaps\"\naddress = \"127.0.0.1:993\"\ntls = \"none\"\n")
            .unwrap_err()
            .to_string();
    assert!(err.contains("line 4"), "{err}");
    assert!(err.contains("accepted: implicit"), "{err}");
}

#[test]
fn zero_shards_is_refused() {
    let err = parse("shards = 0\n").unwrap_err().to_string();
    assert!(err.contains("line 1") && err.contains("`shards`"), "{err}");
}

#[test]
fn wrong_type_is_reported() {
    let err = parse("shards = \"many\"\n").unwrap_err().to_string();
    assert!(err.contains("line 1"), "{err}");
    assert!(err.contains("shards"), "{err}");
}

#[test]
fn auth_mechanisms_and_apop_are_configurable() {
    let config =
        parse("[auth]\nmechanisms = [\"cram-md5\", \"PLAIN\"]\napop = true\n").expect("valid");
    assert_eq!(
        config.auth.mechanisms,
        [
            crate::auth::sasl::Mechanism::CramMd5,
            crate::auth::sasl::Mechanism::Plain
        ]
    );
    assert!(config.auth.apop);
    assert!(!Config::embedded().auth.apop);
    let err = parse("[auth]\nmechanisms = [\"GSSAPI\"]\n")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("line 2") && err.contains("GSSAPI") && err.contains("SCRAM-SHA-256"),
        "{err}"
    );
}
