//! MAIL and RCPT parameters: SIZE (RFC 1870), BODY (RFC 6152, RFC 3030), SMTPUTF8 (RFC 6531),
//! RET/ENVID/NOTIFY/ORCPT (RFC 3461) and AUTH= (RFC 4954 §5).

/// RFC 3461 §4.4: ENVID is at most 100 characters.
pub const ENVID_OCTETS_MAX: usize = 100;
/// RFC 3461 §4.2: ORCPT is at most 500 characters.
pub const ORCPT_OCTETS_MAX: usize = 500;
/// RFC 1870 §3: the SIZE value has at most 20 digits.
const SIZE_DIGITS_MAX: usize = 20;
/// Parameters on one command; the grammar allows a handful of distinct ones.
const PARAMETERS_MAX: usize = 16;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Body {
    #[default]
    SevenBit,
    EightBitMime,
    BinaryMime,
}

/// RFC 3461 §4.3.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ret {
    Full,
    Headers,
}

/// RFC 3461 §4.1: `NEVER`, or any of SUCCESS, FAILURE, DELAY.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Notify {
    pub never: bool,
    pub success: bool,
    pub failure: bool,
    pub delay: bool,
}

/// RFC 3461 §4.2 `ORCPT=addr-type;xtext`, kept in its encoded form for the DSN to come.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OriginalRecipient {
    pub address_type: String,
    pub xtext: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MailParameters {
    /// The size the client declared (RFC 1870).
    pub size_octets: Option<u64>,
    pub body: Body,
    pub smtputf8: bool,
    pub ret: Option<Ret>,
    /// Still xtext-encoded (RFC 3461 §4.4).
    pub envid: Option<String>,
    /// RFC 4954 §5: the xtext-decoded AUTH= mailbox, kept only from authenticated clients;
    /// `Some("")` is `AUTH=<>`.
    pub auth: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RcptParameters {
    pub notify: Option<Notify>,
    pub orcpt: Option<OriginalRecipient>,
}

/// Why a parameter list was refused, mapped to a reply by the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParameterError {
    /// 555 5.5.4: not recognised, or its extension was not negotiated.
    Unknown,
    /// 501 5.5.4: a known parameter with a bad or duplicated value.
    Invalid,
}

/// Splits ` key[=value] key[=value]...` (RFC 5321 §4.1.2 esmtp-param).
fn split(text: &str) -> Result<Vec<(&str, Option<&str>)>, ParameterError> {
    let mut parameters = Vec::new();
    for word in text.split(' ').filter(|word| !word.is_empty()) {
        if parameters.len() == PARAMETERS_MAX {
            return Err(ParameterError::Invalid);
        }
        let (keyword, value) = match word.split_once('=') {
            Some((keyword, value)) => (keyword, Some(value)),
            None => (word, None),
        };
        // esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-")
        let keyword_ok = keyword
            .bytes()
            .next()
            .is_some_and(|o| o.is_ascii_alphanumeric())
            && keyword
                .bytes()
                .all(|o| o.is_ascii_alphanumeric() || o == b'-');
        // esmtp-value = 1*(%d33-60 / %d62-126), plus UTF-8 (RFC 6531 §3.3)
        let value_ok = value.is_none_or(|v| {
            !v.is_empty()
                && v.bytes()
                    .all(|o| (33..=126).contains(&o) && o != b'=' || o >= 0x80)
        });
        if !keyword_ok || !value_ok {
            return Err(ParameterError::Invalid);
        }
        parameters.push((keyword, value));
    }
    Ok(parameters)
}

/// Which extensions the client may use: all after EHLO/LHLO, none after HELO.
#[derive(Debug, Clone, Copy)]
pub struct Negotiated {
    pub extended: bool,
    pub authenticated: bool,
}

