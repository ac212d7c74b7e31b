//! `postern.toml`: embedded defaults, loading, and errors that name file, line and key.

use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub struct Config {
    pub data_dir: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{0}")]
    Invalid(String),
}

impl Config {
    /// The embedded defaults when `path` is `None`, else the file.
    pub fn load(path: Option<&Path>) -> Result<Config, ConfigError> {
        match path {
            None => Ok(Config { data_dir: PathBuf::from("postern-data") }),
            Some(p) => Err(ConfigError::Invalid(format!("{}: not implemented yet", p.display()))),
        }
    }
}
