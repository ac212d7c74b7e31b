//! `postern domain ...`

use super::{CliError, Target};
use clap::Subcommand;

#[derive(Subcommand, Debug)]
pub enum DomainCommand {
    /// List.
    List {
        #[command(flatten)]
        target: Target,
    },
}

pub fn run(cmd: DomainCommand) -> Result<(), CliError> {
    match cmd {
        DomainCommand::List { target } => {
            let _ = target.data_dir()?;
            Err(CliError("not implemented yet".into()))
        }
    }
}
