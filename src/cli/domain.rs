//! `postern domain ...`, and the helpers the other directory commands share.

use super::{CliError, Target};
use crate::accounts::{DirectoryError, DirectoryStore};
use clap::Subcommand;

#[derive(Subcommand, Debug)]
pub enum DomainCommand {
    /// Make a domain local: Postern accepts mail for it and can hold its accounts.
    Add {
        /// The domain, e.g. example.test (stored lowercased).
        domain: String,
        #[command(flatten)]
        target: Target,
    },
    /// Stop being local for a domain. Refused while accounts, aliases or a catch-all use it.
    Del {
        domain: String,
        #[command(flatten)]
        target: Target,
    },
    /// List the local domains, one per line, sorted.
    List {
        #[command(flatten)]
        target: Target,
    },
}

pub fn run(cmd: DomainCommand) -> Result<(), CliError> {
    match cmd {
        DomainCommand::Add { domain, target } => {
            let change = open_store(&target)?.modify(|directory| directory.add_domain(&domain))?;
            println!("{change}");
        }
        DomainCommand::Del { domain, target } => {
            let change =
                open_store(&target)?.modify(|directory| directory.remove_domain(&domain))?;
            println!("{change}");
        }
        DomainCommand::List { target } => {
            let directory = open_store(&target)?.load()?;
            for domain in directory.domains() {
                println!("{domain}");
            }
        }
    }
    Ok(())
}

/// The directory of the data dir the command targets.
pub(super) fn open_store(target: &Target) -> Result<DirectoryStore, CliError> {
    Ok(DirectoryStore::open(target.data_dir()?)?)
}

impl From<DirectoryError> for CliError {
    fn from(error: DirectoryError) -> Self {
        CliError(error.to_string())
    }
}
