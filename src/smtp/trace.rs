//! The trace fields a delivery prepends: Return-Path and Received (RFC 5321 §4.4).

use std::net::IpAddr;

/// What the session knows about the connection, for the Received field.
pub(super) struct Trace<'a> {
    pub helo_name: &'a str,
    pub peer: Option<IpAddr>,
    pub hostname: &'a str,
    /// RFC 3848 / RFC 6531 §4.3 "with" value, e.g. `ESMTPSA`.
    pub protocol: &'a str,
    pub reverse_path: &'a str,
    /// Named in `for` only when the message has exactly one recipient (RFC 5321 §4.4 warns
    /// about disclosing the others).
    pub single_recipient: Option<&'a str>,
}

/// `Return-Path: <path>` then `Received: from … by … with … id …[ for …]; date`, folded.
/// `id` must be an RFC 5322 atom and `date` an RFC 5322 date-time (the driver owns both).
pub(super) fn write(trace: &Trace<'_>, id: &str, date: &str) -> Vec<u8> {
    debug_assert!(
        !id.is_empty()
            && id
                .bytes()
                .all(|o| o.is_ascii_alphanumeric() || b"-_.".contains(&o)),
        "trace id must be an atom"
    );
    debug_assert!(!date.contains(['\r', '\n']), "date must be one line");
    let mut field = Vec::with_capacity(256);
    field.extend_from_slice(b"Return-Path: <");
    field.extend_from_slice(trace.reverse_path.as_bytes());
    field.extend_from_slice(b">\r\nReceived: from ");
    field.extend_from_slice(trace.helo_name.as_bytes());
    // RFC 5321 §4.4 TCP-info: the address literal of the connection's peer.
    match trace.peer {
        Some(IpAddr::V4(address)) => field.extend_from_slice(format!(" ([{address}])").as_bytes()),
        Some(IpAddr::V6(address)) => {
            field.extend_from_slice(format!(" ([IPv6:{address}])").as_bytes())
        }
        None => {}
    }
    field.extend_from_slice(b"\r\n\tby ");
    field.extend_from_slice(trace.hostname.as_bytes());
    field.extend_from_slice(b" (Postern) with ");
    field.extend_from_slice(trace.protocol.as_bytes());
    field.extend_from_slice(b" id ");
    field.extend_from_slice(id.as_bytes());
    if let Some(recipient) = trace.single_recipient {
        field.extend_from_slice(b"\r\n\tfor <");
        field.extend_from_slice(recipient.as_bytes());
        field.push(b'>');
    }
    field.extend_from_slice(b";\r\n\t");
    field.extend_from_slice(date.as_bytes());
    field.extend_from_slice(b"\r\n");
    field
}

/// RFC 3848 and RFC 6531 §4.3 names for the `with` clause.
pub(super) fn protocol(lmtp: bool, extended: bool, utf8: bool, tls: bool, auth: bool) -> String {
    let base = match (lmtp, extended) {
        (true, _) => "LMTP",
        (false, true) => "ESMTP",
        (false, false) => "SMTP",
    };
    let mut name = String::with_capacity(12);
    if utf8 {
        // UTF8SMTP replaces ESMTP; there is no UTF8ESMTP.
        name.push_str("UTF8");
        name.push_str(if lmtp { "LMTP" } else { "SMTP" });
    } else {
        name.push_str(base);
    }
    if tls {
        name.push('S');
    }
    if auth {
        name.push('A');
    }
    name
}
