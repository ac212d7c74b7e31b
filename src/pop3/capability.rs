//! CAPA (RFC 2449 §5) and the mechanism list of a bare `AUTH`.

use super::reply;
use super::session::Pop3Config;
use crate::auth::sasl::Mechanism;

/// The SASL mechanisms offered on this connection: PLAIN and LOGIN only where plaintext
/// passwords are allowed (RFC 5034 §4: not on an unprotected connection by default).
pub(super) fn mechanisms(config: &Pop3Config) -> impl Iterator<Item = Mechanism> + '_ {
    Mechanism::ALL
        .into_iter()
        .filter(|mechanism| config.mechanisms.contains(mechanism))
        .filter(|m| m.available_with(config.channel_binding.as_ref()))
        .filter(|mechanism| !mechanism.is_plaintext() || config.plaintext_auth_allowed)
}

/// The CAPA response. `authorization` says which state we are in: STLS is announced only there
/// (RFC 2595 §4: "permitted in the current state").
pub(super) fn write_capabilities(config: &Pop3Config, authorization: bool, out: &mut Vec<u8>) {
    reply::line(out, format_args!("+OK capability list follows"));
    for fixed in ["TOP", "UIDL", "RESP-CODES", "AUTH-RESP-CODE", "PIPELINING"] {
        reply::line(out, format_args!("{fixed}"));
    }
    match config.expire_days {
        None => reply::line(out, format_args!("EXPIRE NEVER")),
        Some(days) => reply::line(out, format_args!("EXPIRE {days}")),
    }
    reply::line(out, format_args!("LOGIN-DELAY {}", config.login_delay_secs));
    if config.plaintext_auth_allowed {
        reply::line(out, format_args!("USER"));
    }
    out.extend_from_slice(b"SASL");
    for mechanism in mechanisms(config) {
        out.push(b' ');
        out.extend_from_slice(mechanism.name().as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    if authorization && config.starttls_available && !config.tls_active {
        reply::line(out, format_args!("STLS"));
    }
    reply::line(
        out,
        format_args!("IMPLEMENTATION {}", config.implementation),
    );
    reply::line(out, format_args!("."));
}

/// `AUTH` without arguments: the mechanisms, one per line, as a multi-line response. RFC 5034
/// does not define it, but widely deployed clients probe with it and servers answer this way.
pub(super) fn write_mechanism_list(config: &Pop3Config, out: &mut Vec<u8>) {
    reply::line(out, format_args!("+OK SASL mechanisms follow"));
    for mechanism in mechanisms(config) {
        reply::line(out, format_args!("{}", mechanism.name()));
    }
    reply::line(out, format_args!("."));
}
