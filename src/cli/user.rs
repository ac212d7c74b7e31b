//! `postern user ...`
//!
//! Passwords are hashed before the directory lock is taken (argon2id is slow on purpose), and
//! never printed: only the `{SCHEME}` hash and the SCRAM keys reach `directory.json`.

use std::fs::File;
use std::io::{self, BufRead, IsTerminal, Read};
use std::path::PathBuf;

use super::domain::open_store;
use super::{CliError, Target};
use crate::accounts::{normalise_domain, passwd_file};
use crate::auth::password::hash_password;
use crate::auth::scram::ScramKeys;
use crate::auth::secret::Secret;
use clap::Subcommand;

/// Longer input is more likely a file piped by mistake than a password.
const PASSWORD_OCTETS_MAX: usize = 1024;
/// About a million entries.
const PASSWD_FILE_OCTETS_MAX: u64 = 256 << 20;

#[derive(Subcommand, Debug)]
pub enum UserCommand {
    /// Add an account in a local domain.
    ///
    /// The password is asked for twice on the terminal, or read as one line from standard input
    /// with --password-stdin. It is stored as an argon2id hash plus SCRAM-SHA-256 keys.
    Add {
        /// The account's address, e.g. alice@example.test (stored lowercased).
        address: String,
        /// Read the password from the first line of standard input instead of the terminal.
        #[arg(long)]
        password_stdin: bool,
        #[command(flatten)]
        target: Target,
    },
    /// Delete an account and remove it from alias targets (aliases left empty are deleted).
    ///
    /// Mail already stored for the account is not touched.
    Del {
        address: String,
        #[command(flatten)]
        target: Target,
    },
    /// Set a new password for an existing account (replaces the hash and the SCRAM keys).
    Passwd {
        address: String,
        /// Read the password from the first line of standard input instead of the terminal.
        #[arg(long)]
        password_stdin: bool,
        #[command(flatten)]
        target: Target,
    },
    /// List accounts, one address per line, sorted.
    List {
        /// Only the accounts of this domain.
        domain: Option<String>,
        #[command(flatten)]
        target: Target,
    },
    /// Import accounts from a Dovecot passwd-file, all or nothing.
    ///
    /// Lines are `user:{SCHEME}hash[:uid:gid:gecos:home:shell:extra]`; only the first two fields
    /// are used. Hashes are kept as they are ({ARGON2ID}, {SHA512-CRYPT}, {SHA256-CRYPT},
    /// {BLF-CRYPT}, {PLAIN}, ...); only {PLAIN} entries also get SCRAM-SHA-256 keys. Blank
    /// lines and lines starting with # are skipped.
    Import {
        /// The passwd-file to read.
        #[arg(long, value_name = "FILE")]
        passwd_file: PathBuf,
        /// Domain for users written without @.
        #[arg(long)]
        domain: Option<String>,
        /// Overwrite the passwords of accounts that already exist instead of failing.
        #[arg(long)]
        replace: bool,
        #[command(flatten)]
        target: Target,
    },
}

pub fn run(cmd: UserCommand) -> Result<(), CliError> {
    match cmd {
        UserCommand::Add {
            address,
            password_stdin,
            target,
        } => add(&address, password_stdin, &target),
        UserCommand::Del { address, target } => {
            let changes =
                open_store(&target)?.modify(|directory| directory.remove_account(&address))?;
            for change in changes {
                println!("{change}");
            }
            Ok(())
        }
        UserCommand::Passwd {
            address,
            password_stdin,
            target,
        } => passwd(&address, password_stdin, &target),
        UserCommand::List { domain, target } => list(domain.as_deref(), &target),
        UserCommand::Import {
            passwd_file,
            domain,
            replace,
            target,
        } => import(passwd_file, domain.as_deref(), replace, &target),
    }
}

fn add(address: &str, password_stdin: bool, target: &Target) -> Result<(), CliError> {
    let store = open_store(target)?;
    // Fail on a typo or an existing user before asking for a password.
    let address = store.load()?.check_new_account(address)?;
    let (hash, scram) = hash(&read_password(password_stdin)?)?;
    let change = store.modify(|directory| directory.add_account(&address, hash, Some(scram)))?;
    println!("{change}");
    Ok(())
}

fn passwd(address: &str, password_stdin: bool, target: &Target) -> Result<(), CliError> {
    let store = open_store(target)?;
    let address = store.load()?.check_account(address)?;
    let (hash, scram) = hash(&read_password(password_stdin)?)?;
    let change = store.modify(|directory| directory.set_password(&address, hash, Some(scram)))?;
    println!("{change}");
    Ok(())
}

