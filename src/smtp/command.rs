//! Command dispatch and the commands that do not touch a transaction: EHLO/HELO/LHLO, RSET,
//! NOOP, QUIT, VRFY, EXPN, HELP, STARTTLS.

use super::config::Mode;
use super::event::Event;
use super::reply;
use super::session::{Greeting, Phase, Session};

impl Session {
    /// Runs one command line (CRLF stripped, checked).
    pub(super) fn command(&mut self, line: &str, out: &mut Vec<u8>) -> Option<Event> {
        let (verb, arguments) = match line.split_once(' ') {
            Some((verb, arguments)) => (verb, arguments),
            None => (line, ""),
        };
        let verb = verb.to_ascii_uppercase();
        if self.config.auth_required && self.user.is_none() {
            self.unauthenticated_commands += 1;
            if self.unauthenticated_commands > self.config.limits.unauthenticated_commands_max {
                let text = format!(
                    "{} Too many commands without authentication, closing connection",
                    self.config.hostname
                );
                reply::write(out, 421, "4.7.0", &text);
                return self.close();
            }
        }
        let lmtp = self.config.mode == Mode::Lmtp;
        match verb.as_str() {
            "EHLO" if !lmtp => self.hello(arguments, true, out),
            "HELO" if !lmtp => self.hello(arguments, false, out),
            "LHLO" if lmtp => self.hello(arguments, true, out),
            // RFC 2033 §4.1: an LMTP server must not accept HELO or EHLO; 500 is recommended.
            "EHLO" | "HELO" => self.reject(out, 500, "5.5.1", "This is an LMTP server: use LHLO"),
            "MAIL" => self.mail(arguments, out),
            "RCPT" => self.rcpt(arguments, out),
            "DATA" => self.data(arguments, out),
            "BDAT" => self.bdat(arguments, out),
            "AUTH" => self.auth(arguments, out),
            "STARTTLS" => self.starttls(arguments, out),
            "RSET" => {
                if !arguments.is_empty() {
                    return self.reject(out, 501, "5.5.4", "Syntax: RSET");
                }
                reply::write(out, 250, "2.0.0", "OK");
                self.reset_transaction()
            }
            // RFC 5321 §4.1.1.9: NOOP may carry a string, which is ignored.
            "NOOP" => {
                reply::write(out, 250, "2.0.0", "OK");
                None
            }
            "QUIT" => {
                if !arguments.is_empty() {
                    return self.reject(out, 501, "5.5.4", "Syntax: QUIT");
                }
                let text = format!("{} closing connection", self.config.hostname);
                reply::write(out, 221, "2.0.0", &text);
                self.close()
            }
            // RFC 5321 §3.5.3: 252 when the server will not verify but will accept mail.
            "VRFY" => {
                if arguments.is_empty() {
                    return self.reject(out, 501, "5.5.4", "Syntax: VRFY address");
                }
                reply::write(
                    out,
                    252,
                    "2.5.0",
                    "Cannot VRFY user, but will accept message and attempt delivery",
                );
                None
            }
            // RFC 5321 §3.5.2 and §7.3: EXPN may be disabled; it would reveal alias members
            // to address harvesters. 502 is in its reply list (§4.3.2).
            "EXPN" => self.reject(out, 502, "5.5.1", "EXPN is disabled"),
            "HELP" => {
                let text = if lmtp {
                    "Commands: LHLO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP STARTTLS"
                } else {
                    "Commands: EHLO HELO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP STARTTLS AUTH"
                };
                reply::write(out, 214, "2.0.0", text);
                None
            }
            _ => self.reject(out, 500, "5.5.1", "Command not recognized"),
        }
    }

    /// EHLO, HELO and LHLO. RFC 5321 §4.1.4: a repeated one resets the transaction. RFC 2034
    /// §4: their replies carry no enhanced code.
    fn hello(&mut self, arguments: &str, extended: bool, out: &mut Vec<u8>) -> Option<Event> {
        if !is_client_name(arguments) {
            let verb = match (self.config.mode, extended) {
                (Mode::Lmtp, _) => "LHLO",
                (_, true) => "EHLO",
                (_, false) => "HELO",
            };
            return self.reject(out, 501, "", &format!("Syntax: {verb} hostname"));
        }
        let abort = self.reset_transaction();
        self.greeting = Some(Greeting {
            name: arguments.to_owned(),
            extended,
        });
        if !extended {
            reply::write(out, 250, "", &self.config.hostname);
            return abort;
        }
        let mut lines: Vec<String> = vec![self.config.hostname.clone()];
        lines.push("PIPELINING".into());
        lines.push(format!("SIZE {}", self.config.limits.message_octets_max));
        lines.push("8BITMIME".into());
        lines.push("SMTPUTF8".into());
        lines.push("CHUNKING".into());
        lines.push("BINARYMIME".into());
        lines.push("ENHANCEDSTATUSCODES".into());
        lines.push("DSN".into());
        if self.config.starttls_available && !self.tls_active {
            lines.push("STARTTLS".into());
        }
        let mechanisms = self.offered_mechanisms();
        if !mechanisms.is_empty() {
            let names: Vec<&str> = mechanisms
                .iter()
                .map(|mechanism| mechanism.name())
                .collect();
            lines.push(format!("AUTH {}", names.join(" ")));
        }
        reply::write_lines(out, 250, lines.iter().map(String::as_str));
        abort
    }

    /// RFC 3207: STARTTLS, once, after EHLO, outside a transaction. Anything the client
    /// pipelined after it is dropped by the driver (CVE-2011-0411).
    fn starttls(&mut self, arguments: &str, out: &mut Vec<u8>) -> Option<Event> {
        if !arguments.is_empty() {
            return self.reject(out, 501, "5.5.4", "Syntax: STARTTLS");
        }
        if self.tls_active {
            return self.reject(out, 503, "5.5.1", "TLS already active");
        }
        if !self.config.starttls_available {
            return self.reject(out, 502, "5.5.1", "STARTTLS not available");
        }
        if !self
            .greeting
            .as_ref()
            .is_some_and(|greeting| greeting.extended)
        {
            return self.reject(out, 503, "5.5.1", "Send EHLO first");
        }
        if self.transaction.is_some() {
            return self.reject(
                out,
                503,
                "5.5.1",
                "STARTTLS not allowed during a mail transaction",
            );
        }
        reply::write(out, 220, "2.0.0", "Ready to start TLS");
        self.phase = Phase::AwaitTls;
        Some(Event::StartTls)
    }
}

/// RFC 5321 §4.1.1.1: `Domain / address-literal`. Many clients send a bare host name or one
/// with `_`; that is accepted. What ends up in the Received field is restricted to characters
/// that cannot break it.
fn is_client_name(name: &str) -> bool {
    if name.is_empty() || name.len() > super::address::DOMAIN_OCTETS_MAX {
        return false;
    }
    if name.starts_with('[') {
        return super::address::check_address_literal(name).is_ok();
    }
    name.bytes()
        .all(|octet| octet.is_ascii_alphanumeric() || b"-._".contains(&octet) || octet >= 0x80)
}
