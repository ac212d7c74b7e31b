//! The `postern` command line: `serve`, and the offline/online management commands.
//!
//! Exit codes: 0 success, 1 the operation failed (the message says why), 2 bad usage.

mod alias;
mod check;
mod domain;
mod serve;
mod user;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "postern",
    version,
    about = "Thread-per-core mail server appliance"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the server (embedded defaults unless --config is given).
    Serve(serve::ServeArgs),
    /// Manage accounts.
    #[command(subcommand)]
    User(user::UserCommand),
    /// Manage aliases and per-domain catch-alls.
    #[command(subcommand)]
    Alias(alias::AliasCommand),
    /// Manage local domains.
    #[command(subcommand)]
    Domain(domain::DomainCommand),
    /// Verify every shard's mail log and indexes offline (the server must be stopped).
    Check(check::CheckArgs),
}

/// Where a management command finds the data dir: `--data-dir`, else the config's `data_dir`,
/// else the embedded default `./postern-data`.
#[derive(Args, Debug, Clone)]
pub struct Target {
    /// Configuration file whose `data_dir` is used.
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
    /// Data directory (overrides the configuration's).
    #[arg(long, global = true)]
    pub data_dir: Option<PathBuf>,
}

impl Target {
    pub fn data_dir(&self) -> Result<PathBuf, CliError> {
        if let Some(dir) = &self.data_dir {
            return Ok(dir.clone());
        }
        let config = crate::config::Config::load(self.config.as_deref())
            .map_err(|e| CliError(e.to_string()))?;
        Ok(config.data_dir)
    }
}

/// A failed operation: printed as `postern: <message>` and exit code 1.
#[derive(Debug)]
pub struct CliError(pub String);

impl std::fmt::Display for CliError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

pub fn run() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => serve::run(args),
        Command::User(cmd) => user::run(cmd),
        Command::Alias(cmd) => alias::run(cmd),
        Command::Domain(cmd) => domain::run(cmd),
        Command::Check(args) => check::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("postern: {e}");
            ExitCode::from(1)
        }
    }
}
