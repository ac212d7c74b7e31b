//! Commands about the connection rather than mail: AUTHENTICATE with SASL-IR (RFC 3501
//! §6.2.2, RFC 4959), LOGIN (§6.2.3), ENABLE (RFC 5161), ID (RFC 2971) and COMPRESS (RFC 4978).

use crate::auth::sasl::{
    self, ClientResponse, IDENTITY_OCTETS_MAX, PASSWORD_OCTETS_MAX, RESPONSE_BASE64_OCTETS_MAX,
};
use crate::auth::secret::Secret;

use super::lexer::{Lexed, Lexer};
use super::types::CommandBody;

/// Most capabilities one ENABLE may name.
pub const ENABLE_CAPABILITIES_MAX: usize = 32;

/// RFC 2971 §3.3: at most 30 field-value pairs, fields of at most 30 octets, values of at most
/// 1024 octets.
pub const ID_FIELDS_MAX: usize = 30;
pub const ID_FIELD_OCTETS_MAX: usize = 30;
pub const ID_VALUE_OCTETS_MAX: usize = 1024;

/// Longest SASL mechanism name (RFC 4422 §3.1: 1 to 20 characters).
pub const MECHANISM_OCTETS_MAX: usize = 20;

/// `authenticate = "AUTHENTICATE" SP auth-type [SP (base64 / "=")]`.
pub(super) fn authenticate(lexer: &mut Lexer<'_>) -> Lexed<CommandBody> {
    lexer.sp()?;
    let mechanism = lexer.atom_str().map_err(|_| "expected a mechanism name")?;
    if mechanism.len() > MECHANISM_OCTETS_MAX {
        return Err("mechanism name too long");
    }
    let mechanism = mechanism.to_ascii_uppercase();
    let initial_response = if lexer.peek() == Some(b' ') {
        lexer.sp()?;
        let text =
            lexer.take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='));
        if text.is_empty() {
            return Err("invalid initial response");
        }
        if text.len() > RESPONSE_BASE64_OCTETS_MAX {
            return Err("initial response too long");
        }
        match sasl::decode_initial_response(text) {
            Ok(ClientResponse::Data(data)) => Some(Secret::new(data)),
            Ok(ClientResponse::Cancel) | Err(_) => {
                return Err("invalid base64 in initial response");
            }
        }
    } else {
        None
    };
    lexer.end()?;
    Ok(CommandBody::Authenticate {
        mechanism,
        initial_response,
    })
}

/// `login = "LOGIN" SP userid SP password`.
pub(super) fn login(lexer: &mut Lexer<'_>) -> Lexed<CommandBody> {
    lexer.sp().map_err(|_| "missing user name")?;
    let user = lexer.astring_or("missing user name")?;
    if user.len() > IDENTITY_OCTETS_MAX {
        return Err("user name too long");
    }
    let user = String::from_utf8(user.into_owned()).map_err(|_| "user name is not valid UTF-8")?;
    lexer.sp().map_err(|_| "missing password")?;
    let password = lexer.astring_or("missing password")?;
    if password.len() > PASSWORD_OCTETS_MAX {
        return Err("password too long");
    }
    let password = Secret::new(password.into_owned());
    lexer.end()?;
    Ok(CommandBody::Login { user, password })
}

/// `enable = "ENABLE" 1*(SP capability)`.
pub(super) fn enable(lexer: &mut Lexer<'_>) -> Lexed<CommandBody> {
    let mut capabilities = Vec::new();
    while lexer.peek() == Some(b' ') || capabilities.is_empty() {
        if capabilities.len() == ENABLE_CAPABILITIES_MAX {
            return Err("too many capabilities");
        }
        lexer.sp().map_err(|_| "missing capability")?;
        let name = lexer.atom_str().map_err(|_| "expected a capability")?;
        capabilities.push(name.to_ascii_uppercase());
    }
    lexer.end()?;
    Ok(CommandBody::Enable(capabilities))
}

/// `id = "ID" SP id_params_list`, `id_params_list = "(" *(string SP nstring) ")" / nil`.
pub(super) fn id(lexer: &mut Lexer<'_>) -> Lexed<CommandBody> {
    lexer.sp()?;
    if !lexer.eat(b'(') {
        let nil = lexer
            .atom()
            .map_err(|_| "expected a parameter list or NIL")?;
        if !nil.eq_ignore_ascii_case(b"NIL") {
            return Err("expected a parameter list or NIL");
        }
        lexer.end()?;
        return Ok(CommandBody::Id(None));
    }
    let mut fields = Vec::new();
    if !lexer.eat(b')') {
        loop {
            if fields.len() == ID_FIELDS_MAX {
                return Err("too many ID fields");
            }
            let field = lexer.string()?;
            if field.len() > ID_FIELD_OCTETS_MAX {
                return Err("ID field name too long");
            }
            lexer.sp()?;
            let value = lexer.nstring()?;
            if value
                .as_ref()
                .is_some_and(|value| value.len() > ID_VALUE_OCTETS_MAX)
            {
                return Err("ID value too long");
            }
            // ID is informational (logged, never acted on): odd octets are replaced, not refused.
            let field = String::from_utf8_lossy(&field).into_owned();
            let value = value.map(|value| String::from_utf8_lossy(&value).into_owned());
            fields.push((field, value));
            if lexer.eat(b')') {
                break;
            }
            lexer.sp()?;
        }
    }
    lexer.end()?;
    Ok(CommandBody::Id(Some(fields)))
}

/// `compress = "COMPRESS" SP algorithm`.
pub(super) fn compress(lexer: &mut Lexer<'_>) -> Lexed<CommandBody> {
    lexer.sp()?;
    let algorithm = lexer.atom_str().map_err(|_| "expected an algorithm")?;
    let algorithm = algorithm.to_ascii_uppercase();
    lexer.end()?;
    Ok(CommandBody::Compress { algorithm })
}