fn list(domain: Option<&str>, target: &Target) -> Result<(), CliError> {
    let directory = open_store(target)?.load()?;
    let domain = match domain {
        Some(domain) => {
            let domain = normalise_domain(domain)
                .map_err(|e| CliError(format!("invalid domain {domain:?}: {e}")))?;
            if !directory.is_local_domain(&domain) {
                return Err(CliError(format!("domain {domain} is not local")));
            }
            Some(domain)
        }
        None => None,
    };
    let in_domain = |address: &str| {
        domain
            .as_deref()
            .is_none_or(|d| crate::accounts::domain_of(address) == d)
    };
    for account in directory.accounts().filter(|a| in_domain(&a.address)) {
        println!("{}", account.address);
    }
    Ok(())
}

fn import(
    path: PathBuf,
    domain: Option<&str>,
    replace: bool,
    target: &Target,
) -> Result<(), CliError> {
    let domain = match domain {
        Some(domain) => Some(
            normalise_domain(domain)
                .map_err(|e| CliError(format!("invalid domain {domain:?}: {e}")))?,
        ),
        None => None,
    };
    let file_error = |e: io::Error| CliError(format!("cannot read {}: {e}", path.display()));
    let file = File::open(&path).map_err(file_error)?;
    let mut text = String::new();
    file.take(PASSWD_FILE_OCTETS_MAX + 1)
        .read_to_string(&mut text)
        .map_err(file_error)?;
    if text.len() as u64 > PASSWD_FILE_OCTETS_MAX {
        return Err(CliError(format!(
            "{}: larger than {PASSWD_FILE_OCTETS_MAX} octets",
            path.display()
        )));
    }
    let accounts = passwd_file::parse(&text, domain.as_deref()).map_err(|e| {
        CliError(format!(
            "{}:{}: {}; nothing imported",
            path.display(),
            e.line,
            e.reason
        ))
    })?;
    let summary =
        open_store(target)?.modify(|directory| directory.import_accounts(accounts, replace))?;
    println!(
        "imported {} users ({} new, {} replaced)",
        summary.added + summary.replaced,
        summary.added,
        summary.replaced
    );
    Ok(())
}

/// The `{ARGON2ID}` hash and the RFC 5803 SCRAM-SHA-256 keys of `password`.
fn hash(password: &Secret) -> Result<(String, String), CliError> {
    let hash = hash_password(password.expose())
        .map_err(|e| CliError(format!("cannot hash the password: {e}")))?;
    let scram = ScramKeys::generate(password.expose())
        .map_err(|e| CliError(format!("cannot derive the SCRAM keys: {e}")))?
        .to_stored();
    Ok((hash, scram))
}

fn read_password(from_stdin: bool) -> Result<Secret, CliError> {
    let password = if from_stdin {
        password_from_stdin()?
    } else {
        password_from_terminal()?
    };
    if password.is_empty() {
        return Err(CliError("the password is empty".into()));
    }
    if password.len() > PASSWORD_OCTETS_MAX {
        return Err(CliError(format!(
            "the password is longer than {PASSWORD_OCTETS_MAX} octets"
        )));
    }
    Ok(password)
}

/// One line; the line ending is not part of the password.
fn password_from_stdin() -> Result<Secret, CliError> {
    let mut line = Vec::new();
    io::stdin()
        .lock()
        .take(PASSWORD_OCTETS_MAX as u64 + 2)
        .read_until(b'\n', &mut line)
        .map_err(|e| CliError(format!("cannot read the password from standard input: {e}")))?;
    if line.last() == Some(&b'\n') {
        line.pop();
        if line.last() == Some(&b'\r') {
            line.pop();
        }
    }
    Ok(Secret::new(line))
}

fn password_from_terminal() -> Result<Secret, CliError> {
    if !io::stdin().is_terminal() {
        return Err(CliError(
            "no terminal to ask for the password; pipe it in with --password-stdin".into(),
        ));
    }
    let prompt_error =
        |e: io::Error| CliError(format!("cannot read the password from the terminal: {e}"));
    let first = Secret::from(rpassword::prompt_password("Password: ").map_err(prompt_error)?);
    let second =
        Secret::from(rpassword::prompt_password("Retype password: ").map_err(prompt_error)?);
    if first.expose() != second.expose() {
        return Err(CliError("the passwords do not match".into()));
    }
    Ok(first)
}
