//! `postern serve`

use super::CliError;
use clap::Args;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Configuration file; without it the embedded defaults are used.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Number of shards (default: the data dir's, or for a new data dir the usable CPUs).
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub shards: Option<u16>,
}

pub fn run(args: ServeArgs) -> Result<(), CliError> {
    let config =
        crate::config::Config::load(args.config.as_deref()).map_err(|e| CliError(e.to_string()))?;
    crate::runtime::init_logging(&config.log_filter);
    crate::runtime::serve(config, args.shards.map(usize::from)).map_err(|e| CliError(e.to_string()))
}
