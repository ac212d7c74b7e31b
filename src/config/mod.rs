//! `postern.toml`: embedded defaults, loading, and errors that name file, line and key.