pub fn parse_mail(text: &str, negotiated: Negotiated) -> Result<MailParameters, ParameterError> {
    let mut parameters = MailParameters::default();
    let mut seen_body = false;
    for (keyword, value) in split(text)? {
        if !negotiated.extended {
            return Err(ParameterError::Unknown);
        }
        let keyword = keyword.to_ascii_uppercase();
        match (keyword.as_str(), value) {
            ("SIZE", Some(value)) if parameters.size_octets.is_none() => {
                parameters.size_octets = Some(parse_size(value)?);
            }
            ("BODY", Some(value)) if !seen_body => {
                seen_body = true;
                parameters.body = match value.to_ascii_uppercase().as_str() {
                    "7BIT" => Body::SevenBit,
                    "8BITMIME" => Body::EightBitMime,
                    "BINARYMIME" => Body::BinaryMime,
                    _ => return Err(ParameterError::Invalid),
                };
            }
            ("SMTPUTF8", None) if !parameters.smtputf8 => parameters.smtputf8 = true,
            ("RET", Some(value)) if parameters.ret.is_none() => {
                parameters.ret = Some(match value.to_ascii_uppercase().as_str() {
                    "FULL" => Ret::Full,
                    "HDRS" => Ret::Headers,
                    _ => return Err(ParameterError::Invalid),
                });
            }
            ("ENVID", Some(value)) if parameters.envid.is_none() => {
                if value.len() > ENVID_OCTETS_MAX || xtext_decode(value).is_none() {
                    return Err(ParameterError::Invalid);
                }
                parameters.envid = Some(value.to_owned());
            }
            ("AUTH", Some(value)) if parameters.auth.is_none() => {
                let decoded = xtext_decode(value).ok_or(ParameterError::Invalid)?;
                // RFC 4954 §5: from a client that is not trusted, AUTH= is treated as `<>`.
                let mailbox = if decoded == b"<>" || !negotiated.authenticated {
                    String::new()
                } else {
                    String::from_utf8(decoded).map_err(|_| ParameterError::Invalid)?
                };
                parameters.auth = Some(mailbox);
            }
            ("SIZE" | "BODY" | "SMTPUTF8" | "RET" | "ENVID" | "AUTH", _) => {
                return Err(ParameterError::Invalid);
            }
            _ => return Err(ParameterError::Unknown),
        }
    }
    Ok(parameters)
}

pub fn parse_rcpt(text: &str, negotiated: Negotiated) -> Result<RcptParameters, ParameterError> {
    let mut parameters = RcptParameters::default();
    for (keyword, value) in split(text)? {
        if !negotiated.extended {
            return Err(ParameterError::Unknown);
        }
        let keyword = keyword.to_ascii_uppercase();
        match (keyword.as_str(), value) {
            ("NOTIFY", Some(value)) if parameters.notify.is_none() => {
                parameters.notify = Some(parse_notify(value)?);
            }
            ("ORCPT", Some(value)) if parameters.orcpt.is_none() => {
                parameters.orcpt = Some(parse_orcpt(value)?);
            }
            ("NOTIFY" | "ORCPT", _) => return Err(ParameterError::Invalid),
            _ => return Err(ParameterError::Unknown),
        }
    }
    Ok(parameters)
}

fn parse_size(value: &str) -> Result<u64, ParameterError> {
    if value.is_empty()
        || value.len() > SIZE_DIGITS_MAX
        || !value.bytes().all(|o| o.is_ascii_digit())
    {
        return Err(ParameterError::Invalid);
    }
    // Twenty digits can exceed u64: such a size is over any limit anyway.
    Ok(value.parse().unwrap_or(u64::MAX))
}

fn parse_notify(value: &str) -> Result<Notify, ParameterError> {
    let mut notify = Notify::default();
    for word in value.split(',') {
        let flag = match word.to_ascii_uppercase().as_str() {
            "NEVER" => &mut notify.never,
            "SUCCESS" => &mut notify.success,
            "FAILURE" => &mut notify.failure,
            "DELAY" => &mut notify.delay,
            _ => return Err(ParameterError::Invalid),
        };
        if *flag {
            return Err(ParameterError::Invalid);
        }
        *flag = true;
    }
    // RFC 3461 §4.1: NEVER stands alone.
    if notify.never && (notify.success || notify.failure || notify.delay) {
        return Err(ParameterError::Invalid);
    }
    Ok(notify)
}

