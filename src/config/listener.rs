//! Listener settings: which protocol, on which address, with which kind of TLS.

use serde::Deserialize;
use std::net::SocketAddr;

/// The protocols Postern can listen for. Names are the services' usual names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    Smtp,
    Submission,
    Submissions,
    Lmtp,
    Imap,
    Imaps,
    Pop3,
    Pop3s,
}

/// How a listener uses TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TlsMode {
    /// Plaintext only (LMTP from a trusted front tier).
    None,
    /// Plaintext with the protocol's STARTTLS/STLS upgrade (RFC 3207, RFC 2595).
    Starttls,
    /// TLS from the first byte (RFC 8314).
    Implicit,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenerConfig {
    pub protocol: Protocol,
    pub address: SocketAddr,
    pub tls: TlsMode,
    /// This listener's own certificates (SNI among them); empty: the `[tls]` ones.
    pub certificates: Vec<super::CertificatePaths>,
}

impl Protocol {
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Smtp => "smtp",
            Protocol::Submission => "submission",
            Protocol::Submissions => "submissions",
            Protocol::Lmtp => "lmtp",
            Protocol::Imap => "imap",
            Protocol::Imaps => "imaps",
            Protocol::Pop3 => "pop3",
            Protocol::Pop3s => "pop3s",
        }
    }

    pub fn default_tls(self) -> TlsMode {
        match self {
            Protocol::Submissions | Protocol::Imaps | Protocol::Pop3s => TlsMode::Implicit,
            Protocol::Lmtp => TlsMode::None,
            Protocol::Smtp | Protocol::Submission | Protocol::Imap | Protocol::Pop3 => {
                TlsMode::Starttls
            }
        }
    }

    /// Whether this version of Postern serves the protocol. Listeners of protocols that are not
    /// served yet are not started (and the server says so); none answers with a placeholder.
    pub fn is_served(self) -> bool {
        matches!(
            self,
            Protocol::Smtp
                | Protocol::Submission
                | Protocol::Submissions
                | Protocol::Lmtp
                | Protocol::Pop3
                | Protocol::Pop3s
                | Protocol::Imap
                | Protocol::Imaps
        )
    }
}
