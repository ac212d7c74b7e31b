//! `postern user ...`

use super::{CliError, Target};
use clap::Subcommand;

#[derive(Subcommand, Debug)]
pub enum UserCommand {
    /// List.
    List {
        #[command(flatten)]
        target: Target,
    },
}

pub fn run(cmd: UserCommand) -> Result<(), CliError> {
    match cmd {
        UserCommand::List { target } => {
            let _ = target.data_dir()?;
            Err(CliError("not implemented yet".into()))
        }
    }
}
