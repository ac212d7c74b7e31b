//! `postern alias ...`

use super::domain::open_store;
use super::{CliError, Target};
use clap::Subcommand;

#[derive(Subcommand, Debug)]
pub enum AliasCommand {
    /// Create an alias or a domain's catch-all, or add targets to an existing one.
    ///
    /// Each target must be an existing account or alias in a local domain: Postern has no
    /// outbound relay yet, so it cannot forward elsewhere.
    Add {
        /// `local@domain`, or `@domain` for the catch-all that receives mail for any unknown
        /// address of the domain.
        source: String,
        /// Accounts or aliases that receive the mail.
        #[arg(value_name = "TARGET", required = true)]
        targets: Vec<String>,
        #[command(flatten)]
        target: Target,
    },
    /// Remove targets from an alias, or without targets the whole alias. An alias left without
    /// targets is deleted, and removed from the aliases that point at it.
    Del {
        /// `local@domain`, or `@domain` for a catch-all.
        source: String,
        /// Targets to remove; none removes the alias.
        #[arg(value_name = "TARGET")]
        targets: Vec<String>,
        #[command(flatten)]
        target: Target,
    },
    /// List aliases and catch-alls as `source -> target, target`, sorted by source.
    List {
        #[command(flatten)]
        target: Target,
    },
}

pub fn run(cmd: AliasCommand) -> Result<(), CliError> {
    match cmd {
        AliasCommand::Add {
            source,
            targets,
            target,
        } => {
            let changes =
                open_store(&target)?.modify(|directory| directory.add_alias(&source, &targets))?;
            if changes.is_empty() {
                println!("alias {source}: nothing to add, every target is already there");
            }
            for change in changes {
                println!("{change}");
            }
        }
        AliasCommand::Del {
            source,
            targets,
            target,
        } => {
            let changes = open_store(&target)?
                .modify(|directory| directory.remove_alias(&source, &targets))?;
            for change in changes {
                println!("{change}");
            }
        }
        AliasCommand::List { target } => {
            let directory = open_store(&target)?.load()?;
            for (source, targets) in directory.aliases() {
                println!("{source} -> {}", targets.join(", "));
            }
        }
    }
    Ok(())
}