fn parse_orcpt(value: &str) -> Result<OriginalRecipient, ParameterError> {
    if value.len() > ORCPT_OCTETS_MAX {
        return Err(ParameterError::Invalid);
    }
    let (address_type, xtext) = value.split_once(';').ok_or(ParameterError::Invalid)?;
    // addr-type is an atom (RFC 3461 §4.2), e.g. rfc822 or utf-8 (RFC 6533).
    let type_ok = !address_type.is_empty()
        && address_type
            .bytes()
            .all(|o| o.is_ascii_alphanumeric() || o == b'-');
    let utf8_type = address_type.eq_ignore_ascii_case("utf-8");
    let text_ok = !xtext.is_empty()
        && if utf8_type {
            // RFC 6533 §3: utf-8-addr-xtext also allows raw UTF-8 and \x{..} escapes.
            xtext
                .bytes()
                .all(|o| (33..=126).contains(&o) && o != b'=' || o >= 0x80)
        } else {
            xtext_decode(xtext).is_some()
        };
    if !type_ok || !text_ok {
        return Err(ParameterError::Invalid);
    }
    Ok(OriginalRecipient {
        address_type: address_type.to_owned(),
        xtext: xtext.to_owned(),
    })
}

/// RFC 3461 §4: `xtext = *( xchar / hexchar )`, xchar is `!`..`~` but `+` and `=`, hexchar is
/// `+` and two upper-case hex digits.
pub fn xtext_decode(text: &str) -> Option<Vec<u8>> {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        match bytes[index] {
            b'+' => {
                let hex = |o: u8| match o {
                    b'0'..=b'9' => Some(o - b'0'),
                    b'A'..=b'F' => Some(o - b'A' + 10),
                    _ => None,
                };
                let high = hex(*bytes.get(index + 1)?)?;
                let low = hex(*bytes.get(index + 2)?)?;
                decoded.push(high << 4 | low);
                index += 3;
            }
            b'=' => return None,
            octet @ b'!'..=b'~' => {
                decoded.push(octet);
                index += 1;
            }
            _ => return None,
        }
    }
    Some(decoded)
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXTENDED: Negotiated = Negotiated {
        extended: true,
        authenticated: true,
    };

    #[test]
    fn mail_parameters() {
        let parsed = parse_mail(
            " SIZE=1000 body=8bitmime SMTPUTF8 RET=HDRS ENVID=QQ314159+2B AUTH=a+2Bb@c",
            EXTENDED,
        )
        .unwrap();
        assert_eq!(parsed.size_octets, Some(1000));
        assert_eq!(parsed.body, Body::EightBitMime);
        assert!(parsed.smtputf8);
        assert_eq!(parsed.ret, Some(Ret::Headers));
        assert_eq!(parsed.envid.as_deref(), Some("QQ314159+2B"));
        assert_eq!(parsed.auth.as_deref(), Some("a+b@c"));
        let anonymous = Negotiated {
            extended: true,
            authenticated: false,
        };
        assert_eq!(
            parse_mail(" AUTH=a@b", anonymous).unwrap().auth.as_deref(),
            Some("")
        );
        assert_eq!(
            parse_mail(" SIZE=99999999999999999999", EXTENDED)
                .unwrap()
                .size_octets,
            Some(u64::MAX)
        );
        for (bad, error) in [
            (" SIZE=1 SIZE=2", ParameterError::Invalid),
            (" SIZE=x", ParameterError::Invalid),
            (" SIZE=123456789012345678901", ParameterError::Invalid),
            (" SIZE", ParameterError::Invalid),
            (" BODY=9BIT", ParameterError::Invalid),
            (" SMTPUTF8=yes", ParameterError::Invalid),
            (" RET=ALL", ParameterError::Invalid),
            (" ENVID=a+2b", ParameterError::Invalid),
            (" ENVID=a=b", ParameterError::Invalid),
            (" FOO=bar", ParameterError::Unknown),
            (" X-Y", ParameterError::Unknown),
            (" =x", ParameterError::Invalid),
        ] {
            assert_eq!(parse_mail(bad, EXTENDED), Err(error), "{bad}");
        }
        let helo = Negotiated {
            extended: false,
            authenticated: false,
        };
        assert_eq!(parse_mail(" SIZE=1", helo), Err(ParameterError::Unknown));
        assert_eq!(parse_mail("", helo), Ok(MailParameters::default()));
    }

    #[test]
    fn rcpt_parameters() {
        let parsed = parse_rcpt(" NOTIFY=SUCCESS,delay ORCPT=rfc822;a+2Bb@c", EXTENDED).unwrap();
        assert_eq!(
            parsed.notify,
            Some(Notify {
                success: true,
                delay: true,
                ..Notify::default()
            })
        );
        assert_eq!(parsed.orcpt.unwrap().xtext, "a+2Bb@c");
        for bad in [
            " NOTIFY=NEVER,SUCCESS",
            " NOTIFY=SUCCESS,SUCCESS",
            " NOTIFY=",
            " NOTIFY=SOMETIMES",
            " ORCPT=rfc822",
            " ORCPT=;a@b",
            " ORCPT=rfc822;a+zz@b",
        ] {
            assert_eq!(
                parse_rcpt(bad, EXTENDED),
                Err(ParameterError::Invalid),
                "{bad}"
            );
        }
        assert_eq!(
            parse_rcpt(" SIZE=1", EXTENDED),
            Err(ParameterError::Unknown)
        );
    }

    #[test]
    fn xtext() {
        assert_eq!(xtext_decode("a+2Bb+3D").unwrap(), b"a+b=");
        assert_eq!(xtext_decode("").unwrap(), b"");
        assert!(xtext_decode("+2").is_none());
        assert!(xtext_decode("+2b").is_none());
        assert!(xtext_decode("a b").is_none());
        assert!(xtext_decode("é").is_none());
    }
}

