//! What can go wrong with the directory, worded for the administrator who has to fix it.

use std::io;
use std::path::PathBuf;

use super::address::AddressError;
use super::directory::FORMAT;

#[derive(Debug, thiserror::Error)]
pub enum DirectoryError {
    // Storage: the data dir or the file in it.
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        source: io::Error,
    },
    #[error("{}: larger than {octets_max} octets; refusing to read it", path.display())]
    TooLarge { path: PathBuf, octets_max: u64 },
    #[error("{}:{line}:{column}: {message}", path.display())]
    Parse {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{}: no \"format\" field; this is not a Postern directory file", path.display())]
    FormatMissing { path: PathBuf },
    #[error(
        "{}: directory format {found} is not supported (this version of Postern reads format {FORMAT})",
        path.display()
    )]
    FormatUnsupported { path: PathBuf, found: u64 },
    #[error("{}: {reason}", path.display())]
    Inconsistent { path: PathBuf, reason: String },

    // The request: bad input or a conflict with what the directory holds.
    #[error("invalid address {input:?}: {source}")]
    Address { input: String, source: AddressError },
    #[error("invalid domain {input:?}: {source}")]
    Domain { input: String, source: AddressError },
    #[error("domain {0} is not local; add it first with `postern domain add {0}`")]
    DomainNotLocal(String),
    #[error(
        "these domains are not local: {}; add them first with `postern domain add <domain>`",
        .0.join(", ")
    )]
    DomainsNotLocal(Vec<String>),
    #[error("domain {0} is already local")]
    DomainExists(String),
    #[error("domain {domain} is still used by {usage}; remove {them} first", them = removal_hint(*.accounts, *.aliases))]
    DomainInUse {
        domain: String,
        usage: String,
        accounts: usize,
        aliases: usize,
    },
    #[error("user {0} already exists")]
    UserExists(String),
    #[error("these users already exist: {}; use --replace to overwrite their passwords", .0.join(", "))]
    UsersExist(Vec<String>),
    #[error("no such user: {0}")]
    UnknownUser(String),
    #[error("{0} is an alias; delete it first with `postern alias del {0}`")]
    AddressIsAlias(String),
    #[error("{0} is an account; an alias with the same address would never be used")]
    AddressIsAccount(String),
    #[error("no such alias: {0}")]
    UnknownAlias(String),
    #[error("alias {alias} has no target {target}")]
    NotATarget { alias: String, target: String },
    #[error(
        "target {0} is not in a local domain; forwarding elsewhere needs outbound relay, which Postern does not have yet"
    )]
    TargetNotLocal(String),
    #[error("target {0} is neither an account nor an alias")]
    UnknownTarget(String),
    #[error("alias {alias} would have more than {targets_max} targets")]
    TooManyTargets { alias: String, targets_max: usize },
    #[error("alias {0} cannot target itself")]
    SelfTarget(String),
}

fn removal_hint(accounts: usize, aliases: usize) -> &'static str {
    match (accounts > 0, aliases > 0) {
        (true, true) => "them with `postern user del` and `postern alias del`",
        (true, false) => "them with `postern user del`",
        _ => "them with `postern alias del`",
    }
}

impl DirectoryError {
    pub(super) fn io(action: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        DirectoryError::Io {
            action,
            path: path.into(),
            source,
        }
    }
}
