//! Shards, listeners, the mesh between shards, signals and start-up checks.

pub mod checks;
pub mod partition;
