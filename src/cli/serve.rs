//! `postern serve`

use super::CliError;
use clap::Args;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Configuration file; without it the embedded defaults are used.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Number of shards (default: the usable CPUs).
    #[arg(long)]
    pub shards: Option<usize>,
}

pub fn run(args: ServeArgs) -> Result<(), CliError> {
    let _ = args;
    Err(CliError("not implemented yet".into()))
}
