//! Shards, listeners, the mesh between shards, signals and start-up checks.
//!
//! `serve` runs on the main thread: it checks the machine, loads the partition table, binds every
//! listener once per shard, starts one glommio executor per shard (`shard::run`), and then only
//! handles signals, passing orders to the shards over `control`. Shards share nothing mutable:
//! work on an account goes to its owner shard over the `mesh`.

pub mod checks;
pub mod control;
pub mod deliver;
pub mod directory;
pub mod listener;
pub mod login;
pub mod mesh;
pub mod partition;
pub mod serve;
pub mod sessions;
pub mod shard;
pub mod throttle;

pub use serve::{ServeError, serve};

/// Logs go to stderr; `RUST_LOG` overrides the configuration's `log` filter.
pub fn init_logging(filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .or_else(|_| tracing_subscriber::EnvFilter::try_new(filter))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
