//! `postern alias ...`

use super::{CliError, Target};
use clap::Subcommand;

#[derive(Subcommand, Debug)]
pub enum AliasCommand {
    /// List.
    List {
        #[command(flatten)]
        target: Target,
    },
}

pub fn run(cmd: AliasCommand) -> Result<(), CliError> {
    match cmd {
        AliasCommand::List { target } => {
            let _ = target.data_dir()?;
            Err(CliError("not implemented yet".into()))
        }
    }
}
