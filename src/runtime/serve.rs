//! `postern serve`: checks, partition table, listeners, one executor per shard, signals.

use super::checks::{self, CheckError};
use super::control::{self, ControlSender, Order};
use super::listener::{self, ListenError};
use super::partition::{PartitionError, PartitionTable};
use super::shard::{self, ShardInit, ShardIo};
use crate::accounts::{DirectoryError, DirectoryStore};
use crate::config::{Config, TlsMode};
use crate::tls::{self, TlsError};
use glommio::{LocalExecutorBuilder, Placement, PoolPlacement};
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use std::sync::Arc;

/// Threads per shard for blocking work (password hashing, directory parsing).
pub const BLOCKING_THREADS_PER_SHARD: usize = 2;

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Check(#[from] CheckError),
    #[error(transparent)]
    Partition(#[from] PartitionError),
    #[error(transparent)]
    Directory(#[from] DirectoryError),
    #[error(transparent)]
    Tls(#[from] TlsError),
    #[error(transparent)]
    Listen(#[from] ListenError),
    #[error("cannot start shard {shard}: {message}")]
    Executor { shard: usize, message: String },
    #[error("cannot set up signal handling: {0}")]
    Signals(std::io::Error),
    #[error("shard {shard} failed: {message}")]
    Shard { shard: usize, message: String },
}

/// Runs the server until SIGTERM/SIGINT (then drains and returns) or a second such signal (then
/// exits at once).
pub fn serve(mut config: Config, shards_requested: Option<usize>) -> Result<(), ServeError> {
    checks::data_dir(&config.data_dir)?;
    // Absolute from here on: glommio opens directories by absolute path only.
    config.data_dir =
        std::path::absolute(&config.data_dir).map_err(|source| CheckError::DataDir {
            path: config.data_dir.clone(),
            source,
        })?;
    let config = Arc::new(config);
    let _data_dir_lock = checks::lock_data_dir(&config.data_dir)?;
    checks::io_uring()?;
    let usable_cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let partitions = Arc::new(PartitionTable::load_or_create(
        &config.data_dir,
        config.partitions,
        shards_requested.or(config.shards),
        usable_cpus,
    )?);
    let shards = partitions.shards();
    checks::memory_lock(shards)?;
    let directory = DirectoryStore::open(&config.data_dir)?;
    directory.load()?;
    let tls_configs = tls::server_configs(&config)?;

    let mut sockets: Vec<Vec<_>> = (0..shards).map(|_| Vec::new()).collect();
    for listener_config in &config.listeners {
        let what = format!(
            "{} on {}{}",
            listener_config.protocol.name(),
            listener_config.address,
            match listener_config.tls {
                TlsMode::None => "",
                TlsMode::Starttls => " (STARTTLS)",
                TlsMode::Implicit => " (TLS)",
            }
        );
        if !listener_config.protocol.is_served() {
            println!("postern: not started: {what}: this version does not serve that protocol yet");
            continue;
        }
        let bound = listener::bind(listener_config, shards)?;
        for (shard, socket) in bound.sockets.into_iter().enumerate() {
            sockets[shard].push((bound.config.clone(), socket));
        }
        println!("postern: listening for {what}");
    }

    let mut signals = signal_hook::iterator::Signals::new([SIGTERM, SIGINT, SIGHUP])
        .map_err(ServeError::Signals)?;
    let mesh = super::mesh::builder(shards);
    let cpus = usable_cpu_list();
    let mut controls: Vec<ControlSender> = Vec::with_capacity(shards);
    let mut handles = Vec::with_capacity(shards);
    // Shards are created in order: glommio numbers mesh peers by executor creation.
    for (id, listeners) in sockets.into_iter().enumerate() {
        let (control_sender, control_receiver) =
            control::channel().map_err(|e| ServeError::Executor {
                shard: id,
                message: e.to_string(),
            })?;
        controls.push(control_sender);
        let init = ShardInit {
            id,
            config: Arc::clone(&config),
            partitions: Arc::clone(&partitions),
            mesh: mesh.clone(),
            tls: tls_configs.clone(),
            directory: directory.clone(),
        };
        let io = ShardIo {
            control: control_receiver,
            listeners,
        };
        let placement = match cpus.get(id % cpus.len().max(1)) {
            Some(&cpu) => Placement::Fixed(cpu),
            None => Placement::Unbound,
        };
        let handle = LocalExecutorBuilder::new(placement)
            .name(&format!("postern-shard-{id}"))
            .io_memory(checks::IO_MEMORY_OCTETS_PER_SHARD)
            .blocking_thread_pool_placement(PoolPlacement::Unbound(BLOCKING_THREADS_PER_SHARD))
            .spawn(move || shard::run(init, io))
            .map_err(|e| ServeError::Executor {
                shard: id,
                message: e.to_string(),
            })?;
        handles.push(handle);
    }
    println!(
        "postern: serving with {shards} shards, data in {}",
        config.data_dir.display()
    );

    let signal_config = Arc::clone(&config);
    std::thread::Builder::new()
        .name("postern-signals".to_string())
        .spawn(move || handle_signals(&mut signals, &mut controls, &signal_config))
        .map_err(ServeError::Signals)?;

    let mut first_error = None;
    for (shard, handle) in handles.into_iter().enumerate() {
        let outcome = match handle.join() {
            Ok(Ok(())) => continue,
            Ok(Err(e)) => e.to_string(),
            Err(e) => format!("{e:?}"),
        };
        first_error.get_or_insert(ServeError::Shard {
            shard,
            message: outcome,
        });
    }
    match first_error {
        Some(e) => Err(e),
        None => {
            println!("postern: stopped");
            Ok(())
        }
    }
}

/// SIGTERM/SIGINT: orderly shutdown, and at the second one exit at once. SIGHUP: reload the TLS
/// certificates (a failure keeps the ones in use).
fn handle_signals(
    signals: &mut signal_hook::iterator::Signals,
    controls: &mut [ControlSender],
    config: &Config,
) {
    let mut stopping = false;
    for signal in signals.forever() {
        match signal {
            SIGHUP => match tls::server_configs(config) {
                Ok(tls_configs) => {
                    for control in controls.iter_mut() {
                        control.send(Order::ReloadTls(tls_configs.clone()));
                    }
                }
                Err(e) => tracing::error!("SIGHUP: keeping the certificates in use: {e}"),
            },
            _ if stopping => {
                eprintln!("postern: second signal, exiting at once");
                std::process::exit(1);
            }
            _ => {
                stopping = true;
                println!("postern: shutting down (a second signal exits at once)");
                for control in controls.iter_mut() {
                    control.send(Order::Shutdown);
                }
            }
        }
    }
}

/// The CPUs this process may run on, in order.
fn usable_cpu_list() -> Vec<usize> {
    // SAFETY: cpu_set_t is plain data; sched_getaffinity fills it for the calling thread.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: the size passed is the size of `set`, which the kernel writes into.
    let ok =
        unsafe { libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) };
    if ok != 0 {
        return Vec::new();
    }
    (0..libc::CPU_SETSIZE as usize)
        // SAFETY: `cpu` is below CPU_SETSIZE, the bound CPU_ISSET requires.
        .filter(|&cpu| unsafe { libc::CPU_ISSET(cpu, &set) })
        .collect()
}
