//! Shards, listeners, the mesh between shards, signals and start-up checks.
