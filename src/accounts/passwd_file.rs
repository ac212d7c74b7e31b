//! Dovecot passwd-file import: `user:{SCHEME}hash:uid:gid:gecos:home:shell:extra`.
//!
//! Only the first two fields matter; the rest may be absent or empty. Hashes are kept as they
//! are, so users keep their passwords; `{PLAIN}` entries also get SCRAM-SHA-256 keys, which
//! cannot be derived from a hash.

use std::collections::BTreeMap;

use super::address::normalise_address;
use super::directory::Account;
use crate::auth::password::{check_stored, plaintext};
use crate::auth::scram::ScramKeys;

/// Entries in one file.
pub const ENTRIES_MAX: usize = 10_000_000;

/// A line that cannot be imported; the caller adds the file name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {reason}")]
pub struct PasswdLineError {
    pub line: usize,
    pub reason: String,
}

/// Parses the whole file, all or nothing. Users without `@` are put in `default_domain`
/// (already normalised), if there is one. The password text never appears in an error.
pub fn parse(text: &str, default_domain: Option<&str>) -> Result<Vec<Account>, PasswdLineError> {
    let mut first_line_of: BTreeMap<String, usize> = BTreeMap::new();
    let mut accounts = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line_number = index + 1;
        let error = |reason: String| PasswdLineError {
            line: line_number,
            reason,
        };
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        if accounts.len() == ENTRIES_MAX {
            return Err(error(format!("more than {ENTRIES_MAX} entries")));
        }
        let account = parse_entry(line.trim_end_matches('\r'), default_domain).map_err(error)?;
        if let Some(first) = first_line_of.insert(account.address.clone(), line_number) {
            return Err(error(format!(
                "user {} already appears on line {first}",
                account.address
            )));
        }
        accounts.push(account);
    }
    Ok(accounts)
}

fn parse_entry(line: &str, default_domain: Option<&str>) -> Result<Account, String> {
    let mut fields = line.split(':');
    let user = fields.next().unwrap_or_default();
    let password = fields.next().unwrap_or_default();
    if user.is_empty() {
        return Err("the user field is empty".to_owned());
    }
    let address = if user.contains('@') {
        user.to_owned()
    } else {
        match default_domain {
            Some(domain) => format!("{user}@{domain}"),
            None => {
                return Err(format!(
                    "user {user:?} has no domain; give one with --domain"
                ));
            }
        }
    };
    let address =
        normalise_address(&address).map_err(|e| format!("invalid address {address:?}: {e}"))?;
    if password.is_empty() {
        return Err(format!("user {address} has no password"));
    }
    check_stored(password).map_err(|e| format!("user {address}: {e}"))?;
    let scram_sha256 = match plaintext(password) {
        Some(plain) => {
            let keys = ScramKeys::generate(plain.as_bytes())
                .map_err(|e| format!("user {address}: {e}"))?;
            Some(keys.to_stored())
        }
        None => None,
    };
    Ok(Account {
        address,
        password: password.to_owned(),
        scram_sha256,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA512: &str = "{SHA512-CRYPT}$6$abcdefgh$ltjgWl6579NluT/Vi1nwEvcil.G5Nbc4NiXZaNGStk8PSwGfQv72N2CKPPrVACtLtip/cZ/1GM/O6IND4WQhG.";

    #[test]
    fn parses_entries_and_skips_comments() {
        let text = format!(
            "# users\n\nAlice@Example.Test:{SHA512}:1000:1000::/home/alice::\r\nbob:{{PLAIN}}hunter2\n  # indented\n"
        );
        let accounts = parse(&text, Some("example.test")).unwrap();
        assert_eq!(accounts.len(), 2);
        assert_eq!(accounts[0].address, "alice@example.test");
        assert_eq!(accounts[0].password, SHA512);
        assert_eq!(accounts[0].scram_sha256, None);
        assert_eq!(accounts[1].address, "bob@example.test");
        assert_eq!(accounts[1].password, "{PLAIN}hunter2");
        assert!(
            accounts[1]
                .scram_sha256
                .as_deref()
                .unwrap()
                .starts_with("SCRAM-SHA-256$")
        );
    }

    #[test]
    fn errors_name_the_line_and_hide_the_password() {
        let cases = [
            ("a@x.test:{PLAIN}p\nb@x.test:nosuchscheme", 2),
            ("a@x.test", 1),
            ("a@x.test:", 1),
            (":{PLAIN}p", 1),
            ("a b@x.test:{PLAIN}p", 1),
            ("a@x.test:{NOPE}secretvalue", 1),
            ("bob:{PLAIN}p", 1),
            ("a@x.test:{PLAIN}p\n\nA@X.TEST:{PLAIN}q", 3),
        ];
        for (text, line) in cases {
            let error = parse(text, None).unwrap_err();
            assert_eq!(error.line, line, "{text}");
            assert!(!error.reason.contains("secretvalue"), "{error}");
        }
    }
}