impl Notify {
    /// RFC 3461 §4.1 `NOTIFY=` value.
    pub fn text(&self) -> String {
        if self.never {
            return "NEVER".to_string();
        }
        let mut words = Vec::new();
        for (on, word) in [
            (self.success, "SUCCESS"),
            (self.failure, "FAILURE"),
            (self.delay, "DELAY"),
        ] {
            if on {
                words.push(word);
            }
        }
        words.join(",")
    }
}

/// The delivery envelope stored with one copy of a message, for the DSNs the outbound work
/// will send (RFC 3461): the MAIL command with RET and ENVID, then one RCPT line per recipient
/// that reached this account, with NOTIFY and ORCPT, in the parameters' own syntax (values
/// stay xtext-encoded, so every line is ASCII).
pub fn envelope_text<'a>(
    reverse_path: &str,
    mail: &MailParameters,
    recipients: impl Iterator<Item = (&'a str, &'a RcptParameters)>,
) -> Vec<u8> {
    let mut text = format!("MAIL FROM:<{reverse_path}>");
    match mail.ret {
        Some(Ret::Full) => text.push_str(" RET=FULL"),
        Some(Ret::Headers) => text.push_str(" RET=HDRS"),
        None => {}
    }
    if let Some(envid) = &mail.envid {
        text.push_str(&format!(" ENVID={envid}"));
    }
    text.push_str("\r\n");
    for (address, parameters) in recipients {
        text.push_str(&format!("RCPT TO:<{address}>"));
        if let Some(notify) = &parameters.notify {
            text.push_str(&format!(" NOTIFY={}", notify.text()));
        }
        if let Some(orcpt) = &parameters.orcpt {
            text.push_str(&format!(" ORCPT={};{}", orcpt.address_type, orcpt.xtext));
        }
        text.push_str("\r\n");
    }
    text.into_bytes()
}

#[cfg(test)]
mod envelope_tests {
    use super::*;

    #[test]
    fn rfc3461_parameters_are_kept_in_their_syntax() {
        let mail = MailParameters {
            ret: Some(Ret::Headers),
            envid: Some("QQ314159".into()),
            ..MailParameters::default()
        };
        let rcpt = RcptParameters {
            notify: Some(Notify {
                success: true,
                failure: true,
                ..Notify::default()
            }),
            orcpt: Some(OriginalRecipient {
                address_type: "rfc822".into(),
                xtext: "Bob+40example.org".into(),
            }),
        };
        let text = envelope_text(
            "a@example.org",
            &mail,
            [("bob@example.test", &rcpt)].into_iter(),
        );
        assert_eq!(
            text,
            b"MAIL FROM:<a@example.org> RET=HDRS ENVID=QQ314159\r\n\
              RCPT TO:<bob@example.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;Bob+40example.org\r\n"
        );
    }
}
